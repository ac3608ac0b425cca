/* msr-rng.h: a small seeded generator (xoshiro256** seeded through
 * splitmix64) so that splits, shuffles and bootstraps give the same result
 * on every platform and C library. */
#pragma once

#include <glib.h>
#include <math.h>

G_BEGIN_DECLS

typedef struct {
  guint64 s[4];
} MsrRng;

static inline guint64
msr_splitmix64 (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static inline void
msr_rng_init (MsrRng *rng, guint64 seed)
{
  guint64 st = seed;
  for (int i = 0; i < 4; i++)
    rng->s[i] = msr_splitmix64 (&st);
}

static inline guint64
msr_rng_rotl (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static inline guint64
msr_rng_next (MsrRng *rng)
{
  guint64 *s = rng->s;
  const guint64 result = msr_rng_rotl (s[1] * 5, 7) * 9;
  const guint64 t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = msr_rng_rotl (s[3], 45);
  return result;
}

/* Uniform in [0, bound) without modulo bias (Lemire's method). */
static inline guint64
msr_rng_below (MsrRng *rng, guint64 bound)
{
  if (bound <= 1)
    return 0;
  unsigned __int128 m = (unsigned __int128) msr_rng_next (rng) * bound;
  guint64 low = (guint64) m;
  if (low < bound)
    {
      guint64 threshold = -bound % bound;
      while (low < threshold)
        {
          m = (unsigned __int128) msr_rng_next (rng) * bound;
          low = (guint64) m;
        }
    }
  return (guint64) (m >> 64);
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double
msr_rng_uniform (MsrRng *rng)
{
  return (double) (msr_rng_next (rng) >> 11) * 0x1.0p-53;
}

/* Standard normal by Marsaglia's polar method: each round makes two
 * values, the second kept in *spare (with *has_spare) for the next call. */
static inline double
msr_rng_normal (MsrRng *rng, double *spare, gboolean *has_spare)
{
  if (*has_spare)
    {
      *has_spare = FALSE;
      return *spare;
    }
  double u, v, s;
  do
    {
      u = 2.0 * msr_rng_uniform (rng) - 1.0;
      v = 2.0 * msr_rng_uniform (rng) - 1.0;
      s = u * u + v * v;
    }
  while (s >= 1.0 || s == 0.0);
  double f = sqrt (-2.0 * log (s) / s);
  *spare = v * f;
  *has_spare = TRUE;
  return u * f;
}

/* Fisher-Yates shuffle of n 32-bit values. */
static inline void
msr_rng_shuffle_u32 (MsrRng *rng, guint32 *v, gsize n)
{
  for (gsize i = n; i > 1; i--)
    {
      gsize j = (gsize) msr_rng_below (rng, i);
      guint32 t = v[i - 1];
      v[i - 1] = v[j];
      v[j] = t;
    }
}

G_END_DECLS

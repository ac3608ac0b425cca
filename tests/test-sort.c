/* test-sort.c: double keys, radix sort and counting sort against qsort. */
#include <glib.h>
#include <math.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "msr-sort.h"

typedef struct {
  guint64 key;
  guint32 payload;
} Pair;

/* Reference order: by key, then by original position (= stability). */
static int
cmp_pair (const void *x,
          const void *y)
{
  const Pair *a = x, *b = y;

  if (a->key != b->key)
    return a->key < b->key ? -1 : 1;
  return (a->payload > b->payload) - (a->payload < b->payload);
}

static int
cmp_double_total (const void *x,
                  const void *y)
{
  double a = *(const double *) x, b = *(const double *) y;

  return (a > b) - (a < b);
}

static guint64
rand64 (GRand *r)
{
  return ((guint64) g_rand_int (r) << 32) | g_rand_int (r);
}

static double
special_double (GRand *r)
{
  static const double specials[] = {
    0.0, -0.0, 1.0, -1.0, INFINITY, -INFINITY, DBL_MIN, -DBL_MIN,
    4.9406564584124654e-324, -4.9406564584124654e-324, 2.2250738585072009e-308,
    DBL_MAX, -DBL_MAX, 0.5, 0.25, 1e-7, 1.0 - 1e-7,
  };
  guint k = g_rand_int_range (r, 0, 4);

  if (k == 0)
    return specials[g_rand_int_range (r, 0, G_N_ELEMENTS (specials))];
  if (k == 1)
    {
      /* Random bit pattern (any exponent, denormals included), no NaN. */
      for (;;)
        {
          guint64 bits = rand64 (r);
          double x;

          memcpy (&x, &bits, sizeof x);
          if (!isnan (x))
            return x;
        }
    }
  if (k == 2)
    return g_rand_double_range (r, -3, 3);
  /* Few distinct values: many ties. */
  return (double) g_rand_int_range (r, -5, 6) / 4.0;
}

static void
test_key_order (void)
{
  GRand *r = g_rand_new_with_seed (11);
  double v[4000];

  for (guint i = 0; i < G_N_ELEMENTS (v); i++)
    v[i] = special_double (r);
  for (guint i = 0; i < G_N_ELEMENTS (v); i++)
    for (guint j = i; j < MIN (G_N_ELEMENTS (v), i + 60); j++)
      {
        double x = v[i], y = v[j];
        guint64 kx = msr_sort_key_from_double (x), ky = msr_sort_key_from_double (y);

        g_assert_cmpint (x < y, ==, kx < ky);
        g_assert_cmpint (x == y, ==, kx == ky);
        g_assert_cmpint (x > y, ==, kx > ky);
      }
  /* Inverse; -0.0 comes back as +0.0. */
  for (guint i = 0; i < G_N_ELEMENTS (v); i++)
    {
      double back = msr_sort_double_from_key (msr_sort_key_from_double (v[i]));

      g_assert_true (back == v[i]);
      if (v[i] != 0.0)
        g_assert_cmpmem (&back, sizeof back, &v[i], sizeof v[i]);
      else
        g_assert_false (signbit (back));
    }
  g_assert_cmpuint (msr_sort_key_from_double (-0.0), ==, msr_sort_key_from_double (0.0));
  g_assert_cmpuint (msr_sort_key_from_double (-INFINITY), <, msr_sort_key_from_double (-DBL_MAX));
  g_assert_cmpuint (msr_sort_key_from_double (-4.9406564584124654e-324), <,
                    msr_sort_key_from_double (0.0));
  g_assert_cmpuint (msr_sort_key_from_double (4.9406564584124654e-324), >,
                    msr_sort_key_from_double (0.0));
  g_rand_free (r);
}

typedef enum {
  KEYS_RANDOM,      /* full 64-bit random */
  KEYS_FEW,         /* 7 distinct values: heavy duplicates */
  KEYS_DOUBLES,     /* keys of special and ordinary doubles */
  KEYS_LOW_ONLY,    /* only the lowest digit varies */
  KEYS_HIGH_ONLY,   /* only the top digit varies */
  KEYS_EQUAL,       /* all the same */
  N_KEY_KINDS
} KeyKind;

static guint64
make_key (GRand *r, KeyKind kind)
{
  switch (kind)
    {
    case KEYS_RANDOM:
      return rand64 (r);
    case KEYS_FEW:
      return G_GUINT64_CONSTANT (0x0123456789ABCDEF) * (guint64) g_rand_int_range (r, 0, 7);
    case KEYS_DOUBLES:
      return msr_sort_key_from_double (special_double (r));
    case KEYS_LOW_ONLY:
      return G_GUINT64_CONSTANT (0xBFE0000000000000) | g_rand_int_range (r, 0, 2048);
    case KEYS_HIGH_ONLY:
      return (guint64) g_rand_int_range (r, 0, 512) << 55;
    case KEYS_EQUAL:
    default:
      return 42;
    }
}

static void
check_radix (gsize n, KeyKind kind, guint32 seed, gboolean with_payload)
{
  GRand *r = g_rand_new_with_seed (seed);
  guint64 *keys = g_new (guint64, MAX (n, 1));
  guint64 *ktmp = g_new (guint64, MAX (n, 1));
  guint32 *pay = g_new (guint32, MAX (n, 1));
  guint32 *ptmp = g_new (guint32, MAX (n, 1));
  Pair *ref = g_new (Pair, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    {
      keys[i] = make_key (r, kind);
      pay[i] = (guint32) i;
      ref[i].key = keys[i];
      ref[i].payload = (guint32) i;
    }
  qsort (ref, n, sizeof (Pair), cmp_pair);
  msr_radix_sort_u64 (keys, with_payload ? pay : NULL, n, ktmp, with_payload ? ptmp : NULL);
  for (gsize i = 0; i < n; i++)
    {
      if (keys[i] != ref[i].key)
        g_error ("n=%" G_GSIZE_FORMAT " kind=%d: key %" G_GSIZE_FORMAT " differs", n, kind, i);
      if (with_payload && pay[i] != ref[i].payload)
        g_error ("n=%" G_GSIZE_FORMAT " kind=%d: payload %" G_GSIZE_FORMAT " not stable", n, kind, i);
    }
  g_free (keys);
  g_free (ktmp);
  g_free (pay);
  g_free (ptmp);
  g_free (ref);
  g_rand_free (r);
}

static gboolean
small_mode (void)
{
  return g_getenv ("MSR_TEST_SMALL") != NULL;
}

static void
test_radix_vs_qsort (void)
{
  static const gsize sizes[] = { 0, 1, 2, 3, 5, 47, 48, 49, 63, 1001, 4097, 65537, 200003 };

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      if (small_mode () && sizes[s] > 5000)
        continue;
      for (int kind = 0; kind < N_KEY_KINDS; kind++)
        {
          check_radix (sizes[s], kind, 100 + s * 7 + kind, TRUE);
          check_radix (sizes[s], kind, 200 + s * 7 + kind, FALSE);
        }
    }
}

static void
test_sort_scores (void)
{
  GRand *r = g_rand_new_with_seed (5);
  gsize n = small_mode () ? 3001 : 100003;
  double *x = g_new (double, n);
  double *sorted = g_new (double, n);
  guint32 *perm;
  guint8 *seen = g_new0 (guint8, n);

  for (gsize i = 0; i < n; i++)
    x[i] = (i % 3 == 0) ? special_double (r) : (double) g_rand_int_range (r, 0, 100) / 100.0;
  memcpy (sorted, x, n * sizeof (double));
  qsort (sorted, n, sizeof (double), cmp_double_total);
  perm = msr_sort_scores (x, n);
  for (gsize k = 0; k < n; k++)
    {
      g_assert_cmpuint (perm[k], <, n);
      g_assert_false (seen[perm[k]]);
      seen[perm[k]] = 1;
      g_assert_true (x[perm[k]] == sorted[k]);
      /* Stable: equal scores (±0 included) keep input order. */
      if (k > 0 && x[perm[k]] == x[perm[k - 1]])
        g_assert_cmpuint (perm[k], >, perm[k - 1]);
    }
  g_free (perm);
  perm = msr_sort_scores (x, 0);
  g_free (perm);
  g_free (x);
  g_free (sorted);
  g_free (seen);
  g_rand_free (r);
}

static void
test_counting_sort (void)
{
  GRand *r = g_rand_new_with_seed (9);
  gsize n = 5003;
  guint n_groups = 37;
  guint32 *group = g_new (guint32, n);
  guint32 *in = g_new (guint32, n);
  guint32 *out = g_new (guint32, n);
  gsize *off = g_new (gsize, n_groups + 1);
  guint32 *pos_in = g_new (guint32, n);

  for (gsize i = 0; i < n; i++)
    {
      group[i] = g_rand_int_range (r, 0, n_groups - 3);   /* some groups empty */
      in[i] = (guint32) i;
    }
  /* A shuffled input order, so stability is checked against it. */
  for (gsize i = n - 1; i > 0; i--)
    {
      gsize j = g_rand_int_range (r, 0, (gint32) i + 1);
      guint32 t = in[i]; in[i] = in[j]; in[j] = t;
    }
  for (gsize k = 0; k < n; k++)
    pos_in[in[k]] = (guint32) k;

  g_assert_true (msr_counting_sort (group, n_groups, in, n, out, off));
  g_assert_cmpuint (off[0], ==, 0);
  g_assert_cmpuint (off[n_groups], ==, n);
  for (guint g = 0; g < n_groups; g++)
    {
      gsize expect = 0;

      for (gsize i = 0; i < n; i++)
        expect += group[i] == g;
      g_assert_cmpuint (off[g + 1] - off[g], ==, expect);
      for (gsize k = off[g]; k < off[g + 1]; k++)
        {
          g_assert_cmpuint (group[out[k]], ==, g);
          if (k > off[g])
            g_assert_cmpuint (pos_in[out[k]], >, pos_in[out[k - 1]]);
        }
    }

  /* Identity input. */
  g_assert_true (msr_counting_sort (group, n_groups, NULL, n, out, NULL));
  for (gsize k = 1; k < n; k++)
    g_assert_true (group[out[k - 1]] < group[out[k]]
                   || (group[out[k - 1]] == group[out[k]] && out[k - 1] < out[k]));

  /* An out-of-range group is refused. */
  group[17] = n_groups;
  g_assert_false (msr_counting_sort (group, n_groups, NULL, n, out, off));

  g_free (group);
  g_free (in);
  g_free (out);
  g_free (off);
  g_free (pos_in);
  g_rand_free (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sort/key-order", test_key_order);
  g_test_add_func ("/sort/radix-vs-qsort", test_radix_vs_qsort);
  g_test_add_func ("/sort/scores-permutation", test_sort_scores);
  g_test_add_func ("/sort/counting-sort", test_counting_sort);
  return g_test_run ();
}

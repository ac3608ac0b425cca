/* msr-sort.c: order-preserving double keys, LSD radix sort, counting sort. */
#include "msr-sort.h"

#include <string.h>

#define SIGN_BIT    G_GUINT64_CONSTANT (0x8000000000000000)
#define RADIX_SIZE  (1u << MSR_RADIX_BITS)
#define RADIX_MASK  ((guint64) (RADIX_SIZE - 1))
/* Below this many keys an insertion sort beats clearing 6 histograms. */
#define SMALL_SORT  48

guint64
msr_sort_key_from_double (double x)
{
  guint64 bits;

  /* -0.0 == 0.0 is true, so this turns -0.0 into +0.0 and the zeros tie. */
  if (x == 0.0)
    x = 0.0;
  memcpy (&bits, &x, sizeof bits);
  /* Negative: reverse the order of the magnitude bits and drop below the
   * positives; positive: lift above the negatives. */
  return (bits & SIGN_BIT) ? ~bits : (bits ^ SIGN_BIT);
}

double
msr_sort_double_from_key (guint64 key)
{
  guint64 bits = (key & SIGN_BIT) ? (key ^ SIGN_BIT) : ~key;
  double x;

  memcpy (&x, &bits, sizeof x);
  return x;
}

void
msr_sort_keys_from_doubles (const double *x,
                            gsize         n,
                            guint64      *keys)
{
  for (gsize i = 0; i < n; i++)
    keys[i] = msr_sort_key_from_double (x[i]);
}

static void
insertion_sort (guint64 *keys,
                guint32 *payload,
                gsize    n)
{
  for (gsize i = 1; i < n; i++)
    {
      guint64 k = keys[i];
      guint32 p = payload ? payload[i] : 0;
      gsize j = i;

      /* Strict comparison keeps equal keys in input order (stable). */
      while (j > 0 && keys[j - 1] > k)
        {
          keys[j] = keys[j - 1];
          if (payload)
            payload[j] = payload[j - 1];
          j--;
        }
      keys[j] = k;
      if (payload)
        payload[j] = p;
    }
}

void
msr_radix_sort_u64 (guint64 *keys,
                    guint32 *payload,
                    gsize    n,
                    guint64 *key_tmp,
                    guint32 *payload_tmp)
{
  gsize *hist;
  guint64 *src_k = keys, *dst_k = key_tmp;
  guint32 *src_p = payload, *dst_p = payload_tmp;
  guint64 first;

  if (n < 2)
    return;
  g_return_if_fail (keys != NULL && key_tmp != NULL);
  g_return_if_fail (payload == NULL || payload_tmp != NULL);

  if (n <= SMALL_SORT)
    {
      insertion_sort (keys, payload, n);
      return;
    }

  /* All six histograms in one read pass over the keys. */
  hist = g_new0 (gsize, (gsize) MSR_RADIX_PASSES * RADIX_SIZE);
  for (gsize i = 0; i < n; i++)
    {
      guint64 k = keys[i];

      hist[0 * RADIX_SIZE + (k & RADIX_MASK)]++;
      hist[1 * RADIX_SIZE + ((k >> 11) & RADIX_MASK)]++;
      hist[2 * RADIX_SIZE + ((k >> 22) & RADIX_MASK)]++;
      hist[3 * RADIX_SIZE + ((k >> 33) & RADIX_MASK)]++;
      hist[4 * RADIX_SIZE + ((k >> 44) & RADIX_MASK)]++;
      hist[5 * RADIX_SIZE + (k >> 55)]++;
    }

  first = keys[0];
  for (guint d = 0; d < MSR_RADIX_PASSES; d++)
    {
      guint shift = d * MSR_RADIX_BITS;
      gsize *h = hist + (gsize) d * RADIX_SIZE;
      gsize sum = 0;

      /* Every key has the same digit here: the pass would be the identity. */
      if (h[(first >> shift) & RADIX_MASK] == n)
        continue;

      /* Exclusive prefix sums turn counts into start offsets. */
      for (guint b = 0; b < RADIX_SIZE; b++)
        {
          gsize c = h[b];
          h[b] = sum;
          sum += c;
        }

      if (src_p)
        {
          for (gsize i = 0; i < n; i++)
            {
              guint64 k = src_k[i];
              gsize pos = h[(k >> shift) & RADIX_MASK]++;
              dst_k[pos] = k;
              dst_p[pos] = src_p[i];
            }
        }
      else
        {
          for (gsize i = 0; i < n; i++)
            {
              guint64 k = src_k[i];
              dst_k[(h[(k >> shift) & RADIX_MASK])++] = k;
            }
        }

      /* Ping-pong between the caller's arrays and the scratch arrays. */
      {
        guint64 *tk = src_k; src_k = dst_k; dst_k = tk;
      }
      {
        guint32 *tp = src_p; src_p = dst_p; dst_p = tp;
      }
    }

  if (src_k != keys)
    {
      memcpy (keys, src_k, n * sizeof (guint64));
      if (payload)
        memcpy (payload, src_p, n * sizeof (guint32));
    }
  g_free (hist);
}

guint32 *
msr_sort_scores (const double *scores,
                 gsize         n)
{
  guint64 *keys, *key_tmp;
  guint32 *perm, *perm_tmp;

  g_return_val_if_fail (n <= G_MAXUINT32, NULL);
  g_return_val_if_fail (n == 0 || scores != NULL, NULL);

  perm = g_new (guint32, MAX (n, 1));
  if (n == 0)
    return perm;
  keys = g_new (guint64, n);
  key_tmp = g_new (guint64, n);
  perm_tmp = g_new (guint32, n);
  for (gsize i = 0; i < n; i++)
    {
      keys[i] = msr_sort_key_from_double (scores[i]);
      perm[i] = (guint32) i;
    }
  msr_radix_sort_u64 (keys, perm, n, key_tmp, perm_tmp);
  g_free (keys);
  g_free (key_tmp);
  g_free (perm_tmp);
  return perm;
}

gboolean
msr_counting_sort (const guint32 *group,
                   guint          n_groups,
                   const guint32 *in,
                   gsize          n,
                   guint32       *out,
                   gsize         *offsets)
{
  gsize *start;
  gsize sum = 0;

  g_return_val_if_fail (n == 0 || (group != NULL && out != NULL), FALSE);
  /* Without in, items are the indices 0..n-1 and must fit 32 bits. */
  g_return_val_if_fail (in != NULL || n <= (gsize) G_MAXUINT32 + 1, FALSE);

  start = offsets ? offsets : g_new (gsize, (gsize) n_groups + 1);
  memset (start, 0, ((gsize) n_groups + 1) * sizeof (gsize));

  /* Count into start[g + 1] so the prefix sum yields start offsets. */
  for (gsize k = 0; k < n; k++)
    {
      guint32 item = in ? in[k] : (guint32) k;
      guint32 g = group[item];

      if (G_UNLIKELY (g >= n_groups))
        {
          if (!offsets)
            g_free (start);
          return FALSE;
        }
      start[g + 1]++;
    }
  for (guint g = 0; g <= n_groups; g++)
    {
      sum += start[g];
      start[g] = sum;
    }

  /* start[g] now is the start of group g; advance a cursor copy. */
  {
    gsize *cursor = g_new (gsize, MAX (n_groups, 1));

    memcpy (cursor, start, (gsize) n_groups * sizeof (gsize));
    for (gsize k = 0; k < n; k++)
      {
        guint32 item = in ? in[k] : (guint32) k;
        out[cursor[group[item]]++] = item;
      }
    g_free (cursor);
  }

  if (!offsets)
    g_free (start);
  return TRUE;
}

/* msr-sort.h: order-preserving keys for doubles and linear-time sorts.
 *
 * Evaluating 10 million scores is dominated by sorting them. Scores are
 * mapped to 64-bit unsigned keys whose unsigned order is the numeric order
 * of the doubles, then sorted by a stable LSD radix sort with 11-bit digits
 * (at most 6 passes; digits on which all keys agree are skipped, so scores
 * that came from float32 usually need 4). A stable counting sort regroups
 * an already score-ordered permutation by a dense small-integer group
 * (scenario, user) without disturbing the score order inside each group. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Radix digits and passes (exposed for documentation and tests). */
#define MSR_RADIX_BITS   11
#define MSR_RADIX_PASSES 6

/* Order-preserving bijection from doubles to unsigned 64-bit keys:
 * x < y  <=>  key(x) < key(y) for all non-NaN doubles, including ±inf and
 * denormals. -0.0 is normalised to +0.0 first, so the two zeros share one
 * key and tie. NaN must be rejected by the caller: its key is outside the
 * range of every other value (below -inf or above +inf by sign bit). */
guint64  msr_sort_key_from_double     (double         x);
/* Inverse of msr_sort_key_from_double (the key of -0.0 maps back to +0.0). */
double   msr_sort_double_from_key     (guint64        key);
/* keys[i] = msr_sort_key_from_double (x[i]). */
void     msr_sort_keys_from_doubles   (const double  *x,
                                       gsize          n,
                                       guint64       *keys);

/* Stable LSD radix sort of keys ascending, carrying an optional uint32
 * payload (a row index, a label, ...). key_tmp must hold n keys and, when
 * payload is not NULL, payload_tmp n payloads; both are scratch space.
 * The sorted result is always left in keys/payload. All digit histograms
 * are built in one read pass. */
void     msr_radix_sort_u64           (guint64       *keys,
                                       guint32       *payload,
                                       gsize          n,
                                       guint64       *key_tmp,
                                       guint32       *payload_tmp);

/* The stable ascending order of scores as a permutation of 0..n-1
 * (perm[0] is the index of the smallest score; equal scores keep their
 * input order). n must not exceed G_MAXUINT32. Free with g_free. Peak extra
 * memory: 24 bytes per row (keys, scratch keys, scratch permutation). */
guint32 *msr_sort_scores              (const double  *scores,
                                       gsize          n);

/* Stable counting sort by a dense group code: writes to out the items of in
 * (or 0..n-1 when in is NULL) ordered by group[item], keeping the input
 * order inside each group. group is indexed by the item value and every
 * group[item] must be < n_groups. offsets, when not NULL, receives
 * n_groups + 1 entries: group g occupies out[offsets[g] .. offsets[g+1]).
 * Returns FALSE (out untouched) when a group code is out of range. */
gboolean msr_counting_sort            (const guint32 *group,
                                       guint          n_groups,
                                       const guint32 *in,
                                       gsize          n,
                                       guint32       *out,
                                       gsize         *offsets);

G_END_DECLS

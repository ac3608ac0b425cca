/* msr-metrics.c: exact, mergeable AUC / logloss / GAUC accumulators.
 *
 * State: a list of entries (score key, scenario code, user code, positive
 * count, negative count). A new row is an entry with counts (1, 0) or
 * (0, 1); merging appends the other accumulator's entries with its codes
 * translated by name. Entries are compacted from time to time: sorted by
 * (scenario, user, score) and equal triples coalesced, which saves memory
 * when scores tie but never changes a result, because finish() coalesces
 * again by score before any arithmetic. */
#include "msr-metrics.h"
#include "msr-file.h"
#include "msr-sort.h"

#include <math.h>
#include <string.h>

#ifndef __SIZEOF_INT128__
#error "msr-metrics.c needs a compiler with unsigned __int128 (GCC or Clang on a 64-bit target)"
#endif
typedef unsigned __int128 u128;

/* Compact when the unsorted tail is at least this large and at least as
 * large as the sorted part (amortised doubling); raised while compaction
 * finds few ties. */
#define COMPACT_MIN ((gsize) 1 << 22)
/* Finish and compaction index entries with 32-bit permutations. */
#define MAX_ENTRIES ((gsize) G_MAXUINT32)

/* An entry's counts, packed: positives in the low half, negatives high. */
#define CNT_POS(c)     ((guint32) ((c) & G_MAXUINT32))
#define CNT_NEG(c)     ((guint32) ((c) >> 32))
#define CNT_MAKE(p, q) ((guint64) (p) | ((guint64) (q) << 32))

struct _MsrEvalAcc {
  gboolean    with_users;
  GPtrArray  *scen_names;   /* owned strings, index = code */
  GHashTable *scen_index;   /* borrowed name -> code + 1 */
  GPtrArray  *user_names;
  GHashTable *user_index;

  gsize       len, cap, sorted_len;
  gsize       compact_at;   /* unsorted tail that triggers a compaction */
  guint64    *key;
  guint32    *scen;
  guint32    *user;         /* NULL without users */
  guint64    *cnt;          /* CNT_MAKE (positives, negatives) */
  guint64     n_rows;
};

/* ---------------------------------------------------------------------- */
/* Construction and interning                                             */

MsrEvalAcc *
msr_eval_acc_new (gboolean with_users)
{
  MsrEvalAcc *acc = g_new0 (MsrEvalAcc, 1);

  acc->with_users = with_users ? TRUE : FALSE;
  acc->scen_names = g_ptr_array_new_with_free_func (g_free);
  acc->scen_index = g_hash_table_new (g_str_hash, g_str_equal);
  acc->user_names = g_ptr_array_new_with_free_func (g_free);
  acc->user_index = g_hash_table_new (g_str_hash, g_str_equal);
  acc->compact_at = COMPACT_MIN;
  return acc;
}

void
msr_eval_acc_free (MsrEvalAcc *acc)
{
  if (!acc)
    return;
  g_hash_table_unref (acc->scen_index);
  g_ptr_array_unref (acc->scen_names);
  g_hash_table_unref (acc->user_index);
  g_ptr_array_unref (acc->user_names);
  g_free (acc->key);
  g_free (acc->scen);
  g_free (acc->user);
  g_free (acc->cnt);
  g_free (acc);
}

gboolean
msr_eval_acc_has_users (const MsrEvalAcc *acc)
{
  g_return_val_if_fail (acc != NULL, FALSE);
  return acc->with_users;
}

guint64
msr_eval_acc_get_n_rows (const MsrEvalAcc *acc)
{
  g_return_val_if_fail (acc != NULL, 0);
  return acc->n_rows;
}

guint
msr_eval_acc_get_n_scenarios (const MsrEvalAcc *acc)
{
  g_return_val_if_fail (acc != NULL, 0);
  return acc->scen_names->len;
}

const char *
msr_eval_acc_get_scenario_name (const MsrEvalAcc *acc,
                                guint             code)
{
  g_return_val_if_fail (acc != NULL, NULL);
  g_return_val_if_fail (code < acc->scen_names->len, NULL);
  return g_ptr_array_index (acc->scen_names, code);
}

static guint
intern (GPtrArray  *names,
        GHashTable *index,
        const char *name)
{
  gpointer v = g_hash_table_lookup (index, name);
  char *copy;

  if (v)
    return GPOINTER_TO_UINT (v) - 1;
  copy = g_strdup (name);
  g_ptr_array_add (names, copy);
  g_hash_table_insert (index, copy, GUINT_TO_POINTER (names->len));
  return names->len - 1;
}

guint
msr_eval_acc_intern_scenario (MsrEvalAcc *acc,
                              const char *name)
{
  g_return_val_if_fail (acc != NULL && name != NULL, 0);
  return intern (acc->scen_names, acc->scen_index, name);
}

guint
msr_eval_acc_intern_user (MsrEvalAcc *acc,
                          const char *name)
{
  g_return_val_if_fail (acc != NULL && name != NULL, 0);
  g_return_val_if_fail (acc->with_users, 0);
  return intern (acc->user_names, acc->user_index, name);
}

/* ---------------------------------------------------------------------- */
/* Entry storage                                                          */

static void
ensure_capacity (MsrEvalAcc *acc,
                 gsize       extra)
{
  gsize need = acc->len + extra;
  gsize cap;

  if (need <= acc->cap)
    return;
  cap = MAX (need, MAX (acc->cap + acc->cap / 2, (gsize) 1024));
  acc->key = g_renew (guint64, acc->key, cap);
  acc->scen = g_renew (guint32, acc->scen, cap);
  if (acc->with_users)
    acc->user = g_renew (guint32, acc->user, cap);
  acc->cnt = g_renew (guint64, acc->cnt, cap);
  acc->cap = cap;
}

static void
shrink_capacity (MsrEvalAcc *acc)
{
  gsize cap = MAX (acc->len, (gsize) 1);

  acc->key = g_renew (guint64, acc->key, cap);
  acc->scen = g_renew (guint32, acc->scen, cap);
  if (acc->with_users)
    acc->user = g_renew (guint32, acc->user, cap);
  acc->cnt = g_renew (guint64, acc->cnt, cap);
  acc->cap = cap;
}

/* An entry copied out for sorting and sweeping: moving 24-byte records
 * through counting sorts keeps every later pass sequential in memory,
 * where gathering through a permutation would miss the cache per entry. */
typedef struct {
  guint64 key;
  guint64 cnt;
  guint32 g1;   /* scenario code or rank */
  guint32 g2;   /* user code or rank (0 without users) */
} Rec;

/* All entries as records in ascending key order (stable); smap / umap
 * translate scenario / user codes (NULL: keep codes). */
static Rec *
records_by_key (const MsrEvalAcc *acc,
                const guint32    *smap,
                const guint32    *umap)
{
  gsize n = acc->len;
  Rec *rec = g_new (Rec, MAX (n, 1));
  guint64 *keys, *key_tmp;
  guint32 *idx, *idx_tmp;

  if (n == 0)
    return rec;
  keys = g_memdup2 (acc->key, n * sizeof (guint64));
  key_tmp = g_new (guint64, n);
  idx = g_new (guint32, n);
  idx_tmp = g_new (guint32, n);
  for (gsize i = 0; i < n; i++)
    idx[i] = (guint32) i;
  msr_radix_sort_u64 (keys, idx, n, key_tmp, idx_tmp);
  g_free (key_tmp);
  g_free (idx_tmp);
  for (gsize k = 0; k < n; k++)
    {
      guint32 e = idx[k];
      guint32 sc = acc->scen[e];

      rec[k].key = keys[k];
      rec[k].cnt = acc->cnt[e];
      rec[k].g1 = smap ? smap[sc] : sc;
      rec[k].g2 = acc->with_users ? (umap ? umap[acc->user[e]] : acc->user[e]) : 0;
    }
  g_free (keys);
  g_free (idx);
  return rec;
}

/* Stable counting sort of records by g1 (second = FALSE) or g2; off gets
 * n_groups + 1 block starts. */
static void
regroup (const Rec *in,
         gsize      n,
         gboolean   second,
         guint      n_groups,
         Rec       *out,
         gsize     *off)
{
  gsize *cursor = g_new (gsize, MAX (n_groups, 1));

  memset (off, 0, ((gsize) n_groups + 1) * sizeof (gsize));
  for (gsize k = 0; k < n; k++)
    off[(second ? in[k].g2 : in[k].g1) + 1]++;
  for (guint g = 0; g < n_groups; g++)
    off[g + 1] += off[g];
  memcpy (cursor, off, (gsize) n_groups * sizeof (gsize));
  if (second)
    for (gsize k = 0; k < n; k++)
      out[cursor[in[k].g2]++] = in[k];
  else
    for (gsize k = 0; k < n; k++)
      out[cursor[in[k].g1]++] = in[k];
  g_free (cursor);
}

void
msr_eval_acc_compact (MsrEvalAcc *acc)
{
  gsize n, w = 0;
  Rec *a, *b;
  gsize *off;
  guint S, U;

  g_return_if_fail (acc != NULL);
  n = acc->len;
  if (acc->sorted_len == n)
    return;
  S = acc->scen_names->len;
  U = acc->user_names->len;

  /* Order by (scenario, user, score): by score, then stable regroupings
   * by user and by scenario. The records hold everything, so the columns
   * can go while they are sorted. */
  a = records_by_key (acc, NULL, NULL);
  g_clear_pointer (&acc->key, g_free);
  g_clear_pointer (&acc->scen, g_free);
  g_clear_pointer (&acc->user, g_free);
  g_clear_pointer (&acc->cnt, g_free);
  acc->cap = 0;
  b = g_new (Rec, MAX (n, 1));
  off = g_new (gsize, (gsize) MAX (S, U) + 1);
  if (acc->with_users)
    {
      Rec *t;

      regroup (a, n, TRUE, U, b, off);
      t = a; a = b; b = t;
    }
  regroup (a, n, FALSE, S, b, off);
  g_free (a);
  g_free (off);

  /* Coalesce equal (scenario, user, key) runs. Counts are summed in 64
   * bits and written back in chunks that fit 32 bits each, which never
   * needs more entries than the run had. */
  acc->len = 0;
  ensure_capacity (acc, n);
  for (gsize r = 0; r < n;)
    {
      gsize s = r;
      guint64 p = 0, q = 0;

      while (r < n && b[r].key == b[s].key && b[r].g1 == b[s].g1 && b[r].g2 == b[s].g2)
        {
          p += CNT_POS (b[r].cnt);
          q += CNT_NEG (b[r].cnt);
          r++;
        }
      do
        {
          guint32 cp = (guint32) MIN (p, (guint64) G_MAXUINT32);
          guint32 cq = (guint32) MIN (q, (guint64) G_MAXUINT32);

          acc->key[w] = b[s].key;
          acc->scen[w] = b[s].g1;
          if (acc->with_users)
            acc->user[w] = b[s].g2;
          acc->cnt[w] = CNT_MAKE (cp, cq);
          w++;
          p -= cp;
          q -= cq;
        }
      while (p > 0 || q > 0);
    }
  g_free (b);
  acc->len = w;
  acc->sorted_len = w;
  shrink_capacity (acc);
  /* Little coalesced (scores rarely tie): compact less often, since the
   * time buys no memory. */
  acc->compact_at = (w > n - n / 8) ? MAX (COMPACT_MIN, 2 * w) : COMPACT_MIN;
}

static void
maybe_compact (MsrEvalAcc *acc)
{
  gsize tail = acc->len - acc->sorted_len;

  if (tail >= acc->compact_at && tail >= acc->sorted_len)
    msr_eval_acc_compact (acc);
}

/* Room for extra more entries within MAX_ENTRIES, compacting if needed. */
static gboolean
make_room (MsrEvalAcc *acc,
           gsize       extra)
{
  if (extra > MAX_ENTRIES || acc->len > MAX_ENTRIES - extra)
    msr_eval_acc_compact (acc);
  return extra <= MAX_ENTRIES && acc->len <= MAX_ENTRIES - extra;
}

static inline gboolean
score_ok (double score)
{
  /* Also false for NaN. */
  return score >= 0.0 && score <= 1.0;
}

static inline void
append (MsrEvalAcc *acc,
        guint64     key,
        guint32     scen,
        guint32     user,
        guint32     pos,
        guint32     neg)
{
  gsize i = acc->len++;

  acc->key[i] = key;
  acc->scen[i] = scen;
  if (acc->with_users)
    acc->user[i] = user;
  acc->cnt[i] = CNT_MAKE (pos, neg);
}

gboolean
msr_eval_acc_add (MsrEvalAcc *acc,
                  double      score,
                  gboolean    label,
                  guint       scenario_code,
                  guint       user_code)
{
  g_return_val_if_fail (acc != NULL, FALSE);
  g_return_val_if_fail (scenario_code < acc->scen_names->len, FALSE);
  g_return_val_if_fail (!acc->with_users || user_code < acc->user_names->len, FALSE);

  if (!score_ok (score))
    return FALSE;
  if (G_UNLIKELY (!make_room (acc, 1)))
    {
      g_critical ("msr_eval_acc_add: more than %" G_GSIZE_FORMAT " distinct entries", MAX_ENTRIES);
      return FALSE;
    }
  ensure_capacity (acc, 1);
  append (acc, msr_sort_key_from_double (score), scenario_code,
          acc->with_users ? user_code : 0, label ? 1 : 0, label ? 0 : 1);
  acc->n_rows++;
  maybe_compact (acc);
  return TRUE;
}

gboolean
msr_eval_acc_add_batch (MsrEvalAcc     *acc,
                        const double   *scores,
                        const guint8   *labels,
                        const guint32  *scenario_codes,
                        const guint32  *user_codes,
                        gsize           n,
                        gsize          *bad_row,
                        GError        **error)
{
  guint n_scen, n_user;

  g_return_val_if_fail (acc != NULL, FALSE);
  g_return_val_if_fail (n == 0 || (scores != NULL && labels != NULL), FALSE);
  g_return_val_if_fail (!acc->with_users || n == 0 || user_codes != NULL, FALSE);

  n_scen = acc->scen_names->len;
  n_user = acc->user_names->len;
  for (gsize i = 0; i < n; i++)
    {
      const char *problem = NULL;
      guint32 sc = scenario_codes ? scenario_codes[i] : 0;

      if (!score_ok (scores[i]))
        {
          if (bad_row)
            *bad_row = i;
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                       "row %" G_GSIZE_FORMAT ": score %g is not a probability in [0, 1]",
                       i, scores[i]);
          return FALSE;
        }
      if (sc >= n_scen)
        problem = "scenario";
      else if (acc->with_users && user_codes[i] >= n_user)
        problem = "user";
      if (problem)
        {
          if (bad_row)
            *bad_row = i;
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                       "row %" G_GSIZE_FORMAT ": %s code %u was not interned in this accumulator",
                       i, problem, problem[0] == 's' ? sc : user_codes[i]);
          return FALSE;
        }
    }

  if (!make_room (acc, n))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "too many distinct (scenario, user, score) entries: at most %" G_GSIZE_FORMAT,
                   MAX_ENTRIES);
      return FALSE;
    }
  ensure_capacity (acc, n);
  for (gsize i = 0; i < n; i++)
    {
      gboolean y = labels[i] != 0;

      append (acc, msr_sort_key_from_double (scores[i]),
              scenario_codes ? scenario_codes[i] : 0,
              acc->with_users ? user_codes[i] : 0, y ? 1 : 0, y ? 0 : 1);
    }
  acc->n_rows += n;
  maybe_compact (acc);
  return TRUE;
}

gboolean
msr_eval_acc_merge (MsrEvalAcc        *into,
                    const MsrEvalAcc  *other,
                    GError           **error)
{
  g_autofree guint32 *smap = NULL;
  g_autofree guint32 *umap = NULL;
  gsize n;
  guint64 rows;

  g_return_val_if_fail (into != NULL && other != NULL, FALSE);

  if (into->with_users != other->with_users)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH,
                   "cannot merge an accumulator %s users into one %s users",
                   other->with_users ? "with" : "without",
                   into->with_users ? "with" : "without");
      return FALSE;
    }
  /* make_room may compact into, which is other when merging into itself:
   * take the sizes afterwards. */
  if (!make_room (into, other->len))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "merged accumulator would hold more than %" G_GSIZE_FORMAT " distinct entries",
                   MAX_ENTRIES);
      return FALSE;
    }

  n = other->len;
  rows = other->n_rows;
  smap = g_new (guint32, MAX (other->scen_names->len, 1));
  for (guint i = 0; i < other->scen_names->len; i++)
    smap[i] = intern (into->scen_names, into->scen_index,
                      g_ptr_array_index (other->scen_names, i));
  if (into->with_users)
    {
      umap = g_new (guint32, MAX (other->user_names->len, 1));
      for (guint i = 0; i < other->user_names->len; i++)
        umap[i] = intern (into->user_names, into->user_index,
                          g_ptr_array_index (other->user_names, i));
    }

  ensure_capacity (into, n);
  /* Read other's arrays after ensure_capacity (they move when other == into). */
  for (gsize i = 0; i < n; i++)
    append (into, other->key[i], smap[other->scen[i]],
            into->with_users ? umap[other->user[i]] : 0,
            CNT_POS (other->cnt[i]), CNT_NEG (other->cnt[i]));
  into->n_rows += rows;
  maybe_compact (into);
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Finishing                                                              */

typedef struct {
  guint64 m, n;   /* positives, negatives */
  u128    num;    /* Σ_v pos_v (2·neg_below_v + neg_v) = 2·(tie-corrected pairs) */
  double  ll;     /* Σ_v pos_v·(−log p_v) + neg_v·(−log(1 − p_v)), ascending v */
} Sweep;

static inline double
clip_p (double p)
{
  return CLAMP (p, MSR_LOGLOSS_EPSILON, 1.0 - MSR_LOGLOSS_EPSILON);
}

/* Logloss contribution of pos positives and neg negatives scored p. */
static inline double
ll_terms (double  p,
          guint64 pos,
          guint64 neg)
{
  double pc = clip_p (p);
  double t = 0.0;

  if (pos)
    t += (double) pos * -log (pc);
  if (neg)
    t += (double) neg * -log1p (-pc);
  return t;
}

/* Sweeps records rec[lo..hi) (ascending key), coalescing equal keys
 * before any arithmetic so the result depends only on the multiset. */
static void
sweep (const Rec *rec,
       gsize      lo,
       gsize      hi,
       gboolean   want_ll,
       Sweep     *out)
{
  guint64 m = 0, neg_below = 0;
  u128 num = 0;
  double ll = 0.0;
  gsize k = lo;

  while (k < hi)
    {
      guint64 key = rec[k].key;
      guint64 pv = 0, nv = 0;

      do
        {
          pv += CNT_POS (rec[k].cnt);
          nv += CNT_NEG (rec[k].cnt);
          k++;
        }
      while (k < hi && rec[k].key == key);

      num += (u128) pv * ((u128) 2 * neg_below + nv);
      neg_below += nv;
      m += pv;
      if (want_ll)
        ll += ll_terms (msr_sort_double_from_key (key), pv, nv);
    }
  out->m = m;
  out->n = neg_below;
  out->num = num;
  out->ll = ll;
}

static double
sweep_auc (const Sweep *s)
{
  if (s->m == 0 || s->n == 0)
    return NAN;
  /* Both conversions are correctly rounded and deterministic. */
  return (double) s->num / (double) ((u128) 2 * s->m * s->n);
}

static void
metrics_init (MsrMetrics *mt)
{
  memset (mt, 0, sizeof *mt);
  mt->auc = NAN;
  mt->logloss = NAN;
  mt->gauc = NAN;
  mt->gauc_click = NAN;
}

static void
metrics_from_sweep (MsrMetrics  *mt,
                    const Sweep *s)
{
  mt->n = s->m + s->n;
  mt->positives = s->m;
  mt->gauc_rows = mt->n;
  mt->auc = sweep_auc (s);
  mt->auc_defined = !isnan (mt->auc);
  if (mt->n > 0)
    {
      mt->logloss = s->ll / (double) mt->n;
      mt->logloss_defined = TRUE;
    }
}

typedef struct {
  guint64 users, users_kept, rows, rows_kept, clicks_kept;
  double  sw, swc;   /* Σ w_u·AUC_u with impression and click weights */
} GaucSum;

static void
gauc_add (GaucSum     *g,
          const Sweep *s)
{
  guint64 rows = s->m + s->n;

  if (rows == 0)
    return;
  g->users++;
  g->rows += rows;
  if (s->m > 0 && s->n > 0)
    {
      double auc = sweep_auc (s);

      g->users_kept++;
      g->rows_kept += rows;
      g->clicks_kept += s->m;
      g->sw += (double) rows * auc;
      g->swc += (double) s->m * auc;
    }
}

static void
gauc_store (MsrMetrics    *mt,
            const GaucSum *g)
{
  mt->gauc_users = g->users;
  mt->gauc_users_kept = g->users_kept;
  mt->gauc_rows_kept = g->rows_kept;
  if (g->users_kept > 0)
    {
      mt->gauc = g->sw / (double) g->rows_kept;
      mt->gauc_click = g->swc / (double) g->clicks_kept;
      mt->gauc_defined = TRUE;
    }
}

static int
cmp_names (gconstpointer a,
           gconstpointer b,
           gpointer      names)
{
  const char *x = g_ptr_array_index ((GPtrArray *) names, *(const guint32 *) a);
  const char *y = g_ptr_array_index ((GPtrArray *) names, *(const guint32 *) b);

  return strcmp (x, y);
}

/* by_rank[r] = code of the r-th name in byte-wise order; returns rank[code]. */
static guint32 *
name_ranks (GPtrArray *names,
            guint32  **by_rank_out)
{
  guint n = names->len;
  guint32 *by_rank = g_new (guint32, MAX (n, 1));
  guint32 *rank = g_new (guint32, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    by_rank[i] = i;
  g_qsort_with_data (by_rank, n, sizeof (guint32), cmp_names, names);
  for (guint r = 0; r < n; r++)
    rank[by_rank[r]] = r;
  *by_rank_out = by_rank;
  return rank;
}

static void
mean_over_scenarios (MsrEvalResult  *res,
                     const guint32  *scen_by_rank)
{
  MsrMetrics *ma = &res->macro, *wt = &res->weighted;
  double auc_s = 0, auc_w = 0, ll_s = 0, ll_w = 0, ga_s = 0, ga_w = 0, gc_s = 0, gc_w = 0;
  guint64 auc_n = 0, ll_n = 0, ga_n = 0;

  metrics_init (ma);
  metrics_init (wt);
  /* Canonical order: scenarios by name. */
  for (guint r = 0; r < res->n_scenarios; r++)
    {
      const MsrMetrics *s = &res->scenarios[scen_by_rank[r]];
      double w = (double) s->n;

      ma->n += s->n;
      ma->positives += s->positives;
      ma->gauc_users += s->gauc_users;
      ma->gauc_users_kept += s->gauc_users_kept;
      ma->gauc_rows += s->gauc_rows;
      ma->gauc_rows_kept += s->gauc_rows_kept;
      if (s->auc_defined)
        {
          ma->auc_scenarios++;
          auc_s += s->auc;
          auc_w += w * s->auc;
          auc_n += s->n;
        }
      if (s->logloss_defined)
        {
          ma->logloss_scenarios++;
          ll_s += s->logloss;
          ll_w += w * s->logloss;
          ll_n += s->n;
        }
      if (s->gauc_defined)
        {
          ma->gauc_scenarios++;
          ga_s += s->gauc;
          ga_w += w * s->gauc;
          gc_s += s->gauc_click;
          gc_w += w * s->gauc_click;
          ga_n += s->n;
        }
    }
  if (ma->auc_scenarios)
    {
      ma->auc = auc_s / ma->auc_scenarios;
      wt->auc = auc_w / (double) auc_n;
      ma->auc_defined = wt->auc_defined = TRUE;
    }
  if (ma->logloss_scenarios)
    {
      ma->logloss = ll_s / ma->logloss_scenarios;
      wt->logloss = ll_w / (double) ll_n;
      ma->logloss_defined = wt->logloss_defined = TRUE;
    }
  if (ma->gauc_scenarios)
    {
      ma->gauc = ga_s / ma->gauc_scenarios;
      ma->gauc_click = gc_s / ma->gauc_scenarios;
      wt->gauc = ga_w / (double) ga_n;
      wt->gauc_click = gc_w / (double) ga_n;
      ma->gauc_defined = wt->gauc_defined = TRUE;
    }
  wt->n = ma->n;
  wt->positives = ma->positives;
  wt->gauc_users = ma->gauc_users;
  wt->gauc_users_kept = ma->gauc_users_kept;
  wt->gauc_rows = ma->gauc_rows;
  wt->gauc_rows_kept = ma->gauc_rows_kept;
  wt->auc_scenarios = ma->auc_scenarios;
  wt->logloss_scenarios = ma->logloss_scenarios;
  wt->gauc_scenarios = ma->gauc_scenarios;
}

MsrEvalResult *
msr_eval_acc_finish (const MsrEvalAcc *acc)
{
  MsrEvalResult *res;
  guint S, U;
  gsize E;
  g_autofree guint32 *scen_rank = NULL;
  g_autofree guint32 *scen_by_rank = NULL;
  g_autofree guint32 *user_rank = NULL;
  g_autofree guint32 *user_by_rank = NULL;
  g_autofree Rec *r1 = NULL;
  g_autofree Rec *r2 = NULL;
  g_autofree gsize *soff = NULL;
  Sweep sw;

  g_return_val_if_fail (acc != NULL, NULL);

  S = acc->scen_names->len;
  U = acc->user_names->len;
  E = acc->len;

  res = g_new0 (MsrEvalResult, 1);
  res->has_users = acc->with_users;
  res->logloss_epsilon = MSR_LOGLOSS_EPSILON;
  res->n_rows = acc->n_rows;
  res->n_scenarios = S;
  res->scenario_names = g_new0 (char *, S + 1);
  res->scenarios = g_new0 (MsrMetrics, MAX (S, 1));
  for (guint s = 0; s < S; s++)
    {
      res->scenario_names[s] = g_strdup (g_ptr_array_index (acc->scen_names, s));
      metrics_init (&res->scenarios[s]);
    }
  metrics_init (&res->overall);

  /* Groups are numbered by name rank, so every loop over groups below
   * runs in name order: the canonical order of the floating-point sums. */
  scen_rank = name_ranks (acc->scen_names, &scen_by_rank);
  if (acc->with_users)
    user_rank = name_ranks (acc->user_names, &user_by_rank);

  /* Pooled: every entry by ascending score. */
  r1 = records_by_key (acc, scen_rank, user_rank);
  sweep (r1, 0, E, TRUE, &sw);
  metrics_from_sweep (&res->overall, &sw);

  /* Per scenario: stable regrouping keeps the score order inside. */
  r2 = g_new (Rec, MAX (E, 1));
  soff = g_new (gsize, (gsize) S + 1);
  regroup (r1, E, FALSE, S, r2, soff);
  for (guint r = 0; r < S; r++)
    {
      sweep (r2, soff[r], soff[r + 1], TRUE, &sw);
      metrics_from_sweep (&res->scenarios[scen_by_rank[r]], &sw);
    }

  if (acc->with_users)
    {
      g_autofree gsize *uoff = g_new (gsize, (gsize) U + 1);
      GaucSum all = { 0 };

      /* Overall GAUC: (user, score) order. */
      regroup (r1, E, TRUE, U, r2, uoff);
      for (guint r = 0; r < U; r++)
        {
          if (uoff[r] == uoff[r + 1])
            continue;
          sweep (r2, uoff[r], uoff[r + 1], FALSE, &sw);
          gauc_add (&all, &sw);
        }
      gauc_store (&res->overall, &all);

      /* Per-scenario GAUC: (scenario, user, score) order. */
      regroup (r2, E, FALSE, S, r1, soff);
      for (guint r = 0; r < S; r++)
        {
          GaucSum g = { 0 };
          gsize k = soff[r];

          while (k < soff[r + 1])
            {
              gsize j = k;

              while (j < soff[r + 1] && r1[j].g2 == r1[k].g2)
                j++;
              sweep (r1, k, j, FALSE, &sw);
              gauc_add (&g, &sw);
              k = j;
            }
          gauc_store (&res->scenarios[scen_by_rank[r]], &g);
        }
    }

  mean_over_scenarios (res, scen_by_rank);
  return res;
}

void
msr_eval_result_free (MsrEvalResult *result)
{
  if (!result)
    return;
  g_strfreev (result->scenario_names);
  g_free (result->scenarios);
  g_free (result);
}

int
msr_eval_result_find_scenario (const MsrEvalResult *result,
                               const char          *name)
{
  g_return_val_if_fail (result != NULL && name != NULL, -1);
  for (guint s = 0; s < result->n_scenarios; s++)
    if (strcmp (result->scenario_names[s], name) == 0)
      return (int) s;
  return -1;
}

/* ---------------------------------------------------------------------- */
/* Binary format                                                          */

#define ACC_MAGIC      MSR_EVAL_ACC_MAGIC
#define ACC_VERSION    1u
#define ACC_FLAG_USERS 1u
#define ACC_HEADER     48u   /* magic 8, version 4, flags 4, 4 × u64 */
#define ACC_TRAILER    8u    /* checksum */

static inline guint64
rotl64 (guint64 x, int r)
{
  return (x << r) | (x >> (64 - r));
}

/* Word-wise checksum. Each step h <- rotl(h ^ w, 29) · K (K odd) is a
 * bijection of h for a fixed word and of the word for a fixed h, so any
 * change confined to one 8-byte word always changes the result. */
static guint64
acc_checksum (const guint8 *data,
              gsize         len)
{
  const guint64 K = G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);
  guint64 h = G_GUINT64_CONSTANT (0x4D53524C454E5331);
  gsize i = 0;

  for (; i + 8 <= len; i += 8)
    {
      guint64 w;

      memcpy (&w, data + i, 8);
      h = rotl64 (h ^ GUINT64_FROM_LE (w), 29) * K;
    }
  if (i < len)
    {
      guint64 w = 0;

      for (gsize j = 0; i + j < len; j++)
        w |= (guint64) data[i + j] << (8 * j);
      h = rotl64 (h ^ w, 29) * K;
    }
  h ^= (guint64) len;
  h ^= h >> 33;
  h *= G_GUINT64_CONSTANT (0xFF51AFD7ED558CCD);
  h ^= h >> 33;
  h *= G_GUINT64_CONSTANT (0xC4CEB9FE1A85EC53);
  h ^= h >> 33;
  return h;
}

static inline void
put_u32 (guint8 **p, guint32 v)
{
  v = GUINT32_TO_LE (v);
  memcpy (*p, &v, 4);
  *p += 4;
}

static inline void
put_u64 (guint8 **p, guint64 v)
{
  v = GUINT64_TO_LE (v);
  memcpy (*p, &v, 8);
  *p += 8;
}

static inline guint32
get_u32 (const guint8 *p)
{
  guint32 v;

  memcpy (&v, p, 4);
  return GUINT32_FROM_LE (v);
}

static inline guint64
get_u64 (const guint8 *p)
{
  guint64 v;

  memcpy (&v, p, 8);
  return GUINT64_FROM_LE (v);
}

static gsize
names_bytes (GPtrArray *names)
{
  gsize total = 0;

  for (guint i = 0; i < names->len; i++)
    total += 4 + strlen (g_ptr_array_index (names, i));
  return total;
}

GBytes *
msr_eval_acc_serialize (MsrEvalAcc *acc)
{
  gsize nb, esize, total;
  guint8 *buf, *p;

  g_return_val_if_fail (acc != NULL, NULL);

  msr_eval_acc_compact (acc);
  nb = names_bytes (acc->scen_names) + names_bytes (acc->user_names);
  esize = acc->with_users ? 24 : 20;
  total = ACC_HEADER + nb + acc->len * esize + ACC_TRAILER;
  buf = g_malloc (total);
  p = buf;

  memcpy (p, ACC_MAGIC, 8);
  p += 8;
  put_u32 (&p, ACC_VERSION);
  put_u32 (&p, acc->with_users ? ACC_FLAG_USERS : 0);
  put_u64 (&p, acc->scen_names->len);
  put_u64 (&p, acc->user_names->len);
  put_u64 (&p, acc->len);
  put_u64 (&p, nb);
  for (int t = 0; t < 2; t++)
    {
      GPtrArray *names = t == 0 ? acc->scen_names : acc->user_names;

      for (guint i = 0; i < names->len; i++)
        {
          const char *s = g_ptr_array_index (names, i);
          gsize l = strlen (s);

          put_u32 (&p, (guint32) l);
          memcpy (p, s, l);
          p += l;
        }
    }
  for (gsize i = 0; i < acc->len; i++)
    {
      put_u64 (&p, acc->key[i]);
      put_u32 (&p, acc->scen[i]);
      if (acc->with_users)
        put_u32 (&p, acc->user[i]);
      put_u32 (&p, CNT_POS (acc->cnt[i]));
      put_u32 (&p, CNT_NEG (acc->cnt[i]));
    }
  put_u64 (&p, acc_checksum (buf, total - ACC_TRAILER));
  g_assert ((gsize) (p - buf) == total);
  return g_bytes_new_take (buf, total);
}

static gboolean
read_names (const guint8  **p,
            const guint8   *end,
            guint64         count,
            GPtrArray      *names,
            GHashTable     *index,
            const char     *what,
            const char     *src,
            GError        **error)
{
  for (guint64 i = 0; i < count; i++)
    {
      guint32 l;
      char *name;

      if (end - *p < 4)
        goto truncated;
      l = get_u32 (*p);
      *p += 4;
      if ((guint64) (end - *p) < l)
        goto truncated;
      if (memchr (*p, '\0', l) || !g_utf8_validate ((const char *) *p, l, NULL))
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                       "%s: %s name %" G_GUINT64_FORMAT " is not valid UTF-8 text", src, what, i);
          return FALSE;
        }
      name = g_strndup ((const char *) *p, l);
      *p += l;
      if (g_hash_table_contains (index, name))
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                       "%s: %s name '%s' appears twice", src, what, name);
          g_free (name);
          return FALSE;
        }
      g_ptr_array_add (names, name);
      g_hash_table_insert (index, name, GUINT_TO_POINTER (names->len));
    }
  return TRUE;

truncated:
  g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
               "%s: the %s names run past the end of the name block", src, what);
  return FALSE;
}

MsrEvalAcc *
msr_eval_acc_deserialize (GBytes      *bytes,
                          const char  *source_name,
                          GError     **error)
{
  g_autoptr(MsrEvalAcc) acc = NULL;
  const char *src = source_name ? source_name : "accumulator";
  const guint8 *data, *p, *end, *names_end;
  gsize size, esize, body;
  guint32 version, flags;
  guint64 n_scen, n_user, n_ent, nb, rows = 0;

  g_return_val_if_fail (bytes != NULL, NULL);
  data = g_bytes_get_data (bytes, &size);

  if (size < ACC_HEADER + ACC_TRAILER)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "%s: too short (%" G_GSIZE_FORMAT " bytes) to be an evaluation accumulator",
                   src, size);
      return NULL;
    }
  if (memcmp (data, ACC_MAGIC, 8) != 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "%s: not an MSR Lens evaluation accumulator (bad magic)", src);
      return NULL;
    }
  version = get_u32 (data + 8);
  flags = get_u32 (data + 12);
  if (version != ACC_VERSION)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "%s: accumulator format version %u is not supported (this build reads version %u)",
                   src, version, ACC_VERSION);
      return NULL;
    }
  if (flags & ~ACC_FLAG_USERS)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "%s: unknown flags 0x%x in the header", src, flags);
      return NULL;
    }
  n_scen = get_u64 (data + 16);
  n_user = get_u64 (data + 24);
  n_ent = get_u64 (data + 32);
  nb = get_u64 (data + 40);
  esize = (flags & ACC_FLAG_USERS) ? 24 : 20;

  /* Sizes, checked without overflow before anything is allocated. */
  body = size - ACC_HEADER - ACC_TRAILER;
  if (nb > body || n_ent > (body - nb) / esize || nb + n_ent * esize != body)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "%s: truncated or damaged: the header announces %" G_GUINT64_FORMAT
                   " bytes of names and %" G_GUINT64_FORMAT " entries, which does not match the %"
                   G_GSIZE_FORMAT " bytes present", src, nb, n_ent, size);
      return NULL;
    }
  if (acc_checksum (data, size - ACC_TRAILER) != get_u64 (data + size - ACC_TRAILER))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_CHECKSUM,
                   "%s: checksum mismatch: the file is damaged", src);
      return NULL;
    }
  /* Every name takes at least its 4-byte length. */
  if (n_scen > nb / 4 || n_user > nb / 4 - n_scen || n_scen > G_MAXUINT32
      || n_user > G_MAXUINT32 || n_ent > MAX_ENTRIES
      || (!(flags & ACC_FLAG_USERS) && n_user != 0))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "%s: impossible counts in the header (%" G_GUINT64_FORMAT " scenarios, %"
                   G_GUINT64_FORMAT " users, %" G_GUINT64_FORMAT " entries)",
                   src, n_scen, n_user, n_ent);
      return NULL;
    }

  acc = msr_eval_acc_new ((flags & ACC_FLAG_USERS) != 0);
  p = data + ACC_HEADER;
  names_end = p + nb;
  if (!read_names (&p, names_end, n_scen, acc->scen_names, acc->scen_index, "scenario", src, error)
      || !read_names (&p, names_end, n_user, acc->user_names, acc->user_index, "user", src, error))
    return NULL;
  if (p != names_end)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "%s: %" G_GSIZE_FORMAT " stray bytes after the names", src,
                   (gsize) (names_end - p));
      return NULL;
    }

  ensure_capacity (acc, n_ent);
  end = data + size - ACC_TRAILER;
  for (guint64 i = 0; i < n_ent; i++, p += esize)
    {
      guint64 key = get_u64 (p);
      guint32 sc = get_u32 (p + 8);
      guint32 us = acc->with_users ? get_u32 (p + 12) : 0;
      guint32 po = get_u32 (p + esize - 8);
      guint32 ne = get_u32 (p + esize - 4);
      double score = msr_sort_double_from_key (key);
      const char *problem = NULL;

      if (sc >= n_scen)
        problem = "scenario code out of range";
      else if (acc->with_users && us >= n_user)
        problem = "user code out of range";
      else if (!score_ok (score) || msr_sort_key_from_double (score) != key)
        problem = "score is not a probability";
      else if (po == 0 && ne == 0)
        problem = "empty entry";
      else if (i > 0)
        {
          gsize j = acc->len - 1;
          /* Canonical order: (scenario, user, key) non-decreasing. */
          if (sc < acc->scen[j]
              || (sc == acc->scen[j]
                  && (us < (acc->with_users ? acc->user[j] : 0)
                      || (us == (acc->with_users ? acc->user[j] : 0) && key < acc->key[j]))))
            problem = "entries out of order";
        }
      if (problem)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                       "%s: entry %" G_GUINT64_FORMAT ": %s", src, i, problem);
          return NULL;
        }
      append (acc, key, sc, us, po, ne);
      rows += (guint64) po + ne;
    }
  g_assert (p == end);
  acc->n_rows = rows;
  acc->sorted_len = acc->len;
  return g_steal_pointer (&acc);
}

gboolean
msr_eval_acc_save (MsrEvalAcc  *acc,
                   const char  *path,
                   GError     **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) local = NULL;
  gsize len;
  const char *data;

  g_return_val_if_fail (acc != NULL && path != NULL, FALSE);
  bytes = msr_eval_acc_serialize (acc);
  data = g_bytes_get_data (bytes, &len);
  /* CONSISTENT: written to a temporary file beside path, then renamed. */
  if (!msr_file_replace_contents (path, data, len, 0666, &local))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s", local->message);
      return FALSE;
    }
  return TRUE;
}

MsrEvalAcc *
msr_eval_acc_load (const char  *path,
                   GError     **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GBytes) bytes = NULL;
  char *data = NULL;
  gsize len = 0;

  g_return_val_if_fail (path != NULL, NULL);
  if (!g_file_get_contents (path, &data, &len, &local))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s", local->message);
      return NULL;
    }
  bytes = g_bytes_new_take (data, len);
  return msr_eval_acc_deserialize (bytes, path, error);
}

/* ---------------------------------------------------------------------- */
/* Plain helpers                                                          */

/* Sorts (score, label, weight) by score and sweeps tie groups. */
static double
auc_impl (const double  *scores,
          const guint8  *labels,
          const guint32 *weights,
          gsize          n,
          gboolean      *defined)
{
  g_autofree guint64 *keys = NULL;
  g_autofree guint64 *key_tmp = NULL;
  g_autofree guint32 *idx = NULL;
  g_autofree guint32 *idx_tmp = NULL;
  guint64 m = 0, neg_below = 0;
  u128 num = 0;
  double auc = NAN;

  if (defined)
    *defined = FALSE;
  if (n == 0)
    return NAN;
  g_return_val_if_fail (scores != NULL && labels != NULL, NAN);
  g_return_val_if_fail (n <= G_MAXUINT32, NAN);

  keys = g_new (guint64, n);
  key_tmp = g_new (guint64, n);
  idx = g_new (guint32, n);
  idx_tmp = g_new (guint32, n);
  /* Unweighted, the payload is the label itself, so the sweep reads
   * memory sequentially; weighted, it is the row index. */
  for (gsize i = 0; i < n; i++)
    {
      if (isnan (scores[i]))
        return NAN;
      keys[i] = msr_sort_key_from_double (scores[i]);
      idx[i] = weights ? (guint32) i : (labels[i] != 0);
    }
  msr_radix_sort_u64 (keys, idx, n, key_tmp, idx_tmp);

  for (gsize k = 0; k < n;)
    {
      guint64 key = keys[k], pv = 0, nv = 0;

      do
        {
          guint32 i = idx[k];
          guint64 w = weights ? weights[i] : 1;
          gboolean y = weights ? labels[i] != 0 : i != 0;

          if (y)
            pv += w;
          else
            nv += w;
          k++;
        }
      while (k < n && keys[k] == key);
      num += (u128) pv * ((u128) 2 * neg_below + nv);
      neg_below += nv;
      m += pv;
    }
  if (m > 0 && neg_below > 0)
    {
      auc = (double) num / (double) ((u128) 2 * m * neg_below);
      if (defined)
        *defined = TRUE;
    }
  return auc;
}

double
msr_auc (const double *scores,
         const guint8 *labels,
         gsize         n,
         gboolean     *defined)
{
  return auc_impl (scores, labels, NULL, n, defined);
}

double
msr_auc_weighted (const double  *scores,
                  const guint8  *labels,
                  const guint32 *weights,
                  gsize          n,
                  gboolean      *defined)
{
  g_return_val_if_fail (n == 0 || weights != NULL, NAN);
  return auc_impl (scores, labels, weights, n, defined);
}

double
msr_logloss (const double *scores,
             const guint8 *labels,
             gsize         n,
             gboolean     *defined)
{
  double sum = 0.0;

  if (defined)
    *defined = FALSE;
  if (n == 0)
    return NAN;
  g_return_val_if_fail (scores != NULL && labels != NULL, NAN);
  for (gsize i = 0; i < n; i++)
    {
      if (isnan (scores[i]))
        return NAN;
      sum += ll_terms (scores[i], labels[i] ? 1 : 0, labels[i] ? 0 : 1);
    }
  if (defined)
    *defined = TRUE;
  return sum / (double) n;
}

double
msr_relaimpr (double auc_model,
              double auc_base)
{
  if (isnan (auc_model) || isnan (auc_base) || auc_base == 0.5)
    return NAN;
  return ((auc_model - 0.5) / (auc_base - 0.5) - 1.0) * 100.0;
}

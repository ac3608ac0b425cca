/* msr-stats.c: DeLong's paired test, paired stratified bootstrap, Holm. */
#include "msr-stats.h"
#include "msr-rng.h"
#include "msr-metrics.h"
#include "msr-sort.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef __SIZEOF_INT128__
#error "msr-stats.c needs a compiler with unsigned __int128 (GCC or Clang on a 64-bit target)"
#endif
typedef unsigned __int128 u128;

/* ---------------------------------------------------------------------- */
/* DeLong                                                                 */

/* Placements of one model: v10[i] for the i-th positive (in row order) and
 * v01[j] for the j-th negative, from one sort and a tie-group sweep:
 * V10 = (negatives below + ½ negatives tied)/n, which is the spec's
 * (pooled mid-rank − mid-rank among positives)/n, and
 * V01 = (positives above + ½ positives tied)/m = 1 − (pooled mid-rank −
 * mid-rank among negatives)/m. Returns the exact AUC. */
static double
placements (const double  *s,
            const guint8  *labels,
            gsize          n,
            const guint32 *cls_idx,
            guint64        m,
            guint64        nn,
            double        *v10,
            double        *v01)
{
  g_autofree guint64 *keys = g_new (guint64, n);
  g_autofree guint64 *key_tmp = g_new (guint64, n);
  g_autofree guint32 *idx = g_new (guint32, n);
  g_autofree guint32 *idx_tmp = g_new (guint32, n);
  guint64 neg_below = 0, pos_below = 0, num = 0;

  for (gsize i = 0; i < n; i++)
    {
      keys[i] = msr_sort_key_from_double (s[i]);
      idx[i] = (guint32) i;
    }
  msr_radix_sort_u64 (keys, idx, n, key_tmp, idx_tmp);

  for (gsize k = 0; k < n;)
    {
      gsize j = k;
      guint64 pv = 0, nv = 0;
      double p10, p01;

      while (j < n && keys[j] == keys[k])
        {
          if (labels[idx[j]])
            pv++;
          else
            nv++;
          j++;
        }
      p10 = ((double) neg_below + 0.5 * (double) nv) / (double) nn;
      p01 = ((double) (m - pos_below - pv) + 0.5 * (double) pv) / (double) m;
      for (gsize t = k; t < j; t++)
        {
          guint32 i = idx[t];

          if (labels[i])
            v10[cls_idx[i]] = p10;
          else
            v01[cls_idx[i]] = p01;
        }
      num += pv * (2 * neg_below + nv);
      neg_below += nv;
      pos_below += pv;
      k = j;
    }
  return (double) num / (double) (2 * m * nn);
}

/* Sample variance (divisor len − 1) of b[i] − a[i]. */
static double
diff_variance (const double *a,
               const double *b,
               guint64       len)
{
  double mean = 0.0, ss = 0.0;

  for (guint64 i = 0; i < len; i++)
    mean += b[i] - a[i];
  mean /= (double) len;
  for (guint64 i = 0; i < len; i++)
    {
      double d = (b[i] - a[i]) - mean;
      ss += d * d;
    }
  return ss / (double) (len - 1);
}

gboolean
msr_delong_paired (const double *a,
                   const double *b,
                   const guint8 *labels,
                   gsize         n,
                   MsrDeLong    *out)
{
  g_autofree guint32 *cls_idx = NULL;
  g_autofree double *v10a = NULL, *v10b = NULL, *v01a = NULL, *v01b = NULL;
  guint64 m = 0, nn = 0;
  double var;

  g_return_val_if_fail (out != NULL, FALSE);
  out->auc_a = out->auc_b = out->delta = NAN;
  out->var = out->z = out->p = NAN;
  out->m = out->n = 0;
  out->defined = FALSE;
  if (n == 0)
    return FALSE;
  g_return_val_if_fail (a != NULL && b != NULL && labels != NULL, FALSE);
  g_return_val_if_fail (n <= G_MAXUINT32, FALSE);

  cls_idx = g_new (guint32, n);
  for (gsize i = 0; i < n; i++)
    {
      if (isnan (a[i]) || isnan (b[i]))
        return FALSE;
      cls_idx[i] = (guint32) (labels[i] ? m++ : nn++);
    }
  out->m = m;
  out->n = nn;
  if (m == 0 || nn == 0)
    return FALSE;

  v10a = g_new (double, m);
  v10b = g_new (double, m);
  v01a = g_new (double, nn);
  v01b = g_new (double, nn);
  out->auc_a = placements (a, labels, n, cls_idx, m, nn, v10a, v01a);
  out->auc_b = placements (b, labels, n, cls_idx, m, nn, v10b, v01b);
  out->delta = out->auc_b - out->auc_a;
  if (m < 2 || nn < 2)
    return FALSE;

  /* S_aa + S_bb − 2·S_ab with S = S10/m + S01/n equals the variance of the
   * placement differences; computing it that way is exact for identical
   * models (var = 0) and loses less precision. */
  var = diff_variance (v10a, v10b, m) / (double) m
        + diff_variance (v01a, v01b, nn) / (double) nn;
  if (var < 0.0)
    var = 0.0;
  out->var = var;
  if (var > 0.0)
    out->z = out->delta / sqrt (var);
  else if (out->delta == 0.0)
    out->z = 0.0;
  else
    out->z = out->delta > 0 ? INFINITY : -INFINITY;
  out->p = erfc (fabs (out->z) / G_SQRT2);
  out->defined = TRUE;
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Holm                                                                   */

/* Ascending p, ties by index (g_qsort_with_data is stable anyway). */
static int
cmp_holm (gconstpointer x,
          gconstpointer y,
          gpointer      p)
{
  const double *pv = p;
  double a = pv[*(const guint *) x], b = pv[*(const guint *) y];
  guint ia = *(const guint *) x, ib = *(const guint *) y;

  if (a < b)
    return -1;
  if (a > b)
    return 1;
  return ia < ib ? -1 : ia > ib;
}

void
msr_holm_adjust (const double *p,
                 guint         n,
                 double       *adjusted)
{
  g_autofree guint *order = NULL;
  g_autofree double *copy = NULL;
  guint k = 0;
  double running = 0.0;

  if (n == 0)
    return;
  g_return_if_fail (p != NULL && adjusted != NULL);

  copy = g_memdup2 (p, n * sizeof (double));
  order = g_new (guint, n);
  for (guint i = 0; i < n; i++)
    if (!isnan (copy[i]))
      order[k++] = i;
  g_qsort_with_data (order, k, sizeof (guint), cmp_holm, copy);

  for (guint i = 0; i < n; i++)
    adjusted[i] = NAN;
  /* Step-down: the i-th smallest of k is multiplied by k − i; a running
   * maximum keeps the adjusted values monotone. */
  for (guint i = 0; i < k; i++)
    {
      double v = MIN (1.0, (double) (k - i) * copy[order[i]]);

      running = MAX (running, v);
      adjusted[order[i]] = running;
    }
}

/* ---------------------------------------------------------------------- */
/* Random streams (msr-rng.h): one independent stream per (seed,
 * replicate, stream), so results do not depend on the thread count. */

typedef MsrRng Rng;

static void
rng_init (Rng     *g,
          guint64  seed,
          guint64  replicate,
          guint64  stream)
{
  guint64 x = seed;
  guint64 h = msr_splitmix64 (&x);

  x = h ^ replicate;
  h = msr_splitmix64 (&x);
  x = h ^ stream;
  for (int i = 0; i < 4; i++)
    g->s[i] = msr_splitmix64 (&x);
}

#define rng_next  msr_rng_next
#define rng_below msr_rng_below

/* Slots are grouped by stratum: off[k] .. off[k+1]. Each stratum of size
 * z gets z uniform draws among its own slots. */
static void
draw_strata (Rng          *g,
             const gsize  *off,
             guint         n_strata,
             guint32      *counts)
{
  for (guint k = 0; k < n_strata; k++)
    {
      gsize base = off[k], size = off[k + 1] - off[k];

      for (gsize t = 0; t < size; t++)
        counts[base + rng_below (g, size)]++;
    }
}

void
msr_bootstrap_draw (const guint32 *stratum,
                    guint          n_strata,
                    gsize          n_items,
                    guint64        seed,
                    guint          replicate,
                    guint          stream,
                    guint32       *counts)
{
  g_autofree guint32 *slot_item = NULL;
  g_autofree guint32 *slot_count = NULL;
  g_autofree gsize *off = NULL;
  Rng g;

  g_return_if_fail (n_items <= G_MAXUINT32);
  g_return_if_fail (n_items == 0 || (stratum != NULL && counts != NULL));

  slot_item = g_new (guint32, MAX (n_items, 1));
  slot_count = g_new0 (guint32, MAX (n_items, 1));
  off = g_new (gsize, (gsize) n_strata + 1);
  if (!msr_counting_sort (stratum, n_strata, NULL, n_items, slot_item, off))
    {
      g_critical ("msr_bootstrap_draw: a stratum code is >= n_strata");
      return;
    }
  rng_init (&g, seed, replicate, stream);
  draw_strata (&g, off, n_strata, slot_count);
  for (gsize s = 0; s < n_items; s++)
    counts[slot_item[s]] = slot_count[s];
}

void
msr_bootstrap_options_init (MsrBootstrapOptions *opts)
{
  g_return_if_fail (opts != NULL);
  opts->replicates = 1000;
  opts->seed = 42;
  opts->level = 0.95;
  opts->threads = 0;
}

/* ---------------------------------------------------------------------- */
/* Paired comparison                                                      */

/* A sweep entry: the row's slot (its index in stratum order) with its
 * label and whether it starts a new tie group in this order. */
#define E_SLOT  0x3FFFFFFFu
#define E_LABEL 0x40000000u
#define E_NEW   0x80000000u
#define MAX_ROWS ((gsize) E_SLOT)

typedef struct {
  gsize     n;
  guint     S;               /* scenario blocks (1 without scenarios) */
  gboolean  scen_rows;       /* per-scenario output rows exist */
  gboolean  paired;
  guint     R;
  guint64   seed;

  guint     n_strata;
  gsize    *stratum_off;     /* n_strata + 1 */
  guint32  *pooled[2];       /* n entries, by score */
  guint32  *by_scen[2];      /* n entries, by scenario then score */
  gsize    *scen_off;        /* S + 1 */
  guint64  *scen_m, *scen_n;
  guint64   m_all, n_all;

  /* GAUC: (scenario, user) groups and users. */
  gboolean  users;
  gsize     P, U;
  gsize    *pair_off;        /* S + 1 */
  guint64  *pair_w;
  guint8   *pair_kept;
  double   *pair_auc[2];
  guint64  *user_w;
  guint8   *user_kept;
  double   *user_auc[2];

  double   *rep;             /* [(row · MSR_N_STATS + stat) · R + r] */
} Boot;

static inline double *
rep_slot (const Boot *b,
          guint       row,
          MsrStat     stat,
          guint       r)
{
  return b->rep + ((gsize) row * MSR_N_STATS + stat) * b->R + r;
}

/* Weighted AUC over one order; m and n are the weighted class totals. */
static double
sweep_weighted (const guint32 *ord,
                gsize          len,
                const guint32 *c,
                guint64        m,
                guint64        n)
{
  guint64 num = 0, neg_below = 0, pv = 0, nv = 0;

  if (m == 0 || n == 0)
    return NAN;
  for (gsize k = 0; k < len; k++)
    {
      guint32 e = ord[k];
      guint64 w = c[e & E_SLOT];

      if (e & E_NEW)
        {
          num += pv * (2 * neg_below + nv);
          neg_below += nv;
          pv = nv = 0;
        }
      if (e & E_LABEL)
        pv += w;
      else
        nv += w;
    }
  num += pv * (2 * neg_below + nv);
  /* Same integers and conversions as msr-metrics: identical values. */
  return (double) num / (double) (2 * m * n);
}

typedef struct {
  double   sa, sb;
  guint64  w;
} GSum;

static inline void
gsum_add (GSum     *g,
          guint64   count,
          guint64   w,
          double    auc_a,
          double    auc_b)
{
  double cw = (double) (count * w);

  g->sa += cw * auc_a;
  g->sb += cw * auc_b;
  g->w += count * w;
}

static void
store_gauc (const Boot *b,
            guint       row,
            guint       r,
            const GSum *g)
{
  if (g->w == 0)
    return;
  *rep_slot (b, row, MSR_STAT_GAUC_A, r) = g->sa / (double) g->w;
  if (b->paired)
    {
      double ga = g->sa / (double) g->w, gb = g->sb / (double) g->w;

      *rep_slot (b, row, MSR_STAT_GAUC_B, r) = gb;
      *rep_slot (b, row, MSR_STAT_GAUC_DELTA, r) = gb - ga;
    }
}

static void
store_auc (const Boot *b,
           guint       row,
           guint       r,
           double      auc_a,
           double      auc_b)
{
  *rep_slot (b, row, MSR_STAT_AUC_A, r) = auc_a;
  if (b->paired)
    {
      *rep_slot (b, row, MSR_STAT_AUC_B, r) = auc_b;
      *rep_slot (b, row, MSR_STAT_DELTA, r) = auc_b - auc_a;
      *rep_slot (b, row, MSR_STAT_RELAIMPR, r) = msr_relaimpr (auc_b, auc_a);
    }
}

static void
run_replicate (const Boot *b,
               guint       r,
               guint32    *c,
               guint32    *cu)
{
  guint overall_row = b->scen_rows ? b->S : 0;
  Rng g;

  memset (c, 0, b->n * sizeof (guint32));
  rng_init (&g, b->seed, r, 0);
  draw_strata (&g, b->stratum_off, b->n_strata, c);

  if (b->scen_rows)
    for (guint s = 0; s < b->S; s++)
      {
        gsize lo = b->scen_off[s], len = b->scen_off[s + 1] - lo;
        double aa = sweep_weighted (b->by_scen[0] + lo, len, c, b->scen_m[s], b->scen_n[s]);
        double ab = b->paired
          ? sweep_weighted (b->by_scen[1] + lo, len, c, b->scen_m[s], b->scen_n[s]) : NAN;

        store_auc (b, s, r, aa, ab);
      }
  {
    double aa = sweep_weighted (b->pooled[0], b->n, c, b->m_all, b->n_all);
    double ab = b->paired ? sweep_weighted (b->pooled[1], b->n, c, b->m_all, b->n_all) : NAN;

    store_auc (b, overall_row, r, aa, ab);
  }

  if (!b->users)
    return;

  /* Cluster bootstrap: each scenario resamples its (user, scenario)
   * groups; overall resamples users. Per-user AUCs stay fixed. */
  if (b->scen_rows)
    {
      memset (cu, 0, b->P * sizeof (guint32));
      rng_init (&g, b->seed, r, 1);
      draw_strata (&g, b->pair_off, b->S, cu);
      for (guint s = 0; s < b->S; s++)
        {
          GSum gs = { 0 };

          for (gsize p = b->pair_off[s]; p < b->pair_off[s + 1]; p++)
            if (cu[p] && b->pair_kept[p])
              gsum_add (&gs, cu[p], b->pair_w[p], b->pair_auc[0][p],
                        b->paired ? b->pair_auc[1][p] : 0.0);
          store_gauc (b, s, r, &gs);
        }
    }
  {
    gsize uoff[2] = { 0, b->U };
    GSum gs = { 0 };

    memset (cu, 0, b->U * sizeof (guint32));
    rng_init (&g, b->seed, r, 2);
    draw_strata (&g, uoff, 1, cu);
    for (gsize u = 0; u < b->U; u++)
      if (cu[u] && b->user_kept[u])
        gsum_add (&gs, cu[u], b->user_w[u], b->user_auc[0][u],
                  b->paired ? b->user_auc[1][u] : 0.0);
    store_gauc (b, overall_row, r, &gs);
  }
}

typedef struct {
  const Boot   *b;
  GCancellable *cancellable;
  gint          next;
  gint          done;
} Pool;

static guint
pool_work (Pool     *pool,
           gboolean  report,
           MsrProgressFunc progress,
           gpointer  progress_data)
{
  const Boot *b = pool->b;
  g_autofree guint32 *c = g_new (guint32, MAX (b->n, 1));
  g_autofree guint32 *cu = g_new (guint32, MAX (MAX (b->P, b->U), 1));
  guint mine = 0;

  for (;;)
    {
      gint r;

      if (g_cancellable_is_cancelled (pool->cancellable))
        break;
      r = g_atomic_int_add (&pool->next, 1);
      if (r < 0 || (guint) r >= b->R)
        break;
      run_replicate (b, (guint) r, c, cu);
      mine++;
      {
        gint done = g_atomic_int_add (&pool->done, 1) + 1;

        if (report && progress)
          progress ((double) done / b->R, "bootstrap", progress_data);
      }
    }
  return mine;
}

static gpointer
pool_thread (gpointer data)
{
  pool_work (data, FALSE, NULL, NULL);
  return NULL;
}

/* Builds the per-block and pooled sweep orders of one model. */
static void
build_orders (Boot          *b,
              int            t,
              const double  *score,
              const guint8  *labels,
              const guint32 *scen_of_row,
              const guint32 *row_slot,
              guint32      **sorted_rows_out)
{
  gsize n = b->n;
  g_autofree guint64 *keys = g_new (guint64, n);
  g_autofree guint64 *key_tmp = g_new (guint64, n);
  guint32 *rows = g_new (guint32, n);
  g_autofree guint32 *tmp = g_new (guint32, n);

  for (gsize i = 0; i < n; i++)
    {
      keys[i] = msr_sort_key_from_double (score[i]);
      rows[i] = (guint32) i;
    }
  msr_radix_sort_u64 (keys, rows, n, key_tmp, tmp);

  b->pooled[t] = g_new (guint32, n);
  for (gsize k = 0; k < n; k++)
    {
      guint32 row = rows[k];

      b->pooled[t][k] = row_slot[row] | (labels[row] ? E_LABEL : 0)
                        | ((k == 0 || keys[k] != keys[k - 1]) ? E_NEW : 0);
    }

  if (b->scen_rows)
    {
      if (!msr_counting_sort (scen_of_row, b->S, rows, n, tmp, NULL))
        g_assert_not_reached ();
      b->by_scen[t] = g_new (guint32, n);
      for (guint s = 0; s < b->S; s++)
        for (gsize k = b->scen_off[s]; k < b->scen_off[s + 1]; k++)
          {
            guint32 row = tmp[k];
            gboolean fresh = k == b->scen_off[s]
              || msr_sort_key_from_double (score[row])
                 != msr_sort_key_from_double (score[tmp[k - 1]]);

            b->by_scen[t][k] = row_slot[row] | (labels[row] ? E_LABEL : 0)
                               | (fresh ? E_NEW : 0);
          }
    }
  *sorted_rows_out = rows;
}

/* AUC per group: rows in ascending score (sorted_rows) regrouped stably by
 * group; unit weights. */
static void
group_aucs (const double  *score,
            const guint8  *labels,
            const guint32 *sorted_rows,
            const guint32 *group_of_row,
            gsize          n,
            gsize          n_groups,
            double        *auc_out,
            guint64       *w_out,
            guint64       *m_out)
{
  g_autofree guint32 *by = g_new (guint32, MAX (n, 1));
  g_autofree gsize *off = g_new (gsize, n_groups + 1);

  if (!msr_counting_sort (group_of_row, (guint) n_groups, sorted_rows, n, by, off))
    g_assert_not_reached ();
  for (gsize gi = 0; gi < n_groups; gi++)
    {
      guint64 num = 0, neg_below = 0, m = 0;

      for (gsize k = off[gi]; k < off[gi + 1];)
        {
          guint64 key = msr_sort_key_from_double (score[by[k]]), pv = 0, nv = 0;

          while (k < off[gi + 1] && msr_sort_key_from_double (score[by[k]]) == key)
            {
              if (labels[by[k]])
                pv++;
              else
                nv++;
              k++;
            }
          num += pv * (2 * neg_below + nv);
          neg_below += nv;
          m += pv;
        }
      auc_out[gi] = (m && neg_below) ? (double) num / (double) (2 * m * neg_below) : NAN;
      if (w_out)
        w_out[gi] = m + neg_below;
      if (m_out)
        m_out[gi] = m;
    }
}

static int
cmp_double (const void *x,
            const void *y)
{
  double a = *(const double *) x, b = *(const double *) y;

  return (a > b) - (a < b);
}

/* Percentile (linear interpolation between order statistics) of the
 * defined values. */
static MsrInterval
interval (const double *v,
          guint         R,
          double        level,
          double       *scratch)
{
  MsrInterval ci = { NAN, NAN, 0 };
  guint k = 0;

  for (guint r = 0; r < R; r++)
    if (!isnan (v[r]))
      scratch[k++] = v[r];
  ci.n_defined = k;
  if (k == 0)
    return ci;
  qsort (scratch, k, sizeof (double), cmp_double);
  for (int side = 0; side < 2; side++)
    {
      double q = side == 0 ? (1.0 - level) / 2.0 : (1.0 + level) / 2.0;
      double h = (k - 1) * q;
      guint lo = (guint) floor (h);
      double val = scratch[lo];

      if (lo + 1 < k)
        val += (h - lo) * (scratch[lo + 1] - scratch[lo]);
      if (side == 0)
        ci.lo = val;
      else
        ci.hi = val;
    }
  return ci;
}

static void
row_init (MsrComparisonRow *row,
          const char       *name)
{
  memset (row, 0, sizeof *row);
  row->name = name;
  row->auc_a = row->auc_b = row->delta = row->relaimpr = NAN;
  row->gauc_a = row->gauc_b = row->gauc_delta = NAN;
  row->delong.auc_a = row->delong.auc_b = row->delong.delta = NAN;
  row->delong.var = row->delong.z = row->delong.p = NAN;
  {
    MsrInterval none = { NAN, NAN, 0 };

    row->ci_auc_a = row->ci_auc_b = row->ci_delta = row->ci_relaimpr = none;
    row->ci_gauc_a = row->ci_gauc_b = row->ci_gauc_delta = none;
  }
}

static void
boot_clear (Boot *b)
{
  g_free (b->stratum_off);
  for (int t = 0; t < 2; t++)
    {
      g_free (b->pooled[t]);
      g_free (b->by_scen[t]);
      g_free (b->pair_auc[t]);
      g_free (b->user_auc[t]);
    }
  g_free (b->scen_off);
  g_free (b->scen_m);
  g_free (b->scen_n);
  g_free (b->pair_off);
  g_free (b->pair_w);
  g_free (b->pair_kept);
  g_free (b->user_w);
  g_free (b->user_kept);
}

void
msr_comparison_free (MsrComparison *comparison)
{
  if (!comparison)
    return;
  g_free (comparison->scenarios);
  g_free (comparison->replicate_values);
  g_strfreev (comparison->names);
  g_free (comparison);
}

const double *
msr_comparison_get_replicates (const MsrComparison *comparison,
                               int                  scenario,
                               MsrStat              stat)
{
  guint row;

  g_return_val_if_fail (comparison != NULL, NULL);
  g_return_val_if_fail (stat < MSR_N_STATS, NULL);
  g_return_val_if_fail (scenario >= -1 && scenario < (int) comparison->n_scenarios, NULL);
  if (comparison->replicates == 0)
    return NULL;
  row = scenario < 0 ? comparison->n_scenarios : (guint) scenario;
  return comparison->replicate_values + ((gsize) row * MSR_N_STATS + stat) * comparison->replicates;
}

static gboolean
check_cancel (GCancellable  *cancellable,
              GError       **error)
{
  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}

MsrComparison *
msr_compare_paired (const double               *a,
                    const double               *b_scores,
                    const guint8               *labels,
                    const guint32              *scenario,
                    const char * const         *scenario_names,
                    guint                       n_scenarios,
                    const guint32              *user,
                    gsize                       n,
                    const MsrBootstrapOptions  *opts,
                    MsrProgressFunc             progress,
                    gpointer                    progress_data,
                    GCancellable               *cancellable,
                    GError                    **error)
{
  MsrBootstrapOptions defaults;
  g_autoptr(MsrComparison) cmp = NULL;
  Boot bt = { 0 };
  Boot *b = &bt;
  g_autofree guint32 *scen_of_row = NULL;
  g_autofree guint32 *row_slot = NULL;
  g_autofree guint32 *slot_tmp = NULL;
  guint32 *sorted_rows[2] = { NULL, NULL };
  g_autofree guint32 *ones = NULL;
  g_autofree guint32 *strat = NULL;
  guint S_out, n_rows_out;
  const double *score[2] = { a, b_scores };
  int n_models;

  if (!opts)
    {
      msr_bootstrap_options_init (&defaults);
      opts = &defaults;
    }
  g_return_val_if_fail (n == 0 || (a != NULL && labels != NULL), NULL);

  if (n > MAX_ROWS)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "%" G_GSIZE_FORMAT " rows is more than the comparison supports (%" G_GSIZE_FORMAT ")",
                   n, MAX_ROWS);
      return NULL;
    }
  if (!(opts->level > 0.0 && opts->level < 1.0))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "interval level %g is not between 0 and 1", opts->level);
      return NULL;
    }
  for (gsize i = 0; i < n; i++)
    {
      const char *bad = NULL;

      if (isnan (a[i]))
        bad = "model A score is not a number";
      else if (b_scores && isnan (b_scores[i]))
        bad = "model B score is not a number";
      else if (scenario && scenario[i] >= n_scenarios)
        bad = "scenario code out of range";
      if (bad)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "row %" G_GSIZE_FORMAT ": %s", i, bad);
          return NULL;
        }
    }

  S_out = scenario ? n_scenarios : 0;
  n_rows_out = S_out + 1;
  n_models = b_scores ? 2 : 1;

  cmp = g_new0 (MsrComparison, 1);
  cmp->paired = b_scores != NULL;
  cmp->replicates = opts->replicates;
  cmp->seed = opts->seed;
  cmp->level = opts->level;
  cmp->n_scenarios = S_out;
  cmp->names = g_new0 (char *, S_out + 2);
  for (guint s = 0; s < S_out; s++)
    cmp->names[s] = (scenario_names && scenario_names[s])
      ? g_strdup (scenario_names[s]) : g_strdup_printf ("scenario %u", s);
  cmp->names[S_out] = g_strdup ("overall");
  cmp->scenarios = g_new0 (MsrComparisonRow, MAX (S_out, 1));
  for (guint s = 0; s < S_out; s++)
    row_init (&cmp->scenarios[s], cmp->names[s]);
  row_init (&cmp->overall, cmp->names[S_out]);

  b->n = n;
  b->S = MAX (S_out, 1);
  b->scen_rows = S_out > 0;
  b->paired = cmp->paired;
  b->R = opts->replicates;
  b->seed = opts->seed;
  b->users = user != NULL;

  /* Strata and slots: rows grouped by (scenario, label), row order kept. */
  scen_of_row = g_new0 (guint32, MAX (n, 1));
  strat = g_new (guint32, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    {
      scen_of_row[i] = scenario ? scenario[i] : 0;
      strat[i] = 2 * scen_of_row[i] + (labels[i] ? 1 : 0);
    }
  b->n_strata = 2 * b->S;
  b->stratum_off = g_new (gsize, b->n_strata + 1);
  slot_tmp = g_new (guint32, MAX (n, 1));
  if (!msr_counting_sort (strat, b->n_strata, NULL, n, slot_tmp, b->stratum_off))
    g_assert_not_reached ();
  row_slot = g_new (guint32, MAX (n, 1));
  for (gsize s = 0; s < n; s++)
    row_slot[slot_tmp[s]] = (guint32) s;

  b->scen_off = g_new (gsize, b->S + 1);
  b->scen_m = g_new0 (guint64, b->S);
  b->scen_n = g_new0 (guint64, b->S);
  for (guint s = 0; s < b->S; s++)
    {
      b->scen_off[s] = b->stratum_off[2 * s];
      b->scen_n[s] = b->stratum_off[2 * s + 1] - b->stratum_off[2 * s];
      b->scen_m[s] = b->stratum_off[2 * s + 2] - b->stratum_off[2 * s + 1];
      b->m_all += b->scen_m[s];
      b->n_all += b->scen_n[s];
    }
  b->scen_off[b->S] = n;

  for (int t = 0; t < n_models; t++)
    build_orders (b, t, score[t], labels, scen_of_row, row_slot, &sorted_rows[t]);
  if (!check_cancel (cancellable, error))
    goto fail;

  /* Point estimates: the same sweeps with every weight 1. */
  ones = g_new (guint32, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    ones[i] = 1;
  for (guint s = 0; s < n_rows_out; s++)
    {
      gboolean all = s == S_out;
      MsrComparisonRow *row = all ? &cmp->overall : &cmp->scenarios[s];
      gsize lo = all ? 0 : b->scen_off[s];
      gsize len = all ? n : b->scen_off[s + 1] - lo;
      guint64 m = all ? b->m_all : b->scen_m[s];
      guint64 nn = all ? b->n_all : b->scen_n[s];

      row->n = m + nn;
      row->positives = m;
      row->auc_a = sweep_weighted (all ? b->pooled[0] : b->by_scen[0] + lo, len, ones, m, nn);
      if (b->paired)
        {
          row->auc_b = sweep_weighted (all ? b->pooled[1] : b->by_scen[1] + lo, len, ones, m, nn);
          row->delta = row->auc_b - row->auc_a;
          row->relaimpr = msr_relaimpr (row->auc_b, row->auc_a);

          if (all)
            msr_delong_paired (a, b_scores, labels, n, &row->delong);
          else
            {
              g_autofree double *ga = g_new (double, MAX (len, 1));
              g_autofree double *gb = g_new (double, MAX (len, 1));
              g_autofree guint8 *gl = g_new (guint8, MAX (len, 1));
              gsize k = 0;

              /* The scenario's rows are its slots (row order does not
               * matter to the test). */
              for (gsize sl = lo; sl < lo + len; sl++, k++)
                {
                  guint32 i = slot_tmp[sl];

                  ga[k] = a[i];
                  gb[k] = b_scores[i];
                  gl[k] = labels[i] ? 1 : 0;
                }
              msr_delong_paired (ga, gb, gl, k, &row->delong);
            }
        }
    }
  if (!check_cancel (cancellable, error))
    goto fail;

  if (b->users)
    {
      g_autofree guint64 *ukeys = g_new (guint64, MAX (n, 1));
      g_autofree guint64 *ukey_tmp = g_new (guint64, MAX (n, 1));
      g_autofree guint32 *urows = g_new (guint32, MAX (n, 1));
      g_autofree guint32 *utmp = g_new (guint32, MAX (n, 1));
      g_autofree guint32 *udense = g_new (guint32, MAX (n, 1));
      g_autofree guint32 *pair_of_row = g_new (guint32, MAX (n, 1));
      g_autofree guint32 *pair_scen = NULL;
      g_autofree guint64 *tmp_m = NULL;

      /* Dense user ids in ascending user code order. */
      for (gsize i = 0; i < n; i++)
        {
          ukeys[i] = user[i];
          urows[i] = (guint32) i;
        }
      msr_radix_sort_u64 (ukeys, urows, n, ukey_tmp, utmp);
      b->U = 0;
      for (gsize k = 0; k < n; k++)
        {
          if (k > 0 && ukeys[k] != ukeys[k - 1])
            b->U++;
          udense[urows[k]] = (guint32) b->U;
        }
      if (n > 0)
        b->U++;

      /* (scenario, user) groups, ordered by scenario then user. */
      if (!msr_counting_sort (udense, (guint) b->U, NULL, n, utmp, NULL)
          || !msr_counting_sort (scen_of_row, b->S, utmp, n, urows, NULL))
        g_assert_not_reached ();
      b->pair_off = g_new0 (gsize, b->S + 1);
      b->P = 0;
      for (gsize k = 0; k < n; k++)
        {
          guint32 row = urows[k];

          if (k > 0 && (scen_of_row[row] != scen_of_row[urows[k - 1]]
                        || udense[row] != udense[urows[k - 1]]))
            b->P++;
          pair_of_row[row] = (guint32) b->P;
        }
      if (n > 0)
        b->P++;
      pair_scen = g_new (guint32, MAX (b->P, 1));
      for (gsize i = 0; i < n; i++)
        pair_scen[pair_of_row[i]] = scen_of_row[i];
      for (gsize p = 0; p < b->P; p++)
        b->pair_off[pair_scen[p] + 1]++;
      for (guint s = 0; s < b->S; s++)
        b->pair_off[s + 1] += b->pair_off[s];

      b->pair_w = g_new (guint64, MAX (b->P, 1));
      b->pair_kept = g_new (guint8, MAX (b->P, 1));
      b->user_w = g_new (guint64, MAX (b->U, 1));
      b->user_kept = g_new (guint8, MAX (b->U, 1));
      tmp_m = g_new (guint64, MAX (MAX (b->P, b->U), 1));
      for (int t = 0; t < n_models; t++)
        {
          b->pair_auc[t] = g_new (double, MAX (b->P, 1));
          b->user_auc[t] = g_new (double, MAX (b->U, 1));
          group_aucs (score[t], labels, sorted_rows[t], pair_of_row, n, b->P,
                      b->pair_auc[t], t == 0 ? b->pair_w : NULL, NULL);
          group_aucs (score[t], labels, sorted_rows[t], udense, n, b->U,
                      b->user_auc[t], t == 0 ? b->user_w : NULL, NULL);
        }
      for (gsize p = 0; p < b->P; p++)
        b->pair_kept[p] = !isnan (b->pair_auc[0][p]);
      for (gsize u = 0; u < b->U; u++)
        b->user_kept[u] = !isnan (b->user_auc[0][u]);

      /* Point GAUC and coverage. */
      for (guint s = 0; s < n_rows_out; s++)
        {
          gboolean all = s == S_out;
          MsrComparisonRow *row = all ? &cmp->overall : &cmp->scenarios[s];
          gsize lo = all ? 0 : b->pair_off[s], hi = all ? b->U : b->pair_off[s + 1];
          const guint64 *w = all ? b->user_w : b->pair_w;
          const guint8 *kept = all ? b->user_kept : b->pair_kept;
          double *const *aucs = all ? b->user_auc : b->pair_auc;
          GSum gs = { 0 };

          row->has_gauc = TRUE;
          row->gauc_users = hi - lo;
          for (gsize p = lo; p < hi; p++)
            if (kept[p])
              {
                row->gauc_users_kept++;
                row->gauc_rows_kept += w[p];
                gsum_add (&gs, 1, w[p], aucs[0][p], b->paired ? aucs[1][p] : 0.0);
              }
          if (gs.w > 0)
            {
              row->gauc_a = gs.sa / (double) gs.w;
              if (b->paired)
                {
                  row->gauc_b = gs.sb / (double) gs.w;
                  row->gauc_delta = row->gauc_b - row->gauc_a;
                }
            }
        }
    }

  /* Replicates. */
  if (b->R > 0)
    {
      Pool pool = { b, cancellable, 0, 0 };
      guint threads = opts->threads ? opts->threads : g_get_num_processors ();
      GPtrArray *workers = g_ptr_array_new ();
      g_autofree double *scratch = g_new (double, b->R);

      b->rep = g_new (double, (gsize) n_rows_out * MSR_N_STATS * b->R);
      for (gsize i = 0; i < (gsize) n_rows_out * MSR_N_STATS * b->R; i++)
        b->rep[i] = NAN;
      cmp->replicate_values = b->rep;

      threads = CLAMP (threads, 1, MIN (b->R, 64));
      for (guint t = 1; t < threads; t++)
        {
          GThread *th = g_thread_try_new ("msr-bootstrap", pool_thread, &pool, NULL);

          if (th)
            g_ptr_array_add (workers, th);
        }
      pool_work (&pool, TRUE, progress, progress_data);
      for (guint t = 0; t < workers->len; t++)
        g_thread_join (g_ptr_array_index (workers, t));
      g_ptr_array_unref (workers);
      if (!check_cancel (cancellable, error))
        goto fail;

      for (guint s = 0; s < n_rows_out; s++)
        {
          MsrComparisonRow *row = s == S_out ? &cmp->overall : &cmp->scenarios[s];
          MsrInterval *dst[MSR_N_STATS] = {
            &row->ci_auc_a, &row->ci_auc_b, &row->ci_delta, &row->ci_relaimpr,
            &row->ci_gauc_a, &row->ci_gauc_b, &row->ci_gauc_delta,
          };

          for (int st = 0; st < MSR_N_STATS; st++)
            *dst[st] = interval (rep_slot (b, s, st, 0), b->R, opts->level, scratch);
        }
    }
  else if (progress)
    progress (1.0, "bootstrap", progress_data);

  boot_clear (b);
  g_free (sorted_rows[0]);
  g_free (sorted_rows[1]);
  return g_steal_pointer (&cmp);

fail:
  boot_clear (b);
  g_free (sorted_rows[0]);
  g_free (sorted_rows[1]);
  return NULL;
}

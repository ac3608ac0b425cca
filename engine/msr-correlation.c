/* msr-correlation.c: behavioural scenario matrices and the Mantel test. */
#include "config.h"
#include "msr-correlation.h"
#include "msr-rng.h"
#include "msr-sort.h"

#include <math.h>
#include <string.h>

/* Running co-moments of one scenario pair (Welford's update, so the
 * result does not suffer from cancellation in Σx² − n·x̄²). */
typedef struct {
  guint  n;
  double mx, my, sxx, syy, sxy;
} PairAcc;

static void
pair_add (PairAcc *a, double x, double y)
{
  a->n++;
  double dx = x - a->mx;
  a->mx += dx / a->n;
  double dy = y - a->my;
  a->my += dy / a->n;
  /* Uses the updated mean of one variable and the old deviation of the
   * other: the exact co-moment update. */
  a->sxx += dx * (x - a->mx);
  a->syy += dy * (y - a->my);
  a->sxy += dx * (y - a->my);
}

static double
pair_pearson (const PairAcc *a)
{
  if (a->n < 3 || !(a->sxx > 0) || !(a->syy > 0))
    return NAN;
  double r = a->sxy / sqrt (a->sxx * a->syy);
  return CLAMP (r, -1.0, 1.0);
}

double *
msr_corr_user_means (const MsrDataset *ds, const double *row_values, guint split_mask,
                     guint min_rows, guint *n_users_used)
{
  g_return_val_if_fail (ds != NULL, NULL);
  const guint S = msr_dataset_get_n_scenarios (ds);
  if (S == 0 || S > MSR_CORR_MAX_SCENARIOS)
    return NULL;
  const gsize n_rows = msr_dataset_get_n_rows (ds);
  const guint user_field = msr_dataset_get_user_field (ds);
  const guint n_users = msr_dataset_get_field_cardinality (ds, user_field);
  const gint32 *users = msr_dataset_get_field_codes (ds, user_field);
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  const guint8 *labels = msr_dataset_get_labels (ds);
  const guint8 *splits = msr_dataset_get_splits (ds);
  if (min_rows == 0)
    min_rows = 1;

  /* The selected rows grouped by user (stable, so each user's rows stay in
   * row order and the accumulation order is fixed). */
  g_autofree guint32 *selected = g_new (guint32, MAX (n_rows, 1));
  gsize n_sel = 0;
  for (gsize r = 0; r < n_rows; r++)
    if ((split_mask & MSR_SPLIT_MASK (splits[r])) && users[r] != MSR_UNKNOWN_CODE)
      selected[n_sel++] = (guint32) r;
  g_autofree guint32 *by_user = g_new (guint32, MAX (n_sel, 1));
  g_autofree gsize *offsets = g_new (gsize, (gsize) n_users + 1);
  /* Codes are in [0, n_users), so the sort cannot fail. */
  msr_counting_sort ((const guint32 *) users, n_users, selected, n_sel, by_user, offsets);

  g_autofree PairAcc *acc = g_new0 (PairAcc, (gsize) S * S);
  g_autofree guint *diag = g_new0 (guint, S);
  g_autofree guint *count = g_new0 (guint, S);
  g_autofree double *sum = g_new0 (double, S);
  g_autofree guint *touched = g_new (guint, S);
  g_autofree guint *kept = g_new (guint, S);
  g_autofree double *mean = g_new (double, S);

  for (guint u = 0; u < n_users; u++)
    {
      guint n_touched = 0;
      for (gsize k = offsets[u]; k < offsets[u + 1]; k++)
        {
          guint32 r = by_user[k];
          guint s = scen[r];
          if (count[s]++ == 0)
            touched[n_touched++] = s;
          sum[s] += row_values ? row_values[r] : (double) labels[r];
        }
      guint n_kept = 0;
      for (guint t = 0; t < n_touched; t++)
        {
          guint s = touched[t];
          if (count[s] >= min_rows)
            {
              kept[n_kept++] = s;
              mean[s] = sum[s] / count[s];
              diag[s]++;
            }
          count[s] = 0;
          sum[s] = 0;
        }
      for (guint i = 0; i < n_kept; i++)
        for (guint j = 0; j < n_kept; j++)
          if (kept[i] < kept[j])
            pair_add (&acc[(gsize) kept[i] * S + kept[j]], mean[kept[i]], mean[kept[j]]);
    }

  double *out = g_new (double, (gsize) S * S);
  for (guint a = 0; a < S; a++)
    {
      out[(gsize) a * S + a] = diag[a] > 0 ? 1.0 : NAN;
      if (n_users_used)
        n_users_used[(gsize) a * S + a] = diag[a];
      for (guint b = a + 1; b < S; b++)
        {
          const PairAcc *p = &acc[(gsize) a * S + b];
          out[(gsize) a * S + b] = out[(gsize) b * S + a] = pair_pearson (p);
          if (n_users_used)
            n_users_used[(gsize) a * S + b] = n_users_used[(gsize) b * S + a] = p->n;
        }
    }
  return out;
}

double *
msr_corr_click_rate (const MsrDataset *ds, guint split_mask, guint min_rows, guint *n_users_used)
{
  return msr_corr_user_means (ds, NULL, split_mask, min_rows, n_users_used);
}

double *
msr_corr_user_overlap (const MsrDataset *ds, guint split_mask)
{
  g_return_val_if_fail (ds != NULL, NULL);
  const guint S = msr_dataset_get_n_scenarios (ds);
  if (S == 0 || S > MSR_CORR_MAX_SCENARIOS)
    return NULL;
  g_autoptr(MsrDatasetStats) st = msr_dataset_compute_stats (ds, split_mask);
  return g_memdup2 (st->user_jaccard, (gsize) S * S * sizeof (double));
}

/* ---- Mantel ------------------------------------------------------------- */

/* Mid-ranks (1-based) of x[0..n) into out. */
static void
mid_ranks (const double *x, guint n, double *out)
{
  g_autofree guint32 *order = msr_sort_scores (x, n);
  guint i = 0;
  while (i < n)
    {
      guint j = i + 1;
      while (j < n && x[order[j]] == x[order[i]])
        j++;
      double rank = 0.5 * ((double) i + 1 + (double) j);
      for (guint k = i; k < j; k++)
        out[order[k]] = rank;
      i = j;
    }
}

static double
pearson (const double *x, const double *y, guint n)
{
  if (n < 3)
    return NAN;
  double mx = 0, my = 0;
  for (guint i = 0; i < n; i++)
    {
      mx += x[i];
      my += y[i];
    }
  mx /= n;
  my /= n;
  double sxx = 0, syy = 0, sxy = 0;
  for (guint i = 0; i < n; i++)
    {
      double dx = x[i] - mx, dy = y[i] - my;
      sxx += dx * dx;
      syy += dy * dy;
      sxy += dx * dy;
    }
  if (!(sxx > 0) || !(syy > 0))
    return NAN;
  return CLAMP (sxy / sqrt (sxx * syy), -1.0, 1.0);
}

/* The correlation of a (rows and columns permuted by perm) with b over the
 * pairs i < j where both entries are numbers. Scratch holds 4 × n(n-1)/2. */
static double
upper_correlation (const double *a, const double *b, guint n, const guint32 *perm,
                   MsrCorrMethod method, double *scratch, guint *n_pairs)
{
  const gsize m = (gsize) n * (n - 1) / 2;
  double *x = scratch, *y = scratch + m, *rx = scratch + 2 * m, *ry = scratch + 3 * m;
  guint k = 0;
  for (guint i = 0; i < n; i++)
    for (guint j = i + 1; j < n; j++)
      {
        double va = a[(gsize) perm[i] * n + perm[j]];
        double vb = b[(gsize) i * n + j];
        if (isnan (va) || isnan (vb))
          continue;
        x[k] = va;
        y[k] = vb;
        k++;
      }
  if (n_pairs)
    *n_pairs = k;
  if (k < 3)
    return NAN;
  if (method == MSR_CORR_SPEARMAN)
    {
      mid_ranks (x, k, rx);
      mid_ranks (y, k, ry);
      return pearson (rx, ry, k);
    }
  return pearson (x, y, k);
}

gboolean
msr_corr_mantel_full (const double *a, const double *b, guint n, MsrCorrMethod method,
                      guint permutations, guint64 seed, double *r, double *p, guint *n_pairs)
{
  double r_obs = NAN, p_val = NAN;
  guint pairs = 0;
  gboolean ok = FALSE;

  if (a != NULL && b != NULL && n >= 3 && n <= MSR_CORR_MAX_SCENARIOS)
    {
      const gsize m = (gsize) n * (n - 1) / 2;
      g_autofree double *scratch = g_new (double, 4 * m);
      g_autofree guint32 *perm = g_new (guint32, n);
      for (guint i = 0; i < n; i++)
        perm[i] = i;
      r_obs = upper_correlation (a, b, n, perm, method, scratch, &pairs);
      ok = !isnan (r_obs);
      if (ok && permutations > 0)
        {
          MsrRng rng;
          msr_rng_init (&rng, seed);
          guint64 reached = 0;
          for (guint t = 0; t < permutations; t++)
            {
              /* Shuffling the previous permutation again is still a
               * uniform draw. */
              msr_rng_shuffle_u32 (&rng, perm, n);
              double rp = upper_correlation (a, b, n, perm, method, scratch, NULL);
              if (!isnan (rp) && rp >= r_obs - 1e-12)
                reached++;
            }
          p_val = (1.0 + (double) reached) / (1.0 + (double) permutations);
        }
      if (!ok)
        r_obs = NAN;
    }
  if (r)
    *r = r_obs;
  if (p)
    *p = ok ? p_val : NAN;
  if (n_pairs)
    *n_pairs = pairs;
  return ok;
}

gboolean
msr_corr_mantel (const double *a, const double *b, guint n, guint permutations, guint64 seed,
                 double *r, double *p)
{
  return msr_corr_mantel_full (a, b, n, MSR_CORR_PEARSON, permutations, seed, r, p, NULL);
}

/* msr-seesaw.c: the seesaw indicators of method spec 6.6 on top of
 * msr_compare_paired, and the multi-seed summary from the results store.
 * docs/METRICS.md §9 is the reference for every definition here. */
#include "config.h"
#include "msr-json.h"
#include "msr-seesaw.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void
msr_seesaw_options_init (MsrSeesawOptions *opts)
{
  g_return_if_fail (opts != NULL);
  opts->tau = MSR_SEESAW_DEFAULT_TAU;
  opts->alpha = MSR_SEESAW_DEFAULT_ALPHA;
  msr_bootstrap_options_init (&opts->bootstrap);
}

const char *
msr_pareto_to_string (MsrPareto pareto)
{
  switch (pareto)
    {
    case MSR_PARETO_EQUAL: return "equal";
    case MSR_PARETO_B_DOMINATES: return "b_dominates";
    case MSR_PARETO_A_DOMINATES: return "a_dominates";
    case MSR_PARETO_INCOMPARABLE: return "incomparable";
    case MSR_PARETO_UNDEFINED:
    default: return "undefined";
    }
}

const char *
msr_seesaw_pairing_to_string (MsrSeesawPairing pairing)
{
  switch (pairing)
    {
    case MSR_SEESAW_PAIRING_SEED: return "seed";
    case MSR_SEESAW_PAIRING_MIXED: return "mixed";
    case MSR_SEESAW_PAIRING_CREATION:
    default: return "creation_order";
    }
}

void
msr_seesaw_free (MsrSeesaw *seesaw)
{
  if (seesaw == NULL)
    return;
  g_free (seesaw->scenarios);
  g_strfreev (seesaw->names);
  msr_comparison_free (seesaw->comparison);
  g_free (seesaw);
}

const MsrComparison *
msr_seesaw_get_comparison (const MsrSeesaw *seesaw)
{
  g_return_val_if_fail (seesaw != NULL, NULL);
  return seesaw->comparison;
}

/* ---- ranks and Spearman ------------------------------------------------ */

typedef struct {
  double v;
  gsize  i;
} Ranked;

static int
cmp_ranked (const void *x, const void *y)
{
  const Ranked *a = x, *b = y;

  if (a->v < b->v)
    return -1;
  if (a->v > b->v)
    return 1;
  return (a->i > b->i) - (a->i < b->i);
}

/* 1-based average ranks (ties share the mean of their positions). */
static void
average_ranks (const double *v, gsize n, double *rank)
{
  g_autofree Ranked *r = g_new (Ranked, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    r[i] = (Ranked) { v[i], i };
  qsort (r, n, sizeof (Ranked), cmp_ranked);
  for (gsize lo = 0; lo < n;)
    {
      gsize hi = lo + 1;

      while (hi < n && r[hi].v == r[lo].v)
        hi++;
      /* positions lo+1 .. hi share the rank (lo + 1 + hi)/2 */
      for (gsize k = lo; k < hi; k++)
        rank[r[k].i] = (double) (lo + 1 + hi) / 2.0;
      lo = hi;
    }
}

double
msr_seesaw_spearman (const double *x, const double *y, gsize n)
{
  if (n < 3 || x == NULL || y == NULL)
    return NAN;
  for (gsize i = 0; i < n; i++)
    if (isnan (x[i]) || isnan (y[i]))
      return NAN;

  g_autofree double *rx = g_new (double, n);
  g_autofree double *ry = g_new (double, n);
  average_ranks (x, n, rx);
  average_ranks (y, n, ry);
  /* Pearson correlation of the ranks; the mean rank is (n + 1)/2 exactly. */
  const double mean = (double) (n + 1) / 2.0;
  double sxy = 0, sxx = 0, syy = 0;
  for (gsize i = 0; i < n; i++)
    {
      const double dx = rx[i] - mean, dy = ry[i] - mean;
      sxy += dx * dy;
      sxx += dx * dx;
      syy += dy * dy;
    }
  if (sxx == 0.0 || syy == 0.0)
    return NAN;
  double rho = sxy / sqrt (sxx * syy);
  return CLAMP (rho, -1.0, 1.0);
}

/* ---- percentile intervals (type 7, as msr-stats) ----------------------- */

static int
cmp_double (const void *x, const void *y)
{
  double a = *(const double *) x, b = *(const double *) y;

  return (a > b) - (a < b);
}

/* Over the non-NaN values; infinite values are ordered as such and never
 * interpolated into NaN. */
static MsrInterval
percentile_interval (const double *v, guint R, double level)
{
  MsrInterval ci = { NAN, NAN, 0 };
  g_autofree double *s = g_new (double, MAX (R, 1));
  guint k = 0;

  for (guint r = 0; r < R; r++)
    if (!isnan (v[r]))
      s[k++] = v[r];
  ci.n_defined = k;
  if (k == 0)
    return ci;
  qsort (s, k, sizeof (double), cmp_double);
  for (int side = 0; side < 2; side++)
    {
      const double q = side == 0 ? (1.0 - level) / 2.0 : (1.0 + level) / 2.0;
      const double h = (k - 1) * q;
      const guint lo = (guint) floor (h);
      const double frac = h - lo;
      double val = s[lo];

      if (lo + 1 < k && frac > 0 && s[lo + 1] != s[lo])
        {
          if (isinf (s[lo + 1]))
            val = s[lo + 1];
          else if (!isinf (s[lo]))
            val = s[lo] + frac * (s[lo + 1] - s[lo]);
        }
      if (side == 0)
        ci.lo = val;
      else
        ci.hi = val;
    }
  return ci;
}

/* ---- indicators ------------------------------------------------------------ */

/* Conflict ratio of loss and gain sums (see the header for the cases). */
static double
conflict_ratio (double gain, double loss)
{
  if (gain > 0)
    return loss / gain;
  if (loss > 0)
    return INFINITY;
  return NAN;
}

static MsrPareto
pareto_of (guint compared, guint gains, guint losses)
{
  if (compared == 0)
    return MSR_PARETO_UNDEFINED;
  if (gains > 0 && losses > 0)
    return MSR_PARETO_INCOMPARABLE;
  if (gains > 0)
    return MSR_PARETO_B_DOMINATES;
  if (losses > 0)
    return MSR_PARETO_A_DOMINATES;
  return MSR_PARETO_EQUAL;
}

static void
fill_row (MsrSeesawScenario *out, const MsrComparisonRow *r)
{
  out->name = r->name;
  out->n = r->n;
  out->positives = r->positives;
  out->auc_a = r->auc_a;
  out->auc_b = r->auc_b;
  out->delta = r->delta;
  out->relaimpr = r->relaimpr;
  out->ci_auc_a = r->ci_auc_a;
  out->ci_auc_b = r->ci_auc_b;
  out->ci_delta = r->ci_delta;
  out->ci_relaimpr = r->ci_relaimpr;
  out->tested = r->delong.defined;
  out->z = r->delong.defined ? r->delong.z : NAN;
  out->p = r->delong.defined ? r->delong.p : NAN;
  out->p_holm = NAN;
  out->outcome = MSR_SEESAW_TIE;
  out->has_gauc = r->has_gauc;
  out->gauc_a = r->has_gauc ? r->gauc_a : NAN;
  out->gauc_b = r->has_gauc ? r->gauc_b : NAN;
  out->gauc_delta = r->has_gauc ? r->gauc_delta : NAN;
  out->ci_gauc_delta = r->ci_gauc_delta;
}

static MsrSeesawOutcome
outcome_of (double p, double delta, double alpha)
{
  if (isnan (p) || isnan (delta) || !(p < alpha) || delta == 0.0)
    return MSR_SEESAW_TIE;
  return delta > 0 ? MSR_SEESAW_WIN : MSR_SEESAW_LOSS;
}

/* The means of Δ over the defined scenarios: macro and row-weighted. */
static void
delta_means (const double *delta, const guint64 *rows, const gboolean *use, guint S, double *macro,
             double *weighted)
{
  double sum = 0, wsum = 0, w = 0;
  guint k = 0;

  for (guint s = 0; s < S; s++)
    if (use[s])
      {
        sum += delta[s];
        wsum += (double) rows[s] * delta[s];
        w += (double) rows[s];
        k++;
      }
  *macro = k ? sum / k : NAN;
  *weighted = (k && w > 0) ? wsum / w : NAN;
}

MsrSeesaw *
msr_seesaw_compute (const double              *a,
                    const double              *b,
                    const guint8              *labels,
                    const guint32             *scenario,
                    const char * const        *scenario_names,
                    guint                      n_scenarios,
                    const guint32             *users,
                    gsize                      n,
                    const MsrSeesawOptions    *opts,
                    MsrProgressFunc            progress,
                    gpointer                   progress_data,
                    GCancellable              *cancellable,
                    GError                   **error)
{
  MsrSeesawOptions defaults;

  if (opts == NULL)
    {
      msr_seesaw_options_init (&defaults);
      opts = &defaults;
    }
  g_return_val_if_fail (n == 0 || (a != NULL && b != NULL && labels != NULL), NULL);
  if (scenario == NULL || n_scenarios == 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "the seesaw indicators need scenarios: no scenario column was given");
      return NULL;
    }
  if (!(opts->tau >= 0 && isfinite (opts->tau)))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "tau %g is not a finite number >= 0", opts->tau);
      return NULL;
    }
  if (!(opts->alpha > 0 && opts->alpha < 1))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "alpha %g is not between 0 and 1", opts->alpha);
      return NULL;
    }

  MsrComparison *cmp = msr_compare_paired (a, b, labels, scenario, scenario_names, n_scenarios, users, n,
                                           &opts->bootstrap, progress, progress_data, cancellable, error);
  if (cmp == NULL)
    return NULL;

  g_autoptr(MsrSeesaw) sw = g_new0 (MsrSeesaw, 1);
  const guint S = cmp->n_scenarios;
  sw->comparison = cmp;
  sw->tau = opts->tau;
  sw->alpha = opts->alpha;
  sw->replicates = cmp->replicates;
  sw->seed = cmp->seed;
  sw->level = cmp->level;
  sw->n_scenarios = S;
  /* Own copies of the names: the struct must not depend on the caller's. */
  sw->names = g_new0 (char *, S + 2);
  for (guint s = 0; s < S; s++)
    sw->names[s] = g_strdup (cmp->scenarios[s].name);
  sw->names[S] = g_strdup ("overall");
  sw->scenarios = g_new0 (MsrSeesawScenario, MAX (S, 1));
  for (guint s = 0; s < S; s++)
    {
      fill_row (&sw->scenarios[s], &cmp->scenarios[s]);
      sw->scenarios[s].name = sw->names[s];
    }
  fill_row (&sw->overall, &cmp->overall);
  sw->overall.name = sw->names[S];
  sw->overall.outcome = outcome_of (sw->overall.p, sw->overall.delta, opts->alpha);

  /* Holm over the tested scenarios, then the outcomes. */
  g_autofree double *p = g_new (double, MAX (S, 1));
  g_autofree double *p_holm = g_new (double, MAX (S, 1));
  for (guint s = 0; s < S; s++)
    p[s] = sw->scenarios[s].p;
  msr_holm_adjust (p, S, p_holm);

  g_autofree gboolean *defined = g_new0 (gboolean, MAX (S, 1));
  g_autofree gboolean *significant = g_new0 (gboolean, MAX (S, 1));
  g_autofree double *delta = g_new0 (double, MAX (S, 1));
  g_autofree guint64 *rows = g_new0 (guint64, MAX (S, 1));
  g_autofree double *dd = g_new0 (double, MAX (S, 1));
  g_autofree double *ln = g_new0 (double, MAX (S, 1));
  guint n_def = 0;

  sw->worst_delta = sw->worst_relaimpr = NAN;
  sw->worst_scenario = sw->worst_relaimpr_scenario = -1;
  for (guint s = 0; s < S; s++)
    {
      MsrSeesawScenario *row = &sw->scenarios[s];

      row->p_holm = p_holm[s];
      row->outcome = outcome_of (row->p_holm, row->delta, opts->alpha);
      if (!row->tested)
        sw->untested++;
      else if (row->outcome == MSR_SEESAW_WIN)
        sw->wins++;
      else if (row->outcome == MSR_SEESAW_LOSS)
        sw->losses++;
      else
        sw->ties++;
      if (row->outcome != MSR_SEESAW_TIE)
        {
          significant[s] = TRUE;
          if (row->delta > 0)
            sw->significant_gain_sum += row->delta;
          else
            sw->significant_loss_sum += -row->delta;
        }

      rows[s] = row->n;
      defined[s] = !isnan (row->delta);
      delta[s] = row->delta;
      if (!defined[s])
        continue;
      dd[n_def] = row->delta;
      ln[n_def] = log ((double) MAX (row->n, 1));
      n_def++;
      if (row->delta > opts->tau)
        sw->n_gain_tau++;
      if (row->delta < -opts->tau)
        sw->n_loss_tau++;
      if (sw->worst_scenario < 0 || row->delta < sw->worst_delta)
        {
          sw->worst_delta = row->delta;
          sw->worst_scenario = (int) s;
        }
      /* RelaImpr only orders models when A beats chance (AUC_A > 0.5):
       * below, a gain gives a negative value. */
      if (!isnan (row->relaimpr) && row->auc_a > 0.5
          && (sw->worst_relaimpr_scenario < 0 || row->relaimpr < sw->worst_relaimpr))
        {
          sw->worst_relaimpr = row->relaimpr;
          sw->worst_relaimpr_scenario = (int) s;
        }
    }
  sw->n_defined = n_def;

  /* 1, 2, 4: flags, conflict ratio, Pareto. */
  sw->seesaw_tau = sw->n_gain_tau > 0 && sw->n_loss_tau > 0;
  sw->seesaw_significant = sw->wins > 0 && sw->losses > 0;
  sw->conflict_ratio = conflict_ratio (sw->significant_gain_sum, sw->significant_loss_sum);
  sw->pareto = pareto_of (S - sw->untested, sw->wins, sw->losses);
  sw->pareto_tau = pareto_of (n_def, sw->n_gain_tau, sw->n_loss_tau);

  /* 5, 6: dominance gap and gain–size correlation. */
  delta_means (delta, rows, defined, S, &sw->macro_delta, &sw->weighted_delta);
  sw->dominance_gap = sw->weighted_delta - sw->macro_delta;
  sw->gain_size_spearman = msr_seesaw_spearman (dd, ln, n_def);

  /* Intervals from the replicates: the same formulas on each replicate's
   * Δ (scenario sizes are fixed by the stratified draw). */
  {
    const MsrInterval none = { NAN, NAN, 0 };
    const guint R = cmp->replicates;

    sw->ci_macro_delta = sw->ci_weighted_delta = sw->ci_dominance_gap = none;
    sw->ci_conflict_ratio = sw->ci_gain_size_spearman = none;
    if (R > 0 && n_def > 0)
      {
        g_autofree const double **rep = g_new0 (const double *, S);
        g_autofree double *macro = g_new (double, R), *weighted = g_new (double, R), *gap = g_new (double, R);
        g_autofree double *cr = g_new (double, R), *rho = g_new (double, R);
        g_autofree double *d_r = g_new (double, MAX (S, 1));
        g_autofree double *dd_r = g_new (double, MAX (S, 1));
        guint n_sig = 0;

        for (guint s = 0; s < S; s++)
          {
            rep[s] = msr_comparison_get_replicates (cmp, (int) s, MSR_STAT_DELTA);
            n_sig += significant[s];
          }
        for (guint r = 0; r < R; r++)
          {
            double gain = 0, loss = 0;
            guint k = 0;

            for (guint s = 0; s < S; s++)
              {
                d_r[s] = rep[s][r];
                if (defined[s])
                  dd_r[k++] = d_r[s];
                if (significant[s])
                  {
                    gain += MAX (d_r[s], 0.0);
                    loss += MAX (-d_r[s], 0.0);
                  }
              }
            delta_means (d_r, rows, defined, S, &macro[r], &weighted[r]);
            gap[r] = weighted[r] - macro[r];
            rho[r] = msr_seesaw_spearman (dd_r, ln, k);
            cr[r] = n_sig ? conflict_ratio (gain, loss) : NAN;
          }
        sw->ci_macro_delta = percentile_interval (macro, R, cmp->level);
        sw->ci_weighted_delta = percentile_interval (weighted, R, cmp->level);
        sw->ci_dominance_gap = percentile_interval (gap, R, cmp->level);
        sw->ci_gain_size_spearman = percentile_interval (rho, R, cmp->level);
        sw->ci_conflict_ratio = percentile_interval (cr, R, cmp->level);
      }
  }
  return g_steal_pointer (&sw);
}

/* ---- from the results store --------------------------------------------- */

static gboolean
split_from_string (const char *s, MsrSplit *out)
{
  for (int k = MSR_SPLIT_TRAIN; k <= MSR_SPLIT_TEST; k++)
    if (g_strcmp0 (s, msr_split_to_string ((MsrSplit) k)) == 0)
      {
        *out = (MsrSplit) k;
        return TRUE;
      }
  return FALSE;
}

/* The first 12 hex digits are enough to tell fingerprints apart in a message. */
static char *
short_fp (const char *fp)
{
  return fp ? g_strdup_printf ("%.12s…", fp) : g_strdup ("none");
}

MsrSeesaw *
msr_seesaw_from_runs (MsrResults               *results,
                      gint64                    run_a,
                      gint64                    run_b,
                      const MsrDataset         *ds,
                      const MsrSeesawOptions   *opts,
                      MsrProgressFunc           progress,
                      gpointer                  progress_data,
                      GCancellable             *cancellable,
                      GError                  **error)
{
  g_return_val_if_fail (results != NULL && ds != NULL, NULL);

  g_autoptr(MsrRunInfo) ia = msr_results_get_run (results, run_a, error);
  if (ia == NULL)
    return NULL;
  g_autoptr(MsrRunInfo) ib = msr_results_get_run (results, run_b, error);
  if (ib == NULL)
    return NULL;
  const MsrRunInfo *info[2] = { ia, ib };
  const gint64 id[2] = { run_a, run_b };
  for (int t = 0; t < 2; t++)
    if (!info[t]->has_predictions)
      {
        g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                     "run %" G_GINT64_FORMAT " has no stored predictions (evaluate the model again "
                     "with per-row scores recorded)", id[t]);
        return NULL;
      }
  if (g_strcmp0 (ia->dataset_fingerprint, ib->dataset_fingerprint) != 0)
    {
      g_autofree char *fa = short_fp (ia->dataset_fingerprint), *fb = short_fp (ib->dataset_fingerprint);
      g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH,
                   "runs %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT " were evaluated on different datasets "
                   "(fingerprints %s and %s)", run_a, run_b, fa, fb);
      return NULL;
    }
  const char *fp = msr_dataset_get_fingerprint (ds);
  for (int t = 0; t < 2; t++)
    if (g_strcmp0 (info[t]->dataset_fingerprint, fp) != 0)
      {
        g_autofree char *fr = short_fp (info[t]->dataset_fingerprint), *fd = short_fp (fp);
        g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH,
                     "run %" G_GINT64_FORMAT " was evaluated on another dataset than '%s' "
                     "(fingerprint %s, the dataset's is %s)", id[t], msr_dataset_get_name (ds), fr, fd);
        return NULL;
      }
  if (g_strcmp0 (ia->split, ib->split) != 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH,
                   "runs %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT " were evaluated on different splits "
                   "(%s and %s)", run_a, run_b, ia->split ? ia->split : "none", ib->split ? ib->split : "none");
      return NULL;
    }
  MsrSplit split;
  if (!split_from_string (ia->split, &split))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "run %" G_GINT64_FORMAT " names no dataset split ('%s'; expected train, valid or test)",
                   run_a, ia->split ? ia->split : "");
      return NULL;
    }

  /* The split's rows in ascending order: the order predictions are stored in. */
  const gsize N = msr_dataset_get_n_rows (ds);
  const guint8 *spl = msr_dataset_get_splits (ds);
  gsize n = 0;
  for (gsize r = 0; r < N; r++)
    n += spl[r] == split;
  if (n == 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "the %s split of dataset '%s' has no rows",
                   ia->split, msr_dataset_get_name (ds));
      return NULL;
    }

  g_autoptr(MsrResultsPredictions) pa = msr_results_get_predictions (results, run_a, error);
  if (pa == NULL)
    return NULL;
  g_autoptr(MsrResultsPredictions) pb = msr_results_get_predictions (results, run_b, error);
  if (pb == NULL)
    return NULL;
  const MsrResultsPredictions *pred[2] = { pa, pb };
  for (int t = 0; t < 2; t++)
    if (pred[t]->n != n)
      {
        g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH,
                     "run %" G_GINT64_FORMAT " has %" G_GSIZE_FORMAT " stored scores but the %s split of "
                     "dataset '%s' has %" G_GSIZE_FORMAT " rows", id[t], pred[t]->n, ia->split,
                     msr_dataset_get_name (ds), n);
        return NULL;
      }

  const guint8 *labels = msr_dataset_get_labels (ds);
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  const guint uf = msr_dataset_get_user_field (ds);
  const gint32 *ucodes = msr_dataset_get_field_codes (ds, uf);
  g_autofree double *sa = g_new (double, n), *sb = g_new (double, n);
  g_autofree guint8 *y = g_new (guint8, n);
  g_autofree guint32 *sc = g_new (guint32, n), *us = g_new (guint32, n);
  gsize i = 0;
  for (gsize r = 0; r < N; r++)
    {
      if (spl[r] != split)
        continue;
      y[i] = labels[r] ? 1 : 0;
      for (int t = 0; t < 2; t++)
        if (pred[t]->labels && (pred[t]->labels[i] != 0) != (y[i] != 0))
          {
            g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH,
                         "run %" G_GINT64_FORMAT ": stored label of row %" G_GSIZE_FORMAT " of the %s split "
                         "differs from the dataset's", id[t], i, ia->split);
            return NULL;
          }
      sa[i] = pa->scores[i];
      sb[i] = pb->scores[i];
      sc[i] = scen[r];
      us[i] = (guint32) ucodes[r];
      i++;
    }

  const guint S = msr_dataset_get_n_scenarios (ds);
  g_autofree const char **names = g_new0 (const char *, S + 1);
  for (guint s = 0; s < S; s++)
    names[s] = msr_dataset_get_scenario_name (ds, s);
  g_autoptr(GError) local = NULL;
  MsrSeesaw *sw = msr_seesaw_compute (sa, sb, y, sc, names, S, us, n, opts, progress, progress_data, cancellable,
                                      &local);
  if (sw == NULL)
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_propagate_prefixed_error (error, g_steal_pointer (&local),
                                    "runs %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT ": ", run_a, run_b);
    }
  return sw;
}

/* ---- multi-seed summary ---------------------------------------------------- */

void
msr_seesaw_seeds_free (MsrSeesawSeeds *seeds)
{
  if (seeds == NULL)
    return;
  g_free (seeds->runs_a);
  g_free (seeds->runs_b);
  g_free (seeds->pairs);
  for (guint s = 0; s < seeds->n_scenarios; s++)
    g_free (seeds->scenarios[s].name);
  g_free (seeds->scenarios);
  g_free (seeds->overall.name);
  g_free (seeds);
}

/* Training hyperparameters that make two trainings different models; the
 * rest of the "training" member (seed, threads, the log, the outcome) may
 * differ between seeds. */
static const char *const TRAINING_KEYS[] = {
  "optimizer", "lr", "weight_decay", "epochs", "batch_size", "patience", NULL
};

typedef struct {
  const MsrRunInfo *info;
  JsonNode         *key;       /* the configuration without the seed; NULL without config */
  gboolean          has_seed;
  guint64           seed;
  guint             order;     /* creation order (0 = oldest) */
} Candidate;

static void
candidate_clear (Candidate *c)
{
  if (c->key)
    json_node_unref (c->key);
}

/* Parses config_json: the comparison key and the training seed. */
static void
candidate_init (Candidate *c, const MsrRunInfo *info, guint order)
{
  memset (c, 0, sizeof *c);
  c->info = info;
  c->order = order;
  if (info->config_json == NULL)
    return;
  g_autoptr(JsonNode) root = msr_json_from_string (info->config_json, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;
  JsonObject *o = json_node_get_object (root);
  JsonObject *training = json_object_has_member (o, "training") ? json_object_get_object_member (o, "training")
                                                                 : NULL;
  g_autoptr(JsonObject) kept = json_object_new ();
  if (training)
    {
      JsonNode *seed = json_object_get_member (training, "seed");
      if (seed && JSON_NODE_HOLDS_VALUE (seed) && json_node_get_value_type (seed) == G_TYPE_INT64
          && json_node_get_int (seed) >= 0)
        {
          c->has_seed = TRUE;
          c->seed = (guint64) json_node_get_int (seed);
        }
      for (int k = 0; TRAINING_KEYS[k]; k++)
        if (json_object_has_member (training, TRAINING_KEYS[k]))
          json_object_set_member (kept, TRAINING_KEYS[k],
                                  json_node_copy (json_object_get_member (training, TRAINING_KEYS[k])));
    }
  /* A copy of the configuration with "training" reduced to its hyperparameters. */
  JsonNode *copy = json_node_copy (root);
  JsonObject *co = json_node_get_object (copy);
  json_object_remove_member (co, "training");
  json_object_set_object_member (co, "training", g_steal_pointer (&kept));
  c->key = copy;
}

static gboolean
is_like (const Candidate *c, const Candidate *ref)
{
  if (c->info->id == ref->info->id)
    return TRUE;
  if (g_strcmp0 (ref->info->kind, "eval") != 0 || g_strcmp0 (c->info->kind, "eval") != 0)
    return FALSE;
  if (!c->info->has_metrics || c->key == NULL || ref->key == NULL)
    return FALSE;
  if (c->info->split == NULL || g_strcmp0 (c->info->split, ref->info->split) != 0)
    return FALSE;
  if (c->info->dataset_fingerprint == NULL
      || g_strcmp0 (c->info->dataset_fingerprint, ref->info->dataset_fingerprint) != 0)
    return FALSE;
  if (g_strcmp0 (c->info->architecture, ref->info->architecture) != 0)
    return FALSE;
  return json_node_equal (c->key, ref->key);
}

/* The like runs of ref in creation order, one per model file (the given run
 * stands for its own file; otherwise the oldest evaluation of a file). */
static GPtrArray *
like_runs (Candidate *all, guint n_all, Candidate *ref, gboolean only_ref)
{
  GPtrArray *out = g_ptr_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  if (ref->info->model_sha256)
    g_hash_table_add (seen, ref->info->model_sha256);
  for (guint i = 0; i < n_all; i++)
    {
      Candidate *c = &all[i];

      if (c->info->id == ref->info->id)
        {
          g_ptr_array_add (out, c);
          continue;
        }
      if (only_ref || !is_like (c, ref))
        continue;
      if (c->info->model_sha256)
        {
          if (g_hash_table_contains (seen, c->info->model_sha256))
            continue;
          g_hash_table_add (seen, c->info->model_sha256);
        }
      g_ptr_array_add (out, c);
    }
  return out;
}

static double
scope_auc (const MsrResultsMetrics *m, MsrResultsScope scope, const char *name)
{
  const MsrResultsScopeMetrics *sm = msr_results_metrics_find (m, scope, name);

  return (sm && sm->metrics.auc_defined) ? sm->metrics.auc : NAN;
}

static void
mean_std (const double *v, guint k, double *mean, double *std)
{
  double sum = 0, ss = 0;

  *mean = *std = NAN;
  if (k == 0)
    return;
  for (guint i = 0; i < k; i++)
    sum += v[i];
  *mean = sum / k;
  if (k < 2 || isnan (*mean))
    return;
  for (guint i = 0; i < k; i++)
    ss += (v[i] - *mean) * (v[i] - *mean);
  *std = sqrt (ss / (k - 1));
}

static void
fill_seed_row (MsrSeesawSeedRow *row, const char *name, MsrResultsScope scope, GPtrArray *ma, GPtrArray *mb,
               const guint *pair_a, const guint *pair_b, guint k)
{
  g_autofree double *va = g_new (double, MAX (ma->len, 1));
  g_autofree double *vb = g_new (double, MAX (mb->len, 1));
  g_autofree double *vd = g_new (double, MAX (k, 1));

  row->name = g_strdup (name);
  for (guint i = 0; i < ma->len; i++)
    va[i] = scope_auc (g_ptr_array_index (ma, i), scope, name);
  for (guint i = 0; i < mb->len; i++)
    vb[i] = scope_auc (g_ptr_array_index (mb, i), scope, name);
  for (guint j = 0; j < k; j++)
    vd[j] = vb[pair_b[j]] - va[pair_a[j]];
  row->n_a = ma->len;
  row->n_b = mb->len;
  row->k = k;
  mean_std (va, ma->len, &row->auc_a_mean, &row->auc_a_std);
  mean_std (vb, mb->len, &row->auc_b_mean, &row->auc_b_std);
  mean_std (vd, k, &row->delta_mean, &row->delta_std);
}

MsrSeesawSeeds *
msr_seesaw_seed_summary (MsrResults  *results,
                         gint64       run_a,
                         gint64       run_b,
                         GError     **error)
{
  g_return_val_if_fail (results != NULL, NULL);

  g_autoptr(MsrRunInfo) ia = msr_results_get_run (results, run_a, error);
  if (ia == NULL)
    return NULL;
  g_autoptr(MsrRunInfo) ib = msr_results_get_run (results, run_b, error);
  if (ib == NULL)
    return NULL;
  for (int t = 0; t < 2; t++)
    if (!(t ? ib : ia)->has_metrics)
      {
        g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "run %" G_GINT64_FORMAT " has no stored metrics",
                     t ? run_b : run_a);
        return NULL;
      }
  g_autoptr(GPtrArray) runs = msr_results_list_runs (results, error);
  if (runs == NULL)
    return NULL;

  /* Newest first in the store: reverse for creation order. */
  const guint N = runs->len;
  g_autofree Candidate *cand = g_new0 (Candidate, MAX (N, 1));
  int ref_a = -1, ref_b = -1;
  for (guint i = 0; i < N; i++)
    {
      const MsrRunInfo *info = g_ptr_array_index (runs, N - 1 - i);
      candidate_init (&cand[i], info, i);
      if (info->id == run_a)
        ref_a = (int) i;
      if (info->id == run_b)
        ref_b = (int) i;
    }
  if (ref_a < 0 || ref_b < 0)
    {
      for (guint i = 0; i < N; i++)
        candidate_clear (&cand[i]);
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "run %" G_GINT64_FORMAT " is not listed in the store",
                   ref_a < 0 ? run_a : run_b);
      return NULL;
    }

  g_autoptr(MsrSeesawSeeds) out = g_new0 (MsrSeesawSeeds, 1);
  out->run_a = run_a;
  out->run_b = run_b;
  /* When B is itself a seed of A's configuration the two sides would be the
   * same set of runs: compare the two given runs only. */
  out->same_configuration = run_a == run_b || is_like (&cand[ref_b], &cand[ref_a]);
  g_autoptr(GPtrArray) la = like_runs (cand, N, &cand[ref_a], out->same_configuration);
  g_autoptr(GPtrArray) lb = like_runs (cand, N, &cand[ref_b], out->same_configuration);

  out->n_runs_a = la->len;
  out->n_runs_b = lb->len;
  out->runs_a = g_new (gint64, MAX (la->len, 1));
  out->runs_b = g_new (gint64, MAX (lb->len, 1));
  for (guint i = 0; i < la->len; i++)
    out->runs_a[i] = ((Candidate *) g_ptr_array_index (la, i))->info->id;
  for (guint i = 0; i < lb->len; i++)
    out->runs_b[i] = ((Candidate *) g_ptr_array_index (lb, i))->info->id;

  /* Pairs: equal training seeds first (in A's creation order), then the
   * remaining runs of both sides zipped in creation order. */
  const guint k = MIN (la->len, lb->len);
  g_autofree guint *pair_a = g_new (guint, MAX (k, 1)), *pair_b = g_new (guint, MAX (k, 1));
  g_autofree gboolean *used_a = g_new0 (gboolean, MAX (la->len, 1));
  g_autofree gboolean *used_b = g_new0 (gboolean, MAX (lb->len, 1));
  g_autofree gboolean *by_seed = g_new0 (gboolean, MAX (k, 1));
  guint np = 0, n_seed = 0;
  for (guint i = 0; i < la->len; i++)
    {
      const Candidate *ca = g_ptr_array_index (la, i);
      if (!ca->has_seed)
        continue;
      for (guint j = 0; j < lb->len; j++)
        {
          const Candidate *cb = g_ptr_array_index (lb, j);
          if (!used_b[j] && cb->has_seed && cb->seed == ca->seed)
            {
              used_a[i] = used_b[j] = TRUE;
              pair_a[np] = i;
              pair_b[np] = j;
              by_seed[np] = TRUE;
              np++;
              n_seed++;
              break;
            }
        }
    }
  for (guint i = 0, j = 0; np < k; i++, j++)
    {
      while (used_a[i])
        i++;
      while (used_b[j])
        j++;
      pair_a[np] = i;
      pair_b[np] = j;
      by_seed[np] = FALSE;
      np++;
    }
  out->k = k;
  out->pairing = n_seed == k ? MSR_SEESAW_PAIRING_SEED
               : n_seed == 0 ? MSR_SEESAW_PAIRING_CREATION : MSR_SEESAW_PAIRING_MIXED;
  out->pairs = g_new0 (MsrSeesawSeedPair, MAX (k, 1));
  for (guint j = 0; j < k; j++)
    {
      const Candidate *ca = g_ptr_array_index (la, pair_a[j]);
      const Candidate *cb = g_ptr_array_index (lb, pair_b[j]);
      out->pairs[j] = (MsrSeesawSeedPair) { ca->info->id, cb->info->id, by_seed[j], ca->has_seed, cb->has_seed,
                                            ca->seed, cb->seed };
    }

  /* The stored metrics of every run used. */
  g_autoptr(GPtrArray) ma = g_ptr_array_new_with_free_func ((GDestroyNotify) msr_results_metrics_free);
  g_autoptr(GPtrArray) mb = g_ptr_array_new_with_free_func ((GDestroyNotify) msr_results_metrics_free);
  gboolean ok = TRUE;
  for (int t = 0; t < 2 && ok; t++)
    {
      GPtrArray *src = t ? lb : la;
      for (guint i = 0; i < src->len && ok; i++)
        {
          MsrResultsMetrics *m = msr_results_get_metrics (results, ((Candidate *) g_ptr_array_index (src, i))->info->id,
                                                          error);
          if (m == NULL)
            ok = FALSE;
          else
            g_ptr_array_add (t ? mb : ma, m);
        }
    }
  for (guint i = 0; i < N; i++)
    candidate_clear (&cand[i]);
  if (!ok)
    return NULL;

  /* Scenarios in the order stored for run_a. */
  const MsrResultsMetrics *m0 = g_ptr_array_index (ma, 0);
  for (guint i = 0; i < la->len; i++)
    if (((Candidate *) g_ptr_array_index (la, i))->info->id == run_a)
      m0 = g_ptr_array_index (ma, i);
  guint S = 0;
  for (guint i = 0; i < m0->n_scopes; i++)
    S += m0->scopes[i].scope == MSR_RESULTS_SCOPE_SCENARIO;
  out->n_scenarios = S;
  out->scenarios = g_new0 (MsrSeesawSeedRow, MAX (S, 1));
  guint s = 0;
  for (guint i = 0; i < m0->n_scopes; i++)
    if (m0->scopes[i].scope == MSR_RESULTS_SCOPE_SCENARIO)
      fill_seed_row (&out->scenarios[s++], m0->scopes[i].scenario, MSR_RESULTS_SCOPE_SCENARIO, ma, mb, pair_a,
                     pair_b, k);
  fill_seed_row (&out->overall, "overall", MSR_RESULTS_SCOPE_OVERALL, ma, mb, pair_a, pair_b, k);
  return g_steal_pointer (&out);
}

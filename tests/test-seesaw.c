/* The seesaw indicators (engine/msr-seesaw.c) against hand-built cases,
 * brute-force definitions and a real results store; the CLI end to end. */
#include "config.h"
#include "msr-seesaw.h"
#include "msr-results.h"
#include "msr-stats.h"
#include "msr-tabular.h"
#include "test-util.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- data ---------------------------------------------------------------- */

/* A small deterministic generator (independent of the engine's). */
typedef struct {
  guint64 s;
} Lcg;

static double
lcg_uniform (Lcg *g)
{
  g->s = g->s * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double) (g->s >> 11) / 9007199254740992.0;
}

typedef struct {
  gsize    n;
  guint    S;
  double  *a, *b;
  guint8  *y;
  guint32 *scen;
  char   **names;
} Data;

static void
data_free (Data *d)
{
  g_free (d->a);
  g_free (d->b);
  g_free (d->y);
  g_free (d->scen);
  g_strfreev (d->names);
  g_free (d);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Data, data_free)

/* Scenario s has sizes[s] rows, about 30% positives; a score is U(0,1)
 * noise plus sig[s] for positives, so AUC = 1 − (1 − sig)²/2 in
 * expectation. A and B draw independent noise. */
static Data *
make_data (const guint *sizes, guint S, const double *sig_a, const double *sig_b, guint64 seed)
{
  Data *d = g_new0 (Data, 1);
  Lcg g = { seed };

  for (guint s = 0; s < S; s++)
    d->n += sizes[s];
  d->S = S;
  d->a = g_new (double, d->n);
  d->b = g_new (double, d->n);
  d->y = g_new (guint8, d->n);
  d->scen = g_new (guint32, d->n);
  d->names = g_new0 (char *, S + 1);
  gsize i = 0;
  for (guint s = 0; s < S; s++)
    {
      d->names[s] = g_strdup_printf ("s%u", s);
      for (guint k = 0; k < sizes[s]; k++, i++)
        {
          d->y[i] = lcg_uniform (&g) < 0.3;
          d->scen[i] = s;
          d->a[i] = lcg_uniform (&g) + (d->y[i] ? sig_a[s] : 0);
          d->b[i] = lcg_uniform (&g) + (d->y[i] ? sig_b[s] : 0);
        }
    }
  /* Interleave scenarios (row order must not matter). */
  for (gsize k = d->n - 1; k > 0; k--)
    {
      gsize j = (gsize) (lcg_uniform (&g) * (k + 1));
      double ta = d->a[k], tb = d->b[k];
      guint8 ty = d->y[k];
      guint32 ts = d->scen[k];
      d->a[k] = d->a[j], d->b[k] = d->b[j], d->y[k] = d->y[j], d->scen[k] = d->scen[j];
      d->a[j] = ta, d->b[j] = tb, d->y[j] = ty, d->scen[j] = ts;
    }
  return d;
}

/* O(mn) AUC of the rows of scenario s (s < 0: all rows). */
static double
bf_auc (const double *x, const guint8 *y, const guint32 *scen, gsize n, int s)
{
  double num = 0;
  guint64 m = 0, nn = 0;

  for (gsize i = 0; i < n; i++)
    {
      if ((s >= 0 && scen[i] != (guint32) s) || !y[i])
        continue;
      m++;
      for (gsize j = 0; j < n; j++)
        {
          if ((s >= 0 && scen[j] != (guint32) s) || y[j])
            continue;
          num += x[i] > x[j] ? 1.0 : x[i] == x[j] ? 0.5 : 0.0;
        }
    }
  for (gsize j = 0; j < n; j++)
    if ((s < 0 || scen[j] == (guint32) s) && !y[j])
      nn++;
  return (m && nn) ? num / ((double) m * (double) nn) : NAN;
}

static guint64
rows_of (const Data *d, guint s)
{
  guint64 k = 0;
  for (gsize i = 0; i < d->n; i++)
    k += d->scen[i] == s;
  return k;
}

static MsrSeesaw *
run_seesaw (const Data *d, guint replicates, double tau, double alpha)
{
  MsrSeesawOptions o;
  msr_seesaw_options_init (&o);
  o.bootstrap.replicates = replicates;
  o.bootstrap.seed = 7;
  o.bootstrap.threads = 1;
  o.tau = tau;
  o.alpha = alpha;
  g_autoptr(GError) error = NULL;
  MsrSeesaw *sw = msr_seesaw_compute (d->a, d->b, d->y, d->scen, (const char * const *) d->names, d->S, NULL, d->n,
                                      &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (sw);
  return sw;
}

/* Type-7 percentile interval of the non-NaN values, written out here. */
static void
bf_interval (const double *v, guint R, double level, double *lo, double *hi)
{
  g_autofree double *s = g_new (double, R);
  guint k = 0;
  for (guint r = 0; r < R; r++)
    if (!isnan (v[r]))
      s[k++] = v[r];
  /* insertion sort: R is small */
  for (guint i = 1; i < k; i++)
    for (guint j = i; j > 0 && s[j - 1] > s[j]; j--)
      {
        double t = s[j];
        s[j] = s[j - 1];
        s[j - 1] = t;
      }
  g_assert_cmpuint (k, >, 0);
  double q[2] = { (1 - level) / 2, (1 + level) / 2 }, out[2];
  for (int t = 0; t < 2; t++)
    {
      double h = (k - 1) * q[t];
      guint f = (guint) floor (h);
      out[t] = f + 1 < k ? s[f] + (h - f) * (s[f + 1] - s[f]) : s[f];
    }
  *lo = out[0];
  *hi = out[1];
}

/* ---- (1) B better everywhere ------------------------------------------- */

static void
test_dominates (void)
{
  const guint sizes[] = { 600, 400, 300 };
  const double sa[] = { 0.2, 0.2, 0.2 }, sb[] = { 0.6, 0.6, 0.6 };
  g_autoptr(Data) d = make_data (sizes, 3, sa, sb, 1);
  g_autoptr(MsrSeesaw) sw = run_seesaw (d, 0, 0.001, 0.05);

  double worst = INFINITY;
  int worst_s = -1;
  for (guint s = 0; s < 3; s++)
    {
      const double delta = bf_auc (d->b, d->y, d->scen, d->n, (int) s) - bf_auc (d->a, d->y, d->scen, d->n, (int) s);
      g_assert_cmpfloat_with_epsilon (sw->scenarios[s].delta, delta, 1e-12);
      g_assert_cmpfloat (delta, >, 0.1);
      g_assert_true (sw->scenarios[s].tested);
      g_assert_cmpint (sw->scenarios[s].outcome, ==, MSR_SEESAW_WIN);
      g_assert_cmpuint (sw->scenarios[s].n, ==, sizes[s]);
      if (delta < worst)
        worst = delta, worst_s = (int) s;
    }
  g_assert_cmpuint (sw->wins, ==, 3);
  g_assert_cmpuint (sw->ties + sw->losses + sw->untested, ==, 0);
  g_assert_false (sw->seesaw_tau);
  g_assert_false (sw->seesaw_significant);
  g_assert_cmpfloat (sw->conflict_ratio, ==, 0.0);
  g_assert_cmpint (sw->pareto, ==, MSR_PARETO_B_DOMINATES);
  g_assert_cmpint (sw->pareto_tau, ==, MSR_PARETO_B_DOMINATES);
  g_assert_cmpstr (msr_pareto_to_string (sw->pareto), ==, "b_dominates");
  g_assert_cmpint (sw->worst_scenario, ==, worst_s);
  g_assert_cmpfloat_with_epsilon (sw->worst_delta, worst, 1e-12);
  g_assert_cmpint (sw->overall.outcome, ==, MSR_SEESAW_WIN);
  g_assert_true (isnan (sw->overall.p_holm));
  /* No replicates: no intervals. */
  g_assert_cmpuint (sw->ci_dominance_gap.n_defined, ==, 0);
  g_assert_true (isnan (sw->ci_dominance_gap.lo));

  /* A below chance in scenario 0: B gains there but its RelaImpr is
   * negative; the worst RelaImpr is taken over scenarios 1 and 2 only. */
  {
    g_autofree double *neg = g_memdup2 (d->a, d->n * sizeof (double));
    for (gsize i = 0; i < d->n; i++)
      if (d->scen[i] == 0)
        neg[i] = -neg[i];
    g_autoptr(GError) e = NULL;
    g_autoptr(MsrSeesaw) sn = msr_seesaw_compute (neg, d->b, d->y, d->scen, (const char * const *) d->names, 3, NULL,
                                                  d->n, &(MsrSeesawOptions) { 0.001, 0.05, { 0, 1, 0.95, 1 } }, NULL,
                                                  NULL, NULL, &e);
    g_assert_no_error (e);
    g_assert_cmpfloat (sn->scenarios[0].auc_a, <, 0.5);
    g_assert_cmpfloat (sn->scenarios[0].delta, >, 0);
    g_assert_cmpfloat (sn->scenarios[0].relaimpr, <, 0);
    double best = INFINITY;
    int best_s = -1;
    for (int s = 1; s < 3; s++)
      {
        const double aa = bf_auc (d->a, d->y, d->scen, d->n, s), ab = bf_auc (d->b, d->y, d->scen, d->n, s);
        const double ri = ((ab - 0.5) / (aa - 0.5) - 1) * 100;
        if (ri < best)
          best = ri, best_s = s;
      }
    g_assert_cmpint (sn->worst_relaimpr_scenario, ==, best_s);
    g_assert_cmpfloat_with_epsilon (sn->worst_relaimpr, best, 1e-9);
  }

  /* Swapping the roles: A dominates, B only loses, CR = +inf. */
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrSeesaw) rev = msr_seesaw_compute (d->b, d->a, d->y, d->scen, (const char * const *) d->names, 3, NULL,
                                                 d->n, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rev->losses, ==, 3);
  g_assert_cmpint (rev->pareto, ==, MSR_PARETO_A_DOMINATES);
  g_assert_true (isinf (rev->conflict_ratio) && rev->conflict_ratio > 0);
  g_assert_cmpuint (rev->replicates, ==, 1000);   /* defaults */
  g_assert_cmpfloat (rev->tau, ==, 0.001);
  g_assert_cmpfloat (rev->alpha, ==, 0.05);
}

/* ---- (2) a planted seesaw --------------------------------------------- */

static void
test_planted (void)
{
  /* Two big scenarios gain (the bigger more), the small one loses. */
  const guint sizes[] = { 3000, 1500, 300 };
  const double sa[] = { 0.2, 0.2, 0.7 }, sb[] = { 0.7, 0.5, 0.2 };
  g_autoptr(Data) d = make_data (sizes, 3, sa, sb, 2);
  const guint R = 200;
  g_autoptr(MsrSeesaw) sw = run_seesaw (d, R, 0.001, 0.05);

  double delta[3], gain = 0, loss = 0, wsum = 0, w = 0, msum = 0;
  for (guint s = 0; s < 3; s++)
    {
      delta[s] = bf_auc (d->b, d->y, d->scen, d->n, (int) s) - bf_auc (d->a, d->y, d->scen, d->n, (int) s);
      g_assert_cmpfloat_with_epsilon (sw->scenarios[s].delta, delta[s], 1e-12);
      if (delta[s] > 0)
        gain += delta[s];
      else
        loss += -delta[s];
      wsum += rows_of (d, s) * delta[s];
      w += rows_of (d, s);
      msum += delta[s];
    }
  g_assert_cmpfloat (delta[0], >, delta[1]);
  g_assert_cmpfloat (delta[1], >, 0.05);
  g_assert_cmpfloat (delta[2], <, -0.05);

  g_assert_true (sw->seesaw_tau);
  g_assert_true (sw->seesaw_significant);
  g_assert_cmpuint (sw->n_gain_tau, ==, 2);
  g_assert_cmpuint (sw->n_loss_tau, ==, 1);
  g_assert_cmpuint (sw->wins, ==, 2);
  g_assert_cmpuint (sw->losses, ==, 1);
  g_assert_cmpint (sw->scenarios[2].outcome, ==, MSR_SEESAW_LOSS);
  g_assert_cmpfloat_with_epsilon (sw->conflict_ratio, loss / gain, 1e-12);
  g_assert_cmpfloat_with_epsilon (sw->significant_gain_sum, gain, 1e-12);
  g_assert_cmpfloat_with_epsilon (sw->significant_loss_sum, loss, 1e-12);
  g_assert_cmpint (sw->pareto, ==, MSR_PARETO_INCOMPARABLE);
  g_assert_cmpint (sw->pareto_tau, ==, MSR_PARETO_INCOMPARABLE);
  g_assert_cmpint (sw->worst_scenario, ==, 2);
  g_assert_cmpfloat_with_epsilon (sw->worst_delta, delta[2], 1e-12);
  g_assert_cmpint (sw->worst_relaimpr_scenario, ==, 2);
  const double gap = wsum / w - msum / 3;
  g_assert_cmpfloat (gap, >, 0);
  g_assert_cmpfloat_with_epsilon (sw->dominance_gap, gap, 1e-12);
  g_assert_cmpfloat_with_epsilon (sw->macro_delta, msum / 3, 1e-12);
  g_assert_cmpfloat_with_epsilon (sw->weighted_delta, wsum / w, 1e-12);
  g_assert_cmpfloat (sw->gain_size_spearman, ==, 1.0);

  /* The intervals: the same formulas on the comparison's replicate Δs. */
  const MsrComparison *cmp = msr_seesaw_get_comparison (sw);
  g_assert_cmpuint (cmp->replicates, ==, R);
  g_autofree double *gap_r = g_new (double, R), *macro_r = g_new (double, R), *cr_r = g_new (double, R);
  g_autofree double *rho_r = g_new (double, R);
  for (guint r = 0; r < R; r++)
    {
      double dr[3], ws = 0, ms = 0, g = 0, l = 0;
      for (guint s = 0; s < 3; s++)
        {
          dr[s] = msr_comparison_get_replicates (cmp, (int) s, MSR_STAT_DELTA)[r];
          ws += rows_of (d, s) * dr[s];
          ms += dr[s];
          g += MAX (dr[s], 0);
          l += MAX (-dr[s], 0);
        }
      macro_r[r] = ms / 3;
      gap_r[r] = ws / w - ms / 3;
      cr_r[r] = l / g;
      /* sizes decrease with s: Spearman = +1 when Δ decreases, −1 when it increases */
      rho_r[r] = (dr[0] > dr[1] && dr[1] > dr[2]) ? 1.0 : NAN;
    }
  double lo, hi;
  bf_interval (gap_r, R, 0.95, &lo, &hi);
  g_assert_cmpfloat_with_epsilon (sw->ci_dominance_gap.lo, lo, 1e-12);
  g_assert_cmpfloat_with_epsilon (sw->ci_dominance_gap.hi, hi, 1e-12);
  g_assert_cmpuint (sw->ci_dominance_gap.n_defined, ==, R);
  g_assert_cmpfloat (lo, >, 0);
  bf_interval (macro_r, R, 0.95, &lo, &hi);
  g_assert_cmpfloat_with_epsilon (sw->ci_macro_delta.lo, lo, 1e-12);
  g_assert_cmpfloat_with_epsilon (sw->ci_macro_delta.hi, hi, 1e-12);
  bf_interval (cr_r, R, 0.95, &lo, &hi);
  g_assert_cmpfloat_with_epsilon (sw->ci_conflict_ratio.lo, lo, 1e-12);
  g_assert_cmpfloat_with_epsilon (sw->ci_conflict_ratio.hi, hi, 1e-12);
  g_assert_cmpfloat (lo, <=, sw->conflict_ratio);
  g_assert_cmpfloat (hi, >=, sw->conflict_ratio);
  /* With effects this large, every replicate keeps the monotone pattern. */
  g_assert_cmpuint (sw->ci_gain_size_spearman.n_defined, ==, R);
  g_assert_cmpfloat (sw->ci_gain_size_spearman.lo, ==, 1.0);
  for (guint r = 0; r < R; r++)
    g_assert_cmpfloat (rho_r[r], ==, 1.0);

  /* Per-scenario intervals are msr_compare_paired's with the same options. */
  MsrBootstrapOptions bo;
  msr_bootstrap_options_init (&bo);
  bo.replicates = R;
  bo.seed = 7;
  bo.threads = 2;
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrComparison) ref = msr_compare_paired (d->a, d->b, d->y, d->scen, (const char * const *) d->names, 3,
                                                     NULL, d->n, &bo, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint s = 0; s < 3; s++)
    {
      g_assert_cmpfloat (sw->scenarios[s].ci_delta.lo, ==, ref->scenarios[s].ci_delta.lo);
      g_assert_cmpfloat (sw->scenarios[s].ci_delta.hi, ==, ref->scenarios[s].ci_delta.hi);
      g_assert_cmpfloat (sw->scenarios[s].relaimpr, ==, ref->scenarios[s].relaimpr);
    }
}

/* ---- (3) identical models ---------------------------------------------- */

static void
test_identical (void)
{
  const guint sizes[] = { 500, 200, 100, 50 };
  const double sa[] = { 0.3, 0.1, 0.5, 0.2 };
  g_autoptr(Data) d = make_data (sizes, 4, sa, sa, 3);
  memcpy (d->b, d->a, d->n * sizeof (double));
  g_autoptr(MsrSeesaw) sw = run_seesaw (d, 50, 0.001, 0.05);

  for (guint s = 0; s < 4; s++)
    {
      g_assert_cmpfloat (sw->scenarios[s].delta, ==, 0.0);
      g_assert_cmpfloat (sw->scenarios[s].p, ==, 1.0);
      g_assert_cmpint (sw->scenarios[s].outcome, ==, MSR_SEESAW_TIE);
      g_assert_cmpfloat (sw->scenarios[s].ci_delta.lo, ==, 0.0);
      g_assert_cmpfloat (sw->scenarios[s].ci_delta.hi, ==, 0.0);
    }
  g_assert_cmpuint (sw->ties, ==, 4);
  g_assert_cmpuint (sw->wins + sw->losses + sw->untested, ==, 0);
  g_assert_false (sw->seesaw_tau);
  g_assert_false (sw->seesaw_significant);
  g_assert_cmpint (sw->pareto, ==, MSR_PARETO_EQUAL);
  g_assert_cmpint (sw->pareto_tau, ==, MSR_PARETO_EQUAL);
  g_assert_true (isnan (sw->conflict_ratio));
  g_assert_cmpuint (sw->ci_conflict_ratio.n_defined, ==, 0);
  g_assert_cmpfloat (sw->dominance_gap, ==, 0.0);
  g_assert_cmpfloat (sw->worst_delta, ==, 0.0);
  g_assert_true (isnan (sw->gain_size_spearman));   /* Δ constant */
  g_assert_cmpuint (sw->ci_gain_size_spearman.n_defined, ==, 0);
  g_assert_cmpfloat (sw->overall.delta, ==, 0.0);
  g_assert_cmpint (sw->overall.outcome, ==, MSR_SEESAW_TIE);
}

/* ---- (4) Spearman with ties -------------------------------------------- */

static double
bf_spearman (const double *x, const double *y, gsize n)
{
  g_autofree double *rx = g_new (double, n), *ry = g_new (double, n);
  /* rank = 1 + #smaller + (#equal others)/2 */
  for (gsize i = 0; i < n; i++)
    {
      double lx = 0, ex = 0, ly = 0, ey = 0;
      for (gsize j = 0; j < n; j++)
        {
          lx += x[j] < x[i];
          ex += x[j] == x[i] && j != i;
          ly += y[j] < y[i];
          ey += y[j] == y[i] && j != i;
        }
      rx[i] = 1 + lx + ex / 2;
      ry[i] = 1 + ly + ey / 2;
    }
  double mx = 0, my = 0;
  for (gsize i = 0; i < n; i++)
    mx += rx[i], my += ry[i];
  mx /= n, my /= n;
  double c = 0, vx = 0, vy = 0;
  for (gsize i = 0; i < n; i++)
    {
      c += (rx[i] - mx) * (ry[i] - my);
      vx += (rx[i] - mx) * (rx[i] - mx);
      vy += (ry[i] - my) * (ry[i] - my);
    }
  return (vx == 0 || vy == 0) ? NAN : c / sqrt (vx * vy);
}

static void
test_spearman (void)
{
  const double x3[] = { 1, 2, 3 }, y3[] = { 10, 20, 30 }, z3[] = { 3, 2, 1 }, c3[] = { 5, 5, 5 };
  g_assert_cmpfloat (msr_seesaw_spearman (x3, y3, 3), ==, 1.0);
  g_assert_cmpfloat (msr_seesaw_spearman (x3, z3, 3), ==, -1.0);
  g_assert_true (isnan (msr_seesaw_spearman (x3, y3, 2)));
  g_assert_true (isnan (msr_seesaw_spearman (x3, c3, 3)));
  /* Hand value with ties: x ranks 1, 2.5, 2.5, 4; y ranks 1, 2, 3, 4:
   * Σ dxdy = 2.25 + 0 + 0 + 2.25 = 4.5, Σ dx² = 4.5, Σ dy² = 5 → 4.5/√22.5. */
  const double xt[] = { 1, 2, 2, 3 }, yt[] = { 1, 2, 3, 4 };
  g_assert_cmpfloat_with_epsilon (msr_seesaw_spearman (xt, yt, 4), 4.5 / sqrt (22.5), 1e-15);

  Lcg g = { 99 };
  for (int trial = 0; trial < 300; trial++)
    {
      gsize n = 3 + trial % 10;
      double x[16], y[16];
      for (gsize i = 0; i < n; i++)
        {
          x[i] = floor (lcg_uniform (&g) * 4);   /* heavy ties */
          y[i] = trial % 2 ? floor (lcg_uniform (&g) * 3) : lcg_uniform (&g);
        }
      double want = bf_spearman (x, y, n), got = msr_seesaw_spearman (x, y, n);
      if (isnan (want))
        g_assert_true (isnan (got));
      else
        g_assert_cmpfloat_with_epsilon (got, want, 1e-12);
    }
}

/* ---- (5) Holm and outcomes -------------------------------------------- */

static void
bf_holm (const double *p, guint n, double *adj)
{
  guint idx[16], k = 0;
  for (guint i = 0; i < n; i++)
    {
      adj[i] = NAN;
      if (!isnan (p[i]))
        idx[k++] = i;
    }
  for (guint i = 0; i < k; i++)
    {
      double best = 0;
      /* the i-th smallest: rank by counting */
      guint ri = 0;
      for (guint j = 0; j < k; j++)
        ri += p[idx[j]] < p[idx[i]] || (p[idx[j]] == p[idx[i]] && idx[j] < idx[i]);
      for (guint j = 0; j < k; j++)
        {
          guint rj = 0;
          for (guint l = 0; l < k; l++)
            rj += p[idx[l]] < p[idx[j]] || (p[idx[l]] == p[idx[j]] && idx[l] < idx[j]);
          if (rj <= ri)
            best = MAX (best, MIN (1.0, (k - rj) * p[idx[j]]));
        }
      adj[idx[i]] = best;
    }
}

static void
test_holm_outcomes (void)
{
  const guint sizes[] = { 300, 300, 300, 300, 300, 300 };
  const double sa[] = { 0.3, 0.3, 0.3, 0.3, 0.3, 0.3 }, sb[] = { 0.36, 0.5, 0.3, 0.12, 0.38, 0.3 };
  g_autoptr(Data) d = make_data (sizes, 6, sa, sb, 5);
  for (gsize i = 0; i < d->n; i++)   /* scenario 5 has no positives: untestable */
    if (d->scen[i] == 5)
      d->y[i] = 0;

  g_autoptr(GError) error = NULL;
  g_autoptr(MsrComparison) cmp = msr_compare_paired (d->a, d->b, d->y, d->scen, (const char * const *) d->names, 6,
                                                     NULL, d->n, &(MsrBootstrapOptions) { 0, 42, 0.95, 1 }, NULL,
                                                     NULL, NULL, &error);
  g_assert_no_error (error);
  double p[6], adj[6];
  for (guint s = 0; s < 6; s++)
    p[s] = cmp->scenarios[s].delong.defined ? cmp->scenarios[s].delong.p : NAN;
  bf_holm (p, 6, adj);
  g_assert_true (isnan (adj[5]));

  /* The last alpha lies between a scenario's raw and adjusted p: Holm
   * must turn that scenario into a tie. */
  int between = -1;
  for (guint s = 0; s < 5; s++)
    if (adj[s] > 1e-3 && adj[s] < 1 && adj[s] > 1.5 * p[s])
      between = (int) s;
  g_assert_cmpint (between, >=, 0);
  const double alphas[] = { 1e-8, 0.05, 0.5, sqrt (p[between] * adj[between]) };
  const double taus[] = { 0.0, 0.02, 0.08, 0.001 };
  guint wins_at[4] = { 0 };
  for (guint t = 0; t < G_N_ELEMENTS (alphas); t++)
    {
      g_autoptr(MsrSeesaw) sw = run_seesaw (d, 0, taus[t], alphas[t]);
      guint w = 0, l = 0, ti = 0, gt = 0, lt = 0;
      for (guint s = 0; s < 6; s++)
        {
          const MsrSeesawScenario *r = &sw->scenarios[s];
          g_assert_cmpint (r->tested, ==, cmp->scenarios[s].delong.defined);
          if (!r->tested)
            {
              g_assert_true (isnan (r->p) && isnan (r->p_holm) && isnan (r->z) && isnan (r->delta));
              g_assert_cmpint (r->outcome, ==, MSR_SEESAW_TIE);
              continue;
            }
          g_assert_cmpfloat (r->z, ==, cmp->scenarios[s].delong.z);
          g_assert_cmpfloat (r->p, ==, cmp->scenarios[s].delong.p);
          g_assert_cmpfloat_with_epsilon (r->p_holm, adj[s], 1e-15);
          int want = adj[s] < alphas[t] ? (r->delta > 0 ? 1 : -1) : 0;
          g_assert_cmpint (r->outcome, ==, want);
          w += want > 0, l += want < 0, ti += want == 0;
          gt += r->delta > taus[t];
          lt += r->delta < -taus[t];
        }
      g_assert_cmpuint (sw->wins, ==, w);
      g_assert_cmpuint (sw->losses, ==, l);
      g_assert_cmpuint (sw->ties, ==, ti);
      g_assert_cmpuint (sw->untested, ==, 1);
      g_assert_cmpuint (sw->n_defined, ==, 5);
      g_assert_cmpuint (sw->n_gain_tau, ==, gt);
      g_assert_cmpuint (sw->n_loss_tau, ==, lt);
      g_assert_cmpint (sw->seesaw_significant, ==, w > 0 && l > 0);
      g_assert_cmpint (sw->seesaw_tau, ==, gt > 0 && lt > 0);
      /* Overall: the unadjusted p. */
      int want_all = sw->overall.p < alphas[t] ? (sw->overall.delta > 0 ? 1 : -1) : 0;
      g_assert_cmpint (sw->overall.outcome, ==, want_all);
      wins_at[t] = w + l;
    }
  /* The alphas must actually change the outcomes for this test to mean something. */
  g_assert_cmpuint (wins_at[2], >, wins_at[0]);
  g_autoptr(MsrSeesaw) mid = run_seesaw (d, 0, 0.001, alphas[3]);
  g_assert_cmpfloat (mid->scenarios[between].p, <, alphas[3]);
  g_assert_cmpint (mid->scenarios[between].outcome, ==, MSR_SEESAW_TIE);

  /* Bad options are errors, not crashes. */
  MsrSeesawOptions o;
  msr_seesaw_options_init (&o);
  o.alpha = 1.5;
  g_autoptr(MsrSeesaw) bad = msr_seesaw_compute (d->a, d->b, d->y, d->scen, (const char * const *) d->names, 6,
                                                 NULL, d->n, &o, NULL, NULL, NULL, &error);
  g_assert_null (bad);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_clear_error (&error);
  d->b[3] = NAN;
  g_autoptr(MsrSeesaw) bad2 = msr_seesaw_compute (d->a, d->b, d->y, d->scen, (const char * const *) d->names, 6,
                                                  NULL, d->n, NULL, NULL, NULL, NULL, &error);
  g_assert_null (bad2);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "row 3"));
}

/* ---- (6) from a results store ----------------------------------------- */

static MsrDataset *
load_csv_dataset (const char *dir, guint64 split_seed)
{
  g_autofree char *csv = g_build_filename (dir, "clicks.csv", NULL);
  if (!g_file_test (csv, G_FILE_TEST_EXISTS))
    {
      g_autoptr(GString) s = g_string_new ("uid,iid,dom,click\n");
      Lcg g = { 11 };
      for (int i = 0; i < 900; i++)
        g_string_append_printf (s, "u%d,i%d,%s,%d\n", i % 37, i % 23, i % 3 == 0 ? "big" : i % 3 == 1 ? "mid" : "low",
                                lcg_uniform (&g) < 0.35);
      g_assert_true (g_file_set_contents (csv, s->str, -1, NULL));
    }
  MsrCsvSchema schema = { 0 };
  schema.label_column = g_strdup ("click");
  schema.scenario_column = g_strdup ("dom");
  schema.user_column = g_strdup ("uid");
  schema.item_column = g_strdup ("iid");
  g_autoptr(GError) error = NULL;
  MsrDataset *ds = msr_tabular_load (csv, NULL, &schema, NULL, NULL, NULL, &error);
  msr_csv_schema_clear (&schema);
  g_assert_no_error (error);
  MsrSplitOptions so;
  msr_split_options_init (&so);
  so.method = MSR_SPLIT_METHOD_RANDOM;
  so.test_fraction = 0.3;
  so.seed = split_seed;
  g_assert_true (msr_dataset_apply_split (ds, &so, &error));
  g_assert_no_error (error);
  return ds;
}

static gint64
add_pred_run (MsrResults *res, const char *fp, const char *split, const float *scores, gsize n)
{
  MsrRunInfo info = { 0 };
  info.kind = (char *) "eval";
  info.architecture = (char *) "dnn";
  info.dataset_fingerprint = (char *) fp;
  info.split = (char *) split;
  g_autoptr(GError) error = NULL;
  gint64 id = msr_results_add_run (res, &info, NULL, NULL, &error);
  g_assert_no_error (error);
  if (scores)
    {
      g_assert_true (msr_results_add_predictions (res, id, scores, n, NULL, NULL, NULL, &error));
      g_assert_no_error (error);
    }
  return id;
}

static void
assert_error_names (GError *error, gint64 run, const char *what)
{
  g_autofree char *needle = g_strdup_printf ("run %" G_GINT64_FORMAT, run);
  g_autofree char *needle2 = g_strdup_printf ("and %" G_GINT64_FORMAT, run);
  g_assert_nonnull (error);
  if (strstr (error->message, needle) == NULL && strstr (error->message, needle2) == NULL)
    g_error ("error '%s' does not name run %" G_GINT64_FORMAT, error->message, run);
  if (what && strstr (error->message, what) == NULL)
    g_error ("error '%s' does not say '%s'", error->message, what);
}

static void
test_from_runs (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("msr-seesaw-XXXXXX", NULL);
  g_autoptr(MsrDataset) ds = load_csv_dataset (tmp, 42);
  const gsize N = msr_dataset_get_n_rows (ds);
  const guint8 *spl = msr_dataset_get_splits (ds), *lab = msr_dataset_get_labels (ds);
  const guint16 *sc = msr_dataset_get_scenarios (ds);
  const guint S = msr_dataset_get_n_scenarios (ds);

  /* The test rows in ascending order, with scores that depend on the label. */
  gsize n = 0;
  for (gsize r = 0; r < N; r++)
    n += spl[r] == MSR_SPLIT_TEST;
  g_assert_cmpuint (n, >, 100);
  g_autofree float *fa = g_new (float, n), *fb = g_new (float, n);
  g_autofree double *da = g_new (double, n), *db = g_new (double, n);
  g_autofree guint8 *y = g_new (guint8, n);
  g_autofree guint32 *scen = g_new (guint32, n), *users = g_new (guint32, n);
  const guint uf = msr_dataset_get_user_field (ds);
  Lcg g = { 5 };
  gsize k = 0;
  for (gsize r = 0; r < N; r++)
    if (spl[r] == MSR_SPLIT_TEST)
      {
        y[k] = lab[r];
        scen[k] = sc[r];
        users[k] = (guint32) msr_dataset_get_field_codes (ds, uf)[r];
        fa[k] = (float) (0.6 * lcg_uniform (&g) + (lab[r] ? 0.2 : 0));
        fb[k] = (float) (0.6 * lcg_uniform (&g) + (lab[r] ? (sc[r] == 0 ? 0.4 : 0.05) : 0));
        da[k] = fa[k];
        db[k] = fb[k];
        k++;
      }

  g_autofree char *path = g_build_filename (tmp, MSR_RESULTS_FILE, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrResults) res = msr_results_open (path, MSR_RESULTS_READ_WRITE, &error);
  g_assert_no_error (error);
  const char *fp = msr_dataset_get_fingerprint (ds);
  const gint64 ra = add_pred_run (res, fp, "test", fa, n);
  const gint64 rb = add_pred_run (res, fp, "test", fb, n);
  const gint64 r_fp = add_pred_run (res, "abababababababababababababababababababababababababababababababab", "test", fb, n);
  const gint64 r_split = add_pred_run (res, fp, "valid", fb, n);
  const gint64 r_short = add_pred_run (res, fp, "test", fb, n - 1);
  const gint64 r_none = add_pred_run (res, fp, "test", NULL, 0);

  MsrSeesawOptions o;
  msr_seesaw_options_init (&o);
  o.bootstrap.replicates = 100;
  o.bootstrap.threads = 1;
  g_autoptr(MsrSeesaw) got = msr_seesaw_from_runs (res, ra, rb, ds, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree const char **names = g_new0 (const char *, S + 1);
  for (guint s = 0; s < S; s++)
    names[s] = msr_dataset_get_scenario_name (ds, s);
  g_autoptr(MsrSeesaw) want = msr_seesaw_compute (da, db, y, scen, names, S, users, n, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (got->n_scenarios, ==, S);
  for (guint s = 0; s < S; s++)
    {
      g_assert_cmpstr (got->scenarios[s].name, ==, names[s]);
      g_assert_cmpfloat (got->scenarios[s].auc_a, ==, bf_auc (da, y, scen, n, (int) s));
      g_assert_cmpfloat_with_epsilon (got->scenarios[s].auc_b, bf_auc (db, y, scen, n, (int) s), 1e-12);
      g_assert_cmpfloat (got->scenarios[s].delta, ==, want->scenarios[s].delta);
      g_assert_cmpfloat (got->scenarios[s].ci_delta.lo, ==, want->scenarios[s].ci_delta.lo);
      g_assert_cmpfloat (got->scenarios[s].p_holm, ==, want->scenarios[s].p_holm);
      g_assert_true (got->scenarios[s].has_gauc);
    }
  g_assert_cmpfloat (got->dominance_gap, ==, want->dominance_gap);
  g_assert_cmpfloat (got->ci_dominance_gap.hi, ==, want->ci_dominance_gap.hi);
  g_assert_cmpuint (got->overall.n, ==, n);

  /* Mismatches: the message names the run and what differs. */
  struct { gint64 b; int code; const char *what; } bad[] = {
    { r_fp, MSR_ERROR_MISMATCH, "different datasets" },
    { r_split, MSR_ERROR_MISMATCH, "different splits" },
    { r_short, MSR_ERROR_MISMATCH, "stored scores" },
    { r_none, MSR_ERROR_INVALID, "no stored predictions" },
    { 9999, MSR_ERROR_INVALID, "does not exist" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) e = NULL;
      g_autoptr(MsrSeesaw) sw = msr_seesaw_from_runs (res, ra, bad[i].b, ds, &o, NULL, NULL, NULL, &e);
      g_assert_null (sw);
      g_assert_error (e, MSR_ERROR, bad[i].code);
      assert_error_names (e, bad[i].b, bad[i].what);
    }
  /* A dataset with another split: both runs' fingerprints differ from it. */
  g_autoptr(MsrDataset) other = load_csv_dataset (tmp, 43);
  g_assert_cmpstr (msr_dataset_get_fingerprint (other), !=, fp);
  g_autoptr(GError) e2 = NULL;
  g_autoptr(MsrSeesaw) sw2 = msr_seesaw_from_runs (res, ra, rb, other, &o, NULL, NULL, NULL, &e2);
  g_assert_null (sw2);
  g_assert_error (e2, MSR_ERROR, MSR_ERROR_MISMATCH);
  assert_error_names (e2, ra, "another dataset");

  /* Cancelled before it starts. */
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_cancellable_cancel (cancel);
  g_autoptr(GError) e3 = NULL;
  g_autoptr(MsrSeesaw) sw3 = msr_seesaw_from_runs (res, ra, rb, ds, &o, NULL, NULL, cancel, &e3);
  g_assert_null (sw3);
  g_assert_error (e3, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  g_clear_pointer (&res, msr_results_close);
  msr_test_rm_rf (tmp);
}

/* ---- (7) the multi-seed summary --------------------------------------- */

#define FP1 "1111111111111111111111111111111111111111111111111111111111111111"
#define FP2 "2222222222222222222222222222222222222222222222222222222222222222"

/* A run with hand-chosen stored AUCs for scenarios x and y and overall. */
static gint64
add_metric_run (MsrResults *res, const char *created, const char *kind, const char *arch, const char *config,
                const char *fp, const char *split, int sha, const double auc[3])
{
  MsrEvalResult m = { 0 };
  MsrMetrics sc[2] = { { 0 } };
  char *names[] = { (char *) "x", (char *) "y", NULL };
  m.n_scenarios = 2;
  m.scenario_names = names;
  m.scenarios = sc;
  for (int s = 0; s < 3 && auc; s++)
    {
      MsrMetrics *t = s < 2 ? &sc[s] : &m.overall;
      t->n = 100;
      t->positives = 30;
      t->auc = auc[s];
      t->auc_defined = TRUE;
      t->logloss = t->gauc = t->gauc_click = NAN;
    }
  m.macro = m.weighted = m.overall;
  m.logloss_epsilon = 1e-7;
  m.n_rows = 200;
  g_autofree char *hex = g_strdup_printf ("%064x", sha);
  MsrRunInfo info = { 0 };
  info.created_at = (char *) created;
  info.kind = (char *) kind;
  info.architecture = (char *) arch;
  info.config_json = (char *) config;
  info.dataset_fingerprint = (char *) fp;
  info.split = (char *) split;
  info.model_sha256 = hex;
  g_autoptr(GError) error = NULL;
  gint64 id = msr_results_add_run (res, &info, auc ? &m : NULL, NULL, &error);
  g_assert_no_error (error);
  return id;
}

static char *
cfg (const char *arch, int embed, int seed, double lr, int best_epoch)
{
  return g_strdup_printf ("{\"architecture\":\"%s\",\"embed_dim\":%d,\"dataset_fingerprint\":\"" FP1 "\","
                          "\"training\":{\"optimizer\":\"adam\",\"lr\":%g,\"epochs\":2,\"seed\":%d,"
                          "\"best_epoch\":%d,\"threads\":%d}}", arch, embed, lr, seed, best_epoch, seed % 3);
}

static double
hmean (const double *v, int k)
{
  double s = 0;
  for (int i = 0; i < k; i++)
    s += v[i];
  return s / k;
}

static double
hstd (const double *v, int k)
{
  double m = hmean (v, k), s = 0;
  for (int i = 0; i < k; i++)
    s += (v[i] - m) * (v[i] - m);
  return sqrt (s / (k - 1));
}

static void
test_seed_summary (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("msr-seesaw-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (tmp, MSR_RESULTS_FILE, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrResults) res = msr_results_open (path, MSR_RESULTS_READ_WRITE, &error);
  g_assert_no_error (error);

  /* A: star, seeds 1, 2, 3; B: mmoe, seeds 1, 2, 7 (7 has no partner). */
  const double A[3][3] = { { 0.70, 0.60, 0.66 }, { 0.72, 0.61, 0.67 }, { 0.77, 0.65, 0.70 } };
  const double B[3][3] = { { 0.75, 0.58, 0.69 }, { 0.74, 0.60, 0.68 }, { 0.80, 0.59, 0.71 } };
  const int seeds_a[3] = { 1, 2, 3 }, seeds_b[3] = { 1, 2, 7 };
  gint64 ia[3], ib[3];
  /* Created out of id order: B's seed-2 run first, A's seed-1 run last. */
  const char *when_a[3] = { "2024-01-01T00:00:09Z", "2024-01-01T00:00:02Z", "2024-01-01T00:00:04Z" };
  const char *when_b[3] = { "2024-01-01T00:00:05Z", "2024-01-01T00:00:01Z", "2024-01-01T00:00:03Z" };
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *ca = cfg ("star", 16, seeds_a[i], 0.001, i);
      g_autofree char *cb = cfg ("mmoe", 16, seeds_b[i], 0.001, 2 - i);
      ia[i] = add_metric_run (res, when_a[i], "eval", "star", ca, FP2, "test", 10 + i, A[i]);
      ib[i] = add_metric_run (res, when_b[i], "eval", "mmoe", cb, FP2, "test", 20 + i, B[i]);
    }
  /* Runs that are not "like" A. */
  const double junk[3] = { 0.1, 0.1, 0.1 };
  g_autofree char *c32 = cfg ("star", 32, 4, 0.001, 0);
  g_autofree char *clr = cfg ("star", 16, 5, 0.01, 0);
  g_autofree char *c6 = cfg ("star", 16, 6, 0.001, 0);
  g_autofree char *c1 = cfg ("star", 16, 1, 0.001, 0);
  add_metric_run (res, "2024-01-01T00:00:10Z", "eval", "star", c32, FP2, "test", 30, junk);     /* other config */
  add_metric_run (res, "2024-01-01T00:00:11Z", "eval", "star", clr, FP2, "test", 31, junk);     /* other lr */
  add_metric_run (res, "2024-01-01T00:00:12Z", "eval", "star", c6, FP2, "valid", 32, junk);     /* other split */
  add_metric_run (res, "2024-01-01T00:00:13Z", "eval", "star", c6, FP1, "test", 33, junk);      /* other data */
  add_metric_run (res, "2024-01-01T00:00:14Z", "eval", "star", c1, FP2, "test", 10, junk);      /* same model file */
  add_metric_run (res, "2024-01-01T00:00:15Z", "train", "star", c6, FP2, "test", 34, junk);     /* not an eval */
  add_metric_run (res, "2024-01-01T00:00:16Z", "eval", "star", c6, FP2, "test", 35, NULL);      /* no metrics */
  add_metric_run (res, "2024-01-01T00:00:17Z", "eval", "pepnet", c6, FP2, "test", 36, junk);    /* other backbone */

  g_autoptr(MsrSeesawSeeds) sd = msr_seesaw_seed_summary (res, ia[0], ib[0], &error);
  g_assert_no_error (error);
  g_assert_false (sd->same_configuration);
  g_assert_cmpuint (sd->n_runs_a, ==, 3);
  g_assert_cmpuint (sd->n_runs_b, ==, 3);
  /* creation order: A 2 (t=2), 3 (t=4), 1 (t=9); B 2 (t=1), 3 (t=3), 1 (t=5) */
  g_assert_cmpint (sd->runs_a[0], ==, ia[1]);
  g_assert_cmpint (sd->runs_a[1], ==, ia[2]);
  g_assert_cmpint (sd->runs_a[2], ==, ia[0]);
  g_assert_cmpint (sd->runs_b[0], ==, ib[1]);
  g_assert_cmpuint (sd->k, ==, 3);
  g_assert_cmpint (sd->pairing, ==, MSR_SEESAW_PAIRING_MIXED);
  g_assert_cmpstr (msr_seesaw_pairing_to_string (sd->pairing), ==, "mixed");
  /* seeds 2 and 1 pair by seed (A's creation order), then A seed 3 with B seed 7 */
  g_assert_cmpint (sd->pairs[0].run_a, ==, ia[1]);
  g_assert_cmpint (sd->pairs[0].run_b, ==, ib[1]);
  g_assert_true (sd->pairs[0].by_seed);
  g_assert_cmpint (sd->pairs[1].run_a, ==, ia[0]);
  g_assert_cmpint (sd->pairs[1].run_b, ==, ib[0]);
  g_assert_cmpint (sd->pairs[2].run_a, ==, ia[2]);
  g_assert_cmpint (sd->pairs[2].run_b, ==, ib[2]);
  g_assert_false (sd->pairs[2].by_seed);
  g_assert_cmpuint (sd->pairs[2].seed_b, ==, 7);

  g_assert_cmpuint (sd->n_scenarios, ==, 2);
  g_assert_cmpstr (sd->scenarios[0].name, ==, "x");
  g_assert_cmpstr (sd->overall.name, ==, "overall");
  for (int s = 0; s < 3; s++)
    {
      const MsrSeesawSeedRow *row = s < 2 ? &sd->scenarios[s] : &sd->overall;
      double va[3] = { A[0][s], A[1][s], A[2][s] }, vb[3] = { B[0][s], B[1][s], B[2][s] };
      double vd[3] = { B[0][s] - A[0][s], B[1][s] - A[1][s], B[2][s] - A[2][s] };
      g_assert_cmpuint (row->k, ==, 3);
      g_assert_cmpfloat_with_epsilon (row->auc_a_mean, hmean (va, 3), 1e-12);
      g_assert_cmpfloat_with_epsilon (row->auc_a_std, hstd (va, 3), 1e-12);
      g_assert_cmpfloat_with_epsilon (row->auc_b_mean, hmean (vb, 3), 1e-12);
      g_assert_cmpfloat_with_epsilon (row->auc_b_std, hstd (vb, 3), 1e-12);
      g_assert_cmpfloat_with_epsilon (row->delta_mean, hmean (vd, 3), 1e-12);
      g_assert_cmpfloat_with_epsilon (row->delta_std, hstd (vd, 3), 1e-12);
    }
  /* Known numbers for scenario x: A 0.70, 0.72, 0.77 → mean 0.73, std √(0.0013) */
  g_assert_cmpfloat_with_epsilon (sd->scenarios[0].auc_a_mean, 0.73, 1e-12);
  g_assert_cmpfloat_with_epsilon (sd->scenarios[0].auc_a_std, sqrt ((0.0009 + 0.0001 + 0.0016) / 2), 1e-12);

  /* No seed in common: everything pairs in creation order. */
  const double C[2][3] = { { 0.50, 0.55, 0.52 }, { 0.54, 0.51, 0.53 } };
  gint64 ic[2];
  for (int i = 0; i < 2; i++)
    {
      g_autofree char *cc = cfg ("ple", 16, 100 + i, 0.001, 0);
      ic[i] = add_metric_run (res, i ? "2024-01-01T00:00:00Z" : "2024-01-01T00:00:30Z", "eval", "ple", cc, FP2,
                              "test", 40 + i, C[i]);
    }
  g_autoptr(MsrSeesawSeeds) sc = msr_seesaw_seed_summary (res, ia[0], ic[0], &error);
  g_assert_no_error (error);
  g_assert_cmpint (sc->pairing, ==, MSR_SEESAW_PAIRING_CREATION);
  g_assert_cmpuint (sc->k, ==, 2);
  g_assert_cmpuint (sc->scenarios[0].n_a, ==, 3);
  g_assert_cmpuint (sc->scenarios[0].n_b, ==, 2);
  /* A's two oldest (seed 2 then 3) with C's by creation (ic[1] first, then ic[0]). */
  g_assert_cmpint (sc->pairs[0].run_a, ==, ia[1]);
  g_assert_cmpint (sc->pairs[0].run_b, ==, ic[1]);
  g_assert_cmpint (sc->pairs[1].run_a, ==, ia[2]);
  g_assert_cmpint (sc->pairs[1].run_b, ==, ic[0]);
  double vd[2] = { C[1][1] - A[1][1], C[0][1] - A[2][1] };
  g_assert_cmpfloat_with_epsilon (sc->scenarios[1].delta_mean, hmean (vd, 2), 1e-12);
  g_assert_cmpfloat_with_epsilon (sc->scenarios[1].delta_std, hstd (vd, 2), 1e-12);

  /* One run per side: k = 1, std NaN. A run of the same configuration as
   * A on the B side: only the two runs. */
  g_autoptr(MsrSeesawSeeds) s1 = msr_seesaw_seed_summary (res, ia[0], ia[1], &error);
  g_assert_no_error (error);
  g_assert_true (s1->same_configuration);
  g_assert_cmpuint (s1->k, ==, 1);
  g_assert_cmpint (s1->pairing, ==, MSR_SEESAW_PAIRING_CREATION);
  g_assert_cmpfloat_with_epsilon (s1->overall.delta_mean, A[1][2] - A[0][2], 1e-12);
  g_assert_true (isnan (s1->overall.delta_std));
  g_assert_true (isnan (s1->scenarios[0].auc_a_std));

  /* A run without metrics is an error. */
  g_autoptr(MsrSeesawSeeds) none = msr_seesaw_seed_summary (res, ia[0], 999, &error);
  g_assert_null (none);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);

  g_clear_pointer (&res, msr_results_close);
  msr_test_rm_rf (tmp);
}

/* ---- (8) the CLI -------------------------------------------------------------- */

typedef struct {
  int   status;
  char *out, *err;
} Run;

static void
run_clear (Run *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static void
run_cli (Run *r, const char *first, ...)
{
  const char *cli = g_getenv ("MSR_CLI");
  g_assert_nonnull (cli);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) cli);
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_newv ((const char * const *) argv->pdata,
                                                G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, NULL, NULL, &r->out, &r->err, &error);
  g_assert_no_error (error);
  r->status = g_subprocess_get_if_exited (p) ? g_subprocess_get_exit_status (p) : -1;
  if (r->status != 0)
    g_test_message ("%s: exit %d: %s", first, r->status, r->err);
}

static JsonObject *
parse_json (const char *text, JsonParser **keep)
{
  g_autoptr(GError) error = NULL;
  *keep = json_parser_new ();
  g_assert_true (json_parser_load_from_data (*keep, text, -1, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (*keep));
}

/* Trains backbone with seed and evaluates it: returns the eval JSON text. */
static char *
train_eval (const char *proj, const char *backbone, const char *seed)
{
  g_autofree char *model = g_strdup_printf ("%s/%s-%s.safetensors", proj, backbone, seed);
  g_auto(Run) t = { 0 };
  run_cli (&t, "train", proj, "--backbone", backbone, "--epochs", "2", "--seed", seed, "--out", model, "-q", NULL);
  g_assert_cmpint (t.status, ==, 0);
  g_auto(Run) e = { 0 };
  run_cli (&e, "eval", proj, model, "--json", "--replicates", "0", "--threads", "1", NULL);
  g_assert_cmpint (e.status, ==, 0);
  return g_steal_pointer (&e.out);
}

static double
member_double (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  g_assert_nonnull (n);
  return JSON_NODE_HOLDS_NULL (n) ? NAN : json_node_get_double (n);
}

static void
test_cli (void)
{
  if (g_getenv ("MSR_CLI") == NULL)
    {
      g_test_skip ("MSR_CLI is not set");
      return;
    }
  g_autofree char *tmp = g_dir_make_tmp ("msr-seesaw-cli-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (tmp, "clicks.csv", NULL);
  g_autoptr(GString) s = g_string_new ("uid,iid,dom,click\n");
  /* Users like even items in 'feed' and 'kids', odd ones in 'search'. */
  for (int i = 0; i < 3000; i++)
    {
      int u = (i * 7) % 50, it = (i * 13) % 40, k = i % 6;
      const char *dom = k < 3 ? "feed" : k < 5 ? "search" : "kids";
      int like = ((u + it) % 2 == 0) == (k != 3 && k != 4);
      g_string_append_printf (s, "u%d,i%d,%s,%d\n", u, it, dom, (i % 10) < 8 ? like : !like);
    }
  g_assert_true (g_file_set_contents (csv, s->str, -1, NULL));
  g_autofree char *proj = g_build_filename (tmp, "p", NULL);
  g_auto(Run) init = { 0 };
  run_cli (&init, "project", "init", proj, "--csv", csv, "--label", "click", "--scenario", "dom", "--user", "uid",
           "--item", "iid", "--split", "random", NULL);
  g_assert_cmpint (init.status, ==, 0);

  /* Two seeds of each backbone; A = dnn, B = mmoe. */
  g_autofree char *ea1 = train_eval (proj, "dnn", "42");
  g_autofree char *eb1 = train_eval (proj, "mmoe", "42");
  g_autofree char *ea2 = train_eval (proj, "dnn", "7");
  g_autofree char *eb2 = train_eval (proj, "mmoe", "7");
  g_autoptr(JsonParser) pa1 = NULL, pb1 = NULL, pa2 = NULL, pb2 = NULL;
  JsonObject *oa1 = parse_json (ea1, &pa1), *ob1 = parse_json (eb1, &pb1);
  JsonObject *oa2 = parse_json (ea2, &pa2), *ob2 = parse_json (eb2, &pb2);
  const gint64 run_a = json_object_get_int_member (oa1, "run_id");
  const gint64 run_b = json_object_get_int_member (ob1, "run_id");
  g_autofree char *ta = g_strdup_printf ("%" G_GINT64_FORMAT, run_a);
  g_autofree char *tb = g_strdup_printf ("%" G_GINT64_FORMAT, run_b);

  g_auto(Run) sw = { 0 };
  run_cli (&sw, "seesaw", proj, ta, tb, "--json", "--replicates", "100", "--threads", "1", NULL);
  g_assert_cmpint (sw.status, ==, 0);
  g_autoptr(JsonParser) ps = NULL;
  JsonObject *o = parse_json (sw.out, &ps);
  g_assert_cmpint (json_object_get_int_member (o, "run_a"), ==, run_a);
  g_assert_cmpint (json_object_get_int_member (o, "run_b"), ==, run_b);
  JsonObject *scen = json_object_get_object_member (o, "scenarios");
  JsonObject *ind = json_object_get_object_member (o, "indicators");
  JsonObject *seeds = json_object_get_object_member (o, "seeds");
  JsonObject *boot = json_object_get_object_member (o, "bootstrap");
  g_assert_nonnull (json_object_get_object_member (o, "overall"));
  g_assert_cmpint (json_object_get_int_member (boot, "replicates"), ==, 100);
  g_assert_cmpint (json_object_get_int_member (boot, "seed"), ==, 42);

  /* Per scenario: the AUCs eval printed, and the indicators recomputed from
   * the JSON's own per-scenario figures. */
  g_autoptr(GList) names = json_object_get_members (scen);
  g_assert_cmpuint (g_list_length (names), ==, 3);
  guint wins = 0, ties = 0, losses = 0, n_def = 0;
  double gain = 0, loss = 0, wsum = 0, w = 0, msum = 0, worst = INFINITY;
  const char *worst_name = NULL;
  for (GList *l = names; l; l = l->next)
    {
      const char *name = l->data;
      JsonObject *r = json_object_get_object_member (scen, name);
      JsonObject *a1 = json_object_get_object_member (json_object_get_object_member (oa1, "scenarios"), name);
      JsonObject *b1 = json_object_get_object_member (json_object_get_object_member (ob1, "scenarios"), name);
      const double auc_a = member_double (r, "auc_a"), auc_b = member_double (r, "auc_b");
      /* eval computes its metrics on the float32 scores it stores, so the
       * seesaw, recomputed from those scores, agrees exactly. */
      g_assert_cmpfloat (auc_a, ==, member_double (a1, "auc"));
      g_assert_cmpfloat (auc_b, ==, member_double (b1, "auc"));
      const double d = member_double (r, "delta_auc");
      g_assert_cmpfloat_with_epsilon (d, auc_b - auc_a, 1e-15);
      g_assert_nonnull (json_object_get_array_member (r, "delta_auc_ci"));
      const char *outc = json_object_get_string_member (r, "outcome");
      const double ph = member_double (r, "delong_p_holm");
      g_assert_cmpint (strcmp (outc, "tie") != 0, ==, ph < 0.05);
      if (strcmp (outc, "win") == 0)
        wins++, gain += d;
      else if (strcmp (outc, "loss") == 0)
        losses++, loss -= d;
      else
        ties++;
      const double rows = (double) json_object_get_int_member (r, "n");
      wsum += rows * d;
      w += rows;
      msum += d;
      n_def++;
      if (d < worst)
        worst = d, worst_name = name;
    }
  g_assert_cmpint (json_object_get_int_member (ind, "wins"), ==, wins);
  g_assert_cmpint (json_object_get_int_member (ind, "ties"), ==, ties);
  g_assert_cmpint (json_object_get_int_member (ind, "losses"), ==, losses);
  g_assert_cmpint (json_object_get_boolean_member (ind, "seesaw_significant"), ==, wins > 0 && losses > 0);
  g_assert_cmpfloat_with_epsilon (member_double (ind, "dominance_gap"), wsum / w - msum / n_def, 1e-12);
  g_assert_nonnull (json_object_get_array_member (ind, "dominance_gap_ci"));
  g_assert_cmpfloat_with_epsilon (member_double (ind, "worst_delta"), worst, 1e-15);
  g_assert_cmpstr (json_object_get_string_member (ind, "worst_scenario"), ==, worst_name);
  g_assert_false (JSON_NODE_HOLDS_NULL (json_object_get_member (ind, "gain_size_spearman")));
  JsonNode *crn = json_object_get_member (ind, "conflict_ratio");
  if (wins + losses == 0)
    g_assert_true (JSON_NODE_HOLDS_NULL (crn));
  else if (wins == 0)
    g_assert_cmpstr (json_node_get_string (crn), ==, "inf");
  else
    g_assert_cmpfloat_with_epsilon (json_node_get_double (crn), loss / gain, 1e-12);
  /* The planted rule is learnable by MMoE, not by one shared DNN in two epochs. */
  g_assert_cmpuint (wins, >=, 1);

  /* Seeds: two of each, paired by training seed. */
  g_assert_cmpint (json_object_get_int_member (seeds, "k"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (seeds, "pairing"), ==, "seed");
  for (GList *l = names; l; l = l->next)
    {
      const char *name = l->data;
      JsonObject *r = json_object_get_object_member (json_object_get_object_member (seeds, "scenarios"), name);
#define SCEN_AUC(obj) member_double (json_object_get_object_member (json_object_get_object_member (obj, "scenarios"), name), "auc")
      const double d1 = SCEN_AUC (ob1) - SCEN_AUC (oa1), d2 = SCEN_AUC (ob2) - SCEN_AUC (oa2);
#undef SCEN_AUC
      g_assert_cmpfloat_with_epsilon (member_double (r, "delta_mean"), (d1 + d2) / 2, 1e-12);
      g_assert_cmpfloat_with_epsilon (member_double (r, "delta_std"), fabs (d1 - d2) / sqrt (2), 1e-12);
    }

  /* Swapped roles: B only loses, an infinite conflict ratio is "inf". */
  g_auto(Run) rev = { 0 };
  run_cli (&rev, "seesaw", proj, tb, ta, "--json", "--replicates", "20", NULL);
  g_assert_cmpint (rev.status, ==, 0);
  g_autoptr(JsonParser) pr = NULL;
  JsonObject *ri = json_object_get_object_member (parse_json (rev.out, &pr), "indicators");
  g_assert_cmpint (json_object_get_int_member (ri, "losses"), ==, wins);
  if (losses == 0)
    g_assert_cmpstr (json_object_get_string_member (ri, "conflict_ratio"), ==, "inf");

  /* Text output and errors. */
  g_auto(Run) text = { 0 };
  run_cli (&text, "seesaw", proj, ta, tb, "--replicates", "0", NULL);
  g_assert_cmpint (text.status, ==, 0);
  g_assert_nonnull (strstr (text.out, "Seesaw (significance):"));
  g_assert_nonnull (strstr (text.out, "Dominance gap:"));
  g_assert_nonnull (strstr (text.out, "(2 seeds)"));
  /* Run 1 is the first training run: no predictions. */
  g_auto(Run) bad = { 0 };
  run_cli (&bad, "seesaw", proj, "1", tb, NULL);
  g_assert_cmpint (bad.status, ==, 1);
  g_assert_nonnull (strstr (bad.err, "run 1 "));
  g_auto(Run) usage = { 0 };
  run_cli (&usage, "seesaw", proj, "x", tb, NULL);
  g_assert_cmpint (usage.status, ==, 1);
  g_auto(Run) usage2 = { 0 };
  run_cli (&usage2, "seesaw", proj, ta, NULL);
  g_assert_cmpint (usage2.status, ==, 2);

  msr_test_rm_rf (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/seesaw/dominates", test_dominates);
  g_test_add_func ("/seesaw/planted", test_planted);
  g_test_add_func ("/seesaw/identical", test_identical);
  g_test_add_func ("/seesaw/spearman-ties", test_spearman);
  g_test_add_func ("/seesaw/holm-outcomes", test_holm_outcomes);
  g_test_add_func ("/seesaw/from-runs", test_from_runs);
  g_test_add_func ("/seesaw/seed-summary", test_seed_summary);
  g_test_add_func ("/seesaw/cli", test_cli);
  return g_test_run ();
}

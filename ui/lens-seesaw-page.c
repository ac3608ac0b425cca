/* lens-seesaw-page.c: model B against the reference A, per scenario.
 *
 * One engine call (msr_seesaw_from_runs, in a LensJob thread, with the
 * settings `msrlens-cli seesaw` uses by default) gives every figure; the
 * multi-seed summary comes from msr_seesaw_seed_summary. This file only
 * formats them: charts, the indicators in words, and the table. */
#include "config.h"

#include "lens-seesaw-page.h"
#include "lens-chart-view.h"
#include "lens-format.h"
#include "lens-job.h"
#include "lens-ui.h"
#include "msr-dataset.h"

#include <math.h>
#include <string.h>

/* The defaults of `msrlens-cli seesaw`, so that both print the same numbers. */
#define SEESAW_REPLICATES 1000
#define SEESAW_SEED       42
#define SEESAW_LEVEL      0.95

struct _LensSeesawPage
{
  AdwBin parent_instance;

  LensSession    *session;
  GArray         *run_ids;      /* gint64: the dropdowns' runs, in list order */
  gint64          run_a, run_b; /* the pair shown (0 = none) */
  gint64          want_a, want_b; /* a pair asked for before its runs were in */
  gboolean        updating;

  /* computation */
  LensJob        *job;
  GCancellable   *cancellable;
  gint64          computed_a, computed_b;  /* the pair of seesaw/seeds */
  MsrSeesaw      *seesaw;
  MsrSeesawSeeds *seeds;
  char           *seeds_error;
  char           *error;
  char           *verdict;
  gboolean        waiting_for_dataset;
  guint           dataset_poll;   /* source watching for the dataset's load */

  LensChart      *diverging;
  LensChart      *scatter;
  GtkWidget      *diverging_view;
  GtkWidget      *scatter_view;
  GtkWidget      *table;
  GArray         *scatter_rows;  /* guint: scenario index of each scatter point */

  /* template children */
  GtkStack       *stack;
  AdwStatusPage  *empty_page;
  GtkLabel       *subtitle_label;
  GtkDropDown    *a_dropdown;
  GtkDropDown    *b_dropdown;
  GtkRevealer    *busy_revealer;
  GtkLabel       *busy_label;
  GtkProgressBar *progress_bar;
  GtkWidget      *message_box;
  GtkLabel       *message_label;
  GtkLabel       *verdict_label;
  GtkLabel       *headline_label;
  GtkWidget      *charts_box;
  GtkBox         *diverging_box;
  GtkBox         *scatter_box;
  GtkLabel       *readout_label;
  GtkWidget      *indicators_group;
  AdwActionRow   *flag_sig_row;
  GtkLabel       *flag_sig_value;
  AdwActionRow   *flag_tau_row;
  GtkLabel       *flag_tau_value;
  AdwActionRow   *conflict_row;
  GtkLabel       *conflict_value;
  AdwActionRow   *worst_row;
  GtkLabel       *worst_value;
  AdwActionRow   *pareto_row;
  GtkLabel       *pareto_value;
  AdwActionRow   *dominance_row;
  GtkLabel       *dominance_value;
  AdwActionRow   *spearman_row;
  GtkLabel       *spearman_value;
  AdwActionRow   *wtl_row;
  GtkLabel       *wtl_value;
  AdwActionRow   *seeds_row;
  GtkLabel       *seeds_value;
  GtkBox         *table_box;
  GtkLabel       *footnote_label;
};

static void lens_seesaw_page_page_init (LensPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LensSeesawPage, lens_seesaw_page, ADW_TYPE_BIN,
                               G_IMPLEMENT_INTERFACE (LENS_TYPE_PAGE, lens_seesaw_page_page_init))

/* ---- formatting -------------------------------------------------------------- */

static char *
fmt_double (const char *fmt, double v)
{
  if (isnan (v))
    return g_strdup ("–");
  if (isinf (v))
    return g_strdup (v > 0 ? "∞" : "−∞");
  return g_strdup_printf (fmt, v);
}

static char *
fmt_p (double p)
{
  if (isnan (p))
    return g_strdup ("–");
  if (p < 1e-4)
    return g_strdup_printf ("%.1e", p);
  return g_strdup_printf ("%.4f", p);
}

static char *
fmt_interval (const MsrInterval *ci, const char *fmt)
{
  if (ci->n_defined == 0)
    return g_strdup ("");
  g_autofree char *lo = fmt_double (fmt, ci->lo), *hi = fmt_double (fmt, ci->hi);
  return g_strdup_printf ("[%s, %s]", lo, hi);
}

static const char *
stars (double p)
{
  if (isnan (p))
    return "";
  return p < 0.001 ? "***" : p < 0.01 ? "**" : p < 0.05 ? "*" : "";
}

static const char *
outcome_word (const MsrSeesawScenario *r)
{
  if (!r->tested)
    return "–";
  return r->outcome == MSR_SEESAW_WIN ? "W" : r->outcome == MSR_SEESAW_LOSS ? "L" : "T";
}

/* "dnn-separate · #3 · test AUC 0.7660" */
static char *
run_choice_label (const LensRun *run)
{
  const MsrRunInfo *info = run->info;
  const MsrResultsScopeMetrics *sm = run->metrics
    ? msr_results_metrics_find (run->metrics, MSR_RESULTS_SCOPE_OVERALL, NULL) : NULL;
  g_autofree char *auc = sm && sm->metrics.auc_defined ? g_strdup_printf ("%.4f", sm->metrics.auc)
                                                       : g_strdup ("–");
  g_autofree char *label = lens_run_get_label (run);
  return g_strdup_printf ("%s · %s AUC %s", label, info->split ? info->split : "", auc);
}

static char *
run_short_label (LensSeesawPage *self, gint64 id)
{
  const LensRun *run = self->session ? lens_session_find_run (self->session, id) : NULL;
  if (run == NULL)
    return g_strdup_printf ("#%" G_GINT64_FORMAT, id);
  return lens_run_get_label (run);
}

/* "a", "a and b", "a, b and c" */
static char *
join_names (GPtrArray *names)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < names->len; i++)
    {
      if (i > 0)
        g_string_append (s, i + 1 == names->len ? " and " : ", ");
      g_string_append (s, g_ptr_array_index (names, i));
    }
  return g_string_free (s, FALSE);
}

static GPtrArray *
names_where (const MsrSeesaw *sw, int what)
{
  GPtrArray *out = g_ptr_array_new ();
  for (guint s = 0; s < sw->n_scenarios; s++)
    {
      const MsrSeesawScenario *r = &sw->scenarios[s];
      gboolean take;
      switch (what)
        {
        case 0: take = r->tested && r->outcome == MSR_SEESAW_WIN; break;
        case 1: take = r->tested && r->outcome == MSR_SEESAW_LOSS; break;
        case 2: take = !isnan (r->delta) && r->delta > sw->tau; break;
        default: take = !isnan (r->delta) && r->delta < -sw->tau; break;
        }
      if (take)
        g_ptr_array_add (out, (gpointer) r->name);
    }
  return out;
}

static char *
make_verdict (const MsrSeesaw *sw)
{
  g_autoptr(GPtrArray) wins = names_where (sw, 0), losses = names_where (sw, 1);
  g_autoptr(GPtrArray) gains_tau = names_where (sw, 2), losses_tau = names_where (sw, 3);
  g_autofree char *w = join_names (wins), *l = join_names (losses);
  g_autofree char *gt = join_names (gains_tau), *lt = join_names (losses_tau);

  const char *every = sw->n_scenarios > 1 ? "every scenario" : "the only scenario";
  if (sw->seesaw_significant)
    return g_strdup_printf ("Seesaw: B gains in %s (significant) and loses in %s (significant).", w, l);
  if (sw->seesaw_tau)
    return g_strdup_printf ("Seesaw by the τ rule only (|ΔAUC| > %g): B gains in %s and loses in %s; %s.", sw->tau,
                            gt, lt,
                            wins->len + losses->len == 0 ? "no scenario differs significantly after Holm's correction"
                            : "the changes are not significant on both sides after Holm's correction");
  if (wins->len > 0)
    return g_strdup_printf ("No seesaw: B gains in %s (significant) and loses nowhere.",
                            wins->len == sw->n_scenarios ? every : w);
  if (losses->len > 0)
    return g_strdup_printf ("No seesaw: B loses in %s (significant) and gains nowhere.",
                            losses->len == sw->n_scenarios ? every : l);
  if (sw->n_defined == 0)
    return g_strdup ("No scenario could be compared: none has both classes.");
  return g_strdup ("No seesaw: no scenario differs significantly after Holm's correction.");
}

/* ---- the comparison (worker thread) ------------------------------------------- */

typedef struct {
  LensSession *session;     /* keeps the dataset alive */
  char        *results_path;
  gint64       a, b;
} JobInput;

typedef struct {
  gint64          a, b;
  MsrSeesaw      *seesaw;
  MsrSeesawSeeds *seeds;
  char           *seeds_error;
} JobOutput;

static void
job_input_free (gpointer data)
{
  JobInput *in = data;
  g_clear_object (&in->session);
  g_free (in->results_path);
  g_free (in);
}

static void
job_output_free (gpointer data)
{
  JobOutput *out = data;
  msr_seesaw_free (out->seesaw);
  msr_seesaw_seeds_free (out->seeds);
  g_free (out->seeds_error);
  g_free (out);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobOutput, job_output_free)

static gpointer
job_thread (LensJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  JobInput *in = data;
  const MsrDataset *ds = lens_session_get_dataset (in->session);

  lens_job_report (job, -1, "Reading the stored scores");
  g_autoptr(MsrResults) results = msr_results_open (in->results_path, MSR_RESULTS_READ_ONLY, error);
  if (results == NULL)
    return NULL;

  MsrSeesawOptions opts;
  msr_seesaw_options_init (&opts);
  opts.tau = MSR_SEESAW_DEFAULT_TAU;
  opts.alpha = MSR_SEESAW_DEFAULT_ALPHA;
  opts.bootstrap.replicates = SEESAW_REPLICATES;
  opts.bootstrap.seed = SEESAW_SEED;
  opts.bootstrap.level = SEESAW_LEVEL;
  opts.bootstrap.threads = 0;   /* the results do not depend on it */

  g_autoptr(JobOutput) out = g_new0 (JobOutput, 1);
  out->a = in->a;
  out->b = in->b;
  out->seesaw = msr_seesaw_from_runs (results, in->a, in->b, ds, &opts, lens_job_progress_cb, job, cancellable,
                                      error);
  if (out->seesaw == NULL)
    return NULL;
  /* The seed summary is secondary: its failure is shown, not fatal. */
  g_autoptr(GError) seeds_error = NULL;
  out->seeds = msr_seesaw_seed_summary (results, in->a, in->b, &seeds_error);
  if (out->seeds == NULL)
    out->seeds_error = g_strdup (seeds_error ? seeds_error->message : "unknown error");
  return g_steal_pointer (&out);
}

/* ---- showing it ------------------------------------------------------------------ */

static void on_diverging_selected (LensSeesawPage *self, int item);

static void
set_message (LensSeesawPage *self, const char *message)
{
  g_free (self->error);
  self->error = g_strdup (message);
  gtk_label_set_text (self->message_label, message ? message : "");
  gtk_widget_set_visible (self->message_box, message != NULL);
}

static void
set_row (AdwActionRow *row, GtkLabel *value, const char *value_text, const char *subtitle)
{
  g_autofree char *escaped = g_markup_escape_text (subtitle ? subtitle : "", -1);
  adw_action_row_set_subtitle (row, escaped);
  gtk_label_set_text (value, value_text ? value_text : "");
}

static const MsrSeesawSeedRow *
seed_row_for (const MsrSeesawSeeds *sd, const char *name, gboolean overall)
{
  if (sd == NULL)
    return NULL;
  if (overall)
    return &sd->overall;
  for (guint k = 0; k < sd->n_scenarios; k++)
    if (g_strcmp0 (sd->scenarios[k].name, name) == 0)
      return &sd->scenarios[k];
  return NULL;
}

static char *
fmt_seed_delta (const MsrSeesawSeedRow *r)
{
  if (r == NULL || isnan (r->delta_mean))
    return g_strdup ("–");
  if (isnan (r->delta_std))
    return g_strdup_printf ("%+.4f (%u)", r->delta_mean, r->k);
  return g_strdup_printf ("%+.4f ± %.4f (%u)", r->delta_mean, r->delta_std, r->k);
}

static void
update_table (LensSeesawPage *self)
{
  const MsrSeesaw *sw = self->seesaw;
  const gboolean seeds_col = self->seeds && self->seeds->k > 1;
  const double level = sw ? sw->level : SEESAW_LEVEL;
  g_autofree char *delta_title = g_strdup_printf ("ΔAUC [%g%% CI]", 100 * level);
  const char *titles[] = { "Scenario", "Rows", "AUC A", "AUC B", delta_title, "RelaImpr", "DeLong p", "p (Holm)",
                           "W/T/L", "Δ mean ± std (k)" };
  const gboolean numeric[] = { FALSE, TRUE, TRUE, TRUE, TRUE, TRUE, TRUE, TRUE, FALSE, TRUE };
  const guint K = seeds_col ? 10 : 9;
  lens_table_set_columns (LENS_TABLE (self->table), K, titles, numeric);
  if (sw == NULL)
    {
      lens_table_set_rows (LENS_TABLE (self->table), 0, NULL, NULL, NULL);
      return;
    }

  const guint R = sw->n_scenarios + 1;
  g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);
  g_autofree double *values = g_new (double, (gsize) R * K);
  for (guint i = 0; i < R; i++)
    {
      const gboolean overall = i == sw->n_scenarios;
      const MsrSeesawScenario *r = overall ? &sw->overall : &sw->scenarios[i];
      double *v = values + (gsize) i * K;
      for (guint j = 0; j < K; j++)
        v[j] = NAN;
      g_ptr_array_add (cells, g_strdup (r->name));
      g_ptr_array_add (cells, lens_format_count (r->n));
      v[1] = (double) r->n;
      g_ptr_array_add (cells, fmt_double ("%.4f", r->auc_a));
      v[2] = r->auc_a;
      g_ptr_array_add (cells, fmt_double ("%.4f", r->auc_b));
      v[3] = r->auc_b;
      g_autofree char *d = fmt_double ("%+.4f", r->delta);
      g_autofree char *ci = fmt_interval (&r->ci_delta, "%+.4f");
      g_ptr_array_add (cells, ci[0] ? g_strdup_printf ("%s %s", d, ci) : g_strdup (d));
      v[4] = r->delta;
      g_ptr_array_add (cells, fmt_double ("%+.2f%%", r->relaimpr));
      v[5] = r->relaimpr;
      g_ptr_array_add (cells, fmt_p (r->p));
      v[6] = r->p;
      g_ptr_array_add (cells, overall ? g_strdup ("(not adjusted)") : fmt_p (r->p_holm));
      v[7] = overall ? NAN : r->p_holm;
      g_ptr_array_add (cells, g_strdup (outcome_word (r)));
      if (seeds_col)
        {
          const MsrSeesawSeedRow *sr = seed_row_for (self->seeds, r->name, overall);
          g_ptr_array_add (cells, fmt_seed_delta (sr));
          v[9] = sr ? sr->delta_mean : NAN;
        }
    }
  lens_table_set_rows (LENS_TABLE (self->table), R, (const char * const *) cells->pdata, values, NULL);
}

static void
update_charts (LensSeesawPage *self)
{
  const MsrSeesaw *sw = self->seesaw;

  g_clear_object (&self->diverging);
  g_clear_object (&self->scatter);
  g_array_set_size (self->scatter_rows, 0);
  if (sw == NULL)
    {
      lens_chart_view_set_chart (LENS_CHART_VIEW (self->diverging_view), NULL);
      lens_chart_view_set_chart (LENS_CHART_VIEW (self->scatter_view), NULL);
      return;
    }

  const guint S = sw->n_scenarios;
  g_autofree const char **labels = g_new0 (const char *, S + 1);
  g_autofree double *delta = g_new (double, MAX (S, 1)), *lo = g_new (double, MAX (S, 1));
  g_autofree double *hi = g_new (double, MAX (S, 1)), *p = g_new (double, MAX (S, 1));
  for (guint s = 0; s < S; s++)
    {
      const MsrSeesawScenario *r = &sw->scenarios[s];
      labels[s] = r->name;
      delta[s] = r->delta;
      lo[s] = r->ci_delta.n_defined ? r->ci_delta.lo : NAN;
      hi[s] = r->ci_delta.n_defined ? r->ci_delta.hi : NAN;
      /* Stars follow the outcome: Holm-adjusted across the scenarios. */
      p[s] = r->tested ? r->p_holm : NAN;
    }
  g_autofree char *la = run_short_label (self, self->computed_a), *lb = run_short_label (self, self->computed_b);
  g_autofree char *title = g_strdup_printf ("ΔAUC per scenario: %s − %s", lb, la);
  g_autofree char *x_label = sw->replicates > 0
    ? g_strdup_printf ("ΔAUC (B − A), %g%% bootstrap CI", 100 * sw->level) : g_strdup ("ΔAUC (B − A)");
  self->diverging = lens_chart_new_diverging (title, x_label, S, labels, delta, sw->replicates > 0 ? lo : NULL,
                                              sw->replicates > 0 ? hi : NULL, p);
  lens_chart_view_set_chart (LENS_CHART_VIEW (self->diverging_view), self->diverging);

  /* Δ against size: the scenarios with a defined Δ and rows. */
  g_autofree const char **sl = g_new0 (const char *, S + 1);
  g_autofree double *sx = g_new (double, MAX (S, 1)), *sy = g_new (double, MAX (S, 1));
  guint n = 0;
  for (guint s = 0; s < S; s++)
    if (!isnan (sw->scenarios[s].delta) && sw->scenarios[s].n > 0)
      {
        sl[n] = sw->scenarios[s].name;
        sx[n] = (double) sw->scenarios[s].n;
        sy[n] = sw->scenarios[s].delta;
        g_array_append_val (self->scatter_rows, s);
        n++;
      }
  g_autofree char *stitle = isnan (sw->gain_size_spearman)
    ? g_strdup ("ΔAUC against scenario size")
    : g_strdup_printf ("ΔAUC against scenario size (Spearman %+.2f)", sw->gain_size_spearman);
  self->scatter = lens_chart_new_scatter (stitle, "Scenario rows in the split (log scale)", "ΔAUC (B − A)", n, sl,
                                          sx, sy, TRUE, TRUE);
  lens_chart_view_set_chart (LENS_CHART_VIEW (self->scatter_view), self->scatter);
}

static void
update_indicators (LensSeesawPage *self)
{
  const MsrSeesaw *sw = self->seesaw;
  const MsrSeesawSeeds *sd = self->seeds;

  gtk_widget_set_visible (self->indicators_group, sw != NULL);
  gtk_widget_set_visible (self->charts_box, sw != NULL);
  if (sw == NULL)
    return;
  const gboolean ci = sw->replicates > 0;

  /* 1. Seesaw flags */
  {
    g_autofree char *sub = g_strdup_printf ("B gains significantly in %u scenario%s and loses in %u "
                                            "(DeLong, Holm-corrected at α = %g)",
                                            sw->wins, sw->wins == 1 ? "" : "s", sw->losses, sw->alpha);
    set_row (self->flag_sig_row, self->flag_sig_value, sw->seesaw_significant ? "Yes" : "No", sub);
    g_autoptr(GPtrArray) gt = names_where (sw, 2), lt = names_where (sw, 3);
    g_autofree char *g = join_names (gt), *l = join_names (lt);
    g_autofree char *sub2 = g_strdup_printf ("ΔAUC > +%g in %u scenario%s%s%s%s, < −%g in %u%s%s%s", sw->tau,
                                             sw->n_gain_tau, sw->n_gain_tau == 1 ? "" : "s",
                                             gt->len ? " (" : "", g, gt->len ? ")" : "", sw->tau, sw->n_loss_tau,
                                             lt->len ? " (" : "", l, lt->len ? ")" : "");
    set_row (self->flag_tau_row, self->flag_tau_value, sw->seesaw_tau ? "Yes" : "No", sub2);
  }

  /* 2. Conflict ratio */
  {
    g_autofree char *v = fmt_double ("%.3f", sw->conflict_ratio);
    g_autofree char *civ = ci ? fmt_interval (&sw->ci_conflict_ratio, "%.3f") : g_strdup ("");
    g_autofree char *value = civ[0] ? g_strdup_printf ("%s %s", v, civ) : g_strdup (v);
    g_autofree char *sub = NULL;
    if (isnan (sw->conflict_ratio))
      sub = g_strdup ("Undefined: no scenario differs significantly");
    else if (isinf (sw->conflict_ratio))
      sub = g_strdup ("B loses significantly and gains nowhere");
    else if (sw->conflict_ratio == 0)
      sub = g_strdup ("Significant gains and no significant loss");
    else
      sub = g_strdup_printf ("The significant losses (Σ %.4f) are %.1f%% of the significant gains (Σ %.4f)",
                             sw->significant_loss_sum, 100 * sw->conflict_ratio, sw->significant_gain_sum);
    set_row (self->conflict_row, self->conflict_value, value, sub);
  }

  /* 3. Worst scenario */
  if (sw->worst_scenario >= 0)
    {
      g_autofree char *v = g_strdup_printf ("%+.4f", sw->worst_delta);
      g_autofree char *sub = sw->worst_relaimpr_scenario >= 0
        ? g_strdup_printf ("Lowest ΔAUC in %s; lowest RelaImpr %+.2f%% in %s", sw->scenarios[sw->worst_scenario].name,
                           sw->worst_relaimpr, sw->scenarios[sw->worst_relaimpr_scenario].name)
        : g_strdup_printf ("Lowest ΔAUC in %s", sw->scenarios[sw->worst_scenario].name);
      set_row (self->worst_row, self->worst_value, v, sub);
    }
  else
    set_row (self->worst_row, self->worst_value, "–", "Undefined: no scenario has both classes");

  /* 4. Pareto status */
  {
    static const char *const words[] = {
      [MSR_PARETO_UNDEFINED] = "Undefined",
      [MSR_PARETO_EQUAL] = "Equal",
      [MSR_PARETO_B_DOMINATES] = "B dominates A",
      [MSR_PARETO_A_DOMINATES] = "A dominates B",
      [MSR_PARETO_INCOMPARABLE] = "Incomparable",
    };
    static const char *const readings[] = {
      [MSR_PARETO_UNDEFINED] = "no scenario could be tested",
      [MSR_PARETO_EQUAL] = "no significant difference in any scenario",
      [MSR_PARETO_B_DOMINATES] = "B is better somewhere and significantly worse nowhere",
      [MSR_PARETO_A_DOMINATES] = "B is significantly worse somewhere and better nowhere",
      [MSR_PARETO_INCOMPARABLE] = "B is significantly better in some scenarios and worse in others",
    };
    g_autofree char *sub = g_strdup_printf ("By significance: %s (%s). By the τ rule: %s.", readings[sw->pareto],
                                            msr_pareto_to_string (sw->pareto), msr_pareto_to_string (sw->pareto_tau));
    set_row (self->pareto_row, self->pareto_value, words[sw->pareto], sub);
  }

  /* 5. Dominance gap */
  if (!isnan (sw->dominance_gap))
    {
      g_autofree char *v = g_strdup_printf ("%+.4f", sw->dominance_gap);
      g_autofree char *civ = ci ? fmt_interval (&sw->ci_dominance_gap, "%+.4f") : g_strdup ("");
      g_autofree char *value = civ[0] ? g_strdup_printf ("%s %s", v, civ) : g_strdup (v);
      const char *reading = sw->dominance_gap > 0 ? "the gain is concentrated in the big scenarios"
                          : sw->dominance_gap < 0 ? "the gain is concentrated in the small scenarios"
                          : "the gain does not depend on scenario size";
      g_autofree char *sub = g_strdup_printf ("Row-weighted mean ΔAUC %+.4f minus macro mean %+.4f: %s",
                                              sw->weighted_delta, sw->macro_delta, reading);
      set_row (self->dominance_row, self->dominance_value, value, sub);
    }
  else
    set_row (self->dominance_row, self->dominance_value, "–", "Undefined: no scenario has both classes");

  /* 6. Gain–size correlation */
  if (!isnan (sw->gain_size_spearman))
    {
      g_autofree char *v = g_strdup_printf ("%+.2f", sw->gain_size_spearman);
      g_autofree char *civ = ci ? fmt_interval (&sw->ci_gain_size_spearman, "%+.2f") : g_strdup ("");
      g_autofree char *value = civ[0] ? g_strdup_printf ("%s %s", v, civ) : g_strdup (v);
      const char *reading = sw->gain_size_spearman > 0 ? "bigger scenarios gain more (rich domains dominate)"
                          : sw->gain_size_spearman < 0 ? "smaller scenarios gain more" : "no relation";
      g_autofree char *sub = g_strdup_printf ("Spearman of ΔAUC and log rows over %u scenarios: %s", sw->n_defined,
                                              reading);
      set_row (self->spearman_row, self->spearman_value, value, sub);
    }
  else
    {
      g_autofree char *sub = g_strdup_printf ("Undefined: needs 3 scenarios with a defined, varying ΔAUC (%u defined)",
                                              sw->n_defined);
      set_row (self->spearman_row, self->spearman_value, "–", sub);
    }

  /* 7. Wins / ties / losses */
  {
    g_autofree char *v = g_strdup_printf ("%u / %u / %u", sw->wins, sw->ties, sw->losses);
    g_autofree char *sub = sw->untested
      ? g_strdup_printf ("DeLong with Holm's correction at α = %g; %u scenario%s not testable (fewer than 2 "
                         "positives or negatives)", sw->alpha, sw->untested, sw->untested == 1 ? "" : "s")
      : g_strdup_printf ("DeLong with Holm's correction at α = %g over %u scenarios", sw->alpha,
                         sw->n_scenarios);
    set_row (self->wtl_row, self->wtl_value, v, sub);
  }

  /* Seeds */
  if (sd != NULL)
    {
      g_autofree char *v = g_strdup_printf ("k = %u", sd->k);
      g_autofree char *sub = NULL;
      if (sd->same_configuration)
        sub = g_strdup ("A and B share one configuration: only the two runs are compared");
      else if (sd->k <= 1)
        sub = g_strdup ("One run of each configuration: train more seeds for a spread");
      else
        sub = g_strdup_printf ("%u runs like A, %u like B; %u pairs (%s); the table shows Δ mean ± sample std",
                               sd->n_runs_a, sd->n_runs_b, sd->k,
                               sd->pairing == MSR_SEESAW_PAIRING_SEED ? "matched by training seed"
                               : sd->pairing == MSR_SEESAW_PAIRING_MIXED
                                 ? "equal training seeds first, the rest by creation order"
                                 : "by creation order");
      set_row (self->seeds_row, self->seeds_value, v, sub);
    }
  else
    {
      g_autofree char *sub = g_strdup_printf ("Not available: %s", self->seeds_error ? self->seeds_error : "–");
      set_row (self->seeds_row, self->seeds_value, "–", sub);
    }
}

static void
update_view (LensSeesawPage *self)
{
  const MsrSeesaw *sw = self->seesaw;

  gtk_stack_set_visible_child_name (self->stack, self->run_ids->len >= 2 ? "content" : "empty");

  g_clear_pointer (&self->verdict, g_free);
  if (sw != NULL)
    {
      self->verdict = make_verdict (sw);
      const MsrSeesawScenario *o = &sw->overall;
      g_autofree char *la = run_short_label (self, self->computed_a), *lb = run_short_label (self, self->computed_b);
      g_autofree char *d = fmt_double ("%+.4f", o->delta), *ci = fmt_interval (&o->ci_delta, "%+.4f");
      g_autofree char *ri = fmt_double ("%+.2f%%", o->relaimpr), *p = fmt_p (o->p);
      g_autofree char *rows = lens_format_count (o->n);
      g_autofree char *head = g_strdup_printf ("A = %s, B = %s. Overall ΔAUC %s%s%s, RelaImpr %s, DeLong p = %s%s%s "
                                               "(%s rows).", la, lb, d, ci[0] ? " " : "", ci, ri, p,
                                               stars (o->p)[0] ? " " : "", stars (o->p), rows);
      gtk_label_set_text (self->headline_label, head);
      g_autofree char *foot = sw->replicates > 0
        ? g_strdup_printf ("ΔAUC = AUC B − AUC A. Intervals: %u paired bootstrap replicates within scenario × "
                           "label strata (seed %" G_GUINT64_FORMAT "), %g%% percentile intervals. W/T/L: "
                           "DeLong's paired test, Holm-corrected across the scenarios at α = %g; the overall "
                           "row is one test, not adjusted. τ = %g. Stars on the bars: * p < 0.05, ** p < 0.01, "
                           "*** p < 0.001 after Holm. The same figures: msrlens-cli seesaw DIR %" G_GINT64_FORMAT
                           " %" G_GINT64_FORMAT ".",
                           sw->replicates, sw->seed, 100 * sw->level, sw->alpha, sw->tau, self->computed_a,
                           self->computed_b)
        : g_strdup ("ΔAUC = AUC B − AUC A; no bootstrap intervals.");
      gtk_label_set_text (self->footnote_label, foot);
    }
  else
    {
      gtk_label_set_text (self->headline_label, "");
      gtk_label_set_text (self->footnote_label, "");
    }
  gtk_label_set_text (self->verdict_label, self->verdict ? self->verdict : "");
  gtk_widget_set_visible (GTK_WIDGET (self->verdict_label), self->verdict != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->headline_label), sw != NULL);
  on_diverging_selected (self, -1);

  update_charts (self);
  update_indicators (self);
  update_table (self);
}

/* ---- running it --------------------------------------------------------------- */

static void
set_busy (LensSeesawPage *self, gboolean busy)
{
  gtk_revealer_set_reveal_child (self->busy_revealer, busy);
  gtk_widget_set_visible (GTK_WIDGET (self->busy_revealer), busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "seesaw.cancel", busy);
}

static void
on_job_progress (LensSeesawPage *self)
{
  if (self->job == NULL)
    return;
  const double f = lens_job_get_fraction (self->job);
  const char *stage = lens_job_get_stage (self->job);
  if (f >= 0)
    gtk_progress_bar_set_fraction (self->progress_bar, f);
  else
    gtk_progress_bar_pulse (self->progress_bar);
  g_autofree char *text = g_strdup_printf ("%s…", stage ? stage : "Comparing");
  gtk_label_set_text (self->busy_label, text);
}

static void
cancel_job (LensSeesawPage *self)
{
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->job)
    g_signal_handlers_disconnect_by_data (self->job, self);
  g_clear_object (&self->job);
  set_busy (self, FALSE);
}

static void
on_job_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(LensSeesawPage) self = user_data;
  LensJob *job = LENS_JOB (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(JobOutput) out = lens_job_run_finish (job, result, &error);

  if (job != self->job)
    return;   /* superseded, cancelled or the page is gone */
  g_signal_handlers_disconnect_by_data (job, self);
  g_clear_object (&self->job);
  g_clear_object (&self->cancellable);
  set_busy (self, FALSE);
  if (out == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("The comparison failed: %s", error->message);
      set_message (self, msg);
      lens_page_report_error (LENS_PAGE (self), error->message);
      update_view (self);
      return;
    }
  self->computed_a = out->a;
  self->computed_b = out->b;
  self->seesaw = g_steal_pointer (&out->seesaw);
  self->seeds = g_steal_pointer (&out->seeds);
  self->seeds_error = g_steal_pointer (&out->seeds_error);
  set_message (self, NULL);
  update_view (self);
}

static void
clear_result (LensSeesawPage *self)
{
  g_clear_pointer (&self->seesaw, msr_seesaw_free);
  g_clear_pointer (&self->seeds, msr_seesaw_seeds_free);
  g_clear_pointer (&self->seeds_error, g_free);
  self->computed_a = self->computed_b = 0;
}

static void compute (LensSeesawPage *self);

/* The session has no signal for a finished load: look now and then. */
static gboolean
poll_dataset (gpointer data)
{
  LensSeesawPage *self = data;

  if (self->session != NULL && lens_session_get_dataset (self->session) == NULL)
    return G_SOURCE_CONTINUE;
  self->dataset_poll = 0;
  if (self->session != NULL && self->waiting_for_dataset)
    compute (self);
  return G_SOURCE_REMOVE;
}

static void
compute (LensSeesawPage *self)
{
  cancel_job (self);
  clear_result (self);
  set_message (self, NULL);
  self->waiting_for_dataset = FALSE;

  if (self->session == NULL || self->run_a == 0 || self->run_b == 0)
    {
      update_view (self);
      return;
    }
  if (self->run_a == self->run_b)
    {
      set_message (self, "A and B are the same run: pick two different runs.");
      update_view (self);
      return;
    }
  if (lens_session_get_dataset (self->session) == NULL)
    {
      self->waiting_for_dataset = TRUE;
      if (self->dataset_poll == 0)
        self->dataset_poll = g_timeout_add (300, poll_dataset, self);
      set_message (self, "Waiting for the dataset to load: the comparison needs its labels and scenarios.");
      update_view (self);
      return;
    }

  JobInput *in = g_new0 (JobInput, 1);
  in->session = g_object_ref (self->session);
  in->results_path = g_strdup (lens_session_get_results_path (self->session));
  in->a = self->run_a;
  in->b = self->run_b;
  self->cancellable = g_cancellable_new ();
  self->job = lens_job_new ("Seesaw comparison");
  g_signal_connect_swapped (self->job, "notify::fraction", G_CALLBACK (on_job_progress), self);
  g_signal_connect_swapped (self->job, "notify::stage", G_CALLBACK (on_job_progress), self);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_label_set_text (self->busy_label, "Comparing…");
  set_busy (self, TRUE);
  update_view (self);
  lens_job_run_async (self->job, job_thread, in, job_input_free, job_output_free, self->cancellable, on_job_done,
                      g_object_ref (self));
}

/* ---- the runs to choose from --------------------------------------------------- */

static int
index_of (LensSeesawPage *self, gint64 id)
{
  for (guint i = 0; i < self->run_ids->len; i++)
    if (g_array_index (self->run_ids, gint64, i) == id)
      return (int) i;
  return -1;
}

static double
overall_auc (const LensRun *run)
{
  const MsrResultsScopeMetrics *sm = run->metrics
    ? msr_results_metrics_find (run->metrics, MSR_RESULTS_SCOPE_OVERALL, NULL) : NULL;
  return sm && sm->metrics.auc_defined ? sm->metrics.auc : NAN;
}

/* A = the newest separate-DNN run (the seesaw reference), else the oldest
 * run; B = the best other run by overall AUC on the same data and split. */
static void
default_pair (LensSeesawPage *self, gint64 *a, gint64 *b)
{
  const LensRun *ra = NULL;
  *a = *b = 0;
  for (guint i = 0; i < self->run_ids->len && ra == NULL; i++)
    {
      const LensRun *r = lens_session_find_run (self->session, g_array_index (self->run_ids, gint64, i));
      if (g_strcmp0 (r->info->architecture, "dnn-separate") == 0)
        ra = r;
    }
  if (ra == NULL && self->run_ids->len > 0)
    ra = lens_session_find_run (self->session, g_array_index (self->run_ids, gint64, self->run_ids->len - 1));
  if (ra == NULL)
    return;
  *a = ra->info->id;
  double best = -INFINITY;
  for (guint i = 0; i < self->run_ids->len; i++)
    {
      const LensRun *r = lens_session_find_run (self->session, g_array_index (self->run_ids, gint64, i));
      const double auc = overall_auc (r);
      if (r == ra || g_strcmp0 (r->info->dataset_fingerprint, ra->info->dataset_fingerprint) != 0 ||
          g_strcmp0 (r->info->split, ra->info->split) != 0)
        continue;
      if (*b == 0 || (!isnan (auc) && auc > best))
        {
          *b = r->info->id;
          best = isnan (auc) ? -INFINITY : auc;
        }
    }
}

static void
select_in_dropdowns (LensSeesawPage *self)
{
  const int ia = index_of (self, self->run_a), ib = index_of (self, self->run_b);
  self->updating = TRUE;
  gtk_drop_down_set_selected (self->a_dropdown, ia >= 0 ? (guint) ia : GTK_INVALID_LIST_POSITION);
  gtk_drop_down_set_selected (self->b_dropdown, ib >= 0 ? (guint) ib : GTK_INVALID_LIST_POSITION);
  self->updating = FALSE;
}

static void
refill (LensSeesawPage *self)
{
  g_autoptr(GtkStringList) la = gtk_string_list_new (NULL);
  g_autoptr(GtkStringList) lb = gtk_string_list_new (NULL);

  g_array_set_size (self->run_ids, 0);
  if (self->session != NULL)
    {
      GPtrArray *runs = lens_session_get_runs (self->session);
      for (guint i = 0; i < runs->len; i++)
        {
          const LensRun *r = g_ptr_array_index (runs, i);
          if (g_strcmp0 (r->info->kind, "eval") != 0 || !r->info->has_predictions)
            continue;
          g_autofree char *label = run_choice_label (r);
          g_array_append_val (self->run_ids, r->info->id);
          gtk_string_list_append (la, label);
          gtk_string_list_append (lb, label);
        }
    }
  self->updating = TRUE;
  gtk_drop_down_set_model (self->a_dropdown, G_LIST_MODEL (la));
  gtk_drop_down_set_model (self->b_dropdown, G_LIST_MODEL (lb));
  self->updating = FALSE;

  /* Keep the pair shown, else the pair asked for, else the defaults. */
  gint64 a = self->run_a, b = self->run_b;
  if (self->want_a != 0 && index_of (self, self->want_a) >= 0 && index_of (self, self->want_b) >= 0)
    {
      a = self->want_a;
      b = self->want_b;
      self->want_a = self->want_b = 0;
    }
  if (index_of (self, a) < 0 || index_of (self, b) < 0)
    default_pair (self, &a, &b);
  /* A pair already shown or being computed is not computed again. */
  const gboolean changed = a != self->run_a || b != self->run_b || (self->seesaw == NULL && self->job == NULL);
  self->run_a = a;
  self->run_b = b;
  select_in_dropdowns (self);
  if (changed)
    compute (self);
  else
    update_view (self);
}

static void
on_runs_changed (LensSeesawPage *self)
{
  refill (self);
}

static void
on_pair_selected (LensSeesawPage *self)
{
  if (self->updating)
    return;
  const guint ia = gtk_drop_down_get_selected (self->a_dropdown), ib = gtk_drop_down_get_selected (self->b_dropdown);
  if (ia >= self->run_ids->len || ib >= self->run_ids->len)
    return;
  lens_seesaw_page_set_pair (self, g_array_index (self->run_ids, gint64, ia), g_array_index (self->run_ids, gint64, ib));
}

static void
on_diverging_selected (LensSeesawPage *self, int item)
{
  const MsrSeesaw *sw = self->seesaw;
  if (sw == NULL || item < 0 || (guint) item >= sw->n_scenarios)
    {
      gtk_label_set_text (self->readout_label, "");
      gtk_widget_set_visible (GTK_WIDGET (self->readout_label), FALSE);
      return;
    }
  const MsrSeesawScenario *r = &sw->scenarios[item];
  g_autofree char *a = fmt_double ("%.4f", r->auc_a), *b = fmt_double ("%.4f", r->auc_b);
  g_autofree char *cia = fmt_interval (&r->ci_auc_a, "%.4f"), *cib = fmt_interval (&r->ci_auc_b, "%.4f");
  g_autofree char *d = fmt_double ("%+.4f", r->delta), *cid = fmt_interval (&r->ci_delta, "%+.4f");
  g_autofree char *ri = fmt_double ("%+.2f%%", r->relaimpr), *p = fmt_p (r->p), *ph = fmt_p (r->p_holm);
  g_autofree char *n = lens_format_count (r->n);
  g_autofree char *text = g_strdup_printf ("%s (%s rows): AUC A %s %s, AUC B %s %s; ΔAUC %s %s, RelaImpr %s; "
                                           "DeLong p = %s, p (Holm) = %s → %s", r->name, n, a, cia, b, cib, d, cid,
                                           ri, p, ph,
                                           !r->tested ? "not testable"
                                           : r->outcome == MSR_SEESAW_WIN ? "win"
                                           : r->outcome == MSR_SEESAW_LOSS ? "loss" : "tie");
  gtk_label_set_text (self->readout_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->readout_label), TRUE);
}

static void
on_scatter_selected (LensSeesawPage *self, int item)
{
  if (item >= 0 && (guint) item < self->scatter_rows->len)
    on_diverging_selected (self, (int) g_array_index (self->scatter_rows, guint, item));
  else
    on_diverging_selected (self, -1);
}

static void
on_map (LensSeesawPage *self)
{
  if (self->waiting_for_dataset && self->session && lens_session_get_dataset (self->session))
    compute (self);
}

/* ---- actions -------------------------------------------------------------------- */

static void
swap_action (GtkWidget *widget, const char *name, GVariant *param)
{
  LensSeesawPage *self = LENS_SEESAW_PAGE (widget);
  lens_seesaw_page_set_pair (self, self->run_b, self->run_a);
}

static void
cancel_action (GtkWidget *widget, const char *name, GVariant *param)
{
  LensSeesawPage *self = LENS_SEESAW_PAGE (widget);
  if (self->job == NULL)
    return;
  cancel_job (self);
  set_message (self, "Comparison cancelled.");
  update_view (self);
}

static void
compute_action (GtkWidget *widget, const char *name, GVariant *param)
{
  compute (LENS_SEESAW_PAGE (widget));
}

/* ---- LensPage ------------------------------------------------------------------ */

static void
lens_seesaw_page_set_session (LensPage *page, LensSession *session)
{
  LensSeesawPage *self = LENS_SEESAW_PAGE (page);

  if (self->session == session)
    return;
  cancel_job (self);
  clear_result (self);
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_set_object (&self->session, session);
  self->run_a = self->run_b = 0;
  if (session != NULL)
    g_signal_connect_swapped (session, "runs-changed", G_CALLBACK (on_runs_changed), self);
  refill (self);
}

static LensChart *
lens_seesaw_page_get_chart (LensPage *page)
{
  return LENS_SEESAW_PAGE (page)->diverging;
}

static LensTable *
lens_seesaw_page_get_table (LensPage *page)
{
  return LENS_TABLE (LENS_SEESAW_PAGE (page)->table);
}

static void
lens_seesaw_page_page_init (LensPageInterface *iface)
{
  iface->set_session = lens_seesaw_page_set_session;
  iface->get_chart = lens_seesaw_page_get_chart;
  iface->get_table = lens_seesaw_page_get_table;
}

/* ---- GObject ------------------------------------------------------------------- */

static void
lens_seesaw_page_dispose (GObject *object)
{
  LensSeesawPage *self = LENS_SEESAW_PAGE (object);

  g_clear_handle_id (&self->dataset_poll, g_source_remove);
  cancel_job (self);
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_clear_object (&self->session);
  /* AdwBin unparents its child itself: let go of it before the template's
   * children are cleared, so it is not unparented twice. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), LENS_TYPE_SEESAW_PAGE);
  G_OBJECT_CLASS (lens_seesaw_page_parent_class)->dispose (object);
}

static void
lens_seesaw_page_finalize (GObject *object)
{
  LensSeesawPage *self = LENS_SEESAW_PAGE (object);

  clear_result (self);
  g_array_unref (self->run_ids);
  g_array_unref (self->scatter_rows);
  g_clear_object (&self->diverging);
  g_clear_object (&self->scatter);
  g_free (self->error);
  g_free (self->verdict);
  G_OBJECT_CLASS (lens_seesaw_page_parent_class)->finalize (object);
}

static void
lens_seesaw_page_class_init (LensSeesawPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lens_seesaw_page_dispose;
  object_class->finalize = lens_seesaw_page_finalize;

  lens_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class, MSR_RESOURCE_PATH "/ui/lens-seesaw-page.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, LensSeesawPage, name)
  BIND (stack);
  BIND (empty_page);
  BIND (subtitle_label);
  BIND (a_dropdown);
  BIND (b_dropdown);
  BIND (busy_revealer);
  BIND (busy_label);
  BIND (progress_bar);
  BIND (message_box);
  BIND (message_label);
  BIND (verdict_label);
  BIND (headline_label);
  BIND (charts_box);
  BIND (diverging_box);
  BIND (scatter_box);
  BIND (readout_label);
  BIND (indicators_group);
  BIND (flag_sig_row);
  BIND (flag_sig_value);
  BIND (flag_tau_row);
  BIND (flag_tau_value);
  BIND (conflict_row);
  BIND (conflict_value);
  BIND (worst_row);
  BIND (worst_value);
  BIND (pareto_row);
  BIND (pareto_value);
  BIND (dominance_row);
  BIND (dominance_value);
  BIND (spearman_row);
  BIND (spearman_value);
  BIND (wtl_row);
  BIND (wtl_value);
  BIND (seeds_row);
  BIND (seeds_value);
  BIND (table_box);
  BIND (footnote_label);
#undef BIND

  gtk_widget_class_install_action (widget_class, "seesaw.swap", NULL, swap_action);
  gtk_widget_class_install_action (widget_class, "seesaw.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "seesaw.compute", NULL, compute_action);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
lens_seesaw_page_init (LensSeesawPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->run_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->scatter_rows = g_array_new (FALSE, FALSE, sizeof (guint));

  self->diverging_view = lens_chart_view_new ();
  gtk_widget_set_hexpand (self->diverging_view, TRUE);
  gtk_widget_set_vexpand (self->diverging_view, TRUE);
  gtk_box_append (self->diverging_box, self->diverging_view);
  g_signal_connect_swapped (self->diverging_view, "item-selected", G_CALLBACK (on_diverging_selected), self);

  self->scatter_view = lens_chart_view_new ();
  gtk_widget_set_hexpand (self->scatter_view, TRUE);
  gtk_widget_set_vexpand (self->scatter_view, TRUE);
  gtk_box_append (self->scatter_box, self->scatter_view);
  g_signal_connect_swapped (self->scatter_view, "item-selected", G_CALLBACK (on_scatter_selected), self);

  self->table = lens_table_new (LENS_TABLE_SELECT_NONE);
  gtk_widget_set_hexpand (self->table, TRUE);
  gtk_box_append (self->table_box, self->table);

  g_signal_connect_swapped (self->a_dropdown, "notify::selected", G_CALLBACK (on_pair_selected), self);
  g_signal_connect_swapped (self->b_dropdown, "notify::selected", G_CALLBACK (on_pair_selected), self);
  g_signal_connect (self, "map", G_CALLBACK (on_map), NULL);

  set_busy (self, FALSE);
  update_view (self);
}

/* ---- public API ---------------------------------------------------------------- */

GtkWidget *
lens_seesaw_page_new (void)
{
  return g_object_new (LENS_TYPE_SEESAW_PAGE, NULL);
}

void
lens_seesaw_page_set_pair (LensSeesawPage *self, gint64 a, gint64 b)
{
  g_return_if_fail (LENS_IS_SEESAW_PAGE (self));

  if (index_of (self, a) < 0 || index_of (self, b) < 0)
    {
      /* Not (yet) among the runs with stored scores: applied when they come. */
      self->want_a = a;
      self->want_b = b;
      if (self->session != NULL && lens_session_get_runs (self->session)->len > 0)
        {
          g_autofree char *msg = g_strdup_printf ("Run #%" G_GINT64_FORMAT " is not an evaluation run with stored "
                                                  "per-row scores: it cannot be compared.",
                                                  index_of (self, a) < 0 ? a : b);
          set_message (self, msg);
        }
      return;
    }
  self->want_a = self->want_b = 0;
  if (a == self->run_a && b == self->run_b && (self->seesaw != NULL || self->job != NULL))
    return;
  self->run_a = a;
  self->run_b = b;
  select_in_dropdowns (self);
  compute (self);
}

gint64
lens_seesaw_page_get_run_a (LensSeesawPage *self)
{
  g_return_val_if_fail (LENS_IS_SEESAW_PAGE (self), 0);
  return self->run_a;
}

gint64
lens_seesaw_page_get_run_b (LensSeesawPage *self)
{
  g_return_val_if_fail (LENS_IS_SEESAW_PAGE (self), 0);
  return self->run_b;
}

gboolean
lens_seesaw_page_is_busy (LensSeesawPage *self)
{
  g_return_val_if_fail (LENS_IS_SEESAW_PAGE (self), FALSE);
  return self->job != NULL;
}

const MsrSeesaw *
lens_seesaw_page_get_seesaw (LensSeesawPage *self)
{
  g_return_val_if_fail (LENS_IS_SEESAW_PAGE (self), NULL);
  return self->seesaw;
}

const MsrSeesawSeeds *
lens_seesaw_page_get_seeds (LensSeesawPage *self)
{
  g_return_val_if_fail (LENS_IS_SEESAW_PAGE (self), NULL);
  return self->seeds;
}

const char *
lens_seesaw_page_get_verdict (LensSeesawPage *self)
{
  g_return_val_if_fail (LENS_IS_SEESAW_PAGE (self), NULL);
  return self->verdict;
}

const char *
lens_seesaw_page_get_error (LensSeesawPage *self)
{
  g_return_val_if_fail (LENS_IS_SEESAW_PAGE (self), NULL);
  return self->error;
}

/* lens-truth-section.c: see lens-truth-section.h.
 *
 * The comparison itself (reading the ground truth, the click-rate
 * correlation, the Mantel test) is the engine's msr_sim_recovery_compute,
 * run in a LensJob thread; the rank agreement per run is the engine's
 * Spearman. This file only arranges what they return. */
#include "config.h"

#include "lens-truth-section.h"
#include "lens-chart-view.h"
#include "lens-format.h"
#include "lens-job.h"
#include "msr-seesaw.h"
#include "msr-simulate.h"

#include <math.h>

struct _LensTruthSection
{
  AdwBin          parent_instance;

  LensSession    *session;
  MsrSimRecovery *recovery;
  guint64         seed;
  LensJob        *job;
  GCancellable   *cancellable;
  char           *agreement;

  GtkStack       *stack;
  GtkSpinner     *spinner;
  GtkLabel       *error_label;
  LensChartView  *planted_view;
  LensChartView  *observed_view;
  GtkLabel       *caption_label;
  GtkLabel       *agreement_label;
  LensTable      *table;
};

G_DEFINE_FINAL_TYPE (LensTruthSection, lens_truth_section, ADW_TYPE_BIN)

enum { SIGNAL_READY, N_SIGNALS };
static guint signals[N_SIGNALS];

enum { COL_SCENARIO, COL_ALPHA, COL_RATE, COL_BAYES, COL_RUN, COL_AUC, COL_GAP, N_COLS };

typedef struct {
  MsrSimRecovery *recovery;
  guint64         seed;
} Output;

static void
output_free (gpointer data)
{
  Output *out = data;
  msr_sim_recovery_free (out->recovery);
  g_free (out);
}

/* Runs in the job's thread: the session (and so its dataset) is kept
 * alive by the reference the job data holds. */
static gpointer
recovery_thread (LensJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  LensSession *session = data;
  lens_job_report (job, -1, "Reading the ground truth");
  g_autoptr(MsrSimTruth) truth = msr_sim_truth_load (lens_session_get_dir (session), error);
  if (truth == NULL)
    return NULL;
  lens_job_report (job, -1, "Correlating the scenarios");
  MsrSimRecovery *rec = msr_sim_recovery_compute (truth, lens_session_get_dataset (session), error);
  if (rec == NULL)
    return NULL;
  Output *out = g_new0 (Output, 1);
  out->recovery = rec;
  out->seed = truth->seed;
  return out;
}


static double
run_auc (const LensRun *r, const char *scenario)
{
  const MsrResultsScopeMetrics *m = r->metrics
                                    ? msr_results_metrics_find (r->metrics, MSR_RESULTS_SCOPE_SCENARIO, scenario)
                                    : NULL;
  return m && m->metrics.auc_defined ? m->metrics.auc : NAN;
}

/* The difficulty table and the rank agreement of the selected runs. */
static void
rebuild_runs (LensTruthSection *self)
{
  const MsrSimRecovery *rec = self->recovery;
  if (rec == NULL || self->session == NULL)
    return;
  const guint S = rec->n_scenarios;
  g_autoptr(GPtrArray) runs = g_ptr_array_new ();
  GArray *sel = lens_session_get_selection (self->session);
  for (guint i = 0; i < sel->len; i++)
    {
      const LensRun *r = lens_session_find_run (self->session, g_array_index (sel, gint64, i));
      if (r && r->metrics)
        g_ptr_array_add (runs, (gpointer) r);
    }

  g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);
  g_autofree double *keys = g_new (double, (gsize) S * N_COLS);
  for (guint s = 0; s < S; s++)
    {
      const LensRun *best = NULL;
      double best_auc = NAN;
      for (guint i = 0; i < runs->len; i++)
        {
          double auc = run_auc (g_ptr_array_index (runs, i), rec->names[s]);
          if (!isnan (auc) && (best == NULL || auc > best_auc))
            best = g_ptr_array_index (runs, i), best_auc = auc;
        }
      double *k = keys + (gsize) s * N_COLS;
      k[COL_SCENARIO] = k[COL_RUN] = NAN;
      k[COL_ALPHA] = rec->alpha[s];
      k[COL_RATE] = rec->base_rate[s];
      k[COL_BAYES] = rec->bayes_auc[s];
      k[COL_AUC] = best_auc;
      k[COL_GAP] = best ? rec->bayes_auc[s] - best_auc : NAN;
      g_ptr_array_add (cells, g_strdup (rec->names[s]));
      g_ptr_array_add (cells, g_strdup_printf ("%.2f", rec->alpha[s]));
      g_ptr_array_add (cells, g_strdup_printf ("%.1f%%", 100 * rec->base_rate[s]));
      g_ptr_array_add (cells, g_strdup_printf ("%.4f", rec->bayes_auc[s]));
      g_ptr_array_add (cells, best ? lens_run_get_label (best) : g_strdup ("–"));
      g_ptr_array_add (cells, best ? g_strdup_printf ("%.4f", best_auc) : g_strdup ("–"));
      g_ptr_array_add (cells, best ? g_strdup_printf ("%+.4f", k[COL_GAP]) : g_strdup ("–"));
    }
  lens_table_set_rows (self->table, S, (const char * const *) cells->pdata, keys, NULL);

  /* Does each run find the same scenarios hard as the truth does? */
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree double *auc = g_new (double, S);
  for (guint i = 0; i < runs->len; i++)
    {
      const LensRun *r = g_ptr_array_index (runs, i);
      for (guint s = 0; s < S; s++)
        auc[s] = run_auc (r, rec->names[s]);
      double rho = msr_seesaw_spearman (auc, rec->bayes_auc, S);
      g_autofree char *label = lens_run_get_label (r);
      g_string_append_printf (text, "%s%s %s", text->len ? ", " : "", label,
                              isnan (rho) ? "undefined" : "");
      if (!isnan (rho))
        g_string_append_printf (text, "%.2f", rho);
    }
  g_free (self->agreement);
  if (runs->len == 0)
    self->agreement = g_strdup ("Select evaluation runs on the Runs page to compare what they reached with the "
                                "planted difficulty.");
  else
    self->agreement = g_strdup_printf ("α is the planted signal strength of a scenario: the higher, the easier. "
                                       "The Bayes AUC is what the true click probabilities reach on the test rows, "
                                       "a ceiling no model can pass except by chance. Spearman ρ of each selected "
                                       "run's per-scenario AUC against it (1: the run finds the same scenarios "
                                       "hard): %s.", text->str);
  gtk_label_set_text (self->agreement_label, self->agreement);
}

static LensChart *
matrix_chart (const MsrSimRecovery *rec, const char *title, const double *values)
{
  /* The same diverging scale around 0 on both, so colours compare. */
  return lens_chart_new_heatmap (title, "correlation", rec->n_scenarios, (const char * const *) rec->names,
                                 rec->n_scenarios, (const char * const *) rec->names, values, NULL,
                                 LENS_COLOR_SCALE_DIVERGING, 0.0, "%.2f");
}

static void
show_recovery (LensTruthSection *self)
{
  const MsrSimRecovery *rec = self->recovery;
  g_autoptr(LensChart) planted = matrix_chart (rec, "Planted scenario correlation", rec->planted);
  g_autoptr(LensChart) observed = matrix_chart (rec, "Observed: users' click-rate correlation", rec->observed);
  g_autofree char *note = g_strdup_printf ("All rows; users with ≥ %u rows in both scenarios", rec->min_rows);
  lens_chart_set_note (observed, note);
  lens_chart_set_note (planted, "What the generator drew the clicks from");
  lens_chart_view_set_chart (self->planted_view, planted);
  lens_chart_view_set_chart (self->observed_view, observed);

  g_autofree char *perms = lens_format_count (rec->permutations);
  g_autofree char *caption = NULL;
  if (isnan (rec->mantel_r))
    caption = g_strdup_printf ("World seed %" G_GUINT64_FORMAT ". The Mantel test is undefined: too few scenario "
                               "pairs have an observed correlation.", self->seed);
  else
    caption = g_strdup_printf ("World seed %" G_GUINT64_FORMAT ". Mantel test between the two matrices (their "
                               "%u off-diagonal pairs): r = %.3f, one-sided permutation p = %.4f (%s "
                               "permutations; with %u scenarios p cannot fall below %.4f). %s",
                               self->seed, rec->n_scenarios * (rec->n_scenarios - 1) / 2, rec->mantel_r,
                               rec->mantel_p, perms, rec->n_scenarios, rec->mantel_p_floor,
                               rec->mantel_r > 0.5 && rec->mantel_p < 0.05
                               ? "The data recover the planted structure."
                               : "The data do not clearly recover the planted structure.");
  gtk_label_set_text (self->caption_label, caption);
  rebuild_runs (self);
  gtk_stack_set_visible_child_name (self->stack, "ready");
  g_signal_emit (self, signals[SIGNAL_READY], 0);
}

static void
on_recovery_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(LensTruthSection) self = user_data;
  g_autoptr(GError) error = NULL;
  Output *out = lens_job_run_finish (LENS_JOB (source), result, &error);

  if (LENS_JOB (source) != self->job)
    {
      if (out)
        output_free (out);
      return;
    }
  g_clear_object (&self->job);
  g_clear_object (&self->cancellable);
  gtk_spinner_stop (self->spinner);
  if (out == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_autofree char *text = g_strdup_printf ("The planted truth cannot be shown: %s", error->message);
      gtk_label_set_text (self->error_label, text);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->error_label), error->message);
      gtk_stack_set_visible_child_name (self->stack, "error");
      return;
    }
  self->recovery = g_steal_pointer (&out->recovery);
  self->seed = out->seed;
  output_free (out);
  show_recovery (self);
}

static void
stop (LensTruthSection *self)
{
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->job);
  g_clear_pointer (&self->recovery, msr_sim_recovery_free);
  if (self->session)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_clear_object (&self->session);
}

void
lens_truth_section_set_session (LensTruthSection *self, LensSession *session)
{
  g_return_if_fail (LENS_IS_TRUTH_SECTION (self));
  stop (self);
  lens_chart_view_set_chart (self->planted_view, NULL);
  lens_chart_view_set_chart (self->observed_view, NULL);
  lens_table_set_rows (self->table, 0, NULL, NULL, NULL);
  const gboolean simulated = session != NULL && lens_session_get_dataset (session) != NULL &&
                             lens_session_is_simulated (session);
  gtk_widget_set_visible (GTK_WIDGET (self), simulated);
  if (!simulated)
    return;

  self->session = g_object_ref (session);
  g_signal_connect_swapped (session, "runs-changed", G_CALLBACK (rebuild_runs), self);
  g_signal_connect_swapped (session, "selection-changed", G_CALLBACK (rebuild_runs), self);
  gtk_stack_set_visible_child_name (self->stack, "computing");
  gtk_spinner_start (self->spinner);
  self->cancellable = g_cancellable_new ();
  self->job = lens_job_new ("Planted truth");
  lens_job_run_async (self->job, recovery_thread, g_object_ref (session), g_object_unref, output_free,
                      self->cancellable, on_recovery_done, g_object_ref (self));
}

gboolean
lens_truth_section_is_ready (LensTruthSection *self)
{
  g_return_val_if_fail (LENS_IS_TRUTH_SECTION (self), FALSE);
  return self->recovery != NULL;
}

LensChart *
lens_truth_section_get_planted_chart (LensTruthSection *self)
{
  return lens_chart_view_get_chart (self->planted_view);
}

LensChart *
lens_truth_section_get_observed_chart (LensTruthSection *self)
{
  return lens_chart_view_get_chart (self->observed_view);
}

LensTable *
lens_truth_section_get_table (LensTruthSection *self)
{
  return self->table;
}

const char *
lens_truth_section_get_caption (LensTruthSection *self)
{
  return gtk_label_get_text (self->caption_label);
}

const char *
lens_truth_section_get_agreement (LensTruthSection *self)
{
  return self->agreement;
}

static void
lens_truth_section_dispose (GObject *object)
{
  LensTruthSection *self = LENS_TRUTH_SECTION (object);
  stop (self);
  g_clear_pointer (&self->agreement, g_free);
  /* The template's top widget is the bin's child (see the Overview page). */
  adw_bin_set_child (ADW_BIN (self), NULL);
  G_OBJECT_CLASS (lens_truth_section_parent_class)->dispose (object);
}

static void
lens_truth_section_class_init (LensTruthSectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lens_truth_section_dispose;
  /* The comparison is shown (the charts and table are filled). */
  signals[SIGNAL_READY] = g_signal_new ("ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                        NULL, G_TYPE_NONE, 0);
  g_type_ensure (LENS_TYPE_CHART_VIEW);
  g_type_ensure (LENS_TYPE_TABLE);
  gtk_widget_class_set_template_from_resource (widget_class, MSR_RESOURCE_PATH "/ui/lens-truth-section.ui");
  gtk_widget_class_bind_template_child (widget_class, LensTruthSection, stack);
  gtk_widget_class_bind_template_child (widget_class, LensTruthSection, spinner);
  gtk_widget_class_bind_template_child (widget_class, LensTruthSection, error_label);
  gtk_widget_class_bind_template_child (widget_class, LensTruthSection, planted_view);
  gtk_widget_class_bind_template_child (widget_class, LensTruthSection, observed_view);
  gtk_widget_class_bind_template_child (widget_class, LensTruthSection, caption_label);
  gtk_widget_class_bind_template_child (widget_class, LensTruthSection, agreement_label);
  gtk_widget_class_bind_template_child (widget_class, LensTruthSection, table);
}

static void
lens_truth_section_init (LensTruthSection *self)
{
  static const char *const titles[N_COLS] = { "Scenario", "Planted α", "Planted click rate", "Bayes AUC (test)",
                                              "Best selected run", "Its test AUC", "Gap to Bayes" };
  static const gboolean numeric[N_COLS] = { FALSE, TRUE, TRUE, TRUE, FALSE, TRUE, TRUE };
  gtk_widget_init_template (GTK_WIDGET (self));
  lens_table_set_columns (self->table, N_COLS, titles, numeric);
  lens_table_set_label (self->table, "Planted difficulty per scenario");
}

GtkWidget *
lens_truth_section_new (void)
{
  return g_object_new (LENS_TYPE_TRUTH_SECTION, NULL);
}

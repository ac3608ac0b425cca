/* lens-overview-page.c: see lens-overview-page.h. */
#include "config.h"
#include "lens-overview-page.h"
#include "lens-chart-view.h"
#include "lens-format.h"
#include "lens-truth-section.h"

#include <math.h>

struct _LensOverviewPage
{
  AdwBin              parent_instance;

  LensSession        *session;
  GArray             *run_ids;     /* gint64, the runs shown */

  LensDatasetSummary *summary;
  GtkLabel           *runs_caption;
  GtkStack           *eval_stack;
  LensChartView      *chart_view;
  GtkLabel           *readout_label;
  LensTable          *table;
  LensTruthSection   *truth;
  GtkScrolledWindow  *scroller;
  gboolean            reveal_truth;  /* scroll to it once it is laid out */
  guint               reveal_frames;
};

static void lens_overview_page_iface_init (LensPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LensOverviewPage, lens_overview_page, ADW_TYPE_BIN,
                               G_IMPLEMENT_INTERFACE (LENS_TYPE_PAGE, lens_overview_page_iface_init))


static char *
with_ci (double v, gboolean defined, gboolean has_ci, const MsrInterval *ci)
{
  if (!defined || isnan (v))
    return g_strdup ("undefined");
  if (!has_ci || ci->n_defined == 0)
    return g_strdup_printf ("%.4f", v);
  return g_strdup_printf ("%.4f [%.4f, %.4f]", v, ci->lo, ci->hi);
}

static void
rebuild (LensOverviewPage *self)
{
  g_array_set_size (self->run_ids, 0);
  if (self->session == NULL)
    {
      lens_chart_view_set_chart (self->chart_view, NULL);
      gtk_stack_set_visible_child_name (self->eval_stack, "empty");
      return;
    }
  GArray *sel = lens_session_get_selection (self->session);
  g_autoptr(GPtrArray) runs = g_ptr_array_new ();
  for (guint i = 0; i < sel->len; i++)
    {
      const LensRun *r = lens_session_find_run (self->session, g_array_index (sel, gint64, i));
      if (r && r->metrics)
        {
          g_ptr_array_add (runs, (gpointer) r);
          g_array_append_val (self->run_ids, r->info->id);
        }
    }
  const guint total_eval = lens_session_get_runs (self->session)->len;
  if (runs->len == 0)
    {
      gtk_label_set_text (self->runs_caption, total_eval
                          ? "No evaluation run is selected: select runs on the Runs page."
                          : "");
      lens_chart_view_set_chart (self->chart_view, NULL);
      lens_table_set_rows (self->table, 0, NULL, NULL, NULL);
      gtk_stack_set_visible_child_name (self->eval_stack, "empty");
      return;
    }

  /* Groups: the scenarios in dataset order, then "overall". */
  const LensRun *first = g_ptr_array_index (runs, 0);
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func (g_free);
  for (guint k = 0; k < first->metrics->n_scopes; k++)
    if (first->metrics->scopes[k].scope == MSR_RESULTS_SCOPE_SCENARIO)
      g_ptr_array_add (groups, g_strdup (first->metrics->scopes[k].scenario));
  g_ptr_array_add (groups, g_strdup ("overall"));
  const guint G = groups->len, R = runs->len;

  g_autofree double *values = g_new (double, G * R), *lo = g_new (double, G * R), *hi = g_new (double, G * R);
  g_autofree guint64 *counts = g_new0 (guint64, G * R);
  g_autoptr(GPtrArray) series = g_ptr_array_new_with_free_func (g_free);
  /* Table: one row per run and scope. */
  const guint C = 7;
  g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) keys = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (guint s = 0; s < R; s++)
    {
      const LensRun *r = g_ptr_array_index (runs, s);
      g_ptr_array_add (series, lens_run_get_label (r));
      for (guint g = 0; g < G; g++)
        {
          const gboolean overall = g + 1 == G;
          const MsrResultsScopeMetrics *m =
            msr_results_metrics_find (r->metrics, overall ? MSR_RESULTS_SCOPE_OVERALL : MSR_RESULTS_SCOPE_SCENARIO,
                                      g_ptr_array_index (groups, g));
          const gsize at = g * R + s;
          values[at] = lo[at] = hi[at] = NAN;
          if (m == NULL)
            continue;
          values[at] = m->metrics.auc_defined ? m->metrics.auc : NAN;
          if (m->has_ci && m->ci_auc.n_defined)
            {
              lo[at] = m->ci_auc.lo;
              hi[at] = m->ci_auc.hi;
            }
          counts[at] = m->metrics.n;

          g_autofree char *n = lens_format_count (m->metrics.n);
          g_autofree char *cov = m->metrics.gauc_users
                                 ? g_strdup_printf ("%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " users",
                                                    m->metrics.gauc_users_kept, m->metrics.gauc_users)
                                 : g_strdup ("");
          g_ptr_array_add (cells, lens_run_get_label (r));
          g_ptr_array_add (cells, g_strdup (g_ptr_array_index (groups, g)));
          g_ptr_array_add (cells, g_steal_pointer (&n));
          g_ptr_array_add (cells, with_ci (m->metrics.auc, m->metrics.auc_defined, m->has_ci, &m->ci_auc));
          g_ptr_array_add (cells, m->metrics.logloss_defined ? g_strdup_printf ("%.4f", m->metrics.logloss)
                                                             : g_strdup ("undefined"));
          g_ptr_array_add (cells, with_ci (m->metrics.gauc, m->metrics.gauc_defined, m->has_ci, &m->ci_gauc));
          g_ptr_array_add (cells, g_steal_pointer (&cov));
          const double k[7] = { NAN, NAN, (double) m->metrics.n, values[at], m->metrics.logloss,
                                m->metrics.gauc_defined ? m->metrics.gauc : NAN,
                                m->metrics.gauc_users ? (double) m->metrics.gauc_users_kept / m->metrics.gauc_users : NAN };
          g_array_append_vals (keys, k, C);
          g_array_append_val (ids, r->info->id);
        }
    }

  g_autoptr(LensChart) chart = lens_chart_new_bar ("Test AUC per scenario", "AUC", G,
                                                   (const char * const *) groups->pdata, R,
                                                   (const char * const *) series->pdata, values, lo, hi, counts,
                                                   NAN, NAN);
  lens_chart_view_set_chart (self->chart_view, chart);
  lens_table_set_rows (self->table, cells->len / C, (const char * const *) cells->pdata, (const double *) keys->data,
                       (const gint64 *) ids->data);
  g_autofree char *caption = g_strdup_printf ("%u run%s selected on the Runs page. Whiskers and brackets: 95%% "
                                              "bootstrap confidence intervals (rows resampled within scenario × label).",
                                              R, R == 1 ? "" : "s");
  gtk_label_set_text (self->runs_caption, caption);
  gtk_label_set_text (self->readout_label, "Hover or select a bar to read its exact value.");
  gtk_stack_set_visible_child_name (self->eval_stack, "runs");
}

static void
on_item_selected (LensOverviewPage *self, int item)
{
  const char *readout = lens_chart_view_get_readout (self->chart_view);
  gtk_label_set_text (self->readout_label, readout ? readout : "");
}

/* Scrolls the page so that the planted truth's heading is at the top. */
static gboolean
scroll_to_truth (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  LensOverviewPage *self = LENS_OVERVIEW_PAGE (widget);
  /* The scrolled content (inside the viewport), whose origin does not move
   * with scrolling. */
  GtkWidget *viewport = gtk_scrolled_window_get_child (self->scroller);
  GtkWidget *content = viewport ? gtk_widget_get_first_child (viewport) : NULL;
  graphene_point_t at;

  if (!self->reveal_truth || content == NULL || !gtk_widget_get_visible (GTK_WIDGET (self->truth)))
    return G_SOURCE_REMOVE;
  /* Wait for the section to be shown and laid out. */
  if (!lens_truth_section_is_ready (self->truth) || !gtk_widget_get_mapped (GTK_WIDGET (self->truth)) ||
      gtk_widget_get_height (GTK_WIDGET (self->truth)) == 0 || gtk_widget_get_height (content) == 0 ||
      !gtk_widget_compute_point (GTK_WIDGET (self->truth), content, &GRAPHENE_POINT_INIT (0, 0), &at))
    return G_SOURCE_CONTINUE;
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (self->scroller);
  const double target = MAX (0, at.y - 12);
  gtk_adjustment_set_value (adj, target);
  /* The adjustment clamps while the content below is still being laid
   * out: try again on the next frames, for a while. */
  if (gtk_adjustment_get_value (adj) < target - 1 && ++self->reveal_frames < 60)
    return G_SOURCE_CONTINUE;
  self->reveal_truth = FALSE;
  return G_SOURCE_REMOVE;
}

static void
start_reveal (LensOverviewPage *self)
{
  self->reveal_frames = 0;
  gtk_widget_add_tick_callback (GTK_WIDGET (self), scroll_to_truth, NULL, NULL);
}

gboolean
lens_overview_page_reveal_truth (LensOverviewPage *self)
{
  g_return_val_if_fail (LENS_IS_OVERVIEW_PAGE (self), FALSE);
  /* Asked before a project is open (--page planted-truth): done when the
   * session comes, if it is simulated. */
  if (self->session == NULL)
    {
      self->reveal_truth = TRUE;
      return TRUE;
    }
  if (!gtk_widget_get_visible (GTK_WIDGET (self->truth)))
    return FALSE;
  if (!self->reveal_truth)
    {
      self->reveal_truth = TRUE;
      start_reveal (self);
    }
  return TRUE;
}

static void
set_session (LensPage *page, LensSession *session)
{
  LensOverviewPage *self = LENS_OVERVIEW_PAGE (page);
  if (self->session)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_set_object (&self->session, session);
  if (session)
    {
      g_signal_connect_swapped (session, "runs-changed", G_CALLBACK (rebuild), self);
      g_signal_connect_swapped (session, "selection-changed", G_CALLBACK (rebuild), self);
      lens_dataset_summary_set_dataset (self->summary, lens_session_get_dataset (session),
                                        lens_session_get_stats (session));
    }
  else
    lens_dataset_summary_set_dataset (self->summary, NULL, NULL);
  lens_truth_section_set_session (self->truth, session);
  if (self->reveal_truth && session != NULL)
    {
      self->reveal_truth = gtk_widget_get_visible (GTK_WIDGET (self->truth));
      if (self->reveal_truth)
        start_reveal (self);
    }
  rebuild (self);
}

static LensChart *
get_chart (LensPage *page)
{
  return lens_chart_view_get_chart (LENS_OVERVIEW_PAGE (page)->chart_view);
}

static LensTable *
get_table (LensPage *page)
{
  return LENS_OVERVIEW_PAGE (page)->table;
}

static void
lens_overview_page_iface_init (LensPageInterface *iface)
{
  iface->set_session = set_session;
  iface->get_chart = get_chart;
  iface->get_table = get_table;
}

static void
lens_overview_page_dispose (GObject *object)
{
  LensOverviewPage *self = LENS_OVERVIEW_PAGE (object);
  if (self->session)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_clear_object (&self->session);
  /* The template's top widget is the bin's child: unparent it once, here,
   * rather than twice (bin and template both would). */
  adw_bin_set_child (ADW_BIN (self), NULL);
  G_OBJECT_CLASS (lens_overview_page_parent_class)->dispose (object);
}

static void
lens_overview_page_finalize (GObject *object)
{
  g_array_unref (LENS_OVERVIEW_PAGE (object)->run_ids);
  G_OBJECT_CLASS (lens_overview_page_parent_class)->finalize (object);
}

static void
lens_overview_page_class_init (LensOverviewPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lens_overview_page_dispose;
  object_class->finalize = lens_overview_page_finalize;
  g_type_ensure (LENS_TYPE_DATASET_SUMMARY);
  g_type_ensure (LENS_TYPE_CHART_VIEW);
  g_type_ensure (LENS_TYPE_TABLE);
  g_type_ensure (LENS_TYPE_TRUTH_SECTION);
  gtk_widget_class_set_template_from_resource (widget_class, MSR_RESOURCE_PATH "/ui/lens-overview-page.ui");
  gtk_widget_class_bind_template_child (widget_class, LensOverviewPage, summary);
  gtk_widget_class_bind_template_child (widget_class, LensOverviewPage, runs_caption);
  gtk_widget_class_bind_template_child (widget_class, LensOverviewPage, eval_stack);
  gtk_widget_class_bind_template_child (widget_class, LensOverviewPage, chart_view);
  gtk_widget_class_bind_template_child (widget_class, LensOverviewPage, readout_label);
  gtk_widget_class_bind_template_child (widget_class, LensOverviewPage, table);
  gtk_widget_class_bind_template_child (widget_class, LensOverviewPage, truth);
  gtk_widget_class_bind_template_child (widget_class, LensOverviewPage, scroller);
}

static void
lens_overview_page_init (LensOverviewPage *self)
{
  static const char *const titles[7] = { "Run", "Scenario", "Rows", "AUC [95% CI]", "Logloss", "GAUC [95% CI]",
                                         "GAUC coverage" };
  static const gboolean numeric[7] = { FALSE, FALSE, TRUE, TRUE, TRUE, TRUE, TRUE };
  self->run_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  gtk_widget_init_template (GTK_WIDGET (self));
  lens_table_set_columns (self->table, 7, titles, numeric);
  g_signal_connect_swapped (self->chart_view, "item-selected", G_CALLBACK (on_item_selected), self);
}

GtkWidget *
lens_overview_page_new (void)
{
  return g_object_new (LENS_TYPE_OVERVIEW_PAGE, NULL);
}

LensDatasetSummary *
lens_overview_page_get_summary (LensOverviewPage *self)
{
  return self->summary;
}

LensTruthSection *
lens_overview_page_get_truth_section (LensOverviewPage *self)
{
  return self->truth;
}

GArray *
lens_overview_page_get_run_ids (LensOverviewPage *self)
{
  return self->run_ids;
}

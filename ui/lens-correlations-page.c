/* lens-correlations-page.c: see lens-correlations-page.h. */
#include "config.h"

#include "lens-correlations-page.h"
#include "lens-chart-view.h"
#include "lens-job.h"
#include "lens-markdown.h"
#include "lens-table.h"
#include "lens-ui.h"
#include "msr-knowledge.h"
#include "msr-pipeline.h"

#include <math.h>
#include <string.h>

#define GRID_COLUMNS 2

struct _LensCorrelationsPage
{
  AdwBin parent_instance;

  LensSession          *session;
  LensJob              *job;
  GCancellable         *cancellable;
  MsrCorrelationReport *report;
  GPtrArray            *views;        /* LensChartView*, one per matrix */
  LensChart            *focus_chart;  /* the chart last clicked, for Export */
  GArray               *model_runs;   /* gint64: dropdown entries after "None" */
  gboolean              updating;
  char                 *pair_text;
  gint64                computed_run; /* the model of the report shown */
  gboolean              user_chose;   /* the model was picked by hand */

  GtkStack             *stack;
  GtkLabel             *empty_commands;
  GtkLabel             *subtitle_label;
  GtkDropDown          *model_dropdown;
  GtkWidget            *busy_box;
  GtkSpinner           *spinner;
  GtkLabel             *busy_label;
  GtkGrid              *charts_grid;
  GtkLabel             *caption_label;
  GtkLabel             *pair_label;
  GtkLabel             *rationale_a;
  GtkLabel             *rationale_b;
  LensTable            *table;
};

static void lens_correlations_page_iface_init (LensPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LensCorrelationsPage, lens_correlations_page, ADW_TYPE_BIN,
                               G_IMPLEMENT_INTERFACE (LENS_TYPE_PAGE, lens_correlations_page_iface_init))

enum { COL_A, COL_B, COL_PAIRS, COL_R, COL_P, N_COLS };

/* ---- the computation --------------------------------------------------------- */

typedef struct {
  LensSession *session;
  char        *model_path;   /* nullable */
  char        *model_label;
} Input;

static void
input_free (gpointer data)
{
  Input *in = data;
  g_clear_object (&in->session);
  g_free (in->model_path);
  g_free (in->model_label);
  g_free (in);
}

static gpointer
compute_thread (LensJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  Input *in = data;
  MsrProject *project = lens_session_get_project (in->session);
  g_autoptr(MsrModel) model = NULL;
  if (in->model_path)
    {
      lens_job_report (job, -1, "Loading the model");
      model = msr_pipeline_load_model (project, in->model_path, error);
      if (model == NULL)
        return NULL;
    }
  lens_job_report (job, -1, "Comparing the matrices");
  g_autofree char *store = msr_project_get_knowledge_path (project);
  return msr_explain_correlations (msr_project_get_dir (project), store, model, in->model_label,
                                   lens_session_get_dataset (in->session), MSR_EXPLAIN_PERMUTATIONS,
                                   cancellable, error);
}

static void
set_busy (LensCorrelationsPage *self, gboolean busy, const char *text)
{
  gtk_widget_set_visible (self->busy_box, busy);
  gtk_spinner_set_spinning (self->spinner, busy);
  gtk_label_set_text (self->busy_label, text ? text : "");
}

static void
on_job_stage (LensCorrelationsPage *self)
{
  const char *stage = self->job ? lens_job_get_stage (self->job) : NULL;
  g_autofree char *text = g_strdup_printf ("%s…", stage ? stage : "Computing");
  gtk_label_set_text (self->busy_label, text);
}

static void show_report (LensCorrelationsPage *self);

static void
on_computed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(LensCorrelationsPage) self = user_data;
  g_autoptr(GError) error = NULL;
  MsrCorrelationReport *report = lens_job_run_finish (LENS_JOB (source), result, &error);
  if (LENS_JOB (source) != self->job)
    {
      msr_correlation_report_free (report);
      return;
    }
  g_clear_object (&self->job);
  g_clear_object (&self->cancellable);
  set_busy (self, FALSE, NULL);
  if (report == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          gtk_label_set_text (self->caption_label, error->message);
          lens_page_report_error (LENS_PAGE (self), error->message);
        }
      return;
    }
  g_clear_pointer (&self->report, msr_correlation_report_free);
  self->report = report;
  show_report (self);
}

static gint64
selected_run (LensCorrelationsPage *self)
{
  guint i = gtk_drop_down_get_selected (self->model_dropdown);
  return i != GTK_INVALID_LIST_POSITION && i > 0 && i - 1 < self->model_runs->len
         ? g_array_index (self->model_runs, gint64, i - 1) : 0;
}

static void
compute (LensCorrelationsPage *self)
{
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->job);
  if (self->session == NULL || lens_session_get_dataset (self->session) == NULL)
    return;
  Input *in = g_new0 (Input, 1);
  in->session = g_object_ref (self->session);
  const gint64 id = selected_run (self);
  const LensRun *run = id ? lens_session_find_run (self->session, id) : NULL;
  if (run && run->info->model_path)
    {
      in->model_path = g_strdup (run->info->model_path);
      in->model_label = lens_run_get_label (run);
    }
  self->computed_run = id;
  self->cancellable = g_cancellable_new ();
  self->job = lens_job_new ("Scenario correlations");
  g_signal_connect_swapped (self->job, "notify::stage", G_CALLBACK (on_job_stage), self);
  set_busy (self, TRUE, "Comparing the matrices…");
  lens_job_run_async (self->job, compute_thread, in, input_free, (GDestroyNotify) msr_correlation_report_free,
                      self->cancellable, on_computed, g_object_ref (self));
}

/* ---- showing it ----------------------------------------------------------------- */

static char *
pair_values (LensCorrelationsPage *self, guint a, guint b)
{
  const MsrCorrelationReport *r = self->report;
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "%s × %s: ", r->scenarios[a], r->scenarios[b]);
  for (guint m = 0; m < r->matrices->len; m++)
    {
      const MsrScenarioMatrix *mx = r->matrices->pdata[m];
      const double v = mx->values[(gsize) a * r->n_scenarios + b];
      g_string_append_printf (s, "%s%s %s", m ? "; " : "", mx->title, isnan (v) ? "undefined" : "");
      if (!isnan (v))
        g_string_append_printf (s, "%.3f", v);
    }
  g_string_append_c (s, '.');
  return g_string_free (s, FALSE);
}

static void
set_rationale (LensCorrelationsPage *self, GtkLabel *label, guint s)
{
  const MsrCorrelationReport *r = self->report;
  if (r->texts[s] == NULL)
    {
      g_autofree char *name = g_markup_escape_text (r->scenarios[s], -1);
      g_autofree char *text = g_strdup_printf ("<b>%s</b>\n\nNo scenario-level knowledge for this scenario: "
                                               "import what an LLM wrote about it, or derive it from item "
                                               "knowledge (msrlens-cli knowledge encode).", name);
      gtk_label_set_markup (label, text);
      return;
    }
  g_autofree char *name = g_markup_escape_text (r->scenarios[s], -1);
  g_autofree char *src = g_markup_escape_text (r->text_sources[s] ? r->text_sources[s] : "", -1);
  g_autofree char *body = lens_markdown_to_pango (r->texts[s]);
  g_autofree char *text = g_strdup_printf ("<b>%s</b> <span alpha=\"60%%\">(%s)</span>\n\n%s", name, src, body);
  gtk_label_set_markup (label, text);
}

void
lens_correlations_page_select_pair (LensCorrelationsPage *self, guint a, guint b)
{
  g_return_if_fail (LENS_IS_CORRELATIONS_PAGE (self));
  const MsrCorrelationReport *r = self->report;
  if (r == NULL || a >= r->n_scenarios || b >= r->n_scenarios)
    return;
  g_free (self->pair_text);
  self->pair_text = pair_values (self, a, b);
  gtk_label_set_text (self->pair_label, self->pair_text);
  set_rationale (self, self->rationale_a, a);
  set_rationale (self, self->rationale_b, b);
}

static void
on_item_selected (LensCorrelationsPage *self, int item, LensChartView *view)
{
  if (item < 0 || self->report == NULL)
    return;
  self->focus_chart = lens_chart_view_get_chart (view);
  const guint S = self->report->n_scenarios;
  lens_correlations_page_select_pair (self, (guint) item / S, (guint) item % S);
}

static void
clear_views (LensCorrelationsPage *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->charts_grid))) != NULL)
    gtk_grid_remove (self->charts_grid, child);
  g_ptr_array_set_size (self->views, 0);
  self->focus_chart = NULL;
}

static void
show_report (LensCorrelationsPage *self)
{
  const MsrCorrelationReport *r = self->report;
  const guint S = r->n_scenarios;
  clear_views (self);
  for (guint m = 0; m < r->matrices->len; m++)
    {
      const MsrScenarioMatrix *mx = r->matrices->pdata[m];
      g_autoptr(LensChart) chart = lens_chart_new_heatmap (mx->title, "correlation", S,
                                                           (const char * const *) r->scenarios, S,
                                                           (const char * const *) r->scenarios, mx->values, NULL,
                                                           LENS_COLOR_SCALE_DIVERGING, 0.0, "%.2f");
      lens_chart_set_note (chart, mx->note);
      /* One colour scale for every matrix, so colours compare. */
      lens_chart_set_value_range (chart, -1.0, 1.0);
      GtkWidget *view = lens_chart_view_new ();
      gtk_widget_set_size_request (view, 360, 380);
      gtk_widget_set_vexpand (view, FALSE);
      lens_chart_view_set_chart (LENS_CHART_VIEW (view), chart);
      g_signal_connect_object (view, "item-selected", G_CALLBACK (on_item_selected), self, G_CONNECT_SWAPPED);
      GtkWidget *frame = gtk_frame_new (NULL);
      gtk_widget_add_css_class (frame, "view");
      gtk_widget_add_css_class (frame, "chart-frame");
      gtk_frame_set_child (GTK_FRAME (frame), view);
      gtk_grid_attach (self->charts_grid, frame, (int) (m % GRID_COLUMNS), (int) (m / GRID_COLUMNS), 1, 1);
      g_ptr_array_add (self->views, view);
    }
  if (self->views->len)
    self->focus_chart = lens_chart_view_get_chart (self->views->pdata[0]);

  /* The Mantel table. */
  g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);
  g_autofree double *keys = g_new (double, MAX (r->n_agreements, 1) * N_COLS);
  for (guint i = 0; i < r->n_agreements; i++)
    {
      const MsrMatrixAgreement *ag = &r->agreements[i];
      const MsrScenarioMatrix *ma = r->matrices->pdata[ag->a], *mb = r->matrices->pdata[ag->b];
      double *k = keys + (gsize) i * N_COLS;
      k[COL_A] = k[COL_B] = NAN;
      k[COL_PAIRS] = ag->pairs;
      k[COL_R] = ag->r;
      k[COL_P] = ag->p;
      g_ptr_array_add (cells, g_strdup (ma->title));
      g_ptr_array_add (cells, g_strdup (mb->title));
      g_ptr_array_add (cells, g_strdup_printf ("%u", ag->pairs));
      g_ptr_array_add (cells, isnan (ag->r) ? g_strdup ("–") : g_strdup_printf ("%+.3f", ag->r));
      g_ptr_array_add (cells, isnan (ag->p) ? g_strdup ("–") : g_strdup_printf ("%.4f", ag->p));
    }
  lens_table_set_rows (self->table, r->n_agreements, (const char * const *) cells->pdata, keys, NULL);

  g_autoptr(GString) caption = g_string_new (NULL);
  g_string_append_printf (caption, "%u scenarios; colours from −1 (blue) to +1 (orange) on every matrix. "
                          "Mantel test: Pearson r over the scenario pairs both matrices define, one-sided p "
                          "from %u permutations of the scenarios (with few scenarios p cannot go low). "
                          "Click a cell for the pair's knowledge texts.", S, r->permutations);
  if (r->knowledge_error)
    g_string_append_printf (caption, " No LLM matrix: %s.", r->knowledge_error);
  else if (!g_str_has_prefix (((MsrScenarioMatrix *) r->matrices->pdata[0])->source, "llm:"))
    g_string_append (caption, " No LLM matrix yet: import and encode knowledge (msrlens-cli knowledge).");
  if (r->learned_error)
    g_string_append_printf (caption, " No learned matrix: %s.", r->learned_error);
  gtk_label_set_text (self->caption_label, caption->str);
  g_autofree char *sub = g_strdup_printf ("%u matrices side by side", r->matrices->len);
  gtk_label_set_text (self->subtitle_label, sub);
  gtk_stack_set_visible_child_name (self->stack, "content");
  lens_correlations_page_select_pair (self, 0, S > 1 ? 1 : 0);
}

/* ---- the model chooser -------------------------------------------------------- */

/* Models with something per scenario to compare: LLM4MSR with its
 * scenario branch, STAR, MMoE, PLE. */
static gboolean
learnable (const LensRun *r)
{
  const char *a = r->info->architecture;
  if (g_strcmp0 (r->info->kind, "eval") != 0 || r->info->model_path == NULL || a == NULL)
    return FALSE;
  if (strstr (a, "llm4msr"))
    return strstr (a, "no-scenario") == NULL;
  return g_str_has_prefix (a, "star") || g_str_has_prefix (a, "mmoe") || g_str_has_prefix (a, "ple");
}

static void
refill_models (LensCorrelationsPage *self)
{
  const gint64 keep = selected_run (self);
  g_array_set_size (self->model_runs, 0);
  g_autoptr(GtkStringList) list = gtk_string_list_new (NULL);
  gtk_string_list_append (list, "None");
  guint want = 0, newest_llm = 0;
  if (self->session)
    {
      GPtrArray *runs = lens_session_get_runs (self->session);
      for (guint i = 0; i < runs->len; i++)
        {
          const LensRun *r = runs->pdata[i];
          if (!learnable (r))
            continue;
          g_autofree char *label = lens_run_get_label (r);
          gtk_string_list_append (list, label);
          g_array_append_val (self->model_runs, r->info->id);
          if (r->info->id == keep)
            want = self->model_runs->len;
          /* Runs come newest first; LLM4MSR without ablation preferred. */
          if (newest_llm == 0 && g_str_has_suffix (r->info->architecture, "+llm4msr"))
            newest_llm = self->model_runs->len;
        }
    }
  /* Until someone picks one, the newest LLM4MSR model. */
  if (!self->user_chose)
    want = newest_llm;
  self->updating = TRUE;
  gtk_drop_down_set_model (self->model_dropdown, G_LIST_MODEL (list));
  gtk_drop_down_set_selected (self->model_dropdown, want);
  self->updating = FALSE;
}

static void
on_model_changed (LensCorrelationsPage *self)
{
  if (self->updating)
    return;
  self->user_chose = TRUE;
  if (selected_run (self) != self->computed_run)
    compute (self);
}

static void
on_runs_changed (LensCorrelationsPage *self)
{
  refill_models (self);
  if (self->report == NULL || selected_run (self) != self->computed_run)
    compute (self);
}

/* ---- LensPage ---------------------------------------------------------------- */

static void
set_session (LensPage *page, LensSession *session)
{
  LensCorrelationsPage *self = LENS_CORRELATIONS_PAGE (page);
  if (self->session)
    g_signal_handlers_disconnect_by_data (self->session, self);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->job);
  set_busy (self, FALSE, NULL);
  g_clear_pointer (&self->report, msr_correlation_report_free);
  clear_views (self);
  g_set_object (&self->session, session);
  self->computed_run = -1;
  self->user_chose = FALSE;
  refill_models (self);
  gtk_stack_set_visible_child_name (self->stack, "empty");
  if (session == NULL)
    return;
  g_autofree char *dir = g_shell_quote (lens_session_get_dir (session));
  g_autofree char *commands = g_strdup_printf ("msrlens-cli knowledge import %s FILE.csv --level user --key-column "
                                               "ID --text-column TEXT\nmsrlens-cli knowledge encode %s", dir, dir);
  gtk_label_set_text (self->empty_commands, commands);
  g_signal_connect_swapped (session, "runs-changed", G_CALLBACK (on_runs_changed), self);
  compute (self);
}

static LensChart *
get_chart (LensPage *page)
{
  return LENS_CORRELATIONS_PAGE (page)->focus_chart;
}

static LensTable *
get_table (LensPage *page)
{
  return LENS_CORRELATIONS_PAGE (page)->table;
}

static void
lens_correlations_page_iface_init (LensPageInterface *iface)
{
  iface->set_session = set_session;
  iface->get_chart = get_chart;
  iface->get_table = get_table;
}

/* ---- GObject ----------------------------------------------------------------- */

static void
lens_correlations_page_dispose (GObject *object)
{
  LensCorrelationsPage *self = LENS_CORRELATIONS_PAGE (object);
  if (self->session)
    g_signal_handlers_disconnect_by_data (self->session, self);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->job);
  g_clear_object (&self->session);
  g_clear_pointer (&self->report, msr_correlation_report_free);
  /* The template's top widget is the bin's child (see the Overview page). */
  adw_bin_set_child (ADW_BIN (self), NULL);
  G_OBJECT_CLASS (lens_correlations_page_parent_class)->dispose (object);
}

static void
lens_correlations_page_finalize (GObject *object)
{
  LensCorrelationsPage *self = LENS_CORRELATIONS_PAGE (object);
  g_ptr_array_unref (self->views);
  g_array_unref (self->model_runs);
  g_free (self->pair_text);
  G_OBJECT_CLASS (lens_correlations_page_parent_class)->finalize (object);
}

static void
lens_correlations_page_class_init (LensCorrelationsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lens_correlations_page_dispose;
  object_class->finalize = lens_correlations_page_finalize;
  lens_ui_ensure_resources ();
  g_type_ensure (LENS_TYPE_TABLE);
  gtk_widget_class_set_template_from_resource (widget_class, MSR_RESOURCE_PATH "/ui/lens-correlations-page.ui");
  gtk_widget_class_bind_template_child (widget_class, LensCorrelationsPage, stack);
  gtk_widget_class_bind_template_child (widget_class, LensCorrelationsPage, empty_commands);
  gtk_widget_class_bind_template_child (widget_class, LensCorrelationsPage, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, LensCorrelationsPage, model_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LensCorrelationsPage, busy_box);
  gtk_widget_class_bind_template_child (widget_class, LensCorrelationsPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, LensCorrelationsPage, busy_label);
  gtk_widget_class_bind_template_child (widget_class, LensCorrelationsPage, charts_grid);
  gtk_widget_class_bind_template_child (widget_class, LensCorrelationsPage, caption_label);
  gtk_widget_class_bind_template_child (widget_class, LensCorrelationsPage, pair_label);
  gtk_widget_class_bind_template_child (widget_class, LensCorrelationsPage, rationale_a);
  gtk_widget_class_bind_template_child (widget_class, LensCorrelationsPage, rationale_b);
  gtk_widget_class_bind_template_child (widget_class, LensCorrelationsPage, table);
}

static void
lens_correlations_page_init (LensCorrelationsPage *self)
{
  static const char *const titles[N_COLS] = { "Matrix", "Against", "Pairs", "Mantel r", "p" };
  static const gboolean numeric[N_COLS] = { FALSE, FALSE, TRUE, TRUE, TRUE };
  self->views = g_ptr_array_new ();
  self->model_runs = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->computed_run = -1;
  gtk_widget_init_template (GTK_WIDGET (self));
  lens_table_set_columns (self->table, N_COLS, titles, numeric);
  lens_table_set_label (self->table, "Agreement between the scenario-correlation matrices");
  g_signal_connect_swapped (self->model_dropdown, "notify::selected", G_CALLBACK (on_model_changed), self);
}

GtkWidget *
lens_correlations_page_new (void)
{
  return g_object_new (LENS_TYPE_CORRELATIONS_PAGE, NULL);
}

const MsrCorrelationReport *
lens_correlations_page_get_report (LensCorrelationsPage *self)
{
  return self->report;
}

gboolean
lens_correlations_page_is_busy (LensCorrelationsPage *self)
{
  return self->job != NULL;
}

const char *
lens_correlations_page_get_pair_text (LensCorrelationsPage *self)
{
  return self->pair_text;
}

GPtrArray *
lens_correlations_page_get_views (LensCorrelationsPage *self)
{
  return self->views;
}

const char *
lens_correlations_page_get_pair_knowledge (LensCorrelationsPage *self, guint i)
{
  g_return_val_if_fail (LENS_IS_CORRELATIONS_PAGE (self) && i < 2, NULL);
  return gtk_label_get_text (i == 0 ? self->rationale_a : self->rationale_b);
}

gint64
lens_correlations_page_get_model_run (LensCorrelationsPage *self)
{
  g_return_val_if_fail (LENS_IS_CORRELATIONS_PAGE (self), 0);
  return selected_run (self);
}

gboolean
lens_correlations_page_set_model_run (LensCorrelationsPage *self, gint64 run)
{
  g_return_val_if_fail (LENS_IS_CORRELATIONS_PAGE (self), FALSE);
  guint at = run == 0 ? 0 : GTK_INVALID_LIST_POSITION;
  for (guint i = 0; i < self->model_runs->len && at == GTK_INVALID_LIST_POSITION; i++)
    if (g_array_index (self->model_runs, gint64, i) == run)
      at = i + 1;   /* entry 0 is "None" */
  if (at == GTK_INVALID_LIST_POSITION)
    return FALSE;
  /* Through the dropdown, so the page reacts as to a user's choice. */
  gtk_drop_down_set_selected (self->model_dropdown, at);
  return TRUE;
}

/* lens-runs-page.c: see lens-runs-page.h.
 *
 * The table shows the session's runs; its selection drives the session's
 * shared selection (the evaluation runs among the selected rows) and the
 * detail pane (the run in focus: the row most recently added to the
 * selection). Deleting goes through the engine in a LensJob, then the
 * session re-reads the store, which rebuilds the page. */
#include "config.h"
#include "lens-runs-page.h"
#include "msr-json.h"
#include "lens-chart-view.h"
#include "lens-format.h"
#include "lens-job.h"
#include "lens-ui.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

struct _LensRunsPage
{
  AdwBin            parent_instance;

  LensSession      *session;
  GPtrArray        *runs;          /* the session's LensRun array, referenced */
  LensTable        *table;
  LensChartView    *auc_view;
  LensChartView    *loss_view;
  GtkSelectionModel *watched_model;
  gulong            model_handler;
  GArray           *selected;      /* gint64: the table's selection last seen */
  gint64            focus;
  gboolean          disposed;
  gboolean          ignore_selection; /* the page is changing the table's selection itself */

  LensJob          *delete_job;
  GCancellable     *cancellable;
  AdwMessageDialog *dialog;
  GArray           *to_delete;     /* gint64, the runs the dialog names */

  /* template children */
  GtkStack         *stack;
  AdwStatusPage    *empty_page;
  GtkLabel         *empty_commands;
  GtkSearchEntry   *search_entry;
  GtkLabel         *count_label;
  GtkBox           *table_box;
  GtkStack         *detail_stack;
  GtkLabel         *detail_title;
  GtkLabel         *detail_subtitle;
  GtkGrid          *facts_grid;
  GtkTextView      *config_view;
  GtkLabel         *curve_note;
  GtkBox           *curve_box;
};

static void lens_runs_page_iface_init (LensPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LensRunsPage, lens_runs_page, ADW_TYPE_BIN,
                               G_IMPLEMENT_INTERFACE (LENS_TYPE_PAGE, lens_runs_page_iface_init))

enum { SIGNAL_COMPARE_REQUESTED, N_SIGNALS };
static guint signals[N_SIGNALS];

enum {
  COL_ID, COL_CREATED, COL_NAME, COL_KIND, COL_BACKBONE, COL_SPLIT, COL_AUC, COL_LOGLOSS, COL_GAUC,
  COL_EPOCHS, COL_MODEL, N_COLS
};

static const char *const column_titles[N_COLS] = {
  "ID", "Created", "Name", "Kind", "Backbone", "Split", "AUC", "Logloss", "GAUC", "Epochs", "Model file",
};
static const gboolean column_numeric[N_COLS] = {
  TRUE, FALSE, FALSE, FALSE, FALSE, FALSE, TRUE, TRUE, TRUE, TRUE, FALSE,
};

/* ---- helpers ------------------------------------------------------------ */

static const LensRun *
find_run (LensRunsPage *self, gint64 id)
{
  if (self->runs == NULL)
    return NULL;
  for (guint i = 0; i < self->runs->len; i++)
    {
      const LensRun *r = g_ptr_array_index (self->runs, i);
      if (r->info->id == id)
        return r;
    }
  return NULL;
}

static gboolean
is_eval (const LensRun *r)
{
  return r != NULL && g_strcmp0 (r->info->kind, "eval") == 0 && r->metrics != NULL;
}

/* "2024-05-01 14:34:56" in local time, from the store's UTC ISO 8601. */
static char *
format_created (const char *iso)
{
  if (iso == NULL)
    return g_strdup ("");
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601 (iso, utc);
  if (dt == NULL)
    return g_strdup (iso);
  g_autoptr(GDateTime) local = g_date_time_to_local (dt);
  return g_date_time_format (local, "%Y-%m-%d %H:%M");
}

static const MsrResultsScopeMetrics *
overall (const LensRun *r)
{
  return r->metrics ? msr_results_metrics_find (r->metrics, MSR_RESULTS_SCOPE_OVERALL, NULL) : NULL;
}

static char *
format_metric (double v, gboolean defined)
{
  return defined && !isnan (v) ? g_strdup_printf ("%.4f", v) : g_strdup ("–");
}

static char *
model_file_name (const LensRun *r)
{
  if (r->info->model_path)
    return g_path_get_basename (r->info->model_path);
  if (g_strcmp0 (r->info->architecture, "popularity") == 0)
    return g_strdup ("(popularity baseline)");
  return g_strdup ("");
}

/* The curve of a run: its own epochs, or those of the training run of the
 * same model file. */
static const LensRun *
curve_run (LensRunsPage *self, const LensRun *r)
{
  if (r == NULL)
    return NULL;
  if (r->epochs && r->epochs->len > 0)
    return r;
  if (self->session && g_strcmp0 (r->info->kind, "train") != 0)
    {
      /* The session's lookup walks its current array, which is ours. */
      const LensRun *t = lens_session_find_training_run (self->session, r);
      if (t && t->epochs && t->epochs->len > 0)
        return t;
    }
  return NULL;
}

static char *
run_title (const LensRun *r)
{
  return g_strdup_printf ("#%" G_GINT64_FORMAT " %s", r->info->id, r->info->name ? r->info->name : "");
}

/* ---- the detail pane ---------------------------------------------------- */

static void
add_fact (LensRunsPage *self, int row, const char *key, const char *value, gboolean mono)
{
  GtkWidget *k = gtk_label_new (key);
  gtk_label_set_xalign (GTK_LABEL (k), 0);
  gtk_label_set_yalign (GTK_LABEL (k), 0);
  gtk_widget_add_css_class (k, "dim-label");
  GtkWidget *v = gtk_label_new (value && *value ? value : "–");
  gtk_label_set_xalign (GTK_LABEL (v), 0);
  gtk_label_set_selectable (GTK_LABEL (v), TRUE);
  gtk_label_set_wrap (GTK_LABEL (v), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (v), PANGO_WRAP_CHAR);
  gtk_widget_set_hexpand (v, TRUE);
  if (mono)
    {
      /* Hashes wrap anywhere, without a hyphen that is not part of them. */
      PangoAttrList *attrs = pango_attr_list_new ();
      pango_attr_list_insert (attrs, pango_attr_insert_hyphens_new (FALSE));
      gtk_label_set_attributes (GTK_LABEL (v), attrs);
      pango_attr_list_unref (attrs);
      gtk_widget_add_css_class (v, "monospace");
    }
  gtk_grid_attach (self->facts_grid, k, 0, row, 1, 1);
  gtk_grid_attach (self->facts_grid, v, 1, row, 1, 1);
  gtk_accessible_update_relation (GTK_ACCESSIBLE (v), GTK_ACCESSIBLE_RELATION_LABELLED_BY, k, NULL, -1);
}

static void
clear_grid (GtkGrid *grid)
{
  GtkWidget *c;
  while ((c = gtk_widget_get_first_child (GTK_WIDGET (grid))) != NULL)
    gtk_grid_remove (grid, c);
}

static char *
pretty_json (const char *text)
{
  if (text == NULL || *text == '\0')
    return g_strdup ("(no configuration recorded)");
  g_autoptr(JsonNode) node = msr_json_from_string (text, NULL);
  if (node == NULL)
    return g_strdup (text);
  return json_to_string (node, TRUE);
}

static void
show_curve (LensRunsPage *self, const LensRun *r)
{
  const LensRun *c = curve_run (self, r);
  if (c == NULL)
    {
      lens_chart_view_set_chart (self->auc_view, NULL);
      lens_chart_view_set_chart (self->loss_view, NULL);
      gtk_widget_set_visible (GTK_WIDGET (self->curve_box), FALSE);
      gtk_label_set_text (self->curve_note,
                          g_strcmp0 (r->info->architecture, "popularity") == 0
                            ? "The popularity baseline is not trained: it has no training curve."
                            : "No training curve: the store holds no training run of this model file.");
      return;
    }

  const guint n = c->epochs->len;
  g_autofree double *x = g_new (double, n), *auc = g_new (double, n), *loss = g_new (double, n),
                    *vloss = g_new (double, n);
  int best = -1;
  for (guint k = 0; k < n; k++)
    {
      const MsrResultsEpoch *e = g_ptr_array_index (c->epochs, k);
      x[k] = k + 1;   /* epochs in order, counted from 1 */
      auc[k] = e->valid_auc;
      loss[k] = e->train_loss;
      vloss[k] = e->valid_logloss;
      if (!isnan (e->valid_auc) && (best < 0 || e->valid_auc > auc[best]))
        best = (int) k;
    }
  g_autofree char *model = model_file_name (c);
  g_autofree char *auc_title = g_strdup_printf ("Validation AUC per epoch · %s", model);
  const char *auc_label[1] = { "Validation AUC" };
  const guint auc_n[1] = { n };
  const double *auc_x[1] = { x }, *auc_y[1] = { auc };
  const int auc_mark[1] = { best };
  g_autoptr(LensChart) auc_chart = lens_chart_new_line (auc_title, "Epoch", "AUC", 1, auc_label, auc_n, auc_x, auc_y,
                                                        auc_mark);
  const char *loss_labels[2] = { "Training loss", "Validation logloss" };
  const guint loss_n[2] = { n, n };
  const double *loss_x[2] = { x, x }, *loss_y[2] = { loss, vloss };
  const int loss_mark[2] = { best, best };
  g_autoptr(LensChart) loss_chart = lens_chart_new_line ("Loss per epoch", "Epoch", "Binary cross-entropy", 2,
                                                         loss_labels, loss_n, loss_x, loss_y, loss_mark);
  lens_chart_view_set_chart (self->auc_view, auc_chart);
  lens_chart_view_set_chart (self->loss_view, loss_chart);
  gtk_widget_set_visible (GTK_WIDGET (self->curve_box), TRUE);

  g_autofree char *note = NULL;
  if (best >= 0)
    note = g_strdup_printf ("%s%u epoch%s; the marker is the best validation AUC, %.4f at epoch %d%s.",
                            c == r ? "" : "From the training run of this model: ", n, n == 1 ? "" : "s",
                            auc[best], best + 1, c == r ? "" : " (the parameters that were kept)");
  else
    note = g_strdup_printf ("%u epoch%s; no validation AUC was recorded.", n, n == 1 ? "" : "s");
  if (c != r)
    {
      g_autofree char *with_id = g_strdup_printf ("%s Training run #%" G_GINT64_FORMAT ".", note, c->info->id);
      g_free (note);
      note = g_steal_pointer (&with_id);
    }
  gtk_label_set_text (self->curve_note, note);
}

static void
show_focus (LensRunsPage *self)
{
  const LensRun *r = find_run (self, self->focus);
  if (r == NULL)
    {
      self->focus = 0;
      lens_chart_view_set_chart (self->auc_view, NULL);
      lens_chart_view_set_chart (self->loss_view, NULL);
      gtk_stack_set_visible_child_name (self->detail_stack, "none");
      return;
    }
  const MsrRunInfo *info = r->info;
  g_autofree char *title = run_title (r);
  gtk_label_set_text (self->detail_title, title);
  g_autofree char *created = format_created (info->created_at);
  g_autofree char *sub = g_strdup_printf ("%s run · %s · %s split · %s", info->kind ? info->kind : "?",
                                          info->architecture ? info->architecture : "no backbone",
                                          info->split ? info->split : "no", created);
  gtk_label_set_text (self->detail_subtitle, sub);

  clear_grid (self->facts_grid);
  int row = 0;
  const MsrResultsScopeMetrics *o = overall (r);
  if (o)
    {
      g_autofree char *auc = o->metrics.auc_defined
                               ? (o->has_ci && o->ci_auc.n_defined
                                    ? g_strdup_printf ("%.4f  [%.4f, %.4f] (%.0f%% bootstrap CI)", o->metrics.auc,
                                                       o->ci_auc.lo, o->ci_auc.hi, o->ci_level * 100)
                                    : g_strdup_printf ("%.4f", o->metrics.auc))
                               : g_strdup ("undefined");
      g_autofree char *n = lens_format_count (o->metrics.n);
      g_autofree char *rows = g_strdup_printf ("%s rows, %.1f%% positive", n,
                                               o->metrics.n ? 100.0 * o->metrics.positives / o->metrics.n : 0.0);
      g_autofree char *ll = format_metric (o->metrics.logloss, o->metrics.logloss_defined);
      g_autofree char *gauc = format_metric (o->metrics.gauc, o->metrics.gauc_defined);
      add_fact (self, row++, "Overall AUC", auc, FALSE);
      g_autofree char *ll_gauc = g_strdup_printf ("%s · %s", ll, gauc);
      add_fact (self, row++, "Logloss · GAUC", ll_gauc, FALSE);
      add_fact (self, row++, "Evaluated on", rows, FALSE);
    }
  add_fact (self, row++, "Model file", info->model_path, FALSE);
  add_fact (self, row++, "Model SHA-256", info->model_sha256, TRUE);
  add_fact (self, row++, "Dataset fingerprint", info->dataset_fingerprint, TRUE);
  g_autofree char *seed = info->has_seed ? g_strdup_printf ("%" G_GUINT64_FORMAT, info->seed) : NULL;
  add_fact (self, row++, "Seed", seed, FALSE);
  g_autofree char *threads = info->threads ? g_strdup_printf ("%u", info->threads) : g_strdup ("not recorded");
  add_fact (self, row++, "Threads", threads, FALSE);
  add_fact (self, row++, "Engine version", info->engine_version, FALSE);
  if (info->notes && *info->notes)
    add_fact (self, row++, "Notes", info->notes, FALSE);

  g_autofree char *config = pretty_json (info->config_json);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->config_view), config, -1);
  show_curve (self, r);
  gtk_stack_set_visible_child_name (self->detail_stack, "run");
}

/* ---- selection ---------------------------------------------------------- */

static GArray *
selected_eval_ids (LensRunsPage *self, GArray *selected)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < selected->len; i++)
    {
      gint64 id = g_array_index (selected, gint64, i);
      if (is_eval (find_run (self, id)))
        g_array_append_val (out, id);
    }
  return out;
}

static gboolean
contains_id (GArray *a, gint64 id)
{
  for (guint i = 0; i < a->len; i++)
    if (g_array_index (a, gint64, i) == id)
      return TRUE;
  return FALSE;
}

static void
update_actions (LensRunsPage *self)
{
  g_autoptr(GArray) sel = self->table ? lens_table_get_selected_ids (self->table) : NULL;
  const guint n_sel = sel ? sel->len : 0;
  gboolean compare = FALSE;
  if (n_sel == 2)
    compare = is_eval (find_run (self, g_array_index (sel, gint64, 0))) &&
              is_eval (find_run (self, g_array_index (sel, gint64, 1)));
  const gboolean busy = self->delete_job && lens_job_is_running (self->delete_job);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "runs.compare", compare);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "runs.delete", n_sel > 0 && !busy && self->dialog == NULL);

  const guint total = self->runs ? self->runs->len : 0;
  const guint visible = self->table ? lens_table_get_n_visible (self->table) : 0;
  g_autofree char *count = NULL;
  if (visible != total)
    count = g_strdup_printf ("%u of %u runs", visible, total);
  else
    count = g_strdup_printf ("%u run%s", total, total == 1 ? "" : "s");
  if (n_sel > 0)
    {
      g_autofree char *with = g_strdup_printf ("%s · %u selected", count, n_sel);
      g_free (count);
      count = g_steal_pointer (&with);
    }
  gtk_label_set_text (self->count_label, count);
}

/* The table's selection changed: a new run in focus, the actions, and (when
 * push) the session's shared selection. */
static void
selection_changed (LensRunsPage *self, gboolean force, gboolean push)
{
  g_autoptr(GArray) sel = lens_table_get_selected_ids (self->table);

  /* Focus: a row that just joined the selection, else keep the focus while
   * it stays selected, else the first selected row. */
  gint64 focus = 0;
  for (guint i = 0; i < sel->len && focus == 0; i++)
    if (!contains_id (self->selected, g_array_index (sel, gint64, i)))
      focus = g_array_index (sel, gint64, i);
  if (focus == 0 && contains_id (sel, self->focus))
    focus = self->focus;
  if (focus == 0 && sel->len > 0)
    focus = g_array_index (sel, gint64, 0);
  g_array_set_size (self->selected, 0);
  g_array_append_vals (self->selected, sel->data, sel->len);
  if (force || focus != self->focus)
    {
      self->focus = focus;
      show_focus (self);
    }
  update_actions (self);

  if (!push || self->session == NULL)
    return;
  /* Only evaluation runs can be shown by the other pages; selecting just
   * a training run leaves their selection as it was. */
  g_autoptr(GArray) evals = selected_eval_ids (self, sel);
  if (evals->len == 0)
    return;
  GArray *current = lens_session_get_selection (self->session);
  if (current->len == evals->len &&
      memcmp (current->data, evals->data, evals->len * sizeof (gint64)) == 0)
    return;
  self->ignore_selection = TRUE;   /* our own change comes back as a signal */
  lens_session_set_selection (self->session, (const gint64 *) evals->data, evals->len);
  self->ignore_selection = FALSE;
}

static void
on_table_selection_changed (LensRunsPage *self)
{
  if (!self->ignore_selection)
    selection_changed (self, FALSE, TRUE);
}

static void
watch_model (LensRunsPage *self)
{
  GtkSelectionModel *model = gtk_column_view_get_model (lens_table_get_column_view (self->table));
  if (model == self->watched_model)
    return;
  if (self->watched_model)
    g_signal_handler_disconnect (self->watched_model, self->model_handler);
  g_clear_object (&self->watched_model);
  self->model_handler = 0;
  if (model)
    {
      self->watched_model = g_object_ref (model);
      self->model_handler = g_signal_connect_swapped (model, "selection-changed",
                                                      G_CALLBACK (on_table_selection_changed), self);
    }
}

/* The session's selection, shown in the table (when it changed elsewhere). */
static void
on_session_selection_changed (LensRunsPage *self)
{
  if (self->ignore_selection || self->session == NULL || self->runs == NULL)
    return;
  GArray *want = lens_session_get_selection (self->session);
  g_autoptr(GArray) sel = lens_table_get_selected_ids (self->table);
  g_autoptr(GArray) evals = selected_eval_ids (self, sel);
  if (evals->len == want->len && memcmp (evals->data, want->data, want->len * sizeof (gint64)) == 0)
    return;
  self->ignore_selection = TRUE;
  lens_table_select_ids (self->table, (const gint64 *) want->data, want->len);
  self->ignore_selection = FALSE;
  selection_changed (self, FALSE, FALSE);
}

/* ---- the table ---------------------------------------------------------- */

static void
rebuild (LensRunsPage *self)
{
  g_clear_pointer (&self->runs, g_ptr_array_unref);
  if (self->session)
    self->runs = g_ptr_array_ref (lens_session_get_runs (self->session));
  const guint n = self->runs ? self->runs->len : 0;

  g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);
  g_autofree double *values = g_new (double, MAX (n, 1) * N_COLS);
  g_autofree gint64 *ids = g_new (gint64, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    {
      const LensRun *r = g_ptr_array_index (self->runs, i);
      const MsrRunInfo *info = r->info;
      const MsrResultsScopeMetrics *o = overall (r);
      const LensRun *c = curve_run (self, r);
      const guint epochs = c ? c->epochs->len : 0;
      double *v = values + (gsize) i * N_COLS;
      for (guint k = 0; k < N_COLS; k++)
        v[k] = NAN;
      v[COL_ID] = (double) info->id;
      v[COL_AUC] = o && o->metrics.auc_defined ? o->metrics.auc : NAN;
      v[COL_LOGLOSS] = o && o->metrics.logloss_defined ? o->metrics.logloss : NAN;
      v[COL_GAUC] = o && o->metrics.gauc_defined ? o->metrics.gauc : NAN;
      v[COL_EPOCHS] = epochs ? epochs : NAN;
      ids[i] = info->id;

      g_ptr_array_add (cells, g_strdup_printf ("%" G_GINT64_FORMAT, info->id));
      g_ptr_array_add (cells, format_created (info->created_at));
      g_ptr_array_add (cells, g_strdup (info->name ? info->name : ""));
      g_ptr_array_add (cells, g_strdup (info->kind ? info->kind : ""));
      g_ptr_array_add (cells, g_strdup (info->architecture ? info->architecture : ""));
      g_ptr_array_add (cells, g_strdup (info->split ? info->split : ""));
      g_ptr_array_add (cells, format_metric (v[COL_AUC], TRUE));
      g_ptr_array_add (cells, format_metric (v[COL_LOGLOSS], TRUE));
      g_ptr_array_add (cells, format_metric (v[COL_GAUC], TRUE));
      g_ptr_array_add (cells, epochs ? g_strdup_printf ("%u", epochs) : g_strdup ("–"));
      g_ptr_array_add (cells, model_file_name (r));
    }

  /* Keep the rows that were selected and still exist, else show the
   * session's selection. */
  g_autoptr(GArray) keep = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < self->selected->len; i++)
    if (find_run (self, g_array_index (self->selected, gint64, i)))
      g_array_append_val (keep, g_array_index (self->selected, gint64, i));
  if (keep->len == 0 && self->session)
    {
      GArray *shared = lens_session_get_selection (self->session);
      g_array_append_vals (keep, shared->data, shared->len);
    }
  self->ignore_selection = TRUE;
  lens_table_set_rows (self->table, n, (const char * const *) cells->pdata, values, ids);
  watch_model (self);
  lens_table_select_ids (self->table, (const gint64 *) keep->data, keep->len);
  self->ignore_selection = FALSE;
  if (!find_run (self, self->focus))
    self->focus = 0;
  selection_changed (self, TRUE, FALSE);

  gtk_stack_set_visible_child_name (self->stack, n > 0 ? "runs" : "empty");
  update_actions (self);
}

static void
on_search_changed (LensRunsPage *self)
{
  lens_table_set_filter (self->table, gtk_editable_get_text (GTK_EDITABLE (self->search_entry)));
  update_actions (self);
}

/* ---- actions ------------------------------------------------------------ */

static void
find_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  LensRunsPage *self = LENS_RUNS_PAGE (widget);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

static void
compare_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  LensRunsPage *self = LENS_RUNS_PAGE (widget);
  g_autoptr(GArray) sel = lens_table_get_selected_ids (self->table);
  if (sel->len != 2)
    return;
  const LensRun *a = find_run (self, g_array_index (sel, gint64, 0));
  const LensRun *b = find_run (self, g_array_index (sel, gint64, 1));
  if (!is_eval (a) || !is_eval (b))
    return;
  /* A is the older run: creation time, then id. */
  int order = g_strcmp0 (a->info->created_at, b->info->created_at);
  if (order > 0 || (order == 0 && a->info->id > b->info->id))
    {
      const LensRun *t = a;
      a = b;
      b = t;
    }
  g_signal_emit (self, signals[SIGNAL_COMPARE_REQUESTED], 0, a->info->id, b->info->id);
}

typedef struct {
  char   *path;
  GArray *ids;
} DeleteCall;

static void
delete_call_free (gpointer p)
{
  DeleteCall *c = p;
  g_free (c->path);
  g_array_unref (c->ids);
  g_free (c);
}

static gpointer
delete_thread (LensJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  DeleteCall *c = data;
  g_autoptr(MsrResults) results = msr_results_open (c->path, MSR_RESULTS_READ_WRITE, error);
  if (results == NULL)
    return NULL;
  for (guint i = 0; i < c->ids->len; i++)
    {
      g_autofree char *stage = g_strdup_printf ("Deleting run %u of %u", i + 1, c->ids->len);
      lens_job_report (job, (double) i / c->ids->len, stage);
      if (!msr_results_delete_run (results, g_array_index (c->ids, gint64, i), error))
        return NULL;
    }
  return GINT_TO_POINTER (1);
}

static void
on_deleted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(LensRunsPage) self = user_data;
  g_autoptr(GError) error = NULL;
  gpointer ok = lens_job_run_finish (LENS_JOB (source), result, &error);
  if (self->disposed)
    return;
  if (ok == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    lens_page_report_error (LENS_PAGE (self), error->message);
  /* Also after a failure: some runs may be gone. */
  if (self->session)
    lens_session_refresh_runs (self->session);
  update_actions (self);
}

static void
on_dialog_response (AdwMessageDialog *dialog, const char *response, gpointer user_data)
{
  LensRunsPage *self = LENS_RUNS_PAGE (user_data);
  if (self->disposed)
    return;
  g_autoptr(GArray) ids = g_steal_pointer (&self->to_delete);
  self->dialog = NULL;
  if (g_strcmp0 (response, "delete") == 0 && ids && ids->len > 0 && self->session)
    {
      DeleteCall *c = g_new0 (DeleteCall, 1);
      c->path = g_strdup (lens_session_get_results_path (self->session));
      c->ids = g_array_ref (ids);
      g_cancellable_cancel (self->cancellable);
      g_clear_object (&self->cancellable);
      self->cancellable = g_cancellable_new ();
      lens_job_run_async (self->delete_job, delete_thread, c, delete_call_free, NULL, self->cancellable,
                          on_deleted, g_object_ref (self));
    }
  update_actions (self);
}

static void
delete_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  LensRunsPage *self = LENS_RUNS_PAGE (widget);
  if (self->dialog || self->session == NULL || lens_job_is_running (self->delete_job))
    return;
  g_autoptr(GArray) sel = lens_table_get_selected_ids (self->table);
  if (sel->len == 0)
    return;

  GString *body = g_string_new (NULL);
  const guint shown = MIN (sel->len, 8);
  for (guint i = 0; i < shown; i++)
    {
      const LensRun *r = find_run (self, g_array_index (sel, gint64, i));
      if (r == NULL)
        continue;
      g_autofree char *model = model_file_name (r);
      g_string_append_printf (body, "• #%" G_GINT64_FORMAT " %s%s%s\n", r->info->id, r->info->name ? r->info->name : "",
                              *model ? " — " : "", model);
    }
  if (sel->len > shown)
    g_string_append_printf (body, "• and %u more\n", sel->len - shown);
  g_string_append (body, sel->len == 1
                          ? "\nIts metrics, training curve and per-row scores are removed from the results store. "
                            "The model file is not deleted."
                          : "\nTheir metrics, training curves and per-row scores are removed from the results store. "
                            "Model files are not deleted.");
  g_autofree char *heading = sel->len == 1 ? g_strdup ("Delete 1 Run?")
                                           : g_strdup_printf ("Delete %u Runs?", sel->len);

  GtkRoot *root = gtk_widget_get_root (widget);
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                                         heading, NULL));
  adw_message_dialog_set_body (dialog, body->str);
  g_string_free (body, TRUE);
  adw_message_dialog_add_responses (dialog, "cancel", "_Cancel", "delete", "_Delete", NULL);
  adw_message_dialog_set_response_appearance (dialog, "delete", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_clear_pointer (&self->to_delete, g_array_unref);
  self->to_delete = g_array_ref (sel);
  self->dialog = dialog;
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_dialog_response), self, 0);
  update_actions (self);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- LensPage ----------------------------------------------------------- */

static void
on_delete_job_running (LensRunsPage *self)
{
  update_actions (self);
}

static void
set_session (LensPage *page, LensSession *session)
{
  LensRunsPage *self = LENS_RUNS_PAGE (page);
  if (self->session == session)
    return;
  if (self->session)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_set_object (&self->session, session);
  g_array_set_size (self->selected, 0);
  self->focus = 0;
  if (session)
    {
      g_signal_connect_swapped (session, "runs-changed", G_CALLBACK (rebuild), self);
      g_signal_connect_swapped (session, "selection-changed", G_CALLBACK (on_session_selection_changed), self);
      g_autofree char *dir = g_shell_quote (lens_session_get_dir (session));
      g_autofree char *model_path = g_build_filename (lens_session_get_dir (session), "models", "star.safetensors", NULL);
      g_autofree char *model = g_shell_quote (model_path);
      g_autofree char *commands = g_strdup_printf ("msrlens-cli train %s --backbone star --out %s\n"
                                                   "msrlens-cli eval %s %s", dir, model, dir, model);
      gtk_label_set_text (self->empty_commands, commands);
    }
  rebuild (self);
}

static LensChart *
get_chart (LensPage *page)
{
  return lens_chart_view_get_chart (LENS_RUNS_PAGE (page)->auc_view);
}

static LensTable *
get_table (LensPage *page)
{
  return LENS_RUNS_PAGE (page)->table;
}

static void
lens_runs_page_iface_init (LensPageInterface *iface)
{
  iface->set_session = set_session;
  iface->get_chart = get_chart;
  iface->get_table = get_table;
}

/* ---- GObject ------------------------------------------------------------ */

static void
lens_runs_page_dispose (GObject *object)
{
  LensRunsPage *self = LENS_RUNS_PAGE (object);
  self->disposed = TRUE;
  if (self->session)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_clear_object (&self->session);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->dialog)
    gtk_window_destroy (GTK_WINDOW (self->dialog));
  self->dialog = NULL;
  if (self->watched_model)
    g_signal_handler_disconnect (self->watched_model, self->model_handler);
  g_clear_object (&self->watched_model);
  if (self->delete_job)
    g_signal_handlers_disconnect_by_data (self->delete_job, self);
  g_clear_object (&self->delete_job);
  g_clear_pointer (&self->runs, g_ptr_array_unref);
  g_clear_pointer (&self->to_delete, g_array_unref);
  /* AdwBin unparents the template's child itself (disposing the template
   * here as well would unparent it twice). */
  G_OBJECT_CLASS (lens_runs_page_parent_class)->dispose (object);
}

static void
lens_runs_page_finalize (GObject *object)
{
  g_array_unref (LENS_RUNS_PAGE (object)->selected);
  G_OBJECT_CLASS (lens_runs_page_parent_class)->finalize (object);
}

static void
lens_runs_page_class_init (LensRunsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lens_runs_page_dispose;
  object_class->finalize = lens_runs_page_finalize;

  signals[SIGNAL_COMPARE_REQUESTED] =
    g_signal_new ("compare-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_INT64, G_TYPE_INT64);

  lens_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class, MSR_RESOURCE_PATH "/ui/lens-runs-page.ui");
  gtk_widget_class_bind_template_child (widget_class, LensRunsPage, stack);
  gtk_widget_class_bind_template_child (widget_class, LensRunsPage, empty_page);
  gtk_widget_class_bind_template_child (widget_class, LensRunsPage, empty_commands);
  gtk_widget_class_bind_template_child (widget_class, LensRunsPage, search_entry);
  gtk_widget_class_bind_template_child (widget_class, LensRunsPage, count_label);
  gtk_widget_class_bind_template_child (widget_class, LensRunsPage, table_box);
  gtk_widget_class_bind_template_child (widget_class, LensRunsPage, detail_stack);
  gtk_widget_class_bind_template_child (widget_class, LensRunsPage, detail_title);
  gtk_widget_class_bind_template_child (widget_class, LensRunsPage, detail_subtitle);
  gtk_widget_class_bind_template_child (widget_class, LensRunsPage, facts_grid);
  gtk_widget_class_bind_template_child (widget_class, LensRunsPage, config_view);
  gtk_widget_class_bind_template_child (widget_class, LensRunsPage, curve_note);
  gtk_widget_class_bind_template_child (widget_class, LensRunsPage, curve_box);

  gtk_widget_class_install_action (widget_class, "runs.find", NULL, find_action);
  gtk_widget_class_install_action (widget_class, "runs.compare", NULL, compare_action);
  gtk_widget_class_install_action (widget_class, "runs.delete", NULL, delete_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "runs.find", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, 0, "runs.delete", NULL);
}

static void
lens_runs_page_init (LensRunsPage *self)
{
  self->selected = g_array_new (FALSE, FALSE, sizeof (gint64));
  gtk_widget_init_template (GTK_WIDGET (self));

  self->table = LENS_TABLE (lens_table_new (LENS_TABLE_SELECT_MULTIPLE));
  gtk_widget_set_vexpand (GTK_WIDGET (self->table), TRUE);
  gtk_box_append (self->table_box, GTK_WIDGET (self->table));
  lens_table_set_columns (self->table, N_COLS, column_titles, column_numeric);
  lens_table_set_column_width_chars (self->table, COL_CREATED, 16);
  lens_table_set_column_width_chars (self->table, COL_NAME, 16);
  lens_table_set_label (self->table, "Runs in the results store");

  /* Two small charts stacked (AUC and loss have different scales), of a
   * fixed height: the pane scrolls. */
  self->auc_view = LENS_CHART_VIEW (lens_chart_view_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (self->auc_view), FALSE);
  gtk_widget_set_size_request (GTK_WIDGET (self->auc_view), 360, 260);
  gtk_box_append (self->curve_box, GTK_WIDGET (self->auc_view));
  self->loss_view = LENS_CHART_VIEW (lens_chart_view_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (self->loss_view), FALSE);
  gtk_widget_set_size_request (GTK_WIDGET (self->loss_view), 360, 240);
  gtk_box_append (self->curve_box, GTK_WIDGET (self->loss_view));

  self->delete_job = lens_job_new ("Delete runs");
  g_signal_connect_swapped (self->delete_job, "notify::running", G_CALLBACK (on_delete_job_running), self);

  g_signal_connect_swapped (self->search_entry, "search-changed", G_CALLBACK (on_search_changed), self);
  rebuild (self);
}

GtkWidget *
lens_runs_page_new (void)
{
  return g_object_new (LENS_TYPE_RUNS_PAGE, NULL);
}

gint64
lens_runs_page_get_focus_run (LensRunsPage *self)
{
  g_return_val_if_fail (LENS_IS_RUNS_PAGE (self), 0);
  return self->focus;
}

void
lens_runs_page_set_filter (LensRunsPage *self, const char *text)
{
  g_return_if_fail (LENS_IS_RUNS_PAGE (self));
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), text ? text : "");
  /* search-changed is delayed; filter now so callers see the result. */
  on_search_changed (self);
}

gboolean
lens_runs_page_is_busy (LensRunsPage *self)
{
  g_return_val_if_fail (LENS_IS_RUNS_PAGE (self), FALSE);
  return lens_job_is_running (self->delete_job);
}

AdwMessageDialog *
lens_runs_page_get_delete_dialog (LensRunsPage *self)
{
  g_return_val_if_fail (LENS_IS_RUNS_PAGE (self), NULL);
  return self->dialog;
}

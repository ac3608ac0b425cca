/* lens-meta-page.c: see lens-meta-page.h. */
#include "config.h"

#include "lens-meta-page.h"
#include "lens-chart-view.h"
#include "lens-job.h"
#include "lens-ui.h"
#include "msr-explain.h"
#include "msr-pipeline.h"
#include "msr-results.h"

#include <math.h>
#include <string.h>

struct _LensMetaPage
{
  AdwBin parent_instance;

  LensSession    *session;
  LensJob        *job;
  GCancellable   *cancellable;
  GArray         *model_runs;      /* gint64, dropdown order */
  gboolean        updating;
  gint64          computed_run;
  gboolean        user_chose;

  /* what the job gave */
  MsrModel       *model;
  MsrMetaUserMap *map;
  double         *user_auc;        /* per user code of the dataset, or NULL */
  guint           n_user_auc;
  LensChartView  *focus_view;      /* the view last clicked, for Export */

  GtkStack       *stack;
  AdwStatusPage  *empty_page;
  GtkLabel       *subtitle_label;
  GtkDropDown    *model_dropdown;
  GtkWidget      *busy_box;
  GtkSpinner     *spinner;
  GtkLabel       *busy_label;
  GtkLabel       *message_label;
  GtkDropDown    *scenario_a;
  GtkDropDown    *scenario_b;
  LensChartView  *scenario_view;
  LensChartView  *scenario_spectrum;
  GtkEntry       *user_a;
  GtkEntry       *user_b;
  GtkCheckButton *subtract_check;
  LensChartView  *user_view;
  LensChartView  *user_spectrum;
  GtkDropDown    *colour_dropdown;
  LensChartView  *map_view;
  GtkLabel       *caption_label;
};

static void lens_meta_page_iface_init (LensPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LensMetaPage, lens_meta_page, ADW_TYPE_BIN,
                               G_IMPLEMENT_INTERFACE (LENS_TYPE_PAGE, lens_meta_page_iface_init))

/* ---- loading a model -------------------------------------------------------- */

typedef struct {
  LensSession *session;
  char        *model_path;
  gint64       run_id;
} Input;

typedef struct {
  MsrModel       *model;
  MsrMetaUserMap *map;
  double         *user_auc;
  guint           n_user_auc;
  char           *note;           /* why something is missing */
} Output;

static void
input_free (gpointer data)
{
  Input *in = data;
  g_clear_object (&in->session);
  g_free (in->model_path);
  g_free (in);
}

static void
output_free (gpointer data)
{
  Output *out = data;
  if (out == NULL)
    return;
  g_clear_pointer (&out->model, msr_model_free);
  g_clear_pointer (&out->map, msr_meta_user_map_free);
  g_free (out->user_auc);
  g_free (out->note);
  g_free (out);
}

static gpointer
load_thread (LensJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  Input *in = data;
  MsrProject *project = lens_session_get_project (in->session);
  const MsrDataset *ds = lens_session_get_dataset (in->session);
  lens_job_report (job, -1, "Loading the model");
  g_autoptr(MsrModel) model = msr_pipeline_load_model (project, in->model_path, error);
  if (model == NULL)
    return NULL;
  Output *out = g_new0 (Output, 1);
  if (!msr_model_get_config (model)->meta_no_user)
    {
      lens_job_report (job, -1, "Projecting every user's generated layer");
      g_autoptr(GError) local = NULL;
      out->map = msr_explain_user_map (model, ds, cancellable, &local);
      if (out->map == NULL)
        {
          if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            {
              output_free (out);
              g_propagate_error (error, g_steal_pointer (&local));
              return NULL;
            }
          out->note = g_strdup (local->message);
        }
    }
  /* Each user's AUC on the run's stored test scores. */
  g_autofree char *rpath = msr_project_get_path (project, MSR_RESULTS_FILE);
  g_autoptr(MsrResults) results = msr_results_open (rpath, MSR_RESULTS_READ_ONLY, NULL);
  g_autoptr(MsrResultsPredictions) pred = results ? msr_results_get_predictions (results, in->run_id, NULL) : NULL;
  if (pred != NULL)
    {
      g_autofree double *scores = g_new (double, MAX (pred->n, 1));
      for (gsize i = 0; i < pred->n; i++)
        scores[i] = pred->scores[i];
      out->user_auc = msr_explain_user_aucs (ds, MSR_SPLIT_MASK (MSR_SPLIT_TEST), scores, pred->n, NULL);
      out->n_user_auc = msr_dataset_get_field_cardinality (ds, msr_dataset_get_user_field (ds));
    }
  out->model = g_steal_pointer (&model);
  return out;
}

/* ---- drawing ----------------------------------------------------------------- */

static char **
numbered (guint n)
{
  char **v = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    v[i] = g_strdup_printf ("%u", i + 1);
  return v;
}

/* A weight matrix as a heatmap on a scale symmetric about 0. */
static LensChart *
weight_heatmap (const char *title, const char *note, const float *w, guint rows, guint cols)
{
  g_auto(GStrv) rl = numbered (rows);
  g_auto(GStrv) cl = numbered (cols);
  g_autofree double *v = g_new (double, (gsize) rows * cols);
  for (gsize i = 0; i < (gsize) rows * cols; i++)
    v[i] = w[i];
  LensChart *chart = lens_chart_new_heatmap (title, "weight", rows, (const char * const *) rl, cols,
                                             (const char * const *) cl, v, NULL, LENS_COLOR_SCALE_DIVERGING, 0.0,
                                             "%.3f");
  lens_chart_set_note (chart, note);
  return chart;
}

static LensChart *
spectrum_chart (const char *title, const float *w, guint rows, guint cols)
{
  guint k = 0;
  g_autofree double *sv = msr_explain_singular_values (w, rows, cols, &k, NULL);
  if (sv == NULL)
    return NULL;
  g_autofree double *x = g_new (double, k);
  for (guint i = 0; i < k; i++)
    x[i] = i + 1;
  const char *series[] = { "singular value" };
  const guint n[] = { k };
  const double *xs[] = { x }, *ys[] = { sv };
  const int markers[] = { -1 };
  return lens_chart_new_line (title, "rank (1 = largest)", "singular value", 1, series, n, xs, ys, markers);
}

static void
show_error (LensMetaPage *self, const char *message)
{
  gtk_label_set_text (self->message_label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->message_label), message != NULL);
}

static void
update_scenario (LensMetaPage *self)
{
  if (self->model == NULL || self->updating)
    return;
  const guint S = msr_model_get_n_scenarios (self->model);
  const guint a = gtk_drop_down_get_selected (self->scenario_a);
  const guint b = gtk_drop_down_get_selected (self->scenario_b);   /* 0 = none */
  if (msr_model_meta_scenario_n_layers (self->model) == 0 || a >= S)
    {
      lens_chart_view_set_chart (self->scenario_view, NULL);
      lens_chart_view_set_chart (self->scenario_spectrum, NULL);
      return;
    }
  g_autoptr(GError) error = NULL;
  g_autofree float *wa = NULL, *ba = NULL, *wb = NULL, *bb = NULL;
  guint r, c;
  if (!msr_model_meta_scenario_layer (self->model, a, 0, &wa, &r, &c, &ba, &error))
    {
      show_error (self, error->message);
      return;
    }
  const char *na = msr_model_get_scenario_name (self->model, a);
  g_autofree char *title = NULL, *note = NULL;
  if (b > 0 && b - 1 < S && b - 1 != a &&
      msr_model_meta_scenario_layer (self->model, b - 1, 0, &wb, &r, &c, &bb, &error))
    {
      for (gsize i = 0; i < (gsize) r * c; i++)
        wa[i] -= wb[i];
      title = g_strdup_printf ("%s − %s: scenario layer 1", na, msr_model_get_scenario_name (self->model, b - 1));
      note = g_strdup_printf ("Difference of the two scenarios' generated weights (rows: %u outputs, columns: %u inputs)", r, c);
    }
  else
    {
      title = g_strdup_printf ("%s: generated scenario layer 1", na);
      note = g_strdup_printf ("W_s of the scenario branch's first layer (nn.Linear weight; rows: %u outputs, columns: %u inputs)",
                              r, c);
    }
  g_autoptr(LensChart) heat = weight_heatmap (title, note, wa, r, c);
  lens_chart_view_set_chart (self->scenario_view, heat);
  g_autofree char *st = g_strdup_printf ("Spectrum: %s", title);
  g_autoptr(LensChart) spec = spectrum_chart (st, wa, r, c);
  lens_chart_view_set_chart (self->scenario_spectrum, spec);
}

void
lens_meta_page_show_users (LensMetaPage *self, const char *a, const char *b)
{
  g_return_if_fail (LENS_IS_META_PAGE (self));
  gtk_editable_set_text (GTK_EDITABLE (self->user_a), a ? a : "");
  gtk_editable_set_text (GTK_EDITABLE (self->user_b), b ? b : "");
}

static void
update_user (LensMetaPage *self)
{
  if (self->model == NULL)
    return;
  if (msr_model_get_config (self->model)->meta_no_user)
    {
      lens_chart_view_set_chart (self->user_view, NULL);
      lens_chart_view_set_chart (self->user_spectrum, NULL);
      return;
    }
  const char *a = gtk_editable_get_text (GTK_EDITABLE (self->user_a));
  const char *b = gtk_editable_get_text (GTK_EDITABLE (self->user_b));
  const gboolean subtract = gtk_check_button_get_active (self->subtract_check);
  const guint uf = msr_model_get_user_field (self->model);
  if (a[0] == '\0' || msr_model_encode (self->model, uf, a) <= 0)
    {
      g_autofree char *msg = g_strdup_printf ("No user '%s' in the model's vocabulary", a);
      show_error (self, a[0] ? msg : NULL);
      return;
    }
  if (subtract && b[0] && msr_model_encode (self->model, uf, b) <= 0)
    {
      g_autofree char *msg = g_strdup_printf ("No user '%s' in the model's vocabulary", b);
      show_error (self, msg);
      return;
    }
  show_error (self, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree float *wa = NULL, *ba = NULL, *wb = NULL, *bb = NULL;
  guint r, c;
  /* A user meta network that reads the scenario's knowledge too makes a
   * layer per user and scenario: the one of the scenario chosen above. */
  const int s = msr_model_get_config (self->model)->meta_user_on_scenario
                  ? (int) gtk_drop_down_get_selected (self->scenario_a) : -1;
  g_autofree char *in_scenario = s >= 0 ? g_strdup_printf (" in %s", msr_model_get_scenario_name (self->model, (guint) s))
                                        : g_strdup ("");
  if (!msr_model_meta_user_layer_in_scenario (self->model, a, s, &wa, &r, &c, &ba, &error))
    {
      show_error (self, error->message);
      return;
    }
  g_autofree char *title = NULL, *note = NULL;
  if (subtract)
    {
      gboolean ok = b[0] ? msr_model_meta_user_layer_in_scenario (self->model, b, s, &wb, &r, &c, &bb, &error)
                         : msr_model_meta_user_layer_mean (self->model, &wb, &r, &c, &bb, &error);
      if (!ok)
        {
          show_error (self, error->message);
          return;
        }
      for (gsize i = 0; i < (gsize) r * c; i++)
        wa[i] -= wb[i];
      title = b[0] ? g_strdup_printf ("User %s − user %s: user-level layer%s", a, b, in_scenario)
                   : g_strdup_printf ("User %s − the population: user-level layer%s", a, in_scenario);
      note = g_strdup_printf ("W_u − %s (rows: %u outputs, columns: %u inputs): what the user's knowledge changes", b[0] ? "W_v" : "the mean "
                              "user's layer", r, c);
    }
  else
    {
      title = g_strdup_printf ("User %s: generated user-level layer%s", a, in_scenario);
      note = g_strdup_printf ("W_u at the bottom of the tower (nn.Linear weight; rows: %u outputs, columns: %u inputs)", r, c);
    }
  g_autoptr(LensChart) heat = weight_heatmap (title, note, wa, r, c);
  lens_chart_view_set_chart (self->user_view, heat);
  g_autofree char *st = g_strdup_printf ("Spectrum: %s", title);
  g_autoptr(LensChart) spec = spectrum_chart (st, wa, r, c);
  lens_chart_view_set_chart (self->user_spectrum, spec);
}

static void
update_map (LensMetaPage *self)
{
  const MsrMetaUserMap *map = self->map;
  if (map == NULL || self->model == NULL)
    {
      lens_chart_view_set_chart (self->map_view, NULL);
      return;
    }
  const gboolean by_auc = gtk_drop_down_get_selected (self->colour_dropdown) == 1 && self->user_auc != NULL;
  const guint S = msr_model_get_n_scenarios (self->model);
  g_autofree double *x = g_new (double, map->n), *y = g_new (double, map->n);
  g_autofree int *group = g_new (int, map->n);
  for (guint i = 0; i < map->n; i++)
    {
      x[i] = map->xy[2 * i];
      y[i] = map->xy[2 * i + 1];
      group[i] = map->dominant[i];
    }
  static const char *const auc_bins[] = { "AUC < 0.6", "0.6 – 0.7", "0.7 – 0.8", "AUC ≥ 0.8" };
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  if (by_auc)
    {
      const MsrDataset *ds = lens_session_get_dataset (self->session);
      const guint uf = msr_dataset_get_user_field (ds);
      for (guint i = 0; i < map->n; i++)
        {
          gint32 code = msr_dataset_lookup_code (ds, uf, map->users[i]);
          double auc = code > 0 && (guint) code < self->n_user_auc ? self->user_auc[code] : NAN;
          group[i] = isnan (auc) ? -1 : auc < 0.6 ? 0 : auc < 0.7 ? 1 : auc < 0.8 ? 2 : 3;
        }
      for (guint g = 0; g < G_N_ELEMENTS (auc_bins); g++)
        g_ptr_array_add (names, (gpointer) auc_bins[g]);
    }
  else
    for (guint s = 0; s < S; s++)
      g_ptr_array_add (names, (gpointer) msr_model_get_scenario_name (self->model, s));
  g_autofree char *xl = g_strdup_printf ("principal axis 1 (%.0f%% of the variance)", 100 * map->explained[0]);
  g_autofree char *yl = g_strdup_printf ("principal axis 2 (%.0f%%)", 100 * map->explained[1]);
  g_autofree char *title = g_strdup_printf ("%u users' generated layers (W_u − base), by %s", map->n,
                                            by_auc ? "their test AUC" : "dominant scenario");
  g_autoptr(LensChart) chart = lens_chart_new_scatter_groups (title, xl, yl, map->n,
                                                              (const char * const *) map->users, x, y, group,
                                                              names->len, (const char * const *) names->pdata);
  lens_chart_view_set_chart (self->map_view, chart);
}

static void
show_model (LensMetaPage *self)
{
  const guint S = msr_model_get_n_scenarios (self->model);
  g_autoptr(GtkStringList) la = gtk_string_list_new (NULL);
  g_autoptr(GtkStringList) lb = gtk_string_list_new (NULL);
  gtk_string_list_append (lb, "nothing");
  for (guint s = 0; s < S; s++)
    {
      gtk_string_list_append (la, msr_model_get_scenario_name (self->model, s));
      gtk_string_list_append (lb, msr_model_get_scenario_name (self->model, s));
    }
  self->updating = TRUE;
  gtk_drop_down_set_model (self->scenario_a, G_LIST_MODEL (la));
  gtk_drop_down_set_model (self->scenario_b, G_LIST_MODEL (lb));
  gtk_drop_down_set_selected (self->scenario_a, 0);
  gtk_drop_down_set_selected (self->scenario_b, 0);
  self->updating = FALSE;
  /* A first user to show: the first with knowledge. */
  const char *first = self->map && self->map->n ? self->map->users[0] : "";
  if (gtk_editable_get_text (GTK_EDITABLE (self->user_a))[0] == '\0')
    gtk_editable_set_text (GTK_EDITABLE (self->user_a), first);
  const MsrModelConfig *cfg = msr_model_get_config (self->model);
  g_autofree char *variant = msr_model_config_describe (cfg, FALSE);
  g_autofree char *sub = g_strdup_printf ("%s: knowledge width %u, compression d_q %u%s%s", variant,
                                          cfg->knowledge_dim, cfg->meta_dq,
                                          cfg->meta_rank ? ", low-rank user layer" : "",
                                          cfg->meta_user_on_scenario ? ", user layer conditioned on the scenario" : "");
  gtk_label_set_text (self->subtitle_label, sub);
  update_scenario (self);
  update_user (self);
  update_map (self);
  g_autoptr(GString) caption = g_string_new ("Weights as nn.Linear stores them (rows: outputs, columns: inputs), on "
                                             "a colour scale symmetric about 0. The spectrum shows how many "
                                             "directions a layer uses.");
  if (self->map)
    g_string_append_printf (caption, " The projection: PCA of every user's W_u − base (the part the knowledge "
                            "generates); %.0f%% and %.0f%% of the variance on the two axes.",
                            100 * self->map->explained[0], 100 * self->map->explained[1]);
  if (self->user_auc == NULL)
    g_string_append (caption, " Colouring by AUC needs the run's stored test scores.");
  gtk_label_set_text (self->caption_label, caption->str);
  gtk_stack_set_visible_child_name (self->stack, "content");
}

/* ---- the job ------------------------------------------------------------------ */

static void
set_busy (LensMetaPage *self, gboolean busy)
{
  gtk_widget_set_visible (self->busy_box, busy);
  gtk_spinner_set_spinning (self->spinner, busy);
}

static void
on_job_stage (LensMetaPage *self)
{
  const char *stage = self->job ? lens_job_get_stage (self->job) : NULL;
  g_autofree char *text = g_strdup_printf ("%s…", stage ? stage : "Loading");
  gtk_label_set_text (self->busy_label, text);
}

static void
on_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(LensMetaPage) self = user_data;
  g_autoptr(GError) error = NULL;
  Output *out = lens_job_run_finish (LENS_JOB (source), result, &error);
  if (LENS_JOB (source) != self->job)
    {
      output_free (out);
      return;
    }
  g_clear_object (&self->job);
  g_clear_object (&self->cancellable);
  set_busy (self, FALSE);
  if (out == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          show_error (self, error->message);
          lens_page_report_error (LENS_PAGE (self), error->message);
        }
      return;
    }
  g_clear_pointer (&self->model, msr_model_free);
  g_clear_pointer (&self->map, msr_meta_user_map_free);
  g_clear_pointer (&self->user_auc, g_free);
  self->model = g_steal_pointer (&out->model);
  self->map = g_steal_pointer (&out->map);
  self->user_auc = g_steal_pointer (&out->user_auc);
  self->n_user_auc = out->n_user_auc;
  show_error (self, out->note);
  output_free (out);
  show_model (self);
}

static gint64
selected_run (LensMetaPage *self)
{
  guint i = gtk_drop_down_get_selected (self->model_dropdown);
  return i != GTK_INVALID_LIST_POSITION && i < self->model_runs->len ? g_array_index (self->model_runs, gint64, i) : 0;
}

static void
load (LensMetaPage *self)
{
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->job);
  const gint64 id = selected_run (self);
  const LensRun *run = self->session && id ? lens_session_find_run (self->session, id) : NULL;
  self->computed_run = id;
  if (run == NULL || lens_session_get_dataset (self->session) == NULL)
    return;
  Input *in = g_new0 (Input, 1);
  in->session = g_object_ref (self->session);
  in->model_path = g_strdup (run->info->model_path);
  in->run_id = id;
  self->cancellable = g_cancellable_new ();
  self->job = lens_job_new ("Meta weights");
  g_signal_connect_swapped (self->job, "notify::stage", G_CALLBACK (on_job_stage), self);
  set_busy (self, TRUE);
  lens_job_run_async (self->job, load_thread, in, input_free, output_free, self->cancellable, on_loaded,
                      g_object_ref (self));
}

static void
refill_models (LensMetaPage *self)
{
  const gint64 keep = selected_run (self);
  g_array_set_size (self->model_runs, 0);
  g_autoptr(GtkStringList) list = gtk_string_list_new (NULL);
  guint want = 0, newest_full = G_MAXUINT;
  GPtrArray *runs = self->session ? lens_session_get_runs (self->session) : NULL;
  for (guint i = 0; runs && i < runs->len; i++)
    {
      const LensRun *r = runs->pdata[i];
      const char *a = r->info->architecture;
      if (g_strcmp0 (r->info->kind, "eval") != 0 || r->info->model_path == NULL || a == NULL ||
          strstr (a, "llm4msr") == NULL)
        continue;
      g_autofree char *label = lens_run_get_label (r);
      gtk_string_list_append (list, label);
      if (r->info->id == keep)
        want = self->model_runs->len;
      if (newest_full == G_MAXUINT && g_str_has_suffix (a, "+llm4msr"))
        newest_full = self->model_runs->len;
      g_array_append_val (self->model_runs, r->info->id);
    }
  if (!self->user_chose && newest_full != G_MAXUINT)
    want = newest_full;
  self->updating = TRUE;
  gtk_drop_down_set_model (self->model_dropdown, G_LIST_MODEL (list));
  if (self->model_runs->len)
    gtk_drop_down_set_selected (self->model_dropdown, want);
  self->updating = FALSE;
  if (self->model_runs->len == 0)
    gtk_stack_set_visible_child_name (self->stack, "empty");
}

static void
on_model_changed (LensMetaPage *self)
{
  if (self->updating)
    return;
  self->user_chose = TRUE;
  if (selected_run (self) != self->computed_run)
    load (self);
}

static void
on_runs_changed (LensMetaPage *self)
{
  refill_models (self);
  if (selected_run (self) != self->computed_run)
    load (self);
}

static void
on_focus (LensMetaPage *self, int item, LensChartView *view)
{
  /* The view, not its chart: views replace their charts as scenarios,
   * users and models change, and a chart kept here would be freed. */
  self->focus_view = view;
}

/* ---- LensPage ------------------------------------------------------------------- */

static void
set_session (LensPage *page, LensSession *session)
{
  LensMetaPage *self = LENS_META_PAGE (page);
  if (self->session)
    g_signal_handlers_disconnect_by_data (self->session, self);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->job);
  set_busy (self, FALSE);
  g_clear_pointer (&self->model, msr_model_free);
  g_clear_pointer (&self->map, msr_meta_user_map_free);
  g_clear_pointer (&self->user_auc, g_free);
  /* Nothing of the last project stays behind (nor goes out by Export)
   * when this one has no LLM4MSR model to replace it. */
  LensChartView *views[] = { self->scenario_view, self->scenario_spectrum, self->user_view, self->user_spectrum,
                             self->map_view };
  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    lens_chart_view_set_chart (views[i], NULL);
  self->focus_view = NULL;
  show_error (self, NULL);
  g_set_object (&self->session, session);
  self->computed_run = -1;
  self->user_chose = FALSE;
  gtk_editable_set_text (GTK_EDITABLE (self->user_a), "");
  gtk_editable_set_text (GTK_EDITABLE (self->user_b), "");
  refill_models (self);
  if (session == NULL)
    return;
  g_signal_connect_swapped (session, "runs-changed", G_CALLBACK (on_runs_changed), self);
  load (self);
}

static LensChart *
get_chart (LensPage *page)
{
  LensMetaPage *self = LENS_META_PAGE (page);
  LensChart *chart = self->focus_view ? lens_chart_view_get_chart (self->focus_view) : NULL;
  return chart ? chart : lens_chart_view_get_chart (self->user_view);
}

static LensTable *
get_table (LensPage *page)
{
  return NULL;
}

static void
lens_meta_page_iface_init (LensPageInterface *iface)
{
  iface->set_session = set_session;
  iface->get_chart = get_chart;
  iface->get_table = get_table;
}

/* ---- GObject -------------------------------------------------------------------- */

static void
lens_meta_page_dispose (GObject *object)
{
  LensMetaPage *self = LENS_META_PAGE (object);
  if (self->session)
    g_signal_handlers_disconnect_by_data (self->session, self);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->job);
  g_clear_object (&self->session);
  g_clear_pointer (&self->model, msr_model_free);
  g_clear_pointer (&self->map, msr_meta_user_map_free);
  g_clear_pointer (&self->user_auc, g_free);
  adw_bin_set_child (ADW_BIN (self), NULL);
  G_OBJECT_CLASS (lens_meta_page_parent_class)->dispose (object);
}

static void
lens_meta_page_finalize (GObject *object)
{
  g_array_unref (LENS_META_PAGE (object)->model_runs);
  G_OBJECT_CLASS (lens_meta_page_parent_class)->finalize (object);
}

static void
lens_meta_page_class_init (LensMetaPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = lens_meta_page_dispose;
  object_class->finalize = lens_meta_page_finalize;
  lens_ui_ensure_resources ();
  g_type_ensure (LENS_TYPE_CHART_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class, MSR_RESOURCE_PATH "/ui/lens-meta-page.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, LensMetaPage, name)
  BIND (stack);
  BIND (empty_page);
  BIND (subtitle_label);
  BIND (model_dropdown);
  BIND (busy_box);
  BIND (spinner);
  BIND (busy_label);
  BIND (message_label);
  BIND (scenario_a);
  BIND (scenario_b);
  BIND (scenario_view);
  BIND (scenario_spectrum);
  BIND (user_a);
  BIND (user_b);
  BIND (subtract_check);
  BIND (user_view);
  BIND (user_spectrum);
  BIND (colour_dropdown);
  BIND (map_view);
  BIND (caption_label);
#undef BIND
}

static void
lens_meta_page_init (LensMetaPage *self)
{
  self->model_runs = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->computed_run = -1;
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect_swapped (self->model_dropdown, "notify::selected", G_CALLBACK (on_model_changed), self);
  g_signal_connect_swapped (self->scenario_a, "notify::selected", G_CALLBACK (update_scenario), self);
  g_signal_connect_swapped (self->scenario_a, "notify::selected", G_CALLBACK (update_user), self);
  g_signal_connect_swapped (self->scenario_b, "notify::selected", G_CALLBACK (update_scenario), self);
  g_signal_connect_swapped (self->user_a, "changed", G_CALLBACK (update_user), self);
  g_signal_connect_swapped (self->user_b, "changed", G_CALLBACK (update_user), self);
  g_signal_connect_swapped (self->subtract_check, "toggled", G_CALLBACK (update_user), self);
  g_signal_connect_swapped (self->colour_dropdown, "notify::selected", G_CALLBACK (update_map), self);
  LensChartView *views[] = { self->scenario_view, self->scenario_spectrum, self->user_view, self->user_spectrum,
                             self->map_view };
  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    g_signal_connect_swapped (views[i], "item-selected", G_CALLBACK (on_focus), self);
}

GtkWidget *
lens_meta_page_new (void)
{
  return g_object_new (LENS_TYPE_META_PAGE, NULL);
}

gboolean
lens_meta_page_is_busy (LensMetaPage *self)
{
  return self->job != NULL;
}

gboolean
lens_meta_page_is_ready (LensMetaPage *self)
{
  return self->model != NULL && self->job == NULL;
}

LensChart *
lens_meta_page_get_user_chart (LensMetaPage *self)
{
  return lens_chart_view_get_chart (self->user_view);
}

LensChart *
lens_meta_page_get_map_chart (LensMetaPage *self)
{
  return lens_chart_view_get_chart (self->map_view);
}

LensChart *
lens_meta_page_get_scenario_chart (LensMetaPage *self)
{
  return lens_chart_view_get_chart (self->scenario_view);
}

LensChart *
lens_meta_page_get_spectrum_chart (LensMetaPage *self)
{
  return lens_chart_view_get_chart (self->user_spectrum);
}

LensChart *
lens_meta_page_get_scenario_spectrum_chart (LensMetaPage *self)
{
  return lens_chart_view_get_chart (self->scenario_spectrum);
}

void
lens_meta_page_show_scenarios (LensMetaPage *self, guint a, int b)
{
  g_return_if_fail (LENS_IS_META_PAGE (self));
  gtk_drop_down_set_selected (self->scenario_a, a);
  gtk_drop_down_set_selected (self->scenario_b, b < 0 ? 0 : (guint) b + 1);   /* entry 0 is "nothing" */
}

gboolean
lens_meta_page_set_run (LensMetaPage *self, gint64 run)
{
  g_return_val_if_fail (LENS_IS_META_PAGE (self), FALSE);
  for (guint i = 0; i < self->model_runs->len; i++)
    if (g_array_index (self->model_runs, gint64, i) == run)
      {
        gtk_drop_down_set_selected (self->model_dropdown, i);
        return TRUE;
      }
  return FALSE;
}

const char *
lens_meta_page_get_message (LensMetaPage *self)
{
  g_return_val_if_fail (LENS_IS_META_PAGE (self), NULL);
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->stack), "empty") == 0)
    return adw_status_page_get_title (self->empty_page);
  return gtk_widget_get_visible (GTK_WIDGET (self->message_label)) ? gtk_label_get_text (self->message_label) : NULL;
}

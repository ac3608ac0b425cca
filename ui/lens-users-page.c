/* lens-users-page.c: see lens-users-page.h. */
#include "config.h"

#include "lens-users-page.h"
#include "lens-chart-view.h"
#include "lens-job.h"
#include "lens-markdown.h"
#include "lens-table.h"
#include "lens-ui.h"
#include "msr-explain.h"
#include "msr-knowledge.h"
#include "msr-knowledge-vectors.h"
#include "msr-pipeline.h"
#include "msr-results.h"

#include <math.h>
#include <string.h>

#define NEAREST 8
/* Δ bars shown: the rows the user's layer moves most. */
#define MAX_BARS 12

enum { COL_SCENARIO, COL_ITEM, COL_SPLIT, COL_LABEL, COL_P, COL_P0, COL_DELTA, N_COLS };

struct _LensUsersPage
{
  AdwBin parent_instance;

  LensSession    *session;
  LensJob        *job;
  GCancellable   *cancellable;
  GArray         *model_runs;    /* gint64; entry 0 of the dropdown is "None" */
  gboolean        updating;
  char           *user;
  char           *profile;
  double          user_auc;
  GPtrArray      *nearest;       /* char * */

  GtkLabel       *subtitle_label;
  GtkSearchEntry *search_entry;
  GtkDropDown    *model_dropdown;
  GtkWidget      *busy_box;
  GtkSpinner     *spinner;
  GtkLabel       *busy_label;
  GtkLabel       *message_label;
  GtkLabel       *facts_label;
  GtkLabel       *profile_label;
  GtkLabel       *nearest_label;
  LensChartView  *effect_view;
  LensTable      *table;
};

static void lens_users_page_iface_init (LensPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LensUsersPage, lens_users_page, ADW_TYPE_BIN,
                               G_IMPLEMENT_INTERFACE (LENS_TYPE_PAGE, lens_users_page_iface_init))

/* ---- the job ------------------------------------------------------------------ */

typedef struct {
  LensSession *session;
  char        *user;
  char        *model_path;     /* nullable */
  gint64       run_id;
} Input;

typedef struct {
  char     *user;
  char     *profile, *profile_source, *profile_llm;
  GPtrArray *nearest;           /* char *: "id (0.83)" */
  char     *nearest_note;
  /* the user's rows, dataset order */
  gsize     n_rows;
  guint32  *rows;
  double   *p;                  /* the run's stored score for test rows, NaN else */
  double   *p0;                 /* without the user's layer (LLM4MSR), NaN else */
  double   *delta;              /* logit with − without, NaN else */
  double    user_auc;
  char     *note;
} Output;

static void
input_free (gpointer data)
{
  Input *in = data;
  g_clear_object (&in->session);
  g_free (in->user);
  g_free (in->model_path);
  g_free (in);
}

static void
output_free (gpointer data)
{
  Output *o = data;
  if (o == NULL)
    return;
  g_free (o->user);
  g_free (o->profile);
  g_free (o->profile_source);
  g_free (o->profile_llm);
  g_clear_pointer (&o->nearest, g_ptr_array_unref);
  g_free (o->nearest_note);
  g_free (o->rows);
  g_free (o->p);
  g_free (o->p0);
  g_free (o->delta);
  g_free (o->note);
  g_free (o);
}

static double
sigmoid (double z)
{
  return 1.0 / (1.0 + exp (-z));
}

static gpointer
user_thread (LensJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  Input *in = data;
  MsrProject *project = lens_session_get_project (in->session);
  const MsrDataset *ds = lens_session_get_dataset (in->session);
  const guint uf = msr_dataset_get_user_field (ds);
  const gint32 code = msr_dataset_lookup_code (ds, uf, in->user);
  if (code <= 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "No user '%s' in the dataset", in->user);
      return NULL;
    }
  Output *o = g_new0 (Output, 1);
  o->user = g_strdup (in->user);
  o->user_auc = NAN;
  o->nearest = g_ptr_array_new_with_free_func (g_free);

  /* What the store knows: the text, and the nearest users by vector. */
  g_autofree char *store = msr_project_get_knowledge_path (project);
  if (g_file_test (store, G_FILE_TEST_EXISTS))
    {
      g_autoptr(GError) local = NULL;
      g_autoptr(MsrKnowledge) k = msr_knowledge_open (store, MSR_KNOWLEDGE_READ_ONLY, &local);
      g_autoptr(MsrKnowledgeEntry) e = k ? msr_knowledge_get_entry (k, MSR_KNOWLEDGE_USER, in->user, NULL, &local)
                                         : NULL;
      if (e)
        {
          o->profile = g_steal_pointer (&e->response);
          o->profile_source = g_steal_pointer (&e->source);
          o->profile_llm = g_steal_pointer (&e->llm);
        }
      g_autofree char *encoder = k ? msr_knowledge_default_encoder (k, NULL) : NULL;
      g_autoptr(MsrKnowledgeVectors) v = encoder ? msr_knowledge_get_vectors (k, MSR_KNOWLEDGE_USER, encoder, NULL,
                                                                              NULL) : NULL;
      int row = v ? msr_knowledge_vectors_find (v, in->user) : -1;
      if (row >= 0)
        {
          guint rows[NEAREST];
          double cos[NEAREST];
          guint n = msr_knowledge_vectors_nearest (v, (guint) row, NEAREST, rows, cos);
          for (guint i = 0; i < n; i++)
            g_ptr_array_add (o->nearest, g_strdup_printf ("%s (%.2f)", v->keys[rows[i]], cos[i]));
          o->nearest_note = g_strdup_printf ("cosine similarity of the users' knowledge vectors (encoder %s)", encoder);
        }
      else
        o->nearest_note = g_strdup (local ? local->message : "the user has no knowledge vector");
    }
  else
    o->nearest_note = g_strdup ("no knowledge store");

  /* The user's rows. */
  const gint32 *uc = msr_dataset_get_field_codes (ds, uf);
  const guint8 *sp = msr_dataset_get_splits (ds);
  g_autoptr(GArray) rows = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (gsize r = 0; r < msr_dataset_get_n_rows (ds); r++)
    if (uc[r] == code)
      {
        guint32 r32 = (guint32) r;
        g_array_append_val (rows, r32);
      }
  o->n_rows = rows->len;
  o->p = g_new (double, MAX (rows->len, 1));
  o->p0 = g_new (double, MAX (rows->len, 1));
  o->delta = g_new (double, MAX (rows->len, 1));
  for (guint i = 0; i < rows->len; i++)
    o->p[i] = o->p0[i] = o->delta[i] = NAN;

  if (in->model_path)
    {
      lens_job_report (job, -1, "Reading the model's predictions");
      /* The run's stored test scores, in test-split row order. */
      g_autofree char *rpath = msr_project_get_path (project, MSR_RESULTS_FILE);
      g_autoptr(MsrResults) results = msr_results_open (rpath, MSR_RESULTS_READ_ONLY, NULL);
      g_autoptr(MsrResultsPredictions) pred = results ? msr_results_get_predictions (results, in->run_id, NULL)
                                                      : NULL;
      if (pred)
        {
          g_autofree double *scores = g_new (double, MAX (pred->n, 1));
          for (gsize i = 0; i < pred->n; i++)
            scores[i] = pred->scores[i];
          g_autofree double *aucs = msr_explain_user_aucs (ds, MSR_SPLIT_MASK (MSR_SPLIT_TEST), scores, pred->n, NULL);
          if (aucs)
            o->user_auc = aucs[code];
          /* Test row r is the k-th test row: walk both in order. */
          gsize k = 0, i = 0;
          for (gsize r = 0; r < msr_dataset_get_n_rows (ds) && k < pred->n; r++)
            if (sp[r] == MSR_SPLIT_TEST)
              {
                while (i < rows->len && g_array_index (rows, guint32, i) < r)
                  i++;
                if (i < rows->len && g_array_index (rows, guint32, i) == r)
                  o->p[i] = scores[k];
                k++;
              }
        }
      else
        o->note = g_strdup ("The run has no stored predictions.");
      g_autoptr(GError) local = NULL;
      g_autoptr(MsrModel) model = msr_pipeline_load_model (project, in->model_path, &local);
      if (model == NULL)
        {
          g_free (o->note);
          o->note = g_strdup (local->message);
        }
      else if (msr_model_get_config (model)->llm4msr && !msr_model_get_config (model)->meta_no_user)
        {
          lens_job_report (job, -1, "Scoring without the user's generated layer");
          gsize n = 0;
          g_autofree guint32 *er = NULL;
          g_autofree double *with = NULL, *without = NULL;
          if (msr_explain_user_effect (model, ds, in->user, MSR_SPLIT_MASK (MSR_SPLIT_TEST), &n, &er, &with,
                                       &without, &local))
            {
              gsize i = 0;
              for (gsize j = 0; j < n; j++)
                {
                  while (i < rows->len && g_array_index (rows, guint32, i) < er[j])
                    i++;
                  if (i < rows->len && g_array_index (rows, guint32, i) == er[j])
                    {
                      o->p0[i] = sigmoid (without[j]);
                      o->delta[i] = with[j] - without[j];
                    }
                }
            }
          else
            {
              g_free (o->note);
              o->note = g_strdup (local->message);
            }
        }
    }
  o->rows = (guint32 *) g_array_free (g_steal_pointer (&rows), FALSE);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      output_free (o);
      return NULL;
    }
  return o;
}

/* ---- showing it ------------------------------------------------------------------ */

static void
set_busy (LensUsersPage *self, gboolean busy)
{
  gtk_widget_set_visible (self->busy_box, busy);
  gtk_spinner_set_spinning (self->spinner, busy);
}

static void
show_message (LensUsersPage *self, const char *message)
{
  gtk_label_set_text (self->message_label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->message_label), message != NULL);
}

static void
show_output (LensUsersPage *self, Output *o)
{
  const MsrDataset *ds = lens_session_get_dataset (self->session);
  const guint S = msr_dataset_get_n_scenarios (ds);
  const guint fi = msr_dataset_get_item_field (ds);
  const gint32 *ic = msr_dataset_get_field_codes (ds, fi);
  const guint16 *sc = msr_dataset_get_scenarios (ds);
  const guint8 *labels = msr_dataset_get_labels (ds), *sp = msr_dataset_get_splits (ds);

  g_free (self->user);
  self->user = g_strdup (o->user);
  g_free (self->profile);
  self->profile = g_strdup (o->profile);
  self->user_auc = o->user_auc;
  g_ptr_array_set_size (self->nearest, 0);
  for (guint i = 0; i < o->nearest->len; i++)
    g_ptr_array_add (self->nearest, g_strdup (o->nearest->pdata[i]));

  /* Facts: rows and positive rate per scenario. */
  g_autofree guint *train = g_new0 (guint, S), *test = g_new0 (guint, S), *liked = g_new0 (guint, S);
  for (gsize i = 0; i < o->n_rows; i++)
    {
      const guint32 r = o->rows[i];
      if (sp[r] == MSR_SPLIT_TEST)
        test[sc[r]]++;
      else
        train[sc[r]]++;
      liked[sc[r]] += labels[r] != 0;
    }
  g_autofree char *who = g_markup_escape_text (o->user, -1);
  GString *facts = g_string_new (NULL);
  g_string_append_printf (facts, "<b>User %s</b>: %" G_GSIZE_FORMAT " rows. ", who, o->n_rows);
  for (guint s = 0; s < S; s++)
    {
      if (train[s] + test[s] == 0)
        continue;
      g_autofree char *name = g_markup_escape_text (msr_dataset_get_scenario_name (ds, s), -1);
      g_string_append_printf (facts, "%s %u+%u (%.0f%% liked); ", name, train[s], test[s],
                              100.0 * liked[s] / (train[s] + test[s]));
    }
  if (!isnan (o->user_auc))
    g_string_append_printf (facts, "AUC on the user's test rows %.3f.", o->user_auc);
  else
    g_string_append (facts, "No AUC on the user's test rows (no run chosen, or one class only).");
  gtk_label_set_markup (self->facts_label, facts->str);
  g_string_free (facts, TRUE);

  if (o->profile)
    {
      g_autofree char *body = lens_markdown_to_pango (o->profile);
      g_autofree char *src = g_markup_escape_text (o->profile_source ? o->profile_source : "", -1);
      g_autofree char *text = g_strdup_printf ("<span alpha=\"60%%\">%s</span>\n\n%s", src, body);
      gtk_label_set_markup (self->profile_label, text);
    }
  else
    gtk_label_set_text (self->profile_label, "No user-level knowledge for this user.");
  if (o->nearest->len)
    {
      GString *n = g_string_new (NULL);
      for (guint i = 0; i < o->nearest->len; i++)
        g_string_append_printf (n, "%s%s", i ? ", " : "", (const char *) o->nearest->pdata[i]);
      g_string_append_printf (n, " — %s.", o->nearest_note);
      gtk_label_set_text (self->nearest_label, n->str);
      g_string_free (n, TRUE);
    }
  else
    {
      g_autofree char *t = g_strdup_printf ("None: %s.", o->nearest_note);
      gtk_label_set_text (self->nearest_label, t);
    }

  /* The table: every row of the user. */
  g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);
  g_autofree double *keys = g_new (double, MAX (o->n_rows, 1) * N_COLS);
  g_autoptr(GPtrArray) bar_labels = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) bar_delta = g_array_new (FALSE, FALSE, sizeof (double));
  for (gsize i = 0; i < o->n_rows; i++)
    {
      const guint32 r = o->rows[i];
      const char *title = msr_dataset_get_value_label (ds, fi, ic[r]);
      if (title == NULL)
        title = msr_dataset_get_field_value (ds, fi, ic[r]);
      double *k = keys + i * N_COLS;
      k[COL_SCENARIO] = k[COL_ITEM] = k[COL_SPLIT] = NAN;
      k[COL_LABEL] = labels[r];
      k[COL_P] = o->p[i];
      k[COL_P0] = o->p0[i];
      k[COL_DELTA] = o->delta[i];
      g_ptr_array_add (cells, g_strdup (msr_dataset_get_scenario_name (ds, sc[r])));
      g_ptr_array_add (cells, g_strdup (title));
      g_ptr_array_add (cells, g_strdup (msr_split_to_string ((MsrSplit) sp[r])));
      g_ptr_array_add (cells, g_strdup (labels[r] ? "liked" : "–"));
      g_ptr_array_add (cells, isnan (o->p[i]) ? g_strdup ("") : g_strdup_printf ("%.3f", o->p[i]));
      g_ptr_array_add (cells, isnan (o->p0[i]) ? g_strdup ("") : g_strdup_printf ("%.3f", o->p0[i]));
      g_ptr_array_add (cells, isnan (o->delta[i]) ? g_strdup ("") : g_strdup_printf ("%+.3f", o->delta[i]));
      if (!isnan (o->delta[i]))
        {
          g_ptr_array_add (bar_labels, g_strdup_printf ("%s%s", labels[r] ? "♥ " : "", title));
          g_array_append_val (bar_delta, o->delta[i]);
        }
    }
  lens_table_set_rows (self->table, (guint) o->n_rows, (const char * const *) cells->pdata, keys, NULL);
  /* The rows the user's layer moves most first (test rows; others after). */
  lens_table_sort_by_column (self->table, COL_DELTA, GTK_SORT_DESCENDING);

  if (bar_delta->len)
    {
      /* The MAX_BARS rows with the largest |Δ|, in the user's row order. */
      const guint n = bar_delta->len;
      g_autofree guint *order = g_new (guint, n);
      for (guint i = 0; i < n; i++)
        order[i] = i;
      const double *d = (const double *) bar_delta->data;
      for (guint i = 1; i < n; i++)
        for (guint j = i; j > 0 && fabs (d[order[j]]) > fabs (d[order[j - 1]]); j--)
          {
            guint t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
          }
      const guint shown = MIN (n, MAX_BARS);
      g_autofree gboolean *keep = g_new0 (gboolean, n);
      for (guint i = 0; i < shown; i++)
        keep[order[i]] = TRUE;
      g_autoptr(GPtrArray) lab = g_ptr_array_new ();
      g_autoptr(GArray) val = g_array_new (FALSE, FALSE, sizeof (double));
      for (guint i = 0; i < n; i++)
        if (keep[i])
          {
            g_ptr_array_add (lab, bar_labels->pdata[i]);
            g_array_append_val (val, d[i]);
          }
      g_autofree char *title = g_strdup_printf ("User %s: what their generated layer changes", o->user);
      g_autoptr(LensChart) chart = lens_chart_new_diverging (title, "Δ logit: own layer − population's layer",
                                                             lab->len, (const char * const *) lab->pdata,
                                                             (const double *) val->data, NULL, NULL, NULL);
      g_autofree char *which = shown < n ? g_strdup_printf ("The %u of %u test rows it moves most", shown, n)
                                         : g_strdup ("Every test row");
      g_autofree char *note = g_strdup_printf ("%s (♥ = liked); to the right, the user's own meta layer raises "
                                               "the predicted click", which);
      lens_chart_set_note (chart, note);
      lens_chart_view_set_chart (self->effect_view, chart);
    }
  else
    lens_chart_view_set_chart (self->effect_view, NULL);
  show_message (self, o->note);
  g_autofree char *sub = g_strdup_printf ("User %s", o->user);
  gtk_label_set_text (self->subtitle_label, sub);
}

static void
on_user_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(LensUsersPage) self = user_data;
  g_autoptr(GError) error = NULL;
  Output *o = lens_job_run_finish (LENS_JOB (source), result, &error);
  if (LENS_JOB (source) != self->job)
    {
      output_free (o);
      return;
    }
  g_clear_object (&self->job);
  g_clear_object (&self->cancellable);
  set_busy (self, FALSE);
  if (o == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_message (self, error->message);
      return;
    }
  show_output (self, o);
  output_free (o);
}

static gint64
selected_run (LensUsersPage *self)
{
  guint i = gtk_drop_down_get_selected (self->model_dropdown);
  return i != GTK_INVALID_LIST_POSITION && i > 0 && i - 1 < self->model_runs->len
         ? g_array_index (self->model_runs, gint64, i - 1) : 0;
}

void
lens_users_page_show_user (LensUsersPage *self, const char *user)
{
  g_return_if_fail (LENS_IS_USERS_PAGE (self));
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->job);
  if (self->session == NULL || lens_session_get_dataset (self->session) == NULL || user == NULL || user[0] == '\0')
    return;
  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->search_entry)), user) != 0)
    gtk_editable_set_text (GTK_EDITABLE (self->search_entry), user);
  Input *in = g_new0 (Input, 1);
  in->session = g_object_ref (self->session);
  in->user = g_strdup (user);
  in->run_id = selected_run (self);
  const LensRun *run = in->run_id ? lens_session_find_run (self->session, in->run_id) : NULL;
  in->model_path = run && run->info->model_path ? g_strdup (run->info->model_path) : NULL;
  self->cancellable = g_cancellable_new ();
  self->job = lens_job_new ("User");
  set_busy (self, TRUE);
  gtk_label_set_text (self->busy_label, "Looking the user up…");
  lens_job_run_async (self->job, user_thread, in, input_free, output_free, self->cancellable, on_user_done,
                      g_object_ref (self));
}

static void
on_search (LensUsersPage *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->search_entry))));
  lens_users_page_show_user (self, text);
}

static void
refill_models (LensUsersPage *self)
{
  const gint64 keep = selected_run (self);
  g_array_set_size (self->model_runs, 0);
  g_autoptr(GtkStringList) list = gtk_string_list_new (NULL);
  gtk_string_list_append (list, "None");
  guint want = 0, first_llm = 0;
  GPtrArray *runs = self->session ? lens_session_get_runs (self->session) : NULL;
  for (guint i = 0; runs && i < runs->len; i++)
    {
      const LensRun *r = runs->pdata[i];
      if (g_strcmp0 (r->info->kind, "eval") != 0 || r->info->model_path == NULL)
        continue;
      g_autofree char *label = lens_run_get_label (r);
      gtk_string_list_append (list, label);
      g_array_append_val (self->model_runs, r->info->id);
      if (r->info->id == keep)
        want = self->model_runs->len;
      if (first_llm == 0 && r->info->architecture && g_str_has_suffix (r->info->architecture, "+llm4msr"))
        first_llm = self->model_runs->len;
    }
  if (keep == 0)
    want = first_llm;
  self->updating = TRUE;
  gtk_drop_down_set_model (self->model_dropdown, G_LIST_MODEL (list));
  gtk_drop_down_set_selected (self->model_dropdown, want);
  self->updating = FALSE;
}

static void
on_model_changed (LensUsersPage *self)
{
  if (!self->updating && self->user)
    lens_users_page_show_user (self, self->user);
}

static void
on_runs_changed (LensUsersPage *self)
{
  const gint64 before = selected_run (self);
  refill_models (self);
  if (self->user == NULL)
    {
      /* A first user: the dataset's first. */
      const MsrDataset *ds = lens_session_get_dataset (self->session);
      if (ds && msr_dataset_get_field_cardinality (ds, msr_dataset_get_user_field (ds)) > 1)
        lens_users_page_show_user (self, msr_dataset_get_field_value (ds, msr_dataset_get_user_field (ds), 1));
    }
  else if (selected_run (self) != before)
    lens_users_page_show_user (self, self->user);
}

/* ---- LensPage ------------------------------------------------------------------- */

static void
set_session (LensPage *page, LensSession *session)
{
  LensUsersPage *self = LENS_USERS_PAGE (page);
  if (self->session)
    g_signal_handlers_disconnect_by_data (self->session, self);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->job);
  set_busy (self, FALSE);
  g_clear_pointer (&self->user, g_free);
  g_set_object (&self->session, session);
  refill_models (self);
  if (session == NULL)
    return;
  g_signal_connect_swapped (session, "runs-changed", G_CALLBACK (on_runs_changed), self);
  on_runs_changed (self);
}

static LensChart *
get_chart (LensPage *page)
{
  return lens_chart_view_get_chart (LENS_USERS_PAGE (page)->effect_view);
}

static LensTable *
get_table (LensPage *page)
{
  return LENS_USERS_PAGE (page)->table;
}

static void
lens_users_page_iface_init (LensPageInterface *iface)
{
  iface->set_session = set_session;
  iface->get_chart = get_chart;
  iface->get_table = get_table;
}

static void
find_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  lens_users_page_focus_search (LENS_USERS_PAGE (widget));
}

/* ---- GObject -------------------------------------------------------------------- */

static void
lens_users_page_dispose (GObject *object)
{
  LensUsersPage *self = LENS_USERS_PAGE (object);
  if (self->session)
    g_signal_handlers_disconnect_by_data (self->session, self);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->job);
  g_clear_object (&self->session);
  adw_bin_set_child (ADW_BIN (self), NULL);
  G_OBJECT_CLASS (lens_users_page_parent_class)->dispose (object);
}

static void
lens_users_page_finalize (GObject *object)
{
  LensUsersPage *self = LENS_USERS_PAGE (object);
  g_array_unref (self->model_runs);
  g_ptr_array_unref (self->nearest);
  g_free (self->user);
  g_free (self->profile);
  G_OBJECT_CLASS (lens_users_page_parent_class)->finalize (object);
}

static void
lens_users_page_class_init (LensUsersPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = lens_users_page_dispose;
  object_class->finalize = lens_users_page_finalize;
  lens_ui_ensure_resources ();
  g_type_ensure (LENS_TYPE_CHART_VIEW);
  g_type_ensure (LENS_TYPE_TABLE);
  gtk_widget_class_set_template_from_resource (widget_class, MSR_RESOURCE_PATH "/ui/lens-users-page.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, LensUsersPage, name)
  BIND (subtitle_label);
  BIND (search_entry);
  BIND (model_dropdown);
  BIND (busy_box);
  BIND (spinner);
  BIND (busy_label);
  BIND (message_label);
  BIND (facts_label);
  BIND (profile_label);
  BIND (nearest_label);
  BIND (effect_view);
  BIND (table);
#undef BIND
  gtk_widget_class_install_action (widget_class, "users.find", NULL, find_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "users.find", NULL);
}

static void
lens_users_page_init (LensUsersPage *self)
{
  static const char *const titles[N_COLS] = { "Scenario", "Item", "Split", "Label", "p (model)",
                                              "p without the user's layer", "Δ logit" };
  static const gboolean numeric[N_COLS] = { FALSE, FALSE, FALSE, TRUE, TRUE, TRUE, TRUE };
  self->model_runs = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->nearest = g_ptr_array_new_with_free_func (g_free);
  self->user_auc = NAN;
  gtk_widget_init_template (GTK_WIDGET (self));
  lens_table_set_columns (self->table, N_COLS, titles, numeric);
  lens_table_set_column_width_chars (self->table, COL_ITEM, 24);
  lens_table_set_column_width_chars (self->table, COL_SCENARIO, 14);
  lens_table_set_label (self->table, "The user's rows");
  g_signal_connect_swapped (self->search_entry, "activate", G_CALLBACK (on_search), self);
  g_signal_connect_swapped (self->model_dropdown, "notify::selected", G_CALLBACK (on_model_changed), self);
}

GtkWidget *
lens_users_page_new (void)
{
  return g_object_new (LENS_TYPE_USERS_PAGE, NULL);
}

gboolean
lens_users_page_is_busy (LensUsersPage *self)
{
  return self->job != NULL;
}

const char *
lens_users_page_get_user (LensUsersPage *self)
{
  return self->user;
}

const char *
lens_users_page_get_profile (LensUsersPage *self)
{
  return self->profile;
}

double
lens_users_page_get_user_auc (LensUsersPage *self)
{
  return self->user_auc;
}

char **
lens_users_page_get_nearest (LensUsersPage *self)
{
  char **v = g_new0 (char *, self->nearest->len + 1);
  for (guint i = 0; i < self->nearest->len; i++)
    v[i] = g_strdup (self->nearest->pdata[i]);
  return v;
}

const char *
lens_users_page_get_message (LensUsersPage *self)
{
  g_return_val_if_fail (LENS_IS_USERS_PAGE (self), NULL);
  return gtk_widget_get_visible (GTK_WIDGET (self->message_label)) ? gtk_label_get_text (self->message_label) : NULL;
}

const char *
lens_users_page_get_facts (LensUsersPage *self)
{
  g_return_val_if_fail (LENS_IS_USERS_PAGE (self), NULL);
  return gtk_label_get_text (self->facts_label);
}

void
lens_users_page_focus_search (LensUsersPage *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

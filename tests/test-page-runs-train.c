/* test-page-runs-train.c: the Runs and Train pages on fixture projects,
 * driven headless under Xvfb.
 *
 * Expected values come from the results store, read here through the
 * engine's results API (run lists, metrics, curves), from the project
 * folder on disk, and from definitions written out in this file (what a
 * filter must keep, how AUC sorts). The one timing assertion is the
 * main-loop stall bound the issue asks for (under 100 ms while training). */
#include "config.h"
#include "test-util.h"
#include "test-gtk-util.h"
#include "test-session-util.h"
#include "test-fixture.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "lens-chart.h"
#include "lens-runs-page.h"
#include "lens-session.h"
#include "lens-table.h"
#include "lens-train-page.h"
#include "lens-ui.h"
#include "msr-pipeline.h"
#include "msr-results.h"

static char *tmp_root;
static char *runs_project;    /* popularity + dnn + star, for the Runs page */
static char *train_project;   /* popularity + dnn, for the Train page */

/* ---- main-loop helpers -------------------------------------------------- */

static gboolean
iterate_until (Condition cond, gpointer data)
{
  return msr_test_iterate_until (cond, data, 120);
}

/* The largest interval between two ticks of a 5 ms timer: how long the
 * main loop was unable to dispatch anything. */
typedef struct {
  gint64 start;
  gint64 last;
  gint64 max_gap;
  gint64 elapsed;
  guint  ticks;
  guint  source;
} GapMeter;

static gboolean
gap_tick (gpointer data)
{
  GapMeter *m = data;
  const gint64 now = g_get_monotonic_time ();
  if (m->last)
    m->max_gap = MAX (m->max_gap, now - m->last);
  m->last = now;
  m->ticks++;
  return G_SOURCE_CONTINUE;
}

static void
gap_meter_start (GapMeter *m)
{
  memset (m, 0, sizeof *m);
  m->start = m->last = g_get_monotonic_time ();
  m->source = g_timeout_add (5, gap_tick, m);
}

static void
gap_meter_stop (GapMeter *m)
{
  gap_tick (m);
  g_source_remove (m->source);
  m->elapsed = m->last - m->start;
}

/* ---- sessions ----------------------------------------------------------- */

static void
count_signal (gpointer instance, gpointer data)
{
  (*(guint *) data)++;
}

typedef struct {
  guint *counter;
  guint  want;
} CountAtLeast;

static gboolean
count_reached (gpointer data)
{
  CountAtLeast *c = data;
  return *c->counter >= c->want;
}

/* ---- the store, read independently of the pages ------------------------- */

static GPtrArray *
store_runs (const char *project)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (project, MSR_RESULTS_FILE, NULL);
  g_autoptr(MsrResults) results = msr_results_open (path, MSR_RESULTS_READ_ONLY, &error);
  g_assert_no_error (error);
  GPtrArray *runs = msr_results_list_runs (results, &error);
  g_assert_no_error (error);
  return runs;
}

static GArray *
store_ids (const char *project)
{
  g_autoptr(GPtrArray) runs = store_runs (project);
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < runs->len; i++)
    g_array_append_val (ids, ((MsrRunInfo *) g_ptr_array_index (runs, i))->id);
  return ids;
}

static gboolean
has_id (GArray *ids, gint64 id)
{
  for (guint i = 0; i < ids->len; i++)
    if (g_array_index (ids, gint64, i) == id)
      return TRUE;
  return FALSE;
}

static double
store_overall_auc (const char *project, gint64 id)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (project, MSR_RESULTS_FILE, NULL);
  g_autoptr(MsrResults) results = msr_results_open (path, MSR_RESULTS_READ_ONLY, &error);
  g_assert_no_error (error);
  g_autoptr(MsrResultsMetrics) m = msr_results_get_metrics (results, id, NULL);
  if (m == NULL)
    return NAN;
  const MsrResultsScopeMetrics *o = msr_results_metrics_find (m, MSR_RESULTS_SCOPE_OVERALL, NULL);
  return o && o->metrics.auc_defined ? o->metrics.auc : NAN;
}

static guint
store_n_epochs (const char *project, gint64 id)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (project, MSR_RESULTS_FILE, NULL);
  g_autoptr(MsrResults) results = msr_results_open (path, MSR_RESULTS_READ_ONLY, &error);
  g_assert_no_error (error);
  g_autoptr(GPtrArray) epochs = msr_results_get_epochs (results, id, &error);
  g_assert_no_error (error);
  return epochs->len;
}

static const MsrRunInfo *
find_info (GPtrArray *runs, const char *kind, const char *arch)
{
  for (guint i = 0; i < runs->len; i++)
    {
      const MsrRunInfo *r = g_ptr_array_index (runs, i);
      if (g_strcmp0 (r->kind, kind) == 0 && g_strcmp0 (r->architecture, arch) == 0)
        return r;
    }
  return NULL;
}

/* A recursive listing of a folder: "path size mtime" lines, sorted. */
static void
list_tree (const char *root, const char *rel, GPtrArray *out)
{
  g_autofree char *dir_path = rel ? g_build_filename (root, rel, NULL) : g_strdup (root);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child_rel = rel ? g_build_filename (rel, name, NULL) : g_strdup (name);
      g_autofree char *child = g_build_filename (root, child_rel, NULL);
      GStatBuf st;
      g_assert_cmpint (g_lstat (child, &st), ==, 0);
      if (S_ISDIR (st.st_mode))
        {
          g_ptr_array_add (out, g_strdup_printf ("%s/", child_rel));
          list_tree (root, child_rel, out);
        }
      else
        g_ptr_array_add (out, g_strdup_printf ("%s %" G_GINT64_FORMAT " %" G_GINT64_FORMAT, child_rel,
                                               (gint64) st.st_size, (gint64) st.st_mtime));
    }
}

static int
compare_lines (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static char *
tree_listing (const char *root)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  list_tree (root, NULL, lines);
  g_ptr_array_sort (lines, compare_lines);
  g_ptr_array_add (lines, NULL);
  return g_strjoinv ("\n", (char **) lines->pdata);
}

/* ---- the table, read through its CSV ------------------------------------ */

/* The visible rows as cells (no quoted commas in these fixtures' cells
 * except where noted; the parser handles RFC 4180 quotes anyway). */
static GPtrArray *
parse_csv_line (const char *line)
{
  GPtrArray *cells = g_ptr_array_new_with_free_func (g_free);
  GString *cell = g_string_new (NULL);
  gboolean quoted = FALSE;
  for (const char *p = line;; p++)
    {
      if (quoted)
        {
          if (*p == '"' && p[1] == '"')
            {
              g_string_append_c (cell, '"');
              p++;
            }
          else if (*p == '"')
            quoted = FALSE;
          else if (*p == '\0')
            break;
          else
            g_string_append_c (cell, *p);
          continue;
        }
      if (*p == '"')
        quoted = TRUE;
      else if (*p == ',' || *p == '\0' || *p == '\r')
        {
          g_ptr_array_add (cells, g_strdup (cell->str));
          g_string_truncate (cell, 0);
          if (*p != ',')
            break;
        }
      else
        g_string_append_c (cell, *p);
    }
  g_string_free (cell, TRUE);
  return cells;
}

typedef struct {
  GPtrArray *header;   /* char* */
  GPtrArray *rows;     /* GPtrArray of char* */
} Csv;

static void
csv_free (Csv *c)
{
  g_ptr_array_unref (c->header);
  g_ptr_array_unref (c->rows);
  g_free (c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Csv, csv_free)

static Csv *
table_csv (LensTable *table)
{
  g_autofree char *text = lens_table_to_csv (table);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  Csv *c = g_new0 (Csv, 1);
  c->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  g_assert_nonnull (lines[0]);
  c->header = parse_csv_line (lines[0]);
  for (guint i = 1; lines[i]; i++)
    if (lines[i][0] != '\0' && lines[i][0] != '\r')
      g_ptr_array_add (c->rows, parse_csv_line (lines[i]));
  return c;
}

static int
csv_column (Csv *c, const char *title)
{
  for (guint i = 0; i < c->header->len; i++)
    if (g_strcmp0 (g_ptr_array_index (c->header, i), title) == 0)
      return (int) i;
  g_error ("no column %s in the table", title);
  return -1;
}

static const char *
csv_cell (Csv *c, guint row, int col)
{
  GPtrArray *r = g_ptr_array_index (c->rows, row);
  g_assert_cmpuint ((guint) col, <, r->len);
  return g_ptr_array_index (r, col);
}

/* ---- widgets ------------------------------------------------------------ */

static GtkWidget *
find_actionable (GtkWidget *root, const char *action)
{
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      if (GTK_IS_ACTIONABLE (c) && g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (c)), action) == 0)
        return c;
      GtkWidget *found = find_actionable (c, action);
      if (found)
        return found;
    }
  return NULL;
}

static GtkWidget *
find_type (GtkWidget *root, GType type)
{
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      if (G_TYPE_CHECK_INSTANCE_TYPE (c, type))
        return c;
      GtkWidget *found = find_type (c, type);
      if (found)
        return found;
    }
  return NULL;
}

static gboolean
action_enabled (GtkWidget *page, const char *action)
{
  GtkWidget *button = find_actionable (page, action);
  g_assert_nonnull (button);
  return gtk_widget_get_sensitive (button);
}

/* ---- the Runs page ------------------------------------------------------ */

typedef struct {
  gint64 a, b;
  guint  n;
} CompareCapture;

static void
on_compare (LensRunsPage *page, gint64 a, gint64 b, gpointer data)
{
  CompareCapture *c = data;
  c->a = a;
  c->b = b;
  c->n++;
}

static gboolean
not_busy (gpointer page)
{
  return !lens_runs_page_is_busy (page);
}

/* Is the expected filter: some cell of the run contains the text
 * (case-insensitive). Cells: id, name, kind, architecture, split, model
 * file name (the store's values; times and metrics do not contain letters
 * of the words used here). */
static gboolean
run_matches (const MsrRunInfo *r, const char *text)
{
  g_autofree char *needle = g_utf8_casefold (text, -1);
  g_autofree char *model = r->model_path ? g_path_get_basename (r->model_path) : g_strdup ("");
  const char *fields[] = { r->name, r->kind, r->architecture, r->split, model };
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      g_autofree char *hay = fields[i] ? g_utf8_casefold (fields[i], -1) : g_strdup ("");
      if (strstr (hay, needle))
        return TRUE;
    }
  return FALSE;
}

static void
test_runs_page (void)
{
  g_autoptr(LensSession) session = msr_test_session_open (runs_project);
  g_autoptr(GPtrArray) infos = store_runs (runs_project);
  /* Popularity eval, then dnn and star (train + eval each). */
  g_assert_cmpuint (infos->len, ==, 5);

  GtkWidget *page = lens_runs_page_new ();
  GtkWindow *window = GTK_WINDOW (msr_test_show_in_window (page));
  lens_page_set_session (LENS_PAGE (page), session);
  msr_test_iterate_a_little ();

  /* One row per run of the store, with the store's ids. */
  LensTable *table = lens_page_get_table (LENS_PAGE (page));
  g_assert_nonnull (table);
  g_assert_cmpuint (lens_table_get_n_rows (table), ==, infos->len);
  {
    g_autoptr(Csv) csv = table_csv (table);
    g_assert_cmpuint (csv->rows->len, ==, infos->len);
    const int id_col = csv_column (csv, "ID");
    g_autoptr(GArray) ids = store_ids (runs_project);
    for (guint i = 0; i < csv->rows->len; i++)
      {
        gint64 id = g_ascii_strtoll (csv_cell (csv, i, id_col), NULL, 10);
        g_assert_true (has_id (ids, id));
      }
    /* Every eval run's AUC cell is the store's overall AUC to 4 places. */
    const int auc_col = csv_column (csv, "AUC");
    for (guint i = 0; i < csv->rows->len; i++)
      {
        gint64 id = g_ascii_strtoll (csv_cell (csv, i, id_col), NULL, 10);
        double auc = store_overall_auc (runs_project, id);
        if (isnan (auc))
          continue;
        g_autofree char *want = g_strdup_printf ("%.4f", auc);
        g_assert_cmpstr (csv_cell (csv, i, auc_col), ==, want);
      }
  }

  /* Ctrl+F's action puts the focus in the search entry. */
  {
    GtkWidget *entry = find_type (page, GTK_TYPE_SEARCH_ENTRY);
    g_assert_nonnull (entry);
    gtk_widget_activate_action (page, "runs.find", NULL);
    msr_test_iterate_a_little ();
    GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (window));
    g_assert_nonnull (focus);
    g_assert_true (focus == entry || gtk_widget_is_ancestor (focus, entry));
  }

  /* The filter narrows the rows to those with a matching cell. */
  const char *filters[] = { "star", "eval", "popularity", "no-such-run" };
  for (guint f = 0; f < G_N_ELEMENTS (filters); f++)
    {
      guint want = 0;
      for (guint i = 0; i < infos->len; i++)
        want += run_matches (g_ptr_array_index (infos, i), filters[f]);
      lens_runs_page_set_filter (LENS_RUNS_PAGE (page), filters[f]);
      msr_test_iterate_a_little ();
      g_assert_cmpuint (lens_table_get_n_visible (table), ==, want);
    }
  lens_runs_page_set_filter (LENS_RUNS_PAGE (page), "");
  msr_test_iterate_a_little ();
  g_assert_cmpuint (lens_table_get_n_visible (table), ==, infos->len);

  /* Sorting by AUC (descending): the store's AUCs in order, runs without
   * one (training runs) last. */
  {
    GtkColumnView *cv = lens_table_get_column_view (table);
    GListModel *columns = gtk_column_view_get_columns (cv);
    GtkColumnViewColumn *auc_column = NULL;
    for (guint i = 0; i < g_list_model_get_n_items (columns); i++)
      {
        g_autoptr(GtkColumnViewColumn) col = g_list_model_get_item (columns, i);
        if (g_strcmp0 (gtk_column_view_column_get_title (col), "AUC") == 0)
          auc_column = col;
      }
    g_assert_nonnull (auc_column);
    gtk_column_view_sort_by_column (cv, auc_column, GTK_SORT_DESCENDING);
    msr_test_iterate_a_little ();
    g_autoptr(Csv) csv = table_csv (table);
    const int id_col = csv_column (csv, "ID");
    g_autoptr(GArray) aucs = g_array_new (FALSE, FALSE, sizeof (double));
    for (guint i = 0; i < csv->rows->len; i++)
      {
        double v = store_overall_auc (runs_project, g_ascii_strtoll (csv_cell (csv, i, id_col), NULL, 10));
        g_array_append_val (aucs, v);
      }
    guint n_defined = 0;
    for (guint i = 0; i < infos->len; i++)
      n_defined += !isnan (store_overall_auc (runs_project, ((MsrRunInfo *) g_ptr_array_index (infos, i))->id));
    g_assert_cmpuint (n_defined, ==, 3);
    for (guint i = 0; i < aucs->len; i++)
      {
        const double v = g_array_index (aucs, double, i);
        if (i < n_defined)
          g_assert_false (isnan (v));
        else
          g_assert_true (isnan (v));
        if (i > 0 && i < n_defined)
          g_assert_cmpfloat (g_array_index (aucs, double, i - 1), >=, v);
      }
    gtk_column_view_sort_by_column (cv, NULL, GTK_SORT_ASCENDING);
  }

  /* Two evaluation runs: Compare is enabled, emits the pair (older
   * first), and the session's selection follows. */
  const MsrRunInfo *pop = find_info (infos, "eval", "popularity");
  const MsrRunInfo *dnn_eval = find_info (infos, "eval", "dnn");
  const MsrRunInfo *star_eval = find_info (infos, "eval", "star");
  const MsrRunInfo *star_train = find_info (infos, "train", "star");
  g_assert_nonnull (pop);
  g_assert_nonnull (dnn_eval);
  g_assert_nonnull (star_eval);
  g_assert_nonnull (star_train);

  CompareCapture cap = { 0 };
  g_signal_connect (page, "compare-requested", G_CALLBACK (on_compare), &cap);
  {
    /* Newer one first in the call: the signal still orders them. */
    const gint64 pair[2] = { star_eval->id, dnn_eval->id };
    lens_table_select_ids (table, pair, 2);
    msr_test_iterate_a_little ();
    g_assert_true (action_enabled (page, "runs.compare"));
    GArray *sel = lens_session_get_selection (session);
    g_assert_cmpuint (sel->len, ==, 2);
    g_assert_true (has_id (sel, star_eval->id) && has_id (sel, dnn_eval->id));
    gtk_widget_activate_action (page, "runs.compare", NULL);
    g_assert_cmpuint (cap.n, ==, 1);
    /* dnn was trained and evaluated before star. */
    g_assert_cmpint (g_strcmp0 (dnn_eval->created_at, star_eval->created_at), <=, 0);
    g_assert_cmpint (cap.a, ==, dnn_eval->id);
    g_assert_cmpint (cap.b, ==, star_eval->id);
  }
  {
    /* An evaluation run and a training run: no comparison. */
    const gint64 pair[2] = { star_eval->id, star_train->id };
    lens_table_select_ids (table, pair, 2);
    msr_test_iterate_a_little ();
    g_assert_false (action_enabled (page, "runs.compare"));
    gtk_widget_activate_action (page, "runs.compare", NULL);
    g_assert_cmpuint (cap.n, ==, 1);
    /* Three evaluation runs: neither. */
    const gint64 three[3] = { star_eval->id, dnn_eval->id, pop->id };
    lens_table_select_ids (table, three, 3);
    msr_test_iterate_a_little ();
    g_assert_false (action_enabled (page, "runs.compare"));
    g_assert_cmpuint (lens_session_get_selection (session)->len, ==, 3);
  }

  /* The curve of an evaluation run: its training run's epochs. */
  {
    lens_table_select_ids (table, &star_eval->id, 1);
    msr_test_iterate_a_little ();
    g_assert_cmpint (lens_runs_page_get_focus_run (LENS_RUNS_PAGE (page)), ==, star_eval->id);
    LensChart *chart = lens_page_get_chart (LENS_PAGE (page));
    g_assert_nonnull (chart);
    g_assert_cmpint (lens_chart_get_kind (chart), ==, LENS_CHART_LINE);
    const guint want = store_n_epochs (runs_project, star_train->id);
    g_assert_cmpuint (want, ==, 3);
    g_assert_cmpuint (lens_chart_get_n_items (chart), ==, want);
    /* The popularity baseline has no curve. */
    lens_table_select_ids (table, &pop->id, 1);
    msr_test_iterate_a_little ();
    g_assert_null (lens_page_get_chart (LENS_PAGE (page)));
  }

  /* Delete, declined: nothing changes. */
  {
    lens_table_select_ids (table, &dnn_eval->id, 1);
    msr_test_iterate_a_little ();
    gtk_widget_activate_action (page, "runs.delete", NULL);
    AdwMessageDialog *dialog = lens_runs_page_get_delete_dialog (LENS_RUNS_PAGE (page));
    g_assert_nonnull (dialog);
    g_autofree char *id_text = g_strdup_printf ("#%" G_GINT64_FORMAT, dnn_eval->id);
    g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), id_text));
    g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "model file is not deleted"));
    adw_message_dialog_response (dialog, "cancel");
    msr_test_iterate_a_little ();
    g_assert_false (lens_runs_page_is_busy (LENS_RUNS_PAGE (page)));
    g_autoptr(GArray) ids = store_ids (runs_project);
    g_assert_cmpuint (ids->len, ==, infos->len);
  }

  /* Delete, confirmed: exactly that run leaves the store, the session and
   * the table; its model file stays. */
  {
    g_autoptr(GArray) before = store_ids (runs_project);
    const gint64 victim = dnn_eval->id;
    g_autofree char *model = g_strdup (dnn_eval->model_path);
    guint changed = 0;
    gulong h = g_signal_connect (session, "runs-changed", G_CALLBACK (count_signal), &changed);
    lens_table_select_ids (table, &victim, 1);
    msr_test_iterate_a_little ();
    gtk_widget_activate_action (page, "runs.delete", NULL);
    AdwMessageDialog *dialog = lens_runs_page_get_delete_dialog (LENS_RUNS_PAGE (page));
    g_assert_nonnull (dialog);
    adw_message_dialog_response (dialog, "delete");
    CountAtLeast c = { &changed, 1 };
    g_assert_true (iterate_until (count_reached, &c));
    g_assert_true (iterate_until (not_busy, page));
    g_signal_handler_disconnect (session, h);
    msr_test_iterate_a_little ();

    g_autoptr(GArray) after = store_ids (runs_project);
    g_assert_cmpuint (after->len, ==, before->len - 1);
    for (guint i = 0; i < before->len; i++)
      {
        const gint64 id = g_array_index (before, gint64, i);
        g_assert_true (has_id (after, id) == (id != victim));
      }
    g_assert_null (lens_session_find_run (session, victim));
    g_assert_cmpuint (lens_table_get_n_rows (table), ==, after->len);
    g_assert_true (g_file_test (model, G_FILE_TEST_EXISTS));
  }

  g_clear_pointer (&infos, g_ptr_array_unref);
  lens_page_set_session (LENS_PAGE (page), NULL);
  gtk_window_destroy (window);
  msr_test_iterate_a_little ();
}

/* A project with no runs shows how to make some. */
static void
test_runs_page_empty (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *parent = g_build_filename (tmp_root, "empty", NULL);
  g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
  g_autofree char *csv = msr_test_fixture_csv (parent, 500, 3);
  g_autofree char *dir = g_build_filename (parent, "project", NULL);
  MsrCsvSchema schema = { 0 };
  schema.label_column = g_strdup ("click");
  schema.scenario_column = g_strdup ("scenario");
  schema.user_column = g_strdup ("user");
  schema.item_column = g_strdup ("item");
  schema.feature_columns = g_strsplit ("device", ",", -1);
  MsrSplitOptions split;
  msr_split_options_init (&split);
  split.method = MSR_SPLIT_METHOD_RANDOM;
  g_autoptr(MsrProject) project = msr_project_create_csv (dir, csv, &schema, &split, NULL, &error);
  msr_csv_schema_clear (&schema);
  g_assert_no_error (error);

  g_autoptr(LensSession) session = msr_test_session_open (dir);
  g_assert_cmpuint (lens_session_get_runs (session)->len, ==, 0);
  GtkWidget *page = lens_runs_page_new ();
  GtkWindow *window = GTK_WINDOW (msr_test_show_in_window (page));
  lens_page_set_session (LENS_PAGE (page), session);
  msr_test_iterate_a_little ();
  g_assert_cmpuint (lens_table_get_n_rows (lens_page_get_table (LENS_PAGE (page))), ==, 0);
  GtkWidget *status = find_type (page, ADW_TYPE_STATUS_PAGE);
  g_assert_nonnull (status);
  g_assert_true (gtk_widget_get_mapped (status));
  g_assert_false (action_enabled (page, "runs.delete"));
  lens_page_set_session (LENS_PAGE (page), NULL);
  gtk_window_destroy (window);
  msr_test_iterate_a_little ();
}

/* ---- the Train page ----------------------------------------------------- */

static gboolean
not_running (gpointer page)
{
  return !lens_train_page_is_running (page);
}

static void
on_page_error (LensPage *page, const char *message, gpointer data)
{
  GPtrArray *messages = data;
  g_ptr_array_add (messages, g_strdup (message));
}

/* The form rejects malformed widths inline, and Start then does nothing. */
static void
test_train_form (void)
{
  g_autoptr(LensSession) session = msr_test_session_open (train_project);
  GtkWidget *page = lens_train_page_new ();
  GtkWindow *window = GTK_WINDOW (msr_test_show_in_window (page));
  lens_page_set_session (LENS_PAGE (page), session);
  LensTrainPage *tp = LENS_TRAIN_PAGE (page);

  MsrModelConfig cfg, want;
  MsrTrainOptions opts, want_opts;
  /* Defaults follow the backbone. */
  const MsrArch archs[] = { MSR_ARCH_MMOE, MSR_ARCH_PEPNET, MSR_ARCH_DNN };
  for (guint i = 0; i < G_N_ELEMENTS (archs); i++)
    {
      lens_train_page_set_backbone (tp, archs[i]);
      g_assert_true (lens_train_page_get_settings (tp, &cfg, &opts));
      msr_model_config_init (&want, archs[i]);
      msr_train_options_init (&want_opts);
      g_assert_cmpint (cfg.arch, ==, archs[i]);
      g_assert_cmpuint (cfg.hidden.n, ==, want.hidden.n);
      for (guint k = 0; k < want.hidden.n; k++)
        g_assert_cmpuint (cfg.hidden.dims[k], ==, want.hidden.dims[k]);
      g_assert_cmpuint (cfg.tower.n, ==, (archs[i] == MSR_ARCH_MMOE ? want.tower.n : 0));
      g_assert_cmpuint (cfg.embed_dim, ==, want.embed_dim);
      g_assert_true (cfg.batchnorm == want.batchnorm);
      g_assert_cmpuint (opts.epochs, ==, want_opts.epochs);
      g_assert_cmpuint (opts.batch_size, ==, want_opts.batch_size);
      g_assert_cmpfloat_with_epsilon (opts.lr, want_opts.lr, 1e-12);
      g_assert_cmpuint (opts.patience, ==, want_opts.patience);
      g_assert_cmpuint (opts.seed, ==, want_opts.seed);
    }

  g_assert_true (lens_train_page_set_hidden (tp, "32, 16"));
  g_assert_true (lens_train_page_get_settings (tp, &cfg, &opts));
  g_assert_cmpuint (cfg.hidden.n, ==, 2);
  g_assert_cmpuint (cfg.hidden.dims[0], ==, 32);
  g_assert_cmpuint (cfg.hidden.dims[1], ==, 16);
  g_assert_true (action_enabled (page, "train.start"));

  g_assert_false (lens_train_page_set_hidden (tp, "128,6x4"));
  g_assert_false (lens_train_page_get_settings (tp, &cfg, &opts));
  g_assert_false (action_enabled (page, "train.start"));
  lens_train_page_start (tp);
  g_assert_false (lens_train_page_is_running (tp));
  /* The inline message names the field and the text. */
  gboolean found = FALSE;
  {
    /* Walk every label: one visible label mentions the bad text. */
    GPtrArray *stack = g_ptr_array_new ();
    g_ptr_array_add (stack, page);
    while (stack->len)
      {
        GtkWidget *w = g_ptr_array_steal_index (stack, stack->len - 1);
        if (GTK_IS_LABEL (w) && gtk_widget_get_visible (w) &&
            strstr (gtk_label_get_text (GTK_LABEL (w)), "128,6x4") &&
            strstr (gtk_label_get_text (GTK_LABEL (w)), "Hidden widths"))
          found = TRUE;
        for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c))
          g_ptr_array_add (stack, c);
      }
    g_ptr_array_unref (stack);
  }
  g_assert_true (found);
  g_assert_true (lens_train_page_set_hidden (tp, "16"));
  g_assert_true (action_enabled (page, "train.start"));

  lens_page_set_session (LENS_PAGE (page), NULL);
  gtk_window_destroy (window);
  msr_test_iterate_a_little ();
}

static void
test_train_page (void)
{
  g_autoptr(LensSession) session = msr_test_session_open (train_project);
  GtkWidget *page = lens_train_page_new ();
  GtkWindow *window = GTK_WINDOW (msr_test_show_in_window (page));
  lens_page_set_session (LENS_PAGE (page), session);
  LensTrainPage *tp = LENS_TRAIN_PAGE (page);
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (page, "error", G_CALLBACK (on_page_error), errors);
  msr_test_iterate_a_little ();

  /* A short training of a small backbone. */
  g_autoptr(GArray) before = store_ids (train_project);
  const guint session_before = lens_session_get_runs (session)->len;
  g_assert_cmpuint (session_before, ==, before->len);
  lens_train_page_set_backbone (tp, MSR_ARCH_DNN);
  lens_train_page_set_epochs (tp, 2);
  /* Small batches: a report per batch, thousands of them. */
  lens_train_page_set_batch_size (tp, 4);
  lens_train_page_set_embed_dim (tp, 8);
  g_assert_true (lens_train_page_set_hidden (tp, "32,16"));

  guint changed = 0;
  gulong h = g_signal_connect (session, "runs-changed", G_CALLBACK (count_signal), &changed);
  GapMeter meter;
  gap_meter_start (&meter);
  lens_train_page_start (tp);
  g_assert_true (lens_train_page_is_running (tp));
  g_assert_false (action_enabled (page, "train.start"));
  g_assert_true (action_enabled (page, "train.cancel"));
  /* A second start while running is refused. */
  lens_train_page_start (tp);
  g_assert_cmpuint (errors->len, ==, 1);
  g_assert_true (iterate_until (not_running, tp));
  gap_meter_stop (&meter);
  CountAtLeast c = { &changed, 1 };
  g_assert_true (iterate_until (count_reached, &c));
  g_signal_handler_disconnect (session, h);

  g_assert_null (lens_train_page_get_last_error (tp));
  gint64 train_run = 0, eval_run = 0;
  lens_train_page_get_last_runs (tp, &train_run, &eval_run);
  g_assert_cmpint (train_run, >, 0);
  g_assert_cmpint (eval_run, >, 0);
  g_autoptr(GPtrArray) after = store_runs (train_project);
  g_assert_cmpuint (after->len, ==, before->len + 2);
  guint new_train = 0, new_eval = 0;
  for (guint i = 0; i < after->len; i++)
    {
      const MsrRunInfo *r = g_ptr_array_index (after, i);
      if (has_id (before, r->id))
        continue;
      if (r->id == train_run)
        {
          g_assert_cmpstr (r->kind, ==, "train");
          g_assert_cmpstr (r->architecture, ==, "dnn");
          g_assert_cmpuint (r->n_epochs, ==, 2);
          g_assert_true (g_file_test (r->model_path, G_FILE_TEST_EXISTS));
          new_train++;
        }
      else if (r->id == eval_run)
        {
          g_assert_cmpstr (r->kind, ==, "eval");
          g_assert_cmpstr (r->split, ==, "test");
          g_assert_true (r->has_metrics);
          g_assert_true (r->has_predictions);
          new_eval++;
        }
    }
  g_assert_cmpuint (new_train, ==, 1);
  g_assert_cmpuint (new_eval, ==, 1);
  g_assert_nonnull (lens_session_find_run (session, train_run));
  g_assert_nonnull (lens_session_find_run (session, eval_run));
  g_assert_cmpuint (lens_session_get_runs (session)->len, ==, before->len + 2);
  /* The confirmation names the new evaluation's test AUC. */
  g_autofree char *auc = g_strdup_printf ("test AUC %.4f", store_overall_auc (train_project, eval_run));
  g_assert_nonnull (strstr (lens_train_page_get_status_text (tp), auc));
  /* The live curve has one point per epoch. */
  g_assert_nonnull (lens_page_get_chart (LENS_PAGE (page)));
  g_assert_cmpuint (lens_chart_get_n_items (lens_page_get_chart (LENS_PAGE (page))), ==, 2);

  g_print ("# main loop while training (2 epochs, batch size 4, %.2f s): max gap %.1f ms over %u ticks\n",
           meter.elapsed / 1e6, meter.max_gap / 1000.0, meter.ticks);
  g_assert_cmpint (meter.max_gap, <, 100 * 1000);

  /* A long training, cancelled mid-way: the project folder and the store
   * are as before. */
  g_autofree char *tree_before = tree_listing (train_project);
  g_autoptr(GArray) ids_before = store_ids (train_project);
  lens_train_page_set_epochs (tp, 50);
  lens_train_page_set_patience (tp, 50);
  /* Small batches: many progress reports, and epochs long enough that
   * the cancel lands mid-run. */
  lens_train_page_set_batch_size (tp, 2);
  gap_meter_start (&meter);
  lens_train_page_start (tp);
  g_assert_true (lens_train_page_is_running (tp));
  LensJob *job = lens_train_page_get_job (tp);
  g_assert_nonnull (job);
  /* Wait until epoch 25 is under way (the loop wakes on every published
   * report). */
  gboolean midway = FALSE;
  while (!midway && lens_train_page_is_running (tp))
    {
      g_main_context_iteration (NULL, TRUE);
      const char *stage = lens_job_get_stage (job);
      midway = stage && g_str_has_prefix (stage, "Epoch 25/50");
    }
  g_assert_true (midway);
  lens_train_page_cancel (tp);
  g_assert_true (iterate_until (not_running, tp));
  gap_meter_stop (&meter);
  const GError *err = lens_train_page_get_last_error (tp);
  g_assert_error (err, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_nonnull (strstr (lens_train_page_get_status_text (tp), "nothing was saved"));
  msr_test_iterate_a_little ();
  g_autofree char *tree_after = tree_listing (train_project);
  g_assert_cmpstr (tree_after, ==, tree_before);
  g_autoptr(GArray) ids_after = store_ids (train_project);
  g_assert_cmpuint (ids_after->len, ==, ids_before->len);
  g_assert_cmpmem (ids_after->data, ids_after->len * sizeof (gint64), ids_before->data,
                   ids_before->len * sizeof (gint64));
  /* Cancelling is not an error for the window's banner. */
  g_assert_cmpuint (errors->len, ==, 1);
  g_print ("# main loop while training (batch size 2, cancelled in epoch 25 of 50, %.2f s): max gap %.1f ms over %u "
           "ticks\n", meter.elapsed / 1e6, meter.max_gap / 1000.0, meter.ticks);
  g_assert_cmpint (meter.max_gap, <, 100 * 1000);

  lens_page_set_session (LENS_PAGE (page), NULL);
  gtk_window_destroy (window);
  msr_test_iterate_a_little ();
}

static void
test_evaluate_model (void)
{
  g_autoptr(LensSession) session = msr_test_session_open (train_project);
  GtkWidget *page = lens_train_page_new ();
  GtkWindow *window = GTK_WINDOW (msr_test_show_in_window (page));
  lens_page_set_session (LENS_PAGE (page), session);
  LensTrainPage *tp = LENS_TRAIN_PAGE (page);
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (page, "error", G_CALLBACK (on_page_error), errors);

  /* The fixture's dnn model: the new run has the same test AUC as the
   * fixture's own evaluation of that file (same rows, same scores). */
  g_autoptr(GPtrArray) before = store_runs (train_project);
  const MsrRunInfo *fixture_eval = NULL;
  for (guint i = 0; i < before->len; i++)
    {
      const MsrRunInfo *r = g_ptr_array_index (before, i);
      if (g_strcmp0 (r->kind, "eval") == 0 && r->model_path && g_str_has_suffix (r->model_path, "dnn-seed42.safetensors"))
        fixture_eval = r;
    }
  g_assert_nonnull (fixture_eval);
  g_autoptr(GFile) model = g_file_new_for_path (fixture_eval->model_path);
  guint changed = 0;
  gulong h = g_signal_connect (session, "runs-changed", G_CALLBACK (count_signal), &changed);
  lens_train_page_evaluate_model (tp, model);
  g_assert_true (lens_train_page_is_running (tp));
  g_assert_true (iterate_until (not_running, tp));
  CountAtLeast c = { &changed, 1 };
  g_assert_true (iterate_until (count_reached, &c));
  g_assert_null (lens_train_page_get_last_error (tp));
  g_assert_cmpuint (errors->len, ==, 0);

  g_autoptr(GPtrArray) after = store_runs (train_project);
  g_assert_cmpuint (after->len, ==, before->len + 1);
  gint64 eval_run = 0;
  lens_train_page_get_last_runs (tp, NULL, &eval_run);
  const MsrRunInfo *fresh = NULL;
  for (guint i = 0; i < after->len; i++)
    if (((MsrRunInfo *) g_ptr_array_index (after, i))->id == eval_run)
      fresh = g_ptr_array_index (after, i);
  g_assert_nonnull (fresh);
  g_assert_cmpstr (fresh->kind, ==, "eval");
  g_assert_cmpstr (fresh->split, ==, "test");
  g_assert_cmpstr (fresh->model_sha256, ==, fixture_eval->model_sha256);
  g_assert_true (fresh->has_predictions);
  g_assert_nonnull (lens_session_find_run (session, eval_run));
  g_assert_cmpfloat_with_epsilon (store_overall_auc (train_project, eval_run),
                                  store_overall_auc (train_project, fixture_eval->id), 1e-9);

  /* A corrupt model file: an error naming it, no new run. */
  g_autofree char *bad = g_build_filename (tmp_root, "corrupt-model.safetensors", NULL);
  g_assert_true (g_file_set_contents (bad, "this is not a safetensors file", -1, NULL));
  g_autoptr(GFile) bad_file = g_file_new_for_path (bad);
  lens_train_page_evaluate_model (tp, bad_file);
  g_assert_true (iterate_until (not_running, tp));
  g_assert_nonnull (lens_train_page_get_last_error (tp));
  g_assert_cmpuint (errors->len, ==, 1);
  g_test_message ("corrupt model: %s", (char *) g_ptr_array_index (errors, 0));
  g_assert_nonnull (strstr (g_ptr_array_index (errors, 0), "corrupt-model.safetensors"));
  msr_test_iterate_a_little ();
  g_autoptr(GArray) ids = store_ids (train_project);
  g_assert_cmpuint (ids->len, ==, after->len);

  g_signal_handler_disconnect (session, h);
  lens_page_set_session (LENS_PAGE (page), NULL);
  gtk_window_destroy (window);
  msr_test_iterate_a_little ();
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;

  int status = msr_test_gtk_check_display ();
  if (status >= 0)
    return status;

  msr_test_gtk_setenv ();
  tmp_root = g_dir_make_tmp ("msrlens-pages-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *xdg = g_build_filename (tmp_root, "xdg", NULL);
  g_setenv ("XDG_DATA_HOME", xdg, TRUE);
  g_setenv ("XDG_CONFIG_HOME", xdg, TRUE);
  g_setenv ("XDG_CACHE_HOME", xdg, TRUE);
  g_setenv ("XDG_STATE_HOME", xdg, TRUE);

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  lens_ui_ensure_resources ();

  /* The fixtures, each in its own folder (each writes its own CSV). */
  g_autofree char *runs_parent = g_build_filename (tmp_root, "runs", NULL);
  g_autofree char *train_parent = g_build_filename (tmp_root, "train", NULL);
  g_assert_cmpint (g_mkdir_with_parents (runs_parent, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (train_parent, 0700), ==, 0);
  const MsrArch runs_archs[] = { MSR_ARCH_DNN, MSR_ARCH_STAR };
  runs_project = msr_test_fixture_project (runs_parent, "project", runs_archs, G_N_ELEMENTS (runs_archs), 3);
  const MsrArch train_archs[] = { MSR_ARCH_DNN };
  train_project = msr_test_fixture_project (train_parent, "project", train_archs, G_N_ELEMENTS (train_archs), 2);

  g_test_add_func ("/pages/runs/table-filter-sort-compare-delete", test_runs_page);
  g_test_add_func ("/pages/runs/empty", test_runs_page_empty);
  g_test_add_func ("/pages/train/form", test_train_form);
  g_test_add_func ("/pages/train/train-and-cancel", test_train_page);
  g_test_add_func ("/pages/train/evaluate-model", test_evaluate_model);

  const int ret = g_test_run ();
  msr_test_rm_rf (tmp_root);
  g_free (tmp_root);
  g_free (runs_project);
  g_free (train_project);
  return ret;
}

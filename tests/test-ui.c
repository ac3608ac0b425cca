/* test-ui.c: the application window, driven headless under Xvfb.
 *
 * One LensApplication for the whole process (GTK allows one gtk_init); each
 * test closes the windows it opened. Expected values come from the fixture
 * this file writes (counted here, independently of the engine), from the
 * published MovieLens-100K figures, or from the engine's own statistics API
 * where the brief asks for agreement with it. */
#include "config.h"
#include "test-util.h"
#include "test-gtk-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "lens-application.h"
#include "lens-format.h"
#include "lens-markdown.h"
#include "lens-page.h"
#include "lens-scenario-row.h"
#include "lens-window.h"
#include "msr-demo.h"
#include "msr-simulate.h"
#include "lens-overview-page.h"
#include "lens-correlations-page.h"
#include "lens-meta-page.h"
#include "lens-users-page.h"
#include "msr-project.h"

static LensApplication *app;
static char *tmp_root;

/* ---- helpers ------------------------------------------------------------ */

static gboolean
iterate_until (Condition cond, gpointer data)
{
  return msr_test_iterate_until (cond, data, 240);
}

#define iterate_a_little msr_test_iterate_a_little

static gboolean
window_not_loading (gpointer data)
{
  return g_strcmp0 (lens_window_get_visible_page (data), "loading") != 0;
}

static gboolean
no_windows (gpointer data)
{
  return gtk_application_get_windows (GTK_APPLICATION (app)) == NULL;
}

static gboolean
pointer_cleared (gpointer data)
{
  return *(gpointer *) data == NULL;
}

static void
close_all_windows (void)
{
  g_autoptr(GList) windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (app)));

  for (GList *l = windows; l; l = l->next)
    gtk_window_destroy (l->data);
  g_assert_true (iterate_until (no_windows, NULL));
}

static GtkWindow *
find_toplevel (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) w = g_list_model_get_item (toplevels, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (w, type) && gtk_widget_get_visible (GTK_WIDGET (w)))
        return w;
    }
  return NULL;
}

static gboolean
toplevel_shown (gpointer data)
{
  return find_toplevel (GPOINTER_TO_SIZE (data)) != NULL;
}

/* The window's page stack: the GtkStack with a "greeter" page. */
static GtkStack *
find_page_stack (GtkWidget *root)
{
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkStack *found;

      if (GTK_IS_STACK (c) && gtk_stack_get_child_by_name (GTK_STACK (c), "greeter") != NULL)
        return GTK_STACK (c);
      if ((found = find_page_stack (c)) != NULL)
        return found;
    }
  return NULL;
}

static LensWindow *
window_for_dir (const char *dir)
{
  g_autoptr(GFile) want = g_file_new_for_path (dir);

  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (app)); l; l = l->next)
    {
      GFile *shown;

      if (!LENS_IS_WINDOW (l->data))
        continue;
      shown = lens_window_get_project_dir (l->data);
      if (shown != NULL && g_file_equal (shown, want))
        return l->data;
    }
  return NULL;
}

static LensWindow *
new_window (void)
{
  LensWindow *window = lens_window_new (GTK_APPLICATION (app), lens_application_get_settings (app));

  gtk_window_present (GTK_WINDOW (window));
  return window;
}

/* Opens dir in a new window and waits for the load to end. */
static LensWindow *
open_and_wait (const char *dir)
{
  LensWindow *window = new_window ();
  g_autoptr(GFile) file = g_file_new_for_path (dir);

  lens_window_open_project (window, file);
  g_assert_true (iterate_until (window_not_loading, window));
  return window;
}


static char *
make_temp_dir (const char *name)
{
  static guint counter;
  char *dir = g_strdup_printf ("%s/%s-%u", tmp_root, name, counter++);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  return dir;
}

/* ---- the CSV fixture ---------------------------------------------------- */

#define N_FIXTURE_SCENARIOS 3
static const char *fixture_scenarios[N_FIXTURE_SCENARIOS] = { "north", "south", "west" };

typedef struct {
  char    *csv;
  char    *project_dir;
  guint64  rows[N_FIXTURE_SCENARIOS];
  guint64  positives[N_FIXTURE_SCENARIOS];
  guint    users[N_FIXTURE_SCENARIOS];
  guint    items[N_FIXTURE_SCENARIOS];
} Fixture;

static void
fixture_free (Fixture *f)
{
  g_free (f->csv);
  g_free (f->project_dir);
  g_free (f);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Fixture, fixture_free)

static int
fixture_scenario_index (const char *name)
{
  for (int s = 0; s < N_FIXTURE_SCENARIOS; s++)
    if (g_strcmp0 (fixture_scenarios[s], name) == 0)
      return s;
  return -1;
}

/* Writes a seeded CSV of n_rows rows and counts, per scenario, its rows,
 * positives and distinct users and items; then makes a project of it. */
static Fixture *
fixture_new (guint n_rows)
{
  Fixture *f = g_new0 (Fixture, 1);
  g_autofree char *data_dir = make_temp_dir ("data");
  g_autoptr(GString) csv = g_string_new ("scenario,user,item,label\n");
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261128);
  gboolean seen_user[N_FIXTURE_SCENARIOS][40] = { { 0 } };
  gboolean seen_item[N_FIXTURE_SCENARIOS][25] = { { 0 } };
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) project = NULL;
  MsrCsvSchema schema = {
    .label_column = (char *) "label",
    .scenario_column = (char *) "scenario",
    .user_column = (char *) "user",
    .item_column = (char *) "item",
    .delimiter = ',',
  };
  MsrSplitOptions split;

  for (guint r = 0; r < n_rows; r++)
    {
      /* Uneven scenario sizes so that a mixed-up row is noticed. */
      guint s = r % 6 == 0 ? 0 : (r % 6 < 3 ? 1 : 2);
      guint u = g_rand_int_range (rand, 0, 40);
      guint i = g_rand_int_range (rand, 0, 25);
      guint label = g_rand_int_range (rand, 0, 100) < (s == 0 ? 30 : s == 1 ? 55 : 70);

      g_string_append_printf (csv, "%s,u%u,i%u,%u\n", fixture_scenarios[s], u, i, label);
      f->rows[s]++;
      f->positives[s] += label;
      if (!seen_user[s][u])
        f->users[s]++;
      if (!seen_item[s][i])
        f->items[s]++;
      seen_user[s][u] = TRUE;
      seen_item[s][i] = TRUE;
    }

  f->csv = g_build_filename (data_dir, "clicks.csv", NULL);
  g_assert_true (g_file_set_contents (f->csv, csv->str, csv->len, NULL));

  f->project_dir = make_temp_dir ("csv-project");
  msr_split_options_init (&split);
  split.method = MSR_SPLIT_METHOD_RANDOM;
  project = msr_project_create_csv (f->project_dir, f->csv, &schema, &split, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (project);
  return f;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_format (void)
{
  struct { guint64 n; const char *text; } counts[] = {
    { 0, "0" }, { 7, "7" }, { 999, "999" }, { 1000, "1,000" },
    { 99990, "99,990" }, { 1234567, "1,234,567" },
    { G_MAXUINT64, "18,446,744,073,709,551,615" },
  };
  g_autofree char *half = lens_format_percent (0.5);
  g_autofree char *ml = lens_format_percent (55385.0 / 99990.0);
  g_autofree char *one = lens_format_percent (1.0);
  g_autofree char *nan_text = lens_format_percent (NAN);

  /* gtk_test_init runs the tests in the C or en_US locale: "," groups. */
  for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
    {
      g_autofree char *text = lens_format_count (counts[i].n);
      g_assert_cmpstr (text, ==, counts[i].text);
    }
  g_assert_cmpstr (half, ==, "50.0%");
  g_assert_cmpstr (ml, ==, "55.4%");
  g_assert_cmpstr (one, ==, "100.0%");
  g_assert_cmpstr (nan_text, ==, "–");
}

/* LLM Markdown as Pango markup: the spans, escaping, and that every
 * result parses (a label would show nothing otherwise). */
static void
test_markdown (void)
{
  struct { const char *md, *pango; } cases[] = {
    { "## Overview\nLikes **bold** and *quiet* films.", "<span weight=\"bold\" size=\"large\">Overview</span>\n"
      "Likes <b>bold</b> and <i>quiet</i> films." },
    { "- **Genre**: Comedy, Drama  \n- Tags: <none> & more", "  • <b>Genre</b>: Comedy, Drama\n"
      "  • Tags: &lt;none&gt; &amp; more" },
    { "2*3*4 is not italic, snake_case_name neither", "2*3*4 is not italic, snake_case_name neither" },
    { "an unmatched **star", "an unmatched **star" },
    { "a\n\n\n\nb", "a\n\nb" },
    { "`x < y`", "<tt>x &lt; y</tt>" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = lens_markdown_to_pango (cases[i].md);
      g_assert_cmpstr (got, ==, cases[i].pango);
      g_assert_true (pango_parse_markup (got, -1, 0, NULL, NULL, NULL, NULL));
    }
  /* A real profile, when the shared data is there. */
  g_autofree char *path = msr_test_shared_path ("llm-knowledge-ml100k/users_structured_100k.csv");
  if (path != NULL)
    {
      g_autofree char *text = NULL;
      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      g_autofree char *markup = lens_markdown_to_pango (text);
      g_autoptr(GError) error = NULL;
      g_assert_true (pango_parse_markup (markup, -1, 0, NULL, NULL, NULL, &error));
      g_assert_no_error (error);
    }
}

static void
test_greeter (void)
{
  LensWindow *window;
  const char *app_actions[] = { "quit", "about", "shortcuts", "open" };
  struct { const char *action; const char *accel; } accels[] = {
    { "app.quit", "<Control>q" },
    { "app.open", "<Control>o" },
    { "app.shortcuts", "F1" },
    { "app.shortcuts", "<Control>question" },
    { "win.close", "<Control>w" },
  };
  GtkIconTheme *theme;

  g_application_activate (G_APPLICATION (app));
  window = LENS_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  g_assert_true (LENS_IS_WINDOW (window));
  iterate_a_little ();

  g_assert_cmpstr (lens_window_get_visible_page (window), ==, "greeter");
  g_assert_true (lens_window_is_empty (window));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "MSR Lens");
  g_assert_cmpstr (adw_window_title_get_title (lens_window_get_title_widget (window)), ==, "MSR Lens");
  g_assert_null (lens_window_get_session (window));

  for (guint i = 0; i < G_N_ELEMENTS (app_actions); i++)
    g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), app_actions[i]));

  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    {
      g_auto(GStrv) set = gtk_application_get_accels_for_action (GTK_APPLICATION (app),
                                                                 accels[i].action);
      g_assert_true (g_strv_contains ((const char * const *) set, accels[i].accel));
    }

  /* The bundle holds the icon, CSS and shortcuts window where GTK and
   * libadwaita look for them. */
  g_assert_true (g_resources_get_info (MSR_RESOURCE_PATH "/style.css", 0, NULL, NULL, NULL));
  g_assert_true (g_resources_get_info (MSR_RESOURCE_PATH "/gtk/help-overlay.ui", 0, NULL, NULL, NULL));
  theme = gtk_icon_theme_get_for_display (gtk_widget_get_display (GTK_WIDGET (window)));
  g_assert_true (gtk_icon_theme_has_icon (theme, MSR_APP_ID));
  g_assert_true (gtk_icon_theme_has_icon (theme, MSR_APP_ID "-symbolic"));

  /* win.close (Ctrl+W) closes the window. */
  g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &window);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.close", NULL));
  g_assert_true (iterate_until (no_windows, NULL));
  g_assert_true (iterate_until (pointer_cleared, &window));
}

static void
test_about_and_shortcuts (void)
{
  GtkWindow *about, *shortcuts;
  g_autofree char *name = NULL, *version = NULL, *developer = NULL;
  GtkLicense license;

  g_application_activate (G_APPLICATION (app));

  g_action_group_activate_action (G_ACTION_GROUP (app), "about", NULL);
  g_assert_true (iterate_until (toplevel_shown, GSIZE_TO_POINTER (ADW_TYPE_ABOUT_WINDOW)));
  about = find_toplevel (ADW_TYPE_ABOUT_WINDOW);
  g_object_get (about, "application-name", &name, "version", &version,
                "developer-name", &developer, "license-type", &license, NULL);
  g_assert_cmpstr (name, ==, "MSR Lens");
  g_assert_cmpstr (version, ==, MSR_VERSION);
  g_assert_cmpstr (developer, ==, "MSR Lens developers");
  g_assert_cmpint (license, ==, GTK_LICENSE_GPL_3_0);
  gtk_window_destroy (about);

  g_action_group_activate_action (G_ACTION_GROUP (app), "shortcuts", NULL);
  g_assert_true (iterate_until (toplevel_shown, GSIZE_TO_POINTER (GTK_TYPE_SHORTCUTS_WINDOW)));
  shortcuts = find_toplevel (GTK_TYPE_SHORTCUTS_WINDOW);
  gtk_widget_set_visible (GTK_WIDGET (shortcuts), FALSE);

  close_all_windows ();
}

static void
test_window_state (void)
{
  GSettings *settings = lens_application_get_settings (app);
  LensWindow *window;
  int width = 0, height = 0;

  if (settings == NULL)
    {
      g_test_fail_printf ("GSettings schema %s not found (GSETTINGS_SCHEMA_DIR=%s)",
                          MSR_APP_ID, g_getenv ("GSETTINGS_SCHEMA_DIR"));
      return;
    }

  g_settings_set_int (settings, "window-width", 910);
  g_settings_set_int (settings, "window-height", 655);
  window = new_window ();
  gtk_window_get_default_size (GTK_WINDOW (window), &width, &height);
  g_assert_cmpint (width, ==, 910);
  g_assert_cmpint (height, ==, 655);

  /* Closing saves the size. */
  gtk_window_set_default_size (GTK_WINDOW (window), 820, 610);
  gtk_window_close (GTK_WINDOW (window));
  g_assert_true (iterate_until (no_windows, NULL));
  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, 820);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), ==, 610);
  g_assert_false (g_settings_get_boolean (settings, "window-maximized"));
}

static void
test_csv_project (void)
{
  g_autoptr(Fixture) f = fixture_new (420);
  g_autoptr(GFile) dir = g_file_new_for_path (f->project_dir);
  g_autoptr(GFile) description = g_file_get_child (dir, MSR_PROJECT_FILE);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) project = NULL;
  g_autoptr(MsrDataset) ds = NULL;
  g_autoptr(MsrDatasetStats) stats = NULL;
  g_autofree char *described = NULL;
  g_autofree char *uri = NULL;
  LensWindow *window;
  LensDatasetSummary *summary;
  GListModel *model;
  GtkColumnView *view;
  GListModel *columns;
  const char *titles[] = { "Scenario", "Rows", "Train", "Valid", "Test",
                           "Users", "Items", "Positive Rate" };
  gboolean seen[N_FIXTURE_SCENARIOS] = { FALSE };

  /* Through the application's open handler, as `msrlens DIR` does. */
  g_application_open (G_APPLICATION (app), &dir, 1, "");
  window = window_for_dir (f->project_dir);
  g_assert_nonnull (window);
  g_assert_true (iterate_until (window_not_loading, window));
  g_assert_cmpstr (lens_window_get_error_message (window), ==, NULL);
  g_assert_cmpstr (lens_window_get_visible_page (window), ==, "workbench");
  g_assert_false (lens_window_is_empty (window));

  project = msr_project_open (f->project_dir, &error);
  g_assert_no_error (error);
  described = msr_project_describe_dataset (project);
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, msr_project_get_name (project));
  g_assert_cmpstr (adw_window_title_get_title (lens_window_get_title_widget (window)), ==,
                   msr_project_get_name (project));
  g_assert_cmpstr (adw_window_title_get_subtitle (lens_window_get_title_widget (window)), ==,
                   described);

  summary = lens_window_get_dataset_summary (window);
  model = lens_dataset_summary_get_model (summary);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, N_FIXTURE_SCENARIOS);

  /* Against the counts taken while writing the CSV. */
  for (guint i = 0; i < N_FIXTURE_SCENARIOS; i++)
    {
      g_autoptr(LensScenarioRow) row = g_list_model_get_item (model, i);
      int s = fixture_scenario_index (lens_scenario_row_get_name (row));
      guint64 split_sum = 0;

      g_assert_cmpint (s, >=, 0);
      g_assert_false (seen[s]);
      seen[s] = TRUE;
      g_assert_cmpuint (lens_scenario_row_get_rows (row), ==, f->rows[s]);
      g_assert_cmpuint (lens_scenario_row_get_positives (row), ==, f->positives[s]);
      g_assert_cmpuint (lens_scenario_row_get_users (row), ==, f->users[s]);
      g_assert_cmpuint (lens_scenario_row_get_items (row), ==, f->items[s]);
      g_assert_cmpfloat_with_epsilon (lens_scenario_row_get_positive_rate (row),
                                      (double) f->positives[s] / (double) f->rows[s], 1e-12);
      for (MsrSplit sp = MSR_SPLIT_TRAIN; sp <= MSR_SPLIT_TEST; sp++)
        split_sum += lens_scenario_row_get_split_rows (row, sp);
      g_assert_cmpuint (split_sum, ==, f->rows[s]);
      g_assert_cmpuint (lens_scenario_row_get_split_rows (row, MSR_SPLIT_TEST), >, 0);
    }

  /* And the split sizes agree with the engine's statistics for the project. */
  ds = msr_project_load_dataset (project, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  stats = msr_dataset_compute_stats (ds, MSR_SPLIT_MASK_ALL);
  g_assert_cmpuint (stats->n_scenarios, ==, g_list_model_get_n_items (model));
  for (guint i = 0; i < stats->n_scenarios; i++)
    {
      g_autoptr(LensScenarioRow) row = g_list_model_get_item (model, i);

      g_assert_cmpstr (lens_scenario_row_get_name (row), ==, stats->scenarios[i].name);
      g_assert_cmpuint (lens_scenario_row_get_rows (row), ==, stats->scenarios[i].rows);
      for (MsrSplit sp = MSR_SPLIT_TRAIN; sp <= MSR_SPLIT_TEST; sp++)
        g_assert_cmpuint (lens_scenario_row_get_split_rows (row, sp), ==,
                          stats->scenarios[i].rows_by_split[sp]);
    }

  /* The table shows the model through its columns. */
  view = lens_dataset_summary_get_column_view (summary);
  columns = gtk_column_view_get_columns (view);
  g_assert_cmpuint (g_list_model_get_n_items (columns), ==, G_N_ELEMENTS (titles));
  for (guint i = 0; i < G_N_ELEMENTS (titles); i++)
    {
      g_autoptr(GtkColumnViewColumn) column = g_list_model_get_item (columns, i);
      g_assert_cmpstr (gtk_column_view_column_get_title (column), ==, titles[i]);
    }
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (gtk_column_view_get_model (view))),
                    ==, N_FIXTURE_SCENARIOS);

  /* The project became a recent file. */
  uri = g_file_get_uri (dir);
  g_assert_true (gtk_recent_manager_has_item (gtk_recent_manager_get_default (), uri));

  /* Opening it again, by its description file, presents the same window. */
  g_application_open (G_APPLICATION (app), &description, 1, "");
  g_assert_cmpuint (g_list_length (gtk_application_get_windows (GTK_APPLICATION (app))), ==, 1);
  g_assert_true (window_for_dir (f->project_dir) == window);

  close_all_windows ();
}

static void
test_movielens_project (void)
{
  const char *shared = g_getenv ("MSR_SHARED_DATA");
  g_autofree char *data_dir = NULL;
  g_autofree char *project_dir = NULL;
  g_autoptr(MsrProject) project = NULL;
  g_autoptr(GError) error = NULL;
  MsrSplitOptions split;
  LensWindow *window;
  GListModel *model;
  guint64 total = 0;
  /* The published genre-group framing of MovieLens-100K (data README). */
  struct { const char *name; guint64 rows; guint users, items; } expected[] = {
    { "Family", 10862, 890, 172 },
    { "Action/Adventure/Sci-Fi", 35264, 943, 356 },
    { "Thriller/Crime/Horror", 16931, 932, 281 },
    { "Comedy/Romance", 22972, 933, 447 },
    { "Drama/Documentary", 13961, 904, 424 },
  };

  data_dir = g_build_filename (shared ? shared : "", "movielens-100k", NULL);
  if (shared == NULL || !g_file_test (data_dir, G_FILE_TEST_IS_DIR))
    {
      g_test_skip_printf ("MovieLens-100K not found: %s", data_dir);
      return;
    }

  project_dir = make_temp_dir ("ml-project");
  msr_split_options_init (&split);
  project = msr_project_create_movielens (project_dir, data_dir, MSR_MOVIELENS_SCENARIOS_GENRE,
                                          &split, &error);
  g_assert_no_error (error);

  window = open_and_wait (project_dir);
  g_assert_cmpstr (lens_window_get_error_message (window), ==, NULL);
  g_assert_cmpstr (lens_window_get_visible_page (window), ==, "workbench");

  model = lens_dataset_summary_get_model (lens_window_get_dataset_summary (window));
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(LensScenarioRow) row = g_list_model_get_item (model, i);

      g_assert_cmpstr (lens_scenario_row_get_name (row), ==, expected[i].name);
      g_assert_cmpuint (lens_scenario_row_get_rows (row), ==, expected[i].rows);
      g_assert_cmpuint (lens_scenario_row_get_users (row), ==, expected[i].users);
      g_assert_cmpuint (lens_scenario_row_get_items (row), ==, expected[i].items);
      total += lens_scenario_row_get_rows (row);
    }
  g_assert_cmpuint (total, ==, 99990);

  close_all_windows ();
}

static gboolean
session_has_runs (gpointer data)
{
  return lens_session_get_runs (data)->len > 0;
}

static guint
count_eval_runs (LensSession *session)
{
  GPtrArray *runs = lens_session_get_runs (session);
  guint n = 0;
  for (guint i = 0; i < runs->len; i++)
    n += g_strcmp0 (((LensRun *) g_ptr_array_index (runs, i))->info->kind, "eval") == 0;
  return n;
}

static gboolean
tree_has_label_containing (GtkWidget  *widget,
                           const char *text)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_is_visible (widget) &&
      strstr (gtk_label_get_text (GTK_LABEL (widget)), text) != NULL)
    return TRUE;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    if (tree_has_label_containing (c, text))
      return TRUE;
  return FALSE;
}

typedef struct {
  LensWindow *window;
  const char *page;
  guint       n_runs;        /* runs in the store */
  guint       n_scenarios;
  gboolean    llm4msr;       /* the project has an LLM4MSR model */
} PageCheck;

static gboolean
matrix_present (const MsrCorrelationReport *r, const char *source_prefix)
{
  for (guint i = 0; i < r->matrices->len; i++)
    if (g_str_has_prefix (((MsrScenarioMatrix *) g_ptr_array_index (r->matrices, i))->source, source_prefix))
      return TRUE;
  return FALSE;
}

/* Whether the page shows the session: a chart with items and a table with
 * the rows it must have. Pages fill in from jobs, so tests poll this. */
static gboolean
page_populated (gpointer data)
{
  const PageCheck *c = data;
  GtkWidget *widget = lens_window_get_page (c->window, c->page);
  LensPage *page = LENS_PAGE (widget);
  LensChart *chart = lens_page_get_chart (page);
  LensTable *table = lens_page_get_table (page);

  if (g_str_equal (c->page, "train"))
    /* Idle: no chart yet; the form describes the project's split. */
    return tree_has_label_containing (GTK_WIDGET (page), lens_session_get_description (lens_window_get_session (c->window)));
  if (g_str_equal (c->page, "correlations"))
    {
      /* The data's two matrices at least, a chart each, and with an
       * LLM4MSR model (chosen by default) what it learned and what its
       * knowledge says. */
      LensCorrelationsPage *cp = LENS_CORRELATIONS_PAGE (widget);
      const MsrCorrelationReport *r = lens_correlations_page_get_report (cp);
      return r && !lens_correlations_page_is_busy (cp) && r->n_scenarios == c->n_scenarios &&
             matrix_present (r, "data:click-rate") && matrix_present (r, "data:user-overlap") &&
             (!c->llm4msr || (matrix_present (r, "learned") && matrix_present (r, "llm:"))) &&
             lens_correlations_page_get_views (cp)->len == r->matrices->len;
    }
  if (g_str_equal (c->page, "meta"))
    {
      LensMetaPage *mp = LENS_META_PAGE (widget);
      if (!c->llm4msr)
        return !lens_meta_page_is_busy (mp) && !lens_meta_page_is_ready (mp);
      return lens_meta_page_is_ready (mp) && !lens_meta_page_is_busy (mp) &&
             lens_chart_get_n_items (lens_meta_page_get_scenario_chart (mp)) > 0 &&
             lens_chart_get_n_items (lens_meta_page_get_user_chart (mp)) > 0 &&
             lens_chart_get_n_items (lens_meta_page_get_map_chart (mp)) > 0;
    }
  if (g_str_equal (c->page, "users"))
    {
      /* The dataset's first user, with their test rows scored. */
      LensUsersPage *up = LENS_USERS_PAGE (widget);
      return lens_users_page_get_user (up) != NULL && !lens_users_page_is_busy (up) && table != NULL &&
             lens_table_get_n_rows (table) > 0;
    }
  if (chart == NULL || lens_chart_get_n_items (chart) == 0 || table == NULL)
    return FALSE;
  if (g_str_equal (c->page, "runs"))
    return lens_table_get_n_rows (table) == c->n_runs;
  /* Overview and Backbones: a row per run and scope; Seesaw: per scenario. */
  return lens_table_get_n_rows (table) >= c->n_scenarios;
}

/* Every page of the workbench shows the open project, and none of them
 * makes the window wider than a 1280-pixel screen leaves room for. */
static void
check_every_page (LensWindow *window,
                  guint       n_runs,
                  guint       n_scenarios,
                  gboolean    llm4msr)
{
  const char *pages[] = { "overview", "backbones", "seesaw", "correlations", "meta", "users", "runs", "train" };

  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    {
      PageCheck c = { window, pages[i], n_runs, n_scenarios, llm4msr };
      int min_width = 0;

      lens_window_show_page (window, pages[i]);
      if (!iterate_until (page_populated, &c))
        g_error ("the %s page did not fill in", pages[i]);
      gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_HORIZONTAL, -1, &min_width, NULL, NULL, NULL);
      g_test_message ("%s page: window minimum width %d px", pages[i], min_width);
      g_assert_cmpint (min_width, <=, 1024);
    }
  lens_window_show_page (window, "overview");
}

/* The section's top is near the top of its page's visible area. */
static gboolean
truth_at_top (gpointer data)
{
  GtkWidget *page = gtk_widget_get_ancestor (data, LENS_TYPE_OVERVIEW_PAGE);
  graphene_point_t at;
  /* Laid out first: before that everything sits at 0. */
  return gtk_widget_get_mapped (data) && gtk_widget_get_height (page) > 200 && gtk_widget_get_height (data) > 200 &&
         gtk_widget_compute_point (data, page, &GRAPHENE_POINT_INIT (0, 0), &at) && at.y >= 0 && at.y < 40;
}

static gboolean
truth_ready (gpointer data)
{
  return lens_truth_section_is_ready (data);
}

/* The Overview shows the planted truth of a simulated world beside what
 * the data show, with the engine's numbers, and the data recover it. */
static void
check_planted_truth (LensWindow *window,
                     const char *project_dir)
{
  LensTruthSection *truth = lens_overview_page_get_truth_section (
      LENS_OVERVIEW_PAGE (lens_window_get_page (window, "overview")));
  const MsrDataset *ds = lens_session_get_dataset (lens_window_get_session (window));
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrSimTruth) t = msr_sim_truth_load (project_dir, &error);
  g_assert_no_error (error);
  g_autoptr(MsrSimRecovery) rec = msr_sim_recovery_compute (t, ds, &error);
  g_assert_no_error (error);
  const guint S = rec->n_scenarios;

  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (truth)));
  g_assert_true (iterate_until (truth_ready, truth));
  g_assert_cmpuint (lens_chart_get_n_items (lens_truth_section_get_planted_chart (truth)), ==, S * S);
  g_assert_cmpuint (lens_chart_get_n_items (lens_truth_section_get_observed_chart (truth)), ==, S * S);
  g_assert_cmpuint (lens_table_get_n_rows (lens_truth_section_get_table (truth)), ==, S);
  /* Cell 0,1 of each matrix reads as the engine's value. */
  g_autofree char *planted01 = lens_chart_describe_item (lens_truth_section_get_planted_chart (truth), 1);
  g_autofree char *observed01 = lens_chart_describe_item (lens_truth_section_get_observed_chart (truth), 1);
  g_autofree char *want_p = g_strdup_printf ("%.2f", rec->planted[1]);
  g_autofree char *want_o = g_strdup_printf ("%.2f", rec->observed[1]);
  g_assert_nonnull (strstr (planted01, want_p));
  g_assert_nonnull (strstr (observed01, want_o));

  const char *caption = lens_truth_section_get_caption (truth);
  g_autofree char *r_text = g_strdup_printf ("r = %.3f", rec->mantel_r);
  g_autofree char *p_text = g_strdup_printf ("p = %.4f", rec->mantel_p);
  g_test_message ("planted truth: %s", caption);
  g_assert_nonnull (strstr (caption, r_text));
  g_assert_nonnull (strstr (caption, p_text));
  /* The workbench recovers what was planted. */
  g_assert_cmpfloat (rec->mantel_r, >, 0.8);
  g_assert_cmpfloat (rec->mantel_p, <, 0.05);
  g_assert_nonnull (strstr (caption, "The data recover the planted structure."));
  g_assert_nonnull (strstr (lens_truth_section_get_agreement (truth), "star · #"));

  /* The banner's link (and --page planted-truth) scrolls it into view. */
  lens_window_show_page (window, "planted-truth");
  g_assert_cmpstr (lens_window_get_visible_page (window), ==, "workbench");
  g_assert_true (iterate_until (truth_at_top, truth));
}

static void
test_demo (void)
{
  const char *shared = g_getenv ("MSR_SHARED_DATA");
  g_autofree char *data_dir = g_build_filename (shared ? shared : "", "movielens-100k", NULL);
  g_autofree char *demo_dir = msr_demo_get_dir ();
  g_autofree char *demo_file = g_build_filename (demo_dir, MSR_PROJECT_FILE, NULL);
  g_autoptr(GFile) demo = g_file_new_for_path (demo_dir);
  LensWindow *window;

  /* No copy anywhere and a mirror that does not answer: the demo still
   * opens, on a simulated world, and the window says so and why. */
  g_autofree char *sim_dir = msr_demo_get_simulated_dir ();
  g_autoptr(GFile) sim = g_file_new_for_path (sim_dir);
  g_setenv ("MSR_MOVIELENS_DIR", "", TRUE);
  g_setenv ("MSR_MOVIELENS_URL", "file:///nonexistent/msrlens-test/ml-100k.zip", TRUE);
  window = new_window ();
  lens_window_open_demo (window, NULL);
  g_assert_cmpstr (lens_window_get_visible_page (window), ==, "loading");
  g_assert_true (iterate_until (window_not_loading, window));
  g_assert_cmpstr (lens_window_get_error_message (window), ==, NULL);
  g_assert_cmpstr (lens_window_get_visible_page (window), ==, "workbench");
  g_assert_true (g_file_equal (lens_window_get_project_dir (window), sim));
  g_assert_nonnull (lens_window_get_banner (window));
  g_assert_nonnull (strstr (lens_window_get_banner (window), "simulated world"));
  g_assert_nonnull (strstr (lens_window_get_banner (window), "/nonexistent/msrlens-test/ml-100k.zip"));
  g_assert_false (g_file_test (demo_file, G_FILE_TEST_EXISTS));
  /* Six backbones, the baseline and STAR with LLM4MSR on the world's
   * planted knowledge were trained and evaluated. */
  g_assert_true (iterate_until (session_has_runs, lens_window_get_session (window)));
  g_assert_cmpuint (count_eval_runs (lens_window_get_session (window)), ==, 8);
  /* Popularity has no training run. */
  check_every_page (window, 8 + 7, 5, TRUE);
  check_planted_truth (window, sim_dir);
  close_all_windows ();

  if (shared == NULL || !g_file_test (data_dir, G_FILE_TEST_IS_DIR))
    {
      g_test_skip_printf ("MovieLens-100K not found: %s", data_dir);
      return;
    }
  /* With a local copy the demo is built, then opened; with the LLM's
   * knowledge at hand too, it also trains STAR with LLM4MSR. */
  g_autofree char *knowledge_dir = g_build_filename (shared, "llm-knowledge-ml100k", NULL);
  const gboolean with_knowledge = g_file_test (knowledge_dir, G_FILE_TEST_IS_DIR);
  g_setenv ("MSR_KNOWLEDGE_DIR", with_knowledge ? knowledge_dir : "", TRUE);
  window = new_window ();
  lens_window_open_demo (window, data_dir);
  g_assert_true (iterate_until (window_not_loading, window));
  g_assert_cmpstr (lens_window_get_error_message (window), ==, NULL);
  g_assert_cmpstr (lens_window_get_visible_page (window), ==, "workbench");
  g_assert_true (g_file_equal (lens_window_get_project_dir (window), demo));
  g_assert_cmpuint (g_list_model_get_n_items (lens_dataset_summary_get_model (lens_window_get_dataset_summary (window))), ==, 5);
  g_assert_true (iterate_until (session_has_runs, lens_window_get_session (window)));
  const guint n_eval = with_knowledge ? 8 : 7;
  g_assert_cmpuint (count_eval_runs (lens_window_get_session (window)), ==, n_eval);
  if (!with_knowledge)
    g_assert_nonnull (strstr (lens_window_get_banner (window), "no LLM knowledge"));
  check_every_page (window, n_eval + n_eval - 1, 5, with_knowledge);
  /* Real data: no planted truth to show. */
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (lens_overview_page_get_truth_section (
      LENS_OVERVIEW_PAGE (lens_window_get_page (window, "overview"))))));
  close_all_windows ();

  /* Later runs reuse it, even without the data hint. */
  window = new_window ();
  lens_window_open_demo (window, NULL);
  g_assert_true (iterate_until (window_not_loading, window));
  g_assert_cmpstr (lens_window_get_visible_page (window), ==, "workbench");
  close_all_windows ();
  g_unsetenv ("MSR_MOVIELENS_URL");
  g_unsetenv ("MSR_KNOWLEDGE_DIR");
}

static void
test_broken_description (void)
{
  g_autofree char *dir = make_temp_dir ("garbage-project");
  g_autofree char *file = g_build_filename (dir, MSR_PROJECT_FILE, NULL);
  const char garbage[] = "\x01\x02 this is { not a key file\n[[[\n=\n";
  LensWindow *window;

  g_assert_true (g_file_set_contents (file, garbage, sizeof garbage - 1, NULL));
  window = open_and_wait (dir);
  g_assert_cmpstr (lens_window_get_visible_page (window), ==, "error");
  g_assert_nonnull (lens_window_get_error_message (window));
  g_assert_nonnull (strstr (lens_window_get_error_message (window), MSR_PROJECT_FILE));
  g_assert_null (lens_window_get_session (window));
  g_assert_true (lens_window_is_empty (window));

  close_all_windows ();
}

static void
test_not_a_project (void)
{
  g_autofree char *dir = make_temp_dir ("empty-folder");
  LensWindow *window = open_and_wait (dir);

  g_assert_cmpstr (lens_window_get_visible_page (window), ==, "error");
  g_assert_nonnull (strstr (lens_window_get_error_message (window), MSR_PROJECT_FILE));

  close_all_windows ();
}

static void
test_missing_csv (void)
{
  g_autoptr(Fixture) f = fixture_new (60);
  g_autofree char *csv_name = g_path_get_basename (f->csv);
  LensWindow *window;

  g_assert_cmpint (g_unlink (f->csv), ==, 0);
  window = open_and_wait (f->project_dir);
  g_assert_cmpstr (lens_window_get_visible_page (window), ==, "error");
  g_assert_nonnull (lens_window_get_error_message (window));
  g_assert_nonnull (strstr (lens_window_get_error_message (window), csv_name));

  /* The window takes another project after an error. */
  g_assert_true (lens_window_is_empty (window));

  close_all_windows ();
}

static void
test_cancel_and_close (void)
{
  g_autoptr(Fixture) f = fixture_new (300);
  g_autoptr(GFile) dir = g_file_new_for_path (f->project_dir);
  LensWindow *window = new_window ();

  /* Cancel at once: whatever the worker managed, the window goes back to
   * the greeter, not to a summary. */
  lens_window_open_project (window, dir);
  g_assert_cmpstr (lens_window_get_visible_page (window), ==, "loading");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.cancel-load", NULL));
  g_assert_true (iterate_until (window_not_loading, window));
  g_assert_cmpstr (lens_window_get_visible_page (window), ==, "greeter");
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "MSR Lens");

  /* Close the window while it loads: the load is cancelled and its
   * callback, which holds the last reference, lets the window go. */
  lens_window_open_project (window, dir);
  g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &window);
  gtk_window_close (GTK_WINDOW (window));
  g_assert_true (iterate_until (pointer_cleared, &window));
  g_assert_true (iterate_until (no_windows, NULL));
}

static void
test_accessible (void)
{
  g_autoptr(Fixture) f = fixture_new (90);
  LensWindow *window = open_and_wait (f->project_dir);
  GtkStack *stack;
  GtkColumnView *view;
  struct { const char *page; const char *label; } pages[] = {
    { "greeter", "Welcome" },
    { "loading", "Loading the dataset" },
    { "workbench", "Workbench" },
    { "error", "Error" },
  };

  g_assert_cmpstr (lens_window_get_visible_page (window), ==, "workbench");

  view = lens_dataset_summary_get_column_view (lens_window_get_dataset_summary (window));
  gtk_test_accessible_assert_role (view, GTK_ACCESSIBLE_ROLE_TREE_GRID);
  gtk_test_accessible_assert_property (view, GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Per-scenario statistics");

  stack = find_page_stack (GTK_WIDGET (window));
  g_assert_nonnull (stack);
  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    {
      GtkWidget *page = gtk_stack_get_child_by_name (stack, pages[i].page);

      g_assert_nonnull (page);
      gtk_test_accessible_assert_property (page, GTK_ACCESSIBLE_PROPERTY_LABEL, pages[i].label);
    }

  close_all_windows ();
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *xdg = NULL;
  int ret;

  int status = msr_test_gtk_check_display ();
  if (status >= 0)
    return status;

  msr_test_gtk_setenv ();
  if (g_getenv ("GSETTINGS_SCHEMA_DIR") == NULL)
    g_setenv ("GSETTINGS_SCHEMA_DIR", MSR_BUILD_DIR "/resources", TRUE);

  /* Recent files and caches go to a private folder. */
  tmp_root = g_dir_make_tmp ("msrlens-ui-XXXXXX", &error);
  g_assert_no_error (error);
  /* A long folder name: paths the window shows must not widen it. */
  xdg = g_build_filename (tmp_root, "xdg-a-deliberately-long-folder-name-as-users-have-on-shared-disks", NULL);
  g_setenv ("XDG_DATA_HOME", xdg, TRUE);
  g_setenv ("XDG_CONFIG_HOME", xdg, TRUE);
  g_setenv ("XDG_CACHE_HOME", xdg, TRUE);
  g_setenv ("XDG_STATE_HOME", xdg, TRUE);

  gtk_test_init (&argc, &argv, NULL);

  app = lens_application_new (MSR_APP_ID, G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/ui/format", test_format);
  g_test_add_func ("/ui/markdown", test_markdown);
  g_test_add_func ("/ui/window/greeter", test_greeter);
  g_test_add_func ("/ui/window/about-and-shortcuts", test_about_and_shortcuts);
  g_test_add_func ("/ui/window/state", test_window_state);
  g_test_add_func ("/ui/project/csv", test_csv_project);
  g_test_add_func ("/ui/project/movielens", test_movielens_project);
  g_test_add_func ("/ui/project/demo", test_demo);
  g_test_add_func ("/ui/project/broken-description", test_broken_description);
  g_test_add_func ("/ui/project/not-a-project", test_not_a_project);
  g_test_add_func ("/ui/project/missing-csv", test_missing_csv);
  g_test_add_func ("/ui/project/cancel-and-close", test_cancel_and_close);
  g_test_add_func ("/ui/accessible", test_accessible);

  ret = g_test_run ();

  g_object_unref (app);
  msr_test_rm_rf (tmp_root);
  g_free (tmp_root);
  return ret;
}

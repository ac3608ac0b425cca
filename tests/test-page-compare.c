/* test-page-compare.c: the Backbones and Seesaw pages on a fixture project
 * (Xvfb).
 *
 * Expected values come from outside the pages: the stored metrics read
 * straight from the results store, DeLong's test and Holm's correction
 * computed here by brute force (O(m·n) placements) from the stored per-row
 * scores and the dataset's labels, and `msrlens-cli seesaw --json` for the
 * seesaw figures (the page must show exactly the command line's numbers). */
#include "config.h"
#include "test-util.h"
#include "test-gtk-util.h"
#include "test-session-util.h"
#include "test-fixture.h"

#include <adwaita.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "lens-backbones-page.h"
#include "lens-chart-view.h"
#include "lens-seesaw-page.h"
#include "lens-session.h"
#include "msr-results.h"

static char *tmp_root;
static char *project_dir;
static LensSession *session;

/* Runs of the fixture (ids), by role. */
static gint64 run_pop;          /* popularity, with scores */
static gint64 run_pop_noscores; /* popularity, without scores */
static gint64 run_sep[2];       /* dnn-separate, seeds 42 and 2 */
static gint64 run_sb;           /* shared-bottom */
static gint64 run_star[2];      /* star, seeds 42 and 2 */

/* ---- main-loop helpers ------------------------------------------------------ */

static gboolean
iterate_until (Condition cond, gpointer data)
{
  return msr_test_iterate_until (cond, data, 120);
}

static void
collect_chart_views (GtkWidget *root, GPtrArray *out)
{
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      if (LENS_IS_CHART_VIEW (c))
        g_ptr_array_add (out, c);
      collect_chart_views (c, out);
    }
}

/* The page's chart view showing a chart of kind. */
static LensChartView *
find_chart_view (GtkWidget *page, LensChartKind kind)
{
  g_autoptr(GPtrArray) views = g_ptr_array_new ();
  collect_chart_views (page, views);
  for (guint i = 0; i < views->len; i++)
    {
      LensChart *chart = lens_chart_view_get_chart (g_ptr_array_index (views, i));
      if (chart != NULL && lens_chart_get_kind (chart) == kind)
        return g_ptr_array_index (views, i);
    }
  return NULL;
}

/* ---- independent reference computations ------------------------------------- */

typedef struct {
  gsize    n;
  guint8  *y;         /* labels of the test rows, ascending row order */
  guint32 *scenario;  /* scenario codes of the same rows */
  guint    n_scenarios;
  char   **names;
} TestRows;

static TestRows rows;

static double *
stored_scores (MsrResults *results, gint64 run)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrResultsPredictions) p = msr_results_get_predictions (results, run, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (p->n, ==, rows.n);
  double *v = g_new (double, p->n);
  for (gsize i = 0; i < p->n; i++)
    v[i] = p->scores[i];
  return v;
}

static double
psi (double x, double y)
{
  return x > y ? 1.0 : x == y ? 0.5 : 0.0;
}

/* DeLong's paired test of b against a by its definition (method spec 6.7):
 * placements as means of ψ over all pairs, covariances with divisors m−1
 * and n−1. scenario < 0: all rows. */
static gboolean
brute_delong (const double *a, const double *b, int scenario, double *z_out, double *p_out)
{
  g_autoptr(GArray) pos = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autoptr(GArray) neg = g_array_new (FALSE, FALSE, sizeof (gsize));
  for (gsize i = 0; i < rows.n; i++)
    if (scenario < 0 || rows.scenario[i] == (guint32) scenario)
      g_array_append_val (rows.y[i] ? pos : neg, i);
  const gsize m = pos->len, n = neg->len;
  if (m < 2 || n < 2)
    return FALSE;

  g_autofree double *v10a = g_new0 (double, m), *v10b = g_new0 (double, m);
  g_autofree double *v01a = g_new0 (double, n), *v01b = g_new0 (double, n);
  for (gsize i = 0; i < m; i++)
    for (gsize j = 0; j < n; j++)
      {
        const gsize pi = g_array_index (pos, gsize, i), nj = g_array_index (neg, gsize, j);
        const double ha = psi (a[pi], a[nj]), hb = psi (b[pi], b[nj]);
        v10a[i] += ha / n;
        v10b[i] += hb / n;
        v01a[j] += ha / m;
        v01b[j] += hb / m;
      }
  double auc_a = 0, auc_b = 0;
  for (gsize i = 0; i < m; i++)
    {
      auc_a += v10a[i] / m;
      auc_b += v10b[i] / m;
    }
  double s10aa = 0, s10bb = 0, s10ab = 0, s01aa = 0, s01bb = 0, s01ab = 0;
  for (gsize i = 0; i < m; i++)
    {
      s10aa += (v10a[i] - auc_a) * (v10a[i] - auc_a);
      s10bb += (v10b[i] - auc_b) * (v10b[i] - auc_b);
      s10ab += (v10a[i] - auc_a) * (v10b[i] - auc_b);
    }
  for (gsize j = 0; j < n; j++)
    {
      s01aa += (v01a[j] - auc_a) * (v01a[j] - auc_a);
      s01bb += (v01b[j] - auc_b) * (v01b[j] - auc_b);
      s01ab += (v01a[j] - auc_a) * (v01b[j] - auc_b);
    }
  const double var = (s10aa + s10bb - 2 * s10ab) / ((double) (m - 1) * m)
                   + (s01aa + s01bb - 2 * s01ab) / ((double) (n - 1) * n);
  g_assert_cmpfloat (var, >, 0);
  *z_out = (auc_b - auc_a) / sqrt (var);
  *p_out = erfc (fabs (*z_out) / G_SQRT2);
  return TRUE;
}

/* Holm's step-down adjustment, NaN = not a test. */
static void
brute_holm (const double *p, guint n, double *out)
{
  guint k = 0;
  for (guint i = 0; i < n; i++)
    k += !isnan (p[i]);
  for (guint i = 0; i < n; i++)
    {
      out[i] = NAN;
      if (isnan (p[i]))
        continue;
      /* max over the p-values ranked at or below p[i] of (k − rank + 1)·p */
      double best = 0;
      for (guint j = 0; j < n; j++)
        {
          if (isnan (p[j]) || p[j] > p[i])
            continue;
          guint rank = 1;   /* 1-based rank of p[j] (ties: by index) */
          for (guint t = 0; t < n; t++)
            if (!isnan (p[t]) && (p[t] < p[j] || (p[t] == p[j] && t < j)))
              rank++;
          best = MAX (best, MIN (1.0, (k - rank + 1) * p[j]));
        }
      out[i] = best;
    }
}

static const char *
expected_mark (double p)
{
  if (isnan (p))
    return "";
  return p < 0.001 ? "***" : p < 0.01 ? "**" : p < 0.05 ? "*" : "";
}

static void
assert_p_close (double got, double want)
{
  if (isnan (want))
    {
      g_assert_true (isnan (got));
      return;
    }
  g_assert_false (isnan (got));
  g_assert_cmpfloat (fabs (got - want), <=, 1e-7 * MAX (want, 1e-300) + 1e-12);
}

static double
stored_auc (MsrResults *results, gint64 run, const char *column)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrResultsMetrics) m = msr_results_get_metrics (results, run, &error);
  g_assert_no_error (error);
  const gboolean overall = g_strcmp0 (column, "overall") == 0;
  const MsrResultsScopeMetrics *sm =
    msr_results_metrics_find (m, overall ? MSR_RESULTS_SCOPE_OVERALL : MSR_RESULTS_SCOPE_SCENARIO, column);
  g_assert_nonnull (sm);
  return sm->metrics.auc_defined ? sm->metrics.auc : NAN;
}

static MsrResults *
open_store (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (project_dir, MSR_RESULTS_FILE, NULL);
  MsrResults *r = msr_results_open (path, MSR_RESULTS_READ_ONLY, &error);
  g_assert_no_error (error);
  return r;
}

/* ---- CSV (RFC 4180) ------------------------------------------------------------ */

/* Rows of fields; the first row is the header. */
static GPtrArray *
parse_csv (const char *text)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  GPtrArray *row = g_ptr_array_new ();
  GString *field = g_string_new (NULL);
  const char *p = text;
  gboolean quoted = FALSE, any = FALSE;

  while (*p)
    {
      if (quoted)
        {
          if (*p == '"' && p[1] == '"')
            {
              g_string_append_c (field, '"');
              p += 2;
              continue;
            }
          if (*p == '"')
            quoted = FALSE;
          else
            g_string_append_c (field, *p);
          p++;
          continue;
        }
      if (*p == '"')
        quoted = TRUE;
      else if (*p == ',')
        {
          g_ptr_array_add (row, g_strdup (field->str));
          g_string_truncate (field, 0);
        }
      else if (*p == '\r' || *p == '\n')
        {
          if (*p == '\r' && p[1] == '\n')
            p++;
          g_ptr_array_add (row, g_strdup (field->str));
          g_string_truncate (field, 0);
          g_ptr_array_add (row, NULL);
          g_ptr_array_add (out, g_ptr_array_free (row, FALSE));
          row = g_ptr_array_new ();
          any = FALSE;
          p++;
          continue;
        }
      else
        g_string_append_c (field, *p);
      any = TRUE;
      p++;
    }
  if (any || field->len > 0 || row->len > 0)
    {
      g_ptr_array_add (row, g_strdup (field->str));
      g_ptr_array_add (row, NULL);
      g_ptr_array_add (out, g_ptr_array_free (row, FALSE));
    }
  else
    g_ptr_array_free (row, TRUE);
  g_string_free (field, TRUE);
  return out;
}

static int
csv_column (GPtrArray *csv, const char *title)
{
  char **head = g_ptr_array_index (csv, 0);
  for (int i = 0; head[i]; i++)
    if (g_strcmp0 (head[i], title) == 0)
      return i;
  return -1;
}

static double
csv_number (const char *s)
{
  if (s == NULL || *s == '\0')
    return NAN;
  if (g_strcmp0 (s, "inf") == 0)
    return INFINITY;
  if (g_strcmp0 (s, "-inf") == 0)
    return -INFINITY;
  char *end;
  double v = g_ascii_strtod (s, &end);
  g_assert_true (*end == '\0');
  return v;
}

/* ---- the fixture ---------------------------------------------------------------- */

/* Another seed of arch, exactly as the fixture trains (so the seed summary
 * sees runs of one configuration); returns the evaluation run. */
static gint64
train_seed (MsrProject *project, const MsrDataset *ds, MsrArch arch, guint64 seed)
{
  g_autoptr(GError) error = NULL;
  MsrModelConfig cfg;
  msr_model_config_init (&cfg, arch);
  cfg.embed_dim = 8;
  MsrTrainOptions opts;
  msr_train_options_init (&opts);
  opts.epochs = 30;
  opts.batch_size = 256;
  opts.seed = seed;
  MsrEvalOptions eo;
  msr_eval_options_init (&eo);
  eo.replicates = 200;
  eo.threads = 1;
  gint64 eval_run = 0;
  g_assert_true (msr_pipeline_train_and_evaluate (project, ds, &cfg, &opts, &eo, NULL, NULL, NULL, &eval_run, NULL,
                                                  NULL, NULL, &error));
  g_assert_no_error (error);
  return eval_run;
}

static void
build_fixture (void)
{
  g_autoptr(GError) error = NULL;
  static const MsrArch archs[] = { MSR_ARCH_DNN_SEPARATE, MSR_ARCH_SHARED_BOTTOM, MSR_ARCH_STAR };

  project_dir = msr_test_fixture_project (tmp_root, "compare", archs, G_N_ELEMENTS (archs), 30);

  /* A second seed of two backbones, and a run without per-row scores. */
  g_autoptr(MsrProject) project = msr_project_open (project_dir, &error);
  g_assert_no_error (error);
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (project, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  run_sep[1] = train_seed (project, ds, MSR_ARCH_DNN_SEPARATE, 2);
  run_star[1] = train_seed (project, ds, MSR_ARCH_STAR, 2);
  MsrEvalOptions eo;
  msr_eval_options_init (&eo);
  eo.replicates = 200;
  eo.threads = 1;
  eo.predictions = FALSE;
  eo.name = "no scores";
  g_autoptr(MsrEvaluation) ev = msr_pipeline_evaluate (project, ds, NULL, NULL, &eo, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  run_pop_noscores = ev->run_id;

  /* The other runs, by architecture, in creation order. */
  g_autoptr(MsrResults) results = open_store ();
  g_autoptr(GPtrArray) runs = msr_results_list_runs (results, &error);
  g_assert_no_error (error);
  for (guint i = runs->len; i-- > 0;)
    {
      const MsrRunInfo *r = g_ptr_array_index (runs, i);
      if (g_strcmp0 (r->kind, "eval") != 0)
        continue;
      if (g_strcmp0 (r->architecture, "popularity") == 0 && r->has_predictions && run_pop == 0)
        run_pop = r->id;
      else if (g_strcmp0 (r->architecture, "dnn-separate") == 0 && run_sep[0] == 0)
        run_sep[0] = r->id;
      else if (g_strcmp0 (r->architecture, "shared-bottom") == 0 && run_sb == 0)
        run_sb = r->id;
      else if (g_strcmp0 (r->architecture, "star") == 0 && run_star[0] == 0)
        run_star[0] = r->id;
    }
  g_assert_true (run_pop && run_sep[0] && run_sb && run_star[0]);
  g_assert_cmpint (run_sep[0], <, run_sep[1]);
  g_assert_cmpint (run_star[0], <, run_star[1]);

  /* The test split's rows in ascending order, from the dataset itself. */
  const gsize N = msr_dataset_get_n_rows (ds);
  const guint8 *spl = msr_dataset_get_splits (ds), *lab = msr_dataset_get_labels (ds);
  const guint16 *sc = msr_dataset_get_scenarios (ds);
  for (gsize r = 0; r < N; r++)
    rows.n += spl[r] == MSR_SPLIT_TEST;
  rows.y = g_new (guint8, rows.n);
  rows.scenario = g_new (guint32, rows.n);
  for (gsize r = 0, i = 0; r < N; r++)
    if (spl[r] == MSR_SPLIT_TEST)
      {
        rows.y[i] = lab[r] != 0;
        rows.scenario[i] = sc[r];
        i++;
      }
  rows.n_scenarios = msr_dataset_get_n_scenarios (ds);
  rows.names = g_new0 (char *, rows.n_scenarios + 1);
  for (guint s = 0; s < rows.n_scenarios; s++)
    rows.names[s] = g_strdup (msr_dataset_get_scenario_name (ds, s));

  /* The session every page shows. */
  session = msr_test_session_open (project_dir);
}

/* ---- Backbones ------------------------------------------------------------------ */

static gboolean
backbones_idle (gpointer page)
{
  return !lens_backbones_page_is_busy (page);
}

static const gint64 *
backbones_selection (guint *n)
{
  static gint64 ids[5];
  ids[0] = run_pop;
  ids[1] = run_sep[1];
  ids[2] = run_sb;
  ids[3] = run_star[1];
  ids[4] = run_pop_noscores;
  *n = G_N_ELEMENTS (ids);
  return ids;
}

/* The heatmap's CSV: value and mark of every cell, checked against the
 * page's matrix and the expectation. */
static void
check_heatmap_csv (LensChart *chart, guint R, guint C, const double *want, const char *const *marks)
{
  g_autofree char *text = lens_chart_to_csv (chart);
  g_autoptr(GPtrArray) csv = parse_csv (text);
  g_assert_cmpuint (csv->len, ==, 1 + R * C);
  const int cv = csv_column (csv, "value"), cm = csv_column (csv, "mark");
  g_assert_cmpint (cv, >=, 0);
  for (guint i = 0; i < R * C; i++)
    {
      char **row = g_ptr_array_index (csv, 1 + i);
      const double v = csv_number (row[cv]);
      if (isnan (want[i]))
        g_assert_true (isnan (v));
      else
        g_assert_cmpfloat (v, ==, want[i]);
      if (marks != NULL && cm >= 0)
        g_assert_cmpstr (row[cm] ? row[cm] : "", ==, marks[i]);
    }
}

static void
test_backbones_values (void)
{
  guint n_sel;
  const gint64 *sel = backbones_selection (&n_sel);
  lens_session_set_selection (session, sel, n_sel);

  GtkWidget *page = lens_backbones_page_new ();
  GtkWidget *window = msr_test_show_in_window (page);
  LensBackbonesPage *bp = LENS_BACKBONES_PAGE (page);
  lens_page_set_session (LENS_PAGE (page), session);
  g_assert_true (iterate_until (backbones_idle, page));

  /* Rows = the selection, columns = the scenarios and overall. */
  const guint R = lens_backbones_page_get_n_rows (bp), C = lens_backbones_page_get_n_cols (bp);
  g_assert_cmpuint (R, ==, n_sel);
  g_assert_cmpuint (C, ==, rows.n_scenarios + 1);
  for (guint r = 0; r < R; r++)
    g_assert_cmpint (lens_backbones_page_get_row_run (bp, r), ==, sel[r]);
  for (guint s = 0; s < rows.n_scenarios; s++)
    g_assert_cmpstr (lens_backbones_page_get_col_name (bp, s), ==, rows.names[s]);
  g_assert_cmpstr (lens_backbones_page_get_col_name (bp, C - 1), ==, "overall");

  /* The default baseline: the separate DNNs. */
  g_assert_cmpint (lens_backbones_page_get_baseline (bp), ==, run_sep[1]);

  /* Colour by AUC: the stored AUCs, no marks. */
  g_assert_cmpint (lens_backbones_page_get_color_by (bp), ==, LENS_BACKBONES_COLOR_AUC);
  g_autoptr(MsrResults) results = open_store ();
  g_autofree double *want = g_new (double, R * C);
  g_autofree const char **no_marks = g_new (const char *, R * C);
  for (guint r = 0; r < R; r++)
    for (guint c = 0; c < C; c++)
      {
        double v;
        const char *mark;
        want[r * C + c] = stored_auc (results, sel[r], lens_backbones_page_get_col_name (bp, c));
        no_marks[r * C + c] = "";
        g_assert_true (lens_backbones_page_get_cell (bp, r, c, &v, NULL, NULL, &mark));
        g_assert_cmpfloat (v, ==, want[r * C + c]);
        g_assert_cmpstr (mark, ==, "");
      }
  g_assert_false (lens_backbones_page_get_cell (bp, R, 0, NULL, NULL, NULL, NULL));

  LensChart *chart = lens_page_get_chart (LENS_PAGE (page));
  g_assert_nonnull (chart);
  g_assert_cmpint (lens_chart_get_kind (chart), ==, LENS_CHART_HEATMAP);
  g_assert_cmpuint (lens_chart_get_n_items (chart), ==, R * C);
  check_heatmap_csv (chart, R, C, want, no_marks);

  /* The table: one row per cell. */
  LensTable *table = lens_page_get_table (LENS_PAGE (page));
  g_assert_nonnull (table);
  g_assert_cmpuint (lens_table_get_n_rows (table), ==, R * C);

  gtk_window_destroy (GTK_WINDOW (window));
  msr_test_iterate_a_little ();
}

static void
test_backbones_significance (void)
{
  guint n_sel;
  const gint64 *sel = backbones_selection (&n_sel);
  lens_session_set_selection (session, sel, n_sel);

  GtkWidget *page = lens_backbones_page_new ();
  GtkWidget *window = msr_test_show_in_window (page);
  LensBackbonesPage *bp = LENS_BACKBONES_PAGE (page);
  lens_page_set_session (LENS_PAGE (page), session);
  lens_backbones_page_set_color_by (bp, LENS_BACKBONES_COLOR_DELTA);
  lens_backbones_page_set_baseline (bp, run_pop);
  g_assert_cmpint (lens_backbones_page_get_baseline (bp), ==, run_pop);
  g_assert_true (iterate_until (backbones_idle, page));

  const guint R = lens_backbones_page_get_n_rows (bp), C = lens_backbones_page_get_n_cols (bp);
  const guint S = C - 1;
  g_autoptr(MsrResults) results = open_store ();
  g_autofree double *base_scores = stored_scores (results, run_pop);
  g_autofree double *want = g_new (double, R * C);
  g_autofree const char **want_marks = g_new (const char *, R * C);
  guint n_marked = 0;

  for (guint r = 0; r < R; r++)
    {
      /* Independent DeLong per scenario and overall, then Holm. */
      g_autofree double *p = g_new (double, C), *ph = g_new (double, C);
      const gboolean testable = sel[r] != run_pop && sel[r] != run_pop_noscores;
      for (guint c = 0; c < C; c++)
        p[c] = NAN;
      if (testable)
        {
          g_autofree double *scores = stored_scores (results, sel[r]);
          for (guint c = 0; c < C; c++)
            {
              double z;
              if (!brute_delong (base_scores, scores, c < S ? (int) c : -1, &z, &p[c]))
                p[c] = NAN;
            }
        }
      brute_holm (p, S, ph);
      ph[S] = p[S];   /* overall: one test, not adjusted */

      for (guint c = 0; c < C; c++)
        {
          const char *col = lens_backbones_page_get_col_name (bp, c);
          double v, gp, gph;
          const char *mark;
          g_assert_true (lens_backbones_page_get_cell (bp, r, c, &v, &gp, &gph, &mark));
          /* ΔAUC = the stored AUC minus the baseline's stored AUC */
          want[r * C + c] = stored_auc (results, sel[r], col) - stored_auc (results, run_pop, col);
          g_assert_cmpfloat (v, ==, want[r * C + c]);
          assert_p_close (gp, p[c]);
          assert_p_close (gph, ph[c]);
          want_marks[r * C + c] = testable ? expected_mark (ph[c]) : "";
          g_test_message ("row %u (run %" G_GINT64_FORMAT ") %s: Δ %+.4f p %.3g p_holm %.3g", r, sel[r], col,
                          v, p[c], ph[c]);
          g_assert_cmpstr (mark, ==, want_marks[r * C + c]);
          n_marked += mark[0] != '\0';
        }
    }
  /* Trained backbones against item popularity: clearly significant somewhere. */
  g_assert_cmpuint (n_marked, >, 0);
  check_heatmap_csv (lens_page_get_chart (LENS_PAGE (page)), R, C, want, want_marks);

  /* RelaImpr over the same baseline: the formula on the stored AUCs. */
  lens_backbones_page_set_color_by (bp, LENS_BACKBONES_COLOR_RELAIMPR);
  for (guint r = 0; r < R; r++)
    for (guint c = 0; c < C; c++)
      {
        const char *col = lens_backbones_page_get_col_name (bp, c);
        const double a = stored_auc (results, sel[r], col), b = stored_auc (results, run_pop, col);
        double v;
        g_assert_true (lens_backbones_page_get_cell (bp, r, c, &v, NULL, NULL, NULL));
        g_assert_cmpfloat (fabs (v - ((a - 0.5) / (b - 0.5) - 1) * 100), <=, 1e-12);
      }

  /* A click on a cell shows both AUCs, Δ and the p-values. */
  LensChart *chart = lens_page_get_chart (LENS_PAGE (page));
  g_assert_cmpint (lens_chart_get_kind (chart), ==, LENS_CHART_HEATMAP);
  LensChartView *view = find_chart_view (page, LENS_CHART_HEATMAP);
  g_assert_nonnull (view);
  g_assert_true (lens_chart_view_get_chart (view) == chart);
  const guint r_star = 3;   /* star, seed 2 */
  lens_chart_view_set_selected (view, (int) (r_star * C + 0));
  msr_test_iterate_a_little ();
  const char *readout = lens_backbones_page_get_readout (bp);
  g_assert_nonnull (readout);
  g_autofree char *auc_text = g_strdup_printf ("%.4f", stored_auc (results, run_star[1], rows.names[0]));
  g_assert_nonnull (strstr (readout, auc_text));
  g_assert_nonnull (strstr (readout, "p (Holm)"));
  g_assert_nonnull (strstr (readout, "RelaImpr"));

  /* The run without scores has no marks and is named in a note. */
  const char *note = lens_backbones_page_get_note (bp);
  g_assert_nonnull (note);
  g_autofree char *named = g_strdup_printf ("#%" G_GINT64_FORMAT, run_pop_noscores);
  g_assert_nonnull (strstr (note, named));

  gtk_window_destroy (GTK_WINDOW (window));
  msr_test_iterate_a_little ();
}

/* ---- Seesaw --------------------------------------------------------------------- */

static gboolean
seesaw_ready (gpointer page)
{
  return !lens_seesaw_page_is_busy (page) && lens_seesaw_page_get_seesaw (page) != NULL;
}

static JsonObject *
run_cli_seesaw (gint64 a, gint64 b, JsonParser **parser_out)
{
  g_autoptr(GError) error = NULL;
  const char *cli = g_getenv ("MSR_CLI");
  g_assert_nonnull (cli);
  g_autofree char *sa = g_strdup_printf ("%" G_GINT64_FORMAT, a), *sb = g_strdup_printf ("%" G_GINT64_FORMAT, b);
  g_autoptr(GSubprocess) proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                                  &error, cli, "seesaw", project_dir, sa, sb, "--json", NULL);
  g_assert_no_error (error);
  g_autofree char *out = NULL, *err = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error));
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (proc))
    g_error ("msrlens-cli seesaw failed: %s", err);
  JsonParser *parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  *parser_out = parser;
  return json_node_get_object (json_parser_get_root (parser));
}

/* A JSON number that may be null (NaN) or "inf"/"-inf". */
static double
jnum (JsonObject *o, const char *key)
{
  g_assert_true (json_object_has_member (o, key));
  JsonNode *n = json_object_get_member (o, key);
  if (JSON_NODE_HOLDS_NULL (n))
    return NAN;
  if (json_node_get_value_type (n) == G_TYPE_STRING)
    {
      const char *s = json_node_get_string (n);
      g_assert_true (g_strcmp0 (s, "inf") == 0 || g_strcmp0 (s, "-inf") == 0);
      return s[0] == '-' ? -INFINITY : INFINITY;
    }
  return json_node_get_double (n);
}

static void
assert_close (double got, double want)
{
  if (isnan (want))
    g_assert_true (isnan (got));
  else if (isinf (want))
    g_assert_cmpfloat (got, ==, want);
  else
    g_assert_cmpfloat (fabs (got - want), <=, 1e-9);
}

static void
assert_interval (const MsrInterval *ci, JsonObject *o, const char *key)
{
  g_assert_true (json_object_has_member (o, key));
  JsonNode *n = json_object_get_member (o, key);
  if (JSON_NODE_HOLDS_NULL (n))
    {
      g_assert_cmpuint (ci->n_defined, ==, 0);
      return;
    }
  JsonArray *arr = json_node_get_array (n);
  g_assert_cmpuint (json_array_get_length (arr), ==, 2);
  for (guint k = 0; k < 2; k++)
    {
      JsonNode *e = json_array_get_element (arr, k);
      double want = JSON_NODE_HOLDS_NULL (e) ? NAN
                  : json_node_get_value_type (e) == G_TYPE_STRING
                    ? (json_node_get_string (e)[0] == '-' ? -INFINITY : INFINITY)
                    : json_node_get_double (e);
      assert_close (k ? ci->hi : ci->lo, want);
    }
}

static const char *
outcome_of (const MsrSeesawScenario *r)
{
  if (!r->tested)
    return NULL;
  return r->outcome == MSR_SEESAW_WIN ? "win" : r->outcome == MSR_SEESAW_LOSS ? "loss" : "tie";
}

static void
check_scenario (const MsrSeesawScenario *r, JsonObject *o, gboolean overall)
{
  g_assert_cmpint ((gint64) r->n, ==, json_object_get_int_member (o, "n"));
  g_assert_cmpint ((gint64) r->positives, ==, json_object_get_int_member (o, "positives"));
  assert_close (r->auc_a, jnum (o, "auc_a"));
  assert_close (r->auc_b, jnum (o, "auc_b"));
  assert_close (r->delta, jnum (o, "delta_auc"));
  assert_close (r->relaimpr, jnum (o, "relaimpr"));
  g_assert_cmpint (r->tested, ==, json_object_get_boolean_member (o, "tested"));
  assert_close (r->z, jnum (o, "delong_z"));
  assert_close (r->p, jnum (o, "delong_p"));
  if (!overall)
    assert_close (r->p_holm, jnum (o, "delong_p_holm"));
  JsonNode *oc = json_object_get_member (o, "outcome");
  g_assert_cmpstr (outcome_of (r), ==, JSON_NODE_HOLDS_NULL (oc) ? NULL : json_node_get_string (oc));
  assert_interval (&r->ci_auc_a, o, "auc_a_ci");
  assert_interval (&r->ci_auc_b, o, "auc_b_ci");
  assert_interval (&r->ci_delta, o, "delta_auc_ci");
  assert_interval (&r->ci_relaimpr, o, "relaimpr_ci");
}

static void
check_seed_row (const MsrSeesawSeedRow *r, JsonObject *o)
{
  g_assert_cmpint (r->n_a, ==, json_object_get_int_member (o, "n_a"));
  g_assert_cmpint (r->n_b, ==, json_object_get_int_member (o, "n_b"));
  g_assert_cmpint (r->k, ==, json_object_get_int_member (o, "k"));
  assert_close (r->auc_a_mean, jnum (o, "auc_a_mean"));
  assert_close (r->auc_a_std, jnum (o, "auc_a_std"));
  assert_close (r->auc_b_mean, jnum (o, "auc_b_mean"));
  assert_close (r->auc_b_std, jnum (o, "auc_b_std"));
  assert_close (r->delta_mean, jnum (o, "delta_mean"));
  assert_close (r->delta_std, jnum (o, "delta_std"));
}

static void
test_seesaw_matches_cli (void)
{
  GtkWidget *page = lens_seesaw_page_new ();
  GtkWidget *window = msr_test_show_in_window (page);
  LensSeesawPage *sp = LENS_SEESAW_PAGE (page);

  /* Defaults: A = the (newest) separate DNNs, B = the best other by overall AUC. */
  lens_page_set_session (LENS_PAGE (page), session);
  g_assert_cmpint (lens_seesaw_page_get_run_a (sp), ==, run_sep[1]);
  {
    g_autoptr(MsrResults) results = open_store ();
    const gint64 cands[] = { run_pop, run_sep[0], run_sb, run_star[0], run_star[1] };
    gint64 best = 0;
    double best_auc = -1;
    for (guint i = 0; i < G_N_ELEMENTS (cands); i++)
      {
        const double auc = stored_auc (results, cands[i], "overall");
        if (auc > best_auc)
          {
            best_auc = auc;
            best = cands[i];
          }
      }
    g_assert_cmpint (lens_seesaw_page_get_run_b (sp), ==, best);
  }

  /* A run without scores cannot be picked: the pair stays. */
  const gint64 a0 = lens_seesaw_page_get_run_a (sp), b0 = lens_seesaw_page_get_run_b (sp);
  lens_seesaw_page_set_pair (sp, run_pop_noscores, run_star[1]);
  g_assert_nonnull (lens_seesaw_page_get_error (sp));
  g_assert_cmpint (lens_seesaw_page_get_run_a (sp), ==, a0);
  g_assert_cmpint (lens_seesaw_page_get_run_b (sp), ==, b0);

  /* The pair asked for: star (seed 2) against the separate DNNs (seed 2). */
  const gint64 a = run_sep[1], b = run_star[1];
  lens_seesaw_page_set_pair (sp, a, b);
  g_assert_cmpint (lens_seesaw_page_get_run_a (sp), ==, a);
  g_assert_cmpint (lens_seesaw_page_get_run_b (sp), ==, b);
  g_assert_true (iterate_until (seesaw_ready, page));
  g_assert_null (lens_seesaw_page_get_error (sp));
  const MsrSeesaw *sw = lens_seesaw_page_get_seesaw (sp);

  g_autoptr(JsonParser) parser = NULL;
  JsonObject *root = run_cli_seesaw (a, b, &parser);
  g_assert_cmpint (json_object_get_int_member (root, "run_a"), ==, a);
  g_assert_cmpint (json_object_get_int_member (root, "run_b"), ==, b);

  /* Every per-scenario figure. */
  JsonObject *scen = json_object_get_object_member (root, "scenarios");
  g_assert_cmpuint (json_object_get_size (scen), ==, sw->n_scenarios);
  g_assert_cmpuint (sw->n_scenarios, ==, rows.n_scenarios);
  for (guint s = 0; s < sw->n_scenarios; s++)
    {
      g_assert_cmpstr (sw->scenarios[s].name, ==, rows.names[s]);
      check_scenario (&sw->scenarios[s], json_object_get_object_member (scen, sw->scenarios[s].name), FALSE);
    }
  check_scenario (&sw->overall, json_object_get_object_member (root, "overall"), TRUE);

  /* Every indicator. */
  JsonObject *ind = json_object_get_object_member (root, "indicators");
  assert_close (sw->tau, jnum (ind, "tau"));
  assert_close (sw->alpha, jnum (ind, "alpha"));
  g_assert_cmpint (sw->seesaw_tau, ==, json_object_get_boolean_member (ind, "seesaw_tau"));
  g_assert_cmpint (sw->n_gain_tau, ==, json_object_get_int_member (ind, "n_gain_tau"));
  g_assert_cmpint (sw->n_loss_tau, ==, json_object_get_int_member (ind, "n_loss_tau"));
  g_assert_cmpint (sw->seesaw_significant, ==, json_object_get_boolean_member (ind, "seesaw_significant"));
  assert_close (sw->conflict_ratio, jnum (ind, "conflict_ratio"));
  assert_interval (&sw->ci_conflict_ratio, ind, "conflict_ratio_ci");
  assert_close (sw->significant_gain_sum, jnum (ind, "significant_gain_sum"));
  assert_close (sw->significant_loss_sum, jnum (ind, "significant_loss_sum"));
  assert_close (sw->worst_delta, jnum (ind, "worst_delta"));
  JsonNode *ws = json_object_get_member (ind, "worst_scenario");
  g_assert_cmpstr (sw->worst_scenario >= 0 ? sw->scenarios[sw->worst_scenario].name : NULL, ==,
                   JSON_NODE_HOLDS_NULL (ws) ? NULL : json_node_get_string (ws));
  assert_close (sw->worst_relaimpr, jnum (ind, "worst_relaimpr"));
  g_assert_cmpstr (msr_pareto_to_string (sw->pareto), ==, json_object_get_string_member (ind, "pareto"));
  g_assert_cmpstr (msr_pareto_to_string (sw->pareto_tau), ==, json_object_get_string_member (ind, "pareto_tau"));
  assert_close (sw->macro_delta, jnum (ind, "macro_delta"));
  assert_close (sw->weighted_delta, jnum (ind, "weighted_delta"));
  assert_close (sw->dominance_gap, jnum (ind, "dominance_gap"));
  assert_interval (&sw->ci_macro_delta, ind, "macro_delta_ci");
  assert_interval (&sw->ci_weighted_delta, ind, "weighted_delta_ci");
  assert_interval (&sw->ci_dominance_gap, ind, "dominance_gap_ci");
  assert_close (sw->gain_size_spearman, jnum (ind, "gain_size_spearman"));
  assert_interval (&sw->ci_gain_size_spearman, ind, "gain_size_spearman_ci");
  g_assert_cmpint (sw->wins, ==, json_object_get_int_member (ind, "wins"));
  g_assert_cmpint (sw->ties, ==, json_object_get_int_member (ind, "ties"));
  g_assert_cmpint (sw->losses, ==, json_object_get_int_member (ind, "losses"));
  g_assert_cmpint (sw->untested, ==, json_object_get_int_member (ind, "untested"));
  g_assert_cmpint (sw->n_defined, ==, json_object_get_int_member (ind, "scenarios_defined"));

  /* The same bootstrap as the command line's defaults. */
  JsonObject *boot = json_object_get_object_member (root, "bootstrap");
  g_assert_cmpint (sw->replicates, ==, json_object_get_int_member (boot, "replicates"));
  g_assert_cmpint ((gint64) sw->seed, ==, json_object_get_int_member (boot, "seed"));
  assert_close (sw->level, jnum (boot, "level"));
  g_assert_cmpuint (sw->replicates, >, 0);

  /* Seeds: two runs of each configuration, paired by training seed. */
  const MsrSeesawSeeds *sd = lens_seesaw_page_get_seeds (sp);
  g_assert_nonnull (sd);
  JsonObject *seeds = json_object_get_object_member (root, "seeds");
  g_assert_nonnull (seeds);
  g_assert_cmpint (sd->k, ==, json_object_get_int_member (seeds, "k"));
  g_assert_cmpuint (sd->k, ==, 2);
  g_assert_cmpstr (msr_seesaw_pairing_to_string (sd->pairing), ==, json_object_get_string_member (seeds, "pairing"));
  g_assert_cmpint (sd->same_configuration, ==, json_object_get_boolean_member (seeds, "same_configuration"));
  JsonObject *sds = json_object_get_object_member (seeds, "scenarios");
  for (guint s = 0; s < sd->n_scenarios; s++)
    check_seed_row (&sd->scenarios[s], json_object_get_object_member (sds, sd->scenarios[s].name));
  check_seed_row (&sd->overall, json_object_get_object_member (seeds, "overall"));

  /* What is drawn: the diverging chart's bars, whiskers and p-values, and
   * the scatter's points, are the command line's figures. */
  LensChart *chart = lens_page_get_chart (LENS_PAGE (page));
  g_assert_nonnull (chart);
  g_assert_cmpint (lens_chart_get_kind (chart), ==, LENS_CHART_DIVERGING);
  g_assert_cmpuint (lens_chart_get_n_items (chart), ==, sw->n_scenarios);
  {
    g_autofree char *text = lens_chart_to_csv (chart);
    g_autoptr(GPtrArray) csv = parse_csv (text);
    g_assert_cmpuint (csv->len, ==, 1 + sw->n_scenarios);
    const int cl = csv_column (csv, "label"), cd = csv_column (csv, "delta"), clo = csv_column (csv, "lo");
    const int chi = csv_column (csv, "hi"), cp = csv_column (csv, "p");
    g_assert_true (cl >= 0 && cd >= 0 && clo >= 0 && chi >= 0 && cp >= 0);
    for (guint s = 0; s < sw->n_scenarios; s++)
      {
        char **row = g_ptr_array_index (csv, 1 + s);
        JsonObject *o = json_object_get_object_member (scen, row[cl]);
        g_assert_nonnull (o);
        assert_close (csv_number (row[cd]), jnum (o, "delta_auc"));
        JsonArray *ci = json_object_get_array_member (o, "delta_auc_ci");
        assert_close (csv_number (row[clo]), json_array_get_double_element (ci, 0));
        assert_close (csv_number (row[chi]), json_array_get_double_element (ci, 1));
        assert_close (csv_number (row[cp]), jnum (o, "delong_p_holm"));
      }
  }
  {
    LensChartView *found = find_chart_view (page, LENS_CHART_SCATTER);
    g_assert_nonnull (found);
    g_assert_true (find_chart_view (page, LENS_CHART_DIVERGING) != NULL);
    LensChart *scatter = lens_chart_view_get_chart (found);
    g_assert_cmpint (lens_chart_get_kind (scatter), ==, LENS_CHART_SCATTER);
    g_autofree char *text = lens_chart_to_csv (scatter);
    g_autoptr(GPtrArray) csv = parse_csv (text);
    const int cl = csv_column (csv, "label"), cx = csv_column (csv, "x"), cy = csv_column (csv, "y");
    g_assert_cmpuint (csv->len, ==, 1 + sw->n_defined);
    for (guint i = 1; i < csv->len; i++)
      {
        char **row = g_ptr_array_index (csv, i);
        JsonObject *o = json_object_get_object_member (scen, row[cl]);
        g_assert_cmpfloat (csv_number (row[cx]), ==, (double) json_object_get_int_member (o, "n"));
        assert_close (csv_number (row[cy]), jnum (o, "delta_auc"));
      }
  }

  /* The table: one row per scenario and overall, formatted from those figures. */
  LensTable *table = lens_page_get_table (LENS_PAGE (page));
  g_assert_cmpuint (lens_table_get_n_rows (table), ==, sw->n_scenarios + 1);
  {
    g_autofree char *text = lens_table_to_csv (table);
    g_autoptr(GPtrArray) csv = parse_csv (text);
    const int cs = csv_column (csv, "Scenario"), ca = csv_column (csv, "AUC A"), cb = csv_column (csv, "AUC B");
    const int cw = csv_column (csv, "W/T/L"), cm = csv_column (csv, "Δ mean ± std (k)");
    g_assert_true (cs >= 0 && ca >= 0 && cb >= 0 && cw >= 0 && cm >= 0);
    guint seen = 0;
    for (guint i = 1; i < csv->len; i++)
      {
        char **row = g_ptr_array_index (csv, i);
        if (row[0] == NULL || row[0][0] == '\0')
          continue;
        const gboolean overall = g_strcmp0 (row[cs], "overall") == 0;
        JsonObject *o = overall ? json_object_get_object_member (root, "overall")
                                : json_object_get_object_member (scen, row[cs]);
        g_assert_nonnull (o);
        g_autofree char *fa = g_strdup_printf ("%.4f", jnum (o, "auc_a"));
        g_autofree char *fb = g_strdup_printf ("%.4f", jnum (o, "auc_b"));
        g_assert_cmpstr (row[ca], ==, fa);
        g_assert_cmpstr (row[cb], ==, fb);
        JsonNode *oc = json_object_get_member (o, "outcome");
        const char *word = JSON_NODE_HOLDS_NULL (oc) ? NULL : json_node_get_string (oc);
        g_assert_cmpstr (row[cw], ==, word == NULL ? "–" : g_str_equal (word, "win") ? "W"
                                      : g_str_equal (word, "loss") ? "L" : "T");
        JsonObject *so = overall ? json_object_get_object_member (seeds, "overall")
                                 : json_object_get_object_member (sds, row[cs]);
        g_autofree char *fm = g_strdup_printf ("%+.4f", jnum (so, "delta_mean"));
        g_assert_true (g_str_has_prefix (row[cm], fm));
        seen++;
      }
    g_assert_cmpuint (seen, ==, sw->n_scenarios + 1);
  }

  /* The verdict says what the flags say. */
  const char *verdict = lens_seesaw_page_get_verdict (sp);
  g_assert_nonnull (verdict);
  g_assert_cmpint (g_str_has_prefix (verdict, "Seesaw:"), ==,
                   json_object_get_boolean_member (ind, "seesaw_significant"));

  /* Another pair replaces the computation; the page follows. */
  lens_seesaw_page_set_pair (sp, run_pop, run_sb);
  g_assert_true (lens_seesaw_page_is_busy (sp));
  lens_seesaw_page_set_pair (sp, run_pop, run_sep[0]);
  g_assert_true (iterate_until (seesaw_ready, page));
  sw = lens_seesaw_page_get_seesaw (sp);
  g_autoptr(JsonParser) parser2 = NULL;
  JsonObject *root2 = run_cli_seesaw (run_pop, run_sep[0], &parser2);
  JsonObject *scen2 = json_object_get_object_member (root2, "scenarios");
  for (guint s = 0; s < sw->n_scenarios; s++)
    check_scenario (&sw->scenarios[s], json_object_get_object_member (scen2, sw->scenarios[s].name), FALSE);
  check_scenario (&sw->overall, json_object_get_object_member (root2, "overall"), TRUE);

  gtk_window_destroy (GTK_WINDOW (window));
  msr_test_iterate_a_little ();
}

/* A pair asked for before the page has a session is applied when it gets one. */
static void
test_seesaw_pending_pair (void)
{
  GtkWidget *page = lens_seesaw_page_new ();
  GtkWidget *window = msr_test_show_in_window (page);
  LensSeesawPage *sp = LENS_SEESAW_PAGE (page);

  lens_seesaw_page_set_pair (sp, run_sb, run_star[0]);
  lens_page_set_session (LENS_PAGE (page), session);
  g_assert_cmpint (lens_seesaw_page_get_run_a (sp), ==, run_sb);
  g_assert_cmpint (lens_seesaw_page_get_run_b (sp), ==, run_star[0]);
  g_assert_true (iterate_until (seesaw_ready, page));
  g_assert_cmpuint (lens_seesaw_page_get_seesaw (sp)->n_scenarios, ==, rows.n_scenarios);

  gtk_window_destroy (GTK_WINDOW (window));
  msr_test_iterate_a_little ();
}

/* The pages get the session before its dataset is loaded (the window may
 * do that): they show the stored metrics at once and test as soon as the
 * dataset is in. */
typedef struct {
  LensBackbonesPage *bp;
  LensSeesawPage    *sp;
  guint              row;
} LateState;

static gboolean
late_done (gpointer data)
{
  LateState *st = data;
  double p = NAN;
  if (lens_backbones_page_is_busy (st->bp) || !seesaw_ready (st->sp))
    return FALSE;
  lens_backbones_page_get_cell (st->bp, st->row, 0, NULL, &p, NULL, NULL);
  return !isnan (p);
}

static void
test_late_dataset (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LensSession) late = lens_session_open (project_dir, &error);
  g_assert_no_error (error);
  msr_test_session_refresh (late);
  guint n_sel;
  const gint64 *sel = backbones_selection (&n_sel);
  lens_session_set_selection (late, sel, n_sel);

  GtkWidget *bpage = lens_backbones_page_new ();
  GtkWidget *bwindow = msr_test_show_in_window (bpage);
  GtkWidget *spage = lens_seesaw_page_new ();
  GtkWidget *swindow = msr_test_show_in_window (spage);
  lens_page_set_session (LENS_PAGE (bpage), late);
  lens_page_set_session (LENS_PAGE (spage), late);
  LateState st = { LENS_BACKBONES_PAGE (bpage), LENS_SEESAW_PAGE (spage), 1 };

  /* Without the dataset: the stored AUCs, no tests yet, and a message. */
  g_assert_null (lens_session_get_dataset (late));
  g_assert_cmpuint (lens_backbones_page_get_n_rows (st.bp), ==, n_sel);
  g_assert_cmpuint (lens_backbones_page_get_n_cols (st.bp), ==, rows.n_scenarios + 1);
  g_assert_false (lens_backbones_page_is_busy (st.bp));
  g_assert_null (lens_seesaw_page_get_seesaw (st.sp));
  g_assert_nonnull (lens_seesaw_page_get_error (st.sp));

  lens_backbones_page_set_baseline (st.bp, run_pop);
  msr_test_session_load (late);
  g_assert_true (iterate_until (late_done, &st));
  g_assert_null (lens_seesaw_page_get_error (st.sp));
  for (guint s = 0; s < rows.n_scenarios; s++)
    g_assert_cmpstr (lens_backbones_page_get_col_name (st.bp, s), ==, rows.names[s]);

  gtk_window_destroy (GTK_WINDOW (bwindow));
  gtk_window_destroy (GTK_WINDOW (swindow));
  msr_test_iterate_a_little ();
}

/* ---- export ---------------------------------------------------------------------- */

static void
test_export (void)
{
  guint n_sel;
  const gint64 *sel = backbones_selection (&n_sel);
  lens_session_set_selection (session, sel, n_sel);

  GtkWidget *bpage = lens_backbones_page_new ();
  GtkWidget *bwindow = msr_test_show_in_window (bpage);
  lens_page_set_session (LENS_PAGE (bpage), session);
  lens_backbones_page_set_color_by (LENS_BACKBONES_PAGE (bpage), LENS_BACKBONES_COLOR_DELTA);
  g_assert_true (iterate_until (backbones_idle, bpage));
  LensChart *heat = lens_page_get_chart (LENS_PAGE (bpage));
  g_assert_nonnull (heat);
  msr_test_check_chart_exports (heat, tmp_root, "backbones", 24);

  GtkWidget *spage = lens_seesaw_page_new ();
  GtkWidget *swindow = msr_test_show_in_window (spage);
  lens_page_set_session (LENS_PAGE (spage), session);
  g_assert_true (iterate_until (seesaw_ready, spage));
  LensChart *div = lens_page_get_chart (LENS_PAGE (spage));
  g_assert_nonnull (div);
  msr_test_check_chart_exports (div, tmp_root, "seesaw", 24);

  /* The tables export as CSV with a header line. */
  g_autoptr(GError) error = NULL;
  g_autofree char *csv_path = g_build_filename (tmp_root, "seesaw.csv", NULL);
  g_assert_true (lens_table_export_csv (lens_page_get_table (LENS_PAGE (spage)), csv_path, &error));
  g_assert_no_error (error);
  g_autofree char *csv = NULL;
  g_assert_true (g_file_get_contents (csv_path, &csv, NULL, &error));
  g_assert_true (g_str_has_prefix (csv, "Scenario,"));

  gtk_window_destroy (GTK_WINDOW (bwindow));
  gtk_window_destroy (GTK_WINDOW (swindow));
  msr_test_iterate_a_little ();
}

/* ---- main ------------------------------------------------------------------------- */

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;

  int status = msr_test_gtk_check_display ();
  if (status >= 0)
    return status;
  msr_test_gtk_setenv ();
  if (g_getenv ("MSR_CLI") == NULL)
    g_setenv ("MSR_CLI", MSR_BUILD_DIR "/app/msrlens-cli", TRUE);

  tmp_root = g_dir_make_tmp ("msrlens-compare-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *xdg = g_build_filename (tmp_root, "xdg", NULL);
  g_setenv ("XDG_DATA_HOME", xdg, TRUE);
  g_setenv ("XDG_CONFIG_HOME", xdg, TRUE);
  g_setenv ("XDG_CACHE_HOME", xdg, TRUE);
  g_setenv ("XDG_STATE_HOME", xdg, TRUE);

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  build_fixture ();

  g_test_add_func ("/page/backbones/values", test_backbones_values);
  g_test_add_func ("/page/backbones/significance", test_backbones_significance);
  g_test_add_func ("/page/seesaw/matches-cli", test_seesaw_matches_cli);
  g_test_add_func ("/page/seesaw/pending-pair", test_seesaw_pending_pair);
  g_test_add_func ("/page/export", test_export);
  g_test_add_func ("/page/late-dataset", test_late_dataset);

  int ret = g_test_run ();

  g_clear_object (&session);
  g_free (rows.y);
  g_free (rows.scenario);
  g_strfreev (rows.names);
  msr_test_rm_rf (tmp_root);
  g_free (tmp_root);
  g_free (project_dir);
  return ret;
}

/* test-page-llm.c: the Scenario Correlations, Meta Weights and Users pages
 * on a small simulated world with planted knowledge, with STAR trained
 * with LLM4MSR and without (Xvfb).
 *
 * Expected values come from outside the pages: the engine's explain,
 * model and knowledge calls made here on the saved model files and the
 * project's dataset, the simulation's ground truth, the stored per-row
 * scores, and definitions written out in this file (which Δ bars a user
 * gets, a user's dominant scenario, nearest users by cosine). */
#include "config.h"
#include "test-util.h"
#include "test-gtk-util.h"
#include "test-session-util.h"

#include <adwaita.h>
#include <math.h>
#include <string.h>

#include "lens-chart-view.h"
#include "lens-correlations-page.h"
#include "lens-meta-page.h"
#include "lens-session.h"
#include "lens-users-page.h"
#include "msr-explain.h"
#include "msr-knowledge.h"
#include "msr-pipeline.h"
#include "msr-results.h"
#include "msr-simulate.h"

static char *tmp_root;
static char *project_dir;
static MsrProject *project;
static MsrDataset *ds;
static LensSession *session;        /* both runs */
static LensSession *star_session;   /* opened before the LLM4MSR run existed */
static gint64 run_llm, run_star;    /* evaluation runs */
static char *model_llm, *model_star;

/* ---- main-loop helpers ------------------------------------------------------ */

static gboolean
iterate_until (Condition cond, gpointer data)
{
  return msr_test_iterate_until (cond, data, 120);
}

static void
close_window (GtkWidget *window)
{
  gtk_window_destroy (GTK_WINDOW (window));
  msr_test_iterate_a_little ();
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

/* The page's chart view showing chart. */
static LensChartView *
find_view_of (GtkWidget *page, LensChart *chart)
{
  g_autoptr(GPtrArray) views = g_ptr_array_new ();
  collect_chart_views (page, views);
  for (guint i = 0; i < views->len; i++)
    if (lens_chart_view_get_chart (g_ptr_array_index (views, i)) == chart)
      return g_ptr_array_index (views, i);
  return NULL;
}

/* ---- what charts hold --------------------------------------------------------- */

/* A chart's values, by its CSV (which round-trips doubles exactly). */
static GPtrArray *
chart_csv (LensChart *chart)
{
  g_assert_nonnull (chart);
  g_autofree char *text = lens_chart_to_csv (chart);
  return msr_test_csv_parse (text);
}

static void
assert_same (double got, double want)
{
  if (isnan (want))
    g_assert_true (isnan (got));
  else
    g_assert_cmpfloat (got, ==, want);
}

/* A heatmap holds rows × cols values equal to want (row-major). */
static void
check_heatmap (LensChart *chart, guint rows, guint cols, const double *want)
{
  g_assert_cmpint (lens_chart_get_kind (chart), ==, LENS_CHART_HEATMAP);
  g_assert_cmpuint (lens_chart_get_n_items (chart), ==, rows * cols);
  g_autoptr(GPtrArray) csv = chart_csv (chart);
  g_assert_cmpuint (csv->len, ==, 1 + rows * cols);
  const int cv = msr_test_csv_column (csv, "value");
  g_assert_cmpint (cv, >=, 0);
  for (guint i = 0; i < rows * cols; i++)
    assert_same (msr_test_csv_number (((char **) g_ptr_array_index (csv, 1 + i))[cv]), want[i]);
}

static void
check_heatmap_floats (LensChart *chart, guint rows, guint cols, const float *want)
{
  g_autofree double *w = g_new (double, (gsize) rows * cols);
  for (gsize i = 0; i < (gsize) rows * cols; i++)
    w[i] = want[i];
  check_heatmap (chart, rows, cols, w);
}

/* A singular-value chart: min (rows, cols) points, descending, equal to
 * the engine's SVD of w. */
static void
check_spectrum (LensChart *chart, const float *w, guint rows, guint cols)
{
  g_autoptr(GError) error = NULL;
  g_assert_nonnull (chart);
  g_assert_cmpint (lens_chart_get_kind (chart), ==, LENS_CHART_LINE);
  guint k = 0;
  g_autofree double *sv = msr_explain_singular_values (w, rows, cols, &k, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (k, ==, MIN (rows, cols));
  g_assert_cmpuint (lens_chart_get_n_items (chart), ==, k);
  g_autoptr(GPtrArray) csv = chart_csv (chart);
  g_assert_cmpuint (csv->len, ==, 1 + k);
  const int cx = msr_test_csv_column (csv, "x"), cy = msr_test_csv_column (csv, "y");
  double last = INFINITY;
  for (guint i = 0; i < k; i++)
    {
      char **row = g_ptr_array_index (csv, 1 + i);
      const double y = msr_test_csv_number (row[cy]);
      g_assert_cmpfloat (msr_test_csv_number (row[cx]), ==, i + 1);
      g_assert_cmpfloat (y, <=, last);
      g_assert_cmpfloat (y, >=, 0);
      g_assert_cmpfloat (fabs (y - sv[i]), <=, 1e-9 * MAX (1.0, sv[0]));
      last = y;
    }
  /* A trained layer is not zero. */
  g_assert_cmpfloat (sv[0], >, 0);
}

static MsrModel *
load_model (const char *path)
{
  g_autoptr(GError) error = NULL;
  MsrModel *model = msr_pipeline_load_model (project, path, &error);
  g_assert_no_error (error);
  return model;
}

static MsrKnowledge *
open_knowledge (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = msr_project_get_path (project, MSR_KNOWLEDGE_FILE);
  MsrKnowledge *k = msr_knowledge_open (path, MSR_KNOWLEDGE_READ_ONLY, &error);
  g_assert_no_error (error);
  return k;
}

/* ---- the fixture ---------------------------------------------------------------- */

/* STAR, small and briefly trained, evaluated on the test split with its
 * per-row scores; returns the evaluation run. */
static gint64
train (gboolean llm4msr, char **model_path)
{
  g_autoptr(GError) error = NULL;
  MsrModelConfig cfg;
  msr_model_config_init (&cfg, MSR_ARCH_STAR);
  cfg.embed_dim = 8;
  g_assert_true (msr_dims_parse ("32,16", &cfg.hidden));
  cfg.llm4msr = llm4msr;
  cfg.meta_dq = 16;
  MsrTrainOptions opts;
  msr_train_options_init (&opts);
  opts.epochs = 6;
  opts.batch_size = 256;
  MsrEvalOptions eo;
  msr_eval_options_init (&eo);
  eo.replicates = 0;   /* no page here shows intervals */
  eo.threads = 1;
  gint64 eval_run = 0;
  g_assert_true (msr_pipeline_train_and_evaluate (project, ds, &cfg, &opts, &eo, NULL, model_path, NULL, &eval_run,
                                                  NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  return eval_run;
}

static void
build_fixture (void)
{
  g_autoptr(GError) error = NULL;
  project_dir = g_build_filename (tmp_root, "world", NULL);
  MsrSimOptions o;
  msr_sim_options_init (&o);
  o.seed = 11;
  o.n_users = 150;
  o.n_rows = 4000;
  g_assert_true (msr_sim_write_project (project_dir, &o, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (msr_sim_write_planted_knowledge (project_dir, &o, &error));
  g_assert_no_error (error);
  project = msr_project_open (project_dir, &error);
  g_assert_no_error (error);
  ds = msr_project_load_dataset (project, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  /* Plain STAR first: a session opened now knows no LLM4MSR run. */
  run_star = train (FALSE, &model_star);
  star_session = msr_test_session_open (project_dir);
  run_llm = train (TRUE, &model_llm);
  session = msr_test_session_open (project_dir);
  g_assert_nonnull (lens_session_find_run (session, run_llm));
  g_assert_null (lens_session_find_run (star_session, run_llm));
}

/* ---- Scenario Correlations -------------------------------------------------------- */

static gboolean
correlations_ready (gpointer page)
{
  LensCorrelationsPage *cp = page;
  const MsrCorrelationReport *r = lens_correlations_page_get_report (cp);
  return r != NULL && !lens_correlations_page_is_busy (cp) &&
         lens_correlations_page_get_views (cp)->len == r->matrices->len;
}

/* Drawn on screen at least once (items have places to be hit). */
static gboolean
chart_drawn (gpointer chart)
{
  double rect[4];
  return lens_chart_get_item_rect (chart, 0, rect) && rect[2] > 0 && rect[3] > 0;
}

static const MsrScenarioMatrix *
find_matrix (const MsrCorrelationReport *r, const char *source, guint *index)
{
  for (guint i = 0; i < r->matrices->len; i++)
    {
      const MsrScenarioMatrix *m = g_ptr_array_index (r->matrices, i);
      if (g_strcmp0 (m->source, source) == 0)
        {
          if (index)
            *index = i;
          return m;
        }
    }
  return NULL;
}

/* The report equals the engine's for the same model, and every chart
 * shows its matrix. */
static void
check_report (LensCorrelationsPage *cp, const char *model_path, const char *label)
{
  g_autoptr(GError) error = NULL;
  const MsrCorrelationReport *r = lens_correlations_page_get_report (cp);
  g_autoptr(MsrModel) model = load_model (model_path);
  g_autofree char *store = msr_project_get_path (project, MSR_KNOWLEDGE_FILE);
  g_autoptr(MsrCorrelationReport) want = msr_explain_correlations (project_dir, store, model, label, ds,
                                                                   MSR_EXPLAIN_PERMUTATIONS, NULL, &error);
  g_assert_no_error (error);
  const guint S = want->n_scenarios;
  g_assert_cmpuint (r->n_scenarios, ==, S);
  g_assert_cmpuint (r->matrices->len, ==, want->matrices->len);
  g_assert_cmpuint (r->permutations, ==, MSR_EXPLAIN_PERMUTATIONS);
  GPtrArray *views = lens_correlations_page_get_views (cp);
  for (guint m = 0; m < r->matrices->len; m++)
    {
      const MsrScenarioMatrix *got = g_ptr_array_index (r->matrices, m), *exp = g_ptr_array_index (want->matrices, m);
      g_assert_cmpstr (got->source, ==, exp->source);
      g_assert_cmpstr (got->title, ==, exp->title);
      g_assert_cmpstr (got->note, ==, exp->note);
      for (guint i = 0; i < S * S; i++)
        assert_same (got->values[i], exp->values[i]);
      LensChart *chart = lens_chart_view_get_chart (g_ptr_array_index (views, m));
      g_assert_cmpstr (lens_chart_get_title (chart), ==, exp->title);
      check_heatmap (chart, S, S, exp->values);
    }
  g_assert_cmpuint (r->n_agreements, ==, want->n_agreements);
  for (guint i = 0; i < r->n_agreements; i++)
    {
      g_assert_cmpuint (r->agreements[i].pairs, ==, want->agreements[i].pairs);
      assert_same (r->agreements[i].r, want->agreements[i].r);
      assert_same (r->agreements[i].p, want->agreements[i].p);
    }
}

static void
test_correlations (void)
{
  g_autoptr(GError) error = NULL;
  GtkWidget *page = lens_correlations_page_new ();
  GtkWidget *window = msr_test_show_in_window (page);
  LensCorrelationsPage *cp = LENS_CORRELATIONS_PAGE (page);
  lens_page_set_session (LENS_PAGE (page), session);
  g_assert_true (iterate_until (correlations_ready, cp));

  /* Learned by: the LLM4MSR model unless someone picks another. */
  g_assert_cmpint (lens_correlations_page_get_model_run (cp), ==, run_llm);
  g_autofree char *label = lens_run_get_label (lens_session_find_run (session, run_llm));
  check_report (cp, model_llm, label);

  /* Every matrix the project has, each against its source. */
  const MsrCorrelationReport *r = lens_correlations_page_get_report (cp);
  const guint S = r->n_scenarios;
  g_assert_cmpuint (S, ==, msr_dataset_get_n_scenarios (ds));
  static const char *const sources[] = { "llm:planted", "data:click-rate", "data:user-overlap", "planted",
                                         "learned" };
  for (guint i = 0; i < G_N_ELEMENTS (sources); i++)
    g_assert_nonnull (find_matrix (r, sources[i], NULL));
  g_assert_cmpuint (r->matrices->len, ==, G_N_ELEMENTS (sources));
  g_assert_null (r->learned_error);
  g_assert_null (r->knowledge_error);
  {
    /* Planted: the ground truth's C, in the dataset's scenario order. */
    g_autoptr(MsrSimTruth) truth = msr_sim_truth_load (project_dir, &error);
    g_assert_no_error (error);
    const MsrScenarioMatrix *planted = find_matrix (r, "planted", NULL);
    for (guint a = 0; a < S; a++)
      for (guint b = 0; b < S; b++)
        {
          const int ta = msr_sim_truth_find_scenario (truth, r->scenarios[a]);
          const int tb = msr_sim_truth_find_scenario (truth, r->scenarios[b]);
          g_assert_true (ta >= 0 && tb >= 0);
          g_assert_cmpfloat (planted->values[a * S + b], ==, truth->correlation[ta * truth->n_scenarios + tb]);
        }
    /* The LLM's: what the store holds for the planted encoder. */
    g_autoptr(MsrKnowledge) k = open_knowledge ();
    g_autofree double *cos = msr_knowledge_get_correlation (k, "llm:planted", (const char * const *) r->scenarios,
                                                            S, &error);
    g_assert_no_error (error);
    const MsrScenarioMatrix *llm = find_matrix (r, "llm:planted", NULL);
    for (guint i = 0; i < S * S; i++)
      g_assert_cmpfloat (llm->values[i], ==, cos[i]);
    /* Learned: the generated scenario layers' cosine similarity. */
    g_autoptr(MsrModel) model = load_model (model_llm);
    g_autofree char *what = NULL;
    g_autofree double *learned = msr_explain_learned_correlation (model, ds, MSR_SPLIT_MASK (MSR_SPLIT_TRAIN),
                                                                  &what, NULL, &error);
    g_assert_no_error (error);
    const MsrScenarioMatrix *lm = find_matrix (r, "learned", NULL);
    g_assert_cmpstr (lm->note, ==, what);
    g_assert_nonnull (strstr (lm->note, "generated meta layers"));
    for (guint i = 0; i < S * S; i++)
      assert_same (lm->values[i], learned[i]);
    g_assert_nonnull (strstr (lm->title, label));
  }

  /* The Mantel table: one row per pair of matrices, r and p as computed. */
  LensTable *table = lens_page_get_table (LENS_PAGE (page));
  g_assert_cmpuint (lens_table_get_n_rows (table), ==, r->n_agreements);
  g_assert_cmpuint (r->n_agreements, ==, r->matrices->len * (r->matrices->len - 1) / 2);
  {
    g_autofree char *text = lens_table_to_csv (table);
    g_autoptr(GPtrArray) csv = msr_test_csv_parse (text);
    const int ca = msr_test_csv_column (csv, "Matrix"), cb = msr_test_csv_column (csv, "Against");
    const int cr = msr_test_csv_column (csv, "Mantel r"), cpv = msr_test_csv_column (csv, "p");
    g_assert_true (ca >= 0 && cb >= 0 && cr >= 0 && cpv >= 0);
    g_assert_cmpuint (csv->len, ==, 1 + r->n_agreements);
    for (guint i = 0; i < r->n_agreements; i++)
      {
        char **row = g_ptr_array_index (csv, 1 + i);
        const MsrMatrixAgreement *ag = &r->agreements[i];
        g_assert_cmpstr (row[ca], ==, ((MsrScenarioMatrix *) g_ptr_array_index (r->matrices, ag->a))->title);
        g_assert_cmpstr (row[cb], ==, ((MsrScenarioMatrix *) g_ptr_array_index (r->matrices, ag->b))->title);
        g_autofree char *fr = isnan (ag->r) ? g_strdup ("–") : g_strdup_printf ("%+.3f", ag->r);
        g_autofree char *fp = isnan (ag->p) ? g_strdup ("–") : g_strdup_printf ("%.4f", ag->p);
        g_assert_cmpstr (row[cr], ==, fr);
        g_assert_cmpstr (row[cpv], ==, fp);
      }
  }

  /* A click on a cell of the second matrix (on screen: top right), where
   * it was drawn, as the view's click handler takes it: the pair's values
   * in every matrix, and both scenarios' knowledge texts. */
  LensChartView *view = g_ptr_array_index (lens_correlations_page_get_views (cp), 1);
  LensChart *clicked = lens_chart_view_get_chart (view);
  const guint a = 1, b = S - 1;
  double rect[4];
  g_assert_true (iterate_until (chart_drawn, clicked));
  g_assert_true (lens_chart_get_item_rect (clicked, a * S + b, rect));
  const int hit = lens_chart_hit (clicked, rect[0] + rect[2] / 2, rect[1] + rect[3] / 2);
  g_assert_cmpint (hit, ==, (int) (a * S + b));
  lens_chart_view_set_selected (view, hit);
  msr_test_iterate_a_little ();
  g_assert_true (lens_page_get_chart (LENS_PAGE (page)) == clicked);
  const char *pair = lens_correlations_page_get_pair_text (cp);
  g_assert_nonnull (pair);
  g_autofree char *names = g_strdup_printf ("%s × %s", r->scenarios[a], r->scenarios[b]);
  g_assert_true (g_str_has_prefix (pair, names));
  for (guint m = 0; m < r->matrices->len; m++)
    {
      const MsrScenarioMatrix *mx = g_ptr_array_index (r->matrices, m);
      const double v = mx->values[a * S + b];
      g_autofree char *want = isnan (v) ? g_strdup_printf ("%s undefined", mx->title)
                                        : g_strdup_printf ("%s %.3f", mx->title, v);
      g_assert_nonnull (strstr (pair, want));
    }
  {
    g_autoptr(MsrKnowledge) k = open_knowledge ();
    const guint which[2] = { a, b };
    for (guint i = 0; i < 2; i++)
      {
        const char *shown = lens_correlations_page_get_pair_knowledge (cp, i);
        g_autoptr(MsrKnowledgeEntry) e = msr_knowledge_get_entry (k, MSR_KNOWLEDGE_SCENARIO, r->scenarios[which[i]],
                                                                  NULL, &error);
        g_assert_no_error (error);
        g_assert_nonnull (e);
        g_assert_true (g_str_has_prefix (shown, r->scenarios[which[i]]));
        g_assert_nonnull (strstr (shown, e->response));
        g_assert_nonnull (strstr (shown, "Planted knowledge of scenario"));
      }
  }

  /* A run without a model to compare is not offered. */
  const LensRun *training = lens_session_find_training_run (session, lens_session_find_run (session, run_star));
  g_assert_nonnull (training);
  g_assert_false (lens_correlations_page_set_model_run (cp, training->info->id));
  g_assert_cmpint (lens_correlations_page_get_model_run (cp), ==, run_llm);

  /* Learned by the plain STAR: its per-scenario weights. */
  g_assert_true (lens_correlations_page_set_model_run (cp, run_star));
  g_assert_true (lens_correlations_page_is_busy (cp));
  g_assert_true (iterate_until (correlations_ready, cp));
  g_assert_cmpint (lens_correlations_page_get_model_run (cp), ==, run_star);
  g_autofree char *star_label = lens_run_get_label (lens_session_find_run (session, run_star));
  check_report (cp, model_star, star_label);
  r = lens_correlations_page_get_report (cp);
  guint li = 0;
  const MsrScenarioMatrix *lm = find_matrix (r, "learned", &li);
  g_assert_nonnull (lm);
  g_assert_true (g_str_has_prefix (lm->note, "Learned: cosine similarity of STAR's per-scenario weights"));
  g_assert_nonnull (strstr (lm->title, star_label));
  /* The chart says so too (its summary reads the note). */
  g_autofree char *summary = lens_chart_describe (lens_chart_view_get_chart (g_ptr_array_index (
                                                    lens_correlations_page_get_views (cp), li)));
  g_assert_nonnull (strstr (summary, "STAR's per-scenario weights"));

  close_window (window);
}

/* ---- Meta Weights ------------------------------------------------------------------- */

static gboolean
meta_ready (gpointer page)
{
  LensMetaPage *mp = page;
  return lens_meta_page_is_ready (mp) && lens_meta_page_get_scenario_chart (mp) != NULL &&
         lens_meta_page_get_map_chart (mp) != NULL;
}

static void
test_meta_scenarios (void)
{
  g_autoptr(GError) error = NULL;
  GtkWidget *page = lens_meta_page_new ();
  GtkWidget *window = msr_test_show_in_window (page);
  LensMetaPage *mp = LENS_META_PAGE (page);
  lens_page_set_session (LENS_PAGE (page), session);
  g_assert_true (iterate_until (meta_ready, mp));
  g_assert_null (lens_meta_page_get_message (mp));

  /* Scenario 0's generated layer, as the model file gives it. */
  g_autoptr(MsrModel) model = load_model (model_llm);
  g_assert_cmpuint (msr_model_meta_scenario_n_layers (model), >, 0);
  g_autofree float *wa = NULL, *ba = NULL, *wb = NULL, *bb = NULL;
  guint r, c, r2, c2;
  g_assert_true (msr_model_meta_scenario_layer (model, 0, 0, &wa, &r, &c, &ba, &error));
  g_assert_no_error (error);
  g_test_message ("scenario layer 1: %u × %u", r, c);
  LensChart *heat = lens_meta_page_get_scenario_chart (mp);
  check_heatmap_floats (heat, r, c, wa);
  g_assert_nonnull (strstr (lens_chart_get_title (heat), msr_model_get_scenario_name (model, 0)));
  check_spectrum (lens_meta_page_get_scenario_spectrum_chart (mp), wa, r, c);

  /* Export takes the chart last clicked, also once its view has replaced
   * it: clicked, deselected (a click beside the cells), another scenario. */
  LensChartView *view = find_view_of (page, heat);
  g_assert_nonnull (view);
  lens_chart_view_set_selected (view, 0);
  g_assert_true (lens_page_get_chart (LENS_PAGE (page)) == heat);
  lens_chart_view_set_selected (view, -1);
  /* Kept alive here, so a stale pointer cannot pass for the new chart. */
  g_autoptr(LensChart) old = g_object_ref (heat);
  lens_meta_page_show_scenarios (mp, 1, -1);
  g_assert_true (lens_meta_page_get_scenario_chart (mp) != old);
  g_assert_true (lens_page_get_chart (LENS_PAGE (page)) == lens_meta_page_get_scenario_chart (mp));

  /* Minus scenario 2: the difference, A − B. */
  const guint S = msr_model_get_n_scenarios (model);
  g_assert_cmpuint (S, >=, 3);
  g_assert_true (msr_model_meta_scenario_layer (model, 2, 0, &wb, &r2, &c2, &bb, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (r2, ==, r);
  g_assert_cmpuint (c2, ==, c);
  g_autofree float *diff = g_new (float, (gsize) r * c);
  for (gsize i = 0; i < (gsize) r * c; i++)
    diff[i] = wa[i] - wb[i];
  lens_meta_page_show_scenarios (mp, 0, 2);
  heat = lens_meta_page_get_scenario_chart (mp);
  check_heatmap_floats (heat, r, c, diff);
  g_autofree char *title = g_strdup_printf ("%s − %s", msr_model_get_scenario_name (model, 0),
                                            msr_model_get_scenario_name (model, 2));
  g_assert_true (g_str_has_prefix (lens_chart_get_title (heat), title));
  check_spectrum (lens_meta_page_get_scenario_spectrum_chart (mp), diff, r, c);

  /* A scenario minus itself is not a difference: its own layer. */
  lens_meta_page_show_scenarios (mp, 2, 2);
  check_heatmap_floats (lens_meta_page_get_scenario_chart (mp), r, c, wb);

  close_window (window);
}

static void
test_meta_users (void)
{
  g_autoptr(GError) error = NULL;
  GtkWidget *page = lens_meta_page_new ();
  GtkWidget *window = msr_test_show_in_window (page);
  LensMetaPage *mp = LENS_META_PAGE (page);
  lens_page_set_session (LENS_PAGE (page), session);
  g_assert_true (iterate_until (meta_ready, mp));
  g_autoptr(MsrModel) model = load_model (model_llm);

  /* The users with a knowledge vector that the dataset has. */
  g_autoptr(MsrKnowledge) k = open_knowledge ();
  g_autoptr(MsrKnowledgeVectors) vec = msr_knowledge_get_vectors (k, MSR_KNOWLEDGE_USER, "planted", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (vec);
  const guint uf = msr_dataset_get_user_field (ds);
  g_autoptr(GHashTable) known = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < vec->n; i++)
    if (msr_dataset_lookup_code (ds, uf, vec->keys[i]) > 0)
      g_hash_table_add (known, vec->keys[i]);
  g_assert_cmpuint (g_hash_table_size (known), >=, 3);

  /* The map: one point per such user, coloured by the scenario with most
   * of the user's training rows. */
  const guint S = msr_dataset_get_n_scenarios (ds), U = msr_dataset_get_field_cardinality (ds, uf);
  g_autofree guint *counts = g_new0 (guint, (gsize) U * S);
  const gint32 *uc = msr_dataset_get_field_codes (ds, uf);
  const guint16 *sc = msr_dataset_get_scenarios (ds);
  const guint8 *sp = msr_dataset_get_splits (ds);
  for (gsize row = 0; row < msr_dataset_get_n_rows (ds); row++)
    if (sp[row] == MSR_SPLIT_TRAIN)
      counts[(gsize) uc[row] * S + sc[row]]++;
  LensChart *map = lens_meta_page_get_map_chart (mp);
  g_assert_cmpint (lens_chart_get_kind (map), ==, LENS_CHART_SCATTER_GROUPS);
  g_assert_cmpuint (lens_chart_get_n_items (map), ==, g_hash_table_size (known));
  {
    g_autoptr(GPtrArray) csv = chart_csv (map);
    const int cl = msr_test_csv_column (csv, "label"), cg = msr_test_csv_column (csv, "group");
    g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
    for (guint i = 1; i < csv->len; i++)
      {
        char **row = g_ptr_array_index (csv, i);
        g_assert_true (g_hash_table_contains (known, row[cl]));
        g_assert_true (g_hash_table_add (seen, row[cl]));
        const gint32 code = msr_dataset_lookup_code (ds, uf, row[cl]);
        int best = -1;
        guint most = 0;
        for (guint s = 0; s < S; s++)
          if (counts[(gsize) code * S + s] > most)
            most = counts[(gsize) code * S + s], best = (int) s;
        g_assert_cmpstr (row[cg], ==, best < 0 ? "" : msr_dataset_get_scenario_name (ds, best));
      }
  }

  /* The first user shown, minus the population: W_u − mean layer. */
  g_autoptr(GPtrArray) map_csv = chart_csv (map);
  const char *user = ((char **) g_ptr_array_index (map_csv, 1))[0];
  g_autofree char *other = g_strdup (((char **) g_ptr_array_index (map_csv, 2))[0]);
  g_autofree float *wu = NULL, *bu = NULL, *wm = NULL, *bm = NULL, *wv = NULL, *bv = NULL;
  guint r, c, r2, c2;
  g_assert_true (msr_model_meta_user_layer (model, user, &wu, &r, &c, &bu, &error));
  g_assert_no_error (error);
  g_assert_true (msr_model_meta_user_layer_mean (model, &wm, &r2, &c2, &bm, &error));
  g_assert_no_error (error);
  g_assert_true (r2 == r && c2 == c);
  g_autofree float *diff = g_new (float, (gsize) r * c);
  for (gsize i = 0; i < (gsize) r * c; i++)
    diff[i] = wu[i] - wm[i];
  g_test_message ("user layer: %u × %u; %u users on the map", r, c, g_hash_table_size (known));
  lens_meta_page_show_users (mp, user, NULL);
  LensChart *heat = lens_meta_page_get_user_chart (mp);
  check_heatmap_floats (heat, r, c, diff);
  g_assert_nonnull (strstr (lens_chart_get_title (heat), "the population"));
  check_spectrum (lens_meta_page_get_spectrum_chart (mp), diff, r, c);
  g_assert_null (lens_meta_page_get_message (mp));

  /* Minus another user: W_u − W_v. */
  g_assert_true (msr_model_meta_user_layer (model, other, &wv, &r2, &c2, &bv, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < (gsize) r * c; i++)
    diff[i] = wu[i] - wv[i];
  lens_meta_page_show_users (mp, user, other);
  check_heatmap_floats (lens_meta_page_get_user_chart (mp), r, c, diff);
  check_spectrum (lens_meta_page_get_spectrum_chart (mp), diff, r, c);

  /* A user the model does not know: said, not drawn. */
  lens_meta_page_show_users (mp, "no-such-user", NULL);
  const char *message = lens_meta_page_get_message (mp);
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message, "'no-such-user'"));
  lens_meta_page_show_users (mp, user, "no-such-user");
  g_assert_nonnull (strstr (lens_meta_page_get_message (mp), "'no-such-user'"));
  lens_meta_page_show_users (mp, user, NULL);
  g_assert_null (lens_meta_page_get_message (mp));
  g_assert_true (lens_meta_page_is_ready (mp));

  close_window (window);
}

/* The plain STAR has no meta layers: the page does not offer it, and a
 * project without an LLM4MSR model says so. */
static void
test_meta_without_llm4msr (void)
{
  GtkWidget *page = lens_meta_page_new ();
  GtkWidget *window = msr_test_show_in_window (page);
  LensMetaPage *mp = LENS_META_PAGE (page);
  lens_page_set_session (LENS_PAGE (page), session);
  g_assert_true (iterate_until (meta_ready, mp));
  g_assert_false (lens_meta_page_set_run (mp, run_star));
  g_assert_true (lens_meta_page_set_run (mp, run_llm));
  g_assert_true (lens_meta_page_is_ready (mp));

  lens_page_set_session (LENS_PAGE (page), star_session);
  msr_test_iterate_a_little ();
  g_assert_false (lens_meta_page_is_busy (mp));
  g_assert_false (lens_meta_page_is_ready (mp));
  g_assert_false (lens_meta_page_set_run (mp, run_star));
  const char *message = lens_meta_page_get_message (mp);
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message, "No LLM4MSR"));
  /* Nothing of the other session's model is left to show or export. */
  g_assert_null (lens_meta_page_get_scenario_chart (mp));
  g_assert_null (lens_meta_page_get_user_chart (mp));
  g_assert_null (lens_meta_page_get_map_chart (mp));
  g_assert_null (lens_page_get_chart (LENS_PAGE (page)));
  g_assert_null (lens_page_get_table (LENS_PAGE (page)));

  /* And back: the LLM4MSR model again. */
  lens_page_set_session (LENS_PAGE (page), session);
  g_assert_true (iterate_until (meta_ready, mp));
  close_window (window);
}

/* ---- Users ---------------------------------------------------------------------------- */

static gboolean
users_idle (gpointer page)
{
  return !lens_users_page_is_busy (page) && lens_users_page_get_user (page) != NULL;
}

typedef struct {
  LensUsersPage *page;
  const char    *user;
} UserWait;

static gboolean
user_shown (gpointer data)
{
  UserWait *w = data;
  return !lens_users_page_is_busy (w->page) && g_strcmp0 (lens_users_page_get_user (w->page), w->user) == 0;
}

static double
cosine (const float *a, const float *b, guint d)
{
  double ab = 0, aa = 0, bb = 0;
  for (guint j = 0; j < d; j++)
    {
      ab += (double) a[j] * b[j];
      aa += (double) a[j] * a[j];
      bb += (double) b[j] * b[j];
    }
  return ab / sqrt (aa * bb);
}

static void
test_users (void)
{
  g_autoptr(GError) error = NULL;
  GtkWidget *page = lens_users_page_new ();
  GtkWidget *window = msr_test_show_in_window (page);
  LensUsersPage *up = LENS_USERS_PAGE (page);
  lens_page_set_session (LENS_PAGE (page), session);
  /* It opens on the dataset's first user. */
  g_assert_true (iterate_until (users_idle, up));
  const guint uf = msr_dataset_get_user_field (ds);
  g_assert_cmpstr (lens_users_page_get_user (up), ==, msr_dataset_get_field_value (ds, uf, 1));

  /* The user with the most test rows (the first of them). */
  const guint S = msr_dataset_get_n_scenarios (ds), U = msr_dataset_get_field_cardinality (ds, uf);
  const gint32 *uc = msr_dataset_get_field_codes (ds, uf);
  const guint16 *sc = msr_dataset_get_scenarios (ds);
  const guint8 *sp = msr_dataset_get_splits (ds), *labels = msr_dataset_get_labels (ds);
  g_autofree guint *n_test = g_new0 (guint, U);
  for (gsize row = 0; row < msr_dataset_get_n_rows (ds); row++)
    n_test[uc[row]] += sp[row] == MSR_SPLIT_TEST;
  guint code = 1;
  for (guint u = 1; u < U; u++)
    if (n_test[u] > n_test[code])
      code = u;
  const char *user = msr_dataset_get_field_value (ds, uf, (gint32) code);
  g_test_message ("user %s: %u test rows", user, n_test[code]);
  g_assert_cmpuint (n_test[code], >=, 3);

  lens_users_page_show_user (up, user);
  UserWait w = { up, user };
  g_assert_true (iterate_until (user_shown, &w));
  g_assert_null (lens_users_page_get_message (up));

  /* The profile: the store's user-level text. */
  g_autoptr(MsrKnowledge) k = open_knowledge ();
  g_autoptr(MsrKnowledgeEntry) e = msr_knowledge_get_entry (k, MSR_KNOWLEDGE_USER, user, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (e);
  g_assert_cmpstr (lens_users_page_get_profile (up), ==, e->response);

  /* The user's AUC on the LLM4MSR run's stored test scores. */
  g_autofree char *rpath = msr_project_get_path (project, MSR_RESULTS_FILE);
  g_autoptr(MsrResults) results = msr_results_open (rpath, MSR_RESULTS_READ_ONLY, &error);
  g_assert_no_error (error);
  g_autoptr(MsrResultsPredictions) pred = msr_results_get_predictions (results, run_llm, &error);
  g_assert_no_error (error);
  g_autofree double *scores = g_new (double, pred->n);
  for (gsize i = 0; i < pred->n; i++)
    scores[i] = pred->scores[i];
  g_autofree double *aucs = msr_explain_user_aucs (ds, MSR_SPLIT_MASK (MSR_SPLIT_TEST), scores, pred->n, &error);
  g_assert_no_error (error);
  assert_same (lens_users_page_get_user_auc (up), aucs[code]);

  /* The summary line: rows (training+test) and liked share per scenario. */
  const char *facts = lens_users_page_get_facts (up);
  g_autofree char *head = g_strdup_printf ("User %s:", user);
  g_assert_true (g_str_has_prefix (facts, head));
  g_autofree guint *train = g_new0 (guint, S), *test = g_new0 (guint, S), *liked = g_new0 (guint, S);
  for (gsize row = 0; row < msr_dataset_get_n_rows (ds); row++)
    if ((guint) uc[row] == code)
      {
        (sp[row] == MSR_SPLIT_TEST ? test : train)[sc[row]]++;
        liked[sc[row]] += labels[row] != 0;
      }
  for (guint s = 0; s < S; s++)
    {
      g_autofree char *part = g_strdup_printf ("%s %u+%u (%.0f%% liked)", msr_dataset_get_scenario_name (ds, s),
                                               train[s], test[s],
                                               train[s] + test[s] ? 100.0 * liked[s] / (train[s] + test[s]) : 0);
      g_assert_true ((strstr (facts, part) != NULL) == (train[s] + test[s] > 0));
    }
  if (!isnan (aucs[code]))
    {
      g_autofree char *auc = g_strdup_printf ("AUC on the user's test rows %.3f", aucs[code]);
      g_assert_nonnull (strstr (facts, auc));
    }

  /* The Δ bars: logit with the user's layer − with the population's, for
   * the rows it moves most, in the user's row order. */
  g_autoptr(MsrModel) model = load_model (model_llm);
  gsize n = 0;
  g_autofree guint32 *rows = NULL;
  g_autofree double *with = NULL, *without = NULL;
  g_assert_true (msr_explain_user_effect (model, ds, user, MSR_SPLIT_MASK (MSR_SPLIT_TEST), &n, &rows, &with,
                                          &without, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, n_test[code]);
  g_autofree double *delta = g_new (double, n);
  g_autofree guint *order = g_new (guint, n);
  for (gsize i = 0; i < n; i++)
    {
      delta[i] = with[i] - without[i];
      order[i] = (guint) i;
    }
  /* Stable: equal |Δ| keep row order. */
  for (gsize i = 1; i < n; i++)
    for (gsize j = i; j > 0 && fabs (delta[order[j]]) > fabs (delta[order[j - 1]]); j--)
      {
        guint t = order[j];
        order[j] = order[j - 1];
        order[j - 1] = t;
      }
  LensChart *bars = lens_page_get_chart (LENS_PAGE (page));
  g_assert_nonnull (bars);
  g_assert_cmpint (lens_chart_get_kind (bars), ==, LENS_CHART_DIVERGING);
  /* However many bars the page shows, they are the rows moved most. */
  const gsize shown = lens_chart_get_n_items (bars);
  g_assert_cmpuint (shown, >, 0);
  g_assert_cmpuint (shown, <=, n);
  g_test_message ("%" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " test rows as Δ bars", shown, n);
  if (shown < n)
    {
      g_autofree char *summary = lens_chart_describe (bars);
      g_autofree char *which = g_strdup_printf ("The %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " test rows it moves "
                                                "most", shown, n);
      g_assert_nonnull (strstr (summary, which));
    }
  g_autofree gboolean *keep = g_new0 (gboolean, n);
  for (gsize i = 0; i < shown; i++)
    keep[order[i]] = TRUE;
  {
    g_autoptr(GPtrArray) csv = chart_csv (bars);
    const int cd = msr_test_csv_column (csv, "delta");
    guint at = 1;
    for (gsize i = 0; i < n; i++)
      if (keep[i])
        {
          char **row = g_ptr_array_index (csv, at++);
          g_assert_cmpfloat (msr_test_csv_number (row[cd]), ==, delta[i]);
        }
    g_assert_cmpuint (at, ==, csv->len);
  }

  /* The table: every row of the user; Δ where the row is a test row. */
  LensTable *table = lens_page_get_table (LENS_PAGE (page));
  {
    guint all = 0;
    for (guint s = 0; s < S; s++)
      all += train[s] + test[s];
    g_assert_cmpuint (lens_table_get_n_rows (table), ==, all);
    g_autofree char *text = lens_table_to_csv (table);
    g_autoptr(GPtrArray) csv = msr_test_csv_parse (text);
    const int cd = msr_test_csv_column (csv, "Δ logit");
    g_assert_cmpint (cd, >=, 0);
    g_autoptr(GHashTable) want = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    for (gsize i = 0; i < n; i++)
      g_hash_table_add (want, g_strdup_printf ("%+.3f", delta[i]));
    guint with_delta = 0;
    for (guint i = 1; i < csv->len; i++)
      {
        const char *d = ((char **) g_ptr_array_index (csv, i))[cd];
        if (d[0] == '\0')
          continue;
        g_assert_true (g_hash_table_contains (want, d));
        with_delta++;
      }
    g_assert_cmpuint (with_delta, ==, n);
  }

  /* Nearest users: cosine of the knowledge vectors, best first. */
  g_autoptr(MsrKnowledgeVectors) vec = msr_knowledge_get_vectors (k, MSR_KNOWLEDGE_USER, "planted", NULL, &error);
  g_assert_no_error (error);
  const int self_row = msr_knowledge_vectors_find (vec, user);
  g_assert_cmpint (self_row, >=, 0);
  g_autofree double *cos = g_new (double, vec->n);
  g_autofree guint *near = g_new (guint, vec->n);
  guint n_near = 0;
  for (guint i = 0; i < vec->n; i++)
    if ((int) i != self_row)
      {
        cos[i] = cosine (vec->vectors + (gsize) self_row * vec->dim, vec->vectors + (gsize) i * vec->dim, vec->dim);
        guint j = n_near++;
        for (; j > 0 && cos[near[j - 1]] < cos[i]; j--)
          near[j] = near[j - 1];
        near[j] = i;
      }
  g_auto(GStrv) nearest = lens_users_page_get_nearest (up);
  g_assert_cmpuint (g_strv_length (nearest), ==, 8);
  for (guint i = 0; i < 8; i++)
    {
      g_autofree char *want = g_strdup_printf ("%s (%.2f)", vec->keys[near[i]], cos[near[i]]);
      g_assert_cmpstr (nearest[i], ==, want);
    }

  /* An id nobody has: a message naming it, and no crash. */
  lens_users_page_show_user (up, "no-such-user");
  g_assert_true (lens_users_page_is_busy (up));
  g_assert_true (iterate_until (users_idle, up));
  const char *message = lens_users_page_get_message (up);
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message, "No user 'no-such-user'"));

  close_window (window);
}

/* ---- export ----------------------------------------------------------------------------- */

/* A table's CSV file: the header, then its rows. */
static void
check_table_export (LensTable *table, const char *stem, const char *first_column)
{
  g_autoptr(GError) error = NULL;
  g_assert_nonnull (table);
  g_autofree char *name = g_strdup_printf ("%s.csv", stem);
  g_autofree char *path = g_build_filename (tmp_root, name, NULL);
  g_assert_true (lens_table_export_csv (table, path, &error));
  g_assert_no_error (error);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  g_autoptr(GPtrArray) csv = msr_test_csv_parse (text);
  g_assert_cmpstr (((char **) g_ptr_array_index (csv, 0))[0], ==, first_column);
  g_assert_cmpuint (csv->len, ==, 1 + lens_table_get_n_rows (table));
  g_unlink (path);
}

static void
test_correlations_export (void)
{
  GtkWidget *page = lens_correlations_page_new ();
  GtkWidget *window = msr_test_show_in_window (page);
  lens_page_set_session (LENS_PAGE (page), session);
  g_assert_true (iterate_until (correlations_ready, page));
  /* Every matrix's chart; the Export button takes the one clicked. */
  GPtrArray *views = lens_correlations_page_get_views (LENS_CORRELATIONS_PAGE (page));
  g_assert_true (lens_page_get_chart (LENS_PAGE (page)) == lens_chart_view_get_chart (views->pdata[0]));
  for (guint i = 0; i < views->len; i++)
    {
      g_autofree char *stem = g_strdup_printf ("correlations-%u", i);
      msr_test_check_chart_exports (lens_chart_view_get_chart (views->pdata[i]), tmp_root, stem, 2000);
    }
  check_table_export (lens_page_get_table (LENS_PAGE (page)), "correlations", "Matrix");
  close_window (window);
}

static void
test_meta_export (void)
{
  GtkWidget *page = lens_meta_page_new ();
  GtkWidget *window = msr_test_show_in_window (page);
  LensMetaPage *mp = LENS_META_PAGE (page);
  lens_page_set_session (LENS_PAGE (page), session);
  g_assert_true (iterate_until (meta_ready, mp));
  /* The layers, their spectra and the map; the page has no table. */
  g_assert_true (lens_page_get_chart (LENS_PAGE (page)) == lens_meta_page_get_user_chart (mp));
  msr_test_check_chart_exports (lens_meta_page_get_scenario_chart (mp), tmp_root, "meta-scenario", 2000);
  msr_test_check_chart_exports (lens_meta_page_get_scenario_spectrum_chart (mp), tmp_root, "meta-scenario-spectrum", 2000);
  msr_test_check_chart_exports (lens_meta_page_get_user_chart (mp), tmp_root, "meta-user", 2000);
  msr_test_check_chart_exports (lens_meta_page_get_spectrum_chart (mp), tmp_root, "meta-user-spectrum", 2000);
  msr_test_check_chart_exports (lens_meta_page_get_map_chart (mp), tmp_root, "meta-map", 2000);
  g_assert_null (lens_page_get_table (LENS_PAGE (page)));
  close_window (window);
}

static void
test_users_export (void)
{
  GtkWidget *page = lens_users_page_new ();
  GtkWidget *window = msr_test_show_in_window (page);
  lens_page_set_session (LENS_PAGE (page), session);
  g_assert_true (iterate_until (users_idle, page));
  /* The Δ bars and the user's rows. */
  msr_test_check_chart_exports (lens_page_get_chart (LENS_PAGE (page)), tmp_root, "users", 2000);
  check_table_export (lens_page_get_table (LENS_PAGE (page)), "users", "Scenario");
  close_window (window);
}

/* ---- main --------------------------------------------------------------------------------- */

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;

  int status = msr_test_gtk_check_display ();
  if (status >= 0)
    return status;
  msr_test_gtk_setenv ();

  tmp_root = g_dir_make_tmp ("msrlens-llm-pages-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *xdg = g_build_filename (tmp_root, "xdg", NULL);
  g_setenv ("XDG_DATA_HOME", xdg, TRUE);
  g_setenv ("XDG_CONFIG_HOME", xdg, TRUE);
  g_setenv ("XDG_CACHE_HOME", xdg, TRUE);
  g_setenv ("XDG_STATE_HOME", xdg, TRUE);

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  const gint64 start = g_get_monotonic_time ();
  build_fixture ();
  g_print ("# fixture: %.1f s\n", (g_get_monotonic_time () - start) / 1e6);

  g_test_add_func ("/page/correlations/matrices", test_correlations);
  g_test_add_func ("/page/correlations/export", test_correlations_export);
  g_test_add_func ("/page/meta/scenario-layers", test_meta_scenarios);
  g_test_add_func ("/page/meta/user-layers", test_meta_users);
  g_test_add_func ("/page/meta/without-llm4msr", test_meta_without_llm4msr);
  g_test_add_func ("/page/meta/export", test_meta_export);
  g_test_add_func ("/page/users/user", test_users);
  g_test_add_func ("/page/users/export", test_users_export);

  int ret = g_test_run ();

  g_clear_object (&session);
  g_clear_object (&star_session);
  g_clear_pointer (&ds, msr_dataset_free);
  g_clear_pointer (&project, msr_project_free);
  msr_test_rm_rf (tmp_root);
  g_free (tmp_root);
  g_free (project_dir);
  g_free (model_llm);
  g_free (model_star);
  return ret;
}

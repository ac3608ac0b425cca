/* test-results.c: the results store. Values are checked against what was
 * put in (bit for bit) and against the database itself, read with our own
 * SQL through sqlite3; hostile files must fail with the file's name. */
#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "msr-results.h"
#include "test-util.h"

/* ---------------------------------------------------------------------- */
/* Fixtures                                                               */

#define N_ROWS 3000
#define N_SCEN 4
#define N_USERS 40

static const char * const scen_names[N_SCEN + 1] = {
  "s0 plain", "s1 \xc3\xbcnicode", "s2 quote's \"x\"", "s3 no positives", NULL
};

typedef struct {
  char          *dir;
  char          *path;
  double         scores[N_ROWS];
  guint8         labels[N_ROWS];
  guint32        scen[N_ROWS];
  guint32        user[N_ROWS];
  MsrEvalResult *result;
  MsrComparison *ci;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrEvalAcc) acc = msr_eval_acc_new (TRUE);
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240501);
  char *user_names[N_USERS];
  MsrBootstrapOptions opts;

  f->dir = g_dir_make_tmp ("msr-results-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, MSR_RESULTS_FILE, NULL);

  for (guint s = 0; s < N_SCEN; s++)
    g_assert_cmpuint (msr_eval_acc_intern_scenario (acc, scen_names[s]), ==, s);
  for (guint u = 0; u < N_USERS; u++)
    {
      user_names[u] = g_strdup_printf ("user-%u", u);
      g_assert_cmpuint (msr_eval_acc_intern_user (acc, user_names[u]), ==, u);
    }
  for (guint i = 0; i < N_ROWS; i++)
    {
      /* Scores rounded to float32 (as stored predictions are); ties occur. */
      double s = (float) (g_rand_int_range (rand, 0, 1000) / 999.0);

      f->scores[i] = s;
      f->scen[i] = i % N_SCEN;
      f->user[i] = g_rand_int_range (rand, 0, N_USERS);
      f->labels[i] = f->scen[i] == 3 ? 0 : g_rand_double (rand) < 0.2 + 0.6 * s;
      g_assert_true (msr_eval_acc_add (acc, s, f->labels[i], f->scen[i], f->user[i]));
    }
  for (guint u = 0; u < N_USERS; u++)
    g_free (user_names[u]);
  f->result = msr_eval_acc_finish (acc);

  msr_bootstrap_options_init (&opts);
  opts.replicates = 40;
  opts.seed = G_GUINT64_CONSTANT (0xF00DF00DF00DF00D);  /* does not fit a signed int64 */
  opts.level = 0.9;
  opts.threads = 1;
  f->ci = msr_compare_paired (f->scores, NULL, f->labels, f->scen, scen_names, N_SCEN, f->user,
                              N_ROWS, &opts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  msr_test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->path);
  msr_eval_result_free (f->result);
  msr_comparison_free (f->ci);
}

static MsrRunInfo
full_info (void)
{
  MsrRunInfo info = { 0 };

  info.created_at = "2024-05-01T14:34:56.789+02:00";
  info.name = "STAR + LLM, seed 7";
  info.kind = "eval";
  info.model_path = "models/star-llm.safetensors";
  info.model_sha256 = "ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789";
  info.architecture = "star";
  info.config_json = "{\"hidden\": [256, 128], \"lr\": 0.001}";
  info.dataset_fingerprint = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  info.split = "test";
  info.has_seed = TRUE;
  info.seed = G_GUINT64_CONSTANT (0xFFFFFFFFFFFFFFF0);
  info.threads = 2;
  info.engine_version = "0.1.0-test";
  info.notes = "first line\nsecond line";
  return info;
}

static MsrRunInfo
small_info (const char *name,
            const char *created_at)
{
  MsrRunInfo info = { 0 };

  info.kind = "eval";
  info.name = (char *) name;
  info.created_at = (char *) created_at;
  return info;
}

/* ---------------------------------------------------------------------- */
/* Our own SQL on the file                                                */

static sqlite3 *
raw_open (const char *path)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), ==, SQLITE_OK);
  return db;
}

static gint64
raw_int (sqlite3    *db,
         const char *sql)
{
  sqlite3_stmt *st = NULL;
  gint64 v;

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    g_error ("%s: %s", sql, sqlite3_errmsg (db));
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  v = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return v;
}

static char *
raw_text (sqlite3    *db,
          const char *sql)
{
  sqlite3_stmt *st = NULL;
  char *v;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  v = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_finalize (st);
  return v;
}

static void
raw_exec (sqlite3    *db,
          const char *sql)
{
  char *msg = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK)
    g_error ("%s: %s", sql, msg);
}

static gint64
count_rows (const char *path,
            const char *table)
{
  sqlite3 *db = raw_open (path);
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM %s", table);
  gint64 n = raw_int (db, sql);

  sqlite3_close (db);
  return n;
}

static const char * const all_tables[] = {
  "runs", "run_metrics", "epochs", "epoch_scenarios", "predictions", "prediction_names", NULL
};

/* Row counts of every table, as a string for easy comparison. */
static char *
table_counts (const char *path)
{
  GString *s = g_string_new (NULL);

  for (guint t = 0; all_tables[t]; t++)
    g_string_append_printf (s, "%s=%" G_GINT64_FORMAT " ", all_tables[t],
                            count_rows (path, all_tables[t]));
  return g_string_free (s, FALSE);
}

/* ---------------------------------------------------------------------- */
/* Comparisons                                                            */

static gboolean
same_double (double a,
             double b)
{
  return (isnan (a) && isnan (b)) || memcmp (&a, &b, sizeof a) == 0;
}

#define assert_same_double(a, b)                                                         \
  G_STMT_START {                                                                         \
    double _a = (a), _b = (b);                                                           \
    if (!same_double (_a, _b))                                                           \
      g_error ("%s (%.17g) and %s (%.17g) differ", #a, _a, #b, _b);                      \
  } G_STMT_END

static void
assert_same_metrics (const MsrMetrics *got,
                     const MsrMetrics *want)
{
  g_assert_cmpuint (got->n, ==, want->n);
  g_assert_cmpuint (got->positives, ==, want->positives);
  assert_same_double (got->auc, want->auc);
  g_assert_cmpint (got->auc_defined, ==, want->auc_defined);
  assert_same_double (got->logloss, want->logloss);
  g_assert_cmpint (got->logloss_defined, ==, want->logloss_defined);
  assert_same_double (got->gauc, want->gauc);
  assert_same_double (got->gauc_click, want->gauc_click);
  g_assert_cmpint (got->gauc_defined, ==, want->gauc_defined);
  g_assert_cmpuint (got->gauc_users_kept, ==, want->gauc_users_kept);
  g_assert_cmpuint (got->gauc_users, ==, want->gauc_users);
  g_assert_cmpuint (got->gauc_rows_kept, ==, want->gauc_rows_kept);
  g_assert_cmpuint (got->gauc_rows, ==, want->gauc_rows);
  g_assert_cmpuint (got->auc_scenarios, ==, want->auc_scenarios);
  g_assert_cmpuint (got->logloss_scenarios, ==, want->logloss_scenarios);
  g_assert_cmpuint (got->gauc_scenarios, ==, want->gauc_scenarios);
}

static void
assert_same_interval (const MsrInterval *got,
                      const MsrInterval *want)
{
  assert_same_double (got->lo, want->lo);
  assert_same_double (got->hi, want->hi);
  g_assert_cmpuint (got->n_defined, ==, want->n_defined);
}

static void
assert_error_names_file (GError     *error,
                         const char *path)
{
  g_assert_nonnull (error);
  if (strstr (error->message, path) == NULL)
    g_error ("the error does not name %s: %s", path, error->message);
  g_test_message ("expected error: %s", error->message);
}

static gint64
add_full_run (Fixture     *f,
              MsrResults  *store)
{
  g_autoptr(GError) error = NULL;
  MsrRunInfo info = full_info ();
  gint64 id = msr_results_add_run (store, &info, f->result, f->ci, &error);

  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

/* ---------------------------------------------------------------------- */
/* Round trip                                                             */

static void
test_round_trip_run (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrResults) store = msr_results_open (f->path, MSR_RESULTS_READ_WRITE, &error);
  g_autoptr(MsrRunInfo) run = NULL;
  g_autoptr(MsrResultsMetrics) m = NULL;
  MsrRunInfo want = full_info ();
  const MsrEvalResult *res = f->result;
  gint64 id;
  sqlite3 *db;

  g_assert_no_error (error);
  g_assert_cmpstr (msr_results_get_created_by (store), ==, "MSR Lens " MSR_VERSION);
  /* The fixture must exercise NaN: scenario 3 has no positives. */
  g_assert_false (res->scenarios[3].auc_defined);
  g_assert_true (res->scenarios[0].gauc_defined);

  id = add_full_run (f, store);
  run = msr_results_get_run (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (run->id, ==, id);
  /* 14:34:56.789+02:00 in UTC */
  g_assert_cmpstr (run->created_at, ==, "2024-05-01T12:34:56.789Z");
  g_assert_cmpstr (run->name, ==, want.name);
  g_assert_cmpstr (run->kind, ==, want.kind);
  g_assert_cmpstr (run->model_path, ==, want.model_path);
  g_assert_cmpstr (run->model_sha256, ==,
                   "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  g_assert_cmpstr (run->architecture, ==, want.architecture);
  g_assert_cmpstr (run->config_json, ==, want.config_json);
  g_assert_cmpstr (run->dataset_fingerprint, ==, want.dataset_fingerprint);
  g_assert_cmpstr (run->split, ==, want.split);
  g_assert_true (run->has_seed);
  g_assert_cmphex (run->seed, ==, want.seed);
  g_assert_cmpuint (run->threads, ==, 2);
  g_assert_cmpstr (run->engine_version, ==, want.engine_version);
  g_assert_cmpstr (run->notes, ==, want.notes);
  g_assert_true (run->has_metrics);
  g_assert_false (run->has_predictions);
  g_assert_cmpuint (run->n_epochs, ==, 0);

  m = msr_results_get_metrics (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m->run_id, ==, id);
  g_assert_true (m->has_users);
  assert_same_double (m->logloss_epsilon, res->logloss_epsilon);
  g_assert_cmpuint (m->n_scopes, ==, 1 + N_SCEN + 2);
  g_assert_cmpint (m->scopes[0].scope, ==, MSR_RESULTS_SCOPE_OVERALL);
  g_assert_null (m->scopes[0].scenario);
  assert_same_metrics (&m->scopes[0].metrics, &res->overall);
  g_assert_true (m->scopes[0].has_ci);
  assert_same_interval (&m->scopes[0].ci_auc, &f->ci->overall.ci_auc_a);
  assert_same_interval (&m->scopes[0].ci_gauc, &f->ci->overall.ci_gauc_a);
  for (guint s = 0; s < N_SCEN; s++)
    {
      const MsrResultsScopeMetrics *sm = &m->scopes[1 + s];

      g_assert_cmpint (sm->scope, ==, MSR_RESULTS_SCOPE_SCENARIO);
      g_assert_cmpstr (sm->scenario, ==, scen_names[s]);
      g_assert_true (sm == msr_results_metrics_find (m, MSR_RESULTS_SCOPE_SCENARIO,
                                                     scen_names[s]));
      assert_same_metrics (&sm->metrics, &res->scenarios[s]);
      g_assert_true (sm->has_ci);
      g_assert_cmpstr (f->ci->scenarios[s].name, ==, scen_names[s]);
      assert_same_interval (&sm->ci_auc, &f->ci->scenarios[s].ci_auc_a);
      assert_same_interval (&sm->ci_gauc, &f->ci->scenarios[s].ci_gauc_a);
      g_assert_cmpuint (sm->ci_replicates, ==, 40);
      g_assert_cmphex (sm->ci_seed, ==, G_GUINT64_CONSTANT (0xF00DF00DF00DF00D));
      assert_same_double (sm->ci_level, 0.9);
    }
  g_assert_true (isnan (m->scopes[1 + 3].metrics.auc));
  g_assert_true (isnan (m->scopes[1 + 3].ci_auc.lo));
  g_assert_cmpint (m->scopes[N_SCEN + 1].scope, ==, MSR_RESULTS_SCOPE_MACRO);
  assert_same_metrics (&m->scopes[N_SCEN + 1].metrics, &res->macro);
  g_assert_false (m->scopes[N_SCEN + 1].has_ci);
  g_assert_cmpint (m->scopes[N_SCEN + 2].scope, ==, MSR_RESULTS_SCOPE_WEIGHTED);
  assert_same_metrics (&m->scopes[N_SCEN + 2].metrics, &res->weighted);
  g_assert_true (msr_results_metrics_find (m, MSR_RESULTS_SCOPE_WEIGHTED, NULL)
                 == &m->scopes[N_SCEN + 2]);
  g_assert_null (msr_results_metrics_find (m, MSR_RESULTS_SCOPE_SCENARIO, "nope"));

  /* The file itself: NaN is SQL NULL, numbers are REAL, the header is ours. */
  db = raw_open (f->path);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM run_metrics WHERE scenario = "
                                "'s3 no positives' AND auc IS NULL AND auc_lo IS NULL "
                                "AND gauc IS NULL AND logloss IS NOT NULL"), ==, 1);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM run_metrics WHERE typeof(auc) = 'real'"),
                   ==, 1 + 3 + 2);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM run_metrics WHERE ci_level IS NULL"), ==,
                   2);
  g_assert_cmpint (raw_int (db, "PRAGMA user_version"), ==, MSR_RESULTS_SCHEMA_VERSION);
  g_assert_cmpint (raw_int (db, "PRAGMA application_id"), ==, MSR_RESULTS_APPLICATION_ID);
  g_assert_cmpint (raw_int (db, "SELECT n FROM run_metrics WHERE scope = 'overall'"), ==,
                   N_ROWS);
  sqlite3_close (db);

  /* A run without metrics. */
  {
    MsrRunInfo t = small_info (NULL, NULL);
    g_autoptr(MsrRunInfo) got = NULL;
    g_autoptr(MsrResultsMetrics) none = NULL;
    gint64 tid;

    t.kind = "train";
    tid = msr_results_add_run (store, &t, NULL, NULL, &error);
    g_assert_no_error (error);
    got = msr_results_get_run (store, tid, &error);
    g_assert_no_error (error);
    g_assert_false (got->has_metrics);
    g_assert_false (got->has_seed);
    g_assert_cmpuint (got->threads, ==, 0);
    g_assert_null (got->model_path);
    g_assert_cmpstr (got->engine_version, ==, MSR_VERSION);
    g_assert_true (g_str_has_prefix (got->name, "train "));
    none = msr_results_get_metrics (store, tid, &error);
    g_assert_null (none);
    g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
    g_clear_error (&error);
  }
  /* Default names say which model, then which backbone. */
  {
    MsrRunInfo t = small_info (NULL, NULL);
    const char *expect[] = { "star-seed42 eval", "mmoe eval" };

    t.model_path = "/models/star-seed42.safetensors";
    for (guint k = 0; k < G_N_ELEMENTS (expect); k++)
      {
        g_autoptr(MsrRunInfo) got = NULL;
        gint64 id;

        if (k == 1)
          t.model_path = NULL, t.architecture = "mmoe";
        id = msr_results_add_run (store, &t, NULL, NULL, &error);
        g_assert_no_error (error);
        got = msr_results_get_run (store, id, &error);
        g_assert_no_error (error);
        g_assert_cmpstr (got->name, ==, expect[k]);
        g_assert_true (msr_results_delete_run (store, id, &error));
        g_assert_no_error (error);
      }
  }
  /* Impossible arguments. */
  {
    MsrRunInfo bad = full_info ();

    bad.model_sha256 = "abc";
    g_assert_cmpint (msr_results_add_run (store, &bad, NULL, NULL, &error), ==, 0);
    g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
    g_clear_error (&error);
    bad = full_info ();
    bad.config_json = "[1, 2]";
    g_assert_cmpint (msr_results_add_run (store, &bad, NULL, NULL, &error), ==, 0);
    g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
    g_clear_error (&error);
    bad = full_info ();
    bad.created_at = "yesterday";
    g_assert_cmpint (msr_results_add_run (store, &bad, NULL, NULL, &error), ==, 0);
    g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
    g_clear_error (&error);
    bad = full_info ();
    bad.kind = NULL;
    g_assert_cmpint (msr_results_add_run (store, &bad, NULL, NULL, &error), ==, 0);
    g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
    g_clear_error (&error);
    bad = full_info ();
    bad.notes = "\xff\xfe not UTF-8";
    g_assert_cmpint (msr_results_add_run (store, &bad, NULL, NULL, &error), ==, 0);
    g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_null (msr_results_get_run (store, 9999, &error));
    g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
    assert_error_names_file (error, f->path);
    g_clear_error (&error);
  }
  g_assert_cmpint (count_rows (f->path, "runs"), ==, 2);
}

static void
test_round_trip_epochs (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrResults) store = msr_results_open (f->path, MSR_RESULTS_READ_WRITE, &error);
  g_autoptr(GPtrArray) got = NULL;
  MsrRunInfo info = small_info ("training", NULL);
  char *names[3] = { "Family", "Drama/Documentary", "Comedy/Romance" };
  double auc[3][3] = { { 0.61, NAN, 0.7 }, { 0.62, 0.5, 0.71 }, { 0.1 / 3, 1.0 / 3, -0.0 } };
  double ll[3] = { 0.69, 0.68, 0.67 };
  MsrResultsEpoch ep[3];
  g_autofree char *before = NULL, *after = NULL;
  gint64 id;

  g_assert_no_error (error);
  info.kind = "train";
  id = msr_results_add_run (store, &info, NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint e = 0; e < 3; e++)
    {
      ep[e] = (MsrResultsEpoch) { 0 };
      ep[e].epoch = e;
      ep[e].train_loss = 0.7 - e * 0.01 + 1e-17 * e;
      ep[e].valid_auc = e == 0 ? NAN : 0.6 + e / 7.0;
      ep[e].valid_logloss = 0.65 / (e + 1);
      ep[e].valid_gauc = NAN;
      ep[e].seconds = 1.25 * e;
      ep[e].n_scenarios = 3;
      ep[e].scenario_names = names;
      ep[e].scenario_auc = auc[e];
      ep[e].scenario_logloss = e == 1 ? NULL : ll;
    }
  /* One epoch per call, as training reports them, then the rest at once. */
  g_assert_true (msr_results_add_epochs (store, id, &ep[0], 1, &error));
  g_assert_no_error (error);
  g_assert_true (msr_results_add_epochs (store, id, &ep[1], 2, &error));
  g_assert_no_error (error);

  got = msr_results_get_epochs (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (got->len, ==, 3);
  for (guint e = 0; e < 3; e++)
    {
      MsrResultsEpoch *g = got->pdata[e];

      g_assert_cmpuint (g->epoch, ==, e);
      assert_same_double (g->train_loss, ep[e].train_loss);
      assert_same_double (g->valid_auc, ep[e].valid_auc);
      assert_same_double (g->valid_logloss, ep[e].valid_logloss);
      assert_same_double (g->valid_gauc, ep[e].valid_gauc);
      assert_same_double (g->seconds, ep[e].seconds);
      g_assert_cmpuint (g->n_scenarios, ==, 3);
      for (guint s = 0; s < 3; s++)
        {
          g_assert_cmpstr (g->scenario_names[s], ==, names[s]);
          /* -0.0 comes back as +0.0 (SQLite stores integral reals as integers). */
          if (auc[e][s] == 0)
            g_assert_cmpfloat (g->scenario_auc[s], ==, 0.0);
          else
            assert_same_double (g->scenario_auc[s], auc[e][s]);
          assert_same_double (g->scenario_logloss[s], e == 1 ? NAN : ll[s]);
        }
    }
  {
    g_autoptr(MsrRunInfo) run = msr_results_get_run (store, id, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (run->n_epochs, ==, 3);
  }

  /* A repeated epoch number fails midway (epoch 3 stored, then 2 again):
   * nothing of the call remains. */
  before = table_counts (f->path);
  ep[0].epoch = 3;
  ep[1].epoch = 2;
  g_assert_false (msr_results_add_epochs (store, id, ep, 2, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  assert_error_names_file (error, f->path);
  g_assert_nonnull (strstr (error->message, "already has epoch 2"));
  g_clear_error (&error);
  /* A scenario named twice in one epoch. */
  ep[0].epoch = 4;
  names[2] = names[0];
  g_assert_false (msr_results_add_epochs (store, id, ep, 1, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_clear_error (&error);
  after = table_counts (f->path);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpint (count_rows (f->path, "epochs"), ==, 3);
  g_assert_cmpint (count_rows (f->path, "epoch_scenarios"), ==, 9);

  /* Unknown run. */
  g_assert_false (msr_results_add_epochs (store, id + 100, ep, 1, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_clear_error (&error);
  ep[0].seconds = -1;
  g_assert_false (msr_results_add_epochs (store, id, ep, 1, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_clear_error (&error);
  {
    g_autoptr(GPtrArray) none = NULL;
    MsrRunInfo other = small_info ("no epochs", NULL);
    gint64 id2 = msr_results_add_run (store, &other, NULL, NULL, &error);

    g_assert_no_error (error);
    none = msr_results_get_epochs (store, id2, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (none->len, ==, 0);
  }
}

static GStatBuf
stat_of (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st;
}

static void
test_round_trip_predictions (Fixture       *f,
                             gconstpointer  data)
{
  enum { N = 20000, USERS = 943, SCEN = 5 };
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrResults) store = msr_results_open (f->path, MSR_RESULTS_READ_WRITE, &error);
  g_autoptr(MsrResultsPredictions) got = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  g_autofree float *scores = g_new (float, N);
  g_autofree guint8 *labels = g_new (guint8, N);
  g_autofree guint32 *scen = g_new (guint32, N);
  g_autofree guint32 *users = g_new (guint32, N);
  g_autoptr(GPtrArray) user_names = g_ptr_array_new_with_free_func (g_free);
  const char *snames[SCEN] = { "Family", "Action", "Thriller", "Comedy", "Drama" };
  MsrResultsCodes sc = { scen, snames, SCEN }, uc = { users, NULL, USERS };
  MsrRunInfo info = small_info ("with predictions", NULL);
  gint64 id, id2, size0, size1;

  g_assert_no_error (error);
  for (guint u = 0; u < USERS; u++)
    g_ptr_array_add (user_names, g_strdup_printf ("%u", u + 1));
  uc.names = (const char * const *) user_names->pdata;
  for (guint i = 0; i < N; i++)
    {
      scores[i] = (float) g_rand_double (rand);
      labels[i] = g_rand_boolean (rand) ? 1 : 0;
      scen[i] = g_rand_int_range (rand, 0, SCEN);
      users[i] = g_rand_int_range (rand, 0, USERS);
    }
  scores[0] = 0.0f;
  scores[1] = 1.0f;
  scores[2] = 1e-30f;
  labels[3] = 7;  /* non-zero = positive, stored as 1 */

  id = msr_results_add_run (store, &info, NULL, NULL, &error);
  g_assert_no_error (error);
  id2 = msr_results_add_run (store, &info, NULL, NULL, &error);
  g_assert_no_error (error);

  size0 = stat_of (f->path).st_size;
  g_assert_true (msr_results_add_predictions (store, id, scores, N, labels, &sc, &uc, &error));
  g_assert_no_error (error);
  size1 = stat_of (f->path).st_size;
  g_test_message ("predictions with labels, 5 scenarios, 943 users: %" G_GINT64_FORMAT
                  " bytes for %d rows = %.2f bytes per row", size1 - size0, N,
                  (double) (size1 - size0) / N);
  /* 4 (score) + 1 (label) + 1 (scenario) + 2 (user) bytes, pages and names. */
  g_assert_cmpfloat ((double) (size1 - size0) / N, <, 10.0);

  got = msr_results_get_predictions (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (got->run_id, ==, id);
  g_assert_cmpuint (got->n, ==, N);
  g_assert_cmpmem (got->scores, N * sizeof (float), scores, N * sizeof (float));
  labels[3] = 1;
  g_assert_cmpmem (got->labels, N, labels, N);
  g_assert_cmpmem (got->scenarios, N * 4, scen, N * 4);
  g_assert_cmpmem (got->users, N * 4, users, N * 4);
  g_assert_cmpuint (g_strv_length (got->scenario_names), ==, SCEN);
  for (guint s = 0; s < SCEN; s++)
    g_assert_cmpstr (got->scenario_names[s], ==, snames[s]);
  g_assert_cmpuint (g_strv_length (got->user_names), ==, USERS);
  g_assert_cmpstr (got->user_names[942], ==, "943");

  /* The stored bytes are little-endian float32 (checked with our own SQL). */
  {
    sqlite3 *db = raw_open (f->path);
    g_autofree char *sql = g_strdup_printf ("SELECT hex(substr(scores, 5, 4)) || '/' || "
                                            "length(scores) || '/' || length(users) || '/' || "
                                            "scenario_width FROM predictions WHERE run_id = %"
                                            G_GINT64_FORMAT, id);
    g_autofree char *hex = raw_text (db, sql);

    /* 1.0f = 0x3f800000 -> bytes 00 00 80 3F */
    g_assert_cmpstr (hex, ==, "0000803F/80000/40000/1");
    sqlite3_close (db);
  }
  {
    g_autoptr(MsrRunInfo) run = msr_results_get_run (store, id, &error);
    g_assert_no_error (error);
    g_assert_true (run->has_predictions);
  }

  /* Scores only, and an empty set. */
  {
    g_autoptr(MsrResultsPredictions) only = NULL;
    g_autoptr(MsrResultsPredictions) empty = NULL;
    MsrRunInfo i3 = small_info ("empty", NULL);
    gint64 id3;

    g_assert_true (msr_results_add_predictions (store, id2, scores, 100, NULL, NULL, NULL,
                                                &error));
    g_assert_no_error (error);
    only = msr_results_get_predictions (store, id2, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (only->n, ==, 100);
    g_assert_cmpmem (only->scores, 400, scores, 400);
    g_assert_null (only->labels);
    g_assert_null (only->scenarios);
    g_assert_null (only->scenario_names);
    g_assert_null (only->users);
    id3 = msr_results_add_run (store, &i3, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (msr_results_add_predictions (store, id3, NULL, 0, NULL, NULL, NULL, &error));
    g_assert_no_error (error);
    empty = msr_results_get_predictions (store, id3, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (empty->n, ==, 0);
  }

  /* Refused: a second set, a bad score, a code without a name, no run. */
  {
    g_autofree char *before = table_counts (f->path);
    g_autofree char *after = NULL;
    MsrRunInfo i4 = small_info ("refused", NULL);
    gint64 id4 = msr_results_add_run (store, &i4, NULL, NULL, &error);

    g_assert_no_error (error);
    g_free (before);
    before = table_counts (f->path);
    g_assert_false (msr_results_add_predictions (store, id, scores, N, NULL, NULL, NULL, &error));
    g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "already has predictions"));
    g_clear_error (&error);
    scores[17] = NAN;
    g_assert_false (msr_results_add_predictions (store, id4, scores, N, NULL, NULL, NULL, &error));
    g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "row 17"));
    g_clear_error (&error);
    scores[17] = 1.5f;
    g_assert_false (msr_results_add_predictions (store, id4, scores, N, NULL, NULL, NULL, &error));
    g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
    g_clear_error (&error);
    scores[17] = 0.5f;
    scen[5] = SCEN;
    g_assert_false (msr_results_add_predictions (store, id4, scores, N, NULL, &sc, NULL, &error));
    g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "row 5"));
    g_clear_error (&error);
    g_assert_false (msr_results_add_predictions (store, 12345, scores, 10, NULL, NULL, NULL,
                                                 &error));
    g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_null (msr_results_get_predictions (store, id4, &error));
    g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
    g_clear_error (&error);
    after = table_counts (f->path);
    g_assert_cmpstr (before, ==, after);
  }
}

/* ---------------------------------------------------------------------- */
/* Listing, deleting, renaming                                            */

static void
test_list_order (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrResults) store = msr_results_open (f->path, MSR_RESULTS_READ_WRITE, &error);
  g_autoptr(GPtrArray) runs = NULL;
  /* created_at, in insertion order; ids will be 1..5. */
  const char *when[] = {
    "2024-01-02T00:00:00Z",        /* 1 */
    "2023-12-31T23:00:00-02:00",   /* 2: 2024-01-01T01:00Z */
    "2024-01-02T00:00:00Z",        /* 3: ties with 1, newer id first */
    NULL,                          /* 4: now: the newest */
    "2024-01-01T00:59:59.999Z",    /* 5: just before 2 */
  };
  const gint64 want[] = { 4, 3, 1, 2, 5 };
  gint64 ids[G_N_ELEMENTS (when)];

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (when); i++)
    {
      g_autofree char *name = g_strdup_printf ("run %u", i + 1);
      MsrRunInfo info = small_info (name, when[i]);

      ids[i] = msr_results_add_run (store, &info, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (ids[i], ==, i + 1);
    }
  runs = msr_results_list_runs (store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (runs->len, ==, G_N_ELEMENTS (want));
  for (guint i = 0; i < runs->len; i++)
    {
      MsrRunInfo *r = runs->pdata[i];
      g_autofree char *name = g_strdup_printf ("run %" G_GINT64_FORMAT, want[i]);

      g_assert_cmpint (r->id, ==, want[i]);
      g_assert_cmpstr (r->name, ==, name);
    }
  g_assert_cmpstr (((MsrRunInfo *) runs->pdata[4])->created_at, ==, "2024-01-01T00:59:59.999Z");
  g_assert_cmpstr (((MsrRunInfo *) runs->pdata[3])->created_at, ==, "2024-01-01T01:00:00.000Z");
}

static void
test_delete_cascade (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrResults) store = msr_results_open (f->path, MSR_RESULTS_READ_WRITE, &error);
  float scores[4] = { 0.1f, 0.9f, 0.4f, 0.6f };
  guint32 codes[4] = { 0, 1, 1, 0 };
  const char *names[2] = { "a", "b" };
  MsrResultsCodes sc = { codes, names, 2 };
  char *enames[1] = { "a" };
  double eauc[1] = { 0.5 };
  MsrResultsEpoch ep = { .epoch = 0, .train_loss = 0.5, .n_scenarios = 1,
                         .scenario_names = enames, .scenario_auc = eauc };
  gint64 ids[3];
  sqlite3 *db;

  g_assert_no_error (error);
  for (guint i = 0; i < 3; i++)
    {
      ids[i] = add_full_run (f, store);
      g_assert_true (msr_results_add_epochs (store, ids[i], &ep, 1, &error));
      g_assert_no_error (error);
      g_assert_true (msr_results_add_predictions (store, ids[i], scores, 4, NULL, &sc, &sc,
                                                  &error));
      g_assert_no_error (error);
    }
  g_assert_true (msr_results_delete_run (store, ids[1], &error));
  g_assert_no_error (error);

  db = raw_open (f->path);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM runs"), ==, 2);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM runs WHERE id = 2"), ==, 0);
  /* No orphans anywhere, and the other runs keep everything. */
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM run_metrics WHERE run_id NOT IN "
                                "(SELECT id FROM runs)"), ==, 0);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM epochs WHERE run_id NOT IN "
                                "(SELECT id FROM runs)"), ==, 0);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM epoch_scenarios WHERE run_id NOT IN "
                                "(SELECT id FROM runs)"), ==, 0);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM predictions WHERE run_id NOT IN "
                                "(SELECT id FROM runs)"), ==, 0);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM prediction_names WHERE run_id NOT IN "
                                "(SELECT id FROM runs)"), ==, 0);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM run_metrics"), ==, 2 * (1 + N_SCEN + 2));
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM epochs"), ==, 2);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM epoch_scenarios"), ==, 2);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM predictions"), ==, 2);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM prediction_names"), ==, 2 * 4);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM pragma_foreign_key_check"), ==, 0);
  sqlite3_close (db);

  /* Gone for the API too; ids are never reused. */
  g_assert_null (msr_results_get_run (store, ids[1], &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (msr_results_delete_run (store, ids[1], &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (msr_results_delete_run (store, ids[2], &error));
  g_assert_no_error (error);
  {
    MsrRunInfo info = small_info ("after", NULL);
    gint64 id = msr_results_add_run (store, &info, NULL, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpint (id, ==, 4);
  }
}

static void
test_rename_and_injection (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrResults) store = msr_results_open (f->path, MSR_RESULTS_READ_WRITE, &error);
  const char *evil = "x'); DROP TABLE runs; --";
  const char *evil2 = "\"; DELETE FROM run_metrics; SELECT \"";
  g_autoptr(MsrRunInfo) got = NULL;
  MsrRunInfo info = full_info ();
  gint64 id, id2;
  sqlite3 *db;

  g_assert_no_error (error);
  info.name = (char *) evil;
  info.notes = "'; UPDATE runs SET name = 'pwned'; --";
  id = msr_results_add_run (store, &info, f->result, NULL, &error);
  g_assert_no_error (error);
  info = small_info ("plain", NULL);
  id2 = msr_results_add_run (store, &info, NULL, NULL, &error);
  g_assert_no_error (error);

  got = msr_results_get_run (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got->name, ==, evil);
  g_assert_cmpstr (got->notes, ==, "'; UPDATE runs SET name = 'pwned'; --");
  g_clear_pointer (&got, msr_results_run_info_free);

  g_assert_true (msr_results_rename_run (store, id2, evil2, &error));
  g_assert_no_error (error);
  got = msr_results_get_run (store, id2, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got->name, ==, evil2);
  g_clear_pointer (&got, msr_results_run_info_free);

  g_assert_true (msr_results_rename_run (store, id, "Ablation \xe2\x80\x94 no LLM", &error));
  g_assert_no_error (error);
  got = msr_results_get_run (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got->name, ==, "Ablation \xe2\x80\x94 no LLM");
  g_assert_cmpstr (got->kind, ==, "eval");

  g_assert_false (msr_results_rename_run (store, id, "", &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (msr_results_rename_run (store, 777, "x", &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  assert_error_names_file (error, f->path);
  g_clear_error (&error);

  /* Every table is still there, with everything in it. */
  db = raw_open (f->path);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM runs"), ==, 2);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM run_metrics"), ==, 1 + N_SCEN + 2);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM runs WHERE name = 'pwned'"), ==, 0);
  sqlite3_close (db);
}

/* ---------------------------------------------------------------------- */
/* Read-only mode and failed writes                                       */

static char *
dir_listing (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  const char *name;

  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, (gpointer) name);
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (",", (char **) names->pdata);
}

static void
test_read_only (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *bytes_before = NULL, *bytes_after = NULL, *listing = NULL, *listing2 = NULL;
  gsize len_before, len_after;
  GStatBuf st_before, st_after;
  float scores[3] = { 0.2f, 0.4f, 0.6f };
  gint64 id;

  /* A missing file is "no results yet", and stays missing. */
  {
    MsrResults *none = msr_results_open (f->path, MSR_RESULTS_READ_ONLY, &error);

    g_assert_null (none);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
    assert_error_names_file (error, f->path);
    g_assert_nonnull (strstr (error->message, "no results yet"));
    g_clear_error (&error);
    g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
    listing = dir_listing (f->dir);
    g_assert_cmpstr (listing, ==, "");
    g_clear_pointer (&listing, g_free);
  }

  {
    g_autoptr(MsrResults) rw = msr_results_open (f->path, MSR_RESULTS_READ_WRITE, &error);

    g_assert_no_error (error);
    id = add_full_run (f, rw);
    g_assert_true (msr_results_add_predictions (rw, id, scores, 3, NULL, NULL, NULL, &error));
    g_assert_no_error (error);
  }
  g_assert_true (g_file_get_contents (f->path, &bytes_before, &len_before, NULL));
  st_before = stat_of (f->path);
  listing = dir_listing (f->dir);
  g_assert_cmpstr (listing, ==, MSR_RESULTS_FILE);
  /* Make a later write distinguishable by mtime even on coarse clocks. */
  g_usleep (20000);

  {
    g_autoptr(MsrResults) ro = msr_results_open (f->path, MSR_RESULTS_READ_ONLY, &error);
    g_autoptr(GPtrArray) runs = NULL;
    g_autoptr(MsrResultsMetrics) m = NULL;
    g_autoptr(MsrResultsPredictions) p = NULL;
    g_autoptr(GPtrArray) eps = NULL;
    MsrRunInfo info = small_info ("nope", NULL);
    MsrResultsEpoch ep = { .epoch = 0 };
    g_autofree char *counts = table_counts (f->path);

    g_assert_no_error (error);
    runs = msr_results_list_runs (ro, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (runs->len, ==, 1);
    m = msr_results_get_metrics (ro, id, &error);
    g_assert_no_error (error);
    assert_same_metrics (&m->scopes[0].metrics, &f->result->overall);
    p = msr_results_get_predictions (ro, id, &error);
    g_assert_no_error (error);
    g_assert_cmpmem (p->scores, sizeof scores, scores, sizeof scores);
    eps = msr_results_get_epochs (ro, id, &error);
    g_assert_no_error (error);
    g_assert_true (msr_results_check (ro, &error));
    g_assert_no_error (error);

    /* Every write is refused, naming the file. */
    g_assert_cmpint (msr_results_add_run (ro, &info, NULL, NULL, &error), ==, 0);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_READ_ONLY);
    assert_error_names_file (error, f->path);
    g_clear_error (&error);
    g_assert_false (msr_results_rename_run (ro, id, "x", &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_READ_ONLY);
    g_clear_error (&error);
    g_assert_false (msr_results_delete_run (ro, id, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_READ_ONLY);
    g_clear_error (&error);
    g_assert_false (msr_results_add_epochs (ro, id, &ep, 1, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_READ_ONLY);
    g_clear_error (&error);
    g_assert_false (msr_results_add_predictions (ro, id, scores, 3, NULL, NULL, NULL, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_READ_ONLY);
    g_clear_error (&error);
    {
      g_autofree char *counts_after = table_counts (f->path);
      g_assert_cmpstr (counts, ==, counts_after);
    }
  }

  g_assert_true (g_file_get_contents (f->path, &bytes_after, &len_after, NULL));
  st_after = stat_of (f->path);
  g_assert_cmpmem (bytes_before, len_before, bytes_after, len_after);
  g_assert_cmpint (st_before.st_mtime, ==, st_after.st_mtime);
#ifdef __linux__
  g_assert_cmpint (st_before.st_mtim.tv_nsec, ==, st_after.st_mtim.tv_nsec);
#endif
  listing2 = dir_listing (f->dir);
  g_assert_cmpstr (listing, ==, listing2);
}

static void
test_failed_add_rolls_back (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrResults) store = msr_results_open (f->path, MSR_RESULTS_READ_WRITE, &error);
  g_autofree char *before = NULL, *after = NULL;
  MsrRunInfo info = full_info ();
  MsrEvalResult forged;
  char *names[N_SCEN + 1];

  g_assert_no_error (error);
  add_full_run (f, store);
  before = table_counts (f->path);

  /* Scenario names repeated: the unique index fails on the third metrics
   * row, after the run and two metrics rows were written. */
  forged = *f->result;
  for (guint s = 0; s < N_SCEN; s++)
    names[s] = f->result->scenario_names[s];
  names[N_SCEN] = NULL;
  names[1] = names[0];
  forged.scenario_names = names;
  g_assert_cmpint (msr_results_add_run (store, &info, &forged, NULL, &error), ==, 0);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  assert_error_names_file (error, f->path);
  g_clear_error (&error);
  after = table_counts (f->path);
  g_assert_cmpstr (before, ==, after);
  g_clear_pointer (&after, g_free);

  /* Intervals from other rows (the first half): found midway, after the
   * run and the overall row went in. */
  {
    g_autoptr(MsrComparison) half = NULL;
    MsrBootstrapOptions opts;

    msr_bootstrap_options_init (&opts);
    opts.replicates = 10;
    opts.threads = 1;
    half = msr_compare_paired (f->scores, NULL, f->labels, f->scen, scen_names, N_SCEN, NULL,
                               N_ROWS / 2, &opts, NULL, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (msr_results_add_run (store, &info, f->result, half, &error), ==, 0);
    g_assert_error (error, MSR_ERROR, MSR_ERROR_MISMATCH);
    assert_error_names_file (error, f->path);
    g_clear_error (&error);
    after = table_counts (f->path);
    g_assert_cmpstr (before, ==, after);
    g_clear_pointer (&after, g_free);
  }

  /* Paired comparisons are not run intervals. */
  {
    g_autoptr(MsrComparison) paired = NULL;
    MsrBootstrapOptions opts;

    msr_bootstrap_options_init (&opts);
    opts.replicates = 5;
    opts.threads = 1;
    paired = msr_compare_paired (f->scores, f->scores, f->labels, NULL, NULL, 0, NULL, N_ROWS,
                                 &opts, NULL, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (msr_results_add_run (store, &info, f->result, paired, &error), ==, 0);
    g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
    g_clear_error (&error);
  }

  /* Another connection holds the write lock: the add waits out the busy
   * timeout, then fails cleanly. */
  {
    sqlite3 *db = raw_open (f->path);

    raw_exec (db, "BEGIN EXCLUSIVE");
    g_assert_cmpint (msr_results_add_run (store, &info, f->result, f->ci, &error), ==, 0);
    g_assert_error (error, MSR_ERROR, MSR_ERROR_IO);
    assert_error_names_file (error, f->path);
    g_assert_nonnull (strstr (error->message, "locked"));
    g_clear_error (&error);
    raw_exec (db, "ROLLBACK");
    sqlite3_close (db);
  }
  after = table_counts (f->path);
  g_assert_cmpstr (before, ==, after);

  /* The handle still works afterwards. */
  add_full_run (f, store);
  g_assert_cmpint (count_rows (f->path, "runs"), ==, 2);
}

/* ---------------------------------------------------------------------- */
/* Hostile files                                                          */

static void
write_file (const char *path,
            const void *data,
            gsize       len)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, data, len, &error));
  g_assert_no_error (error);
}

/* Both modes fail with an error naming the file, and leave it as it was. */
static void
assert_refused (const char *path,
                int         code)
{
  g_autofree char *before = NULL, *after = NULL;
  gsize len_before, len_after;

  g_assert_true (g_file_get_contents (path, &before, &len_before, NULL));
  for (int mode = MSR_RESULTS_READ_ONLY; mode <= MSR_RESULTS_READ_WRITE; mode++)
    {
      g_autoptr(GError) error = NULL;
      MsrResults *r = msr_results_open (path, mode, &error);

      g_assert_null (r);
      if (code >= 0)
        g_assert_error (error, MSR_ERROR, code);
      assert_error_names_file (error, path);
    }
  g_assert_true (g_file_get_contents (path, &after, &len_after, NULL));
  g_assert_cmpmem (before, len_before, after, len_after);
}

/* A real store with a few runs and predictions (several pages). */
static void
make_store (Fixture    *f,
            const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrResults) store = msr_results_open (path, MSR_RESULTS_READ_WRITE, &error);
  float scores[N_ROWS];

  g_assert_no_error (error);
  for (guint i = 0; i < N_ROWS; i++)
    scores[i] = (float) f->scores[i];
  for (guint r = 0; r < 3; r++)
    {
      MsrRunInfo info = full_info ();
      gint64 id = msr_results_add_run (store, &info, f->result, f->ci, &error);

      g_assert_no_error (error);
      g_assert_true (msr_results_add_predictions (store, id, scores, N_ROWS, f->labels, NULL,
                                                  NULL, &error));
      g_assert_no_error (error);
    }
}

static void
test_hostile_files (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *good = g_build_filename (f->dir, "good.sqlite", NULL);
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  gsize len;

  make_store (f, good);
  g_assert_true (g_file_get_contents (good, &contents, &len, NULL));
  g_assert_cmpuint (len, >, 8 * 4096);

  /* Random bytes. */
  {
    g_autoptr(GRand) rand = g_rand_new_with_seed (3);
    guint32 junk[4096];

    for (guint i = 0; i < G_N_ELEMENTS (junk); i++)
      junk[i] = g_rand_int (rand);
    path = g_build_filename (f->dir, "random.sqlite", NULL);
    write_file (path, junk, sizeof junk);
    assert_refused (path, MSR_ERROR_PARSE);
    g_clear_pointer (&path, g_free);
    /* A text file that happens to be short. */
    path = g_build_filename (f->dir, "text.sqlite", NULL);
    write_file (path, "hello\n", 6);
    assert_refused (path, -1);
    g_clear_pointer (&path, g_free);
  }

  /* Truncated copies of a real store: half of it, and part of its header. */
  {
    gsize cuts[] = { len / 2, 4096 + 100, 100 };

    for (guint c = 0; c < G_N_ELEMENTS (cuts); c++)
      {
        path = g_strdup_printf ("%s/truncated-%u.sqlite", f->dir, c);
        write_file (path, contents, cuts[c]);
        assert_refused (path, -1);
        g_clear_pointer (&path, g_free);
      }
  }

  /* Another SQLite database, with a table named runs of another shape. */
  {
    sqlite3 *db;

    path = g_build_filename (f->dir, "other.sqlite", NULL);
    db = raw_open (path);
    raw_exec (db, "CREATE TABLE runs (id INTEGER, name BLOB, score TEXT);"
                  "INSERT INTO runs VALUES (1, x'00ff', 'high')");
    sqlite3_close (db);
    assert_refused (path, MSR_ERROR_SCHEMA);
    g_clear_pointer (&path, g_free);
  }

  /* Our header but a runs table of the wrong shape (and nothing else). */
  {
    sqlite3 *db;

    path = g_build_filename (f->dir, "shape.sqlite", NULL);
    db = raw_open (path);
    raw_exec (db, "PRAGMA application_id = 1297306194; PRAGMA user_version = 1;"
                  "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);"
                  "INSERT INTO meta VALUES ('schema_version', '1');"
                  "CREATE TABLE runs (id INTEGER PRIMARY KEY, name BLOB)");
    sqlite3_close (db);
    assert_refused (path, MSR_ERROR_SCHEMA);
    {
      MsrResults *r = msr_results_open (path, MSR_RESULTS_READ_ONLY, &error);

      g_assert_null (r);
      g_assert_nonnull (strstr (error->message, "table 'runs' has no column 'created_at'"));
      g_clear_error (&error);
    }
    g_clear_pointer (&path, g_free);
  }

  /* A real store, edited: a table missing, a column missing, a column too
   * many, a column of the wrong type; user_version 99 and 0. */
  {
    const char *edits[] = {
      "DROP TABLE epoch_scenarios",
      "ALTER TABLE runs DROP COLUMN notes",
      "ALTER TABLE epochs ADD COLUMN extra TEXT",
      "DROP TABLE prediction_names; CREATE TABLE prediction_names (run_id INTEGER NOT NULL, "
      "field TEXT NOT NULL, code TEXT NOT NULL, name TEXT NOT NULL, "
      "PRIMARY KEY (run_id, field, code))",
      "PRAGMA user_version = 99",
      "PRAGMA user_version = 0",
      "DELETE FROM meta WHERE key = 'schema_version'",
      "PRAGMA application_id = 42",
    };
    const char *expect[] = {
      "table 'epoch_scenarios' is missing", "has no column 'notes'",
      "unexpected column 'extra'", "column 'code' of table 'prediction_names' has type 'TEXT'",
      "newer MSR Lens (results schema version 99", "unknown results schema version 0",
      "no schema_version", "not an MSR Lens results store",
    };

    for (guint e = 0; e < G_N_ELEMENTS (edits); e++)
      {
        sqlite3 *db;

        path = g_strdup_printf ("%s/edited-%u.sqlite", f->dir, e);
        write_file (path, contents, len);
        db = raw_open (path);
        raw_exec (db, "PRAGMA foreign_keys = OFF");
        raw_exec (db, edits[e]);
        sqlite3_close (db);
        for (int mode = MSR_RESULTS_READ_ONLY; mode <= MSR_RESULTS_READ_WRITE; mode++)
          {
            MsrResults *r = msr_results_open (path, mode, &error);

            g_assert_null (r);
            g_assert_error (error, MSR_ERROR, MSR_ERROR_SCHEMA);
            assert_error_names_file (error, path);
            if (strstr (error->message, expect[e]) == NULL)
              g_error ("edit %u: expected '%s' in: %s", e, expect[e], error->message);
            g_clear_error (&error);
          }
        g_clear_pointer (&path, g_free);
      }
  }

  /* Right shape, wrong values: a non-STRICT copy of runs holding text in
   * seed; predictions whose sizes disagree (checks bypassed); a damaged
   * b-tree page. The store opens; reading the bad part fails. */
  {
    sqlite3 *db;
    g_autoptr(MsrResults) r = NULL;
    g_autoptr(GPtrArray) runs = NULL;
    g_autoptr(MsrResultsPredictions) p = NULL;
    g_autoptr(MsrResultsMetrics) m = NULL;

    path = g_build_filename (f->dir, "values.sqlite", NULL);
    write_file (path, contents, len);
    db = raw_open (path);
    raw_exec (db, "PRAGMA foreign_keys = OFF; PRAGMA ignore_check_constraints = ON;"
                  "CREATE TABLE runs2 (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                  "created_at TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, "
                  "model_path TEXT, model_sha256 TEXT, architecture TEXT, config_json TEXT, "
                  "dataset_fingerprint TEXT, split TEXT, seed INTEGER, threads INTEGER, "
                  "engine_version TEXT NOT NULL, notes TEXT, has_users INTEGER, "
                  "logloss_epsilon REAL);"
                  "INSERT INTO runs2 SELECT * FROM runs; DROP TABLE runs;"
                  "ALTER TABLE runs2 RENAME TO runs;"
                  "UPDATE runs SET seed = 'abc' WHERE id = 2;"
                  "UPDATE predictions SET n = n + 1 WHERE run_id = 1;"
                  "UPDATE predictions SET labels = randomblob(length(labels)) "
                  "WHERE run_id = 3");
    sqlite3_close (db);

    r = msr_results_open (path, MSR_RESULTS_READ_ONLY, &error);
    g_assert_no_error (error);
    runs = msr_results_list_runs (r, &error);
    g_assert_null (runs);
    g_assert_error (error, MSR_ERROR, MSR_ERROR_PARSE);
    assert_error_names_file (error, path);
    g_assert_nonnull (strstr (error->message, "'seed' holds text"));
    g_clear_error (&error);
    p = msr_results_get_predictions (r, 1, &error);
    g_assert_null (p);
    g_assert_error (error, MSR_ERROR, MSR_ERROR_PARSE);
    assert_error_names_file (error, path);
    g_clear_error (&error);
    p = msr_results_get_predictions (r, 3, &error);
    g_assert_null (p);
    g_assert_error (error, MSR_ERROR, MSR_ERROR_PARSE);
    g_assert_nonnull (strstr (error->message, "not 0 or 1"));
    g_clear_error (&error);
    m = msr_results_get_metrics (r, 1, &error);
    g_assert_no_error (error);
    g_clear_pointer (&path, g_free);
  }
  {
    sqlite3 *db;
    g_autoptr(MsrResults) r = NULL;
    g_autoptr(MsrResultsMetrics) m = NULL;
    g_autofree char *damaged = g_memdup2 (contents, len);
    gint64 root, page_size;

    path = g_build_filename (f->dir, "damaged.sqlite", NULL);
    db = raw_open (good);
    root = raw_int (db, "SELECT rootpage FROM sqlite_schema WHERE name = 'run_metrics'");
    page_size = raw_int (db, "PRAGMA page_size");
    sqlite3_close (db);
    /* An impossible b-tree page type byte. */
    damaged[(root - 1) * page_size] = 0x42;
    write_file (path, damaged, len);
    r = msr_results_open (path, MSR_RESULTS_READ_ONLY, &error);
    g_assert_no_error (error);
    g_assert_false (msr_results_check (r, &error));
    g_assert_error (error, MSR_ERROR, MSR_ERROR_PARSE);
    assert_error_names_file (error, path);
    g_clear_error (&error);
    m = msr_results_get_metrics (r, 1, &error);
    g_assert_null (m);
    g_assert_error (error, MSR_ERROR, MSR_ERROR_PARSE);
    assert_error_names_file (error, path);
    g_clear_error (&error);
    g_clear_pointer (&path, g_free);
  }

  /* A folder, and an empty database in read-only mode. */
  {
    MsrResults *r = msr_results_open (f->dir, MSR_RESULTS_READ_WRITE, &error);

    g_assert_null (r);
    assert_error_names_file (error, f->dir);
    g_clear_error (&error);
    path = g_build_filename (f->dir, "empty.sqlite", NULL);
    write_file (path, "", 0);
    r = msr_results_open (path, MSR_RESULTS_READ_ONLY, &error);
    g_assert_null (r);
    g_assert_error (error, MSR_ERROR, MSR_ERROR_SCHEMA);
    assert_error_names_file (error, path);
    g_clear_error (&error);
    g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
    /* Read-write makes it a store. */
    r = msr_results_open (path, MSR_RESULTS_READ_WRITE, &error);
    g_assert_no_error (error);
    msr_results_close (r);
    r = msr_results_open (path, MSR_RESULTS_READ_ONLY, &error);
    g_assert_no_error (error);
    msr_results_close (r);
  }
  /* The original is still fine. */
  {
    g_autoptr(MsrResults) r = msr_results_open (good, MSR_RESULTS_READ_WRITE, &error);

    g_assert_no_error (error);
    g_assert_true (msr_results_check (r, &error));
    g_assert_no_error (error);
  }
}

/* A name that SQLite would take for a URI is a plain file name. */
static void
test_uri_like_name (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *cwd = g_get_current_dir ();
  g_autoptr(MsrResults) r = NULL;

  g_assert_cmpint (g_chdir (f->dir), ==, 0);
  r = msr_results_open ("file:results.sqlite?mode=memory", MSR_RESULTS_READ_WRITE, &error);
  g_assert_no_error (error);
  g_clear_pointer (&r, msr_results_close);
  g_assert_true (g_file_test ("file:results.sqlite?mode=memory", G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (g_chdir (cwd), ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, fn) g_test_add ("/results/" name, Fixture, NULL, fixture_setup, fn, \
                                  fixture_teardown)
  ADD ("round-trip/run", test_round_trip_run);
  ADD ("round-trip/epochs", test_round_trip_epochs);
  ADD ("round-trip/predictions", test_round_trip_predictions);
  ADD ("list-order", test_list_order);
  ADD ("delete-cascade", test_delete_cascade);
  ADD ("rename-and-injection", test_rename_and_injection);
  ADD ("read-only", test_read_only);
  ADD ("failed-add-rolls-back", test_failed_add_rolls_back);
  ADD ("hostile-files", test_hostile_files);
  ADD ("uri-like-name", test_uri_like_name);
#undef ADD
  return g_test_run ();
}

/* Simulated worlds: reproducibility, the written project, recovery of the
 * planted structure (behavioural correlation, difficulty, a trained model),
 * the Mantel test against brute force, and hostile input. */
#include "config.h"
#include "test-util.h"
#include "msr-simulate.h"
#include "msr-correlation.h"
#include "msr-project.h"
#include "msr-train.h"
#include "msr-rng.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

/* ---- independent reference computations --------------------------------- */

static double
ref_pearson (const double *x, const double *y, guint n)
{
  double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
  for (guint i = 0; i < n; i++)
    mx += x[i], my += y[i];
  mx /= n;
  my /= n;
  for (guint i = 0; i < n; i++)
    {
      sxx += (x[i] - mx) * (x[i] - mx);
      syy += (y[i] - my) * (y[i] - my);
      sxy += (x[i] - mx) * (y[i] - my);
    }
  return sxy / sqrt (sxx * syy);
}

/* Mid-ranks by counting: rank = 1 + #{smaller} + (#{equal} - 1) / 2. */
static void
ref_ranks (const double *x, guint n, double *out)
{
  for (guint i = 0; i < n; i++)
    {
      double less = 0, equal = 0;
      for (guint j = 0; j < n; j++)
        {
          less += x[j] < x[i];
          equal += x[j] == x[i];
        }
      out[i] = 1 + less + (equal - 1) / 2;
    }
}

static double
ref_spearman (const double *x, const double *y, guint n)
{
  double rx[64], ry[64];
  g_assert_cmpuint (n, <=, 64);
  ref_ranks (x, n, rx);
  ref_ranks (y, n, ry);
  return ref_pearson (rx, ry, n);
}

/* AUC by comparing every positive with every negative. */
static double
ref_auc (const double *score, const guint8 *label, gsize n)
{
  double wins = 0, pairs = 0;
  for (gsize i = 0; i < n; i++)
    if (label[i])
      for (gsize j = 0; j < n; j++)
        if (!label[j])
          {
            wins += score[i] > score[j] ? 1.0 : score[i] == score[j] ? 0.5 : 0.0;
            pairs++;
          }
  return wins / pairs;
}

/* Correlation of the upper triangles of a (permuted by perm) and b. */
static double
ref_upper (const double *a, const double *b, guint n, const guint *perm, gboolean spearman, guint *pairs)
{
  double x[64], y[64];
  guint k = 0;
  for (guint i = 0; i < n; i++)
    for (guint j = i + 1; j < n; j++)
      {
        double va = a[perm[i] * n + perm[j]], vb = b[i * n + j];
        if (isnan (va) || isnan (vb))
          continue;
        x[k] = va;
        y[k] = vb;
        k++;
      }
  if (pairs)
    *pairs = k;
  if (k < 3)
    return NAN;
  return spearman ? ref_spearman (x, y, k) : ref_pearson (x, y, k);
}

/* Exact permutation distribution by enumerating all n! permutations
 * (lexicographic next-permutation): the share with r_perm ≥ r. */
static double
ref_exact_p (const double *a, const double *b, guint n, gboolean spearman, double r)
{
  guint perm[8];
  for (guint i = 0; i < n; i++)
    perm[i] = i;
  double reached = 0, total = 0;
  for (;;)
    {
      double rp = ref_upper (a, b, n, perm, spearman, NULL);
      reached += !isnan (rp) && rp >= r - 1e-12;
      total++;
      int i = (int) n - 2;
      while (i >= 0 && perm[i] >= perm[i + 1])
        i--;
      if (i < 0)
        break;
      int j = (int) n - 1;
      while (perm[j] <= perm[i])
        j--;
      guint t = perm[i]; perm[i] = perm[j]; perm[j] = t;
      for (int lo = i + 1, hi = (int) n - 1; lo < hi; lo++, hi--)
        t = perm[lo], perm[lo] = perm[hi], perm[hi] = t;
    }
  return reached / total;
}

static void
random_symmetric (MsrRng *rng, guint n, double *m)
{
  for (guint i = 0; i < n; i++)
    {
      m[i * n + i] = 1;
      for (guint j = i + 1; j < n; j++)
        m[i * n + j] = m[j * n + i] = 2 * msr_rng_uniform (rng) - 1;
    }
}

/* ---- the default world, generated once ----------------------------------- */

static char *world_dir;
static double world_seconds;

static const char *
default_world (void)
{
  if (world_dir == NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *tmp = g_dir_make_tmp ("msr-sim-XXXXXX", &error);
      g_assert_no_error (error);
      world_dir = g_build_filename (tmp, "world", NULL);
      MsrSimOptions o;
      msr_sim_options_init (&o);
      gint64 t0 = g_get_monotonic_time ();
      g_assert_true (msr_sim_write_project (world_dir, &o, NULL, NULL, NULL, &error));
      g_assert_no_error (error);
      world_seconds = (g_get_monotonic_time () - t0) / 1e6;
    }
  return world_dir;
}

static MsrDataset *
load_world (const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) p = msr_project_open (dir, &error);
  g_assert_no_error (error);
  MsrDataset *ds = msr_project_load_dataset (p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  return ds;
}

static char *
read_file (const char *dir, const char *name, gsize *len)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  char *data = NULL;
  g_autoptr(GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &data, len, &error));
  g_assert_no_error (error);
  return data;
}

static guint
count_entries (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;
  while (d && g_dir_read_name (d))
    n++;
  return n;
}

/* ---- options ------------------------------------------------------------- */

static void
test_options (void)
{
  for (guint n = 1; n <= MSR_SIM_MAX_SCENARIOS; n++)
    {
      MsrSimOptions o;
      g_autoptr(GError) error = NULL;
      msr_sim_options_init_for (&o, n);
      g_assert_cmpuint (o.n_scenarios, ==, n);
      g_assert_true (msr_sim_options_validate (&o, &error));
      g_assert_no_error (error);
    }

  MsrSimOptions o;
  msr_sim_options_init (&o);
  g_assert_cmpuint (o.seed, ==, 2024);
  g_assert_cmpuint (o.n_users, ==, 800);
  g_assert_cmpuint (o.n_rows, ==, 80000);
  g_assert_cmpuint (o.latent_dim, ==, 8);
  g_assert_cmpstr (msr_sim_options_get_name (&o, 0), ==, "Books");
  g_assert_cmpstr (msr_sim_options_get_name (&o, 4), ==, "News");
  /* The planted block structure of the brief. */
  g_assert_cmpfloat (o.correlation[0][1], ==, 0.8);
  g_assert_cmpfloat (o.correlation[2][3], ==, 0.6);
  g_assert_cmpfloat (o.correlation[0][2], ==, 0.3);
  g_assert_cmpfloat (o.correlation[4][0], ==, 0.1);

  /* Not positive definite: three scenarios pairwise strongly
   * anti-correlated cannot exist (eigenvalue 1 - 2·0.9 < 0). */
  g_autoptr(GError) error = NULL;
  MsrSimOptions bad = o;
  for (guint i = 0; i < 3; i++)
    for (guint j = 0; j < 3; j++)
      if (i != j)
        bad.correlation[i][j] = -0.9;
  g_assert_false (msr_sim_options_validate (&bad, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "not positive definite"));
  g_test_message ("refused: %s", error->message);
  g_clear_error (&error);

  /* Valid entries that are still jointly impossible: 0.9, 0.9, -0.9. */
  bad = o;
  bad.correlation[0][1] = bad.correlation[1][0] = 0.9;
  bad.correlation[0][2] = bad.correlation[2][0] = 0.9;
  bad.correlation[1][2] = bad.correlation[2][1] = -0.9;
  g_assert_false (msr_sim_options_validate (&bad, &error));
  g_assert_nonnull (strstr (error->message, "not positive definite"));
  g_clear_error (&error);

  bad = o;
  bad.correlation[0][1] = 0.5;   /* [1][0] stays 0.8 */
  g_assert_false (msr_sim_options_validate (&bad, &error));
  g_assert_nonnull (strstr (error->message, "symmetric"));
  g_clear_error (&error);

  bad = o;
  bad.correlation[3][3] = 0.9;
  g_assert_false (msr_sim_options_validate (&bad, &error));
  g_assert_nonnull (strstr (error->message, "diagonal"));
  g_clear_error (&error);

  bad = o;
  bad.base_rate[2] = 1.0;
  g_assert_false (msr_sim_options_validate (&bad, &error));
  g_assert_nonnull (strstr (error->message, "base_rate"));
  g_clear_error (&error);

  bad = o;
  bad.alpha[1] = NAN;
  g_assert_false (msr_sim_options_validate (&bad, &error));
  g_assert_nonnull (strstr (error->message, "alpha"));
  g_clear_error (&error);

  bad = o;
  bad.n_rows = 100;
  g_assert_false (msr_sim_options_validate (&bad, &error));
  g_assert_nonnull (strstr (error->message, "n_rows"));
  g_clear_error (&error);

  bad = o;
  bad.n_scenarios = 17;
  g_assert_false (msr_sim_options_validate (&bad, &error));
  g_clear_error (&error);

  bad = o;
  bad.names[3] = "Books";
  g_assert_false (msr_sim_options_validate (&bad, &error));
  g_assert_nonnull (strstr (error->message, "also the name"));
  g_clear_error (&error);

  bad = o;
  bad.names[1] = "Mu\nsic";
  g_assert_false (msr_sim_options_validate (&bad, &error));
  g_clear_error (&error);

  /* Writing with an invalid matrix fails and leaves no folder behind. */
  g_autofree char *tmp = g_dir_make_tmp ("msr-sim-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (tmp, "a", "b", NULL);
  bad = o;
  bad.correlation[0][1] = bad.correlation[1][0] = 0.9;
  bad.correlation[0][2] = bad.correlation[2][0] = 0.9;
  bad.correlation[1][2] = bad.correlation[2][1] = -0.9;
  g_assert_false (msr_sim_write_project (dir, &bad, NULL, NULL, NULL, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_assert_cmpuint (count_entries (tmp), ==, 0);
  msr_test_rm_rf (tmp);
}

/* ---- reproducibility ----------------------------------------------------- */

/* interactions.csv of the defaults with n_rows 30,000 and n_users 400. */
#define GOLDEN_SHA256 "1c79dedbecdb5962161df599136d6e109960c82f65faec423f2390550fec2320"

static void
test_reproducible (void)
{
  static const char *const files[] = { MSR_SIM_DATA_FILE, MSR_SIM_TRUTH_FILE, MSR_PROJECT_FILE };
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("msr-sim-XXXXXX", &error);
  g_autofree char *a = g_build_filename (tmp, "w", NULL);
  g_autofree char *b = g_build_filename (tmp, "w2", NULL);
  MsrSimOptions o;
  msr_sim_options_init (&o);
  o.n_rows = 30000;
  o.n_users = 400;

  gsize len[3];
  char *first[3];
  g_assert_true (msr_sim_write_project (a, &o, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 3; i++)
    first[i] = read_file (a, files[i], &len[i]);
  /* Same seed, same folder: every file byte-identical. */
  msr_test_rm_rf (a);
  g_assert_true (msr_sim_write_project (a, &o, NULL, NULL, NULL, &error));
  for (guint i = 0; i < 3; i++)
    {
      gsize n;
      g_autofree char *again = read_file (a, files[i], &n);
      g_assert_cmpmem (again, n, first[i], len[i]);
    }
  /* Same seed elsewhere: the data and the truth are identical, and the
   * description differs only by the project's name. */
  g_assert_true (msr_sim_write_project (b, &o, NULL, NULL, NULL, &error));
  for (guint i = 0; i < 2; i++)
    {
      gsize n;
      g_autofree char *other = read_file (b, files[i], &n);
      g_assert_cmpmem (other, n, first[i], len[i]);
    }
  gsize n;
  g_autofree char *desc = read_file (b, MSR_PROJECT_FILE, &n);
  g_autofree char *renamed = g_strdup (desc);
  char *at = strstr (renamed, "name=w2\n");
  g_assert_nonnull (at);
  memmove (at + 6, at + 7, strlen (at + 7) + 1);
  g_assert_cmpstr (renamed, ==, first[2]);

  /* Another seed: different rows. */
  g_autofree char *c = g_build_filename (tmp, "w3", NULL);
  o.seed = 7;
  g_assert_true (msr_sim_write_project (c, &o, NULL, NULL, NULL, &error));
  g_autofree char *other = read_file (c, MSR_SIM_DATA_FILE, &n);
  g_assert_true (n != len[0] || memcmp (other, first[0], n) != 0);
  g_autofree char *other_truth = read_file (c, MSR_SIM_TRUTH_FILE, &n);
  g_assert_true (n != len[1] || memcmp (other_truth, first[1], n) != 0);

  g_test_message ("30,000 rows: %s %" G_GSIZE_FORMAT " bytes, %s %" G_GSIZE_FORMAT " bytes",
                  files[0], len[0], files[1], len[1]);
  /* The same bytes on every platform: a known digest of this world. If
   * the generator is changed on purpose, bump MSR_SIM_GENERATOR_VERSION
   * and record the new digest here. */
  g_autofree char *digest = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) first[0], len[0]);
  g_test_message ("%s SHA-256 %s", files[0], digest);
  g_assert_cmpstr (digest, ==, GOLDEN_SHA256);
  for (guint i = 0; i < 3; i++)
    g_free (first[i]);
  msr_test_rm_rf (tmp);
}

/* ---- the written project ------------------------------------------------- */

static void
test_project (void)
{
  const char *dir = default_world ();
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) p = msr_project_open (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (msr_project_get_dataset_kind (p), ==, MSR_DATASET_KIND_CSV);
  g_assert_cmpint (msr_project_get_split (p)->method, ==, MSR_SPLIT_METHOD_RANDOM);
  g_assert_cmpuint (msr_project_get_split (p)->seed, ==, 2024);
  g_assert_true (msr_sim_project_is_simulated (dir));

  g_autoptr(MsrDataset) ds = load_world (dir);
  MsrSimOptions o;
  msr_sim_options_init (&o);
  const gsize N = msr_dataset_get_n_rows (ds);
  const guint S = msr_dataset_get_n_scenarios (ds);
  g_assert_cmpuint (N, ==, 80000);
  g_assert_cmpuint (S, ==, 5);
  g_assert_cmpuint (msr_dataset_get_n_dropped (ds), ==, 0);
  g_assert_cmpint (msr_dataset_find_field (ds, "user_segment"), >=, 0);
  g_assert_cmpint (msr_dataset_find_field (ds, "item_genre"), >=, 0);
  g_assert_cmpuint (msr_dataset_get_field_cardinality (ds, msr_dataset_get_user_field (ds)), <=, 801);

  g_autoptr(MsrSimTruth) t = msr_sim_truth_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (t->n_scenarios, ==, S);
  g_assert_cmpuint (t->seed, ==, 2024);
  g_assert_cmpuint (t->generator_version, ==, MSR_SIM_GENERATOR_VERSION);
  g_assert_cmpuint (t->n_rows, ==, N);
  g_assert_cmpuint (t->n_users, ==, 800);
  g_assert_cmpuint (t->latent_dim, ==, 8);

  /* Counts straight from the rows. */
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  const guint8 *labels = msr_dataset_get_labels (ds);
  const guint8 *splits = msr_dataset_get_splits (ds);
  const gint64 *ts = msr_dataset_get_timestamps (ds);
  g_assert_nonnull (ts);
  guint64 rows[5] = { 0 }, pos[5] = { 0 }, test[5] = { 0 }, total_pos = 0;
  for (gsize r = 0; r < N; r++)
    {
      rows[scen[r]]++;
      pos[scen[r]] += labels[r];
      test[scen[r]] += splits[r] == MSR_SPLIT_TEST;
      total_pos += labels[r];
      if (r > 0)
        g_assert_cmpint (ts[r], >, ts[r - 1]);
    }
  g_autoptr(MsrDatasetStats) st = msr_dataset_compute_stats (ds, MSR_SPLIT_MASK_ALL);
  for (guint s = 0; s < S; s++)
    {
      g_assert_cmpstr (msr_dataset_get_scenario_name (ds, s), ==, msr_sim_options_get_name (&o, s));
      g_assert_cmpstr (t->names[s], ==, msr_sim_options_get_name (&o, s));
      g_assert_cmpint (msr_sim_truth_find_scenario (t, t->names[s]), ==, (int) s);
      g_assert_cmpuint (t->rows[s], ==, rows[s]);
      g_assert_cmpuint (t->positives[s], ==, pos[s]);
      g_assert_cmpuint (t->test_rows[s], ==, test[s]);
      g_assert_cmpuint (t->users[s], ==, st->scenarios[s].users);
      g_assert_cmpuint (t->items_used[s], ==, st->scenarios[s].items);
      g_assert_cmpuint (t->items[s], ==, o.n_items[s]);
      g_assert_cmpuint (t->items_used[s], <=, t->items[s]);
      /* Shares within 2 points of the requested ones; the test split is
       * 20 % of each scenario (rounded). */
      double share = (double) rows[s] / N;
      g_test_message ("%s: %" G_GUINT64_FORMAT " rows (%.1f %%, asked %.0f %%), click rate %.3f (asked %.2f), "
                      "%u users, %u items",
                      t->names[s], rows[s], 100 * share, 100 * o.row_share[s], (double) pos[s] / rows[s],
                      o.base_rate[s], t->users[s], t->items_used[s]);
      g_assert_cmpfloat (fabs (share - o.row_share[s]), <, 0.02);
      g_assert_cmpuint (test[s], ==, (guint64) floor (rows[s] * 0.2 + 0.5));
      /* base_rate is the expected click rate of the scenario's rows, so
       * the realised rate is within a few binomial standard errors. */
      double se = sqrt (o.base_rate[s] * (1 - o.base_rate[s]) / rows[s]);
      g_assert_cmpfloat (fabs ((double) pos[s] / rows[s] - o.base_rate[s]), <, 5 * se);
      g_assert_cmpfloat (t->alpha[s], ==, o.alpha[s]);
      g_assert_cmpfloat (t->base_rate[s], ==, o.base_rate[s]);
      for (guint b = 0; b < S; b++)
        g_assert_cmpfloat (t->correlation[s * S + b], ==, o.correlation[s][b]);
      g_assert_cmpfloat (t->bayes_auc[s], >, 0.5);
      g_assert_cmpfloat (t->bayes_auc[s], <, 1.0);
    }
  double ctr = (double) total_pos / N;
  g_test_message ("overall click rate %.3f; generation took %.2f s", ctr, world_seconds);
  g_assert_cmpfloat (ctr, >, 0.3);
  g_assert_cmpfloat (ctr, <, 0.5);

  /* The files are what the brief names, and nothing else. */
  g_assert_cmpuint (count_entries (dir), ==, 3);
  GStatBuf sb;
  g_autofree char *csv = g_build_filename (dir, MSR_SIM_DATA_FILE, NULL);
  g_autofree char *truth = g_build_filename (dir, MSR_SIM_TRUTH_FILE, NULL);
  g_assert_cmpint (g_stat (csv, &sb), ==, 0);
  guint64 csv_size = sb.st_size;
  g_assert_cmpint (g_stat (truth, &sb), ==, 0);
  g_test_message ("%s: %" G_GUINT64_FORMAT " bytes; %s: %" G_GUINT64_FORMAT " bytes",
                  MSR_SIM_DATA_FILE, csv_size, MSR_SIM_TRUTH_FILE, (guint64) sb.st_size);

  /* The folder can move: the description names its data relatively. */
  g_autofree char *tmp = g_dir_make_tmp ("msr-sim-XXXXXX", NULL);
  static const char *const files[] = { MSR_SIM_DATA_FILE, MSR_SIM_TRUTH_FILE, MSR_PROJECT_FILE };
  for (guint i = 0; i < 3; i++)
    {
      gsize len;
      g_autofree char *data = read_file (dir, files[i], &len);
      g_autofree char *dst = g_build_filename (tmp, files[i], NULL);
      g_assert_true (g_file_set_contents (dst, data, len, NULL));
    }
  g_autoptr(MsrDataset) moved = load_world (tmp);
  g_assert_cmpstr (msr_dataset_get_fingerprint (moved), ==, msr_dataset_get_fingerprint (ds));
  g_autoptr(MsrSimTruth) t2 = msr_sim_truth_load (tmp, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (t2->bayes_auc[2], ==, t->bayes_auc[2]);
  msr_test_rm_rf (tmp);
}

/* ---- recovery of the planted structure ----------------------------------- */

static void
test_recovery_behaviour (void)
{
  const char *dir = default_world ();
  g_autoptr(MsrDataset) ds = load_world (dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrSimTruth) t = msr_sim_truth_load (dir, &error);
  g_assert_no_error (error);
  const guint S = t->n_scenarios;
  const guint min_rows = 5;

  guint used[25];
  g_autofree double *cr = msr_corr_click_rate (ds, MSR_SPLIT_MASK_ALL, min_rows, used);
  g_assert_nonnull (cr);

  /* Brute force: dense per-user per-scenario counts, two-pass Pearson. */
  const guint U = msr_dataset_get_field_cardinality (ds, msr_dataset_get_user_field (ds));
  const gint32 *users = msr_dataset_get_field_codes (ds, msr_dataset_get_user_field (ds));
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  const guint8 *labels = msr_dataset_get_labels (ds);
  g_autofree double *cnt = g_new0 (double, U * S);
  g_autofree double *clk = g_new0 (double, U * S);
  for (gsize r = 0; r < msr_dataset_get_n_rows (ds); r++)
    {
      cnt[users[r] * S + scen[r]]++;
      clk[users[r] * S + scen[r]] += labels[r];
    }
  g_autofree double *x = g_new (double, U);
  g_autofree double *y = g_new (double, U);
  for (guint a = 0; a < S; a++)
    {
      g_assert_cmpfloat (cr[a * S + a], ==, 1.0);
      for (guint b = a + 1; b < S; b++)
        {
          guint n = 0;
          for (guint u = 1; u < U; u++)
            if (cnt[u * S + a] >= min_rows && cnt[u * S + b] >= min_rows)
              {
                x[n] = clk[u * S + a] / cnt[u * S + a];
                y[n] = clk[u * S + b] / cnt[u * S + b];
                n++;
              }
          g_assert_cmpuint (used[a * S + b], ==, n);
          g_assert_cmpuint (used[b * S + a], ==, n);
          g_assert_cmpfloat_with_epsilon (cr[a * S + b], ref_pearson (x, y, n), 1e-10);
          g_assert_cmpfloat (cr[b * S + a], ==, cr[a * S + b]);
        }
    }

  /* Jaccard of user sets, also by brute force. */
  g_autofree double *jac = msr_corr_user_overlap (ds, MSR_SPLIT_MASK_ALL);
  for (guint a = 0; a < S; a++)
    for (guint b = 0; b < S; b++)
      {
        double inter = 0, uni = 0;
        for (guint u = 1; u < U; u++)
          {
            gboolean ia = cnt[u * S + a] > 0, ib = cnt[u * S + b] > 0;
            inter += ia && ib;
            uni += ia || ib;
          }
        g_assert_cmpfloat_with_epsilon (jac[a * S + b], inter / uni, 1e-12);
      }

  /* The data-derived matrix against the planted one. */
  double r, p;
  g_assert_true (msr_corr_mantel (cr, t->correlation, S, 9999, 1, &r, &p));
  GString *m = g_string_new ("click-rate correlation (min 5 rows), planted in brackets:\n");
  for (guint a = 0; a < S; a++)
    {
      for (guint b = 0; b < S; b++)
        g_string_append_printf (m, " %6.3f [%.1f]", cr[a * S + b], t->correlation[a * S + b]);
      g_string_append_c (m, '\n');
    }
  g_test_message ("%sMantel r = %.4f, p = %.4f (9,999 permutations)", m->str, r, p);
  g_string_free (m, TRUE);
  g_assert_cmpfloat (r, >, 0.8);
  g_assert_cmpfloat (p, <, 0.05);

  /* The block structure: every planted-high pair (≥ 0.6) above every
   * planted-low pair (≤ 0.1), and the middle (0.3) in between on average. */
  double min_high = 1, max_low = -1, mid = 0;
  guint n_mid = 0;
  for (guint a = 0; a < S; a++)
    for (guint b = a + 1; b < S; b++)
      {
        double c = t->correlation[a * S + b], d = cr[a * S + b];
        if (c >= 0.6)
          min_high = MIN (min_high, d);
        else if (c <= 0.1)
          max_low = MAX (max_low, d);
        else
          mid += d, n_mid++;
      }
  mid /= n_mid;
  g_test_message ("lowest planted-high pair %.3f, mean middle pair %.3f, highest planted-low pair %.3f",
                  min_high, mid, max_low);
  g_assert_cmpfloat (min_high, >, max_low);
  g_assert_cmpfloat (min_high, >, mid);

  /* Also without a minimum (every user with a row in both), and on the
   * training rows only: the structure is still there. */
  g_autofree double *loose = msr_corr_click_rate (ds, MSR_SPLIT_MASK (MSR_SPLIT_TRAIN), 1, NULL);
  g_assert_true (msr_corr_mantel (loose, t->correlation, S, 999, 3, &r, &p));
  g_test_message ("training rows, min 1 row: Mantel r = %.4f, p = %.4f", r, p);
  g_assert_cmpfloat (r, >, 0.7);

  /* The check can fail: a world planted with the scenarios' roles
   * permuted (C'[i][j] = C[π i][π j], whose triangle correlates -0.32 with
   * C's) shows its own structure, not the default one. */
  static const guint perm[5] = { 2, 4, 0, 3, 1 };
  MsrSimOptions o;
  msr_sim_options_init (&o);
  for (guint a = 0; a < S; a++)
    for (guint b = 0; b < S; b++)
      o.correlation[a][b] = t->correlation[perm[a] * S + perm[b]];
  g_autofree char *tmp = g_dir_make_tmp ("msr-sim-XXXXXX", NULL);
  g_autofree char *other = g_build_filename (tmp, "permuted", NULL);
  g_assert_true (msr_sim_write_project (other, &o, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_autoptr(MsrDataset) ds2 = load_world (other);
  g_autofree double *cr2 = msr_corr_click_rate (ds2, MSR_SPLIT_MASK_ALL, min_rows, NULL);
  double r_own, p_own;
  double own[25];
  for (guint a = 0; a < S; a++)
    for (guint b = 0; b < S; b++)
      own[a * S + b] = o.correlation[a][b];
  g_assert_true (msr_corr_mantel (cr2, own, S, 9999, 1, &r_own, &p_own));
  g_assert_true (msr_corr_mantel (cr2, t->correlation, S, 9999, 1, &r, &p));
  g_test_message ("permuted world: Mantel r = %.4f (p %.4f) against its own truth, %.4f (p %.4f) against "
                  "the default one", r_own, p_own, r, p);
  g_assert_cmpfloat (r_own, >, 0.8);
  g_assert_cmpfloat (p_own, <, 0.05);
  g_assert_cmpfloat (r, <, 0.3);
  g_assert_cmpfloat (p, >, 0.05);
  msr_test_rm_rf (tmp);
}

/* The summary the workbench shows: the same numbers, in dataset order. */
static void
test_recovery_summary (void)
{
  const char *dir = default_world ();
  g_autoptr(MsrDataset) ds = load_world (dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrSimTruth) t = msr_sim_truth_load (dir, &error);
  g_assert_no_error (error);
  const guint S = t->n_scenarios;

  g_autoptr(MsrSimRecovery) rec = msr_sim_recovery_compute (t, ds, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rec->n_scenarios, ==, S);
  g_assert_cmpuint (rec->min_rows, ==, 5);
  g_autofree double *cr = msr_corr_click_rate (ds, MSR_SPLIT_MASK_ALL, rec->min_rows, NULL);
  g_autofree double *planted = g_new (double, S * S);
  for (guint a = 0; a < S; a++)
    {
      const int ta = msr_sim_truth_find_scenario (t, msr_dataset_get_scenario_name (ds, a));
      g_assert_cmpint (ta, >=, 0);
      g_assert_cmpstr (rec->names[a], ==, msr_dataset_get_scenario_name (ds, a));
      g_assert_cmpfloat (rec->alpha[a], ==, t->alpha[ta]);
      g_assert_cmpfloat (rec->bayes_auc[a], ==, t->bayes_auc[ta]);
      for (guint b = 0; b < S; b++)
        {
          const int tb = msr_sim_truth_find_scenario (t, msr_dataset_get_scenario_name (ds, b));
          planted[a * S + b] = t->correlation[ta * S + tb];
          g_assert_cmpfloat (rec->planted[a * S + b], ==, planted[a * S + b]);
          g_assert_true (rec->observed[a * S + b] == cr[a * S + b] ||
                         (isnan (rec->observed[a * S + b]) && isnan (cr[a * S + b])));
        }
    }
  double r, p;
  g_assert_true (msr_corr_mantel (cr, planted, S, rec->permutations, 1, &r, &p));
  g_assert_cmpfloat (rec->mantel_r, ==, r);
  g_assert_cmpfloat (rec->mantel_p, ==, p);
  g_assert_cmpfloat (rec->mantel_r, >, 0.8);
  g_assert_cmpfloat (rec->mantel_p, <, 0.05);
  /* Five scenarios: 120 orderings, and the identity is one of them. */
  g_assert_cmpuint (S, ==, 5);
  g_assert_cmpfloat_with_epsilon (rec->mantel_p_floor, 1.0 / 120, 1e-15);
  g_assert_cmpfloat (rec->mantel_p, >=, rec->mantel_p_floor * 0.5);

  /* A truth that does not belong to the data is refused, by name. */
  g_free (t->names[S - 1]);
  t->names[S - 1] = g_strdup ("Elsewhere");
  g_assert_null (msr_sim_recovery_compute (t, ds, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_SCHEMA);
  g_assert_nonnull (strstr (error->message, msr_dataset_get_scenario_name (ds, S - 1)));
}

static void
test_recovery_difficulty (void)
{
  const char *dir = default_world ();
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrSimTruth) t = msr_sim_truth_load (dir, &error);
  g_assert_no_error (error);
  const guint S = t->n_scenarios;
  for (guint s = 0; s < S; s++)
    g_test_message ("%s: alpha %.2f, Bayes AUC %.4f on test rows, %.4f on all rows, offset %.3f",
                    t->names[s], t->alpha[s], t->bayes_auc[s], t->bayes_auc_all[s], t->offset[s]);
  /* The AUC of the true probabilities orders the scenarios as α does. */
  g_assert_cmpfloat (ref_spearman (t->bayes_auc, t->alpha, S), ==, 1.0);
  g_assert_cmpfloat (ref_spearman (t->bayes_auc_all, t->alpha, S), ==, 1.0);
  /* And the spread is clear: at least 0.1 between easiest and hardest. */
  double lo = 1, hi = 0;
  for (guint s = 0; s < S; s++)
    lo = MIN (lo, t->bayes_auc[s]), hi = MAX (hi, t->bayes_auc[s]);
  g_assert_cmpfloat (hi - lo, >, 0.1);
}

static void
test_recovery_model (void)
{
  const char *dir = default_world ();
  g_autoptr(MsrDataset) ds = load_world (dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrSimTruth) t = msr_sim_truth_load (dir, &error);
  g_assert_no_error (error);
  const guint S = t->n_scenarios;

  MsrModelConfig cfg;
  msr_model_config_init (&cfg, MSR_ARCH_STAR);
  g_autoptr(MsrModel) model = msr_model_new_for_dataset (&cfg, ds, 42, &error);
  g_assert_no_error (error);
  MsrTrainOptions to;
  msr_train_options_init (&to);
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr(MsrTrainResult) res = msr_train (model, ds, &to, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  double secs = (g_get_monotonic_time () - t0) / 1e6;

  gsize n = 0;
  g_autofree guint32 *rows = NULL;
  g_autofree double *score = msr_score (model, ds, MSR_SPLIT_MASK (MSR_SPLIT_TEST), 1, 1024, &n, &rows,
                                        NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  const guint8 *labels = msr_dataset_get_labels (ds);
  g_autofree double *ps = g_new (double, n);
  g_autofree guint8 *ys = g_new (guint8, n);
  double auc[MSR_SIM_MAX_SCENARIOS];
  for (guint s = 0; s < S; s++)
    {
      gsize k = 0;
      for (gsize i = 0; i < n; i++)
        if (scen[rows[i]] == s)
          {
            ps[k] = score[i];
            ys[k] = labels[rows[i]];
            k++;
          }
      g_assert_cmpuint (k, ==, t->test_rows[s]);
      auc[s] = ref_auc (ps, ys, k);
      g_test_message ("%s: alpha %.2f, STAR test AUC %.4f, Bayes AUC %.4f", t->names[s], t->alpha[s],
                      auc[s], t->bayes_auc[s]);
      /* Sanity: no model beats the true probabilities. */
      g_assert_cmpfloat (auc[s], <, t->bayes_auc[s]);
    }
  double rho = ref_spearman (auc, t->alpha, S);
  g_test_message ("STAR (defaults): %.1f s, best epoch %u of %u; Spearman(model AUC, alpha) = %.2f",
                  secs, res->best_epoch, res->epochs->len, rho);
  g_assert_cmpfloat (rho, >=, 0.8);
}

/* ---- Mantel -------------------------------------------------------------- */

static void
test_mantel (void)
{
  MsrRng rng;
  msr_rng_init (&rng, 99);
  const guint n = 6;
  double a[36], b[36];
  guint ident[8];
  for (guint i = 0; i < 8; i++)
    ident[i] = i;

  for (guint trial = 0; trial < 4; trial++)
    {
      random_symmetric (&rng, n, a);
      random_symmetric (&rng, n, b);
      /* b partly follows a, so some trials have a small p. */
      for (guint i = 0; i < n * n; i++)
        b[i] = trial * 0.3 * a[i] + b[i];
      for (int spearman = 0; spearman < 2; spearman++)
        {
          double r, p;
          guint pairs;
          g_assert_true (msr_corr_mantel_full (a, b, n, spearman ? MSR_CORR_SPEARMAN : MSR_CORR_PEARSON,
                                               20000, trial, &r, &p, &pairs));
          g_assert_cmpuint (pairs, ==, 15);
          double r_ref = ref_upper (a, b, n, ident, spearman, NULL);
          g_assert_cmpfloat_with_epsilon (r, r_ref, 1e-12);
          /* Against the exact permutation distribution (all 720): the
           * Monte Carlo p is within 4 standard errors. */
          double exact = ref_exact_p (a, b, n, spearman, r_ref);
          double se = sqrt (exact * (1 - exact) / 20000) + 1e-4;
          g_test_message ("trial %u %s: r %.4f, p %.4f, exact %.4f", trial, spearman ? "Spearman" : "Pearson",
                          r, p, exact);
          g_assert_cmpfloat (fabs (p - exact), <, 4 * se + 1.0 / 20001);
        }
    }

  /* Identical matrices: r = 1 and only the identity reaches it. */
  random_symmetric (&rng, n, a);
  double r, p;
  g_assert_true (msr_corr_mantel (a, a, n, 9999, 5, &r, &p));
  g_assert_cmpfloat_with_epsilon (r, 1.0, 1e-12);
  g_assert_cmpfloat (p, <, 0.01);

  /* A block matrix against a version whose blocks are interleaved: the
   * observed r is negative and most permutations do better: large p. */
  for (guint i = 0; i < n; i++)
    for (guint j = 0; j < n; j++)
      a[i * n + j] = i == j ? 1 : (i < 3) == (j < 3) ? 0.8 : 0.1;
  const guint shuffle[6] = { 0, 3, 1, 4, 2, 5 };
  for (guint i = 0; i < n; i++)
    for (guint j = 0; j < n; j++)
      b[i * n + j] = a[shuffle[i] * n + shuffle[j]];
  g_assert_true (msr_corr_mantel (a, b, n, 9999, 5, &r, &p));
  double exact = ref_exact_p (a, b, n, FALSE, ref_upper (a, b, n, ident, FALSE, NULL));
  g_test_message ("interleaved blocks: r %.4f, p %.4f (exact %.4f)", r, p, exact);
  g_assert_cmpfloat (r, <, 0);
  g_assert_cmpfloat (p, >, 0.5);
  g_assert_cmpfloat (fabs (p - exact), <, 0.02);

  /* NaN entries are skipped pairwise. */
  random_symmetric (&rng, n, a);
  random_symmetric (&rng, n, b);
  a[0 * n + 1] = a[1 * n + 0] = NAN;
  b[2 * n + 5] = b[5 * n + 2] = NAN;
  guint pairs;
  g_assert_true (msr_corr_mantel_full (a, b, n, MSR_CORR_PEARSON, 5000, 1, &r, &p, &pairs));
  g_assert_cmpuint (pairs, ==, 13);
  g_assert_cmpfloat_with_epsilon (r, ref_upper (a, b, n, ident, FALSE, NULL), 1e-12);
  exact = ref_exact_p (a, b, n, FALSE, r);
  g_assert_cmpfloat (fabs (p - exact), <, 4 * sqrt (exact * (1 - exact) / 5000) + 1e-3);

  /* Fewer than 3 usable pairs, or too small a matrix: FALSE, NaN. */
  double c[9] = { 1, NAN, NAN, NAN, 1, 0.5, NAN, 0.5, 1 };
  double d[9] = { 1, 0.2, 0.3, 0.2, 1, 0.4, 0.3, 0.4, 1 };
  g_assert_false (msr_corr_mantel (c, d, 3, 99, 1, &r, &p));
  g_assert_true (isnan (r) && isnan (p));
  g_assert_false (msr_corr_mantel (d, d, 2, 99, 1, &r, &p));
  /* No variation in one triangle: undefined. */
  double e[9] = { 1, 0.5, 0.5, 0.5, 1, 0.5, 0.5, 0.5, 1 };
  g_assert_false (msr_corr_mantel (e, d, 3, 99, 1, &r, &p));
  /* Exactly 3 pairs works, and permutations = 0 gives no p. */
  g_assert_true (msr_corr_mantel (d, d, 3, 0, 1, &r, &p));
  g_assert_cmpfloat_with_epsilon (r, 1.0, 1e-12);
  g_assert_true (isnan (p));
}

/* ---- hostile input ------------------------------------------------------- */

typedef struct {
  GCancellable *cancellable;
  double        at;
  char         *stage;
} CancelAt;

static void
cancel_progress (double fraction, const char *stage, gpointer data)
{
  CancelAt *c = data;
  if (fraction >= c->at && !g_cancellable_is_cancelled (c->cancellable))
    {
      g_free (c->stage);
      c->stage = g_strdup (stage);
      g_cancellable_cancel (c->cancellable);
    }
}

static void
test_hostile (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("msr-sim-XXXXXX", NULL);
  MsrSimOptions o;
  msr_sim_options_init (&o);
  o.n_rows = 20000;
  o.n_users = 300;

  /* A folder holding a project: refused, the project untouched. */
  const char *world = default_world ();
  gsize len_before, len_after;
  g_autofree char *before = read_file (world, MSR_PROJECT_FILE, &len_before);
  g_assert_false (msr_sim_write_project (world, &o, NULL, NULL, NULL, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "holds a project"));
  g_clear_error (&error);
  g_autofree char *after = read_file (world, MSR_PROJECT_FILE, &len_after);
  g_assert_cmpmem (before, len_before, after, len_after);
  g_assert_cmpuint (count_entries (world), ==, 3);

  /* A folder holding someone's interactions.csv: refused, file kept. */
  g_autofree char *stray = g_build_filename (tmp, "stray", NULL);
  g_assert_cmpint (g_mkdir (stray, 0755), ==, 0);
  g_autofree char *stray_csv = g_build_filename (stray, MSR_SIM_DATA_FILE, NULL);
  g_assert_true (g_file_set_contents (stray_csv, "mine\n", -1, NULL));
  g_assert_false (msr_sim_write_project (stray, &o, NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "already exists"));
  g_clear_error (&error);
  gsize n;
  g_autofree char *kept = read_file (stray, MSR_SIM_DATA_FILE, &n);
  g_assert_cmpstr (kept, ==, "mine\n");
  g_assert_cmpuint (count_entries (stray), ==, 1);

  /* A path that is a file. */
  g_assert_false (msr_sim_write_project (stray_csv, &o, NULL, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  /* Cancelled at every stage: nothing is left, neither in a folder the
   * call created nor in an existing empty one. With 70,000 rows the
   * read-back reports progress once (after 65,536 rows), past 0.55. */
  o.n_rows = 70000;
  const double points[] = { 0.0, 0.1, 0.32, 0.4, 0.55, 0.91 };
  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    for (int existing = 0; existing < 2; existing++)
      {
        g_autofree char *dir = g_strdup_printf ("%s/cancel-%u-%d/sub", tmp, i, existing);
        if (existing)
          g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
        g_autoptr(GCancellable) cancellable = g_cancellable_new ();
        CancelAt c = { cancellable, points[i], NULL };
        g_assert_false (msr_sim_write_project (dir, &o, cancel_progress, &c, cancellable, &error));
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
        g_clear_error (&error);
        g_test_message ("cancelled at %.2f (%s)", points[i], c.stage ? c.stage : "?");
        g_free (c.stage);
        g_autofree char *parent = g_strdup_printf ("%s/cancel-%u-%d", tmp, i, existing);
        if (existing)
          g_assert_cmpuint (count_entries (dir), ==, 0);
        else
          g_assert_false (g_file_test (parent, G_FILE_TEST_EXISTS));
      }
  msr_test_rm_rf (tmp);
}

/* Copies the default world and damages its truth in one way. */
static char *
damaged_copy (const char *tmp, const char *name, const char *find, const char *replace)
{
  const char *world = default_world ();
  g_autofree char *dir = g_build_filename (tmp, name, NULL);
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  static const char *const files[] = { MSR_SIM_DATA_FILE, MSR_SIM_TRUTH_FILE, MSR_PROJECT_FILE };
  for (guint i = 0; i < 3; i++)
    {
      gsize len;
      g_autofree char *data = read_file (world, files[i], &len);
      if (i == 1 && find != NULL)
        {
          char *at = strstr (data, find);
          g_assert_nonnull (at);
          *at = '\0';
          char *edited = g_strconcat (data, replace, at + strlen (find), NULL);
          g_free (data);
          data = edited;
          len = strlen (data);
        }
      g_autofree char *dst = g_build_filename (dir, files[i], NULL);
      g_assert_true (g_file_set_contents (dst, data, len, NULL));
    }
  return g_steal_pointer (&dir);
}

static void
test_truth_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("msr-sim-XXXXXX", NULL);

  /* A plain CSV project is not simulated. */
  g_autofree char *csv = g_build_filename (tmp, "plain.csv", NULL);
  g_assert_true (g_file_set_contents (csv, "user,item,scenario,click\nu1,i1,A,1\nu2,i1,A,0\n", -1, NULL));
  g_autofree char *plain = g_build_filename (tmp, "plain", NULL);
  MsrCsvSchema schema = { .label_column = "click", .scenario_column = "scenario",
                          .user_column = "user", .item_column = "item" };
  MsrSplitOptions split;
  msr_split_options_init (&split);
  split.method = MSR_SPLIT_METHOD_RANDOM;
  g_autoptr(MsrProject) p = msr_project_create_csv (plain, csv, &schema, &split, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (p);
  g_assert_false (msr_sim_project_is_simulated (plain));
  g_assert_null (msr_sim_truth_load (plain, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "not a simulated project"));
  g_clear_error (&error);

  g_autofree char *nowhere = g_build_filename (tmp, "nowhere", NULL);
  g_assert_false (msr_sim_project_is_simulated (nowhere));
  g_assert_null (msr_sim_truth_load (nowhere, &error));
  g_assert_nonnull (strstr (error->message, "not an MSR Lens project"));
  g_clear_error (&error);

  struct {
    const char *name, *find, *replace, *expect;
  } cases[] = {
    { "truncated", "\"scenarios\"", "\"scenar", MSR_SIM_TRUTH_FILE },
    { "seed", "\"seed\": 2024", "\"seed\": 2025", "seed" },
    { "alpha", "\"alpha\": 1.2,", "", "scenarios[1].alpha: missing" },
    { "alpha-text", "\"alpha\": 1.2,", "\"alpha\": \"high\",", "scenarios[1].alpha: not a number" },
    { "asymmetric", "[1, 0.8,", "[1, 0.7,", "correlation[0][1]" },
    { "range", "[1, 0.8,", "[1, 1.8,", "correlation[0][1]" },
    { "rows", "\"test_rows\": ", "\"test_rows\": 9", "test_rows" },
    { "name", "\"name\": \"Music\"", "\"name\": \"Books\"", "scenarios[1].name" },
    { "format", "\"format\": 1", "\"format\": 2", "format" },
    { "scenarios", "\"scenarios\": [", "\"scenarios\": 3, \"x\": [", "scenarios: not an array" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *dir = damaged_copy (tmp, cases[i].name, cases[i].find, cases[i].replace);
      g_assert_true (msr_sim_project_is_simulated (dir));
      g_autoptr(MsrSimTruth) t = msr_sim_truth_load (dir, &error);
      g_assert_null (t);
      g_assert_nonnull (error);
      g_test_message ("%s: %s", cases[i].name, error->message);
      g_assert_nonnull (strstr (error->message, cases[i].expect));
      g_clear_error (&error);
    }

  /* The truth file missing, or the key naming it. */
  g_autofree char *dir = damaged_copy (tmp, "missing", NULL, NULL);
  g_autofree char *truth = g_build_filename (dir, MSR_SIM_TRUTH_FILE, NULL);
  g_unlink (truth);
  g_assert_null (msr_sim_truth_load (dir, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_IO);
  g_clear_error (&error);
  g_autofree char *desc_path = g_build_filename (dir, MSR_PROJECT_FILE, NULL);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_assert_true (g_key_file_load_from_file (kf, desc_path, G_KEY_FILE_NONE, NULL));
  g_key_file_remove_key (kf, "simulation", "truth", NULL);
  g_assert_true (g_key_file_save_to_file (kf, desc_path, NULL));
  g_assert_null (msr_sim_truth_load (dir, &error));
  g_assert_nonnull (strstr (error->message, "[simulation] truth"));
  g_clear_error (&error);
  msr_test_rm_rf (tmp);
}

/* Other scenario counts: one scenario, and the most. */
static void
test_sizes (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("msr-sim-XXXXXX", NULL);
  const guint counts[] = { 1, MSR_SIM_MAX_SCENARIOS };
  for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
    {
      MsrSimOptions o;
      msr_sim_options_init_for (&o, counts[i]);
      o.n_rows = 30000;
      o.n_users = 300;
      o.seed = 11;
      g_autofree char *dir = g_strdup_printf ("%s/s%u", tmp, counts[i]);
      g_autoptr(GError) error = NULL;
      g_assert_true (msr_sim_write_project (dir, &o, NULL, NULL, NULL, &error));
      g_assert_no_error (error);
      g_autoptr(MsrDataset) ds = load_world (dir);
      g_assert_cmpuint (msr_dataset_get_n_scenarios (ds), ==, counts[i]);
      g_assert_cmpuint (msr_dataset_get_n_rows (ds), ==, 30000);
      g_autoptr(MsrSimTruth) t = msr_sim_truth_load (dir, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (t->n_scenarios, ==, counts[i]);
      for (guint s = 0; s < counts[i]; s++)
        g_assert_cmpstr (msr_dataset_get_scenario_name (ds, s), ==, t->names[s]);
    }
  msr_test_rm_rf (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/simulate/options", test_options);
  g_test_add_func ("/simulate/reproducible", test_reproducible);
  g_test_add_func ("/simulate/project", test_project);
  g_test_add_func ("/simulate/recovery/behaviour", test_recovery_behaviour);
  g_test_add_func ("/simulate/recovery/summary", test_recovery_summary);
  g_test_add_func ("/simulate/recovery/difficulty", test_recovery_difficulty);
  g_test_add_func ("/simulate/recovery/model", test_recovery_model);
  g_test_add_func ("/simulate/hostile", test_hostile);
  g_test_add_func ("/simulate/truth-errors", test_truth_errors);
  g_test_add_func ("/simulate/sizes", test_sizes);
  g_test_add_func ("/correlation/mantel", test_mantel);
  int ret = g_test_run ();
  if (world_dir != NULL)
    {
      g_autofree char *parent = g_path_get_dirname (world_dir);
      msr_test_rm_rf (parent);
    }
  return ret;
}

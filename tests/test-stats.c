/* test-stats.c: DeLong against direct placements and the oracle; the
 * paired stratified bootstrap against materialised resamples; Holm. */
#include <glib.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "msr-metrics.h"
#include "test-util.h"
#include "msr-stats.h"

static gboolean
small_mode (void)
{
  return g_getenv ("MSR_TEST_SMALL") != NULL;
}

static void
assert_rel (double got, double want, double rel, const char *what)
{
  if (isnan (got) && isnan (want))
    return;
  if (!(fabs (got - want) <= rel * fabs (want) + 1e-300))
    g_error ("%s: got %.17g, want %.17g (relative %g)", what, got, want, rel);
}

static void
assert_abs (double got, double want, double tol, const char *what)
{
  if (isnan (got) && isnan (want))
    return;
  if (!(fabs (got - want) <= tol))
    g_error ("%s: got %.17g, want %.17g (tolerance %g)", what, got, want, tol);
}

static double
psi (double x, double y)
{
  return x > y ? 1.0 : x == y ? 0.5 : 0.0;
}

/* DeLong straight from the definitions: O(mn) placements with ψ, the 2×2
 * covariance matrices S10 (divisor m−1) and S01 (divisor n−1), S = S10/m +
 * S01/n, var = S11 + S22 − 2·S12. */
static void
direct_delong (const double *a, const double *b, const guint8 *y, gsize n, MsrDeLong *out)
{
  GArray *pos = g_array_new (FALSE, FALSE, sizeof (gsize));
  GArray *neg = g_array_new (FALSE, FALSE, sizeof (gsize));
  const double *sc[2] = { a, b };
  double *v10[2], *v01[2], auc[2], S10[2][2], S01[2][2];
  gsize m, nn;

  for (gsize i = 0; i < n; i++)
    g_array_append_val (y[i] ? pos : neg, i);
  m = pos->len;
  nn = neg->len;
  for (int r = 0; r < 2; r++)
    {
      v10[r] = g_new0 (double, m);
      v01[r] = g_new0 (double, nn);
      auc[r] = 0;
      for (gsize i = 0; i < m; i++)
        for (gsize j = 0; j < nn; j++)
          {
            double p = psi (sc[r][g_array_index (pos, gsize, i)], sc[r][g_array_index (neg, gsize, j)]);

            v10[r][i] += p / nn;
            v01[r][j] += p / m;
            auc[r] += p;
          }
      auc[r] /= (double) m * nn;
    }
  for (int r = 0; r < 2; r++)
    for (int t = 0; t < 2; t++)
      {
        double s = 0;

        for (gsize i = 0; i < m; i++)
          s += (v10[r][i] - auc[r]) * (v10[t][i] - auc[t]);
        S10[r][t] = s / (m - 1);
        s = 0;
        for (gsize j = 0; j < nn; j++)
          s += (v01[r][j] - auc[r]) * (v01[t][j] - auc[t]);
        S01[r][t] = s / (nn - 1);
      }
  out->auc_a = auc[0];
  out->auc_b = auc[1];
  out->delta = auc[1] - auc[0];
  out->var = (S10[0][0] + S10[1][1] - 2 * S10[0][1]) / m + (S01[0][0] + S01[1][1] - 2 * S01[0][1]) / nn;
  out->z = out->delta / sqrt (out->var);
  out->p = erfc (fabs (out->z) / sqrt (2.0));
  out->m = m;
  out->n = nn;
  for (int r = 0; r < 2; r++)
    {
      g_free (v10[r]);
      g_free (v01[r]);
    }
  g_array_unref (pos);
  g_array_unref (neg);
}

/* Two correlated models with ties. */
static void
make_pair (GRand *g, gsize n, guint levels, double *a, double *b, guint8 *y)
{
  for (gsize i = 0; i < n; i++)
    {
      double base = g_rand_double (g);
      /* CLAMP evaluates its argument more than once: draw first. */
      double na = g_rand_double_range (g, -0.3, 0.3);
      double nb = g_rand_double_range (g, -0.2, 0.2);
      double xa = CLAMP (base + na, 0, 1);
      double xb = CLAMP (base + nb, 0, 1);

      if (levels)
        {
          xa = round (xa * levels) / levels;
          xb = round (xb * levels) / levels;
        }
      a[i] = xa;
      b[i] = xb;
      y[i] = g_rand_double (g) < base;
    }
}

static void
test_delong_direct (void)
{
  static const gsize sizes[] = { 4, 9, 40, 333, 1500 };
  static const guint levels[] = { 2, 10, 100, 0 };
  GRand *g = g_rand_new_with_seed (2024);

  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++)
    for (guint li = 0; li < G_N_ELEMENTS (levels); li++)
      for (int rep = 0; rep < 3; rep++)
        {
          gsize n = sizes[si];
          double *a, *b;
          guint8 *y;
          MsrDeLong got, want;
          guint64 m = 0;

          if (small_mode () && n > 400)
            break;
          a = g_new (double, n);
          b = g_new (double, n);
          y = g_new (guint8, n);
          make_pair (g, n, levels[li], a, b, y);
          for (gsize i = 0; i < n; i++)
            m += y[i];
          if (m < 2 || n - m < 2)
            {
              y[0] = 1; y[1] = 1; y[2] = 0; y[3] = 0;
            }
          g_assert_true (msr_delong_paired (a, b, y, n, &got));
          direct_delong (a, b, y, n, &want);
          g_assert_true (got.defined);
          g_assert_cmpuint (got.m, ==, want.m);
          g_assert_cmpuint (got.n, ==, want.n);
          assert_rel (got.auc_a, want.auc_a, 1e-12, "auc_a");
          assert_rel (got.auc_b, want.auc_b, 1e-12, "auc_b");
          assert_abs (got.delta, want.delta, 1e-12, "delta");
          if (want.var > 1e-14)
            {
              assert_rel (got.var, want.var, 1e-9, "var");
              assert_rel (got.z, want.z, 1e-9, "z");
              assert_rel (got.p, want.p, 1e-9, "p");
            }
          /* And the AUCs agree with msr_auc exactly. */
          g_assert_cmpfloat (got.auc_a, ==, msr_auc (a, y, n, NULL));
          g_free (a);
          g_free (b);
          g_free (y);
        }
  g_rand_free (g);
}

static void
test_delong_degenerate (void)
{
  double a[] = { 0.1, 0.4, 0.4, 0.8, 0.3, 0.9 };
  guint8 y[] = { 0, 0, 1, 1, 0, 1 };
  guint8 one_pos[] = { 0, 0, 1, 0, 0, 0 };
  double nan_scores[] = { 0.1, NAN, 0.4, 0.8, 0.3, 0.9 };
  MsrDeLong d;

  /* Identical models: var 0, z 0, p 1. */
  g_assert_true (msr_delong_paired (a, a, y, 6, &d));
  g_assert_cmpfloat (d.var, ==, 0.0);
  g_assert_cmpfloat (d.z, ==, 0.0);
  g_assert_cmpfloat (d.p, ==, 1.0);
  g_assert_cmpfloat (d.delta, ==, 0.0);
  /* One positive: AUCs exist, the variance does not. */
  g_assert_false (msr_delong_paired (a, a, one_pos, 6, &d));
  g_assert_false (d.defined);
  g_assert_false (isnan (d.auc_a));
  g_assert_true (isnan (d.z));
  g_assert_false (msr_delong_paired (nan_scores, a, y, 6, &d));
  g_assert_true (isnan (d.auc_a));
  g_assert_false (msr_delong_paired (a, a, y, 0, &d));
}

/* ---------------------------------------------------------------------- */
/* Oracle case2                                                           */

#define oracle_dir msr_test_oracle_dir

/* Reads columns id, label, score of a small TSV with a header. */
static gsize
read_scores (const char *path, double **score, guint8 **label)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_auto(GStrv) head = NULL;
  int cl = -1, cs = -1;
  gsize n = 0;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  head = g_strsplit (lines[0], "\t", -1);
  for (int i = 0; head[i]; i++)
    {
      g_strchomp (head[i]);
      if (strcmp (head[i], "label") == 0)
        cl = i;
      if (strcmp (head[i], "score") == 0)
        cs = i;
    }
  g_assert_cmpint (cl, >=, 0);
  g_assert_cmpint (cs, >=, 0);
  *score = g_new (double, g_strv_length (lines));
  *label = g_new (guint8, g_strv_length (lines));
  for (int i = 1; lines[i]; i++)
    {
      g_auto(GStrv) f = NULL;

      g_strchomp (lines[i]);
      if (!lines[i][0])
        continue;
      f = g_strsplit (lines[i], "\t", -1);
      (*score)[n] = g_ascii_strtod (f[cs], NULL);
      (*label)[n] = strcmp (f[cl], "1") == 0;
      n++;
    }
  return n;
}

static void
test_oracle_case2 (void)
{
  g_autofree char *pa = g_build_filename (oracle_dir (), "case2-a.tsv", NULL);
  g_autofree char *pb = g_build_filename (oracle_dir (), "case2-b.tsv", NULL);
  g_autofree char *pj = g_build_filename (oracle_dir (), "expected.json", NULL);
  g_autofree double *a = NULL, *b = NULL;
  g_autofree guint8 *ya = NULL, *yb = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *c2, *dl;
  MsrDeLong d;
  gsize n;

  if (!g_file_test (pa, G_FILE_TEST_EXISTS) || !g_file_test (pj, G_FILE_TEST_EXISTS))
    {
      g_autofree char *msg = g_strdup_printf ("oracle not found: %s", pa);
      g_test_skip (msg);
      return;
    }
  n = read_scores (pa, &a, &ya);
  g_assert_cmpuint (read_scores (pb, &b, &yb), ==, n);
  g_assert_cmpuint (n, ==, 800);
  g_assert_cmpmem (ya, n, yb, n);

  parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, pj, &error));
  c2 = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                      "case2 (a vs b)");
  dl = json_object_get_object_member (c2, "delong");

  g_assert_true (msr_delong_paired (a, b, ya, n, &d));
  assert_rel (d.auc_a, json_object_get_double_member (dl, "auc_a"), 1e-9, "oracle auc_a");
  assert_rel (d.auc_b, json_object_get_double_member (dl, "auc_b"), 1e-9, "oracle auc_b");
  assert_rel (d.delta, json_object_get_double_member (dl, "delta"), 1e-9, "oracle delta");
  assert_rel (d.var, json_object_get_double_member (dl, "var"), 1e-9, "oracle var");
  assert_rel (d.z, json_object_get_double_member (dl, "z"), 1e-9, "oracle z");
  assert_rel (d.p, json_object_get_double_member (dl, "p"), 1e-9, "oracle p");
  assert_rel (msr_relaimpr (d.auc_b, d.auc_a),
              json_object_get_double_member (c2, "relaimpr_b_over_a"), 1e-9, "oracle relaimpr");

  /* The comparison's overall row carries the same numbers. */
  {
    MsrBootstrapOptions opts;
    g_autoptr(MsrComparison) cmp = NULL;

    msr_bootstrap_options_init (&opts);
    opts.replicates = 200;
    cmp = msr_compare_paired (a, b, ya, NULL, NULL, 0, NULL, n, &opts, NULL, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (cmp->n_scenarios, ==, 0);
    assert_rel (cmp->overall.auc_b, d.auc_b, 1e-15, "row auc_b");
    assert_rel (cmp->overall.delong.z, d.z, 1e-15, "row z");
    assert_rel (cmp->overall.relaimpr, json_object_get_double_member (c2, "relaimpr_b_over_a"),
                1e-9, "row relaimpr");
    g_assert_cmpfloat (cmp->overall.ci_delta.lo, >, 0.0);
  }
}

/* ---------------------------------------------------------------------- */
/* Bootstrap                                                              */

typedef struct {
  gsize    n;
  double  *a, *b;
  guint8  *y;
  guint32 *scen;
  guint32 *user;
  guint    S;
  const char *names[4];
} Data;

static Data
make_data (guint32 seed, gsize n, guint S, guint n_users, guint levels)
{
  GRand *g = g_rand_new_with_seed (seed);
  Data d = { n, g_new (double, n), g_new (double, n), g_new (guint8, n),
             g_new (guint32, n), g_new (guint32, n), S, { "alpha", "beta", "gamma", "delta" } };

  make_pair (g, n, levels, d.a, d.b, d.y);
  for (gsize i = 0; i < n; i++)
    {
      d.scen[i] = g_rand_int_range (g, 0, S);
      /* Sparse, large user codes: the comparison must densify them. */
      d.user[i] = 1000003u * (guint32) g_rand_int_range (g, 0, n_users) + 7;
    }
  g_rand_free (g);
  return d;
}

static void
data_free (Data *d)
{
  g_free (d->a);
  g_free (d->b);
  g_free (d->y);
  g_free (d->scen);
  g_free (d->user);
}

static MsrComparison *
compare (const Data *d, const double *b, guint R, guint64 seed, guint threads, gboolean users)
{
  MsrBootstrapOptions opts;
  g_autoptr(GError) error = NULL;
  MsrComparison *c;

  msr_bootstrap_options_init (&opts);
  g_assert_cmpuint (opts.replicates, ==, 1000);
  g_assert_cmpuint (opts.seed, ==, 42);
  g_assert_cmpfloat (opts.level, ==, 0.95);
  opts.replicates = R;
  opts.seed = seed;
  opts.threads = threads;
  c = msr_compare_paired (d->a, b, d->y, d->scen, d->names, d->S, users ? d->user : NULL,
                          d->n, &opts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (c);
  return c;
}

static gboolean
interval_same (const MsrInterval *x, const MsrInterval *y)
{
  return memcmp (&x->lo, &y->lo, sizeof (double)) == 0
         && memcmp (&x->hi, &y->hi, sizeof (double)) == 0 && x->n_defined == y->n_defined;
}

static gboolean
rows_same (const MsrComparisonRow *x, const MsrComparisonRow *y)
{
  return interval_same (&x->ci_auc_a, &y->ci_auc_a) && interval_same (&x->ci_auc_b, &y->ci_auc_b)
         && interval_same (&x->ci_delta, &y->ci_delta)
         && interval_same (&x->ci_relaimpr, &y->ci_relaimpr)
         && interval_same (&x->ci_gauc_a, &y->ci_gauc_a)
         && interval_same (&x->ci_gauc_delta, &y->ci_gauc_delta);
}

static void
test_bootstrap_seed (void)
{
  Data d = make_data (7, small_mode () ? 600 : 3000, 3, 80, 50);
  guint R = small_mode () ? 40 : 200;
  g_autoptr(MsrComparison) c1 = compare (&d, d.b, R, 42, 1, TRUE);
  g_autoptr(MsrComparison) c2 = compare (&d, d.b, R, 42, 2, TRUE);
  g_autoptr(MsrComparison) c3 = compare (&d, d.b, R, 43, 2, TRUE);

  /* Same seed: identical, whatever the number of threads. */
  g_assert_true (rows_same (&c1->overall, &c2->overall));
  for (guint s = 0; s < d.S; s++)
    g_assert_true (rows_same (&c1->scenarios[s], &c2->scenarios[s]));
  for (int st = 0; st < MSR_N_STATS; st++)
    g_assert_cmpmem (msr_comparison_get_replicates (c1, 1, st), R * sizeof (double),
                     msr_comparison_get_replicates (c2, 1, st), R * sizeof (double));
  /* Another seed: different. */
  g_assert_false (interval_same (&c1->overall.ci_auc_a, &c3->overall.ci_auc_a));
  g_assert_false (interval_same (&c1->scenarios[0].ci_delta, &c3->scenarios[0].ci_delta));
  g_assert_false (interval_same (&c1->overall.ci_gauc_a, &c3->overall.ci_gauc_a));
  g_assert_cmpuint (c1->replicates, ==, R);
  g_assert_cmpuint (c3->seed, ==, 43);
  data_free (&d);
}

static void
check_contains (const MsrInterval *ci, double point, guint R, const char *what)
{
  if (ci->n_defined != R || !(ci->lo <= point && point <= ci->hi) || !(ci->lo < ci->hi))
    g_error ("%s: [%g, %g] (%u defined) does not contain %g", what, ci->lo, ci->hi,
             ci->n_defined, point);
}

static void
test_bootstrap_contains (void)
{
  Data d = make_data (11, small_mode () ? 2000 : 8000, 3, 150, 0);
  guint R = small_mode () ? 100 : 400;
  g_autoptr(MsrComparison) c = compare (&d, d.b, R, 42, 0, TRUE);

  for (guint s = 0; s <= d.S; s++)
    {
      const MsrComparisonRow *row = s == d.S ? &c->overall : &c->scenarios[s];

      check_contains (&row->ci_auc_a, row->auc_a, R, "auc_a");
      check_contains (&row->ci_auc_b, row->auc_b, R, "auc_b");
      check_contains (&row->ci_delta, row->delta, R, "delta");
      check_contains (&row->ci_relaimpr, row->relaimpr, R, "relaimpr");
      check_contains (&row->ci_gauc_a, row->gauc_a, R, "gauc_a");
      check_contains (&row->ci_gauc_delta, row->gauc_delta, R, "gauc_delta");
      g_assert_cmpstr (row->name, ==, s == d.S ? "overall" : d.names[s]);
    }
  data_free (&d);
}

static void
test_bootstrap_identical (void)
{
  Data d = make_data (5, 1500, 2, 60, 20);
  g_autoptr(MsrComparison) c = compare (&d, d.a, 100, 9, 0, TRUE);

  for (guint s = 0; s <= d.S; s++)
    {
      const MsrComparisonRow *row = s == d.S ? &c->overall : &c->scenarios[s];

      g_assert_cmpfloat (row->delta, ==, 0.0);
      g_assert_cmpfloat (row->ci_delta.lo, ==, 0.0);
      g_assert_cmpfloat (row->ci_delta.hi, ==, 0.0);
      g_assert_cmpfloat (row->ci_relaimpr.lo, ==, 0.0);
      g_assert_cmpfloat (row->ci_relaimpr.hi, ==, 0.0);
      g_assert_cmpfloat (row->ci_gauc_delta.lo, ==, 0.0);
      g_assert_cmpfloat (row->ci_gauc_delta.hi, ==, 0.0);
      g_assert_cmpfloat (row->delong.z, ==, 0.0);
      g_assert_cmpfloat (row->delong.p, ==, 1.0);
    }
  data_free (&d);
}

/* Brute-force AUC of the materialised resample (rows repeated). */
static double
materialised_auc (const double *s, const guint8 *y, const guint32 *w, const guint32 *scen,
                  gint only, gsize n)
{
  GArray *xs = g_array_new (FALSE, FALSE, sizeof (double));
  GArray *ys = g_array_new (FALSE, FALSE, sizeof (guint8));
  guint64 m = 0, nn = 0, twice = 0;

  for (gsize i = 0; i < n; i++)
    if (only < 0 || scen[i] == (guint32) only)
      for (guint32 t = 0; t < w[i]; t++)
        {
          g_array_append_val (xs, s[i]);
          g_array_append_val (ys, y[i]);
        }
  for (guint i = 0; i < xs->len; i++)
    {
      if (!g_array_index (ys, guint8, i))
        {
          nn++;
          continue;
        }
      m++;
      for (guint j = 0; j < xs->len; j++)
        if (!g_array_index (ys, guint8, j))
          {
            double xi = g_array_index (xs, double, i), xj = g_array_index (xs, double, j);

            twice += xi > xj ? 2 : xi == xj ? 1 : 0;
          }
    }
  g_array_unref (xs);
  g_array_unref (ys);
  return (m && nn) ? (double) twice / (2.0 * m * nn) : NAN;
}

static void
test_bootstrap_replicates (void)
{
  Data d = make_data (17, 400, 3, 25, 8);
  guint R = 12;
  guint64 seed = 777;
  g_autoptr(MsrComparison) c = compare (&d, d.b, R, seed, 2, TRUE);
  guint32 *strat = g_new (guint32, d.n);
  guint32 *w = g_new (guint32, d.n);
  static const guint check[] = { 0, 1, 5, 11 };

  for (gsize i = 0; i < d.n; i++)
    strat[i] = 2 * d.scen[i] + d.y[i];

  for (guint ci = 0; ci < G_N_ELEMENTS (check); ci++)
    {
      guint r = check[ci];

      msr_bootstrap_draw (strat, 2 * d.S, d.n, seed, r, 0, w);
      /* Stratified: every (scenario × label) stratum keeps its size. */
      for (guint k = 0; k < 2 * d.S; k++)
        {
          guint64 size = 0, drawn = 0;

          for (gsize i = 0; i < d.n; i++)
            if (strat[i] == k)
              {
                size++;
                drawn += w[i];
              }
          g_assert_cmpuint (size, ==, drawn);
        }
      for (gint s = -1; s < (gint) d.S; s++)
        {
          double wa = materialised_auc (d.a, d.y, w, d.scen, s, d.n);
          double wb = materialised_auc (d.b, d.y, w, d.scen, s, d.n);

          assert_abs (msr_comparison_get_replicates (c, s, MSR_STAT_AUC_A)[r], wa, 1e-12, "rep auc_a");
          assert_abs (msr_comparison_get_replicates (c, s, MSR_STAT_AUC_B)[r], wb, 1e-12, "rep auc_b");
          assert_abs (msr_comparison_get_replicates (c, s, MSR_STAT_DELTA)[r], wb - wa, 1e-12, "rep delta");
          assert_abs (msr_comparison_get_replicates (c, s, MSR_STAT_RELAIMPR)[r],
                      msr_relaimpr (wb, wa), 1e-9, "rep relaimpr");
        }
    }

  /* GAUC replicates: user clusters. Groups (scenario, user) ordered by
   * scenario then user code; users ordered by code. */
  {
    GArray *pair_s = g_array_new (FALSE, FALSE, sizeof (guint32));
    GArray *pair_u = g_array_new (FALSE, FALSE, sizeof (guint32));
    GArray *users = g_array_new (FALSE, FALSE, sizeof (guint32));
    GHashTable *seen_u = g_hash_table_new (NULL, NULL);
    GHashTable *seen_p = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

    for (gsize i = 0; i < d.n; i++)
      {
        gint64 *key = g_new (gint64, 1);

        if (!g_hash_table_contains (seen_u, GUINT_TO_POINTER (d.user[i])))
          {
            g_hash_table_add (seen_u, GUINT_TO_POINTER (d.user[i]));
            g_array_append_val (users, d.user[i]);
          }
        *key = ((gint64) d.scen[i] << 32) | d.user[i];
        if (!g_hash_table_contains (seen_p, key))
          {
            g_hash_table_add (seen_p, key);
            g_array_append_val (pair_s, d.scen[i]);
            g_array_append_val (pair_u, d.user[i]);
          }
        else
          g_free (key);
      }
    /* Sort users and pairs in the documented order (simple insertion sorts). */
    for (guint i = 1; i < users->len; i++)
      for (guint j = i; j > 0 && g_array_index (users, guint32, j - 1) > g_array_index (users, guint32, j); j--)
        {
          guint32 t = g_array_index (users, guint32, j);
          g_array_index (users, guint32, j) = g_array_index (users, guint32, j - 1);
          g_array_index (users, guint32, j - 1) = t;
        }
    for (guint i = 1; i < pair_s->len; i++)
      for (guint j = i; j > 0; j--)
        {
          guint64 x = ((guint64) g_array_index (pair_s, guint32, j - 1) << 32) | g_array_index (pair_u, guint32, j - 1);
          guint64 y = ((guint64) g_array_index (pair_s, guint32, j) << 32) | g_array_index (pair_u, guint32, j);
          guint32 t;

          if (x <= y)
            break;
          t = g_array_index (pair_s, guint32, j);
          g_array_index (pair_s, guint32, j) = g_array_index (pair_s, guint32, j - 1);
          g_array_index (pair_s, guint32, j - 1) = t;
          t = g_array_index (pair_u, guint32, j);
          g_array_index (pair_u, guint32, j) = g_array_index (pair_u, guint32, j - 1);
          g_array_index (pair_u, guint32, j - 1) = t;
        }

    for (guint ci = 0; ci < G_N_ELEMENTS (check); ci++)
      {
        guint r = check[ci];
        guint32 *cp = g_new (guint32, pair_s->len);
        guint32 *cu = g_new (guint32, users->len);
        guint32 *zero = g_new0 (guint32, users->len);

        msr_bootstrap_draw ((guint32 *) pair_s->data, d.S, pair_s->len, seed, r, 1, cp);
        msr_bootstrap_draw (zero, 1, users->len, seed, r, 2, cu);
        for (gint s = -1; s < (gint) d.S; s++)
          {
            double num_a = 0, num_b = 0, den = 0;
            guint groups = s < 0 ? users->len : pair_s->len;

            for (guint p = 0; p < groups; p++)
              {
                guint32 cnt = s < 0 ? cu[p] : cp[p];
                guint32 uc = s < 0 ? g_array_index (users, guint32, p) : g_array_index (pair_u, guint32, p);
                GArray *xa = g_array_new (FALSE, FALSE, sizeof (double));
                GArray *xb = g_array_new (FALSE, FALSE, sizeof (double));
                GArray *yy = g_array_new (FALSE, FALSE, sizeof (guint8));
                gboolean def;
                double auc_a, auc_b;

                if (s >= 0 && g_array_index (pair_s, guint32, p) != (guint32) s)
                  cnt = 0;
                for (gsize i = 0; cnt && i < d.n; i++)
                  if (d.user[i] == uc && (s < 0 || d.scen[i] == (guint32) s))
                    {
                      g_array_append_val (xa, d.a[i]);
                      g_array_append_val (xb, d.b[i]);
                      g_array_append_val (yy, d.y[i]);
                    }
                if (cnt)
                  {
                    auc_a = msr_auc ((double *) xa->data, (guint8 *) yy->data, yy->len, &def);
                    auc_b = msr_auc ((double *) xb->data, (guint8 *) yy->data, yy->len, NULL);
                    if (def)
                      {
                        num_a += (double) cnt * yy->len * auc_a;
                        num_b += (double) cnt * yy->len * auc_b;
                        den += (double) cnt * yy->len;
                      }
                  }
                g_array_unref (xa);
                g_array_unref (xb);
                g_array_unref (yy);
              }
            assert_abs (msr_comparison_get_replicates (c, s, MSR_STAT_GAUC_A)[r],
                        den ? num_a / den : NAN, 1e-12, "rep gauc_a");
            assert_abs (msr_comparison_get_replicates (c, s, MSR_STAT_GAUC_DELTA)[r],
                        den ? (num_b - num_a) / den : NAN, 1e-12, "rep gauc_delta");
          }
        g_free (cp);
        g_free (cu);
        g_free (zero);
      }
    g_array_unref (pair_s);
    g_array_unref (pair_u);
    g_array_unref (users);
    g_hash_table_unref (seen_u);
    g_hash_table_unref (seen_p);
  }

  /* Percentile intervals: linear interpolation between order statistics. */
  {
    const double *v = msr_comparison_get_replicates (c, -1, MSR_STAT_DELTA);
    double *sorted = g_memdup2 (v, R * sizeof (double));
    double h, lo, hi;

    for (guint i = 1; i < R; i++)
      for (guint j = i; j > 0 && sorted[j - 1] > sorted[j]; j--)
        {
          double t = sorted[j]; sorted[j] = sorted[j - 1]; sorted[j - 1] = t;
        }
    h = (R - 1) * 0.025;
    lo = sorted[(int) h] + (h - (int) h) * (sorted[(int) h + 1] - sorted[(int) h]);
    h = (R - 1) * 0.975;
    hi = sorted[(int) h] + (h - (int) h) * (sorted[(int) h + 1] - sorted[(int) h]);
    assert_abs (c->overall.ci_delta.lo, lo, 1e-15, "ci lo");
    assert_abs (c->overall.ci_delta.hi, hi, 1e-15, "ci hi");
    g_free (sorted);
  }

  g_free (strat);
  g_free (w);
  data_free (&d);
}

static void
test_compare_points (void)
{
  Data d = make_data (23, 2500, 4, 90, 30);
  g_autoptr(MsrComparison) c = compare (&d, d.b, 0, 1, 1, TRUE);
  g_autoptr(MsrEvalAcc) acc = msr_eval_acc_new (TRUE);
  g_autoptr(MsrEvalResult) res = NULL;

  /* Point estimates agree with the metrics module on the same rows. */
  for (guint s = 0; s < d.S; s++)
    msr_eval_acc_intern_scenario (acc, d.names[s]);
  for (gsize i = 0; i < d.n; i++)
    {
      g_autofree char *u = g_strdup_printf ("%u", d.user[i]);
      guint uc = msr_eval_acc_intern_user (acc, u);

      if (!msr_eval_acc_add (acc, d.a[i], d.y[i], d.scen[i], uc))
        g_error ("row %" G_GSIZE_FORMAT ": score %.17g not accepted", i, d.a[i]);
    }
  res = msr_eval_acc_finish (acc);
  g_assert_cmpfloat (c->overall.auc_a, ==, res->overall.auc);
  assert_abs (c->overall.gauc_a, res->overall.gauc, 1e-12, "overall gauc");
  g_assert_cmpuint (c->overall.gauc_users, ==, res->overall.gauc_users);
  g_assert_cmpuint (c->overall.gauc_users_kept, ==, res->overall.gauc_users_kept);
  g_assert_cmpuint (c->overall.gauc_rows_kept, ==, res->overall.gauc_rows_kept);
  for (guint s = 0; s < d.S; s++)
    {
      MsrDeLong dl;
      GArray *xa = g_array_new (FALSE, FALSE, sizeof (double));
      GArray *xb = g_array_new (FALSE, FALSE, sizeof (double));
      GArray *yy = g_array_new (FALSE, FALSE, sizeof (guint8));

      g_assert_cmpfloat (c->scenarios[s].auc_a, ==, res->scenarios[s].auc);
      g_assert_cmpuint (c->scenarios[s].n, ==, res->scenarios[s].n);
      g_assert_cmpuint (c->scenarios[s].positives, ==, res->scenarios[s].positives);
      assert_abs (c->scenarios[s].gauc_a, res->scenarios[s].gauc, 1e-12, "scenario gauc");
      g_assert_cmpuint (c->scenarios[s].gauc_users_kept, ==, res->scenarios[s].gauc_users_kept);
      g_assert_cmpuint (c->scenarios[s].gauc_users, ==, res->scenarios[s].gauc_users);
      for (gsize i = 0; i < d.n; i++)
        if (d.scen[i] == s)
          {
            g_array_append_val (xa, d.a[i]);
            g_array_append_val (xb, d.b[i]);
            g_array_append_val (yy, d.y[i]);
          }
      msr_delong_paired ((double *) xa->data, (double *) xb->data, (guint8 *) yy->data, yy->len, &dl);
      assert_rel (c->scenarios[s].delong.z, dl.z, 1e-12, "scenario delong z");
      assert_rel (c->scenarios[s].delong.var, dl.var, 1e-12, "scenario delong var");
      g_assert_true (isnan (c->scenarios[s].ci_delta.lo));
      g_assert_cmpuint (c->scenarios[s].ci_delta.n_defined, ==, 0);
      g_array_unref (xa);
      g_array_unref (xb);
      g_array_unref (yy);
    }
  data_free (&d);
}

static void
test_single_model (void)
{
  Data d = make_data (29, 1200, 2, 40, 0);
  g_autoptr(MsrComparison) c = compare (&d, NULL, 50, 3, 0, FALSE);

  g_assert_false (c->paired);
  g_assert_false (c->overall.has_gauc);
  g_assert_true (isnan (c->overall.delta));
  g_assert_true (isnan (c->overall.auc_b));
  g_assert_false (c->overall.delong.defined);
  g_assert_cmpuint (c->overall.ci_auc_a.n_defined, ==, 50);
  g_assert_cmpuint (c->overall.ci_delta.n_defined, ==, 0);
  g_assert_cmpfloat (c->overall.ci_auc_a.lo, <, c->overall.auc_a);
  data_free (&d);
}

typedef struct {
  GCancellable *cancellable;
  guint calls;
  double last;
  gboolean monotone;
} Prog;

static void
on_progress (double fraction, const char *stage, gpointer data)
{
  Prog *p = data;

  g_assert_cmpstr (stage, ==, "bootstrap");
  if (fraction < p->last)
    p->monotone = FALSE;
  p->last = fraction;
  p->calls++;
  if (p->cancellable && p->calls == 5)
    g_cancellable_cancel (p->cancellable);
}

static void
test_progress_cancel_errors (void)
{
  Data d = make_data (31, 500, 2, 20, 0);
  MsrBootstrapOptions opts;
  g_autoptr(GError) error = NULL;
  Prog p = { NULL, 0, 0, TRUE };

  msr_bootstrap_options_init (&opts);
  opts.replicates = 60;
  opts.threads = 1;
  {
    g_autoptr(MsrComparison) c = msr_compare_paired (d.a, d.b, d.y, d.scen, d.names, d.S, d.user,
                                                     d.n, &opts, on_progress, &p, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (p.calls, ==, 60);
    g_assert_true (p.monotone);
    g_assert_cmpfloat (p.last, ==, 1.0);
  }
  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();
    Prog q = { cancellable, 0, 0, TRUE };
    MsrComparison *c;

    opts.threads = 2;
    c = msr_compare_paired (d.a, d.b, d.y, d.scen, d.names, d.S, d.user, d.n, &opts,
                            on_progress, &q, cancellable, &error);
    g_assert_null (c);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);
    g_assert_cmpuint (q.calls, <, 60);
  }
  /* Bad input. */
  d.b[7] = NAN;
  g_assert_null (msr_compare_paired (d.a, d.b, d.y, d.scen, d.names, d.S, NULL, d.n, &opts,
                                     NULL, NULL, NULL, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "row 7"));
  g_clear_error (&error);
  d.b[7] = 0.5;
  d.scen[3] = d.S;
  g_assert_null (msr_compare_paired (d.a, d.b, d.y, d.scen, d.names, d.S, NULL, d.n, &opts,
                                     NULL, NULL, NULL, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_clear_error (&error);
  d.scen[3] = 0;
  opts.level = 1.5;
  g_assert_null (msr_compare_paired (d.a, d.b, d.y, d.scen, d.names, d.S, NULL, d.n, &opts,
                                     NULL, NULL, NULL, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  data_free (&d);
}

static void
test_edge_cases (void)
{
  /* Scenario 0 has rows of both classes, 1 only positives, 2 no rows. */
  double a[] = { 0.1, 0.7, 0.4, 0.9, 0.6, 0.2, 0.3 };
  double b[] = { 0.2, 0.6, 0.5, 0.8, 0.6, 0.1, 0.4 };
  guint8 y[] = { 0, 1, 0, 1, 1, 1, 0 };
  guint32 sc[] = { 0, 0, 0, 0, 1, 1, 0 };
  guint32 us[] = { 5, 5, 9, 9, 5, 9, 5 };
  const char *names[] = { "x", "y", "z" };
  MsrBootstrapOptions opts;
  g_autoptr(GError) error = NULL;

  msr_bootstrap_options_init (&opts);
  opts.replicates = 30;
  {
    g_autoptr(MsrComparison) c = msr_compare_paired (a, b, y, sc, names, 3, us, 7, &opts,
                                                     NULL, NULL, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (c->n_scenarios, ==, 3);
    g_assert_false (isnan (c->scenarios[0].auc_a));
    g_assert_cmpuint (c->scenarios[0].ci_auc_a.n_defined, ==, 30);
    g_assert_true (isnan (c->scenarios[1].auc_a));
    g_assert_cmpuint (c->scenarios[1].positives, ==, 2);
    g_assert_cmpuint (c->scenarios[1].ci_auc_a.n_defined, ==, 0);
    g_assert_true (isnan (c->scenarios[1].ci_auc_a.lo));
    g_assert_true (isnan (c->scenarios[1].gauc_a));
    g_assert_cmpuint (c->scenarios[1].gauc_users, ==, 2);
    g_assert_cmpuint (c->scenarios[1].gauc_users_kept, ==, 0);
    g_assert_cmpuint (c->scenarios[2].n, ==, 0);
    g_assert_true (isnan (c->scenarios[2].auc_a));
    g_assert_cmpuint (c->scenarios[2].gauc_users, ==, 0);
    g_assert_false (c->scenarios[2].delong.defined);
    g_assert_cmpstr (c->scenarios[2].name, ==, "z");
    /* Users 5 and 9 both have both classes overall. */
    g_assert_cmpuint (c->overall.gauc_users, ==, 2);
    g_assert_cmpuint (c->overall.gauc_users_kept, ==, 2);
    g_assert_cmpuint (c->overall.gauc_rows_kept, ==, 7);
    g_assert_cmpuint (c->overall.n, ==, 7);
  }
  {
    /* No rows at all. */
    g_autoptr(MsrComparison) c = msr_compare_paired (NULL, NULL, NULL, NULL, NULL, 0, NULL, 0,
                                                     &opts, NULL, NULL, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (c->overall.n, ==, 0);
    g_assert_true (isnan (c->overall.auc_a));
    g_assert_cmpuint (c->overall.ci_auc_a.n_defined, ==, 0);
  }
}

static void
test_holm (void)
{
  /* Sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 →
   * running max 0.06. */
  double p[] = { 0.01, 0.04, 0.03, 0.005 };
  double want[] = { 0.03, 0.06, 0.06, 0.02 };
  double got[4];
  /* Capped at 1, NaN skipped (3 tests). */
  double q[] = { 0.5, NAN, 0.2, 0.01 };
  double want_q[] = { 0.5, NAN, 0.4, 0.03 };
  double got_q[4];
  /* Ties: 0.02, 0.02, 0.9 → 0.06, 0.06 (running max), 0.9. */
  double t[] = { 0.9, 0.02, 0.02 };
  double want_t[] = { 0.9, 0.06, 0.06 };

  msr_holm_adjust (p, 4, got);
  for (int i = 0; i < 4; i++)
    assert_abs (got[i], want[i], 1e-15, "holm");
  msr_holm_adjust (q, 4, got_q);
  for (int i = 0; i < 4; i++)
    assert_abs (got_q[i], want_q[i], 1e-15, "holm nan");
  msr_holm_adjust (t, 3, t);
  for (int i = 0; i < 3; i++)
    assert_abs (t[i], want_t[i], 1e-15, "holm ties in place");
  {
    double big[] = { 0.4, 0.6 };

    msr_holm_adjust (big, 2, big);
    assert_abs (big[0], 0.8, 1e-15, "holm cap");
    assert_abs (big[1], 0.8, 1e-15, "holm cap monotone");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/stats/delong-direct", test_delong_direct);
  g_test_add_func ("/stats/delong-degenerate", test_delong_degenerate);
  g_test_add_func ("/stats/oracle-case2", test_oracle_case2);
  g_test_add_func ("/stats/bootstrap-seed", test_bootstrap_seed);
  g_test_add_func ("/stats/bootstrap-contains", test_bootstrap_contains);
  g_test_add_func ("/stats/bootstrap-identical", test_bootstrap_identical);
  g_test_add_func ("/stats/bootstrap-replicates", test_bootstrap_replicates);
  g_test_add_func ("/stats/compare-points", test_compare_points);
  g_test_add_func ("/stats/single-model", test_single_model);
  g_test_add_func ("/stats/progress-cancel-errors", test_progress_cancel_errors);
  g_test_add_func ("/stats/edge-cases", test_edge_cases);
  g_test_add_func ("/stats/holm", test_holm);
  return g_test_run ();
}

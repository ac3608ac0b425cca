/* test-metrics.c: AUC, logloss and GAUC against brute-force definitions and
 * the oracle; exact shard merging; hostile accumulator files. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "msr-metrics.h"
#include "test-util.h"

static gboolean
small_mode (void)
{
  return g_getenv ("MSR_TEST_SMALL") != NULL;
}

/* ---------------------------------------------------------------------- */
/* Brute-force definitions                                                */

/* (1/mn) Σ_i Σ_j [1(x_i > y_j) + ½·1(x_i = y_j)], O(mn). */
static double
brute_auc (const double *s,
           const guint8 *y,
           const gsize  *idx,
           gsize         n,
           gboolean     *defined)
{
  guint64 m = 0, neg = 0, twice = 0;

  for (gsize a = 0; a < n; a++)
    {
      gsize i = idx ? idx[a] : a;

      if (!y[i])
        {
          neg++;
          continue;
        }
      m++;
      for (gsize b = 0; b < n; b++)
        {
          gsize j = idx ? idx[b] : b;

          if (y[j])
            continue;
          twice += s[i] > s[j] ? 2 : s[i] == s[j] ? 1 : 0;
        }
    }
  *defined = m > 0 && neg > 0;
  return *defined ? (double) twice / (2.0 * (double) m * (double) neg) : NAN;
}

static double
brute_logloss (const double *s,
               const guint8 *y,
               const gsize  *idx,
               gsize         n)
{
  double sum = 0;

  for (gsize a = 0; a < n; a++)
    {
      gsize i = idx ? idx[a] : a;
      double p = CLAMP (s[i], 1e-7, 1 - 1e-7);

      sum += y[i] ? -log (p) : -log (1 - p);
    }
  return sum / n;
}

typedef struct {
  gsize    n;
  double  *score;
  guint8  *label;
  char   **user;       /* names */
  char   **scen;
} Rows;

static void
rows_free (Rows *r)
{
  g_free (r->score);
  g_free (r->label);
  g_strfreev (r->user);
  g_strfreev (r->scen);
}

typedef struct {
  guint64  n, positives;
  double   auc, logloss, gauc, gauc_click;
  gboolean auc_defined, gauc_defined;
  guint64  users_kept, users, rows_kept;
} Expect;

/* Brute-force metrics of the rows selected by keep (scenario name, or NULL
 * for all rows); GAUC groups by user within the selection. */
static Expect
brute_block (const Rows *r,
             const char *scen)
{
  Expect e = { 0 };
  GArray *sel = g_array_new (FALSE, FALSE, sizeof (gsize));
  GHashTable *by_user = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                               (GDestroyNotify) g_array_unref);
  GHashTableIter it;
  gpointer k, v;
  double sw = 0, swc = 0;
  guint64 w = 0, wc = 0;

  for (gsize i = 0; i < r->n; i++)
    if (!scen || strcmp (r->scen[i], scen) == 0)
      {
        GArray *ua;

        g_array_append_val (sel, i);
        e.positives += r->label[i] != 0;
        ua = g_hash_table_lookup (by_user, r->user[i]);
        if (!ua)
          {
            ua = g_array_new (FALSE, FALSE, sizeof (gsize));
            g_hash_table_insert (by_user, r->user[i], ua);
          }
        g_array_append_val (ua, i);
      }
  e.n = sel->len;
  e.auc = brute_auc (r->score, r->label, (gsize *) sel->data, sel->len, &e.auc_defined);
  e.logloss = sel->len ? brute_logloss (r->score, r->label, (gsize *) sel->data, sel->len) : NAN;

  g_hash_table_iter_init (&it, by_user);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      GArray *ua = v;
      gboolean def;
      double auc = brute_auc (r->score, r->label, (gsize *) ua->data, ua->len, &def);
      guint64 pos = 0;

      for (guint j = 0; j < ua->len; j++)
        pos += r->label[g_array_index (ua, gsize, j)] != 0;
      e.users++;
      if (!def)
        continue;
      e.users_kept++;
      e.rows_kept += ua->len;
      sw += ua->len * auc;
      w += ua->len;
      swc += pos * auc;
      wc += pos;
    }
  e.gauc_defined = w > 0;
  e.gauc = w ? sw / w : NAN;
  e.gauc_click = wc ? swc / wc : NAN;
  g_hash_table_unref (by_user);
  g_array_unref (sel);
  return e;
}

static void
assert_close (double got, double want, double tol, const char *what)
{
  if (isnan (want) && isnan (got))
    return;
  if (!(fabs (got - want) <= tol))
    g_error ("%s: got %.17g, want %.17g (tolerance %g)", what, got, want, tol);
}

static void
check_against (const MsrMetrics *mt,
               const Expect     *e,
               gboolean          users,
               const char       *what)
{
  g_autofree char *w1 = g_strdup_printf ("%s auc", what);
  g_autofree char *w2 = g_strdup_printf ("%s logloss", what);
  g_autofree char *w3 = g_strdup_printf ("%s gauc", what);
  g_autofree char *w4 = g_strdup_printf ("%s gauc_click", what);

  g_assert_cmpuint (mt->n, ==, e->n);
  g_assert_cmpuint (mt->positives, ==, e->positives);
  g_assert_cmpint (mt->auc_defined, ==, e->auc_defined);
  g_assert_cmpint (isnan (mt->auc), ==, !e->auc_defined);
  assert_close (mt->auc, e->auc, 1e-12, w1);
  g_assert_cmpint (mt->logloss_defined, ==, e->n > 0);
  assert_close (mt->logloss, e->logloss, 1e-12, w2);
  if (!users)
    {
      g_assert_false (mt->gauc_defined);
      return;
    }
  g_assert_cmpint (mt->gauc_defined, ==, e->gauc_defined);
  assert_close (mt->gauc, e->gauc, 1e-12, w3);
  assert_close (mt->gauc_click, e->gauc_click, 1e-12, w4);
  g_assert_cmpuint (mt->gauc_users, ==, e->users);
  g_assert_cmpuint (mt->gauc_users_kept, ==, e->users_kept);
  g_assert_cmpuint (mt->gauc_rows_kept, ==, e->rows_kept);
  g_assert_cmpuint (mt->gauc_rows, ==, e->n);
}

/* ---------------------------------------------------------------------- */
/* Random data                                                            */

/* n rows, n_users users, n_scen scenarios; scores drawn from `levels`
 * distinct values (heavy ties when small) or continuous when 0. */
static Rows
random_rows (guint32 seed,
             gsize   n,
             guint   n_users,
             guint   n_scen,
             guint   levels)
{
  GRand *g = g_rand_new_with_seed (seed);
  Rows r = { n, g_new (double, MAX (n, 1)), g_new (guint8, MAX (n, 1)),
             g_new0 (char *, n + 1), g_new0 (char *, n + 1) };

  for (gsize i = 0; i < n; i++)
    {
      guint u = g_rand_int_range (g, 0, n_users);
      guint s = g_rand_int_range (g, 0, n_scen);
      double x = g_rand_double (g);

      if (levels)
        x = (double) g_rand_int_range (g, 0, levels + 1) / levels;
      r.score[i] = x;
      /* Informative labels with a scenario-specific base rate. */
      r.label[i] = g_rand_double (g) < 0.15 + 0.5 * x * (s + 1) / n_scen;
      /* Scenario "s2" is all positive when there are more than two. */
      if (n_scen > 2 && s == 2)
        r.label[i] = 1;
      r.user[i] = g_strdup_printf ("user%u", u);
      r.scen[i] = g_strdup_printf ("s%u", s);
    }
  g_rand_free (g);
  return r;
}

static MsrEvalAcc *
acc_from_rows (const Rows *r,
               gboolean    users,
               const gsize *order,
               gsize        lo,
               gsize        hi)
{
  MsrEvalAcc *acc = msr_eval_acc_new (users);

  for (gsize k = lo; k < hi; k++)
    {
      gsize i = order ? order[k] : k;
      guint sc = msr_eval_acc_intern_scenario (acc, r->scen[i]);
      guint uc = users ? msr_eval_acc_intern_user (acc, r->user[i]) : 0;

      g_assert_true (msr_eval_acc_add (acc, r->score[i], r->label[i], sc, uc));
    }
  return acc;
}

static void
check_acc_vs_brute (const Rows *r,
                    gboolean    users)
{
  g_autoptr(MsrEvalAcc) acc = acc_from_rows (r, users, NULL, 0, r->n);
  g_autoptr(MsrEvalResult) res = msr_eval_acc_finish (acc);
  Expect all = brute_block (r, NULL);
  double macro_auc = 0, w_auc = 0, macro_ll = 0, w_ll = 0, macro_g = 0, w_g = 0;
  guint k_auc = 0, k_ll = 0, k_g = 0;
  guint64 n_auc = 0, n_ll = 0, n_g = 0;

  g_assert_cmpuint (res->n_rows, ==, r->n);
  g_assert_cmpint (res->has_users, ==, users);
  g_assert_cmpfloat (res->logloss_epsilon, ==, 1e-7);
  check_against (&res->overall, &all, users, "overall");
  for (guint s = 0; s < res->n_scenarios; s++)
    {
      Expect e = brute_block (r, res->scenario_names[s]);

      check_against (&res->scenarios[s], &e, users, res->scenario_names[s]);
      if (e.auc_defined)
        {
          macro_auc += e.auc;
          w_auc += e.n * e.auc;
          n_auc += e.n;
          k_auc++;
        }
      if (e.n)
        {
          macro_ll += e.logloss;
          w_ll += e.n * e.logloss;
          n_ll += e.n;
          k_ll++;
        }
      if (e.gauc_defined)
        {
          macro_g += e.gauc;
          w_g += e.n * e.gauc;
          n_g += e.n;
          k_g++;
        }
    }
  g_assert_cmpuint (res->macro.auc_scenarios, ==, k_auc);
  g_assert_cmpuint (res->weighted.auc_scenarios, ==, k_auc);
  g_assert_cmpuint (res->macro.logloss_scenarios, ==, k_ll);
  g_assert_cmpuint (res->macro.gauc_scenarios, ==, users ? k_g : 0);
  assert_close (res->macro.auc, k_auc ? macro_auc / k_auc : NAN, 1e-12, "macro auc");
  assert_close (res->weighted.auc, k_auc ? w_auc / n_auc : NAN, 1e-12, "weighted auc");
  assert_close (res->macro.logloss, k_ll ? macro_ll / k_ll : NAN, 1e-12, "macro logloss");
  assert_close (res->weighted.logloss, k_ll ? w_ll / n_ll : NAN, 1e-12, "weighted logloss");
  if (users)
    {
      assert_close (res->macro.gauc, k_g ? macro_g / k_g : NAN, 1e-12, "macro gauc");
      assert_close (res->weighted.gauc, k_g ? w_g / n_g : NAN, 1e-12, "weighted gauc");
    }
  g_assert_cmpuint (res->macro.n, ==, r->n);
}

static void
test_brute_force (void)
{
  static const gsize sizes[] = { 1, 2, 10, 57, 400, 2500 };
  static const guint levels[] = { 1, 3, 20, 1000, 0 };

  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++)
    for (guint li = 0; li < G_N_ELEMENTS (levels); li++)
      for (guint32 seed = 1; seed <= 3; seed++)
        {
          Rows r;

          if (small_mode () && sizes[si] > 400)
            continue;
          r = random_rows (seed * 1000 + si * 10 + li, sizes[si],
                           MAX (sizes[si] / 12, 1), 3 + seed % 2, levels[li]);
          check_acc_vs_brute (&r, TRUE);
          check_acc_vs_brute (&r, FALSE);

          /* The plain helpers on the same rows. */
          {
            gboolean d1, d2;
            double a1 = msr_auc (r.score, r.label, r.n, &d1);
            double a2 = brute_auc (r.score, r.label, NULL, r.n, &d2);

            g_assert_cmpint (d1, ==, d2);
            assert_close (a1, a2, 1e-12, "msr_auc");
            assert_close (msr_logloss (r.score, r.label, r.n, &d1),
                          brute_logloss (r.score, r.label, NULL, r.n), 1e-12, "msr_logloss");
            g_assert_true (d1);
          }
          rows_free (&r);
        }
}

static void
test_weighted_auc (void)
{
  GRand *g = g_rand_new_with_seed (77);

  for (int rep = 0; rep < 20; rep++)
    {
      gsize n = g_rand_int_range (g, 1, 60), total = 0;
      double *s = g_new (double, n);
      guint8 *y = g_new (guint8, n);
      guint32 *w = g_new (guint32, n);
      GArray *xs = g_array_new (FALSE, FALSE, sizeof (double));
      GArray *ys = g_array_new (FALSE, FALSE, sizeof (guint8));
      gboolean d1, d2;
      double a1, a2;

      for (gsize i = 0; i < n; i++)
        {
          s[i] = g_rand_int_range (g, 0, 6) / 5.0;
          y[i] = g_rand_boolean (g);
          w[i] = g_rand_int_range (g, 0, 4);
          for (guint32 t = 0; t < w[i]; t++)
            {
              g_array_append_val (xs, s[i]);
              g_array_append_val (ys, y[i]);
            }
          total += w[i];
        }
      a1 = msr_auc_weighted (s, y, w, n, &d1);
      a2 = brute_auc ((double *) xs->data, (guint8 *) ys->data, NULL, total, &d2);
      g_assert_cmpint (d1, ==, d2);
      assert_close (a1, a2, 1e-12, "weighted auc");
      g_free (s);
      g_free (y);
      g_free (w);
      g_array_unref (xs);
      g_array_unref (ys);
    }
  g_rand_free (g);
}

static void
test_undefined (void)
{
  g_autoptr(MsrEvalAcc) acc = msr_eval_acc_new (TRUE);
  g_autoptr(MsrEvalResult) empty = msr_eval_acc_finish (acc);
  guint s_pos, s_none, u;
  gboolean def = TRUE;
  double one = 0.3, zero = 0.0;
  guint8 lab1 = 1;

  g_assert_false (empty->overall.auc_defined);
  g_assert_true (isnan (empty->overall.auc));
  g_assert_false (empty->overall.logloss_defined);
  g_assert_false (empty->overall.gauc_defined);
  g_assert_cmpuint (empty->n_scenarios, ==, 0);
  g_assert_false (empty->macro.auc_defined);
  g_assert_cmpuint (empty->macro.auc_scenarios, ==, 0);

  s_pos = msr_eval_acc_intern_scenario (acc, "only-positives");
  s_none = msr_eval_acc_intern_scenario (acc, "no-rows");
  u = msr_eval_acc_intern_user (acc, "u");
  g_assert_cmpuint (msr_eval_acc_intern_scenario (acc, "only-positives"), ==, s_pos);
  g_assert_true (msr_eval_acc_add (acc, 0.2, TRUE, s_pos, u));
  g_assert_true (msr_eval_acc_add (acc, 0.9, TRUE, s_pos, u));
  {
    g_autoptr(MsrEvalResult) res = msr_eval_acc_finish (acc);

    g_assert_false (res->overall.auc_defined);
    g_assert_true (res->overall.logloss_defined);
    assert_close (res->overall.logloss, (-log (0.2) - log (0.9)) / 2, 1e-15, "logloss");
    g_assert_false (res->overall.gauc_defined);
    g_assert_cmpuint (res->overall.gauc_users, ==, 1);
    g_assert_cmpuint (res->overall.gauc_users_kept, ==, 0);
    g_assert_false (res->scenarios[s_none].logloss_defined);
    g_assert_cmpuint (res->scenarios[s_none].n, ==, 0);
    g_assert_cmpuint (res->scenarios[s_none].gauc_users, ==, 0);
    g_assert_cmpuint (res->macro.logloss_scenarios, ==, 1);
    g_assert_cmpuint (res->macro.auc_scenarios, ==, 0);
  }

  g_assert_true (isnan (msr_auc (NULL, NULL, 0, &def)));
  g_assert_false (def);
  g_assert_true (isnan (msr_auc (&one, &lab1, 1, &def)));
  g_assert_false (def);
  g_assert_true (isnan (msr_logloss (NULL, NULL, 0, &def)));
  g_assert_false (def);
  /* Clipping: a positive scored 0 costs −log(1e-7). */
  assert_close (msr_logloss (&zero, &lab1, 1, &def), -log (1e-7), 1e-12, "clipped");
  g_assert_true (def);
}

static void
test_ties_and_zero (void)
{
  /* -0.0 and +0.0 tie: one positive at -0.0, one negative at +0.0. */
  double s[] = { -0.0, 0.0, 0.5, 0.5 };
  guint8 y[] = { 1, 0, 1, 0 };
  gboolean def;
  g_autoptr(MsrEvalAcc) acc = msr_eval_acc_new (FALSE);
  guint sc = msr_eval_acc_intern_scenario (acc, "x");
  g_autoptr(MsrEvalResult) res = NULL;

  /* Pairs: (−0, +0) ½, (−0, .5) 0, (.5, +0) 1, (.5, .5) ½ -> 2/4. */
  assert_close (msr_auc (s, y, 4, &def), 0.5, 0, "tie auc");
  for (int i = 0; i < 4; i++)
    g_assert_true (msr_eval_acc_add (acc, s[i], y[i], sc, 0));
  res = msr_eval_acc_finish (acc);
  assert_close (res->overall.auc, 0.5, 0, "acc tie auc");
}

static void
test_rejects (void)
{
  g_autoptr(MsrEvalAcc) acc = msr_eval_acc_new (FALSE);
  g_autoptr(MsrEvalAcc) with = msr_eval_acc_new (TRUE);
  g_autoptr(GError) error = NULL;
  guint sc = msr_eval_acc_intern_scenario (acc, "a");
  double bad[] = { NAN, INFINITY, -INFINITY, -1e-300, 1.0000000000000002, 2.0 };
  double scores[] = { 0.1, 0.0, 1.0, 1.5 };
  guint8 labels[] = { 1, 0, 1, 0 };
  gsize bad_row = 99;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (msr_eval_acc_add (acc, bad[i], TRUE, sc, 0));
  g_assert_cmpuint (msr_eval_acc_get_n_rows (acc), ==, 0);
  g_assert_true (msr_eval_acc_add (acc, 0.0, TRUE, sc, 0));
  g_assert_true (msr_eval_acc_add (acc, 1.0, FALSE, sc, 0));

  /* Batch: checked first, nothing added on a bad row. */
  g_assert_false (msr_eval_acc_add_batch (acc, scores, labels, NULL, NULL, 4, &bad_row, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "row 3"));
  g_assert_cmpuint (bad_row, ==, 3);
  g_assert_cmpuint (msr_eval_acc_get_n_rows (acc), ==, 2);
  g_clear_error (&error);
  {
    guint32 codes[] = { 0, 0, 5 };

    g_assert_false (msr_eval_acc_add_batch (acc, scores, labels, codes, NULL, 3, &bad_row, &error));
    g_assert_cmpuint (bad_row, ==, 2);
    g_clear_error (&error);
  }
  g_assert_true (msr_eval_acc_add_batch (acc, scores, labels, NULL, NULL, 3, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (msr_eval_acc_get_n_rows (acc), ==, 5);

  g_assert_false (msr_eval_acc_merge (acc, with, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_MISMATCH);
  g_clear_error (&error);
  g_assert_false (msr_eval_acc_merge (with, acc, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_MISMATCH);
}

static void
test_relaimpr (void)
{
  /* Method spec 6.5: Uni-CTR vs PNN on Amazon Fashion, 0.2523/0.1979 − 1. */
  assert_close (msr_relaimpr (0.7523, 0.6979), (0.2523 / 0.1979 - 1) * 100, 1e-9, "relaimpr");
  assert_close (msr_relaimpr (0.7523, 0.6979), 27.488630621526, 1e-9, "relaimpr value");
  g_assert_true (isnan (msr_relaimpr (0.7, 0.5)));
  g_assert_true (isnan (msr_relaimpr (NAN, 0.6)));
  g_assert_true (isnan (msr_relaimpr (0.7, NAN)));
  assert_close (msr_relaimpr (0.6, 0.6), 0.0, 0, "equal");
}

/* ---------------------------------------------------------------------- */
/* Oracle                                                                 */

typedef struct {
  char  **header;
  GPtrArray *lines;   /* char ** per line */
} Tsv;

static gboolean
tsv_read (const char *path,
          Tsv        *t)
{
  g_autofree char *text = NULL;
  char **lines;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  lines = g_strsplit (text, "\n", -1);
  t->header = g_strsplit (lines[0], "\t", -1);
  t->lines = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  for (guint i = 1; lines[i]; i++)
    {
      g_strchomp (lines[i]);
      if (lines[i][0])
        g_ptr_array_add (t->lines, g_strsplit (lines[i], "\t", -1));
    }
  g_strfreev (lines);
  return TRUE;
}

static int
tsv_col (const Tsv  *t,
         const char *name)
{
  for (int i = 0; t->header[i]; i++)
    if (strcmp (g_strchomp (t->header[i]), name) == 0)
      return i;
  g_error ("no column %s", name);
  return -1;
}

static void
tsv_clear (Tsv *t)
{
  g_strfreev (t->header);
  g_ptr_array_unref (t->lines);
}

#define oracle_dir msr_test_oracle_dir

static void
check_oracle_block (const MsrMetrics *mt,
                    JsonObject       *o,
                    const char       *what)
{
  g_autofree char *w1 = g_strdup_printf ("oracle %s auc", what);
  g_autofree char *w2 = g_strdup_printf ("oracle %s logloss", what);
  g_autofree char *w3 = g_strdup_printf ("oracle %s gauc", what);

  g_assert_cmpuint (mt->n, ==, json_object_get_int_member (o, "n"));
  g_assert_cmpuint (mt->positives, ==, json_object_get_int_member (o, "positives"));
  if (json_object_get_null_member (o, "auc"))
    {
      g_assert_false (mt->auc_defined);
      g_assert_true (isnan (mt->auc));
    }
  else
    {
      g_assert_true (mt->auc_defined);
      assert_close (mt->auc, json_object_get_double_member (o, "auc"), 1e-12, w1);
    }
  g_assert_true (mt->logloss_defined);
  assert_close (mt->logloss, json_object_get_double_member (o, "logloss"), 1e-12, w2);
  if (json_object_get_null_member (o, "gauc"))
    {
      g_assert_false (mt->gauc_defined);
      g_assert_true (isnan (mt->gauc));
    }
  else
    {
      g_assert_true (mt->gauc_defined);
      assert_close (mt->gauc, json_object_get_double_member (o, "gauc"), 1e-12, w3);
    }
  g_assert_cmpuint (mt->gauc_users_kept, ==, json_object_get_int_member (o, "gauc_users_kept"));
  g_assert_cmpuint (mt->gauc_users, ==, json_object_get_int_member (o, "gauc_users"));
  g_assert_cmpuint (mt->gauc_rows_kept, ==, json_object_get_int_member (o, "gauc_rows_kept"));
}

static void
test_oracle_case1 (void)
{
  g_autofree char *tsv_path = g_build_filename (oracle_dir (), "case1.tsv", NULL);
  g_autofree char *json_path = g_build_filename (oracle_dir (), "expected.json", NULL);
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(MsrEvalAcc) acc = msr_eval_acc_new (TRUE);
  g_autoptr(MsrEvalResult) res = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *c1, *scen;
  Tsv t = { NULL, NULL };
  int cu, cs, cl, cx;
  GList *names;

  if (!g_file_test (tsv_path, G_FILE_TEST_EXISTS) || !g_file_test (json_path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *msg = g_strdup_printf ("oracle not found: %s", tsv_path);
      g_test_skip (msg);
      return;
    }
  g_assert_true (tsv_read (tsv_path, &t));
  cu = tsv_col (&t, "user");
  cs = tsv_col (&t, "scenario");
  cl = tsv_col (&t, "label");
  cx = tsv_col (&t, "score");
  g_assert_cmpuint (t.lines->len, ==, 3000);
  for (guint i = 0; i < t.lines->len; i++)
    {
      char **f = g_ptr_array_index (t.lines, i);
      guint sc = msr_eval_acc_intern_scenario (acc, f[cs]);
      guint uc = msr_eval_acc_intern_user (acc, f[cu]);

      g_assert_true (msr_eval_acc_add (acc, g_ascii_strtod (f[cx], NULL),
                                       strcmp (f[cl], "1") == 0, sc, uc));
    }
  tsv_clear (&t);
  res = msr_eval_acc_finish (acc);

  parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, json_path, &error));
  g_assert_no_error (error);
  c1 = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), "case1.tsv");
  check_oracle_block (&res->overall, json_object_get_object_member (c1, "overall"), "overall");
  g_assert_cmpuint (res->overall.gauc_rows, ==, 3000);
  scen = json_object_get_object_member (c1, "scenarios");
  names = json_object_get_members (scen);
  g_assert_cmpuint (g_list_length (names), ==, res->n_scenarios);
  for (GList *l = names; l; l = l->next)
    {
      int s = msr_eval_result_find_scenario (res, l->data);

      g_assert_cmpint (s, >=, 0);
      check_oracle_block (&res->scenarios[s], json_object_get_object_member (scen, l->data), l->data);
    }
  g_list_free (names);
  /* gamma: only positives, so 2 of 3 scenarios have an AUC. */
  g_assert_cmpuint (res->macro.auc_scenarios, ==, 2);
  g_assert_cmpuint (res->macro.logloss_scenarios, ==, 3);
  g_assert_cmpuint (res->macro.gauc_scenarios, ==, 2);
}

/* ---------------------------------------------------------------------- */
/* Exact merging                                                          */

static gboolean
same_double (double a, double b)
{
  return memcmp (&a, &b, sizeof a) == 0 || (isnan (a) && isnan (b));
}

static void
assert_metrics_identical (const MsrMetrics *a,
                          const MsrMetrics *b,
                          const char       *what)
{
  if (a->n != b->n || a->positives != b->positives
      || a->auc_defined != b->auc_defined || a->logloss_defined != b->logloss_defined
      || a->gauc_defined != b->gauc_defined || a->gauc_users != b->gauc_users
      || a->gauc_users_kept != b->gauc_users_kept || a->gauc_rows_kept != b->gauc_rows_kept
      || a->gauc_rows != b->gauc_rows || a->auc_scenarios != b->auc_scenarios
      || a->logloss_scenarios != b->logloss_scenarios || a->gauc_scenarios != b->gauc_scenarios)
    g_error ("%s: counts differ", what);
  if (!same_double (a->auc, b->auc) || !same_double (a->logloss, b->logloss)
      || !same_double (a->gauc, b->gauc) || !same_double (a->gauc_click, b->gauc_click))
    g_error ("%s: not bit-identical: auc %.17g/%.17g logloss %.17g/%.17g gauc %.17g/%.17g",
             what, a->auc, b->auc, a->logloss, b->logloss, a->gauc, b->gauc);
}

static void
assert_results_identical (const MsrEvalResult *a,
                          const MsrEvalResult *b,
                          const char          *what)
{
  g_assert_cmpuint (a->n_scenarios, ==, b->n_scenarios);
  g_assert_cmpuint (a->n_rows, ==, b->n_rows);
  assert_metrics_identical (&a->overall, &b->overall, what);
  assert_metrics_identical (&a->macro, &b->macro, what);
  assert_metrics_identical (&a->weighted, &b->weighted, what);
  for (guint s = 0; s < a->n_scenarios; s++)
    {
      int t = msr_eval_result_find_scenario (b, a->scenario_names[s]);

      g_assert_cmpint (t, >=, 0);
      assert_metrics_identical (&a->scenarios[s], &b->scenarios[t], what);
    }
}

static MsrEvalAcc *
roundtrip (MsrEvalAcc *acc)
{
  g_autoptr(GBytes) bytes = msr_eval_acc_serialize (acc);
  g_autoptr(GError) error = NULL;
  MsrEvalAcc *back = msr_eval_acc_deserialize (bytes, "shard", &error);

  g_assert_no_error (error);
  g_assert_nonnull (back);
  return back;
}

static void
shuffle (GRand *g, gsize *v, gsize n)
{
  for (gsize i = n; i > 1; i--)
    {
      gsize j = g_rand_int_range (g, 0, (gint32) i);
      gsize t = v[i - 1]; v[i - 1] = v[j]; v[j] = t;
    }
}

static void
check_merge_exact (guint32 seed,
                   gsize   n,
                   guint   levels,
                   gboolean users)
{
  Rows r = random_rows (seed, n, MAX (n / 15, 2), 4, levels);
  GRand *g = g_rand_new_with_seed (seed ^ 0x5bd1e995);
  guint k = g_rand_int_range (g, 2, 7);
  g_autoptr(MsrEvalAcc) one = acc_from_rows (&r, users, NULL, 0, n);
  g_autoptr(MsrEvalResult) want = msr_eval_acc_finish (one);
  gsize *order = g_new (gsize, MAX (n, 1));
  gsize *cut = g_new (gsize, k + 1);
  MsrEvalAcc **shard = g_new0 (MsrEvalAcc *, k);
  g_autoptr(GError) error = NULL;

  /* Shards: a random permutation cut at random points, so every shard sees
   * its rows in shuffled order and interns names in its own order. */
  for (gsize i = 0; i < n; i++)
    order[i] = i;
  shuffle (g, order, n);
  cut[0] = 0;
  cut[k] = n;
  for (guint i = 1; i < k; i++)
    cut[i] = g_rand_int_range (g, 0, (gint32) n + 1);
  for (guint i = 1; i < k; i++)
    for (guint j = i + 1; j < k; j++)
      if (cut[j] < cut[i])
        {
          gsize t = cut[i]; cut[i] = cut[j]; cut[j] = t;
        }
  for (guint i = 0; i < k; i++)
    {
      shard[i] = acc_from_rows (&r, users, order, cut[i], cut[i + 1]);
      if (g_rand_boolean (g))
        msr_eval_acc_compact (shard[i]);
    }

  /* Forward into an empty accumulator. */
  {
    g_autoptr(MsrEvalAcc) m = msr_eval_acc_new (users);
    g_autoptr(MsrEvalResult) got = NULL;

    for (guint i = 0; i < k; i++)
      {
        g_assert_true (msr_eval_acc_merge (m, shard[i], &error));
        g_assert_no_error (error);
      }
    got = msr_eval_acc_finish (m);
    assert_results_identical (want, got, "forward merge");
  }
  /* Reverse, into the last shard's copy via serialization, with compaction
   * in between. */
  {
    g_autoptr(MsrEvalAcc) m = roundtrip (shard[k - 1]);
    g_autoptr(MsrEvalResult) got = NULL;

    for (guint i = k - 1; i-- > 0;)
      {
        g_autoptr(MsrEvalAcc) copy = roundtrip (shard[i]);

        g_assert_true (msr_eval_acc_merge (m, copy, &error));
        if (i % 2)
          msr_eval_acc_compact (m);
      }
    got = msr_eval_acc_finish (m);
    assert_results_identical (want, got, "reverse merge through serialize");
  }
  /* Tree: pairwise merges. */
  {
    MsrEvalAcc **level = g_new (MsrEvalAcc *, k);
    guint cnt = k;
    g_autoptr(MsrEvalResult) got = NULL;

    for (guint i = 0; i < k; i++)
      level[i] = roundtrip (shard[i]);
    while (cnt > 1)
      {
        guint w = 0;

        for (guint i = 0; i < cnt; i += 2)
          {
            if (i + 1 < cnt)
              {
                g_assert_true (msr_eval_acc_merge (level[i + 1], level[i], &error));
                msr_eval_acc_free (level[i]);
                level[w++] = level[i + 1];
              }
            else
              level[w++] = level[i];
          }
        cnt = w;
      }
    got = msr_eval_acc_finish (level[0]);
    assert_results_identical (want, got, "tree merge");
    /* finish leaves the accumulator usable and unchanged. */
    {
      g_autoptr(MsrEvalResult) again = msr_eval_acc_finish (level[0]);

      assert_results_identical (got, again, "finish twice");
    }
    msr_eval_acc_free (level[0]);
    g_free (level);
  }
  /* The whole single pass through a file-format round trip. */
  {
    g_autoptr(MsrEvalAcc) back = roundtrip (one);
    g_autoptr(MsrEvalResult) got = msr_eval_acc_finish (back);

    assert_results_identical (want, got, "serialized single pass");
  }
  /* Self-merge doubles every count: AUCs and loglosses are unchanged in
   * value (not necessarily in the last bit), counts double. */
  {
    g_autoptr(MsrEvalAcc) m = roundtrip (one);
    g_autoptr(MsrEvalResult) got = NULL;

    g_assert_true (msr_eval_acc_merge (m, m, &error));
    got = msr_eval_acc_finish (m);
    g_assert_cmpuint (got->overall.n, ==, 2 * want->overall.n);
    assert_close (got->overall.auc, want->overall.auc, 1e-14, "self-merge auc");
  }

  for (guint i = 0; i < k; i++)
    msr_eval_acc_free (shard[i]);
  g_free (shard);
  g_free (order);
  g_free (cut);
  g_rand_free (g);
  rows_free (&r);
}

static void
test_merge_exact (void)
{
  static const gsize sizes[] = { 0, 1, 30, 700, 6000 };
  static const guint levels[] = { 4, 50, 0 };

  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++)
    for (guint li = 0; li < G_N_ELEMENTS (levels); li++)
      for (guint32 seed = 1; seed <= 4; seed++)
        {
          if (small_mode () && sizes[si] > 700)
            continue;
          check_merge_exact (seed * 31 + si * 7 + li, sizes[si], levels[li], seed % 2 == 0);
        }
}

static void
test_save_load (void)
{
  g_autofree char *dir = g_dir_make_tmp ("msr-metrics-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "shard.msreval", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.msreval", NULL);
  Rows r = random_rows (4242, 500, 40, 3, 30);
  g_autoptr(MsrEvalAcc) acc = acc_from_rows (&r, TRUE, NULL, 0, r.n);
  g_autoptr(MsrEvalResult) want = msr_eval_acc_finish (acc);
  g_autoptr(GError) error = NULL;

  g_assert_true (msr_eval_acc_save (acc, path, &error));
  g_assert_no_error (error);
  {
    g_autoptr(MsrEvalAcc) back = msr_eval_acc_load (path, &error);
    g_autoptr(MsrEvalResult) got = NULL;

    g_assert_no_error (error);
    got = msr_eval_acc_finish (back);
    assert_results_identical (want, got, "save/load");
  }
  g_assert_null (msr_eval_acc_load (missing, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "missing.msreval"));
  g_clear_error (&error);

  /* A damaged file names itself in the error. */
  g_assert_true (g_file_set_contents (path, "MSRLEVAL garbage", -1, NULL));
  g_assert_null (msr_eval_acc_load (path, &error));
  g_assert_nonnull (strstr (error->message, "shard.msreval"));

  g_unlink (path);
  g_rmdir (dir);
  rows_free (&r);
}

/* ---------------------------------------------------------------------- */
/* Hostile input                                                          */

/* The checksum as documented in docs/METRICS.md, written independently. */
static guint64
doc_checksum (const guint8 *d, gsize len)
{
  guint64 h = 0x4D53524C454E5331ull;
  gsize i;

  for (i = 0; i + 8 <= len; i += 8)
    {
      guint64 w = 0;

      for (int b = 7; b >= 0; b--)
        w = (w << 8) | d[i + b];
      h ^= w;
      h = ((h << 29) | (h >> 35)) * 0x9E3779B97F4A7C15ull;
    }
  if (i < len)
    {
      guint64 w = 0;

      for (gsize b = len; b-- > i;)
        w = (w << 8) | d[b];
      h ^= w;
      h = ((h << 29) | (h >> 35)) * 0x9E3779B97F4A7C15ull;
    }
  h ^= len;
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 33;
  return h;
}

static void
reseal (guint8 *d, gsize len)
{
  guint64 h;

  if (len < 8)
    return;
  h = doc_checksum (d, len - 8);
  for (int b = 0; b < 8; b++)
    d[len - 8 + b] = (guint8) (h >> (8 * b));
}

/* Returns TRUE if deserialization succeeded; on success the result must
 * be usable. Never crashes (that is the test). */
static gboolean
try_load (const guint8 *d, gsize len)
{
  g_autoptr(GBytes) bytes = g_bytes_new (d, len);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrEvalAcc) acc = msr_eval_acc_deserialize (bytes, "hostile", &error);

  if (!acc)
    {
      g_assert_nonnull (error);
      g_assert_true (g_str_has_prefix (error->message, "hostile: "));
      return FALSE;
    }
  g_assert_no_error (error);
  {
    g_autoptr(MsrEvalResult) res = msr_eval_acc_finish (acc);

    g_assert_nonnull (res);
  }
  return TRUE;
}

static void
put64 (guint8 *d, guint64 v)
{
  for (int b = 0; b < 8; b++)
    d[b] = (guint8) (v >> (8 * b));
}

static void
test_hostile (void)
{
  Rows r = random_rows (99, 120, 9, 3, 10);
  g_autoptr(MsrEvalAcc) acc = acc_from_rows (&r, TRUE, NULL, 0, r.n);
  g_autoptr(GBytes) bytes = msr_eval_acc_serialize (acc);
  gsize len;
  const guint8 *orig = g_bytes_get_data (bytes, &len);
  guint8 *d = g_malloc (len);
  GRand *g = g_rand_new_with_seed (123);
  int iterations = small_mode () ? 300 : 5000;

  /* The pristine buffer loads and its checksum matches the documented one. */
  g_assert_true (try_load (orig, len));
  memcpy (d, orig, len);
  reseal (d, len);
  g_assert_cmpmem (d, len, orig, len);

  /* Every truncation fails. */
  for (gsize l = 0; l < len; l++)
    g_assert_false (try_load (orig, l));
  /* Trailing garbage fails. */
  {
    guint8 *e = g_malloc (len + 3);

    memcpy (e, orig, len);
    e[len] = e[len + 1] = e[len + 2] = 0;
    g_assert_false (try_load (e, len + 3));
    g_free (e);
  }
  /* Random bit flips and byte overwrites are caught by the checksum. */
  for (int it = 0; it < iterations; it++)
    {
      int flips = g_rand_int_range (g, 1, 9);

      memcpy (d, orig, len);
      for (int f = 0; f < flips; f++)
        {
          gsize at = g_rand_int_range (g, 0, (gint32) len);

          if (g_rand_boolean (g))
            d[at] ^= (guint8) (1u << g_rand_int_range (g, 0, 8));
          else
            d[at] = (guint8) g_rand_int_range (g, 0, 256);
        }
      if (memcmp (d, orig, len) == 0)
        continue;
      g_assert_false (try_load (d, len));
    }
  /* Corruptions resealed with a valid checksum exercise the structural
   * checks: they may load or fail, but never crash. */
  for (int it = 0; it < iterations; it++)
    {
      int flips = g_rand_int_range (g, 1, 5);

      memcpy (d, orig, len);
      for (int f = 0; f < flips; f++)
        {
          /* Mostly the header and names, where lengths live. */
          gsize at = g_rand_boolean (g) ? (gsize) g_rand_int_range (g, 0, MIN ((gint32) len, 200))
                                        : (gsize) g_rand_int_range (g, 0, (gint32) len - 8);

          d[at] ^= (guint8) (1u << g_rand_int_range (g, 0, 8));
        }
      reseal (d, len);
      try_load (d, len);
    }
  /* Specific lies with valid checksums. */
  {
    static const guint64 huge[] = { G_MAXUINT64, G_MAXUINT64 / 24, 1ull << 40, 3 };

    for (int field = 16; field <= 40; field += 8)
      for (guint h = 0; h < G_N_ELEMENTS (huge); h++)
        {
          memcpy (d, orig, len);
          put64 (d + field, huge[h]);
          if (memcmp (d, orig, len) == 0)
            continue;
          reseal (d, len);
          g_assert_false (try_load (d, len));
        }
    /* Version 2. */
    memcpy (d, orig, len);
    d[8] = 2;
    reseal (d, len);
    g_assert_false (try_load (d, len));
    /* Unknown flag. */
    memcpy (d, orig, len);
    d[12] |= 4;
    reseal (d, len);
    g_assert_false (try_load (d, len));
    /* A score of 1.5 in the last entry (entries are 24 bytes with users). */
    {
      double x = 1.5;
      guint64 bits;

      memcpy (d, orig, len);
      memcpy (&bits, &x, 8);
      put64 (d + len - 8 - 24, bits ^ 0x8000000000000000ull);
      reseal (d, len);
      g_assert_false (try_load (d, len));
    }
    /* Entries out of order: the first and the last swapped. */
    {
      guint64 n_ent = 0, nb = 0;
      gsize first;

      for (int b = 7; b >= 0; b--)
        {
          n_ent = (n_ent << 8) | orig[32 + b];
          nb = (nb << 8) | orig[40 + b];
        }
      g_assert_cmpuint (n_ent, >=, 2);
      first = 48 + nb;
      g_assert_cmpuint (first + n_ent * 24 + 8, ==, len);
      memcpy (d, orig, len);
      memcpy (d + first, orig + len - 8 - 24, 24);
      memcpy (d + len - 8 - 24, orig + first, 24);
      reseal (d, len);
      g_assert_false (try_load (d, len));
      /* A zero-count entry. */
      memcpy (d, orig, len);
      memset (d + first + 16, 0, 8);
      reseal (d, len);
      g_assert_false (try_load (d, len));
      /* A scenario code out of range. */
      memcpy (d, orig, len);
      d[first + 8 + 3] = 0x7f;
      reseal (d, len);
      g_assert_false (try_load (d, len));
    }
  }

  g_free (d);
  g_rand_free (g);
  rows_free (&r);
}

/* Counts beyond 32 bits: a file written by hand from the documented
 * format, with entries at the 32-bit limit that coalesce on compaction. */
static void
put32 (guint8 *d, guint32 v)
{
  for (int b = 0; b < 4; b++)
    d[b] = (guint8) (v >> (8 * b));
}

static guint64
score_key (double x)
{
  guint64 bits;

  memcpy (&bits, &x, 8);
  return bits ^ 0x8000000000000000ull;   /* x >= +0.0 */
}

static void
test_big_counts (void)
{
  const guint32 MAX32 = 0xFFFFFFFFu;
  struct { double x; guint32 pos, neg; } ent[] = {
    { 0.3, MAX32, 0 }, { 0.3, MAX32, 5 }, { 0.7, 1, MAX32 },
  };
  gsize nb = 4 + 1, len = 48 + nb + 3 * 20 + 8;
  guint8 *d = g_malloc0 (len);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrEvalAcc) acc = NULL;
  g_autoptr(MsrEvalResult) res = NULL;
  long double P1 = 2.0L * MAX32, N2 = MAX32, m = P1 + 1, n = 5 + N2;
  long double auc, ll;

  memcpy (d, "MSRLEVAL", 8);
  put32 (d + 8, 1);
  put32 (d + 12, 0);
  put64 (d + 16, 1);
  put64 (d + 24, 0);
  put64 (d + 32, 3);
  put64 (d + 40, nb);
  put32 (d + 48, 1);
  d[52] = 's';
  for (int i = 0; i < 3; i++)
    {
      guint8 *e = d + 48 + nb + 20 * i;

      put64 (e, score_key (ent[i].x));
      put32 (e + 8, 0);
      put32 (e + 12, ent[i].pos);
      put32 (e + 16, ent[i].neg);
    }
  reseal (d, len);
  bytes = g_bytes_new_take (d, len);
  acc = msr_eval_acc_deserialize (bytes, "big", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msr_eval_acc_get_n_rows (acc), ==, (guint64) (m + n));

  /* Pairs: 0.3 vs 0.3 ties (½·P1·5), 0.7 vs 0.3 wins (5), 0.7 vs 0.7
   * ties (½·N2). */
  auc = (0.5L * P1 * 5 + 5 + 0.5L * N2) / (m * n);
  ll = (P1 * -logl (0.3L) + 5 * -logl (0.7L) + 1 * -logl (0.7L) + N2 * -logl (0.3L)) / (m + n);
  res = msr_eval_acc_finish (acc);
  g_assert_cmpuint (res->overall.n, ==, (guint64) (m + n));
  g_assert_cmpuint (res->overall.positives, ==, (guint64) m);
  assert_close (res->overall.auc, (double) auc, 1e-15, "big auc");
  assert_close (res->overall.logloss, (double) ll, 1e-12, "big logloss");

  /* Compaction splits the 0.3 run (2·MAX32 positives) over two entries;
   * results stay bit-identical, also through a round trip. */
  msr_eval_acc_compact (acc);
  {
    g_autoptr(MsrEvalResult) again = msr_eval_acc_finish (acc);
    g_autoptr(MsrEvalAcc) back = roundtrip (acc);
    g_autoptr(MsrEvalResult) third = msr_eval_acc_finish (back);
    g_autoptr(GBytes) out = msr_eval_acc_serialize (back);

    assert_results_identical (res, again, "after compaction");
    assert_results_identical (res, third, "after round trip");
    g_assert_cmpuint (g_bytes_get_size (out), ==, len);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/brute-force", test_brute_force);
  g_test_add_func ("/metrics/weighted-auc", test_weighted_auc);
  g_test_add_func ("/metrics/undefined", test_undefined);
  g_test_add_func ("/metrics/ties-and-zero", test_ties_and_zero);
  g_test_add_func ("/metrics/rejects", test_rejects);
  g_test_add_func ("/metrics/relaimpr", test_relaimpr);
  g_test_add_func ("/metrics/oracle-case1", test_oracle_case1);
  g_test_add_func ("/metrics/merge-exact", test_merge_exact);
  g_test_add_func ("/metrics/save-load", test_save_load);
  g_test_add_func ("/metrics/hostile", test_hostile);
  g_test_add_func ("/metrics/big-counts", test_big_counts);
  return g_test_run ();
}

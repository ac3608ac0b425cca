/* msrlens-cli end to end: exit statuses, messages, and the numbers it
 * prints against independent oracles (shared/data/oracles). */
#include "config.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <unistd.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

typedef struct {
  int   status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

/* Runs msrlens-cli with the given arguments (NULL-terminated), optionally
 * feeding stdin_text. */
static void
run_cli_input (Run *r, const char *stdin_text, const char *first, ...)
{
  const char *cli = g_getenv ("MSR_CLI");
  g_assert_nonnull (cli);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) cli);
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_newv ((const char * const *) argv->pdata,
                                                G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE |
                                                (stdin_text ? G_SUBPROCESS_FLAGS_STDIN_PIPE : 0), &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, stdin_text, NULL, &r->out, &r->err, &error);
  g_assert_no_error (error);
  r->status = g_subprocess_get_if_exited (p) ? g_subprocess_get_exit_status (p) : -1;
}

#define run_cli(r, ...) run_cli_input ((r), NULL, __VA_ARGS__)

#define REQUIRE_ORACLE(var, name) MSR_TEST_REQUIRE_SHARED (var, "oracles/metrics/" name)

static JsonObject *
parse_object (const char *text, JsonParser **keep)
{
  g_autoptr(GError) error = NULL;
  *keep = json_parser_new ();
  g_assert_true (json_parser_load_from_data (*keep, text, -1, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (*keep));
}

/* ---- usage ------------------------------------------------------------- */

static void
test_usage (void)
{
  static const char *const verbs[][2] = {
    { "project", "init" }, { "data", "fetch" }, { "data", "inspect" }, { "metrics", NULL }, { "compare", NULL },
    { "train", NULL }, { "score", NULL }, { "eval", NULL }, { "runs", NULL }, { "inspect", NULL },
    { "meta-weights", NULL }, { "correlations", NULL },
  };
  for (guint i = 0; i < G_N_ELEMENTS (verbs); i++)
    {
      g_auto(Run) r = { 0 };
      if (verbs[i][1])
        run_cli (&r, verbs[i][0], verbs[i][1], "--help", NULL);
      else
        run_cli (&r, verbs[i][0], "--help", NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_nonnull (strstr (r.out, "Usage:"));
      g_assert_nonnull (strstr (r.out, "Example"));
    }
  g_auto(Run) none = { 0 };
  run_cli (&none, NULL);
  g_assert_cmpint (none.status, ==, 2);
  g_assert_nonnull (strstr (none.err, "Verbs:"));
  g_auto(Run) bad = { 0 };
  run_cli (&bad, "frobnicate", NULL);
  g_assert_cmpint (bad.status, ==, 2);
  g_assert_nonnull (strstr (bad.err, "unknown verb 'frobnicate'"));
  g_auto(Run) group = { 0 };
  run_cli (&group, "data", NULL);
  g_assert_cmpint (group.status, ==, 2);
  g_assert_nonnull (strstr (group.err, "fetch inspect"));
  g_auto(Run) opt = { 0 };
  run_cli (&opt, "metrics", "--no-such-option", "x.tsv", NULL);
  g_assert_cmpint (opt.status, ==, 2);
  g_assert_cmpstr (opt.out, ==, "");
}

/* ---- metrics ------------------------------------------------------------ */

static void
assert_block (JsonObject *got, JsonObject *want, const char *where)
{
  static const char *const keys[] = { "n", "positives", "auc", "logloss", "gauc",
                                      "gauc_users_kept", "gauc_users", "gauc_rows_kept" };
  for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
    {
      JsonNode *g = json_object_get_member (got, keys[k]);
      JsonNode *w = json_object_get_member (want, keys[k]);
      if (g == NULL)
        g_error ("%s: key '%s' missing", where, keys[k]);
      if (JSON_NODE_HOLDS_NULL (w))
        {
          if (!JSON_NODE_HOLDS_NULL (g))
            g_error ("%s.%s: expected null", where, keys[k]);
          continue;
        }
      double gv = json_node_get_double (g), wv = json_node_get_double (w);
      if (fabs (gv - wv) > 1e-12 * MAX (1.0, fabs (wv)))
        g_error ("%s.%s: %.17g, expected %.17g", where, keys[k], gv, wv);
    }
}

static JsonObject *
expected_json (JsonParser **keep)
{
  g_autofree char *path = msr_test_shared_path ("oracles/metrics/expected.json");
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return parse_object (text, keep);
}

static void
test_metrics_oracle (void)
{
  REQUIRE_ORACLE (case1, "case1.tsv");
  g_auto(Run) r = { 0 };
  run_cli (&r, "metrics", case1, "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr(JsonParser) pg = NULL, pw = NULL;
  JsonObject *got = parse_object (r.out, &pg);
  JsonObject *want = json_object_get_object_member (expected_json (&pw), "case1.tsv");

  assert_block (json_object_get_object_member (got, "overall"),
                json_object_get_object_member (want, "overall"), "overall");
  JsonObject *gs = json_object_get_object_member (got, "scenarios");
  JsonObject *ws = json_object_get_object_member (want, "scenarios");
  g_assert_cmpuint (json_object_get_size (gs), ==, json_object_get_size (ws));
  g_autoptr(GList) names = json_object_get_members (ws);
  for (GList *l = names; l; l = l->next)
    {
      g_assert_true (json_object_has_member (gs, l->data));
      assert_block (json_object_get_object_member (gs, l->data),
                    json_object_get_object_member (ws, l->data), l->data);
    }
  /* The means follow from the scenario blocks (gamma's AUC is undefined). */
  JsonObject *macro = json_object_get_object_member (got, "macro_mean");
  double alpha = json_object_get_double_member (json_object_get_object_member (ws, "alpha"), "auc");
  double beta = json_object_get_double_member (json_object_get_object_member (ws, "beta"), "auc");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (macro, "auc"), (alpha + beta) / 2, 1e-12);
  g_assert_cmpint (json_object_get_int_member (macro, "auc_scenarios"), ==, 2);
  JsonObject *weighted = json_object_get_object_member (got, "weighted_mean");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (weighted, "auc"),
                                  (1470 * alpha + 1064 * beta) / (1470 + 1064), 1e-12);

  /* The text form says why gamma's AUC is undefined. */
  g_auto(Run) t = { 0 };
  run_cli (&t, "metrics", case1, NULL);
  g_assert_cmpint (t.status, ==, 0);
  g_assert_nonnull (strstr (t.out, "AUC undefined for 'gamma': it has only positive rows."));
}

static void
test_metrics_shards (void)
{
  REQUIRE_ORACLE (case1, "case1.tsv");
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (case1, &text, NULL, NULL));
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_autofree char *tmp = g_dir_make_tmp ("msr-cli-XXXXXX", NULL);

  /* Three shards of interleaved rows, each with the header. */
  char *shard[3], *state[3];
  GString *buf[3];
  for (int k = 0; k < 3; k++)
    buf[k] = g_string_new (lines[0]), g_string_append_c (buf[k], '\n');
  for (guint i = 1; lines[i] && lines[i][0]; i++)
    g_string_append_printf (buf[(i * 7) % 3], "%s\n", lines[i]);
  for (int k = 0; k < 3; k++)
    {
      g_autofree char *name = g_strdup_printf ("shard%d.tsv", k);
      g_autofree char *sname = g_strdup_printf ("shard%d.acc", k);
      shard[k] = g_build_filename (tmp, name, NULL);
      state[k] = g_build_filename (tmp, sname, NULL);
      g_assert_true (g_file_set_contents (shard[k], buf[k]->str, -1, NULL));
      g_string_free (buf[k], TRUE);
      g_auto(Run) r = { 0 };
      run_cli (&r, "metrics", shard[k], "--state-out", state[k], "--json", NULL);
      g_assert_cmpint (r.status, ==, 0);
    }

  g_auto(Run) whole = { 0 }, merged = { 0 }, mixed = { 0 }, piped = { 0 };
  run_cli (&whole, "metrics", case1, "--json", NULL);
  run_cli (&merged, "metrics", state[2], state[0], state[1], "--json", NULL);
  run_cli (&mixed, "metrics", shard[1], state[0], state[2], "--json", NULL);
  run_cli_input (&piped, text, "metrics", "-", "--json", NULL);
  g_assert_cmpint (merged.status, ==, 0);
  /* Bit-identical: the printed JSON (17 significant digits) is the same text. */
  g_assert_cmpstr (merged.out, ==, whole.out);
  g_assert_cmpstr (mixed.out, ==, whole.out);
  g_assert_cmpstr (piped.out, ==, whole.out);

  /* A damaged state file is refused with its name. */
  g_autofree char *contents = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (state[0], &contents, &len, NULL));
  g_assert_true (g_file_set_contents (state[0], contents, (gssize) (len / 2), NULL));
  g_auto(Run) bad = { 0 };
  run_cli (&bad, "metrics", state[0], NULL);
  g_assert_cmpint (bad.status, ==, 1);
  g_assert_nonnull (strstr (bad.err, "shard0.acc"));
  for (int k = 0; k < 3; k++)
    g_free (shard[k]), g_free (state[k]);
  msr_test_rm_rf (tmp);
}

static void
test_metrics_bad_input (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("msr-cli-XXXXXX", NULL);
  static const struct { const char *text; const char *expect; } cases[] = {
    { "label\tscore\n1\t0.5\n0\tabc\n", "line 3, column 3 (column 'score'): score 'abc' is not a probability" },
    { "label\tscore\n1\t1.5\n", "score '1.5' is not a probability in [0, 1]" },
    { "label\tscore\n2\t0.5\n", "label '2' is not 0 or 1" },
    { "label\tprob\n1\t0.5\n", "no column named 'score'" },
    { "label\tscore\n1\t0.5\t9\n", "line 2: expected 2 fields as in the header, found 3" },
    { "label\tscore\n", "no rows" },
    { "", "empty" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_build_filename (tmp, "pred.tsv", NULL);
      g_assert_true (g_file_set_contents (path, cases[i].text, -1, NULL));
      g_auto(Run) r = { 0 };
      run_cli (&r, "metrics", path, NULL);
      g_assert_cmpint (r.status, ==, 1);
      g_assert_cmpstr (r.out, ==, "");
      if (!strstr (r.err, "pred.tsv") || !strstr (r.err, cases[i].expect))
        g_error ("case %u: '%s' lacks '%s'", i, r.err, cases[i].expect);
    }
  g_auto(Run) missing = { 0 };
  run_cli (&missing, "metrics", "/nonexistent/p.tsv", NULL);
  g_assert_cmpint (missing.status, ==, 1);
  g_assert_nonnull (strstr (missing.err, "/nonexistent/p.tsv"));
  msr_test_rm_rf (tmp);
}

/* ---- compare ------------------------------------------------------------ */

static void
test_compare_oracle (void)
{
  REQUIRE_ORACLE (a, "case2-a.tsv");
  REQUIRE_ORACLE (b, "case2-b.tsv");
  g_auto(Run) r = { 0 };
  run_cli (&r, "compare", a, b, "--json", "--replicates", "300", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr(JsonParser) pg = NULL, pw = NULL;
  JsonObject *overall = json_object_get_object_member (parse_object (r.out, &pg), "overall");
  JsonObject *want = json_object_get_object_member (expected_json (&pw), "case2 (a vs b)");
  JsonObject *dl = json_object_get_object_member (want, "delong");
  static const char *const pairs[][2] = {
    { "auc_a", "auc_a" }, { "auc_b", "auc_b" }, { "delta_auc", "delta" }, { "delong_var", "var" },
    { "delong_z", "z" }, { "delong_p", "p" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (pairs); i++)
    {
      double g = json_object_get_double_member (overall, pairs[i][0]);
      double w = json_object_get_double_member (dl, pairs[i][1]);
      if (fabs (g - w) > 1e-9 * fabs (w))
        g_error ("%s: %.17g, expected %.17g", pairs[i][0], g, w);
    }
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (overall, "relaimpr"),
                                  json_object_get_double_member (want, "relaimpr_b_over_a"), 1e-9);
  /* The bootstrap interval of ΔAUC brackets the estimate and excludes 0 here
   * (z = 5.6). */
  JsonArray *ci = json_object_get_array_member (overall, "delta_auc_ci");
  double lo = json_array_get_double_element (ci, 0), hi = json_array_get_double_element (ci, 1);
  double d = json_object_get_double_member (overall, "delta_auc");
  g_assert_true (lo < d && d < hi && lo > 0);
}

static void
test_compare_mismatch (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("msr-cli-XXXXXX", NULL);
  g_autofree char *a = g_build_filename (tmp, "a.tsv", NULL);
  g_autofree char *b = g_build_filename (tmp, "b.tsv", NULL);
  g_autofree char *c = g_build_filename (tmp, "c.tsv", NULL);
  g_assert_true (g_file_set_contents (a, "id\tlabel\tscore\n1\t1\t0.9\n2\t0\t0.2\n3\t1\t0.4\n", -1, NULL));
  g_assert_true (g_file_set_contents (b, "id\tlabel\tscore\n1\t1\t0.8\n3\t0\t0.3\n2\t1\t0.5\n", -1, NULL));
  g_assert_true (g_file_set_contents (c, "label\tscore\n1\t0.8\n0\t0.3\n", -1, NULL));
  g_auto(Run) r = { 0 };
  run_cli (&r, "compare", a, b, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "row 2"));
  g_assert_nonnull (strstr (r.err, "the id differs ('2' vs '3')"));
  g_auto(Run) r2 = { 0 };
  run_cli (&r2, "compare", a, c, NULL);
  g_assert_cmpint (r2.status, ==, 1);
  g_assert_nonnull (strstr (r2.err, "has 3 rows but"));
  msr_test_rm_rf (tmp);
}

/* ---- projects and data -------------------------------------------------- */

static void
test_project_movielens (void)
{
  MSR_TEST_REQUIRE_SHARED (ml, "movielens-100k");
  g_autofree char *tmp = g_dir_make_tmp ("msr-cli-XXXXXX", NULL);
  g_autofree char *proj = g_build_filename (tmp, "ml-genre", NULL);
  g_auto(Run) init = { 0 };
  run_cli (&init, "project", "init", proj, "--movielens-100k", ml, "--scenarios", "genre", NULL);
  g_assert_cmpint (init.status, ==, 0);
  g_assert_nonnull (strstr (init.out, "99,990 rows"));

  g_auto(Run) again = { 0 };
  run_cli (&again, "project", "init", proj, "--movielens-100k", ml, NULL);
  g_assert_cmpint (again.status, ==, 1);
  g_assert_nonnull (strstr (again.err, "already exists"));

  g_auto(Run) r = { 0 };
  run_cli (&r, "data", "inspect", proj, "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *o = parse_object (r.out, &parser);
  JsonArray *scen = json_object_get_array_member (o, "scenarios");
  g_assert_cmpuint (json_array_get_length (scen), ==, 5);
  JsonObject *family = json_array_get_object_element (scen, 0);
  g_assert_cmpstr (json_object_get_string_member (family, "name"), ==, "Family");
  g_assert_cmpint (json_object_get_int_member (family, "rows"), ==, 10862);
  g_assert_cmpint (json_object_get_int_member (family, "users"), ==, 890);
  g_assert_cmpint (json_object_get_int_member (family, "items"), ==, 172);
  g_assert_cmpint (json_object_get_int_member (family, "test"), ==, 2145);
  g_assert_cmpint (json_object_get_int_member (o, "users_in_all_scenarios"), ==, 849);
  g_assert_cmpint (json_object_get_int_member (o, "dropped_rows"), ==, 10);
  JsonArray *matrix = json_object_get_array_member (json_object_get_object_member (o, "user_overlap_jaccard"), "matrix");
  g_assert_cmpfloat_with_epsilon (json_array_get_double_element (json_array_get_array_element (matrix, 0), 1),
                                  890.0 / 943.0, 1e-12);

  g_auto(Run) t = { 0 };
  run_cli (&t, "data", "inspect", proj, "--split", "test", NULL);
  g_assert_cmpint (t.status, ==, 0);
  g_assert_nonnull (strstr (t.out, "19,993"));
  msr_test_rm_rf (tmp);
}

static void
test_project_csv_errors (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("msr-cli-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (tmp, "clicks.csv", NULL);
  g_autoptr(GString) s = g_string_new ("uid,iid,dom,click\n");
  for (int i = 0; i < 500; i++)
    g_string_append_printf (s, "u%d,i%d,%s,%d\n", i % 40, i % 60, i % 4 ? "feed" : "search", i % 3 == 0);
  g_string_append (s, "u1,i1,feed,\"unterminated\n");
  g_assert_true (g_file_set_contents (csv, s->str, -1, NULL));
  g_autofree char *proj = g_build_filename (tmp, "p", NULL);

  /* An unknown column: the available ones are listed, nothing is written. */
  g_auto(Run) r = { 0 };
  run_cli (&r, "project", "init", proj, "--csv", csv, "--label", "clicked", "--scenario", "dom",
           "--user", "uid", "--item", "iid", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "no column named 'clicked'"));
  g_assert_nonnull (strstr (r.err, "'uid', 'iid', 'dom', 'click'"));
  g_assert_false (g_file_test (proj, G_FILE_TEST_EXISTS));

  /* A malformed row deep in the file: reported, and no project is left. */
  g_auto(Run) r2 = { 0 };
  run_cli (&r2, "project", "init", proj, "--csv", csv, "--label", "click", "--scenario", "dom",
           "--user", "uid", "--item", "iid", NULL);
  g_assert_cmpint (r2.status, ==, 1);
  g_assert_nonnull (strstr (r2.err, "clicks.csv: line 502"));
  g_assert_nonnull (strstr (r2.err, "unterminated"));
  g_assert_nonnull (strstr (r2.err, "not created"));
  g_assert_false (g_file_test (proj, G_FILE_TEST_EXISTS));

  /* Fixed, it works, and the input file is untouched. */
  g_autofree char *before = g_compute_checksum_for_string (G_CHECKSUM_SHA256, s->str, -1);
  g_string_truncate (s, s->len - strlen ("u1,i1,feed,\"unterminated\n"));
  g_assert_true (g_file_set_contents (csv, s->str, -1, NULL));
  g_auto(Run) r3 = { 0 };
  run_cli (&r3, "project", "init", proj, "--csv", csv, "--label", "click", "--scenario", "dom",
           "--user", "uid", "--item", "iid", "--split", "random", "--seed", "5", NULL);
  g_assert_cmpint (r3.status, ==, 0);
  g_assert_nonnull (strstr (r3.out, "500 rows"));
  g_autofree char *after = NULL;
  g_assert_true (g_file_get_contents (csv, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, s->str);
  (void) before;

  /* A broken project folder. */
  g_autofree char *desc = g_build_filename (proj, "project.msrlens", NULL);
  g_assert_true (g_file_set_contents (desc, "[project]\nformat=1\n[dataset]\nkind=csv\npath=clicks.csv\n", -1, NULL));
  g_auto(Run) r4 = { 0 };
  run_cli (&r4, "data", "inspect", proj, NULL);
  g_assert_cmpint (r4.status, ==, 1);
  g_assert_nonnull (strstr (r4.err, "project.msrlens: [dataset] label: missing"));
  msr_test_rm_rf (tmp);
}

/* A simulated world from the command line, and its planted truth. */
static void
test_project_simulated (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("msr-cli-XXXXXX", NULL);
  g_autofree char *world = g_build_filename (tmp, "world", NULL);
  g_autoptr(JsonParser) keep = NULL;

  g_auto(Run) bad = { 0 };
  run_cli (&bad, "project", "init", world, "--simulated", "--sim-scenarios", "17", NULL);
  g_assert_cmpint (bad.status, ==, 1);
  g_assert_nonnull (strstr (bad.err, "--sim-scenarios must be 1 to 16"));
  g_auto(Run) mixed = { 0 };
  run_cli (&mixed, "project", "init", world, "--simulated", "--scenario", "dom", NULL);
  g_assert_cmpint (mixed.status, ==, 1);
  g_assert_false (g_file_test (world, G_FILE_TEST_EXISTS));

  g_auto(Run) r = { 0 };
  run_cli (&r, "project", "init", world, "--simulated", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "80,000 rows"));
  g_assert_nonnull (strstr (r.out, "5 scenarios"));
  g_assert_nonnull (strstr (r.out, "seed 2024"));

  /* A second init into the same folder is refused and changes nothing. */
  g_autofree char *truth_file = g_build_filename (world, "ground-truth.json", NULL);
  g_autofree char *before = NULL, *after = NULL;
  g_assert_true (g_file_get_contents (truth_file, &before, NULL, NULL));
  g_auto(Run) again = { 0 };
  run_cli (&again, "project", "init", world, "--simulated", "--seed", "3", NULL);
  g_assert_cmpint (again.status, ==, 1);
  g_assert_true (g_file_get_contents (truth_file, &after, NULL, NULL));
  g_assert_cmpstr (before, ==, after);

  g_auto(Run) t = { 0 };
  run_cli (&t, "truth", world, "--json", NULL);
  g_assert_cmpint (t.status, ==, 0);
  JsonObject *o = parse_object (t.out, &keep);
  g_assert_cmpint (json_object_get_int_member (o, "seed"), ==, 2024);
  JsonArray *names = json_object_get_array_member (o, "scenarios");
  JsonArray *planted = json_object_get_array_member (o, "planted");
  JsonArray *observed = json_object_get_array_member (o, "observed");
  const guint S = json_array_get_length (names);
  g_assert_cmpuint (S, ==, 5);
  for (guint a = 0; a < S; a++)
    for (guint b = 0; b < S; b++)
      {
        double pa = json_array_get_double_element (json_array_get_array_element (planted, a), b);
        double oa = json_array_get_double_element (json_array_get_array_element (observed, a), b);
        double ob = json_array_get_double_element (json_array_get_array_element (observed, b), a);
        g_assert_cmpfloat (oa, ==, ob);
        if (a == b)
          {
            g_assert_cmpfloat (pa, ==, 1.0);
            g_assert_cmpfloat (oa, ==, 1.0);
          }
        else
          g_assert_cmpfloat (fabs (oa), <, 1.0);
      }
  /* The data recover what was planted. */
  JsonObject *mantel = json_object_get_object_member (o, "mantel");
  g_assert_cmpfloat (json_object_get_double_member (mantel, "r"), >, 0.8);
  g_assert_cmpfloat (json_object_get_double_member (mantel, "p"), <, 0.05);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (mantel, "p_floor"), 1.0 / 120, 1e-12);

  g_auto(Run) text = { 0 };
  run_cli (&text, "truth", world, NULL);
  g_assert_cmpint (text.status, ==, 0);
  g_assert_nonnull (strstr (text.out, "Mantel test: r = 0."));
  g_assert_nonnull (strstr (text.out, "Planted difficulty"));

  /* A project that is not simulated has no truth to show. */
  g_autofree char *csv = g_build_filename (world, "interactions.csv", NULL);
  g_autofree char *plain = g_build_filename (tmp, "plain", NULL);
  g_auto(Run) p = { 0 };
  run_cli (&p, "project", "init", plain, "--csv", csv, "--label", "click", "--scenario", "scenario", "--user",
           "user_id", "--item", "item_id", NULL);
  g_assert_cmpint (p.status, ==, 0);
  g_auto(Run) none = { 0 };
  run_cli (&none, "truth", plain, NULL);
  g_assert_cmpint (none.status, ==, 1);
  g_assert_nonnull (strstr (none.err, "not a simulated project"));
  msr_test_rm_rf (tmp);
}

/* The knowledge verbs on the real MovieLens knowledge, then LLM4MSR. */
static void
test_knowledge_verbs (void)
{
  MSR_TEST_REQUIRE_SHARED (ml, "movielens-100k");
  MSR_TEST_REQUIRE_SHARED (users_csv, "llm-knowledge-ml100k/users_structured_100k.csv");
  MSR_TEST_REQUIRE_SHARED (movies_csv, "llm-knowledge-ml100k/movies_structured_100K.csv");
  g_autofree char *tmp = g_dir_make_tmp ("msr-cli-XXXXXX", NULL);
  g_autofree char *proj = g_build_filename (tmp, "ml", NULL);
  g_autoptr(JsonParser) keep = NULL;
  g_auto(Run) init = { 0 };
  run_cli (&init, "project", "init", proj, "--movielens-100k", ml, NULL);
  g_assert_cmpint (init.status, ==, 0);

  /* Training with LLM4MSR before there is knowledge says what to do. */
  g_autofree char *model = g_build_filename (tmp, "star-llm4msr.safetensors", NULL);
  g_auto(Run) early = { 0 };
  run_cli (&early, "train", proj, "--backbone", "star", "--llm4msr", "--out", model, "-q", NULL);
  g_assert_cmpint (early.status, ==, 1);
  g_assert_nonnull (strstr (early.err, "no knowledge store"));

  g_auto(Run) u = { 0 };
  run_cli (&u, "knowledge", "import", proj, users_csv, "--level", "user", "--key-column", "user_id",
           "--text-column", "user_profile", "--llm", "gpt-4o-mini", "--json", NULL);
  g_assert_cmpint (u.status, ==, 0);
  JsonObject *ou = parse_object (u.out, &keep);
  g_assert_cmpint (json_object_get_int_member (ou, "added"), ==, 942);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (ou, "missing_keys"), 0), ==, "685");
  g_auto(Run) m = { 0 };
  run_cli (&m, "knowledge", "import", proj, movies_csv, "--level", "item", "--key-column", "movie_id",
           "--text-column", "movie_info", "--llm", "gpt-4o-mini", NULL);
  g_assert_cmpint (m.status, ==, 0);
  g_assert_nonnull (strstr (m.out, "91 of the dataset's keys have no text"));

  g_auto(Run) e = { 0 };
  run_cli (&e, "knowledge", "encode", proj, "--dim", "32", NULL);
  g_assert_cmpint (e.status, ==, 0);
  g_assert_nonnull (strstr (e.out, "Encoded 2531 texts into 32-dimensional vectors (encoder 'tfidf-svd-32')"));
  g_assert_nonnull (strstr (e.out, "Derived scenario knowledge for 5 scenarios"));
  g_assert_nonnull (strstr (e.out, "llm:tfidf-svd-32"));
  g_assert_nonnull (strstr (e.out, "data:click-rate"));

  g_auto(Run) st = { 0 };
  run_cli (&st, "knowledge", "status", proj, "--json", NULL);
  g_assert_cmpint (st.status, ==, 0);
  g_clear_object (&keep);
  JsonObject *os = parse_object (st.out, &keep);
  JsonObject *scen = json_object_get_object_member (json_object_get_object_member (os, "entries"), "scenario");
  g_assert_cmpint (json_object_get_int_member (scen, "derived:item-descriptions"), ==, 5);
  JsonObject *enc = json_array_get_object_element (json_object_get_array_member (os, "encoders"), 0);
  g_assert_cmpint (json_object_get_int_member (enc, "vectors"), ==, 2531 + 5);

  g_auto(Run) sh = { 0 };
  run_cli (&sh, "knowledge", "show", proj, "--scenario", "Family", NULL);
  g_assert_cmpint (sh.status, ==, 0);
  g_assert_nonnull (strstr (sh.out, "Derived from LLM item descriptions"));
  g_assert_nonnull (strstr (sh.out, "Toy Story (1995)"));

  g_auto(Run) tr = { 0 };
  run_cli (&tr, "train", proj, "--backbone", "star", "--llm4msr", "--epochs", "1", "--out", model, "-q", NULL);
  g_assert_cmpint (tr.status, ==, 0);
  g_assert_nonnull (strstr (tr.out, "Trained star+llm4msr"));
  g_auto(Run) ev = { 0 };
  run_cli (&ev, "eval", proj, model, "--replicates", "0", "--json", NULL);
  g_assert_cmpint (ev.status, ==, 0);
  /* User 685 has no LLM profile (missing_keys above): no layer of its own. */
  g_auto(Run) mw = { 0 }, mw_none = { 0 };
  run_cli (&mw, "meta-weights", proj, model, "--user", "1", NULL);
  g_assert_cmpint (mw.status, ==, 0);
  g_assert_true (g_str_has_prefix (mw.out, "row,bias,w0,"));
  run_cli (&mw_none, "meta-weights", proj, model, "--user", "685", NULL);
  g_assert_cmpint (mw_none.status, ==, 1);
  g_assert_cmpstr (mw_none.out, ==, "");
  g_assert_nonnull (strstr (mw_none.err, "user '685' has no knowledge vector (942 of the model's users have one)"));
  g_auto(Run) bad = { 0 };
  run_cli (&bad, "train", proj, "--backbone", "star", "--ablation", "shuffled", "--out", model, NULL);
  g_assert_cmpint (bad.status, ==, 1);
  g_assert_nonnull (strstr (bad.err, "need --llm4msr"));
  msr_test_rm_rf (tmp);
}

static void
test_data_fetch (void)
{
  MSR_TEST_REQUIRE_SHARED (ml, "movielens-100k");
  g_autofree char *tmp = g_dir_make_tmp ("msr-cli-XXXXXX", NULL);
  g_autofree char *dest = g_build_filename (tmp, "datasets", NULL);
  g_autofree char *expect = g_build_filename (dest, "ml-100k", NULL);

  g_auto(Run) r = { 0 };
  run_cli (&r, "data", "fetch", "movielens-100k", "--from", ml, "--dest", dest, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_autofree char *line = g_strdup_printf ("%s\n", expect);
  g_assert_cmpstr (r.out, ==, line);
  /* A second fetch finds it and verifies it. */
  g_auto(Run) r2 = { 0 };
  run_cli (&r2, "data", "fetch", "movielens-100k", "--dest", dest, NULL);
  g_assert_cmpint (r2.status, ==, 0);
  g_assert_nonnull (strstr (r2.err, "already"));

  /* A download that is not the official archive is refused before unpacking. */
  g_autofree char *fake = g_build_filename (tmp, "ml-100k.zip", NULL);
  g_assert_true (g_file_set_contents (fake, "PK\003\004 not really a zip", -1, NULL));
  g_autofree char *url = g_filename_to_uri (fake, NULL, NULL);
  g_autofree char *dest2 = g_build_filename (tmp, "other", NULL);
  g_auto(Run) r3 = { 0 };
  run_cli (&r3, "data", "fetch", "movielens-100k", "--url", url, "--dest", dest2, NULL);
  g_assert_cmpint (r3.status, ==, 1);
  g_assert_nonnull (strstr (r3.err, "ml-100k.zip"));
  g_autofree char *unpacked = g_build_filename (dest2, "ml-100k", NULL);
  g_assert_false (g_file_test (unpacked, G_FILE_TEST_EXISTS));

  /* A local copy with a damaged file is refused, naming it. */
  g_autofree char *bad = g_build_filename (tmp, "bad", NULL);
  g_autofree char *cmd = g_strdup_printf ("cp -r '%s' '%s' && chmod -R u+w '%s' && printf x >> '%s/u.item'", ml, bad, bad, bad);
  g_assert_cmpint (system (cmd), ==, 0);
  g_autofree char *dest3 = g_build_filename (tmp, "third", NULL);
  g_auto(Run) r4 = { 0 };
  run_cli (&r4, "data", "fetch", "movielens-100k", "--from", bad, "--dest", dest3, NULL);
  g_assert_cmpint (r4.status, ==, 1);
  g_assert_nonnull (strstr (r4.err, "u.item"));
  msr_test_rm_rf (tmp);
}


/* ---- models: train, inspect, score, eval, runs ------------------------- */

static double
json_auc (const char *text, const char *block)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *o = parse_object (text, &parser);
  return json_object_get_double_member (json_object_get_object_member (o, block), "auc");
}

static void
test_model_verbs (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("msr-cli-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (tmp, "clicks.csv", NULL);
  g_autoptr(GString) s = g_string_new ("uid,iid,dom,click\n");
  /* Users like even items in 'feed' and odd items in 'search'. */
  for (int i = 0; i < 3000; i++)
    {
      int u = (i * 7) % 50, it = (i * 13) % 40, feed = (i % 3) != 0;
      int like = ((u + it) % 2 == 0) == feed;
      g_string_append_printf (s, "u%d,i%d,%s,%d\n", u, it, feed ? "feed" : "search", (i % 10) < 8 ? like : !like);
    }
  g_assert_true (g_file_set_contents (csv, s->str, -1, NULL));
  g_autofree char *proj = g_build_filename (tmp, "p", NULL);
  g_auto(Run) init = { 0 };
  run_cli (&init, "project", "init", proj, "--csv", csv, "--label", "click", "--scenario", "dom", "--user", "uid",
           "--item", "iid", "--split", "random", NULL);
  g_assert_cmpint (init.status, ==, 0);

  g_autofree char *model = g_build_filename (proj, "mmoe.safetensors", NULL);
  g_autofree char *model2 = g_build_filename (tmp, "mmoe-again.safetensors", NULL);
  g_auto(Run) train = { 0 };
  run_cli (&train, "train", proj, "--backbone", "mmoe", "--epochs", "4", "--out", model, NULL);
  g_assert_cmpint (train.status, ==, 0);
  g_assert_nonnull (strstr (train.out, "Trained mmoe"));
  g_assert_nonnull (strstr (train.err, "epoch  1/4"));
  /* The same command again writes the same bytes. */
  g_auto(Run) again = { 0 };
  run_cli (&again, "train", proj, "--backbone", "mmoe", "--epochs", "4", "--out", model2, "--no-record", "-q", NULL);
  g_assert_cmpint (again.status, ==, 0);
  g_autofree char *b1 = NULL, *b2 = NULL;
  gsize l1, l2;
  g_assert_true (g_file_get_contents (model, &b1, &l1, NULL));
  g_assert_true (g_file_get_contents (model2, &b2, &l2, NULL));
  g_assert_cmpmem (b1, l1, b2, l2);

  g_auto(Run) inspect = { 0 };
  run_cli (&inspect, "inspect", model, "--json", NULL);
  g_assert_cmpint (inspect.status, ==, 0);
  g_assert_nonnull (strstr (inspect.out, "\"architecture\" : \"mmoe\""));
  g_assert_nonnull (strstr (inspect.out, "\"gates.1.weight\""));

  g_autofree char *pred = g_build_filename (tmp, "pred.tsv", NULL);
  g_auto(Run) score = { 0 };
  run_cli (&score, "score", proj, model, "--out", pred, NULL);
  g_assert_cmpint (score.status, ==, 0);
  g_autofree char *pt = NULL;
  g_assert_true (g_file_get_contents (pred, &pt, NULL, NULL));
  g_assert_true (g_str_has_prefix (pt, "id\tlabel\tscore\tscenario\tuser\n"));
  g_auto(Run) metrics = { 0 };
  run_cli (&metrics, "metrics", pred, "--json", NULL);
  g_assert_cmpint (metrics.status, ==, 0);
  const double auc_file = json_auc (metrics.out, "overall");
  g_assert_cmpfloat (auc_file, >, 0.7);   /* the planted rule is learnable */

  g_auto(Run) eval = { 0 };
  run_cli (&eval, "eval", proj, model, "--json", "--replicates", "50", NULL);
  g_assert_cmpint (eval.status, ==, 0);
  g_assert_cmpfloat_with_epsilon (json_auc (eval.out, "overall"), auc_file, 1e-6);
  g_auto(Run) pop = { 0 };
  run_cli (&pop, "eval", proj, "popularity", "--json", "--replicates", "0", NULL);
  g_assert_cmpint (pop.status, ==, 0);

  g_auto(Run) runs = { 0 };
  run_cli (&runs, "runs", proj, "--json", NULL);
  g_assert_cmpint (runs.status, ==, 0);
  g_autoptr(JsonParser) rp = NULL;
  JsonArray *list = json_object_get_array_member (parse_object (runs.out, &rp), "runs");
  g_assert_cmpuint (json_array_get_length (list), ==, 3);   /* popularity, eval, train (newest first) */
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (list, 0), "architecture"), ==, "popularity");
  JsonObject *ev = json_array_get_object_element (list, 1);
  g_assert_cmpstr (json_object_get_string_member (ev, "kind"), ==, "eval");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (json_object_get_object_member (ev, "overall"), "auc"),
                                  auc_file, 1e-6);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (list, 2), "epochs"), >=, 1);

  /* The streaming filter scores raw rows like the project's rows: feed it
   * the first test rows of the prediction file, rebuilt from the CSV. */
  g_auto(GStrv) plines = g_strsplit (pt, "\n", -1);
  g_auto(GStrv) clines = g_strsplit (s->str, "\n", -1);
  g_autoptr(GString) in = g_string_new ("id\tuid\tiid\tscenario\tlabel\n");
  for (int k = 1; k <= 20 && plines[k] && plines[k][0]; k++)
    {
      g_auto(GStrv) f = g_strsplit (plines[k], "\t", -1);
      g_auto(GStrv) c = g_strsplit (clines[atoi (f[0]) + 1], ",", -1);
      g_string_append_printf (in, "%s\t%s\t%s\t%s\t%s\n", f[0], c[0], c[1], c[2], c[3]);
    }
  g_auto(Run) stream = { 0 };
  run_cli_input (&stream, in->str, "score", "--stdin", model, NULL);
  g_assert_cmpint (stream.status, ==, 0);
  g_auto(GStrv) slines = g_strsplit (stream.out, "\n", -1);
  g_assert_cmpstr (slines[0], ==, "id\tlabel\tscore\tscenario\tuser");
  for (int k = 1; k <= 20 && plines[k] && plines[k][0]; k++)
    {
      g_auto(GStrv) a = g_strsplit (plines[k], "\t", -1);
      g_auto(GStrv) b = g_strsplit (slines[k], "\t", -1);
      g_assert_cmpstr (a[0], ==, b[0]);
      g_assert_cmpfloat_with_epsilon (g_ascii_strtod (a[2], NULL), g_ascii_strtod (b[2], NULL), 1e-6);
    }

  /* Errors name what is wrong. */
  g_auto(Run) bad = { 0 };
  run_cli (&bad, "train", proj, "--backbone", "transformer", "--out", model2, NULL);
  g_assert_cmpint (bad.status, ==, 1);
  g_assert_nonnull (strstr (bad.err, "dnn|dnn-separate|shared-bottom|mmoe|ple|star|pepnet"));
  g_auto(Run) notmodel = { 0 };
  run_cli (&notmodel, "inspect", csv, NULL);
  g_assert_cmpint (notmodel.status, ==, 1);
  g_assert_nonnull (strstr (notmodel.err, "clicks.csv"));
  g_auto(Run) unknown = { 0 };
  run_cli_input (&unknown, "uid\tiid\tscenario\nu1\ti1\tnews\n", "score", "--stdin", model, NULL);
  g_assert_cmpint (unknown.status, ==, 1);
  g_assert_nonnull (strstr (unknown.err, "scenario 'news'"));
  msr_test_rm_rf (tmp);
}


/* ---- explaining models: meta-weights, correlations ---------------------- */

/* A small simulated world with its planted knowledge, and one epoch of
 * STAR with LLM4MSR (under a second to train). */
static char *
explain_world (const char *tmp, char **model)
{
  char *proj = g_build_filename (tmp, "world", NULL);
  g_auto(Run) init = { 0 };
  run_cli (&init, "project", "init", proj, "--simulated", "--sim-users", "200", "--sim-rows", "8000",
           "--planted-knowledge", NULL);
  g_assert_cmpint (init.status, ==, 0);
  *model = g_build_filename (proj, "star-llm4msr.safetensors", NULL);
  g_auto(Run) tr = { 0 };
  run_cli (&tr, "train", proj, "--backbone", "star", "--llm4msr", "--epochs", "1", "--out", *model, "-q", NULL);
  g_assert_cmpint (tr.status, ==, 0);
  return proj;
}

/* A number as the whole of a field, finite. */
static double
parse_number (const char *text)
{
  char *end = NULL;
  double v = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0' || !isfinite (v))
    g_error ("'%s' is not a finite number", text);
  return v;
}

/* A meta-weights CSV as rows × (cols + 2) numbers (row, bias, weights),
 * checking every line's shape. */
static double *
parse_weights_csv (const char *text, guint *rows, guint *cols)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_auto(GStrv) head = g_strsplit (lines[0], ",", -1);
  const guint fields = g_strv_length (head);
  g_assert_cmpuint (fields, >=, 3);
  g_assert_cmpstr (head[0], ==, "row");
  g_assert_cmpstr (head[1], ==, "bias");
  for (guint c = 0; c + 2 < fields; c++)
    {
      g_autofree char *want = g_strdup_printf ("w%u", c);
      g_assert_cmpstr (head[c + 2], ==, want);
    }
  guint n = 0;
  while (lines[n + 1] && lines[n + 1][0])
    n++;
  g_assert_cmpuint (n, >=, 1);
  g_assert_cmpstr (lines[n + 1], ==, "");   /* the file ends with a newline */
  g_assert_null (lines[n + 2]);
  double *v = g_new (double, (gsize) n * fields);
  for (guint r = 0; r < n; r++)
    {
      g_auto(GStrv) f = g_strsplit (lines[r + 1], ",", -1);
      g_assert_cmpuint (g_strv_length (f), ==, fields);
      for (guint c = 0; c < fields; c++)
        v[(gsize) r * fields + c] = parse_number (f[c]);
      g_assert_cmpfloat (v[(gsize) r * fields], ==, r);
    }
  *rows = n;
  *cols = fields - 2;
  return v;
}

/* The weight and bias of a meta-weights JSON, checked against its rows
 * and cols, as a rows × (cols + 1) array (bias first, as in the CSV). */
static double *
parse_weights_json (JsonObject *o, guint *rows, guint *cols)
{
  const guint R = (guint) json_object_get_int_member (o, "rows");
  const guint C = (guint) json_object_get_int_member (o, "cols");
  JsonArray *w = json_object_get_array_member (o, "weight");
  JsonArray *b = json_object_get_array_member (o, "bias");
  g_assert_cmpuint (json_array_get_length (w), ==, R);
  g_assert_cmpuint (json_array_get_length (b), ==, R);
  double *v = g_new (double, (gsize) R * (C + 1));
  for (guint r = 0; r < R; r++)
    {
      JsonArray *row = json_array_get_array_element (w, r);
      g_assert_cmpuint (json_array_get_length (row), ==, C);
      v[(gsize) r * (C + 1)] = json_array_get_double_element (b, r);
      for (guint c = 0; c < C; c++)
        v[(gsize) r * (C + 1) + 1 + c] = json_array_get_double_element (row, c);
    }
  *rows = R;
  *cols = C;
  return v;
}

static double
max_abs_diff (const double *a, const double *b, gsize n)
{
  double d = 0;
  for (gsize i = 0; i < n; i++)
    d = MAX (d, fabs (a[i] - b[i]));
  return d;
}

static void
test_explain_meta_weights (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("msr-cli-XXXXXX", NULL);
  g_autofree char *model = NULL;
  g_autofree char *proj = explain_world (tmp, &model);

  /* A scenario's first generated layer: H inputs, 32 outputs by default. */
  g_auto(Run) csv = { 0 };
  run_cli (&csv, "meta-weights", proj, model, "--scenario", "Books", NULL);
  g_assert_cmpint (csv.status, ==, 0);
  guint rows, cols;
  g_autofree double *books = parse_weights_csv (csv.out, &rows, &cols);
  g_assert_cmpuint (rows, ==, 32);
  g_assert_cmpuint (cols, >=, 8);
  double spread = 0;
  for (guint r = 0; r < rows; r++)
    for (guint c = 0; c < cols; c++)
      spread = MAX (spread, fabs (books[(gsize) r * (cols + 2) + 2 + c]));
  g_assert_cmpfloat (spread, >, 1e-3);   /* trained weights, not zeros */

  /* The JSON has the same numbers (both print each float exactly), its
   * shape and where the knowledge came from. */
  g_auto(Run) js = { 0 };
  run_cli (&js, "meta-weights", proj, model, "--scenario", "Books", "--format", "json", NULL);
  g_assert_cmpint (js.status, ==, 0);
  g_autoptr(JsonParser) keep = NULL;
  JsonObject *o = parse_object (js.out, &keep);
  guint jr, jc;
  g_autofree double *jw = parse_weights_json (o, &jr, &jc);
  g_assert_cmpuint (jr, ==, rows);
  g_assert_cmpuint (jc, ==, cols);
  for (guint r = 0; r < rows; r++)
    for (guint c = 0; c <= cols; c++)
      g_assert_cmpfloat (jw[(gsize) r * (cols + 1) + c], ==, books[(gsize) r * (cols + 2) + 1 + c]);
  g_assert_cmpstr (json_object_get_string_member (o, "level"), ==, "scenario");
  g_assert_cmpstr (json_object_get_string_member (o, "key"), ==, "Books");
  g_assert_cmpint (json_object_get_int_member (o, "layer"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (o, "layers"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (o, "model"), ==, model);
  g_assert_cmpstr (json_object_get_string_member (o, "architecture"), ==, "star+llm4msr");
  g_assert_cmpstr (json_object_get_string_member (o, "encoder"), ==, "planted");
  const char *fp = json_object_get_string_member (o, "knowledge_fingerprint");
  g_assert_cmpuint (strlen (fp), ==, 64);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (o, "knowledge"),
                                                  "scenario_fingerprint"), ==, fp);

  /* Another scenario's knowledge generates another layer. */
  g_auto(Run) music = { 0 };
  run_cli (&music, "meta-weights", proj, model, "--scenario", "Music", NULL);
  g_assert_cmpint (music.status, ==, 0);
  guint mr, mc;
  g_autofree double *mw = parse_weights_csv (music.out, &mr, &mc);
  g_assert_cmpuint (mr, ==, rows);
  g_assert_cmpuint (mc, ==, cols);
  g_assert_cmpfloat (max_abs_diff (books, mw, (gsize) rows * (cols + 2)), >, 1e-6);

  /* The branch's last layer maps the 32 units to one logit; there is no third. */
  g_auto(Run) last = { 0 }, beyond = { 0 };
  run_cli (&last, "meta-weights", proj, model, "--scenario", "Books", "--layer", "1", NULL);
  g_assert_cmpint (last.status, ==, 0);
  guint lr, lc;
  g_autofree double *lw = parse_weights_csv (last.out, &lr, &lc);
  g_assert_cmpuint (lr, ==, 1);
  g_assert_cmpuint (lc, ==, 32);
  run_cli (&beyond, "meta-weights", proj, model, "--scenario", "Books", "--layer", "2", NULL);
  g_assert_cmpint (beyond.status, ==, 1);
  g_assert_nonnull (strstr (beyond.err, "--layer 2 is out of range: the scenario branch has 2 layers (0 to 1)"));

  /* Users: each its own H × H layer; the population's to a file. */
  g_auto(Run) u5 = { 0 }, u6 = { 0 };
  run_cli (&u5, "meta-weights", proj, model, "--user", "u5", "--format", "json", NULL);
  run_cli (&u6, "meta-weights", proj, model, "--user", "u6", "--format", "json", NULL);
  g_assert_cmpint (u5.status, ==, 0);
  g_assert_cmpint (u6.status, ==, 0);
  g_autoptr(JsonParser) k5 = NULL, k6 = NULL;
  JsonObject *o5 = parse_object (u5.out, &k5), *o6 = parse_object (u6.out, &k6);
  g_assert_cmpstr (json_object_get_string_member (o5, "level"), ==, "user");
  g_assert_cmpstr (json_object_get_string_member (o5, "key"), ==, "u5");
  g_assert_cmpstr (json_object_get_string_member (o5, "knowledge_fingerprint"), ==,
                   json_object_get_string_member (json_object_get_object_member (o5, "knowledge"),
                                                  "user_fingerprint"));
  guint r5, c5, r6, c6;
  g_autofree double *w5 = parse_weights_json (o5, &r5, &c5);
  g_autofree double *w6 = parse_weights_json (o6, &r6, &c6);
  g_assert_cmpuint (r5, ==, cols);   /* h → h', h feeding the scenario branch */
  g_assert_cmpuint (c5, ==, cols);
  g_assert_cmpuint (r6, ==, r5);
  g_assert_cmpfloat (max_abs_diff (w5, w6, (gsize) r5 * (c5 + 1)), >, 1e-6);
  g_autofree char *mean_path = g_build_filename (tmp, "mean.csv", NULL);
  g_auto(Run) mean = { 0 };
  run_cli (&mean, "meta-weights", proj, model, "--mean-user", "--out", mean_path, NULL);
  g_assert_cmpint (mean.status, ==, 0);
  g_assert_cmpstr (mean.out, ==, "");
  g_autofree char *mean_text = NULL;
  g_assert_true (g_file_get_contents (mean_path, &mean_text, NULL, NULL));
  guint ar, ac;
  g_autofree double *aw = parse_weights_csv (mean_text, &ar, &ac);
  g_assert_cmpuint (ar, ==, r5);
  g_assert_cmpuint (ac, ==, c5);

  /* Errors name the model file and what is wrong; nothing on stdout. */
  g_autofree char *plain = g_build_filename (proj, "dnn.safetensors", NULL);
  g_autofree char *no_user = g_build_filename (proj, "no-user.safetensors", NULL);
  g_auto(Run) t1 = { 0 }, t2 = { 0 };
  run_cli (&t1, "train", proj, "--backbone", "dnn", "--epochs", "1", "--out", plain, "-q", NULL);
  run_cli (&t2, "train", proj, "--backbone", "dnn", "--llm4msr", "--ablation", "no-user", "--epochs", "1",
           "--out", no_user, "-q", NULL);
  g_assert_cmpint (t1.status, ==, 0);
  g_assert_cmpint (t2.status, ==, 0);
  g_autofree char *no_llm = g_strdup_printf ("%s was trained without --llm4msr: it has no meta layers", plain);
  g_autofree char *no_level = g_strdup_printf ("%s was trained with the no-user ablation", no_user);
  g_autofree char *unknown_user = g_strdup_printf ("%s: unknown user 'nobody'", model);
  const struct { const char *model, *opt, *value, *expect; } bad[] = {
    { plain, "--scenario", "Books", no_llm },
    { model, "--scenario", "Sports", "has no scenario 'Sports'; its scenarios are 'Books', 'Music', 'Films', "
                                     "'Games', 'News'" },
    { model, "--user", "nobody", unknown_user },
    { no_user, "--user", "u5", no_level },
    { model, "--user", NULL, "give --scenario NAME, --user ID [--scenario NAME] or --mean-user" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_auto(Run) r = { 0 };
      if (bad[i].value)
        run_cli (&r, "meta-weights", proj, bad[i].model, bad[i].opt, bad[i].value, NULL);
      else
        run_cli (&r, "meta-weights", proj, bad[i].model, NULL);
      g_assert_cmpint (r.status, ==, 1);
      g_assert_cmpstr (r.out, ==, "");
      if (!strstr (r.err, bad[i].expect) || (bad[i].value && !strstr (r.err, bad[i].model)))
        g_error ("case %u: '%s' lacks '%s'", i, r.err, bad[i].expect);
    }
  /* The ablation keeps its scenario level. */
  g_auto(Run) scen = { 0 };
  run_cli (&scen, "meta-weights", proj, no_user, "--scenario", "News", NULL);
  g_assert_cmpint (scen.status, ==, 0);

  /* --out onto a symbolic link writes the file it names and keeps the
   * link (a rename over it would put a plain file in its place). */
  g_autofree char *target = g_build_filename (tmp, "target.csv", NULL);
  g_autofree char *link = g_build_filename (tmp, "link.csv", NULL);
  g_assert_true (g_file_set_contents (target, "old", -1, NULL));
  g_assert_cmpint (symlink ("target.csv", link), ==, 0);
  g_auto(Run) via = { 0 };
  run_cli (&via, "meta-weights", proj, model, "--scenario", "Books", "--out", link, NULL);
  g_assert_cmpint (via.status, ==, 0);
  g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  g_autofree char *written = NULL;
  g_assert_true (g_file_get_contents (target, &written, NULL, NULL));
  g_assert_true (g_str_has_prefix (written, "row,bias,w0,"));

  /* A model whose user meta network reads the scenario too: a user's layer
   * exists per scenario, differs between scenarios, and needs one named;
   * other models refuse a scenario for their user layer. */
  g_autofree char *on_s = g_build_filename (proj, "on-scenario.safetensors", NULL);
  g_auto(Run) t3 = { 0 };
  run_cli (&t3, "train", proj, "--backbone", "dnn", "--llm4msr", "--user-meta-on-scenario", "--epochs", "1",
           "--out", on_s, "-q", NULL);
  g_assert_cmpint (t3.status, ==, 0);
  g_auto(Run) need = { 0 };
  run_cli (&need, "meta-weights", proj, on_s, "--user", "u5", NULL);
  g_assert_cmpint (need.status, ==, 1);
  g_assert_nonnull (strstr (need.err, "name one with --scenario NAME"));
  g_auto(Run) ub = { 0 }, um = { 0 };
  run_cli (&ub, "meta-weights", proj, on_s, "--user", "u5", "--scenario", "Books", "--format", "json", NULL);
  run_cli (&um, "meta-weights", proj, on_s, "--user", "u5", "--scenario", "Music", "--format", "json", NULL);
  g_assert_cmpint (ub.status, ==, 0);
  g_assert_cmpint (um.status, ==, 0);
  g_autoptr(JsonParser) kb = NULL, km = NULL;
  JsonObject *ob = parse_object (ub.out, &kb), *om = parse_object (um.out, &km);
  g_assert_cmpstr (json_object_get_string_member (ob, "scenario"), ==, "Books");
  g_assert_cmpstr (json_object_get_string_member (ob, "key"), ==, "u5");
  guint rb, cb, rm, cm;
  g_autofree double *wb = parse_weights_json (ob, &rb, &cb);
  g_autofree double *wm = parse_weights_json (om, &rm, &cm);
  g_assert_cmpuint (rb, ==, rm);
  g_assert_cmpuint (cb, ==, cm);
  double diff = 0;
  for (gsize i = 0; i < (gsize) rb * (cb + 1); i++)
    diff = MAX (diff, fabs (wb[i] - wm[i]));
  g_assert_cmpfloat (diff, >, 0);
  g_auto(Run) extra = { 0 };
  run_cli (&extra, "meta-weights", proj, model, "--user", "u5", "--scenario", "Books", NULL);
  g_assert_cmpint (extra.status, ==, 1);
  g_assert_nonnull (strstr (extra.err, "does not depend on the scenario"));
  msr_test_rm_rf (tmp);
}

static JsonArray *
matrix_of (JsonArray *matrices, const char *source)
{
  for (guint i = 0; i < json_array_get_length (matrices); i++)
    {
      JsonObject *m = json_array_get_object_element (matrices, i);
      if (g_strcmp0 (json_object_get_string_member (m, "source"), source) == 0)
        return json_object_get_array_member (m, "values");
    }
  return NULL;
}

static void
test_explain_correlations (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("msr-cli-XXXXXX", NULL);
  g_autofree char *model = NULL;
  g_autofree char *proj = explain_world (tmp, &model);

  g_auto(Run) r = { 0 };
  run_cli (&r, "correlations", proj, "--model", model, "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr(JsonParser) keep = NULL;
  JsonObject *o = parse_object (r.out, &keep);
  JsonArray *names = json_object_get_array_member (o, "scenarios");
  const guint S = json_array_get_length (names);
  g_assert_cmpuint (S, ==, 5);
  g_assert_cmpstr (json_array_get_string_element (names, 0), ==, "Books");
  JsonArray *matrices = json_object_get_array_member (o, "matrices");
  const guint M = json_array_get_length (matrices);
  g_assert_cmpuint (M, ==, 5);
  static const char *const sources[] = { "llm:planted", "data:click-rate", "data:user-overlap", "planted", "learned" };
  for (guint i = 0; i < G_N_ELEMENTS (sources); i++)
    {
      JsonArray *v = matrix_of (matrices, sources[i]);
      if (v == NULL)
        g_error ("no matrix '%s'", sources[i]);
      g_assert_cmpuint (json_array_get_length (v), ==, S);
      for (guint a = 0; a < S; a++)
        {
          JsonArray *row = json_array_get_array_element (v, a);
          g_assert_cmpuint (json_array_get_length (row), ==, S);
          for (guint b = 0; b < S; b++)
            {
              double x = json_array_get_double_element (row, b);
              double y = json_array_get_double_element (json_array_get_array_element (v, b), a);
              g_assert_cmpfloat (x, ==, y);
              g_assert_cmpfloat (fabs (x), <=, 1.0 + 1e-12);
            }
        }
    }
  /* The planted matrix is the truth's. */
  g_auto(Run) t = { 0 };
  run_cli (&t, "truth", proj, "--json", NULL);
  g_assert_cmpint (t.status, ==, 0);
  g_autoptr(JsonParser) tkeep = NULL;
  JsonArray *truth = json_object_get_array_member (parse_object (t.out, &tkeep), "planted");
  JsonArray *planted = matrix_of (matrices, "planted");
  for (guint a = 0; a < S; a++)
    for (guint b = 0; b < S; b++)
      g_assert_cmpfloat (json_array_get_double_element (json_array_get_array_element (planted, a), b), ==,
                         json_array_get_double_element (json_array_get_array_element (truth, a), b));

  /* A Mantel test for every two matrices, each over all ten scenario pairs. */
  JsonArray *ag = json_object_get_array_member (o, "agreements");
  g_assert_cmpuint (json_array_get_length (ag), ==, M * (M - 1) / 2);
  g_assert_cmpint (json_object_get_int_member (o, "permutations"), ==, 9999);
  for (guint i = 0; i < json_array_get_length (ag); i++)
    {
      JsonObject *a = json_array_get_object_element (ag, i);
      g_assert_nonnull (matrix_of (matrices, json_object_get_string_member (a, "a")));
      g_assert_nonnull (matrix_of (matrices, json_object_get_string_member (a, "b")));
      g_assert_cmpstr (json_object_get_string_member (a, "a"), !=, json_object_get_string_member (a, "b"));
      g_assert_cmpint (json_object_get_int_member (a, "pairs"), ==, S * (S - 1) / 2);
      double rv = json_object_get_double_member (a, "r"), p = json_object_get_double_member (a, "p");
      g_assert_cmpfloat (fabs (rv), <=, 1.0);
      g_assert_cmpfloat (p, >=, 1.0 / 10000);
      g_assert_cmpfloat (p, <=, 1.0);
    }
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "notes")), ==, 0);

  /* Without permutations r stays and p goes; fewer, and p is a multiple of 1/(N + 1). */
  g_auto(Run) none = { 0 }, few = { 0 };
  run_cli (&none, "correlations", proj, "--json", "--permutations", "0", NULL);
  run_cli (&few, "correlations", proj, "--json", "--permutations", "19", NULL);
  g_assert_cmpint (none.status, ==, 0);
  g_assert_cmpint (few.status, ==, 0);
  g_autoptr(JsonParser) nkeep = NULL, fkeep = NULL;
  JsonObject *on = parse_object (none.out, &nkeep), *of = parse_object (few.out, &fkeep);
  JsonArray *agn = json_object_get_array_member (on, "agreements");
  JsonArray *agf = json_object_get_array_member (of, "agreements");
  g_assert_cmpuint (json_array_get_length (agn), ==, 6);   /* no learned matrix: 4 matrices */
  for (guint i = 0; i < json_array_get_length (agn); i++)
    {
      JsonObject *a = json_array_get_object_element (agn, i), *b = json_array_get_object_element (agf, i);
      g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (a, "p")));
      g_assert_cmpfloat (json_object_get_double_member (a, "r"), ==, json_object_get_double_member (b, "r"));
      double k = json_object_get_double_member (b, "p") * 20;
      g_assert_cmpfloat (fabs (k - round (k)), <, 1e-9);
    }

  /* Text: each matrix with its title, then the Mantel table. */
  g_auto(Run) text = { 0 };
  run_cli (&text, "correlations", proj, "--model", model, NULL);
  g_assert_cmpint (text.status, ==, 0);
  g_assert_nonnull (strstr (text.out, "Planted: the simulated world's truth [planted]"));
  g_assert_nonnull (strstr (text.out, "Learned by star+llm4msr [learned]"));
  g_assert_nonnull (strstr (text.out, "\nBooks    1.000   "));
  g_assert_nonnull (strstr (text.out, "Mantel agreement"));
  g_assert_nonnull (strstr (text.out, "planted            learned               10  "));

  /* A model without per-scenario parameters: the report says why. */
  g_autofree char *plain = g_build_filename (proj, "dnn.safetensors", NULL);
  g_auto(Run) tr = { 0 }, d = { 0 };
  run_cli (&tr, "train", proj, "--backbone", "dnn", "--epochs", "1", "--out", plain, "-q", NULL);
  g_assert_cmpint (tr.status, ==, 0);
  run_cli (&d, "correlations", proj, "--model", plain, NULL);
  g_assert_cmpint (d.status, ==, 0);
  g_assert_null (strstr (d.out, "[learned]"));
  g_assert_nonnull (strstr (d.out, "No learned matrix: a dnn model has no per-scenario parameters"));
  g_auto(Run) bad = { 0 };
  run_cli (&bad, "correlations", proj, "--permutations", "-1", NULL);
  g_assert_cmpint (bad.status, ==, 1);
  g_assert_nonnull (strstr (bad.err, "--permutations must be 0 to 1000000"));
  msr_test_rm_rf (tmp);
}

/* --knowledge STORE: a store kept outside the project trains, scores and
 * explains LLM4MSR models, and a model is checked against the store it is
 * given, not merely against the project's. */
static void
test_knowledge_store_option (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("msr-cli-XXXXXX", NULL);
  g_autofree char *proj = g_build_filename (tmp, "world", NULL);
  g_auto(Run) init = { 0 };
  run_cli (&init, "project", "init", proj, "--simulated", "--sim-users", "150", "--sim-rows", "5000",
           "--planted-knowledge", NULL);
  g_assert_cmpint (init.status, ==, 0);
  g_autofree char *inside = g_build_filename (proj, "knowledge.sqlite", NULL);
  g_autofree char *outside = g_build_filename (tmp, "elsewhere.sqlite", NULL);
  g_assert_cmpint (g_rename (inside, outside), ==, 0);
  g_autofree char *model = g_build_filename (tmp, "star-llm4msr.safetensors", NULL);

  /* Without the option the project has no store: LLM4MSR cannot train. */
  g_auto(Run) none = { 0 };
  run_cli (&none, "train", proj, "--backbone", "star", "--llm4msr", "--epochs", "1", "--out", model, "-q", NULL);
  g_assert_cmpint (none.status, ==, 1);
  g_assert_nonnull (strstr (none.err, "no knowledge store"));
  g_assert_false (g_file_test (model, G_FILE_TEST_EXISTS));

  g_autofree char *missing = g_build_filename (tmp, "nothing.sqlite", NULL);
  g_auto(Run) bad = { 0 };
  run_cli (&bad, "train", proj, "--backbone", "star", "--llm4msr", "--knowledge", missing, "--out", model, NULL);
  g_assert_cmpint (bad.status, ==, 1);
  g_assert_nonnull (strstr (bad.err, "nothing.sqlite: no such knowledge store"));

  g_auto(Run) tr = { 0 };
  run_cli (&tr, "train", proj, "--backbone", "star", "--llm4msr", "--knowledge", outside, "--epochs", "1",
           "--out", model, "-q", NULL);
  g_assert_cmpint (tr.status, ==, 0);

  g_auto(Run) ev = { 0 };
  run_cli (&ev, "eval", proj, model, "--knowledge", outside, "--replicates", "0", "--json", NULL);
  g_assert_cmpint (ev.status, ==, 0);
  g_auto(Run) mw = { 0 };
  run_cli (&mw, "meta-weights", proj, model, "--knowledge", outside, "--scenario", "Books", NULL);
  g_assert_cmpint (mw.status, ==, 0);
  g_assert_true (g_str_has_prefix (mw.out, "row,bias,w0,"));
  g_auto(Run) co = { 0 };
  run_cli (&co, "correlations", proj, "--knowledge", outside, "--json", "--permutations", "0", NULL);
  g_assert_cmpint (co.status, ==, 0);
  g_assert_nonnull (strstr (co.out, "\"llm:planted\""));

  /* Another world's knowledge (other seed: other planted vectors) is not
   * the store the model was trained with: refused, naming both. */
  g_autofree char *other = g_build_filename (tmp, "other", NULL);
  g_auto(Run) init2 = { 0 };
  run_cli (&init2, "project", "init", other, "--simulated", "--sim-users", "150", "--sim-rows", "5000",
           "--seed", "99", "--planted-knowledge", NULL);
  g_assert_cmpint (init2.status, ==, 0);
  g_autofree char *other_store = g_build_filename (other, "knowledge.sqlite", NULL);
  g_auto(Run) wrong = { 0 };
  run_cli (&wrong, "score", proj, model, "--knowledge", other_store, NULL);
  g_assert_cmpint (wrong.status, ==, 1);
  g_assert_nonnull (strstr (wrong.err, model));
  g_assert_nonnull (strstr (wrong.err, "other/knowledge.sqlite"));
  g_assert_cmpstr (wrong.out, ==, "");

  msr_test_rm_rf (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/usage", test_usage);
  g_test_add_func ("/cli/metrics/oracle", test_metrics_oracle);
  g_test_add_func ("/cli/metrics/shards", test_metrics_shards);
  g_test_add_func ("/cli/metrics/bad-input", test_metrics_bad_input);
  g_test_add_func ("/cli/compare/oracle", test_compare_oracle);
  g_test_add_func ("/cli/compare/mismatch", test_compare_mismatch);
  g_test_add_func ("/cli/project/movielens", test_project_movielens);
  g_test_add_func ("/cli/project/csv-errors", test_project_csv_errors);
  g_test_add_func ("/cli/project/simulated", test_project_simulated);
  g_test_add_func ("/cli/knowledge", test_knowledge_verbs);
  g_test_add_func ("/cli/data/fetch", test_data_fetch);
  g_test_add_func ("/cli/model/verbs", test_model_verbs);
  g_test_add_func ("/cli/explain/meta-weights", test_explain_meta_weights);
  g_test_add_func ("/cli/explain/correlations", test_explain_correlations);
  g_test_add_func ("/cli/knowledge-store-option", test_knowledge_store_option);
  return g_test_run ();
}

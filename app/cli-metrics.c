/* cli-metrics.c: msrlens-cli metrics and compare. */
#include "config.h"
#include "cli-common.h"
#include "cli-verbs.h"
#include "msr-csv.h"
#include "msr-metrics.h"
#include "msr-predictions.h"
#include "msr-stats.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>


/* ---- metrics -------------------------------------------------------------- */

static gboolean
is_state_file (const char *path)
{
  char head[8] = { 0 };
  FILE *f = fopen (path, "rb");
  if (f == NULL)
    return FALSE;
  gsize n = fread (head, 1, sizeof head, f);
  fclose (f);
  return n == sizeof head && memcmp (head, MSR_EVAL_ACC_MAGIC, sizeof head) == 0;
}

/* Standard input, kept in a temporary file so the reader can map it. */
static char *
stdin_to_temp (GError **error)
{
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("msrlens-stdin-XXXXXX.tsv", &path, error);
  if (fd < 0)
    return NULL;
  char buf[65536];
  size_t n;
  gboolean ok = TRUE;
  while ((n = fread (buf, 1, sizeof buf, stdin)) > 0)
    if (write (fd, buf, n) != (ssize_t) n)
      {
        ok = FALSE;
        break;
      }
  close (fd);
  if (!ok)
    {
      g_unlink (path);
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "cannot buffer standard input in %s", path);
      return NULL;
    }
  return g_steal_pointer (&path);
}

static gboolean
add_predictions (MsrEvalAcc *acc, const MsrPredictions *p, GError **error)
{
  g_autofree guint32 *scen = g_new (guint32, p->scenario_names ? p->scenario_names->len : 1);
  g_autofree guint32 *users = NULL;
  if (p->scenario_names)
    for (guint i = 0; i < p->scenario_names->len; i++)
      scen[i] = msr_eval_acc_intern_scenario (acc, g_ptr_array_index (p->scenario_names, i));
  else
    scen[0] = msr_eval_acc_intern_scenario (acc, "");
  if (msr_eval_acc_has_users (acc))
    {
      users = g_new (guint32, p->user_names->len);
      for (guint i = 0; i < p->user_names->len; i++)
        users[i] = msr_eval_acc_intern_user (acc, g_ptr_array_index (p->user_names, i));
    }
  /* Map file codes to accumulator codes in place, in blocks. */
  const gsize block = 65536;
  g_autofree guint32 *sc = g_new (guint32, block);
  g_autofree guint32 *uc = users ? g_new (guint32, block) : NULL;
  for (gsize start = 0; start < p->n; start += block)
    {
      gsize m = MIN (block, p->n - start);
      for (gsize i = 0; i < m; i++)
        {
          sc[i] = p->scenarios ? scen[p->scenarios[start + i]] : scen[0];
          if (uc)
            uc[i] = users[p->users[start + i]];
        }
      gsize bad = 0;
      g_autoptr(GError) local = NULL;
      if (!msr_eval_acc_add_batch (acc, p->scores + start, p->labels + start, sc, uc, m, &bad, &local))
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: line %" G_GSIZE_FORMAT ": %s",
                       p->path, p->lines[start + bad], local->message);
          return FALSE;
        }
    }
  return TRUE;
}


static char *
format_coverage (const MsrMetrics *m)
{
  g_autofree char *uk = cli_format_count (m->gauc_users_kept);
  g_autofree char *u = cli_format_count (m->gauc_users);
  g_autofree char *rk = cli_format_count (m->gauc_rows_kept);
  g_autofree char *r = cli_format_count (m->gauc_rows);
  return g_strdup_printf ("%s/%s users, %s/%s rows", uk, u, rk, r);
}

static void
print_metrics_row (const char *name, int w, const MsrMetrics *m, gboolean with_users, gboolean is_mean)
{
  g_autofree char *n = cli_format_count (m->n);
  g_autofree char *pos = cli_format_count (m->positives);
  g_autofree char *auc = cli_format_metric (m->auc, m->auc_defined);
  g_autofree char *ll = cli_format_metric (m->logloss, m->logloss_defined);
  printf ("%-*s %11s %11s %10s %10s", w, name, is_mean ? "" : n, is_mean ? "" : pos, auc, ll);
  if (with_users)
    {
      g_autofree char *gauc = cli_format_metric (m->gauc, m->gauc_defined);
      g_autofree char *cov = is_mean ? g_strdup ("")
          : format_coverage (m);
      printf (" %10s  %s", gauc, cov);
    }
  printf ("\n");
}

static const char *
undefined_reason (const MsrMetrics *m)
{
  if (m->n == 0)
    return "it has no rows";
  if (m->positives == 0)
    return "it has only negative rows";
  if (m->positives == m->n)
    return "it has only positive rows";
  return "a class is missing";
}

static int
cmp_scenario_names (gconstpointer a, gconstpointer b, gpointer names)
{
  return strcmp (((char **) names)[*(const guint *) a], ((char **) names)[*(const guint *) b]);
}

int
cli_metrics (int argc, char **argv)
{
  gboolean json = FALSE;
  g_autofree char *state_out = NULL;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object {\"overall\": {...}, \"scenarios\": {...}, ...}", NULL },
    { "state-out", 0, 0, G_OPTION_ARG_FILENAME, &state_out, "also save the merged accumulator state to FILE", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("INPUT...");
  g_option_context_set_summary (ctx,
      "Computes AUC (mid-rank ties), logloss and GAUC per scenario, overall (pooled), and their\n"
      "macro and row-weighted means over scenarios.\n\n"
      "An INPUT is a prediction file (tab-separated, header with at least 'label' and 'score',\n"
      "optionally 'scenario' and 'user'; '-' reads standard input) or an accumulator state saved\n"
      "by --state-out. Several inputs are merged; merging shard states gives exactly the numbers\n"
      "of one pass over all rows, so an evaluation can be split across processes or machines.");
  g_option_context_set_description (ctx,
      "Examples:\n"
      "  msrlens-cli metrics pred.tsv --json\n"
      "  msrlens-cli metrics part-1.tsv --state-out part-1.acc   (on each machine)\n"
      "  msrlens-cli metrics part-*.acc                          (merge)\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 1, -1))
    return CLI_EXIT_USAGE;

  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) preds = g_ptr_array_new_with_free_func ((GDestroyNotify) msr_predictions_free);
  g_autoptr(GPtrArray) states = g_ptr_array_new_with_free_func ((GDestroyNotify) msr_eval_acc_free);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  int with_scenarios = -1;   /* unknown until the first prediction file */
  gboolean with_users = TRUE;

  for (int i = 1; i < argc; i++)
    {
      const char *input = argv[i];
      if (strcmp (input, "-") != 0 && is_state_file (input))
        {
          MsrEvalAcc *acc = msr_eval_acc_load (input, &error);
          if (acc == NULL)
            return cli_fail (error);
          g_ptr_array_add (states, acc);
          with_users &= msr_eval_acc_has_users (acc);
          continue;
        }
      g_autofree char *tmp = NULL;
      if (strcmp (input, "-") == 0)
        {
          tmp = stdin_to_temp (&error);
          if (tmp == NULL)
            return cli_fail (error);
        }
      MsrPredictions *p = msr_predictions_load (tmp ? tmp : input, &error);
      if (tmp)
        g_unlink (tmp);
      if (p == NULL)
        {
          if (tmp)
            return cli_fail_message ("standard input: %s", error->message);
          return cli_fail (error);
        }
      if (tmp)
        {
          g_free (p->path);
          p->path = g_strdup ("standard input");
        }
      int has_scen = p->scenarios != NULL;
      if (with_scenarios >= 0 && has_scen != with_scenarios)
        {
          msr_predictions_free (p);
          return cli_fail_message ("%s %s a scenario column but an earlier input %s; merge like with like",
                                   input, has_scen ? "has" : "has no", has_scen ? "has none" : "has one");
        }
      with_scenarios = has_scen;
      with_users &= p->users != NULL;
      g_ptr_array_add (preds, p);
    }

  g_autoptr(MsrEvalAcc) acc = msr_eval_acc_new (with_users);
  for (guint i = 0; i < preds->len; i++)
    if (!add_predictions (acc, g_ptr_array_index (preds, i), &error))
      return cli_fail (error);
  for (guint i = 0; i < states->len; i++)
    if (!msr_eval_acc_merge (acc, g_ptr_array_index (states, i), &error))
      return cli_fail (error);
  if (state_out && !msr_eval_acc_save (acc, state_out, &error))
    return cli_fail (error);

  g_autoptr(MsrEvalResult) res = msr_eval_acc_finish (acc);
  /* Inputs without a scenario column go to the scenario named "". */
  gboolean per_scenario = !(res->n_scenarios == 1 && res->scenario_names[0][0] == '\0');
  if (res->n_rows == 0)
    return cli_fail_message ("metrics: the inputs hold no rows");
  /* Scenarios in name order, so shards merged in any order print the same. */
  g_autofree guint *order = g_new (guint, MAX (res->n_scenarios, 1));
  for (guint s = 0; s < res->n_scenarios; s++)
    order[s] = s;
  g_qsort_with_data (order, (gint) res->n_scenarios, sizeof (guint), cmp_scenario_names, res->scenario_names);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "overall");
      cli_json_add_metrics (b, &res->overall, with_users, FALSE, NULL, NULL);
      json_builder_set_member_name (b, "scenarios");
      json_builder_begin_object (b);
      for (guint i = 0; per_scenario && i < res->n_scenarios; i++)
        {
          guint s = order[i];
          json_builder_set_member_name (b, res->scenario_names[s]);
          cli_json_add_metrics (b, &res->scenarios[s], with_users, FALSE, NULL, NULL);
        }
      json_builder_end_object (b);
      if (per_scenario)
        {
          json_builder_set_member_name (b, "macro_mean");
          cli_json_add_metrics (b, &res->macro, with_users, TRUE, NULL, NULL);
          json_builder_set_member_name (b, "weighted_mean");
          cli_json_add_metrics (b, &res->weighted, with_users, TRUE, NULL, NULL);
        }
      cli_json_add_double (b, "logloss_epsilon", res->logloss_epsilon, TRUE);
      json_builder_end_object (b);
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cli_print_json (root);
      return CLI_EXIT_OK;
    }

  int w = 14;
  for (guint s = 0; s < res->n_scenarios; s++)
    w = MAX (w, (int) g_utf8_strlen (res->scenario_names[s], -1));
  printf ("%-*s %11s %11s %10s %10s", w, "scenario", "rows", "positives", "AUC", "logloss");
  if (with_users)
    printf (" %10s  %s", "GAUC", "GAUC coverage");
  printf ("\n");
  for (guint i = 0; per_scenario && i < res->n_scenarios; i++)
    print_metrics_row (res->scenario_names[order[i]], w, &res->scenarios[order[i]], with_users, FALSE);
  print_metrics_row ("overall", w, &res->overall, with_users, FALSE);
  if (per_scenario)
    {
      print_metrics_row ("macro mean", w, &res->macro, with_users, TRUE);
      print_metrics_row ("weighted mean", w, &res->weighted, with_users, TRUE);
      printf ("\nMeans are over the scenarios where the metric is defined (AUC: %u of %u).\n",
              res->macro.auc_scenarios, res->n_scenarios);
      for (guint i = 0; i < res->n_scenarios; i++)
        if (!res->scenarios[order[i]].auc_defined)
          printf ("AUC undefined for '%s': %s.\n", res->scenario_names[order[i]],
                  undefined_reason (&res->scenarios[order[i]]));
    }
  printf ("Logloss: natural log, p clipped to [%g, 1 - %g]. GAUC: impression-weighted mean of per-user AUC\n"
          "over users with both classes (per scenario: per user within the scenario).\n",
          res->logloss_epsilon, res->logloss_epsilon);
  if (!with_users)
    printf ("No GAUC: the input has no 'user' column.\n");
  return CLI_EXIT_OK;
}

/* ---- compare -------------------------------------------------------------- */


static void
json_comparison_row (JsonBuilder *b, const MsrComparisonRow *r, double p_holm, gboolean intervals)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "n");
  json_builder_add_int_value (b, (gint64) r->n);
  json_builder_set_member_name (b, "positives");
  json_builder_add_int_value (b, (gint64) r->positives);
  cli_json_add_double (b, "auc_a", r->auc_a, TRUE);
  cli_json_add_double (b, "auc_b", r->auc_b, TRUE);
  cli_json_add_double (b, "delta_auc", r->delta, TRUE);
  cli_json_add_double (b, "relaimpr", r->relaimpr, TRUE);
  cli_json_add_double (b, "delong_z", r->delong.z, r->delong.defined);
  cli_json_add_double (b, "delong_p", r->delong.p, r->delong.defined);
  cli_json_add_double (b, "delong_var", r->delong.var, r->delong.defined);
  if (!isnan (p_holm) || r->delong.defined)
    cli_json_add_double (b, "delong_p_holm", p_holm, !isnan (p_holm));
  if (intervals)
    {
      cli_json_add_interval (b, "auc_a_ci", &r->ci_auc_a);
      cli_json_add_interval (b, "auc_b_ci", &r->ci_auc_b);
      cli_json_add_interval (b, "delta_auc_ci", &r->ci_delta);
      cli_json_add_interval (b, "relaimpr_ci", &r->ci_relaimpr);
    }
  if (r->has_gauc)
    {
      cli_json_add_double (b, "gauc_a", r->gauc_a, TRUE);
      cli_json_add_double (b, "gauc_b", r->gauc_b, TRUE);
      cli_json_add_double (b, "delta_gauc", r->gauc_delta, TRUE);
      if (intervals)
        cli_json_add_interval (b, "delta_gauc_ci", &r->ci_gauc_delta);
    }
  json_builder_end_object (b);
}

static char *
format_interval (const MsrInterval *ci, const char *fmt)
{
  if (ci->n_defined == 0)
    return g_strdup ("-");
  g_autofree char *lo = g_strdup_printf (fmt, ci->lo);
  g_autofree char *hi = g_strdup_printf (fmt, ci->hi);
  return g_strdup_printf ("[%s, %s]", lo, hi);
}

static void
print_comparison_row (const char *name, int w, const MsrComparisonRow *r, double p_holm, gboolean intervals)
{
  g_autofree char *n = cli_format_count (r->n);
  g_autofree char *a = cli_format_metric (r->auc_a, TRUE);
  g_autofree char *bb = cli_format_metric (r->auc_b, TRUE);
  g_autofree char *d = isnan (r->delta) ? g_strdup ("undefined") : g_strdup_printf ("%+.6f", r->delta);
  g_autofree char *ci = intervals ? format_interval (&r->ci_delta, "%+.4f") : g_strdup ("");
  g_autofree char *ri = isnan (r->relaimpr) ? g_strdup ("-") : g_strdup_printf ("%+.2f%%", r->relaimpr);
  g_autofree char *z = r->delong.defined ? g_strdup_printf ("%+.3f", r->delong.z) : g_strdup ("-");
  g_autofree char *p = r->delong.defined ? g_strdup_printf ("%.3g", r->delong.p) : g_strdup ("-");
  g_autofree char *ph = isnan (p_holm) ? g_strdup ("") : g_strdup_printf ("%.3g", p_holm);
  printf ("%-*s %9s %9s %9s %10s %-20s %9s %8s %9s %9s\n", w, name, n, a, bb, d, ci, ri, z, p, ph);
}

int
cli_compare (int argc, char **argv)
{
  gboolean json = FALSE;
  gint64 replicates = 1000, seed = 42, threads = 0;
  double level = 0.95;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object", NULL },
    { "replicates", 0, 0, G_OPTION_ARG_INT64, &replicates, "bootstrap replicates (default 1000; 0 = no intervals)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "bootstrap seed (default 42)", "N" },
    { "level", 0, 0, G_OPTION_ARG_DOUBLE, &level, "confidence level (default 0.95)", "X" },
    { "threads", 0, 0, G_OPTION_ARG_INT64, &threads, "bootstrap threads (default: all processors; results do not depend on it)", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("A.tsv B.tsv");
  g_option_context_set_summary (ctx,
      "Compares model B against model A on the same rows (same order; checked through labels,\n"
      "and ids and scenarios when present): per scenario and overall AUC of each, ΔAUC = B − A,\n"
      "RelaImpr of B over A, DeLong's paired test (z, two-sided p, and Holm-adjusted p across\n"
      "scenarios), and stratified paired bootstrap confidence intervals of ΔAUC.");
  g_option_context_set_description (ctx, "Example:\n  msrlens-cli compare dnn.tsv star.tsv --json\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 2, 2))
    return CLI_EXIT_USAGE;
  if (replicates < 0 || replicates > 1000000 || seed < 0 || threads < 0 || !(level > 0 && level < 1))
    return cli_fail_message ("compare: --replicates must be 0..1000000, --seed and --threads non-negative, --level in (0, 1)");

  g_autoptr(GError) error = NULL;
  g_autoptr(MsrPredictions) a = msr_predictions_load (argv[1], &error);
  if (a == NULL)
    return cli_fail (error);
  g_autoptr(MsrPredictions) b = msr_predictions_load (argv[2], &error);
  if (b == NULL)
    return cli_fail (error);
  if (!msr_predictions_check_paired (a, b, &error))
    return cli_fail (error);

  MsrBootstrapOptions opts;
  msr_bootstrap_options_init (&opts);
  opts.replicates = (guint) replicates;
  opts.seed = (guint64) seed;
  opts.level = level;
  opts.threads = (guint) threads;
  guint n_scen = a->scenario_names ? a->scenario_names->len : 0;
  CliProgress progress = { 0 };
  g_autoptr(MsrComparison) cmp = msr_compare_paired (
      a->scores, b->scores, a->labels, a->scenarios,
      a->scenario_names ? (const char * const *) a->scenario_names->pdata : NULL, n_scen,
      a->users, a->n, &opts, json ? NULL : cli_progress, &progress, NULL, &error);
  cli_progress_done (&progress);
  if (cmp == NULL)
    return cli_fail (error);

  g_autofree double *p = g_new (double, MAX (n_scen, 1));
  g_autofree double *p_holm = g_new (double, MAX (n_scen, 1));
  for (guint s = 0; s < n_scen; s++)
    p[s] = cmp->scenarios[s].delong.defined ? cmp->scenarios[s].delong.p : NAN;
  msr_holm_adjust (p, n_scen, p_holm);
  const gboolean intervals = opts.replicates > 0;

  if (json)
    {
      g_autoptr(JsonBuilder) jb = json_builder_new ();
      json_builder_begin_object (jb);
      json_builder_set_member_name (jb, "a");
      json_builder_add_string_value (jb, argv[1]);
      json_builder_set_member_name (jb, "b");
      json_builder_add_string_value (jb, argv[2]);
      json_builder_set_member_name (jb, "bootstrap");
      json_builder_begin_object (jb);
      json_builder_set_member_name (jb, "replicates");
      json_builder_add_int_value (jb, opts.replicates);
      json_builder_set_member_name (jb, "seed");
      json_builder_add_int_value (jb, (gint64) opts.seed);
      cli_json_add_double (jb, "level", opts.level, TRUE);
      json_builder_set_member_name (jb, "scheme");
      json_builder_add_string_value (jb, "paired, stratified by scenario x label; GAUC by user clusters; percentile intervals");
      json_builder_end_object (jb);
      json_builder_set_member_name (jb, "overall");
      json_comparison_row (jb, &cmp->overall, NAN, intervals);
      json_builder_set_member_name (jb, "scenarios");
      json_builder_begin_object (jb);
      for (guint s = 0; s < n_scen; s++)
        {
          json_builder_set_member_name (jb, cmp->scenarios[s].name);
          json_comparison_row (jb, &cmp->scenarios[s], p_holm[s], intervals);
        }
      json_builder_end_object (jb);
      json_builder_end_object (jb);
      g_autoptr(JsonNode) root = json_builder_get_root (jb);
      cli_print_json (root);
      return CLI_EXIT_OK;
    }

  int w = 10;
  for (guint s = 0; s < n_scen; s++)
    w = MAX (w, (int) g_utf8_strlen (cmp->scenarios[s].name, -1));
  printf ("A = %s\nB = %s\n\n", argv[1], argv[2]);
  g_autofree char *ci_head = g_strdup_printf ("%g%% CI of ΔAUC", level * 100);
  /* "Δ" is two bytes: widths below count bytes, so headers holding it get one more. */
  printf ("%-*s %9s %9s %9s %11s %-21s %9s %8s %9s %9s\n", w, "scenario", "rows", "AUC A", "AUC B", "ΔAUC",
          intervals ? ci_head : "", "RelaImpr", "DeLong z", "p", "p (Holm)");
  for (guint s = 0; s < n_scen; s++)
    print_comparison_row (cmp->scenarios[s].name, w, &cmp->scenarios[s], p_holm[s], intervals);
  print_comparison_row ("overall", w, &cmp->overall, NAN, intervals);
  if (intervals)
    printf ("\nBootstrap: %u paired replicates, resampling rows within scenario x label strata (seed %"
            G_GUINT64_FORMAT "); percentile intervals.\n", opts.replicates, opts.seed);
  printf ("RelaImpr = ((AUC_B - 0.5) / (AUC_A - 0.5) - 1) x 100%%.");
  if (n_scen > 1)
    printf (" Holm adjusts p across the %u scenarios.", n_scen);
  printf ("\n");
  if (cmp->overall.has_gauc)
    {
      g_autofree char *ga = cli_format_metric (cmp->overall.gauc_a, TRUE);
      g_autofree char *gb = cli_format_metric (cmp->overall.gauc_b, TRUE);
      g_autofree char *gci = intervals ? format_interval (&cmp->overall.ci_gauc_delta, "%+.4f") : g_strdup ("");
      printf ("GAUC overall: A %s, B %s, Δ %+.6f %s (user-cluster bootstrap)\n", ga, gb,
              cmp->overall.gauc_delta, gci);
    }
  return CLI_EXIT_OK;
}

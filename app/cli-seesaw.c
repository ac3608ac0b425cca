/* cli-seesaw.c: msrlens-cli seesaw, two recorded runs compared per scenario
 * with the seesaw indicators (method spec 6.6). Every figure comes from
 * MsrSeesaw / MsrSeesawSeeds: this file only formats them. */
#include "config.h"
#include "cli-common.h"
#include "cli-verbs.h"
#include "msr-project.h"
#include "msr-results.h"
#include "msr-seesaw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- JSON ------------------------------------------------------------------ */

/* A double that may be +inf (the conflict ratio): null for NaN, the string
 * "inf" / "-inf" for infinities. */
static void
json_value_inf (JsonBuilder *b, double v)
{
  if (isnan (v))
    json_builder_add_null_value (b);
  else if (isinf (v))
    json_builder_add_string_value (b, v > 0 ? "inf" : "-inf");
  else
    json_builder_add_double_value (b, v);
}

static void
json_add_inf (JsonBuilder *b, const char *key, double v)
{
  json_builder_set_member_name (b, key);
  json_value_inf (b, v);
}

static void
json_add_interval_inf (JsonBuilder *b, const char *key, const MsrInterval *ci)
{
  json_builder_set_member_name (b, key);
  if (ci->n_defined == 0)
    {
      json_builder_add_null_value (b);
      return;
    }
  json_builder_begin_array (b);
  json_value_inf (b, ci->lo);
  json_value_inf (b, ci->hi);
  json_builder_end_array (b);
}

static const char *
outcome_word (const MsrSeesawScenario *r)
{
  if (!r->tested)
    return NULL;
  return r->outcome == MSR_SEESAW_WIN ? "win" : r->outcome == MSR_SEESAW_LOSS ? "loss" : "tie";
}

static void
json_scenario (JsonBuilder *b, const MsrSeesawScenario *r, gboolean intervals, gboolean is_overall)
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
  json_builder_set_member_name (b, "tested");
  json_builder_add_boolean_value (b, r->tested);
  json_add_inf (b, "delong_z", r->z);
  cli_json_add_double (b, "delong_p", r->p, TRUE);
  if (!is_overall)
    cli_json_add_double (b, "delong_p_holm", r->p_holm, TRUE);
  json_builder_set_member_name (b, "outcome");
  if (outcome_word (r))
    json_builder_add_string_value (b, outcome_word (r));
  else
    json_builder_add_null_value (b);
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

static void
json_seed_row (JsonBuilder *b, const MsrSeesawSeedRow *r)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "n_a");
  json_builder_add_int_value (b, r->n_a);
  cli_json_add_double (b, "auc_a_mean", r->auc_a_mean, TRUE);
  cli_json_add_double (b, "auc_a_std", r->auc_a_std, TRUE);
  json_builder_set_member_name (b, "n_b");
  json_builder_add_int_value (b, r->n_b);
  cli_json_add_double (b, "auc_b_mean", r->auc_b_mean, TRUE);
  cli_json_add_double (b, "auc_b_std", r->auc_b_std, TRUE);
  json_builder_set_member_name (b, "k");
  json_builder_add_int_value (b, r->k);
  cli_json_add_double (b, "delta_mean", r->delta_mean, TRUE);
  cli_json_add_double (b, "delta_std", r->delta_std, TRUE);
  json_builder_end_object (b);
}

static void
json_run_list (JsonBuilder *b, const char *key, const gint64 *ids, guint n)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (guint i = 0; i < n; i++)
    json_builder_add_int_value (b, ids[i]);
  json_builder_end_array (b);
}

static void
json_seeds (JsonBuilder *b, const MsrSeesawSeeds *sd)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "pairing");
  json_builder_add_string_value (b, msr_seesaw_pairing_to_string (sd->pairing));
  json_builder_set_member_name (b, "same_configuration");
  json_builder_add_boolean_value (b, sd->same_configuration);
  json_builder_set_member_name (b, "k");
  json_builder_add_int_value (b, sd->k);
  json_run_list (b, "runs_a", sd->runs_a, sd->n_runs_a);
  json_run_list (b, "runs_b", sd->runs_b, sd->n_runs_b);
  json_builder_set_member_name (b, "pairs");
  json_builder_begin_array (b);
  for (guint j = 0; j < sd->k; j++)
    {
      const MsrSeesawSeedPair *p = &sd->pairs[j];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "run_a");
      json_builder_add_int_value (b, p->run_a);
      json_builder_set_member_name (b, "run_b");
      json_builder_add_int_value (b, p->run_b);
      json_builder_set_member_name (b, "by_seed");
      json_builder_add_boolean_value (b, p->by_seed);
      json_builder_set_member_name (b, "seed_a");
      if (p->has_seed_a)
        json_builder_add_int_value (b, (gint64) p->seed_a);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "seed_b");
      if (p->has_seed_b)
        json_builder_add_int_value (b, (gint64) p->seed_b);
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "scenarios");
  json_builder_begin_object (b);
  for (guint s = 0; s < sd->n_scenarios; s++)
    {
      json_builder_set_member_name (b, sd->scenarios[s].name);
      json_seed_row (b, &sd->scenarios[s]);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "overall");
  json_seed_row (b, &sd->overall);
  json_builder_end_object (b);
}

static void
print_json (const MsrSeesaw *sw, const MsrSeesawSeeds *sd, const GError *seeds_error, gint64 run_a, gint64 run_b)
{
  const gboolean intervals = sw->replicates > 0;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "run_a");
  json_builder_add_int_value (b, run_a);
  json_builder_set_member_name (b, "run_b");
  json_builder_add_int_value (b, run_b);

  json_builder_set_member_name (b, "scenarios");
  json_builder_begin_object (b);
  for (guint s = 0; s < sw->n_scenarios; s++)
    {
      json_builder_set_member_name (b, sw->scenarios[s].name);
      json_scenario (b, &sw->scenarios[s], intervals, FALSE);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "overall");
  json_scenario (b, &sw->overall, intervals, TRUE);

  json_builder_set_member_name (b, "indicators");
  json_builder_begin_object (b);
  cli_json_add_double (b, "tau", sw->tau, TRUE);
  cli_json_add_double (b, "alpha", sw->alpha, TRUE);
  json_builder_set_member_name (b, "seesaw_tau");
  json_builder_add_boolean_value (b, sw->seesaw_tau);
  json_builder_set_member_name (b, "n_gain_tau");
  json_builder_add_int_value (b, sw->n_gain_tau);
  json_builder_set_member_name (b, "n_loss_tau");
  json_builder_add_int_value (b, sw->n_loss_tau);
  json_builder_set_member_name (b, "seesaw_significant");
  json_builder_add_boolean_value (b, sw->seesaw_significant);
  json_add_inf (b, "conflict_ratio", sw->conflict_ratio);
  if (intervals)
    json_add_interval_inf (b, "conflict_ratio_ci", &sw->ci_conflict_ratio);
  cli_json_add_double (b, "significant_gain_sum", sw->significant_gain_sum, TRUE);
  cli_json_add_double (b, "significant_loss_sum", sw->significant_loss_sum, TRUE);
  cli_json_add_double (b, "worst_delta", sw->worst_delta, TRUE);
  json_builder_set_member_name (b, "worst_scenario");
  if (sw->worst_scenario >= 0)
    json_builder_add_string_value (b, sw->scenarios[sw->worst_scenario].name);
  else
    json_builder_add_null_value (b);
  cli_json_add_double (b, "worst_relaimpr", sw->worst_relaimpr, TRUE);
  json_builder_set_member_name (b, "worst_relaimpr_scenario");
  if (sw->worst_relaimpr_scenario >= 0)
    json_builder_add_string_value (b, sw->scenarios[sw->worst_relaimpr_scenario].name);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "pareto");
  json_builder_add_string_value (b, msr_pareto_to_string (sw->pareto));
  json_builder_set_member_name (b, "pareto_tau");
  json_builder_add_string_value (b, msr_pareto_to_string (sw->pareto_tau));
  cli_json_add_double (b, "macro_delta", sw->macro_delta, TRUE);
  cli_json_add_double (b, "weighted_delta", sw->weighted_delta, TRUE);
  cli_json_add_double (b, "dominance_gap", sw->dominance_gap, TRUE);
  if (intervals)
    {
      cli_json_add_interval (b, "macro_delta_ci", &sw->ci_macro_delta);
      cli_json_add_interval (b, "weighted_delta_ci", &sw->ci_weighted_delta);
      cli_json_add_interval (b, "dominance_gap_ci", &sw->ci_dominance_gap);
    }
  cli_json_add_double (b, "gain_size_spearman", sw->gain_size_spearman, TRUE);
  if (intervals)
    cli_json_add_interval (b, "gain_size_spearman_ci", &sw->ci_gain_size_spearman);
  json_builder_set_member_name (b, "wins");
  json_builder_add_int_value (b, sw->wins);
  json_builder_set_member_name (b, "ties");
  json_builder_add_int_value (b, sw->ties);
  json_builder_set_member_name (b, "losses");
  json_builder_add_int_value (b, sw->losses);
  json_builder_set_member_name (b, "untested");
  json_builder_add_int_value (b, sw->untested);
  json_builder_set_member_name (b, "scenarios_defined");
  json_builder_add_int_value (b, sw->n_defined);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "seeds");
  if (sd)
    json_seeds (b, sd);
  else
    json_builder_add_null_value (b);
  if (seeds_error)
    {
      json_builder_set_member_name (b, "seeds_error");
      json_builder_add_string_value (b, seeds_error->message);
    }

  json_builder_set_member_name (b, "bootstrap");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "replicates");
  json_builder_add_int_value (b, sw->replicates);
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, (gint64) sw->seed);
  cli_json_add_double (b, "level", sw->level, TRUE);
  json_builder_set_member_name (b, "scheme");
  json_builder_add_string_value (b, "paired, stratified by scenario x label; percentile intervals");
  json_builder_end_object (b);
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  cli_print_json (root);
}

/* ---- text ------------------------------------------------------------------ */

static char *
fmt_interval (const MsrInterval *ci, const char *fmt)
{
  if (ci->n_defined == 0)
    return g_strdup ("-");
  g_autofree char *lo = isinf (ci->lo) ? g_strdup (ci->lo > 0 ? "inf" : "-inf") : g_strdup_printf (fmt, ci->lo);
  g_autofree char *hi = isinf (ci->hi) ? g_strdup (ci->hi > 0 ? "inf" : "-inf") : g_strdup_printf (fmt, ci->hi);
  return g_strdup_printf ("[%s, %s]", lo, hi);
}

static char *
fmt_p (double p)
{
  return isnan (p) ? g_strdup ("-") : g_strdup_printf ("%.3g", p);
}

static const char *
outcome_letter (const MsrSeesawScenario *r)
{
  if (!r->tested)
    return "-";
  return r->outcome == MSR_SEESAW_WIN ? "W" : r->outcome == MSR_SEESAW_LOSS ? "L" : "T";
}

static char *
fmt_seed_delta (const MsrSeesawSeedRow *r)
{
  if (r == NULL)
    return g_strdup ("");
  if (isnan (r->delta_mean))
    return g_strdup ("-");
  if (isnan (r->delta_std))
    return g_strdup_printf ("%+.4f (%u seed%s)", r->delta_mean, r->k, r->k == 1 ? "" : "s");
  return g_strdup_printf ("%+.4f ± %.4f (%u seeds)", r->delta_mean, r->delta_std, r->k);
}

static void
print_row (int w, const MsrSeesawScenario *r, const MsrSeesawSeedRow *seed, gboolean intervals, gboolean overall)
{
  g_autofree char *n = cli_format_count (r->n);
  g_autofree char *a = isnan (r->auc_a) ? g_strdup ("-") : g_strdup_printf ("%.4f", r->auc_a);
  g_autofree char *bb = isnan (r->auc_b) ? g_strdup ("-") : g_strdup_printf ("%.4f", r->auc_b);
  g_autofree char *d = isnan (r->delta) ? g_strdup ("-") : g_strdup_printf ("%+.4f", r->delta);
  g_autofree char *ci = intervals ? fmt_interval (&r->ci_delta, "%+.4f") : g_strdup ("");
  g_autofree char *ri = isnan (r->relaimpr) ? g_strdup ("-") : g_strdup_printf ("%+.2f%%", r->relaimpr);
  g_autofree char *p = fmt_p (r->p);
  g_autofree char *ph = overall ? g_strdup ("") : fmt_p (r->p_holm);
  g_autofree char *sd = fmt_seed_delta (seed);
  printf ("%-*s %9s %7s %7s %8s %-18s %9s %9s %9s %3s  %s\n", w, r->name, n, a, bb, d, ci, ri, p, ph,
          outcome_letter (r), sd);
}

static const char *
plural (guint n, const char *one, const char *many)
{
  return n == 1 ? one : many;
}

static void
print_text (const MsrSeesaw *sw, const MsrSeesawSeeds *sd, const GError *seeds_error, const MsrRunInfo *ia,
            const MsrRunInfo *ib, const char *dataset)
{
  const gboolean intervals = sw->replicates > 0;
  const gboolean seeds_col = sd && sd->k > 1;
  for (int t = 0; t < 2; t++)
    {
      const MsrRunInfo *r = t ? ib : ia;
      printf ("%s = run %" G_GINT64_FORMAT ": %s%s%s%s\n", t ? "B" : "A", r->id,
              r->architecture ? r->architecture : r->kind, r->name ? " \"" : "", r->name ? r->name : "",
              r->name ? "\"" : "");
    }
  g_autofree char *rows = cli_format_count (sw->overall.n);
  printf ("Dataset %s, %s split, %s rows\n\n", dataset, ia->split, rows);

  int w = 8;
  for (guint s = 0; s < sw->n_scenarios; s++)
    w = MAX (w, (int) g_utf8_strlen (sw->scenarios[s].name, -1));
  g_autofree char *ci_head = intervals ? g_strdup_printf ("%g%% CI", sw->level * 100) : g_strdup ("");
  /* "Δ" is two bytes: a header holding it gets one more column of width. */
  printf ("%-*s %9s %7s %7s %9s %-18s %9s %9s %9s %3s  %s\n", w, "scenario", "rows", "AUC A", "AUC B", "ΔAUC",
          ci_head, "RelaImpr", "DeLong p", "p (Holm)", "W/T/L", seeds_col ? "Δ mean ± std over seeds" : "");
  for (guint s = 0; s < sw->n_scenarios; s++)
    {
      const MsrSeesawSeedRow *seed = NULL;
      if (seeds_col)
        for (guint k = 0; k < sd->n_scenarios; k++)
          if (strcmp (sd->scenarios[k].name, sw->scenarios[s].name) == 0)
            seed = &sd->scenarios[k];
      print_row (w, &sw->scenarios[s], seed, intervals, FALSE);
    }
  print_row (w, &sw->overall, seeds_col ? &sd->overall : NULL, intervals, TRUE);

  printf ("\nIndicators for B against A (τ = %g, α = %g with Holm's correction over %u scenarios):\n", sw->tau,
          sw->alpha, sw->n_scenarios - sw->untested);
  if (sw->seesaw_tau)
    printf ("  Seesaw (τ rule):       yes — ΔAUC > +%g in %u %s and < −%g in %u\n", sw->tau, sw->n_gain_tau,
            plural (sw->n_gain_tau, "scenario", "scenarios"), sw->tau, sw->n_loss_tau);
  else
    printf ("  Seesaw (τ rule):       no — ΔAUC > +%g in %u %s, < −%g in %u\n", sw->tau, sw->n_gain_tau,
            plural (sw->n_gain_tau, "scenario", "scenarios"), sw->tau, sw->n_loss_tau);
  printf ("  Seesaw (significance): %s — B gains in %u %s and loses in %u (significant after Holm)\n",
          sw->seesaw_significant ? "yes" : "no", sw->wins, plural (sw->wins, "scenario", "scenarios"), sw->losses);

  g_autofree char *cr_ci = intervals ? fmt_interval (&sw->ci_conflict_ratio, "%.3f") : g_strdup ("");
  if (isnan (sw->conflict_ratio))
    printf ("  Conflict ratio:        undefined — no scenario differs significantly\n");
  else if (isinf (sw->conflict_ratio))
    printf ("  Conflict ratio:        inf %s — B loses significantly and gains nowhere\n", cr_ci);
  else if (sw->conflict_ratio == 0)
    printf ("  Conflict ratio:        0 %s — significant gains and no significant loss\n", cr_ci);
  else
    printf ("  Conflict ratio:        %.3f %s — the significant losses are %.1f%% of the significant gains\n",
            sw->conflict_ratio, cr_ci, 100 * sw->conflict_ratio);

  if (sw->worst_scenario >= 0)
    {
      g_autofree char *wr = sw->worst_relaimpr_scenario >= 0
        ? g_strdup_printf ("; lowest RelaImpr %+.2f%% in '%s'", sw->worst_relaimpr,
                           sw->scenarios[sw->worst_relaimpr_scenario].name)
        : g_strdup ("");
      printf ("  Worst scenario:        '%s', ΔAUC %+.4f%s\n", sw->scenarios[sw->worst_scenario].name,
              sw->worst_delta, wr);
    }
  else
    printf ("  Worst scenario:        undefined — no scenario has both classes\n");

  static const char *const pareto_text[] = {
    [MSR_PARETO_UNDEFINED] = "undefined — no scenario could be tested",
    [MSR_PARETO_EQUAL] = "equal — no significant difference in any scenario",
    [MSR_PARETO_B_DOMINATES] = "B dominates A — better somewhere, significantly worse nowhere",
    [MSR_PARETO_A_DOMINATES] = "A dominates B — B is significantly worse somewhere and better nowhere",
    [MSR_PARETO_INCOMPARABLE] = "incomparable — B is significantly better in some scenarios and worse in others",
  };
  printf ("  Pareto:                %s\n", pareto_text[sw->pareto]);

  if (!isnan (sw->dominance_gap))
    {
      g_autofree char *gci = intervals ? fmt_interval (&sw->ci_dominance_gap, "%+.4f") : g_strdup ("");
      const char *reading = sw->dominance_gap > 0 ? "the gain is concentrated in the big scenarios"
                          : sw->dominance_gap < 0 ? "the gain is concentrated in the small scenarios"
                          : "gains do not depend on scenario size";
      printf ("  Dominance gap:         %+.4f %s — weighted mean ΔAUC %+.4f minus macro mean %+.4f: %s\n",
              sw->dominance_gap, gci, sw->weighted_delta, sw->macro_delta, reading);
    }
  else
    printf ("  Dominance gap:         undefined — no scenario has both classes\n");

  if (!isnan (sw->gain_size_spearman))
    {
      g_autofree char *sci = intervals ? fmt_interval (&sw->ci_gain_size_spearman, "%+.2f") : g_strdup ("");
      const char *reading = sw->gain_size_spearman > 0 ? "bigger scenarios gain more"
                          : sw->gain_size_spearman < 0 ? "smaller scenarios gain more" : "no relation";
      printf ("  Gain–size correlation: Spearman %+.2f %s over %u scenarios — %s\n", sw->gain_size_spearman, sci,
              sw->n_defined, reading);
    }
  else
    printf ("  Gain–size correlation: undefined — needs 3 scenarios with a defined ΔAUC and varying values "
            "(%u defined)\n", sw->n_defined);
  printf ("  Wins / ties / losses:  %u / %u / %u", sw->wins, sw->ties, sw->losses);
  if (sw->untested)
    printf (" (%u %s not testable: fewer than 2 positives or 2 negatives)", sw->untested,
            plural (sw->untested, "scenario", "scenarios"));
  printf ("\n");

  if (sd)
    {
      if (sd->same_configuration)
        printf ("\nSeeds: A and B share one configuration, so only the two runs are compared.\n");
      else if (sd->k <= 1)
        printf ("\nSeeds: one run of each configuration (train more seeds for a spread).\n");
      else
        printf ("\nSeeds: %u runs like A, %u like B; %u pairs (%s); Δ is the mean ± sample std over pairs.\n",
                sd->n_runs_a, sd->n_runs_b, sd->k,
                sd->pairing == MSR_SEESAW_PAIRING_SEED ? "matched by training seed"
                : sd->pairing == MSR_SEESAW_PAIRING_MIXED ? "equal training seeds first, the rest by creation order"
                : "by creation order");
    }
  else if (seeds_error)
    printf ("\nSeeds: not available: %s\n", seeds_error->message);
  if (intervals)
    printf ("Bootstrap: %u paired replicates within scenario x label strata (seed %" G_GUINT64_FORMAT
            "); percentile intervals.\n", sw->replicates, sw->seed);
}

/* ---- the verb ------------------------------------------------------------------ */

static gboolean
parse_run_id (const char *text, gint64 *out)
{
  guint64 v;
  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXINT64, &v, NULL))
    return FALSE;
  *out = (gint64) v;
  return TRUE;
}

int
cli_seesaw (int argc, char **argv)
{
  gboolean json = FALSE;
  gint64 replicates = 1000, seed = 42, threads = 0;
  double tau = MSR_SEESAW_DEFAULT_TAU, alpha = MSR_SEESAW_DEFAULT_ALPHA, level = 0.95;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object", NULL },
    { "replicates", 0, 0, G_OPTION_ARG_INT64, &replicates, "bootstrap replicates (default 1000; 0 = no intervals)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "bootstrap seed (default 42)", "N" },
    { "level", 0, 0, G_OPTION_ARG_DOUBLE, &level, "confidence level (default 0.95)", "X" },
    { "tau", 0, 0, G_OPTION_ARG_DOUBLE, &tau, "ΔAUC threshold of the seesaw rule (default 0.001)", "X" },
    { "alpha", 0, 0, G_OPTION_ARG_DOUBLE, &alpha, "level of the Holm-corrected DeLong tests (default 0.05)", "X" },
    { "threads", 0, 0, G_OPTION_ARG_INT64, &threads, "bootstrap threads (default: all processors; results do not depend on it)", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DIR RUN_A RUN_B");
  g_option_context_set_summary (ctx,
      "Compares two recorded evaluation runs of the project per scenario (B against the reference A)\n"
      "from their stored per-row scores: AUCs, ΔAUC = B − A with bootstrap intervals, RelaImpr,\n"
      "DeLong's test with Holm's correction and the outcome (win/tie/loss), then the seesaw\n"
      "indicators (seesaw flags, conflict ratio, worst scenario, Pareto status, dominance gap,\n"
      "gain–size correlation) and, when other seeds of the same configurations were evaluated,\n"
      "the mean ± std over seeds. Run ids are those of 'msrlens-cli runs'.");
  g_option_context_set_description (ctx,
      "Example:\n  msrlens-cli seesaw ml-genre 3 5 --json\n\n"
      "In --json, undefined values are null and an infinite conflict ratio is the string \"inf\".\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 3, 3))
    return CLI_EXIT_USAGE;
  gint64 run_a, run_b;
  if (!parse_run_id (argv[2], &run_a) || !parse_run_id (argv[3], &run_b))
    return cli_fail_message ("seesaw: run ids must be positive integers (see 'msrlens-cli runs %s')", argv[1]);
  if (replicates < 0 || replicates > 100000 || seed < 0 || threads < 0 || threads > 1024)
    return cli_fail_message ("seesaw: --replicates must be 0 to 100000, --seed >= 0, --threads 0 to 1024");
  if (!(tau >= 0 && isfinite (tau)) || !(alpha > 0 && alpha < 1) || !(level > 0 && level < 1))
    return cli_fail_message ("seesaw: --tau must be >= 0, --alpha and --level between 0 and 1");

  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) project = msr_project_open (argv[1], &error);
  if (project == NULL)
    return cli_fail (error);
  g_autofree char *path = msr_project_get_path (project, MSR_RESULTS_FILE);
  g_autoptr(MsrResults) results = msr_results_open (path, MSR_RESULTS_READ_ONLY, &error);
  if (results == NULL)
    return cli_fail (error);
  /* The runs first: a wrong id should not cost a dataset load. */
  g_autoptr(MsrRunInfo) ia = msr_results_get_run (results, run_a, &error);
  if (ia == NULL)
    return cli_fail (error);
  g_autoptr(MsrRunInfo) ib = msr_results_get_run (results, run_b, &error);
  if (ib == NULL)
    return cli_fail (error);

  CliProgress progress = { 0 };
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (project, json ? NULL : cli_progress, &progress, NULL, &error);
  cli_progress_done (&progress);
  if (ds == NULL)
    return cli_fail (error);

  MsrSeesawOptions opts;
  msr_seesaw_options_init (&opts);
  opts.tau = tau;
  opts.alpha = alpha;
  opts.bootstrap.replicates = (guint) replicates;
  opts.bootstrap.seed = (guint64) seed;
  opts.bootstrap.level = level;
  opts.bootstrap.threads = (guint) threads;
  CliProgress progress2 = { 0 };
  g_autoptr(MsrSeesaw) sw = msr_seesaw_from_runs (results, run_a, run_b, ds, &opts, json ? NULL : cli_progress,
                                                  &progress2, NULL, &error);
  cli_progress_done (&progress2);
  if (sw == NULL)
    return cli_fail (error);
  /* The seed summary is secondary: its failure is reported, not fatal. */
  g_autoptr(GError) seeds_error = NULL;
  g_autoptr(MsrSeesawSeeds) sd = msr_seesaw_seed_summary (results, run_a, run_b, &seeds_error);

  if (json)
    print_json (sw, sd, seeds_error, run_a, run_b);
  else
    print_text (sw, sd, seeds_error, ia, ib, msr_project_get_name (project));
  return CLI_EXIT_OK;
}

/* cli-truth.c: msrlens-cli truth, a simulated world's planted truth beside
 * what its data show (MsrSimRecovery): this file only formats it. */
#include "config.h"
#include "cli-common.h"
#include "cli-verbs.h"
#include "msr-project.h"
#include "msr-simulate.h"

#include <math.h>
#include <stdio.h>

static void
print_json (const MsrSimTruth *t, const MsrSimRecovery *rec)
{
  const guint S = rec->n_scenarios;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, (gint64) t->seed);
  json_builder_set_member_name (b, "scenarios");
  json_builder_begin_array (b);
  for (guint s = 0; s < S; s++)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, rec->names[s]);
      cli_json_add_double (b, "alpha", rec->alpha[s], TRUE);
      cli_json_add_double (b, "base_rate", rec->base_rate[s], TRUE);
      cli_json_add_double (b, "bayes_auc_test", rec->bayes_auc[s], TRUE);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  const struct { const char *key; const double *m; } mats[] = {
    { "planted", rec->planted }, { "observed", rec->observed },
  };
  for (guint k = 0; k < G_N_ELEMENTS (mats); k++)
    {
      json_builder_set_member_name (b, mats[k].key);
      json_builder_begin_array (b);
      for (guint a = 0; a < S; a++)
        {
          json_builder_begin_array (b);
          for (guint c = 0; c < S; c++)
            {
              double v = mats[k].m[a * S + c];
              if (isnan (v))
                json_builder_add_null_value (b);
              else
                json_builder_add_double_value (b, v);
            }
          json_builder_end_array (b);
        }
      json_builder_end_array (b);
    }
  json_builder_set_member_name (b, "observed_users");
  json_builder_begin_array (b);
  for (guint a = 0; a < S; a++)
    {
      json_builder_begin_array (b);
      for (guint c = 0; c < S; c++)
        json_builder_add_int_value (b, rec->observed_users[a * S + c]);
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "min_rows");
  json_builder_add_int_value (b, rec->min_rows);
  json_builder_set_member_name (b, "mantel");
  json_builder_begin_object (b);
  cli_json_add_double (b, "r", rec->mantel_r, !isnan (rec->mantel_r));
  cli_json_add_double (b, "p", rec->mantel_p, !isnan (rec->mantel_p));
  cli_json_add_double (b, "p_floor", rec->mantel_p_floor, TRUE);
  json_builder_set_member_name (b, "permutations");
  json_builder_add_int_value (b, rec->permutations);
  json_builder_end_object (b);
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  cli_print_json (root);
}

static void
print_text (const char *dir, const MsrSimTruth *t, const MsrSimRecovery *rec)
{
  const guint S = rec->n_scenarios;
  printf ("Simulated world in %s: seed %" G_GUINT64_FORMAT ", %u scenarios\n\n", dir, t->seed, S);
  printf ("Scenario correlation: planted, then [observed: users' click rates, users with >= %u rows in both]\n",
          rec->min_rows);
  printf ("%-14s", "");
  for (guint c = 0; c < S; c++)
    printf (" %14.14s", rec->names[c]);
  printf ("\n");
  for (guint a = 0; a < S; a++)
    {
      printf ("%-14.14s", rec->names[a]);
      for (guint c = 0; c < S; c++)
        {
          double o = rec->observed[a * S + c];
          g_autofree char *cell = isnan (o) ? g_strdup_printf ("%.2f [  – ]", rec->planted[a * S + c])
                                            : g_strdup_printf ("%.2f [%5.2f]", rec->planted[a * S + c], o);
          printf (" %14s", cell);
        }
      printf ("\n");
    }
  g_autofree char *perms = cli_format_count (rec->permutations);
  if (isnan (rec->mantel_r))
    printf ("\nMantel test: undefined (too few scenario pairs with an observed correlation)\n");
  else
    printf ("\nMantel test: r = %.4f, one-sided p = %.4f (%s permutations; p cannot fall below %.4f here)\n",
            rec->mantel_r, rec->mantel_p, perms, rec->mantel_p_floor);

  printf ("\nPlanted difficulty\n%-14s %8s %12s %16s\n", "scenario", "alpha", "click rate", "Bayes AUC test");
  for (guint s = 0; s < S; s++)
    printf ("%-14.14s %8.3f %11.1f%% %16.4f\n", rec->names[s], rec->alpha[s], 100 * rec->base_rate[s],
            rec->bayes_auc[s]);
}

int
cli_truth (int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DIR");
  g_option_context_set_summary (ctx,
      "For a simulated project (project init --simulated, or the demo's simulated world): the\n"
      "scenario correlation that was planted beside the one its clicks show, the Mantel test\n"
      "between them, and the planted difficulty of each scenario.");
  g_option_context_set_description (ctx, "Example:\n  msrlens-cli truth world --json\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 1, 1))
    return CLI_EXIT_USAGE;

  const char *dir = argv[1];
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) project = msr_project_open (dir, &error);
  if (project == NULL)
    return cli_fail (error);
  if (!msr_sim_project_is_simulated (dir))
    return cli_fail_message ("%s: not a simulated project: it has no planted truth", dir);
  g_autoptr(MsrSimTruth) truth = msr_sim_truth_load (dir, &error);
  if (truth == NULL)
    return cli_fail (error);
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (project, NULL, NULL, NULL, &error);
  if (ds == NULL)
    return cli_fail (error);
  g_autoptr(MsrSimRecovery) rec = msr_sim_recovery_compute (truth, ds, &error);
  if (rec == NULL)
    return cli_fail (error);
  if (json)
    print_json (truth, rec);
  else
    print_text (dir, truth, rec);
  return CLI_EXIT_OK;
}

/* cli-project.c: msrlens-cli project init. */
#include "config.h"
#include "cli-common.h"
#include "cli-verbs.h"
#include "msr-project.h"
#include "msr-simulate.h"
#include "msr-knowledge.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

static void
print_created (MsrProject *project, MsrDataset *ds)
{
  g_autoptr(MsrDatasetStats) st = msr_dataset_compute_stats (ds, MSR_SPLIT_MASK_ALL);
  g_autofree char *desc = msr_project_describe_dataset (project);
  g_autofree char *rows = cli_format_count (msr_dataset_get_n_rows (ds));
  g_autofree char *tr = cli_format_count (st->total.rows_by_split[MSR_SPLIT_TRAIN]);
  g_autofree char *va = cli_format_count (st->total.rows_by_split[MSR_SPLIT_VALID]);
  g_autofree char *te = cli_format_count (st->total.rows_by_split[MSR_SPLIT_TEST]);
  printf ("Created project '%s' in %s\n", msr_project_get_name (project), msr_project_get_dir (project));
  printf ("  %s\n", desc);
  printf ("  %s rows (%s train, %s valid, %s test), %u scenarios\n", rows, tr, va, te, st->n_scenarios);
  for (const char *const *n = msr_dataset_get_notes (ds); *n; n++)
    printf ("  note: %s\n", *n);
}

/* A simulated world: the engine writes the data, the ground truth and the
 * project together (and removes them again if anything fails). */
static int
init_simulated (const char *dir, gint64 seed, int n_scenarios, int n_users, gint64 n_rows, double test_fraction,
                double valid_fraction, gboolean planted)
{
  MsrSimOptions opts;
  msr_sim_options_init_for (&opts, n_scenarios > 0 ? (guint) n_scenarios : 5);
  if (n_scenarios < 0 || n_scenarios > MSR_SIM_MAX_SCENARIOS)
    return cli_fail_message ("project init: --sim-scenarios must be 1 to %d", MSR_SIM_MAX_SCENARIOS);
  if (seed >= 0)
    opts.seed = (guint64) seed;
  if (n_users < 0 || n_rows < 0)
    return cli_fail_message ("project init: --sim-users and --sim-rows must be positive");
  if (n_users > 0)
    opts.n_users = (guint) n_users;
  if (n_rows > 0)
    opts.n_rows = (guint64) n_rows;
  opts.test_fraction = test_fraction;
  opts.valid_fraction = valid_fraction;

  g_autoptr(GError) error = NULL;
  CliProgress progress = { 0 };
  gboolean ok = msr_sim_write_project (dir, &opts, cli_progress, &progress, NULL, &error);
  cli_progress_done (&progress);
  if (!ok)
    return cli_fail (error);
  if (planted && !msr_sim_write_planted_knowledge (dir, &opts, &error))
    return cli_fail (error);
  g_autoptr(MsrProject) project = msr_project_open (dir, &error);
  g_autoptr(MsrDataset) ds = project ? msr_project_load_dataset (project, NULL, NULL, NULL, &error) : NULL;
  if (ds == NULL)
    return cli_fail (error);
  print_created (project, ds);
  printf ("  simulated world, seed %" G_GUINT64_FORMAT ": the planted truth is in %s "
          "(msrlens-cli truth %s)\n", opts.seed, MSR_SIM_TRUTH_FILE, dir);
  if (planted)
    printf ("  planted knowledge: %u users and %u scenarios, encoder 'planted', in %s\n", opts.n_users,
            opts.n_scenarios, MSR_KNOWLEDGE_FILE);
  return CLI_EXIT_OK;
}

int
cli_project_init (int argc, char **argv)
{
  g_autofree char *movielens = NULL, *scenarios = NULL, *csv = NULL, *label = NULL;
  g_autofree char *scenario = NULL, *user = NULL, *item = NULL, *features = NULL;
  g_autofree char *time_col = NULL, *split = NULL, *delimiter = NULL;
  g_autofree char *rating_threshold = NULL;
  gint64 seed = -1;
  double test_fraction = 0.2, valid_fraction = 0.1;
  gboolean valid_random = FALSE, simulated = FALSE, planted = FALSE;
  int sim_scenarios = 0, sim_users = 0;
  gint64 sim_rows = 0;

  GOptionEntry entries[] = {
    { "movielens-100k", 0, 0, G_OPTION_ARG_FILENAME, &movielens, "MovieLens-100K folder (u.data, u.item, ...)", "DATA_DIR" },
    { "scenarios", 0, 0, G_OPTION_ARG_STRING, &scenarios, "MovieLens scenario framing: genre (default) or age", "genre|age" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, "CSV or TSV file with a header", "FILE" },
    { "label", 0, 0, G_OPTION_ARG_STRING, &label, "label column (0/1, or a rating with --rating-threshold)", "COL" },
    { "rating-threshold", 0, 0, G_OPTION_ARG_STRING, &rating_threshold, "label = (label column >= X)", "X" },
    { "scenario", 0, 0, G_OPTION_ARG_STRING, &scenario, "scenario column", "COL" },
    { "user", 0, 0, G_OPTION_ARG_STRING, &user, "user column", "COL" },
    { "item", 0, 0, G_OPTION_ARG_STRING, &item, "item column", "COL" },
    { "features", 0, 0, G_OPTION_ARG_STRING, &features, "extra categorical feature columns", "a,b,c" },
    { "time", 0, 0, G_OPTION_ARG_STRING, &time_col, "timestamp column (Unix seconds or ISO 8601)", "COL" },
    { "delimiter", 0, 0, G_OPTION_ARG_STRING, &delimiter, "comma, tab or auto (from the file name; default)", "D" },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split,
      "random, time, or file:TEST_FILE (CSV); file (u1, the default), random or time (MovieLens)", "METHOD" },
    { "test-fraction", 0, 0, G_OPTION_ARG_DOUBLE, &test_fraction, "test share per scenario for random/time splits (default 0.2)", "X" },
    { "valid-fraction", 0, 0, G_OPTION_ARG_DOUBLE, &valid_fraction, "validation share carved from training (default 0.1)", "X" },
    { "valid-random", 0, 0, G_OPTION_ARG_NONE, &valid_random, "with --split time: draw validation rows at random instead of the latest", NULL },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed,
      "seed for random splits and validation rows (default 42); with --simulated also of the world (default 2024)", "N" },
    { "simulated", 0, 0, G_OPTION_ARG_NONE, &simulated,
      "generate a simulated multi-scenario world with a planted truth (docs/FORMATS.md §10)", NULL },
    { "sim-scenarios", 0, 0, G_OPTION_ARG_INT, &sim_scenarios, "with --simulated: scenarios, 1 to 16 (default 5)", "K" },
    { "sim-users", 0, 0, G_OPTION_ARG_INT, &sim_users, "with --simulated: users (default 800)", "N" },
    { "sim-rows", 0, 0, G_OPTION_ARG_INT64, &sim_rows, "with --simulated: rows (default 80,000)", "N" },
    { "planted-knowledge", 0, 0, G_OPTION_ARG_NONE, &planted,
      "with --simulated: also store the planted users' and scenarios' vectors as knowledge (an oracle, for LLM4MSR)", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DIR");
  g_option_context_set_summary (ctx,
      "Creates a project folder DIR holding project.msrlens, a human-editable description of\n"
      "the dataset, its schema and its split. Every later artefact (models, results) goes there.");
  g_option_context_set_description (ctx,
      "Examples:\n"
      "  msrlens-cli project init ml-genre --movielens-100k ~/data/ml-100k --scenarios genre\n"
      "  msrlens-cli project init shop --csv clicks.csv --label clicked --scenario domain \\\n"
      "      --user user_id --item item_id --features city,device --time ts --split time\n"
      "  msrlens-cli project init world --simulated --sim-scenarios 8 --seed 7\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 1, 1))
    return CLI_EXIT_USAGE;

  const char *dir = argv[1];
  if ((movielens != NULL) + (csv != NULL) + simulated != 1)
    return cli_fail_message ("project init: give exactly one of --movielens-100k DATA_DIR, --csv FILE or --simulated");
  if (seed < -1)
    return cli_fail_message ("project init: --seed must be non-negative");
  if (!simulated && (sim_scenarios || sim_users || sim_rows || planted))
    return cli_fail_message ("project init: the --sim-* options apply to --simulated");
  if (simulated)
    {
      if (scenarios || label || scenario || user || item || features || time_col || rating_threshold || delimiter ||
          split || valid_random)
        return cli_fail_message ("project init: a simulated world takes only --seed, --test-fraction, "
                                 "--valid-fraction and the --sim-* options");
      return init_simulated (dir, seed, sim_scenarios, sim_users, sim_rows, test_fraction, valid_fraction, planted);
    }
  if (seed == -1)
    seed = 42;

  MsrSplitOptions opts;
  msr_split_options_init (&opts);
  opts.seed = (guint64) seed;
  opts.test_fraction = test_fraction;
  opts.valid_fraction = valid_fraction;
  g_autofree char *test_file = NULL;
  if (split == NULL)
    opts.method = movielens ? MSR_SPLIT_METHOD_FILE : MSR_SPLIT_METHOD_RANDOM;
  else if (g_str_has_prefix (split, "file:") && csv)
    {
      opts.method = MSR_SPLIT_METHOD_FILE;
      test_file = g_strdup (split + 5);
    }
  else if (!msr_split_method_from_string (split, &opts.method) ||
           (opts.method == MSR_SPLIT_METHOD_FILE && csv))
    return cli_fail_message ("project init: --split must be %s, not '%s'",
                             csv ? "random, time or file:TEST_FILE" : "file, random or time", split);
  opts.valid_by_time = opts.method == MSR_SPLIT_METHOD_TIME && !valid_random;

  const gboolean dir_existed = g_file_test (dir, G_FILE_TEST_IS_DIR);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) project = NULL;
  if (movielens)
    {
      MsrMovielensScenarios framing = MSR_MOVIELENS_SCENARIOS_GENRE;
      if (scenarios && !msr_movielens_scenarios_from_string (scenarios, &framing))
        return cli_fail_message ("project init: --scenarios must be genre or age, not '%s'", scenarios);
      if (csv || label || scenario || user || item || features || time_col || rating_threshold)
        return cli_fail_message ("project init: the CSV options do not apply to --movielens-100k");
      project = msr_project_create_movielens (dir, movielens, framing, &opts, &error);
    }
  else
    {
      if (scenarios)
        return cli_fail_message ("project init: --scenarios applies to --movielens-100k; for a CSV use --scenario COL");
      if (!label || !scenario || !user || !item)
        return cli_fail_message ("project init: a CSV project needs --label, --scenario, --user and --item");
      MsrCsvSchema schema = { 0 };
      schema.label_column = g_strdup (label);
      schema.scenario_column = g_strdup (scenario);
      schema.user_column = g_strdup (user);
      schema.item_column = g_strdup (item);
      schema.time_column = g_strdup (time_col);
      if (features)
        schema.feature_columns = g_strsplit (features, ",", -1);
      if (rating_threshold)
        {
          char *end = NULL;
          schema.has_rating_threshold = TRUE;
          schema.rating_threshold = g_ascii_strtod (rating_threshold, &end);
          if (end == rating_threshold || *end)
            {
              msr_csv_schema_clear (&schema);
              return cli_fail_message ("project init: --rating-threshold '%s' is not a number", rating_threshold);
            }
        }
      if (delimiter == NULL || strcmp (delimiter, "auto") == 0)
        schema.delimiter = 0;
      else if (strcmp (delimiter, "comma") == 0 || strcmp (delimiter, ",") == 0)
        schema.delimiter = ',';
      else if (strcmp (delimiter, "tab") == 0)
        schema.delimiter = '\t';
      else
        {
          msr_csv_schema_clear (&schema);
          return cli_fail_message ("project init: --delimiter must be comma, tab or auto");
        }
      project = msr_project_create_csv (dir, csv, &schema, &opts, test_file, &error);
      msr_csv_schema_clear (&schema);
    }
  if (project == NULL)
    return cli_fail (error);

  /* Read every row now, so a malformed file is reported here and no broken
   * project is left behind. */
  CliProgress progress = { 0 };
  g_autoptr(MsrDataset) ds = msr_project_check_new (project, dir_existed, cli_progress, &progress, NULL, &error);
  cli_progress_done (&progress);
  if (ds == NULL)
    {
      fprintf (stderr, "msrlens-cli: %s\nmsrlens-cli: the project was not created.\n", error->message);
      return CLI_EXIT_ERROR;
    }

  print_created (project, ds);
  return CLI_EXIT_OK;
}

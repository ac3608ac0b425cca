/* cli-data.c: msrlens-cli data fetch and data inspect. */
#include "config.h"
#include "cli-common.h"
#include "cli-verbs.h"
#include "msr-project.h"
#include "msr-fetch.h"

#include <stdio.h>
#include <string.h>

int
cli_data_fetch (int argc, char **argv)
{
  g_autofree char *dest = NULL, *from = NULL, *url = NULL;
  GOptionEntry entries[] = {
    { "dest", 0, 0, G_OPTION_ARG_FILENAME, &dest, "where the ml-100k folder goes (default: ~/.local/share/msrlens/datasets)", "DIR" },
    { "from", 0, 0, G_OPTION_ARG_FILENAME, &from, "copy a local MovieLens-100K folder instead of downloading; its files are checked", "DIR" },
    { "url", 0, 0, G_OPTION_ARG_STRING, &url, "download from a mirror (http, https or file URL); it must serve the official archive", "URL" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("movielens-100k");
  g_option_context_set_summary (ctx,
      "Gets MovieLens-100K as a user would: downloads GroupLens's archive over HTTPS and checks\n"
      "its size and MD5 against GroupLens's published checksum before unpacking it, or copies a\n"
      "local folder after checking each file's size and SHA-256. Prints the data folder on stdout.");
  g_option_context_set_description (ctx,
      "Examples:\n"
      "  msrlens-cli data fetch movielens-100k\n"
      "  msrlens-cli data fetch movielens-100k --from ~/Downloads/ml-100k --dest ./data\n\n"
      "MovieLens-100K is GroupLens's (University of Minnesota); read its README for the terms:\n"
      "research use, cite the paper, no redistribution without permission.\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 1, 1))
    return CLI_EXIT_USAGE;
  if (strcmp (argv[1], "movielens-100k") != 0)
    return cli_fail_message ("data fetch: unknown dataset '%s' (known: movielens-100k)", argv[1]);
  if (from && url)
    return cli_fail_message ("data fetch: give --from or --url, not both");

  g_autofree char *dest_dir = dest ? g_canonicalize_filename (dest, NULL) : msr_fetch_default_data_dir ();
  g_autofree char *target = g_build_filename (dest_dir, MSR_MOVIELENS_100K_DIR, NULL);
  g_autoptr(GError) error = NULL;

  /* An earlier fetch that verifies is reused rather than refused. */
  if (g_file_test (target, G_FILE_TEST_IS_DIR))
    {
      if (!msr_movielens_verify_dir (target, &error))
        return cli_fail_message ("%s already exists but does not verify: %s\nRemove it and fetch again.",
                                 target, error->message);
      fprintf (stderr, "MovieLens-100K is already in %s (verified).\n", target);
      printf ("%s\n", target);
      return CLI_EXIT_OK;
    }

  g_autofree char *data_dir = NULL;
  if (from)
    {
      if (!msr_movielens_copy_from (from, dest_dir, &data_dir, NULL, &error))
        return cli_fail (error);
    }
  else
    {
      CliProgress progress = { 0 };
      gboolean ok = msr_fetch_movielens_100k (url, dest_dir, &data_dir, cli_progress, &progress, NULL, &error);
      cli_progress_done (&progress);
      if (!ok)
        return cli_fail (error);
      if (!msr_movielens_verify_dir (data_dir, &error))
        return cli_fail (error);
    }
  fprintf (stderr, "MovieLens-100K verified in %s\n", data_dir);
  printf ("%s\n", data_dir);
  return CLI_EXIT_OK;
}

static guint
split_mask_from_string (const char *s)
{
  if (s == NULL || strcmp (s, "all") == 0)
    return MSR_SPLIT_MASK_ALL;
  if (strcmp (s, "train") == 0)
    return MSR_SPLIT_MASK (MSR_SPLIT_TRAIN);
  if (strcmp (s, "valid") == 0)
    return MSR_SPLIT_MASK (MSR_SPLIT_VALID);
  if (strcmp (s, "test") == 0)
    return MSR_SPLIT_MASK (MSR_SPLIT_TEST);
  return 0;
}

static void
json_scenario (JsonBuilder *b, const MsrScenarioStats *s)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, s->name);
  json_builder_set_member_name (b, "rows");
  json_builder_add_int_value (b, (gint64) s->rows);
  json_builder_set_member_name (b, "users");
  json_builder_add_int_value (b, s->users);
  json_builder_set_member_name (b, "items");
  json_builder_add_int_value (b, s->items);
  json_builder_set_member_name (b, "positives");
  json_builder_add_int_value (b, (gint64) s->positives);
  cli_json_add_double (b, "positive_rate", s->rows ? (double) s->positives / s->rows : 0, s->rows > 0);
  for (int sp = 0; sp < 3; sp++)
    {
      json_builder_set_member_name (b, msr_split_to_string (sp));
      json_builder_add_int_value (b, (gint64) s->rows_by_split[sp]);
    }
  json_builder_end_object (b);
}

static void
print_scenario_row (const MsrScenarioStats *s, int name_width)
{
  g_autofree char *rows = cli_format_count (s->rows);
  g_autofree char *users = cli_format_count (s->users);
  g_autofree char *items = cli_format_count (s->items);
  g_autofree char *tr = cli_format_count (s->rows_by_split[0]);
  g_autofree char *va = cli_format_count (s->rows_by_split[1]);
  g_autofree char *te = cli_format_count (s->rows_by_split[2]);
  g_autofree char *rate = s->rows ? g_strdup_printf ("%.3f", (double) s->positives / s->rows) : g_strdup ("-");
  printf ("%-*s %10s %7s %7s %9s %10s %9s %9s\n", name_width, s->name, rows, users, items, rate, tr, va, te);
}

int
cli_data_inspect (int argc, char **argv)
{
  gboolean json = FALSE;
  g_autofree char *split = NULL;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object", NULL },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split, "count only train, valid or test rows (default: all)", "SPLIT" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DIR");
  g_option_context_set_summary (ctx,
      "Loads the project's dataset and prints per scenario: rows, users, items, positive rate,\n"
      "rows per split, and the scenario x scenario user-overlap (Jaccard) matrix.");
  g_option_context_set_description (ctx, "Example:\n  msrlens-cli data inspect ml-genre --json\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 1, 1))
    return CLI_EXIT_USAGE;
  guint mask = split_mask_from_string (split);
  if (mask == 0)
    return cli_fail_message ("data inspect: --split must be train, valid, test or all");

  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) project = msr_project_open (argv[1], &error);
  if (project == NULL)
    return cli_fail (error);
  CliProgress progress = { 0 };
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (project, json ? NULL : cli_progress, &progress, NULL, &error);
  cli_progress_done (&progress);
  if (ds == NULL)
    return cli_fail (error);
  g_autoptr(MsrDatasetStats) st = msr_dataset_compute_stats (ds, mask);
  g_autofree char *desc = msr_project_describe_dataset (project);
  const gsize n_rows = msr_dataset_get_n_rows (ds);
  const gsize bytes = msr_dataset_get_memory_bytes (ds);
  const guint S = st->n_scenarios;

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "project");
      json_builder_add_string_value (b, msr_project_get_name (project));
      json_builder_set_member_name (b, "dataset");
      json_builder_add_string_value (b, desc);
      json_builder_set_member_name (b, "fingerprint");
      json_builder_add_string_value (b, msr_dataset_get_fingerprint (ds));
      json_builder_set_member_name (b, "split");
      json_builder_add_string_value (b, split ? split : "all");
      json_builder_set_member_name (b, "dropped_rows");
      json_builder_add_int_value (b, (gint64) msr_dataset_get_n_dropped (ds));
      json_builder_set_member_name (b, "notes");
      json_builder_begin_array (b);
      for (const char *const *n = msr_dataset_get_notes (ds); *n; n++)
        json_builder_add_string_value (b, *n);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "memory_bytes");
      json_builder_add_int_value (b, (gint64) bytes);
      cli_json_add_double (b, "bytes_per_row", (double) bytes / (double) n_rows, TRUE);
      json_builder_set_member_name (b, "fields");
      json_builder_begin_array (b);
      for (guint f = 0; f < msr_dataset_get_n_fields (ds); f++)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, msr_dataset_get_field_name (ds, f));
          json_builder_set_member_name (b, "kind");
          json_builder_add_string_value (b, msr_dataset_get_field_kind (ds, f) == MSR_FIELD_MULTI_HOT
                                                ? "multi-hot" : "categorical");
          json_builder_set_member_name (b, "cardinality");
          json_builder_add_int_value (b, msr_dataset_get_field_cardinality (ds, f));
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "total");
      json_scenario (b, &st->total);
      json_builder_set_member_name (b, "scenarios");
      json_builder_begin_array (b);
      for (guint s = 0; s < S; s++)
        json_scenario (b, &st->scenarios[s]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "users_in_all_scenarios");
      json_builder_add_int_value (b, st->users_in_all);
      json_builder_set_member_name (b, "user_overlap_jaccard");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "scenarios");
      json_builder_begin_array (b);
      for (guint s = 0; s < S; s++)
        json_builder_add_string_value (b, st->scenarios[s].name);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "matrix");
      json_builder_begin_array (b);
      for (guint a = 0; a < S; a++)
        {
          json_builder_begin_array (b);
          for (guint c = 0; c < S; c++)
            {
              double j = st->user_jaccard[a * S + c];
              if (j == j)
                json_builder_add_double_value (b, j);
              else
                json_builder_add_null_value (b);
            }
          json_builder_end_array (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      json_builder_end_object (b);
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cli_print_json (root);
      return CLI_EXIT_OK;
    }

  int w = 8;
  for (guint s = 0; s < S; s++)
    w = MAX (w, (int) g_utf8_strlen (st->scenarios[s].name, -1));
  printf ("%s — %s\n", msr_project_get_name (project), desc);
  printf ("fingerprint %s\n", msr_dataset_get_fingerprint (ds));
  g_autofree char *nr = cli_format_count (n_rows);
  printf ("%s rows in memory, %.1f bytes per row (%.1f MiB)\n", nr, (double) bytes / n_rows, bytes / 1048576.0);
  for (const char *const *n = msr_dataset_get_notes (ds); *n; n++)
    printf ("note: %s\n", *n);
  printf ("\nfields:");
  for (guint f = 0; f < msr_dataset_get_n_fields (ds); f++)
    printf (" %s%s(%u)", msr_dataset_get_field_name (ds, f),
            msr_dataset_get_field_kind (ds, f) == MSR_FIELD_MULTI_HOT ? "[multi-hot]" : "",
            msr_dataset_get_field_cardinality (ds, f));
  printf ("\n\nrows counted: %s\n", split ? split : "all splits");
  printf ("%-*s %10s %7s %7s %9s %10s %9s %9s\n", w, "scenario", "rows", "users", "items", "pos.rate",
          "train", "valid", "test");
  for (guint s = 0; s < S; s++)
    print_scenario_row (&st->scenarios[s], w);
  print_scenario_row (&st->total, w);
  printf ("users in every scenario: %u\n", st->users_in_all);

  printf ("\nuser overlap (Jaccard index of the scenarios' user sets):\n");
  printf ("%-*s", w + 5, "");
  for (guint c = 0; c < S; c++)
    {
      char head[16];
      g_snprintf (head, sizeof head, "[%u]", c + 1);
      printf (" %8s", head);
    }
  printf ("\n");
  for (guint a = 0; a < S; a++)
    {
      printf ("[%2u] %-*s", a + 1, w, st->scenarios[a].name);
      for (guint c = 0; c < S; c++)
        {
          double j = st->user_jaccard[a * S + c];
          if (j == j)
            printf (" %8.3f", j);
          else
            printf (" %8s", "-");
        }
      printf ("\n");
    }
  return CLI_EXIT_OK;
}

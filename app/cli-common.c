/* cli-common.c: option parsing, errors, progress and output for the CLI. */
#include "config.h"
#include "cli-common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

gboolean
cli_parse (GOptionContext *context, int *argc, char ***argv, int min_positional, int max_positional)
{
  g_autoptr(GError) error = NULL;
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      fprintf (stderr, "msrlens-cli: %s\nTry '%s --help'.\n", error->message, (*argv)[0]);
      return FALSE;
    }
  int n = *argc - 1;
  if (n < min_positional || (max_positional >= 0 && n > max_positional))
    {
      g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);
      fprintf (stderr, "msrlens-cli: %s: wrong number of arguments\n\n%s", (*argv)[0], help);
      return FALSE;
    }
  return TRUE;
}

int
cli_fail (const GError *error)
{
  fprintf (stderr, "msrlens-cli: %s\n", error->message);
  return CLI_EXIT_ERROR;
}

int
cli_fail_message (const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *msg = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "msrlens-cli: %s\n", msg);
  return CLI_EXIT_ERROR;
}

void
cli_progress (double fraction, const char *stage, gpointer data)
{
  CliProgress *p = data;
  const gboolean tty = isatty (fileno (stderr));
  gboolean new_stage = g_strcmp0 (p->stage, stage) != 0;

  if (p->start_us == 0)
    p->start_us = g_get_monotonic_time ();
  if (new_stage)
    {
      if (tty && p->drawn)
        fputc ('\n', stderr);
      p->drawn = FALSE;
      g_free (p->stage);
      p->stage = g_strdup (stage);
      p->last_decile = -1;
    }
  double secs = (g_get_monotonic_time () - p->start_us) / 1e6;
  if (tty && secs >= 0.3)
    {
      p->drawn = TRUE;
      if (fraction >= 0)
        fprintf (stderr, "\r%s: %5.1f%%  (%.1f s)\033[K", stage, 100 * fraction, secs);
      else
        fprintf (stderr, "\r%s ...  (%.1f s)\033[K", stage, secs);
      fflush (stderr);
      return;
    }
  if (tty)
    return;
  /* Logs stay quiet for quick work. */
  if (secs < 1.0)
    return;
  int decile = fraction >= 0 ? (int) floor (fraction * 10) : 0;
  if (new_stage || decile > p->last_decile)
    {
      if (fraction >= 0)
        fprintf (stderr, "%s: %.0f%% (%.1f s)\n", stage, 100 * fraction, secs);
      else
        fprintf (stderr, "%s ... (%.1f s)\n", stage, secs);
      p->last_decile = decile;
    }
}

void
cli_progress_done (CliProgress *p)
{
  if (p->drawn)
    fputc ('\n', stderr);
  p->drawn = FALSE;
  g_clear_pointer (&p->stage, g_free);
}

void
cli_print_json (JsonNode *node)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, node);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  fputs (text, stdout);
  fputc ('\n', stdout);
}

char *
cli_format_count (guint64 n)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GUINT64_FORMAT, n);
  GString *out = g_string_new (NULL);
  gsize len = strlen (digits);
  for (gsize i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append_c (out, ',');
      g_string_append_c (out, digits[i]);
    }
  return g_string_free (out, FALSE);
}

char *
cli_format_metric (double value, gboolean defined)
{
  if (!defined || !isfinite (value))
    return g_strdup ("undefined");
  return g_strdup_printf ("%.6f", value);
}

void
cli_json_add_double (JsonBuilder *b, const char *key, double value, gboolean defined)
{
  json_builder_set_member_name (b, key);
  if (defined && isfinite (value))
    json_builder_add_double_value (b, value);
  else
    json_builder_add_null_value (b);
}

void
cli_json_add_interval (JsonBuilder *b, const char *key, const MsrInterval *ci)
{
  json_builder_set_member_name (b, key);
  if (ci == NULL || ci->n_defined == 0)
    {
      json_builder_add_null_value (b);
      return;
    }
  json_builder_begin_array (b);
  json_builder_add_double_value (b, ci->lo);
  json_builder_add_double_value (b, ci->hi);
  json_builder_end_array (b);
}

void
cli_json_add_metrics (JsonBuilder *b, const MsrMetrics *m, gboolean with_users, gboolean is_mean,
                      const MsrInterval *auc_ci, const MsrInterval *gauc_ci)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "n");
  json_builder_add_int_value (b, (gint64) m->n);
  json_builder_set_member_name (b, "positives");
  json_builder_add_int_value (b, (gint64) m->positives);
  cli_json_add_double (b, "auc", m->auc, m->auc_defined);
  if (auc_ci)
    cli_json_add_interval (b, "auc_ci", auc_ci);
  cli_json_add_double (b, "logloss", m->logloss, m->logloss_defined);
  if (with_users)
    {
      cli_json_add_double (b, "gauc", m->gauc, m->gauc_defined);
      if (gauc_ci)
        cli_json_add_interval (b, "gauc_ci", gauc_ci);
      json_builder_set_member_name (b, "gauc_users_kept");
      json_builder_add_int_value (b, (gint64) m->gauc_users_kept);
      json_builder_set_member_name (b, "gauc_users");
      json_builder_add_int_value (b, (gint64) m->gauc_users);
      json_builder_set_member_name (b, "gauc_rows_kept");
      json_builder_add_int_value (b, (gint64) m->gauc_rows_kept);
    }
  if (is_mean)
    {
      json_builder_set_member_name (b, "auc_scenarios");
      json_builder_add_int_value (b, m->auc_scenarios);
      json_builder_set_member_name (b, "logloss_scenarios");
      json_builder_add_int_value (b, m->logloss_scenarios);
      if (with_users)
        {
          json_builder_set_member_name (b, "gauc_scenarios");
          json_builder_add_int_value (b, m->gauc_scenarios);
        }
    }
  json_builder_end_object (b);
}

gboolean
cli_use_knowledge (MsrProject *project, const char *store)
{
  if (store == NULL)
    return TRUE;
  if (g_file_test (store, G_FILE_TEST_IS_DIR))
    {
      cli_fail_message ("%s: is a directory, not a knowledge store (name the .sqlite file)", store);
      return FALSE;
    }
  if (!g_file_test (store, G_FILE_TEST_IS_REGULAR))
    {
      cli_fail_message ("%s: no such knowledge store", store);
      return FALSE;
    }
  msr_project_set_knowledge_path (project, store);
  return TRUE;
}

MsrProject *
cli_open_project (const char *dir, MsrDataset **ds_out, char **store_path, GError **error)
{
  g_autoptr(MsrProject) project = msr_project_open (dir, error);
  if (project == NULL)
    return NULL;
  if (ds_out != NULL)
    {
      CliProgress progress = { 0 };
      *ds_out = msr_project_load_dataset (project, cli_progress, &progress, NULL, error);
      cli_progress_done (&progress);
      if (*ds_out == NULL)
        return NULL;
    }
  *store_path = msr_project_get_knowledge_path (project);
  return g_steal_pointer (&project);
}

void
cli_print_list (const char *what, GPtrArray *keys, guint limit)
{
  if (keys->len == 0)
    return;
  printf ("  %u %s:", keys->len, what);
  for (guint i = 0; i < keys->len && i < limit; i++)
    printf (" %s", (const char *) keys->pdata[i]);
  printf ("%s\n", keys->len > limit ? " ..." : "");
}

void
cli_json_add_strings (JsonBuilder *b, const char *name, GPtrArray *list)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; i < list->len; i++)
    json_builder_add_string_value (b, list->pdata[i]);
  json_builder_end_array (b);
}

/* cli-knowledge.c: msrlens-cli knowledge ..., the project's knowledge store
 * (docs/FORMATS.md §11). Every figure comes from the engine; this file
 * parses options and formats. */
#include "config.h"
#include "cli-common.h"
#include "cli-verbs.h"
#include "msr-json.h"
#include "msr-knowledge-import.h"
#include "msr-knowledge-batch.h"
#include "msr-knowledge-vectors.h"
#include "msr-project.h"

#include <stdio.h>
#include <string.h>

int
cli_knowledge_import (int argc, char **argv)
{
  g_autofree char *level_text = NULL, *key_column = NULL, *text_column = NULL, *llm = NULL, *source = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "level", 0, 0, G_OPTION_ARG_STRING, &level_text, "what the texts are about: user, item or scenario", "LEVEL" },
    { "key-column", 0, 0, G_OPTION_ARG_STRING, &key_column, "the column with the dataset's ids", "COL" },
    { "text-column", 0, 0, G_OPTION_ARG_STRING, &text_column, "the column with the texts", "COL" },
    { "llm", 0, 0, G_OPTION_ARG_STRING, &llm, "the LLM that wrote the texts (recorded)", "NAME" },
    { "source", 0, 0, G_OPTION_ARG_STRING, &source, "the entries' source (default LLM:TEXT-COLUMN)", "NAME" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DIR FILE");
  g_option_context_set_summary (ctx,
      "Imports texts an LLM wrote about the project's users, items or scenarios from a CSV or TSV\n"
      "file (RFC 4180, quoted multi-line fields) into the project's knowledge store. Keys are checked\n"
      "against the dataset: keys it lacks are reported and skipped, its keys without a text are\n"
      "reported as missing. Running it again resumes an interrupted import and adds nothing twice.");
  g_option_context_set_description (ctx,
      "Example (the LLM-written MovieLens-100K knowledge):\n"
      "  msrlens-cli knowledge import ml-genre users_structured_100k.csv --level user \\\n"
      "      --key-column user_id --text-column user_profile --llm gpt-4o-mini\n"
      "  msrlens-cli knowledge import ml-genre movies_structured_100K.csv --level item \\\n"
      "      --key-column movie_id --text-column movie_info --llm gpt-4o-mini\n"
      "A FILE named *.jsonl (or starting with '{') is read as OpenAI Batch API output instead: answers\n"
      "to msrlens-cli knowledge prompts, and embeddings (docs/KNOWLEDGE-PROMPTS.md); then only --source\n"
      "and --json apply.\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 2, 2))
    return CLI_EXIT_USAGE;
  /* Batch API output carries its own levels and keys. */
  if (msr_knowledge_is_batch_output (argv[2]))
    return cli_knowledge_import_batch (argv[1], argv[2], source, json,
                                       level_text || key_column || text_column || llm);
  MsrKnowledgeLevel level;
  if (level_text == NULL || !msr_knowledge_level_from_string (level_text, &level))
    return cli_fail_message ("knowledge import: --level must be user, item or scenario");
  if (key_column == NULL || text_column == NULL)
    return cli_fail_message ("knowledge import: give --key-column and --text-column");

  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = NULL;
  g_autofree char *store_path = NULL;
  g_autoptr(MsrProject) project = cli_open_project (argv[1], &ds, &store_path, &error);
  if (project == NULL)
    return cli_fail (error);
  g_autoptr(MsrKnowledge) k = msr_knowledge_open (store_path, MSR_KNOWLEDGE_READ_WRITE, &error);
  if (k == NULL)
    return cli_fail (error);
  MsrKnowledgeCsvImport o = { .path = argv[2], .level = level, .key_column = key_column,
                              .text_column = text_column, .llm = llm, .source = source };
  CliProgress progress = { 0 };
  g_autoptr(MsrKnowledgeImportReport) r = msr_knowledge_import_csv (k, &o, ds, cli_progress, &progress, NULL,
                                                                    &error);
  cli_progress_done (&progress);
  if (r == NULL)
    return cli_fail (error);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "import_id");
      json_builder_add_int_value (b, r->import_id);
      json_builder_set_member_name (b, "level");
      json_builder_add_string_value (b, level_text);
      json_builder_set_member_name (b, "source");
      json_builder_add_string_value (b, r->source);
      json_builder_set_member_name (b, "rows");
      json_builder_add_int_value (b, (gint64) r->rows);
      json_builder_set_member_name (b, "added");
      json_builder_add_int_value (b, r->added);
      json_builder_set_member_name (b, "already_stored");
      json_builder_add_int_value (b, r->already);
      json_builder_set_member_name (b, "empty_texts");
      json_builder_add_int_value (b, r->empty);
      cli_json_add_strings (b, "duplicate_keys", r->duplicates);
      cli_json_add_strings (b, "unknown_keys", r->unknown);
      cli_json_add_strings (b, "missing_keys", r->missing);
      json_builder_end_object (b);
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cli_print_json (root);
      return CLI_EXIT_OK;
    }
  printf ("Imported %s knowledge into %s (import %" G_GINT64_FORMAT ", source '%s')\n", level_text, store_path,
          r->import_id, r->source);
  printf ("  %" G_GUINT64_FORMAT " rows: %u added, %u stored already, %u with an empty text\n", r->rows, r->added,
          r->already, r->empty);
  cli_print_list ("keys repeated in the file (first row kept)", r->duplicates, 20);
  cli_print_list ("keys the dataset does not have (skipped)", r->unknown, 20);
  cli_print_list ("of the dataset's keys have no text", r->missing, 20);
  return CLI_EXIT_OK;
}

int
cli_knowledge_status (int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DIR");
  g_option_context_set_summary (ctx,
      "What the project's knowledge store holds: texts per level and source, encoders and their\n"
      "vectors, scenario-correlation matrices, and every import with its provenance. Read-only.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 1, 1))
    return CLI_EXIT_USAGE;
  g_autoptr(GError) error = NULL;
  g_autofree char *store_path = NULL;
  g_autoptr(MsrProject) project = cli_open_project (argv[1], NULL, &store_path, &error);
  if (project == NULL)
    return cli_fail (error);
  g_autoptr(MsrKnowledge) k = msr_knowledge_open (store_path, MSR_KNOWLEDGE_READ_ONLY, &error);
  if (k == NULL)
    return cli_fail (error);
  g_autoptr(GPtrArray) encoders = msr_knowledge_list_encoders (k, &error);
  g_autoptr(GPtrArray) imports = encoders ? msr_knowledge_list_imports (k, &error) : NULL;
  g_auto(GStrv) correlations = imports ? msr_knowledge_list_correlation_sources (k, &error) : NULL;
  if (correlations == NULL)
    return cli_fail (error);
  /* One "source\tcount" list per level. */
  g_autoptr(GPtrArray) sources = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  for (guint l = 0; l < MSR_KNOWLEDGE_N_LEVELS; l++)
    {
      char **list = msr_knowledge_list_sources (k, (MsrKnowledgeLevel) l, &error);
      if (list == NULL)
        return cli_fail (error);
      g_ptr_array_add (sources, list);
    }

  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "store");
  json_builder_add_string_value (b, store_path);
  json_builder_set_member_name (b, "entries");
  json_builder_begin_object (b);
  if (!json)
    printf ("%s\nTexts:\n", store_path);
  for (guint l = 0; l < MSR_KNOWLEDGE_N_LEVELS; l++)
    {
      const char *level = msr_knowledge_level_to_string ((MsrKnowledgeLevel) l);
      json_builder_set_member_name (b, level);
      json_builder_begin_object (b);
      char **list = sources->pdata[l];
      for (guint i = 0; list[i]; i++)
        {
          g_auto(GStrv) parts = g_strsplit (list[i], "\t", 2);
          json_builder_set_member_name (b, parts[0]);
          json_builder_add_int_value (b, g_ascii_strtoll (parts[1], NULL, 10));
          if (!json)
            printf ("  %-9s %-36s %s\n", level, parts[0], parts[1]);
        }
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "encoders");
  json_builder_begin_array (b);
  if (!json)
    printf ("Encoders:%s\n", encoders->len ? "" : " none");
  for (guint i = 0; i < encoders->len; i++)
    {
      const MsrKnowledgeEncoder *e = encoders->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, e->name);
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, e->kind);
      json_builder_set_member_name (b, "dim");
      json_builder_add_int_value (b, e->dim);
      json_builder_set_member_name (b, "vectors");
      json_builder_add_int_value (b, e->n_vectors);
      json_builder_end_object (b);
      if (!json)
        printf ("  %-28s %-9s dim %-5u %u vectors\n", e->name, e->kind, e->dim, e->n_vectors);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "correlations");
  json_builder_begin_array (b);
  if (!json)
    printf ("Scenario correlations:%s", correlations[0] ? "" : " none");
  for (guint i = 0; correlations[i]; i++)
    {
      json_builder_add_string_value (b, correlations[i]);
      if (!json)
        printf (" %s", correlations[i]);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "imports");
  json_builder_begin_array (b);
  if (!json)
    printf ("\nImports:\n");
  for (guint i = 0; i < imports->len; i++)
    {
      const MsrKnowledgeImport *im = imports->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_int_value (b, im->id);
      json_builder_set_member_name (b, "created_at");
      json_builder_add_string_value (b, im->created_at);
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, im->kind);
      json_builder_set_member_name (b, "source");
      json_builder_add_string_value (b, im->source);
      json_builder_set_member_name (b, "sha256");
      json_builder_add_string_value (b, im->source_sha256);
      json_builder_set_member_name (b, "llm");
      json_builder_add_string_value (b, im->llm);
      json_builder_set_member_name (b, "complete");
      json_builder_add_boolean_value (b, im->complete);
      /* The store is untrusted: details nested absurdly deep are left out, not parsed. */
      JsonNode *details = im->details ? msr_json_from_string (im->details, NULL) : NULL;
      if (details)
        {
          json_builder_set_member_name (b, "details");
          json_builder_add_value (b, details);
        }
      json_builder_end_object (b);
      if (!json)
        printf ("  #%-4" G_GINT64_FORMAT " %.19s %-8s %s%s%s%s\n", im->id, im->created_at, im->kind, im->source,
                im->llm ? " (" : "", im->llm ? im->llm : "", im->llm ? ")" : "");
      if (!json && !im->complete)
        printf ("        not finished: run the same import again to resume it\n");
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  if (json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cli_print_json (root);
    }
  return CLI_EXIT_OK;
}

static void
print_matrix (MsrKnowledge *k, const char *source, char **names)
{
  const guint S = g_strv_length (names);
  g_autofree double *m = msr_knowledge_get_correlation (k, source, (const char * const *) names, S, NULL);
  if (m == NULL)
    return;
  printf ("\n%s\n%-22s", source, "");
  for (guint b = 0; b < S; b++)
    printf (" %9.9s", names[b]);
  printf ("\n");
  for (guint a = 0; a < S; a++)
    {
      printf ("%-22.22s", names[a]);
      for (guint b = 0; b < S; b++)
        {
          double v = m[(gsize) a * S + b];
          if (v != v)
            printf (" %9s", "–");
          else
            printf (" %9.3f", v);
        }
      printf ("\n");
    }
}

int
cli_knowledge_encode (int argc, char **argv)
{
  MsrKnowledgeEncodeOptions o;
  msr_knowledge_encode_options_init (&o);
  int dim = (int) o.tfidf.dim;
  gint64 seed = (gint64) o.tfidf.seed;
  g_autofree char *name = NULL;
  gboolean no_derive = FALSE;
  GOptionEntry entries[] = {
    { "dim", 0, 0, G_OPTION_ARG_INT, &dim, "vector width (default 64)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "seed of the randomized SVD (default 1)", "N" },
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, "the encoder's name (default tfidf-svd-DIM)", "NAME" },
    { "no-derive", 0, 0, G_OPTION_ARG_NONE, &no_derive, "do not derive scenario knowledge from item knowledge", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DIR");
  g_option_context_set_summary (ctx,
      "Encodes every knowledge text of the project with the built-in encoder (TF-IDF and a truncated\n"
      "SVD, docs/ENCODER.md) and stores the vectors. When no LLM wrote about the scenarios, derives\n"
      "scenario-level knowledge from the item knowledge (labelled as derived: a scenario's vector is the\n"
      "mean of its items' vectors, its text the terms that set it apart). Then stores the scenario\n"
      "correlation matrices: LLM-derived (cosine of scenario vectors) and data-derived (users' click\n"
      "rates across scenarios, user overlap), and prints them.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 1, 1))
    return CLI_EXIT_USAGE;
  if (dim < 1 || seed < 0)
    return cli_fail_message ("knowledge encode: --dim must be positive and --seed non-negative");
  o.tfidf.dim = (guint) dim;
  o.tfidf.seed = (guint64) seed;
  o.encoder_name = name;
  o.derive_scenarios = !no_derive;

  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = NULL;
  g_autofree char *store_path = NULL;
  g_autoptr(MsrProject) project = cli_open_project (argv[1], &ds, &store_path, &error);
  if (project == NULL)
    return cli_fail (error);
  /* A store must exist already: encoding creates none. */
  if (!g_file_test (store_path, G_FILE_TEST_EXISTS))
    return cli_fail_message ("%s: no knowledge yet: import some with msrlens-cli knowledge import", store_path);
  g_autoptr(MsrKnowledge) k = msr_knowledge_open (store_path, MSR_KNOWLEDGE_READ_WRITE, &error);
  if (k == NULL)
    return cli_fail (error);
  CliProgress progress = { 0 };
  g_autoptr(MsrKnowledgeEncodeReport) r = msr_knowledge_encode (k, ds, &o, cli_progress, &progress, NULL, &error);
  cli_progress_done (&progress);
  if (r == NULL)
    return cli_fail (error);
  printf ("Encoded %u texts into %u-dimensional vectors (encoder '%s')\n", r->n_texts, r->dim, r->encoder);
  if (r->n_scenarios_derived)
    printf ("Derived scenario knowledge for %u scenarios from the item knowledge (source '%s')\n",
            r->n_scenarios_derived, MSR_KNOWLEDGE_DERIVED_SOURCE);
  g_auto(GStrv) names = msr_knowledge_get_scenarios (k, &error);
  g_auto(GStrv) sources = names ? msr_knowledge_list_correlation_sources (k, &error) : NULL;
  if (sources == NULL)
    return cli_fail (error);
  for (guint i = 0; sources[i]; i++)
    print_matrix (k, sources[i], names);
  return CLI_EXIT_OK;
}

int
cli_knowledge_show (int argc, char **argv)
{
  g_autofree char *user = NULL, *item = NULL, *scenario = NULL, *source = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "user", 0, 0, G_OPTION_ARG_STRING, &user, "a user id", "ID" },
    { "item", 0, 0, G_OPTION_ARG_STRING, &item, "an item id", "ID" },
    { "scenario", 0, 0, G_OPTION_ARG_STRING, &scenario, "a scenario name", "NAME" },
    { "source", 0, 0, G_OPTION_ARG_STRING, &source, "which source (default: the first)", "NAME" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DIR");
  g_option_context_set_summary (ctx, "Prints what the knowledge store holds about one user, item or scenario:\n"
                                     "the text, its source, LLM, template and import.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 1, 1))
    return CLI_EXIT_USAGE;
  if ((user != NULL) + (item != NULL) + (scenario != NULL) != 1)
    return cli_fail_message ("knowledge show: give one of --user, --item or --scenario");
  MsrKnowledgeLevel level = user ? MSR_KNOWLEDGE_USER : item ? MSR_KNOWLEDGE_ITEM : MSR_KNOWLEDGE_SCENARIO;
  const char *key = user ? user : item ? item : scenario;
  g_autoptr(GError) error = NULL;
  g_autofree char *store_path = NULL;
  g_autoptr(MsrProject) project = cli_open_project (argv[1], NULL, &store_path, &error);
  if (project == NULL)
    return cli_fail (error);
  g_autoptr(MsrKnowledge) k = msr_knowledge_open (store_path, MSR_KNOWLEDGE_READ_ONLY, &error);
  if (k == NULL)
    return cli_fail (error);
  g_autoptr(MsrKnowledgeEntry) e = msr_knowledge_get_entry (k, level, key, source, &error);
  if (e == NULL)
    {
      if (error)
        return cli_fail (error);
      return cli_fail_message ("%s: no %s knowledge for '%s'%s%s", store_path, msr_knowledge_level_to_string (level),
                               key, source ? " from " : "", source ? source : "");
    }
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
#define S(k, v) do { json_builder_set_member_name (b, k); \
                     if (v) json_builder_add_string_value (b, v); else json_builder_add_null_value (b); } while (0)
      S ("level", msr_knowledge_level_to_string (level));
      S ("key", e->key);
      S ("source", e->source);
      S ("llm", e->llm);
      S ("template", e->template_name);
      S ("created_at", e->created_at);
      S ("prompt", e->prompt);
      S ("response", e->response);
#undef S
      json_builder_set_member_name (b, "import_id");
      json_builder_add_int_value (b, e->import_id);
      json_builder_end_object (b);
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cli_print_json (root);
      return CLI_EXIT_OK;
    }
  printf ("%s %s, from %s%s%s%s (import %" G_GINT64_FORMAT ", %s)\n\n%s\n", msr_knowledge_level_to_string (level),
          e->key, e->source, e->llm ? " (" : "", e->llm ? e->llm : "", e->llm ? ")" : "", e->import_id,
          e->created_at, e->response);
  return CLI_EXIT_OK;
}

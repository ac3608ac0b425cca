/* cli-knowledge-llm.c: msrlens-cli knowledge prompts / generate, and the
 * batch-output side of knowledge import: asking an LLM for the project's
 * scenario- and user-level knowledge, through Batch API files or an
 * OpenAI-compatible server (docs/KNOWLEDGE-PROMPTS.md). The engine does
 * the work; this file parses options and formats. */
#include "config.h"
#include "cli-common.h"
#include "cli-verbs.h"
#include "msr-knowledge-batch.h"
#include "msr-llm-client.h"
#include "msr-project.h"
#include "msr-prompts.h"

#include <stdio.h>
#include <string.h>

/* How many keys and failures a human report lists. */
#define LIST_LIMIT 20

/* "1, 2,3" -> {"1", "2", "3"}; NULL when the list holds no key. */
static char **
split_keys (const char *list)
{
  g_auto(GStrv) parts = g_strsplit (list, ",", -1);
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  guint n = 0;
  for (guint i = 0; parts[i]; i++)
    {
      g_strstrip (parts[i]);
      if (parts[i][0] != '\0')
        {
          g_strv_builder_add (b, parts[i]);
          n++;
        }
    }
  g_auto(GStrv) keys = g_strv_builder_end (b);
  return n ? g_steal_pointer (&keys) : NULL;
}

static void
print_failures (GPtrArray *failed)
{
  if (failed->len == 0)
    return;
  printf ("  %u failed (nothing stored for them):\n", failed->len);
  for (guint i = 0; i < failed->len && i < LIST_LIMIT; i++)
    {
      const MsrKnowledgeFailure *f = failed->pdata[i];
      if (f->line)
        printf ("    line %u (%s): %s\n", f->line, f->custom_id, f->message);
      else
        printf ("    %s: %s\n", f->custom_id, f->message);
    }
  if (failed->len > LIST_LIMIT)
    printf ("    ...\n");
}

static void
json_add_failures (JsonBuilder *b, GPtrArray *failed)
{
  json_builder_set_member_name (b, "failed");
  json_builder_begin_array (b);
  for (guint i = 0; i < failed->len; i++)
    {
      const MsrKnowledgeFailure *f = failed->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "custom_id");
      json_builder_add_string_value (b, f->custom_id);
      if (f->line)
        {
          json_builder_set_member_name (b, "line");
          json_builder_add_int_value (b, f->line);
        }
      if (f->attempts)
        {
          json_builder_set_member_name (b, "attempts");
          json_builder_add_int_value (b, f->attempts);
        }
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, f->message);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static void
json_add_string_or_null (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

/* ---- knowledge prompts ---------------------------------------------------- */

int
cli_knowledge_prompts (int argc, char **argv)
{
  g_autofree char *level_text = NULL, *users = NULL, *model = NULL, *out = NULL, *embeddings_model = NULL;
  g_autofree char *source = NULL;
  int limit = 0;
  gboolean embed_responses = FALSE, json = FALSE;
  GOptionEntry entries[] = {
    { "level", 0, 0, G_OPTION_ARG_STRING, &level_text, "scenario or user (item with --embed-responses)", "LEVEL" },
    { "users", 0, 0, G_OPTION_ARG_STRING, &users, "only these users (comma-separated ids)", "ID,..." },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, "only the first N keys", "N" },
    { "model", 0, 0, G_OPTION_ARG_STRING, &model, "the chat model named in the requests", "NAME" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "the requests file to write (JSONL)", "FILE" },
    { "embeddings-model", 0, 0, G_OPTION_ARG_STRING, &embeddings_model,
      "also request embeddings of the stored responses with this model", "NAME" },
    { "embed-responses", 0, 0, G_OPTION_ARG_NONE, &embed_responses,
      "only embeddings requests, for the stored responses (the second pass)", NULL },
    { "source", 0, 0, G_OPTION_ARG_STRING, &source,
      "whose stored responses to embed (default: the level's source with the most entries)", "NAME" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DIR");
  g_option_context_set_summary (ctx,
      "Writes the project's LLM4MSR prompts as OpenAI Batch API requests (one JSON object a line):\n"
      "one scenario-level prompt per scenario (every scenario's statistics and example items; asks for\n"
      "its traits, commonalities and differences) or one user-level prompt per user (the user's\n"
      "training interactions grouped by scenario; asks for interests within and across scenarios).\n"
      "Only training rows reach a prompt. Submit the file to a Batch API, then import its output with\n"
      "msrlens-cli knowledge import DIR OUTPUT.jsonl.");
  g_option_context_set_description (ctx,
      "Embeddings of the answers can only be asked for once the answers are stored, so they take a\n"
      "second round trip:\n"
      "  msrlens-cli knowledge prompts ml-genre --level user --model gpt-4o-mini --out users.jsonl\n"
      "  (submit users.jsonl; download its output as users-out.jsonl)\n"
      "  msrlens-cli knowledge import ml-genre users-out.jsonl\n"
      "  msrlens-cli knowledge prompts ml-genre --level user --embed-responses \\\n"
      "      --embeddings-model text-embedding-3-small --out users-embed.jsonl\n"
      "  (submit users-embed.jsonl; then knowledge import its output: vectors of encoder\n"
      "   endpoint:text-embedding-3-small)\n"
      "Templates, formats and sources: docs/KNOWLEDGE-PROMPTS.md.\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 1, 1))
    return CLI_EXIT_USAGE;
  MsrKnowledgeLevel level;
  if (level_text == NULL || !msr_knowledge_level_from_string (level_text, &level))
    return cli_fail_message ("knowledge prompts: --level must be scenario or user");
  if (level == MSR_KNOWLEDGE_ITEM && !embed_responses)
    return cli_fail_message ("knowledge prompts: MSR Lens writes scenario and user prompts; --level item only "
                             "goes with --embed-responses");
  if (out == NULL)
    return cli_fail_message ("knowledge prompts: give the file to write with --out");
  if (embed_responses && embeddings_model == NULL)
    return cli_fail_message ("knowledge prompts: --embed-responses needs --embeddings-model");
  if (!embed_responses && model == NULL)
    return cli_fail_message ("knowledge prompts: give the chat model with --model");
  if (users != NULL && level != MSR_KNOWLEDGE_USER)
    return cli_fail_message ("knowledge prompts: --users goes with --level user");
  if (limit < 0)
    return cli_fail_message ("knowledge prompts: --limit must not be negative");
  g_auto(GStrv) keys = users ? split_keys (users) : NULL;
  if (users != NULL && keys == NULL)
    return cli_fail_message ("knowledge prompts: --users names no user");

  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = NULL;
  g_autofree char *store_path = NULL;
  g_autoptr(MsrProject) project = cli_open_project (argv[1], &ds, &store_path, &error);
  if (project == NULL)
    return cli_fail (error);
  /* The store is only read, and only for embeddings of stored responses. */
  g_autoptr(MsrKnowledge) k = NULL;
  if (embeddings_model != NULL && !g_file_test (store_path, G_FILE_TEST_EXISTS))
    {
      if (embed_responses)
        return cli_fail_message ("%s: no knowledge yet, so no responses to embed: import the answers first",
                                 store_path);
      /* The first pass: the answers do not exist yet. */
      fprintf (stderr, "msrlens-cli: no answers are stored yet, so no embeddings requests: import the answers, "
               "then run knowledge prompts --embed-responses\n");
      g_clear_pointer (&embeddings_model, g_free);
    }
  if (embeddings_model != NULL)
    {
      k = msr_knowledge_open (store_path, MSR_KNOWLEDGE_READ_ONLY, &error);
      if (k == NULL)
        return cli_fail (error);
    }
  MsrKnowledgeRequestOptions o = { .level = level, .keys = (const char * const *) keys, .limit = (guint) limit,
                                   .model = model, .embeddings_model = embeddings_model,
                                   .embed_only = embed_responses, .source = source };
  CliProgress progress = { 0 };
  g_autoptr(MsrKnowledgeRequestReport) r = msr_knowledge_write_requests (k, ds, &o, out, cli_progress, &progress,
                                                                         NULL, &error);
  cli_progress_done (&progress);
  if (r == NULL)
    return cli_fail (error);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_add_string_or_null (b, "file", out);
      json_add_string_or_null (b, "level", level_text);
      json_add_string_or_null (b, "template", r->template_id);
      json_add_string_or_null (b, "model", model);
      json_builder_set_member_name (b, "chat_requests");
      json_builder_add_int_value (b, r->n_chat);
      json_add_string_or_null (b, "embedded_source", r->source);
      json_add_string_or_null (b, "encoder", r->encoder);
      json_builder_set_member_name (b, "embeddings_requests");
      json_builder_add_int_value (b, r->n_embeddings);
      json_builder_set_member_name (b, "embedded_already");
      json_builder_add_int_value (b, r->n_embedded);
      cli_json_add_strings (b, "unknown_keys", r->unknown);
      cli_json_add_strings (b, "no_response", r->no_response);
      json_builder_end_object (b);
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cli_print_json (root);
      return CLI_EXIT_OK;
    }
  printf ("Wrote %s\n", out);
  if (!embed_responses)
    printf ("  %u chat requests (%s prompts, template %s, model %s)\n", r->n_chat, level_text, r->template_id,
            model);
  if (embeddings_model != NULL)
    {
      if (r->source)
        printf ("  %u embeddings requests (responses of %s, model %s)%s", r->n_embeddings, r->source,
                embeddings_model, r->n_embedded ? "" : "\n");
      else
        printf ("  no embeddings requests: the store holds no %s responses yet\n", level_text);
      if (r->source && r->n_embedded)
        printf ("; %u responses have a vector of %s already\n", r->n_embedded, r->encoder);
    }
  cli_print_list ("keys have no prompt (not in the dataset, or no training rows)", r->unknown, LIST_LIMIT);
  if (embeddings_model != NULL && r->source)
    cli_print_list ("keys have no stored response to embed", r->no_response, LIST_LIMIT);
  printf ("Next: submit it to a Batch API and import the output with\n"
          "  msrlens-cli knowledge import %s OUTPUT.jsonl\n", argv[1]);
  return CLI_EXIT_OK;
}

/* ---- knowledge import (batch output) ---------------------------------------- */

int
cli_knowledge_import_batch (const char *dir, const char *path, const char *source, int json, int csv_options)
{
  if (csv_options)
    return cli_fail_message ("knowledge import: %s is Batch API output, whose lines carry their own levels, "
                             "keys and models: --level, --key-column, --text-column and --llm do not apply",
                             path);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = NULL;
  g_autofree char *store_path = NULL;
  g_autoptr(MsrProject) project = cli_open_project (dir, &ds, &store_path, &error);
  if (project == NULL)
    return cli_fail (error);
  g_autoptr(MsrKnowledge) k = msr_knowledge_open (store_path, MSR_KNOWLEDGE_READ_WRITE, &error);
  if (k == NULL)
    return cli_fail (error);
  MsrKnowledgeBatchImport o = { .path = path, .source = source };
  CliProgress progress = { 0 };
  g_autoptr(MsrKnowledgeBatchReport) r = msr_knowledge_import_batch (k, &o, ds, cli_progress, &progress, NULL,
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
      json_builder_set_member_name (b, "lines");
      json_builder_add_int_value (b, r->lines);
      json_builder_set_member_name (b, "added");
      json_builder_add_int_value (b, r->added);
      json_builder_set_member_name (b, "already_stored");
      json_builder_add_int_value (b, r->already);
      json_builder_set_member_name (b, "vectors_added");
      json_builder_add_int_value (b, r->vectors);
      json_builder_set_member_name (b, "vectors_replaced");
      json_builder_add_int_value (b, r->vectors_replaced);
      cli_json_add_strings (b, "sources", r->sources);
      cli_json_add_strings (b, "encoders", r->encoders);
      json_add_failures (b, r->failed);
      cli_json_add_strings (b, "unknown", r->unknown);
      json_builder_end_object (b);
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cli_print_json (root);
      return CLI_EXIT_OK;
    }
  printf ("Imported batch output %s into %s (import %" G_GINT64_FORMAT ")\n", path, store_path, r->import_id);
  printf ("  %u lines: %u answers added, %u stored already", r->lines, r->added, r->already);
  if (r->encoders->len)
    printf ("; %u vectors added, %u replaced", r->vectors, r->vectors_replaced);
  printf ("\n");
  for (guint i = 0; i < r->sources->len; i++)
    printf ("  source %s\n", (const char *) r->sources->pdata[i]);
  for (guint i = 0; i < r->encoders->len; i++)
    printf ("  encoder %s\n", (const char *) r->encoders->pdata[i]);
  print_failures (r->failed);
  cli_print_list ("lines about keys without a prompt or a stored response (skipped)", r->unknown, LIST_LIMIT);
  return CLI_EXIT_OK;
}

/* ---- knowledge generate ------------------------------------------------------ */

int
cli_knowledge_generate (int argc, char **argv)
{
  MsrLlmOptions o;
  msr_llm_options_init (&o);
  g_autofree char *endpoint = NULL, *model = NULL, *embeddings_model = NULL, *level_text = NULL, *users = NULL;
  g_autofree char *source = NULL;
  int limit = 0, concurrency = (int) o.concurrency, retries = (int) o.retries;
  double timeout = o.timeout_ms / 1000.0;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "endpoint", 0, 0, G_OPTION_ARG_STRING, &endpoint, "the server's base URL, e.g. http://127.0.0.1:8080",
      "URL" },
    { "model", 0, 0, G_OPTION_ARG_STRING, &model, "the chat model", "NAME" },
    { "embeddings-model", 0, 0, G_OPTION_ARG_STRING, &embeddings_model, "embed the answers with this model",
      "NAME" },
    { "level", 0, 0, G_OPTION_ARG_STRING, &level_text, "scenario or user (default: both)", "LEVEL" },
    { "users", 0, 0, G_OPTION_ARG_STRING, &users, "only these users (comma-separated ids)", "ID,..." },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, "only the first N keys of each level", "N" },
    { "concurrency", 0, 0, G_OPTION_ARG_INT, &concurrency, "requests at once (default 4)", "K" },
    { "retries", 0, 0, G_OPTION_ARG_INT, &retries, "retries of a request that timed out or got 429/5xx "
      "(default 3)", "N" },
    { "timeout", 0, 0, G_OPTION_ARG_DOUBLE, &timeout, "seconds a request may take (default 300)", "SECONDS" },
    { "source", 0, 0, G_OPTION_ARG_STRING, &source, "without --model: whose responses to embed", "NAME" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DIR");
  g_option_context_set_summary (ctx,
      "Sends the project's scenario- and user-level prompts to an OpenAI-compatible server (llama.cpp's\n"
      "server, vLLM, Ollama: POST URL/v1/chat/completions) and stores the answers, with their prompts,\n"
      "in the knowledge store as they arrive; with --embeddings-model also the answers' embeddings\n"
      "(POST URL/v1/embeddings, encoder endpoint:NAME). Requests that time out or get HTTP 429 or 5xx\n"
      "are retried with exponential back-off (honouring Retry-After); the others are reported. Keys\n"
      "whose answer is stored are skipped, so running it again resumes. The API key is read from\n"
      "$OPENAI_API_KEY when set.");
  g_option_context_set_description (ctx,
      "Example (a local llama.cpp server):\n"
      "  msrlens-cli knowledge generate ml-genre --endpoint http://127.0.0.1:8080 --model qwen2.5-7b-instruct \\\n"
      "      --embeddings-model nomic-embed-text --level user --limit 50\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 1, 1))
    return CLI_EXIT_USAGE;
  if (endpoint == NULL)
    return cli_fail_message ("knowledge generate: give the server with --endpoint URL");
  if (model == NULL && embeddings_model == NULL)
    return cli_fail_message ("knowledge generate: give --model, --embeddings-model, or both");
  MsrKnowledgeLevel level = MSR_KNOWLEDGE_USER;
  if (level_text != NULL && (!msr_knowledge_level_from_string (level_text, &level) ||
                             (level == MSR_KNOWLEDGE_ITEM && model != NULL)))
    return cli_fail_message ("knowledge generate: --level must be scenario or user (or item when only "
                             "embedding stored responses)");
  if (users != NULL && (level_text == NULL ? FALSE : level != MSR_KNOWLEDGE_USER))
    return cli_fail_message ("knowledge generate: --users goes with --level user");
  if (limit < 0 || concurrency < 1 || retries < 0 || !(timeout > 0 && timeout <= 86400))
    return cli_fail_message ("knowledge generate: --limit and --retries must not be negative, --concurrency "
                             "must be positive and --timeout more than 0 and at most 86400 seconds");
  g_auto(GStrv) keys = users ? split_keys (users) : NULL;
  if (users != NULL && keys == NULL)
    return cli_fail_message ("knowledge generate: --users names no user");
  o.endpoint = endpoint;
  o.model = model;
  o.embeddings_model = embeddings_model;
  /* --users implies the user level. */
  o.level = level_text || users ? (int) level : -1;
  o.keys = (const char * const *) keys;
  o.limit = (guint) limit;
  o.source = source;
  o.concurrency = (guint) concurrency;
  o.retries = (guint) retries;
  o.timeout_ms = (guint) MAX (1.0, timeout * 1000.0);

  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = NULL;
  g_autofree char *store_path = NULL;
  g_autoptr(MsrProject) project = cli_open_project (argv[1], &ds, &store_path, &error);
  if (project == NULL)
    return cli_fail (error);
  g_autoptr(MsrKnowledge) k = msr_knowledge_open (store_path, MSR_KNOWLEDGE_READ_WRITE, &error);
  if (k == NULL)
    return cli_fail (error);
  CliProgress progress = { 0 };
  g_autoptr(MsrLlmReport) r = msr_llm_generate (k, ds, &o, cli_progress, &progress, NULL, &error);
  cli_progress_done (&progress);
  if (r == NULL)
    return cli_fail (error);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "import_id");
      json_builder_add_int_value (b, r->import_id);
      cli_json_add_strings (b, "sources", r->sources);
      json_add_string_or_null (b, "encoder", r->encoder);
      json_builder_set_member_name (b, "requests");
      json_builder_add_int_value (b, r->requests);
      json_builder_set_member_name (b, "retries");
      json_builder_add_int_value (b, r->retries);
      json_builder_set_member_name (b, "added");
      json_builder_add_int_value (b, r->added);
      json_builder_set_member_name (b, "already_stored");
      json_builder_add_int_value (b, r->already);
      json_builder_set_member_name (b, "vectors");
      json_builder_add_int_value (b, r->vectors);
      json_builder_set_member_name (b, "embedded_already");
      json_builder_add_int_value (b, r->embedded_already);
      json_add_failures (b, r->failed);
      cli_json_add_strings (b, "unknown_keys", r->unknown);
      json_builder_end_object (b);
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cli_print_json (root);
    }
  else
    {
      printf ("Generated knowledge into %s (import %" G_GINT64_FORMAT ")\n", store_path, r->import_id);
      printf ("  %u requests (%u retries): %u answers added, %u stored already", r->requests, r->retries, r->added,
              r->already);
      if (r->encoder)
        printf ("; %u vectors added, %u had one", r->vectors, r->embedded_already);
      printf ("\n");
      for (guint i = 0; i < r->sources->len; i++)
        printf ("  source %s\n", (const char *) r->sources->pdata[i]);
      if (r->encoder)
        printf ("  encoder %s\n", r->encoder);
      print_failures (r->failed);
      cli_print_list ("keys have no prompt (not in the dataset, or no training rows)", r->unknown, LIST_LIMIT);
    }
  if (r->failed->len > 0)
    return cli_fail_message ("knowledge generate: %u request%s failed; run the same command again to retry "
                             "%s", r->failed->len, r->failed->len == 1 ? "" : "s",
                             r->failed->len == 1 ? "it" : "them");
  return CLI_EXIT_OK;
}

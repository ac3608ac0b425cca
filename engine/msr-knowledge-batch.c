/* msr-knowledge-batch.c: see msr-knowledge-batch.h. */
#include "config.h"
#include "msr-json.h"
#include "msr-knowledge-batch.h"
#include "msr-file.h"
#include "msr-prompts.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How many keys or failures a details JSON lists before "and N more". */
#define DETAILS_FIRST 50

/* ---- names ---------------------------------------------------------------- */

char *
msr_knowledge_custom_id (MsrKnowledgeLevel level, const char *key, gboolean embedding)
{
  return g_strdup_printf ("%s%s:%s", embedding ? "embed:" : "", msr_knowledge_level_to_string (level), key);
}

gboolean
msr_knowledge_parse_custom_id (const char *id, MsrKnowledgeLevel *level, char **key, gboolean *embedding)
{
  g_return_val_if_fail (id != NULL, FALSE);
  gboolean embed = g_str_has_prefix (id, "embed:");
  const char *rest = embed ? id + 6 : id;
  const char *colon = strchr (rest, ':');
  if (colon == NULL || colon[1] == '\0')
    return FALSE;
  g_autofree char *name = g_strndup (rest, colon - rest);
  MsrKnowledgeLevel l;
  if (!msr_knowledge_level_from_string (name, &l))
    return FALSE;
  if (level)
    *level = l;
  if (key)
    *key = g_strdup (colon + 1);
  if (embedding)
    *embedding = embed;
  return TRUE;
}

char *
msr_knowledge_endpoint_encoder (const char *embeddings_model)
{
  return g_strdup_printf ("endpoint:%s", embeddings_model);
}

char *
msr_knowledge_default_source (MsrKnowledge *k, MsrKnowledgeLevel level, GError **error)
{
  g_auto(GStrv) sources = msr_knowledge_list_sources (k, level, error);
  if (sources == NULL)
    return NULL;
  char *best = NULL;
  gint64 best_n = -1;
  /* list_sources gives them in name order: the first wins a tie. */
  for (guint i = 0; sources[i]; i++)
    {
      const char *tab = strrchr (sources[i], '\t');
      gint64 n = tab ? g_ascii_strtoll (tab + 1, NULL, 10) : 0;
      if (tab && n > best_n)
        {
          g_free (best);
          best = g_strndup (sources[i], tab - sources[i]);
          best_n = n;
        }
    }
  return best;
}

void
msr_knowledge_failure_free (MsrKnowledgeFailure *f)
{
  if (f == NULL)
    return;
  g_free (f->custom_id);
  g_free (f->message);
  g_free (f);
}

static void
add_failure (GPtrArray *failures, const char *custom_id, guint line, guint attempts, const char *message)
{
  MsrKnowledgeFailure *f = g_new0 (MsrKnowledgeFailure, 1);
  f->custom_id = g_strdup (custom_id);
  f->line = line;
  f->attempts = attempts;
  f->message = g_strdup (message);
  g_ptr_array_add (failures, f);
}

/* ---- request bodies -------------------------------------------------------- */

static JsonNode *
chat_body_node (const char *model, const char *system, const char *prompt)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model);
  json_builder_set_member_name (b, "messages");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, "system");
  json_builder_set_member_name (b, "content");
  json_builder_add_string_value (b, system);
  json_builder_end_object (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, "user");
  json_builder_set_member_name (b, "content");
  json_builder_add_string_value (b, prompt);
  json_builder_end_object (b);
  json_builder_end_array (b);
  /* Greedy decoding: the same prompt gives the same answer where the
   * server allows it. */
  json_builder_set_member_name (b, "temperature");
  json_builder_add_int_value (b, 0);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static JsonNode *
embeddings_body_node (const char *model, const char *input)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model);
  json_builder_set_member_name (b, "input");
  json_builder_add_string_value (b, input);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* Compact JSON: never a line break, so one value is one JSONL line. */
static char *
node_to_text (JsonNode *node)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

char *
msr_knowledge_chat_body (const char *model, const char *system, const char *prompt)
{
  g_autoptr(JsonNode) node = chat_body_node (model, system, prompt);
  return node_to_text (node);
}

char *
msr_knowledge_embeddings_body (const char *model, const char *input)
{
  g_autoptr(JsonNode) node = embeddings_body_node (model, input);
  return node_to_text (node);
}

/* One Batch API request line (with its newline) appended to out. */
static void
append_request (GString *out, const char *custom_id, const char *url, JsonNode *body)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "custom_id");
  json_builder_add_string_value (b, custom_id);
  json_builder_set_member_name (b, "method");
  json_builder_add_string_value (b, "POST");
  json_builder_set_member_name (b, "url");
  json_builder_add_string_value (b, url);
  json_builder_set_member_name (b, "body");
  json_builder_add_value (b, json_node_ref (body));
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = node_to_text (root);
  g_string_append (out, text);
  g_string_append_c (out, '\n');
}

/* ---- writing requests ------------------------------------------------------ */

void
msr_knowledge_request_report_free (MsrKnowledgeRequestReport *r)
{
  if (r == NULL)
    return;
  g_free (r->template_id);
  g_free (r->source);
  g_free (r->encoder);
  g_clear_pointer (&r->unknown, g_ptr_array_unref);
  g_clear_pointer (&r->no_response, g_ptr_array_unref);
  g_free (r);
}

MsrKnowledgeRequestReport *
msr_knowledge_write_requests (MsrKnowledge *k, const MsrDataset *ds, const MsrKnowledgeRequestOptions *o,
                              const char *path, MsrProgressFunc progress, gpointer progress_data,
                              GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (ds != NULL && o != NULL && path != NULL, NULL);
  g_return_val_if_fail (o->embed_only || o->model != NULL, NULL);
  g_return_val_if_fail (o->embeddings_model == NULL || k != NULL, NULL);
  if (o->embed_only && o->embeddings_model == NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: embedding the responses needs an embeddings model",
                   path);
      return NULL;
    }

  g_autoptr(MsrKnowledgeRequestReport) r = g_new0 (MsrKnowledgeRequestReport, 1);
  r->unknown = g_ptr_array_new_with_free_func (g_free);
  r->no_response = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) out = g_string_new (NULL);
  const char *level_name = msr_knowledge_level_to_string (o->level);
  g_autofree char *stage = g_strdup_printf ("Writing %s requests", level_name);

  /* The keys: those with a prompt for chat requests; those with a stored
   * response for embed_only. */
  g_autoptr(GPtrArray) keys = NULL;
  if (!o->embed_only)
    {
      g_autoptr(MsrPromptBuilder) b = msr_prompt_builder_new (ds, o->level, o->template_version, error);
      if (b == NULL)
        return NULL;
      const MsrPromptTemplate *t = msr_prompt_builder_get_template (b);
      r->template_id = g_strdup (msr_prompt_template_get_id (t));
      keys = msr_prompt_builder_choose_keys (b, o->keys, o->limit, r->unknown);
      for (guint i = 0; i < keys->len; i++)
        {
          if ((i & 63) == 0)
            {
              if (g_cancellable_set_error_if_cancelled (cancellable, error))
                return NULL;
              if (progress)
                progress ((double) i / keys->len * (o->embeddings_model ? 0.8 : 1.0), stage, progress_data);
            }
          g_autofree char *prompt = msr_prompt_builder_build (b, keys->pdata[i], error);
          if (prompt == NULL)
            return NULL;
          g_autoptr(JsonNode) body = chat_body_node (o->model, msr_prompt_template_get_system (t), prompt);
          g_autofree char *id = msr_knowledge_custom_id (o->level, keys->pdata[i], FALSE);
          append_request (out, id, MSR_KNOWLEDGE_CHAT_URL, body);
          r->n_chat++;
        }
    }

  if (o->embeddings_model != NULL)
    {
      g_autoptr(GError) no_source = NULL;
      r->source = o->source ? g_strdup (o->source) : msr_knowledge_default_source (k, o->level, &no_source);
      if (no_source != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&no_source));
          return NULL;
        }
      r->encoder = msr_knowledge_endpoint_encoder (o->embeddings_model);
      g_autoptr(GPtrArray) entries = r->source ? msr_knowledge_list_entries (k, o->level, r->source, TRUE, error)
                                               : g_ptr_array_new ();
      if (entries == NULL)
        return NULL;
      /* The responses that have a vector of the encoder already. */
      g_autoptr(GPtrArray) encoders = msr_knowledge_list_encoders (k, error);
      if (encoders == NULL)
        return NULL;
      gboolean stored = FALSE;
      for (guint i = 0; i < encoders->len; i++)
        stored |= strcmp (((const MsrKnowledgeEncoder *) encoders->pdata[i])->name, r->encoder) == 0;
      g_autoptr(GError) local = NULL;
      g_autoptr(MsrKnowledgeVectors) have = r->source && stored ? msr_knowledge_get_vectors (k, o->level, r->encoder,
                                                                                              r->source, &local)
                                                                 : NULL;
      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      g_autoptr(GHashTable) response = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint i = 0; i < entries->len; i++)
        {
          const MsrKnowledgeEntry *e = entries->pdata[i];
          g_hash_table_insert (response, e->key, e->response);
        }
      if (keys == NULL)
        {
          /* embed_only: the stored responses (in key order), or the keys given. */
          keys = g_ptr_array_new_with_free_func (g_free);
          g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
          for (guint i = 0; o->keys ? o->keys[i] != NULL : i < entries->len; i++)
            {
              const char *key = o->keys ? o->keys[i] : ((const MsrKnowledgeEntry *) entries->pdata[i])->key;
              if (o->limit && keys->len >= o->limit)
                break;
              if (g_hash_table_add (seen, (gpointer) key))
                g_ptr_array_add (keys, g_strdup (key));
            }
        }
      for (guint i = 0; i < keys->len; i++)
        {
          if ((i & 63) == 0)
            {
              if (g_cancellable_set_error_if_cancelled (cancellable, error))
                return NULL;
              if (progress)
                progress ((o->embed_only ? 0 : 0.8) + (double) i / keys->len * (o->embed_only ? 1 : 0.2), stage,
                          progress_data);
            }
          const char *key = keys->pdata[i];
          const char *text = g_hash_table_lookup (response, key);
          if (text == NULL)
            {
              g_ptr_array_add (r->no_response, g_strdup (key));
              continue;
            }
          if (have && msr_knowledge_vectors_find (have, key) >= 0)
            {
              r->n_embedded++;
              continue;
            }
          g_autoptr(JsonNode) body = embeddings_body_node (o->embeddings_model, text);
          g_autofree char *id = msr_knowledge_custom_id (o->level, key, TRUE);
          append_request (out, id, MSR_KNOWLEDGE_EMBEDDINGS_URL, body);
          r->n_embeddings++;
        }
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error) || !msr_file_replace_contents (path, out->str, out->len, 0644, error))
    return NULL;
  if (progress)
    progress (1.0, stage, progress_data);
  return g_steal_pointer (&r);
}

/* ---- reading batch output -------------------------------------------------- */

gboolean
msr_knowledge_is_batch_output (const char *path)
{
  if (g_str_has_suffix (path, ".jsonl") || g_str_has_suffix (path, ".JSONL"))
    return TRUE;
  FILE *f = g_fopen (path, "rb");
  if (f == NULL)
    return FALSE;
  int c;
  while ((c = fgetc (f)) != EOF && g_ascii_isspace (c))
    ;
  fclose (f);
  return c == '{';
}

void
msr_knowledge_batch_report_free (MsrKnowledgeBatchReport *r)
{
  if (r == NULL)
    return;
  g_clear_pointer (&r->sources, g_ptr_array_unref);
  g_clear_pointer (&r->encoders, g_ptr_array_unref);
  g_clear_pointer (&r->failed, g_ptr_array_unref);
  g_clear_pointer (&r->unknown, g_ptr_array_unref);
  g_free (r);
}

typedef enum {
  LINE_FAILED,  /* a failed request or an unusable reply: reported */
  LINE_CHAT,
  LINE_EMBED,
} LineKind;

/* One line of batch output, as far as it was understood. */
typedef struct {
  LineKind           kind;
  char              *custom_id;
  MsrKnowledgeLevel  level;
  char              *key;
  char              *model;
  char              *content;   /* chat */
  GArray            *vector;    /* embed: float */
  char              *message;   /* failed */
} Line;

static void
line_clear (Line *l)
{
  g_free (l->custom_id);
  g_free (l->key);
  g_free (l->model);
  g_free (l->content);
  g_clear_pointer (&l->vector, g_array_unref);
  g_free (l->message);
  memset (l, 0, sizeof *l);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Line, line_clear)

static void
line_fail (Line *l, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
line_fail (Line *l, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_free (l->message);
  l->message = g_strdup_vprintf (format, ap);
  va_end (ap);
  l->kind = LINE_FAILED;
}

static const char *
member_string (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static JsonObject *
member_object (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;
  return n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static JsonArray *
member_array (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;
  return n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

static JsonObject *
array_first_object (JsonArray *a)
{
  if (a == NULL || json_array_get_length (a) == 0)
    return NULL;
  JsonNode *n = json_array_get_element (a, 0);
  return JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

/* What an error object says: its message, else its code, else the JSON. */
static char *
error_text (JsonNode *node)
{
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *msg = member_string (o, "message");
  const char *code = member_string (o, "code");
  if (msg || code)
    return g_strdup_printf ("%s%s%s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
  return node_to_text (node);
}

/* Reads a chat completion's text into l (or marks it failed); the model
 * stays NULL when the reply names none. Shared with the endpoint client
 * (msr_knowledge_read_chat_reply). */
static void
read_chat_body (JsonObject *body, Line *l)
{
  const char *model = member_string (body, "model");
  JsonObject *choice = array_first_object (member_array (body, "choices"));
  const char *content = member_string (member_object (choice, "message"), "content");
  if (content == NULL)
    line_fail (l, "the reply has no choices[0].message.content");
  else if (content[strspn (content, " \t\r\n")] == '\0')
    line_fail (l, "the reply is empty");
  else
    {
      l->kind = LINE_CHAT;
      l->model = g_strdup (model);
      l->content = g_strdup (content);
    }
}

static void
read_embeddings_body (JsonObject *body, Line *l)
{
  const char *model = member_string (body, "model");
  JsonArray *emb = member_array (array_first_object (member_array (body, "data")), "embedding");
  if (emb == NULL || json_array_get_length (emb) == 0)
    {
      line_fail (l, "the reply has no data[0].embedding");
      return;
    }
  const guint dim = json_array_get_length (emb);
  g_autoptr(GArray) v = g_array_sized_new (FALSE, FALSE, sizeof (float), dim);
  for (guint i = 0; i < dim; i++)
    {
      JsonNode *n = json_array_get_element (emb, i);
      GType t = JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;
      double x = t == G_TYPE_DOUBLE || t == G_TYPE_INT64 ? json_node_get_double (n) : NAN;
      float f = (float) x;
      if (!isfinite (f))
        {
          line_fail (l, "data[0].embedding[%u] is not a finite number", i);
          return;
        }
      g_array_append_val (v, f);
    }
  l->kind = LINE_EMBED;
  l->model = g_strdup (model);
  l->vector = g_steal_pointer (&v);
}

/* Parses one non-blank line. FALSE with an error naming the file and line
 * when it is not a batch output object; a failed request is a LINE_FAILED
 * line, not an error. */
static gboolean
parse_line (JsonParser *parser, const char *path, guint lineno, const char *text, Line *l, GError **error)
{
  g_autoptr(GError) local = NULL;
  memset (l, 0, sizeof *l);
  gsize at = 0;
  if (!msr_json_depth_ok (text, -1, MSR_JSON_MAX_DEPTH, &at))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: line %u: JSON nested more than %d deep (at byte %"
                   G_GSIZE_FORMAT "): not a batch output line", path, lineno, MSR_JSON_MAX_DEPTH, at + 1);
      return FALSE;
    }
  if (!json_parser_load_from_data (parser, text, -1, &local))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: line %u: not JSON: %s", path, lineno, local->message);
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  if (o == NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: line %u: not a JSON object", path, lineno);
      return FALSE;
    }
  const char *id = member_string (o, "custom_id");
  gboolean embed = FALSE;
  if (id == NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: line %u: no \"custom_id\" string", path, lineno);
      return FALSE;
    }
  if (!msr_knowledge_parse_custom_id (id, &l->level, &l->key, &embed))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: line %u: custom_id '%s' is neither LEVEL:KEY nor "
                   "embed:LEVEL:KEY (LEVEL is scenario, user or item)", path, lineno, id);
      return FALSE;
    }
  if (!embed && msr_prompt_template_name_for_level (l->level) == NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: line %u: custom_id '%s': MSR Lens writes no %s-level "
                   "prompts, so it cannot re-create this one", path, lineno, id,
                   msr_knowledge_level_to_string (l->level));
      return FALSE;
    }
  l->custom_id = g_strdup (id);
  JsonNode *err = json_object_get_member (o, "error");
  JsonNode *resp = json_object_get_member (o, "response");
  if (resp != NULL && !JSON_NODE_HOLDS_NULL (resp) && !JSON_NODE_HOLDS_OBJECT (resp))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: line %u: \"response\" is neither an object nor null",
                   path, lineno);
      return FALSE;
    }
  JsonObject *response = resp && JSON_NODE_HOLDS_OBJECT (resp) ? json_node_get_object (resp) : NULL;
  if (err != NULL && !JSON_NODE_HOLDS_NULL (err))
    {
      g_autofree char *what = error_text (err);
      line_fail (l, "the request failed: %s", what);
      return TRUE;
    }
  if (response == NULL)
    {
      line_fail (l, "no response and no error");
      return TRUE;
    }
  JsonNode *status = json_object_get_member (response, "status_code");
  if (status == NULL || !JSON_NODE_HOLDS_VALUE (status) || json_node_get_value_type (status) != G_TYPE_INT64)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: line %u: the response has no integer \"status_code\"",
                   path, lineno);
      return FALSE;
    }
  gint64 code = json_node_get_int (status);
  JsonObject *body = member_object (response, "body");
  if (code != 200)
    {
      JsonNode *berr = body ? json_object_get_member (body, "error") : NULL;
      g_autofree char *what = berr && !JSON_NODE_HOLDS_NULL (berr) ? error_text (berr) : NULL;
      line_fail (l, "HTTP %" G_GINT64_FORMAT "%s%s", code, what ? ": " : "", what ? what : "");
      return TRUE;
    }
  if (body == NULL)
    line_fail (l, "the reply body is not a JSON object");
  else if (embed)
    read_embeddings_body (body, l);
  else
    read_chat_body (body, l);
  /* The model names the source and the encoder: a file must say it. */
  if (l->kind != LINE_FAILED && l->model == NULL)
    line_fail (l, "the reply names no model");
  return TRUE;
}

/* A reply body as JSON text into l, for the endpoint client. */
static void
read_reply (const char *json, gsize len, gboolean embed, Line *l)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local = NULL;
  memset (l, 0, sizeof *l);
  if (!msr_json_depth_ok (json, (gssize) len, MSR_JSON_MAX_DEPTH, NULL))
    {
      line_fail (l, "the reply nests JSON more than %d deep", MSR_JSON_MAX_DEPTH);
      return;
    }
  if (!json_parser_load_from_data (parser, json, (gssize) len, &local))
    {
      line_fail (l, "the reply is not JSON: %s", local->message);
      return;
    }
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *body = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  if (body == NULL)
    line_fail (l, "the reply is not a JSON object");
  else if (embed)
    read_embeddings_body (body, l);
  else
    read_chat_body (body, l);
}

gboolean
msr_knowledge_read_chat_reply (const char *json, gsize len, char **content, char **model, char **problem)
{
  g_auto(Line) l = { 0 };
  read_reply (json, len, FALSE, &l);
  if (l.kind == LINE_FAILED)
    {
      *problem = g_steal_pointer (&l.message);
      return FALSE;
    }
  *content = g_steal_pointer (&l.content);
  *model = g_steal_pointer (&l.model);
  return TRUE;
}

GArray *
msr_knowledge_read_embeddings_reply (const char *json, gsize len, char **model, char **problem)
{
  g_auto(Line) l = { 0 };
  read_reply (json, len, TRUE, &l);
  if (l.kind == LINE_FAILED)
    {
      *problem = g_steal_pointer (&l.message);
      return NULL;
    }
  *model = g_steal_pointer (&l.model);
  return g_steal_pointer (&l.vector);
}

/* Where an embedding goes: the entry of (level, key) in the source given,
 * or in the one source holding the key. */
typedef struct {
  gint64  id;
  char   *source;
  char   *other;   /* a second source holding the key: ambiguous */
} Target;

static void
target_free (Target *t)
{
  g_free (t->source);
  g_free (t->other);
  g_free (t);
}

typedef struct {
  MsrKnowledge                  *k;
  const MsrKnowledgeBatchImport *o;
  const MsrDataset              *ds;
  MsrKnowledgeBatchReport       *r;
  MsrPromptBuilder              *builders[MSR_KNOWLEDGE_N_LEVELS];
  GHashTable                    *targets[MSR_KNOWLEDGE_N_LEVELS];  /* key -> Target */
  GHashTable                    *dims;       /* encoder -> dim (GUINT_TO_POINTER) */
  GHashTable                    *dim_line;   /* encoder -> the line that set it (0: stored) */
  GHashTable                    *encoders_stored; /* encoders present in the store */
  char                          *first_model;
  gboolean                       any_embeddings;
  guint                          vectors_put;
  /* storing */
  gint64                         import_id;
  guint                          batch_size;
  GArray                        *entries;    /* MsrKnowledgeEntry, pending */
  GHashTable                    *vec_ids;    /* encoder -> GArray of gint64, pending */
  GHashTable                    *vec_values; /* encoder -> GArray of float, pending */
} Import;

static void
entry_clear (MsrKnowledgeEntry *e)
{
  g_free (e->key);
  g_free (e->source);
  g_free (e->prompt);
  g_free (e->response);
  g_free (e->llm);
  memset (e, 0, sizeof *e);
}

static void
import_clear (Import *im)
{
  for (guint l = 0; l < MSR_KNOWLEDGE_N_LEVELS; l++)
    {
      msr_prompt_builder_free (im->builders[l]);
      g_clear_pointer (&im->targets[l], g_hash_table_unref);
    }
  g_clear_pointer (&im->dims, g_hash_table_unref);
  g_clear_pointer (&im->dim_line, g_hash_table_unref);
  g_clear_pointer (&im->encoders_stored, g_hash_table_unref);
  g_free (im->first_model);
  g_clear_pointer (&im->entries, g_array_unref);
  g_clear_pointer (&im->vec_ids, g_hash_table_unref);
  g_clear_pointer (&im->vec_values, g_hash_table_unref);
}

static MsrPromptBuilder *
get_builder (Import *im, MsrKnowledgeLevel level, GError **error)
{
  if (im->builders[level] == NULL)
    im->builders[level] = msr_prompt_builder_new (im->ds, level, im->o->template_version, error);
  return im->builders[level];
}

/* (Re)reads the entries embeddings may attach to. */
static GHashTable *
load_targets (Import *im, MsrKnowledgeLevel level, GError **error)
{
  g_clear_pointer (&im->targets[level], g_hash_table_unref);
  g_autoptr(GPtrArray) entries = msr_knowledge_list_entries (im->k, level, im->o->source, FALSE, error);
  if (entries == NULL)
    return NULL;
  GHashTable *t = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) target_free);
  for (guint i = 0; i < entries->len; i++)
    {
      const MsrKnowledgeEntry *e = entries->pdata[i];
      Target *old = g_hash_table_lookup (t, e->key);
      if (old != NULL)
        {
          if (old->other == NULL)
            old->other = g_strdup (e->source);
          continue;
        }
      Target *n = g_new0 (Target, 1);
      n->id = e->id;
      n->source = g_strdup (e->source);
      g_hash_table_insert (t, g_strdup (e->key), n);
    }
  im->targets[level] = t;
  return t;
}

/* The entry an embedding line belongs to: 0 when there is none (reported
 * as unknown), -1 with an error when several sources hold the key. */
static gint64
embedding_target (Import *im, const Line *l, guint lineno, GError **error)
{
  GHashTable *t = im->targets[l->level] ? im->targets[l->level] : load_targets (im, l->level, error);
  if (t == NULL)
    return -1;
  const Target *target = g_hash_table_lookup (t, l->key);
  if (target == NULL)
    return 0;
  if (target->other != NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: line %u: %s '%s' has responses from several sources "
                   "('%s', '%s'): name the one these embeddings belong to (--source)", im->o->path, lineno,
                   msr_knowledge_level_to_string (l->level), l->key, target->source, target->other);
      return -1;
    }
  return target->id;
}

static void
add_unique (GPtrArray *list, const char *s)
{
  for (guint i = 0; i < list->len; i++)
    if (strcmp (list->pdata[i], s) == 0)
      return;
  g_ptr_array_add (list, g_strdup (s));
}

typedef gboolean (*LineFunc) (Import *im, guint lineno, Line *l, GError **error);

/* Calls fn on every non-blank line of the file, parsed. */
static gboolean
scan (Import *im, LineFunc fn, double from, double to, const char *stage, MsrProgressFunc progress,
      gpointer progress_data, GCancellable *cancellable, GError **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (im->o->path);
  g_autoptr(GError) local = NULL;
  g_autoptr(GFileInputStream) fin = g_file_read (file, cancellable, &local);
  if (fin == NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot read: %s", im->o->path, local->message);
      return FALSE;
    }
  g_autoptr(GFileInfo) info = g_file_input_stream_query_info (fin, G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL, NULL);
  goffset size = info ? g_file_info_get_size (info) : 0;
  g_autoptr(GDataInputStream) in = g_data_input_stream_new (G_INPUT_STREAM (fin));
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  guint lineno = 0;
  goffset pos = 0;
  for (;;)
    {
      gsize len = 0;
      g_autofree char *text = g_data_input_stream_read_line (in, &len, cancellable, &local);
      if (text == NULL)
        {
          if (local != NULL)
            {
              if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                g_propagate_error (error, g_steal_pointer (&local));
              else
                g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: line %u: cannot read: %s", im->o->path,
                             lineno + 1, local->message);
              return FALSE;
            }
          break;
        }
      lineno++;
      pos += (goffset) len + 1;
      if ((lineno & 255) == 0)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return FALSE;
          if (progress && size > 0)
            progress (from + (to - from) * MIN (1.0, (double) pos / (double) size), stage, progress_data);
        }
      if (strlen (text) != len)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: line %u: holds a NUL byte", im->o->path, lineno);
          return FALSE;
        }
      if (text[strspn (text, " \t\r")] == '\0')
        continue;
      g_auto(Line) l = { 0 };
      if (!parse_line (parser, im->o->path, lineno, text, &l, error) || !fn (im, lineno, &l, error))
        return FALSE;
    }
  return TRUE;
}

/* Pass 1: every line is understood, failures are noted, and embedding
 * dimensions agree, before anything is stored. */
static gboolean
check_line (Import *im, guint lineno, Line *l, GError **error)
{
  im->r->lines++;
  if (l->kind == LINE_FAILED)
    {
      add_failure (im->r->failed, l->custom_id, lineno, 0, l->message);
      return TRUE;
    }
  if (l->kind == LINE_CHAT)
    {
      if (im->first_model == NULL)
        im->first_model = g_strdup (l->model);
      return get_builder (im, l->level, error) != NULL;
    }
  im->any_embeddings = TRUE;
  g_autofree char *encoder = msr_knowledge_endpoint_encoder (l->model);
  gpointer dim;
  if (g_hash_table_lookup_extended (im->dims, encoder, NULL, &dim))
    {
      if (GPOINTER_TO_UINT (dim) != l->vector->len)
        {
          guint from = GPOINTER_TO_UINT (g_hash_table_lookup (im->dim_line, encoder));
          g_autofree char *origin = from ? g_strdup_printf ("line %u", from) : g_strdup ("the knowledge store");
          g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH, "%s: line %u: an embedding of dimension %u, but "
                       "encoder '%s' has dimension %u (from %s)", im->o->path, lineno, l->vector->len, encoder,
                       GPOINTER_TO_UINT (dim), origin);
          return FALSE;
        }
    }
  else
    {
      g_hash_table_insert (im->dims, g_strdup (encoder), GUINT_TO_POINTER (l->vector->len));
      g_hash_table_insert (im->dim_line, g_strdup (encoder), GUINT_TO_POINTER (lineno));
    }
  return embedding_target (im, l, lineno, error) >= 0;
}


static gboolean
flush_entries (Import *im, GError **error)
{
  return msr_knowledge_flush_entries (im->k, im->import_id, im->entries, &im->r->added, &im->r->already, error);
}

/* Pass 2: the responses, each with its prompt re-created. */
static gboolean
store_chat (Import *im, guint lineno, Line *l, GError **error)
{
  if (l->kind != LINE_CHAT)
    return TRUE;
  MsrPromptBuilder *b = get_builder (im, l->level, error);
  if (b == NULL)
    return FALSE;
  if (!msr_prompt_builder_has_key (b, l->key))
    {
      g_ptr_array_add (im->r->unknown, g_strdup (l->custom_id));
      return TRUE;
    }
  const MsrPromptTemplate *t = msr_prompt_builder_get_template (b);
  MsrKnowledgeEntry e = { 0 };
  e.level = l->level;
  e.key = g_steal_pointer (&l->key);
  e.source = im->o->source ? g_strdup (im->o->source) : msr_prompt_source_name (l->model, t);
  e.prompt = msr_prompt_builder_build (b, e.key, error);
  e.response = g_steal_pointer (&l->content);
  e.template_name = (char *) msr_prompt_template_get_name (t);
  e.template_version = msr_prompt_template_get_version (t);
  e.llm = g_steal_pointer (&l->model);
  add_unique (im->r->sources, e.source);
  g_array_append_val (im->entries, e);
  if (e.prompt == NULL)
    return FALSE;
  return im->entries->len < im->batch_size || flush_entries (im, error);
}

static gboolean
flush_vectors (Import *im, const char *encoder, GError **error)
{
  GArray *ids = g_hash_table_lookup (im->vec_ids, encoder);
  GArray *values = g_hash_table_lookup (im->vec_values, encoder);
  if (ids == NULL || ids->len == 0)
    return TRUE;
  gboolean ok = msr_knowledge_put_embeddings (im->k, encoder, (const gint64 *) ids->data, (const float *) values->data,
                                              ids->len, error);
  g_array_set_size (ids, 0);
  g_array_set_size (values, 0);
  return ok;
}

/* Pass 3: the embeddings, onto the stored responses. */
static gboolean
store_embedding (Import *im, guint lineno, Line *l, GError **error)
{
  if (l->kind != LINE_EMBED)
    return TRUE;
  gint64 id = embedding_target (im, l, lineno, error);
  if (id < 0)
    return FALSE;
  if (id == 0)
    {
      g_ptr_array_add (im->r->unknown, g_strdup (l->custom_id));
      return TRUE;
    }
  g_autofree char *encoder = msr_knowledge_endpoint_encoder (l->model);
  GArray *ids = g_hash_table_lookup (im->vec_ids, encoder);
  if (ids == NULL)
    {
      /* An encoder the store lacks is added; an existing one keeps its
       * vectors (put_encoder would drop them). */
      if (!g_hash_table_contains (im->encoders_stored, encoder))
        {
          g_autoptr(JsonBuilder) jb = json_builder_new ();
          json_builder_begin_object (jb);
          json_builder_set_member_name (jb, "model");
          json_builder_add_string_value (jb, l->model);
          json_builder_set_member_name (jb, "via");
          json_builder_add_string_value (jb, "batch");
          json_builder_end_object (jb);
          g_autoptr(JsonNode) params_node = json_builder_get_root (jb);
          g_autofree char *params = node_to_text (params_node);
          MsrKnowledgeEncoder enc = { .name = encoder, .kind = (char *) "endpoint", .dim = l->vector->len,
                                      .params = params };
          if (!msr_knowledge_put_encoder (im->k, &enc, error))
            return FALSE;
          g_hash_table_add (im->encoders_stored, g_strdup (encoder));
        }
      ids = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_hash_table_insert (im->vec_ids, g_strdup (encoder), ids);
      g_hash_table_insert (im->vec_values, g_strdup (encoder), g_array_new (FALSE, FALSE, sizeof (float)));
      add_unique (im->r->encoders, encoder);
    }
  GArray *values = g_hash_table_lookup (im->vec_values, encoder);
  g_array_append_val (ids, id);
  g_array_append_vals (values, l->vector->data, l->vector->len);
  im->vectors_put++;
  return ids->len < im->batch_size || flush_vectors (im, encoder, error);
}

/* The vectors of every encoder; -1 with an error. */
static gint64
count_vectors (MsrKnowledge *k, GError **error)
{
  g_autoptr(GPtrArray) encoders = msr_knowledge_list_encoders (k, error);
  if (encoders == NULL)
    return -1;
  gint64 n = 0;
  for (guint i = 0; i < encoders->len; i++)
    n += ((const MsrKnowledgeEncoder *) encoders->pdata[i])->n_vectors;
  return n;
}

static void
details_list (JsonBuilder *b, const char *name, GPtrArray *list)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; i < list->len; i++)
    json_builder_add_string_value (b, list->pdata[i]);
  json_builder_end_array (b);
}

static char *
batch_details (const MsrKnowledgeBatchReport *r)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
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
  details_list (b, "sources", r->sources);
  details_list (b, "encoders", r->encoders);
  json_builder_set_member_name (b, "failed");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "count");
  json_builder_add_int_value (b, r->failed->len);
  json_builder_set_member_name (b, "first");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->failed->len && i < DETAILS_FIRST; i++)
    {
      const MsrKnowledgeFailure *f = r->failed->pdata[i];
      g_autofree char *text = g_strdup_printf ("line %u (%s): %s", f->line, f->custom_id, f->message);
      json_builder_add_string_value (b, text);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "unknown");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "count");
  json_builder_add_int_value (b, r->unknown->len);
  json_builder_set_member_name (b, "first");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->unknown->len && i < DETAILS_FIRST; i++)
    json_builder_add_string_value (b, r->unknown->pdata[i]);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  return node_to_text (root);
}

MsrKnowledgeBatchReport *
msr_knowledge_import_batch (MsrKnowledge *k, const MsrKnowledgeBatchImport *o, const MsrDataset *ds,
                            MsrProgressFunc progress, gpointer progress_data, GCancellable *cancellable,
                            GError **error)
{
  g_return_val_if_fail (k != NULL && o != NULL && o->path != NULL && ds != NULL, NULL);
  g_autoptr(MsrKnowledgeBatchReport) r = g_new0 (MsrKnowledgeBatchReport, 1);
  r->sources = g_ptr_array_new_with_free_func (g_free);
  r->encoders = g_ptr_array_new_with_free_func (g_free);
  r->failed = g_ptr_array_new_with_free_func ((GDestroyNotify) msr_knowledge_failure_free);
  r->unknown = g_ptr_array_new_with_free_func (g_free);

  Import im = { 0 };
  im.k = k;
  im.o = o;
  im.ds = ds;
  im.r = r;
  im.batch_size = o->batch ? o->batch : 500;
  im.dims = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  im.dim_line = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  im.encoders_stored = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  im.entries = g_array_new (FALSE, TRUE, sizeof (MsrKnowledgeEntry));
  g_array_set_clear_func (im.entries, (GDestroyNotify) entry_clear);
  im.vec_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
  im.vec_values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
  gboolean ok = FALSE;
  const char *stage = "Importing batch output";

  /* Stored encoders fix their dimension: new vectors must match it. */
  g_autoptr(GPtrArray) encoders = msr_knowledge_list_encoders (k, error);
  if (encoders == NULL)
    goto out;
  for (guint i = 0; i < encoders->len; i++)
    {
      const MsrKnowledgeEncoder *e = encoders->pdata[i];
      g_hash_table_insert (im.dims, g_strdup (e->name), GUINT_TO_POINTER (e->dim));
      g_hash_table_insert (im.dim_line, g_strdup (e->name), GUINT_TO_POINTER (0));
      g_hash_table_add (im.encoders_stored, g_strdup (e->name));
    }

  if (!scan (&im, check_line, 0.0, 0.3, stage, progress, progress_data, cancellable, error))
    goto out;
  /* Nothing to import is a mistake (the wrong file, or one cut short), not
   * an import to record. */
  if (r->lines == 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: no Batch API output lines in the file (it is empty "
                   "or blank)", o->path);
      goto out;
    }

  {
    g_autofree char *sha = msr_file_sha256 (o->path, error);
    if (sha == NULL)
      goto out;
    g_autofree char *abs = g_canonicalize_filename (o->path, NULL);
    MsrKnowledgeImport info = { .kind = (char *) "batch", .source = abs, .source_sha256 = sha,
                                .llm = im.first_model };
    im.import_id = r->import_id = msr_knowledge_begin_import (k, &info, error);
    if (r->import_id == 0)
      goto out;
  }

  if (!scan (&im, store_chat, 0.3, 0.65, stage, progress, progress_data, cancellable, error) ||
      !flush_entries (&im, error))
    goto out;

  if (im.any_embeddings)
    {
      /* The responses just stored may be the ones the embeddings belong to. */
      for (guint l = 0; l < MSR_KNOWLEDGE_N_LEVELS; l++)
        g_clear_pointer (&im.targets[l], g_hash_table_unref);
      /* Storing a vector replaces the entry's earlier one of the encoder:
       * the count tells new ones from replaced ones. */
      gint64 before = count_vectors (k, error);
      if (before < 0 || !scan (&im, store_embedding, 0.65, 1.0, stage, progress, progress_data, cancellable, error))
        goto out;
      for (guint i = 0; i < r->encoders->len; i++)
        if (!flush_vectors (&im, r->encoders->pdata[i], error))
          goto out;
      gint64 after = count_vectors (k, error);
      if (after < 0)
        goto out;
      r->vectors = (guint) (after - before);
      r->vectors_replaced = im.vectors_put - r->vectors;
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    goto out;
  {
    g_autofree char *details = batch_details (r);
    if (!msr_knowledge_finish_import (k, r->import_id, details, error))
      goto out;
  }
  if (progress)
    progress (1.0, stage, progress_data);
  ok = TRUE;

out:
  import_clear (&im);
  return ok ? g_steal_pointer (&r) : NULL;
}

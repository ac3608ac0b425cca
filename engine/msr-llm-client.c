/* msr-llm-client.c: see msr-llm-client.h.
 *
 * One call runs a GMainContext of its own on the calling thread (a GTask
 * worker, or the CLI's main thread): libsoup sends up to `concurrency`
 * requests at once, and every reply, timeout and retry delay is handled on
 * that context, so the store is only ever written from the calling
 * thread. */
#include "config.h"
#include "msr-json.h"
#include "msr-llm-client.h"
#include "msr-prompts.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

/* Pending answers are written at least this often, however slow they come. */
#define FLUSH_INTERVAL_US (2 * G_USEC_PER_SEC)
/* How many failures an import's details list. */
#define DETAILS_FIRST 50
/* How much of an error reply a failure quotes. */
#define EXCERPT_BYTES 200

void
msr_llm_options_init (MsrLlmOptions *o)
{
  memset (o, 0, sizeof *o);
  o->level = -1;
  o->concurrency = 4;
  o->retries = 3;
  o->timeout_ms = 300000;
  o->backoff_ms = 1000;
  o->max_backoff_ms = 60000;
  o->batch = 16;
}

void
msr_llm_report_free (MsrLlmReport *r)
{
  if (r == NULL)
    return;
  g_clear_pointer (&r->sources, g_ptr_array_unref);
  g_free (r->encoder);
  g_clear_pointer (&r->failed, g_ptr_array_unref);
  g_clear_pointer (&r->unknown, g_ptr_array_unref);
  g_free (r);
}

typedef struct _Gen Gen;

/* One key's request, over its attempts. */
typedef struct {
  Gen                     *gen;
  MsrKnowledgeLevel        level;
  char                    *key;
  char                    *custom_id;
  gboolean                 embedding;
  const MsrPromptTemplate *tmpl;       /* chat: owned by the phase's builder */
  char                    *source;     /* chat: the entry's source */
  char                    *prompt;     /* chat: the user message, stored with the answer */
  gint64                   entry_id;   /* embedding: the response's entry */
  GBytes                  *body;
  guint                    attempts;
  SoupMessage             *msg;        /* the attempt in flight */
  GCancellable            *cancel;     /* cancels the attempt in flight */
  GSource                 *timeout;    /* the attempt's deadline */
  GSource                 *delay;      /* the wait before a retry */
  gboolean                 timed_out;
} Job;

static void
job_free (Job *j)
{
  g_free (j->key);
  g_free (j->custom_id);
  g_free (j->source);
  g_free (j->prompt);
  g_clear_pointer (&j->body, g_bytes_unref);
  g_clear_object (&j->msg);
  g_clear_object (&j->cancel);
  if (j->timeout)
    g_source_destroy (j->timeout);
  g_clear_pointer (&j->timeout, g_source_unref);
  if (j->delay)
    g_source_destroy (j->delay);
  g_clear_pointer (&j->delay, g_source_unref);
  g_free (j);
}

struct _Gen {
  MsrKnowledge        *k;
  const MsrDataset    *ds;
  const MsrLlmOptions *o;
  MsrLlmReport        *r;
  GMainContext        *ctx;
  SoupSession         *session;
  GUri                *chat_uri, *embeddings_uri;
  char                *chat_url, *embeddings_url;
  char                *auth;           /* "Bearer ...", never printed */
  gint64               import_id;
  /* the phase */
  GPtrArray           *jobs;           /* Job, owned */
  GQueue               ready;
  guint                in_flight, delayed, finished;
  GError              *fatal;          /* a store error, or cancellation: stop */
  MsrProgressFunc      progress;
  gpointer             progress_data;
  char                *stage;
  /* answers not yet written */
  GArray              *entries;        /* MsrKnowledgeEntry */
  gint64               entries_since;
  char                *encoder;
  guint                dim;            /* the encoder's, 0 until known */
  gboolean             encoder_stored;
  GArray              *vec_ids;        /* gint64 */
  GArray              *vec_values;     /* float, dim per id */
  gint64               vectors_since;
};

static void
entry_clear (MsrKnowledgeEntry *e)
{
  g_free (e->key);
  g_free (e->source);
  g_free (e->prompt);
  g_free (e->response);
  g_free (e->template_name);
  g_free (e->llm);
  memset (e, 0, sizeof *e);
}

static void send_job (Job *j);

/* Sends queued jobs while there is room. */
static void
pump (Gen *g)
{
  while (g->fatal == NULL && g->in_flight < g->o->concurrency && !g_queue_is_empty (&g->ready))
    send_job (g_queue_pop_head (&g->ready));
}

/* Stops the phase: attempts in flight are cancelled (their callbacks still
 * come), waits for retries are dropped. */
static void
abort_all (Gen *g)
{
  g_queue_clear (&g->ready);
  for (guint i = 0; g->jobs && i < g->jobs->len; i++)
    {
      Job *j = g->jobs->pdata[i];
      if (j->cancel)
        g_cancellable_cancel (j->cancel);
      if (j->delay)
        {
          g_source_destroy (j->delay);
          g_clear_pointer (&j->delay, g_source_unref);
          g->delayed--;
        }
    }
}

static void
set_fatal (Gen *g, GError *error)
{
  if (g->fatal == NULL)
    g->fatal = error;
  else
    g_error_free (error);
  abort_all (g);
}

static gboolean
on_cancelled (GCancellable *cancellable, gpointer data)
{
  Gen *g = data;
  set_fatal (g, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s: cancelled", g->stage ? g->stage : "generate"));
  return G_SOURCE_REMOVE;
}

/* ---- storing ------------------------------------------------------------- */

static gboolean
flush_entries (Gen *g, GError **error)
{
  if (g->entries->len == 0)
    return TRUE;
  return msr_knowledge_flush_entries (g->k, g->import_id, g->entries, &g->r->added, &g->r->already, error);
}

static gboolean
flush_vectors (Gen *g, GError **error)
{
  if (g->vec_ids->len == 0)
    return TRUE;
  gboolean ok = msr_knowledge_put_embeddings (g->k, g->encoder, (const gint64 *) g->vec_ids->data,
                                              (const float *) g->vec_values->data, g->vec_ids->len, error);
  if (ok)
    g->r->vectors += g->vec_ids->len;
  g_array_set_size (g->vec_ids, 0);
  g_array_set_size (g->vec_values, 0);
  return ok;
}

/* Writes pending answers when a batch is full or has waited long enough. */
static void
maybe_flush (Gen *g)
{
  GError *error = NULL;
  gint64 now = g_get_monotonic_time ();
  const guint batch = MAX (g->o->batch, 1);
  if ((g->entries->len >= batch || (g->entries->len > 0 && now - g->entries_since >= FLUSH_INTERVAL_US)) &&
      !flush_entries (g, &error))
    set_fatal (g, error);
  else if ((g->vec_ids->len >= batch || (g->vec_ids->len > 0 && now - g->vectors_since >= FLUSH_INTERVAL_US)) &&
           !flush_vectors (g, &error))
    set_fatal (g, error);
}

/* ---- replies ------------------------------------------------------------- */

/* Stores a usable answer; otherwise returns what is wrong with it. */
static char *
take_chat (Job *j, GBytes *bytes)
{
  Gen *g = j->gen;
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  char *content = NULL, *model = NULL, *problem = NULL;
  if (!msr_knowledge_read_chat_reply (data, len, &content, &model, &problem))
    return problem;
  MsrKnowledgeEntry e = { 0 };
  e.level = j->level;
  e.key = g_strdup (j->key);
  e.source = g_strdup (j->source);
  e.prompt = g_strdup (j->prompt);
  e.response = content;
  e.template_name = g_strdup (msr_prompt_template_get_name (j->tmpl));
  e.template_version = msr_prompt_template_get_version (j->tmpl);
  /* The model that answered; servers that do not say are taken at their word. */
  e.llm = model ? model : g_strdup (g->o->model);
  if (g->entries->len == 0)
    g->entries_since = g_get_monotonic_time ();
  g_array_append_val (g->entries, e);
  maybe_flush (g);
  return NULL;
}

static char *
take_embedding (Job *j, GBytes *bytes)
{
  Gen *g = j->gen;
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  g_autofree char *model = NULL;
  char *problem = NULL;
  g_autoptr(GArray) v = msr_knowledge_read_embeddings_reply (data, len, &model, &problem);
  if (v == NULL)
    return problem;
  if (g->dim == 0)
    {
      /* The first vector fixes the encoder's dimension. */
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, g->o->embeddings_model);
      json_builder_set_member_name (b, "url");
      json_builder_add_string_value (b, g->embeddings_url);
      json_builder_end_object (b);
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      g_autoptr(JsonGenerator) gen = json_generator_new ();
      json_generator_set_root (gen, root);
      g_autofree char *params = json_generator_to_data (gen, NULL);
      MsrKnowledgeEncoder enc = { .name = g->encoder, .kind = (char *) "endpoint", .dim = v->len,
                                  .params = params };
      GError *error = NULL;
      if (!msr_knowledge_put_encoder (g->k, &enc, &error))
        {
          set_fatal (g, error);
          return NULL;
        }
      g->dim = v->len;
      g->encoder_stored = TRUE;
    }
  if (v->len != g->dim)
    return g_strdup_printf ("an embedding of dimension %u, but encoder '%s' has dimension %u", v->len, g->encoder,
                            g->dim);
  if (g->vec_ids->len == 0)
    g->vectors_since = g_get_monotonic_time ();
  g_array_append_val (g->vec_ids, j->entry_id);
  g_array_append_vals (g->vec_values, v->data, v->len);
  maybe_flush (g);
  return NULL;
}

/* "HTTP 500 Internal Server Error: <the server's message or the body's start>". */
static char *
http_problem (SoupMessage *msg, GBytes *bytes)
{
  guint status = soup_message_get_status (msg);
  const char *reason = soup_message_get_reason_phrase (msg);
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "HTTP %u%s%s", status, reason && *reason ? " " : "", reason ? reason : "");
  gsize len = 0;
  const char *data = bytes ? g_bytes_get_data (bytes, &len) : NULL;
  if (len == 0)
    return g_string_free (s, FALSE);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  const char *said = NULL;
  if (msr_json_depth_ok (data, (gssize) len, MSR_JSON_MAX_DEPTH, NULL) &&
      json_parser_load_from_data (parser, data, (gssize) len, NULL))
    {
      JsonNode *root = json_parser_get_root (parser);
      JsonObject *o = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
      JsonNode *err = o ? json_object_get_member (o, "error") : NULL;
      if (err && JSON_NODE_HOLDS_OBJECT (err))
        {
          JsonObject *eo = json_node_get_object (err);
          if (json_object_has_member (eo, "message") &&
              JSON_NODE_HOLDS_VALUE (json_object_get_member (eo, "message")))
            said = json_object_get_string_member (eo, "message");
        }
      else if (err && JSON_NODE_HOLDS_VALUE (err) && json_node_get_value_type (err) == G_TYPE_STRING)
        said = json_node_get_string (err);
    }
  g_autofree char *excerpt = g_utf8_make_valid (said ? said : data, said ? -1 : (gssize) MIN (len, EXCERPT_BYTES));
  g_strdelimit (excerpt, "\r\n\t", ' ');
  g_string_append_printf (s, ": %s%s", g_strstrip (excerpt), !said && len > EXCERPT_BYTES ? "..." : "");
  return g_string_free (s, FALSE);
}

/* Milliseconds the server asks to wait (Retry-After: seconds or an HTTP
 * date), or G_MAXUINT when it says nothing usable. */
static guint
retry_after_ms (SoupMessage *msg)
{
  const char *v = soup_message_headers_get_one (soup_message_get_response_headers (msg), "Retry-After");
  if (v == NULL)
    return G_MAXUINT;
  g_autofree char *text = g_strstrip (g_strdup (v));
  char *end = NULL;
  guint64 s = g_ascii_strtoull (text, &end, 10);
  if (end != text && *end == '\0')
    return s >= G_MAXUINT / 1000 ? G_MAXUINT - 1 : (guint) s * 1000;
  g_autoptr(GDateTime) when = soup_date_time_new_from_http_string (text);
  if (when == NULL)
    return G_MAXUINT;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  GTimeSpan d = g_date_time_difference (when, now);
  return d <= 0 ? 0 : (guint) MIN (d / 1000, (GTimeSpan) G_MAXUINT - 1);
}

static void
job_done (Job *j, const char *problem)
{
  Gen *g = j->gen;
  if (problem != NULL)
    {
      const char *url = j->embedding ? g->embeddings_url : g->chat_url;
      g_autofree char *attempts = j->attempts > 1 ? g_strdup_printf (" (after %u attempts)", j->attempts) : NULL;
      MsrKnowledgeFailure *f = g_new0 (MsrKnowledgeFailure, 1);
      f->custom_id = g_strdup (j->custom_id);
      f->attempts = j->attempts;
      f->message = g_strdup_printf ("%s: %s%s", url, problem, attempts ? attempts : "");
      g_ptr_array_add (g->r->failed, f);
    }
  g->finished++;
  if (g->progress)
    g->progress ((double) g->finished / g->jobs->len, g->stage, g->progress_data);
}

static gboolean
on_delay_over (gpointer data)
{
  Job *j = data;
  Gen *g = j->gen;
  g_clear_pointer (&j->delay, g_source_unref);
  g->delayed--;
  g_queue_push_head (&g->ready, j);
  pump (g);
  return G_SOURCE_REMOVE;
}

static void
retry_later (Job *j, guint server_ms)
{
  Gen *g = j->gen;
  const MsrLlmOptions *o = g->o;
  guint64 wait = server_ms != G_MAXUINT ? server_ms
                                        : (guint64) o->backoff_ms << MIN (j->attempts - 1, 30u);
  wait = MIN (wait, (guint64) o->max_backoff_ms);
  j->delay = g_timeout_source_new ((guint) wait);
  g_source_set_callback (j->delay, on_delay_over, j, NULL);
  g_source_attach (j->delay, g->ctx);
  g->delayed++;
}

static void
on_reply (GObject *source, GAsyncResult *result, gpointer data)
{
  Job *j = data;
  Gen *g = j->gen;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  g->in_flight--;
  if (j->timeout)
    g_source_destroy (j->timeout);
  g_clear_pointer (&j->timeout, g_source_unref);
  g_clear_object (&j->cancel);
  g_autoptr(SoupMessage) msg = g_steal_pointer (&j->msg);
  if (g->fatal != NULL)
    return;

  g_autofree char *problem = NULL;
  gboolean transient = FALSE;
  guint server_ms = G_MAXUINT;
  guint status = bytes ? soup_message_get_status (msg) : 0;
  if (bytes == NULL)
    {
      /* No reply: a timeout, a refused or broken connection. */
      transient = TRUE;
      problem = j->timed_out ? g_strdup_printf ("no reply within %u ms", g->o->timeout_ms)
                             : g_strdup (error->message);
    }
  else if (status == 429 /* Too Many Requests */ || (status >= 500 && status <= 599))
    {
      transient = TRUE;
      server_ms = retry_after_ms (msg);
      problem = http_problem (msg, bytes);
    }
  else if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    problem = http_problem (msg, bytes);
  else
    problem = j->embedding ? take_embedding (j, bytes) : take_chat (j, bytes);

  if (problem != NULL && transient && j->attempts <= g->o->retries)
    retry_later (j, server_ms);
  else
    job_done (j, problem);
  pump (g);
}

static gboolean
on_timeout (gpointer data)
{
  Job *j = data;
  j->timed_out = TRUE;
  g_clear_pointer (&j->timeout, g_source_unref);
  g_cancellable_cancel (j->cancel);
  return G_SOURCE_REMOVE;
}

static void
send_job (Job *j)
{
  Gen *g = j->gen;
  j->attempts++;
  g->r->requests++;
  if (j->attempts > 1)
    g->r->retries++;
  j->msg = soup_message_new_from_uri ("POST", j->embedding ? g->embeddings_uri : g->chat_uri);
  soup_message_set_request_body_from_bytes (j->msg, "application/json", j->body);
  SoupMessageHeaders *h = soup_message_get_request_headers (j->msg);
  soup_message_headers_replace (h, "Accept", "application/json");
  if (g->auth != NULL)
    soup_message_headers_replace (h, "Authorization", g->auth);
  j->cancel = g_cancellable_new ();
  j->timed_out = FALSE;
  j->timeout = g_timeout_source_new (MAX (g->o->timeout_ms, 1));
  g_source_set_callback (j->timeout, on_timeout, j, NULL);
  g_source_attach (j->timeout, g->ctx);
  g->in_flight++;
  soup_session_send_and_read_async (g->session, j->msg, G_PRIORITY_DEFAULT, j->cancel, on_reply, j);
}

/* Runs the jobs to their end (answered, failed, or stopped); writes what
 * is pending. */
static gboolean
run_phase (Gen *g, GPtrArray *jobs, const char *stage, GError **error)
{
  g_free (g->stage);
  g->stage = g_strdup (stage);
  if (jobs->len == 0)
    return TRUE;
  g->jobs = jobs;
  g->finished = 0;
  for (guint i = 0; i < jobs->len; i++)
    {
      Job *j = jobs->pdata[i];
      j->gen = g;
      g_queue_push_tail (&g->ready, j);
    }
  if (g->progress)
    g->progress (0.0, stage, g->progress_data);
  pump (g);
  while (g->in_flight > 0 || g->delayed > 0 || (g->fatal == NULL && !g_queue_is_empty (&g->ready)))
    g_main_context_iteration (g->ctx, TRUE);
  g_queue_clear (&g->ready);
  g->jobs = NULL;

  /* Answers received before a cancellation are kept; after a store error
   * nothing more is written. */
  GError *local = NULL;
  if ((g->fatal == NULL || g_error_matches (g->fatal, G_IO_ERROR, G_IO_ERROR_CANCELLED)) &&
      (!flush_entries (g, &local) || !flush_vectors (g, &local)))
    {
      g_clear_error (&g->fatal);
      g->fatal = local;
    }
  if (g->fatal != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&g->fatal));
      return FALSE;
    }
  return TRUE;
}

/* ---- phases -------------------------------------------------------------- */

static gboolean
chat_phase (Gen *g, MsrKnowledgeLevel level, GError **error)
{
  g_autoptr(MsrPromptBuilder) b = msr_prompt_builder_new (g->ds, level, g->o->template_version, error);
  if (b == NULL)
    return FALSE;
  const MsrPromptTemplate *t = msr_prompt_builder_get_template (b);
  g_autofree char *source = msr_prompt_source_name (g->o->model, t);
  g_ptr_array_add (g->r->sources, g_strdup (source));
  g_autoptr(GPtrArray) stored = msr_knowledge_list_entries (g->k, level, source, FALSE, error);
  if (stored == NULL)
    return FALSE;
  g_autoptr(GHashTable) have = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < stored->len; i++)
    g_hash_table_add (have, ((MsrKnowledgeEntry *) stored->pdata[i])->key);

  g_autoptr(GPtrArray) keys = msr_prompt_builder_choose_keys (b, g->o->keys, g->o->limit, g->r->unknown);
  g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) job_free);
  for (guint i = 0; i < keys->len; i++)
    {
      const char *key = keys->pdata[i];
      if (g_hash_table_contains (have, key))
        {
          g->r->already++;
          continue;
        }
      Job *j = g_new0 (Job, 1);
      g_ptr_array_add (jobs, j);
      j->level = level;
      j->key = g_strdup (key);
      j->custom_id = msr_knowledge_custom_id (level, key, FALSE);
      j->tmpl = t;
      j->source = g_strdup (source);
      j->prompt = msr_prompt_builder_build (b, key, error);
      if (j->prompt == NULL)
        return FALSE;
      char *body = msr_knowledge_chat_body (g->o->model, msr_prompt_template_get_system (t), j->prompt);
      j->body = g_bytes_new_take (body, strlen (body));
    }
  g_autofree char *stage = g_strdup_printf ("Asking %s about %u %ss", g->o->model, jobs->len,
                                            msr_knowledge_level_to_string (level));
  return run_phase (g, jobs, stage, error);
}

static gboolean
embeddings_phase (Gen *g, MsrKnowledgeLevel level, GError **error)
{
  /* Whose responses: this run's model's, or the source named, or the
   * level's main one. */
  g_autofree char *source = NULL;
  g_autoptr(MsrPromptBuilder) b = NULL;
  if (g->o->model != NULL)
    {
      b = msr_prompt_builder_new (g->ds, level, g->o->template_version, error);
      if (b == NULL)
        return FALSE;
      source = msr_prompt_source_name (g->o->model, msr_prompt_builder_get_template (b));
    }
  else if (g->o->source != NULL)
    source = g_strdup (g->o->source);
  g_autoptr(GError) local = NULL;
  if (source == NULL && b == NULL)
    {
      source = msr_knowledge_default_source (g->k, level, &local);
      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      if (source == NULL)
        return TRUE;  /* the level has no answers to embed */
    }
  g_autoptr(GPtrArray) entries = msr_knowledge_list_entries (g->k, level, source, TRUE, error);
  if (entries == NULL)
    return FALSE;
  /* The responses that have a vector already (none before the encoder exists). */
  g_autoptr(MsrKnowledgeVectors) have = g->encoder_stored ? msr_knowledge_get_vectors (g->k, level, g->encoder,
                                                                                        source, &local) : NULL;
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (b == NULL)
    g_ptr_array_add (g->r->sources, g_strdup (source));
  g_autoptr(GHashTable) by_key = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < entries->len; i++)
    g_hash_table_insert (by_key, ((MsrKnowledgeEntry *) entries->pdata[i])->key, entries->pdata[i]);

  /* The same keys as the chat phase; without one, the stored responses. */
  g_autoptr(GPtrArray) keys = NULL;
  if (b != NULL)
    {
      /* The chat phase reported the unknown keys already. */
      g_autoptr(GPtrArray) ignored = g_ptr_array_new_with_free_func (g_free);
      keys = msr_prompt_builder_choose_keys (b, g->o->keys, g->o->limit, ignored);
    }
  else
    {
      keys = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; g->o->keys ? g->o->keys[i] != NULL : i < entries->len; i++)
        {
          if (g->o->limit && keys->len >= g->o->limit)
            break;
          const char *key = g->o->keys ? g->o->keys[i] : ((MsrKnowledgeEntry *) entries->pdata[i])->key;
          g_ptr_array_add (keys, g_strdup (key));
        }
    }
  g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) job_free);
  for (guint i = 0; i < keys->len; i++)
    {
      const MsrKnowledgeEntry *e = g_hash_table_lookup (by_key, keys->pdata[i]);
      if (e == NULL)
        {
          /* No answer to embed: a failed request (reported), or a key asked
           * for by name with no stored answer. */
          if (b == NULL && g->o->keys != NULL)
            g_ptr_array_add (g->r->unknown, g_strdup (keys->pdata[i]));
          continue;
        }
      if (have && msr_knowledge_vectors_find (have, e->key) >= 0)
        {
          g->r->embedded_already++;
          continue;
        }
      Job *j = g_new0 (Job, 1);
      g_ptr_array_add (jobs, j);
      j->level = level;
      j->key = g_strdup (e->key);
      j->custom_id = msr_knowledge_custom_id (level, e->key, TRUE);
      j->embedding = TRUE;
      j->entry_id = e->id;
      char *body = msr_knowledge_embeddings_body (g->o->embeddings_model, e->response);
      j->body = g_bytes_new_take (body, strlen (body));
    }
  g_autofree char *stage = g_strdup_printf ("Embedding %u %s answers with %s", jobs->len,
                                            msr_knowledge_level_to_string (level), g->o->embeddings_model);
  return run_phase (g, jobs, stage, error);
}

/* ---- the call ------------------------------------------------------------ */

static GUri *
endpoint_uri (const char *base, const char *path, char **text, GError **error)
{
  *text = g_strconcat (base, path, NULL);
  g_autoptr(GError) local = NULL;
  GUri *uri = g_uri_parse (*text, G_URI_FLAGS_ENCODED, &local);
  const char *scheme = uri ? g_uri_get_scheme (uri) : NULL;
  if (uri == NULL || (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0) ||
      g_uri_get_host (uri) == NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: not an http:// or https:// URL%s%s", base,
                   local ? ": " : "", local ? local->message : "");
      g_clear_pointer (&uri, g_uri_unref);
    }
  return uri;
}

static char *
details_json (const Gen *g, const char *levels)
{
  const MsrLlmOptions *o = g->o;
  const MsrLlmReport *r = g->r;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
#define STR(k, v) do { json_builder_set_member_name (b, k); \
                       if (v) json_builder_add_string_value (b, v); else json_builder_add_null_value (b); } while (0)
#define INT(k, v) do { json_builder_set_member_name (b, k); json_builder_add_int_value (b, v); } while (0)
  STR ("model", o->model);
  STR ("embeddings_model", o->embeddings_model);
  STR ("levels", levels);
  STR ("encoder", r->encoder);
  INT ("concurrency", o->concurrency);
  INT ("retries", o->retries);
  INT ("timeout_ms", o->timeout_ms);
  INT ("requests", r->requests);
  INT ("retried", r->retries);
  INT ("added", r->added);
  INT ("already_stored", r->already);
  INT ("vectors", r->vectors);
  INT ("embedded_already", r->embedded_already);
#undef STR
#undef INT
  json_builder_set_member_name (b, "sources");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->sources->len; i++)
    json_builder_add_string_value (b, r->sources->pdata[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "failed");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "count");
  json_builder_add_int_value (b, r->failed->len);
  json_builder_set_member_name (b, "first");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->failed->len && i < DETAILS_FIRST; i++)
    {
      const MsrKnowledgeFailure *f = r->failed->pdata[i];
      g_autofree char *text = g_strdup_printf ("%s: %s", f->custom_id, f->message);
      json_builder_add_string_value (b, text);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "unknown_keys");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->unknown->len && i < DETAILS_FIRST; i++)
    json_builder_add_string_value (b, r->unknown->pdata[i]);
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

static gboolean
generate (Gen *g, const MsrKnowledgeLevel *levels, guint n_levels, const char *levels_text, GError **error)
{
  const MsrLlmOptions *o = g->o;
  /* The import is named after the endpoint, not one of its paths. */
  g_autofree char *base = g_strndup (g->chat_url, strlen (g->chat_url) - strlen (MSR_KNOWLEDGE_CHAT_URL));
  MsrKnowledgeImport info = { .kind = (char *) "endpoint", .source = base,
                              .llm = (char *) (o->model ? o->model : o->embeddings_model) };
  g->import_id = g->r->import_id = msr_knowledge_begin_import (g->k, &info, error);
  if (g->import_id == 0)
    return FALSE;
  if (o->model != NULL)
    for (guint l = 0; l < n_levels; l++)
      if (!chat_phase (g, levels[l], error))
        return FALSE;
  if (o->embeddings_model != NULL)
    {
      g->encoder = msr_knowledge_endpoint_encoder (o->embeddings_model);
      g->r->encoder = g_strdup (g->encoder);
      g_autoptr(GPtrArray) encoders = msr_knowledge_list_encoders (g->k, error);
      if (encoders == NULL)
        return FALSE;
      for (guint i = 0; i < encoders->len; i++)
        {
          const MsrKnowledgeEncoder *e = encoders->pdata[i];
          if (strcmp (e->name, g->encoder) == 0)
            {
              g->dim = e->dim;
              g->encoder_stored = TRUE;
            }
        }
      for (guint l = 0; l < n_levels; l++)
        if (!embeddings_phase (g, levels[l], error))
          return FALSE;
    }
  g_autofree char *details = details_json (g, levels_text);
  return msr_knowledge_finish_import (g->k, g->import_id, details, error);
}

MsrLlmReport *
msr_llm_generate (MsrKnowledge *k, const MsrDataset *ds, const MsrLlmOptions *o, MsrProgressFunc progress,
                  gpointer progress_data, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (k != NULL && ds != NULL && o != NULL, NULL);
  if (o->endpoint == NULL || (o->model == NULL && o->embeddings_model == NULL))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "generate: needs an endpoint and a chat model, an "
                   "embeddings model, or both");
      return NULL;
    }
  if (o->keys != NULL && o->level < 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "generate: keys need a level");
      return NULL;
    }
  if (o->level >= MSR_KNOWLEDGE_N_LEVELS || (o->model && o->level >= 0 &&
                                             msr_prompt_template_name_for_level (o->level) == NULL))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "generate: MSR Lens writes scenario and user prompts "
                   "only");
      return NULL;
    }
  if (o->concurrency == 0 || o->timeout_ms == 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "generate: the concurrency and the timeout must be "
                   "positive");
      return NULL;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  /* "http://host:8080/", ".../v1" and ".../v1/" all mean the same server. */
  g_autofree char *base = g_strdup (o->endpoint);
  g_strchomp (base);
  while (g_str_has_suffix (base, "/"))
    base[strlen (base) - 1] = '\0';
  if (g_str_has_suffix (base, "/v1"))
    base[strlen (base) - 3] = '\0';

  g_autoptr(MsrLlmReport) r = g_new0 (MsrLlmReport, 1);
  r->sources = g_ptr_array_new_with_free_func (g_free);
  r->failed = g_ptr_array_new_with_free_func ((GDestroyNotify) msr_knowledge_failure_free);
  r->unknown = g_ptr_array_new_with_free_func (g_free);
  Gen g = { 0 };
  g.k = k;
  g.ds = ds;
  g.o = o;
  g.r = r;
  g.progress = progress;
  g.progress_data = progress_data;
  g_queue_init (&g.ready);
  g.chat_uri = endpoint_uri (base, MSR_KNOWLEDGE_CHAT_URL, &g.chat_url, error);
  g.embeddings_uri = g.chat_uri ? endpoint_uri (base, MSR_KNOWLEDGE_EMBEDDINGS_URL, &g.embeddings_url, error)
                                : NULL;
  if (g.embeddings_uri == NULL)
    {
      g_clear_pointer (&g.chat_uri, g_uri_unref);
      g_free (g.chat_url);
      g_free (g.embeddings_url);
      return NULL;
    }
  const char *key = o->api_key ? o->api_key : g_getenv ("OPENAI_API_KEY");
  if (key != NULL && *key != '\0')
    g.auth = g_strdup_printf ("Bearer %s", key);
  g.entries = g_array_new (FALSE, TRUE, sizeof (MsrKnowledgeEntry));
  g_array_set_clear_func (g.entries, (GDestroyNotify) entry_clear);
  g.vec_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g.vec_values = g_array_new (FALSE, FALSE, sizeof (float));

  /* A context of our own: replies are handled here, on this thread,
   * whatever the caller's main loop does. */
  g.ctx = g_main_context_new ();
  g_main_context_push_thread_default (g.ctx);
  g.session = soup_session_new_with_options ("user-agent", "msrlens/" MSR_VERSION,
                                             "max-conns", MAX (o->concurrency, 10u),
                                             "max-conns-per-host", o->concurrency,
                                             NULL);
  GSource *cancel_source = NULL;
  if (cancellable != NULL)
    {
      cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (cancel_source, G_SOURCE_FUNC (on_cancelled), &g, NULL);
      g_source_attach (cancel_source, g.ctx);
    }

  MsrKnowledgeLevel levels[2] = { MSR_KNOWLEDGE_SCENARIO, MSR_KNOWLEDGE_USER };
  guint n_levels = 2;
  if (o->level >= 0)
    {
      levels[0] = (MsrKnowledgeLevel) o->level;
      n_levels = 1;
    }
  const char *levels_text = o->level >= 0 ? msr_knowledge_level_to_string (o->level) : "scenario,user";
  gboolean ok = generate (&g, levels, n_levels, levels_text, error);

  if (cancel_source != NULL)
    {
      g_source_destroy (cancel_source);
      g_source_unref (cancel_source);
    }
  g_clear_object (&g.session);
  /* Let the session's closing connections finish on our context. */
  while (g_main_context_iteration (g.ctx, FALSE))
    ;
  g_main_context_pop_thread_default (g.ctx);
  g_main_context_unref (g.ctx);
  g_clear_error (&g.fatal);
  g_uri_unref (g.chat_uri);
  g_uri_unref (g.embeddings_uri);
  g_free (g.chat_url);
  g_free (g.embeddings_url);
  g_free (g.auth);
  g_free (g.stage);
  g_free (g.encoder);
  g_array_unref (g.entries);
  g_array_unref (g.vec_ids);
  g_array_unref (g.vec_values);
  return ok ? g_steal_pointer (&r) : NULL;
}

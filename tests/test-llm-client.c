/* The OpenAI-compatible endpoint client against a loopback server run by
 * this test (a SoupServer on 127.0.0.1, a random port, its own thread and
 * main context). The server answers chat completions and embeddings and,
 * following a script per key, fails: HTTP 500 then success (retried),
 * 429 with Retry-After (honoured), no reply before the client's timeout
 * (retried, then reported), a reply that is not JSON and one without
 * choices (reported, never stored), HTTP 400 (reported at once), an
 * embedding of the wrong dimension. Then: what is stored (prompts, LLM,
 * sources, the endpoint encoder's vectors), resume (counted on the
 * server: a second run asks nothing it has), cancellation, and the CLI. */
#include "config.h"
#include "test-util.h"
#include "test-llm-fixture.h"
#include "test-http-server.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "msr-knowledge-batch.h"
#include "msr-llm-client.h"
#include "msr-prompts.h"

#define EMBED_DIM 8
#define API_KEY "sekrit-test-key"

static char *tmp_root;
static char *project_dir;

static char *
tmp_path (const char *name)
{
  static guint counter;
  return g_strdup_printf ("%s/%u-%s", tmp_root, counter++, name);
}

/* ---- the loopback server --------------------------------------------------- */

typedef struct {
  MsrTestHttpServer http;    /* holds the connections never answered (timeouts) */
  GMutex        lock;
  /* under lock */
  GHashTable   *scripts;     /* "chat:KEY" / "embed:KEY" -> one action per attempt, then 'o' */
  GHashTable   *times;       /* same keys -> GArray of gint64 (monotonic µs), one per request */
  guint         requests;
  char         *expect_auth; /* the Authorization every request must carry, or NULL */
  guint         bad_auth;
} Server;

static Server srv;

/* Sets a key's script; its attempts count from one again. */
static void
server_script (const char *what, const char *actions)
{
  g_mutex_lock (&srv.lock);
  g_hash_table_insert (srv.scripts, g_strdup (what), g_strdup (actions));
  g_hash_table_remove (srv.times, what);
  g_mutex_unlock (&srv.lock);
}

static guint
server_requests (void)
{
  g_mutex_lock (&srv.lock);
  guint n = srv.requests;
  g_mutex_unlock (&srv.lock);
  return n;
}

/* The request times of one key ("chat:u3"), copied. */
static GArray *
server_times (const char *what)
{
  g_mutex_lock (&srv.lock);
  GArray *t = g_hash_table_lookup (srv.times, what);
  GArray *copy = g_array_new (FALSE, FALSE, sizeof (gint64));
  if (t)
    g_array_append_vals (copy, t->data, t->len);
  g_mutex_unlock (&srv.lock);
  return copy;
}

static void
expected_vector (const char *key, float *v, guint dim)
{
  guint h = 0;
  for (const char *p = key; *p; p++)
    h = h * 31 + (guchar) *p;
  for (guint i = 0; i < dim; i++)
    v[i] = (float) (h % 97) / 8.0f + 0.5f * (float) i;
}

static void
respond (SoupServerMessage *msg, guint status, const char *json)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, json, strlen (json));
}

/* The key a request is about: from the prompt the client sent, or from the
 * answer it asks to embed ("... [KEY] ..."). */
static char *
request_key (const char *path, JsonObject *body)
{
  if (strcmp (path, "/v1/embeddings") == 0)
    {
      const char *input = json_object_get_string_member (body, "input");
      const char *open = strchr (input, '['), *close = open ? strchr (open, ']') : NULL;
      return close ? g_strndup (open + 1, close - open - 1) : NULL;
    }
  JsonArray *msgs = json_object_get_array_member (body, "messages");
  const char *content = json_object_get_string_member (json_array_get_object_element (msgs, 1), "content");
  const char *u = strstr (content, "User "), *ue = u ? strstr (u, " interacted") : NULL;
  if (ue)
    return g_strndup (u + 5, ue - u - 5);
  const char *s = strstr (content, "Consider the scenario \""), *se = s ? strstr (s, "\".\n") : NULL;
  return se ? g_strndup (s + 23, se - s - 23) : NULL;
}

static void
server_handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
  /* libsoup 3.2 leaks the server side of idle connections the client
   * closes: close every connection after its response. */
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection", "close");
  gboolean chat = strcmp (path, "/v1/chat/completions") == 0, embed = strcmp (path, "/v1/embeddings") == 0;
  if ((!chat && !embed) || strcmp (soup_server_message_get_method (msg), "POST") != 0)
    {
      respond (msg, 404, "{\"error\":{\"message\":\"no such route\"}}");
      return;
    }
  g_autoptr(GBytes) bytes = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize len;
  const char *data_text = g_bytes_get_data (bytes, &len);
  g_assert_true (json_parser_load_from_data (parser, data_text, (gssize) len, NULL));
  JsonObject *body = json_node_get_object (json_parser_get_root (parser));
  g_autofree char *key = request_key (path, body);
  g_assert_nonnull (key);
  g_autofree char *what = g_strdup_printf ("%s:%s", chat ? "chat" : "embed", key);
  const char *auth = soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Authorization");

  g_mutex_lock (&srv.lock);
  srv.requests++;
  if (srv.expect_auth && g_strcmp0 (auth, srv.expect_auth) != 0)
    srv.bad_auth++;
  GArray *times = g_hash_table_lookup (srv.times, what);
  if (times == NULL)
    {
      times = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_hash_table_insert (srv.times, g_strdup (what), times);
    }
  gint64 now = g_get_monotonic_time ();
  g_array_append_val (times, now);
  const char *script = g_hash_table_lookup (srv.scripts, what);
  char action = script && times->len <= strlen (script) ? script[times->len - 1] : 'o';
  g_mutex_unlock (&srv.lock);

  switch (action)
    {
    case '5':
      respond (msg, 500, "{\"error\":{\"message\":\"server overloaded\"}}");
      return;
    case 'r':
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After", "1");
      respond (msg, 429, "{\"error\":{\"message\":\"slow down\"}}");
      return;
    case '4':
      respond (msg, 400, "{\"error\":{\"message\":\"context too long\",\"type\":\"invalid_request_error\"}}");
      return;
    case 'g':
      respond (msg, 200, "this is not JSON {");
      return;
    case 'n':
      respond (msg, 200, "{\"model\":\"served-chat\",\"choices\":[]}");
      return;
    case 's':
      /* Never answered: the client gives up after its timeout. */
      msr_test_http_server_hold (&srv.http, soup_server_message_steal_connection (msg));
      return;
    default:
      break;
    }
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, chat ? "served-chat" : "served-embed");
  if (chat)
    {
      g_autofree char *answer = g_strdup_printf ("Profile of [%s]: likes things.", key);
      json_builder_set_member_name (b, "object");
      json_builder_add_string_value (b, "chat.completion");
      json_builder_set_member_name (b, "choices");
      json_builder_begin_array (b);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "message");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "role");
      json_builder_add_string_value (b, "assistant");
      json_builder_set_member_name (b, "content");
      json_builder_add_string_value (b, answer);
      json_builder_end_object (b);
      json_builder_end_object (b);
      json_builder_end_array (b);
    }
  else
    {
      guint dim = action == 'd' ? 5 : EMBED_DIM;
      float v[EMBED_DIM];
      expected_vector (key, v, EMBED_DIM);
      json_builder_set_member_name (b, "data");
      json_builder_begin_array (b);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "embedding");
      json_builder_begin_array (b);
      for (guint i = 0; i < dim; i++)
        json_builder_add_double_value (b, v[i]);
      json_builder_end_array (b);
      json_builder_end_object (b);
      json_builder_end_array (b);
    }
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = json_to_string (root, FALSE);
  respond (msg, 200, text);
}

static void
server_start (void)
{
  g_mutex_init (&srv.lock);
  srv.scripts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  srv.times = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
  msr_test_http_server_start (&srv.http, server_handler, NULL);
}

static void
server_stop (void)
{
  msr_test_http_server_stop (&srv.http);
  g_hash_table_unref (srv.scripts);
  g_hash_table_unref (srv.times);
  g_free (srv.expect_auth);
}

/* ---- helpers ----------------------------------------------------------------- */

static MsrKnowledge *
new_store (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = tmp_path ("knowledge.sqlite");
  MsrKnowledge *k = msr_knowledge_open (path, MSR_KNOWLEDGE_READ_WRITE, &error);
  g_assert_no_error (error);
  return k;
}

/* The client's timeout: short, so the test takes seconds; longer under a
 * slow harness (valgrind: MSR_TEST_LLM_TIMEOUT_MS=5000). */
static guint
timeout_ms (void)
{
  const char *t = g_getenv ("MSR_TEST_LLM_TIMEOUT_MS");
  return t ? (guint) g_ascii_strtoull (t, NULL, 10) : 500;
}

/* Fast settings: short timeout and back-off. */
static void
fast_options (MsrLlmOptions *o)
{
  msr_llm_options_init (o);
  o->endpoint = srv.http.base;
  o->concurrency = 3;
  o->retries = 2;
  o->timeout_ms = timeout_ms ();
  o->backoff_ms = 20;
  o->max_backoff_ms = 2000;
  o->batch = 4;
}

static const MsrKnowledgeFailure *
find_failure (const MsrLlmReport *r, const char *custom_id)
{
  for (guint i = 0; i < r->failed->len; i++)
    {
      const MsrKnowledgeFailure *f = r->failed->pdata[i];
      if (strcmp (f->custom_id, custom_id) == 0)
        return f;
    }
  return NULL;
}

static guint
count_entries (MsrKnowledge *k, MsrKnowledgeLevel level, const char *source)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) e = msr_knowledge_list_entries (k, level, source, FALSE, &error);
  g_assert_no_error (error);
  return e->len;
}

/* ---- the tests --------------------------------------------------------------- */

static void
test_generate (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = msr_test_llm_dataset (project_dir);
  g_autoptr(MsrKnowledge) k = new_store ();
  g_autoptr(MsrPromptBuilder) b = msr_prompt_builder_new (ds, MSR_KNOWLEDGE_USER, 0, &error);
  g_assert_no_error (error);
  server_script ("chat:u2", "5");     /* 500, then an answer */
  server_script ("chat:u3", "r");     /* 429 with Retry-After: 1, then an answer */
  server_script ("chat:u4", "s");     /* no reply in time, then an answer */
  server_script ("chat:u5", "sss");   /* no reply, three times: reported */
  server_script ("chat:u6", "g");     /* not JSON: reported at once */
  server_script ("chat:u7", "n");     /* no choices: reported at once */
  server_script ("chat:u9", "4");     /* HTTP 400: reported at once */
  server_script ("embed:u5", "d");    /* (second run) an embedding of the wrong dimension */
  g_mutex_lock (&srv.lock);
  srv.expect_auth = g_strdup ("Bearer " API_KEY);
  srv.bad_auth = 0;
  g_mutex_unlock (&srv.lock);

  MsrLlmOptions o;
  fast_options (&o);
  o.model = "chat-m";
  o.embeddings_model = "emb-m";
  o.level = MSR_KNOWLEDGE_USER;
  o.api_key = API_KEY;
  guint before = server_requests ();
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr(MsrLlmReport) r = msr_llm_generate (k, ds, &o, NULL, NULL, NULL, &error);
  g_test_message ("first run: %.2f s", (g_get_monotonic_time () - t0) / 1e6);
  g_assert_no_error (error);
  g_assert_nonnull (r);

  /* 11 users: u1..u10 and heavy; 7 answered (u2, u3, u4 after a retry). */
  g_assert_cmpuint (r->added, ==, 7);
  g_assert_cmpuint (r->already, ==, 0);
  g_assert_cmpuint (r->vectors, ==, 7);
  g_assert_cmpuint (r->failed->len, ==, 4);
  g_assert_cmpuint (r->requests, ==, server_requests () - before);
  g_assert_cmpuint (r->requests, ==, 16 + 7);
  g_assert_cmpuint (r->retries, ==, 5);
  g_assert_cmpuint (r->sources->len, ==, 1);
  g_assert_cmpstr (r->sources->pdata[0], ==, "chat-m:user-v1");
  g_assert_cmpstr (r->encoder, ==, "endpoint:emb-m");
  const MsrKnowledgeFailure *f5 = find_failure (r, "user:u5"), *f6 = find_failure (r, "user:u6");
  const MsrKnowledgeFailure *f7 = find_failure (r, "user:u7"), *f9 = find_failure (r, "user:u9");
  g_assert_nonnull (f5);
  g_assert_cmpuint (f5->attempts, ==, 3);
  g_autofree char *no_reply = g_strdup_printf ("no reply within %u ms (after 3 attempts)", timeout_ms ());
  g_assert_nonnull (strstr (f5->message, no_reply));
  g_autofree char *chat_url = g_strdup_printf ("%s/v1/chat/completions: ", srv.http.base);
  g_assert_true (g_str_has_prefix (f5->message, chat_url));
  g_assert_nonnull (f6);
  g_assert_cmpuint (f6->attempts, ==, 1);
  g_assert_nonnull (strstr (f6->message, "not JSON"));
  g_assert_nonnull (f7);
  g_assert_nonnull (strstr (f7->message, "choices"));
  g_assert_nonnull (f9);
  g_assert_cmpuint (f9->attempts, ==, 1);
  g_assert_nonnull (strstr (f9->message, "HTTP 400 Bad Request: context too long"));
  for (guint i = 0; i < r->failed->len; i++)
    g_assert_null (strstr (((MsrKnowledgeFailure *) r->failed->pdata[i])->message, API_KEY));

  /* The server's timeline: a retry after 500 and a timeout; Retry-After honoured. */
  g_autoptr(GArray) t2 = server_times ("chat:u2"), t3 = server_times ("chat:u3"), t4 = server_times ("chat:u4");
  g_assert_cmpuint (t2->len, ==, 2);
  g_assert_cmpuint (t3->len, ==, 2);
  g_assert_cmpuint (t4->len, ==, 2);
  gint64 waited = g_array_index (t3, gint64, 1) - g_array_index (t3, gint64, 0);
  g_test_message ("Retry-After: 1 -> retried after %.3f s", waited / 1e6);
  g_assert_cmpint (waited, >=, 950000);
  g_assert_cmpint (g_array_index (t4, gint64, 1) - g_array_index (t4, gint64, 0), >=, 1000 * (gint64) timeout_ms ());
  g_mutex_lock (&srv.lock);
  g_assert_cmpuint (srv.bad_auth, ==, 0);
  g_clear_pointer (&srv.expect_auth, g_free);
  g_mutex_unlock (&srv.lock);

  /* What is stored: the prompt, the LLM that answered, the template. */
  g_assert_cmpuint (count_entries (k, MSR_KNOWLEDGE_USER, "chat-m:user-v1"), ==, 7);
  g_autoptr(MsrKnowledgeEntry) e = msr_knowledge_get_entry (k, MSR_KNOWLEDGE_USER, "u3", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (e);
  g_autofree char *prompt = msr_prompt_builder_build (b, "u3", &error);
  g_assert_cmpstr (e->prompt, ==, prompt);
  g_assert_cmpstr (e->response, ==, "Profile of [u3]: likes things.");
  g_assert_cmpstr (e->source, ==, "chat-m:user-v1");
  g_assert_cmpstr (e->llm, ==, "served-chat");
  g_assert_cmpstr (e->template_name, ==, "user");
  g_assert_cmpuint (e->template_version, ==, 1);
  g_assert_cmpint (e->import_id, ==, r->import_id);
  for (guint i = 0; i < 4; i++)
    {
      const char *failed[] = { "u5", "u6", "u7", "u9" };
      g_autoptr(MsrKnowledgeEntry) none = msr_knowledge_get_entry (k, MSR_KNOWLEDGE_USER, failed[i], NULL, &error);
      g_assert_no_error (error);
      g_assert_null (none);
    }
  g_autoptr(GPtrArray) encoders = msr_knowledge_list_encoders (k, &error);
  g_assert_cmpuint (encoders->len, ==, 1);
  const MsrKnowledgeEncoder *enc = encoders->pdata[0];
  g_assert_cmpstr (enc->name, ==, "endpoint:emb-m");
  g_assert_cmpstr (enc->kind, ==, "endpoint");
  g_assert_cmpuint (enc->dim, ==, EMBED_DIM);
  g_autoptr(MsrKnowledgeVectors) vecs = msr_knowledge_get_vectors (k, MSR_KNOWLEDGE_USER, "endpoint:emb-m", NULL,
                                                                   &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vecs->n, ==, 7);
  g_assert_cmpuint (vecs->dim, ==, EMBED_DIM);
  for (guint i = 0; i < vecs->n; i++)
    {
      float v[EMBED_DIM];
      expected_vector (vecs->keys[i], v, EMBED_DIM);
      g_assert_cmpmem (vecs->vectors + (gsize) i * EMBED_DIM, sizeof v, v, sizeof v);
    }
  g_autoptr(GPtrArray) imports = msr_knowledge_list_imports (k, &error);
  const MsrKnowledgeImport *im = imports->pdata[0];
  g_assert_cmpstr (im->kind, ==, "endpoint");
  g_assert_cmpstr (im->source, ==, srv.http.base);
  g_assert_cmpstr (im->llm, ==, "chat-m");
  g_assert_true (im->complete);

  /* Second run: only what is missing. The four failed answers now come;
   * u5's embedding has the wrong dimension and is reported. */
  before = server_requests ();
  g_autoptr(MsrLlmReport) r2 = msr_llm_generate (k, ds, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (server_requests () - before, ==, 8);
  g_assert_cmpuint (r2->requests, ==, 8);
  g_assert_cmpuint (r2->already, ==, 7);
  g_assert_cmpuint (r2->added, ==, 4);
  g_assert_cmpuint (r2->embedded_already, ==, 7);
  g_assert_cmpuint (r2->vectors, ==, 3);
  g_assert_cmpuint (r2->failed->len, ==, 1);
  const MsrKnowledgeFailure *fd = find_failure (r2, "embed:user:u5");
  g_assert_nonnull (fd);
  g_assert_nonnull (strstr (fd->message, "/v1/embeddings: an embedding of dimension 5, but encoder "
                                         "'endpoint:emb-m' has dimension 8"));
  /* Third run: u5's embedding; fourth: nothing at all. */
  before = server_requests ();
  g_autoptr(MsrLlmReport) r3 = msr_llm_generate (k, ds, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (server_requests () - before, ==, 1);
  g_assert_cmpuint (r3->vectors, ==, 1);
  g_assert_cmpuint (r3->failed->len, ==, 0);
  before = server_requests ();
  g_autoptr(MsrLlmReport) r4 = msr_llm_generate (k, ds, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (server_requests () - before, ==, 0);
  g_assert_cmpuint (r4->already, ==, 11);
  g_assert_cmpuint (r4->embedded_already, ==, 11);
  g_assert_cmpuint (count_entries (k, MSR_KNOWLEDGE_USER, NULL), ==, 11);
}

typedef struct {
  GCancellable *cancel;
  guint         calls;
  guint         after;
} CancelAfter;

static void
cancel_after (double fraction, const char *stage, gpointer data)
{
  CancelAfter *c = data;
  if (fraction > 0 && ++c->calls == c->after)
    g_cancellable_cancel (c->cancel);
}

static void
test_cancel_resume (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = msr_test_llm_dataset (project_dir);
  g_autoptr(MsrKnowledge) k = new_store ();
  MsrLlmOptions o;
  fast_options (&o);
  o.model = "cancel-m";
  o.level = MSR_KNOWLEDGE_USER;
  o.concurrency = 1;
  o.batch = 100;  /* nothing is written before the end but for the cancellation */
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  CancelAfter c = { cancel, 0, 3 };
  g_autoptr(MsrLlmReport) r = msr_llm_generate (k, ds, &o, cancel_after, &c, cancel, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (r);
  g_clear_error (&error);
  /* The answers received before the cancellation are kept. */
  guint kept = count_entries (k, MSR_KNOWLEDGE_USER, "cancel-m:user-v1");
  g_assert_cmpuint (kept, ==, 3);
  g_autoptr(GPtrArray) imports = msr_knowledge_list_imports (k, &error);
  g_assert_cmpuint (imports->len, ==, 1);
  const MsrKnowledgeImport *im = imports->pdata[0];
  g_assert_false (im->complete);

  guint before = server_requests ();
  g_autoptr(MsrLlmReport) r2 = msr_llm_generate (k, ds, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r2->already, ==, kept);
  g_assert_cmpuint (r2->added, ==, 11 - kept);
  g_assert_cmpuint (server_requests () - before, ==, 11 - kept);
  /* The interrupted import was resumed, not a new one started. */
  g_assert_cmpint (r2->import_id, ==, im->id);
  g_autoptr(GPtrArray) after = msr_knowledge_list_imports (k, &error);
  g_assert_cmpuint (after->len, ==, 1);
  g_assert_true (((MsrKnowledgeImport *) after->pdata[0])->complete);

  /* Cancelled before it starts: nothing sent. */
  before = server_requests ();
  g_autoptr(MsrLlmReport) r3 = msr_llm_generate (k, ds, &o, NULL, NULL, cancel, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (r3);
  g_assert_cmpuint (server_requests (), ==, before);
}

static void
test_endpoints (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = msr_test_llm_dataset (project_dir);
  g_autoptr(MsrKnowledge) k = new_store ();
  MsrLlmOptions o;
  fast_options (&o);
  o.model = "m";
  o.endpoint = "ftp://127.0.0.1/";
  g_autoptr(MsrLlmReport) bad = msr_llm_generate (k, ds, &o, NULL, NULL, NULL, &error);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "ftp://127.0.0.1: not an http:// or https:// URL"));
  g_assert_null (bad);
  g_clear_error (&error);

  /* Nobody listens: connection errors are retried, then reported. */
  g_autoptr(GSocket) sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_assert_true (g_socket_bind (sock, any, TRUE, &error));
  g_autoptr(GSocketAddress) bound = g_socket_get_local_address (sock, &error);
  guint port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (sock, NULL);
  g_autofree char *dead = g_strdup_printf ("http://127.0.0.1:%u", port);
  o.endpoint = dead;
  o.level = MSR_KNOWLEDGE_SCENARIO;
  o.retries = 1;
  g_autoptr(MsrLlmReport) r = msr_llm_generate (k, ds, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->failed->len, ==, 3);
  g_assert_cmpuint (r->added, ==, 0);
  const MsrKnowledgeFailure *f = r->failed->pdata[0];
  g_assert_cmpuint (f->attempts, ==, 2);
  g_assert_true (g_str_has_prefix (f->message, dead));

  /* A base URL ending in /v1/ is the same server; scenario keys with a colon. */
  g_autofree char *v1 = g_strdup_printf ("%s/v1/", srv.http.base);
  o.endpoint = v1;
  o.retries = 2;
  g_autoptr(MsrLlmReport) rs = msr_llm_generate (k, ds, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rs->added, ==, 3);
  g_autoptr(MsrKnowledgeEntry) e = msr_knowledge_get_entry (k, MSR_KNOWLEDGE_SCENARIO, MSR_TEST_LLM_SCENARIO_C,
                                                            "m:scenario-v1", &error);
  g_assert_nonnull (e);
  g_assert_cmpstr (e->response, ==, "Profile of [" MSR_TEST_LLM_SCENARIO_C "]: likes things.");
  g_assert_cmpstr (e->template_name, ==, "scenario");

  /* Only embeddings, of the stored scenario answers; only the keys asked. */
  MsrLlmOptions eo;
  fast_options (&eo);
  eo.embeddings_model = "emb-only";
  eo.level = MSR_KNOWLEDGE_SCENARIO;
  const char *keys[] = { "alpha", MSR_TEST_LLM_SCENARIO_C, NULL };
  eo.keys = keys;
  g_autoptr(MsrLlmReport) re = msr_llm_generate (k, ds, &eo, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (re->vectors, ==, 2);
  g_assert_cmpstr (re->sources->pdata[0], ==, "m:scenario-v1");
}

static void
test_cli (void)
{
  g_autofree char *parent = tmp_path ("cli");
  g_assert_cmpint (g_mkdir (parent, 0755), ==, 0);
  g_autofree char *dir = msr_test_llm_project (parent, "p");
  g_autofree char *out = NULL, *err = NULL;
  int status = msr_test_run_cli (&out, &err, "knowledge", "generate", dir, "--endpoint", srv.http.base, "--model", "cli-m",
                        "--level", "scenario", "--concurrency", "2", "--json", NULL);
  g_assert_cmpint (status, ==, 0);
  g_autoptr(JsonNode) rep = json_from_string (out, NULL);
  g_assert_nonnull (rep);
  JsonObject *o = json_node_get_object (rep);
  g_assert_cmpint (json_object_get_int_member (o, "added"), ==, 3);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (o, "sources"), 0), ==,
                   "cli-m:scenario-v1");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = msr_test_run_cli (&out, &err, "knowledge", "show", dir, "--scenario", MSR_TEST_LLM_SCENARIO_C, NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "Profile of [" MSR_TEST_LLM_SCENARIO_C "]"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* A failed request: reported, exit status 1. */
  server_script ("chat:u1", "4");
  status = msr_test_run_cli (&out, &err, "knowledge", "generate", dir, "--endpoint", srv.http.base, "--model", "cli-m",
                    "--users", "u1,u2,nobody", "--timeout", "5", NULL);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (out, "1 answers added"));
  g_assert_nonnull (strstr (out, "user:u1: "));
  g_assert_nonnull (strstr (out, "HTTP 400 Bad Request: context too long"));
  g_assert_nonnull (strstr (out, "1 keys have no prompt"));
  g_assert_nonnull (strstr (err, "1 request failed; run the same command again to retry it"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = msr_test_run_cli (&out, &err, "knowledge", "generate", dir, "--endpoint", srv.http.base, NULL);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (err, "--model"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* The loopback server is reached directly, whatever the environment says. */
  const char *proxies[] = { "http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                            "OPENAI_API_KEY" };
  for (guint i = 0; i < G_N_ELEMENTS (proxies); i++)
    g_unsetenv (proxies[i]);
  g_autoptr(GError) error = NULL;
  tmp_root = g_dir_make_tmp ("msr-llm-XXXXXX", &error);
  g_assert_no_error (error);
  project_dir = msr_test_llm_project (tmp_root, "project");
  server_start ();

  g_test_add_func ("/llm/generate", test_generate);
  g_test_add_func ("/llm/cancel-resume", test_cancel_resume);
  g_test_add_func ("/llm/endpoints", test_endpoints);
  g_test_add_func ("/llm/cli", test_cli);
  int status = g_test_run ();
  server_stop ();
  msr_test_rm_rf (tmp_root);
  g_free (tmp_root);
  g_free (project_dir);
  return status;
}

/* msr-llm-client.h: knowledge from an OpenAI-compatible server (llama.cpp's
 * server, vLLM, Ollama, ...): the scenario- and user-level prompts
 * (msr-prompts.h) are POSTed to {endpoint}/v1/chat/completions and the
 * stored responses to {endpoint}/v1/embeddings, with libsoup on a main
 * context of the call's own, a few requests at a time.
 *
 * Policy (docs/KNOWLEDGE-PROMPTS.md): a request that times out, cannot
 * connect, or gets HTTP 429 or 5xx is retried after an exponential back-off
 * (or after the server's Retry-After); any other HTTP status, a reply that
 * is not JSON or lacks its content, and a request out of retries are
 * reported as failures and store nothing. Answers are stored as they
 * arrive, in small transactions, so an interrupted run keeps them; a run
 * skips every key whose (level, key, source) entry is stored, and every
 * response that has a vector of the embeddings model, so running it again
 * asks only for what is missing. The API key ($OPENAI_API_KEY) is sent as
 * "Authorization: Bearer" and never appears in a message. */
#pragma once

#include <gio/gio.h>
#include "msr-dataset.h"
#include "msr-knowledge.h"
#include "msr-knowledge-batch.h"

G_BEGIN_DECLS

typedef struct {
  const char         *endpoint;          /* base URL: "http://127.0.0.1:8080" (a trailing "/v1" is dropped) */
  const char         *model;             /* the chat model; NULL: no chat requests */
  const char         *embeddings_model;  /* NULL: no embeddings */
  int                 level;             /* an MsrKnowledgeLevel, or -1: scenarios, then users */
  const char * const *keys;              /* with a level: only these keys; NULL: every key */
  guint               limit;             /* 0: no limit; else the first N keys of each level */
  const char         *source;            /* without a chat model: whose responses to embed
                                            (NULL: msr_knowledge_default_source) */
  guint               concurrency;       /* requests in flight; default 4 */
  guint               retries;           /* retries after the first attempt; default 3 */
  guint               timeout_ms;        /* per request, from sending to the whole reply; default 300 000 */
  guint               backoff_ms;        /* delay before the first retry, doubled for each next; default 1000 */
  guint               max_backoff_ms;    /* cap on every delay, Retry-After included; default 60 000 */
  const char         *api_key;           /* NULL: $OPENAI_API_KEY when set and not empty */
  guint               batch;             /* answers per transaction; default 16 */
  guint               template_version;  /* 0: the newest */
} MsrLlmOptions;

void msr_llm_options_init (MsrLlmOptions *options);

typedef struct {
  gint64     import_id;          /* the "endpoint" import that recorded the run */
  GPtrArray *sources;            /* the sources answers were stored under (char *) */
  char      *encoder;            /* "endpoint:<embeddings model>", or NULL */
  guint      requests;           /* HTTP requests sent, retries included */
  guint      retries;            /* of which retries */
  guint      added;              /* answers stored */
  guint      already;            /* keys skipped: their answer is stored */
  guint      vectors;            /* embeddings stored */
  guint      embedded_already;   /* responses skipped: they have a vector */
  GPtrArray *failed;             /* MsrKnowledgeFailure (custom_id "<level>:<key>" or "embed:...") */
  GPtrArray *unknown;            /* keys asked for without a prompt (or, only embedding,
                                    without a stored answer) (char *) */
} MsrLlmReport;

void msr_llm_report_free (MsrLlmReport *report);

/* Asks the endpoint for what the store lacks and stores the answers.
 * Failed requests are in the report, not errors; errors are an invalid
 * endpoint or options, a store that cannot be written (what was stored
 * stays), and cancellation (G_IO_ERROR_CANCELLED, after storing the
 * answers already received). */
MsrLlmReport *msr_llm_generate (MsrKnowledge        *knowledge,
                                const MsrDataset    *ds,
                                const MsrLlmOptions *options,
                                MsrProgressFunc      progress,
                                gpointer             progress_data,
                                GCancellable        *cancellable,
                                GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrLlmReport, msr_llm_report_free)

G_END_DECLS

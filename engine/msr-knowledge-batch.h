/* msr-knowledge-batch.h: knowledge through OpenAI-compatible Batch API
 * files. msr_knowledge_write_requests writes the prompts as batch requests
 * (JSONL, one request a line: chat completions, and embeddings of stored
 * responses); msr_knowledge_import_batch reads the batch OUTPUT file and
 * stores the answers as entries (with their prompts re-created from the
 * same template) and the embeddings as vectors of an "endpoint:<model>"
 * encoder. docs/KNOWLEDGE-PROMPTS.md specifies both formats.
 *
 * A request's custom_id says what it is about: "<level>:<key>" for a chat
 * completion (e.g. "user:7", "scenario:Comedy"), "embed:<level>:<key>" for
 * the embedding of the stored response about that key. The key is
 * everything after the level's colon, so keys may contain colons. */
#pragma once

#include <gio/gio.h>
#include "msr-dataset.h"
#include "msr-knowledge.h"

G_BEGIN_DECLS

#define MSR_KNOWLEDGE_CHAT_URL       "/v1/chat/completions"
#define MSR_KNOWLEDGE_EMBEDDINGS_URL "/v1/embeddings"

/* "<level>:<key>" or "embed:<level>:<key>". */
char     *msr_knowledge_custom_id       (MsrKnowledgeLevel level, const char *key, gboolean embedding);
/* FALSE when id is not of either form (or names no level). */
gboolean  msr_knowledge_parse_custom_id (const char *id, MsrKnowledgeLevel *level, char **key, gboolean *embedding);
/* "endpoint:<model>": the encoder of an embeddings model's vectors. */
char     *msr_knowledge_endpoint_encoder (const char *embeddings_model);
/* The source whose responses are embedded when none is named: the level's
 * source with the most entries (the first in name order on a tie), or
 * NULL (no error) when the level has none. */
char     *msr_knowledge_default_source  (MsrKnowledge *knowledge, MsrKnowledgeLevel level, GError **error);

/* A request that failed or a reply that could not be used: reported,
 * never stored. */
typedef struct {
  char  *custom_id;
  guint  line;        /* of the batch output file; 0 for an endpoint */
  guint  attempts;    /* HTTP requests made (an endpoint); 0 for a file */
  char  *message;
} MsrKnowledgeFailure;

void      msr_knowledge_failure_free (MsrKnowledgeFailure *failure);

/* ---- requests ------------------------------------------------------------ */

typedef struct {
  MsrKnowledgeLevel   level;
  const char * const *keys;             /* NULL: every key with a prompt (or stored response) */
  guint               limit;            /* 0: no limit; else the first N keys */
  const char         *model;            /* the chat model; NULL with embed_only */
  const char         *embeddings_model; /* NULL: no embeddings requests */
  gboolean            embed_only;       /* only embeddings of stored responses */
  const char         *source;           /* whose responses to embed; NULL: msr_knowledge_default_source */
  guint               template_version; /* 0: the newest */
} MsrKnowledgeRequestOptions;

typedef struct {
  char      *template_id;       /* "user-v1"; NULL when no chat requests */
  char      *source;            /* the responses embedded, or NULL */
  char      *encoder;           /* "endpoint:<embeddings model>", or NULL */
  guint      n_chat;
  guint      n_embeddings;
  guint      n_embedded;        /* responses skipped: they have a vector of the encoder */
  GPtrArray *unknown;           /* asked-for keys without a prompt (char *) */
  GPtrArray *no_response;       /* keys to embed without a stored response (char *) */
} MsrKnowledgeRequestReport;

void      msr_knowledge_request_report_free (MsrKnowledgeRequestReport *report);

/* Writes the requests to path (a temporary file beside it, renamed at the
 * end): chat requests for the chosen keys unless embed_only, and with an
 * embeddings model, embeddings requests for the chosen keys' stored
 * responses that have no vector of that model yet. knowledge may be NULL
 * when no embeddings are asked for. */
MsrKnowledgeRequestReport *msr_knowledge_write_requests (MsrKnowledge                     *knowledge,
                                                         const MsrDataset                 *ds,
                                                         const MsrKnowledgeRequestOptions *options,
                                                         const char                       *path,
                                                         MsrProgressFunc                   progress,
                                                         gpointer                          progress_data,
                                                         GCancellable                     *cancellable,
                                                         GError                          **error);

/* One chat request body ({"model", "messages": [system, user], "temperature": 0})
 * and one embeddings request body ({"model", "input"}), as JSON text; the
 * endpoint client sends exactly these. */
char     *msr_knowledge_chat_body       (const char *model, const char *system, const char *prompt);
char     *msr_knowledge_embeddings_body (const char *model, const char *input);

/* Reads a chat completion reply (JSON text): its choices[0].message.content
 * and its model (NULL when it names none). FALSE with *problem (a
 * sentence) when the reply is not JSON, has no content, or an empty one. */
gboolean  msr_knowledge_read_chat_reply       (const char *json, gsize len, char **content, char **model,
                                               char **problem);
/* Reads an embeddings reply: data[0].embedding as floats (every value a
 * finite number) and its model (nullable); NULL with *problem otherwise. */
GArray   *msr_knowledge_read_embeddings_reply (const char *json, gsize len, char **model, char **problem);

/* ---- batch output -------------------------------------------------------- */

/* TRUE when path is to be read as batch output: its name ends in .jsonl, or
 * its first non-blank byte is '{'. */
gboolean  msr_knowledge_is_batch_output (const char *path);

typedef struct {
  const char *path;
  const char *source;            /* NULL: "<reply's model>:<template id>"; also picks
                                    the responses embeddings belong to */
  guint       template_version;  /* the prompts' template version; 0: the newest */
  guint       batch;             /* rows per transaction; 0: 500 */
} MsrKnowledgeBatchImport;

typedef struct {
  gint64     import_id;
  guint      lines;             /* non-blank lines read */
  guint      added;             /* new entries */
  guint      already;           /* entries the store held already */
  guint      vectors;           /* new embeddings */
  guint      vectors_replaced;  /* embeddings that replaced the entry's earlier one (a re-import) */
  GPtrArray *sources;           /* sources entries were written under (char *) */
  GPtrArray *encoders;          /* encoders vectors were written under (char *) */
  GPtrArray *failed;            /* MsrKnowledgeFailure: failed requests, unusable replies */
  GPtrArray *unknown;           /* custom ids whose key has no prompt or no response (char *) */
} MsrKnowledgeBatchReport;

void      msr_knowledge_batch_report_free (MsrKnowledgeBatchReport *report);

/* Imports a batch output file. A failed request (status_code other than
 * 200, or "error" set) or an unusable reply is reported and skipped; a
 * line that is not a batch output object, or an embedding whose dimension
 * differs from its encoder's, is an error naming the file and line, before
 * anything is stored. Resumable: kind "batch", the file's SHA-256. */
MsrKnowledgeBatchReport *msr_knowledge_import_batch (MsrKnowledge                  *knowledge,
                                                     const MsrKnowledgeBatchImport *options,
                                                     const MsrDataset              *ds,
                                                     MsrProgressFunc                progress,
                                                     gpointer                       progress_data,
                                                     GCancellable                  *cancellable,
                                                     GError                       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrKnowledgeFailure, msr_knowledge_failure_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrKnowledgeRequestReport, msr_knowledge_request_report_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrKnowledgeBatchReport, msr_knowledge_batch_report_free)

G_END_DECLS

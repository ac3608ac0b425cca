/* msr-knowledge.h: the knowledge store, an SQLite database
 * (knowledge.sqlite in the project folder) holding what an LLM wrote about
 * the project's scenarios, users and items: each text with its prompt, the
 * template and LLM that made it and the import that brought it in;
 * embeddings of the texts per encoder; the project's scenarios; and
 * scenario-correlation matrices by source. docs/FORMATS.md §11 specifies
 * the schema.
 *
 * Viewing opens it read-only. Every write is one transaction. Imports are
 * resumable: an entry is identified by (level, key, source), adding one
 * that exists is skipped, and an import is marked complete only at its end,
 * so running the same import again after an interruption adds the rest.
 *
 * Threads and errors as for the results store (msr-results.h). */
#pragma once

#include <glib.h>
#include "msr-error.h"

G_BEGIN_DECLS

#define MSR_KNOWLEDGE_FILE "knowledge.sqlite"
#define MSR_KNOWLEDGE_SCHEMA_VERSION 1
/* PRAGMA application_id of a knowledge store: "MSRK". */
#define MSR_KNOWLEDGE_APPLICATION_ID 0x4D53524B

typedef enum {
  MSR_KNOWLEDGE_SCENARIO,
  MSR_KNOWLEDGE_USER,
  MSR_KNOWLEDGE_ITEM,
} MsrKnowledgeLevel;

#define MSR_KNOWLEDGE_N_LEVELS 3

const char *msr_knowledge_level_to_string   (MsrKnowledgeLevel level);
gboolean    msr_knowledge_level_from_string (const char *s, MsrKnowledgeLevel *out);

typedef enum {
  MSR_KNOWLEDGE_READ_ONLY,   /* never creates or modifies the file */
  MSR_KNOWLEDGE_READ_WRITE,  /* creates the file (not its folder) when missing */
} MsrKnowledgeMode;

typedef struct _MsrKnowledge MsrKnowledge;

MsrKnowledge *msr_knowledge_open      (const char *path, MsrKnowledgeMode mode, GError **error);
void          msr_knowledge_close     (MsrKnowledge *knowledge);
const char   *msr_knowledge_get_path  (const MsrKnowledge *knowledge);
/* PRAGMA quick_check. */
gboolean      msr_knowledge_check     (MsrKnowledge *knowledge, GError **error);

/* ---- imports ------------------------------------------------------------- */

/* Where a batch of entries came from. Strings must be valid UTF-8. */
typedef struct {
  gint64   id;              /* read: assigned by the store */
  char    *created_at;      /* read: ISO 8601 UTC */
  char    *kind;            /* "csv", "batch", "endpoint", "derived", "encoder" */
  char    *source;          /* a path or URL */
  char    *source_sha256;   /* of the file (64 hex digits), or NULL */
  char    *llm;             /* the LLM that wrote the texts, or NULL */
  char    *details;         /* a JSON object: options, counts, keys not found... */
  gboolean complete;        /* read: the import reached its end */
} MsrKnowledgeImport;

void        msr_knowledge_import_free  (MsrKnowledgeImport *import);

/* Starts an import, or resumes the newest incomplete one with the same
 * kind, source and source_sha256 (its id is returned then). */
gint64      msr_knowledge_begin_import  (MsrKnowledge *knowledge, const MsrKnowledgeImport *info,
                                         GError **error);
/* Marks the import complete and stores details (a JSON object, nullable). */
gboolean    msr_knowledge_finish_import (MsrKnowledge *knowledge, gint64 import_id, const char *details,
                                         GError **error);
/* Newest first. */
GPtrArray  *msr_knowledge_list_imports  (MsrKnowledge *knowledge, GError **error);

/* ---- entries ------------------------------------------------------------- */

typedef struct {
  gint64             id;               /* read */
  MsrKnowledgeLevel  level;
  char              *key;              /* the dataset's value: user id, item id, scenario name */
  char              *source;           /* what wrote it, e.g. "gpt-4o-mini:user-profile" */
  char              *prompt;           /* nullable */
  char              *response;         /* the text */
  char              *template_name;    /* nullable */
  guint              template_version; /* 0 = none */
  char              *llm;              /* nullable */
  char              *created_at;       /* read */
  gint64             import_id;        /* read */
} MsrKnowledgeEntry;

void        msr_knowledge_entry_free   (MsrKnowledgeEntry *entry);

/* Adds entries in one transaction; those whose (level, key, source) is
 * stored already are skipped (counted in *n_skipped, nullable). */
gboolean    msr_knowledge_add_entries  (MsrKnowledge *knowledge, gint64 import_id,
                                        const MsrKnowledgeEntry *entries, guint n,
                                        guint *n_added, guint *n_skipped, GError **error);
/* Adds the entries pending in batch (an array of MsrKnowledgeEntry) as
 * msr_knowledge_add_entries does, adds the counts to *added and
 * *already, and empties batch (which frees its entries, when it has a
 * clear function). */
gboolean    msr_knowledge_flush_entries (MsrKnowledge *knowledge, gint64 import_id, GArray *batch,
                                         guint *added, guint *already, GError **error);
/* Entries of a level (all levels when level < 0), optionally of one source,
 * ordered by level, source and key; with_text FALSE leaves prompt and
 * response NULL (a listing). */
GPtrArray  *msr_knowledge_list_entries (MsrKnowledge *knowledge, int level, const char *source,
                                        gboolean with_text, GError **error);
/* One entry, or NULL with *error unset when there is none. source NULL
 * takes the first source in name order. */
MsrKnowledgeEntry *msr_knowledge_get_entry (MsrKnowledge *knowledge, MsrKnowledgeLevel level,
                                            const char *key, const char *source, GError **error);
/* Deletes the entries of a level and source (with their vectors), in one
 * transaction; *n_deleted (nullable) says how many. */
gboolean    msr_knowledge_delete_entries (MsrKnowledge *knowledge, MsrKnowledgeLevel level, const char *source,
                                          guint *n_deleted, GError **error);
/* The sources of a level with their entry counts: "source\tcount" strings. */
char      **msr_knowledge_list_sources (MsrKnowledge *knowledge, MsrKnowledgeLevel level, GError **error);

/* ---- scenarios ----------------------------------------------------------- */

/* Replaces the project's scenario list (in the dataset's order). */
gboolean    msr_knowledge_set_scenarios (MsrKnowledge *knowledge, const char * const *names, guint n,
                                         GError **error);
/* NULL-terminated, in order; an empty list when none was set. */
char      **msr_knowledge_get_scenarios (MsrKnowledge *knowledge, GError **error);

/* ---- encoders and embeddings -------------------------------------------- */

typedef struct {
  char  *name;        /* "tfidf-svd-64", "endpoint:nomic-embed-text", ... */
  char  *kind;        /* "builtin", "endpoint", "imported" */
  guint  dim;
  char  *params;      /* JSON object, nullable */
  char  *created_at;  /* read */
  guint  n_vectors;   /* read */
} MsrKnowledgeEncoder;

void        msr_knowledge_encoder_free    (MsrKnowledgeEncoder *encoder);
/* Adds the encoder, or replaces its description and drops its vectors when
 * it exists (a re-fit makes new vectors). */
gboolean    msr_knowledge_put_encoder     (MsrKnowledge *knowledge, const MsrKnowledgeEncoder *encoder,
                                           GError **error);
GPtrArray  *msr_knowledge_list_encoders   (MsrKnowledge *knowledge, GError **error);
/* Stores n vectors of the encoder's dimension (row-major float32) for the
 * given entries, replacing earlier ones, in one transaction. */
gboolean    msr_knowledge_put_embeddings  (MsrKnowledge *knowledge, const char *encoder,
                                           const gint64 *entry_ids, const float *vectors, guint n,
                                           GError **error);

/* The vectors of one level and encoder, keyed by the entries' keys (one
 * source: the given one, or when NULL the source with the most vectors). */
typedef struct {
  MsrKnowledgeLevel level;
  char     *encoder;
  char     *source;
  guint     n, dim;
  char    **keys;          /* n, NULL-terminated, sorted */
  gint64   *entry_ids;     /* n */
  float    *vectors;       /* n × dim */
  char     *fingerprint;   /* SHA-256 over encoder, level, keys and vector bytes */
} MsrKnowledgeVectors;

void        msr_knowledge_vectors_free (MsrKnowledgeVectors *vectors);
/* NULL with *error unset when the level has no vectors of that encoder. */
MsrKnowledgeVectors *msr_knowledge_get_vectors (MsrKnowledge *knowledge, MsrKnowledgeLevel level,
                                                const char *encoder, const char *source, GError **error);
/* Row of key, or -1. */
int         msr_knowledge_vectors_find (const MsrKnowledgeVectors *vectors, const char *key);
/* The (at most) k rows most cosine-similar to row, best first (row itself
 * excluded; zero vectors never match); returns how many. */
guint       msr_knowledge_vectors_nearest (const MsrKnowledgeVectors *vectors, guint row, guint k, guint *rows,
                                           double *cosine);

/* ---- scenario correlations ---------------------------------------------- */

/* An S × S matrix (row-major, NaN = undefined) over the named scenarios,
 * stored under source (e.g. "llm:tfidf-svd-64", "data:click-rate"),
 * replacing an earlier one of that source. */
gboolean    msr_knowledge_put_correlation (MsrKnowledge *knowledge, const char *source,
                                           const char * const *names, guint n, const double *values,
                                           GError **error);
/* The matrix in the order of names (NaN where nothing is stored), or NULL
 * with *error unset when the source has no entry at all. */
double     *msr_knowledge_get_correlation (MsrKnowledge *knowledge, const char *source,
                                           const char * const *names, guint n, GError **error);
char      **msr_knowledge_list_correlation_sources (MsrKnowledge *knowledge, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrKnowledge, msr_knowledge_close)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrKnowledgeImport, msr_knowledge_import_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrKnowledgeEntry, msr_knowledge_entry_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrKnowledgeEncoder, msr_knowledge_encoder_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrKnowledgeVectors, msr_knowledge_vectors_free)

G_END_DECLS

/* msr-db.h: what the engine's SQLite stores share (the results store, the
 * knowledge store): opening a file as a store of one kind, read-only or
 * read-write, checking that it is one (application id, schema version,
 * every table's columns against the schema this engine creates), creating
 * or upgrading it, statements, type-checked reads of a possibly hostile
 * file, and transactions. Engine-internal: the stores' own headers are the
 * API.
 *
 * Messages start with the database's path and end with SQLite's message
 * when it has one. Error codes: G_IO_ERROR_NOT_FOUND when a read-only open
 * finds no file, G_IO_ERROR_READ_ONLY for a write through a read-only
 * handle, MSR_ERROR_SCHEMA for a file that is not a store of this kind and
 * version, MSR_ERROR_PARSE for a damaged file, MSR_ERROR_INVALID for a
 * violated constraint, MSR_ERROR_IO for anything else. */
#pragma once

#include <glib.h>
#include <sqlite3.h>
#include "msr-error.h"

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

/* How long a statement waits for another connection's lock. */
#define MSR_DB_BUSY_TIMEOUT_MS 5000

typedef enum {
  /* Never creates or modifies the file; a missing file is an error. */
  MSR_DB_READ_ONLY,
  /* Creates the file (not its folder) when missing; migrates older schemas. */
  MSR_DB_READ_WRITE,
} MsrDbMode;

typedef struct _MsrDb MsrDb;

/* One kind of store. */
typedef struct {
  const char         *noun;            /* "results store" */
  const char         *short_noun;      /* "results": "the results tables", "results schema version" */
  const char         *missing;         /* after the path when a read-only open finds no file */
  gint32              application_id;  /* PRAGMA application_id */
  int                 schema_version;  /* PRAGMA user_version this engine writes */
  int                 oldest_version;  /* oldest it can migrate from */
  const char         *schema_sql;      /* creates every table, including meta (key, value) */
  const char * const *tables;          /* NULL-terminated: the tables checked column by column */
  /* One upgrade step from `from` to from + 1 inside the open transaction
   * (NULL: no older versions exist). */
  gboolean          (*migrate_step) (MsrDb *db, gint64 from, GError **error);
} MsrDbKind;

struct _MsrDb {
  sqlite3         *sqlite;
  char            *path;
  MsrDbMode        mode;
  char            *created_by;   /* from the meta table; "unknown" when absent */
  const MsrDbKind *kind;
};

/* Opens path as a store of kind into db (zeroed by the caller); on failure
 * db holds nothing to free beyond what msr_db_close frees. */
gboolean      msr_db_open             (MsrDb *db, const char *path, MsrDbMode mode, const MsrDbKind *kind,
                                       GError **error);
void          msr_db_close            (MsrDb *db);
/* PRAGMA quick_check: MSR_ERROR_PARSE naming the first problems. */
gboolean      msr_db_check            (MsrDb *db, GError **error);

/* "<path>: <what>" with code in MSR_ERROR. */
void          msr_db_set_error        (MsrDb *db, GError **error, int code, const char *format, ...)
                                       G_GNUC_PRINTF (4, 5);
/* "<path>: <what>: <SQLite's message>", the code from rc. */
void          msr_db_set_sqlite_error (MsrDb *db, GError **error, int rc, const char *format, ...)
                                       G_GNUC_PRINTF (4, 5);

sqlite3_stmt *msr_db_prepare          (MsrDb *db, const char *sql, GError **error);
/* Runs a statement that returns no rows. */
gboolean      msr_db_step_done        (MsrDb *db, sqlite3_stmt *st, const char *what, GError **error);
/* Steps to the next row: 1 = row, 0 = done, -1 = error. */
int           msr_db_step_row         (MsrDb *db, sqlite3_stmt *st, const char *what, GError **error);
/* Fixed SQL only: never with user data (which is always bound). */
gboolean      msr_db_exec             (MsrDb *db, const char *sql, const char *what, GError **error);
gboolean      msr_db_pragma_int       (MsrDb *db, const char *sql, gint64 *out, GError **error);

void          msr_db_bind_text        (sqlite3_stmt *st, int i, const char *s);      /* NULL = SQL NULL */
void          msr_db_bind_real        (sqlite3_stmt *st, int i, double v);           /* NaN = SQL NULL */
void          msr_db_bind_blob        (sqlite3_stmt *st, int i, const void *data, gsize len);

/* Transactions. IMMEDIATE takes the write lock at once, so a concurrent
 * writer makes us wait (busy timeout) instead of failing halfway. */
gboolean      msr_db_require_writable (MsrDb *db, GError **error);
gboolean      msr_db_begin_write      (MsrDb *db, GError **error);
gboolean      msr_db_commit           (MsrDb *db, GError **error);   /* rolls back on failure */
void          msr_db_rollback         (MsrDb *db);

/* Type-checked column reads: a hostile file may hold anything. The first
 * problem is kept in r->error ("<path>: table 't'[, <noun> <id>]: column 'c'
 * holds text, expected an integer") and later reads do nothing. */
typedef struct {
  MsrDb        *db;
  sqlite3_stmt *st;
  const char   *table;
  gint64        id;          /* > 0: the row's owner, named in messages */
  const char   *id_noun;     /* "run", "entry"; NULL = "run" */
  GError       *error;
} MsrDbReader;

void          msr_db_reader_fail      (MsrDbReader *r, int col, const char *problem);
/* Whether the column holds SQLite type `type` (sqlite3_column_type); a
 * NULL where allowed is FALSE without error, anything else fails the
 * reader with "holds <type>, expected <type_name>". */
gboolean      msr_db_reader_type      (MsrDbReader *r, int col, int type, gboolean nullable, const char *type_name);
/* Text (invalid UTF-8 is repaired rather than refused). NULL stays NULL. */
char         *msr_db_read_text        (MsrDbReader *r, int col, gboolean nullable);
/* A number; NULL reads as NaN. */
double        msr_db_read_real        (MsrDbReader *r, int col);
gint64        msr_db_read_int         (MsrDbReader *r, int col, gboolean nullable, gboolean *is_null);
/* A non-negative integer no larger than max; NULL reads as 0 if nullable. */
guint64       msr_db_read_count       (MsrDbReader *r, int col, gboolean nullable, guint64 max);
/* The blob's bytes (borrowed until the next step) and length; NULL when
 * the column is not a blob (an error unless nullable and NULL). */
const void   *msr_db_read_blob        (MsrDbReader *r, int col, gboolean nullable, gsize *len);
gboolean      msr_db_reader_finish    (MsrDbReader *r, GError **error);

/* "2024-05-01T12:34:56.789Z" */
char         *msr_db_format_time      (GDateTime *dt);

G_END_DECLS

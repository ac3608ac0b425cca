/* msr-db.c: see msr-db.h. Lifted from the results store, which was the
 * first of the engine's SQLite stores. */
#include "config.h"
#include "msr-db.h"

#include <gio/gio.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Errors                                                                 */

static int
error_code_for (int rc)
{
  switch (rc & 0xff)
    {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return MSR_ERROR_PARSE;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
      return MSR_ERROR_INVALID;
    default:
      return MSR_ERROR_IO;
    }
}

/* "<path>: <what>: <SQLite's message>" */
void
msr_db_set_sqlite_error (MsrDb       *self,
                         GError     **error,
                         int          rc,
                         const char  *format,
                         ...)
{
  g_autofree char *what = NULL;
  const char *msg = self->sqlite ? sqlite3_errmsg (self->sqlite) : sqlite3_errstr (rc);
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  if ((rc & 0xff) == SQLITE_READONLY)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_READ_ONLY, "%s: %s: %s", self->path, what,
                 msg);
  else
    g_set_error (error, MSR_ERROR, error_code_for (rc), "%s: %s: %s", self->path, what, msg);
}

void
msr_db_set_error (MsrDb       *self,
                  GError     **error,
                  int          code,
                  const char  *format,
                  ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, MSR_ERROR, code, "%s: %s", self->path, what);
}

/* ---------------------------------------------------------------------- */
/* Statements                                                             */

sqlite3_stmt *
msr_db_prepare (MsrDb       *self,
                const char  *sql,
                GError     **error)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2 (self->sqlite, sql, -1, &st, NULL);

  if (rc != SQLITE_OK)
    {
      msr_db_set_sqlite_error (self, error, rc, "cannot read the database");
      sqlite3_finalize (st);
      return NULL;
    }
  return st;
}

/* Runs a statement that returns no rows. */
gboolean
msr_db_step_done (MsrDb        *self,
                  sqlite3_stmt *st,
                  const char   *what,
                  GError      **error)
{
  int rc = sqlite3_step (st);

  if (rc == SQLITE_DONE)
    return TRUE;
  if (rc == SQLITE_ROW)
    {
      msr_db_set_error (self, error, MSR_ERROR_IO, "%s: unexpected result row", what);
      return FALSE;
    }
  msr_db_set_sqlite_error (self, error, rc, "%s", what);
  return FALSE;
}

/* Steps to the next row: 1 = row, 0 = done, -1 = error. */
int
msr_db_step_row (MsrDb        *self,
                 sqlite3_stmt *st,
                 const char   *what,
                 GError      **error)
{
  int rc = sqlite3_step (st);

  if (rc == SQLITE_ROW)
    return 1;
  if (rc == SQLITE_DONE)
    return 0;
  msr_db_set_sqlite_error (self, error, rc, "%s", what);
  return -1;
}

/* Fixed SQL only: never with user data (which is always bound). */
gboolean
msr_db_exec (MsrDb       *self,
             const char  *sql,
             const char  *what,
             GError     **error)
{
  int rc = sqlite3_exec (self->sqlite, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    {
      msr_db_set_sqlite_error (self, error, rc, "%s", what);
      return FALSE;
    }
  return TRUE;
}

void
msr_db_bind_text (sqlite3_stmt *st,
                  int           i,
                  const char   *s)
{
  if (s == NULL)
    sqlite3_bind_null (st, i);
  else
    sqlite3_bind_text (st, i, s, -1, SQLITE_TRANSIENT);
}

void
msr_db_bind_real (sqlite3_stmt *st,
                  int           i,
                  double        v)
{
  if (isnan (v))
    sqlite3_bind_null (st, i);
  else
    sqlite3_bind_double (st, i, v);
}

void
msr_db_bind_blob (sqlite3_stmt *st,
                  int           i,
                  const void   *data,
                  gsize         len)
{
  /* A NULL pointer would bind SQL NULL, not an empty blob. */
  if (len == 0)
    sqlite3_bind_zeroblob (st, i, 0);
  else
    sqlite3_bind_blob64 (st, i, data, len, SQLITE_STATIC);
}

/* ---------------------------------------------------------------------- */
/* Type-checked column reads: a hostile file may hold anything. The first
 * problem is kept in r->error and later reads do nothing.                */

static const char *
type_name (int type)
{
  switch (type)
    {
    case SQLITE_INTEGER: return "an integer";
    case SQLITE_FLOAT:   return "a real number";
    case SQLITE_TEXT:    return "text";
    case SQLITE_BLOB:    return "a blob";
    default:             return "NULL";
    }
}

void
msr_db_reader_fail (MsrDbReader     *r,
                    int         col,
                    const char *problem)
{
  if (r->error != NULL)
    return;
  if (r->id > 0)
    g_set_error (&r->error, MSR_ERROR, MSR_ERROR_PARSE,
                 "%s: table '%s', %s %" G_GINT64_FORMAT ": column '%s' %s", r->db->path,
                 r->table, r->id_noun ? r->id_noun : "run", r->id, sqlite3_column_name (r->st, col), problem);
  else
    g_set_error (&r->error, MSR_ERROR, MSR_ERROR_PARSE, "%s: table '%s': column '%s' %s",
                 r->db->path, r->table, sqlite3_column_name (r->st, col), problem);
}

gboolean
msr_db_reader_type (MsrDbReader     *r,
                    int         col,
                    int         want,
                    gboolean    nullable,
                    const char *want_name)
{
  int type;

  if (r->error != NULL)
    return FALSE;
  type = sqlite3_column_type (r->st, col);
  if (type == want || (nullable && type == SQLITE_NULL))
    return type == want;
  {
    g_autofree char *problem = g_strdup_printf ("holds %s, expected %s%s", type_name (type),
                                                want_name, nullable ? " or NULL" : "");
    msr_db_reader_fail (r, col, problem);
  }
  return FALSE;
}

/* Text (invalid UTF-8 is repaired rather than refused: a note edited by
 * another tool should not hide the run). NULL stays NULL. */
char *
msr_db_read_text (MsrDbReader  *r,
                  int      col,
                  gboolean nullable)
{
  const char *s;

  if (!msr_db_reader_type (r, col, SQLITE_TEXT, nullable, "text"))
    return NULL;
  s = (const char *) sqlite3_column_text (r->st, col);
  if (s == NULL)
    return g_strdup ("");
  return g_utf8_make_valid (s, -1);
}

double
msr_db_read_real (MsrDbReader *r,
                  int     col)
{
  int type;

  if (r->error != NULL)
    return NAN;
  type = sqlite3_column_type (r->st, col);
  if (type == SQLITE_NULL)
    return NAN;
  if (type == SQLITE_FLOAT || type == SQLITE_INTEGER)
    return sqlite3_column_double (r->st, col);
  msr_db_reader_type (r, col, SQLITE_FLOAT, TRUE, "a number");
  return NAN;
}

gint64
msr_db_read_int (MsrDbReader  *r,
                 int      col,
                 gboolean nullable,
                 gboolean *is_null)
{
  if (is_null)
    *is_null = TRUE;
  if (!msr_db_reader_type (r, col, SQLITE_INTEGER, nullable, "an integer"))
    return 0;
  if (is_null)
    *is_null = FALSE;
  return sqlite3_column_int64 (r->st, col);
}

/* A non-negative integer no larger than max; NULL reads as 0 if nullable. */
guint64
msr_db_read_count (MsrDbReader  *r,
                   int      col,
                   gboolean nullable,
                   guint64  max)
{
  gint64 v = msr_db_read_int (r, col, nullable, NULL);

  if (r->error == NULL && (v < 0 || (guint64) v > max))
    {
      g_autofree char *problem = g_strdup_printf ("holds %" G_GINT64_FORMAT
                                                  ", outside 0 to %" G_GUINT64_FORMAT,
                                                  v, max);
      msr_db_reader_fail (r, col, problem);
      return 0;
    }
  return (guint64) v;
}

gboolean
msr_db_reader_finish (MsrDbReader  *r,
                      GError **error)
{
  if (r->error != NULL)
    {
      g_propagate_error (error, r->error);
      r->error = NULL;
      return FALSE;
    }
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Transactions                                                           */

gboolean
msr_db_require_writable (MsrDb       *self,
                         GError     **error)
{
  if (self->mode == MSR_DB_READ_WRITE)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_READ_ONLY,
               "%s: cannot write: the %s was opened read-only", self->path, self->kind->noun);
  return FALSE;
}

/* IMMEDIATE takes the write lock now, so a concurrent writer makes us wait
 * (busy timeout) here instead of failing halfway through. */
gboolean
msr_db_begin_write (MsrDb       *self,
                    GError     **error)
{
  if (!msr_db_require_writable (self, error))
    return FALSE;
  return msr_db_exec (self, "BEGIN IMMEDIATE", "cannot start a transaction", error);
}

void
msr_db_rollback (MsrDb *self)
{
  if (!sqlite3_get_autocommit (self->sqlite))
    sqlite3_exec (self->sqlite, "ROLLBACK", NULL, NULL, NULL);
}

gboolean
msr_db_commit (MsrDb       *self,
               GError     **error)
{
  if (msr_db_exec (self, "COMMIT", "cannot commit the transaction", error))
    return TRUE;
  msr_db_rollback (self);
  return FALSE;
}

/* ---------------------------------------------------------------------- */
/* Opening                                                                */

gboolean
msr_db_pragma_int (MsrDb       *self,
                   const char  *sql,
                   gint64      *out,
                   GError     **error)
{
  g_autoptr(sqlite3_stmt) st = msr_db_prepare (self, sql, error);
  int rc;

  if (st == NULL)
    return FALSE;
  rc = msr_db_step_row (self, st, "cannot read the database header", error);
  if (rc < 0)
    return FALSE;
  *out = rc > 0 ? sqlite3_column_int64 (st, 0) : 0;
  return TRUE;
}

/* User tables (not SQLite's own), comma-separated, or NULL when none. */
static gboolean
list_tables (MsrDb       *self,
             char       **tables,
             GError     **error)
{
  g_autoptr(sqlite3_stmt) st = msr_db_prepare (self,
    "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
    "ESCAPE '\\' ORDER BY name", error);
  g_autoptr(GString) s = g_string_new (NULL);
  int rc;

  if (st == NULL)
    return FALSE;
  while ((rc = msr_db_step_row (self, st, "cannot read the database schema", error)) > 0)
    {
      const char *name = (const char *) sqlite3_column_text (st, 0);
      g_autofree char *valid = g_utf8_make_valid (name ? name : "", -1);

      if (s->len)
        g_string_append (s, ", ");
      if (s->len > 200)
        {
          g_string_append (s, "...");
          break;
        }
      g_string_append (s, valid);
    }
  if (rc < 0)
    return FALSE;
  *tables = s->len ? g_strdup (s->str) : NULL;
  return TRUE;
}

static gboolean
create_schema (MsrDb       *self,
               GError     **error)
{
  g_autoptr(sqlite3_stmt) meta = NULL;
  g_autofree char *now = NULL, *pragmas = NULL;
  g_autoptr(GDateTime) dt = g_date_time_new_now_utc ();
  const char *keys[3];
  const char *values[3];
  g_autofree char *tables_what = g_strdup_printf ("cannot create the %s tables", self->kind->short_noun);
  g_autofree char *version_text = g_strdup_printf ("%d", self->kind->schema_version);

  if (!msr_db_exec (self, self->kind->schema_sql, tables_what, error))
    return FALSE;
  /* PRAGMA values cannot be bound; these are our own constants. */
  pragmas = g_strdup_printf ("PRAGMA application_id = %d; PRAGMA user_version = %d",
                             self->kind->application_id, self->kind->schema_version);
  if (!msr_db_exec (self, pragmas, "cannot write the schema version", error))
    return FALSE;
  now = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
  keys[0] = "schema_version", values[0] = version_text;
  keys[1] = "created_by", values[1] = "MSR Lens " MSR_VERSION;
  keys[2] = "created_at", values[2] = now;
  meta = msr_db_prepare (self, "INSERT INTO meta (key, value) VALUES (?1, ?2)", error);
  if (meta == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      sqlite3_reset (meta);
      msr_db_bind_text (meta, 1, keys[i]);
      msr_db_bind_text (meta, 2, values[i]);
      if (!msr_db_step_done (self, meta, "cannot write the meta table", error))
        return FALSE;
    }
  return TRUE;
}

/* One upgrade step, from version `from` to from + 1, inside the open
 * transaction. */
static gboolean
migrate_step (MsrDb       *self,
              gint64       from,
              GError     **error)
{
  if (self->kind->migrate_step != NULL)
    return self->kind->migrate_step (self, from, error);
  msr_db_set_error (self, error, MSR_ERROR_SCHEMA, "no upgrade from %s schema version %" G_GINT64_FORMAT,
                    self->kind->short_noun, from);
  return FALSE;
}

static gboolean
migrate (MsrDb       *self,
         GError     **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  g_autofree char *pragma = g_strdup_printf ("PRAGMA user_version = %d", self->kind->schema_version);
  g_autofree char *version_text = g_strdup_printf ("%d", self->kind->schema_version);
  gint64 version;

  if (!msr_db_begin_write (self, error))
    return FALSE;
  /* Another process may have upgraded it meanwhile. */
  if (!msr_db_pragma_int (self, "PRAGMA user_version", &version, error))
    goto fail;
  for (; version < self->kind->schema_version; version++)
    if (!migrate_step (self, version, error))
      goto fail;
  if (!msr_db_exec (self, pragma, "cannot write the schema version", error))
    goto fail;
  st = msr_db_prepare (self, "INSERT OR REPLACE INTO meta (key, value) VALUES "
                      "('schema_version', ?1), ('migrated_by', ?2)", error);
  if (st == NULL)
    goto fail;
  msr_db_bind_text (st, 1, version_text);
  msr_db_bind_text (st, 2, "MSR Lens " MSR_VERSION);
  if (!msr_db_step_done (self, st, "cannot write the meta table", error))
    goto fail;
  return msr_db_commit (self, error);

fail:
  msr_db_rollback (self);
  return FALSE;
}

typedef struct {
  char *name, *type;
  int   notnull, pk;
} ColumnShape;

static void
column_shape_clear (ColumnShape *c)
{
  g_free (c->name);
  g_free (c->type);
}

/* The columns of a table as SQLite reports them, or NULL on error (an
 * empty array when the table does not exist). */
static GArray *
table_shape (sqlite3     *db,
             const char  *table,
             int         *rc_out)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  GArray *cols = g_array_new (FALSE, TRUE, sizeof (ColumnShape));
  int rc;

  g_array_set_clear_func (cols, (GDestroyNotify) column_shape_clear);
  rc = sqlite3_prepare_v2 (db, "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)",
                           -1, &st, NULL);
  if (rc == SQLITE_OK)
    {
      sqlite3_bind_text (st, 1, table, -1, SQLITE_STATIC);
      while ((rc = sqlite3_step (st)) == SQLITE_ROW)
        {
          ColumnShape c;
          const char *name = (const char *) sqlite3_column_text (st, 0);
          const char *type = (const char *) sqlite3_column_text (st, 1);

          c.name = g_utf8_make_valid (name ? name : "", -1);
          c.type = g_utf8_make_valid (type ? type : "", -1);
          c.notnull = sqlite3_column_int (st, 2);
          c.pk = sqlite3_column_int (st, 3);
          g_array_append_val (cols, c);
        }
      if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    }
  *rc_out = rc;
  if (rc != SQLITE_OK)
    {
      g_array_unref (cols);
      return NULL;
    }
  return cols;
}

/* Compares every table's columns with the schema this engine creates (built
 * once in memory, so the expectation cannot drift from schema_sql). */
static gboolean
check_shape (MsrDb       *self,
             GError     **error)
{
  sqlite3 *ref = NULL;
  gboolean ok = FALSE;
  int rc;

  rc = sqlite3_open_v2 (":memory:", &ref, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, NULL);
  if (rc != SQLITE_OK || sqlite3_exec (ref, self->kind->schema_sql, NULL, NULL, NULL) != SQLITE_OK)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot build the reference schema: %s",
                   self->path, ref ? sqlite3_errmsg (ref) : sqlite3_errstr (rc));
      goto out;
    }
  for (guint t = 0; self->kind->tables[t] != NULL; t++)
    {
      const char *table = self->kind->tables[t];
      g_autoptr(GArray) want = table_shape (ref, table, &rc);
      g_autoptr(GArray) have = NULL;

      g_assert (want != NULL && want->len > 0);
      have = table_shape (self->sqlite, table, &rc);
      if (have == NULL)
        {
          msr_db_set_sqlite_error (self, error, rc, "cannot read the columns of table '%s'", table);
          goto out;
        }
      if (have->len == 0)
        {
          msr_db_set_error (self, error, MSR_ERROR_SCHEMA,
                     "not a valid %s: table '%s' is missing", self->kind->noun, table);
          goto out;
        }
      /* Matched by name: statements name their columns, so order is free. */
      for (guint i = 0; i < want->len; i++)
        {
          const ColumnShape *w = &g_array_index (want, ColumnShape, i);
          const ColumnShape *h = NULL;

          for (guint j = 0; j < have->len && h == NULL; j++)
            if (strcmp (g_array_index (have, ColumnShape, j).name, w->name) == 0)
              h = &g_array_index (have, ColumnShape, j);
          if (h == NULL)
            msr_db_set_error (self, error, MSR_ERROR_SCHEMA,
                       "not a valid %s: table '%s' has no column '%s'",
                       self->kind->noun, table, w->name);
          else if (g_ascii_strcasecmp (w->type, h->type) != 0)
            msr_db_set_error (self, error, MSR_ERROR_SCHEMA,
                       "not a valid %s: column '%s' of table '%s' has type "
                       "'%s', expected %s", self->kind->noun, h->name, table, h->type, w->type);
          else if (w->notnull != h->notnull)
            msr_db_set_error (self, error, MSR_ERROR_SCHEMA,
                       "not a valid %s: column '%s' of table '%s' is %s, "
                       "expected %s", self->kind->noun, h->name, table, h->notnull ? "NOT NULL" : "nullable",
                       w->notnull ? "NOT NULL" : "nullable");
          else if (w->pk != h->pk)
            msr_db_set_error (self, error, MSR_ERROR_SCHEMA,
                       "not a valid %s: column '%s' of table '%s' is not part "
                       "of the primary key as expected", self->kind->noun, h->name, table);
          else
            continue;
          goto out;
        }
      if (have->len > want->len)
        for (guint j = 0; j < have->len; j++)
          {
            const ColumnShape *h = &g_array_index (have, ColumnShape, j);
            gboolean known = FALSE;

            for (guint i = 0; i < want->len && !known; i++)
              known = strcmp (g_array_index (want, ColumnShape, i).name, h->name) == 0;
            if (!known)
              {
                msr_db_set_error (self, error, MSR_ERROR_SCHEMA,
                           "not a valid %s: table '%s' has an unexpected "
                           "column '%s'", self->kind->noun, table, h->name);
                goto out;
              }
          }
    }
  ok = TRUE;

out:
  sqlite3_close (ref);
  return ok;
}

static gboolean
read_meta (MsrDb       *self,
           gint64       version,
           GError     **error)
{
  g_autoptr(sqlite3_stmt) st = msr_db_prepare (self, "SELECT key, value FROM meta", error);
  g_autofree char *schema_version = NULL;
  MsrDbReader r = { self, st, "meta", 0, NULL };
  int rc;

  if (st == NULL)
    return FALSE;
  while ((rc = msr_db_step_row (self, st, "cannot read table 'meta'", error)) > 0)
    {
      g_autofree char *key = msr_db_read_text (&r, 0, FALSE);
      g_autofree char *value = msr_db_read_text (&r, 1, FALSE);

      if (r.error != NULL)
        break;
      if (strcmp (key, "schema_version") == 0)
        {
          g_free (schema_version);
          schema_version = g_steal_pointer (&value);
        }
      else if (strcmp (key, "created_by") == 0)
        {
          g_free (self->created_by);
          self->created_by = g_steal_pointer (&value);
        }
    }
  if (rc < 0 || !msr_db_reader_finish (&r, error))
    return FALSE;
  if (schema_version == NULL)
    {
      msr_db_set_error (self, error, MSR_ERROR_SCHEMA,
                 "not a valid %s: table 'meta' has no schema_version", self->kind->noun);
      return FALSE;
    }
  if (g_ascii_strtoll (schema_version, NULL, 10) != version)
    {
      msr_db_set_error (self, error, MSR_ERROR_SCHEMA,
                 "not a valid %s: table 'meta' says schema version '%s' but the "
                 "file's user_version is %" G_GINT64_FORMAT, self->kind->noun, schema_version, version);
      return FALSE;
    }
  if (self->created_by == NULL)
    self->created_by = g_strdup ("unknown");
  return TRUE;
}

/* Identifies the file, creating or upgrading the schema when allowed. */
static gboolean
prepare_store (MsrDb   *self,
               GError **error)
{
  const MsrDbKind *k = self->kind;
  gint64 app_id, version, objects;
  g_autofree char *tables = NULL;

  /* The first statement reads the header: random bytes fail here. */
  if (!msr_db_pragma_int (self, "PRAGMA application_id", &app_id, error)
      || !msr_db_pragma_int (self, "PRAGMA user_version", &version, error)
      || !msr_db_pragma_int (self, "SELECT count(*) FROM sqlite_schema", &objects, error))
    return FALSE;

  if (app_id == 0 && version == 0 && objects == 0)
    {
      if (self->mode == MSR_DB_READ_ONLY)
        {
          msr_db_set_error (self, error, MSR_ERROR_SCHEMA, "not an MSR Lens %s (an empty database)", k->noun);
          return FALSE;
        }
      if (!msr_db_begin_write (self, error))
        return FALSE;
      /* Another process may have created it between our reads and the lock. */
      if (!msr_db_pragma_int (self, "SELECT count(*) FROM sqlite_schema", &objects, error))
        goto fail;
      if (objects == 0 && !create_schema (self, error))
        goto fail;
      if (!msr_db_commit (self, error))
        return FALSE;
      if (!msr_db_pragma_int (self, "PRAGMA application_id", &app_id, error)
          || !msr_db_pragma_int (self, "PRAGMA user_version", &version, error))
        return FALSE;
    }

  if (app_id != k->application_id)
    {
      if (!list_tables (self, &tables, error))
        return FALSE;
      msr_db_set_error (self, error, MSR_ERROR_SCHEMA,
                        "not an MSR Lens %s (SQLite application id 0x%08" G_GINT64_MODIFIER
                        "x, expected 0x%08x; tables: %s)", k->noun, app_id, (guint) k->application_id,
                        tables ? tables : "none");
      return FALSE;
    }
  if (version > k->schema_version)
    {
      msr_db_set_error (self, error, MSR_ERROR_SCHEMA,
                        "written by a newer MSR Lens (%s schema version %" G_GINT64_FORMAT
                        "; this version, %s, reads versions %d to %d)", k->short_noun, version, MSR_VERSION,
                        k->oldest_version, k->schema_version);
      return FALSE;
    }
  if (version < k->oldest_version)
    {
      msr_db_set_error (self, error, MSR_ERROR_SCHEMA, "unknown %s schema version %" G_GINT64_FORMAT,
                        k->short_noun, version);
      return FALSE;
    }
  if (version < k->schema_version)
    {
      if (self->mode == MSR_DB_READ_ONLY)
        {
          msr_db_set_error (self, error, MSR_ERROR_SCHEMA,
                            "%s schema version %" G_GINT64_FORMAT " needs an upgrade to "
                            "version %d: open it read-write once", k->short_noun, version, k->schema_version);
          return FALSE;
        }
      if (!migrate (self, error))
        return FALSE;
      version = k->schema_version;
    }
  return check_shape (self, error) && read_meta (self, version, error);

fail:
  msr_db_rollback (self);
  return FALSE;
}

gboolean
msr_db_open (MsrDb           *self,
             const char      *path,
             MsrDbMode        mode,
             const MsrDbKind *kind,
             GError         **error)
{
  g_autofree char *filename = NULL;
  int flags, rc;

  g_return_val_if_fail (self != NULL && path != NULL && kind != NULL, FALSE);
  g_return_val_if_fail (mode == MSR_DB_READ_ONLY || mode == MSR_DB_READ_WRITE, FALSE);

  self->path = g_strdup (path);
  self->mode = mode;
  self->kind = kind;

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      msr_db_set_error (self, error, MSR_ERROR_IO, "is a folder, not a %s", kind->noun);
      return FALSE;
    }
  if (mode == MSR_DB_READ_ONLY && !g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: %s", path, kind->missing);
      return FALSE;
    }

  /* This SQLite build interprets names starting with "file:" as URIs. */
  filename = g_str_has_prefix (path, "file:") ? g_strconcat ("./", path, NULL) : g_strdup (path);
  flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
  flags |= mode == MSR_DB_READ_ONLY ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  rc = sqlite3_open_v2 (filename, &self->sqlite, flags, NULL);
  if (rc != SQLITE_OK)
    {
      msr_db_set_sqlite_error (self, error, rc, "cannot open the %s", kind->noun);
      return FALSE;
    }
  sqlite3_extended_result_codes (self->sqlite, 1);
  sqlite3_busy_timeout (self->sqlite, MSR_DB_BUSY_TIMEOUT_MS);
  /* A hostile file's schema must not run code: no triggers (foreign-key
   * actions still run), no functions from the schema, no writable schema. */
  sqlite3_db_config (self->sqlite, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, (int *) NULL);
  sqlite3_db_config (self->sqlite, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *) NULL);
  sqlite3_db_config (self->sqlite, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *) NULL);
  sqlite3_db_config (self->sqlite, SQLITE_DBCONFIG_ENABLE_FKEY, 1, (int *) NULL);
  if (!msr_db_exec (self, "PRAGMA foreign_keys = ON; PRAGMA cell_size_check = ON",
                    "cannot configure the connection", error))
    return FALSE;
  return prepare_store (self, error);
}

void
msr_db_close (MsrDb *self)
{
  if (self == NULL)
    return;
  if (self->sqlite)
    sqlite3_close_v2 (self->sqlite);
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->created_by, g_free);
  self->sqlite = NULL;
}

gboolean
msr_db_check (MsrDb   *self,
              GError **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  g_autoptr(GString) problems = g_string_new (NULL);
  guint n = 0;
  int rc;

  g_return_val_if_fail (self != NULL, FALSE);
  st = msr_db_prepare (self, "PRAGMA quick_check(10)", error);
  if (st == NULL)
    return FALSE;
  while ((rc = msr_db_step_row (self, st, "the integrity check failed", error)) > 0)
    {
      const char *line = (const char *) sqlite3_column_text (st, 0);

      if (line == NULL || strcmp (line, "ok") == 0)
        continue;
      if (n++)
        g_string_append (problems, "; ");
      g_string_append (problems, line);
    }
  if (rc < 0)
    return FALSE;
  if (n > 0)
    {
      msr_db_set_error (self, error, MSR_ERROR_PARSE, "the file is damaged: %s", problems->str);
      return FALSE;
    }
  return TRUE;
}

const void *
msr_db_read_blob (MsrDbReader *r,
                  int          col,
                  gboolean     nullable,
                  gsize       *len)
{
  *len = 0;
  if (!msr_db_reader_type (r, col, SQLITE_BLOB, nullable, "a blob"))
    return NULL;
  *len = (gsize) sqlite3_column_bytes (r->st, col);
  /* An empty blob reads as NULL from SQLite: give a valid pointer. */
  const void *data = sqlite3_column_blob (r->st, col);
  return data ? data : "";
}

char *
msr_db_format_time (GDateTime *dt)
{
  g_autoptr(GDateTime) utc = g_date_time_to_utc (dt);

  return g_strdup_printf ("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", g_date_time_get_year (utc),
                          g_date_time_get_month (utc), g_date_time_get_day_of_month (utc),
                          g_date_time_get_hour (utc), g_date_time_get_minute (utc),
                          g_date_time_get_second (utc),
                          g_date_time_get_microsecond (utc) / 1000);
}

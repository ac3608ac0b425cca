/* msr-knowledge.c: the knowledge store (docs/FORMATS.md §11). */
#include "config.h"
#include "msr-json.h"
#include "msr-knowledge.h"
#include "msr-db.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#define OLDEST_SCHEMA_VERSION 1

struct _MsrKnowledge {
  MsrDb db;
};

/* Version 1. STRICT tables; the constraints repeat the C code's checks so
 * that other writers cannot store rows this engine would refuse. */
static const char schema_sql[] =
  "CREATE TABLE meta (\n"
  "  key   TEXT PRIMARY KEY NOT NULL,\n"
  "  value TEXT NOT NULL\n"
  ") STRICT;\n"
  "CREATE TABLE imports (\n"
  "  id            INTEGER PRIMARY KEY,\n"
  "  created_at    TEXT NOT NULL,\n"
  "  kind          TEXT NOT NULL CHECK (kind IN ('csv', 'batch', 'endpoint', 'derived', 'encoder')),\n"
  "  source        TEXT NOT NULL,\n"
  "  source_sha256 TEXT CHECK (source_sha256 IS NULL OR length(source_sha256) = 64),\n"
  "  llm           TEXT,\n"
  "  details       TEXT CHECK (details IS NULL OR substr(details, 1, 1) = '{'),\n"
  "  complete      INTEGER NOT NULL DEFAULT 0 CHECK (complete IN (0, 1))\n"
  ") STRICT;\n"
  "CREATE TABLE entries (\n"
  "  id               INTEGER PRIMARY KEY,\n"
  "  level            TEXT NOT NULL CHECK (level IN ('scenario', 'user', 'item')),\n"
  "  key              TEXT NOT NULL,\n"
  "  source           TEXT NOT NULL CHECK (length(source) > 0),\n"
  "  prompt           TEXT,\n"
  "  response         TEXT NOT NULL,\n"
  "  template         TEXT,\n"
  "  template_version INTEGER CHECK (template_version IS NULL OR template_version > 0),\n"
  "  llm              TEXT,\n"
  "  created_at       TEXT NOT NULL,\n"
  "  import_id        INTEGER NOT NULL REFERENCES imports (id),\n"
  "  UNIQUE (level, key, source)\n"
  ") STRICT;\n"
  "CREATE TABLE scenarios (\n"
  "  name     TEXT PRIMARY KEY NOT NULL,\n"
  "  position INTEGER NOT NULL UNIQUE CHECK (position >= 0)\n"
  ") STRICT;\n"
  "CREATE TABLE encoders (\n"
  "  name       TEXT PRIMARY KEY NOT NULL CHECK (length(name) > 0),\n"
  "  kind       TEXT NOT NULL CHECK (kind IN ('builtin', 'endpoint', 'imported')),\n"
  "  dim        INTEGER NOT NULL CHECK (dim > 0 AND dim <= 65536),\n"
  "  params     TEXT CHECK (params IS NULL OR substr(params, 1, 1) = '{'),\n"
  "  created_at TEXT NOT NULL\n"
  ") STRICT;\n"
  "CREATE TABLE embeddings (\n"
  "  entry_id INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,\n"
  "  encoder  TEXT NOT NULL REFERENCES encoders (name) ON DELETE CASCADE,\n"
  "  vector   BLOB NOT NULL,\n"
  "  PRIMARY KEY (entry_id, encoder)\n"
  ") STRICT;\n"
  "CREATE TABLE correlations (\n"
  "  source     TEXT NOT NULL CHECK (length(source) > 0),\n"
  "  a          TEXT NOT NULL,\n"
  "  b          TEXT NOT NULL,\n"
  "  value      REAL CHECK (value IS NULL OR (value >= -1.000001 AND value <= 1.000001)),\n"
  "  created_at TEXT NOT NULL,\n"
  "  PRIMARY KEY (source, a, b)\n"
  ") STRICT;\n"
  "CREATE INDEX embeddings_by_encoder ON embeddings (encoder);\n";

static const char * const schema_tables[] = {
  "meta", "imports", "entries", "scenarios", "encoders", "embeddings", "correlations", NULL
};

static const MsrDbKind knowledge_kind = {
  .noun = "knowledge store",
  .short_noun = "knowledge",
  .missing = "no knowledge yet (the file does not exist)",
  .application_id = MSR_KNOWLEDGE_APPLICATION_ID,
  .schema_version = MSR_KNOWLEDGE_SCHEMA_VERSION,
  .oldest_version = OLDEST_SCHEMA_VERSION,
  .schema_sql = schema_sql,
  .tables = schema_tables,
  .migrate_step = NULL,   /* version 1 is the first */
};

static const char * const level_names[MSR_KNOWLEDGE_N_LEVELS] = { "scenario", "user", "item" };

const char *
msr_knowledge_level_to_string (MsrKnowledgeLevel level)
{
  return (guint) level < MSR_KNOWLEDGE_N_LEVELS ? level_names[level] : "?";
}

gboolean
msr_knowledge_level_from_string (const char *s, MsrKnowledgeLevel *out)
{
  for (guint i = 0; i < MSR_KNOWLEDGE_N_LEVELS; i++)
    if (g_strcmp0 (s, level_names[i]) == 0)
      {
        *out = (MsrKnowledgeLevel) i;
        return TRUE;
      }
  return FALSE;
}

/* ---- opening -------------------------------------------------------------- */

MsrKnowledge *
msr_knowledge_open (const char *path, MsrKnowledgeMode mode, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (mode == MSR_KNOWLEDGE_READ_ONLY || mode == MSR_KNOWLEDGE_READ_WRITE, NULL);
  g_autoptr(MsrKnowledge) self = g_new0 (MsrKnowledge, 1);
  if (!msr_db_open (&self->db, path, mode == MSR_KNOWLEDGE_READ_ONLY ? MSR_DB_READ_ONLY : MSR_DB_READ_WRITE,
                    &knowledge_kind, error))
    return NULL;
  return g_steal_pointer (&self);
}

void
msr_knowledge_close (MsrKnowledge *self)
{
  if (self == NULL)
    return;
  msr_db_close (&self->db);
  g_free (self);
}

const char *
msr_knowledge_get_path (const MsrKnowledge *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->db.path;
}

gboolean
msr_knowledge_check (MsrKnowledge *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return msr_db_check (&self->db, error);
}

/* ---- argument checks ------------------------------------------------------ */

static gboolean
check_text (MsrKnowledge *self, const char *what, const char *s, gboolean nullable, GError **error)
{
  if (s == NULL && nullable)
    return TRUE;
  if (s == NULL)
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "%s: missing", what);
      return FALSE;
    }
  if (!g_utf8_validate (s, -1, NULL))
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "%s: not valid UTF-8", what);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_json_object (MsrKnowledge *self, const char *what, const char *json, GError **error)
{
  if (json == NULL)
    return TRUE;
  g_autoptr(JsonParser) parser = json_parser_new ();
  if (!check_text (self, what, json, FALSE, error))
    return FALSE;
  if (!msr_json_depth_ok (json, -1, MSR_JSON_MAX_DEPTH, NULL))
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "%s: JSON nested more than %d deep", what,
                        MSR_JSON_MAX_DEPTH);
      return FALSE;
    }
  if (!json_parser_load_from_data (parser, json, -1, NULL) || json_parser_get_root (parser) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "%s: not a JSON object", what);
      return FALSE;
    }
  return TRUE;
}

static char *
now_text (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  return msr_db_format_time (now);
}

/* ---- imports -------------------------------------------------------------- */

void
msr_knowledge_import_free (MsrKnowledgeImport *import)
{
  if (import == NULL)
    return;
  g_free (import->created_at);
  g_free (import->kind);
  g_free (import->source);
  g_free (import->source_sha256);
  g_free (import->llm);
  g_free (import->details);
  g_free (import);
}

static const char * const import_kinds[] = { "csv", "batch", "endpoint", "derived", "encoder", NULL };

gint64
msr_knowledge_begin_import (MsrKnowledge *self, const MsrKnowledgeImport *info, GError **error)
{
  g_return_val_if_fail (self != NULL && info != NULL, 0);
  if (info->kind == NULL || !g_strv_contains (import_kinds, info->kind))
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "import kind '%s' is not one of csv, batch, "
                        "endpoint, derived, encoder", info->kind ? info->kind : "(none)");
      return 0;
    }
  if (!check_text (self, "import source", info->source, FALSE, error) ||
      !check_text (self, "import LLM", info->llm, TRUE, error) ||
      !check_json_object (self, "import details", info->details, error))
    return 0;
  if (info->source_sha256 != NULL &&
      (strlen (info->source_sha256) != 64 || strspn (info->source_sha256, "0123456789abcdef") != 64))
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "import source_sha256 '%s' is not 64 lower-case "
                        "hex digits", info->source_sha256);
      return 0;
    }
  g_autoptr(sqlite3_stmt) find = NULL;
  g_autoptr(sqlite3_stmt) st = NULL;
  g_autofree char *now = now_text ();
  gint64 id;
  int rc;

  if (!msr_db_begin_write (&self->db, error))
    return 0;
  /* Resume: the newest unfinished import of the same input. */
  find = msr_db_prepare (&self->db,
      "SELECT id FROM imports WHERE complete = 0 AND kind = ?1 AND source = ?2 AND "
      "source_sha256 IS ?3 ORDER BY id DESC LIMIT 1", error);
  if (find == NULL)
    goto fail;
  msr_db_bind_text (find, 1, info->kind);
  msr_db_bind_text (find, 2, info->source);
  msr_db_bind_text (find, 3, info->source_sha256);
  rc = msr_db_step_row (&self->db, find, "cannot read table 'imports'", error);
  if (rc < 0)
    goto fail;
  if (rc > 0)
    {
      id = sqlite3_column_int64 (find, 0);
      if (!msr_db_commit (&self->db, error))
        return 0;
      return id;
    }

  st = msr_db_prepare (&self->db,
      "INSERT INTO imports (created_at, kind, source, source_sha256, llm, details, complete) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)", error);
  if (st == NULL)
    goto fail;
  msr_db_bind_text (st, 1, now);
  msr_db_bind_text (st, 2, info->kind);
  msr_db_bind_text (st, 3, info->source);
  msr_db_bind_text (st, 4, info->source_sha256);
  msr_db_bind_text (st, 5, info->llm);
  msr_db_bind_text (st, 6, info->details);
  if (!msr_db_step_done (&self->db, st, "cannot add the import", error))
    goto fail;
  id = sqlite3_last_insert_rowid (self->db.sqlite);
  if (!msr_db_commit (&self->db, error))
    return 0;
  return id;

fail:
  msr_db_rollback (&self->db);
  return 0;
}

gboolean
msr_knowledge_finish_import (MsrKnowledge *self, gint64 import_id, const char *details, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_autoptr(sqlite3_stmt) st = NULL;
  if (!check_json_object (self, "import details", details, error) || !msr_db_begin_write (&self->db, error))
    return FALSE;
  st = msr_db_prepare (&self->db,
      "UPDATE imports SET complete = 1, details = coalesce(?2, details) WHERE id = ?1", error);
  if (st == NULL)
    goto fail;
  sqlite3_bind_int64 (st, 1, import_id);
  msr_db_bind_text (st, 2, details);
  if (!msr_db_step_done (&self->db, st, "cannot finish the import", error))
    goto fail;
  if (sqlite3_changes (self->db.sqlite) != 1)
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "no import %" G_GINT64_FORMAT, import_id);
      goto fail;
    }
  return msr_db_commit (&self->db, error);

fail:
  msr_db_rollback (&self->db);
  return FALSE;
}

GPtrArray *
msr_knowledge_list_imports (MsrKnowledge *self, GError **error)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_autoptr(sqlite3_stmt) st = msr_db_prepare (&self->db,
      "SELECT id, created_at, kind, source, source_sha256, llm, details, complete FROM imports "
      "ORDER BY id DESC", error);
  if (st == NULL)
    return NULL;
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) msr_knowledge_import_free);
  MsrDbReader r = { &self->db, st, "imports", 0, "import", NULL };
  int rc;
  while ((rc = msr_db_step_row (&self->db, st, "cannot read table 'imports'", error)) > 0)
    {
      MsrKnowledgeImport *im = g_new0 (MsrKnowledgeImport, 1);
      g_ptr_array_add (out, im);
      im->id = msr_db_read_int (&r, 0, FALSE, NULL);
      im->created_at = msr_db_read_text (&r, 1, FALSE);
      im->kind = msr_db_read_text (&r, 2, FALSE);
      im->source = msr_db_read_text (&r, 3, FALSE);
      im->source_sha256 = msr_db_read_text (&r, 4, TRUE);
      im->llm = msr_db_read_text (&r, 5, TRUE);
      im->details = msr_db_read_text (&r, 6, TRUE);
      im->complete = msr_db_read_int (&r, 7, FALSE, NULL) != 0;
      if (r.error)
        break;
    }
  if (rc < 0 || !msr_db_reader_finish (&r, error))
    return NULL;
  return g_steal_pointer (&out);
}

/* ---- entries -------------------------------------------------------------- */

void
msr_knowledge_entry_free (MsrKnowledgeEntry *e)
{
  if (e == NULL)
    return;
  g_free (e->key);
  g_free (e->source);
  g_free (e->prompt);
  g_free (e->response);
  g_free (e->template_name);
  g_free (e->llm);
  g_free (e->created_at);
  g_free (e);
}

gboolean
msr_knowledge_flush_entries (MsrKnowledge *self, gint64 import_id, GArray *batch, guint *added, guint *already,
                             GError **error)
{
  guint n_added = 0, n_skipped = 0;
  gboolean ok = msr_knowledge_add_entries (self, import_id, (const MsrKnowledgeEntry *) batch->data, batch->len,
                                           &n_added, &n_skipped, error);
  *added += n_added;
  *already += n_skipped;
  g_array_set_size (batch, 0);
  return ok;
}

gboolean
msr_knowledge_add_entries (MsrKnowledge *self, gint64 import_id, const MsrKnowledgeEntry *entries, guint n,
                           guint *n_added, guint *n_skipped, GError **error)
{
  g_return_val_if_fail (self != NULL && (entries != NULL || n == 0), FALSE);
  guint added = 0, skipped = 0;
  if (n_added)
    *n_added = 0;
  if (n_skipped)
    *n_skipped = 0;
  for (guint i = 0; i < n; i++)
    {
      const MsrKnowledgeEntry *e = &entries[i];
      if ((guint) e->level >= MSR_KNOWLEDGE_N_LEVELS)
        {
          msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "entry %u: level %d is not a level", i,
                            (int) e->level);
          return FALSE;
        }
      if (!check_text (self, "entry key", e->key, FALSE, error) ||
          !check_text (self, "entry source", e->source, FALSE, error) ||
          !check_text (self, "entry response", e->response, FALSE, error) ||
          !check_text (self, "entry prompt", e->prompt, TRUE, error) ||
          !check_text (self, "entry template", e->template_name, TRUE, error) ||
          !check_text (self, "entry LLM", e->llm, TRUE, error))
        return FALSE;
      if (e->source[0] == '\0')
        {
          msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "entry %u (%s): empty source", i, e->key);
          return FALSE;
        }
    }
  g_autoptr(sqlite3_stmt) st = NULL;
  g_autofree char *now = now_text ();
  if (!msr_db_begin_write (&self->db, error))
    return FALSE;
  st = msr_db_prepare (&self->db,
      "INSERT INTO entries (level, key, source, prompt, response, template, template_version, llm, "
      "created_at, import_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
      "ON CONFLICT (level, key, source) DO NOTHING", error);
  if (st == NULL)
    goto fail;
  for (guint i = 0; i < n; i++)
    {
      const MsrKnowledgeEntry *e = &entries[i];
      sqlite3_reset (st);
      msr_db_bind_text (st, 1, level_names[e->level]);
      msr_db_bind_text (st, 2, e->key);
      msr_db_bind_text (st, 3, e->source);
      msr_db_bind_text (st, 4, e->prompt);
      msr_db_bind_text (st, 5, e->response);
      msr_db_bind_text (st, 6, e->template_name);
      if (e->template_version > 0)
        sqlite3_bind_int64 (st, 7, e->template_version);
      else
        sqlite3_bind_null (st, 7);
      msr_db_bind_text (st, 8, e->llm);
      msr_db_bind_text (st, 9, now);
      sqlite3_bind_int64 (st, 10, import_id);
      if (!msr_db_step_done (&self->db, st, "cannot add an entry", error))
        goto fail;
      if (sqlite3_changes (self->db.sqlite) == 1)
        added++;
      else
        skipped++;
    }
  if (!msr_db_commit (&self->db, error))
    return FALSE;
  if (n_added)
    *n_added = added;
  if (n_skipped)
    *n_skipped = skipped;
  return TRUE;

fail:
  msr_db_rollback (&self->db);
  return FALSE;
}

static MsrKnowledgeEntry *
read_entry (MsrDbReader *r, gboolean with_text)
{
  MsrKnowledgeEntry *e = g_new0 (MsrKnowledgeEntry, 1);
  e->id = msr_db_read_int (r, 0, FALSE, NULL);
  r->id = e->id;
  g_autofree char *level = msr_db_read_text (r, 1, FALSE);
  if (r->error == NULL && !msr_knowledge_level_from_string (level, &e->level))
    msr_db_reader_fail (r, 1, "holds a level that is not scenario, user or item");
  e->key = msr_db_read_text (r, 2, FALSE);
  e->source = msr_db_read_text (r, 3, FALSE);
  if (with_text)
    {
      e->prompt = msr_db_read_text (r, 4, TRUE);
      e->response = msr_db_read_text (r, 5, FALSE);
    }
  e->template_name = msr_db_read_text (r, 6, TRUE);
  e->template_version = (guint) msr_db_read_count (r, 7, TRUE, G_MAXUINT32);
  e->llm = msr_db_read_text (r, 8, TRUE);
  e->created_at = msr_db_read_text (r, 9, FALSE);
  e->import_id = msr_db_read_int (r, 10, FALSE, NULL);
  r->id = 0;
  return e;
}

#define ENTRY_COLUMNS "id, level, key, source, prompt, response, template, template_version, llm, " \
                      "created_at, import_id"
#define ENTRY_COLUMNS_NO_TEXT "id, level, key, source, NULL, NULL, template, template_version, llm, " \
                              "created_at, import_id"

GPtrArray *
msr_knowledge_list_entries (MsrKnowledge *self, int level, const char *source, gboolean with_text,
                            GError **error)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_autofree char *sql = g_strdup_printf ("SELECT %s FROM entries WHERE (?1 IS NULL OR level = ?1) AND "
                                          "(?2 IS NULL OR source = ?2) ORDER BY level, source, key",
                                          with_text ? ENTRY_COLUMNS : ENTRY_COLUMNS_NO_TEXT);
  g_autoptr(sqlite3_stmt) st = msr_db_prepare (&self->db, sql, error);
  if (st == NULL)
    return NULL;
  msr_db_bind_text (st, 1, level >= 0 && level < MSR_KNOWLEDGE_N_LEVELS ? level_names[level] : NULL);
  msr_db_bind_text (st, 2, source);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) msr_knowledge_entry_free);
  MsrDbReader r = { &self->db, st, "entries", 0, "entry", NULL };
  int rc;
  while ((rc = msr_db_step_row (&self->db, st, "cannot read table 'entries'", error)) > 0)
    {
      g_ptr_array_add (out, read_entry (&r, with_text));
      if (r.error)
        break;
    }
  if (rc < 0 || !msr_db_reader_finish (&r, error))
    return NULL;
  return g_steal_pointer (&out);
}

MsrKnowledgeEntry *
msr_knowledge_get_entry (MsrKnowledge *self, MsrKnowledgeLevel level, const char *key, const char *source,
                         GError **error)
{
  g_return_val_if_fail (self != NULL && key != NULL && (guint) level < MSR_KNOWLEDGE_N_LEVELS, NULL);
  g_autoptr(sqlite3_stmt) st = msr_db_prepare (&self->db,
      "SELECT " ENTRY_COLUMNS " FROM entries WHERE level = ?1 AND key = ?2 AND (?3 IS NULL OR source = ?3) "
      "ORDER BY source LIMIT 1", error);
  if (st == NULL)
    return NULL;
  msr_db_bind_text (st, 1, level_names[level]);
  msr_db_bind_text (st, 2, key);
  msr_db_bind_text (st, 3, source);
  int rc = msr_db_step_row (&self->db, st, "cannot read table 'entries'", error);
  if (rc <= 0)
    return NULL;
  MsrDbReader r = { &self->db, st, "entries", 0, "entry", NULL };
  g_autoptr(MsrKnowledgeEntry) e = read_entry (&r, TRUE);
  if (!msr_db_reader_finish (&r, error))
    return NULL;
  return g_steal_pointer (&e);
}

gboolean
msr_knowledge_delete_entries (MsrKnowledge *self, MsrKnowledgeLevel level, const char *source, guint *n_deleted,
                              GError **error)
{
  g_return_val_if_fail (self != NULL && source != NULL && (guint) level < MSR_KNOWLEDGE_N_LEVELS, FALSE);
  g_autoptr(sqlite3_stmt) st = NULL;
  if (!msr_db_begin_write (&self->db, error))
    return FALSE;
  st = msr_db_prepare (&self->db, "DELETE FROM entries WHERE level = ?1 AND source = ?2", error);
  if (st == NULL)
    goto fail;
  msr_db_bind_text (st, 1, level_names[level]);
  msr_db_bind_text (st, 2, source);
  if (!msr_db_step_done (&self->db, st, "cannot delete entries", error))
    goto fail;
  if (n_deleted)
    *n_deleted = (guint) sqlite3_changes (self->db.sqlite);
  return msr_db_commit (&self->db, error);

fail:
  msr_db_rollback (&self->db);
  return FALSE;
}

char **
msr_knowledge_list_sources (MsrKnowledge *self, MsrKnowledgeLevel level, GError **error)
{
  g_return_val_if_fail (self != NULL && (guint) level < MSR_KNOWLEDGE_N_LEVELS, NULL);
  g_autoptr(sqlite3_stmt) st = msr_db_prepare (&self->db,
      "SELECT source, count(*) FROM entries WHERE level = ?1 GROUP BY source ORDER BY source", error);
  if (st == NULL)
    return NULL;
  msr_db_bind_text (st, 1, level_names[level]);
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  MsrDbReader r = { &self->db, st, "entries", 0, NULL, NULL };
  int rc;
  while ((rc = msr_db_step_row (&self->db, st, "cannot read table 'entries'", error)) > 0)
    {
      g_autofree char *source = msr_db_read_text (&r, 0, FALSE);
      gint64 count = msr_db_read_int (&r, 1, FALSE, NULL);
      if (r.error)
        break;
      g_autofree char *line = g_strdup_printf ("%s\t%" G_GINT64_FORMAT, source, count);
      g_strv_builder_add (b, line);
    }
  if (rc < 0 || !msr_db_reader_finish (&r, error))
    return NULL;
  return g_strv_builder_end (b);
}

/* ---- scenarios ------------------------------------------------------------ */

gboolean
msr_knowledge_set_scenarios (MsrKnowledge *self, const char * const *names, guint n, GError **error)
{
  g_return_val_if_fail (self != NULL && (names != NULL || n == 0), FALSE);
  for (guint i = 0; i < n; i++)
    if (!check_text (self, "scenario name", names[i], FALSE, error))
      return FALSE;
  if (!msr_db_begin_write (&self->db, error))
    return FALSE;
  g_autoptr(sqlite3_stmt) st = NULL;
  if (!msr_db_exec (&self->db, "DELETE FROM scenarios", "cannot replace the scenarios", error))
    goto fail;
  st = msr_db_prepare (&self->db, "INSERT INTO scenarios (name, position) VALUES (?1, ?2)", error);
  if (st == NULL)
    goto fail;
  for (guint i = 0; i < n; i++)
    {
      sqlite3_reset (st);
      msr_db_bind_text (st, 1, names[i]);
      sqlite3_bind_int64 (st, 2, i);
      if (!msr_db_step_done (&self->db, st, "cannot add a scenario", error))
        goto fail;
    }
  return msr_db_commit (&self->db, error);

fail:
  msr_db_rollback (&self->db);
  return FALSE;
}

char **
msr_knowledge_get_scenarios (MsrKnowledge *self, GError **error)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_autoptr(sqlite3_stmt) st = msr_db_prepare (&self->db, "SELECT name FROM scenarios ORDER BY position", error);
  if (st == NULL)
    return NULL;
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  MsrDbReader r = { &self->db, st, "scenarios", 0, NULL, NULL };
  int rc;
  while ((rc = msr_db_step_row (&self->db, st, "cannot read table 'scenarios'", error)) > 0)
    {
      g_autofree char *name = msr_db_read_text (&r, 0, FALSE);
      if (r.error)
        break;
      g_strv_builder_add (b, name);
    }
  if (rc < 0 || !msr_db_reader_finish (&r, error))
    return NULL;
  return g_strv_builder_end (b);
}

/* ---- encoders and embeddings --------------------------------------------- */

void
msr_knowledge_encoder_free (MsrKnowledgeEncoder *e)
{
  if (e == NULL)
    return;
  g_free (e->name);
  g_free (e->kind);
  g_free (e->params);
  g_free (e->created_at);
  g_free (e);
}

gboolean
msr_knowledge_put_encoder (MsrKnowledge *self, const MsrKnowledgeEncoder *enc, GError **error)
{
  static const char * const kinds[] = { "builtin", "endpoint", "imported", NULL };
  g_return_val_if_fail (self != NULL && enc != NULL, FALSE);
  if (!check_text (self, "encoder name", enc->name, FALSE, error) ||
      !check_json_object (self, "encoder params", enc->params, error))
    return FALSE;
  if (enc->name[0] == '\0' || enc->kind == NULL || !g_strv_contains (kinds, enc->kind) || enc->dim == 0 ||
      enc->dim > 65536)
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "encoder '%s': needs a name, a kind (builtin, "
                        "endpoint or imported) and a dimension of 1 to 65536", enc->name);
      return FALSE;
    }
  g_autoptr(sqlite3_stmt) del = NULL;
  g_autoptr(sqlite3_stmt) st = NULL;
  g_autofree char *now = now_text ();
  if (!msr_db_begin_write (&self->db, error))
    return FALSE;
  /* Deleting the row drops its vectors (ON DELETE CASCADE). */
  del = msr_db_prepare (&self->db, "DELETE FROM encoders WHERE name = ?1", error);
  if (del == NULL)
    goto fail;
  msr_db_bind_text (del, 1, enc->name);
  if (!msr_db_step_done (&self->db, del, "cannot replace the encoder", error))
    goto fail;
  st = msr_db_prepare (&self->db,
      "INSERT INTO encoders (name, kind, dim, params, created_at) VALUES (?1, ?2, ?3, ?4, ?5)", error);
  if (st == NULL)
    goto fail;
  msr_db_bind_text (st, 1, enc->name);
  msr_db_bind_text (st, 2, enc->kind);
  sqlite3_bind_int64 (st, 3, enc->dim);
  msr_db_bind_text (st, 4, enc->params);
  msr_db_bind_text (st, 5, now);
  if (!msr_db_step_done (&self->db, st, "cannot add the encoder", error))
    goto fail;
  return msr_db_commit (&self->db, error);

fail:
  msr_db_rollback (&self->db);
  return FALSE;
}

GPtrArray *
msr_knowledge_list_encoders (MsrKnowledge *self, GError **error)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_autoptr(sqlite3_stmt) st = msr_db_prepare (&self->db,
      "SELECT e.name, e.kind, e.dim, e.params, e.created_at, "
      "(SELECT count(*) FROM embeddings v WHERE v.encoder = e.name) FROM encoders e ORDER BY e.name", error);
  if (st == NULL)
    return NULL;
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) msr_knowledge_encoder_free);
  MsrDbReader r = { &self->db, st, "encoders", 0, NULL, NULL };
  int rc;
  while ((rc = msr_db_step_row (&self->db, st, "cannot read table 'encoders'", error)) > 0)
    {
      MsrKnowledgeEncoder *e = g_new0 (MsrKnowledgeEncoder, 1);
      g_ptr_array_add (out, e);
      e->name = msr_db_read_text (&r, 0, FALSE);
      e->kind = msr_db_read_text (&r, 1, FALSE);
      e->dim = (guint) msr_db_read_count (&r, 2, FALSE, 65536);
      e->params = msr_db_read_text (&r, 3, TRUE);
      e->created_at = msr_db_read_text (&r, 4, FALSE);
      e->n_vectors = (guint) msr_db_read_count (&r, 5, FALSE, G_MAXUINT32);
      if (r.error)
        break;
    }
  if (rc < 0 || !msr_db_reader_finish (&r, error))
    return NULL;
  return g_steal_pointer (&out);
}

/* The encoder's dimension, or 0 with an error when it is not stored. */
static guint
encoder_dim (MsrKnowledge *self, const char *encoder, GError **error)
{
  g_autoptr(sqlite3_stmt) st = msr_db_prepare (&self->db, "SELECT dim FROM encoders WHERE name = ?1", error);
  if (st == NULL)
    return 0;
  msr_db_bind_text (st, 1, encoder);
  int rc = msr_db_step_row (&self->db, st, "cannot read table 'encoders'", error);
  if (rc < 0)
    return 0;
  if (rc == 0)
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "no encoder '%s'", encoder);
      return 0;
    }
  MsrDbReader r = { &self->db, st, "encoders", 0, NULL, NULL };
  guint dim = (guint) msr_db_read_count (&r, 0, FALSE, 65536);
  if (!msr_db_reader_finish (&r, error))
    return 0;
  if (dim == 0)
    msr_db_set_error (&self->db, error, MSR_ERROR_PARSE, "table 'encoders': encoder '%s' has dimension 0",
                      encoder);
  return dim;
}

/* float32 little-endian on disk, whatever the host. */
static void
pack_floats (const float *v, guint n, guint8 *out)
{
  for (guint i = 0; i < n; i++)
    {
      guint32 bits;
      memcpy (&bits, &v[i], 4);
      bits = GUINT32_TO_LE (bits);
      memcpy (out + 4 * (gsize) i, &bits, 4);
    }
}

static void
unpack_floats (const guint8 *in, guint n, float *out)
{
  for (guint i = 0; i < n; i++)
    {
      guint32 bits;
      memcpy (&bits, in + 4 * (gsize) i, 4);
      bits = GUINT32_FROM_LE (bits);
      memcpy (&out[i], &bits, 4);
    }
}

gboolean
msr_knowledge_put_embeddings (MsrKnowledge *self, const char *encoder, const gint64 *entry_ids,
                              const float *vectors, guint n, GError **error)
{
  g_return_val_if_fail (self != NULL && encoder != NULL && (n == 0 || (entry_ids && vectors)), FALSE);
  g_autoptr(sqlite3_stmt) st = NULL;
  g_autofree guint8 *blob = NULL;
  guint dim;
  if (!msr_db_begin_write (&self->db, error))
    return FALSE;
  dim = encoder_dim (self, encoder, error);
  if (dim == 0)
    goto fail;
  for (gsize i = 0; i < (gsize) n * dim; i++)
    if (!isfinite (vectors[i]))
      {
        msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "encoder '%s': vector %" G_GSIZE_FORMAT
                          " holds a value that is not finite", encoder, i / dim);
        goto fail;
      }
  st = msr_db_prepare (&self->db,
      "INSERT OR REPLACE INTO embeddings (entry_id, encoder, vector) VALUES (?1, ?2, ?3)", error);
  if (st == NULL)
    goto fail;
  blob = g_malloc (4 * (gsize) dim);
  for (guint i = 0; i < n; i++)
    {
      sqlite3_reset (st);
      pack_floats (vectors + (gsize) i * dim, dim, blob);
      sqlite3_bind_int64 (st, 1, entry_ids[i]);
      msr_db_bind_text (st, 2, encoder);
      msr_db_bind_blob (st, 3, blob, 4 * (gsize) dim);
      if (!msr_db_step_done (&self->db, st, "cannot add an embedding", error))
        goto fail;
    }
  return msr_db_commit (&self->db, error);

fail:
  msr_db_rollback (&self->db);
  return FALSE;
}

void
msr_knowledge_vectors_free (MsrKnowledgeVectors *v)
{
  if (v == NULL)
    return;
  g_free (v->encoder);
  g_free (v->source);
  g_strfreev (v->keys);
  g_free (v->entry_ids);
  g_free (v->vectors);
  g_free (v->fingerprint);
  g_free (v);
}

MsrKnowledgeVectors *
msr_knowledge_get_vectors (MsrKnowledge *self, MsrKnowledgeLevel level, const char *encoder, const char *source,
                           GError **error)
{
  g_return_val_if_fail (self != NULL && encoder != NULL && (guint) level < MSR_KNOWLEDGE_N_LEVELS, NULL);
  guint dim = encoder_dim (self, encoder, error);
  if (dim == 0)
    return NULL;
  g_autofree char *chosen = g_strdup (source);
  if (chosen == NULL)
    {
      /* The source with the most vectors of this encoder (ties: by name). */
      g_autoptr(sqlite3_stmt) pick = msr_db_prepare (&self->db,
          "SELECT e.source FROM embeddings v JOIN entries e ON e.id = v.entry_id "
          "WHERE v.encoder = ?1 AND e.level = ?2 GROUP BY e.source ORDER BY count(*) DESC, e.source LIMIT 1",
          error);
      if (pick == NULL)
        return NULL;
      msr_db_bind_text (pick, 1, encoder);
      msr_db_bind_text (pick, 2, level_names[level]);
      int rc = msr_db_step_row (&self->db, pick, "cannot read table 'embeddings'", error);
      if (rc <= 0)
        return NULL;
      MsrDbReader r = { &self->db, pick, "entries", 0, NULL, NULL };
      chosen = msr_db_read_text (&r, 0, FALSE);
      if (!msr_db_reader_finish (&r, error))
        return NULL;
    }
  g_autoptr(sqlite3_stmt) st = msr_db_prepare (&self->db,
      "SELECT e.id, e.key, v.vector FROM embeddings v JOIN entries e ON e.id = v.entry_id "
      "WHERE v.encoder = ?1 AND e.level = ?2 AND e.source = ?3 ORDER BY e.key", error);
  if (st == NULL)
    return NULL;
  msr_db_bind_text (st, 1, encoder);
  msr_db_bind_text (st, 2, level_names[level]);
  msr_db_bind_text (st, 3, chosen);

  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) vec = g_array_new (FALSE, FALSE, sizeof (float));
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, (const guchar *) encoder, strlen (encoder) + 1);
  g_checksum_update (sum, (const guchar *) level_names[level], strlen (level_names[level]) + 1);
  MsrDbReader r = { &self->db, st, "embeddings", 0, "entry", NULL };
  int rc;
  while ((rc = msr_db_step_row (&self->db, st, "cannot read table 'embeddings'", error)) > 0)
    {
      gint64 id = msr_db_read_int (&r, 0, FALSE, NULL);
      r.id = id;
      char *key = msr_db_read_text (&r, 1, FALSE);
      gsize len = 0;
      const guint8 *bytes = msr_db_read_blob (&r, 2, FALSE, &len);
      if (r.error == NULL && len != 4 * (gsize) dim)
        {
          g_autofree char *problem = g_strdup_printf ("holds %" G_GSIZE_FORMAT " bytes, expected %u float32 "
                                                      "values of encoder '%s'", len, dim, encoder);
          msr_db_reader_fail (&r, 2, problem);
        }
      if (r.error)
        {
          g_free (key);
          break;
        }
      g_ptr_array_add (keys, key);
      g_array_append_val (ids, id);
      guint at = vec->len;
      g_array_set_size (vec, at + dim);
      unpack_floats (bytes, dim, &g_array_index (vec, float, at));
      for (guint d = 0; d < dim; d++)
        if (!isfinite (g_array_index (vec, float, at + d)))
          {
            msr_db_reader_fail (&r, 2, "holds a value that is not finite");
            break;
          }
      g_checksum_update (sum, (const guchar *) key, strlen (key) + 1);
      g_checksum_update (sum, bytes, len);
      r.id = 0;
    }
  if (rc < 0 || !msr_db_reader_finish (&r, error))
    return NULL;
  if (keys->len == 0)
    return NULL;

  MsrKnowledgeVectors *v = g_new0 (MsrKnowledgeVectors, 1);
  v->level = level;
  v->encoder = g_strdup (encoder);
  v->source = g_steal_pointer (&chosen);
  v->n = keys->len;
  v->dim = dim;
  g_ptr_array_add (keys, NULL);
  v->keys = (char **) g_ptr_array_steal (keys, NULL);
  v->entry_ids = (gint64 *) g_array_steal (ids, NULL);
  v->vectors = (float *) g_array_steal (vec, NULL);
  v->fingerprint = g_strdup (g_checksum_get_string (sum));
  return v;
}

int
msr_knowledge_vectors_find (const MsrKnowledgeVectors *v, const char *key)
{
  /* keys are sorted by SQLite's BINARY collation: memcmp order. */
  guint lo = 0, hi = v->n;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      int c = strcmp (v->keys[mid], key);
      if (c == 0)
        return (int) mid;
      if (c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return -1;
}

guint
msr_knowledge_vectors_nearest (const MsrKnowledgeVectors *v, guint row, guint k, guint *rows, double *cosine)
{
  g_return_val_if_fail (v != NULL && row < v->n, 0);
  const guint d = v->dim;
  const float *a = v->vectors + (gsize) row * d;
  double na = 0;
  for (guint j = 0; j < d; j++)
    na += (double) a[j] * a[j];
  guint found = 0;
  if (na == 0 || k == 0)
    return 0;
  for (guint r = 0; r < v->n; r++)
    {
      if (r == row)
        continue;
      const float *b = v->vectors + (gsize) r * d;
      double dot = 0, nb = 0;
      for (guint j = 0; j < d; j++)
        dot += (double) a[j] * b[j], nb += (double) b[j] * b[j];
      if (nb == 0)
        continue;
      const double c = dot / sqrt (na * nb);
      /* Insert into the sorted top k. */
      guint at = found < k ? found : k;
      while (at > 0 && cosine[at - 1] < c)
        at--;
      if (at >= k)
        continue;
      for (guint i = MIN (found, k - 1); i > at; i--)
        rows[i] = rows[i - 1], cosine[i] = cosine[i - 1];
      rows[at] = r;
      cosine[at] = c;
      found = MIN (found + 1, k);
    }
  return found;
}

/* ---- scenario correlations ----------------------------------------------- */

gboolean
msr_knowledge_put_correlation (MsrKnowledge *self, const char *source, const char * const *names, guint n,
                               const double *values, GError **error)
{
  g_return_val_if_fail (self != NULL && (n == 0 || (names && values)), FALSE);
  if (!check_text (self, "correlation source", source, FALSE, error))
    return FALSE;
  for (gsize i = 0; i < (gsize) n * n; i++)
    if (!isnan (values[i]) && (values[i] < -1.000001 || values[i] > 1.000001))
      {
        msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "correlation '%s': %g is not in [-1, 1]", source,
                          values[i]);
        return FALSE;
      }
  for (guint i = 0; i < n; i++)
    if (!check_text (self, "scenario name", names[i], FALSE, error))
      return FALSE;
  g_autoptr(sqlite3_stmt) del = NULL;
  g_autoptr(sqlite3_stmt) st = NULL;
  g_autofree char *now = now_text ();
  if (!msr_db_begin_write (&self->db, error))
    return FALSE;
  del = msr_db_prepare (&self->db, "DELETE FROM correlations WHERE source = ?1", error);
  if (del == NULL)
    goto fail;
  msr_db_bind_text (del, 1, source);
  if (!msr_db_step_done (&self->db, del, "cannot replace the correlation", error))
    goto fail;
  st = msr_db_prepare (&self->db,
      "INSERT INTO correlations (source, a, b, value, created_at) VALUES (?1, ?2, ?3, ?4, ?5)", error);
  if (st == NULL)
    goto fail;
  for (guint a = 0; a < n; a++)
    for (guint b = 0; b < n; b++)
      {
        sqlite3_reset (st);
        msr_db_bind_text (st, 1, source);
        msr_db_bind_text (st, 2, names[a]);
        msr_db_bind_text (st, 3, names[b]);
        msr_db_bind_real (st, 4, values[(gsize) a * n + b]);
        msr_db_bind_text (st, 5, now);
        if (!msr_db_step_done (&self->db, st, "cannot add a correlation", error))
          goto fail;
      }
  return msr_db_commit (&self->db, error);

fail:
  msr_db_rollback (&self->db);
  return FALSE;
}

double *
msr_knowledge_get_correlation (MsrKnowledge *self, const char *source, const char * const *names, guint n,
                               GError **error)
{
  g_return_val_if_fail (self != NULL && source != NULL && (n == 0 || names), NULL);
  g_autoptr(sqlite3_stmt) st = msr_db_prepare (&self->db,
      "SELECT a, b, value FROM correlations WHERE source = ?1", error);
  if (st == NULL)
    return NULL;
  msr_db_bind_text (st, 1, source);
  g_autoptr(GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < n; i++)
    g_hash_table_insert (index, (gpointer) names[i], GUINT_TO_POINTER (i + 1));
  g_autofree double *m = g_new (double, MAX ((gsize) n * n, 1));
  for (gsize i = 0; i < (gsize) n * n; i++)
    m[i] = NAN;
  MsrDbReader r = { &self->db, st, "correlations", 0, NULL, NULL };
  gboolean any = FALSE;
  int rc;
  while ((rc = msr_db_step_row (&self->db, st, "cannot read table 'correlations'", error)) > 0)
    {
      g_autofree char *a = msr_db_read_text (&r, 0, FALSE);
      g_autofree char *b = msr_db_read_text (&r, 1, FALSE);
      double v = msr_db_read_real (&r, 2);
      if (r.error)
        break;
      any = TRUE;
      guint ia = GPOINTER_TO_UINT (g_hash_table_lookup (index, a));
      guint ib = GPOINTER_TO_UINT (g_hash_table_lookup (index, b));
      if (ia && ib)
        m[(gsize) (ia - 1) * n + (ib - 1)] = v;
    }
  if (rc < 0 || !msr_db_reader_finish (&r, error) || !any)
    return NULL;
  return g_steal_pointer (&m);
}

char **
msr_knowledge_list_correlation_sources (MsrKnowledge *self, GError **error)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_autoptr(sqlite3_stmt) st = msr_db_prepare (&self->db,
      "SELECT DISTINCT source FROM correlations ORDER BY source", error);
  if (st == NULL)
    return NULL;
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  MsrDbReader r = { &self->db, st, "correlations", 0, NULL, NULL };
  int rc;
  while ((rc = msr_db_step_row (&self->db, st, "cannot read table 'correlations'", error)) > 0)
    {
      g_autofree char *s = msr_db_read_text (&r, 0, FALSE);
      if (r.error)
        break;
      g_strv_builder_add (b, s);
    }
  if (rc < 0 || !msr_db_reader_finish (&r, error))
    return NULL;
  return g_strv_builder_end (b);
}

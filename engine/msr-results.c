/* msr-results.c: the results store (docs/FORMATS.md §9). */
#include "config.h"
#include "msr-json.h"
#include "msr-results.h"
#include "msr-db.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <string.h>

/* Oldest schema version this engine can migrate from. */
#define OLDEST_SCHEMA_VERSION 1

struct _MsrResults {
  MsrDb db;
};

/* Version 1. Tables are STRICT (SQLite >= 3.37) so a column only ever holds
 * its declared type or NULL. Constraints repeat the checks the C code makes,
 * so that other writers cannot store rows this engine would refuse. */
static const char schema_sql[] =
  "CREATE TABLE meta (\n"
  "  key   TEXT PRIMARY KEY NOT NULL,\n"
  "  value TEXT NOT NULL\n"
  ") STRICT, WITHOUT ROWID;\n"
  "CREATE TABLE runs (\n"
  "  id                  INTEGER PRIMARY KEY AUTOINCREMENT,\n"
  "  created_at          TEXT NOT NULL,\n"
  "  name                TEXT NOT NULL CHECK (length(name) > 0),\n"
  "  kind                TEXT NOT NULL CHECK (length(kind) > 0),\n"
  "  model_path          TEXT,\n"
  "  model_sha256        TEXT,\n"
  "  architecture        TEXT,\n"
  "  config_json         TEXT,\n"
  "  dataset_fingerprint TEXT,\n"
  "  split               TEXT,\n"
  "  seed                INTEGER,\n"
  "  threads             INTEGER CHECK (threads > 0),\n"
  "  engine_version      TEXT NOT NULL,\n"
  "  notes               TEXT,\n"
  "  has_users           INTEGER CHECK (has_users IN (0, 1)),\n"
  "  logloss_epsilon     REAL,\n"
  "  CHECK ((has_users IS NULL) = (logloss_epsilon IS NULL))\n"
  ") STRICT;\n"
  "CREATE INDEX runs_by_time ON runs (created_at, id);\n"
  "CREATE TABLE run_metrics (\n"
  "  run_id            INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,\n"
  "  scope             TEXT NOT NULL\n"
  "                    CHECK (scope IN ('overall', 'scenario', 'macro', 'weighted')),\n"
  "  scenario          TEXT,\n"
  "  scenario_index    INTEGER CHECK (scenario_index >= 0),\n"
  "  n                 INTEGER NOT NULL CHECK (n >= 0),\n"
  "  positives         INTEGER NOT NULL CHECK (positives BETWEEN 0 AND n),\n"
  "  auc               REAL,\n"
  "  logloss           REAL,\n"
  "  gauc              REAL,\n"
  "  gauc_click        REAL,\n"
  "  gauc_users_kept   INTEGER NOT NULL CHECK (gauc_users_kept >= 0),\n"
  "  gauc_users        INTEGER NOT NULL CHECK (gauc_users >= 0),\n"
  "  gauc_rows_kept    INTEGER NOT NULL CHECK (gauc_rows_kept >= 0),\n"
  "  gauc_rows         INTEGER NOT NULL CHECK (gauc_rows >= 0),\n"
  "  auc_scenarios     INTEGER CHECK (auc_scenarios >= 0),\n"
  "  logloss_scenarios INTEGER CHECK (logloss_scenarios >= 0),\n"
  "  gauc_scenarios    INTEGER CHECK (gauc_scenarios >= 0),\n"
  "  ci_level          REAL CHECK (ci_level > 0 AND ci_level < 1),\n"
  "  ci_replicates     INTEGER CHECK (ci_replicates > 0),\n"
  "  ci_seed           INTEGER,\n"
  "  auc_lo            REAL,\n"
  "  auc_hi            REAL,\n"
  "  auc_ci_n          INTEGER CHECK (auc_ci_n >= 0),\n"
  "  gauc_lo           REAL,\n"
  "  gauc_hi           REAL,\n"
  "  gauc_ci_n         INTEGER CHECK (gauc_ci_n >= 0),\n"
  "  CHECK ((scope = 'scenario') = (scenario IS NOT NULL)),\n"
  "  CHECK ((scenario IS NULL) = (scenario_index IS NULL)),\n"
  "  CHECK ((scope IN ('macro', 'weighted'))\n"
  "         = (auc_scenarios IS NOT NULL AND logloss_scenarios IS NOT NULL\n"
  "            AND gauc_scenarios IS NOT NULL)),\n"
  "  CHECK ((ci_level IS NULL) = (ci_replicates IS NULL)),\n"
  "  CHECK ((ci_level IS NULL) = (ci_seed IS NULL)),\n"
  "  CHECK ((ci_level IS NULL) = (auc_ci_n IS NULL)),\n"
  "  CHECK (ci_level IS NULL OR scope IN ('overall', 'scenario'))\n"
  ") STRICT;\n"
  "CREATE UNIQUE INDEX run_metrics_key ON run_metrics (run_id, scope, ifnull(scenario, ''));\n"
  "CREATE TABLE epochs (\n"
  "  run_id        INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,\n"
  "  epoch         INTEGER NOT NULL CHECK (epoch >= 0),\n"
  "  train_loss    REAL,\n"
  "  valid_auc     REAL,\n"
  "  valid_logloss REAL,\n"
  "  valid_gauc    REAL,\n"
  "  seconds       REAL CHECK (seconds >= 0),\n"
  "  PRIMARY KEY (run_id, epoch)\n"
  ") STRICT, WITHOUT ROWID;\n"
  "CREATE TABLE epoch_scenarios (\n"
  "  run_id         INTEGER NOT NULL,\n"
  "  epoch          INTEGER NOT NULL,\n"
  "  scenario_index INTEGER NOT NULL CHECK (scenario_index >= 0),\n"
  "  scenario       TEXT NOT NULL,\n"
  "  valid_auc      REAL,\n"
  "  valid_logloss  REAL,\n"
  "  PRIMARY KEY (run_id, epoch, scenario_index),\n"
  "  UNIQUE (run_id, epoch, scenario),\n"
  "  FOREIGN KEY (run_id, epoch) REFERENCES epochs (run_id, epoch) ON DELETE CASCADE\n"
  ") STRICT, WITHOUT ROWID;\n"
  "CREATE TABLE predictions (\n"
  "  run_id         INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,\n"
  "  n              INTEGER NOT NULL CHECK (n >= 0),\n"
  "  scores         BLOB NOT NULL CHECK (length(scores) = 4 * n),\n"
  "  labels         BLOB CHECK (length(labels) = n),\n"
  "  scenarios      BLOB,\n"
  "  scenario_width INTEGER CHECK (scenario_width IN (1, 2, 4)),\n"
  "  users          BLOB,\n"
  "  user_width     INTEGER CHECK (user_width IN (1, 2, 4)),\n"
  "  CHECK ((scenarios IS NULL) = (scenario_width IS NULL)),\n"
  "  CHECK (length(scenarios) = scenario_width * n),\n"
  "  CHECK ((users IS NULL) = (user_width IS NULL)),\n"
  "  CHECK (length(users) = user_width * n)\n"
  ") STRICT;\n"
  "CREATE TABLE prediction_names (\n"
  "  run_id INTEGER NOT NULL REFERENCES predictions (run_id) ON DELETE CASCADE,\n"
  "  field  TEXT NOT NULL CHECK (field IN ('scenario', 'user')),\n"
  "  code   INTEGER NOT NULL CHECK (code >= 0),\n"
  "  name   TEXT NOT NULL,\n"
  "  PRIMARY KEY (run_id, field, code)\n"
  ") STRICT, WITHOUT ROWID;\n";

/* The tables whose columns are checked on open, in schema order. */
static const char * const schema_tables[] = {
  "meta", "runs", "run_metrics", "epochs", "epoch_scenarios", "predictions",
  "prediction_names", NULL
};

/* Counts are unsigned 64-bit in memory, signed 64-bit in SQLite. */
static gboolean
count_fits (guint64 v)
{
  return v <= (guint64) G_MAXINT64;
}


/* ---------------------------------------------------------------------- */
/* Opening                                                                */

static const MsrDbKind results_kind = {
  .noun = "results store",
  .short_noun = "results",
  .missing = "no results yet (the file does not exist)",
  .application_id = MSR_RESULTS_APPLICATION_ID,
  .schema_version = MSR_RESULTS_SCHEMA_VERSION,
  .oldest_version = OLDEST_SCHEMA_VERSION,
  .schema_sql = schema_sql,
  .tables = schema_tables,
  .migrate_step = NULL,   /* version 1 is the first */
};

MsrResults *
msr_results_open (const char      *path,
                  MsrResultsMode   mode,
                  GError         **error)
{
  g_autoptr(MsrResults) self = g_new0 (MsrResults, 1);

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (mode == MSR_RESULTS_READ_ONLY || mode == MSR_RESULTS_READ_WRITE, NULL);
  if (!msr_db_open (&self->db, path, mode == MSR_RESULTS_READ_ONLY ? MSR_DB_READ_ONLY : MSR_DB_READ_WRITE,
                    &results_kind, error))
    return NULL;
  return g_steal_pointer (&self);
}

void
msr_results_close (MsrResults *self)
{
  if (self == NULL)
    return;
  msr_db_close (&self->db);
  g_free (self);
}

const char *
msr_results_get_path (const MsrResults *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->db.path;
}

const char *
msr_results_get_created_by (const MsrResults *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->db.created_by;
}

gboolean
msr_results_check (MsrResults  *self,
                   GError     **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return msr_db_check (&self->db, error);
}

/* ---------------------------------------------------------------------- */
/* Runs                                                                   */

void
msr_results_run_info_free (MsrRunInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->created_at);
  g_free (info->name);
  g_free (info->kind);
  g_free (info->model_path);
  g_free (info->model_sha256);
  g_free (info->architecture);
  g_free (info->config_json);
  g_free (info->dataset_fingerprint);
  g_free (info->split);
  g_free (info->engine_version);
  g_free (info->notes);
  g_free (info);
}

/* Fixed width, so text order is time order. */
static gboolean
check_utf8 (MsrResults  *self,
            const char  *field,
            const char  *value,
            GError     **error)
{
  if (value == NULL || g_utf8_validate (value, -1, NULL))
    return TRUE;
  msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "%s is not valid UTF-8", field);
  return FALSE;
}

/* NULL stays NULL; otherwise 64 hex digits, returned lower-case. */
static gboolean
check_sha256 (MsrResults  *self,
              const char  *field,
              const char  *value,
              char       **out,
              GError     **error)
{
  *out = NULL;
  if (value == NULL)
    return TRUE;
  if (strlen (value) == 64)
    {
      gboolean hex = TRUE;

      for (guint i = 0; i < 64; i++)
        hex = hex && g_ascii_isxdigit (value[i]);
      if (hex)
        {
          *out = g_ascii_strdown (value, -1);
          return TRUE;
        }
    }
  if (!check_utf8 (self, field, value, error))
    return FALSE;
  msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "%s '%s' is not a SHA-256 (64 hex digits)",
             field, value);
  return FALSE;
}

static gboolean
run_exists (MsrResults  *self,
            gint64       run_id,
            GError     **error)
{
  g_autoptr(sqlite3_stmt) st = msr_db_prepare (&self->db, "SELECT 1 FROM runs WHERE id = ?1", error);
  int rc;

  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, run_id);
  rc = msr_db_step_row (&self->db, st, "cannot read table 'runs'", error);
  if (rc == 0)
    msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "run %" G_GINT64_FORMAT " does not exist",
               run_id);
  return rc > 0;
}

/* ---- metrics rows ---- */

static const char *scope_names[] = { "overall", "scenario", "macro", "weighted" };

#define METRICS_COLUMNS                                                              \
  "scope, scenario, scenario_index, n, positives, auc, logloss, gauc, gauc_click, "  \
  "gauc_users_kept, gauc_users, gauc_rows_kept, gauc_rows, auc_scenarios, "          \
  "logloss_scenarios, gauc_scenarios, ci_level, ci_replicates, ci_seed, auc_lo, "    \
  "auc_hi, auc_ci_n, gauc_lo, gauc_hi, gauc_ci_n"

static gboolean
insert_metrics_row (MsrResults             *self,
                    sqlite3_stmt           *st,
                    gint64                  run_id,
                    MsrResultsScope         scope,
                    const char             *scenario,
                    int                     scenario_index,
                    const MsrMetrics       *m,
                    const MsrComparison    *ci,
                    const MsrComparisonRow *ci_row,
                    GError                **error)
{
  gboolean mean = scope == MSR_RESULTS_SCOPE_MACRO || scope == MSR_RESULTS_SCOPE_WEIGHTED;
  const char *label = scenario ? scenario : scope_names[scope];

  if (!count_fits (m->n) || !count_fits (m->gauc_users) || !count_fits (m->gauc_rows))
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "metrics of '%s': counts are too large",
                 label);
      return FALSE;
    }
  sqlite3_reset (st);
  sqlite3_clear_bindings (st);
  sqlite3_bind_int64 (st, 1, run_id);
  msr_db_bind_text (st, 2, scope_names[scope]);
  msr_db_bind_text (st, 3, scenario);
  if (scenario != NULL)
    sqlite3_bind_int (st, 4, scenario_index);
  sqlite3_bind_int64 (st, 5, (gint64) m->n);
  sqlite3_bind_int64 (st, 6, (gint64) m->positives);
  msr_db_bind_real (st, 7, m->auc_defined ? m->auc : NAN);
  msr_db_bind_real (st, 8, m->logloss_defined ? m->logloss : NAN);
  msr_db_bind_real (st, 9, m->gauc_defined ? m->gauc : NAN);
  msr_db_bind_real (st, 10, m->gauc_defined ? m->gauc_click : NAN);
  sqlite3_bind_int64 (st, 11, (gint64) m->gauc_users_kept);
  sqlite3_bind_int64 (st, 12, (gint64) m->gauc_users);
  sqlite3_bind_int64 (st, 13, (gint64) m->gauc_rows_kept);
  sqlite3_bind_int64 (st, 14, (gint64) m->gauc_rows);
  if (mean)
    {
      sqlite3_bind_int64 (st, 15, m->auc_scenarios);
      sqlite3_bind_int64 (st, 16, m->logloss_scenarios);
      sqlite3_bind_int64 (st, 17, m->gauc_scenarios);
    }
  if (ci_row != NULL)
    {
      sqlite3_bind_double (st, 18, ci->level);
      sqlite3_bind_int64 (st, 19, ci->replicates);
      /* The seed's 64 bits, read as a signed integer. */
      sqlite3_bind_int64 (st, 20, (gint64) ci->seed);
      msr_db_bind_real (st, 21, ci_row->ci_auc_a.lo);
      msr_db_bind_real (st, 22, ci_row->ci_auc_a.hi);
      sqlite3_bind_int64 (st, 23, ci_row->ci_auc_a.n_defined);
      if (ci_row->has_gauc)
        {
          msr_db_bind_real (st, 24, ci_row->ci_gauc_a.lo);
          msr_db_bind_real (st, 25, ci_row->ci_gauc_a.hi);
          sqlite3_bind_int64 (st, 26, ci_row->ci_gauc_a.n_defined);
        }
    }
  if (!msr_db_step_done (&self->db, st, "cannot store the metrics", error))
    {
      GError *e = error ? *error : NULL;

      if (e != NULL && sqlite3_extended_errcode (self->db.sqlite) == SQLITE_CONSTRAINT_UNIQUE)
        {
          g_clear_error (error);
          msr_db_set_error (&self->db, error, MSR_ERROR_INVALID,
                     "the metrics name scenario '%s' more than once", label);
        }
      return FALSE;
    }
  return TRUE;
}

/* The interval row for a scenario (matched by name) or the overall row,
 * checked to describe the same rows; *row = NULL when there is none. */
static gboolean
match_interval (MsrResults              *self,
                const MsrComparison     *ci,
                const char              *scenario,
                const MsrMetrics        *m,
                const MsrComparisonRow **row,
                GError                 **error)
{
  const MsrComparisonRow *r = NULL;

  *row = NULL;
  if (ci == NULL || ci->replicates == 0)
    return TRUE;
  if (scenario == NULL)
    r = &ci->overall;
  else
    for (guint i = 0; i < ci->n_scenarios && r == NULL; i++)
      if (ci->scenarios[i].name && strcmp (ci->scenarios[i].name, scenario) == 0)
        r = &ci->scenarios[i];
  if (r == NULL)
    return TRUE;
  if (r->n != m->n || r->positives != m->positives)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH,
                   "%s: the intervals were computed on other rows than the metrics (%s: %"
                   G_GUINT64_FORMAT " rows, %" G_GUINT64_FORMAT " positives in the intervals; %"
                   G_GUINT64_FORMAT " rows, %" G_GUINT64_FORMAT " positives in the metrics)",
                   self->db.path, scenario ? scenario : "overall", r->n, r->positives, m->n,
                   m->positives);
      return FALSE;
    }
  *row = r;
  return TRUE;
}

static gboolean
insert_metrics (MsrResults          *self,
                gint64               run_id,
                const MsrEvalResult *res,
                const MsrComparison *ci,
                GError             **error)
{
  g_autoptr(sqlite3_stmt) st = msr_db_prepare (&self->db,
    "INSERT INTO run_metrics (run_id, " METRICS_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
    "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, "
    "?25, ?26)", error);
  const MsrComparisonRow *row;

  if (st == NULL)
    return FALSE;
  if (!match_interval (self, ci, NULL, &res->overall, &row, error)
      || !insert_metrics_row (self, st, run_id, MSR_RESULTS_SCOPE_OVERALL, NULL, 0,
                              &res->overall, ci, row, error))
    return FALSE;
  for (guint s = 0; s < res->n_scenarios; s++)
    {
      const char *name = res->scenario_names[s];

      if (!match_interval (self, ci, name, &res->scenarios[s], &row, error)
          || !insert_metrics_row (self, st, run_id, MSR_RESULTS_SCOPE_SCENARIO, name, (int) s,
                                  &res->scenarios[s], ci, row, error))
        return FALSE;
    }
  if (!insert_metrics_row (self, st, run_id, MSR_RESULTS_SCOPE_MACRO, NULL, 0, &res->macro,
                           NULL, NULL, error)
      || !insert_metrics_row (self, st, run_id, MSR_RESULTS_SCOPE_WEIGHTED, NULL, 0,
                              &res->weighted, NULL, NULL, error))
    return FALSE;

  /* Every interval row must have found its scenario (empty ones aside). */
  for (guint i = 0; ci != NULL && ci->replicates > 0 && i < ci->n_scenarios; i++)
    {
      const MsrComparisonRow *r = &ci->scenarios[i];

      if (r->n > 0 && (r->name == NULL || msr_eval_result_find_scenario (res, r->name) < 0))
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH,
                       "%s: the intervals have a scenario '%s' that the metrics do not have",
                       self->db.path, r->name ? r->name : "(unnamed)");
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
check_metrics_args (MsrResults          *self,
                    const MsrEvalResult *res,
                    const MsrComparison *ci,
                    GError             **error)
{
  if (ci != NULL && res == NULL)
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "intervals need metrics to belong to");
      return FALSE;
    }
  if (ci != NULL && ci->paired)
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID,
                 "the intervals compare two models: a run stores single-model intervals "
                 "(b = NULL)");
      return FALSE;
    }
  if (ci != NULL && ci->replicates > 0 && !(ci->level > 0 && ci->level < 1))
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "interval level %g is not in (0, 1)",
                 ci->level);
      return FALSE;
    }
  if (res == NULL)
    return TRUE;
  if (res->n_scenarios > G_MAXINT)
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "too many scenarios");
      return FALSE;
    }
  for (guint s = 0; s < res->n_scenarios; s++)
    {
      const char *name = res->scenario_names ? res->scenario_names[s] : NULL;

      if (name == NULL)
        {
          msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "scenario %u of the metrics has no name",
                     s);
          return FALSE;
        }
      if (!check_utf8 (self, "a scenario name", name, error))
        return FALSE;
    }
  return TRUE;
}

char *
msr_results_default_run_name (const MsrRunInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  const char *kind = info->kind ? info->kind : "run";
  if (info->model_path != NULL && info->model_path[0] != '\0')
    {
      /* The model file's name says which model; the kind says what was done. */
      g_autofree char *base = g_path_get_basename (info->model_path);
      char *dot = g_str_has_suffix (base, ".safetensors") ? strrchr (base, '.') : NULL;
      if (dot != NULL)
        *dot = '\0';
      return g_strdup_printf ("%s %s", base, kind);
    }
  if (info->architecture != NULL && info->architecture[0] != '\0')
    return g_strdup_printf ("%s %s", info->architecture, kind);
  const char *at = info->created_at ? info->created_at : "";
  return g_strdup_printf ("%s %.10s %.8s", kind, at, strlen (at) > 11 ? at + 11 : "");
}

gint64
msr_results_add_run (MsrResults          *self,
                     const MsrRunInfo    *info,
                     const MsrEvalResult *metrics,
                     const MsrComparison *intervals,
                     GError             **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  g_autoptr(GDateTime) when = NULL;
  g_autofree char *created_at = NULL, *name = NULL, *model_sha = NULL, *fingerprint = NULL;
  const char *fields[] = { "name", "kind", "model_path", "architecture", "config_json",
                           "split", "engine_version", "notes" };
  const char *values[G_N_ELEMENTS (fields)];
  gint64 id;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (info != NULL, 0);

  if (!msr_db_require_writable (&self->db, error))
    return 0;
  values[0] = info->name, values[1] = info->kind, values[2] = info->model_path;
  values[3] = info->architecture, values[4] = info->config_json, values[5] = info->split;
  values[6] = info->engine_version, values[7] = info->notes;
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    if (!check_utf8 (self, fields[i], values[i], error))
      return 0;
  if (info->kind == NULL || info->kind[0] == '\0')
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "a run needs a kind (\"eval\", \"train\", ...)");
      return 0;
    }
  if (!check_sha256 (self, "model_sha256", info->model_sha256, &model_sha, error)
      || !check_sha256 (self, "dataset_fingerprint", info->dataset_fingerprint, &fingerprint,
                        error))
    return 0;
  if (info->config_json != NULL)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) local = NULL;
      JsonNode *root;

      if (!msr_json_depth_ok (info->config_json, -1, MSR_JSON_MAX_DEPTH, NULL))
        {
          msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "config_json nests JSON more than %d deep",
                            MSR_JSON_MAX_DEPTH);
          return 0;
        }
      if (!json_parser_load_from_data (parser, info->config_json, -1, &local))
        {
          msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "config_json is not JSON: %s",
                     local->message);
          return 0;
        }
      root = json_parser_get_root (parser);
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        {
          msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "config_json is not a JSON object");
          return 0;
        }
    }
  if (info->created_at != NULL)
    {
      g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();

      when = g_date_time_new_from_iso8601 (info->created_at, utc);
      if (when == NULL)
        {
          msr_db_set_error (&self->db, error, MSR_ERROR_INVALID,
                     "created_at '%s' is not an ISO 8601 date and time", info->created_at);
          return 0;
        }
    }
  else
    when = g_date_time_new_now_utc ();
  created_at = msr_db_format_time (when);
  if (info->name != NULL && info->name[0] != '\0')
    name = g_strdup (info->name);
  else
    {
      MsrRunInfo stamped = *info;
      stamped.created_at = created_at;
      name = msr_results_default_run_name (&stamped);
    }
  if (info->threads > G_MAXINT32)
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "%u threads is not a thread count",
                 info->threads);
      return 0;
    }
  if (!check_metrics_args (self, metrics, intervals, error))
    return 0;

  if (!msr_db_begin_write (&self->db, error))
    return 0;
  st = msr_db_prepare (&self->db,
    "INSERT INTO runs (created_at, name, kind, model_path, model_sha256, architecture, "
    "config_json, dataset_fingerprint, split, seed, threads, engine_version, notes, "
    "has_users, logloss_epsilon) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
    "?13, ?14, ?15)", error);
  if (st == NULL)
    goto fail;
  msr_db_bind_text (st, 1, created_at);
  msr_db_bind_text (st, 2, name);
  msr_db_bind_text (st, 3, info->kind);
  msr_db_bind_text (st, 4, info->model_path);
  msr_db_bind_text (st, 5, model_sha);
  msr_db_bind_text (st, 6, info->architecture);
  msr_db_bind_text (st, 7, info->config_json);
  msr_db_bind_text (st, 8, fingerprint);
  msr_db_bind_text (st, 9, info->split);
  if (info->has_seed)
    sqlite3_bind_int64 (st, 10, (gint64) info->seed);
  if (info->threads > 0)
    sqlite3_bind_int64 (st, 11, info->threads);
  msr_db_bind_text (st, 12, info->engine_version ? info->engine_version : MSR_VERSION);
  msr_db_bind_text (st, 13, info->notes);
  if (metrics != NULL)
    {
      sqlite3_bind_int (st, 14, metrics->has_users ? 1 : 0);
      sqlite3_bind_double (st, 15, metrics->logloss_epsilon);
    }
  if (!msr_db_step_done (&self->db, st, "cannot store the run", error))
    goto fail;
  id = sqlite3_last_insert_rowid (self->db.sqlite);
  if (metrics != NULL && !insert_metrics (self, id, metrics, intervals, error))
    goto fail;
  if (!msr_db_commit (&self->db, error))
    return 0;
  return id;

fail:
  msr_db_rollback (&self->db);
  return 0;
}

#define RUN_SELECT                                                                      \
  "SELECT id, created_at, name, kind, model_path, model_sha256, architecture, "         \
  "config_json, dataset_fingerprint, split, seed, threads, engine_version, notes, "     \
  "EXISTS (SELECT 1 FROM run_metrics m WHERE m.run_id = r.id), "                        \
  "EXISTS (SELECT 1 FROM predictions p WHERE p.run_id = r.id), "                        \
  "(SELECT count(*) FROM epochs e WHERE e.run_id = r.id) FROM runs r "

static MsrRunInfo *
read_run (MsrResults   *self,
          sqlite3_stmt *st,
          GError      **error)
{
  g_autoptr(MsrRunInfo) info = g_new0 (MsrRunInfo, 1);
  MsrDbReader r = { &self->db, st, "runs", 0, NULL };
  gboolean null;

  info->id = msr_db_read_int (&r, 0, FALSE, NULL);
  r.id = info->id;
  info->created_at = msr_db_read_text (&r, 1, FALSE);
  info->name = msr_db_read_text (&r, 2, FALSE);
  info->kind = msr_db_read_text (&r, 3, FALSE);
  info->model_path = msr_db_read_text (&r, 4, TRUE);
  info->model_sha256 = msr_db_read_text (&r, 5, TRUE);
  info->architecture = msr_db_read_text (&r, 6, TRUE);
  info->config_json = msr_db_read_text (&r, 7, TRUE);
  info->dataset_fingerprint = msr_db_read_text (&r, 8, TRUE);
  info->split = msr_db_read_text (&r, 9, TRUE);
  info->seed = (guint64) msr_db_read_int (&r, 10, TRUE, &null);
  info->has_seed = !null;
  info->threads = (guint) msr_db_read_count (&r, 11, TRUE, G_MAXINT32);
  info->engine_version = msr_db_read_text (&r, 12, FALSE);
  info->notes = msr_db_read_text (&r, 13, TRUE);
  info->has_metrics = sqlite3_column_int (st, 14) != 0;
  info->has_predictions = sqlite3_column_int (st, 15) != 0;
  info->n_epochs = (guint) msr_db_read_count (&r, 16, FALSE, G_MAXUINT);
  if (!msr_db_reader_finish (&r, error))
    return NULL;
  return g_steal_pointer (&info);
}

MsrRunInfo *
msr_results_get_run (MsrResults  *self,
                     gint64       run_id,
                     GError     **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  int rc;

  g_return_val_if_fail (self != NULL, NULL);
  st = msr_db_prepare (&self->db, RUN_SELECT "WHERE r.id = ?1", error);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, run_id);
  rc = msr_db_step_row (&self->db, st, "cannot read table 'runs'", error);
  if (rc == 0)
    msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "run %" G_GINT64_FORMAT " does not exist",
               run_id);
  if (rc <= 0)
    return NULL;
  return read_run (self, st, error);
}

GPtrArray *
msr_results_list_runs (MsrResults  *self,
                       GError     **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func (
    (GDestroyNotify) msr_results_run_info_free);
  int rc;

  g_return_val_if_fail (self != NULL, NULL);
  st = msr_db_prepare (&self->db, RUN_SELECT "ORDER BY r.created_at DESC, r.id DESC", error);
  if (st == NULL)
    return NULL;
  while ((rc = msr_db_step_row (&self->db, st, "cannot read table 'runs'", error)) > 0)
    {
      MsrRunInfo *info = read_run (self, st, error);

      if (info == NULL)
        return NULL;
      g_ptr_array_add (runs, info);
    }
  if (rc < 0)
    return NULL;
  return g_steal_pointer (&runs);
}

gboolean
msr_results_delete_run (MsrResults  *self,
                        gint64       run_id,
                        GError     **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  if (!msr_db_begin_write (&self->db, error))
    return FALSE;
  st = msr_db_prepare (&self->db, "DELETE FROM runs WHERE id = ?1", error);
  if (st == NULL)
    goto fail;
  sqlite3_bind_int64 (st, 1, run_id);
  if (!msr_db_step_done (&self->db, st, "cannot delete the run", error))
    goto fail;
  if (sqlite3_changes (self->db.sqlite) == 0)
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "run %" G_GINT64_FORMAT " does not exist",
                 run_id);
      goto fail;
    }
  return msr_db_commit (&self->db, error);

fail:
  msr_db_rollback (&self->db);
  return FALSE;
}

gboolean
msr_results_rename_run (MsrResults  *self,
                        gint64       run_id,
                        const char  *name,
                        GError     **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  if (!msr_db_require_writable (&self->db, error))
    return FALSE;
  if (name == NULL || name[0] == '\0')
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "a run's name cannot be empty");
      return FALSE;
    }
  if (!check_utf8 (self, "the run's name", name, error))
    return FALSE;
  if (!msr_db_begin_write (&self->db, error))
    return FALSE;
  st = msr_db_prepare (&self->db, "UPDATE runs SET name = ?2 WHERE id = ?1", error);
  if (st == NULL)
    goto fail;
  sqlite3_bind_int64 (st, 1, run_id);
  msr_db_bind_text (st, 2, name);
  if (!msr_db_step_done (&self->db, st, "cannot rename the run", error))
    goto fail;
  if (sqlite3_changes (self->db.sqlite) == 0)
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "run %" G_GINT64_FORMAT " does not exist",
                 run_id);
      goto fail;
    }
  return msr_db_commit (&self->db, error);

fail:
  msr_db_rollback (&self->db);
  return FALSE;
}

/* ---------------------------------------------------------------------- */
/* Reading metrics                                                        */

void
msr_results_metrics_free (MsrResultsMetrics *metrics)
{
  if (metrics == NULL)
    return;
  for (guint i = 0; i < metrics->n_scopes; i++)
    g_free (metrics->scopes[i].scenario);
  g_free (metrics->scopes);
  g_free (metrics);
}

const MsrResultsScopeMetrics *
msr_results_metrics_find (const MsrResultsMetrics *metrics,
                          MsrResultsScope          scope,
                          const char              *scenario)
{
  g_return_val_if_fail (metrics != NULL, NULL);
  for (guint i = 0; i < metrics->n_scopes; i++)
    {
      const MsrResultsScopeMetrics *m = &metrics->scopes[i];

      if (m->scope != scope)
        continue;
      if (scope != MSR_RESULTS_SCOPE_SCENARIO
          || (scenario != NULL && g_strcmp0 (m->scenario, scenario) == 0))
        return m;
    }
  return NULL;
}

static gboolean
read_metrics_row (MsrDbReader                 *r,
                  MsrResultsScopeMetrics *out)
{
  MsrMetrics *m = &out->metrics;
  g_autofree char *scope = msr_db_read_text (r, 0, FALSE);
  gboolean null;
  guint i;

  memset (out, 0, sizeof *out);
  for (i = 0; scope != NULL && i < G_N_ELEMENTS (scope_names); i++)
    if (strcmp (scope, scope_names[i]) == 0)
      break;
  if (scope != NULL && i == G_N_ELEMENTS (scope_names))
    msr_db_reader_fail (r, 0, "holds an unknown scope");
  out->scope = (MsrResultsScope) i;
  out->scenario = msr_db_read_text (r, 1, TRUE);
  if (r->error == NULL && (out->scope == MSR_RESULTS_SCOPE_SCENARIO) != (out->scenario != NULL))
    msr_db_reader_fail (r, 1, "does not match the scope");
  m->n = msr_db_read_count (r, 3, FALSE, G_MAXINT64);
  m->positives = msr_db_read_count (r, 4, FALSE, m->n);
  m->auc = msr_db_read_real (r, 5);
  m->auc_defined = !isnan (m->auc);
  m->logloss = msr_db_read_real (r, 6);
  m->logloss_defined = !isnan (m->logloss);
  m->gauc = msr_db_read_real (r, 7);
  m->gauc_defined = !isnan (m->gauc);
  m->gauc_click = msr_db_read_real (r, 8);
  m->gauc_users_kept = msr_db_read_count (r, 9, FALSE, G_MAXINT64);
  m->gauc_users = msr_db_read_count (r, 10, FALSE, G_MAXINT64);
  m->gauc_rows_kept = msr_db_read_count (r, 11, FALSE, G_MAXINT64);
  m->gauc_rows = msr_db_read_count (r, 12, FALSE, G_MAXINT64);
  m->auc_scenarios = (guint) msr_db_read_count (r, 13, TRUE, G_MAXUINT);
  m->logloss_scenarios = (guint) msr_db_read_count (r, 14, TRUE, G_MAXUINT);
  m->gauc_scenarios = (guint) msr_db_read_count (r, 15, TRUE, G_MAXUINT);
  out->ci_level = msr_db_read_real (r, 16);
  out->has_ci = !isnan (out->ci_level);
  out->ci_replicates = (guint) msr_db_read_count (r, 17, TRUE, G_MAXUINT);
  out->ci_seed = (guint64) msr_db_read_int (r, 18, TRUE, &null);
  out->ci_auc.lo = msr_db_read_real (r, 19);
  out->ci_auc.hi = msr_db_read_real (r, 20);
  out->ci_auc.n_defined = (guint) msr_db_read_count (r, 21, TRUE, G_MAXUINT);
  out->ci_gauc.lo = msr_db_read_real (r, 22);
  out->ci_gauc.hi = msr_db_read_real (r, 23);
  out->ci_gauc.n_defined = (guint) msr_db_read_count (r, 24, TRUE, G_MAXUINT);
  return r->error == NULL;
}

MsrResultsMetrics *
msr_results_get_metrics (MsrResults  *self,
                         gint64       run_id,
                         GError     **error)
{
  g_autoptr(sqlite3_stmt) head = NULL, st = NULL;
  g_autoptr(MsrResultsMetrics) out = NULL;
  g_autoptr(GArray) rows = NULL;
  MsrDbReader r = { &self->db, NULL, "runs", run_id, NULL };
  guint counts[G_N_ELEMENTS (scope_names)] = { 0 };
  gboolean null;
  int rc;

  g_return_val_if_fail (self != NULL, NULL);
  head = msr_db_prepare (&self->db, "SELECT has_users, logloss_epsilon FROM runs WHERE id = ?1", error);
  if (head == NULL)
    return NULL;
  sqlite3_bind_int64 (head, 1, run_id);
  rc = msr_db_step_row (&self->db, head, "cannot read table 'runs'", error);
  if (rc == 0)
    msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "run %" G_GINT64_FORMAT " does not exist",
               run_id);
  if (rc <= 0)
    return NULL;
  out = g_new0 (MsrResultsMetrics, 1);
  out->run_id = run_id;
  r.st = head;
  out->has_users = msr_db_read_count (&r, 0, TRUE, 1) != 0;
  null = sqlite3_column_type (head, 0) == SQLITE_NULL;
  out->logloss_epsilon = msr_db_read_real (&r, 1);
  if (!msr_db_reader_finish (&r, error))
    return NULL;
  if (null)
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "run %" G_GINT64_FORMAT " has no metrics",
                 run_id);
      return NULL;
    }

  st = msr_db_prepare (&self->db, "SELECT " METRICS_COLUMNS " FROM run_metrics WHERE run_id = ?1 "
                      "ORDER BY CASE scope WHEN 'overall' THEN 0 WHEN 'scenario' THEN 1 "
                      "WHEN 'macro' THEN 2 ELSE 3 END, scenario_index", error);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, run_id);
  rows = g_array_new (FALSE, TRUE, sizeof (MsrResultsScopeMetrics));
  r = (MsrDbReader) { &self->db, st, "run_metrics", run_id, NULL };
  while ((rc = msr_db_step_row (&self->db, st, "cannot read table 'run_metrics'", error)) > 0)
    {
      MsrResultsScopeMetrics m;
      gboolean ok = read_metrics_row (&r, &m);

      if (!ok)
        {
          g_free (m.scenario);
          break;
        }
      counts[m.scope]++;
      g_array_append_val (rows, m);
    }
  out->n_scopes = rows->len;
  out->scopes = (MsrResultsScopeMetrics *) g_array_free (g_steal_pointer (&rows), FALSE);
  if (rc < 0 || !msr_db_reader_finish (&r, error))
    return NULL;
  if (counts[MSR_RESULTS_SCOPE_OVERALL] != 1 || counts[MSR_RESULTS_SCOPE_MACRO] != 1
      || counts[MSR_RESULTS_SCOPE_WEIGHTED] != 1)
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_PARSE,
                 "run %" G_GINT64_FORMAT ": table 'run_metrics' lacks the overall, macro or "
                 "weighted row", run_id);
      return NULL;
    }
  return g_steal_pointer (&out);
}

/* ---------------------------------------------------------------------- */
/* Epochs                                                                 */

void
msr_results_epoch_free (MsrResultsEpoch *epoch)
{
  if (epoch == NULL)
    return;
  for (guint i = 0; epoch->scenario_names && i < epoch->n_scenarios; i++)
    g_free (epoch->scenario_names[i]);
  g_free (epoch->scenario_names);
  g_free (epoch->scenario_auc);
  g_free (epoch->scenario_logloss);
  g_free (epoch);
}

static gboolean
check_epoch (MsrResults            *self,
             const MsrResultsEpoch *e,
             GError               **error)
{
  if (e->epoch > G_MAXINT32)
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "epoch %u is out of range", e->epoch);
      return FALSE;
    }
  if (!isnan (e->seconds) && !(e->seconds >= 0))
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "epoch %u: %g seconds is not a duration",
                 e->epoch, e->seconds);
      return FALSE;
    }
  if (e->n_scenarios > 0 && (e->scenario_names == NULL || e->scenario_auc == NULL))
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID,
                 "epoch %u: %u scenarios but no names or AUCs", e->epoch, e->n_scenarios);
      return FALSE;
    }
  for (guint s = 0; s < e->n_scenarios; s++)
    if (e->scenario_names[s] == NULL
        || !check_utf8 (self, "a scenario name", e->scenario_names[s], error))
      {
        if (e->scenario_names[s] == NULL)
          msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "epoch %u: scenario %u has no name",
                     e->epoch, s);
        return FALSE;
      }
  return TRUE;
}

gboolean
msr_results_add_epochs (MsrResults            *self,
                        gint64                 run_id,
                        const MsrResultsEpoch *epochs,
                        guint                  n_epochs,
                        GError               **error)
{
  g_autoptr(sqlite3_stmt) ep = NULL, sc = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (epochs != NULL || n_epochs == 0, FALSE);
  if (!msr_db_require_writable (&self->db, error))
    return FALSE;
  for (guint i = 0; i < n_epochs; i++)
    if (!check_epoch (self, &epochs[i], error))
      return FALSE;
  if (!msr_db_begin_write (&self->db, error))
    return FALSE;
  if (!run_exists (self, run_id, error))
    goto fail;
  ep = msr_db_prepare (&self->db, "INSERT INTO epochs (run_id, epoch, train_loss, valid_auc, valid_logloss, "
                      "valid_gauc, seconds) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", error);
  sc = ep ? msr_db_prepare (&self->db, "INSERT INTO epoch_scenarios (run_id, epoch, scenario_index, "
                           "scenario, valid_auc, valid_logloss) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                     error)
          : NULL;
  if (sc == NULL)
    goto fail;
  for (guint i = 0; i < n_epochs; i++)
    {
      const MsrResultsEpoch *e = &epochs[i];

      sqlite3_reset (ep);
      sqlite3_bind_int64 (ep, 1, run_id);
      sqlite3_bind_int64 (ep, 2, e->epoch);
      msr_db_bind_real (ep, 3, e->train_loss);
      msr_db_bind_real (ep, 4, e->valid_auc);
      msr_db_bind_real (ep, 5, e->valid_logloss);
      msr_db_bind_real (ep, 6, e->valid_gauc);
      msr_db_bind_real (ep, 7, e->seconds);
      if (!msr_db_step_done (&self->db, ep, "cannot store the epoch", error))
        {
          if (sqlite3_extended_errcode (self->db.sqlite) == SQLITE_CONSTRAINT_PRIMARYKEY)
            {
              g_clear_error (error);
              msr_db_set_error (&self->db, error, MSR_ERROR_INVALID,
                         "run %" G_GINT64_FORMAT " already has epoch %u", run_id, e->epoch);
            }
          goto fail;
        }
      for (guint s = 0; s < e->n_scenarios; s++)
        {
          sqlite3_reset (sc);
          sqlite3_bind_int64 (sc, 1, run_id);
          sqlite3_bind_int64 (sc, 2, e->epoch);
          sqlite3_bind_int64 (sc, 3, s);
          msr_db_bind_text (sc, 4, e->scenario_names[s]);
          msr_db_bind_real (sc, 5, e->scenario_auc[s]);
          msr_db_bind_real (sc, 6, e->scenario_logloss ? e->scenario_logloss[s] : NAN);
          if (!msr_db_step_done (&self->db, sc, "cannot store the epoch's scenarios", error))
            {
              if (sqlite3_extended_errcode (self->db.sqlite) == SQLITE_CONSTRAINT_UNIQUE)
                {
                  g_clear_error (error);
                  msr_db_set_error (&self->db, error, MSR_ERROR_INVALID,
                             "epoch %u names scenario '%s' more than once", e->epoch,
                             e->scenario_names[s]);
                }
              goto fail;
            }
        }
    }
  return msr_db_commit (&self->db, error);

fail:
  msr_db_rollback (&self->db);
  return FALSE;
}

GPtrArray *
msr_results_get_epochs (MsrResults  *self,
                        gint64       run_id,
                        GError     **error)
{
  g_autoptr(sqlite3_stmt) ep = NULL, sc = NULL;
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (
    (GDestroyNotify) msr_results_epoch_free);
  g_autoptr(GHashTable) by_epoch = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GArray) aucs = NULL, lls = NULL;
  MsrResultsEpoch *cur = NULL;
  MsrDbReader r = { &self->db, NULL, "epochs", run_id, NULL };
  int rc;

  g_return_val_if_fail (self != NULL, NULL);
  if (!run_exists (self, run_id, error))
    return NULL;
  ep = msr_db_prepare (&self->db, "SELECT epoch, train_loss, valid_auc, valid_logloss, valid_gauc, seconds "
                      "FROM epochs WHERE run_id = ?1 ORDER BY epoch", error);
  if (ep == NULL)
    return NULL;
  sqlite3_bind_int64 (ep, 1, run_id);
  r.st = ep;
  while ((rc = msr_db_step_row (&self->db, ep, "cannot read table 'epochs'", error)) > 0)
    {
      MsrResultsEpoch *e = g_new0 (MsrResultsEpoch, 1);

      g_ptr_array_add (out, e);
      e->epoch = (guint) msr_db_read_count (&r, 0, FALSE, G_MAXINT32);
      e->train_loss = msr_db_read_real (&r, 1);
      e->valid_auc = msr_db_read_real (&r, 2);
      e->valid_logloss = msr_db_read_real (&r, 3);
      e->valid_gauc = msr_db_read_real (&r, 4);
      e->seconds = msr_db_read_real (&r, 5);
      if (r.error != NULL)
        break;
      g_hash_table_insert (by_epoch, GUINT_TO_POINTER (e->epoch), e);
    }
  if (rc < 0 || !msr_db_reader_finish (&r, error))
    return NULL;

  sc = msr_db_prepare (&self->db, "SELECT epoch, scenario_index, scenario, valid_auc, valid_logloss "
                      "FROM epoch_scenarios WHERE run_id = ?1 ORDER BY epoch, scenario_index",
                error);
  if (sc == NULL)
    return NULL;
  sqlite3_bind_int64 (sc, 1, run_id);
  r = (MsrDbReader) { &self->db, sc, "epoch_scenarios", run_id, NULL };
  /* Rows come grouped by epoch: collect a group, then hand it over. */
  for (;;)
    {
      guint epoch = 0, index = 0;
      MsrResultsEpoch *e = NULL;
      g_autofree char *name = NULL;
      double auc = NAN, ll = NAN;

      rc = msr_db_step_row (&self->db, sc, "cannot read table 'epoch_scenarios'", error);
      if (rc < 0)
        return NULL;
      if (rc > 0)
        {
          epoch = (guint) msr_db_read_count (&r, 0, FALSE, G_MAXINT32);
          index = (guint) msr_db_read_count (&r, 1, FALSE, G_MAXINT32);
          name = msr_db_read_text (&r, 2, FALSE);
          auc = msr_db_read_real (&r, 3);
          ll = msr_db_read_real (&r, 4);
          if (!msr_db_reader_finish (&r, error))
            return NULL;
          e = g_hash_table_lookup (by_epoch, GUINT_TO_POINTER (epoch));
          if (e == NULL)
            {
              msr_db_set_error (&self->db, error, MSR_ERROR_PARSE,
                         "run %" G_GINT64_FORMAT ": table 'epoch_scenarios' has a row for "
                         "epoch %u, which is not in table 'epochs'", run_id, epoch);
              return NULL;
            }
        }
      if (cur != NULL && cur != e)
        {
          cur->n_scenarios = names->len;
          cur->scenario_names = (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
          cur->scenario_auc = (double *) g_array_free (g_steal_pointer (&aucs), FALSE);
          cur->scenario_logloss = (double *) g_array_free (g_steal_pointer (&lls), FALSE);
          cur = NULL;
        }
      if (rc == 0)
        break;
      if (cur == NULL)
        {
          cur = e;
          names = g_ptr_array_new_with_free_func (g_free);
          aucs = g_array_new (FALSE, FALSE, sizeof (double));
          lls = g_array_new (FALSE, FALSE, sizeof (double));
        }
      if (index != names->len)
        {
          msr_db_set_error (&self->db, error, MSR_ERROR_PARSE,
                     "run %" G_GINT64_FORMAT ": table 'epoch_scenarios': epoch %u skips "
                     "scenario index %u", run_id, epoch, names->len);
          return NULL;
        }
      g_ptr_array_add (names, g_steal_pointer (&name));
      g_array_append_val (aucs, auc);
      g_array_append_val (lls, ll);
    }
  return g_steal_pointer (&out);
}

/* ---------------------------------------------------------------------- */
/* Predictions                                                            */

void
msr_results_predictions_free (MsrResultsPredictions *p)
{
  if (p == NULL)
    return;
  g_free (p->scores);
  g_free (p->labels);
  g_free (p->scenarios);
  g_strfreev (p->scenario_names);
  g_free (p->users);
  g_strfreev (p->user_names);
  g_free (p);
}

/* Bytes per code: the smallest of 1, 2, 4 that holds every code. */
static guint
code_width (guint n_names)
{
  return n_names <= 0x100 ? 1 : n_names <= 0x10000 ? 2 : 4;
}

static guint8 *
pack_codes (const guint32 *codes,
            gsize          n,
            guint          width)
{
  guint8 *out = g_malloc (MAX (n * width, 1));

  for (gsize i = 0; i < n; i++)
    {
      guint32 c = codes[i];

      for (guint b = 0; b < width; b++)
        out[i * width + b] = (guint8) (c >> (8 * b));
    }
  return out;
}

static gboolean
check_codes (MsrResults            *self,
             const char            *what,
             const MsrResultsCodes *c,
             gsize                  n,
             GError               **error)
{
  if (c == NULL)
    return TRUE;
  if ((c->codes == NULL && n > 0) || (c->names == NULL && c->n_names > 0))
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "%s: codes or names are missing", what);
      return FALSE;
    }
  for (guint i = 0; i < c->n_names; i++)
    {
      if (c->names[i] == NULL)
        {
          msr_db_set_error (&self->db, error, MSR_ERROR_INVALID, "%s: name %u is missing", what, i);
          return FALSE;
        }
      if (!check_utf8 (self, what, c->names[i], error))
        return FALSE;
    }
  for (gsize i = 0; i < n; i++)
    if (c->codes[i] >= c->n_names)
      {
        msr_db_set_error (&self->db, error, MSR_ERROR_INVALID,
                   "%s: row %" G_GSIZE_FORMAT ": code %u has no name (%u names)", what, i,
                   c->codes[i], c->n_names);
        return FALSE;
      }
  return TRUE;
}

static gboolean
insert_names (MsrResults            *self,
              sqlite3_stmt          *st,
              gint64                 run_id,
              const char            *field,
              const MsrResultsCodes *c,
              GError               **error)
{
  for (guint i = 0; c != NULL && i < c->n_names; i++)
    {
      sqlite3_reset (st);
      sqlite3_bind_int64 (st, 1, run_id);
      msr_db_bind_text (st, 2, field);
      sqlite3_bind_int64 (st, 3, i);
      msr_db_bind_text (st, 4, c->names[i]);
      if (!msr_db_step_done (&self->db, st, "cannot store the predictions' names", error))
        return FALSE;
    }
  return TRUE;
}

gboolean
msr_results_add_predictions (MsrResults            *self,
                             gint64                 run_id,
                             const float           *scores,
                             gsize                  n,
                             const guint8          *labels,
                             const MsrResultsCodes *scenarios,
                             const MsrResultsCodes *users,
                             GError               **error)
{
  g_autoptr(sqlite3_stmt) st = NULL, nm = NULL;
  g_autofree guint8 *label_bytes = NULL, *scen_bytes = NULL, *user_bytes = NULL;
  g_autofree guint8 *score_bytes = NULL;
  guint scen_w = 0, user_w = 0;
  int limit;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (scores != NULL || n == 0, FALSE);
  if (!msr_db_require_writable (&self->db, error))
    return FALSE;

  /* The largest blob SQLite accepts (4 bytes a score). */
  limit = sqlite3_limit (self->db.sqlite, SQLITE_LIMIT_LENGTH, -1);
  if (n > (gsize) limit / 4)
    {
      msr_db_set_error (&self->db, error, MSR_ERROR_INVALID,
                 "%" G_GSIZE_FORMAT " predictions are too many for one run (at most %d)", n,
                 limit / 4);
      return FALSE;
    }
  for (gsize i = 0; i < n; i++)
    if (!(scores[i] >= 0.0f && scores[i] <= 1.0f))
      {
        msr_db_set_error (&self->db, error, MSR_ERROR_INVALID,
                   "row %" G_GSIZE_FORMAT ": score %g is not a probability in [0, 1]", i,
                   (double) scores[i]);
        return FALSE;
      }
  if (!check_codes (self, "scenarios", scenarios, n, error)
      || !check_codes (self, "users", users, n, error))
    return FALSE;

  /* Little-endian float32 (the blob format on every host). */
  score_bytes = g_malloc (MAX (n * 4, 1));
  for (gsize i = 0; i < n; i++)
    {
      guint32 bits;

      memcpy (&bits, &scores[i], 4);
      bits = GUINT32_TO_LE (bits);
      memcpy (score_bytes + 4 * i, &bits, 4);
    }
  if (labels != NULL)
    {
      label_bytes = g_malloc (MAX (n, 1));
      for (gsize i = 0; i < n; i++)
        label_bytes[i] = labels[i] ? 1 : 0;
    }
  if (scenarios != NULL)
    {
      scen_w = code_width (scenarios->n_names);
      scen_bytes = pack_codes (scenarios->codes, n, scen_w);
    }
  if (users != NULL)
    {
      user_w = code_width (users->n_names);
      user_bytes = pack_codes (users->codes, n, user_w);
    }

  if (!msr_db_begin_write (&self->db, error))
    return FALSE;
  if (!run_exists (self, run_id, error))
    goto fail;
  st = msr_db_prepare (&self->db, "INSERT INTO predictions (run_id, n, scores, labels, scenarios, "
                      "scenario_width, users, user_width) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                error);
  if (st == NULL)
    goto fail;
  sqlite3_bind_int64 (st, 1, run_id);
  sqlite3_bind_int64 (st, 2, (gint64) n);
  msr_db_bind_blob (st, 3, score_bytes, n * 4);
  if (label_bytes)
    msr_db_bind_blob (st, 4, label_bytes, n);
  if (scen_bytes)
    {
      msr_db_bind_blob (st, 5, scen_bytes, n * scen_w);
      sqlite3_bind_int (st, 6, (int) scen_w);
    }
  if (user_bytes)
    {
      msr_db_bind_blob (st, 7, user_bytes, n * user_w);
      sqlite3_bind_int (st, 8, (int) user_w);
    }
  if (!msr_db_step_done (&self->db, st, "cannot store the predictions", error))
    {
      if (sqlite3_extended_errcode (self->db.sqlite) == SQLITE_CONSTRAINT_PRIMARYKEY)
        {
          g_clear_error (error);
          msr_db_set_error (&self->db, error, MSR_ERROR_INVALID,
                     "run %" G_GINT64_FORMAT " already has predictions", run_id);
        }
      goto fail;
    }
  nm = msr_db_prepare (&self->db, "INSERT INTO prediction_names (run_id, field, code, name) "
                      "VALUES (?1, ?2, ?3, ?4)", error);
  if (nm == NULL
      || !insert_names (self, nm, run_id, "scenario", scenarios, error)
      || !insert_names (self, nm, run_id, "user", users, error))
    goto fail;
  return msr_db_commit (&self->db, error);

fail:
  msr_db_rollback (&self->db);
  return FALSE;
}

/* A blob column that must hold exactly len bytes (NULL allowed when
 * nullable): returns its bytes, or NULL with *present = FALSE. */
static const guint8 *
read_blob (MsrDbReader   *r,
           int       col,
           gboolean  nullable,
           gsize     len,
           gboolean *present)
{
  gsize have;
  const guint8 *data;

  *present = FALSE;
  data = msr_db_read_blob (r, col, nullable, &have);
  if (data == NULL)
    return NULL;
  if (have != len)
    {
      g_autofree char *problem = g_strdup_printf ("holds %" G_GSIZE_FORMAT " bytes, expected %"
                                                  G_GSIZE_FORMAT, have, len);
      msr_db_reader_fail (r, col, problem);
      return NULL;
    }
  *present = TRUE;
  return have ? data : NULL;
}

static guint32 *
unpack_codes (MsrDbReader       *r,
              int           col,
              const guint8 *bytes,
              gsize         n,
              guint         width)
{
  guint32 *codes = g_new (guint32, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    {
      guint32 c = 0;

      for (guint b = 0; b < width; b++)
        c |= (guint32) bytes[i * width + b] << (8 * b);
      codes[i] = c;
    }
  return codes;
}

/* names: field's names in code order; every code must be < names. */
static gboolean
read_names (MsrResults  *self,
            gint64       run_id,
            const char  *field,
            char      ***names_out,
            guint       *n_out,
            GError     **error)
{
  g_autoptr(sqlite3_stmt) st = msr_db_prepare (&self->db,
    "SELECT code, name FROM prediction_names WHERE run_id = ?1 AND field = ?2 ORDER BY code",
    error);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  MsrDbReader r = { &self->db, st, "prediction_names", run_id, NULL };
  int rc;

  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, run_id);
  msr_db_bind_text (st, 2, field);
  while ((rc = msr_db_step_row (&self->db, st, "cannot read table 'prediction_names'", error)) > 0)
    {
      guint64 code = msr_db_read_count (&r, 0, FALSE, G_MAXUINT32);
      char *name = msr_db_read_text (&r, 1, FALSE);

      if (r.error == NULL && code != names->len)
        msr_db_reader_fail (&r, 0, "skips a code");
      if (r.error != NULL)
        {
          g_free (name);
          break;
        }
      g_ptr_array_add (names, name);
    }
  if (rc < 0 || !msr_db_reader_finish (&r, error))
    return FALSE;
  *n_out = names->len;
  g_ptr_array_add (names, NULL);
  *names_out = (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
  return TRUE;
}

static gboolean
check_read_codes (MsrResults    *self,
                  gint64         run_id,
                  const char    *field,
                  const guint32 *codes,
                  gsize          n,
                  guint          n_names,
                  GError       **error)
{
  for (gsize i = 0; i < n; i++)
    if (codes[i] >= n_names)
      {
        msr_db_set_error (&self->db, error, MSR_ERROR_PARSE,
                   "run %" G_GINT64_FORMAT ": table 'predictions': row %" G_GSIZE_FORMAT
                   " has %s code %u, but only %u names are stored", run_id, i, field, codes[i],
                   n_names);
        return FALSE;
      }
  return TRUE;
}

MsrResultsPredictions *
msr_results_get_predictions (MsrResults  *self,
                             gint64       run_id,
                             GError     **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  g_autoptr(MsrResultsPredictions) p = NULL;
  MsrDbReader r = { &self->db, NULL, "predictions", run_id, NULL };
  const guint8 *bytes;
  gboolean present;
  guint scen_w, user_w, n_names;
  gsize n;
  int rc;

  g_return_val_if_fail (self != NULL, NULL);
  if (!run_exists (self, run_id, error))
    return NULL;
  st = msr_db_prepare (&self->db, "SELECT n, scenario_width, user_width, scores, labels, scenarios, users "
                      "FROM predictions WHERE run_id = ?1", error);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, run_id);
  rc = msr_db_step_row (&self->db, st, "cannot read table 'predictions'", error);
  if (rc == 0)
    msr_db_set_error (&self->db, error, MSR_ERROR_INVALID,
               "run %" G_GINT64_FORMAT " has no stored predictions", run_id);
  if (rc <= 0)
    return NULL;
  r.st = st;
  p = g_new0 (MsrResultsPredictions, 1);
  p->run_id = run_id;
  n = p->n = (gsize) msr_db_read_count (&r, 0, FALSE, MIN ((guint64) G_MAXINT32, G_MAXSIZE / 4));
  scen_w = (guint) msr_db_read_count (&r, 1, TRUE, 4);
  user_w = (guint) msr_db_read_count (&r, 2, TRUE, 4);
  if (r.error == NULL && (scen_w == 3 || user_w == 3))
    msr_db_reader_fail (&r, scen_w == 3 ? 1 : 2, "holds 3, expected 1, 2 or 4");

  bytes = read_blob (&r, 3, FALSE, n * 4, &present);
  if (present)
    {
      p->scores = g_new (float, MAX (n, 1));
      for (gsize i = 0; i < n; i++)
        {
          guint32 bits;

          memcpy (&bits, bytes + 4 * i, 4);
          bits = GUINT32_FROM_LE (bits);
          memcpy (&p->scores[i], &bits, 4);
          if (!(p->scores[i] >= 0.0f && p->scores[i] <= 1.0f))
            {
              g_autofree char *problem = g_strdup_printf ("row %" G_GSIZE_FORMAT
                                                          ": score %g is not a probability",
                                                          i, (double) p->scores[i]);
              msr_db_reader_fail (&r, 3, problem);
              break;
            }
        }
    }
  bytes = read_blob (&r, 4, TRUE, n, &present);
  if (present)
    {
      p->labels = g_memdup2 (bytes ? bytes : (const guint8 *) "", MAX (n, 1));
      for (gsize i = 0; i < n; i++)
        if (p->labels[i] > 1)
          {
            msr_db_reader_fail (&r, 4, "holds a label that is not 0 or 1");
            break;
          }
    }
  if (scen_w == 0)
    msr_db_reader_type (&r, 5, SQLITE_NULL, FALSE, "NULL (no scenario_width)");
  else if ((bytes = read_blob (&r, 5, FALSE, n * scen_w, &present)) != NULL || present)
    p->scenarios = unpack_codes (&r, 5, bytes, n, scen_w);
  if (user_w == 0)
    msr_db_reader_type (&r, 6, SQLITE_NULL, FALSE, "NULL (no user_width)");
  else if ((bytes = read_blob (&r, 6, FALSE, n * user_w, &present)) != NULL || present)
    p->users = unpack_codes (&r, 6, bytes, n, user_w);
  if (!msr_db_reader_finish (&r, error))
    return NULL;

  if (p->scenarios != NULL
      && (!read_names (self, run_id, "scenario", &p->scenario_names, &n_names, error)
          || !check_read_codes (self, run_id, "scenario", p->scenarios, n, n_names, error)))
    return NULL;
  if (p->users != NULL
      && (!read_names (self, run_id, "user", &p->user_names, &n_names, error)
          || !check_read_codes (self, run_id, "user", p->users, n, n_names, error)))
    return NULL;
  return g_steal_pointer (&p);
}

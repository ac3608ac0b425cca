/* msr-tabular.c: loading a generic CSV/TSV dataset through a schema. */
#include "config.h"
#include "msr-tabular.h"
#include "msr-csv.h"
#include "msr-dataset-private.h"

#include <math.h>
#include <string.h>

void
msr_csv_schema_clear (MsrCsvSchema *schema)
{
  g_clear_pointer (&schema->label_column, g_free);
  g_clear_pointer (&schema->scenario_column, g_free);
  g_clear_pointer (&schema->user_column, g_free);
  g_clear_pointer (&schema->item_column, g_free);
  g_clear_pointer (&schema->feature_columns, g_strfreev);
  g_clear_pointer (&schema->time_column, g_free);
}

/* Column indices for every role, resolved against one file's header. */
typedef struct {
  int label, scenario, user, item, time;
  GArray *features;   /* int */
} Columns;

static void
columns_clear (Columns *c)
{
  g_clear_pointer (&c->features, g_array_unref);
}

static gboolean
resolve_columns (MsrCsvReader *reader, const MsrCsvSchema *schema, Columns *c, GError **error)
{
  struct { const char *name; const char *role; int *slot; } roles[] = {
    { schema->label_column, schema->has_rating_threshold ? "rating (label)" : "label", &c->label },
    { schema->scenario_column, "scenario", &c->scenario },
    { schema->user_column, "user", &c->user },
    { schema->item_column, "item", &c->item },
  };

  memset (c, 0, sizeof *c);
  c->time = -1;
  for (guint i = 0; i < G_N_ELEMENTS (roles); i++)
    {
      if (roles[i].name == NULL || roles[i].name[0] == '\0')
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_SCHEMA,
                       "%s: the schema names no %s column",
                       msr_csv_reader_get_display_name (reader), roles[i].role);
          return FALSE;
        }
      *roles[i].slot = msr_csv_reader_require_column (reader, roles[i].name, roles[i].role, error);
      if (*roles[i].slot < 0)
        return FALSE;
      for (guint j = 0; j < i; j++)
        if (*roles[j].slot == *roles[i].slot)
          {
            g_set_error (error, MSR_ERROR, MSR_ERROR_SCHEMA,
                         "%s: column '%s' cannot be both the %s and the %s column",
                         msr_csv_reader_get_display_name (reader), roles[i].name,
                         roles[j].role, roles[i].role);
            return FALSE;
          }
    }
  if (schema->time_column && schema->time_column[0])
    {
      c->time = msr_csv_reader_require_column (reader, schema->time_column, "time", error);
      if (c->time < 0)
        return FALSE;
    }
  c->features = g_array_new (FALSE, FALSE, sizeof (int));
  for (char **f = schema->feature_columns; f && *f; f++)
    {
      int idx = msr_csv_reader_require_column (reader, *f, "feature", error);
      if (idx < 0)
        return FALSE;
      /* The scenario may be embedded as a feature; other roles may not. */
      if (idx == c->label || idx == c->user || idx == c->item || idx == c->time)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_SCHEMA,
                       "%s: column '%s' is listed as a feature but already plays another role",
                       msr_csv_reader_get_display_name (reader), *f);
          return FALSE;
        }
      for (guint j = 0; j < c->features->len; j++)
        if (g_array_index (c->features, int, j) == idx)
          {
            g_set_error (error, MSR_ERROR, MSR_ERROR_SCHEMA,
                         "%s: feature column '%s' is listed twice",
                         msr_csv_reader_get_display_name (reader), *f);
            return FALSE;
          }
      g_array_append_val (c->features, idx);
    }
  return TRUE;
}

gboolean
msr_tabular_check_schema (const char *path, const MsrCsvSchema *schema, GError **error)
{
  g_autoptr(MsrCsvReader) reader = msr_csv_reader_open (path, schema->delimiter, error);
  if (reader == NULL || !msr_csv_reader_read_header (reader, error))
    return FALSE;
  Columns c;
  gboolean ok = resolve_columns (reader, schema, &c, error);
  columns_clear (&c);
  return ok;
}

static gboolean
parse_double (const char *s, double *out)
{
  char *end = NULL;
  while (g_ascii_isspace (*s))
    s++;
  if (*s == '\0')
    return FALSE;
  double v = g_ascii_strtod (s, &end);
  while (end && g_ascii_isspace (*end))
    end++;
  if (end == NULL || *end != '\0' || !isfinite (v))
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean
parse_time (const char *s, gint64 *out)
{
  char *end = NULL;
  gint64 v = g_ascii_strtoll (s, &end, 10);
  if (end != s && *end == '\0')
    {
      *out = v;
      return TRUE;
    }
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601 (s, utc);
  if (dt == NULL && strlen (s) == 10)
    {
      g_autofree char *full = g_strconcat (s, "T00:00:00", NULL);
      dt = g_date_time_new_from_iso8601 (full, utc);
    }
  if (dt == NULL)
    return FALSE;
  *out = g_date_time_to_unix (dt);
  return TRUE;
}

static gboolean
load_file (MsrDataset *ds, const char *path, MsrSplit split, const MsrCsvSchema *schema,
           const guint *field_ids, double base_fraction, double span,
           MsrProgressFunc progress, gpointer progress_data, GCancellable *cancellable,
           GError **error)
{
  g_autoptr(MsrCsvReader) reader = msr_csv_reader_open (path, schema->delimiter, error);
  if (reader == NULL || !msr_csv_reader_read_header (reader, error))
    return FALSE;

  Columns c;
  if (!resolve_columns (reader, schema, &c, error))
    {
      columns_clear (&c);
      return FALSE;
    }

  g_autoptr(GError) local = NULL;
  gboolean ok = TRUE;
  guint n_feat = c.features->len;
  while (ok && msr_csv_reader_next (reader, &local))
    {
      const gsize rec = msr_csv_reader_get_record_number (reader);
      if (rec % 65536 == 0)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            {
              ok = FALSE;
              break;
            }
          if (progress)
            progress (base_fraction + span * msr_csv_reader_get_fraction (reader),
                      "Reading rows", progress_data);
        }

      const char *label_text = msr_csv_reader_get_field (reader, c.label);
      guint8 label;
      if (schema->has_rating_threshold)
        {
          double rating;
          if (!parse_double (label_text, &rating))
            {
              msr_csv_reader_set_field_error (reader, c.label, error, MSR_ERROR_PARSE,
                                              "'%s' is not a number (the rating is compared with the threshold %g)",
                                              label_text, schema->rating_threshold);
              ok = FALSE;
              break;
            }
          label = rating >= schema->rating_threshold;
        }
      else
        {
          g_autofree char *t = g_strstrip (g_strdup (label_text));
          if (strcmp (t, "0") == 0)
            label = 0;
          else if (strcmp (t, "1") == 0)
            label = 1;
          else
            {
              msr_csv_reader_set_field_error (reader, c.label, error, MSR_ERROR_PARSE,
                                              "label '%s' is not 0 or 1 (for a rating column, give a rating threshold)",
                                              label_text);
              ok = FALSE;
              break;
            }
        }

      const int must_have[] = { c.scenario, c.user, c.item };
      const char *must_role[] = { "scenario", "user", "item" };
      for (guint k = 0; k < G_N_ELEMENTS (must_have); k++)
        if (msr_csv_reader_get_field_length (reader, must_have[k]) == 0)
          {
            msr_csv_reader_set_field_error (reader, must_have[k], error, MSR_ERROR_PARSE,
                                            "empty %s value", must_role[k]);
            ok = FALSE;
            break;
          }
      if (!ok)
        break;

      gint64 ts = 0;
      if (c.time >= 0)
        {
          const char *t = msr_csv_reader_get_field (reader, c.time);
          if (!parse_time (t, &ts))
            {
              msr_csv_reader_set_field_error (reader, c.time, error, MSR_ERROR_PARSE,
                                              "'%s' is neither Unix seconds nor an ISO 8601 date/time", t);
              ok = FALSE;
              break;
            }
        }

      guint s = msr_dataset_intern_scenario (ds, msr_csv_reader_get_field (reader, c.scenario), NULL);
      if (s == G_MAXUINT)
        {
          msr_csv_reader_set_field_error (reader, c.scenario, error, MSR_ERROR_INVALID,
                                          "more than %u distinct scenarios", MSR_MAX_SCENARIOS);
          ok = FALSE;
          break;
        }

      msr_dataset_begin_row (ds, s, label, split, ts);
      msr_dataset_push_code (ds, field_ids[0],
                             msr_dataset_intern_value (ds, field_ids[0], msr_csv_reader_get_field (reader, c.user)));
      msr_dataset_push_code (ds, field_ids[1],
                             msr_dataset_intern_value (ds, field_ids[1], msr_csv_reader_get_field (reader, c.item)));
      for (guint k = 0; k < n_feat; k++)
        {
          int col = g_array_index (c.features, int, k);
          const char *v = msr_csv_reader_get_field (reader, (guint) col);
          gint32 code = v[0] ? msr_dataset_intern_value (ds, field_ids[2 + k], v) : MSR_UNKNOWN_CODE;
          msr_dataset_push_code (ds, field_ids[2 + k], code);
        }
      msr_dataset_end_row (ds);
    }
  if (ok && local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      ok = FALSE;
    }
  columns_clear (&c);
  return ok;
}

MsrDataset *
msr_tabular_load (const char *train_path, const char *test_path, const MsrCsvSchema *schema,
                  MsrProgressFunc progress, gpointer progress_data, GCancellable *cancellable,
                  GError **error)
{
  g_autofree char *base = g_path_get_basename (train_path);
  g_autofree char *source = test_path ? g_strdup_printf ("%s + %s", train_path, test_path)
                                      : g_strdup (train_path);
  g_autoptr(MsrDataset) ds = msr_dataset_new (base, source);

  guint n_feat = schema->feature_columns ? g_strv_length (schema->feature_columns) : 0;
  g_autofree guint *field_ids = g_new (guint, 2 + n_feat);
  field_ids[0] = msr_dataset_add_field (ds, schema->user_column, MSR_FIELD_CATEGORICAL);
  field_ids[1] = msr_dataset_add_field (ds, schema->item_column, MSR_FIELD_CATEGORICAL);
  for (guint k = 0; k < n_feat; k++)
    field_ids[2 + k] = msr_dataset_add_field (ds, schema->feature_columns[k], MSR_FIELD_CATEGORICAL);
  msr_dataset_set_user_item_fields (ds, field_ids[0], field_ids[1]);
  if (schema->time_column && schema->time_column[0])
    msr_dataset_enable_timestamps (ds);

  double span = test_path ? 0.8 : 1.0;
  if (!load_file (ds, train_path, MSR_SPLIT_TRAIN, schema, field_ids, 0.0, span,
                  progress, progress_data, cancellable, error))
    return NULL;
  if (test_path &&
      !load_file (ds, test_path, MSR_SPLIT_TEST, schema, field_ids, 0.8, 0.2,
                  progress, progress_data, cancellable, error))
    return NULL;
  if (!msr_dataset_finish (ds, error))
    return NULL;
  return g_steal_pointer (&ds);
}

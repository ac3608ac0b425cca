/* msr-knowledge-import.c: see msr-knowledge-import.h. */
#include "config.h"
#include "msr-knowledge-import.h"
#include "msr-file.h"
#include "msr-csv.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* How many keys a report's details JSON lists before "and N more". */
#define DETAILS_KEYS 50

void
msr_knowledge_import_report_free (MsrKnowledgeImportReport *r)
{
  if (r == NULL)
    return;
  g_free (r->source);
  g_clear_pointer (&r->duplicates, g_ptr_array_unref);
  g_clear_pointer (&r->unknown, g_ptr_array_unref);
  g_clear_pointer (&r->missing, g_ptr_array_unref);
  g_free (r);
}

char **
msr_knowledge_dataset_keys (const MsrDataset *ds, MsrKnowledgeLevel level)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  if (level == MSR_KNOWLEDGE_SCENARIO)
    {
      for (guint s = 0; s < msr_dataset_get_n_scenarios (ds); s++)
        g_strv_builder_add (b, msr_dataset_get_scenario_name (ds, s));
    }
  else
    {
      guint field = level == MSR_KNOWLEDGE_USER ? msr_dataset_get_user_field (ds) : msr_dataset_get_item_field (ds);
      /* Code 0 is the reserved "unknown" value. */
      for (guint c = 1; c < msr_dataset_get_field_cardinality (ds, field); c++)
        g_strv_builder_add (b, msr_dataset_get_field_value (ds, field, (gint32) c));
    }
  return g_strv_builder_end (b);
}

static void
add_key_list (JsonBuilder *b, const char *name, GPtrArray *keys)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "count");
  json_builder_add_int_value (b, keys->len);
  json_builder_set_member_name (b, "first");
  json_builder_begin_array (b);
  for (guint i = 0; i < keys->len && i < DETAILS_KEYS; i++)
    json_builder_add_string_value (b, g_ptr_array_index (keys, i));
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static char *
report_details (const MsrKnowledgeCsvImport *o, const MsrKnowledgeImportReport *r)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "level");
  json_builder_add_string_value (b, msr_knowledge_level_to_string (o->level));
  json_builder_set_member_name (b, "key_column");
  json_builder_add_string_value (b, o->key_column);
  json_builder_set_member_name (b, "text_column");
  json_builder_add_string_value (b, o->text_column);
  json_builder_set_member_name (b, "rows");
  json_builder_add_int_value (b, (gint64) r->rows);
  json_builder_set_member_name (b, "added");
  json_builder_add_int_value (b, r->added);
  json_builder_set_member_name (b, "already_stored");
  json_builder_add_int_value (b, r->already);
  json_builder_set_member_name (b, "empty_texts");
  json_builder_add_int_value (b, r->empty);
  add_key_list (b, "duplicate_keys", r->duplicates);
  add_key_list (b, "unknown_keys", r->unknown);
  add_key_list (b, "missing_keys", r->missing);
  json_builder_end_object (b);
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

static void
entry_clear (MsrKnowledgeEntry *e)
{
  g_free (e->key);
  g_free (e->response);
  memset (e, 0, sizeof *e);
}

/* Adds the pending entries and empties the batch. */
static gboolean
flush (MsrKnowledge *k, gint64 import_id, GArray *batch, MsrKnowledgeImportReport *r, GError **error)
{
  return msr_knowledge_flush_entries (k, import_id, batch, &r->added, &r->already, error);
}

MsrKnowledgeImportReport *
msr_knowledge_import_csv (MsrKnowledge *k, const MsrKnowledgeCsvImport *o, const MsrDataset *ds,
                          MsrProgressFunc progress, gpointer progress_data, GCancellable *cancellable,
                          GError **error)
{
  g_return_val_if_fail (k != NULL && o != NULL && o->path != NULL, NULL);
  g_return_val_if_fail (o->key_column != NULL && o->text_column != NULL, NULL);

  g_autoptr(MsrCsvReader) csv = msr_csv_reader_open (o->path, o->delimiter, error);
  if (csv == NULL || !msr_csv_reader_read_header (csv, error))
    return NULL;
  int key_col = msr_csv_reader_require_column (csv, o->key_column, "key", error);
  if (key_col < 0)
    return NULL;
  int text_col = msr_csv_reader_require_column (csv, o->text_column, "text", error);
  if (text_col < 0)
    return NULL;
  g_autofree char *sha = msr_file_sha256 (o->path, error);
  if (sha == NULL)
    return NULL;

  g_autoptr(MsrKnowledgeImportReport) r = g_new0 (MsrKnowledgeImportReport, 1);
  r->duplicates = g_ptr_array_new_with_free_func (g_free);
  r->unknown = g_ptr_array_new_with_free_func (g_free);
  r->missing = g_ptr_array_new_with_free_func (g_free);
  r->source = o->source ? g_strdup (o->source) : g_strdup_printf ("%s:%s", o->llm ? o->llm : "csv", o->text_column);

  /* The dataset's keys of the level: value -> seen in the file. */
  g_auto(GStrv) keys = ds ? msr_knowledge_dataset_keys (ds, o->level) : NULL;
  g_autoptr(GHashTable) known = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; keys && keys[i]; i++)
    g_hash_table_insert (known, keys[i], GINT_TO_POINTER (0));
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_autofree char *abs = g_canonicalize_filename (o->path, NULL);
  MsrKnowledgeImport info = { .kind = (char *) "csv", .source = abs, .source_sha256 = sha, .llm = (char *) o->llm };
  r->import_id = msr_knowledge_begin_import (k, &info, error);
  if (r->import_id == 0)
    return NULL;

  const guint batch_size = o->batch ? o->batch : 500;
  g_autoptr(GArray) batch = g_array_new (FALSE, TRUE, sizeof (MsrKnowledgeEntry));
  g_array_set_clear_func (batch, (GDestroyNotify) entry_clear);
  g_autoptr(GError) local = NULL;
  g_autofree char *stage = g_strdup_printf ("Importing %s knowledge", msr_knowledge_level_to_string (o->level));
  while (msr_csv_reader_next (csv, &local))
    {
      r->rows++;
      if ((r->rows & 255) == 0)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return NULL;
          if (progress)
            progress (msr_csv_reader_get_fraction (csv), stage, progress_data);
        }
      g_autofree char *key = g_strstrip (g_strdup (msr_csv_reader_get_field (csv, key_col)));
      const char *text = msr_csv_reader_get_field (csv, text_col);
      if (key[0] == '\0')
        {
          msr_csv_reader_set_field_error (csv, key_col, error, MSR_ERROR_PARSE, "an empty key");
          return NULL;
        }
      if (g_hash_table_contains (seen, key))
        {
          g_ptr_array_add (r->duplicates, g_steal_pointer (&key));
          continue;
        }
      /* An empty text is no text: its key stays "missing". */
      if (text[strspn (text, " \t\r\n")] == '\0')
        {
          r->empty++;
          continue;
        }
      g_hash_table_add (seen, g_strdup (key));
      if (ds != NULL && !g_hash_table_contains (known, key))
        {
          g_ptr_array_add (r->unknown, g_steal_pointer (&key));
          continue;
        }
      MsrKnowledgeEntry e = { 0 };
      e.level = o->level;
      e.key = g_steal_pointer (&key);
      e.source = r->source;
      e.response = g_strdup (text);
      e.llm = (char *) o->llm;
      g_array_append_val (batch, e);
      if (batch->len >= batch_size && !flush (k, r->import_id, batch, r, error))
        return NULL;
    }
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error) || !flush (k, r->import_id, batch, r, error))
    return NULL;

  /* The dataset's keys the file has no text for, in the dataset's order. */
  for (guint i = 0; keys && keys[i]; i++)
    if (!g_hash_table_contains (seen, keys[i]))
      g_ptr_array_add (r->missing, g_strdup (keys[i]));

  g_autofree char *details = report_details (o, r);
  if (!msr_knowledge_finish_import (k, r->import_id, details, error))
    return NULL;
  if (progress)
    progress (1.0, stage, progress_data);
  return g_steal_pointer (&r);
}

/* msr-predictions.c: reading and pairing prediction files. */
#include "config.h"
#include "msr-predictions.h"
#include "msr-csv.h"

#include <math.h>
#include <string.h>

void
msr_predictions_free (MsrPredictions *p)
{
  if (p == NULL)
    return;
  g_free (p->path);
  g_free (p->labels);
  g_free (p->scores);
  g_free (p->scenarios);
  g_clear_pointer (&p->scenario_names, g_ptr_array_unref);
  g_free (p->users);
  g_clear_pointer (&p->user_names, g_ptr_array_unref);
  g_free (p->ids);
  g_free (p->lines);
  if (p->strings)
    g_string_chunk_free (p->strings);
  g_free (p);
}

typedef struct {
  GHashTable *index;   /* name -> code + 1 */
  GPtrArray  *names;
} Interner;

static guint32
intern (Interner *in, const char *name)
{
  gpointer v = g_hash_table_lookup (in->index, name);
  if (v)
    return GPOINTER_TO_UINT (v) - 1;
  char *copy = g_strdup (name);
  g_ptr_array_add (in->names, copy);
  g_hash_table_insert (in->index, copy, GUINT_TO_POINTER (in->names->len));
  return in->names->len - 1;
}

MsrPredictions *
msr_predictions_load (const char *path, GError **error)
{
  g_autoptr(MsrCsvReader) r = msr_csv_reader_open (path, '\t', error);
  if (r == NULL || !msr_csv_reader_read_header (r, error))
    return NULL;

  int c_label = msr_csv_reader_require_column (r, "label", "label", error);
  if (c_label < 0)
    return NULL;
  int c_score = msr_csv_reader_require_column (r, "score", "score", error);
  if (c_score < 0)
    return NULL;
  int c_scen = msr_csv_reader_find_column (r, "scenario");
  int c_user = msr_csv_reader_find_column (r, "user");
  int c_id = msr_csv_reader_find_column (r, "id");

  g_autoptr(MsrPredictions) p = g_new0 (MsrPredictions, 1);
  p->path = g_strdup (path);
  p->strings = g_string_chunk_new (4096);
  gsize cap = 1024;
  p->labels = g_new (guint8, cap);
  p->scores = g_new (double, cap);
  p->lines = g_new (gsize, cap);
  Interner scen = { 0 }, users = { 0 };
  if (c_scen >= 0)
    {
      p->scenarios = g_new (guint32, cap);
      scen.index = g_hash_table_new (g_str_hash, g_str_equal);
      p->scenario_names = scen.names = g_ptr_array_new_with_free_func (g_free);
    }
  if (c_user >= 0)
    {
      p->users = g_new (guint32, cap);
      users.index = g_hash_table_new (g_str_hash, g_str_equal);
      p->user_names = users.names = g_ptr_array_new_with_free_func (g_free);
    }
  if (c_id >= 0)
    p->ids = g_new (const char *, cap);

  g_autoptr(GError) local = NULL;
  gboolean ok = TRUE;
  while (msr_csv_reader_next (r, &local))
    {
      if (p->n == cap)
        {
          cap *= 2;
          p->labels = g_renew (guint8, p->labels, cap);
          p->scores = g_renew (double, p->scores, cap);
          p->lines = g_renew (gsize, p->lines, cap);
          if (p->scenarios)
            p->scenarios = g_renew (guint32, p->scenarios, cap);
          if (p->users)
            p->users = g_renew (guint32, p->users, cap);
          if (p->ids)
            p->ids = g_renew (const char *, p->ids, cap);
        }
      const char *lt = msr_csv_reader_get_field (r, (guint) c_label);
      if (strcmp (lt, "0") != 0 && strcmp (lt, "1") != 0)
        {
          msr_csv_reader_set_field_error (r, (guint) c_label, error, MSR_ERROR_PARSE,
                                          "label '%s' is not 0 or 1", lt);
          ok = FALSE;
          break;
        }
      const char *st = msr_csv_reader_get_field (r, (guint) c_score);
      char *end = NULL;
      double score = g_ascii_strtod (st, &end);
      if (end == st || *end != '\0' || !isfinite (score) || score < 0 || score > 1)
        {
          msr_csv_reader_set_field_error (r, (guint) c_score, error, MSR_ERROR_PARSE,
                                          "score '%s' is not a probability in [0, 1]", st);
          ok = FALSE;
          break;
        }
      p->labels[p->n] = lt[0] == '1';
      p->scores[p->n] = score;
      p->lines[p->n] = msr_csv_reader_get_line (r);
      if (c_scen >= 0)
        {
          const char *s = msr_csv_reader_get_field (r, (guint) c_scen);
          if (s[0] == '\0')
            {
              msr_csv_reader_set_field_error (r, (guint) c_scen, error, MSR_ERROR_PARSE, "empty scenario");
              ok = FALSE;
              break;
            }
          p->scenarios[p->n] = intern (&scen, s);
        }
      if (c_user >= 0)
        p->users[p->n] = intern (&users, msr_csv_reader_get_field (r, (guint) c_user));
      if (c_id >= 0)
        p->ids[p->n] = g_string_chunk_insert_const (p->strings, msr_csv_reader_get_field (r, (guint) c_id));
      p->n++;
    }
  if (ok && local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      ok = FALSE;
    }
  g_clear_pointer (&scen.index, g_hash_table_unref);
  g_clear_pointer (&users.index, g_hash_table_unref);
  if (!ok)
    return NULL;
  if (p->n == 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: no rows after the header", path);
      return NULL;
    }
  return g_steal_pointer (&p);
}

static const char *
scenario_of (const MsrPredictions *p, gsize i)
{
  return g_ptr_array_index (p->scenario_names, p->scenarios[i]);
}

gboolean
msr_predictions_check_paired (const MsrPredictions *a, const MsrPredictions *b, GError **error)
{
  if (a->n != b->n)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH,
                   "%s has %" G_GSIZE_FORMAT " rows but %s has %" G_GSIZE_FORMAT
                   "; both files must score the same rows in the same order",
                   a->path, a->n, b->path, b->n);
      return FALSE;
    }
  for (gsize i = 0; i < a->n; i++)
    {
      const char *what = NULL;
      g_autofree char *detail = NULL;
      if (a->ids && b->ids && strcmp (a->ids[i], b->ids[i]) != 0)
        what = "id", detail = g_strdup_printf ("'%s' vs '%s'", a->ids[i], b->ids[i]);
      else if (a->labels[i] != b->labels[i])
        what = "label", detail = g_strdup_printf ("%u vs %u", a->labels[i], b->labels[i]);
      else if (a->scenarios && b->scenarios && strcmp (scenario_of (a, i), scenario_of (b, i)) != 0)
        what = "scenario", detail = g_strdup_printf ("'%s' vs '%s'", scenario_of (a, i), scenario_of (b, i));
      if (what)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH,
                       "row %" G_GSIZE_FORMAT " (%s line %" G_GSIZE_FORMAT ", %s line %" G_GSIZE_FORMAT
                       "): the %s differs (%s); both files must score the same rows in the same order",
                       i + 1, a->path, a->lines[i], b->path, b->lines[i], what, detail);
          return FALSE;
        }
    }
  return TRUE;
}

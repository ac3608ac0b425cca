/* msr-dataset.c: columnar storage, vocabularies, splits and statistics. */
#include "config.h"
#include "msr-dataset-private.h"
#include "msr-rng.h"

#include <math.h>
#include <string.h>

#define UNKNOWN_DISPLAY "<unknown>"

typedef struct {
  char         *name;
  MsrFieldKind  kind;
  GHashTable   *index;    /* value -> code (as pointer) */
  GPtrArray    *values;   /* code -> value; [0] is the unknown placeholder */
  GHashTable   *labels;   /* code -> human label, or NULL */
  GArray       *codes;    /* gint32 */
  GArray       *offsets;  /* guint32, multi-hot only: n_rows + 1 */
  guint         pushed;   /* codes pushed for the row being built */
} Field;

struct _MsrDataset {
  char       *name;
  char       *source;
  char       *fingerprint;
  char       *vocab_fingerprint;
  GPtrArray  *fields;           /* Field* */
  guint       user_field;
  guint       item_field;
  GPtrArray  *scenario_names;
  GPtrArray  *scenario_descriptions;
  GHashTable *scenario_index;   /* name -> index + 1 */
  GArray     *scenarios;        /* guint16 */
  GArray     *labels;           /* guint8 */
  GArray     *splits;           /* guint8 */
  GArray     *origin;           /* guint8: the split the input files gave */
  GArray     *timestamps;       /* gint64, or NULL */
  GPtrArray  *notes;            /* NULL-terminated once finished */
  gsize       n_dropped;
  gsize       n_rows;
  gboolean    in_row;
  gboolean    finished;
};

static void
field_free (gpointer data)
{
  Field *f = data;
  g_free (f->name);
  g_hash_table_unref (f->index);
  g_ptr_array_unref (f->values);
  g_clear_pointer (&f->labels, g_hash_table_unref);
  g_array_unref (f->codes);
  g_clear_pointer (&f->offsets, g_array_unref);
  g_free (f);
}

MsrDataset *
msr_dataset_new (const char *name, const char *source)
{
  MsrDataset *ds = g_new0 (MsrDataset, 1);
  ds->name = g_strdup (name);
  ds->source = g_strdup (source);
  ds->fields = g_ptr_array_new_with_free_func (field_free);
  ds->scenario_names = g_ptr_array_new_with_free_func (g_free);
  ds->scenario_descriptions = g_ptr_array_new_with_free_func (g_free);
  ds->scenario_index = g_hash_table_new (g_str_hash, g_str_equal);
  ds->scenarios = g_array_new (FALSE, FALSE, sizeof (guint16));
  ds->labels = g_array_new (FALSE, FALSE, sizeof (guint8));
  ds->splits = g_array_new (FALSE, FALSE, sizeof (guint8));
  ds->origin = g_array_new (FALSE, FALSE, sizeof (guint8));
  ds->notes = g_ptr_array_new_with_free_func (g_free);
  ds->user_field = ds->item_field = G_MAXUINT;
  return ds;
}

void
msr_dataset_free (MsrDataset *ds)
{
  if (ds == NULL)
    return;
  g_free (ds->name);
  g_free (ds->source);
  g_free (ds->fingerprint);
  g_free (ds->vocab_fingerprint);
  g_ptr_array_unref (ds->fields);
  g_hash_table_unref (ds->scenario_index);
  g_ptr_array_unref (ds->scenario_names);
  g_ptr_array_unref (ds->scenario_descriptions);
  g_array_unref (ds->scenarios);
  g_array_unref (ds->labels);
  g_array_unref (ds->splits);
  g_array_unref (ds->origin);
  g_clear_pointer (&ds->timestamps, g_array_unref);
  g_ptr_array_unref (ds->notes);
  g_free (ds);
}

/* ---- building ---------------------------------------------------------- */

guint
msr_dataset_add_field (MsrDataset *ds, const char *name, MsrFieldKind kind)
{
  g_return_val_if_fail (!ds->finished && ds->n_rows == 0, G_MAXUINT);

  Field *f = g_new0 (Field, 1);
  f->name = g_strdup (name);
  f->kind = kind;
  f->index = g_hash_table_new (g_str_hash, g_str_equal);
  f->values = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (f->values, g_strdup (UNKNOWN_DISPLAY));
  f->codes = g_array_new (FALSE, FALSE, sizeof (gint32));
  if (kind == MSR_FIELD_MULTI_HOT)
    {
      guint32 zero = 0;
      f->offsets = g_array_new (FALSE, FALSE, sizeof (guint32));
      g_array_append_val (f->offsets, zero);
    }
  g_ptr_array_add (ds->fields, f);
  return ds->fields->len - 1;
}

void
msr_dataset_set_user_item_fields (MsrDataset *ds, guint user_field, guint item_field)
{
  g_return_if_fail (user_field < ds->fields->len && item_field < ds->fields->len);
  ds->user_field = user_field;
  ds->item_field = item_field;
}

void
msr_dataset_enable_timestamps (MsrDataset *ds)
{
  g_return_if_fail (ds->n_rows == 0);
  if (ds->timestamps == NULL)
    ds->timestamps = g_array_new (FALSE, FALSE, sizeof (gint64));
}

guint
msr_dataset_intern_scenario (MsrDataset *ds, const char *name, const char *description)
{
  gpointer v = g_hash_table_lookup (ds->scenario_index, name);
  if (v != NULL)
    return GPOINTER_TO_UINT (v) - 1;
  if (ds->scenario_names->len >= MSR_MAX_SCENARIOS)
    return G_MAXUINT;
  char *copy = g_strdup (name);
  g_ptr_array_add (ds->scenario_names, copy);
  g_ptr_array_add (ds->scenario_descriptions, g_strdup (description));
  g_hash_table_insert (ds->scenario_index, copy, GUINT_TO_POINTER (ds->scenario_names->len));
  return ds->scenario_names->len - 1;
}

gint32
msr_dataset_intern_value (MsrDataset *ds, guint field, const char *value)
{
  Field *f = g_ptr_array_index (ds->fields, field);
  gpointer v = g_hash_table_lookup (f->index, value);
  if (v != NULL)
    return GPOINTER_TO_INT (v);
  char *copy = g_strdup (value);
  g_ptr_array_add (f->values, copy);
  gint32 code = (gint32) f->values->len - 1;
  g_hash_table_insert (f->index, copy, GINT_TO_POINTER (code));
  return code;
}

void
msr_dataset_set_value_label (MsrDataset *ds, guint field, gint32 code, const char *label)
{
  Field *f = g_ptr_array_index (ds->fields, field);
  if (f->labels == NULL)
    f->labels = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  g_hash_table_replace (f->labels, GINT_TO_POINTER (code), g_strdup (label));
}

void
msr_dataset_begin_row (MsrDataset *ds, guint scenario, guint8 label, MsrSplit split, gint64 timestamp)
{
  g_return_if_fail (!ds->in_row && !ds->finished);
  g_return_if_fail (scenario < ds->scenario_names->len);
  guint16 s = (guint16) scenario;
  guint8 sp = (guint8) split;
  g_array_append_val (ds->scenarios, s);
  g_array_append_val (ds->labels, label);
  g_array_append_val (ds->splits, sp);
  g_array_append_val (ds->origin, sp);
  if (ds->timestamps)
    g_array_append_val (ds->timestamps, timestamp);
  ds->in_row = TRUE;
}

void
msr_dataset_push_code (MsrDataset *ds, guint field, gint32 code)
{
  Field *f = g_ptr_array_index (ds->fields, field);
  g_return_if_fail (ds->in_row);
  g_return_if_fail (code >= 0 && (guint) code < f->values->len);
  g_array_append_val (f->codes, code);
  f->pushed++;
}

void
msr_dataset_end_row (MsrDataset *ds)
{
  g_return_if_fail (ds->in_row);
  for (guint i = 0; i < ds->fields->len; i++)
    {
      Field *f = g_ptr_array_index (ds->fields, i);
      if (f->kind == MSR_FIELD_CATEGORICAL)
        g_assert (f->pushed == 1);
      else
        {
          guint32 end = f->codes->len;
          g_array_append_val (f->offsets, end);
        }
      f->pushed = 0;
    }
  ds->in_row = FALSE;
  ds->n_rows++;
}

void
msr_dataset_add_note (MsrDataset *ds, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_ptr_array_add (ds->notes, g_strdup_vprintf (format, args));
  va_end (args);
}

void
msr_dataset_add_dropped (MsrDataset *ds, gsize n)
{
  ds->n_dropped += n;
}

static void
checksum_u32 (GChecksum *c, guint32 v)
{
  guint32 le = GUINT32_TO_LE (v);
  g_checksum_update (c, (const guchar *) &le, sizeof le);
}

static void
checksum_str (GChecksum *c, const char *s)
{
  g_checksum_update (c, (const guchar *) s, (gssize) strlen (s) + 1);
}

static void
checksum_i32_array (GChecksum *c, const gint32 *v, gsize n)
{
  /* Little-endian bytes, in blocks, so the fingerprint is host-independent. */
  guint32 block[1024];
  for (gsize i = 0; i < n; i += G_N_ELEMENTS (block))
    {
      gsize m = MIN (n - i, G_N_ELEMENTS (block));
      for (gsize j = 0; j < m; j++)
        block[j] = GUINT32_TO_LE ((guint32) v[i + j]);
      g_checksum_update (c, (const guchar *) block, m * sizeof (guint32));
    }
}

static void
compute_fingerprint (MsrDataset *ds)
{
  g_autoptr(GChecksum) c = g_checksum_new (G_CHECKSUM_SHA256);

  checksum_str (c, "msrlens-dataset-1");
  checksum_u32 (c, (guint32) ds->n_rows);
  checksum_u32 (c, ds->fields->len);
  for (guint i = 0; i < ds->fields->len; i++)
    {
      Field *f = g_ptr_array_index (ds->fields, i);
      checksum_str (c, f->name);
      checksum_u32 (c, f->kind);
      checksum_u32 (c, f->values->len);
      for (guint v = 1; v < f->values->len; v++)
        checksum_str (c, g_ptr_array_index (f->values, v));
      checksum_i32_array (c, (const gint32 *) f->codes->data, f->codes->len);
      if (f->offsets)
        checksum_i32_array (c, (const gint32 *) f->offsets->data, f->offsets->len);
    }
  checksum_u32 (c, ds->user_field);
  checksum_u32 (c, ds->item_field);
  checksum_u32 (c, ds->scenario_names->len);
  for (guint s = 0; s < ds->scenario_names->len; s++)
    checksum_str (c, g_ptr_array_index (ds->scenario_names, s));
  for (gsize r = 0; r < ds->n_rows; r++)
    checksum_u32 (c, g_array_index (ds->scenarios, guint16, r));
  g_checksum_update (c, (const guchar *) ds->labels->data, ds->n_rows);
  g_checksum_update (c, (const guchar *) ds->splits->data, ds->n_rows);
  if (ds->timestamps)
    for (gsize r = 0; r < ds->n_rows; r++)
      {
        guint64 le = GUINT64_TO_LE ((guint64) g_array_index (ds->timestamps, gint64, r));
        g_checksum_update (c, (const guchar *) &le, sizeof le);
      }
  g_free (ds->fingerprint);
  ds->fingerprint = g_strdup (g_checksum_get_string (c));
}

gboolean
msr_dataset_finish (MsrDataset *ds, GError **error)
{
  g_return_val_if_fail (!ds->in_row, FALSE);

  if (ds->user_field == G_MAXUINT || ds->item_field == G_MAXUINT)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_SCHEMA, "%s: the dataset has no user or item field",
                   ds->source);
      return FALSE;
    }
  if (ds->n_rows == 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: no data rows", ds->source);
      return FALSE;
    }
  if (ds->n_rows > G_MAXUINT32)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "%s: %" G_GSIZE_FORMAT " rows is more than this version can hold (%u)",
                   ds->source, ds->n_rows, G_MAXUINT32);
      return FALSE;
    }
  g_ptr_array_add (ds->notes, NULL);
  ds->finished = TRUE;
  compute_fingerprint (ds);

  g_autoptr(GChecksum) c = g_checksum_new (G_CHECKSUM_SHA256);
  checksum_str (c, "msrlens-vocabulary-1");
  checksum_u32 (c, ds->fields->len);
  for (guint i = 0; i < ds->fields->len; i++)
    {
      Field *f = g_ptr_array_index (ds->fields, i);
      checksum_str (c, f->name);
      checksum_u32 (c, f->kind);
      checksum_u32 (c, f->values->len);
      for (guint v = 1; v < f->values->len; v++)
        checksum_str (c, g_ptr_array_index (f->values, v));
    }
  ds->vocab_fingerprint = g_strdup (g_checksum_get_string (c));
  return TRUE;
}

/* ---- accessors --------------------------------------------------------- */

#define FIELD(ds, i) ((Field *) g_ptr_array_index ((ds)->fields, (i)))

const char *msr_dataset_get_name (const MsrDataset *ds) { return ds->name; }
const char *msr_dataset_get_source (const MsrDataset *ds) { return ds->source; }
const char *msr_dataset_get_fingerprint (const MsrDataset *ds) { return ds->fingerprint; }
const char *msr_dataset_get_vocab_fingerprint (const MsrDataset *ds) { return ds->vocab_fingerprint; }
gsize msr_dataset_get_n_rows (const MsrDataset *ds) { return ds->n_rows; }
guint msr_dataset_get_n_fields (const MsrDataset *ds) { return ds->fields->len; }
guint msr_dataset_get_user_field (const MsrDataset *ds) { return ds->user_field; }
guint msr_dataset_get_item_field (const MsrDataset *ds) { return ds->item_field; }
guint msr_dataset_get_n_scenarios (const MsrDataset *ds) { return ds->scenario_names->len; }
const guint16 *msr_dataset_get_scenarios (const MsrDataset *ds) { return (const guint16 *) ds->scenarios->data; }
const guint8 *msr_dataset_get_labels (const MsrDataset *ds) { return (const guint8 *) ds->labels->data; }
const guint8 *msr_dataset_get_splits (const MsrDataset *ds) { return (const guint8 *) ds->splits->data; }
gsize msr_dataset_get_n_dropped (const MsrDataset *ds) { return ds->n_dropped; }

const char *
msr_dataset_get_field_name (const MsrDataset *ds, guint field)
{
  g_return_val_if_fail (field < ds->fields->len, NULL);
  return FIELD (ds, field)->name;
}

MsrFieldKind
msr_dataset_get_field_kind (const MsrDataset *ds, guint field)
{
  g_return_val_if_fail (field < ds->fields->len, MSR_FIELD_CATEGORICAL);
  return FIELD (ds, field)->kind;
}

guint
msr_dataset_get_field_cardinality (const MsrDataset *ds, guint field)
{
  g_return_val_if_fail (field < ds->fields->len, 0);
  return FIELD (ds, field)->values->len;
}

int
msr_dataset_find_field (const MsrDataset *ds, const char *name)
{
  for (guint i = 0; i < ds->fields->len; i++)
    if (strcmp (FIELD (ds, i)->name, name) == 0)
      return (int) i;
  return -1;
}

const gint32 *
msr_dataset_get_field_codes (const MsrDataset *ds, guint field)
{
  g_return_val_if_fail (field < ds->fields->len, NULL);
  return (const gint32 *) FIELD (ds, field)->codes->data;
}

const guint32 *
msr_dataset_get_field_offsets (const MsrDataset *ds, guint field)
{
  g_return_val_if_fail (field < ds->fields->len, NULL);
  Field *f = FIELD (ds, field);
  return f->offsets ? (const guint32 *) f->offsets->data : NULL;
}

const char *
msr_dataset_get_field_value (const MsrDataset *ds, guint field, gint32 code)
{
  g_return_val_if_fail (field < ds->fields->len, NULL);
  Field *f = FIELD (ds, field);
  if (code < 0 || (guint) code >= f->values->len)
    return UNKNOWN_DISPLAY;
  return g_ptr_array_index (f->values, code);
}

const char *
msr_dataset_get_value_label (const MsrDataset *ds, guint field, gint32 code)
{
  g_return_val_if_fail (field < ds->fields->len, NULL);
  Field *f = FIELD (ds, field);
  const char *label = f->labels ? g_hash_table_lookup (f->labels, GINT_TO_POINTER (code)) : NULL;
  return label ? label : msr_dataset_get_field_value (ds, field, code);
}

gint32
msr_dataset_lookup_code (const MsrDataset *ds, guint field, const char *value)
{
  g_return_val_if_fail (field < ds->fields->len, MSR_UNKNOWN_CODE);
  gpointer v = g_hash_table_lookup (FIELD (ds, field)->index, value);
  return v ? GPOINTER_TO_INT (v) : MSR_UNKNOWN_CODE;
}

const char *
msr_dataset_get_scenario_name (const MsrDataset *ds, guint scenario)
{
  g_return_val_if_fail (scenario < ds->scenario_names->len, NULL);
  return g_ptr_array_index (ds->scenario_names, scenario);
}

const char *
msr_dataset_get_scenario_description (const MsrDataset *ds, guint scenario)
{
  g_return_val_if_fail (scenario < ds->scenario_names->len, NULL);
  return g_ptr_array_index (ds->scenario_descriptions, scenario);
}

const gint64 *
msr_dataset_get_timestamps (const MsrDataset *ds)
{
  return ds->timestamps ? (const gint64 *) ds->timestamps->data : NULL;
}

const char * const *
msr_dataset_get_notes (const MsrDataset *ds)
{
  static const char *const empty[] = { NULL };
  return ds->finished ? (const char * const *) ds->notes->pdata : empty;
}

gsize
msr_dataset_get_memory_bytes (const MsrDataset *ds)
{
  gsize bytes = ds->n_rows * (sizeof (guint16) + 3 * sizeof (guint8));
  if (ds->timestamps)
    bytes += ds->n_rows * sizeof (gint64);
  for (guint i = 0; i < ds->fields->len; i++)
    {
      Field *f = FIELD (ds, i);
      bytes += f->codes->len * sizeof (gint32);
      if (f->offsets)
        bytes += f->offsets->len * sizeof (guint32);
      for (guint v = 0; v < f->values->len; v++)
        bytes += strlen (g_ptr_array_index (f->values, v)) + 1 + sizeof (gpointer);
    }
  return bytes;
}

/* ---- splits ------------------------------------------------------------ */

void
msr_split_options_init (MsrSplitOptions *opts)
{
  memset (opts, 0, sizeof *opts);
  opts->method = MSR_SPLIT_METHOD_FILE;
  opts->test_fraction = 0.2;
  opts->valid_fraction = 0.1;
  opts->valid_by_time = FALSE;
  opts->seed = 42;
}

const char *
msr_split_method_to_string (MsrSplitMethod method)
{
  switch (method)
    {
    case MSR_SPLIT_METHOD_FILE: return "file";
    case MSR_SPLIT_METHOD_RANDOM: return "random";
    case MSR_SPLIT_METHOD_TIME: return "time";
    default: return "?";
    }
}

gboolean
msr_split_method_from_string (const char *s, MsrSplitMethod *out)
{
  if (g_strcmp0 (s, "file") == 0)
    *out = MSR_SPLIT_METHOD_FILE;
  else if (g_strcmp0 (s, "random") == 0)
    *out = MSR_SPLIT_METHOD_RANDOM;
  else if (g_strcmp0 (s, "time") == 0)
    *out = MSR_SPLIT_METHOD_TIME;
  else
    return FALSE;
  return TRUE;
}

const char *
msr_split_to_string (MsrSplit split)
{
  switch (split)
    {
    case MSR_SPLIT_TRAIN: return "train";
    case MSR_SPLIT_VALID: return "valid";
    case MSR_SPLIT_TEST: return "test";
    default: return "?";
    }
}

/* Row indices grouped by scenario, in row order. */
static GPtrArray *
rows_by_scenario (const MsrDataset *ds)
{
  GPtrArray *groups = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  for (guint s = 0; s < ds->scenario_names->len; s++)
    g_ptr_array_add (groups, g_array_new (FALSE, FALSE, sizeof (guint32)));
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  for (gsize r = 0; r < ds->n_rows; r++)
    {
      guint32 row = (guint32) r;
      g_array_append_val (g_ptr_array_index (groups, scen[r]), row);
    }
  return groups;
}

static int
cmp_by_time (gconstpointer a, gconstpointer b, gpointer data)
{
  const gint64 *ts = data;
  guint32 ra = *(const guint32 *) a, rb = *(const guint32 *) b;
  if (ts[ra] != ts[rb])
    return ts[ra] < ts[rb] ? -1 : 1;
  /* Ties broken by row order, so the split is deterministic. */
  return ra < rb ? -1 : ra > rb;
}

static void
sort_rows_by_time (const MsrDataset *ds, GArray *rows)
{
  g_qsort_with_data (rows->data, (gint) rows->len, sizeof (guint32), cmp_by_time,
                     (gpointer) msr_dataset_get_timestamps (ds));
}

static gsize
fraction_count (gsize n, double fraction)
{
  return (gsize) floor ((double) n * fraction + 0.5);
}

gboolean
msr_dataset_apply_split (MsrDataset *ds, const MsrSplitOptions *opts, GError **error)
{
  guint8 *splits = (guint8 *) ds->splits->data;
  const gboolean need_time = opts->method == MSR_SPLIT_METHOD_TIME ||
                             (opts->valid_by_time && opts->valid_fraction > 0);

  if (opts->method != MSR_SPLIT_METHOD_FILE && !(opts->test_fraction > 0 && opts->test_fraction < 1))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "test fraction %g is not between 0 and 1", opts->test_fraction);
      return FALSE;
    }
  if (!(opts->valid_fraction >= 0 && opts->valid_fraction < 1))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "validation fraction %g is not in [0, 1)", opts->valid_fraction);
      return FALSE;
    }
  if (need_time && ds->timestamps == NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_SCHEMA,
                   "%s: a chronological split needs a time column, and this dataset has none",
                   ds->source);
      return FALSE;
    }

  if (opts->method == MSR_SPLIT_METHOD_FILE)
    {
      const guint8 *origin = (const guint8 *) ds->origin->data;
      gboolean any_test = FALSE;
      for (gsize r = 0; r < ds->n_rows; r++)
        {
          splits[r] = origin[r];
          any_test |= splits[r] == MSR_SPLIT_TEST;
        }
      if (!any_test)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                       "%s: a file split needs test rows from a test file, and none were loaded",
                       ds->source);
          return FALSE;
        }
    }

  MsrRng rng;
  msr_rng_init (&rng, opts->seed);
  g_autoptr(GPtrArray) groups = rows_by_scenario (ds);

  for (guint s = 0; s < groups->len; s++)
    {
      GArray *rows = g_ptr_array_index (groups, s);
      guint32 *v = (guint32 *) rows->data;

      if (opts->method == MSR_SPLIT_METHOD_RANDOM)
        {
          msr_rng_shuffle_u32 (&rng, v, rows->len);
          gsize n_test = fraction_count (rows->len, opts->test_fraction);
          for (gsize i = 0; i < rows->len; i++)
            splits[v[i]] = i < n_test ? MSR_SPLIT_TEST : MSR_SPLIT_TRAIN;
        }
      else if (opts->method == MSR_SPLIT_METHOD_TIME)
        {
          sort_rows_by_time (ds, rows);
          gsize n_test = fraction_count (rows->len, opts->test_fraction);
          for (gsize i = 0; i < rows->len; i++)
            splits[v[i]] = i >= rows->len - n_test ? MSR_SPLIT_TEST : MSR_SPLIT_TRAIN;
        }

      if (opts->valid_fraction <= 0)
        continue;

      /* Carve validation rows out of this scenario's training rows. */
      g_autoptr(GArray) train = g_array_new (FALSE, FALSE, sizeof (guint32));
      for (gsize i = 0; i < rows->len; i++)
        if (splits[v[i]] == MSR_SPLIT_TRAIN)
          g_array_append_val (train, v[i]);
      guint32 *t = (guint32 *) train->data;
      gsize n_valid = fraction_count (train->len, opts->valid_fraction);
      if (opts->valid_by_time)
        {
          sort_rows_by_time (ds, train);
          for (gsize i = train->len - n_valid; i < train->len; i++)
            splits[t[i]] = MSR_SPLIT_VALID;
        }
      else
        {
          msr_rng_shuffle_u32 (&rng, t, train->len);
          for (gsize i = 0; i < n_valid; i++)
            splits[t[i]] = MSR_SPLIT_VALID;
        }
    }

  compute_fingerprint (ds);
  return TRUE;
}

/* ---- statistics -------------------------------------------------------- */

static guint
count_bits (const guint64 *bits, gsize words)
{
  guint n = 0;
  for (gsize i = 0; i < words; i++)
    n += (guint) __builtin_popcountll (bits[i]);
  return n;
}

MsrDatasetStats *
msr_dataset_compute_stats (const MsrDataset *ds, guint split_mask)
{
  const guint S = ds->scenario_names->len;
  const guint n_users = msr_dataset_get_field_cardinality (ds, ds->user_field);
  const guint n_items = msr_dataset_get_field_cardinality (ds, ds->item_field);
  const gsize uw = (n_users + 63) / 64, iw = (n_items + 63) / 64;
  const gint32 *users = msr_dataset_get_field_codes (ds, ds->user_field);
  const gint32 *items = msr_dataset_get_field_codes (ds, ds->item_field);
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  const guint8 *labels = msr_dataset_get_labels (ds);
  const guint8 *splits = msr_dataset_get_splits (ds);

  /* One bitset of users and one of items per scenario, plus the totals. */
  g_autofree guint64 *ubits = g_new0 (guint64, (S + 1) * uw);
  g_autofree guint64 *ibits = g_new0 (guint64, (S + 1) * iw);

  MsrDatasetStats *st = g_new0 (MsrDatasetStats, 1);
  st->n_scenarios = S;
  st->scenarios = g_new0 (MsrScenarioStats, S);
  st->user_jaccard = g_new0 (double, (gsize) S * S);
  for (guint s = 0; s < S; s++)
    st->scenarios[s].name = g_strdup (g_ptr_array_index (ds->scenario_names, s));
  st->total.name = g_strdup ("all");

  for (gsize r = 0; r < ds->n_rows; r++)
    {
      if (!(split_mask & MSR_SPLIT_MASK (splits[r])))
        continue;
      guint s = scen[r];
      MsrScenarioStats *ss = &st->scenarios[s];
      ss->rows++;
      ss->positives += labels[r];
      ss->rows_by_split[splits[r]]++;
      st->total.rows++;
      st->total.positives += labels[r];
      st->total.rows_by_split[splits[r]]++;
      guint32 u = (guint32) users[r], it = (guint32) items[r];
      ubits[s * uw + u / 64] |= G_GUINT64_CONSTANT (1) << (u % 64);
      ubits[S * uw + u / 64] |= G_GUINT64_CONSTANT (1) << (u % 64);
      ibits[s * iw + it / 64] |= G_GUINT64_CONSTANT (1) << (it % 64);
      ibits[S * iw + it / 64] |= G_GUINT64_CONSTANT (1) << (it % 64);
    }

  for (guint s = 0; s < S; s++)
    {
      st->scenarios[s].users = count_bits (ubits + s * uw, uw);
      st->scenarios[s].items = count_bits (ibits + s * iw, iw);
    }
  st->total.users = count_bits (ubits + S * uw, uw);
  st->total.items = count_bits (ibits + S * iw, iw);

  for (guint a = 0; a < S; a++)
    for (guint b = a; b < S; b++)
      {
        guint inter = 0, uni = 0;
        for (gsize w = 0; w < uw; w++)
          {
            guint64 x = ubits[a * uw + w], y = ubits[b * uw + w];
            inter += (guint) __builtin_popcountll (x & y);
            uni += (guint) __builtin_popcountll (x | y);
          }
        double j = uni ? (double) inter / (double) uni : NAN;
        st->user_jaccard[a * S + b] = st->user_jaccard[b * S + a] = j;
      }

  /* Users present in every scenario that has rows. */
  g_autofree guint64 *all = g_new (guint64, uw);
  memcpy (all, ubits + S * uw, uw * sizeof (guint64));
  for (guint s = 0; s < S; s++)
    if (st->scenarios[s].rows > 0)
      for (gsize w = 0; w < uw; w++)
        all[w] &= ubits[s * uw + w];
  st->users_in_all = count_bits (all, uw);

  return st;
}

void
msr_dataset_stats_free (MsrDatasetStats *st)
{
  if (st == NULL)
    return;
  for (guint s = 0; s < st->n_scenarios; s++)
    g_free (st->scenarios[s].name);
  g_free (st->scenarios);
  g_free (st->total.name);
  g_free (st->user_jaccard);
  g_free (st);
}

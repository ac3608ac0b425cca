/* msr-project.c: the project description file (GKeyFile). */
#include "config.h"
#include "msr-project.h"
#include "msr-knowledge.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#define PROJECT_FORMAT 1

struct _MsrProject {
  char                 *dir;
  char                 *file;
  char                 *name;
  MsrDatasetKind        kind;
  char                 *data_path;   /* MovieLens folder or CSV file, absolute */
  char                 *test_path;   /* CSV test file for the file split */
  MsrMovielensScenarios framing;
  MsrCsvSchema          schema;
  MsrSplitOptions       split;
  char                 *knowledge_path; /* another store than the folder's, or NULL */
};

void
msr_project_free (MsrProject *p)
{
  if (p == NULL)
    return;
  g_free (p->dir);
  g_free (p->file);
  g_free (p->name);
  g_free (p->data_path);
  g_free (p->test_path);
  g_free (p->knowledge_path);
  msr_csv_schema_clear (&p->schema);
  g_free (p);
}

static char *
resolve_path (const char *dir, const char *path)
{
  return g_canonicalize_filename (path, dir);
}

static const char *
delimiter_name (char d)
{
  return d == '\t' ? "tab" : d == ',' ? "comma" : "auto";
}

static gboolean
key_error (GError **error, const MsrProject *p, const char *group, const char *key, const char *what)
{
  g_set_error (error, MSR_ERROR, MSR_ERROR_SCHEMA, "%s: [%s] %s: %s", p->file, group, key, what);
  return FALSE;
}

static char *
get_string (GKeyFile *kf, const MsrProject *p, const char *group, const char *key,
            gboolean required, GError **error)
{
  if (!g_key_file_has_key (kf, group, key, NULL))
    {
      if (required)
        key_error (error, p, group, key, "missing (the project description needs it)");
      return NULL;
    }
  char *v = g_key_file_get_string (kf, group, key, NULL);
  if (v != NULL)
    g_strstrip (v);
  if (required && (v == NULL || v[0] == '\0'))
    {
      g_free (v);
      key_error (error, p, group, key, "empty");
      return NULL;
    }
  return v;
}

static gboolean
get_double (GKeyFile *kf, const MsrProject *p, const char *group, const char *key,
            double *out, GError **error)
{
  if (!g_key_file_has_key (kf, group, key, NULL))
    return TRUE;
  g_autofree char *v = get_string (kf, p, group, key, FALSE, NULL);
  char *end = NULL;
  double d = g_ascii_strtod (v ? v : "", &end);
  if (v == NULL || end == v || *end != '\0')
    return key_error (error, p, group, key, "not a number");
  *out = d;
  return TRUE;
}

static gboolean
parse_split (GKeyFile *kf, MsrProject *p, GError **error)
{
  msr_split_options_init (&p->split);
  g_autofree char *method = get_string (kf, p, "split", "method", FALSE, NULL);
  if (method && !msr_split_method_from_string (method, &p->split.method))
    return key_error (error, p, "split", "method", "must be file, random or time");
  if (!method)
    p->split.method = p->kind == MSR_DATASET_KIND_MOVIELENS_100K ? MSR_SPLIT_METHOD_FILE
                                                                 : MSR_SPLIT_METHOD_RANDOM;
  p->split.valid_by_time = p->split.method == MSR_SPLIT_METHOD_TIME;
  if (!get_double (kf, p, "split", "test-fraction", &p->split.test_fraction, error) ||
      !get_double (kf, p, "split", "valid-fraction", &p->split.valid_fraction, error))
    return FALSE;
  if (!(p->split.test_fraction > 0 && p->split.test_fraction < 1))
    return key_error (error, p, "split", "test-fraction", "must be between 0 and 1");
  if (!(p->split.valid_fraction >= 0 && p->split.valid_fraction < 1))
    return key_error (error, p, "split", "valid-fraction", "must be at least 0 and below 1");
  if (g_key_file_has_key (kf, "split", "valid-by-time", NULL))
    {
      g_autoptr(GError) local = NULL;
      p->split.valid_by_time = g_key_file_get_boolean (kf, "split", "valid-by-time", &local);
      if (local)
        return key_error (error, p, "split", "valid-by-time", "must be true or false");
    }
  g_autofree char *seed = get_string (kf, p, "split", "seed", FALSE, NULL);
  if (seed && !g_ascii_string_to_unsigned (seed, 10, 0, G_MAXUINT64, &p->split.seed, NULL))
    return key_error (error, p, "split", "seed", "not a non-negative integer");
  return TRUE;
}

static gboolean
parse_csv_schema (GKeyFile *kf, MsrProject *p, GError **error)
{
  MsrCsvSchema *s = &p->schema;
  if (!(s->label_column = get_string (kf, p, "dataset", "label", TRUE, error)) ||
      !(s->scenario_column = get_string (kf, p, "dataset", "scenario", TRUE, error)) ||
      !(s->user_column = get_string (kf, p, "dataset", "user", TRUE, error)) ||
      !(s->item_column = get_string (kf, p, "dataset", "item", TRUE, error)))
    return FALSE;
  s->time_column = get_string (kf, p, "dataset", "time", FALSE, NULL);
  if (s->time_column && s->time_column[0] == '\0')
    g_clear_pointer (&s->time_column, g_free);
  if (g_key_file_has_key (kf, "dataset", "features", NULL))
    {
      g_auto(GStrv) list = g_key_file_get_string_list (kf, "dataset", "features", NULL, NULL);
      g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
      for (char **f = list; f && *f; f++)
        if (g_strstrip (*f)[0])
          g_strv_builder_add (b, *f);
      s->feature_columns = g_strv_builder_end (b);
    }
  if (g_key_file_has_key (kf, "dataset", "rating-threshold", NULL))
    {
      s->has_rating_threshold = TRUE;
      if (!get_double (kf, p, "dataset", "rating-threshold", &s->rating_threshold, error))
        return FALSE;
    }
  g_autofree char *delim = get_string (kf, p, "dataset", "delimiter", FALSE, NULL);
  if (delim == NULL || strcmp (delim, "auto") == 0)
    s->delimiter = 0;
  else if (strcmp (delim, "comma") == 0)
    s->delimiter = ',';
  else if (strcmp (delim, "tab") == 0)
    s->delimiter = '\t';
  else
    return key_error (error, p, "dataset", "delimiter", "must be comma, tab or auto");

  g_autofree char *test = get_string (kf, p, "dataset", "test-path", FALSE, NULL);
  if (test && test[0])
    p->test_path = resolve_path (p->dir, test);
  if (p->split.method == MSR_SPLIT_METHOD_FILE && p->test_path == NULL)
    return key_error (error, p, "dataset", "test-path", "missing, and the split method 'file' needs a test file");
  return TRUE;
}

MsrProject *
msr_project_open (const char *dir, GError **error)
{
  g_autoptr(MsrProject) p = g_new0 (MsrProject, 1);
  p->dir = g_canonicalize_filename (dir, NULL);
  p->file = g_build_filename (p->dir, MSR_PROJECT_FILE, NULL);

  if (!g_file_test (p->dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: not a folder", p->dir);
      return NULL;
    }
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local = NULL;
  if (!g_key_file_load_from_file (kf, p->file, G_KEY_FILE_KEEP_COMMENTS, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, MSR_ERROR, MSR_ERROR_IO,
                     "%s: not an MSR Lens project (there is no %s; create one with 'msrlens-cli project init')",
                     p->dir, MSR_PROJECT_FILE);
      else
        g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: %s", p->file, local->message);
      return NULL;
    }

  g_autofree char *format = get_string (kf, p, "project", "format", TRUE, error);
  if (format == NULL)
    return NULL;
  guint64 fmt;
  if (!g_ascii_string_to_unsigned (format, 10, 1, G_MAXUINT32, &fmt, NULL) || fmt > PROJECT_FORMAT)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "%s: project format '%s' is not supported by MSR Lens %s (it reads format %d)",
                   p->file, format, MSR_VERSION, PROJECT_FORMAT);
      return NULL;
    }
  p->name = get_string (kf, p, "project", "name", FALSE, NULL);
  if (p->name == NULL || p->name[0] == '\0')
    {
      g_free (p->name);
      p->name = g_path_get_basename (p->dir);
    }

  g_autofree char *kind = get_string (kf, p, "dataset", "kind", TRUE, error);
  if (kind == NULL)
    return NULL;
  if (strcmp (kind, "movielens-100k") == 0)
    p->kind = MSR_DATASET_KIND_MOVIELENS_100K;
  else if (strcmp (kind, "csv") == 0)
    p->kind = MSR_DATASET_KIND_CSV;
  else
    {
      key_error (error, p, "dataset", "kind", "must be movielens-100k or csv");
      return NULL;
    }
  g_autofree char *path = get_string (kf, p, "dataset", "path", TRUE, error);
  if (path == NULL)
    return NULL;
  p->data_path = resolve_path (p->dir, path);

  if (!parse_split (kf, p, error))
    return NULL;

  if (p->kind == MSR_DATASET_KIND_MOVIELENS_100K)
    {
      g_autofree char *framing = get_string (kf, p, "dataset", "scenarios", FALSE, NULL);
      if (framing && !msr_movielens_scenarios_from_string (framing, &p->framing))
        {
          key_error (error, p, "dataset", "scenarios", "must be genre or age");
          return NULL;
        }
    }
  else if (!parse_csv_schema (kf, p, error))
    return NULL;

  return g_steal_pointer (&p);
}

/* ---- creating ------------------------------------------------------------ */

static gboolean
prepare_dir (const char *dir, char **out_file, GError **error)
{
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot create folder: %s", dir, g_strerror (saved));
      return FALSE;
    }
  char *file = g_build_filename (dir, MSR_PROJECT_FILE, NULL);
  if (g_file_test (file, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s already exists: the folder holds a project", file);
      g_free (file);
      return FALSE;
    }
  *out_file = file;
  return TRUE;
}

/* Numbers a person will read and edit: shortest form, C locale. */
static void
set_number (GKeyFile *kf, const char *group, const char *key, double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_key_file_set_string (kf, group, key, g_ascii_formatd (buf, sizeof buf, "%.10g", value));
}

static void
write_split (GKeyFile *kf, const MsrSplitOptions *split)
{
  g_key_file_set_string (kf, "split", "method", msr_split_method_to_string (split->method));
  if (split->method != MSR_SPLIT_METHOD_FILE)
    set_number (kf, "split", "test-fraction", split->test_fraction);
  set_number (kf, "split", "valid-fraction", split->valid_fraction);
  g_key_file_set_boolean (kf, "split", "valid-by-time", split->valid_by_time);
  g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, split->seed);
  g_key_file_set_string (kf, "split", "seed", seed);
}

static MsrProject *
write_and_open (GKeyFile *kf, const char *dir, const char *file, GError **error)
{
  g_key_file_set_comment (kf, NULL, NULL,
                          " MSR Lens project description (format 1; see docs/FORMATS.md).\n"
                          " Paths may be absolute or relative to this folder.", NULL);
  g_autofree char *data = g_key_file_to_data (kf, NULL, NULL);
  g_autoptr(GError) local = NULL;
  /* g_file_set_contents writes a temporary file and renames it. */
  if (!g_file_set_contents (file, data, -1, &local))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot write: %s", file, local->message);
      return NULL;
    }
  return msr_project_open (dir, error);
}

static GKeyFile *
new_key_file (const char *dir)
{
  GKeyFile *kf = g_key_file_new ();
  g_autofree char *name = g_path_get_basename (dir);
  g_key_file_set_integer (kf, "project", "format", PROJECT_FORMAT);
  g_key_file_set_string (kf, "project", "name", name);
  return kf;
}

MsrProject *
msr_project_create_movielens (const char *dir, const char *data_dir, MsrMovielensScenarios scenarios,
                              const MsrSplitOptions *split, GError **error)
{
  g_autofree char *abs_dir = g_canonicalize_filename (dir, NULL);
  g_autofree char *abs_data = g_canonicalize_filename (data_dir, NULL);
  g_autofree char *file = NULL;

  if (!msr_movielens_verify_dir (abs_data, error) || !prepare_dir (abs_dir, &file, error))
    return NULL;

  g_autoptr(GKeyFile) kf = new_key_file (abs_dir);
  g_key_file_set_string (kf, "dataset", "kind", "movielens-100k");
  g_key_file_set_string (kf, "dataset", "path", abs_data);
  g_key_file_set_string (kf, "dataset", "scenarios", msr_movielens_scenarios_to_string (scenarios));
  write_split (kf, split);
  return write_and_open (kf, abs_dir, file, error);
}

MsrProject *
msr_project_create_csv (const char *dir, const char *csv_file, const MsrCsvSchema *schema,
                        const MsrSplitOptions *split, const char *test_file, GError **error)
{
  g_autofree char *abs_dir = g_canonicalize_filename (dir, NULL);
  g_autofree char *abs_csv = g_canonicalize_filename (csv_file, NULL);
  g_autofree char *abs_test = test_file ? g_canonicalize_filename (test_file, NULL) : NULL;
  g_autofree char *file = NULL;

  if (split->method == MSR_SPLIT_METHOD_FILE && abs_test == NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "the file split needs a test file");
      return NULL;
    }
  if (split->method == MSR_SPLIT_METHOD_TIME && (schema->time_column == NULL || !schema->time_column[0]))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "the time split needs a time column");
      return NULL;
    }
  if (!msr_tabular_check_schema (abs_csv, schema, error) ||
      (split->method == MSR_SPLIT_METHOD_FILE && !msr_tabular_check_schema (abs_test, schema, error)) ||
      !prepare_dir (abs_dir, &file, error))
    return NULL;

  g_autoptr(GKeyFile) kf = new_key_file (abs_dir);
  g_key_file_set_string (kf, "dataset", "kind", "csv");
  g_key_file_set_string (kf, "dataset", "path", abs_csv);
  if (split->method == MSR_SPLIT_METHOD_FILE)
    g_key_file_set_string (kf, "dataset", "test-path", abs_test);
  g_key_file_set_string (kf, "dataset", "delimiter", delimiter_name (schema->delimiter));
  g_key_file_set_string (kf, "dataset", "label", schema->label_column);
  if (schema->has_rating_threshold)
    set_number (kf, "dataset", "rating-threshold", schema->rating_threshold);
  g_key_file_set_string (kf, "dataset", "scenario", schema->scenario_column);
  g_key_file_set_string (kf, "dataset", "user", schema->user_column);
  g_key_file_set_string (kf, "dataset", "item", schema->item_column);
  if (schema->feature_columns && schema->feature_columns[0])
    g_key_file_set_string_list (kf, "dataset", "features", (const char * const *) schema->feature_columns,
                                g_strv_length (schema->feature_columns));
  if (schema->time_column && schema->time_column[0])
    g_key_file_set_string (kf, "dataset", "time", schema->time_column);
  write_split (kf, split);
  return write_and_open (kf, abs_dir, file, error);
}

/* ---- accessors and loading ---------------------------------------------- */

const char *msr_project_get_dir (const MsrProject *p) { return p->dir; }
const char *msr_project_get_name (const MsrProject *p) { return p->name; }
MsrDatasetKind msr_project_get_dataset_kind (const MsrProject *p) { return p->kind; }
const MsrSplitOptions *msr_project_get_split (const MsrProject *p) { return &p->split; }

char *
msr_project_get_path (const MsrProject *p, const char *name)
{
  return g_build_filename (p->dir, name, NULL);
}

char *
msr_project_get_knowledge_path (const MsrProject *p)
{
  return p->knowledge_path ? g_strdup (p->knowledge_path) : msr_project_get_path (p, MSR_KNOWLEDGE_FILE);
}

void
msr_project_set_knowledge_path (MsrProject *p, const char *path)
{
  g_free (p->knowledge_path);
  p->knowledge_path = path ? g_canonicalize_filename (path, NULL) : NULL;
}

static char *
describe_split (const MsrProject *p)
{
  const MsrSplitOptions *s = &p->split;
  g_autofree char *valid = s->valid_fraction > 0
      ? g_strdup_printf ("%g%% of training for validation", s->valid_fraction * 100)
      : g_strdup ("no validation rows");
  switch (s->method)
    {
    case MSR_SPLIT_METHOD_FILE:
      return g_strdup_printf ("%s split, %s",
                              p->kind == MSR_DATASET_KIND_MOVIELENS_100K ? "u1" : "given test file", valid);
    case MSR_SPLIT_METHOD_RANDOM:
      return g_strdup_printf ("random split (%g%% test, seed %" G_GUINT64_FORMAT "), %s",
                              s->test_fraction * 100, s->seed, valid);
    case MSR_SPLIT_METHOD_TIME:
    default:
      return g_strdup_printf ("chronological split (latest %g%% test), %s", s->test_fraction * 100, valid);
    }
}

char *
msr_project_describe_dataset (const MsrProject *p)
{
  g_autofree char *split = describe_split (p);
  if (p->kind == MSR_DATASET_KIND_MOVIELENS_100K)
    return g_strdup_printf ("MovieLens-100K, %s scenarios, %s",
                            msr_movielens_scenarios_to_string (p->framing), split);
  g_autofree char *base = g_path_get_basename (p->data_path);
  return g_strdup_printf ("%s, scenarios from '%s', %s", base, p->schema.scenario_column, split);
}

MsrDataset *
msr_project_load_dataset (MsrProject *p, MsrProgressFunc progress, gpointer progress_data,
                          GCancellable *cancellable, GError **error)
{
  g_autoptr(MsrDataset) ds = NULL;
  if (p->kind == MSR_DATASET_KIND_MOVIELENS_100K)
    ds = msr_movielens_load (p->data_path, p->framing, p->split.method, progress, progress_data,
                             cancellable, error);
  else
    ds = msr_tabular_load (p->data_path, p->split.method == MSR_SPLIT_METHOD_FILE ? p->test_path : NULL,
                           &p->schema, progress, progress_data, cancellable, error);
  if (ds == NULL)
    return NULL;
  if (!msr_dataset_apply_split (ds, &p->split, error))
    return NULL;
  return g_steal_pointer (&ds);
}

MsrDataset *
msr_project_check_new (MsrProject *p, gboolean dir_existed, MsrProgressFunc progress, gpointer progress_data,
                       GCancellable *cancellable, GError **error)
{
  MsrDataset *ds = msr_project_load_dataset (p, progress, progress_data, cancellable, error);
  if (ds == NULL)
    {
      g_unlink (p->file);
      if (!dir_existed)
        g_rmdir (p->dir);
    }
  return ds;
}

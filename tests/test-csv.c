/* CSV reader and tabular loading: the dialect, and every malformed input
 * giving an error that names the file, the line and the column. */
#include "config.h"
#include "test-util.h"
#include "msr-csv.h"
#include "msr-tabular.h"
#include "msr-project.h"

#include <glib/gstdio.h>
#include <string.h>

static MsrCsvReader *
reader_for (const char *text, char delim, GError **error)
{
  return msr_csv_reader_new_from_data (text, strlen (text), "input.csv", delim, error);
}

/* Reads every record into a list of string vectors. */
static GPtrArray *
read_all (const char *text, char delim, GError **error)
{
  g_autoptr(MsrCsvReader) r = reader_for (text, delim, error);
  if (r == NULL)
    return NULL;
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  while (msr_csv_reader_next (r, error))
    {
      GStrvBuilder *b = g_strv_builder_new ();
      for (guint i = 0; i < msr_csv_reader_get_n_fields (r); i++)
        g_strv_builder_add (b, msr_csv_reader_get_field (r, i));
      g_ptr_array_add (rows, g_strv_builder_end (b));
      g_strv_builder_unref (b);
    }
  if (error && *error)
    {
      g_ptr_array_unref (rows);
      return NULL;
    }
  return rows;
}

#define ROW(rows, i) ((char **) g_ptr_array_index ((rows), (i)))

static void
test_quoting (void)
{
  g_autoptr(GError) error = NULL;
  const char *text =
    "\xEF\xBB\xBF" "id,text,n\r\n"
    "1,\"hello, world\",3\r\n"
    "2,\"line one\nline two\",4\n"
    "\n"
    "3,\"she said \"\"hi\"\"\",5\n"
    "4,,\"\"\n"
    "5,a\"b,6";   /* no final newline; quote inside an unquoted field is literal */
  g_autoptr(GPtrArray) rows = read_all (text, ',', &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 6);
  g_assert_cmpstr (ROW (rows, 0)[0], ==, "id");
  g_assert_cmpstr (ROW (rows, 1)[1], ==, "hello, world");
  g_assert_cmpstr (ROW (rows, 2)[1], ==, "line one\nline two");
  g_assert_cmpstr (ROW (rows, 2)[2], ==, "4");
  g_assert_cmpstr (ROW (rows, 3)[1], ==, "she said \"hi\"");
  g_assert_cmpstr (ROW (rows, 4)[1], ==, "");
  g_assert_cmpstr (ROW (rows, 4)[2], ==, "");
  g_assert_cmpstr (ROW (rows, 5)[1], ==, "a\"b");
  g_assert_cmpuint (g_strv_length (ROW (rows, 5)), ==, 3);
}

static void
test_line_numbers (void)
{
  g_autoptr(GError) error = NULL;
  const char *text = "a,b\n1,\"x\ny\nz\"\n\n2,w\n";
  g_autoptr(MsrCsvReader) r = reader_for (text, ',', &error);
  g_assert_true (msr_csv_reader_read_header (r, &error));
  g_assert_true (msr_csv_reader_next (r, &error));
  g_assert_cmpuint (msr_csv_reader_get_line (r), ==, 2);
  g_assert_cmpstr (msr_csv_reader_get_field (r, 1), ==, "x\ny\nz");
  g_assert_true (msr_csv_reader_next (r, &error));
  /* The record after a three-line field and a blank line starts on line 6. */
  g_assert_cmpuint (msr_csv_reader_get_line (r), ==, 6);
  g_assert_false (msr_csv_reader_next (r, &error));
  g_assert_no_error (error);
}

static void
test_tsv (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = read_all ("a\tb\n1\t\"x\ty\"\n", '\t', &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ROW (rows, 1)[1], ==, "x\ty");
  /* The delimiter follows the file name when not given. */
  g_autoptr(MsrCsvReader) r = msr_csv_reader_new_from_data ("a\tb\n", 4, "x.tsv", 0, &error);
  g_assert_cmpint (msr_csv_reader_get_delimiter (r), ==, '\t');
}

typedef struct {
  const char *text;
  const char *expect[3];  /* substrings the message must hold */
} BadCase;

static void
test_malformed (void)
{
  static const BadCase cases[] = {
    { "a,b\n1,2\n3\n", { "input.csv: line 3", "expected 2 fields", "found 1" } },
    { "a,b\n1,2,3\n", { "line 2", "expected 2 fields", "found 3" } },
    { "a,b\n1,\"open\n2,3\n", { "line 2, column 3", "unterminated quoted field", NULL } },
    { "a,b\n1,\xC3\xA9\xFF\n", { "line 2, column 4", "invalid UTF-8", "0xFF" } },
    { "a,b\n1,\"x\"y\n", { "line 2, column 6", "after a closing quote", NULL } },
    { "", { "input.csv", "empty", NULL } },
    { "\n\n", { "input.csv", "empty", NULL } },
    { "a,a\n", { "duplicate column name 'a'", NULL, NULL } },
    { "a,,b\n", { "empty name", NULL, NULL } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MsrCsvReader) r = reader_for (cases[i].text, ',', &error);
      if (r != NULL && msr_csv_reader_read_header (r, &error))
        while (msr_csv_reader_next (r, &error))
          ;
      g_assert_nonnull (error);
      g_assert_true (g_error_matches (error, MSR_ERROR, MSR_ERROR_PARSE));
      for (guint k = 0; k < 3 && cases[i].expect[k]; k++)
        if (strstr (error->message, cases[i].expect[k]) == NULL)
          g_error ("case %u: '%s' lacks '%s'", i, error->message, cases[i].expect[k]);
    }

  /* A NUL byte is reported as such. */
  g_autoptr(GError) error = NULL;
  const char nul[] = "a,b\n1,\0\n";
  g_autoptr(MsrCsvReader) r = msr_csv_reader_new_from_data (nul, sizeof nul - 1, "bin.csv", ',', &error);
  g_assert_null (r);
  g_assert_nonnull (strstr (error->message, "NUL byte"));
}

static void
test_missing_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrCsvReader) r = msr_csv_reader_open ("/nonexistent/data.csv", 0, &error);
  g_assert_null (r);
  g_assert_true (g_error_matches (error, MSR_ERROR, MSR_ERROR_IO));
  g_assert_nonnull (strstr (error->message, "/nonexistent/data.csv"));
}

/* ---- tabular loading ------------------------------------------------------ */

static char *
write_temp (const char *dir, const char *name, const char *text)
{
  char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static void
schema_init (MsrCsvSchema *s)
{
  memset (s, 0, sizeof *s);
  s->label_column = g_strdup ("click");
  s->scenario_column = g_strdup ("domain");
  s->user_column = g_strdup ("uid");
  s->item_column = g_strdup ("iid");
}

static void
test_tabular_load (void)
{
  g_autofree char *dir = g_dir_make_tmp ("msr-csv-XXXXXX", NULL);
  g_autofree char *path = write_temp (dir, "d.csv",
      "uid,iid,domain,click,city,ts\n"
      "u1,i1,search,1,paris,2024-01-02\n"
      "u2,i1,feed,0,,1704153600\n"
      "u1,i2,feed,1,\"rome\",2024-01-03T10:00:00Z\n"
      "u3,i3,search,0,paris,2024-01-04\n");
  MsrCsvSchema s;
  schema_init (&s);
  s.feature_columns = g_strsplit ("city", ",", -1);
  s.time_column = g_strdup ("ts");

  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = msr_tabular_load (path, NULL, &s, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msr_dataset_get_n_rows (ds), ==, 4);
  g_assert_cmpuint (msr_dataset_get_n_scenarios (ds), ==, 2);
  g_assert_cmpstr (msr_dataset_get_scenario_name (ds, 0), ==, "search");
  g_assert_cmpuint (msr_dataset_get_n_fields (ds), ==, 3);
  guint city = (guint) msr_dataset_find_field (ds, "city");
  /* paris, rome + the reserved unknown code */
  g_assert_cmpuint (msr_dataset_get_field_cardinality (ds, city), ==, 3);
  const gint32 *codes = msr_dataset_get_field_codes (ds, city);
  g_assert_cmpint (codes[1], ==, MSR_UNKNOWN_CODE);   /* empty value */
  g_assert_cmpint (codes[0], ==, codes[3]);
  g_assert_cmpint (msr_dataset_lookup_code (ds, city, "tokyo"), ==, MSR_UNKNOWN_CODE);
  g_assert_cmpstr (msr_dataset_get_field_value (ds, city, codes[2]), ==, "rome");
  const gint64 *ts = msr_dataset_get_timestamps (ds);
  g_assert_cmpint (ts[0], ==, 1704153600);   /* 2024-01-02T00:00:00Z */
  g_assert_cmpint (ts[1], ==, 1704153600);
  g_assert_cmpint (ts[2], ==, 1704153600 + 86400 + 36000);
  const guint8 *labels = msr_dataset_get_labels (ds);
  g_assert_cmpuint (labels[0] + labels[1] + labels[2] + labels[3], ==, 2);
  msr_csv_schema_clear (&s);
  msr_test_rm_rf (dir);
}

static void
test_tabular_errors (void)
{
  g_autofree char *dir = g_dir_make_tmp ("msr-csv-XXXXXX", NULL);
  g_autofree char *good = write_temp (dir, "good.csv", "uid,iid,domain,click,rating\nu1,i1,a,1,4.5\n");
  g_autofree char *badlabel = write_temp (dir, "badlabel.csv", "uid,iid,domain,click\nu1,i1,a,1\nu1,i2,a,yes\n");
  g_autofree char *emptyuser = write_temp (dir, "emptyuser.csv", "uid,iid,domain,click\n,i1,a,1\n");
  g_autoptr(GError) error = NULL;
  MsrCsvSchema s;
  schema_init (&s);

  /* An unknown column lists the columns the file has. */
  g_free (s.scenario_column);
  s.scenario_column = g_strdup ("scene");
  g_assert_false (msr_tabular_check_schema (good, &s, &error));
  g_assert_true (g_error_matches (error, MSR_ERROR, MSR_ERROR_SCHEMA));
  g_assert_nonnull (strstr (error->message, "no column named 'scene'"));
  g_assert_nonnull (strstr (error->message, "'uid', 'iid', 'domain', 'click', 'rating'"));
  g_clear_error (&error);
  g_free (s.scenario_column);
  s.scenario_column = g_strdup ("domain");

  g_autoptr(MsrDataset) ds = msr_tabular_load (badlabel, NULL, &s, NULL, NULL, NULL, &error);
  g_assert_null (ds);
  g_assert_nonnull (strstr (error->message, "badlabel.csv: line 3, column 9 (column 'click')"));
  g_assert_nonnull (strstr (error->message, "'yes' is not 0 or 1"));
  g_clear_error (&error);

  ds = msr_tabular_load (emptyuser, NULL, &s, NULL, NULL, NULL, &error);
  g_assert_null (ds);
  g_assert_nonnull (strstr (error->message, "line 2, column 1 (column 'uid'): empty user value"));
  g_clear_error (&error);

  /* A rating column with a threshold. */
  g_free (s.label_column);
  s.label_column = g_strdup ("rating");
  s.has_rating_threshold = TRUE;
  s.rating_threshold = 4.0;
  ds = msr_tabular_load (good, NULL, &s, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msr_dataset_get_labels (ds)[0], ==, 1);

  /* The same column in two roles. */
  g_free (s.item_column);
  s.item_column = g_strdup ("uid");
  g_assert_false (msr_tabular_check_schema (good, &s, &error));
  g_assert_nonnull (strstr (error->message, "cannot be both"));
  g_clear_error (&error);

  msr_csv_schema_clear (&s);
  msr_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/csv/quoting", test_quoting);
  g_test_add_func ("/csv/line-numbers", test_line_numbers);
  g_test_add_func ("/csv/tsv", test_tsv);
  g_test_add_func ("/csv/malformed", test_malformed);
  g_test_add_func ("/csv/missing-file", test_missing_file);
  g_test_add_func ("/tabular/load", test_tabular_load);
  g_test_add_func ("/tabular/errors", test_tabular_errors);
  return g_test_run ();
}

/* Datasets: MovieLens-100K import counts against the published figures,
 * splits, statistics, projects and their error messages. */
#include "config.h"
#include "test-util.h"
#include "msr-project.h"
#include "msr-movielens.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define REQUIRE_MOVIELENS(dir) MSR_TEST_REQUIRE_SHARED (dir, "movielens-100k")

/* shared/data/README.md, "Multi-scenario framing used by MSR Lens". */
static const struct {
  const char *name;
  guint64 rows, users, items;
  double pos_rate;
  guint64 base, test;
} genre_expected[] = {
  { "Family", 10862, 890, 172, 0.493, 8717, 2145 },
  { "Action/Adventure/Sci-Fi", 35264, 943, 356, 0.562, 28342, 6922 },
  { "Thriller/Crime/Horror", 16931, 932, 281, 0.574, 13437, 3494 },
  { "Comedy/Romance", 22972, 933, 447, 0.513, 18289, 4683 },
  { "Drama/Documentary", 13961, 904, 424, 0.624, 11212, 2749 },
};

static void
test_movielens_genre (void)
{
  REQUIRE_MOVIELENS (dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = msr_movielens_load (dir, MSR_MOVIELENS_SCENARIOS_GENRE,
                                                 MSR_SPLIT_METHOD_FILE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msr_dataset_get_n_rows (ds), ==, 99990);
  g_assert_cmpuint (msr_dataset_get_n_dropped (ds), ==, 10);
  g_assert_cmpuint (msr_dataset_get_n_scenarios (ds), ==, 5);

  /* The drop is reported with its split and the movie ids. */
  const char *const *notes = msr_dataset_get_notes (ds);
  g_assert_nonnull (notes[0]);
  g_assert_nonnull (strstr (notes[0], "Dropped 10 ratings (3 in u1.base, 7 in u1.test) of 2 movies"));

  g_autoptr(MsrDatasetStats) all = msr_dataset_compute_stats (ds, MSR_SPLIT_MASK_ALL);
  g_autoptr(MsrDatasetStats) test = msr_dataset_compute_stats (ds, MSR_SPLIT_MASK (MSR_SPLIT_TEST));
  for (guint s = 0; s < 5; s++)
    {
      const MsrScenarioStats *st = &all->scenarios[s];
      g_assert_cmpstr (st->name, ==, genre_expected[s].name);
      g_assert_cmpuint (st->rows, ==, genre_expected[s].rows);
      g_assert_cmpuint (st->users, ==, genre_expected[s].users);
      g_assert_cmpuint (st->items, ==, genre_expected[s].items);
      g_assert_cmpfloat_with_epsilon ((double) st->positives / st->rows, genre_expected[s].pos_rate, 0.0005);
      g_assert_cmpuint (st->rows_by_split[MSR_SPLIT_TRAIN] + st->rows_by_split[MSR_SPLIT_VALID], ==,
                        genre_expected[s].base);
      g_assert_cmpuint (test->scenarios[s].rows, ==, genre_expected[s].test);
    }
  g_assert_cmpuint (all->total.users, ==, 943);
  g_assert_cmpuint (all->total.items, ==, 1680);   /* 1,682 less the two 'unknown' movies */
  g_assert_cmpuint (all->users_in_all, ==, 849);
  /* 55.4% positive overall (README), over the kept rows. */
  g_assert_cmpfloat_with_epsilon ((double) all->total.positives / all->total.rows, 0.554, 0.0005);

  /* Jaccard of user sets: symmetric, 1 on the diagonal, in (0, 1]. */
  for (guint a = 0; a < 5; a++)
    for (guint b = 0; b < 5; b++)
      {
        double j = all->user_jaccard[a * 5 + b];
        g_assert_cmpfloat (j, ==, all->user_jaccard[b * 5 + a]);
        if (a == b)
          g_assert_cmpfloat (j, ==, 1.0);
        else
          g_assert_true (j > 0 && j < 1);
      }
  /* Action (943 users) contains every user, so J(Family, Action) = 890/943. */
  g_assert_cmpfloat_with_epsilon (all->user_jaccard[0 * 5 + 1], 890.0 / 943.0, 1e-12);

  /* Fields, vocabularies and the multi-hot genres. */
  guint user = msr_dataset_get_user_field (ds), item = msr_dataset_get_item_field (ds);
  g_assert_cmpuint (msr_dataset_get_field_cardinality (ds, user), ==, 944);   /* + unknown */
  g_assert_cmpuint (msr_dataset_get_field_cardinality (ds, item), ==, 1681);
  int genres = msr_dataset_find_field (ds, "genres");
  g_assert_cmpint (genres, >=, 0);
  g_assert_cmpint (msr_dataset_get_field_kind (ds, (guint) genres), ==, MSR_FIELD_MULTI_HOT);
  g_assert_cmpuint (msr_dataset_get_field_cardinality (ds, (guint) genres), ==, 19);   /* 18 + unknown */
  /* Row 0 of u1.base is user 1 rating Toy Story: Animation, Children's, Comedy. */
  const guint32 *off = msr_dataset_get_field_offsets (ds, (guint) genres);
  const gint32 *gc = msr_dataset_get_field_codes (ds, (guint) genres);
  g_assert_cmpuint (off[1] - off[0], ==, 3);
  g_assert_cmpstr (msr_dataset_get_field_value (ds, (guint) genres, gc[0]), ==, "Animation");
  g_assert_cmpstr (msr_dataset_get_field_value (ds, (guint) genres, gc[2]), ==, "Comedy");
  g_assert_cmpstr (msr_dataset_get_value_label (ds, item, msr_dataset_get_field_codes (ds, item)[0]),
                   ==, "Toy Story (1995)");
  g_assert_cmpuint (msr_dataset_get_scenarios (ds)[0], ==, 0);   /* Family */
  /* Latin-1 titles arrive as UTF-8. */
  gint32 code = msr_dataset_lookup_code (ds, item, "1144");
  g_assert_cmpint (code, !=, MSR_UNKNOWN_CODE);
  g_assert_true (g_utf8_validate (msr_dataset_get_value_label (ds, item, code), -1, NULL));

  /* The same files load to the same fingerprint. */
  g_autoptr(MsrDataset) again = msr_movielens_load (dir, MSR_MOVIELENS_SCENARIOS_GENRE,
                                                    MSR_SPLIT_METHOD_FILE, NULL, NULL, NULL, &error);
  g_assert_cmpstr (msr_dataset_get_fingerprint (ds), ==, msr_dataset_get_fingerprint (again));
  g_assert_cmpuint (strlen (msr_dataset_get_fingerprint (ds)), ==, 64);
}

/* Counts the age framing straight from the raw files. */
static void
test_movielens_age (void)
{
  REQUIRE_MOVIELENS (dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = msr_movielens_load (dir, MSR_MOVIELENS_SCENARIOS_AGE,
                                                 MSR_SPLIT_METHOD_RANDOM, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msr_dataset_get_n_rows (ds), ==, 100000);
  g_assert_cmpuint (msr_dataset_get_n_dropped (ds), ==, 0);

  int age[1000] = { 0 };
  g_autofree char *upath = g_build_filename (dir, "u.user", NULL);
  FILE *f = fopen (upath, "r");
  int id, a;
  while (fscanf (f, "%d|%d|%*[^\n]\n", &id, &a) == 2)
    age[id] = a;
  fclose (f);
  guint64 rows[3] = { 0 }, pos[3] = { 0 };
  g_autofree char *dpath = g_build_filename (dir, "u.data", NULL);
  f = fopen (dpath, "r");
  int u, i, r;
  long t;
  while (fscanf (f, "%d\t%d\t%d\t%ld\n", &u, &i, &r, &t) == 4)
    {
      int s = age[u] < 25 ? 0 : age[u] < 35 ? 1 : 2;
      rows[s]++;
      pos[s] += r >= 4;
    }
  fclose (f);

  g_autoptr(MsrDatasetStats) st = msr_dataset_compute_stats (ds, MSR_SPLIT_MASK_ALL);
  g_assert_cmpuint (st->total.rows, ==, 100000);
  g_assert_cmpuint (st->total.users, ==, 943);
  g_assert_cmpuint (st->total.items, ==, 1682);
  g_assert_cmpuint (st->total.positives, ==, 55375);
  for (guint s = 0; s < 3; s++)
    {
      g_assert_cmpuint (st->scenarios[s].rows, ==, rows[s]);
      g_assert_cmpuint (st->scenarios[s].positives, ==, pos[s]);
    }
  /* Age bands share no users. */
  g_assert_cmpfloat (st->user_jaccard[0 * 3 + 1], ==, 0.0);
  g_assert_cmpuint (st->users_in_all, ==, 0);
}

static void
count_splits (const MsrDataset *ds, guint s, guint64 counts[3])
{
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  const guint8 *sp = msr_dataset_get_splits (ds);
  counts[0] = counts[1] = counts[2] = 0;
  for (gsize r = 0; r < msr_dataset_get_n_rows (ds); r++)
    if (scen[r] == s)
      counts[sp[r]]++;
}

static void
test_splits (void)
{
  REQUIRE_MOVIELENS (dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = msr_movielens_load (dir, MSR_MOVIELENS_SCENARIOS_GENRE,
                                                 MSR_SPLIT_METHOD_RANDOM, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  MsrSplitOptions opts;
  msr_split_options_init (&opts);

  /* Random: per scenario round(20%) test, then round(10%) of the rest valid. */
  opts.method = MSR_SPLIT_METHOD_RANDOM;
  g_assert_true (msr_dataset_apply_split (ds, &opts, &error));
  g_autofree char *fp1 = g_strdup (msr_dataset_get_fingerprint (ds));
  for (guint s = 0; s < msr_dataset_get_n_scenarios (ds); s++)
    {
      guint64 c[3];
      count_splits (ds, s, c);
      guint64 n = c[0] + c[1] + c[2];
      guint64 n_test = (guint64) floor (n * 0.2 + 0.5);
      g_assert_cmpuint (c[MSR_SPLIT_TEST], ==, n_test);
      g_assert_cmpuint (c[MSR_SPLIT_VALID], ==, (guint64) floor ((n - n_test) * 0.1 + 0.5));
    }
  /* Same seed, same split; another seed, another split. */
  g_assert_true (msr_dataset_apply_split (ds, &opts, &error));
  g_assert_cmpstr (fp1, ==, msr_dataset_get_fingerprint (ds));
  opts.seed = 7;
  g_assert_true (msr_dataset_apply_split (ds, &opts, &error));
  g_assert_cmpstr (fp1, !=, msr_dataset_get_fingerprint (ds));

  /* Chronological: within each scenario no training row is newer than a
   * test row, and validation rows are the newest training rows. */
  opts.method = MSR_SPLIT_METHOD_TIME;
  opts.valid_by_time = TRUE;
  g_assert_true (msr_dataset_apply_split (ds, &opts, &error));
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  const guint8 *sp = msr_dataset_get_splits (ds);
  const gint64 *ts = msr_dataset_get_timestamps (ds);
  for (guint s = 0; s < msr_dataset_get_n_scenarios (ds); s++)
    {
      gint64 max_train = G_MININT64, min_valid = G_MAXINT64, max_valid = G_MININT64, min_test = G_MAXINT64;
      for (gsize r = 0; r < msr_dataset_get_n_rows (ds); r++)
        {
          if (scen[r] != s)
            continue;
          if (sp[r] == MSR_SPLIT_TRAIN) max_train = MAX (max_train, ts[r]);
          if (sp[r] == MSR_SPLIT_VALID) min_valid = MIN (min_valid, ts[r]), max_valid = MAX (max_valid, ts[r]);
          if (sp[r] == MSR_SPLIT_TEST) min_test = MIN (min_test, ts[r]);
        }
      g_assert_cmpint (max_train, <=, min_valid);
      g_assert_cmpint (max_valid, <=, min_test);
    }

  /* A file split needs test rows. */
  opts.method = MSR_SPLIT_METHOD_FILE;
  g_assert_false (msr_dataset_apply_split (ds, &opts, &error));
  g_assert_nonnull (strstr (error->message, "test file"));
  g_clear_error (&error);

  opts.method = MSR_SPLIT_METHOD_RANDOM;
  opts.test_fraction = 1.5;
  g_assert_false (msr_dataset_apply_split (ds, &opts, &error));
  g_assert_true (g_error_matches (error, MSR_ERROR, MSR_ERROR_INVALID));
}

static void
test_verify_and_copy (void)
{
  REQUIRE_MOVIELENS (dir);
  g_autoptr(GError) error = NULL;
  g_assert_true (msr_movielens_verify_dir (dir, &error));

  g_autofree char *tmp = g_dir_make_tmp ("msr-ml-XXXXXX", NULL);
  g_autofree char *copied = NULL;
  g_assert_true (msr_movielens_copy_from (dir, tmp, &copied, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (msr_movielens_verify_dir (copied, &error));
  /* A second copy refuses to overwrite. */
  g_autofree char *again = NULL;
  g_assert_false (msr_movielens_copy_from (dir, tmp, &again, NULL, &error));
  g_assert_nonnull (strstr (error->message, "already exists"));
  g_clear_error (&error);

  /* One changed byte is caught and the file named. */
  g_autofree char *item = g_build_filename (copied, "u.user", NULL);
  g_autofree char *contents = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (item, &contents, &len, NULL));
  contents[100] ^= 1;
  g_assert_true (g_file_set_contents (item, contents, (gssize) len, NULL));
  g_assert_false (msr_movielens_verify_dir (copied, &error));
  g_assert_true (g_error_matches (error, MSR_ERROR, MSR_ERROR_CHECKSUM));
  g_assert_nonnull (strstr (error->message, "u.user"));
  g_clear_error (&error);
  /* A missing file too. */
  g_assert_cmpint (g_unlink (item), ==, 0);
  g_assert_false (msr_movielens_verify_dir (copied, &error));
  g_assert_nonnull (strstr (error->message, "u.user: missing"));
  msr_test_rm_rf (tmp);
}

static void
test_project_roundtrip (void)
{
  REQUIRE_MOVIELENS (dir);
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("msr-proj-XXXXXX", NULL);
  g_autofree char *pdir = g_build_filename (tmp, "ml", NULL);
  MsrSplitOptions split;
  msr_split_options_init (&split);

  g_autoptr(MsrProject) p = msr_project_create_movielens (pdir, dir, MSR_MOVIELENS_SCENARIOS_GENRE, &split, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (msr_project_get_name (p), ==, "ml");
  g_autofree char *desc = msr_project_describe_dataset (p);
  g_assert_nonnull (strstr (desc, "MovieLens-100K, genre scenarios, u1 split"));
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msr_dataset_get_n_rows (ds), ==, 99990);

  /* Creating twice refuses. */
  g_autoptr(MsrProject) twice = msr_project_create_movielens (pdir, dir, MSR_MOVIELENS_SCENARIOS_GENRE, &split, &error);
  g_assert_null (twice);
  g_assert_nonnull (strstr (error->message, "already exists"));
  g_clear_error (&error);

  /* Cancelling a load stops it. */
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_cancellable_cancel (cancel);
  g_autoptr(MsrDataset) none = msr_project_load_dataset (p, NULL, NULL, cancel, &error);
  g_assert_null (none);
  g_assert_true (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  msr_test_rm_rf (tmp);
}

static void
write_project (const char *dir, const char *text)
{
  g_autofree char *file = g_build_filename (dir, MSR_PROJECT_FILE, NULL);
  g_assert_true (g_file_set_contents (file, text, -1, NULL));
}

static void
test_project_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("msr-proj-XXXXXX", NULL);
  static const struct { const char *text; const char *expect; } cases[] = {
    { NULL, "not an MSR Lens project" },
    { "this is not a key file\n\x01\x02", "project.msrlens" },
    { "[project]\nname=x\n", "[project] format: missing" },
    { "[project]\nformat=99\n", "format '99' is not supported" },
    { "[project]\nformat=1\n[dataset]\nkind=parquet\npath=x\n", "[dataset] kind: must be movielens-100k or csv" },
    { "[project]\nformat=1\n[dataset]\nkind=csv\n", "[dataset] path: missing" },
    { "[project]\nformat=1\n[dataset]\nkind=csv\npath=d.csv\nlabel=y\nscenario=s\nuser=u\n", "[dataset] item: missing" },
    { "[project]\nformat=1\n[dataset]\nkind=movielens-100k\npath=x\n[split]\nmethod=magic\n", "[split] method" },
    { "[project]\nformat=1\n[dataset]\nkind=movielens-100k\npath=x\n[split]\nvalid-fraction=abc\n", "[split] valid-fraction: not a number" },
    { "[project]\nformat=1\n[dataset]\nkind=movielens-100k\npath=x\n[split]\ntest-fraction=2\n", "[split] test-fraction" },
    { "[project]\nformat=1\n[dataset]\nkind=movielens-100k\npath=x\nscenarios=era\n", "[dataset] scenarios" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      if (cases[i].text)
        write_project (tmp, cases[i].text);
      g_autoptr(MsrProject) p = msr_project_open (tmp, &error);
      g_assert_null (p);
      if (strstr (error->message, cases[i].expect) == NULL)
        g_error ("case %u: '%s' lacks '%s'", i, error->message, cases[i].expect);
      g_clear_error (&error);
    }

  /* A valid description whose data folder is gone fails at load, naming it. */
  write_project (tmp, "[project]\nformat=1\n[dataset]\nkind=movielens-100k\npath=/nonexistent/ml-100k\n");
  g_autoptr(MsrProject) p = msr_project_open (tmp, &error);
  g_assert_no_error (error);
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (p, NULL, NULL, NULL, &error);
  g_assert_null (ds);
  g_assert_nonnull (strstr (error->message, "/nonexistent/ml-100k/u.data"));
  msr_test_rm_rf (tmp);
}

static void
test_project_csv (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("msr-proj-XXXXXX", NULL);
  g_autofree char *csv = g_build_filename (tmp, "train.tsv", NULL);
  g_autofree char *test = g_build_filename (tmp, "test.tsv", NULL);
  g_autoptr(GString) a = g_string_new ("u\ti\tdom\ty\tts\n");
  g_autoptr(GString) b = g_string_new ("ts\ty\tdom\ti\tu\n");   /* other column order */
  for (int r = 0; r < 200; r++)
    g_string_append_printf (a, "u%d\ti%d\t%s\t%d\t%d\n", r % 17, r % 23, r % 3 ? "feed" : "search", r % 2, 1000 + r);
  for (int r = 0; r < 50; r++)
    g_string_append_printf (b, "%d\t%d\t%s\ti%d\tu%d\n", 5000 + r, r % 2, r % 3 ? "feed" : "search", r % 29, r % 19);
  g_assert_true (g_file_set_contents (csv, a->str, -1, NULL));
  g_assert_true (g_file_set_contents (test, b->str, -1, NULL));

  MsrCsvSchema s = { 0 };
  s.label_column = g_strdup ("y");
  s.scenario_column = g_strdup ("dom");
  s.user_column = g_strdup ("u");
  s.item_column = g_strdup ("i");
  s.time_column = g_strdup ("ts");
  MsrSplitOptions split;
  msr_split_options_init (&split);
  split.method = MSR_SPLIT_METHOD_FILE;

  g_autofree char *pdir = g_build_filename (tmp, "proj", NULL);
  g_autoptr(MsrProject) p = msr_project_create_csv (pdir, csv, &s, &split, test, &error);
  g_assert_no_error (error);
  g_autoptr(MsrProject) reopened = msr_project_open (pdir, &error);
  g_assert_no_error (error);
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (reopened, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msr_dataset_get_n_rows (ds), ==, 250);
  g_autoptr(MsrDatasetStats) st = msr_dataset_compute_stats (ds, MSR_SPLIT_MASK (MSR_SPLIT_TEST));
  g_assert_cmpuint (st->total.rows, ==, 50);
  /* Test-only items are in the vocabulary, so the model sees them as new ids. */
  g_assert_cmpint (msr_dataset_lookup_code (ds, msr_dataset_get_item_field (ds), "i28"), !=, MSR_UNKNOWN_CODE);

  /* A schema naming a column the test file lacks is refused before writing. */
  g_autofree char *bad = g_build_filename (tmp, "bad.tsv", NULL);
  g_assert_true (g_file_set_contents (bad, "u\ti\tdom\ty\n", -1, NULL));
  g_autofree char *pdir2 = g_build_filename (tmp, "proj2", NULL);
  g_autoptr(MsrProject) p2 = msr_project_create_csv (pdir2, csv, &s, &split, bad, &error);
  g_assert_null (p2);
  g_assert_nonnull (strstr (error->message, "no column named 'ts'"));
  g_assert_false (g_file_test (pdir2, G_FILE_TEST_EXISTS));
  msr_csv_schema_clear (&s);
  msr_test_rm_rf (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/movielens/genre", test_movielens_genre);
  g_test_add_func ("/movielens/age", test_movielens_age);
  g_test_add_func ("/movielens/verify-and-copy", test_verify_and_copy);
  g_test_add_func ("/dataset/splits", test_splits);
  g_test_add_func ("/project/roundtrip", test_project_roundtrip);
  g_test_add_func ("/project/errors", test_project_errors);
  g_test_add_func ("/project/csv", test_project_csv);
  return g_test_run ();
}

/* The knowledge store: round trips, resumable imports, read-only viewing,
 * hostile files, and the import of the real LLM knowledge for
 * MovieLens-100K (943 user rows, one of them empty; 1,591 movie
 * descriptions). */
#include "config.h"
#include "test-util.h"

#include <gio/gio.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>

#include "msr-knowledge.h"
#include "msr-knowledge-import.h"
#include "msr-movielens.h"
#include "msr-results.h"

static char *tmp_root;

static char *
tmp_path (const char *name)
{
  static guint counter;
  return g_strdup_printf ("%s/%u-%s", tmp_root, counter++, name);
}

static MsrKnowledge *
new_store (char **path_out)
{
  g_autoptr(GError) error = NULL;
  char *path = tmp_path ("knowledge.sqlite");
  MsrKnowledge *k = msr_knowledge_open (path, MSR_KNOWLEDGE_READ_WRITE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (k);
  *path_out = path;
  return k;
}

static gint64
start_import (MsrKnowledge *k, const char *source)
{
  g_autoptr(GError) error = NULL;
  MsrKnowledgeImport info = { .kind = (char *) "csv", .source = (char *) source, .llm = (char *) "test-llm" };
  gint64 id = msr_knowledge_begin_import (k, &info, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

static void
sql_exec (const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  char *msg = NULL;
  int rc = sqlite3_exec (db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK)
    g_error ("%s: %s", sql, msg);
  sqlite3_close (db);
}

/* ---- entries and imports ------------------------------------------------- */

static void
test_entries (void)
{
  g_autofree char *path = NULL;
  g_autoptr(MsrKnowledge) k = new_store (&path);
  g_autoptr(GError) error = NULL;
  gint64 im = start_import (k, "/data/texts.csv");
  const char *long_text = "## Overview\nLikes \"quoted\" things,\nacross lines. Ünïcödé ✓";
  MsrKnowledgeEntry e[] = {
    { .level = MSR_KNOWLEDGE_USER, .key = (char *) "7", .source = (char *) "llm:profile",
      .response = (char *) long_text, .prompt = (char *) "Describe user 7", .template_name = (char *) "user",
      .template_version = 2, .llm = (char *) "test-llm" },
    { .level = MSR_KNOWLEDGE_USER, .key = (char *) "12", .source = (char *) "llm:profile", .response = (char *) "b" },
    { .level = MSR_KNOWLEDGE_ITEM, .key = (char *) "7", .source = (char *) "llm:movie", .response = (char *) "c" },
    { .level = MSR_KNOWLEDGE_SCENARIO, .key = (char *) "Family", .source = (char *) "derived",
      .response = (char *) "d" },
  };
  guint added = 0, skipped = 0;
  g_assert_true (msr_knowledge_add_entries (k, im, e, G_N_ELEMENTS (e), &added, &skipped, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (added, ==, 4);
  g_assert_cmpuint (skipped, ==, 0);
  /* The same (level, key, source) again is skipped, whatever its text. */
  MsrKnowledgeEntry again[] = {
    { .level = MSR_KNOWLEDGE_USER, .key = (char *) "7", .source = (char *) "llm:profile", .response = (char *) "x" },
    { .level = MSR_KNOWLEDGE_USER, .key = (char *) "7", .source = (char *) "other", .response = (char *) "y" },
  };
  g_assert_true (msr_knowledge_add_entries (k, im, again, 2, &added, &skipped, &error));
  g_assert_cmpuint (added, ==, 1);
  g_assert_cmpuint (skipped, ==, 1);

  g_autoptr(MsrKnowledgeEntry) got = msr_knowledge_get_entry (k, MSR_KNOWLEDGE_USER, "7", "llm:profile", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got->response, ==, long_text);
  g_assert_cmpstr (got->prompt, ==, "Describe user 7");
  g_assert_cmpstr (got->template_name, ==, "user");
  g_assert_cmpuint (got->template_version, ==, 2);
  g_assert_cmpstr (got->llm, ==, "test-llm");
  g_assert_cmpint (got->import_id, ==, im);
  g_assert_true (g_str_has_suffix (got->created_at, "Z"));
  /* No source: the first in name order. */
  g_autoptr(MsrKnowledgeEntry) first = msr_knowledge_get_entry (k, MSR_KNOWLEDGE_USER, "7", NULL, &error);
  g_assert_cmpstr (first->source, ==, "llm:profile");
  g_assert_null (msr_knowledge_get_entry (k, MSR_KNOWLEDGE_USER, "999", NULL, &error));
  g_assert_no_error (error);

  g_autoptr(GPtrArray) users = msr_knowledge_list_entries (k, MSR_KNOWLEDGE_USER, "llm:profile", FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (users->len, ==, 2);
  /* Ordered by key as text; a listing carries no texts. */
  g_assert_cmpstr (((MsrKnowledgeEntry *) users->pdata[0])->key, ==, "12");
  g_assert_null (((MsrKnowledgeEntry *) users->pdata[0])->response);
  g_autoptr(GPtrArray) all = msr_knowledge_list_entries (k, -1, NULL, TRUE, &error);
  g_assert_cmpuint (all->len, ==, 5);
  g_auto(GStrv) sources = msr_knowledge_list_sources (k, MSR_KNOWLEDGE_USER, &error);
  g_assert_cmpuint (g_strv_length (sources), ==, 2);
  g_assert_cmpstr (sources[0], ==, "llm:profile\t2");
  g_assert_cmpstr (sources[1], ==, "other\t1");

  /* Resuming: the same input before its end gets the same import. */
  g_assert_cmpint (start_import (k, "/data/texts.csv"), ==, im);
  g_assert_true (msr_knowledge_finish_import (k, im, "{\"rows\": 4}", &error));
  g_assert_no_error (error);
  gint64 im2 = start_import (k, "/data/texts.csv");
  g_assert_cmpint (im2, !=, im);
  g_autoptr(GPtrArray) imports = msr_knowledge_list_imports (k, &error);
  g_assert_cmpuint (imports->len, ==, 2);
  MsrKnowledgeImport *done = imports->pdata[1];
  g_assert_cmpint (done->id, ==, im);
  g_assert_true (done->complete);
  g_assert_cmpstr (done->details, ==, "{\"rows\": 4}");
  g_assert_false (((MsrKnowledgeImport *) imports->pdata[0])->complete);

  /* Impossible arguments change nothing. */
  MsrKnowledgeEntry bad[] = {
    { .level = MSR_KNOWLEDGE_USER, .key = (char *) "ok", .source = (char *) "s", .response = (char *) "fine" },
    { .level = MSR_KNOWLEDGE_USER, .key = (char *) "\xff\xfe", .source = (char *) "s", .response = (char *) "t" },
  };
  g_assert_false (msr_knowledge_add_entries (k, im2, bad, 2, NULL, NULL, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  g_assert_null (msr_knowledge_get_entry (k, MSR_KNOWLEDGE_USER, "ok", "s", &error));
  MsrKnowledgeImport wrong = { .kind = (char *) "telepathy", .source = (char *) "x" };
  g_assert_cmpint (msr_knowledge_begin_import (k, &wrong, &error), ==, 0);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (msr_knowledge_finish_import (k, im2, "[1, 2]", &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (msr_knowledge_finish_import (k, 4242, NULL, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
}

/* ---- vectors, scenarios, correlations ------------------------------------ */

static void
test_vectors (void)
{
  g_autofree char *path = NULL;
  g_autoptr(MsrKnowledge) k = new_store (&path);
  g_autoptr(GError) error = NULL;
  gint64 im = start_import (k, "/data/u.csv");
  MsrKnowledgeEntry e[] = {
    { .level = MSR_KNOWLEDGE_USER, .key = (char *) "b", .source = (char *) "s", .response = (char *) "B" },
    { .level = MSR_KNOWLEDGE_USER, .key = (char *) "a", .source = (char *) "s", .response = (char *) "A" },
    { .level = MSR_KNOWLEDGE_USER, .key = (char *) "c", .source = (char *) "t", .response = (char *) "C" },
  };
  g_assert_true (msr_knowledge_add_entries (k, im, e, 3, NULL, NULL, &error));
  g_autoptr(GPtrArray) listed = msr_knowledge_list_entries (k, MSR_KNOWLEDGE_USER, NULL, FALSE, &error);
  gint64 ids[3];
  for (guint i = 0; i < 3; i++)
    ids[i] = ((MsrKnowledgeEntry *) listed->pdata[i])->id;   /* a, b (source s), c (source t) */

  MsrKnowledgeEncoder enc = { .name = (char *) "toy-3", .kind = (char *) "builtin", .dim = 3,
                              .params = (char *) "{\"k\": 3}" };
  g_assert_true (msr_knowledge_put_encoder (k, &enc, &error));
  g_assert_no_error (error);
  /* Values that must read back bit for bit, whatever the host. */
  const float v[9] = { 1.0f, -0.0f, 3.4028235e38f, 1e-45f, 0.1f, -2.5f, 7, 8, 9 };
  g_assert_true (msr_knowledge_put_embeddings (k, "toy-3", ids, v, 3, &error));
  g_assert_no_error (error);

  g_autoptr(MsrKnowledgeVectors) got = msr_knowledge_get_vectors (k, MSR_KNOWLEDGE_USER, "toy-3", NULL, &error);
  g_assert_no_error (error);
  /* Source s has the most vectors (2). */
  g_assert_cmpstr (got->source, ==, "s");
  g_assert_cmpuint (got->n, ==, 2);
  g_assert_cmpuint (got->dim, ==, 3);
  g_assert_cmpstr (got->keys[0], ==, "a");
  g_assert_cmpstr (got->keys[1], ==, "b");
  g_assert_null (got->keys[2]);
  g_assert_cmpmem (got->vectors, 6 * sizeof (float), v, 6 * sizeof (float));
  g_assert_cmpint (msr_knowledge_vectors_find (got, "b"), ==, 1);
  g_assert_cmpint (msr_knowledge_vectors_find (got, "zz"), ==, -1);
  {
    /* Nearest by cosine: a third vector close to a, one zero vector. */
    const float nv[12] = { 1, 0, 0, 0, 1, 0, 0.9f, 0.1f, 0, 0, 0, 0 };
    const char *nk[] = { "a", "b", "c", "z", NULL };
    MsrKnowledgeVectors near = { .n = 4, .dim = 3, .keys = (char **) nk, .vectors = (float *) nv };
    guint rows[3];
    double cos[3];
    g_assert_cmpuint (msr_knowledge_vectors_nearest (&near, 0, 3, rows, cos), ==, 2);
    g_assert_cmpuint (rows[0], ==, 2);
    g_assert_cmpfloat_with_epsilon (cos[0], 0.9 / sqrt (0.82), 1e-6);
    g_assert_cmpuint (rows[1], ==, 1);
    g_assert_cmpfloat_with_epsilon (cos[1], 0.0, 1e-12);
    g_assert_cmpuint (msr_knowledge_vectors_nearest (&near, 3, 3, rows, cos), ==, 0);
  }
  g_assert_cmpuint (strlen (got->fingerprint), ==, 64);
  g_autoptr(MsrKnowledgeVectors) t = msr_knowledge_get_vectors (k, MSR_KNOWLEDGE_USER, "toy-3", "t", &error);
  g_assert_cmpuint (t->n, ==, 1);
  g_assert_null (msr_knowledge_get_vectors (k, MSR_KNOWLEDGE_ITEM, "toy-3", NULL, &error));
  g_assert_no_error (error);

  /* The fingerprint follows the values. */
  const float w[3] = { 1.0f, 0.0f, 3.4028235e38f };
  g_assert_true (msr_knowledge_put_embeddings (k, "toy-3", ids, w, 1, &error));
  g_autoptr(MsrKnowledgeVectors) changed = msr_knowledge_get_vectors (k, MSR_KNOWLEDGE_USER, "toy-3", "s", &error);
  g_assert_cmpstr (changed->fingerprint, !=, got->fingerprint);

  /* Refused: an unknown encoder, non-finite values. */
  g_assert_false (msr_knowledge_put_embeddings (k, "nope", ids, v, 1, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_clear_error (&error);
  const float inf[3] = { 1, INFINITY, 0 };
  g_assert_false (msr_knowledge_put_embeddings (k, "toy-3", ids, inf, 1, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_clear_error (&error);

  g_autoptr(GPtrArray) encoders = msr_knowledge_list_encoders (k, &error);
  g_assert_cmpuint (encoders->len, ==, 1);
  g_assert_cmpuint (((MsrKnowledgeEncoder *) encoders->pdata[0])->n_vectors, ==, 3);
  /* Re-describing the encoder drops its vectors. */
  g_assert_true (msr_knowledge_put_encoder (k, &enc, &error));
  g_assert_null (msr_knowledge_get_vectors (k, MSR_KNOWLEDGE_USER, "toy-3", NULL, &error));
  g_assert_no_error (error);

  /* Scenarios and a correlation matrix, read back in another order. */
  const char *names[] = { "x", "y", "z" };
  g_assert_true (msr_knowledge_set_scenarios (k, names, 3, &error));
  g_auto(GStrv) sc = msr_knowledge_get_scenarios (k, &error);
  g_assert_cmpstrv (sc, ((const char *[]) { "x", "y", "z", NULL }));
  const double m[9] = { 1, 0.5, NAN, 0.5, 1, -0.25, NAN, -0.25, 1 };
  g_assert_true (msr_knowledge_put_correlation (k, "llm:toy-3", names, 3, m, &error));
  g_assert_no_error (error);
  const char *rev[] = { "z", "y", "x", "w" };
  g_autofree double *back = msr_knowledge_get_correlation (k, "llm:toy-3", rev, 4, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (back[0 * 4 + 1], ==, -0.25);   /* z, y */
  g_assert_cmpfloat (back[1 * 4 + 2], ==, 0.5);     /* y, x */
  g_assert_true (isnan (back[0 * 4 + 2]));          /* z, x: undefined */
  g_assert_true (isnan (back[3 * 4 + 3]));          /* w: not stored */
  g_assert_null (msr_knowledge_get_correlation (k, "data:none", rev, 4, &error));
  g_assert_no_error (error);
  const double out_of_range[1] = { 1.5 };
  g_assert_false (msr_knowledge_put_correlation (k, "bad", names, 1, out_of_range, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_clear_error (&error);
  g_auto(GStrv) csources = msr_knowledge_list_correlation_sources (k, &error);
  g_assert_cmpstrv (csources, ((const char *[]) { "llm:toy-3", NULL }));
}

/* ---- read-only viewing and hostile files --------------------------------- */

static void
test_read_only (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  {
    g_autoptr(MsrKnowledge) k = new_store (&path);
    gint64 im = start_import (k, "/x");
    MsrKnowledgeEntry e = { .level = MSR_KNOWLEDGE_ITEM, .key = (char *) "1", .source = (char *) "s",
                            .response = (char *) "t" };
    g_assert_true (msr_knowledge_add_entries (k, im, &e, 1, NULL, NULL, &error));
  }
  g_autofree char *before = NULL, *after = NULL;
  gsize n_before = 0, n_after = 0;
  g_assert_true (g_file_get_contents (path, &before, &n_before, NULL));
  {
    g_autoptr(MsrKnowledge) ro = msr_knowledge_open (path, MSR_KNOWLEDGE_READ_ONLY, &error);
    g_assert_no_error (error);
    g_autoptr(GPtrArray) all = msr_knowledge_list_entries (ro, -1, NULL, TRUE, &error);
    g_assert_cmpuint (all->len, ==, 1);
    g_assert_true (msr_knowledge_check (ro, &error));
    MsrKnowledgeEntry e = { .level = MSR_KNOWLEDGE_ITEM, .key = (char *) "2", .source = (char *) "s",
                            .response = (char *) "t" };
    g_assert_false (msr_knowledge_add_entries (ro, 1, &e, 1, NULL, NULL, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_READ_ONLY);
    g_clear_error (&error);
  }
  g_assert_true (g_file_get_contents (path, &after, &n_after, NULL));
  g_assert_cmpmem (before, n_before, after, n_after);

  /* A missing file, a folder, another kind of store, random bytes. */
  g_autofree char *missing = tmp_path ("none.sqlite");
  g_assert_null (msr_knowledge_open (missing, MSR_KNOWLEDGE_READ_ONLY, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));
  g_clear_error (&error);
  g_assert_null (msr_knowledge_open (tmp_root, MSR_KNOWLEDGE_READ_WRITE, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_IO);
  g_clear_error (&error);
  g_autofree char *results = tmp_path ("results.sqlite");
  {
    g_autoptr(MsrResults) r = msr_results_open (results, MSR_RESULTS_READ_WRITE, &error);
    g_assert_no_error (error);
  }
  g_assert_null (msr_knowledge_open (results, MSR_KNOWLEDGE_READ_WRITE, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_SCHEMA);
  g_assert_nonnull (strstr (error->message, "not an MSR Lens knowledge store"));
  g_assert_nonnull (strstr (error->message, results));
  g_clear_error (&error);
  g_autofree char *noise = tmp_path ("noise.sqlite");
  g_assert_true (g_file_set_contents (noise, "SQLite format 3\0 this is not a database at all........", 56, NULL));
  g_assert_null (msr_knowledge_open (noise, MSR_KNOWLEDGE_READ_ONLY, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_PARSE);
  g_clear_error (&error);

  /* A store whose table grew a column another program added. */
  sql_exec (path, "ALTER TABLE entries ADD COLUMN mood TEXT");
  g_assert_null (msr_knowledge_open (path, MSR_KNOWLEDGE_READ_ONLY, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_SCHEMA);
  g_assert_nonnull (strstr (error->message, "unexpected column 'mood'"));
  g_clear_error (&error);

  /* A vector of the wrong length, written behind the engine's back. */
  g_autofree char *p2 = NULL;
  {
    g_autoptr(MsrKnowledge) k = new_store (&p2);
    gint64 im = start_import (k, "/y");
    MsrKnowledgeEntry e = { .level = MSR_KNOWLEDGE_USER, .key = (char *) "u", .source = (char *) "s",
                            .response = (char *) "t" };
    g_assert_true (msr_knowledge_add_entries (k, im, &e, 1, NULL, NULL, &error));
    MsrKnowledgeEncoder enc = { .name = (char *) "e4", .kind = (char *) "imported", .dim = 4 };
    g_assert_true (msr_knowledge_put_encoder (k, &enc, &error));
  }
  sql_exec (p2, "INSERT INTO embeddings (entry_id, encoder, vector) VALUES (1, 'e4', x'0000803f')");
  {
    g_autoptr(MsrKnowledge) k = msr_knowledge_open (p2, MSR_KNOWLEDGE_READ_ONLY, &error);
    g_assert_no_error (error);
    g_assert_null (msr_knowledge_get_vectors (k, MSR_KNOWLEDGE_USER, "e4", NULL, &error));
    g_assert_error (error, MSR_ERROR, MSR_ERROR_PARSE);
    g_assert_nonnull (strstr (error->message, "table 'embeddings', entry 1: column 'vector' holds 4 bytes"));
    g_clear_error (&error);
  }
}

/* ---- CSV imports --------------------------------------------------------- */

static gboolean cancel_after_first;

static void
cancel_progress (double fraction, const char *stage, gpointer data)
{
  if (cancel_after_first)
    g_cancellable_cancel (data);
}

static void
test_csv_import (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr(MsrKnowledge) k = new_store (&path);
  g_autofree char *csv = tmp_path ("texts.csv");
  GString *s = g_string_new ("id,note,text\n");
  for (guint i = 0; i < 700; i++)
    g_string_append_printf (s, "%u,n,\"Line one of %u,\nline \"\"two\"\"\"\n", i, i);
  g_string_append (s, "5,n,a duplicate\n");
  g_string_append (s, "  701 ,n,   \n");
  g_assert_true (g_file_set_contents (csv, s->str, (gssize) s->len, NULL));
  g_string_free (s, TRUE);

  MsrKnowledgeCsvImport o = { .path = csv, .level = MSR_KNOWLEDGE_USER, .key_column = "id",
                              .text_column = "text", .llm = "test-llm", .batch = 256 };
  /* Interrupted after the first batch: what was added stays, and the same
   * import picks up the rest. */
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  cancel_after_first = TRUE;
  g_assert_null (msr_knowledge_import_csv (k, &o, NULL, cancel_progress, cancel, cancel, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  cancel_after_first = FALSE;
  g_autoptr(GPtrArray) partial = msr_knowledge_list_entries (k, MSR_KNOWLEDGE_USER, NULL, FALSE, &error);
  g_assert_cmpuint (partial->len, >, 0);
  g_assert_cmpuint (partial->len, <, 700);

  g_autoptr(MsrKnowledgeImportReport) r = msr_knowledge_import_csv (k, &o, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->rows, ==, 702);
  g_assert_cmpuint (r->added + r->already, ==, 700);
  g_assert_cmpuint (r->already, ==, partial->len);
  g_assert_cmpuint (r->empty, ==, 1);
  g_assert_cmpuint (r->duplicates->len, ==, 1);
  g_assert_cmpstr (r->duplicates->pdata[0], ==, "5");
  g_assert_cmpstr (r->source, ==, "test-llm:text");
  g_autoptr(MsrKnowledgeEntry) e = msr_knowledge_get_entry (k, MSR_KNOWLEDGE_USER, "42", NULL, &error);
  g_assert_cmpstr (e->response, ==, "Line one of 42,\nline \"two\"");
  g_autoptr(GPtrArray) imports = msr_knowledge_list_imports (k, &error);
  g_assert_cmpuint (imports->len, ==, 1);
  MsrKnowledgeImport *im = imports->pdata[0];
  g_assert_true (im->complete);
  g_assert_cmpint (im->id, ==, r->import_id);
  g_assert_cmpuint (strlen (im->source_sha256), ==, 64);
  g_assert_nonnull (strstr (im->details, "\"duplicate_keys\""));

  /* A missing column names the columns the file has. */
  MsrKnowledgeCsvImport bad = o;
  bad.text_column = "profile";
  g_assert_null (msr_knowledge_import_csv (k, &bad, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_SCHEMA);
  g_assert_nonnull (strstr (error->message, "'id', 'note', 'text'"));
}

/* The real LLM knowledge for MovieLens-100K, against the genre dataset. */
static void
test_movielens_knowledge (void)
{
  MSR_TEST_REQUIRE_SHARED (ml, "movielens-100k");
  MSR_TEST_REQUIRE_SHARED (users_csv, "llm-knowledge-ml100k/users_structured_100k.csv");
  MSR_TEST_REQUIRE_SHARED (movies_csv, "llm-knowledge-ml100k/movies_structured_100K.csv");
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = msr_movielens_load (ml, MSR_MOVIELENS_SCENARIOS_GENRE, MSR_SPLIT_METHOD_FILE, NULL,
                                                 NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *path = NULL;
  g_autoptr(MsrKnowledge) k = new_store (&path);

  MsrKnowledgeCsvImport users = { .path = users_csv, .level = MSR_KNOWLEDGE_USER, .key_column = "user_id",
                                  .text_column = "user_profile", .llm = "gpt-4o-mini" };
  g_autoptr(MsrKnowledgeImportReport) ru = msr_knowledge_import_csv (k, &users, ds, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  /* 943 rows, one per user; user 685's profile is empty in the file: it
   * is reported missing, not imported. */
  g_assert_cmpuint (ru->rows, ==, 943);
  g_assert_cmpuint (ru->added, ==, 942);
  g_assert_cmpuint (ru->empty, ==, 1);
  g_assert_cmpuint (ru->unknown->len, ==, 0);
  g_assert_cmpuint (ru->missing->len, ==, 1);
  g_assert_cmpstr (ru->missing->pdata[0], ==, "685");

  MsrKnowledgeCsvImport movies = { .path = movies_csv, .level = MSR_KNOWLEDGE_ITEM, .key_column = "movie_id",
                                   .text_column = "movie_info", .llm = "gpt-4o-mini" };
  g_autoptr(MsrKnowledgeImportReport) rm = msr_knowledge_import_csv (k, &movies, ds, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rm->rows, ==, 1591);
  /* The dataset's movies are those of u.item in a genre group (1,680 of
   * 1,682): the import reports which have no description. */
  guint n_items = msr_dataset_get_field_cardinality (ds, msr_dataset_get_item_field (ds)) - 1;
  g_test_message ("movies: %u in the dataset, %u imported, %u without a description, %u described but not in "
                  "the dataset", n_items, rm->added, rm->missing->len, rm->unknown->len);
  g_assert_cmpuint (rm->added + rm->missing->len, ==, n_items);
  g_assert_cmpuint (rm->added + rm->unknown->len + rm->empty + rm->duplicates->len, ==, 1591);
  g_assert_cmpuint (rm->missing->len + (1682 - n_items), >=, 91);

  /* Importing the same file again adds nothing. */
  g_autoptr(MsrKnowledgeImportReport) again = msr_knowledge_import_csv (k, &users, ds, NULL, NULL, NULL, &error);
  g_assert_cmpuint (again->added, ==, 0);
  g_assert_cmpuint (again->already, ==, 942);
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_test_init (&argc, &argv, NULL);
  tmp_root = g_dir_make_tmp ("msr-knowledge-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/knowledge/entries", test_entries);
  g_test_add_func ("/knowledge/vectors", test_vectors);
  g_test_add_func ("/knowledge/read-only", test_read_only);
  g_test_add_func ("/knowledge/import/csv", test_csv_import);
  g_test_add_func ("/knowledge/import/movielens", test_movielens_knowledge);

  int ret = g_test_run ();
  msr_test_rm_rf (tmp_root);
  return ret;
}

/* test-llm-fixture.h: a small CSV project for the knowledge-prompt tests.
 * A training file and a test file (the file split; validation rows are
 * carved at random from training), three scenarios (one with a colon in
 * its name, as custom ids must allow), users u1..u10 with a few rows in
 * each scenario, "heavy" with 40 training rows in "beta" written newest
 * first (so time order differs from file order and the per-scenario cap
 * bites), and "lonely" with test rows only. Every row has its own item
 * ("it<N>"), so a row can be recognised in a prompt by its item. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include "msr-project.h"

#define MSR_TEST_LLM_SCENARIO_C "gamma: the third"

static inline void
msr_test_llm_row (GString *s, guint *n, const char *user, guint scenario, guint label, gint64 ts)
{
  static const char *const names[3] = { "alpha", "beta", "\"" MSR_TEST_LLM_SCENARIO_C "\"" };
  guint id = (*n)++;
  g_string_append_printf (s, "%s,it%u,%s,%u,%" G_GINT64_FORMAT ",%s\n", user, id, names[scenario], label, ts,
                          id % 3 ? "phone" : "desktop");
}

/* Creates parent/name and returns the project folder. */
static inline char *
msr_test_llm_project (const char *parent, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *train = g_build_filename (parent, "train.csv", NULL);
  g_autofree char *test = g_build_filename (parent, "test.csv", NULL);
  GString *tr = g_string_new ("user,item,scenario,click,ts,device\n");
  GString *te = g_string_new ("user,item,scenario,click,ts,device\n");
  guint n = 1;
  gint64 ts = 1000000;
  for (guint u = 1; u <= 10; u++)
    {
      g_autofree char *user = g_strdup_printf ("u%u", u);
      for (guint sc = 0; sc < 3; sc++)
        for (guint j = 0; j <= (u + sc) % 4; j++)
          msr_test_llm_row (tr, &n, user, sc, (u + j) % 2, ts += 10);
      for (guint j = 0; j < 2; j++)
        msr_test_llm_row (te, &n, user, (u + j) % 3, j, ts += 10);
    }
  for (guint j = 0; j < 40; j++)
    msr_test_llm_row (tr, &n, "heavy", 1, j % 3 == 0, 5000000 - 10 * (gint64) j);
  msr_test_llm_row (te, &n, "lonely", 0, 1, ts += 10);
  msr_test_llm_row (te, &n, "lonely", 2, 0, ts += 10);
  g_assert_true (g_file_set_contents (train, tr->str, (gssize) tr->len, NULL));
  g_assert_true (g_file_set_contents (test, te->str, (gssize) te->len, NULL));
  g_string_free (tr, TRUE);
  g_string_free (te, TRUE);

  char *dir = g_build_filename (parent, name, NULL);
  MsrCsvSchema schema = { 0 };
  schema.label_column = g_strdup ("click");
  schema.scenario_column = g_strdup ("scenario");
  schema.user_column = g_strdup ("user");
  schema.item_column = g_strdup ("item");
  schema.time_column = g_strdup ("ts");
  schema.feature_columns = g_strsplit ("device", ",", -1);
  MsrSplitOptions split;
  msr_split_options_init (&split);
  split.method = MSR_SPLIT_METHOD_FILE;
  split.valid_fraction = 0.1;
  g_autoptr(MsrProject) project = msr_project_create_csv (dir, train, &schema, &split, test, &error);
  msr_csv_schema_clear (&schema);
  g_assert_no_error (error);
  g_assert_nonnull (project);
  return dir;
}

static inline MsrDataset *
msr_test_llm_dataset (const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) project = msr_project_open (dir, &error);
  g_assert_no_error (error);
  MsrDataset *ds = msr_project_load_dataset (project, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  return ds;
}

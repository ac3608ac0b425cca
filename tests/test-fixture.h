/* test-fixture.h: a small project with runs, for the workbench's tests: a
 * CSV of a learnable three-scenario world, split at random, with a
 * popularity baseline and a few briefly trained backbones, each evaluated
 * on the test split (with per-row scores) through the engine's pipeline,
 * exactly as the workbench and the CLI record them. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include "msr-pipeline.h"
#include "msr-project.h"
#include "msr-rng.h"

/* Writes the CSV: users prefer items whose parity matches a taste that
 * flips between scenarios; 'big' is largest, 'small' smallest. */
static inline char *
msr_test_fixture_csv (const char *dir, guint n_rows, guint64 seed)
{
  char *path = g_build_filename (dir, "clicks.csv", NULL);
  GString *s = g_string_new ("user,item,scenario,click,device\n");
  MsrRng rng;
  msr_rng_init (&rng, seed);
  static const char *const names[3] = { "big", "medium", "small" };
  for (guint r = 0; r < n_rows; r++)
    {
      guint u = (guint) msr_rng_below (&rng, 80), i = (guint) msr_rng_below (&rng, 60);
      double pick = msr_rng_uniform (&rng);
      guint sc = pick < 0.6 ? 0 : pick < 0.88 ? 1 : 2;
      double z = ((u + i) % 2 == (sc == 1 ? 0u : 1u)) ? 1.2 : -1.0;
      z += 0.3 * ((double) (u % 7) - 3) / 3;
      guint y = msr_rng_uniform (&rng) < 1 / (1 + exp (-z));
      g_string_append_printf (s, "u%u,i%u,%s,%u,%s\n", u, i, names[sc], y, u % 3 ? "phone" : "desktop");
    }
  g_assert_true (g_file_set_contents (path, s->str, (gssize) s->len, NULL));
  g_string_free (s, TRUE);
  return path;
}

/* A project in parent/name with the popularity baseline and the given
 * backbones trained for `epochs` epochs; returns the project folder. */
static inline char *
msr_test_fixture_project (const char *parent, const char *name, const MsrArch *archs, guint n_archs,
                          guint epochs)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *csv = msr_test_fixture_csv (parent, 4000, 7);
  char *dir = g_build_filename (parent, name, NULL);
  MsrCsvSchema schema = { 0 };
  schema.label_column = g_strdup ("click");
  schema.scenario_column = g_strdup ("scenario");
  schema.user_column = g_strdup ("user");
  schema.item_column = g_strdup ("item");
  schema.feature_columns = g_strsplit ("device", ",", -1);
  MsrSplitOptions split;
  msr_split_options_init (&split);
  split.method = MSR_SPLIT_METHOD_RANDOM;
  g_autoptr(MsrProject) project = msr_project_create_csv (dir, csv, &schema, &split, NULL, &error);
  msr_csv_schema_clear (&schema);
  g_assert_no_error (error);
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (project, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  MsrEvalOptions eo;
  msr_eval_options_init (&eo);
  eo.replicates = 200;
  eo.threads = 1;
  g_autoptr(MsrEvaluation) pop = msr_pipeline_evaluate (project, ds, NULL, NULL, &eo, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint a = 0; a < n_archs; a++)
    {
      MsrModelConfig cfg;
      msr_model_config_init (&cfg, archs[a]);
      cfg.embed_dim = 8;
      MsrTrainOptions opts;
      msr_train_options_init (&opts);
      opts.epochs = epochs;
      opts.batch_size = 256;
      gboolean ok = msr_pipeline_train_and_evaluate (project, ds, &cfg, &opts, &eo, NULL, NULL, NULL, NULL,
                                                     NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (ok);
    }
  return dir;
}

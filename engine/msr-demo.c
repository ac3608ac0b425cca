/* msr-demo.c: finding data for, creating and training the demo project. */
#include "config.h"
#include "msr-demo.h"
#include "msr-fetch.h"
#include "msr-pipeline.h"
#include "msr-project.h"
#include "msr-results.h"
#include "msr-simulate.h"

#include <string.h>

/* The backbones the demo trains, in the order it trains them. */
static const MsrArch demo_archs[] = {
  MSR_ARCH_DNN_SEPARATE, MSR_ARCH_SHARED_BOTTOM, MSR_ARCH_MMOE, MSR_ARCH_PLE, MSR_ARCH_STAR, MSR_ARCH_PEPNET,
};

char *
msr_demo_get_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "msrlens", "demo", NULL);
}

char *
msr_demo_get_simulated_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "msrlens", "demo-simulated", NULL);
}

/* A verified MovieLens folder, or NULL with the reasons collected. */
static char *
find_movielens (const char *explicit_dir, GString *tried)
{
  g_autofree char *fetched_root = msr_fetch_default_data_dir ();
  g_autofree char *fetched = g_build_filename (fetched_root, MSR_MOVIELENS_100K_DIR, NULL);
  const char *candidates[] = { explicit_dir, g_getenv ("MSR_MOVIELENS_DIR"), fetched };
  const char *origin[] = { "the folder given", "$MSR_MOVIELENS_DIR", "the data fetch folder" };

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      if (candidates[i] == NULL || candidates[i][0] == '\0')
        continue;
      g_autoptr(GError) error = NULL;
      if (msr_movielens_verify_dir (candidates[i], &error))
        return g_canonicalize_filename (candidates[i], NULL);
      /* Only report places that exist: a missing default is not news. */
      if (i < 2 || g_file_test (candidates[i], G_FILE_TEST_EXISTS))
        g_string_append_printf (tried, "\n- %s: %s", origin[i], error->message);
    }
  return NULL;
}

static gboolean
create_movielens_demo (const char *dir, const char *movielens_dir, MsrProgressFunc progress, gpointer data,
                       GCancellable *cancellable, GError **error)
{
  g_autoptr(GString) tried = g_string_new (NULL);
  g_autofree char *found = find_movielens (movielens_dir, tried);
  if (found == NULL)
    {
      g_autoptr(GError) local = NULL;
      if (progress)
        progress (-1, "Downloading MovieLens-100K", data);
      /* MSR_MOVIELENS_URL names a mirror; it must serve the official archive. */
      const char *url = g_getenv ("MSR_MOVIELENS_URL");
      if (!msr_fetch_movielens_100k (url && url[0] ? url : NULL, NULL, &found, progress, data, cancellable, &local))
        {
          if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            g_propagate_error (error, g_steal_pointer (&local));
          else
            g_set_error (error, MSR_ERROR, MSR_ERROR_IO,
                         "No MovieLens-100K copy could be found or downloaded.%s\n"
                         "- download: %s\n"
                         "Point the demo at a local copy with --movielens DIR or MSR_MOVIELENS_DIR=DIR, "
                         "or run 'msrlens-cli data fetch movielens-100k --from DIR'.",
                         tried->str, local->message);
          return FALSE;
        }
    }
  MsrSplitOptions split;
  msr_split_options_init (&split);
  g_autoptr(MsrProject) project = msr_project_create_movielens (dir, found, MSR_MOVIELENS_SCENARIOS_GENRE,
                                                                &split, error);
  return project != NULL;
}

/* Which architectures already have an evaluation run. */
static gboolean
has_eval_run (GPtrArray *runs, const char *arch)
{
  for (guint i = 0; runs && i < runs->len; i++)
    {
      MsrRunInfo *r = g_ptr_array_index (runs, i);
      if (g_strcmp0 (r->kind, "eval") == 0 && g_strcmp0 (r->architecture, arch) == 0)
        return TRUE;
    }
  return FALSE;
}

typedef struct {
  MsrProgressFunc progress;
  gpointer        data;
  guint           index, count;
  const char     *name;
  char           *stage;
} DemoTraining;

static void
training_progress (const MsrTrainStatus *st, gpointer user_data)
{
  DemoTraining *t = user_data;
  if (t->progress == NULL || st->finished)
    return;
  g_free (t->stage);
  t->stage = g_strdup_printf ("Training %s (%u of %u): epoch %u, batch %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                              ", loss %.4f", t->name, t->index + 1, t->count, st->epoch, st->batch, st->n_batches,
                              st->loss);
  /* Early stopping ends most runs well before the last epoch, so each
   * backbone's share of the bar is its epochs' share, at most 1. */
  t->progress ((t->index + st->fraction) / t->count, t->stage, t->data);
}

/* Trains and evaluates every demo backbone the project lacks. */
static gboolean
train_missing (const char *dir, MsrProgressFunc progress, gpointer data, GCancellable *cancellable, GError **error)
{
  g_autoptr(MsrProject) project = msr_project_open (dir, error);
  if (project == NULL)
    return FALSE;
  g_autofree char *results_path = msr_project_get_path (project, MSR_RESULTS_FILE);
  g_autoptr(GPtrArray) runs = NULL;
  if (g_file_test (results_path, G_FILE_TEST_EXISTS))
    {
      g_autoptr(MsrResults) results = msr_results_open (results_path, MSR_RESULTS_READ_ONLY, error);
      if (results == NULL || (runs = msr_results_list_runs (results, error)) == NULL)
        return FALSE;
    }
  guint missing = 0;
  for (guint i = 0; i < G_N_ELEMENTS (demo_archs); i++)
    missing += !has_eval_run (runs, msr_arch_to_string (demo_archs[i]));
  const gboolean need_baseline = !has_eval_run (runs, "popularity");
  if (missing == 0 && !need_baseline)
    return TRUE;

  if (progress)
    progress (-1, "Reading the dataset", data);
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (project, NULL, NULL, cancellable, error);
  if (ds == NULL)
    return FALSE;
  MsrEvalOptions eo;
  msr_eval_options_init (&eo);
  eo.threads = 1;
  if (need_baseline)
    {
      g_autoptr(MsrEvaluation) ev = msr_pipeline_evaluate (project, ds, NULL, NULL, &eo, NULL, NULL, cancellable,
                                                           error);
      if (ev == NULL)
        return FALSE;
    }
  DemoTraining t = { progress, data, 0, missing, NULL, NULL };
  for (guint i = 0; i < G_N_ELEMENTS (demo_archs); i++)
    {
      if (has_eval_run (runs, msr_arch_to_string (demo_archs[i])))
        continue;
      MsrModelConfig cfg;
      msr_model_config_init (&cfg, demo_archs[i]);
      MsrTrainOptions opts;
      msr_train_options_init (&opts);
      t.name = msr_arch_to_string (demo_archs[i]);
      gboolean ok = msr_pipeline_train_and_evaluate (project, ds, &cfg, &opts, &eo, NULL, NULL, NULL, NULL,
                                                     training_progress, &t, cancellable, error);
      if (!ok)
        {
          g_free (t.stage);
          return FALSE;
        }
      t.index++;
    }
  g_free (t.stage);
  return TRUE;
}

static gboolean
has_project (const char *dir)
{
  g_autofree char *desc = g_build_filename (dir, MSR_PROJECT_FILE, NULL);
  return g_file_test (desc, G_FILE_TEST_EXISTS);
}

char *
msr_demo_prepare (const char *movielens_dir, char **note, MsrProgressFunc progress, gpointer progress_data,
                  GCancellable *cancellable, GError **error)
{
  g_autofree char *dir = msr_demo_get_dir ();
  g_autoptr(GError) local = NULL;

  if (!has_project (dir) &&
      !create_movielens_demo (dir, movielens_dir, progress, progress_data, cancellable, &local))
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      /* No MovieLens: the demo still opens, on a simulated world. */
      g_free (dir);
      dir = msr_demo_get_simulated_dir ();
      if (note)
        *note = g_strdup_printf ("MovieLens-100K was not available, so the demo opened a simulated world "
                                 "instead. %s", local->message);
      if (!has_project (dir))
        {
          MsrSimOptions opts;
          msr_sim_options_init (&opts);
          if (progress)
            progress (-1, "Generating a simulated multi-scenario world", progress_data);
          if (!msr_sim_write_project (dir, &opts, progress, progress_data, cancellable, error))
            return NULL;
        }
    }
  /* A demo whose training was interrupted resumes where it stopped. */
  if (!train_missing (dir, progress, progress_data, cancellable, error))
    return NULL;
  return g_steal_pointer (&dir);
}

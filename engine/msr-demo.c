/* msr-demo.c: finding data for, creating and training the demo project. */
#include "config.h"
#include "msr-demo.h"
#include "msr-file.h"
#include "msr-fetch.h"
#include "msr-knowledge-import.h"
#include "msr-knowledge-vectors.h"
#include "msr-pipeline.h"
#include "msr-project.h"
#include "msr-results.h"
#include "msr-simulate.h"

#include <string.h>

/* The models the demo trains, in the order it trains them; the LLM4MSR
 * ones only when the project has knowledge vectors. */
static const struct { MsrArch arch; gboolean llm4msr; } demo_models[] = {
  { MSR_ARCH_DNN_SEPARATE, FALSE }, { MSR_ARCH_SHARED_BOTTOM, FALSE }, { MSR_ARCH_MMOE, FALSE },
  { MSR_ARCH_PLE, FALSE }, { MSR_ARCH_STAR, FALSE }, { MSR_ARCH_PEPNET, FALSE }, { MSR_ARCH_STAR, TRUE },
};

/* The LLM-written MovieLens-100K knowledge (docs/FORMATS.md §11): the file
 * names, and the SHA-256 of the reference copies. */
#define KNOWLEDGE_USERS "users_structured_100k.csv"
#define KNOWLEDGE_MOVIES "movies_structured_100K.csv"
#define KNOWLEDGE_USERS_SHA256 "900cb23b5939f60f5f2b3509d5eea3f1a1bc0c199aa83cd57637b0d8e66fabe9"
#define KNOWLEDGE_MOVIES_SHA256 "526671b8771b3ff7bc882c12e92edd8996ff2926b1d4208620484585278fa776"

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

static char *
demo_variant (guint i)
{
  MsrModelConfig cfg;
  msr_model_config_init (&cfg, demo_models[i].arch);
  cfg.llm4msr = demo_models[i].llm4msr;
  return msr_model_config_describe (&cfg, FALSE);
}

static gboolean
has_knowledge_vectors (MsrProject *project)
{
  g_autofree char *path = msr_project_get_knowledge_path (project);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return FALSE;
  g_autoptr(MsrKnowledge) k = msr_knowledge_open (path, MSR_KNOWLEDGE_READ_ONLY, NULL);
  g_autofree char *encoder = k ? msr_knowledge_default_encoder (k, NULL) : NULL;
  return encoder != NULL;
}

/* A folder with the MovieLens knowledge files, or NULL (reasons in tried). */
static char *
find_knowledge (const char *explicit_dir, GString *tried)
{
  const char *candidates[] = { explicit_dir, g_getenv ("MSR_KNOWLEDGE_DIR") };
  const char *origin[] = { "the knowledge folder given", "$MSR_KNOWLEDGE_DIR" };
  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      if (candidates[i] == NULL || candidates[i][0] == '\0')
        continue;
      g_autofree char *u = g_build_filename (candidates[i], KNOWLEDGE_USERS, NULL);
      g_autofree char *m = g_build_filename (candidates[i], KNOWLEDGE_MOVIES, NULL);
      if (g_file_test (u, G_FILE_TEST_IS_REGULAR) && g_file_test (m, G_FILE_TEST_IS_REGULAR))
        return g_canonicalize_filename (candidates[i], NULL);
      g_string_append_printf (tried, "%s%s (%s): no %s and %s", tried->len ? "; " : "", candidates[i], origin[i],
                              KNOWLEDGE_USERS, KNOWLEDGE_MOVIES);
    }
  return NULL;
}

/* Imports and encodes the MovieLens knowledge into the demo, when a copy
 * is at hand and the demo has none; *note says what was used or missing. */
static gboolean
add_movielens_knowledge (const char *dir, const char *knowledge_dir, char **note, MsrProgressFunc progress,
                         gpointer data, GCancellable *cancellable, GError **error)
{
  g_autoptr(MsrProject) project = msr_project_open (dir, error);
  if (project == NULL)
    return FALSE;
  if (has_knowledge_vectors (project))
    return TRUE;
  g_autoptr(GString) tried = g_string_new (NULL);
  g_autofree char *found = find_knowledge (knowledge_dir, tried);
  if (found == NULL)
    {
      if (note)
        *note = g_strdup_printf ("The demo has no LLM knowledge: give it the LLM-written MovieLens-100K "
                                 "profiles and descriptions (%s, %s) with --knowledge DIR or MSR_KNOWLEDGE_DIR=DIR%s%s.",
                                 KNOWLEDGE_USERS, KNOWLEDGE_MOVIES, tried->len ? "; tried " : "", tried->str);
      return TRUE;
    }
  if (progress)
    progress (-1, "Reading the dataset", data);
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (project, NULL, NULL, cancellable, error);
  if (ds == NULL)
    return FALSE;
  g_autofree char *store_path = msr_project_get_knowledge_path (project);
  g_autoptr(MsrKnowledge) k = msr_knowledge_open (store_path, MSR_KNOWLEDGE_READ_WRITE, error);
  if (k == NULL)
    return FALSE;
  const struct { const char *file, *sha, *key, *text; MsrKnowledgeLevel level; } files[] = {
    { KNOWLEDGE_USERS, KNOWLEDGE_USERS_SHA256, "user_id", "user_profile", MSR_KNOWLEDGE_USER },
    { KNOWLEDGE_MOVIES, KNOWLEDGE_MOVIES_SHA256, "movie_id", "movie_info", MSR_KNOWLEDGE_ITEM },
  };
  g_autoptr(GString) other = g_string_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (found, files[i].file, NULL);
      g_autofree char *sha = msr_file_sha256 (path, error);
      if (sha == NULL)
        return FALSE;
      if (strcmp (sha, files[i].sha) != 0)
        g_string_append_printf (other, "%s%s", other->len ? ", " : "", files[i].file);
      MsrKnowledgeCsvImport o = { .path = path, .level = files[i].level, .key_column = files[i].key,
                                  .text_column = files[i].text, .llm = "gpt-4o-mini" };
      g_autoptr(MsrKnowledgeImportReport) r = msr_knowledge_import_csv (k, &o, ds, progress, data, cancellable,
                                                                        error);
      if (r == NULL)
        return FALSE;
    }
  g_autoptr(MsrKnowledgeEncodeReport) er = msr_knowledge_encode (k, ds, NULL, progress, data, cancellable, error);
  if (er == NULL)
    return FALSE;
  if (note && other->len)
    *note = g_strdup_printf ("The knowledge in %s is not the reference copy (%s differ from the files the "
                             "demo was made with): results may differ from docs/RESULTS.md.", found, other->str);
  return TRUE;
}

/* Trains and evaluates every demo model the project lacks. */
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
  const gboolean knowledge = has_knowledge_vectors (project);
  guint missing = 0;
  for (guint i = 0; i < G_N_ELEMENTS (demo_models); i++)
    {
      g_autofree char *variant = demo_variant (i);
      missing += (knowledge || !demo_models[i].llm4msr) && !has_eval_run (runs, variant);
    }
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
  for (guint i = 0; i < G_N_ELEMENTS (demo_models); i++)
    {
      g_autofree char *variant = demo_variant (i);
      if ((demo_models[i].llm4msr && !knowledge) || has_eval_run (runs, variant))
        continue;
      MsrModelConfig cfg;
      msr_model_config_init (&cfg, demo_models[i].arch);
      cfg.llm4msr = demo_models[i].llm4msr;
      MsrTrainOptions opts;
      msr_train_options_init (&opts);
      t.name = variant;
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
msr_demo_prepare (const char *movielens_dir, const char *knowledge_dir, char **note, MsrProgressFunc progress,
                  gpointer progress_data, GCancellable *cancellable, GError **error)
{
  gboolean simulated = FALSE;
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
      simulated = TRUE;
      if (!has_project (dir))
        {
          MsrSimOptions opts;
          msr_sim_options_init (&opts);
          if (progress)
            progress (-1, "Generating a simulated multi-scenario world", progress_data);
          /* The oracle's knowledge comes with it, for the LLM4MSR views. */
          if (!msr_sim_write_project (dir, &opts, progress, progress_data, cancellable, error) ||
              !msr_sim_write_planted_knowledge (dir, &opts, error))
            return NULL;
        }
    }
  if (!simulated)
    {
      g_autofree char *knowledge_note = NULL;
      if (!add_movielens_knowledge (dir, knowledge_dir, &knowledge_note, progress, progress_data, cancellable, error))
        return NULL;
      if (note && knowledge_note)
        *note = g_steal_pointer (&knowledge_note);
    }
  /* A demo whose training was interrupted resumes where it stopped. */
  if (!train_missing (dir, progress, progress_data, cancellable, error))
    return NULL;
  return g_steal_pointer (&dir);
}

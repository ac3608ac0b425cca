/* msr-pipeline.c: train, evaluate and record, as one step each. */
#include "config.h"
#include "msr-pipeline.h"
#include "msr-file.h"
#include "msr-knowledge-vectors.h"
#include <json-glib/json-glib.h>
#include "msr-results.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static MsrResults *
open_results (MsrProject *project, GError **error)
{
  g_autofree char *path = msr_project_get_path (project, MSR_RESULTS_FILE);
  return msr_results_open (path, MSR_RESULTS_READ_WRITE, error);
}

gint64
msr_pipeline_record_training (MsrProject *project, MsrModel *model, const char *model_path, const MsrDataset *ds,
                              const MsrTrainResult *res, const MsrTrainOptions *opts, GError **error)
{
  g_autoptr(MsrResults) results = open_results (project, error);
  if (results == NULL)
    return 0;
  g_autofree char *sha = msr_file_sha256 (model_path, error);
  if (sha == NULL)
    return 0;
  g_autofree char *abs = g_canonicalize_filename (model_path, NULL);
  MsrRunInfo info = { 0 };
  info.kind = (char *) "train";
  info.model_path = abs;
  info.model_sha256 = sha;
  g_autofree char *variant = msr_model_config_describe (msr_model_get_config (model), FALSE);
  info.architecture = variant;
  info.config_json = (char *) msr_model_get_config_json (model);
  info.dataset_fingerprint = (char *) msr_dataset_get_fingerprint (ds);
  info.split = (char *) "valid";
  info.has_seed = TRUE;
  info.seed = opts->seed;
  info.threads = opts->threads;

  const guint S = msr_model_get_n_scenarios (model);
  g_autofree MsrResultsEpoch *eps = g_new0 (MsrResultsEpoch, MAX (res->epochs->len, 1));
  g_autofree char **names = g_new0 (char *, S + 1);
  for (guint s = 0; s < S; s++)
    names[s] = (char *) msr_model_get_scenario_name (model, s);
  for (guint i = 0; i < res->epochs->len; i++)
    {
      const MsrEpochLog *e = &g_array_index (res->epochs, MsrEpochLog, i);
      eps[i] = (MsrResultsEpoch) { e->epoch, e->train_loss, e->valid_auc, e->valid_logloss, NAN, e->seconds,
                                   S, names, e->valid_auc_scenario, NULL };
    }
  /* The run and its curve: if the curve cannot be stored, drop the run. */
  gint64 id = msr_results_add_run (results, &info, NULL, NULL, error);
  if (id == 0)
    return 0;
  if (!msr_results_add_epochs (results, id, eps, res->epochs->len, error))
    {
      msr_results_delete_run (results, id, NULL);
      return 0;
    }
  return id;
}

void
msr_eval_options_init (MsrEvalOptions *o)
{
  memset (o, 0, sizeof *o);
  o->split = MSR_SPLIT_TEST;
  o->replicates = 1000;
  o->seed = 42;
  o->record = TRUE;
  o->predictions = TRUE;
}

void
msr_evaluation_free (MsrEvaluation *e)
{
  if (e == NULL)
    return;
  g_clear_pointer (&e->metrics, msr_eval_result_free);
  g_clear_pointer (&e->intervals, msr_comparison_free);
  g_free (e->scores);
  g_free (e->rows);
  g_free (e);
}

MsrEvaluation *
msr_pipeline_evaluate (MsrProject *project, const MsrDataset *ds, MsrModel *model, const char *model_path,
                       const MsrEvalOptions *opts, MsrProgressFunc progress, gpointer progress_data,
                       GCancellable *cancellable, GError **error)
{
  const guint mask = MSR_SPLIT_MASK (opts->split);
  g_autoptr(MsrEvaluation) ev = g_new0 (MsrEvaluation, 1);

  if (model == NULL)
    {
      ev->scores = msr_score_popularity (ds, mask, &ev->n);
      const guint8 *spl = msr_dataset_get_splits (ds);
      ev->rows = g_new (guint32, MAX (ev->n, 1));
      gsize k = 0;
      for (gsize r = 0; r < msr_dataset_get_n_rows (ds); r++)
        if (mask & MSR_SPLIT_MASK (spl[r]))
          ev->rows[k++] = (guint32) r;
    }
  else
    {
      ev->scores = msr_score (model, ds, mask, opts->threads, 4096, &ev->n, &ev->rows, progress, progress_data,
                              cancellable, error);
      if (ev->scores == NULL)
        return NULL;
    }
  if (ev->n == 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: the %s split has no rows",
                   msr_dataset_get_source (ds), msr_split_to_string (opts->split));
      return NULL;
    }

  /* The store keeps scores as float32: compute the metrics on exactly those
   * values, so anything recomputed later from the stored scores (paired
   * tests, seesaw) agrees with the recorded metrics to the last bit. */
  for (gsize i = 0; i < ev->n; i++)
    ev->scores[i] = (float) ev->scores[i];

  /* Metrics through the accumulator (exact), CIs through the bootstrap. */
  const gsize n = ev->n;
  const guint S = msr_dataset_get_n_scenarios (ds);
  const guint uf = msr_dataset_get_user_field (ds);
  const guint U = msr_dataset_get_field_cardinality (ds, uf);
  const gint32 *ucodes = msr_dataset_get_field_codes (ds, uf);
  const guint8 *labels = msr_dataset_get_labels (ds);
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  g_autoptr(MsrEvalAcc) acc = msr_eval_acc_new (TRUE);
  g_autofree guint32 *scen_code = g_new (guint32, S);
  for (guint s = 0; s < S; s++)
    scen_code[s] = msr_eval_acc_intern_scenario (acc, msr_dataset_get_scenario_name (ds, s));
  g_autofree guint32 *user_code = g_new (guint32, U);
  for (guint u = 0; u < U; u++)
    user_code[u] = G_MAXUINT32;
  g_autofree guint8 *y = g_new (guint8, n);
  g_autofree guint32 *sc = g_new (guint32, n), *us = g_new (guint32, n), *sraw = g_new (guint32, n);
  for (gsize i = 0; i < n; i++)
    {
      const guint32 r = ev->rows[i];
      y[i] = labels[r];
      sc[i] = scen_code[scen[r]];
      sraw[i] = scen[r];
      if (user_code[ucodes[r]] == G_MAXUINT32)
        user_code[ucodes[r]] = msr_eval_acc_intern_user (acc, msr_dataset_get_field_value (ds, uf, ucodes[r]));
      us[i] = user_code[ucodes[r]];
    }
  if (!msr_eval_acc_add_batch (acc, ev->scores, y, sc, us, n, NULL, error))
    return NULL;
  ev->metrics = msr_eval_acc_finish (acc);

  if (opts->replicates > 0)
    {
      MsrBootstrapOptions bo;
      msr_bootstrap_options_init (&bo);
      bo.replicates = opts->replicates;
      bo.seed = opts->seed;
      bo.threads = opts->threads;
      g_autofree const char **names = g_new0 (const char *, S + 1);
      for (guint s = 0; s < S; s++)
        names[s] = msr_dataset_get_scenario_name (ds, s);
      ev->intervals = msr_compare_paired (ev->scores, NULL, y, sraw, names, S, us, n, &bo, progress, progress_data,
                                          cancellable, error);
      if (ev->intervals == NULL)
        return NULL;
    }

  if (!opts->record)
    return g_steal_pointer (&ev);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  g_autoptr(MsrResults) results = open_results (project, error);
  if (results == NULL)
    return NULL;
  g_autofree char *sha = model_path ? msr_file_sha256 (model_path, error) : NULL;
  if (model_path && sha == NULL)
    return NULL;
  g_autofree char *abs = model_path ? g_canonicalize_filename (model_path, NULL) : NULL;
  MsrRunInfo info = { 0 };
  info.kind = (char *) "eval";
  info.name = (char *) opts->name;
  info.model_path = abs;
  info.model_sha256 = sha;
  g_autofree char *variant = model ? msr_model_config_describe (msr_model_get_config (model), FALSE) : NULL;
  info.architecture = variant ? variant : (char *) "popularity";
  info.config_json = model ? (char *) msr_model_get_config_json (model) : NULL;
  info.dataset_fingerprint = (char *) msr_dataset_get_fingerprint (ds);
  info.split = (char *) msr_split_to_string (opts->split);
  info.has_seed = opts->replicates > 0;
  info.seed = opts->seed;
  info.threads = opts->threads;
  ev->run_id = msr_results_add_run (results, &info, ev->metrics, ev->intervals, error);
  if (ev->run_id == 0)
    return NULL;
  if (opts->predictions)
    {
      g_autofree float *f = g_new (float, n);
      for (gsize i = 0; i < n; i++)
        f[i] = (float) ev->scores[i];
      if (!msr_results_add_predictions (results, ev->run_id, f, n, NULL, NULL, NULL, error))
        {
          msr_results_delete_run (results, ev->run_id, NULL);
          return NULL;
        }
    }
  return g_steal_pointer (&ev);
}

/* models/<backbone>-seed<seed>.safetensors, or -2, -3, ... when taken. */
static char *
new_model_path (MsrProject *project, const MsrModelConfig *cfg, guint64 seed, GError **error)
{
  g_autofree char *dir = msr_project_get_path (project, "models");
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot create the folder", dir);
      return NULL;
    }
  for (guint k = 1; k < 10000; k++)
    {
      g_autofree char *stem = msr_model_config_describe (cfg, TRUE);
      g_autofree char *name = k == 1 ? g_strdup_printf ("%s-seed%" G_GUINT64_FORMAT ".safetensors", stem, seed)
                                     : g_strdup_printf ("%s-seed%" G_GUINT64_FORMAT "-%u.safetensors", stem, seed, k);
      char *path = g_build_filename (dir, name, NULL);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        return path;
      g_free (path);
    }
  g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: no free model file name", dir);
  return NULL;
}

/* The project's knowledge vectors of a level, or NULL with an error that
 * says what to do. */
static MsrKnowledgeVectors *
knowledge_vectors (MsrKnowledge *k, MsrKnowledgeLevel level, const char *encoder, const char *source,
                   const char *hint, GError **error)
{
  g_autoptr(GError) local = NULL;
  MsrKnowledgeVectors *v = msr_knowledge_get_vectors (k, level, encoder, source, &local);
  if (v == NULL && local == NULL)
    g_set_error (&local, MSR_ERROR, MSR_ERROR_INVALID, "%s: no %s-level vectors of encoder '%s'%s%s%s",
                 msr_knowledge_get_path (k), msr_knowledge_level_to_string (level), encoder,
                 source ? " from " : "", source ? source : "", hint);
  if (v == NULL)
    g_propagate_error (error, g_steal_pointer (&local));
  return v;
}

static MsrKnowledge *
open_knowledge (MsrProject *project, gboolean must_exist, GError **error)
{
  g_autofree char *path = msr_project_get_knowledge_path (project);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (must_exist)
        g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: no knowledge store: LLM4MSR needs knowledge "
                     "(msrlens-cli knowledge import, then knowledge encode)", path);
      return NULL;
    }
  return msr_knowledge_open (path, MSR_KNOWLEDGE_READ_ONLY, error);
}

MsrModel *
msr_pipeline_new_model (MsrProject *project, const MsrDataset *ds, const MsrModelConfig *cfg, guint64 seed,
                        GError **error)
{
  if (!cfg->llm4msr)
    return msr_model_new_for_dataset (cfg, ds, seed, error);
  g_autoptr(MsrKnowledge) k = open_knowledge (project, TRUE, error);
  if (k == NULL)
    return NULL;
  g_autofree char *encoder = cfg->knowledge_encoder ? g_strdup (cfg->knowledge_encoder)
                                                    : msr_knowledge_default_encoder (k, error);
  if (encoder == NULL)
    {
      if (error && *error == NULL)
        g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: no knowledge vectors yet (msrlens-cli knowledge "
                     "encode)", msr_knowledge_get_path (k));
      return NULL;
    }
  g_autoptr(MsrKnowledgeVectors) users = NULL, scenarios = NULL;
  if (!cfg->meta_no_user &&
      (users = knowledge_vectors (k, MSR_KNOWLEDGE_USER, encoder, NULL, " (import user knowledge and encode it)",
                                  error)) == NULL)
    return NULL;
  if ((!cfg->meta_no_scenario || cfg->meta_user_on_scenario) &&
      (scenarios = knowledge_vectors (k, MSR_KNOWLEDGE_SCENARIO, encoder, NULL,
                                      " (knowledge encode derives them from item knowledge)", error)) == NULL)
    return NULL;
  const MsrKnowledgeVectors *any = users ? users : scenarios;
  MsrModelKnowledge kn = {
    .dim = any->dim,
    .n_users = users ? users->n : 0,
    .user_keys = users ? (const char * const *) users->keys : NULL,
    .user_vectors = users ? users->vectors : NULL,
    .n_scenarios = scenarios ? scenarios->n : 0,
    .scenario_keys = scenarios ? (const char * const *) scenarios->keys : NULL,
    .scenario_vectors = scenarios ? scenarios->vectors : NULL,
    .encoder = encoder,
    .user_source = users ? users->source : NULL,
    .scenario_source = scenarios ? scenarios->source : NULL,
    .user_fingerprint = users ? users->fingerprint : NULL,
    .scenario_fingerprint = scenarios ? scenarios->fingerprint : NULL,
  };
  return msr_model_new_with_knowledge (cfg, ds, &kn, seed, error);
}

MsrModel *
msr_pipeline_load_model (MsrProject *project, const char *path, GError **error)
{
  g_autoptr(MsrModel) model = msr_model_load (path, error);
  if (model == NULL)
    return NULL;
  const char *kj = msr_model_get_knowledge_json (model);
  if (kj == NULL || msr_model_get_config (model)->meta_id_only)
    return g_steal_pointer (&model);
  g_autoptr(GError) local = NULL;
  g_autoptr(MsrKnowledge) k = open_knowledge (project, FALSE, &local);
  if (k == NULL)
    {
      /* No store: the model carries its vectors. A damaged one is an error. */
      if (local)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      return g_steal_pointer (&model);
    }
  g_autoptr(JsonNode) node = json_from_string (kj, NULL);
  JsonObject *o = node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *encoder = o ? json_object_get_string_member_with_default (o, "encoder", NULL) : NULL;
  const char *us = o ? json_object_get_string_member_with_default (o, "user_source", NULL) : NULL;
  const char *ss = o ? json_object_get_string_member_with_default (o, "scenario_source", NULL) : NULL;
  g_autoptr(MsrKnowledgeVectors) users = encoder && us ? msr_knowledge_get_vectors (k, MSR_KNOWLEDGE_USER, encoder, us, &local) : NULL;
  g_autoptr(MsrKnowledgeVectors) scen = encoder && ss && local == NULL
    ? msr_knowledge_get_vectors (k, MSR_KNOWLEDGE_SCENARIO, encoder, ss, &local) : NULL;
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  g_autoptr(GError) mismatch = NULL;
  if (!msr_model_check_knowledge (model, encoder, users ? users->fingerprint : NULL,
                                  scen ? scen->fingerprint : NULL, &mismatch))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH, "%s: %s (store %s)", path, mismatch->message,
                   msr_knowledge_get_path (k));
      return NULL;
    }
  return g_steal_pointer (&model);
}

gboolean
msr_pipeline_train_and_evaluate (MsrProject *project, const MsrDataset *ds, const MsrModelConfig *cfg,
                                 const MsrTrainOptions *opts, const MsrEvalOptions *eval_opts,
                                 const char *model_path, char **model_path_out, gint64 *train_run, gint64 *eval_run,
                                 MsrTrainProgressFunc progress, gpointer progress_data, GCancellable *cancellable,
                                 GError **error)
{
  g_autoptr(MsrModel) model = msr_pipeline_new_model (project, ds, cfg, opts->seed, error);
  if (model == NULL)
    return FALSE;
  g_autoptr(MsrTrainResult) res = msr_train (model, ds, opts, progress, progress_data, cancellable, error);
  if (res == NULL)
    return FALSE;
  /* Past this point nothing is cancellable: the files and runs that make
   * up a finished training are written together. */
  g_autofree char *path = model_path ? g_strdup (model_path) : new_model_path (project, cfg, opts->seed, error);
  if (path == NULL)
    return FALSE;
  g_autofree char *training_json = msr_train_result_to_json (res, opts, ds);
  if (!msr_model_save (model, path, training_json, error))
    return FALSE;
  gint64 tid = msr_pipeline_record_training (project, model, path, ds, res, opts, error);
  if (tid == 0)
    {
      g_unlink (path);
      return FALSE;
    }
  MsrEvalOptions eo;
  if (eval_opts)
    eo = *eval_opts;
  else
    msr_eval_options_init (&eo);
  g_autoptr(MsrEvaluation) ev = msr_pipeline_evaluate (project, ds, model, path, &eo, NULL, NULL, NULL, error);
  if (ev == NULL)
    {
      g_autoptr(MsrResults) results = open_results (project, NULL);
      if (results)
        msr_results_delete_run (results, tid, NULL);
      g_unlink (path);
      return FALSE;
    }
  if (train_run)
    *train_run = tid;
  if (eval_run)
    *eval_run = ev->run_id;
  if (model_path_out)
    *model_path_out = g_steal_pointer (&path);
  return TRUE;
}

/* msr-study.c: see msr-study.h. */
#include "config.h"
#include "msr-study.h"
#include "msr-results.h"

#include <math.h>
#include <string.h>

static const char *const variant_names[MSR_STUDY_N_VARIANTS] = {
  "plain", "llm4msr", "no-user", "no-scenario", "shuffled", "id-only",
};

const char *
msr_study_variant_to_string (MsrStudyVariant v)
{
  return (guint) v < MSR_STUDY_N_VARIANTS ? variant_names[v] : "?";
}

gboolean
msr_study_variant_from_string (const char *s, MsrStudyVariant *out)
{
  for (guint i = 0; i < MSR_STUDY_N_VARIANTS; i++)
    if (g_strcmp0 (s, variant_names[i]) == 0)
      {
        *out = (MsrStudyVariant) i;
        return TRUE;
      }
  return FALSE;
}

void
msr_study_variant_apply (MsrStudyVariant v, MsrModelConfig *cfg)
{
  cfg->llm4msr = v != MSR_STUDY_PLAIN;
  cfg->meta_no_user = v == MSR_STUDY_NO_USER;
  cfg->meta_no_scenario = v == MSR_STUDY_NO_SCENARIO;
  cfg->meta_shuffle_users = v == MSR_STUDY_SHUFFLED;
  cfg->meta_id_only = v == MSR_STUDY_ID_ONLY;
}

void
msr_study_options_init (MsrStudyOptions *o)
{
  memset (o, 0, sizeof *o);
  o->archs = (1u << MSR_N_ARCHS) - 1;
  o->variants = (1u << MSR_STUDY_N_VARIANTS) - 1;
  o->n_seeds = 3;
  for (guint i = 0; i < o->n_seeds; i++)
    o->seeds[i] = 42 + i;
  msr_train_options_init (&o->train);
  msr_eval_options_init (&o->eval);
}

/* models/<variant, file-safe>-seed<N>.safetensors */
static char *
job_model_path (MsrProject *project, const MsrModelConfig *cfg, guint64 seed)
{
  g_autofree char *stem = msr_model_config_describe (cfg, TRUE);
  g_autofree char *name = g_strdup_printf ("%s-seed%" G_GUINT64_FORMAT ".safetensors", stem, seed);
  g_autofree char *models = msr_project_get_path (project, "models");
  return g_build_filename (models, name, NULL);
}

static MsrResults *
open_results (MsrProject *project, MsrResultsMode mode, GError **error)
{
  g_autofree char *path = msr_project_get_path (project, MSR_RESULTS_FILE);
  return msr_results_open (path, mode, error);
}

/* Absolute model paths that have a recorded evaluation. */
static GHashTable *
evaluated_models (MsrProject *project, GError **error)
{
  GHashTable *done = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GError) local = NULL;
  g_autoptr(MsrResults) results = open_results (project, MSR_RESULTS_READ_ONLY, &local);
  if (results == NULL)
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        return done;
      g_propagate_error (error, g_steal_pointer (&local));
      g_hash_table_unref (done);
      return NULL;
    }
  g_autoptr(GPtrArray) runs = msr_results_list_runs (results, error);
  if (runs == NULL)
    {
      g_hash_table_unref (done);
      return NULL;
    }
  for (guint i = 0; i < runs->len; i++)
    {
      const MsrRunInfo *r = runs->pdata[i];
      if (g_strcmp0 (r->kind, "eval") == 0 && r->model_path && r->has_metrics)
        g_hash_table_add (done, g_strdup (r->model_path));
    }
  return done;
}

typedef struct {
  MsrStudyProgressFunc progress;
  gpointer             data;
  MsrStudyStatus       status;
} JobProgress;

static void
job_train_progress (const MsrTrainStatus *st, gpointer user_data)
{
  JobProgress *p = user_data;
  p->status.train = st;
  p->progress (&p->status, p->data);
  p->status.train = NULL;
}

gboolean
msr_study_run (MsrProject *project, const MsrDataset *ds, const MsrStudyOptions *opts, guint *n_run,
               MsrStudyProgressFunc progress, gpointer progress_data, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (project != NULL && ds != NULL && opts != NULL, FALSE);
  if (opts->n_seeds == 0 || opts->n_seeds > MSR_STUDY_MAX_SEEDS)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "a study needs 1 to %d seeds", MSR_STUDY_MAX_SEEDS);
      return FALSE;
    }
  g_autoptr(GHashTable) done = evaluated_models (project, error);
  if (done == NULL)
    return FALSE;
  g_autofree char *models = msr_project_get_path (project, "models");
  if (g_mkdir_with_parents (models, 0755) != 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot create the folder", models);
      return FALSE;
    }

  guint n_jobs = 0, job = 0, ran = 0;
  for (guint a = 0; a < MSR_N_ARCHS; a++)
    for (guint v = 0; v < MSR_STUDY_N_VARIANTS; v++)
      if ((opts->archs & (1u << a)) && (opts->variants & (1u << v)))
        n_jobs += opts->n_seeds;

  for (guint a = 0; a < MSR_N_ARCHS; a++)
    for (guint v = 0; v < MSR_STUDY_N_VARIANTS; v++)
      {
        if (!(opts->archs & (1u << a)) || !(opts->variants & (1u << v)))
          continue;
        MsrModelConfig cfg;
        msr_model_config_init (&cfg, (MsrArch) a);
        msr_study_variant_apply ((MsrStudyVariant) v, &cfg);
        cfg.knowledge_encoder = opts->encoder;
        g_autofree char *variant = msr_model_config_describe (&cfg, FALSE);
        for (guint k = 0; k < opts->n_seeds; k++, job++)
          {
            if (g_cancellable_set_error_if_cancelled (cancellable, error))
              return FALSE;
            g_autofree char *path = job_model_path (project, &cfg, opts->seeds[k]);
            g_autofree char *abs = g_canonicalize_filename (path, NULL);
            JobProgress jp = { progress, progress_data,
                               { job, n_jobs, variant, opts->seeds[k], g_hash_table_contains (done, abs), NULL } };
            if (progress)
              progress (&jp.status, progress_data);
            if (jp.status.done_before)
              continue;
            MsrTrainOptions to = opts->train;
            to.seed = opts->seeds[k];
            if (!msr_pipeline_train_and_evaluate (project, ds, &cfg, &to, &opts->eval, path, NULL, NULL, NULL,
                                                  progress ? job_train_progress : NULL, &jp, cancellable, error))
              {
                g_prefix_error (error, "%s, seed %" G_GUINT64_FORMAT ": ", variant, opts->seeds[k]);
                return FALSE;
              }
            ran++;
          }
      }
  if (n_run)
    *n_run = ran;
  return TRUE;
}

/* ---- summary ----------------------------------------------------------------- */

void
msr_study_row_free (MsrStudyRow *row)
{
  if (row == NULL)
    return;
  g_free (row->variant);
  g_free (row->seeds);
  g_strfreev (row->scopes);
  g_free (row->auc_mean);
  g_free (row->auc_std);
  g_free (row->logloss_mean);
  g_free (row->logloss_std);
  g_free (row->gauc_mean);
  g_free (row->gauc_std);
  g_free (row);
}

/* The seed in "<stem>-seed<N>.safetensors", or FALSE. */
static gboolean
seed_of_model (const char *path, guint64 *seed)
{
  g_autofree char *base = g_path_get_basename (path);
  const char *at = g_strrstr (base, "-seed");
  if (at == NULL || !g_str_has_suffix (base, ".safetensors"))
    return FALSE;
  char *end = NULL;
  guint64 v = g_ascii_strtoull (at + 5, &end, 10);
  if (end == at + 5 || strcmp (end, ".safetensors") != 0)
    return FALSE;
  *seed = v;
  return TRUE;
}

/* Where a variant string sorts: backbone order, then variant order. */
static guint
variant_rank (const char *variant)
{
  for (guint a = 0; a < MSR_N_ARCHS; a++)
    for (guint v = 0; v < MSR_STUDY_N_VARIANTS; v++)
      {
        MsrModelConfig cfg;
        msr_model_config_init (&cfg, (MsrArch) a);
        msr_study_variant_apply ((MsrStudyVariant) v, &cfg);
        g_autofree char *s = msr_model_config_describe (&cfg, FALSE);
        if (g_strcmp0 (s, variant) == 0)
          return a * MSR_STUDY_N_VARIANTS + v;
      }
  return G_MAXUINT;
}

static int
compare_rows (gconstpointer a, gconstpointer b)
{
  const MsrStudyRow *x = *(MsrStudyRow *const *) a, *y = *(MsrStudyRow *const *) b;
  guint rx = variant_rank (x->variant), ry = variant_rank (y->variant);
  if (rx != ry)
    return rx < ry ? -1 : 1;
  return g_strcmp0 (x->variant, y->variant);
}

static void
mean_std (const double *v, guint n, double *mean, double *std)
{
  double s = 0;
  guint k = 0;
  for (guint i = 0; i < n; i++)
    if (!isnan (v[i]))
      s += v[i], k++;
  *mean = k ? s / k : NAN;
  double q = 0;
  for (guint i = 0; i < n; i++)
    if (!isnan (v[i]))
      q += (v[i] - *mean) * (v[i] - *mean);
  *std = k > 1 ? sqrt (q / (k - 1)) : NAN;
}

GPtrArray *
msr_study_summarize (MsrProject *project, GError **error)
{
  g_autoptr(MsrResults) results = open_results (project, MSR_RESULTS_READ_ONLY, error);
  if (results == NULL)
    return NULL;
  g_autoptr(GPtrArray) runs = msr_results_list_runs (results, error);
  if (runs == NULL)
    return NULL;
  /* variant -> (seed -> newest eval run); runs come newest first. */
  g_autoptr(GHashTable) by_variant = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                            (GDestroyNotify) g_hash_table_unref);
  for (guint i = 0; i < runs->len; i++)
    {
      const MsrRunInfo *r = runs->pdata[i];
      guint64 seed;
      if (g_strcmp0 (r->kind, "eval") != 0 || g_strcmp0 (r->split, "test") != 0 || !r->has_metrics ||
          r->architecture == NULL || r->model_path == NULL || !seed_of_model (r->model_path, &seed))
        continue;
      GHashTable *seeds = g_hash_table_lookup (by_variant, r->architecture);
      if (seeds == NULL)
        {
          seeds = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
          g_hash_table_insert (by_variant, r->architecture, seeds);
        }
      gint64 key = (gint64) seed;
      if (!g_hash_table_contains (seeds, &key))
        g_hash_table_insert (seeds, g_memdup2 (&key, sizeof key), (gpointer) r);
    }

  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) msr_study_row_free);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, by_variant);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      GHashTable *seeds = v;
      g_autoptr(GList) keys = g_hash_table_get_keys (seeds);
      const guint n = g_hash_table_size (seeds);
      g_autoptr(GPtrArray) metrics = g_ptr_array_new_with_free_func ((GDestroyNotify) msr_results_metrics_free);
      g_autoptr(MsrStudyRow) row = g_new0 (MsrStudyRow, 1);
      row->variant = g_strdup (k);
      row->n_seeds = n;
      row->seeds = g_new (guint64, n);
      guint j = 0;
      for (GList *l = keys; l; l = l->next, j++)
        {
          const MsrRunInfo *r = g_hash_table_lookup (seeds, l->data);
          row->seeds[j] = (guint64) *(gint64 *) l->data;
          MsrResultsMetrics *m = msr_results_get_metrics (results, r->id, error);
          if (m == NULL)
            return NULL;
          g_ptr_array_add (metrics, m);
        }
      /* Seeds in ascending order (hash order is arbitrary). */
      for (guint a = 1; a < n; a++)
        for (guint b = a; b > 0 && row->seeds[b] < row->seeds[b - 1]; b--)
          {
            guint64 t = row->seeds[b];
            row->seeds[b] = row->seeds[b - 1];
            row->seeds[b - 1] = t;
            gpointer tm = metrics->pdata[b];
            metrics->pdata[b] = metrics->pdata[b - 1];
            metrics->pdata[b - 1] = tm;
          }
      /* Scopes: the first seed's scenarios, then overall. */
      const MsrResultsMetrics *first = metrics->pdata[0];
      g_autoptr(GStrvBuilder) sb = g_strv_builder_new ();
      for (guint s = 0; s < first->n_scopes; s++)
        if (first->scopes[s].scope == MSR_RESULTS_SCOPE_SCENARIO)
          g_strv_builder_add (sb, first->scopes[s].scenario);
      g_strv_builder_add (sb, "overall");
      row->scopes = g_strv_builder_end (sb);
      row->n_scopes = g_strv_length (row->scopes);
      const guint C = row->n_scopes;
      row->auc_mean = g_new (double, C), row->auc_std = g_new (double, C);
      row->logloss_mean = g_new (double, C), row->logloss_std = g_new (double, C);
      row->gauc_mean = g_new (double, C), row->gauc_std = g_new (double, C);
      g_autofree double *auc = g_new (double, n), *ll = g_new (double, n), *ga = g_new (double, n);
      for (guint c = 0; c < C; c++)
        {
          const gboolean overall = c + 1 == C;
          for (guint i = 0; i < n; i++)
            {
              const MsrResultsScopeMetrics *sm = msr_results_metrics_find (
                  metrics->pdata[i], overall ? MSR_RESULTS_SCOPE_OVERALL : MSR_RESULTS_SCOPE_SCENARIO,
                  row->scopes[c]);
              auc[i] = sm && sm->metrics.auc_defined ? sm->metrics.auc : NAN;
              ll[i] = sm && sm->metrics.logloss_defined ? sm->metrics.logloss : NAN;
              ga[i] = sm && sm->metrics.gauc_defined ? sm->metrics.gauc : NAN;
            }
          mean_std (auc, n, &row->auc_mean[c], &row->auc_std[c]);
          mean_std (ll, n, &row->logloss_mean[c], &row->logloss_std[c]);
          mean_std (ga, n, &row->gauc_mean[c], &row->gauc_std[c]);
        }
      g_ptr_array_add (out, g_steal_pointer (&row));
    }
  g_ptr_array_sort (out, compare_rows);
  return g_steal_pointer (&out);
}

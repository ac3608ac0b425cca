/* msr-explain.c: see msr-explain.h. */
#include "config.h"
#include "msr-explain.h"
#include "msr-correlation.h"
#include "msr-metrics.h"
#include "msr-knowledge.h"
#include "msr-knowledge-vectors.h"
#include "msr-linalg.h"
#include "msr-simulate.h"
#include "msr-model-private.h"

#include <math.h>
#include <string.h>

/* Cosine similarity of S rows of width d (NaN for a zero row). */
static double *
cosine_rows (const double *v, guint S, gsize d)
{
  double *m = g_new (double, (gsize) S * S);
  g_autofree double *norm = g_new0 (double, S);
  for (guint a = 0; a < S; a++)
    {
      double s = 0;
      for (gsize j = 0; j < d; j++)
        s += v[a * d + j] * v[a * d + j];
      norm[a] = sqrt (s);
    }
  for (guint a = 0; a < S; a++)
    for (guint b = 0; b < S; b++)
      {
        double s = 0;
        for (gsize j = 0; j < d && norm[a] > 0 && norm[b] > 0; j++)
          s += v[a * d + j] * v[b * d + j];
        m[(gsize) a * S + b] = norm[a] > 0 && norm[b] > 0 ? CLAMP (s / (norm[a] * norm[b]), -1.0, 1.0) : NAN;
      }
  return m;
}

double *
msr_explain_learned_correlation (MsrModel *model, const MsrDataset *ds, guint split_mask, char **what,
                                 GCancellable *cancellable, GError **error)
{
  MsrModel *m = model;
  const guint S = m->n_scenarios;
  if (m->meta && msr_model_meta_scenario_n_layers (m) > 0)
    {
      g_autofree double *rows = NULL;
      gsize d = 0;
      for (guint s = 0; s < S; s++)
        {
          g_autofree double *part = NULL;
          guint r, c;
          if (!msr_llm4msr_generated_part (m, (int) s, NULL, &part, &r, &c))
            break;
          if (rows == NULL)
            {
              d = (gsize) r * c;
              rows = g_new (double, S * d);
            }
          memcpy (rows + s * d, part, d * sizeof (double));
        }
      if (rows != NULL)
        {
          if (what)
            *what = g_strdup ("Learned: cosine similarity of the scenarios' generated meta layers (the "
                              "knowledge-dependent part W_s − base of the scenario branch's first layer)");
          return cosine_rows (rows, S, d);
        }
    }
  if (m->cfg.arch == MSR_ARCH_STAR)
    {
      MsrParam *p = msr_params_lookup (m->params, "star.0.scenario_weight");
      if (p != NULL && p->n_dims == 3)
        {
          const gsize d = p->size / S;
          g_autofree double *rows = g_new (double, S * d);
          for (gsize i = 0; i < S * d; i++)
            rows[i] = p->value[i] - 1.0;
          if (what)
            *what = g_strdup ("Learned: cosine similarity of STAR's per-scenario weights of the first star layer "
                              "(their departure from 1, the shared-only value)");
          return cosine_rows (rows, S, d);
        }
    }
  if ((m->cfg.arch == MSR_ARCH_MMOE || m->cfg.arch == MSR_ARCH_PLE) && ds != NULL)
    {
      g_autoptr(MsrInternals) in = msr_model_summarize_internals (m, ds, split_mask, cancellable, error);
      if (in == NULL)
        return NULL;
      if (in->present[MSR_INTERNAL_GATES])
        {
          if (what)
            *what = g_strdup_printf ("Learned: cosine similarity of the scenarios' mean %s gate vectors",
                                     m->cfg.arch == MSR_ARCH_MMOE ? "MMoE" : "PLE (last level)");
          return cosine_rows (in->mean[MSR_INTERNAL_GATES], S, in->width[MSR_INTERNAL_GATES]);
        }
    }
  g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "a %s model has no per-scenario parameters or gates to "
               "compare (LLM4MSR, STAR, MMoE and PLE have)", msr_arch_to_string (m->cfg.arch));
  return NULL;
}

void
msr_meta_user_map_free (MsrMetaUserMap *map)
{
  if (map == NULL)
    return;
  g_strfreev (map->users);
  g_free (map->xy);
  g_free (map->dominant);
  g_free (map);
}

MsrMetaUserMap *
msr_explain_user_map (MsrModel *model, const MsrDataset *ds, GCancellable *cancellable, GError **error)
{
  MsrModel *m = model;
  guint n = 0;
  g_autofree guint *codes = msr_llm4msr_known_users (m, &n);
  if (codes == NULL || n < 3)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "the model has no user-level meta layer over at least "
                   "three users with knowledge");
      return NULL;
    }
  MsrParam *uk = msr_params_lookup (m->params, "llm4msr.user_knowledge");
  const guint dim = m->cfg.knowledge_dim;
  g_autofree double *x = NULL;
  gsize d = 0;
  g_autofree float *key = g_new (float, dim);
  for (guint i = 0; i < n; i++)
    {
      if ((i & 63) == 0 && g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      for (guint j = 0; j < dim; j++)
        key[j] = (float) uk->value[(gsize) codes[i] * dim + j];
      g_autofree double *part = NULL;
      guint r, c;
      if (!msr_llm4msr_generated_part (m, -1, key, &part, &r, &c))
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "the model has no user-level meta layer");
          return NULL;
        }
      if (x == NULL)
        {
          d = (gsize) r * c;
          x = g_new (double, n * d);
        }
      memcpy (x + i * d, part, d * sizeof (double));
    }
  g_autoptr(MsrMetaUserMap) map = g_new0 (MsrMetaUserMap, 1);
  map->n = n;
  map->xy = g_new (double, (gsize) n * 2);
  if (!msr_linalg_pca (x, n, (guint) d, 2, map->xy, map->explained, error))
    return NULL;
  map->users = g_new0 (char *, n + 1);
  map->dominant = g_new (int, n);
  /* Dominant scenario: most training rows, from the dataset when given. */
  g_autofree guint *counts = NULL;
  const guint S = m->n_scenarios;
  if (ds != NULL)
    {
      const guint U = msr_dataset_get_field_cardinality (ds, m->user_field);
      counts = g_new0 (guint, (gsize) U * S);
      const gint32 *uc = msr_dataset_get_field_codes (ds, m->user_field);
      const guint16 *sc = msr_dataset_get_scenarios (ds);
      const guint8 *sp = msr_dataset_get_splits (ds);
      for (gsize r = 0; r < msr_dataset_get_n_rows (ds); r++)
        if (sp[r] == MSR_SPLIT_TRAIN && uc[r] > 0 && (guint) uc[r] < U)
          counts[(gsize) uc[r] * S + sc[r]]++;
    }
  for (guint i = 0; i < n; i++)
    {
      const char *value = msr_model_decode (m, m->user_field, (gint32) codes[i]);
      map->users[i] = g_strdup (value ? value : "?");
      map->dominant[i] = -1;
      if (counts == NULL || value == NULL)
        continue;
      gint32 dc = msr_dataset_lookup_code (ds, m->user_field, value);
      guint best = 0;
      for (guint s = 0; dc > 0 && s < S; s++)
        if (counts[(gsize) dc * S + s] > best)
          best = counts[(gsize) dc * S + s], map->dominant[i] = (int) s;
    }
  return g_steal_pointer (&map);
}

double *
msr_explain_singular_values (const float *w, guint rows, guint cols, guint *n, GError **error)
{
  g_autofree double *a = g_new (double, (gsize) rows * cols);
  for (gsize i = 0; i < (gsize) rows * cols; i++)
    a[i] = w[i];
  const guint k = MIN (rows, cols);
  double *s = g_new (double, k);
  if (!msr_linalg_svd (a, rows, cols, s, NULL, NULL, error))
    {
      g_free (s);
      return NULL;
    }
  *n = k;
  return s;
}

gboolean
msr_explain_user_effect (MsrModel *model, const MsrDataset *ds, const char *user, guint split_mask, gsize *n_out,
                         guint32 **rows_out, double **with_out, double **without_out, GError **error)
{
  MsrModel *m = model;
  if (m->meta == NULL || m->cfg.meta_no_user)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "the model has no user-level meta layer");
      return FALSE;
    }
  if (!msr_model_check_dataset (m, ds, error))
    return FALSE;
  const guint uf = m->user_field;
  const gint32 code = msr_dataset_lookup_code (ds, uf, user);
  if (code <= 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "no user '%s' in the dataset", user);
      return FALSE;
    }
  const gint32 *uc = msr_dataset_get_field_codes (ds, uf);
  const guint8 *sp = msr_dataset_get_splits (ds);
  g_autoptr(GArray) rows = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (gsize r = 0; r < msr_dataset_get_n_rows (ds); r++)
    if (uc[r] == code && (split_mask & MSR_SPLIT_MASK (sp[r])))
      {
        guint32 r32 = (guint32) r;
        g_array_append_val (rows, r32);
      }
  const gsize n = rows->len;
  g_autofree double *with = g_new (double, MAX (n, 1)), *without = g_new (double, MAX (n, 1));
  if (n > 0)
    {
      g_autoptr(MsrBatch) batch = msr_batch_new (m);
      g_autoptr(MsrGraph) g = msr_graph_new ();
      msr_graph_set_training (g, FALSE);
      msr_batch_fill (batch, ds, (const guint32 *) rows->data, n);
      for (int pass = 0; pass < 2; pass++)
        {
          msr_graph_reset (g);
          msr_llm4msr_use_mean_user (m, pass == 1);
          MsrNode *z = msr_model_forward (m, g, batch, NULL);
          const msr_real *v = msr_node_value (z);
          for (gsize i = 0; i < n; i++)
            (pass == 0 ? with : without)[i] = v[i];
        }
      msr_llm4msr_use_mean_user (m, FALSE);
    }
  *n_out = n;
  *rows_out = (guint32 *) g_array_free (g_steal_pointer (&rows), FALSE);
  *with_out = g_steal_pointer (&with);
  *without_out = g_steal_pointer (&without);
  return TRUE;
}

double *
msr_explain_user_aucs (const MsrDataset *ds, guint split_mask, const double *scores, gsize n, GError **error)
{
  const guint uf = msr_dataset_get_user_field (ds);
  const guint U = msr_dataset_get_field_cardinality (ds, uf);
  const gint32 *uc = msr_dataset_get_field_codes (ds, uf);
  const guint8 *sp = msr_dataset_get_splits (ds), *labels = msr_dataset_get_labels (ds);
  /* The split's rows, grouped by user (counting sort). */
  g_autofree guint *count = g_new0 (guint, (gsize) U + 1);
  gsize rows = 0;
  for (gsize r = 0; r < msr_dataset_get_n_rows (ds); r++)
    if (split_mask & MSR_SPLIT_MASK (sp[r]))
      {
        rows++;
        if (uc[r] >= 0 && (guint) uc[r] < U)
          count[uc[r] + 1]++;
      }
  if (rows != n)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH, "%" G_GSIZE_FORMAT " scores for %" G_GSIZE_FORMAT
                   " rows of the split", n, rows);
      return NULL;
    }
  for (guint u = 0; u < U; u++)
    count[u + 1] += count[u];
  g_autofree double *s = g_new (double, MAX (n, 1));
  g_autofree guint8 *y = g_new (guint8, MAX (n, 1));
  g_autofree guint *at = g_memdup2 (count, ((gsize) U + 1) * sizeof (guint));
  gsize i = 0;
  for (gsize r = 0; r < msr_dataset_get_n_rows (ds); r++)
    if (split_mask & MSR_SPLIT_MASK (sp[r]))
      {
        if (uc[r] >= 0 && (guint) uc[r] < U)
          {
            const guint k = at[uc[r]]++;
            s[k] = scores[i];
            y[k] = labels[r];
          }
        i++;
      }
  double *auc = g_new (double, U);
  for (guint u = 0; u < U; u++)
    {
      gboolean defined = FALSE;
      const gsize len = count[u + 1] - count[u];
      double a = len ? msr_auc (s + count[u], y + count[u], len, &defined) : NAN;
      auc[u] = defined ? a : NAN;
    }
  return auc;
}

/* ---- scenario correlations side by side ------------------------------------ */

#define CLICK_RATE_MIN_ROWS 5

static void
matrix_free (MsrScenarioMatrix *m)
{
  g_free (m->source);
  g_free (m->title);
  g_free (m->note);
  g_free (m->values);
  g_free (m);
}

void
msr_correlation_report_free (MsrCorrelationReport *r)
{
  if (r == NULL)
    return;
  g_strfreev (r->scenarios);
  g_clear_pointer (&r->matrices, g_ptr_array_unref);
  g_free (r->agreements);
  if (r->texts)
    for (guint s = 0; s < r->n_scenarios; s++)
      g_free (r->texts[s]);
  g_free (r->texts);
  if (r->text_sources)
    for (guint s = 0; s < r->n_scenarios; s++)
      g_free (r->text_sources[s]);
  g_free (r->text_sources);
  g_free (r->learned_error);
  g_free (r->knowledge_error);
  g_free (r);
}

static void
add_matrix (MsrCorrelationReport *r, const char *source, char *title, char *note, double *values)
{
  MsrScenarioMatrix *m = g_new0 (MsrScenarioMatrix, 1);
  m->source = g_strdup (source);
  m->title = title;
  m->note = note;
  m->values = values;
  g_ptr_array_add (r->matrices, m);
}

/* The store's LLM matrices and scenario texts, or a reason in r. */
static void
read_knowledge (MsrCorrelationReport *r, const char *path, const char *const *names)
{
  const guint S = r->n_scenarios;
  if (path == NULL || !g_file_test (path, G_FILE_TEST_EXISTS))
    return;
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrKnowledge) k = msr_knowledge_open (path, MSR_KNOWLEDGE_READ_ONLY, &error);
  g_auto(GStrv) sources = k ? msr_knowledge_list_correlation_sources (k, &error) : NULL;
  if (sources == NULL)
    {
      r->knowledge_error = g_strdup (error ? error->message : "the knowledge store cannot be read");
      return;
    }
  for (guint i = 0; sources[i]; i++)
    {
      if (!g_str_has_prefix (sources[i], "llm:"))
        continue;
      double *m = msr_knowledge_get_correlation (k, sources[i], names, S, &error);
      if (m == NULL)
        continue;
      add_matrix (r, sources[i], g_strdup_printf ("LLM: scenario knowledge (%s)", sources[i] + 4),
                  g_strdup_printf ("Cosine similarity of the scenarios' knowledge vectors (encoder %s)",
                                   sources[i] + 4), m);
    }
  for (guint s = 0; s < S; s++)
    {
      g_autoptr(MsrKnowledgeEntry) e = msr_knowledge_get_entry (k, MSR_KNOWLEDGE_SCENARIO, names[s], NULL, NULL);
      if (e != NULL)
        {
          r->texts[s] = g_steal_pointer (&e->response);
          r->text_sources[s] = g_steal_pointer (&e->source);
        }
    }
}

MsrCorrelationReport *
msr_explain_correlations (const char *project_dir, const char *knowledge_path, MsrModel *model,
                          const char *model_label, const MsrDataset *ds, guint permutations,
                          GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (ds != NULL, NULL);
  const guint S = msr_dataset_get_n_scenarios (ds);
  g_autoptr(MsrCorrelationReport) r = g_new0 (MsrCorrelationReport, 1);
  r->n_scenarios = S;
  r->scenarios = g_new0 (char *, S + 1);
  for (guint s = 0; s < S; s++)
    r->scenarios[s] = g_strdup (msr_dataset_get_scenario_name (ds, s));
  r->matrices = g_ptr_array_new_with_free_func ((GDestroyNotify) matrix_free);
  r->texts = g_new0 (char *, S);
  r->text_sources = g_new0 (char *, S);
  r->permutations = permutations;

  read_knowledge (r, knowledge_path, (const char * const *) r->scenarios);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  double *click = msr_corr_click_rate (ds, MSR_SPLIT_MASK (MSR_SPLIT_TRAIN), CLICK_RATE_MIN_ROWS, NULL);
  if (click)
    add_matrix (r, "data:click-rate", g_strdup ("Data: users' click rates"),
                g_strdup_printf ("Pearson correlation, across users with at least %d training rows in both "
                                 "scenarios, of their click rates", CLICK_RATE_MIN_ROWS), click);
  double *overlap = msr_corr_user_overlap (ds, MSR_SPLIT_MASK (MSR_SPLIT_TRAIN));
  if (overlap)
    add_matrix (r, "data:user-overlap", g_strdup ("Data: shared users"),
                g_strdup ("Jaccard similarity of the scenarios' training users"), overlap);
  if (project_dir && msr_sim_project_is_simulated (project_dir))
    {
      g_autoptr(MsrSimTruth) truth = msr_sim_truth_load (project_dir, NULL);
      g_autoptr(MsrSimRecovery) rec = truth ? msr_sim_recovery_compute (truth, ds, NULL) : NULL;
      if (rec)
        add_matrix (r, "planted", g_strdup ("Planted: the simulated world's truth"),
                    g_strdup ("The scenario correlation the generator drew the clicks from"),
                    g_steal_pointer (&rec->planted));
    }
  if (model != NULL)
    {
      g_autoptr(GError) local = NULL;
      g_autofree char *what = NULL;
      double *learned = msr_explain_learned_correlation (model, ds, MSR_SPLIT_MASK (MSR_SPLIT_TRAIN), &what,
                                                         cancellable, &local);
      if (learned)
        add_matrix (r, "learned", g_strdup_printf ("Learned by %s", model_label ? model_label : "the model"),
                    g_steal_pointer (&what), learned);
      else if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      else
        r->learned_error = g_strdup (local->message);
    }

  const guint M = r->matrices->len;
  r->agreements = g_new0 (MsrMatrixAgreement, MAX (M * (M - 1) / 2, 1));
  for (guint a = 0; a < M; a++)
    for (guint b = a + 1; b < M; b++)
      {
        if (g_cancellable_set_error_if_cancelled (cancellable, error))
          return NULL;
        MsrMatrixAgreement *ag = &r->agreements[r->n_agreements++];
        ag->a = a;
        ag->b = b;
        const MsrScenarioMatrix *ma = r->matrices->pdata[a], *mb = r->matrices->pdata[b];
        if (!msr_corr_mantel_full (ma->values, mb->values, S, MSR_CORR_PEARSON, permutations, 1,
                                   &ag->r, &ag->p, &ag->pairs))
          ag->r = ag->p = NAN;
      }
  return g_steal_pointer (&r);
}

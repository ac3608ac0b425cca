/* msr-train.c: the training loop, the optimiser and scoring. */
#include "config.h"
#include "msr-train.h"
#include "msr-model-private.h"
#include "msr-metrics.h"
#include "msr-sort.h"

#include <cblas.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#define SCORE_BATCH_DEFAULT 4096

void
msr_train_options_init (MsrTrainOptions *o)
{
  memset (o, 0, sizeof *o);
  o->epochs = 20;
  o->batch_size = 1024;
  o->lr = 1e-3;
  o->weight_decay = 1e-5;
  o->beta1 = 0.9;
  o->beta2 = 0.999;
  o->eps = 1e-8;
  o->patience = 3;
  o->seed = 42;
  o->threads = 1;
}

void
msr_train_result_free (MsrTrainResult *r)
{
  if (r == NULL)
    return;
  for (guint i = 0; r->epochs && i < r->epochs->len; i++)
    g_free (g_array_index (r->epochs, MsrEpochLog, i).valid_auc_scenario);
  if (r->epochs)
    g_array_unref (r->epochs);
  g_free (r->best_epoch_scenario);
  g_free (r);
}

/* ---- the optimiser ---------------------------------------------------------- */

static inline void
adam_update (msr_real *w, msr_real *gr, msr_real *m, msr_real *v, gsize i, const MsrTrainOptions *o,
             gboolean decay, double bc1, double bc2)
{
  double g = gr[i];
  if (decay && !o->adamw)
    g += o->weight_decay * w[i];
  m[i] = (msr_real) (o->beta1 * m[i] + (1 - o->beta1) * g);
  v[i] = (msr_real) (o->beta2 * v[i] + (1 - o->beta2) * g * g);
  double step = o->lr * (m[i] / bc1) / (sqrt (v[i] / bc2) + o->eps);
  if (decay && o->adamw)
    step += o->lr * o->weight_decay * w[i];
  w[i] = (msr_real) (w[i] - step);
}

/* One Adam (or AdamW) step. Embedding tables are updated lazily: only the
 * rows this batch touched move, and their moments decay only then (as
 * PyTorch's SparseAdam); bias correction uses the global step t. */
static void
optimizer_step (MsrParams *ps, const MsrTrainOptions *o, gint64 t)
{
  const double bc1 = 1 - pow (o->beta1, (double) t), bc2 = 1 - pow (o->beta2, (double) t);
  for (guint i = 0; i < msr_params_get_n (ps); i++)
    {
      MsrParam *p = msr_params_get (ps, i);
      if (!(p->flags & MSR_PARAM_TRAINABLE))
        continue;
      if (p->adam_m == NULL)
        {
          p->adam_m = g_new0 (msr_real, MAX (p->size, 1));
          p->adam_v = g_new0 (msr_real, MAX (p->size, 1));
        }
      const gboolean decay = o->weight_decay > 0 && !(p->flags & MSR_PARAM_NO_DECAY);
      if (p->flags & MSR_PARAM_SPARSE_ROWS)
        {
          for (guint k = 0; k < p->touched_rows->len; k++)
            {
              const gsize base = (gsize) g_array_index (p->touched_rows, guint32, k) * p->row_size;
              for (gsize j = 0; j < p->row_size; j++)
                adam_update (p->value, p->grad, p->adam_m, p->adam_v, base + j, o, decay, bc1, bc2);
            }
        }
      else
        for (gsize j = 0; j < p->size; j++)
          adam_update (p->value, p->grad, p->adam_m, p->adam_v, j, o, decay, bc1, bc2);
    }
  msr_params_zero_grad (ps);
}

/* ---- snapshots of parameter values ------------------------------------------ */

typedef struct {
  guint      n;
  msr_real **values;
} Snapshot;

static void
snapshot_take (Snapshot *s, MsrParams *ps, const char *prefix)
{
  if (s->values == NULL)
    {
      s->n = msr_params_get_n (ps);
      s->values = g_new0 (msr_real *, s->n);
    }
  for (guint i = 0; i < s->n; i++)
    {
      MsrParam *p = msr_params_get (ps, i);
      if (prefix && !g_str_has_prefix (p->name, prefix))
        continue;
      if (s->values[i] == NULL)
        s->values[i] = g_new (msr_real, MAX (p->size, 1));
      memcpy (s->values[i], p->value, p->size * sizeof (msr_real));
    }
}

static void
snapshot_restore (const Snapshot *s, MsrParams *ps, const char *prefix)
{
  for (guint i = 0; i < s->n; i++)
    {
      MsrParam *p = msr_params_get (ps, i);
      if ((prefix && !g_str_has_prefix (p->name, prefix)) || s->values[i] == NULL)
        continue;
      memcpy (p->value, s->values[i], p->size * sizeof (msr_real));
    }
}

static void
snapshot_clear (Snapshot *s)
{
  for (guint i = 0; i < s->n; i++)
    g_free (s->values[i]);
  g_free (s->values);
  s->values = NULL;
  s->n = 0;
}

/* ---- scoring ------------------------------------------------------------------ */

static inline double
logistic (double z)
{
  return z >= 0 ? 1 / (1 + exp (-z)) : exp (z) / (1 + exp (z));
}

typedef struct {
  MsrModel         *model;
  const MsrDataset *ds;
  const guint32    *rows;       /* in batch order */
  const guint32    *dest;       /* out position of rows[j], or NULL: j */
  gsize             n;
  gsize             batch_size;
  double           *out;
  gint              next;       /* next batch index (atomic) */
  gint              done;       /* rows scored (atomic) */
  GCancellable     *cancellable;
  /* Set for the calling thread's worker only. */
  MsrProgressFunc   progress;
  gpointer          progress_data;
  GThread          *caller;
} ScoreJob;

/* Scores batch k of the job into its rows' places; returns its rows. */
static gsize
score_batch (ScoreJob *job, MsrGraph *g, MsrBatch *batch, gsize k)
{
  const gsize start = k * job->batch_size, m = MIN (job->batch_size, job->n - start);
  msr_batch_fill (batch, job->ds, job->rows + start, m);
  msr_graph_reset (g);
  MsrNode *z = msr_model_forward (job->model, g, batch, NULL);
  const msr_real *zv = msr_node_value (z);
  if (job->dest)
    for (gsize i = 0; i < m; i++)
      job->out[job->dest[start + i]] = logistic (zv[i]);
  else
    for (gsize i = 0; i < m; i++)
      job->out[start + i] = logistic (zv[i]);
  return m;
}

static gpointer
score_worker (gpointer data)
{
  ScoreJob *job = data;
  /* Progress is reported by the calling thread's worker only. */
  MsrProgressFunc progress = g_thread_self () == job->caller ? job->progress : NULL;
  g_autoptr(MsrGraph) g = msr_graph_new ();
  g_autoptr(MsrBatch) batch = msr_batch_new (job->model);
  msr_graph_set_training (g, FALSE);
  const gsize n_batches = (job->n + job->batch_size - 1) / job->batch_size;
  for (;;)
    {
      gsize k = (gsize) g_atomic_int_add (&job->next, 1);
      if (k >= n_batches || g_cancellable_is_cancelled (job->cancellable))
        break;
      const gsize m = score_batch (job, g, batch, k);
      g_atomic_int_add (&job->done, (gint) m);
      if (progress)
        progress ((double) g_atomic_int_get (&job->done) / job->n, "Scoring", job->progress_data);
    }
  return NULL;
}

/* Scores rows (in this order) in batches, the score of rows[j] going to
 * out[dest[j]] (out[j] when dest is NULL); the same batches whatever the
 * thread count, so the scores do not depend on it. */
static double *
score_rows (MsrModel *model, const MsrDataset *ds, const guint32 *rows, const guint32 *dest, gsize n,
            guint threads, gsize batch_size, MsrProgressFunc progress, gpointer progress_data,
            GCancellable *cancellable, GError **error)
{
  ScoreJob job = { model, ds, rows, dest, n, batch_size ? batch_size : SCORE_BATCH_DEFAULT,
                   g_new (double, MAX (n, 1)), 0, 0, cancellable, NULL, NULL, g_thread_self () };
  if (threads == 0)
    threads = g_get_num_processors ();
  const gsize n_batches = (n + job.batch_size - 1) / job.batch_size;
  threads = (guint) MIN (threads, MAX (n_batches, 1));

  if (threads <= 1)
    {
      /* One worker on this thread, reporting progress between batches. */
      g_autoptr(MsrGraph) g = msr_graph_new ();
      g_autoptr(MsrBatch) batch = msr_batch_new (model);
      msr_graph_set_training (g, FALSE);
      gsize done = 0;
      for (gsize k = 0; k < n_batches; k++)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            {
              g_free (job.out);
              return NULL;
            }
          done += score_batch (&job, g, batch, k);
          if (progress)
            progress ((double) done / n, "Scoring", progress_data);
        }
      return job.out;
    }

  /* Several workers, this thread among them (reporting progress between
   * its batches); BLAS runs single-threaded inside each. */
  const int blas_threads = openblas_get_num_threads ();
  openblas_set_num_threads (1);
  job.progress = progress;
  job.progress_data = progress_data;
  g_autoptr(GPtrArray) workers = g_ptr_array_new ();
  for (guint t = 1; t < threads; t++)
    g_ptr_array_add (workers, g_thread_new ("msr-score", score_worker, &job));
  score_worker (&job);
  for (guint t = 0; t < workers->len; t++)
    g_thread_join (g_ptr_array_index (workers, t));
  openblas_set_num_threads (blas_threads);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      g_free (job.out);
      return NULL;
    }
  if (progress)
    progress (1.0, "Scoring", progress_data);
  return job.out;
}

static guint32 *
rows_in_splits (const MsrDataset *ds, guint split_mask, gsize *n_out)
{
  const guint8 *sp = msr_dataset_get_splits (ds);
  const gsize N = msr_dataset_get_n_rows (ds);
  guint32 *rows = g_new (guint32, MAX (N, 1));
  gsize n = 0;
  for (gsize r = 0; r < N; r++)
    if (split_mask & MSR_SPLIT_MASK (sp[r]))
      rows[n++] = (guint32) r;
  *n_out = n;
  return rows;
}

/* LLM4MSR generates the user-level layer once per distinct user (or user
 * and scenario) of a batch (msr-llm4msr.c). Batches of consecutive rows
 * meet most users in every batch (1,400 of 2,000 in 4,096 rows of
 * bench-llm4msr's world), so each user's layer would be generated in
 * nearly every batch; batches of rows grouped by user meet a few users
 * each, and a user's layer is generated once per pass, twice when its rows
 * straddle a batch boundary: the inference-time cache of method spec §4.4,
 * without keeping layers across batches. */
guint32 *
msr_score_batch_order (MsrModel *model, const MsrDataset *ds, const guint32 *rows, gsize n, MsrScoreOrder order)
{
  const MsrModelConfig *c = msr_model_get_config (model);
  if (order == MSR_SCORE_ORDER_AUTO)
    order = c->llm4msr && !c->meta_no_user ? MSR_SCORE_ORDER_USER : MSR_SCORE_ORDER_DATASET;
  if (order != MSR_SCORE_ORDER_USER || n < 2 || n > G_MAXUINT32)
    return NULL;
  const guint uf = msr_dataset_get_user_field (ds);
  if (msr_dataset_get_field_offsets (ds, uf) != NULL)
    return NULL;
  const gint32 *codes = msr_dataset_get_field_codes (ds, uf);
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  const guint U = msr_dataset_get_field_cardinality (ds, uf), S = msr_dataset_get_n_scenarios (ds);
  /* LSD: by scenario, then stably by user. Keys are indexed by position
   * in rows; a code out of range (negative included) leaves the order. */
  g_autofree guint32 *key = g_new (guint32, n), *by_scenario = g_new (guint32, n);
  guint32 *pos = g_new (guint32, n);
  for (gsize i = 0; i < n; i++)
    key[i] = scen[rows[i]];
  gboolean ok = msr_counting_sort (key, S, NULL, n, by_scenario, NULL);
  for (gsize i = 0; ok && i < n; i++)
    key[i] = (guint32) codes[rows[i]];
  ok = ok && msr_counting_sort (key, U, by_scenario, n, pos, NULL);
  if (!ok)
    g_clear_pointer (&pos, g_free);
  return pos;
}

double *
msr_score_ordered (MsrModel *model, const MsrDataset *ds, guint split_mask, MsrScoreOrder order, guint threads,
                   gsize batch_size, gsize *n_out, guint32 **rows_out, MsrProgressFunc progress,
                   gpointer progress_data, GCancellable *cancellable, GError **error)
{
  if (!msr_model_check_dataset (model, ds, error))
    return NULL;
  gsize n;
  g_autofree guint32 *rows = rows_in_splits (ds, split_mask, &n);
  if (n == 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: no rows in the requested split",
                   msr_dataset_get_source (ds));
      return NULL;
    }
  /* The rows in batch order, and where each one's score goes. */
  g_autofree guint32 *pos = msr_score_batch_order (model, ds, rows, n, order);
  g_autofree guint32 *batch_rows = NULL;
  if (pos)
    {
      batch_rows = g_new (guint32, n);
      for (gsize j = 0; j < n; j++)
        batch_rows[j] = rows[pos[j]];
    }
  double *scores = score_rows (model, ds, pos ? batch_rows : rows, pos, n, threads, batch_size, progress,
                               progress_data, cancellable, error);
  if (scores == NULL)
    return NULL;
  *n_out = n;
  if (rows_out)
    *rows_out = g_steal_pointer (&rows);
  return scores;
}

double *
msr_score (MsrModel *model, const MsrDataset *ds, guint split_mask, guint threads, gsize batch_size,
           gsize *n_out, guint32 **rows_out, MsrProgressFunc progress, gpointer progress_data,
           GCancellable *cancellable, GError **error)
{
  return msr_score_ordered (model, ds, split_mask, MSR_SCORE_ORDER_AUTO, threads, batch_size, n_out, rows_out,
                            progress, progress_data, cancellable, error);
}

double *
msr_score_popularity (const MsrDataset *ds, guint split_mask, gsize *n_out)
{
  const guint item = msr_dataset_get_item_field (ds);
  const guint V = msr_dataset_get_field_cardinality (ds, item);
  const gint32 *codes = msr_dataset_get_field_codes (ds, item);
  const guint8 *labels = msr_dataset_get_labels (ds), *sp = msr_dataset_get_splits (ds);
  const gsize N = msr_dataset_get_n_rows (ds);
  g_autofree double *pos = g_new0 (double, V), *cnt = g_new0 (double, V);
  double all_pos = 0, all = 0;
  for (gsize r = 0; r < N; r++)
    if (sp[r] == MSR_SPLIT_TRAIN)
      {
        pos[codes[r]] += labels[r];
        cnt[codes[r]] += 1;
        all_pos += labels[r];
        all += 1;
      }
  const double prior = all > 0 ? all_pos / all : 0.5;
  gsize n;
  g_autofree guint32 *rows = rows_in_splits (ds, split_mask, &n);
  double *out = g_new (double, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    {
      const gint32 c = codes[rows[i]];
      out[i] = (pos[c] + prior) / (cnt[c] + 1);
    }
  *n_out = n;
  return out;
}

/* ---- training ------------------------------------------------------------------ */

typedef struct {
  double  auc, logloss;
  double *auc_scenario;
} Validation;

static gboolean
validate (MsrModel *model, const MsrDataset *ds, const guint32 *rows, gsize n, Validation *v,
          GCancellable *cancellable, GError **error)
{
  const guint S = model->n_scenarios;
  v->auc = v->logloss = NAN;
  v->auc_scenario = g_new (double, S);
  for (guint s = 0; s < S; s++)
    v->auc_scenario[s] = NAN;
  if (n == 0)
    return TRUE;
  /* Batches of consecutive validation rows, as before: training stays
   * what it was (msr_score_batch_order is for scoring). */
  g_autofree double *scores = score_rows (model, ds, rows, NULL, n, 1, SCORE_BATCH_DEFAULT, NULL, NULL,
                                          cancellable, error);
  if (scores == NULL)
    return FALSE;
  const guint8 *labels = msr_dataset_get_labels (ds);
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  g_autofree guint8 *y = g_new (guint8, n);
  for (gsize i = 0; i < n; i++)
    y[i] = labels[rows[i]];
  gboolean defined;
  v->auc = msr_auc (scores, y, n, &defined);
  v->logloss = msr_logloss (scores, y, n, &defined);
  g_autofree double *ss = g_new (double, n);
  g_autofree guint8 *sy = g_new (guint8, n);
  for (guint s = 0; s < S; s++)
    {
      gsize m = 0;
      for (gsize i = 0; i < n; i++)
        if (scen[rows[i]] == s)
          {
            ss[m] = scores[i];
            sy[m++] = y[i];
          }
      v->auc_scenario[s] = msr_auc (ss, sy, m, &defined);
    }
  return TRUE;
}

/* Higher is better: the AUC, or minus the logloss when the AUC is undefined. */
static double
criterion (double auc, double logloss)
{
  return isnan (auc) ? (isnan (logloss) ? -INFINITY : -logloss) : auc;
}

MsrTrainResult *
msr_train (MsrModel *model, const MsrDataset *ds, const MsrTrainOptions *opts,
           MsrTrainProgressFunc progress, gpointer progress_data, GCancellable *cancellable, GError **error)
{
  if (!msr_model_check_dataset (model, ds, error))
    return NULL;
  if (opts->epochs == 0 || opts->batch_size == 0 || !(opts->lr > 0) || opts->weight_decay < 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "training needs at least one epoch, a batch size and a positive learning rate");
      return NULL;
    }
  gsize n_train, n_valid;
  g_autofree guint32 *train = rows_in_splits (ds, MSR_SPLIT_MASK (MSR_SPLIT_TRAIN), &n_train);
  g_autofree guint32 *valid = rows_in_splits (ds, MSR_SPLIT_MASK (MSR_SPLIT_VALID), &n_valid);
  if (n_train == 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: no training rows", msr_dataset_get_source (ds));
      return NULL;
    }

  const int blas_threads = openblas_get_num_threads ();
  openblas_set_num_threads (MAX (opts->threads, 1));

  const guint S = model->n_scenarios;
  const gboolean separate = model->cfg.arch == MSR_ARCH_DNN_SEPARATE;
  MsrTrainResult *res = g_new0 (MsrTrainResult, 1);
  res->n_scenarios = S;
  res->epochs = g_array_new (FALSE, TRUE, sizeof (MsrEpochLog));
  res->best_valid_auc = NAN;
  res->train_rows = n_train;
  res->valid_rows = n_valid;
  if (separate)
    res->best_epoch_scenario = g_new0 (guint, S);

  MsrParams *ps = model->params;
  msr_params_zero_grad (ps);
  MsrRng shuffle_rng, dropout_rng;
  msr_rng_init (&shuffle_rng, opts->seed);
  msr_rng_init (&dropout_rng, opts->seed ^ G_GUINT64_CONSTANT (0x5DEECE66D));
  g_autoptr(MsrGraph) g = msr_graph_new ();
  g_autoptr(MsrBatch) batch = msr_batch_new (model);
  msr_graph_set_rng (g, &dropout_rng);

  Snapshot best = { 0 };
  Snapshot *best_s = separate ? g_new0 (Snapshot, S) : NULL;
  g_autofree double *best_crit_s = g_new (double, S);
  g_autofree guint *bad_s = g_new0 (guint, S);
  for (guint s = 0; s < S; s++)
    best_crit_s[s] = -INFINITY;
  double best_crit = -INFINITY;
  guint bad = 0;
  gint64 step = 0;
  const gsize n_batches = (n_train + opts->batch_size - 1) / opts->batch_size;
  const gint64 t0 = g_get_monotonic_time ();
  gsize rows_done = 0;
  gboolean ok = TRUE;

  for (guint epoch = 1; epoch <= opts->epochs && ok; epoch++)
    {
      const gint64 e0 = g_get_monotonic_time ();
      msr_rng_shuffle_u32 (&shuffle_rng, train, n_train);
      double loss_sum = 0;
      msr_graph_set_training (g, TRUE);
      for (gsize k = 0; k < n_batches; k++)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            {
              ok = FALSE;
              break;
            }
          const gsize start = k * opts->batch_size, m = MIN (opts->batch_size, n_train - start);
          msr_batch_fill (batch, ds, train + start, m);
          msr_graph_reset (g);
          MsrNode *z = msr_model_forward (model, g, batch, NULL);
          /* The loss is divided by the whole batch, not by each scenario's
           * share, so towers get the gradients of the masked reference. */
          MsrNode *loss = msr_g_bce_logits (g, z, msr_batch_get_labels (batch), (double) m);
          const double lv = msr_node_value (loss)[0];
          if (!isfinite (lv))
            {
              g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                           "training diverged: the loss is %g at epoch %u, batch %" G_GSIZE_FORMAT
                           "; try a lower learning rate", lv, epoch, k + 1);
              ok = FALSE;
              break;
            }
          msr_graph_backward (g, loss);
          optimizer_step (ps, opts, ++step);
          loss_sum += lv;
          rows_done += m;
          if (progress)
            {
              const double elapsed = (g_get_monotonic_time () - t0) / 1e6;
              const double total = (double) n_train * opts->epochs;
              MsrTrainStatus st = { epoch, opts->epochs, k + 1, n_batches, loss_sum / (k + 1),
                                    elapsed > 0 ? rows_done / elapsed : 0,
                                    rows_done ? elapsed * (total - rows_done) / rows_done : 0,
                                    rows_done / total, NULL };
              progress (&st, progress_data);
            }
        }
      if (!ok)
        break;

      Validation v;
      if (!validate (model, ds, valid, n_valid, &v, cancellable, error))
        {
          ok = FALSE;
          break;
        }
      MsrEpochLog log = { epoch, loss_sum / n_batches, v.auc, v.logloss, v.auc_scenario,
                          (g_get_monotonic_time () - e0) / 1e6, FALSE };
      const double crit = criterion (v.auc, v.logloss);
      if (n_valid == 0 || crit > best_crit)
        {
          best_crit = crit;
          res->best_epoch = epoch;
          res->best_valid_auc = v.auc;
          log.best = TRUE;
          bad = 0;
          if (!separate)
            snapshot_take (&best, ps, NULL);
        }
      else
        bad++;
      gboolean all_exhausted = TRUE;
      if (separate)
        for (guint s = 0; s < S; s++)
          {
            /* Each scenario's own model stops at its own best epoch. */
            const double c = isnan (v.auc_scenario[s]) ? -INFINITY : v.auc_scenario[s];
            g_autofree char *prefix = g_strdup_printf ("scenarios.%u.", s);
            if (n_valid == 0 || c > best_crit_s[s] || res->best_epoch_scenario[s] == 0)
              {
                best_crit_s[s] = c;
                res->best_epoch_scenario[s] = epoch;
                bad_s[s] = 0;
                snapshot_take (&best_s[s], ps, prefix);
              }
            else
              bad_s[s]++;
            all_exhausted &= bad_s[s] >= opts->patience;
          }
      g_array_append_val (res->epochs, log);
      if (progress)
        {
          MsrTrainStatus st = { epoch, opts->epochs, n_batches, n_batches, log.train_loss, 0, 0,
                                (double) epoch / opts->epochs, &g_array_index (res->epochs, MsrEpochLog,
                                                                                res->epochs->len - 1) };
          progress (&st, progress_data);
        }
      if (n_valid > 0 && (separate ? all_exhausted : bad >= opts->patience) && epoch < opts->epochs)
        {
          res->stopped_early = TRUE;
          break;
        }
    }

  /* The best parameters seen, also when cancelled. */
  if (separate)
    for (guint s = 0; s < S; s++)
      {
        g_autofree char *prefix = g_strdup_printf ("scenarios.%u.", s);
        if (best_s[s].values)
          snapshot_restore (&best_s[s], ps, prefix);
        snapshot_clear (&best_s[s]);
      }
  else if (best.values)
    snapshot_restore (&best, ps, NULL);
  snapshot_clear (&best);
  g_free (best_s);
  openblas_set_num_threads (blas_threads);
  res->seconds = (g_get_monotonic_time () - t0) / 1e6;
  if (!ok)
    {
      msr_train_result_free (res);
      return NULL;
    }
  return res;
}

static void
json_double_or_null (JsonBuilder *b, const char *key, double v)
{
  json_builder_set_member_name (b, key);
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

char *
msr_train_result_to_json (const MsrTrainResult *r, const MsrTrainOptions *o, const MsrDataset *ds)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "optimizer");
  json_builder_add_string_value (b, o->adamw ? "adamw" : "adam");
  json_double_or_null (b, "lr", o->lr);
  json_double_or_null (b, "weight_decay", o->weight_decay);
  json_builder_set_member_name (b, "epochs");
  json_builder_add_int_value (b, o->epochs);
  json_builder_set_member_name (b, "batch_size");
  json_builder_add_int_value (b, o->batch_size);
  json_builder_set_member_name (b, "patience");
  json_builder_add_int_value (b, o->patience);
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, (gint64) o->seed);
  json_builder_set_member_name (b, "threads");
  json_builder_add_int_value (b, o->threads);
  json_builder_set_member_name (b, "dataset");
  json_builder_add_string_value (b, msr_dataset_get_name (ds));
  json_builder_set_member_name (b, "train_rows");
  json_builder_add_int_value (b, (gint64) r->train_rows);
  json_builder_set_member_name (b, "valid_rows");
  json_builder_add_int_value (b, (gint64) r->valid_rows);
  json_builder_set_member_name (b, "best_epoch");
  json_builder_add_int_value (b, r->best_epoch);
  if (r->best_epoch_scenario)
    {
      json_builder_set_member_name (b, "best_epoch_per_scenario");
      json_builder_begin_array (b);
      for (guint s = 0; s < r->n_scenarios; s++)
        json_builder_add_int_value (b, r->best_epoch_scenario[s]);
      json_builder_end_array (b);
    }
  json_double_or_null (b, "best_valid_auc", r->best_valid_auc);
  json_builder_set_member_name (b, "stopped_early");
  json_builder_add_boolean_value (b, r->stopped_early);
  json_builder_set_member_name (b, "log");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->epochs->len; i++)
    {
      const MsrEpochLog *e = &g_array_index (r->epochs, MsrEpochLog, i);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "epoch");
      json_builder_add_int_value (b, e->epoch);
      json_double_or_null (b, "train_loss", e->train_loss);
      json_double_or_null (b, "valid_auc", e->valid_auc);
      json_double_or_null (b, "valid_logloss", e->valid_logloss);
      json_builder_set_member_name (b, "valid_auc_scenario");
      json_builder_begin_array (b);
      for (guint s = 0; s < r->n_scenarios; s++)
        if (isfinite (e->valid_auc_scenario[s]))
          json_builder_add_double_value (b, e->valid_auc_scenario[s]);
        else
          json_builder_add_null_value (b);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

/* ---- interpretable internals ------------------------------------------------ */

void
msr_internals_free (MsrInternals *in)
{
  if (in == NULL)
    return;
  for (guint k = 0; k < MSR_N_INTERNALS; k++)
    {
      g_free (in->mean[k]);
      g_free (in->std[k]);
    }
  g_free (in->rows);
  g_free (in);
}

MsrInternals *
msr_model_summarize_internals (MsrModel *model, const MsrDataset *ds, guint split_mask, GCancellable *cancellable,
                               GError **error)
{
  if (!msr_model_check_dataset (model, ds, error))
    return NULL;
  gsize n;
  g_autofree guint32 *rows = rows_in_splits (ds, split_mask, &n);
  /* Batched as msr_score batches them (sums per scenario: the order only
   * moves float rounding). */
  g_autofree guint32 *pos = msr_score_batch_order (model, ds, rows, n, MSR_SCORE_ORDER_AUTO);
  if (pos)
    {
      g_autofree guint32 *sorted = g_new (guint32, n);
      for (gsize j = 0; j < n; j++)
        sorted[j] = rows[pos[j]];
      g_free (rows);
      rows = g_steal_pointer (&sorted);
    }
  const guint S = model->n_scenarios;
  MsrInternals *in = g_new0 (MsrInternals, 1);
  in->n_scenarios = S;
  in->rows = g_new0 (guint64, S);
  g_autoptr(MsrGraph) g = msr_graph_new ();
  g_autoptr(MsrBatch) batch = msr_batch_new (model);
  msr_graph_set_training (g, FALSE);
  const gsize bs = SCORE_BATCH_DEFAULT;
  /* Sums and sums of squares per scenario and column, in double. */
  double *sum[MSR_N_INTERNALS] = { NULL }, *sq[MSR_N_INTERNALS] = { NULL };

  for (gsize start = 0; start < n; start += bs)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          for (guint k = 0; k < MSR_N_INTERNALS; k++)
            g_free (sum[k]), g_free (sq[k]);
          msr_internals_free (in);
          return NULL;
        }
      const gsize m = MIN (bs, n - start);
      msr_batch_fill (batch, ds, rows + start, m);
      msr_graph_reset (g);
      MsrForward f = { 0 };
      msr_model_forward (model, g, batch, &f);
      MsrNode *nodes[MSR_N_INTERNALS] = { f.gates, f.epnet_gate, f.ppnet_gate };
      const guint16 *scen = msr_batch_get_scenarios (batch);
      for (guint i = 0; i < m; i++)
        in->rows[scen[i]]++;
      for (guint k = 0; k < MSR_N_INTERNALS; k++)
        {
          if (nodes[k] == NULL)
            continue;
          const gsize w = msr_node_cols (nodes[k]);
          if (!in->present[k])
            {
              in->present[k] = TRUE;
              in->width[k] = (guint) w;
              sum[k] = g_new0 (double, S * w);
              sq[k] = g_new0 (double, S * w);
            }
          const msr_real *v = msr_node_value (nodes[k]);
          for (gsize i = 0; i < m; i++)
            for (gsize j = 0; j < w; j++)
              {
                sum[k][scen[i] * w + j] += v[i * w + j];
                sq[k][scen[i] * w + j] += (double) v[i * w + j] * v[i * w + j];
              }
        }
    }
  for (guint k = 0; k < MSR_N_INTERNALS; k++)
    {
      if (!in->present[k])
        continue;
      const guint w = in->width[k];
      in->mean[k] = g_new (double, S * w);
      in->std[k] = g_new (double, S * w);
      for (guint s = 0; s < S; s++)
        for (guint j = 0; j < w; j++)
          {
            const double cnt = (double) in->rows[s];
            const double mu = cnt > 0 ? sum[k][s * w + j] / cnt : NAN;
            in->mean[k][s * w + j] = mu;
            in->std[k][s * w + j] = cnt > 0 ? sqrt (MAX (sq[k][s * w + j] / cnt - mu * mu, 0)) : NAN;
          }
      g_free (sum[k]);
      g_free (sq[k]);
    }
  return in;
}

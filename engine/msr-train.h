/* msr-train.h: training (Adam/AdamW, shuffled mini-batches, early stopping
 * on validation AUC with best-epoch restore) and batched scoring. */
#pragma once

#include <gio/gio.h>
#include "msr-error.h"
#include "msr-model.h"

G_BEGIN_DECLS

typedef struct {
  guint    epochs;         /* at most, default 20 */
  guint    batch_size;     /* default 1024 */
  double   lr;             /* default 1e-3 */
  double   weight_decay;   /* default 1e-5 */
  gboolean adamw;          /* decoupled weight decay (AdamW) instead of L2 (Adam) */
  double   beta1, beta2, eps;
  guint    patience;       /* epochs without a better validation AUC, default 3 */
  guint64  seed;           /* shuffling and dropout, default 42 */
  guint    threads;        /* BLAS threads, default 1 (bit-reproducible) */
} MsrTrainOptions;

void msr_train_options_init (MsrTrainOptions *opts);

typedef struct {
  guint   epoch;               /* 1-based */
  double  train_loss;          /* mean BCE over the epoch's batches */
  double  valid_auc;           /* NaN when undefined */
  double  valid_logloss;
  double *valid_auc_scenario;  /* n_scenarios values, NaN when undefined */
  double  seconds;
  gboolean best;               /* the best validation AUC so far */
} MsrEpochLog;

typedef struct {
  guint        epoch, epochs;
  gsize        batch, n_batches;
  double       loss;           /* running mean loss of this epoch */
  double       rows_per_second;
  double       eta_seconds;    /* of the whole run at most `epochs` */
  double       fraction;
  const MsrEpochLog *finished; /* set when an epoch just ended */
} MsrTrainStatus;

typedef void (*MsrTrainProgressFunc) (const MsrTrainStatus *status, gpointer user_data);

typedef struct {
  guint        n_scenarios;
  GArray      *epochs;         /* MsrEpochLog */
  guint        best_epoch;     /* restored into the model; 0 if none */
  double       best_valid_auc;
  guint       *best_epoch_scenario; /* dnn-separate: each scenario's own best epoch, else NULL */
  gboolean     stopped_early;
  double       seconds;
  gsize        train_rows, valid_rows;
} MsrTrainResult;

void msr_train_result_free (MsrTrainResult *result);
/* The deterministic part of the run (settings, per-epoch loss and AUC, best
 * epoch; no wall-clock times) as a JSON object, for the model file. */
char *msr_train_result_to_json (const MsrTrainResult *result, const MsrTrainOptions *opts,
                                const MsrDataset *ds);

/* Trains model on ds's training rows, validating on its validation rows
 * after every epoch (no validation rows: the last epoch is kept). On
 * cancellation the model holds the best parameters seen so far and the
 * error is G_IO_ERROR_CANCELLED. Progress is called from this thread,
 * after every batch. */
MsrTrainResult *msr_train (MsrModel               *model,
                           const MsrDataset       *ds,
                           const MsrTrainOptions  *opts,
                           MsrTrainProgressFunc    progress,
                           gpointer                progress_data,
                           GCancellable           *cancellable,
                           GError                **error);

/* Scores (probabilities) of the rows whose split is in split_mask, in
 * dataset order; *rows_out (if not NULL) receives their row indices.
 * threads workers (0 = the number of processors) score batches of
 * batch_size rows in evaluation mode. The batches are cut from the rows in
 * the order msr_score_batch_order gives (MSR_SCORE_ORDER_AUTO): for an
 * LLM4MSR model with a user level, grouped by user, so that a batch holds
 * few distinct users and each user's generated layer is made about once
 * per pass; otherwise in dataset order. Each score is written back to its
 * row's place, and the batches are the same whatever the number of
 * workers, so the scores do not depend on it. */
double *msr_score (MsrModel          *model,
                   const MsrDataset  *ds,
                   guint              split_mask,
                   guint              threads,
                   gsize              batch_size,
                   gsize             *n_out,
                   guint32          **rows_out,
                   MsrProgressFunc    progress,
                   gpointer           progress_data,
                   GCancellable      *cancellable,
                   GError           **error);

/* How scoring orders rows before cutting them into batches. */
typedef enum {
  MSR_SCORE_ORDER_AUTO,     /* by user for LLM4MSR models with a user level, else dataset order */
  MSR_SCORE_ORDER_DATASET,  /* dataset order: batches of consecutive rows (tests, benchmarks) */
  MSR_SCORE_ORDER_USER,     /* stably by user code, then scenario (any model) */
} MsrScoreOrder;

/* msr_score with the batch order given (the results are in dataset order
 * whatever it is; they differ between orders only by float rounding). */
double *msr_score_ordered (MsrModel          *model,
                           const MsrDataset  *ds,
                           guint              split_mask,
                           MsrScoreOrder      order,
                           guint              threads,
                           gsize              batch_size,
                           gsize             *n_out,
                           guint32          **rows_out,
                           MsrProgressFunc    progress,
                           gpointer           progress_data,
                           GCancellable      *cancellable,
                           GError           **error);

/* The order in which scoring batches rows[0..n) (dataset rows): a
 * permutation pos of 0..n-1, batch position j scoring rows[pos[j]]; NULL
 * when it is the given order (MSR_SCORE_ORDER_DATASET; AUTO for a model
 * without LLM4MSR or without its user level; fewer than two rows; a
 * multi-hot user field or a user code out of the field's range).
 * MSR_SCORE_ORDER_USER sorts stably by the row's user code, then its
 * scenario (two counting sorts, linear time): a user's rows, and within
 * them the (user, scenario) pairs a user layer that reads k_s is
 * generated for, are contiguous. Free with g_free. */
guint32 *msr_score_batch_order (MsrModel          *model,
                                const MsrDataset  *ds,
                                const guint32     *rows,
                                gsize              n,
                                MsrScoreOrder      order);

/* Interpretable internals averaged per scenario over a split's rows: for
 * each kind the backbone has (MSR_INTERNAL_GATES: MMoE/PLE gate weights
 * of the row's scenario gate; MSR_INTERNAL_EPNET: PEPNet's input gate per
 * input column; MSR_INTERNAL_PPNET: the mean PPNet gate per tower layer),
 * the mean and standard deviation of every column per scenario. */
typedef enum {
  MSR_INTERNAL_GATES,
  MSR_INTERNAL_EPNET,
  MSR_INTERNAL_PPNET,
  MSR_N_INTERNALS
} MsrInternalKind;

typedef struct {
  guint    n_scenarios;
  gboolean present[MSR_N_INTERNALS];
  guint    width[MSR_N_INTERNALS];
  double  *mean[MSR_N_INTERNALS];   /* n_scenarios × width, row-major */
  double  *std[MSR_N_INTERNALS];
  guint64 *rows;                     /* per scenario */
} MsrInternals;

MsrInternals *msr_model_summarize_internals (MsrModel *model, const MsrDataset *ds, guint split_mask,
                                             GCancellable *cancellable, GError **error);
void          msr_internals_free            (MsrInternals *internals);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrInternals, msr_internals_free)

/* Popularity baseline: each item's positive rate among the training rows
 * (smoothed towards the global rate with 1 pseudo-row), for the rows in
 * split_mask, in dataset order. */
double *msr_score_popularity (const MsrDataset *ds, guint split_mask, gsize *n_out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrTrainResult, msr_train_result_free)

G_END_DECLS

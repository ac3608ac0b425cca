/* msr-pipeline.h: the steps the CLI, the workbench and the demo share:
 * train a backbone and record its training curve, evaluate a model (or the
 * popularity baseline) on a split with bootstrap intervals and record the
 * run with its per-row scores. Everything is written only when a step
 * succeeds: a cancelled or failed step leaves the project as it was. */
#pragma once

#include <gio/gio.h>
#include "msr-error.h"
#include "msr-metrics.h"
#include "msr-model.h"
#include "msr-project.h"
#include "msr-stats.h"
#include "msr-train.h"

G_BEGIN_DECLS

/* Records a finished training (a "train" run with its per-epoch curve) in
 * the project's results store; model_path is the saved model. */
gint64   msr_pipeline_record_training (MsrProject             *project,
                                       MsrModel               *model,
                                       const char             *model_path,
                                       const MsrDataset       *ds,
                                       const MsrTrainResult   *result,
                                       const MsrTrainOptions  *opts,
                                       GError                **error);

typedef struct {
  MsrSplit  split;          /* default MSR_SPLIT_TEST */
  guint     replicates;     /* bootstrap replicates, default 1000; 0 = no CIs */
  guint64   seed;           /* bootstrap seed, default 42 */
  guint     threads;        /* scoring and bootstrap threads, 0 = all processors */
  gboolean  record;         /* add the run to the results store, default TRUE */
  gboolean  predictions;    /* with its per-row scores, default TRUE */
  const char *name;         /* the run's label, NULL = default */
} MsrEvalOptions;

void     msr_eval_options_init (MsrEvalOptions *opts);

typedef struct {
  gint64          run_id;     /* 0 when not recorded */
  MsrEvalResult  *metrics;
  MsrComparison  *intervals;  /* NULL without replicates */
  gsize           n;
  double         *scores;     /* n, in dataset order of the split */
  guint32        *rows;
} MsrEvaluation;

void     msr_evaluation_free (MsrEvaluation *evaluation);

/* Scores the split with model (NULL = the item-popularity baseline from
 * the training rows), computes the metrics exactly and the per-scenario
 * bootstrap intervals, and records the run. model_path (for the record;
 * NULL for the baseline) is hashed into the run's model_sha256. */
MsrEvaluation *msr_pipeline_evaluate (MsrProject            *project,
                                      const MsrDataset      *ds,
                                      MsrModel              *model,
                                      const char            *model_path,
                                      const MsrEvalOptions  *opts,
                                      MsrProgressFunc        progress,
                                      gpointer               progress_data,
                                      GCancellable          *cancellable,
                                      GError               **error);

/* Trains a new model of cfg on ds, saves it to model_path (NULL = a new
 * file models/<backbone>-seed<seed>[-N].safetensors in the project),
 * records the training and an evaluation on the test split. *model_path_out
 * (nullable) receives the path; run ids (nullable) the two runs. */
gboolean msr_pipeline_train_and_evaluate (MsrProject             *project,
                                          const MsrDataset       *ds,
                                          const MsrModelConfig   *cfg,
                                          const MsrTrainOptions  *opts,
                                          const MsrEvalOptions   *eval_opts,
                                          const char             *model_path,
                                          char                  **model_path_out,
                                          gint64                 *train_run,
                                          gint64                 *eval_run,
                                          MsrTrainProgressFunc    progress,
                                          gpointer                progress_data,
                                          GCancellable           *cancellable,
                                          GError                **error);

/* A new model of cfg for ds: with cfg->llm4msr, its knowledge vectors come
 * from the project's knowledge store (cfg->knowledge_encoder, user level
 * and scenario level); the error says what to import or encode first. */
MsrModel *msr_pipeline_new_model (MsrProject           *project,
                                  const MsrDataset     *ds,
                                  const MsrModelConfig *cfg,
                                  guint64               seed,
                                  GError              **error);

/* Loads a model file for evaluation on the project: an LLM4MSR model must
 * match the project's knowledge store when there is one (the same encoder
 * and vectors it was trained with). */
MsrModel *msr_pipeline_load_model (MsrProject *project, const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrEvaluation, msr_evaluation_free)

G_END_DECLS

/* msr-study.h: the LLM4MSR study: every chosen backbone alone, with
 * LLM4MSR, and with each ablation, over several seeds, trained, evaluated
 * and recorded through the pipeline; then mean ± std across seeds per
 * scenario. Resumable: a (variant, seed) whose evaluation is recorded is
 * not run again. */
#pragma once

#include "msr-pipeline.h"

G_BEGIN_DECLS

typedef enum {
  MSR_STUDY_PLAIN,        /* the backbone alone */
  MSR_STUDY_LLM4MSR,      /* with LLM4MSR */
  MSR_STUDY_NO_USER,      /* ablations */
  MSR_STUDY_NO_SCENARIO,
  MSR_STUDY_SHUFFLED,
  MSR_STUDY_ID_ONLY,
  MSR_STUDY_N_VARIANTS
} MsrStudyVariant;

const char *msr_study_variant_to_string   (MsrStudyVariant v);   /* "plain", "llm4msr", "no-user", ... */
gboolean    msr_study_variant_from_string (const char *s, MsrStudyVariant *out);
/* Sets cfg's LLM4MSR switches for the variant. */
void        msr_study_variant_apply       (MsrStudyVariant v, MsrModelConfig *cfg);

#define MSR_STUDY_MAX_SEEDS 16

typedef struct {
  guint           archs;        /* bit per MsrArch; default every backbone */
  guint           variants;     /* bit per MsrStudyVariant; default all */
  guint64         seeds[MSR_STUDY_MAX_SEEDS];
  guint           n_seeds;      /* default 3: 42, 43, 44 */
  MsrTrainOptions train;        /* its seed is replaced by each seed */
  MsrEvalOptions  eval;
  const char     *encoder;      /* knowledge vectors (NULL = the store's default) */
} MsrStudyOptions;

void        msr_study_options_init (MsrStudyOptions *opts);

typedef struct {
  guint          job, n_jobs;   /* 0-based job index */
  const char    *variant;       /* "star+llm4msr/no-user" */
  guint64        seed;
  gboolean       done_before;   /* recorded earlier: skipped */
  const MsrTrainStatus *train;  /* while training, else NULL */
} MsrStudyStatus;

typedef void (*MsrStudyProgressFunc) (const MsrStudyStatus *status, gpointer user_data);

/* Runs the jobs the results store lacks (backbone-major, then variant,
 * then seed). *n_run (nullable) counts the jobs it ran. */
gboolean    msr_study_run (MsrProject             *project,
                           const MsrDataset       *ds,
                           const MsrStudyOptions  *opts,
                           guint                  *n_run,
                           MsrStudyProgressFunc    progress,
                           gpointer                progress_data,
                           GCancellable           *cancellable,
                           GError                **error);

/* One row of the summary: a model variant over its seeds. */
typedef struct {
  char     *variant;        /* "star+llm4msr" */
  guint     n_seeds;
  guint64  *seeds;
  guint     n_scopes;       /* scenarios, then "overall" */
  char    **scopes;
  double   *auc_mean, *auc_std, *logloss_mean, *logloss_std, *gauc_mean, *gauc_std;  /* n_scopes each */
} MsrStudyRow;

void        msr_study_row_free (MsrStudyRow *row);

/* The study's evaluations in the results store (test split, model files
 * named <variant>-seed<N>.safetensors; the newest per variant and seed),
 * summarised: mean and sample standard deviation across seeds (std NaN
 * with one seed). Rows in backbone order, plain first. */
GPtrArray  *msr_study_summarize (MsrProject *project, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrStudyRow, msr_study_row_free)

G_END_DECLS

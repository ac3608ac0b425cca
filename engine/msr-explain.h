/* msr-explain.h: what the workbench shows of a trained model's insides
 * (method spec §7.2): the scenario similarity it learned, the users'
 * generated meta layers in two dimensions, singular-value spectra, and the
 * effect of the user-level meta layer on a user's predictions. */
#pragma once

#include "msr-model.h"
#include "msr-train.h"

G_BEGIN_DECLS

/* S × S cosine similarity of what the model learned per scenario, and a
 * sentence saying what that is (*what): LLM4MSR's generated scenario layer
 * (its knowledge-dependent part, W_s − base, of the branch's first layer);
 * else STAR's per-scenario weights of the first star layer (their
 * departure from 1, the shared-only value); else MMoE's or PLE's mean gate
 * vector per scenario over the rows of split_mask in ds. MSR_ERROR_INVALID
 * when the model has none of these. */
double  *msr_explain_learned_correlation (MsrModel *model, const MsrDataset *ds, guint split_mask, char **what,
                                          GCancellable *cancellable, GError **error);

/* The users' generated user-level layers, vec(W_u − base) for every user
 * with a knowledge vector, projected on their first two principal axes. */
typedef struct {
  guint    n;
  char   **users;          /* n, NULL-terminated: the dataset's user values */
  double  *xy;             /* n × 2 */
  double   explained[2];   /* share of the variance on each axis */
  int     *dominant;       /* n: the scenario with most of the user's training rows, −1 if none */
} MsrMetaUserMap;

void            msr_meta_user_map_free (MsrMetaUserMap *map);
MsrMetaUserMap *msr_explain_user_map   (MsrModel *model, const MsrDataset *ds, GCancellable *cancellable,
                                        GError **error);

/* The singular values (descending, min (rows, cols) of them) of a
 * row-major weight matrix. */
double  *msr_explain_singular_values (const float *w, guint rows, guint cols, guint *n, GError **error);

/* One user's rows of split_mask in ds, scored twice: with the user's own
 * generated layer, and with the population's (the layer of the mean
 * compressed knowledge over the users with a vector: since W is affine in
 * q, the mean layer). Logits, so Δ = with − without. */
gboolean msr_explain_user_effect (MsrModel *model, const MsrDataset *ds, const char *user, guint split_mask,
                                  gsize *n, guint32 **rows, double **logit_with, double **logit_without,
                                  GError **error);

/* Each user's AUC over the rows of split_mask in ds (n rows, in dataset
 * order, scored by scores): indexed by user code (cardinality of the user
 * field), NaN where a user has no positive or no negative row. */
double  *msr_explain_user_aucs (const MsrDataset *ds, guint split_mask, const double *scores, gsize n,
                                GError **error);

/* ---- scenario correlations side by side ------------------------------------ */

typedef struct {
  char   *source;   /* "llm:tfidf-svd-64", "data:click-rate", "data:user-overlap", "learned", "planted" */
  char   *title;
  char   *note;     /* what it is, in a sentence */
  double *values;   /* S × S, NaN = undefined */
} MsrScenarioMatrix;

typedef struct {
  guint  a, b;      /* matrices compared */
  guint  pairs;     /* off-diagonal scenario pairs both define */
  double r, p;      /* Mantel: Pearson r, one-sided permutation p (NaN when undefined) */
} MsrMatrixAgreement;

typedef struct {
  guint               n_scenarios;
  char              **scenarios;       /* dataset order, NULL-terminated */
  GPtrArray          *matrices;        /* MsrScenarioMatrix* */
  guint               n_agreements;    /* every pair of matrices */
  MsrMatrixAgreement *agreements;
  guint               permutations;
  char              **texts;           /* per scenario: the scenario-level knowledge text (Markdown) or NULL */
  char              **text_sources;    /* per scenario: its source, or NULL */
  char               *learned_error;   /* why no learned matrix, when a model was given */
  char               *knowledge_error; /* why no LLM matrix, when the store cannot be read */
} MsrCorrelationReport;

void                  msr_correlation_report_free (MsrCorrelationReport *report);
/* The project's scenario-correlation matrices: the LLM's (from the
 * knowledge store at knowledge_path, when it exists), the data's (users'
 * click rates and user overlap on the training rows, computed from ds),
 * the planted one of a simulated project (project_dir), the one model
 * learned (nullable), and the Mantel test between every two (permutations
 * of the scenarios, seed 1; 0 = r alone, p NaN). A missing store or a model
 * without per-scenario parameters is not an error: the report says why
 * that matrix is absent. */
#define MSR_EXPLAIN_PERMUTATIONS 9999
MsrCorrelationReport *msr_explain_correlations (const char       *project_dir,
                                                const char       *knowledge_path,
                                                MsrModel         *model,
                                                const char       *model_label,
                                                const MsrDataset *ds,
                                                guint             permutations,
                                                GCancellable     *cancellable,
                                                GError          **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrMetaUserMap, msr_meta_user_map_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrCorrelationReport, msr_correlation_report_free)

G_END_DECLS

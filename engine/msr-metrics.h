/* msr-metrics.h: exact, mergeable evaluation of CTR predictions.
 *
 * Definitions (docs/METRICS.md has the full text):
 * - AUC with mid-rank ties: (1/mn) Σ_i Σ_j [1(x_i > y_j) + ½·1(x_i = y_j)]
 *   over the m positive scores x and the n negative scores y; undefined
 *   (NaN, auc_defined = FALSE) when m = 0 or n = 0.
 * - Logloss: −(1/N) Σ [y log p + (1−y) log(1−p)], natural log, p clipped to
 *   [MSR_LOGLOSS_EPSILON, 1 − MSR_LOGLOSS_EPSILON]; undefined when N = 0.
 * - GAUC: Σ_u w_u·AUC_u / Σ_u w_u over the users whose rows hold both
 *   classes; w_u = the user's rows (impressions), or for gauc_click the
 *   user's positives. Overall GAUC groups by user, a scenario's GAUC by
 *   (user, scenario). Coverage: users kept / users, rows kept / rows.
 * - Per scenario, overall (pooled rows), the macro mean over scenarios and
 *   the sample-weighted mean (weights = scenario rows), both over the
 *   scenarios where the metric is defined.
 *
 * Exactness guarantee: an accumulator's state is the multiset of
 * (scenario name, user name, score, label). msr_eval_acc_finish computes
 * every count and every AUC numerator in integer arithmetic and every
 * floating-point sum in a canonical order (ascending score; users and
 * scenarios in byte-wise name order), so accumulating rows in any order,
 * in any number of shards merged in any order, with or without a
 * serialize/deserialize round trip, gives bit-identical results.
 *
 * An accumulator is not thread-safe: use one per thread and merge. */
#pragma once

#include <glib.h>
#include "msr-error.h"

G_BEGIN_DECLS

/* The first 8 bytes of a saved accumulator (msr_eval_acc_save). */
#define MSR_EVAL_ACC_MAGIC "MSRLEVAL"

/* Clipping of probabilities for the logloss (float32 scores). */
#define MSR_LOGLOSS_EPSILON 1e-7

typedef struct {
  guint64  n;                 /* rows */
  guint64  positives;
  double   auc;               /* NaN unless auc_defined */
  gboolean auc_defined;
  double   logloss;           /* NaN unless logloss_defined */
  gboolean logloss_defined;
  double   gauc;              /* impression-weighted; NaN unless gauc_defined */
  double   gauc_click;        /* click-weighted (w_u = positives) */
  gboolean gauc_defined;      /* at least one user with both classes */
  guint64  gauc_users_kept;   /* users (per scenario: user × scenario groups) with both classes */
  guint64  gauc_users;        /* users with at least one row */
  guint64  gauc_rows_kept;    /* rows of the kept users */
  guint64  gauc_rows;         /* rows of all users (= n) */
  /* Only for the macro and weighted means: how many scenarios contributed
   * to auc, logloss and gauc. The n, positives and gauc_* counts of the
   * means are sums over all scenarios. */
  guint    auc_scenarios;
  guint    logloss_scenarios;
  guint    gauc_scenarios;
} MsrMetrics;

typedef struct {
  MsrMetrics  overall;          /* pooled over all rows */
  guint       n_scenarios;
  char      **scenario_names;   /* NULL-terminated, in interned order */
  MsrMetrics *scenarios;        /* n_scenarios entries, same order */
  MsrMetrics  macro;            /* unweighted mean over defined scenarios */
  MsrMetrics  weighted;         /* mean weighted by scenario rows */
  gboolean    has_users;        /* FALSE: every gauc is undefined */
  double      logloss_epsilon;  /* MSR_LOGLOSS_EPSILON */
  guint64     n_rows;
} MsrEvalResult;

typedef struct _MsrEvalAcc MsrEvalAcc;

MsrEvalAcc    *msr_eval_acc_new              (gboolean            with_users);
void           msr_eval_acc_free             (MsrEvalAcc         *acc);
gboolean       msr_eval_acc_has_users        (const MsrEvalAcc   *acc);
/* Rows added (including merged ones). */
guint64        msr_eval_acc_get_n_rows       (const MsrEvalAcc   *acc);
guint          msr_eval_acc_get_n_scenarios  (const MsrEvalAcc   *acc);
const char    *msr_eval_acc_get_scenario_name (const MsrEvalAcc  *acc,
                                               guint              code);

/* Codes for names: the same name always gets the same code within one
 * accumulator (0, 1, 2, ... in first-seen order). Intern once per distinct
 * name and pass codes to msr_eval_acc_add. Users need with_users. */
guint          msr_eval_acc_intern_scenario  (MsrEvalAcc         *acc,
                                              const char         *name);
guint          msr_eval_acc_intern_user      (MsrEvalAcc         *acc,
                                              const char         *name);

/* Adds one row. Scores are probabilities: returns FALSE and adds nothing
 * when score is NaN, infinite or outside [0, 1]; the caller reports the row
 * (it knows the file and line). user_code is ignored without users. Codes
 * must come from the intern functions (programming error otherwise). */
gboolean       msr_eval_acc_add              (MsrEvalAcc         *acc,
                                              double              score,
                                              gboolean            label,
                                              guint               scenario_code,
                                              guint               user_code);
/* Adds n rows (labels: non-zero = positive; scenario_codes NULL = code 0;
 * user_codes may be NULL without users). All rows are checked first: on a
 * bad score or code nothing is added, *bad_row (if not NULL) is set to its
 * index and the error names it ("row 12: score 1.5 is not a probability in
 * [0, 1]"). */
gboolean       msr_eval_acc_add_batch        (MsrEvalAcc         *acc,
                                              const double       *scores,
                                              const guint8       *labels,
                                              const guint32      *scenario_codes,
                                              const guint32      *user_codes,
                                              gsize               n,
                                              gsize              *bad_row,
                                              GError            **error);

/* Adds every row of other to into. Scenarios and users are matched by
 * name. Fails (into unchanged) when one accumulator has users and the
 * other has not. */
gboolean       msr_eval_acc_merge            (MsrEvalAcc         *into,
                                              const MsrEvalAcc   *other,
                                              GError            **error);

/* Sorts and coalesces the stored rows now (it also happens automatically
 * as rows accumulate); only memory and speed change, never results. */
void           msr_eval_acc_compact          (MsrEvalAcc         *acc);

/* Versioned little-endian binary form (docs/METRICS.md, "Accumulator file
 * format"), with a checksum. Deserialize validates every length, code,
 * score and count: damaged or hostile input gives an error that starts
 * with source_name, never a crash. Serialize compacts acc first. */
GBytes        *msr_eval_acc_serialize        (MsrEvalAcc         *acc);
MsrEvalAcc    *msr_eval_acc_deserialize      (GBytes             *bytes,
                                              const char         *source_name,
                                              GError            **error);
/* Writes to a temporary file beside path and renames it into place. */
gboolean       msr_eval_acc_save             (MsrEvalAcc         *acc,
                                              const char         *path,
                                              GError            **error);
MsrEvalAcc    *msr_eval_acc_load             (const char         *path,
                                              GError            **error);

/* Metrics of everything added so far; acc stays usable. */
MsrEvalResult *msr_eval_acc_finish           (const MsrEvalAcc   *acc);
void           msr_eval_result_free          (MsrEvalResult      *result);
/* Index of a scenario in result->scenarios, or -1. */
int            msr_eval_result_find_scenario (const MsrEvalResult *result,
                                              const char         *name);

/* Plain helpers on arrays (labels: non-zero = positive). Any NaN score
 * makes the result undefined. */
double         msr_auc                       (const double       *scores,
                                              const guint8       *labels,
                                              gsize               n,
                                              gboolean           *defined);
/* AUC of the sample in which row i appears weights[i] times. */
double         msr_auc_weighted              (const double       *scores,
                                              const guint8       *labels,
                                              const guint32      *weights,
                                              gsize               n,
                                              gboolean           *defined);
/* Clipped logloss as above; undefined for n = 0 or a NaN score. */
double         msr_logloss                   (const double       *scores,
                                              const guint8       *labels,
                                              gsize               n,
                                              gboolean           *defined);
/* RelaImpr in percent: ((auc_model − 0.5)/(auc_base − 0.5) − 1)·100.
 * NaN when either AUC is NaN or auc_base is exactly 0.5. */
double         msr_relaimpr                  (double              auc_model,
                                              double              auc_base);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrEvalAcc, msr_eval_acc_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrEvalResult, msr_eval_result_free)

G_END_DECLS

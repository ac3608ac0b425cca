/* msr-stats.h: DeLong's paired test, stratified bootstrap CIs, Holm.
 *
 * DeLong (method spec 6.7): placements from mid-ranks, covariances with
 * divisors m−1 and n−1, z = (AUC_b − AUC_a)/√var, two-sided p from N(0,1).
 *
 * Bootstrap (spec 6.8): paired and stratified. Each replicate resamples
 * rows with replacement within every (scenario × label) stratum, the same
 * draw for both models; AUCs of a replicate come from one weighted sweep
 * over orders sorted once (O(n) per replicate). GAUC is resampled by user
 * (cluster bootstrap): per scenario the (user, scenario) groups of that
 * scenario, overall the users. Percentile intervals. Replicate r draws from
 * its own xoshiro256** stream derived from (seed, r), so results do not
 * depend on the number of threads or the platform. docs/METRICS.md has the
 * details. */
#pragma once

#include <gio/gio.h>
#include "msr-error.h"

G_BEGIN_DECLS

typedef struct {
  double   auc_a, auc_b;
  double   delta;     /* auc_b − auc_a */
  double   var;       /* variance of delta: S_aa + S_bb − 2·S_ab */
  double   z;         /* delta / √var; > 0 when b is better */
  double   p;         /* two-sided, erfc(|z|/√2) */
  guint64  m, n;      /* positives, negatives */
  gboolean defined;   /* m ≥ 2, n ≥ 2 and no NaN score */
} MsrDeLong;

/* Paired DeLong test of b against a on the same rows (labels non-zero =
 * positive). Returns out->defined. When the variance is 0 (for instance
 * identical scores): z = 0 and p = 1 if delta is 0, else z = ±inf, p = 0.
 * When undefined, the AUCs are still filled if both classes are present
 * and var, z, p are NaN. */
gboolean msr_delong_paired (const double  *a,
                            const double  *b,
                            const guint8  *labels,
                            gsize          n,
                            MsrDeLong     *out);

/* Holm's step-down adjustment of n p-values (same order as p). NaN inputs
 * stay NaN and do not count towards the number of tests. adjusted may be
 * p itself. */
void     msr_holm_adjust   (const double  *p,
                            guint          n,
                            double        *adjusted);

typedef struct {
  guint    replicates;  /* bootstrap replicates; 0 = no intervals (default 1000) */
  guint64  seed;        /* default 42 */
  double   level;       /* interval coverage, default 0.95 -> 2.5 / 97.5 percentiles */
  guint    threads;     /* worker threads; 0 = one per processor (results do not depend on it) */
} MsrBootstrapOptions;

void     msr_bootstrap_options_init (MsrBootstrapOptions *opts);

/* A percentile interval over the replicates where the statistic was
 * defined (linear interpolation between order statistics). */
typedef struct {
  double lo, hi;        /* NaN when no replicate was defined */
  guint  n_defined;
} MsrInterval;

typedef struct {
  const char  *name;          /* scenario name, or "overall" */
  guint64      n, positives;
  double       auc_a, auc_b;  /* NaN when a class is missing; auc_b NaN without b */
  double       delta;         /* auc_b − auc_a */
  double       relaimpr;      /* RelaImpr of b over a, percent */
  MsrDeLong    delong;
  MsrInterval  ci_auc_a, ci_auc_b, ci_delta, ci_relaimpr;
  /* With users only (has_gauc). */
  gboolean     has_gauc;
  double       gauc_a, gauc_b, gauc_delta;
  guint64      gauc_users_kept, gauc_users, gauc_rows_kept;
  MsrInterval  ci_gauc_a, ci_gauc_b, ci_gauc_delta;
} MsrComparisonRow;

typedef struct {
  gboolean          paired;       /* b was given */
  guint             replicates;
  guint64           seed;
  double            level;
  guint             n_scenarios;
  MsrComparisonRow *scenarios;    /* n_scenarios rows, in code order */
  MsrComparisonRow  overall;
  /*< private >*/
  double           *replicate_values;
  char            **names;
} MsrComparison;

/* Statistics kept per replicate (for the seesaw indicators and tests). */
typedef enum {
  MSR_STAT_AUC_A,
  MSR_STAT_AUC_B,
  MSR_STAT_DELTA,
  MSR_STAT_RELAIMPR,
  MSR_STAT_GAUC_A,
  MSR_STAT_GAUC_B,
  MSR_STAT_GAUC_DELTA,
  MSR_N_STATS
} MsrStat;

/* Compares model b against model a (b may be NULL: single-model intervals)
 * per scenario and overall. scenario may be NULL (one pooled block, no
 * per-scenario rows); otherwise every code must be < n_scenarios and
 * scenario_names holds n_scenarios names. user (any 32-bit codes) enables
 * GAUC. Rows: n < 2^30. NaN scores are an error. Progress is reported and
 * the cancellable checked after every replicate. */
MsrComparison *msr_compare_paired (const double               *a,
                                   const double               *b,
                                   const guint8               *labels,
                                   const guint32              *scenario,
                                   const char * const         *scenario_names,
                                   guint                       n_scenarios,
                                   const guint32              *user,
                                   gsize                       n,
                                   const MsrBootstrapOptions  *opts,
                                   MsrProgressFunc             progress,
                                   gpointer                    progress_data,
                                   GCancellable               *cancellable,
                                   GError                    **error);
void           msr_comparison_free (MsrComparison *comparison);

/* The replicates' values of one statistic (NaN where undefined):
 * comparison->replicates doubles. scenario = -1 for the overall row. */
const double  *msr_comparison_get_replicates (const MsrComparison *comparison,
                                               int                  scenario,
                                               MsrStat              stat);

/* The multinomial draw behind replicate r of stream `stream`: items are
 * grouped by stratum (keeping their index order inside a stratum), and
 * each stratum of size k receives k uniform draws with replacement;
 * counts[i] = how often item i was drawn. msr_compare_paired uses stream 0
 * for rows with stratum = 2·scenario + label (label alone without
 * scenarios), stream 1 for the (user, scenario) groups with stratum =
 * scenario (groups ordered by scenario, then by user code), stream 2 for
 * the users (one stratum, ordered by user code). */
void           msr_bootstrap_draw (const guint32 *stratum,
                                   guint          n_strata,
                                   gsize          n_items,
                                   guint64        seed,
                                   guint          replicate,
                                   guint          stream,
                                   guint32       *counts);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrComparison, msr_comparison_free)

G_END_DECLS

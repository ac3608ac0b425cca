/* msr-correlation.h: scenario × scenario matrices and the Mantel test
 * between two of them (method spec §7.2, item 1).
 *
 * Every matrix is S × S, row-major, symmetric, in the dataset's scenario
 * order; an entry that cannot be computed is NaN. */
#pragma once

#include <glib.h>
#include "msr-dataset.h"

G_BEGIN_DECLS

/* Matrices are refused (NULL) above this many scenarios: S² accumulators. */
#define MSR_CORR_MAX_SCENARIOS 2048

/* Behavioural correlation of a per-row value: for each scenario pair, the
 * Pearson correlation, across users who have at least min_rows rows (of
 * split_mask) in both scenarios, of the users' per-scenario means of
 * row_values (n_rows entries indexed by dataset row; NULL = the labels,
 * i.e. click rates). NaN when fewer than 3 users qualify or either mean
 * does not vary. Diagonal 1 (NaN when no user qualifies in the scenario).
 * min_rows 0 counts as 1; rows with the unknown user code are skipped.
 * n_users_used (nullable, S × S) receives the qualifying users per pair
 * (diagonal: per scenario). */
double *msr_corr_user_means    (const MsrDataset *ds,
                                const double     *row_values,
                                guint             split_mask,
                                guint             min_rows,
                                guint            *n_users_used);

/* msr_corr_user_means of the labels: per-user click rates. */
double *msr_corr_click_rate    (const MsrDataset *ds,
                                guint             split_mask,
                                guint             min_rows,
                                guint            *n_users_used);

/* Jaccard similarity of the scenarios' user sets (from
 * msr_dataset_compute_stats). */
double *msr_corr_user_overlap  (const MsrDataset *ds,
                                guint             split_mask);

typedef enum {
  MSR_CORR_PEARSON,
  MSR_CORR_SPEARMAN,    /* Pearson of mid-ranks */
} MsrCorrMethod;

/* Mantel test: the correlation r between the upper triangles (i < j) of
 * two n × n matrices, and a one-sided permutation p-value: a's rows and
 * columns are permuted together (`permutations` uniform draws from
 * MsrRng(seed)) and p = (1 + #{r_perm ≥ r}) / (1 + permutations), where
 * r_perm ≥ r allows 1e-12 for rounding. Pairs where either entry is NaN are
 * skipped, separately for every permutation; a permutation leaving fewer
 * than 3 pairs or no variation counts as not reaching r. Returns FALSE
 * (r and p NaN) when fewer than 3 pairs are usable or r is undefined.
 * permutations = 0 gives p = NaN; n above MSR_CORR_MAX_SCENARIOS gives
 * FALSE. n_pairs (nullable) receives the pairs used for r. */
gboolean msr_corr_mantel_full  (const double  *a,
                                const double  *b,
                                guint          n,
                                MsrCorrMethod  method,
                                guint          permutations,
                                guint64        seed,
                                double        *r,
                                double        *p,
                                guint         *n_pairs);

/* msr_corr_mantel_full with Pearson. */
gboolean msr_corr_mantel       (const double  *a,
                                const double  *b,
                                guint          n,
                                guint          permutations,
                                guint64        seed,
                                double        *r,
                                double        *p);

G_END_DECLS

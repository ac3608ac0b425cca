/* msr-seesaw.h: the seesaw phenomenon of a multi-scenario model B against
 * a reference A (method spec 6.6), from paired per-row scores.
 *
 * Per scenario (and overall): AUCs, ΔAUC = B − A with a bootstrap interval,
 * RelaImpr, DeLong's paired test, the Holm-adjusted p across scenarios and
 * the outcome (win / tie / loss for B at level alpha after Holm). Then the
 * seven indicators: the seesaw flag (by the τ rule and by significance),
 * the conflict ratio, the worst scenario, the Pareto status, the dominance
 * gap, the gain–size Spearman correlation and the win/tie/loss counts,
 * with percentile intervals from the replicates of msr_compare_paired.
 *
 * Everything undefined is NaN; docs/METRICS.md §9 gives every definition
 * and every undefined case. A multi-seed summary reads the stored metrics
 * of the runs that differ from A (and from B) only by their training seed.
 *
 * Every figure a front end shows is a field here: the CLI and the
 * workbench only format them. */
#pragma once

#include <gio/gio.h>
#include "msr-error.h"
#include "msr-dataset.h"
#include "msr-results.h"
#include "msr-stats.h"

G_BEGIN_DECLS

#define MSR_SEESAW_DEFAULT_TAU   0.001
#define MSR_SEESAW_DEFAULT_ALPHA 0.05

typedef struct {
  double              tau;        /* |ΔAUC| threshold of the τ rule, default 0.001 */
  double              alpha;      /* level of the Holm-corrected DeLong tests, default 0.05 */
  MsrBootstrapOptions bootstrap;  /* replicates (default 1000; 0 = no intervals), seed, level, threads */
} MsrSeesawOptions;

void         msr_seesaw_options_init (MsrSeesawOptions *opts);

/* Outcome of B in one scenario. */
typedef enum {
  MSR_SEESAW_LOSS = -1,   /* significantly worse after Holm */
  MSR_SEESAW_TIE  = 0,    /* not significant (or not testable: see tested) */
  MSR_SEESAW_WIN  = 1,    /* significantly better after Holm */
} MsrSeesawOutcome;

typedef enum {
  MSR_PARETO_UNDEFINED,       /* no scenario could be compared */
  MSR_PARETO_EQUAL,           /* no gain and no loss */
  MSR_PARETO_B_DOMINATES,     /* ≥ 1 gain and no loss */
  MSR_PARETO_A_DOMINATES,     /* ≥ 1 loss and no gain */
  MSR_PARETO_INCOMPARABLE,    /* gains and losses */
} MsrPareto;

/* "undefined", "equal", "b_dominates", "a_dominates", "incomparable". */
const char  *msr_pareto_to_string (MsrPareto pareto);

typedef struct {
  const char      *name;        /* scenario name, or "overall" */
  guint64          n, positives;
  double           auc_a, auc_b;
  double           delta;       /* auc_b − auc_a; NaN when a class is missing */
  double           relaimpr;    /* percent; NaN when auc_a is NaN or exactly 0.5 */
  MsrInterval      ci_auc_a, ci_auc_b, ci_delta, ci_relaimpr;
  gboolean         tested;      /* DeLong defined (≥ 2 positives and ≥ 2 negatives) */
  double           z, p;        /* DeLong; NaN unless tested */
  double           p_holm;      /* Holm across the tested scenarios; NaN
                                   unless tested, and always NaN overall */
  MsrSeesawOutcome outcome;     /* scenarios: p_holm < alpha; overall: the
                                   unadjusted p < alpha; TIE when not tested */
  /* With users: GAUC (user-cluster bootstrap). */
  gboolean         has_gauc;
  double           gauc_a, gauc_b, gauc_delta;
  MsrInterval      ci_gauc_delta;
} MsrSeesawScenario;

typedef struct {
  /* Settings. */
  double             tau, alpha;
  guint              replicates;
  guint64            seed;
  double             level;

  guint              n_scenarios;
  MsrSeesawScenario *scenarios;     /* n_scenarios, in scenario-code order */
  MsrSeesawScenario  overall;       /* pooled rows */
  guint              n_defined;     /* scenarios whose ΔAUC is defined */

  /* 1. Seesaw flags. By the τ rule: ∃ Δ > τ and ∃ Δ < −τ (n_gain_tau,
   * n_loss_tau count them). By significance: ∃ win and ∃ loss. */
  gboolean           seesaw_tau;
  guint              n_gain_tau, n_loss_tau;
  gboolean           seesaw_significant;

  /* 2. Conflict ratio over the significant scenarios: loss_sum / gain_sum
   * with gain_sum = Σ_wins Δ, loss_sum = Σ_losses −Δ. 0 when only gains,
   * +inf when only losses, NaN when nothing is significant. The interval
   * keeps the significant set of the data fixed (see docs/METRICS.md §9). */
  double             conflict_ratio;
  double             significant_gain_sum, significant_loss_sum;
  MsrInterval        ci_conflict_ratio;

  /* 3. Worst scenario: the minimum ΔAUC, and the minimum RelaImpr over the
   * scenarios with AUC_A > 0.5 (each with its scenario index; -1 and NaN
   * when none qualifies). */
  double             worst_delta;
  int                worst_scenario;
  double             worst_relaimpr;
  int                worst_relaimpr_scenario;

  /* 4. Pareto status: by significance (pareto) and by the τ rule. */
  MsrPareto          pareto;
  MsrPareto          pareto_tau;

  /* 5. Dominance gap = weighted − macro, over the defined scenarios;
   * weights = scenario rows. */
  double             macro_delta, weighted_delta, dominance_gap;
  MsrInterval        ci_macro_delta, ci_weighted_delta, ci_dominance_gap;

  /* 6. Spearman(Δ_d, log N_d) with average ranks; NaN with fewer than 3
   * defined scenarios or when either side is constant. */
  double             gain_size_spearman;
  MsrInterval        ci_gain_size_spearman;

  /* 7. Counts over the scenarios; untested ones are in none of wins, ties
   * and losses. */
  guint              wins, ties, losses, untested;

  /*< private >*/
  char             **names;
  MsrComparison     *comparison;
} MsrSeesaw;

/* B (b) against reference A (a) on the same n rows. labels: non-zero =
 * positive; scenario: codes < n_scenarios (required); users: nullable
 * (GAUC). NaN scores are an error naming the row. opts NULL = defaults. */
MsrSeesaw   *msr_seesaw_compute   (const double              *a,
                                   const double              *b,
                                   const guint8              *labels,
                                   const guint32             *scenario,
                                   const char * const        *scenario_names,
                                   guint                      n_scenarios,
                                   const guint32             *users,
                                   gsize                      n,
                                   const MsrSeesawOptions    *opts,
                                   MsrProgressFunc            progress,
                                   gpointer                   progress_data,
                                   GCancellable              *cancellable,
                                   GError                   **error);

/* The same from two runs of a results store with stored predictions: both
 * must exist, hold predictions, share ds's dataset fingerprint and one
 * split, and have as many scores as ds has rows in that split. Labels,
 * scenarios and users come from ds's rows of that split in ascending row
 * order (the order msr_score and the eval pipeline store). Errors
 * (MSR_ERROR_MISMATCH / MSR_ERROR_INVALID) name the runs and what differs. */
MsrSeesaw   *msr_seesaw_from_runs (MsrResults               *results,
                                   gint64                    run_a,
                                   gint64                    run_b,
                                   const MsrDataset         *ds,
                                   const MsrSeesawOptions   *opts,
                                   MsrProgressFunc           progress,
                                   gpointer                  progress_data,
                                   GCancellable             *cancellable,
                                   GError                  **error);

void         msr_seesaw_free      (MsrSeesaw *seesaw);

/* The underlying comparison (replicate values for plots). */
const MsrComparison *msr_seesaw_get_comparison (const MsrSeesaw *seesaw);

/* ---- multi-seed summary ---------------------------------------------- */

/* How the A and B runs were paired for Δ. */
typedef enum {
  MSR_SEESAW_PAIRING_SEED,      /* every pair has equal training seeds */
  MSR_SEESAW_PAIRING_CREATION,  /* every pair by creation order */
  MSR_SEESAW_PAIRING_MIXED,     /* equal seeds first, the rest by creation order */
} MsrSeesawPairing;

/* "seed", "creation_order", "mixed". */
const char  *msr_seesaw_pairing_to_string (MsrSeesawPairing pairing);

typedef struct {
  gint64   run_a, run_b;
  gboolean by_seed;                /* paired by equal training seeds */
  gboolean has_seed_a, has_seed_b;
  guint64  seed_a, seed_b;         /* training seeds (config "training"."seed") */
} MsrSeesawSeedPair;

typedef struct {
  char    *name;                   /* scenario name, or "overall" */
  guint    n_a, n_b;               /* runs averaged for auc_a and auc_b */
  double   auc_a_mean, auc_a_std;  /* over the A-like runs; std: sample (n − 1) */
  double   auc_b_mean, auc_b_std;
  guint    k;                      /* pairs averaged for delta */
  double   delta_mean, delta_std;  /* Δ = AUC_B − AUC_A per pair */
} MsrSeesawSeedRow;

typedef struct {
  gint64             run_a, run_b;       /* as asked */
  guint              n_runs_a, n_runs_b;
  gint64            *runs_a, *runs_b;    /* the like runs, in creation order */
  gboolean           same_configuration; /* A and B differ only by seed: only
                                            the two given runs are used */
  MsrSeesawPairing   pairing;
  guint              k;                  /* pairs */
  MsrSeesawSeedPair *pairs;
  guint              n_scenarios;
  MsrSeesawSeedRow  *scenarios;          /* in run_a's stored scenario order */
  MsrSeesawSeedRow   overall;
} MsrSeesawSeeds;

/* Finds the runs "like" run_a and like run_b: kind "eval", the same split,
 * dataset fingerprint and architecture, and the same configuration apart
 * from the seed (docs/METRICS.md §9 says what is compared); one run per
 * model file. Per scenario: mean ± sample std of the stored AUCs of each
 * side and of Δ over the matched pairs. With one run per side k = 1 and
 * every std is NaN. */
MsrSeesawSeeds *msr_seesaw_seed_summary (MsrResults  *results,
                                         gint64       run_a,
                                         gint64       run_b,
                                         GError     **error);
void         msr_seesaw_seeds_free (MsrSeesawSeeds *seeds);

/* Spearman's rank correlation with average ranks for ties (exposed for
 * tests): NaN when n < 3, a value is NaN, or either side is constant. */
double       msr_seesaw_spearman  (const double *x,
                                   const double *y,
                                   gsize         n);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrSeesaw, msr_seesaw_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrSeesawSeeds, msr_seesaw_seeds_free)

G_END_DECLS

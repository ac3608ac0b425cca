/* msr-simulate.h: simulated multi-scenario worlds.
 *
 * When no real dataset can be had, the workbench opens on a world generated
 * from a seed: users with latent tastes per scenario, items that belong to
 * one scenario each, and clicks drawn from a known model in which the
 * correlation between scenarios and each scenario's difficulty are planted.
 * The result is an ordinary CSV project plus a ground-truth file, so every
 * view can put what the data and the models show next to what was planted.
 * docs/FORMATS.md §10 gives the generative model with its equations. */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include "msr-error.h"
#include "msr-dataset.h"

G_BEGIN_DECLS

#define MSR_SIM_MAX_SCENARIOS 16
/* Bumped whenever the same options would give different files. */
#define MSR_SIM_GENERATOR_VERSION 1
#define MSR_SIM_TRUTH_FILE "ground-truth.json"
#define MSR_SIM_DATA_FILE "interactions.csv"

typedef struct {
  guint64  seed;                 /* every draw and the project's split; default 2024 */
  guint    n_users;              /* default 800 */
  guint    n_scenarios;          /* 1 .. MSR_SIM_MAX_SCENARIOS, default 5 */
  guint64  n_rows;               /* default 80,000 */
  guint    latent_dim;           /* k, default 8 */

  /* Per scenario; only the first n_scenarios entries are used. */
  const char *names[MSR_SIM_MAX_SCENARIOS];     /* NULL = the default name */
  double   row_share[MSR_SIM_MAX_SCENARIOS];    /* relative, normalised over the scenarios */
  guint    n_items[MSR_SIM_MAX_SCENARIOS];
  double   alpha[MSR_SIM_MAX_SCENARIOS];        /* signal strength α_s: weight of the item term */
  double   base_rate[MSR_SIM_MAX_SCENARIOS];    /* expected click rate r_s, in (0, 1) */
  /* The planted scenario correlation C: symmetric, unit diagonal, positive
   * definite (checked). Row-major in the leading n_scenarios block. */
  double   correlation[MSR_SIM_MAX_SCENARIOS][MSR_SIM_MAX_SCENARIOS];

  double   propensity_sd;        /* σ_β, spread of users' propensity (logit); default 1 */
  double   item_bias_sd;         /* σ_c, item quality (scaled by α_s); default 1 */
  double   popularity_sd;        /* σ_pop, log-normal item popularity; default 1 */
  double   activity_sd;          /* σ_act, log-normal user activity; default 1 */
  guint    min_user_rows;        /* rows every user has at least; default 10 */
  double   affinity_sd;          /* σ_η, per-user spread of scenario shares; default 0.5 */
  double   test_fraction;        /* the project's random split; default 0.2 */
  double   valid_fraction;       /* validation share of training; default 0.1 */
  gint64   start_time;           /* first timestamp, Unix seconds; default 1,700,000,000 */
  guint    mean_gap;             /* mean seconds between rows; default 60 */
} MsrSimOptions;

/* The defaults for 5 scenarios (docs/FORMATS.md §10). */
void     msr_sim_options_init          (MsrSimOptions *opts);
/* The defaults for n_scenarios scenarios (clamped to 1 .. 16): the first
 * n entries of the default tables and the block correlation rule. */
void     msr_sim_options_init_for      (MsrSimOptions *opts, guint n_scenarios);
/* The name of scenario s (the option or the default). */
const char *msr_sim_options_get_name   (const MsrSimOptions *opts, guint s);
/* Checks every option, including that the correlation matrix is positive
 * definite; the error names the option and what is wrong. */
gboolean msr_sim_options_validate      (const MsrSimOptions *opts, GError **error);

/* Generates the world and writes, into dir (created if needed; it must not
 * hold a project nor any of the files below): interactions.csv,
 * ground-truth.json and project.msrlens (a CSV project with a random split
 * seeded by opts->seed, plus a [simulation] group). Each file is written to
 * a temporary file and renamed; project.msrlens comes last. On failure or
 * cancellation (G_IO_ERROR_CANCELLED) every file and folder this call made
 * is removed again. */
gboolean msr_sim_write_project         (const char          *dir,
                                        const MsrSimOptions *opts,
                                        MsrProgressFunc      progress,
                                        gpointer             progress_data,
                                        GCancellable        *cancellable,
                                        GError             **error);

/* ---- planted knowledge ------------------------------------------------------ */

/* What an oracle LLM would know: per user (u1 … uU, as in interactions.csv)
 * the vector [β_{u,1..S}, θ_{u,1} … θ_{u,S}] of the user's planted
 * propensities and tastes, and per scenario the vector [L_s (its row of the
 * Cholesky factor of C), α_s], zero-padded to the same width
 * D = S·(1 + k). The same draws as msr_sim_write_project makes. */
gboolean msr_sim_planted_vectors       (const MsrSimOptions *opts,
                                        float              **user_vectors,
                                        float              **scenario_vectors,
                                        guint               *dim,
                                        GError             **error);
/* Writes the planted vectors into the knowledge store of the simulated
 * project in dir (creating it), as user and scenario entries of source
 * "planted" with the encoder "planted" (kind "imported"). */
gboolean msr_sim_write_planted_knowledge (const char          *dir,
                                          const MsrSimOptions *opts,
                                          GError             **error);

/* ---- the planted truth, read back ---------------------------------------- */

typedef struct {
  guint64  seed;
  guint    generator_version;
  guint    n_users;
  guint64  n_rows;
  guint    latent_dim;
  guint    n_scenarios;
  char   **names;            /* n_scenarios, NULL-terminated */
  double  *correlation;      /* n_scenarios × n_scenarios, row-major */
  double  *alpha;
  double  *base_rate;        /* the requested expected click rates r_s */
  double  *offset;           /* b_s, the calibrated logit offsets */
  double  *bayes_auc;        /* AUC of the true probabilities on the test rows */
  double  *bayes_auc_all;    /* ... on all rows */
  double  *bayes_logloss;    /* logloss of the true probabilities on the test rows */
  double   bayes_auc_overall;  /* test rows, scenarios pooled */
  guint64 *rows;             /* per scenario */
  guint64 *test_rows;
  guint64 *positives;
  guint   *users;            /* distinct users with rows in the scenario */
  guint   *items;            /* items of the scenario (n_items) */
  guint   *items_used;       /* items with at least one row */
} MsrSimTruth;

/* Reads the ground truth of a simulated project: its [simulation] group
 * and the file it names. Fails when the project is not simulated or the
 * file is damaged; the error names the file and the key. */
MsrSimTruth *msr_sim_truth_load        (const char *project_dir, GError **error);
void         msr_sim_truth_free        (MsrSimTruth *truth);
/* -1 when no scenario has that name. */
int          msr_sim_truth_find_scenario (const MsrSimTruth *truth, const char *name);
/* Whether dir/project.msrlens has a [simulation] group. */
gboolean     msr_sim_project_is_simulated (const char *project_dir);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrSimTruth, msr_sim_truth_free)

/* ---- what the data recover of the truth ----------------------------------- */

/* The planted scenario correlation next to the one the clicks show, and
 * the planted difficulty, all in the dataset's scenario order (the
 * "Planted truth" view of the workbench; docs/FORMATS.md §10). */
typedef struct {
  guint    n_scenarios;
  char   **names;            /* dataset order, NULL-terminated */
  double  *planted;          /* S × S: the truth's correlation C */
  double  *observed;         /* S × S: msr_corr_click_rate on all rows, min_rows */
  guint   *observed_users;   /* S × S: users behind each observed entry */
  guint    min_rows;         /* rows a user needs in both scenarios */
  double   mantel_r;         /* Pearson r of the off-diagonal entries */
  double   mantel_p;         /* one-sided permutation p-value */
  guint    permutations;
  double   mantel_p_floor;   /* the least p the test can give: the larger of
                              * 1 / S! (only S! orderings exist) and
                              * 1 / (permutations + 1) */
  double  *alpha;            /* planted signal strength α_s */
  double  *base_rate;        /* planted click rate r_s */
  double  *bayes_auc;        /* AUC of the true probabilities, test rows */
} MsrSimRecovery;

/* Compares truth with the data of ds (the project the truth belongs to).
 * Fails when their scenarios differ (the error names the scenario). */
MsrSimRecovery *msr_sim_recovery_compute (const MsrSimTruth *truth,
                                          const MsrDataset  *ds,
                                          GError           **error);
void            msr_sim_recovery_free    (MsrSimRecovery *recovery);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrSimRecovery, msr_sim_recovery_free)

G_END_DECLS

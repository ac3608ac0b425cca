/* msr-results.h: the results store, an SQLite database (results.sqlite in
 * the project folder) recording every evaluation and training run: run
 * descriptions, per-scope metrics with bootstrap intervals, training
 * curves and, optionally, per-row predictions for later paired
 * comparisons. docs/FORMATS.md §9 specifies the schema.
 *
 * Every write is one transaction (BEGIN IMMEDIATE ... COMMIT, rolled back
 * on any error): a failed call leaves the store as it was. Undefined
 * metrics (NaN) are stored as SQL NULL and read back as NaN; every other
 * double reads back bit for bit.
 *
 * Threads: an MsrResults may move between threads but must be used by one
 * thread at a time; open one per thread for concurrent work. Several
 * handles and processes may share a file (SQLite's file locks, with a busy
 * timeout of MSR_RESULTS_BUSY_TIMEOUT_MS).
 *
 * Errors: G_IO_ERROR_NOT_FOUND when a read-only open finds no file ("no
 * results yet"), G_IO_ERROR_READ_ONLY for a write through a read-only
 * handle, MSR_ERROR_SCHEMA for a file that is not a results store of a
 * version this engine reads, MSR_ERROR_PARSE for a damaged file,
 * MSR_ERROR_INVALID for impossible arguments or a run that does not exist,
 * MSR_ERROR_MISMATCH for intervals computed on other rows, MSR_ERROR_IO for
 * anything else SQLite reports (locked, disk full, ...). Messages start
 * with the database's path and end with SQLite's own message when it has
 * one. */
#pragma once

#include <glib.h>
#include "msr-error.h"
#include "msr-metrics.h"
#include "msr-stats.h"

G_BEGIN_DECLS

#define MSR_RESULTS_FILE "results.sqlite"
/* The schema this engine writes (PRAGMA user_version). */
#define MSR_RESULTS_SCHEMA_VERSION 1
/* PRAGMA application_id of a results store: "MSRR". */
#define MSR_RESULTS_APPLICATION_ID 0x4D535252
#define MSR_RESULTS_BUSY_TIMEOUT_MS 5000

typedef enum {
  /* Never creates or modifies the file; a missing file is an error. */
  MSR_RESULTS_READ_ONLY,
  /* Creates the file (not its folder) when missing; migrates older schemas. */
  MSR_RESULTS_READ_WRITE,
} MsrResultsMode;

typedef struct _MsrResults MsrResults;

/* One run. For msr_results_add_run: NULL strings are stored as NULL except
 * where noted; the fields marked "read" are ignored. Strings must be valid
 * UTF-8. Returned runs own their strings (msr_results_run_info_free). */
typedef struct {
  gint64   id;                  /* read: assigned by the store, never reused */
  char    *created_at;          /* ISO 8601, stored in UTC as
                                   "2024-05-01T12:34:56.789Z"; NULL = now */
  char    *name;                /* user label; NULL or "" = "<kind> <created_at>" */
  char    *kind;                /* required: "eval", "train", "score", ... */
  char    *model_path;
  char    *model_sha256;        /* 64 hex digits (stored lower-case) */
  char    *architecture;        /* "star", "mmoe", "ple", ... */
  char    *config_json;         /* a JSON object */
  char    *dataset_fingerprint; /* 64 hex digits (msr_dataset fingerprint) */
  char    *split;               /* "test", "valid", "train" */
  gboolean has_seed;
  guint64  seed;
  guint    threads;             /* worker/BLAS threads; 0 = not recorded */
  char    *engine_version;      /* NULL = this engine's version */
  char    *notes;
  /* read: what else the store holds for the run */
  gboolean has_metrics;
  gboolean has_predictions;
  guint    n_epochs;
} MsrRunInfo;

void        msr_results_run_info_free   (MsrRunInfo *info);

MsrResults *msr_results_open            (const char      *path,
                                         MsrResultsMode   mode,
                                         GError         **error);
void        msr_results_close           (MsrResults      *results);
const char *msr_results_get_path        (const MsrResults *results);
/* The engine version that created the file (meta table). */
const char *msr_results_get_created_by  (const MsrResults *results);

/* PRAGMA quick_check over the whole file (reads every page: not done on
 * open, see docs/FORMATS.md §9). */
gboolean    msr_results_check           (MsrResults      *results,
                                         GError         **error);

/* The name msr_results_add_run gives a run whose name is NULL or empty:
 * "<model file stem> <kind>", else "<architecture> <kind>", else "<kind>
 * <date> <time>" (of info->created_at). A stored name equal to this was
 * not chosen by anyone. */
char       *msr_results_default_run_name (const MsrRunInfo *info);

/* Adds a run with its metrics (may be NULL: a run without metrics, e.g. a
 * training run) and single-model bootstrap intervals (may be NULL; needs
 * metrics; from msr_compare_paired with b = NULL; its rows are matched to
 * metrics' scenarios by name and must have the same n and positives).
 * All or nothing. Returns the run id, or 0 with error set. */
gint64      msr_results_add_run         (MsrResults          *results,
                                         const MsrRunInfo    *info,
                                         const MsrEvalResult *metrics,
                                         const MsrComparison *intervals,
                                         GError             **error);

/* Returns a new MsrRunInfo, or NULL (MSR_ERROR_INVALID when no such run). */
MsrRunInfo *msr_results_get_run         (MsrResults      *results,
                                         gint64           run_id,
                                         GError         **error);
/* Every run, newest first (created_at, then id, descending): a GPtrArray
 * of MsrRunInfo owning its elements. NULL on error. */
GPtrArray  *msr_results_list_runs       (MsrResults      *results,
                                         GError         **error);
/* Deletes a run and everything stored for it. */
gboolean    msr_results_delete_run      (MsrResults      *results,
                                         gint64           run_id,
                                         GError         **error);
/* name: non-empty UTF-8. */
gboolean    msr_results_rename_run      (MsrResults      *results,
                                         gint64           run_id,
                                         const char      *name,
                                         GError         **error);

/* ---- metrics ----------------------------------------------------------- */

typedef enum {
  MSR_RESULTS_SCOPE_OVERALL,    /* pooled rows */
  MSR_RESULTS_SCOPE_SCENARIO,   /* one scenario */
  MSR_RESULTS_SCOPE_MACRO,      /* unweighted mean over scenarios */
  MSR_RESULTS_SCOPE_WEIGHTED,   /* mean weighted by scenario rows */
} MsrResultsScope;

typedef struct {
  MsrResultsScope scope;
  char           *scenario;       /* scenario name; NULL for other scopes */
  MsrMetrics      metrics;        /* as added (auc_scenarios etc. are 0
                                     outside the macro and weighted scopes) */
  /* Bootstrap intervals (overall and scenario scopes only). */
  gboolean        has_ci;
  double          ci_level;       /* e.g. 0.95 */
  guint           ci_replicates;
  guint64         ci_seed;
  MsrInterval     ci_auc;
  MsrInterval     ci_gauc;        /* NaN bounds without users */
} MsrResultsScopeMetrics;

typedef struct {
  gint64                  run_id;
  gboolean                has_users;
  double                  logloss_epsilon;
  guint                   n_scopes;
  /* overall, the scenarios (in the evaluation's order), macro, weighted */
  MsrResultsScopeMetrics *scopes;
} MsrResultsMetrics;

/* NULL with MSR_ERROR_INVALID when the run does not exist or has no metrics. */
MsrResultsMetrics *msr_results_get_metrics (MsrResults      *results,
                                            gint64           run_id,
                                            GError         **error);
void        msr_results_metrics_free    (MsrResultsMetrics *metrics);
/* scenario is only looked at for MSR_RESULTS_SCOPE_SCENARIO. */
const MsrResultsScopeMetrics *
            msr_results_metrics_find    (const MsrResultsMetrics *metrics,
                                         MsrResultsScope          scope,
                                         const char              *scenario);

/* ---- training curves -------------------------------------------------- */

typedef struct {
  guint    epoch;               /* 0-based; unique within a run */
  double   train_loss;          /* NaN = not recorded, for every double */
  double   valid_auc;
  double   valid_logloss;
  double   valid_gauc;
  double   seconds;             /* wall time of the epoch, >= 0 */
  guint    n_scenarios;         /* per-scenario validation metrics */
  char   **scenario_names;      /* n_scenarios distinct names */
  double  *scenario_auc;        /* n_scenarios values */
  double  *scenario_logloss;    /* n_scenarios values; may be NULL on add */
} MsrResultsEpoch;

void        msr_results_epoch_free      (MsrResultsEpoch *epoch);

/* Appends n_epochs epochs to a run; can be called once per epoch. An epoch
 * number already stored fails and stores none of them. */
gboolean    msr_results_add_epochs      (MsrResults            *results,
                                         gint64                 run_id,
                                         const MsrResultsEpoch *epochs,
                                         guint                  n_epochs,
                                         GError               **error);
/* A GPtrArray of MsrResultsEpoch in epoch order (empty when none). */
GPtrArray  *msr_results_get_epochs      (MsrResults      *results,
                                         gint64           run_id,
                                         GError         **error);

/* ---- predictions ------------------------------------------------------ */

/* A coded column: codes[i] < n_names for every row, names distinct. */
typedef struct {
  const guint32      *codes;
  const char * const *names;
  guint               n_names;
} MsrResultsCodes;

typedef struct {
  gint64   run_id;
  gsize    n;
  float   *scores;            /* n probabilities */
  guint8  *labels;            /* n values 0/1; NULL when not stored */
  guint32 *scenarios;         /* n codes; NULL when not stored */
  char   **scenario_names;    /* NULL-terminated; NULL when not stored */
  guint32 *users;             /* n codes; NULL when not stored */
  char   **user_names;        /* NULL-terminated; NULL when not stored */
} MsrResultsPredictions;

void        msr_results_predictions_free (MsrResultsPredictions *p);

/* Stores a run's per-row scores (float32 probabilities in [0, 1]), in the
 * row order of the run's dataset split; labels (non-zero = positive),
 * scenarios and users are optional (NULL), for runs whose rows do not come
 * from a fingerprinted dataset. A run holds at most one set. */
gboolean    msr_results_add_predictions (MsrResults            *results,
                                         gint64                 run_id,
                                         const float           *scores,
                                         gsize                  n,
                                         const guint8          *labels,
                                         const MsrResultsCodes *scenarios,
                                         const MsrResultsCodes *users,
                                         GError               **error);
/* NULL with MSR_ERROR_INVALID when the run has no predictions. */
MsrResultsPredictions *
            msr_results_get_predictions (MsrResults      *results,
                                         gint64           run_id,
                                         GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrResults, msr_results_close)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrRunInfo, msr_results_run_info_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrResultsMetrics, msr_results_metrics_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrResultsEpoch, msr_results_epoch_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrResultsPredictions, msr_results_predictions_free)

G_END_DECLS

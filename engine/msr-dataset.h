/* msr-dataset.h: a multi-scenario CTR dataset held as int32 columns.
 *
 * Every field (user id, item id, age band, ...) is a column of int32 codes
 * into that field's vocabulary; code 0 is reserved for "unknown" in every
 * vocabulary. A multi-hot field (genre flags) is stored CSR-style: per row an
 * offset range into one flat code array. Labels, scenarios and the split a
 * row belongs to are separate columns. docs/FORMATS.md states the memory used
 * per row. */
#pragma once

#include <glib.h>
#include "msr-error.h"

G_BEGIN_DECLS

typedef enum {
  MSR_FIELD_CATEGORICAL,  /* one code per row */
  MSR_FIELD_MULTI_HOT,    /* zero or more codes per row, mean-pooled by models */
} MsrFieldKind;

typedef enum {
  MSR_SPLIT_TRAIN = 0,
  MSR_SPLIT_VALID = 1,
  MSR_SPLIT_TEST  = 2,
} MsrSplit;

#define MSR_SPLIT_MASK(s) (1u << (s))
#define MSR_SPLIT_MASK_ALL 0x7u

#define MSR_UNKNOWN_CODE 0

typedef struct _MsrDataset MsrDataset;

void          msr_dataset_free                (MsrDataset *ds);

const char   *msr_dataset_get_name            (const MsrDataset *ds);
/* Where the rows came from (file paths, human readable). */
const char   *msr_dataset_get_source          (const MsrDataset *ds);
/* SHA-256 over the encoded content (columns, vocabularies, scenario names,
 * splits): two loads of the same data with the same schema and split agree. */
const char   *msr_dataset_get_fingerprint     (const MsrDataset *ds);

/* SHA-256 over the field names, kinds and vocabularies only: what a model
 * needs to agree on to read this dataset's codes. */
const char   *msr_dataset_get_vocab_fingerprint (const MsrDataset *ds);

gsize         msr_dataset_get_n_rows          (const MsrDataset *ds);
guint         msr_dataset_get_n_fields        (const MsrDataset *ds);
const char   *msr_dataset_get_field_name      (const MsrDataset *ds, guint field);
MsrFieldKind  msr_dataset_get_field_kind      (const MsrDataset *ds, guint field);
/* Vocabulary size including the reserved unknown code 0. */
guint         msr_dataset_get_field_cardinality (const MsrDataset *ds, guint field);
/* -1 when there is no field of that name. */
int           msr_dataset_find_field          (const MsrDataset *ds, const char *name);
/* Categorical: n_rows codes. Multi-hot: the flat code array, see offsets. */
const gint32 *msr_dataset_get_field_codes     (const MsrDataset *ds, guint field);
/* Multi-hot only: n_rows + 1 offsets into the codes; NULL for categorical. */
const guint32 *msr_dataset_get_field_offsets  (const MsrDataset *ds, guint field);
/* The raw value behind a code ("unknown" for code 0). */
const char   *msr_dataset_get_field_value     (const MsrDataset *ds, guint field, gint32 code);
/* A human label for the value (a movie's title for an item id), or the
 * value itself when the dataset has none. */
const char   *msr_dataset_get_value_label     (const MsrDataset *ds, guint field, gint32 code);
/* MSR_UNKNOWN_CODE when the value is not in the vocabulary. */
gint32        msr_dataset_lookup_code         (const MsrDataset *ds, guint field, const char *value);

/* The user and item fields (indices into the fields). */
guint         msr_dataset_get_user_field      (const MsrDataset *ds);
guint         msr_dataset_get_item_field      (const MsrDataset *ds);

guint         msr_dataset_get_n_scenarios     (const MsrDataset *ds);
const char   *msr_dataset_get_scenario_name   (const MsrDataset *ds, guint scenario);
/* A short description of how the scenario is defined (may be NULL). */
const char   *msr_dataset_get_scenario_description (const MsrDataset *ds, guint scenario);
const guint16 *msr_dataset_get_scenarios      (const MsrDataset *ds);
const guint8 *msr_dataset_get_labels          (const MsrDataset *ds);
const guint8 *msr_dataset_get_splits          (const MsrDataset *ds);
/* NULL when the dataset has no timestamp column. */
const gint64 *msr_dataset_get_timestamps      (const MsrDataset *ds);

/* Human-readable notes from the import (rows dropped and why, ...). */
const char * const *msr_dataset_get_notes     (const MsrDataset *ds);
/* Number of input rows that were dropped during the import. */
gsize         msr_dataset_get_n_dropped       (const MsrDataset *ds);

/* Bytes held by the dataset (columns, vocabularies), for the docs and UI. */
gsize         msr_dataset_get_memory_bytes    (const MsrDataset *ds);

/* ---- Splits ---------------------------------------------------------- */

typedef enum {
  MSR_SPLIT_METHOD_FILE,    /* rows already tagged by the files they came from */
  MSR_SPLIT_METHOD_RANDOM,  /* seeded, stratified per scenario */
  MSR_SPLIT_METHOD_TIME,    /* per scenario: the latest rows are the test set */
} MsrSplitMethod;

typedef struct {
  MsrSplitMethod method;
  double   test_fraction;   /* random and time; default 0.2 */
  double   valid_fraction;  /* carved from training, default 0.1; 0 = none */
  gboolean valid_by_time;   /* validation = latest training rows per scenario
                               instead of a seeded random sample */
  guint64  seed;            /* default 42 */
} MsrSplitOptions;

void          msr_split_options_init          (MsrSplitOptions *opts);
const char   *msr_split_method_to_string      (MsrSplitMethod method);
gboolean      msr_split_method_from_string    (const char *s, MsrSplitMethod *out);
const char   *msr_split_to_string             (MsrSplit split);

/* Re-assigns the split column. For MSR_SPLIT_METHOD_FILE the file-given
 * train/test tags are kept and only the validation rows are carved out of
 * training. The validation split is a seeded random sample of each
 * scenario's training rows, or its latest rows with valid_by_time. */
gboolean      msr_dataset_apply_split         (MsrDataset            *ds,
                                               const MsrSplitOptions *opts,
                                               GError               **error);

/* ---- Statistics ------------------------------------------------------ */

typedef struct {
  char    *name;
  guint64  rows;
  guint64  positives;
  guint    users;
  guint    items;
  guint64  rows_by_split[3];
} MsrScenarioStats;

typedef struct {
  guint             n_scenarios;
  MsrScenarioStats *scenarios;
  MsrScenarioStats  total;          /* all selected rows, scenarios pooled */
  double           *user_jaccard;   /* n_scenarios x n_scenarios, row-major */
  guint             users_in_all;   /* users present in every scenario */
} MsrDatasetStats;

/* Statistics over the rows whose split is in split_mask. */
MsrDatasetStats *msr_dataset_compute_stats    (const MsrDataset *ds, guint split_mask);
void          msr_dataset_stats_free          (MsrDatasetStats *stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrDataset, msr_dataset_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrDatasetStats, msr_dataset_stats_free)

G_END_DECLS

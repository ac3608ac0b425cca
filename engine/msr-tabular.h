/* msr-tabular.h: multi-scenario datasets from generic CSV/TSV files. */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include "msr-dataset.h"

G_BEGIN_DECLS

/* Which columns play which role. The label is 0/1, or a rating turned into
 * a label by label = (rating >= threshold). */
typedef struct {
  char    *label_column;
  gboolean has_rating_threshold;
  double   rating_threshold;
  char    *scenario_column;
  char    *user_column;
  char    *item_column;
  char   **feature_columns;        /* extra categorical features, may be NULL */
  char    *time_column;            /* optional, NULL when absent */
  char     delimiter;              /* ',' or '\t'; 0 = from the file name */
} MsrCsvSchema;

void        msr_csv_schema_clear  (MsrCsvSchema *schema);

/* Checks that the file's header has every column the schema names and that
 * no column plays two roles; errors list the available columns. */
gboolean    msr_tabular_check_schema (const char          *path,
                                      const MsrCsvSchema  *schema,
                                      GError             **error);

/* Loads train_path (rows tagged train) and, when given, test_path (rows
 * tagged test) with the same schema. Fields: user, item, then the feature
 * columns, each categorical. Empty feature values map to the unknown code;
 * empty user, item or scenario values are errors. Time values are integers
 * (Unix seconds) or ISO 8601 dates/times (UTC when no zone is given). */
MsrDataset *msr_tabular_load     (const char          *train_path,
                                  const char          *test_path,
                                  const MsrCsvSchema  *schema,
                                  MsrProgressFunc      progress,
                                  gpointer             progress_data,
                                  GCancellable        *cancellable,
                                  GError             **error);

G_END_DECLS

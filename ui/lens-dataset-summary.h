/* lens-dataset-summary.h: the dataset at a glance (the seed of the Overview
 * page): totals, import notes and a per-scenario table. */
#pragma once

#include <adwaita.h>
#include "msr-dataset.h"

G_BEGIN_DECLS

#define LENS_TYPE_DATASET_SUMMARY (lens_dataset_summary_get_type ())
G_DECLARE_FINAL_TYPE (LensDatasetSummary, lens_dataset_summary, LENS, DATASET_SUMMARY, AdwBin)

GtkWidget  *lens_dataset_summary_new         (void);

/* Shows ds and its statistics (computed by the engine over the splits the
 * caller chose). Copies everything it shows: neither needs to outlive the
 * call. NULL for both clears the summary. */
void        lens_dataset_summary_set_dataset (LensDatasetSummary    *self,
                                              const MsrDataset      *ds,
                                              const MsrDatasetStats *stats);

/* The per-scenario rows (LensScenarioRow), in the dataset's scenario order
 * whatever the table's sort order. */
GListModel *lens_dataset_summary_get_model   (LensDatasetSummary *self);
GtkColumnView *lens_dataset_summary_get_column_view (LensDatasetSummary *self);

G_END_DECLS

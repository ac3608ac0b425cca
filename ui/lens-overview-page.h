/* lens-overview-page.h: the project at a glance: the dataset summary, and
 * for the selected evaluation runs the per-scenario metrics table (AUC with
 * CI, logloss, GAUC with coverage) and the AUC bar chart with whiskers;
 * for a simulated project, the planted truth beside what was recovered. */
#pragma once

#include <adwaita.h>
#include "lens-dataset-summary.h"
#include "lens-page.h"
#include "lens-truth-section.h"

G_BEGIN_DECLS

#define LENS_TYPE_OVERVIEW_PAGE (lens_overview_page_get_type ())
G_DECLARE_FINAL_TYPE (LensOverviewPage, lens_overview_page, LENS, OVERVIEW_PAGE, AdwBin)

GtkWidget          *lens_overview_page_new         (void);
LensDatasetSummary *lens_overview_page_get_summary (LensOverviewPage *self);
/* The runs the chart and table show, in their order. */
GArray             *lens_overview_page_get_run_ids (LensOverviewPage *self);
/* Hidden unless the project is simulated. */
LensTruthSection   *lens_overview_page_get_truth_section (LensOverviewPage *self);
/* Scrolls to the planted truth as soon as it is shown; FALSE when the
 * project has none. */
gboolean            lens_overview_page_reveal_truth      (LensOverviewPage *self);

G_END_DECLS

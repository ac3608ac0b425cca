/* lens-scenario-row.h: one scenario's statistics, as a list model item. */
#pragma once

#include <glib-object.h>
#include "msr-dataset.h"

G_BEGIN_DECLS

#define LENS_TYPE_SCENARIO_ROW (lens_scenario_row_get_type ())
G_DECLARE_FINAL_TYPE (LensScenarioRow, lens_scenario_row, LENS, SCENARIO_ROW, GObject)

/* Copies what it needs: stats and description may be freed afterwards. */
LensScenarioRow *lens_scenario_row_new            (const MsrScenarioStats *stats,
                                                   const char             *description);

const char      *lens_scenario_row_get_name       (LensScenarioRow *self);
/* How the scenario is defined (e.g. its genres); may be NULL. */
const char      *lens_scenario_row_get_description (LensScenarioRow *self);
guint64          lens_scenario_row_get_rows       (LensScenarioRow *self);
guint64          lens_scenario_row_get_split_rows (LensScenarioRow *self, MsrSplit split);
guint64          lens_scenario_row_get_users      (LensScenarioRow *self);
guint64          lens_scenario_row_get_items      (LensScenarioRow *self);
guint64          lens_scenario_row_get_positives  (LensScenarioRow *self);
/* positives / rows, NaN for a scenario without rows. */
double           lens_scenario_row_get_positive_rate (LensScenarioRow *self);

G_END_DECLS

/* lens-runs-page.h: the Runs page: the project's results store as a table
 * (filter, sort, select two runs to compare, delete runs), and for the run
 * in focus its configuration, key facts and training curve. */
#pragma once

#include <adwaita.h>
#include "lens-page.h"

G_BEGIN_DECLS

#define LENS_TYPE_RUNS_PAGE (lens_runs_page_get_type ())
G_DECLARE_FINAL_TYPE (LensRunsPage, lens_runs_page, LENS, RUNS_PAGE, AdwBin)

/* Signals:
 *   "compare-requested" (gint64 run_a, gint64 run_b): the user asked to
 *   compare two evaluation runs; run_a is the older one.
 * Actions (group "runs"): runs.find (Ctrl+F: focus the search entry),
 * runs.compare, runs.delete (asks for confirmation first). */

GtkWidget *lens_runs_page_new           (void);
/* The run whose details are shown, or 0. */
gint64     lens_runs_page_get_focus_run (LensRunsPage *self);
/* The search entry's text filters the table (also for tests). */
void       lens_runs_page_set_filter    (LensRunsPage *self, const char *text);
/* TRUE while a deletion runs in the background. */
gboolean   lens_runs_page_is_busy       (LensRunsPage *self);
/* The confirmation dialog while it is shown, else NULL. */
AdwMessageDialog *lens_runs_page_get_delete_dialog (LensRunsPage *self);

G_END_DECLS

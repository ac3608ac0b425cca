/* lens-window.h: a window showing one project: greeter, loading, the
 * dataset summary, or what went wrong. */
#pragma once

#include <adwaita.h>
#include "lens-dataset-summary.h"
#include "lens-session.h"

G_BEGIN_DECLS

#define LENS_TYPE_WINDOW (lens_window_get_type ())
G_DECLARE_FINAL_TYPE (LensWindow, lens_window, LENS, WINDOW, AdwApplicationWindow)

/* settings (the application's, may be NULL) keeps the window's size. */
LensWindow         *lens_window_new                 (GtkApplication *application,
                                                     GSettings      *settings);

/* Opens the project folder (or its project.msrlens file): reads the
 * description, then loads the dataset without blocking the main loop.
 * Replaces (and cancels the load of) the project shown before. Failures are
 * shown in the window's error page. */
void                lens_window_open_project        (LensWindow *self,
                                                     GFile      *location);

/* Opens the demo project, creating it first when needed (the data may be
 * copied or downloaded: see msr-demo.h). movielens_dir may be NULL. */
void                lens_window_open_demo           (LensWindow *self,
                                                     const char *movielens_dir);

/* The folder last opened, or NULL. */
GFile              *lens_window_get_project_dir     (LensWindow *self);
/* The open project, or NULL when none is open (greeter, error). */
LensSession        *lens_window_get_session         (LensWindow *self);
/* TRUE on the greeter and error pages: the window can take another project. */
gboolean            lens_window_is_empty            (LensWindow *self);

/* Shows a workbench page: "overview", "backbones", "seesaw", "runs", "train". */
void                lens_window_show_page           (LensWindow *self, const char *name);
GtkWidget          *lens_window_get_page            (LensWindow *self, const char *name);
/* The banner's text when it is shown, else NULL. */
const char         *lens_window_get_banner          (LensWindow *self);
/* Re-reads the recent projects the greeter lists. */
void                lens_window_refresh_recent      (LensWindow *self);

/* "greeter", "loading", "workbench" or "error". */
const char         *lens_window_get_visible_page    (LensWindow *self);
/* The message the error page shows, or NULL. */
const char         *lens_window_get_error_message   (LensWindow *self);
LensDatasetSummary *lens_window_get_dataset_summary (LensWindow *self);
AdwWindowTitle     *lens_window_get_title_widget    (LensWindow *self);

G_END_DECLS

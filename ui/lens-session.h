/* lens-session.h: an open project and, once loaded, its dataset and
 * statistics. Every page of a window reads the same session. */
#pragma once

#include <gio/gio.h>
#include "msr-project.h"

G_BEGIN_DECLS

#define LENS_TYPE_SESSION (lens_session_get_type ())
G_DECLARE_FINAL_TYPE (LensSession, lens_session, LENS, SESSION, GObject)

/* The project folder a location names: the location itself, or the folder
 * holding it when it is a project.msrlens file. */
GFile                 *lens_session_resolve_dir (GFile *location);

/* Reads DIR's project description (quick, on the calling thread). Fails
 * with the engine's message, which names the file and the problem. */
LensSession           *lens_session_open        (const char *dir, GError **error);

MsrProject            *lens_session_get_project (LensSession *self);
const char            *lens_session_get_dir     (LensSession *self);
const char            *lens_session_get_name    (LensSession *self);
/* "MovieLens-100K, genre scenarios, u1 split" */
const char            *lens_session_get_description (LensSession *self);

/* Loads the dataset and computes its statistics (all splits) in a worker
 * thread. While it runs, the "stage" and "fraction" properties follow the
 * engine's progress, notified on the thread-default main context of the
 * caller. Fails with G_IO_ERROR_CANCELLED when cancellable is cancelled. */
void                   lens_session_load_async  (LensSession         *self,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
gboolean               lens_session_load_finish (LensSession   *self,
                                                 GAsyncResult  *result,
                                                 GError       **error);

/* NULL until a load has finished. */
const MsrDataset      *lens_session_get_dataset (LensSession *self);
const MsrDatasetStats *lens_session_get_stats   (LensSession *self);

/* The engine's last reported progress: a fraction in [0,1], or negative when
 * the total is unknown, and the stage text (may be NULL). */
double                 lens_session_get_fraction (LensSession *self);
const char            *lens_session_get_stage    (LensSession *self);

G_END_DECLS

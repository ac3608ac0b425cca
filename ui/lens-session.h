/* lens-session.h: an open project and, once loaded, its dataset and
 * statistics. Every page of a window reads the same session. */
#pragma once

#include <gio/gio.h>
#include "msr-project.h"
#include "msr-results.h"

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

/* ---- runs -------------------------------------------------------------- */

/* One run of the project's results store, with what the pages show. */
typedef struct {
  MsrRunInfo        *info;
  MsrResultsMetrics *metrics;   /* NULL for runs without metrics (training runs) */
  GPtrArray         *epochs;    /* MsrResultsEpoch; empty unless the run has a curve */
} LensRun;

/* How every page names a run: "star · #12", or "star · my label" when
 * someone gave the run a name of their own. */
char                  *lens_run_get_label (const LensRun *run);

/* The results store's path (it may not exist yet). */
const char            *lens_session_get_results_path (LensSession *self);
/* Reloads the runs in a worker thread; emits "runs-changed" when they are
 * in, or "error" (a message naming the file) when the store cannot be read. */
void                   lens_session_refresh_runs (LensSession *self);
/* LensRun*, newest first; never NULL (empty before the first refresh). The
 * array is replaced, not changed, by a refresh: keep a reference to use it
 * across one. */
GPtrArray             *lens_session_get_runs    (LensSession *self);
const LensRun         *lens_session_find_run    (LensSession *self, gint64 id);
/* The training run of the model an evaluation run scored (same model file
 * hash), or NULL. */
const LensRun         *lens_session_find_training_run (LensSession *self, const LensRun *eval_run);

/* The evaluation runs the Overview and Backbones pages show, shared by the
 * window's pages; "selection-changed" when set. After a refresh with no
 * selection, the newest evaluation run of each architecture is selected. */
GArray                *lens_session_get_selection (LensSession *self);   /* gint64 */
void                   lens_session_set_selection (LensSession *self, const gint64 *ids, guint n);

/* TRUE for a simulated world (its project.msrlens has a [simulation] group). */
gboolean               lens_session_is_simulated (LensSession *self);

/* The engine's last reported progress: a fraction in [0,1], or negative when
 * the total is unknown, and the stage text (may be NULL). */
double                 lens_session_get_fraction (LensSession *self);
const char            *lens_session_get_stage    (LensSession *self);

G_END_DECLS

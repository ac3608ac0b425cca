/* lens-job.h: one long engine call in a GTask thread. Progress reported
 * from the thread is coalesced and published on the main context as the
 * "fraction" and "stage" properties, at most once per main-loop pass, so a
 * chatty engine call cannot flood or stall the main loop. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define LENS_TYPE_JOB (lens_job_get_type ())
G_DECLARE_FINAL_TYPE (LensJob, lens_job, LENS, JOB, GObject)

/* Runs in the worker thread; returns the result (freed with result_free
 * if nobody takes it) or NULL with error set. */
typedef gpointer (*LensJobFunc) (LensJob       *job,
                                 gpointer       data,
                                 GCancellable  *cancellable,
                                 GError       **error);

LensJob    *lens_job_new          (const char *name);
/* Starts func (data is owned by the job and freed with data_free). */
void        lens_job_run_async    (LensJob             *job,
                                   LensJobFunc          func,
                                   gpointer             data,
                                   GDestroyNotify       data_free,
                                   GDestroyNotify       result_free,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data);
gpointer    lens_job_run_finish   (LensJob       *job,
                                   GAsyncResult  *result,
                                   GError       **error);

/* Thread-safe. fraction in [0, 1], or negative when unknown. */
void        lens_job_report       (LensJob    *job,
                                   double      fraction,
                                   const char *stage);
/* An MsrProgressFunc whose user data is the job. */
void        lens_job_progress_cb  (double      fraction,
                                   const char *stage,
                                   gpointer    job);

gboolean    lens_job_is_running   (LensJob *job);
double      lens_job_get_fraction (LensJob *job);
const char *lens_job_get_stage    (LensJob *job);
const char *lens_job_get_name     (LensJob *job);

G_END_DECLS

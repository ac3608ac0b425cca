/* lens-job.c: see lens-job.h. */
#include "lens-job.h"

struct _LensJob
{
  GObject       parent_instance;

  char         *name;
  gboolean      running;
  double        fraction;
  char         *stage;

  /* written by the worker, guarded by lock */
  GMutex        lock;
  double        pending_fraction;
  char         *pending_stage;
  gboolean      dispatch_queued;
  GMainContext *context;
};

G_DEFINE_FINAL_TYPE (LensJob, lens_job, G_TYPE_OBJECT)

enum { PROP_0, PROP_RUNNING, PROP_FRACTION, PROP_STAGE, N_PROPS };
static GParamSpec *properties[N_PROPS];

typedef struct {
  LensJobFunc    func;
  gpointer       data;
  GDestroyNotify data_free;
  GDestroyNotify result_free;
} JobCall;

static void
job_call_free (gpointer p)
{
  JobCall *c = p;
  if (c->data_free && c->data)
    c->data_free (c->data);
  g_free (c);
}

static void
lens_job_finalize (GObject *object)
{
  LensJob *self = LENS_JOB (object);
  g_free (self->name);
  g_free (self->stage);
  g_free (self->pending_stage);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (lens_job_parent_class)->finalize (object);
}

static void
lens_job_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LensJob *self = LENS_JOB (object);
  switch (prop_id)
    {
    case PROP_RUNNING: g_value_set_boolean (value, self->running); break;
    case PROP_FRACTION: g_value_set_double (value, self->fraction); break;
    case PROP_STAGE: g_value_set_string (value, self->stage); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lens_job_class_init (LensJobClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->finalize = lens_job_finalize;
  object_class->get_property = lens_job_get_property;
  properties[PROP_RUNNING] = g_param_spec_boolean ("running", NULL, NULL, FALSE,
                                                   G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FRACTION] = g_param_spec_double ("fraction", NULL, NULL, -1, 1, -1,
                                                   G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STAGE] = g_param_spec_string ("stage", NULL, NULL, NULL,
                                                G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
lens_job_init (LensJob *self)
{
  g_mutex_init (&self->lock);
  self->fraction = self->pending_fraction = -1;
}

LensJob *
lens_job_new (const char *name)
{
  LensJob *self = g_object_new (LENS_TYPE_JOB, NULL);
  self->name = g_strdup (name);
  return self;
}

static gboolean
dispatch (gpointer data)
{
  LensJob *self = data;
  g_autofree char *stage = NULL;
  double fraction;

  g_mutex_lock (&self->lock);
  fraction = self->pending_fraction;
  stage = g_steal_pointer (&self->pending_stage);
  self->dispatch_queued = FALSE;
  g_mutex_unlock (&self->lock);

  g_object_freeze_notify (G_OBJECT (self));
  if (fraction != self->fraction)
    {
      self->fraction = fraction;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRACTION]);
    }
  if (stage && g_strcmp0 (stage, self->stage) != 0)
    {
      g_free (self->stage);
      self->stage = g_steal_pointer (&stage);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STAGE]);
    }
  g_object_thaw_notify (G_OBJECT (self));
  return G_SOURCE_REMOVE;
}

void
lens_job_report (LensJob *self, double fraction, const char *stage)
{
  gboolean queue;
  g_mutex_lock (&self->lock);
  self->pending_fraction = CLAMP (fraction, -1.0, 1.0);
  if (stage)
    {
      g_free (self->pending_stage);
      self->pending_stage = g_strdup (stage);
    }
  queue = !self->dispatch_queued && self->context != NULL;
  self->dispatch_queued |= queue;
  g_mutex_unlock (&self->lock);
  if (queue)
    g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, dispatch, g_object_ref (self), g_object_unref);
}

void
lens_job_progress_cb (double fraction, const char *stage, gpointer job)
{
  lens_job_report (job, fraction, stage);
}

static void
job_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  JobCall *c = task_data;
  GError *error = NULL;
  gpointer result = c->func (LENS_JOB (source), c->data, cancellable, &error);
  if (result == NULL && error == NULL)
    error = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "%s failed", LENS_JOB (source)->name);
  if (error)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, c->result_free);
}

static void
set_running (LensJob *self, gboolean running)
{
  if (self->running == running)
    return;
  self->running = running;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

void
lens_job_run_async (LensJob *self, LensJobFunc func, gpointer data, GDestroyNotify data_free,
                    GDestroyNotify result_free, GCancellable *cancellable, GAsyncReadyCallback callback,
                    gpointer user_data)
{
  g_return_if_fail (LENS_IS_JOB (self));
  JobCall *c = g_new0 (JobCall, 1);
  c->func = func;
  c->data = data;
  c->data_free = data_free;
  c->result_free = result_free;
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lens_job_run_async);
  g_task_set_name (task, self->name);
  g_task_set_task_data (task, c, job_call_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref_thread_default ();
  g_free (self->stage);
  self->stage = NULL;
  self->fraction = -1;
  set_running (self, TRUE);
  g_task_run_in_thread (task, job_thread);
}

gpointer
lens_job_run_finish (LensJob *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  set_running (self, FALSE);
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean lens_job_is_running (LensJob *self) { return self->running; }
double lens_job_get_fraction (LensJob *self) { return self->fraction; }
const char *lens_job_get_stage (LensJob *self) { return self->stage; }
const char *lens_job_get_name (LensJob *self) { return self->name; }

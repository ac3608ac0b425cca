/* lens-session.c: an open project and, once loaded, its dataset.
 *
 * The dataset is loaded in a GTask thread. The engine reports progress from
 * that thread; reports are coalesced under a mutex and handed to the main
 * context one idle at a time, so a chatty loader cannot flood the main loop.
 * The dataset and statistics are only stored on the main thread, by finish. */
#include "lens-session.h"
#include "msr-simulate.h"

struct _LensSession
{
  GObject parent_instance;

  MsrProject      *project;
  char            *description;
  MsrDataset      *dataset;
  MsrDatasetStats *stats;
  gboolean         loading;
  char            *results_path;
  GPtrArray       *runs;          /* LensRun* */
  GArray          *selection;     /* gint64 */
  guint            refresh_serial;

  /* main-context copy of the progress, read by the UI */
  double           fraction;
  char            *stage;

  /* written by the worker thread, guarded by progress_lock */
  GMutex           progress_lock;
  GMainContext    *progress_context;
  double           pending_fraction;
  char            *pending_stage;
  gboolean         dispatch_queued;
};

G_DEFINE_FINAL_TYPE (LensSession, lens_session, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_DESCRIPTION,
  PROP_FRACTION,
  PROP_STAGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum { SIGNAL_RUNS_CHANGED, SIGNAL_SELECTION_CHANGED, SIGNAL_ERROR, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
lens_run_free (gpointer p)
{
  LensRun *r = p;
  g_clear_pointer (&r->info, msr_results_run_info_free);
  g_clear_pointer (&r->metrics, msr_results_metrics_free);
  g_clear_pointer (&r->epochs, g_ptr_array_unref);
  g_free (r);
}

/* Task data marking a load refused because another one was running. */
static const char already_loading = 0;

typedef struct {
  MsrDataset      *dataset;
  MsrDatasetStats *stats;
} LoadResult;

static void
load_result_free (gpointer data)
{
  LoadResult *result = data;

  g_clear_pointer (&result->stats, msr_dataset_stats_free);
  g_clear_pointer (&result->dataset, msr_dataset_free);
  g_free (result);
}

static void
lens_session_finalize (GObject *object)
{
  LensSession *self = LENS_SESSION (object);

  g_clear_pointer (&self->stats, msr_dataset_stats_free);
  g_clear_pointer (&self->dataset, msr_dataset_free);
  g_clear_pointer (&self->project, msr_project_free);
  g_clear_pointer (&self->progress_context, g_main_context_unref);
  g_clear_pointer (&self->runs, g_ptr_array_unref);
  g_clear_pointer (&self->selection, g_array_unref);
  g_free (self->results_path);
  g_free (self->description);
  g_free (self->stage);
  g_free (self->pending_stage);
  g_mutex_clear (&self->progress_lock);

  G_OBJECT_CLASS (lens_session_parent_class)->finalize (object);
}

static void
lens_session_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  LensSession *self = LENS_SESSION (object);

  switch (prop_id)
    {
    case PROP_NAME:        g_value_set_string (value, lens_session_get_name (self)); break;
    case PROP_DESCRIPTION: g_value_set_string (value, self->description); break;
    case PROP_FRACTION:    g_value_set_double (value, self->fraction); break;
    case PROP_STAGE:       g_value_set_string (value, self->stage); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lens_session_class_init (LensSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = lens_session_finalize;
  object_class->get_property = lens_session_get_property;

  properties[PROP_NAME] =
    g_param_spec_string ("name", "Name", "The project's name", NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_DESCRIPTION] =
    g_param_spec_string ("description", "Description", "The dataset in one line", NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FRACTION] =
    g_param_spec_double ("fraction", "Fraction", "Progress of the load, negative when unknown",
                         -1.0, 1.0, -1.0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STAGE] =
    g_param_spec_string ("stage", "Stage", "What the load is doing", NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_RUNS_CHANGED] = g_signal_new ("runs-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                               0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_SELECTION_CHANGED] = g_signal_new ("selection-changed", G_TYPE_FROM_CLASS (klass),
                                                    G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_ERROR] = g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                        NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
lens_session_init (LensSession *self)
{
  g_mutex_init (&self->progress_lock);
  self->fraction = -1.0;
  self->pending_fraction = -1.0;
  self->runs = g_ptr_array_new_with_free_func (lens_run_free);
  self->selection = g_array_new (FALSE, FALSE, sizeof (gint64));
}

GFile *
lens_session_resolve_dir (GFile *location)
{
  g_autofree char *base = NULL;
  GFile *parent;

  g_return_val_if_fail (G_IS_FILE (location), NULL);

  base = g_file_get_basename (location);
  if (g_strcmp0 (base, MSR_PROJECT_FILE) == 0 &&
      g_file_query_file_type (location, G_FILE_QUERY_INFO_NONE, NULL) == G_FILE_TYPE_REGULAR &&
      (parent = g_file_get_parent (location)) != NULL)
    return parent;
  return g_object_ref (location);
}

LensSession *
lens_session_open (const char  *dir,
                   GError     **error)
{
  LensSession *self;
  MsrProject *project;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  project = msr_project_open (dir, error);
  if (project == NULL)
    return NULL;

  self = g_object_new (LENS_TYPE_SESSION, NULL);
  self->project = project;
  self->description = msr_project_describe_dataset (project);
  self->results_path = msr_project_get_path (project, MSR_RESULTS_FILE);
  return self;
}

MsrProject *
lens_session_get_project (LensSession *self)
{
  g_return_val_if_fail (LENS_IS_SESSION (self), NULL);
  return self->project;
}

const char *
lens_session_get_dir (LensSession *self)
{
  g_return_val_if_fail (LENS_IS_SESSION (self), NULL);
  return msr_project_get_dir (self->project);
}

const char *
lens_session_get_name (LensSession *self)
{
  g_return_val_if_fail (LENS_IS_SESSION (self), NULL);
  return msr_project_get_name (self->project);
}

const char *
lens_session_get_description (LensSession *self)
{
  g_return_val_if_fail (LENS_IS_SESSION (self), NULL);
  return self->description;
}

const MsrDataset *
lens_session_get_dataset (LensSession *self)
{
  g_return_val_if_fail (LENS_IS_SESSION (self), NULL);
  return self->dataset;
}

const MsrDatasetStats *
lens_session_get_stats (LensSession *self)
{
  g_return_val_if_fail (LENS_IS_SESSION (self), NULL);
  return self->stats;
}

double
lens_session_get_fraction (LensSession *self)
{
  g_return_val_if_fail (LENS_IS_SESSION (self), -1.0);
  return self->fraction;
}

const char *
lens_session_get_stage (LensSession *self)
{
  g_return_val_if_fail (LENS_IS_SESSION (self), NULL);
  return self->stage;
}

/* Main context: publish the latest report. */
static gboolean
dispatch_progress (gpointer data)
{
  LensSession *self = data;
  g_autofree char *stage = NULL;
  double fraction;

  g_mutex_lock (&self->progress_lock);
  fraction = self->pending_fraction;
  stage = g_steal_pointer (&self->pending_stage);
  self->dispatch_queued = FALSE;
  g_mutex_unlock (&self->progress_lock);

  g_object_freeze_notify (G_OBJECT (self));
  if (fraction != self->fraction)
    {
      self->fraction = fraction;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRACTION]);
    }
  if (stage != NULL && g_strcmp0 (stage, self->stage) != 0)
    {
      g_free (self->stage);
      self->stage = g_steal_pointer (&stage);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STAGE]);
    }
  g_object_thaw_notify (G_OBJECT (self));

  return G_SOURCE_REMOVE;
}

/* Worker thread: remember the report, queue at most one dispatch. */
static void
on_engine_progress (double      fraction,
                    const char *stage,
                    gpointer    user_data)
{
  LensSession *self = user_data;
  gboolean queue;

  g_mutex_lock (&self->progress_lock);
  self->pending_fraction = CLAMP (fraction, -1.0, 1.0);
  if (stage != NULL)
    {
      g_free (self->pending_stage);
      self->pending_stage = g_strdup (stage);
    }
  queue = !self->dispatch_queued;
  self->dispatch_queued = TRUE;
  g_mutex_unlock (&self->progress_lock);

  if (queue)
    g_main_context_invoke_full (self->progress_context, G_PRIORITY_DEFAULT,
                                dispatch_progress, g_object_ref (self),
                                g_object_unref);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LensSession *self = source_object;
  g_autoptr(GError) error = NULL;
  LoadResult *result;
  MsrDataset *dataset;

  dataset = msr_project_load_dataset (self->project, on_engine_progress, self,
                                      cancellable, &error);
  if (dataset == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  result = g_new0 (LoadResult, 1);
  result->dataset = dataset;
  if (g_task_return_error_if_cancelled (task))
    {
      load_result_free (result);
      return;
    }

  on_engine_progress (-1.0, "Computing statistics", self);
  result->stats = msr_dataset_compute_stats (dataset, MSR_SPLIT_MASK_ALL);
  g_task_return_pointer (task, result, load_result_free);
}

void
lens_session_load_async (LensSession         *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (LENS_IS_SESSION (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lens_session_load_async);
  g_task_set_name (task, "[msrlens] load dataset");
  /* A cancelled load must not report success just because it finished. */
  g_task_set_return_on_cancel (task, FALSE);
  g_task_set_check_cancellable (task, TRUE);

  if (self->loading)
    {
      g_task_set_task_data (task, (gpointer) &already_loading, NULL);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               "%s: the dataset is already being loaded",
                               lens_session_get_dir (self));
      return;
    }

  self->loading = TRUE;
  g_clear_pointer (&self->progress_context, g_main_context_unref);
  self->progress_context = g_main_context_ref_thread_default ();
  g_task_run_in_thread (task, load_thread);
}

gboolean
lens_session_load_finish (LensSession   *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  LoadResult *loaded;

  g_return_val_if_fail (LENS_IS_SESSION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == lens_session_load_async, FALSE);

  loaded = g_task_propagate_pointer (G_TASK (result), error);
  if (loaded == NULL)
    {
      /* A refused second load must not end the one still running. */
      if (g_task_get_task_data (G_TASK (result)) != &already_loading)
        self->loading = FALSE;
      return FALSE;
    }

  self->loading = FALSE;
  g_clear_pointer (&self->stats, msr_dataset_stats_free);
  g_clear_pointer (&self->dataset, msr_dataset_free);
  self->dataset = g_steal_pointer (&loaded->dataset);
  self->stats = g_steal_pointer (&loaded->stats);
  load_result_free (loaded);
  return TRUE;
}

/* ---- runs -------------------------------------------------------------- */

const char *
lens_session_get_results_path (LensSession *self)
{
  return self->results_path;
}

static void
runs_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  const char *path = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (lens_run_free);

  /* No store yet: no runs, not an error. */
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_task_return_pointer (task, g_steal_pointer (&out), (GDestroyNotify) g_ptr_array_unref);
      return;
    }
  g_autoptr(MsrResults) results = msr_results_open (path, MSR_RESULTS_READ_ONLY, &error);
  g_autoptr(GPtrArray) infos = results ? msr_results_list_runs (results, &error) : NULL;
  if (infos == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* The LensRuns take over the infos, in order. */
  g_ptr_array_set_free_func (infos, NULL);
  for (guint i = 0; i < infos->len; i++)
    {
      LensRun *r = g_new0 (LensRun, 1);
      r->info = g_ptr_array_index (infos, i);
      g_ptr_array_add (out, r);
    }
  for (guint i = 0; i < out->len; i++)
    {
      LensRun *r = g_ptr_array_index (out, i);
      if (r->info->has_metrics && (r->metrics = msr_results_get_metrics (results, r->info->id, &error)) == NULL)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      r->epochs = r->info->n_epochs ? msr_results_get_epochs (results, r->info->id, &error)
                                    : g_ptr_array_new ();
      if (r->epochs == NULL)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
    }
  g_task_return_pointer (task, g_steal_pointer (&out), (GDestroyNotify) g_ptr_array_unref);
}

static void
select_defaults (LensSession *self)
{
  /* The newest evaluation run of each architecture, oldest first. */
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_array_set_size (self->selection, 0);
  for (guint i = 0; i < self->runs->len; i++)
    {
      LensRun *r = g_ptr_array_index (self->runs, i);
      if (g_strcmp0 (r->info->kind, "eval") != 0 || r->metrics == NULL || r->info->architecture == NULL ||
          g_hash_table_contains (seen, r->info->architecture))
        continue;
      g_hash_table_add (seen, r->info->architecture);
      g_array_prepend_val (self->selection, r->info->id);
    }
}

static void
on_runs_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LensSession *self = LENS_SESSION (source);
  guint serial = GPOINTER_TO_UINT (user_data);
  g_autoptr(GError) error = NULL;
  GPtrArray *runs = g_task_propagate_pointer (G_TASK (result), &error);

  if (serial != self->refresh_serial)
    {
      /* A newer refresh is on its way. */
      g_clear_pointer (&runs, g_ptr_array_unref);
      return;
    }
  if (runs == NULL)
    {
      g_signal_emit (self, signals[SIGNAL_ERROR], 0, error->message);
      return;
    }
  g_ptr_array_unref (self->runs);
  self->runs = runs;
  /* Keep the selected runs that still exist. */
  for (guint i = self->selection->len; i-- > 0;)
    if (lens_session_find_run (self, g_array_index (self->selection, gint64, i)) == NULL)
      g_array_remove_index (self->selection, i);
  const gboolean defaults = self->selection->len == 0;
  if (defaults)
    select_defaults (self);
  g_signal_emit (self, signals[SIGNAL_RUNS_CHANGED], 0);
  if (defaults)
    g_signal_emit (self, signals[SIGNAL_SELECTION_CHANGED], 0);
}

void
lens_session_refresh_runs (LensSession *self)
{
  g_return_if_fail (LENS_IS_SESSION (self));
  g_autoptr(GTask) task = g_task_new (self, NULL, on_runs_loaded, GUINT_TO_POINTER (++self->refresh_serial));
  g_task_set_source_tag (task, lens_session_refresh_runs);
  g_task_set_name (task, "[msrlens] read runs");
  g_task_set_task_data (task, g_strdup (self->results_path), g_free);
  g_task_run_in_thread (task, runs_thread);
}

GPtrArray *
lens_session_get_runs (LensSession *self)
{
  return self->runs;
}

const LensRun *
lens_session_find_run (LensSession *self, gint64 id)
{
  for (guint i = 0; i < self->runs->len; i++)
    {
      LensRun *r = g_ptr_array_index (self->runs, i);
      if (r->info->id == id)
        return r;
    }
  return NULL;
}

const LensRun *
lens_session_find_training_run (LensSession *self, const LensRun *eval_run)
{
  if (eval_run->info->model_sha256 == NULL)
    return NULL;
  for (guint i = 0; i < self->runs->len; i++)
    {
      LensRun *r = g_ptr_array_index (self->runs, i);
      if (g_strcmp0 (r->info->kind, "train") == 0 &&
          g_strcmp0 (r->info->model_sha256, eval_run->info->model_sha256) == 0)
        return r;
    }
  return NULL;
}

GArray *
lens_session_get_selection (LensSession *self)
{
  return self->selection;
}

void
lens_session_set_selection (LensSession *self, const gint64 *ids, guint n)
{
  g_array_set_size (self->selection, 0);
  g_array_append_vals (self->selection, ids, n);
  g_signal_emit (self, signals[SIGNAL_SELECTION_CHANGED], 0);
}

gboolean
lens_session_is_simulated (LensSession *self)
{
  return msr_sim_project_is_simulated (msr_project_get_dir (self->project));
}

char *
lens_run_get_label (const LensRun *run)
{
  g_return_val_if_fail (run != NULL && run->info != NULL, NULL);
  const MsrRunInfo *info = run->info;
  const char *what = info->architecture ? info->architecture : info->kind ? info->kind : "run";
  g_autofree char *default_name = msr_results_default_run_name (info);
  if (info->name != NULL && info->name[0] != '\0' && g_strcmp0 (info->name, default_name) != 0)
    return g_strdup_printf ("%s · %s", what, info->name);
  return g_strdup_printf ("%s · #%" G_GINT64_FORMAT, what, info->id);
}

/* lens-window.c: a window showing one project.
 *
 * The content is a stack of pages: greeter, loading, summary (the seed of
 * the Overview page; later a sidebar of pages) and error. Opening a project
 * reads its description on the main thread, then LensSession loads the
 * dataset in a worker thread; this file only switches pages and shows what
 * the session reports. */
#include "config.h"

#include "lens-window.h"
#include "lens-ui.h"
#include "msr-demo.h"

#include <math.h>

struct _LensWindow
{
  AdwApplicationWindow parent_instance;

  LensSession        *session;
  GCancellable       *cancellable;
  GFile              *project_dir;
  char               *error_message;
  GSettings          *settings;

  /* template children */
  AdwWindowTitle     *window_title;
  GtkStack           *stack;
  GtkSpinner         *loading_spinner;
  GtkLabel           *loading_stage_label;
  GtkProgressBar     *loading_progress;
  LensDatasetSummary *summary;
  AdwStatusPage      *error_page;
};

G_DEFINE_FINAL_TYPE (LensWindow, lens_window, ADW_TYPE_APPLICATION_WINDOW)

static void
lens_window_set_page (LensWindow *self,
                      const char *name)
{
  gboolean loading = g_str_equal (name, "loading");

  gtk_stack_set_visible_child_name (self->stack, name);
  if (loading)
    gtk_spinner_start (self->loading_spinner);
  else
    gtk_spinner_stop (self->loading_spinner);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-load", loading);
}

static void
lens_window_set_titles (LensWindow *self,
                        const char *title,
                        const char *subtitle)
{
  adw_window_title_set_title (self->window_title, title);
  adw_window_title_set_subtitle (self->window_title, subtitle ? subtitle : "");
  gtk_window_set_title (GTK_WINDOW (self), title);
}

static void
on_session_progress (LensWindow *self)
{
  double fraction = lens_session_get_fraction (self->session);
  const char *stage = lens_session_get_stage (self->session);

  gtk_label_set_text (self->loading_stage_label, stage ? stage : "");
  /* An unknown total leaves only the spinner. */
  gtk_widget_set_visible (GTK_WIDGET (self->loading_progress), fraction >= 0.0);
  if (fraction >= 0.0)
    gtk_progress_bar_set_fraction (self->loading_progress, fraction);
}

static void
lens_window_set_session (LensWindow  *self,
                         LensSession *session)
{
  if (self->session == session)
    return;
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_set_object (&self->session, session);
  if (session != NULL)
    {
      g_signal_connect_swapped (session, "notify::fraction",
                                G_CALLBACK (on_session_progress), self);
      g_signal_connect_swapped (session, "notify::stage",
                                G_CALLBACK (on_session_progress), self);
    }
}

static void
lens_window_cancel_load (LensWindow *self)
{
  if (self->cancellable != NULL)
    {
      g_cancellable_cancel (self->cancellable);
      g_clear_object (&self->cancellable);
    }
}

static void
lens_window_show_error_titled (LensWindow *self,
                               const char *title,
                               const char *message)
{
  g_autofree char *markup = g_markup_escape_text (message, -1);

  adw_status_page_set_title (self->error_page, title);
  g_free (self->error_message);
  self->error_message = g_strdup (message);
  adw_status_page_set_description (self->error_page, markup);
  lens_window_set_session (self, NULL);
  lens_window_set_page (self, "error");
}

static void
lens_window_show_error (LensWindow *self,
                        const char *message)
{
  lens_window_show_error_titled (self, "Could Not Open the Project", message);
}

static void
lens_window_show_greeter (LensWindow *self)
{
  lens_window_set_session (self, NULL);
  g_clear_object (&self->project_dir);
  g_clear_pointer (&self->error_message, g_free);
  lens_dataset_summary_set_dataset (self->summary, NULL, NULL);
  lens_window_set_titles (self, MSR_APP_NAME, NULL);
  lens_window_set_page (self, "greeter");
}

static void
lens_window_add_recent (LensWindow *self)
{
  g_autofree char *uri = g_file_get_uri (self->project_dir);
  GtkRecentData data = {
    .display_name = (char *) lens_session_get_name (self->session),
    .description = (char *) lens_session_get_description (self->session),
    .mime_type = (char *) "inode/directory",
    .app_name = (char *) MSR_APP_NAME,
    .app_exec = (char *) "msrlens %u",
  };

  gtk_recent_manager_add_full (gtk_recent_manager_get_default (), uri, &data);
}

static void
on_load_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  LensSession *session = LENS_SESSION (source);
  g_autoptr(LensWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = lens_session_load_finish (session, result, &error);

  /* Cancelled, superseded by another project, or the window was closed:
   * the window has moved on already. */
  if (session != self->session)
    return;

  g_clear_object (&self->cancellable);
  if (!ok)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        lens_window_show_greeter (self);
      else
        lens_window_show_error (self, error->message);
      return;
    }

  lens_dataset_summary_set_dataset (self->summary,
                                    lens_session_get_dataset (session),
                                    lens_session_get_stats (session));
  lens_window_add_recent (self);
  lens_window_set_page (self, "summary");
}

void
lens_window_open_project (LensWindow *self,
                          GFile      *location)
{
  g_autoptr(GFile) dir = NULL;
  g_autoptr(LensSession) session = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *basename = NULL;

  g_return_if_fail (LENS_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (location));

  lens_window_cancel_load (self);
  lens_window_set_session (self, NULL);
  lens_dataset_summary_set_dataset (self->summary, NULL, NULL);
  g_clear_pointer (&self->error_message, g_free);

  dir = lens_session_resolve_dir (location);
  g_set_object (&self->project_dir, dir);
  path = g_file_get_path (dir);
  basename = g_file_get_basename (dir);
  lens_window_set_titles (self, basename ? basename : MSR_APP_NAME, NULL);

  if (path == NULL)
    {
      g_autofree char *uri = g_file_get_uri (dir);
      g_autofree char *message = g_strdup_printf ("%s: not a local folder", uri);

      lens_window_show_error (self, message);
      return;
    }

  session = lens_session_open (path, &error);
  if (session == NULL)
    {
      lens_window_show_error (self, error->message);
      return;
    }

  lens_window_set_session (self, session);
  lens_window_set_titles (self, lens_session_get_name (session),
                          lens_session_get_description (session));
  gtk_label_set_text (self->loading_stage_label, "Reading the dataset");
  gtk_widget_set_visible (GTK_WIDGET (self->loading_progress), FALSE);
  lens_window_set_page (self, "loading");

  /* The application is not held for the load: closing the last window
   * ends the process even if a read is stuck (a slow network share). */
  self->cancellable = g_cancellable_new ();
  lens_session_load_async (session, self->cancellable, on_load_done, g_object_ref (self));
}

/* ---- the demo ------------------------------------------------------------ */

/* A progress report from the demo's worker thread, applied on the main
 * context. Reports are thinned in the worker (new stage, or a step of at
 * least 1%) so a download cannot flood the main loop. */
typedef struct {
  LensWindow   *self;
  GCancellable *cancellable;
  double        fraction;
  char         *stage;
} DemoReport;

typedef struct {
  LensWindow   *self;
  GCancellable *cancellable;
  double        last_fraction;
  char         *last_stage;
} DemoWorker;

static void
demo_report_free (gpointer data)
{
  DemoReport *report = data;

  g_object_unref (report->self);
  g_object_unref (report->cancellable);
  g_free (report->stage);
  g_free (report);
}

static gboolean
demo_report_apply (gpointer data)
{
  DemoReport *report = data;
  LensWindow *self = report->self;

  /* A report from a demo run that was cancelled or replaced is stale. */
  if (self->cancellable != report->cancellable)
    return G_SOURCE_REMOVE;
  gtk_label_set_text (self->loading_stage_label, report->stage ? report->stage : "");
  gtk_widget_set_visible (GTK_WIDGET (self->loading_progress), report->fraction >= 0.0);
  if (report->fraction >= 0.0)
    gtk_progress_bar_set_fraction (self->loading_progress, report->fraction);
  return G_SOURCE_REMOVE;
}

static void
demo_progress (double fraction, const char *stage, gpointer user_data)
{
  DemoWorker *worker = user_data;
  DemoReport *report;

  if (g_strcmp0 (stage, worker->last_stage) == 0 && fabs (fraction - worker->last_fraction) < 0.01)
    return;
  g_free (worker->last_stage);
  worker->last_stage = g_strdup (stage);
  worker->last_fraction = fraction;

  report = g_new0 (DemoReport, 1);
  report->self = g_object_ref (worker->self);
  report->cancellable = g_object_ref (worker->cancellable);
  report->fraction = fraction;
  report->stage = g_strdup (stage);
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, demo_report_apply, report, demo_report_free);
}

static void
demo_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  const char *movielens_dir = task_data;
  DemoWorker worker = { source_object, cancellable, -2.0, NULL };
  GError *error = NULL;
  char *dir;

  dir = msr_demo_prepare (movielens_dir, demo_progress, &worker, cancellable, &error);
  g_free (worker.last_stage);
  if (dir == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, dir, g_free);
}

static void
on_demo_ready (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  LensWindow *self = LENS_WINDOW (source);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_task_propagate_pointer (G_TASK (result), &error);

  /* Cancelled or replaced meanwhile: the window has moved on. */
  if (g_task_get_cancellable (G_TASK (result)) != self->cancellable)
    return;
  g_clear_object (&self->cancellable);
  if (dir == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        lens_window_show_greeter (self);
      else
        lens_window_show_error_titled (self, "Could Not Build the Demo", error->message);
      return;
    }
  g_autoptr(GFile) location = g_file_new_for_path (dir);
  lens_window_open_project (self, location);
}

void
lens_window_open_demo (LensWindow *self,
                       const char *movielens_dir)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (LENS_IS_WINDOW (self));

  lens_window_cancel_load (self);
  lens_window_set_session (self, NULL);
  lens_dataset_summary_set_dataset (self->summary, NULL, NULL);
  g_clear_pointer (&self->error_message, g_free);
  g_clear_object (&self->project_dir);
  lens_window_set_titles (self, "Demo", "MovieLens-100K, genre scenarios");
  gtk_label_set_text (self->loading_stage_label, "Preparing the demo project");
  gtk_widget_set_visible (GTK_WIDGET (self->loading_progress), FALSE);
  lens_window_set_page (self, "loading");

  self->cancellable = g_cancellable_new ();
  task = g_task_new (self, self->cancellable, on_demo_ready, NULL);
  g_task_set_source_tag (task, lens_window_open_demo);
  g_task_set_task_data (task, g_strdup (movielens_dir), g_free);
  g_task_run_in_thread (task, demo_thread);
}

static gboolean
on_drop (LensWindow   *self,
         const GValue *value,
         double        x,
         double        y)
{
  GdkFileList *list = g_value_get_boxed (value);
  g_autoptr(GSList) files = list ? gdk_file_list_get_files (list) : NULL;

  if (files == NULL)
    return FALSE;
  lens_window_open_project (self, files->data);
  return TRUE;
}

static void
close_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *param)
{
  gtk_window_close (GTK_WINDOW (widget));
}

static void
cancel_load_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  LensWindow *self = LENS_WINDOW (widget);

  /* Back to the greeter at once, even if the worker is stuck in a read;
   * its result is ignored when it comes (the session is no longer ours). */
  lens_window_cancel_load (self);
  lens_window_show_greeter (self);
}

static void
lens_window_save_state (LensWindow *self)
{
  int width = 0, height = 0;

  if (self->settings == NULL)
    return;
  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_settings_delay (self->settings);
  if (width > 0 && height > 0)
    {
      g_settings_set_int (self->settings, "window-width", width);
      g_settings_set_int (self->settings, "window-height", height);
    }
  g_settings_set_boolean (self->settings, "window-maximized",
                          gtk_window_is_maximized (GTK_WINDOW (self)));
  g_settings_apply (self->settings);
}

static gboolean
lens_window_close_request (GtkWindow *window)
{
  LensWindow *self = LENS_WINDOW (window);

  lens_window_save_state (self);
  lens_window_cancel_load (self);

  return GTK_WINDOW_CLASS (lens_window_parent_class)->close_request (window);
}

/* Restores the size saved by lens_window_save_state. */
static void
lens_window_restore_state (LensWindow *self)
{
  if (self->settings == NULL)
    return;
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
}

static void
lens_window_dispose (GObject *object)
{
  LensWindow *self = LENS_WINDOW (object);

  lens_window_cancel_load (self);
  lens_window_set_session (self, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), LENS_TYPE_WINDOW);

  G_OBJECT_CLASS (lens_window_parent_class)->dispose (object);
}

static void
lens_window_finalize (GObject *object)
{
  LensWindow *self = LENS_WINDOW (object);

  g_clear_object (&self->project_dir);
  g_clear_object (&self->settings);
  g_free (self->error_message);

  G_OBJECT_CLASS (lens_window_parent_class)->finalize (object);
}

static void
lens_window_class_init (LensWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  lens_ui_ensure_resources ();
  g_type_ensure (LENS_TYPE_DATASET_SUMMARY);

  object_class->dispose = lens_window_dispose;
  object_class->finalize = lens_window_finalize;
  window_class->close_request = lens_window_close_request;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               MSR_RESOURCE_PATH "/ui/lens-window.ui");
  gtk_widget_class_bind_template_child (widget_class, LensWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, loading_stage_label);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, loading_progress);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, summary);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, error_page);

  gtk_widget_class_install_action (widget_class, "win.close", NULL, close_action);
  gtk_widget_class_install_action (widget_class, "win.cancel-load", NULL, cancel_load_action);
}

static void
lens_window_init (LensWindow *self)
{
  GtkDropTarget *target;

  gtk_widget_init_template (GTK_WIDGET (self));

  target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect_swapped (target, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));

  lens_window_set_page (self, "greeter");
}

LensWindow *
lens_window_new (GtkApplication *application,
                 GSettings      *settings)
{
  LensWindow *self;

  g_return_val_if_fail (GTK_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (settings == NULL || G_IS_SETTINGS (settings), NULL);

  self = g_object_new (LENS_TYPE_WINDOW, "application", application, NULL);
  if (settings != NULL)
    {
      self->settings = g_object_ref (settings);
      lens_window_restore_state (self);
    }
  return self;
}

GFile *
lens_window_get_project_dir (LensWindow *self)
{
  g_return_val_if_fail (LENS_IS_WINDOW (self), NULL);
  return self->project_dir;
}

LensSession *
lens_window_get_session (LensWindow *self)
{
  g_return_val_if_fail (LENS_IS_WINDOW (self), NULL);
  return self->session;
}

gboolean
lens_window_is_empty (LensWindow *self)
{
  const char *page;

  g_return_val_if_fail (LENS_IS_WINDOW (self), FALSE);
  page = lens_window_get_visible_page (self);
  return g_strcmp0 (page, "greeter") == 0 || g_strcmp0 (page, "error") == 0;
}

const char *
lens_window_get_visible_page (LensWindow *self)
{
  g_return_val_if_fail (LENS_IS_WINDOW (self), NULL);
  return gtk_stack_get_visible_child_name (self->stack);
}

const char *
lens_window_get_error_message (LensWindow *self)
{
  g_return_val_if_fail (LENS_IS_WINDOW (self), NULL);
  return self->error_message;
}

LensDatasetSummary *
lens_window_get_dataset_summary (LensWindow *self)
{
  g_return_val_if_fail (LENS_IS_WINDOW (self), NULL);
  return self->summary;
}

AdwWindowTitle *
lens_window_get_title_widget (LensWindow *self)
{
  g_return_val_if_fail (LENS_IS_WINDOW (self), NULL);
  return self->window_title;
}

/* lens-window.c: a window showing one project.
 *
 * The content is a stack: greeter, loading, the workbench (a sidebar of
 * pages over one LensSession) and error. Opening a project
 * reads its description on the main thread, then LensSession loads the
 * dataset in a worker thread; this file only switches pages and shows what
 * the session reports. */
#include "config.h"

#include <string.h>

#include "lens-window.h"
#include "lens-export.h"
#include "lens-backbones-page.h"
#include "lens-correlations-page.h"
#include "lens-meta-page.h"
#include "lens-users-page.h"
#include "lens-overview-page.h"
#include "lens-runs-page.h"
#include "lens-seesaw-page.h"
#include "lens-train-page.h"
#include "lens-page.h"
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
  GtkLabel           *loading_title_label;
  GtkLabel           *loading_stage_label;
  GtkProgressBar     *loading_progress;
  AdwStatusPage      *error_page;
  GtkListBox         *sidebar;
  GtkStack           *pages_stack;
  GtkWidget          *banner_revealer;
  GtkWidget          *banner_box;
  GtkLabel           *banner_label;
  GtkWidget          *export_button;
  GtkListBox         *recent_list;
  GtkWidget          *recent_group;

  GPtrArray          *pages;        /* LensPage*, in sidebar order */
  char               *pending_note; /* shown in the banner once the project opens */
  LensOverviewPage   *overview;
};

static void show_page_action (GtkWidget *widget, const char *action_name, GVariant *param);
static void dismiss_banner_action (GtkWidget *widget, const char *action_name, GVariant *param);

/* The workbench's pages, in sidebar order (Ctrl+1 ... Ctrl+n). */
typedef struct {
  const char *name;
  const char *title;
  const char *icon;
  GtkWidget *(*create) (void);
} PageInfo;

static const PageInfo page_infos[] = {
  { "overview", "Overview", "view-grid-symbolic", lens_overview_page_new },
  { "backbones", "Backbones", "view-app-grid-symbolic", lens_backbones_page_new },
  { "seesaw", "Seesaw", "object-flip-vertical-symbolic", lens_seesaw_page_new },
  { "correlations", "Scenario Correlations", "network-workgroup-symbolic", lens_correlations_page_new },
  { "meta", "Meta Weights", "applications-science-symbolic", lens_meta_page_new },
  { "users", "Users", "avatar-default-symbolic", lens_users_page_new },
  { "runs", "Runs", "view-list-symbolic", lens_runs_page_new },
  { "train", "Train", "media-playback-start-symbolic", lens_train_page_new },
};

G_DEFINE_FINAL_TYPE (LensWindow, lens_window, ADW_TYPE_APPLICATION_WINDOW)

static void
lens_window_set_page (LensWindow *self,
                      const char *name)
{
  gboolean loading = g_str_equal (name, "loading");

  gtk_stack_set_visible_child_name (self->stack, name);
  gtk_widget_set_visible (self->export_button, g_str_equal (name, "workbench"));
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
lens_window_set_pages_session (LensWindow *self, LensSession *session)
{
  for (guint i = 0; i < self->pages->len; i++)
    lens_page_set_session (g_ptr_array_index (self->pages, i), session);
}

/* The banner above the pages: problems a page or the session reports, and
 * notes such as "this world is simulated". */
static void
lens_window_show_banner (LensWindow *self, const char *message, gboolean is_error)
{
  gtk_label_set_use_markup (self->banner_label, FALSE);
  gtk_label_set_text (self->banner_label, message);
  if (is_error)
    {
      gtk_widget_add_css_class (self->banner_box, "error");
      gtk_widget_remove_css_class (self->banner_box, "info");
    }
  else
    {
      gtk_widget_add_css_class (self->banner_box, "info");
      gtk_widget_remove_css_class (self->banner_box, "error");
    }
  gtk_widget_set_visible (self->banner_revealer, TRUE);
}

/* The banner with a link: "msrlens:PAGE" links show that page. */
static void
lens_window_show_banner_markup (LensWindow *self, const char *markup)
{
  gtk_label_set_markup (self->banner_label, markup);
  gtk_widget_add_css_class (self->banner_box, "info");
  gtk_widget_remove_css_class (self->banner_box, "error");
  gtk_widget_set_visible (self->banner_revealer, TRUE);
}

static gboolean
on_banner_link (LensWindow *self, const char *uri)
{
  if (!g_str_has_prefix (uri, "msrlens:"))
    return FALSE;
  lens_window_show_page (self, uri + strlen ("msrlens:"));
  return TRUE;
}

static void
on_report_error (LensWindow *self, const char *message)
{
  lens_window_show_banner (self, message, TRUE);
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
  lens_window_set_pages_session (self, NULL);
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

  g_signal_connect_object (session, "error", G_CALLBACK (on_report_error), self, G_CONNECT_SWAPPED);
  lens_window_set_pages_session (self, session);
  lens_session_refresh_runs (session);
  lens_window_add_recent (self);
  gtk_widget_set_visible (self->banner_revealer, FALSE);
  if (lens_session_is_simulated (session))
    {
      /* What the world is first; why the demo fell back to it after. */
      g_autofree char *note = self->pending_note ? g_markup_escape_text (self->pending_note, -1) : NULL;
      g_autofree char *text = g_strdup_printf (
          "This project is a simulated world: its data were generated from a seed with a planted "
          "scenario-correlation structure and planted per-scenario difficulty, so what the models learn can "
          "be checked against the truth: <a href=\"msrlens:planted-truth\">Planted Truth</a> on the "
          "Overview.%s%s",
          note ? "\n" : "", note ? note : "");
      lens_window_show_banner_markup (self, text);
    }
  else if (self->pending_note != NULL)
    {
      /* e.g. the MovieLens demo built without LLM knowledge */
      g_autofree char *note = g_markup_escape_text (self->pending_note, -1);
      lens_window_show_banner_markup (self, note);
    }
  g_clear_pointer (&self->pending_note, g_free);
  lens_window_set_page (self, "workbench");
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
  lens_window_set_pages_session (self, NULL);
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
  gtk_label_set_text (self->loading_title_label, "Loading Dataset");
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

  char *note = NULL;
  /* The knowledge folder comes from --knowledge (which sets MSR_KNOWLEDGE_DIR) or the environment. */
  dir = msr_demo_prepare (movielens_dir, NULL, &note, demo_progress, &worker, cancellable, &error);
  g_free (worker.last_stage);
  if (dir == NULL)
    g_task_return_error (task, error);
  else
    {
      /* The note travels with the result: "dir\0note". */
      g_object_set_data_full (G_OBJECT (task), "note", note, g_free);
      g_task_return_pointer (task, dir, g_free);
    }
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
  g_free (self->pending_note);
  self->pending_note = g_strdup (g_object_get_data (G_OBJECT (result), "note"));
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
  lens_window_set_pages_session (self, NULL);
  g_clear_pointer (&self->error_message, g_free);
  g_clear_object (&self->project_dir);
  lens_window_set_titles (self, "Demo", "MovieLens-100K, genre scenarios");
  gtk_label_set_text (self->loading_title_label, "Building the Demo");
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
  /* A model file dropped on an open project is scored on its test split. */
  g_autofree char *base = g_file_get_basename (files->data);
  if (self->session != NULL && base != NULL && g_str_has_suffix (base, ".safetensors") &&
      g_strcmp0 (lens_window_get_visible_page (self), "workbench") == 0)
    {
      lens_window_show_page (self, "train");
      lens_train_page_evaluate_model (LENS_TRAIN_PAGE (lens_window_get_page (self, "train")), files->data);
      return TRUE;
    }
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


/* ---- pages, export and copy ----------------------------------------------- */

void
lens_window_show_page (LensWindow *self, const char *name)
{
  g_return_if_fail (LENS_IS_WINDOW (self));
  /* Not a page of its own: the Overview, scrolled to the section. */
  if (g_strcmp0 (name, "planted-truth") == 0)
    {
      lens_window_show_page (self, "overview");
      lens_overview_page_reveal_truth (LENS_OVERVIEW_PAGE (lens_window_get_page (self, "overview")));
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (page_infos); i++)
    if (g_strcmp0 (page_infos[i].name, name) == 0)
      {
        gtk_list_box_select_row (self->sidebar, gtk_list_box_get_row_at_index (self->sidebar, (int) i));
        return;
      }
}

GtkWidget *
lens_window_get_page (LensWindow *self, const char *name)
{
  g_return_val_if_fail (LENS_IS_WINDOW (self), NULL);
  return gtk_stack_get_child_by_name (self->pages_stack, name);
}

const char *
lens_window_get_banner (LensWindow *self)
{
  return gtk_widget_get_visible (self->banner_revealer) ? gtk_label_get_text (self->banner_label) : NULL;
}

static void
export_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  LensWindow *self = LENS_WINDOW (widget);
  LensPage *page = LENS_PAGE (gtk_stack_get_visible_child (self->pages_stack));
  if (page == NULL || !gtk_widget_get_visible (GTK_WIDGET (self->export_button)) ||
      g_strcmp0 (lens_window_get_visible_page (self), "workbench") != 0)
    return;
  LensChart *chart = lens_page_get_chart (page);
  LensTable *table = lens_page_get_table (page);
  if (chart == NULL && table == NULL)
    return;
  g_autofree char *stem = g_strdup_printf ("%s-%s", lens_session_get_name (self->session),
                                           gtk_stack_get_visible_child_name (self->pages_stack));
  lens_export_ask (GTK_WINDOW (self), stem, chart, table);
}

static void
copy_table_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  LensWindow *self = LENS_WINDOW (widget);
  LensPage *page = LENS_PAGE (gtk_stack_get_visible_child (self->pages_stack));
  if (page && lens_page_get_table (page) && g_strcmp0 (lens_window_get_visible_page (self), "workbench") == 0)
    lens_table_copy_to_clipboard (lens_page_get_table (page));
}

/* ---- recent projects ---------------------------------------------------- */

static void
on_recent_activated (LensWindow *self, GtkListBoxRow *row)
{
  const char *uri = g_object_get_data (G_OBJECT (row), "uri");
  g_autoptr(GFile) file = g_file_new_for_uri (uri);
  lens_window_open_project (self, file);
}

void
lens_window_refresh_recent (LensWindow *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->recent_list))) != NULL)
    gtk_list_box_remove (self->recent_list, child);
  GList *items = gtk_recent_manager_get_items (gtk_recent_manager_get_default ());
  guint shown = 0;
  for (GList *l = items; l && shown < 8; l = l->next)
    {
      GtkRecentInfo *info = l->data;
      if (!gtk_recent_info_has_application (info, MSR_APP_NAME) || !gtk_recent_info_exists (info))
        continue;
      g_autoptr(GFile) dir = g_file_new_for_uri (gtk_recent_info_get_uri (info));
      g_autofree char *path = g_file_get_path (dir);
      g_autofree char *desc_file = path ? g_build_filename (path, MSR_PROJECT_FILE, NULL) : NULL;
      if (desc_file == NULL || !g_file_test (desc_file, G_FILE_TEST_EXISTS))
        continue;
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *title = g_markup_escape_text (gtk_recent_info_get_display_name (info), -1);
      g_autofree char *subtitle = g_markup_escape_text (path, -1);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("go-next-symbolic"));
      g_object_set_data_full (G_OBJECT (row), "uri", g_strdup (gtk_recent_info_get_uri (info)), g_free);
      gtk_list_box_append (self->recent_list, row);
      shown++;
    }
  g_list_free_full (items, (GDestroyNotify) gtk_recent_info_unref);
  gtk_widget_set_visible (self->recent_group, shown > 0);
}

static void
lens_window_dispose (GObject *object)
{
  LensWindow *self = LENS_WINDOW (object);

  lens_window_cancel_load (self);
  lens_window_set_session (self, NULL);
  if (self->pages)
    lens_window_set_pages_session (self, NULL);
  g_clear_pointer (&self->pages, g_ptr_array_unref);
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
  g_free (self->pending_note);

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
  g_type_ensure (LENS_TYPE_OVERVIEW_PAGE);

  object_class->dispose = lens_window_dispose;
  object_class->finalize = lens_window_finalize;
  window_class->close_request = lens_window_close_request;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               MSR_RESOURCE_PATH "/ui/lens-window.ui");
  gtk_widget_class_bind_template_child (widget_class, LensWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, loading_title_label);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, loading_stage_label);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, loading_progress);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, pages_stack);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, banner_revealer);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, banner_box);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, banner_label);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, export_button);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, recent_list);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, recent_group);
  gtk_widget_class_bind_template_child (widget_class, LensWindow, error_page);

  gtk_widget_class_install_action (widget_class, "win.close", NULL, close_action);
  gtk_widget_class_install_action (widget_class, "win.show-page", "s", show_page_action);
  gtk_widget_class_install_action (widget_class, "win.dismiss-banner", NULL, dismiss_banner_action);
  gtk_widget_class_install_action (widget_class, "win.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "win.copy-table", NULL, copy_table_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK, "win.export", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_C, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.copy-table", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (page_infos) && i < 9; i++)
    gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1 + i, GDK_CONTROL_MASK, "win.show-page", "s",
                                         page_infos[i].name);
  gtk_widget_class_install_action (widget_class, "win.cancel-load", NULL, cancel_load_action);
}

static void
on_compare_requested (LensWindow *self, gint64 run_a, gint64 run_b)
{
  lens_seesaw_page_set_pair (LENS_SEESAW_PAGE (lens_window_get_page (self, "seesaw")), run_a, run_b);
  lens_window_show_page (self, "seesaw");
}

/* A spinner on the Train row while a training or scoring runs, so the work
 * stays visible from every page. */
static void
on_train_job_running (LensWindow *self)
{
  LensJob *job = lens_train_page_get_job (LENS_TRAIN_PAGE (lens_window_get_page (self, "train")));
  for (guint i = 0; i < G_N_ELEMENTS (page_infos); i++)
    if (g_str_equal (page_infos[i].name, "train"))
      {
        GtkWidget *row = GTK_WIDGET (gtk_list_box_get_row_at_index (self->sidebar, (int) i));
        GtkWidget *spinner = g_object_get_data (G_OBJECT (row), "spinner");
        gtk_widget_set_visible (spinner, lens_job_is_running (job));
        gtk_spinner_set_spinning (GTK_SPINNER (spinner), lens_job_is_running (job));
      }
}

static void
on_sidebar_row_selected (LensWindow *self, GtkListBoxRow *row)
{
  if (row == NULL)
    return;
  const PageInfo *info = g_object_get_data (G_OBJECT (row), "page-info");
  gtk_stack_set_visible_child_name (self->pages_stack, info->name);
}

static void
on_visible_page_changed (LensWindow *self)
{
  LensPage *page = LENS_PAGE (gtk_stack_get_visible_child (self->pages_stack));
  gtk_widget_set_sensitive (self->export_button,
                            page && (lens_page_get_chart (page) || lens_page_get_table (page)));
}

static GtkWidget *
sidebar_row (const PageInfo *info, guint index)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *icon = gtk_image_new_from_icon_name (info->icon);
  GtkWidget *label = gtk_label_new (info->title);
  GtkWidget *row = gtk_list_box_row_new ();
  g_autofree char *tip = g_strdup_printf ("%s (Ctrl+%u)", info->title, index + 1);

  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  gtk_widget_set_margin_top (box, 3);
  gtk_widget_set_margin_bottom (box, 3);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_box_append (GTK_BOX (box), icon);
  gtk_box_append (GTK_BOX (box), label);
  GtkWidget *spinner = gtk_spinner_new ();
  gtk_widget_set_hexpand (label, TRUE);
  gtk_widget_set_visible (spinner, FALSE);
  gtk_widget_set_tooltip_text (spinner, "Work is running");
  gtk_box_append (GTK_BOX (box), spinner);
  g_object_set_data (G_OBJECT (row), "spinner", spinner);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_widget_set_tooltip_text (row, tip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, info->title, -1);
  g_object_set_data (G_OBJECT (row), "page-info", (gpointer) info);
  return row;
}

static void
show_page_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  lens_window_show_page (LENS_WINDOW (widget), g_variant_get_string (param, NULL));
}

static void
dismiss_banner_action (GtkWidget *widget, const char *action_name, GVariant *param)
{
  gtk_widget_set_visible (LENS_WINDOW (widget)->banner_revealer, FALSE);
}

static void
lens_window_init (LensWindow *self)
{
  GtkDropTarget *target;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->pages = g_ptr_array_new ();
  for (guint i = 0; i < G_N_ELEMENTS (page_infos); i++)
    {
      GtkWidget *page = page_infos[i].create ();
      GtkStackPage *sp = gtk_stack_add_titled (self->pages_stack, page, page_infos[i].name, page_infos[i].title);
      gtk_stack_page_set_icon_name (sp, page_infos[i].icon);
      g_ptr_array_add (self->pages, page);
      g_signal_connect_swapped (page, "error", G_CALLBACK (on_report_error), self);
      gtk_list_box_append (self->sidebar, sidebar_row (&page_infos[i], i));
    }
  self->overview = LENS_OVERVIEW_PAGE (g_ptr_array_index (self->pages, 0));
  g_signal_connect_swapped (lens_window_get_page (self, "runs"), "compare-requested",
                            G_CALLBACK (on_compare_requested), self);
  LensJob *job = lens_train_page_get_job (LENS_TRAIN_PAGE (lens_window_get_page (self, "train")));
  g_signal_connect_object (job, "notify::running", G_CALLBACK (on_train_job_running), self, G_CONNECT_SWAPPED);
  g_signal_connect_swapped (self->sidebar, "row-selected", G_CALLBACK (on_sidebar_row_selected), self);
  g_signal_connect_swapped (self->banner_label, "activate-link", G_CALLBACK (on_banner_link), self);
  g_signal_connect_swapped (self->pages_stack, "notify::visible-child", G_CALLBACK (on_visible_page_changed), self);
  gtk_list_box_select_row (self->sidebar, gtk_list_box_get_row_at_index (self->sidebar, 0));

  target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect_swapped (target, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));

  g_signal_connect_swapped (self->recent_list, "row-activated", G_CALLBACK (on_recent_activated), self);
  lens_window_refresh_recent (self);
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
  return lens_overview_page_get_summary (self->overview);
}

AdwWindowTitle *
lens_window_get_title_widget (LensWindow *self)
{
  g_return_val_if_fail (LENS_IS_WINDOW (self), NULL);
  return self->window_title;
}

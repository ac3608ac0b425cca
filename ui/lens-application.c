/* lens-application.c: the MSR Lens application.
 *
 * Owns the app-wide actions and decides which window a project opens in:
 * a window already showing it, else the active window when it shows no
 * project, else a new window. */
#include "config.h"

#include "lens-application.h"
#include "lens-new-project-dialog.h"
#include "lens-session.h"
#include "lens-ui.h"
#include "lens-window.h"

struct _LensApplication
{
  AdwApplication parent_instance;

  GSettings *settings;
  gboolean   settings_looked_up;

  /* --demo on the command line, opened by activate */
  gboolean   demo_requested;
  char      *demo_movielens_dir;
  /* --page: the workbench page new windows show first */
  char      *first_page;
};

G_DEFINE_FINAL_TYPE (LensApplication, lens_application, ADW_TYPE_APPLICATION)

static LensWindow *
lens_application_new_window (LensApplication *self)
{
  LensWindow *window = lens_window_new (GTK_APPLICATION (self), lens_application_get_settings (self));
  if (self->first_page)
    lens_window_show_page (window, self->first_page);
  return window;
}

/* The active window if it is one of ours. */
static LensWindow *
lens_application_get_lens_window (LensApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (LENS_IS_WINDOW (window))
    return LENS_WINDOW (window);
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l; l = l->next)
    if (LENS_IS_WINDOW (l->data))
      return LENS_WINDOW (l->data);
  return NULL;
}

static LensWindow *
lens_application_find_window_for (LensApplication *self,
                                  GFile           *dir)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l; l = l->next)
    {
      GFile *shown;

      if (!LENS_IS_WINDOW (l->data) || lens_window_is_empty (l->data))
        continue;
      shown = lens_window_get_project_dir (l->data);
      if (shown != NULL && g_file_equal (shown, dir))
        return l->data;
    }
  return NULL;
}

static void
lens_application_activate (GApplication *app)
{
  LensApplication *self = LENS_APPLICATION (app);
  LensWindow *window = lens_application_get_lens_window (self);

  if (window == NULL)
    window = lens_application_new_window (self);
  if (self->demo_requested)
    {
      self->demo_requested = FALSE;
      g_action_group_activate_action (G_ACTION_GROUP (self), "open-demo",
                                      g_variant_new_string (self->demo_movielens_dir ? self->demo_movielens_dir : ""));
    }
  gtk_window_present (GTK_WINDOW (window));
}

static void
lens_application_open (GApplication  *app,
                       GFile        **files,
                       int            n_files,
                       const char    *hint)
{
  LensApplication *self = LENS_APPLICATION (app);

  for (int i = 0; i < n_files; i++)
    {
      g_autoptr(GFile) dir = lens_session_resolve_dir (files[i]);
      LensWindow *window = lens_application_find_window_for (self, dir);

      if (window == NULL)
        {
          window = lens_application_get_lens_window (self);
          if (window == NULL || !lens_window_is_empty (window))
            window = lens_application_new_window (self);
          lens_window_open_project (window, dir);
        }
      gtk_window_present (GTK_WINDOW (window));
    }
}

static int
lens_application_handle_local_options (GApplication *app,
                                       GVariantDict *options)
{
  LensApplication *self = LENS_APPLICATION (app);
  const char *movielens = NULL;

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("%s %s\n", MSR_APP_NAME, MSR_VERSION);
      return 0;
    }
  g_variant_dict_lookup (options, "movielens", "^&ay", &movielens);
  const char *knowledge = NULL;
  g_variant_dict_lookup (options, "knowledge", "^&ay", &knowledge);
  const char *page = NULL;
  if (g_variant_dict_lookup (options, "page", "&s", &page))
    {
      g_free (self->first_page);
      self->first_page = g_strdup (page);
    }
  if (g_variant_dict_contains (options, "demo"))
    {
      g_autofree char *dir = movielens ? g_canonicalize_filename (movielens, NULL) : NULL;
      g_autoptr(GError) error = NULL;

      if (!g_application_register (app, NULL, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      /* The demo build reads the knowledge folder from the environment;
       * set here, before any worker thread exists. */
      if (knowledge != NULL)
        {
          g_autofree char *kdir = g_canonicalize_filename (knowledge, NULL);
          g_setenv ("MSR_KNOWLEDGE_DIR", kdir, TRUE);
        }
      /* A running instance opens the demo itself. */
      if (g_application_get_is_remote (app))
        {
          if (knowledge != NULL)
            g_printerr ("MSR Lens is already running: --knowledge only reaches a new instance "
                        "(quit it, or start it with MSR_KNOWLEDGE_DIR set)\n");
          g_action_group_activate_action (G_ACTION_GROUP (app), "open-demo",
                                          g_variant_new_string (dir ? dir : ""));
          return 0;
        }
      self->demo_requested = TRUE;
      g_free (self->demo_movielens_dir);
      self->demo_movielens_dir = g_steal_pointer (&dir);
    }
  else if (movielens != NULL || knowledge != NULL)
    {
      g_printerr ("%s only applies with --demo\n", movielens ? "--movielens" : "--knowledge");
      return 2;
    }
  return -1;
}

static void
quit_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  g_autoptr(GList) windows = g_list_copy (gtk_application_get_windows (app));

  /* Closing (not destroying) lets each window save its state and cancel
   * its load; the application ends with its last window. */
  for (GList *l = windows; l; l = l->next)
    gtk_window_close (l->data);
}

static void
about_action (GSimpleAction *action,
              GVariant      *param,
              gpointer       user_data)
{
  LensApplication *self = LENS_APPLICATION (user_data);
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  const char *developers[] = { "MSR Lens developers", NULL };
  GtkWindow *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", parent,
                        "modal", parent != NULL,
                        "application-name", MSR_APP_NAME,
                        "application-icon", MSR_APP_ID,
                        "version", MSR_VERSION,
                        "developer-name", "MSR Lens developers",
                        "developers", developers,
                        "copyright", "© 2026 MSR Lens developers",
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "comments", "A workbench for multi-scenario click-through-rate "
                                    "recommendation models: per-scenario data, metrics "
                                    "and the knowledge an LLM adds to them.",
                        "website", "https://github.com/msrlens/MsrLens",
                        "issue-url", "https://github.com/msrlens/MsrLens/issues",
                        NULL);
  gtk_window_present (about);
}

static void
shortcuts_action (GSimpleAction *action,
                  GVariant      *param,
                  gpointer       user_data)
{
  LensApplication *self = LENS_APPLICATION (user_data);
  LensWindow *window = lens_application_get_lens_window (self);

  if (window == NULL)
    {
      window = lens_application_new_window (self);
      gtk_window_present (GTK_WINDOW (window));
    }
  /* GtkApplication gives each application window the shortcuts window
   * from gtk/help-overlay.ui under the resource base path. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-help-overlay", NULL);
}

static void
on_open_response (GtkNativeDialog *dialog,
                  int              response,
                  gpointer         user_data)
{
  g_autoptr(LensApplication) self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) dir = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      if (dir != NULL)
        g_application_open (G_APPLICATION (self), &dir, 1, "");
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
open_action (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  LensApplication *self = LENS_APPLICATION (user_data);
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new ("Open Project Folder", parent,
                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                         "_Open", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (on_open_response), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* Opens the demo in an empty window (or a new one). The parameter is a
 * MovieLens-100K folder, or "" to look in the usual places. */
static void
open_demo_action (GSimpleAction *action,
                  GVariant      *param,
                  gpointer       user_data)
{
  LensApplication *self = LENS_APPLICATION (user_data);
  const char *dir = g_variant_get_string (param, NULL);
  LensWindow *window = lens_application_get_lens_window (self);

  if (window == NULL || !lens_window_is_empty (window))
    window = lens_application_new_window (self);
  lens_window_open_demo (window, dir[0] ? dir : NULL);
  gtk_window_present (GTK_WINDOW (window));
}

static void
on_project_created (LensApplication *self, const char *dir)
{
  g_autoptr(GFile) file = g_file_new_for_path (dir);
  g_application_open (G_APPLICATION (self), &file, 1, "");
}

static void
new_project_action (GSimpleAction *action,
                    GVariant      *param,
                    gpointer       user_data)
{
  LensApplication *self = LENS_APPLICATION (user_data);
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  LensNewProjectDialog *dialog = lens_new_project_dialog_new (parent);

  g_signal_connect_object (dialog, "project-created", G_CALLBACK (on_project_created), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static const GActionEntry app_actions[] = {
  { .name = "quit", .activate = quit_action },
  { .name = "about", .activate = about_action },
  { .name = "shortcuts", .activate = shortcuts_action },
  { .name = "open", .activate = open_action },
  { .name = "open-demo", .activate = open_demo_action, .parameter_type = "s" },
  { .name = "new-project", .activate = new_project_action },
};

static void
lens_application_startup (GApplication *app)
{
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *open_accels[] = { "<Control>o", NULL };
  static const char *new_accels[] = { "<Control>n", NULL };
  static const char *shortcuts_accels[] = { "F1", "<Control>question", NULL };
  static const char *close_accels[] = { "<Control>w", NULL };
  static const char *no_accels[] = { NULL };
  GtkApplication *gtk_app = GTK_APPLICATION (app);

  G_APPLICATION_CLASS (lens_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions,
                                   G_N_ELEMENTS (app_actions), app);

  gtk_application_set_accels_for_action (gtk_app, "app.quit", quit_accels);
  gtk_application_set_accels_for_action (gtk_app, "app.open", open_accels);
  gtk_application_set_accels_for_action (gtk_app, "app.new-project", new_accels);
  gtk_application_set_accels_for_action (gtk_app, "app.shortcuts", shortcuts_accels);
  gtk_application_set_accels_for_action (gtk_app, "win.close", close_accels);
  /* app.shortcuts owns Ctrl+? (GtkApplication gave it to the overlay). */
  gtk_application_set_accels_for_action (gtk_app, "win.show-help-overlay", no_accels);

  gtk_window_set_default_icon_name (MSR_APP_ID);
}

static void
lens_application_dispose (GObject *object)
{
  LensApplication *self = LENS_APPLICATION (object);

  g_clear_object (&self->settings);
  g_clear_pointer (&self->demo_movielens_dir, g_free);
  g_clear_pointer (&self->first_page, g_free);

  G_OBJECT_CLASS (lens_application_parent_class)->dispose (object);
}

static void
lens_application_class_init (LensApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  lens_ui_ensure_resources ();

  object_class->dispose = lens_application_dispose;

  app_class->startup = lens_application_startup;
  app_class->activate = lens_application_activate;
  app_class->open = lens_application_open;
  app_class->handle_local_options = lens_application_handle_local_options;
}

static void
lens_application_init (LensApplication *self)
{
  g_application_add_main_option (G_APPLICATION (self), "version", 0,
                                 G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE,
                                 "Print the version and exit", NULL);
  g_application_add_main_option (G_APPLICATION (self), "demo", 0,
                                 G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE,
                                 "Open the demo project (MovieLens-100K, genre scenarios), "
                                 "building it on first use", NULL);
  g_application_add_main_option (G_APPLICATION (self), "movielens", 0,
                                 G_OPTION_FLAG_NONE, G_OPTION_ARG_FILENAME,
                                 "With --demo: a local MovieLens-100K folder to build it from "
                                 "(or set MSR_MOVIELENS_DIR)", "DIR");
  g_application_add_main_option (G_APPLICATION (self), "knowledge", 0,
                                 G_OPTION_FLAG_NONE, G_OPTION_ARG_FILENAME,
                                 "With --demo: a folder holding the LLM-written MovieLens-100K user profiles and "
                                 "movie descriptions, so the demo also trains STAR with LLM4MSR "
                                 "(or set MSR_KNOWLEDGE_DIR)", "DIR");
  g_application_add_main_option (G_APPLICATION (self), "page", 0,
                                 G_OPTION_FLAG_NONE, G_OPTION_ARG_STRING,
                                 "The workbench page to show first: overview, backbones, seesaw, correlations, meta, users, runs, train, or planted-truth (a simulated world's Overview, scrolled to it)",
                                 "NAME");
  g_application_set_option_context_parameter_string (G_APPLICATION (self),
                                                     "[PROJECT-FOLDER…]");
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            "Open a project folder to explore its dataset.");
}

LensApplication *
lens_application_new (const char        *application_id,
                      GApplicationFlags  flags)
{
  g_return_val_if_fail (application_id == NULL || g_application_id_is_valid (application_id), NULL);

  return g_object_new (LENS_TYPE_APPLICATION,
                       "application-id", application_id,
                       "flags", flags,
                       "resource-base-path", MSR_RESOURCE_PATH,
                       NULL);
}

GSettings *
lens_application_get_settings (LensApplication *self)
{
  g_return_val_if_fail (LENS_IS_APPLICATION (self), NULL);

  if (!self->settings_looked_up)
    {
      GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
      g_autoptr(GSettingsSchema) schema = NULL;

      self->settings_looked_up = TRUE;
      if (source != NULL)
        schema = g_settings_schema_source_lookup (source, MSR_APP_ID, TRUE);
      if (schema != NULL)
        self->settings = g_settings_new_full (schema, NULL, NULL);
      else
        g_debug ("GSettings schema %s is not installed; window state will not be saved", MSR_APP_ID);
    }
  return self->settings;
}

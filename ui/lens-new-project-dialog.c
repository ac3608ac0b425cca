/* lens-new-project-dialog.c: see lens-new-project-dialog.h. */
#include "config.h"
#include "lens-new-project-dialog.h"
#include "lens-job.h"
#include "msr-csv.h"
#include "msr-fetch.h"
#include "msr-project.h"

struct _LensNewProjectDialog
{
  AdwWindow      parent_instance;

  LensJob       *job;
  GCancellable  *cancellable;
  char          *error;
  char         **columns;        /* the CSV's header */
  GPtrArray     *feature_checks; /* GtkCheckButton*, one per column */

  AdwEntryRow   *folder_row;
  AdwViewStack  *mode_stack;
  AdwEntryRow   *movielens_row;
  AdwComboRow   *scenarios_row;
  AdwComboRow   *movielens_split_row;
  AdwEntryRow   *csv_row;
  GtkWidget     *columns_group;
  AdwComboRow   *label_row, *scenario_row, *user_row, *item_row, *time_row;
  AdwExpanderRow *features_row;
  GtkSwitch     *threshold_switch;
  GtkSpinButton *threshold_spin;
  AdwComboRow   *csv_split_row;
  AdwEntryRow   *test_file_row;
  GtkSpinButton *test_fraction_spin;
  GtkSpinButton *seed_spin;
  GtkWidget     *create_button;
  GtkSpinner    *spinner;
  GtkLabel      *status_label;
};

G_DEFINE_FINAL_TYPE (LensNewProjectDialog, lens_new_project_dialog, ADW_TYPE_WINDOW)

enum { SIGNAL_PROJECT_CREATED, SIGNAL_COLUMNS_READY, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
set_status (LensNewProjectDialog *self, const char *text, gboolean is_error)
{
  gtk_label_set_text (self->status_label, text ? text : "");
  if (is_error)
    gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "error");
  if (is_error)
    {
      g_free (self->error);
      self->error = g_strdup (text);
    }
}

static void
set_busy (LensNewProjectDialog *self, gboolean busy)
{
  gtk_spinner_set_spinning (self->spinner, busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "project.create", !busy);
}

/* ---- the CSV's columns ------------------------------------------------------ */

static gpointer
read_header (LensJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  g_autoptr(MsrCsvReader) r = msr_csv_reader_open (data, 0, error);
  if (r == NULL || !msr_csv_reader_read_header (r, error))
    return NULL;
  GStrvBuilder *b = g_strv_builder_new ();
  for (guint i = 0; i < msr_csv_reader_get_n_columns (r); i++)
    g_strv_builder_add (b, msr_csv_reader_get_column_name (r, i));
  char **cols = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return cols;
}

static void
fill_combo (AdwComboRow *row, char **columns, gboolean with_none)
{
  g_autoptr(GtkStringList) list = gtk_string_list_new (NULL);
  if (with_none)
    gtk_string_list_append (list, "(none)");
  for (char **c = columns; c && *c; c++)
    gtk_string_list_append (list, *c);
  adw_combo_row_set_model (row, G_LIST_MODEL (list));
}

/* Guesses a column for a role from common names. */
static void
guess (AdwComboRow *row, char **columns, gboolean with_none, const char *const *names)
{
  for (guint i = 0; columns && columns[i]; i++)
    for (const char *const *n = names; *n; n++)
      if (g_ascii_strcasecmp (columns[i], *n) == 0)
        {
          adw_combo_row_set_selected (row, i + (with_none ? 1 : 0));
          return;
        }
}

static void
on_header_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LensNewProjectDialog *self = user_data;
  g_autoptr(GError) error = NULL;
  char **cols = lens_job_run_finish (LENS_JOB (source), result, &error);
  set_busy (self, FALSE);
  if (cols == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        set_status (self, error->message, TRUE);
      g_object_unref (self);
      return;
    }
  g_strfreev (self->columns);
  self->columns = cols;
  fill_combo (self->label_row, cols, FALSE);
  fill_combo (self->scenario_row, cols, FALSE);
  fill_combo (self->user_row, cols, FALSE);
  fill_combo (self->item_row, cols, FALSE);
  fill_combo (self->time_row, cols, TRUE);
  static const char *const labels[] = { "label", "click", "clicked", "y", "rating", NULL };
  static const char *const scenarios[] = { "scenario", "domain", "dom", "channel", NULL };
  static const char *const users[] = { "user", "user_id", "uid", "userid", NULL };
  static const char *const items[] = { "item", "item_id", "iid", "itemid", "movie_id", NULL };
  static const char *const times[] = { "time", "ts", "timestamp", "date", NULL };
  guess (self->label_row, cols, FALSE, labels);
  guess (self->scenario_row, cols, FALSE, scenarios);
  guess (self->user_row, cols, FALSE, users);
  guess (self->item_row, cols, FALSE, items);
  guess (self->time_row, cols, TRUE, times);
  for (guint i = 0; i < self->feature_checks->len; i++)
    adw_expander_row_remove (self->features_row,
                             g_object_get_data (g_ptr_array_index (self->feature_checks, i), "row"));
  g_ptr_array_set_size (self->feature_checks, 0);
  for (char **c = cols; *c; c++)
    {
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *check = gtk_check_button_new ();
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), *c);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
      adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);
      adw_expander_row_add_row (self->features_row, row);
      g_object_set_data (G_OBJECT (check), "row", row);
      g_ptr_array_add (self->feature_checks, check);
    }
  gtk_widget_set_sensitive (self->columns_group, TRUE);
  g_autofree char *msg = g_strdup_printf ("%u columns read.", g_strv_length (cols));
  set_status (self, msg, FALSE);
  g_signal_emit (self, signals[SIGNAL_COLUMNS_READY], 0);
  g_object_unref (self);
}

void
lens_new_project_dialog_set_csv (LensNewProjectDialog *self, const char *path)
{
  adw_view_stack_set_visible_child_name (self->mode_stack, "csv");
  gtk_editable_set_text (GTK_EDITABLE (self->csv_row), path);
  set_busy (self, TRUE);
  set_status (self, "Reading the header…", FALSE);
  lens_job_run_async (self->job, read_header, g_strdup (path), g_free, (GDestroyNotify) g_strfreev,
                      self->cancellable, on_header_ready, g_object_ref (self));
}

/* ---- creating ------------------------------------------------------------- */

typedef struct {
  char            *dir;
  gboolean         movielens;
  char            *data;
  char            *test_file;
  MsrMovielensScenarios framing;
  MsrCsvSchema     schema;
  MsrSplitOptions  split;
} CreateRequest;

static void
create_request_free (gpointer p)
{
  CreateRequest *r = p;
  g_free (r->dir);
  g_free (r->data);
  g_free (r->test_file);
  msr_csv_schema_clear (&r->schema);
  g_free (r);
}

static gpointer
create_project (LensJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  CreateRequest *r = data;
  const gboolean existed = g_file_test (r->dir, G_FILE_TEST_IS_DIR);
  lens_job_report (job, -1, "Checking the data…");
  g_autoptr(MsrProject) p = r->movielens
      ? msr_project_create_movielens (r->dir, r->data, r->framing, &r->split, error)
      : msr_project_create_csv (r->dir, r->data, &r->schema, &r->split, r->test_file, error);
  if (p == NULL)
    return NULL;
  g_autoptr(MsrDataset) ds = msr_project_check_new (p, existed, lens_job_progress_cb, job, cancellable, error);
  if (ds == NULL)
    return NULL;
  return g_strdup (msr_project_get_dir (p));
}

static void
on_progress (LensNewProjectDialog *self)
{
  const char *stage = lens_job_get_stage (self->job);
  if (stage)
    set_status (self, stage, FALSE);
}

static void
on_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LensNewProjectDialog *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = lens_job_run_finish (LENS_JOB (source), result, &error);
  set_busy (self, FALSE);
  if (dir == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        set_status (self, error->message, TRUE);
      g_object_unref (self);
      return;
    }
  set_status (self, NULL, FALSE);
  g_signal_emit (self, signals[SIGNAL_PROJECT_CREATED], 0, dir);
  gtk_window_close (GTK_WINDOW (self));
  g_object_unref (self);
}

static char *
selected_column (AdwComboRow *row, gboolean with_none)
{
  GtkStringObject *o = adw_combo_row_get_selected_item (row);
  if (o == NULL || (with_none && adw_combo_row_get_selected (row) == 0))
    return NULL;
  return g_strdup (gtk_string_object_get_string (o));
}

void
lens_new_project_dialog_create (LensNewProjectDialog *self)
{
  const char *dir = gtk_editable_get_text (GTK_EDITABLE (self->folder_row));
  if (dir[0] == '\0')
    {
      set_status (self, "Choose a folder for the project.", TRUE);
      return;
    }
  CreateRequest *r = g_new0 (CreateRequest, 1);
  r->dir = g_strdup (dir);
  msr_split_options_init (&r->split);
  r->split.seed = (guint64) gtk_spin_button_get_value_as_int (self->seed_spin);
  r->movielens = g_strcmp0 (adw_view_stack_get_visible_child_name (self->mode_stack), "movielens") == 0;
  if (r->movielens)
    {
      r->data = g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->movielens_row)));
      r->framing = adw_combo_row_get_selected (self->scenarios_row) == 1 ? MSR_MOVIELENS_SCENARIOS_AGE
                                                                        : MSR_MOVIELENS_SCENARIOS_GENRE;
      static const MsrSplitMethod methods[] = { MSR_SPLIT_METHOD_FILE, MSR_SPLIT_METHOD_RANDOM, MSR_SPLIT_METHOD_TIME };
      r->split.method = methods[MIN (adw_combo_row_get_selected (self->movielens_split_row), 2)];
    }
  else
    {
      r->data = g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->csv_row)));
      if (self->columns == NULL)
        {
          create_request_free (r);
          set_status (self, "Choose a CSV or TSV file first.", TRUE);
          return;
        }
      r->schema.label_column = selected_column (self->label_row, FALSE);
      r->schema.scenario_column = selected_column (self->scenario_row, FALSE);
      r->schema.user_column = selected_column (self->user_row, FALSE);
      r->schema.item_column = selected_column (self->item_row, FALSE);
      r->schema.time_column = selected_column (self->time_row, TRUE);
      r->schema.has_rating_threshold = gtk_switch_get_active (self->threshold_switch);
      r->schema.rating_threshold = gtk_spin_button_get_value (self->threshold_spin);
      GStrvBuilder *b = g_strv_builder_new ();
      for (guint i = 0; i < self->feature_checks->len; i++)
        if (gtk_check_button_get_active (g_ptr_array_index (self->feature_checks, i)))
          g_strv_builder_add (b, self->columns[i]);
      r->schema.feature_columns = g_strv_builder_end (b);
      g_strv_builder_unref (b);
      static const MsrSplitMethod methods[] = { MSR_SPLIT_METHOD_RANDOM, MSR_SPLIT_METHOD_TIME, MSR_SPLIT_METHOD_FILE };
      r->split.method = methods[MIN (adw_combo_row_get_selected (self->csv_split_row), 2)];
      r->split.valid_by_time = r->split.method == MSR_SPLIT_METHOD_TIME;
      r->split.test_fraction = gtk_spin_button_get_value (self->test_fraction_spin);
      const char *test = gtk_editable_get_text (GTK_EDITABLE (self->test_file_row));
      r->test_file = r->split.method == MSR_SPLIT_METHOD_FILE && test[0] ? g_strdup (test) : NULL;
    }
  set_busy (self, TRUE);
  set_status (self, "Creating the project…", FALSE);
  lens_job_run_async (self->job, create_project, r, create_request_free, g_free, self->cancellable, on_created,
                      g_object_ref (self));
}

/* ---- choosers and actions --------------------------------------------------- */

typedef void (*ChosenFunc) (LensNewProjectDialog *self, const char *path);

static void
on_chooser_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  LensNewProjectDialog *self = user_data;
  ChosenFunc done = g_object_get_data (G_OBJECT (dialog), "done");
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      if (path)
        done (self, path);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
choose (LensNewProjectDialog *self, const char *title, GtkFileChooserAction action, ChosenFunc done)
{
  GtkFileChooserNative *c = gtk_file_chooser_native_new (title, GTK_WINDOW (self), action, "_Select", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (c), TRUE);
  g_object_set_data (G_OBJECT (c), "done", done);
  g_signal_connect (c, "response", G_CALLBACK (on_chooser_response), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (c));
}

static void
folder_chosen (LensNewProjectDialog *self, const char *path)
{
  lens_new_project_dialog_set_folder (self, path);
}

static void
movielens_chosen (LensNewProjectDialog *self, const char *path)
{
  gtk_editable_set_text (GTK_EDITABLE (self->movielens_row), path);
}

static void
choose_folder_action (GtkWidget *w, const char *name, GVariant *param)
{
  choose (LENS_NEW_PROJECT_DIALOG (w), "Project Folder", GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, folder_chosen);
}

static void
choose_movielens_action (GtkWidget *w, const char *name, GVariant *param)
{
  choose (LENS_NEW_PROJECT_DIALOG (w), "MovieLens-100K Folder", GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
          movielens_chosen);
}

static void
choose_csv_action (GtkWidget *w, const char *name, GVariant *param)
{
  choose (LENS_NEW_PROJECT_DIALOG (w), "CSV or TSV File", GTK_FILE_CHOOSER_ACTION_OPEN,
          lens_new_project_dialog_set_csv);
}

static void
create_action (GtkWidget *w, const char *name, GVariant *param)
{
  lens_new_project_dialog_create (LENS_NEW_PROJECT_DIALOG (w));
}

static void
on_split_changed (LensNewProjectDialog *self)
{
  gtk_widget_set_visible (GTK_WIDGET (self->test_file_row), adw_combo_row_get_selected (self->csv_split_row) == 2);
}

static gboolean
on_close_request (GtkWindow *window)
{
  LensNewProjectDialog *self = LENS_NEW_PROJECT_DIALOG (window);
  g_cancellable_cancel (self->cancellable);
  return FALSE;
}

static void
lens_new_project_dialog_dispose (GObject *object)
{
  LensNewProjectDialog *self = LENS_NEW_PROJECT_DIALOG (object);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->job);
  gtk_widget_dispose_template (GTK_WIDGET (self), LENS_TYPE_NEW_PROJECT_DIALOG);
  G_OBJECT_CLASS (lens_new_project_dialog_parent_class)->dispose (object);
}

static void
lens_new_project_dialog_finalize (GObject *object)
{
  LensNewProjectDialog *self = LENS_NEW_PROJECT_DIALOG (object);
  g_free (self->error);
  g_strfreev (self->columns);
  g_ptr_array_unref (self->feature_checks);
  G_OBJECT_CLASS (lens_new_project_dialog_parent_class)->finalize (object);
}

static void
lens_new_project_dialog_class_init (LensNewProjectDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = lens_new_project_dialog_dispose;
  object_class->finalize = lens_new_project_dialog_finalize;
  window_class->close_request = on_close_request;

  signals[SIGNAL_PROJECT_CREATED] = g_signal_new ("project-created", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_COLUMNS_READY] = g_signal_new ("columns-ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                                0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, MSR_RESOURCE_PATH "/ui/lens-new-project-dialog.ui");
#define BIND(x) gtk_widget_class_bind_template_child (widget_class, LensNewProjectDialog, x)
  BIND (folder_row); BIND (mode_stack); BIND (movielens_row); BIND (scenarios_row); BIND (movielens_split_row);
  BIND (csv_row); BIND (columns_group); BIND (label_row); BIND (scenario_row); BIND (user_row); BIND (item_row);
  BIND (time_row); BIND (features_row); BIND (threshold_switch); BIND (threshold_spin); BIND (csv_split_row);
  BIND (test_file_row); BIND (test_fraction_spin); BIND (seed_spin); BIND (create_button); BIND (spinner);
  BIND (status_label);
#undef BIND
  gtk_widget_class_install_action (widget_class, "project.create", NULL, create_action);
  gtk_widget_class_install_action (widget_class, "project.choose-folder", NULL, choose_folder_action);
  gtk_widget_class_install_action (widget_class, "project.choose-movielens", NULL, choose_movielens_action);
  gtk_widget_class_install_action (widget_class, "project.choose-csv", NULL, choose_csv_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
lens_new_project_dialog_init (LensNewProjectDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->job = lens_job_new ("new project");
  self->cancellable = g_cancellable_new ();
  self->feature_checks = g_ptr_array_new ();
  gtk_widget_set_sensitive (self->columns_group, FALSE);
  g_signal_connect_swapped (self->job, "notify::stage", G_CALLBACK (on_progress), self);
  g_signal_connect_swapped (self->csv_split_row, "notify::selected", G_CALLBACK (on_split_changed), self);
  /* Offer the MovieLens copy a data fetch made, or $MSR_MOVIELENS_DIR. */
  g_autofree char *root = msr_fetch_default_data_dir ();
  g_autofree char *fetched = g_build_filename (root, MSR_MOVIELENS_100K_DIR, NULL);
  const char *env = g_getenv ("MSR_MOVIELENS_DIR");
  if (env && env[0])
    gtk_editable_set_text (GTK_EDITABLE (self->movielens_row), env);
  else if (g_file_test (fetched, G_FILE_TEST_IS_DIR))
    gtk_editable_set_text (GTK_EDITABLE (self->movielens_row), fetched);
}

LensNewProjectDialog *
lens_new_project_dialog_new (GtkWindow *parent)
{
  return g_object_new (LENS_TYPE_NEW_PROJECT_DIALOG, "transient-for", parent, NULL);
}

void
lens_new_project_dialog_set_folder (LensNewProjectDialog *self, const char *dir)
{
  gtk_editable_set_text (GTK_EDITABLE (self->folder_row), dir);
}

void
lens_new_project_dialog_set_movielens (LensNewProjectDialog *self, const char *data_dir, const char *scenarios)
{
  adw_view_stack_set_visible_child_name (self->mode_stack, "movielens");
  gtk_editable_set_text (GTK_EDITABLE (self->movielens_row), data_dir);
  adw_combo_row_set_selected (self->scenarios_row, g_strcmp0 (scenarios, "age") == 0 ? 1 : 0);
}

static void
select_by_name (AdwComboRow *row, const char *name)
{
  GListModel *m = adw_combo_row_get_model (row);
  for (guint i = 0; m && i < g_list_model_get_n_items (m); i++)
    {
      g_autoptr(GtkStringObject) o = g_list_model_get_item (m, i);
      if (g_strcmp0 (gtk_string_object_get_string (o), name[0] ? name : "(none)") == 0)
        adw_combo_row_set_selected (row, i);
    }
}

void
lens_new_project_dialog_set_columns (LensNewProjectDialog *self, const char *label, const char *scenario,
                                     const char *user, const char *item, const char *time)
{
  if (label) select_by_name (self->label_row, label);
  if (scenario) select_by_name (self->scenario_row, scenario);
  if (user) select_by_name (self->user_row, user);
  if (item) select_by_name (self->item_row, item);
  if (time) select_by_name (self->time_row, time);
}

const char *
lens_new_project_dialog_get_error (LensNewProjectDialog *self)
{
  return self->error;
}

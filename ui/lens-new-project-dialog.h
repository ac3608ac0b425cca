/* lens-new-project-dialog.h: make a project from MovieLens-100K or a
 * CSV/TSV file, with the options of `msrlens-cli project init`. The
 * project is created and every row read once in a worker thread; on
 * success "project-created" (the folder) is emitted and the dialog closes. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define LENS_TYPE_NEW_PROJECT_DIALOG (lens_new_project_dialog_get_type ())
G_DECLARE_FINAL_TYPE (LensNewProjectDialog, lens_new_project_dialog, LENS, NEW_PROJECT_DIALOG, AdwWindow)

LensNewProjectDialog *lens_new_project_dialog_new (GtkWindow *parent);

/* For tests and scripted use: fill the fields and create. */
void lens_new_project_dialog_set_folder    (LensNewProjectDialog *self, const char *dir);
void lens_new_project_dialog_set_movielens (LensNewProjectDialog *self, const char *data_dir, const char *scenarios);
/* Selects the CSV mode and reads the file's header (asynchronously: the
 * column choices fill in when "columns-ready" is emitted). */
void lens_new_project_dialog_set_csv       (LensNewProjectDialog *self, const char *path);
/* Picks columns by name (NULL leaves a choice as it is, "" = none). */
void lens_new_project_dialog_set_columns   (LensNewProjectDialog *self, const char *label, const char *scenario,
                                            const char *user, const char *item, const char *time);
void lens_new_project_dialog_create        (LensNewProjectDialog *self);
/* The last error shown, or NULL. */
const char *lens_new_project_dialog_get_error (LensNewProjectDialog *self);

G_END_DECLS

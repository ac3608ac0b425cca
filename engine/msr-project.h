/* msr-project.h: a project is a folder holding a small, human-editable
 * description file (GKeyFile, "project.msrlens") naming the dataset, its
 * schema and its split. Every other artefact of a project (models, result
 * and knowledge stores) lives in the same folder. */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include "msr-error.h"
#include "msr-dataset.h"
#include "msr-movielens.h"
#include "msr-tabular.h"

G_BEGIN_DECLS

#define MSR_PROJECT_FILE "project.msrlens"

typedef enum {
  MSR_DATASET_KIND_MOVIELENS_100K,
  MSR_DATASET_KIND_CSV,
} MsrDatasetKind;

typedef struct _MsrProject MsrProject;

/* Reads DIR/project.msrlens; fails with a message naming the file and the
 * key when the description is missing or invalid. */
MsrProject   *msr_project_open               (const char *dir, GError **error);
void          msr_project_free               (MsrProject *project);

/* Writes a new project description into DIR (created if needed). Fails if
 * DIR already holds a project. data_dir is where MovieLens-100K's raw files
 * are (checked before anything is written). */
MsrProject   *msr_project_create_movielens   (const char            *dir,
                                              const char            *data_dir,
                                              MsrMovielensScenarios  scenarios,
                                              const MsrSplitOptions *split,
                                              GError               **error);
/* test_file is only used with MSR_SPLIT_METHOD_FILE. The schema's columns
 * are checked against the file's header before anything is written. */
MsrProject   *msr_project_create_csv         (const char            *dir,
                                              const char            *csv_file,
                                              const MsrCsvSchema    *schema,
                                              const MsrSplitOptions *split,
                                              const char            *test_file,
                                              GError               **error);

/* Reads every row of a newly created project's dataset once, so a
 * malformed file is reported when the project is made; on failure removes
 * the project description (and the folder when dir_existed is FALSE and it
 * is left empty), so no broken project stays behind. Returns the dataset. */
MsrDataset   *msr_project_check_new          (MsrProject      *project,
                                              gboolean         dir_existed,
                                              MsrProgressFunc  progress,
                                              gpointer         progress_data,
                                              GCancellable    *cancellable,
                                              GError         **error);

const char   *msr_project_get_dir            (const MsrProject *project);
const char   *msr_project_get_name           (const MsrProject *project);
MsrDatasetKind msr_project_get_dataset_kind  (const MsrProject *project);
/* A one-line description: "MovieLens-100K, genre scenarios, u1 split". */
char         *msr_project_describe_dataset   (const MsrProject *project);
const MsrSplitOptions *msr_project_get_split (const MsrProject *project);
/* Absolute path of a file inside the project folder. */
char         *msr_project_get_path           (const MsrProject *project, const char *name);
/* The knowledge store LLM4MSR models are trained and checked against: the
 * project's knowledge.sqlite, unless another store was set (for this
 * session only: the project description does not change). */
char         *msr_project_get_knowledge_path (const MsrProject *project);
void          msr_project_set_knowledge_path (MsrProject *project, const char *path);

/* Loads and splits the dataset the project describes. */
MsrDataset   *msr_project_load_dataset       (MsrProject      *project,
                                              MsrProgressFunc  progress,
                                              gpointer         progress_data,
                                              GCancellable    *cancellable,
                                              GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrProject, msr_project_free)

G_END_DECLS

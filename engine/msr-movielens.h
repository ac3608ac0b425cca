/* msr-movielens.h: MovieLens-100K from GroupLens's raw files.
 *
 * label = rating >= 4. Scenarios are either the movie's genre group (the
 * first of five groups containing any of its genres; movies tagged only
 * "unknown" belong to none and their rows are dropped and reported) or the
 * user's age band (<25, 25-34, 35+). Features: user id, item id, age band,
 * gender, occupation, zip prefix (first character), release-year band, and
 * the genre flags as one multi-hot field. */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include "msr-dataset.h"

G_BEGIN_DECLS

typedef enum {
  MSR_MOVIELENS_SCENARIOS_GENRE,
  MSR_MOVIELENS_SCENARIOS_AGE,
} MsrMovielensScenarios;

const char *msr_movielens_scenarios_to_string   (MsrMovielensScenarios scenarios);
gboolean    msr_movielens_scenarios_from_string (const char *s, MsrMovielensScenarios *out);

/* Checks that dir holds the official files MSR Lens reads (u.data, u.item,
 * u.user, u.genre, u.occupation, u1.base, u1.test), each with its official
 * size and SHA-256. The error names the first file that is missing or
 * differs. */
gboolean    msr_movielens_verify_dir  (const char *dir, GError **error);

/* Verifies a local copy in src_dir, then copies its files into
 * dest_dir/ml-100k (through a temporary folder renamed into place).
 * *out_data_dir receives the new folder. Fails when it already exists. */
gboolean    msr_movielens_copy_from   (const char    *src_dir,
                                       const char    *dest_dir,
                                       char         **out_data_dir,
                                       GCancellable  *cancellable,
                                       GError       **error);

/* MSR_SPLIT_METHOD_FILE reads u1.base (train) and u1.test (test); the other
 * methods read all of u.data and leave the split to msr_dataset_apply_split. */
MsrDataset *msr_movielens_load        (const char            *dir,
                                       MsrMovielensScenarios  scenarios,
                                       MsrSplitMethod         method,
                                       MsrProgressFunc        progress,
                                       gpointer               progress_data,
                                       GCancellable          *cancellable,
                                       GError               **error);

G_END_DECLS

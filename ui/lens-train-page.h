/* lens-train-page.h: the Train page: choose a backbone and its settings,
 * train it on the project's dataset with progress and cancel, and record
 * the new training and evaluation runs; also scores a dropped model file. */
#pragma once

#include <adwaita.h>
#include "lens-job.h"
#include "lens-page.h"
#include "msr-train.h"

G_BEGIN_DECLS

#define LENS_TYPE_TRAIN_PAGE (lens_train_page_get_type ())
G_DECLARE_FINAL_TYPE (LensTrainPage, lens_train_page, LENS, TRAIN_PAGE, AdwBin)

GtkWidget *lens_train_page_new           (void);

/* Starts training with the form's settings (ignored while a job runs, or
 * when the form is invalid or no dataset is loaded). */
void       lens_train_page_start         (LensTrainPage *self);
/* Cancels the running job; nothing is written. */
void       lens_train_page_cancel        (LensTrainPage *self);
gboolean   lens_train_page_is_running    (LensTrainPage *self);
/* The page's job (training or scoring), for a progress badge elsewhere. */
LensJob   *lens_train_page_get_job       (LensTrainPage *self);

/* Scores model_file on the test split (1,000 bootstrap replicates) and
 * records the run with its per-row scores; the window calls this when a
 * .safetensors file is dropped on it. */
void       lens_train_page_evaluate_model (LensTrainPage *self, GFile *model_file);

/* The form, for tests and scripts. */
void       lens_train_page_set_backbone  (LensTrainPage *self, MsrArch arch);
void       lens_train_page_set_epochs    (LensTrainPage *self, guint epochs);
void       lens_train_page_set_batch_size (LensTrainPage *self, guint batch_size);
void       lens_train_page_set_patience  (LensTrainPage *self, guint patience);
void       lens_train_page_set_embed_dim (LensTrainPage *self, guint embed_dim);
/* Hidden widths as text ("128,64"); FALSE (and an inline error) when
 * malformed. */
gboolean   lens_train_page_set_hidden    (LensTrainPage *self, const char *text);
/* What Start would use now; FALSE when the form is invalid. */
gboolean   lens_train_page_get_settings  (LensTrainPage   *self,
                                          MsrModelConfig  *cfg,
                                          MsrTrainOptions *opts);

/* The outcome of the last finished job: its error (NULL after success),
 * the runs it recorded (0 when none) and the line shown to the user. */
const GError *lens_train_page_get_last_error (LensTrainPage *self);
void       lens_train_page_get_last_runs (LensTrainPage *self, gint64 *train_run, gint64 *eval_run);
const char *lens_train_page_get_status_text (LensTrainPage *self);

G_END_DECLS

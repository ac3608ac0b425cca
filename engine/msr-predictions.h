/* msr-predictions.h: prediction files (PRED.tsv).
 *
 * Tab-separated with a header naming at least `label` (0/1) and `score` (a
 * probability in [0, 1]); optional `scenario`, `user` and `id` columns; any
 * other column is ignored; columns in any order. `msrlens-cli score`
 * writes this format with the columns id, label, score, scenario, user. */
#pragma once

#include <glib.h>
#include "msr-error.h"

G_BEGIN_DECLS

typedef struct {
  char      *path;
  gsize      n;
  guint8    *labels;
  double    *scores;
  guint32   *scenarios;       /* NULL without a scenario column */
  GPtrArray *scenario_names;  /* char*, in first-seen order; NULL without */
  guint32   *users;           /* NULL without a user column */
  GPtrArray *user_names;      /* char*, in first-seen order; NULL without */
  const char **ids;           /* NULL without an id column */
  gsize     *lines;           /* line of each row, for messages */
  GStringChunk *strings;
} MsrPredictions;

MsrPredictions *msr_predictions_load        (const char   *path,
                                             GError      **error);
void            msr_predictions_free        (MsrPredictions *pred);

/* Checks that b holds the same rows as a, in the same order: the same
 * number of rows and labels, and the same ids and scenarios where both
 * files have them. The error names the first row that differs. */
gboolean        msr_predictions_check_paired (const MsrPredictions *a,
                                              const MsrPredictions *b,
                                              GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrPredictions, msr_predictions_free)

G_END_DECLS

/* lens-backbones-page.h: the Backbones page. The session's selected
 * evaluation runs (rows) × scenarios and "overall" (columns) as a heatmap
 * coloured by AUC, or by the gain over a chosen baseline run (ΔAUC or
 * RelaImpr) with DeLong significance marks after Holm's correction across
 * each row's scenarios; the same numbers in a table beneath, and a read-out
 * of the clicked cell. */
#pragma once

#include <adwaita.h>
#include "lens-page.h"

G_BEGIN_DECLS

#define LENS_TYPE_BACKBONES_PAGE (lens_backbones_page_get_type ())
G_DECLARE_FINAL_TYPE (LensBackbonesPage, lens_backbones_page, LENS, BACKBONES_PAGE, AdwBin)

typedef enum {
  LENS_BACKBONES_COLOR_AUC,       /* the stored AUC of each run */
  LENS_BACKBONES_COLOR_DELTA,     /* AUC − the baseline run's AUC */
  LENS_BACKBONES_COLOR_RELAIMPR,  /* RelaImpr over the baseline run, percent */
} LensBackbonesColor;

GtkWidget          *lens_backbones_page_new          (void);

void                lens_backbones_page_set_color_by (LensBackbonesPage *self,
                                                      LensBackbonesColor color_by);
LensBackbonesColor  lens_backbones_page_get_color_by (LensBackbonesPage *self);
/* The baseline must be one of the rows (a selected run); 0 = the default
 * (the dnn-separate run if selected, else the popularity run, else the
 * first row). */
void                lens_backbones_page_set_baseline (LensBackbonesPage *self,
                                                      gint64             run_id);
gint64              lens_backbones_page_get_baseline (LensBackbonesPage *self);

/* TRUE while the significance tests run (a worker thread). */
gboolean            lens_backbones_page_is_busy      (LensBackbonesPage *self);

/* What the heatmap shows: n_rows (runs, in selection order) × n_cols
 * (scenarios in the dataset's order, then "overall"). */
guint               lens_backbones_page_get_n_rows   (LensBackbonesPage *self);
guint               lens_backbones_page_get_n_cols   (LensBackbonesPage *self);
gint64              lens_backbones_page_get_row_run  (LensBackbonesPage *self,
                                                      guint              row);
const char         *lens_backbones_page_get_col_name (LensBackbonesPage *self,
                                                      guint              col);
/* The cell's value in the current colouring (NaN = undefined), its DeLong
 * p-value against the baseline (unadjusted and Holm-adjusted across the
 * row's scenarios; the overall column is not adjusted), NaN when not
 * tested, and its mark ("", "*", "**", "***"). Any out pointer may be NULL.
 * FALSE when the cell does not exist. */
gboolean            lens_backbones_page_get_cell     (LensBackbonesPage *self,
                                                      guint              row,
                                                      guint              col,
                                                      double            *value,
                                                      double            *p,
                                                      double            *p_holm,
                                                      const char       **mark);
/* Why some rows carry no significance marks (runs without stored scores,
 * of another dataset or split), or NULL. */
const char         *lens_backbones_page_get_note     (LensBackbonesPage *self);
/* The read-out of the last clicked cell (NULL before a click). */
const char         *lens_backbones_page_get_readout  (LensBackbonesPage *self);

G_END_DECLS

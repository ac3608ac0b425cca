/* lens-export.h: the Export dialog shared by the window's Export button
 * and each chart's context menu. A chart goes to PNG, SVG or PDF at one of
 * a few sizes (a slide, a paper column, a paper page), a table to CSV. */
#pragma once

#include <gtk/gtk.h>
#include "lens-chart.h"
#include "lens-table.h"

G_BEGIN_DECLS

/* The size choices offered with a chart ("slide", "column", "page"). */
guint       lens_export_get_n_sizes (void);
const char *lens_export_get_size_id (guint i);

/* Writes chart or table to path, by the path's extension: .png, .svg and
 * .pdf need a chart, .csv a table. size_id NULL means "slide". The error
 * names the path and what is wrong. */
gboolean    lens_export_write       (const char  *path,
                                     const char  *size_id,
                                     LensChart   *chart,
                                     LensTable   *table,
                                     GError     **error);

/* Asks for a file name (suggested: file_stem plus .png, or .csv when there
 * is no chart) and writes there; a failure is shown in a dialog on
 * parent. Either chart or table may be NULL, not both. */
void        lens_export_ask         (GtkWindow   *parent,
                                     const char  *file_stem,
                                     LensChart   *chart,
                                     LensTable   *table);

/* A file-name stem from a title: "Test AUC per scenario" → "test-auc-per-scenario". */
char       *lens_export_stem_from_title (const char *title);

G_END_DECLS

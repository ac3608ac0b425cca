/* lens-table.h: a sortable, filterable table of text cells over a
 * GtkColumnView, with CSV export and copy to the clipboard. Every page's
 * tables use it, so every table exports the same way. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define LENS_TYPE_TABLE (lens_table_get_type ())
G_DECLARE_FINAL_TYPE (LensTable, lens_table, LENS, TABLE, GtkWidget)

typedef enum {
  LENS_TABLE_SELECT_NONE,
  LENS_TABLE_SELECT_SINGLE,
  LENS_TABLE_SELECT_MULTIPLE,
} LensTableSelection;

GtkWidget  *lens_table_new               (LensTableSelection selection);
/* Columns: titles; numeric columns are right-aligned and sort by the
 * values given to set_rows (NaN last). */
void        lens_table_set_columns       (LensTable          *self,
                                          guint               n_columns,
                                          const char * const *titles,
                                          const gboolean     *numeric);
/* Replaces the rows: cells n_rows × n_columns (row-major, copied); values
 * (nullable, same shape) are the sort keys of numeric columns; row ids are
 * what selection reports (nullable = 0, 1, ...). */
void        lens_table_set_rows          (LensTable          *self,
                                          guint               n_rows,
                                          const char * const *cells,
                                          const double       *values,
                                          const gint64       *row_ids);
/* Shows only rows where some cell contains text (case-insensitive). */
void        lens_table_set_filter        (LensTable *self, const char *text);
guint       lens_table_get_n_rows        (LensTable *self);          /* all rows */
guint       lens_table_get_n_visible     (LensTable *self);          /* after filtering */
/* Ids of the selected rows, in display order. */
GArray     *lens_table_get_selected_ids  (LensTable *self);          /* gint64 */
void        lens_table_select_ids        (LensTable *self, const gint64 *ids, guint n);
/* The visible rows, in display order, as CSV with a header line. */
char       *lens_table_to_csv            (LensTable *self);
void        lens_table_copy_to_clipboard (LensTable *self);
gboolean    lens_table_export_csv        (LensTable *self, const char *path, GError **error);
GtkColumnView *lens_table_get_column_view (LensTable *self);

/* Additions. */

/* Sorts as a click on the column's header would (the header shows it);
 * column -1 restores the order the rows were given in. */
void        lens_table_sort_by_column    (LensTable   *self,
                                          int          column,
                                          GtkSortType  order);
/* A text column that must not be squeezed below chars characters (before
 * ellipsizing); set it after set_columns, before the rows. */
void        lens_table_set_column_width_chars (LensTable *self,
                                               guint      column,
                                               int        chars);
/* What screen readers call the table, e.g. "Per-scenario metrics". */
void        lens_table_set_label         (LensTable  *self,
                                          const char *label);

G_END_DECLS

/* lens-table.c: a sortable, filterable table of text cells.
 *
 * Rows (a small private GObject holding the cells and their sort keys) sit
 * in a GListStore; a GtkFilterListModel and a GtkSortListModel put the
 * visible rows in display order, and a selection model per mode sits on
 * top. The column headers' sorters only tell which column the user chose
 * and in which direction; the order itself comes from one sorter here, so
 * that NaN sorts last in both directions and ties keep the given order. */
#include "config.h"
#include "msr-file.h"

#include "lens-table.h"
#include "lens-format.h"

#include <math.h>
#include <string.h>

/* ---- rows -------------------------------------------------------------------- */

#define LENS_TYPE_TABLE_ROW (lens_table_row_get_type ())
G_DECLARE_FINAL_TYPE (LensTableRow, lens_table_row, LENS, TABLE_ROW, GObject)

struct _LensTableRow
{
  GObject parent_instance;

  guint     index;    /* position given to set_rows: tie-break and default order */
  gint64    id;
  guint     n_cells;
  char    **cells;
  double   *keys;     /* numeric columns' sort keys (NaN elsewhere) */
  char    **collate;  /* text columns' collation keys (NULL elsewhere) */
  char     *folded;   /* every cell, case-folded, for the filter */
  gboolean  probe;    /* one of the two rows that ask the headers for the order */
};

G_DEFINE_FINAL_TYPE (LensTableRow, lens_table_row, G_TYPE_OBJECT)

static void
lens_table_row_finalize (GObject *object)
{
  LensTableRow *self = LENS_TABLE_ROW (object);

  g_strfreev (self->cells);
  g_free (self->keys);
  if (self->collate != NULL)
    for (guint i = 0; i < self->n_cells; i++)
      g_free (self->collate[i]);
  g_free (self->collate);
  g_free (self->folded);

  G_OBJECT_CLASS (lens_table_row_parent_class)->finalize (object);
}

static void
lens_table_row_class_init (LensTableRowClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lens_table_row_finalize;
}

static void
lens_table_row_init (LensTableRow *self)
{
}

/* A numeric column without values sorts by its text read as a number
 * ("2,145" and "55.4%" included); anything else is NaN. */
static double
parse_number (const char *text)
{
  g_autoptr(GString) digits = g_string_new (NULL);
  char *end = NULL;
  double v;

  for (const char *s = text; *s != '\0'; s++)
    if (*s != ',' && *s != '%' && *s != ' ')
      g_string_append_c (digits, *s);
  if (digits->len == 0)
    return NAN;
  v = g_ascii_strtod (digits->str, &end);
  return end != NULL && *end == '\0' ? v : NAN;
}

static LensTableRow *
lens_table_row_new (guint               index,
                    gint64              id,
                    guint               n_cells,
                    const char * const *cells,
                    const double       *values,
                    const gboolean     *numeric)
{
  LensTableRow *self = g_object_new (LENS_TYPE_TABLE_ROW, NULL);
  g_autoptr(GString) all = g_string_new (NULL);

  self->index = index;
  self->id = id;
  self->n_cells = n_cells;
  self->cells = g_new0 (char *, n_cells + 1);
  self->keys = g_new (double, MAX (n_cells, 1));
  self->collate = g_new0 (char *, MAX (n_cells, 1));
  for (guint c = 0; c < n_cells; c++)
    {
      const char *text = cells != NULL && cells[c] != NULL ? cells[c] : "";

      self->cells[c] = g_utf8_make_valid (text, -1);
      if (numeric[c])
        {
          self->keys[c] = values != NULL ? values[c] : parse_number (self->cells[c]);
        }
      else
        {
          self->keys[c] = NAN;
          self->collate[c] = g_utf8_collate_key (self->cells[c], -1);
        }
      if (c > 0)
        g_string_append_c (all, '\n');
      g_string_append (all, self->cells[c]);
    }
  self->folded = g_utf8_casefold (all->str, -1);
  return self;
}

/* ---- the table ----------------------------------------------------------------- */

typedef struct {
  LensTable *table;   /* cleared when the table goes, for a late callback */
  guint      column;
  gboolean   numeric;
  int        width_chars; /* text columns: the least width before ellipsizing */
} ColumnRef;

struct _LensTable
{
  GtkWidget parent_instance;

  GtkWidget          *scrolled;
  GtkColumnView      *column_view;
  GListStore         *rows;
  GtkFilterListModel *filtered;
  GtkSortListModel   *sorted;
  GtkSelectionModel  *selection;
  GtkCustomFilter    *filter;
  GtkCustomSorter    *sorter;
  LensTableSelection  mode;

  guint               n_columns;
  char              **titles;
  gboolean           *numeric;
  GPtrArray          *refs;          /* ColumnRef, one per column ever made */
  char               *filter_text;   /* case-folded; NULL shows everything */

  int                 sort_column;   /* -1: the order rows were given in */
  gboolean            sort_descending;
  int                 probe_column;
  LensTableRow       *probe[2];
};

G_DEFINE_FINAL_TYPE (LensTable, lens_table, GTK_TYPE_WIDGET)

static int
compare_rows (gconstpointer a,
              gconstpointer b,
              gpointer      data)
{
  LensTable *self = data;
  const LensTableRow *ra = a, *rb = b;
  int r = 0;

  if (self->sort_column >= 0 && (guint) self->sort_column < self->n_columns &&
      (guint) self->sort_column < ra->n_cells && (guint) self->sort_column < rb->n_cells)
    {
      guint c = (guint) self->sort_column;

      if (self->numeric[c])
        {
          double x = ra->keys[c], y = rb->keys[c];

          /* Missing numbers last whichever way the column is sorted. */
          if (isnan (x) || isnan (y))
            {
              if (isnan (x) && isnan (y))
                r = 0;
              else
                return isnan (x) ? GTK_ORDERING_LARGER : GTK_ORDERING_SMALLER;
            }
          else
            r = (x > y) - (x < y);
        }
      else
        r = strcmp (ra->collate[c], rb->collate[c]);
      if (self->sort_descending)
        r = -r;
    }
  if (r == 0)
    r = (ra->index > rb->index) - (ra->index < rb->index);
  return r < 0 ? GTK_ORDERING_SMALLER : r > 0 ? GTK_ORDERING_LARGER : GTK_ORDERING_EQUAL;
}

/* A column header's sorter. GTK asks it only when the view's sorter is
 * asked, which this file does with the probe rows to learn the primary
 * column (the first one asked) and its direction. */
static int
compare_for_header (gconstpointer a,
                    gconstpointer b,
                    gpointer      data)
{
  ColumnRef *ref = data;
  const LensTableRow *ra = a, *rb = b;

  if (ref->table == NULL)
    return GTK_ORDERING_EQUAL;
  if (ra->probe && rb->probe)
    {
      if (ref->table->probe_column < 0)
        ref->table->probe_column = (int) ref->column;
      return ra->index < rb->index ? GTK_ORDERING_SMALLER : GTK_ORDERING_LARGER;
    }
  return GTK_ORDERING_EQUAL;
}

static void
on_view_sorter_changed (GtkSorter       *view_sorter,
                        GtkSorterChange  change,
                        LensTable       *self)
{
  GtkOrdering order;

  self->probe_column = -1;
  order = gtk_sorter_compare (view_sorter, self->probe[0], self->probe[1]);
  self->sort_column = order == GTK_ORDERING_EQUAL ? -1 : self->probe_column;
  self->sort_descending = order == GTK_ORDERING_LARGER;
  gtk_sorter_changed (GTK_SORTER (self->sorter), GTK_SORTER_CHANGE_DIFFERENT);
}

static gboolean
filter_row (gpointer item,
            gpointer data)
{
  LensTable *self = data;
  LensTableRow *row = item;

  return self->filter_text == NULL || strstr (row->folded, self->filter_text) != NULL;
}

static void
setup_cell (GtkSignalListItemFactory *factory,
            GtkListItem              *item,
            ColumnRef                *ref)
{
  GtkWidget *label = gtk_label_new (NULL);

  if (ref->numeric)
    {
      gtk_label_set_xalign (GTK_LABEL (label), 1.0f);
      gtk_widget_add_css_class (label, "numeric");
    }
  else
    {
      gtk_label_set_xalign (GTK_LABEL (label), 0.0f);
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_label_set_width_chars (GTK_LABEL (label), ref->width_chars);
    }
  gtk_list_item_set_child (item, label);
}

static void
bind_cell (GtkSignalListItemFactory *factory,
           GtkListItem              *item,
           ColumnRef                *ref)
{
  LensTableRow *row = gtk_list_item_get_item (item);
  GtkWidget *label = gtk_list_item_get_child (item);
  const char *text = row != NULL && ref->column < row->n_cells ? row->cells[ref->column] : "";

  gtk_label_set_text (GTK_LABEL (label), text);
  /* Long text is ellipsized: the tooltip has all of it. */
  gtk_widget_set_tooltip_text (label, !ref->numeric && g_utf8_strlen (text, -1) > 24 ? text : NULL);
}

/* Numbers are right-aligned, so their titles are too. GTK 4.8 has no API
 * for it: the header row is the column view's first child, one title
 * button per column, each boxing a label and the sort arrow. If GTK builds
 * its header differently the titles simply stay left-aligned. */
static void
lens_table_align_headers (LensTable *self)
{
  GtkWidget *header = gtk_widget_get_first_child (GTK_WIDGET (self->column_view));
  guint i = 0;

  if (header == NULL)
    return;
  for (GtkWidget *title = gtk_widget_get_first_child (header);
       title != NULL && i < self->n_columns;
       title = gtk_widget_get_next_sibling (title), i++)
    {
      GtkWidget *box = gtk_widget_get_first_child (title);
      GtkWidget *label = box != NULL ? gtk_widget_get_first_child (box) : NULL;
      GtkWidget *arrow = label != NULL ? gtk_widget_get_next_sibling (label) : NULL;

      if (GTK_IS_BOX (box) && GTK_IS_LABEL (label) && self->numeric[i])
        {
          gtk_widget_set_hexpand (label, TRUE);
          gtk_label_set_xalign (GTK_LABEL (label), 1.0f);
          if (arrow != NULL)
            gtk_box_reorder_child_after (GTK_BOX (box), arrow, NULL);
        }
    }
}

static void
lens_table_remove_columns (LensTable *self)
{
  GListModel *columns = gtk_column_view_get_columns (self->column_view);

  while (g_list_model_get_n_items (columns) > 0)
    {
      g_autoptr(GtkColumnViewColumn) column = g_list_model_get_item (columns, 0);
      gtk_column_view_remove_column (self->column_view, column);
    }
  for (guint i = 0; i < self->refs->len; i++)
    ((ColumnRef *) g_ptr_array_index (self->refs, i))->table = NULL;
}

void
lens_table_set_columns (LensTable          *self,
                        guint               n_columns,
                        const char * const *titles,
                        const gboolean     *numeric)
{
  g_return_if_fail (LENS_IS_TABLE (self));

  /* New columns make the old rows meaningless. */
  g_list_store_remove_all (self->rows);
  lens_table_remove_columns (self);
  g_strfreev (self->titles);
  g_free (self->numeric);
  self->n_columns = n_columns;
  self->titles = g_new0 (char *, n_columns + 1);
  self->numeric = g_new0 (gboolean, MAX (n_columns, 1));
  self->sort_column = -1;
  self->sort_descending = FALSE;

  for (guint c = 0; c < n_columns; c++)
    {
      GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
      ColumnRef *ref = g_new0 (ColumnRef, 1);
      g_autoptr(GtkColumnViewColumn) column = NULL;
      g_autoptr(GtkSorter) sorter = NULL;

      self->titles[c] = g_strdup (titles != NULL && titles[c] != NULL ? titles[c] : "");
      self->numeric[c] = numeric != NULL && numeric[c];
      ref->table = self;
      ref->column = c;
      ref->numeric = self->numeric[c];
      ref->width_chars = 8;
      g_ptr_array_add (self->refs, ref);

      g_signal_connect (factory, "setup", G_CALLBACK (setup_cell), ref);
      g_signal_connect (factory, "bind", G_CALLBACK (bind_cell), ref);
      column = gtk_column_view_column_new (self->titles[c], factory);
      sorter = GTK_SORTER (gtk_custom_sorter_new (compare_for_header, ref, NULL));
      gtk_column_view_column_set_sorter (column, sorter);
      gtk_column_view_column_set_resizable (column, TRUE);
      if (c == 0 && !self->numeric[c])
        gtk_column_view_column_set_expand (column, TRUE);
      gtk_column_view_append_column (self->column_view, column);
    }
  lens_table_align_headers (self);
  gtk_sorter_changed (GTK_SORTER (self->sorter), GTK_SORTER_CHANGE_DIFFERENT);
}

void
lens_table_set_rows (LensTable          *self,
                     guint               n_rows,
                     const char * const *cells,
                     const double       *values,
                     const gint64       *row_ids)
{
  g_autoptr(GPtrArray) rows = NULL;

  g_return_if_fail (LENS_IS_TABLE (self));
  g_return_if_fail (cells != NULL || n_rows == 0 || self->n_columns == 0);

  rows = g_ptr_array_new_full (n_rows, g_object_unref);
  for (guint r = 0; r < n_rows; r++)
    {
      gsize at = (gsize) r * self->n_columns;

      g_ptr_array_add (rows, lens_table_row_new (r, row_ids != NULL ? row_ids[r] : (gint64) r,
                                                 self->n_columns,
                                                 cells != NULL ? cells + at : NULL,
                                                 values != NULL ? values + at : NULL,
                                                 self->numeric));
    }
  /* One splice: one items-changed for the whole table. */
  g_list_store_splice (self->rows, 0, g_list_model_get_n_items (G_LIST_MODEL (self->rows)),
                       rows->pdata, rows->len);
}

void
lens_table_set_filter (LensTable  *self,
                       const char *text)
{
  g_autofree char *folded = NULL;
  GtkFilterChange change;

  g_return_if_fail (LENS_IS_TABLE (self));

  if (text != NULL && text[0] != '\0')
    folded = g_utf8_casefold (text, -1);
  if (g_strcmp0 (folded, self->filter_text) == 0)
    return;

  /* Tell the filter model how the change relates to the last one, so it
   * refilters only the rows that can change. */
  if (self->filter_text == NULL)
    change = GTK_FILTER_CHANGE_MORE_STRICT;
  else if (folded == NULL)
    change = GTK_FILTER_CHANGE_LESS_STRICT;
  else if (strstr (folded, self->filter_text) != NULL)
    change = GTK_FILTER_CHANGE_MORE_STRICT;
  else if (strstr (self->filter_text, folded) != NULL)
    change = GTK_FILTER_CHANGE_LESS_STRICT;
  else
    change = GTK_FILTER_CHANGE_DIFFERENT;

  g_free (self->filter_text);
  self->filter_text = g_steal_pointer (&folded);
  gtk_filter_changed (GTK_FILTER (self->filter), change);
}

guint
lens_table_get_n_rows (LensTable *self)
{
  g_return_val_if_fail (LENS_IS_TABLE (self), 0);
  return g_list_model_get_n_items (G_LIST_MODEL (self->rows));
}

guint
lens_table_get_n_visible (LensTable *self)
{
  g_return_val_if_fail (LENS_IS_TABLE (self), 0);
  return g_list_model_get_n_items (G_LIST_MODEL (self->sorted));
}

GArray *
lens_table_get_selected_ids (LensTable *self)
{
  GArray *ids;
  guint n;

  g_return_val_if_fail (LENS_IS_TABLE (self), NULL);

  ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  n = g_list_model_get_n_items (G_LIST_MODEL (self->selection));
  for (guint i = 0; i < n; i++)
    if (gtk_selection_model_is_selected (self->selection, i))
      {
        g_autoptr(LensTableRow) row = g_list_model_get_item (G_LIST_MODEL (self->selection), i);
        g_array_append_val (ids, row->id);
      }
  return ids;
}

void
lens_table_select_ids (LensTable    *self,
                       const gint64 *ids,
                       guint         n_ids)
{
  g_autoptr(GHashTable) wanted = NULL;
  GtkBitset *selected, *mask;
  guint n;
  int first = -1;

  g_return_if_fail (LENS_IS_TABLE (self));
  g_return_if_fail (ids != NULL || n_ids == 0);

  if (self->mode == LENS_TABLE_SELECT_NONE)
    return;
  wanted = g_hash_table_new (g_int64_hash, g_int64_equal);
  for (guint i = 0; i < n_ids; i++)
    g_hash_table_add (wanted, (gpointer) &ids[i]);

  n = g_list_model_get_n_items (G_LIST_MODEL (self->selection));
  selected = gtk_bitset_new_empty ();
  mask = gtk_bitset_new_range (0, n);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(LensTableRow) row = g_list_model_get_item (G_LIST_MODEL (self->selection), i);

      if (g_hash_table_contains (wanted, &row->id))
        {
          gtk_bitset_add (selected, i);
          if (first < 0)
            first = (int) i;
        }
    }
  if (self->mode == LENS_TABLE_SELECT_SINGLE)
    {
      if (first >= 0)
        gtk_selection_model_select_item (self->selection, (guint) first, TRUE);
      else
        gtk_selection_model_unselect_all (self->selection);
    }
  else
    gtk_selection_model_set_selection (self->selection, selected, mask);
  gtk_bitset_unref (selected);
  gtk_bitset_unref (mask);
}

/* Tab-separated for pasting into a spreadsheet: tabs and line breaks
 * inside a cell become spaces. */
static void
tsv_field (GString    *s,
           const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    g_string_append_c (s, *p == '\t' || *p == '\n' || *p == '\r' ? ' ' : *p);
}

typedef void (*FieldFunc) (GString *s, const char *text);

static void
append_line (GString     *s,
             char       **fields,
             guint        n,
             FieldFunc    field,
             char         sep,
             const char  *eol)
{
  for (guint c = 0; c < n; c++)
    {
      if (c > 0)
        g_string_append_c (s, sep);
      field (s, fields[c]);
    }
  g_string_append (s, eol);
}

static char *
lens_table_format (LensTable *self,
                   gboolean   selected_only,
                   FieldFunc  field,
                   char       sep,
                   const char *eol)
{
  GString *s = g_string_new (NULL);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->selection));

  append_line (s, self->titles, self->n_columns, field, sep, eol);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(LensTableRow) row = NULL;

      if (selected_only && !gtk_selection_model_is_selected (self->selection, i))
        continue;
      row = g_list_model_get_item (G_LIST_MODEL (self->selection), i);
      append_line (s, row->cells, MIN (row->n_cells, self->n_columns), field, sep, eol);
    }
  return g_string_free (s, FALSE);
}

char *
lens_table_to_csv (LensTable *self)
{
  g_return_val_if_fail (LENS_IS_TABLE (self), NULL);
  /* RFC 4180: CRLF line ends, quotes doubled inside quoted fields. */
  return lens_table_format (self, FALSE, lens_format_csv_field, ',', "\r\n");
}

void
lens_table_copy_to_clipboard (LensTable *self)
{
  g_autoptr(GArray) ids = NULL;
  g_autofree char *text = NULL;

  g_return_if_fail (LENS_IS_TABLE (self));

  /* The selected rows, or every visible row when none is selected. */
  ids = lens_table_get_selected_ids (self);
  text = lens_table_format (self, ids->len > 0, tsv_field, '\t', "\n");
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), text);
}

gboolean
lens_table_export_csv (LensTable   *self,
                       const char  *path,
                       GError     **error)
{
  g_autofree char *csv = NULL;
  GError *local = NULL;

  g_return_val_if_fail (LENS_IS_TABLE (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  csv = lens_table_to_csv (self);
  /* Written beside the target and renamed over it. */
  if (!msr_file_replace_contents (path, csv, strlen (csv), 0666, &local))
    {
      g_autofree char *display = g_filename_display_name (path);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not export “%s”: %s", display, local->message);
      g_error_free (local);
      return FALSE;
    }
  return TRUE;
}

GtkColumnView *
lens_table_get_column_view (LensTable *self)
{
  g_return_val_if_fail (LENS_IS_TABLE (self), NULL);
  return self->column_view;
}

void
lens_table_sort_by_column (LensTable   *self,
                           int          column,
                           GtkSortType  order)
{
  g_autoptr(GtkColumnViewColumn) col = NULL;

  g_return_if_fail (LENS_IS_TABLE (self));

  if (column >= 0 && (guint) column < self->n_columns)
    col = g_list_model_get_item (gtk_column_view_get_columns (self->column_view), (guint) column);
  /* Through the view, so the header's arrow shows the order too. */
  gtk_column_view_sort_by_column (self->column_view, col, order);
}

void
lens_table_set_label (LensTable  *self,
                      const char *label)
{
  g_return_if_fail (LENS_IS_TABLE (self));

  if (label != NULL)
    gtk_accessible_update_property (GTK_ACCESSIBLE (self->column_view),
                                    GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
  else
    gtk_accessible_reset_property (GTK_ACCESSIBLE (self->column_view), GTK_ACCESSIBLE_PROPERTY_LABEL);
}

static void
copy_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  lens_table_copy_to_clipboard (LENS_TABLE (widget));
}

static void
lens_table_set_mode (LensTable          *self,
                     LensTableSelection  mode)
{
  GListModel *model = g_object_ref (G_LIST_MODEL (self->sorted));

  g_clear_object (&self->selection);
  self->mode = mode;
  switch (mode)
    {
    case LENS_TABLE_SELECT_SINGLE:
      {
        GtkSingleSelection *single = gtk_single_selection_new (model);

        /* Nothing is selected until the user chooses. */
        gtk_single_selection_set_autoselect (single, FALSE);
        gtk_single_selection_set_can_unselect (single, TRUE);
        self->selection = GTK_SELECTION_MODEL (single);
      }
      break;
    case LENS_TABLE_SELECT_MULTIPLE:
      self->selection = GTK_SELECTION_MODEL (gtk_multi_selection_new (model));
      break;
    case LENS_TABLE_SELECT_NONE:
    default:
      self->mode = LENS_TABLE_SELECT_NONE;
      self->selection = GTK_SELECTION_MODEL (gtk_no_selection_new (model));
      break;
    }
  gtk_column_view_set_model (self->column_view, self->selection);
  gtk_column_view_set_enable_rubberband (self->column_view, self->mode == LENS_TABLE_SELECT_MULTIPLE);
}

static void
lens_table_dispose (GObject *object)
{
  LensTable *self = LENS_TABLE (object);

  if (self->refs != NULL)
    for (guint i = 0; i < self->refs->len; i++)
      ((ColumnRef *) g_ptr_array_index (self->refs, i))->table = NULL;
  if (self->column_view != NULL)
    g_signal_handlers_disconnect_by_func (gtk_column_view_get_sorter (self->column_view),
                                          on_view_sorter_changed, self);
  g_clear_pointer (&self->scrolled, gtk_widget_unparent);
  self->column_view = NULL;
  g_clear_object (&self->selection);
  g_clear_object (&self->sorted);
  g_clear_object (&self->filtered);
  g_clear_object (&self->rows);
  g_clear_object (&self->filter);
  g_clear_object (&self->sorter);
  g_clear_object (&self->probe[0]);
  g_clear_object (&self->probe[1]);

  G_OBJECT_CLASS (lens_table_parent_class)->dispose (object);
}

static void
lens_table_finalize (GObject *object)
{
  LensTable *self = LENS_TABLE (object);

  g_strfreev (self->titles);
  g_free (self->numeric);
  g_free (self->filter_text);
  g_clear_pointer (&self->refs, g_ptr_array_unref);

  G_OBJECT_CLASS (lens_table_parent_class)->finalize (object);
}

static void
lens_table_class_init (LensTableClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lens_table_dispose;
  object_class->finalize = lens_table_finalize;

  gtk_widget_class_install_action (widget_class, "table.copy", NULL, copy_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_c, GDK_CONTROL_MASK, "table.copy", NULL);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "lens-table");
}

static void
lens_table_init (LensTable *self)
{
  GtkSorter *view_sorter;

  self->sort_column = -1;
  self->refs = g_ptr_array_new_with_free_func (g_free);
  self->rows = g_list_store_new (LENS_TYPE_TABLE_ROW);
  self->probe[0] = lens_table_row_new (0, 0, 0, NULL, NULL, NULL);
  self->probe[1] = lens_table_row_new (1, 0, 0, NULL, NULL, NULL);
  self->probe[0]->probe = self->probe[1]->probe = TRUE;

  self->column_view = GTK_COLUMN_VIEW (gtk_column_view_new (NULL));
  gtk_column_view_set_show_row_separators (self->column_view, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->column_view), "data-table");

  self->filter = gtk_custom_filter_new (filter_row, self, NULL);
  self->sorter = gtk_custom_sorter_new (compare_rows, self, NULL);
  self->filtered = gtk_filter_list_model_new (g_object_ref (G_LIST_MODEL (self->rows)),
                                              g_object_ref (GTK_FILTER (self->filter)));
  /* Connected before the sort model exists, so the chosen column is known
   * before anything re-sorts. */
  view_sorter = gtk_column_view_get_sorter (self->column_view);
  g_signal_connect (view_sorter, "changed", G_CALLBACK (on_view_sorter_changed), self);
  self->sorted = gtk_sort_list_model_new (g_object_ref (G_LIST_MODEL (self->filtered)),
                                          g_object_ref (GTK_SORTER (self->sorter)));

  self->scrolled = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (self->scrolled), GTK_WIDGET (self->column_view));
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (self->scrolled), TRUE);
  gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (self->scrolled), 120);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (self->scrolled), 480);
  gtk_widget_set_parent (self->scrolled, GTK_WIDGET (self));
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  lens_table_set_mode (self, LENS_TABLE_SELECT_NONE);
}

GtkWidget *
lens_table_new (LensTableSelection selection)
{
  LensTable *self = g_object_new (LENS_TYPE_TABLE, NULL);

  if (selection != LENS_TABLE_SELECT_NONE)
    lens_table_set_mode (self, selection);
  return GTK_WIDGET (self);
}

void
lens_table_set_column_width_chars (LensTable *self,
                                   guint      column,
                                   int        chars)
{
  g_return_if_fail (LENS_IS_TABLE (self));
  g_return_if_fail (column < self->n_columns);
  /* refs keeps every column ever made; the current ones are the last. */
  ((ColumnRef *) g_ptr_array_index (self->refs, self->refs->len - self->n_columns + column))->width_chars = chars;
}

/* lens-dataset-summary.c: the dataset at a glance.
 *
 * The layout is in lens-dataset-summary.ui; this file fills it in and builds
 * the column view's columns, which differ only in the property they show. */
#include "config.h"

#include "lens-dataset-summary.h"
#include "lens-format.h"
#include "lens-scenario-row.h"

#include <math.h>

struct _LensDatasetSummary
{
  AdwBin parent_instance;

  GListStore    *rows;

  /* template children */
  GtkLabel      *name_label;
  GtkLabel      *source_label;
  GtkLabel      *scenarios_value;
  GtkLabel      *rows_value;
  GtkLabel      *users_value;
  GtkLabel      *items_value;
  GtkLabel      *positive_rate_value;
  GtkFlowBox    *cards_box;
  GtkLabel      *split_label;
  GtkLabel      *overlap_label;
  GtkColumnView *column_view;
  GtkWidget     *notes_box;
  GtkLabel      *notes_label;
};

G_DEFINE_FINAL_TYPE (LensDatasetSummary, lens_dataset_summary, ADW_TYPE_BIN)

typedef enum {
  COLUMN_TEXT,
  COLUMN_COUNT,
  COLUMN_PERCENT,
} ColumnKind;

typedef struct {
  const char *title;
  const char *property;
  ColumnKind  kind;
} ColumnSpec;

static const ColumnSpec columns[] = {
  { "Scenario",      "name",          COLUMN_TEXT },
  { "Rows",          "rows",          COLUMN_COUNT },
  { "Train",         "train",         COLUMN_COUNT },
  { "Valid",         "valid",         COLUMN_COUNT },
  { "Test",          "test",          COLUMN_COUNT },
  { "Users",         "users",         COLUMN_COUNT },
  { "Items",         "items",         COLUMN_COUNT },
  { "Positive Rate", "positive-rate", COLUMN_PERCENT },
};

static void
setup_cell (GtkSignalListItemFactory *factory,
            GtkListItem              *item,
            gpointer                  user_data)
{
  const ColumnSpec *spec = user_data;
  GtkWidget *label = gtk_label_new (NULL);

  if (spec->kind == COLUMN_TEXT)
    {
      gtk_label_set_xalign (GTK_LABEL (label), 0.0f);
      /* On a narrow window the table scrolls sideways before names get
       * shorter than this. */
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_label_set_width_chars (GTK_LABEL (label), 20);
    }
  else
    {
      gtk_label_set_xalign (GTK_LABEL (label), 1.0f);
      gtk_widget_add_css_class (label, "numeric");
    }
  gtk_list_item_set_child (item, label);
}

static void
bind_cell (GtkSignalListItemFactory *factory,
           GtkListItem              *item,
           gpointer                  user_data)
{
  const ColumnSpec *spec = user_data;
  LensScenarioRow *row = gtk_list_item_get_item (item);
  GtkLabel *label = GTK_LABEL (gtk_list_item_get_child (item));
  g_autofree char *text = NULL;

  switch (spec->kind)
    {
    case COLUMN_TEXT:
      gtk_label_set_text (label, lens_scenario_row_get_name (row));
      gtk_widget_set_tooltip_text (GTK_WIDGET (label),
                                   lens_scenario_row_get_description (row));
      return;
    case COLUMN_COUNT:
      {
        guint64 n = 0;
        g_object_get (row, spec->property, &n, NULL);
        text = lens_format_count (n);
      }
      break;
    case COLUMN_PERCENT:
      text = lens_format_percent (lens_scenario_row_get_positive_rate (row));
      break;
    }
  gtk_label_set_text (label, text);
}

static GtkSorter *
column_sorter (const ColumnSpec *spec)
{
  GtkExpression *expr = gtk_property_expression_new (LENS_TYPE_SCENARIO_ROW,
                                                     NULL, spec->property);

  if (spec->kind == COLUMN_TEXT)
    return GTK_SORTER (gtk_string_sorter_new (expr));
  return GTK_SORTER (gtk_numeric_sorter_new (expr));
}

/* Numbers are right-aligned, so their column titles should be too. GTK 4.8
 * has no API for that: the header row is the column view's first child and
 * holds one title per column, whose first child boxes the label and sort
 * arrow; the label is made to fill the box, text at its end, after the
 * arrow. If GTK builds its header differently the titles simply stay
 * left-aligned. */
static void
lens_dataset_summary_align_headers (LensDatasetSummary *self)
{
  GtkWidget *header = gtk_widget_get_first_child (GTK_WIDGET (self->column_view));
  GtkWidget *title;
  guint i = 0;

  if (header == NULL)
    return;
  for (title = gtk_widget_get_first_child (header);
       title != NULL && i < G_N_ELEMENTS (columns);
       title = gtk_widget_get_next_sibling (title), i++)
    {
      GtkWidget *box = gtk_widget_get_first_child (title);
      GtkWidget *label = box ? gtk_widget_get_first_child (box) : NULL;

      GtkWidget *arrow = label ? gtk_widget_get_next_sibling (label) : NULL;

      if (GTK_IS_BOX (box) && GTK_IS_LABEL (label) && columns[i].kind != COLUMN_TEXT)
        {
          gtk_widget_set_hexpand (label, TRUE);
          gtk_label_set_xalign (GTK_LABEL (label), 1.0f);
          /* The sort arrow keeps its space even when hidden; put it
           * before the title so the title ends where the numbers end. */
          if (arrow != NULL)
            gtk_box_reorder_child_after (GTK_BOX (box), arrow, NULL);
        }
    }
}

static void
lens_dataset_summary_build_columns (LensDatasetSummary *self)
{
  g_autoptr(GtkSortListModel) sorted = NULL;
  g_autoptr(GtkNoSelection) selection = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (columns); i++)
    {
      GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
      g_autoptr(GtkColumnViewColumn) column = NULL;
      g_autoptr(GtkSorter) sorter = column_sorter (&columns[i]);

      g_signal_connect (factory, "setup", G_CALLBACK (setup_cell), (gpointer) &columns[i]);
      g_signal_connect (factory, "bind", G_CALLBACK (bind_cell), (gpointer) &columns[i]);

      /* The column takes the factory. */
      column = gtk_column_view_column_new (columns[i].title, factory);
      gtk_column_view_column_set_sorter (column, sorter);
      gtk_column_view_column_set_resizable (column, TRUE);
      if (columns[i].kind == COLUMN_TEXT)
        gtk_column_view_column_set_expand (column, TRUE);
      gtk_column_view_append_column (self->column_view, column);
    }

  lens_dataset_summary_align_headers (self);

  /* Sorting happens in a view model, so the store keeps scenario order. */
  sorted = gtk_sort_list_model_new (g_object_ref (G_LIST_MODEL (self->rows)),
                                    g_object_ref (gtk_column_view_get_sorter (self->column_view)));
  selection = gtk_no_selection_new (g_object_ref (G_LIST_MODEL (sorted)));
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (selection));
}

static void
lens_dataset_summary_dispose (GObject *object)
{
  LensDatasetSummary *self = LENS_DATASET_SUMMARY (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), LENS_TYPE_DATASET_SUMMARY);

  G_OBJECT_CLASS (lens_dataset_summary_parent_class)->dispose (object);
}

static void
lens_dataset_summary_finalize (GObject *object)
{
  LensDatasetSummary *self = LENS_DATASET_SUMMARY (object);

  g_clear_object (&self->rows);

  G_OBJECT_CLASS (lens_dataset_summary_parent_class)->finalize (object);
}

static void
lens_dataset_summary_class_init (LensDatasetSummaryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lens_dataset_summary_dispose;
  object_class->finalize = lens_dataset_summary_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               MSR_RESOURCE_PATH "/ui/lens-dataset-summary.ui");
  gtk_widget_class_bind_template_child (widget_class, LensDatasetSummary, name_label);
  gtk_widget_class_bind_template_child (widget_class, LensDatasetSummary, source_label);
  gtk_widget_class_bind_template_child (widget_class, LensDatasetSummary, scenarios_value);
  gtk_widget_class_bind_template_child (widget_class, LensDatasetSummary, rows_value);
  gtk_widget_class_bind_template_child (widget_class, LensDatasetSummary, users_value);
  gtk_widget_class_bind_template_child (widget_class, LensDatasetSummary, items_value);
  gtk_widget_class_bind_template_child (widget_class, LensDatasetSummary, positive_rate_value);
  gtk_widget_class_bind_template_child (widget_class, LensDatasetSummary, cards_box);
  gtk_widget_class_bind_template_child (widget_class, LensDatasetSummary, split_label);
  gtk_widget_class_bind_template_child (widget_class, LensDatasetSummary, overlap_label);
  gtk_widget_class_bind_template_child (widget_class, LensDatasetSummary, column_view);
  gtk_widget_class_bind_template_child (widget_class, LensDatasetSummary, notes_box);
  gtk_widget_class_bind_template_child (widget_class, LensDatasetSummary, notes_label);
}

static void
lens_dataset_summary_init (LensDatasetSummary *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  /* The cards only show numbers: no reason to stop on them with Tab. */
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->cards_box));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    gtk_widget_set_focusable (child, FALSE);

  self->rows = g_list_store_new (LENS_TYPE_SCENARIO_ROW);
  lens_dataset_summary_build_columns (self);
}

GtkWidget *
lens_dataset_summary_new (void)
{
  return g_object_new (LENS_TYPE_DATASET_SUMMARY, NULL);
}

static void
set_count (GtkLabel *label, guint64 n)
{
  g_autofree char *text = lens_format_count (n);
  gtk_label_set_text (label, text);
}

static void
lens_dataset_summary_clear (LensDatasetSummary *self)
{
  gtk_label_set_text (self->name_label, "");
  gtk_label_set_text (self->source_label, "");
  gtk_label_set_text (self->scenarios_value, "");
  gtk_label_set_text (self->rows_value, "");
  gtk_label_set_text (self->users_value, "");
  gtk_label_set_text (self->items_value, "");
  gtk_label_set_text (self->positive_rate_value, "");
  gtk_label_set_text (self->split_label, "");
  gtk_label_set_text (self->overlap_label, "");
  gtk_label_set_text (self->notes_label, "");
  gtk_widget_set_visible (self->notes_box, FALSE);
  g_list_store_remove_all (self->rows);
}

static void
lens_dataset_summary_show_notes (LensDatasetSummary *self,
                                 const MsrDataset   *ds)
{
  const char * const *notes = msr_dataset_get_notes (ds);
  gsize n_dropped = msr_dataset_get_n_dropped (ds);
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; notes != NULL && notes[i] != NULL; i++)
    {
      if (text->len > 0)
        g_string_append_c (text, '\n');
      g_string_append_printf (text, "• %s", notes[i]);
    }
  /* The engine's notes say why rows were dropped; without notes, at least
   * say how many. */
  if (text->len == 0 && n_dropped > 0)
    {
      g_autofree char *count = lens_format_count (n_dropped);
      g_string_append_printf (text, "• %s %s dropped by the import.",
                              count, n_dropped == 1 ? "row was" : "rows were");
    }

  gtk_label_set_text (self->notes_label, text->str);
  gtk_widget_set_visible (self->notes_box, text->len > 0);
}

void
lens_dataset_summary_set_dataset (LensDatasetSummary    *self,
                                  const MsrDataset      *ds,
                                  const MsrDatasetStats *stats)
{
  const MsrScenarioStats *total;
  g_autoptr(GPtrArray) items = NULL;
  g_autofree char *rate = NULL;
  g_autofree char *train = NULL, *valid = NULL, *test = NULL;
  g_autofree char *in_all = NULL, *users = NULL;
  g_autofree char *split_text = NULL, *overlap_text = NULL;

  g_return_if_fail (LENS_IS_DATASET_SUMMARY (self));
  g_return_if_fail ((ds == NULL) == (stats == NULL));

  lens_dataset_summary_clear (self);
  if (ds == NULL)
    return;

  total = &stats->total;
  gtk_label_set_text (self->name_label, msr_dataset_get_name (ds));
  gtk_label_set_text (self->source_label, msr_dataset_get_source (ds));

  set_count (self->scenarios_value, stats->n_scenarios);
  set_count (self->rows_value, total->rows);
  set_count (self->users_value, total->users);
  set_count (self->items_value, total->items);
  rate = lens_format_percent (total->rows > 0
                              ? (double) total->positives / (double) total->rows
                              : NAN);
  gtk_label_set_text (self->positive_rate_value, rate);

  train = lens_format_count (total->rows_by_split[MSR_SPLIT_TRAIN]);
  valid = lens_format_count (total->rows_by_split[MSR_SPLIT_VALID]);
  test = lens_format_count (total->rows_by_split[MSR_SPLIT_TEST]);
  split_text = g_strdup_printf ("Split: %s training, %s validation and %s test rows.",
                                train, valid, test);
  gtk_label_set_text (self->split_label, split_text);

  in_all = lens_format_count (stats->users_in_all);
  users = lens_format_count (total->users);
  if (stats->n_scenarios > 1)
    overlap_text = g_strdup_printf ("%s of %s users appear in every scenario.", in_all, users);
  gtk_label_set_text (self->overlap_label, overlap_text ? overlap_text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->overlap_label), overlap_text != NULL);

  lens_dataset_summary_show_notes (self, ds);

  /* Fill the store in one splice: one items-changed for the whole table. */
  items = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < stats->n_scenarios; i++)
    {
      const char *description = NULL;

      /* The stats list the dataset's scenarios in order; check anyway. */
      if (i < msr_dataset_get_n_scenarios (ds) &&
          g_strcmp0 (msr_dataset_get_scenario_name (ds, i), stats->scenarios[i].name) == 0)
        description = msr_dataset_get_scenario_description (ds, i);
      g_ptr_array_add (items, lens_scenario_row_new (&stats->scenarios[i], description));
    }
  g_list_store_splice (self->rows, 0, 0, items->pdata, items->len);
}

GListModel *
lens_dataset_summary_get_model (LensDatasetSummary *self)
{
  g_return_val_if_fail (LENS_IS_DATASET_SUMMARY (self), NULL);
  return G_LIST_MODEL (self->rows);
}

GtkColumnView *
lens_dataset_summary_get_column_view (LensDatasetSummary *self)
{
  g_return_val_if_fail (LENS_IS_DATASET_SUMMARY (self), NULL);
  return self->column_view;
}

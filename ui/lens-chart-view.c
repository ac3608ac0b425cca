/* lens-chart-view.c: one LensChart on screen.
 *
 * The chart draws itself through gtk_snapshot_append_cairo with the same
 * routine that exports it, and records where its items went; this widget
 * only maps pointer and keys to items: hover read-outs as tooltips, click
 * and arrow-key selection with a ring around the selected item. */
#include "config.h"

#include "lens-chart-view.h"
#include "lens-export.h"

#include <adwaita.h>
#include <math.h>

struct _LensChartView
{
  GtkWidget parent_instance;

  LensChart *chart;
  int        selected;
  int        hover;
  char      *readout;
  GtkWidget *menu;       /* the context menu: export, copy the data */
};

G_DEFINE_FINAL_TYPE (LensChartView, lens_chart_view, GTK_TYPE_WIDGET)

enum {
  ITEM_SELECTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
lens_chart_view_update_readout (LensChartView *self)
{
  int item = self->hover >= 0 ? self->hover : self->selected;

  g_clear_pointer (&self->readout, g_free);
  if (self->chart != NULL && item >= 0)
    self->readout = lens_chart_describe_item (self->chart, (guint) item);
}

void
lens_chart_view_get_style (LensChartView  *self,
                           LensChartStyle *style)
{
  g_return_if_fail (LENS_IS_CHART_VIEW (self));
  g_return_if_fail (style != NULL);

  /* The default type, not the interface font: an export with the
   * default style then sets text exactly as the screen did. */
  lens_chart_style_init (style, adw_style_manager_get_dark (adw_style_manager_get_default ()));
}

/* A rounded ring just outside the item: 2 units in the accent colour when
 * the widget has focus, thinner and fainter otherwise, so the selection
 * stays visible when focus moves to a table. */
static void
draw_ring (cairo_t      *cr,
           const double  rect[4],
           const double  rgb[3],
           double        alpha,
           double        width)
{
  double x = rect[0] - 3, y = rect[1] - 3, w = rect[2] + 6, h = rect[3] + 6, r = 4;

  cairo_new_path (cr);
  cairo_arc (cr, x + w - r, y + r, r, -G_PI / 2, 0);
  cairo_arc (cr, x + w - r, y + h - r, r, 0, G_PI / 2);
  cairo_arc (cr, x + r, y + h - r, r, G_PI / 2, G_PI);
  cairo_arc (cr, x + r, y + r, r, G_PI, 3 * G_PI / 2);
  cairo_close_path (cr);
  cairo_set_source_rgba (cr, rgb[0], rgb[1], rgb[2], alpha);
  cairo_set_line_width (cr, width);
  cairo_stroke (cr);
}

static void
lens_chart_view_snapshot (GtkWidget   *widget,
                          GtkSnapshot *snapshot)
{
  LensChartView *self = LENS_CHART_VIEW (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  LensChartStyle style;
  double rect[4];
  cairo_t *cr;

  if (self->chart == NULL || width <= 0 || height <= 0)
    return;

  lens_chart_view_get_style (self, &style);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  lens_chart_draw (self->chart, cr, width, height, &style);

  if (self->hover >= 0 && self->hover != self->selected &&
      lens_chart_get_item_rect (self->chart, (guint) self->hover, rect))
    {
      double fg[3] = { style.dark ? 1.0 : 0.0, style.dark ? 1.0 : 0.0, style.dark ? 1.0 : 0.0 };
      draw_ring (cr, rect, fg, 0.45, 1.0);
    }
  if (self->selected >= 0 && lens_chart_get_item_rect (self->chart, (guint) self->selected, rect))
    {
      /* libadwaita's accent blue for each style. */
      double accent[3];

      if (style.dark)
        {
          accent[0] = 0x78 / 255.0; accent[1] = 0xAE / 255.0; accent[2] = 0xED / 255.0;
        }
      else
        {
          accent[0] = 0x1C / 255.0; accent[1] = 0x71 / 255.0; accent[2] = 0xD8 / 255.0;
        }
      if (gtk_widget_has_focus (widget))
        draw_ring (cr, rect, accent, 1.0, 2.0);
      else
        draw_ring (cr, rect, accent, 0.7, 1.5);
    }
  cairo_destroy (cr);
}

static void
lens_chart_view_measure (GtkWidget      *widget,
                         GtkOrientation  orientation,
                         int             for_size,
                         int            *minimum,
                         int            *natural,
                         int            *minimum_baseline,
                         int            *natural_baseline)
{
  /* Small enough for a sidebar card, large enough that axes and a legend
   * still fit (the chart shrinks its type down to 70% before that). */
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 320;
      *natural = 640;
    }
  else
    {
      *minimum = 200;
      *natural = 400;
    }
}

static gboolean
lens_chart_view_query_tooltip (GtkWidget  *widget,
                               int         x,
                               int         y,
                               gboolean    keyboard_mode,
                               GtkTooltip *tooltip)
{
  LensChartView *self = LENS_CHART_VIEW (widget);
  g_autofree char *text = NULL;
  double rect[4];
  int item;

  if (self->chart == NULL)
    return FALSE;
  item = lens_chart_hit (self->chart, x, y);
  /* Over empty space with the keyboard in use, read out the selection. */
  if (item < 0 && (keyboard_mode || gtk_widget_has_focus (widget)))
    item = self->selected;
  if (item < 0)
    return FALSE;

  text = lens_chart_describe_item (self->chart, (guint) item);
  gtk_tooltip_set_text (tooltip, text);
  if (lens_chart_get_item_rect (self->chart, (guint) item, rect))
    {
      GdkRectangle area = {
        (int) floor (rect[0]), (int) floor (rect[1]),
        (int) ceil (rect[2]) + 1, (int) ceil (rect[3]) + 1,
      };
      gtk_tooltip_set_tip_area (tooltip, &area);
    }
  return TRUE;
}

static void
lens_chart_view_set_hover (LensChartView *self,
                           int            item)
{
  if (item == self->hover)
    return;
  self->hover = item;
  lens_chart_view_update_readout (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_motion (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           LensChartView            *self)
{
  lens_chart_view_set_hover (self, self->chart != NULL ? lens_chart_hit (self->chart, x, y) : -1);
}

static void
on_leave (GtkEventControllerMotion *controller,
          LensChartView            *self)
{
  lens_chart_view_set_hover (self, -1);
}

static void
on_pressed (GtkGestureClick *gesture,
            int              n_press,
            double           x,
            double           y,
            LensChartView   *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self));
  if (self->chart != NULL)
    lens_chart_view_set_selected (self, lens_chart_hit (self->chart, x, y));
}

/* The item the key direction leads to from the current one. Arrows follow
 * reading order (item index); in a grid, Up and Down move by a row. The
 * first arrow press selects the first item. */
static int
lens_chart_view_target (LensChartView *self,
                        const char    *direction)
{
  guint n = lens_chart_get_n_items (self->chart);
  guint cols = lens_chart_get_grid_columns (self->chart);
  int cur = self->selected;

  if (n == 0)
    return -1;
  if (g_str_equal (direction, "home"))
    return 0;
  if (g_str_equal (direction, "end"))
    return (int) n - 1;
  if (cur < 0)
    return 0;
  if (g_str_equal (direction, "right"))
    return MIN (cur + 1, (int) n - 1);
  if (g_str_equal (direction, "left"))
    return MAX (cur - 1, 0);
  if (g_str_equal (direction, "down"))
    return cols > 0 ? (cur + (int) cols < (int) n ? cur + (int) cols : cur) : MIN (cur + 1, (int) n - 1);
  if (g_str_equal (direction, "up"))
    return cols > 0 ? (cur >= (int) cols ? cur - (int) cols : cur) : MAX (cur - 1, 0);
  return cur;
}

/* "chart.move" ("left", "right", "up", "down", "home" or "end"): what the
 * arrow keys are bound to; tests and pages can activate it directly. */
static void
move_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  LensChartView *self = LENS_CHART_VIEW (widget);

  if (self->chart == NULL)
    return;
  lens_chart_view_set_selected (self, lens_chart_view_target (self, g_variant_get_string (parameter, NULL)));
  gtk_widget_trigger_tooltip_query (widget);
}

static void
on_focus_changed (LensChartView *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* "chart.export": the Export dialog for this chart alone (every chart on
 * a page can be exported, not only the one the window's button takes). */
static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  LensChartView *self = LENS_CHART_VIEW (widget);
  GtkRoot *root = gtk_widget_get_root (widget);

  if (self->chart == NULL)
    return;
  g_autofree char *stem = lens_export_stem_from_title (lens_chart_get_title (self->chart));
  lens_export_ask (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, stem, self->chart, NULL);
}

/* "chart.copy-data": the numbers behind the chart, as CSV. */
static void
copy_data_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  LensChartView *self = LENS_CHART_VIEW (widget);

  if (self->chart == NULL)
    return;
  g_autofree char *csv = lens_chart_to_csv (self->chart);
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), csv);
}

static void
show_menu_at (LensChartView *self, double x, double y)
{
  if (self->chart == NULL)
    return;
  GdkRectangle at = { (int) x, (int) y, 1, 1 };
  gtk_popover_set_pointing_to (GTK_POPOVER (self->menu), &at);
  gtk_popover_popup (GTK_POPOVER (self->menu));
}

/* "chart.menu": Shift+F10 or the Menu key opens it at the widget's centre. */
static void
menu_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  show_menu_at (LENS_CHART_VIEW (widget), gtk_widget_get_width (widget) / 2.0, gtk_widget_get_height (widget) / 2.0);
}

static void
on_secondary_pressed (GtkGestureClick *gesture,
                      int              n_press,
                      double           x,
                      double           y,
                      LensChartView   *self)
{
  show_menu_at (self, x, y);
}

static void
lens_chart_view_size_allocate (GtkWidget *widget,
                               int        width,
                               int        height,
                               int        baseline)
{
  gtk_popover_present (GTK_POPOVER (LENS_CHART_VIEW (widget)->menu));
}

static void
lens_chart_view_dispose (GObject *object)
{
  LensChartView *self = LENS_CHART_VIEW (object);

  g_clear_object (&self->chart);
  g_clear_pointer (&self->menu, gtk_widget_unparent);

  G_OBJECT_CLASS (lens_chart_view_parent_class)->dispose (object);
}

static void
lens_chart_view_finalize (GObject *object)
{
  LensChartView *self = LENS_CHART_VIEW (object);

  g_free (self->readout);

  G_OBJECT_CLASS (lens_chart_view_parent_class)->finalize (object);
}

static void
add_move_binding (GtkWidgetClass *widget_class,
                  guint           key,
                  guint           keypad_key,
                  const char     *direction)
{
  gtk_widget_class_add_binding_action (widget_class, key, 0, "chart.move", "s", direction);
  gtk_widget_class_add_binding_action (widget_class, keypad_key, 0, "chart.move", "s", direction);
}

static void
lens_chart_view_class_init (LensChartViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lens_chart_view_dispose;
  object_class->finalize = lens_chart_view_finalize;
  widget_class->snapshot = lens_chart_view_snapshot;
  widget_class->measure = lens_chart_view_measure;
  widget_class->query_tooltip = lens_chart_view_query_tooltip;
  widget_class->size_allocate = lens_chart_view_size_allocate;

  /**
   * LensChartView::item-selected:
   * @item: the selected item, or -1 for none
   *
   * The selection changed, by click, key or lens_chart_view_set_selected().
   */
  signals[ITEM_SELECTED] = g_signal_new ("item-selected",
                                         G_TYPE_FROM_CLASS (klass),
                                         G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL,
                                         G_TYPE_NONE, 1, G_TYPE_INT);

  gtk_widget_class_install_action (widget_class, "chart.move", "s", move_action);
  gtk_widget_class_install_action (widget_class, "chart.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "chart.copy-data", NULL, copy_data_action);
  gtk_widget_class_install_action (widget_class, "chart.menu", NULL, menu_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F10, GDK_SHIFT_MASK, "chart.menu", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Menu, 0, "chart.menu", NULL);
  add_move_binding (widget_class, GDK_KEY_Left, GDK_KEY_KP_Left, "left");
  add_move_binding (widget_class, GDK_KEY_Right, GDK_KEY_KP_Right, "right");
  add_move_binding (widget_class, GDK_KEY_Up, GDK_KEY_KP_Up, "up");
  add_move_binding (widget_class, GDK_KEY_Down, GDK_KEY_KP_Down, "down");
  add_move_binding (widget_class, GDK_KEY_Home, GDK_KEY_KP_Home, "home");
  add_move_binding (widget_class, GDK_KEY_End, GDK_KEY_KP_End, "end");

  gtk_widget_class_set_css_name (widget_class, "lens-chart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lens_chart_view_init (LensChartView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkEventController *motion = gtk_event_controller_motion_new ();
  GtkGesture *click = gtk_gesture_click_new ();
  GtkEventController *focus = gtk_event_controller_focus_new ();

  self->selected = -1;
  self->hover = -1;

  gtk_widget_set_focusable (widget, TRUE);
  gtk_widget_set_focus_on_click (widget, TRUE);
  gtk_widget_set_has_tooltip (widget, TRUE);
  gtk_widget_set_hexpand (widget, TRUE);
  gtk_widget_set_vexpand (widget, TRUE);

  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (widget, motion);

  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_PRIMARY);
  g_signal_connect (click, "pressed", G_CALLBACK (on_pressed), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (click));

  GtkGesture *secondary = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (secondary), GDK_BUTTON_SECONDARY);
  g_signal_connect (secondary, "pressed", G_CALLBACK (on_secondary_pressed), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (secondary));

  g_autoptr(GMenu) menu = g_menu_new ();
  g_menu_append (menu, "_Export Chart…", "chart.export");
  g_menu_append (menu, "_Copy Data as CSV", "chart.copy-data");
  self->menu = gtk_popover_menu_new_from_model (G_MENU_MODEL (menu));
  gtk_popover_set_has_arrow (GTK_POPOVER (self->menu), FALSE);
  gtk_widget_set_halign (self->menu, GTK_ALIGN_START);
  gtk_widget_set_parent (self->menu, widget);

  /* The ring is drawn stronger while focused. */
  g_signal_connect_swapped (focus, "enter", G_CALLBACK (on_focus_changed), self);
  g_signal_connect_swapped (focus, "leave", G_CALLBACK (on_focus_changed), self);
  gtk_widget_add_controller (widget, focus);

  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (gtk_widget_queue_draw), self, G_CONNECT_SWAPPED);
}

GtkWidget *
lens_chart_view_new (void)
{
  return g_object_new (LENS_TYPE_CHART_VIEW, NULL);
}

void
lens_chart_view_set_chart (LensChartView *self,
                           LensChart     *chart)
{
  g_return_if_fail (LENS_IS_CHART_VIEW (self));
  g_return_if_fail (chart == NULL || LENS_IS_CHART (chart));

  if (chart == self->chart)
    return;
  g_set_object (&self->chart, chart);
  self->hover = -1;

  if (chart != NULL)
    {
      g_autofree char *description = lens_chart_describe (chart);

      gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, lens_chart_get_title (chart),
                                      GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description,
                                      -1);
    }
  else
    {
      gtk_accessible_reset_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL);
      gtk_accessible_reset_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
    }

  /* Item indices mean nothing in another chart. */
  if (self->selected != -1)
    lens_chart_view_set_selected (self, -1);
  lens_chart_view_update_readout (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

LensChart *
lens_chart_view_get_chart (LensChartView *self)
{
  g_return_val_if_fail (LENS_IS_CHART_VIEW (self), NULL);
  return self->chart;
}

int
lens_chart_view_get_selected (LensChartView *self)
{
  g_return_val_if_fail (LENS_IS_CHART_VIEW (self), -1);
  return self->selected;
}

void
lens_chart_view_set_selected (LensChartView *self,
                              int            item)
{
  g_return_if_fail (LENS_IS_CHART_VIEW (self));

  if (self->chart == NULL || item < 0 || (guint) item >= lens_chart_get_n_items (self->chart))
    item = -1;
  if (item == self->selected)
    return;
  self->selected = item;
  lens_chart_view_update_readout (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[ITEM_SELECTED], 0, item);
}

const char *
lens_chart_view_get_readout (LensChartView *self)
{
  g_return_val_if_fail (LENS_IS_CHART_VIEW (self), NULL);
  return self->readout;
}

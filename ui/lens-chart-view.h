/* lens-chart-view.h: a widget showing one LensChart: hover read-outs
 * (tooltip), click and keyboard selection (arrow keys, Home/End), focus
 * ring on the selected item, light/dark from the system, and an accessible
 * image role whose label is the chart's title and description its summary. */
#pragma once

#include <gtk/gtk.h>
#include "lens-chart.h"

G_BEGIN_DECLS

#define LENS_TYPE_CHART_VIEW (lens_chart_view_get_type ())
G_DECLARE_FINAL_TYPE (LensChartView, lens_chart_view, LENS, CHART_VIEW, GtkWidget)

GtkWidget *lens_chart_view_new          (void);
void       lens_chart_view_set_chart    (LensChartView *self, LensChart *chart);
LensChart *lens_chart_view_get_chart    (LensChartView *self);
/* -1 when nothing is selected. "item-selected" (int item) is emitted on
 * every change, by click or key. */
int        lens_chart_view_get_selected (LensChartView *self);
void       lens_chart_view_set_selected (LensChartView *self, int item);
/* The read-out of the item under the pointer or selected, or NULL. */
const char *lens_chart_view_get_readout (LensChartView *self);
/* The style the widget draws with now (light or dark). */
void       lens_chart_view_get_style    (LensChartView *self, LensChartStyle *style);

G_END_DECLS

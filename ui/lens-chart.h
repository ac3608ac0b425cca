/* lens-chart.h: the workbench's charts as data plus one cairo drawing
 * routine per kind. The same routine draws on screen (LensChartView) and
 * into PNG, SVG and PDF files, so an exported figure is what the user saw.
 *
 * A chart is immutable once built: constructors copy their arrays. NaN
 * values are drawn as "no data" (a hatched cell, a missing bar) and
 * described as "undefined". */
#pragma once

#include <cairo.h>
#include <glib-object.h>

G_BEGIN_DECLS

#define LENS_TYPE_CHART (lens_chart_get_type ())
G_DECLARE_FINAL_TYPE (LensChart, lens_chart, LENS, CHART, GObject)

typedef enum {
  LENS_CHART_BAR,        /* grouped bars with confidence whiskers */
  LENS_CHART_HEATMAP,    /* rows × columns, colour scale legend, cell labels */
  LENS_CHART_DIVERGING,  /* horizontal Δ bars around 0 with CIs */
  LENS_CHART_SCATTER,    /* labelled points, optional log x axis */
  LENS_CHART_LINE,       /* series of (x, y) points */
  LENS_CHART_SCATTER_GROUPS, /* many unlabelled points coloured by group */
} LensChartKind;

typedef enum {
  LENS_COLOR_SCALE_SEQUENTIAL,  /* low → high, one hue family */
  LENS_COLOR_SCALE_DIVERGING,   /* around a centre value (0 for Δ) */
} LensColorScale;

/* Colours and type for one rendering; the same chart renders light or dark. */
typedef struct {
  gboolean dark;
  double   font_size;       /* points at scale 1; default 10 */
  const char *font_family;  /* default "Sans" */
} LensChartStyle;

void lens_chart_style_init (LensChartStyle *style, gboolean dark);

/* The i-th colour of the colour-blind-safe categorical palette (Okabe–Ito
 * order), as RGB in [0, 1]. */
void lens_chart_palette (guint i, gboolean dark, double rgb[3]);

/* Grouped bars: groups (e.g. scenarios) along x, one bar per series (e.g.
 * model) in each group; lo/hi (nullable) are whisker ends; counts
 * (nullable) are shown in hover read-outs ("n = 2,145"). Values are
 * n_groups × n_series, row-major. y_min/y_max NaN = from the data. */
LensChart *lens_chart_new_bar        (const char          *title,
                                      const char          *y_label,
                                      guint                n_groups,
                                      const char * const  *group_labels,
                                      guint                n_series,
                                      const char * const  *series_labels,
                                      const double        *values,
                                      const double        *lo,
                                      const double        *hi,
                                      const guint64       *counts,
                                      double               y_min,
                                      double               y_max);

/* A heatmap: values n_rows × n_cols; marks (nullable, same shape) are short
 * texts drawn after the cell value (e.g. "*" for significance); the scale
 * is sequential or diverging around center; value_format is a printf
 * format for one double (e.g. "%.3f", "%+.1f%%"). */
LensChart *lens_chart_new_heatmap    (const char          *title,
                                      const char          *value_label,
                                      guint                n_rows,
                                      const char * const  *row_labels,
                                      guint                n_cols,
                                      const char * const  *col_labels,
                                      const double        *values,
                                      const char * const  *marks,
                                      LensColorScale       scale,
                                      double               center,
                                      const char          *value_format);

/* Diverging bars: one horizontal bar per item from 0 to delta, whiskers
 * lo..hi (nullable), p-values (nullable) shown as stars and in read-outs. */
LensChart *lens_chart_new_diverging  (const char          *title,
                                      const char          *x_label,
                                      guint                n,
                                      const char * const  *labels,
                                      const double        *delta,
                                      const double        *lo,
                                      const double        *hi,
                                      const double        *p);

/* Labelled points; log_x draws x on a log10 axis (x must be > 0); a
 * horizontal reference line at y = 0 when zero_line. */
LensChart *lens_chart_new_scatter    (const char          *title,
                                      const char          *x_label,
                                      const char          *y_label,
                                      guint                n,
                                      const char * const  *labels,
                                      const double        *x,
                                      const double        *y,
                                      gboolean             log_x,
                                      gboolean             zero_line);

/* Many points coloured by group, without text labels (e.g. users'
 * generated layers in 2-D, coloured by dominant scenario). point_names
 * (nullable: numbered) appear in read-outs only. group[i] is in
 * [0, n_groups) or -1 for none (grey, legend "none"); group (nullable)
 * and out-of-range entries mean none. Groups take the palette in order
 * and are drawn in order, "none" first, underneath. */
LensChart *lens_chart_new_scatter_groups (const char          *title,
                                          const char          *x_label,
                                          const char          *y_label,
                                          guint                n,
                                          const char * const  *point_names,
                                          const double        *x,
                                          const double        *y,
                                          const int           *group,
                                          guint                n_groups,
                                          const char * const  *group_labels);

/* Line series: series s has n_points[s] points (x[s][k], y[s][k]); an
 * optional marker index per series (−1 for none), e.g. the best epoch. */
LensChart *lens_chart_new_line       (const char          *title,
                                      const char          *x_label,
                                      const char          *y_label,
                                      guint                n_series,
                                      const char * const  *series_labels,
                                      const guint         *n_points,
                                      const double * const *x,
                                      const double * const *y,
                                      const int           *markers);

LensChartKind lens_chart_get_kind    (LensChart *chart);
const char   *lens_chart_get_title   (LensChart *chart);

/* Draws the whole chart (title, axes, ticks, labels, legend) into the
 * width × height rectangle at the origin of cr. Also records where each
 * item was drawn, for lens_chart_hit. */
void          lens_chart_draw        (LensChart            *chart,
                                      cairo_t              *cr,
                                      double                width,
                                      double                height,
                                      const LensChartStyle *style);

/* Items are the hoverable marks: bars (group × series), cells, points,
 * line points. Index order is reading order (for keyboard navigation). */
guint         lens_chart_get_n_items (LensChart *chart);
/* The item under (x, y) in the coordinates of the last draw, or -1. */
int           lens_chart_hit         (LensChart *chart, double x, double y);
/* The item's rectangle in the last draw's coordinates (for focus rings). */
gboolean      lens_chart_get_item_rect (LensChart *chart, guint item, double rect[4]);
/* A read-out: "STAR · Family: AUC 0.7921 [0.7741, 0.8101], n = 2,145". */
char         *lens_chart_describe_item (LensChart *chart, guint item);
/* A one-paragraph text summary of the chart for screen readers. */
char         *lens_chart_describe    (LensChart *chart);

/* The data behind the chart as CSV (RFC 4180, header line). */
char         *lens_chart_to_csv      (LensChart *chart);

typedef enum {
  LENS_EXPORT_PNG,
  LENS_EXPORT_SVG,
  LENS_EXPORT_PDF,
} LensExportFormat;

/* Writes the chart to path (temporary file, then rename). width and height
 * are in points (1/72 in); PNG is rendered at dpi (e.g. 192 for a slide). */
gboolean      lens_chart_export      (LensChart            *chart,
                                      const char           *path,
                                      LensExportFormat      format,
                                      double                width,
                                      double                height,
                                      double                dpi,
                                      const LensChartStyle *style,
                                      GError              **error);
/* From a file name's extension (.png, .svg, .pdf); FALSE otherwise. */
gboolean      lens_export_format_from_path (const char *path, LensExportFormat *format);

/* Additions. */

/* For keyboard navigation: the number of items per row when the items form
 * a grid (a heatmap's columns), else 0 (items form one sequence). */
guint         lens_chart_get_grid_columns (LensChart *chart);

/* A short footnote drawn under the title and read after the summary, e.g.
 * what a heatmap's marks mean ("* p < 0.05, Holm-corrected"). Set it before
 * the chart is shown; NULL removes it. */
void          lens_chart_set_note    (LensChart *chart, const char *note);

/* Heatmaps: a fixed colour-scale range [lo, hi] (lo ≤ hi) instead of the
 * data's, so two matrices drawn side by side share one scale. NaN leaves
 * that end to the data. A diverging scale stays symmetric about its centre (the larger
 * distance of lo and hi from it); values outside the range get the end
 * colour. Set it before the chart is shown. */
void          lens_chart_set_value_range (LensChart *chart, double lo, double hi);

/* Heatmaps: from the last draw on screen (exports leave it alone), every
 * how many rows and columns carry a label (1 = all; 2, 4, 8, … when cells
 * are smaller than their labels); 0 before the first draw. */
void          lens_chart_get_label_steps (LensChart *chart, guint *row_step, guint *col_step);

G_END_DECLS

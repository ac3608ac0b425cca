/* test-charts.c: the charts (drawing, hit testing, read-outs, export, CSV),
 * the chart view and the table, headless under Xvfb.
 *
 * Expected values are written out here from the data each test builds:
 * read-outs are spelled by hand, positions are checked against the order
 * and ratios of the data (a larger value draws a taller bar, equal ratios
 * on a log axis give equal distances), CSV is read back with a separate
 * RFC 4180 reader, SVG with GMarkup. */
#include "config.h"
#include "test-util.h"
#include "test-gtk-util.h"

#include <adwaita.h>
#include <math.h>
#include <string.h>

#include "lens-chart.h"
#include "lens-chart-view.h"
#include "lens-export.h"
#include "lens-table.h"

static char *tmp_root;

/* ---- fixtures ------------------------------------------------------------- */

static const char *scenarios[] = { "Action", "Comedy", "Drama", "Thriller", "Children's" };
static const char *models[] = { "Shared-Bottom", "MMoE", "PLE", "STAR", "SAR-Net", "M2M", "HiNet" };

/* 5 scenarios × 7 models, AUCs in 0.72–0.82 with ±0.01 intervals; one bar
 * undefined. */
static LensChart *
make_bar (gboolean with_nan)
{
  double v[35], lo[35], hi[35];
  guint64 n[35];

  for (guint g = 0; g < 5; g++)
    for (guint s = 0; s < 7; s++)
      {
        guint i = g * 7 + s;
        v[i] = 0.72 + 0.0125 * s + 0.004 * g;
        lo[i] = v[i] - 0.01;
        hi[i] = v[i] + 0.01;
        n[i] = 1000 + 37 * i;
      }
  if (with_nan)
    v[9] = NAN;
  return lens_chart_new_bar ("AUC per scenario", "AUC", 5, scenarios, 7, models,
                             v, lo, hi, n, NAN, NAN);
}

static LensChart *
make_heatmap (void)
{
  double v[25];
  const char *marks[25] = { NULL };

  for (guint r = 0; r < 5; r++)
    for (guint c = 0; c < 5; c++)
      v[r * 5 + c] = r == c ? 1.0 : 0.1 * (r + c) - 0.35;
  v[3 * 5 + 4] = NAN;
  marks[0 * 5 + 1] = "*";
  v[0 * 5 + 1] = 0.512;
  return lens_chart_new_heatmap ("Scenario correlation", "Pearson r", 5, scenarios, 5, scenarios,
                                 v, marks, LENS_COLOR_SCALE_DIVERGING, 0.0, "%.3f");
}

static LensChart *
make_sequential_heatmap (void)
{
  double v[6] = { 0.70, 0.74, 0.78, 0.72, NAN, 0.82 };
  const char *rows[] = { "MMoE", "PLE" };
  const char *cols[] = { "Action", "Comedy", "Drama" };

  return lens_chart_new_heatmap ("AUC", "AUC", 2, rows, 3, cols, v, NULL,
                                 LENS_COLOR_SCALE_SEQUENTIAL, 0.0, "%.2f");
}

static LensChart *
make_diverging (gboolean whiskers)
{
  double d[5] = { 0.0123, -0.0123, 0.0042, 0.0195, -0.0152 };
  double lo[5] = { 0.0046, -0.0200, -0.0020, 0.0130, -0.0210 };
  double hi[5] = { 0.0200, -0.0046, 0.0104, 0.0260, -0.0094 };
  double p[5] = { 0.0031, 0.0031, 0.38, 0.00004, 0.03 };

  return lens_chart_new_diverging ("Seesaw", "ΔAUC", 5, scenarios, d,
                                   whiskers ? lo : NULL, whiskers ? hi : NULL, p);
}

static LensChart *
make_scatter (gboolean log_x)
{
  double x[4] = { 10, 100, 1000, 18210 };
  double y[4] = { 0.01, -0.02, 0.005, 0.012 };
  const char *labels[4] = { "Documentary", "Children's", "Thriller", "Action" };

  return lens_chart_new_scatter ("Gain against size", "rows", "ΔAUC", 4, labels, x, y, log_x, TRUE);
}

static LensChart *
make_line (void)
{
  static double xa[6] = { 1, 2, 3, 4, 5, 6 }, ya[6] = { 0.52, 0.47, 0.45, 0.44, 0.443, 0.446 };
  static double xb[4] = { 1, 2, 3, 4 }, yb[4] = { 0.50, 0.44, 0.4012, 0.41 };
  const double *x[2] = { xa, xb }, *y[2] = { ya, yb };
  const guint n[2] = { 6, 4 };
  const int markers[2] = { 3, 2 };
  const char *names[2] = { "MMoE", "STAR" };

  return lens_chart_new_line ("Validation logloss", "Epoch", "Logloss", 2, names, n, x, y, markers);
}

/* Users' layers in 2-D: five groups of points on small rings around the
 * corners of a pentagon, none closer than about 0.2 to another; u12
 * (item 11) placed by hand; u3 has no group, u41 an out-of-range one. */
static const char *sg_groups[] = { "Comedy/Romance", "Action", "Drama", "Thriller, Crime", "Children's" };
#define SG_N 42

static LensChart *
make_scatter_groups (void)
{
  double x[SG_N], y[SG_N];
  int g[SG_N];
  char *names[SG_N];
  LensChart *chart;

  for (guint i = 0; i < SG_N; i++)
    {
      guint k = i / 5;

      g[i] = (int) (i % 5);
      x[i] = cos (2 * G_PI * g[i] / 5) + 0.25 * cos (2 * G_PI * k / 9);
      y[i] = sin (2 * G_PI * g[i] / 5) + 0.25 * sin (2 * G_PI * k / 9);
      names[i] = g_strdup_printf ("u%u", i + 1);
    }
  g[11] = 0;
  x[11] = 0.123;
  y[11] = -0.456;
  g[2] = -1;
  x[2] = 0;
  y[2] = 0;
  g[40] = 9;
  x[40] = 0.15;
  y[40] = 0.25;
  chart = lens_chart_new_scatter_groups ("Users' generated layers", "PC1", "PC2", SG_N,
                                         (const char * const *) names, x, y, g, 5, sg_groups);
  for (guint i = 0; i < SG_N; i++)
    g_free (names[i]);
  return chart;
}

typedef LensChart *(*MakeChart) (void);

static LensChart *make_bar_nan (void) { return make_bar (TRUE); }
static LensChart *make_diverging_ci (void) { return make_diverging (TRUE); }
static LensChart *make_scatter_log (void) { return make_scatter (TRUE); }

static const struct {
  const char *name;
  MakeChart   make;
  gboolean    points;   /* items are marks around a point, not filled boxes */
} kinds[] = {
  { "bar", make_bar_nan, FALSE },
  { "heatmap", make_heatmap, FALSE },
  { "heatmap-sequential", make_sequential_heatmap, FALSE },
  { "diverging", make_diverging_ci, FALSE },
  { "scatter", make_scatter_log, TRUE },
  { "line", make_line, TRUE },
  { "scatter-groups", make_scatter_groups, TRUE },
};

/* ---- pixels --------------------------------------------------------------- */

static guint32
pixel (cairo_surface_t *surface,
       int              x,
       int              y)
{
  const guchar *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);

  x = CLAMP (x, 0, cairo_image_surface_get_width (surface) - 1);
  y = CLAMP (y, 0, cairo_image_surface_get_height (surface) - 1);
  return *(const guint32 *) (data + (gsize) y * stride + (gsize) x * 4) & 0xffffff;
}

/* Fraction of the pixels in the rectangle that are not the background. */
static double
non_background (cairo_surface_t *surface,
                const double     r[4],
                guint32          bg)
{
  int x0 = (int) floor (r[0]), y0 = (int) floor (r[1]);
  int x1 = (int) ceil (r[0] + r[2]), y1 = (int) ceil (r[1] + r[3]);
  guint total = 0, differ = 0;

  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      {
        total++;
        differ += pixel (surface, x, y) != bg;
      }
  return total > 0 ? (double) differ / total : 0.0;
}

static gboolean
near_point_drawn (cairo_surface_t *surface,
                  double           cx,
                  double           cy,
                  guint32          bg)
{
  for (int dy = -1; dy <= 1; dy++)
    for (int dx = -1; dx <= 1; dx++)
      if (pixel (surface, (int) floor (cx) + dx, (int) floor (cy) + dy) != bg)
        return TRUE;
  return FALSE;
}

static cairo_surface_t *
draw_to_image (LensChart *chart,
               int        width,
               int        height,
               gboolean   dark)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (surface);
  LensChartStyle style;

  lens_chart_style_init (&style, dark);
  lens_chart_draw (chart, cr, width, height, &style);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  g_assert_cmpint (cairo_surface_status (surface), ==, CAIRO_STATUS_SUCCESS);
  return surface;
}

/* ---- palette -------------------------------------------------------------- */

static void
test_palette (void)
{
  /* Okabe & Ito's published values. */
  static const int expected[8][3] = {
    { 0, 114, 178 }, { 230, 159, 0 }, { 0, 158, 115 }, { 213, 94, 0 },
    { 204, 121, 167 }, { 86, 180, 233 }, { 240, 228, 66 }, { 0, 0, 0 },
  };
  double rgb[3];

  for (guint i = 0; i < 8; i++)
    {
      lens_chart_palette (i, FALSE, rgb);
      for (int k = 0; k < 3; k++)
        g_assert_cmpint ((int) round (rgb[k] * 255), ==, expected[i][k]);
    }
  /* Black would vanish on a dark background. */
  lens_chart_palette (7, TRUE, rgb);
  g_assert_cmpfloat (rgb[0] + rgb[1] + rgb[2], >, 1.5);
  /* The palette repeats rather than running out. */
  lens_chart_palette (9, FALSE, rgb);
  g_assert_cmpint ((int) round (rgb[0] * 255), ==, 230);
}

/* ---- drawing -------------------------------------------------------------- */

static void
test_draw_kind (gconstpointer data)
{
  guint k = GPOINTER_TO_UINT (data);
  static const int sizes[][2] = { { 200, 120 }, { 640, 400 }, { 1280, 800 }, { 2400, 1600 } };

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (int dark = 0; dark <= 1; dark++)
      {
        g_autoptr(LensChart) chart = kinds[k].make ();
        int w = sizes[s][0], h = sizes[s][1];
        cairo_surface_t *surface = draw_to_image (chart, w, h, dark);
        guint32 bg = dark ? 0x1E1E1E : 0xFFFFFF;
        guint drawn = 0;

        g_assert_cmphex (pixel (surface, 0, 0), ==, bg);
        for (guint i = 0; i < lens_chart_get_n_items (chart); i++)
          {
            double r[4];

            if (!lens_chart_get_item_rect (chart, i, r))
              continue;
            drawn++;
            g_assert_cmpfloat (r[0], >=, -0.5);
            g_assert_cmpfloat (r[1], >=, -0.5);
            g_assert_cmpfloat (r[0] + r[2], <=, w + 0.5);
            g_assert_cmpfloat (r[1] + r[3], <=, h + 0.5);
            if (kinds[k].points)
              g_assert_true (near_point_drawn (surface, r[0] + r[2] / 2, r[1] + r[3] / 2, bg));
            else if (non_background (surface, r, bg) < 0.25)
              g_error ("%s at %d×%d (%s): item %u at (%.1f, %.1f, %.1f, %.1f) is mostly background",
                       kinds[k].name, w, h, dark ? "dark" : "light", i, r[0], r[1], r[2], r[3]);
          }
        /* Every item is drawn, the undefined ones as hatching. */
        g_assert_cmpuint (drawn, ==, lens_chart_get_n_items (chart));
        cairo_surface_destroy (surface);
      }
}

/* Bars: taller for larger values, from one baseline; the axis is zoomed
 * (AUCs near 0.75 are not drawn from 0) and the summary says so. */
static void
test_draw_bar_geometry (void)
{
  const char *groups[] = { "A", "B" };
  const char *series[] = { "x", "y", "z" };
  double v[6] = { 0.74, 0.78, 0.76, 0.80, 0.72, 0.75 };
  g_autoptr(LensChart) chart = lens_chart_new_bar ("t", "AUC", 2, groups, 3, series, v,
                                                   NULL, NULL, NULL, NAN, NAN);
  cairo_surface_t *surface = draw_to_image (chart, 800, 500, FALSE);
  g_autofree char *summary = lens_chart_describe (chart);
  double r[6][4];

  for (guint i = 0; i < 6; i++)
    g_assert_true (lens_chart_get_item_rect (chart, i, r[i]));
  for (guint i = 0; i < 6; i++)
    for (guint j = 0; j < 6; j++)
      {
        /* Same baseline. */
        g_assert_cmpfloat (fabs ((r[i][1] + r[i][3]) - (r[j][1] + r[j][3])), <, 1.0);
        if (v[i] > v[j])
          g_assert_cmpfloat (r[i][3], >, r[j][3]);
      }
  /* Heights above the baseline are proportional to value − axis start:
   * (0.80 − s) / (0.72 − s) = h3 / h4 gives the same s from any pair. */
  {
    double s1 = (v[3] * r[4][3] - v[4] * r[3][3]) / (r[4][3] - r[3][3]);
    double s2 = (v[1] * r[0][3] - v[0] * r[1][3]) / (r[0][3] - r[1][3]);
    g_assert_cmpfloat (fabs (s1 - s2), <, 0.003);
    g_assert_cmpfloat (s1, >, 0.5);     /* zoomed, not from zero */
    g_assert_cmpfloat (s1, <, 0.72);
  }
  g_assert_nonnull (strstr (summary, "not at zero"));
  /* Left to right in reading order. */
  g_assert_cmpfloat (r[0][0], <, r[1][0]);
  g_assert_cmpfloat (r[2][0], <, r[3][0]);
  cairo_surface_destroy (surface);

  /* Values near zero keep zero on the axis: no note. */
  {
    double small[6] = { 0.05, 0.4, 0.2, 0.3, 0.1, 0.25 };
    g_autoptr(LensChart) rates = lens_chart_new_bar ("r", NULL, 2, groups, 3, series, small,
                                                     NULL, NULL, NULL, NAN, NAN);
    g_autofree char *text = NULL;

    cairo_surface_destroy (draw_to_image (rates, 800, 500, FALSE));
    text = lens_chart_describe (rates);
    g_assert_null (strstr (text, "not at zero"));
  }
}

static double
luma (guint32 rgb)
{
  return 0.2126 * ((rgb >> 16) & 0xff) + 0.7152 * ((rgb >> 8) & 0xff) + 0.0722 * (rgb & 0xff);
}

/* Heatmap: the sequential scale runs dark to light; a NaN cell is hatched
 * (two colours inside it); value labels contrast with their cell. */
static void
test_draw_heatmap_colors (void)
{
  g_autoptr(LensChart) chart = make_sequential_heatmap ();
  cairo_surface_t *surface = draw_to_image (chart, 900, 600, FALSE);
  double lo[4], hi[4], nan_cell[4];
  guint32 first = 0, c_lo, c_hi;
  gboolean two_colours = FALSE;

  g_assert_true (lens_chart_get_item_rect (chart, 0, lo));     /* 0.70, the minimum */
  g_assert_true (lens_chart_get_item_rect (chart, 5, hi));     /* 0.82, the maximum */
  g_assert_true (lens_chart_get_item_rect (chart, 4, nan_cell));
  /* A corner of the cell: away from its label. */
  c_lo = pixel (surface, (int) lo[0] + 4, (int) lo[1] + 4);
  c_hi = pixel (surface, (int) hi[0] + 4, (int) hi[1] + 4);
  g_assert_cmpfloat (luma (c_hi), >, luma (c_lo) + 80);

  for (int y = (int) nan_cell[1] + 3; y < (int) (nan_cell[1] + nan_cell[3]) - 3; y++)
    for (int x = (int) nan_cell[0] + 3; x < (int) (nan_cell[0] + nan_cell[2]) - 3; x++)
      {
        guint32 p = pixel (surface, x, y);
        if (first == 0)
          first = p;
        else if (p != first)
          two_colours = TRUE;
      }
  g_assert_true (two_colours);
  cairo_surface_destroy (surface);
}

/* Diverging: gains right of the zero line, losses left; both start at it. */
static void
test_draw_diverging_geometry (void)
{
  g_autoptr(LensChart) chart = make_diverging (FALSE);
  cairo_surface_t *surface = draw_to_image (chart, 900, 500, FALSE);
  double gain[4], loss[4], small[4];

  g_assert_true (lens_chart_get_item_rect (chart, 0, gain));    /* +0.0123 */
  g_assert_true (lens_chart_get_item_rect (chart, 1, loss));    /* −0.0123 */
  g_assert_true (lens_chart_get_item_rect (chart, 2, small));   /* +0.0042 */
  g_assert_cmpfloat (fabs (gain[0] - (loss[0] + loss[2])), <, 1.5);
  g_assert_cmpfloat (fabs (gain[2] - loss[2]), <, 1.5);         /* same magnitude */
  g_assert_cmpfloat (fabs (small[2] / gain[2] - 0.0042 / 0.0123), <, 0.05);
  /* Items top to bottom in reading order. */
  g_assert_cmpfloat (gain[1], <, loss[1]);
  cairo_surface_destroy (surface);
}

/* Scatter: on a log axis, 10, 100 and 1000 are equally far apart. */
static void
test_draw_scatter_log (void)
{
  g_autoptr(LensChart) chart = make_scatter (TRUE);
  cairo_surface_t *surface = draw_to_image (chart, 900, 600, FALSE);
  double a[4], b[4], c[4];

  g_assert_true (lens_chart_get_item_rect (chart, 0, a));
  g_assert_true (lens_chart_get_item_rect (chart, 1, b));
  g_assert_true (lens_chart_get_item_rect (chart, 2, c));
  g_assert_cmpfloat (fabs ((b[0] - a[0]) - (c[0] - b[0])), <, 1.0);
  g_assert_cmpfloat (b[0] - a[0], >, 20);
  /* y grows upwards: 0.01 above −0.02. */
  g_assert_cmpfloat (a[1], <, b[1]);
  cairo_surface_destroy (surface);

  /* x ≤ 0 cannot be shown on a log axis: no rectangle, and said so. */
  {
    double x[2] = { 0, 10 }, y[2] = { 1, 2 };
    g_autoptr(LensChart) bad = lens_chart_new_scatter ("t", "x", "y", 2, NULL, x, y, TRUE, FALSE);
    g_autofree char *text = NULL;

    cairo_surface_destroy (draw_to_image (bad, 400, 300, FALSE));
    g_assert_false (lens_chart_get_item_rect (bad, 0, NULL));
    g_assert_true (lens_chart_get_item_rect (bad, 1, NULL));
    text = lens_chart_describe_item (bad, 0);
    g_assert_nonnull (strstr (text, "not shown"));
  }
}

static guint32
palette_hex (guint    i,
             gboolean dark)
{
  double rgb[3];

  lens_chart_palette (i, dark, rgb);
  return ((guint32) round (rgb[0] * 255) << 16) | ((guint32) round (rgb[1] * 255) << 8)
         | (guint32) round (rgb[2] * 255);
}

/* The first x in row y where at least 4 pixels in a row have colour c
 * (a swatch, not a stray anti-aliased pixel of text), or -1. */
static int
find_run (cairo_surface_t *surface,
          int              y,
          guint32          c)
{
  int w = cairo_image_surface_get_width (surface);

  for (int x = 0; x + 4 <= w; x++)
    if (pixel (surface, x, y) == c && pixel (surface, x + 1, y) == c &&
        pixel (surface, x + 2, y) == c && pixel (surface, x + 3, y) == c)
      return x;
  return -1;
}

/* Grouped scatter: every point is its group's colour (grey for none or an
 * out-of-range group), targets are at least 6 units; the legend above the
 * plot has one swatch per group in group order, "none" last, each
 * followed by its name. */
static void
test_draw_scatter_groups (void)
{
  for (int dark = 0; dark <= 1; dark++)
    {
      g_autoptr(LensChart) chart = make_scatter_groups ();
      cairo_surface_t *surface = draw_to_image (chart, 800, 500, dark);
      guint32 none = dark ? 0x808080 : 0x9A9A9A;
      guint32 bg = dark ? 0x1E1E1E : 0xFFFFFF;
      double plot_top = INFINITY, u3[4], u12[4];
      int swatch_x[6], row = -1;

      for (guint i = 0; i < SG_N; i++)
        {
          int group = i == 2 || i == 40 ? -1 : i == 11 ? 0 : (int) (i % 5);
          guint32 want = group < 0 ? none : palette_hex ((guint) group, dark);
          double r[4];

          g_assert_true (lens_chart_get_item_rect (chart, i, r));
          g_assert_cmpfloat (r[2], >=, 6);
          g_assert_cmpfloat (r[3], >=, 6);
          g_assert_cmpfloat (r[2], <=, 10);      /* small marks, for hundreds of points */
          g_assert_cmphex (pixel (surface, (int) floor (r[0] + r[2] / 2), (int) floor (r[1] + r[3] / 2)),
                           ==, want);
          plot_top = MIN (plot_top, r[1]);
        }
      /* Positions: u12 (0.123, −0.456) right of and below u3 (0, 0). */
      g_assert_true (lens_chart_get_item_rect (chart, 2, u3));
      g_assert_true (lens_chart_get_item_rect (chart, 11, u12));
      g_assert_cmpfloat (u12[0], >, u3[0] + 5);
      g_assert_cmpfloat (u12[1], >, u3[1] + 20);

      /* The legend's row: where group 0's swatch is, above the plot. */
      for (int y = 0; y < (int) plot_top - 4 && row < 0; y++)
        if (find_run (surface, y, palette_hex (0, dark)) >= 0)
          row = y + 3;
      g_assert_cmpint (row, >=, 0);
      for (guint g = 0; g < 6; g++)
        {
          swatch_x[g] = find_run (surface, row, g < 5 ? palette_hex (g, dark) : none);
          g_assert_cmpint (swatch_x[g], >=, 0);
          if (g == 0)
            continue;
          g_assert_cmpint (swatch_x[g], >, swatch_x[g - 1] + 20);
          /* A name between two swatches: text-coloured ink. */
          {
            gboolean text = FALSE;

            for (int y = row - 6; y <= row + 6 && !text; y++)
              for (int x = swatch_x[g - 1] + 12; x < swatch_x[g] - 2 && !text; x++)
                text = fabs (luma (pixel (surface, x, y)) - luma (bg)) > 150;
            g_assert_true (text);
          }
        }
      cairo_surface_destroy (surface);
    }

  /* Groups are drawn in order, "none" first: where points coincide, the
   * later group is on top whatever the order of the points. */
  {
    double x[4] = { 0, 0, 0, 1 }, y[4] = { 0, 0, 0, 1 };
    int g[4] = { 2, -1, 0, 1 };
    g_autoptr(LensChart) chart = lens_chart_new_scatter_groups ("t", "x", "y", 4, NULL, x, y, g, 3, NULL);
    cairo_surface_t *surface = draw_to_image (chart, 400, 300, FALSE);
    double r[4];

    g_assert_true (lens_chart_get_item_rect (chart, 2, r));
    g_assert_cmphex (pixel (surface, (int) floor (r[0] + r[2] / 2), (int) floor (r[1] + r[3] / 2)),
                     ==, palette_hex (2, FALSE));
    cairo_surface_destroy (surface);
  }
}

/* Weight matrices with labels "1".."n". */
static LensChart *
make_weights (guint R,
              guint C)
{
  g_autofree double *v = g_new (double, R * C);
  char **rows = g_new0 (char *, R + 1);
  char **cols = g_new0 (char *, C + 1);
  LensChart *chart;

  for (guint r = 0; r < R; r++)
    rows[r] = g_strdup_printf ("%u", r + 1);
  for (guint c = 0; c < C; c++)
    cols[c] = g_strdup_printf ("%u", c + 1);
  for (guint i = 0; i < R * C; i++)
    v[i] = 0.2 * sin (i / C * 0.3) * cos (i % C * 0.2);
  chart = lens_chart_new_heatmap ("W", "weight", R, (const char * const *) rows, C,
                                  (const char * const *) cols, v, NULL,
                                  LENS_COLOR_SCALE_DIVERGING, 0.0, "%.3f");
  g_strfreev (rows);
  g_strfreev (cols);
  return chart;
}

/* Labels every step-th cell along a row or column of n cells from
 * start: every labelled cell has ink near its centre, and all ink lies
 * within a labelled cell's slot (the step cells it stands for), so no
 * label reaches into the next one's room. across0..across1 is the strip
 * the labels are in. */
static void
assert_label_slots (cairo_surface_t *surface,
                    gboolean         vertical,
                    double           start,
                    double           cell,
                    guint            n,
                    guint            step,
                    int              across0,
                    int              across1)
{
  int from = (int) floor (start - step * cell / 2), to = (int) ceil (start + (n + step) * cell);

  for (int t = from; t < to; t++)
    {
      gboolean ink = FALSE;
      double k, centre;

      for (int a = across0; a < across1 && !ink; a++)
        ink = luma (vertical ? pixel (surface, a, t) : pixel (surface, t, a)) < 195;
      if (!ink)
        continue;
      /* The nearest labelled cell. */
      k = CLAMP (round ((t + 0.5 - start - cell / 2) / (step * cell)), 0, (n - 1) / step);
      centre = start + (k * step + 0.5) * cell;
      if (fabs (t + 0.5 - centre) >= step * cell / 2)
        g_error ("label ink at %d is outside the slot of cell %g (centre %.1f, half width %.1f)",
                 t, k * step, centre, step * cell / 2);
    }
  for (guint k = 0; k < n; k += step)
    {
      int centre = (int) floor (start + (k + 0.5) * cell);
      gboolean ink = FALSE;

      for (int t = centre - 3; t <= centre + 3; t++)
        for (int a = across0; a < across1 && !ink; a++)
          ink = luma (vertical ? pixel (surface, a, t) : pixel (surface, t, a)) < 195;
      if (!ink)
        g_error ("no label at cell %u", k);
    }
}

static gboolean
is_power_of_two (guint k)
{
  return k > 0 && (k & (k - 1)) == 0;
}

/* A 64 × 64 weight matrix: square cells, no value labels, and row and
 * column labels thinned to every k-th (k a power of two) so that each
 * drawn label stands apart from the next; 32 × 64 fills the width. Small
 * heatmaps keep every label. */
static void
test_draw_heatmap_dense (void)
{
  static const int sizes[][2] = { { 600, 400 }, { 800, 500 } };

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      g_autoptr(LensChart) chart = make_weights (64, 64);
      int w = sizes[s][0], h = sizes[s][1];
      cairo_surface_t *surface = draw_to_image (chart, w, h, FALSE);
      guint row_step = 0, col_step = 0;
      double first[4], last[4], gx0, gy0, gy1;
      g_autofree char *readout = lens_chart_describe_item (chart, 64 * 64 - 1);

      g_assert_true (lens_chart_get_item_rect (chart, 0, first));
      g_assert_true (lens_chart_get_item_rect (chart, 64 * 64 - 1, last));
      g_assert_cmpfloat (fabs (first[2] - first[3]), <, 1e-9);     /* square cells */
      gx0 = first[0];
      gy0 = first[1];
      gy1 = last[1] + last[3];

      lens_chart_get_label_steps (chart, &row_step, &col_step);
      g_test_message ("%d × %d: cells %.2f, every %u-th row, %u-th column", w, h, first[3], row_step, col_step);
      g_assert_cmpuint (row_step, >, 1);
      g_assert_cmpuint (col_step, >, 1);
      g_assert_true (is_power_of_two (row_step) && is_power_of_two (col_step));
      /* Row labels left of the grid, column labels under it. */
      assert_label_slots (surface, TRUE, gy0, first[3], 64, row_step, (int) gx0 - 60, (int) gx0 - 3);
      assert_label_slots (surface, FALSE, gx0, first[2], 64, col_step, (int) gy1 + 2, (int) gy1 + 24);
      /* Too small for value labels: a cell is one colour inside. */
      {
        double r[4];
        guint32 c;

        g_assert_true (lens_chart_get_item_rect (chart, 64 * 20 + 30, r));
        c = pixel (surface, (int) ceil (r[0] + 1), (int) ceil (r[1] + 1));
        for (int y = (int) ceil (r[1] + 1); y < (int) floor (r[1] + r[3] - 1); y++)
          for (int x = (int) ceil (r[0] + 1); x < (int) floor (r[0] + r[2] - 1); x++)
            g_assert_cmphex (pixel (surface, x, y), ==, c);
      }
      /* Every cell is still there and read out. */
      g_assert_true (g_str_has_prefix (readout, "64 × 64: weight "));
      /* An export at another size leaves the screen's steps alone. */
      {
        g_autofree char *png = g_build_filename (tmp_root, "dense.png", NULL);
        guint r2 = 0, c2 = 0;

        g_assert_true (lens_chart_export (chart, png, LENS_EXPORT_PNG, 2000, 1500, 72, NULL, NULL));
        lens_chart_get_label_steps (chart, &r2, &c2);
        g_assert_cmpuint (r2, ==, row_step);
        g_assert_cmpuint (c2, ==, col_step);
      }
      cairo_surface_destroy (surface);
    }

  /* 32 × 64: cells limited by the width, which the grid mostly fills. */
  {
    g_autoptr(LensChart) chart = make_weights (32, 64);
    cairo_surface_t *surface = draw_to_image (chart, 800, 500, FALSE);
    double first[4], last[4];

    g_assert_true (lens_chart_get_item_rect (chart, 0, first));
    g_assert_true (lens_chart_get_item_rect (chart, 32 * 64 - 1, last));
    g_assert_cmpfloat (first[2], >=, first[3] - 1e-9);
    g_assert_cmpfloat (first[2], <=, first[3] * 1.6 + 1e-9);
    g_assert_cmpfloat (last[0] + last[2] - first[0], >, 0.7 * 800);
    cairo_surface_destroy (surface);
  }

  /* A 5 × 5 matrix labels every row and column. */
  {
    g_autoptr(LensChart) chart = make_heatmap ();
    guint row_step = 0, col_step = 0;

    cairo_surface_destroy (draw_to_image (chart, 800, 500, FALSE));
    lens_chart_get_label_steps (chart, &row_step, &col_step);
    g_assert_cmpuint (row_step, ==, 1);
    g_assert_cmpuint (col_step, ==, 1);
  }
}

static guint32
cell_pixel (LensChart       *chart,
            cairo_surface_t *surface,
            guint            item)
{
  double r[4];

  g_assert_true (lens_chart_get_item_rect (chart, item, r));
  return pixel (surface, (int) r[0] + 4, (int) r[1] + 4);    /* a corner: away from the label */
}

static guint32
channel_distance (guint32 a,
                  guint32 b)
{
  guint32 d = 0;

  for (int shift = 0; shift <= 16; shift += 8)
    d = MAX (d, (guint32) ABS ((int) ((a >> shift) & 0xff) - (int) ((b >> shift) & 0xff)));
  return d;
}

/* A fixed value range: the same value gets the same colour in two
 * matrices whose data ranges differ, and a value that was the end of the
 * data's range becomes a middle colour. */
static void
test_heatmap_value_range (void)
{
  const char *one[] = { "a" }, *two[] = { "x", "y" };
  double va[2] = { 0.2, -0.05 }, vb[2] = { 0.2, -0.4 };
  g_autoptr(LensChart) a = lens_chart_new_heatmap ("A", "w", 1, one, 2, two, va, NULL,
                                                   LENS_COLOR_SCALE_DIVERGING, 0.0, "%.3f");
  g_autoptr(LensChart) b = lens_chart_new_heatmap ("B", "w", 1, one, 2, two, vb, NULL,
                                                   LENS_COLOR_SCALE_DIVERGING, 0.0, "%.3f");
  cairo_surface_t *sa, *sb;
  guint32 a_free, b_free, a_fixed, b_fixed;
  g_autofree char *summary = NULL;

  /* From the data: 0.2 is A's end colour (the darkest orange), not B's. */
  sa = draw_to_image (a, 600, 300, FALSE);
  sb = draw_to_image (b, 600, 300, FALSE);
  a_free = cell_pixel (a, sa, 0);
  b_free = cell_pixel (b, sb, 0);
  g_assert_cmphex (a_free, ==, 0x7F3B08);
  g_assert_cmpuint (channel_distance (a_free, b_free), >, 30);
  cairo_surface_destroy (sa);
  cairo_surface_destroy (sb);

  /* Fixed at ±0.5: the same colour in both, 0.7 of the way up the scale
   * (between #FEE0B6 at 0.6 and #FDB863 at 0.7, nearer the latter). */
  lens_chart_set_value_range (a, -0.5, 0.5);
  lens_chart_set_value_range (b, -0.5, 0.5);
  sa = draw_to_image (a, 600, 300, FALSE);
  sb = draw_to_image (b, 600, 300, FALSE);
  a_fixed = cell_pixel (a, sa, 0);
  b_fixed = cell_pixel (b, sb, 0);
  g_assert_cmpuint (channel_distance (a_fixed, b_fixed), <=, 1);
  g_assert_cmpuint (channel_distance (a_fixed, 0xFDB863), <=, 2);
  g_assert_cmpuint (channel_distance (a_fixed, a_free), >, 30);
  summary = lens_chart_describe (a);
  g_assert_nonnull (strstr (summary, "fixed at \u22120.500 to 0.500"));
  cairo_surface_destroy (sa);
  cairo_surface_destroy (sb);

  /* Diverging stays symmetric: [−0.1, 0.5] means ±0.5. */
  lens_chart_set_value_range (b, -0.1, 0.5);
  sb = draw_to_image (b, 600, 300, FALSE);
  g_assert_cmpuint (channel_distance (cell_pixel (b, sb, 0), a_fixed), <=, 1);
  cairo_surface_destroy (sb);

  /* Sequential, one end fixed: the low end still comes from the data. */
  {
    double v[2] = { 0.7, 0.8 };
    g_autoptr(LensChart) seq = lens_chart_new_heatmap ("S", "AUC", 1, one, 2, two, v, NULL,
                                                     LENS_COLOR_SCALE_SEQUENTIAL, 0.0, "%.2f");
    cairo_surface_t *s;

    s = draw_to_image (seq, 600, 300, FALSE);
    g_assert_cmphex (cell_pixel (seq, s, 1), ==, 0xFDE725);     /* the top of viridis */
    cairo_surface_destroy (s);
    lens_chart_set_value_range (seq, NAN, 1.0);
    s = draw_to_image (seq, 600, 300, FALSE);
    g_assert_cmphex (cell_pixel (seq, s, 0), ==, 0x440154);     /* 0.7: still the bottom */
    g_assert_cmpuint (channel_distance (cell_pixel (seq, s, 1), 0xFDE725), >, 30);
    cairo_surface_destroy (s);
    /* The low end fixed at 0: 0.7 is no longer the bottom colour. */
    lens_chart_set_value_range (seq, 0.0, NAN);
    s = draw_to_image (seq, 600, 300, FALSE);
    g_assert_cmpuint (channel_distance (cell_pixel (seq, s, 0), 0x440154), >, 30);
    g_assert_cmphex (cell_pixel (seq, s, 1), ==, 0xFDE725);     /* 0.8: still the top */
    cairo_surface_destroy (s);
    /* NaN at both ends: from the data again. */
    lens_chart_set_value_range (seq, NAN, NAN);
    s = draw_to_image (seq, 600, 300, FALSE);
    g_assert_cmphex (cell_pixel (seq, s, 1), ==, 0xFDE725);
    cairo_surface_destroy (s);
  }
}

/* Degenerate input draws without cairo errors: no items, all NaN, one
 * value, a zero-size area. */
static void
test_draw_degenerate (void)
{
  double nan2[2] = { NAN, NAN }, one[1] = { 0.5 };
  LensChart *charts[] = {
    lens_chart_new_bar ("empty", NULL, 0, NULL, 0, NULL, NULL, NULL, NULL, NULL, NAN, NAN),
    lens_chart_new_bar ("nan", NULL, 1, NULL, 2, NULL, nan2, NULL, NULL, NULL, NAN, NAN),
    lens_chart_new_heatmap ("nan", NULL, 1, NULL, 2, NULL, nan2, NULL, LENS_COLOR_SCALE_SEQUENTIAL, 0, "%s"),
    lens_chart_new_diverging ("one", NULL, 1, NULL, one, NULL, NULL, NULL),
    lens_chart_new_scatter ("nan", NULL, NULL, 2, NULL, nan2, nan2, FALSE, TRUE),
    lens_chart_new_line ("none", NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL),
    lens_chart_new_scatter_groups ("nan", NULL, NULL, 2, NULL, nan2, nan2, NULL, 0, NULL),
    lens_chart_new_scatter_groups ("empty", NULL, NULL, 0, NULL, NULL, NULL, NULL, 3, NULL),
  };

  for (guint i = 0; i < G_N_ELEMENTS (charts); i++)
    {
      cairo_surface_destroy (draw_to_image (charts[i], 300, 200, i % 2));
      cairo_surface_destroy (draw_to_image (charts[i], 1, 1, FALSE));
      g_object_unref (charts[i]);
    }
}

/* ---- hit testing ---------------------------------------------------------- */

static void
test_hit (void)
{
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autoptr(LensChart) chart = kinds[k].make ();
      cairo_surface_t *surface = draw_to_image (chart, 900, 560, FALSE);

      for (guint i = 0; i < lens_chart_get_n_items (chart); i++)
        {
          double r[4];

          if (!lens_chart_get_item_rect (chart, i, r))
            continue;
          g_assert_cmpint (lens_chart_hit (chart, r[0] + r[2] / 2, r[1] + r[3] / 2), ==, (int) i);
        }
      g_assert_cmpint (lens_chart_hit (chart, -10, -10), ==, -1);
      g_assert_cmpint (lens_chart_hit (chart, 2, 2), ==, -1);          /* the title's corner */
      g_assert_cmpint (lens_chart_hit (chart, 5000, 5000), ==, -1);
      cairo_surface_destroy (surface);
    }
}

/* ---- read-outs ------------------------------------------------------------ */

static void
assert_item (LensChart  *chart,
             guint       item,
             const char *expected)
{
  g_autofree char *text = lens_chart_describe_item (chart, item);
  g_assert_cmpstr (text, ==, expected);
}

static void
test_describe (void)
{
  {
    const char *g[] = { "Family" }, *s[] = { "MMoE", "STAR" };
    double v[2] = { NAN, 0.7921 }, lo[2] = { NAN, 0.7741 }, hi[2] = { NAN, 0.8101 };
    guint64 n[2] = { 12, 2145 };
    g_autoptr(LensChart) bar = lens_chart_new_bar ("t", "AUC", 1, g, 2, s, v, lo, hi, n, NAN, NAN);

    assert_item (bar, 1, "STAR · Family: AUC 0.7921 [0.7741, 0.8101], n = 2,145");
    assert_item (bar, 0, "MMoE · Family: AUC undefined, n = 12");
  }
  {
    g_autoptr(LensChart) heat = make_heatmap ();
    g_autofree char *summary = lens_chart_describe (heat);

    assert_item (heat, 1, "Action × Comedy: Pearson r 0.512*");
    assert_item (heat, 19, "Thriller × Children's: Pearson r undefined");
    assert_item (heat, 5, "Comedy × Action: Pearson r \u22120.250");
    g_assert_nonnull (strstr (summary, "Scenario correlation"));
    g_assert_nonnull (strstr (summary, "1 cells are undefined"));
  }
  {
    g_autoptr(LensChart) div = make_diverging (TRUE);

    assert_item (div, 1, "Comedy: ΔAUC \u22120.0123 [\u22120.0200, \u22120.0046], p = 0.0031 (**)");
    assert_item (div, 0, "Action: ΔAUC +0.0123 [+0.0046, +0.0200], p = 0.0031 (**)");
    assert_item (div, 2, "Drama: ΔAUC +0.0042 [\u22120.0020, +0.0104], p = 0.3800");
    assert_item (div, 3, "Thriller: ΔAUC +0.0195 [+0.0130, +0.0260], p < 0.0001 (***)");
  }
  {
    g_autoptr(LensChart) sc = make_scatter (FALSE);
    assert_item (sc, 3, "Action: rows 18,210, ΔAUC 0.0120");
    assert_item (sc, 1, "Children's: rows 100, ΔAUC \u22120.0200");
  }
  {
    g_autoptr(LensChart) line = make_line ();
    g_autofree char *summary = lens_chart_describe (line);

    assert_item (line, 0, "MMoE, Epoch 1: Logloss 0.5200");
    assert_item (line, 8, "STAR, Epoch 3: Logloss 0.4012 (best)");
    g_assert_nonnull (strstr (summary, "best 0.4012 at 3"));
  }
  {
    g_autoptr(LensChart) sg = make_scatter_groups ();
    g_autofree char *summary = lens_chart_describe (sg);

    assert_item (sg, 11, "u12 · Comedy/Romance: PC1 0.1230, PC2 \u22120.4560");
    assert_item (sg, 2, "u3 · none: PC1 0.0000, PC2 0.0000");
    assert_item (sg, 40, "u41 · none: PC1 0.1500, PC2 0.2500");     /* group 9 of 5: none */
    assert_item (sg, 3, "u4 · Thriller, Crime: PC1 \u22120.5590, PC2 \u22120.5878");
    g_assert_nonnull (strstr (summary, "42 points in 5 groups (Comedy/Romance: 9, Action: 8, Drama: 7, "
                                       "Thriller, Crime: 8, Children's: 8, none: 2)"));
    g_assert_nonnull (strstr (summary, "x: PC1, y: PC2"));
  }
  {
    g_autoptr(LensChart) bar = make_bar (FALSE);
    g_autofree char *summary = lens_chart_describe (bar);

    g_assert_nonnull (strstr (summary, "7 series"));
    g_assert_nonnull (strstr (summary, "HiNet"));
    g_assert_nonnull (strstr (summary, "5 groups"));
  }
}

/* ---- CSV ------------------------------------------------------------------ */

/* An RFC 4180 reader: rows of fields; quoted fields may hold commas,
 * doubled quotes and line breaks. */
static GPtrArray *
parse_csv (const char *text)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  GPtrArray *row = g_ptr_array_new ();
  GString *field = g_string_new (NULL);
  const char *p = text;
  gboolean quoted = FALSE, pending = FALSE;

  while (*p != '\0')
    {
      if (quoted)
        {
          if (*p == '"' && p[1] == '"')
            {
              g_string_append_c (field, '"');
              p += 2;
              continue;
            }
          if (*p == '"')
            quoted = FALSE;
          else
            g_string_append_c (field, *p);
          p++;
          continue;
        }
      if (*p == '"')
        {
          g_assert_cmpuint (field->len, ==, 0);
          quoted = TRUE;
          pending = TRUE;
        }
      else if (*p == ',')
        {
          g_ptr_array_add (row, g_strdup (field->str));
          g_string_truncate (field, 0);
          pending = TRUE;
        }
      else if (*p == '\r' && p[1] == '\n')
        {
          g_ptr_array_add (row, g_strdup (field->str));
          g_string_truncate (field, 0);
          g_ptr_array_add (row, NULL);
          g_ptr_array_add (rows, g_ptr_array_free (row, FALSE));
          row = g_ptr_array_new ();
          pending = FALSE;
          p++;
        }
      else
        {
          g_assert_true (*p != '\n' && *p != '\r');    /* bare line breaks are not RFC 4180 */
          g_string_append_c (field, *p);
          pending = TRUE;
        }
      p++;
    }
  g_assert_false (quoted);
  g_assert_false (pending);   /* the last line ends with CRLF too */
  g_ptr_array_free (row, TRUE);
  g_string_free (field, TRUE);
  return rows;
}

static void
test_csv (void)
{
  const char *groups[] = { "Sci-Fi, \"hard\"", "Drama" };
  const char *series[] = { "A" };
  double v[2] = { 0.1 + 0.2, 1.0 / 3.0 }, lo[2] = { NAN, 0.25 }, hi[2] = { 0.5, 1e-300 };
  guint64 n[2] = { 7, 18446744073709551615ull };
  g_autoptr(LensChart) bar = lens_chart_new_bar ("t", "AUC", 2, groups, 1, series, v, lo, hi, n, NAN, NAN);
  g_autofree char *csv = lens_chart_to_csv (bar);
  g_autoptr(GPtrArray) rows = parse_csv (csv);
  char **r;

  g_assert_nonnull (strstr (csv, "\"Sci-Fi, \"\"hard\"\"\""));
  g_assert_cmpuint (rows->len, ==, 3);
  r = g_ptr_array_index (rows, 0);
  g_assert_cmpuint (g_strv_length (r), ==, 6);
  {
    g_autofree char *header = g_strjoinv ("|", r);
    g_assert_cmpstr (header, ==, "group|series|value|lo|hi|n");
  }
  r = g_ptr_array_index (rows, 1);
  g_assert_cmpstr (r[0], ==, groups[0]);
  g_assert_cmpstr (r[1], ==, "A");
  g_assert_true (g_ascii_strtod (r[2], NULL) == v[0]);     /* exactly */
  g_assert_cmpstr (r[3], ==, "");                          /* NaN */
  g_assert_true (g_ascii_strtod (r[4], NULL) == 0.5);
  g_assert_cmpstr (r[5], ==, "7");
  r = g_ptr_array_index (rows, 2);
  g_assert_true (g_ascii_strtod (r[2], NULL) == v[1]);
  g_assert_true (g_ascii_strtod (r[3], NULL) == 0.25);
  g_assert_true (g_ascii_strtod (r[4], NULL) == 1e-300);
  g_assert_cmpstr (r[5], ==, "18446744073709551615");

  /* Every kind: a header and one line per item (per point for lines). */
  {
    static const char *headers[] = {
      "group,series,value,lo,hi,n", "row,column,value,mark", "row,column,value,mark",
      "label,delta,lo,hi,p", "label,x,y", "series,x,y,best", "label,group,x,y",
    };
    for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
      {
        g_autoptr(LensChart) chart = kinds[k].make ();
        g_autofree char *text = lens_chart_to_csv (chart);
        g_autoptr(GPtrArray) lines = parse_csv (text);
        g_autofree char *header = g_strjoinv (",", g_ptr_array_index (lines, 0));

        g_assert_cmpstr (header, ==, headers[k]);
        g_assert_cmpuint (lines->len, ==, lens_chart_get_n_items (chart) + 1);
      }
  }
  /* The marked point and the heatmap's marks are in the data. */
  {
    g_autoptr(LensChart) line = make_line ();
    g_autofree char *text = lens_chart_to_csv (line);
    g_assert_nonnull (strstr (text, "STAR,3,0.4012,1\r\n"));
  }
  /* The grouped scatter's group column: quoted when needed, empty for none. */
  {
    g_autoptr(LensChart) sg = make_scatter_groups ();
    g_autofree char *text = lens_chart_to_csv (sg);
    g_autoptr(GPtrArray) lines = parse_csv (text);
    char **u4 = g_ptr_array_index (lines, 4);

    g_assert_nonnull (strstr (text, "u12,Comedy/Romance,0.123,-0.456\r\n"));
    g_assert_nonnull (strstr (text, "u3,,0,0\r\n"));
    g_assert_nonnull (strstr (text, "u41,,0.15,0.25\r\n"));
    g_assert_cmpstr (u4[0], ==, "u4");
    g_assert_cmpstr (u4[1], ==, "Thriller, Crime");
  }
  {
    g_autoptr(LensChart) heat = make_heatmap ();
    g_autofree char *text = lens_chart_to_csv (heat);
    g_assert_nonnull (strstr (text, "Action,Comedy,0.512,*\r\n"));
    g_assert_nonnull (strstr (text, "Thriller,Children's,,\r\n"));
  }
}

/* ---- export --------------------------------------------------------------- */

typedef struct {
  GString *title;
  gboolean in_title;
  gboolean saw_svg;
} SvgScan;

static void
svg_start (GMarkupParseContext *context,
           const char          *element,
           const char         **names,
           const char         **values,
           gpointer             data,
           GError             **error)
{
  SvgScan *scan = data;

  if (g_str_equal (element, "svg"))
    scan->saw_svg = TRUE;
  scan->in_title = g_str_equal (element, "title");
}

static void
svg_end (GMarkupParseContext *context,
         const char          *element,
         gpointer             data,
         GError             **error)
{
  ((SvgScan *) data)->in_title = FALSE;
}

static void
svg_text (GMarkupParseContext *context,
          const char          *text,
          gsize                len,
          gpointer             data,
          GError             **error)
{
  SvgScan *scan = data;

  if (scan->in_title)
    g_string_append_len (scan->title, text, len);
}

static void
test_export (void)
{
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    for (int dark = 0; dark <= 1; dark++)
      {
        g_autoptr(LensChart) chart = kinds[k].make ();
        g_autofree char *png = g_strdup_printf ("%s/%s-%d.png", tmp_root, kinds[k].name, dark);
        g_autofree char *svg = g_strdup_printf ("%s/%s-%d.svg", tmp_root, kinds[k].name, dark);
        g_autofree char *pdf = g_strdup_printf ("%s/%s-%d.pdf", tmp_root, kinds[k].name, dark);
        g_autoptr(GError) error = NULL;
        g_autofree char *contents = NULL;
        gsize len = 0;
        LensChartStyle style;
        cairo_surface_t *image;
        SvgScan scan = { g_string_new (NULL), FALSE, FALSE };
        GMarkupParser parser = { svg_start, svg_end, svg_text, NULL, NULL };
        GMarkupParseContext *ctx;
        const char *end;

        lens_chart_style_init (&style, dark);

        /* PNG: pixels = points × dpi / 72. */
        g_assert_true (lens_chart_export (chart, png, LENS_EXPORT_PNG, 400, 250, 144, &style, &error));
        g_assert_no_error (error);
        image = cairo_image_surface_create_from_png (png);
        g_assert_cmpint (cairo_surface_status (image), ==, CAIRO_STATUS_SUCCESS);
        g_assert_cmpint (cairo_image_surface_get_width (image), ==, 800);
        g_assert_cmpint (cairo_image_surface_get_height (image), ==, 500);
        cairo_surface_destroy (image);

        /* SVG: well-formed XML whose <title> is the chart's title. */
        g_assert_true (lens_chart_export (chart, svg, LENS_EXPORT_SVG, 400, 250, 96, &style, &error));
        g_assert_no_error (error);
        g_assert_true (g_file_get_contents (svg, &contents, &len, NULL));
        ctx = g_markup_parse_context_new (&parser, 0, &scan, NULL);
        g_assert_true (g_markup_parse_context_parse (ctx, contents, len, &error));
        g_assert_true (g_markup_parse_context_end_parse (ctx, &error));
        g_assert_no_error (error);
        g_markup_parse_context_free (ctx);
        g_assert_true (scan.saw_svg);
        g_assert_cmpstr (scan.title->str, ==, lens_chart_get_title (chart));
        g_string_free (scan.title, TRUE);
        g_clear_pointer (&contents, g_free);

        /* PDF: header and trailer. */
        g_assert_true (lens_chart_export (chart, pdf, LENS_EXPORT_PDF, 400, 250, 96, &style, &error));
        g_assert_no_error (error);
        g_assert_true (g_file_get_contents (pdf, &contents, &len, NULL));
        g_assert_true (g_str_has_prefix (contents, "%PDF-"));
        end = contents + len;
        while (end > contents && (end[-1] == '\n' || end[-1] == '\r'))
          end--;
        g_assert_true (end - contents >= 5 && memcmp (end - 5, "%%EOF", 5) == 0);
      }
}

/* The title is escaped in SVG; the PDF carries it and pdftotext finds the
 * text (when poppler's tools are installed). */
static void
test_export_text (void)
{
  const char *g[] = { "Action" }, *s[] = { "STAR" };
  double v[1] = { 0.79 };
  g_autoptr(LensChart) chart = lens_chart_new_bar ("AUC <by> scenario & model", "AUC", 1, g, 1, s,
                                                   v, NULL, NULL, NULL, NAN, NAN);
  g_autofree char *svg = g_build_filename (tmp_root, "escape.svg", NULL);
  g_autofree char *pdf = g_build_filename (tmp_root, "text.pdf", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *pdftotext = g_find_program_in_path ("pdftotext");
  g_autoptr(GError) error = NULL;

  g_assert_true (lens_chart_export (chart, svg, LENS_EXPORT_SVG, 300, 200, 72, NULL, &error));
  g_assert_true (g_file_get_contents (svg, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "<title>AUC &lt;by&gt; scenario &amp; model</title>"));

  g_assert_true (lens_chart_export (chart, pdf, LENS_EXPORT_PDF, 300, 200, 72, NULL, &error));
  g_assert_no_error (error);
  if (pdftotext != NULL)
    {
      g_autofree char *out = NULL;
      const char *argv[] = { pdftotext, pdf, "-", NULL };
      int status = 0;

      g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                   &out, NULL, &status, &error));
      g_assert_nonnull (strstr (out, "scenario & model"));
    }
}

/* What is exported at 72 dpi is pixel for pixel what is drawn on screen. */
static void
test_export_matches_screen (void)
{
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autoptr(LensChart) chart = kinds[k].make ();
      g_autofree char *png = g_strdup_printf ("%s/same-%s.png", tmp_root, kinds[k].name);
      cairo_surface_t *screen = draw_to_image (chart, 640, 400, FALSE);
      cairo_surface_t *file;
      LensChartStyle style;
      double before[4], after[4];
      guint differ = 0;

      g_assert_true (lens_chart_get_item_rect (chart, 0, before));
      lens_chart_style_init (&style, FALSE);
      g_assert_true (lens_chart_export (chart, png, LENS_EXPORT_PNG, 640, 400, 72, &style, NULL));
      /* The export did not move the on-screen targets. */
      g_assert_true (lens_chart_get_item_rect (chart, 0, after));
      g_assert_cmpmem (before, sizeof before, after, sizeof after);

      file = cairo_image_surface_create_from_png (png);
      for (int y = 0; y < 400; y++)
        for (int x = 0; x < 640; x++)
          differ += pixel (screen, x, y) != pixel (file, x, y);
      g_assert_cmpuint (differ, ==, 0);
      cairo_surface_destroy (file);
      cairo_surface_destroy (screen);
    }
}

static void
test_export_errors (void)
{
  g_autoptr(LensChart) chart = make_bar (FALSE);
  g_autofree char *missing = g_build_filename (tmp_root, "no-such-dir", "figure.png", NULL);
  g_autofree char *ok = g_build_filename (tmp_root, "big.png", NULL);
  g_autoptr(GError) error = NULL;
  LensExportFormat format;

  g_assert_false (lens_chart_export (chart, missing, LENS_EXPORT_PNG, 400, 300, 96, NULL, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  g_assert_false (lens_chart_export (chart, ok, LENS_EXPORT_PNG, 400, 300, 1e6, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, ok));
  g_assert_false (g_file_test (ok, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  g_assert_true (lens_export_format_from_path ("a/Figure.PNG", &format));
  g_assert_cmpint (format, ==, LENS_EXPORT_PNG);
  g_assert_true (lens_export_format_from_path ("x.svg", &format));
  g_assert_cmpint (format, ==, LENS_EXPORT_SVG);
  g_assert_true (lens_export_format_from_path ("x.pdf", &format));
  g_assert_cmpint (format, ==, LENS_EXPORT_PDF);
  g_assert_false (lens_export_format_from_path ("x.jpeg", &format));
  g_assert_false (lens_export_format_from_path ("png", &format));
}

/* ---- the chart view ------------------------------------------------------- */

static gboolean
iterate_until (Condition cond, gpointer data)
{
  return msr_test_iterate_until (cond, data, 30);
}

static gboolean
widget_sized (gpointer data)
{
  return gtk_widget_get_mapped (data) && gtk_widget_get_width (data) >= 600;
}

/* The view has drawn its chart: the chart knows where its items are. */
static gboolean
chart_drawn (gpointer data)
{
  return lens_chart_get_item_rect (data, 0, NULL);
}

static void
on_invalidated (GdkPaintable *paintable,
                gboolean     *flag)
{
  *flag = TRUE;
}

/* The view as the screen shows it: the widget paintable holds the
 * widget's next frame, rendered by the window's renderer. */
static GdkTexture *
render_widget (GtkWidget *widget)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  g_autoptr(GskRenderNode) node = NULL;
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  gboolean invalidated = FALSE;
  gulong handler = g_signal_connect (paintable, "invalidate-contents",
                                     G_CALLBACK (on_invalidated), &invalidated);
  GtkSnapshot *snapshot;

  gtk_widget_queue_draw (widget);
  g_assert_true (iterate_until (msr_test_flag_set, &invalidated));
  g_signal_handler_disconnect (paintable, handler);
  snapshot = gtk_snapshot_new ();

  gdk_paintable_snapshot (paintable, snapshot, w, h);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  return gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, w, h));
}

static guint32
texture_pixel (const guchar *data,
               gsize         stride,
               int           x,
               int           y)
{
  return *(const guint32 *) (data + (gsize) y * stride + (gsize) x * 4) & 0xffffff;
}

typedef struct {
  int  last;
  guint count;
} Selections;

static void
on_item_selected (LensChartView *view,
                  int            item,
                  Selections    *sel)
{
  sel->last = item;
  sel->count++;
}

/* The shortcut the widget class binds to keyval: what a key press runs. */
static gboolean
press_key (GtkWidget *widget,
           guint      keyval)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)); j++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);
          GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (shortcut);

          if (GTK_IS_KEYVAL_TRIGGER (trigger) &&
              gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (trigger)) == keyval &&
              gtk_keyval_trigger_get_modifiers (GTK_KEYVAL_TRIGGER (trigger)) == 0)
            return gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut),
                                                 GTK_SHORTCUT_ACTION_EXCLUSIVE,
                                                 widget, gtk_shortcut_get_arguments (shortcut));
        }
    }
  return FALSE;
}

static void
test_view (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *view = lens_chart_view_new ();
  g_autoptr(LensChart) chart = make_bar (FALSE);
  g_autoptr(LensChart) heat = make_heatmap ();
  g_autoptr(LensChart) groups = make_scatter_groups ();
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree guchar *data = NULL;
  g_autofree char *description = lens_chart_describe (chart);
  Selections sel = { -2, 0 };
  GHashTable *colours = g_hash_table_new (NULL, NULL);
  int w, h, minimum, natural;
  double r[4];
  gsize stride;

  /* Sizes: a usable minimum, and it fills its page. */
  gtk_widget_measure (view, GTK_ORIENTATION_HORIZONTAL, -1, &minimum, &natural, NULL, NULL);
  g_assert_cmpint (minimum, >=, 320);
  gtk_widget_measure (view, GTK_ORIENTATION_VERTICAL, -1, &minimum, &natural, NULL, NULL);
  g_assert_cmpint (minimum, >=, 200);
  g_assert_true (gtk_widget_get_hexpand (view) && gtk_widget_get_vexpand (view));
  g_assert_true (gtk_widget_get_focusable (view));

  /* Xvfb starts the pointer mid-screen: below this window, so no hover
   * read-out gets in the way. */
  gtk_window_set_default_size (GTK_WINDOW (window), 800, 460);
  gtk_window_set_child (GTK_WINDOW (window), view);
  g_signal_connect (view, "item-selected", G_CALLBACK (on_item_selected), &sel);
  lens_chart_view_set_chart (LENS_CHART_VIEW (view), chart);
  g_assert_true (lens_chart_view_get_chart (LENS_CHART_VIEW (view)) == chart);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (iterate_until (widget_sized, view));
  g_assert_true (iterate_until (chart_drawn, chart));

  /* Accessible: an image named by the title, described by the summary. */
  gtk_test_accessible_assert_role (view, GTK_ACCESSIBLE_ROLE_IMG);
  gtk_test_accessible_assert_property (view, GTK_ACCESSIBLE_PROPERTY_LABEL, "AUC per scenario");
  gtk_test_accessible_assert_property (view, GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description);

  /* Rendered: not blank, bars where the chart says they are. */
  texture = render_widget (view);
  w = gdk_texture_get_width (texture);
  h = gdk_texture_get_height (texture);
  stride = (gsize) w * 4;
  data = g_malloc (stride * h);
  gdk_texture_download (texture, data, stride);
  for (int y = 0; y < h; y += 2)
    for (int x = 0; x < w; x += 2)
      g_hash_table_add (colours, GUINT_TO_POINTER (texture_pixel (data, stride, x, y)));
  g_assert_cmpuint (g_hash_table_size (colours), >, 10);
  g_hash_table_destroy (colours);
  g_assert_true (lens_chart_get_item_rect (chart, 3, r));
  g_assert_cmphex (texture_pixel (data, stride, (int) (r[0] + r[2] / 2), (int) (r[1] + r[3] * 0.75)),
                   !=, texture_pixel (data, stride, 1, 1));

  /* Keys, through the widget's own key bindings. */
  g_assert_cmpint (lens_chart_view_get_selected (LENS_CHART_VIEW (view)), ==, -1);
  g_assert_true (press_key (view, GDK_KEY_Right));
  g_assert_cmpint (lens_chart_view_get_selected (LENS_CHART_VIEW (view)), ==, 0);
  g_assert_cmpint (sel.last, ==, 0);
  g_assert_true (press_key (view, GDK_KEY_Right));
  g_assert_true (press_key (view, GDK_KEY_KP_Right));
  g_assert_cmpint (lens_chart_view_get_selected (LENS_CHART_VIEW (view)), ==, 2);
  g_assert_true (press_key (view, GDK_KEY_Left));
  g_assert_cmpint (lens_chart_view_get_selected (LENS_CHART_VIEW (view)), ==, 1);
  g_assert_true (press_key (view, GDK_KEY_End));
  g_assert_cmpint (lens_chart_view_get_selected (LENS_CHART_VIEW (view)), ==, 34);
  g_assert_true (press_key (view, GDK_KEY_Right));   /* stays at the end */
  g_assert_cmpint (lens_chart_view_get_selected (LENS_CHART_VIEW (view)), ==, 34);
  g_assert_true (press_key (view, GDK_KEY_Up));
  g_assert_cmpint (lens_chart_view_get_selected (LENS_CHART_VIEW (view)), ==, 33);
  g_assert_true (press_key (view, GDK_KEY_Home));
  g_assert_cmpint (lens_chart_view_get_selected (LENS_CHART_VIEW (view)), ==, 0);
  g_assert_cmpint (sel.last, ==, 0);
  g_assert_cmpuint (sel.count, ==, 7);    /* one per change, none when nothing moved */
  {
    g_autofree char *expected = lens_chart_describe_item (chart, 0);
    g_assert_cmpstr (lens_chart_view_get_readout (LENS_CHART_VIEW (view)), ==, expected);
  }

  /* The action the keys are bound to, directly. */
  gtk_widget_activate_action (view, "chart.move", "s", "right");
  g_assert_cmpint (lens_chart_view_get_selected (LENS_CHART_VIEW (view)), ==, 1);

  /* A grid: Up and Down move by a row. */
  lens_chart_view_set_chart (LENS_CHART_VIEW (view), heat);
  g_assert_cmpint (lens_chart_view_get_selected (LENS_CHART_VIEW (view)), ==, -1);
  g_assert_cmpint (sel.last, ==, -1);
  gtk_test_accessible_assert_property (view, GTK_ACCESSIBLE_PROPERTY_LABEL, "Scenario correlation");
  g_assert_true (press_key (view, GDK_KEY_Down));      /* first press: the first cell */
  g_assert_true (press_key (view, GDK_KEY_Down));
  g_assert_cmpint (lens_chart_view_get_selected (LENS_CHART_VIEW (view)), ==, 5);
  g_assert_true (press_key (view, GDK_KEY_Right));
  g_assert_true (press_key (view, GDK_KEY_Up));
  g_assert_cmpint (lens_chart_view_get_selected (LENS_CHART_VIEW (view)), ==, 1);
  g_assert_true (press_key (view, GDK_KEY_Up));        /* top row: stays */
  g_assert_cmpint (lens_chart_view_get_selected (LENS_CHART_VIEW (view)), ==, 1);

  /* Grouped points: one sequence in the given order, read out by name. */
  lens_chart_view_set_chart (LENS_CHART_VIEW (view), groups);
  g_assert_cmpuint (lens_chart_get_grid_columns (groups), ==, 0);
  g_assert_true (press_key (view, GDK_KEY_Right));
  g_assert_true (press_key (view, GDK_KEY_Down));
  g_assert_cmpint (lens_chart_view_get_selected (LENS_CHART_VIEW (view)), ==, 1);
  g_assert_true (press_key (view, GDK_KEY_End));
  g_assert_cmpint (lens_chart_view_get_selected (LENS_CHART_VIEW (view)), ==, SG_N - 1);
  lens_chart_view_set_selected (LENS_CHART_VIEW (view), 11);
  g_assert_cmpstr (lens_chart_view_get_readout (LENS_CHART_VIEW (view)), ==,
                   "u12 · Comedy/Romance: PC1 0.1230, PC2 \u22120.4560");

  lens_chart_view_set_selected (LENS_CHART_VIEW (view), 99);   /* out of range: none */
  g_assert_cmpint (lens_chart_view_get_selected (LENS_CHART_VIEW (view)), ==, -1);
  g_assert_null (lens_chart_view_get_readout (LENS_CHART_VIEW (view)));

  /* Dark style follows libadwaita. */
  {
    AdwStyleManager *manager = adw_style_manager_get_default ();
    LensChartStyle style;
    g_autoptr(GdkTexture) dark = NULL;

    adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_FORCE_DARK);
    lens_chart_view_get_style (LENS_CHART_VIEW (view), &style);
    g_assert_true (style.dark);
    dark = render_widget (view);
    gdk_texture_download (dark, data, stride);
    g_assert_cmphex (texture_pixel (data, stride, 1, 1), ==, 0x1E1E1E);
    adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_FORCE_LIGHT);
    lens_chart_view_get_style (LENS_CHART_VIEW (view), &style);
    g_assert_false (style.dark);
    adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_DEFAULT);
  }

  lens_chart_view_set_chart (LENS_CHART_VIEW (view), NULL);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* ---- the table ------------------------------------------------------------ */

static const char *table_titles[] = { "Scenario", "AUC", "Rows" };
static const gboolean table_numeric[] = { FALSE, TRUE, TRUE };

static GtkWidget *
make_table (LensTableSelection mode)
{
  const char *cells[] = {
    "Drama",            "0.7610", "31,902",
    "Action",           "0.7420", "18,210",
    "Sci-Fi, \"hard\"", "–",      "2,100",
    "Comedy",           "0.7800", "23,577",
    "Thriller",         "0.7420", "16,440",
  };
  const double values[] = {
    NAN, 0.7610, 31902,
    NAN, 0.7420, 18210,
    NAN, NAN,    2100,
    NAN, 0.7800, 23577,
    NAN, 0.7420, 16440,
  };
  const gint64 ids[] = { 10, 11, 12, 13, 14 };
  GtkWidget *table = lens_table_new (mode);

  lens_table_set_columns (LENS_TABLE (table), 3, table_titles, table_numeric);
  lens_table_set_rows (LENS_TABLE (table), 5, cells, values, ids);
  return table;
}

/* The first cell of each CSV line after the header. */
static char *
first_column (LensTable *table)
{
  g_autofree char *csv = lens_table_to_csv (table);
  g_autoptr(GPtrArray) rows = parse_csv (csv);
  GString *out = g_string_new (NULL);

  for (guint i = 1; i < rows->len; i++)
    {
      char **r = g_ptr_array_index (rows, i);
      g_string_append_printf (out, "%s%s", i > 1 ? "|" : "", r[0]);
    }
  return g_string_free (out, FALSE);
}

static void
assert_order (LensTable  *table,
              const char *expected)
{
  g_autofree char *order = first_column (table);
  g_assert_cmpstr (order, ==, expected);
}

static gboolean
text_arrived (gpointer data)
{
  return *(char **) data != NULL;
}

static void
clipboard_read (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  char *text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), result, NULL);
  *(char **) data = text != NULL ? text : g_strdup ("(nothing)");
}

/* Every chart on a page can be exported and its data copied from its own
 * menu, not only the one the window's Export button takes. */
static void
test_view_menu (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *view = lens_chart_view_new ();
  g_autoptr(LensChart) chart = make_heatmap ();
  g_autofree char *csv = lens_chart_to_csv (chart);
  g_autofree char *clip = NULL;
  g_autoptr(GError) error = NULL;

  gtk_window_set_default_size (GTK_WINDOW (window), 640, 400);
  gtk_window_set_child (GTK_WINDOW (window), view);
  lens_chart_view_set_chart (LENS_CHART_VIEW (view), chart);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (iterate_until (widget_sized, view));

  g_assert_true (gtk_widget_activate_action (view, "chart.copy-data", NULL));
  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (view), NULL, clipboard_read, &clip);
  g_assert_true (iterate_until (text_arrived, &clip));
  g_assert_cmpstr (clip, ==, csv);

  /* The menu opens from the keyboard too. */
  GtkWidget *menu = NULL;
  for (GtkWidget *c = gtk_widget_get_first_child (view); c != NULL; c = gtk_widget_get_next_sibling (c))
    if (GTK_IS_POPOVER_MENU (c))
      menu = c;
  g_assert_nonnull (menu);
  g_assert_false (gtk_widget_get_visible (menu));
  g_assert_true (gtk_widget_activate_action (view, "chart.menu", NULL));
  g_assert_true (iterate_until ((Condition) gtk_widget_get_mapped, menu));
  gtk_popover_popdown (GTK_POPOVER (menu));

  /* What the dialog writes, by extension and size. */
  for (guint i = 0; i < lens_export_get_n_sizes (); i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/menu-%s.png", tmp_root, lens_export_get_size_id (i));
      g_autoptr(GdkTexture) png = NULL;
      g_assert_true (lens_export_write (path, lens_export_get_size_id (i), chart, NULL, &error));
      g_assert_no_error (error);
      png = gdk_texture_new_from_filename (path, &error);
      g_assert_no_error (error);
      g_test_message ("%s: %d × %d px", lens_export_get_size_id (i), gdk_texture_get_width (png),
                      gdk_texture_get_height (png));
      if (i == 0)
        {
          g_assert_cmpint (gdk_texture_get_width (png), ==, 1920);
          g_assert_cmpint (gdk_texture_get_height (png), ==, 1200);
        }
    }
  {
    g_autofree char *pdf = g_strdup_printf ("%s/menu.pdf", tmp_root);
    g_autofree char *head = NULL;
    g_assert_true (lens_export_write (pdf, NULL, chart, NULL, &error));
    g_assert_true (g_file_get_contents (pdf, &head, NULL, NULL));
    g_assert_true (g_str_has_prefix (head, "%PDF-"));
  }
  {
    g_autofree char *bad = g_strdup_printf ("%s/menu.jpeg", tmp_root);
    g_assert_false (lens_export_write (bad, NULL, chart, NULL, &error));
    g_assert_nonnull (strstr (error->message, bad));
    g_assert_nonnull (strstr (error->message, ".png, .svg or .pdf"));
    g_assert_false (g_file_test (bad, G_FILE_TEST_EXISTS));
    g_clear_error (&error);
    /* A .csv with no table is refused, not written from the chart. */
    g_free (bad);
    bad = g_strdup_printf ("%s/menu.csv", tmp_root);
    g_assert_false (lens_export_write (bad, NULL, chart, NULL, &error));
    g_assert_false (g_file_test (bad, G_FILE_TEST_EXISTS));
    g_clear_error (&error);
  }
  {
    g_autofree char *a = lens_export_stem_from_title ("ΔAUC per scenario: star · #11 − dnn");
    g_assert_cmpstr (a, ==, "δauc-per-scenario-star-11-dnn");
    g_autofree char *b = lens_export_stem_from_title ("  ");
    g_assert_cmpstr (b, ==, "");
  }
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_table (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *table = make_table (LENS_TABLE_SELECT_MULTIPLE);
  LensTable *t = LENS_TABLE (table);
  g_autoptr(GArray) ids = NULL;
  g_autofree char *csv = NULL;
  g_autofree char *clip = NULL;
  g_autofree char *path = g_build_filename (tmp_root, "table.csv", NULL);
  g_autofree char *bad = g_build_filename (tmp_root, "missing", "table.csv", NULL);
  g_autofree char *written = NULL;
  g_autoptr(GError) error = NULL;

  gtk_window_set_child (GTK_WINDOW (window), table);
  gtk_window_present (GTK_WINDOW (window));
  lens_table_set_label (t, "Per-scenario metrics");
  gtk_test_accessible_assert_property (lens_table_get_column_view (t),
                                       GTK_ACCESSIBLE_PROPERTY_LABEL, "Per-scenario metrics");

  g_assert_cmpuint (lens_table_get_n_rows (t), ==, 5);
  g_assert_cmpuint (lens_table_get_n_visible (t), ==, 5);
  assert_order (t, "Drama|Action|Sci-Fi, \"hard\"|Comedy|Thriller");

  /* Numbers by value (ties keep the given order), NaN last both ways. */
  lens_table_sort_by_column (t, 1, GTK_SORT_ASCENDING);
  assert_order (t, "Action|Thriller|Drama|Comedy|Sci-Fi, \"hard\"");
  lens_table_sort_by_column (t, 1, GTK_SORT_DESCENDING);
  assert_order (t, "Comedy|Drama|Action|Thriller|Sci-Fi, \"hard\"");
  /* Through the column view directly, as a header click does. */
  {
    g_autoptr(GtkColumnViewColumn) rows_col =
      g_list_model_get_item (gtk_column_view_get_columns (lens_table_get_column_view (t)), 2);
    gtk_column_view_sort_by_column (lens_table_get_column_view (t), rows_col, GTK_SORT_ASCENDING);
    assert_order (t, "Sci-Fi, \"hard\"|Thriller|Action|Comedy|Drama");
  }
  /* Text by collation. */
  lens_table_sort_by_column (t, 0, GTK_SORT_ASCENDING);
  assert_order (t, "Action|Comedy|Drama|Sci-Fi, \"hard\"|Thriller");
  lens_table_sort_by_column (t, -1, GTK_SORT_ASCENDING);
  assert_order (t, "Drama|Action|Sci-Fi, \"hard\"|Comedy|Thriller");
  lens_table_sort_by_column (t, 1, GTK_SORT_ASCENDING);

  /* Filter: any cell, case-insensitive. */
  lens_table_set_filter (t, "DRA");
  g_assert_cmpuint (lens_table_get_n_visible (t), ==, 1);
  assert_order (t, "Drama");
  lens_table_set_filter (t, "0.742");
  assert_order (t, "Action|Thriller");
  lens_table_set_filter (t, "");
  g_assert_cmpuint (lens_table_get_n_visible (t), ==, 5);
  g_assert_cmpuint (lens_table_get_n_rows (t), ==, 5);

  /* Selection by id, reported in display order. */
  {
    const gint64 want[] = { 13, 11, 99 };
    lens_table_select_ids (t, want, 3);
    ids = lens_table_get_selected_ids (t);
    g_assert_cmpuint (ids->len, ==, 2);
    g_assert_cmpint (g_array_index (ids, gint64, 0), ==, 11);   /* Action, 0.742 */
    g_assert_cmpint (g_array_index (ids, gint64, 1), ==, 13);   /* Comedy, 0.780 */
  }

  /* CSV: header, visible rows in display order, RFC 4180 quoting. */
  csv = lens_table_to_csv (t);
  g_assert_cmpstr (csv, ==,
                   "Scenario,AUC,Rows\r\n"
                   "Action,0.7420,\"18,210\"\r\n"
                   "Thriller,0.7420,\"16,440\"\r\n"
                   "Drama,0.7610,\"31,902\"\r\n"
                   "Comedy,0.7800,\"23,577\"\r\n"
                   "\"Sci-Fi, \"\"hard\"\"\",–,\"2,100\"\r\n");
  g_assert_true (lens_table_export_csv (t, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &written, NULL, NULL));
  g_assert_cmpstr (written, ==, csv);
  g_assert_false (lens_table_export_csv (t, bad, &error));
  g_assert_nonnull (strstr (error->message, bad));

  /* Copy: the selected rows, tab-separated for a spreadsheet. */
  lens_table_copy_to_clipboard (t);
  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (table), NULL, clipboard_read, &clip);
  g_assert_true (iterate_until (text_arrived, &clip));
  g_assert_cmpstr (clip, ==, "Scenario\tAUC\tRows\nAction\t0.7420\t18,210\nComedy\t0.7800\t23,577\n");

  gtk_window_destroy (GTK_WINDOW (window));

  /* Single selection keeps the first match; none selects nothing. */
  {
    GtkWidget *single = make_table (LENS_TABLE_SELECT_SINGLE);
    GtkWidget *none = make_table (LENS_TABLE_SELECT_NONE);
    const gint64 want[] = { 14, 12 };
    g_autoptr(GArray) a = NULL;
    g_autoptr(GArray) b = NULL;

    g_object_ref_sink (single);
    g_object_ref_sink (none);
    a = lens_table_get_selected_ids (LENS_TABLE (single));
    g_assert_cmpuint (a->len, ==, 0);         /* nothing until chosen */
    g_clear_pointer (&a, g_array_unref);
    lens_table_select_ids (LENS_TABLE (single), want, 2);
    a = lens_table_get_selected_ids (LENS_TABLE (single));
    g_assert_cmpuint (a->len, ==, 1);
    g_assert_cmpint (g_array_index (a, gint64, 0), ==, 12);   /* shown before 14 */
    lens_table_select_ids (LENS_TABLE (none), want, 2);
    b = lens_table_get_selected_ids (LENS_TABLE (none));
    g_assert_cmpuint (b->len, ==, 0);
    g_object_unref (single);
    g_object_unref (none);
  }

  /* Without values, numeric columns sort by their text read as numbers. */
  {
    const char *cells[] = { "b", "10", "a", "9", "c", "n/a", "d", "1,000" };
    const char *titles[] = { "k", "v" };
    const gboolean numeric[] = { FALSE, TRUE };
    GtkWidget *plain = lens_table_new (LENS_TABLE_SELECT_NONE);

    g_object_ref_sink (plain);
    lens_table_set_columns (LENS_TABLE (plain), 2, titles, numeric);
    lens_table_set_rows (LENS_TABLE (plain), 4, cells, NULL, NULL);
    lens_table_sort_by_column (LENS_TABLE (plain), 1, GTK_SORT_ASCENDING);
    assert_order (LENS_TABLE (plain), "a|b|d|c");
    g_object_unref (plain);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  int status = msr_test_gtk_check_display ();
  if (status >= 0)
    return status;

  msr_test_gtk_setenv ();

  tmp_root = g_dir_make_tmp ("msrlens-charts-XXXXXX", &error);
  g_assert_no_error (error);

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/charts/palette", test_palette);
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autofree char *name = g_strdup_printf ("/charts/draw/%s", kinds[k].name);
      g_test_add_data_func (name, GUINT_TO_POINTER (k), test_draw_kind);
    }
  g_test_add_func ("/charts/draw/bar-geometry", test_draw_bar_geometry);
  g_test_add_func ("/charts/draw/heatmap-colors", test_draw_heatmap_colors);
  g_test_add_func ("/charts/draw/diverging-geometry", test_draw_diverging_geometry);
  g_test_add_func ("/charts/draw/scatter-log", test_draw_scatter_log);
  g_test_add_func ("/charts/draw/scatter-groups-colors", test_draw_scatter_groups);
  g_test_add_func ("/charts/draw/heatmap-dense", test_draw_heatmap_dense);
  g_test_add_func ("/charts/draw/heatmap-value-range", test_heatmap_value_range);
  g_test_add_func ("/charts/draw/degenerate", test_draw_degenerate);
  g_test_add_func ("/charts/hit", test_hit);
  g_test_add_func ("/charts/describe", test_describe);
  g_test_add_func ("/charts/csv", test_csv);
  g_test_add_func ("/charts/export/files", test_export);
  g_test_add_func ("/charts/export/text", test_export_text);
  g_test_add_func ("/charts/export/matches-screen", test_export_matches_screen);
  g_test_add_func ("/charts/export/errors", test_export_errors);
  g_test_add_func ("/charts/view", test_view);
  g_test_add_func ("/charts/view-menu", test_view_menu);
  g_test_add_func ("/charts/table", test_table);

  ret = g_test_run ();

  msr_test_rm_rf (tmp_root);
  g_free (tmp_root);
  return ret;
}

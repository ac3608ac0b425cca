/* lens-chart.c: the workbench's charts, drawn with cairo and PangoCairo.
 *
 * One routine per kind draws title, axes, marks and legend into a
 * width × height box; LensChartView calls it through a GtkSnapshot and
 * lens_chart_export through image, SVG and PDF surfaces, so what is
 * exported is what was on screen. Units are device-independent: a logical
 * pixel on screen, a point in a file. Text is laid out at 96 dpi with
 * metric hinting off, so a layout has the same size on every surface. */
#include "config.h"
#include "msr-file.h"

#include "lens-chart.h"
#include "lens-format.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <gio/gio.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <string.h>

struct _LensChart
{
  GObject parent_instance;

  LensChartKind kind;
  char     *title;
  char     *x_label;      /* diverging, scatter, line */
  char     *y_label;      /* bar, scatter, line; a heatmap's value label */
  char     *note;

  /* "a": groups (bar), rows (heatmap), items (diverging, scatter), series (line),
   * points (grouped scatter) */
  guint     n_a;
  char    **labels_a;
  /* "b": series (bar), columns (heatmap), groups (grouped scatter) */
  guint     n_b;
  char    **labels_b;

  double   *v;            /* bar values, heatmap values, diverging deltas */
  double   *lo;
  double   *hi;
  double   *p;
  guint64  *counts;
  char    **marks;        /* heatmap: n_a × n_b, entries may be NULL */
  double   *x;            /* scatter; line (all series, flattened) */
  double   *y;
  guint    *offsets;      /* line: series s is [offsets[s], offsets[s + 1]) */
  int      *markers;      /* line: index within the series, or -1 */
  int      *group;        /* grouped scatter: index into labels_b, or -1 */

  double    y_min, y_max; /* bar: fixed axis ends, NaN = from the data */
  LensColorScale scale;
  double    center;
  char     *value_format;
  double    value_lo, value_hi; /* heatmap: fixed colour range, NaN = from the data */
  gboolean  log_x;
  gboolean  zero_line;

  guint     n_items;
  double   *rects;        /* n_items × (x, y, w, h) of the last draw; NaN = none */
  double    axis_start;   /* bar: the y axis' far end when it does not reach 0 */
  guint     row_step, col_step; /* heatmap: every how many labels were drawn */
};

G_DEFINE_FINAL_TYPE (LensChart, lens_chart, G_TYPE_OBJECT)

static void
lens_chart_finalize (GObject *object)
{
  LensChart *self = LENS_CHART (object);

  g_free (self->title);
  g_free (self->x_label);
  g_free (self->y_label);
  g_free (self->note);
  g_strfreev (self->labels_a);
  g_strfreev (self->labels_b);
  g_free (self->v);
  g_free (self->lo);
  g_free (self->hi);
  g_free (self->p);
  g_free (self->counts);
  if (self->marks != NULL)
    for (guint i = 0; i < self->n_a * self->n_b; i++)
      g_free (self->marks[i]);
  g_free (self->marks);
  g_free (self->x);
  g_free (self->y);
  g_free (self->offsets);
  g_free (self->markers);
  g_free (self->group);
  g_free (self->value_format);
  g_free (self->rects);

  G_OBJECT_CLASS (lens_chart_parent_class)->finalize (object);
}

static void
lens_chart_class_init (LensChartClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lens_chart_finalize;
}

static void
lens_chart_init (LensChart *self)
{
  self->y_min = NAN;
  self->y_max = NAN;
  self->axis_start = NAN;
  self->value_lo = NAN;
  self->value_hi = NAN;
}

/* ---- construction --------------------------------------------------------- */

/* Missing labels are numbered, so read-outs never say "" or "(null)". */
static char **
copy_labels (const char * const *labels,
             guint               n)
{
  char **out = g_new0 (char *, n + 1);

  for (guint i = 0; i < n; i++)
    out[i] = labels != NULL && labels[i] != NULL
             ? g_utf8_make_valid (labels[i], -1)
             : g_strdup_printf ("%u", i + 1);
  return out;
}

static char *
copy_text (const char *text)
{
  return text != NULL && text[0] != '\0' ? g_utf8_make_valid (text, -1) : NULL;
}

static double *
copy_doubles (const double *src,
              gsize         n)
{
  return src != NULL && n > 0 ? g_memdup2 (src, n * sizeof (double)) : NULL;
}

static void
lens_chart_alloc_items (LensChart *self,
                        guint      n_items)
{
  self->n_items = n_items;
  self->rects = g_new (double, 4 * (gsize) MAX (n_items, 1));
  for (gsize i = 0; i < 4 * (gsize) MAX (n_items, 1); i++)
    self->rects[i] = NAN;
}

static LensChart *
lens_chart_new_kind (LensChartKind kind,
                     const char   *title)
{
  LensChart *self = g_object_new (LENS_TYPE_CHART, NULL);

  self->kind = kind;
  self->title = g_utf8_make_valid (title != NULL ? title : "", -1);
  return self;
}

void
lens_chart_style_init (LensChartStyle *style,
                       gboolean        dark)
{
  g_return_if_fail (style != NULL);

  style->dark = dark;
  style->font_size = 10.0;
  style->font_family = "Sans";
}

LensChart *
lens_chart_new_bar (const char          *title,
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
                    double               y_max)
{
  LensChart *self;
  gsize n = (gsize) n_groups * n_series;

  g_return_val_if_fail (n < G_MAXUINT / 8, NULL);
  g_return_val_if_fail (values != NULL || n == 0, NULL);

  self = lens_chart_new_kind (LENS_CHART_BAR, title);
  self->y_label = copy_text (y_label);
  self->n_a = n_groups;
  self->labels_a = copy_labels (group_labels, n_groups);
  self->n_b = n_series;
  self->labels_b = copy_labels (series_labels, n_series);
  self->v = copy_doubles (values, n);
  self->lo = copy_doubles (lo, n);
  self->hi = copy_doubles (hi, n);
  self->counts = counts != NULL && n > 0 ? g_memdup2 (counts, n * sizeof (guint64)) : NULL;
  self->y_min = y_min;
  self->y_max = y_max;
  lens_chart_alloc_items (self, (guint) n);
  return self;
}

/* A value format must take exactly one double: anything else (a "%s", two
 * conversions) would read past the argument, so it falls back to "%.3g". */
static gboolean
value_format_is_safe (const char *format)
{
  guint conversions = 0;

  for (const char *s = format; *s != '\0'; s++)
    {
      if (*s != '%')
        continue;
      s++;
      if (*s == '%')
        continue;
      while (*s != '\0' && strchr ("-+ #0", *s) != NULL)
        s++;
      while (g_ascii_isdigit (*s))
        s++;
      if (*s == '.')
        {
          s++;
          while (g_ascii_isdigit (*s))
            s++;
        }
      if (*s == '\0' || strchr ("fFeEgG", *s) == NULL)
        return FALSE;
      conversions++;
    }
  return conversions == 1;
}

LensChart *
lens_chart_new_heatmap (const char          *title,
                        const char          *value_label,
                        guint                n_rows,
                        const char * const  *row_labels,
                        guint                n_cols,
                        const char * const  *col_labels,
                        const double        *values,
                        const char * const  *marks,
                        LensColorScale       scale,
                        double               center,
                        const char          *value_format)
{
  LensChart *self;
  gsize n = (gsize) n_rows * n_cols;

  g_return_val_if_fail (n < G_MAXUINT / 8, NULL);
  g_return_val_if_fail (values != NULL || n == 0, NULL);

  self = lens_chart_new_kind (LENS_CHART_HEATMAP, title);
  self->y_label = copy_text (value_label);
  self->n_a = n_rows;
  self->labels_a = copy_labels (row_labels, n_rows);
  self->n_b = n_cols;
  self->labels_b = copy_labels (col_labels, n_cols);
  self->v = copy_doubles (values, n);
  if (marks != NULL && n > 0)
    {
      self->marks = g_new0 (char *, n);
      for (gsize i = 0; i < n; i++)
        self->marks[i] = marks[i] != NULL && marks[i][0] != '\0'
                         ? g_utf8_make_valid (marks[i], -1) : NULL;
    }
  self->scale = scale;
  self->center = isfinite (center) ? center : 0.0;
  self->value_format = g_strdup (value_format != NULL && value_format_is_safe (value_format)
                                 ? value_format : "%.3g");
  lens_chart_alloc_items (self, (guint) n);
  return self;
}

LensChart *
lens_chart_new_diverging (const char          *title,
                          const char          *x_label,
                          guint                n,
                          const char * const  *labels,
                          const double        *delta,
                          const double        *lo,
                          const double        *hi,
                          const double        *p)
{
  LensChart *self;

  g_return_val_if_fail (n < G_MAXUINT / 8, NULL);
  g_return_val_if_fail (delta != NULL || n == 0, NULL);

  self = lens_chart_new_kind (LENS_CHART_DIVERGING, title);
  self->x_label = copy_text (x_label);
  self->n_a = n;
  self->labels_a = copy_labels (labels, n);
  self->v = copy_doubles (delta, n);
  self->lo = copy_doubles (lo, n);
  self->hi = copy_doubles (hi, n);
  self->p = copy_doubles (p, n);
  lens_chart_alloc_items (self, n);
  return self;
}

LensChart *
lens_chart_new_scatter (const char          *title,
                        const char          *x_label,
                        const char          *y_label,
                        guint                n,
                        const char * const  *labels,
                        const double        *x,
                        const double        *y,
                        gboolean             log_x,
                        gboolean             zero_line)
{
  LensChart *self;

  g_return_val_if_fail (n < G_MAXUINT / 8, NULL);
  g_return_val_if_fail ((x != NULL && y != NULL) || n == 0, NULL);

  self = lens_chart_new_kind (LENS_CHART_SCATTER, title);
  self->x_label = copy_text (x_label);
  self->y_label = copy_text (y_label);
  self->n_a = n;
  self->labels_a = copy_labels (labels, n);
  self->x = copy_doubles (x, n);
  self->y = copy_doubles (y, n);
  self->log_x = log_x;
  self->zero_line = zero_line;
  lens_chart_alloc_items (self, n);
  return self;
}

LensChart *
lens_chart_new_scatter_groups (const char          *title,
                               const char          *x_label,
                               const char          *y_label,
                               guint                n,
                               const char * const  *point_names,
                               const double        *x,
                               const double        *y,
                               const int           *group,
                               guint                n_groups,
                               const char * const  *group_labels)
{
  LensChart *self;

  g_return_val_if_fail (n < G_MAXUINT / 8, NULL);
  g_return_val_if_fail ((x != NULL && y != NULL) || n == 0, NULL);
  g_return_val_if_fail (n_groups < G_MAXINT, NULL);

  self = lens_chart_new_kind (LENS_CHART_SCATTER_GROUPS, title);
  self->x_label = copy_text (x_label);
  self->y_label = copy_text (y_label);
  self->n_a = n;
  self->labels_a = copy_labels (point_names, n);
  self->n_b = n_groups;
  self->labels_b = copy_labels (group_labels, n_groups);
  self->x = copy_doubles (x, n);
  self->y = copy_doubles (y, n);
  self->group = g_new (int, MAX (n, 1));
  /* Anything but a valid index is "none", so drawing never indexes past
   * the labels. */
  for (guint i = 0; i < n; i++)
    self->group[i] = group != NULL && group[i] >= 0 && (guint) group[i] < n_groups ? group[i] : -1;
  lens_chart_alloc_items (self, n);
  return self;
}

LensChart *
lens_chart_new_line (const char           *title,
                     const char           *x_label,
                     const char           *y_label,
                     guint                 n_series,
                     const char * const   *series_labels,
                     const guint          *n_points,
                     const double * const *x,
                     const double * const *y,
                     const int            *markers)
{
  LensChart *self;
  gsize total = 0;

  g_return_val_if_fail (n_series == 0 || (n_points != NULL && x != NULL && y != NULL), NULL);
  for (guint s = 0; s < n_series; s++)
    {
      g_return_val_if_fail (n_points[s] == 0 || (x[s] != NULL && y[s] != NULL), NULL);
      total += n_points[s];
      g_return_val_if_fail (total < G_MAXUINT / 8, NULL);
    }

  self = lens_chart_new_kind (LENS_CHART_LINE, title);
  self->x_label = copy_text (x_label);
  self->y_label = copy_text (y_label);
  self->n_a = n_series;
  self->labels_a = copy_labels (series_labels, n_series);
  self->offsets = g_new0 (guint, n_series + 1);
  self->markers = g_new (int, MAX (n_series, 1));
  self->x = g_new (double, MAX (total, 1));
  self->y = g_new (double, MAX (total, 1));
  for (guint s = 0; s < n_series; s++)
    {
      guint off = self->offsets[s];

      if (n_points[s] > 0)
        {
          memcpy (self->x + off, x[s], n_points[s] * sizeof (double));
          memcpy (self->y + off, y[s], n_points[s] * sizeof (double));
        }
      self->offsets[s + 1] = off + n_points[s];
      self->markers[s] = markers != NULL && markers[s] >= 0 && (guint) markers[s] < n_points[s]
                         ? markers[s] : -1;
    }
  lens_chart_alloc_items (self, (guint) total);
  return self;
}

LensChartKind
lens_chart_get_kind (LensChart *chart)
{
  g_return_val_if_fail (LENS_IS_CHART (chart), LENS_CHART_BAR);
  return chart->kind;
}

const char *
lens_chart_get_title (LensChart *chart)
{
  g_return_val_if_fail (LENS_IS_CHART (chart), NULL);
  return chart->title;
}

guint
lens_chart_get_n_items (LensChart *chart)
{
  g_return_val_if_fail (LENS_IS_CHART (chart), 0);
  return chart->n_items;
}

void
lens_chart_set_note (LensChart  *chart,
                     const char *note)
{
  g_return_if_fail (LENS_IS_CHART (chart));

  g_free (chart->note);
  chart->note = copy_text (note);
}

void
lens_chart_set_value_range (LensChart *chart,
                            double     lo,
                            double     hi)
{
  g_return_if_fail (LENS_IS_CHART (chart));
  g_return_if_fail (chart->kind == LENS_CHART_HEATMAP);
  g_return_if_fail (!(lo > hi));

  chart->value_lo = isfinite (lo) ? lo : NAN;
  chart->value_hi = isfinite (hi) ? hi : NAN;
}

void
lens_chart_get_label_steps (LensChart *chart,
                            guint     *row_step,
                            guint     *col_step)
{
  g_return_if_fail (LENS_IS_CHART (chart));

  if (row_step != NULL)
    *row_step = chart->row_step;
  if (col_step != NULL)
    *col_step = chart->col_step;
}

guint
lens_chart_get_grid_columns (LensChart *chart)
{
  g_return_val_if_fail (LENS_IS_CHART (chart), 0);
  return chart->kind == LENS_CHART_HEATMAP ? chart->n_b : 0;
}

/* ---- colours ---------------------------------------------------------------- */

/* Okabe & Ito (2008), "Color Universal Design": distinguishable with every
 * common colour-vision deficiency. Black becomes light grey on dark. */
static const guint32 okabe_ito[8] = {
  0x0072B2, /* blue */
  0xE69F00, /* orange */
  0x009E73, /* bluish green */
  0xD55E00, /* vermillion */
  0xCC79A7, /* reddish purple */
  0x56B4E9, /* sky blue */
  0xF0E442, /* yellow */
  0x000000, /* black */
};

static void
rgb_from_hex (guint32 hex,
              double  rgb[3])
{
  rgb[0] = ((hex >> 16) & 0xff) / 255.0;
  rgb[1] = ((hex >> 8) & 0xff) / 255.0;
  rgb[2] = (hex & 0xff) / 255.0;
}

void
lens_chart_palette (guint    i,
                    gboolean dark,
                    double   rgb[3])
{
  guint32 hex = okabe_ito[i % G_N_ELEMENTS (okabe_ito)];

  if (dark && hex == 0x000000)
    hex = 0xE0E0E0;
  rgb_from_hex (hex, rgb);
}

/* Viridis (van der Walt & Smith, matplotlib), sampled at 9 even steps:
 * lightness rises monotonically, readable in grey and with CVD. */
static const guint32 ramp_sequential[] = {
  0x440154, 0x472C7A, 0x3B518B, 0x2C718E, 0x21908D,
  0x27AD81, 0x5CC863, 0xAADC32, 0xFDE725,
};

/* Blue–white–orange (ColorBrewer RdBu's blue arm, PuOr's orange arm):
 * both arms have the same lightness steps, blue and orange stay apart for
 * protan, deutan and tritan viewers. */
static const guint32 ramp_diverging_light[] = {
  0x053061, 0x2166AC, 0x4393C3, 0x92C5DE, 0xD1E5F0, 0xF7F7F7,
  0xFEE0B6, 0xFDB863, 0xE08214, 0xB35806, 0x7F3B08,
};

/* On a dark background the centre is dark and both arms get lighter with
 * magnitude, so "more" still reads as "more visible". */
static const guint32 ramp_diverging_dark[] = {
  0x8CC4F0, 0x5FA3DC, 0x3A80BE, 0x275E92, 0x243F5E, 0x2E2E2E,
  0x5A3F26, 0x87561B, 0xB66F16, 0xE08E2C, 0xF9B872,
};

static void
ramp_color (const guint32 *stops,
            guint          n,
            double         t,
            double         rgb[3])
{
  double a[3], b[3], f;
  guint i;

  t = CLAMP (isnan (t) ? 0.5 : t, 0.0, 1.0) * (n - 1);
  i = MIN ((guint) floor (t), n - 2);
  f = t - i;
  rgb_from_hex (stops[i], a);
  rgb_from_hex (stops[i + 1], b);
  for (int k = 0; k < 3; k++)
    rgb[k] = a[k] * (1.0 - f) + b[k] * f;
}

/* WCAG relative luminance of an sRGB colour. */
static double
luminance (const double rgb[3])
{
  double l[3];

  for (int k = 0; k < 3; k++)
    l[k] = rgb[k] <= 0.04045 ? rgb[k] / 12.92 : pow ((rgb[k] + 0.055) / 1.055, 2.4);
  return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
}

typedef struct {
  double bg[3], fg[3], muted[3], grid[3], axis[3], whisker[3];
  double nan_fill[3], hatch[3], zero[3];
} Colors;

static void
colors_init (Colors  *c,
             gboolean dark)
{
  /* Close to libadwaita's view colours, so a chart sits on a page without
   * a visible box around it. */
  rgb_from_hex (dark ? 0x1E1E1E : 0xFFFFFF, c->bg);
  rgb_from_hex (dark ? 0xEDEDED : 0x202020, c->fg);
  rgb_from_hex (dark ? 0xA8A8A8 : 0x5C5C5C, c->muted);
  rgb_from_hex (dark ? 0x353535 : 0xE3E3E3, c->grid);
  rgb_from_hex (dark ? 0x8C8C8C : 0x7A7A7A, c->axis);
  rgb_from_hex (dark ? 0xF0F0F0 : 0x1A1A1A, c->whisker);
  rgb_from_hex (dark ? 0x2E2E2E : 0xECECEC, c->nan_fill);
  rgb_from_hex (dark ? 0x6A6A6A : 0xA6A6A6, c->hatch);
  rgb_from_hex (dark ? 0xE0E0E0 : 0x303030, c->zero);
}

/* ---- numbers ---------------------------------------------------------------- */

/* Typographic minus (U+2212) instead of a hyphen, which screen readers read
 * as "dash" and which looks shorter than "+". */
static char *
with_minus_sign (char *text)
{
  GString *out;

  if (strchr (text, '-') == NULL)
    return text;
  out = g_string_new (NULL);
  for (const char *s = text; *s != '\0'; s++)
    {
      gboolean number_follows = g_ascii_isdigit (s[1]) || (s[1] == '.' && g_ascii_isdigit (s[2]));
      gboolean word_before = s > text && (g_ascii_isalnum (s[-1]) || s[-1] == '.');

      if (*s == '-' && number_follows && !word_before)
        g_string_append (out, "\u2212");
      else
        g_string_append_c (out, *s);
    }
  g_free (text);
  return g_string_free (out, FALSE);
}

static char *
format_fixed (double v,
              int    decimals,
              gboolean sign)
{
  if (isnan (v))
    return g_strdup ("undefined");
  if (isinf (v))
    return g_strdup (v > 0 ? "∞" : "\u2212∞");
  if (fabs (v) < 0.5 * pow (10.0, -decimals))
    v = 0.0;    /* no "-0.000" */
  return with_minus_sign (g_strdup_printf (sign ? "%+.*f" : "%.*f", decimals, v));
}

/* Read-out precision: four decimals for metric-sized values (AUC, Δ,
 * logloss), two for larger ones. */
static char *
format_value (double v,
              gboolean sign)
{
  return format_fixed (v, isfinite (v) && fabs (v) >= 10.0 ? 2 : 4, sign);
}

/* Coordinates like epochs and row counts are integers: no ".0000", and
 * digits grouped ("18,210"). */
static char *
format_coordinate (double v)
{
  if (isfinite (v) && v == floor (v) && fabs (v) < 1e15)
    {
      g_autofree char *digits = lens_format_count ((guint64) fabs (v));
      return v < 0 ? g_strconcat ("\u2212", digits, NULL) : g_steal_pointer (&digits);
    }
  return format_value (v, FALSE);
}

static char *
format_p (double p)
{
  if (isnan (p))
    return g_strdup ("p undefined");
  if (p < 0.0001)
    return g_strdup ("p < 0.0001");
  return g_strdup_printf ("p = %.4f", p);
}

static const char *
stars_for_p (double p)
{
  if (!(p < 0.05))
    return "";
  return p < 0.001 ? "***" : p < 0.01 ? "**" : "*";
}

static char *
format_heat_value (LensChart *c,
                   double     v)
{
  if (isnan (v))
    return g_strdup ("undefined");
  return with_minus_sign (g_strdup_printf (c->value_format, v));
}

/* ---- nice axes -------------------------------------------------------------- */

typedef struct {
  double   lo, hi;   /* domain; decades (log10) on a log axis */
  double   step;
  int      decimals;
  gboolean log;
  double   p0, p1;   /* device-independent units: lo ↦ p0, hi ↦ p1 */
} Axis;

/* 1, 2, 5 (or 2.5 from 25 up) times a power of ten, whichever is nearest
 * raw: ticks people can add up, without the extra decimal of 0.025. */
static double
nice_step (double raw)
{
  double e, f;

  if (!(raw > 0) || !isfinite (raw))
    return 1.0;
  e = floor (log10 (raw));
  f = raw / pow (10.0, e);
  if (f < 1.5)
    f = 1.0;
  else if (e >= 1 && f < 2.25)
    f = 2.0;
  else if (e >= 1 && f < 3.5)
    f = 2.5;
  else if (f < 3.2)
    f = 2.0;
  else if (f < 7.5)
    f = 5.0;
  else
    f = 10.0;
  return f * pow (10.0, e);
}

static int
step_decimals (double step)
{
  int d = 0;

  while (d < 12)
    {
      double scaled = step * pow (10.0, d);
      if (fabs (scaled - round (scaled)) < 1e-6 * MAX (1.0, scaled))
        break;
      d++;
    }
  return d;
}

/* Widens [lo, hi] to multiples of a nice step with about target ticks.
 * fixed_lo/fixed_hi keep an end where the caller put it. */
static void
axis_nice (Axis    *a,
           double   lo,
           double   hi,
           int      target,
           gboolean fixed_lo,
           gboolean fixed_hi)
{
  a->log = FALSE;
  if (!isfinite (lo) || !isfinite (hi))
    {
      lo = 0.0;
      hi = 1.0;
    }
  if (hi < lo)
    {
      double t = lo;
      lo = hi;
      hi = t;
    }
  if (hi - lo < 1e-12 * MAX (1.0, fabs (hi)))
    {
      double d = fabs (lo) > 0 ? fabs (lo) * 0.1 : 1.0;
      lo -= d;
      hi += d;
    }
  a->step = nice_step ((hi - lo) / MAX (target, 1));
  a->lo = fixed_lo ? lo : floor (lo / a->step + 1e-9) * a->step;
  a->hi = fixed_hi ? hi : ceil (hi / a->step - 1e-9) * a->step;
  if (a->hi <= a->lo)
    a->hi = a->lo + a->step;
  a->decimals = step_decimals (a->step);
}

/* Whole decades around the positive data. */
static void
axis_log (Axis  *a,
          double lo,
          double hi)
{
  a->log = TRUE;
  if (!(lo > 0) || !isfinite (lo) || !(hi > 0) || !isfinite (hi))
    {
      lo = 1.0;
      hi = 10.0;
    }
  a->lo = floor (log10 (lo) - 0.05);
  a->hi = ceil (log10 (hi) + 0.05);
  if (a->hi <= a->lo)
    a->hi = a->lo + 1;
  a->step = MAX (1.0, ceil ((a->hi - a->lo) / 8.0));
  a->decimals = 0;
}

static double
axis_map (const Axis *a,
          double      v)
{
  if (a->log)
    v = v > 0 ? log10 (v) : -INFINITY;
  return a->p0 + (v - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
}

static guint
axis_n_ticks (const Axis *a)
{
  return (guint) floor ((a->hi - a->lo) / a->step + 1e-6) + 1;
}

static double
axis_tick (const Axis *a,
           guint       i)
{
  double first = ceil (a->lo / a->step - 1e-6) * a->step;
  double t = first + i * a->step;

  return fabs (t) < a->step * 1e-6 ? 0.0 : t;
}

/* A positive value on a log axis, as people write it. */
static char *
format_log_value (double v)
{
  if (v >= 1 && v < 1e6)
    return lens_format_count ((guint64) llround (v));
  if (v < 1 && v >= 1e-4)
    return g_strdup_printf ("%.*f", (int) ceil (-log10 (v) - 1e-9), v);
  return g_strdup_printf ("%g", v);
}

/* Tick i as text (Pango markup for log decades). */
static char *
axis_tick_markup (const Axis *a,
                  guint       i)
{
  double t = axis_tick (a, i);

  if (a->log)
    {
      int e = (int) round (t);

      if (e >= 0 && e <= 5)
        return lens_format_count ((guint64) llround (pow (10.0, e)));
      if (e < 0 && e >= -3)
        return g_strdup_printf ("%.*f", -e, pow (10.0, e));
      return with_minus_sign (g_strdup_printf ("10<sup>%d</sup>", e));
    }
  return format_fixed (t, a->decimals, FALSE);
}

/* ---- the drawing context ---------------------------------------------------- */

typedef struct {
  double x, y, w, h;
} Box;

typedef struct {
  LensChart            *chart;
  cairo_t              *cr;
  PangoContext         *pango;
  PangoFontDescription *font;        /* ticks, legends, labels */
  PangoFontDescription *font_axis;   /* axis titles */
  PangoFontDescription *font_title;
  PangoFontDescription *font_note;
  PangoFontDescription *font_cell;
  Colors                c;
  gboolean              dark;
  double                w, h;
  double                em;          /* line height of the base font */
  double                pad;
} Ctx;

static void
ctx_init (Ctx                  *d,
          LensChart            *chart,
          cairo_t              *cr,
          double                width,
          double                height,
          const LensChartStyle *style)
{
  cairo_font_options_t *options = cairo_font_options_create ();
  double size = style->font_size > 0 && isfinite (style->font_size) ? style->font_size : 10.0;
  /* Thumbnails get smaller type, down to 70%; larger canvases keep it. */
  double shrink = CLAMP (MIN (width / 560.0, height / 340.0), 0.7, 1.0);
  PangoLayout *probe;
  PangoRectangle r;

  memset (d, 0, sizeof *d);
  d->chart = chart;
  d->cr = cr;
  d->w = width;
  d->h = height;
  d->dark = style->dark;
  colors_init (&d->c, style->dark);

  d->pango = pango_cairo_create_context (cr);
  pango_cairo_context_set_resolution (d->pango, 96.0);
  /* Unhinted metrics: the same text has the same width on screen, in a
   * PNG at any DPI, and in SVG or PDF. */
  cairo_font_options_set_hint_metrics (options, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style (options, CAIRO_HINT_STYLE_SLIGHT);
  pango_cairo_context_set_font_options (d->pango, options);
  cairo_font_options_destroy (options);
  pango_context_set_round_glyph_positions (d->pango, FALSE);

  size *= shrink;
  d->font = pango_font_description_new ();
  pango_font_description_set_family (d->font, style->font_family ? style->font_family : "Sans");
  pango_font_description_set_size (d->font, (int) (size * PANGO_SCALE));
  d->font_axis = pango_font_description_copy (d->font);
  pango_font_description_set_weight (d->font_axis, PANGO_WEIGHT_SEMIBOLD);
  d->font_title = pango_font_description_copy (d->font);
  pango_font_description_set_weight (d->font_title, PANGO_WEIGHT_BOLD);
  pango_font_description_set_size (d->font_title, (int) (size * 1.3 * PANGO_SCALE));
  d->font_note = pango_font_description_copy (d->font);
  pango_font_description_set_style (d->font_note, PANGO_STYLE_ITALIC);
  pango_font_description_set_size (d->font_note, (int) (size * 0.92 * PANGO_SCALE));
  d->font_cell = pango_font_description_copy (d->font);

  probe = pango_layout_new (d->pango);
  pango_layout_set_font_description (probe, d->font);
  pango_layout_set_text (probe, "0.8Ag", -1);
  pango_layout_get_extents (probe, NULL, &r);
  d->em = MAX (r.height / (double) PANGO_SCALE, 1.0);
  g_object_unref (probe);
  d->pad = round (d->em * 0.9);
}

static void
ctx_clear (Ctx *d)
{
  g_clear_object (&d->pango);
  g_clear_pointer (&d->font, pango_font_description_free);
  g_clear_pointer (&d->font_axis, pango_font_description_free);
  g_clear_pointer (&d->font_title, pango_font_description_free);
  g_clear_pointer (&d->font_note, pango_font_description_free);
  g_clear_pointer (&d->font_cell, pango_font_description_free);
}

static PangoLayout *
ctx_layout (Ctx                        *d,
            const PangoFontDescription *font,
            const char                 *text)
{
  PangoLayout *l = pango_layout_new (d->pango);

  pango_layout_set_font_description (l, font);
  pango_layout_set_text (l, text != NULL ? text : "", -1);
  return l;
}

static PangoLayout *
ctx_markup (Ctx                        *d,
            const PangoFontDescription *font,
            const char                 *markup)
{
  PangoLayout *l = pango_layout_new (d->pango);

  pango_layout_set_font_description (l, font);
  pango_layout_set_markup (l, markup, -1);
  return l;
}

/* Limits a layout to max_w units (ellipsized) and at most lines lines. */
static void
layout_limit (PangoLayout *l,
              double       max_w,
              int          lines)
{
  pango_layout_set_width (l, (int) (MAX (max_w, 1.0) * PANGO_SCALE));
  pango_layout_set_ellipsize (l, PANGO_ELLIPSIZE_END);
  if (lines > 1)
    {
      pango_layout_set_wrap (l, PANGO_WRAP_WORD_CHAR);
      pango_layout_set_height (l, -lines);
    }
}

static void
layout_size (PangoLayout *l,
             double      *w,
             double      *h)
{
  PangoRectangle r;

  pango_layout_get_extents (l, NULL, &r);
  if (w != NULL)
    *w = r.width / (double) PANGO_SCALE;
  if (h != NULL)
    *h = r.height / (double) PANGO_SCALE;
}

static double
text_width (Ctx                        *d,
            const PangoFontDescription *font,
            const char                 *text)
{
  PangoLayout *l = ctx_layout (d, font, text);
  double w;

  layout_size (l, &w, NULL);
  g_object_unref (l);
  return w;
}

/* Draws l so that the point (ax, ay) of its logical box, in fractions of
 * its size ((0, 0) top left, (1, 0.5) middle of the right edge), lands on
 * (x, y). */
static void
draw_layout (Ctx          *d,
             PangoLayout  *l,
             double        x,
             double        y,
             double        ax,
             double        ay,
             const double  rgb[3])
{
  PangoRectangle r;

  pango_layout_get_extents (l, NULL, &r);
  cairo_set_source_rgb (d->cr, rgb[0], rgb[1], rgb[2]);
  cairo_move_to (d->cr,
                 x - ax * r.width / (double) PANGO_SCALE - r.x / (double) PANGO_SCALE,
                 y - ay * r.height / (double) PANGO_SCALE - r.y / (double) PANGO_SCALE);
  pango_cairo_show_layout (d->cr, l);
}

static void
draw_text (Ctx                        *d,
           const PangoFontDescription *font,
           const char                 *text,
           double                      x,
           double                      y,
           double                      ax,
           double                      ay,
           const double                rgb[3])
{
  PangoLayout *l = ctx_layout (d, font, text);

  draw_layout (d, l, x, y, ax, ay, rgb);
  g_object_unref (l);
}

/* As draw_layout, turned by angle radians about (x, y). */
static void
draw_layout_rotated (Ctx          *d,
                     PangoLayout  *l,
                     double        x,
                     double        y,
                     double        angle,
                     double        ax,
                     double        ay,
                     const double  rgb[3])
{
  cairo_save (d->cr);
  cairo_translate (d->cr, x, y);
  cairo_rotate (d->cr, angle);
  pango_cairo_update_layout (d->cr, l);
  draw_layout (d, l, 0, 0, ax, ay, rgb);
  cairo_restore (d->cr);
  pango_cairo_update_context (d->cr, d->pango);
}

static void
set_source (Ctx          *d,
            const double  rgb[3])
{
  cairo_set_source_rgb (d->cr, rgb[0], rgb[1], rgb[2]);
}

/* Snaps a coordinate so a line of width lw along it covers whole device
 * pixels: hairlines stay crisp at scale 1 and 2 and at any export DPI. */
static double
snap_line (Ctx     *d,
           double   v,
           double   lw,
           gboolean vertical)
{
  double x = vertical ? v : 0, y = vertical ? 0 : v;
  double dw = lw, dz = 0;
  int n;

  cairo_user_to_device_distance (d->cr, vertical ? &dw : &dz, vertical ? &dz : &dw);
  n = MAX (1, (int) round (fabs (dw)));
  cairo_user_to_device (d->cr, &x, &y);
  if (vertical)
    x = n % 2 ? floor (x) + 0.5 : round (x);
  else
    y = n % 2 ? floor (y) + 0.5 : round (y);
  cairo_device_to_user (d->cr, &x, &y);
  return vertical ? x : y;
}

/* Snaps a fill edge to a device pixel boundary. */
static double
snap_edge (Ctx     *d,
           double   v,
           gboolean vertical)
{
  double x = vertical ? v : 0, y = vertical ? 0 : v;

  cairo_user_to_device (d->cr, &x, &y);
  if (vertical)
    x = round (x);
  else
    y = round (y);
  cairo_device_to_user (d->cr, &x, &y);
  return vertical ? x : y;
}

static void
hline (Ctx          *d,
       double        x0,
       double        x1,
       double        y,
       double        lw,
       const double  rgb[3])
{
  y = snap_line (d, y, lw, FALSE);
  cairo_set_line_width (d->cr, lw);
  cairo_set_line_cap (d->cr, CAIRO_LINE_CAP_BUTT);
  set_source (d, rgb);
  cairo_move_to (d->cr, x0, y);
  cairo_line_to (d->cr, x1, y);
  cairo_stroke (d->cr);
}

static void
vline (Ctx          *d,
       double        x,
       double        y0,
       double        y1,
       double        lw,
       const double  rgb[3])
{
  x = snap_line (d, x, lw, TRUE);
  cairo_set_line_width (d->cr, lw);
  cairo_set_line_cap (d->cr, CAIRO_LINE_CAP_BUTT);
  set_source (d, rgb);
  cairo_move_to (d->cr, x, y0);
  cairo_line_to (d->cr, x, y1);
  cairo_stroke (d->cr);
}

static void
set_rect (LensChart *c,
          guint      item,
          double     x,
          double     y,
          double     w,
          double     h)
{
  if (item >= c->n_items)
    return;
  if (w < 0)
    {
      x += w;
      w = -w;
    }
  if (h < 0)
    {
      y += h;
      h = -h;
    }
  c->rects[4 * item + 0] = x;
  c->rects[4 * item + 1] = y;
  c->rects[4 * item + 2] = w;
  c->rects[4 * item + 3] = h;
}

static void
hatch_box (Ctx          *d,
           double        x,
           double        y,
           double        w,
           double        h,
           const double  fill[3],
           const double  lines[3])
{
  double sp = MAX (d->em * 0.4, 3.0);

  cairo_save (d->cr);
  cairo_rectangle (d->cr, x, y, w, h);
  set_source (d, fill);
  cairo_fill_preserve (d->cr);
  cairo_clip (d->cr);
  set_source (d, lines);
  cairo_set_line_width (d->cr, 1.0);
  for (double t = -h; t < w + h; t += sp)
    {
      cairo_move_to (d->cr, x + t, y + h);
      cairo_line_to (d->cr, x + t + h, y);
    }
  cairo_stroke (d->cr);
  cairo_restore (d->cr);
}

/* Whiskers get a halo in the background colour, so they read on top of a
 * bar of any colour. */
static void
whisker (Ctx     *d,
         double   a0,
         double   a1,
         double   c,
         double   cap,
         gboolean vertical)
{
  for (int pass = 0; pass < 2; pass++)
    {
      double lw = pass == 0 ? 2.8 : 1.2;

      cairo_set_line_width (d->cr, lw);
      cairo_set_line_cap (d->cr, CAIRO_LINE_CAP_SQUARE);
      set_source (d, pass == 0 ? d->c.bg : d->c.whisker);
      if (vertical)
        {
          cairo_move_to (d->cr, c, a0);
          cairo_line_to (d->cr, c, a1);
          cairo_move_to (d->cr, c - cap / 2, a0);
          cairo_line_to (d->cr, c + cap / 2, a0);
          cairo_move_to (d->cr, c - cap / 2, a1);
          cairo_line_to (d->cr, c + cap / 2, a1);
        }
      else
        {
          cairo_move_to (d->cr, a0, c);
          cairo_line_to (d->cr, a1, c);
          cairo_move_to (d->cr, a0, c - cap / 2);
          cairo_line_to (d->cr, a0, c + cap / 2);
          cairo_move_to (d->cr, a1, c - cap / 2);
          cairo_line_to (d->cr, a1, c + cap / 2);
        }
      cairo_stroke (d->cr);
    }
}

/* ---- shared furniture: title, notes, legends, axes -------------------------- */

/* A muted line under the title; returns its height (measured only
 * unless draw). */
static double
draw_note (Ctx        *d,
           double      y,
           const char *note,
           gboolean    draw)
{
  PangoLayout *l;
  double h;

  if (note == NULL)
    return 0;
  l = ctx_layout (d, d->font_note, note);
  layout_limit (l, d->w - 2 * d->pad, 2);
  layout_size (l, NULL, &h);
  /* A thumbnail keeps its room for the data. */
  if (h > d->h * 0.12)
    {
      g_object_unref (l);
      return 0;
    }
  if (draw)
    draw_layout (d, l, d->pad, y, 0, 0, d->c.muted);
  g_object_unref (l);
  return h + d->em * 0.2;
}

/* The title, left-aligned, and the caller's note; returns the y below. */
static double
draw_title (Ctx *d)
{
  double y = d->pad, h;
  PangoLayout *l;

  if (d->chart->title[0] != '\0')
    {
      l = ctx_layout (d, d->font_title, d->chart->title);
      layout_limit (l, d->w - 2 * d->pad, 1);
      layout_size (l, NULL, &h);
      draw_layout (d, l, d->pad, y, 0, 0, d->c.fg);
      g_object_unref (l);
      y += h + d->em * 0.25;
    }
  return y + draw_note (d, y, d->chart->note, TRUE);
}

typedef enum {
  SWATCH_BOX,
  SWATCH_LINE,
  SWATCH_RING,
  SWATCH_DOT,       /* a grouped-scatter point */
  SWATCH_DOT_NONE,  /* the grey point of "no group" */
} SwatchKind;

/* Points without a group: a mid grey, apart from every palette colour
 * (including black and the dark style's light grey). */
static void
none_color (gboolean dark,
            double   rgb[3])
{
  rgb_from_hex (dark ? 0x808080 : 0x9A9A9A, rgb);
}

/* A filled point with a thin edge 40% darker than its fill: overlapping
 * points stay countable, and light fills (orange, yellow) stay visible on
 * white. */
static void
draw_dot (Ctx          *d,
          double        x,
          double        y,
          double        r,
          const double  rgb[3])
{
  cairo_new_path (d->cr);
  cairo_arc (d->cr, x, y, r, 0, 2 * G_PI);
  set_source (d, rgb);
  cairo_fill_preserve (d->cr);
  cairo_set_source_rgb (d->cr, rgb[0] * 0.6, rgb[1] * 0.6, rgb[2] * 0.6);
  cairo_set_line_width (d->cr, 0.6);
  cairo_stroke (d->cr);
}

/* Line styles for series past the eighth colour. */
static void
series_dash (cairo_t *cr,
             guint    s)
{
  static const double dash_a[] = { 6.0, 3.0 };
  static const double dash_b[] = { 1.5, 2.5 };

  switch ((s / G_N_ELEMENTS (okabe_ito)) % 3)
    {
    case 1:
      cairo_set_dash (cr, dash_a, 2, 0);
      break;
    case 2:
      cairo_set_dash (cr, dash_b, 2, 0);
      break;
    default:
      cairo_set_dash (cr, NULL, 0, 0);
      break;
    }
}

static void
draw_swatch (Ctx        *d,
             SwatchKind  kind,
             guint       s,
             double      x,
             double      cy,
             double      sw)
{
  double rgb[3];

  /* Text leaves a current point behind; an arc would join it. */
  cairo_new_path (d->cr);
  lens_chart_palette (s, d->dark, rgb);
  switch (kind)
    {
    case SWATCH_BOX:
      cairo_rectangle (d->cr, x, cy - sw / 2, sw, sw);
      set_source (d, rgb);
      cairo_fill (d->cr);
      break;
    case SWATCH_LINE:
      cairo_set_line_width (d->cr, 2.2);
      series_dash (d->cr, s);
      set_source (d, rgb);
      cairo_move_to (d->cr, x, cy);
      cairo_line_to (d->cr, x + sw, cy);
      cairo_stroke (d->cr);
      cairo_set_dash (d->cr, NULL, 0, 0);
      cairo_arc (d->cr, x + sw / 2, cy, 2.6, 0, 2 * G_PI);
      cairo_fill (d->cr);
      break;
    case SWATCH_RING:
      set_source (d, d->c.fg);
      cairo_set_line_width (d->cr, 1.8);
      cairo_arc (d->cr, x + sw / 2, cy, sw * 0.3, 0, 2 * G_PI);
      cairo_stroke (d->cr);
      break;
    case SWATCH_DOT:
    case SWATCH_DOT_NONE:
      /* Larger than the points, so the colour reads next to text. */
      if (kind == SWATCH_DOT_NONE)
        none_color (d->dark, rgb);
      draw_dot (d, x + sw / 2, cy, sw * 0.42, rgb);
      break;
    }
}

/* Series legend in rows under the title, outside the plot, so it never
 * covers data. Returns its height (measured only unless draw); 0 when it
 * would leave too little room for the plot (the read-outs still name
 * every series). */
static double
draw_legend (Ctx        *d,
             double      y,
             guint       n,
             char      **labels,
             SwatchKind  kind,
             const char *extra_label,
             SwatchKind  extra_kind,
             gboolean    draw)
{
  double max_w = d->w - 2 * d->pad;
  double sw = kind == SWATCH_LINE ? d->em * 1.6 : d->em * 0.75;
  double gap = d->em * 0.35, spacing = d->em * 1.1;
  double x, row_h = d->em * 1.25, height;
  guint n_entries = n + (extra_label != NULL ? 1 : 0);
  int rows = 1;

  if (n_entries == 0)
    return 0;

  /* First pass: how many rows. */
  x = 0;
  for (guint i = 0; i < n_entries; i++)
    {
      const char *label = i < n ? labels[i] : extra_label;
      double ew = MIN (sw + gap + text_width (d, d->font, label), max_w);

      if (x > 0 && x + ew > max_w)
        {
          rows++;
          x = 0;
        }
      x += ew + spacing;
    }
  height = rows * row_h;
  if (height > d->h * 0.28)
    return 0;
  if (!draw)
    return height + d->em * 0.35;

  x = 0;
  for (guint i = 0, row = 0; i < n_entries; i++)
    {
      const char *label = i < n ? labels[i] : extra_label;
      PangoLayout *l = ctx_layout (d, d->font, label);
      double tw, ew, cy;

      layout_limit (l, max_w - sw - gap, 1);
      layout_size (l, &tw, NULL);
      ew = sw + gap + tw;
      if (x > 0 && x + ew > max_w)
        {
          row++;
          x = 0;
        }
      cy = y + row * row_h + row_h / 2;
      draw_swatch (d, i < n ? kind : extra_kind, i, d->pad + x, cy, sw);
      draw_layout (d, l, d->pad + x + sw + gap, cy, 0, 0.5, d->c.fg);
      g_object_unref (l);
      x += ew + spacing;
    }
  return height + d->em * 0.35;
}

/* Width of the widest tick label of a. */
static double
axis_label_width (Ctx        *d,
                  const Axis *a)
{
  double w = 0;

  for (guint i = 0; i < axis_n_ticks (a); i++)
    {
      g_autofree char *markup = axis_tick_markup (a, i);
      PangoLayout *l = ctx_markup (d, d->font, markup);
      double tw;

      layout_size (l, &tw, NULL);
      w = MAX (w, tw);
      g_object_unref (l);
    }
  return w;
}

/* Horizontal grid lines and tick labels left of the plot. */
static void
draw_y_axis (Ctx        *d,
             const Axis *a,
             const Box  *plot)
{
  for (guint i = 0; i < axis_n_ticks (a); i++)
    {
      double t = axis_tick (a, i);
      double y = axis_map (a, a->log ? pow (10.0, t) : t);
      g_autofree char *markup = axis_tick_markup (a, i);
      PangoLayout *l;

      if (y < plot->y - 0.5 || y > plot->y + plot->h + 0.5)
        continue;
      hline (d, plot->x, plot->x + plot->w, y, 1.0, d->c.grid);
      l = ctx_markup (d, d->font, markup);
      draw_layout (d, l, plot->x - d->em * 0.4, y, 1.0, 0.5, d->c.muted);
      g_object_unref (l);
    }
}

/* Vertical grid lines and tick labels under the plot (minor ticks at
 * 2..9 on a log axis). */
static void
draw_x_axis (Ctx        *d,
             const Axis *a,
             const Box  *plot)
{
  double bottom = plot->y + plot->h;
  guint n = axis_n_ticks (a);
  double spacing = fabs (a->p1 - a->p0) * a->step / (a->hi - a->lo);
  /* Where even the fewest ticks crowd (a thumbnail), label every k-th. */
  guint every = (guint) MAX (1.0, ceil ((axis_label_width (d, a) + d->em * 0.8) / MAX (spacing, 1e-3)));

  for (guint i = 0; i < n; i++)
    {
      double t = axis_tick (a, i);
      double x = axis_map (a, a->log ? pow (10.0, t) : t);
      g_autofree char *markup = axis_tick_markup (a, i);
      PangoLayout *l;

      if (x < plot->x - 0.5 || x > plot->x + plot->w + 0.5)
        continue;
      vline (d, x, plot->y, bottom, 1.0, d->c.grid);
      vline (d, x, bottom, bottom + d->em * 0.3, 1.0, d->c.axis);
      if (i % every != 0)
        continue;
      l = ctx_markup (d, d->font, markup);
      draw_layout (d, l, x, bottom + d->em * 0.4, 0.5, 0.0, d->c.muted);
      g_object_unref (l);
    }
  if (a->log)
    {
      double decade = (a->p1 - a->p0) / (a->hi - a->lo);
      double widest = axis_label_width (d, a);

      for (double e = a->lo; e < a->hi; e += 1.0)
        for (int m = 2; m <= 9; m++)
          {
            double v = m * pow (10.0, e), x = axis_map (a, v);

            vline (d, x, bottom, bottom + d->em * 0.18, 1.0, d->c.axis);
            /* Few decades: 2 and 5 get a grid line and a label too, when
             * the narrowest gap (log 2 of a decade) holds a label. */
            if ((m == 2 || m == 5) && a->step == 1.0 && decade * 0.3 >= widest + d->em)
              {
                g_autofree char *label = format_log_value (v);

                vline (d, x, plot->y, bottom, 1.0, d->c.grid);
                vline (d, x, bottom, bottom + d->em * 0.3, 1.0, d->c.axis);
                draw_text (d, d->font, label, x, bottom + d->em * 0.4, 0.5, 0.0, d->c.muted);
              }
          }
    }
  hline (d, plot->x, plot->x + plot->w, bottom, 1.0, d->c.axis);
}

/* Whole-number steps for whole-number data (epochs): no "2.5". */
static void
axis_integer (Axis *a)
{
  if (a->step >= 1 && a->step == floor (a->step))
    return;
  a->step = a->step < 1 ? 1.0 : 5.0 * pow (10.0, floor (log10 (a->step)));
  a->lo = floor (a->lo / a->step + 1e-9) * a->step;
  a->hi = ceil (a->hi / a->step - 1e-9) * a->step;
  a->decimals = 0;
}

/* Ticks that fit: fewer until the labels have room. */
static void
axis_fit_x (Ctx     *d,
            Axis    *a,
            double   lo,
            double   hi,
            double   length,
            gboolean log,
            gboolean integer)
{
  int target = CLAMP ((int) (length / (d->em * 5.0)), 2, 10);

  for (;;)
    {
      if (log)
        {
          axis_log (a, lo, hi);
          a->step = MAX (1.0, ceil ((a->hi - a->lo) / target));
        }
      else
        {
          axis_nice (a, lo, hi, target, FALSE, FALSE);
          if (integer)
            axis_integer (a);
        }
      if (target <= 2 || axis_label_width (d, a) + d->em * 1.2 <= length / MAX (axis_n_ticks (a) - 1, 1))
        break;
      target--;
    }
}

static void
draw_axis_title_x (Ctx        *d,
                   const char *title,
                   const Box  *plot,
                   double      y)
{
  PangoLayout *l;

  if (title == NULL)
    return;
  l = ctx_layout (d, d->font_axis, title);
  layout_limit (l, plot->w, 1);
  pango_layout_set_alignment (l, PANGO_ALIGN_CENTER);
  draw_layout (d, l, plot->x + plot->w / 2, y, 0.5, 0.0, d->c.fg);
  g_object_unref (l);
}

static void
draw_axis_title_y (Ctx        *d,
                   const char *title,
                   const Box  *plot)
{
  PangoLayout *l;

  if (title == NULL)
    return;
  l = ctx_layout (d, d->font_axis, title);
  layout_limit (l, plot->h, 1);
  /* Reads bottom to top, centred on the plot. */
  draw_layout_rotated (d, l, d->pad, plot->y + plot->h / 2, -G_PI / 2, 0.5, 0.0, d->c.fg);
  g_object_unref (l);
}

static void
draw_no_data (Ctx   *d,
              double top)
{
  draw_text (d, d->font, "No data", d->w / 2, (top + d->h) / 2, 0.5, 0.5, d->c.muted);
}

static void
data_range (const double *v,
            gsize         n,
            double       *lo,
            double       *hi)
{
  for (gsize i = 0; v != NULL && i < n; i++)
    if (isfinite (v[i]))
      {
        *lo = MIN (*lo, v[i]);
        *hi = MAX (*hi, v[i]);
      }
}

/* ---- grouped bars ----------------------------------------------------------- */

/* Names of several words may wrap to two lines; a single word is
 * ellipsized rather than broken ("Acti-on"). */
static int
group_label_lines (const char *label)
{
  return strchr (label, ' ') != NULL ? 2 : 1;
}

static void
draw_bar (Ctx *d)
{
  LensChart *c = d->chart;
  guint G = c->n_a, S = c->n_b;
  gsize n = (gsize) G * S;
  double dmin = INFINITY, dmax = -INFINITY;
  double title_bottom, legend_h, note_h = 0;
  double top, bottom, left, right, label_h = 0, gw, base, y_base;
  gboolean fixed_lo = isfinite (c->y_min), fixed_hi = isfinite (c->y_max);
  g_autofree char *note = NULL;
  Axis ay;
  Box plot;

  data_range (c->v, n, &dmin, &dmax);
  data_range (c->lo, n, &dmin, &dmax);
  data_range (c->hi, n, &dmin, &dmax);
  if (!isfinite (dmin))
    {
      dmin = 0;
      dmax = 1;
    }
  /* Zero belongs on the axis when it is near the data (within one data
   * range); metrics like AUC in 0.70–0.83 get a zoomed axis instead, with
   * a note saying so. */
  if (dmin > 0 && dmin <= dmax - dmin)
    dmin = 0;
  if (dmax < 0 && -dmax <= dmax - dmin)
    dmax = 0;
  if (fixed_lo)
    dmin = c->y_min;
  if (fixed_hi)
    dmax = c->y_max;

  title_bottom = draw_title (d);
  legend_h = draw_legend (d, 0, S, c->labels_b, SWATCH_BOX, NULL, SWATCH_BOX, FALSE);
  /* Layout in two passes: the first guesses the plot's height for the
   * tick count, the second uses the real one. Nothing is drawn until the
   * axis, and with it the note, is final. */
  bottom = d->h - d->pad;
  plot.h = MAX (bottom - title_bottom - legend_h - 4 * d->em, 1);
  for (int pass = 0; pass < 2; pass++)
    {
      double range = dmax - dmin;
      double lo = dmin, hi = dmax;

      /* Headroom so bars and whiskers do not touch the frame. */
      if (!fixed_lo && dmin != 0)
        lo -= 0.08 * range;
      if (!fixed_hi && dmax != 0)
        hi += 0.06 * range;
      axis_nice (&ay, lo, hi, CLAMP ((int) (plot.h / (d->em * 3.0)), 2, 8), fixed_lo, fixed_hi);
      g_clear_pointer (&note, g_free);
      c->axis_start = NAN;
      if (ay.lo > 0 || ay.hi < 0)
        {
          g_autofree char *end = format_fixed (ay.lo > 0 ? ay.lo : ay.hi, ay.decimals, FALSE);

          c->axis_start = ay.lo > 0 ? ay.lo : ay.hi;
          note = g_strdup_printf (ay.lo > 0
                                  ? "The y axis starts at %s, not at zero."
                                  : "The y axis ends at %s, not at zero.", end);
        }
      note_h = draw_note (d, title_bottom, note, FALSE);
      top = title_bottom + note_h + legend_h + d->em * 0.5;

      left = d->pad + (c->y_label != NULL ? d->em * 1.4 : 0) + axis_label_width (d, &ay) + d->em * 0.4;
      right = d->w - d->pad;
      gw = MAX (right - left, 1) / MAX (G, 1);
      label_h = 0;
      for (guint g = 0; g < G; g++)
        {
          PangoLayout *l = ctx_layout (d, d->font, c->labels_a[g]);
          double lh;

          layout_limit (l, gw - d->em * 0.3, group_label_lines (c->labels_a[g]));
          layout_size (l, NULL, &lh);
          label_h = MAX (label_h, lh);
          g_object_unref (l);
        }
      plot.x = left;
      plot.y = top;
      plot.w = MAX (right - left, 1);
      plot.h = MAX (bottom - top - label_h - d->em * 0.45, 1);
    }
  draw_note (d, title_bottom, note, TRUE);
  draw_legend (d, title_bottom + note_h, S, c->labels_b, SWATCH_BOX, NULL, SWATCH_BOX, TRUE);

  ay.p0 = plot.y + plot.h;
  ay.p1 = plot.y;
  draw_y_axis (d, &ay, &plot);
  draw_axis_title_y (d, c->y_label, &plot);

  base = ay.lo > 0 ? ay.lo : ay.hi < 0 ? ay.hi : 0.0;
  y_base = axis_map (&ay, base);

  cairo_save (d->cr);
  cairo_rectangle (d->cr, plot.x, plot.y - 1, plot.w, plot.h + 2);
  cairo_clip (d->cr);
  for (guint g = 0; g < G; g++)
    {
      double inner = gw * (S == 1 ? 0.55 : 0.8);
      double bw = inner / MAX (S, 1);
      double gap = bw > 6 ? MIN (bw * 0.12, 2.0) : 0.0;

      for (guint s = 0; s < S; s++)
        {
          guint i = g * S + s;
          double x0 = plot.x + g * gw + (gw - inner) / 2 + s * bw;
          double x1 = x0 + bw - gap;
          double v = c->v[i], rgb[3];

          x0 = snap_edge (d, x0, TRUE);
          x1 = MAX (snap_edge (d, x1, TRUE), x0 + 1);
          if (!isfinite (v))
            {
              /* No bar: a short hatched stub at the baseline says "no
               * data" rather than "zero". */
              double sh = MIN (d->em * 0.9, plot.h * 0.25);
              hatch_box (d, x0, y_base - sh, x1 - x0, sh, d->c.nan_fill, d->c.hatch);
              set_rect (c, i, x0, y_base - sh, x1 - x0, sh);
              continue;
            }
          else
            {
              double yv = axis_map (&ay, v);
              double ry0 = snap_edge (d, MIN (yv, y_base), FALSE);
              double ry1 = snap_edge (d, MAX (yv, y_base), FALSE);
              double rt, rb;

              if (ry1 - ry0 < 1)
                ry1 = ry0 + 1;
              lens_chart_palette (s, d->dark, rgb);
              cairo_rectangle (d->cr, x0, ry0, x1 - x0, ry1 - ry0);
              set_source (d, rgb);
              cairo_fill (d->cr);
              /* A darker edge keeps light bars (yellow) apart from the
               * background and from their neighbours. */
              if (x1 - x0 > 3)
                {
                  cairo_rectangle (d->cr, x0 + 0.5, ry0 + 0.5, x1 - x0 - 1, ry1 - ry0 - 1);
                  cairo_set_source_rgb (d->cr, rgb[0] * 0.72, rgb[1] * 0.72, rgb[2] * 0.72);
                  cairo_set_line_width (d->cr, 1.0);
                  cairo_stroke (d->cr);
                }
              rt = ry0;
              rb = ry1;
              if (c->lo != NULL && c->hi != NULL && isfinite (c->lo[i]) && isfinite (c->hi[i]))
                {
                  double wl = axis_map (&ay, c->lo[i]), wh = axis_map (&ay, c->hi[i]);
                  double cap = MIN ((x1 - x0) * 0.55, d->em * 0.7);

                  whisker (d, wl, wh, (x0 + x1) / 2, cap, TRUE);
                  rt = MIN (rt, MIN (wl, wh));
                  rb = MAX (rb, MAX (wl, wh));
                }
              rt = MAX (rt, plot.y);
              rb = MIN (rb, plot.y + plot.h);
              set_rect (c, i, x0, rt, x1 - x0, MAX (rb - rt, 1));
            }
        }
    }
  cairo_restore (d->cr);

  /* Baseline; on a zoomed axis a break mark shows the cut. */
  hline (d, plot.x, plot.x + plot.w, y_base, 1.2, d->c.axis);
  if (isfinite (c->axis_start))
    {
      double bx = plot.x + d->em * 0.3, by = y_base, s = d->em * 0.3;

      cairo_set_line_width (d->cr, 1.3);
      set_source (d, d->c.bg);
      cairo_rectangle (d->cr, bx - s * 0.2, by - s * 0.9, s * 1.6, s * 1.8);
      cairo_fill (d->cr);
      set_source (d, d->c.axis);
      for (int k = 0; k < 2; k++)
        {
          cairo_move_to (d->cr, bx + k * s * 0.7 - s * 0.4 + s * 0.2, by + s * 0.8);
          cairo_line_to (d->cr, bx + k * s * 0.7 + s * 0.4 + s * 0.2, by - s * 0.8);
        }
      cairo_stroke (d->cr);
    }

  for (guint g = 0; g < G; g++)
    {
      PangoLayout *l = ctx_layout (d, d->font, c->labels_a[g]);

      layout_limit (l, gw - d->em * 0.3, group_label_lines (c->labels_a[g]));
      pango_layout_set_alignment (l, PANGO_ALIGN_CENTER);
      draw_layout (d, l, plot.x + (g + 0.5) * gw, plot.y + plot.h + d->em * 0.35, 0.5, 0.0, d->c.fg);
      g_object_unref (l);
    }
}

/* ---- heatmap ---------------------------------------------------------------- */

static void
heat_domain (LensChart *c,
             double    *lo,
             double    *hi)
{
  double a = INFINITY, b = -INFINITY;

  data_range (c->v, (gsize) c->n_a * c->n_b, &a, &b);
  if (!isfinite (a))
    {
      a = c->scale == LENS_COLOR_SCALE_DIVERGING ? c->center - 1 : 0;
      b = c->scale == LENS_COLOR_SCALE_DIVERGING ? c->center + 1 : 1;
    }
  /* A fixed end replaces the data's, so matrices side by side share a
   * scale; a free end that falls on the wrong side gives way. */
  if (isfinite (c->value_lo))
    {
      a = c->value_lo;
      b = MAX (b, a);
    }
  if (isfinite (c->value_hi))
    {
      b = c->value_hi;
      a = isfinite (c->value_lo) ? a : MIN (a, b);
    }
  if (c->scale == LENS_COLOR_SCALE_DIVERGING)
    {
      /* Symmetric, so equal distances from the centre get equal colours. */
      double m = MAX (fabs (a - c->center), fabs (b - c->center));
      if (!(m > 0))
        m = 1;
      a = c->center - m;
      b = c->center + m;
    }
  else if (!(b > a))
    {
      /* Widen away from a fixed end. */
      if (isfinite (c->value_lo) && !isfinite (c->value_hi))
        b = a + 1;
      else if (isfinite (c->value_hi) && !isfinite (c->value_lo))
        a = b - 1;
      else
        {
          a -= 0.5;
          b += 0.5;
        }
    }
  *lo = a;
  *hi = b;
}

static void
heat_color (LensChart *c,
            gboolean   dark,
            double     lo,
            double     hi,
            double     v,
            double     rgb[3])
{
  double t = (v - lo) / (hi - lo);

  if (c->scale == LENS_COLOR_SCALE_DIVERGING)
    ramp_color (dark ? ramp_diverging_dark : ramp_diverging_light,
                G_N_ELEMENTS (ramp_diverging_light), t, rgb);
  else
    ramp_color (ramp_sequential, G_N_ELEMENTS (ramp_sequential), t, rgb);
}

/* Colour-scale ticks inside [lo, hi] only (the bar shows the data's
 * range), at least two of them. */
static void
colorbar_axis (Axis  *a,
               double lo,
               double hi,
               int    target)
{
  for (;; target++)
    {
      guint inside = 0;

      axis_nice (a, lo, hi, target, FALSE, FALSE);
      for (double t = ceil (lo / a->step - 1e-9) * a->step; t <= hi + 1e-9 * (hi - lo); t += a->step)
        inside++;
      if (inside >= 2 || target >= 12)
        break;
    }
  a->lo = lo;
  a->hi = hi;
}

static char *
cell_text (LensChart *c,
           guint      i)
{
  g_autofree char *value = NULL;

  if (isnan (c->v[i]))
    return NULL;
  value = format_heat_value (c, c->v[i]);
  return g_strconcat (value, c->marks != NULL && c->marks[i] != NULL ? c->marks[i] : "", NULL);
}

/* Every k-th label, k a power of two (1, 2, 4, 8, …), so that k cells
 * hold one label: regular steps that halve cleanly in a 64 × 64 matrix. */
static guint
label_step (double cell,
            double need)
{
  guint k = 1;

  while (k < (1u << 20) && k * cell < need)
    k *= 2;
  return k;
}

static void
draw_heatmap (Ctx *d)
{
  LensChart *c = d->chart;
  guint R = c->n_a, C = c->n_b;
  double vlo, vhi, top, bottom, avail_l, avail_r;
  double row_w = 0, col_w = 0, col_h = 0, tick_w, bar_area, cell_w, cell_h;
  double grid_x, grid_y, grid_w, grid_h, col_area_h = 0, lh;
  double max_label, dense_w = 1;
  gboolean rotate = FALSE, cell_labels = TRUE;
  Axis cb;

  heat_domain (c, &vlo, &vhi);
  top = draw_title (d) + d->em * 0.4;
  bottom = d->h - d->pad;
  /* Turned column labels may use up to a third of the height. */
  max_label = CLAMP ((bottom - top) * 0.33 * G_SQRT2, d->em * 6, d->em * 16);
  avail_l = d->pad;
  avail_r = d->w - d->pad;

  for (guint r = 0; r < R; r++)
    row_w = MAX (row_w, MIN (text_width (d, d->font, c->labels_a[r]), d->w * 0.3));
  for (guint k = 0; k < C; k++)
    col_w = MAX (col_w, MIN (text_width (d, d->font, c->labels_b[k]), max_label));
  lh = d->em;

  colorbar_axis (&cb, vlo, vhi, 5);
  tick_w = axis_label_width (d, &cb);
  bar_area = d->em * 1.0 + d->em * 0.9 + d->em * 0.3 + d->em * 0.3 + tick_w
             + (c->y_label != NULL ? d->em * 0.5 + lh : 0);

  /* Column labels lie flat when they fit their cell, else turn 45°. In a
   * dense matrix, where not even turned labels fit every column, only
   * every k-th is labelled, flat unless turning shows four times as many
   * (turned labels are harder to read); judged by the cells' final width,
   * from the first pass. */
  for (int pass = 0; pass < 2; pass++)
    {
      double grid_avail_w = MAX (avail_r - avail_l - row_w - d->em * 0.5 - bar_area, 1);
      double grid_avail_h, basis;
      guint flat, turned;

      cell_w = grid_avail_w / MAX (C, 1);
      basis = pass == 1 && label_step (cell_w, lh * 1.1) > 1 ? dense_w : cell_w;
      flat = label_step (basis, col_w + d->em * 0.4);
      turned = label_step (basis, lh * 1.1);
      rotate = flat > turned && (turned == 1 || flat >= 4 * turned);
      col_h = rotate ? (col_w + lh * 0.5) * G_SQRT2 / 2 + lh * 0.5 : lh;
      col_area_h = col_h + d->em * 0.4;
      grid_avail_h = MAX (bottom - top - col_area_h, 1);
      cell_h = grid_avail_h / MAX (R, 1);
      /* Cells no taller than wide, no wider than 1.6 × tall; square for
       * a square matrix (correlations). */
      cell_h = MIN (cell_h, cell_w);
      cell_w = MIN (cell_w, cell_h * (R == C ? 1.0 : 1.6));
      dense_w = cell_w;
      if (pass == 0 && rotate)
        {
          /* A rotated first label reaches left of the grid. */
          double reach = (col_w + lh * 0.5) * G_SQRT2 / 2 - cell_w / 2;
          row_w = MAX (row_w, reach - d->em * 0.5);
        }
    }
  grid_w = cell_w * C;
  grid_h = cell_h * R;
  /* Every k-th label where cells are smaller than a label: rows below
   * 0.8 of a line (the line includes leading), then spaced a full line
   * apart; flat column labels may be ellipsized down to 3 em before they
   * thin out. */
  c->row_step = cell_h >= lh * 0.8 ? 1 : label_step (cell_h, lh);
  c->col_step = label_step (cell_w, rotate ? lh * 1.1 : MIN (col_w, d->em * 3) + d->em * 0.4);
  /* Centre the whole block (row labels, grid, colour bar) horizontally. */
  grid_x = avail_l + row_w + d->em * 0.5
           + MAX (0, (avail_r - avail_l - row_w - d->em * 0.5 - bar_area - grid_w) / 2);
  grid_y = top;

  /* Cell labels: the base font, else smaller, else none at all (a partly
   * labelled grid would look like missing values). */
  {
    double need_w = 0;
    for (guint i = 0; i < R * C; i++)
      {
        g_autofree char *t = cell_text (c, i);
        if (t != NULL)
          need_w = MAX (need_w, text_width (d, d->font_cell, t));
      }
    if (need_w > cell_w - 6 || lh > cell_h - 2)
      {
        double f = MIN ((cell_w - 6) / MAX (need_w, 1), (cell_h - 2) / lh);
        if (f >= 0.72)
          pango_font_description_set_size (d->font_cell,
                                           (int) (pango_font_description_get_size (d->font) * f * 0.98));
        else
          cell_labels = FALSE;
      }
  }

  for (guint r = 0; r < R; r++)
    for (guint k = 0; k < C; k++)
      {
        guint i = r * C + k;
        double x = grid_x + k * cell_w, y = grid_y + r * cell_h;
        double x0 = snap_edge (d, x, TRUE), y0 = snap_edge (d, y, FALSE);
        double x1 = snap_edge (d, x + cell_w, TRUE), y1 = snap_edge (d, y + cell_h, FALSE);
        /* A one-unit seam in the background colour separates cells; in
         * smaller cells it would take too much of their colour. */
        double gap = cell_w > 9 && cell_h > 9 ? 1.0 : 0.0;
        double rgb[3];

        set_rect (c, i, x, y, cell_w, cell_h);
        if (isnan (c->v[i]))
          {
            hatch_box (d, x0, y0, MAX (x1 - x0 - gap, 1), MAX (y1 - y0 - gap, 1),
                       d->c.nan_fill, d->c.hatch);
            continue;
          }
        heat_color (c, d->dark, vlo, vhi, c->v[i], rgb);
        cairo_rectangle (d->cr, x0, y0, MAX (x1 - x0 - gap, 1), MAX (y1 - y0 - gap, 1));
        set_source (d, rgb);
        cairo_fill (d->cr);
        if (cell_labels)
          {
            g_autofree char *t = cell_text (c, i);
            double L = luminance (rgb);
            /* Whichever of near-black and white contrasts more. */
            gboolean white = (1.05 / (L + 0.05)) > ((L + 0.05) / 0.05);
            double ink[3];

            rgb_from_hex (white ? 0xFFFFFF : 0x111111, ink);
            draw_text (d, d->font_cell, t, x + (cell_w - gap) / 2, y + (cell_h - gap) / 2, 0.5, 0.5, ink);
          }
      }

  /* Row labels, right-aligned against the grid; column labels below.
   * Only the labelling thins out: every cell is drawn and read out. */
  for (guint r = 0; r < R; r += c->row_step)
    {
      PangoLayout *l = ctx_layout (d, d->font, c->labels_a[r]);

      layout_limit (l, d->w * 0.3, 1);
      draw_layout (d, l, grid_x - d->em * 0.5, grid_y + (r + 0.5) * cell_h, 1.0, 0.5, d->c.fg);
      g_object_unref (l);
    }
  for (guint k = 0; k < C; k += c->col_step)
    {
      PangoLayout *l = ctx_layout (d, d->font, c->labels_b[k]);
      double cx = grid_x + (k + 0.5) * cell_w;

      layout_limit (l, rotate ? max_label : MAX (cell_w, c->col_step * cell_w - d->em * 0.4), 1);
      /* Names like "dim 12" differ at the end: keep both ends. */
      pango_layout_set_ellipsize (l, PANGO_ELLIPSIZE_MIDDLE);
      if (rotate)
        draw_layout_rotated (d, l, cx, grid_y + grid_h + d->em * 0.35, -G_PI / 4, 1.0, 0.5, d->c.fg);
      else
        draw_layout (d, l, cx, grid_y + grid_h + d->em * 0.35, 0.5, 0.0, d->c.fg);
      g_object_unref (l);
    }

  /* The colour scale: a gradient through the same stops, ticks on its right. */
  {
    double bx = grid_x + grid_w + d->em * 1.0;
    double bw = d->em * 0.9;
    double bh = MIN (grid_h, d->em * 18);
    double by = grid_y;
    const guint32 *stops;
    guint n_stops;
    cairo_pattern_t *grad;

    if (c->scale == LENS_COLOR_SCALE_DIVERGING)
      {
        stops = d->dark ? ramp_diverging_dark : ramp_diverging_light;
        n_stops = G_N_ELEMENTS (ramp_diverging_light);
      }
    else
      {
        stops = ramp_sequential;
        n_stops = G_N_ELEMENTS (ramp_sequential);
      }
    grad = cairo_pattern_create_linear (0, by + bh, 0, by);
    for (guint s = 0; s < n_stops; s++)
      {
        double rgb[3];
        rgb_from_hex (stops[s], rgb);
        cairo_pattern_add_color_stop_rgb (grad, s / (double) (n_stops - 1), rgb[0], rgb[1], rgb[2]);
      }
    cairo_rectangle (d->cr, bx, by, bw, bh);
    cairo_set_source (d->cr, grad);
    cairo_fill (d->cr);
    cairo_pattern_destroy (grad);
    cairo_rectangle (d->cr, bx + 0.5, by + 0.5, bw - 1, bh - 1);
    set_source (d, d->c.axis);
    cairo_set_line_width (d->cr, 1.0);
    cairo_stroke (d->cr);

    colorbar_axis (&cb, vlo, vhi, CLAMP ((int) (bh / (d->em * 3.5)), 2, 6));
    cb.p0 = by + bh;
    cb.p1 = by;
    for (guint i = 0; i < axis_n_ticks (&cb); i++)
      {
        double t = axis_tick (&cb, i);
        double ty = axis_map (&cb, t);
        g_autofree char *label = NULL;

        if (t < vlo - 1e-9 * (vhi - vlo) || t > vhi + 1e-9 * (vhi - vlo))
          continue;
        label = axis_tick_markup (&cb, i);
        hline (d, bx + bw, bx + bw + d->em * 0.3, ty, 1.0, d->c.axis);
        draw_text (d, d->font, label, bx + bw + d->em * 0.6, ty, 0.0, 0.5, d->c.muted);
      }
    if (c->y_label != NULL && bh >= d->em * 3)
      {
        PangoLayout *l = ctx_layout (d, d->font_axis, c->y_label);
        double tx = bx + bw + d->em * 0.6 + axis_label_width (d, &cb) + d->em * 0.5;

        layout_limit (l, bh, 1);
        draw_layout_rotated (d, l, tx, by + bh / 2, G_PI / 2, 0.5, 1.0, d->c.fg);
        g_object_unref (l);
      }
  }
}

/* ---- diverging bars --------------------------------------------------------- */

static void
draw_diverging (Ctx *d)
{
  LensChart *c = d->chart;
  guint N = c->n_a;
  double dmin = 0, dmax = 0, top, bottom, label_w = 0, row_h, bar_h, star_w;
  double legend_h = 0, axis_h, left, right, pad_l = 0, pad_r = 0;
  gboolean any_p = FALSE;
  Axis ax;
  Box plot;
  g_autofree char *legend = NULL;
  double pos[3], neg[3];

  data_range (c->v, N, &dmin, &dmax);
  data_range (c->lo, N, &dmin, &dmax);
  data_range (c->hi, N, &dmin, &dmax);
  for (guint i = 0; c->p != NULL && i < N; i++)
    if (!isnan (c->p[i]))
      any_p = TRUE;

  /* Gains blue, losses vermillion (two Okabe–Ito hues). */
  lens_chart_palette (d->dark ? 5 : 0, d->dark, pos);
  lens_chart_palette (3, d->dark, neg);

  top = draw_title (d) + d->em * 0.4;
  bottom = d->h - d->pad;
  if (any_p)
    {
      legend = g_strdup ("*  p < 0.05     **  p < 0.01     ***  p < 0.001     pale bars: p ≥ 0.05");
      legend_h = d->em * 1.5;
    }
  axis_h = d->em * 1.45 + (c->x_label != NULL ? d->em * 1.3 : 0);

  for (guint i = 0; i < N; i++)
    label_w = MAX (label_w, MIN (text_width (d, d->font, c->labels_a[i]), d->w * 0.3));
  star_w = any_p ? text_width (d, d->font_axis, "***") + d->em * 0.5 : 0;
  left = d->pad + label_w + d->em * 0.6;
  right = d->w - d->pad;

  plot.x = left;
  plot.y = top;
  plot.w = MAX (right - left, 1);
  plot.h = MAX (bottom - top - axis_h - legend_h, 1);

  /* Room for stars outside the whiskers on the side they point to. */
  for (guint i = 0; c->p != NULL && i < N; i++)
    if (c->p[i] < 0.05 && isfinite (c->v[i]))
      {
        if (c->v[i] >= 0)
          pad_r = star_w;
        else
          pad_l = star_w;
      }
  {
    double range = MAX (dmax - dmin, 1e-12);
    double xlo = dmin - (dmin < 0 ? 0.04 * range : 0), xhi = dmax + (dmax > 0 ? 0.04 * range : 0);

    axis_fit_x (d, &ax, xlo, xhi, plot.w - pad_l - pad_r, FALSE, FALSE);
    /* The last tick label is centred on the right edge: keep it inside. */
    if (pad_r < axis_label_width (d, &ax) / 2)
      {
        plot.w = MAX (plot.w - (axis_label_width (d, &ax) / 2 - pad_r), 1);
        axis_fit_x (d, &ax, xlo, xhi, plot.w - pad_l - pad_r, FALSE, FALSE);
      }
  }
  ax.p0 = plot.x + pad_l;
  ax.p1 = plot.x + plot.w - pad_r;
  draw_x_axis (d, &ax, &plot);
  draw_axis_title_x (d, c->x_label, &plot, plot.y + plot.h + d->em * 1.5);

  row_h = plot.h / MAX (N, 1);
  bar_h = MIN (row_h * 0.6, d->em * 2.2);
  for (guint i = 0; i < N; i++)
    {
      double cy = plot.y + (i + 0.5) * row_h;
      double x0 = axis_map (&ax, 0.0);
      double v = c->v[i];
      PangoLayout *l = ctx_layout (d, d->font, c->labels_a[i]);
      guint every = (guint) MAX (1, ceil (d->em / MAX (row_h, 1e-3)));

      layout_limit (l, d->w * 0.3, 1);
      if (i % every == 0)
        draw_layout (d, l, plot.x - d->em * 0.6, cy, 1.0, 0.5, d->c.fg);
      g_object_unref (l);

      if (!isfinite (v))
        {
          double sw = MAX (d->em * 1.2, 4);
          hatch_box (d, x0 - sw / 2, cy - bar_h / 2, sw, bar_h, d->c.nan_fill, d->c.hatch);
          set_rect (c, i, x0 - sw / 2, cy - bar_h / 2, sw, bar_h);
          continue;
        }
      else
        {
          double xv = axis_map (&ax, v);
          double bx0 = snap_edge (d, MIN (x0, xv), TRUE), bx1 = snap_edge (d, MAX (x0, xv), TRUE);
          double by0 = snap_edge (d, cy - bar_h / 2, FALSE), by1 = snap_edge (d, cy + bar_h / 2, FALSE);
          const double *rgb = v >= 0 ? pos : neg;
          gboolean pale = c->p != NULL && !(c->p[i] < 0.05);
          double rx0 = bx0, rx1 = MAX (bx1, bx0 + 1);

          cairo_rectangle (d->cr, bx0, by0, MAX (bx1 - bx0, 1), by1 - by0);
          if (pale)
            cairo_set_source_rgb (d->cr,
                                  rgb[0] * 0.45 + d->c.bg[0] * 0.55,
                                  rgb[1] * 0.45 + d->c.bg[1] * 0.55,
                                  rgb[2] * 0.45 + d->c.bg[2] * 0.55);
          else
            set_source (d, rgb);
          cairo_fill (d->cr);
          if (c->lo != NULL && c->hi != NULL && isfinite (c->lo[i]) && isfinite (c->hi[i]))
            {
              double wl = axis_map (&ax, c->lo[i]), wh = axis_map (&ax, c->hi[i]);

              whisker (d, wl, wh, cy, MIN (bar_h * 0.7, d->em * 0.8), FALSE);
              rx0 = MIN (rx0, MIN (wl, wh));
              rx1 = MAX (rx1, MAX (wl, wh));
            }
          if (c->p != NULL && c->p[i] < 0.05)
            {
              const char *stars = stars_for_p (c->p[i]);
              if (v >= 0)
                draw_text (d, d->font_axis, stars, MAX (rx1, xv) + d->em * 0.3, cy, 0.0, 0.5, d->c.fg);
              else
                draw_text (d, d->font_axis, stars, MIN (rx0, xv) - d->em * 0.3, cy, 1.0, 0.5, d->c.fg);
            }
          set_rect (c, i, rx0, cy - bar_h / 2, MAX (rx1 - rx0, 1), bar_h);
        }
    }
  vline (d, axis_map (&ax, 0.0), plot.y, plot.y + plot.h, 1.5, d->c.zero);

  if (legend != NULL)
    {
      PangoLayout *l = ctx_layout (d, d->font_note, legend);
      layout_limit (l, d->w - 2 * d->pad, 1);
      draw_layout (d, l, d->pad, bottom, 0.0, 1.0, d->c.muted);
      g_object_unref (l);
    }
}

/* ---- scatter ---------------------------------------------------------------- */

static gboolean
all_integers (const double *v,
              guint         n)
{
  for (guint i = 0; i < n; i++)
    if (isfinite (v[i]) && v[i] != floor (v[i]))
      return FALSE;
  return TRUE;
}

static gboolean
boxes_overlap (const Box *a,
               const Box *b)
{
  return a->x < b->x + b->w && b->x < a->x + a->w && a->y < b->y + b->h && b->y < a->y + a->h;
}

static gboolean
box_inside (const Box *a,
            const Box *outer)
{
  return a->x >= outer->x && a->y >= outer->y &&
         a->x + a->w <= outer->x + outer->w && a->y + a->h <= outer->y + outer->h;
}

/* Frame (axes, titles) shared by scatter and line charts; returns the plot. */
static Box
xy_frame (Ctx        *d,
          double      top,
          Axis       *ax,
          Axis       *ay,
          double      xlo,
          double      xhi,
          double      ylo,
          double      yhi,
          gboolean    log_x,
          gboolean    integer_x)
{
  LensChart *c = d->chart;
  double bottom = d->h - d->pad;
  double x_area = d->em * 1.45 + (c->x_label != NULL ? d->em * 1.3 : 0);
  Box plot;

  plot.y = top;
  plot.h = MAX (bottom - top - x_area, 1);
  axis_nice (ay, ylo, yhi, CLAMP ((int) (plot.h / (d->em * 3.0)), 2, 8), FALSE, FALSE);
  plot.x = d->pad + (c->y_label != NULL ? d->em * 1.4 : 0) + axis_label_width (d, ay) + d->em * 0.5;
  plot.w = MAX (d->w - d->pad - plot.x, 1);
  axis_fit_x (d, ax, xlo, xhi, plot.w, log_x, integer_x);
  /* The last x tick label is centred on the right edge: keep it inside. */
  {
    double half = axis_label_width (d, ax) / 2;
    if (plot.x + plot.w + half > d->w - d->pad * 0.5)
      plot.w = MAX (d->w - d->pad * 0.5 - half - plot.x, 1);
  }

  ax->p0 = plot.x;
  ax->p1 = plot.x + plot.w;
  ay->p0 = plot.y + plot.h;
  ay->p1 = plot.y;
  draw_y_axis (d, ay, &plot);
  draw_x_axis (d, ax, &plot);
  draw_axis_title_y (d, c->y_label, &plot);
  draw_axis_title_x (d, c->x_label, &plot, plot.y + plot.h + d->em * 1.5);
  return plot;
}

static void
draw_scatter (Ctx *d)
{
  LensChart *c = d->chart;
  guint N = c->n_a;
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY, r, top;
  g_autoptr(GArray) taken = g_array_new (FALSE, FALSE, sizeof (Box));
  double fill[3];
  Axis ax, ay;
  Box plot;

  for (guint i = 0; i < N; i++)
    {
      if (!isfinite (c->x[i]) || !isfinite (c->y[i]) || (c->log_x && !(c->x[i] > 0)))
        continue;
      xlo = MIN (xlo, c->x[i]);
      xhi = MAX (xhi, c->x[i]);
      ylo = MIN (ylo, c->y[i]);
      yhi = MAX (yhi, c->y[i]);
    }
  if (!isfinite (xlo))
    {
      xlo = c->log_x ? 1 : 0;
      xhi = c->log_x ? 10 : 1;
      ylo = 0;
      yhi = 1;
    }
  if (c->zero_line)
    {
      ylo = MIN (ylo, 0);
      yhi = MAX (yhi, 0);
    }
  /* Margins so no point sits on the frame. */
  {
    double dy = (yhi - ylo) * 0.08, dx = (xhi - xlo) * 0.06;
    ylo -= dy;
    yhi += dy;
    if (!c->log_x)
      {
        xlo -= dx;
        xhi += dx;
      }
  }

  top = draw_title (d) + d->em * 0.5;
  plot = xy_frame (d, top, &ax, &ay, xlo, xhi, ylo, yhi, c->log_x, all_integers (c->x, N));
  if (c->zero_line && ay.lo <= 0 && ay.hi >= 0)
    hline (d, plot.x, plot.x + plot.w, axis_map (&ay, 0.0), 1.5, d->c.zero);

  r = MAX (d->em * 0.33, 2.5);
  lens_chart_palette (0, d->dark, fill);
  for (guint i = 0; i < N; i++)
    {
      double px, py;
      Box b;

      if (!isfinite (c->x[i]) || !isfinite (c->y[i]) || (c->log_x && !(c->x[i] > 0)))
        continue;
      px = axis_map (&ax, c->x[i]);
      py = axis_map (&ay, c->y[i]);
      cairo_new_path (d->cr);
      cairo_arc (d->cr, px, py, r, 0, 2 * G_PI);
      set_source (d, fill);
      cairo_fill_preserve (d->cr);
      set_source (d, d->c.bg);
      cairo_set_line_width (d->cr, 1.0);
      cairo_stroke (d->cr);
      set_rect (c, i, px - r - 1, py - r - 1, 2 * r + 2, 2 * r + 2);
      b = (Box) { px - r, py - r, 2 * r, 2 * r };
      g_array_append_val (taken, b);
    }

  /* Labels: the first of eight places around the point that is free and
   * inside the plot; a label with no free place is left out (the point's
   * read-out still names it). */
  for (guint i = 0; i < N; i++)
    {
      static const double places[8][2] = {
        { 1, 0 }, { -1, 0 }, { 0, -1 }, { 0, 1 }, { 1, -1 }, { 1, 1 }, { -1, -1 }, { -1, 1 },
      };
      PangoLayout *l;
      double tw, th, px, py;

      if (isnan (c->rects[4 * i]))
        continue;
      px = c->rects[4 * i] + c->rects[4 * i + 2] / 2;
      py = c->rects[4 * i + 1] + c->rects[4 * i + 3] / 2;
      l = ctx_layout (d, d->font, c->labels_a[i]);
      layout_limit (l, d->em * 12, 1);
      layout_size (l, &tw, &th);
      for (int k = 0; k < 8; k++)
        {
          double gap = r + d->em * 0.25;
          double bx = px + places[k][0] * gap - (places[k][0] < 0 ? tw : places[k][0] == 0 ? tw / 2 : 0);
          double by = py + places[k][1] * gap - (places[k][1] < 0 ? th : places[k][1] == 0 ? th / 2 : 0);
          Box b = { bx, by, tw, th };
          gboolean free = box_inside (&b, &plot);

          for (guint j = 0; free && j < taken->len; j++)
            if (boxes_overlap (&b, &g_array_index (taken, Box, j)))
              free = FALSE;
          if (free)
            {
              draw_layout (d, l, bx, by, 0, 0, d->c.fg);
              g_array_append_val (taken, b);
              break;
            }
        }
      g_object_unref (l);
    }
}

/* ---- grouped scatter ---------------------------------------------------------- */

static gboolean
point_shown (LensChart *c,
             guint      i)
{
  return isfinite (c->x[i]) && isfinite (c->y[i]);
}

static void
draw_scatter_groups (Ctx *d)
{
  LensChart *c = d->chart;
  guint N = c->n_a, G = c->n_b;
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY, top;
  /* Small, for hundreds of points; the hit target is larger (7 units,
   * and the view's 10). */
  const double r = 2.5;
  gboolean any_none = FALSE;
  Axis ax, ay;

  for (guint i = 0; i < N; i++)
    {
      if (!point_shown (c, i))
        continue;
      xlo = MIN (xlo, c->x[i]);
      xhi = MAX (xhi, c->x[i]);
      ylo = MIN (ylo, c->y[i]);
      yhi = MAX (yhi, c->y[i]);
      any_none |= c->group[i] < 0;
    }
  if (!isfinite (xlo))
    {
      xlo = ylo = 0;
      xhi = yhi = 1;
    }
  /* Margins so no point sits on the frame. */
  {
    double dy = (yhi - ylo) * 0.06, dx = (xhi - xlo) * 0.06;
    ylo -= dy;
    yhi += dy;
    xlo -= dx;
    xhi += dx;
  }

  top = draw_title (d);
  top += draw_legend (d, top, G, c->labels_b, SWATCH_DOT, any_none ? "none" : NULL,
                      SWATCH_DOT_NONE, TRUE);
  top += d->em * 0.4;
  xy_frame (d, top, &ax, &ay, xlo, xhi, ylo, yhi, FALSE, all_integers (c->x, N));

  /* Group by group in legend order, "none" first and so underneath:
   * later groups cover earlier ones consistently, not by accident of
   * point order. */
  for (int g = -1; g < (int) G; g++)
    {
      double rgb[3];

      if (g < 0)
        none_color (d->dark, rgb);
      else
        lens_chart_palette ((guint) g, d->dark, rgb);
      for (guint i = 0; i < N; i++)
        {
          double px, py;

          if (c->group[i] != g || !point_shown (c, i))
            continue;
          px = axis_map (&ax, c->x[i]);
          py = axis_map (&ay, c->y[i]);
          draw_dot (d, px, py, r, rgb);
          set_rect (c, i, px - r - 1, py - r - 1, 2 * r + 2, 2 * r + 2);
        }
    }
}

/* ---- line chart ------------------------------------------------------------- */

static void
draw_line (Ctx *d)
{
  LensChart *c = d->chart;
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY, top;
  gboolean any_marker = FALSE;
  guint max_points = 0;
  Axis ax, ay;
  Box plot;

  data_range (c->x, c->n_items, &xlo, &xhi);
  data_range (c->y, c->n_items, &ylo, &yhi);
  if (!isfinite (xlo))
    {
      xlo = 0;
      xhi = 1;
    }
  if (!isfinite (ylo))
    {
      ylo = 0;
      yhi = 1;
    }
  {
    double dy = (yhi - ylo) * 0.06;
    ylo -= dy;
    yhi += dy;
  }
  for (guint s = 0; s < c->n_a; s++)
    {
      any_marker |= c->markers[s] >= 0;
      max_points = MAX (max_points, c->offsets[s + 1] - c->offsets[s]);
    }

  top = draw_title (d);
  top += draw_legend (d, top, c->n_a, c->labels_a, SWATCH_LINE, any_marker ? "best" : NULL,
                      SWATCH_RING, TRUE);
  top += d->em * 0.4;
  plot = xy_frame (d, top, &ax, &ay, xlo, xhi, ylo, yhi, FALSE, all_integers (c->x, c->n_items));

  /* The axes span the data exactly, so points sit on the plot's edges:
   * clip a little outside it, or the first and last points are halved. */
  cairo_save (d->cr);
  cairo_rectangle (d->cr, plot.x - d->em * 0.6, plot.y - d->em * 0.6, plot.w + d->em * 1.2, plot.h + d->em * 1.2);
  cairo_clip (d->cr);
  for (guint s = 0; s < c->n_a; s++)
    {
      guint a = c->offsets[s], b = c->offsets[s + 1];
      gboolean dots = max_points > 0 && plot.w / max_points >= d->em * 0.7;
      gboolean pen_down = FALSE;
      double rgb[3];

      lens_chart_palette (s, d->dark, rgb);
      set_source (d, rgb);
      cairo_set_line_width (d->cr, 2.0);
      cairo_set_line_join (d->cr, CAIRO_LINE_JOIN_ROUND);
      series_dash (d->cr, s);
      for (guint k = a; k < b; k++)
        {
          /* A NaN breaks the line instead of bridging the gap. */
          if (!isfinite (c->x[k]) || !isfinite (c->y[k]))
            {
              pen_down = FALSE;
              continue;
            }
          if (pen_down)
            cairo_line_to (d->cr, axis_map (&ax, c->x[k]), axis_map (&ay, c->y[k]));
          else
            cairo_move_to (d->cr, axis_map (&ax, c->x[k]), axis_map (&ay, c->y[k]));
          pen_down = TRUE;
        }
      cairo_stroke (d->cr);
      cairo_set_dash (d->cr, NULL, 0, 0);

      for (guint k = a; k < b; k++)
        {
          double px, py, hs = MAX (d->em * 0.35, 3.0);

          if (!isfinite (c->x[k]) || !isfinite (c->y[k]))
            continue;
          px = axis_map (&ax, c->x[k]);
          py = axis_map (&ay, c->y[k]);
          if (dots)
            {
              cairo_new_path (d->cr);
              cairo_arc (d->cr, px, py, 2.6, 0, 2 * G_PI);
              cairo_fill (d->cr);
            }
          set_rect (c, k, px - hs, py - hs, 2 * hs, 2 * hs);
        }
    }
  /* Marked points last, on top of every line. */
  for (guint s = 0; s < c->n_a; s++)
    {
      guint k;
      double px, py, rgb[3];

      if (c->markers[s] < 0)
        continue;
      k = c->offsets[s] + (guint) c->markers[s];
      if (!isfinite (c->x[k]) || !isfinite (c->y[k]))
        continue;
      px = axis_map (&ax, c->x[k]);
      py = axis_map (&ay, c->y[k]);
      lens_chart_palette (s, d->dark, rgb);
      cairo_new_path (d->cr);
      cairo_arc (d->cr, px, py, d->em * 0.45, 0, 2 * G_PI);
      set_source (d, d->c.bg);
      cairo_fill_preserve (d->cr);
      set_source (d, d->c.fg);
      cairo_set_line_width (d->cr, 1.8);
      cairo_stroke (d->cr);
      cairo_arc (d->cr, px, py, 2.8, 0, 2 * G_PI);
      set_source (d, rgb);
      cairo_fill (d->cr);
    }
  cairo_restore (d->cr);
}

/* ---- drawing and hit testing ------------------------------------------------ */

void
lens_chart_draw (LensChart            *chart,
                 cairo_t              *cr,
                 double                width,
                 double                height,
                 const LensChartStyle *style)
{
  LensChartStyle fallback;
  Ctx d;

  g_return_if_fail (LENS_IS_CHART (chart));
  g_return_if_fail (cr != NULL);

  for (gsize i = 0; i < 4 * (gsize) MAX (chart->n_items, 1); i++)
    chart->rects[i] = NAN;
  if (!(width >= 1 && height >= 1) || !isfinite (width) || !isfinite (height))
    return;
  if (style == NULL)
    {
      lens_chart_style_init (&fallback, FALSE);
      style = &fallback;
    }

  cairo_save (cr);
  cairo_rectangle (cr, 0, 0, width, height);
  cairo_clip (cr);
  ctx_init (&d, chart, cr, width, height, style);
  set_source (&d, d.c.bg);
  cairo_paint (cr);

  if (chart->n_items == 0)
    draw_no_data (&d, draw_title (&d));
  else
    switch (chart->kind)
      {
      case LENS_CHART_BAR:
        draw_bar (&d);
        break;
      case LENS_CHART_HEATMAP:
        draw_heatmap (&d);
        break;
      case LENS_CHART_DIVERGING:
        draw_diverging (&d);
        break;
      case LENS_CHART_SCATTER:
        draw_scatter (&d);
        break;
      case LENS_CHART_LINE:
        draw_line (&d);
        break;
      case LENS_CHART_SCATTER_GROUPS:
        draw_scatter_groups (&d);
        break;
      }

  ctx_clear (&d);
  cairo_restore (cr);
}

gboolean
lens_chart_get_item_rect (LensChart *chart,
                          guint      item,
                          double     rect[4])
{
  g_return_val_if_fail (LENS_IS_CHART (chart), FALSE);

  if (item >= chart->n_items || isnan (chart->rects[4 * item]))
    return FALSE;
  if (rect != NULL)
    memcpy (rect, chart->rects + 4 * item, 4 * sizeof (double));
  return TRUE;
}

/* Small marks get a target of at least 10 × 10 units; where targets
 * overlap, the nearest centre wins. */
int
lens_chart_hit (LensChart *chart,
                double     x,
                double     y)
{
  const double min_target = 10.0;
  double best_d = INFINITY;
  int best = -1;

  g_return_val_if_fail (LENS_IS_CHART (chart), -1);

  for (guint i = 0; i < chart->n_items; i++)
    {
      const double *r = chart->rects + 4 * i;
      double cx, cy, hw, hh, dist;

      if (isnan (r[0]))
        continue;
      cx = r[0] + r[2] / 2;
      cy = r[1] + r[3] / 2;
      hw = MAX (r[2], min_target) / 2;
      hh = MAX (r[3], min_target) / 2;
      if (fabs (x - cx) > hw || fabs (y - cy) > hh)
        continue;
      dist = hypot ((x - cx) / MAX (hw, 1), (y - cy) / MAX (hh, 1));
      if (dist < best_d)
        {
          best_d = dist;
          best = (int) i;
        }
    }
  return best;
}

/* ---- read-outs ---------------------------------------------------------------- */

static void
append_ci (GString      *s,
           const double *lo,
           const double *hi,
           guint         i,
           gboolean      sign)
{
  if (lo != NULL && hi != NULL && !isnan (lo[i]) && !isnan (hi[i]))
    {
      g_autofree char *a = format_value (lo[i], sign);
      g_autofree char *b = format_value (hi[i], sign);
      g_string_append_printf (s, " [%s, %s]", a, b);
    }
}

char *
lens_chart_describe_item (LensChart *chart,
                          guint      item)
{
  LensChart *c = chart;
  GString *s;

  g_return_val_if_fail (LENS_IS_CHART (chart), NULL);
  g_return_val_if_fail (item < chart->n_items, NULL);

  s = g_string_new (NULL);
  switch (c->kind)
    {
    case LENS_CHART_BAR:
      {
        guint g = item / c->n_b, k = item % c->n_b;
        g_autofree char *v = format_value (c->v[item], FALSE);

        g_string_append_printf (s, "%s · %s: %s %s", c->labels_b[k], c->labels_a[g],
                                c->y_label ? c->y_label : "value", v);
        append_ci (s, c->lo, c->hi, item, FALSE);
        if (c->counts != NULL)
          {
            g_autofree char *n = lens_format_count (c->counts[item]);
            g_string_append_printf (s, ", n = %s", n);
          }
      }
      break;
    case LENS_CHART_HEATMAP:
      {
        guint r = item / c->n_b, k = item % c->n_b;
        g_autofree char *v = format_heat_value (c, c->v[item]);

        g_string_append_printf (s, "%s × %s: %s %s%s", c->labels_a[r], c->labels_b[k],
                                c->y_label ? c->y_label : "value", v,
                                c->marks != NULL && c->marks[item] != NULL && !isnan (c->v[item])
                                ? c->marks[item] : "");
      }
      break;
    case LENS_CHART_DIVERGING:
      {
        g_autofree char *v = format_value (c->v[item], TRUE);

        g_string_append_printf (s, "%s: %s %s", c->labels_a[item],
                                c->x_label ? c->x_label : "Δ", v);
        append_ci (s, c->lo, c->hi, item, TRUE);
        if (c->p != NULL)
          {
            g_autofree char *p = format_p (c->p[item]);
            const char *stars = stars_for_p (c->p[item]);

            g_string_append_printf (s, ", %s", p);
            if (stars[0] != '\0')
              g_string_append_printf (s, " (%s)", stars);
          }
      }
      break;
    case LENS_CHART_SCATTER:
      {
        g_autofree char *x = format_coordinate (c->x[item]);
        g_autofree char *y = format_value (c->y[item], FALSE);

        g_string_append_printf (s, "%s: %s %s, %s %s", c->labels_a[item],
                                c->x_label ? c->x_label : "x", x,
                                c->y_label ? c->y_label : "y", y);
        if (c->log_x && !(c->x[item] > 0) && !isnan (c->x[item]))
          g_string_append (s, " (not shown: the log axis needs x > 0)");
      }
      break;
    case LENS_CHART_LINE:
      {
        guint ser = 0;
        g_autofree char *x = format_coordinate (c->x[item]);
        g_autofree char *y = format_value (c->y[item], FALSE);

        while (ser + 1 < c->n_a && item >= c->offsets[ser + 1])
          ser++;
        g_string_append_printf (s, "%s, %s %s: %s %s", c->labels_a[ser],
                                c->x_label ? c->x_label : "x", x,
                                c->y_label ? c->y_label : "y", y);
        if (c->markers[ser] >= 0 && item == c->offsets[ser] + (guint) c->markers[ser])
          g_string_append (s, " (best)");
      }
      break;
    case LENS_CHART_SCATTER_GROUPS:
      {
        /* Both axes alike (PC1, PC2): the same precision on each. */
        g_autofree char *x = format_value (c->x[item], FALSE);
        g_autofree char *y = format_value (c->y[item], FALSE);

        g_string_append_printf (s, "%s · %s: %s %s, %s %s", c->labels_a[item],
                                c->group[item] >= 0 ? c->labels_b[c->group[item]] : "none",
                                c->x_label ? c->x_label : "x", x,
                                c->y_label ? c->y_label : "y", y);
      }
      break;
    }
  return g_string_free (s, FALSE);
}

static void
append_list (GString *s,
             char   **labels,
             guint    n)
{
  guint shown = MIN (n, 12);

  for (guint i = 0; i < shown; i++)
    g_string_append_printf (s, "%s%s", i == 0 ? "" : i + 1 == n ? " and " : ", ", labels[i]);
  if (shown < n)
    g_string_append_printf (s, " and %u more", n - shown);
}

/* Index of the smallest (or largest) finite value, or -1. */
static int
extreme (const double *v,
         guint         n,
         gboolean      largest)
{
  int best = -1;

  for (guint i = 0; v != NULL && i < n; i++)
    if (isfinite (v[i]) && (best < 0 || (largest ? v[i] > v[best] : v[i] < v[best])))
      best = (int) i;
  return best;
}

static guint
count_nan (const double *v,
           guint         n)
{
  guint k = 0;

  for (guint i = 0; v != NULL && i < n; i++)
    k += isnan (v[i]);
  return k;
}

static void describe_kind (LensChart *c, GString *s);

char *
lens_chart_describe (LensChart *chart)
{
  LensChart *c = chart;
  GString *s;

  g_return_val_if_fail (LENS_IS_CHART (chart), NULL);

  s = g_string_new (NULL);
  if (c->title[0] != '\0')
    g_string_append_printf (s, "%s. ", c->title);
  if (c->n_items == 0)
    g_string_append (s, "The chart has no data.");
  else
    describe_kind (c, s);
  if (c->note != NULL)
    g_string_append_printf (s, " Note: %s", c->note);
  return g_string_free (s, FALSE);
}

static void
describe_kind (LensChart *c,
               GString   *s)
{

  switch (c->kind)
    {
    case LENS_CHART_BAR:
      {
        guint n = c->n_items;
        int lo = extreme (c->v, n, FALSE), hi = extreme (c->v, n, TRUE);

        g_string_append_printf (s, "Grouped bar chart of %s for %u series (",
                                c->y_label ? c->y_label : "values", c->n_b);
        append_list (s, c->labels_b, c->n_b);
        g_string_append_printf (s, ") in %u groups (", c->n_a);
        append_list (s, c->labels_a, c->n_a);
        g_string_append (s, ").");
        if (lo >= 0)
          {
            g_autofree char *a = format_value (c->v[lo], FALSE);
            g_autofree char *b = format_value (c->v[hi], FALSE);
            g_string_append_printf (s, " Lowest %s (%s · %s), highest %s (%s · %s).",
                                    a, c->labels_b[lo % c->n_b], c->labels_a[lo / c->n_b],
                                    b, c->labels_b[hi % c->n_b], c->labels_a[hi / c->n_b]);
          }
        if (c->lo != NULL && c->hi != NULL)
          g_string_append (s, " Whiskers show confidence intervals.");
        if (count_nan (c->v, n) > 0)
          g_string_append_printf (s, " %u bars have no value.", count_nan (c->v, n));
        if (isfinite (c->axis_start))
          {
            g_autofree char *a = format_value (c->axis_start, FALSE);
            g_string_append_printf (s, " The y axis %s at %s, not at zero.",
                                    c->axis_start > 0 ? "starts" : "ends", a);
          }
      }
      break;
    case LENS_CHART_HEATMAP:
      {
        guint n = c->n_items;
        int lo = extreme (c->v, n, FALSE), hi = extreme (c->v, n, TRUE);

        g_string_append_printf (s, "Heatmap of %s, %u rows by %u columns, with a %s colour scale.",
                                c->y_label ? c->y_label : "values", c->n_a, c->n_b,
                                c->scale == LENS_COLOR_SCALE_DIVERGING ? "diverging" : "sequential");
        if (lo >= 0)
          {
            g_autofree char *a = format_heat_value (c, c->v[lo]);
            g_autofree char *b = format_heat_value (c, c->v[hi]);
            g_string_append_printf (s, " Lowest %s (%s × %s), highest %s (%s × %s).",
                                    a, c->labels_a[lo / c->n_b], c->labels_b[lo % c->n_b],
                                    b, c->labels_a[hi / c->n_b], c->labels_b[hi % c->n_b]);
          }
        if (count_nan (c->v, n) > 0)
          g_string_append_printf (s, " %u cells are undefined.", count_nan (c->v, n));
        if (isfinite (c->value_lo) || isfinite (c->value_hi))
          {
            double a, b;
            g_autofree char *ta = NULL;
            g_autofree char *tb = NULL;

            heat_domain (c, &a, &b);
            ta = format_heat_value (c, a);
            tb = format_heat_value (c, b);
            g_string_append_printf (s, " The colour scale is fixed at %s to %s.", ta, tb);
          }
      }
      break;
    case LENS_CHART_DIVERGING:
      {
        guint n = c->n_a, up = 0, down = 0, sig = 0;
        int lo = extreme (c->v, n, FALSE), hi = extreme (c->v, n, TRUE);

        for (guint i = 0; i < n; i++)
          {
            up += c->v[i] > 0;
            down += c->v[i] < 0;
            sig += c->p != NULL && c->p[i] < 0.05;
          }
        g_string_append_printf (s, "Diverging bar chart of %s for %u items: %u above zero, %u below.",
                                c->x_label ? c->x_label : "differences", n, up, down);
        if (hi >= 0 && c->v[hi] > 0)
          {
            g_autofree char *a = format_value (c->v[hi], TRUE);
            g_string_append_printf (s, " Largest gain %s (%s).", a, c->labels_a[hi]);
          }
        if (lo >= 0 && c->v[lo] < 0)
          {
            g_autofree char *a = format_value (c->v[lo], TRUE);
            g_string_append_printf (s, " Largest loss %s (%s).", a, c->labels_a[lo]);
          }
        if (c->p != NULL)
          g_string_append_printf (s, " %u of %u significant at p < 0.05.", sig, n);
      }
      break;
    case LENS_CHART_SCATTER:
      {
        guint n = c->n_a;

        g_string_append_printf (s, "Scatter plot of %u points (", n);
        append_list (s, c->labels_a, n);
        g_string_append_printf (s, "); x: %s%s, y: %s.",
                                c->x_label ? c->x_label : "x",
                                c->log_x ? " (log scale)" : "",
                                c->y_label ? c->y_label : "y");
      }
      break;
    case LENS_CHART_SCATTER_GROUPS:
      {
        g_autofree guint *sizes = g_new0 (guint, c->n_b + 1);
        guint shown = 0;

        /* Group sizes: the legend's colours, in words. */
        for (guint i = 0; i < c->n_a; i++)
          {
            sizes[c->group[i] >= 0 ? (guint) c->group[i] : c->n_b]++;
            shown += point_shown (c, i);
          }
        g_string_append_printf (s, "Scatter plot of %u points in %u groups (", c->n_a, c->n_b);
        for (guint g = 0; g <= c->n_b; g++)
          {
            if (g == c->n_b && sizes[g] == 0)
              break;
            g_string_append_printf (s, "%s%s: %u", g > 0 ? ", " : "",
                                    g < c->n_b ? c->labels_b[g] : "none", sizes[g]);
          }
        g_string_append_printf (s, "); x: %s, y: %s.",
                                c->x_label ? c->x_label : "x", c->y_label ? c->y_label : "y");
        if (shown < c->n_a)
          g_string_append_printf (s, " %u points are undefined and not shown.", c->n_a - shown);
      }
      break;
    case LENS_CHART_LINE:
      g_string_append_printf (s, "Line chart of %s against %s, %u series.",
                              c->y_label ? c->y_label : "y", c->x_label ? c->x_label : "x", c->n_a);
      for (guint ser = 0; ser < c->n_a; ser++)
        {
          guint a = c->offsets[ser], b = c->offsets[ser + 1];

          g_string_append_printf (s, " %s: %u points", c->labels_a[ser], b - a);
          if (b > a)
            {
              g_autofree char *y = format_value (c->y[b - 1], FALSE);
              g_autofree char *x = format_coordinate (c->x[b - 1]);
              g_string_append_printf (s, ", last %s at %s", y, x);
            }
          if (c->markers[ser] >= 0)
            {
              guint k = a + (guint) c->markers[ser];
              g_autofree char *y = format_value (c->y[k], FALSE);
              g_autofree char *x = format_coordinate (c->x[k]);
              g_string_append_printf (s, ", best %s at %s", y, x);
            }
          g_string_append_c (s, '.');
        }
      break;
    }
}

/* ---- CSV -------------------------------------------------------------------- */

/* The shortest text that reads back as the same double, in the C locale;
 * empty for NaN. */
static void
csv_number (GString *s,
            double   v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  static const char *formats[] = { "%.15g", "%.16g", "%.17g" };

  if (isnan (v))
    return;
  if (isinf (v))
    {
      g_string_append (s, v > 0 ? "inf" : "-inf");
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_ascii_formatd (buf, sizeof buf, formats[i], v);
      if (g_ascii_strtod (buf, NULL) == v)
        break;
    }
  g_string_append (s, buf);
}

static void
csv_sep (GString *s)
{
  g_string_append_c (s, ',');
}

static void
csv_end (GString *s)
{
  g_string_append (s, "\r\n");
}

static void
csv_opt_number (GString      *s,
                const double *v,
                guint         i)
{
  csv_sep (s);
  if (v != NULL)
    csv_number (s, v[i]);
}

char *
lens_chart_to_csv (LensChart *chart)
{
  LensChart *c = chart;
  GString *s;

  g_return_val_if_fail (LENS_IS_CHART (chart), NULL);

  s = g_string_new (NULL);
  switch (c->kind)
    {
    case LENS_CHART_BAR:
      g_string_append (s, "group,series,value,lo,hi,n");
      csv_end (s);
      for (guint i = 0; i < c->n_items; i++)
        {
          lens_format_csv_field (s, c->labels_a[i / c->n_b]);
          csv_sep (s);
          lens_format_csv_field (s, c->labels_b[i % c->n_b]);
          csv_sep (s);
          csv_number (s, c->v[i]);
          csv_opt_number (s, c->lo, i);
          csv_opt_number (s, c->hi, i);
          csv_sep (s);
          if (c->counts != NULL)
            g_string_append_printf (s, "%" G_GUINT64_FORMAT, c->counts[i]);
          csv_end (s);
        }
      break;
    case LENS_CHART_HEATMAP:
      g_string_append (s, "row,column,value,mark");
      csv_end (s);
      for (guint i = 0; i < c->n_items; i++)
        {
          lens_format_csv_field (s, c->labels_a[i / c->n_b]);
          csv_sep (s);
          lens_format_csv_field (s, c->labels_b[i % c->n_b]);
          csv_sep (s);
          csv_number (s, c->v[i]);
          csv_sep (s);
          if (c->marks != NULL && c->marks[i] != NULL)
            lens_format_csv_field (s, c->marks[i]);
          csv_end (s);
        }
      break;
    case LENS_CHART_DIVERGING:
      g_string_append (s, "label,delta,lo,hi,p");
      csv_end (s);
      for (guint i = 0; i < c->n_items; i++)
        {
          lens_format_csv_field (s, c->labels_a[i]);
          csv_sep (s);
          csv_number (s, c->v[i]);
          csv_opt_number (s, c->lo, i);
          csv_opt_number (s, c->hi, i);
          csv_opt_number (s, c->p, i);
          csv_end (s);
        }
      break;
    case LENS_CHART_SCATTER:
      g_string_append (s, "label,x,y");
      csv_end (s);
      for (guint i = 0; i < c->n_items; i++)
        {
          lens_format_csv_field (s, c->labels_a[i]);
          csv_sep (s);
          csv_number (s, c->x[i]);
          csv_sep (s);
          csv_number (s, c->y[i]);
          csv_end (s);
        }
      break;
    case LENS_CHART_SCATTER_GROUPS:
      g_string_append (s, "label,group,x,y");
      csv_end (s);
      for (guint i = 0; i < c->n_items; i++)
        {
          lens_format_csv_field (s, c->labels_a[i]);
          csv_sep (s);
          /* No group: an empty field, as for a missing number. */
          if (c->group[i] >= 0)
            lens_format_csv_field (s, c->labels_b[c->group[i]]);
          csv_sep (s);
          csv_number (s, c->x[i]);
          csv_sep (s);
          csv_number (s, c->y[i]);
          csv_end (s);
        }
      break;
    case LENS_CHART_LINE:
      g_string_append (s, "series,x,y,best");
      csv_end (s);
      for (guint ser = 0; ser < c->n_a; ser++)
        for (guint k = c->offsets[ser]; k < c->offsets[ser + 1]; k++)
          {
            lens_format_csv_field (s, c->labels_a[ser]);
            csv_sep (s);
            csv_number (s, c->x[k]);
            csv_sep (s);
            csv_number (s, c->y[k]);
            csv_sep (s);
            g_string_append (s, c->markers[ser] >= 0 && k == c->offsets[ser] + (guint) c->markers[ser]
                                ? "1" : "0");
            csv_end (s);
          }
      break;
    }
  return g_string_free (s, FALSE);
}

/* ---- export ----------------------------------------------------------------- */

gboolean
lens_export_format_from_path (const char       *path,
                              LensExportFormat *format)
{
  g_autofree char *lower = NULL;
  LensExportFormat f;

  if (path == NULL)
    return FALSE;
  lower = g_ascii_strdown (path, -1);
  if (g_str_has_suffix (lower, ".png"))
    f = LENS_EXPORT_PNG;
  else if (g_str_has_suffix (lower, ".svg"))
    f = LENS_EXPORT_SVG;
  else if (g_str_has_suffix (lower, ".pdf"))
    f = LENS_EXPORT_PDF;
  else
    return FALSE;
  if (format != NULL)
    *format = f;
  return TRUE;
}

static cairo_status_t
append_bytes (void                *closure,
              const unsigned char *data,
              unsigned int         length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

static char *
markup_escape (const char *text)
{
  return g_markup_escape_text (text != NULL ? text : "", -1);
}

/* cairo draws SVG text as glyph outlines: a <title> and <desc> keep the
 * figure's words findable and readable by assistive technology. */
static GByteArray *
svg_add_title (GByteArray *svg,
               LensChart  *chart)
{
  const char *start = (const char *) svg->data;
  const char *tag = g_strstr_len (start, svg->len, "<svg");
  const char *end = tag != NULL ? memchr (tag, '>', svg->len - (tag - start)) : NULL;
  g_autofree char *title = markup_escape (chart->title);
  g_autofree char *describe = lens_chart_describe (chart);
  g_autofree char *desc = markup_escape (describe);
  g_autofree char *insert = NULL;
  GByteArray *out;
  gsize at;

  if (end == NULL)
    return svg;
  at = (gsize) (end - start) + 1;
  insert = g_strdup_printf ("\n<title>%s</title>\n<desc>%s</desc>", title, desc);
  out = g_byte_array_sized_new (svg->len + strlen (insert));
  g_byte_array_append (out, svg->data, at);
  g_byte_array_append (out, (const guint8 *) insert, strlen (insert));
  g_byte_array_append (out, svg->data + at, svg->len - at);
  g_byte_array_unref (svg);
  return out;
}

gboolean
lens_chart_export (LensChart            *chart,
                   const char           *path,
                   LensExportFormat      format,
                   double                width,
                   double                height,
                   double                dpi,
                   const LensChartStyle *style,
                   GError              **error)
{
  g_autoptr(GByteArray) bytes = NULL;
  g_autofree char *display = NULL;
  g_autofree double *saved = NULL;
  cairo_surface_t *surface = NULL;
  cairo_status_t status;
  cairo_t *cr;
  GError *local = NULL;
  gsize n_rects;
  guint row_step, col_step;

  g_return_val_if_fail (LENS_IS_CHART (chart), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  display = g_filename_display_name (path);
  if (!(width >= 1 && height >= 1 && width <= 100000 && height <= 100000))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Could not export “%s”: the size %g × %g pt is not usable", display, width, height);
      return FALSE;
    }

  bytes = g_byte_array_new ();
  switch (format)
    {
    case LENS_EXPORT_PNG:
      {
        double px_w = round (width * dpi / 72.0), px_h = round (height * dpi / 72.0);

        /* cairo image surfaces stop at 32767 pixels a side. */
        if (!(dpi > 0) || !(px_w >= 1 && px_h >= 1 && px_w <= 32767 && px_h <= 32767))
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                         "Could not export “%s”: %g × %g pt at %g dpi is not a usable image size",
                         display, width, height, dpi);
            return FALSE;
          }
        surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (int) px_w, (int) px_h);
        cr = cairo_create (surface);
        cairo_scale (cr, px_w / width, px_h / height);
      }
      break;
    case LENS_EXPORT_SVG:
      surface = cairo_svg_surface_create_for_stream (append_bytes, bytes, width, height);
      cairo_svg_surface_set_document_unit (surface, CAIRO_SVG_UNIT_PT);
      cr = cairo_create (surface);
      break;
    case LENS_EXPORT_PDF:
      surface = cairo_pdf_surface_create_for_stream (append_bytes, bytes, width, height);
      cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE, chart->title);
      cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, MSR_APP_NAME " " MSR_VERSION);
      cr = cairo_create (surface);
      break;
    default:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Could not export “%s”: unknown format", display);
      return FALSE;
    }

  /* An export must not move the on-screen hit targets (nor change what
   * lens_chart_get_label_steps says about the screen). */
  n_rects = 4 * (gsize) MAX (chart->n_items, 1);
  saved = g_memdup2 (chart->rects, n_rects * sizeof (double));
  row_step = chart->row_step;
  col_step = chart->col_step;
  lens_chart_draw (chart, cr, width, height, style);
  memcpy (chart->rects, saved, n_rects * sizeof (double));
  chart->row_step = row_step;
  chart->col_step = col_step;

  status = cairo_status (cr);
  cairo_destroy (cr);
  if (status == CAIRO_STATUS_SUCCESS && format == LENS_EXPORT_PNG)
    status = cairo_surface_write_to_png_stream (surface, append_bytes, bytes);
  cairo_surface_finish (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Could not export “%s”: drawing failed: %s", display, cairo_status_to_string (status));
      return FALSE;
    }

  if (format == LENS_EXPORT_SVG)
    bytes = svg_add_title (g_steal_pointer (&bytes), chart);

  /* A temporary file renamed over the target: a failed export never
   * leaves half a figure behind. */
  if (!msr_file_replace_contents (path, bytes->data, bytes->len, 0666, &local))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not export “%s”: %s", display, local->message);
      g_error_free (local);
      return FALSE;
    }
  return TRUE;
}

/* test-session-util.h: what the page tests share: a workbench session
 * opened as the window opens it (its dataset loaded and its runs read),
 * and checks of a page chart's exported files. Include after
 * test-gtk-util.h. */
#pragma once

#include <string.h>
#include "lens-chart.h"
#include "lens-export.h"
#include "lens-session.h"

static inline void
msr_test_session_loaded (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(GError) error = NULL;
  g_assert_true (lens_session_load_finish (LENS_SESSION (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) data = TRUE;
}

static inline void
msr_test_session_set_flag (LensSession *session, gpointer data)
{
  *(gboolean *) data = TRUE;
}

/* Reads the runs again and waits for the "runs-changed" that follows. */
static inline void
msr_test_session_refresh (LensSession *session)
{
  gboolean refreshed = FALSE;
  gulong h = g_signal_connect (session, "runs-changed", G_CALLBACK (msr_test_session_set_flag), &refreshed);
  lens_session_refresh_runs (session);
  g_assert_true (msr_test_iterate_until (msr_test_flag_set, &refreshed, 120));
  g_signal_handler_disconnect (session, h);
}

/* Loads the session's dataset and waits for it. */
static inline void
msr_test_session_load (LensSession *session)
{
  gboolean loaded = FALSE;
  lens_session_load_async (session, NULL, msr_test_session_loaded, &loaded);
  g_assert_true (msr_test_iterate_until (msr_test_flag_set, &loaded, 120));
}

/* The project at dir as a session, its dataset loaded and runs read. */
static inline LensSession *
msr_test_session_open (const char *dir)
{
  g_autoptr(GError) error = NULL;
  LensSession *session = lens_session_open (dir, &error);
  g_assert_no_error (error);
  msr_test_session_load (session);
  msr_test_session_refresh (session);
  return session;
}

static inline guint32
msr_test_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* The chart exported to dir/stem.{png,svg,pdf} at 640 × 400 points and 144
 * dpi: each file of more than min_bytes, with its format's signature (a
 * 1280 × 800 PNG, a closed SVG element, a PDF with its end marker). */
static inline void
msr_test_check_chart_exports (LensChart *chart, const char *dir, const char *stem, gsize min_bytes)
{
  g_autoptr(GError) error = NULL;
  g_assert_nonnull (chart);
  LensChartStyle style;
  lens_chart_style_init (&style, FALSE);
  static const struct { const char *ext; LensExportFormat format; } kinds[] = {
    { "png", LENS_EXPORT_PNG }, { "svg", LENS_EXPORT_SVG }, { "pdf", LENS_EXPORT_PDF },
  };
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autofree char *name = g_strdup_printf ("%s.%s", stem, kinds[k].ext);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *data = NULL;
      gsize len = 0;
      g_assert_true (lens_chart_export (chart, path, kinds[k].format, 640, 400, 144, &style, &error));
      g_assert_no_error (error);
      g_assert_true (g_file_get_contents (path, &data, &len, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (len, >, MAX (min_bytes, 24));
      switch (kinds[k].format)
        {
        case LENS_EXPORT_PNG:
          g_assert_cmpmem (data, 8, "\x89PNG\r\n\x1a\n", 8);
          g_assert_cmpmem (data + 12, 4, "IHDR", 4);
          g_assert_cmpuint (msr_test_be32 ((const guint8 *) data + 16), ==, 1280);
          g_assert_cmpuint (msr_test_be32 ((const guint8 *) data + 20), ==, 800);
          break;
        case LENS_EXPORT_SVG:
          g_assert_nonnull (g_strstr_len (data, (gssize) len, "<svg"));
          g_assert_nonnull (g_strstr_len (data, (gssize) len, "</svg>"));
          break;
        case LENS_EXPORT_PDF:
          g_assert_true (memcmp (data, "%PDF-", 5) == 0);
          g_assert_nonnull (g_strstr_len (data + len - MIN (len, 64), (gssize) MIN (len, 64), "%%EOF"));
          break;
        }
      g_unlink (path);
    }
}

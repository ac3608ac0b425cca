/* test-gtk-util.h: what the GTK test programs share: the headless setup,
 * main-loop helpers and a reader for the CSV that charts and tables
 * export. Include after <gtk/gtk.h>. */
#pragma once

#include <glib.h>
#include <gtk/gtk.h>
#include <math.h>

/* Without a display GTK cannot start: skip on a developer's machine, fail
 * on CI (run the suite under xvfb-run). Returns -1 to go on, else the exit
 * status main should return. */
static inline int
msr_test_gtk_check_display (void)
{
  if (g_getenv ("DISPLAY") != NULL || g_getenv ("WAYLAND_DISPLAY") != NULL)
    return -1;
  const char *ci = g_getenv ("CI");
  if (ci != NULL && ci[0] != '\0')
    {
      g_print ("Bail out! no display: run the tests under xvfb-run\n");
      return 1;
    }
  g_print ("1..0 # SKIP no display (run the tests under xvfb-run)\n");
  return 0;
}

/* The settings for headless GTK tests (see the toolchain notes): GTK's test
 * accessibility backend (no session bus, which "atspi" would want, and
 * unlike "none" accessible properties the tests can check), the cairo
 * renderer, X11 and settings in memory unless the caller chose otherwise,
 * and no session bus, so nothing leaks to or from the desktop. */
static inline void
msr_test_gtk_setenv (void)
{
  g_setenv ("GTK_A11Y", "test", TRUE);
  g_setenv ("GSK_RENDERER", "cairo", FALSE);
  g_setenv ("GDK_BACKEND", "x11", FALSE);
  g_setenv ("GSETTINGS_BACKEND", "memory", FALSE);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/msrlens-test-bus", TRUE);
}

typedef gboolean (*Condition) (gpointer data);

static gboolean
msr_test_tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the main context until cond holds or `seconds` pass. The
 * deadline only guards against a hang; nothing is asserted about how long
 * it took. */
static inline gboolean
msr_test_iterate_until (Condition cond, gpointer data, guint seconds)
{
  const gint64 deadline = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;
  /* A ticking source, so the loop wakes up to re-check cond. */
  guint ticker = g_timeout_add (20, msr_test_tick, NULL);
  gboolean ok;

  while (!(ok = cond (data)) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (ticker);
  return ok;
}

/* Dispatches what is pending, without blocking. */
static inline void
msr_test_iterate_a_little (void)
{
  for (int i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
}

/* A Condition: the gboolean data points at is set. */
static inline gboolean
msr_test_flag_set (gpointer data)
{
  return *(gboolean *) data;
}

/* A page alone in a 1280 × 800 window, shown. */
static inline GtkWidget *
msr_test_show_in_window (GtkWidget *page)
{
  GtkWidget *window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));
  msr_test_iterate_a_little ();
  return window;
}

/* ---- CSV, as charts and tables export it (RFC 4180) ------------------------ */

/* Rows of fields (NULL-terminated string vectors); the first row is the
 * header. Free with g_ptr_array_unref. */
static inline GPtrArray *
msr_test_csv_parse (const char *text)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  GPtrArray *row = g_ptr_array_new ();
  GString *field = g_string_new (NULL);
  gboolean quoted = FALSE, any = FALSE;

  for (const char *p = text; *p; p++)
    {
      if (quoted)
        {
          if (*p == '"' && p[1] == '"')
            g_string_append_c (field, *p++);
          else if (*p == '"')
            quoted = FALSE;
          else
            g_string_append_c (field, *p);
          continue;
        }
      if (*p == '"')
        quoted = TRUE;
      else if (*p == ',')
        {
          g_ptr_array_add (row, g_strdup (field->str));
          g_string_truncate (field, 0);
        }
      else if (*p == '\r' || *p == '\n')
        {
          if (*p == '\r' && p[1] == '\n')
            p++;
          g_ptr_array_add (row, g_strdup (field->str));
          g_string_truncate (field, 0);
          g_ptr_array_add (row, NULL);
          g_ptr_array_add (out, g_ptr_array_free (row, FALSE));
          row = g_ptr_array_new ();
          any = FALSE;
          continue;
        }
      else
        g_string_append_c (field, *p);
      any = TRUE;
    }
  if (any || field->len > 0 || row->len > 0)
    {
      g_ptr_array_add (row, g_strdup (field->str));
      g_ptr_array_add (row, NULL);
      g_ptr_array_add (out, g_ptr_array_free (row, FALSE));
    }
  else
    g_ptr_array_free (row, TRUE);
  g_string_free (field, TRUE);
  return out;
}

/* The index of the header's column title, or -1. */
static inline int
msr_test_csv_column (GPtrArray *csv, const char *title)
{
  char **head = g_ptr_array_index (csv, 0);
  for (int i = 0; head[i]; i++)
    if (g_strcmp0 (head[i], title) == 0)
      return i;
  return -1;
}

/* A number field: empty = NaN, "inf"/"-inf" as written; anything else
 * fails the test. */
static inline double
msr_test_csv_number (const char *s)
{
  if (s == NULL || *s == '\0')
    return NAN;
  if (g_strcmp0 (s, "inf") == 0)
    return INFINITY;
  if (g_strcmp0 (s, "-inf") == 0)
    return -INFINITY;
  char *end;
  double v = g_ascii_strtod (s, &end);
  g_assert_true (*end == '\0');
  return v;
}

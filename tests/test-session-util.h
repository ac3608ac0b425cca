/* test-session-util.h: opening a workbench session in the page tests: its
 * dataset loaded and its runs read, as the window does before it shows a
 * page. Include after test-gtk-util.h. */
#pragma once

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

/* test-util.h: helpers every test program shares. */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdarg.h>

/* A path below the shared real data (MSR_SHARED_DATA, set by the test
 * environment), or NULL when it is absent: callers skip then. */
static inline char *
msr_test_shared_path (const char *relative)
{
  const char *root = g_getenv ("MSR_SHARED_DATA");
  char *path = root ? g_build_filename (root, relative, NULL) : NULL;

  if (path != NULL && !g_file_test (path, G_FILE_TEST_EXISTS))
    g_clear_pointer (&path, g_free);
  return path;
}

/* Declares var = the shared path, or skips the test with a message. */
#define MSR_TEST_REQUIRE_SHARED(var, relative)                                      \
  g_autofree char *var = msr_test_shared_path (relative);                          \
  if (var == NULL)                                                                 \
    {                                                                              \
      g_test_skip ("shared data not found (" relative "): set MSR_SHARED_DATA "    \
                   "to the folder holding movielens-100k/ and oracles/");          \
      return;                                                                      \
    }

/* Removes a file or a folder tree (not following links). */
static inline void
msr_test_rm_rf (const char *path)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      GDir *dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          char *child = g_build_filename (path, name, NULL);
          msr_test_rm_rf (child);
          g_free (child);
        }
      if (dir != NULL)
        g_dir_close (dir);
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

/* The metric oracles' folder (a path that does not exist when the shared
 * data is absent, so callers' existence checks skip). */
static inline const char *
msr_test_oracle_dir (void)
{
  static char *dir;

  if (dir == NULL)
    {
      const char *root = g_getenv ("MSR_SHARED_DATA");
      dir = g_build_filename (root ? root : "/nonexistent", "oracles", "metrics", NULL);
    }
  return dir;
}

/* Runs $MSR_CLI with the NULL-terminated arguments; its standard output
 * and error in *out and *err; its exit status, or -1 when it did not exit. */
static inline int
msr_test_run_cli (char **out, char **err, const char *first, ...)
{
  const char *cli = g_getenv ("MSR_CLI");
  g_assert_nonnull (cli);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) cli);
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_newv ((const char * const *) argv->pdata,
                                                G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                                &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, NULL, NULL, out, err, &error);
  g_assert_no_error (error);
  return g_subprocess_get_if_exited (p) ? g_subprocess_get_exit_status (p) : -1;
}

/* test-util.h: helpers every test program shares. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>

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

/* msr-demo.c: finding data for, and creating, the demo project. */
#include "config.h"
#include "msr-demo.h"
#include "msr-fetch.h"
#include "msr-project.h"

char *
msr_demo_get_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "msrlens", "demo", NULL);
}

/* A verified MovieLens folder, or NULL with the reasons collected. */
static char *
find_movielens (const char *explicit_dir, GString *tried)
{
  g_autofree char *fetched_root = msr_fetch_default_data_dir ();
  g_autofree char *fetched = g_build_filename (fetched_root, MSR_MOVIELENS_100K_DIR, NULL);
  const char *candidates[] = { explicit_dir, g_getenv ("MSR_MOVIELENS_DIR"), fetched };
  const char *origin[] = { "the folder given", "$MSR_MOVIELENS_DIR", "the data fetch folder" };

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      if (candidates[i] == NULL || candidates[i][0] == '\0')
        continue;
      g_autoptr(GError) error = NULL;
      if (msr_movielens_verify_dir (candidates[i], &error))
        return g_canonicalize_filename (candidates[i], NULL);
      /* Only report places that exist: a missing default is not news. */
      if (i < 2 || g_file_test (candidates[i], G_FILE_TEST_EXISTS))
        g_string_append_printf (tried, "\n- %s: %s", origin[i], error->message);
    }
  return NULL;
}

char *
msr_demo_prepare (const char *movielens_dir, MsrProgressFunc progress, gpointer progress_data,
                  GCancellable *cancellable, GError **error)
{
  g_autofree char *dir = msr_demo_get_dir ();
  g_autofree char *desc = g_build_filename (dir, MSR_PROJECT_FILE, NULL);
  if (g_file_test (desc, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&dir);

  g_autoptr(GString) tried = g_string_new (NULL);
  g_autofree char *data = find_movielens (movielens_dir, tried);
  if (data == NULL)
    {
      g_autoptr(GError) local = NULL;
      if (progress)
        progress (-1, "Downloading MovieLens-100K", progress_data);
      /* MSR_MOVIELENS_URL names a mirror; it must serve the official archive. */
      const char *url = g_getenv ("MSR_MOVIELENS_URL");
      if (!msr_fetch_movielens_100k (url && url[0] ? url : NULL, NULL, &data, progress, progress_data,
                                     cancellable, &local))
        {
          if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return NULL;
            }
          g_set_error (error, MSR_ERROR, MSR_ERROR_IO,
                       "The demo needs MovieLens-100K and none could be found or downloaded.%s\n"
                       "- download: %s\n"
                       "Point the demo at a local copy with --movielens DIR or MSR_MOVIELENS_DIR=DIR, "
                       "or run 'msrlens-cli data fetch movielens-100k --from DIR'.",
                       tried->str, local->message);
          return NULL;
        }
    }

  MsrSplitOptions split;
  msr_split_options_init (&split);
  g_autoptr(MsrProject) project = msr_project_create_movielens (dir, data, MSR_MOVIELENS_SCENARIOS_GENRE,
                                                                &split, error);
  if (project == NULL)
    return NULL;
  return g_steal_pointer (&dir);
}

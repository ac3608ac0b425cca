/* msr-file.c: see msr-file.h. */
#include "config.h"
#include "msr-file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes all len bytes of data to fd; 0, or the errno. */
static int
write_all (int fd, const char *data, gsize len)
{
  gsize done = 0;
  while (done < len)
    {
      ssize_t n = write (fd, data + done, len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return n < 0 ? errno : EIO;
      done += (gsize) n;
    }
  return 0;
}

gboolean
msr_file_replace_contents (const char *path, const void *bytes, gsize len, int mode, GError **error)
{
  int saved = 0;
  GStatBuf sb;
  if (g_stat (path, &sb) == 0 && !S_ISREG (sb.st_mode))
    {
      if (S_ISDIR (sb.st_mode))
        saved = EISDIR;
      else
        {
          int fd = g_open (path, O_WRONLY | O_TRUNC, 0);
          if (fd < 0)
            saved = errno;
          else
            {
              saved = write_all (fd, bytes, len);
              if (close (fd) != 0 && saved == 0)
                saved = errno;
            }
        }
      if (saved != 0)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot write: %s", path, g_strerror (saved));
          return FALSE;
        }
      return TRUE;
    }
  /* The temporary file goes beside the file a link names, so the rename
   * replaces that file and the link stays. */
  g_autofree char *target = g_file_test (path, G_FILE_TEST_IS_SYMLINK) ? realpath (path, NULL) : NULL;
  const char *dest = target ? target : path;
  g_autofree char *dir = g_path_get_dirname (dest);
  g_autofree char *base = g_path_get_basename (dest);
  g_autofree char *tmp_name = g_strdup_printf (".%s.XXXXXX", base);
  g_autofree char *tmp = g_build_filename (dir, tmp_name, NULL);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CREAT | O_EXCL, mode);
  if (fd < 0)
    {
      saved = errno;
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot create a temporary file: %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  saved = write_all (fd, bytes, len);
  if (saved == 0 && g_fsync (fd) != 0)
    saved = errno;
  if (close (fd) != 0 && saved == 0)
    saved = errno;
  if (saved == 0 && g_rename (tmp, dest) != 0)
    saved = errno;
  if (saved != 0)
    {
      g_unlink (tmp);
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot write: %s", path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}


char *
msr_file_sha256 (const char *path, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GMappedFile) map = g_mapped_file_new (path, FALSE, &local);
  if (map == NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot read: %s", path, local->message);
      return NULL;
    }
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) g_mapped_file_get_contents (map),
                                      g_mapped_file_get_length (map));
}

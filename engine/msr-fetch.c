/* msr-fetch.c: see msr-fetch.h. */
#include "config.h"

#include "msr-fetch.h"
#include "msr-zip.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#define CHUNK (64 * 1024)

static gboolean
is_md5_hex (const char *s)
{
  gsize n = 0;
  for (; s[n] != '\0'; n++)
    if (!g_ascii_isxdigit (s[n]))
      return FALSE;
  return n == 32;
}

static void
report (MsrProgressFunc progress,
        gpointer        data,
        guint64         done,
        gint64          total,
        const char     *stage)
{
  if (progress == NULL)
    return;
  if (total > 0)
    progress (MIN (1.0, (double) done / (double) total), stage, data);
  else
    progress (-1.0, stage, data);
}

/* Keeps G_IO_ERROR_CANCELLED as it is (callers test for it); wraps anything
 * else in the given MSR_ERROR code with a prefix naming what failed. */
static void
propagate_prefixed (GError     **error,
                    GError      *local,
                    MsrErrorCode code,
                    const char  *fmt,
                    ...) G_GNUC_PRINTF (4, 5);

static void
propagate_prefixed (GError     **error,
                    GError      *local,
                    MsrErrorCode code,
                    const char  *fmt,
                    ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *prefix = g_strdup_vprintf (fmt, ap);
  va_end (ap);

  if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s: cancelled", prefix);
  else
    g_set_error (error, MSR_ERROR, code, "%s: %s", prefix, local->message);
  g_error_free (local);
}

/* Opens the source; *out_length is its length when known, else -1. The
 * session (if any) must outlive the stream. */
static GInputStream *
open_source (const char    *url,
             const char    *label,
             SoupSession  **out_session,
             gint64        *out_length,
             GCancellable  *cancellable,
             GError       **error)
{
  const char *scheme = g_uri_peek_scheme (url); /* interned, lowercase */
  GError *local = NULL;

  *out_length = -1;
  *out_session = NULL;

  if (scheme != NULL && (strcmp (scheme, "http") == 0 || strcmp (scheme, "https") == 0))
    {
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
      if (msg == NULL)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: '%s' is not a valid URL",
                       label, url);
          return NULL;
        }
      g_autoptr(SoupSession) session =
        soup_session_new_with_options ("user-agent", "msrlens/" MSR_VERSION,
                                       "timeout", (guint) MSR_FETCH_TIMEOUT_SECONDS,
                                       NULL);
      /* Without the decoder no Accept-Encoding is sent, so the body is the
       * file itself and Content-Length counts its bytes. */
      soup_session_remove_feature_by_type (session, SOUP_TYPE_CONTENT_DECODER);

      GInputStream *in = soup_session_send (session, msg, cancellable, &local);
      if (in == NULL)
        {
          propagate_prefixed (error, local, MSR_ERROR_NETWORK, "%s: cannot download %s",
                              label, url);
          return NULL;
        }
      guint status = soup_message_get_status (msg);
      if (status < 200 || status > 299)
        {
          const char *reason = soup_message_get_reason_phrase (msg);
          g_input_stream_close (in, NULL, NULL);
          g_object_unref (in);
          g_set_error (error, MSR_ERROR, MSR_ERROR_NETWORK,
                       "%s: cannot download %s: the server answered HTTP %u%s%s",
                       label, url, status, reason && *reason ? " " : "", reason ? reason : "");
          return NULL;
        }
      SoupMessageHeaders *headers = soup_message_get_response_headers (msg);
      if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
        *out_length = soup_message_headers_get_content_length (headers);
      *out_session = g_steal_pointer (&session);
      return in;
    }

  if (scheme != NULL && strcmp (scheme, "file") != 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "%s: cannot fetch %s: only http://, https:// and file:// URLs or local "
                   "paths are supported", label, url);
      return NULL;
    }

  g_autoptr(GFile) file = scheme != NULL ? g_file_new_for_uri (url) : g_file_new_for_path (url);
  GFileInputStream *in = g_file_read (file, cancellable, &local);
  if (in == NULL)
    {
      propagate_prefixed (error, local, MSR_ERROR_IO, "%s: cannot read %s", label, url);
      return NULL;
    }
  g_autoptr(GFileInfo) info =
    g_file_input_stream_query_info (in, G_FILE_ATTRIBUTE_STANDARD_SIZE, cancellable, NULL);
  if (info != NULL && g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_STANDARD_SIZE))
    *out_length = g_file_info_get_size (info);
  return G_INPUT_STREAM (in);
}

gboolean
msr_fetch_file (const char       *url,
                const char       *dest_path,
                const char       *expected_md5,
                gint64            expected_size,
                MsrProgressFunc   progress,
                gpointer          progress_data,
                GCancellable     *cancellable,
                GError          **error)
{
  g_return_val_if_fail (url != NULL, FALSE);
  g_return_val_if_fail (dest_path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autofree char *base = g_path_get_basename (dest_path);
  g_autofree char *label = g_filename_display_name (base);
  g_autofree char *part = g_strconcat (dest_path, ".part", NULL);
  g_autofree char *part_shown = g_filename_display_name (part);
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GFileOutputStream) out = NULL;
  g_autoptr(GChecksum) md5 = g_checksum_new (G_CHECKSUM_MD5);
  g_autofree guint8 *buf = NULL;
  GError *local = NULL;
  gint64 length = -1;
  guint64 received = 0;

  if (expected_md5 != NULL && !is_md5_hex (expected_md5))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "%s: '%s' is not an MD5 checksum (32 hexadecimal digits)", label, expected_md5);
      return FALSE;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  /* A stale .part from an interrupted run is ours to replace. */
  if (g_unlink (part) != 0 && errno != ENOENT)
    {
      int saved = errno;
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot remove the stale %s: %s",
                   label, part_shown, g_strerror (saved));
      return FALSE;
    }
  g_autoptr(GFile) part_file = g_file_new_for_path (part);
  out = g_file_create (part_file, G_FILE_CREATE_NONE, cancellable, &local);
  if (out == NULL)
    {
      propagate_prefixed (error, local, MSR_ERROR_IO, "%s: cannot create %s", label, part_shown);
      return FALSE;
    }

  if (progress != NULL)
    progress (expected_size > 0 ? 0.0 : -1.0, "Downloading", progress_data);
  in = open_source (url, label, &session, &length, cancellable, error);
  if (in == NULL)
    goto fail;

  if (length >= 0 && expected_size >= 0 && length != expected_size)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_CHECKSUM,
                   "%s (from %s): size mismatch: expected %" G_GINT64_FORMAT " bytes, got %"
                   G_GINT64_FORMAT " (announced by the source); the download is corrupt or "
                   "not the official archive", label, url, expected_size, length);
      goto fail;
    }
  gint64 total = length >= 0 ? length : expected_size;
  buf = g_malloc (CHUNK);
  for (;;)
    {
      gssize n = g_input_stream_read (in, buf, CHUNK, cancellable, &local);
      if (n < 0)
        {
          propagate_prefixed (error, local, MSR_ERROR_NETWORK,
                              "%s: the transfer from %s failed after %" G_GUINT64_FORMAT " bytes",
                              label, url, received);
          goto fail;
        }
      if (n == 0)
        break;
      received += (guint64) n;
      /* Stop early rather than fill the disk with the wrong file. */
      if (expected_size >= 0 && received > (guint64) expected_size)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_CHECKSUM,
                       "%s (from %s): size mismatch: expected %" G_GINT64_FORMAT " bytes, got "
                       "more; the download is corrupt or not the official archive",
                       label, url, expected_size);
          goto fail;
        }
      if (!g_output_stream_write_all (G_OUTPUT_STREAM (out), buf, (gsize) n, NULL,
                                      cancellable, &local))
        {
          propagate_prefixed (error, local, MSR_ERROR_IO, "%s: cannot write %s", label, part_shown);
          goto fail;
        }
      g_checksum_update (md5, buf, n);
      report (progress, progress_data, received, total, "Downloading");
    }

  g_input_stream_close (in, NULL, NULL);
  if (!g_output_stream_close (G_OUTPUT_STREAM (out), cancellable, &local))
    {
      propagate_prefixed (error, local, MSR_ERROR_IO, "%s: cannot write %s", label, part_shown);
      goto fail;
    }

  if (length >= 0 && received != (guint64) length)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_NETWORK,
                   "%s: the transfer from %s was cut short: received %" G_GUINT64_FORMAT
                   " of %" G_GINT64_FORMAT " bytes", label, url, received, length);
      goto fail;
    }
  if (expected_size >= 0 && received != (guint64) expected_size)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_CHECKSUM,
                   "%s (from %s): size mismatch: expected %" G_GINT64_FORMAT " bytes, got %"
                   G_GUINT64_FORMAT "; the download is corrupt or not the official archive",
                   label, url, expected_size, received);
      goto fail;
    }
  const char *actual = g_checksum_get_string (md5);
  if (expected_md5 != NULL && g_ascii_strcasecmp (actual, expected_md5) != 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_CHECKSUM,
                   "%s (from %s): MD5 mismatch: expected %s, got %s; the download is corrupt "
                   "or not the official archive", label, url, expected_md5, actual);
      goto fail;
    }
  if (g_rename (part, dest_path) != 0)
    {
      int saved = errno;
      g_autofree char *shown = g_filename_display_name (dest_path);
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot rename %s to %s: %s",
                   label, part_shown, shown, g_strerror (saved));
      goto fail;
    }
  if (progress != NULL)
    progress (1.0, "Downloading", progress_data);
  return TRUE;

fail:
  if (in != NULL)
    g_input_stream_close (in, NULL, NULL);
  if (!g_output_stream_is_closed (G_OUTPUT_STREAM (out)))
    g_output_stream_close (G_OUTPUT_STREAM (out), NULL, NULL);
  g_unlink (part);
  return FALSE;
}

/* TRUE when path has the expected size and MD5; FALSE with error otherwise
 * (MSR_ERROR_CHECKSUM for a mismatch). */
static gboolean
verify_local (const char       *path,
              const char       *expected_md5,
              gint64            expected_size,
              MsrProgressFunc   progress,
              gpointer          progress_data,
              GCancellable     *cancellable,
              GError          **error)
{
  g_autofree char *shown = g_filename_display_name (path);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  GError *local = NULL;

  g_autoptr(GFileInputStream) in = g_file_read (file, cancellable, &local);
  if (in == NULL)
    {
      propagate_prefixed (error, local, MSR_ERROR_IO, "%s: cannot read", shown);
      return FALSE;
    }
  g_autoptr(GChecksum) md5 = g_checksum_new (G_CHECKSUM_MD5);
  g_autofree guint8 *buf = g_malloc (CHUNK);
  guint64 total = 0;
  for (;;)
    {
      gssize n = g_input_stream_read (G_INPUT_STREAM (in), buf, CHUNK, cancellable, &local);
      if (n < 0)
        {
          propagate_prefixed (error, local, MSR_ERROR_IO, "%s: cannot read", shown);
          return FALSE;
        }
      if (n == 0)
        break;
      total += (guint64) n;
      if (expected_size >= 0 && total > (guint64) expected_size)
        break;
      g_checksum_update (md5, buf, n);
      report (progress, progress_data, total, expected_size, "Verifying");
    }
  if (expected_size >= 0 && total != (guint64) expected_size)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_CHECKSUM,
                   "%s: size mismatch: expected %" G_GINT64_FORMAT " bytes, got %s",
                   shown, expected_size, total > (guint64) expected_size ? "more" : "fewer");
      return FALSE;
    }
  const char *actual = g_checksum_get_string (md5);
  if (g_ascii_strcasecmp (actual, expected_md5) != 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_CHECKSUM,
                   "%s: MD5 mismatch: expected %s, got %s", shown, expected_md5, actual);
      return FALSE;
    }
  return TRUE;
}

gboolean
msr_fetch_archive (const char       *url,
                   const char       *expected_md5,
                   gint64            expected_size,
                   const char       *dest_dir,
                   const char       *archive_name,
                   MsrProgressFunc   progress,
                   gpointer          progress_data,
                   GCancellable     *cancellable,
                   GError          **error)
{
  g_return_val_if_fail (url != NULL, FALSE);
  g_return_val_if_fail (dest_dir != NULL, FALSE);
  g_return_val_if_fail (archive_name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (strchr (archive_name, '/') != NULL || strcmp (archive_name, "..") == 0 ||
      strcmp (archive_name, ".") == 0 || archive_name[0] == '\0')
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "'%s' is not a plain file name for the archive", archive_name);
      return FALSE;
    }
  if (expected_md5 != NULL && !is_md5_hex (expected_md5))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "%s: '%s' is not an MD5 checksum (32 hexadecimal digits)",
                   archive_name, expected_md5);
      return FALSE;
    }

  gboolean created_dir = !g_file_test (dest_dir, G_FILE_TEST_EXISTS);
  if (g_mkdir_with_parents (dest_dir, 0755) != 0)
    {
      int saved = errno;
      g_autofree char *shown = g_filename_display_name (dest_dir);
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot create the directory: %s",
                   shown, g_strerror (saved));
      return FALSE;
    }

  g_autofree char *archive = g_build_filename (dest_dir, archive_name, NULL);
  gboolean have = FALSE;
  if (expected_md5 != NULL && g_file_test (archive, G_FILE_TEST_IS_REGULAR))
    {
      g_autoptr(GError) local = NULL;
      have = verify_local (archive, expected_md5, expected_size, progress, progress_data,
                           cancellable, &local);
      if (!have && g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          goto fail;
        }
      if (!have)
        g_debug ("not reusing %s: %s", archive, local->message);
    }
  if (!have && !msr_fetch_file (url, archive, expected_md5, expected_size, progress,
                                progress_data, cancellable, error))
    goto fail;

  if (!msr_zip_extract (archive, dest_dir, progress, progress_data, cancellable, error))
    goto fail;
  return TRUE;

fail:
  if (created_dir)
    g_rmdir (dest_dir); /* only succeeds while it is still empty */
  return FALSE;
}

gboolean
msr_fetch_movielens_100k (const char       *url,
                          const char       *dest_dir,
                          char            **out_data_dir,
                          MsrProgressFunc   progress,
                          gpointer          progress_data,
                          GCancellable     *cancellable,
                          GError          **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autofree char *dir = dest_dir != NULL ? g_strdup (dest_dir) : msr_fetch_default_data_dir ();
  g_autofree char *abs_dir = g_canonicalize_filename (dir, NULL);
  g_autofree char *data_dir = g_build_filename (abs_dir, MSR_MOVIELENS_100K_DIR, NULL);
  GStatBuf st;

  if (g_lstat (data_dir, &st) == 0)
    {
      g_autofree char *shown = g_filename_display_name (data_dir);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   "%s already exists; MovieLens-100K seems to be there already "
                   "(remove it to fetch it again)", shown);
      return FALSE;
    }
  if (!msr_fetch_archive (url != NULL ? url : MSR_MOVIELENS_100K_URL,
                          MSR_MOVIELENS_100K_MD5, MSR_MOVIELENS_100K_SIZE,
                          abs_dir, MSR_MOVIELENS_100K_ARCHIVE,
                          progress, progress_data, cancellable, error))
    return FALSE;
  if (!g_file_test (data_dir, G_FILE_TEST_IS_DIR))
    {
      /* Only possible if the official archive changed layout. */
      g_autofree char *shown = g_filename_display_name (data_dir);
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "%s: the archive did not unpack to this directory", shown);
      return FALSE;
    }
  if (out_data_dir != NULL)
    *out_data_dir = g_steal_pointer (&data_dir);
  return TRUE;
}

char *
msr_fetch_default_data_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "msrlens", "datasets", NULL);
}

/* msr-fetch.h: download, verify and unpack public datasets.
 *
 * Downloads go to "<dest>.part" and are renamed into place only after the
 * size and MD5 checks pass; every failure removes the .part file. http:// and
 * https:// go through libsoup 3 (synchronously on the calling thread: call
 * these from a worker thread in a UI), file:// URLs and plain paths through
 * GIO. Progress stages: "Downloading", "Verifying", "Unpacking"; the fraction
 * restarts at 0 in each stage and is negative when the total is unknown. */
#pragma once

#include <gio/gio.h>
#include "msr-error.h"

G_BEGIN_DECLS

/* The official GroupLens archive, as published in ml-100k.zip.md5. A mirror
 * must serve exactly this file. */
#define MSR_MOVIELENS_100K_URL  "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
#define MSR_MOVIELENS_100K_MD5  "0e33842e24a9c977be4e0107933c0723"
#define MSR_MOVIELENS_100K_SIZE G_GINT64_CONSTANT (4924029)
/* The file name of the archive and the directory it unpacks to. */
#define MSR_MOVIELENS_100K_ARCHIVE "ml-100k.zip"
#define MSR_MOVIELENS_100K_DIR     "ml-100k"

/* Seconds without progress on a connection before an HTTP transfer fails. */
#define MSR_FETCH_TIMEOUT_SECONDS 60

/* Fetches url into dest_path. expected_md5 (32 hex digits, any case) and
 * expected_size (-1 = unknown) are checked before the rename. An existing
 * dest_path is replaced only by a download that verified. Errors:
 * MSR_ERROR_NETWORK (HTTP status, connection, truncated transfer),
 * MSR_ERROR_CHECKSUM (size or MD5), MSR_ERROR_IO (local files),
 * MSR_ERROR_INVALID (unsupported URL), G_IO_ERROR_CANCELLED. */
gboolean msr_fetch_file (const char       *url,
                         const char       *dest_path,
                         const char       *expected_md5,
                         gint64            expected_size,
                         MsrProgressFunc   progress,
                         gpointer          progress_data,
                         GCancellable     *cancellable,
                         GError          **error);

/* Fetches url into dest_dir/archive_name (creating dest_dir if needed),
 * unless a file of that name already there passes the size and MD5 checks,
 * then unpacks it into dest_dir with msr_zip_extract (which refuses to
 * overwrite existing top-level entries: G_IO_ERROR_EXISTS). The archive is
 * kept, so a later call can reuse it. expected_md5 may be NULL (then an
 * existing archive is never trusted and is downloaded again). */
gboolean msr_fetch_archive (const char       *url,
                            const char       *expected_md5,
                            gint64            expected_size,
                            const char       *dest_dir,
                            const char       *archive_name,
                            MsrProgressFunc   progress,
                            gpointer          progress_data,
                            GCancellable     *cancellable,
                            GError          **error);

/* Downloads and unpacks MovieLens-100K into dest_dir/ml-100k. url NULL means
 * MSR_MOVIELENS_100K_URL; any other URL (a mirror, a file:// copy) must still
 * match the official size and MD5. dest_dir NULL means
 * msr_fetch_default_data_dir(). Fails with G_IO_ERROR_EXISTS if
 * dest_dir/ml-100k already exists. On success *out_data_dir (if not NULL)
 * is the absolute path of dest_dir/ml-100k, to free with g_free. */
gboolean msr_fetch_movielens_100k (const char       *url,
                                   const char       *dest_dir,
                                   char            **out_data_dir,
                                   MsrProgressFunc   progress,
                                   gpointer          progress_data,
                                   GCancellable     *cancellable,
                                   GError          **error);

/* g_get_user_data_dir()/msrlens/datasets (not created). Free with g_free. */
char    *msr_fetch_default_data_dir (void);

G_END_DECLS

/* msr-zip.h: a small, defensive zip reader for downloaded dataset archives.
 *
 * Only what dataset archives need: stored (0) and deflate (8) entries of
 * regular files and directories, read through the central directory. Anything
 * else (encryption, other methods, zip64, symlinks, multi-disk archives,
 * unsafe names) is refused with an error naming the archive and the entry.
 * Extraction is all or nothing: entries are unpacked into a fresh hidden
 * temporary directory inside the destination, every CRC-32 and size is
 * verified, and only then are the top-level entries moved into place. */
#pragma once

#include <gio/gio.h>
#include "msr-error.h"

G_BEGIN_DECLS

/* Default cap on the sum of the declared uncompressed sizes (zip bombs):
 * 1 GiB. MovieLens-100K unpacks to about 16 MB. */
#define MSR_ZIP_DEFAULT_MAX_TOTAL_SIZE (G_GUINT64_CONSTANT (1) << 30)

typedef struct {
  char    *name;              /* UTF-8, '/'-separated, directories end in '/' */
  guint64  compressed_size;
  guint64  uncompressed_size;
  guint16  method;            /* 0 stored, 8 deflate */
  guint32  crc32;             /* as declared in the central directory */
  gboolean is_dir;
} MsrZipEntry;

void       msr_zip_entry_free (MsrZipEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrZipEntry, msr_zip_entry_free)

/* CRC-32 (IEEE 802.3, the zip/gzip polynomial), table driven. Start with
 * crc = 0 and feed the running value back in for the next chunk. */
guint32    msr_zip_crc32 (guint32       crc,
                          const guint8 *data,
                          gsize         len);

/* Reads and validates the end-of-central-directory record, the central
 * directory and every local header (names, methods, flags, sizes, offsets)
 * without unpacking anything; no size cap applies here. Returns a GPtrArray of MsrZipEntry (free with
 * g_ptr_array_unref), in central-directory order, or NULL with error set. */
GPtrArray *msr_zip_list (const char  *zip_path,
                         GError     **error);

/* Unpacks zip_path into the existing directory dest_dir with the default
 * size cap. Fails with G_IO_ERROR_EXISTS if a top-level entry of the archive
 * already exists in dest_dir (nothing is overwritten), with
 * G_IO_ERROR_CANCELLED when cancelled, with MSR_ERROR_CHECKSUM when an
 * entry's CRC-32 or size does not match, MSR_ERROR_PARSE for a malformed
 * archive and MSR_ERROR_INVALID for a refused one. On failure dest_dir is
 * left as it was. Progress stage: "Unpacking". */
gboolean   msr_zip_extract (const char       *zip_path,
                            const char       *dest_dir,
                            MsrProgressFunc   progress,
                            gpointer          progress_data,
                            GCancellable     *cancellable,
                            GError          **error);

/* Same, with an explicit cap on the total declared uncompressed size. */
gboolean   msr_zip_extract_full (const char       *zip_path,
                                 const char       *dest_dir,
                                 guint64           max_total_size,
                                 MsrProgressFunc   progress,
                                 gpointer          progress_data,
                                 GCancellable     *cancellable,
                                 GError          **error);

G_END_DECLS

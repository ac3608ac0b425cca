/* msr-file.h: writing an output file without losing anything: the bytes go
 * to a temporary file beside it, which is synced and renamed over it, so a
 * reader sees the old file or the new one, never half of either. */
#pragma once

#include <glib.h>
#include "msr-error.h"

G_BEGIN_DECLS

/* Replaces the contents of path with len bytes of data (mode for a new
 * file). A path that is not a regular file (/dev/null, /dev/stdout, a FIFO)
 * is written to as it is, since renaming over it would put a file where
 * the device or pipe was; a symbolic link is followed, so the file it
 * names is replaced and the link stays. MSR_ERROR_IO naming path. */
gboolean msr_file_replace_contents (const char *path, const void *data, gsize len, int mode, GError **error);

/* The SHA-256 of the file's bytes, as 64 lower-case hex digits;
 * MSR_ERROR_IO naming path when it cannot be read. */
char    *msr_file_sha256 (const char *path, GError **error);

G_END_DECLS

/* msr-zip.c: see msr-zip.h. The layout follows PKWARE's APPNOTE.TXT. */
#define _GNU_SOURCE /* renameat2 */

#include "msr-zip.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#define SIG_LOCAL          0x04034b50u
#define SIG_CENTRAL        0x02014b50u
#define SIG_EOCD           0x06054b50u
#define SIG_ZIP64_LOCATOR  0x07064b50u

#define LOCAL_HEADER_SIZE   30
#define CENTRAL_HEADER_SIZE 46
#define EOCD_SIZE           22
#define ZIP64_LOCATOR_SIZE  20
#define MAX_COMMENT         65535

/* A central directory bigger than this is not a dataset archive. */
#define MAX_CENTRAL_DIR_SIZE (64u * 1024 * 1024)

#define FLAG_ENCRYPTED        0x0001u
#define FLAG_STRONG_ENCRYPTED 0x0040u
#define FLAG_UTF8             0x0800u

#define METHOD_STORED  0
#define METHOD_DEFLATE 8
#define METHOD_AES     99

#define CHUNK (64 * 1024)

#define TEMP_PREFIX ".msr-unpack-"

/* ---------------------------------------------------------------- CRC-32 */

static guint32 crc_table[256];

static void
crc_table_init (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      for (guint32 n = 0; n < 256; n++)
        {
          guint32 c = n;
          for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
          crc_table[n] = c;
        }
      g_once_init_leave (&done, 1);
    }
}

guint32
msr_zip_crc32 (guint32       crc,
               const guint8 *data,
               gsize         len)
{
  crc_table_init ();
  crc = ~crc;
  for (gsize i = 0; i < len; i++)
    crc = crc_table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

/* -------------------------------------------------------------- entries */

typedef struct {
  MsrZipEntry pub;
  guint16     flags;
  guint64     local_offset;
  guint64     data_offset;   /* filled in from the local header */
} ZipItem;

typedef struct {
  char             *path;       /* for messages */
  GFileInputStream *in;
  guint64           file_size;
  guint64           cd_offset;
  guint64           cd_size;
  GPtrArray        *items;      /* ZipItem */
  guint64           total_size; /* sum of declared uncompressed sizes */
} ZipArchive;

void
msr_zip_entry_free (MsrZipEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->name);
  g_free (entry);
}

static void
zip_item_free (gpointer p)
{
  ZipItem *item = p;
  g_free (item->pub.name);
  g_free (item);
}

static void
zip_archive_free (ZipArchive *za)
{
  if (za == NULL)
    return;
  g_free (za->path);
  g_clear_object (&za->in);
  g_clear_pointer (&za->items, g_ptr_array_unref);
  g_free (za);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ZipArchive, zip_archive_free)

static inline guint16
get16 (const guint8 *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

static inline guint32
get32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

/* A printable form of a (possibly hostile) entry name for error messages. */
static char *
display_name (const guint8 *raw,
              gsize         len)
{
  char *s = g_utf8_make_valid ((const char *) raw, (gssize) len);
  for (char *p = s; *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      *p = '?';
  return s;
}

static gboolean
read_at (ZipArchive    *za,
         guint64        offset,
         void          *buf,
         gsize          len,
         const char    *what,
         GCancellable  *cancellable,
         GError       **error)
{
  gsize got = 0;
  g_autoptr(GError) local = NULL;

  if (offset > za->file_size || len > za->file_size - offset)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "%s: %s lies outside the file; the archive is truncated or corrupt",
                   za->path, what);
      return FALSE;
    }
  if (!g_seekable_seek (G_SEEKABLE (za->in), (goffset) offset, G_SEEK_SET, cancellable, &local) ||
      !g_input_stream_read_all (G_INPUT_STREAM (za->in), buf, len, &got, cancellable, &local))
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: could not read %s: %s",
                     za->path, what, local->message);
      return FALSE;
    }
  if (got != len)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "%s: unexpected end of file while reading %s", za->path, what);
      return FALSE;
    }
  return TRUE;
}

/* Returns NULL when the name is acceptable, else the reason. */
static const char *
check_name (const guint8 *raw,
            gsize         len,
            guint16       flags)
{
  if (len == 0)
    return "has an empty name";
  for (gsize i = 0; i < len; i++)
    {
      if (raw[i] < 0x20 || raw[i] == 0x7f)
        return "has a name with control characters";
      if (raw[i] == '\\')
        return "has a name with a backslash";
      if (raw[i] >= 0x80 && !(flags & FLAG_UTF8))
        /* Without the UTF-8 flag names are CP437; only its ASCII part is
         * unambiguous. */
        return "has a non-ASCII name not marked as UTF-8";
    }
  if (!g_utf8_validate ((const char *) raw, (gssize) len, NULL))
    return "has a name that is not valid UTF-8";
  if (raw[0] == '/')
    return "has an absolute path";
  if (len >= 2 && g_ascii_isalpha (raw[0]) && raw[1] == ':')
    return "has a path with a drive letter";

  /* Components: no empty ones (except the trailing slash of a directory),
   * no "." and no "..". */
  gsize start = 0;
  for (gsize i = 0; i <= len; i++)
    {
      if (i < len && raw[i] != '/')
        continue;
      gsize clen = i - start;
      if (clen == 0 && !(i == len && len > 0 && raw[len - 1] == '/'))
        return "has a name with an empty path component";
      if (clen == 2 && raw[start] == '.' && raw[start + 1] == '.')
        return "has a name with a '..' component";
      if (clen == 1 && raw[start] == '.')
        return "has a name with a '.' component";
      start = i + 1;
    }
  return NULL;
}

static gboolean
read_local_header (ZipArchive    *za,
                   ZipItem       *item,
                   const guint8  *raw_name,
                   gsize          name_len,
                   GCancellable  *cancellable,
                   GError       **error)
{
  guint8 hdr[LOCAL_HEADER_SIZE];
  g_autofree char *what = g_strdup_printf ("the local header of entry '%s'", item->pub.name);

  if (item->local_offset + LOCAL_HEADER_SIZE > za->cd_offset)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "%s: entry '%s': local header offset %" G_GUINT64_FORMAT
                   " lies outside the data area", za->path, item->pub.name, item->local_offset);
      return FALSE;
    }
  if (!read_at (za, item->local_offset, hdr, sizeof hdr, what, cancellable, error))
    return FALSE;
  if (get32 (hdr) != SIG_LOCAL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "%s: entry '%s': no local header at offset %" G_GUINT64_FORMAT,
                   za->path, item->pub.name, item->local_offset);
      return FALSE;
    }
  guint16 flags = get16 (hdr + 6);
  guint16 method = get16 (hdr + 8);
  guint16 nlen = get16 (hdr + 26);
  guint16 elen = get16 (hdr + 28);
  if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTED))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "%s: entry '%s' is encrypted; encrypted archives are not supported",
                   za->path, item->pub.name);
      return FALSE;
    }
  if (method != item->pub.method)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "%s: entry '%s': local header and central directory disagree on the "
                   "compression method", za->path, item->pub.name);
      return FALSE;
    }
  /* The local name must be the central one, or different tools would see
   * different files in the same archive. */
  if (nlen != name_len)
    goto name_mismatch;
  if (nlen > 0)
    {
      g_autofree guint8 *lname = g_malloc (nlen);
      if (!read_at (za, item->local_offset + LOCAL_HEADER_SIZE, lname, nlen, what,
                    cancellable, error))
        return FALSE;
      if (memcmp (lname, raw_name, nlen) != 0)
        goto name_mismatch;
    }
  item->data_offset = item->local_offset + LOCAL_HEADER_SIZE + nlen + elen;
  if (item->data_offset > za->cd_offset ||
      item->pub.compressed_size > za->cd_offset - item->data_offset)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "%s: entry '%s': its %" G_GUINT64_FORMAT " bytes of data at offset %"
                   G_GUINT64_FORMAT " run past the data area; the archive is truncated or corrupt",
                   za->path, item->pub.name, item->pub.compressed_size, item->data_offset);
      return FALSE;
    }
  return TRUE;

name_mismatch:
  g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
               "%s: entry '%s': local header and central directory disagree on the name",
               za->path, item->pub.name);
  return FALSE;
}

/* True when `name` (an entry name) has a proper '/'-prefix that is a file. */
static const char *
find_file_ancestor (GHashTable *kinds,
                    const char *name)
{
  for (const char *p = strchr (name, '/'); p != NULL; p = strchr (p + 1, '/'))
    {
      g_autofree char *prefix = g_strndup (name, (gsize) (p - name));
      gpointer orig_key, value;
      if (g_hash_table_lookup_extended (kinds, prefix, &orig_key, &value) &&
          GPOINTER_TO_INT (value) == 0)
        return orig_key;
    }
  return NULL;
}

static ZipArchive *
zip_archive_open (const char    *zip_path,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_autoptr(ZipArchive) za = g_new0 (ZipArchive, 1);
  g_autoptr(GFile) file = g_file_new_for_path (zip_path);
  g_autoptr(GError) local = NULL;

  za->path = g_filename_display_name (zip_path);
  za->items = g_ptr_array_new_with_free_func (zip_item_free);

  za->in = g_file_read (file, cancellable, &local);
  if (za->in == NULL)
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot open: %s",
                     za->path, local->message);
      return NULL;
    }
  g_autoptr(GFileInfo) info =
    g_file_input_stream_query_info (za->in, G_FILE_ATTRIBUTE_STANDARD_SIZE, cancellable, &local);
  if (info == NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot query its size: %s",
                   za->path, local->message);
      return NULL;
    }
  goffset size = g_file_info_get_size (info);
  za->file_size = size > 0 ? (guint64) size : 0;
  if (za->file_size < EOCD_SIZE)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "%s: not a zip archive (only %" G_GUINT64_FORMAT " bytes)",
                   za->path, za->file_size);
      return NULL;
    }

  /* The end-of-central-directory record sits in the last 22 + comment
   * bytes; search backwards for a signature whose comment ends exactly at
   * the end of the file. */
  gsize tail_len = (gsize) MIN (za->file_size, (guint64) (EOCD_SIZE + MAX_COMMENT + ZIP64_LOCATOR_SIZE));
  guint64 tail_off = za->file_size - tail_len;
  g_autofree guint8 *tail = g_malloc (tail_len);
  if (!read_at (za, tail_off, tail, tail_len, "the end of the file", cancellable, error))
    return NULL;
  gssize eocd = -1;
  for (gssize i = (gssize) (tail_len - EOCD_SIZE); i >= 0; i--)
    if (get32 (tail + i) == SIG_EOCD &&
        (gsize) i + EOCD_SIZE + get16 (tail + i + 20) == tail_len)
      {
        eocd = i;
        break;
      }
  if (eocd < 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "%s: no end-of-central-directory record; not a zip archive, or truncated",
                   za->path);
      return NULL;
    }
  const guint8 *e = tail + eocd;
  guint64 eocd_abs = tail_off + (guint64) eocd;
  guint16 disk = get16 (e + 4), cd_disk = get16 (e + 6);
  guint16 n_here = get16 (e + 8), n_total = get16 (e + 10);
  guint32 cd_size = get32 (e + 12), cd_offset = get32 (e + 16);

  if ((eocd >= ZIP64_LOCATOR_SIZE && get32 (e - ZIP64_LOCATOR_SIZE) == SIG_ZIP64_LOCATOR) ||
      n_total == 0xffff || n_here == 0xffff || cd_size == 0xffffffffu || cd_offset == 0xffffffffu)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "%s: zip64 archives are not supported", za->path);
      return NULL;
    }
  if (disk != 0 || cd_disk != 0 || n_here != n_total)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "%s: multi-volume archives are not supported", za->path);
      return NULL;
    }
  if ((guint64) cd_offset + cd_size > eocd_abs)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "%s: the central directory (offset %u, %u bytes) lies outside the file; "
                   "the archive is truncated or corrupt", za->path, cd_offset, cd_size);
      return NULL;
    }
  if (cd_size > MAX_CENTRAL_DIR_SIZE)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "%s: the central directory is implausibly large (%u bytes)",
                   za->path, cd_size);
      return NULL;
    }
  za->cd_offset = cd_offset;
  za->cd_size = cd_size;

  g_autofree guint8 *cd = g_malloc (cd_size > 0 ? cd_size : 1);
  if (!read_at (za, cd_offset, cd, cd_size, "the central directory", cancellable, error))
    return NULL;

  /* name without trailing '/' -> 1 for directories, 0 for files */
  g_autoptr(GHashTable) kinds = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gsize pos = 0;
  for (guint i = 0; i < n_total; i++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      if (cd_size - pos < CENTRAL_HEADER_SIZE || get32 (cd + pos) != SIG_CENTRAL)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                       "%s: central directory entry %u of %u is missing or damaged; "
                       "the archive is truncated or corrupt", za->path, i + 1, n_total);
          return NULL;
        }
      const guint8 *h = cd + pos;
      guint16 made_by = get16 (h + 4);
      guint16 flags = get16 (h + 8);
      guint16 method = get16 (h + 10);
      guint32 crc = get32 (h + 16);
      guint32 csize = get32 (h + 20);
      guint32 usize = get32 (h + 24);
      guint16 nlen = get16 (h + 28), elen = get16 (h + 30), clen = get16 (h + 32);
      guint16 disk_start = get16 (h + 34);
      guint32 ext_attr = get32 (h + 38);
      guint32 local_off = get32 (h + 42);

      if ((gsize) CENTRAL_HEADER_SIZE + nlen + elen + clen > cd_size - pos)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                       "%s: central directory entry %u of %u runs past the directory; "
                       "the archive is truncated or corrupt", za->path, i + 1, n_total);
          return NULL;
        }
      const guint8 *raw_name = h + CENTRAL_HEADER_SIZE;
      const guint8 *extra = raw_name + nlen;
      g_autofree char *shown = display_name (raw_name, nlen);

      const char *why = check_name (raw_name, nlen, flags);
      if (why != NULL)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                       "%s: entry '%s' %s; refusing to unpack this archive",
                       za->path, shown, why);
          return NULL;
        }
      if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTED) || method == METHOD_AES)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                       "%s: entry '%s' is encrypted; encrypted archives are not supported",
                       za->path, shown);
          return NULL;
        }
      if (method != METHOD_STORED && method != METHOD_DEFLATE)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                       "%s: entry '%s' uses compression method %u; only stored (0) and "
                       "deflate (8) are supported", za->path, shown, method);
          return NULL;
        }
      gboolean zip64 = csize == 0xffffffffu || usize == 0xffffffffu || local_off == 0xffffffffu;
      for (gsize x = 0; x + 4 <= elen; )
        {
          guint16 id = get16 (extra + x), sz = get16 (extra + x + 2);
          if (id == 0x0001)
            zip64 = TRUE;
          x += 4 + (gsize) sz;
        }
      if (zip64)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                       "%s: entry '%s' uses zip64 extensions, which are not supported",
                       za->path, shown);
          return NULL;
        }
      if (disk_start != 0)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                       "%s: entry '%s' starts on another volume; multi-volume archives are "
                       "not supported", za->path, shown);
          return NULL;
        }

      gboolean is_dir = raw_name[nlen - 1] == '/';
      guint host = made_by >> 8;
      if (host == 3 /* Unix */ || host == 19 /* OS X */)
        {
          guint32 type = (ext_attr >> 16) & 0170000u;
          if (type == 0120000u)
            {
              g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                           "%s: entry '%s' is a symbolic link; refusing to unpack this archive",
                           za->path, shown);
              return NULL;
            }
          if (type != 0 && type != 0100000u && type != 0040000u)
            {
              g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                           "%s: entry '%s' is a special file (mode %06o); refusing to unpack "
                           "this archive", za->path, shown, (ext_attr >> 16) & 0177777u);
              return NULL;
            }
          if ((type == 0040000u) != is_dir && type != 0)
            {
              g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                           "%s: entry '%s': its name and its file type disagree on whether "
                           "it is a directory", za->path, shown);
              return NULL;
            }
        }
      if (is_dir && usize != 0)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                       "%s: directory entry '%s' declares %u bytes of content",
                       za->path, shown, usize);
          return NULL;
        }
      if (method == METHOD_STORED && csize != usize)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                       "%s: stored entry '%s' declares %u bytes compressed but %u uncompressed",
                       za->path, shown, csize, usize);
          return NULL;
        }

      /* Duplicate names and files used as directories would make the
       * result depend on the order of the entries. */
      g_autofree char *key = g_strndup ((const char *) raw_name, is_dir ? nlen - 1u : nlen);
      if (g_hash_table_contains (kinds, key))
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                       "%s: entry '%s' appears more than once; refusing to unpack this archive",
                       za->path, shown);
          return NULL;
        }
      g_hash_table_insert (kinds, g_steal_pointer (&key), GINT_TO_POINTER (is_dir ? 1 : 0));

      ZipItem *item = g_new0 (ZipItem, 1);
      item->pub.name = g_strndup ((const char *) raw_name, nlen);
      item->pub.compressed_size = csize;
      item->pub.uncompressed_size = usize;
      item->pub.method = method;
      item->pub.crc32 = crc;
      item->pub.is_dir = is_dir;
      item->flags = flags;
      item->local_offset = local_off;
      g_ptr_array_add (za->items, item);
      za->total_size += usize;

      if (!read_local_header (za, item, raw_name, nlen, cancellable, error))
        return NULL;

      pos += CENTRAL_HEADER_SIZE + (gsize) nlen + elen + clen;
    }
  if (pos != cd_size)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "%s: the central directory is %u bytes but its %u entries use %"
                   G_GSIZE_FORMAT "; the archive is corrupt", za->path, cd_size, n_total, pos);
      return NULL;
    }
  for (guint i = 0; i < za->items->len; i++)
    {
      ZipItem *item = g_ptr_array_index (za->items, i);
      const char *file = find_file_ancestor (kinds, item->pub.name);
      if (file != NULL)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                       "%s: entry '%s' lies under '%s', which is a file; refusing to unpack "
                       "this archive", za->path, item->pub.name, file);
          return NULL;
        }
    }
  return g_steal_pointer (&za);
}

GPtrArray *
msr_zip_list (const char  *zip_path,
              GError     **error)
{
  g_return_val_if_fail (zip_path != NULL, NULL);

  g_autoptr(ZipArchive) za = zip_archive_open (zip_path, NULL, error);
  if (za == NULL)
    return NULL;
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) msr_zip_entry_free);
  for (guint i = 0; i < za->items->len; i++)
    {
      const ZipItem *item = g_ptr_array_index (za->items, i);
      MsrZipEntry *e = g_new (MsrZipEntry, 1);
      *e = item->pub;
      e->name = g_strdup (item->pub.name);
      g_ptr_array_add (out, e);
    }
  return out;
}

/* ----------------------------------------------------------- extraction */

/* Best-effort recursive removal of something we created; never follows
 * symbolic links. */
static void
remove_tree (const char *path)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      GDir *dir = g_dir_open (path, 0, NULL);
      if (dir != NULL)
        {
          const char *name;
          while ((name = g_dir_read_name (dir)) != NULL)
            {
              g_autofree char *child = g_build_filename (path, name, NULL);
              remove_tree (child);
            }
          g_dir_close (dir);
        }
      if (g_rmdir (path) != 0)
        g_debug ("could not remove %s: %s", path, g_strerror (errno));
    }
  else if (g_unlink (path) != 0)
    g_debug ("could not remove %s: %s", path, g_strerror (errno));
}

/* rename() that refuses to replace an existing destination. */
static int
rename_noreplace (const char *src,
                  const char *dst)
{
#if defined(RENAME_NOREPLACE)
  if (renameat2 (AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno != EINVAL && errno != ENOSYS)
    return -1;
  /* The file system cannot do it atomically: check, then rename. */
#endif
  GStatBuf st;
  if (g_lstat (dst, &st) == 0)
    {
      errno = EEXIST;
      return -1;
    }
  return g_rename (src, dst);
}

typedef struct {
  ZipArchive       *za;
  ZipItem          *item;
  GOutputStream    *out;
  guint32           crc;
  guint64           produced;
  guint64           done_before;   /* bytes of earlier entries */
  MsrProgressFunc   progress;
  gpointer          progress_data;
  GCancellable     *cancellable;
} Sink;

static gboolean
sink_write (Sink          *s,
            const guint8  *data,
            gsize          len,
            GError       **error)
{
  g_autoptr(GError) local = NULL;

  if (len == 0)
    return TRUE;
  /* Stop at the declared size: a lying header must not fill the disk. */
  if (len > s->item->pub.uncompressed_size - s->produced)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_CHECKSUM,
                   "%s: entry '%s' unpacks to more than the %" G_GUINT64_FORMAT
                   " bytes it declares; the archive is corrupt",
                   s->za->path, s->item->pub.name, s->item->pub.uncompressed_size);
      return FALSE;
    }
  if (!g_output_stream_write_all (s->out, data, len, NULL, s->cancellable, &local))
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: entry '%s': cannot write: %s",
                     s->za->path, s->item->pub.name, local->message);
      return FALSE;
    }
  s->crc = msr_zip_crc32 (s->crc, data, len);
  s->produced += len;
  if (s->progress != NULL && s->za->total_size > 0)
    s->progress ((double) (s->done_before + s->produced) / (double) s->za->total_size,
                 "Unpacking", s->progress_data);
  return TRUE;
}

static gboolean
copy_stored (Sink     *s,
             guint8   *buf,
             GError  **error)
{
  guint64 left = s->item->pub.compressed_size;
  guint64 off = s->item->data_offset;

  while (left > 0)
    {
      gsize n = (gsize) MIN (left, (guint64) CHUNK);
      if (g_cancellable_set_error_if_cancelled (s->cancellable, error) ||
          !read_at (s->za, off, buf, n, "entry data", s->cancellable, error) ||
          !sink_write (s, buf, n, error))
        return FALSE;
      off += n;
      left -= n;
    }
  return TRUE;
}

static gboolean
inflate_entry (Sink     *s,
               guint8   *inbuf,
               guint8   *outbuf,
               GError  **error)
{
  g_autoptr(GZlibDecompressor) z = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW);
  guint64 left = s->item->pub.compressed_size;
  guint64 off = s->item->data_offset;
  gsize in_len = 0, in_pos = 0;
  guint stalls = 0;

  for (;;)
    {
      g_autoptr(GError) local = NULL;
      gsize nread = 0, nwritten = 0;

      if (g_cancellable_set_error_if_cancelled (s->cancellable, error))
        return FALSE;
      if (in_pos == in_len && left > 0)
        {
          gsize n = (gsize) MIN (left, (guint64) CHUNK);
          if (!read_at (s->za, off, inbuf, n, "entry data", s->cancellable, error))
            return FALSE;
          off += n;
          left -= n;
          in_pos = 0;
          in_len = n;
        }
      GConverterFlags flags = left == 0 ? G_CONVERTER_INPUT_AT_END : G_CONVERTER_NO_FLAGS;
      GConverterResult r = g_converter_convert (G_CONVERTER (z), inbuf + in_pos, in_len - in_pos,
                                                outbuf, CHUNK, flags, &nread, &nwritten, &local);
      if (r == G_CONVERTER_ERROR)
        {
          if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT) && left > 0)
            {
              /* zlib consumed everything it could; feed the next chunk. */
              in_pos = in_len;
              continue;
            }
          g_set_error (error, MSR_ERROR, MSR_ERROR_CHECKSUM,
                       "%s: entry '%s': the compressed data is corrupt or incomplete (%s)",
                       s->za->path, s->item->pub.name,
                       g_error_matches (local, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT)
                       ? "it ends early" : local->message);
          return FALSE;
        }
      in_pos += nread;
      if (!sink_write (s, outbuf, nwritten, error))
        return FALSE;
      if (r == G_CONVERTER_FINISHED)
        return TRUE;
      /* Defensive: a converter that neither reads nor writes would loop. */
      stalls = (nread == 0 && nwritten == 0) ? stalls + 1 : 0;
      if (stalls > 16)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_CHECKSUM,
                       "%s: entry '%s': the compressed data is corrupt (decoder stalled)",
                       s->za->path, s->item->pub.name);
          return FALSE;
        }
    }
}

static gboolean
extract_item (ZipArchive       *za,
              ZipItem          *item,
              const char       *tmp_dir,
              guint64           done_before,
              guint8           *inbuf,
              guint8           *outbuf,
              MsrProgressFunc   progress,
              gpointer          progress_data,
              GCancellable     *cancellable,
              GError          **error)
{
  g_autofree char *path = g_build_filename (tmp_dir, item->pub.name, NULL);
  g_autofree char *parent = item->pub.is_dir ? g_strdup (path) : g_path_get_dirname (path);
  g_autoptr(GError) local = NULL;

  if (g_mkdir_with_parents (parent, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: entry '%s': cannot create %s: %s",
                   za->path, item->pub.name, parent, g_strerror (saved));
      return FALSE;
    }
  if (item->pub.is_dir)
    return TRUE;

  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileOutputStream) out = g_file_create (file, G_FILE_CREATE_NONE, cancellable, &local);
  if (out == NULL)
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: entry '%s': cannot create %s: %s",
                     za->path, item->pub.name, path, local->message);
      return FALSE;
    }

  Sink s = {
    .za = za, .item = item, .out = G_OUTPUT_STREAM (out), .crc = 0, .produced = 0,
    .done_before = done_before, .progress = progress, .progress_data = progress_data,
    .cancellable = cancellable,
  };
  gboolean ok = item->pub.method == METHOD_STORED
                ? copy_stored (&s, inbuf, error)
                : inflate_entry (&s, inbuf, outbuf, error);
  if (!g_output_stream_close (G_OUTPUT_STREAM (out), NULL, ok ? &local : NULL) && ok)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: entry '%s': cannot write %s: %s",
                   za->path, item->pub.name, path, local->message);
      return FALSE;
    }
  if (!ok)
    return FALSE;

  if (s.produced != item->pub.uncompressed_size)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_CHECKSUM,
                   "%s: entry '%s' unpacks to %" G_GUINT64_FORMAT " bytes, but the archive "
                   "declares %" G_GUINT64_FORMAT "; the archive is corrupt",
                   za->path, item->pub.name, s.produced, item->pub.uncompressed_size);
      return FALSE;
    }
  if (s.crc != item->pub.crc32)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_CHECKSUM,
                   "%s: entry '%s': CRC-32 mismatch (expected %08x, got %08x); "
                   "the archive is corrupt", za->path, item->pub.name, item->pub.crc32, s.crc);
      return FALSE;
    }
  return TRUE;
}

/* Distinct first path components, in archive order. */
static GPtrArray *
top_level_names (ZipArchive *za)
{
  GPtrArray *tops = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < za->items->len; i++)
    {
      const ZipItem *item = g_ptr_array_index (za->items, i);
      const char *slash = strchr (item->pub.name, '/');
      char *top = slash ? g_strndup (item->pub.name, (gsize) (slash - item->pub.name))
                        : g_strdup (item->pub.name);
      if (g_hash_table_contains (seen, top))
        {
          g_free (top);
          continue;
        }
      g_ptr_array_add (tops, top);
      g_hash_table_add (seen, top);
    }
  return tops;
}

static gboolean
check_absent (ZipArchive  *za,
              GPtrArray   *tops,
              const char  *dest_dir,
              GError     **error)
{
  for (guint i = 0; i < tops->len; i++)
    {
      g_autofree char *dst = g_build_filename (dest_dir, g_ptr_array_index (tops, i), NULL);
      GStatBuf st;
      if (g_lstat (dst, &st) == 0)
        {
          g_autofree char *shown = g_filename_display_name (dst);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                       "%s: %s already exists; not overwriting it (move or remove it first)",
                       za->path, shown);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
msr_zip_extract_full (const char       *zip_path,
                      const char       *dest_dir,
                      guint64           max_total_size,
                      MsrProgressFunc   progress,
                      gpointer          progress_data,
                      GCancellable     *cancellable,
                      GError          **error)
{
  g_return_val_if_fail (zip_path != NULL, FALSE);
  g_return_val_if_fail (dest_dir != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (!g_file_test (dest_dir, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *shown = g_filename_display_name (dest_dir);
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO,
                   "%s: the destination is not an existing directory", shown);
      return FALSE;
    }

  g_autoptr(ZipArchive) za = zip_archive_open (zip_path, cancellable, error);
  if (za == NULL)
    return FALSE;
  if (za->total_size > max_total_size)
    {
      g_autofree char *declared = g_format_size_full (za->total_size, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *cap = g_format_size_full (max_total_size, G_FORMAT_SIZE_IEC_UNITS);
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "%s: the archive declares %s of uncompressed data, more than the %s "
                   "limit; refusing to unpack it", za->path, declared, cap);
      return FALSE;
    }

  g_autoptr(GPtrArray) tops = top_level_names (za);
  if (!check_absent (za, tops, dest_dir, error))
    return FALSE;

  g_autofree char *tmp_dir = g_build_filename (dest_dir, TEMP_PREFIX "XXXXXX", NULL);
  if (g_mkdtemp (tmp_dir) == NULL)
    {
      int saved = errno;
      g_autofree char *shown = g_filename_display_name (dest_dir);
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO,
                   "%s: cannot create a temporary directory to unpack %s: %s",
                   shown, za->path, g_strerror (saved));
      return FALSE;
    }

  g_autofree guint8 *inbuf = g_malloc (CHUNK);
  g_autofree guint8 *outbuf = g_malloc (CHUNK);
  guint64 done = 0;
  if (progress != NULL)
    progress (0.0, "Unpacking", progress_data);
  for (guint i = 0; i < za->items->len; i++)
    {
      ZipItem *item = g_ptr_array_index (za->items, i);
      if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
          !extract_item (za, item, tmp_dir, done, inbuf, outbuf, progress, progress_data,
                         cancellable, error))
        {
          remove_tree (tmp_dir);
          return FALSE;
        }
      done += item->pub.uncompressed_size;
    }

  /* Everything verified: move the top-level entries into place. Nothing
   * that exists is replaced; a failure moves back what was already moved. */
  for (guint i = 0; i < tops->len; i++)
    {
      const char *top = g_ptr_array_index (tops, i);
      g_autofree char *src = g_build_filename (tmp_dir, top, NULL);
      g_autofree char *dst = g_build_filename (dest_dir, top, NULL);
      if (rename_noreplace (src, dst) != 0)
        {
          int saved = errno;
          for (guint j = 0; j < i; j++)
            {
              const char *back = g_ptr_array_index (tops, j);
              g_autofree char *bsrc = g_build_filename (tmp_dir, back, NULL);
              g_autofree char *bdst = g_build_filename (dest_dir, back, NULL);
              if (g_rename (bdst, bsrc) != 0)
                g_debug ("could not move %s back: %s", bdst, g_strerror (errno));
            }
          remove_tree (tmp_dir);
          g_autofree char *shown = g_filename_display_name (dst);
          if (saved == EEXIST || saved == ENOTEMPTY)
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                         "%s: %s already exists; not overwriting it (move or remove it first)",
                         za->path, shown);
          else
            g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot move %s into place: %s",
                         za->path, shown, g_strerror (saved));
          return FALSE;
        }
    }
  remove_tree (tmp_dir);
  if (progress != NULL)
    progress (1.0, "Unpacking", progress_data);
  return TRUE;
}

gboolean
msr_zip_extract (const char       *zip_path,
                 const char       *dest_dir,
                 MsrProgressFunc   progress,
                 gpointer          progress_data,
                 GCancellable     *cancellable,
                 GError          **error)
{
  return msr_zip_extract_full (zip_path, dest_dir, MSR_ZIP_DEFAULT_MAX_TOTAL_SIZE,
                               progress, progress_data, cancellable, error);
}

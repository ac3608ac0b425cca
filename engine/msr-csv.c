/* msr-csv.c: RFC 4180 reader, see msr-csv.h for the accepted dialect. */
#include "config.h"
#include "msr-csv.h"

#include <string.h>

typedef struct {
  gsize buf_offset;   /* start of the unescaped text in reader->buf */
  gsize length;
  gsize in_offset;    /* where the field starts in the input */
  gsize line;         /* physical line of in_offset */
  gsize line_start;   /* input offset of that line's first byte */
} FieldSpan;

struct _MsrCsvReader {
  GMappedFile *mapped;
  const char  *data;
  gsize        len;
  gsize        pos;
  gsize        line;        /* physical line of pos, 1-based */
  gsize        line_start;  /* input offset of the current line */
  char        *display_name;
  char         delimiter;

  GString     *buf;
  GArray      *fields;      /* FieldSpan */
  gsize        record_line;
  gsize        n_records;

  char       **columns;     /* header, NULL-terminated */
  guint        n_columns;
};

static gsize
column_of (const MsrCsvReader *r, gsize line_start, gsize offset)
{
  return (gsize) g_utf8_strlen (r->data + line_start, (gssize) (offset - line_start)) + 1;
}

static void
set_error_at (const MsrCsvReader *r, GError **error, gint code,
              gsize line, gsize line_start, gsize offset, const char *message)
{
  g_set_error (error, MSR_ERROR, code, "%s: line %" G_GSIZE_FORMAT ", column %" G_GSIZE_FORMAT ": %s",
               r->display_name, line, column_of (r, line_start, offset), message);
}

static char
delimiter_for_name (const char *name)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);
  if (g_str_has_suffix (lower, ".tsv") || g_str_has_suffix (lower, ".tab") ||
      g_str_has_suffix (lower, ".tsv.txt"))
    return '\t';
  return ',';
}

static gboolean
validate_utf8 (MsrCsvReader *r, GError **error)
{
  const char *end = NULL;

  if (g_utf8_validate_len (r->data, r->len, &end))
    return TRUE;

  gsize offset = (gsize) (end - r->data);
  gsize line = 1, line_start = 0;
  for (gsize i = 0; i < offset; i++)
    if (r->data[i] == '\n')
      {
        line++;
        line_start = i + 1;
      }
  g_autofree char *msg = NULL;
  if (*end == '\0')
    msg = g_strdup ("the file contains a NUL byte (is it a binary file?)");
  else
    msg = g_strdup_printf ("invalid UTF-8 (byte 0x%02X); convert the file to UTF-8",
                           (guint) (guchar) *end);
  set_error_at (r, error, MSR_ERROR_PARSE, line, line_start, offset, msg);
  return FALSE;
}

static MsrCsvReader *
reader_new (const char *display_name, char delimiter)
{
  MsrCsvReader *r = g_new0 (MsrCsvReader, 1);
  r->display_name = g_strdup (display_name);
  r->delimiter = delimiter ? delimiter : delimiter_for_name (display_name);
  r->line = 1;
  r->buf = g_string_sized_new (256);
  r->fields = g_array_new (FALSE, FALSE, sizeof (FieldSpan));
  return r;
}

static gboolean
reader_start (MsrCsvReader *r, GError **error)
{
  if (r->delimiter != ',' && r->delimiter != '\t' && r->delimiter != ';' && r->delimiter != '|')
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "%s: unsupported delimiter '%c'", r->display_name, r->delimiter);
      return FALSE;
    }
  if (r->len >= 3 && memcmp (r->data, "\xEF\xBB\xBF", 3) == 0)
    r->pos = r->line_start = 3;
  return validate_utf8 (r, error);
}

MsrCsvReader *
msr_csv_reader_open (const char *path, char delimiter, GError **error)
{
  g_autoptr(GError) local = NULL;
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot read: it is a directory, not a file", path);
      return NULL;
    }
  GMappedFile *mapped = g_mapped_file_new (path, FALSE, &local);

  if (mapped == NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot read: %s", path, local->message);
      return NULL;
    }

  MsrCsvReader *r = reader_new (path, delimiter);
  r->mapped = mapped;
  r->data = g_mapped_file_get_contents (mapped);
  r->len = g_mapped_file_get_length (mapped);
  if (r->data == NULL)
    r->data = "";
  if (!reader_start (r, error))
    {
      msr_csv_reader_free (r);
      return NULL;
    }
  return r;
}

MsrCsvReader *
msr_csv_reader_new_from_data (const char *data, gsize length, const char *display_name,
                              char delimiter, GError **error)
{
  MsrCsvReader *r = reader_new (display_name, delimiter);
  r->data = data ? data : "";
  r->len = data ? length : 0;
  if (!reader_start (r, error))
    {
      msr_csv_reader_free (r);
      return NULL;
    }
  return r;
}

void
msr_csv_reader_free (MsrCsvReader *r)
{
  if (r == NULL)
    return;
  g_clear_pointer (&r->mapped, g_mapped_file_unref);
  g_string_free (r->buf, TRUE);
  g_array_unref (r->fields);
  g_strfreev (r->columns);
  g_free (r->display_name);
  g_free (r);
}

const char *
msr_csv_reader_get_display_name (const MsrCsvReader *r)
{
  return r->display_name;
}

char
msr_csv_reader_get_delimiter (const MsrCsvReader *r)
{
  return r->delimiter;
}

static void
newline_at (MsrCsvReader *r, gsize newline_pos)
{
  r->line++;
  r->line_start = newline_pos + 1;
}

/* Parses one record starting at r->pos into r->buf/r->fields. */
static gboolean
parse_record (MsrCsvReader *r, GError **error)
{
  const char *d = r->data;
  const gsize len = r->len;
  const char delim = r->delimiter;

  g_string_truncate (r->buf, 0);
  g_array_set_size (r->fields, 0);
  r->record_line = r->line;

  for (;;)
    {
      FieldSpan span = { r->buf->len, 0, r->pos, r->line, r->line_start };
      gboolean more_fields = FALSE;

      if (r->pos < len && d[r->pos] == '"')
        {
          gsize p = r->pos + 1;
          for (;;)
            {
              if (p >= len)
                {
                  set_error_at (r, error, MSR_ERROR_PARSE, span.line, span.line_start, span.in_offset,
                                "unterminated quoted field (the quote opened here is never closed)");
                  return FALSE;
                }
              const char *q = memchr (d + p, '"', len - p);
              gsize stop = q ? (gsize) (q - d) : len;
              for (gsize i = p; i < stop; i++)
                if (d[i] == '\n')
                  newline_at (r, i);
              g_string_append_len (r->buf, d + p, (gssize) (stop - p));
              if (q == NULL)
                {
                  p = len;
                  continue;
                }
              if (stop + 1 < len && d[stop + 1] == '"')
                {
                  g_string_append_c (r->buf, '"');
                  p = stop + 2;
                  continue;
                }
              p = stop + 1;
              break;
            }
          r->pos = p;
          if (p < len)
            {
              char c = d[p];
              if (c == delim)
                more_fields = TRUE;
              else if (!(c == '\n' || (c == '\r' && p + 1 < len && d[p + 1] == '\n')))
                {
                  g_autofree char *msg = g_strdup_printf (
                      "unexpected character '%.*s' after a closing quote (a quoted field must end at a delimiter or a line end)",
                      (int) (g_utf8_next_char (d + p) - (d + p)), d + p);
                  set_error_at (r, error, MSR_ERROR_PARSE, r->line, r->line_start, p, msg);
                  return FALSE;
                }
            }
        }
      else
        {
          gsize p = r->pos;
          while (p < len)
            {
              char c = d[p];
              if (c == delim || c == '\n' || (c == '\r' && p + 1 < len && d[p + 1] == '\n'))
                break;
              p++;
            }
          g_string_append_len (r->buf, d + r->pos, (gssize) (p - r->pos));
          r->pos = p;
          if (p < len && d[p] == delim)
            more_fields = TRUE;
        }

      span.length = r->buf->len - span.buf_offset;
      g_string_append_c (r->buf, '\0');
      g_array_append_val (r->fields, span);

      if (more_fields)
        {
          r->pos++;
          continue;
        }
      /* End of record: consume the line end. */
      if (r->pos < len)
        {
          if (d[r->pos] == '\r')
            r->pos++;
          newline_at (r, r->pos);
          r->pos++;
        }
      break;
    }
  r->n_records++;
  return TRUE;
}

static gboolean
next_raw (MsrCsvReader *r, GError **error)
{
  /* Skip completely empty lines. */
  while (r->pos < r->len)
    {
      if (r->data[r->pos] == '\n')
        newline_at (r, r->pos), r->pos++;
      else if (r->data[r->pos] == '\r' && r->pos + 1 < r->len && r->data[r->pos + 1] == '\n')
        newline_at (r, r->pos + 1), r->pos += 2;
      else
        break;
    }
  if (r->pos >= r->len)
    return FALSE;
  return parse_record (r, error);
}

gboolean
msr_csv_reader_read_header (MsrCsvReader *r, GError **error)
{
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (r->columns == NULL, FALSE);

  if (!next_raw (r, &local))
    {
      if (local)
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                     "%s: the file is empty (expected a header line naming the columns)", r->display_name);
      return FALSE;
    }

  guint n = r->fields->len;
  r->columns = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strstrip (g_strdup (msr_csv_reader_get_field (r, i)));
      if (name[0] == '\0')
        {
          msr_csv_reader_set_field_error (r, i, error, MSR_ERROR_PARSE,
                                          "header column %u has an empty name", i + 1);
          return FALSE;
        }
      for (guint j = 0; j < i; j++)
        if (strcmp (r->columns[j], name) == 0)
          {
            msr_csv_reader_set_field_error (r, i, error, MSR_ERROR_PARSE,
                                            "duplicate column name '%s' (also column %u)", name, j + 1);
            return FALSE;
          }
      r->columns[i] = g_steal_pointer (&name);
    }
  r->n_columns = n;
  return TRUE;
}

guint
msr_csv_reader_get_n_columns (const MsrCsvReader *r)
{
  return r->n_columns;
}

const char *
msr_csv_reader_get_column_name (const MsrCsvReader *r, guint column)
{
  g_return_val_if_fail (column < r->n_columns, NULL);
  return r->columns[column];
}

int
msr_csv_reader_find_column (const MsrCsvReader *r, const char *name)
{
  for (guint i = 0; i < r->n_columns; i++)
    if (strcmp (r->columns[i], name) == 0)
      return (int) i;
  return -1;
}

int
msr_csv_reader_require_column (const MsrCsvReader *r, const char *name, const char *role,
                               GError **error)
{
  int idx = msr_csv_reader_find_column (r, name);
  if (idx >= 0)
    return idx;

  g_autoptr(GString) list = g_string_new (NULL);
  for (guint i = 0; i < r->n_columns; i++)
    g_string_append_printf (list, "%s'%s'", i ? ", " : "", r->columns[i]);
  g_set_error (error, MSR_ERROR, MSR_ERROR_SCHEMA,
               "%s: no column named '%s' (wanted as the %s column); the file has the columns %s",
               r->display_name, name, role, list->str);
  return -1;
}

gboolean
msr_csv_reader_next (MsrCsvReader *r, GError **error)
{
  if (!next_raw (r, error))
    return FALSE;
  if (r->columns != NULL && r->fields->len != r->n_columns)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                   "%s: line %" G_GSIZE_FORMAT ": expected %u fields as in the header, found %u",
                   r->display_name, r->record_line, r->n_columns, r->fields->len);
      return FALSE;
    }
  return TRUE;
}

guint
msr_csv_reader_get_n_fields (const MsrCsvReader *r)
{
  return r->fields->len;
}

const char *
msr_csv_reader_get_field (const MsrCsvReader *r, guint field)
{
  g_return_val_if_fail (field < r->fields->len, NULL);
  return r->buf->str + g_array_index (r->fields, FieldSpan, field).buf_offset;
}

gsize
msr_csv_reader_get_field_length (const MsrCsvReader *r, guint field)
{
  g_return_val_if_fail (field < r->fields->len, 0);
  return g_array_index (r->fields, FieldSpan, field).length;
}

gsize
msr_csv_reader_get_line (const MsrCsvReader *r)
{
  return r->record_line;
}

gsize
msr_csv_reader_get_record_number (const MsrCsvReader *r)
{
  return r->n_records;
}

double
msr_csv_reader_get_fraction (const MsrCsvReader *r)
{
  return r->len ? (double) r->pos / (double) r->len : 1.0;
}

void
msr_csv_reader_set_field_error (const MsrCsvReader *r, guint field, GError **error, gint code,
                                const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *msg = g_strdup_vprintf (format, args);
  va_end (args);

  const FieldSpan *span = &g_array_index (r->fields, FieldSpan, field);
  g_autofree char *where = NULL;
  if (r->columns != NULL && field < r->n_columns)
    where = g_strdup_printf (" (column '%s')", r->columns[field]);
  g_set_error (error, MSR_ERROR, code,
               "%s: line %" G_GSIZE_FORMAT ", column %" G_GSIZE_FORMAT "%s: %s",
               r->display_name, span->line, column_of (r, span->line_start, span->in_offset),
               where ? where : "", msg);
}

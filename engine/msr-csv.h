/* msr-csv.h: a strict RFC 4180 reader for CSV and TSV files with a header.
 *
 * Quoted fields may hold delimiters, doubled quotes and line breaks. The
 * whole file is validated as UTF-8 up front (a leading BOM is skipped), so
 * every field handed out is valid UTF-8. Lines end in LF or CRLF; completely
 * empty lines are skipped. A quote inside an unquoted field is kept as a
 * literal character (as most writers produce); after a closing quote only a
 * delimiter or a line end may follow. Every error names the file, the line
 * and the column (1-based, in characters). */
#pragma once

#include <glib.h>
#include "msr-error.h"

G_BEGIN_DECLS

typedef struct _MsrCsvReader MsrCsvReader;

/* delimiter: ',' or '\t'; 0 chooses from the file name (.tsv/.tab/.tsv.txt
 * mean tab, everything else comma). The file is mapped, never modified. */
MsrCsvReader *msr_csv_reader_open        (const char  *path,
                                          char         delimiter,
                                          GError     **error);
/* Reads from memory; display_name is what errors call the input. */
MsrCsvReader *msr_csv_reader_new_from_data (const char *data,
                                            gsize       length,
                                            const char *display_name,
                                            char        delimiter,
                                            GError    **error);
void          msr_csv_reader_free        (MsrCsvReader *reader);

const char   *msr_csv_reader_get_display_name (const MsrCsvReader *reader);
char          msr_csv_reader_get_delimiter    (const MsrCsvReader *reader);

/* Reads the first record as the header. Fails on an empty file, empty or
 * duplicate column names. */
gboolean      msr_csv_reader_read_header (MsrCsvReader *reader, GError **error);
guint         msr_csv_reader_get_n_columns (const MsrCsvReader *reader);
const char   *msr_csv_reader_get_column_name (const MsrCsvReader *reader, guint column);
/* -1 when absent. */
int           msr_csv_reader_find_column (const MsrCsvReader *reader, const char *name);
/* Like find_column, but an absent column is an error that says which role
 * needed it and lists the columns the file has. */
int           msr_csv_reader_require_column (const MsrCsvReader *reader,
                                             const char         *name,
                                             const char         *role,
                                             GError            **error);

/* Reads the next record. Returns FALSE with *error unset at the end of the
 * input, FALSE with *error set on malformed input. After the header, every
 * record must have exactly as many fields as the header. */
gboolean      msr_csv_reader_next        (MsrCsvReader *reader, GError **error);
guint         msr_csv_reader_get_n_fields (const MsrCsvReader *reader);
/* The unescaped field, NUL-terminated; valid until the next call to next(). */
const char   *msr_csv_reader_get_field   (const MsrCsvReader *reader, guint field);
gsize         msr_csv_reader_get_field_length (const MsrCsvReader *reader, guint field);
/* Line (1-based) on which the current record starts. */
gsize         msr_csv_reader_get_line    (const MsrCsvReader *reader);
/* Number of records read so far, header included. */
gsize         msr_csv_reader_get_record_number (const MsrCsvReader *reader);
/* Fraction of the input consumed, for progress reports. */
double        msr_csv_reader_get_fraction (const MsrCsvReader *reader);

/* Sets *error to "<file>: line L, column C (column 'name'): <message>" for
 * the given field of the current record; for callers that reject a value. */
void          msr_csv_reader_set_field_error (const MsrCsvReader *reader,
                                              guint               field,
                                              GError            **error,
                                              gint                code,
                                              const char         *format,
                                              ...) G_GNUC_PRINTF (5, 6);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrCsvReader, msr_csv_reader_free)

G_END_DECLS

/* lens-format.h: how numbers and fields are written in the window. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* 99990 -> "99,990": digits grouped by three with the locale's thousands
 * separator, or "," when the locale has none (the C locale). */
char *lens_format_count   (guint64 n);

/* 0.5544 -> "55.4%": a fraction as a percentage with one decimal; "–" for
 * NaN (an empty scenario has no positive rate). */
char *lens_format_percent (double fraction);

/* Appends text as one RFC 4180 field: quoted (with doubled quotes) when it
 * holds a comma, a quote or a line break, or starts or ends with a space
 * (which spreadsheets would otherwise trim). */
void  lens_format_csv_field (GString *s, const char *text);

G_END_DECLS

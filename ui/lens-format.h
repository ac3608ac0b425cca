/* lens-format.h: how numbers are written in the window. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* 99990 -> "99,990": digits grouped by three with the locale's thousands
 * separator, or "," when the locale has none (the C locale). */
char *lens_format_count   (guint64 n);

/* 0.5544 -> "55.4%": a fraction as a percentage with one decimal; "–" for
 * NaN (an empty scenario has no positive rate). */
char *lens_format_percent (double fraction);

G_END_DECLS

/* lens-format.c: how numbers are written in the window. */
#include "lens-format.h"

#include <locale.h>
#include <math.h>
#include <string.h>

static const char *
thousands_separator (void)
{
  const struct lconv *lc = localeconv ();

  if (lc->thousands_sep != NULL && lc->thousands_sep[0] != '\0')
    return lc->thousands_sep;
  /* Large counts are unreadable without grouping; when the locale has no
   * separator pick one that cannot be mistaken for its decimal point. */
  if (lc->decimal_point != NULL && strcmp (lc->decimal_point, ",") == 0)
    return "\u202f";
  return ",";
}

char *
lens_format_count (guint64 n)
{
  char digits[32];
  const char *sep = thousands_separator ();
  GString *out;
  gsize len, i;

  g_snprintf (digits, sizeof digits, "%" G_GUINT64_FORMAT, n);
  len = strlen (digits);
  out = g_string_sized_new (len + len / 3 * strlen (sep));
  for (i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append (out, sep);
      g_string_append_c (out, digits[i]);
    }
  return g_string_free (out, FALSE);
}

char *
lens_format_percent (double fraction)
{
  if (isnan (fraction))
    return g_strdup ("–");
  return g_strdup_printf ("%.1f%%", fraction * 100.0);
}

void
lens_format_csv_field (GString *s, const char *text)
{
  if (strpbrk (text, ",\"\r\n") == NULL && text[0] != ' ' &&
      (text[0] == '\0' || text[strlen (text) - 1] != ' '))
    {
      g_string_append (s, text);
      return;
    }
  g_string_append_c (s, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (s, '"');
      g_string_append_c (s, *p);
    }
  g_string_append_c (s, '"');
}

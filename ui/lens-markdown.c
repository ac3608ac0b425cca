/* lens-markdown.c: see lens-markdown.h. */
#include "config.h"

#include "lens-markdown.h"

#include <string.h>

/* Inline spans: **bold**, __bold__, *italic*, _italic_ (not inside words),
 * `code`. Unmatched markers stay as text. */
static void
append_inline (GString *out, const char *s)
{
  const char *p = s;
  while (*p)
    {
      const char *mark = NULL;
      const char *tag = NULL;
      gsize len = 0;
      if (p[0] == '*' && p[1] == '*')
        mark = "**", tag = "b", len = 2;
      else if (p[0] == '_' && p[1] == '_')
        mark = "__", tag = "b", len = 2;
      else if (p[0] == '`')
        mark = "`", tag = "tt", len = 1;
      else if ((p[0] == '*' || p[0] == '_') && (p == s || !g_ascii_isalnum (p[-1])) && p[1] != ' ' && p[1])
        mark = p[0] == '*' ? "*" : "_", tag = "i", len = 1;
      const char *end = mark ? strstr (p + len, mark) : NULL;
      if (end != NULL && end > p + len)
        {
          g_autofree char *inner = g_strndup (p + len, (gsize) (end - p - len));
          g_string_append_printf (out, "<%s>", tag);
          if (g_str_equal (tag, "tt"))
            {
              g_autofree char *esc = g_markup_escape_text (inner, -1);
              g_string_append (out, esc);
            }
          else
            append_inline (out, inner);
          g_string_append_printf (out, "</%s>", tag);
          p = end + len;
          continue;
        }
      /* One character (a whole UTF-8 sequence), escaped. */
      const char *next = g_utf8_next_char (p);
      g_autofree char *esc = g_markup_escape_text (p, (gssize) (next - p));
      g_string_append (out, esc);
      p = next;
    }
}

char *
lens_markdown_to_pango (const char *markdown)
{
  GString *out = g_string_new (NULL);
  g_auto(GStrv) lines = g_strsplit (markdown ? markdown : "", "\n", -1);
  gboolean paragraph = FALSE;   /* a blank line since the last text */
  for (guint i = 0; lines[i]; i++)
    {
      char *line = g_strchomp (lines[i]);
      const char *t = line;
      while (*t == ' ')
        t++;
      if (*t == '\0')
        {
          paragraph = out->len > 0;
          continue;
        }
      guint level = 0;
      while (t[level] == '#')
        level++;
      const gboolean heading = level > 0 && level <= 6 && t[level] == ' ';
      /* Paragraphs (and headings) get one empty line before them. */
      if (out->len)
        g_string_append (out, paragraph || heading ? "\n\n" : "\n");
      paragraph = FALSE;
      if (heading)
        {
          g_string_append_printf (out, "<span weight=\"bold\" size=\"%s\">", level <= 2 ? "large" : "medium");
          append_inline (out, t + level + 1);
          g_string_append (out, "</span>");
          continue;
        }
      if ((t[0] == '-' || t[0] == '*' || t[0] == '+') && t[1] == ' ')
        {
          /* Nested items keep their indentation. */
          for (const char *q = line; q < t; q++)
            g_string_append (out, " ");
          g_string_append (out, "  • ");
          append_inline (out, t + 2);
        }
      else
        append_inline (out, line);
    }
  while (out->len && out->str[out->len - 1] == '\n')
    g_string_truncate (out, out->len - 1);
  return g_string_free (out, FALSE);
}

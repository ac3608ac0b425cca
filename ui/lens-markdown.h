/* lens-markdown.h: the Markdown the LLMs write (headings, bold, italics,
 * code, bullet lists) as Pango markup, for showing their texts in labels.
 * Everything else is shown as written, escaped. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *lens_markdown_to_pango (const char *markdown);

G_END_DECLS

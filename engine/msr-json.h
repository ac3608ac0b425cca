/* msr-json.h: JSON from untrusted places (files, model metadata, stores,
 * servers), parsed without letting its nesting overflow the stack. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* json-glib's parser recurses once per nested object or array, so a few
 * hundred thousand '[' overflow the stack (SIGSEGV). Nothing MSR Lens reads
 * nests more than a handful of levels. */
#define MSR_JSON_MAX_DEPTH 256

/* TRUE when TEXT (LEN bytes, or up to its NUL when LEN < 0) nests objects and
 * arrays at most MAX_DEPTH deep (brackets inside strings do not count); else
 * FALSE, with *AT (when not NULL) the byte offset of the first bracket too
 * deep. A cheap pass, meant to run before json-glib sees the text. */
gboolean msr_json_depth_ok (const char *text, gssize len, guint max_depth, gsize *at);

/* json_from_string () for untrusted text: NULL with an error (MSR_ERROR_PARSE)
 * when TEXT nests deeper than MSR_JSON_MAX_DEPTH or is not JSON. */
JsonNode *msr_json_from_string (const char *text, GError **error);

G_END_DECLS

/* msr-safetensors.c: see msr-safetensors.h. The layout follows Hugging Face's
 * format description (README of huggingface/safetensors); the checks mirror
 * the reference reader's, plus the ones it leaves to serde (duplicates,
 * member types). */
#include "msr-safetensors.h"
#include "msr-file.h"

#include <errno.h>
#include <string.h>
#include <json-glib/json-glib.h>

/* Deeper nesting than this cannot be a valid header (object → entry → shape
 * array is 3 levels); refusing it early keeps json-glib's recursive parser
 * from exhausting the stack on a hostile file. */
#define MAX_JSON_DEPTH 16

/* How many problems check_tensors spells out before "and N more". */
#define MAX_LISTED_PROBLEMS 10

/* Names longer than this are cut in messages (a hostile header can hold a
 * 100 MB name). */
#define MAX_SHOWN_NAME 120

/* ---------------------------------------------------------------- dtypes */

typedef struct {
  const char *name;
  guint       bits;
} DTypeDesc;

static const DTypeDesc dtypes[MSR_DTYPE_N_TYPES] = {
  [MSR_DTYPE_F32]         = { "F32", 32 },
  [MSR_DTYPE_F64]         = { "F64", 64 },
  [MSR_DTYPE_I64]         = { "I64", 64 },
  [MSR_DTYPE_I32]         = { "I32", 32 },
  [MSR_DTYPE_F16]         = { "F16", 16 },
  [MSR_DTYPE_BF16]        = { "BF16", 16 },
  [MSR_DTYPE_U8]          = { "U8", 8 },
  [MSR_DTYPE_I8]          = { "I8", 8 },
  [MSR_DTYPE_BOOL]        = { "BOOL", 8 },
  [MSR_DTYPE_I16]         = { "I16", 16 },
  [MSR_DTYPE_U16]         = { "U16", 16 },
  [MSR_DTYPE_U32]         = { "U32", 32 },
  [MSR_DTYPE_U64]         = { "U64", 64 },
  [MSR_DTYPE_C64]         = { "C64", 64 },
  [MSR_DTYPE_F8_E4M3]     = { "F8_E4M3", 8 },
  [MSR_DTYPE_F8_E5M2]     = { "F8_E5M2", 8 },
  [MSR_DTYPE_F8_E8M0]     = { "F8_E8M0", 8 },
  [MSR_DTYPE_F8_E4M3FNUZ] = { "F8_E4M3FNUZ", 8 },
  [MSR_DTYPE_F8_E5M2FNUZ] = { "F8_E5M2FNUZ", 8 },
  [MSR_DTYPE_F6_E2M3]     = { "F6_E2M3", 6 },
  [MSR_DTYPE_F6_E3M2]     = { "F6_E3M2", 6 },
  [MSR_DTYPE_F4]          = { "F4", 4 },
};

const char *
msr_safetensors_dtype_name (MsrDType dtype)
{
  g_return_val_if_fail ((guint) dtype < MSR_DTYPE_N_TYPES, "?");
  return dtypes[dtype].name;
}

gboolean
msr_safetensors_dtype_from_name (const char *name,
                                 MsrDType   *dtype)
{
  g_return_val_if_fail (name != NULL, FALSE);
  for (guint i = 0; i < MSR_DTYPE_N_TYPES; i++)
    if (strcmp (dtypes[i].name, name) == 0)
      {
        if (dtype != NULL)
          *dtype = (MsrDType) i;
        return TRUE;
      }
  return FALSE;
}

guint
msr_safetensors_dtype_bits (MsrDType dtype)
{
  g_return_val_if_fail ((guint) dtype < MSR_DTYPE_N_TYPES, 0);
  return dtypes[dtype].bits;
}

gsize
msr_safetensors_dtype_size (MsrDType dtype)
{
  g_return_val_if_fail ((guint) dtype < MSR_DTYPE_N_TYPES, 0);
  return dtypes[dtype].bits % 8 == 0 ? dtypes[dtype].bits / 8 : 0;
}

/* ---------------------------------------------------------------- helpers */

/* A name as messages show it: cut at a character boundary when very long. */
static char *
shown (const char *name)
{
  gsize len = strlen (name);

  if (len <= MAX_SHOWN_NAME)
    return g_strdup (name);
  const char *cut = name + MAX_SHOWN_NAME;
  /* Back up to the start of a UTF-8 character. */
  while (cut > name && ((guchar) *cut & 0xC0) == 0x80)
    cut--;
  return g_strdup_printf ("%.*s…", (int) (cut - name), name);
}

static void
append_shape (GString      *s,
              const gint64 *shape,
              guint         n_dims)
{
  g_string_append_c (s, '[');
  for (guint i = 0; i < n_dims; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
}

static char *
shape_string (const gint64 *shape,
              guint         n_dims)
{
  GString *s = g_string_new (NULL);
  append_shape (s, shape, n_dims);
  return g_string_free (s, FALSE);
}

static const char *
describe_node (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      return "an object";
    case JSON_NODE_ARRAY:
      return "an array";
    case JSON_NODE_NULL:
      return "null";
    case JSON_NODE_VALUE:
    default:
      break;
    }
  GType t = json_node_get_value_type (node);
  if (t == G_TYPE_STRING)
    return "a string";
  if (t == G_TYPE_BOOLEAN)
    return "a boolean";
  if (t == G_TYPE_DOUBLE)
    return "a fractional number";
  return "a number";
}

/* ----------------------------------------------------------------- reader */

typedef struct {
  MsrTensorInfo info;
  char         *name;
  gint64       *shape;
} Tensor;

struct _MsrSafetensors {
  char         *display_name;
  GBytes       *bytes;
  const guint8 *data;          /* the data section */
  guint64       data_size;
  guint64       data_offset;
  GPtrArray    *tensors;       /* Tensor, in data order */
  GHashTable   *by_name;       /* name → Tensor (borrowed) */
  GHashTable   *metadata;      /* key → value */
  char        **metadata_keys; /* sorted */
};

static void
tensor_free (gpointer p)
{
  Tensor *t = p;
  g_free (t->name);
  g_free (t->shape);
  g_free (t);
}

void
msr_safetensors_free (MsrSafetensors *st)
{
  if (st == NULL)
    return;
  g_free (st->display_name);
  g_clear_pointer (&st->bytes, g_bytes_unref);
  g_clear_pointer (&st->by_name, g_hash_table_unref);
  g_clear_pointer (&st->tensors, g_ptr_array_unref);
  g_clear_pointer (&st->metadata, g_hash_table_unref);
  g_free (st->metadata_keys);
  g_free (st);
}

G_GNUC_PRINTF (4, 5)
static void
st_error (GError         **error,
          MsrErrorCode     code,
          MsrSafetensors  *st,
          const char      *format,
          ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, MSR_ERROR, code, "%s: %s", st->display_name, message);
}

/* Whether the integer literal text[0..len) fits in a gint64. */
static gboolean
integer_fits (const char *text,
              gsize       len)
{
  char buf[32];

  if (len >= sizeof buf)
    return FALSE;
  memcpy (buf, text, len);
  buf[len] = '\0';
  errno = 0;
  (void) g_ascii_strtoll (buf, NULL, 10);
  return errno != ERANGE;
}

/* Cheap pass over the raw header before json-glib sees it: NUL bytes,
 * nesting depth, and \u0000 escapes (json-glib would silently cut the
 * string there, so two different names could collapse into one). */
static gboolean
prescan_header (MsrSafetensors  *st,
                const char      *h,
                gsize            n,
                GError         **error)
{
  const char *nul = memchr (h, '\0', n);
  if (nul != NULL)
    {
      st_error (error, MSR_ERROR_PARSE, st,
                "the header contains a NUL byte (at header byte %" G_GSIZE_FORMAT "): "
                "the file is corrupt or not a safetensors file", (gsize) (nul - h));
      return FALSE;
    }

  const char *bad = NULL;
  if (!g_utf8_validate_len (h, n, &bad))
    {
      st_error (error, MSR_ERROR_PARSE, st,
                "the header is not valid UTF-8 (at header byte %" G_GSIZE_FORMAT "): "
                "the file is corrupt or not a safetensors file", (gsize) (bad - h));
      return FALSE;
    }

  gboolean in_string = FALSE;
  guint depth = 0;
  for (gsize i = 0; i < n; i++)
    {
      char c = h[i];
      if (in_string)
        {
          if (c == '"')
            in_string = FALSE;
          else if (c == '\\' && i + 1 < n)
            {
              if (h[i + 1] == 'u' && i + 5 < n && memcmp (h + i + 2, "0000", 4) == 0)
                {
                  st_error (error, MSR_ERROR_PARSE, st,
                            "the header contains an escaped NUL character (\\u0000 at header "
                            "byte %" G_GSIZE_FORMAT "), which no name or value may hold", i);
                  return FALSE;
                }
              i++; /* skip the escaped character, so \\u0000 is not an escape */
            }
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '-' || g_ascii_isdigit (c))
        {
          /* json-glib wraps integers beyond 64 bits silently; refuse them
           * here so a wrapped value is never taken for a real one. */
          gsize end = i + 1;
          gboolean integer = TRUE;
          while (end < n && (g_ascii_isdigit (h[end]) || strchr ("+-.eE", h[end]) != NULL))
            {
              if (!g_ascii_isdigit (h[end]))
                integer = FALSE;
              end++;
            }
          if (integer && !integer_fits (h + i, end - i))
            {
              st_error (error, MSR_ERROR_PARSE, st,
                        "the header holds the integer %.*s%s (at header byte %" G_GSIZE_FORMAT
                        "), which does not fit in 64 bits",
                        (int) MIN (end - i, 40), h + i, end - i > 40 ? "…" : "", i);
              return FALSE;
            }
          i = end - 1;
        }
      else if (c == '{' || c == '[')
        {
          if (++depth > MAX_JSON_DEPTH)
            {
              st_error (error, MSR_ERROR_PARSE, st,
                        "the header nests objects or arrays more than %d deep "
                        "(at header byte %" G_GSIZE_FORMAT "): not a safetensors header",
                        MAX_JSON_DEPTH, i);
              return FALSE;
            }
        }
      else if ((c == '}' || c == ']') && depth > 0)
        depth--;
    }
  return TRUE;
}

/* json-glib keeps only the last of duplicate members, so duplicates are
 * caught as they are parsed: the signal fires after each member is stored,
 * and an object whose size did not grow with it just had a member replaced.
 * Only a counter per object is kept, so huge headers stay cheap. */
typedef struct {
  GHashTable *counts;    /* JsonObject (ref) → members announced so far */
  JsonObject *dup_in;    /* ref */
  char       *dup_name;
} DupTracker;

static void
on_object_member (JsonParser *parser,
                  JsonObject *object,
                  const char *name,
                  gpointer    user_data)
{
  DupTracker *dt = user_data;
  gpointer value = NULL;

  if (dt->dup_name != NULL)
    return;
  guint count = 1;
  if (g_hash_table_lookup_extended (dt->counts, object, NULL, &value))
    count = GPOINTER_TO_UINT (value) + 1;
  /* The table holds a reference so the address is never reused; for a key
   * already present, insert releases the reference passed here. */
  g_hash_table_insert (dt->counts, json_object_ref (object), GUINT_TO_POINTER (count));
  if (json_object_get_size (object) != count)
    {
      dt->dup_in = json_object_ref (object);
      dt->dup_name = g_strdup (name);
    }
}

/* 0 when node is a non-negative integer (stored in *out), else a reason. */
static const char *
get_count (JsonNode *node,
           guint64  *out)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return "is not an integer";
  gint64 v = json_node_get_int (node);
  if (v < 0)
    return "is negative";
  *out = (guint64) v;
  return NULL;
}

static gboolean
parse_metadata (MsrSafetensors  *st,
                JsonNode        *node,
                GError         **error)
{
  if (JSON_NODE_HOLDS_NULL (node))
    return TRUE; /* serde writes an absent map as null */
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      st_error (error, MSR_ERROR_PARSE, st,
                "'__metadata__' is %s, not an object of strings", describe_node (node));
      return FALSE;
    }
  JsonObject *obj = json_node_get_object (node);
  g_autoptr(GList) keys = json_object_get_members (obj);
  for (GList *l = keys; l != NULL; l = l->next)
    {
      const char *key = l->data;
      JsonNode *v = json_object_get_member (obj, key);
      g_autofree char *k = shown (key);
      if (!g_utf8_validate (key, -1, NULL))
        {
          st_error (error, MSR_ERROR_PARSE, st, "a metadata key is not valid UTF-8");
          return FALSE;
        }
      if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING)
        {
          st_error (error, MSR_ERROR_PARSE, st,
                    "metadata '%s' is %s, but metadata values must be strings",
                    k, describe_node (v));
          return FALSE;
        }
      const char *value = json_node_get_string (v);
      if (!g_utf8_validate (value, -1, NULL))
        {
          st_error (error, MSR_ERROR_PARSE, st, "metadata '%s' is not valid UTF-8", k);
          return FALSE;
        }
      g_hash_table_insert (st->metadata, g_strdup (key), g_strdup (value));
    }
  return TRUE;
}

static Tensor *
parse_entry (MsrSafetensors  *st,
             const char      *name,
             JsonNode        *node,
             GError         **error)
{
  g_autofree char *nm = shown (name);

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      st_error (error, MSR_ERROR_PARSE, st,
                "tensor '%s': the entry is %s, not an object with dtype, shape and data_offsets",
                nm, describe_node (node));
      return NULL;
    }
  JsonObject *obj = json_node_get_object (node);

  g_autoptr(GList) members = json_object_get_members (obj);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *m = l->data;
      if (strcmp (m, "dtype") != 0 && strcmp (m, "shape") != 0 && strcmp (m, "data_offsets") != 0)
        {
          g_autofree char *ms = shown (m);
          st_error (error, MSR_ERROR_PARSE, st,
                    "tensor '%s': unexpected member '%s' (an entry holds exactly dtype, "
                    "shape and data_offsets)", nm, ms);
          return NULL;
        }
    }
  static const char *const required[] = { "dtype", "shape", "data_offsets" };
  for (guint i = 0; i < G_N_ELEMENTS (required); i++)
    if (!json_object_has_member (obj, required[i]))
      {
        st_error (error, MSR_ERROR_PARSE, st, "tensor '%s': '%s' is missing", nm, required[i]);
        return NULL;
      }

  /* dtype */
  JsonNode *dn = json_object_get_member (obj, "dtype");
  if (!JSON_NODE_HOLDS_VALUE (dn) || json_node_get_value_type (dn) != G_TYPE_STRING)
    {
      st_error (error, MSR_ERROR_PARSE, st, "tensor '%s': 'dtype' is %s, not a string",
                nm, describe_node (dn));
      return NULL;
    }
  MsrDType dtype;
  if (!msr_safetensors_dtype_from_name (json_node_get_string (dn), &dtype))
    {
      g_autofree char *ds = shown (json_node_get_string (dn));
      st_error (error, MSR_ERROR_PARSE, st, "tensor '%s': unknown dtype '%s'", nm, ds);
      return NULL;
    }

  /* shape */
  JsonNode *sn = json_object_get_member (obj, "shape");
  if (!JSON_NODE_HOLDS_ARRAY (sn))
    {
      st_error (error, MSR_ERROR_PARSE, st, "tensor '%s': 'shape' is %s, not an array",
                nm, describe_node (sn));
      return NULL;
    }
  JsonArray *sa = json_node_get_array (sn);
  guint n_dims = json_array_get_length (sa);
  g_autofree gint64 *shape = n_dims ? g_new (gint64, n_dims) : NULL;
  guint64 n_elements = 1;
  gboolean overflow = FALSE;
  for (guint i = 0; i < n_dims; i++)
    {
      guint64 d;
      const char *why = get_count (json_array_get_element (sa, i), &d);
      if (why != NULL)
        {
          st_error (error, MSR_ERROR_PARSE, st, "tensor '%s': shape[%u] %s", nm, i, why);
          return NULL;
        }
      shape[i] = (gint64) d;
      /* A zero dimension makes the product 0 whatever follows, but an
       * overflow before it is still reported: such a shape is nonsense. */
      if (d != 0 && n_elements > G_MAXUINT64 / d)
        overflow = TRUE;
      n_elements *= d;
    }
  if (overflow)
    {
      g_autofree char *ss = shape_string (shape, n_dims);
      st_error (error, MSR_ERROR_PARSE, st,
                "tensor '%s': shape %s has more elements than 64 bits can count", nm, ss);
      return NULL;
    }
  guint bits = dtypes[dtype].bits;
  if (n_elements > G_MAXUINT64 / bits)
    {
      g_autofree char *ss = shape_string (shape, n_dims);
      st_error (error, MSR_ERROR_PARSE, st,
                "tensor '%s': %s shape %s is too large (its byte size overflows 64 bits)",
                nm, dtypes[dtype].name, ss);
      return NULL;
    }
  guint64 n_bits = n_elements * bits;
  if (n_bits % 8 != 0)
    {
      st_error (error, MSR_ERROR_PARSE, st,
                "tensor '%s': %" G_GUINT64_FORMAT " %s elements do not fill a whole number of bytes",
                nm, n_elements, dtypes[dtype].name);
      return NULL;
    }
  guint64 n_bytes = n_bits / 8;

  /* data_offsets */
  JsonNode *on = json_object_get_member (obj, "data_offsets");
  if (!JSON_NODE_HOLDS_ARRAY (on) || json_array_get_length (json_node_get_array (on)) != 2)
    {
      st_error (error, MSR_ERROR_PARSE, st,
                "tensor '%s': 'data_offsets' is not an array of two integers [begin, end]", nm);
      return NULL;
    }
  JsonArray *oa = json_node_get_array (on);
  guint64 off[2];
  for (guint i = 0; i < 2; i++)
    {
      const char *why = get_count (json_array_get_element (oa, i), &off[i]);
      if (why != NULL)
        {
          st_error (error, MSR_ERROR_PARSE, st, "tensor '%s': data_offsets[%u] %s", nm, i, why);
          return NULL;
        }
    }
  if (off[0] > off[1])
    {
      st_error (error, MSR_ERROR_PARSE, st,
                "tensor '%s': data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                "] end before they begin", nm, off[0], off[1]);
      return NULL;
    }
  if (off[1] > st->data_size)
    {
      st_error (error, MSR_ERROR_PARSE, st,
                "tensor '%s': data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                "] run past the end of the data section (%" G_GUINT64_FORMAT " bytes): "
                "the file is truncated or corrupt", nm, off[0], off[1], st->data_size);
      return NULL;
    }
  if (off[1] - off[0] != n_bytes)
    {
      g_autofree char *ss = shape_string (shape, n_dims);
      st_error (error, MSR_ERROR_PARSE, st,
                "tensor '%s': data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                "] hold %" G_GUINT64_FORMAT " bytes, but %s shape %s needs %" G_GUINT64_FORMAT,
                nm, off[0], off[1], off[1] - off[0], dtypes[dtype].name, ss, n_bytes);
      return NULL;
    }

  Tensor *t = g_new0 (Tensor, 1);
  t->name = g_strdup (name);
  t->shape = g_steal_pointer (&shape);
  t->info.name = t->name;
  t->info.dtype = dtype;
  t->info.n_dims = n_dims;
  t->info.shape = t->shape;
  t->info.n_elements = n_elements;
  t->info.begin = off[0];
  t->info.end = off[1];
  return t;
}

static int
compare_data_order (gconstpointer a,
                    gconstpointer b)
{
  const Tensor *x = *(const Tensor * const *) a;
  const Tensor *y = *(const Tensor * const *) b;

  if (x->info.begin != y->info.begin)
    return x->info.begin < y->info.begin ? -1 : 1;
  if (x->info.end != y->info.end)
    return x->info.end < y->info.end ? -1 : 1;
  return strcmp (x->name, y->name);
}

/* The tensors, sorted by offset, must tile the data section exactly. */
static gboolean
check_coverage (MsrSafetensors  *st,
                GError         **error)
{
  guint64 cursor = 0;
  const Tensor *last = NULL;   /* the tensor that ends at cursor */

  for (guint i = 0; i < st->tensors->len; i++)
    {
      const Tensor *t = g_ptr_array_index (st->tensors, i);
      if (t->info.begin < cursor)
        {
          g_autofree char *a = shown (t->name);
          g_autofree char *b = shown (last->name);
          st_error (error, MSR_ERROR_PARSE, st,
                    "tensor '%s': data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                    "] overlap tensor '%s' [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "]",
                    a, t->info.begin, t->info.end, b, last->info.begin, last->info.end);
          return FALSE;
        }
      if (t->info.begin > cursor)
        {
          g_autofree char *a = shown (t->name);
          g_autofree char *b = last ? shown (last->name) : NULL;
          st_error (error, MSR_ERROR_PARSE, st,
                    "bytes [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") of the data section "
                    "belong to no tensor (a hole %s%s%s'%s')",
                    cursor, t->info.begin,
                    b ? "between '" : "", b ? b : "", b ? "' and " : "before ", a);
          return FALSE;
        }
      if (t->info.end > cursor || last == NULL)
        last = t;
      cursor = t->info.end;
    }
  if (cursor != st->data_size)
    {
      st_error (error, MSR_ERROR_PARSE, st,
                "the data section has %" G_GUINT64_FORMAT " bytes after the last tensor "
                "(bytes [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") belong to no tensor)",
                st->data_size - cursor, cursor, st->data_size);
      return FALSE;
    }
  return TRUE;
}

static int
compare_strv_items (const void *a,
                    const void *b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static gboolean
parse_file (MsrSafetensors  *st,
            GError         **error)
{
  gsize size = 0;
  const guint8 *bytes = g_bytes_get_data (st->bytes, &size);

  if (size == 0)
    {
      st_error (error, MSR_ERROR_PARSE, st, "the file is empty: not a safetensors file");
      return FALSE;
    }
  if (size < 8)
    {
      st_error (error, MSR_ERROR_PARSE, st,
                "the file is only %" G_GSIZE_FORMAT " bytes long, too short for the 8-byte "
                "header length: not a safetensors file", size);
      return FALSE;
    }
  guint64 n = 0;
  for (int i = 7; i >= 0; i--)
    n = (n << 8) | bytes[i];
  if (n > MSR_SAFETENSORS_MAX_HEADER_SIZE)
    {
      st_error (error, MSR_ERROR_PARSE, st,
                "header length %" G_GUINT64_FORMAT " is over the limit of %" G_GUINT64_FORMAT
                " bytes: the file is corrupt or not a safetensors file",
                n, MSR_SAFETENSORS_MAX_HEADER_SIZE);
      return FALSE;
    }
  if (n > size - 8)
    {
      st_error (error, MSR_ERROR_PARSE, st,
                "header length %" G_GUINT64_FORMAT " is larger than the file (%" G_GSIZE_FORMAT
                " bytes): the file is truncated or not a safetensors file", n, size);
      return FALSE;
    }
  if (n == 0)
    {
      st_error (error, MSR_ERROR_PARSE, st,
                "header length is 0 (a header is at least \"{}\"): not a safetensors file");
      return FALSE;
    }
  st->data_offset = 8 + n;
  st->data = bytes + st->data_offset;
  st->data_size = size - st->data_offset;

  const char *header = (const char *) bytes + 8;
  if (!prescan_header (st, header, n, error))
    return FALSE;

  g_autoptr(JsonParser) parser = json_parser_new ();
  DupTracker dt = { g_hash_table_new_full (NULL, NULL, (GDestroyNotify) json_object_unref, NULL),
                    NULL, NULL };
  g_signal_connect (parser, "object-member", G_CALLBACK (on_object_member), &dt);
  g_autoptr(GError) local = NULL;
  gboolean parsed = json_parser_load_from_data (parser, header, (gssize) n, &local);
  g_signal_handlers_disconnect_by_func (parser, on_object_member, &dt);
  g_hash_table_unref (dt.counts);
  g_autoptr(JsonObject) dup_in = dt.dup_in;
  g_autofree char *dup_name = dt.dup_name;

  if (!parsed)
    {
      st_error (error, MSR_ERROR_PARSE, st, "the header is not valid JSON: %s", local->message);
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL)
    {
      st_error (error, MSR_ERROR_PARSE, st, "the header holds no JSON value");
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      st_error (error, MSR_ERROR_PARSE, st,
                "the header is %s, not a JSON object: not a safetensors file",
                describe_node (root));
      return FALSE;
    }
  JsonObject *obj = json_node_get_object (root);

  if (dup_name != NULL)
    {
      g_autofree char *dn = shown (dup_name);
      JsonNode *meta = json_object_get_member (obj, "__metadata__");
      if (dup_in == obj && strcmp (dup_name, "__metadata__") == 0)
        st_error (error, MSR_ERROR_PARSE, st, "'__metadata__' appears twice in the header");
      else if (dup_in == obj)
        st_error (error, MSR_ERROR_PARSE, st, "tensor '%s' appears twice in the header", dn);
      else if (meta != NULL && JSON_NODE_HOLDS_OBJECT (meta) && json_node_get_object (meta) == dup_in)
        st_error (error, MSR_ERROR_PARSE, st, "metadata key '%s' appears twice", dn);
      else
        {
          const char *owner = NULL;
          g_autoptr(GList) names = json_object_get_members (obj);
          for (GList *l = names; l != NULL && owner == NULL; l = l->next)
            {
              JsonNode *e = json_object_get_member (obj, l->data);
              if (JSON_NODE_HOLDS_OBJECT (e) && json_node_get_object (e) == dup_in)
                owner = l->data;
            }
          if (owner != NULL)
            {
              g_autofree char *on = shown (owner);
              st_error (error, MSR_ERROR_PARSE, st, "tensor '%s': '%s' appears twice", on, dn);
            }
          else
            st_error (error, MSR_ERROR_PARSE, st, "the header has a duplicate member '%s'", dn);
        }
      return FALSE;
    }

  g_autoptr(GList) names = json_object_get_members (obj);
  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonNode *node = json_object_get_member (obj, name);

      if (!g_utf8_validate (name, -1, NULL))
        {
          st_error (error, MSR_ERROR_PARSE, st, "a tensor name is not valid UTF-8");
          return FALSE;
        }
      if (strcmp (name, "__metadata__") == 0)
        {
          if (!parse_metadata (st, node, error))
            return FALSE;
          continue;
        }
      Tensor *t = parse_entry (st, name, node, error);
      if (t == NULL)
        return FALSE;
      g_ptr_array_add (st->tensors, t);
      g_hash_table_insert (st->by_name, t->name, t);
    }

  g_ptr_array_sort (st->tensors, compare_data_order);
  if (!check_coverage (st, error))
    return FALSE;

  st->metadata_keys = (char **) g_hash_table_get_keys_as_array (st->metadata, NULL);
  qsort (st->metadata_keys, g_hash_table_size (st->metadata), sizeof (char *), compare_strv_items);
  return TRUE;
}

MsrSafetensors *
msr_safetensors_new_from_bytes (GBytes      *bytes,
                                const char  *display_name,
                                GError     **error)
{
  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr(MsrSafetensors) st = g_new0 (MsrSafetensors, 1);
  st->display_name = g_strdup (display_name ? display_name : "(memory)");
  st->bytes = g_bytes_ref (bytes);
  st->tensors = g_ptr_array_new_with_free_func (tensor_free);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!parse_file (st, error))
    return NULL;
  return g_steal_pointer (&st);
}

MsrSafetensors *
msr_safetensors_open (const char  *path,
                      GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autofree char *shown_path = g_filename_display_name (path);
  g_autoptr(GError) local = NULL;
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot read the model file: it is a directory",
                   shown_path);
      return NULL;
    }
  /* Read-only mapping: the file is never modified. */
  g_autoptr(GMappedFile) mf = g_mapped_file_new (path, FALSE, &local);
  if (mf == NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot read the model file: %s",
                   shown_path, local->message);
      return NULL;
    }
  g_autoptr(GBytes) bytes = g_mapped_file_get_bytes (mf);
  return msr_safetensors_new_from_bytes (bytes, shown_path, error);
}

const char *
msr_safetensors_get_display_name (MsrSafetensors *st)
{
  g_return_val_if_fail (st != NULL, NULL);
  return st->display_name;
}

guint64
msr_safetensors_get_data_offset (MsrSafetensors *st)
{
  g_return_val_if_fail (st != NULL, 0);
  return st->data_offset;
}

guint
msr_safetensors_get_n_tensors (MsrSafetensors *st)
{
  g_return_val_if_fail (st != NULL, 0);
  return st->tensors->len;
}

const MsrTensorInfo *
msr_safetensors_get_tensor (MsrSafetensors *st,
                            guint           index)
{
  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (index < st->tensors->len, NULL);
  return &((Tensor *) g_ptr_array_index (st->tensors, index))->info;
}

const MsrTensorInfo *
msr_safetensors_lookup (MsrSafetensors *st,
                        const char     *name)
{
  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  Tensor *t = g_hash_table_lookup (st->by_name, name);
  return t ? &t->info : NULL;
}

const guint8 *
msr_safetensors_get_tensor_data (MsrSafetensors      *st,
                                 const MsrTensorInfo *info,
                                 gsize               *n_bytes)
{
  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (info != NULL, NULL);
  g_return_val_if_fail (info->end <= st->data_size, NULL);
  if (n_bytes != NULL)
    *n_bytes = (gsize) (info->end - info->begin);
  return st->data + info->begin;
}

const char *
msr_safetensors_get_metadata (MsrSafetensors *st,
                              const char     *key)
{
  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  return g_hash_table_lookup (st->metadata, key);
}

const char * const *
msr_safetensors_get_metadata_keys (MsrSafetensors *st)
{
  g_return_val_if_fail (st != NULL, NULL);
  return (const char * const *) st->metadata_keys;
}

/* Finds name and checks its dtype and element count. */
static const MsrTensorInfo *
typed_tensor (MsrSafetensors  *st,
              const char      *name,
              MsrDType         want,
              gsize            n_elements,
              GError         **error)
{
  g_autofree char *nm = shown (name);
  const MsrTensorInfo *info = msr_safetensors_lookup (st, name);

  if (info == NULL)
    {
      st_error (error, MSR_ERROR_SCHEMA, st, "there is no tensor '%s'", nm);
      return NULL;
    }
  if (info->dtype != want)
    {
      st_error (error, MSR_ERROR_MISMATCH, st, "tensor '%s': dtype %s where %s is expected",
                nm, dtypes[info->dtype].name, dtypes[want].name);
      return NULL;
    }
  if (info->n_elements != (guint64) n_elements)
    {
      g_autofree char *ss = shape_string (info->shape, info->n_dims);
      st_error (error, MSR_ERROR_MISMATCH, st,
                "tensor '%s': shape %s holds %" G_GUINT64_FORMAT " values where %"
                G_GSIZE_FORMAT " are expected", nm, ss, info->n_elements, n_elements);
      return NULL;
    }
  return info;
}

gboolean
msr_safetensors_read_f32 (MsrSafetensors  *st,
                          const char      *name,
                          float           *out,
                          gsize            n_elements,
                          GError         **error)
{
  g_return_val_if_fail (st != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (out != NULL || n_elements == 0, FALSE);

  const MsrTensorInfo *info = typed_tensor (st, name, MSR_DTYPE_F32, n_elements, error);
  if (info == NULL)
    return FALSE;
  if (n_elements == 0)
    return TRUE;
  /* memcpy: the data need not be aligned in foreign files. */
  memcpy (out, st->data + info->begin, n_elements * sizeof (float));
#if G_BYTE_ORDER == G_BIG_ENDIAN
  for (gsize i = 0; i < n_elements; i++)
    {
      guint32 u;
      memcpy (&u, out + i, 4);
      u = GUINT32_FROM_LE (u);
      memcpy (out + i, &u, 4);
    }
#endif
  return TRUE;
}

gboolean
msr_safetensors_read_i64 (MsrSafetensors  *st,
                          const char      *name,
                          gint64          *out,
                          gsize            n_elements,
                          GError         **error)
{
  g_return_val_if_fail (st != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (out != NULL || n_elements == 0, FALSE);

  const MsrTensorInfo *info = typed_tensor (st, name, MSR_DTYPE_I64, n_elements, error);
  if (info == NULL)
    return FALSE;
  if (n_elements == 0)
    return TRUE;
  memcpy (out, st->data + info->begin, n_elements * sizeof (gint64));
#if G_BYTE_ORDER == G_BIG_ENDIAN
  for (gsize i = 0; i < n_elements; i++)
    out[i] = GINT64_FROM_LE (out[i]);
#endif
  return TRUE;
}

/* ------------------------------------------------------- check_tensors */

typedef struct {
  GString *text;
  guint    n;
} Problems;

G_GNUC_PRINTF (2, 3)
static void
add_problem (Problems   *p,
             const char *format,
             ...)
{
  if (p->n++ >= MAX_LISTED_PROBLEMS)
    return;
  if (p->text->len > 0)
    g_string_append (p->text, "; ");
  va_list args;
  va_start (args, format);
  g_string_append_vprintf (p->text, format, args);
  va_end (args);
}

static gboolean
same_shape (const MsrTensorInfo *info,
            const MsrTensorSpec *spec)
{
  if (info->n_dims != spec->n_dims)
    return FALSE;
  for (guint d = 0; d < spec->n_dims; d++)
    if (info->shape[d] != spec->shape[d])
      return FALSE;
  return TRUE;
}

gboolean
msr_safetensors_check_tensors (MsrSafetensors      *st,
                               const MsrTensorSpec *specs,
                               gsize                n_specs,
                               GError             **error)
{
  g_return_val_if_fail (st != NULL, FALSE);
  g_return_val_if_fail (specs != NULL || n_specs == 0, FALSE);

  Problems p = { g_string_new (NULL), 0 };
  g_autoptr(GHashTable) expected = g_hash_table_new (g_str_hash, g_str_equal);

  for (gsize i = 0; i < n_specs; i++)
    {
      const MsrTensorSpec *spec = &specs[i];
      g_return_val_if_fail (spec->name != NULL && spec->n_dims <= 4, FALSE);
      g_return_val_if_fail ((guint) spec->dtype < MSR_DTYPE_N_TYPES, FALSE);
      g_hash_table_add (expected, (gpointer) spec->name);

      g_autofree char *nm = shown (spec->name);
      g_autofree char *want = shape_string (spec->shape, spec->n_dims);
      const MsrTensorInfo *info = msr_safetensors_lookup (st, spec->name);
      if (info == NULL)
        {
          add_problem (&p, "missing '%s' (%s %s)", nm, dtypes[spec->dtype].name, want);
          continue;
        }
      if (info->dtype != spec->dtype)
        add_problem (&p, "'%s': dtype %s where %s is expected",
                     nm, dtypes[info->dtype].name, dtypes[spec->dtype].name);
      if (!same_shape (info, spec))
        {
          g_autofree char *have = shape_string (info->shape, info->n_dims);
          add_problem (&p, "'%s': shape %s where %s is expected", nm, have, want);
        }
    }
  for (guint i = 0; i < st->tensors->len; i++)
    {
      const Tensor *t = g_ptr_array_index (st->tensors, i);
      if (g_hash_table_contains (expected, t->name))
        continue;
      g_autofree char *nm = shown (t->name);
      g_autofree char *have = shape_string (t->shape, t->info.n_dims);
      add_problem (&p, "unexpected '%s' (%s %s)", nm, dtypes[t->info.dtype].name, have);
    }

  if (p.n == 0)
    {
      g_string_free (p.text, TRUE);
      return TRUE;
    }
  if (p.n > MAX_LISTED_PROBLEMS)
    g_string_append_printf (p.text, "; and %u more", p.n - MAX_LISTED_PROBLEMS);
  st_error (error, MSR_ERROR_MISMATCH, st,
            "the tensors do not match what the model expects (%u problem%s): %s",
            p.n, p.n == 1 ? "" : "s", p.text->str);
  g_string_free (p.text, TRUE);
  return FALSE;
}

/* ----------------------------------------------------------------- writer */

typedef struct {
  char     *name;
  MsrDType  dtype;
  guint     n_dims;
  gint64   *shape;
  guint8   *data;     /* little-endian */
  gsize     n_bytes;
} WEntry;

typedef struct {
  char *key;
  char *value;
} WMeta;

struct _MsrSafetensorsWriter {
  GPtrArray *entries;   /* WEntry */
  GPtrArray *metadata;  /* WMeta */
  char      *problem;   /* the first misuse, reported by to_bytes */
};

static void
wentry_free (gpointer p)
{
  WEntry *e = p;
  g_free (e->name);
  g_free (e->shape);
  g_free (e->data);
  g_free (e);
}

static void
wmeta_free (gpointer p)
{
  WMeta *m = p;
  g_free (m->key);
  g_free (m->value);
  g_free (m);
}

MsrSafetensorsWriter *
msr_safetensors_writer_new (void)
{
  MsrSafetensorsWriter *w = g_new0 (MsrSafetensorsWriter, 1);
  w->entries = g_ptr_array_new_with_free_func (wentry_free);
  w->metadata = g_ptr_array_new_with_free_func (wmeta_free);
  return w;
}

void
msr_safetensors_writer_free (MsrSafetensorsWriter *w)
{
  if (w == NULL)
    return;
  g_ptr_array_unref (w->entries);
  g_ptr_array_unref (w->metadata);
  g_free (w->problem);
  g_free (w);
}

G_GNUC_PRINTF (2, 3)
static void
writer_problem (MsrSafetensorsWriter *w,
                const char           *format,
                ...)
{
  if (w->problem != NULL)
    return;
  va_list args;
  va_start (args, format);
  w->problem = g_strdup_vprintf (format, args);
  va_end (args);
}

void
msr_safetensors_writer_add_metadata (MsrSafetensorsWriter *w,
                                     const char           *key,
                                     const char           *value)
{
  g_return_if_fail (w != NULL);
  g_return_if_fail (key != NULL && value != NULL);

  if (!g_utf8_validate (key, -1, NULL) || !g_utf8_validate (value, -1, NULL))
    {
      writer_problem (w, "metadata key or value is not valid UTF-8");
      return;
    }
  WMeta *m = g_new0 (WMeta, 1);
  m->key = g_strdup (key);
  m->value = g_strdup (value);
  g_ptr_array_add (w->metadata, m);
}

static void
writer_add (MsrSafetensorsWriter *w,
            const char           *name,
            MsrDType              dtype,
            const gint64         *shape,
            guint                 n_dims,
            const void           *data)
{
  g_autofree char *nm = shown (name);
  if (!g_utf8_validate (name, -1, NULL))
    {
      writer_problem (w, "a tensor name is not valid UTF-8");
      return;
    }
  guint64 n = 1;
  for (guint i = 0; i < n_dims; i++)
    {
      if (shape[i] < 0)
        {
          writer_problem (w, "tensor '%s': shape[%u] is negative", nm, i);
          return;
        }
      if (shape[i] != 0 && n > G_MAXUINT64 / (guint64) shape[i])
        {
          writer_problem (w, "tensor '%s': the shape has too many elements", nm);
          return;
        }
      n *= (guint64) shape[i];
    }
  gsize size = msr_safetensors_dtype_size (dtype);
  if (n > G_MAXSIZE / size)
    {
      writer_problem (w, "tensor '%s': the shape has too many elements", nm);
      return;
    }
  g_return_if_fail (data != NULL || n == 0);

  WEntry *e = g_new0 (WEntry, 1);
  e->name = g_strdup (name);
  e->dtype = dtype;
  e->n_dims = n_dims;
  e->shape = n_dims ? g_memdup2 (shape, n_dims * sizeof (gint64)) : NULL;
  e->n_bytes = (gsize) n * size;
  e->data = e->n_bytes ? g_memdup2 (data, e->n_bytes) : NULL;
#if G_BYTE_ORDER == G_BIG_ENDIAN
  for (gsize i = 0; i < e->n_bytes; i += size)
    for (gsize a = 0, b = size - 1; a < b; a++, b--)
      {
        guint8 tmp = e->data[i + a];
        e->data[i + a] = e->data[i + b];
        e->data[i + b] = tmp;
      }
#endif
  g_ptr_array_add (w->entries, e);
}

void
msr_safetensors_writer_add_f32 (MsrSafetensorsWriter *w,
                                const char           *name,
                                const gint64         *shape,
                                guint                 n_dims,
                                const float          *data)
{
  g_return_if_fail (w != NULL && name != NULL);
  g_return_if_fail (shape != NULL || n_dims == 0);
  writer_add (w, name, MSR_DTYPE_F32, shape, n_dims, data);
}

void
msr_safetensors_writer_add_i64 (MsrSafetensorsWriter *w,
                                const char           *name,
                                const gint64         *shape,
                                guint                 n_dims,
                                const gint64         *data)
{
  g_return_if_fail (w != NULL && name != NULL);
  g_return_if_fail (shape != NULL || n_dims == 0);
  writer_add (w, name, MSR_DTYPE_I64, shape, n_dims, data);
}

/* A JSON string the way serde_json (the reference writer) escapes it, so
 * equal inputs give equal bytes across implementations. */
static void
append_json_string (GString    *s,
                    const char *text)
{
  static const char hex[] = "0123456789abcdef";

  g_string_append_c (s, '"');
  for (const guchar *p = (const guchar *) text; *p; p++)
    {
      switch (*p)
        {
        case '"':  g_string_append (s, "\\\""); break;
        case '\\': g_string_append (s, "\\\\"); break;
        case '\b': g_string_append (s, "\\b"); break;
        case '\f': g_string_append (s, "\\f"); break;
        case '\n': g_string_append (s, "\\n"); break;
        case '\r': g_string_append (s, "\\r"); break;
        case '\t': g_string_append (s, "\\t"); break;
        default:
          if (*p < 0x20)
            {
              g_string_append (s, "\\u00");
              g_string_append_c (s, hex[*p >> 4]);
              g_string_append_c (s, hex[*p & 0xf]);
            }
          else
            g_string_append_c (s, (char) *p);
        }
    }
  g_string_append_c (s, '"');
}

/* Descending element size, then name: every tensor then starts at a
 * multiple of its element size (the data section starts 8-aligned), which
 * PyTorch needs to view the bytes without copying. For the F32 and I64
 * tensors written here this is the order save_file uses too. */
static int
compare_write_order (gconstpointer a,
                     gconstpointer b)
{
  const WEntry *x = *(const WEntry * const *) a;
  const WEntry *y = *(const WEntry * const *) b;
  guint bx = dtypes[x->dtype].bits, by = dtypes[y->dtype].bits;

  if (bx != by)
    return bx > by ? -1 : 1;
  return strcmp (x->name, y->name);
}

static int
compare_meta (gconstpointer a,
              gconstpointer b)
{
  const WMeta *x = *(const WMeta * const *) a;
  const WMeta *y = *(const WMeta * const *) b;
  return strcmp (x->key, y->key);
}

GBytes *
msr_safetensors_writer_to_bytes (MsrSafetensorsWriter  *w,
                                 GError               **error)
{
  g_return_val_if_fail (w != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (w->problem != NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "cannot write the model: %s", w->problem);
      return NULL;
    }

  /* Borrowed views to sort (g_ptr_array_copy would keep the free func). */
  g_autoptr(GPtrArray) entries = g_ptr_array_sized_new (w->entries->len);
  g_autoptr(GPtrArray) meta = g_ptr_array_sized_new (w->metadata->len);
  g_ptr_array_extend (entries, w->entries, NULL, NULL);
  g_ptr_array_extend (meta, w->metadata, NULL, NULL);
  g_ptr_array_sort (entries, compare_write_order);
  g_ptr_array_sort (meta, compare_meta);

  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < entries->len; i++)
    {
      const WEntry *e = g_ptr_array_index (entries, i);
      g_autofree char *nm = shown (e->name);
      if (strcmp (e->name, "__metadata__") == 0)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                       "cannot write the model: '__metadata__' is reserved and cannot name a tensor");
          return NULL;
        }
      if (!g_hash_table_add (names, e->name))
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                       "cannot write the model: tensor '%s' was added twice", nm);
          return NULL;
        }
    }
  for (guint i = 1; i < meta->len; i++)
    {
      const WMeta *a = g_ptr_array_index (meta, i - 1), *b = g_ptr_array_index (meta, i);
      if (strcmp (a->key, b->key) == 0)
        {
          g_autofree char *k = shown (a->key);
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                       "cannot write the model: metadata key '%s' was added twice", k);
          return NULL;
        }
    }

  GString *h = g_string_new ("{");
  if (meta->len > 0)
    {
      g_string_append (h, "\"__metadata__\":{");
      for (guint i = 0; i < meta->len; i++)
        {
          const WMeta *m = g_ptr_array_index (meta, i);
          if (i > 0)
            g_string_append_c (h, ',');
          append_json_string (h, m->key);
          g_string_append_c (h, ':');
          append_json_string (h, m->value);
        }
      g_string_append_c (h, '}');
    }
  guint64 offset = 0;
  for (guint i = 0; i < entries->len; i++)
    {
      const WEntry *e = g_ptr_array_index (entries, i);
      if (i > 0 || meta->len > 0)
        g_string_append_c (h, ',');
      append_json_string (h, e->name);
      g_string_append_printf (h, ":{\"dtype\":\"%s\",\"shape\":[", dtypes[e->dtype].name);
      for (guint d = 0; d < e->n_dims; d++)
        g_string_append_printf (h, "%s%" G_GINT64_FORMAT, d ? "," : "", e->shape[d]);
      g_string_append_printf (h, "],\"data_offsets\":[%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "]}",
                              offset, offset + e->n_bytes);
      offset += e->n_bytes;
    }
  g_string_append_c (h, '}');
  /* Spaces (JSON whitespace) so the data section starts 8-aligned. */
  while (h->len % 8 != 0)
    g_string_append_c (h, ' ');

  if (h->len > MSR_SAFETENSORS_MAX_HEADER_SIZE)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "cannot write the model: the header would take %" G_GSIZE_FORMAT
                   " bytes, over the format's limit of %" G_GUINT64_FORMAT,
                   h->len, MSR_SAFETENSORS_MAX_HEADER_SIZE);
      g_string_free (h, TRUE);
      return NULL;
    }
  if (offset > G_MAXSIZE - 8 - h->len)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "cannot write the model: the tensors are too large for memory");
      g_string_free (h, TRUE);
      return NULL;
    }

  gsize total = 8 + h->len + (gsize) offset;
  guint8 *buf = g_malloc (total);
  guint64 n = h->len;
  for (int i = 0; i < 8; i++)
    buf[i] = (guint8) (n >> (8 * i));
  memcpy (buf + 8, h->str, h->len);
  gsize pos = 8 + h->len;
  for (guint i = 0; i < entries->len; i++)
    {
      const WEntry *e = g_ptr_array_index (entries, i);
      if (e->n_bytes > 0)
        memcpy (buf + pos, e->data, e->n_bytes);
      pos += e->n_bytes;
    }
  g_string_free (h, TRUE);
  return g_bytes_new_take (buf, total);
}

gboolean
msr_safetensors_writer_save (MsrSafetensorsWriter  *w,
                             const char            *path,
                             GError               **error)
{
  g_return_val_if_fail (w != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autofree char *shown_path = g_filename_display_name (path);
  g_autoptr(GError) local = NULL;
  g_autoptr(GBytes) bytes = msr_safetensors_writer_to_bytes (w, &local);
  if (bytes == NULL)
    {
      g_set_error (error, MSR_ERROR, local->code, "%s: %s", shown_path, local->message);
      return FALSE;
    }
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  /* Temporary file beside path, fsync, rename: an existing file is replaced
   * only once the new one is complete, and the temporary file is removed on
   * failure. */
  if (!msr_file_replace_contents (path, data, len, 0666, &local))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot save the model file: %s",
                   shown_path, local->message);
      return FALSE;
    }
  return TRUE;
}

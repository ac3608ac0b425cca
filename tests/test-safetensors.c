/* test-safetensors.c: model files. Round trips, the written layout checked
 * byte by byte against hand-written expectations (and against the byte
 * vectors the reference implementation documents), foreign files, every
 * kind of corruption, random damage, tensor checks and atomic saving. */
#include "config.h"
#include "test-util.h"
#include "msr-safetensors.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#define DISPLAY "model.safetensors"

/* ---------------------------------------------------------------- helpers */

static void
put_u64_le (GByteArray *a,
            guint64     v)
{
  for (int i = 0; i < 8; i++)
    {
      guint8 b = (guint8) (v >> (8 * i));
      g_byte_array_append (a, &b, 1);
    }
}

static guint64
get_u64_le (const guint8 *p)
{
  guint64 v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

static void
put_f32_le (GByteArray *a,
            float       f)
{
  guint32 u;
  memcpy (&u, &f, 4);
  for (int i = 0; i < 4; i++)
    {
      guint8 b = (guint8) (u >> (8 * i));
      g_byte_array_append (a, &b, 1);
    }
}

static void
put_f64_le (GByteArray *a,
            double      d)
{
  guint64 u;
  memcpy (&u, &d, 8);
  put_u64_le (a, u);
}

static void
put_u16_le (GByteArray *a,
            guint16     v)
{
  guint8 b[2] = { (guint8) v, (guint8) (v >> 8) };
  g_byte_array_append (a, b, 2);
}

/* A file: the header length, the header text exactly as given, the data. */
static GBytes *
make_file (const char *header,
           gsize       header_len,
           const void *data,
           gsize       data_len)
{
  GByteArray *a = g_byte_array_new ();
  put_u64_le (a, header_len);
  g_byte_array_append (a, (const guint8 *) header, (guint) header_len);
  if (data_len > 0)
    g_byte_array_append (a, data, (guint) data_len);
  return g_byte_array_free_to_bytes (a);
}

static GBytes *
make_file_str (const char *header,
               gsize       data_len)
{
  g_autofree guint8 *zeros = g_malloc0 (data_len + 1);
  return make_file (header, strlen (header), zeros, data_len);
}

static float
f32_from_bits (guint32 u)
{
  float f;
  memcpy (&f, &u, 4);
  return f;
}

static gboolean
bytes_equal_file (GBytes     *expected,
                  const char *path)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_autoptr(GBytes) got = g_bytes_new (contents, len);
  return g_bytes_equal (expected, got);
}

/* Sorted names in a folder, joined by '|'. */
static char *
list_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  GString *s = g_string_new (NULL);
  /* Simple insertion sort: few entries. */
  for (guint i = 1; i < names->len; i++)
    for (guint j = i; j > 0 && strcmp (names->pdata[j - 1], names->pdata[j]) > 0; j--)
      {
        gpointer t = names->pdata[j];
        names->pdata[j] = names->pdata[j - 1];
        names->pdata[j - 1] = t;
      }
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (s, "%s%s", i ? "|" : "", (char *) names->pdata[i]);
  return g_string_free (s, FALSE);
}

static char *
make_tmpdir (void)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp ("msr-st-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

/* ------------------------------------------------------- the test model */

/* Bit patterns that must survive unchanged: NaN payloads, -0, infinities,
 * denormals, extremes. */
static const guint32 weight_bits[12] = {
  0x3f800000, 0xbf800000, 0x80000000, 0x00000000,
  0x7fc00123, 0xffc00001, 0x7f800000, 0xff800000,
  0x00000001, 0x807fffff, 0x7f7fffff, 0x3eaaaaab,
};
static const float bias[5] = { 0.5f, -1.25f, 3.0e-20f, 1.0e20f, 7.0f };
static const float scalar = 3.25f;
static const gint64 bn_count = G_GINT64_CONSTANT (1234567890123);
static const gint64 counts[3] = { -1, G_MININT64, G_MAXINT64 };

static const char *const config_value = "{\"arch\":\"mmoe\",\"name\":\"naïve — 日本 ✓\"}";
static const char *const tab_value = "line1\nline2\001\\end";

static void
conv_values (float *out)
{
  for (int i = 0; i < 12; i++)
    out[i] = (float) (i - 6) / 8.0f;
}

static void
add_test_model (MsrSafetensorsWriter *w)
{
  float weight[12], conv[12];
  for (int i = 0; i < 12; i++)
    weight[i] = f32_from_bits (weight_bits[i]);
  conv_values (conv);

  /* Added in no particular order: the writer sorts. */
  msr_safetensors_writer_add_f32 (w, "towers.0.weight", (gint64[]) { 3, 4 }, 2, weight);
  msr_safetensors_writer_add_metadata (w, "é", "ü");
  msr_safetensors_writer_add_f32 (w, "scalar", NULL, 0, &scalar);
  msr_safetensors_writer_add_i64 (w, "counts", (gint64[]) { 3 }, 1, counts);
  msr_safetensors_writer_add_f32 (w, "empty", (gint64[]) { 0, 3 }, 2, NULL);
  msr_safetensors_writer_add_metadata (w, MSR_SAFETENSORS_CONFIG_KEY, config_value);
  msr_safetensors_writer_add_f32 (w, "bias", (gint64[]) { 5 }, 1, bias);
  msr_safetensors_writer_add_i64 (w, "bn.num_batches_tracked", NULL, 0, &bn_count);
  msr_safetensors_writer_add_metadata (w, "a\tkey", tab_value);
  msr_safetensors_writer_add_f32 (w, "conv.weight", (gint64[]) { 2, 1, 3, 2 }, 4, conv);
}

static GBytes *
test_model_bytes (void)
{
  g_autoptr(MsrSafetensorsWriter) w = msr_safetensors_writer_new ();
  GError *error = NULL;
  add_test_model (w);
  GBytes *b = msr_safetensors_writer_to_bytes (w, &error);
  g_assert_no_error (error);
  return b;
}

/* What the writer must produce for the test model, written out by hand:
 * metadata first with sorted keys, serde_json escapes, I64 tensors (8-byte
 * elements) before F32 ones, each group by name, no whitespace. */
static const char expected_header[] =
  "{\"__metadata__\":{"
  "\"a\\tkey\":\"line1\\nline2\\u0001\\\\end\","
  "\"msrlens.config\":\"{\\\"arch\\\":\\\"mmoe\\\",\\\"name\\\":\\\"naïve — 日本 ✓\\\"}\","
  "\"é\":\"ü\"},"
  "\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
  "\"counts\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[8,32]},"
  "\"bias\":{\"dtype\":\"F32\",\"shape\":[5],\"data_offsets\":[32,52]},"
  "\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,1,3,2],\"data_offsets\":[52,100]},"
  "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[100,100]},"
  "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[100,104]},"
  "\"towers.0.weight\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[104,152]}}";

/* ----------------------------------------------------------------- tests */

static void
test_dtypes (void)
{
  static const struct { const char *name; guint bits; gsize size; } known[] = {
    { "F32", 32, 4 }, { "F64", 64, 8 }, { "I64", 64, 8 }, { "I32", 32, 4 },
    { "F16", 16, 2 }, { "BF16", 16, 2 }, { "U8", 8, 1 }, { "I8", 8, 1 },
    { "BOOL", 8, 1 }, { "I16", 16, 2 }, { "U16", 16, 2 }, { "U32", 32, 4 },
    { "U64", 64, 8 }, { "C64", 64, 8 }, { "F8_E4M3", 8, 1 }, { "F8_E5M2", 8, 1 },
    { "F8_E8M0", 8, 1 }, { "F8_E4M3FNUZ", 8, 1 }, { "F8_E5M2FNUZ", 8, 1 },
    { "F6_E2M3", 6, 0 }, { "F6_E3M2", 6, 0 }, { "F4", 4, 0 },
  };
  g_assert_cmpuint (G_N_ELEMENTS (known), ==, MSR_DTYPE_N_TYPES);
  for (guint i = 0; i < G_N_ELEMENTS (known); i++)
    {
      MsrDType d;
      g_assert_true (msr_safetensors_dtype_from_name (known[i].name, &d));
      g_assert_cmpstr (msr_safetensors_dtype_name (d), ==, known[i].name);
      g_assert_cmpuint (msr_safetensors_dtype_bits (d), ==, known[i].bits);
      g_assert_cmpuint (msr_safetensors_dtype_size (d), ==, known[i].size);
    }
  g_assert_cmpint (MSR_DTYPE_F32, ==, 0);
  MsrDType d;
  g_assert_true (msr_safetensors_dtype_from_name ("I64", &d));
  g_assert_cmpint (d, ==, MSR_DTYPE_I64);
  g_assert_false (msr_safetensors_dtype_from_name ("f32", &d));
  g_assert_false (msr_safetensors_dtype_from_name ("F17", &d));
  g_assert_false (msr_safetensors_dtype_from_name ("", &d));
}

static void
test_round_trip (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *p1 = g_build_filename (dir, "a.safetensors", NULL);
  g_autofree char *p2 = g_build_filename (dir, "b.safetensors", NULL);
  GError *error = NULL;

  for (int k = 0; k < 2; k++)
    {
      g_autoptr(MsrSafetensorsWriter) w = msr_safetensors_writer_new ();
      add_test_model (w);
      g_assert_true (msr_safetensors_writer_save (w, k ? p2 : p1, &error));
      g_assert_no_error (error);
    }
  /* Deterministic: two saves give the same bytes. */
  g_autofree char *c1 = NULL, *c2 = NULL;
  gsize l1, l2;
  g_assert_true (g_file_get_contents (p1, &c1, &l1, NULL));
  g_assert_true (g_file_get_contents (p2, &c2, &l2, NULL));
  g_assert_cmpmem (c1, l1, c2, l2);

  g_autoptr(MsrSafetensors) st = msr_safetensors_open (p1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (st);
  g_assert_cmpuint (msr_safetensors_get_data_offset (st) % 8, ==, 0);
  g_assert_cmpuint (msr_safetensors_get_n_tensors (st), ==, 7);

  /* Data order: the index follows offsets. */
  static const char *const order[] = {
    "bn.num_batches_tracked", "counts", "bias", "conv.weight", "empty", "scalar", "towers.0.weight",
  };
  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    g_assert_cmpstr (msr_safetensors_get_tensor (st, i)->name, ==, order[i]);

  const MsrTensorInfo *ti = msr_safetensors_lookup (st, "towers.0.weight");
  g_assert_nonnull (ti);
  g_assert_cmpint (ti->dtype, ==, MSR_DTYPE_F32);
  g_assert_cmpuint (ti->n_dims, ==, 2);
  g_assert_cmpint (ti->shape[0], ==, 3);
  g_assert_cmpint (ti->shape[1], ==, 4);
  g_assert_cmpuint (ti->n_elements, ==, 12);
  float w[12];
  g_assert_true (msr_safetensors_read_f32 (st, "towers.0.weight", w, 12, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (w, sizeof w, weight_bits, sizeof weight_bits);

  float b[5];
  g_assert_true (msr_safetensors_read_f32 (st, "bias", b, 5, &error));
  g_assert_cmpmem (b, sizeof b, bias, sizeof bias);

  const MsrTensorInfo *si = msr_safetensors_lookup (st, "scalar");
  g_assert_cmpuint (si->n_dims, ==, 0);
  g_assert_cmpuint (si->n_elements, ==, 1);
  float s = 0;
  g_assert_true (msr_safetensors_read_f32 (st, "scalar", &s, 1, &error));
  g_assert_cmpfloat (s, ==, 3.25f);

  const MsrTensorInfo *ci = msr_safetensors_lookup (st, "conv.weight");
  g_assert_cmpuint (ci->n_dims, ==, 4);
  gint64 want_shape[4] = { 2, 1, 3, 2 };
  g_assert_cmpmem (ci->shape, 4 * sizeof (gint64), want_shape, sizeof want_shape);
  float conv[12], conv_want[12];
  conv_values (conv_want);
  g_assert_true (msr_safetensors_read_f32 (st, "conv.weight", conv, 12, &error));
  g_assert_cmpmem (conv, sizeof conv, conv_want, sizeof conv_want);

  const MsrTensorInfo *ei = msr_safetensors_lookup (st, "empty");
  g_assert_cmpuint (ei->n_dims, ==, 2);
  g_assert_cmpint (ei->shape[0], ==, 0);
  g_assert_cmpint (ei->shape[1], ==, 3);
  g_assert_cmpuint (ei->n_elements, ==, 0);
  g_assert_cmpuint (ei->begin, ==, ei->end);
  g_assert_true (msr_safetensors_read_f32 (st, "empty", NULL, 0, &error));
  g_assert_no_error (error);

  const MsrTensorInfo *bi = msr_safetensors_lookup (st, "bn.num_batches_tracked");
  g_assert_cmpint (bi->dtype, ==, MSR_DTYPE_I64);
  g_assert_cmpuint (bi->n_dims, ==, 0);
  gint64 n = 0;
  g_assert_true (msr_safetensors_read_i64 (st, "bn.num_batches_tracked", &n, 1, &error));
  g_assert_cmpint (n, ==, bn_count);
  gint64 c[3];
  g_assert_true (msr_safetensors_read_i64 (st, "counts", c, 3, &error));
  g_assert_cmpmem (c, sizeof c, counts, sizeof counts);

  g_assert_cmpstr (msr_safetensors_get_metadata (st, MSR_SAFETENSORS_CONFIG_KEY), ==, config_value);
  g_assert_cmpstr (msr_safetensors_get_metadata (st, "é"), ==, "ü");
  g_assert_cmpstr (msr_safetensors_get_metadata (st, "a\tkey"), ==, tab_value);
  g_assert_null (msr_safetensors_get_metadata (st, "absent"));
  const char * const *keys = msr_safetensors_get_metadata_keys (st);
  g_assert_cmpuint (g_strv_length ((char **) keys), ==, 3);
  g_assert_cmpstr (keys[0], ==, "a\tkey");
  g_assert_cmpstr (keys[1], ==, MSR_SAFETENSORS_CONFIG_KEY);
  g_assert_cmpstr (keys[2], ==, "é");

  /* Typed readers refuse the wrong dtype, count or name. */
  g_assert_false (msr_safetensors_read_f32 (st, "bias", b, 4, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "'bias'"));
  g_assert_nonnull (strstr (error->message, "holds 5 values where 4 are expected"));
  g_clear_error (&error);
  g_assert_false (msr_safetensors_read_i64 (st, "bias", c, 5, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "tensor 'bias': dtype F32 where I64 is expected"));
  g_clear_error (&error);
  g_assert_false (msr_safetensors_read_f32 (st, "nope", b, 5, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_SCHEMA);
  g_assert_nonnull (strstr (error->message, "no tensor 'nope'"));
  g_clear_error (&error);

  /* Reading never changed the file. */
  g_autofree char *c3 = NULL;
  gsize l3;
  g_assert_true (g_file_get_contents (p1, &c3, &l3, NULL));
  g_assert_cmpmem (c1, l1, c3, l3);

  msr_test_rm_rf (dir);
}

/* The written layout, parsed by hand here rather than by the reader. */
static void
test_layout (void)
{
  g_autoptr(GBytes) bytes = test_model_bytes ();
  gsize size;
  const guint8 *p = g_bytes_get_data (bytes, &size);

  g_assert_cmpuint (size, >=, 8);
  guint64 n = get_u64_le (p);
  g_assert_cmpuint ((8 + n) % 8, ==, 0);
  g_assert_cmpuint (8 + n, <=, size);

  /* The header is exactly the hand-written JSON, then fewer than 8 spaces. */
  gsize jlen = strlen (expected_header);
  g_assert_cmpuint (n, >=, jlen);
  g_assert_cmpuint (n - jlen, <, 8);
  g_assert_cmpmem (p + 8, jlen, expected_header, jlen);
  for (gsize i = jlen; i < n; i++)
    g_assert_cmpint (p[8 + i], ==, ' ');

  /* The data section is exactly 152 bytes, laid out as the offsets say. */
  const guint8 *data = p + 8 + n;
  g_assert_cmpuint (size - 8 - n, ==, 152);
  g_autoptr(GByteArray) want = g_byte_array_new ();
  put_u64_le (want, (guint64) bn_count);
  for (int i = 0; i < 3; i++)
    put_u64_le (want, (guint64) counts[i]);
  for (int i = 0; i < 5; i++)
    put_f32_le (want, bias[i]);
  float conv[12];
  conv_values (conv);
  for (int i = 0; i < 12; i++)
    put_f32_le (want, conv[i]);
  put_f32_le (want, scalar);
  for (int i = 0; i < 12; i++)
    put_f32_le (want, f32_from_bits (weight_bits[i]));
  g_assert_cmpmem (data, 152, want->data, want->len);

  /* And the JSON itself parses to the same offsets (json-glib here only
   * checks that the header is well-formed JSON). */
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, (const char *) p + 8, (gssize) n, NULL));
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonObject *tw = json_object_get_object_member (root, "towers.0.weight");
  JsonArray *off = json_object_get_array_member (tw, "data_offsets");
  g_assert_cmpint (json_array_get_int_element (off, 0), ==, 104);
  g_assert_cmpint (json_array_get_int_element (off, 1), ==, 152);
}

/* Byte vectors from the reference implementation's own tests: a writer
 * producing them writes what safetensors does. */
static void
test_reference_vectors (void)
{
  GError *error = NULL;
  const float v[6] = { 0, 1, 2, 3, 4, 5 };

  /* "attn.0" F32 [1,2,3]: a 64-byte header, already aligned, no padding. */
  {
    g_autoptr(MsrSafetensorsWriter) w = msr_safetensors_writer_new ();
    msr_safetensors_writer_add_f32 (w, "attn.0", (gint64[]) { 1, 2, 3 }, 3, v);
    g_autoptr(GBytes) got = msr_safetensors_writer_to_bytes (w, &error);
    g_assert_no_error (error);
    const char *h = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
    g_assert_cmpuint (strlen (h), ==, 64);
    g_autoptr(GByteArray) d = g_byte_array_new ();
    for (int i = 0; i < 6; i++)
      put_f32_le (d, v[i]);
    g_autoptr(GBytes) want = make_file (h, 64, d->data, d->len);
    g_assert_true (g_bytes_equal (got, want));
    const guint8 *gp = g_bytes_get_data (got, NULL);
    g_assert_cmpint (gp[0], ==, 64);
    g_assert_cmpint (gp[8 + 64 + 7], ==, 63);   /* 1.0f = 00 00 80 3f */
  }
  /* "attn0" F32 [1,1,2,3]: 65 bytes of JSON, padded with 7 spaces to 72. */
  {
    g_autoptr(MsrSafetensorsWriter) w = msr_safetensors_writer_new ();
    msr_safetensors_writer_add_f32 (w, "attn0", (gint64[]) { 1, 1, 2, 3 }, 4, v);
    g_autoptr(GBytes) got = msr_safetensors_writer_to_bytes (w, &error);
    g_assert_no_error (error);
    const char *h = "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ";
    g_assert_cmpuint (strlen (h), ==, 72);
    g_autoptr(GByteArray) d = g_byte_array_new ();
    for (int i = 0; i < 6; i++)
      put_f32_le (d, v[i]);
    g_autoptr(GBytes) want = make_file (h, 72, d->data, d->len);
    g_assert_true (g_bytes_equal (got, want));
  }
  /* No tensors: "{}" and six spaces; with metadata {"framework": "pt"}. */
  {
    g_autoptr(MsrSafetensorsWriter) w = msr_safetensors_writer_new ();
    g_autoptr(GBytes) got = msr_safetensors_writer_to_bytes (w, &error);
    static const guint8 want[] = { 8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' ' };
    g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got), want, sizeof want);
    msr_safetensors_writer_add_metadata (w, "framework", "pt");
    g_autoptr(GBytes) got2 = msr_safetensors_writer_to_bytes (w, &error);
    const char *h = "{\"__metadata__\":{\"framework\":\"pt\"}}     ";
    g_assert_cmpuint (strlen (h), ==, 40);
    g_autoptr(GBytes) want2 = make_file (h, 40, NULL, 0);
    g_assert_true (g_bytes_equal (got2, want2));

    g_autoptr(MsrSafetensors) st = msr_safetensors_new_from_bytes (got2, DISPLAY, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (msr_safetensors_get_n_tensors (st), ==, 0);
    g_assert_cmpstr (msr_safetensors_get_metadata (st, "framework"), ==, "pt");
  }
}

/* What save_file({"weight": torch.ones(2, 2), "step": torch.tensor(7)})
 * writes, following the format: tensors by descending dtype size, then name;
 * no metadata; header padded to 8 bytes. Our writer must produce it too. */
static void
test_python_save_file (void)
{
  GError *error = NULL;
  const char *h =
    "{\"step\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
    "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[8,24]}}";
  g_autofree char *padded = g_strdup_printf ("%-*s", (int) ((strlen (h) + 7) / 8 * 8), h);
  g_autoptr(GByteArray) d = g_byte_array_new ();
  put_u64_le (d, 7);
  for (int i = 0; i < 4; i++)
    put_f32_le (d, 1.0f);
  g_autoptr(GBytes) file = make_file (padded, strlen (padded), d->data, d->len);

  g_autoptr(MsrSafetensors) st = msr_safetensors_new_from_bytes (file, DISPLAY, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msr_safetensors_get_n_tensors (st), ==, 2);
  gint64 step = 0;
  g_assert_true (msr_safetensors_read_i64 (st, "step", &step, 1, &error));
  g_assert_cmpint (step, ==, 7);
  float wv[4];
  g_assert_true (msr_safetensors_read_f32 (st, "weight", wv, 4, &error));
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (wv[i], ==, 1.0f);
  g_assert_cmpstr (msr_safetensors_get_metadata_keys (st)[0], ==, NULL);

  g_autoptr(MsrSafetensorsWriter) w = msr_safetensors_writer_new ();
  const float ones[4] = { 1, 1, 1, 1 };
  const gint64 seven = 7;
  msr_safetensors_writer_add_f32 (w, "weight", (gint64[]) { 2, 2 }, 2, ones);
  msr_safetensors_writer_add_i64 (w, "step", NULL, 0, &seven);
  g_autoptr(GBytes) ours = msr_safetensors_writer_to_bytes (w, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (ours, file));
}

/* A file from another writer: no padding, keys in another order, spaces,
 * metadata in the middle, F64 and F16 tensors, an F32 tensor at an
 * unaligned offset. */
static void
test_foreign_file (void)
{
  GError *error = NULL;
  const char *h =
    "{\"b.half\": {\"shape\": [3], \"data_offsets\": [16, 22], \"dtype\": \"F16\"},\n"
    " \"__metadata__\": {\"format\": \"pt\"},\n"
    " \"a.double\": {\"data_offsets\": [0, 16], \"dtype\": \"F64\", \"shape\": [2]},\n"
    " \"c\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [22, 30]}}";
  g_assert_cmpuint (strlen (h) % 8, !=, 0);   /* really unpadded */
  g_autoptr(GByteArray) d = g_byte_array_new ();
  put_f64_le (d, 1.5);
  put_f64_le (d, -2.25);
  put_u16_le (d, 0x3C00);   /* 1.0 */
  put_u16_le (d, 0xC000);   /* -2.0 */
  put_u16_le (d, 0x3800);   /* 0.5 */
  put_f32_le (d, 3.5f);
  put_f32_le (d, -0.125f);
  g_autoptr(GBytes) file = make_file (h, strlen (h), d->data, d->len);

  g_autoptr(MsrSafetensors) st = msr_safetensors_new_from_bytes (file, DISPLAY, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msr_safetensors_get_n_tensors (st), ==, 3);
  g_assert_cmpuint (msr_safetensors_get_data_offset (st), ==, 8 + strlen (h));
  g_assert_cmpstr (msr_safetensors_get_tensor (st, 0)->name, ==, "a.double");
  g_assert_cmpstr (msr_safetensors_get_tensor (st, 1)->name, ==, "b.half");
  g_assert_cmpstr (msr_safetensors_get_tensor (st, 2)->name, ==, "c");
  g_assert_cmpstr (msr_safetensors_get_metadata (st, "format"), ==, "pt");

  const MsrTensorInfo *a = msr_safetensors_lookup (st, "a.double");
  g_assert_cmpint (a->dtype, ==, MSR_DTYPE_F64);
  gsize nb = 0;
  const guint8 *raw = msr_safetensors_get_tensor_data (st, a, &nb);
  g_assert_cmpuint (nb, ==, 16);
  guint64 u = get_u64_le (raw + 8);
  double second;
  memcpy (&second, &u, 8);
  g_assert_cmpfloat (second, ==, -2.25);

  const MsrTensorInfo *hf = msr_safetensors_lookup (st, "b.half");
  g_assert_cmpint (hf->dtype, ==, MSR_DTYPE_F16);
  raw = msr_safetensors_get_tensor_data (st, hf, &nb);
  g_assert_cmpuint (nb, ==, 6);
  g_assert_cmpint (raw[2] | (raw[3] << 8), ==, 0xC000);

  float c[2];
  g_assert_true (msr_safetensors_read_f32 (st, "c", c, 2, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (c[0], ==, 3.5f);
  g_assert_cmpfloat (c[1], ==, -0.125f);

  float x[3];
  g_assert_false (msr_safetensors_read_f32 (st, "b.half", x, 3, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_MISMATCH);
  g_assert_cmpstr (error->message, ==, DISPLAY ": tensor 'b.half': dtype F16 where F32 is expected");
  g_clear_error (&error);
}

typedef struct {
  const char *label;
  const char *header;   /* NULL: raw bytes below */
  gsize       data_len;
  const char *expect;   /* substring of the message */
} Corruption;

static char *
expect_parse_error (GBytes     *file,
                    const char *label,
                    const char *expect)
{
  GError *error = NULL;
  MsrSafetensors *st = msr_safetensors_new_from_bytes (file, DISPLAY, &error);
  if (st != NULL)
    g_error ("%s: the file was accepted", label);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_PARSE);
  g_test_message ("%s → %s", label, error->message);
  g_assert_true (g_str_has_prefix (error->message, DISPLAY ": "));
  if (strstr (error->message, expect) == NULL)
    g_error ("%s: message '%s' does not contain '%s'", label, error->message, expect);
  char *msg = g_strdup (error->message);
  g_error_free (error);
  return msg;
}

static void
test_corruptions (void)
{
  static const Corruption cases[] = {
    { "non-JSON header", "this is not json", 0, "the header is not valid JSON" },
    { "JSON array header", "[1,2,3]", 0, "the header is an array, not a JSON object" },
    { "JSON string header", "\"{}\"", 0, "the header is a string, not a JSON object" },
    { "only spaces", "        ", 0, "JSON" },
    { "trailing garbage", "{} x", 0, "the header is not valid JSON" },
    { "invalid UTF-8", "{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4,
      "the header is not valid UTF-8 (at header byte 3)" },
    { "escaped NUL", "{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4,
      "escaped NUL character" },
    { "unknown dtype", "{\"w\":{\"dtype\":\"F17\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
      "tensor 'w': unknown dtype 'F17'" },
    { "dtype not a string", "{\"w\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
      "tensor 'w': 'dtype' is a number, not a string" },
    { "negative shape", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,4]}}", 4,
      "tensor 'w': shape[1] is negative" },
    { "fractional shape", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,4]}}", 4,
      "tensor 'w': shape[0] is not an integer" },
    { "shape not an array", "{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,4]}}", 4,
      "tensor 'w': 'shape' is a number, not an array" },
    { "shape beyond 2^64", "{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4,
      "the header holds the integer 99999999999999999999 (at header byte 29), which does not fit in 64 bits" },
    { "offset beyond 2^63", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,9223372036854775808]}}", 8,
      "the header holds the integer 9223372036854775808" },
    { "very long integer", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,"
      "8000000000000000000000000000000000000000000000000000000000000]}}", 8,
      "the header holds the integer 8000000000000000000000000000000000000000… (at header byte" },
    { "shape product overflow",
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,4]}}", 4,
      "tensor 'w': shape [1099511627776, 1099511627776] has more elements than 64 bits can count" },
    { "byte size overflow",
      "{\"w\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,4]}}", 4,
      "tensor 'w': F64 shape [4611686018427387904] is too large" },
    { "sub-byte remainder", "{\"w\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,1]}}", 1,
      "tensor 'w': 3 F4 elements do not fill a whole number of bytes" },
    { "offsets out of range", "{\"w\":{\"dtype\":\"F32\",\"shape\":[250],\"data_offsets\":[0,1000]}}", 8,
      "tensor 'w': data_offsets [0, 1000] run past the end of the data section (8 bytes)" },
    { "begin after end", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8,
      "tensor 'w': data_offsets [8, 0] end before they begin" },
    { "negative offset", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8,
      "tensor 'w': data_offsets[0] is negative" },
    { "three offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4,8]}}", 8,
      "tensor 'w': 'data_offsets' is not an array of two integers" },
    { "size mismatch", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
      "tensor 'w': data_offsets [0, 8] hold 8 bytes, but F32 shape [3] needs 12" },
    { "overlap",
      "{\"towers.0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[96,104]},"
      "\"towers.0.weight\":{\"dtype\":\"F32\",\"shape\":[16],\"data_offsets\":[100,164]},"
      "\"pad\":{\"dtype\":\"U8\",\"shape\":[96],\"data_offsets\":[0,96]}}", 164,
      "tensor 'towers.0.weight': data_offsets [100, 164] overlap tensor 'towers.0.bias' [96, 104]" },
    { "empty tensor inside another",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
      "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}", 16,
      "tensor 'e': data_offsets [8, 8] overlap tensor 'a' [0, 16]" },
    { "hole between tensors",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}", 24,
      "bytes [8, 16) of the data section belong to no tensor (a hole between 'a' and 'b')" },
    { "hole at the start", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16,
      "bytes [0, 8) of the data section belong to no tensor (a hole before 'a')" },
    { "trailing bytes", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 13,
      "the data section has 5 bytes after the last tensor" },
    { "data but no tensors", "{}", 8, "the data section has 8 bytes after the last tensor" },
    { "duplicate tensor names",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
      "tensor 'a' appears twice in the header" },
    { "duplicate member",
      "{\"a\":{\"dtype\":\"F16\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
      "tensor 'a': 'dtype' appears twice" },
    { "duplicate metadata key",
      "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "metadata key 'k' appears twice" },
    { "duplicate metadata", "{\"__metadata__\":{},\"__metadata__\":{}}", 0,
      "'__metadata__' appears twice in the header" },
    { "non-string metadata", "{\"__metadata__\":{\"epochs\":3}}", 0,
      "metadata 'epochs' is a number, but metadata values must be strings" },
    { "metadata not an object", "{\"__metadata__\":[\"a\"]}", 0,
      "'__metadata__' is an array, not an object of strings" },
    { "entry not an object", "{\"w\":[1,2]}", 0,
      "tensor 'w': the entry is an array, not an object" },
    { "missing member", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8,
      "tensor 'w': 'data_offsets' is missing" },
    { "unexpected member",
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"stride\":[1]}}", 8,
      "tensor 'w': unexpected member 'stride'" },
    { "truncated data",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 12,
      "tensor 'b': data_offsets [8, 24] run past the end of the data section (12 bytes): "
      "the file is truncated" },
  };
  g_autoptr(GHashTable) messages = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) f = make_file_str (cases[i].header, cases[i].data_len);
      char *msg = expect_parse_error (f, cases[i].label, cases[i].expect);
      if (!g_hash_table_add (messages, msg))
        g_error ("%s: same message as another case: %s", cases[i].label, msg);
    }

  /* Damage to the length field and the file's size. */
  {
    g_autoptr(GBytes) f = g_bytes_new ("", 0);
    char *m = expect_parse_error (f, "empty file", "the file is empty");
    g_assert_true (g_hash_table_add (messages, m));
  }
  {
    g_autoptr(GBytes) f = g_bytes_new ("\x02\0\0\0\0\0\0", 7);
    char *m = expect_parse_error (f, "7 bytes", "the file is only 7 bytes long");
    g_assert_true (g_hash_table_add (messages, m));
  }
  {
    g_autoptr(GByteArray) a = g_byte_array_new ();
    put_u64_le (a, 9999999);
    g_byte_array_append (a, (const guint8 *) "{}", 2);
    for (int i = 0; i < 1224; i++)
      g_byte_array_append (a, (const guint8 *) " ", 1);
    g_autoptr(GBytes) f = g_byte_array_free_to_bytes (g_steal_pointer (&a));
    g_assert_cmpuint (g_bytes_get_size (f), ==, 1234);
    char *m = expect_parse_error (f, "length past the end",
                                  DISPLAY ": header length 9999999 is larger than the file (1234 bytes): "
                                  "the file is truncated or not a safetensors file");
    g_assert_true (g_hash_table_add (messages, m));
  }
  {
    g_autoptr(GByteArray) a = g_byte_array_new ();
    put_u64_le (a, G_GUINT64_CONSTANT (1) << 63);
    g_byte_array_append (a, (const guint8 *) "{}      ", 8);
    g_autoptr(GBytes) f = g_byte_array_free_to_bytes (g_steal_pointer (&a));
    char *m = expect_parse_error (f, "length 2^63",
                                  "header length 9223372036854775808 is over the limit of 100000000 bytes");
    g_assert_true (g_hash_table_add (messages, m));
  }
  {
    g_autoptr(GBytes) f = make_file ("", 0, "abcdefgh", 8);
    char *m = expect_parse_error (f, "length 0", "header length is 0");
    g_assert_true (g_hash_table_add (messages, m));
  }
  {
    static const char h[] = "{}\0     ";
    g_autoptr(GBytes) f = make_file (h, 8, NULL, 0);
    char *m = expect_parse_error (f, "NUL padding", "the header contains a NUL byte (at header byte 2)");
    g_assert_true (g_hash_table_add (messages, m));
  }
  /* Deep nesting (balanced, so valid JSON) would exhaust the stack of a
   * recursive parser. */
  {
    GString *h = g_string_new ("{\"a\":");
    for (int i = 0; i < 200000; i++)
      g_string_append_c (h, '[');
    for (int i = 0; i < 200000; i++)
      g_string_append_c (h, ']');
    g_string_append_c (h, '}');
    g_autoptr(GBytes) f = make_file (h->str, h->len, NULL, 0);
    g_string_free (h, TRUE);
    char *m = expect_parse_error (f, "deep nesting",
                                  "the header nests objects or arrays more than 16 deep (at header byte 20)");
    g_assert_true (g_hash_table_add (messages, m));
  }
  /* A valid file cut short anywhere fails, never crashes. */
  {
    g_autoptr(GBytes) whole = test_model_bytes ();
    gsize size;
    const guint8 *p = g_bytes_get_data (whole, &size);
    for (gsize cut = 0; cut < size; cut++)
      {
        g_autoptr(GBytes) f = g_bytes_new (p, cut);
        GError *error = NULL;
        MsrSafetensors *st = msr_safetensors_new_from_bytes (f, DISPLAY, &error);
        g_assert_null (st);
        g_assert_error (error, MSR_ERROR, MSR_ERROR_PARSE);
        g_error_free (error);
      }
  }
  /* And \\u0000 (an escaped backslash, then "u0000") is ordinary text. */
  {
    g_autoptr(GBytes) f = make_file_str ("{\"__metadata__\":{\"k\":\"a\\\\u0000\"}}", 0);
    GError *error = NULL;
    g_autoptr(MsrSafetensors) st = msr_safetensors_new_from_bytes (f, DISPLAY, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (msr_safetensors_get_metadata (st, "k"), ==, "a\\u0000");
  }
}

/* Every header dtype is read (sizes from the format), and an empty header
 * object with an empty data section is a valid, empty file. */
static void
test_all_dtypes_parse (void)
{
  GString *h = g_string_new ("{");
  guint64 offset = 0;
  for (guint d = 0; d < MSR_DTYPE_N_TYPES; d++)
    {
      /* 8 elements: a whole number of bytes even for F4 and F6. */
      guint64 n = 8 * msr_safetensors_dtype_bits ((MsrDType) d) / 8;
      g_string_append_printf (h, "%s\"t%u\":{\"dtype\":\"%s\",\"shape\":[2,4],\"data_offsets\":[%"
                              G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "]}",
                              d ? "," : "", d, msr_safetensors_dtype_name ((MsrDType) d),
                              offset, offset + n);
      offset += n;
    }
  g_string_append_c (h, '}');
  g_autoptr(GBytes) f = make_file_str (h->str, offset);
  g_string_free (h, TRUE);
  GError *error = NULL;
  g_autoptr(MsrSafetensors) st = msr_safetensors_new_from_bytes (f, DISPLAY, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msr_safetensors_get_n_tensors (st), ==, MSR_DTYPE_N_TYPES);
  const MsrTensorInfo *f6 = msr_safetensors_lookup (st, "t19");
  g_assert_cmpint (f6->dtype, ==, MSR_DTYPE_F6_E2M3);
  g_assert_cmpuint (f6->end - f6->begin, ==, 6);

  g_autoptr(GBytes) empty = make_file_str ("{}", 0);
  g_autoptr(MsrSafetensors) st2 = msr_safetensors_new_from_bytes (empty, DISPLAY, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msr_safetensors_get_n_tensors (st2), ==, 0);
}

/* Independent invariants of an accepted file. */
static void
check_accepted (MsrSafetensors *st,
                gsize           file_size)
{
  guint64 data_size = file_size - msr_safetensors_get_data_offset (st);
  guint64 total = 0;

  for (guint i = 0; i < msr_safetensors_get_n_tensors (st); i++)
    {
      const MsrTensorInfo *t = msr_safetensors_get_tensor (st, i);
      g_assert_cmpuint (t->begin, <=, t->end);
      g_assert_cmpuint (t->end, <=, data_size);
      guint64 n = 1;
      for (guint d = 0; d < t->n_dims; d++)
        n *= (guint64) t->shape[d];
      g_assert_cmpuint (n, ==, t->n_elements);
      g_assert_cmpuint (t->end - t->begin, ==, n * msr_safetensors_dtype_bits (t->dtype) / 8);
      g_assert_true (msr_safetensors_lookup (st, t->name) == t);
      total += t->end - t->begin;
      if (t->dtype == MSR_DTYPE_F32 && n < 1024)
        {
          float buf[1024];
          g_assert_true (msr_safetensors_read_f32 (st, t->name, buf, n, NULL));
        }
      if (t->dtype == MSR_DTYPE_I64 && n < 1024)
        {
          gint64 buf[1024];
          g_assert_true (msr_safetensors_read_i64 (st, t->name, buf, n, NULL));
        }
    }
  g_assert_cmpuint (total, ==, data_size);
}

static void
test_fuzz (void)
{
  static const char interesting[] = "0123456789-\",:[]{} \\eE.u\x80\xff";
  g_autoptr(GBytes) base = test_model_bytes ();
  gsize size;
  const guint8 *orig = g_bytes_get_data (base, &size);
  guint64 hlen = get_u64_le (orig);
  const char *env = g_getenv ("MSR_FUZZ_ITERATIONS");
  guint iterations = env ? (guint) g_ascii_strtoull (env, NULL, 10) : 5000;
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240611);
  guint accepted = 0, refused = 0;

  for (guint it = 0; it < iterations; it++)
    {
      guint8 *buf = g_memdup2 (orig, size);
      gsize len = size;
      int kind = g_rand_int_range (rand, 0, 7);
      int reps = g_rand_int_range (rand, 1, 5);

      for (int r = 0; r < reps; r++)
        switch (kind)
          {
          case 0: /* a bit anywhere */
            {
              gsize pos = g_rand_int_range (rand, 0, (gint32) len);
              buf[pos] ^= (guint8) (1u << g_rand_int_range (rand, 0, 8));
            }
            break;
          case 1: /* a syntax character in the header */
            buf[8 + g_rand_int_range (rand, 0, (gint32) hlen)] =
              (guint8) interesting[g_rand_int_range (rand, 0, sizeof interesting - 1)];
            break;
          case 2: /* truncation */
            len = g_rand_int_range (rand, 0, (gint32) len + 1);
            break;
          case 3: /* the length field */
            {
              guint64 v = hlen + g_rand_int_range (rand, -16, 17);
              if (g_rand_boolean (rand))
                v = ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);
              for (int i = 0; i < 8 && i < (int) len; i++)
                buf[i] = (guint8) (v >> (8 * i));
            }
            break;
          case 4: /* a digit in the header */
            {
              gsize pos = 8 + g_rand_int_range (rand, 0, (gint32) hlen);
              for (gsize k = 0; k < hlen; k++, pos = 8 + (pos - 8 + 1) % hlen)
                if (pos < len && g_ascii_isdigit (buf[pos]))
                  {
                    buf[pos] = (guint8) ('0' + g_rand_int_range (rand, 0, 10));
                    break;
                  }
            }
            break;
          case 5: /* extra bytes at the end */
            {
              gsize extra = g_rand_int_range (rand, 1, 17);
              buf = g_realloc (buf, len + extra);
              for (gsize k = 0; k < extra; k++)
                buf[len + k] = (guint8) g_rand_int (rand);
              len += extra;
            }
            break;
          default: /* a random byte anywhere */
            buf[g_rand_int_range (rand, 0, (gint32) len)] = (guint8) g_rand_int (rand);
            break;
          }

      g_autoptr(GBytes) f = g_bytes_new_take (buf, len);
      GError *error = NULL;
      MsrSafetensors *st = msr_safetensors_new_from_bytes (f, "fuzz.safetensors", &error);
      if (st != NULL)
        {
          g_assert_no_error (error);
          check_accepted (st, len);
          msr_safetensors_free (st);
          accepted++;
        }
      else
        {
          g_assert_error (error, MSR_ERROR, MSR_ERROR_PARSE);
          g_assert_true (g_str_has_prefix (error->message, "fuzz.safetensors: "));
          g_error_free (error);
          refused++;
        }
    }
  g_test_message ("%u damaged files: %u accepted, %u refused", iterations, accepted, refused);
  if (iterations >= 100)
    {
      g_assert_cmpuint (accepted, >, 0);  /* flips in the data are harmless */
      g_assert_cmpuint (refused, >, 0);
    }
}

static GBytes *
check_file (void)
{
  const char *h =
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
    "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[24,40]},"
    "\"c\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[40,44]},"
    "\"d\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[44,48]}}";
  return make_file_str (h, 48);
}

static void
test_check_tensors (void)
{
  GError *error = NULL;
  g_autoptr(GBytes) f = check_file ();
  g_autoptr(MsrSafetensors) st = msr_safetensors_new_from_bytes (f, DISPLAY, &error);
  g_assert_no_error (error);

  const MsrTensorSpec all[] = {
    { "a", MSR_DTYPE_F32, 2, { 2, 3 } },
    { "b", MSR_DTYPE_F32, 1, { 4 } },
    { "c", MSR_DTYPE_F16, 1, { 2 } },
    { "d", MSR_DTYPE_F32, 1, { 1 } },
  };
  g_assert_true (msr_safetensors_check_tensors (st, all, G_N_ELEMENTS (all), &error));
  g_assert_no_error (error);

  const MsrTensorSpec specs[] = {
    { "a", MSR_DTYPE_F32, 2, { 2, 3 } },
    { "b", MSR_DTYPE_F32, 1, { 5 } },
    { "c", MSR_DTYPE_F32, 1, { 2 } },
    { "e", MSR_DTYPE_F32, 2, { 3, 1 } },
  };
  g_assert_false (msr_safetensors_check_tensors (st, specs, G_N_ELEMENTS (specs), &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_MISMATCH);
  g_test_message ("%s", error->message);
  g_assert_cmpstr (error->message, ==,
                   DISPLAY ": the tensors do not match what the model expects (4 problems): "
                   "'b': shape [4] where [5] is expected; "
                   "'c': dtype F16 where F32 is expected; "
                   "missing 'e' (F32 [3, 1]); "
                   "unexpected 'd' (F32 [1])");
  g_clear_error (&error);

  /* Rank mismatch counts as a shape problem. */
  const MsrTensorSpec rank[] = {
    { "a", MSR_DTYPE_F32, 1, { 6 } }, { "b", MSR_DTYPE_F32, 1, { 4 } },
    { "c", MSR_DTYPE_F16, 1, { 2 } }, { "d", MSR_DTYPE_F32, 0, { 0 } },
  };
  g_assert_false (msr_safetensors_check_tensors (st, rank, G_N_ELEMENTS (rank), &error));
  g_assert_nonnull (strstr (error->message, "(2 problems): 'a': shape [2, 3] where [6] is expected; "
                                            "'d': shape [1] where [] is expected"));
  g_clear_error (&error);

  /* Many problems: the first 10, then a count. */
  MsrTensorSpec many[19];
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (many); i++)
    {
      char *name = g_strdup_printf ("m%02u", i);
      g_ptr_array_add (names, name);
      many[i] = (MsrTensorSpec) { name, MSR_DTYPE_F32, 1, { 1 } };
    }
  g_assert_false (msr_safetensors_check_tensors (st, many, G_N_ELEMENTS (many), &error));
  g_test_message ("%s", error->message);
  /* 19 missing + 4 unexpected. */
  g_assert_nonnull (strstr (error->message, "(23 problems)"));
  g_assert_nonnull (strstr (error->message, "missing 'm09' (F32 [1]); and 13 more"));
  g_assert_null (strstr (error->message, "m10"));
  g_clear_error (&error);
}

static void
test_writer_misuse (void)
{
  GError *error = NULL;
  const float v[2] = { 1, 2 };

  {
    g_autoptr(MsrSafetensorsWriter) w = msr_safetensors_writer_new ();
    msr_safetensors_writer_add_f32 (w, "x", (gint64[]) { 2 }, 1, v);
    msr_safetensors_writer_add_i64 (w, "x", (gint64[]) { 0 }, 1, NULL);
    g_assert_null (msr_safetensors_writer_to_bytes (w, &error));
    g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "tensor 'x' was added twice"));
    g_clear_error (&error);
  }
  {
    g_autoptr(MsrSafetensorsWriter) w = msr_safetensors_writer_new ();
    msr_safetensors_writer_add_f32 (w, "__metadata__", (gint64[]) { 2 }, 1, v);
    g_assert_null (msr_safetensors_writer_to_bytes (w, &error));
    g_assert_nonnull (strstr (error->message, "'__metadata__' is reserved"));
    g_clear_error (&error);
  }
  {
    g_autoptr(MsrSafetensorsWriter) w = msr_safetensors_writer_new ();
    msr_safetensors_writer_add_metadata (w, "k", "1");
    msr_safetensors_writer_add_metadata (w, "k", "2");
    g_assert_null (msr_safetensors_writer_to_bytes (w, &error));
    g_assert_nonnull (strstr (error->message, "metadata key 'k' was added twice"));
    g_clear_error (&error);
  }
  {
    g_autoptr(MsrSafetensorsWriter) w = msr_safetensors_writer_new ();
    msr_safetensors_writer_add_f32 (w, "neg", (gint64[]) { 2, -1 }, 2, v);
    g_assert_null (msr_safetensors_writer_to_bytes (w, &error));
    g_assert_nonnull (strstr (error->message, "tensor 'neg': shape[1] is negative"));
    g_clear_error (&error);
  }
  {
    g_autoptr(MsrSafetensorsWriter) w = msr_safetensors_writer_new ();
    msr_safetensors_writer_add_f32 (w, "bad\xff", (gint64[]) { 2 }, 1, v);
    g_assert_null (msr_safetensors_writer_to_bytes (w, &error));
    g_assert_nonnull (strstr (error->message, "not valid UTF-8"));
    g_clear_error (&error);
  }
}

static void
test_save_errors (void)
{
  g_autofree char *dir = make_tmpdir ();
  GError *error = NULL;
  const float v[2] = { 1, 2 };

  /* A missing folder: an error naming the path, and nothing created. */
  {
    g_autofree char *path = g_build_filename (dir, "missing", "model.safetensors", NULL);
    g_autoptr(MsrSafetensorsWriter) w = msr_safetensors_writer_new ();
    msr_safetensors_writer_add_f32 (w, "x", (gint64[]) { 2 }, 1, v);
    g_assert_false (msr_safetensors_writer_save (w, path, &error));
    g_assert_error (error, MSR_ERROR, MSR_ERROR_IO);
    g_test_message ("%s", error->message);
    g_assert_true (g_str_has_prefix (error->message, path));
    g_clear_error (&error);
    g_autofree char *listing = list_dir (dir);
    g_assert_cmpstr (listing, ==, "");
  }

  /* An existing file is replaced only by a successful save. */
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_assert_true (g_file_set_contents (path, "old contents", -1, NULL));
  {
    g_autoptr(MsrSafetensorsWriter) w = msr_safetensors_writer_new ();
    msr_safetensors_writer_add_f32 (w, "x", (gint64[]) { 2 }, 1, v);
    msr_safetensors_writer_add_f32 (w, "x", (gint64[]) { 2 }, 1, v);
    g_assert_false (msr_safetensors_writer_save (w, path, &error));
    g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
    g_assert_true (g_str_has_prefix (error->message, path));
    g_assert_nonnull (strstr (error->message, "added twice"));
    g_clear_error (&error);
    g_autoptr(GBytes) old = g_bytes_new_static ("old contents", 12);
    g_assert_true (bytes_equal_file (old, path));
  }
  {
    g_autoptr(MsrSafetensorsWriter) w = msr_safetensors_writer_new ();
    add_test_model (w);
    g_assert_true (msr_safetensors_writer_save (w, path, &error));
    g_assert_no_error (error);
    g_autoptr(GBytes) want = test_model_bytes ();
    g_assert_true (bytes_equal_file (want, path));
    g_autofree char *listing = list_dir (dir);
    g_assert_cmpstr (listing, ==, "model.safetensors");
  }

  /* The rename itself fails (the target is a folder): the temporary file
   * is removed again and the folder is untouched. */
  {
    g_autofree char *target = g_build_filename (dir, "folder.safetensors", NULL);
    g_autofree char *inside = g_build_filename (target, "keep", NULL);
    g_assert_cmpint (g_mkdir (target, 0700), ==, 0);
    g_assert_true (g_file_set_contents (inside, "x", -1, NULL));
    g_autoptr(MsrSafetensorsWriter) w = msr_safetensors_writer_new ();
    msr_safetensors_writer_add_f32 (w, "x", (gint64[]) { 2 }, 1, v);
    g_assert_false (msr_safetensors_writer_save (w, target, &error));
    g_assert_error (error, MSR_ERROR, MSR_ERROR_IO);
    g_test_message ("%s", error->message);
    g_assert_true (g_str_has_prefix (error->message, target));
    g_clear_error (&error);
    g_autofree char *listing = list_dir (dir);
    g_assert_cmpstr (listing, ==, "folder.safetensors|model.safetensors");
    g_autofree char *inner = list_dir (target);
    g_assert_cmpstr (inner, ==, "keep");
  }

  /* Opening what is not there names the path. */
  {
    g_autofree char *nowhere = g_build_filename (dir, "nowhere.safetensors", NULL);
    g_assert_null (msr_safetensors_open (nowhere, &error));
    g_assert_error (error, MSR_ERROR, MSR_ERROR_IO);
    g_assert_true (g_str_has_prefix (error->message, nowhere));
    g_clear_error (&error);
  }
  /* An empty file on disk is refused, by name. */
  {
    g_autofree char *empty = g_build_filename (dir, "empty.safetensors", NULL);
    g_assert_true (g_file_set_contents (empty, "", 0, NULL));
    g_assert_null (msr_safetensors_open (empty, &error));
    g_assert_error (error, MSR_ERROR, MSR_ERROR_PARSE);
    g_autofree char *want = g_strdup_printf ("%s: the file is empty", empty);
    g_assert_true (g_str_has_prefix (error->message, want));
    g_clear_error (&error);
  }
  msr_test_rm_rf (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/safetensors/dtypes", test_dtypes);
  g_test_add_func ("/safetensors/round-trip", test_round_trip);
  g_test_add_func ("/safetensors/layout", test_layout);
  g_test_add_func ("/safetensors/reference-vectors", test_reference_vectors);
  g_test_add_func ("/safetensors/python-save-file", test_python_save_file);
  g_test_add_func ("/safetensors/foreign-file", test_foreign_file);
  g_test_add_func ("/safetensors/all-dtypes", test_all_dtypes_parse);
  g_test_add_func ("/safetensors/corruptions", test_corruptions);
  g_test_add_func ("/safetensors/fuzz", test_fuzz);
  g_test_add_func ("/safetensors/check-tensors", test_check_tensors);
  g_test_add_func ("/safetensors/writer-misuse", test_writer_misuse);
  g_test_add_func ("/safetensors/save-errors", test_save_errors);
  return g_test_run ();
}

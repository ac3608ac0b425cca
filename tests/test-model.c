/* Models end to end: files (save, load, every kind of corruption), scoring
 * (threads, raw rows), training (reproducible, early stopping, cancel), and
 * on MovieLens-100K every backbone against the popularity baseline. */
#include "config.h"
#include "test-util.h"
#include "msr-dataset-private.h"
#include "msr-metrics.h"
#include "msr-model.h"
#include "msr-project.h"
#include "msr-safetensors.h"
#include "msr-train.h"

#include <cblas.h>
#undef I   /* complex.h's, from cblas.h: the fixtures name a constant I */
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

/* A learnable world: users and items with 4-d latent vectors, three
 * scenarios (item groups) of different sizes; click = Bernoulli(σ(u·v +
 * scenario bias)). Splits: 70% train, 10% valid, 20% test, seeded. */
static MsrDataset *
synthetic (guint n_rows, guint64 seed, gboolean noise_valid)
{
  MsrDataset *ds = msr_dataset_new ("synthetic", "generated");
  guint fu = msr_dataset_add_field (ds, "user", MSR_FIELD_CATEGORICAL);
  guint fi = msr_dataset_add_field (ds, "item", MSR_FIELD_CATEGORICAL);
  guint fg = msr_dataset_add_field (ds, "tags", MSR_FIELD_MULTI_HOT);
  msr_dataset_set_user_item_fields (ds, fu, fi);
  const char *names[3] = { "big", "medium", "small" };
  const double bias[3] = { 0.3, -0.2, 0.0 };
  for (int s = 0; s < 3; s++)
    msr_dataset_intern_scenario (ds, names[s], NULL);
  MsrRng rng;
  msr_rng_init (&rng, seed);
  enum { U = 60, I = 45, K = 4 };
  double uv[U][K], iv[I][K];
  for (int u = 0; u < U; u++)
    for (int k = 0; k < K; k++)
      uv[u][k] = 2 * msr_rng_uniform (&rng) - 1;
  for (int i = 0; i < I; i++)
    for (int k = 0; k < K; k++)
      iv[i][k] = 2 * msr_rng_uniform (&rng) - 1;
  for (guint r = 0; r < n_rows; r++)
    {
      int u = (int) msr_rng_below (&rng, U);
      double pick = msr_rng_uniform (&rng);
      int s = pick < 0.6 ? 0 : pick < 0.9 ? 1 : 2;
      int i = s * 15 + (int) msr_rng_below (&rng, 15);
      double z = bias[s];
      for (int k = 0; k < K; k++)
        z += 2.0 * uv[u][k] * iv[i][k];
      double split_draw = msr_rng_uniform (&rng);
      MsrSplit sp = split_draw < 0.7 ? MSR_SPLIT_TRAIN : split_draw < 0.8 ? MSR_SPLIT_VALID : MSR_SPLIT_TEST;
      guint8 y = msr_rng_uniform (&rng) < 1 / (1 + exp (-z));
      if (noise_valid && sp == MSR_SPLIT_VALID)
        y = (guint8) msr_rng_below (&rng, 2);
      char ub[16], ib[16], tb[16];
      g_snprintf (ub, sizeof ub, "u%d", u);
      g_snprintf (ib, sizeof ib, "i%d", i);
      msr_dataset_begin_row (ds, (guint) s, y, sp, 0);
      msr_dataset_push_code (ds, fu, msr_dataset_intern_value (ds, fu, ub));
      msr_dataset_push_code (ds, fi, msr_dataset_intern_value (ds, fi, ib));
      g_snprintf (tb, sizeof tb, "t%d", i % 5);
      msr_dataset_push_code (ds, fg, msr_dataset_intern_value (ds, fg, tb));
      if (i % 3 == 0)
        msr_dataset_push_code (ds, fg, msr_dataset_intern_value (ds, fg, "multiple-of-3"));
      msr_dataset_end_row (ds);
    }
  g_assert_true (msr_dataset_finish (ds, NULL));
  return ds;
}

static MsrModel *
small_model (MsrArch arch, const MsrDataset *ds, guint64 seed)
{
  MsrModelConfig cfg;
  msr_model_config_init (&cfg, arch);
  cfg.embed_dim = 8;
  cfg.hidden.dims[0] = 16;
  if (cfg.hidden.n > 1)
    cfg.hidden.dims[1] = 8;
  g_autoptr(GError) error = NULL;
  MsrModel *m = msr_model_new_for_dataset (&cfg, ds, seed, &error);
  g_assert_no_error (error);
  return m;
}

static double
test_auc (MsrModel *m, const MsrDataset *ds)
{
  gsize n;
  g_autofree guint32 *rows = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree double *scores = msr_score (m, ds, MSR_SPLIT_MASK (MSR_SPLIT_TEST), 1, 0, &n, &rows, NULL, NULL,
                                         NULL, &error);
  g_assert_no_error (error);
  g_autofree guint8 *y = g_new (guint8, n);
  for (gsize i = 0; i < n; i++)
    y[i] = msr_dataset_get_labels (ds)[rows[i]];
  gboolean defined;
  return msr_auc (scores, y, n, &defined);
}

/* ---- files -------------------------------------------------------------------- */

static void
test_save_load (void)
{
  g_autoptr(MsrDataset) ds = synthetic (1500, 1, FALSE);
  g_autofree char *dir = g_dir_make_tmp ("msr-model-XXXXXX", NULL);
  for (guint a = 0; a < MSR_N_ARCHS; a++)
    {
      g_autoptr(MsrModel) m = small_model (a, ds, 3);
      MsrTrainOptions o;
      msr_train_options_init (&o);
      o.epochs = 1;
      g_autoptr(GError) error = NULL;
      g_autoptr(MsrTrainResult) r = msr_train (m, ds, &o, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_autofree char *path = g_strdup_printf ("%s/%s.safetensors", dir, msr_arch_to_string (a));
      g_assert_true (msr_model_save (m, path, NULL, &error));
      g_autoptr(MsrModel) back = msr_model_load (path, &error);
      g_assert_no_error (error);
      gsize n1, n2;
      g_autofree double *s1 = msr_score (m, ds, MSR_SPLIT_MASK_ALL, 1, 0, &n1, NULL, NULL, NULL, NULL, &error);
      g_autofree double *s2 = msr_score (back, ds, MSR_SPLIT_MASK_ALL, 1, 0, &n2, NULL, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (n1, ==, n2);
      g_assert_cmpmem (s1, n1 * sizeof (double), s2, n2 * sizeof (double));
      /* Saving the loaded model gives the same bytes. */
      g_autofree char *again = g_strdup_printf ("%s/%s-again.safetensors", dir, msr_arch_to_string (a));
      g_assert_true (msr_model_save (back, again, NULL, &error));
      g_autofree char *b1 = NULL, *b2 = NULL;
      gsize l1, l2;
      g_assert_true (g_file_get_contents (path, &b1, &l1, NULL));
      g_assert_true (g_file_get_contents (again, &b2, &l2, NULL));
      g_assert_cmpmem (b1, l1, b2, l2);
    }
  msr_test_rm_rf (dir);
}

/* Rewrites a model file with one change, through the safetensors writer. */
typedef enum { DROP, EXTRA, RESHAPE, RETYPE, NAN_VALUE, BAD_CONFIG, NO_CONFIG } Corruption;

static char *
corrupt_copy (const char *src, const char *dir, Corruption what, const char *target)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrSafetensors) st = msr_safetensors_open (src, &error);
  g_assert_no_error (error);
  g_autoptr(MsrSafetensorsWriter) w = msr_safetensors_writer_new ();
  for (const char *const *k = msr_safetensors_get_metadata_keys (st); *k; k++)
    {
      if (strcmp (*k, MSR_SAFETENSORS_CONFIG_KEY) == 0 && (what == BAD_CONFIG || what == NO_CONFIG))
        {
          if (what == BAD_CONFIG)
            msr_safetensors_writer_add_metadata (w, *k, "{\"format\": 1, \"architecture\": \"transformer\"");
          continue;
        }
      msr_safetensors_writer_add_metadata (w, *k, msr_safetensors_get_metadata (st, *k));
    }
  for (guint i = 0; i < msr_safetensors_get_n_tensors (st); i++)
    {
      const MsrTensorInfo *t = msr_safetensors_get_tensor (st, i);
      const gboolean hit = strcmp (t->name, target) == 0;
      if (hit && what == DROP)
        continue;
      gint64 shape[4] = { 0 };
      for (guint d = 0; d < t->n_dims; d++)
        shape[d] = t->shape[d];
      if (t->dtype == MSR_DTYPE_I64)
        {
          g_autofree gint64 *v = g_new (gint64, MAX (t->n_elements, 1));
          g_assert_true (msr_safetensors_read_i64 (st, t->name, v, t->n_elements, NULL));
          msr_safetensors_writer_add_i64 (w, t->name, shape, t->n_dims, v);
          continue;
        }
      g_autofree float *v = g_new (float, MAX (t->n_elements, 1));
      g_assert_true (msr_safetensors_read_f32 (st, t->name, v, t->n_elements, NULL));
      if (hit && what == RESHAPE)
        {
          gint64 s2[2] = { (gint64) t->n_elements, 1 };
          msr_safetensors_writer_add_f32 (w, t->name, s2, 2, v);
          continue;
        }
      if (hit && what == RETYPE)
        {
          g_autofree gint64 *iv = g_new0 (gint64, MAX (t->n_elements, 1));
          msr_safetensors_writer_add_i64 (w, t->name, shape, t->n_dims, iv);
          continue;
        }
      if (hit && what == NAN_VALUE)
        v[0] = NAN;
      msr_safetensors_writer_add_f32 (w, t->name, shape, t->n_dims, v);
    }
  if (what == EXTRA)
    {
      const gint64 s[1] = { 2 };
      const float v[2] = { 1, 2 };
      msr_safetensors_writer_add_f32 (w, "towers.99.weight", s, 1, v);
    }
  char *path = g_strdup_printf ("%s/corrupt-%d.safetensors", dir, (int) what);
  g_assert_true (msr_safetensors_writer_save (w, path, &error));
  return path;
}

static void
expect_load_error (const char *path, const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrModel) m = msr_model_load (path, &error);
  g_assert_null (m);
  g_assert_nonnull (error);
  g_autofree char *base = g_path_get_basename (path);
  if (strstr (error->message, base) == NULL || strstr (error->message, needle) == NULL)
    g_error ("loading %s: '%s' lacks '%s'", base, error->message, needle);
}

static void
test_corrupt_files (void)
{
  g_autoptr(MsrDataset) ds = synthetic (600, 2, FALSE);
  g_autoptr(MsrModel) m = small_model (MSR_ARCH_SHARED_BOTTOM, ds, 4);
  g_autofree char *dir = g_dir_make_tmp ("msr-model-XXXXXX", NULL);
  g_autofree char *good = g_build_filename (dir, "good.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (msr_model_save (m, good, NULL, &error));

  g_autofree char *contents = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (good, &contents, &len, NULL));

  /* Truncated: the tensors no longer fit in the file. */
  g_autofree char *trunc = g_build_filename (dir, "truncated.safetensors", NULL);
  g_assert_true (g_file_set_contents (trunc, contents, (gssize) (len - 100), NULL));
  expect_load_error (trunc, "truncated.safetensors");
  /* A header length larger than the file. */
  g_autofree char *longer = g_build_filename (dir, "longheader.safetensors", NULL);
  g_autofree char *copy = g_memdup2 (contents, len);
  guint64 fake = GUINT64_TO_LE ((guint64) len * 2);
  memcpy (copy, &fake, 8);
  g_assert_true (g_file_set_contents (longer, copy, (gssize) len, NULL));
  expect_load_error (longer, "header length");
  /* Overlapping offsets: point one tensor's range at another's. */
  guint64 hlen;
  memcpy (&hlen, contents, 8);
  hlen = GUINT64_FROM_LE (hlen);
  g_autofree char *header = g_strndup (contents + 8, hlen);
  g_autoptr(JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, header, -1, NULL));
  JsonObject *root = json_node_get_object (json_parser_get_root (p));
  JsonArray *a = json_object_get_array_member (json_object_get_object_member (root, "towers.0.out.bias"), "data_offsets");
  JsonArray *b = json_object_get_array_member (json_object_get_object_member (root, "towers.0.out.weight"), "data_offsets");
  gint64 b0 = json_array_get_int_element (b, 0);
  json_array_remove_element (a, 1);
  json_array_remove_element (a, 0);
  json_array_add_int_element (a, b0);
  json_array_add_int_element (a, b0 + 4);
  g_autofree char *newh = json_to_string (json_parser_get_root (p), FALSE);
  GString *bytes = g_string_new (NULL);
  guint64 nl = GUINT64_TO_LE (strlen (newh));
  g_string_append_len (bytes, (char *) &nl, 8);
  g_string_append (bytes, newh);
  g_string_append_len (bytes, contents + 8 + hlen, (gssize) (len - 8 - hlen));
  g_autofree char *overlap = g_build_filename (dir, "overlap.safetensors", NULL);
  g_assert_true (g_file_set_contents (overlap, bytes->str, (gssize) bytes->len, NULL));
  g_string_free (bytes, TRUE);
  expect_load_error (overlap, "overlap");

  static const struct { Corruption what; const char *target; const char *needle; } cases[] = {
    { DROP, "towers.1.out.weight", "towers.1.out.weight" },
    { EXTRA, "", "towers.99.weight" },
    { RESHAPE, "bottom.linears.0.weight", "bottom.linears.0.weight" },
    { RETYPE, "bottom.linears.0.bias", "I64" },
    { NAN_VALUE, "towers.0.out.bias", "NaN" },
    { BAD_CONFIG, "", "configuration" },
    { NO_CONFIG, "", "not an MSR Lens model" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = corrupt_copy (good, dir, cases[i].what, cases[i].target);
      expect_load_error (path, cases[i].needle);
    }
  /* Metadata strings holding JSON nested deeper than json-glib's recursion
   * can take (they crashed the loader with SIGSEGV); the header itself only
   * nests a few levels, so the header's own depth check passes. */
  static const char *const deep_keys[] = { "msrlens.config", "msrlens.vocab" };
  for (guint i = 0; i < G_N_ELEMENTS (deep_keys); i++)
    {
      g_autoptr(JsonParser) dp = json_parser_new ();
      g_assert_true (json_parser_load_from_data (dp, header, -1, NULL));
      JsonObject *meta = json_object_get_object_member (json_node_get_object (json_parser_get_root (dp)),
                                                        "__metadata__");
      GString *deep = g_string_new ("{\"a\": ");
      for (guint d = 0; d < 200000; d++)
        g_string_append_c (deep, '[');
      for (guint d = 0; d < 200000; d++)
        g_string_append_c (deep, ']');
      g_string_append_c (deep, '}');
      json_object_set_string_member (meta, deep_keys[i], deep->str);
      g_string_free (deep, TRUE);
      g_autofree char *dh = json_to_string (json_parser_get_root (dp), FALSE);
      GString *db = g_string_new (NULL);
      guint64 dl = GUINT64_TO_LE (strlen (dh));
      g_string_append_len (db, (char *) &dl, 8);
      g_string_append (db, dh);
      g_string_append_len (db, contents + 8 + hlen, (gssize) (len - 8 - hlen));
      g_autofree char *dpath = g_build_filename (dir, "deep.safetensors", NULL);
      g_assert_true (g_file_set_contents (dpath, db->str, (gssize) db->len, NULL));
      g_string_free (db, TRUE);
      expect_load_error (dpath, "nests JSON more than");
    }
  /* The good file still loads: the checks above are not vacuous. */
  g_autoptr(MsrModel) ok = msr_model_load (good, &error);
  g_assert_no_error (error);
  /* Not a file at all. */
  g_autofree char *missing = g_build_filename (dir, "missing.safetensors", NULL);
  expect_load_error (missing, "missing.safetensors");
  msr_test_rm_rf (dir);
}

/* ---- scoring ------------------------------------------------------------------ */

/* msr_score groups rows by user only for LLM4MSR models with a user
 * level: every plain backbone keeps batches of consecutive rows, its scores
 * bit for bit those of scoring with the ordering off and of scoring batch
 * by batch by hand, with 1 and 2 workers. Forced into user order, a plain
 * model's scores still come back to their rows. */
static void
test_score_order_plain (void)
{
  g_autoptr(MsrDataset) ds = synthetic (3000, 5, FALSE);
  const gsize BS = 256;
  /* BLAS on one thread, as meson runs the tests: several workers run it on
   * one each, and a GEMM split across threads may round otherwise. */
  openblas_set_num_threads (1);
  for (guint a = 0; a < MSR_N_ARCHS; a++)
    {
      g_autoptr(MsrModel) m = small_model (a, ds, 6);
      g_autoptr(GError) error = NULL;
      gsize n = 0;
      g_autofree guint32 *rows = NULL;
      g_autofree double *s1 = msr_score (m, ds, MSR_SPLIT_MASK (MSR_SPLIT_TEST), 1, BS, &n, &rows, NULL, NULL, NULL,
                                         &error);
      g_assert_no_error (error);
      g_assert_null (msr_score_batch_order (m, ds, rows, n, MSR_SCORE_ORDER_AUTO));
      g_assert_null (msr_score_batch_order (m, ds, rows, n, MSR_SCORE_ORDER_DATASET));

      /* By hand: batches of consecutive rows, as msr_score always did. */
      g_autofree double *ref = g_new (double, n);
      g_autoptr(MsrBatch) batch = msr_batch_new (m);
      g_autoptr(MsrGraph) g = msr_graph_new ();
      msr_graph_set_training (g, FALSE);
      for (gsize start = 0; start < n; start += BS)
        {
          const gsize k = MIN (BS, n - start);
          msr_batch_fill (batch, ds, rows + start, k);
          msr_graph_reset (g);
          const msr_real *z = msr_node_value (msr_model_forward (m, g, batch, NULL));
          for (gsize i = 0; i < k; i++)
            ref[start + i] = z[i] >= 0 ? 1 / (1 + exp (-z[i])) : exp (z[i]) / (1 + exp (z[i]));
        }
      g_assert_cmpmem (s1, n * sizeof (double), ref, n * sizeof (double));
      for (guint threads = 1; threads <= 2; threads++)
        {
          gsize n2 = 0, n3 = 0;
          g_autofree double *s = msr_score (m, ds, MSR_SPLIT_MASK (MSR_SPLIT_TEST), threads, BS, &n2, NULL, NULL,
                                            NULL, NULL, &error);
          g_autofree double *off = msr_score_ordered (m, ds, MSR_SPLIT_MASK (MSR_SPLIT_TEST), MSR_SCORE_ORDER_DATASET,
                                                      threads, BS, &n3, NULL, NULL, NULL, NULL, &error);
          g_assert_no_error (error);
          g_assert_cmpmem (s, n2 * sizeof (double), ref, n * sizeof (double));
          g_assert_cmpmem (off, n3 * sizeof (double), ref, n * sizeof (double));
        }

      /* Forced by user: a permutation that groups users, scores in place. */
      g_autofree guint32 *pos = msr_score_batch_order (m, ds, rows, n, MSR_SCORE_ORDER_USER);
      g_assert_nonnull (pos);
      const gint32 *uc = msr_dataset_get_field_codes (ds, msr_dataset_get_user_field (ds));
      for (gsize j = 1; j < n; j++)
        g_assert_cmpint (uc[rows[pos[j - 1]]], <=, uc[rows[pos[j]]]);
      gsize n4 = 0;
      g_autofree double *u = msr_score_ordered (m, ds, MSR_SPLIT_MASK (MSR_SPLIT_TEST), MSR_SCORE_ORDER_USER, 2, BS,
                                                &n4, NULL, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (n4, ==, n);
      for (gsize i = 0; i < n; i++)
        g_assert_cmpfloat_with_epsilon (u[i], ref[i], 1e-6);
    }
}

static void
test_score_threads_and_raw_rows (void)
{
  g_autoptr(MsrDataset) ds = synthetic (3000, 5, FALSE);
  g_autoptr(MsrModel) m = small_model (MSR_ARCH_STAR, ds, 6);
  g_autoptr(GError) error = NULL;
  gsize n1, n2;
  g_autofree guint32 *rows = NULL;
  g_autofree double *s1 = msr_score (m, ds, MSR_SPLIT_MASK_ALL, 1, 256, &n1, &rows, NULL, NULL, NULL, &error);
  g_autofree double *s2 = msr_score (m, ds, MSR_SPLIT_MASK_ALL, 2, 256, &n2, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (s1, n1 * sizeof (double), s2, n2 * sizeof (double));

  /* Rows given as raw values through the model's vocabularies score the
   * same as the dataset's codes. */
  g_autoptr(MsrBatch) batch = msr_batch_new (m);
  g_autoptr(MsrGraph) g = msr_graph_new ();
  msr_graph_set_training (g, FALSE);
  msr_batch_begin (batch);
  const guint F = msr_dataset_get_n_fields (ds);
  for (guint r = 0; r < 256; r++)
    {
      gint32 buf[3][4];
      const gint32 *codes[3];
      guint counts[3];
      for (guint f = 0; f < F; f++)
        {
          const guint32 *off = msr_dataset_get_field_offsets (ds, f);
          const gint32 *c = msr_dataset_get_field_codes (ds, f);
          guint lo = off ? off[r] : r, hi = off ? off[r + 1] : r + 1;
          counts[f] = hi - lo;
          for (guint k = lo; k < hi; k++)
            buf[f][k - lo] = msr_model_encode (m, f, msr_dataset_get_field_value (ds, f, c[k]));
          codes[f] = buf[f];
        }
      msr_batch_append_row (batch, msr_dataset_get_scenarios (ds)[r], 0, codes, counts);
    }
  msr_batch_end (batch);
  MsrNode *z = msr_model_forward (m, g, batch, NULL);
  for (guint r = 0; r < 256; r++)
    {
      double p = 1 / (1 + exp (-(double) msr_node_value (z)[r]));
      g_assert_cmpfloat_with_epsilon (p, s1[r], 1e-6);
    }
  g_assert_cmpint (msr_model_encode (m, 0, "never-seen"), ==, 0);
}

/* ---- training ------------------------------------------------------------------ */

static void
test_reproducible (void)
{
  g_autoptr(MsrDataset) ds = synthetic (2000, 7, FALSE);
  g_autofree char *dir = g_dir_make_tmp ("msr-model-XXXXXX", NULL);
  char *files[2] = { NULL, NULL };
  for (int k = 0; k < 2; k++)
    {
      g_autoptr(MsrModel) m = small_model (MSR_ARCH_PLE, ds, 9);
      MsrTrainOptions o;
      msr_train_options_init (&o);
      o.epochs = 3;
      o.batch_size = 128;
      g_autoptr(GError) error = NULL;
      g_autoptr(MsrTrainResult) r = msr_train (m, ds, &o, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_autofree char *json = msr_train_result_to_json (r, &o, ds);
      g_autofree char *path = g_strdup_printf ("%s/run%d.safetensors", dir, k);
      g_assert_true (msr_model_save (m, path, json, &error));
      gsize len;
      g_assert_true (g_file_get_contents (path, &files[k], &len, NULL));
    }
  g_assert_cmpstr (files[0], ==, files[1]);
  g_free (files[0]);
  g_free (files[1]);
  msr_test_rm_rf (dir);
}

static void
test_learns_and_stops_early (void)
{
  /* Validation labels are coin flips: no epoch beats the first for long. */
  g_autoptr(MsrDataset) ds = synthetic (3000, 11, TRUE);
  g_autoptr(MsrModel) m = small_model (MSR_ARCH_DNN, ds, 12);
  MsrTrainOptions o;
  msr_train_options_init (&o);
  o.epochs = 60;
  o.patience = 2;
  o.batch_size = 128;
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrTrainResult) r = msr_train (m, ds, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (r->stopped_early);
  g_assert_cmpuint (r->epochs->len, ==, r->best_epoch + o.patience);
  g_assert_cmpuint (r->epochs->len, <, 60);
  /* The restored parameters are the best epoch's: validating again gives
   * its AUC. */
  gsize n;
  g_autofree guint32 *rows = NULL;
  g_autofree double *s = msr_score (m, ds, MSR_SPLIT_MASK (MSR_SPLIT_VALID), 1, 4096, &n, &rows, NULL, NULL,
                                    NULL, &error);
  g_autofree guint8 *y = g_new (guint8, n);
  for (gsize i = 0; i < n; i++)
    y[i] = msr_dataset_get_labels (ds)[rows[i]];
  gboolean defined;
  g_assert_cmpfloat (msr_auc (s, y, n, &defined), ==, r->best_valid_auc);

  /* On clean labels the same model learns the planted structure. */
  g_autoptr(MsrDataset) clean = synthetic (20000, 11, FALSE);
  g_autoptr(MsrModel) m2 = small_model (MSR_ARCH_DNN, clean, 12);
  o.patience = 3;
  o.epochs = 30;
  o.lr = 5e-3;
  g_autoptr(MsrTrainResult) r2 = msr_train (m2, clean, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  double auc = test_auc (m2, clean);
  g_test_message ("synthetic DNN test AUC %.4f after %u epochs", auc, r2->epochs->len);
  g_assert_cmpfloat (auc, >, 0.7);
}

typedef struct {
  GCancellable *cancel;
  guint         stop_at_epoch;
  guint         batches_after;
} CancelData;

static void
cancel_progress (const MsrTrainStatus *st, gpointer data)
{
  CancelData *c = data;
  if (st->finished == NULL && st->epoch == c->stop_at_epoch)
    {
      if (!g_cancellable_is_cancelled (c->cancel))
        g_cancellable_cancel (c->cancel);
      else
        c->batches_after++;
    }
}

static void
test_cancel (void)
{
  g_autoptr(MsrDataset) ds = synthetic (3000, 13, FALSE);
  g_autoptr(MsrModel) m = small_model (MSR_ARCH_MMOE, ds, 14);
  MsrTrainOptions o;
  msr_train_options_init (&o);
  o.batch_size = 64;
  CancelData c = { g_cancellable_new (), 2, 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrTrainResult) r = msr_train (m, ds, &o, cancel_progress, &c, c.cancel, &error);
  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* Checked before every batch: not one more batch ran. */
  g_assert_cmpuint (c.batches_after, ==, 0);
  g_object_unref (c.cancel);
}

static void
test_separate_best_epochs (void)
{
  g_autoptr(MsrDataset) ds = synthetic (3000, 15, FALSE);
  g_autoptr(MsrModel) m = small_model (MSR_ARCH_DNN_SEPARATE, ds, 16);
  MsrTrainOptions o;
  msr_train_options_init (&o);
  o.epochs = 8;
  o.batch_size = 128;
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrTrainResult) r = msr_train (m, ds, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (r->best_epoch_scenario);
  /* Each scenario's model is the one of its own best validation epoch. */
  for (guint s = 0; s < 3; s++)
    {
      guint be = r->best_epoch_scenario[s];
      g_assert_cmpuint (be, >=, 1);
      double best = -1;
      for (guint e = 0; e < r->epochs->len; e++)
        best = MAX (best, g_array_index (r->epochs, MsrEpochLog, e).valid_auc_scenario[s]);
      g_assert_cmpfloat (g_array_index (r->epochs, MsrEpochLog, be - 1).valid_auc_scenario[s], ==, best);
    }
}

/* Gate summaries: each scenario's mean gate is a distribution (sums to 1),
 * and it equals the mean of the per-row gates the forward pass exposes. */
static void
test_internals (void)
{
  g_autoptr(MsrDataset) ds = synthetic (1200, 17, FALSE);
  g_autoptr(GError) error = NULL;
  for (guint a = 0; a < MSR_N_ARCHS; a++)
    {
      g_autoptr(MsrModel) m = small_model (a, ds, 18);
      g_autoptr(MsrInternals) in = msr_model_summarize_internals (m, ds, MSR_SPLIT_MASK_ALL, NULL, &error);
      g_assert_no_error (error);
      const gboolean gated = a == MSR_ARCH_MMOE || a == MSR_ARCH_PLE;
      g_assert_cmpint (in->present[MSR_INTERNAL_GATES], ==, gated);
      g_assert_cmpint (in->present[MSR_INTERNAL_EPNET], ==, a == MSR_ARCH_PEPNET);
      g_assert_cmpint (in->present[MSR_INTERNAL_PPNET], ==, a == MSR_ARCH_PEPNET);
      guint64 total = 0;
      for (guint s = 0; s < in->n_scenarios; s++)
        total += in->rows[s];
      g_assert_cmpuint (total, ==, msr_dataset_get_n_rows (ds));
      if (gated)
        for (guint s = 0; s < in->n_scenarios; s++)
          {
            double sum = 0;
            for (guint j = 0; j < in->width[MSR_INTERNAL_GATES]; j++)
              sum += in->mean[MSR_INTERNAL_GATES][s * in->width[MSR_INTERNAL_GATES] + j];
            g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-5);
          }
      if (a == MSR_ARCH_PEPNET)
        for (guint j = 0; j < in->n_scenarios * in->width[MSR_INTERNAL_EPNET]; j++)
          g_assert_true (in->mean[MSR_INTERNAL_EPNET][j] > 0 && in->mean[MSR_INTERNAL_EPNET][j] < 2);
    }
  /* The per-row values match: scenario 2's mean MMoE gate by hand. */
  g_autoptr(MsrModel) m = small_model (MSR_ARCH_MMOE, ds, 18);
  g_autoptr(MsrInternals) in = msr_model_summarize_internals (m, ds, MSR_SPLIT_MASK_ALL, NULL, &error);
  g_autoptr(MsrBatch) batch = msr_batch_new (m);
  g_autoptr(MsrGraph) g = msr_graph_new ();
  const gsize N = msr_dataset_get_n_rows (ds);
  g_autofree guint32 *rows = g_new (guint32, N);
  for (gsize i = 0; i < N; i++)
    rows[i] = (guint32) i;
  msr_batch_fill (batch, ds, rows, N);
  MsrForward f = { 0 };
  msr_model_forward (m, g, batch, &f);
  const guint K = in->width[MSR_INTERNAL_GATES];
  double first = 0;
  guint cnt = 0;
  for (gsize i = 0; i < N; i++)
    if (msr_dataset_get_scenarios (ds)[i] == 2)
      {
        first += msr_node_value (f.gates)[i * K];
        cnt++;
      }
  g_assert_cmpfloat_with_epsilon (first / cnt, in->mean[MSR_INTERNAL_GATES][2 * K], 1e-6);
}

/* ---- MovieLens-100K ------------------------------------------------------------ */

static void
test_movielens_beats_popularity (void)
{
  MSR_TEST_REQUIRE_SHARED (data, "movielens-100k");
  g_autofree char *tmp = g_dir_make_tmp ("msr-model-XXXXXX", NULL);
  g_autofree char *pdir = g_build_filename (tmp, "ml", NULL);
  MsrSplitOptions split;
  msr_split_options_init (&split);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) p = msr_project_create_movielens (pdir, data, MSR_MOVIELENS_SCENARIOS_GENRE, &split, &error);
  g_assert_no_error (error);
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  gsize n;
  g_autofree double *pop = msr_score_popularity (ds, MSR_SPLIT_MASK (MSR_SPLIT_TEST), &n);
  g_autofree guint8 *y = g_new (guint8, n);
  const guint8 *sp = msr_dataset_get_splits (ds);
  gsize k = 0;
  for (gsize r = 0; r < msr_dataset_get_n_rows (ds); r++)
    if (sp[r] == MSR_SPLIT_TEST)
      y[k++] = msr_dataset_get_labels (ds)[r];
  gboolean defined;
  const double pop_auc = msr_auc (pop, y, n, &defined);
  g_test_message ("popularity baseline test AUC %.4f", pop_auc);

  for (guint a = 0; a < MSR_N_ARCHS; a++)
    {
      MsrModelConfig cfg;
      msr_model_config_init (&cfg, a);
      g_autoptr(MsrModel) m = msr_model_new_for_dataset (&cfg, ds, 42, &error);
      g_assert_no_error (error);
      MsrTrainOptions o;
      msr_train_options_init (&o);
      g_autoptr(MsrTrainResult) r = msr_train (m, ds, &o, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      double auc = test_auc (m, ds);
      g_test_message ("%s: test AUC %.4f (best epoch %u of %u)", msr_arch_to_string (a), auc, r->best_epoch,
                      r->epochs->len);
      if (!(auc > pop_auc))
        g_error ("%s: test AUC %.4f does not beat the popularity baseline's %.4f", msr_arch_to_string (a), auc,
                 pop_auc);
    }
  msr_test_rm_rf (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/model/save-load", test_save_load);
  g_test_add_func ("/model/corrupt-files", test_corrupt_files);
  g_test_add_func ("/model/score/threads-and-raw-rows", test_score_threads_and_raw_rows);
  g_test_add_func ("/model/score/order-plain", test_score_order_plain);
  g_test_add_func ("/model/train/reproducible", test_reproducible);
  g_test_add_func ("/model/train/learns-and-stops-early", test_learns_and_stops_early);
  g_test_add_func ("/model/train/cancel", test_cancel);
  g_test_add_func ("/model/train/separate-best-epochs", test_separate_best_epochs);
  g_test_add_func ("/model/internals", test_internals);
  g_test_add_func ("/model/movielens/beats-popularity", test_movielens_beats_popularity);
  return g_test_run ();
}

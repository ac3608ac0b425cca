/* The TF-IDF + randomized SVD text encoder: the tokenizer and its lists
 * against docs/ENCODER.md, TF-IDF weights against a direct computation,
 * the randomized SVD against a dense Jacobi eigendecomposition, seeds,
 * transform, a planted two-topic corpus, hostile input, and the real
 * knowledge texts when the shared data is present. */
#include "config.h"
#include "test-util.h"
#include "msr-encoder.h"
#include "msr-csv.h"
#include "msr-rng.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------- */

static double
dot_f (const float *a, const float *b, guint k)
{
  double s = 0;
  for (guint r = 0; r < k; r++)
    s += (double) a[r] * b[r];
  return s;
}

/* A synthetic word that is no stop word: "zq" and two letters, so the
 * byte order of the words is the order of their ids. */
static char *
word (guint id)
{
  g_assert_cmpuint (id, <, 26 * 26);
  return g_strdup_printf ("zq%c%c", 'a' + id / 26, 'a' + id % 26);
}

/* Joins counts[w] copies of word (w) for w < n_words, in a shuffled order. */
static char *
text_from_counts (const guint *counts, guint n_words, MsrRng *rng)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (guint32 w = 0; w < n_words; w++)
    for (guint c = 0; c < counts[w]; c++)
      g_array_append_val (ids, w);
  msr_rng_shuffle_u32 (rng, (guint32 *) ids->data, ids->len);
  GString *s = g_string_new ("## Overview\n");
  for (guint t = 0; t < ids->len; t++)
    {
      g_autofree char *w = word (g_array_index (ids, guint32, t));
      g_string_append_printf (s, "%s%s", w, t % 9 == 8 ? ".\n" : " ");
    }
  return g_string_free (s, FALSE);
}

/* Cyclic Jacobi eigendecomposition of the symmetric d × d a (destroyed):
 * eigenvalues in w (descending) and eigenvectors in the columns of v. */
static void
jacobi_eigen (double *a, guint d, double *w, double *v)
{
  for (guint i = 0; i < d; i++)
    for (guint j = 0; j < d; j++)
      v[i * d + j] = i == j;
  for (guint sweep = 0; sweep < 100; sweep++)
    {
      double off = 0, all = 0;
      for (guint i = 0; i < d; i++)
        for (guint j = 0; j < d; j++)
          {
            all += a[i * d + j] * a[i * d + j];
            if (i != j)
              off += a[i * d + j] * a[i * d + j];
          }
      if (off <= 1e-30 * all)
        break;
      for (guint p = 0; p < d; p++)
        for (guint q = p + 1; q < d; q++)
          {
            double apq = a[p * d + q];
            if (fabs (apq) < 1e-300)
              continue;
            double theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
            double t = (theta >= 0 ? 1.0 : -1.0) / (fabs (theta) + sqrt (theta * theta + 1));
            double c = 1 / sqrt (t * t + 1), s = t * c;
            for (guint k = 0; k < d; k++)
              {
                double akp = a[k * d + p], akq = a[k * d + q];
                a[k * d + p] = c * akp - s * akq;
                a[k * d + q] = s * akp + c * akq;
              }
            for (guint k = 0; k < d; k++)
              {
                double apk = a[p * d + k], aqk = a[q * d + k];
                a[p * d + k] = c * apk - s * aqk;
                a[q * d + k] = s * apk + c * aqk;
              }
            for (guint k = 0; k < d; k++)
              {
                double vkp = v[k * d + p], vkq = v[k * d + q];
                v[k * d + p] = c * vkp - s * vkq;
                v[k * d + q] = s * vkp + c * vkq;
              }
          }
    }
  /* Selection sort of the pairs, descending. */
  for (guint i = 0; i < d; i++)
    w[i] = a[i * d + i];
  for (guint i = 0; i < d; i++)
    {
      guint best = i;
      for (guint j = i + 1; j < d; j++)
        if (w[j] > w[best])
          best = j;
      double t = w[i];
      w[i] = w[best];
      w[best] = t;
      for (guint k = 0; k < d; k++)
        {
          t = v[k * d + i];
          v[k * d + i] = v[k * d + best];
          v[k * d + best] = t;
        }
    }
}

/* ---- a synthetic low-rank-ish corpus ----------------------------------------
 * T topics of 12 words each, topic t holding a share of documents that
 * falls with t, and 24 noise words every document draws from; each
 * document knows its word counts, so the test computes X itself. */

#define SYN_TOPICS 8
#define SYN_TOPIC_WORDS 12
#define SYN_NOISE 24
#define SYN_WORDS (SYN_TOPICS * SYN_TOPIC_WORDS + SYN_NOISE)

typedef struct {
  guint   n;
  char  **texts;        /* n, NULL-terminated */
  guint  *counts;       /* n × SYN_WORDS */
  int    *topic;
} Synthetic;

static void
synthetic_free (Synthetic *s)
{
  g_strfreev (s->texts);
  g_free (s->counts);
  g_free (s->topic);
  g_free (s);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Synthetic, synthetic_free)

static Synthetic *
synthetic_new (guint n, guint64 seed)
{
  Synthetic *s = g_new0 (Synthetic, 1);
  MsrRng rng;
  msr_rng_init (&rng, seed);
  s->n = n;
  s->texts = g_new0 (char *, n + 1);
  s->counts = g_new0 (guint, (gsize) n * SYN_WORDS);
  s->topic = g_new (int, n);
  /* Topic shares 8 : 7 : ... : 1. */
  const guint total = SYN_TOPICS * (SYN_TOPICS + 1) / 2;
  for (guint i = 0; i < n; i++)
    {
      guint u = (guint) msr_rng_below (&rng, total), t = 0, acc = SYN_TOPICS;
      while (u >= acc)
        acc += SYN_TOPICS - ++t;
      s->topic[i] = (int) t;
      guint *c = s->counts + (gsize) i * SYN_WORDS;
      guint len = 20 + (guint) msr_rng_below (&rng, 20);
      for (guint j = 0; j < len; j++)
        {
          /* Within a topic, word w is drawn with weight 1 / (w + 1). */
          double target = msr_rng_uniform (&rng) * 3.1032107;   /* H_12 */
          guint w = 0;
          double cum = 1.0;
          while (cum <= target && w + 1 < SYN_TOPIC_WORDS)
            cum += 1.0 / (++w + 1);
          c[t * SYN_TOPIC_WORDS + w]++;
        }
      guint noise = 2 + (guint) msr_rng_below (&rng, 4);
      for (guint j = 0; j < noise; j++)
        c[SYN_TOPICS * SYN_TOPIC_WORDS + msr_rng_below (&rng, SYN_NOISE)]++;
      s->texts[i] = text_from_counts (c, SYN_WORDS, &rng);
    }
  return s;
}

/* The TF-IDF matrix of the definition, straight from the counts, over the
 * words that occur (min_df 1, max_df 1): n × *V doubles; word_of[t] is
 * the word id of term t. */
static double *
synthetic_tfidf (const Synthetic *s, guint *V_out, guint *word_of)
{
  guint df[SYN_WORDS] = { 0 };
  for (guint i = 0; i < s->n; i++)
    for (guint w = 0; w < SYN_WORDS; w++)
      df[w] += s->counts[(gsize) i * SYN_WORDS + w] > 0;
  guint V = 0;
  for (guint w = 0; w < SYN_WORDS; w++)
    if (df[w] > 0)
      word_of[V++] = w;
  double *x = g_new0 (double, (gsize) s->n * V);
  for (guint i = 0; i < s->n; i++)
    {
      double ss = 0;
      for (guint t = 0; t < V; t++)
        {
          guint c = s->counts[(gsize) i * SYN_WORDS + word_of[t]];
          if (c == 0)
            continue;
          double idf = log ((1.0 + s->n) / (1.0 + df[word_of[t]])) + 1.0;
          x[(gsize) i * V + t] = (1.0 + log (c)) * idf;
          ss += x[(gsize) i * V + t] * x[(gsize) i * V + t];
        }
      for (guint t = 0; t < V && ss > 0; t++)
        x[(gsize) i * V + t] /= sqrt (ss);
    }
  *V_out = V;
  return x;
}

static void
options_all_terms (MsrTfidfOptions *o, guint dim)
{
  msr_tfidf_options_init (o);
  o->dim = dim;
  o->min_df = 1;
  o->max_df = 1.0;
}

/* ---- the tokenizer --------------------------------------------------------- */

static void
assert_tokens (const char *text, const char *const *expected)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) got = msr_tfidf_tokenize (text, &error);
  g_assert_no_error (error);
  g_autofree char *a = g_strjoinv ("|", got);
  g_autofree char *b = g_strjoinv ("|", (char **) expected);
  g_assert_cmpstr (a, ==, b);
}

static void
test_tokenize (void)
{
  assert_tokens ("## Overview\nThe user LOVES Café-style 1990s films, 42 and 7th; "
                 "ÖLÇÜ x y naïve **Genre**: Sci-Fi — children’s 3.14",
                 (const char *const[]) { "user", "loves", "café", "style", "1990s", "films", "7th",
                                         "ölçü", "naïve", "sci", "fi", "children", NULL });
  /* A decomposed é (e + U+0301) becomes the composed one. */
  assert_tokens ("cafe\xcc\x81 Cafe\xcc\x81", (const char *const[]) { "café", "café", NULL });
  assert_tokens ("", (const char *const[]) { NULL });
  assert_tokens (NULL, (const char *const[]) { NULL });
  assert_tokens ("the of and 12 345 a b tags DISLIKES Description",
                 (const char *const[]) { NULL });
  /* Non-Latin letters and digits are alphanumeric too. */
  assert_tokens ("東京 ٣٤ x2 ab_cd", (const char *const[]) { "東京", "x2", "ab", "cd", NULL });

  g_autoptr(GError) error = NULL;
  g_auto(GStrv) bad = msr_tfidf_tokenize ("ok \xff\xfe", &error);
  g_assert_null (bad);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "byte 3"));
}

/* The lists are sorted (the encoder bsearches them), distinct, lower-case
 * ASCII of two letters or more, disjoint, and exactly those of
 * docs/ENCODER.md. */
static void
check_list (const char *const *list, const char *const *other)
{
  for (guint i = 0; list[i]; i++)
    {
      g_assert_cmpuint (strlen (list[i]), >=, 2);
      for (const char *p = list[i]; *p; p++)
        g_assert_true (*p >= 'a' && *p <= 'z');
      if (i > 0)
        g_assert_cmpint (strcmp (list[i - 1], list[i]), <, 0);
      g_assert_false (g_strv_contains (other, list[i]));
    }
}

static char *
doc_block (const char *doc, const char *name)
{
  g_autofree char *begin = g_strdup_printf ("<!-- %s:begin -->", name);
  g_autofree char *end = g_strdup_printf ("<!-- %s:end -->", name);
  const char *b = strstr (doc, begin), *e = b ? strstr (b, end) : NULL;
  g_assert_nonnull (b);
  g_assert_nonnull (e);
  b += strlen (begin);
  /* The words of the block, outside the ``` fence lines. */
  GString *words = g_string_new (NULL);
  g_autofree char *block = g_strndup (b, e - b);
  g_auto(GStrv) lines = g_strsplit (block, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      if (g_str_has_prefix (lines[i], "```"))
        continue;
      g_auto(GStrv) parts = g_strsplit_set (lines[i], " \t", -1);
      for (guint j = 0; parts[j]; j++)
        if (*parts[j])
          g_string_append_printf (words, "%s%s", words->len ? " " : "", parts[j]);
    }
  return g_string_free (words, FALSE);
}

static void
test_stop_lists (void)
{
  const char *const *stop = msr_tfidf_get_stop_words ();
  const char *const *section = msr_tfidf_get_section_words ();
  check_list (stop, section);
  check_list (section, stop);
  g_assert_cmpuint (g_strv_length ((char **) stop), >=, 150);
  g_assert_true (g_strv_contains (section, "overview"));
  g_assert_true (g_strv_contains (section, "dislikes"));

  const char *src = g_getenv ("MSR_SOURCE_DIR");
  g_autofree char *path = g_build_filename (src ? src : MSR_SOURCE_DIR, "docs", "ENCODER.md", NULL);
  g_autofree char *doc = NULL;
  g_autoptr(GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &doc, NULL, &error));
  g_autofree char *doc_stop = doc_block (doc, "stop-words");
  g_autofree char *doc_section = doc_block (doc, "section-words");
  g_autofree char *code_stop = g_strjoinv (" ", (char **) stop);
  g_autofree char *code_section = g_strjoinv (" ", (char **) section);
  g_assert_cmpstr (doc_stop, ==, code_stop);
  g_assert_cmpstr (doc_section, ==, code_section);
}

/* ---- TF-IDF against a direct computation --------------------------------- */

static const char *const hand_corpus[] = {
  "## Overview\nA quiet drama about grief, memory and a lighthouse keeper. Drama drama!",
  "## Overview\nA loud comedy about memory loss; comedy for families and friends.",
  "## Attributes\n- **Genre**: Drama, Romance\n- **Tags**: lighthouse, sea, memory",
  "Space opera with aliens, lasers and a lighthouse on Mars. Aliens everywhere, aliens!",
  "",
  "## Description\nFriends on a road trip: comedy, romance, and a dog named 1984.",
  "Grief and romance by the sea; the sea keeps every secret of the keeper.",
  "Lasers, aliens, a space station and robot friends.",
};

static int
cmp_strp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
test_tfidf_exact (void)
{
  const guint n = G_N_ELEMENTS (hand_corpus);
  MsrTfidfOptions o;
  msr_tfidf_options_init (&o);
  o.dim = 4;
  g_autoptr(GError) error = NULL;
  g_autofree float *out = g_new (float, n * o.dim);
  g_autoptr(MsrTfidf) m = msr_tfidf_fit (hand_corpus, n, &o, out, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);

  /* The definition, directly: tokens, df, filters (2 ≤ df ≤ 0.5 n), the
   * byte-sorted vocabulary, idf and the normalised sublinear weights. */
  g_autoptr(GHashTable) df = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GStrv tokens[G_N_ELEMENTS (hand_corpus)];
  for (guint i = 0; i < n; i++)
    {
      tokens[i] = msr_tfidf_tokenize (hand_corpus[i], &error);
      g_assert_no_error (error);
      g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint t = 0; tokens[i][t]; t++)
        if (g_hash_table_add (seen, tokens[i][t]))
          {
            guint c = GPOINTER_TO_UINT (g_hash_table_lookup (df, tokens[i][t]));
            g_hash_table_insert (df, g_strdup (tokens[i][t]), GUINT_TO_POINTER (c + 1));
          }
    }
  g_autoptr(GPtrArray) vocab = g_ptr_array_new ();
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, df);
  while (g_hash_table_iter_next (&it, &key, &value))
    if (GPOINTER_TO_UINT (value) >= 2 && GPOINTER_TO_UINT (value) <= 0.5 * n)
      g_ptr_array_add (vocab, key);
  g_ptr_array_sort (vocab, cmp_strp);
  /* "memory" is in 3 of 8, "aliens" in 2, "drama" in 2; "sea" in 2;
   * "keeper" 2; words of one document are out. */
  g_assert_cmpuint (vocab->len, ==, msr_tfidf_get_vocabulary_size (m));
  g_assert_cmpuint (vocab->len, >=, 8);
  const double *idf = msr_tfidf_get_idf (m);
  for (guint t = 0; t < vocab->len; t++)
    {
      const char *term = g_ptr_array_index (vocab, t);
      g_assert_cmpstr (msr_tfidf_get_term (m, t), ==, term);
      g_assert_cmpint (msr_tfidf_find_term (m, term), ==, (int) t);
      guint d = GPOINTER_TO_UINT (g_hash_table_lookup (df, term));
      g_assert_cmpuint (msr_tfidf_get_document_frequencies (m)[t], ==, d);
      g_assert_cmpfloat_with_epsilon (idf[t], log ((1.0 + n) / (1.0 + d)) + 1.0, 1e-14);
    }
  g_assert_cmpint (msr_tfidf_find_term (m, "lasers"), >=, 0);
  g_assert_cmpint (msr_tfidf_find_term (m, "mars"), ==, -1);     /* one document */
  g_assert_cmpint (msr_tfidf_find_term (m, "comedy"), >=, 0);

  const guint V = vocab->len, k = msr_tfidf_get_dim (m);
  g_autofree double *row = g_new (double, V);
  g_autofree double *want = g_new (double, V);
  const double *comp = msr_tfidf_get_components (m);
  for (guint i = 0; i < n; i++)
    {
      memset (want, 0, V * sizeof (double));
      for (guint t = 0; tokens[i][t]; t++)
        {
          int j = msr_tfidf_find_term (m, tokens[i][t]);
          if (j >= 0)
            want[j] += 1;
        }
      double ss = 0;
      for (guint j = 0; j < V; j++)
        if (want[j] > 0)
          {
            want[j] = (1 + log (want[j])) * idf[j];
            ss += want[j] * want[j];
          }
      for (guint j = 0; j < V && ss > 0; j++)
        want[j] /= sqrt (ss);
      g_assert_true (msr_tfidf_weigh (m, hand_corpus[i], row, &error));
      g_assert_no_error (error);
      for (guint j = 0; j < V; j++)
        g_assert_cmpfloat_with_epsilon (row[j], want[j], 1e-7);

      /* The vector: x V_k, normalised. */
      double proj[4] = { 0 }, pn = 0;
      for (guint r = 0; r < k; r++)
        {
          for (guint j = 0; j < V; j++)
            proj[r] += want[j] * comp[j * k + r];
          pn += proj[r] * proj[r];
        }
      for (guint r = 0; r < k; r++)
        g_assert_cmpfloat_with_epsilon (out[i * k + r], pn > 0 ? proj[r] / sqrt (pn) : 0, 1e-6);
    }
  /* One hand value: "drama" occurs 3 times in document 0 (df 2 of 8). */
  {
    int j = msr_tfidf_find_term (m, "drama");
    g_assert_cmpint (j, >=, 0);
    g_assert_true (msr_tfidf_weigh (m, hand_corpus[0], row, NULL));
    double w_drama = (1 + log (3)) * (log (9.0 / 3.0) + 1);
    g_assert_cmpfloat (row[j], >, 0);
    int g = msr_tfidf_find_term (m, "grief");   /* once, df 2 */
    g_assert_cmpfloat_with_epsilon (row[j] / row[g], w_drama / (log (9.0 / 3.0) + 1), 1e-6);
  }
  for (guint i = 0; i < n; i++)
    g_strfreev (tokens[i]);

  /* The empty document has the zero vector. */
  for (guint r = 0; r < k; r++)
    g_assert_cmpfloat (out[4 * k + r], ==, 0);
}

/* ---- the randomized SVD against an exact one --------------------------------- */

static void
test_svd (void)
{
  g_autoptr(Synthetic) s = synthetic_new (400, 7);
  guint V = 0, word_of[SYN_WORDS];
  g_autofree double *x = synthetic_tfidf (s, &V, word_of);
  g_assert_cmpuint (V, ==, SYN_WORDS);

  MsrTfidfOptions o;
  options_all_terms (&o, SYN_TOPICS);
  const guint k = o.dim;
  g_autoptr(GError) error = NULL;
  g_autofree float *out = g_new (float, (gsize) s->n * k);
  g_autoptr(MsrTfidf) m = msr_tfidf_fit ((const char *const *) s->texts, s->n, &o, out, NULL, NULL,
                                         NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msr_tfidf_get_dim (m), ==, k);
  g_assert_cmpuint (msr_tfidf_get_vocabulary_size (m), ==, V);
  for (guint t = 0; t < V; t++)
    {
      g_autofree char *w = word (word_of[t]);
      g_assert_cmpstr (msr_tfidf_get_term (m, t), ==, w);
    }

  /* The encoder's rows are the definition's. */
  g_autofree double *row = g_new (double, V);
  for (guint i = 0; i < s->n; i++)
    {
      g_assert_true (msr_tfidf_weigh (m, s->texts[i], row, &error));
      for (guint t = 0; t < V; t++)
        g_assert_cmpfloat_with_epsilon (row[t], x[(gsize) i * V + t], 1e-6);
    }

  /* Exact: the eigendecomposition of Xᵀ X. */
  g_autofree double *gram = g_new0 (double, (gsize) V * V);
  for (guint i = 0; i < s->n; i++)
    for (guint a = 0; a < V; a++)
      {
        double xa = x[(gsize) i * V + a];
        if (xa != 0)
          for (guint b = 0; b < V; b++)
            gram[a * V + b] += xa * x[(gsize) i * V + b];
      }
  g_autofree double *lambda = g_new (double, V);
  g_autofree double *vec = g_new (double, (gsize) V * V);
  jacobi_eigen (gram, V, lambda, vec);

  const double *sigma = msr_tfidf_get_singular_values (m);
  const double *comp = msr_tfidf_get_components (m);
  GString *msg = g_string_new ("singular values, exact (* past k) / randomized:");
  for (guint r = 0; r < k + 3; r++)
    g_string_append_printf (msg, " %.4f%s", sqrt (MAX (lambda[r], 0)), r < k ? "" : "*");
  g_string_append (msg, " /");
  for (guint r = 0; r < k; r++)
    g_string_append_printf (msg, " %.4f", sigma[r]);
  g_test_message ("%s", msg->str);
  g_string_free (msg, TRUE);

  for (guint r = 0; r < k; r++)
    {
      double exact = sqrt (lambda[r]);
      g_assert_cmpfloat (fabs (sigma[r] - exact) / exact, <, 1e-3);
      if (r > 0)
        g_assert_cmpfloat (sigma[r], <=, sigma[r - 1]);
    }

  /* Subspaces: each exact top-k right singular vector lies in span (V_k),
   * and V_k is orthonormal. */
  double least_in = 1;
  for (guint r = 0; r < k; r++)
    {
      double in = 0;
      for (guint c = 0; c < k; c++)
        {
          double d = 0;
          for (guint t = 0; t < V; t++)
            d += vec[t * V + r] * comp[t * k + c];
          in += d * d;
        }
      least_in = MIN (least_in, in);
      g_assert_cmpfloat (in, >, 1 - 1e-3);
      for (guint c = 0; c < k; c++)
        {
          double d = 0;
          for (guint t = 0; t < V; t++)
            d += comp[t * k + r] * comp[t * k + c];
          g_assert_cmpfloat_with_epsilon (d, r == c, 1e-6);
        }
      /* Sign convention: the largest-magnitude entry is positive. */
      guint best = 0;
      for (guint t = 1; t < V; t++)
        if (fabs (comp[t * k + r]) > fabs (comp[best * k + r]))
          best = t;
      g_assert_cmpfloat (comp[best * k + r], >, 0);
    }

  g_test_message ("least share of an exact top-k singular vector in span (V_k): %.6f", least_in);

  /* Unit vectors, and the document vectors agree with U_k Σ_k of the
   * exact SVD up to rotation: their Gram matrices match. */
  for (guint i = 0; i < s->n; i++)
    g_assert_cmpfloat_with_epsilon (dot_f (out + i * k, out + i * k, k), 1.0, 1e-5);
  g_autofree double *ex = g_new (double, (gsize) s->n * k);
  for (guint i = 0; i < s->n; i++)
    {
      double ss = 0;
      for (guint r = 0; r < k; r++)
        {
          double d = 0;
          for (guint t = 0; t < V; t++)
            d += x[(gsize) i * V + t] * vec[t * V + r];
          ex[i * k + r] = d;
          ss += d * d;
        }
      for (guint r = 0; r < k; r++)
        ex[i * k + r] /= sqrt (ss);
    }
  double worst = 0;
  for (guint i = 0; i < s->n; i += 3)
    for (guint j = 0; j < s->n; j += 7)
      {
        double e = 0;
        for (guint r = 0; r < k; r++)
          e += ex[i * k + r] * ex[j * k + r];
        worst = MAX (worst, fabs (e - dot_f (out + i * k, out + j * k, k)));
      }
  /* The small angles allowed above (up to ~0.03 rad) move the cosines of
   * short, noise-heavy documents by a few 1e-3. */
  g_test_message ("largest cosine difference from the exact SVD: %.2e", worst);
  g_assert_cmpfloat (worst, <, 1e-2);
}

/* ---- seeds ----------------------------------------------------------------- */

static void
test_determinism (void)
{
  g_autoptr(Synthetic) s = synthetic_new (300, 11);
  MsrTfidfOptions o;
  options_all_terms (&o, 6);
  g_autoptr(GError) error = NULL;
  const gsize size = (gsize) s->n * o.dim;
  g_autofree float *a = g_new (float, size);
  g_autofree float *b = g_new (float, size);
  g_autofree float *c = g_new (float, size);
  const char *const *texts = (const char *const *) s->texts;
  g_autoptr(MsrTfidf) ma = msr_tfidf_fit (texts, s->n, &o, a, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(MsrTfidf) mb = msr_tfidf_fit (texts, s->n, &o, b, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  o.seed = 99;
  g_autoptr(MsrTfidf) mc = msr_tfidf_fit (texts, s->n, &o, c, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  const guint k = msr_tfidf_get_dim (ma), V = msr_tfidf_get_vocabulary_size (ma);
  g_assert_true (memcmp (a, b, size * sizeof (float)) == 0);
  g_assert_true (memcmp (msr_tfidf_get_components (ma), msr_tfidf_get_components (mb),
                         (gsize) V * k * sizeof (double)) == 0);
  g_assert_cmpstr (msr_tfidf_get_fingerprint (ma), ==, msr_tfidf_get_fingerprint (mb));
  g_assert_cmpstr (msr_tfidf_get_fingerprint (ma), !=, msr_tfidf_get_fingerprint (mc));
  g_assert_cmpuint (strlen (msr_tfidf_get_fingerprint (ma)), ==, 64);
  g_autofree char *da = msr_tfidf_describe (ma);
  g_autofree char *db = msr_tfidf_describe (mb);
  g_assert_cmpstr (da, ==, db);

  /* Another seed: other bytes, the same spectrum and geometry. */
  g_assert_false (memcmp (a, c, size * sizeof (float)) == 0);
  const double *sa = msr_tfidf_get_singular_values (ma), *sc = msr_tfidf_get_singular_values (mc);
  for (guint r = 0; r < k; r++)
    g_assert_cmpfloat (fabs (sa[r] - sc[r]) / sa[r], <, 1e-3);
  double worst = 0;
  for (guint i = 0; i < s->n; i += 5)
    for (guint j = 0; j < s->n; j += 3)
      worst = MAX (worst, fabs (dot_f (a + i * k, a + j * k, k) - dot_f (c + i * k, c + j * k, k)));
  g_assert_cmpfloat (worst, <, 1e-2);
}

/* ---- transform ------------------------------------------------------------- */

typedef struct {
  const MsrTfidf     *model;
  const char *const  *texts;
  guint               n;
  const float        *expected;
} Job;

static gpointer
transform_thread (gpointer data)
{
  const Job *job = data;
  const guint k = msr_tfidf_get_dim (job->model);
  g_autofree float *out = g_new (float, (gsize) job->n * k);
  for (guint rep = 0; rep < 5; rep++)
    if (!msr_tfidf_transform (job->model, job->texts, job->n, out, NULL) ||
        memcmp (out, job->expected, (gsize) job->n * k * sizeof (float)) != 0)
      return GINT_TO_POINTER (0);
  return GINT_TO_POINTER (1);
}

static void
test_transform (void)
{
  g_autoptr(Synthetic) s = synthetic_new (200, 5);
  MsrTfidfOptions o;
  msr_tfidf_options_init (&o);
  o.dim = 12;
  g_autoptr(GError) error = NULL;
  const char *const *texts = (const char *const *) s->texts;
  g_autofree float *fit = g_new (float, (gsize) s->n * o.dim);
  g_autofree float *again = g_new (float, (gsize) s->n * o.dim);
  g_autoptr(MsrTfidf) m = msr_tfidf_fit (texts, s->n, &o, fit, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  const guint k = msr_tfidf_get_dim (m);
  g_assert_true (msr_tfidf_transform (m, texts, s->n, again, &error));
  g_assert_no_error (error);
  /* The same code path: equal, not merely close. */
  g_assert_true (memcmp (fit, again, (gsize) s->n * k * sizeof (float)) == 0);

  /* A fitted model is shared by threads without locks. */
  Job job = { m, texts, s->n, fit };
  GThread *threads[4];
  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    threads[t] = g_thread_new ("transform", transform_thread, &job);
  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    g_assert_true (GPOINTER_TO_INT (g_thread_join (threads[t])));

  /* Unknown words are ignored; a text of only those gets zeros. */
  g_autofree char *extended = g_strconcat (s->texts[3], " unseenword anotherone", NULL);
  const char *novel[] = { extended, "unseenword anotherone", "" };
  float v[3 * 12];
  g_assert_true (msr_tfidf_transform (m, novel, 3, v, &error));
  g_assert_true (memcmp (v, fit + 3 * k, k * sizeof (float)) == 0);
  for (guint r = 0; r < 2 * k; r++)
    g_assert_cmpfloat (v[k + r], ==, 0);

  const char *bad[] = { "fine", "also fine", "broken \xc3(" };
  g_assert_false (msr_tfidf_transform (m, bad, 3, v, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "document 2"));
}

/* ---- a planted corpus ------------------------------------------------------- */

static const char *const topic_words[2][9] = {
  { "ocean", "sailor", "harbor", "storm", "whale", "voyage", "lighthouse", "tide", NULL },
  { "robot", "galaxy", "laser", "android", "orbit", "starship", "alien", "reactor", NULL },
};
static const char *const filler[] = { "story", "character", "film", "people", "journey", "life" };

static void
test_planted (void)
{
  const guint n = 60;
  MsrRng rng;
  msr_rng_init (&rng, 3);
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  g_autofree int *group = g_new (int, n);
  for (guint i = 0; i < n; i++)
    {
      guint t = i % 2;
      GString *s = g_string_new ("## Overview\n");
      for (guint j = 0; j < 12; j++)
        g_string_append_printf (s, "%s ", topic_words[t][msr_rng_below (&rng, 8)]);
      for (guint j = 0; j < 8; j++)
        g_string_append_printf (s, "%s, ", filler[msr_rng_below (&rng, G_N_ELEMENTS (filler))]);
      g_ptr_array_add (texts, g_string_free (s, FALSE));
      /* A few documents in no group. */
      group[i] = i % 10 == 9 ? -1 : (int) t;
    }
  MsrTfidfOptions o;
  msr_tfidf_options_init (&o);
  o.dim = 8;
  o.max_df = 1.0;   /* keep the filler words: they must not pull the topics together */
  g_autoptr(GError) error = NULL;
  g_autofree float *out = g_new (float, n * o.dim);
  g_autoptr(MsrTfidf) m = msr_tfidf_fit ((const char *const *) texts->pdata, n, &o, out, NULL, NULL,
                                         NULL, &error);
  g_assert_no_error (error);
  const guint k = msr_tfidf_get_dim (m);

  double within = 0, across = 0;
  guint n_within = 0, n_across = 0;
  for (guint i = 0; i < n; i++)
    {
      double best_same = -2, best_other = -2;
      for (guint j = 0; j < n; j++)
        {
          if (i == j)
            continue;
          double c = dot_f (out + i * k, out + j * k, k);
          if (i % 2 == j % 2)
            within += c, n_within++, best_same = MAX (best_same, c);
          else
            across += c, n_across++, best_other = MAX (best_other, c);
        }
      g_assert_cmpfloat (best_same, >, best_other);   /* nearest neighbour on topic */
    }
  within /= n_within;
  across /= n_across;
  g_test_message ("mean cosine within topics %.3f, across %.3f", within, across);
  g_assert_cmpfloat (within, >, across + 0.3);

  char ***terms = msr_tfidf_distinctive_terms (m, (const char *const *) texts->pdata, n, group, 2, 5,
                                               &error);
  g_assert_no_error (error);
  for (guint g = 0; g < 2; g++)
    {
      g_assert_cmpuint (g_strv_length (terms[g]), ==, 5);
      for (guint t = 0; terms[g][t]; t++)
        g_assert_true (g_strv_contains (topic_words[g], terms[g][t]));
    }
  g_assert_null (terms[2]);
  msr_tfidf_terms_free (terms, 2);

  /* An empty group gets no terms; a group out of range is an error. */
  int *none = g_new (int, n);
  for (guint i = 0; i < n; i++)
    none[i] = i % 2 ? 0 : -1;
  terms = msr_tfidf_distinctive_terms (m, (const char *const *) texts->pdata, n, none, 2, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (terms[0]), ==, 3);
  g_assert_cmpuint (g_strv_length (terms[1]), ==, 0);
  msr_tfidf_terms_free (terms, 2);
  none[7] = 2;
  terms = msr_tfidf_distinctive_terms (m, (const char *const *) texts->pdata, n, none, 2, 3, &error);
  g_assert_null (terms);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "document 7"));
  g_free (none);
}

/* ---- hostile input ----------------------------------------------------------- */

typedef struct {
  double last;
  guint  calls;
  gboolean monotone;
} ProgressLog;

static void
on_progress (double fraction, const char *stage, gpointer data)
{
  ProgressLog *log = data;
  g_assert_nonnull (stage);
  if (fraction < log->last)
    log->monotone = FALSE;
  log->last = fraction;
  log->calls++;
}

static void
expect_fit_error (const char *const *texts, guint n, const MsrTfidfOptions *o, const char *needle)
{
  g_autoptr(GError) error = NULL;
  float out[64 * 8];
  g_autoptr(MsrTfidf) m = msr_tfidf_fit (texts, n, o, out, NULL, NULL, NULL, &error);
  g_assert_null (m);
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  if (strstr (error->message, needle) == NULL)
    g_error ("'%s' does not mention '%s'", error->message, needle);
}

static void
test_hostile (void)
{
  MsrTfidfOptions o;
  msr_tfidf_options_init (&o);

  expect_fit_error (NULL, 0, &o, "no texts");
  const char *stop_only[] = { "The and of the.", "", NULL, "42 7 x y z", "## Overview\n**Tags**:" };
  expect_fit_error (stop_only, G_N_ELEMENTS (stop_only), &o, "none of the 5 texts");
  const char *bad_utf8[] = { "good words here", "more good words", "bad \xed\xa0\x80 surrogate", "x" };
  expect_fit_error (bad_utf8, G_N_ELEMENTS (bad_utf8), &o, "document 2");
  /* One document: every term is in all of the (one) documents. */
  const char *one[] = { "A single lonely document about lighthouses and whales." };
  expect_fit_error (one, 1, &o, "min_df");
  const char *common[] = { "whale ocean", "whale ocean", "whale tide" };
  expect_fit_error (common, 3, &o, "max_df");

  MsrTfidfOptions bad = o;
  bad.dim = 0;
  expect_fit_error (one, 1, &bad, "option dim");
  bad = o;
  bad.max_df = 0;
  expect_fit_error (one, 1, &bad, "option max_df");
  bad = o;
  bad.max_df = NAN;
  expect_fit_error (one, 1, &bad, "option max_df");
  bad = o;
  bad.seed = G_MAXUINT64;
  expect_fit_error (one, 1, &bad, "option seed");

  g_autoptr(GError) error = NULL;
  {
    /* A 1-document corpus with the filters off: one dimension. */
    MsrTfidfOptions o1;
    options_all_terms (&o1, 64);
    float out[64] = { 0 };
    g_autoptr(MsrTfidf) m = msr_tfidf_fit (one, 1, &o1, out, NULL, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (msr_tfidf_get_dim (m), ==, 1);
    g_assert_cmpuint (msr_tfidf_get_requested_dim (m), ==, 64);
    g_assert_cmpfloat_with_epsilon (out[0], 1.0, 1e-6);
    g_assert_cmpfloat (out[1], ==, 0);   /* untouched */
  }
  {
    /* Fewer documents than dimensions: clamped, and recorded. */
    const char *few[] = { "whale ocean tide", "robot laser orbit", "whale robot", "ocean laser storm",
                          "tide orbit storm" };
    MsrTfidfOptions o2;
    msr_tfidf_options_init (&o2);
    o2.max_df = 1;
    float out[5 * 64];
    ProgressLog log = { 0, 0, TRUE };
    g_autoptr(MsrTfidf) m = msr_tfidf_fit (few, 5, &o2, out, on_progress, &log, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (msr_tfidf_get_dim (m), ==, 5);
    g_assert_true (log.monotone);
    g_assert_cmpfloat (log.last, ==, 1.0);
    g_autofree char *json = msr_tfidf_describe (m);
    g_autoptr(JsonParser) parser = json_parser_new ();
    g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
    JsonObject *root = json_node_get_object (json_parser_get_root (parser));
    g_assert_cmpint (json_object_get_int_member (root, "dim"), ==, 5);
    g_assert_cmpstr (json_object_get_string_member (root, "dim_limited_by"), ==, "documents");
    g_assert_cmpint (json_object_get_int_member (root, "vocabulary_size"), ==, 7);
    g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (root, "options"), "dim"),
                     ==, 64);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "singular_values")),
                      ==, 5);
    g_assert_cmpstr (json_object_get_string_member (root, "fingerprint"), ==,
                     msr_tfidf_get_fingerprint (m));
    for (guint i = 0; i < 5; i++)
      g_assert_cmpfloat_with_epsilon (dot_f (out + i * 5, out + i * 5, 5), 1.0, 1e-5);
  }
  {
    /* Fewer terms than dimensions. */
    const char *narrow[] = { "whale ocean", "whale whale tide", "ocean tide", "tide", "whale",
                             "ocean ocean" };
    MsrTfidfOptions o3;
    options_all_terms (&o3, 64);
    float out[6 * 64];
    g_autoptr(MsrTfidf) m = msr_tfidf_fit (narrow, 6, &o3, out, NULL, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (msr_tfidf_get_dim (m), ==, 3);
    g_autofree char *json = msr_tfidf_describe (m);
    g_assert_nonnull (strstr (json, "\"dim_limited_by\":\"vocabulary\""));
  }
  {
    /* Cancelled before it starts. */
    g_autoptr(GCancellable) cancel = g_cancellable_new ();
    g_cancellable_cancel (cancel);
    const char *few[] = { "whale ocean", "whale robot", "robot laser", "laser ocean" };
    float out[4 * 64];
    g_autoptr(MsrTfidf) m = msr_tfidf_fit (few, 4, &o, out, NULL, NULL, cancel, &error);
    g_assert_null (m);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  }
}

/* ---- the real knowledge texts -------------------------------------------------- */

static GPtrArray *
read_column (const char *path, const char *column)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrCsvReader) r = msr_csv_reader_open (path, ',', &error);
  g_assert_no_error (error);
  g_assert_true (msr_csv_reader_read_header (r, &error));
  int col = msr_csv_reader_require_column (r, column, "knowledge text", &error);
  g_assert_no_error (error);
  GPtrArray *texts = g_ptr_array_new_with_free_func (g_free);
  while (msr_csv_reader_next (r, &error))
    g_ptr_array_add (texts, g_strdup (msr_csv_reader_get_field (r, col)));
  g_assert_no_error (error);
  return texts;
}

static void
check_unit_rows (const float *out, guint k, GPtrArray *texts)
{
  for (guint i = 0; i < texts->len; i++)
    {
      double norm = dot_f (out + (gsize) i * k, out + (gsize) i * k, k);
      const char *t = g_ptr_array_index (texts, i);
      if (*t == '\0')
        g_assert_cmpfloat (norm, ==, 0);
      else
        g_assert_cmpfloat_with_epsilon (norm, 1.0, 1e-5);
    }
}

static void
test_shared_profiles (void)
{
  MSR_TEST_REQUIRE_SHARED (users, "llm-knowledge-ml100k/users_structured_100k.csv");
  g_autoptr(GPtrArray) texts = read_column (users, "user_profile");
  g_assert_cmpuint (texts->len, ==, 943);

  MsrTfidfOptions o;
  msr_tfidf_options_init (&o);
  g_autoptr(GError) error = NULL;
  g_autofree float *out = g_new (float, (gsize) texts->len * o.dim);
  g_autoptr(GTimer) timer = g_timer_new ();
  g_autoptr(MsrTfidf) m = msr_tfidf_fit ((const char *const *) texts->pdata, texts->len, &o, out,
                                         NULL, NULL, NULL, &error);
  double seconds = g_timer_elapsed (timer, NULL);
  g_assert_no_error (error);
  g_assert_cmpuint (msr_tfidf_get_dim (m), ==, 64);
  check_unit_rows (out, 64, texts);
  g_autofree char *json = msr_tfidf_describe (m);
  g_test_message ("943 profiles, dim 64: fit in %.3f s; %s", seconds, json);

  /* Users' own profiles are their own nearest neighbours after a second
   * pass through transform (a sanity check on the real texts). */
  g_autofree float *again = g_new (float, (gsize) texts->len * 64);
  g_assert_true (msr_tfidf_transform (m, (const char *const *) texts->pdata, texts->len, again, &error));
  g_assert_true (memcmp (out, again, (gsize) texts->len * 64 * sizeof (float)) == 0);
}

static void
test_shared_all (void)
{
  MSR_TEST_REQUIRE_SHARED (users, "llm-knowledge-ml100k/users_structured_100k.csv");
  MSR_TEST_REQUIRE_SHARED (movies, "llm-knowledge-ml100k/movies_structured_100K.csv");
  g_autoptr(GPtrArray) texts = read_column (users, "user_profile");
  g_autoptr(GPtrArray) items = read_column (movies, "movie_info");
  for (guint i = 0; i < items->len; i++)
    g_ptr_array_add (texts, g_strdup (g_ptr_array_index (items, i)));

  MsrTfidfOptions o;
  msr_tfidf_options_init (&o);
  g_autoptr(GError) error = NULL;
  g_autofree float *out = g_new (float, (gsize) texts->len * o.dim);
  g_autoptr(GTimer) timer = g_timer_new ();
  g_autoptr(MsrTfidf) m = msr_tfidf_fit ((const char *const *) texts->pdata, texts->len, &o, out,
                                         NULL, NULL, NULL, &error);
  double seconds = g_timer_elapsed (timer, NULL);
  g_assert_no_error (error);
  check_unit_rows (out, 64, texts);
  g_test_message ("%u profiles and movie texts, dim 64: fit in %.3f s, vocabulary %u", texts->len,
                  seconds, msr_tfidf_get_vocabulary_size (m));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/encoder/tokenize", test_tokenize);
  g_test_add_func ("/encoder/stop-lists", test_stop_lists);
  g_test_add_func ("/encoder/tfidf-exact", test_tfidf_exact);
  g_test_add_func ("/encoder/svd", test_svd);
  g_test_add_func ("/encoder/determinism", test_determinism);
  g_test_add_func ("/encoder/transform", test_transform);
  g_test_add_func ("/encoder/planted", test_planted);
  g_test_add_func ("/encoder/hostile", test_hostile);
  g_test_add_func ("/encoder/shared/profiles", test_shared_profiles);
  g_test_add_func ("/encoder/shared/profiles-and-movies", test_shared_all);
  return g_test_run ();
}

/* msr-encoder.c: TF-IDF and a randomized truncated SVD (docs/ENCODER.md). */
#include "config.h"
#include "msr-encoder.h"
#include "msr-rng.h"
#include "msr-lapack.h"
#include "msr-linalg.h"

#include <cblas.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POWER_ITERATIONS 32

/* ---- stop lists (docs/ENCODER.md §2; sorted by bytes for bsearch) ---------- */

static const char *const stop_words[] = {
  "about", "above", "across", "after", "again", "against", "ain", "all",
  "also", "although", "am", "among", "an", "and", "another", "any", "are",
  "aren", "around", "as", "at", "be", "because", "been", "before", "being",
  "below", "between", "both", "but", "by", "can", "could", "couldn", "did",
  "didn", "do", "does", "doesn", "doing", "don", "down", "during", "each",
  "either", "even", "ever", "every", "few", "for", "from", "further", "had",
  "hadn", "has", "hasn", "have", "haven", "having", "he", "her", "here",
  "hers", "herself", "him", "himself", "his", "how", "however", "if", "in",
  "into", "is", "isn", "it", "its", "itself", "just", "ll", "many", "may",
  "me", "might", "mightn", "more", "most", "much", "must", "mustn", "my",
  "myself", "needn", "neither", "no", "nor", "not", "now", "of", "off", "on",
  "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over",
  "own", "rather", "re", "same", "shall", "shan", "she", "should", "shouldn",
  "since", "so", "some", "such", "than", "that", "the", "their", "theirs",
  "them", "themselves", "then", "there", "therefore", "these", "they", "this",
  "those", "though", "through", "thus", "to", "too", "under", "until", "up",
  "upon", "us", "ve", "very", "was", "wasn", "we", "were", "weren", "what",
  "when", "where", "whether", "which", "while", "who", "whom", "whose", "why",
  "will", "with", "within", "without", "won", "would", "wouldn", "yet", "you",
  "your", "yours", "yourself", "yourselves",
  NULL
};

/* The headings and bold labels of the knowledge texts' markdown template:
 * in every text, so they carry no information. */
static const char *const section_words[] = {
  "attributes", "description", "dislikes", "genre", "overview", "tags",
  NULL
};

const char *const *
msr_tfidf_get_stop_words (void)
{
  return stop_words;
}

const char *const *
msr_tfidf_get_section_words (void)
{
  return section_words;
}

/* Whether the len bytes at s are a word of the sorted list. */
static gboolean
in_list (const char *const *list, gsize n, const char *s, gsize len)
{
  gsize lo = 0, hi = n;
  while (lo < hi)
    {
      gsize mid = lo + (hi - lo) / 2;
      int c = strncmp (list[mid], s, len);
      if (c == 0 && list[mid][len] != '\0')
        c = 1;   /* the list word is longer, so it sorts after s */
      if (c == 0)
        return TRUE;
      if (c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return FALSE;
}

static gboolean
is_stop (const char *s, gsize len)
{
  return in_list (stop_words, G_N_ELEMENTS (stop_words) - 1, s, len) ||
         in_list (section_words, G_N_ELEMENTS (section_words) - 1, s, len);
}

/* ---- the tokenizer ------------------------------------------------------- */

/* Lower-cases and NFC-normalises text, and appends the byte offsets of the
 * kept tokens to starts; every kept token is NUL-terminated in the returned
 * buffer. doc < 0 means a text that is not part of a list. */
static char *
tokenize (const char *text, gint64 doc, GArray *starts, GError **error)
{
  g_array_set_size (starts, 0);
  if (text == NULL)
    text = "";
  const char *bad = NULL;
  if (!g_utf8_validate (text, -1, &bad))
    {
      if (doc >= 0)
        g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                     "document %" G_GINT64_FORMAT " is not valid UTF-8 (byte %" G_GSIZE_FORMAT ")",
                     doc, (gsize) (bad - text));
      else
        g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                     "the text is not valid UTF-8 (byte %" G_GSIZE_FORMAT ")", (gsize) (bad - text));
      return NULL;
    }
  g_autofree char *lower = g_utf8_strdown (text, -1);
  char *buf = g_utf8_normalize (lower, -1, G_NORMALIZE_NFC);

  GArray *ends = g_array_new (FALSE, FALSE, sizeof (guint32));
  const char *p = buf;
  while (*p)
    {
      gunichar ch = g_utf8_get_char (p);
      if (!g_unichar_isalnum (ch))
        {
          p = g_utf8_next_char (p);
          continue;
        }
      const char *start = p;
      guint n_chars = 0;
      gboolean digits_only = TRUE;
      while (*p && g_unichar_isalnum (ch = g_utf8_get_char (p)))
        {
          n_chars++;
          digits_only = digits_only && g_unichar_isdigit (ch);
          p = g_utf8_next_char (p);
        }
      gsize len = (gsize) (p - start);
      if (n_chars < 2 || digits_only || is_stop (start, len))
        continue;
      guint32 s = (guint32) (start - buf), e = (guint32) (p - buf);
      g_array_append_val (starts, s);
      g_array_append_val (ends, e);
    }
  /* Only now: a token's end byte starts the next, unread character. */
  for (guint t = 0; t < ends->len; t++)
    buf[g_array_index (ends, guint32, t)] = '\0';
  g_array_unref (ends);
  return buf;
}

char **
msr_tfidf_tokenize (const char *text, GError **error)
{
  g_autoptr(GArray) starts = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autofree char *buf = tokenize (text, -1, starts, error);
  if (buf == NULL)
    return NULL;
  GPtrArray *out = g_ptr_array_new ();
  for (guint t = 0; t < starts->len; t++)
    g_ptr_array_add (out, g_strdup (buf + g_array_index (starts, guint32, t)));
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

/* ---- options ------------------------------------------------------------- */

void
msr_tfidf_options_init (MsrTfidfOptions *opts)
{
  g_return_if_fail (opts != NULL);
  *opts = (MsrTfidfOptions) {
    .dim = 64,
    .min_df = 2,
    .max_df = 0.5,
    .oversample = 10,
    .power_iterations = 8,
    .seed = 1,
  };
}

static gboolean
option_error (GError **error, const char *option, const char *what)
{
  g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "encoder option %s: %s", option, what);
  return FALSE;
}

gboolean
msr_tfidf_options_validate (const MsrTfidfOptions *o, GError **error)
{
  g_return_val_if_fail (o != NULL, FALSE);
  if (o->dim == 0)
    return option_error (error, "dim", "must be at least 1");
  if (o->dim > 4096)
    return option_error (error, "dim", "must be at most 4096");
  if (o->oversample > 4096)
    return option_error (error, "oversample", "must be at most 4096");
  if (!(o->max_df > 0 && o->max_df <= 1))
    return option_error (error, "max_df", "must be a share in (0, 1]");
  if (o->power_iterations > MAX_POWER_ITERATIONS)
    return option_error (error, "power_iterations", "must be at most 32");
  if (o->seed > G_MAXINT64)
    return option_error (error, "seed", "must be at most 9223372036854775807");
  return TRUE;
}

/* ---- the model ----------------------------------------------------------- */

struct _MsrTfidf {
  MsrTfidfOptions opts;
  guint    n_docs;
  guint    n_empty;        /* fit documents with no vocabulary term */
  guint    n_terms_seen;   /* distinct tokens before the df filters */
  gsize    nnz;
  guint    V;              /* vocabulary size */
  guint    k;              /* output dimension */
  guint    l;              /* block size of the range finder, k + p clamped */
  char   **terms;          /* V, sorted, NULL-terminated */
  GHashTable *index;       /* term → index + 1; keys are the strings of terms */
  guint   *df;
  double  *idf;
  double  *sigma;          /* k */
  double  *components;     /* V × k, row-major */
  char    *fingerprint;
};

void
msr_tfidf_free (MsrTfidf *m)
{
  if (m == NULL)
    return;
  g_clear_pointer (&m->index, g_hash_table_unref);
  g_strfreev (m->terms);
  g_free (m->df);
  g_free (m->idf);
  g_free (m->sigma);
  g_free (m->components);
  g_free (m->fingerprint);
  g_free (m);
}

guint msr_tfidf_get_dim (const MsrTfidf *m) { g_return_val_if_fail (m, 0); return m->k; }
guint msr_tfidf_get_requested_dim (const MsrTfidf *m) { g_return_val_if_fail (m, 0); return m->opts.dim; }
guint msr_tfidf_get_n_documents (const MsrTfidf *m) { g_return_val_if_fail (m, 0); return m->n_docs; }
guint msr_tfidf_get_vocabulary_size (const MsrTfidf *m) { g_return_val_if_fail (m, 0); return m->V; }
const double *msr_tfidf_get_idf (const MsrTfidf *m) { g_return_val_if_fail (m, NULL); return m->idf; }
const guint *msr_tfidf_get_document_frequencies (const MsrTfidf *m) { g_return_val_if_fail (m, NULL); return m->df; }
const double *msr_tfidf_get_singular_values (const MsrTfidf *m) { g_return_val_if_fail (m, NULL); return m->sigma; }
const double *msr_tfidf_get_components (const MsrTfidf *m) { g_return_val_if_fail (m, NULL); return m->components; }
const char *msr_tfidf_get_fingerprint (const MsrTfidf *m) { g_return_val_if_fail (m, NULL); return m->fingerprint; }

const char *
msr_tfidf_get_term (const MsrTfidf *m, guint term)
{
  g_return_val_if_fail (m != NULL && term < m->V, NULL);
  return m->terms[term];
}

int
msr_tfidf_find_term (const MsrTfidf *m, const char *term)
{
  g_return_val_if_fail (m != NULL && term != NULL, -1);
  return (int) GPOINTER_TO_UINT (g_hash_table_lookup (m->index, term)) - 1;
}

/* ---- weighting and projection (shared by fit and transform) -------------- */

/* The L2-normalised sublinear TF-IDF weights of one document whose m
 * distinct terms (ascending) occur counts[e] times. */
static void
weigh_counts (const double *idf, const guint32 *terms, const guint32 *counts, gsize m, float *vals)
{
  double ss = 0;
  for (gsize e = 0; e < m; e++)
    {
      double w = (1.0 + log ((double) counts[e])) * idf[terms[e]];
      ss += w * w;
    }
  if (!(ss > 0))
    return;
  const double inv = 1.0 / sqrt (ss);
  for (gsize e = 0; e < m; e++)
    vals[e] = (float) ((1.0 + log ((double) counts[e])) * idf[terms[e]] * inv);
}

/* out = x V_k / ‖x V_k‖ (zero when x V_k is). acc holds k doubles. */
static void
project_row (const MsrTfidf *m, const guint32 *cols, const float *vals, gsize cnt, double *acc,
             float *out)
{
  const guint k = m->k;
  memset (acc, 0, k * sizeof (double));
  for (gsize e = 0; e < cnt; e++)
    {
      const double x = vals[e];
      const double *row = m->components + (gsize) cols[e] * k;
      for (guint r = 0; r < k; r++)
        acc[r] += x * row[r];
    }
  double ss = 0;
  for (guint r = 0; r < k; r++)
    ss += acc[r] * acc[r];
  const double inv = ss > 0 ? 1.0 / sqrt (ss) : 0.0;
  for (guint r = 0; r < k; r++)
    out[r] = (float) (acc[r] * inv);
}

static int
cmp_u32 (const void *a, const void *b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return (x > y) - (x < y);
}

static int
cmp_u64 (const void *a, const void *b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return (x > y) - (x < y);
}

/* Scratch for one document's sparse TF-IDF row against a fitted model. */
typedef struct {
  GArray *starts;   /* token offsets */
  GArray *ids;      /* vocabulary ids of the tokens, then sorted */
  GArray *cols;     /* distinct ids */
  GArray *counts;
  GArray *vals;     /* float weights */
} Row;

static void
row_init (Row *r)
{
  r->starts = g_array_new (FALSE, FALSE, sizeof (guint32));
  r->ids = g_array_new (FALSE, FALSE, sizeof (guint32));
  r->cols = g_array_new (FALSE, FALSE, sizeof (guint32));
  r->counts = g_array_new (FALSE, FALSE, sizeof (guint32));
  r->vals = g_array_new (FALSE, FALSE, sizeof (float));
}

static void
row_clear (Row *r)
{
  g_array_unref (r->starts);
  g_array_unref (r->ids);
  g_array_unref (r->cols);
  g_array_unref (r->counts);
  g_array_unref (r->vals);
}

/* Fills r->cols / r->vals with the TF-IDF row of text (words outside the
 * vocabulary ignored). */
static gboolean
row_compute (const MsrTfidf *m, const char *text, gint64 doc, Row *r, GError **error)
{
  g_autofree char *buf = tokenize (text, doc, r->starts, error);
  if (buf == NULL)
    return FALSE;
  g_array_set_size (r->ids, 0);
  for (guint t = 0; t < r->starts->len; t++)
    {
      guint id = GPOINTER_TO_UINT (g_hash_table_lookup (m->index, buf + g_array_index (r->starts, guint32, t)));
      if (id > 0)
        {
          guint32 v = id - 1;
          g_array_append_val (r->ids, v);
        }
    }
  qsort (r->ids->data, r->ids->len, sizeof (guint32), cmp_u32);
  g_array_set_size (r->cols, 0);
  g_array_set_size (r->counts, 0);
  const guint32 *ids = (const guint32 *) r->ids->data;
  for (guint a = 0; a < r->ids->len;)
    {
      guint b = a + 1;
      while (b < r->ids->len && ids[b] == ids[a])
        b++;
      guint32 c = b - a;
      g_array_append_val (r->cols, ids[a]);
      g_array_append_val (r->counts, c);
      a = b;
    }
  g_array_set_size (r->vals, r->cols->len);
  weigh_counts (m->idf, (const guint32 *) r->cols->data, (const guint32 *) r->counts->data,
                r->cols->len, (float *) r->vals->data);
  return TRUE;
}

/* ---- dense linear algebra ------------------------------------------------ */

/* The sparse TF-IDF matrix X (n × V), CSR. */
typedef struct {
  guint    n, V;
  gsize   *ptr;    /* n + 1 */
  guint32 *col;
  float   *val;
} Csr;

/* Y = X A: A is V × l and Y n × l, both column-major. */
static void
csr_mul (const Csr *x, const float *a, guint l, float *y)
{
  for (guint c = 0; c < l; c++)
    {
      const float *ac = a + (gsize) c * x->V;
      float *yc = y + (gsize) c * x->n;
      for (guint i = 0; i < x->n; i++)
        {
          double s = 0;
          for (gsize e = x->ptr[i]; e < x->ptr[i + 1]; e++)
            s += (double) x->val[e] * ac[x->col[e]];
          yc[i] = (float) s;
        }
    }
}

/* Z = Xᵀ Q: Q is n × l and Z V × l, both column-major; scratch holds V. */
static void
csr_tmul (const Csr *x, const float *q, guint l, float *z, double *scratch)
{
  for (guint c = 0; c < l; c++)
    {
      const float *qc = q + (gsize) c * x->n;
      memset (scratch, 0, (gsize) x->V * sizeof (double));
      for (guint i = 0; i < x->n; i++)
        {
          const double qi = qc[i];
          for (gsize e = x->ptr[i]; e < x->ptr[i + 1]; e++)
            scratch[x->col[e]] += qi * x->val[e];
        }
      float *zc = z + (gsize) c * x->V;
      for (guint j = 0; j < x->V; j++)
        zc[j] = (float) scratch[j];
    }
}

static gboolean
lapack_error (GError **error, const char *routine, blasint info)
{
  g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "encoder: LAPACK %s failed (info %d)", routine,
               (int) info);
  return FALSE;
}

/* Replaces the m × l column-major a (m ≥ l) by the Q of its QR
 * factorisation: orthonormal columns spanning the same space. */
static gboolean
orthonormalise (float *a, guint m, guint l, GError **error)
{
  const blasint bm = (blasint) m, bl = (blasint) l, query = -1;
  blasint info = 0;
  float w1 = 0, w2 = 0;
  g_autofree float *tau = g_new (float, l);
  sgeqrf_ (&bm, &bl, a, &bm, tau, &w1, &query, &info);
  if (info != 0)
    return lapack_error (error, "sgeqrf", info);
  sorgqr_ (&bm, &bl, &bl, a, &bm, tau, &w2, &query, &info);
  if (info != 0)
    return lapack_error (error, "sorgqr", info);
  const blasint lwork = (blasint) MAX (MAX (w1, w2), (float) l) + l;
  g_autofree float *work = g_new (float, lwork);
  sgeqrf_ (&bm, &bl, a, &bm, tau, work, &lwork, &info);
  if (info != 0)
    return lapack_error (error, "sgeqrf", info);
  sorgqr_ (&bm, &bl, &bl, a, &bm, tau, work, &lwork, &info);
  if (info != 0)
    return lapack_error (error, "sorgqr", info);
  return TRUE;
}

/* The thin SVD of the l × V column-major b (l ≤ V): s (l) and vt (l × V,
 * column-major, ldvt = l). Column-major b is row-major bᵀ (V × l), whose
 * left singular vectors (row-major V × l) are exactly b's vt in that
 * layout. */
static gboolean
small_svd (const double *b, guint l, guint V, double *s, double *vt, GError **error)
{
  return msr_linalg_svd (b, V, l, s, vt, NULL, error);
}

/* Standard normal draws: Marsaglia's polar method on msr_rng_uniform, both
 * values of each accepted pair used in turn. */
typedef struct {
  MsrRng   rng;
  double   spare;
  gboolean has_spare;
} Gauss;

static double
gauss_next (Gauss *g)
{
  return msr_rng_normal (&g->rng, &g->spare, &g->has_spare);
}

/* ---- fitting ------------------------------------------------------------- */

static void
checksum_u64 (GChecksum *c, guint64 v)
{
  guint64 le = GUINT64_TO_LE (v);
  g_checksum_update (c, (const guchar *) &le, sizeof le);
}

static char *
compute_fingerprint (const char *const *texts, guint n, const MsrTfidfOptions *o)
{
  g_autoptr(GChecksum) c = g_checksum_new (G_CHECKSUM_SHA256);
  const char tag[] = "msrlens-tfidf-1";
  G_STATIC_ASSERT (MSR_TFIDF_VERSION == 1);   /* keep the tag in step */
  g_checksum_update (c, (const guchar *) tag, sizeof tag);
  union { double d; guint64 u; } max_df = { .d = o->max_df };
  checksum_u64 (c, o->dim);
  checksum_u64 (c, MAX (o->min_df, 1));
  checksum_u64 (c, max_df.u);
  checksum_u64 (c, o->oversample);
  checksum_u64 (c, o->power_iterations);
  checksum_u64 (c, o->seed);
  checksum_u64 (c, n);
  for (guint i = 0; i < n; i++)
    {
      const char *t = texts[i] ? texts[i] : "";
      gsize len = strlen (t);
      checksum_u64 (c, len);
      g_checksum_update (c, (const guchar *) t, len);
    }
  return g_strdup (g_checksum_get_string (c));
}

static gboolean
check_cancel (GCancellable *cancellable, GError **error)
{
  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}

static int
cmp_term (const void *a, const void *b, gpointer user_data)
{
  char **raw = user_data;
  return strcmp (raw[*(const guint32 *) a], raw[*(const guint32 *) b]);
}

typedef struct {
  GHashTable *raw_index;   /* token → raw id + 1; keys owned by raw_terms */
  GPtrArray  *raw_terms;
  GArray     *raw_df;      /* guint */
  GArray     *doc_ptr;     /* gsize, n + 1: each document's (raw id, count) pairs */
  GArray     *pair_id;     /* guint32 */
  GArray     *pair_count;  /* guint32 */
  guint32    *raw_to_term; /* raw id → vocabulary id, or G_MAXUINT32 */
  Csr         x;
  float      *omega, *y, *z;
  double     *scratch, *bt, *s, *vt;
} Fit;

static void
fit_clear (Fit *f)
{
  g_clear_pointer (&f->raw_index, g_hash_table_unref);
  g_clear_pointer (&f->raw_terms, g_ptr_array_unref);
  g_clear_pointer (&f->raw_df, g_array_unref);
  g_clear_pointer (&f->doc_ptr, g_array_unref);
  g_clear_pointer (&f->pair_id, g_array_unref);
  g_clear_pointer (&f->pair_count, g_array_unref);
  g_free (f->raw_to_term);
  g_free (f->x.ptr);
  g_free (f->x.col);
  g_free (f->x.val);
  g_free (f->omega);
  g_free (f->y);
  g_free (f->z);
  g_free (f->scratch);
  g_free (f->bt);
  g_free (f->s);
  g_free (f->vt);
}

/* Stage 1: every document's distinct tokens with their counts, and the
 * document frequency of every token. */
static gboolean
count_tokens (Fit *f, const char *const *texts, guint n, MsrProgressFunc progress,
              gpointer progress_data, GCancellable *cancellable, GError **error)
{
  f->raw_index = g_hash_table_new (g_str_hash, g_str_equal);
  f->raw_terms = g_ptr_array_new_with_free_func (g_free);
  f->raw_df = g_array_new (FALSE, TRUE, sizeof (guint));
  f->doc_ptr = g_array_sized_new (FALSE, FALSE, sizeof (gsize), n + 1);
  f->pair_id = g_array_new (FALSE, FALSE, sizeof (guint32));
  f->pair_count = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) starts = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint32));
  gsize zero = 0;
  g_array_append_val (f->doc_ptr, zero);

  for (guint i = 0; i < n; i++)
    {
      if (i % 64 == 0)
        {
          if (!check_cancel (cancellable, error))
            return FALSE;
          if (progress)
            progress (0.3 * i / n, "Tokenizing", progress_data);
        }
      g_autofree char *buf = tokenize (texts[i], i, starts, error);
      if (buf == NULL)
        return FALSE;
      g_array_set_size (ids, 0);
      for (guint t = 0; t < starts->len; t++)
        {
          const char *tok = buf + g_array_index (starts, guint32, t);
          guint id = GPOINTER_TO_UINT (g_hash_table_lookup (f->raw_index, tok));
          if (id == 0)
            {
              char *key = g_strdup (tok);
              g_ptr_array_add (f->raw_terms, key);
              g_array_set_size (f->raw_df, f->raw_terms->len);
              id = f->raw_terms->len;
              g_hash_table_insert (f->raw_index, key, GUINT_TO_POINTER (id));
            }
          guint32 v = id - 1;
          g_array_append_val (ids, v);
        }
      qsort (ids->data, ids->len, sizeof (guint32), cmp_u32);
      const guint32 *d = (const guint32 *) ids->data;
      for (guint a = 0; a < ids->len;)
        {
          guint b = a + 1;
          while (b < ids->len && d[b] == d[a])
            b++;
          guint32 c = b - a;
          g_array_append_val (f->pair_id, d[a]);
          g_array_append_val (f->pair_count, c);
          g_array_index (f->raw_df, guint, d[a])++;
          a = b;
        }
      gsize end = f->pair_id->len;
      g_array_append_val (f->doc_ptr, end);
    }
  if (f->raw_terms->len == 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "encoder: none of the %u texts has a word (they are empty or hold only stop "
                   "words, single characters and numbers)", n);
      return FALSE;
    }
  return TRUE;
}

/* Stage 2: the vocabulary (df filters, sorted), idf, and the CSR matrix. */
static gboolean
build_matrix (Fit *f, MsrTfidf *m, GError **error)
{
  const guint n = m->n_docs;
  const guint n_raw = f->raw_terms->len;
  const guint min_df = MAX (m->opts.min_df, 1);
  const guint *raw_df = (const guint *) f->raw_df->data;
  g_autofree guint32 *kept = g_new (guint32, n_raw);
  guint V = 0;
  for (guint r = 0; r < n_raw; r++)
    if (raw_df[r] >= min_df && (double) raw_df[r] <= m->opts.max_df * n)
      kept[V++] = r;
  m->n_terms_seen = n_raw;
  if (V == 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "encoder: no term is in at least %u (min_df) and at most %g%% (max_df) of the %u "
                   "documents; %u distinct terms before these filters", min_df, 100 * m->opts.max_df,
                   n, n_raw);
      return FALSE;
    }
  g_qsort_with_data (kept, V, sizeof (guint32), cmp_term, f->raw_terms->pdata);

  m->V = V;
  m->terms = g_new (char *, V + 1);
  m->df = g_new (guint, V);
  m->idf = g_new (double, V);
  m->index = g_hash_table_new (g_str_hash, g_str_equal);
  f->raw_to_term = g_new (guint32, n_raw);
  for (guint r = 0; r < n_raw; r++)
    f->raw_to_term[r] = G_MAXUINT32;
  for (guint t = 0; t < V; t++)
    {
      m->terms[t] = g_strdup (g_ptr_array_index (f->raw_terms, kept[t]));
      m->df[t] = raw_df[kept[t]];
      m->idf[t] = log ((1.0 + n) / (1.0 + m->df[t])) + 1.0;
      g_hash_table_insert (m->index, m->terms[t], GUINT_TO_POINTER (t + 1));
      f->raw_to_term[kept[t]] = t;
    }
  m->terms[V] = NULL;

  const gsize *doc_ptr = (const gsize *) f->doc_ptr->data;
  const guint32 *pid = (const guint32 *) f->pair_id->data;
  const guint32 *pcount = (const guint32 *) f->pair_count->data;
  gsize nnz = 0;
  for (gsize e = 0; e < f->pair_id->len; e++)
    nnz += f->raw_to_term[pid[e]] != G_MAXUINT32;
  f->x.n = n;
  f->x.V = V;
  f->x.ptr = g_new (gsize, (gsize) n + 1);
  f->x.col = g_new (guint32, MAX (nnz, 1));
  f->x.val = g_new (float, MAX (nnz, 1));
  g_autoptr(GArray) counts = g_array_new (FALSE, FALSE, sizeof (guint32));
  gsize at = 0;
  for (guint i = 0; i < n; i++)
    {
      f->x.ptr[i] = at;
      /* (vocabulary id, count) pairs sorted by id: the order
       * row_compute produces, so both weigh identically. */
      g_autofree guint64 *packed = g_new (guint64, MAX (doc_ptr[i + 1] - doc_ptr[i], 1));
      gsize m_i = 0;
      for (gsize e = doc_ptr[i]; e < doc_ptr[i + 1]; e++)
        if (f->raw_to_term[pid[e]] != G_MAXUINT32)
          packed[m_i++] = ((guint64) f->raw_to_term[pid[e]] << 32) | pcount[e];
      qsort (packed, m_i, sizeof (guint64), cmp_u64);
      g_array_set_size (counts, m_i);
      for (gsize e = 0; e < m_i; e++)
        {
          f->x.col[at + e] = (guint32) (packed[e] >> 32);
          g_array_index (counts, guint32, e) = (guint32) packed[e];
        }
      weigh_counts (m->idf, f->x.col + at, (const guint32 *) counts->data, m_i, f->x.val + at);
      m->n_empty += m_i == 0;
      at += m_i;
    }
  f->x.ptr[n] = at;
  m->nnz = nnz;
  return TRUE;
}

/* Stages 3 and 4: the randomized range finder with power iterations
 * (Halko et al. 2011, algorithm 4.4), then the SVD of B = Qᵀ X. */
static gboolean
truncated_svd (Fit *f, MsrTfidf *m, MsrProgressFunc progress, gpointer progress_data,
               GCancellable *cancellable, GError **error)
{
  const Csr *x = &f->x;
  const guint n = x->n, V = x->V, k = m->k, l = m->l;

  /* Ω drawn row by row (term by term), stored column-major. */
  Gauss g = { .has_spare = FALSE };
  msr_rng_init (&g.rng, m->opts.seed);
  f->omega = g_new (float, (gsize) V * l);
  for (guint j = 0; j < V; j++)
    for (guint c = 0; c < l; c++)
      f->omega[(gsize) c * V + j] = (float) gauss_next (&g);

  f->y = g_new (float, (gsize) n * l);
  f->z = g_new (float, (gsize) V * l);
  f->scratch = g_new (double, V);
  csr_mul (x, f->omega, l, f->y);
  if (!orthonormalise (f->y, n, l, error))
    return FALSE;
  const guint q = m->opts.power_iterations;
  for (guint it = 0; it < q; it++)
    {
      if (!check_cancel (cancellable, error))
        return FALSE;
      if (progress)
        progress (0.35 + 0.45 * it / MAX (q, 1), "Power iterations", progress_data);
      /* Re-orthonormalising both products keeps the small singular
       * directions from being rounded away (Halko et al. §4.5). */
      csr_tmul (x, f->y, l, f->z, f->scratch);
      if (!orthonormalise (f->z, V, l, error))
        return FALSE;
      csr_mul (x, f->z, l, f->y);
      if (!orthonormalise (f->y, n, l, error))
        return FALSE;
    }
  if (!check_cancel (cancellable, error))
    return FALSE;
  if (progress)
    progress (0.8, "Singular value decomposition", progress_data);

  /* B = Qᵀ X in double, l × V column-major (= Xᵀ Q row-major). */
  g_autofree double *qrow = g_new (double, (gsize) n * l);
  for (guint c = 0; c < l; c++)
    for (guint i = 0; i < n; i++)
      qrow[(gsize) i * l + c] = f->y[(gsize) c * n + i];
  f->bt = g_new0 (double, (gsize) V * l);
  for (guint i = 0; i < n; i++)
    {
      const double *qi = qrow + (gsize) i * l;
      for (gsize e = x->ptr[i]; e < x->ptr[i + 1]; e++)
        {
          const double v = x->val[e];
          double *b = f->bt + (gsize) x->col[e] * l;
          for (guint c = 0; c < l; c++)
            b[c] += v * qi[c];
        }
    }
  f->s = g_new (double, l);
  f->vt = g_new (double, (gsize) l * V);
  if (!small_svd (f->bt, l, V, f->s, f->vt, error))
    return FALSE;

  m->sigma = g_new (double, k);
  m->components = g_new (double, (gsize) V * k);
  for (guint r = 0; r < k; r++)
    {
      m->sigma[r] = f->s[r];
      /* Signs: the entry of largest magnitude (the first such) positive. */
      guint best = 0;
      for (guint j = 1; j < V; j++)
        if (fabs (f->vt[(gsize) j * l + r]) > fabs (f->vt[(gsize) best * l + r]))
          best = j;
      const double sign = f->vt[(gsize) best * l + r] < 0 ? -1.0 : 1.0;
      for (guint j = 0; j < V; j++)
        m->components[(gsize) j * k + r] = sign * f->vt[(gsize) j * l + r];
    }
  return TRUE;
}

MsrTfidf *
msr_tfidf_fit (const char *const *texts, guint n, const MsrTfidfOptions *opts, float *out,
               MsrProgressFunc progress, gpointer progress_data, GCancellable *cancellable,
               GError **error)
{
  g_return_val_if_fail (texts != NULL || n == 0, NULL);
  g_return_val_if_fail (out != NULL || n == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  MsrTfidfOptions o;
  if (opts)
    o = *opts;
  else
    msr_tfidf_options_init (&o);
  if (!msr_tfidf_options_validate (&o, error))
    return NULL;
  if (n == 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "encoder: there are no texts to fit");
      return NULL;
    }
  /* LAPACK takes int dimensions. */
  if (n > G_MAXINT32 / 2)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "encoder: %u texts are too many", n);
      return NULL;
    }
  if (!check_cancel (cancellable, error))
    return NULL;

  g_autoptr(MsrTfidf) m = g_new0 (MsrTfidf, 1);
  m->opts = o;
  m->opts.min_df = MAX (o.min_df, 1);
  m->n_docs = n;
  m->fingerprint = compute_fingerprint (texts, n, &o);

  Fit f = { 0 };
  gboolean ok = count_tokens (&f, texts, n, progress, progress_data, cancellable, error) &&
                check_cancel (cancellable, error);
  if (ok)
    {
      if (progress)
        progress (0.3, "Weighting", progress_data);
      ok = build_matrix (&f, m, error) && check_cancel (cancellable, error);
    }
  if (ok)
    {
      m->k = MIN (MIN (o.dim, n), m->V);
      m->l = MIN (MIN (m->k + o.oversample, n), m->V);
      if (progress)
        progress (0.35, "Range finder", progress_data);
      ok = truncated_svd (&f, m, progress, progress_data, cancellable, error) &&
           check_cancel (cancellable, error);
    }
  if (ok)
    {
      if (progress)
        progress (0.95, "Projecting", progress_data);
      g_autofree double *acc = g_new (double, m->k);
      for (guint i = 0; i < n; i++)
        project_row (m, f.x.col + f.x.ptr[i], f.x.val + f.x.ptr[i], f.x.ptr[i + 1] - f.x.ptr[i],
                     acc, out + (gsize) i * m->k);
    }
  fit_clear (&f);
  if (!ok)
    return NULL;
  if (progress)
    progress (1.0, "Done", progress_data);
  return g_steal_pointer (&m);
}

/* ---- using a fitted model ------------------------------------------------ */

gboolean
msr_tfidf_transform (const MsrTfidf *m, const char *const *texts, guint n, float *out, GError **error)
{
  g_return_val_if_fail (m != NULL, FALSE);
  g_return_val_if_fail (texts != NULL || n == 0, FALSE);
  g_return_val_if_fail (out != NULL || n == 0, FALSE);

  Row r;
  row_init (&r);
  g_autofree double *acc = g_new (double, m->k);
  gboolean ok = TRUE;
  for (guint i = 0; i < n && ok; i++)
    {
      ok = row_compute (m, texts[i], i, &r, error);
      if (ok)
        project_row (m, (const guint32 *) r.cols->data, (const float *) r.vals->data, r.cols->len,
                     acc, out + (gsize) i * m->k);
    }
  row_clear (&r);
  return ok;
}

gboolean
msr_tfidf_weigh (const MsrTfidf *m, const char *text, double *out, GError **error)
{
  g_return_val_if_fail (m != NULL && out != NULL, FALSE);
  Row r;
  row_init (&r);
  gboolean ok = row_compute (m, text, -1, &r, error);
  if (ok)
    {
      memset (out, 0, (gsize) m->V * sizeof (double));
      for (guint e = 0; e < r.cols->len; e++)
        out[g_array_index (r.cols, guint32, e)] = g_array_index (r.vals, float, e);
    }
  row_clear (&r);
  return ok;
}

char *
msr_tfidf_describe (const MsrTfidf *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
#define MEMBER(name) json_builder_set_member_name (b, name)
  MEMBER ("encoder"); json_builder_add_string_value (b, "tfidf-rsvd");
  MEMBER ("version"); json_builder_add_int_value (b, MSR_TFIDF_VERSION);
  MEMBER ("options");
  json_builder_begin_object (b);
  MEMBER ("dim"); json_builder_add_int_value (b, m->opts.dim);
  MEMBER ("min_df"); json_builder_add_int_value (b, m->opts.min_df);
  MEMBER ("max_df"); json_builder_add_double_value (b, m->opts.max_df);
  MEMBER ("oversample"); json_builder_add_int_value (b, m->opts.oversample);
  MEMBER ("power_iterations"); json_builder_add_int_value (b, m->opts.power_iterations);
  MEMBER ("seed"); json_builder_add_int_value (b, (gint64) m->opts.seed);
  json_builder_end_object (b);
  MEMBER ("dim"); json_builder_add_int_value (b, m->k);
  /* Why the dimension is smaller than asked, or null. */
  MEMBER ("dim_limited_by");
  if (m->k == m->opts.dim)
    json_builder_add_null_value (b);
  else
    json_builder_add_string_value (b, m->k == m->n_docs ? "documents" : "vocabulary");
  MEMBER ("block_size"); json_builder_add_int_value (b, m->l);
  MEMBER ("n_documents"); json_builder_add_int_value (b, m->n_docs);
  MEMBER ("n_empty_documents"); json_builder_add_int_value (b, m->n_empty);
  MEMBER ("n_terms_seen"); json_builder_add_int_value (b, m->n_terms_seen);
  MEMBER ("vocabulary_size"); json_builder_add_int_value (b, m->V);
  MEMBER ("nnz"); json_builder_add_int_value (b, (gint64) m->nnz);
  MEMBER ("singular_values");
  json_builder_begin_array (b);
  for (guint r = 0; r < m->k; r++)
    json_builder_add_double_value (b, m->sigma[r]);
  json_builder_end_array (b);
  MEMBER ("fingerprint"); json_builder_add_string_value (b, m->fingerprint);
#undef MEMBER
  json_builder_end_object (b);

  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

/* ---- distinctive terms --------------------------------------------------- */

typedef struct {
  double   excess;
  guint32  term;
} Excess;

static int
cmp_excess (const void *a, const void *b)
{
  const Excess *x = a, *y = b;
  if (x->excess != y->excess)
    return x->excess > y->excess ? -1 : 1;
  return (x->term > y->term) - (x->term < y->term);
}

char ***
msr_tfidf_distinctive_terms (const MsrTfidf *m, const char *const *texts, guint n, const int *group,
                             guint n_groups, guint k, GError **error)
{
  g_return_val_if_fail (m != NULL, NULL);
  g_return_val_if_fail (texts != NULL || n == 0, NULL);
  g_return_val_if_fail (group != NULL || n == 0, NULL);

  for (guint i = 0; i < n; i++)
    if (group[i] < -1 || (group[i] >= 0 && (guint) group[i] >= n_groups))
      {
        g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                     "document %u: group %d is outside -1 .. %d", i, group[i], (int) n_groups - 1);
        return NULL;
      }

  /* Every document's row, and the column sums over all documents. */
  g_autoptr(GArray) ptr = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autoptr(GArray) cols = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) vals = g_array_new (FALSE, FALSE, sizeof (float));
  g_autofree double *total = g_new0 (double, m->V);
  Row r;
  row_init (&r);
  gsize zero = 0;
  g_array_append_val (ptr, zero);
  for (guint i = 0; i < n; i++)
    {
      if (!row_compute (m, texts[i], i, &r, error))
        {
          row_clear (&r);
          return NULL;
        }
      g_array_append_vals (cols, r.cols->data, r.cols->len);
      g_array_append_vals (vals, r.vals->data, r.vals->len);
      for (guint e = 0; e < r.cols->len; e++)
        total[g_array_index (r.cols, guint32, e)] += g_array_index (r.vals, float, e);
      gsize end = cols->len;
      g_array_append_val (ptr, end);
    }
  row_clear (&r);
  const gsize *p = (const gsize *) ptr->data;
  const guint32 *c = (const guint32 *) cols->data;
  const float *v = (const float *) vals->data;

  /* Documents by group (in document order within a group). */
  g_autofree guint *start = g_new0 (guint, (gsize) n_groups + 1);
  for (guint i = 0; i < n; i++)
    if (group[i] >= 0)
      start[group[i] + 1]++;
  for (guint g = 0; g < n_groups; g++)
    start[g + 1] += start[g];
  g_autofree guint *members = g_new (guint, MAX (start[n_groups], 1));
  g_autofree guint *fill = g_memdup2 (start, ((gsize) n_groups + 1) * sizeof (guint));
  for (guint i = 0; i < n; i++)
    if (group[i] >= 0)
      members[fill[group[i]]++] = i;

  char ***result = g_new0 (char **, (gsize) n_groups + 1);
  g_autofree double *sum = g_new0 (double, m->V);
  g_autoptr(GArray) touched = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) cand = g_array_new (FALSE, FALSE, sizeof (Excess));
  for (guint g = 0; g < n_groups; g++)
    {
      const guint n_in = start[g + 1] - start[g], n_out = n - n_in;
      g_array_set_size (touched, 0);
      for (guint a = start[g]; a < start[g + 1]; a++)
        {
          guint i = members[a];
          for (gsize e = p[i]; e < p[i + 1]; e++)
            {
              if (sum[c[e]] == 0)
                g_array_append_val (touched, c[e]);
              sum[c[e]] += v[e];
            }
        }
      /* Only terms present in the group can exceed the others' mean. */
      g_array_set_size (cand, 0);
      for (guint t = 0; t < touched->len; t++)
        {
          guint32 term = g_array_index (touched, guint32, t);
          double mean_in = sum[term] / n_in;
          double mean_out = n_out > 0 ? MAX (total[term] - sum[term], 0.0) / n_out : 0.0;
          Excess x = { mean_in - mean_out, term };
          if (x.excess > 0)
            g_array_append_val (cand, x);
          sum[term] = 0;
        }
      qsort (cand->data, cand->len, sizeof (Excess), cmp_excess);
      guint take = MIN (k, cand->len);
      result[g] = g_new (char *, (gsize) take + 1);
      for (guint t = 0; t < take; t++)
        result[g][t] = g_strdup (m->terms[g_array_index (cand, Excess, t).term]);
      result[g][take] = NULL;
    }
  return result;
}

void
msr_tfidf_terms_free (char ***terms, guint n_groups)
{
  if (terms == NULL)
    return;
  for (guint g = 0; g < n_groups; g++)
    g_strfreev (terms[g]);
  g_free (terms);
}

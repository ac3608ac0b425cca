/* msr-encoder.h: a built-in text encoder for the knowledge texts an LLM
 * wrote about users and items (markdown profiles and descriptions).
 *
 * TF-IDF over the corpus, then a randomized truncated SVD (Halko,
 * Martinsson & Tropp 2011) on OpenBLAS and its LAPACK: every text becomes
 * a unit vector of `dim` floats, so cosine similarity is a dot product.
 * docs/ENCODER.md is the exact definition (tokenizer, stop words, filters,
 * weighting, the SVD, seeds, signs, the fingerprint).
 *
 * A fitted model is immutable: every function taking a const MsrTfidf may
 * be called from several threads at once. */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include "msr-error.h"

G_BEGIN_DECLS

/* Bumped whenever the same texts and options would give other vectors. */
#define MSR_TFIDF_VERSION 1

typedef struct {
  guint    dim;              /* output dimension k; default 64 */
  guint    min_df;           /* keep terms in at least this many documents (0 counts as 1); default 2 */
  double   max_df;           /* drop terms in more than this share of the documents, in (0, 1]; default 0.5 */
  guint    oversample;       /* randomized SVD oversampling p; default 10 */
  guint    power_iterations; /* q, at most 32; default 8 (docs/ENCODER.md §11: 2 leaves the tail of a flat spectrum 9% off) */
  guint64  seed;             /* the Gaussian test matrix (MsrRng), at most G_MAXINT64; default 1 */
} MsrTfidfOptions;

void     msr_tfidf_options_init       (MsrTfidfOptions *opts);
/* The error names the option and what is wrong. */
gboolean msr_tfidf_options_validate   (const MsrTfidfOptions *opts, GError **error);

typedef struct _MsrTfidf MsrTfidf;

/* Fits on n texts (UTF-8, NUL-terminated; NULL counts as empty) and writes
 * their vectors to out, which must hold n × opts->dim floats: n rows of
 * msr_tfidf_get_dim() floats each, packed (row i starts at i × get_dim (),
 * which is less than opts->dim when the corpus is small; the tail of out is
 * then left alone). An empty document, or one none of whose words is in the
 * vocabulary, gets the zero vector; every other row has unit norm.
 * Fails (MSR_ERROR_INVALID) on n == 0, a text that is not valid UTF-8 (the
 * error names the 0-based document index), when no text has a word, or
 * when the document-frequency filters leave no term; G_IO_ERROR_CANCELLED
 * when cancelled (checked between stages and while tokenizing). */
MsrTfidf *msr_tfidf_fit               (const char *const     *texts,
                                       guint                  n,
                                       const MsrTfidfOptions *opts,
                                       float                 *out,
                                       MsrProgressFunc        progress,
                                       gpointer               progress_data,
                                       GCancellable          *cancellable,
                                       GError               **error);

/* Folds new texts into the fitted space with the formula that gave the
 * fitted documents' vectors, so transform (fit texts) equals the fit's
 * output. out holds n × msr_tfidf_get_dim() floats. Words outside the
 * vocabulary are ignored. Fails only on invalid UTF-8 (naming the index). */
gboolean  msr_tfidf_transform         (const MsrTfidf    *model,
                                       const char *const *texts,
                                       guint              n,
                                       float             *out,
                                       GError           **error);

/* The output dimension: min (opts->dim, n, vocabulary size), smaller than
 * the requested dim when the corpus has fewer documents or terms
 * (msr_tfidf_describe records both). Trailing singular values may be 0
 * when the TF-IDF matrix has lower rank still. */
guint         msr_tfidf_get_dim              (const MsrTfidf *model);
guint         msr_tfidf_get_requested_dim    (const MsrTfidf *model);
guint         msr_tfidf_get_n_documents      (const MsrTfidf *model);
guint         msr_tfidf_get_vocabulary_size  (const MsrTfidf *model);
/* Term t of the vocabulary (sorted by bytes, i.e. by code point). */
const char   *msr_tfidf_get_term             (const MsrTfidf *model, guint term);
/* -1 when the word is not in the vocabulary. */
int           msr_tfidf_find_term            (const MsrTfidf *model, const char *term);
/* vocabulary_size entries: idf_t and the fit corpus' document frequency. */
const double *msr_tfidf_get_idf              (const MsrTfidf *model);
const guint  *msr_tfidf_get_document_frequencies (const MsrTfidf *model);
/* dim entries, descending. */
const double *msr_tfidf_get_singular_values  (const MsrTfidf *model);
/* V_k: vocabulary_size × dim, row-major (one row per term); the columns
 * are orthonormal right singular vectors, sign-fixed (docs/ENCODER.md). */
const double *msr_tfidf_get_components       (const MsrTfidf *model);
/* SHA-256 (64 hex digits) of the definition version, the options and the
 * fit texts: equal fingerprints mean the same fit inputs. */
const char   *msr_tfidf_get_fingerprint      (const MsrTfidf *model);

/* The L2-normalised TF-IDF row of one text, dense: vocabulary_size values
 * (the float32 weights the encoder projects, widened). */
gboolean  msr_tfidf_weigh             (const MsrTfidf *model,
                                       const char     *text,
                                       double         *out,
                                       GError        **error);

/* JSON object text with the definition version, options, sizes, the
 * singular values and the fingerprint, for provenance. */
char     *msr_tfidf_describe          (const MsrTfidf *model);

/* For rationales: per group g, the (at most) k terms whose mean TF-IDF
 * weight over the documents of g most exceeds their mean weight over all
 * other documents (group[i] in 0 .. n_groups-1, or -1 for none), best
 * first, ties in vocabulary order; only terms with a positive excess
 * count, so a group may get fewer than k. Returns n_groups NULL-terminated
 * string arrays (the outer array is NULL-terminated too); free with
 * msr_tfidf_terms_free. Fails on invalid UTF-8 or a group out of range,
 * naming the document. */
char   ***msr_tfidf_distinctive_terms (const MsrTfidf    *model,
                                       const char *const *texts,
                                       guint              n,
                                       const int         *group,
                                       guint              n_groups,
                                       guint              k,
                                       GError           **error);
void      msr_tfidf_terms_free        (char ***terms, guint n_groups);

void      msr_tfidf_free              (MsrTfidf *model);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrTfidf, msr_tfidf_free)

/* ---- the tokenizer, on its own (docs/ENCODER.md §1) ----------------------- */

/* The tokens of text that the encoder counts, in order: NFC of the
 * lower-cased text, maximal runs of alphanumeric characters, without
 * tokens of one character, of digits only, or in the stop lists. NULL
 * counts as empty. Fails (MSR_ERROR_INVALID) on invalid UTF-8. */
char            **msr_tfidf_tokenize          (const char *text, GError **error);
/* The built-in lists, sorted, NULL-terminated: English stop words and the
 * markdown section words every knowledge text has. */
const char *const *msr_tfidf_get_stop_words    (void);
const char *const *msr_tfidf_get_section_words (void);

G_END_DECLS

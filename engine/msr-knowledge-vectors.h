/* msr-knowledge-vectors.h: from knowledge texts to the vectors LLM4MSR
 * reads, and the scenario-correlation matrices the workbench compares.
 *
 * One call (msr_knowledge_encode) fits the built-in encoder (TF-IDF +
 * truncated SVD, docs/ENCODER.md) on every text of the store, stores the
 * vectors, derives scenario-level knowledge from the item knowledge when
 * no LLM wrote any (labelled as derived: a scenario's vector is the mean of
 * its items' vectors, its text lists the terms that characterise it and set
 * it apart), and stores the scenario × scenario matrices: the LLM-derived
 * one (cosine of scenario vectors) and the data-derived ones (users' click
 * rates, user overlap). docs/FORMATS.md §11 says what is stored. */
#pragma once

#include <gio/gio.h>
#include "msr-dataset.h"
#include "msr-encoder.h"
#include "msr-knowledge.h"

G_BEGIN_DECLS

#define MSR_KNOWLEDGE_DERIVED_SOURCE "derived:item-descriptions"

typedef struct {
  MsrTfidfOptions tfidf;
  const char     *encoder_name;    /* NULL = "tfidf-svd-<dim>" */
  gboolean        derive_scenarios; /* when no LLM wrote scenario texts; default TRUE */
  guint           terms;           /* distinctive terms per scenario text, default 12 */
} MsrKnowledgeEncodeOptions;

void     msr_knowledge_encode_options_init (MsrKnowledgeEncodeOptions *opts);

typedef struct {
  char    *encoder;
  guint    dim;
  guint    n_texts;            /* encoded: user, item and written scenario texts */
  guint    n_scenarios_derived;
  char    *description;        /* the encoder's JSON description */
} MsrKnowledgeEncodeReport;

void     msr_knowledge_encode_report_free (MsrKnowledgeEncodeReport *report);

/* Encodes the store's texts (ds: the project's dataset, for deriving
 * scenario knowledge and the data-derived matrices). Replaces the
 * encoder's earlier vectors and the derived scenario entries. */
MsrKnowledgeEncodeReport *msr_knowledge_encode (MsrKnowledge                    *knowledge,
                                                const MsrDataset                *ds,
                                                const MsrKnowledgeEncodeOptions *opts,
                                                MsrProgressFunc                  progress,
                                                gpointer                         progress_data,
                                                GCancellable                    *cancellable,
                                                GError                         **error);

/* The encoder with the most vectors, or NULL (no error) when there is none. */
char    *msr_knowledge_default_encoder (MsrKnowledge *knowledge, GError **error);

/* Cosine similarity of every pair of rows (n × dim) as an n × n matrix; NaN
 * where a row is zero. */
double  *msr_knowledge_cosine_matrix (const float *vectors, guint n, guint dim);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrKnowledgeEncodeReport, msr_knowledge_encode_report_free)

G_END_DECLS

/* msr-knowledge-import.h: bringing knowledge into the store: texts from a
 * CSV file keyed by the dataset's ids (for example the LLM-written
 * MovieLens-100K user profiles and movie descriptions). docs/FORMATS.md
 * §11 says what each import records. */
#pragma once

#include <gio/gio.h>
#include "msr-dataset.h"
#include "msr-knowledge.h"

G_BEGIN_DECLS

typedef struct {
  const char        *path;           /* CSV or TSV with a header (RFC 4180) */
  char               delimiter;      /* 0: from the file name */
  MsrKnowledgeLevel  level;
  const char        *key_column;     /* the dataset's id (user id, item id, scenario name) */
  const char        *text_column;    /* the LLM's text */
  const char        *llm;            /* who wrote the texts (nullable) */
  const char        *source;         /* the entries' source; NULL = "<llm or csv>:<text_column>" */
  guint              batch;          /* entries per transaction; 0 = 500 */
} MsrKnowledgeCsvImport;

/* What an import found; keys are listed in file (or dataset) order. */
typedef struct {
  gint64     import_id;
  char      *source;
  guint64    rows;             /* data rows read */
  guint      added;            /* new entries */
  guint      already;          /* entries the store held already (a resumed import) */
  guint      empty;            /* rows with an empty text, skipped */
  GPtrArray *duplicates;       /* keys seen again after their first row (char *) */
  GPtrArray *unknown;          /* keys the dataset does not have (char *), not imported */
  GPtrArray *missing;          /* the dataset's keys without a text (char *) */
} MsrKnowledgeImportReport;

void     msr_knowledge_import_report_free (MsrKnowledgeImportReport *report);

/* Imports the texts of a CSV file. With ds, keys are checked against the
 * dataset (its users, items or scenario names): unknown keys are reported
 * and skipped, and the dataset's keys without a text are reported as
 * missing; nothing is invented for them. Resumable (msr-knowledge.h). */
MsrKnowledgeImportReport *msr_knowledge_import_csv (MsrKnowledge                *knowledge,
                                                    const MsrKnowledgeCsvImport *options,
                                                    const MsrDataset            *ds,
                                                    MsrProgressFunc              progress,
                                                    gpointer                     progress_data,
                                                    GCancellable                *cancellable,
                                                    GError                     **error);

/* The dataset's keys of a level, in code order (NULL-terminated). */
char   **msr_knowledge_dataset_keys (const MsrDataset *ds, MsrKnowledgeLevel level);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrKnowledgeImportReport, msr_knowledge_import_report_free)

G_END_DECLS

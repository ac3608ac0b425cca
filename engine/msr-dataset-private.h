/* msr-dataset-private.h: building a dataset, for the engine's loaders only. */
#pragma once

#include "msr-dataset.h"

G_BEGIN_DECLS

#define MSR_MAX_SCENARIOS 65535u

MsrDataset *msr_dataset_new              (const char *name, const char *source);
guint       msr_dataset_add_field        (MsrDataset *ds, const char *name, MsrFieldKind kind);
void        msr_dataset_set_user_item_fields (MsrDataset *ds, guint user_field, guint item_field);
void        msr_dataset_enable_timestamps (MsrDataset *ds);
/* Returns the scenario's index, adding it when new; G_MAXUINT when the
 * dataset already has MSR_MAX_SCENARIOS scenarios. */
guint       msr_dataset_intern_scenario  (MsrDataset *ds, const char *name, const char *description);
/* Returns the value's code, adding it to the field's vocabulary when new. */
gint32      msr_dataset_intern_value     (MsrDataset *ds, guint field, const char *value);
/* A human label for a value (a movie title for an item id). */
void        msr_dataset_set_value_label  (MsrDataset *ds, guint field, gint32 code, const char *label);

/* Rows are appended as begin_row, one push_code per categorical field (in
 * any order) and any number per multi-hot field, then end_row. */
void        msr_dataset_begin_row        (MsrDataset *ds, guint scenario, guint8 label,
                                          MsrSplit split, gint64 timestamp);
void        msr_dataset_push_code        (MsrDataset *ds, guint field, gint32 code);
void        msr_dataset_end_row          (MsrDataset *ds);

void        msr_dataset_add_note         (MsrDataset *ds, const char *format, ...) G_GNUC_PRINTF (2, 3);
void        msr_dataset_add_dropped      (MsrDataset *ds, gsize n);

/* Seals the dataset: checks it is usable and computes the fingerprint. */
gboolean    msr_dataset_finish           (MsrDataset *ds, GError **error);

G_END_DECLS

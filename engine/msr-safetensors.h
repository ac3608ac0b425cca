/* msr-safetensors.h: model files in Hugging Face's safetensors format.
 *
 * Layout: an 8-byte little-endian unsigned header length N, N bytes of UTF-8
 * JSON (an object mapping each tensor name to {"dtype", "shape",
 * "data_offsets": [begin, end]}, plus an optional "__metadata__" object of
 * string values), then the data section: raw little-endian, row-major tensor
 * data, with offsets relative to its start.
 *
 * The reader treats every file as hostile: the header length, the JSON, each
 * entry's types, dtype, shape (with overflow checks) and byte range are all
 * checked before anything is used, duplicate names are refused, and the
 * tensors must cover the data section exactly (no overlap, no hole, no
 * trailing bytes). Every failure is an MSR_ERROR naming the file and the
 * problem. Files are mapped read-only and never modified.
 *
 * The writer is deterministic: the same tensors and metadata always give the
 * same bytes (see docs/FORMATS.md §7 for the exact layout). */
#pragma once

#include <glib.h>
#include "msr-error.h"

G_BEGIN_DECLS

/* The 100 MB header cap of the reference implementation. */
#define MSR_SAFETENSORS_MAX_HEADER_SIZE G_GUINT64_CONSTANT (100000000)

/* The metadata key under which MSR Lens stores a model's configuration (JSON
 * text; the model code decides its content). */
#define MSR_SAFETENSORS_CONFIG_KEY "msrlens.config"

/* Every dtype the format defines. Any of them is accepted when reading, so
 * files written by PyTorch and others parse; the typed readers convert only
 * F32 and I64. */
typedef enum {
  MSR_DTYPE_F32,
  MSR_DTYPE_F64,
  MSR_DTYPE_I64,
  MSR_DTYPE_I32,
  MSR_DTYPE_F16,
  MSR_DTYPE_BF16,
  MSR_DTYPE_U8,
  MSR_DTYPE_I8,
  MSR_DTYPE_BOOL,
  MSR_DTYPE_I16,
  MSR_DTYPE_U16,
  MSR_DTYPE_U32,
  MSR_DTYPE_U64,
  MSR_DTYPE_C64,
  MSR_DTYPE_F8_E4M3,
  MSR_DTYPE_F8_E5M2,
  MSR_DTYPE_F8_E8M0,
  MSR_DTYPE_F8_E4M3FNUZ,
  MSR_DTYPE_F8_E5M2FNUZ,
  MSR_DTYPE_F6_E2M3,
  MSR_DTYPE_F6_E3M2,
  MSR_DTYPE_F4,
  MSR_DTYPE_N_TYPES
} MsrDType;

/* The header's name for a dtype ("F32", "I64", ...). */
const char *msr_safetensors_dtype_name      (MsrDType    dtype);
/* Parses a header dtype name (case-sensitive, as the format requires). */
gboolean    msr_safetensors_dtype_from_name (const char *name,
                                             MsrDType   *dtype);
/* Bits per element (4 for F4, 6 for the F6 types). */
guint       msr_safetensors_dtype_bits      (MsrDType    dtype);
/* Bytes per element; 0 for the sub-byte types F4, F6_E2M3 and F6_E3M2. */
gsize       msr_safetensors_dtype_size      (MsrDType    dtype);

/* ------------------------------------------------------------------ reader */

typedef struct _MsrSafetensors MsrSafetensors;

typedef struct {
  const char   *name;
  MsrDType      dtype;
  guint         n_dims;      /* 0 for a scalar */
  const gint64 *shape;       /* n_dims values, each >= 0 (NULL when n_dims is 0) */
  guint64       n_elements;  /* product of the shape (1 for a scalar) */
  guint64       begin;       /* byte range in the data section, end exclusive */
  guint64       end;
} MsrTensorInfo;

/* Maps and validates path. Errors: MSR_ERROR_IO when it cannot be read,
 * MSR_ERROR_PARSE for a malformed file. */
MsrSafetensors      *msr_safetensors_open           (const char     *path,
                                                     GError        **error);
/* Validates bytes (kept referenced); display_name is what errors call it. */
MsrSafetensors      *msr_safetensors_new_from_bytes (GBytes         *bytes,
                                                     const char     *display_name,
                                                     GError        **error);
void                 msr_safetensors_free           (MsrSafetensors *st);

const char          *msr_safetensors_get_display_name (MsrSafetensors *st);
/* Absolute offset of the data section in the file (8 + header length). */
guint64              msr_safetensors_get_data_offset  (MsrSafetensors *st);

/* Tensors are indexed in data order (by begin offset, then end, then name). */
guint                msr_safetensors_get_n_tensors  (MsrSafetensors *st);
const MsrTensorInfo *msr_safetensors_get_tensor     (MsrSafetensors *st,
                                                     guint           index);
/* NULL when there is no such tensor. */
const MsrTensorInfo *msr_safetensors_lookup         (MsrSafetensors *st,
                                                     const char     *name);
/* The tensor's raw little-endian bytes inside the file; they need not be
 * aligned for the dtype (foreign headers are not always padded), so copy
 * before casting. Valid while st lives. */
const guint8        *msr_safetensors_get_tensor_data (MsrSafetensors      *st,
                                                      const MsrTensorInfo *info,
                                                      gsize               *n_bytes);

/* The value of a "__metadata__" key, or NULL when absent. */
const char          *msr_safetensors_get_metadata   (MsrSafetensors *st,
                                                     const char     *key);
/* The metadata keys, sorted (byte order), NULL-terminated; owned by st. */
const char * const  *msr_safetensors_get_metadata_keys (MsrSafetensors *st);

/* Copy a tensor into out (native byte order, any alignment). Fails with
 * MSR_ERROR_SCHEMA when the tensor does not exist and MSR_ERROR_MISMATCH
 * when its dtype is not F32 (I64) or it does not hold exactly n_elements. */
gboolean             msr_safetensors_read_f32       (MsrSafetensors *st,
                                                     const char     *name,
                                                     float          *out,
                                                     gsize           n_elements,
                                                     GError        **error);
gboolean             msr_safetensors_read_i64       (MsrSafetensors *st,
                                                     const char     *name,
                                                     gint64         *out,
                                                     gsize           n_elements,
                                                     GError        **error);

/* What a model loader expects of one tensor. */
typedef struct {
  const char *name;
  MsrDType    dtype;
  guint       n_dims;    /* at most 4 */
  gint64      shape[4];
} MsrTensorSpec;

/* Checks that the file holds exactly the tensors in specs with their dtypes
 * and shapes. On failure (MSR_ERROR_MISMATCH) one message names the file and
 * lists every missing tensor, unexpected tensor, wrong dtype and wrong shape
 * (the first 10 problems, then "and N more"). */
gboolean             msr_safetensors_check_tensors  (MsrSafetensors      *st,
                                                     const MsrTensorSpec *specs,
                                                     gsize                n_specs,
                                                     GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrSafetensors, msr_safetensors_free)

/* ------------------------------------------------------------------ writer */

typedef struct _MsrSafetensorsWriter MsrSafetensorsWriter;

MsrSafetensorsWriter *msr_safetensors_writer_new          (void);
void                  msr_safetensors_writer_free         (MsrSafetensorsWriter *w);

/* key and value: UTF-8 strings. */
void                  msr_safetensors_writer_add_metadata (MsrSafetensorsWriter *w,
                                                           const char           *key,
                                                           const char           *value);
/* Copies data: product(shape) values in row-major order (n_dims 0 is a
 * scalar; a zero dimension means no data, and data may then be NULL). */
void                  msr_safetensors_writer_add_f32      (MsrSafetensorsWriter *w,
                                                           const char           *name,
                                                           const gint64         *shape,
                                                           guint                 n_dims,
                                                           const float          *data);
void                  msr_safetensors_writer_add_i64      (MsrSafetensorsWriter *w,
                                                           const char           *name,
                                                           const gint64         *shape,
                                                           guint                 n_dims,
                                                           const gint64         *data);

/* The complete file. Fails (MSR_ERROR_INVALID) on a name added twice, a
 * tensor called "__metadata__", a metadata key added twice or text that is
 * not UTF-8. */
GBytes               *msr_safetensors_writer_to_bytes     (MsrSafetensorsWriter *w,
                                                           GError              **error);
/* Writes a temporary file next to path and renames it into place, so an
 * existing file is replaced only on success. Errors name path. */
gboolean              msr_safetensors_writer_save         (MsrSafetensorsWriter *w,
                                                           const char           *path,
                                                           GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrSafetensorsWriter, msr_safetensors_writer_free)

G_END_DECLS

/* msr-error.h: the engine's error domain and shared callback types. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MSR_ERROR (msr_error_quark ())

typedef enum {
  MSR_ERROR_IO,          /* a file could not be read or written */
  MSR_ERROR_PARSE,       /* malformed input: CSV, TSV, JSON, zip, ... */
  MSR_ERROR_SCHEMA,      /* a column, field or option that does not exist */
  MSR_ERROR_INVALID,     /* well-formed input with impossible content */
  MSR_ERROR_CHECKSUM,    /* a download or local copy failed verification */
  MSR_ERROR_NETWORK,     /* an HTTP transfer failed */
  MSR_ERROR_MISMATCH,    /* two inputs that must agree do not */
} MsrErrorCode;

GQuark msr_error_quark (void);

/* Long work reports progress through this callback (fraction in [0,1], or a
 * negative value when the total is unknown) and stops when the GCancellable
 * passed next to it is cancelled, failing with G_IO_ERROR_CANCELLED. */
typedef void (*MsrProgressFunc) (double       fraction,
                                 const char  *stage,
                                 gpointer     user_data);

G_END_DECLS

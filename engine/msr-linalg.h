/* msr-linalg.h: the dense linear algebra the engine needs beyond GEMM,
 * on the LAPACK inside OpenBLAS: a thin SVD and PCA. */
#pragma once

#include <glib.h>
#include "msr-error.h"

G_BEGIN_DECLS

/* Thin SVD of the m × n row-major matrix a: the k = min (m, n) singular
 * values, descending, in s; u (m × k) and vt (k × n), row-major, when not
 * NULL. dgesdd, or dgesvd when dgesdd does not converge. */
gboolean msr_linalg_svd (const double *a, guint m, guint n, double *s, double *u, double *vt, GError **error);

/* PCA of n rows of d values (row-major): the rows' coordinates on the
 * first k principal axes (n × k, row-major) and each axis's share of the
 * total variance (k values, nullable). The axes' signs are fixed so that
 * each axis's largest-magnitude loading is positive. */
gboolean msr_linalg_pca (const double *x, guint n, guint d, guint k, double *scores, double *explained,
                         GError **error);

G_END_DECLS

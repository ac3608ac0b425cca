/* msr-lapack.h: the LAPACK routines the engine calls, from libopenblas
 * (Debian ships no lapacke.h with it). Engine-internal. The trailing
 * size_t are gfortran's hidden lengths of the character arguments. */
#pragma once

#include <cblas.h>
#include <stddef.h>

extern void sgeqrf_ (const blasint *m, const blasint *n, float *a, const blasint *lda, float *tau,
                     float *work, const blasint *lwork, blasint *info);
extern void sorgqr_ (const blasint *m, const blasint *n, const blasint *k, float *a, const blasint *lda,
                     const float *tau, float *work, const blasint *lwork, blasint *info);
extern void dgesdd_ (const char *jobz, const blasint *m, const blasint *n, double *a, const blasint *lda,
                     double *s, double *u, const blasint *ldu, double *vt, const blasint *ldvt,
                     double *work, const blasint *lwork, blasint *iwork, blasint *info, size_t jobz_len);
extern void dgesvd_ (const char *jobu, const char *jobvt, const blasint *m, const blasint *n, double *a,
                     const blasint *lda, double *s, double *u, const blasint *ldu, double *vt,
                     const blasint *ldvt, double *work, const blasint *lwork, blasint *info,
                     size_t jobu_len, size_t jobvt_len);

/* msr-linalg.c: see msr-linalg.h. */
#include "config.h"
#include "msr-linalg.h"
#include "msr-lapack.h"

#include <math.h>
#include <string.h>

static gboolean
lapack_error (GError **error, const char *routine, blasint info)
{
  g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s failed (info %d)%s", routine, (int) info,
               info > 0 ? ": the decomposition did not converge" : "");
  return FALSE;
}

/* The column-major SVD of b (rows × cols, LAPACK's view): s, ub (rows × k)
 * and vtb (k × cols), column-major. */
static gboolean
svd_colmajor (double *b, blasint rows, blasint cols, const double *orig, double *s, double *ub, double *vtb,
              GError **error)
{
  const blasint k = MIN (rows, cols), query = -1;
  blasint info = 0;
  double w = 0;
  g_autofree blasint *iwork = g_new (blasint, 8 * (gsize) k);
  dgesdd_ ("S", &rows, &cols, b, &rows, s, ub, &rows, vtb, &k, &w, &query, iwork, &info, 1);
  if (info != 0)
    return lapack_error (error, "dgesdd", info);
  blasint lwork = (blasint) w + 1;
  g_autofree double *work = g_new (double, lwork);
  dgesdd_ ("S", &rows, &cols, b, &rows, s, ub, &rows, vtb, &k, work, &lwork, iwork, &info, 1);
  if (info < 0)
    return lapack_error (error, "dgesdd", info);
  if (info == 0)
    return TRUE;
  /* dgesdd did not converge: dgesvd is slower and more robust. */
  memcpy (b, orig, (gsize) rows * cols * sizeof (double));
  dgesvd_ ("S", "S", &rows, &cols, b, &rows, s, ub, &rows, vtb, &k, &w, &query, &info, 1, 1);
  if (info != 0)
    return lapack_error (error, "dgesvd", info);
  lwork = (blasint) w + 1;
  g_free (work);
  work = g_new (double, lwork);
  dgesvd_ ("S", "S", &rows, &cols, b, &rows, s, ub, &rows, vtb, &k, work, &lwork, &info, 1, 1);
  if (info != 0)
    return lapack_error (error, "dgesvd", info);
  return TRUE;
}

gboolean
msr_linalg_svd (const double *a, guint m, guint n, double *s, double *u, double *vt, GError **error)
{
  g_return_val_if_fail (a != NULL && s != NULL && m > 0 && n > 0, FALSE);
  const guint k = MIN (m, n);
  /* Row-major a (m × n) is column-major aᵀ (n × m): SVD (aᵀ) = V Σ Uᵀ, so
   * LAPACK's U is our V and its Vᵀ our Uᵀ, already laid out row-major. */
  g_autofree double *b = g_memdup2 (a, (gsize) m * n * sizeof (double));
  g_autofree double *ub = g_new (double, (gsize) n * k);
  g_autofree double *vtb = g_new (double, (gsize) k * m);
  if (!svd_colmajor (b, (blasint) n, (blasint) m, a, s, ub, vtb, error))
    return FALSE;
  /* u[i][j] = (Uᵀ)[j][i] = vtb (j, i), column-major k × m. */
  if (u)
    for (guint i = 0; i < m; i++)
      for (guint j = 0; j < k; j++)
        u[(gsize) i * k + j] = vtb[j + (gsize) i * k];
  /* vt[j][l] = V[l][j] = ub (l, j), column-major n × k. */
  if (vt)
    for (guint j = 0; j < k; j++)
      for (guint l = 0; l < n; l++)
        vt[(gsize) j * n + l] = ub[l + (gsize) j * n];
  return TRUE;
}

gboolean
msr_linalg_pca (const double *x, guint n, guint d, guint k, double *scores, double *explained, GError **error)
{
  g_return_val_if_fail (x != NULL && scores != NULL && n > 0 && d > 0 && k > 0, FALSE);
  const guint r = MIN (n, d);
  if (k > r)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%u principal components asked of %u rows × %u values",
                   k, n, d);
      return FALSE;
    }
  g_autofree double *c = g_new (double, (gsize) n * d);
  for (guint j = 0; j < d; j++)
    {
      double mean = 0;
      for (guint i = 0; i < n; i++)
        mean += x[(gsize) i * d + j];
      mean /= n;
      for (guint i = 0; i < n; i++)
        c[(gsize) i * d + j] = x[(gsize) i * d + j] - mean;
    }
  g_autofree double *s = g_new (double, r);
  g_autofree double *u = g_new (double, (gsize) n * r);
  g_autofree double *vt = g_new (double, (gsize) r * d);
  if (!msr_linalg_svd (c, n, d, s, u, vt, error))
    return FALSE;
  double total = 0;
  for (guint i = 0; i < r; i++)
    total += s[i] * s[i];
  for (guint a = 0; a < k; a++)
    {
      /* Sign: the largest-magnitude loading positive. */
      guint best = 0;
      for (guint j = 1; j < d; j++)
        if (fabs (vt[(gsize) a * d + j]) > fabs (vt[(gsize) a * d + best]))
          best = j;
      const double sign = vt[(gsize) a * d + best] < 0 ? -1 : 1;
      for (guint i = 0; i < n; i++)
        scores[(gsize) i * k + a] = sign * u[(gsize) i * r + a] * s[a];
      if (explained)
        explained[a] = total > 0 ? s[a] * s[a] / total : NAN;
    }
  return TRUE;
}

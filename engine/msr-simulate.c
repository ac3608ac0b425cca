/* msr-simulate.c: the simulated multi-scenario world (docs/FORMATS.md §10). */
#include "config.h"
#include "msr-simulate.h"
#include "msr-json.h"
#include "msr-correlation.h"
#include "msr-knowledge.h"
#include "msr-knowledge-vectors.h"
#include "msr-project.h"
#include "msr-tabular.h"
#include "msr-metrics.h"
#include "msr-rng.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRUTH_FORMAT 1
#define MAX_ROWS G_GUINT64_CONSTANT (10000000)
#define MAX_USERS 1000000u
#define MAX_ITEM_VALUES 32000000u   /* Σ items × k doubles held at once */

/* ---- defaults ------------------------------------------------------------ */

static const char *const default_names[MSR_SIM_MAX_SCENARIOS] = {
  "Books", "Music", "Films", "Games", "News", "Podcasts", "Apps", "Travel",
  "Food", "Sports", "Fashion", "Health", "Home", "Kids", "Auto", "Finance",
};
static const double default_share[MSR_SIM_MAX_SCENARIOS] = {
  40, 25, 15, 12, 8, 10, 9, 8, 7, 6, 5, 5, 4, 4, 3, 3,
};
static const guint default_items[MSR_SIM_MAX_SCENARIOS] = {
  400, 250, 180, 200, 150, 250, 220, 200, 180, 160, 140, 140, 120, 120, 100, 100,
};
static const double default_alpha[MSR_SIM_MAX_SCENARIOS] = {
  0.75, 1.2, 1.9, 0.5, 0.15, 1.0, 1.5, 0.4, 1.3, 0.7, 1.8, 0.3, 1.1, 1.6, 0.6, 1.4,
};
static const double default_base[MSR_SIM_MAX_SCENARIOS] = {
  0.35, 0.45, 0.30, 0.40, 0.50, 0.35, 0.45, 0.30, 0.40, 0.50, 0.35, 0.45, 0.30, 0.40, 0.50, 0.35,
};

/* Pairs {0,1}, {2,3}, ... correlate 0.8, 0.6, 0.8, ... within the pair and
 * 0.3 across pairs; an unpaired last scenario correlates 0.1 with all. It
 * is a one-factor-plus-blocks model with positive uniquenesses, hence
 * positive definite for every n. */
static void
default_correlation (double c[MSR_SIM_MAX_SCENARIOS][MSR_SIM_MAX_SCENARIOS], guint n)
{
  const guint paired = n - n % 2;
  for (guint i = 0; i < MSR_SIM_MAX_SCENARIOS; i++)
    for (guint j = 0; j < MSR_SIM_MAX_SCENARIOS; j++)
      {
        double v;
        if (i == j)
          v = 1.0;
        else if (i >= n || j >= n)
          v = 0.0;
        else if (i >= paired || j >= paired)
          v = 0.1;
        else if (i / 2 == j / 2)
          v = (i / 2) % 2 == 0 ? 0.8 : 0.6;
        else
          v = 0.3;
        c[i][j] = v;
      }
}

void
msr_sim_options_init_for (MsrSimOptions *opts, guint n_scenarios)
{
  memset (opts, 0, sizeof *opts);
  n_scenarios = CLAMP (n_scenarios, 1, MSR_SIM_MAX_SCENARIOS);
  opts->seed = 2024;
  opts->n_users = 800;
  opts->n_scenarios = n_scenarios;
  opts->n_rows = 80000;
  opts->latent_dim = 8;
  for (guint s = 0; s < MSR_SIM_MAX_SCENARIOS; s++)
    {
      opts->names[s] = NULL;
      opts->row_share[s] = default_share[s] / 100.0;
      opts->n_items[s] = default_items[s];
      opts->alpha[s] = default_alpha[s];
      opts->base_rate[s] = default_base[s];
    }
  default_correlation (opts->correlation, n_scenarios);
  opts->propensity_sd = 1.0;
  opts->item_bias_sd = 1.0;
  opts->popularity_sd = 1.0;
  opts->activity_sd = 1.0;
  opts->min_user_rows = 10;
  opts->affinity_sd = 0.5;
  opts->test_fraction = 0.2;
  opts->valid_fraction = 0.1;
  opts->start_time = 1700000000;
  opts->mean_gap = 60;
}

void
msr_sim_options_init (MsrSimOptions *opts)
{
  msr_sim_options_init_for (opts, 5);
}

const char *
msr_sim_options_get_name (const MsrSimOptions *opts, guint s)
{
  g_return_val_if_fail (s < MSR_SIM_MAX_SCENARIOS, NULL);
  return opts->names[s] ? opts->names[s] : default_names[s];
}

/* ---- validation ---------------------------------------------------------- */

static gboolean
option_error (GError **error, const char *option, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
option_error (GError **error, const char *option, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *what = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "simulation option %s: %s", option, what);
  return FALSE;
}

/* Lower-triangular L with L·Lᵀ = C (n × n, row-major). FALSE, with the
 * failing pivot in *bad, when C is not (numerically) positive definite. */
static gboolean
cholesky (const double *c, guint n, double *l, guint *bad, double *pivot)
{
  memset (l, 0, sizeof (double) * n * n);
  for (guint j = 0; j < n; j++)
    {
      double d = c[j * n + j];
      for (guint k = 0; k < j; k++)
        d -= l[j * n + k] * l[j * n + k];
      if (!(d > 1e-9))
        {
          *bad = j;
          *pivot = d;
          return FALSE;
        }
      l[j * n + j] = sqrt (d);
      for (guint i = j + 1; i < n; i++)
        {
          double v = c[i * n + j];
          for (guint k = 0; k < j; k++)
            v -= l[i * n + k] * l[j * n + k];
          l[i * n + j] = v / l[j * n + j];
        }
    }
  return TRUE;
}

static gboolean
check_sd (GError **error, const char *option, double v)
{
  if (!(isfinite (v) && v >= 0 && v <= 10))
    return option_error (error, option, "%g is not between 0 and 10", v);
  return TRUE;
}

gboolean
msr_sim_options_validate (const MsrSimOptions *o, GError **error)
{
  const guint S = o->n_scenarios;
  if (S < 1 || S > MSR_SIM_MAX_SCENARIOS)
    return option_error (error, "n_scenarios", "%u is not between 1 and %u", S, MSR_SIM_MAX_SCENARIOS);
  if (o->seed > (guint64) G_MAXINT64)
    return option_error (error, "seed", "must be at most %" G_GINT64_FORMAT, G_MAXINT64);
  if (o->n_users < 1 || o->n_users > MAX_USERS)
    return option_error (error, "n_users", "%u is not between 1 and %u", o->n_users, MAX_USERS);
  if (o->latent_dim < 1 || o->latent_dim > 256)
    return option_error (error, "latent_dim", "%u is not between 1 and 256", o->latent_dim);
  if (o->min_user_rows < 1)
    return option_error (error, "min_user_rows", "must be at least 1");
  if (o->n_rows > MAX_ROWS)
    return option_error (error, "n_rows", "%" G_GUINT64_FORMAT " is more than %" G_GUINT64_FORMAT,
                         o->n_rows, MAX_ROWS);
  if (o->n_rows < (guint64) o->n_users * o->min_user_rows)
    return option_error (error, "n_rows",
                         "%" G_GUINT64_FORMAT " rows cannot give %u users %u rows each",
                         o->n_rows, o->n_users, o->min_user_rows);

  double share_sum = 0;
  guint64 items = 0;
  for (guint s = 0; s < S; s++)
    {
      const char *name = msr_sim_options_get_name (o, s);
      g_autofree char *opt = g_strdup_printf ("names[%u]", s);
      if (name[0] == '\0' || !g_utf8_validate (name, -1, NULL))
        return option_error (error, opt, "must be a non-empty UTF-8 text");
      for (const char *c = name; *c; c++)
        if ((guchar) *c < 0x20 || *c == 0x7f)
          return option_error (error, opt, "'%s' holds a control character", name);
      for (guint t = 0; t < s; t++)
        if (strcmp (name, msr_sim_options_get_name (o, t)) == 0)
          return option_error (error, opt, "'%s' is also the name of scenario %u", name, t);
      if (!(isfinite (o->row_share[s]) && o->row_share[s] > 0))
        return option_error (error, "row_share", "scenario %u ('%s'): %g is not a positive number",
                             s, name, o->row_share[s]);
      share_sum += o->row_share[s];
      if (o->n_items[s] < 1)
        return option_error (error, "n_items", "scenario %u ('%s') needs at least one item", s, name);
      items += o->n_items[s];
      if (!(isfinite (o->alpha[s]) && o->alpha[s] >= 0 && o->alpha[s] <= 20))
        return option_error (error, "alpha", "scenario %u ('%s'): %g is not between 0 and 20",
                             s, name, o->alpha[s]);
      if (!(o->base_rate[s] >= 0.001 && o->base_rate[s] <= 0.999))
        return option_error (error, "base_rate", "scenario %u ('%s'): %g is not between 0.001 and 0.999",
                             s, name, o->base_rate[s]);
    }
  if (items * o->latent_dim > MAX_ITEM_VALUES)
    return option_error (error, "n_items", "%" G_GUINT64_FORMAT " items × latent_dim %u is more than %u values",
                         items, o->latent_dim, MAX_ITEM_VALUES);
  for (guint s = 0; s < S; s++)
    if ((double) o->n_rows * o->row_share[s] / share_sum < 20)
      return option_error (error, "row_share", "scenario %u ('%s') would get fewer than 20 rows",
                           s, msr_sim_options_get_name (o, s));

  for (guint i = 0; i < S; i++)
    for (guint j = 0; j < S; j++)
      {
        double v = o->correlation[i][j];
        g_autofree char *opt = g_strdup_printf ("correlation[%u][%u]", i, j);
        if (!isfinite (v) || v < -1 || v > 1)
          return option_error (error, opt, "%g is not between -1 and 1", v);
        if (i == j && fabs (v - 1) > 1e-9)
          return option_error (error, opt, "the diagonal must be 1, not %g", v);
        if (fabs (v - o->correlation[j][i]) > 1e-9)
          return option_error (error, opt, "%g differs from correlation[%u][%u] = %g (the matrix must be symmetric)",
                               v, j, i, o->correlation[j][i]);
      }
  double c[MSR_SIM_MAX_SCENARIOS * MSR_SIM_MAX_SCENARIOS], l[MSR_SIM_MAX_SCENARIOS * MSR_SIM_MAX_SCENARIOS];
  for (guint i = 0; i < S; i++)
    for (guint j = 0; j < S; j++)
      c[i * S + j] = o->correlation[i][j];
  guint bad = 0;
  double pivot = 0;
  if (!cholesky (c, S, l, &bad, &pivot))
    return option_error (error, "correlation",
                         "the matrix is not positive definite (Cholesky pivot %u is %.3g): "
                         "no joint distribution of tastes has these correlations", bad, pivot);

  if (!check_sd (error, "propensity_sd", o->propensity_sd) ||
      !check_sd (error, "item_bias_sd", o->item_bias_sd) ||
      !check_sd (error, "popularity_sd", o->popularity_sd) ||
      !check_sd (error, "activity_sd", o->activity_sd) ||
      !check_sd (error, "affinity_sd", o->affinity_sd))
    return FALSE;
  if (!(o->test_fraction > 0 && o->test_fraction < 1))
    return option_error (error, "test_fraction", "%g is not between 0 and 1", o->test_fraction);
  if (!(o->valid_fraction >= 0 && o->valid_fraction < 1))
    return option_error (error, "valid_fraction", "%g is not in [0, 1)", o->valid_fraction);
  if (o->start_time < 0 || o->start_time > G_GINT64_CONSTANT (100000000000))
    return option_error (error, "start_time", "%" G_GINT64_FORMAT " is not between 0 and 10^11", o->start_time);
  if (o->mean_gap < 1 || o->mean_gap > 86400)
    return option_error (error, "mean_gap", "%u is not between 1 and 86400 seconds", o->mean_gap);
  return TRUE;
}

/* ---- random draws -------------------------------------------------------- */

/* Independent streams per part of the model, so that (for instance) the
 * users' tastes do not change when n_rows does. */
enum { STREAM_ACTIVITY = 1, STREAM_USERS, STREAM_ITEMS, STREAM_ROWS, STREAM_ORDER, STREAM_CLICKS };

typedef struct {
  MsrRng   rng;
  gboolean has_spare;
  double   spare;
} Stream;

static void
stream_init (Stream *st, guint64 seed, guint64 stream)
{
  guint64 mix = seed ^ (stream * G_GUINT64_CONSTANT (0xD1B54A32D192ED03));
  msr_rng_init (&st->rng, msr_splitmix64 (&mix));
  st->has_spare = FALSE;
}

/* Standard normal by Marsaglia's polar method (uniforms from MsrRng). */
static double
normal (Stream *st)
{
  return msr_rng_normal (&st->rng, &st->spare, &st->has_spare);
}

/* Index of the first cumulative weight above u·total (cum ascending). */
static guint
pick (const double *cum, guint n, double u)
{
  double target = u * cum[n - 1];
  guint lo = 0, hi = n - 1;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      if (cum[mid] > target)
        hi = mid;
      else
        lo = mid + 1;
    }
  return lo;
}

static double
sigmoid (double z)
{
  return 1.0 / (1.0 + exp (-z));
}

/* ---- the world ----------------------------------------------------------- */

typedef struct {
  const MsrSimOptions *o;
  guint    S, k, U;
  gsize    N;
  guint    n_items_total;
  guint    item_base[MSR_SIM_MAX_SCENARIOS + 1];  /* scenario s owns items [base[s], base[s+1]) */
  double   chol[MSR_SIM_MAX_SCENARIOS * MSR_SIM_MAX_SCENARIOS];
  double   offset[MSR_SIM_MAX_SCENARIOS];         /* b_s */

  double  *item_vec;     /* n_items_total × k */
  double  *item_bias;
  double  *item_cum;     /* cumulative popularity, per scenario block */
  guint8  *item_genre;   /* 0-based dominant dimension */
  guint   *user_rows;    /* n_u */
  guint8  *user_segment; /* 0 light, 1 regular, 2 heavy */

  /* Rows, in file order once shuffled. */
  guint32 *row_user;
  guint32 *row_item;
  guint8  *row_scen;
  double  *row_x;        /* logit without b_s */
  double  *row_p;
  guint8  *row_click;
  gint64  *row_ts;
} World;

static void
world_clear (World *w)
{
  g_free (w->item_vec);
  g_free (w->item_bias);
  g_free (w->item_cum);
  g_free (w->item_genre);
  g_free (w->user_rows);
  g_free (w->user_segment);
  g_free (w->row_user);
  g_free (w->row_item);
  g_free (w->row_scen);
  g_free (w->row_x);
  g_free (w->row_p);
  g_free (w->row_click);
  g_free (w->row_ts);
}

static gboolean
check_cancel (GCancellable *cancellable, GError **error)
{
  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}

static void
draw_items (World *w)
{
  const MsrSimOptions *o = w->o;
  Stream st;
  stream_init (&st, o->seed, STREAM_ITEMS);
  const double scale = 1.0 / sqrt ((double) w->k);
  for (guint s = 0; s < w->S; s++)
    {
      double cum = 0;
      for (guint i = w->item_base[s]; i < w->item_base[s + 1]; i++)
        {
          double *v = w->item_vec + (gsize) i * w->k;
          guint best = 0;
          for (guint j = 0; j < w->k; j++)
            {
              v[j] = scale * normal (&st);
              if (v[j] > v[best])
                best = j;
            }
          w->item_genre[i] = (guint8) best;
          w->item_bias[i] = o->item_bias_sd * normal (&st);
          cum += exp (o->popularity_sd * normal (&st));
          w->item_cum[i] = cum;
        }
    }
}

typedef struct {
  double frac;
  guint  index;
} Remainder;

static int
cmp_remainder (const void *a, const void *b)
{
  const Remainder *x = a, *y = b;
  if (x->frac != y->frac)
    return x->frac > y->frac ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

static int
cmp_by_rows (const void *a, const void *b, void *data)
{
  const guint *rows = data;
  guint x = *(const guint *) a, y = *(const guint *) b;
  if (rows[x] != rows[y])
    return rows[x] < rows[y] ? -1 : 1;
  return x < y ? -1 : x > y;
}

/* n_u = min_user_rows + a largest-remainder share of the other rows in
 * proportion to exp(σ_act·g_u); segments are terciles of n_u. */
static void
draw_activity (World *w)
{
  const MsrSimOptions *o = w->o;
  Stream st;
  stream_init (&st, o->seed, STREAM_ACTIVITY);
  g_autofree double *a = g_new (double, w->U);
  double total = 0;
  for (guint u = 0; u < w->U; u++)
    {
      a[u] = exp (o->activity_sd * normal (&st));
      total += a[u];
    }
  const guint64 rest = w->N - (guint64) w->U * o->min_user_rows;
  g_autofree Remainder *rem = g_new (Remainder, w->U);
  guint64 given = 0;
  for (guint u = 0; u < w->U; u++)
    {
      double share = (double) rest * a[u] / total;
      double fl = floor (share);
      w->user_rows[u] = o->min_user_rows + (guint) fl;
      given += (guint64) fl;
      rem[u].frac = share - fl;
      rem[u].index = u;
    }
  qsort (rem, w->U, sizeof (Remainder), cmp_remainder);
  /* Rounding leaves fewer than U rows over; guard anyway. */
  for (guint64 t = 0; given < rest; t++, given++)
    w->user_rows[rem[t % w->U].index]++;

  g_autofree guint *order = g_new (guint, w->U);
  for (guint u = 0; u < w->U; u++)
    order[u] = u;
  g_qsort_with_data (order, (gint) w->U, sizeof (guint), cmp_by_rows, w->user_rows);
  for (guint r = 0; r < w->U; r++)
    w->user_segment[order[r]] = (guint8) ((guint64) r * 3 / w->U);
}

/* κ_s: E_i σ(a + τZ) ≈ σ(a/κ) with κ = √(1 + πτ²/8), so scaling β by κ_s
 * keeps the spread of users' item-averaged click propensity at σ_β
 * whatever the scenario's signal strength. */
static void
propensity_scales (const MsrSimOptions *o, double *kappa, double *share_sum)
{
  *share_sum = 0;
  for (guint s = 0; s < o->n_scenarios; s++)
    {
      *share_sum += o->row_share[s];
      double tau2 = o->alpha[s] * o->alpha[s] * (o->item_bias_sd * o->item_bias_sd + 1.0);
      kappa[s] = sqrt (1.0 + G_PI * tau2 / 8.0);
    }
}

/* The next user of the users' stream: tastes θ_{u,s} = Σ_t L_st z_{u,t}
 * (S × k), propensities β_{u,s} = σ_β κ_s Σ_t L_st w_{u,t} and cumulative
 * scenario shares. z is scratch (S × k). */
static void
draw_user (const MsrSimOptions *o, const double *chol, const double *kappa, double share_sum, Stream *su,
           double *z, double *theta, double *beta, double *cum)
{
  const guint S = o->n_scenarios, k = o->latent_dim;
  double wv[MSR_SIM_MAX_SCENARIOS];
  for (gsize i = 0; i < (gsize) S * k; i++)
    z[i] = normal (su);
  for (guint s = 0; s < S; s++)
    wv[s] = normal (su);
  double c = 0;
  for (guint s = 0; s < S; s++)
    {
      c += o->row_share[s] / share_sum * exp (o->affinity_sd * normal (su));
      cum[s] = c;
    }
  for (guint s = 0; s < S; s++)
    {
      double b = 0;
      for (guint t = 0; t <= s; t++)
        b += chol[s * S + t] * wv[t];
      beta[s] = o->propensity_sd * kappa[s] * b;
      for (guint j = 0; j < k; j++)
        {
          double v = 0;
          for (guint t = 0; t <= s; t++)
            v += chol[s * S + t] * z[(gsize) t * k + j];
          theta[(gsize) s * k + j] = v;
        }
    }
}

/* Per user: draw_user, then the user's rows. */
static gboolean
draw_rows (World *w, MsrProgressFunc progress, gpointer progress_data, GCancellable *cancellable,
           GError **error)
{
  const MsrSimOptions *o = w->o;
  const guint S = w->S, k = w->k;
  Stream su, sr;
  stream_init (&su, o->seed, STREAM_USERS);
  stream_init (&sr, o->seed, STREAM_ROWS);
  g_autofree double *z = g_new (double, (gsize) S * k);
  g_autofree double *theta = g_new (double, (gsize) S * k);
  double beta[MSR_SIM_MAX_SCENARIOS], cum[MSR_SIM_MAX_SCENARIOS], kappa[MSR_SIM_MAX_SCENARIOS], share_sum;
  propensity_scales (o, kappa, &share_sum);

  gsize r = 0;
  for (guint u = 0; u < w->U; u++)
    {
      if ((u & 255) == 0)
        {
          if (!check_cancel (cancellable, error))
            return FALSE;
          if (progress)
            progress (0.05 + 0.25 * u / w->U, "Drawing users and their interactions", progress_data);
        }
      draw_user (o, w->chol, kappa, share_sum, &su, z, theta, beta, cum);
      for (guint n = 0; n < w->user_rows[u]; n++, r++)
        {
          guint s = pick (cum, S, msr_rng_uniform (&sr.rng));
          guint base = w->item_base[s], n_items = w->item_base[s + 1] - base;
          guint i = base + pick (w->item_cum + base, n_items, msr_rng_uniform (&sr.rng));
          const double *v = w->item_vec + (gsize) i * k;
          const double *th = theta + (gsize) s * k;
          double dot = 0;
          for (guint j = 0; j < k; j++)
            dot += th[j] * v[j];
          w->row_user[r] = u;
          w->row_item[r] = i;
          w->row_scen[r] = (guint8) s;
          w->row_x[r] = beta[s] + o->alpha[s] * (w->item_bias[i] + dot);
        }
    }
  g_assert (r == w->N);
  return TRUE;
}

static void
swap_rows (World *w, gsize a, gsize b)
{
  guint32 tu = w->row_user[a]; w->row_user[a] = w->row_user[b]; w->row_user[b] = tu;
  guint32 ti = w->row_item[a]; w->row_item[a] = w->row_item[b]; w->row_item[b] = ti;
  guint8 ts = w->row_scen[a]; w->row_scen[a] = w->row_scen[b]; w->row_scen[b] = ts;
  double tx = w->row_x[a]; w->row_x[a] = w->row_x[b]; w->row_x[b] = tx;
}

/* Shuffles the rows into time order and stamps them. The first S rows are
 * then made one of each scenario in scenario order, so a reader numbering
 * scenarios by first appearance numbers them as the generator does. */
static gboolean
order_rows (World *w, GError **error)
{
  Stream st;
  stream_init (&st, w->o->seed, STREAM_ORDER);
  for (gsize i = w->N; i > 1; i--)
    swap_rows (w, i - 1, (gsize) msr_rng_below (&st.rng, i));
  for (guint s = 0; s < w->S; s++)
    {
      gsize j = s;
      while (j < w->N && w->row_scen[j] != s)
        j++;
      if (j == w->N)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                       "simulation option row_share: scenario %u ('%s') got no rows; raise n_rows or its share",
                       s, msr_sim_options_get_name (w->o, s));
          return FALSE;
        }
      swap_rows (w, s, j);
    }
  gint64 t = w->o->start_time;
  const guint64 span = 2 * (guint64) w->o->mean_gap - 1;
  for (gsize r = 0; r < w->N; r++)
    {
      if (r > 0)
        t += 1 + (gint64) msr_rng_below (&st.rng, span);
      w->row_ts[r] = t;
    }
  return TRUE;
}

/* b such that the mean of σ(b + x[r]) over the n values is target:
 * safeguarded Newton on a monotone function. */
static double
calibrate_offset (const double *x, gsize n, double target)
{
  double lo = -40, hi = 40, b = log (target / (1 - target));
  for (int it = 0; it < 100; it++)
    {
      double f = 0, df = 0;
      for (gsize r = 0; r < n; r++)
        {
          double p = sigmoid (b + x[r]);
          f += p;
          df += p * (1 - p);
        }
      f = f / n - target;
      df /= n;
      if (fabs (f) < 1e-13)
        break;
      if (f > 0)
        hi = b;
      else
        lo = b;
      double next = df > 0 ? b - f / df : NAN;
      if (!(next > lo && next < hi))
        next = 0.5 * (lo + hi);
      if (next == b)
        break;
      b = next;
    }
  return b;
}

static void
draw_clicks (World *w)
{
  Stream st;
  stream_init (&st, w->o->seed, STREAM_CLICKS);
  /* Each scenario's x values together, in row order. */
  gsize start[MSR_SIM_MAX_SCENARIOS + 1] = { 0 }, fill[MSR_SIM_MAX_SCENARIOS];
  for (gsize r = 0; r < w->N; r++)
    start[w->row_scen[r] + 1]++;
  for (guint s = 0; s < w->S; s++)
    {
      start[s + 1] += start[s];
      fill[s] = start[s];
    }
  g_autofree double *grouped = g_new (double, w->N);
  for (gsize r = 0; r < w->N; r++)
    grouped[fill[w->row_scen[r]]++] = w->row_x[r];
  for (guint s = 0; s < w->S; s++)
    w->offset[s] = calibrate_offset (grouped + start[s], start[s + 1] - start[s], w->o->base_rate[s]);
  for (gsize r = 0; r < w->N; r++)
    {
      double p = sigmoid (w->offset[w->row_scen[r]] + w->row_x[r]);
      w->row_p[r] = p;
      w->row_click[r] = msr_rng_uniform (&st.rng) < p;
    }
}

static gboolean
generate (World *w, const MsrSimOptions *o, MsrProgressFunc progress, gpointer progress_data,
          GCancellable *cancellable, GError **error)
{
  memset (w, 0, sizeof *w);
  w->o = o;
  w->S = o->n_scenarios;
  w->k = o->latent_dim;
  w->U = o->n_users;
  w->N = (gsize) o->n_rows;
  double c[MSR_SIM_MAX_SCENARIOS * MSR_SIM_MAX_SCENARIOS];
  for (guint i = 0; i < w->S; i++)
    for (guint j = 0; j < w->S; j++)
      c[i * w->S + j] = o->correlation[i][j];
  guint bad;
  double pivot;
  if (!cholesky (c, w->S, w->chol, &bad, &pivot))
    g_assert_not_reached ();   /* validated before */
  for (guint s = 0; s < w->S; s++)
    w->item_base[s + 1] = w->item_base[s] + o->n_items[s];
  w->n_items_total = w->item_base[w->S];

  w->item_vec = g_new (double, (gsize) w->n_items_total * w->k);
  w->item_bias = g_new (double, w->n_items_total);
  w->item_cum = g_new (double, w->n_items_total);
  w->item_genre = g_new (guint8, w->n_items_total);
  w->user_rows = g_new (guint, w->U);
  w->user_segment = g_new (guint8, w->U);
  w->row_user = g_new (guint32, w->N);
  w->row_item = g_new (guint32, w->N);
  w->row_scen = g_new (guint8, w->N);
  w->row_x = g_new (double, w->N);
  w->row_p = g_new (double, w->N);
  w->row_click = g_new (guint8, w->N);
  w->row_ts = g_new (gint64, w->N);

  if (progress)
    progress (0.0, "Drawing items", progress_data);
  draw_items (w);
  draw_activity (w);
  if (!draw_rows (w, progress, progress_data, cancellable, error) || !check_cancel (cancellable, error))
    return FALSE;
  if (!order_rows (w, error))
    return FALSE;
  if (progress)
    progress (0.32, "Drawing clicks", progress_data);
  draw_clicks (w);
  return check_cancel (cancellable, error);
}

/* ---- files --------------------------------------------------------------- */

static const char *const segment_names[] = { "light", "regular", "heavy" };

static void
append_csv_field (GString *out, const char *v)
{
  if (strpbrk (v, ",\"\r\n") == NULL)
    {
      g_string_append (out, v);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *c = v; *c; c++)
    {
      if (*c == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *c);
    }
  g_string_append_c (out, '"');
}

static gboolean
write_all (int fd, const char *data, gsize len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* Writes interactions.csv through a temporary file in the same folder. */
static gboolean
write_csv (const World *w, const char *path, MsrProgressFunc progress, gpointer progress_data,
           GCancellable *cancellable, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *tmp = g_build_filename (dir, "." MSR_SIM_DATA_FILE ".XXXXXX", NULL);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot create a temporary file: %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  g_autofree char **quoted = g_new0 (char *, w->S + 1);
  for (guint s = 0; s < w->S; s++)
    {
      GString *q = g_string_new (NULL);
      append_csv_field (q, msr_sim_options_get_name (w->o, s));
      quoted[s] = g_string_free (q, FALSE);
    }

  gboolean ok = TRUE;
  int saved = 0;
  g_autoptr(GString) buf = g_string_sized_new (1 << 20);
  g_string_append (buf, "user_id,item_id,scenario,click,ts,user_segment,item_genre\n");
  for (gsize r = 0; r < w->N && ok; r++)
    {
      guint u = w->row_user[r], i = w->row_item[r];
      g_string_append_printf (buf, "u%u,i%u,%s,%u,%" G_GINT64_FORMAT ",%s,g%u\n",
                              u + 1, i + 1, quoted[w->row_scen[r]], w->row_click[r], w->row_ts[r],
                              segment_names[w->user_segment[u]], w->item_genre[i] + 1u);
      if (buf->len >= (1 << 20) || r + 1 == w->N)
        {
          if (!write_all (fd, buf->str, buf->len))
            {
              saved = errno;
              ok = FALSE;
            }
          g_string_truncate (buf, 0);
          if (g_cancellable_is_cancelled (cancellable))
            break;
          if (progress)
            progress (0.35 + 0.15 * (double) (r + 1) / w->N, "Writing " MSR_SIM_DATA_FILE, progress_data);
        }
    }
  if (ok && g_fsync (fd) != 0)
    {
      saved = errno;
      ok = FALSE;
    }
  if (close (fd) != 0 && ok)
    {
      saved = errno;
      ok = FALSE;
    }
  for (guint s = 0; s < w->S; s++)
    g_free (quoted[s]);
  if (!ok)
    g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot write: %s", path, g_strerror (saved));
  else if (!check_cancel (cancellable, error))
    ok = FALSE;
  else if (g_rename (tmp, path) != 0)
    {
      saved = errno;
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot rename the temporary file into place: %s",
                   path, g_strerror (saved));
      ok = FALSE;
    }
  if (!ok)
    g_unlink (tmp);
  return ok;
}

/* What the generated rows turned out to be, per scenario, measured on the
 * dataset read back from the written file with the project's split. */
typedef struct {
  guint64 rows[MSR_SIM_MAX_SCENARIOS], test_rows[MSR_SIM_MAX_SCENARIOS], positives[MSR_SIM_MAX_SCENARIOS];
  guint   users[MSR_SIM_MAX_SCENARIOS], items_used[MSR_SIM_MAX_SCENARIOS];
  double  bayes_auc[MSR_SIM_MAX_SCENARIOS], bayes_auc_all[MSR_SIM_MAX_SCENARIOS];
  double  bayes_logloss[MSR_SIM_MAX_SCENARIOS];
  double  bayes_auc_overall;
} Measured;

static gboolean
measure (const World *w, const MsrDataset *ds, Measured *m, GError **error)
{
  memset (m, 0, sizeof *m);
  if (msr_dataset_get_n_rows (ds) != w->N || msr_dataset_get_n_scenarios (ds) != w->S)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH,
                   "%s: read back %" G_GSIZE_FORMAT " rows in %u scenarios, but %" G_GSIZE_FORMAT
                   " rows in %u scenarios were written",
                   msr_dataset_get_source (ds), msr_dataset_get_n_rows (ds),
                   msr_dataset_get_n_scenarios (ds), w->N, w->S);
      return FALSE;
    }
  for (guint s = 0; s < w->S; s++)
    if (strcmp (msr_dataset_get_scenario_name (ds, s), msr_sim_options_get_name (w->o, s)) != 0)
      {
        g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH, "%s: scenario %u reads back as '%s', not '%s'",
                     msr_dataset_get_source (ds), s, msr_dataset_get_scenario_name (ds, s),
                     msr_sim_options_get_name (w->o, s));
        return FALSE;
      }
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  const guint8 *labels = msr_dataset_get_labels (ds);
  const guint8 *splits = msr_dataset_get_splits (ds);
  for (gsize r = 0; r < w->N; r++)
    if (scen[r] != w->row_scen[r] || labels[r] != w->row_click[r])
      {
        g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH,
                     "%s: row %" G_GSIZE_FORMAT " reads back differently from what was written",
                     msr_dataset_get_source (ds), r + 1);
        return FALSE;
      }

  g_autofree double *p = g_new (double, w->N);
  g_autofree guint8 *y = g_new (guint8, w->N);
  g_autofree guint8 *seen_user = g_new (guint8, w->U);
  g_autofree guint8 *seen_item = g_new (guint8, w->n_items_total);
  for (guint s = 0; s < w->S; s++)
    {
      gsize n = 0, n_test = 0;
      memset (seen_user, 0, w->U);
      memset (seen_item, 0, w->n_items_total);
      /* Test rows first, then the others: one buffer serves both AUCs. */
      for (int pass = 0; pass < 2; pass++)
        for (gsize r = 0; r < w->N; r++)
          if (scen[r] == s && ((splits[r] == MSR_SPLIT_TEST) == (pass == 0)))
            {
              p[n] = w->row_p[r];
              y[n] = labels[r];
              n++;
              n_test += pass == 0;
              m->positives[s] += labels[r];
              seen_user[w->row_user[r]] = 1;
              seen_item[w->row_item[r]] = 1;
            }
      m->rows[s] = n;
      m->test_rows[s] = n_test;
      for (guint u = 0; u < w->U; u++)
        m->users[s] += seen_user[u];
      for (guint i = 0; i < w->n_items_total; i++)
        m->items_used[s] += seen_item[i];
      m->bayes_auc[s] = msr_auc (p, y, n_test, NULL);
      m->bayes_logloss[s] = msr_logloss (p, y, n_test, NULL);
      m->bayes_auc_all[s] = msr_auc (p, y, n, NULL);
    }
  gsize n = 0;
  for (gsize r = 0; r < w->N; r++)
    if (splits[r] == MSR_SPLIT_TEST)
      {
        p[n] = w->row_p[r];
        y[n] = labels[r];
        n++;
      }
  m->bayes_auc_overall = msr_auc (p, y, n, NULL);
  return TRUE;
}

/* Numbers in the ground truth carry 10 significant digits: enough for any
 * use, and short of the last bits where C libraries may differ. */
static void
append_number (GString *out, double v)
{
  if (!isfinite (v))
    {
      g_string_append (out, "null");
      return;
    }
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.10g", v));
}

static void
append_json_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const guchar *c = (const guchar *) s; *c; c++)
    {
      if (*c == '"' || *c == '\\')
        g_string_append_printf (out, "\\%c", *c);
      else if (*c < 0x20)
        g_string_append_printf (out, "\\u%04x", *c);
      else
        g_string_append_c (out, (char) *c);
    }
  g_string_append_c (out, '"');
}

static char *
truth_json (const World *w, const Measured *m)
{
  const MsrSimOptions *o = w->o;
  GString *j = g_string_new ("{\n");
  g_string_append_printf (j, "  \"format\": %d,\n", TRUTH_FORMAT);
  g_string_append (j, "  \"generator\": \"MSR Lens simulated world\",\n");
  g_string_append_printf (j, "  \"generator_version\": %d,\n", MSR_SIM_GENERATOR_VERSION);
  g_string_append_printf (j, "  \"seed\": %" G_GUINT64_FORMAT ",\n", o->seed);
  g_string_append_printf (j, "  \"n_users\": %u,\n", o->n_users);
  g_string_append_printf (j, "  \"n_rows\": %" G_GUINT64_FORMAT ",\n", o->n_rows);
  g_string_append_printf (j, "  \"latent_dim\": %u,\n", o->latent_dim);
  const struct { const char *key; double v; } sds[] = {
    { "propensity_sd", o->propensity_sd }, { "item_bias_sd", o->item_bias_sd },
    { "popularity_sd", o->popularity_sd }, { "activity_sd", o->activity_sd },
    { "affinity_sd", o->affinity_sd }, { "test_fraction", o->test_fraction },
    { "valid_fraction", o->valid_fraction },
  };
  for (guint i = 0; i < G_N_ELEMENTS (sds); i++)
    {
      g_string_append_printf (j, "  \"%s\": ", sds[i].key);
      append_number (j, sds[i].v);
      g_string_append (j, ",\n");
    }
  g_string_append_printf (j, "  \"min_user_rows\": %u,\n", o->min_user_rows);
  g_string_append_printf (j, "  \"start_time\": %" G_GINT64_FORMAT ",\n", o->start_time);
  g_string_append_printf (j, "  \"mean_gap\": %u,\n", o->mean_gap);
  g_string_append (j, "  \"correlation\": [\n");
  for (guint a = 0; a < w->S; a++)
    {
      g_string_append (j, "    [");
      for (guint b = 0; b < w->S; b++)
        {
          if (b)
            g_string_append (j, ", ");
          append_number (j, o->correlation[a][b]);
        }
      g_string_append (j, a + 1 < w->S ? "],\n" : "]\n");
    }
  g_string_append (j, "  ],\n");
  g_string_append (j, "  \"bayes_auc_overall\": ");
  append_number (j, m->bayes_auc_overall);
  g_string_append (j, ",\n  \"scenarios\": [\n");
  double share_sum = 0;
  for (guint s = 0; s < w->S; s++)
    share_sum += o->row_share[s];
  for (guint s = 0; s < w->S; s++)
    {
      g_string_append (j, "    {\"name\": ");
      append_json_string (j, msr_sim_options_get_name (o, s));
      const struct { const char *key; double v; } nums[] = {
        { "row_share", o->row_share[s] / share_sum }, { "alpha", o->alpha[s] },
        { "base_rate", o->base_rate[s] }, { "offset", w->offset[s] },
        { "click_rate", m->rows[s] ? (double) m->positives[s] / m->rows[s] : NAN },
        { "bayes_auc", m->bayes_auc[s] }, { "bayes_auc_all", m->bayes_auc_all[s] },
        { "bayes_logloss", m->bayes_logloss[s] },
      };
      for (guint i = 0; i < G_N_ELEMENTS (nums); i++)
        {
          g_string_append_printf (j, ", \"%s\": ", nums[i].key);
          append_number (j, nums[i].v);
        }
      g_string_append_printf (j, ", \"n_items\": %u, \"items_used\": %u, \"users\": %u"
                              ", \"rows\": %" G_GUINT64_FORMAT ", \"test_rows\": %" G_GUINT64_FORMAT
                              ", \"positives\": %" G_GUINT64_FORMAT "}%s\n",
                              o->n_items[s], m->items_used[s], m->users[s], m->rows[s], m->test_rows[s],
                              m->positives[s], s + 1 < w->S ? "," : "");
    }
  g_string_append (j, "  ]\n}\n");
  return g_string_free (j, FALSE);
}

/* ---- writing a project --------------------------------------------------- */

/* What this call created, removed again on failure. */
typedef struct {
  GPtrArray *files;
  GPtrArray *dirs;
} Created;

static void
created_undo (Created *c)
{
  for (guint i = c->files->len; i > 0; i--)
    g_unlink (g_ptr_array_index (c->files, i - 1));
  for (guint i = c->dirs->len; i > 0; i--)
    g_rmdir (g_ptr_array_index (c->dirs, i - 1));
}

/* Creates dir and any missing parents, remembering which. */
static gboolean
make_dirs (const char *dir, Created *c, GError **error)
{
  g_autoptr(GPtrArray) missing = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *p = g_strdup (dir);
  while (!g_file_test (p, G_FILE_TEST_EXISTS))
    {
      g_ptr_array_insert (missing, 0, g_strdup (p));
      char *parent = g_path_get_dirname (p);
      if (strcmp (parent, p) == 0)
        {
          g_free (parent);
          break;
        }
      g_free (p);
      p = parent;
    }
  for (guint i = 0; i < missing->len; i++)
    {
      const char *d = g_ptr_array_index (missing, i);
      if (g_mkdir (d, 0755) != 0)
        {
          int saved = errno;
          g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot create folder: %s", d, g_strerror (saved));
          return FALSE;
        }
      g_ptr_array_add (c->dirs, g_strdup (d));
    }
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: not a folder", dir);
      return FALSE;
    }
  return TRUE;
}

/* Maps a sub-task's progress into [lo, hi] of the whole. */
typedef struct {
  MsrProgressFunc func;
  gpointer        data;
  double          lo, hi;
} SubProgress;

static void
sub_progress (double fraction, const char *stage, gpointer user_data)
{
  SubProgress *sp = user_data;
  if (sp->func)
    sp->func (fraction < 0 ? fraction : sp->lo + (sp->hi - sp->lo) * fraction, stage, sp->data);
}

static gboolean
write_project (const char *dir, const MsrSimOptions *o, Created *created, MsrProgressFunc progress,
               gpointer progress_data, GCancellable *cancellable, GError **error)
{
  g_autofree char *project_file = g_build_filename (dir, MSR_PROJECT_FILE, NULL);
  g_autofree char *csv_path = g_build_filename (dir, MSR_SIM_DATA_FILE, NULL);
  g_autofree char *truth_path = g_build_filename (dir, MSR_SIM_TRUTH_FILE, NULL);

  if (g_file_test (project_file, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s already exists: the folder holds a project", project_file);
      return FALSE;
    }
  const char *const ours[] = { csv_path, truth_path };
  for (guint i = 0; i < G_N_ELEMENTS (ours); i++)
    if (g_file_test (ours[i], G_FILE_TEST_EXISTS))
      {
        g_set_error (error, MSR_ERROR, MSR_ERROR_IO,
                     "%s already exists: a simulated world is written into a folder without one", ours[i]);
        return FALSE;
      }
  if (!msr_sim_options_validate (o, error) || !check_cancel (cancellable, error) ||
      !make_dirs (dir, created, error))
    return FALSE;

  World w;
  gboolean ok = generate (&w, o, progress, progress_data, cancellable, error);
  if (ok)
    {
      ok = write_csv (&w, csv_path, progress, progress_data, cancellable, error);
      if (ok)
        g_ptr_array_add (created->files, g_strdup (csv_path));
    }

  /* Read the file back exactly as the project will, to measure the true
   * probabilities on the project's own test rows. */
  char *features[] = { "user_segment", "item_genre", NULL };
  MsrCsvSchema schema = {
    .label_column = "click", .scenario_column = "scenario", .user_column = "user_id",
    .item_column = "item_id", .feature_columns = features, .time_column = "ts", .delimiter = ',',
  };
  MsrSplitOptions split;
  msr_split_options_init (&split);
  split.method = MSR_SPLIT_METHOD_RANDOM;
  split.test_fraction = o->test_fraction;
  split.valid_fraction = o->valid_fraction;
  split.valid_by_time = FALSE;
  split.seed = o->seed;

  Measured m;
  if (ok)
    {
      SubProgress sp = { progress, progress_data, 0.5, 0.9 };
      g_autoptr(MsrDataset) ds = msr_tabular_load (csv_path, NULL, &schema, sub_progress, &sp,
                                                   cancellable, error);
      ok = ds != NULL && msr_dataset_apply_split (ds, &split, error) && measure (&w, ds, &m, error) &&
           check_cancel (cancellable, error);
    }
  if (ok)
    {
      if (progress)
        progress (0.92, "Writing " MSR_SIM_TRUTH_FILE, progress_data);
      g_autofree char *json = truth_json (&w, &m);
      g_autoptr(GError) local = NULL;
      ok = g_file_set_contents (truth_path, json, -1, &local);
      if (ok)
        g_ptr_array_add (created->files, g_strdup (truth_path));
      else
        g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot write: %s", truth_path, local->message);
    }
  world_clear (&w);
  if (!ok || !check_cancel (cancellable, error))
    return FALSE;

  /* The commit point: once project.msrlens exists, cancellation no longer
   * applies. */
  g_autoptr(MsrProject) project = msr_project_create_csv (dir, csv_path, &schema, &split, NULL, error);
  if (project == NULL)
    return FALSE;
  g_ptr_array_add (created->files, g_strdup (project_file));

  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local = NULL;
  if (!g_key_file_load_from_file (kf, project_file, G_KEY_FILE_KEEP_COMMENTS, &local))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot read back: %s", project_file, local->message);
      return FALSE;
    }
  /* The data file beside the description, by a relative path, so the
   * project folder can be moved. */
  g_key_file_set_string (kf, "dataset", "path", MSR_SIM_DATA_FILE);
  g_key_file_set_integer (kf, "simulation", "generator-version", MSR_SIM_GENERATOR_VERSION);
  g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, o->seed);
  g_key_file_set_string (kf, "simulation", "seed", seed);
  g_key_file_set_string (kf, "simulation", "truth", MSR_SIM_TRUTH_FILE);
  g_key_file_set_comment (kf, "simulation", NULL,
                          " A simulated world: the rows were drawn from a known model whose planted\n"
                          " truth is in the file named below (docs/FORMATS.md, section 10).", NULL);
  if (!g_key_file_save_to_file (kf, project_file, &local))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: cannot write: %s", project_file, local->message);
      return FALSE;
    }
  g_autoptr(MsrProject) check = msr_project_open (dir, error);
  if (check == NULL)
    return FALSE;
  if (progress)
    progress (1.0, "Done", progress_data);
  return TRUE;
}

gboolean
msr_sim_write_project (const char *dir, const MsrSimOptions *opts, MsrProgressFunc progress,
                       gpointer progress_data, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (dir != NULL && opts != NULL, FALSE);
  g_autofree char *abs_dir = g_canonicalize_filename (dir, NULL);
  Created created = { g_ptr_array_new_with_free_func (g_free), g_ptr_array_new_with_free_func (g_free) };
  gboolean ok = write_project (abs_dir, opts, &created, progress, progress_data, cancellable, error);
  if (!ok)
    created_undo (&created);
  g_ptr_array_unref (created.files);
  g_ptr_array_unref (created.dirs);
  return ok;
}

/* ---- planted knowledge ------------------------------------------------------ */

gboolean
msr_sim_planted_vectors (const MsrSimOptions *o, float **user_vectors, float **scenario_vectors, guint *dim_out,
                         GError **error)
{
  if (!msr_sim_options_validate (o, error))
    return FALSE;
  const guint S = o->n_scenarios, k = o->latent_dim, U = o->n_users, D = S * (1 + k);
  double c[MSR_SIM_MAX_SCENARIOS * MSR_SIM_MAX_SCENARIOS], chol[MSR_SIM_MAX_SCENARIOS * MSR_SIM_MAX_SCENARIOS];
  for (guint i = 0; i < S; i++)
    for (guint j = 0; j < S; j++)
      c[i * S + j] = o->correlation[i][j];
  guint bad;
  double pivot;
  if (!cholesky (c, S, chol, &bad, &pivot))
    g_assert_not_reached ();   /* validated */
  double kappa[MSR_SIM_MAX_SCENARIOS], share_sum, beta[MSR_SIM_MAX_SCENARIOS], cum[MSR_SIM_MAX_SCENARIOS];
  propensity_scales (o, kappa, &share_sum);
  Stream su;
  stream_init (&su, o->seed, STREAM_USERS);
  g_autofree double *z = g_new (double, (gsize) S * k);
  g_autofree double *theta = g_new (double, (gsize) S * k);
  float *uv = g_new (float, (gsize) U * D);
  for (guint u = 0; u < U; u++)
    {
      draw_user (o, chol, kappa, share_sum, &su, z, theta, beta, cum);
      float *row = uv + (gsize) u * D;
      for (guint s = 0; s < S; s++)
        row[s] = (float) beta[s];
      for (gsize i = 0; i < (gsize) S * k; i++)
        row[S + i] = (float) theta[i];
    }
  float *sv = g_new0 (float, (gsize) S * D);
  for (guint s = 0; s < S; s++)
    {
      for (guint t = 0; t < S; t++)
        sv[(gsize) s * D + t] = (float) chol[s * S + t];
      sv[(gsize) s * D + S] = (float) o->alpha[s];
    }
  *user_vectors = uv;
  *scenario_vectors = sv;
  *dim_out = D;
  return TRUE;
}

gboolean
msr_sim_write_planted_knowledge (const char *dir, const MsrSimOptions *o, GError **error)
{
  g_autofree float *uv = NULL, *sv = NULL;
  guint D;
  if (!msr_sim_planted_vectors (o, &uv, &sv, &D, error))
    return FALSE;
  const guint S = o->n_scenarios, U = o->n_users;
  g_autofree char *path = g_build_filename (dir, MSR_KNOWLEDGE_FILE, NULL);
  g_autoptr(MsrKnowledge) k = msr_knowledge_open (path, MSR_KNOWLEDGE_READ_WRITE, error);
  if (k == NULL)
    return FALSE;
  g_autofree char *source = g_strdup_printf ("simulated world, seed %" G_GUINT64_FORMAT, o->seed);
  MsrKnowledgeImport info = { .kind = (char *) "derived", .source = source, .llm = (char *) "planted" };
  gint64 im = msr_knowledge_begin_import (k, &info, error);
  if (im == 0)
    return FALSE;
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  g_autofree MsrKnowledgeEntry *entries = g_new0 (MsrKnowledgeEntry, U + S);
  for (guint i = 0; i < U + S; i++)
    {
      const gboolean user = i < U;
      char *key = user ? g_strdup_printf ("u%u", i + 1) : g_strdup (msr_sim_options_get_name (o, i - U));
      char *text = user
        ? g_strdup_printf ("Planted knowledge of user %s: the propensities and tastes the simulated world drew "
                           "for this user (an oracle, not an LLM).", key)
        : g_strdup_printf ("Planted knowledge of scenario %s: its row of the planted correlation's Cholesky "
                           "factor and its signal strength α = %.2f (an oracle, not an LLM).", key, o->alpha[i - U]);
      g_ptr_array_add (keys, key);
      g_ptr_array_add (texts, text);
      entries[i] = (MsrKnowledgeEntry) { .level = user ? MSR_KNOWLEDGE_USER : MSR_KNOWLEDGE_SCENARIO, .key = key,
                                         .source = (char *) "planted", .response = text, .llm = (char *) "planted" };
    }
  if (!msr_knowledge_add_entries (k, im, entries, U + S, NULL, NULL, error))
    return FALSE;
  g_autofree char *params = g_strdup_printf ("{\"layout\": \"users: beta (S), theta (S x k); scenarios: "
                                             "Cholesky row (S), alpha, zeros\", \"S\": %u, \"k\": %u}",
                                             S, o->latent_dim);
  MsrKnowledgeEncoder enc = { .name = (char *) "planted", .kind = (char *) "imported", .dim = D, .params = params };
  if (!msr_knowledge_put_encoder (k, &enc, error))
    return FALSE;
  g_autofree gint64 *ids = g_new (gint64, U + S);
  g_autofree float *vectors = g_new (float, (gsize) (U + S) * D);
  for (guint i = 0; i < U + S; i++)
    {
      g_autoptr(MsrKnowledgeEntry) e = msr_knowledge_get_entry (k, entries[i].level, entries[i].key, "planted", error);
      if (e == NULL)
        {
          if (error && *error == NULL)
            g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: the planted entry of '%s' was not stored", path,
                         entries[i].key);
          return FALSE;
        }
      ids[i] = e->id;
      memcpy (vectors + (gsize) i * D, i < U ? uv + (gsize) i * D : sv + (gsize) (i - U) * D, D * sizeof (float));
    }
  /* The scenario knowledge's own correlation, as an encoder's would be
   * stored: cos(L_s ⊕ α_s, L_t ⊕ α_t), near but not equal to C_st since
   * the α column adds α_s·α_t. */
  g_autofree double *cos = msr_knowledge_cosine_matrix (sv, S, D);
  g_autofree const char **names = g_new0 (const char *, S + 1);
  for (guint s = 0; s < S; s++)
    names[s] = msr_sim_options_get_name (o, s);
  return msr_knowledge_put_embeddings (k, "planted", ids, vectors, U + S, error) &&
         msr_knowledge_put_correlation (k, "llm:planted", names, S, cos, error) &&
         msr_knowledge_finish_import (k, im, NULL, error);
}

/* ---- reading the truth --------------------------------------------------- */

void
msr_sim_truth_free (MsrSimTruth *t)
{
  if (t == NULL)
    return;
  g_strfreev (t->names);
  g_free (t->correlation);
  g_free (t->alpha);
  g_free (t->base_rate);
  g_free (t->offset);
  g_free (t->bayes_auc);
  g_free (t->bayes_auc_all);
  g_free (t->bayes_logloss);
  g_free (t->rows);
  g_free (t->test_rows);
  g_free (t->positives);
  g_free (t->users);
  g_free (t->items);
  g_free (t->items_used);
  g_free (t);
}

int
msr_sim_truth_find_scenario (const MsrSimTruth *t, const char *name)
{
  for (guint s = 0; s < t->n_scenarios; s++)
    if (g_strcmp0 (t->names[s], name) == 0)
      return (int) s;
  return -1;
}

static GKeyFile *
load_project_file (const char *project_dir, char **file_out, GError **error)
{
  g_autofree char *file = g_build_filename (project_dir, MSR_PROJECT_FILE, NULL);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local = NULL;
  if (!g_key_file_load_from_file (kf, file, G_KEY_FILE_NONE, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "%s: not an MSR Lens project (there is no %s)",
                     project_dir, MSR_PROJECT_FILE);
      else
        g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: %s", file, local->message);
      return NULL;
    }
  if (file_out)
    *file_out = g_steal_pointer (&file);
  return g_steal_pointer (&kf);
}

gboolean
msr_sim_project_is_simulated (const char *project_dir)
{
  g_autoptr(GKeyFile) kf = load_project_file (project_dir, NULL, NULL);
  return kf != NULL && g_key_file_has_group (kf, "simulation");
}

typedef struct {
  const char *file;   /* base name, for messages */
  GError    **error;
} Reader;

static gboolean
bad (Reader *rd, const char *where, const char *what)
{
  g_set_error (rd->error, MSR_ERROR, MSR_ERROR_PARSE, "%s: %s: %s", rd->file, where, what);
  return FALSE;
}

/* A number (integers accepted); null gives NaN when allow_null. */
static gboolean
get_number (Reader *rd, JsonObject *obj, const char *key, const char *where, gboolean allow_null,
            double *out)
{
  g_autofree char *at = where ? g_strdup_printf ("%s.%s", where, key) : g_strdup (key);
  JsonNode *node = json_object_get_member (obj, key);
  if (node == NULL)
    return bad (rd, at, "missing");
  if (JSON_NODE_HOLDS_NULL (node) && allow_null)
    {
      *out = NAN;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (node))
    return bad (rd, at, "not a number");
  GType type = json_node_get_value_type (node);
  if (type == G_TYPE_DOUBLE)
    *out = json_node_get_double (node);
  else if (type == G_TYPE_INT64)
    *out = (double) json_node_get_int (node);
  else
    return bad (rd, at, "not a number");
  if (!isfinite (*out))
    return bad (rd, at, "not a finite number");
  return TRUE;
}

static gboolean
get_count (Reader *rd, JsonObject *obj, const char *key, const char *where, guint64 max, guint64 *out)
{
  g_autofree char *at = where ? g_strdup_printf ("%s.%s", where, key) : g_strdup (key);
  JsonNode *node = json_object_get_member (obj, key);
  if (node == NULL)
    return bad (rd, at, "missing");
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return bad (rd, at, "not an integer");
  gint64 v = json_node_get_int (node);
  if (v < 0 || (guint64) v > max)
    {
      g_autofree char *what = g_strdup_printf ("%" G_GINT64_FORMAT " is out of range (0 to %" G_GUINT64_FORMAT ")",
                                               v, max);
      return bad (rd, at, what);
    }
  *out = (guint64) v;
  return TRUE;
}

static MsrSimTruth *
parse_truth (Reader *rd, JsonNode *root, guint64 expected_seed)
{
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      bad (rd, "top level", "not a JSON object");
      return NULL;
    }
  JsonObject *top = json_node_get_object (root);
  g_autoptr(MsrSimTruth) t = g_new0 (MsrSimTruth, 1);
  guint64 v;
  if (!get_count (rd, top, "format", NULL, G_MAXUINT32, &v))
    return NULL;
  if (v != TRUTH_FORMAT)
    {
      g_autofree char *what = g_strdup_printf ("%" G_GUINT64_FORMAT " is not supported (this version reads %d)",
                                               v, TRUTH_FORMAT);
      bad (rd, "format", what);
      return NULL;
    }
  if (!get_count (rd, top, "generator_version", NULL, G_MAXUINT32, &v))
    return NULL;
  t->generator_version = (guint) v;
  if (!get_count (rd, top, "seed", NULL, G_MAXINT64, &t->seed))
    return NULL;
  if (t->seed != expected_seed)
    {
      g_autofree char *what = g_strdup_printf ("%" G_GUINT64_FORMAT " differs from the project's seed %"
                                               G_GUINT64_FORMAT, t->seed, expected_seed);
      bad (rd, "seed", what);
      return NULL;
    }
  if (!get_count (rd, top, "n_users", NULL, G_MAXUINT32, &v))
    return NULL;
  t->n_users = (guint) v;
  if (!get_count (rd, top, "n_rows", NULL, G_MAXINT64, &t->n_rows) ||
      !get_count (rd, top, "latent_dim", NULL, G_MAXUINT32, &v))
    return NULL;
  t->latent_dim = (guint) v;
  if (!get_number (rd, top, "bayes_auc_overall", NULL, TRUE, &t->bayes_auc_overall))
    return NULL;

  JsonNode *sn = json_object_get_member (top, "scenarios");
  if (sn == NULL || !JSON_NODE_HOLDS_ARRAY (sn))
    {
      bad (rd, "scenarios", sn ? "not an array" : "missing");
      return NULL;
    }
  JsonArray *sa = json_node_get_array (sn);
  const guint S = json_array_get_length (sa);
  if (S < 1 || S > MSR_SIM_MAX_SCENARIOS)
    {
      g_autofree char *what = g_strdup_printf ("%u scenarios (1 to %u expected)", S, MSR_SIM_MAX_SCENARIOS);
      bad (rd, "scenarios", what);
      return NULL;
    }
  t->n_scenarios = S;
  t->names = g_new0 (char *, S + 1);
  t->correlation = g_new (double, S * S);
  t->alpha = g_new (double, S);
  t->base_rate = g_new (double, S);
  t->offset = g_new (double, S);
  t->bayes_auc = g_new (double, S);
  t->bayes_auc_all = g_new (double, S);
  t->bayes_logloss = g_new (double, S);
  t->rows = g_new (guint64, S);
  t->test_rows = g_new (guint64, S);
  t->positives = g_new (guint64, S);
  t->users = g_new (guint, S);
  t->items = g_new (guint, S);
  t->items_used = g_new (guint, S);

  for (guint s = 0; s < S; s++)
    {
      g_autofree char *where = g_strdup_printf ("scenarios[%u]", s);
      JsonNode *en = json_array_get_element (sa, s);
      if (!JSON_NODE_HOLDS_OBJECT (en))
        {
          bad (rd, where, "not an object");
          return NULL;
        }
      JsonObject *e = json_node_get_object (en);
      JsonNode *nn = json_object_get_member (e, "name");
      if (nn == NULL || !JSON_NODE_HOLDS_VALUE (nn) || json_node_get_value_type (nn) != G_TYPE_STRING ||
          json_node_get_string (nn)[0] == '\0')
        {
          g_autofree char *at = g_strdup_printf ("%s.name", where);
          bad (rd, at, "missing or not a non-empty string");
          return NULL;
        }
      t->names[s] = g_strdup (json_node_get_string (nn));
      for (guint r = 0; r < s; r++)
        if (strcmp (t->names[r], t->names[s]) == 0)
          {
            g_autofree char *at = g_strdup_printf ("%s.name", where);
            bad (rd, at, "repeats the name of an earlier scenario");
            return NULL;
          }
      guint64 users, items, items_used;
      if (!get_number (rd, e, "alpha", where, FALSE, &t->alpha[s]) ||
          !get_number (rd, e, "base_rate", where, FALSE, &t->base_rate[s]) ||
          !get_number (rd, e, "offset", where, FALSE, &t->offset[s]) ||
          !get_number (rd, e, "bayes_auc", where, TRUE, &t->bayes_auc[s]) ||
          !get_number (rd, e, "bayes_auc_all", where, TRUE, &t->bayes_auc_all[s]) ||
          !get_number (rd, e, "bayes_logloss", where, TRUE, &t->bayes_logloss[s]) ||
          !get_count (rd, e, "rows", where, G_MAXINT64, &t->rows[s]) ||
          !get_count (rd, e, "test_rows", where, t->rows[s], &t->test_rows[s]) ||
          !get_count (rd, e, "positives", where, t->rows[s], &t->positives[s]) ||
          !get_count (rd, e, "users", where, t->n_users, &users) ||
          !get_count (rd, e, "n_items", where, G_MAXUINT32, &items) ||
          !get_count (rd, e, "items_used", where, items, &items_used))
        return NULL;
      t->users[s] = (guint) users;
      t->items[s] = (guint) items;
      t->items_used[s] = (guint) items_used;
      if (t->alpha[s] < 0)
        {
          g_autofree char *at = g_strdup_printf ("%s.alpha", where);
          bad (rd, at, "negative");
          return NULL;
        }
      if (!(t->base_rate[s] > 0 && t->base_rate[s] < 1))
        {
          g_autofree char *at = g_strdup_printf ("%s.base_rate", where);
          bad (rd, at, "not between 0 and 1");
          return NULL;
        }
      const double aucs[] = { t->bayes_auc[s], t->bayes_auc_all[s] };
      for (guint i = 0; i < G_N_ELEMENTS (aucs); i++)
        if (aucs[i] < 0 || aucs[i] > 1)
          {
            g_autofree char *at = g_strdup_printf ("%s.%s", where, i == 0 ? "bayes_auc" : "bayes_auc_all");
            bad (rd, at, "not between 0 and 1");
            return NULL;
          }
    }

  JsonNode *cn = json_object_get_member (top, "correlation");
  if (cn == NULL || !JSON_NODE_HOLDS_ARRAY (cn) || json_array_get_length (json_node_get_array (cn)) != S)
    {
      g_autofree char *what = g_strdup_printf ("missing or not an array of %u rows", S);
      bad (rd, "correlation", what);
      return NULL;
    }
  JsonArray *ca = json_node_get_array (cn);
  for (guint a = 0; a < S; a++)
    {
      g_autofree char *where = g_strdup_printf ("correlation[%u]", a);
      JsonNode *rn = json_array_get_element (ca, a);
      if (!JSON_NODE_HOLDS_ARRAY (rn) || json_array_get_length (json_node_get_array (rn)) != S)
        {
          g_autofree char *what = g_strdup_printf ("not an array of %u numbers", S);
          bad (rd, where, what);
          return NULL;
        }
      JsonArray *row = json_node_get_array (rn);
      for (guint b = 0; b < S; b++)
        {
          JsonNode *x = json_array_get_element (row, b);
          GType type = JSON_NODE_HOLDS_VALUE (x) ? json_node_get_value_type (x) : G_TYPE_INVALID;
          double d = type == G_TYPE_DOUBLE ? json_node_get_double (x)
                   : type == G_TYPE_INT64 ? (double) json_node_get_int (x) : NAN;
          if (!(d >= -1 && d <= 1))
            {
              g_autofree char *at = g_strdup_printf ("%s[%u]", where, b);
              bad (rd, at, "not a number between -1 and 1");
              return NULL;
            }
          t->correlation[a * S + b] = d;
        }
    }
  for (guint a = 0; a < S; a++)
    for (guint b = 0; b < S; b++)
      if ((a == b && fabs (t->correlation[a * S + a] - 1) > 1e-6) ||
          fabs (t->correlation[a * S + b] - t->correlation[b * S + a]) > 1e-6)
        {
          g_autofree char *at = g_strdup_printf ("correlation[%u][%u]", a, b);
          bad (rd, at, a == b ? "the diagonal must be 1" : "the matrix is not symmetric");
          return NULL;
        }
  return g_steal_pointer (&t);
}

MsrSimTruth *
msr_sim_truth_load (const char *project_dir, GError **error)
{
  g_autofree char *file = NULL;
  g_autoptr(GKeyFile) kf = load_project_file (project_dir, &file, error);
  if (kf == NULL)
    return NULL;
  if (!g_key_file_has_group (kf, "simulation"))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID,
                   "%s: not a simulated project (it has no [simulation] group)", file);
      return NULL;
    }
  g_autofree char *name = g_key_file_get_string (kf, "simulation", "truth", NULL);
  g_autofree char *seed_text = g_key_file_get_string (kf, "simulation", "seed", NULL);
  guint64 seed;
  if (name == NULL || g_strstrip (name)[0] == '\0')
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_SCHEMA, "%s: [simulation] truth: missing", file);
      return NULL;
    }
  if (seed_text == NULL ||
      !g_ascii_string_to_unsigned (g_strstrip (seed_text), 10, 0, G_MAXINT64, &seed, NULL))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_SCHEMA, "%s: [simulation] seed: %s", file,
                   seed_text ? "not a non-negative integer" : "missing");
      return NULL;
    }
  g_autofree char *dir = g_canonicalize_filename (project_dir, NULL);
  g_autofree char *path = g_canonicalize_filename (name, dir);
  g_autofree char *base = g_path_get_basename (path);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  g_autofree char *text = NULL;
  gsize text_len = 0, deep_at = 0;
  if (g_file_get_contents (path, &text, &text_len, NULL) &&
      !msr_json_depth_ok (text, (gssize) text_len, MSR_JSON_MAX_DEPTH, &deep_at))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: JSON nested more than %d deep (at byte %" G_GSIZE_FORMAT
                   "): not a ground-truth file", path, MSR_JSON_MAX_DEPTH, deep_at + 1);
      return NULL;
    }
  if (!json_parser_load_from_file (parser, path, &local))
    {
      /* json-glib's parse errors already start with the path. */
      gboolean named = g_str_has_prefix (local->message, path);
      g_set_error (error, MSR_ERROR,
                   local->domain == G_FILE_ERROR ? MSR_ERROR_IO : MSR_ERROR_PARSE,
                   "%s%s%s", named ? "" : path, named ? "" : ": ", local->message);
      return NULL;
    }
  Reader rd = { base, error };
  return parse_truth (&rd, json_parser_get_root (parser), seed);
}

/* ---- recovery ------------------------------------------------------------ */

/* Users need this many rows in both scenarios for their click rates to say
 * something (a user with one row per scenario contributes 0/1 noise). */
#define RECOVERY_MIN_ROWS 5
#define RECOVERY_PERMUTATIONS 9999
#define RECOVERY_SEED 1

void
msr_sim_recovery_free (MsrSimRecovery *rec)
{
  if (rec == NULL)
    return;
  g_strfreev (rec->names);
  g_free (rec->planted);
  g_free (rec->observed);
  g_free (rec->observed_users);
  g_free (rec->alpha);
  g_free (rec->base_rate);
  g_free (rec->bayes_auc);
  g_free (rec);
}

MsrSimRecovery *
msr_sim_recovery_compute (const MsrSimTruth *truth,
                          const MsrDataset  *ds,
                          GError           **error)
{
  g_return_val_if_fail (truth != NULL && ds != NULL, NULL);
  const guint S = msr_dataset_get_n_scenarios (ds);
  if (S != truth->n_scenarios)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_SCHEMA,
                   "%s: the ground truth has %u scenarios, the data %u", MSR_SIM_TRUTH_FILE,
                   truth->n_scenarios, S);
      return NULL;
    }
  /* The truth's order is the generator's; the dataset's is what every view
   * uses: map one to the other by name. */
  g_autofree guint *at = g_new (guint, S);
  for (guint s = 0; s < S; s++)
    {
      const char *name = msr_dataset_get_scenario_name (ds, s);
      int t = msr_sim_truth_find_scenario (truth, name);
      if (t < 0)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_SCHEMA, "%s: no scenario '%s' in the ground truth",
                       MSR_SIM_TRUTH_FILE, name);
          return NULL;
        }
      at[s] = (guint) t;
    }

  g_autoptr(MsrSimRecovery) rec = g_new0 (MsrSimRecovery, 1);
  rec->n_scenarios = S;
  rec->names = g_new0 (char *, S + 1);
  rec->planted = g_new (double, (gsize) S * S);
  rec->alpha = g_new (double, S);
  rec->base_rate = g_new (double, S);
  rec->bayes_auc = g_new (double, S);
  rec->observed_users = g_new0 (guint, (gsize) S * S);
  for (guint a = 0; a < S; a++)
    {
      rec->names[a] = g_strdup (msr_dataset_get_scenario_name (ds, a));
      rec->alpha[a] = truth->alpha[at[a]];
      rec->base_rate[a] = truth->base_rate[at[a]];
      rec->bayes_auc[a] = truth->bayes_auc[at[a]];
      for (guint b = 0; b < S; b++)
        rec->planted[a * S + b] = truth->correlation[at[a] * truth->n_scenarios + at[b]];
    }
  rec->min_rows = RECOVERY_MIN_ROWS;
  rec->observed = msr_corr_click_rate (ds, MSR_SPLIT_MASK_ALL, rec->min_rows, rec->observed_users);
  if (rec->observed == NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%u scenarios are too many for a correlation matrix", S);
      return NULL;
    }
  rec->permutations = RECOVERY_PERMUTATIONS;
  double orderings = 1;
  for (guint k = 2; k <= S && orderings < 1e12; k++)
    orderings *= k;
  rec->mantel_p_floor = MAX (1.0 / orderings, 1.0 / (rec->permutations + 1.0));
  if (!msr_corr_mantel (rec->observed, rec->planted, S, rec->permutations, RECOVERY_SEED, &rec->mantel_r,
                        &rec->mantel_p))
    rec->mantel_r = rec->mantel_p = NAN;
  return g_steal_pointer (&rec);
}

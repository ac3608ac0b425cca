/* bench-sort.c: radix sort and radix AUC against a qsort baseline.
 *
 *   build/bench/bench-sort [N]        (default N = 10,000,000)
 *
 * Scores are realistic CTR predictions: the sigmoid of normal logits,
 * rounded to float32 and widened back to double, with labels drawn from
 * them; a second variant rounds the scores to 3 decimals (heavy ties).
 * Sort and AUC figures are the median of 5 runs (g_get_monotonic_time),
 * measured in the same process on the same data. Then, on the same
 * scores, one run of the evaluation accumulator (5 scenarios, N/50 users)
 * and a few bootstrap replicates of the paired comparison on N/10 rows. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msr-metrics.h"
#include "msr-sort.h"
#include "msr-stats.h"

#define RUNS 5

typedef struct {
  double  score;
  guint32 label;
} Pair;

static guint64
splitmix64 (guint64 *x)
{
  guint64 z = (*x += 0x9E3779B97F4A7C15ull);

  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double
uniform (guint64 *x)
{
  return ((splitmix64 (x) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static int
cmp_pair (const void *x,
          const void *y)
{
  double a = ((const Pair *) x)->score, b = ((const Pair *) y)->score;

  return (a > b) - (a < b);
}

static int
cmp_gint64 (const void *x,
            const void *y)
{
  gint64 a = *(const gint64 *) x, b = *(const gint64 *) y;

  return (a > b) - (a < b);
}

static double
median_ms (gint64 *t)
{
  qsort (t, RUNS, sizeof (gint64), cmp_gint64);
  return t[RUNS / 2] / 1000.0;
}

/* The AUC sweep of the baseline: same integer arithmetic as the engine. */
static double
sweep_pairs (const Pair *p,
             gsize       n)
{
  unsigned __int128 num = 0;
  guint64 neg_below = 0, m = 0;

  for (gsize k = 0; k < n;)
    {
      guint64 pv = 0, nv = 0;
      double v = p[k].score;

      for (; k < n && p[k].score == v; k++)
        {
          if (p[k].label)
            pv++;
          else
            nv++;
        }
      num += (unsigned __int128) pv * (2 * (unsigned __int128) neg_below + nv);
      neg_below += nv;
      m += pv;
    }
  return (double) num / (double) ((unsigned __int128) 2 * m * neg_below);
}

static double
qsort_auc (const double *s,
           const guint8 *y,
           gsize         n)
{
  Pair *p = g_new (Pair, n);
  double auc;

  for (gsize i = 0; i < n; i++)
    {
      p[i].score = s[i];
      p[i].label = y[i];
    }
  qsort (p, n, sizeof (Pair), cmp_pair);
  auc = sweep_pairs (p, n);
  g_free (p);
  return auc;
}

static guint
active_passes (const double *s,
               gsize         n)
{
  guint64 or_ = 0, and_ = ~0ull;
  guint passes = 0;

  for (gsize i = 0; i < n; i++)
    {
      guint64 k = msr_sort_key_from_double (s[i]);

      or_ |= k;
      and_ &= k;
    }
  for (guint d = 0; d < MSR_RADIX_PASSES; d++)
    if (((or_ ^ and_) >> (d * MSR_RADIX_BITS)) & ((1u << MSR_RADIX_BITS) - 1))
      passes++;
  return passes;
}

/* Peak extra resident memory of one msr_auc call, measured in a child
 * process (its high-water mark starts at the resident size at fork). */
static double
radix_bytes_per_row (const double *s,
                     const guint8 *y,
                     gsize         n)
{
  int fd[2];
  pid_t pid;
  double result = NAN;

  if (pipe (fd) != 0)
    return NAN;
  pid = fork ();
  if (pid == 0)
    {
      struct rusage before, after;
      double v;

      getrusage (RUSAGE_SELF, &before);
      (void) msr_auc (s, y, n, NULL);
      getrusage (RUSAGE_SELF, &after);
      v = (after.ru_maxrss - before.ru_maxrss) * 1024.0 / n;
      if (write (fd[1], &v, sizeof v) != sizeof v)
        _exit (1);
      _exit (0);
    }
  close (fd[1]);
  if (pid > 0 && read (fd[0], &result, sizeof result) != sizeof result)
    result = NAN;
  close (fd[0]);
  if (pid > 0)
    waitpid (pid, NULL, 0);
  return result;
}

static void
bench_variant (const char   *name,
               const double *s,
               const guint8 *y,
               gsize         n)
{
  Pair *pairs = g_new (Pair, n), *work = g_new (Pair, n);
  guint64 *keys0 = g_new (guint64, n), *keys = g_new (guint64, n), *ktmp = g_new (guint64, n);
  guint32 *pay = g_new (guint32, n), *ptmp = g_new (guint32, n);
  gint64 t_qs[RUNS], t_rx[RUNS], t_qa[RUNS], t_ra[RUNS];
  double auc_q = 0, auc_r = 0, ms_qs, ms_rx, ms_qa, ms_ra;

  for (gsize i = 0; i < n; i++)
    {
      pairs[i].score = s[i];
      pairs[i].label = y[i];
      keys0[i] = msr_sort_key_from_double (s[i]);
    }

  for (int r = 0; r < RUNS; r++)
    {
      gint64 t0;

      /* Sort only: inputs are prepared outside the timed region. */
      memcpy (work, pairs, n * sizeof (Pair));
      t0 = g_get_monotonic_time ();
      qsort (work, n, sizeof (Pair), cmp_pair);
      t_qs[r] = g_get_monotonic_time () - t0;

      memcpy (keys, keys0, n * sizeof (guint64));
      for (gsize i = 0; i < n; i++)
        pay[i] = y[i];
      t0 = g_get_monotonic_time ();
      msr_radix_sort_u64 (keys, pay, n, ktmp, ptmp);
      t_rx[r] = g_get_monotonic_time () - t0;

      /* Full AUC from the raw arrays: allocation, sort and sweep. */
      t0 = g_get_monotonic_time ();
      auc_q = qsort_auc (s, y, n);
      t_qa[r] = g_get_monotonic_time () - t0;

      t0 = g_get_monotonic_time ();
      auc_r = msr_auc (s, y, n, NULL);
      t_ra[r] = g_get_monotonic_time () - t0;
    }
  ms_qs = median_ms (t_qs);
  ms_rx = median_ms (t_rx);
  ms_qa = median_ms (t_qa);
  ms_ra = median_ms (t_ra);

  printf ("\n%s: %u of %u radix passes active\n", name, active_passes (s, n), MSR_RADIX_PASSES);
  printf ("| %-28s | %10s | %12s | %8s |\n", "path", "ms", "Mrows/s", "speed-up");
  printf ("|------------------------------|-----------:|-------------:|---------:|\n");
  printf ("| %-28s | %10.1f | %12.1f | %8s |\n", "qsort (score,label) pairs", ms_qs, n / ms_qs / 1e3, "1.0x");
  printf ("| %-28s | %10.1f | %12.1f | %7.1fx |\n", "radix sort (key + payload)", ms_rx, n / ms_rx / 1e3, ms_qs / ms_rx);
  printf ("| %-28s | %10.1f | %12.1f | %8s |\n", "AUC via qsort", ms_qa, n / ms_qa / 1e3, "1.0x");
  printf ("| %-28s | %10.1f | %12.1f | %7.1fx |\n", "AUC via radix (msr_auc)", ms_ra, n / ms_ra / 1e3, ms_qa / ms_ra);
  printf ("AUC qsort %.17g, radix %.17g: %s\n", auc_q, auc_r,
          memcmp (&auc_q, &auc_r, sizeof auc_q) == 0 ? "bit-identical" : "DIFFERENT");

  g_free (pairs);
  g_free (work);
  g_free (keys0);
  g_free (keys);
  g_free (ktmp);
  g_free (pay);
  g_free (ptmp);
  if (memcmp (&auc_q, &auc_r, sizeof auc_q) != 0)
    exit (1);
}

static double
ms_since (gint64 t0)
{
  return (g_get_monotonic_time () - t0) / 1000.0;
}

/* 5 scenarios and n/50 users assigned pseudo-randomly. */
static void
bench_accumulator (const double *s,
                   const guint8 *y,
                   gsize         n)
{
  guint32 *sc = g_new (guint32, n), *us = g_new (guint32, n);
  guint n_users = MAX (n / 50, 1);
  guint64 rng = 7;

  for (gsize i = 0; i < n; i++)
    {
      sc[i] = splitmix64 (&rng) % 5;
      us[i] = splitmix64 (&rng) % n_users;
    }
  printf ("\nevaluation accumulator, %" G_GSIZE_FORMAT " rows, 5 scenarios, one run each\n", n);
  printf ("| %-8s | %8s | %10s | %12s | %10s | %14s |\n", "users", "add ms", "finish ms",
          "serialize ms", "load ms", "bytes/row file");
  printf ("|----------|---------:|-----------:|-------------:|-----------:|---------------:|\n");
  for (int with = 0; with < 2; with++)
    {
      MsrEvalAcc *acc = msr_eval_acc_new (with);
      MsrEvalAcc *back;
      MsrEvalResult *res;
      GBytes *bytes;
      double t_add, t_fin, t_ser, t_load;
      gint64 t0;

      for (int k = 0; k < 5; k++)
        {
          char name[16];

          g_snprintf (name, sizeof name, "scenario%d", k);
          msr_eval_acc_intern_scenario (acc, name);
        }
      if (with)
        for (guint u = 0; u < n_users; u++)
          {
            char name[32];

            g_snprintf (name, sizeof name, "user%u", u);
            msr_eval_acc_intern_user (acc, name);
          }
      t0 = g_get_monotonic_time ();
      if (!msr_eval_acc_add_batch (acc, s, y, sc, us, n, NULL, NULL))
        exit (1);
      t_add = ms_since (t0);
      t0 = g_get_monotonic_time ();
      res = msr_eval_acc_finish (acc);
      t_fin = ms_since (t0);
      t0 = g_get_monotonic_time ();
      bytes = msr_eval_acc_serialize (acc);
      t_ser = ms_since (t0);
      t0 = g_get_monotonic_time ();
      back = msr_eval_acc_deserialize (bytes, "bench", NULL);
      t_load = ms_since (t0);
      char users[24];

      g_snprintf (users, sizeof users, "%u", with ? n_users : 0);
      printf ("| %-8s | %8.0f | %10.0f | %12.0f | %10.0f | %14.1f |\n",
              users, t_add, t_fin, t_ser, t_load,
              (double) g_bytes_get_size (bytes) / n);
      msr_eval_result_free (res);
      msr_eval_acc_free (back);
      msr_eval_acc_free (acc);
      g_bytes_unref (bytes);
    }
  g_free (sc);
  g_free (us);
}

/* Model B = model A's score plus noise; 5 scenarios; users; R replicates. */
static void
bench_bootstrap (const double *s,
                 const guint8 *y,
                 gsize         n)
{
  const char *names[] = { "s0", "s1", "s2", "s3", "s4" };
  double *b = g_new (double, n);
  guint32 *sc = g_new (guint32, n), *us = g_new (guint32, n);
  guint64 rng = 11;
  guint R = 20;

  if (n < 10)
    return;
  for (gsize i = 0; i < n; i++)
    {
      b[i] = CLAMP (s[i] + 0.02 * (uniform (&rng) - 0.5), 0.0, 1.0);
      sc[i] = splitmix64 (&rng) % 5;
      us[i] = splitmix64 (&rng) % MAX (n / 50, 1);
    }
  printf ("\npaired stratified bootstrap, %" G_GSIZE_FORMAT " rows, 5 scenarios, users, %u replicates\n", n, R);
  printf ("| %-7s | %12s | %15s |\n", "threads", "setup ms", "ms / replicate");
  printf ("|---------|-------------:|----------------:|\n");
  for (guint threads = 1; threads <= 2; threads++)
    {
      MsrBootstrapOptions opts;
      MsrComparison *c;
      double t_setup, t_all;
      gint64 t0;

      msr_bootstrap_options_init (&opts);
      opts.replicates = 0;
      opts.threads = threads;
      t0 = g_get_monotonic_time ();
      c = msr_compare_paired (s, b, y, sc, names, 5, us, n, &opts, NULL, NULL, NULL, NULL);
      t_setup = ms_since (t0);
      msr_comparison_free (c);
      opts.replicates = R;
      t0 = g_get_monotonic_time ();
      c = msr_compare_paired (s, b, y, sc, names, 5, us, n, &opts, NULL, NULL, NULL, NULL);
      t_all = ms_since (t0);
      msr_comparison_free (c);
      printf ("| %-7u | %12.0f | %15.1f |\n", threads, t_setup, (t_all - t_setup) / R);
    }
  g_free (b);
  g_free (sc);
  g_free (us);
}

int
main (int argc, char **argv)
{
  gsize n = 10000000;
  double *s, *s_ties;
  guint8 *y;
  guint64 rng = 20241128;
  double bpr;

  if (argc > 1)
    n = g_ascii_strtoull (argv[1], NULL, 10);
  if (n < 2 || n > G_MAXUINT32)
    {
      fprintf (stderr, "bench-sort: N must be between 2 and %u\n", G_MAXUINT32);
      return 2;
    }

  s = g_new (double, n);
  s_ties = g_new (double, n);
  y = g_new (guint8, n);
  for (gsize i = 0; i < n; i++)
    {
      /* Box-Muller normal logit, mean -1.5, sd 1.2: CTR-like scores. */
      double z = sqrt (-2.0 * log (uniform (&rng))) * cos (2 * G_PI * uniform (&rng));
      float p = (float) (1.0 / (1.0 + exp (-(-1.5 + 1.2 * z))));

      s[i] = (double) p;
      s_ties[i] = round (s[i] * 1000.0) / 1000.0;
      y[i] = uniform (&rng) < s[i];
    }

  printf ("bench-sort: N = %" G_GSIZE_FORMAT " rows; sort and AUC: median of %d runs, 1 thread\n", n, RUNS);
  bpr = radix_bytes_per_row (s, y, n);
  printf ("radix AUC peak extra memory: %.1f bytes/row measured (24 by construction:"
          " keys 8 + scratch keys 8 + payload 4 + scratch payload 4)\n", bpr);
  bench_variant ("float32 sigmoid scores", s, y, n);
  bench_variant ("scores rounded to 3 decimals (heavy ties)", s_ties, y, n);

  bench_accumulator (s, y, n);
  bench_bootstrap (s, y, n / 10);

  g_free (s);
  g_free (s_ties);
  g_free (y);
  return 0;
}

/* bench-model.c: scoring and training throughput of every backbone, next to
 * a cblas_sgemm peak measured in the same run.
 *
 *   build/bench/bench-model [--rows N] [--quick]
 *
 * Data: a synthetic dataset shaped like MovieLens-100K's genre framing
 * (5 scenarios in MovieLens's proportions; 7 categorical fields with its
 * cardinalities and a multi-hot genre field of 19 values, 1.7 per row on
 * average), built with the private dataset builder; every row is a training
 * row except 1% held out for validation. Codes are uniform (MovieLens's are
 * skewed); this changes which embedding rows a batch touches, not the
 * arithmetic of the dense layers.
 *
 * Figures (batch 4096, default model configurations, embed_dim 16):
 *  - sgemm GFLOP/s (2·M·N·K per call), median of 5, on 1 and 2 BLAS threads,
 *    before and after the models (the higher is the peak the ratios use);
 *  - training samples/s: msr_train epochs (shuffle, batch fill, forward,
 *    backward, Adam step, then scoring the 1% validation rows), training
 *    rows divided by the wall time of the call, BLAS on 1 and 2 threads;
 *    plus forward+backward alone (no optimiser step) on 1 thread, timed
 *    directly, to show what the rest of the step costs;
 *  - scoring samples/s: msr_score over every row with 1 worker (BLAS on 1
 *    thread), 1 worker with BLAS on 2 threads, and 2 workers, scoring the
 *    model the 1-thread training left: it has seen about 200,000 samples
 *    whatever --rows is (an untrained model scores faster);
 *  - achieved GFLOP/s = samples/s × FLOP/sample, where FLOP = 2 × the
 *    multiply-adds msr_model_flops_per_sample reports for one forward pass
 *    (training: 3 × forward, the usual estimate), as a share of the
 *    measured 4096×128×128 sgemm rate at the same thread count;
 *  - graph arena bytes for one batch of 4096 (evaluation forward, and
 *    training forward + backward).
 * Times are g_get_monotonic_time, median of 3 runs (1 with --quick). */
#include "config.h"

#include <cblas.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "msr-dataset-private.h"
#include "bench-util.h"
#include "msr-graph.h"
#include "msr-model.h"
#include "msr-rng.h"
#include "msr-train.h"

#define BATCH 4096
#define SGEMM_RUNS 5

/* ---- small helpers ---------------------------------------------------------- */

static int
cmp_double (const void *x,
            const void *y)
{
  double a = *(const double *) x, b = *(const double *) y;

  return (a > b) - (a < b);
}

static double
median (double *v,
        guint   n)
{
  qsort (v, n, sizeof (double), cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static char *
human_bytes (gsize bytes)
{
  return g_strdup_printf ("%.1f MiB", bytes / (1024.0 * 1024.0));
}

/* ---- sgemm peak --------------------------------------------------------------- */

typedef struct {
  int         m, n, k;
  gboolean    trans_a, trans_b;
  const char *what;
} GemmShape;

/* The forward pass computes x·Wᵀ (A not transposed, B transposed); the
 * backward pass computes dy·W and dyᵀ·x. */
static const GemmShape gemm_shapes[] = {
  { 4096, 128, 128, FALSE, TRUE, "layer 128->128, forward x.W^T" },
  { 4096, 64, 128, FALSE, TRUE, "layer 128->64, forward x.W^T" },
  { 4096, 256, 256, FALSE, TRUE, "layer 256->256, forward x.W^T" },
  { 128, 128, 4096, TRUE, FALSE, "layer 128->128, weight grad dy^T.x" },
  { 1024, 1024, 1024, FALSE, FALSE, "reference, 1024^3" },
};
#define N_SHAPES G_N_ELEMENTS (gemm_shapes)

static void
fill_uniform (float  *v,
              gsize   n,
              MsrRng *rng)
{
  for (gsize i = 0; i < n; i++)
    v[i] = (float) (2 * msr_rng_uniform (rng) - 1);
}

static void
run_gemm (const GemmShape *s,
          const float     *a,
          const float     *b,
          float           *c)
{
  cblas_sgemm (CblasRowMajor, s->trans_a ? CblasTrans : CblasNoTrans,
               s->trans_b ? CblasTrans : CblasNoTrans, s->m, s->n, s->k, 1.0f,
               a, s->trans_a ? s->m : s->k, b, s->trans_b ? s->k : s->n, 0.0f, c, s->n);
}

/* GFLOP/s of one shape: each of the SGEMM_RUNS samples repeats the call
 * until it lasts about min_seconds, so small shapes are timed reliably. */
static double
sgemm_gflops (const GemmShape *s,
              int              threads,
              double           min_seconds)
{
  const gsize na = (gsize) s->m * s->k, nb = (gsize) s->k * s->n, nc = (gsize) s->m * s->n;
  float *a = g_new (float, na), *b = g_new (float, nb), *c = g_new (float, nc);
  double samples[SGEMM_RUNS], t0, t1;
  MsrRng rng;
  guint reps;

  openblas_set_num_threads (threads);
  msr_rng_init (&rng, 7);
  fill_uniform (a, na, &rng);
  fill_uniform (b, nb, &rng);
  /* Warm-up: thread start, page faults, and an idle second processor,
   * which on these virtual machines runs slowly for a moment. */
  t0 = bench_now_seconds ();
  do
    run_gemm (s, a, b, c);
  while (bench_now_seconds () - t0 < min_seconds * 2);
  t0 = bench_now_seconds ();
  run_gemm (s, a, b, c);
  t1 = bench_now_seconds ();
  reps = (guint) CLAMP (ceil (min_seconds / MAX (t1 - t0, 1e-6)), 1, 100000);
  for (int r = 0; r < SGEMM_RUNS; r++)
    {
      t0 = bench_now_seconds ();
      for (guint i = 0; i < reps; i++)
        run_gemm (s, a, b, c);
      t1 = bench_now_seconds ();
      samples[r] = 2.0 * s->m * s->n * s->k * reps / (t1 - t0) / 1e9;
    }
  g_free (a);
  g_free (b);
  g_free (c);
  return median (samples, SGEMM_RUNS);
}

/* ---- the synthetic dataset ----------------------------------------------------- */

/* MovieLens-100K's fields; cardinalities include the unknown code 0. */
static const struct {
  const char *name;
  guint       cardinality;
} cat_fields[] = {
  { "user_id", 944 }, { "item_id", 1681 }, { "age_band", 8 }, { "gender", 3 },
  { "occupation", 22 }, { "zip_prefix", 20 }, { "release_band", 7 },
};
#define N_CAT G_N_ELEMENTS (cat_fields)
#define N_GENRES 19

/* The genre framing's scenarios and their row counts in MovieLens-100K. */
static const struct {
  const char *name;
  double      rows;
  double      positive_rate;
} scenarios[] = {
  { "Family", 10862, 0.493 },
  { "Action/Adventure/Sci-Fi", 35264, 0.562 },
  { "Thriller/Crime/Horror", 16931, 0.574 },
  { "Comedy/Romance", 22972, 0.513 },
  { "Drama/Documentary", 13961, 0.624 },
};
#define N_SCEN G_N_ELEMENTS (scenarios)

static MsrDataset *
make_dataset (gsize    n_rows,
              GError **error)
{
  g_autoptr(MsrDataset) ds = msr_dataset_new ("synthetic-ml100k-genre",
                                              "bench-model synthetic data");
  guint fields[N_CAT], genres;
  double cum[N_SCEN], total = 0;
  MsrRng rng;

  for (guint f = 0; f < N_CAT; f++)
    {
      fields[f] = msr_dataset_add_field (ds, cat_fields[f].name, MSR_FIELD_CATEGORICAL);
      for (guint v = 1; v < cat_fields[f].cardinality; v++)
        {
          g_autofree char *value = g_strdup_printf ("%s-%u", cat_fields[f].name, v);
          msr_dataset_intern_value (ds, fields[f], value);
        }
    }
  genres = msr_dataset_add_field (ds, "genres", MSR_FIELD_MULTI_HOT);
  for (guint v = 1; v <= N_GENRES; v++)
    {
      g_autofree char *value = g_strdup_printf ("genre-%u", v);
      msr_dataset_intern_value (ds, genres, value);
    }
  msr_dataset_set_user_item_fields (ds, fields[0], fields[1]);
  for (guint s = 0; s < N_SCEN; s++)
    {
      msr_dataset_intern_scenario (ds, scenarios[s].name, NULL);
      total += scenarios[s].rows;
      cum[s] = total;
    }

  msr_rng_init (&rng, 20240601);
  for (gsize r = 0; r < n_rows; r++)
    {
      const double u = msr_rng_uniform (&rng) * total;
      guint s = 0, n_genres, picked[3];
      double p;

      while (s + 1 < N_SCEN && u >= cum[s])
        s++;
      /* Every 100th row is a validation row. */
      msr_dataset_begin_row (ds, s, msr_rng_uniform (&rng) < scenarios[s].positive_rate,
                             r % 100 == 99 ? MSR_SPLIT_VALID : MSR_SPLIT_TRAIN, 0);
      for (guint f = 0; f < N_CAT; f++)
        msr_dataset_push_code (ds, fields[f],
                               1 + (gint32) msr_rng_below (&rng, cat_fields[f].cardinality - 1));
      /* 1, 2 or 3 distinct genres with probabilities 0.45, 0.40, 0.15: 1.7 on average. */
      p = msr_rng_uniform (&rng);
      n_genres = p < 0.45 ? 1 : p < 0.85 ? 2 : 3;
      for (guint i = 0; i < n_genres; i++)
        {
          guint g;
          gboolean again;

          do
            {
              g = 1 + (guint) msr_rng_below (&rng, N_GENRES);
              again = FALSE;
              for (guint j = 0; j < i; j++)
                again |= picked[j] == g;
            }
          while (again);
          picked[i] = g;
          msr_dataset_push_code (ds, genres, (gint32) g);
        }
      msr_dataset_end_row (ds);
    }
  if (!msr_dataset_finish (ds, error))
    return NULL;
  return g_steal_pointer (&ds);
}

/* ---- per-backbone measurements --------------------------------------------------- */

typedef struct {
  MsrArch arch;
  double  macs;                  /* per sample, one forward pass */
  gsize   params;                /* trainable elements */
  double  score_1, score_1b2, score_2;   /* samples/s */
  double  train_1, train_2;      /* samples/s, msr_train */
  double  fwdbwd_1;              /* samples/s, forward + backward only */
  gsize   arena_eval, arena_train;
} ArchResult;

static MsrModel *
new_model (MsrArch           arch,
           const MsrDataset *ds)
{
  g_autoptr(GError) error = NULL;
  MsrModelConfig cfg;
  MsrModel *model;

  msr_model_config_init (&cfg, arch);
  cfg.embed_dim = 16;
  model = msr_model_new_for_dataset (&cfg, ds, 42, &error);
  if (model == NULL)
    {
      g_printerr ("bench-model: %s: %s\n", msr_arch_to_string (arch), error->message);
      exit (1);
    }
  return model;
}

/* Scoring samples/s of every row with `workers` workers; blas_threads is
 * the BLAS thread count when there is one worker (msr_score runs BLAS on 1
 * thread inside each of several workers). */
static double
time_score (MsrModel         *model,
            const MsrDataset *ds,
            guint             workers,
            int               blas_threads,
            guint             runs)
{
  double t[3];

  for (guint r = 0; r < runs; r++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree double *scores = NULL;
      gsize n = 0;
      double t0;

      openblas_set_num_threads (blas_threads);
      t0 = bench_now_seconds ();
      scores = msr_score (model, ds, MSR_SPLIT_MASK_ALL, workers, BATCH, &n, NULL, NULL, NULL, NULL,
                          &error);
      t[r] = n / (bench_now_seconds () - t0);
      if (scores == NULL)
        {
          g_printerr ("bench-model: scoring: %s\n", error->message);
          exit (1);
        }
    }
  return median (t, runs);
}

/* Training samples/s of `epochs` msr_train epochs, a fresh model each
 * run; *trained (nullable) receives the last run's model. */
static double
time_train (MsrArch           arch,
            const MsrDataset *ds,
            guint             threads,
            guint             epochs,
            guint             runs,
            MsrModel        **trained)
{
  double t[3];

  for (guint r = 0; r < runs; r++)
    {
      g_autoptr(MsrModel) model = new_model (arch, ds);
      g_autoptr(GError) error = NULL;
      g_autoptr(MsrTrainResult) res = NULL;
      MsrTrainOptions opts;
      double t0;

      msr_train_options_init (&opts);
      opts.epochs = epochs;
      opts.batch_size = BATCH;
      opts.threads = threads;
      t0 = bench_now_seconds ();
      res = msr_train (model, ds, &opts, NULL, NULL, NULL, &error);
      if (res == NULL)
        {
          g_printerr ("bench-model: training %s: %s\n", msr_arch_to_string (arch), error->message);
          exit (1);
        }
      t[r] = (double) epochs * res->train_rows / (bench_now_seconds () - t0);
      if (trained && r + 1 == runs)
        *trained = g_steal_pointer (&model);
    }
  return median (t, runs);
}

/* Forward + loss + backward over the training rows in batches of BATCH,
 * BLAS on 1 thread, no optimiser step (gradients are zeroed untimed). */
static double
time_fwdbwd (MsrArch           arch,
             const MsrDataset *ds,
             guint             runs)
{
  const guint8 *splits = msr_dataset_get_splits (ds);
  const gsize N = msr_dataset_get_n_rows (ds);
  g_autofree guint32 *rows = g_new (guint32, N);
  gsize n = 0;
  double t[3];

  for (gsize r = 0; r < N; r++)
    if (splits[r] == MSR_SPLIT_TRAIN)
      rows[n++] = (guint32) r;
  openblas_set_num_threads (1);
  for (guint r = 0; r < runs; r++)
    {
      g_autoptr(MsrModel) model = new_model (arch, ds);
      g_autoptr(MsrGraph) g = msr_graph_new ();
      g_autoptr(MsrBatch) batch = msr_batch_new (model);
      double spent = 0;

      msr_graph_set_training (g, TRUE);
      for (gsize start = 0; start < n; start += BATCH)
        {
          const gsize m = MIN (BATCH, n - start);
          const double t0 = bench_now_seconds ();
          MsrNode *z, *loss;

          msr_batch_fill (batch, ds, rows + start, m);
          msr_graph_reset (g);
          z = msr_model_forward (model, g, batch, NULL);
          loss = msr_g_bce_logits (g, z, msr_batch_get_labels (batch), (double) m);
          msr_graph_backward (g, loss);
          spent += bench_now_seconds () - t0;
          msr_params_zero_grad (msr_model_get_params (model));
        }
      t[r] = n / spent;
    }
  return median (t, runs);
}

/* Arena bytes of one batch of BATCH rows: evaluation forward, and
 * training forward + backward (each on a fresh graph). */
static void
measure_arena (MsrArch           arch,
               const MsrDataset *ds,
               gsize            *eval_bytes,
               gsize            *train_bytes)
{
  g_autoptr(MsrModel) model = new_model (arch, ds);
  g_autoptr(MsrBatch) batch = msr_batch_new (model);
  g_autoptr(MsrGraph) ge = msr_graph_new ();
  g_autoptr(MsrGraph) gt = msr_graph_new ();
  g_autofree guint32 *rows = g_new (guint32, BATCH);
  const gsize m = MIN ((gsize) BATCH, msr_dataset_get_n_rows (ds));
  MsrNode *z;

  for (gsize i = 0; i < m; i++)
    rows[i] = (guint32) i;
  msr_batch_fill (batch, ds, rows, m);
  openblas_set_num_threads (1);
  msr_graph_set_training (ge, FALSE);
  msr_model_forward (model, ge, batch, NULL);
  *eval_bytes = msr_graph_get_arena_bytes (ge);
  msr_graph_set_training (gt, TRUE);
  z = msr_model_forward (model, gt, batch, NULL);
  msr_graph_backward (gt, msr_g_bce_logits (gt, z, msr_batch_get_labels (batch), (double) m));
  *train_bytes = msr_graph_get_arena_bytes (gt);
}

/* ---- main ------------------------------------------------------------------------ */

int
main (int    argc,
      char **argv)
{
  gint64 rows_opt = 0;
  gboolean quick = FALSE;
  GOptionEntry entries[] = {
    { "rows", 0, 0, G_OPTION_ARG_INT64, &rows_opt, "rows of synthetic data (default 200000; 50000 with --quick)", "N" },
    { "quick", 0, 0, G_OPTION_ARG_NONE, &quick, "fewer rows, one run per figure (about 30 s)", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- model throughput against an sgemm peak");
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrDataset) ds = NULL;
  double gemm_before[N_SHAPES][2], gemm_after[N_SHAPES][2], peak[2], t_start = bench_now_seconds ();
  ArchResult res[MSR_N_ARCHS];
  gsize n_rows, n_train;
  guint n_runs, scoring_epochs;
  const char *env_threads = g_getenv ("OPENBLAS_NUM_THREADS"), *env_core = g_getenv ("OPENBLAS_CORETYPE");
  const char *env_l2 = g_getenv ("OPENBLAS_L2_SIZE");
  g_autofree char *load_start = bench_load_average (), *load_end = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("bench-model: %s\n", error->message);
      return 2;
    }
  if (rows_opt < 0 || rows_opt > G_MAXUINT32 || (rows_opt > 0 && rows_opt < 2 * BATCH))
    {
      g_printerr ("bench-model: --rows must be between %d and %u\n", 2 * BATCH, G_MAXUINT32);
      return 2;
    }
  n_rows = rows_opt ? (gsize) rows_opt : quick ? 50000 : 200000;
  n_runs = quick ? 1 : 3;
  /* How fast a model scores depends on how far it is trained (see
   * docs/BENCHMARKS.md), so the scored model sees about 200,000 training
   * samples (49 steps) whatever --rows is: the 1-thread training runs
   * train that many epochs. */
  n_train = n_rows - n_rows / 100;
  scoring_epochs = (guint) MAX (1, (200000 + n_train / 2) / n_train);

  g_print ("bench-model: MSR Lens %s\n", MSR_VERSION);
  g_print ("processors: %u; load average at start: %s\n", g_get_num_processors (), load_start);
  g_print ("%s (kernel %s); environment: OPENBLAS_NUM_THREADS=%s OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s\n",
           g_strstrip (openblas_get_config ()), openblas_get_corename (),
           env_threads ? env_threads : "(unset)", env_core ? env_core : "(unset)", env_l2 ? env_l2 : "(unset)");
  g_print ("batch %d, %s\n\n", BATCH,
           n_runs == 1 ? "one run per figure (--quick)" : "median of 3 runs per figure");

  /* sgemm before the models, and again after them (printed below). */
  for (guint i = 0; i < N_SHAPES; i++)
    for (int t = 0; t < 2; t++)
      gemm_before[i][t] = sgemm_gflops (&gemm_shapes[i], t + 1, quick ? 0.02 : 0.1);

  /* 2. data */
  {
    const double t0 = bench_now_seconds ();
    g_autofree char *mem = NULL;

    ds = make_dataset (n_rows, &error);
    if (ds == NULL)
      {
        g_printerr ("bench-model: %s\n", error->message);
        return 1;
      }
    mem = human_bytes (msr_dataset_get_memory_bytes (ds));
    g_print ("data: %" G_GSIZE_FORMAT " synthetic rows (99%% train, 1%% valid), 5 scenarios, "
             "8 fields, %s, built in %.2f s\n", n_rows, mem, bench_now_seconds () - t0);
    g_print ("   models: default configurations, embed_dim 16 (input width 128)\n");
  }

  for (guint a = 0; a < MSR_N_ARCHS; a++)
    {
      ArchResult *r = &res[a];
      g_autoptr(MsrModel) model = NULL;
      const double t0 = bench_now_seconds ();

      r->arch = (MsrArch) a;
      r->train_1 = time_train (r->arch, ds, 1, scoring_epochs, n_runs, &model);
      r->train_2 = time_train (r->arch, ds, 2, 1, n_runs, NULL);
      r->macs = msr_model_flops_per_sample (model);
      r->params = msr_params_count_trainable (msr_model_get_params (model));
      /* A trained model: an untrained one scores faster than any real one
       * (its ReLU inputs keep the sign of the biases, which the branch
       * predictor learns; see docs/BENCHMARKS.md). */
      r->score_1 = time_score (model, ds, 1, 1, n_runs);
      r->score_1b2 = time_score (model, ds, 1, 2, n_runs);
      r->score_2 = time_score (model, ds, 2, 1, n_runs);
      r->fwdbwd_1 = time_fwdbwd (r->arch, ds, n_runs);
      measure_arena (r->arch, ds, &r->arena_eval, &r->arena_train);
      g_print ("   %s measured in %.1f s\n", msr_arch_to_string (r->arch), bench_now_seconds () - t0);
    }
  for (guint i = 0; i < N_SHAPES; i++)
    for (int t = 0; t < 2; t++)
      gemm_after[i][t] = sgemm_gflops (&gemm_shapes[i], t + 1, quick ? 0.02 : 0.1);
  g_print ("\n");

  /* Other work on the machine only lowers a figure: the higher of the two
   * is the peak the ratios use. */
  peak[0] = MAX (gemm_before[0][0], gemm_after[0][0]);
  peak[1] = MAX (gemm_before[0][1], gemm_after[0][1]);
  g_print ("1. cblas_sgemm, row-major, float32, GFLOP/s = 2*M*N*K / time, median of %d,\n"
           "   measured before and after the models\n", SGEMM_RUNS);
  g_print ("   %-16s %-36s %15s %15s\n", "M x N x K", "shape of", "1 thread", "2 threads");
  for (guint i = 0; i < N_SHAPES; i++)
    {
      const GemmShape *s = &gemm_shapes[i];
      g_autofree char *dims = g_strdup_printf ("%dx%dx%d", s->m, s->n, s->k);

      g_print ("   %-16s %-36s %7.1f %7.1f %7.1f %7.1f\n", dims, s->what, gemm_before[i][0],
               gemm_after[i][0], gemm_before[i][1], gemm_after[i][1]);
    }
  g_print ("   peak for the ratios below: 4096x128x128 (the models' widest layer), the higher of the two:\n"
           "   %.1f GFLOP/s on 1 thread, %.1f on 2\n\n", peak[0], peak[1]);

  g_print ("2. the scored model: trained by the last 1-thread training run (%u epoch%s, %" G_GSIZE_FORMAT
           " steps of %d)\n\n", scoring_epochs, scoring_epochs == 1 ? "" : "s",
           scoring_epochs * ((n_train + BATCH - 1) / BATCH), BATCH);

  g_print ("3. throughput, samples/s. Training: msr_train over the %" G_GSIZE_FORMAT " training rows (1 thread: %u epoch%s,\n"
           "   2 threads: 1 epoch), validating the 1%% after each epoch included, training rows / wall time.\n"
           "   Scoring: all %" G_GSIZE_FORMAT " rows through msr_score.\n", n_train, scoring_epochs,
           scoring_epochs == 1 ? "" : "s", n_rows);
  g_print ("   %-14s %10s %10s %10s %6s | %10s %10s %6s | %10s %6s\n", "backbone", "score 1t", "score 1w2b",
           "score 2w", "2w/1t", "train 1t", "train 2t", "2t/1t", "fwd+bwd 1t", "train/");
  g_print ("   %-14s %10s %10s %10s %6s | %10s %10s %6s | %10s %6s\n", "", "", "", "", "", "", "", "",
           "", "fb");
  for (guint a = 0; a < MSR_N_ARCHS; a++)
    {
      const ArchResult *r = &res[a];

      g_print ("   %-14s %10.0f %10.0f %10.0f %6.2f | %10.0f %10.0f %6.2f | %10.0f %6.2f\n",
               msr_arch_to_string (r->arch), r->score_1, r->score_1b2, r->score_2, r->score_2 / r->score_1,
               r->train_1, r->train_2, r->train_2 / r->train_1, r->fwdbwd_1, r->train_1 / r->fwdbwd_1);
    }
  g_print ("   1t = 1 worker, BLAS 1 thread; 1w2b = 1 worker, BLAS 2 threads; 2w = 2 workers, BLAS 1 thread each;\n"
           "   2t = BLAS 2 threads; fwd+bwd = batch fill + forward + loss + backward only (no Adam step).\n\n");

  g_print ("4. arithmetic: FLOP = 2 x multiply-adds of one forward pass (msr_model_flops_per_sample);\n"
           "   training counts 3 x forward (an estimate). %% = achieved / sgemm 4096x128x128 at the same threads\n");
  g_print ("   %-14s %9s %10s | %8s %6s %8s %6s | %8s %6s %8s %6s\n", "backbone", "params", "FLOP/samp",
           "score1t", "%", "score2w", "%", "train1t", "%", "train2t", "%");
  for (guint a = 0; a < MSR_N_ARCHS; a++)
    {
      const ArchResult *r = &res[a];
      const double f = 2 * r->macs;
      const double s1 = r->score_1 * f / 1e9, s2 = r->score_2 * f / 1e9;
      const double t1 = r->train_1 * 3 * f / 1e9, t2 = r->train_2 * 3 * f / 1e9;

      g_print ("   %-14s %9" G_GSIZE_FORMAT " %10.0f | %8.2f %5.1f%% %8.2f %5.1f%% | %8.2f %5.1f%% %8.2f %5.1f%%\n",
               msr_arch_to_string (r->arch), r->params, f, s1, 100 * s1 / peak[0], s2,
               100 * s2 / peak[1], t1, 100 * t1 / peak[0], t2, 100 * t2 / peak[1]);
    }
  g_print ("   (GFLOP/s; params = trainable elements, embeddings included)\n\n");

  g_print ("5. graph arena for one batch of %d rows (msr_graph_get_arena_bytes: chunks held, which grow\n"
           "   by doubling, so this bounds the bytes used from above)\n", BATCH);
  g_print ("   %-14s %14s %22s\n", "backbone", "eval forward", "train forward+backward");
  for (guint a = 0; a < MSR_N_ARCHS; a++)
    {
      const ArchResult *r = &res[a];
      g_autofree char *e = human_bytes (r->arena_eval), *t = human_bytes (r->arena_train);

      g_print ("   %-14s %14s %22s\n", msr_arch_to_string (r->arch), e, t);
    }
  load_end = bench_load_average ();
  g_print ("\ntotal %.0f s wall, %.0f s CPU; load average at end: %s\n", bench_now_seconds () - t_start, bench_cpu_seconds (),
           load_end);
  return 0;
}

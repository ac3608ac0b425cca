/* bench-llm4msr.c: what LLM4MSR's meta networks cost (method spec §4.5):
 * parameters, scoring time and training speed of every backbone, plain and
 * with LLM4MSR, on the same data in the same run.
 *
 *   build/bench/bench-llm4msr [--rows N] [--users N] [--threads N] [--repeats N]
 *                             [--backbones a,b,...] [--knowledge-dim D]
 *
 * Data: a simulated world (engine/msr-simulate.h, seed 2024, 5 scenarios,
 * --rows rows, --users users, default rows / 100), written as a project to
 * a temporary folder, loaded as the workbench loads it (random split: 20 %
 * test, 10 % of the rest validation), and removed at the end. Knowledge:
 * the world's planted vectors (msr_sim_planted_vectors: per user its
 * planted propensities and tastes, per scenario its row of the correlation
 * factor and signal strength), D = 5 · (1 + 8) = 45 wide, handed to
 * msr_model_new_with_knowledge in memory. --knowledge-dim D projects them
 * to D dimensions with a fixed random matrix instead (entries uniform with
 * variance 1/45), to see the cost at an LLM's width (ChatGLM2-6B: 4096)
 * with the same information in the vectors.
 *
 * Models: every backbone's default configuration (msr_model_config_init),
 * embed_dim 16, built twice from the same seed: plain, and with LLM4MSR's
 * defaults (d_q 64, user layer full rank when H·H ≤ 4096 else rank 8,
 * scenario branch H → 32 → 1, residual on).
 *
 * Figures, each the median of --repeats runs with the min–max beside it;
 * plain and LLM4MSR runs alternate, so load changes on the machine hit
 * both alike, and the ratios are medians of the per-repeat pairs:
 *  - parameters: elements of the model's tensors (msr_model_get_params),
 *    trainable ones, the meta networks' share (tensors named llm4msr.*),
 *    and the frozen knowledge buffers;
 *  - training rows/s: one msr_train epoch (batch 4096, BLAS on --threads
 *    threads, validation after the epoch included) of a fresh model,
 *    training rows / wall time; and the validation AUC it reached;
 *  - scoring µs per 1,000 rows: msr_score over every row, --threads
 *    workers, batch 4096, of the model the last training run left (a
 *    trained model: see docs/BENCHMARKS.md on why untrained ones score
 *    faster). msr_score batches an LLM4MSR model's rows grouped by user
 *    (msr_score_batch_order); the +LLM4MSR model is also scored with
 *    batches of consecutive rows (msr_score_ordered, dataset order: what
 *    msr_score did before), in the same alternation;
 *  - memory: bytes of every tensor's values; with the gradients and Adam
 *    moments msr_train allocated; and the graph arena of one scoring batch
 *    of 4096 rows, msr_score's first (msr_graph_get_arena_bytes). */
#include "config.h"

#include <cblas.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench-util.h"
#include "msr-graph.h"
#include "msr-model.h"
#include "msr-project.h"
#include "msr-rng.h"
#include "msr-simulate.h"
#include "msr-train.h"

#define BATCH 4096
#define MAX_REPEATS 15
#define SIM_SEED 2024

/* ---- small helpers ---------------------------------------------------------- */

static int
cmp_double (const void *x,
            const void *y)
{
  double a = *(const double *) x, b = *(const double *) y;

  return (a > b) - (a < b);
}

typedef struct {
  double med, lo, hi;
} Stat;

static Stat
stat_of (const double *v,
         guint         n)
{
  double s[MAX_REPEATS];
  Stat r;

  memcpy (s, v, n * sizeof (double));
  qsort (s, n, sizeof (double), cmp_double);
  r.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  r.lo = s[0];
  r.hi = s[n - 1];
  return r;
}

static char *
mib (gsize bytes)
{
  return g_strdup_printf ("%.2f", bytes / (1024.0 * 1024.0));
}

static G_GNUC_NORETURN void
die (const char *what,
     const GError *error)
{
  g_printerr ("bench-llm4msr: %s: %s\n", what, error ? error->message : "failed");
  exit (1);
}

/* Removes a folder this program made, with the files in it (one level of
 * subfolders is enough for a simulated project). */
static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        remove_tree (path);
      else
        g_unlink (path);
    }
  g_rmdir (dir);
}

/* ---- data and knowledge ----------------------------------------------------------- */

typedef struct {
  MsrSimOptions      opts;
  char              *dir;
  MsrProject        *project;
  MsrDataset        *ds;
  guint              dim, planted_dim;
  float             *user_vectors, *scenario_vectors;
  GPtrArray         *user_keys, *scenario_keys;
  MsrModelKnowledge  kn;
} World;

/* x·R with R (from × to) drawn uniform with variance 1 / from, seeded. */
static float *
project_vectors (const float *x,
                 guint        n,
                 guint        from,
                 guint        to)
{
  const double bound = sqrt (3.0 / from);
  g_autofree float *r = g_new (float, (gsize) from * to);
  float *y = g_new (float, (gsize) n * to);
  MsrRng rng;

  msr_rng_init (&rng, 4096);
  for (gsize i = 0; i < (gsize) from * to; i++)
    r[i] = (float) ((2 * msr_rng_uniform (&rng) - 1) * bound);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) n, (int) to, (int) from, 1.0f, x, (int) from,
               r, (int) to, 0.0f, y, (int) to);
  return y;
}

static void
world_make (World *w,
            guint64 n_rows,
            guint   n_users,
            guint   dim)
{
  g_autoptr(GError) error = NULL;
  const double t0 = bench_now_seconds ();
  guint S;

  msr_sim_options_init (&w->opts);
  w->opts.seed = SIM_SEED;
  w->opts.n_rows = n_rows;
  w->opts.n_users = n_users;
  w->dir = g_dir_make_tmp ("bench-llm4msr-XXXXXX", &error);
  if (w->dir == NULL)
    die ("temporary folder", error);
  /* msr_sim_write_project wants a folder of its own to create. */
  {
    g_autofree char *sub = g_build_filename (w->dir, "world", NULL);

    if (!msr_sim_write_project (sub, &w->opts, NULL, NULL, NULL, &error))
      die ("simulating", error);
    w->project = msr_project_open (sub, &error);
    if (w->project == NULL)
      die ("opening the simulated project", error);
  }
  w->ds = msr_project_load_dataset (w->project, NULL, NULL, NULL, &error);
  if (w->ds == NULL)
    die ("loading the simulated project", error);

  if (!msr_sim_planted_vectors (&w->opts, &w->user_vectors, &w->scenario_vectors, &w->planted_dim, &error))
    die ("planted knowledge", error);
  S = w->opts.n_scenarios;
  w->dim = w->planted_dim;
  if (dim && dim != w->planted_dim)
    {
      float *u = project_vectors (w->user_vectors, n_users, w->planted_dim, dim);
      float *s = project_vectors (w->scenario_vectors, S, w->planted_dim, dim);

      g_free (w->user_vectors);
      g_free (w->scenario_vectors);
      w->user_vectors = u;
      w->scenario_vectors = s;
      w->dim = dim;
    }
  w->user_keys = g_ptr_array_new_with_free_func (g_free);
  for (guint u = 0; u < n_users; u++)
    g_ptr_array_add (w->user_keys, g_strdup_printf ("u%u", u + 1));
  w->scenario_keys = g_ptr_array_new_with_free_func (g_free);
  for (guint s = 0; s < S; s++)
    g_ptr_array_add (w->scenario_keys, g_strdup (msr_sim_options_get_name (&w->opts, s)));
  w->kn = (MsrModelKnowledge) {
    .dim = w->dim,
    .n_users = n_users,
    .user_keys = (const char * const *) w->user_keys->pdata,
    .user_vectors = w->user_vectors,
    .n_scenarios = S,
    .scenario_keys = (const char * const *) w->scenario_keys->pdata,
    .scenario_vectors = w->scenario_vectors,
    .encoder = "planted",
    .user_source = "bench-llm4msr",
    .scenario_source = "bench-llm4msr",
  };
  g_print ("   simulated in %.1f s\n", bench_now_seconds () - t0);
}

static void
world_clear (World *w)
{
  g_clear_pointer (&w->ds, msr_dataset_free);
  g_clear_pointer (&w->project, msr_project_free);
  if (w->dir)
    remove_tree (w->dir);
  g_clear_pointer (&w->dir, g_free);
  g_clear_pointer (&w->user_vectors, g_free);
  g_clear_pointer (&w->scenario_vectors, g_free);
  g_clear_pointer (&w->user_keys, g_ptr_array_unref);
  g_clear_pointer (&w->scenario_keys, g_ptr_array_unref);
}

/* ---- models and measurements -------------------------------------------------------- */

enum { PLAIN, META, N_VARIANTS };

typedef struct {
  gsize trainable, meta_trainable, dense_trainable;   /* elements */
  gsize knowledge, other_buffers;                     /* elements of buffers */
  gsize value_bytes, state_bytes;                     /* values; grad + Adam m, v */
} ParamCount;

typedef struct {
  MsrArch    arch;
  guint      H, user_rank;
  ParamCount pc[N_VARIANTS];
  double     macs[N_VARIANTS];
  double     applied_macs;                      /* applying the generated layers only */
  double     train[N_VARIANTS][MAX_REPEATS];    /* rows/s */
  double     score[N_VARIANTS][MAX_REPEATS];    /* µs per 1,000 rows */
  double     score_dataset[MAX_REPEATS];        /* +LLM4MSR, batches in dataset order */
  double     user_gen_macs;                     /* generating one user layer (one key) */
  double     auc[N_VARIANTS];                   /* validation AUC after the epoch, last run */
  gsize      arena[N_VARIANTS];
  gsize      train_rows, scored_rows;
} Result;

static MsrModel *
new_model (MsrArch      arch,
           int          variant,
           const World *w)
{
  g_autoptr(GError) error = NULL;
  MsrModelConfig cfg;
  MsrModel *model;

  msr_model_config_init (&cfg, arch);
  cfg.embed_dim = 16;
  model = variant == META ? msr_model_new_with_knowledge (&cfg, w->ds, &w->kn, 42, &error)
                          : msr_model_new_for_dataset (&cfg, w->ds, 42, &error);
  if (model == NULL)
    die (msr_arch_to_string (arch), error);
  return model;
}

static void
count_params (MsrModel   *model,
              ParamCount *pc)
{
  MsrParams *ps = msr_model_get_params (model);

  memset (pc, 0, sizeof *pc);
  for (guint i = 0; i < msr_params_get_n (ps); i++)
    {
      const MsrParam *p = msr_params_get (ps, i);
      const gboolean meta = g_str_has_prefix (p->name, "llm4msr.");
      const gsize bytes = p->size * sizeof (msr_real);

      if (p->flags & MSR_PARAM_TRAINABLE)
        {
          pc->trainable += p->size;
          if (meta)
            pc->meta_trainable += p->size;
          if (!(p->flags & MSR_PARAM_SPARSE_ROWS))
            pc->dense_trainable += p->size;
        }
      else if (meta)
        pc->knowledge += p->size;
      else
        pc->other_buffers += p->size;
      pc->value_bytes += bytes;
      pc->state_bytes += (p->grad ? bytes : 0) + (p->adam_m ? bytes : 0) + (p->adam_v ? bytes : 0);
    }
}

/* One msr_train epoch of a fresh model: rows/s; *trained receives it. */
static double
time_train (MsrArch      arch,
            int          variant,
            const World *w,
            guint        threads,
            Result      *res,
            MsrModel   **trained)
{
  g_autoptr(MsrModel) model = new_model (arch, variant, w);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrTrainResult) tr = NULL;
  MsrTrainOptions opts;
  double t0, t;

  msr_train_options_init (&opts);
  opts.epochs = 1;
  opts.batch_size = BATCH;
  opts.threads = threads;
  t0 = bench_now_seconds ();
  tr = msr_train (model, w->ds, &opts, NULL, NULL, NULL, &error);
  t = bench_now_seconds () - t0;
  if (tr == NULL)
    die ("training", error);
  res->train_rows = tr->train_rows;
  res->auc[variant] = tr->best_valid_auc;
  g_clear_pointer (trained, msr_model_free);
  *trained = g_steal_pointer (&model);
  return tr->train_rows / t;
}

/* msr_score_ordered over every row: µs per 1,000 rows (MSR_SCORE_ORDER_AUTO
 * is msr_score). */
static double
time_score (MsrModel      *model,
            const World   *w,
            MsrScoreOrder  order,
            guint          threads,
            Result        *res)
{
  g_autoptr(GError) error = NULL;
  g_autofree double *scores = NULL;
  gsize n = 0;
  double t0, t;

  openblas_set_num_threads (1);
  t0 = bench_now_seconds ();
  scores = msr_score_ordered (model, w->ds, MSR_SPLIT_MASK_ALL, order, threads, BATCH, &n, NULL, NULL, NULL, NULL,
                              &error);
  t = bench_now_seconds () - t0;
  if (scores == NULL)
    die ("scoring", error);
  res->scored_rows = n;
  return t / n * 1e9;
}

/* Distinct users per batch of BATCH rows, summed over the batches, when
 * every row is scored in the order pos (a permutation of the rows, as
 * msr_score_batch_order gives; NULL: dataset order): the user layers that
 * scoring generates. */
static gsize
distinct_users_in_batches (const MsrDataset *ds,
                           const guint32    *pos,
                           gsize            *n_batches)
{
  const guint uf = msr_dataset_get_user_field (ds);
  const gint32 *codes = msr_dataset_get_field_codes (ds, uf);
  const gsize N = msr_dataset_get_n_rows (ds);
  g_autofree gsize *seen = g_new0 (gsize, msr_dataset_get_field_cardinality (ds, uf));
  gsize total = 0;

  for (gsize j = 0; j < N; j++)
    {
      const gint32 c = codes[pos ? pos[j] : j];

      if (seen[c] != j / BATCH + 1)
        {
          seen[c] = j / BATCH + 1;
          total++;
        }
    }
  *n_batches = (N + BATCH - 1) / BATCH;
  return total;
}

/* Arena bytes of one evaluation forward pass of BATCH rows: the first
 * batch msr_score cuts from every row. */
static gsize
scoring_arena (MsrModel    *model,
               const World *w)
{
  g_autoptr(MsrBatch) batch = msr_batch_new (model);
  g_autoptr(MsrGraph) g = msr_graph_new ();
  const gsize N = msr_dataset_get_n_rows (w->ds), m = MIN ((gsize) BATCH, N);
  g_autofree guint32 *rows = g_new (guint32, N);
  g_autofree guint32 *pos = NULL;

  for (gsize i = 0; i < N; i++)
    rows[i] = (guint32) i;
  /* Every row: the positions are the row indices. */
  pos = msr_score_batch_order (model, w->ds, rows, N, MSR_SCORE_ORDER_AUTO);
  if (pos)
    memcpy (rows, pos, m * sizeof (guint32));
  msr_batch_fill (batch, w->ds, rows, m);
  openblas_set_num_threads (1);
  msr_graph_set_training (g, FALSE);
  msr_model_forward (model, g, batch, NULL);
  return msr_graph_get_arena_bytes (g);
}

static void
measure (Result      *r,
         const World *w,
         guint        threads,
         guint        repeats)
{
  MsrModel *trained[N_VARIANTS] = { NULL, NULL };

  /* Training: plain and LLM4MSR alternate, the order swapped every repeat. */
  for (guint k = 0; k < repeats; k++)
    for (int i = 0; i < N_VARIANTS; i++)
      {
        const int v = k % 2 ? N_VARIANTS - 1 - i : i;

        r->train[v][k] = time_train (r->arch, v, w, threads, r, &trained[v]);
      }
  for (int v = 0; v < N_VARIANTS; v++)
    {
      count_params (trained[v], &r->pc[v]);
      r->macs[v] = msr_model_flops_per_sample (trained[v]);
    }
  r->H = msr_model_get_repr_dim (trained[META]);
  {
    const MsrModelConfig *c = msr_model_get_config (trained[META]);
    guint in = r->H;

    /* The engine's rule (msr-llm4msr.c): full rank up to H·H = 4096. */
    r->user_rank = c->meta_rank ? c->meta_rank : r->H * r->H > 4096 ? 8 : 0;
    r->applied_macs = r->user_rank ? (double) r->user_rank * 2 * r->H : (double) r->H * r->H;
    /* One user layer's generation: q (D·d_q), W or U and V (d_q per
     * weight), b (d_q·H). */
    r->user_gen_macs = (double) c->knowledge_dim * c->meta_dq + (double) c->meta_dq * r->H +
                       c->meta_dq * (r->user_rank ? (double) r->user_rank * 2 * r->H : (double) r->H * r->H);
    for (guint l = 0; l <= c->meta_scenario.n; l++)
      {
        const guint out = l < c->meta_scenario.n ? c->meta_scenario.dims[l] : 1;

        r->applied_macs += (double) in * out;
        in = out;
      }
  }
  /* Scoring: plain, +LLM4MSR (msr_score: by user) and +LLM4MSR in dataset
   * order alternate, the order reversed every repeat. */
  for (guint k = 0; k < repeats; k++)
    for (int i = 0; i < N_VARIANTS + 1; i++)
      {
        const int v = k % 2 ? N_VARIANTS - i : i;

        if (v == N_VARIANTS)
          r->score_dataset[k] = time_score (trained[META], w, MSR_SCORE_ORDER_DATASET, threads, r);
        else
          r->score[v][k] = time_score (trained[v], w, MSR_SCORE_ORDER_AUTO, threads, r);
      }
  for (int v = 0; v < N_VARIANTS; v++)
    {
      r->arena[v] = scoring_arena (trained[v], w);
      msr_model_free (trained[v]);
    }
}

/* Median [min–max] of the per-repeat ratios b[k] / a[k]. */
static Stat
pair_ratio (const double *a,
            const double *b,
            guint         n)
{
  double q[MAX_REPEATS];

  for (guint k = 0; k < n; k++)
    q[k] = b[k] / a[k];
  return stat_of (q, n);
}

static char *
fmt_stat (Stat        s,
          const char *format)
{
  g_autofree char *m = g_strdup_printf (format, s.med);
  g_autofree char *lo = g_strdup_printf (format, s.lo);
  g_autofree char *hi = g_strdup_printf (format, s.hi);

  return g_strdup_printf ("%s [%s-%s]", m, lo, hi);
}

/* ---- main ------------------------------------------------------------------------ */

int
main (int    argc,
      char **argv)
{
  gint64 rows_opt = 200000, users_opt = 0, threads_opt = 1, repeats_opt = 3, dim_opt = 0;
  g_autofree char *backbones_opt = NULL;
  GOptionEntry entries[] = {
    { "rows", 0, 0, G_OPTION_ARG_INT64, &rows_opt, "rows of the simulated world (default 200000)", "N" },
    { "users", 0, 0, G_OPTION_ARG_INT64, &users_opt, "its users (default rows / 100)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT64, &threads_opt,
      "BLAS threads for training, scoring workers (default 1)", "N" },
    { "repeats", 0, 0, G_OPTION_ARG_INT64, &repeats_opt, "runs per figure (default 3)", "N" },
    { "backbones", 0, 0, G_OPTION_ARG_STRING, &backbones_opt, "comma-separated (default all)", "a,b,..." },
    { "knowledge-dim", 0, 0, G_OPTION_ARG_INT64, &dim_opt,
      "project the planted knowledge to D dimensions (default: the planted width)", "D" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- what LLM4MSR's meta networks cost, per backbone");
  g_autoptr(GError) error = NULL;
  MsrArch archs[MSR_N_ARCHS];
  guint n_archs = 0, threads, repeats, users;
  Result *res;
  World w = { 0 };
  const double t_start = bench_now_seconds ();
  const char *env_threads = g_getenv ("OPENBLAS_NUM_THREADS"), *env_core = g_getenv ("OPENBLAS_CORETYPE");
  g_autofree char *load_start = bench_load_average (), *load_end = NULL;
  gsize kn_bytes;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("bench-llm4msr: %s\n", error->message);
      return 2;
    }
  if (rows_opt < 2 * BATCH || rows_opt > 50000000 || users_opt < 0 || users_opt > 10000000 || threads_opt < 1 ||
      threads_opt > 64 || repeats_opt < 1 || repeats_opt > MAX_REPEATS || dim_opt < 0 || dim_opt > 65536)
    {
      g_printerr ("bench-llm4msr: out of range: --rows %d..50000000, --threads 1..64, --repeats 1..%d, "
                  "--knowledge-dim 0..65536\n", 2 * BATCH, MAX_REPEATS);
      return 2;
    }
  threads = (guint) threads_opt;
  repeats = (guint) repeats_opt;
  users = users_opt ? (guint) users_opt : (guint) MAX (50, rows_opt / 100);
  if (backbones_opt)
    {
      g_auto(GStrv) names = g_strsplit (backbones_opt, ",", -1);

      for (guint i = 0; names[i]; i++)
        {
          MsrArch a;

          if (!msr_arch_from_string (g_strstrip (names[i]), &a))
            {
              g_printerr ("bench-llm4msr: unknown backbone '%s' (%s)\n", names[i], msr_arch_list ());
              return 2;
            }
          if (n_archs < MSR_N_ARCHS)
            archs[n_archs++] = a;
        }
    }
  else
    for (guint a = 0; a < MSR_N_ARCHS; a++)
      archs[n_archs++] = (MsrArch) a;
  res = g_new0 (Result, n_archs);

  g_print ("bench-llm4msr: MSR Lens %s\n", MSR_VERSION);
  g_print ("processors: %u; load average at start: %s\n", g_get_num_processors (), load_start);
  g_print ("%s (kernel %s); OPENBLAS_NUM_THREADS=%s OPENBLAS_CORETYPE=%s\n", g_strstrip (openblas_get_config ()),
           openblas_get_corename (), env_threads ? env_threads : "(unset)", env_core ? env_core : "(unset)");
  g_print ("threads %u (training: BLAS threads; scoring: msr_score workers, BLAS 1 thread each), batch %d, "
           "%u repeat%s per figure, plain and +LLM4MSR runs alternating\n\n", threads, BATCH, repeats,
           repeats == 1 ? "" : "s");

  world_make (&w, (guint64) rows_opt, users, (guint) dim_opt);
  {
    const guint8 *splits = msr_dataset_get_splits (w.ds);
    const gsize N = msr_dataset_get_n_rows (w.ds);
    gsize count[3] = { 0, 0, 0 };
    g_autofree char *mem = mib (msr_dataset_get_memory_bytes (w.ds));

    for (gsize r = 0; r < N; r++)
      count[splits[r]]++;
    g_print ("data: simulated world (seed %d), %" G_GSIZE_FORMAT " rows (train %" G_GSIZE_FORMAT ", valid %"
             G_GSIZE_FORMAT ", test %" G_GSIZE_FORMAT "), %u users, %u scenarios, %u fields (",
             SIM_SEED, N, count[MSR_SPLIT_TRAIN], count[MSR_SPLIT_VALID], count[MSR_SPLIT_TEST], users,
             msr_dataset_get_n_scenarios (w.ds), msr_dataset_get_n_fields (w.ds));
    for (guint f = 0; f < msr_dataset_get_n_fields (w.ds); f++)
      g_print ("%s%s %u", f ? ", " : "", msr_dataset_get_field_name (w.ds, f),
               msr_dataset_get_field_cardinality (w.ds, f));
    g_print ("), %s MiB\n", mem);
  }
  kn_bytes = ((gsize) users * w.dim + msr_dataset_get_n_scenarios (w.ds) * (gsize) w.dim) * sizeof (float);
  if (w.dim == w.planted_dim)
    g_print ("knowledge: the planted vectors, D = %u\n", w.dim);
  else
    g_print ("knowledge: the planted vectors (%u wide) projected to D = %u by a fixed random matrix\n",
             w.planted_dim, w.dim);
  g_print ("models: default configurations, embed_dim 16; LLM4MSR defaults (d_q 64, user layer full rank if "
           "H*H <= 4096 else rank 8,\n   scenario branch H -> 32 -> 1, residual)\n\n");

  for (guint i = 0; i < n_archs; i++)
    {
      const double t0 = bench_now_seconds ();

      res[i].arch = archs[i];
      measure (&res[i], &w, threads, repeats);
      g_print ("   %s measured in %.1f s\n", msr_arch_to_string (archs[i]), bench_now_seconds () - t0);
    }
  g_print ("\n");

  g_print ("1. parameters (elements of the model's tensors). trainable: embeddings included; meta nets: the\n"
           "   trainable llm4msr.* tensors (compressions, generators, base layers, the unknown user's vector),\n"
           "   share of the +LLM4MSR model's trainable; dense: without the embedding tables\n");
  g_print ("   %-14s %4s %6s | %10s %10s | %10s %10s %6s | %10s %10s %7s\n", "backbone", "H", "u-rank", "trainable",
           "dense", "trainable", "meta nets", "share", "dense", "knowledge", "dense");
  g_print ("   %-14s %4s %6s | %21s | %29s | %10s %10s %7s\n", "", "", "", "plain", "+LLM4MSR", "+LLM4MSR",
           "buffers", "x plain");
  for (guint i = 0; i < n_archs; i++)
    {
      const Result *r = &res[i];
      g_autofree char *rank = r->user_rank ? g_strdup_printf ("%u", r->user_rank) : g_strdup ("full");

      g_print ("   %-14s %4u %6s | %10" G_GSIZE_FORMAT " %10" G_GSIZE_FORMAT " | %10" G_GSIZE_FORMAT " %10"
               G_GSIZE_FORMAT " %5.1f%% | %10" G_GSIZE_FORMAT " %10" G_GSIZE_FORMAT " %7.2f\n",
               msr_arch_to_string (r->arch), r->H, rank, r->pc[PLAIN].trainable, r->pc[PLAIN].dense_trainable,
               r->pc[META].trainable, r->pc[META].meta_trainable,
               100.0 * r->pc[META].meta_trainable / r->pc[META].trainable, r->pc[META].dense_trainable,
               r->pc[META].knowledge, (double) r->pc[META].dense_trainable / r->pc[PLAIN].dense_trainable);
    }
  g_print ("   knowledge buffers: llm4msr.user_knowledge (%u users x D) + user_known (1 per user) + "
           "scenario_knowledge (%u x D), frozen\n\n", users, msr_dataset_get_n_scenarios (w.ds));

  g_print ("2. scoring: msr_score over all %" G_GSIZE_FORMAT " rows (an LLM4MSR model's batched by user), "
           "microseconds per 1,000 rows,\n   median [min-max] of %u; MAC/sample: msr_model_flops_per_sample (one "
           "forward pass); ratio: median [min-max] of the\n   per-repeat pairs\n", res[0].scored_rows, repeats);
  g_print ("   %-14s %9s %9s %6s | %22s %22s %22s\n", "backbone", "MAC plain", "MAC +L", "x", "us/1k rows plain",
           "us/1k +LLM4MSR", "ratio");
  for (guint i = 0; i < n_archs; i++)
    {
      const Result *r = &res[i];
      g_autofree char *a = fmt_stat (stat_of (r->score[PLAIN], repeats), "%.0f");
      g_autofree char *b = fmt_stat (stat_of (r->score[META], repeats), "%.0f");
      g_autofree char *q = fmt_stat (pair_ratio (r->score[PLAIN], r->score[META], repeats), "%.2f");

      g_print ("   %-14s %9.0f %9.0f %6.2f | %22s %22s %22s\n", msr_arch_to_string (r->arch), r->macs[PLAIN],
               r->macs[META], r->macs[META] / r->macs[PLAIN], a, b, q);
    }
  g_print ("   the same +LLM4MSR models with batches of consecutive rows (msr_score_ordered with\n"
           "   MSR_SCORE_ORDER_DATASET: msr_score before it grouped rows by user), in the same alternation;\n"
           "   speed-up: dataset order / by user, per repeat\n");
  g_print ("   %-14s %22s %22s %22s\n", "backbone", "us/1k +L dataset ord.", "ratio to plain", "speed-up by user");
  for (guint i = 0; i < n_archs; i++)
    {
      const Result *r = &res[i];
      g_autofree char *a = fmt_stat (stat_of (r->score_dataset, repeats), "%.0f");
      g_autofree char *q = fmt_stat (pair_ratio (r->score[PLAIN], r->score_dataset, repeats), "%.2f");
      g_autofree char *u = fmt_stat (pair_ratio (r->score[META], r->score_dataset, repeats), "%.2f");

      g_print ("   %-14s %22s %22s %22s\n", msr_arch_to_string (r->arch), a, q, u);
    }
  g_print ("\n");

  g_print ("3. training: one msr_train epoch over the %" G_GSIZE_FORMAT " training rows (validation included), "
           "a fresh model per run,\n   rows/s, median [min-max] of %u; ratio: +LLM4MSR / plain per repeat; "
           "AUC: validation, after the epoch (last run)\n", res[0].train_rows, repeats);
  g_print ("   %-14s %26s %26s %18s | %7s %7s\n", "backbone", "rows/s plain", "rows/s +LLM4MSR", "ratio", "AUC",
           "AUC +L");
  for (guint i = 0; i < n_archs; i++)
    {
      const Result *r = &res[i];
      g_autofree char *a = fmt_stat (stat_of (r->train[PLAIN], repeats), "%.0f");
      g_autofree char *b = fmt_stat (stat_of (r->train[META], repeats), "%.0f");
      g_autofree char *q = fmt_stat (pair_ratio (r->train[PLAIN], r->train[META], repeats), "%.2f");

      g_print ("   %-14s %26s %26s %18s | %7.4f %7.4f\n", msr_arch_to_string (r->arch), a, b, q, r->auc[PLAIN],
               r->auc[META]);
    }
  g_print ("\n");

  g_print ("4. memory, MiB: tensors = every tensor's values (float32; knowledge buffers included); +train state = "
           "with the\n   gradients and Adam moments msr_train allocated (its best-epoch snapshot not counted); "
           "arena = graph of\n   msr_score's first batch of %d rows (msr_graph_get_arena_bytes, grows by doubling)\n",
           BATCH);
  g_print ("   %-14s %9s %9s | %11s %11s | %9s %9s\n", "backbone", "tensors", "+L", "+train st.", "+L", "arena",
           "+L");
  for (guint i = 0; i < n_archs; i++)
    {
      const Result *r = &res[i];
      g_autofree char *t0 = mib (r->pc[PLAIN].value_bytes), *t1 = mib (r->pc[META].value_bytes);
      g_autofree char *s0 = mib (r->pc[PLAIN].value_bytes + r->pc[PLAIN].state_bytes);
      g_autofree char *s1 = mib (r->pc[META].value_bytes + r->pc[META].state_bytes);
      g_autofree char *a0 = mib (r->arena[PLAIN]), *a1 = mib (r->arena[META]);

      g_print ("   %-14s %9s %9s | %11s %11s | %9s %9s\n", msr_arch_to_string (r->arch), t0, t1, s0, s1, a0, a1);
    }
  g_print ("\n");

  {
    g_autofree char *kb = mib (kn_bytes);

    g_print ("5. at scoring time no LLM runs. The LLM's work is offline (here there is none: the vectors are the\n"
             "   simulated world's planted ones). msr_score reads, per row, the user's stored vector k_u and the\n"
             "   scenario's k_s from frozen buffers inside the model: D = %u float32, %u bytes per user (+ 4 for\n"
             "   its has-a-vector flag) and %u bytes per scenario; %s MiB for these %u users and %u scenarios.\n"
             "   At ChatGLM2-6B's width (d_L = 4096) a user's vector is 16384 bytes; at the built-in TF-IDF\n"
             "   encoder's default (64) 256 bytes.\n",
             w.dim, (guint) (w.dim * sizeof (float)), (guint) (w.dim * sizeof (float)), kb, users,
             msr_dataset_get_n_scenarios (w.ds));
    g_autoptr(MsrModel) probe = new_model (archs[0], META, &w);
    const gsize N = msr_dataset_get_n_rows (w.ds);
    g_autofree guint32 *all = g_new (guint32, N);

    for (gsize r = 0; r < N; r++)
      all[r] = (guint32) r;
    /* The rows in msr_score's batch order (every row: their indices). */
    g_autofree guint32 *pos = msr_score_batch_order (probe, w.ds, all, N, MSR_SCORE_ORDER_AUTO);
    gsize n_batches, grouped = distinct_users_in_batches (w.ds, pos, &n_batches);
    const gsize consecutive = distinct_users_in_batches (w.ds, NULL, &n_batches);

    g_print ("   The extra arithmetic per row: the engine generates each layer (compression q = relu(P k + p0), then\n"
             "   W(q), b(q)) once per distinct key of a batch and applies it to that key's rows (method spec 4.4):\n"
             "   the scenario layers once per scenario, the user layer once per distinct user (users without a\n"
             "   vector share one). msr_score batches an LLM4MSR model's rows grouped by user (then scenario):\n"
             "   here a batch of %d rows met %.1f distinct users (mean of %" G_GSIZE_FORMAT " batches),\n"
             "   %.0f with batches of consecutive rows as before; a user layer generated for %.2f%% of the rows\n"
             "   (%.1f%% before), about once per user and pass (twice for a user whose rows straddle two batches):\n"
             "   the cache at inference of method spec 4.4, without keeping layers across batches.\n"
             "   msr_model_flops_per_sample (table 2; column \"extra\" below) counts the application per row plus\n"
             "   the generation times the expected share of distinct keys in %d rows drawn at random, as in\n"
             "   batches of consecutive rows: it overstates scoring by user. \"by user\": applying the layers plus\n"
             "   generating the user layers at the share met here (the scenario layers' generation, 5 keys per\n"
             "   batch, not counted); \"applying\": the layers' application alone (arithmetic):\n",
             BATCH, (double) grouped / n_batches, n_batches, (double) consecutive / n_batches,
             100.0 * grouped / N, 100.0 * consecutive / N, BATCH);
    g_print ("   %-14s %4s %6s | %14s %16s %12s %12s\n", "backbone", "H", "u-rank", "MAC/row plain", "extra",
             "by user", "applying");
    for (guint i = 0; i < n_archs; i++)
      {
        const Result *r = &res[i];
        g_autofree char *rank = r->user_rank ? g_strdup_printf ("%u", r->user_rank) : g_strdup ("full");

        g_print ("   %-14s %4u %6s | %14.0f %16.0f %12.0f %12.0f\n", msr_arch_to_string (r->arch), r->H, rank,
                 r->macs[PLAIN], r->macs[META] - r->macs[PLAIN],
                 r->applied_macs + r->user_gen_macs * grouped / N, r->applied_macs);
      }
  }

  world_clear (&w);
  g_free (res);
  load_end = bench_load_average ();
  g_print ("\ntotal %.0f s wall, %.0f s CPU; load average at end: %s\n", bench_now_seconds () - t_start, bench_cpu_seconds (),
           load_end);
  return 0;
}

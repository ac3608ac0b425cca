/* Finite-difference gradient checks, in float64 (this test links the
 * MSR_REAL_DOUBLE build of the models): every graph operation on its own,
 * then the whole loss of every backbone with respect to every parameter
 * tensor. Central differences with h = 1e-6 have a truncation error of
 * order h² ≈ 1e-12 and a rounding error of order 1e-16/h ≈ 1e-10, so a
 * relative tolerance of 1e-6 separates a correct gradient from a wrong one
 * by many orders of magnitude, while ReLU kinks (measure zero) are avoided
 * by drawing inputs at random. */
#include "config.h"
#include "msr-graph.h"
#include "msr-model.h"
#include "msr-dataset-private.h"
#include "msr-model-private.h"

#include <math.h>
#include <string.h>

#define H 1e-6
#define RTOL 1e-6
#define ATOL 1e-9

G_STATIC_ASSERT (sizeof (msr_real) == sizeof (double));

/* ---- a checker over any loss built from parameters -------------------- */

typedef MsrNode *(*BuildLoss) (MsrGraph *g, gpointer data);

static double
eval_loss (MsrGraph *g, BuildLoss build, gpointer data, MsrRng *dropout_rng, guint64 seed)
{
  msr_graph_reset (g);
  msr_rng_init (dropout_rng, seed);
  MsrNode *loss = build (g, data);
  return msr_node_value (loss)[0];
}

/* Compares analytic and numeric gradients of up to max_checks entries of
 * every trainable parameter in ps; returns the number compared. */
static guint
check_params (MsrParams *ps, BuildLoss build, gpointer data, guint max_checks, const char *what)
{
  g_autoptr(MsrGraph) g = msr_graph_new ();
  MsrRng dropout_rng;
  msr_graph_set_training (g, TRUE);
  msr_graph_set_rng (g, &dropout_rng);
  /* Gradients the models stop on purpose (PEPNet) are checked too; that
   * stopping works is /grad/stop-gradient's job. */
  msr_graph_set_stop_gradient_passthrough (g, TRUE);

  msr_params_zero_grad (ps);
  msr_graph_reset (g);
  msr_rng_init (&dropout_rng, 99);
  MsrNode *loss = build (g, data);
  msr_graph_backward (g, loss);

  MsrRng pick;
  msr_rng_init (&pick, 7);
  guint compared = 0;
  for (guint i = 0; i < msr_params_get_n (ps); i++)
    {
      MsrParam *p = msr_params_get (ps, i);
      if (!(p->flags & MSR_PARAM_TRAINABLE))
        continue;
      g_autofree double *analytic = g_memdup2 (p->grad, p->size * sizeof (double));
      guint n = MIN (max_checks, p->size);
      for (guint k = 0; k < n; k++)
        {
          gsize e = n == p->size ? k : (gsize) msr_rng_below (&pick, p->size);
          double saved = p->value[e];
          p->value[e] = saved + H;
          double up = eval_loss (g, build, data, &dropout_rng, 99);
          p->value[e] = saved - H;
          double down = eval_loss (g, build, data, &dropout_rng, 99);
          p->value[e] = saved;
          double numeric = (up - down) / (2 * H);
          double err = fabs (numeric - analytic[e]);
          if (err > ATOL + RTOL * MAX (fabs (numeric), fabs (analytic[e])))
            g_error ("%s: d loss / d %s[%zu]: analytic %.12g, numeric %.12g", what, p->name, e,
                     analytic[e], numeric);
          compared++;
        }
    }
  return compared;
}

/* ---- single operations ------------------------------------------------------ */

typedef struct {
  MsrParams *ps;
  MsrParam  *a, *b, *c, *table, *proj;
  guint8     labels[8];
  int        op;
  double     rm[4], rv[4], cnt;
} OpCase;

enum { OP_LINEAR, OP_MUL, OP_ADD_ROWVEC, OP_MUL_ROWVEC, OP_MUL_COLVEC, OP_SIGMOID, OP_TANH, OP_RELU,
       OP_SOFTMAX, OP_BATCHNORM, OP_BATCHNORM_EVAL, OP_LAYERNORM, OP_GATHER_SCATTER, OP_MIX, OP_CONCAT_SLICE,
       OP_EMBEDDING, OP_EMBEDDING_MEAN, OP_DROPOUT, OP_SCALE_STOP, OP_PARAM_SLICE, OP_OUTER, N_OPS };

static const char *const op_names[N_OPS] = {
  "linear", "mul", "add_rowvec", "mul_rowvec", "mul_colvec", "sigmoid", "tanh", "relu", "softmax",
  "batchnorm (training)", "batchnorm (running statistics)", "layernorm", "gather+scatter", "mix",
  "concat+slice", "embedding", "embedding mean", "dropout", "scale+stop_gradient", "param slice",
  "outer rows",
};

/* Reduces any R × 4 node to a loss with a fixed random projection. */
static MsrNode *
to_loss (MsrGraph *g, OpCase *c, MsrNode *y)
{
  MsrNode *z = msr_g_linear (g, y, msr_g_param (g, c->proj), NULL);
  return msr_g_bce_logits (g, z, c->labels, 3.0);
}

static MsrNode *
build_op (MsrGraph *g, gpointer data)
{
  OpCase *c = data;
  MsrNode *a = msr_g_param (g, c->a);   /* 6 × 4 */
  MsrNode *b = msr_g_param (g, c->b);   /* 4 × 4 */
  MsrNode *v = msr_g_param (g, c->c);   /* 1 × 4 */
  static const guint32 idx0[] = { 4, 0, 2 }, idx1[] = { 5, 1 }, idx2[] = { 3 };
  static const gint32 codes[] = { 1, 0, 3, 3, 2, 1 };
  static const guint32 offsets[] = { 0, 2, 2, 5, 6, 6, 6 };
  static const gint32 bag[] = { 1, 2, 0, 3, 3, 2 };

  switch (c->op)
    {
    case OP_LINEAR: return to_loss (g, c, msr_g_linear (g, a, b, v));
    case OP_MUL: return to_loss (g, c, msr_g_mul (g, a, msr_g_tanh (g, a)));
    case OP_ADD_ROWVEC: return to_loss (g, c, msr_g_tanh (g, msr_g_add_rowvec (g, a, v)));
    case OP_MUL_ROWVEC: return to_loss (g, c, msr_g_mul_rowvec (g, a, v));
    case OP_MUL_COLVEC:
      return to_loss (g, c, msr_g_mul_colvec (g, a, msr_g_slice_cols (g, msr_g_sigmoid (g, a), 1, 1)));
    case OP_SIGMOID: return to_loss (g, c, msr_g_sigmoid (g, a));
    case OP_TANH: return to_loss (g, c, msr_g_tanh (g, a));
    case OP_RELU: return to_loss (g, c, msr_g_relu (g, msr_g_linear (g, a, b, v)));
    case OP_SOFTMAX: return to_loss (g, c, msr_g_softmax (g, msr_g_scale (g, a, 3.0)));
    case OP_BATCHNORM:
    case OP_BATCHNORM_EVAL:
      {
        double rm[4] = { 0.1, -0.2, 0.3, 0.0 }, rv[4] = { 1.5, 0.7, 1.0, 2.0 }, cnt = 0;
        if (c->op == OP_BATCHNORM_EVAL)
          msr_graph_set_training (g, FALSE);
        MsrNode *y = msr_g_batchnorm (g, a, v, msr_g_param_slice (g, c->b, 1), rm, rv, &cnt, 0.1, 1e-5);
        msr_graph_set_training (g, TRUE);
        return to_loss (g, c, msr_g_tanh (g, y));
      }
    case OP_LAYERNORM:
      return to_loss (g, c, msr_g_tanh (g, msr_g_layernorm (g, a, v, msr_g_param_slice (g, c->b, 2), 1e-5)));
    case OP_GATHER_SCATTER:
      {
        MsrNode *parts[3] = { msr_g_gather_rows (g, a, idx0, 3), msr_g_gather_rows (g, msr_g_tanh (g, a), idx1, 2),
                              msr_g_gather_rows (g, a, idx2, 1) };
        parts[0] = msr_g_sigmoid (g, parts[0]);
        const guint32 *ix[3] = { idx0, idx1, idx2 };
        return to_loss (g, c, msr_g_scatter_rows (g, parts, ix, 3, 6));
      }
    case OP_MIX:
      {
        MsrNode *gate = msr_g_softmax (g, msr_g_slice_cols (g, a, 0, 3));
        MsrNode *ex[3] = { msr_g_tanh (g, a), msr_g_sigmoid (g, a), msr_g_mul (g, a, a) };
        return to_loss (g, c, msr_g_mix (g, gate, ex, 3));
      }
    case OP_CONCAT_SLICE:
      {
        MsrNode *parts[2] = { msr_g_slice_cols (g, a, 1, 2), msr_g_slice_cols (g, msr_g_tanh (g, a), 0, 2) };
        return to_loss (g, c, msr_g_concat (g, parts, 2));
      }
    case OP_EMBEDDING:
      return to_loss (g, c, msr_g_tanh (g, msr_g_add (g, msr_g_embedding (g, c->table, codes, 6), a)));
    case OP_EMBEDDING_MEAN:
      return to_loss (g, c, msr_g_tanh (g, msr_g_add (g, msr_g_embedding_mean (g, c->table, offsets, bag, 6), a)));
    case OP_DROPOUT:
      return to_loss (g, c, msr_g_dropout (g, msr_g_tanh (g, a), 0.4));
    case OP_SCALE_STOP:
      {
        /* The stopped branch must not depend on a parameter here (it
         * would move the numeric derivative); /grad/stop-gradient checks
         * that the analytic gradient ignores a dependent one. */
        msr_real k[24];
        for (int i = 0; i < 24; i++)
          k[i] = (msr_real) (0.1 * i - 1);
        return to_loss (g, c, msr_g_add (g, msr_g_scale (g, a, -1.7),
                                         msr_g_stop_gradient (g, msr_g_constant (g, 6, 4, k))));
      }
    case OP_PARAM_SLICE:
      return to_loss (g, c, msr_g_mul_rowvec (g, a, msr_g_param_slice (g, c->b, 3)));
    case OP_OUTER:
      /* 6 × (2·2): both factors depend on a, so both gradient paths count. */
      return to_loss (g, c, msr_g_outer_rows (g, msr_g_slice_cols (g, a, 0, 2),
                                              msr_g_slice_cols (g, msr_g_tanh (g, a), 1, 2)));
    }
  g_assert_not_reached ();
}

static void
test_ops (void)
{
  OpCase c = { 0 };
  MsrRng rng;
  msr_rng_init (&rng, 1);
  c.ps = msr_params_new ();
  const gint64 sa[2] = { 6, 4 }, sb[2] = { 4, 4 }, sc[1] = { 4 }, st[2] = { 4, 4 }, sp[2] = { 1, 4 };
  c.a = msr_params_add (c.ps, "a", 2, sa, MSR_PARAM_TRAINABLE);
  c.b = msr_params_add (c.ps, "b", 2, sb, MSR_PARAM_TRAINABLE);
  c.c = msr_params_add (c.ps, "c", 1, sc, MSR_PARAM_TRAINABLE);
  c.table = msr_params_add (c.ps, "table", 2, st, MSR_PARAM_TRAINABLE | MSR_PARAM_SPARSE_ROWS);
  c.proj = msr_params_add (c.ps, "proj", 2, sp, MSR_PARAM_TRAINABLE);
  msr_param_init_uniform (c.a, 1.5, &rng);
  msr_param_init_uniform (c.b, 1.0, &rng);
  msr_param_init_uniform (c.c, 1.0, &rng);
  msr_param_init_uniform (c.table, 1.0, &rng);
  msr_param_init_uniform (c.proj, 2.0, &rng);
  for (int i = 0; i < 6; i++)
    c.labels[i] = msr_rng_below (&rng, 2);
  for (c.op = 0; c.op < N_OPS; c.op++)
    {
      guint n = check_params (c.ps, build_op, &c, 1000, op_names[c.op]);
      g_assert_cmpuint (n, >, 0);
    }
  /* Only the rows an embedding read carry gradients, and they are listed. */
  c.op = OP_EMBEDDING;
  check_params (c.ps, build_op, &c, 1, "embedding rows");
  g_assert_cmpuint (c.table->touched_rows->len, ==, 4);
  msr_params_free (c.ps);
}

/* Through stop_gradient(f(a)) the gradient is that of the same graph with
 * f(a) frozen as a constant. */
static void
test_stop_gradient (void)
{
  MsrRng rng;
  msr_rng_init (&rng, 8);
  g_autoptr(MsrParams) ps = msr_params_new ();
  const gint64 sa[2] = { 3, 2 };
  MsrParam *a = msr_params_add (ps, "a", 2, sa, MSR_PARAM_TRAINABLE);
  msr_param_init_uniform (a, 1.0, &rng);
  const guint8 labels[3] = { 1, 0, 1 };
  double grads[2][6];
  for (int frozen = 0; frozen < 2; frozen++)
    {
      g_autoptr(MsrGraph) g = msr_graph_new ();
      msr_params_zero_grad (ps);
      MsrNode *an = msr_g_param (g, a);
      MsrNode *t = msr_g_tanh (g, an);
      MsrNode *side = frozen ? msr_g_constant (g, 3, 2, msr_node_value (t)) : msr_g_stop_gradient (g, t);
      MsrNode *sum = msr_g_add (g, msr_g_scale (g, an, 0.5), msr_g_mul (g, side, an));
      MsrNode *z = msr_g_slice_cols (g, sum, 1, 1);
      msr_graph_backward (g, msr_g_bce_logits (g, z, labels, 3));
      memcpy (grads[frozen], a->grad, sizeof grads[frozen]);
    }
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (grads[0][i], ==, grads[1][i]);
  g_assert_cmpfloat (fabs (grads[0][1]) + fabs (grads[0][3]), >, 0);
}

/* The checker itself can fail: a branch whose value depends on a parameter
 * but which is cut off from the graph makes the analytic gradient wrong,
 * and that must be reported. */
static MsrNode *
build_wrong (MsrGraph *g, gpointer data)
{
  OpCase *c = data;
  MsrNode *a = msr_g_param (g, c->a);
  MsrNode *t = msr_g_tanh (g, a);
  return to_loss (g, c, msr_g_add (g, a, msr_g_constant (g, msr_node_rows (t), msr_node_cols (t), msr_node_value (t))));
}

static void
test_checker_catches (void)
{
  /* (The checker lets gradients through stop_gradient; build_wrong's
   * stopped branch is a constant copy instead, built below.) */
  if (g_test_subprocess ())
    {
      OpCase c = { 0 };
      MsrRng rng;
      msr_rng_init (&rng, 3);
      c.ps = msr_params_new ();
      const gint64 sa[2] = { 6, 4 }, sp[2] = { 1, 4 };
      c.a = msr_params_add (c.ps, "a", 2, sa, MSR_PARAM_TRAINABLE);
      c.proj = msr_params_add (c.ps, "proj", 2, sp, MSR_PARAM_TRAINABLE);
      msr_param_init_uniform (c.a, 1.5, &rng);
      msr_param_init_uniform (c.proj, 2.0, &rng);
      c.labels[0] = 1;
      check_params (c.ps, build_wrong, &c, 1000, "deliberately wrong");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*deliberately wrong: d loss / d a[*analytic*numeric*");
}

/* ---- generated layers ------------------------------------------------------ */

/* 20 rows in 5 groups: group 0 nine consecutive rows and group 1 eight
 * scattered ones (each group one GEMM), groups 2 and 3 two rows and one (a
 * GEMV per row), group 4 none. */
static const guint32 gen_groups[20] = { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1, 1, 3, 1, 1, 2, 1, 1 };

typedef struct {
  MsrParams *ps;
  MsrParam  *x, *q, *gen, *base, *bias, *gen2, *base2, *proj_a, *proj_b;
  guint8     labels[20];
  MsrNode   *y_a, *y_b;   /* of the last build */
} GenCase;

/* y_a: each row through its group's full layer (2 × 3, with base and
 * bias); y_b: through a low-rank pair, U without base (2 × 3), then V
 * (4 × 2) without bias. */
static MsrNode *
build_generated (MsrGraph *g, gpointer data)
{
  GenCase *c = data;
  MsrNode *x = msr_g_tanh (g, msr_g_param (g, c->x)), *q = msr_g_tanh (g, msr_g_param (g, c->q));
  MsrNode *w = msr_g_meta_generate (g, q, msr_g_param (g, c->gen), msr_g_param (g, c->base));
  c->y_a = msr_g_grouped_linear (g, x, w, msr_g_param (g, c->bias), gen_groups);
  MsrNode *u = msr_g_meta_generate (g, q, msr_g_param (g, c->gen), NULL);
  MsrNode *v = msr_g_meta_generate (g, q, msr_g_param (g, c->gen2), msr_g_param (g, c->base2));
  c->y_b = msr_g_grouped_linear (g, msr_g_grouped_linear (g, x, u, NULL, gen_groups), v, NULL, gen_groups);
  MsrNode *z = msr_g_add (g, msr_g_linear (g, c->y_a, msr_g_param (g, c->proj_a), NULL),
                          msr_g_linear (g, c->y_b, msr_g_param (g, c->proj_b), NULL));
  return msr_g_bce_logits (g, z, c->labels, 20);
}

/* W[o][i] = base[o][i] + Σ_t q[t]·gen[o][t][i], by the definition. */
static void
naive_layer (const MsrParam *gen, const MsrParam *base, const double *q, double *w)
{
  const gsize O = gen->shape[0], Dq = gen->shape[1], In = gen->shape[2];
  for (gsize o = 0; o < O; o++)
    for (gsize i = 0; i < In; i++)
      {
        double s = base ? base->value[o * In + i] : 0;
        for (gsize t = 0; t < Dq; t++)
          s += q[t] * gen->value[(o * Dq + t) * In + i];
        w[o * In + i] = s;
      }
}

static void
test_generated_layers (void)
{
  GenCase c = { 0 };
  MsrRng rng;
  msr_rng_init (&rng, 12);
  c.ps = msr_params_new ();
  const gint64 sx[2] = { 20, 3 }, sq[2] = { 5, 2 }, sg[3] = { 2, 2, 3 }, sb[2] = { 2, 3 }, sbias[2] = { 5, 2 },
               sg2[3] = { 4, 2, 2 }, sb2[2] = { 4, 2 }, spa[2] = { 1, 2 }, spb[2] = { 1, 4 };
  c.x = msr_params_add (c.ps, "x", 2, sx, MSR_PARAM_TRAINABLE);
  c.q = msr_params_add (c.ps, "q", 2, sq, MSR_PARAM_TRAINABLE);
  c.gen = msr_params_add (c.ps, "gen", 3, sg, MSR_PARAM_TRAINABLE);
  c.base = msr_params_add (c.ps, "base", 2, sb, MSR_PARAM_TRAINABLE);
  c.bias = msr_params_add (c.ps, "bias", 2, sbias, MSR_PARAM_TRAINABLE);
  c.gen2 = msr_params_add (c.ps, "gen2", 3, sg2, MSR_PARAM_TRAINABLE);
  c.base2 = msr_params_add (c.ps, "base2", 2, sb2, MSR_PARAM_TRAINABLE);
  c.proj_a = msr_params_add (c.ps, "proj_a", 2, spa, MSR_PARAM_TRAINABLE);
  c.proj_b = msr_params_add (c.ps, "proj_b", 2, spb, MSR_PARAM_TRAINABLE);
  for (guint i = 0; i < msr_params_get_n (c.ps); i++)
    msr_param_init_uniform (msr_params_get (c.ps, i), 1.5, &rng);
  for (int i = 0; i < 20; i++)
    c.labels[i] = msr_rng_below (&rng, 2);

  /* The values: every row through its own group's layers. */
  g_autoptr(MsrGraph) g = msr_graph_new ();
  build_generated (g, &c);
  for (gsize r = 0; r < 20; r++)
    {
      const guint32 k = gen_groups[r];
      double q[2], x[3], w[6], u[6], v[8], t[2];
      for (int j = 0; j < 2; j++)
        q[j] = tanh (c.q->value[k * 2 + j]);
      for (int j = 0; j < 3; j++)
        x[j] = tanh (c.x->value[r * 3 + j]);
      naive_layer (c.gen, c.base, q, w);
      naive_layer (c.gen, NULL, q, u);
      naive_layer (c.gen2, c.base2, q, v);
      for (int o = 0; o < 2; o++)
        {
          double y = c.bias->value[k * 2 + o];
          t[o] = 0;
          for (int i = 0; i < 3; i++)
            {
              y += w[o * 3 + i] * x[i];
              t[o] += u[o * 3 + i] * x[i];
            }
          g_assert_cmpfloat_with_epsilon (msr_node_value (c.y_a)[r * 2 + o], y, 1e-12);
        }
      for (int o = 0; o < 4; o++)
        g_assert_cmpfloat_with_epsilon (msr_node_value (c.y_b)[r * 4 + o], v[o * 2] * t[0] + v[o * 2 + 1] * t[1],
                                        1e-12);
    }
  guint n = check_params (c.ps, build_generated, &c, 1000, "meta_generate+grouped_linear");
  g_assert_cmpuint (n, ==, 60 + 10 + 12 + 6 + 10 + 16 + 8 + 2 + 4);
  /* Group 4 has no rows: its q and bias get nothing. */
  check_params (c.ps, build_generated, &c, 1, "empty group");
  for (int j = 0; j < 2; j++)
    {
      g_assert_cmpfloat (c.q->grad[4 * 2 + j], ==, 0);
      g_assert_cmpfloat (c.bias->grad[4 * 2 + j], ==, 0);
    }
  msr_params_free (c.ps);
}

/* ---- backbones ------------------------------------------------------------ */

/* Three scenarios of different sizes, two categorical fields, a multi-hot
 * field; one scenario with a single row in the batch. */
static MsrDataset *
tiny_dataset (void)
{
  MsrDataset *ds = msr_dataset_new ("tiny", "generated");
  guint fu = msr_dataset_add_field (ds, "user", MSR_FIELD_CATEGORICAL);
  guint fi = msr_dataset_add_field (ds, "item.id", MSR_FIELD_CATEGORICAL);
  guint fg = msr_dataset_add_field (ds, "tags", MSR_FIELD_MULTI_HOT);
  msr_dataset_set_user_item_fields (ds, fu, fi);
  const char *scen[3] = { "a", "b", "c" };
  for (int s = 0; s < 3; s++)
    msr_dataset_intern_scenario (ds, scen[s], NULL);
  static const int rows_per_scenario[3] = { 7, 5, 1 };
  MsrRng rng;
  msr_rng_init (&rng, 5);
  int r = 0;
  for (int s = 0; s < 3; s++)
    for (int k = 0; k < rows_per_scenario[s]; k++, r++)
      {
        char u[16], it[16];
        g_snprintf (u, sizeof u, "u%d", (int) msr_rng_below (&rng, 4));
        g_snprintf (it, sizeof it, "i%d", (int) msr_rng_below (&rng, 6));
        msr_dataset_begin_row (ds, (guint) s, (guint8) msr_rng_below (&rng, 2), MSR_SPLIT_TRAIN, 0);
        msr_dataset_push_code (ds, fu, msr_dataset_intern_value (ds, fu, u));
        msr_dataset_push_code (ds, fi, msr_dataset_intern_value (ds, fi, it));
        guint ntags = (guint) msr_rng_below (&rng, 3);
        for (guint t = 0; t < ntags; t++)
          {
            char tag[8];
            g_snprintf (tag, sizeof tag, "t%d", (int) msr_rng_below (&rng, 3));
            msr_dataset_push_code (ds, fg, msr_dataset_intern_value (ds, fg, tag));
          }
        msr_dataset_end_row (ds);
      }
  g_assert_true (msr_dataset_finish (ds, NULL));
  return ds;
}

typedef struct {
  MsrModel *model;
  MsrBatch *batch;
} ModelCase;

static MsrNode *
build_model_loss (MsrGraph *g, gpointer data)
{
  ModelCase *c = data;
  MsrNode *z = msr_model_forward (c->model, g, c->batch, NULL);
  return msr_g_bce_logits (g, z, msr_batch_get_labels (c->batch), msr_batch_get_n (c->batch));
}

static void
test_backbone (gconstpointer data)
{
  const MsrArch arch = GPOINTER_TO_UINT (data);
  g_autoptr(MsrDataset) ds = tiny_dataset ();
  MsrModelConfig cfg;
  msr_model_config_init (&cfg, arch);
  cfg.embed_dim = 3;
  cfg.embed_init_std = 0.7;
  cfg.dropout = 0.2;
  cfg.gate_hidden = 5;
  static const guint small[] = { 5, 4 }, tower[] = { 3 }, aux[] = { 2 };
  cfg.hidden.n = arch == MSR_ARCH_MMOE || arch == MSR_ARCH_PLE ? 1 : 2;
  memcpy (cfg.hidden.dims, small, sizeof small);
  cfg.tower.n = 1;
  memcpy (cfg.tower.dims, tower, sizeof tower);
  memcpy (cfg.aux.dims, aux, sizeof aux);
  cfg.embed_scenario = arch == MSR_ARCH_DNN || arch == MSR_ARCH_MMOE;
  cfg.ple_levels = 2;
  cfg.ple_specific = 2;
  cfg.ple_shared = 1;

  g_autoptr(GError) error = NULL;
  g_autoptr(MsrModel) model = msr_model_new_for_dataset (&cfg, ds, 11, &error);
  g_assert_no_error (error);
  /* Move every parameter off its initial symmetric values (STAR's scenario
   * weights start at exactly 1), so no term hides. */
  MsrParams *ps = msr_model_get_params (model);
  MsrRng rng;
  msr_rng_init (&rng, 17);
  for (guint i = 0; i < msr_params_get_n (ps); i++)
    {
      MsrParam *p = msr_params_get (ps, i);
      if (p->flags & MSR_PARAM_TRAINABLE)
        for (gsize k = 0; k < p->size; k++)
          p->value[k] += (msr_real) (0.3 * (2 * msr_rng_uniform (&rng) - 1));
    }

  g_autoptr(MsrBatch) batch = msr_batch_new (model);
  guint32 rows[13];
  for (guint i = 0; i < 13; i++)
    rows[i] = (i * 5) % 13;   /* scenarios interleaved */
  msr_batch_fill (batch, ds, rows, 13);
  ModelCase c = { model, batch };
  guint n = check_params (ps, build_model_loss, &c, 12, msr_arch_to_string (arch));
  g_test_message ("%s: %u gradient entries checked over %u tensors", msr_arch_to_string (arch), n,
                  msr_params_get_n (ps));
  g_assert_cmpuint (n, >, 20);
}

/* LLM4MSR on a backbone: variants of the meta networks. */
enum { META_FULL, META_LOW_RANK, META_ON_SCENARIO, META_ID_ONLY, N_META };
static const char *const meta_names[N_META] = { "full", "low-rank", "user-on-scenario", "id-only" };

static const char *const form_names[] = { "auto", "per-group", "per-row" };

static void
test_llm4msr (gconstpointer data)
{
  const guint code = GPOINTER_TO_UINT (data);
  const MsrLlm4msrForm form = code % 3;
  const MsrArch arch = code / 3 / N_META;
  const guint variant = code / 3 % N_META;
  g_autoptr(MsrDataset) ds = tiny_dataset ();
  MsrModelConfig cfg;
  msr_model_config_init (&cfg, arch);
  cfg.embed_dim = 3;
  cfg.embed_init_std = 0.7;
  cfg.gate_hidden = 5;
  static const guint small[] = { 5, 4 }, tower[] = { 3 }, aux[] = { 2 };
  cfg.hidden.n = arch == MSR_ARCH_MMOE || arch == MSR_ARCH_PLE ? 1 : 2;
  memcpy (cfg.hidden.dims, small, sizeof small);
  cfg.tower.n = 1;
  memcpy (cfg.tower.dims, tower, sizeof tower);
  memcpy (cfg.aux.dims, aux, sizeof aux);
  cfg.ple_specific = 2;
  cfg.ple_shared = 1;
  cfg.meta_dq = 3;
  cfg.meta_scenario.n = 1;
  cfg.meta_scenario.dims[0] = 4;
  cfg.meta_rank = variant == META_LOW_RANK ? 2 : 0;
  cfg.meta_user_on_scenario = variant == META_ON_SCENARIO;
  cfg.meta_id_only = variant == META_ID_ONLY;

  /* u3 has no vector: the learned unknown vector stands in. */
  const char *users[] = { "u0", "u1", "u2" }, *scen[] = { "a", "b", "c" };
  float uv[3 * 5], sv[3 * 5];
  MsrRng rng;
  msr_rng_init (&rng, 23);
  for (guint i = 0; i < 15; i++)
    {
      uv[i] = (float) (2 * msr_rng_uniform (&rng) - 1);
      sv[i] = (float) (2 * msr_rng_uniform (&rng) - 1);
    }
  MsrModelKnowledge kn = { .dim = 5, .n_users = 3, .user_keys = users, .user_vectors = uv, .n_scenarios = 3,
                           .scenario_keys = scen, .scenario_vectors = sv, .encoder = "test" };
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrModel) model = msr_model_new_with_knowledge (&cfg, ds, &kn, 11, &error);
  g_assert_no_error (error);
  msr_llm4msr_set_form (model, form);
  MsrParams *ps = msr_model_get_params (model);
  g_assert_nonnull (msr_params_lookup (ps, cfg.meta_rank ? "llm4msr.user_meta.gen_u" : "llm4msr.user_meta.gen_weight"));
  g_assert_nonnull (msr_params_lookup (ps, "llm4msr.scenario_meta.1.gen_weight"));
  /* Generators start near zero: move every parameter so each term counts. */
  msr_rng_init (&rng, 17);
  for (guint i = 0; i < msr_params_get_n (ps); i++)
    {
      MsrParam *p = msr_params_get (ps, i);
      if (p->flags & MSR_PARAM_TRAINABLE)
        for (gsize k = 0; k < p->size; k++)
          p->value[k] += (msr_real) (0.3 * (2 * msr_rng_uniform (&rng) - 1));
    }
  g_autoptr(MsrBatch) batch = msr_batch_new (model);
  guint32 rows[13];
  for (guint i = 0; i < 13; i++)
    rows[i] = (i * 5) % 13;
  msr_batch_fill (batch, ds, rows, 13);
  ModelCase c = { model, batch };
  guint n = check_params (ps, build_model_loss, &c, 12, meta_names[variant]);
  g_test_message ("%s + LLM4MSR (%s, %s): %u gradient entries checked over %u tensors", msr_arch_to_string (arch),
                  meta_names[variant], form_names[form], n, msr_params_get_n (ps));
  g_assert_cmpuint (n, >, 40);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/grad/ops", test_ops);
  g_test_add_func ("/grad/checker-catches", test_checker_catches);
  g_test_add_func ("/grad/stop-gradient", test_stop_gradient);
  g_test_add_func ("/grad/generated-layers", test_generated_layers);
  for (guint a = 0; a < MSR_N_ARCHS; a++)
    {
      g_autofree char *path = g_strdup_printf ("/grad/backbone/%s", msr_arch_to_string (a));
      g_test_add_data_func (path, GUINT_TO_POINTER (a), test_backbone);
    }
  for (guint a = 0; a < MSR_N_ARCHS; a++)
    for (guint v = 0; v < N_META; v++)
      {
        /* Every backbone with the full layers; the variants on two. */
        if (v != META_FULL && a != MSR_ARCH_STAR && a != MSR_ARCH_MMOE)
          continue;
        g_autofree char *path = g_strdup_printf ("/grad/llm4msr/%s/%s", msr_arch_to_string (a), meta_names[v]);
        g_test_add_data_func (path, GUINT_TO_POINTER ((a * N_META + v) * 3 + MSR_LLM4MSR_FORM_AUTO), test_llm4msr);
        /* Both ways of applying the layers, whichever the batch picks. */
        for (guint f = MSR_LLM4MSR_FORM_PER_GROUP; a == MSR_ARCH_STAR && f <= MSR_LLM4MSR_FORM_PER_ROW; f++)
          {
            g_autofree char *fpath = g_strdup_printf ("%s/%s", path, form_names[f]);
            g_test_add_data_func (fpath, GUINT_TO_POINTER ((a * N_META + v) * 3 + f), test_llm4msr);
          }
      }
  return g_test_run ();
}

/* msr-graph.h: parameters, a per-batch tape of operations, and reverse-mode
 * gradients: the small autodiff the model zoo is written in.
 *
 * Matrices are row-major rows × cols of msr_real (float; double when the
 * engine is compiled with MSR_REAL_DOUBLE, which the gradient checks use).
 * A linear layer's weight is stored out × in, as PyTorch's nn.Linear, and
 * computed with one GEMM per call. A graph is built afresh for every batch:
 * nodes live in an arena that msr_graph_reset recycles. */
#pragma once

#include <glib.h>
#include "msr-rng.h"

G_BEGIN_DECLS

#ifdef MSR_REAL_DOUBLE
typedef double msr_real;
#else
typedef float msr_real;
#endif

/* ---- parameters ---------------------------------------------------------- */

typedef enum {
  MSR_PARAM_TRAINABLE   = 1 << 0,  /* receives gradients and optimiser steps */
  MSR_PARAM_BUFFER      = 1 << 1,  /* state saved with the model, never trained (BN running stats) */
  MSR_PARAM_SPARSE_ROWS = 1 << 2,  /* an embedding table: only touched rows get gradients */
  MSR_PARAM_NO_DECAY    = 1 << 3,  /* excluded from weight decay */
  MSR_PARAM_COUNTER     = 1 << 4,  /* an integer counter, saved as int64 (num_batches_tracked) */
} MsrParamFlags;

typedef struct {
  char      *name;        /* PyTorch state_dict name */
  guint      n_dims;      /* 0 (scalar) to 4 */
  gint64     shape[4];
  gsize      size;        /* elements */
  guint      flags;
  msr_real  *value;
  msr_real  *grad;        /* NULL for buffers */
  msr_real  *adam_m;      /* optimiser state, allocated by the optimiser */
  msr_real  *adam_v;
  /* Sparse rows: which rows of grad hold a gradient this step. */
  gsize      row_size;
  guint8    *row_touched;
  GArray    *touched_rows;  /* guint32 */
} MsrParam;

typedef struct _MsrParams MsrParams;

MsrParams *msr_params_new          (void);
void       msr_params_free         (MsrParams *params);
/* Adds a zero-initialised parameter; the name must be new. */
MsrParam  *msr_params_add          (MsrParams *params, const char *name, guint n_dims,
                                    const gint64 *shape, guint flags);
MsrParam  *msr_params_lookup       (MsrParams *params, const char *name);
guint      msr_params_get_n        (MsrParams *params);
MsrParam  *msr_params_get          (MsrParams *params, guint i);
/* Elements of trainable parameters. */
gsize      msr_params_count_trainable (MsrParams *params);
void       msr_params_zero_grad    (MsrParams *params);

/* Initialisers (seeded, platform independent). */
void       msr_param_init_uniform  (MsrParam *p, double bound, MsrRng *rng);
void       msr_param_init_normal   (MsrParam *p, double std, MsrRng *rng);
void       msr_param_init_constant (MsrParam *p, double value);

/* ---- the tape ------------------------------------------------------------ */

typedef struct _MsrGraph MsrGraph;
typedef struct _MsrNode  MsrNode;

MsrGraph  *msr_graph_new           (void);
void       msr_graph_free          (MsrGraph *g);
/* Drops every node (keeping the memory for the next batch). */
void       msr_graph_reset         (MsrGraph *g);
/* Training mode: batch statistics in batch norm, dropout active. */
void       msr_graph_set_training  (MsrGraph *g, gboolean training);
gboolean   msr_graph_get_training  (MsrGraph *g);
/* The generator dropout draws from (not owned). */
void       msr_graph_set_rng       (MsrGraph *g, MsrRng *rng);
/* For finite-difference checks only: stop_gradient passes gradients on, so
 * a loss's analytic gradient can be compared with a numeric one even where
 * the model stops gradients on purpose. */
void       msr_graph_set_stop_gradient_passthrough (MsrGraph *g, gboolean passthrough);
/* Bytes the arena holds (for benchmarks). */
gsize      msr_graph_get_arena_bytes (MsrGraph *g);

gsize      msr_node_rows           (const MsrNode *n);
gsize      msr_node_cols           (const MsrNode *n);
msr_real  *msr_node_value          (MsrNode *n);
/* NULL until backward ran, or when no gradient flows to the node. */
msr_real  *msr_node_grad           (MsrNode *n);

/* Leaves. A parameter node views the parameter as rows × cols: 2-D as is,
 * 1-D and scalars as one row, 3-D and more as the first dimension by the
 * rest. Its gradient accumulates into p->grad. */
MsrNode   *msr_g_param             (MsrGraph *g, MsrParam *p);
MsrNode   *msr_g_constant          (MsrGraph *g, gsize rows, gsize cols, const msr_real *data);
/* Slice `index` along the first dimension of a 3-D parameter, as a
 * shape[1] × shape[2] node (a per-scenario weight matrix); a 2-D parameter
 * gives row `index` as 1 × shape[1]. Gradients go to that slice. */
MsrNode   *msr_g_param_slice       (MsrGraph *g, MsrParam *p, gsize index);

/* Embedding rows table[codes[i]]: n × dim. */
MsrNode   *msr_g_embedding         (MsrGraph *g, MsrParam *table, const gint32 *codes, gsize n);
/* Mean of table rows over codes[offsets[i] .. offsets[i+1]) per row (a
 * zero row for an empty bag): n × dim. */
MsrNode   *msr_g_embedding_mean    (MsrGraph *g, MsrParam *table, const guint32 *offsets,
                                    const gint32 *codes, gsize n);

MsrNode   *msr_g_concat            (MsrGraph *g, MsrNode *const *parts, guint k);
/* Columns [start, start + n) of x. */
MsrNode   *msr_g_slice_cols        (MsrGraph *g, MsrNode *x, gsize start, gsize n);
/* x · wᵀ + b: w is out × in, b (nullable) 1 × out. */
MsrNode   *msr_g_linear            (MsrGraph *g, MsrNode *x, MsrNode *w, MsrNode *b);
MsrNode   *msr_g_add               (MsrGraph *g, MsrNode *a, MsrNode *b);
MsrNode   *msr_g_mul               (MsrGraph *g, MsrNode *a, MsrNode *b);
MsrNode   *msr_g_scale             (MsrGraph *g, MsrNode *x, double factor);
/* x with a 1 × cols row vector added to / multiplied into every row. */
MsrNode   *msr_g_add_rowvec        (MsrGraph *g, MsrNode *x, MsrNode *v);
MsrNode   *msr_g_mul_rowvec        (MsrGraph *g, MsrNode *x, MsrNode *v);
/* Row-wise outer products: out[r][t·q + j] = a[r][t]·b[r][j], rows ×
 * (p·q) for a rows × p and b rows × q. With a linear layer over it, every
 * row gets its own generated weight matrix in one GEMM. */
MsrNode   *msr_g_outer_rows        (MsrGraph *g, MsrNode *a, MsrNode *b);
/* Generated layers (LLM4MSR's hypernetworks), one per group: q is G × d_q,
 * gen out × (d_q·in) (an [out, d_q, in] generator), base out × in. Row g
 * of the G × (out·in) result is W_g, row-major out × in:
 * W_g[o][i] = base[o][i] + Σ_t q[g][t]·gen[o][t·in + i]. */
MsrNode   *msr_g_meta_generate     (MsrGraph *g, MsrNode *q, MsrNode *gen, MsrNode *base);
/* Each row through its group's layer: y_r = W_{groups[r]}·x_r + b_{groups[r]}
 * for x B × in, w G × (out·in) (row g an out × in weight, as
 * msr_g_meta_generate makes), b G × out (nullable), groups[r] < G. Rows
 * are sorted by group: a group with many rows is one GEMM. */
MsrNode   *msr_g_grouped_linear    (MsrGraph *g, MsrNode *x, MsrNode *w, MsrNode *b, const guint32 *groups);
/* Every row of x scaled by the matching entry of a rows × 1 column. */
MsrNode   *msr_g_mul_colvec        (MsrGraph *g, MsrNode *x, MsrNode *c);
MsrNode   *msr_g_relu              (MsrGraph *g, MsrNode *x);
MsrNode   *msr_g_sigmoid           (MsrGraph *g, MsrNode *x);
MsrNode   *msr_g_tanh              (MsrGraph *g, MsrNode *x);
/* Row-wise softmax. */
MsrNode   *msr_g_softmax           (MsrGraph *g, MsrNode *x);
/* The value of x, through which no gradient flows back. */
MsrNode   *msr_g_stop_gradient     (MsrGraph *g, MsrNode *x);
/* Inverted dropout with keep probability 1 − p (identity when not training). */
MsrNode   *msr_g_dropout           (MsrGraph *g, MsrNode *x, double p);

/* BatchNorm1d over the rows. gamma, beta: 1 × cols nodes or NULL (no
 * affine). running_mean and running_var hold cols values each (a parameter's
 * values, or a slice of them). Training: biased batch variance normalises;
 * the running mean and the unbiased variance are blended in with momentum,
 * as PyTorch does; a batch of one row uses the running statistics instead.
 * Evaluation: the running statistics. counter (nullable) counts training
 * batches (num_batches_tracked). */
MsrNode   *msr_g_batchnorm         (MsrGraph *g, MsrNode *x, MsrNode *gamma, MsrNode *beta,
                                    msr_real *running_mean, msr_real *running_var,
                                    msr_real *counter, double momentum, double eps);
/* LayerNorm over each row's columns, gamma/beta 1 × cols (nullable). */
MsrNode   *msr_g_layernorm         (MsrGraph *g, MsrNode *x, MsrNode *gamma, MsrNode *beta, double eps);

/* Rows idx[0..n) of x, in that order. */
MsrNode   *msr_g_gather_rows       (MsrGraph *g, MsrNode *x, const guint32 *idx, gsize n);
/* A rows × cols matrix whose row idx[j][i] is row i of parts[j]; rows that
 * no part fills stay 0. */
MsrNode   *msr_g_scatter_rows      (MsrGraph *g, MsrNode *const *parts, const guint32 *const *idx,
                                    guint k, gsize rows);
/* Σ_k gate[:, k] ⊙ experts[k]: gate rows × k, experts rows × cols each. */
MsrNode   *msr_g_mix               (MsrGraph *g, MsrNode *gate, MsrNode *const *experts, guint k);

/* Σ_i softplus(z_i) − y_i·z_i, divided by divisor: a 1 × 1 loss. z is n × 1. */
MsrNode   *msr_g_bce_logits        (MsrGraph *g, MsrNode *z, const guint8 *labels, double divisor);

/* Gradients of the 1 × 1 node loss with respect to every node that needs
 * one; parameter gradients accumulate into MsrParam.grad. */
void       msr_graph_backward      (MsrGraph *g, MsrNode *loss);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrGraph, msr_graph_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrParams, msr_params_free)

G_END_DECLS

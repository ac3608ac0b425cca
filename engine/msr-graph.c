/* msr-graph.c: parameters, the tape and its backward pass. */
#include "config.h"
#include "msr-graph.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#ifdef MSR_REAL_DOUBLE
#define GEMM cblas_dgemm
#define GEMV cblas_dgemv
#define GER  cblas_dger
#else
#define GEMM cblas_sgemm
#define GEMV cblas_sgemv
#define GER  cblas_sger
#endif

/* ---- parameters ------------------------------------------------------------ */

struct _MsrParams {
  GPtrArray  *list;    /* MsrParam*, in creation order */
  GHashTable *index;   /* name -> MsrParam* */
};

static void
param_free (gpointer data)
{
  MsrParam *p = data;
  g_free (p->name);
  g_free (p->value);
  g_free (p->grad);
  g_free (p->adam_m);
  g_free (p->adam_v);
  g_free (p->row_touched);
  if (p->touched_rows)
    g_array_unref (p->touched_rows);
  g_free (p);
}

MsrParams *
msr_params_new (void)
{
  MsrParams *ps = g_new0 (MsrParams, 1);
  ps->list = g_ptr_array_new_with_free_func (param_free);
  ps->index = g_hash_table_new (g_str_hash, g_str_equal);
  return ps;
}

void
msr_params_free (MsrParams *ps)
{
  if (ps == NULL)
    return;
  g_hash_table_unref (ps->index);
  g_ptr_array_unref (ps->list);
  g_free (ps);
}

MsrParam *
msr_params_add (MsrParams *ps, const char *name, guint n_dims, const gint64 *shape, guint flags)
{
  g_return_val_if_fail (n_dims <= 4, NULL);
  g_return_val_if_fail (g_hash_table_lookup (ps->index, name) == NULL, NULL);

  MsrParam *p = g_new0 (MsrParam, 1);
  p->name = g_strdup (name);
  p->n_dims = n_dims;
  p->size = 1;
  for (guint d = 0; d < n_dims; d++)
    {
      p->shape[d] = shape[d];
      p->size *= (gsize) shape[d];
    }
  p->flags = flags;
  p->value = g_new0 (msr_real, MAX (p->size, 1));
  if (flags & MSR_PARAM_TRAINABLE)
    p->grad = g_new0 (msr_real, MAX (p->size, 1));
  if (flags & MSR_PARAM_SPARSE_ROWS)
    {
      g_return_val_if_fail (n_dims == 2, NULL);
      p->row_size = (gsize) shape[1];
      p->row_touched = g_new0 (guint8, MAX (shape[0], 1));
      p->touched_rows = g_array_new (FALSE, FALSE, sizeof (guint32));
    }
  g_ptr_array_add (ps->list, p);
  g_hash_table_insert (ps->index, p->name, p);
  return p;
}

MsrParam *
msr_params_lookup (MsrParams *ps, const char *name)
{
  return g_hash_table_lookup (ps->index, name);
}

guint
msr_params_get_n (MsrParams *ps)
{
  return ps->list->len;
}

MsrParam *
msr_params_get (MsrParams *ps, guint i)
{
  g_return_val_if_fail (i < ps->list->len, NULL);
  return g_ptr_array_index (ps->list, i);
}

gsize
msr_params_count_trainable (MsrParams *ps)
{
  gsize n = 0;
  for (guint i = 0; i < ps->list->len; i++)
    {
      MsrParam *p = g_ptr_array_index (ps->list, i);
      if (p->flags & MSR_PARAM_TRAINABLE)
        n += p->size;
    }
  return n;
}

void
msr_params_zero_grad (MsrParams *ps)
{
  for (guint i = 0; i < ps->list->len; i++)
    {
      MsrParam *p = g_ptr_array_index (ps->list, i);
      if (p->grad == NULL)
        continue;
      if (p->flags & MSR_PARAM_SPARSE_ROWS)
        {
          /* Only the rows that were touched hold anything. */
          for (guint k = 0; k < p->touched_rows->len; k++)
            {
              guint32 r = g_array_index (p->touched_rows, guint32, k);
              memset (p->grad + (gsize) r * p->row_size, 0, p->row_size * sizeof (msr_real));
              p->row_touched[r] = 0;
            }
          g_array_set_size (p->touched_rows, 0);
        }
      else
        memset (p->grad, 0, p->size * sizeof (msr_real));
    }
}

void
msr_param_init_uniform (MsrParam *p, double bound, MsrRng *rng)
{
  for (gsize i = 0; i < p->size; i++)
    p->value[i] = (msr_real) ((2.0 * msr_rng_uniform (rng) - 1.0) * bound);
}

void
msr_param_init_normal (MsrParam *p, double std, MsrRng *rng)
{
  /* Box-Muller with our own generator, so every platform draws the same. */
  for (gsize i = 0; i < p->size; i += 2)
    {
      double u1 = msr_rng_uniform (rng), u2 = msr_rng_uniform (rng);
      double r = sqrt (-2.0 * log (1.0 - u1));
      p->value[i] = (msr_real) (std * r * cos (2 * G_PI * u2));
      if (i + 1 < p->size)
        p->value[i + 1] = (msr_real) (std * r * sin (2 * G_PI * u2));
    }
}

void
msr_param_init_constant (MsrParam *p, double value)
{
  for (gsize i = 0; i < p->size; i++)
    p->value[i] = (msr_real) value;
}

/* ---- the arena ------------------------------------------------------------- */

typedef struct {
  char  *base;
  gsize  size;
  gsize  used;
} Chunk;

typedef struct {
  GArray *chunks;   /* Chunk */
  guint   current;
} Arena;

#define ARENA_ALIGN 64
#define ARENA_MIN_CHUNK (4u << 20)

static void *
arena_alloc (Arena *a, gsize size, gboolean zero)
{
  size = (size + ARENA_ALIGN - 1) & ~(gsize) (ARENA_ALIGN - 1);
  if (size == 0)
    size = ARENA_ALIGN;
  while (a->current < a->chunks->len)
    {
      Chunk *c = &g_array_index (a->chunks, Chunk, a->current);
      if (c->used + size <= c->size)
        {
          void *p = c->base + c->used;
          c->used += size;
          if (zero)
            memset (p, 0, size);
          return p;
        }
      a->current++;
    }
  gsize last = a->chunks->len ? g_array_index (a->chunks, Chunk, a->chunks->len - 1).size : 0;
  Chunk c = { NULL, MAX (MAX (size, (gsize) ARENA_MIN_CHUNK), last * 2), 0 };
  c.base = g_aligned_alloc (1, c.size, ARENA_ALIGN);
  c.used = size;
  g_array_append_val (a->chunks, c);
  a->current = a->chunks->len - 1;
  if (zero)
    memset (c.base, 0, size);
  return c.base;
}

static void
arena_reset (Arena *a)
{
  for (guint i = 0; i < a->chunks->len; i++)
    g_array_index (a->chunks, Chunk, i).used = 0;
  a->current = 0;
}

/* ---- nodes ----------------------------------------------------------------- */

typedef enum {
  OP_LEAF, OP_PARAM, OP_EMBED, OP_EMBED_MEAN, OP_CONCAT, OP_SLICE, OP_LINEAR, OP_ADD, OP_MUL,
  OP_SCALE, OP_ADD_ROWVEC, OP_MUL_ROWVEC, OP_MUL_COLVEC, OP_RELU, OP_SIGMOID, OP_TANH,
  OP_SOFTMAX, OP_STOP, OP_DROPOUT, OP_BATCHNORM, OP_LAYERNORM, OP_GATHER, OP_SCATTER, OP_MIX,
  OP_BCE, OP_OUTER, OP_META_GEN, OP_GROUPED_LINEAR,
} Op;

struct _MsrNode {
  Op         op;
  gsize      rows, cols;
  msr_real  *val;
  msr_real  *grad;
  gboolean   needs_grad;
  MsrNode  **in;
  guint      n_in;
  MsrParam  *param;
  double     scalar;
  gsize      start;
  /* op data in the arena: codes, offsets, indices, masks, statistics */
  gpointer   aux[3];
  gboolean   flag;
};

struct _MsrGraph {
  Arena      arena;
  GPtrArray *nodes;
  gboolean   training;
  gboolean   stop_passthrough;
  MsrRng    *rng;
};

MsrGraph *
msr_graph_new (void)
{
  MsrGraph *g = g_new0 (MsrGraph, 1);
  g->arena.chunks = g_array_new (FALSE, FALSE, sizeof (Chunk));
  g->nodes = g_ptr_array_new ();
  return g;
}

void
msr_graph_free (MsrGraph *g)
{
  if (g == NULL)
    return;
  for (guint i = 0; i < g->arena.chunks->len; i++)
    g_aligned_free (g_array_index (g->arena.chunks, Chunk, i).base);
  g_array_unref (g->arena.chunks);
  g_ptr_array_unref (g->nodes);
  g_free (g);
}

void
msr_graph_reset (MsrGraph *g)
{
  arena_reset (&g->arena);
  g_ptr_array_set_size (g->nodes, 0);
}

void msr_graph_set_training (MsrGraph *g, gboolean training) { g->training = training; }
gboolean msr_graph_get_training (MsrGraph *g) { return g->training; }
void msr_graph_set_rng (MsrGraph *g, MsrRng *rng) { g->rng = rng; }
void msr_graph_set_stop_gradient_passthrough (MsrGraph *g, gboolean passthrough) { g->stop_passthrough = passthrough; }

gsize
msr_graph_get_arena_bytes (MsrGraph *g)
{
  gsize n = 0;
  for (guint i = 0; i < g->arena.chunks->len; i++)
    n += g_array_index (g->arena.chunks, Chunk, i).size;
  return n;
}

gsize msr_node_rows (const MsrNode *n) { return n->rows; }
gsize msr_node_cols (const MsrNode *n) { return n->cols; }
msr_real *msr_node_value (MsrNode *n) { return n->val; }
msr_real *msr_node_grad (MsrNode *n) { return n->grad; }

static msr_real *
alloc_real (MsrGraph *g, gsize n, gboolean zero)
{
  return arena_alloc (&g->arena, n * sizeof (msr_real), zero);
}

static gpointer
arena_copy (MsrGraph *g, gconstpointer data, gsize bytes)
{
  gpointer p = arena_alloc (&g->arena, bytes, FALSE);
  if (bytes)
    memcpy (p, data, bytes);
  return p;
}

static MsrNode *
node_new (MsrGraph *g, Op op, gsize rows, gsize cols, guint n_in, MsrNode *const *in, gboolean alloc_val)
{
  MsrNode *n = arena_alloc (&g->arena, sizeof (MsrNode), TRUE);
  n->op = op;
  n->rows = rows;
  n->cols = cols;
  n->n_in = n_in;
  if (n_in)
    {
      n->in = arena_alloc (&g->arena, n_in * sizeof (MsrNode *), FALSE);
      for (guint i = 0; i < n_in; i++)
        {
          n->in[i] = in[i];
          if (in[i] && in[i]->needs_grad)
            n->needs_grad = TRUE;
        }
    }
  if (alloc_val)
    n->val = alloc_real (g, rows * cols, FALSE);
  g_ptr_array_add (g->nodes, n);
  return n;
}

static MsrNode *
node1 (MsrGraph *g, Op op, MsrNode *x)
{
  return node_new (g, op, x->rows, x->cols, 1, &x, TRUE);
}

/* ---- leaves ---------------------------------------------------------------- */

MsrNode *
msr_g_param (MsrGraph *g, MsrParam *p)
{
  /* 3-D and higher: the first dimension by the rest flattened (a generated
   * layer's [out, d_q, in] weight as out × (d_q·in)). */
  gsize rows = p->n_dims >= 2 ? (gsize) p->shape[0] : 1;
  gsize cols = p->n_dims >= 2 ? p->size / MAX (rows, 1) : p->size;
  MsrNode *n = node_new (g, OP_PARAM, rows, cols, 0, NULL, FALSE);
  n->param = p;
  n->val = p->value;
  n->needs_grad = (p->flags & MSR_PARAM_TRAINABLE) != 0;
  return n;
}

MsrNode *
msr_g_param_slice (MsrGraph *g, MsrParam *p, gsize index)
{
  g_return_val_if_fail (p->n_dims == 2 || p->n_dims == 3, NULL);
  g_return_val_if_fail (index < (gsize) p->shape[0], NULL);
  gsize rows = p->n_dims == 3 ? (gsize) p->shape[1] : 1;
  gsize cols = p->n_dims == 3 ? (gsize) p->shape[2] : (gsize) p->shape[1];
  MsrNode *n = node_new (g, OP_PARAM, rows, cols, 0, NULL, FALSE);
  n->param = p;
  n->start = index * rows * cols;
  n->val = p->value + n->start;
  n->needs_grad = (p->flags & MSR_PARAM_TRAINABLE) != 0;
  return n;
}

MsrNode *
msr_g_constant (MsrGraph *g, gsize rows, gsize cols, const msr_real *data)
{
  MsrNode *n = node_new (g, OP_LEAF, rows, cols, 0, NULL, TRUE);
  if (data)
    memcpy (n->val, data, rows * cols * sizeof (msr_real));
  else
    memset (n->val, 0, rows * cols * sizeof (msr_real));
  return n;
}

/* ---- embeddings ------------------------------------------------------------ */

MsrNode *
msr_g_embedding (MsrGraph *g, MsrParam *table, const gint32 *codes, gsize n)
{
  const gsize d = (gsize) table->shape[1];
  MsrNode *out = node_new (g, OP_EMBED, n, d, 0, NULL, TRUE);
  out->param = table;
  out->needs_grad = (table->flags & MSR_PARAM_TRAINABLE) != 0;
  out->aux[0] = arena_copy (g, codes, n * sizeof (gint32));
  for (gsize i = 0; i < n; i++)
    {
      g_assert (codes[i] >= 0 && codes[i] < table->shape[0]);
      memcpy (out->val + i * d, table->value + (gsize) codes[i] * d, d * sizeof (msr_real));
    }
  return out;
}

MsrNode *
msr_g_embedding_mean (MsrGraph *g, MsrParam *table, const guint32 *offsets, const gint32 *codes, gsize n)
{
  const gsize d = (gsize) table->shape[1];
  MsrNode *out = node_new (g, OP_EMBED_MEAN, n, d, 0, NULL, TRUE);
  out->param = table;
  out->needs_grad = (table->flags & MSR_PARAM_TRAINABLE) != 0;
  /* Rebase the offsets so the copied codes start at 0. */
  guint32 *off = arena_alloc (&g->arena, (n + 1) * sizeof (guint32), FALSE);
  for (gsize i = 0; i <= n; i++)
    off[i] = offsets[i] - offsets[0];
  out->aux[0] = arena_copy (g, codes + offsets[0], off[n] * sizeof (gint32));
  out->aux[1] = off;
  const gint32 *c = out->aux[0];
  for (gsize i = 0; i < n; i++)
    {
      msr_real *row = out->val + i * d;
      memset (row, 0, d * sizeof (msr_real));
      guint32 cnt = off[i + 1] - off[i];
      for (guint32 k = off[i]; k < off[i + 1]; k++)
        {
          g_assert (c[k] >= 0 && c[k] < table->shape[0]);
          const msr_real *src = table->value + (gsize) c[k] * d;
          for (gsize j = 0; j < d; j++)
            row[j] += src[j];
        }
      if (cnt > 1)
        for (gsize j = 0; j < d; j++)
          row[j] /= (msr_real) cnt;
    }
  return out;
}

static void
touch_row (MsrParam *p, guint32 row)
{
  if (p->row_touched && !p->row_touched[row])
    {
      p->row_touched[row] = 1;
      g_array_append_val (p->touched_rows, row);
    }
}

/* ---- shape ops ------------------------------------------------------------- */

MsrNode *
msr_g_concat (MsrGraph *g, MsrNode *const *parts, guint k)
{
  gsize rows = parts[0]->rows, cols = 0;
  for (guint i = 0; i < k; i++)
    {
      g_return_val_if_fail (parts[i]->rows == rows, NULL);
      cols += parts[i]->cols;
    }
  MsrNode *out = node_new (g, OP_CONCAT, rows, cols, k, parts, TRUE);
  gsize at = 0;
  for (guint i = 0; i < k; i++)
    {
      const gsize c = parts[i]->cols;
      for (gsize r = 0; r < rows; r++)
        memcpy (out->val + r * cols + at, parts[i]->val + r * c, c * sizeof (msr_real));
      at += c;
    }
  return out;
}

MsrNode *
msr_g_slice_cols (MsrGraph *g, MsrNode *x, gsize start, gsize n)
{
  g_return_val_if_fail (start + n <= x->cols, NULL);
  MsrNode *out = node_new (g, OP_SLICE, x->rows, n, 1, &x, TRUE);
  out->start = start;
  for (gsize r = 0; r < x->rows; r++)
    memcpy (out->val + r * n, x->val + r * x->cols + start, n * sizeof (msr_real));
  return out;
}

MsrNode *
msr_g_gather_rows (MsrGraph *g, MsrNode *x, const guint32 *idx, gsize n)
{
  MsrNode *out = node_new (g, OP_GATHER, n, x->cols, 1, &x, TRUE);
  out->aux[0] = arena_copy (g, idx, n * sizeof (guint32));
  for (gsize i = 0; i < n; i++)
    {
      g_assert (idx[i] < x->rows);
      memcpy (out->val + i * x->cols, x->val + (gsize) idx[i] * x->cols, x->cols * sizeof (msr_real));
    }
  return out;
}

MsrNode *
msr_g_scatter_rows (MsrGraph *g, MsrNode *const *parts, const guint32 *const *idx, guint k, gsize rows)
{
  gsize cols = parts[0]->cols;
  MsrNode *out = node_new (g, OP_SCATTER, rows, cols, k, parts, FALSE);
  out->val = alloc_real (g, rows * cols, TRUE);
  const guint32 **ix = arena_alloc (&g->arena, k * sizeof (guint32 *), FALSE);
  for (guint j = 0; j < k; j++)
    {
      g_return_val_if_fail (parts[j]->cols == cols, NULL);
      ix[j] = arena_copy (g, idx[j], parts[j]->rows * sizeof (guint32));
      for (gsize i = 0; i < parts[j]->rows; i++)
        {
          g_assert (ix[j][i] < rows);
          memcpy (out->val + (gsize) ix[j][i] * cols, parts[j]->val + i * cols, cols * sizeof (msr_real));
        }
    }
  out->aux[0] = ix;
  return out;
}

/* ---- arithmetic ------------------------------------------------------------ */

MsrNode *
msr_g_linear (MsrGraph *g, MsrNode *x, MsrNode *w, MsrNode *b)
{
  g_return_val_if_fail (x->cols == w->cols, NULL);
  g_return_val_if_fail (b == NULL || (b->rows == 1 && b->cols == w->rows), NULL);
  MsrNode *in[3] = { x, w, b };
  MsrNode *out = node_new (g, OP_LINEAR, x->rows, w->rows, b ? 3 : 2, in, TRUE);
  const gsize B = x->rows, O = w->rows, In = w->cols;
  if (B == 0)
    return out;
  if (In == 0)
    memset (out->val, 0, B * O * sizeof (msr_real));
  else
    GEMM (CblasRowMajor, CblasNoTrans, CblasTrans, (int) B, (int) O, (int) In, 1, x->val, (int) In,
          w->val, (int) In, 0, out->val, (int) O);
  if (b)
    for (gsize r = 0; r < B; r++)
      for (gsize j = 0; j < O; j++)
        out->val[r * O + j] += b->val[j];
  return out;
}

MsrNode *
msr_g_add (MsrGraph *g, MsrNode *a, MsrNode *b)
{
  g_return_val_if_fail (a->rows == b->rows && a->cols == b->cols, NULL);
  MsrNode *in[2] = { a, b };
  MsrNode *out = node_new (g, OP_ADD, a->rows, a->cols, 2, in, TRUE);
  for (gsize i = 0; i < a->rows * a->cols; i++)
    out->val[i] = a->val[i] + b->val[i];
  return out;
}

MsrNode *
msr_g_mul (MsrGraph *g, MsrNode *a, MsrNode *b)
{
  g_return_val_if_fail (a->rows == b->rows && a->cols == b->cols, NULL);
  MsrNode *in[2] = { a, b };
  MsrNode *out = node_new (g, OP_MUL, a->rows, a->cols, 2, in, TRUE);
  for (gsize i = 0; i < a->rows * a->cols; i++)
    out->val[i] = a->val[i] * b->val[i];
  return out;
}

MsrNode *
msr_g_scale (MsrGraph *g, MsrNode *x, double factor)
{
  MsrNode *out = node1 (g, OP_SCALE, x);
  out->scalar = factor;
  for (gsize i = 0; i < x->rows * x->cols; i++)
    out->val[i] = (msr_real) (x->val[i] * factor);
  return out;
}

MsrNode *
msr_g_add_rowvec (MsrGraph *g, MsrNode *x, MsrNode *v)
{
  g_return_val_if_fail (v->rows == 1 && v->cols == x->cols, NULL);
  MsrNode *in[2] = { x, v };
  MsrNode *out = node_new (g, OP_ADD_ROWVEC, x->rows, x->cols, 2, in, TRUE);
  for (gsize r = 0; r < x->rows; r++)
    for (gsize j = 0; j < x->cols; j++)
      out->val[r * x->cols + j] = x->val[r * x->cols + j] + v->val[j];
  return out;
}

MsrNode *
msr_g_mul_rowvec (MsrGraph *g, MsrNode *x, MsrNode *v)
{
  g_return_val_if_fail (v->rows == 1 && v->cols == x->cols, NULL);
  MsrNode *in[2] = { x, v };
  MsrNode *out = node_new (g, OP_MUL_ROWVEC, x->rows, x->cols, 2, in, TRUE);
  for (gsize r = 0; r < x->rows; r++)
    for (gsize j = 0; j < x->cols; j++)
      out->val[r * x->cols + j] = x->val[r * x->cols + j] * v->val[j];
  return out;
}

MsrNode *
msr_g_mul_colvec (MsrGraph *g, MsrNode *x, MsrNode *c)
{
  g_return_val_if_fail (c->cols == 1 && c->rows == x->rows, NULL);
  MsrNode *in[2] = { x, c };
  MsrNode *out = node_new (g, OP_MUL_COLVEC, x->rows, x->cols, 2, in, TRUE);
  for (gsize r = 0; r < x->rows; r++)
    for (gsize j = 0; j < x->cols; j++)
      out->val[r * x->cols + j] = x->val[r * x->cols + j] * c->val[r];
  return out;
}

MsrNode *
msr_g_outer_rows (MsrGraph *g, MsrNode *a, MsrNode *b)
{
  g_return_val_if_fail (a->rows == b->rows, NULL);
  MsrNode *in[2] = { a, b };
  const gsize R = a->rows, P = a->cols, Q = b->cols;
  MsrNode *out = node_new (g, OP_OUTER, R, P * Q, 2, in, TRUE);
  for (gsize r = 0; r < R; r++)
    {
      const msr_real *restrict ar = a->val + r * P, *restrict br = b->val + r * Q;
      msr_real *restrict o = out->val + r * P * Q;
      for (gsize t = 0; t < P; t++)
        for (gsize j = 0; j < Q; j++)
          o[t * Q + j] = ar[t] * br[j];
    }
  return out;
}

/* ---- generated layers, one per group ----------------------------------------- */

MsrNode *
msr_g_meta_generate (MsrGraph *g, MsrNode *q, MsrNode *gen, MsrNode *base)
{
  const gsize G = q->rows, Dq = q->cols, O = gen->rows, In = Dq ? gen->cols / Dq : 0;
  g_return_val_if_fail (Dq > 0 && gen->cols == Dq * In, NULL);
  g_return_val_if_fail (base == NULL || (base->rows == O && base->cols == In), NULL);
  MsrNode *in[3] = { q, gen, base };
  MsrNode *out = node_new (g, OP_META_GEN, G, O * In, base ? 3 : 2, in, TRUE);
  if (base)
    for (gsize k = 0; k < G; k++)
      memcpy (out->val + k * O * In, base->val, O * In * sizeof (msr_real));
  else
    memset (out->val, 0, G * O * In * sizeof (msr_real));
  if (G == 0 || In == 0)
    return out;
  /* Output unit o of every group at once: the G × in block q·gen[o],
   * whose rows lie out·in apart in the result. */
  for (gsize o = 0; o < O; o++)
    GEMM (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) G, (int) In, (int) Dq, 1, q->val, (int) Dq,
          gen->val + o * Dq * In, (int) In, 1, out->val + o * In, (int) (O * In));
  return out;
}

/* Groups of at least this many rows are gathered into one GEMM; smaller
 * ones take a GEMV per row, which skips GEMM's packing (most users have a
 * row or two in a batch). */
#define GROUP_GEMM_ROWS 8

/* The rows of a batch sorted by group (counting sort, stable). */
typedef struct {
  guint32 *perm;   /* B: row indices, group by group, ascending within one */
  guint32 *off;    /* G + 1: group k's rows are perm[off[k] .. off[k + 1]) */
  gsize    big;    /* rows of the largest group that takes the GEMM path */
} Grouping;

static Grouping *
grouping_new (MsrGraph *g, const guint32 *groups, gsize B, gsize G)
{
  Grouping *gr = arena_alloc (&g->arena, sizeof (Grouping), TRUE);
  gr->off = arena_alloc (&g->arena, (G + 1) * sizeof (guint32), TRUE);
  gr->perm = arena_alloc (&g->arena, B * sizeof (guint32), FALSE);
  for (gsize r = 0; r < B; r++)
    {
      g_assert (groups[r] < G);
      gr->off[groups[r] + 1]++;
    }
  for (gsize k = 0; k < G; k++)
    {
      const gsize n = gr->off[k + 1];
      if (n >= GROUP_GEMM_ROWS)
        gr->big = MAX (gr->big, n);
      gr->off[k + 1] += gr->off[k];
    }
  guint32 *next = arena_copy (g, gr->off, G * sizeof (guint32));
  for (gsize r = 0; r < B; r++)
    gr->perm[next[groups[r]]++] = (guint32) r;
  return gr;
}

/* Rows rows[0..n) of src (cols wide) copied into dst, one after another,
 * and dst returned; or, when they already are consecutive in src, no copy
 * and a pointer to the first of them. */
static const msr_real *
gather (const msr_real *src, gsize cols, const guint32 *rows, gsize n, msr_real *dst)
{
  if (rows[n - 1] - rows[0] == n - 1)
    return src + (gsize) rows[0] * cols;
  for (gsize i = 0; i < n; i++)
    memcpy (dst + i * cols, src + (gsize) rows[i] * cols, cols * sizeof (msr_real));
  return dst;
}

MsrNode *
msr_g_grouped_linear (MsrGraph *g, MsrNode *x, MsrNode *w, MsrNode *b, const guint32 *groups)
{
  const gsize B = x->rows, In = x->cols, G = w->rows;
  g_return_val_if_fail (In > 0 && w->cols % In == 0, NULL);
  const gsize O = w->cols / In;
  g_return_val_if_fail (b == NULL || (b->rows == G && b->cols == O), NULL);
  MsrNode *in[3] = { x, w, b };
  MsrNode *out = node_new (g, OP_GROUPED_LINEAR, B, O, b ? 3 : 2, in, TRUE);
  Grouping *gr = grouping_new (g, groups, B, G);
  out->aux[0] = gr;
  msr_real *xs = gr->big ? alloc_real (g, gr->big * In, FALSE) : NULL;
  msr_real *ys = gr->big ? alloc_real (g, gr->big * O, FALSE) : NULL;
  for (gsize k = 0; k < G; k++)
    {
      const guint32 *rows = gr->perm + gr->off[k];
      const gsize n = gr->off[k + 1] - gr->off[k];
      const msr_real *wk = w->val + k * O * In;
      if (n >= GROUP_GEMM_ROWS)
        {
          const msr_real *xk = gather (x->val, In, rows, n, xs);
          const gboolean in_place = xk != xs;
          msr_real *yk = in_place ? out->val + (gsize) rows[0] * O : ys;
          GEMM (CblasRowMajor, CblasNoTrans, CblasTrans, (int) n, (int) O, (int) In, 1, xk, (int) In, wk,
                (int) In, 0, yk, (int) O);
          if (!in_place)
            for (gsize i = 0; i < n; i++)
              memcpy (out->val + (gsize) rows[i] * O, ys + i * O, O * sizeof (msr_real));
        }
      else
        for (gsize i = 0; i < n; i++)
          GEMV (CblasRowMajor, CblasNoTrans, (int) O, (int) In, 1, wk, (int) In, x->val + (gsize) rows[i] * In, 1,
                0, out->val + (gsize) rows[i] * O, 1);
      if (b)
        for (gsize i = 0; i < n; i++)
          {
            msr_real *restrict y = out->val + (gsize) rows[i] * O;
            const msr_real *restrict bk = b->val + k * O;
            for (gsize j = 0; j < O; j++)
              y[j] += bk[j];
          }
    }
  return out;
}

MsrNode *
msr_g_relu (MsrGraph *g, MsrNode *x)
{
  MsrNode *out = node1 (g, OP_RELU, x);
  /* Local restrict pointers and a select, so the loop vectorises without
   * branches (the sign of a trained network's activations is a coin flip). */
  const msr_real *restrict in = x->val;
  msr_real *restrict o = out->val;
  const gsize n = x->rows * x->cols;
  for (gsize i = 0; i < n; i++)
    o[i] = in[i] > 0 ? in[i] : 0;
  return out;
}

static inline msr_real
sigmoid (msr_real z)
{
  /* Stable on both tails. */
  if (z >= 0)
    return 1 / (1 + exp (-z));
  msr_real e = exp (z);
  return e / (1 + e);
}

MsrNode *
msr_g_sigmoid (MsrGraph *g, MsrNode *x)
{
  MsrNode *out = node1 (g, OP_SIGMOID, x);
  for (gsize i = 0; i < x->rows * x->cols; i++)
    out->val[i] = sigmoid (x->val[i]);
  return out;
}

MsrNode *
msr_g_tanh (MsrGraph *g, MsrNode *x)
{
  MsrNode *out = node1 (g, OP_TANH, x);
  for (gsize i = 0; i < x->rows * x->cols; i++)
    out->val[i] = tanh (x->val[i]);
  return out;
}

MsrNode *
msr_g_softmax (MsrGraph *g, MsrNode *x)
{
  MsrNode *out = node1 (g, OP_SOFTMAX, x);
  const gsize C = x->cols;
  for (gsize r = 0; r < x->rows; r++)
    {
      const msr_real *in = x->val + r * C;
      msr_real *o = out->val + r * C;
      msr_real m = in[0];
      for (gsize j = 1; j < C; j++)
        m = MAX (m, in[j]);
      double sum = 0;
      for (gsize j = 0; j < C; j++)
        sum += (o[j] = exp (in[j] - m));
      for (gsize j = 0; j < C; j++)
        o[j] = (msr_real) (o[j] / sum);
    }
  return out;
}

MsrNode *
msr_g_stop_gradient (MsrGraph *g, MsrNode *x)
{
  MsrNode *out = node_new (g, OP_STOP, x->rows, x->cols, 1, &x, FALSE);
  out->val = x->val;
  out->needs_grad = g->stop_passthrough && x->needs_grad;
  return out;
}

MsrNode *
msr_g_dropout (MsrGraph *g, MsrNode *x, double p)
{
  if (!g->training || p <= 0)
    return x;
  g_return_val_if_fail (g->rng != NULL && p < 1, x);
  MsrNode *out = node1 (g, OP_DROPOUT, x);
  msr_real *mask = alloc_real (g, x->rows * x->cols, FALSE);
  const msr_real keep = (msr_real) (1.0 / (1.0 - p));
  for (gsize i = 0; i < x->rows * x->cols; i++)
    {
      mask[i] = msr_rng_uniform (g->rng) < p ? 0 : keep;
      out->val[i] = x->val[i] * mask[i];
    }
  out->aux[0] = mask;
  return out;
}

/* ---- normalisation --------------------------------------------------------- */

MsrNode *
msr_g_batchnorm (MsrGraph *g, MsrNode *x, MsrNode *gamma, MsrNode *beta,
                 msr_real *running_mean, msr_real *running_var, msr_real *counter,
                 double momentum, double eps)
{
  const gsize N = x->rows, C = x->cols;
  MsrNode *in[3] = { x, gamma, beta };
  MsrNode *out = node_new (g, OP_BATCHNORM, N, C, 3, in, TRUE);
  msr_real *mean = alloc_real (g, C, FALSE);
  msr_real *invstd = alloc_real (g, C, FALSE);
  msr_real *xhat = alloc_real (g, N * C, FALSE);
  /* Batch statistics need two rows; a single row uses the running ones. */
  const gboolean batch_stats = g->training && N > 1;

  if (batch_stats)
    {
      /* Row by row, so the inner loops run over contiguous columns. */
      double *sum = arena_alloc (&g->arena, C * sizeof (double), TRUE);
      double *ss = arena_alloc (&g->arena, C * sizeof (double), TRUE);
      for (gsize r = 0; r < N; r++)
        {
          const msr_real *restrict xr = x->val + r * C;
          for (gsize j = 0; j < C; j++)
            sum[j] += xr[j];
        }
      for (gsize j = 0; j < C; j++)
        sum[j] /= (double) N;
      for (gsize r = 0; r < N; r++)
        {
          const msr_real *restrict xr = x->val + r * C;
          for (gsize j = 0; j < C; j++)
            {
              const double d = xr[j] - sum[j];
              ss[j] += d * d;
            }
        }
      for (gsize j = 0; j < C; j++)
        {
          const double mu = sum[j], var = ss[j] / N;
          mean[j] = (msr_real) mu;
          invstd[j] = (msr_real) (1.0 / sqrt (var + eps));
          running_mean[j] = (msr_real) ((1 - momentum) * running_mean[j] + momentum * mu);
          running_var[j] = (msr_real) ((1 - momentum) * running_var[j] + momentum * ss[j] / (N - 1));
        }
      if (counter)
        counter[0] += 1;
    }
  else
    for (gsize j = 0; j < C; j++)
      {
        mean[j] = running_mean[j];
        invstd[j] = (msr_real) (1.0 / sqrt (running_var[j] + eps));
      }

  /* The affine part folded into one scale and shift per column. */
  msr_real *scale = alloc_real (g, C, FALSE), *shift = alloc_real (g, C, FALSE);
  for (gsize j = 0; j < C; j++)
    {
      scale[j] = gamma ? gamma->val[j] : 1;
      shift[j] = beta ? beta->val[j] : 0;
    }
  for (gsize r = 0; r < N; r++)
    {
      const msr_real *restrict xr = x->val + r * C;
      msr_real *restrict hr = xhat + r * C, *restrict yr = out->val + r * C;
      for (gsize j = 0; j < C; j++)
        {
          const msr_real h = (xr[j] - mean[j]) * invstd[j];
          hr[j] = h;
          yr[j] = scale[j] * h + shift[j];
        }
    }
  out->aux[0] = invstd;
  out->aux[1] = xhat;
  out->flag = batch_stats;
  return out;
}

MsrNode *
msr_g_layernorm (MsrGraph *g, MsrNode *x, MsrNode *gamma, MsrNode *beta, double eps)
{
  const gsize N = x->rows, C = x->cols;
  MsrNode *in[3] = { x, gamma, beta };
  MsrNode *out = node_new (g, OP_LAYERNORM, N, C, 3, in, TRUE);
  msr_real *invstd = alloc_real (g, N, FALSE);
  msr_real *xhat = alloc_real (g, N * C, FALSE);
  for (gsize r = 0; r < N; r++)
    {
      const msr_real *v = x->val + r * C;
      double s = 0, ss = 0;
      for (gsize j = 0; j < C; j++)
        s += v[j];
      double mu = s / C;
      for (gsize j = 0; j < C; j++)
        ss += (v[j] - mu) * (v[j] - mu);
      invstd[r] = (msr_real) (1.0 / sqrt (ss / C + eps));
      for (gsize j = 0; j < C; j++)
        {
          msr_real h = (msr_real) ((v[j] - mu) * invstd[r]);
          xhat[r * C + j] = h;
          out->val[r * C + j] = (gamma ? gamma->val[j] : 1) * h + (beta ? beta->val[j] : 0);
        }
    }
  out->aux[0] = invstd;
  out->aux[1] = xhat;
  return out;
}

/* ---- mixtures and the loss ------------------------------------------------- */

MsrNode *
msr_g_mix (MsrGraph *g, MsrNode *gate, MsrNode *const *experts, guint k)
{
  g_return_val_if_fail (gate->cols == k, NULL);
  const gsize R = gate->rows, C = experts[0]->cols;
  MsrNode **in = g_newa (MsrNode *, k + 1);
  in[0] = gate;
  for (guint e = 0; e < k; e++)
    {
      g_return_val_if_fail (experts[e]->rows == R && experts[e]->cols == C, NULL);
      in[e + 1] = experts[e];
    }
  MsrNode *out = node_new (g, OP_MIX, R, C, k + 1, in, FALSE);
  out->val = alloc_real (g, R * C, TRUE);
  for (guint e = 0; e < k; e++)
    for (gsize r = 0; r < R; r++)
      {
        const msr_real w = gate->val[r * k + e];
        const msr_real *src = experts[e]->val + r * C;
        msr_real *dst = out->val + r * C;
        for (gsize j = 0; j < C; j++)
          dst[j] += w * src[j];
      }
  return out;
}

static inline double
softplus (double z)
{
  return (z > 0 ? z : 0) + log1p (exp (-fabs (z)));
}

MsrNode *
msr_g_bce_logits (MsrGraph *g, MsrNode *z, const guint8 *labels, double divisor)
{
  g_return_val_if_fail (z->cols == 1 && divisor > 0, NULL);
  MsrNode *out = node_new (g, OP_BCE, 1, 1, 1, &z, TRUE);
  out->aux[0] = arena_copy (g, labels, z->rows);
  out->scalar = divisor;
  double sum = 0;
  for (gsize i = 0; i < z->rows; i++)
    sum += softplus (z->val[i]) - (labels[i] ? z->val[i] : 0);
  out->val[0] = (msr_real) (sum / divisor);
  return out;
}

/* ---- backward -------------------------------------------------------------- */

static void
backward_node (MsrGraph *g, MsrNode *n)
{
  const msr_real *dy = n->grad;
  const gsize R = n->rows, C = n->cols;
  MsrNode *a = n->n_in > 0 ? n->in[0] : NULL;
  MsrNode *b = n->n_in > 1 ? n->in[1] : NULL;

  switch (n->op)
    {
    case OP_LEAF:
    case OP_PARAM:
      break;

    case OP_STOP:
      /* Only reached when gradients pass through for a check. */
      if (a->grad)
        for (gsize i = 0; i < R * C; i++)
          a->grad[i] += dy[i];
      break;

    case OP_EMBED:
      {
        const gint32 *codes = n->aux[0];
        MsrParam *t = n->param;
        for (gsize i = 0; i < R; i++)
          {
            msr_real *row = t->grad + (gsize) codes[i] * C;
            for (gsize j = 0; j < C; j++)
              row[j] += dy[i * C + j];
            touch_row (t, (guint32) codes[i]);
          }
        break;
      }

    case OP_EMBED_MEAN:
      {
        const gint32 *codes = n->aux[0];
        const guint32 *off = n->aux[1];
        MsrParam *t = n->param;
        for (gsize i = 0; i < R; i++)
          {
            guint32 cnt = off[i + 1] - off[i];
            if (cnt == 0)
              continue;
            msr_real inv = (msr_real) 1 / (msr_real) cnt;
            for (guint32 k = off[i]; k < off[i + 1]; k++)
              {
                msr_real *row = t->grad + (gsize) codes[k] * C;
                for (gsize j = 0; j < C; j++)
                  row[j] += dy[i * C + j] * inv;
                touch_row (t, (guint32) codes[k]);
              }
          }
        break;
      }

    case OP_CONCAT:
      {
        gsize at = 0;
        for (guint p = 0; p < n->n_in; p++)
          {
            MsrNode *in = n->in[p];
            if (in->grad)
              for (gsize r = 0; r < R; r++)
                for (gsize j = 0; j < in->cols; j++)
                  in->grad[r * in->cols + j] += dy[r * C + at + j];
            at += in->cols;
          }
        break;
      }

    case OP_SLICE:
      if (a->grad)
        for (gsize r = 0; r < R; r++)
          for (gsize j = 0; j < C; j++)
            a->grad[r * a->cols + n->start + j] += dy[r * C + j];
      break;

    case OP_GATHER:
      {
        const guint32 *idx = n->aux[0];
        if (a->grad)
          for (gsize i = 0; i < R; i++)
            for (gsize j = 0; j < C; j++)
              a->grad[(gsize) idx[i] * C + j] += dy[i * C + j];
        break;
      }

    case OP_SCATTER:
      {
        const guint32 *const *idx = n->aux[0];
        for (guint p = 0; p < n->n_in; p++)
          {
            MsrNode *in = n->in[p];
            if (in->grad)
              for (gsize i = 0; i < in->rows; i++)
                for (gsize j = 0; j < C; j++)
                  in->grad[i * C + j] += dy[(gsize) idx[p][i] * C + j];
          }
        break;
      }

    case OP_LINEAR:
      {
        MsrNode *x = a, *w = b, *bias = n->n_in > 2 ? n->in[2] : NULL;
        const gsize B = x->rows, O = w->rows, In = w->cols;
        if (B == 0 || O == 0)
          break;
        if (x->grad && In > 0)
          GEMM (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) B, (int) In, (int) O, 1, dy, (int) O,
                w->val, (int) In, 1, x->grad, (int) In);
        if (w->grad && In > 0)
          GEMM (CblasRowMajor, CblasTrans, CblasNoTrans, (int) O, (int) In, (int) B, 1, dy, (int) O,
                x->val, (int) In, 1, w->grad, (int) In);
        if (bias && bias->grad)
          for (gsize r = 0; r < B; r++)
            for (gsize j = 0; j < O; j++)
              bias->grad[j] += dy[r * O + j];
        break;
      }

    case OP_ADD:
      for (guint p = 0; p < 2; p++)
        if (n->in[p]->grad)
          for (gsize i = 0; i < R * C; i++)
            n->in[p]->grad[i] += dy[i];
      break;

    case OP_MUL:
      if (a->grad)
        for (gsize i = 0; i < R * C; i++)
          a->grad[i] += dy[i] * b->val[i];
      if (b->grad)
        for (gsize i = 0; i < R * C; i++)
          b->grad[i] += dy[i] * a->val[i];
      break;

    case OP_SCALE:
      if (a->grad)
        for (gsize i = 0; i < R * C; i++)
          a->grad[i] += (msr_real) (dy[i] * n->scalar);
      break;

    case OP_ADD_ROWVEC:
      if (a->grad)
        for (gsize i = 0; i < R * C; i++)
          a->grad[i] += dy[i];
      if (b->grad)
        for (gsize r = 0; r < R; r++)
          for (gsize j = 0; j < C; j++)
            b->grad[j] += dy[r * C + j];
      break;

    case OP_MUL_ROWVEC:
      for (gsize r = 0; r < R; r++)
        for (gsize j = 0; j < C; j++)
          {
            if (a->grad)
              a->grad[r * C + j] += dy[r * C + j] * b->val[j];
            if (b->grad)
              b->grad[j] += dy[r * C + j] * a->val[r * C + j];
          }
      break;

    case OP_OUTER:
      {
        /* Per row, dy is a P × Q matrix D: da = D·b and db = Dᵀ·a. Plain
         * loops over restrict pointers, so both vectorise. */
        const gsize P = a->cols, Q = b->cols;
        for (gsize r = 0; r < R; r++)
          {
            const msr_real *restrict d = dy + r * P * Q;
            const msr_real *restrict br = b->val + r * Q, *restrict ar = a->val + r * P;
            if (a->grad)
              {
                msr_real *restrict ga = a->grad + r * P;
                for (gsize t = 0; t < P; t++)
                  {
                    msr_real dot = 0;
                    for (gsize j = 0; j < Q; j++)
                      dot += d[t * Q + j] * br[j];
                    ga[t] += dot;
                  }
              }
            if (b->grad)
              {
                msr_real *restrict gb = b->grad + r * Q;
                for (gsize t = 0; t < P; t++)
                  {
                    const msr_real at = ar[t];
                    for (gsize j = 0; j < Q; j++)
                      gb[j] += d[t * Q + j] * at;
                  }
              }
          }
        break;
      }

    case OP_META_GEN:
      {
        MsrNode *q = a, *gen = b, *base = n->n_in > 2 ? n->in[2] : NULL;
        const gsize G = q->rows, Dq = q->cols, O = gen->rows, In = gen->cols / Dq;
        if (base && base->grad)
          for (gsize k = 0; k < G; k++)
            {
              const msr_real *restrict d = dy + k * O * In;
              msr_real *restrict gb = base->grad;
              for (gsize j = 0; j < O * In; j++)
                gb[j] += d[j];
            }
        if (G == 0 || In == 0)
          break;
        /* Per output unit o, D_o = the G × in block of dy: dq += D_o·gen[o]ᵀ,
         * dgen[o] += qᵀ·D_o. */
        for (gsize o = 0; o < O; o++)
          {
            if (q->grad)
              GEMM (CblasRowMajor, CblasNoTrans, CblasTrans, (int) G, (int) Dq, (int) In, 1, dy + o * In,
                    (int) (O * In), gen->val + o * Dq * In, (int) In, 1, q->grad, (int) Dq);
            if (gen->grad)
              GEMM (CblasRowMajor, CblasTrans, CblasNoTrans, (int) Dq, (int) In, (int) G, 1, q->val, (int) Dq,
                    dy + o * In, (int) (O * In), 1, gen->grad + o * Dq * In, (int) In);
          }
        break;
      }

    case OP_GROUPED_LINEAR:
      {
        MsrNode *x = a, *w = b, *bias = n->n_in > 2 ? n->in[2] : NULL;
        const Grouping *gr = n->aux[0];
        const gsize G = w->rows, In = x->cols, O = C;
        msr_real *xs = NULL, *ds = NULL, *dxs = NULL;
        if (gr->big)
          {
            xs = alloc_real (g, gr->big * In, FALSE);
            ds = alloc_real (g, gr->big * O, FALSE);
            dxs = alloc_real (g, gr->big * In, FALSE);
          }
        for (gsize k = 0; k < G; k++)
          {
            const guint32 *rows = gr->perm + gr->off[k];
            const gsize m = gr->off[k + 1] - gr->off[k];
            const msr_real *wk = w->val + k * O * In;
            msr_real *dwk = w->grad ? w->grad + k * O * In : NULL;
            if (m == 0)
              continue;
            if (m >= GROUP_GEMM_ROWS)
              {
                const msr_real *xk = gather (x->val, In, rows, m, xs);
                const msr_real *dk = gather (dy, O, rows, m, ds);
                const gboolean in_place = dk != ds;
                if (x->grad)
                  {
                    /* Consecutive rows accumulate in place; others through dxs. */
                    msr_real *dx = in_place ? x->grad + (gsize) rows[0] * In : dxs;
                    GEMM (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) m, (int) In, (int) O, 1, dk, (int) O,
                          wk, (int) In, in_place ? 1 : 0, dx, (int) In);
                    if (!in_place)
                      for (gsize i = 0; i < m; i++)
                        {
                          msr_real *restrict gx = x->grad + (gsize) rows[i] * In;
                          const msr_real *restrict s = dxs + i * In;
                          for (gsize j = 0; j < In; j++)
                            gx[j] += s[j];
                        }
                  }
                if (dwk)
                  GEMM (CblasRowMajor, CblasTrans, CblasNoTrans, (int) O, (int) In, (int) m, 1, dk, (int) O, xk,
                        (int) In, 1, dwk, (int) In);
              }
            else
              for (gsize i = 0; i < m; i++)
                {
                  const gsize r = rows[i];
                  if (x->grad)
                    GEMV (CblasRowMajor, CblasTrans, (int) O, (int) In, 1, wk, (int) In, dy + r * O, 1, 1,
                          x->grad + r * In, 1);
                  if (dwk)
                    GER (CblasRowMajor, (int) O, (int) In, 1, dy + r * O, 1, x->val + r * In, 1, dwk, (int) In);
                }
            if (bias && bias->grad)
              for (gsize i = 0; i < m; i++)
                {
                  msr_real *restrict gb = bias->grad + k * O;
                  const msr_real *restrict d = dy + (gsize) rows[i] * O;
                  for (gsize j = 0; j < O; j++)
                    gb[j] += d[j];
                }
          }
        break;
      }

    case OP_MUL_COLVEC:
      for (gsize r = 0; r < R; r++)
        for (gsize j = 0; j < C; j++)
          {
            if (a->grad)
              a->grad[r * C + j] += dy[r * C + j] * b->val[r];
            if (b->grad)
              b->grad[r] += dy[r * C + j] * a->val[r * C + j];
          }
      break;

    case OP_RELU:
      if (a->grad)
        {
          const msr_real *restrict v = a->val, *restrict d = dy;
          msr_real *restrict gr = a->grad;
          const gsize n = R * C;
          for (gsize i = 0; i < n; i++)
            gr[i] += v[i] > 0 ? d[i] : 0;
        }
      break;

    case OP_SIGMOID:
      if (a->grad)
        for (gsize i = 0; i < R * C; i++)
          a->grad[i] += dy[i] * n->val[i] * (1 - n->val[i]);
      break;

    case OP_TANH:
      if (a->grad)
        for (gsize i = 0; i < R * C; i++)
          a->grad[i] += dy[i] * (1 - n->val[i] * n->val[i]);
      break;

    case OP_SOFTMAX:
      if (a->grad)
        for (gsize r = 0; r < R; r++)
          {
            const msr_real *y = n->val + r * C, *d = dy + r * C;
            double dot = 0;
            for (gsize j = 0; j < C; j++)
              dot += d[j] * y[j];
            for (gsize j = 0; j < C; j++)
              a->grad[r * C + j] += (msr_real) (y[j] * (d[j] - dot));
          }
      break;

    case OP_DROPOUT:
      if (a->grad)
        {
          const msr_real *mask = n->aux[0];
          for (gsize i = 0; i < R * C; i++)
            a->grad[i] += dy[i] * mask[i];
        }
      break;

    case OP_BATCHNORM:
      {
        MsrNode *gamma = n->in[1], *beta = n->in[2];
        const msr_real *invstd = n->aux[0], *xhat = n->aux[1];
        double *sum_dy = arena_alloc (&g->arena, C * sizeof (double), TRUE);
        double *sum_dy_xhat = arena_alloc (&g->arena, C * sizeof (double), TRUE);
        for (gsize r = 0; r < R; r++)
          {
            const msr_real *restrict d = dy + r * C, *restrict h = xhat + r * C;
            for (gsize j = 0; j < C; j++)
              {
                sum_dy[j] += d[j];
                sum_dy_xhat[j] += d[j] * h[j];
              }
          }
        for (gsize j = 0; j < C; j++)
          {
            if (gamma && gamma->grad)
              gamma->grad[j] += (msr_real) sum_dy_xhat[j];
            if (beta && beta->grad)
              beta->grad[j] += (msr_real) sum_dy[j];
          }
        if (!a->grad)
          break;
        /* dx = γ·invstd·dy, less (with batch statistics) the mean parts. */
        msr_real *k = alloc_real (g, C, FALSE), *m1 = alloc_real (g, C, FALSE), *m2 = alloc_real (g, C, FALSE);
        for (gsize j = 0; j < C; j++)
          {
            const double gm = gamma ? gamma->val[j] : 1.0;
            k[j] = (msr_real) (gm * invstd[j]);
            m1[j] = n->flag ? (msr_real) (sum_dy[j] / R) : 0;
            m2[j] = n->flag ? (msr_real) (sum_dy_xhat[j] / R) : 0;
          }
        for (gsize r = 0; r < R; r++)
          {
            const msr_real *restrict d = dy + r * C, *restrict h = xhat + r * C;
            msr_real *restrict gr = a->grad + r * C;
            for (gsize j = 0; j < C; j++)
              gr[j] += k[j] * (d[j] - m1[j] - h[j] * m2[j]);
          }
        break;
      }

    case OP_LAYERNORM:
      {
        MsrNode *gamma = n->in[1], *beta = n->in[2];
        const msr_real *invstd = n->aux[0], *xhat = n->aux[1];
        for (gsize r = 0; r < R; r++)
          {
            double s1 = 0, s2 = 0;
            for (gsize j = 0; j < C; j++)
              {
                const double dxh = dy[r * C + j] * (gamma ? gamma->val[j] : 1);
                s1 += dxh;
                s2 += dxh * xhat[r * C + j];
                if (gamma && gamma->grad)
                  gamma->grad[j] += dy[r * C + j] * xhat[r * C + j];
                if (beta && beta->grad)
                  beta->grad[j] += dy[r * C + j];
              }
            if (a->grad)
              for (gsize j = 0; j < C; j++)
                {
                  const double dxh = dy[r * C + j] * (gamma ? gamma->val[j] : 1);
                  a->grad[r * C + j] += (msr_real) (invstd[r] / C * (C * dxh - s1 - xhat[r * C + j] * s2));
                }
          }
        break;
      }

    case OP_MIX:
      {
        MsrNode *gate = n->in[0];
        const guint k = n->n_in - 1;
        for (guint e = 0; e < k; e++)
          {
            MsrNode *ex = n->in[e + 1];
            for (gsize r = 0; r < R; r++)
              {
                const msr_real *d = dy + r * C;
                if (gate->grad)
                  {
                    double dot = 0;
                    for (gsize j = 0; j < C; j++)
                      dot += d[j] * ex->val[r * C + j];
                    gate->grad[r * k + e] += (msr_real) dot;
                  }
                if (ex->grad)
                  {
                    const msr_real w = gate->val[r * k + e];
                    for (gsize j = 0; j < C; j++)
                      ex->grad[r * C + j] += w * d[j];
                  }
              }
          }
        break;
      }

    case OP_BCE:
      if (a->grad)
        {
          const guint8 *y = n->aux[0];
          const double scale = dy[0] / n->scalar;
          for (gsize i = 0; i < a->rows; i++)
            a->grad[i] += (msr_real) ((sigmoid (a->val[i]) - (y[i] ? 1 : 0)) * scale);
        }
      break;
    }
}

void
msr_graph_backward (MsrGraph *g, MsrNode *loss)
{
  g_return_if_fail (loss->rows == 1 && loss->cols == 1);

  for (guint i = 0; i < g->nodes->len; i++)
    {
      MsrNode *n = g_ptr_array_index (g->nodes, i);
      if (!n->needs_grad || n->grad)
        continue;
      n->grad = n->op == OP_PARAM ? n->param->grad + n->start : alloc_real (g, n->rows * n->cols, TRUE);
    }
  if (loss->grad == NULL)
    return;
  loss->grad[0] += 1;
  for (guint i = g->nodes->len; i-- > 0;)
    {
      MsrNode *n = g_ptr_array_index (g->nodes, i);
      if (n->grad && n->op != OP_PARAM)
        backward_node (g, n);
    }
}

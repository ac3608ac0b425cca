/* msr-arch-moe.c: MMoE with one gate per scenario and PLE, multi-level CGC
 * (method spec 3.4 and 3.5; the reference-code pitfalls of §9 avoided:
 * every tower uses its own scenario's gate, the shared-expert count is its
 * own setting, and gates are plain Linear + softmax without BatchNorm). */
#include "config.h"
#include "msr-model-private.h"

/* ---- MMoE: experts.<k>.*, gates.<s>.{weight,bias}, towers.<s>.* ----------- */

typedef struct {
  guint     k, n;
  MsrMlp   *experts;
  MsrParam **gate_w, **gate_b;
  MsrMlp   *towers;
} Mmoe;

static void
mmoe_free (gpointer data)
{
  Mmoe *d = data;
  g_free (d->experts);
  g_free (d->gate_w);
  g_free (d->gate_b);
  g_free (d->towers);
  g_free (d);
}

static gboolean
mmoe_build (MsrModel *m, MsrRng *rng, GError **error)
{
  Mmoe *d = g_new0 (Mmoe, 1);
  m->arch = d;
  m->arch_free = mmoe_free;
  d->n = m->n_scenarios;
  d->k = m->cfg.n_experts ? m->cfg.n_experts : m->n_scenarios;
  d->experts = g_new0 (MsrMlp, d->k);
  d->gate_w = g_new0 (MsrParam *, d->n);
  d->gate_b = g_new0 (MsrParam *, d->n);
  d->towers = g_new0 (MsrMlp, d->n);
  for (guint e = 0; e < d->k; e++)
    msr_mlp_build (m, &d->experts[e], rng, m->d0, &m->cfg.hidden, FALSE, "experts.%u", e);
  for (guint s = 0; s < d->n; s++)
    msr_model_add_linear (m, rng, m->d0, d->k, &d->gate_w[s], &d->gate_b[s], "gates.%u", s);
  for (guint s = 0; s < d->n; s++)
    msr_mlp_build (m, &d->towers[s], rng, msr_mlp_out_dim (&d->experts[0]), &m->cfg.tower, TRUE, "towers.%u", s);
  return TRUE;
}

static MsrNode *
mmoe_repr (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrForward *f)
{
  Mmoe *d = m->arch;
  MsrNode *x = f->x = msr_model_input (m, g, b);
  MsrNode **experts = g_newa (MsrNode *, d->k);
  MsrNode **picked = g_newa (MsrNode *, d->k);
  MsrNode **hs = g_newa (MsrNode *, d->n);
  MsrNode **gs = g_newa (MsrNode *, d->n);

  for (guint e = 0; e < d->k; e++)
    experts[e] = msr_mlp_hidden (m, g, &d->experts[e], x);
  for (guint s = 0; s < d->n; s++)
    {
      hs[s] = gs[s] = NULL;
      const gsize n = b->routing.count[s];
      if (n == 0)
        continue;
      const guint32 *idx = b->routing.idx[s];
      /* Only scenario s's gate is needed for its rows. */
      MsrNode *xs = msr_g_gather_rows (g, x, idx, n);
      gs[s] = msr_g_softmax (g, msr_g_linear (g, xs, msr_g_param (g, d->gate_w[s]), msr_g_param (g, d->gate_b[s])));
      for (guint e = 0; e < d->k; e++)
        picked[e] = msr_g_gather_rows (g, experts[e], idx, n);
      hs[s] = msr_g_mix (g, gs[s], picked, d->k);
    }
  f->gates = msr_model_scatter_scenarios (g, b, gs);
  return msr_model_scatter_scenarios (g, b, hs);
}

static MsrNode *
mmoe_head (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrForward *f, MsrNode *h)
{
  return msr_model_route_heads (m, g, b, h, msr_arch_tower_head, ((Mmoe *) m->arch)->towers);
}

static guint
mmoe_repr_dim (MsrModel *m)
{
  return msr_mlp_out_dim (&((Mmoe *) m->arch)->experts[0]);
}

static double
mmoe_flops (MsrModel *m)
{
  Mmoe *d = m->arch;
  return d->k * msr_mlp_flops (&d->experts[0]) + (double) m->d0 * d->k +
         d->k * (double) mmoe_repr_dim (m) + msr_mlp_flops (&d->towers[0]);
}

const MsrArchClass msr_arch_mmoe = {
  MSR_ARCH_MMOE, "mmoe", mmoe_build, mmoe_repr, mmoe_head, mmoe_repr_dim, mmoe_flops,
};

/* ---- PLE: levels.<l>.{specific.<s>.<j>, shared.<j>, gates.<s>, shared_gate},
 *      towers.<s> ----------------------------------------------------------- */

typedef struct {
  guint     levels, n, ms, mc;
  MsrMlp   *specific;    /* levels × n × ms */
  MsrMlp   *shared;      /* levels × mc */
  MsrParam **gate_w, **gate_b;            /* levels × n */
  MsrParam **sgate_w, **sgate_b;          /* levels (the last unused) */
  MsrMlp   *towers;
} Ple;

#define SPEC(d, l, s, j) (&(d)->specific[((l) * (d)->n + (s)) * (d)->ms + (j)])
#define SHARED(d, l, j) (&(d)->shared[(l) * (d)->mc + (j)])

static void
ple_free (gpointer data)
{
  Ple *d = data;
  g_free (d->specific);
  g_free (d->shared);
  g_free (d->gate_w);
  g_free (d->gate_b);
  g_free (d->sgate_w);
  g_free (d->sgate_b);
  g_free (d->towers);
  g_free (d);
}

static gboolean
ple_build (MsrModel *m, MsrRng *rng, GError **error)
{
  Ple *d = g_new0 (Ple, 1);
  m->arch = d;
  m->arch_free = ple_free;
  d->levels = m->cfg.ple_levels;
  d->n = m->n_scenarios;
  d->ms = m->cfg.ple_specific;
  d->mc = m->cfg.ple_shared;
  d->specific = g_new0 (MsrMlp, MAX (d->levels * d->n * d->ms, 1));
  d->shared = g_new0 (MsrMlp, MAX (d->levels * d->mc, 1));
  d->gate_w = g_new0 (MsrParam *, d->levels * d->n);
  d->gate_b = g_new0 (MsrParam *, d->levels * d->n);
  d->sgate_w = g_new0 (MsrParam *, d->levels);
  d->sgate_b = g_new0 (MsrParam *, d->levels);
  d->towers = g_new0 (MsrMlp, d->n);

  const guint width = m->cfg.hidden.dims[m->cfg.hidden.n - 1];
  for (guint l = 0; l < d->levels; l++)
    {
      const guint in = l == 0 ? m->d0 : width;
      for (guint s = 0; s < d->n; s++)
        for (guint j = 0; j < d->ms; j++)
          msr_mlp_build (m, SPEC (d, l, s, j), rng, in, &m->cfg.hidden, FALSE, "levels.%u.specific.%u.%u", l, s, j);
      for (guint j = 0; j < d->mc; j++)
        msr_mlp_build (m, SHARED (d, l, j), rng, in, &m->cfg.hidden, FALSE, "levels.%u.shared.%u", l, j);
      for (guint s = 0; s < d->n; s++)
        msr_model_add_linear (m, rng, in, d->ms + d->mc, &d->gate_w[l * d->n + s], &d->gate_b[l * d->n + s],
                              "levels.%u.gates.%u", l, s);
      if (l + 1 < d->levels)
        msr_model_add_linear (m, rng, in, d->n * d->ms + d->mc, &d->sgate_w[l], &d->sgate_b[l],
                              "levels.%u.shared_gate", l);
    }
  for (guint s = 0; s < d->n; s++)
    msr_mlp_build (m, &d->towers[s], rng, width, &m->cfg.tower, TRUE, "towers.%u", s);
  return TRUE;
}

static MsrNode *
gate (MsrGraph *g, MsrNode *in, MsrParam *w, MsrParam *b)
{
  return msr_g_softmax (g, msr_g_linear (g, in, msr_g_param (g, w), msr_g_param (g, b)));
}

static MsrNode *
ple_repr (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrForward *f)
{
  Ple *d = m->arch;
  MsrNode *x = f->x = msr_model_input (m, g, b);
  MsrNode **u = g_newa (MsrNode *, d->n);       /* scenario streams, all rows */
  MsrNode *uc = x;                             /* the shared stream */
  MsrNode **spec = g_newa (MsrNode *, d->n * d->ms);
  MsrNode **shared = g_newa (MsrNode *, MAX (d->mc, 1));
  MsrNode **pool = g_newa (MsrNode *, d->n * d->ms + d->mc);
  MsrNode **hs = g_newa (MsrNode *, d->n);
  MsrNode **gs = g_newa (MsrNode *, d->n);

  for (guint s = 0; s < d->n; s++)
    u[s] = x;
  for (guint l = 0; l < d->levels; l++)
    {
      for (guint j = 0; j < d->mc; j++)
        shared[j] = msr_mlp_hidden (m, g, SHARED (d, l, j), uc);

      if (l + 1 < d->levels)
        {
          /* Inner levels run every stream on every row: the shared gate
           * mixes all experts for all rows. */
          for (guint s = 0; s < d->n; s++)
            for (guint j = 0; j < d->ms; j++)
              spec[s * d->ms + j] = msr_mlp_hidden (m, g, SPEC (d, l, s, j), u[s]);
          MsrNode **next = g_newa (MsrNode *, d->n);
          for (guint s = 0; s < d->n; s++)
            {
              for (guint j = 0; j < d->ms; j++)
                pool[j] = spec[s * d->ms + j];
              for (guint j = 0; j < d->mc; j++)
                pool[d->ms + j] = shared[j];
              next[s] = msr_g_mix (g, gate (g, u[s], d->gate_w[l * d->n + s], d->gate_b[l * d->n + s]),
                                   pool, d->ms + d->mc);
            }
          for (guint j = 0; j < d->n * d->ms; j++)
            pool[j] = spec[j];
          for (guint j = 0; j < d->mc; j++)
            pool[d->n * d->ms + j] = shared[j];
          uc = msr_g_mix (g, gate (g, uc, d->sgate_w[l], d->sgate_b[l]), pool, d->n * d->ms + d->mc);
          for (guint s = 0; s < d->n; s++)
            u[s] = next[s];
          continue;
        }

      /* The last level: only each row's own scenario stream is needed. */
      for (guint s = 0; s < d->n; s++)
        {
          hs[s] = gs[s] = NULL;
          const gsize n = b->routing.count[s];
          if (n == 0)
            continue;
          const guint32 *idx = b->routing.idx[s];
          MsrNode *us = msr_g_gather_rows (g, u[s], idx, n);
          for (guint j = 0; j < d->ms; j++)
            pool[j] = msr_mlp_hidden (m, g, SPEC (d, l, s, j), us);
          for (guint j = 0; j < d->mc; j++)
            pool[d->ms + j] = msr_g_gather_rows (g, shared[j], idx, n);
          gs[s] = gate (g, us, d->gate_w[l * d->n + s], d->gate_b[l * d->n + s]);
          hs[s] = msr_g_mix (g, gs[s], pool, d->ms + d->mc);
        }
    }
  f->gates = msr_model_scatter_scenarios (g, b, gs);
  return msr_model_scatter_scenarios (g, b, hs);
}

static MsrNode *
ple_head (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrForward *f, MsrNode *h)
{
  return msr_model_route_heads (m, g, b, h, msr_arch_tower_head, ((Ple *) m->arch)->towers);
}

static guint
ple_repr_dim (MsrModel *m)
{
  return m->cfg.hidden.dims[m->cfg.hidden.n - 1];
}

static double
ple_flops (MsrModel *m)
{
  Ple *d = m->arch;
  double f = 0;
  for (guint l = 0; l < d->levels; l++)
    {
      const double in = l == 0 ? m->d0 : ple_repr_dim (m);
      const gboolean last = l + 1 == d->levels;
      f += (last ? d->ms : d->n * d->ms) * msr_mlp_flops (SPEC (d, l, 0, 0)) * (d->ms ? 1 : 0);
      f += d->mc * (d->mc ? msr_mlp_flops (SHARED (d, l, 0)) : 0);
      f += (last ? 1 : d->n) * in * (d->ms + d->mc);
      if (!last)
        f += in * (d->n * d->ms + d->mc);
    }
  return f + msr_mlp_flops (&d->towers[0]);
}

const MsrArchClass msr_arch_ple = {
  MSR_ARCH_PLE, "ple", ple_build, ple_repr, ple_head, ple_repr_dim, ple_flops,
};

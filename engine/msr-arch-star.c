/* msr-arch-star.c: STAR (method spec 3.6): partitioned normalisation, a
 * star-topology network whose effective weights are W ⊙ W_s and b + b_s,
 * and an auxiliary network whose logit is added. Unlike the reference code
 * (§9), normalisation uses each scenario's running moments at evaluation,
 * every scenario slot is initialised, no BN/ReLU follows the 1-unit layer,
 * and biases start at 0. */
#include "config.h"
#include "msr-model-private.h"

#include <math.h>

#define PN_MOMENTUM 0.1
#define PN_EPS 1e-5

/* pn.{weight,bias,scenario_weight,scenario_bias,running_mean,running_var,
 * num_batches_tracked}, star.<l>.{weight,bias,scenario_weight,scenario_bias},
 * aux.* */
typedef struct {
  guint     n, layers;          /* layers = hidden + the final 1-unit layer */
  MsrParam *pn_w, *pn_b, *pn_sw, *pn_sb, *pn_mean, *pn_var, *pn_count;
  MsrParam *w[MSR_MAX_LAYERS + 1], *b[MSR_MAX_LAYERS + 1];
  MsrParam *sw[MSR_MAX_LAYERS + 1], *sb[MSR_MAX_LAYERS + 1];
  MsrMlp    aux;
} Star;

static gboolean
star_build (MsrModel *m, MsrRng *rng, GError **error)
{
  Star *d = g_new0 (Star, 1);
  m->arch = d;
  m->arch_free = g_free;
  d->n = m->n_scenarios;
  const gint64 S = d->n, D = m->d0;
  const gint64 v[1] = { D }, sv[2] = { S, D }, sc[1] = { S };

  d->pn_w = msr_model_add_param (m, MSR_PARAM_TRAINABLE | MSR_PARAM_NO_DECAY, 1, v, "pn.weight");
  d->pn_b = msr_model_add_param (m, MSR_PARAM_TRAINABLE | MSR_PARAM_NO_DECAY, 1, v, "pn.bias");
  d->pn_sw = msr_model_add_param (m, MSR_PARAM_TRAINABLE | MSR_PARAM_NO_DECAY, 2, sv, "pn.scenario_weight");
  d->pn_sb = msr_model_add_param (m, MSR_PARAM_TRAINABLE | MSR_PARAM_NO_DECAY, 2, sv, "pn.scenario_bias");
  d->pn_mean = msr_model_add_param (m, MSR_PARAM_BUFFER, 2, sv, "pn.running_mean");
  d->pn_var = msr_model_add_param (m, MSR_PARAM_BUFFER, 2, sv, "pn.running_var");
  d->pn_count = msr_model_add_param (m, MSR_PARAM_BUFFER | MSR_PARAM_COUNTER, 1, sc, "pn.num_batches_tracked");
  msr_param_init_constant (d->pn_w, 1);
  msr_param_init_constant (d->pn_sw, 1);
  msr_param_init_constant (d->pn_var, 1);

  d->layers = m->cfg.hidden.n + 1;
  guint in = m->d0;
  for (guint l = 0; l < d->layers; l++)
    {
      const guint out = l < m->cfg.hidden.n ? m->cfg.hidden.dims[l] : 1;
      const gint64 ws[2] = { out, in }, bs[1] = { out }, sws[3] = { S, out, in }, sbs[2] = { S, out };
      d->w[l] = msr_model_add_param (m, MSR_PARAM_TRAINABLE, 2, ws, "star.%u.weight", l);
      msr_param_init_uniform (d->w[l], 1.0 / sqrt (in), rng);
      d->b[l] = msr_model_add_param (m, MSR_PARAM_TRAINABLE | MSR_PARAM_NO_DECAY, 1, bs, "star.%u.bias", l);
      d->sw[l] = msr_model_add_param (m, MSR_PARAM_TRAINABLE, 3, sws, "star.%u.scenario_weight", l);
      msr_param_init_constant (d->sw[l], 1);
      d->sb[l] = msr_model_add_param (m, MSR_PARAM_TRAINABLE | MSR_PARAM_NO_DECAY, 2, sbs, "star.%u.scenario_bias", l);
      in = out;
    }
  msr_mlp_build (m, &d->aux, rng, m->cfg.star_aux_full_input ? m->d0 : m->cfg.embed_dim, &m->cfg.aux, TRUE, "aux");
  return TRUE;
}

/* Layer l of the star network for scenario s: W ⊙ W_s, b + b_s. */
static MsrNode *
star_layer (MsrGraph *g, Star *d, guint l, guint s, MsrNode *a)
{
  MsrNode *w = msr_g_mul (g, msr_g_param (g, d->w[l]), msr_g_param_slice (g, d->sw[l], s));
  MsrNode *b = msr_g_add (g, msr_g_param (g, d->b[l]), msr_g_param_slice (g, d->sb[l], s));
  return msr_g_linear (g, a, w, b);
}

static MsrNode *
star_repr (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrForward *f)
{
  Star *d = m->arch;
  const gsize D = m->d0;
  MsrNode *x = f->x = msr_model_input (m, g, b);
  MsrNode **hs = g_newa (MsrNode *, d->n);

  for (guint s = 0; s < d->n; s++)
    {
      hs[s] = NULL;
      const gsize n = b->routing.count[s];
      if (n == 0)
        continue;
      /* Partitioned normalisation: the scenario's own batch moments. */
      MsrNode *xs = msr_g_gather_rows (g, x, b->routing.idx[s], n);
      MsrNode *a = msr_g_batchnorm (g, xs, NULL, NULL, d->pn_mean->value + s * D, d->pn_var->value + s * D,
                                    d->pn_count->value + s, PN_MOMENTUM, PN_EPS);
      MsrNode *gamma = msr_g_mul (g, msr_g_param (g, d->pn_w), msr_g_param_slice (g, d->pn_sw, s));
      MsrNode *beta = msr_g_add (g, msr_g_param (g, d->pn_b), msr_g_param_slice (g, d->pn_sb, s));
      a = msr_g_add_rowvec (g, msr_g_mul_rowvec (g, a, gamma), beta);
      for (guint l = 0; l + 1 < d->layers; l++)
        a = msr_g_dropout (g, msr_g_relu (g, star_layer (g, d, l, s, a)), m->cfg.dropout);
      hs[s] = a;
    }
  return msr_model_scatter_scenarios (g, b, hs);
}

static MsrNode *
star_last_layer (MsrModel *m, MsrGraph *g, guint s, MsrNode *h_s, gpointer data)
{
  Star *d = m->arch;
  return star_layer (g, d, d->layers - 1, s, h_s);
}

static MsrNode *
star_head (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrForward *f, MsrNode *h)
{
  Star *d = m->arch;
  MsrNode *main = msr_model_route_heads (m, g, b, h, star_last_layer, NULL);
  MsrNode *aux_in = m->cfg.star_aux_full_input ? f->x : msr_model_scenario_embedding (m, g, b);
  MsrNode *aux = msr_mlp_out (g, &d->aux, msr_mlp_hidden (m, g, &d->aux, aux_in));
  return msr_g_add (g, main, aux);
}

static guint
star_repr_dim (MsrModel *m)
{
  return m->cfg.hidden.dims[m->cfg.hidden.n - 1];
}

static double
star_flops (MsrModel *m)
{
  Star *d = m->arch;
  double f = 0;
  guint in = m->d0;
  for (guint l = 0; l < d->layers; l++)
    {
      const guint out = l < m->cfg.hidden.n ? m->cfg.hidden.dims[l] : 1;
      f += (double) in * out;
      in = out;
    }
  return f + msr_mlp_flops (&d->aux);
}

const MsrArchClass msr_arch_star = {
  MSR_ARCH_STAR, "star", star_build, star_repr, star_head, star_repr_dim, star_flops,
};

/* msr-arch-pepnet.c: PEPNet (method spec 3.7). EPNet scales the input by a
 * Gate NU of the scenario embedding and the (stop-gradient) input; PPNet
 * towers, one per scenario, scale every hidden layer by a Gate NU of the
 * user and item id embeddings and the stop-gradient EPNet output. Towers
 * start from the EPNet output, not from the gate input (§9). */
#include "config.h"
#include "msr-model-private.h"

/* Gate NU: γ·σ(fc2(ReLU(fc1(c)))), outputs in (0, γ). */
typedef struct {
  MsrParam *w1, *b1, *w2, *b2;
} GateNu;

static void
gate_build (MsrModel *m, GateNu *gn, MsrRng *rng, guint in, guint out, const char *prefix)
{
  msr_model_add_linear (m, rng, in, m->cfg.gate_hidden, &gn->w1, &gn->b1, "%s.fc1", prefix);
  msr_model_add_linear (m, rng, m->cfg.gate_hidden, out, &gn->w2, &gn->b2, "%s.fc2", prefix);
}

static MsrNode *
gate_forward (MsrModel *m, MsrGraph *g, const GateNu *gn, MsrNode *c)
{
  MsrNode *a = msr_g_relu (g, msr_g_linear (g, c, msr_g_param (g, gn->w1), msr_g_param (g, gn->b1)));
  a = msr_g_linear (g, a, msr_g_param (g, gn->w2), msr_g_param (g, gn->b2));
  return msr_g_scale (g, msr_g_sigmoid (g, a), m->cfg.gate_gamma);
}

/* epnet.{fc1,fc2}, ppnet.<s>.{linears.<l>, gates.<l>.{fc1,fc2}, out} */
typedef struct {
  guint     n, layers;
  GateNu    epnet;
  MsrParam **w, **b;          /* n × layers */
  GateNu   *gates;            /* n × layers */
  MsrParam **out_w, **out_b;  /* n */
} Pepnet;

static void
pepnet_free (gpointer data)
{
  Pepnet *d = data;
  g_free (d->w);
  g_free (d->b);
  g_free (d->gates);
  g_free (d->out_w);
  g_free (d->out_b);
  g_free (d);
}

static gboolean
pepnet_build (MsrModel *m, MsrRng *rng, GError **error)
{
  Pepnet *d = g_new0 (Pepnet, 1);
  m->arch = d;
  m->arch_free = pepnet_free;
  d->n = m->n_scenarios;
  d->layers = m->cfg.hidden.n;
  d->w = g_new0 (MsrParam *, d->n * d->layers);
  d->b = g_new0 (MsrParam *, d->n * d->layers);
  d->gates = g_new0 (GateNu, d->n * d->layers);
  d->out_w = g_new0 (MsrParam *, d->n);
  d->out_b = g_new0 (MsrParam *, d->n);
  const guint e = m->cfg.embed_dim, prior = 2 * e;

  gate_build (m, &d->epnet, rng, e + m->d0, m->d0, "epnet");
  for (guint s = 0; s < d->n; s++)
    {
      guint in = m->d0;
      for (guint l = 0; l < d->layers; l++)
        {
          const guint out = m->cfg.hidden.dims[l];
          g_autofree char *gname = g_strdup_printf ("ppnet.%u.gates.%u", s, l);
          msr_model_add_linear (m, rng, in, out, &d->w[s * d->layers + l], &d->b[s * d->layers + l],
                                "ppnet.%u.linears.%u", s, l);
          gate_build (m, &d->gates[s * d->layers + l], rng, prior + m->d0, out, gname);
          in = out;
        }
      msr_model_add_linear (m, rng, in, 1, &d->out_w[s], &d->out_b[s], "ppnet.%u.out", s);
    }
  return TRUE;
}

static MsrNode *
pepnet_repr (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrForward *f)
{
  Pepnet *d = m->arch;
  MsrNode *x = f->x = msr_model_input (m, g, b);
  MsrNode *parts[2] = { msr_model_scenario_embedding (m, g, b), msr_g_stop_gradient (g, x) };
  MsrNode *delta = gate_forward (m, g, &d->epnet, msr_g_concat (g, parts, 2));
  f->epnet_gate = delta;
  return msr_g_mul (g, delta, x);
}

static MsrNode *
pepnet_head (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrForward *f, MsrNode *h)
{
  Pepnet *d = m->arch;
  MsrNode *ids[2] = { msr_model_field_embedding (m, g, b, m->user_field),
                      msr_model_field_embedding (m, g, b, m->item_field) };
  MsrNode *pparts[2] = { msr_g_concat (g, ids, 2), msr_g_stop_gradient (g, h) };
  MsrNode *gate_in = msr_g_concat (g, pparts, 2);
  MsrNode **zs = g_newa (MsrNode *, d->n);
  MsrNode **means = g_newa (MsrNode *, d->n);

  for (guint s = 0; s < d->n; s++)
    {
      zs[s] = means[s] = NULL;
      const gsize n = b->routing.count[s];
      if (n == 0)
        continue;
      const guint32 *idx = b->routing.idx[s];
      MsrNode *a = msr_g_gather_rows (g, h, idx, n);
      MsrNode *c = msr_g_gather_rows (g, gate_in, idx, n);
      g_autofree msr_real *mean = g_new0 (msr_real, n * d->layers);
      for (guint l = 0; l < d->layers; l++)
        {
          const guint k = s * d->layers + l;
          MsrNode *gl = gate_forward (m, g, &d->gates[k], c);
          a = msr_g_relu (g, msr_g_linear (g, a, msr_g_param (g, d->w[k]), msr_g_param (g, d->b[k])));
          a = msr_g_dropout (g, msr_g_mul (g, gl, a), m->cfg.dropout);
          /* Each row's mean gate per layer, for the internals view. */
          const msr_real *gv = msr_node_value (gl);
          const gsize w = msr_node_cols (gl);
          for (gsize i = 0; i < n; i++)
            {
              double sum = 0;
              for (gsize j = 0; j < w; j++)
                sum += gv[i * w + j];
              mean[i * d->layers + l] = (msr_real) (sum / w);
            }
        }
      zs[s] = msr_g_linear (g, a, msr_g_param (g, d->out_w[s]), msr_g_param (g, d->out_b[s]));
      means[s] = msr_g_constant (g, n, d->layers, mean);
    }
  f->ppnet_gate = msr_model_scatter_scenarios (g, b, means);
  return msr_model_scatter_scenarios (g, b, zs);
}

static guint
pepnet_repr_dim (MsrModel *m)
{
  return m->d0;
}

static double
pepnet_flops (MsrModel *m)
{
  Pepnet *d = m->arch;
  const double e = m->cfg.embed_dim, gh = m->cfg.gate_hidden, D = m->d0;
  double f = (e + D) * gh + gh * D;
  double in = D;
  for (guint l = 0; l < d->layers; l++)
    {
      const double out = m->cfg.hidden.dims[l];
      f += in * out + (2 * e + D) * gh + gh * out;
      in = out;
    }
  return f + in;
}

const MsrArchClass msr_arch_pepnet = {
  MSR_ARCH_PEPNET, "pepnet", pepnet_build, pepnet_repr, pepnet_head, pepnet_repr_dim, pepnet_flops,
};

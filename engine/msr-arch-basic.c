/* msr-arch-basic.c: single-domain DNN (joint and one per scenario) and
 * Shared-Bottom (method spec 3.1 and 3.3). */
#include "config.h"
#include "msr-model-private.h"

/* ---- DNN, joint: dnn.* ------------------------------------------------------ */

typedef struct {
  MsrMlp mlp;
} Dnn;

static gboolean
dnn_build (MsrModel *m, MsrRng *rng, GError **error)
{
  Dnn *d = g_new0 (Dnn, 1);
  m->arch = d;
  m->arch_free = g_free;
  msr_mlp_build (m, &d->mlp, rng, m->d0, &m->cfg.hidden, TRUE, "dnn");
  return TRUE;
}

static MsrNode *
dnn_repr (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrForward *f)
{
  Dnn *d = m->arch;
  f->x = msr_model_input (m, g, b);
  return msr_mlp_hidden (m, g, &d->mlp, f->x);
}

static MsrNode *
dnn_head (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrForward *f, MsrNode *h)
{
  Dnn *d = m->arch;
  return msr_mlp_out (g, &d->mlp, h);
}

static guint
dnn_repr_dim (MsrModel *m)
{
  return msr_mlp_out_dim (&((Dnn *) m->arch)->mlp);
}

static double
dnn_flops (MsrModel *m)
{
  return msr_mlp_flops (&((Dnn *) m->arch)->mlp);
}

const MsrArchClass msr_arch_dnn = {
  MSR_ARCH_DNN, "dnn", dnn_build, dnn_repr, dnn_head, dnn_repr_dim, dnn_flops,
};

/* ---- DNN, one per scenario: scenarios.<s>.{embeddings,dnn}.* ------------------
 * Nothing is shared, not even the embeddings: each scenario's model sees
 * only its own rows, which is the single-domain reference of the seesaw
 * indicators (MTL gain). */

typedef struct {
  guint     n;
  MsrParam **embed;   /* n × n_fields */
  MsrMlp   *mlp;      /* n */
  guint     n_fields;
} DnnSeparate;

static void
dnn_separate_free (gpointer data)
{
  DnnSeparate *d = data;
  g_free (d->embed);
  g_free (d->mlp);
  g_free (d);
}

static gboolean
dnn_separate_build (MsrModel *m, MsrRng *rng, GError **error)
{
  DnnSeparate *d = g_new0 (DnnSeparate, 1);
  m->arch = d;
  m->arch_free = dnn_separate_free;
  d->n = m->n_scenarios;
  d->n_fields = m->n_fields;
  d->embed = g_new0 (MsrParam *, d->n * m->n_fields);
  d->mlp = g_new0 (MsrMlp, d->n);
  for (guint s = 0; s < d->n; s++)
    {
      for (guint f = 0; f < m->n_fields; f++)
        {
          const gint64 shape[2] = { m->fields[f].cardinality, m->cfg.embed_dim };
          MsrParam *p = msr_model_add_param (m, MSR_PARAM_TRAINABLE | MSR_PARAM_SPARSE_ROWS, 2, shape,
                                             "scenarios.%u.embeddings.%s.weight", s, m->field_keys[f]);
          msr_param_init_normal (p, m->cfg.embed_init_std, rng);
          d->embed[s * m->n_fields + f] = p;
        }
      msr_mlp_build (m, &d->mlp[s], rng, m->d0, &m->cfg.hidden, TRUE, "scenarios.%u.dnn", s);
    }
  return TRUE;
}

/* The input of scenario s's rows from s's own tables. */
static MsrNode *
separate_input (MsrModel *m, MsrGraph *g, const MsrBatch *b, guint s)
{
  DnnSeparate *d = m->arch;
  const guint32 *idx = b->routing.idx[s];
  const gsize n = b->routing.count[s];
  MsrNode **parts = g_newa (MsrNode *, m->n_fields + 1);
  guint k = 0;
  for (guint f = 0; f < m->n_fields; f++)
    {
      MsrParam *table = d->embed[s * m->n_fields + f];
      if (m->fields[f].kind == MSR_FIELD_MULTI_HOT)
        {
          g_autofree guint32 *off = g_new (guint32, n + 1);
          gsize total = 0;
          for (gsize i = 0; i < n; i++)
            total += b->offsets[f][idx[i] + 1] - b->offsets[f][idx[i]];
          g_autofree gint32 *codes = g_new (gint32, MAX (total, 1));
          guint32 at = 0;
          off[0] = 0;
          for (gsize i = 0; i < n; i++)
            {
              for (guint32 c = b->offsets[f][idx[i]]; c < b->offsets[f][idx[i] + 1]; c++)
                codes[at++] = b->codes[f][c];
              off[i + 1] = at;
            }
          parts[k++] = msr_g_embedding_mean (g, table, off, codes, n);
        }
      else
        {
          g_autofree gint32 *codes = g_new (gint32, MAX (n, 1));
          for (gsize i = 0; i < n; i++)
            codes[i] = b->codes[f][idx[i]];
          parts[k++] = msr_g_embedding (g, table, codes, n);
        }
    }
  g_assert (!m->cfg.embed_scenario);   /* constant within a scenario: refused at build */
  return msr_g_concat (g, parts, k);
}

static MsrNode *
dnn_separate_repr (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrForward *f)
{
  DnnSeparate *d = m->arch;
  MsrNode **xs = g_newa (MsrNode *, d->n);
  MsrNode **hs = g_newa (MsrNode *, d->n);
  for (guint s = 0; s < d->n; s++)
    {
      xs[s] = hs[s] = NULL;
      if (b->routing.count[s] == 0)
        continue;
      xs[s] = separate_input (m, g, b, s);
      hs[s] = msr_mlp_hidden (m, g, &d->mlp[s], xs[s]);
    }
  f->x = msr_model_scatter_scenarios (g, b, xs);
  return msr_model_scatter_scenarios (g, b, hs);
}

static MsrNode *
separate_out (MsrModel *m, MsrGraph *g, guint s, MsrNode *h_s, gpointer data)
{
  DnnSeparate *d = m->arch;
  return msr_mlp_out (g, &d->mlp[s], h_s);
}

static MsrNode *
dnn_separate_head (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrForward *f, MsrNode *h)
{
  return msr_model_route_heads (m, g, b, h, separate_out, NULL);
}

static guint
dnn_separate_repr_dim (MsrModel *m)
{
  return msr_mlp_out_dim (&((DnnSeparate *) m->arch)->mlp[0]);
}

static double
dnn_separate_flops (MsrModel *m)
{
  return msr_mlp_flops (&((DnnSeparate *) m->arch)->mlp[0]);
}

const MsrArchClass msr_arch_dnn_separate = {
  MSR_ARCH_DNN_SEPARATE, "dnn-separate", dnn_separate_build, dnn_separate_repr, dnn_separate_head,
  dnn_separate_repr_dim, dnn_separate_flops,
};

/* ---- Shared-Bottom: bottom.*, towers.<s>.* ---------------------------------- */

typedef struct {
  MsrMlp  bottom;
  MsrMlp *towers;
  guint   n;
} SharedBottom;

static void
shared_bottom_free (gpointer data)
{
  SharedBottom *d = data;
  g_free (d->towers);
  g_free (d);
}

static gboolean
shared_bottom_build (MsrModel *m, MsrRng *rng, GError **error)
{
  SharedBottom *d = g_new0 (SharedBottom, 1);
  m->arch = d;
  m->arch_free = shared_bottom_free;
  d->n = m->n_scenarios;
  d->towers = g_new0 (MsrMlp, d->n);
  msr_mlp_build (m, &d->bottom, rng, m->d0, &m->cfg.hidden, FALSE, "bottom");
  for (guint s = 0; s < d->n; s++)
    msr_mlp_build (m, &d->towers[s], rng, msr_mlp_out_dim (&d->bottom), &m->cfg.tower, TRUE, "towers.%u", s);
  return TRUE;
}

static MsrNode *
shared_bottom_repr (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrForward *f)
{
  SharedBottom *d = m->arch;
  f->x = msr_model_input (m, g, b);
  return msr_mlp_hidden (m, g, &d->bottom, f->x);
}

MsrNode *
msr_arch_tower_head (MsrModel *m, MsrGraph *g, guint s, MsrNode *h_s, gpointer towers)
{
  const MsrMlp *t = &((const MsrMlp *) towers)[s];
  return msr_mlp_out (g, t, msr_mlp_hidden (m, g, t, h_s));
}

static MsrNode *
shared_bottom_head (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrForward *f, MsrNode *h)
{
  SharedBottom *d = m->arch;
  return msr_model_route_heads (m, g, b, h, msr_arch_tower_head, d->towers);
}

static guint
shared_bottom_repr_dim (MsrModel *m)
{
  return msr_mlp_out_dim (&((SharedBottom *) m->arch)->bottom);
}

static double
shared_bottom_flops (MsrModel *m)
{
  SharedBottom *d = m->arch;
  return msr_mlp_flops (&d->bottom) + msr_mlp_flops (&d->towers[0]);
}

const MsrArchClass msr_arch_shared_bottom = {
  MSR_ARCH_SHARED_BOTTOM, "shared-bottom", shared_bottom_build, shared_bottom_repr, shared_bottom_head,
  shared_bottom_repr_dim, shared_bottom_flops,
};

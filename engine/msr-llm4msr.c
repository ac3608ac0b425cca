/* msr-llm4msr.c: LLM4MSR's hierarchical meta networks on any backbone
 * (method spec §4.3–4.4, our reconstruction where the paper is silent).
 *
 * A meta network G maps a knowledge vector k to a layer (W, b):
 *   q = relu(k·Pᵀ + p0)                      compression to d_q
 *   W[o][i] = base_weight[o][i] + Σ_t q_t · gen_weight[o][t][i]
 *   b[o]    = base_bias[o] + Σ_t q_t · gen_bias[o][t]
 * i.e. vec(W) = q·A + a with A and a laid out as nn.Linear weights. q
 * depends on a key only (the scenario; the user, or the user and the
 * scenario), so a batch generates each layer once per distinct key in it
 * (msr_g_meta_generate) and applies it to that key's rows
 * (msr_g_grouped_linear), as method spec §4.4 says. When nearly every row
 * has a key of its own, generating a layer per key costs what a per-row
 * form does, and that form is used: x·W(q)ᵀ = linear(outer(q, x),
 * gen_weight) + linear(x, base_weight), one GEMM over the rows' outer
 * products. Either way the same numbers, up to float rounding.
 *
 * Placement: h' = relu(h·W_uᵀ + b_u) + h at the bottom of the tower (the
 * user level, G_u reading k_u, or k_u ⊕ k_s), the tower on h', and beside
 * it a scenario branch m_{l+1} = relu(m_l·W_lᵀ + b_l) from m_1 = h' whose
 * last layer maps to one logit, added to the tower's. The knowledge
 * vectors are buffers (frozen), except in the ID-only ablation. */
#include "config.h"
#include "msr-model-private.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#define GEN_INIT_STD 1e-3
#define LOW_RANK 8
#define FULL_RANK_LIMIT 4096

/* One generated layer in → out (full rank), or in → rank → out. */
typedef struct {
  guint     in, out, rank;          /* rank 0 = full */
  MsrParam *compress_w, *compress_b;
  /* full rank */
  MsrParam *gen_w, *base_w;
  /* low rank: x → r (u) → out (v) */
  MsrParam *gen_u, *base_u, *gen_v, *base_v;
  MsrParam *gen_b, *base_b;
} MetaLayer;

typedef struct {
  guint      dim;                   /* d_L */
  guint      H;
  MsrParam  *user_knowledge;        /* U × d_L */
  MsrParam  *user_known;            /* U: 1 when the user has a vector */
  MsrParam  *unknown_user;          /* d_L, learned */
  MsrParam  *scenario_knowledge;    /* S × d_L */
  gboolean   user_level, scenario_level;
  MetaLayer  user;
  guint      n_scen;                /* layers of the scenario branch */
  MetaLayer  scen[MSR_MAX_LAYERS + 1];
  gboolean   use_mean_user;         /* explain: the population's layer for every row */
  msr_real  *mean_q;                /* d_q, while use_mean_user */
  MsrLlm4msrForm form;              /* tests: per key or per row, whatever the batch */
} Meta;

static void
llm4msr_free (gpointer data)
{
  Meta *meta = data;
  if (meta)
    g_free (meta->mean_q);
  g_free (meta);
}

/* Xavier-uniform, as torch.nn.init.xavier_uniform_ on an out × in weight. */
static void
init_xavier (MsrParam *p, guint in, guint out, MsrRng *rng)
{
  msr_param_init_uniform (p, sqrt (6.0 / (in + out)), rng);
}

static void
meta_layer_build (MsrModel *m, MetaLayer *l, MsrRng *rng, guint k_dim, guint in, guint out, guint rank,
                  const char *prefix)
{
  const guint dq = m->cfg.meta_dq;
  l->in = in;
  l->out = out;
  l->rank = rank;
  msr_model_add_linear (m, rng, k_dim, dq, &l->compress_w, &l->compress_b, "%s.compress", prefix);
  const guint T = MSR_PARAM_TRAINABLE;
  if (rank == 0)
    {
      const gint64 gs[3] = { out, dq, in }, bs[2] = { out, in };
      l->gen_w = msr_model_add_param (m, T, 3, gs, "%s.gen_weight", prefix);
      msr_param_init_normal (l->gen_w, GEN_INIT_STD, rng);
      l->base_w = msr_model_add_param (m, T, 2, bs, "%s.base_weight", prefix);
      init_xavier (l->base_w, in, out, rng);
    }
  else
    {
      const gint64 gu[3] = { rank, dq, in }, bu[2] = { rank, in }, gv[3] = { out, dq, rank }, bv[2] = { out, rank };
      l->gen_u = msr_model_add_param (m, T, 3, gu, "%s.gen_u", prefix);
      msr_param_init_normal (l->gen_u, GEN_INIT_STD, rng);
      l->base_u = msr_model_add_param (m, T, 2, bu, "%s.base_u", prefix);
      init_xavier (l->base_u, in, rank, rng);
      l->gen_v = msr_model_add_param (m, T, 3, gv, "%s.gen_v", prefix);
      msr_param_init_normal (l->gen_v, GEN_INIT_STD, rng);
      l->base_v = msr_model_add_param (m, T, 2, bv, "%s.base_v", prefix);
      init_xavier (l->base_v, rank, out, rng);
    }
  const gint64 gb[2] = { out, dq }, bb[1] = { out };
  l->gen_b = msr_model_add_param (m, T, 2, gb, "%s.gen_bias", prefix);
  msr_param_init_normal (l->gen_b, GEN_INIT_STD, rng);
  l->base_b = msr_model_add_param (m, T | MSR_PARAM_NO_DECAY, 1, bb, "%s.base_bias", prefix);
}

static gboolean
llm4msr_build (MsrModel *m, MsrRng *rng, GError **error)
{
  const MsrModelConfig *c = &m->cfg;
  const guint d = c->knowledge_dim;
  if (d == 0 || d > 65536 || c->meta_dq == 0 || c->meta_dq > 4096 || c->meta_scenario.n > MSR_MAX_LAYERS ||
      (c->meta_no_user && c->meta_no_scenario))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "invalid LLM4MSR settings: %s",
                   d == 0 ? "no knowledge vectors (their width is 0)"
                   : c->meta_no_user && c->meta_no_scenario ? "both knowledge levels are switched off"
                   : "widths out of range");
      return FALSE;
    }
  Meta *meta = g_new0 (Meta, 1);
  m->meta = meta;
  meta->dim = d;
  meta->H = m->klass->repr_dim (m);
  meta->user_level = !c->meta_no_user;
  meta->scenario_level = !c->meta_no_scenario;

  const guint U = m->fields[m->user_field].cardinality, S = m->n_scenarios;
  /* The ID-only ablation learns the vectors (small normal init, like the
   * embeddings); otherwise they are frozen buffers filled from the store. */
  const guint kflags = c->meta_id_only ? MSR_PARAM_TRAINABLE | MSR_PARAM_SPARSE_ROWS : MSR_PARAM_BUFFER;
  const gint64 us[2] = { U, d }, uk[1] = { U }, un[2] = { 1, d }, ss[2] = { S, d };
  if (meta->user_level)
    {
      meta->user_knowledge = msr_model_add_param (m, kflags, 2, us, "llm4msr.user_knowledge");
      meta->user_known = msr_model_add_param (m, MSR_PARAM_BUFFER, 1, uk, "llm4msr.user_known");
      if (c->meta_id_only)
        {
          msr_param_init_normal (meta->user_knowledge, 0.1, rng);
          msr_param_init_constant (meta->user_known, 1);
        }
      else
        {
          meta->unknown_user = msr_model_add_param (m, MSR_PARAM_TRAINABLE, 2, un, "llm4msr.unknown_user");
          msr_param_init_normal (meta->unknown_user, 0.1, rng);
        }
    }
  if (meta->scenario_level || c->meta_user_on_scenario)
    {
      meta->scenario_knowledge = msr_model_add_param (m, kflags, 2, ss, "llm4msr.scenario_knowledge");
      if (c->meta_id_only)
        msr_param_init_normal (meta->scenario_knowledge, 0.1, rng);
    }
  const guint H = meta->H;
  if (meta->user_level)
    {
      const guint rank = c->meta_rank ? c->meta_rank : (H * H > FULL_RANK_LIMIT ? LOW_RANK : 0);
      meta_layer_build (m, &meta->user, rng, c->meta_user_on_scenario ? 2 * d : d, H, H, rank,
                        "llm4msr.user_meta");
    }
  if (meta->scenario_level)
    {
      guint in = H;
      meta->n_scen = c->meta_scenario.n + 1;
      for (guint l = 0; l < meta->n_scen; l++)
        {
          const guint out = l < c->meta_scenario.n ? c->meta_scenario.dims[l] : 1;
          g_autofree char *prefix = g_strdup_printf ("llm4msr.scenario_meta.%u", l);
          meta_layer_build (m, &meta->scen[l], rng, d, in, out, 0, prefix);
          in = out;
        }
    }
  return TRUE;
}

/* ---- forward --------------------------------------------------------------- */

/* The distinct keys of a batch's rows (users, scenarios or pairs). */
typedef struct {
  gsize    n;        /* distinct keys, G */
  guint32 *groups;   /* per row: its key's index, < n */
  guint32 *first;    /* per key: the first row holding it */
} Keys;

static void
keys_clear (Keys *k)
{
  g_clear_pointer (&k->groups, g_free);
  g_clear_pointer (&k->first, g_free);
}

/* Numbers the distinct values of key[0..B) in order of appearance, through
 * an open-addressing table of at least 2B slots. */
static void
keys_group (Keys *out, const guint64 *key, gsize B)
{
  guint bits = 4;
  while (((gsize) 1 << bits) < 2 * B)
    bits++;
  const gsize cap = (gsize) 1 << bits;
  g_autofree guint64 *slot_key = g_new (guint64, cap);
  g_autofree guint32 *slot_group = g_new (guint32, cap);
  memset (slot_group, 0xff, cap * sizeof (guint32));
  out->groups = g_new (guint32, MAX (B, 1));
  out->first = g_new (guint32, MAX (B, 1));
  out->n = 0;
  for (gsize r = 0; r < B; r++)
    {
      gsize h = (gsize) ((key[r] * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15)) >> (64 - bits));
      while (slot_group[h] != G_MAXUINT32 && slot_key[h] != key[r])
        h = (h + 1) & (cap - 1);
      if (slot_group[h] == G_MAXUINT32)
        {
          slot_key[h] = key[r];
          slot_group[h] = (guint32) out->n;
          out->first[out->n++] = (guint32) r;
        }
      out->groups[r] = slot_group[h];
    }
}

/* Whether to apply a layer row by row: when nearly every row has a key of
 * its own, generating G layers costs what the per-row form does (d_q·in·out
 * a key, or a row) and more memory traffic (G layers and their gradients):
 * measured on 4096 rows, per group is faster up to about G = 0.8·B. */
static gboolean
per_row (const Meta *meta, gsize G, gsize B)
{
  if (meta->form != MSR_LLM4MSR_FORM_AUTO)
    return meta->form == MSR_LLM4MSR_FORM_PER_ROW;
  return 5 * G > 4 * B;
}

/* x through the layers generated from q (G × d_q, a row per key): row r
 * through its key's, y_r = W(q_g)·x_r + b(q_g). Each layer is generated
 * once per key, not per row (method spec §4.4). */
static MsrNode *
meta_apply (MsrGraph *g, const Meta *meta, const MetaLayer *l, MsrNode *q, MsrNode *x, const guint32 *groups)
{
  const gsize B = msr_node_rows (x), G = msr_node_rows (q);
  MsrNode *b = msr_g_linear (g, q, msr_g_param (g, l->gen_b), msr_g_param (g, l->base_b));
  if (per_row (meta, G, B))
    {
      /* x·W(q)ᵀ = linear(outer(q, x), gen) + linear(x, base) for all rows
       * at once, each with its key's q. */
      MsrNode *qr = msr_g_gather_rows (g, q, groups, B);
      MsrNode *br = msr_g_gather_rows (g, b, groups, B);
      if (l->rank == 0)
        return msr_g_add (g, msr_g_add (g, msr_g_linear (g, msr_g_outer_rows (g, qr, x), msr_g_param (g, l->gen_w),
                                                         NULL),
                                        msr_g_linear (g, x, msr_g_param (g, l->base_w), NULL)),
                          br);
      MsrNode *t = msr_g_add (g, msr_g_linear (g, msr_g_outer_rows (g, qr, x), msr_g_param (g, l->gen_u), NULL),
                              msr_g_linear (g, x, msr_g_param (g, l->base_u), NULL));
      MsrNode *y = msr_g_add (g, msr_g_linear (g, msr_g_outer_rows (g, qr, t), msr_g_param (g, l->gen_v), NULL),
                              msr_g_linear (g, t, msr_g_param (g, l->base_v), NULL));
      return msr_g_add (g, y, br);
    }
  if (l->rank == 0)
    {
      MsrNode *w = msr_g_meta_generate (g, q, msr_g_param (g, l->gen_w), msr_g_param (g, l->base_w));
      return msr_g_grouped_linear (g, x, w, b, groups);
    }
  /* W = V·U, applied as x → U x → V (U x): rank × in, then out × rank. */
  MsrNode *u = msr_g_meta_generate (g, q, msr_g_param (g, l->gen_u), msr_g_param (g, l->base_u));
  MsrNode *v = msr_g_meta_generate (g, q, msr_g_param (g, l->gen_v), msr_g_param (g, l->base_v));
  return msr_g_grouped_linear (g, msr_g_grouped_linear (g, x, u, NULL, groups), v, b, groups);
}

void
msr_llm4msr_set_form (MsrModel *m, MsrLlm4msrForm form)
{
  Meta *meta = m->meta;
  if (meta)
    meta->form = form;
}

/* q = relu(k·Pᵀ + p0) for the G distinct keys' vectors k. */
static MsrNode *
meta_compress (MsrGraph *g, const MetaLayer *l, MsrNode *k)
{
  return msr_g_relu (g, msr_g_linear (g, k, msr_g_param (g, l->compress_w), msr_g_param (g, l->compress_b)));
}

/* A row's user key: its code, or -1 for "no vector" when the model learns
 * a vector for those: they all share it, hence one key (their rows of
 * user_knowledge are zero, msr_llm4msr_set_knowledge). */
static gint32
user_key (const Meta *meta, gint32 code)
{
  if (meta->unknown_user == NULL)
    return code;
  const gboolean known = code >= 0 && (gsize) code < meta->user_known->size && meta->user_known->value[code] > 0.5;
  return known ? code : -1;
}

/* k_u of n user keys: the user's vector, or the learned unknown vector. */
static MsrNode *
user_vectors (MsrModel *m, MsrGraph *g, const gint32 *ukeys, gsize n)
{
  Meta *meta = m->meta;
  g_autofree gint32 *codes = g_new (gint32, n);
  g_autofree guint32 *known_at = g_new (guint32, n), *unknown_at = g_new (guint32, n);
  gsize nk = 0, nu = 0;
  for (gsize i = 0; i < n; i++)
    if (ukeys[i] >= 0)
      {
        codes[nk] = ukeys[i];
        known_at[nk++] = (guint32) i;
      }
    else
      unknown_at[nu++] = (guint32) i;
  if (nu == 0)
    return msr_g_embedding (g, meta->user_knowledge, codes, n);
  g_autofree gint32 *zeros = g_new0 (gint32, nu);
  MsrNode *unknown = msr_g_embedding (g, meta->unknown_user, zeros, nu);
  if (nk == 0)
    return unknown;
  MsrNode *parts[2] = { msr_g_embedding (g, meta->user_knowledge, codes, nk), unknown };
  const guint32 *idx[2] = { known_at, unknown_at };
  return msr_g_scatter_rows (g, parts, idx, 2, n);
}

static MsrNode *
llm4msr_user_layer (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrNode *h)
{
  Meta *meta = m->meta;
  if (meta == NULL || !meta->user_level)
    return h;
  const gsize B = b->n;
  MsrNode *y;
  if (meta->use_mean_user)
    {
      /* The population's layer, generated once, for every row. */
      g_autofree guint32 *zero = g_new0 (guint32, B);
      MsrNode *q = msr_g_constant (g, 1, meta->user.compress_b->size, meta->mean_q);
      y = meta_apply (g, meta, &meta->user, q, h, zero);
    }
  else
    {
      /* A group per user, or per (user, scenario) when G_u reads k_s too. */
      const gboolean on_scenario = m->cfg.meta_user_on_scenario;
      const gint32 *codes = b->codes[m->user_field];
      g_autofree gint32 *ukey = g_new (gint32, B);
      g_autofree guint64 *key = g_new (guint64, B);
      for (gsize r = 0; r < B; r++)
        {
          ukey[r] = user_key (meta, codes[r]);
          key[r] = (guint64) ((gint64) ukey[r] + 1);
          if (on_scenario)
            key[r] = key[r] * m->n_scenarios + b->scenarios[r];
        }
      Keys keys;
      keys_group (&keys, key, B);
      g_autofree gint32 *gu = g_new (gint32, keys.n), *gs = g_new (gint32, keys.n);
      for (gsize k = 0; k < keys.n; k++)
        {
          gu[k] = ukey[keys.first[k]];
          gs[k] = b->scenarios[keys.first[k]];
        }
      MsrNode *k = user_vectors (m, g, gu, keys.n);
      if (on_scenario)
        {
          MsrNode *parts[2] = { k, msr_g_embedding (g, meta->scenario_knowledge, gs, keys.n) };
          k = msr_g_concat (g, parts, 2);
        }
      y = meta_apply (g, meta, &meta->user, meta_compress (g, &meta->user, k), h, keys.groups);
      keys_clear (&keys);
    }
  y = msr_g_relu (g, y);
  return m->cfg.meta_residual ? msr_g_add (g, y, h) : y;
}

static MsrNode *
llm4msr_scenario_branch (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrNode *h)
{
  Meta *meta = m->meta;
  if (meta == NULL || !meta->scenario_level)
    return NULL;
  const gsize B = b->n;
  g_autofree guint64 *key = g_new (guint64, B);
  for (gsize r = 0; r < B; r++)
    key[r] = b->scenarios[r];
  Keys keys;
  keys_group (&keys, key, B);
  g_autofree gint32 *sc = g_new (gint32, keys.n);
  for (gsize k = 0; k < keys.n; k++)
    sc[k] = b->scenarios[keys.first[k]];
  MsrNode *k = msr_g_embedding (g, meta->scenario_knowledge, sc, keys.n);
  MsrNode *a = h;
  for (guint l = 0; l < meta->n_scen; l++)
    {
      a = meta_apply (g, meta, &meta->scen[l], meta_compress (g, &meta->scen[l], k), a, keys.groups);
      if (l + 1 < meta->n_scen)
        a = msr_g_relu (g, a);
    }
  keys_clear (&keys);
  return a;
}

/* Expected distinct keys among B rows drawn at random from K equally
 * frequent keys: K·(1 − (1 − 1/K)^B). */
static double
expected_keys (double K, double B)
{
  return K <= 1 ? 1 : K * -expm1 (B * log1p (-1 / K));
}

/* Multiply-adds per row of one layer: applying it, plus generating it
 * (compression, W or U and V, b) once per key, i.e. times the share of
 * distinct keys among the rows; the per-row form when that share is high,
 * as meta_apply does. */
static double
meta_layer_flops (const Meta *meta, const MetaLayer *l, guint k_dim, guint dq, double keys, double B)
{
  const double w = l->rank == 0 ? (double) l->in * l->out : (double) l->rank * (l->in + l->out);
  const double share = MIN (keys, B) / B;
  const double per_key = (double) k_dim * dq + (double) dq * l->out;
  if (per_row (meta, (gsize) ceil (MIN (keys, B)), (gsize) B))
    return share * per_key + (dq + 1) * w + l->out;
  return share * (per_key + dq * w) + w + l->out;
}

/* msr_model_flops_per_sample's share: a row of a batch of FLOPS_BATCH
 * rows whose keys are drawn at random from the model's users (the user
 * field's codes; pairs with the scenarios when G_u reads k_s) and
 * scenarios: a training batch. Real batches, with some users far more
 * frequent than others, hold fewer distinct users; and msr_score orders
 * an LLM4MSR model's rows by user, so its batches hold a few dozen users
 * and scoring costs several times less than this count (bench-llm4msr
 * measures both). */
#define FLOPS_BATCH 4096.0

static double
llm4msr_flops (MsrModel *m)
{
  Meta *meta = m->meta;
  if (meta == NULL)
    return 0;
  const double U = m->fields[m->user_field].cardinality, S = m->n_scenarios;
  double f = 0;
  if (meta->user_level)
    {
      const gboolean on_s = m->cfg.meta_user_on_scenario;
      f += meta_layer_flops (meta, &meta->user, on_s ? 2 * meta->dim : meta->dim, m->cfg.meta_dq,
                             expected_keys (on_s ? U * S : U, FLOPS_BATCH), FLOPS_BATCH);
    }
  for (guint l = 0; meta->scenario_level && l < meta->n_scen; l++)
    f += meta_layer_flops (meta, &meta->scen[l], meta->dim, m->cfg.meta_dq, expected_keys (S, FLOPS_BATCH),
                           FLOPS_BATCH);
  return f;
}

/* ---- knowledge --------------------------------------------------------------- */

static int
find_key (const char * const *keys, guint n, const char *key)
{
  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (keys[i], key) == 0)
      return (int) i;
  return -1;
}

static gboolean
llm4msr_set_knowledge (MsrModel *m, const MsrDataset *ds, const MsrModelKnowledge *kn, guint64 seed,
                           GError **error)
{
  Meta *meta = m->meta;
  g_return_val_if_fail (meta != NULL && kn != NULL, FALSE);
  const guint d = meta->dim, S = m->n_scenarios;
  guint with_vector = 0;
  if (kn->dim != d)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH, "the knowledge vectors have %u dimensions, the model %u",
                   kn->dim, d);
      return FALSE;
    }
  if (meta->scenario_knowledge != NULL && !m->cfg.meta_id_only)
    {
      g_autoptr(GString) missing = g_string_new (NULL);
      for (guint s = 0; s < S; s++)
        {
          int row = find_key (kn->scenario_keys, kn->n_scenarios, m->scenario_names[s]);
          if (row < 0)
            {
              g_string_append_printf (missing, "%s'%s'", missing->len ? ", " : "", m->scenario_names[s]);
              continue;
            }
          for (guint j = 0; j < d; j++)
            meta->scenario_knowledge->value[(gsize) s * d + j] = kn->scenario_vectors[(gsize) row * d + j];
        }
      if (missing->len)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH, "no scenario-level knowledge vector for %s: derive "
                       "or import scenario knowledge first", missing->str);
          return FALSE;
        }
    }
  if (meta->user_knowledge != NULL && !m->cfg.meta_id_only)
    {
      const guint U = m->fields[m->user_field].cardinality;
      /* Row of each user code in kn, through a table of kn's keys. */
      g_autoptr(GHashTable) rows = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint i = 0; i < kn->n_users; i++)
        g_hash_table_insert (rows, (gpointer) kn->user_keys[i], GUINT_TO_POINTER (i + 1));
      g_autofree guint *src = g_new0 (guint, U);
      for (guint c = 1; c < U; c++)
        src[c] = GPOINTER_TO_UINT (g_hash_table_lookup (rows, msr_dataset_get_field_value (ds, m->user_field,
                                                                                          (gint32) c)));
      /* Shuffled ablation: the same vectors, handed to other users (a
       * seeded permutation of the users that have one). */
      if (m->cfg.meta_shuffle_users)
        {
          g_autoptr(GArray) have = g_array_new (FALSE, FALSE, sizeof (guint));
          for (guint c = 1; c < U; c++)
            if (src[c])
              g_array_append_val (have, src[c]);
          MsrRng rng;
          msr_rng_init (&rng, seed ^ 0x5348554646u);
          guint *v = (guint *) have->data;
          for (guint i = have->len; i > 1; i--)
            {
              guint j = (guint) msr_rng_below (&rng, i);
              guint t = v[i - 1];
              v[i - 1] = v[j];
              v[j] = t;
            }
          guint at = 0;
          for (guint c = 1; c < U; c++)
            if (src[c])
              src[c] = v[at++];
        }
      for (guint c = 0; c < U; c++)
        {
          meta->user_known->value[c] = src[c] ? 1 : 0;
          with_vector += src[c] != 0;
          for (guint j = 0; j < d; j++)
            meta->user_knowledge->value[(gsize) c * d + j] = src[c] ? kn->user_vectors[(gsize) (src[c] - 1) * d + j]
                                                                     : 0;
        }
    }

  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
#define STR(k, v) do { json_builder_set_member_name (b, k); \
                       if (v) json_builder_add_string_value (b, v); else json_builder_add_null_value (b); } while (0)
  STR ("encoder", kn->encoder);
  json_builder_set_member_name (b, "dim");
  json_builder_add_int_value (b, d);
  STR ("user_source", kn->user_source);
  STR ("scenario_source", kn->scenario_source);
  STR ("user_fingerprint", kn->user_fingerprint);
  STR ("scenario_fingerprint", kn->scenario_fingerprint);
#undef STR
  json_builder_set_member_name (b, "users_with_vector");
  json_builder_add_int_value (b, with_vector);
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_free (m->knowledge_json);
  m->knowledge_json = json_to_string (root, FALSE);
  return TRUE;
}

/* ---- generated weights ------------------------------------------------------- */

/* q = relu(k·Pᵀ + p0) in double. */
static void
compress (const MetaLayer *l, const float *k, guint k_dim, guint dq, double *q)
{
  for (guint t = 0; t < dq; t++)
    {
      double s = l->compress_b->value[t];
      for (guint j = 0; j < k_dim; j++)
        s += (double) l->compress_w->value[(gsize) t * k_dim + j] * k[j];
      q[t] = s > 0 ? s : 0;
    }
}

/* W = base + Σ_t q_t gen[:, t, :] for a [out, dq, in] generator. */
static void
generate (const MsrParam *gen, const MsrParam *base, guint out, guint dq, guint in, const double *q, double *w)
{
  for (guint o = 0; o < out; o++)
    for (guint i = 0; i < in; i++)
      {
        double s = base->value[(gsize) o * in + i];
        for (guint t = 0; t < dq; t++)
          s += q[t] * gen->value[((gsize) o * dq + t) * in + i];
        w[(gsize) o * in + i] = s;
      }
}

static void
meta_layer_weights (const MetaLayer *l, const float *k, guint k_dim, guint dq, float **weight, float **bias)
{
  g_autofree double *q = g_new (double, dq);
  compress (l, k, k_dim, dq, q);
  g_autofree double *w = g_new (double, (gsize) l->out * l->in);
  if (l->rank == 0)
    generate (l->gen_w, l->base_w, l->out, dq, l->in, q, w);
  else
    {
      /* W = V·U: out × r times r × in. */
      g_autofree double *u = g_new (double, (gsize) l->rank * l->in);
      g_autofree double *v = g_new (double, (gsize) l->out * l->rank);
      generate (l->gen_u, l->base_u, l->rank, dq, l->in, q, u);
      generate (l->gen_v, l->base_v, l->out, dq, l->rank, q, v);
      for (guint o = 0; o < l->out; o++)
        for (guint i = 0; i < l->in; i++)
          {
            double s = 0;
            for (guint r = 0; r < l->rank; r++)
              s += v[(gsize) o * l->rank + r] * u[(gsize) r * l->in + i];
            w[(gsize) o * l->in + i] = s;
          }
    }
  *weight = g_new (float, (gsize) l->out * l->in);
  for (gsize i = 0; i < (gsize) l->out * l->in; i++)
    (*weight)[i] = (float) w[i];
  *bias = g_new (float, l->out);
  for (guint o = 0; o < l->out; o++)
    {
      double s = l->base_b->value[o];
      for (guint t = 0; t < dq; t++)
        s += q[t] * l->gen_b->value[(gsize) o * dq + t];
      (*bias)[o] = (float) s;
    }
}

static void
copy_row (const MsrParam *p, gsize row, guint d, float *out)
{
  for (guint j = 0; j < d; j++)
    out[j] = (float) p->value[row * d + j];
}

gboolean
msr_model_meta_user_layer (MsrModel *m, const char *user, float **weight, guint *rows, guint *cols, float **bias,
                           GError **error)
{
  return msr_model_meta_user_layer_in_scenario (m, user, -1, weight, rows, cols, bias, error);
}

gboolean
msr_model_meta_user_layer_in_scenario (MsrModel *m, const char *user, int scenario, float **weight, guint *rows,
                                       guint *cols, float **bias, GError **error)
{
  Meta *meta = m->meta;
  if (meta == NULL || !meta->user_level)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "the model has no user-level meta layer");
      return FALSE;
    }
  const guint d = meta->dim;
  gint32 code = user ? msr_model_encode (m, m->user_field, user) : 0;
  g_autofree float *k = g_new0 (float, 2 * d);
  if (code > 0 && (gsize) code < meta->user_known->size && meta->user_known->value[code] > 0.5)
    copy_row (meta->user_knowledge, (gsize) code, d, k);
  else if (meta->unknown_user)
    copy_row (meta->unknown_user, 0, d, k);
  else
    copy_row (meta->user_knowledge, (gsize) MAX (code, 0), d, k);
  if (m->cfg.meta_user_on_scenario)
    {
      if (scenario < 0 || (guint) scenario >= m->n_scenarios)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "the user-level layer of this model also depends on "
                       "the scenario (user_meta_conditions_on_scenario): ask for a user in a scenario");
          return FALSE;
        }
      /* G_u reads k_u ⊕ k_s, as the forward pass concatenates them. */
      copy_row (meta->scenario_knowledge, (gsize) scenario, d, k + d);
    }
  meta_layer_weights (&meta->user, k, m->cfg.meta_user_on_scenario ? 2 * d : d, m->cfg.meta_dq, weight, bias);
  *rows = meta->user.out;
  *cols = meta->user.in;
  return TRUE;
}

guint
msr_model_meta_scenario_n_layers (const MsrModel *m)
{
  const Meta *meta = m->meta;
  return meta && meta->scenario_level ? meta->n_scen : 0;
}

gboolean
msr_model_meta_scenario_layer (MsrModel *m, guint scenario, guint layer, float **weight, guint *rows, guint *cols,
                               float **bias, GError **error)
{
  Meta *meta = m->meta;
  if (meta == NULL || !meta->scenario_level || layer >= meta->n_scen || scenario >= m->n_scenarios)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "the model has no scenario-level meta layer %u for "
                   "scenario %u", layer, scenario);
      return FALSE;
    }
  g_autofree float *k = g_new (float, meta->dim);
  copy_row (meta->scenario_knowledge, scenario, meta->dim, k);
  meta_layer_weights (&meta->scen[layer], k, meta->dim, m->cfg.meta_dq, weight, bias);
  *rows = meta->scen[layer].out;
  *cols = meta->scen[layer].in;
  return TRUE;
}

/* ---- for explaining ---------------------------------------------------------- */

/* The layer's weight (out × in) for a given q (double). */
static void
layer_weight_for_q (const MetaLayer *l, guint dq, const double *q, double *w)
{
  if (l->rank == 0)
    {
      generate (l->gen_w, l->base_w, l->out, dq, l->in, q, w);
      return;
    }
  g_autofree double *u = g_new (double, (gsize) l->rank * l->in);
  g_autofree double *v = g_new (double, (gsize) l->out * l->rank);
  generate (l->gen_u, l->base_u, l->rank, dq, l->in, q, u);
  generate (l->gen_v, l->base_v, l->out, dq, l->rank, q, v);
  for (guint o = 0; o < l->out; o++)
    for (guint i = 0; i < l->in; i++)
      {
        double acc = 0;
        for (guint r = 0; r < l->rank; r++)
          acc += v[(gsize) o * l->rank + r] * u[(gsize) r * l->in + i];
        w[(gsize) o * l->in + i] = acc;
      }
}

gboolean
msr_llm4msr_generated_part (MsrModel *m, int scenario, const float *user_key, double **part, guint *rows,
                            guint *cols)
{
  Meta *meta = m->meta;
  if (meta == NULL)
    return FALSE;
  const MetaLayer *l;
  g_autofree float *k = g_new0 (float, 2 * meta->dim);
  guint k_dim = meta->dim;
  if (scenario < 0)
    {
      if (!meta->user_level || user_key == NULL)
        return FALSE;
      l = &meta->user;
      memcpy (k, user_key, meta->dim * sizeof (float));
      if (m->cfg.meta_user_on_scenario)
        {
          /* Conditioned on the scenario: take the mean scenario vector. */
          for (guint s = 0; s < m->n_scenarios; s++)
            for (guint j = 0; j < meta->dim; j++)
              k[meta->dim + j] += (float) (meta->scenario_knowledge->value[(gsize) s * meta->dim + j] / m->n_scenarios);
          k_dim = 2 * meta->dim;
        }
    }
  else
    {
      if (!meta->scenario_level || (guint) scenario >= m->n_scenarios)
        return FALSE;
      l = &meta->scen[0];
      copy_row (meta->scenario_knowledge, (gsize) scenario, meta->dim, k);
    }
  const guint dq = m->cfg.meta_dq;
  g_autofree double *q = g_new (double, dq);
  g_autofree double *zero = g_new0 (double, dq);
  compress (l, k, k_dim, dq, q);
  g_autofree double *w = g_new (double, (gsize) l->out * l->in);
  double *w0 = g_new (double, (gsize) l->out * l->in);
  layer_weight_for_q (l, dq, q, w);
  layer_weight_for_q (l, dq, zero, w0);
  for (gsize i = 0; i < (gsize) l->out * l->in; i++)
    w0[i] = w[i] - w0[i];
  *part = w0;
  *rows = l->out;
  *cols = l->in;
  return TRUE;
}

guint *
msr_llm4msr_known_users (MsrModel *m, guint *n)
{
  Meta *meta = m->meta;
  *n = 0;
  if (meta == NULL || meta->user_known == NULL)
    return NULL;
  g_autoptr(GArray) codes = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint c = 0; c < meta->user_known->size; c++)
    if (meta->user_known->value[c] > 0.5)
      g_array_append_val (codes, c);
  *n = codes->len;
  return (guint *) g_array_free (g_steal_pointer (&codes), FALSE);
}

void
msr_llm4msr_use_mean_user (MsrModel *m, gboolean mean)
{
  Meta *meta = m->meta;
  if (meta == NULL || !meta->user_level)
    return;
  meta->use_mean_user = mean;
  if (!mean || meta->mean_q != NULL)
    return;
  /* The mean of q over the users with a vector (the unknown user too when
   * none has one). */
  const guint dq = m->cfg.meta_dq, d = meta->dim;
  const guint k_dim = m->cfg.meta_user_on_scenario ? 2 * d : d;
  g_autofree double *acc = g_new0 (double, dq);
  g_autofree double *q = g_new (double, dq);
  g_autofree float *k = g_new0 (float, k_dim);
  guint n = 0;
  for (guint c = 0; c < meta->user_known->size; c++)
    {
      if (meta->user_known->value[c] <= 0.5)
        continue;
      copy_row (meta->user_knowledge, c, d, k);
      for (guint s = 0; k_dim > d && s < m->n_scenarios; s++)
        for (guint j = 0; j < d; j++)
          k[d + j] += (float) (meta->scenario_knowledge->value[(gsize) s * d + j] / m->n_scenarios);
      compress (&meta->user, k, k_dim, dq, q);
      for (guint t = 0; t < dq; t++)
        acc[t] += q[t];
      n++;
      memset (k + d, 0, (k_dim - d) * sizeof (float));
    }
  meta->mean_q = g_new (msr_real, dq);
  for (guint t = 0; t < dq; t++)
    meta->mean_q[t] = (msr_real) (n ? acc[t] / n : 0);
}

gboolean
msr_model_meta_user_layer_mean (MsrModel *m, float **weight, guint *rows, guint *cols, float **bias,
                                GError **error)
{
  Meta *meta = m->meta;
  if (meta == NULL || !meta->user_level)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "the model has no user-level meta layer");
      return FALSE;
    }
  /* Compute mean_q (kept), without leaving the forward pass switched. */
  const gboolean was = meta->use_mean_user;
  msr_llm4msr_use_mean_user (m, TRUE);
  meta->use_mean_user = was;
  const MetaLayer *l = &meta->user;
  const guint dq = m->cfg.meta_dq;
  g_autofree double *q = g_new (double, dq);
  for (guint t = 0; t < dq; t++)
    q[t] = meta->mean_q[t];
  g_autofree double *w = g_new (double, (gsize) l->out * l->in);
  layer_weight_for_q (l, dq, q, w);
  *weight = g_new (float, (gsize) l->out * l->in);
  for (gsize i = 0; i < (gsize) l->out * l->in; i++)
    (*weight)[i] = (float) w[i];
  *bias = g_new (float, l->out);
  for (guint o = 0; o < l->out; o++)
    {
      double s = l->base_b->value[o];
      for (guint t = 0; t < dq; t++)
        s += q[t] * l->gen_b->value[(gsize) o * dq + t];
      (*bias)[o] = (float) s;
    }
  *rows = l->out;
  *cols = l->in;
  return TRUE;
}

const MsrMetaClass msr_llm4msr = {
  .build           = llm4msr_build,
  .free            = llm4msr_free,
  .user_layer      = llm4msr_user_layer,
  .scenario_branch = llm4msr_scenario_branch,
  .flops           = llm4msr_flops,
  .set_knowledge   = llm4msr_set_knowledge,
};

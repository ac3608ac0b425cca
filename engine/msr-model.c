/* msr-model.c: the model core: configuration, input layer, routing, shared
 * building blocks, forward pass and model files. */
#include "config.h"
#include "msr-model-private.h"
#include "msr-json.h"
#include "msr-safetensors.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#define MODEL_FORMAT 1
#define VOCAB_KEY "msrlens.vocab"
#define BN_MOMENTUM 0.1
#define BN_EPS 1e-5

static const MsrArchClass *const arch_classes[MSR_N_ARCHS] = {
  [MSR_ARCH_DNN] = &msr_arch_dnn,
  [MSR_ARCH_DNN_SEPARATE] = &msr_arch_dnn_separate,
  [MSR_ARCH_SHARED_BOTTOM] = &msr_arch_shared_bottom,
  [MSR_ARCH_MMOE] = &msr_arch_mmoe,
  [MSR_ARCH_PLE] = &msr_arch_ple,
  [MSR_ARCH_STAR] = &msr_arch_star,
  [MSR_ARCH_PEPNET] = &msr_arch_pepnet,
};

static const char *const arch_names[MSR_N_ARCHS] = {
  "dnn", "dnn-separate", "shared-bottom", "mmoe", "ple", "star", "pepnet",
};

const char *
msr_arch_to_string (MsrArch arch)
{
  return arch < MSR_N_ARCHS ? arch_names[arch] : "?";
}

gboolean
msr_arch_from_string (const char *s, MsrArch *out)
{
  for (guint a = 0; a < MSR_N_ARCHS; a++)
    if (g_strcmp0 (s, arch_names[a]) == 0)
      {
        *out = a;
        return TRUE;
      }
  return FALSE;
}

const char *
msr_arch_list (void)
{
  return "dnn|dnn-separate|shared-bottom|mmoe|ple|star|pepnet";
}

/* ---- configuration ------------------------------------------------------- */

static void
dims_set (MsrDims *d, guint n, const guint *v)
{
  d->n = n;
  for (guint i = 0; i < n; i++)
    d->dims[i] = v[i];
}

void
msr_model_config_init (MsrModelConfig *cfg, MsrArch arch)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->arch = arch;
  cfg->embed_dim = 16;
  cfg->embed_init_std = 1e-4;
  cfg->batchnorm = TRUE;
  cfg->dropout = 0.0;
  cfg->ple_levels = 2;
  cfg->ple_specific = 1;
  cfg->ple_shared = 2;
  cfg->gate_gamma = 2.0;
  cfg->gate_hidden = 64;
  static const guint mlp[] = { 128, 64 }, tower[] = { 32 }, expert[] = { 64 }, aux[] = { 32 },
                     pep[] = { 128, 64, 32 };
  switch (arch)
    {
    case MSR_ARCH_DNN:
    case MSR_ARCH_DNN_SEPARATE:
    case MSR_ARCH_STAR:
      dims_set (&cfg->hidden, 2, mlp);
      break;
    case MSR_ARCH_SHARED_BOTTOM:
      dims_set (&cfg->hidden, 2, mlp);
      dims_set (&cfg->tower, 1, tower);
      break;
    case MSR_ARCH_MMOE:
    case MSR_ARCH_PLE:
      dims_set (&cfg->hidden, 1, expert);
      dims_set (&cfg->tower, 1, tower);
      break;
    case MSR_ARCH_PEPNET:
      dims_set (&cfg->hidden, 3, pep);
      break;
    default:
      break;
    }
  dims_set (&cfg->aux, 1, aux);
  static const guint meta_scenario[] = { 32 };
  cfg->meta_dq = 64;
  cfg->meta_residual = TRUE;
  dims_set (&cfg->meta_scenario, 1, meta_scenario);
}

char *
msr_model_config_describe (const MsrModelConfig *cfg, gboolean file_safe)
{
  GString *s = g_string_new (msr_arch_to_string (cfg->arch));
  if (cfg->llm4msr)
    {
      g_string_append (s, "+llm4msr");
      const char *ablation = cfg->meta_id_only ? "id-only" : cfg->meta_shuffle_users ? "shuffled"
                             : cfg->meta_no_user ? "no-user" : cfg->meta_no_scenario ? "no-scenario" : NULL;
      if (ablation)
        g_string_append_printf (s, "/%s", ablation);
    }
  if (file_safe)
    g_strdelimit (s->str, "+/", '-');
  return g_string_free (s, FALSE);
}

gboolean
msr_dims_parse (const char *text, MsrDims *out)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);
  MsrDims d = { 0 };
  for (char **p = parts; *p; p++)
    {
      guint64 v;
      g_strstrip (*p);
      if ((*p)[0] == '\0' && parts[1] == NULL)
        break;   /* "" = no layers */
      if (d.n >= MSR_MAX_LAYERS || !g_ascii_string_to_unsigned (*p, 10, 1, 1 << 16, &v, NULL))
        return FALSE;
      d.dims[d.n++] = (guint) v;
    }
  *out = d;
  return TRUE;
}

char *
msr_dims_to_string (const MsrDims *dims)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < dims->n; i++)
    g_string_append_printf (s, "%s%u", i ? "," : "", dims->dims[i]);
  return g_string_free (s, FALSE);
}

/* ---- parameters and building blocks -------------------------------------- */

MsrParam *
msr_model_add_param (MsrModel *m, guint flags, guint n_dims, const gint64 *shape, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *name = g_strdup_vprintf (format, args);
  va_end (args);
  MsrParam *p = msr_params_add (m->params, name, n_dims, shape, flags);
  g_assert (p != NULL);
  return p;
}

void
msr_model_add_linear (MsrModel *m, MsrRng *rng, guint in, guint out, MsrParam **w, MsrParam **b,
                      const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *prefix = g_strdup_vprintf (format, args);
  va_end (args);
  const gint64 ws[2] = { out, in }, bs[1] = { out };
  const double bound = 1.0 / sqrt (MAX (in, 1));
  *w = msr_model_add_param (m, MSR_PARAM_TRAINABLE, 2, ws, "%s.weight", prefix);
  msr_param_init_uniform (*w, bound, rng);
  if (b)
    {
      *b = msr_model_add_param (m, MSR_PARAM_TRAINABLE | MSR_PARAM_NO_DECAY, 1, bs, "%s.bias", prefix);
      msr_param_init_uniform (*b, bound, rng);
    }
}

void
msr_mlp_build (MsrModel *m, MsrMlp *mlp, MsrRng *rng, guint in_dim, const MsrDims *hidden,
               gboolean with_out, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *prefix = g_strdup_vprintf (format, args);
  va_end (args);

  memset (mlp, 0, sizeof *mlp);
  mlp->in_dim = in_dim;
  mlp->n = hidden->n;
  guint in = in_dim;
  for (guint i = 0; i < hidden->n; i++)
    {
      const guint out = hidden->dims[i];
      const gint64 vs[1] = { out }, scalar[1] = { 1 };
      mlp->dims[i] = out;
      msr_model_add_linear (m, rng, in, out, &mlp->w[i], &mlp->b[i], "%s.linears.%u", prefix, i);
      if (m->cfg.batchnorm)
        {
          mlp->bn_w[i] = msr_model_add_param (m, MSR_PARAM_TRAINABLE | MSR_PARAM_NO_DECAY, 1, vs,
                                              "%s.norms.%u.weight", prefix, i);
          msr_param_init_constant (mlp->bn_w[i], 1.0);
          mlp->bn_b[i] = msr_model_add_param (m, MSR_PARAM_TRAINABLE | MSR_PARAM_NO_DECAY, 1, vs,
                                              "%s.norms.%u.bias", prefix, i);
          mlp->bn_mean[i] = msr_model_add_param (m, MSR_PARAM_BUFFER, 1, vs, "%s.norms.%u.running_mean", prefix, i);
          mlp->bn_var[i] = msr_model_add_param (m, MSR_PARAM_BUFFER, 1, vs, "%s.norms.%u.running_var", prefix, i);
          msr_param_init_constant (mlp->bn_var[i], 1.0);
          mlp->bn_count[i] = msr_model_add_param (m, MSR_PARAM_BUFFER | MSR_PARAM_COUNTER, 0, scalar,
                                                  "%s.norms.%u.num_batches_tracked", prefix, i);
        }
      in = out;
    }
  if (with_out)
    msr_model_add_linear (m, rng, in, 1, &mlp->out_w, &mlp->out_b, "%s.out", prefix);
}

guint
msr_mlp_out_dim (const MsrMlp *mlp)
{
  return mlp->n ? mlp->dims[mlp->n - 1] : mlp->in_dim;
}

MsrNode *
msr_mlp_hidden (MsrModel *m, MsrGraph *g, const MsrMlp *mlp, MsrNode *x)
{
  MsrNode *a = x;
  for (guint i = 0; i < mlp->n; i++)
    {
      a = msr_g_linear (g, a, msr_g_param (g, mlp->w[i]), msr_g_param (g, mlp->b[i]));
      if (mlp->bn_w[i])
        a = msr_g_batchnorm (g, a, msr_g_param (g, mlp->bn_w[i]), msr_g_param (g, mlp->bn_b[i]),
                             mlp->bn_mean[i]->value, mlp->bn_var[i]->value, mlp->bn_count[i]->value,
                             BN_MOMENTUM, BN_EPS);
      a = msr_g_relu (g, a);
      a = msr_g_dropout (g, a, m->cfg.dropout);
    }
  return a;
}

MsrNode *
msr_mlp_out (MsrGraph *g, const MsrMlp *mlp, MsrNode *h)
{
  return msr_g_linear (g, h, msr_g_param (g, mlp->out_w), msr_g_param (g, mlp->out_b));
}

double
msr_mlp_flops (const MsrMlp *mlp)
{
  double f = 0;
  guint in = mlp->in_dim;
  for (guint i = 0; i < mlp->n; i++)
    {
      f += (double) in * mlp->dims[i];
      in = mlp->dims[i];
    }
  if (mlp->out_w)
    f += in;
  return f;
}

/* ---- batches and routing -------------------------------------------------- */

MsrBatch *
msr_batch_new (const MsrModel *m)
{
  MsrBatch *b = g_new0 (MsrBatch, 1);
  b->n_fields = m->n_fields;
  b->codes = g_new0 (gint32 *, m->n_fields);
  b->offsets = g_new0 (guint32 *, m->n_fields);
  b->code_cap = g_new0 (gsize, m->n_fields);
  for (guint f = 0; f < m->n_fields; f++)
    if (m->fields[f].kind == MSR_FIELD_MULTI_HOT)
      b->offsets[f] = g_new0 (guint32, 1);
  b->routing.n_scenarios = m->n_scenarios;
  b->routing.idx = g_new0 (guint32 *, m->n_scenarios);
  b->routing.count = g_new0 (gsize, m->n_scenarios);
  return b;
}

void
msr_batch_free (MsrBatch *b)
{
  if (b == NULL)
    return;
  for (guint f = 0; f < b->n_fields; f++)
    {
      g_free (b->codes[f]);
      g_free (b->offsets[f]);
    }
  for (guint s = 0; s < b->routing.n_scenarios; s++)
    g_free (b->routing.idx[s]);
  g_free (b->routing.idx);
  g_free (b->routing.count);
  g_free (b->codes);
  g_free (b->offsets);
  g_free (b->code_cap);
  g_free (b->scenarios);
  g_free (b->labels);
  g_free (b);
}

static void batch_route (MsrBatch *b);

static void
batch_reserve (MsrBatch *b, gsize n)
{
  if (n <= b->capacity)
    return;
  b->capacity = MAX (n, b->capacity * 2);
  b->scenarios = g_renew (guint16, b->scenarios, b->capacity);
  b->labels = g_renew (guint8, b->labels, b->capacity);
  for (guint f = 0; f < b->n_fields; f++)
    if (b->offsets[f])
      b->offsets[f] = g_renew (guint32, b->offsets[f], b->capacity + 1);
    else
      {
        b->codes[f] = g_renew (gint32, b->codes[f], b->capacity);
        b->code_cap[f] = b->capacity;
      }
  for (guint s = 0; s < b->routing.n_scenarios; s++)
    b->routing.idx[s] = g_renew (guint32, b->routing.idx[s], b->capacity);
}

void
msr_batch_fill (MsrBatch *b, const MsrDataset *ds, const guint32 *rows, gsize n)
{
  batch_reserve (b, n);
  b->n = n;
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  const guint8 *labels = msr_dataset_get_labels (ds);
  for (gsize i = 0; i < n; i++)
    {
      b->scenarios[i] = scen[rows[i]];
      b->labels[i] = labels[rows[i]];
    }
  for (guint f = 0; f < b->n_fields; f++)
    {
      const gint32 *codes = msr_dataset_get_field_codes (ds, f);
      const guint32 *off = msr_dataset_get_field_offsets (ds, f);
      if (off == NULL)
        {
          for (gsize i = 0; i < n; i++)
            b->codes[f][i] = codes[rows[i]];
          continue;
        }
      gsize total = 0;
      for (gsize i = 0; i < n; i++)
        total += off[rows[i] + 1] - off[rows[i]];
      if (total > b->code_cap[f] || b->codes[f] == NULL)
        {
          b->code_cap[f] = MAX (total, 2 * b->code_cap[f]) + 1;
          b->codes[f] = g_renew (gint32, b->codes[f], b->code_cap[f]);
        }
      guint32 at = 0;
      b->offsets[f][0] = 0;
      for (gsize i = 0; i < n; i++)
        {
          for (guint32 k = off[rows[i]]; k < off[rows[i] + 1]; k++)
            b->codes[f][at++] = codes[k];
          b->offsets[f][i + 1] = at;
        }
    }
  /* Route rows to scenarios, keeping batch order within each. */
  batch_route (b);
}

static void
batch_route (MsrBatch *b)
{
  for (guint s = 0; s < b->routing.n_scenarios; s++)
    b->routing.count[s] = 0;
  for (gsize i = 0; i < b->n; i++)
    {
      guint s = b->scenarios[i];
      b->routing.idx[s][b->routing.count[s]++] = (guint32) i;
    }
}

void
msr_batch_begin (MsrBatch *b)
{
  b->n = 0;
  for (guint f = 0; f < b->n_fields; f++)
    if (b->offsets[f])
      b->offsets[f][0] = 0;
}

void
msr_batch_append_row (MsrBatch *b, guint scenario, guint8 label, const gint32 *const *field_codes,
                      const guint *field_counts)
{
  g_return_if_fail (scenario < b->routing.n_scenarios);
  batch_reserve (b, b->n + 1);
  const gsize i = b->n;
  b->scenarios[i] = (guint16) scenario;
  b->labels[i] = label;
  for (guint f = 0; f < b->n_fields; f++)
    {
      if (b->offsets[f] == NULL)
        {
          g_return_if_fail (field_counts[f] == 1);
          b->codes[f][i] = field_codes[f][0];
          continue;
        }
      const guint32 at = b->offsets[f][i];
      if (at + field_counts[f] > b->code_cap[f] || b->codes[f] == NULL)
        {
          b->code_cap[f] = MAX (at + field_counts[f], 2 * b->code_cap[f]) + 16;
          b->codes[f] = g_renew (gint32, b->codes[f], b->code_cap[f]);
        }
      for (guint k = 0; k < field_counts[f]; k++)
        b->codes[f][at + k] = field_codes[f][k];
      b->offsets[f][i + 1] = at + field_counts[f];
    }
  b->n++;
}

void
msr_batch_end (MsrBatch *b)
{
  batch_route (b);
}

gsize msr_batch_get_n (const MsrBatch *b) { return b->n; }
const guint8 *msr_batch_get_labels (const MsrBatch *b) { return b->labels; }
const guint16 *msr_batch_get_scenarios (const MsrBatch *b) { return b->scenarios; }

/* ---- the input layer ---------------------------------------------------- */

MsrNode *
msr_model_field_embedding (MsrModel *m, MsrGraph *g, const MsrBatch *b, guint f)
{
  if (m->fields[f].kind == MSR_FIELD_MULTI_HOT)
    return msr_g_embedding_mean (g, m->embed[f], b->offsets[f], b->codes[f], b->n);
  return msr_g_embedding (g, m->embed[f], b->codes[f], b->n);
}

MsrNode *
msr_model_scenario_embedding (MsrModel *m, MsrGraph *g, const MsrBatch *b)
{
  g_autofree gint32 *codes = g_new (gint32, MAX (b->n, 1));
  for (gsize i = 0; i < b->n; i++)
    codes[i] = b->scenarios[i];
  return msr_g_embedding (g, m->scenario_embed, codes, b->n);
}

MsrNode *
msr_model_input (MsrModel *m, MsrGraph *g, const MsrBatch *b)
{
  MsrNode **parts = g_newa (MsrNode *, m->n_fields + 1);
  guint k = 0;
  for (guint f = 0; f < m->n_fields; f++)
    parts[k++] = msr_model_field_embedding (m, g, b, f);
  if (m->cfg.embed_scenario)
    parts[k++] = msr_model_scenario_embedding (m, g, b);
  return msr_g_concat (g, parts, k);
}

MsrNode *
msr_model_scatter_scenarios (MsrGraph *g, const MsrBatch *b, MsrNode **parts)
{
  MsrNode **present = g_newa (MsrNode *, b->routing.n_scenarios);
  const guint32 **idx = g_newa (const guint32 *, b->routing.n_scenarios);
  guint k = 0;
  for (guint s = 0; s < b->routing.n_scenarios; s++)
    if (parts[s] != NULL)
      {
        present[k] = parts[s];
        idx[k++] = b->routing.idx[s];
      }
  g_assert (k > 0);
  return msr_g_scatter_rows (g, present, idx, k, b->n);
}

MsrNode *
msr_model_route_heads (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrNode *h,
                       MsrScenarioHead head, gpointer data)
{
  MsrNode **parts = g_newa (MsrNode *, b->routing.n_scenarios);
  for (guint s = 0; s < b->routing.n_scenarios; s++)
    {
      parts[s] = NULL;
      if (b->routing.count[s] == 0)
        continue;
      MsrNode *hs = msr_g_gather_rows (g, h, b->routing.idx[s], b->routing.count[s]);
      parts[s] = head (m, g, s, hs, data);
    }
  return msr_model_scatter_scenarios (g, b, parts);
}

MsrNode *
msr_model_forward (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrForward *out)
{
  MsrForward local = { 0 };
  MsrForward *f = out ? out : &local;
  g_return_val_if_fail (b->n > 0, NULL);
  MsrNode *h = m->klass->repr (m, g, b, f);
  f->h_backbone = h;
  /* LLM4MSR: the user level at the bottom of the tower, the scenario
   * branch beside it. */
  if (m->meta)
    h = msr_llm4msr.user_layer (m, g, b, h);
  f->h = h;
  f->logit = m->klass->head (m, g, b, f, h);
  MsrNode *z_m = m->meta ? msr_llm4msr.scenario_branch (m, g, b, h) : NULL;
  if (z_m)
    f->logit = msr_g_add (g, f->logit, z_m);
  return f->logit;
}

/* ---- creating models ----------------------------------------------------- */

void
msr_model_free (MsrModel *m)
{
  if (m == NULL)
    return;
  if (m->arch_free)
    m->arch_free (m->arch);
  msr_llm4msr.free (m->meta);
  g_free (m->knowledge_json);
  for (guint f = 0; f < m->n_fields; f++)
    {
      g_free (m->fields[f].name);
      g_free (m->field_keys[f]);
      if (m->vocab && m->vocab[f])
        g_ptr_array_unref (m->vocab[f]);
      if (m->vocab_index && m->vocab_index[f])
        g_hash_table_unref (m->vocab_index[f]);
    }
  g_free (m->fields);
  g_free (m->field_keys);
  g_free (m->vocab);
  g_free (m->vocab_index);
  g_free (m->embed);
  g_strfreev (m->scenario_names);
  g_free (m->vocab_fingerprint);
  g_free (m->dataset_fingerprint);
  g_free (m->config_json);
  g_free (m->training_json);
  msr_params_free (m->params);
  g_free (m);
}

/* Field names become PyTorch module names: [A-Za-z0-9_] only, unique. */
static char *
module_key (const char *name, char **taken, guint n_taken)
{
  GString *s = g_string_new (NULL);
  for (const char *p = name; *p; p++)
    g_string_append_c (s, g_ascii_isalnum (*p) || *p == '_' ? *p : '_');
  if (s->len == 0 || g_ascii_isdigit (s->str[0]))
    g_string_prepend_c (s, 'f');
  g_autofree char *base = g_strdup (s->str);
  for (guint k = 2;; k++)
    {
      gboolean clash = FALSE;
      for (guint i = 0; i < n_taken; i++)
        clash |= strcmp (taken[i], s->str) == 0;
      if (!clash)
        break;
      g_string_printf (s, "%s_%u", base, k);
    }
  return g_string_free (s, FALSE);
}

static void
build_common (MsrModel *m, MsrRng *rng)
{
  const gboolean separate = m->cfg.arch == MSR_ARCH_DNN_SEPARATE;
  const gboolean need_scenario = m->cfg.embed_scenario || m->cfg.arch == MSR_ARCH_PEPNET ||
                                 (m->cfg.arch == MSR_ARCH_STAR && !m->cfg.star_aux_full_input);
  const guint d = m->cfg.embed_dim;

  m->params = msr_params_new ();
  m->embed = g_new0 (MsrParam *, m->n_fields);
  m->d0 = m->n_fields * d + (m->cfg.embed_scenario ? d : 0);
  if (!separate)
    for (guint f = 0; f < m->n_fields; f++)
      {
        const gint64 shape[2] = { m->fields[f].cardinality, d };
        m->embed[f] = msr_model_add_param (m, MSR_PARAM_TRAINABLE | MSR_PARAM_SPARSE_ROWS, 2, shape,
                                           "embeddings.%s.weight", m->field_keys[f]);
        msr_param_init_normal (m->embed[f], m->cfg.embed_init_std, rng);
      }
  if (need_scenario)
    {
      const gint64 shape[2] = { m->n_scenarios, d };
      m->scenario_embed = msr_model_add_param (m, MSR_PARAM_TRAINABLE | MSR_PARAM_SPARSE_ROWS, 2, shape,
                                               "scenario_embedding.weight");
      msr_param_init_normal (m->scenario_embed, m->cfg.embed_init_std, rng);
    }
}

static gboolean
check_config (const MsrModelConfig *cfg, guint n_scenarios, GError **error)
{
  const char *bad = NULL;
  if (cfg->arch >= MSR_N_ARCHS)
    bad = "unknown architecture";
  else if (cfg->embed_dim == 0 || cfg->embed_dim > 4096)
    bad = "embedding width must be 1 to 4096";
  else if (!(cfg->dropout >= 0 && cfg->dropout < 1))
    bad = "dropout must be in [0, 1)";
  else if (cfg->hidden.n > MSR_MAX_LAYERS || cfg->tower.n > MSR_MAX_LAYERS || cfg->aux.n > MSR_MAX_LAYERS)
    bad = "too many layers";
  else if ((cfg->arch == MSR_ARCH_STAR || cfg->arch == MSR_ARCH_PEPNET) && cfg->hidden.n == 0)
    bad = "STAR and PEPNet need at least one hidden layer";
  else if (cfg->arch == MSR_ARCH_PLE && (cfg->ple_levels == 0 || cfg->ple_levels > 8 ||
                                         cfg->ple_specific + cfg->ple_shared == 0 || cfg->hidden.n == 0))
    bad = "PLE needs 1 to 8 levels, at least one expert, and expert layers";
  else if (cfg->arch == MSR_ARCH_MMOE && (cfg->hidden.n == 0 || cfg->n_experts > 256))
    bad = "MMoE needs expert layers and at most 256 experts";
  else if (cfg->arch == MSR_ARCH_DNN_SEPARATE && cfg->embed_scenario)
    bad = "the scenario is constant within each separate model, so it cannot be an embedded field";
  else if (n_scenarios == 0)
    bad = "the dataset has no scenarios";
  else if (!cfg->llm4msr && (cfg->meta_no_user || cfg->meta_no_scenario || cfg->meta_shuffle_users ||
                             cfg->meta_id_only || cfg->meta_user_on_scenario))
    bad = "the LLM4MSR ablations need LLM4MSR";
  else if (cfg->llm4msr && cfg->meta_id_only && cfg->meta_shuffle_users)
    bad = "the ID-only and shuffled-vectors ablations exclude each other";
  if (bad)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "invalid %s model: %s",
                   msr_arch_to_string (cfg->arch), bad);
      return FALSE;
    }
  return TRUE;
}

static MsrModel *
model_new (const MsrModelConfig *cfg, guint n_fields, const MsrModelField *fields, guint user_field,
           guint item_field, guint n_scenarios, const char *const *scenario_names, guint64 seed,
           GError **error)
{
  if (!check_config (cfg, n_scenarios, error))
    return NULL;
  g_autoptr(MsrModel) m = g_new0 (MsrModel, 1);
  m->cfg = *cfg;
  m->klass = arch_classes[cfg->arch];
  m->n_fields = n_fields;
  m->fields = g_new0 (MsrModelField, n_fields);
  m->field_keys = g_new0 (char *, n_fields);
  for (guint f = 0; f < n_fields; f++)
    {
      m->fields[f] = fields[f];
      m->fields[f].name = g_strdup (fields[f].name);
      m->field_keys[f] = module_key (fields[f].name, m->field_keys, f);
    }
  m->user_field = user_field;
  m->item_field = item_field;
  m->n_scenarios = n_scenarios;
  m->scenario_names = g_new0 (char *, n_scenarios + 1);
  for (guint s = 0; s < n_scenarios; s++)
    m->scenario_names[s] = g_strdup (scenario_names[s]);

  MsrRng rng;
  msr_rng_init (&rng, seed);
  build_common (m, &rng);
  if (!m->klass->build (m, &rng, error))
    return NULL;
  if (cfg->llm4msr && !msr_llm4msr.build (m, &rng, error))
    return NULL;
  return g_steal_pointer (&m);
}

MsrModel *
msr_model_new_for_dataset (const MsrModelConfig *cfg, const MsrDataset *ds, guint64 seed, GError **error)
{
  const guint F = msr_dataset_get_n_fields (ds), S = msr_dataset_get_n_scenarios (ds);
  g_autofree MsrModelField *fields = g_new0 (MsrModelField, F);
  g_autofree const char **names = g_new0 (const char *, S + 1);
  for (guint f = 0; f < F; f++)
    {
      fields[f].name = (char *) msr_dataset_get_field_name (ds, f);
      fields[f].kind = msr_dataset_get_field_kind (ds, f);
      fields[f].cardinality = msr_dataset_get_field_cardinality (ds, f);
    }
  for (guint s = 0; s < S; s++)
    names[s] = msr_dataset_get_scenario_name (ds, s);
  MsrModel *m = model_new (cfg, F, fields, msr_dataset_get_user_field (ds), msr_dataset_get_item_field (ds),
                           S, names, seed, error);
  if (m == NULL)
    return NULL;
  m->vocab_fingerprint = g_strdup (msr_dataset_get_vocab_fingerprint (ds));
  m->dataset_fingerprint = g_strdup (msr_dataset_get_fingerprint (ds));
  m->vocab = g_new0 (GPtrArray *, F);
  for (guint f = 0; f < F; f++)
    {
      m->vocab[f] = g_ptr_array_new_with_free_func (g_free);
      for (guint c = 0; c < fields[f].cardinality; c++)
        g_ptr_array_add (m->vocab[f], g_strdup (msr_dataset_get_field_value (ds, f, (gint32) c)));
    }
  return m;
}

MsrModel *
msr_model_new_with_knowledge (const MsrModelConfig *cfg, const MsrDataset *ds, const MsrModelKnowledge *kn,
                              guint64 seed, GError **error)
{
  g_return_val_if_fail (cfg != NULL && ds != NULL && kn != NULL, NULL);
  MsrModelConfig c = *cfg;
  c.llm4msr = TRUE;
  c.knowledge_dim = kn->dim;
  g_autoptr(MsrModel) m = msr_model_new_for_dataset (&c, ds, seed, error);
  if (m == NULL || !msr_llm4msr.set_knowledge (m, ds, kn, seed, error))
    return NULL;
  return g_steal_pointer (&m);
}

const char *
msr_model_get_knowledge_json (const MsrModel *m)
{
  return m->knowledge_json;
}

gboolean
msr_model_check_knowledge (const MsrModel *m, const char *encoder, const char *user_fingerprint,
                           const char *scenario_fingerprint, GError **error)
{
  if (!m->cfg.llm4msr || m->cfg.meta_id_only || m->knowledge_json == NULL)
    return TRUE;
  g_autoptr(JsonNode) node = json_from_string (m->knowledge_json, NULL);
  JsonObject *o = node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *want_enc = o ? json_object_get_string_member_with_default (o, "encoder", NULL) : NULL;
  const char *want_u = o ? json_object_get_string_member_with_default (o, "user_fingerprint", NULL) : NULL;
  const char *want_s = o ? json_object_get_string_member_with_default (o, "scenario_fingerprint", NULL) : NULL;
  const char *what = NULL, *want = NULL, *have = NULL;
  if (g_strcmp0 (want_enc, encoder) != 0)
    what = "encoder", want = want_enc, have = encoder;
  else if (!m->cfg.meta_no_user && want_u && g_strcmp0 (want_u, user_fingerprint) != 0)
    what = "user vectors", want = want_u, have = user_fingerprint;
  else if ((!m->cfg.meta_no_scenario || m->cfg.meta_user_on_scenario) && want_s &&
           g_strcmp0 (want_s, scenario_fingerprint) != 0)
    what = "scenario vectors", want = want_s, have = scenario_fingerprint;
  if (what == NULL)
    return TRUE;
  g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH, "the model was trained with other knowledge: its %s "
               "were %s, the knowledge store now has %s (re-train the model, or restore the store it was "
               "trained with)", what, want ? want : "none", have ? have : "none");
  return FALSE;
}

/* ---- accessors -------------------------------------------------------------- */

const MsrModelConfig *msr_model_get_config (const MsrModel *m) { return &m->cfg; }
MsrParams *msr_model_get_params (MsrModel *m) { return m->params; }
guint msr_model_get_n_fields (const MsrModel *m) { return m->n_fields; }
const MsrModelField *msr_model_get_field (const MsrModel *m, guint i) { return &m->fields[i]; }
guint msr_model_get_n_scenarios (const MsrModel *m) { return m->n_scenarios; }
const char *msr_model_get_scenario_name (const MsrModel *m, guint s) { return m->scenario_names[s]; }
guint msr_model_get_repr_dim (const MsrModel *m) { return m->klass->repr_dim ((MsrModel *) m); }
const char *msr_model_get_config_json (const MsrModel *m) { return m->config_json; }
const char *msr_model_get_training_json (const MsrModel *m) { return m->training_json; }
const char *msr_model_get_dataset_fingerprint (const MsrModel *m) { return m->dataset_fingerprint; }
guint msr_model_get_user_field (const MsrModel *m) { return m->user_field; }
guint msr_model_get_item_field (const MsrModel *m) { return m->item_field; }

gint32
msr_model_encode (MsrModel *m, guint f, const char *value)
{
  g_return_val_if_fail (f < m->n_fields, -1);
  if (m->vocab == NULL || m->vocab[f] == NULL)
    return -1;
  if (m->vocab_index == NULL)
    m->vocab_index = g_new0 (GHashTable *, m->n_fields);
  if (m->vocab_index[f] == NULL)
    {
      m->vocab_index[f] = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint c = 1; c < m->vocab[f]->len; c++)
        g_hash_table_insert (m->vocab_index[f], g_ptr_array_index (m->vocab[f], c), GUINT_TO_POINTER (c));
    }
  return GPOINTER_TO_INT (g_hash_table_lookup (m->vocab_index[f], value));
}

const char *
msr_model_decode (const MsrModel *m, guint f, gint32 code)
{
  if (m->vocab == NULL || f >= m->n_fields || m->vocab[f] == NULL || code < 0 || (guint) code >= m->vocab[f]->len)
    return NULL;
  return g_ptr_array_index (m->vocab[f], code);
}

double
msr_model_flops_per_sample (const MsrModel *m)
{
  return m->klass->flops ((MsrModel *) m) + msr_llm4msr.flops ((MsrModel *) m);
}

gboolean
msr_model_check_dataset (const MsrModel *m, const MsrDataset *ds, GError **error)
{
  if (msr_dataset_get_n_fields (ds) != m->n_fields)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH,
                   "the model has %u fields but the dataset has %u", m->n_fields, msr_dataset_get_n_fields (ds));
      return FALSE;
    }
  for (guint f = 0; f < m->n_fields; f++)
    if (strcmp (msr_dataset_get_field_name (ds, f), m->fields[f].name) != 0 ||
        msr_dataset_get_field_kind (ds, f) != m->fields[f].kind ||
        msr_dataset_get_field_cardinality (ds, f) != m->fields[f].cardinality)
      {
        g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH,
                     "field %u: the model expects '%s' with %u values, the dataset has '%s' with %u",
                     f + 1, m->fields[f].name, m->fields[f].cardinality, msr_dataset_get_field_name (ds, f),
                     msr_dataset_get_field_cardinality (ds, f));
        return FALSE;
      }
  if (msr_dataset_get_n_scenarios (ds) != m->n_scenarios)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH, "the model has %u scenarios but the dataset has %u",
                   m->n_scenarios, msr_dataset_get_n_scenarios (ds));
      return FALSE;
    }
  for (guint s = 0; s < m->n_scenarios; s++)
    if (strcmp (msr_dataset_get_scenario_name (ds, s), m->scenario_names[s]) != 0)
      {
        g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH, "scenario %u is '%s' in the model but '%s' in the dataset",
                     s + 1, m->scenario_names[s], msr_dataset_get_scenario_name (ds, s));
        return FALSE;
      }
  if (m->vocab_fingerprint && strcmp (m->vocab_fingerprint, msr_dataset_get_vocab_fingerprint (ds)) != 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_MISMATCH,
                   "the dataset's vocabularies differ from the ones the model was trained with "
                   "(the same ids would get other codes)");
      return FALSE;
    }
  return TRUE;
}

/* ---- files ------------------------------------------------------------------ */

static void
json_dims (JsonBuilder *b, const char *key, const MsrDims *d)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (guint i = 0; i < d->n; i++)
    json_builder_add_int_value (b, d->dims[i]);
  json_builder_end_array (b);
}

static char *
config_to_json (const MsrModel *m, const char *training_json)
{
  const MsrModelConfig *c = &m->cfg;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
#define MEMBER(name) json_builder_set_member_name (b, name)
  MEMBER ("format"); json_builder_add_int_value (b, MODEL_FORMAT);
  MEMBER ("engine"); json_builder_add_string_value (b, "MSR Lens " MSR_VERSION);
  MEMBER ("architecture"); json_builder_add_string_value (b, msr_arch_to_string (c->arch));
  MEMBER ("embed_dim"); json_builder_add_int_value (b, c->embed_dim);
  MEMBER ("embed_init_std"); json_builder_add_double_value (b, c->embed_init_std);
  MEMBER ("batchnorm"); json_builder_add_boolean_value (b, c->batchnorm);
  MEMBER ("dropout"); json_builder_add_double_value (b, c->dropout);
  MEMBER ("embed_scenario"); json_builder_add_boolean_value (b, c->embed_scenario);
  json_dims (b, "hidden", &c->hidden);
  json_dims (b, "tower", &c->tower);
  MEMBER ("n_experts"); json_builder_add_int_value (b, c->n_experts);
  MEMBER ("ple_levels"); json_builder_add_int_value (b, c->ple_levels);
  MEMBER ("ple_specific"); json_builder_add_int_value (b, c->ple_specific);
  MEMBER ("ple_shared"); json_builder_add_int_value (b, c->ple_shared);
  json_dims (b, "aux", &c->aux);
  MEMBER ("star_aux_full_input"); json_builder_add_boolean_value (b, c->star_aux_full_input);
  MEMBER ("gate_gamma"); json_builder_add_double_value (b, c->gate_gamma);
  MEMBER ("gate_hidden"); json_builder_add_int_value (b, c->gate_hidden);
  if (c->llm4msr)
    {
      MEMBER ("llm4msr");
      json_builder_begin_object (b);
      MEMBER ("knowledge_dim"); json_builder_add_int_value (b, c->knowledge_dim);
      MEMBER ("dq"); json_builder_add_int_value (b, c->meta_dq);
      MEMBER ("rank"); json_builder_add_int_value (b, c->meta_rank);
      json_dims (b, "scenario_layers", &c->meta_scenario);
      MEMBER ("residual"); json_builder_add_boolean_value (b, c->meta_residual);
      MEMBER ("user_meta_conditions_on_scenario"); json_builder_add_boolean_value (b, c->meta_user_on_scenario);
      MEMBER ("no_user_level"); json_builder_add_boolean_value (b, c->meta_no_user);
      MEMBER ("no_scenario_level"); json_builder_add_boolean_value (b, c->meta_no_scenario);
      MEMBER ("shuffled_user_vectors"); json_builder_add_boolean_value (b, c->meta_shuffle_users);
      MEMBER ("id_only"); json_builder_add_boolean_value (b, c->meta_id_only);
      g_autoptr(JsonNode) kn = m->knowledge_json ? json_from_string (m->knowledge_json, NULL) : NULL;
      if (kn)
        {
          MEMBER ("knowledge");
          json_builder_add_value (b, g_steal_pointer (&kn));
        }
      json_builder_end_object (b);
    }
  MEMBER ("fields");
  json_builder_begin_array (b);
  for (guint f = 0; f < m->n_fields; f++)
    {
      json_builder_begin_object (b);
      MEMBER ("name"); json_builder_add_string_value (b, m->fields[f].name);
      MEMBER ("module"); json_builder_add_string_value (b, m->field_keys[f]);
      MEMBER ("kind"); json_builder_add_string_value (b, m->fields[f].kind == MSR_FIELD_MULTI_HOT ? "multi-hot" : "categorical");
      MEMBER ("cardinality"); json_builder_add_int_value (b, m->fields[f].cardinality);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  MEMBER ("user_field"); json_builder_add_int_value (b, m->user_field);
  MEMBER ("item_field"); json_builder_add_int_value (b, m->item_field);
  MEMBER ("scenarios");
  json_builder_begin_array (b);
  for (guint s = 0; s < m->n_scenarios; s++)
    json_builder_add_string_value (b, m->scenario_names[s]);
  json_builder_end_array (b);
  MEMBER ("vocab_fingerprint");
  if (m->vocab_fingerprint) json_builder_add_string_value (b, m->vocab_fingerprint); else json_builder_add_null_value (b);
  MEMBER ("dataset_fingerprint");
  if (m->dataset_fingerprint) json_builder_add_string_value (b, m->dataset_fingerprint); else json_builder_add_null_value (b);
  if (training_json)
    {
      g_autoptr(JsonNode) t = json_from_string (training_json, NULL);
      if (t)
        {
          MEMBER ("training");
          json_builder_add_value (b, g_steal_pointer (&t));
        }
    }
#undef MEMBER
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

static char *
vocab_to_json (const MsrModel *m)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  for (guint f = 0; f < m->n_fields; f++)
    {
      json_builder_set_member_name (b, m->fields[f].name);
      json_builder_begin_array (b);
      for (guint c = 1; m->vocab[f] && c < m->vocab[f]->len; c++)
        json_builder_add_string_value (b, g_ptr_array_index (m->vocab[f], c));
      json_builder_end_array (b);
    }
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

gboolean
msr_model_save (MsrModel *m, const char *path, const char *extra_json, GError **error)
{
  g_autoptr(MsrSafetensorsWriter) w = msr_safetensors_writer_new ();
  g_autofree char *config = config_to_json (m, extra_json ? extra_json : m->training_json);
  msr_safetensors_writer_add_metadata (w, MSR_SAFETENSORS_CONFIG_KEY, config);
  if (m->vocab)
    {
      g_autofree char *vocab = vocab_to_json (m);
      msr_safetensors_writer_add_metadata (w, VOCAB_KEY, vocab);
    }
  for (guint i = 0; i < msr_params_get_n (m->params); i++)
    {
      MsrParam *p = msr_params_get (m->params, i);
      if (p->flags & MSR_PARAM_COUNTER)
        {
          g_autofree gint64 *v = g_new (gint64, MAX (p->size, 1));
          for (gsize k = 0; k < p->size; k++)
            v[k] = (gint64) llround (p->value[k]);
          msr_safetensors_writer_add_i64 (w, p->name, p->shape, p->n_dims, v);
        }
      else
        {
#ifdef MSR_REAL_DOUBLE
          g_autofree float *v = g_new (float, MAX (p->size, 1));
          for (gsize k = 0; k < p->size; k++)
            v[k] = (float) p->value[k];
          msr_safetensors_writer_add_f32 (w, p->name, p->shape, p->n_dims, v);
#else
          msr_safetensors_writer_add_f32 (w, p->name, p->shape, p->n_dims, p->value);
#endif
        }
    }
  if (!msr_safetensors_writer_save (w, path, error))
    return FALSE;
  g_free (m->config_json);
  m->config_json = g_steal_pointer (&config);
  return TRUE;
}

/* Reading the configuration back: every key is checked. */
typedef struct {
  const char *file;
  JsonObject *o;
  GError    **error;
  gboolean    ok;
} ConfigReader;

static gboolean
cfg_fail (ConfigReader *r, const char *key, const char *what)
{
  if (r->ok)
    g_set_error (r->error, MSR_ERROR, MSR_ERROR_PARSE, "%s: configuration key '%s': %s", r->file, key, what);
  r->ok = FALSE;
  return FALSE;
}

static gint64
cfg_int (ConfigReader *r, const char *key, gint64 min, gint64 max)
{
  JsonNode *n = json_object_get_member (r->o, key);
  if (n == NULL || json_node_get_value_type (n) != G_TYPE_INT64)
    return cfg_fail (r, key, "missing or not an integer"), 0;
  gint64 v = json_node_get_int (n);
  if (v < min || v > max)
    return cfg_fail (r, key, "out of range"), 0;
  return v;
}

static double
cfg_double (ConfigReader *r, const char *key)
{
  JsonNode *n = json_object_get_member (r->o, key);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) ||
      (json_node_get_value_type (n) != G_TYPE_DOUBLE && json_node_get_value_type (n) != G_TYPE_INT64))
    return cfg_fail (r, key, "missing or not a number"), 0;
  return json_node_get_double (n);
}

static gboolean
cfg_bool (ConfigReader *r, const char *key)
{
  JsonNode *n = json_object_get_member (r->o, key);
  if (n == NULL || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
    return cfg_fail (r, key, "missing or not true/false");
  return json_node_get_boolean (n);
}

static void
cfg_dims (ConfigReader *r, const char *key, MsrDims *d)
{
  JsonNode *n = json_object_get_member (r->o, key);
  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n))
    {
      cfg_fail (r, key, "missing or not a list of widths");
      return;
    }
  JsonArray *a = json_node_get_array (n);
  if (json_array_get_length (a) > MSR_MAX_LAYERS)
    {
      cfg_fail (r, key, "too many layers");
      return;
    }
  d->n = json_array_get_length (a);
  for (guint i = 0; i < d->n; i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (json_node_get_value_type (e) != G_TYPE_INT64 || json_node_get_int (e) < 1 || json_node_get_int (e) > 65536)
        {
          cfg_fail (r, key, "widths must be integers from 1 to 65536");
          return;
        }
      d->dims[i] = (guint) json_node_get_int (e);
    }
}

static const char *
cfg_string (ConfigReader *r, JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL || json_node_get_value_type (n) != G_TYPE_STRING)
    return cfg_fail (r, key, "missing or not a string"), NULL;
  return json_node_get_string (n);
}

MsrModel *
msr_model_load (const char *path, GError **error)
{
  g_autoptr(MsrSafetensors) st = msr_safetensors_open (path, error);
  if (st == NULL)
    return NULL;
  const char *config = msr_safetensors_get_metadata (st, MSR_SAFETENSORS_CONFIG_KEY);
  if (config == NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_SCHEMA,
                   "%s: no '%s' entry in the metadata: not an MSR Lens model (a PyTorch export needs the "
                   "configuration described in docs/FORMATS.md §8)", path, MSR_SAFETENSORS_CONFIG_KEY);
      return NULL;
    }
  gsize deep_at = 0;
  if (!msr_json_depth_ok (config, -1, MSR_JSON_MAX_DEPTH, &deep_at))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: metadata '%s' nests JSON more than %d deep (at byte %"
                   G_GSIZE_FORMAT "): the file is corrupt or not an MSR Lens model", path,
                   MSR_SAFETENSORS_CONFIG_KEY, MSR_JSON_MAX_DEPTH, deep_at + 1);
      return NULL;
    }
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  if (!json_parser_load_from_data (parser, config, -1, &local) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: the configuration is not a JSON object%s%s", path,
                   local ? ": " : "", local ? local->message : "");
      return NULL;
    }
  JsonObject *o = json_node_get_object (json_parser_get_root (parser));
  ConfigReader r = { path, o, error, TRUE };

  MsrModelConfig cfg;
  gint64 format = cfg_int (&r, "format", 1, G_MAXINT);
  if (r.ok && format > MODEL_FORMAT)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: model format %" G_GINT64_FORMAT
                   " is newer than this MSR Lens reads (%d)", path, format, MODEL_FORMAT);
      return NULL;
    }
  const char *arch_name = cfg_string (&r, o, "architecture");
  MsrArch arch = MSR_ARCH_DNN;
  if (r.ok && !msr_arch_from_string (arch_name, &arch))
    cfg_fail (&r, "architecture", "not one of dnn, dnn-separate, shared-bottom, mmoe, ple, star, pepnet");
  if (!r.ok)
    return NULL;
  msr_model_config_init (&cfg, arch);
  cfg.embed_dim = (guint) cfg_int (&r, "embed_dim", 1, 4096);
  cfg.embed_init_std = cfg_double (&r, "embed_init_std");
  cfg.batchnorm = cfg_bool (&r, "batchnorm");
  cfg.dropout = cfg_double (&r, "dropout");
  cfg.embed_scenario = cfg_bool (&r, "embed_scenario");
  cfg_dims (&r, "hidden", &cfg.hidden);
  cfg_dims (&r, "tower", &cfg.tower);
  cfg.n_experts = (guint) cfg_int (&r, "n_experts", 0, 256);
  cfg.ple_levels = (guint) cfg_int (&r, "ple_levels", 0, 8);
  cfg.ple_specific = (guint) cfg_int (&r, "ple_specific", 0, 64);
  cfg.ple_shared = (guint) cfg_int (&r, "ple_shared", 0, 64);
  cfg_dims (&r, "aux", &cfg.aux);
  cfg.star_aux_full_input = cfg_bool (&r, "star_aux_full_input");
  cfg.gate_gamma = cfg_double (&r, "gate_gamma");
  cfg.gate_hidden = (guint) cfg_int (&r, "gate_hidden", 1, 65536);
  JsonNode *ln = json_object_get_member (o, "llm4msr");
  g_autofree char *knowledge_json = NULL;
  if (r.ok && ln != NULL)
    {
      if (!JSON_NODE_HOLDS_OBJECT (ln))
        cfg_fail (&r, "llm4msr", "not an object");
      else
        {
          ConfigReader lr = { path, json_node_get_object (ln), error, TRUE };
          cfg.llm4msr = TRUE;
          cfg.knowledge_dim = (guint) cfg_int (&lr, "knowledge_dim", 1, 65536);
          cfg.meta_dq = (guint) cfg_int (&lr, "dq", 1, 4096);
          cfg.meta_rank = (guint) cfg_int (&lr, "rank", 0, 4096);
          cfg_dims (&lr, "scenario_layers", &cfg.meta_scenario);
          cfg.meta_residual = cfg_bool (&lr, "residual");
          cfg.meta_user_on_scenario = cfg_bool (&lr, "user_meta_conditions_on_scenario");
          cfg.meta_no_user = cfg_bool (&lr, "no_user_level");
          cfg.meta_no_scenario = cfg_bool (&lr, "no_scenario_level");
          cfg.meta_shuffle_users = cfg_bool (&lr, "shuffled_user_vectors");
          cfg.meta_id_only = cfg_bool (&lr, "id_only");
          JsonNode *kn = json_object_get_member (lr.o, "knowledge");
          if (kn && JSON_NODE_HOLDS_OBJECT (kn))
            knowledge_json = json_to_string (kn, FALSE);
          r.ok = lr.ok;
        }
    }

  JsonNode *fn = json_object_get_member (o, "fields");
  JsonNode *sn = json_object_get_member (o, "scenarios");
  if (r.ok && (fn == NULL || !JSON_NODE_HOLDS_ARRAY (fn) || json_array_get_length (json_node_get_array (fn)) == 0 ||
               json_array_get_length (json_node_get_array (fn)) > 1024))
    cfg_fail (&r, "fields", "missing, empty or not a list");
  if (r.ok && (sn == NULL || !JSON_NODE_HOLDS_ARRAY (sn) || json_array_get_length (json_node_get_array (sn)) == 0 ||
               json_array_get_length (json_node_get_array (sn)) > 65535))
    cfg_fail (&r, "scenarios", "missing, empty or not a list");
  if (!r.ok)
    return NULL;
  JsonArray *fa = json_node_get_array (fn), *sa = json_node_get_array (sn);
  const guint F = json_array_get_length (fa), S = json_array_get_length (sa);
  g_autofree MsrModelField *fields = g_new0 (MsrModelField, F);
  g_autofree const char **names = g_new0 (const char *, S + 1);
  for (guint f = 0; f < F && r.ok; f++)
    {
      JsonNode *e = json_array_get_element (fa, f);
      if (!JSON_NODE_HOLDS_OBJECT (e))
        {
          cfg_fail (&r, "fields", "entries must be objects");
          break;
        }
      ConfigReader fr = { path, json_node_get_object (e), error, TRUE };
      fields[f].name = (char *) cfg_string (&fr, fr.o, "name");
      const char *kind = fr.ok ? cfg_string (&fr, fr.o, "kind") : NULL;
      fields[f].cardinality = fr.ok ? (guint) cfg_int (&fr, "cardinality", 1, G_MAXINT32) : 0;
      if (fr.ok && g_strcmp0 (kind, "categorical") != 0 && g_strcmp0 (kind, "multi-hot") != 0)
        cfg_fail (&fr, "kind", "must be categorical or multi-hot");
      fields[f].kind = g_strcmp0 (kind, "multi-hot") == 0 ? MSR_FIELD_MULTI_HOT : MSR_FIELD_CATEGORICAL;
      r.ok = fr.ok;
    }
  for (guint s = 0; s < S && r.ok; s++)
    {
      JsonNode *e = json_array_get_element (sa, s);
      if (json_node_get_value_type (e) != G_TYPE_STRING)
        cfg_fail (&r, "scenarios", "entries must be strings");
      else
        names[s] = json_node_get_string (e);
    }
  guint user_field = r.ok ? (guint) cfg_int (&r, "user_field", 0, F - 1) : 0;
  guint item_field = r.ok ? (guint) cfg_int (&r, "item_field", 0, F - 1) : 0;
  if (!r.ok)
    return NULL;

  g_autoptr(GError) build_error = NULL;
  g_autoptr(MsrModel) m = model_new (&cfg, F, fields, user_field, item_field, S, names, 0, &build_error);
  if (m == NULL)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: %s", path, build_error->message);
      return NULL;
    }
  JsonNode *vf = json_object_get_member (o, "vocab_fingerprint");
  if (vf && json_node_get_value_type (vf) == G_TYPE_STRING)
    m->vocab_fingerprint = g_strdup (json_node_get_string (vf));
  JsonNode *df = json_object_get_member (o, "dataset_fingerprint");
  if (df && json_node_get_value_type (df) == G_TYPE_STRING)
    m->dataset_fingerprint = g_strdup (json_node_get_string (df));
  m->knowledge_json = g_steal_pointer (&knowledge_json);
  JsonNode *tn = json_object_get_member (o, "training");
  if (tn && JSON_NODE_HOLDS_OBJECT (tn))
    m->training_json = json_to_string (tn, FALSE);
  m->config_json = g_strdup (config);

  /* Every tensor the configuration implies, and nothing else. */
  const guint n_params = msr_params_get_n (m->params);
  g_autofree MsrTensorSpec *specs = g_new0 (MsrTensorSpec, n_params);
  for (guint i = 0; i < n_params; i++)
    {
      MsrParam *p = msr_params_get (m->params, i);
      specs[i].name = p->name;
      specs[i].dtype = (p->flags & MSR_PARAM_COUNTER) ? MSR_DTYPE_I64 : MSR_DTYPE_F32;
      specs[i].n_dims = p->n_dims;
      memcpy (specs[i].shape, p->shape, sizeof p->shape);
    }
  if (!msr_safetensors_check_tensors (st, specs, n_params, error))
    return NULL;
  for (guint i = 0; i < n_params; i++)
    {
      MsrParam *p = msr_params_get (m->params, i);
      if (p->flags & MSR_PARAM_COUNTER)
        {
          g_autofree gint64 *v = g_new (gint64, MAX (p->size, 1));
          if (!msr_safetensors_read_i64 (st, p->name, v, p->size, error))
            return NULL;
          for (gsize k = 0; k < p->size; k++)
            p->value[k] = (msr_real) v[k];
          continue;
        }
#ifdef MSR_REAL_DOUBLE
      g_autofree float *v = g_new (float, MAX (p->size, 1));
      if (!msr_safetensors_read_f32 (st, p->name, v, p->size, error))
        return NULL;
      for (gsize k = 0; k < p->size; k++)
        p->value[k] = v[k];
#else
      if (!msr_safetensors_read_f32 (st, p->name, p->value, p->size, error))
        return NULL;
#endif
      for (gsize k = 0; k < p->size; k++)
        if (!isfinite (p->value[k]))
          {
            g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: tensor '%s' holds a NaN or infinite value",
                         path, p->name);
            return NULL;
          }
    }

  /* Vocabularies, for scoring raw rows without the project. */
  const char *vocab = msr_safetensors_get_metadata (st, VOCAB_KEY);
  if (vocab)
    {
      g_autoptr(JsonParser) vp = json_parser_new ();
      if (!msr_json_depth_ok (vocab, -1, MSR_JSON_MAX_DEPTH, &deep_at))
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: metadata '%s' nests JSON more than %d deep (at byte %"
                       G_GSIZE_FORMAT "): the file is corrupt or not an MSR Lens model", path, VOCAB_KEY,
                       MSR_JSON_MAX_DEPTH, deep_at + 1);
          return NULL;
        }
      if (!json_parser_load_from_data (vp, vocab, -1, NULL) || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (vp)))
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE, "%s: metadata '%s' is not a JSON object", path, VOCAB_KEY);
          return NULL;
        }
      JsonObject *vo = json_node_get_object (json_parser_get_root (vp));
      m->vocab = g_new0 (GPtrArray *, F);
      for (guint f = 0; f < F; f++)
        {
          JsonNode *an = json_object_get_member (vo, m->fields[f].name);
          if (an == NULL || !JSON_NODE_HOLDS_ARRAY (an) ||
              json_array_get_length (json_node_get_array (an)) + 1 != m->fields[f].cardinality)
            {
              g_set_error (error, MSR_ERROR, MSR_ERROR_PARSE,
                           "%s: the vocabulary of field '%s' is missing or does not have %u values",
                           path, m->fields[f].name, m->fields[f].cardinality - 1);
              return NULL;
            }
          JsonArray *a = json_node_get_array (an);
          m->vocab[f] = g_ptr_array_new_with_free_func (g_free);
          g_ptr_array_add (m->vocab[f], g_strdup ("<unknown>"));
          for (guint c = 0; c < json_array_get_length (a); c++)
            {
              const char *v = json_array_get_string_element (a, c);
              g_ptr_array_add (m->vocab[f], g_strdup (v ? v : ""));
            }
        }
    }
  return g_steal_pointer (&m);
}

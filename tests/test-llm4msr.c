/* LLM4MSR end to end on a simulated world with planted knowledge: the
 * planted vectors beat the same vectors shuffled across users; model files
 * keep the meta networks and the knowledge they were trained with and
 * refuse a store whose vectors changed; the generated layers the workbench
 * shows are the ones the forward pass applies. */
#include "config.h"
#include "test-util.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "msr-explain.h"
#include "msr-knowledge.h"
#include "msr-linalg.h"
#include "msr-model-private.h"
#include "msr-pipeline.h"
#include "msr-simulate.h"

static char *tmp_root;

/* A small world with its planted knowledge; returns the project folder. */
static char *
planted_world (const char *name, guint64 n_rows, guint n_users)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_build_filename (tmp_root, name, NULL);
  MsrSimOptions o;
  msr_sim_options_init (&o);
  o.seed = 7;
  o.n_rows = n_rows;
  o.n_users = n_users;
  msr_sim_write_project (dir, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  msr_sim_write_planted_knowledge (dir, &o, &error);
  g_assert_no_error (error);
  return dir;
}

static double
train_and_test_auc (MsrProject *project, const MsrDataset *ds, const MsrModelConfig *cfg, MsrModel **keep)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrModel) model = msr_pipeline_new_model (project, ds, cfg, 42, &error);
  g_assert_no_error (error);
  MsrTrainOptions opts;
  msr_train_options_init (&opts);
  opts.threads = 1;
  g_autoptr(MsrTrainResult) res = msr_train (model, ds, &opts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  MsrEvalOptions eo;
  msr_eval_options_init (&eo);
  eo.replicates = 0;
  eo.record = FALSE;
  eo.threads = 1;
  g_autoptr(MsrEvaluation) ev = msr_pipeline_evaluate (project, ds, model, NULL, &eo, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  const MsrMetrics *overall = &ev->metrics->overall;
  if (keep)
    *keep = g_steal_pointer (&model);
  return overall->auc;
}

/* The planted scenario knowledge's correlation is stored as an encoder's
 * is, and it is what the planted vectors [L_s, α_s] give:
 * (C_st + α_s α_t) / sqrt((1 + α_s²)(1 + α_t²)). */
static void
test_planted_correlation (void)
{
  g_autofree char *dir = planted_world ("planted-correlation", 3000, 200);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) project = msr_project_open (dir, &error);
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (project, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(MsrSimTruth) truth = msr_sim_truth_load (dir, &error);
  g_assert_no_error (error);
  g_autoptr(MsrSimRecovery) rec = msr_sim_recovery_compute (truth, ds, &error);
  g_assert_no_error (error);
  const guint S = rec->n_scenarios;
  g_autofree char *path = g_build_filename (dir, MSR_KNOWLEDGE_FILE, NULL);
  g_autoptr(MsrKnowledge) k = msr_knowledge_open (path, MSR_KNOWLEDGE_READ_ONLY, &error);
  g_assert_no_error (error);
  g_autofree double *cos = msr_knowledge_get_correlation (k, "llm:planted", (const char *const *) rec->names, S,
                                                          &error);
  g_assert_no_error (error);
  g_assert_nonnull (cos);
  for (guint s = 0; s < S; s++)
    for (guint t = 0; t < S; t++)
      {
        const double as = rec->alpha[s], at = rec->alpha[t];
        const double want = (rec->planted[s * S + t] + as * at) / sqrt ((1 + as * as) * (1 + at * at));
        g_assert_cmpfloat_with_epsilon (cos[s * S + t], want, 1e-5);
      }
}

/* Knowledge that carries the planted structure must beat the same vectors
 * handed to the wrong users. */
static void
test_planted_beats_shuffled (void)
{
  g_autofree char *dir = planted_world ("planted", 40000, 800);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) project = msr_project_open (dir, &error);
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (project, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  MsrModelConfig cfg;
  msr_model_config_init (&cfg, MSR_ARCH_STAR);
  double plain = train_and_test_auc (project, ds, &cfg, NULL);
  cfg.llm4msr = TRUE;
  double planted = train_and_test_auc (project, ds, &cfg, NULL);
  cfg.meta_shuffle_users = TRUE;
  double shuffled = train_and_test_auc (project, ds, &cfg, NULL);
  g_test_message ("STAR test AUC: alone %.4f, + LLM4MSR with planted knowledge %.4f, with it shuffled %.4f",
                  plain, planted, shuffled);
  g_assert_cmpfloat (planted, >, shuffled + 0.01);
  g_assert_cmpfloat (planted, >, plain + 0.01);
}

/* The generated user layer of a row's user, applied by hand, is what the
 * forward pass computes; the scenario layers have the widths asked for. */
static void
test_meta_weights (void)
{
  g_autofree char *dir = planted_world ("weights", 6000, 300);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) project = msr_project_open (dir, &error);
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (project, NULL, NULL, NULL, &error);
  MsrModelConfig cfg;
  msr_model_config_init (&cfg, MSR_ARCH_MMOE);
  cfg.llm4msr = TRUE;
  g_autoptr(MsrModel) model = msr_pipeline_new_model (project, ds, &cfg, 3, &error);
  g_assert_no_error (error);
  /* Generators start near zero: give them weight so users differ. */
  MsrParams *ps = msr_model_get_params (model);
  MsrRng rng;
  msr_rng_init (&rng, 5);
  for (guint i = 0; i < msr_params_get_n (ps); i++)
    {
      MsrParam *p = msr_params_get (ps, i);
      if (g_str_has_prefix (p->name, "llm4msr.") && strstr (p->name, "gen_"))
        msr_param_init_normal (p, 0.05, &rng);
    }

  g_autoptr(MsrBatch) batch = msr_batch_new (model);
  const guint32 rows[3] = { 0, 1, 2 };
  msr_batch_fill (batch, ds, rows, 3);
  g_autoptr(MsrGraph) g = msr_graph_new ();
  msr_graph_set_training (g, FALSE);
  MsrForward f = { 0 };
  msr_model_forward (model, g, batch, &f);
  const guint H = msr_model_get_repr_dim (model);
  g_assert_cmpuint (msr_node_cols (f.h), ==, H);
  const gint32 *ucodes = msr_dataset_get_field_codes (ds, msr_dataset_get_user_field (ds));
  for (guint r = 0; r < 3; r++)
    {
      const char *user = msr_dataset_get_field_value (ds, msr_dataset_get_user_field (ds), ucodes[rows[r]]);
      g_autofree float *w = NULL, *b = NULL;
      guint out, in;
      g_assert_true (msr_model_meta_user_layer (model, user, &w, &out, &in, &b, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (out, ==, H);
      g_assert_cmpuint (in, ==, H);
      const msr_real *h = msr_node_value (f.h_backbone) + (gsize) r * H;
      const msr_real *hp = msr_node_value (f.h) + (gsize) r * H;
      for (guint o = 0; o < H; o++)
        {
          double y = b[o];
          for (guint i = 0; i < H; i++)
            y += (double) w[(gsize) o * H + i] * h[i];
          double want = (y > 0 ? y : 0) + h[o];   /* relu, then the residual */
          g_assert_cmpfloat_with_epsilon (hp[o], want, 1e-4 * (1 + fabs (want)));
        }
    }
  /* Two users' layers differ; an unknown user gets the learned one. */
  g_autofree float *w1 = NULL, *w2 = NULL, *wu = NULL, *b1 = NULL, *b2 = NULL, *bu = NULL;
  guint o1, i1;
  g_assert_true (msr_model_meta_user_layer (model, "u1", &w1, &o1, &i1, &b1, &error));
  g_assert_true (msr_model_meta_user_layer (model, "u2", &w2, &o1, &i1, &b2, &error));
  g_assert_true (msr_model_meta_user_layer (model, "nobody", &wu, &o1, &i1, &bu, &error));
  g_assert_true (memcmp (w1, w2, (gsize) o1 * i1 * sizeof (float)) != 0);
  g_assert_true (memcmp (w1, wu, (gsize) o1 * i1 * sizeof (float)) != 0);
  g_assert_cmpuint (msr_model_meta_scenario_n_layers (model), ==, 2);
  g_autofree float *sw = NULL, *sb = NULL;
  guint so, si;
  g_assert_true (msr_model_meta_scenario_layer (model, 0, 1, &sw, &so, &si, &sb, &error));
  g_assert_cmpuint (so, ==, 1);
  g_assert_cmpuint (si, ==, 32);
  g_assert_false (msr_model_meta_scenario_layer (model, 0, 2, &sw, &so, &si, &sb, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
}

/* The user layer of key vector k (k_dim wide) from the tensors, by the
 * definition (full rank): W = base + Σ_t q_t gen[:, t, :], b likewise. */
static void
user_layer_by_hand (MsrParams *ps, const double *k, guint k_dim, guint H, double *w, double *b)
{
  MsrParam *cw = msr_params_lookup (ps, "llm4msr.user_meta.compress.weight");
  MsrParam *cb = msr_params_lookup (ps, "llm4msr.user_meta.compress.bias");
  MsrParam *gw = msr_params_lookup (ps, "llm4msr.user_meta.gen_weight");
  MsrParam *bw = msr_params_lookup (ps, "llm4msr.user_meta.base_weight");
  MsrParam *gb = msr_params_lookup (ps, "llm4msr.user_meta.gen_bias");
  MsrParam *bb = msr_params_lookup (ps, "llm4msr.user_meta.base_bias");
  const guint dq = cb->size;
  g_autofree double *q = g_new (double, dq);
  for (guint t = 0; t < dq; t++)
    {
      double s = cb->value[t];
      for (guint j = 0; j < k_dim; j++)
        s += cw->value[(gsize) t * k_dim + j] * k[j];
      q[t] = s > 0 ? s : 0;
    }
  for (guint o = 0; o < H; o++)
    {
      b[o] = bb->value[o];
      for (guint t = 0; t < dq; t++)
        b[o] += q[t] * gb->value[(gsize) o * dq + t];
      for (guint i = 0; i < H; i++)
        {
          double s = bw->value[(gsize) o * H + i];
          for (guint t = 0; t < dq; t++)
            s += q[t] * gw->value[((gsize) o * dq + t) * H + i];
          w[(gsize) o * H + i] = s;
        }
    }
}

/* Generators with weight (their initial 1e-3 would hide a mixed-up key)
 * and a quarter of the users without a vector, as users the store lacks;
 * keep_user (or -1) keeps its vector. */
static void
weigh_generators_drop_users (MsrParams *ps, gint32 keep_user)
{
  MsrRng rng;
  msr_rng_init (&rng, 5);
  for (guint i = 0; i < msr_params_get_n (ps); i++)
    {
      MsrParam *p = msr_params_get (ps, i);
      if (g_str_has_prefix (p->name, "llm4msr.") && strstr (p->name, "gen_"))
        msr_param_init_normal (p, 0.05, &rng);
    }
  MsrParam *known = msr_params_lookup (ps, "llm4msr.user_known");
  MsrParam *uk = msr_params_lookup (ps, "llm4msr.user_knowledge");
  for (gsize c = 1; known && c < known->size; c += 4)
    if ((gint32) c != keep_user)
      {
        known->value[c] = 0;
        memset (uk->value + c * uk->shape[1], 0, uk->shape[1] * sizeof (msr_real));
      }
}

/* Every row goes through its own key's layers, whichever way they are
 * applied (once per key, or per row): h' of each row by hand from its
 * user's exported layer (from the tensors when G_u reads k_s too), and the
 * scenario branch's logit from its scenario's exported layers. The batch
 * mixes users with one row and with many (some consecutive), users without
 * a vector (who share the learned one) and every scenario, so rows given
 * another key's layer fail it. */
static void
test_grouped_rows (void)
{
  g_autofree char *dir = planted_world ("grouped", 6000, 300);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) project = msr_project_open (dir, &error);
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (project, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  const guint uf = msr_dataset_get_user_field (ds);
  const gint32 *ucodes = msr_dataset_get_field_codes (ds, uf);
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  const gsize N = msr_dataset_get_n_rows (ds);
  /* Every 7th row but user 5's, then all of user 5's rows in a run. */
  const gint32 run_user = ucodes[5];
  g_autoptr(GArray) rows = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (guint32 r = 0; r < N; r += 7)
    if (ucodes[r] != run_user)
      g_array_append_val (rows, r);
  guint run = 0;
  for (guint32 r = 0; r < N; r++)
    if (ucodes[r] == run_user)
      {
        g_array_append_val (rows, r);
        run++;
      }
  g_assert_cmpuint (run, >=, 8);
  const gsize B = rows->len;

  for (int variant = 0; variant < 3; variant++)
    {
      MsrModelConfig cfg;
      msr_model_config_init (&cfg, MSR_ARCH_STAR);
      cfg.llm4msr = TRUE;
      cfg.meta_rank = variant == 1 ? 4 : 0;
      cfg.meta_user_on_scenario = variant == 2;
      g_autoptr(MsrModel) model = msr_pipeline_new_model (project, ds, &cfg, 3, &error);
      g_assert_no_error (error);
      MsrParams *ps = msr_model_get_params (model);
      weigh_generators_drop_users (ps, run_user);
      MsrParam *known = msr_params_lookup (ps, "llm4msr.user_known");
      MsrParam *uk = msr_params_lookup (ps, "llm4msr.user_knowledge");
      MsrParam *sk = msr_params_lookup (ps, "llm4msr.scenario_knowledge");
      MsrParam *unknown = msr_params_lookup (ps, "llm4msr.unknown_user");
      const guint d = uk->shape[1];
      /* The last scenario layer, to switch the branch off and on. */
      const guint L = msr_model_meta_scenario_n_layers (model);
      g_autofree char *last = g_strdup_printf ("llm4msr.scenario_meta.%u.", L - 1);

      g_autoptr(MsrBatch) batch = msr_batch_new (model);
      msr_batch_fill (batch, ds, (const guint32 *) rows->data, B);
      const guint H = msr_model_get_repr_dim (model);
      for (int form = MSR_LLM4MSR_FORM_AUTO; form <= MSR_LLM4MSR_FORM_PER_ROW; form++)
        {
          msr_llm4msr_set_form (model, form);
          g_autoptr(MsrGraph) g = msr_graph_new ();
          msr_graph_set_training (g, FALSE);
          MsrForward f = { 0 };
          msr_model_forward (model, g, batch, &f);
          /* Without the branch (its last layer at zero): the tower alone. */
          g_autoptr(GPtrArray) saved = g_ptr_array_new_with_free_func (g_free);
          for (guint i = 0; i < msr_params_get_n (ps); i++)
            {
              MsrParam *p = msr_params_get (ps, i);
              if (g_str_has_prefix (p->name, last))
                {
                  g_ptr_array_add (saved, g_memdup2 (p->value, p->size * sizeof (msr_real)));
                  memset (p->value, 0, p->size * sizeof (msr_real));
                }
            }
          g_autoptr(MsrGraph) g2 = msr_graph_new ();
          msr_graph_set_training (g2, FALSE);
          const msr_real *z_tower = msr_node_value (msr_model_forward (model, g2, batch, NULL));
          for (guint i = 0, k = 0; i < msr_params_get_n (ps); i++)
            {
              MsrParam *p = msr_params_get (ps, i);
              if (g_str_has_prefix (p->name, last))
                memcpy (p->value, g_ptr_array_index (saved, k++), p->size * sizeof (msr_real));
            }

          for (gsize r = 0; r < B; r++)
            {
              const guint32 row = g_array_index (rows, guint32, r);
              const gint32 c = ucodes[row];
              const guint s = scen[row];
              g_autofree double *w = g_new (double, (gsize) H * H), *b = g_new (double, H);
              if (variant == 2)
                {
                  g_autofree double *k = g_new (double, 2 * d);
                  const gboolean has = known->value[c] > 0.5;
                  for (guint j = 0; j < d; j++)
                    {
                      k[j] = has ? uk->value[(gsize) c * d + j] : unknown->value[j];
                      k[d + j] = sk->value[(gsize) s * d + j];
                    }
                  user_layer_by_hand (ps, k, 2 * d, H, w, b);
                  /* The exported layer of this user in this scenario is the same. */
                  g_autofree float *fw = NULL, *fb = NULL;
                  guint out, in;
                  g_assert_true (msr_model_meta_user_layer_in_scenario (model, msr_dataset_get_field_value (ds, uf, c),
                                                                        (int) s, &fw, &out, &in, &fb, &error));
                  g_assert_no_error (error);
                  g_assert_cmpuint (out, ==, H);
                  g_assert_cmpuint (in, ==, H);
                  for (gsize i = 0; i < (gsize) H * H; i++)
                    g_assert_cmpfloat_with_epsilon (fw[i], w[i], 1e-5 * (1 + fabs (w[i])));
                  for (guint o = 0; o < H; o++)
                    g_assert_cmpfloat_with_epsilon (fb[o], b[o], 1e-5 * (1 + fabs (b[o])));
                }
              else
                {
                  g_autofree float *fw = NULL, *fb = NULL;
                  guint out, in;
                  g_assert_true (msr_model_meta_user_layer (model, msr_dataset_get_field_value (ds, uf, c), &fw,
                                                            &out, &in, &fb, &error));
                  g_assert_no_error (error);
                  for (gsize i = 0; i < (gsize) H * H; i++)
                    w[i] = fw[i];
                  for (guint o = 0; o < H; o++)
                    b[o] = fb[o];
                }
              const msr_real *h = msr_node_value (f.h_backbone) + r * H, *hp = msr_node_value (f.h) + r * H;
              for (guint o = 0; o < H; o++)
                {
                  double y = b[o];
                  for (guint i = 0; i < H; i++)
                    y += w[(gsize) o * H + i] * h[i];
                  const double want = (y > 0 ? y : 0) + h[o];
                  g_assert_cmpfloat_with_epsilon (hp[o], want, 1e-4 * (1 + fabs (want)));
                }
              /* The branch on h'. */
              g_autofree double *m = g_new (double, H);
              guint width = H;
              for (guint o = 0; o < H; o++)
                m[o] = hp[o];
              for (guint l = 0; l < L; l++)
                {
                  g_autofree float *sw = NULL, *sb = NULL;
                  guint out, in;
                  g_assert_true (msr_model_meta_scenario_layer (model, s, l, &sw, &out, &in, &sb, &error));
                  g_assert_cmpuint (in, ==, width);
                  g_autofree double *next = g_new (double, out);
                  for (guint o = 0; o < out; o++)
                    {
                      double y = sb[o];
                      for (guint i = 0; i < in; i++)
                        y += (double) sw[(gsize) o * in + i] * m[i];
                      next[o] = l + 1 < L && y < 0 ? 0 : y;
                    }
                  memcpy (m, next, out * sizeof (double));
                  width = out;
                }
              g_assert_cmpuint (width, ==, 1);
              const double z_m = msr_node_value (f.logit)[r] - z_tower[r];
              g_assert_cmpfloat_with_epsilon (z_m, m[0], 1e-4 * (1 + fabs (m[0])));
            }
        }
    }
}

static double
logistic (double z)
{
  return z >= 0 ? 1 / (1 + exp (-z)) : exp (z) / (1 + exp (z));
}

/* Scores of rows[0..n) cut into batches of bs consecutive rows, in the
 * order given: what msr_score computed before it grouped rows by user. */
static double *
score_in_given_order (MsrModel *model, const MsrDataset *ds, const guint32 *rows, gsize n, gsize bs)
{
  double *out = g_new (double, n);
  g_autoptr(MsrBatch) batch = msr_batch_new (model);
  g_autoptr(MsrGraph) g = msr_graph_new ();
  msr_graph_set_training (g, FALSE);
  for (gsize start = 0; start < n; start += bs)
    {
      const gsize m = MIN (bs, n - start);
      msr_batch_fill (batch, ds, rows + start, m);
      msr_graph_reset (g);
      const msr_real *z = msr_node_value (msr_model_forward (model, g, batch, NULL));
      for (gsize i = 0; i < m; i++)
        out[start + i] = logistic (z[i]);
    }
  return out;
}

/* Distinct users per batch of bs rows, summed over the batches, of the
 * rows taken in the order pos (NULL: as they are). */
static gsize
users_in_batches (const MsrDataset *ds, const guint32 *rows, const guint32 *pos, gsize n, gsize bs)
{
  const guint uf = msr_dataset_get_user_field (ds);
  const gint32 *codes = msr_dataset_get_field_codes (ds, uf);
  g_autofree gsize *seen = g_new0 (gsize, msr_dataset_get_field_cardinality (ds, uf));
  gsize total = 0;
  for (gsize j = 0; j < n; j++)
    {
      const gint32 c = codes[rows[pos ? pos[j] : j]];
      if (seen[c] != j / bs + 1)
        {
          seen[c] = j / bs + 1;
          total++;
        }
    }
  return total;
}

/* msr_score batches an LLM4MSR model's rows by user (then scenario) and
 * writes each score back to its row: its scores equal, row by row, those of
 * the same rows scored one batch of consecutive rows at a time in dataset
 * order, with 1 and 2 workers, for every row and for a split's scattered
 * rows. The users' scores differ clearly (generators given weight, a
 * quarter of the users without a vector), and the test checks that a score
 * written to the row of the wrong batch position would fail it. Without
 * the user level (no-user ablation) the batches stay consecutive rows and
 * the scores are those of dataset order bit for bit. */
static void
test_score_order (void)
{
  g_autofree char *dir = planted_world ("score-order", 6000, 300);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) project = msr_project_open (dir, &error);
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (project, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  const guint uf = msr_dataset_get_user_field (ds);
  const gint32 *ucodes = msr_dataset_get_field_codes (ds, uf);
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  const guint8 *splits = msr_dataset_get_splits (ds);
  const gsize N = msr_dataset_get_n_rows (ds), BS = 512;
  /* BLAS on one thread, as meson runs the tests: the workers then compute
   * alike, bit for bit. (One worker with BLAS on several threads may round
   * the per-row GEMVs of small groups otherwise, in dataset order too.) */
  openblas_set_num_threads (1);

  for (int variant = 0; variant < 3; variant++)
    {
      MsrModelConfig cfg;
      msr_model_config_init (&cfg, MSR_ARCH_STAR);
      cfg.llm4msr = TRUE;
      cfg.meta_user_on_scenario = variant == 1;
      cfg.meta_no_user = variant == 2;
      g_autoptr(MsrModel) model = msr_pipeline_new_model (project, ds, &cfg, 11, &error);
      g_assert_no_error (error);
      MsrParams *ps = msr_model_get_params (model);
      weigh_generators_drop_users (ps, -1);
      g_assert_true ((msr_params_lookup (ps, "llm4msr.user_known") != NULL) == (variant != 2));

      for (int which = 0; which < 2; which++)
        {
          const guint mask = which == 0 ? MSR_SPLIT_MASK_ALL : MSR_SPLIT_MASK (MSR_SPLIT_TEST);
          g_autoptr(GArray) rows = g_array_new (FALSE, FALSE, sizeof (guint32));
          for (guint32 r = 0; r < N; r++)
            if (mask & MSR_SPLIT_MASK (splits[r]))
              g_array_append_val (rows, r);
          const guint32 *rv = (const guint32 *) rows->data;
          const gsize n = rows->len;
          g_assert_cmpuint (n, >, 2 * BS);
          g_autofree double *ref = score_in_given_order (model, ds, rv, n, BS);

          g_autofree guint32 *pos = msr_score_batch_order (model, ds, rv, n, MSR_SCORE_ORDER_AUTO);
          if (variant == 2)
            g_assert_null (pos);
          else
            {
              /* A permutation, by user, then scenario, then row. */
              g_assert_nonnull (pos);
              g_autofree guint8 *hit = g_new0 (guint8, n);
              for (gsize j = 0; j < n; j++)
                {
                  g_assert_cmpuint (pos[j], <, n);
                  g_assert_false (hit[pos[j]]);
                  hit[pos[j]] = 1;
                  if (j == 0)
                    continue;
                  const guint32 a = rv[pos[j - 1]], b = rv[pos[j]];
                  g_assert_true (ucodes[a] < ucodes[b] ||
                                 (ucodes[a] == ucodes[b] && (scen[a] < scen[b] || (scen[a] == scen[b] && a < b))));
                }
              /* Few users per batch: each one's rows in at most two. */
              const gsize before = users_in_batches (ds, rv, NULL, n, BS);
              const gsize after = users_in_batches (ds, rv, pos, n, BS);
              const gsize batches = (n + BS - 1) / BS;
              g_autoptr(GHashTable) users = g_hash_table_new (NULL, NULL);
              for (gsize i = 0; i < n; i++)
                g_hash_table_add (users, GINT_TO_POINTER (ucodes[rv[i]]));
              g_test_message ("%s rows: user layers over the %" G_GSIZE_FORMAT " batches (distinct users per "
                              "batch, summed): %" G_GSIZE_FORMAT " in dataset order, %" G_GSIZE_FORMAT " by user",
                              which ? "test" : "all", batches, before, after);
              g_assert_cmpuint (after, <=, g_hash_table_size (users) + batches - 1);
              g_assert_cmpuint (2 * after, <, before);
              /* Not vacuous: the rows' scores differ, so a score put in
               * another batch position's row would fail the check below. */
              gsize differ = 0;
              for (gsize j = 0; j < n; j++)
                differ += fabs (ref[pos[j]] - ref[j]) > 1e-4;
              g_assert_cmpuint (differ, >, n / 2);
            }

          g_autofree double *first = NULL;
          for (guint threads = 1; threads <= 2; threads++)
            {
              gsize n2 = 0;
              g_autofree guint32 *rows2 = NULL;
              g_autofree double *s = msr_score (model, ds, mask, threads, BS, &n2, &rows2, NULL, NULL, NULL, &error);
              g_assert_no_error (error);
              g_assert_cmpuint (n2, ==, n);
              g_assert_cmpmem (rows2, n * sizeof (guint32), rv, n * sizeof (guint32));
              if (variant == 2)
                g_assert_cmpmem (s, n * sizeof (double), ref, n * sizeof (double));
              else
                for (gsize i = 0; i < n; i++)
                  g_assert_cmpfloat_with_epsilon (s[i], ref[i], 1e-6);
              if (first == NULL)
                first = g_steal_pointer (&s);
              else
                g_assert_cmpmem (s, n * sizeof (double), first, n * sizeof (double));
            }
          /* With the ordering off: the batches and scores of before. */
          gsize n3 = 0;
          g_autofree double *d = msr_score_ordered (model, ds, mask, MSR_SCORE_ORDER_DATASET, 2, BS, &n3, NULL,
                                                    NULL, NULL, NULL, &error);
          g_assert_no_error (error);
          g_assert_cmpmem (d, n3 * sizeof (double), ref, n * sizeof (double));
        }
    }
}

/* Files keep the meta networks and their knowledge, and refuse a store
 * whose vectors changed. */
static void
test_files_and_knowledge (void)
{
  g_autofree char *dir = planted_world ("files", 6000, 300);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) project = msr_project_open (dir, &error);
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (project, NULL, NULL, NULL, &error);
  MsrModelConfig cfg;
  msr_model_config_init (&cfg, MSR_ARCH_SHARED_BOTTOM);
  cfg.llm4msr = TRUE;
  cfg.meta_user_on_scenario = TRUE;
  cfg.meta_rank = 4;
  g_autoptr(MsrModel) model = msr_pipeline_new_model (project, ds, &cfg, 9, &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "sb.safetensors", NULL);
  g_assert_true (msr_model_save (model, path, NULL, &error));
  g_assert_no_error (error);

  g_autoptr(MsrModel) back = msr_pipeline_load_model (project, path, &error);
  g_assert_no_error (error);
  const MsrModelConfig *c = msr_model_get_config (back);
  g_assert_true (c->llm4msr && c->meta_user_on_scenario);
  g_assert_cmpuint (c->meta_rank, ==, 4);
  g_assert_cmpuint (c->knowledge_dim, ==, 5 * (1 + 8));
  g_assert_nonnull (strstr (msr_model_get_knowledge_json (back), "\"encoder\":\"planted\""));
  gsize n1, n2;
  g_autofree double *s1 = msr_score (model, ds, MSR_SPLIT_MASK (MSR_SPLIT_TEST), 1, 512, &n1, NULL, NULL, NULL,
                                     NULL, &error);
  g_autofree double *s2 = msr_score (back, ds, MSR_SPLIT_MASK (MSR_SPLIT_TEST), 1, 512, &n2, NULL, NULL, NULL,
                                     NULL, &error);
  g_assert_cmpuint (n1, ==, n2);
  for (gsize i = 0; i < n1; i++)
    g_assert_cmpfloat (s1[i], ==, s2[i]);

  /* Other vectors in the store: the model is refused, by name. */
  {
    g_autofree char *store = g_build_filename (dir, MSR_KNOWLEDGE_FILE, NULL);
    g_autoptr(MsrKnowledge) k = msr_knowledge_open (store, MSR_KNOWLEDGE_READ_WRITE, &error);
    g_autoptr(MsrKnowledgeVectors) v = msr_knowledge_get_vectors (k, MSR_KNOWLEDGE_USER, "planted", NULL, &error);
    g_assert_no_error (error);
    v->vectors[0] += 0.5f;
    g_assert_true (msr_knowledge_put_embeddings (k, "planted", v->entry_ids, v->vectors, 1, &error));
  }
  g_assert_null (msr_pipeline_load_model (project, path, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "user vectors"));
  g_clear_error (&error);

  /* Without a store the model carries its own vectors. */
  g_autofree char *store = g_build_filename (dir, MSR_KNOWLEDGE_FILE, NULL);
  g_assert_cmpint (g_unlink (store), ==, 0);
  g_autoptr(MsrModel) alone = msr_pipeline_load_model (project, path, &error);
  g_assert_no_error (error);
  /* ... but a new LLM4MSR model cannot be made without knowledge. */
  g_assert_null (msr_pipeline_new_model (project, ds, &cfg, 9, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "no knowledge store"));
  g_clear_error (&error);

  /* Settings that cannot go together. */
  MsrModelConfig bad;
  msr_model_config_init (&bad, MSR_ARCH_STAR);
  bad.meta_shuffle_users = TRUE;
  g_assert_null (msr_model_new_for_dataset (&bad, ds, 1, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "need LLM4MSR"));
}

/* The views' numbers: SVD and PCA against known answers, the learned
 * similarity, the users' map, and the user layer's effect. */
static void
test_explain (void)
{
  g_autoptr(GError) error = NULL;
  /* A rank-2 3 × 4 matrix with known singular values 5 and 2 (orthogonal
   * rank-one parts). */
  const double u1[3] = { 0.6, 0.8, 0 }, u2[3] = { 0, 0, 1 }, v1[4] = { 0.5, 0.5, 0.5, 0.5 },
               v2[4] = { 0.5, -0.5, 0.5, -0.5 };
  double a[12], s[3], u[9], vt[12];
  for (guint i = 0; i < 3; i++)
    for (guint j = 0; j < 4; j++)
      a[i * 4 + j] = 5 * u1[i] * v1[j] + 2 * u2[i] * v2[j];
  g_assert_true (msr_linalg_svd (a, 3, 4, s, u, vt, &error));
  g_assert_cmpfloat_with_epsilon (s[0], 5, 1e-12);
  g_assert_cmpfloat_with_epsilon (s[1], 2, 1e-12);
  g_assert_cmpfloat_with_epsilon (s[2], 0, 1e-12);
  /* u Σ vt reproduces a. */
  for (guint i = 0; i < 3; i++)
    for (guint j = 0; j < 4; j++)
      {
        double r = 0;
        for (guint k = 0; k < 3; k++)
          r += u[i * 3 + k] * s[k] * vt[k * 4 + j];
        g_assert_cmpfloat_with_epsilon (r, a[i * 4 + j], 1e-12);
      }
  /* PCA: points on a line y = 2x get all the variance on the first axis. */
  double pts[10 * 2], scores[10], explained[1];
  for (guint i = 0; i < 10; i++)
    pts[i * 2] = i, pts[i * 2 + 1] = 2.0 * i;
  g_assert_true (msr_linalg_pca (pts, 10, 2, 1, scores, explained, &error));
  g_assert_cmpfloat_with_epsilon (explained[0], 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (scores[9] - scores[0], 9 * sqrt (5.0), 1e-9);

  g_autofree char *dir = planted_world ("explain", 6000, 300);
  g_autoptr(MsrProject) project = msr_project_open (dir, &error);
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (project, NULL, NULL, NULL, &error);
  MsrModelConfig cfg;
  msr_model_config_init (&cfg, MSR_ARCH_STAR);
  cfg.llm4msr = TRUE;
  g_autoptr(MsrModel) model = msr_pipeline_new_model (project, ds, &cfg, 4, &error);
  g_assert_no_error (error);
  const guint S = msr_model_get_n_scenarios (model);

  /* With generators at zero the population's layer is every user's. */
  MsrParams *ps = msr_model_get_params (model);
  for (guint i = 0; i < msr_params_get_n (ps); i++)
    {
      MsrParam *p = msr_params_get (ps, i);
      if (g_str_has_prefix (p->name, "llm4msr.") && strstr (p->name, "gen_"))
        msr_param_init_constant (p, 0);
    }
  gsize n;
  g_autofree guint32 *rows = NULL;
  g_autofree double *with = NULL, *without = NULL;
  g_assert_true (msr_explain_user_effect (model, ds, "u5", MSR_SPLIT_MASK_ALL, &n, &rows, &with, &without, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, >, 0);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (with[i], ==, without[i]);
  MsrRng rng;
  msr_rng_init (&rng, 2);
  for (guint i = 0; i < msr_params_get_n (ps); i++)
    {
      MsrParam *p = msr_params_get (ps, i);
      if (g_str_has_prefix (p->name, "llm4msr.") && strstr (p->name, "gen_"))
        msr_param_init_normal (p, 0.05, &rng);
    }
  g_clear_pointer (&rows, g_free);
  g_clear_pointer (&with, g_free);
  g_clear_pointer (&without, g_free);
  g_assert_true (msr_explain_user_effect (model, ds, "u5", MSR_SPLIT_MASK_ALL, &n, &rows, &with, &without, &error));
  double moved = 0;
  for (gsize i = 0; i < n; i++)
    moved += fabs (with[i] - without[i]);
  g_assert_cmpfloat (moved, >, 1e-4);
  g_assert_false (msr_explain_user_effect (model, ds, "nobody", MSR_SPLIT_MASK_ALL, &n, &rows, &with, &without,
                                           &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
  g_clear_error (&error);

  g_autofree char *what = NULL;
  g_autofree double *learned = msr_explain_learned_correlation (model, ds, MSR_SPLIT_MASK (MSR_SPLIT_TRAIN), &what,
                                                                NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (what, "generated meta layers"));
  for (guint a = 0; a < S; a++)
    {
      g_assert_cmpfloat_with_epsilon (learned[a * S + a], 1.0, 1e-9);
      for (guint b = 0; b < S; b++)
        g_assert_cmpfloat_with_epsilon (learned[a * S + b], learned[b * S + a], 1e-12);
    }

  g_autoptr(MsrMetaUserMap) map = msr_explain_user_map (model, ds, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (map->n, ==, 300);
  g_assert_cmpfloat (map->explained[0], >=, map->explained[1]);
  g_assert_cmpfloat (map->explained[0] + map->explained[1], <=, 1.0 + 1e-9);
  for (guint i = 0; i < map->n; i++)
    g_assert_cmpint (map->dominant[i], <, (int) S);

  float w[4] = { 3, 0, 0, 4 };
  guint k;
  g_autofree double *sv = msr_explain_singular_values (w, 2, 2, &k, &error);
  g_assert_cmpuint (k, ==, 2);
  g_assert_cmpfloat_with_epsilon (sv[0], 4, 1e-12);
  g_assert_cmpfloat_with_epsilon (sv[1], 3, 1e-12);

  /* A backbone alone has nothing of LLM4MSR's to show. */
  MsrModelConfig plain;
  msr_model_config_init (&plain, MSR_ARCH_DNN);
  g_autoptr(MsrModel) dnn = msr_model_new_for_dataset (&plain, ds, 1, &error);
  g_assert_null (msr_explain_learned_correlation (dnn, ds, MSR_SPLIT_MASK (MSR_SPLIT_TRAIN), NULL, NULL, &error));
  g_assert_error (error, MSR_ERROR, MSR_ERROR_INVALID);
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_test_init (&argc, &argv, NULL);
  tmp_root = g_dir_make_tmp ("msr-llm4msr-XXXXXX", &error);
  g_assert_no_error (error);
  g_test_add_func ("/llm4msr/planted-correlation", test_planted_correlation);
  g_test_add_func ("/llm4msr/meta-weights", test_meta_weights);
  g_test_add_func ("/llm4msr/grouped-rows", test_grouped_rows);
  g_test_add_func ("/llm4msr/score-order", test_score_order);
  g_test_add_func ("/llm4msr/explain", test_explain);
  g_test_add_func ("/llm4msr/files-and-knowledge", test_files_and_knowledge);
  g_test_add_func ("/llm4msr/planted-beats-shuffled", test_planted_beats_shuffled);
  int ret = g_test_run ();
  msr_test_rm_rf (tmp_root);
  return ret;
}

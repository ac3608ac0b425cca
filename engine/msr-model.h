/* msr-model.h: multi-scenario CTR models.
 *
 * A model is an input layer (one embedding table per field, mean-pooled for
 * multi-hot fields, concatenated into x) and a backbone (method spec §3):
 * single-domain DNN (joint, or one per scenario), Shared-Bottom, MMoE with a
 * gate per scenario, PLE (multi-level CGC), STAR and PEPNet. Every backbone
 * computes h, the representation that feeds the tower of the row's scenario
 * (where LLM4MSR attaches), then the logit from h. Parameters are named as
 * PyTorch's state_dict would name the equivalent nn.Module tree
 * (docs/FORMATS.md §8). */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include "msr-error.h"
#include "msr-graph.h"
#include "msr-dataset.h"

G_BEGIN_DECLS

typedef enum {
  MSR_ARCH_DNN,            /* one MLP over all scenarios (joint) */
  MSR_ARCH_DNN_SEPARATE,   /* one MLP per scenario: the seesaw reference */
  MSR_ARCH_SHARED_BOTTOM,
  MSR_ARCH_MMOE,
  MSR_ARCH_PLE,
  MSR_ARCH_STAR,
  MSR_ARCH_PEPNET,
  MSR_N_ARCHS
} MsrArch;

const char *msr_arch_to_string   (MsrArch arch);
gboolean    msr_arch_from_string (const char *s, MsrArch *out);
/* "dnn|dnn-separate|shared-bottom|mmoe|ple|star|pepnet" */
const char *msr_arch_list        (void);

#define MSR_MAX_LAYERS 8

typedef struct {
  guint n;
  guint dims[MSR_MAX_LAYERS];
} MsrDims;

/* Architecture settings; msr_model_config_init fills the defaults of an
 * architecture (docs/MODELS.md lists them). Unused fields are ignored. */
typedef struct {
  MsrArch  arch;
  guint    embed_dim;           /* per field, default 16 */
  double   embed_init_std;      /* normal init std, default 1e-4 */
  gboolean batchnorm;           /* BN after every hidden linear layer, default on */
  double   dropout;             /* after every hidden activation, default 0 */
  gboolean embed_scenario;      /* the scenario id as an extra embedded field */
  MsrDims  hidden;              /* DNN MLP, Shared-Bottom bottom, MMoE/PLE experts, STAR star layers, PEPNet towers */
  MsrDims  tower;               /* per-scenario towers (Shared-Bottom, MMoE, PLE) */
  guint    n_experts;           /* MMoE experts; 0 = one per scenario */
  guint    ple_levels;          /* PLE extraction levels (1 = CGC) */
  guint    ple_specific;        /* PLE experts per scenario */
  guint    ple_shared;          /* PLE shared experts */
  MsrDims  aux;                 /* STAR auxiliary network */
  gboolean star_aux_full_input; /* STAR aux reads x (the reference code) instead of the scenario embedding (the paper) */
  double   gate_gamma;          /* PEPNet Gate NU scale, default 2 */
  guint    gate_hidden;         /* PEPNet Gate NU hidden width, default 64 */
  /* LLM4MSR (method spec §4) on top of the backbone: a user-level meta
   * layer at the bottom of the tower and a scenario-level branch beside it,
   * generated from frozen knowledge vectors (docs/MODELS.md). */
  gboolean llm4msr;
  guint    meta_dq;             /* compression width d_q, default 64 */
  guint    meta_rank;           /* user meta layer rank: 0 = full when H·H ≤ 4096, else 8 */
  MsrDims  meta_scenario;       /* scenario branch hidden widths, default 32 (then 1) */
  gboolean meta_residual;       /* h' = φ(h·W_u + b_u) + h, default on */
  gboolean meta_user_on_scenario; /* G_u reads k_u ⊕ k_s (the flag user_meta_conditions_on_scenario) */
  gboolean meta_no_user;        /* ablation: no user level */
  gboolean meta_no_scenario;    /* ablation: no scenario level */
  gboolean meta_shuffle_users;  /* ablation: user vectors permuted across users (seeded) */
  gboolean meta_id_only;        /* ablation: learned vectors of the knowledge's width instead of it */
  guint    knowledge_dim;       /* d_L: set from the knowledge when the model is made */
  const char *knowledge_encoder; /* which vectors of the project's store (not owned; NULL = the
                                  * encoder with the most vectors); the model records the one used */
} MsrModelConfig;

void     msr_model_config_init      (MsrModelConfig *cfg, MsrArch arch);
/* What runs and files call the model: "star", "star+llm4msr",
 * "star+llm4msr/no-user" (no-scenario, shuffled, id-only); with
 * file_safe, '+' and '/' become '-'. */
char    *msr_model_config_describe  (const MsrModelConfig *cfg, gboolean file_safe);
/* Parses "128,64" into dims; FALSE on a malformed list. */
gboolean msr_dims_parse             (const char *text, MsrDims *out);
char    *msr_dims_to_string         (const MsrDims *dims);

/* The input layer's description, from a dataset or a model file. */
typedef struct {
  char        *name;
  MsrFieldKind kind;
  guint        cardinality;   /* including the unknown code 0 */
} MsrModelField;

typedef struct _MsrModel MsrModel;

/* A freshly initialised model for the dataset's fields and scenarios. */
MsrModel   *msr_model_new_for_dataset (const MsrModelConfig *cfg,
                                       const MsrDataset     *ds,
                                       guint64               seed,
                                       GError              **error);
void        msr_model_free            (MsrModel *model);

/* Knowledge vectors for LLM4MSR: the users' (keyed by the dataset's user
 * values) and the scenarios' (keyed by scenario names), with where they
 * came from. Every scenario needs a vector; a user without one gets a
 * learned "unknown" vector. */
typedef struct {
  guint               dim;
  guint               n_users;
  const char * const *user_keys;
  const float        *user_vectors;      /* n_users × dim */
  guint               n_scenarios;
  const char * const *scenario_keys;
  const float        *scenario_vectors;  /* n_scenarios × dim */
  const char         *encoder;
  const char         *user_source, *scenario_source;
  const char         *user_fingerprint, *scenario_fingerprint;
} MsrModelKnowledge;

/* A model with cfg->llm4msr on, its knowledge buffers filled from kn. */
MsrModel   *msr_model_new_with_knowledge (const MsrModelConfig    *cfg,
                                          const MsrDataset        *ds,
                                          const MsrModelKnowledge *kn,
                                          guint64                  seed,
                                          GError                 **error);
/* The knowledge an LLM4MSR model was made with, as a JSON object (encoder,
 * sources, fingerprints, users with a vector), or NULL. */
const char *msr_model_get_knowledge_json (const MsrModel *model);
/* Whether kn matches the knowledge the model was trained with (same
 * encoder and fingerprints); the error says which differs. TRUE for models
 * without LLM4MSR. */
gboolean    msr_model_check_knowledge  (const MsrModel *model, const char *encoder,
                                        const char *user_fingerprint, const char *scenario_fingerprint,
                                        GError **error);

/* The generated meta layers (as nn.Linear weights, out × in, and biases):
 * the user-level layer of a user (its value in the dataset; NULL or an
 * unknown value = the "unknown" user), or layer `layer` of the scenario
 * branch for a scenario. FALSE with an error when the model has no such
 * level. */
gboolean    msr_model_meta_user_layer  (MsrModel *model, const char *user, float **weight, guint *rows,
                                        guint *cols, float **bias, GError **error);
/* The same for a model whose user meta network also reads the scenario's
 * knowledge (user_meta_conditions_on_scenario): the layer of a user in
 * scenario `scenario`. For other models the scenario does not change the
 * layer and any scenario, or -1, gives it. */
gboolean    msr_model_meta_user_layer_in_scenario (MsrModel *model, const char *user, int scenario,
                                                   float **weight, guint *rows, guint *cols, float **bias,
                                                   GError **error);
gboolean    msr_model_meta_scenario_layer (MsrModel *model, guint scenario, guint layer, float **weight,
                                           guint *rows, guint *cols, float **bias, GError **error);
guint       msr_model_meta_scenario_n_layers (const MsrModel *model);
/* The population's user-level layer: the one generated from the mean
 * compressed knowledge over the users with a vector (W is affine in it, so
 * this is the mean of their layers). */
gboolean    msr_model_meta_user_layer_mean (MsrModel *model, float **weight, guint *rows, guint *cols,
                                            float **bias, GError **error);

const MsrModelConfig *msr_model_get_config (const MsrModel *model);
MsrParams  *msr_model_get_params      (MsrModel *model);
guint       msr_model_get_n_fields    (const MsrModel *model);
const MsrModelField *msr_model_get_field (const MsrModel *model, guint i);
guint       msr_model_get_n_scenarios (const MsrModel *model);
const char *msr_model_get_scenario_name (const MsrModel *model, guint s);
/* Width of h, the representation feeding the scenario towers. */
guint       msr_model_get_repr_dim    (const MsrModel *model);
/* Multiply-adds per sample of one forward pass (for benchmarks). */
double      msr_model_flops_per_sample (const MsrModel *model);

/* Checks that a dataset has this model's fields (names, kinds,
 * vocabularies) and scenarios, in order; the error says what differs. */
gboolean    msr_model_check_dataset   (const MsrModel *model, const MsrDataset *ds, GError **error);

/* ---- batches and forward passes ------------------------------------------ */

/* Rows of a dataset laid out for the model: per field the codes (and, for
 * multi-hot fields, rebased offsets), the scenarios and labels. */
typedef struct _MsrBatch MsrBatch;

MsrBatch   *msr_batch_new             (const MsrModel *model);
void        msr_batch_free            (MsrBatch *batch);
/* Rows given as codes (for scoring raw rows without a dataset): begin,
 * then per row the scenario, label and each field's codes (categorical
 * fields exactly one), then end (which routes rows to scenarios). */
void        msr_batch_begin           (MsrBatch *batch);
void        msr_batch_append_row      (MsrBatch *batch, guint scenario, guint8 label,
                                       const gint32 *const *field_codes, const guint *field_counts);
void        msr_batch_end             (MsrBatch *batch);
/* The code of a raw value in the model's vocabulary of field (0 when
 * unknown); -1 when the model file holds no vocabularies. */
gint32      msr_model_encode          (MsrModel *model, guint field, const char *value);
/* The raw value behind a code, or NULL without vocabularies. */
const char *msr_model_decode          (const MsrModel *model, guint field, gint32 code);
guint       msr_model_get_user_field  (const MsrModel *model);
guint       msr_model_get_item_field  (const MsrModel *model);
/* Copies rows[0..n) of ds into the batch. */
void        msr_batch_fill            (MsrBatch *batch, const MsrDataset *ds, const guint32 *rows, gsize n);
gsize       msr_batch_get_n           (const MsrBatch *batch);
const guint8 *msr_batch_get_labels    (const MsrBatch *batch);
const guint16 *msr_batch_get_scenarios (const MsrBatch *batch);

/* What a forward pass exposes besides the logit. */
typedef struct {
  MsrNode *x;        /* the concatenated input, B × D0 */
  MsrNode *h;        /* the representation feeding each row's tower, B × H */
  MsrNode *h_backbone; /* the backbone's h before LLM4MSR's user-level layer (= h without it) */
  MsrNode *logit;    /* B × 1 */
  /* Interpretable internals, rows × width each, NULL when the backbone has
   * none: MMoE/PLE gate weights of each row's scenario gate (for PLE the
   * last level), PEPNet's EPNet gate (over x) and the mean of each row's
   * PPNet gates. */
  MsrNode *gates;
  MsrNode *epnet_gate;
  MsrNode *ppnet_gate;
} MsrForward;

/* Builds the forward pass of batch on g (training mode follows g). */
MsrNode    *msr_model_forward         (MsrModel *model, MsrGraph *g, const MsrBatch *batch,
                                       MsrForward *out);

/* ---- files ---------------------------------------------------------------- */

/* Saves parameters and configuration as safetensors (temporary file, then
 * rename). extra_json (nullable) is a JSON object merged into the stored
 * configuration under "training". */
gboolean    msr_model_save            (MsrModel *model, const char *path, const char *extra_json,
                                       GError **error);
/* Loads and validates a model file: configuration, then every tensor's
 * name, dtype and shape against what the configuration implies. */
MsrModel   *msr_model_load            (const char *path, GError **error);
/* The configuration as stored in the file (JSON text), for inspect. */
const char *msr_model_get_config_json (const MsrModel *model);
/* The "training" object saved with the model, or NULL. */
const char *msr_model_get_training_json (const MsrModel *model);
/* Fingerprints of the dataset the model was trained on, or NULL. */
const char *msr_model_get_dataset_fingerprint (const MsrModel *model);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrModel, msr_model_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsrBatch, msr_batch_free)

G_END_DECLS

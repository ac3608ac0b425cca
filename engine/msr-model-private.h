/* msr-model-private.h: what the backbones (msr-arch-*.c) share with the
 * model core. */
#pragma once

#include "msr-model.h"

G_BEGIN_DECLS

/* Rows of the batch grouped by scenario (a counting sort per batch). */
typedef struct {
  guint     n_scenarios;
  guint32 **idx;      /* idx[s][0 .. count[s]) */
  gsize    *count;
} MsrRouting;

/* An MLP as the PyTorch module MLP in docs/FORMATS.md §8: hidden layers
 * Linear → BatchNorm1d (optional) → ReLU → Dropout, named
 * PREFIX.linears.i / PREFIX.norms.i, and an optional output Linear(·, 1)
 * named PREFIX.out. */
typedef struct {
  guint     in_dim;
  guint     n;
  guint     dims[MSR_MAX_LAYERS];
  MsrParam *w[MSR_MAX_LAYERS], *b[MSR_MAX_LAYERS];
  MsrParam *bn_w[MSR_MAX_LAYERS], *bn_b[MSR_MAX_LAYERS];
  MsrParam *bn_mean[MSR_MAX_LAYERS], *bn_var[MSR_MAX_LAYERS], *bn_count[MSR_MAX_LAYERS];
  MsrParam *out_w, *out_b;
} MsrMlp;

struct _MsrBatch {
  gsize     n, capacity;
  guint     n_fields;
  gint32  **codes;      /* per field */
  guint32 **offsets;    /* per field, multi-hot only (rebased to 0) */
  gsize    *code_cap;
  guint16  *scenarios;
  guint8   *labels;
  MsrRouting routing;
};

typedef struct {
  MsrArch     arch;
  const char *name;
  /* Creates the backbone's parameters (after the input layer's). */
  gboolean  (*build)   (MsrModel *m, MsrRng *rng, GError **error);
  /* h for every row (B × repr_dim), filling f->gates etc. when asked. */
  MsrNode  *(*repr)    (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrForward *f);
  /* The logit of every row from h. */
  MsrNode  *(*head)    (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrForward *f, MsrNode *h);
  guint     (*repr_dim) (MsrModel *m);
  double    (*flops)   (MsrModel *m);
} MsrArchClass;

struct _MsrModel {
  MsrModelConfig       cfg;
  const MsrArchClass  *klass;
  guint                n_fields;
  MsrModelField       *fields;
  char               **field_keys;       /* module names, sanitised */
  GPtrArray          **vocab;            /* per field: values in code order (0 = unknown) */
  GHashTable         **vocab_index;      /* per field, built on first encode */
  guint                user_field, item_field;
  guint                n_scenarios;
  char               **scenario_names;
  char                *vocab_fingerprint;
  char                *dataset_fingerprint;
  char                *config_json;
  char                *training_json;
  MsrParams           *params;
  MsrParam           **embed;            /* per field (NULL for dnn-separate) */
  MsrParam            *scenario_embed;   /* when embedded or the backbone needs it */
  guint                d0;               /* width of x */
  gpointer             arch;             /* the backbone's own parameters */
  GDestroyNotify       arch_free;
  gpointer             meta;             /* LLM4MSR's parameters (msr-llm4msr.c), or NULL */
  char                *knowledge_json;   /* where its knowledge came from */
};

extern const MsrArchClass msr_arch_dnn;
extern const MsrArchClass msr_arch_dnn_separate;
extern const MsrArchClass msr_arch_shared_bottom;
extern const MsrArchClass msr_arch_mmoe;
extern const MsrArchClass msr_arch_ple;
extern const MsrArchClass msr_arch_star;
extern const MsrArchClass msr_arch_pepnet;

/* Parameter helpers: names built printf-style. */
MsrParam *msr_model_add_param    (MsrModel *m, guint flags, guint n_dims, const gint64 *shape,
                                  const char *format, ...) G_GNUC_PRINTF (5, 6);
/* nn.Linear(in, out): weight out × in and bias out, PyTorch's default
 * initialisation U(±1/√in). */
void      msr_model_add_linear   (MsrModel *m, MsrRng *rng, guint in, guint out, MsrParam **w,
                                  MsrParam **b, const char *format, ...) G_GNUC_PRINTF (7, 8);

void      msr_mlp_build          (MsrModel *m, MsrMlp *mlp, MsrRng *rng, guint in_dim,
                                  const MsrDims *hidden, gboolean with_out, const char *format, ...)
                                  G_GNUC_PRINTF (7, 8);
/* The last hidden layer's output (x itself when there are none). */
MsrNode  *msr_mlp_hidden         (MsrModel *m, MsrGraph *g, const MsrMlp *mlp, MsrNode *x);
MsrNode  *msr_mlp_out            (MsrGraph *g, const MsrMlp *mlp, MsrNode *h);
guint     msr_mlp_out_dim        (const MsrMlp *mlp);
double    msr_mlp_flops          (const MsrMlp *mlp);

/* The concatenated input embeddings of every row (B × d0). */
MsrNode  *msr_model_input        (MsrModel *m, MsrGraph *g, const MsrBatch *b);
/* The embeddings of one field for every row. */
MsrNode  *msr_model_field_embedding (MsrModel *m, MsrGraph *g, const MsrBatch *b, guint field);
/* Scenario embeddings of every row (B × embed_dim). */
MsrNode  *msr_model_scenario_embedding (MsrModel *m, MsrGraph *g, const MsrBatch *b);

/* Per-scenario heads: rows of h routed to head_s, assembled into B × 1.
 * head(m, g, s, h_s, data) gives the logits of scenario s's rows. */
typedef MsrNode *(*MsrScenarioHead) (MsrModel *m, MsrGraph *g, guint s, MsrNode *h_s, gpointer data);
MsrNode  *msr_model_route_heads  (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrNode *h,
                                  MsrScenarioHead head, gpointer data);
/* The head of scenario s when it is one MLP tower per scenario: data is the
 * MsrMlp array of towers. */
MsrNode  *msr_arch_tower_head    (MsrModel *m, MsrGraph *g, guint s, MsrNode *h_s, gpointer towers);
/* Assembles per-scenario row blocks parts[s] (NULL for scenarios without
 * rows in the batch) into one B × cols node. */
MsrNode  *msr_model_scatter_scenarios (MsrGraph *g, const MsrBatch *b, MsrNode **parts);

/* LLM4MSR (msr-llm4msr.c), which the model reaches through this table as
 * it reaches the backbones through theirs: built after the backbone when
 * cfg.llm4msr; user_layer gives h' = the user-level meta layer applied to
 * h (h itself when that level is off); scenario_branch gives z_m, the
 * scenario branch's logit (NULL when that level is off); set_knowledge
 * fills the knowledge buffers from kn (after build). */
typedef struct {
  gboolean (*build)           (MsrModel *m, MsrRng *rng, GError **error);
  void     (*free)            (gpointer meta);
  MsrNode *(*user_layer)      (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrNode *h);
  MsrNode *(*scenario_branch) (MsrModel *m, MsrGraph *g, const MsrBatch *b, MsrNode *h);
  double   (*flops)           (MsrModel *m);
  gboolean (*set_knowledge)   (MsrModel *m, const MsrDataset *ds, const MsrModelKnowledge *kn, guint64 seed,
                               GError **error);
} MsrMetaClass;

extern const MsrMetaClass msr_llm4msr;

/* The knowledge-dependent part Σ_t q_t·gen of a layer (out × in, row-major)
 * for a key vector: the user layer (scenario < 0) or layer 0 of the
 * scenario branch for scenario s. FALSE when the model lacks that level. */
gboolean  msr_llm4msr_generated_part (MsrModel *m, int scenario, const float *user_key, double **part, guint *rows,
                                      guint *cols);
/* Users with a knowledge vector (codes of the user field), and while
 * "mean" is on, the user layer uses the mean compressed knowledge of
 * those users for every row. */
guint    *msr_llm4msr_known_users    (MsrModel *m, guint *n);
void      msr_llm4msr_use_mean_user  (MsrModel *m, gboolean mean);
/* For tests: how the meta layers are applied, whatever the batch. */
typedef enum {
  MSR_LLM4MSR_FORM_AUTO,       /* per group, or per row when nearly every row has its own key */
  MSR_LLM4MSR_FORM_PER_GROUP,
  MSR_LLM4MSR_FORM_PER_ROW,
} MsrLlm4msrForm;
void      msr_llm4msr_set_form       (MsrModel *m, MsrLlm4msrForm form);

G_END_DECLS

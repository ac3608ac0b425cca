/* msr-knowledge-vectors.c: see msr-knowledge-vectors.h. */
#include "config.h"
#include "msr-knowledge-vectors.h"
#include "msr-correlation.h"

#include <math.h>
#include <string.h>

/* Users need this many training rows in both scenarios for their click
 * rates to say something (as in the simulated world's recovery). */
#define CLICK_RATE_MIN_ROWS 5
#define EXAMPLES 8

void
msr_knowledge_encode_options_init (MsrKnowledgeEncodeOptions *o)
{
  memset (o, 0, sizeof *o);
  msr_tfidf_options_init (&o->tfidf);
  o->derive_scenarios = TRUE;
  o->terms = 12;
}

void
msr_knowledge_encode_report_free (MsrKnowledgeEncodeReport *r)
{
  if (r == NULL)
    return;
  g_free (r->encoder);
  g_free (r->description);
  g_free (r);
}

double *
msr_knowledge_cosine_matrix (const float *v, guint n, guint dim)
{
  double *m = g_new (double, MAX ((gsize) n * n, 1));
  g_autofree double *norm = g_new0 (double, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    {
      double s = 0;
      for (guint j = 0; j < dim; j++)
        s += (double) v[(gsize) i * dim + j] * v[(gsize) i * dim + j];
      norm[i] = sqrt (s);
    }
  for (guint a = 0; a < n; a++)
    for (guint b = 0; b < n; b++)
      {
        if (norm[a] == 0 || norm[b] == 0)
          {
            m[(gsize) a * n + b] = NAN;
            continue;
          }
        double s = 0;
        for (guint j = 0; j < dim; j++)
          s += (double) v[(gsize) a * dim + j] * v[(gsize) b * dim + j];
        /* Rounding may step a hair outside [-1, 1]. */
        m[(gsize) a * n + b] = CLAMP (s / (norm[a] * norm[b]), -1.0, 1.0);
      }
  return m;
}

char *
msr_knowledge_default_encoder (MsrKnowledge *k, GError **error)
{
  g_autoptr(GPtrArray) encoders = msr_knowledge_list_encoders (k, error);
  if (encoders == NULL)
    return NULL;
  const MsrKnowledgeEncoder *best = NULL;
  for (guint i = 0; i < encoders->len; i++)
    {
      const MsrKnowledgeEncoder *e = encoders->pdata[i];
      if (e->n_vectors > 0 && (best == NULL || e->n_vectors > best->n_vectors))
        best = e;
    }
  return best ? g_strdup (best->name) : NULL;
}

/* ---- deriving scenario knowledge from item knowledge ----------------------- */

typedef struct {
  guint     n_items;        /* items with rows in the scenario */
  guint     n_described;
  double   *sum;            /* dim */
  GArray   *examples;       /* item codes, most rows first */
} ScenarioAcc;

static int
compare_rows_desc (gconstpointer a, gconstpointer b, gpointer counts)
{
  const guint *c = counts;
  const gint32 x = *(const gint32 *) a, y = *(const gint32 *) b;
  if (c[x] != c[y])
    return c[x] > c[y] ? -1 : 1;
  return x < y ? -1 : x > y;
}

static void
append_terms (GString *s, char **terms, guint limit)
{
  for (guint i = 0; terms && terms[i] && i < limit; i++)
    g_string_append_printf (s, "%s%s", i ? ", " : "", terms[i]);
}

/* Derives a text and a vector per scenario. items: the store's item
 * entries (with texts) and their rows in vectors. */
static gboolean
derive_scenarios (MsrKnowledge *k, const MsrDataset *ds, const MsrTfidf *tfidf, const char *encoder,
                  GPtrArray *items, const float *item_vectors, guint dim, guint n_terms, guint *n_derived,
                  GError **error)
{
  const guint S = msr_dataset_get_n_scenarios (ds);
  const guint fi = msr_dataset_get_item_field (ds);
  const guint I = msr_dataset_get_field_cardinality (ds, fi);
  const gint32 *icodes = msr_dataset_get_field_codes (ds, fi);
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  const gsize N = msr_dataset_get_n_rows (ds);

  /* Rows per (scenario, item): the training rows only, as a model sees. */
  const guint8 *splits = msr_dataset_get_splits (ds);
  g_autofree guint *rows = g_new0 (guint, (gsize) S * I);
  for (gsize r = 0; r < N; r++)
    if (splits[r] == MSR_SPLIT_TRAIN && icodes[r] > 0)
      rows[(gsize) scen[r] * I + icodes[r]]++;

  /* The item entry (row in items) of each item code. */
  g_autoptr(GHashTable) by_key = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < items->len; i++)
    {
      const MsrKnowledgeEntry *e = items->pdata[i];
      if (!g_hash_table_contains (by_key, e->key))
        g_hash_table_insert (by_key, e->key, GUINT_TO_POINTER (i + 1));
    }
  g_autofree guint *entry_of = g_new0 (guint, I);
  for (guint c = 1; c < I; c++)
    entry_of[c] = GPOINTER_TO_UINT (g_hash_table_lookup (by_key, msr_dataset_get_field_value (ds, fi, (gint32) c)));

  /* Each described item counts for its majority scenario in the terms, and
   * for every scenario it has rows in in the vectors. */
  g_autofree int *group = g_new (int, MAX (items->len, 1));
  for (guint i = 0; i < items->len; i++)
    group[i] = -1;
  g_autofree ScenarioAcc *acc = g_new0 (ScenarioAcc, S);
  g_autofree guint *item_rows = g_new0 (guint, I);
  for (guint s = 0; s < S; s++)
    {
      acc[s].sum = g_new0 (double, dim);
      acc[s].examples = g_array_new (FALSE, FALSE, sizeof (gint32));
    }
  for (guint c = 1; c < I; c++)
    {
      guint best = 0, best_rows = 0;
      for (guint s = 0; s < S; s++)
        {
          const guint n = rows[(gsize) s * I + c];
          if (n == 0)
            continue;
          acc[s].n_items++;
          gint32 code = (gint32) c;
          g_array_append_val (acc[s].examples, code);
          if (n > best_rows)
            best = s, best_rows = n;
          if (entry_of[c] == 0)
            continue;
          const float *v = item_vectors + (gsize) (entry_of[c] - 1) * dim;
          double nn = 0;
          for (guint j = 0; j < dim; j++)
            nn += (double) v[j] * v[j];
          if (nn == 0)
            continue;
          acc[s].n_described++;
          for (guint j = 0; j < dim; j++)
            acc[s].sum[j] += v[j];
        }
      item_rows[c] = best_rows;
      if (entry_of[c] != 0 && best_rows > 0)
        group[entry_of[c] - 1] = (int) best;
    }

  g_autofree const char **texts = g_new0 (const char *, MAX (items->len, 1));
  for (guint i = 0; i < items->len; i++)
    texts[i] = ((const MsrKnowledgeEntry *) items->pdata[i])->response;
  char ***terms = msr_tfidf_distinctive_terms (tfidf, texts, items->len, group, S, n_terms, error);
  gboolean ok = FALSE;
  g_autofree float *vectors = g_new0 (float, (gsize) S * dim);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) out_texts = g_ptr_array_new_with_free_func (g_free);
  g_autofree double *cos = NULL;
  g_autoptr(GString) missing = g_string_new (NULL);
  g_autofree MsrKnowledgeEntry *entries = NULL;
  g_autofree gint64 *ids = NULL;
  MsrKnowledgeImport info = { .kind = (char *) "derived", .source = (char *) encoder };
  gint64 im;
  if (terms == NULL)
    goto out;
  for (guint s = 0; s < S; s++)
    {
      double nn = 0;
      for (guint j = 0; j < dim; j++)
        nn += acc[s].sum[j] * acc[s].sum[j];
      if (nn == 0)
        g_string_append_printf (missing, "%s'%s'", missing->len ? ", " : "", msr_dataset_get_scenario_name (ds, s));
      for (guint j = 0; j < dim && nn > 0; j++)
        vectors[(gsize) s * dim + j] = (float) (acc[s].sum[j] / sqrt (nn));
      g_array_sort_with_data (acc[s].examples, compare_rows_desc, rows + (gsize) s * I);
    }
  if (missing->len)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "cannot derive scenario knowledge for %s: none of its "
                   "items has a description", missing->str);
      goto out;
    }
  cos = msr_knowledge_cosine_matrix (vectors, S, dim);

  const char *llm = items->len ? ((const MsrKnowledgeEntry *) items->pdata[0])->llm : NULL;
  for (guint s = 0; s < S; s++)
    {
      const char *name = msr_dataset_get_scenario_name (ds, s);
      GString *t = g_string_new (NULL);
      g_string_append_printf (t, "## Derived from LLM item descriptions\n"
                              "No LLM wrote about this scenario. This text and its vector are derived from the "
                              "descriptions %s wrote of its items: %u of its %u items are described, and the "
                              "vector is the mean of their vectors (encoder %s).\n\n## Traits\n"
                              "Terms that characterise %s and set it apart from the other scenarios, most "
                              "distinctive first: ", llm ? llm : "an LLM", acc[s].n_described, acc[s].n_items,
                              encoder, name);
      append_terms (t, terms[s], n_terms);
      g_string_append (t, ".\n\n## Relations\nCosine similarity of the derived vectors:\n");
      g_autofree guint *order = g_new (guint, S);
      guint n_other = 0;
      for (guint o = 0; o < S; o++)
        if (o != s)
          order[n_other++] = o;
      /* Closest first. */
      for (guint i = 1; i < n_other; i++)
        for (guint j = i; j > 0 && cos[(gsize) s * S + order[j]] > cos[(gsize) s * S + order[j - 1]]; j--)
          {
            guint x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
          }
      for (guint i = 0; i < n_other; i++)
        {
          const guint o = order[i];
          g_string_append_printf (t, "- %s: %.2f (its own terms: ", msr_dataset_get_scenario_name (ds, o),
                                  cos[(gsize) s * S + o]);
          append_terms (t, terms[o], 4);
          g_string_append (t, ")\n");
        }
      g_string_append (t, "\n## Examples\nIts items with the most training rows: ");
      for (guint i = 0; i < acc[s].examples->len && i < EXAMPLES; i++)
        {
          gint32 c = g_array_index (acc[s].examples, gint32, i);
          const char *label = msr_dataset_get_value_label (ds, fi, c);
          g_string_append_printf (t, "%s%s", i ? "; " : "",
                                  label ? label : msr_dataset_get_field_value (ds, fi, c));
        }
      g_string_append (t, ".\n");
      g_ptr_array_add (out_texts, g_string_free (t, FALSE));
      g_ptr_array_add (names, (gpointer) name);
    }

  /* Replace earlier derived entries, then add these with their vectors. */
  if (!msr_knowledge_delete_entries (k, MSR_KNOWLEDGE_SCENARIO, MSR_KNOWLEDGE_DERIVED_SOURCE, NULL, error))
    goto out;
  im = msr_knowledge_begin_import (k, &info, error);
  if (im == 0)
    goto out;
  entries = g_new0 (MsrKnowledgeEntry, S);
  for (guint s = 0; s < S; s++)
    {
      entries[s].level = MSR_KNOWLEDGE_SCENARIO;
      entries[s].key = names->pdata[s];
      entries[s].source = (char *) MSR_KNOWLEDGE_DERIVED_SOURCE;
      entries[s].response = out_texts->pdata[s];
      entries[s].template_name = (char *) "derived-from-item-descriptions";
      entries[s].template_version = 1;
      entries[s].llm = (char *) "derived";
    }
  if (!msr_knowledge_add_entries (k, im, entries, S, NULL, NULL, error))
    goto out;
  ids = g_new (gint64, S);
  for (guint s = 0; s < S; s++)
    {
      g_autoptr(MsrKnowledgeEntry) e = msr_knowledge_get_entry (k, MSR_KNOWLEDGE_SCENARIO, names->pdata[s],
                                                                MSR_KNOWLEDGE_DERIVED_SOURCE, error);
      if (e == NULL)
        goto out;
      ids[s] = e->id;
    }
  if (!msr_knowledge_put_embeddings (k, encoder, ids, vectors, S, error) ||
      !msr_knowledge_finish_import (k, im, NULL, error))
    goto out;
  *n_derived = S;
  ok = TRUE;

out:
  if (terms)
    msr_tfidf_terms_free (terms, S);
  for (guint s = 0; s < S; s++)
    {
      g_free (acc[s].sum);
      g_array_unref (acc[s].examples);
    }
  return ok;
}

/* ---- the matrices ---------------------------------------------------------- */

static gboolean
store_matrices (MsrKnowledge *k, const MsrDataset *ds, const char *encoder, GError **error)
{
  const guint S = msr_dataset_get_n_scenarios (ds);
  g_autofree const char **names = g_new0 (const char *, S + 1);
  for (guint s = 0; s < S; s++)
    names[s] = msr_dataset_get_scenario_name (ds, s);
  if (!msr_knowledge_set_scenarios (k, names, S, error))
    return FALSE;

  g_autoptr(MsrKnowledgeVectors) sv = msr_knowledge_get_vectors (k, MSR_KNOWLEDGE_SCENARIO, encoder, NULL, error);
  if (sv == NULL && error && *error)
    return FALSE;
  if (sv != NULL)
    {
      /* In the dataset's scenario order; NaN rows for scenarios without one. */
      g_autofree float *v = g_new0 (float, (gsize) S * sv->dim);
      for (guint s = 0; s < S; s++)
        {
          int row = msr_knowledge_vectors_find (sv, names[s]);
          if (row >= 0)
            memcpy (v + (gsize) s * sv->dim, sv->vectors + (gsize) row * sv->dim, sv->dim * sizeof (float));
        }
      g_autofree double *cos = msr_knowledge_cosine_matrix (v, S, sv->dim);
      g_autofree char *source = g_strdup_printf ("llm:%s", encoder);
      if (!msr_knowledge_put_correlation (k, source, names, S, cos, error))
        return FALSE;
    }
  g_autofree double *click = msr_corr_click_rate (ds, MSR_SPLIT_MASK (MSR_SPLIT_TRAIN), CLICK_RATE_MIN_ROWS, NULL);
  g_autofree double *overlap = msr_corr_user_overlap (ds, MSR_SPLIT_MASK (MSR_SPLIT_TRAIN));
  return (click == NULL || msr_knowledge_put_correlation (k, "data:click-rate", names, S, click, error)) &&
         (overlap == NULL || msr_knowledge_put_correlation (k, "data:user-overlap", names, S, overlap, error));
}

/* ---- encoding ---------------------------------------------------------------- */

MsrKnowledgeEncodeReport *
msr_knowledge_encode (MsrKnowledge *k, const MsrDataset *ds, const MsrKnowledgeEncodeOptions *opts,
                      MsrProgressFunc progress, gpointer progress_data, GCancellable *cancellable, GError **error)
{
  MsrKnowledgeEncodeOptions defaults;
  if (opts == NULL)
    {
      msr_knowledge_encode_options_init (&defaults);
      opts = &defaults;
    }
  if (!msr_tfidf_options_validate (&opts->tfidf, error))
    return NULL;
  g_autoptr(GPtrArray) all = msr_knowledge_list_entries (k, -1, NULL, TRUE, error);
  if (all == NULL)
    return NULL;
  /* Written texts only: derived ones are made from these. */
  g_autoptr(GPtrArray) entries = g_ptr_array_new ();
  gboolean written_scenarios = FALSE;
  for (guint i = 0; i < all->len; i++)
    {
      MsrKnowledgeEntry *e = all->pdata[i];
      if (g_strcmp0 (e->source, MSR_KNOWLEDGE_DERIVED_SOURCE) == 0)
        continue;
      written_scenarios |= e->level == MSR_KNOWLEDGE_SCENARIO;
      g_ptr_array_add (entries, e);
    }
  if (entries->len == 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: no knowledge texts to encode: import some first",
                   msr_knowledge_get_path (k));
      return NULL;
    }
  const guint n = entries->len, D = opts->tfidf.dim;
  g_autofree const char **texts = g_new0 (const char *, n + 1);
  g_autofree gint64 *ids = g_new (gint64, n);
  for (guint i = 0; i < n; i++)
    {
      MsrKnowledgeEntry *e = entries->pdata[i];
      texts[i] = e->response;
      ids[i] = e->id;
    }
  g_autofree float *out = g_new (float, (gsize) n * D);
  if (progress)
    progress (-1, "Fitting the text encoder", progress_data);
  g_autoptr(MsrTfidf) tfidf = msr_tfidf_fit (texts, n, &opts->tfidf, out, NULL, NULL, cancellable, error);
  if (tfidf == NULL)
    return NULL;
  const guint dim = msr_tfidf_get_dim (tfidf);

  g_autoptr(MsrKnowledgeEncodeReport) r = g_new0 (MsrKnowledgeEncodeReport, 1);
  r->encoder = opts->encoder_name ? g_strdup (opts->encoder_name) : g_strdup_printf ("tfidf-svd-%u", D);
  r->dim = dim;
  r->n_texts = n;
  r->description = msr_tfidf_describe (tfidf);
  MsrKnowledgeEncoder enc = { .name = r->encoder, .kind = (char *) "builtin", .dim = dim,
                              .params = r->description };
  if (progress)
    progress (-1, "Storing the vectors", progress_data);
  if (!msr_knowledge_put_encoder (k, &enc, error) || !msr_knowledge_put_embeddings (k, r->encoder, ids, out, n, error))
    return NULL;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  if (ds != NULL && opts->derive_scenarios && !written_scenarios)
    {
      if (progress)
        progress (-1, "Deriving scenario knowledge from the item descriptions", progress_data);
      /* The item entries and their vectors, in the fit's order. */
      g_autoptr(GPtrArray) items = g_ptr_array_new ();
      g_autofree float *item_vectors = g_new (float, (gsize) n * dim);
      for (guint i = 0; i < n; i++)
        {
          MsrKnowledgeEntry *e = entries->pdata[i];
          if (e->level != MSR_KNOWLEDGE_ITEM)
            continue;
          memcpy (item_vectors + (gsize) items->len * dim, out + (gsize) i * dim, dim * sizeof (float));
          g_ptr_array_add (items, e);
        }
      if (items->len == 0)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: no scenario texts and no item texts to derive "
                       "them from: import item knowledge (or scenario knowledge)", msr_knowledge_get_path (k));
          return NULL;
        }
      if (!derive_scenarios (k, ds, tfidf, r->encoder, items, item_vectors, dim, opts->terms ? opts->terms : 12,
                             &r->n_scenarios_derived, error))
        return NULL;
    }
  if (ds != NULL && !store_matrices (k, ds, r->encoder, error))
    return NULL;
  if (progress)
    progress (1.0, "Encoded", progress_data);
  return g_steal_pointer (&r);
}

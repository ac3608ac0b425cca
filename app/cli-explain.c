/* cli-explain.c: msrlens-cli meta-weights and correlations, a trained
 * model's insides and the project's scenario correlations (msr-explain.h)
 * without the workbench. */
#include "config.h"
#include "msr-file.h"
#include "cli-common.h"
#include "cli-verbs.h"
#include "msr-explain.h"
#include "msr-knowledge.h"
#include "msr-model.h"
#include "msr-pipeline.h"
#include "msr-project.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- shared helpers --------------------------------------------------------- */

/* Text to standard output, or to path through a temporary file and a
 * rename, so a reader never sees half a file. */
static gboolean
write_output (const char *path, const char *text, GError **error)
{
  const gsize len = strlen (text);
  if (path == NULL)
    {
      if (fwrite (text, 1, len, stdout) != len || fflush (stdout) != 0)
        {
          g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "cannot write to standard output");
          return FALSE;
        }
      return TRUE;
    }
  return msr_file_replace_contents (path, text, len, 0644, error);
}

/* s padded with spaces to width characters (not bytes: "—" is one). */
static void
print_cell (const char *s, int width, gboolean right)
{
  const int pad = MAX (0, width - (int) g_utf8_strlen (s, -1));
  if (right)
    printf ("%*s%s", pad, "", s);
  else
    printf ("%s%*s", s, pad, "");
}

/* ---- meta-weights ----------------------------------------------------------- */

typedef enum { LEVEL_SCENARIO, LEVEL_USER, LEVEL_MEAN_USER } Level;

static const char *const level_names[] = { "scenario", "user", "mean-user" };

/* The shortest decimal that reads back as the same float: the weights are
 * float32, and 17 digits of their double would only add noise. */
static void
append_float (GString *s, float v, const char *non_finite)
{
  if (!isfinite (v))
    {
      g_string_append (s, non_finite);
      return;
    }
  static const char *const formats[] = { "%.6g", "%.7g", "%.8g", "%.9g" };
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_ascii_formatd (buf, sizeof buf, formats[i], v);
      if ((float) g_ascii_strtod (buf, NULL) == v)
        break;
    }
  g_string_append (s, buf);
}

static void
append_json_string (GString *s, const char *v)
{
  if (v == NULL)
    {
      g_string_append (s, "null");
      return;
    }
  g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), v);
  g_autofree char *text = json_to_string (node, FALSE);
  g_string_append (s, text);
}

static char *
weights_csv (const float *w, const float *bias, guint rows, guint cols)
{
  GString *s = g_string_new ("row,bias");
  for (guint c = 0; c < cols; c++)
    g_string_append_printf (s, ",w%u", c);
  g_string_append_c (s, '\n');
  for (guint r = 0; r < rows; r++)
    {
      g_string_append_printf (s, "%u,", r);
      append_float (s, bias[r], "nan");
      for (guint c = 0; c < cols; c++)
        {
          g_string_append_c (s, ',');
          append_float (s, w[(gsize) r * cols + c], "nan");
        }
      g_string_append_c (s, '\n');
    }
  return g_string_free (s, FALSE);
}

typedef struct {
  const char *model_path;
  const char *architecture;
  Level       level;
  const char *key;          /* scenario name or user value; NULL for the mean user */
  const char *scenario;     /* the scenario of a user's layer, or NULL */
  guint       layer, n_layers;
  JsonObject *knowledge;    /* what the model records of its knowledge, nullable */
  const char *dataset_fingerprint;
} MetaProvenance;

/* Written by hand rather than with JsonGenerator, which prints every
 * number with 17 digits; one line per weight row. */
static char *
weights_json (const MetaProvenance *p, const float *w, const float *bias, guint rows, guint cols)
{
  JsonObject *k = p->knowledge;
  const gboolean scen = p->level == LEVEL_SCENARIO;
  const char *encoder = k ? json_object_get_string_member_with_default (k, "encoder", NULL) : NULL;
  const char *source = k ? json_object_get_string_member_with_default (k, scen ? "scenario_source" : "user_source",
                                                                        NULL) : NULL;
  const char *fingerprint = k ? json_object_get_string_member_with_default (k, scen ? "scenario_fingerprint"
                                                                                     : "user_fingerprint", NULL)
                              : NULL;
  GString *s = g_string_new ("{\n  \"model\": ");
  append_json_string (s, p->model_path);
  g_string_append (s, ",\n  \"architecture\": ");
  append_json_string (s, p->architecture);
  g_string_append_printf (s, ",\n  \"level\": \"%s\",\n  \"key\": ", level_names[p->level]);
  append_json_string (s, p->key);
  if (p->scenario)
    {
      g_string_append (s, ",\n  \"scenario\": ");
      append_json_string (s, p->scenario);
    }
  g_string_append_printf (s, ",\n  \"layer\": %u,\n  \"layers\": %u,\n  \"rows\": %u,\n  \"cols\": %u",
                          p->layer, p->n_layers, rows, cols);
  g_string_append (s, ",\n  \"encoder\": ");
  append_json_string (s, encoder);
  g_string_append (s, ",\n  \"knowledge_source\": ");
  append_json_string (s, source);
  g_string_append (s, ",\n  \"knowledge_fingerprint\": ");
  append_json_string (s, fingerprint);
  g_string_append (s, ",\n  \"knowledge\": ");
  if (k)
    {
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), k);
      g_autofree char *text = json_to_string (node, FALSE);
      g_string_append (s, text);
    }
  else
    g_string_append (s, "null");
  g_string_append (s, ",\n  \"dataset_fingerprint\": ");
  append_json_string (s, p->dataset_fingerprint);
  g_string_append (s, ",\n  \"weight\": [");
  for (guint r = 0; r < rows; r++)
    {
      g_string_append (s, r ? ",\n    [" : "\n    [");
      for (guint c = 0; c < cols; c++)
        {
          if (c)
            g_string_append_c (s, ',');
          append_float (s, w[(gsize) r * cols + c], "null");
        }
      g_string_append_c (s, ']');
    }
  g_string_append (s, "\n  ],\n  \"bias\": [");
  for (guint r = 0; r < rows; r++)
    {
      if (r)
        g_string_append_c (s, ',');
      append_float (s, bias[r], "null");
    }
  g_string_append (s, "]\n}\n");
  return g_string_free (s, FALSE);
}

/* The scenario's index in the model, or -1. */
static int
find_scenario (MsrModel *model, const char *name)
{
  const guint S = msr_model_get_n_scenarios (model);
  for (guint s = 0; s < S; s++)
    if (strcmp (msr_model_get_scenario_name (model, s), name) == 0)
      return (int) s;
  return -1;
}

static char *
scenario_list (MsrModel *model)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < msr_model_get_n_scenarios (model); i++)
    g_string_append_printf (s, "%s'%s'", i ? ", " : "", msr_model_get_scenario_name (model, i));
  return g_string_free (s, FALSE);
}

/* msr_model_meta_user_layer quietly gives an unknown user, or one without
 * a vector, the learned "unknown" layer: here that is an error instead. */
static gboolean
check_user (MsrModel *model, const char *path, const char *user, GError **error)
{
  const guint field = msr_model_get_user_field (model);
  const gint32 code = msr_model_encode (model, field, user);
  if (code < 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s holds no vocabularies: cannot look up user '%s'",
                   path, user);
      return FALSE;
    }
  if (code == 0)
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: unknown user '%s' (not a value of the user field "
                   "'%s' the model was trained on)", path, user, msr_model_get_field (model, field)->name);
      return FALSE;
    }
  MsrParam *known = msr_params_lookup (msr_model_get_params (model), "llm4msr.user_known");
  if (known == NULL || (gsize) code >= known->size || known->value[code] <= 0.5)
    {
      guint with = 0;
      for (gsize c = 0; known && c < known->size; c++)
        with += known->value[c] > 0.5;
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "%s: user '%s' has no knowledge vector (%u of the "
                   "model's users have one), so the model gives it the learned unknown user's layer; "
                   "--mean-user gives the population's", path, user, with);
      return FALSE;
    }
  return TRUE;
}

int
cli_meta_weights (int argc, char **argv)
{
  g_autofree char *scenario = NULL, *user = NULL, *format = NULL, *out = NULL, *knowledge = NULL;
  gboolean mean_user = FALSE;
  gint64 layer = 0;
  GOptionEntry entries[] = {
    { "scenario", 0, 0, G_OPTION_ARG_STRING, &scenario, "the generated scenario-level layer of this scenario", "NAME" },
    { "user", 0, 0, G_OPTION_ARG_STRING, &user, "the generated user-level layer of this user (a user with knowledge)", "ID" },
    { "mean-user", 0, 0, G_OPTION_ARG_NONE, &mean_user, "the population's user-level layer (of the mean compressed knowledge)", NULL },
    { "layer", 0, 0, G_OPTION_ARG_INT64, &layer, "which layer of the scenario branch, from 0 (default 0; the user level has only 0)", "N" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, "csv (default) or json", "FORMAT" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "write here (default: standard output)", "FILE" },
    { "knowledge", 0, 0, G_OPTION_ARG_FILENAME, &knowledge, "this knowledge store instead of the project's knowledge.sqlite", "STORE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DIR MODEL");
  g_option_context_set_summary (ctx,
      "Exports a layer that LLM4MSR's meta networks generate from the knowledge vectors of a model\n"
      "trained with --llm4msr on project DIR: a scenario's layer of the scenario branch, a user's\n"
      "user-level layer, or the population's (the layer of the mean compressed knowledge over the\n"
      "users with a vector). As nn.Linear: weight outputs × inputs, and a bias per output.\n\n"
      "CSV has a row per output unit with the columns row,bias,w0,w1,...; JSON adds the model's\n"
      "provenance (encoder, knowledge fingerprints). Values are float32, printed exactly.");
  g_option_context_set_description (ctx,
      "Examples:\n"
      "  msrlens-cli meta-weights ml-genre ml-genre/models/star-llm4msr-seed42.safetensors --scenario Family\n"
      "  msrlens-cli meta-weights ml-genre star-llm4msr.safetensors --scenario 'Comedy/Romance' --layer 1 \\\n"
      "      --format json\n"
      "  msrlens-cli meta-weights ml-genre star-llm4msr.safetensors --user 42 --out user42.csv\n"
      "  msrlens-cli meta-weights world world/models/dnn-llm4msr-seed42.safetensors --mean-user --format json\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 2, 2))
    return CLI_EXIT_USAGE;
  /* --user with --scenario: a user's layer in a scenario, for models whose
   * user meta network reads the scenario's knowledge too. */
  if ((user != NULL) + mean_user != 1 && !(scenario != NULL && user == NULL && !mean_user))
    return cli_fail_message ("meta-weights: give --scenario NAME, --user ID [--scenario NAME] or --mean-user");
  const gboolean json = g_strcmp0 (format, "json") == 0;
  if (format && !json && strcmp (format, "csv") != 0)
    return cli_fail_message ("meta-weights: --format must be csv or json, not '%s'", format);
  if (layer < 0)
    return cli_fail_message ("meta-weights: --layer must be 0 or more");

  const char *path = argv[2];
  g_autoptr(GError) error = NULL;
  /* The project's knowledge store must be the one the model was trained
   * with: the same check as score and eval. */
  g_autoptr(MsrProject) project = msr_project_open (argv[1], &error);
  if (project == NULL)
    return cli_fail (error);
  if (!cli_use_knowledge (project, knowledge))
    return CLI_EXIT_ERROR;
  g_autoptr(MsrModel) model = msr_pipeline_load_model (project, path, &error);
  if (model == NULL)
    return cli_fail (error);
  const MsrModelConfig *cfg = msr_model_get_config (model);
  if (!cfg->llm4msr)
    return cli_fail_message ("%s was trained without --llm4msr: it has no meta layers", path);

  const Level level = user ? LEVEL_USER : scenario ? LEVEL_SCENARIO : LEVEL_MEAN_USER;
  g_autofree char *architecture = msr_model_config_describe (cfg, FALSE);
  MetaProvenance prov = {
    .model_path = path,
    .architecture = architecture,
    .level = level,
    .key = user ? user : scenario,
    .scenario = user ? scenario : NULL,
    .layer = (guint) layer,
    .dataset_fingerprint = msr_model_get_dataset_fingerprint (model),
  };
  g_autofree float *w = NULL, *bias = NULL;
  guint rows = 0, cols = 0;
  gboolean ok;
  if (level == LEVEL_SCENARIO)
    {
      if (cfg->meta_no_scenario)
        return cli_fail_message ("%s was trained with the no-scenario ablation: it has no scenario-level meta "
                                 "layers (--user or --mean-user give its user-level layer)", path);
      const int s = find_scenario (model, scenario);
      if (s < 0)
        {
          g_autofree char *names = scenario_list (model);
          return cli_fail_message ("%s has no scenario '%s'; its scenarios are %s", path, scenario, names);
        }
      prov.n_layers = msr_model_meta_scenario_n_layers (model);
      if (layer >= prov.n_layers)
        return cli_fail_message ("%s: --layer %" G_GINT64_FORMAT " is out of range: the scenario branch has %u "
                                 "layers (0 to %u)", path, layer, prov.n_layers, prov.n_layers - 1);
      ok = msr_model_meta_scenario_layer (model, (guint) s, (guint) layer, &w, &rows, &cols, &bias, &error);
    }
  else
    {
      if (cfg->meta_no_user)
        return cli_fail_message ("%s was trained with the no-user ablation: it has no user-level meta layer "
                                 "(--scenario NAME gives its scenario-level layers)", path);
      prov.n_layers = 1;
      if (layer != 0)
        return cli_fail_message ("%s: --layer %" G_GINT64_FORMAT " is out of range: the user level has one "
                                 "layer (0)", path, layer);
      int s = -1;
      if (level == LEVEL_USER && cfg->meta_user_on_scenario)
        {
          if (scenario == NULL)
            return cli_fail_message ("%s was trained with --user-meta-on-scenario: a user's layer depends on the "
                                     "scenario too; name one with --scenario NAME (--mean-user gives the "
                                     "population's, averaged over the scenarios)", path);
          if ((s = find_scenario (model, scenario)) < 0)
            {
              g_autofree char *names = scenario_list (model);
              return cli_fail_message ("%s has no scenario '%s'; its scenarios are %s", path, scenario, names);
            }
        }
      else if (level == LEVEL_USER && scenario)
        return cli_fail_message ("%s: this model's user-level layer does not depend on the scenario (it was not "
                                 "trained with --user-meta-on-scenario): drop --scenario", path);
      if (level == LEVEL_USER && !check_user (model, path, user, &error))
        return cli_fail (error);
      ok = level == LEVEL_USER ? msr_model_meta_user_layer_in_scenario (model, user, s, &w, &rows, &cols, &bias,
                                                                        &error)
                               : msr_model_meta_user_layer_mean (model, &w, &rows, &cols, &bias, &error);
    }
  if (!ok)
    {
      g_prefix_error (&error, "%s: ", path);
      return cli_fail (error);
    }

  g_autoptr(JsonNode) kn = msr_model_get_knowledge_json (model)
                             ? json_from_string (msr_model_get_knowledge_json (model), NULL) : NULL;
  prov.knowledge = kn && JSON_NODE_HOLDS_OBJECT (kn) ? json_node_get_object (kn) : NULL;
  g_autofree char *text = json ? weights_json (&prov, w, bias, rows, cols) : weights_csv (w, bias, rows, cols);
  if (!write_output (out, text, &error))
    return cli_fail (error);
  if (out)
    fprintf (stderr, "%s layer %u%s%s (%u × %u) written to %s\n", level_names[level], prov.layer,
             prov.key ? " of " : "", prov.key ? prov.key : "", rows, cols, out);
  return CLI_EXIT_OK;
}

/* ---- correlations ----------------------------------------------------------- */

static char *
format_value (double v, const char *format)
{
  return isnan (v) ? g_strdup ("—") : g_strdup_printf (format, v);
}

/* Why the LLM's matrix is missing, when it is. */
static char *
knowledge_note (const MsrCorrelationReport *r, const char *store)
{
  for (guint i = 0; i < r->matrices->len; i++)
    if (g_str_has_prefix (((MsrScenarioMatrix *) r->matrices->pdata[i])->source, "llm:"))
      return NULL;
  if (r->knowledge_error)
    return g_strdup_printf ("No LLM matrix: %s", r->knowledge_error);
  if (!g_file_test (store, G_FILE_TEST_EXISTS))
    return g_strdup_printf ("No LLM matrix: %s does not exist (msrlens-cli knowledge import, then knowledge "
                            "encode)", store);
  return g_strdup_printf ("No LLM matrix: %s holds no scenario correlation yet (msrlens-cli knowledge encode)",
                          store);
}

static void
json_add_matrix_values (JsonBuilder *b, const double *v, guint S)
{
  json_builder_begin_array (b);
  for (guint a = 0; a < S; a++)
    {
      json_builder_begin_array (b);
      for (guint c = 0; c < S; c++)
        {
          if (isnan (v[(gsize) a * S + c]))
            json_builder_add_null_value (b);
          else
            json_builder_add_double_value (b, v[(gsize) a * S + c]);
        }
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
}

static void
print_correlations_json (const MsrCorrelationReport *r, const char *model_path, GPtrArray *notes)
{
  const guint S = r->n_scenarios;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "scenarios");
  json_builder_begin_array (b);
  for (guint s = 0; s < S; s++)
    json_builder_add_string_value (b, r->scenarios[s]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "model");
  if (model_path)
    json_builder_add_string_value (b, model_path);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "matrices");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->matrices->len; i++)
    {
      const MsrScenarioMatrix *m = r->matrices->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "source");
      json_builder_add_string_value (b, m->source);
      json_builder_set_member_name (b, "title");
      json_builder_add_string_value (b, m->title);
      json_builder_set_member_name (b, "note");
      json_builder_add_string_value (b, m->note);
      json_builder_set_member_name (b, "values");
      json_add_matrix_values (b, m->values, S);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "agreements");
  json_builder_begin_array (b);
  for (guint i = 0; i < r->n_agreements; i++)
    {
      const MsrMatrixAgreement *ag = &r->agreements[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "a");
      json_builder_add_string_value (b, ((MsrScenarioMatrix *) r->matrices->pdata[ag->a])->source);
      json_builder_set_member_name (b, "b");
      json_builder_add_string_value (b, ((MsrScenarioMatrix *) r->matrices->pdata[ag->b])->source);
      json_builder_set_member_name (b, "pairs");
      json_builder_add_int_value (b, ag->pairs);
      cli_json_add_double (b, "r", ag->r, TRUE);
      cli_json_add_double (b, "p", ag->p, TRUE);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "permutations");
  json_builder_add_int_value (b, r->permutations);
  json_builder_set_member_name (b, "notes");
  json_builder_begin_array (b);
  for (guint i = 0; i < notes->len; i++)
    json_builder_add_string_value (b, notes->pdata[i]);
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  cli_print_json (root);
}

static void
print_correlations_text (const MsrCorrelationReport *r, MsrProject *project, GPtrArray *notes)
{
  const guint S = r->n_scenarios;
  int w = 6;
  for (guint s = 0; s < S; s++)
    w = MAX (w, (int) g_utf8_strlen (r->scenarios[s], -1));
  printf ("Scenario correlations of '%s': %u matrices over %u scenarios\n", msr_project_get_name (project),
          r->matrices->len, S);
  for (guint i = 0; i < r->matrices->len; i++)
    {
      const MsrScenarioMatrix *m = r->matrices->pdata[i];
      printf ("\n%s [%s]\n%s\n", m->title, m->source, m->note);
      print_cell ("", w, FALSE);
      for (guint c = 0; c < S; c++)
        {
          printf ("  ");
          print_cell (r->scenarios[c], w, TRUE);
        }
      printf ("\n");
      for (guint a = 0; a < S; a++)
        {
          print_cell (r->scenarios[a], w, FALSE);
          for (guint c = 0; c < S; c++)
            {
              g_autofree char *cell = format_value (m->values[(gsize) a * S + c], "%.3f");
              printf ("  ");
              print_cell (cell, w, TRUE);
            }
          printf ("\n");
        }
    }

  int wm = 8;
  for (guint i = 0; i < r->matrices->len; i++)
    wm = MAX (wm, (int) g_utf8_strlen (((MsrScenarioMatrix *) r->matrices->pdata[i])->source, -1));
  g_autofree char *perms = cli_format_count (r->permutations);
  printf ("\nMantel agreement: Pearson r over the scenario pairs both matrices define,\n"
          "one-sided p from %s permutations of the scenarios\n", perms);
  if (r->n_agreements == 0)
    printf ("(fewer than two matrices: nothing to compare)\n");
  else
    {
      print_cell ("matrix a", wm, FALSE);
      printf ("  ");
      print_cell ("matrix b", wm, FALSE);
      printf ("  pairs        r        p\n");
    }
  for (guint i = 0; i < r->n_agreements; i++)
    {
      const MsrMatrixAgreement *ag = &r->agreements[i];
      g_autofree char *rv = format_value (ag->r, "%.3f");
      g_autofree char *pv = format_value (ag->p, "%.4f");
      print_cell (((MsrScenarioMatrix *) r->matrices->pdata[ag->a])->source, wm, FALSE);
      printf ("  ");
      print_cell (((MsrScenarioMatrix *) r->matrices->pdata[ag->b])->source, wm, FALSE);
      printf ("  %5u  ", ag->pairs);
      print_cell (rv, 7, TRUE);
      printf ("  ");
      print_cell (pv, 7, TRUE);
      printf ("\n");
    }
  if (notes->len)
    printf ("\n");
  for (guint i = 0; i < notes->len; i++)
    printf ("%s\n", (const char *) notes->pdata[i]);
}

int
cli_correlations (int argc, char **argv)
{
  g_autofree char *model_path = NULL, *knowledge = NULL;
  gboolean json = FALSE;
  gint64 permutations = MSR_EXPLAIN_PERMUTATIONS;
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model_path, "also the matrix this model learned (LLM4MSR, STAR, MMoE or PLE)", "MODEL" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object", NULL },
    { "permutations", 0, 0, G_OPTION_ARG_INT64, &permutations, "Mantel test permutations (default 9999; 0 = r without p)", "N" },
    { "knowledge", 0, 0, G_OPTION_ARG_FILENAME, &knowledge, "this knowledge store instead of the project's knowledge.sqlite", "STORE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DIR");
  g_option_context_set_summary (ctx,
      "The project's scenario-correlation matrices side by side, as the Scenario Correlations page\n"
      "shows them: the LLM's (cosine similarity of the scenarios' knowledge vectors, from the\n"
      "knowledge store), the data's (users' click rates, and shared users, on the training rows),\n"
      "the planted one of a simulated project, and the one MODEL learned; then the Mantel test\n"
      "of agreement between every two (seed 1, so the same command gives the same p).");
  g_option_context_set_description (ctx,
      "Examples:\n"
      "  msrlens-cli correlations ml-genre\n"
      "  msrlens-cli correlations world --model world/models/star-llm4msr-seed42.safetensors --json\n"
      "  msrlens-cli correlations ml-genre --permutations 0     # r only, no p\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 1, 1))
    return CLI_EXIT_USAGE;
  if (permutations < 0 || permutations > 1000000)
    return cli_fail_message ("correlations: --permutations must be 0 to 1000000");

  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) project = msr_project_open (argv[1], &error);
  if (project == NULL)
    return cli_fail (error);
  if (!cli_use_knowledge (project, knowledge))
    return CLI_EXIT_ERROR;
  CliProgress progress = { 0 };
  g_autoptr(MsrDataset) ds = msr_project_load_dataset (project, json ? NULL : cli_progress, &progress, NULL, &error);
  cli_progress_done (&progress);
  if (ds == NULL)
    return cli_fail (error);
  g_autoptr(MsrModel) model = NULL;
  g_autofree char *label = NULL;
  if (model_path)
    {
      model = msr_pipeline_load_model (project, model_path, &error);
      if (model == NULL)
        return cli_fail (error);
      /* MMoE's and PLE's learned matrix scores the project's rows. */
      if (!msr_model_check_dataset (model, ds, &error))
        {
          g_prefix_error (&error, "%s: ", model_path);
          return cli_fail (error);
        }
      label = msr_model_config_describe (msr_model_get_config (model), FALSE);
    }
  g_autofree char *store = msr_project_get_knowledge_path (project);
  g_autoptr(MsrCorrelationReport) r = msr_explain_correlations (msr_project_get_dir (project), store, model, label, ds,
                                                                (guint) permutations, NULL, &error);
  if (r == NULL)
    return cli_fail (error);

  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  char *kn = knowledge_note (r, store);
  if (kn)
    g_ptr_array_add (notes, kn);
  if (r->learned_error)
    g_ptr_array_add (notes, g_strdup_printf ("No learned matrix: %s", r->learned_error));
  if (json)
    print_correlations_json (r, model_path, notes);
  else
    print_correlations_text (r, project, notes);
  return CLI_EXIT_OK;
}

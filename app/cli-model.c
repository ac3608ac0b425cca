/* cli-model.c: msrlens-cli train, score, eval, runs and inspect. */
#include "config.h"
#include "msr-file.h"
#include "cli-common.h"
#include "cli-verbs.h"
#include "msr-metrics.h"
#include "msr-model.h"
#include "msr-pipeline.h"
#include "msr-project.h"
#include "msr-results.h"
#include "msr-safetensors.h"
#include "msr-stats.h"
#include "msr-train.h"

#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- shared helpers --------------------------------------------------------- */

static MsrDataset *
load_project_dataset (const char *dir, MsrProject **project_out, gboolean quiet, GError **error)
{
  g_autoptr(MsrProject) project = msr_project_open (dir, error);
  if (project == NULL)
    return NULL;
  CliProgress progress = { 0 };
  MsrDataset *ds = msr_project_load_dataset (project, quiet ? NULL : cli_progress, &progress, NULL, error);
  cli_progress_done (&progress);
  if (ds && project_out)
    *project_out = g_steal_pointer (&project);
  return ds;
}


static guint
split_mask_of (const char *name, MsrSplit *split)
{
  if (g_strcmp0 (name, "test") == 0)
    *split = MSR_SPLIT_TEST;
  else if (g_strcmp0 (name, "valid") == 0)
    *split = MSR_SPLIT_VALID;
  else if (g_strcmp0 (name, "train") == 0)
    *split = MSR_SPLIT_TRAIN;
  else
    return 0;
  return MSR_SPLIT_MASK (*split);
}

/* ---- train -------------------------------------------------------------------- */

typedef struct {
  gboolean tty;
  gboolean quiet;
  guint    n_scenarios;
  char   **scenario_names;
  gint64   last_draw;
} TrainPrinter;

static void
train_progress (const MsrTrainStatus *st, gpointer data)
{
  TrainPrinter *p = data;
  if (p->quiet)
    return;
  if (st->finished)
    {
      const MsrEpochLog *e = st->finished;
      if (p->tty)
        fprintf (stderr, "\r\033[K");
      g_autofree char *auc = cli_format_metric (e->valid_auc, !isnan (e->valid_auc));
      fprintf (stderr, "epoch %2u/%u  train loss %.4f  valid AUC %s  logloss %.4f  %.1f s%s\n", e->epoch, st->epochs,
               e->train_loss, auc, e->valid_logloss, e->seconds, e->best ? "  (best)" : "");
      GString *line = g_string_new ("          valid AUC by scenario:");
      for (guint s = 0; s < p->n_scenarios; s++)
        g_string_append_printf (line, " %s %.4f%s", p->scenario_names[s], e->valid_auc_scenario[s],
                                s + 1 < p->n_scenarios ? ";" : "");
      fprintf (stderr, "%s\n", line->str);
      g_string_free (line, TRUE);
      return;
    }
  if (!p->tty)
    return;
  gint64 now = g_get_monotonic_time ();
  if (now - p->last_draw < 100000 && st->batch != st->n_batches)
    return;
  p->last_draw = now;
  g_autofree char *rate = cli_format_count ((guint64) st->rows_per_second);
  fprintf (stderr, "\repoch %u/%u  batch %" G_GSIZE_FORMAT "/%" G_GSIZE_FORMAT "  loss %.4f  %s rows/s  ETA %.0f s\033[K",
           st->epoch, st->epochs, st->batch, st->n_batches, st->loss, rate, st->eta_seconds);
  fflush (stderr);
}

static gboolean
parse_dims_option (const char *name, const char *text, MsrDims *dims, GError **error)
{
  if (text && !msr_dims_parse (text, dims))
    {
      g_set_error (error, MSR_ERROR, MSR_ERROR_INVALID, "--%s '%s' is not a comma-separated list of widths",
                   name, text);
      return FALSE;
    }
  return TRUE;
}

int
cli_train (int argc, char **argv)
{
  g_autofree char *knowledge = NULL, *backbone = NULL, *out = NULL, *hidden = NULL, *tower = NULL, *aux = NULL;
  gint64 epochs = -1, batch_size = -1, seed = 42, threads = 1, patience = -1, embed_dim = -1;
  gint64 experts = -1, ple_levels = -1, ple_specific = -1, ple_shared = -1;
  double lr = -1, weight_decay = -1, dropout = -1;
  gboolean adamw = FALSE, no_bn = FALSE, embed_scenario = FALSE, quiet = FALSE, no_record = FALSE;
  gboolean llm4msr = FALSE, no_residual = FALSE, user_on_scenario = FALSE;
  g_autofree char *encoder = NULL, *ablation = NULL, *meta_scenario = NULL;
  gint64 meta_dq = -1, meta_rank = -1;
  GOptionEntry entries[] = {
    { "backbone", 0, 0, G_OPTION_ARG_STRING, &backbone, "dnn, dnn-separate, shared-bottom, mmoe, ple, star or pepnet", "NAME" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "the model file to write (.safetensors)", "MODEL" },
    { "epochs", 0, 0, G_OPTION_ARG_INT64, &epochs, "at most N epochs (default 20)", "N" },
    { "batch-size", 0, 0, G_OPTION_ARG_INT64, &batch_size, "rows per batch (default 1024)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "learning rate (default 0.001)", "X" },
    { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &weight_decay, "weight decay (default 1e-5)", "X" },
    { "adamw", 0, 0, G_OPTION_ARG_NONE, &adamw, "decoupled weight decay (AdamW) instead of Adam's L2", NULL },
    { "patience", 0, 0, G_OPTION_ARG_INT64, &patience, "stop after N epochs without a better validation AUC (default 3)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "initialisation, shuffling and dropout seed (default 42)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT64, &threads, "BLAS threads (default 1: bit-reproducible)", "N" },
    { "embed-dim", 0, 0, G_OPTION_ARG_INT64, &embed_dim, "embedding width per field (default 16)", "N" },
    { "hidden", 0, 0, G_OPTION_ARG_STRING, &hidden, "hidden widths: the DNN, bottom, experts, star layers or PPNet towers", "A,B" },
    { "tower", 0, 0, G_OPTION_ARG_STRING, &tower, "per-scenario tower widths (Shared-Bottom, MMoE, PLE)", "A,B" },
    { "aux", 0, 0, G_OPTION_ARG_STRING, &aux, "STAR auxiliary network widths", "A,B" },
    { "experts", 0, 0, G_OPTION_ARG_INT64, &experts, "MMoE experts (default: one per scenario)", "N" },
    { "ple-levels", 0, 0, G_OPTION_ARG_INT64, &ple_levels, "PLE levels (default 2; 1 = CGC)", "N" },
    { "ple-specific", 0, 0, G_OPTION_ARG_INT64, &ple_specific, "PLE experts per scenario (default 1)", "N" },
    { "ple-shared", 0, 0, G_OPTION_ARG_INT64, &ple_shared, "PLE shared experts (default 2)", "N" },
    { "dropout", 0, 0, G_OPTION_ARG_DOUBLE, &dropout, "dropout after hidden layers (default 0)", "X" },
    { "no-batchnorm", 0, 0, G_OPTION_ARG_NONE, &no_bn, "no BatchNorm in the MLPs", NULL },
    { "embed-scenario", 0, 0, G_OPTION_ARG_NONE, &embed_scenario, "also embed the scenario id as an input field", NULL },
    { "llm4msr", 0, 0, G_OPTION_ARG_NONE, &llm4msr, "add LLM4MSR's meta networks, fed by the project's knowledge store", NULL },
    { "knowledge", 0, 0, G_OPTION_ARG_FILENAME, &knowledge, "LLM4MSR: this knowledge store instead of the project's knowledge.sqlite", "STORE" },
    { "encoder", 0, 0, G_OPTION_ARG_STRING, &encoder, "with --llm4msr: whose knowledge vectors (default: the encoder with the most)", "NAME" },
    { "ablation", 0, 0, G_OPTION_ARG_STRING, &ablation, "with --llm4msr: no-user, no-scenario, shuffled or id-only", "NAME" },
    { "meta-dq", 0, 0, G_OPTION_ARG_INT64, &meta_dq, "with --llm4msr: compression width d_q (default 64)", "N" },
    { "meta-rank", 0, 0, G_OPTION_ARG_INT64, &meta_rank, "with --llm4msr: user meta layer rank (default: full up to 64×64, else 8)", "N" },
    { "meta-scenario", 0, 0, G_OPTION_ARG_STRING, &meta_scenario, "with --llm4msr: scenario branch widths (default 32)", "A,B" },
    { "no-meta-residual", 0, 0, G_OPTION_ARG_NONE, &no_residual, "with --llm4msr: no residual around the user meta layer", NULL },
    { "user-meta-on-scenario", 0, 0, G_OPTION_ARG_NONE, &user_on_scenario, "with --llm4msr: the user meta network also reads the scenario's knowledge", NULL },
    { "no-record", 0, 0, G_OPTION_ARG_NONE, &no_record, "do not record the training curve in the project's results store", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "no progress on stderr", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DIR");
  g_option_context_set_summary (ctx,
      "Trains a multi-scenario backbone on the project's training rows, with early stopping on\n"
      "the validation rows' AUC (the best epoch's parameters are kept), and writes a safetensors\n"
      "model file. Progress (epoch, batch, loss, rate, ETA) goes to stderr. With one thread and\n"
      "the same seed, two runs write bit-identical files.");
  g_option_context_set_description (ctx,
      "Examples:\n  msrlens-cli train ml-genre --backbone star --epochs 20 --out ml-genre/star.safetensors\n"
      "  msrlens-cli train ml-genre --backbone star --llm4msr --out ml-genre/star-llm4msr.safetensors\n"
      "  msrlens-cli train ml-genre --backbone mmoe --llm4msr --ablation shuffled --out shuffled.safetensors\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 1, 1))
    return CLI_EXIT_USAGE;

  MsrArch arch;
  if (backbone == NULL || !msr_arch_from_string (backbone, &arch))
    return cli_fail_message ("train: --backbone must be one of %s", msr_arch_list ());
  if (out == NULL)
    return cli_fail_message ("train: --out MODEL.safetensors is required");
  if (seed < 0 || threads < 1 || threads > 256)
    return cli_fail_message ("train: --seed must be >= 0 and --threads 1 to 256");

  MsrModelConfig cfg;
  msr_model_config_init (&cfg, arch);
  MsrTrainOptions opts;
  msr_train_options_init (&opts);
  g_autoptr(GError) error = NULL;
  if (!parse_dims_option ("hidden", hidden, &cfg.hidden, &error) ||
      !parse_dims_option ("tower", tower, &cfg.tower, &error) ||
      !parse_dims_option ("aux", aux, &cfg.aux, &error))
    return cli_fail (error);
#define SET_IF(opt, field, lo, hi, what)                                                   \
  if (opt != -1)                                                                           \
    {                                                                                      \
      if (opt < lo || opt > hi)                                                            \
        return cli_fail_message ("train: --%s must be between %g and %g", what, (double) (lo), (double) (hi)); \
      field = opt;                                                                         \
    }
  SET_IF (epochs, opts.epochs, 1, 100000, "epochs");
  SET_IF (batch_size, opts.batch_size, 1, 1 << 20, "batch-size");
  SET_IF (patience, opts.patience, 1, 100000, "patience");
  SET_IF (embed_dim, cfg.embed_dim, 1, 4096, "embed-dim");
  SET_IF (experts, cfg.n_experts, 1, 256, "experts");
  SET_IF (ple_levels, cfg.ple_levels, 1, 8, "ple-levels");
  SET_IF (ple_specific, cfg.ple_specific, 0, 64, "ple-specific");
  SET_IF (ple_shared, cfg.ple_shared, 0, 64, "ple-shared");
#undef SET_IF
  if (lr != -1)
    opts.lr = lr;
  if (weight_decay != -1)
    opts.weight_decay = weight_decay;
  if (dropout != -1)
    cfg.dropout = dropout;
  opts.adamw = adamw;
  opts.seed = (guint64) seed;
  opts.threads = (guint) threads;
  cfg.batchnorm = !no_bn;
  cfg.embed_scenario = embed_scenario;
  if (!llm4msr && (encoder || ablation || meta_dq != -1 || meta_rank != -1 || meta_scenario || no_residual ||
                   user_on_scenario))
    return cli_fail_message ("train: the LLM4MSR options need --llm4msr");
  if (llm4msr)
    {
      cfg.llm4msr = TRUE;
      cfg.knowledge_encoder = encoder;
      cfg.meta_residual = !no_residual;
      cfg.meta_user_on_scenario = user_on_scenario;
      if (meta_dq != -1 && (meta_dq < 1 || meta_dq > 4096))
        return cli_fail_message ("train: --meta-dq must be between 1 and 4096");
      if (meta_rank != -1 && (meta_rank < 0 || meta_rank > 4096))
        return cli_fail_message ("train: --meta-rank must be between 0 and 4096");
      if (meta_dq != -1)
        cfg.meta_dq = (guint) meta_dq;
      if (meta_rank != -1)
        cfg.meta_rank = (guint) meta_rank;
      if (!parse_dims_option ("meta-scenario", meta_scenario, &cfg.meta_scenario, &error))
        return cli_fail (error);
      if (ablation == NULL)
        ;
      else if (strcmp (ablation, "no-user") == 0)
        cfg.meta_no_user = TRUE;
      else if (strcmp (ablation, "no-scenario") == 0)
        cfg.meta_no_scenario = TRUE;
      else if (strcmp (ablation, "shuffled") == 0)
        cfg.meta_shuffle_users = TRUE;
      else if (strcmp (ablation, "id-only") == 0)
        cfg.meta_id_only = TRUE;
      else
        return cli_fail_message ("train: --ablation must be no-user, no-scenario, shuffled or id-only");
    }

  g_autoptr(MsrProject) project = NULL;
  g_autoptr(MsrDataset) ds = load_project_dataset (argv[1], &project, quiet, &error);
  if (ds == NULL)
    return cli_fail (error);
  if (!cli_use_knowledge (project, knowledge))
    return CLI_EXIT_ERROR;
  g_autoptr(MsrModel) model = msr_pipeline_new_model (project, ds, &cfg, opts.seed, &error);
  if (model == NULL)
    return cli_fail (error);
  g_autofree char *variant = msr_model_config_describe (&cfg, FALSE);

  TrainPrinter printer = { isatty (fileno (stderr)), quiet, msr_model_get_n_scenarios (model), NULL, 0 };
  printer.scenario_names = g_new0 (char *, printer.n_scenarios + 1);
  for (guint s = 0; s < printer.n_scenarios; s++)
    printer.scenario_names[s] = g_strdup (msr_model_get_scenario_name (model, s));
  if (!quiet)
    {
      g_autofree char *params = cli_format_count (msr_params_count_trainable (msr_model_get_params (model)));
      fprintf (stderr, "training %s on %s: %s parameters, %.0f multiply-adds per row\n",
               variant, msr_project_get_name (project), params, msr_model_flops_per_sample (model));
    }
  g_autoptr(MsrTrainResult) res = msr_train (model, ds, &opts, train_progress, &printer, NULL, &error);
  g_strfreev (printer.scenario_names);
  if (res == NULL)
    return cli_fail (error);

  g_autofree char *training_json = msr_train_result_to_json (res, &opts, ds);
  if (!msr_model_save (model, out, training_json, &error))
    return cli_fail (error);

  if (!no_record && msr_pipeline_record_training (project, model, out, ds, res, &opts, &error) == 0)
    return cli_fail (error);

  printf ("Trained %s: best epoch %u of %u%s, validation AUC %.4f, %.1f s\n", variant,
          res->best_epoch, res->epochs->len, res->stopped_early ? " (stopped early)" : "", res->best_valid_auc,
          res->seconds);
  printf ("Model written to %s\n", out);
  return CLI_EXIT_OK;
}

/* ---- score ------------------------------------------------------------------- */

static const char *
user_of (const MsrDataset *ds, guint32 row)
{
  const guint uf = msr_dataset_get_user_field (ds);
  return msr_dataset_get_field_value (ds, uf, msr_dataset_get_field_codes (ds, uf)[row]);
}

/* The streaming filter: rows on stdin, scores on stdout. */
static int
score_stream (MsrModel *model, gsize batch_size, gboolean header_only_fields)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) raw = g_unix_input_stream_new (0, FALSE);
  g_autoptr(GDataInputStream) in = g_data_input_stream_new (raw);
  gsize len;
  g_autofree char *header = g_data_input_stream_read_line_utf8 (in, &len, NULL, &error);
  if (header == NULL)
    return error ? cli_fail (error) : cli_fail_message ("score: standard input is empty (expected a header line)");
  g_strchomp (header);
  g_auto(GStrv) cols = g_strsplit (header, "\t", -1);
  const guint n_cols = g_strv_length (cols);
  const guint F = msr_model_get_n_fields (model);
  g_autofree int *field_col = g_new (int, F);
  int c_scen = -1, c_label = -1, c_id = -1;
  for (guint f = 0; f < F; f++)
    field_col[f] = -1;
  for (guint c = 0; c < n_cols; c++)
    {
      if (strcmp (cols[c], "scenario") == 0) c_scen = (int) c;
      else if (strcmp (cols[c], "label") == 0) c_label = (int) c;
      else if (strcmp (cols[c], "id") == 0) c_id = (int) c;
      for (guint f = 0; f < F; f++)
        if (strcmp (cols[c], msr_model_get_field (model, f)->name) == 0)
          field_col[f] = (int) c;
    }
  for (guint f = 0; f < F; f++)
    if (field_col[f] < 0)
      return cli_fail_message ("score: standard input: the header lacks the model's field '%s' "
                               "(needed: scenario and every field: run 'msrlens-cli inspect MODEL')",
                               msr_model_get_field (model, f)->name);
  if (c_scen < 0)
    return cli_fail_message ("score: standard input: the header has no 'scenario' column");
  if (msr_model_encode (model, 0, "") < 0)
    return cli_fail_message ("score: the model file holds no vocabularies, so raw rows cannot be encoded");

  const guint S = msr_model_get_n_scenarios (model);
  g_autoptr(GHashTable) scen_index = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint s = 0; s < S; s++)
    g_hash_table_insert (scen_index, (gpointer) msr_model_get_scenario_name (model, s), GUINT_TO_POINTER (s + 1));
  g_autoptr(MsrBatch) batch = msr_batch_new (model);
  g_autoptr(MsrGraph) g = msr_graph_new ();
  msr_graph_set_training (g, FALSE);
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autofree gint32 **codes = g_new0 (gint32 *, F);
  g_autofree guint *counts = g_new0 (guint, F);
  for (guint f = 0; f < F; f++)
    codes[f] = g_new0 (gint32, 256);

  printf ("id\t%sscore\tscenario\tuser\n", c_label >= 0 ? "label\t" : "");
  gsize line_no = 1, row_no = 0;
  gboolean eof = FALSE;
  while (!eof)
    {
      msr_batch_begin (batch);
      g_ptr_array_set_size (lines, 0);
      while (msr_batch_get_n (batch) < batch_size)
        {
          g_autofree char *line = g_data_input_stream_read_line_utf8 (in, &len, NULL, &error);
          if (line == NULL)
            {
              if (error)
                return cli_fail_message ("score: standard input: line %" G_GSIZE_FORMAT ": %s", line_no + 1, error->message);
              eof = TRUE;
              break;
            }
          line_no++;
          g_strchomp (line);
          if (line[0] == '\0')
            continue;
          char **v = g_strsplit (line, "\t", -1);
          if (g_strv_length (v) != n_cols)
            {
              guint got = g_strv_length (v);
              g_strfreev (v);
              return cli_fail_message ("score: standard input: line %" G_GSIZE_FORMAT ": %u fields, the header has %u",
                                       line_no, got, n_cols);
            }
          guint s = GPOINTER_TO_UINT (g_hash_table_lookup (scen_index, v[c_scen]));
          if (s == 0)
            {
              g_autofree char *bad = g_strdup (v[c_scen]);
              g_strfreev (v);
              return cli_fail_message ("score: standard input: line %" G_GSIZE_FORMAT ": scenario '%s' is not one "
                                       "the model was trained on", line_no, bad);
            }
          guint8 label = 0;
          if (c_label >= 0)
            {
              if (strcmp (v[c_label], "0") != 0 && strcmp (v[c_label], "1") != 0)
                {
                  g_strfreev (v);
                  return cli_fail_message ("score: standard input: line %" G_GSIZE_FORMAT ": label is not 0 or 1", line_no);
                }
              label = v[c_label][0] == '1';
            }
          for (guint f = 0; f < F; f++)
            {
              const char *cell = v[field_col[f]];
              if (msr_model_get_field (model, f)->kind == MSR_FIELD_CATEGORICAL)
                {
                  codes[f][0] = msr_model_encode (model, f, cell);
                  counts[f] = 1;
                  continue;
                }
              /* Multi-hot values are separated by '|'. */
              g_auto(GStrv) parts = g_strsplit (cell, "|", 256);
              counts[f] = 0;
              for (char **p = parts; *p; p++)
                if (**p)
                  codes[f][counts[f]++] = msr_model_encode (model, f, *p);
            }
          msr_batch_append_row (batch, s - 1, label, (const gint32 *const *) codes, counts);
          g_ptr_array_add (lines, v);
        }
      if (msr_batch_get_n (batch) == 0)
        break;
      msr_batch_end (batch);
      msr_graph_reset (g);
      MsrNode *z = msr_model_forward (model, g, batch, NULL);
      const msr_real *zv = msr_node_value (z);
      const guint uf = msr_model_get_user_field (model);
      for (gsize i = 0; i < msr_batch_get_n (batch); i++, row_no++)
        {
          char **v = g_ptr_array_index (lines, i);
          double p = zv[i] >= 0 ? 1 / (1 + exp (-zv[i])) : exp (zv[i]) / (1 + exp (zv[i]));
          if (c_id >= 0)
            printf ("%s\t", v[c_id]);
          else
            printf ("%" G_GSIZE_FORMAT "\t", row_no);
          if (c_label >= 0)
            printf ("%s\t", v[c_label]);
          printf ("%.9g\t%s\t%s\n", p, v[c_scen], v[field_col[uf]]);
        }
    }
  for (guint f = 0; f < F; f++)
    g_free (codes[f]);
  (void) header_only_fields;
  return fflush (stdout) == 0 ? CLI_EXIT_OK : cli_fail_message ("score: cannot write to standard output");
}

static gboolean
write_predictions (const char *path, const MsrDataset *ds, const guint32 *rows, const double *scores, gsize n,
                   GError **error)
{
  GString *s = g_string_sized_new (n * 40 + 64);
  g_string_append (s, "id\tlabel\tscore\tscenario\tuser\n");
  const guint8 *labels = msr_dataset_get_labels (ds);
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  for (gsize i = 0; i < n; i++)
    g_string_append_printf (s, "%u\t%u\t%.9g\t%s\t%s\n", rows[i], labels[rows[i]], scores[i],
                            msr_dataset_get_scenario_name (ds, scen[rows[i]]), user_of (ds, rows[i]));
  if (path == NULL)
    {
      gboolean ok = fwrite (s->str, 1, s->len, stdout) == s->len && fflush (stdout) == 0;
      g_string_free (s, TRUE);
      if (!ok)
        g_set_error (error, MSR_ERROR, MSR_ERROR_IO, "cannot write to standard output");
      return ok;
    }
  gboolean ok = msr_file_replace_contents (path, s->str, s->len, 0644, error);
  g_string_free (s, TRUE);
  return ok;
}

int
cli_score (int argc, char **argv)
{
  g_autofree char *knowledge = NULL, *split = NULL, *out = NULL;
  gboolean from_stdin = FALSE;
  gint64 threads = 0, batch_size = 4096;
  GOptionEntry entries[] = {
    { "split", 0, 0, G_OPTION_ARG_STRING, &split, "train, valid or test (default test)", "SPLIT" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "write PRED.tsv here (default: standard output)", "FILE" },
    { "knowledge", 0, 0, G_OPTION_ARG_FILENAME, &knowledge, "LLM4MSR: this knowledge store instead of the project's knowledge.sqlite", "STORE" },
    { "stdin", 0, 0, G_OPTION_ARG_NONE, &from_stdin, "a streaming filter: score raw rows read from standard input", NULL },
    { "threads", 0, 0, G_OPTION_ARG_INT64, &threads, "scoring threads (default: all processors)", "N" },
    { "batch-size", 0, 0, G_OPTION_ARG_INT64, &batch_size, "rows per batch (default 4096)", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DIR MODEL  |  --stdin MODEL");
  g_option_context_set_summary (ctx,
      "Scores a split of the project's dataset with a model and writes a prediction file with the\n"
      "columns id label score scenario user (what 'metrics' and 'compare' read; id is the row's\n"
      "index in the dataset).\n\n"
      "With --stdin it is a streaming filter (for Spark's RDD.pipe or Hadoop Streaming): rows come\n"
      "tab-separated on standard input with a header naming 'scenario' and every model field\n"
      "(multi-hot values separated by '|'), optionally 'label' and 'id'; unknown ids score as the\n"
      "unknown code; scores go to standard output as they are computed. Merge per-shard metrics\n"
      "with 'msrlens-cli metrics --state-out'.");
  g_option_context_set_description (ctx,
      "Examples:\n"
      "  msrlens-cli score ml-genre ml-genre/star.safetensors --split test --out star.tsv\n"
      "  cat rows.tsv | msrlens-cli score --stdin star.safetensors > scores.tsv\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 1, 2))
    return CLI_EXIT_USAGE;
  if (batch_size < 1 || batch_size > (1 << 20) || threads < 0)
    return cli_fail_message ("score: --batch-size must be 1 to 1048576 and --threads >= 0");
  g_autoptr(GError) error = NULL;

  if (from_stdin)
    {
      if (argc != 2)
        return cli_fail_message ("score: with --stdin give only the MODEL");
      g_autoptr(MsrModel) model = msr_model_load (argv[1], &error);
      if (model == NULL)
        return cli_fail (error);
      return score_stream (model, (gsize) batch_size, FALSE);
    }
  if (argc != 3)
    return cli_fail_message ("score: give DIR and MODEL (or --stdin MODEL)");
  MsrSplit sp = MSR_SPLIT_TEST;
  guint mask = split_mask_of (split ? split : "test", &sp);
  if (mask == 0)
    return cli_fail_message ("score: --split must be train, valid or test");
  /* The project first: an LLM4MSR model is checked against its knowledge. */
  g_autoptr(MsrProject) project = NULL;
  g_autoptr(MsrDataset) ds = load_project_dataset (argv[1], &project, TRUE, &error);
  if (ds == NULL)
    return cli_fail (error);
  if (!cli_use_knowledge (project, knowledge))
    return CLI_EXIT_ERROR;
  g_autoptr(MsrModel) model = msr_pipeline_load_model (project, argv[2], &error);
  if (model == NULL)
    return cli_fail (error);
  gsize n;
  g_autofree guint32 *rows = NULL;
  CliProgress progress = { 0 };
  g_autofree double *scores = msr_score (model, ds, mask, (guint) threads, (gsize) batch_size, &n, &rows,
                                         cli_progress, &progress, NULL, &error);
  cli_progress_done (&progress);
  if (scores == NULL)
    {
      g_prefix_error (&error, "%s: ", argv[2]);
      return cli_fail (error);
    }
  if (!write_predictions (out, ds, rows, scores, n, &error))
    return cli_fail (error);
  if (out)
    {
      g_autofree char *cnt = cli_format_count (n);
      fprintf (stderr, "%s rows scored into %s\n", cnt, out);
    }
  return CLI_EXIT_OK;
}

/* ---- eval ------------------------------------------------------------------- */


/* Evaluation blocks always carry GAUC: eval has the user of every row. */
static void
json_eval_block (JsonBuilder *b, const MsrMetrics *m, const MsrComparisonRow *ci)
{
  cli_json_add_metrics (b, m, TRUE, FALSE, ci ? &ci->ci_auc_a : NULL, ci ? &ci->ci_gauc_a : NULL);
}

static char *
metric_with_ci (double v, gboolean defined, const MsrInterval *ci)
{
  if (!defined || isnan (v))
    return g_strdup ("undefined");
  if (ci == NULL || ci->n_defined == 0)
    return g_strdup_printf ("%.4f", v);
  return g_strdup_printf ("%.4f [%.4f, %.4f]", v, ci->lo, ci->hi);
}

static void
print_eval_row (const char *name, int w, const MsrMetrics *m, const MsrComparisonRow *ci)
{
  g_autofree char *n = cli_format_count (m->n);
  g_autofree char *auc = metric_with_ci (m->auc, m->auc_defined, ci ? &ci->ci_auc_a : NULL);
  g_autofree char *ll = m->logloss_defined ? g_strdup_printf ("%.4f", m->logloss) : g_strdup ("undefined");
  g_autofree char *gauc = metric_with_ci (m->gauc, m->gauc_defined, ci ? &ci->ci_gauc_a : NULL);
  g_autofree char *cov = m->gauc_users ? g_strdup_printf ("%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                                                          m->gauc_users_kept, m->gauc_users) : g_strdup ("");
  printf ("%-*s %9s  %-24s %9s  %-24s %s\n", w, name, n, auc, ll, gauc, cov);
}

int
cli_eval (int argc, char **argv)
{
  gboolean json = FALSE, no_record = FALSE, no_predictions = FALSE;
  g_autofree char *knowledge = NULL, *split = NULL, *name = NULL;
  gint64 replicates = 1000, seed = 42, threads = 0;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object", NULL },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split, "train, valid or test (default test)", "SPLIT" },
    { "replicates", 0, 0, G_OPTION_ARG_INT64, &replicates, "bootstrap replicates for the CIs (default 1000; 0 = none)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "bootstrap seed (default 42)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT64, &threads, "scoring and bootstrap threads (default: all processors)", "N" },
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, "a label for the run in the results store", "TEXT" },
    { "no-record", 0, 0, G_OPTION_ARG_NONE, &no_record, "do not record the run in the results store", NULL },
    { "no-predictions", 0, 0, G_OPTION_ARG_NONE, &no_predictions, "record metrics but not per-row scores", NULL },
    { "knowledge", 0, 0, G_OPTION_ARG_FILENAME, &knowledge, "LLM4MSR: this knowledge store instead of the project's knowledge.sqlite", "STORE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DIR MODEL");
  g_option_context_set_summary (ctx,
      "Scores a split with MODEL (a model file, or 'popularity' for the item-popularity baseline\n"
      "from the training rows), computes per-scenario and overall AUC, logloss and GAUC with\n"
      "stratified bootstrap confidence intervals, records the run (and its per-row scores, for\n"
      "later paired comparisons) in the project's results store, and prints the table.");
  g_option_context_set_description (ctx,
      "Examples:\n  msrlens-cli eval ml-genre ml-genre/star.safetensors\n  msrlens-cli eval ml-genre popularity --json\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 2, 2))
    return CLI_EXIT_USAGE;
  MsrSplit sp = MSR_SPLIT_TEST;
  guint mask = split_mask_of (split ? split : "test", &sp);
  if (mask == 0)
    return cli_fail_message ("eval: --split must be train, valid or test");
  if (replicates < 0 || replicates > 100000 || seed < 0 || threads < 0)
    return cli_fail_message ("eval: --replicates must be 0 to 100000, --seed and --threads >= 0");

  g_autoptr(GError) error = NULL;
  const gboolean popularity = strcmp (argv[2], "popularity") == 0;
  g_autoptr(MsrProject) project = NULL;
  g_autoptr(MsrDataset) ds = load_project_dataset (argv[1], &project, json, &error);
  if (ds == NULL)
    return cli_fail (error);
  if (!cli_use_knowledge (project, knowledge))
    return CLI_EXIT_ERROR;
  g_autoptr(MsrModel) model = popularity ? NULL : msr_pipeline_load_model (project, argv[2], &error);
  if (!popularity && model == NULL)
    return cli_fail (error);

  MsrEvalOptions eo;
  msr_eval_options_init (&eo);
  eo.split = sp;
  eo.replicates = (guint) replicates;
  eo.seed = (guint64) seed;
  eo.threads = (guint) threads;
  eo.record = !no_record;
  eo.predictions = !no_predictions;
  eo.name = name;
  CliProgress progress = { 0 };
  g_autoptr(MsrEvaluation) ev = msr_pipeline_evaluate (project, ds, model, popularity ? NULL : argv[2], &eo,
                                                       json ? NULL : cli_progress, &progress, NULL, &error);
  cli_progress_done (&progress);
  if (ev == NULL)
    {
      g_prefix_error (&error, "%s: ", argv[2]);
      return cli_fail (error);
    }
  const MsrEvalResult *res = ev->metrics;
  const MsrComparison *cis = ev->intervals;
  const gint64 run_id = ev->run_id;
  const gsize n = ev->n;

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "run_id");
      if (run_id)
        json_builder_add_int_value (b, run_id);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, argv[2]);
      json_builder_set_member_name (b, "split");
      json_builder_add_string_value (b, msr_split_to_string (sp));
      json_builder_set_member_name (b, "overall");
      json_eval_block (b, &res->overall, cis ? &cis->overall : NULL);
      json_builder_set_member_name (b, "scenarios");
      json_builder_begin_object (b);
      for (guint s = 0; s < res->n_scenarios; s++)
        {
          json_builder_set_member_name (b, res->scenario_names[s]);
          json_eval_block (b, &res->scenarios[s], cis ? &cis->scenarios[s] : NULL);
        }
      json_builder_end_object (b);
      json_builder_set_member_name (b, "macro_mean");
      json_eval_block (b, &res->macro, NULL);
      json_builder_set_member_name (b, "weighted_mean");
      json_eval_block (b, &res->weighted, NULL);
      if (cis)
        {
          json_builder_set_member_name (b, "bootstrap");
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "replicates");
          json_builder_add_int_value (b, cis->replicates);
          json_builder_set_member_name (b, "seed");
          json_builder_add_int_value (b, (gint64) cis->seed);
          cli_json_add_double (b, "level", cis->level, TRUE);
          json_builder_end_object (b);
        }
      json_builder_end_object (b);
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cli_print_json (root);
      return CLI_EXIT_OK;
    }

  int w = 13;
  for (guint s = 0; s < res->n_scenarios; s++)
    w = MAX (w, (int) g_utf8_strlen (res->scenario_names[s], -1));
  g_autofree char *n_text = cli_format_count (n);
  printf ("%s on %s, %s split (%s rows)\n", argv[2], msr_project_get_name (project), msr_split_to_string (sp), n_text);
  printf ("%-*s %9s  %-24s %9s  %-24s %s\n", w, "scenario", "rows",
          cis ? "AUC [95% CI]" : "AUC", "logloss", cis ? "GAUC [95% CI]" : "GAUC", "GAUC users");
  for (guint s = 0; s < res->n_scenarios; s++)
    {
      /* The bootstrap's rows follow the dataset's scenario order, as do the accumulator's. */
      print_eval_row (res->scenario_names[s], w, &res->scenarios[s], cis ? &cis->scenarios[s] : NULL);
    }
  print_eval_row ("overall", w, &res->overall, cis ? &cis->overall : NULL);
  print_eval_row ("macro mean", w, &res->macro, NULL);
  print_eval_row ("weighted mean", w, &res->weighted, NULL);
  if (run_id)
    printf ("Recorded as run %" G_GINT64_FORMAT " in %s/%s\n", run_id, msr_project_get_dir (project), MSR_RESULTS_FILE);
  return CLI_EXIT_OK;
}

/* ---- runs -------------------------------------------------------------------- */

int
cli_runs (int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DIR");
  g_option_context_set_summary (ctx, "Lists the runs recorded in the project's results store, newest first,\n"
                                     "with their overall and per-scenario AUC.");
  g_option_context_set_description (ctx, "Example:\n  msrlens-cli runs ml-genre --json\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 1, 1))
    return CLI_EXIT_USAGE;
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) project = msr_project_open (argv[1], &error);
  if (project == NULL)
    return cli_fail (error);
  g_autofree char *path = msr_project_get_path (project, MSR_RESULTS_FILE);
  g_autoptr(MsrResults) results = msr_results_open (path, MSR_RESULTS_READ_ONLY, &error);
  if (results == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      if (json)
        printf ("{\n  \"runs\" : [ ]\n}\n");
      else
        printf ("No runs yet in %s.\n", msr_project_get_dir (project));
      return CLI_EXIT_OK;
    }
  if (results == NULL)
    return cli_fail (error);
  g_autoptr(GPtrArray) runs = msr_results_list_runs (results, &error);
  if (runs == NULL)
    return cli_fail (error);

  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "runs");
  json_builder_begin_array (b);
  if (!json)
    printf ("%5s  %-24s %-6s %-14s %-6s %8s %8s %8s  %s\n", "id", "created (UTC)", "kind", "backbone", "split",
            "AUC", "logloss", "GAUC", "name");
  for (guint i = 0; i < runs->len; i++)
    {
      MsrRunInfo *r = g_ptr_array_index (runs, i);
      g_autoptr(MsrResultsMetrics) m = r->has_metrics ? msr_results_get_metrics (results, r->id, &error) : NULL;
      if (r->has_metrics && m == NULL)
        return cli_fail (error);
      const MsrResultsScopeMetrics *o = m ? msr_results_metrics_find (m, MSR_RESULTS_SCOPE_OVERALL, NULL) : NULL;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_int_value (b, r->id);
#define STR(key, val) json_builder_set_member_name (b, key); if (val) json_builder_add_string_value (b, val); else json_builder_add_null_value (b)
      STR ("created_at", r->created_at);
      STR ("name", r->name);
      STR ("kind", r->kind);
      STR ("architecture", r->architecture);
      STR ("model_path", r->model_path);
      STR ("model_sha256", r->model_sha256);
      STR ("dataset_fingerprint", r->dataset_fingerprint);
      STR ("split", r->split);
#undef STR
      json_builder_set_member_name (b, "epochs");
      json_builder_add_int_value (b, r->n_epochs);
      json_builder_set_member_name (b, "has_predictions");
      json_builder_add_boolean_value (b, r->has_predictions);
      if (m)
        {
          json_builder_set_member_name (b, "overall");
          json_eval_block (b, &o->metrics, NULL);
          json_builder_set_member_name (b, "scenarios");
          json_builder_begin_object (b);
          for (guint k = 0; k < m->n_scopes; k++)
            if (m->scopes[k].scope == MSR_RESULTS_SCOPE_SCENARIO)
              {
                json_builder_set_member_name (b, m->scopes[k].scenario);
                json_eval_block (b, &m->scopes[k].metrics, NULL);
              }
          json_builder_end_object (b);
        }
      json_builder_end_object (b);
      if (!json)
        {
          g_autofree char *auc = o ? cli_format_metric (o->metrics.auc, o->metrics.auc_defined) : g_strdup ("-");
          g_autofree char *ll = o ? cli_format_metric (o->metrics.logloss, o->metrics.logloss_defined) : g_strdup ("-");
          g_autofree char *gauc = o ? cli_format_metric (o->metrics.gauc, o->metrics.gauc_defined) : g_strdup ("-");
          if (strlen (auc) > 8) auc[8] = 0;
          if (strlen (ll) > 8) ll[8] = 0;
          if (strlen (gauc) > 8) gauc[8] = 0;
          printf ("%5" G_GINT64_FORMAT "  %-24.24s %-6s %-14s %-6s %8s %8s %8s  %s\n", r->id, r->created_at, r->kind,
                  r->architecture ? r->architecture : "-", r->split ? r->split : "-", auc, ll, gauc,
                  r->name ? r->name : "");
        }
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  if (json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cli_print_json (root);
    }
  else if (runs->len == 0)
    printf ("No runs yet.\n");
  return CLI_EXIT_OK;
}

/* ---- inspect -------------------------------------------------------------------- */

int
cli_inspect (int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("MODEL");
  g_option_context_set_summary (ctx,
      "Validates a model file and prints its architecture, configuration, training summary,\n"
      "tensors with dtypes and shapes, and parameter counts.");
  g_option_context_set_description (ctx, "Example:\n  msrlens-cli inspect ml-genre/star.safetensors --json\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 1, 1))
    return CLI_EXIT_USAGE;
  g_autoptr(GError) error = NULL;
  g_autoptr(MsrModel) model = msr_model_load (argv[1], &error);
  if (model == NULL)
    return cli_fail (error);
  g_autofree char *sha = msr_file_sha256 (argv[1], &error);
  if (sha == NULL)
    return cli_fail (error);
  MsrParams *ps = msr_model_get_params (model);
  gsize trainable = 0, buffers = 0;
  for (guint i = 0; i < msr_params_get_n (ps); i++)
    {
      MsrParam *p = msr_params_get (ps, i);
      if (p->flags & MSR_PARAM_TRAINABLE)
        trainable += p->size;
      else
        buffers += p->size;
    }
  const MsrModelConfig *cfg = msr_model_get_config (model);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "file");
      json_builder_add_string_value (b, argv[1]);
      json_builder_set_member_name (b, "sha256");
      json_builder_add_string_value (b, sha);
      json_builder_set_member_name (b, "architecture");
      json_builder_add_string_value (b, msr_arch_to_string (cfg->arch));
      json_builder_set_member_name (b, "parameters");
      json_builder_add_int_value (b, (gint64) trainable);
      json_builder_set_member_name (b, "buffer_values");
      json_builder_add_int_value (b, (gint64) buffers);
      json_builder_set_member_name (b, "repr_dim");
      json_builder_add_int_value (b, msr_model_get_repr_dim (model));
      cli_json_add_double (b, "flops_per_sample", msr_model_flops_per_sample (model), TRUE);
      json_builder_set_member_name (b, "config");
      json_builder_add_value (b, json_from_string (msr_model_get_config_json (model), NULL));
      json_builder_set_member_name (b, "tensors");
      json_builder_begin_array (b);
      for (guint i = 0; i < msr_params_get_n (ps); i++)
        {
          MsrParam *p = msr_params_get (ps, i);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, p->name);
          json_builder_set_member_name (b, "dtype");
          json_builder_add_string_value (b, (p->flags & MSR_PARAM_COUNTER) ? "I64" : "F32");
          json_builder_set_member_name (b, "shape");
          json_builder_begin_array (b);
          for (guint d = 0; d < p->n_dims; d++)
            json_builder_add_int_value (b, p->shape[d]);
          json_builder_end_array (b);
          json_builder_set_member_name (b, "trainable");
          json_builder_add_boolean_value (b, (p->flags & MSR_PARAM_TRAINABLE) != 0);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cli_print_json (root);
      return CLI_EXIT_OK;
    }

  g_autofree char *tp = cli_format_count (trainable);
  g_autofree char *bp = cli_format_count (buffers);
  g_autofree char *hidden = msr_dims_to_string (&cfg->hidden);
  g_autofree char *tower = msr_dims_to_string (&cfg->tower);
  printf ("%s\n  sha256 %s\n", argv[1], sha);
  printf ("  architecture %s; %s trainable parameters, %s buffer values; representation width %u; "
          "%.0f multiply-adds per row\n", msr_arch_to_string (cfg->arch), tp, bp, msr_model_get_repr_dim (model),
          msr_model_flops_per_sample (model));
  printf ("  embed_dim %u, hidden [%s], tower [%s], batchnorm %s, dropout %g\n", cfg->embed_dim, hidden, tower,
          cfg->batchnorm ? "on" : "off", cfg->dropout);
  printf ("  fields:");
  for (guint f = 0; f < msr_model_get_n_fields (model); f++)
    printf (" %s(%u)", msr_model_get_field (model, f)->name, msr_model_get_field (model, f)->cardinality);
  printf ("\n  scenarios:");
  for (guint s = 0; s < msr_model_get_n_scenarios (model); s++)
    printf (" %s%s", msr_model_get_scenario_name (model, s), s + 1 < msr_model_get_n_scenarios (model) ? ";" : "");
  printf ("\n");
  g_autoptr(JsonNode) training = msr_model_get_training_json (model)
                                  ? json_from_string (msr_model_get_training_json (model), NULL) : NULL;
  if (training && JSON_NODE_HOLDS_OBJECT (training))
    {
      JsonObject *t = json_node_get_object (training);
      JsonArray *log = json_object_has_member (t, "log") ? json_object_get_array_member (t, "log") : NULL;
      printf ("  trained with %s, lr %g, batch %" G_GINT64_FORMAT ", seed %" G_GINT64_FORMAT
              ": best epoch %" G_GINT64_FORMAT " of %u, validation AUC %.4f%s\n",
              json_object_get_string_member_with_default (t, "optimizer", "?"),
              json_object_get_double_member_with_default (t, "lr", NAN),
              json_object_get_int_member_with_default (t, "batch_size", 0),
              json_object_get_int_member_with_default (t, "seed", 0),
              json_object_get_int_member_with_default (t, "best_epoch", 0), log ? json_array_get_length (log) : 0,
              json_object_get_double_member_with_default (t, "best_valid_auc", NAN),
              json_object_get_boolean_member_with_default (t, "stopped_early", FALSE) ? " (stopped early)" : "");
    }
  printf ("\n  %-56s %-5s %s\n", "tensor", "dtype", "shape");
  for (guint i = 0; i < msr_params_get_n (ps); i++)
    {
      MsrParam *p = msr_params_get (ps, i);
      GString *shape = g_string_new ("[");
      for (guint d = 0; d < p->n_dims; d++)
        g_string_append_printf (shape, "%s%" G_GINT64_FORMAT, d ? ", " : "", p->shape[d]);
      g_string_append_c (shape, ']');
      printf ("  %-56s %-5s %s\n", p->name, (p->flags & MSR_PARAM_COUNTER) ? "I64" : "F32", shape->str);
      g_string_free (shape, TRUE);
    }
  return CLI_EXIT_OK;
}

/* cli-study.c: msrlens-cli study, the LLM4MSR study (engine/msr-study.h):
 * runs what the results store lacks, then prints mean ± std across seeds. */
#include "config.h"
#include "cli-common.h"
#include "cli-verbs.h"
#include "msr-study.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  gboolean tty, quiet;
  guint    last_job;
} StudyPrinter;

static void
study_progress (const MsrStudyStatus *st, gpointer data)
{
  StudyPrinter *p = data;
  if (p->quiet)
    return;
  if (st->train == NULL)
    {
      if (p->tty)
        fputc ('\n', stderr);
      fprintf (stderr, "[%u/%u] %s, seed %" G_GUINT64_FORMAT "%s", st->job + 1, st->n_jobs, st->variant, st->seed,
               st->done_before ? ": recorded earlier, skipped\n" : p->tty ? "" : "\n");
      return;
    }
  if (p->tty)
    fprintf (stderr, "\r[%u/%u] %s, seed %" G_GUINT64_FORMAT ": epoch %u/%u, batch %" G_GSIZE_FORMAT "/%"
             G_GSIZE_FORMAT ", loss %.4f, ETA %.0f s   ", st->job + 1, st->n_jobs, st->variant, st->seed,
             st->train->epoch, st->train->epochs, st->train->batch, st->train->n_batches, st->train->loss,
             st->train->eta_seconds);
  else if (st->train->finished)
    fprintf (stderr, "  epoch %u: valid AUC %.4f\n", st->train->finished->epoch, st->train->finished->valid_auc);
}

static char *
pm (double mean, double std, const char *fmt)
{
  if (isnan (mean))
    return g_strdup ("–");
  g_autofree char *m = g_strdup_printf (fmt, mean);
  if (isnan (std))
    return g_steal_pointer (&m);
  g_autofree char *s = g_strdup_printf (fmt, std);
  return g_strdup_printf ("%s ± %s", m, s);
}

/* One table (a metric) in Markdown: variants × scopes. */
static void
print_markdown (GPtrArray *rows, const char *title, int which)
{
  const MsrStudyRow *first = rows->pdata[0];
  printf ("\n%s (mean ± std over seeds)\n\n| model | seeds |", title);
  for (guint c = 0; c < first->n_scopes; c++)
    printf (" %s |", first->scopes[c]);
  printf ("\n|---|---|");
  for (guint c = 0; c < first->n_scopes; c++)
    printf ("---|");
  printf ("\n");
  for (guint i = 0; i < rows->len; i++)
    {
      const MsrStudyRow *r = rows->pdata[i];
      printf ("| %s | %u |", r->variant, r->n_seeds);
      for (guint c = 0; c < r->n_scopes; c++)
        {
          const double *mean = which == 0 ? r->auc_mean : which == 1 ? r->logloss_mean : r->gauc_mean;
          const double *std = which == 0 ? r->auc_std : which == 1 ? r->logloss_std : r->gauc_std;
          g_autofree char *cell = pm (mean[c], std[c], "%.4f");
          printf (" %s |", cell);
        }
      printf ("\n");
    }
}

static void
json_values (JsonBuilder *b, const char *key, const double *mean, const double *std, guint n)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (guint i = 0; i < n; i++)
    {
      json_builder_begin_object (b);
      cli_json_add_double (b, "mean", mean[i], !isnan (mean[i]));
      cli_json_add_double (b, "std", std[i], !isnan (std[i]));
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

int
cli_study (int argc, char **argv)
{
  g_autofree char *seeds_text = NULL, *backbones = NULL, *variants = NULL, *encoder = NULL, *knowledge = NULL;
  gint64 epochs = -1, threads = 1, replicates = 1000;
  gboolean summary_only = FALSE, markdown = FALSE, json = FALSE, quiet = FALSE;
  GOptionEntry entries[] = {
    { "seeds", 0, 0, G_OPTION_ARG_STRING, &seeds_text, "comma-separated seeds (default 42,43,44)", "A,B,C" },
    { "backbones", 0, 0, G_OPTION_ARG_STRING, &backbones, "comma-separated backbones (default all)", "A,B" },
    { "variants", 0, 0, G_OPTION_ARG_STRING, &variants,
      "plain, llm4msr, no-user, no-scenario, shuffled, id-only (default all)", "A,B" },
    { "knowledge", 0, 0, G_OPTION_ARG_FILENAME, &knowledge, "this knowledge store instead of the project's knowledge.sqlite", "STORE" },
    { "encoder", 0, 0, G_OPTION_ARG_STRING, &encoder, "the knowledge vectors (default: the store's)", "NAME" },
    { "epochs", 0, 0, G_OPTION_ARG_INT64, &epochs, "at most N epochs (default 20, early stopping)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT64, &threads, "BLAS threads (default 1: bit-reproducible)", "N" },
    { "replicates", 0, 0, G_OPTION_ARG_INT64, &replicates, "bootstrap replicates per evaluation (default 1000)", "N" },
    { "summary-only", 0, 0, G_OPTION_ARG_NONE, &summary_only, "only summarise what is recorded", NULL },
    { "markdown", 0, 0, G_OPTION_ARG_NONE, &markdown, "print the summary as Markdown tables", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print the summary as one JSON object", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "no progress on stderr", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("DIR");
  g_option_context_set_summary (ctx,
      "The LLM4MSR study: every backbone alone, with LLM4MSR, and with each ablation (no user level,\n"
      "no scenario level, user vectors shuffled across users, learned ID vectors instead of knowledge),\n"
      "for each seed: trained, evaluated on the test split and recorded. Jobs the results store has\n"
      "already are skipped, so an interrupted study resumes. Then prints mean ± std across seeds of\n"
      "AUC, logloss and GAUC per scenario.");
  g_option_context_set_description (ctx,
      "Example:\n  msrlens-cli study ml-genre --seeds 42,43,44 --markdown > results.md\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!cli_parse (ctx, &argc, &argv, 1, 1))
    return CLI_EXIT_USAGE;

  MsrStudyOptions o;
  msr_study_options_init (&o);
  if (seeds_text)
    {
      g_auto(GStrv) parts = g_strsplit (seeds_text, ",", -1);
      o.n_seeds = 0;
      for (guint i = 0; parts[i]; i++)
        {
          guint64 v;
          if (o.n_seeds == MSR_STUDY_MAX_SEEDS ||
              !g_ascii_string_to_unsigned (g_strstrip (parts[i]), 10, 0, G_MAXINT64, &v, NULL))
            return cli_fail_message ("study: --seeds must be 1 to %d non-negative integers", MSR_STUDY_MAX_SEEDS);
          o.seeds[o.n_seeds++] = v;
        }
    }
  if (backbones)
    {
      g_auto(GStrv) parts = g_strsplit (backbones, ",", -1);
      o.archs = 0;
      for (guint i = 0; parts[i]; i++)
        {
          MsrArch a;
          if (!msr_arch_from_string (g_strstrip (parts[i]), &a))
            return cli_fail_message ("study: --backbones: '%s' is not one of %s", parts[i], msr_arch_list ());
          o.archs |= 1u << a;
        }
    }
  if (variants)
    {
      g_auto(GStrv) parts = g_strsplit (variants, ",", -1);
      o.variants = 0;
      for (guint i = 0; parts[i]; i++)
        {
          MsrStudyVariant v;
          if (!msr_study_variant_from_string (g_strstrip (parts[i]), &v))
            return cli_fail_message ("study: --variants: '%s' is not plain, llm4msr, no-user, no-scenario, "
                                     "shuffled or id-only", parts[i]);
          o.variants |= 1u << v;
        }
    }
  if (epochs != -1 && (epochs < 1 || epochs > 100000))
    return cli_fail_message ("study: --epochs must be 1 to 100000");
  if (threads < 1 || threads > 256 || replicates < 0 || replicates > 100000)
    return cli_fail_message ("study: --threads must be 1 to 256 and --replicates 0 to 100000");
  if (epochs != -1)
    o.train.epochs = (guint) epochs;
  o.train.threads = (guint) threads;
  o.eval.threads = (guint) threads;
  o.eval.replicates = (guint) replicates;
  o.encoder = encoder;

  g_autoptr(GError) error = NULL;
  g_autoptr(MsrProject) project = msr_project_open (argv[1], &error);
  if (project == NULL)
    return cli_fail (error);
  if (!cli_use_knowledge (project, knowledge))
    return CLI_EXIT_ERROR;
  if (!summary_only)
    {
      CliProgress load = { 0 };
      g_autoptr(MsrDataset) ds = msr_project_load_dataset (project, quiet ? NULL : cli_progress, &load, NULL, &error);
      cli_progress_done (&load);
      if (ds == NULL)
        return cli_fail (error);
      StudyPrinter printer = { isatty (fileno (stderr)), quiet, 0 };
      guint ran = 0;
      gint64 start = g_get_monotonic_time ();
      gboolean ok = msr_study_run (project, ds, &o, &ran, study_progress, &printer, NULL, &error);
      if (printer.tty && !quiet)
        fputc ('\n', stderr);
      if (!ok)
        return cli_fail (error);
      if (!quiet)
        fprintf (stderr, "%u jobs run in %.0f s\n", ran, (g_get_monotonic_time () - start) / 1e6);
    }

  g_autoptr(GPtrArray) rows = msr_study_summarize (project, &error);
  if (rows == NULL)
    return cli_fail (error);
  if (rows->len == 0)
    return cli_fail_message ("%s: no study runs recorded yet", argv[1]);
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "models");
      json_builder_begin_array (b);
      for (guint i = 0; i < rows->len; i++)
        {
          const MsrStudyRow *r = rows->pdata[i];
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "model");
          json_builder_add_string_value (b, r->variant);
          json_builder_set_member_name (b, "seeds");
          json_builder_begin_array (b);
          for (guint s = 0; s < r->n_seeds; s++)
            json_builder_add_int_value (b, (gint64) r->seeds[s]);
          json_builder_end_array (b);
          json_builder_set_member_name (b, "scopes");
          json_builder_begin_array (b);
          for (guint c = 0; c < r->n_scopes; c++)
            json_builder_add_string_value (b, r->scopes[c]);
          json_builder_end_array (b);
          json_values (b, "auc", r->auc_mean, r->auc_std, r->n_scopes);
          json_values (b, "logloss", r->logloss_mean, r->logloss_std, r->n_scopes);
          json_values (b, "gauc", r->gauc_mean, r->gauc_std, r->n_scopes);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      cli_print_json (root);
      return CLI_EXIT_OK;
    }
  if (markdown)
    {
      print_markdown (rows, "Test AUC", 0);
      print_markdown (rows, "Test logloss", 1);
      print_markdown (rows, "Test GAUC", 2);
      return CLI_EXIT_OK;
    }
  const MsrStudyRow *first = rows->pdata[0];
  printf ("%-34s %5s", "model", "seeds");
  for (guint c = 0; c < first->n_scopes; c++)
    printf (" %18.18s", first->scopes[c]);
  printf (" %18s %18s\n", "logloss", "GAUC");
  for (guint i = 0; i < rows->len; i++)
    {
      const MsrStudyRow *r = rows->pdata[i];
      printf ("%-34s %5u", r->variant, r->n_seeds);
      for (guint c = 0; c < r->n_scopes; c++)
        {
          g_autofree char *cell = pm (r->auc_mean[c], r->auc_std[c], "%.4f");
          printf (" %18s", cell);
        }
      const guint o_ = r->n_scopes - 1;
      g_autofree char *ll = pm (r->logloss_mean[o_], r->logloss_std[o_], "%.4f");
      g_autofree char *ga = pm (r->gauc_mean[o_], r->gauc_std[o_], "%.4f");
      printf (" %18s %18s\n", ll, ga);
    }
  printf ("\nAUC per scenario and overall, then overall logloss and GAUC; mean ± sample std across seeds.\n");
  return CLI_EXIT_OK;
}

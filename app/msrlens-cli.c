/* msrlens-cli: MSR Lens without a window; one verb per engine capability. */
#include "config.h"
#include "cli-common.h"
#include "cli-verbs.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  const char *group;     /* first word, or NULL for one-word verbs */
  const char *name;
  CliVerbFunc run;
  const char *summary;
} Verb;

static const Verb verbs[] = {
  { "project", "init", cli_project_init, "create a project folder from MovieLens-100K, a CSV/TSV file or a simulated world" },
  { "data", "fetch", cli_data_fetch, "download (or copy) MovieLens-100K and verify it" },
  { "data", "inspect", cli_data_inspect, "per-scenario rows, users, items, positive rate, user overlap" },
  { NULL, "metrics", cli_metrics, "AUC, logloss and GAUC per scenario from prediction files or states" },
  { NULL, "compare", cli_compare, "two models on the same rows: ΔAUC, DeLong test, bootstrap CIs" },
  { NULL, "train", cli_train, "train a backbone (dnn, dnn-separate, shared-bottom, mmoe, ple, star, pepnet)" },
  { NULL, "score", cli_score, "score a split, or rows on standard input, into a prediction file" },
  { NULL, "eval", cli_eval, "score + metrics with CIs, recorded in the results store" },
  { NULL, "runs", cli_runs, "list the runs recorded in a project's results store" },
  { NULL, "inspect", cli_inspect, "validate a model file and show its configuration and tensors" },
  { NULL, "seesaw", cli_seesaw, "two runs per scenario: ΔAUC with CIs and the seesaw indicators" },
  { NULL, "truth", cli_truth, "a simulated world's planted truth beside what its data show" },
  { "knowledge", "import", cli_knowledge_import, "import LLM texts: a CSV, or a Batch API output file (JSONL)" },
  { "knowledge", "status", cli_knowledge_status, "what the knowledge store holds: texts, encoders, imports" },
  { "knowledge", "encode", cli_knowledge_encode, "vectors for the texts, derived scenario knowledge, correlation matrices" },
  { "knowledge", "show", cli_knowledge_show, "the knowledge text of one user, item or scenario" },
  { "knowledge", "prompts", cli_knowledge_prompts, "scenario/user prompts as Batch API requests (JSONL)" },
  { "knowledge", "generate", cli_knowledge_generate, "ask an OpenAI-compatible server; store answers, embeddings" },
  { NULL, "study", cli_study, "every backbone with and without LLM4MSR and its ablations, over seeds" },
  { NULL, "meta-weights", cli_meta_weights, "an LLM4MSR model's generated meta layer of a scenario or user (CSV/JSON)" },
  { NULL, "correlations", cli_correlations, "scenario correlations: LLM, data, planted, learned; Mantel agreement" },
};

static void
usage (FILE *out)
{
  fprintf (out,
           "Usage: msrlens-cli VERB [OPTIONS] ARGUMENTS\n\n"
           "MSR Lens %s: multi-scenario recommendation models, from the command line.\n\n"
           "Verbs:\n", MSR_VERSION);
  for (guint i = 0; i < G_N_ELEMENTS (verbs); i++)
    {
      g_autofree char *full = verbs[i].group ? g_strdup_printf ("%s %s", verbs[i].group, verbs[i].name)
                                             : g_strdup (verbs[i].name);
      fprintf (out, "  %-18s %s\n", full, verbs[i].summary);
    }
  fprintf (out, "\nEach verb takes --help. Errors go to stderr with a non-zero exit status.\n");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  /* Numbers on stdout stay machine-readable whatever the locale. */
  setlocale (LC_NUMERIC, "C");

  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 ||
      strcmp (argv[1], "help") == 0)
    {
      usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("msrlens-cli %s\n", MSR_VERSION);
      return CLI_EXIT_OK;
    }

  for (guint i = 0; i < G_N_ELEMENTS (verbs); i++)
    {
      const Verb *v = &verbs[i];
      if (v->group == NULL && strcmp (argv[1], v->name) == 0)
        {
          argv[1] = g_strdup_printf ("msrlens-cli %s", v->name);
          return v->run (argc - 1, argv + 1);
        }
      if (v->group != NULL && strcmp (argv[1], v->group) == 0 && argc >= 3 && strcmp (argv[2], v->name) == 0)
        {
          argv[2] = g_strdup_printf ("msrlens-cli %s %s", v->group, v->name);
          return v->run (argc - 2, argv + 2);
        }
    }

  /* A known group with a missing or unknown second word. */
  for (guint i = 0; i < G_N_ELEMENTS (verbs); i++)
    if (verbs[i].group && strcmp (argv[1], verbs[i].group) == 0)
      {
        fprintf (stderr, "msrlens-cli: '%s' needs one of:", argv[1]);
        for (guint j = 0; j < G_N_ELEMENTS (verbs); j++)
          if (g_strcmp0 (verbs[j].group, argv[1]) == 0)
            fprintf (stderr, " %s", verbs[j].name);
        fprintf (stderr, "\n");
        return CLI_EXIT_USAGE;
      }
  fprintf (stderr, "msrlens-cli: unknown verb '%s'\n\n", argv[1]);
  usage (stderr);
  return CLI_EXIT_USAGE;
}

/* cli-verbs.h: the verbs of msrlens-cli; argv[0] is "msrlens-cli VERB". */
#pragma once

int cli_project_init (int argc, char **argv);
int cli_data_fetch   (int argc, char **argv);
int cli_data_inspect (int argc, char **argv);
int cli_metrics      (int argc, char **argv);
int cli_compare      (int argc, char **argv);
int cli_train        (int argc, char **argv);
int cli_score        (int argc, char **argv);
int cli_eval         (int argc, char **argv);
int cli_runs         (int argc, char **argv);
int cli_inspect      (int argc, char **argv);
int cli_seesaw       (int argc, char **argv);
int cli_truth        (int argc, char **argv);
int cli_knowledge_import (int argc, char **argv);
int cli_knowledge_status (int argc, char **argv);
int cli_knowledge_encode (int argc, char **argv);
int cli_knowledge_show (int argc, char **argv);
int cli_knowledge_prompts (int argc, char **argv);
int cli_knowledge_generate (int argc, char **argv);
/* knowledge import of a Batch API output file (cli-knowledge-llm.c). */
int cli_knowledge_import_batch (const char *dir, const char *path, const char *source, int json, int csv_options);
int cli_study        (int argc, char **argv);
int cli_meta_weights (int argc, char **argv);
int cli_correlations (int argc, char **argv);

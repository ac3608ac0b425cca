/* cli-common.h: what every msrlens-cli verb shares. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include "msr-metrics.h"
#include "msr-stats.h"
#include "msr-project.h"

G_BEGIN_DECLS

/* Exit statuses. */
#define CLI_EXIT_OK    0
#define CLI_EXIT_ERROR 1
#define CLI_EXIT_USAGE 2

typedef int (*CliVerbFunc) (int argc, char **argv);

/* Parses options; on --help prints and exits 0; on a usage error prints it
 * with a hint and returns FALSE. Checks the count of positional arguments
 * (argv[0] is the verb). */
gboolean cli_parse (GOptionContext *context, int *argc, char ***argv,
                    int min_positional, int max_positional);

/* Prints "msrlens-cli: <message>" on stderr and returns CLI_EXIT_ERROR. */
int      cli_fail (const GError *error);
int      cli_fail_message (const char *format, ...) G_GNUC_PRINTF (1, 2);
/* The project at dir, its dataset when ds_out is not NULL (loaded with
 * progress on stderr), and the path of its knowledge store. */
MsrProject *cli_open_project (const char *dir, MsrDataset **ds_out, char **store_path, GError **error);
/* --knowledge STORE: the project uses that store, which must exist. */
gboolean cli_use_knowledge (MsrProject *project, const char *store);

/* Progress on stderr: a rewritten line on a terminal, a line per stage
 * (and every 10%) otherwise. Pass a CliProgress as the user data. */
typedef struct {
  char   *stage;
  int     last_decile;
  gint64  start_us;
  gboolean drawn;    /* a terminal line is open */
} CliProgress;
void     cli_progress (double fraction, const char *stage, gpointer data);
void     cli_progress_done (CliProgress *p);

/* Pretty-prints a JSON node with a final newline on stdout. */
void     cli_print_json (JsonNode *node);

/* 1234567 -> "1,234,567" */
char    *cli_format_count (guint64 n);
/* A metric with 6 decimals, or "undefined". */
char    *cli_format_metric (double value, gboolean defined);

/* "  N what: k1 k2 ..." with at most limit keys; nothing for an empty list. */
void     cli_print_list (const char *what, GPtrArray *keys, guint limit);
/* A member name: an array of the list's strings. */
void     cli_json_add_strings (JsonBuilder *b, const char *name, GPtrArray *list);
/* A JSON double, or null when not defined / not finite. */
void     cli_json_add_double (JsonBuilder *b, const char *key, double value, gboolean defined);
/* [lo, hi], or null when no replicate was defined (or ci is NULL). */
void     cli_json_add_interval (JsonBuilder *b, const char *key, const MsrInterval *ci);
/* One metrics block: n, positives, auc, logloss, and with users gauc and
 * its coverage; for a mean over scenarios also how many contributed. The
 * intervals (nullable) add auc_ci and gauc_ci. */
void     cli_json_add_metrics (JsonBuilder *b, const MsrMetrics *m, gboolean with_users, gboolean is_mean,
                               const MsrInterval *auc_ci, const MsrInterval *gauc_ci);

G_END_DECLS

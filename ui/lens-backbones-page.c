/* lens-backbones-page.c: the models × scenarios matrix.
 *
 * The values come from the runs' stored metrics (no computation). The
 * significance marks come from DeLong's paired test of each row's run
 * against the baseline run on the same rows: both runs' stored per-row
 * scores, with labels and scenarios from the session's dataset rows of the
 * run's split in ascending row order (the order the evaluation pipeline
 * stores them in). The tests run in a LensJob thread; Holm's correction is
 * applied per row across its scenarios. */
#include "config.h"

#include "lens-backbones-page.h"
#include "lens-chart-view.h"
#include "lens-format.h"
#include "lens-job.h"
#include "lens-ui.h"
#include "msr-dataset.h"
#include "msr-stats.h"

#include <math.h>
#include <string.h>

#define SIGNIFICANCE_LEVEL 0.05

typedef struct {
  double   auc;          /* stored AUC, NaN when undefined or missing */
  gboolean has_ci;
  double   ci_lo, ci_hi, ci_level;
  guint64  n, positives;
  gboolean found;        /* the run has metrics for this column */
  double   p, p_holm;    /* DeLong against the baseline; NaN when not tested */
  double   z;
} Cell;

struct _LensBackbonesPage
{
  AdwBin parent_instance;

  LensSession        *session;
  GPtrArray          *runs;        /* the session's runs the rows point into (a reference) */
  GArray             *row_ids;     /* gint64, selection order */
  GPtrArray          *row_runs;    /* const LensRun *, borrowed from runs */
  GPtrArray          *row_labels;  /* char * */
  GPtrArray          *col_names;   /* char *: scenarios, then "overall" */
  guint               n_scenarios; /* columns before "overall" */
  Cell               *cells;       /* rows × cols */
  char               *split;       /* the split most rows were evaluated on */

  LensBackbonesColor  color_by;
  gint64              baseline;         /* the row in use, 0 = none */
  gint64              baseline_wanted;  /* the user's choice, 0 = the default */
  gboolean            updating;         /* dropdowns are being refilled */

  /* significance */
  LensJob            *job;
  GCancellable       *cancellable;
  guint               serial;
  gboolean            waiting_for_dataset;
  gboolean            had_dataset;      /* the columns were built from the dataset */
  guint               dataset_poll;     /* source watching for the dataset's load */
  char               *test_note;   /* why some rows have no marks */

  LensChart          *chart;
  double             *values;      /* what the chart shows, rows × cols */
  char              **marks;
  char               *readout;

  /* widgets */
  GtkWidget          *chart_view;
  GtkWidget          *table;

  /* template children */
  GtkStack           *stack;
  AdwStatusPage      *empty_page;
  GtkLabel           *subtitle_label;
  GtkDropDown        *color_dropdown;
  GtkDropDown        *baseline_dropdown;
  GtkRevealer        *busy_revealer;
  GtkSpinner         *busy_spinner;
  GtkLabel           *busy_label;
  GtkBox             *chart_box;
  GtkLabel           *readout_label;
  GtkLabel           *legend_label;
  GtkLabel           *note_label;
  GtkBox             *table_box;
};

static void lens_backbones_page_page_init (LensPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LensBackbonesPage, lens_backbones_page, ADW_TYPE_BIN,
                               G_IMPLEMENT_INTERFACE (LENS_TYPE_PAGE, lens_backbones_page_page_init))

/* ---- formatting -------------------------------------------------------------- */


static char *
fmt_double (const char *fmt, double v)
{
  return isnan (v) ? g_strdup ("–") : g_strdup_printf (fmt, v);
}

static char *
fmt_p (double p)
{
  if (isnan (p))
    return g_strdup ("–");
  if (p < 1e-4)
    return g_strdup_printf ("%.1e", p);
  return g_strdup_printf ("%.4f", p);
}

static const char *
mark_for (double p)
{
  if (isnan (p))
    return "";
  return p < 0.001 ? "***" : p < 0.01 ? "**" : p < SIGNIFICANCE_LEVEL ? "*" : "";
}

static double
relaimpr (double auc, double base)
{
  if (isnan (auc) || isnan (base) || base == 0.5)
    return NAN;
  return ((auc - 0.5) / (base - 0.5) - 1.0) * 100.0;
}

/* ---- layout of the matrix ---------------------------------------------------- */

static guint
n_rows (LensBackbonesPage *self)
{
  return self->row_ids->len;
}

static guint
n_cols (LensBackbonesPage *self)
{
  return self->col_names->len;
}

static Cell *
cell_at (LensBackbonesPage *self, guint r, guint c)
{
  return &self->cells[(gsize) r * n_cols (self) + c];
}

static int
row_of (LensBackbonesPage *self, gint64 id)
{
  for (guint r = 0; r < n_rows (self); r++)
    if (g_array_index (self->row_ids, gint64, r) == id)
      return (int) r;
  return -1;
}

static gboolean
has_column (GPtrArray *names, const char *name)
{
  for (guint i = 0; i < names->len; i++)
    if (g_strcmp0 (g_ptr_array_index (names, i), name) == 0)
      return TRUE;
  return FALSE;
}

/* The default baseline: the separate per-scenario DNNs (the seesaw
 * reference), else the popularity baseline, else the first row. */
static gint64
default_baseline (LensBackbonesPage *self)
{
  static const char *const prefer[] = { "dnn-separate", "popularity" };

  for (guint k = 0; k < G_N_ELEMENTS (prefer); k++)
    for (guint r = 0; r < n_rows (self); r++)
      {
        const LensRun *run = g_ptr_array_index (self->row_runs, r);
        if (g_strcmp0 (run->info->architecture, prefer[k]) == 0)
          return run->info->id;
      }
  return n_rows (self) ? g_array_index (self->row_ids, gint64, 0) : 0;
}

/* ---- significance (worker thread) ------------------------------------------- */

typedef struct {
  LensSession *session;     /* keeps the dataset alive */
  char        *results_path;
  gint64       baseline;
  GArray      *rows;        /* gint64 */
  guint        n_scenarios; /* = the dataset's scenarios, in code order */
} TestInput;

typedef struct {
  guint    n_rows, n_cols;
  double  *p, *p_holm, *z;  /* rows × cols */
  char    *note;
} TestOutput;

static void
test_input_free (gpointer data)
{
  TestInput *in = data;
  g_clear_object (&in->session);
  g_free (in->results_path);
  g_array_unref (in->rows);
  g_free (in);
}

static void
test_output_free (gpointer data)
{
  TestOutput *out = data;
  g_free (out->p);
  g_free (out->p_holm);
  g_free (out->z);
  g_free (out->note);
  g_free (out);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestOutput, test_output_free)

static gboolean
split_from_name (const char *name, MsrSplit *out)
{
  for (guint s = MSR_SPLIT_TRAIN; s <= MSR_SPLIT_TEST; s++)
    if (name != NULL && g_strcmp0 (msr_split_to_string (s), name) == 0)
      {
        *out = s;
        return TRUE;
      }
  return FALSE;
}

/* Why a run cannot be tested against the baseline, or NULL when it can. */
static char *
untestable_reason (const MsrRunInfo *info, const MsrRunInfo *base, const MsrDataset *ds)
{
  if (!info->has_predictions)
    return g_strdup_printf ("run #%" G_GINT64_FORMAT " has no stored per-row scores", info->id);
  if (g_strcmp0 (info->dataset_fingerprint, msr_dataset_get_fingerprint (ds)) != 0)
    return g_strdup_printf ("run #%" G_GINT64_FORMAT " was evaluated on another dataset", info->id);
  if (base != NULL && g_strcmp0 (info->split, base->split) != 0)
    return g_strdup_printf ("run #%" G_GINT64_FORMAT " was evaluated on the %s split, the baseline on the %s split",
                            info->id, info->split ? info->split : "(no)", base->split ? base->split : "(no)");
  MsrSplit split;
  if (!split_from_name (info->split, &split))
    return g_strdup_printf ("run #%" G_GINT64_FORMAT " names no dataset split", info->id);
  return NULL;
}

static double *
scores_to_double (const MsrResultsPredictions *pred)
{
  double *v = g_new (double, MAX (pred->n, 1));
  for (gsize i = 0; i < pred->n; i++)
    v[i] = pred->scores[i];
  return v;
}

static gpointer
test_thread (LensJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  TestInput *in = data;
  const MsrDataset *ds = lens_session_get_dataset (in->session);
  const guint R = in->rows->len, S = in->n_scenarios, C = S + 1;
  g_autoptr(TestOutput) out = g_new0 (TestOutput, 1);
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);

  out->n_rows = R;
  out->n_cols = C;
  out->p = g_new (double, (gsize) R * C);
  out->p_holm = g_new (double, (gsize) R * C);
  out->z = g_new (double, (gsize) R * C);
  for (gsize i = 0; i < (gsize) R * C; i++)
    out->p[i] = out->p_holm[i] = out->z[i] = NAN;

  lens_job_report (job, 0.0, "Reading the baseline's scores");
  g_autoptr(MsrResults) results = msr_results_open (in->results_path, MSR_RESULTS_READ_ONLY, error);
  if (results == NULL)
    return NULL;
  g_autoptr(MsrRunInfo) base = msr_results_get_run (results, in->baseline, error);
  if (base == NULL)
    return NULL;
  g_autofree char *base_reason = untestable_reason (base, NULL, ds);
  if (base_reason != NULL)
    {
      out->note = g_strdup_printf ("No significance marks: the baseline %s.", strchr (base_reason, ' ') + 1);
      return g_steal_pointer (&out);
    }
  g_autoptr(MsrResultsPredictions) pa = msr_results_get_predictions (results, in->baseline, error);
  if (pa == NULL)
    return NULL;

  /* Labels and scenarios of the split's rows in ascending row order. */
  MsrSplit split = MSR_SPLIT_TEST;
  split_from_name (base->split, &split);
  const gsize N = msr_dataset_get_n_rows (ds);
  const guint8 *spl = msr_dataset_get_splits (ds);
  const guint8 *labels = msr_dataset_get_labels (ds);
  const guint16 *scen = msr_dataset_get_scenarios (ds);
  gsize n = 0;
  for (gsize r = 0; r < N; r++)
    n += spl[r] == split;
  if (pa->n != n)
    {
      out->note = g_strdup_printf ("No significance marks: the baseline run #%" G_GINT64_FORMAT " holds %"
                                   G_GSIZE_FORMAT " scores, the dataset's %s split has %" G_GSIZE_FORMAT " rows.",
                                   in->baseline, pa->n, base->split, n);
      return g_steal_pointer (&out);
    }
  g_autofree guint8 *y = g_new (guint8, MAX (n, 1));
  g_autofree guint32 *sc = g_new (guint32, MAX (n, 1));
  for (gsize r = 0, i = 0; r < N; r++)
    if (spl[r] == split)
      {
        y[i] = labels[r] ? 1 : 0;
        sc[i] = scen[r];
        i++;
      }
  g_autofree double *a = scores_to_double (pa);
  g_autofree const char **names = g_new0 (const char *, S + 1);
  for (guint s = 0; s < S; s++)
    names[s] = msr_dataset_get_scenario_name (ds, s);

  MsrBootstrapOptions bo;
  msr_bootstrap_options_init (&bo);
  bo.replicates = 0;   /* DeLong only */
  bo.threads = 1;

  for (guint r = 0; r < R; r++)
    {
      const gint64 id = g_array_index (in->rows, gint64, r);
      if (id == in->baseline)
        continue;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      lens_job_report (job, (double) r / R, "Testing against the baseline");

      g_autoptr(MsrRunInfo) info = msr_results_get_run (results, id, error);
      if (info == NULL)
        return NULL;
      char *reason = untestable_reason (info, base, ds);
      if (reason != NULL)
        {
          g_ptr_array_add (notes, reason);
          continue;
        }
      g_autoptr(MsrResultsPredictions) pb = msr_results_get_predictions (results, id, error);
      if (pb == NULL)
        return NULL;
      if (pb->n != n)
        {
          g_ptr_array_add (notes, g_strdup_printf ("run #%" G_GINT64_FORMAT " holds %" G_GSIZE_FORMAT
                                                   " scores for %" G_GSIZE_FORMAT " rows", id, pb->n, n));
          continue;
        }
      g_autofree double *b = scores_to_double (pb);
      g_autoptr(MsrComparison) cmp = msr_compare_paired (a, b, y, sc, names, S, NULL, n, &bo, NULL, NULL,
                                                         cancellable, error);
      if (cmp == NULL)
        return NULL;

      double *p = out->p + (gsize) r * C, *ph = out->p_holm + (gsize) r * C, *z = out->z + (gsize) r * C;
      for (guint s = 0; s < S; s++)
        if (cmp->scenarios[s].delong.defined)
          {
            p[s] = cmp->scenarios[s].delong.p;
            z[s] = cmp->scenarios[s].delong.z;
          }
      msr_holm_adjust (p, S, ph);
      /* The pooled rows are one test of their own: not adjusted. */
      if (cmp->overall.delong.defined)
        {
          p[S] = ph[S] = cmp->overall.delong.p;
          z[S] = cmp->overall.delong.z;
        }
    }
  lens_job_report (job, 1.0, NULL);

  if (notes->len > 0)
    {
      g_ptr_array_add (notes, NULL);
      g_autofree char *joined = g_strjoinv ("; ", (char **) notes->pdata);
      out->note = g_strdup_printf ("Rows without significance marks: %s.", joined);
    }
  return g_steal_pointer (&out);
}

/* ---- the view ------------------------------------------------------------------ */

static void update_view (LensBackbonesPage *self);

static void
set_busy (LensBackbonesPage *self, gboolean busy)
{
  gtk_revealer_set_reveal_child (self->busy_revealer, busy);
  gtk_widget_set_visible (GTK_WIDGET (self->busy_revealer), busy);
  gtk_spinner_set_spinning (self->busy_spinner, busy);
}

static void
on_job_stage (LensBackbonesPage *self)
{
  const char *stage = self->job ? lens_job_get_stage (self->job) : NULL;
  double fraction = self->job ? lens_job_get_fraction (self->job) : -1;
  g_autofree char *text = fraction >= 0 ? g_strdup_printf ("%s… %.0f%%", stage ? stage : "Testing significance",
                                                           100 * fraction)
                                        : g_strdup_printf ("%s…", stage ? stage : "Testing significance");
  gtk_label_set_text (self->busy_label, text);
}

static void
on_test_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(LensBackbonesPage) self = user_data;
  LensJob *job = LENS_JOB (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(TestOutput) out = lens_job_run_finish (job, result, &error);

  /* A newer request (or the page's disposal) made this one stale. */
  if (job != self->job)
    return;
  g_clear_object (&self->job);
  set_busy (self, FALSE);
  if (out == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_free (self->test_note);
          self->test_note = g_strdup_printf ("No significance marks: %s", error->message);
          lens_page_report_error (LENS_PAGE (self), error->message);
          update_view (self);
        }
      return;
    }
  if (out->n_rows != n_rows (self) || out->n_cols != n_cols (self))
    return;
  for (guint r = 0; r < out->n_rows; r++)
    for (guint c = 0; c < out->n_cols; c++)
      {
        Cell *cell = cell_at (self, r, c);
        cell->p = out->p[(gsize) r * out->n_cols + c];
        cell->p_holm = out->p_holm[(gsize) r * out->n_cols + c];
        cell->z = out->z[(gsize) r * out->n_cols + c];
      }
  g_free (self->test_note);
  self->test_note = g_steal_pointer (&out->note);
  update_view (self);
}

static void
cancel_tests (LensBackbonesPage *self)
{
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->job)
    g_signal_handlers_disconnect_by_data (self->job, self);
  g_clear_object (&self->job);
  set_busy (self, FALSE);
}

static void
start_tests (LensBackbonesPage *self)
{
  cancel_tests (self);
  for (guint i = 0; i < n_rows (self) * n_cols (self); i++)
    self->cells[i].p = self->cells[i].p_holm = self->cells[i].z = NAN;
  g_clear_pointer (&self->test_note, g_free);
  self->waiting_for_dataset = FALSE;

  if (self->session == NULL || self->baseline == 0 || n_rows (self) < 2)
    return;
  const MsrDataset *ds = lens_session_get_dataset (self->session);
  if (ds == NULL)
    {
      /* Tried again when the page is shown or the runs change. */
      self->waiting_for_dataset = TRUE;
      self->test_note = g_strdup ("Significance marks appear once the dataset is loaded.");
      return;
    }
  /* The columns must be the dataset's scenarios, in code order. */
  const guint S = msr_dataset_get_n_scenarios (ds);
  gboolean same = S == self->n_scenarios;
  for (guint s = 0; same && s < S; s++)
    same = g_strcmp0 (msr_dataset_get_scenario_name (ds, s), g_ptr_array_index (self->col_names, s)) == 0;
  if (!same)
    return;

  TestInput *in = g_new0 (TestInput, 1);
  in->session = g_object_ref (self->session);
  in->results_path = g_strdup (lens_session_get_results_path (self->session));
  in->baseline = self->baseline;
  in->rows = g_array_copy (self->row_ids);
  in->n_scenarios = S;

  self->cancellable = g_cancellable_new ();
  self->job = lens_job_new ("Significance against the baseline");
  g_signal_connect_swapped (self->job, "notify::stage", G_CALLBACK (on_job_stage), self);
  g_signal_connect_swapped (self->job, "notify::fraction", G_CALLBACK (on_job_stage), self);
  gtk_label_set_text (self->busy_label, "Testing significance…");
  set_busy (self, TRUE);
  lens_job_run_async (self->job, test_thread, in, test_input_free, test_output_free, self->cancellable,
                      on_test_done, g_object_ref (self));
}

static void
fill_readout (LensBackbonesPage *self, int item)
{
  const guint C = n_cols (self);
  g_clear_pointer (&self->readout, g_free);
  if (item < 0 || C == 0 || (guint) item >= n_rows (self) * C)
    {
      gtk_label_set_text (self->readout_label,
                          "Click a cell of the matrix for its AUCs with intervals, the gain over the baseline "
                          "and the DeLong test.");
      return;
    }
  const guint r = (guint) item / C, c = (guint) item % C;
  const Cell *cell = cell_at (self, r, c);
  const char *col = g_ptr_array_index (self->col_names, c);
  const char *row = g_ptr_array_index (self->row_labels, r);
  const int br = row_of (self, self->baseline);
  const Cell *base = br >= 0 ? cell_at (self, (guint) br, c) : NULL;
  GString *s = g_string_new (NULL);

  g_autofree char *row_e = g_markup_escape_text (row, -1), *col_e = g_markup_escape_text (col, -1);
  g_string_append_printf (s, "<b>%s</b>\n%s", row_e, col_e);
  if (cell->found)
    {
      g_autofree char *cnt = lens_format_count (cell->n);
      g_string_append_printf (s, ", %s rows", cnt);
    }
  g_string_append (s, "\n\n");
  for (int k = 0; k < 2; k++)
    {
      const Cell *x = k == 0 ? cell : base;
      if (x == NULL || (k == 1 && (guint) br == r))
        continue;
      g_autofree char *auc = fmt_double ("%.4f", x->auc);
      if (k == 0)
        g_string_append (s, "AUC ");
      else
        {
          g_autofree char *bl = g_markup_escape_text (g_ptr_array_index (self->row_labels, br), -1);
          g_string_append_printf (s, "Baseline (%s)\nAUC ", bl);
        }
      g_string_append (s, auc);
      if (x->has_ci && !isnan (x->ci_lo))
        g_string_append_printf (s, " [%.4f, %.4f]", x->ci_lo, x->ci_hi);
      g_string_append_c (s, '\n');
    }
  if (base != NULL && (guint) br != r)
    {
      g_autofree char *d = fmt_double ("%+.4f", cell->auc - base->auc);
      g_autofree char *ri = fmt_double ("%+.2f%%", relaimpr (cell->auc, base->auc));
      g_autofree char *p = fmt_p (cell->p), *ph = fmt_p (cell->p_holm);
      g_string_append_printf (s, "\nΔAUC %s\nRelaImpr %s\n", d, ri);
      if (isnan (cell->p))
        g_string_append (s, "<i>Not tested against the baseline</i>");
      else if (c + 1 == C)
        g_string_append_printf (s, "DeLong p = %s %s\n<small>(overall: one test, not adjusted)</small>", p,
                                mark_for (cell->p_holm));
      else
        g_string_append_printf (s, "DeLong p = %s\np (Holm) = %s %s", p, ph, mark_for (cell->p_holm));
    }
  else if (base != NULL)
    g_string_append (s, "<i>This run is the baseline.</i>");
  self->readout = g_string_free (s, FALSE);
  gtk_label_set_markup (self->readout_label, self->readout);
}

static void
on_item_selected (LensBackbonesPage *self, int item)
{
  fill_readout (self, item);
}

static double
cell_value (LensBackbonesPage *self, guint r, guint c, int br)
{
  const Cell *cell = cell_at (self, r, c);
  const Cell *base = br >= 0 ? cell_at (self, (guint) br, c) : NULL;

  switch (self->color_by)
    {
    case LENS_BACKBONES_COLOR_DELTA:
      return base ? cell->auc - base->auc : NAN;
    case LENS_BACKBONES_COLOR_RELAIMPR:
      return base ? relaimpr (cell->auc, base->auc) : NAN;
    case LENS_BACKBONES_COLOR_AUC:
    default:
      return cell->auc;
    }
}

static void
update_table (LensBackbonesPage *self, int br)
{
  const guint R = n_rows (self), C = n_cols (self);
  double level = 0.95;
  for (guint i = 0; i < R * C; i++)
    if (self->cells[i].has_ci)
      {
        level = self->cells[i].ci_level;
        break;
      }
  g_autofree char *ci_title = g_strdup_printf ("%g%% CI", 100 * level);
  const char *titles[] = { "Run", "Scenario", "Rows", "AUC", ci_title, "ΔAUC", "RelaImpr", "DeLong p", "p (Holm)",
                           "Sig." };
  /* The interval is numeric too (sorted by its lower end): right-aligned,
   * never ellipsized. */
  const gboolean numeric[] = { FALSE, FALSE, TRUE, TRUE, TRUE, TRUE, TRUE, TRUE, TRUE, FALSE };
  enum { K = G_N_ELEMENTS (titles) };
  lens_table_set_columns (LENS_TABLE (self->table), K, titles, numeric);

  g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);
  g_autofree double *values = g_new (double, MAX ((gsize) R * C * K, 1));
  g_autofree gint64 *ids = g_new (gint64, MAX ((gsize) R * C, 1));
  gsize k = 0;
  for (guint r = 0; r < R; r++)
    for (guint c = 0; c < C; c++)
      {
        const Cell *cell = cell_at (self, r, c);
        const Cell *base = br >= 0 ? cell_at (self, (guint) br, c) : NULL;
        const gboolean is_base = br == (int) r;
        double d = base && !is_base ? cell->auc - base->auc : NAN;
        double ri = base && !is_base ? relaimpr (cell->auc, base->auc) : NAN;
        double *v = values + k * K;
        ids[k++] = (gint64) r * C + c;
        for (guint j = 0; j < K; j++)
          v[j] = NAN;
        g_ptr_array_add (cells, g_strdup (g_ptr_array_index (self->row_labels, r)));
        g_ptr_array_add (cells, g_strdup (g_ptr_array_index (self->col_names, c)));
        g_ptr_array_add (cells, cell->found ? lens_format_count (cell->n) : g_strdup ("–"));
        v[2] = cell->found ? (double) cell->n : NAN;
        g_ptr_array_add (cells, fmt_double ("%.4f", cell->auc));
        v[3] = cell->auc;
        const gboolean has_ci = cell->has_ci && !isnan (cell->ci_lo);
        g_ptr_array_add (cells, has_ci ? g_strdup_printf ("[%.4f, %.4f]", cell->ci_lo, cell->ci_hi) : g_strdup ("–"));
        v[4] = has_ci ? cell->ci_lo : NAN;
        g_ptr_array_add (cells, is_base ? g_strdup ("baseline") : fmt_double ("%+.4f", d));
        v[5] = d;
        g_ptr_array_add (cells, fmt_double ("%+.2f%%", ri));
        v[6] = ri;
        g_ptr_array_add (cells, fmt_p (cell->p));
        v[7] = cell->p;
        g_ptr_array_add (cells, c + 1 == C && !isnan (cell->p) ? g_strdup ("(not adjusted)") : fmt_p (cell->p_holm));
        v[8] = cell->p_holm;
        g_ptr_array_add (cells, g_strdup (mark_for (cell->p_holm)));
      }
  lens_table_set_rows (LENS_TABLE (self->table), R * C, (const char * const *) cells->pdata, values, ids);
}

static void
update_view (LensBackbonesPage *self)
{
  const guint R = n_rows (self), C = n_cols (self);

  if (R == 0 || C <= 1)
    {
      gtk_stack_set_visible_child_name (self->stack, "empty");
      g_clear_object (&self->chart);
      lens_chart_view_set_chart (LENS_CHART_VIEW (self->chart_view), NULL);
      lens_table_set_rows (LENS_TABLE (self->table), 0, NULL, NULL, NULL);
      return;
    }
  gtk_stack_set_visible_child_name (self->stack, "content");
  /* Room for legible cell labels: the height grows with the rows. */
  gtk_widget_set_size_request (GTK_WIDGET (self->chart_box), -1, CLAMP (170 + 64 * (int) R, 380, 960));

  const int br = row_of (self, self->baseline);
  const gboolean gain = self->color_by != LENS_BACKBONES_COLOR_AUC && br >= 0;
  const char *base_label = br >= 0 ? g_ptr_array_index (self->row_labels, br) : "";

  g_free (self->values);
  g_strfreev (self->marks);
  self->values = g_new (double, (gsize) R * C);
  self->marks = g_new0 (char *, (gsize) R * C + 1);
  gboolean any_mark = FALSE;
  for (guint r = 0; r < R; r++)
    for (guint c = 0; c < C; c++)
      {
        const gsize i = (gsize) r * C + c;
        const Cell *cell = cell_at (self, r, c);
        self->values[i] = cell_value (self, r, c, br);
        self->marks[i] = g_strdup (gain && (int) r != br ? mark_for (cell->p_holm) : "");
        any_mark |= self->marks[i][0] != '\0';
      }

  g_autofree char *title = NULL;
  const char *value_label, *fmt;
  switch (self->color_by)
    {
    case LENS_BACKBONES_COLOR_DELTA:
      title = g_strdup_printf ("ΔAUC against %s, %s split", base_label, self->split ? self->split : "test");
      value_label = "ΔAUC";
      fmt = "%+.4f";
      break;
    case LENS_BACKBONES_COLOR_RELAIMPR:
      title = g_strdup_printf ("RelaImpr over %s, %s split", base_label, self->split ? self->split : "test");
      value_label = "RelaImpr (%)";
      fmt = "%+.1f%%";
      break;
    case LENS_BACKBONES_COLOR_AUC:
    default:
      title = g_strdup_printf ("AUC per scenario, %s split", self->split ? self->split : "test");
      value_label = "AUC";
      fmt = "%.4f";
      break;
    }

  /* The chart view keeps its selection across a redraw of the same shape. */
  const int selected = lens_chart_view_get_selected (LENS_CHART_VIEW (self->chart_view));
  g_clear_object (&self->chart);
  self->chart = lens_chart_new_heatmap (title, value_label, R, (const char * const *) self->row_labels->pdata, C,
                                        (const char * const *) self->col_names->pdata, self->values,
                                        (const char * const *) self->marks,
                                        gain ? LENS_COLOR_SCALE_DIVERGING : LENS_COLOR_SCALE_SEQUENTIAL, 0.0, fmt);
  lens_chart_view_set_chart (LENS_CHART_VIEW (self->chart_view), self->chart);
  if (selected >= 0 && (guint) selected < R * C)
    lens_chart_view_set_selected (LENS_CHART_VIEW (self->chart_view), selected);
  fill_readout (self, lens_chart_view_get_selected (LENS_CHART_VIEW (self->chart_view)));

  g_autofree char *subtitle = g_strdup_printf ("%u selected evaluation run%s × %u scenario%s and overall", R,
                                               R == 1 ? "" : "s", self->n_scenarios,
                                               self->n_scenarios == 1 ? "" : "s");
  gtk_label_set_text (self->subtitle_label, subtitle);

  g_autofree char *legend = NULL;
  if (gain)
    legend = g_strdup_printf ("Colour: %s of each run over the baseline %s (diverging scale, white = no change). "
                              "Marks: * p < 0.05, ** p < 0.01, *** p < 0.001 in DeLong's paired test of the run "
                              "against the baseline on the same rows, Holm-corrected across the row's %u "
                              "scenarios; the overall column is one test and not adjusted.%s",
                              self->color_by == LENS_BACKBONES_COLOR_DELTA ? "the AUC difference" : "the RelaImpr",
                              base_label, self->n_scenarios,
                              any_mark || self->job ? "" : " No cell is significant at 0.05.");
  else
    legend = g_strdup ("Colour: the stored AUC of each run per scenario (sequential scale). Choose ΔAUC or "
                       "RelaImpr to compare every run with the baseline, with DeLong significance marks.");
  gtk_label_set_text (self->legend_label, legend);
  gtk_label_set_text (self->note_label, self->test_note ? self->test_note : "");
  gtk_widget_set_visible (GTK_WIDGET (self->note_label), gain && self->test_note != NULL);

  update_table (self, br);
}

/* ---- rows and columns from the session --------------------------------------- */

static void
refill_baseline_dropdown (LensBackbonesPage *self)
{
  g_autoptr(GtkStringList) list = gtk_string_list_new (NULL);
  for (guint r = 0; r < n_rows (self); r++)
    gtk_string_list_append (list, g_ptr_array_index (self->row_labels, r));
  self->updating = TRUE;
  gtk_drop_down_set_model (self->baseline_dropdown, G_LIST_MODEL (list));
  const int br = row_of (self, self->baseline);
  gtk_drop_down_set_selected (self->baseline_dropdown, br >= 0 ? (guint) br : GTK_INVALID_LIST_POSITION);
  gtk_widget_set_sensitive (GTK_WIDGET (self->baseline_dropdown), n_rows (self) > 0);
  self->updating = FALSE;
}

static void
clear_rows (LensBackbonesPage *self)
{
  g_array_set_size (self->row_ids, 0);
  g_ptr_array_set_size (self->row_runs, 0);
  g_ptr_array_set_size (self->row_labels, 0);
  g_ptr_array_set_size (self->col_names, 0);
  g_clear_pointer (&self->cells, g_free);
  g_clear_pointer (&self->split, g_free);
  self->n_scenarios = 0;
}

static gboolean poll_dataset (gpointer data);

static void
rebuild (LensBackbonesPage *self)
{
  cancel_tests (self);
  clear_rows (self);
  g_clear_pointer (&self->runs, g_ptr_array_unref);

  if (self->session != NULL)
    {
      self->runs = g_ptr_array_ref (lens_session_get_runs (self->session));
      GArray *sel = lens_session_get_selection (self->session);
      for (guint i = 0; i < sel->len; i++)
        {
          const gint64 id = g_array_index (sel, gint64, i);
          const LensRun *run = lens_session_find_run (self->session, id);
          if (run == NULL || run->metrics == NULL || row_of (self, id) >= 0)
            continue;
          g_array_append_val (self->row_ids, id);
          g_ptr_array_add (self->row_runs, (gpointer) run);
          g_ptr_array_add (self->row_labels, lens_run_get_label (run));
        }

      /* Columns: the dataset's scenarios in code order (what the tests
       * index by), then any other scenario a run reports, then overall. */
      const MsrDataset *ds = lens_session_get_dataset (self->session);
      self->had_dataset = ds != NULL;
      if (ds != NULL)
        for (guint s = 0; s < msr_dataset_get_n_scenarios (ds); s++)
          g_ptr_array_add (self->col_names, g_strdup (msr_dataset_get_scenario_name (ds, s)));
      for (guint r = 0; r < n_rows (self); r++)
        {
          const LensRun *run = g_ptr_array_index (self->row_runs, r);
          for (guint k = 0; k < run->metrics->n_scopes; k++)
            {
              const MsrResultsScopeMetrics *sm = &run->metrics->scopes[k];
              if (sm->scope == MSR_RESULTS_SCOPE_SCENARIO && !has_column (self->col_names, sm->scenario))
                g_ptr_array_add (self->col_names, g_strdup (sm->scenario));
            }
        }
      self->n_scenarios = self->col_names->len;
      g_ptr_array_add (self->col_names, g_strdup ("overall"));

      /* The split most rows were evaluated on, for the title. */
      for (guint r = 0; r < n_rows (self) && self->split == NULL; r++)
        self->split = g_strdup (((const LensRun *) g_ptr_array_index (self->row_runs, r))->info->split);
    }

  const guint R = n_rows (self), C = n_cols (self);
  self->cells = g_new0 (Cell, MAX ((gsize) R * C, 1));
  for (guint r = 0; r < R; r++)
    {
      const LensRun *run = g_ptr_array_index (self->row_runs, r);
      for (guint c = 0; c < C; c++)
        {
          Cell *cell = cell_at (self, r, c);
          const gboolean overall = c + 1 == C;
          const MsrResultsScopeMetrics *sm =
            msr_results_metrics_find (run->metrics, overall ? MSR_RESULTS_SCOPE_OVERALL : MSR_RESULTS_SCOPE_SCENARIO,
                                      g_ptr_array_index (self->col_names, c));
          cell->auc = cell->ci_lo = cell->ci_hi = cell->p = cell->p_holm = cell->z = NAN;
          if (sm == NULL)
            continue;
          cell->found = TRUE;
          cell->n = sm->metrics.n;
          cell->positives = sm->metrics.positives;
          cell->auc = sm->metrics.auc_defined ? sm->metrics.auc : NAN;
          cell->has_ci = sm->has_ci;
          cell->ci_lo = sm->ci_auc.lo;
          cell->ci_hi = sm->ci_auc.hi;
          cell->ci_level = sm->ci_level;
        }
    }

  if (self->session != NULL && !self->had_dataset && self->dataset_poll == 0)
    self->dataset_poll = g_timeout_add (300, poll_dataset, self);

  self->baseline = row_of (self, self->baseline_wanted) >= 0 ? self->baseline_wanted : default_baseline (self);
  refill_baseline_dropdown (self);
  start_tests (self);
  update_view (self);
}

/* The session has no signal for a finished load: look now and then while
 * the columns wait for the dataset's scenario order. */
static gboolean
poll_dataset (gpointer data)
{
  LensBackbonesPage *self = data;

  if (self->session != NULL && lens_session_get_dataset (self->session) == NULL)
    return G_SOURCE_CONTINUE;
  self->dataset_poll = 0;
  if (self->session != NULL)
    rebuild (self);
  return G_SOURCE_REMOVE;
}

static void
on_runs_changed (LensBackbonesPage *self)
{
  rebuild (self);
}

static void
on_color_selected (LensBackbonesPage *self)
{
  guint i = gtk_drop_down_get_selected (self->color_dropdown);
  if (self->updating || i > LENS_BACKBONES_COLOR_RELAIMPR)
    return;
  lens_backbones_page_set_color_by (self, (LensBackbonesColor) i);
}

static void
on_baseline_selected (LensBackbonesPage *self)
{
  guint i = gtk_drop_down_get_selected (self->baseline_dropdown);
  if (self->updating || i >= n_rows (self))
    return;
  lens_backbones_page_set_baseline (self, g_array_index (self->row_ids, gint64, i));
}

static void
on_map (LensBackbonesPage *self)
{
  /* The dataset may have finished loading since the rows were built: the
   * columns then follow its scenario order and the tests can run. */
  if (self->session != NULL && lens_session_get_dataset (self->session) != NULL && !self->had_dataset)
    rebuild (self);
}

/* ---- LensPage ------------------------------------------------------------------ */

static void
lens_backbones_page_set_session (LensPage *page, LensSession *session)
{
  LensBackbonesPage *self = LENS_BACKBONES_PAGE (page);

  if (self->session == session)
    return;
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_set_object (&self->session, session);
  self->baseline_wanted = 0;
  if (session != NULL)
    {
      g_signal_connect_swapped (session, "runs-changed", G_CALLBACK (on_runs_changed), self);
      g_signal_connect_swapped (session, "selection-changed", G_CALLBACK (on_runs_changed), self);
    }
  rebuild (self);
}

static LensChart *
lens_backbones_page_get_chart (LensPage *page)
{
  return LENS_BACKBONES_PAGE (page)->chart;
}

static LensTable *
lens_backbones_page_get_table (LensPage *page)
{
  return LENS_TABLE (LENS_BACKBONES_PAGE (page)->table);
}

static void
lens_backbones_page_page_init (LensPageInterface *iface)
{
  iface->set_session = lens_backbones_page_set_session;
  iface->get_chart = lens_backbones_page_get_chart;
  iface->get_table = lens_backbones_page_get_table;
}

/* ---- GObject ------------------------------------------------------------------- */

static void
lens_backbones_page_dispose (GObject *object)
{
  LensBackbonesPage *self = LENS_BACKBONES_PAGE (object);

  g_clear_handle_id (&self->dataset_poll, g_source_remove);
  cancel_tests (self);
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_clear_object (&self->session);
  /* AdwBin unparents its child itself: let go of it before the template's
   * children are cleared, so it is not unparented twice. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), LENS_TYPE_BACKBONES_PAGE);
  G_OBJECT_CLASS (lens_backbones_page_parent_class)->dispose (object);
}

static void
lens_backbones_page_finalize (GObject *object)
{
  LensBackbonesPage *self = LENS_BACKBONES_PAGE (object);

  clear_rows (self);
  g_array_unref (self->row_ids);
  g_ptr_array_unref (self->row_runs);
  g_ptr_array_unref (self->row_labels);
  g_ptr_array_unref (self->col_names);
  g_clear_pointer (&self->runs, g_ptr_array_unref);
  g_clear_object (&self->chart);
  g_free (self->values);
  g_strfreev (self->marks);
  g_free (self->readout);
  g_free (self->test_note);
  G_OBJECT_CLASS (lens_backbones_page_parent_class)->finalize (object);
}

static void
lens_backbones_page_class_init (LensBackbonesPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lens_backbones_page_dispose;
  object_class->finalize = lens_backbones_page_finalize;

  lens_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class, MSR_RESOURCE_PATH "/ui/lens-backbones-page.ui");
  gtk_widget_class_bind_template_child (widget_class, LensBackbonesPage, stack);
  gtk_widget_class_bind_template_child (widget_class, LensBackbonesPage, empty_page);
  gtk_widget_class_bind_template_child (widget_class, LensBackbonesPage, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, LensBackbonesPage, color_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LensBackbonesPage, baseline_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LensBackbonesPage, busy_revealer);
  gtk_widget_class_bind_template_child (widget_class, LensBackbonesPage, busy_spinner);
  gtk_widget_class_bind_template_child (widget_class, LensBackbonesPage, busy_label);
  gtk_widget_class_bind_template_child (widget_class, LensBackbonesPage, chart_box);
  gtk_widget_class_bind_template_child (widget_class, LensBackbonesPage, readout_label);
  gtk_widget_class_bind_template_child (widget_class, LensBackbonesPage, legend_label);
  gtk_widget_class_bind_template_child (widget_class, LensBackbonesPage, note_label);
  gtk_widget_class_bind_template_child (widget_class, LensBackbonesPage, table_box);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
lens_backbones_page_init (LensBackbonesPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->row_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->row_runs = g_ptr_array_new ();
  self->row_labels = g_ptr_array_new_with_free_func (g_free);
  self->col_names = g_ptr_array_new_with_free_func (g_free);
  self->color_by = LENS_BACKBONES_COLOR_AUC;

  self->chart_view = lens_chart_view_new ();
  gtk_widget_set_hexpand (self->chart_view, TRUE);
  gtk_widget_set_vexpand (self->chart_view, TRUE);
  gtk_box_append (self->chart_box, self->chart_view);
  g_signal_connect_swapped (self->chart_view, "item-selected", G_CALLBACK (on_item_selected), self);

  self->table = lens_table_new (LENS_TABLE_SELECT_NONE);
  gtk_widget_set_hexpand (self->table, TRUE);
  gtk_box_append (self->table_box, self->table);

  g_signal_connect_swapped (self->color_dropdown, "notify::selected", G_CALLBACK (on_color_selected), self);
  g_signal_connect_swapped (self->baseline_dropdown, "notify::selected", G_CALLBACK (on_baseline_selected), self);
  g_signal_connect (self, "map", G_CALLBACK (on_map), NULL);

  rebuild (self);
}

/* ---- public API ---------------------------------------------------------------- */

GtkWidget *
lens_backbones_page_new (void)
{
  return g_object_new (LENS_TYPE_BACKBONES_PAGE, NULL);
}

void
lens_backbones_page_set_color_by (LensBackbonesPage *self, LensBackbonesColor color_by)
{
  g_return_if_fail (LENS_IS_BACKBONES_PAGE (self));
  g_return_if_fail (color_by <= LENS_BACKBONES_COLOR_RELAIMPR);

  if (self->color_by == color_by)
    return;
  self->color_by = color_by;
  self->updating = TRUE;
  gtk_drop_down_set_selected (self->color_dropdown, color_by);
  self->updating = FALSE;
  update_view (self);
}

LensBackbonesColor
lens_backbones_page_get_color_by (LensBackbonesPage *self)
{
  g_return_val_if_fail (LENS_IS_BACKBONES_PAGE (self), LENS_BACKBONES_COLOR_AUC);
  return self->color_by;
}

void
lens_backbones_page_set_baseline (LensBackbonesPage *self, gint64 run_id)
{
  g_return_if_fail (LENS_IS_BACKBONES_PAGE (self));

  self->baseline_wanted = run_id;
  const gint64 use = row_of (self, run_id) >= 0 ? run_id : default_baseline (self);
  if (use == self->baseline)
    return;
  self->baseline = use;
  self->updating = TRUE;
  const int br = row_of (self, use);
  gtk_drop_down_set_selected (self->baseline_dropdown, br >= 0 ? (guint) br : GTK_INVALID_LIST_POSITION);
  self->updating = FALSE;
  start_tests (self);
  update_view (self);
}

gint64
lens_backbones_page_get_baseline (LensBackbonesPage *self)
{
  g_return_val_if_fail (LENS_IS_BACKBONES_PAGE (self), 0);
  return self->baseline;
}

gboolean
lens_backbones_page_is_busy (LensBackbonesPage *self)
{
  g_return_val_if_fail (LENS_IS_BACKBONES_PAGE (self), FALSE);
  return self->job != NULL;
}

guint
lens_backbones_page_get_n_rows (LensBackbonesPage *self)
{
  g_return_val_if_fail (LENS_IS_BACKBONES_PAGE (self), 0);
  return n_rows (self);
}

guint
lens_backbones_page_get_n_cols (LensBackbonesPage *self)
{
  g_return_val_if_fail (LENS_IS_BACKBONES_PAGE (self), 0);
  return n_cols (self);
}

gint64
lens_backbones_page_get_row_run (LensBackbonesPage *self, guint row)
{
  g_return_val_if_fail (LENS_IS_BACKBONES_PAGE (self), 0);
  return row < n_rows (self) ? g_array_index (self->row_ids, gint64, row) : 0;
}

const char *
lens_backbones_page_get_col_name (LensBackbonesPage *self, guint col)
{
  g_return_val_if_fail (LENS_IS_BACKBONES_PAGE (self), NULL);
  return col < n_cols (self) ? g_ptr_array_index (self->col_names, col) : NULL;
}

gboolean
lens_backbones_page_get_cell (LensBackbonesPage *self, guint row, guint col, double *value, double *p,
                              double *p_holm, const char **mark)
{
  g_return_val_if_fail (LENS_IS_BACKBONES_PAGE (self), FALSE);
  if (row >= n_rows (self) || col >= n_cols (self) || self->values == NULL)
    return FALSE;
  const gsize i = (gsize) row * n_cols (self) + col;
  const Cell *cell = cell_at (self, row, col);
  if (value)
    *value = self->values[i];
  if (p)
    *p = cell->p;
  if (p_holm)
    *p_holm = cell->p_holm;
  if (mark)
    *mark = self->marks[i];
  return TRUE;
}

const char *
lens_backbones_page_get_readout (LensBackbonesPage *self)
{
  g_return_val_if_fail (LENS_IS_BACKBONES_PAGE (self), NULL);
  return self->readout;
}

const char *
lens_backbones_page_get_note (LensBackbonesPage *self)
{
  g_return_val_if_fail (LENS_IS_BACKBONES_PAGE (self), NULL);
  return self->test_note;
}

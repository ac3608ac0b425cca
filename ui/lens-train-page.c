/* lens-train-page.c: see lens-train-page.h.
 *
 * Training and scoring run in the page's LensJob (a GTask thread). The
 * engine's per-batch progress is formatted in that thread and published
 * through lens_job_report, which LensJob coalesces to at most one update
 * per main-loop pass. Finished epochs go into a small locked queue that the
 * main thread drains whenever the job's progress changes, so the epoch log
 * and the live curve never depend on every report arriving. Nothing heavy
 * runs on the main thread: it only sets labels, the progress bar and, once
 * per epoch, a chart of a few points. */
#include "config.h"
#include "lens-train-page.h"
#include "lens-chart-view.h"
#include "lens-format.h"
#include "lens-ui.h"
#include "msr-pipeline.h"
#include "msr-results.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* ---- the epoch queue, shared with the worker ---------------------------- */

typedef struct {
  guint    epoch;
  double   train_loss;
  double   valid_auc;
  double   valid_logloss;
  gboolean best;
} EpochEntry;

typedef struct {
  GMutex  lock;
  GArray *pending;   /* EpochEntry, written by the worker */
} EpochQueue;

static void
epoch_queue_clear (gpointer p)
{
  EpochQueue *q = p;
  g_mutex_clear (&q->lock);
  g_array_unref (q->pending);
}

static EpochQueue *
epoch_queue_new (void)
{
  EpochQueue *q = g_atomic_rc_box_new0 (EpochQueue);
  g_mutex_init (&q->lock);
  q->pending = g_array_new (FALSE, FALSE, sizeof (EpochEntry));
  return q;
}

static void
epoch_queue_unref (EpochQueue *q)
{
  g_atomic_rc_box_release_full (q, epoch_queue_clear);
}

/* ---- the page ----------------------------------------------------------- */

typedef enum { JOB_NONE, JOB_TRAIN, JOB_EVALUATE } JobKind;

struct _LensTrainPage
{
  AdwBin          parent_instance;

  LensSession    *session;
  LensJob        *job;
  JobKind         kind;
  GCancellable   *cancellable;
  EpochQueue     *queue;
  GArray         *epochs;        /* EpochEntry of the current or last training */
  MsrArch         archs[MSR_N_ARCHS];
  guint           n_archs;
  gboolean        form_valid;
  gboolean        disposed;
  GError         *last_error;
  gint64          last_train_run, last_eval_run;
  char           *status_text;
  LensChartView  *chart_view;

  /* template children */
  GtkLabel       *intro_label;
  GtkWidget      *form_box;
  AdwComboRow    *backbone_row;
  GtkSpinButton  *embed_spin;
  AdwEntryRow    *hidden_row;
  AdwEntryRow    *tower_row;
  GtkSpinButton  *dropout_spin;
  GtkSwitch      *batchnorm_switch;
  GtkSwitch      *scenario_switch;
  GtkLabel       *dims_error_label;
  GtkSpinButton  *epochs_spin;
  GtkSpinButton  *patience_spin;
  GtkSpinButton  *batch_spin;
  AdwComboRow    *optimizer_row;
  GtkSpinButton  *lr_spin;
  GtkSpinButton  *wd_spin;
  GtkSpinButton  *seed_spin;
  GtkSpinButton  *threads_spin;
  GtkProgressBar *progress_bar;
  GtkLabel       *stage_label;
  GtkLabel       *status_label;
  GtkBox         *chart_box;
  GtkWidget      *log_box;
  GtkListBox     *log_list;
  GPtrArray      *markers;       /* GtkLabel per log row: "★ best" on the current best */
  gint64          chart_time;    /* when the live curve was last rebuilt */
  guint           chart_timeout; /* a pending rebuild */
};

static void lens_train_page_iface_init (LensPageInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LensTrainPage, lens_train_page, ADW_TYPE_BIN,
                               G_IMPLEMENT_INTERFACE (LENS_TYPE_PAGE, lens_train_page_iface_init))

static const char *
arch_title (MsrArch arch)
{
  switch (arch)
    {
    case MSR_ARCH_DNN: return "DNN (joint)";
    case MSR_ARCH_DNN_SEPARATE: return "DNN (per scenario)";
    case MSR_ARCH_SHARED_BOTTOM: return "Shared-Bottom";
    case MSR_ARCH_MMOE: return "MMoE";
    case MSR_ARCH_PLE: return "PLE";
    case MSR_ARCH_STAR: return "STAR";
    case MSR_ARCH_PEPNET: return "PEPNet";
    default: return msr_arch_to_string (arch);
    }
}

static const char *
arch_description (MsrArch arch)
{
  switch (arch)
    {
    case MSR_ARCH_DNN: return "dnn · one MLP for all scenarios";
    case MSR_ARCH_DNN_SEPARATE: return "dnn-separate · one MLP per scenario";
    case MSR_ARCH_SHARED_BOTTOM: return "shared-bottom · shared MLP, scenario towers";
    case MSR_ARCH_MMOE: return "mmoe · experts, one gate per scenario";
    case MSR_ARCH_PLE: return "ple · shared and scenario experts, in levels";
    case MSR_ARCH_STAR: return "star · shared × scenario weights, aux network";
    case MSR_ARCH_PEPNET: return "pepnet · scenario gates on inputs and towers";
    default: return msr_arch_to_string (arch);
    }
}

static gboolean
arch_has_tower (MsrArch arch)
{
  return arch == MSR_ARCH_SHARED_BOTTOM || arch == MSR_ARCH_MMOE || arch == MSR_ARCH_PLE;
}

static MsrArch
selected_arch (LensTrainPage *self)
{
  guint i = adw_combo_row_get_selected (self->backbone_row);
  return i < self->n_archs ? self->archs[i] : MSR_ARCH_DNN;
}

/* "12 s", "3 min 05 s", "1 h 02 min" */
static char *
format_duration (double seconds)
{
  if (!(seconds >= 0) || !isfinite (seconds))
    return g_strdup ("–");
  if (seconds < 9.95)
    return g_strdup_printf ("%.1f s", seconds);
  guint64 s = (guint64) (seconds + 0.5);
  if (s < 60)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " s", s);
  if (s < 3600)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " min %02" G_GUINT64_FORMAT " s", s / 60, s % 60);
  return g_strdup_printf ("%" G_GUINT64_FORMAT " h %02" G_GUINT64_FORMAT " min", s / 3600, s / 60 % 60);
}

/* ---- the form ----------------------------------------------------------- */

static void update_actions (LensTrainPage *self);

static void
apply_model_defaults (LensTrainPage *self, MsrArch arch)
{
  MsrModelConfig cfg;
  msr_model_config_init (&cfg, arch);
  g_autofree char *hidden = msr_dims_to_string (&cfg.hidden);
  g_autofree char *tower = msr_dims_to_string (&cfg.tower);
  gtk_spin_button_set_value (self->embed_spin, cfg.embed_dim);
  gtk_editable_set_text (GTK_EDITABLE (self->hidden_row), hidden);
  gtk_editable_set_text (GTK_EDITABLE (self->tower_row), tower);
  gtk_spin_button_set_value (self->dropout_spin, cfg.dropout);
  gtk_switch_set_active (self->batchnorm_switch, cfg.batchnorm);
  gtk_switch_set_active (self->scenario_switch, cfg.embed_scenario);
  gtk_widget_set_sensitive (GTK_WIDGET (self->tower_row), arch_has_tower (arch));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->backbone_row), arch_description (arch));
}

static void
apply_train_defaults (LensTrainPage *self)
{
  MsrTrainOptions opts;
  msr_train_options_init (&opts);
  gtk_spin_button_set_value (self->epochs_spin, opts.epochs);
  gtk_spin_button_set_value (self->patience_spin, opts.patience);
  gtk_spin_button_set_value (self->batch_spin, opts.batch_size);
  adw_combo_row_set_selected (self->optimizer_row, opts.adamw ? 1 : 0);
  gtk_spin_button_set_value (self->lr_spin, opts.lr);
  gtk_spin_button_set_value (self->wd_spin, opts.weight_decay);
  gtk_spin_button_set_value (self->seed_spin, (double) opts.seed);
  gtk_spin_button_set_value (self->threads_spin, MAX (opts.threads, 1));
}

/* Checks one widths entry; adds the message (if any) to errors. */
static gboolean
check_dims (AdwEntryRow *row, const char *what, MsrDims *out, GString *errors)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (row));
  MsrDims dims;
  if (msr_dims_parse (text, &dims))
    {
      gtk_widget_remove_css_class (GTK_WIDGET (row), "error");
      if (out)
        *out = dims;
      return TRUE;
    }
  gtk_widget_add_css_class (GTK_WIDGET (row), "error");
  if (errors->len)
    g_string_append_c (errors, '\n');
  g_string_append_printf (errors, "%s: “%s” is not a list of up to %d widths from 1 to 65536, such as 128,64.",
                          what, text, MSR_MAX_LAYERS);
  return FALSE;
}

static void
validate_form (LensTrainPage *self)
{
  g_autoptr(GString) errors = g_string_new (NULL);
  gboolean ok = check_dims (self->hidden_row, "Hidden widths", NULL, errors);
  /* Tower widths only matter (and are only checked) where there are towers. */
  if (arch_has_tower (selected_arch (self)))
    ok &= check_dims (self->tower_row, "Tower widths", NULL, errors);
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->tower_row), "error");
  self->form_valid = ok;
  gtk_label_set_text (self->dims_error_label, errors->str);
  gtk_widget_set_visible (GTK_WIDGET (self->dims_error_label), !ok);
  update_actions (self);
}

static void
on_backbone_changed (LensTrainPage *self)
{
  apply_model_defaults (self, selected_arch (self));
  validate_form (self);
}

gboolean
lens_train_page_get_settings (LensTrainPage *self, MsrModelConfig *cfg, MsrTrainOptions *opts)
{
  g_return_val_if_fail (LENS_IS_TRAIN_PAGE (self), FALSE);
  const MsrArch arch = selected_arch (self);
  msr_model_config_init (cfg, arch);
  msr_train_options_init (opts);
  g_autoptr(GString) errors = g_string_new (NULL);
  if (!check_dims (self->hidden_row, "Hidden widths", &cfg->hidden, errors))
    return FALSE;
  if (arch_has_tower (arch) && !check_dims (self->tower_row, "Tower widths", &cfg->tower, errors))
    return FALSE;
  cfg->embed_dim = (guint) gtk_spin_button_get_value_as_int (self->embed_spin);
  cfg->dropout = gtk_spin_button_get_value (self->dropout_spin);
  cfg->batchnorm = gtk_switch_get_active (self->batchnorm_switch);
  cfg->embed_scenario = gtk_switch_get_active (self->scenario_switch);
  opts->epochs = (guint) gtk_spin_button_get_value_as_int (self->epochs_spin);
  opts->patience = (guint) gtk_spin_button_get_value_as_int (self->patience_spin);
  opts->batch_size = (guint) gtk_spin_button_get_value_as_int (self->batch_spin);
  opts->adamw = adw_combo_row_get_selected (self->optimizer_row) == 1;
  opts->lr = gtk_spin_button_get_value (self->lr_spin);
  opts->weight_decay = gtk_spin_button_get_value (self->wd_spin);
  opts->seed = (guint64) gtk_spin_button_get_value (self->seed_spin);
  opts->threads = (guint) gtk_spin_button_get_value_as_int (self->threads_spin);
  return TRUE;
}

/* ---- progress on the main thread ---------------------------------------- */

static void
rebuild_chart (LensTrainPage *self)
{
  const guint n = self->epochs->len;
  if (n == 0)
    {
      lens_chart_view_set_chart (self->chart_view, NULL);
      gtk_widget_set_visible (GTK_WIDGET (self->chart_box), FALSE);
      return;
    }
  g_autofree double *x = g_new (double, n), *auc = g_new (double, n), *loss = g_new (double, n);
  int best = -1;
  for (guint k = 0; k < n; k++)
    {
      const EpochEntry *e = &g_array_index (self->epochs, EpochEntry, k);
      x[k] = e->epoch;
      auc[k] = e->valid_auc;
      loss[k] = e->train_loss;
      if (e->best)
        best = (int) k;
    }
  const char *labels[1] = { "Validation AUC" };
  const guint counts[1] = { n };
  const double *xs[1] = { x }, *ys[1] = { auc };
  const int marks[1] = { best };
  g_autoptr(LensChart) chart = lens_chart_new_line ("Validation AUC per epoch", "Epoch", "AUC", 1, labels, counts, xs,
                                                    ys, marks);
  lens_chart_view_set_chart (self->chart_view, chart);
  gtk_widget_set_visible (GTK_WIDGET (self->chart_box), TRUE);
}

static gboolean
chart_timeout_cb (gpointer data)
{
  LensTrainPage *self = data;
  self->chart_timeout = 0;
  self->chart_time = g_get_monotonic_time ();
  rebuild_chart (self);
  return G_SOURCE_REMOVE;
}

/* Short epochs can finish many times a second: the curve is redrawn at
 * most four times a second (the log rows are cheap and always added). */
#define CHART_INTERVAL_MS 250

static void
queue_chart (LensTrainPage *self, gboolean now)
{
  const gint64 since = (g_get_monotonic_time () - self->chart_time) / 1000;
  if (now || since >= CHART_INTERVAL_MS)
    {
      g_clear_handle_id (&self->chart_timeout, g_source_remove);
      chart_timeout_cb (self);
    }
  else if (self->chart_timeout == 0)
    self->chart_timeout = g_timeout_add (CHART_INTERVAL_MS - (guint) since, chart_timeout_cb, self);
}

static GtkWidget *
log_row (const EpochEntry *e, GtkWidget **marker)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 8);
  gtk_widget_set_margin_bottom (box, 8);
  g_autofree char *epoch = g_strdup_printf ("Epoch %u", e->epoch);
  g_autofree char *loss = g_strdup_printf ("train loss %.4f", e->train_loss);
  g_autofree char *auc = isnan (e->valid_auc) ? g_strdup ("validation AUC undefined")
                                              : g_strdup_printf ("validation AUC %.4f", e->valid_auc);
  const char *texts[4] = { epoch, loss, auc, e->best ? "★ best" : "" };
  for (guint i = 0; i < 4; i++)
    {
      GtkWidget *l = gtk_label_new (texts[i]);
      gtk_label_set_xalign (GTK_LABEL (l), 0);
      gtk_widget_add_css_class (l, "numeric");
      if (i == 0)
        {
          gtk_widget_add_css_class (l, "heading");
          gtk_label_set_width_chars (GTK_LABEL (l), 8);
        }
      if (i == 3)
        {
          gtk_widget_set_hexpand (l, TRUE);
          gtk_label_set_xalign (GTK_LABEL (l), 1);
          gtk_widget_add_css_class (l, "accent");
          *marker = l;
        }
      gtk_box_append (GTK_BOX (box), l);
    }
  GtkWidget *row = gtk_list_box_row_new ();
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  g_autofree char *a11y = g_strdup_printf ("%s, %s, %s", epoch, loss, auc);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
  return row;
}

static void
clear_log (LensTrainPage *self)
{
  GtkWidget *c;
  while ((c = gtk_widget_get_first_child (GTK_WIDGET (self->log_list))) != NULL)
    gtk_list_box_remove (self->log_list, c);
  g_ptr_array_set_size (self->markers, 0);
  gtk_widget_set_visible (self->log_box, FALSE);
  g_array_set_size (self->epochs, 0);
  queue_chart (self, TRUE);
}

/* Moves finished epochs from the worker's queue into the log and chart. */
static void
drain_epochs (LensTrainPage *self)
{
  if (self->queue == NULL)
    return;
  g_autoptr(GArray) got = NULL;
  g_mutex_lock (&self->queue->lock);
  if (self->queue->pending->len > 0)
    {
      got = self->queue->pending;
      self->queue->pending = g_array_new (FALSE, FALSE, sizeof (EpochEntry));
    }
  g_mutex_unlock (&self->queue->lock);
  if (got == NULL)
    return;
  for (guint i = 0; i < got->len; i++)
    {
      const EpochEntry *e = &g_array_index (got, EpochEntry, i);
      GtkWidget *marker = NULL;
      g_array_append_val (self->epochs, *e);
      /* The engine marks the best epoch so far: only the latest one is
       * the best of the run. */
      if (e->best)
        for (guint k = 0; k < self->markers->len; k++)
          gtk_label_set_text (g_ptr_array_index (self->markers, k), "");
      gtk_list_box_append (self->log_list, log_row (e, &marker));
      g_ptr_array_add (self->markers, marker);
    }
  gtk_widget_set_visible (self->log_box, TRUE);
  queue_chart (self, FALSE);
}

static void
on_job_fraction (LensTrainPage *self)
{
  const double f = lens_job_get_fraction (self->job);
  if (f < 0)
    gtk_progress_bar_pulse (self->progress_bar);
  else
    gtk_progress_bar_set_fraction (self->progress_bar, f);
  drain_epochs (self);
}

static void
on_job_stage (LensTrainPage *self)
{
  const char *stage = lens_job_get_stage (self->job);
  if (stage)
    gtk_label_set_text (self->stage_label, stage);
  drain_epochs (self);
}

static void
set_status (LensTrainPage *self, const char *text, const char *css_class)
{
  g_free (self->status_text);
  self->status_text = g_strdup (text);
  gtk_label_set_text (self->status_label, text ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->status_label), text != NULL);
  static const char *const classes[] = { "success", "warning", "error", "dim-label" };
  for (guint i = 0; i < G_N_ELEMENTS (classes); i++)
    gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), classes[i]);
  if (css_class)
    gtk_widget_add_css_class (GTK_WIDGET (self->status_label), css_class);
}

static void
update_actions (LensTrainPage *self)
{
  const gboolean running = self->job && lens_job_is_running (self->job);
  const gboolean ready = self->session && lens_session_get_dataset (self->session) != NULL;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.start", !running && ready && self->form_valid);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.cancel", running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.defaults", !running);
  gtk_widget_set_sensitive (self->form_box, !running);
}

/* ---- the worker --------------------------------------------------------- */

typedef struct {
  LensSession    *session;     /* keeps the project and dataset alive */
  LensJob        *job;         /* the task's source object */
  EpochQueue     *queue;
  JobKind         kind;
  MsrModelConfig  cfg;
  MsrTrainOptions opts;
  MsrEvalOptions  eval;
  char           *model_path;  /* JOB_EVALUATE: the file to score */
  char           *model_name;
} JobCall;

static void
job_call_free (gpointer p)
{
  JobCall *c = p;
  g_clear_object (&c->session);
  g_clear_pointer (&c->queue, epoch_queue_unref);
  g_free (c->model_path);
  g_free (c->model_name);
  g_free (c);
}

typedef struct {
  JobKind  kind;
  gint64   train_run, eval_run;
  char    *model_path;
  double   seconds;
  guint    n_epochs;
  gboolean has_auc, has_ci;
  double   auc, lo, hi;
  guint64  rows;
} JobOutcome;

static void
job_outcome_free (gpointer p)
{
  JobOutcome *o = p;
  g_free (o->model_path);
  g_free (o);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobOutcome, job_outcome_free)

/* Worker thread, after every batch and every epoch. */
static void
train_progress (const MsrTrainStatus *st, gpointer data)
{
  JobCall *c = data;
  g_autofree char *stage = NULL;
  if (st->finished)
    {
      const MsrEpochLog *e = st->finished;
      EpochEntry entry = { e->epoch, e->train_loss, e->valid_auc, e->valid_logloss, e->best };
      g_mutex_lock (&c->queue->lock);
      g_array_append_val (c->queue->pending, entry);
      g_mutex_unlock (&c->queue->lock);
      stage = g_strdup_printf ("Epoch %u/%u finished · train loss %.4f · validation AUC %.4f%s", e->epoch, st->epochs,
                               e->train_loss, e->valid_auc, e->best ? " (best so far)" : "");
    }
  else
    {
      g_autofree char *rate = lens_format_count ((guint64) (st->rows_per_second + 0.5));
      g_autofree char *eta = format_duration (st->eta_seconds);
      stage = g_strdup_printf ("Epoch %u/%u · batch %" G_GSIZE_FORMAT "/%" G_GSIZE_FORMAT " · loss %.4f · %s rows/s · "
                               "ETA %s", st->epoch, st->epochs, st->batch, st->n_batches, st->loss, rate, eta);
    }
  /* Training is most of the work; the test evaluation follows. */
  lens_job_report (c->job, 0.95 * st->fraction, stage);
}

/* Worker thread, while scoring and bootstrapping. */
static void
eval_progress (double fraction, const char *stage, gpointer data)
{
  JobCall *c = data;
  const double f = fraction < 0 ? -1 : CLAMP (fraction, 0, 1);
  g_autofree char *text = NULL;
  g_autofree char *pct = f >= 0 ? g_strdup_printf (" · %.0f%%", 100 * f) : g_strdup ("");
  if (g_ascii_strcasecmp (stage ? stage : "", "bootstrap") == 0)
    {
      g_autofree char *reps = lens_format_count (c->eval.replicates);
      text = g_strdup_printf ("Bootstrap confidence intervals · %s replicates%s", reps, pct);
      lens_job_report (c->job, f < 0 ? -1 : 0.5 + 0.5 * f, text);
    }
  else
    {
      text = g_strdup_printf ("Scoring %s on the test split%s", c->model_name, pct);
      lens_job_report (c->job, f < 0 ? -1 : 0.5 * f, text);
    }
}

/* The overall test AUC of a recorded run, with its interval. */
static void
read_outcome_metrics (LensSession *session, JobOutcome *o)
{
  g_autoptr(MsrResults) results = msr_results_open (lens_session_get_results_path (session), MSR_RESULTS_READ_ONLY,
                                                    NULL);
  g_autoptr(MsrResultsMetrics) m = results ? msr_results_get_metrics (results, o->eval_run, NULL) : NULL;
  const MsrResultsScopeMetrics *s = m ? msr_results_metrics_find (m, MSR_RESULTS_SCOPE_OVERALL, NULL) : NULL;
  if (s == NULL)
    return;
  o->has_auc = s->metrics.auc_defined;
  o->auc = s->metrics.auc;
  o->rows = s->metrics.n;
  o->has_ci = s->has_ci && s->ci_auc.n_defined > 0;
  o->lo = s->ci_auc.lo;
  o->hi = s->ci_auc.hi;
}

/* The work runs in a thread of its own at a lower priority (nice + 5), so
 * that when it competes with the main thread for a core, the main loop
 * wins; a thread pool's thread could not get its priority back. Threads
 * the engine starts (scoring workers) inherit the priority. */
typedef struct {
  LensJobFunc   func;
  LensJob      *job;
  gpointer      data;
  GCancellable *cancellable;
  GError       *error;
  gpointer      result;
} BackgroundCall;

static gpointer
background_thread (gpointer p)
{
  BackgroundCall *b = p;
#ifdef __linux__
  /* Per thread on Linux; failing leaves the default priority. */
  const id_t tid = (id_t) syscall (SYS_gettid);
  errno = 0;
  const int nice_now = getpriority (PRIO_PROCESS, tid);
  if (errno == 0)
    (void) setpriority (PRIO_PROCESS, tid, MIN (nice_now + 5, 19));
#endif
  b->result = b->func (b->job, b->data, b->cancellable, &b->error);
  return NULL;
}

static gpointer
run_in_background (LensJobFunc func, LensJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  BackgroundCall b = { func, job, data, cancellable, NULL, NULL };
  GThread *thread = g_thread_try_new ("msrlens-train", background_thread, &b, NULL);
  if (thread == NULL)
    return func (job, data, cancellable, error);
  g_thread_join (thread);
  if (b.error)
    g_propagate_error (error, b.error);
  return b.result;
}

static gpointer
train_work (LensJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  JobCall *c = data;
  const gint64 t0 = g_get_monotonic_time ();
  g_autoptr(JobOutcome) o = g_new0 (JobOutcome, 1);
  o->kind = JOB_TRAIN;
  lens_job_report (job, 0, "Building the model");
  if (!msr_pipeline_train_and_evaluate (lens_session_get_project (c->session), lens_session_get_dataset (c->session),
                                        &c->cfg, &c->opts, &c->eval, NULL, &o->model_path, &o->train_run,
                                        &o->eval_run, train_progress, c, cancellable, error))
    return NULL;
  o->seconds = (g_get_monotonic_time () - t0) / 1e6;
  lens_job_report (job, 1, "Reading the new runs");
  read_outcome_metrics (c->session, o);
  return g_steal_pointer (&o);
}

static gpointer
evaluate_work (LensJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  JobCall *c = data;
  const gint64 t0 = g_get_monotonic_time ();
  g_autofree char *stage = g_strdup_printf ("Loading %s", c->model_name);
  lens_job_report (job, -1, stage);
  g_autoptr(GError) local = NULL;
  g_autoptr(MsrModel) model = msr_model_load (c->model_path, &local);
  g_autoptr(MsrEvaluation) ev = NULL;
  if (model != NULL)
    ev = msr_pipeline_evaluate (lens_session_get_project (c->session), lens_session_get_dataset (c->session), model,
                                c->model_path, &c->eval, eval_progress, c, cancellable, &local);
  if (ev == NULL)
    {
      /* Every message names the file (the engine's own may name the
       * dataset instead, e.g. for a model of another dataset). */
      if (!g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED) && strstr (local->message, c->model_path) == NULL &&
          strstr (local->message, c->model_name) == NULL)
        g_prefix_error (&local, "%s: ", c->model_path);
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  g_autoptr(JobOutcome) o = g_new0 (JobOutcome, 1);
  o->kind = JOB_EVALUATE;
  o->eval_run = ev->run_id;
  o->model_path = g_strdup (c->model_path);
  o->seconds = (g_get_monotonic_time () - t0) / 1e6;
  read_outcome_metrics (c->session, o);
  return g_steal_pointer (&o);
}

static gpointer
train_thread (LensJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  return run_in_background (train_work, job, data, cancellable, error);
}

static gpointer
evaluate_thread (LensJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  return run_in_background (evaluate_work, job, data, cancellable, error);
}

/* ---- finishing, on the main thread -------------------------------------- */

static char *
auc_text (const JobOutcome *o)
{
  if (!o->has_auc)
    return g_strdup ("test AUC undefined (one class only)");
  if (o->has_ci)
    return g_strdup_printf ("test AUC %.4f [%.4f, %.4f]", o->auc, o->lo, o->hi);
  return g_strdup_printf ("test AUC %.4f", o->auc);
}

static void
on_job_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(LensTrainPage) self = user_data;
  g_autoptr(GError) error = NULL;
  JobOutcome *o = lens_job_run_finish (LENS_JOB (source), result, &error);
  g_autoptr(JobOutcome) outcome = o;

  if (self->disposed)
    return;
  drain_epochs (self);
  g_clear_pointer (&self->queue, epoch_queue_unref);
  if (self->chart_timeout)
    queue_chart (self, TRUE);
  g_clear_error (&self->last_error);
  self->last_train_run = self->last_eval_run = 0;
  const JobKind kind = self->kind;
  self->kind = JOB_NONE;
  gtk_progress_bar_set_fraction (self->progress_bar, o ? 1.0 : 0.0);

  if (o == NULL)
    {
      self->last_error = g_error_copy (error);
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          gtk_label_set_text (self->stage_label, "Cancelled.");
          set_status (self, "Cancelled; nothing was saved.", "warning");
        }
      else
        {
          g_autofree char *line = g_strdup_printf ("%s failed: %s", kind == JOB_EVALUATE ? "Scoring" : "Training",
                                                   error->message);
          gtk_label_set_text (self->stage_label, "Failed.");
          set_status (self, line, "error");
          lens_page_report_error (LENS_PAGE (self), error->message);
        }
      update_actions (self);
      return;
    }

  self->last_train_run = o->train_run;
  self->last_eval_run = o->eval_run;
  g_autofree char *auc = auc_text (o);
  g_autofree char *took = format_duration (o->seconds);
  g_autofree char *name = o->model_path ? g_path_get_basename (o->model_path) : g_strdup ("the model");
  g_autofree char *line = NULL;
  if (o->kind == JOB_TRAIN)
    {
      int best = -1;
      for (guint k = 0; k < self->epochs->len; k++)
        if (g_array_index (self->epochs, EpochEntry, k).best)
          best = (int) g_array_index (self->epochs, EpochEntry, k).epoch;
      g_autofree char *best_text = best > 0 ? g_strdup_printf (", best epoch %d", best) : g_strdup ("");
      line = g_strdup_printf ("Trained %s in %s (%u epoch%s%s): %s. Runs #%" G_GINT64_FORMAT " (training) and #%"
                              G_GINT64_FORMAT " (evaluation) are on the Runs page.",
                              name, took, self->epochs->len, self->epochs->len == 1 ? "" : "s", best_text, auc,
                              o->train_run, o->eval_run);
    }
  else
    {
      g_autofree char *rows = lens_format_count (o->rows);
      line = g_strdup_printf ("Scored %s on %s test rows in %s: %s. Run #%" G_GINT64_FORMAT " is on the Runs page.",
                              name, rows, took, auc, o->eval_run);
    }
  gtk_label_set_text (self->stage_label, "Done.");
  set_status (self, line, "success");
  update_actions (self);
  if (self->session)
    lens_session_refresh_runs (self->session);
}

static void
start_job (LensTrainPage *self, JobCall *c, LensJobFunc func, const char *first_stage)
{
  self->kind = c->kind;
  g_clear_pointer (&self->queue, epoch_queue_unref);
  self->queue = epoch_queue_new ();
  c->queue = g_atomic_rc_box_acquire (self->queue);
  c->session = g_object_ref (self->session);
  c->job = self->job;
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  clear_log (self);
  set_status (self, NULL, NULL);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_label_set_text (self->stage_label, first_stage);
  lens_job_run_async (self->job, func, c, job_call_free, job_outcome_free, self->cancellable, on_job_done,
                      g_object_ref (self));
  update_actions (self);
}

static gboolean
check_can_start (LensTrainPage *self)
{
  if (lens_job_is_running (self->job))
    {
      lens_page_report_error (LENS_PAGE (self), "A training or scoring job is already running: wait for it or "
                                                "cancel it first.");
      return FALSE;
    }
  if (self->session == NULL || lens_session_get_dataset (self->session) == NULL)
    {
      lens_page_report_error (LENS_PAGE (self), "The project's dataset is not loaded yet.");
      return FALSE;
    }
  return TRUE;
}

void
lens_train_page_start (LensTrainPage *self)
{
  g_return_if_fail (LENS_IS_TRAIN_PAGE (self));
  if (!check_can_start (self))
    return;
  JobCall *c = g_new0 (JobCall, 1);
  c->kind = JOB_TRAIN;
  if (!lens_train_page_get_settings (self, &c->cfg, &c->opts))
    {
      job_call_free (c);
      validate_form (self);
      return;
    }
  msr_eval_options_init (&c->eval);
  /* Scoring and bootstrap use the threads the form gives for training. */
  c->eval.threads = MAX (c->opts.threads, 1);
  g_autofree char *first = g_strdup_printf ("Starting %s…", arch_title (c->cfg.arch));
  start_job (self, c, train_thread, first);
}

void
lens_train_page_evaluate_model (LensTrainPage *self, GFile *model_file)
{
  g_return_if_fail (LENS_IS_TRAIN_PAGE (self));
  g_return_if_fail (G_IS_FILE (model_file));
  g_autofree char *path = g_file_get_path (model_file);
  if (path == NULL)
    {
      g_autofree char *uri = g_file_get_uri (model_file);
      g_autofree char *msg = g_strdup_printf ("%s: only local model files can be scored", uri);
      lens_page_report_error (LENS_PAGE (self), msg);
      return;
    }
  if (!check_can_start (self))
    return;
  JobCall *c = g_new0 (JobCall, 1);
  c->kind = JOB_EVALUATE;
  c->model_path = g_steal_pointer (&path);
  c->model_name = g_path_get_basename (c->model_path);
  msr_eval_options_init (&c->eval);
  c->eval.split = MSR_SPLIT_TEST;
  c->eval.replicates = 1000;
  c->eval.record = TRUE;
  c->eval.predictions = TRUE;
  c->eval.threads = (guint) MAX (gtk_spin_button_get_value_as_int (self->threads_spin), 1);
  g_autofree char *first = g_strdup_printf ("Scoring %s…", c->model_name);
  start_job (self, c, evaluate_thread, first);
}

void
lens_train_page_cancel (LensTrainPage *self)
{
  g_return_if_fail (LENS_IS_TRAIN_PAGE (self));
  if (self->cancellable && lens_job_is_running (self->job))
    {
      g_cancellable_cancel (self->cancellable);
      gtk_label_set_text (self->stage_label, "Cancelling…");
    }
}

/* ---- actions ------------------------------------------------------------ */

static void
start_action (GtkWidget *widget, const char *name, GVariant *param)
{
  lens_train_page_start (LENS_TRAIN_PAGE (widget));
}

static void
cancel_action (GtkWidget *widget, const char *name, GVariant *param)
{
  lens_train_page_cancel (LENS_TRAIN_PAGE (widget));
}

static void
defaults_action (GtkWidget *widget, const char *name, GVariant *param)
{
  LensTrainPage *self = LENS_TRAIN_PAGE (widget);
  apply_model_defaults (self, selected_arch (self));
  apply_train_defaults (self);
  validate_form (self);
}

/* ---- LensPage ----------------------------------------------------------- */

static void
set_session (LensPage *page, LensSession *session)
{
  LensTrainPage *self = LENS_TRAIN_PAGE (page);
  if (self->session == session)
    return;
  g_set_object (&self->session, session);
  g_autofree char *intro = NULL;
  if (session)
    intro = g_strdup_printf ("Trains on the training rows of %s, stops early when the validation AUC no longer "
                             "improves (the best epoch is kept), saves the model in models/ and evaluates it on the "
                             "test split with 1,000 bootstrap replicates. Both runs appear on the Runs page. To score "
                             "an existing model file, drop it on the window.",
                             lens_session_get_description (session));
  else
    intro = g_strdup ("Open a project to train a backbone on its dataset.");
  gtk_label_set_text (self->intro_label, intro);
  update_actions (self);
}

static LensChart *
get_chart (LensPage *page)
{
  return lens_chart_view_get_chart (LENS_TRAIN_PAGE (page)->chart_view);
}

static LensTable *
get_table (LensPage *page)
{
  return NULL;
}

static void
lens_train_page_iface_init (LensPageInterface *iface)
{
  iface->set_session = set_session;
  iface->get_chart = get_chart;
  iface->get_table = get_table;
}

/* ---- GObject ------------------------------------------------------------ */

static void
lens_train_page_dispose (GObject *object)
{
  LensTrainPage *self = LENS_TRAIN_PAGE (object);
  self->disposed = TRUE;
  g_clear_handle_id (&self->chart_timeout, g_source_remove);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->job)
    g_signal_handlers_disconnect_by_data (self->job, self);
  g_clear_object (&self->job);
  g_clear_object (&self->session);
  g_clear_pointer (&self->queue, epoch_queue_unref);
  /* AdwBin unparents the template's child itself (disposing the template
   * here as well would unparent it twice). */
  G_OBJECT_CLASS (lens_train_page_parent_class)->dispose (object);
}

static void
lens_train_page_finalize (GObject *object)
{
  LensTrainPage *self = LENS_TRAIN_PAGE (object);
  g_array_unref (self->epochs);
  g_ptr_array_unref (self->markers);
  g_clear_error (&self->last_error);
  g_free (self->status_text);
  G_OBJECT_CLASS (lens_train_page_parent_class)->finalize (object);
}

static void
lens_train_page_class_init (LensTrainPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lens_train_page_dispose;
  object_class->finalize = lens_train_page_finalize;

  lens_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class, MSR_RESOURCE_PATH "/ui/lens-train-page.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, LensTrainPage, name)
  BIND (intro_label);
  BIND (form_box);
  BIND (backbone_row);
  BIND (embed_spin);
  BIND (hidden_row);
  BIND (tower_row);
  BIND (dropout_spin);
  BIND (batchnorm_switch);
  BIND (scenario_switch);
  BIND (dims_error_label);
  BIND (epochs_spin);
  BIND (patience_spin);
  BIND (batch_spin);
  BIND (optimizer_row);
  BIND (lr_spin);
  BIND (wd_spin);
  BIND (seed_spin);
  BIND (threads_spin);
  BIND (progress_bar);
  BIND (stage_label);
  BIND (status_label);
  BIND (chart_box);
  BIND (log_box);
  BIND (log_list);
#undef BIND

  gtk_widget_class_install_action (widget_class, "train.start", NULL, start_action);
  gtk_widget_class_install_action (widget_class, "train.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "train.defaults", NULL, defaults_action);
}

static void
lens_train_page_init (LensTrainPage *self)
{
  self->epochs = g_array_new (FALSE, FALSE, sizeof (EpochEntry));
  self->markers = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));

  /* The backbones, in the engine's order. */
  g_auto(GStrv) names = g_strsplit (msr_arch_list (), "|", -1);
  GtkStringList *titles = gtk_string_list_new (NULL);
  for (char **n = names; *n && self->n_archs < MSR_N_ARCHS; n++)
    {
      MsrArch arch;
      if (!msr_arch_from_string (*n, &arch))
        continue;
      self->archs[self->n_archs++] = arch;
      gtk_string_list_append (titles, arch_title (arch));
    }
  adw_combo_row_set_model (self->backbone_row, G_LIST_MODEL (titles));
  g_object_unref (titles);
  for (guint i = 0; i < self->n_archs; i++)
    if (self->archs[i] == MSR_ARCH_STAR)
      adw_combo_row_set_selected (self->backbone_row, i);

  gtk_adjustment_set_upper (gtk_spin_button_get_adjustment (self->threads_spin), MAX (g_get_num_processors (), 1));
  apply_model_defaults (self, selected_arch (self));
  apply_train_defaults (self);

  self->chart_view = LENS_CHART_VIEW (lens_chart_view_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (self->chart_view), FALSE);
  gtk_widget_set_size_request (GTK_WIDGET (self->chart_view), 360, 300);
  gtk_box_append (self->chart_box, GTK_WIDGET (self->chart_view));
  gtk_widget_set_visible (GTK_WIDGET (self->chart_box), FALSE);

  self->job = lens_job_new ("Training");
  g_signal_connect_swapped (self->job, "notify::fraction", G_CALLBACK (on_job_fraction), self);
  g_signal_connect_swapped (self->job, "notify::stage", G_CALLBACK (on_job_stage), self);
  g_signal_connect_swapped (self->job, "notify::running", G_CALLBACK (update_actions), self);

  g_signal_connect_swapped (self->backbone_row, "notify::selected", G_CALLBACK (on_backbone_changed), self);
  g_signal_connect_swapped (self->hidden_row, "changed", G_CALLBACK (validate_form), self);
  g_signal_connect_swapped (self->tower_row, "changed", G_CALLBACK (validate_form), self);
  set_session (LENS_PAGE (self), NULL);
  validate_form (self);
}

GtkWidget *
lens_train_page_new (void)
{
  return g_object_new (LENS_TYPE_TRAIN_PAGE, NULL);
}

gboolean
lens_train_page_is_running (LensTrainPage *self)
{
  g_return_val_if_fail (LENS_IS_TRAIN_PAGE (self), FALSE);
  return lens_job_is_running (self->job);
}

LensJob *
lens_train_page_get_job (LensTrainPage *self)
{
  g_return_val_if_fail (LENS_IS_TRAIN_PAGE (self), NULL);
  return self->job;
}

void
lens_train_page_set_backbone (LensTrainPage *self, MsrArch arch)
{
  g_return_if_fail (LENS_IS_TRAIN_PAGE (self));
  for (guint i = 0; i < self->n_archs; i++)
    if (self->archs[i] == arch)
      adw_combo_row_set_selected (self->backbone_row, i);
}

void
lens_train_page_set_epochs (LensTrainPage *self, guint epochs)
{
  g_return_if_fail (LENS_IS_TRAIN_PAGE (self));
  gtk_spin_button_set_value (self->epochs_spin, epochs);
}

void
lens_train_page_set_batch_size (LensTrainPage *self, guint batch_size)
{
  g_return_if_fail (LENS_IS_TRAIN_PAGE (self));
  gtk_spin_button_set_value (self->batch_spin, batch_size);
}

void
lens_train_page_set_patience (LensTrainPage *self, guint patience)
{
  g_return_if_fail (LENS_IS_TRAIN_PAGE (self));
  gtk_spin_button_set_value (self->patience_spin, patience);
}

void
lens_train_page_set_embed_dim (LensTrainPage *self, guint embed_dim)
{
  g_return_if_fail (LENS_IS_TRAIN_PAGE (self));
  gtk_spin_button_set_value (self->embed_spin, embed_dim);
}

gboolean
lens_train_page_set_hidden (LensTrainPage *self, const char *text)
{
  g_return_val_if_fail (LENS_IS_TRAIN_PAGE (self), FALSE);
  gtk_editable_set_text (GTK_EDITABLE (self->hidden_row), text ? text : "");
  validate_form (self);
  return self->form_valid;
}

const GError *
lens_train_page_get_last_error (LensTrainPage *self)
{
  g_return_val_if_fail (LENS_IS_TRAIN_PAGE (self), NULL);
  return self->last_error;
}

void
lens_train_page_get_last_runs (LensTrainPage *self, gint64 *train_run, gint64 *eval_run)
{
  g_return_if_fail (LENS_IS_TRAIN_PAGE (self));
  if (train_run)
    *train_run = self->last_train_run;
  if (eval_run)
    *eval_run = self->last_eval_run;
}

const char *
lens_train_page_get_status_text (LensTrainPage *self)
{
  g_return_val_if_fail (LENS_IS_TRAIN_PAGE (self), NULL);
  return self->status_text;
}

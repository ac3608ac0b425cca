/* lens-correlations-page.h: the Scenario Correlations page. The
 * scenario × scenario matrices side by side on one colour scale — what the
 * LLM's knowledge says (cosine of scenario vectors), what the data show
 * (users' click rates, shared users), the planted truth of a simulated
 * world, and what a chosen model learned — with the Mantel test between
 * every two; a click on a cell shows the scenario-level knowledge texts of
 * that pair. Every figure comes from msr_explain_correlations. */
#pragma once

#include <adwaita.h>
#include "lens-page.h"
#include "msr-explain.h"

G_BEGIN_DECLS

#define LENS_TYPE_CORRELATIONS_PAGE (lens_correlations_page_get_type ())
G_DECLARE_FINAL_TYPE (LensCorrelationsPage, lens_correlations_page, LENS, CORRELATIONS_PAGE, AdwBin)

GtkWidget                  *lens_correlations_page_new        (void);
/* The report shown, or NULL (none yet or computing). */
const MsrCorrelationReport *lens_correlations_page_get_report (LensCorrelationsPage *self);
gboolean                    lens_correlations_page_is_busy    (LensCorrelationsPage *self);
/* Shows the pair (a, b) of scenarios as a click on that cell would. */
void                        lens_correlations_page_select_pair (LensCorrelationsPage *self, guint a, guint b);
const char                 *lens_correlations_page_get_pair_text (LensCorrelationsPage *self);
/* The knowledge text shown for the pair's first (i = 0) or second (1)
 * scenario, as plain text. */
const char                 *lens_correlations_page_get_pair_knowledge (LensCorrelationsPage *self, guint i);
/* The run whose model the learned matrix shows (0: none). Setting it
 * recomputes as choosing it under "Learned by" does; FALSE (nothing
 * changes) when the page does not offer the run. */
gint64                      lens_correlations_page_get_model_run (LensCorrelationsPage *self);
gboolean                    lens_correlations_page_set_model_run (LensCorrelationsPage *self, gint64 run);
/* The chart views, one per matrix, in report order. */
GPtrArray                  *lens_correlations_page_get_views  (LensCorrelationsPage *self);

G_END_DECLS

/* lens-meta-page.h: the Meta Weights page: an LLM4MSR model's generated
 * layers. A scenario's layer of the scenario branch (or the difference of
 * two scenarios'), a user's user-level layer (minus the population's, or
 * minus another user's), the singular-value spectrum of what is shown, and
 * every user's layer projected on two principal axes, coloured by the
 * user's dominant scenario or by the user's AUC. The numbers come from the
 * engine (msr-explain.h, msr_model_meta_*). */
#pragma once

#include <adwaita.h>
#include "lens-page.h"

G_BEGIN_DECLS

#define LENS_TYPE_META_PAGE (lens_meta_page_get_type ())
G_DECLARE_FINAL_TYPE (LensMetaPage, lens_meta_page, LENS, META_PAGE, AdwBin)

GtkWidget  *lens_meta_page_new            (void);
gboolean    lens_meta_page_is_busy        (LensMetaPage *self);
/* Whether a model is loaded and its views drawn. */
gboolean    lens_meta_page_is_ready       (LensMetaPage *self);
/* Shows user a (and b, NULL = the population) in the user views. */
void        lens_meta_page_show_users     (LensMetaPage *self, const char *a, const char *b);
LensChart  *lens_meta_page_get_user_chart (LensMetaPage *self);
LensChart  *lens_meta_page_get_map_chart  (LensMetaPage *self);
LensChart  *lens_meta_page_get_scenario_chart (LensMetaPage *self);
LensChart  *lens_meta_page_get_spectrum_chart (LensMetaPage *self);
/* Shows scenario a's layer minus scenario b's (b < 0: nothing), as
 * choosing them in the dropdowns does. */
void        lens_meta_page_show_scenarios (LensMetaPage *self, guint a, int b);
LensChart  *lens_meta_page_get_scenario_spectrum_chart (LensMetaPage *self);
/* Chooses the run as the model dropdown does; FALSE (nothing changes)
 * when the page does not offer it: only LLM4MSR models have meta layers. */
gboolean    lens_meta_page_set_run        (LensMetaPage *self, gint64 run);
/* What the page says beside or instead of the layers (a user not in the
 * model, why the projection is missing, that the project has no LLM4MSR
 * model), or NULL. */
const char *lens_meta_page_get_message    (LensMetaPage *self);

G_END_DECLS

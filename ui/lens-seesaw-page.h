/* lens-seesaw-page.h: the Seesaw page. Run B against the reference run A
 * per scenario (method spec 6.6): ΔAUC with bootstrap intervals and DeLong
 * p-values as a diverging bar chart, Δ against scenario size, the seesaw
 * indicators and, when other seeds were evaluated, mean ± std over seeds.
 * Every figure is a field of the engine's MsrSeesaw / MsrSeesawSeeds,
 * computed with the defaults of `msrlens-cli seesaw`, so the page and the
 * command line agree to the last digit. */
#pragma once

#include <adwaita.h>
#include "lens-page.h"
#include "msr-seesaw.h"

G_BEGIN_DECLS

#define LENS_TYPE_SEESAW_PAGE (lens_seesaw_page_get_type ())
G_DECLARE_FINAL_TYPE (LensSeesawPage, lens_seesaw_page, LENS, SEESAW_PAGE, AdwBin)

GtkWidget            *lens_seesaw_page_new        (void);

/* Compares run b against the reference run a (evaluation runs with stored
 * predictions). Before the session's runs are in, the pair is remembered
 * and applied when they arrive. */
void                  lens_seesaw_page_set_pair   (LensSeesawPage *self,
                                                   gint64          a,
                                                   gint64          b);
gint64                lens_seesaw_page_get_run_a  (LensSeesawPage *self);
gint64                lens_seesaw_page_get_run_b  (LensSeesawPage *self);

/* TRUE while the comparison runs (a worker thread). */
gboolean              lens_seesaw_page_is_busy    (LensSeesawPage *self);
/* The comparison shown, or NULL (none yet, running, or failed). */
const MsrSeesaw      *lens_seesaw_page_get_seesaw (LensSeesawPage *self);
/* The multi-seed summary shown, or NULL. */
const MsrSeesawSeeds *lens_seesaw_page_get_seeds  (LensSeesawPage *self);
/* The seesaw verdict in words ("Seesaw: B gains in ... and loses in ..."). */
const char           *lens_seesaw_page_get_verdict (LensSeesawPage *self);
/* The last error shown on the page, or NULL. */
const char           *lens_seesaw_page_get_error  (LensSeesawPage *self);

G_END_DECLS

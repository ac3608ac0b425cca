/* lens-truth-section.h: the "Planted truth" part of the Overview page for
 * simulated projects. It puts the scenario correlation that was planted
 * next to the one the clicks show (with the Mantel test between them), and
 * the planted per-scenario difficulty next to what the selected runs
 * reached. Hidden for projects that are not simulated. Emits "ready" when
 * the comparison is shown. */
#pragma once

#include <adwaita.h>
#include "lens-chart.h"
#include "lens-session.h"
#include "lens-table.h"

G_BEGIN_DECLS

#define LENS_TYPE_TRUTH_SECTION (lens_truth_section_get_type ())
G_DECLARE_FINAL_TYPE (LensTruthSection, lens_truth_section, LENS, TRUTH_SECTION, AdwBin)

GtkWidget  *lens_truth_section_new         (void);
/* Shows session's planted truth (computed in a thread), or hides itself
 * when the project is not simulated or session is NULL. */
void        lens_truth_section_set_session (LensTruthSection *self,
                                            LensSession      *session);
/* Whether the comparison is computed and shown. */
gboolean    lens_truth_section_is_ready    (LensTruthSection *self);
LensChart  *lens_truth_section_get_planted_chart  (LensTruthSection *self);
LensChart  *lens_truth_section_get_observed_chart (LensTruthSection *self);
LensTable  *lens_truth_section_get_table   (LensTruthSection *self);
/* The Mantel line and the rank agreement of each selected run, as shown. */
const char *lens_truth_section_get_caption (LensTruthSection *self);
const char *lens_truth_section_get_agreement (LensTruthSection *self);

G_END_DECLS

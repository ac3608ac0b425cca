/* lens-users-page.h: the Users page. Find a user by id: what the LLM
 * wrote about them (rendered Markdown), their nearest users by knowledge
 * vector, their history per scenario, a chosen model's predictions on
 * their test rows, and, for an LLM4MSR model, how much the user's own
 * generated layer moves each prediction against the population's layer
 * (Δ logit). The numbers come from the engine (msr-explain.h,
 * msr-knowledge.h). */
#pragma once

#include <adwaita.h>
#include "lens-page.h"

G_BEGIN_DECLS

#define LENS_TYPE_USERS_PAGE (lens_users_page_get_type ())
G_DECLARE_FINAL_TYPE (LensUsersPage, lens_users_page, LENS, USERS_PAGE, AdwBin)

GtkWidget  *lens_users_page_new          (void);
void        lens_users_page_show_user    (LensUsersPage *self, const char *user);
gboolean    lens_users_page_is_busy      (LensUsersPage *self);
/* The user shown (NULL before one is), the profile text shown (Markdown
 * source), and the user's AUC on the chosen run's test rows (NaN when
 * undefined or no run). */
const char *lens_users_page_get_user     (LensUsersPage *self);
const char *lens_users_page_get_profile  (LensUsersPage *self);
double      lens_users_page_get_user_auc (LensUsersPage *self);
/* The message shown (a user not found, why a figure is missing), or
 * NULL; the user's summary line (rows and positive rate per scenario, the
 * AUC), as plain text. */
const char *lens_users_page_get_message  (LensUsersPage *self);
const char *lens_users_page_get_facts    (LensUsersPage *self);
/* Nearest users shown, as "id (cosine)" strings. */
char      **lens_users_page_get_nearest  (LensUsersPage *self);
/* Focuses the search entry (Ctrl+F). */
void        lens_users_page_focus_search (LensUsersPage *self);

G_END_DECLS

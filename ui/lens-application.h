/* lens-application.h: the MSR Lens application: app-wide actions
 * (open, about, shortcuts, quit), settings, and one window per project. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define LENS_TYPE_APPLICATION (lens_application_get_type ())
G_DECLARE_FINAL_TYPE (LensApplication, lens_application, LENS, APPLICATION, AdwApplication)

/* flags normally G_APPLICATION_HANDLES_OPEN; tests add NON_UNIQUE. */
LensApplication *lens_application_new          (const char        *application_id,
                                                GApplicationFlags  flags);

/* The application's settings (schema id = MSR_APP_ID), or NULL when the
 * schema is not installed, e.g. when run from the build tree without
 * GSETTINGS_SCHEMA_DIR: the window then simply does not remember its size. */
GSettings       *lens_application_get_settings (LensApplication *self);

G_END_DECLS

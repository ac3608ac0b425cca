/* lens-ui.h: things every part of the window needs before it is built. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Registers the gresource bundle (templates, CSS, icons, shortcuts window)
 * once per process. Called from the class_init of every templated widget
 * and of the application, so any of them can be built first. */
void lens_ui_ensure_resources (void);

G_END_DECLS

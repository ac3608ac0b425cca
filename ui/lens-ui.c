/* lens-ui.c: things every part of the window needs before it is built. */
#include "lens-ui.h"
#include "lens-resources.h"

void
lens_ui_ensure_resources (void)
{
  static gsize registered = 0;

  if (g_once_init_enter (&registered))
    {
      lens_register_resource ();
      g_once_init_leave (&registered, 1);
    }
}

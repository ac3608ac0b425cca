/* msrlens: the MSR Lens workbench. `msrlens [PROJECT-FOLDER…]` */
#include "config.h"

#include "lens-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(LensApplication) app = NULL;

  g_set_application_name (MSR_APP_NAME);
  app = lens_application_new (MSR_APP_ID, G_APPLICATION_HANDLES_OPEN);
  return g_application_run (G_APPLICATION (app), argc, argv);
}

/* lens-page.c: the LensPage interface. */
#include "lens-page.h"

G_DEFINE_INTERFACE (LensPage, lens_page, GTK_TYPE_WIDGET)

static void
lens_page_default_init (LensPageInterface *iface)
{
  g_signal_new ("error", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                G_TYPE_NONE, 1, G_TYPE_STRING);
}

void
lens_page_set_session (LensPage *page, LensSession *session)
{
  g_return_if_fail (LENS_IS_PAGE (page));
  LENS_PAGE_GET_IFACE (page)->set_session (page, session);
}

LensChart *
lens_page_get_chart (LensPage *page)
{
  LensPageInterface *iface = LENS_PAGE_GET_IFACE (page);
  return iface->get_chart ? iface->get_chart (page) : NULL;
}

LensTable *
lens_page_get_table (LensPage *page)
{
  LensPageInterface *iface = LENS_PAGE_GET_IFACE (page);
  return iface->get_table ? iface->get_table (page) : NULL;
}

void
lens_page_report_error (LensPage *page, const char *message)
{
  g_signal_emit_by_name (page, "error", message);
}

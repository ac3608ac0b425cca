/* lens-page.h: what the window asks of each page of the workbench. A page
 * shows one aspect of the open project (LensSession); the window's Export
 * button exports the page's chart or table, whichever it offers. */
#pragma once

#include <gtk/gtk.h>
#include "lens-chart.h"
#include "lens-session.h"
#include "lens-table.h"

G_BEGIN_DECLS

#define LENS_TYPE_PAGE (lens_page_get_type ())
G_DECLARE_INTERFACE (LensPage, lens_page, LENS, PAGE, GtkWidget)

struct _LensPageInterface
{
  GTypeInterface parent_iface;

  /* Shows session (NULL: none). Pages connect to "runs-changed" and
   * "selection-changed" themselves and must disconnect on a new session. */
  void        (*set_session)     (LensPage *page, LensSession *session);
  /* The chart the Export button writes (nullable). */
  LensChart  *(*get_chart)       (LensPage *page);
  /* The table the Export button writes as CSV and Copy copies (nullable). */
  LensTable  *(*get_table)       (LensPage *page);
};

void        lens_page_set_session (LensPage *page, LensSession *session);
LensChart  *lens_page_get_chart   (LensPage *page);
LensTable  *lens_page_get_table   (LensPage *page);

/* A page reports a problem (a message naming the file and what is wrong):
 * the window shows it in its banner. Pages emit it with
 * lens_page_report_error. */
void        lens_page_report_error (LensPage *page, const char *message);

G_END_DECLS

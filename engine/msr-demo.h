/* msr-demo.h: the demo project, built on first use.
 *
 * The demo is MovieLens-100K with genre scenarios and the u1 split, in
 * g_get_user_data_dir()/msrlens/demo. MovieLens is found, in this order:
 * the folder the caller names, $MSR_MOVIELENS_DIR, the folder an earlier
 * `msrlens-cli data fetch` made, or a download of the official archive
 * (verified against GroupLens's checksum; $MSR_MOVIELENS_URL names a
 * mirror, which must serve the same archive). */
#pragma once

#include <gio/gio.h>
#include "msr-error.h"

G_BEGIN_DECLS

/* The demo project folder (not created). Free with g_free. */
char    *msr_demo_get_dir       (void);

/* Returns the demo project folder, creating the project (and getting the
 * data) when it does not exist yet. movielens_dir may be NULL. */
char    *msr_demo_prepare       (const char       *movielens_dir,
                                 MsrProgressFunc   progress,
                                 gpointer          progress_data,
                                 GCancellable     *cancellable,
                                 GError          **error);

G_END_DECLS

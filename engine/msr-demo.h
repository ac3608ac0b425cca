/* msr-demo.h: the demo project, built on first use.
 *
 * The demo is MovieLens-100K with genre scenarios and the u1 split, in
 * g_get_user_data_dir()/msrlens/demo. MovieLens is found, in this order:
 * the folder the caller names, $MSR_MOVIELENS_DIR, the folder an earlier
 * `msrlens-cli data fetch` made, or a download of the official archive
 * (verified against GroupLens's checksum; $MSR_MOVIELENS_URL names a
 * mirror, which must serve the same archive). Without any, the demo is a
 * simulated world in g_get_user_data_dir()/msrlens/demo-simulated, with
 * its planted knowledge.
 *
 * Knowledge for LLM4MSR: the LLM-written MovieLens-100K user profiles and
 * movie descriptions (users_structured_100k.csv, movies_structured_100K.csv)
 * from the folder the caller names or $MSR_KNOWLEDGE_DIR are imported and
 * encoded; then STAR with LLM4MSR is trained too. Without them the demo
 * has no LLM4MSR model and *note says how to add one. */
#pragma once

#include <gio/gio.h>
#include "msr-error.h"

G_BEGIN_DECLS

/* The demo project folder (not created). Free with g_free. */
char    *msr_demo_get_dir       (void);

/* The simulated demo's folder, used when no MovieLens copy can be had. */
char    *msr_demo_get_simulated_dir (void);

/* Returns the demo project folder, creating the project (and getting the
 * data) when it does not exist yet, then training and evaluating every
 * demo model it lacks (separate DNNs, Shared-Bottom, MMoE, PLE, STAR,
 * PEPNet, the popularity baseline, and STAR + LLM4MSR when there is
 * knowledge); an interrupted build resumes. When no MovieLens copy can be
 * found or downloaded, the demo is a simulated world (msr-simulate.h)
 * instead, and *note (nullable) says why. */
char    *msr_demo_prepare       (const char       *movielens_dir,
                                 const char       *knowledge_dir,
                                 char            **note,
                                 MsrProgressFunc   progress,
                                 gpointer          progress_data,
                                 GCancellable     *cancellable,
                                 GError          **error);

G_END_DECLS

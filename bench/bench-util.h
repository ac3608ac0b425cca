/* bench-util.h: what the benchmarks share: clocks, and how busy the machine
 * was, which the output reports since other work skews the figures. */
#pragma once

#include <glib.h>
#include <sys/resource.h>

static inline double
bench_now_seconds (void)
{
  return g_get_monotonic_time () / 1e6;
}

/* The first three fields of /proc/loadavg. */
static inline char *
bench_load_average (void)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) parts = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return g_strdup ("unknown");
  parts = g_strsplit (g_strstrip (text), " ", 4);
  if (g_strv_length (parts) < 3)
    return g_strdup ("unknown");
  return g_strdup_printf ("%s %s %s", parts[0], parts[1], parts[2]);
}

/* User plus system CPU time of this process. */
static inline double
bench_cpu_seconds (void)
{
  struct rusage u;

  getrusage (RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

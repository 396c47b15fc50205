/* The clocks the benchmark clients read: wall-clock and CPU time of their
 * timed loops. Header-only: each client is one program of its own. */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H

#include <sys/resource.h>
#include <time.h>

static inline double clock_of(clockid_t id)
{
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This process's user-space CPU time. The kernel splits its precise total
 * (CLOCK_PROCESS_CPUTIME_ID) into user and system time in proportion to
 * the ticks it sampled in each, so over a run of seconds the split is
 * good to a fraction of a per cent of the total: enough to tell the
 * library's own cost from the kernel's. */
static inline double user_seconds(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
}

#endif

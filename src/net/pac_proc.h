/* PAC helper processes (helpers/pac/): a PAC script is evaluated in a
 * child process the library starts, talks to over a socket pair
 * (proto/pac_wire.h) and kills when an answer is late, so that a script
 * that loops, allocates without end or blocks in a name lookup cannot hang
 * or exhaust the application (helpers/pac/main.c lists the limits the
 * helper sets on itself).
 *
 * Started with posix_spawn (never fork: this is a multithreaded library),
 * with standard input the socket, output to /dev/null, an empty signal
 * mask, default signal actions, and an environment of a few resolver, time
 * zone and sanitizer variables only.
 *
 * Where the helper is: next to the shared library itself (dladdr), at the
 * install layout's relative path from the library directory to
 * ${CMAKE_INSTALL_LIBEXECDIR}/openwinhttp/, so an installed tree can be
 * moved; then directly beside the library (the build tree); then the
 * absolute path compiled in. No environment variable is consulted, so a
 * set-user-ID program cannot be made to run another program.
 *
 * Blocking: every call waits (poll) until its deadline at most, then kills
 * the helper. Callers run them on autoproxy worker threads
 * (core/autoproxy.h), never on a loop thread. One helper serves one thread
 * at a time. */
#ifndef WH_NET_PAC_PROC_H
#define WH_NET_PAC_PROC_H

#include <stddef.h>
#include <stdint.h>

#include <winhttp.h>

struct wh_pac_proc;

/* Starts a helper and loads the |len| bytes of |script| into it, waiting
 * until |deadline| (monotonic ms, net/wait.h) at most, or until
 * |cancel_fd| (an eventfd, or -1) is signalled: then
 * ERROR_WINHTTP_OPERATION_CANCELLED and the helper is killed. On success
 * *out is the helper, ready for queries. Errors:
 * ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT
 * (the script does not load: a syntax error or exception, no
 * FindProxyForURL, too large, or the helper died or overran the
 * deadline), ERROR_WINHTTP_AUTO_PROXY_SERVICE_ERROR (no helper could be
 * started: not installed, no process left), ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_pac_proc_start(const char *script, size_t len, int64_t deadline, int cancel_fd,
                        struct wh_pac_proc **out);

/* Asks the helper for FindProxyForURL(|url|, |host|), waiting as
 * wh_pac_proc_start does. On success *answer is the script's answer,
 * NUL-terminated (wh_free). Errors: ERROR_WINHTTP_OPERATION_CANCELLED,
 * ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT (an exception, an answer that is not
 * a string, the deadline passed, the helper died; the helper is then of no
 * further use: wh_pac_proc_free it), ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_pac_proc_query(struct wh_pac_proc *p, const char *url, const char *host,
                        int64_t deadline, int cancel_fd, char **answer);

/* Kills the helper (SIGKILL), reaps it and frees |p|. NULL is fine. */
void wh_pac_proc_free(struct wh_pac_proc *p);

/* Test hooks: the number of helpers started so far and of those alive. */
unsigned wh_pac_proc_started(void);
unsigned wh_pac_proc_alive(void);

#endif

/* Name resolution that honours the resolve timeout and can be abandoned.
 *
 * getaddrinfo() cannot be interrupted, so a name that is neither an IP
 * literal nor cached is looked up on a helper thread that signals each
 * requester's eventfd when done; the requesting thread (or loop) waits on
 * that fd with its deadline and cancellation fd like on any socket
 * (ARCHITECTURE-NOTES §5 allows "threaded getaddrinfo"). Requests for a
 * name already being looked up join that lookup; at most four helpers run
 * at once (more names queue), and a helper ends when no name waits. A
 * timed-out or cancelled request abandons its job; the lookup goes on for
 * the others and for the cache. Results are cached process-wide for a
 * minute, which is also why Windows skips RESOLVING_NAME for a host it has
 * just resolved. */
#ifndef WH_NET_RESOLVE_H
#define WH_NET_RESOLVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <winhttp.h>

struct wh_addr {
  socklen_t len;
  struct sockaddr_storage sa;
};

/* Resolved addresses in the order to try them; owned by the caller
 * (wh_free). */
struct wh_addrs {
  size_t n;
  struct wh_addr a[];
};

struct wh_resolve;

/* Starts resolving |host| (a name, an IPv4 literal, or an IPv6 literal with
 * or without brackets) for |port|. IP literals and cached names complete at
 * once: *out is set and *job is NULL. Otherwise *job is set and
 * wh_resolve_fd(*job) becomes readable when wh_resolve_finish() can be
 * called. Errors: ERROR_NOT_ENOUGH_MEMORY, ERROR_WINHTTP_NAME_NOT_RESOLVED
 * (empty host). */
DWORD wh_resolve_start(const char *host, uint16_t port, struct wh_resolve **job,
                       struct wh_addrs **out);
int wh_resolve_fd(const struct wh_resolve *job);
/* Collects the result and frees the job. Errors:
 * ERROR_WINHTTP_NAME_NOT_RESOLVED, ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_resolve_finish(struct wh_resolve *job, struct wh_addrs **out);
/* Gives up on a job (timeout, cancellation); never blocks. */
void wh_resolve_abandon(struct wh_resolve *job);

/* Whether |host| is an IP literal (no lookup, no RESOLVING_NAME). */
int wh_host_is_literal(const char *host);

/* The numeric form of an address ("127.0.0.1", "::1"), for NAME_RESOLVED
 * and CONNECTING_TO_SERVER. |out| holds at least 64 bytes. */
void wh_addr_format(const struct wh_addr *a, char *out, size_t cap);

/* Test hook: forget every cached name. */
void wh_resolve_cache_clear(void);
/* Helper threads started so far (tests: concurrent lookups of one name
 * share one). */
unsigned wh_resolve_threads_started(void);

#endif

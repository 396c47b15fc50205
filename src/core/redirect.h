/* Following redirects inside WinHttpReceiveResponse (WINHTTP-API.md §3.3):
 * 301/302/303/307/308 with a Location, under WINHTTP_OPTION_REDIRECT_POLICY,
 * WINHTTP_OPTION_MAX_HTTP_AUTOMATIC_REDIRECTS and WINHTTP_DISABLE_REDIRECTS. */
#ifndef WH_CORE_REDIRECT_H
#define WH_CORE_REDIRECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <winhttp.h>

struct wh_request;
struct wh_io;

/* A Location resolved against the current target (pure; exposed for tests). */
struct wh_url_target {
  bool secure;
  char host[256];
  uint16_t port;
  char *path; /* owned: path and query, no fragment */
};

/* Resolves |loc| (an absolute http(s) URL, "//authority/path", "/path" or a
 * relative path) against the current target. Errors:
 * ERROR_WINHTTP_REDIRECT_FAILED (another scheme, a bad authority or port),
 * ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_url_resolve(const struct wh_url_target *base, const char *loc, size_t len,
                     struct wh_url_target *out);

/* Called with the final response head parsed: when it is a redirect to
 * follow, reports REDIRECT, re-targets the request and starts sending it
 * again (*again = true; the caller keeps stepping). Otherwise *again = false
 * and the response stands. Errors: ERROR_WINHTTP_REDIRECT_FAILED (limit,
 * https to http under the default policy, bad Location). */
DWORD wh_redirect_maybe(struct wh_request *r, struct wh_io *io, bool *again);

#endif

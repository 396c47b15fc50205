/* The protocol-neutral response head (proto/resp_head.h). */
#include "proto/resp_head.h"

#include "util/mem.h"

void wh_resp_head_free(struct wh_resp_head *r)
{
  wh_free(r->reason);
  r->reason = NULL;
  r->reason_len = 0;
  wh_headers_free(&r->headers);
  r->version_major = r->version_minor = r->status = 0;
}

const char *wh_resp_version_string(const struct wh_resp_head *r)
{
  static const char *const names[10] = {"HTTP/1.0", "HTTP/1.1", "HTTP/1.2", "HTTP/1.3",
                                        "HTTP/1.4", "HTTP/1.5", "HTTP/1.6", "HTTP/1.7",
                                        "HTTP/1.8", "HTTP/1.9"};
  /* HTTP/2 has no status line; its version is written as RFC 9113 names
   * it (docs/COMPAT.md). */
  if (r->version_major == 2)
    return "HTTP/2";
  return names[r->version_minor < 10 ? r->version_minor : 1];
}

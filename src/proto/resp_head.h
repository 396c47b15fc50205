/* A response head as the request engine and WinHttpQueryHeaders see it,
 * whatever protocol carried it: the status, the reason phrase, the header
 * fields in arrival order, and the version WINHTTP_QUERY_VERSION reports.
 * HTTP/1.1 fills it from the status line and field lines (proto/h1.h); an
 * HTTP/2 transport will fill it from :status and the header block
 * (docs/ARCHITECTURE.md, "HTTP/2: one exchange over two transports").
 *
 * Pure: plain data and its destructor. */
#ifndef WH_PROTO_RESP_HEAD_H
#define WH_PROTO_RESP_HEAD_H

#include "proto/headers.h"

struct wh_resp_head {
  unsigned version_major; /* 1 (HTTP/1.x) or 2 (HTTP/2) */
  unsigned version_minor; /* 0-9; 1 and above get HTTP/1.1 semantics (RFC 9112 §2.3) */
  unsigned status;        /* 100-999 */
  char *reason;           /* owned, NUL-terminated, OWS-trimmed; may be "" */
  size_t reason_len;
  struct wh_headers headers; /* owned; the store's limits stay set */
};

/* Frees what |r| owns and leaves it empty (as if zeroed); safe twice. */
void wh_resp_head_free(struct wh_resp_head *r);

/* "HTTP/1.0" ... "HTTP/1.9", or "HTTP/2", for WINHTTP_QUERY_VERSION,
 * normalised to upper case: a static string, never NULL. */
const char *wh_resp_version_string(const struct wh_resp_head *r);

#endif

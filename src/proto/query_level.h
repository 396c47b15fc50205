/* The WINHTTP_QUERY_* info-level table: what each level of
 * WinHttpQueryHeaders (the low 16 bits of dwInfoLevel) means.
 *
 * Most levels name one header ("Query Info Flags" on Microsoft Learn: "Most
 * of the attribute flags map directly to a specific HTTP header"); a few are
 * computed from the request or status line (VERSION, STATUS_CODE,
 * STATUS_TEXT, RAW_HEADERS, RAW_HEADERS_CRLF, REQUEST_METHOD). Values come
 * from the SDK <winhttp.h> and are cross-checked against our <winhttp.h> by
 * tests/unit/test_headers.c.
 *
 * Pure and immutable: the table is static const data, safe from any thread.
 */
#ifndef WH_PROTO_QUERY_LEVEL_H
#define WH_PROTO_QUERY_LEVEL_H

#include <stddef.h>

#include <winhttp.h>

/* Internal to Windows (the SDK header keeps them in a ";begin_internal"
 * block), so <winhttp.h> may not define them; they are valid levels all the
 * same, 71..74, below WINHTTP_QUERY_MAX. */
enum {
  WH_QUERY_ECHO_REQUEST = 71,
  WH_QUERY_ECHO_REPLY = 72,
  WH_QUERY_ECHO_HEADERS = 73,
  WH_QUERY_ECHO_HEADERS_CRLF = 74,
  /* Highest numbered level; WINHTTP_QUERY_MAX in the SDK. */
  WH_QUERY_LEVEL_MAX = 78
};

enum wh_query_kind {
  WH_QK_HEADER,          /* the header |name| */
  WH_QK_CUSTOM,          /* WINHTTP_QUERY_CUSTOM: the caller names the header */
  WH_QK_NONE,            /* no header is known for this level: HEADER_NOT_FOUND */
  WH_QK_ECHO,            /* ECHO_*: Windows-internal, never present: HEADER_NOT_FOUND */
  WH_QK_VERSION,         /* HTTP version of the request or status line */
  WH_QK_STATUS_CODE,     /* status code of the response */
  WH_QK_STATUS_TEXT,     /* reason phrase of the response */
  WH_QK_RAW_HEADERS,     /* start line + headers, NUL-separated, double NUL */
  WH_QK_RAW_HEADERS_CRLF,/* start line + headers, CRLF-separated, ends CRLFCRLF */
  WH_QK_REQUEST_METHOD   /* the verb, even before a response exists */
};

struct wh_query_level {
  DWORD level;            /* the WINHTTP_QUERY_* value */
  enum wh_query_kind kind;
  const char *name;       /* canonical header name for WH_QK_HEADER, else NULL */
  size_t name_len;
  const char *symbol;     /* "WINHTTP_QUERY_CONTENT_TYPE", for traces */
};

/* The entry for the attribute |level| (0..WH_QUERY_LEVEL_MAX or
 * WINHTTP_QUERY_CUSTOM; modifier bits must already be masked off). Returns a
 * pointer into static storage, or NULL for any other value, which
 * WinHttpQueryHeaders answers with ERROR_INVALID_PARAMETER (Wine's
 * test_WinHttpSendRequest: WINHTTP_QUERY_MAX + 1). */
const struct wh_query_level *wh_query_level_get(DWORD level);

#endif

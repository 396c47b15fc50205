/* The header store behind WinHttpAddRequestHeaders, WinHttpSendRequest's
 * extra headers and WinHttpQueryHeaders: an ordered list of name/value pairs
 * with WinHTTP's modifier semantics, plus the WINHTTP_QUERY_* level logic.
 * Request headers use it now; the response parser fills a second store.
 *
 * Pure: no I/O, no locks, no clock, no mutable globals. A store belongs to
 * one object and is protected by that object's own serialisation; nothing
 * here is shared between stores.
 *
 * Invariants, checked by the fuzzer after every operation:
 *  - every name is a non-empty RFC 9110 token (tchar only);
 *  - no value contains CR, LF or NUL, and none starts or ends with SP/HTAB,
 *    so wh_headers_serialize() output parses back to the same headers;
 *  - order is insertion order (see wh_headers_apply_one for REPLACE).
 *
 * Every function returns a Win32 error code: ERROR_SUCCESS (0) or one of the
 * codes listed with it. A failed call leaves the store exactly as it was,
 * out of memory included (ERROR_NOT_ENOUGH_MEMORY).
 */
#ifndef WH_PROTO_HEADERS_H
#define WH_PROTO_HEADERS_H

#include <stddef.h>
#include <stdint.h>

#include <winhttp.h>

#include "policy/date.h"
#include "util/buf.h"

struct wh_header {
  char *name;       /* NUL-terminated copy: the block the store owns */
  size_t name_len;
  char *value;      /* NUL-terminated, inside the name's block; may be "" */
  size_t value_len;
};

struct wh_headers {
  struct wh_header *v;
  size_t n, cap;
  size_t bytes;     /* serialised size: sum of name_len + value_len + 4 (": ", CRLF) */
  size_t max_bytes; /* refuse growth past this many serialised bytes; 0 = unlimited */
  size_t max_count; /* refuse more than this many headers; 0 = unlimited */
  /* One block headers are carved from (wh_headers_reserve), so that a
   * parsed head costs one allocation, not one per field; entries outside
   * it have blocks of their own. Space of a removed or replaced entry is
   * not reused until the store is cleared. */
  char *slab;
  size_t slab_used, slab_cap;
};

/* An empty store, unbounded (request headers are bounded only by memory, as
 * on Windows). Allocates nothing. */
void wh_headers_init(struct wh_headers *h);
/* Bounds a store, typically the response store (WINHTTP_OPTION_MAX_RESPONSE_
 * HEADER_SIZE). Headers already present stay even when over the new limits;
 * only later growth is refused. 0 means unlimited. */
void wh_headers_set_limits(struct wh_headers *h, size_t max_bytes, size_t max_count);
/* A hint before adding about |count| headers of about |bytes| names and
 * values in all (a parser passes its section's length, which bounds
 * both): the array grows once, and when the store has no slab yet, one
 * block of |bytes| is allocated for the entries to come. Never fails: out
 * of memory, the entries are allocated one by one as without it. */
void wh_headers_reserve(struct wh_headers *h, size_t count, size_t bytes);
/* Frees every header and the array; the store is empty and reusable. */
void wh_headers_free(struct wh_headers *h);
/* Removes every header, keeping the limits. */
void wh_headers_clear(struct wh_headers *h);

/* WinHttpAddRequestHeaders. Parses the |len| bytes of UTF-8 at |text| (the
 * caller's lpszHeaders, already converted; -1 lengths are resolved by the
 * api shim) and applies each line with |modifiers| (WINHTTP_ADDREQ_FLAG_*;
 * the low 16 index bits are ignored, as Windows and Wine do).
 *  - Lines end at CRLF, LF CR, lone CR or lone LF (Wine test_bad_header);
 *    empty lines are skipped. A NUL byte ends the text (Wine reads the
 *    buffer as a C string). Text with no line at all succeeds and does
 *    nothing.
 *  - Each line is "name:value": the name must be a non-empty token, with no
 *    white space before the colon; SP/HTAB around the value are trimmed
 *    (Wine test_WinHttpAddHeaders accepts "value" for "field: value ").
 *  - All or nothing: every line is checked before any is applied, and if
 *    applying line k fails, lines 1..k-1 are undone.
 * Returns ERROR_SUCCESS, ERROR_WINHTTP_INVALID_HEADER (a malformed line),
 * ERROR_WINHTTP_HEADER_ALREADY_EXISTS, ERROR_WINHTTP_HEADER_NOT_FOUND,
 * ERROR_WINHTTP_HEADER_COUNT_EXCEEDED, ERROR_WINHTTP_HEADER_SIZE_OVERFLOW or
 * ERROR_NOT_ENOUGH_MEMORY. The store copies what it keeps; |text| stays the
 * caller's. */
DWORD wh_headers_apply(struct wh_headers *h, const char *text, size_t len, DWORD modifiers);

/* One header given as separate name and value (WinHttpAddRequestHeadersEx,
 * and the engine's own headers: Host, User-Agent, ...). The name must be a
 * token; the value may hold any byte but CR, LF and NUL (checked here, never
 * assumed) and is trimmed of SP/HTAB. Modifiers, first match wins:
 *  - ADD_IF_NEW and the name present: ERROR_WINHTTP_HEADER_ALREADY_EXISTS.
 *  - REPLACE: the first header of that name gets the new value in place
 *    (its position is kept, as Windows does: the "reverse" branch of Wine's
 *    test_WinHttpAddHeaders and Microsoft's "the value is replaced"); an
 *    empty value deletes it instead. With no such header: added at the end
 *    when ADD is also given, else ERROR_WINHTTP_HEADER_NOT_FOUND.
 *  - COALESCE / COALESCE_WITH_COMMA, or COALESCE_WITH_SEMICOLON, and the name
 *    present: ", value" (comma wins when both are given) or "; value" is
 *    appended to the first header of that name; an empty value changes
 *    nothing.
 *  - Anything else (ADD, no modifier, COALESCE of a new name): the header is
 *    appended, even when the name is already present.
 * Returns as wh_headers_apply(). Copies |name| and |value|. */
DWORD wh_headers_apply_one(struct wh_headers *h, const char *name, size_t nlen, const char *value,
                           size_t vlen, DWORD modifiers);

/* The |nth| (0-based) header named |name| (ASCII case-insensitive), or NULL.
 * The pointer is the store's and valid until the store next changes. */
const struct wh_header *wh_headers_find(const struct wh_headers *h, const char *name, size_t nlen,
                                        size_t nth);

/* Appends "Name: value\r\n" for every header, in order, with no final blank
 * line, to |out| (the caller's buffer; its max bounds the result). Returns
 * ERROR_SUCCESS, ERROR_NOT_ENOUGH_MEMORY, or ERROR_WINHTTP_HEADER_SIZE_OVERFLOW
 * when |out->max| is too small; on failure |out| keeps its old contents. */
DWORD wh_headers_serialize(const struct wh_headers *h, struct wh_buf *out);
/* As wh_headers_serialize, but the first header named |name| is written
 * with |value| instead of its own, or "name: value" is appended when there
 * is none; the store is not changed. Also ERROR_WINHTTP_INVALID_HEADER for
 * a name or value the store would refuse. */
DWORD wh_headers_serialize_as(const struct wh_headers *h, const char *name, size_t nlen,
                              const char *value, size_t vlen, struct wh_buf *out);

/* What WinHttpQueryHeaders needs besides the store. Strings are borrowed,
 * NUL-terminated UTF-8, NULL when unknown. */
struct wh_query_ctx {
  /* The request line, for REQUEST_METHOD, and for VERSION, RAW_HEADERS and
   * RAW_HEADERS_CRLF with WINHTTP_QUERY_FLAG_REQUEST_HEADERS. |path| is the
   * request target as sent (absolute URL through a proxy). */
  const char *verb;
  const char *path;
  const char *version;
  /* The status line; NULL / 0 until a response has been received. */
  const char *resp_version;
  unsigned status_code;
  const char *status_text;
  /* Seconds since the Unix epoch, only to place two-digit rfc850 years
   * (FLAG_SYSTEMTIME); the engine passes its clock reading. */
  int64_t now;
};

enum wh_qtype {
  WH_Q_TEXT,       /* text/text_len: a value, without terminator */
  WH_Q_RAW_NUL,    /* text/text_len: lines each ended by one NUL ("a\0b\0"); the
                      shim adds the terminating NUL like any string, giving the
                      double NUL of RAW_HEADERS */
  WH_Q_NUMBER,     /* number: the DWORD to store (FLAG_NUMBER) */
  WH_Q_NUMBER64,   /* number: the ULONGLONG to store (FLAG_NUMBER64) */
  WH_Q_SYSTEMTIME  /* time: the SYSTEMTIME fields (FLAG_SYSTEMTIME) */
};

struct wh_query_result {
  enum wh_qtype type;
  char *text;        /* owned (wh_query_result_free), NUL-terminated, UTF-8;
                        NULL for the numeric and time types */
  size_t text_len;
  uint64_t number;
  struct wh_time time;
  DWORD next_index;  /* what the shim stores in *lpdwIndex on success: index
                        + 1 after a header lookup, index unchanged for the
                        computed levels (VERSION, STATUS_*, RAW_*,
                        REQUEST_METHOD), as Wine's tests require */
};

/* WinHttpQueryHeaders' level logic. |h| is the store the caller chose (the
 * request store for WINHTTP_QUERY_FLAG_REQUEST_HEADERS, else the response
 * store, or the trailers store for WINHTTP_QUERY_FLAG_TRAILERS; never NULL:
 * an empty store when there are no headers); |ctx| is never NULL;
 * |info_level| is dwInfoLevel as given, modifiers included; |custom_name| /
 * |custom_len| is the UTF-8 pwszName for WINHTTP_QUERY_CUSTOM (ignored
 * otherwise); |index| is *lpdwIndex, or 0 when lpdwIndex is NULL.
 * Format modifiers apply to every level but RAW_HEADERS(_CRLF), which ignore
 * them (as Wine does):
 *  - FLAG_NUMBER reads the value the way Wine's wcstol does: leading SP/HTAB,
 *    an optional sign, decimal digits up to the first other byte (none gives
 *    0), clamped to the signed 32-bit range (long is 32 bits on Windows); the
 *    result is its DWORD bit pattern. FLAG_NUMBER64: the same, 64 bits.
 *  - FLAG_SYSTEMTIME parses a strict HTTP-date (wh_date_parse_http).
 * On success fills |*out|, which the caller releases with
 * wh_query_result_free(); on failure |*out| owns nothing. The shim then only
 * converts: WH_Q_TEXT and WH_Q_RAW_NUL to WCHAR (the text may contain NULs),
 * with the byte-length and INSUFFICIENT_BUFFER rules of the API; the numbers
 * and the time as binary.
 * Returns ERROR_SUCCESS,
 *  ERROR_INVALID_PARAMETER: a level above WINHTTP_QUERY_MAX that is not
 *    WINHTTP_QUERY_CUSTOM; an unknown modifier bit; more than one of
 *    FLAG_NUMBER, FLAG_NUMBER64 and FLAG_SYSTEMTIME; CUSTOM with a NULL name;
 *  ERROR_WINHTTP_HEADER_NOT_FOUND: no |index|th header of that name; a
 *    level with no header behind it; a status-line level of a request or
 *    before a response; a FLAG_SYSTEMTIME value that is not an HTTP-date;
 *  ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_headers_query(const struct wh_headers *h, const struct wh_query_ctx *ctx, DWORD info_level,
                       const char *custom_name, size_t custom_len, DWORD index,
                       struct wh_query_result *out);

/* Frees what |r| owns and empties it; safe on an empty or freed result. */
void wh_query_result_free(struct wh_query_result *r);

#endif

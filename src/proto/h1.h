/* A sans-I/O HTTP/1.1 codec for the client side (RFC 9112): the response
 * head (finding its end, parsing it, working out how the body is framed),
 * the chunked transfer coding, and the request head.
 *
 * Pure: no I/O, no locks, no clock, no mutable globals. Every function works
 * on bytes the caller holds and, where state is needed (the chunked decoder),
 * on a struct the caller owns; the engine in core/ feeds it whatever the
 * socket delivered, split anywhere.
 *
 * Every function that can fail returns a Win32 error code: ERROR_SUCCESS (0)
 * or one of the codes listed with it.
 *
 * Typical use by the engine, for one response:
 *
 *   size_t end;
 *   switch (wh_h1_head_end(rbuf, rlen, max_head, &end)) { ... read more ... }
 *   wh_h1_parse_head(rbuf, end, &lim, &resp);          // status + headers
 *   wh_h1_framing(&resp, verb, &fr);                   // how the body ends
 *   // 1xx (fr.interim): free resp, drop |end| bytes, start again.
 *   // CHUNKED: wh_chunked_init() and feed the bytes after |end| to
 *   //          wh_chunked_decode(), which hands body spans back in place.
 *
 * Choices where RFC 9112 leaves room, or where we differ from Wine (Windows'
 * own parser is unspecified), are marked "choice:" here and in the code:
 *  - Lines may end in CRLF or a bare LF (§2.2 "MAY recognize a single LF");
 *    a CR anywhere else in the head is invalid (§2.2 lets us reject it).
 *  - Empty lines before the status line are skipped (servers that add a
 *    stray CRLF after a body; §2.2 asks servers to do the same for requests).
 *  - "HTTP" in the status line is matched case-insensitively (§2.3 says it is
 *    case-sensitive; accepting "http/1.1" harms nothing, curl does it too).
 *  - The status line needs "HTTP/1.<digit>", one or more SP, exactly three
 *    digits (100-999), then the end of the line or SP and a reason phrase.
 *    "HTTP/1.1 200" without a reason is accepted (§4: the reason is
 *    optional and clients SHOULD ignore it). Other majors, HTTP/0.9 (no status
 *    line at all: Wine's test_no_headers) and anything else:
 *    ERROR_WINHTTP_INVALID_SERVER_RESPONSE.
 *  - A header line without ':', with an empty name, white space before the
 *    colon (§5.1) or any non-token byte in the name, and a NUL or CR anywhere:
 *    ERROR_WINHTTP_INVALID_SERVER_RESPONSE. Being strict about the head is
 *    what keeps a response from being split or smuggled.
 *  - obs-fold (§5.2): a line starting with SP/HTAB continues the previous
 *    field; each fold becomes one SP. A continuation right after the status
 *    line has nothing to continue and is invalid (§2.2 allows rejecting it).
 */
#ifndef WH_PROTO_H1_H
#define WH_PROTO_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <winhttp.h>

#include "proto/headers.h"
#include "proto/resp_head.h"
#include "util/buf.h"

/* --- response head -------------------------------------------------------- */

/* Finds the end of a response head at the start of |buf| (|len| bytes): the
 * first empty line after the status line. Lines end in LF, optionally
 * preceded by CR, so "\r\n\r\n", "\n\n", "\r\n\n" and "\n\r\n" all end a head.
 * Empty lines before the status line are skipped and counted in the head.
 * |max_head| bounds the head, leading empty lines and the final empty line
 * included (WINHTTP_OPTION_MAX_RESPONSE_HEADER_SIZE); 0 means unbounded.
 * Returns
 *  - ERROR_SUCCESS: the head is the first |*end| bytes (<= |max_head|);
 *  - ERROR_IO_PENDING: no end yet, read more and call again; |*end| is then
 *    a resume offset for wh_h1_head_end_from();
 *  - ERROR_WINHTTP_HEADER_SIZE_OVERFLOW: no end within |max_head| bytes;
 *  - ERROR_WINHTTP_INVALID_SERVER_RESPONSE: the first bytes that are not
 *    empty lines do not start with "HTTP/" (case-insensitive), so this is no
 *    HTTP/1.x response (HTTP/0.9, garbage). Reported as soon as the first
 *    differing byte arrives, so the engine need not wait for a timeout.
 * Never reads beyond |len| bytes; |buf| may be NULL when |len| is 0. */
DWORD wh_h1_head_end(const char *buf, size_t len, size_t max_head, size_t *end);

/* The same, resuming the scan at |from|, which must be 0 or the |*end| an
 * earlier ERROR_IO_PENDING call gave for a prefix of the same bytes with the
 * same |max_head|. Makes a head that trickles in byte by byte cost O(n)
 * instead of O(n^2). */
DWORD wh_h1_head_end_from(const char *buf, size_t len, size_t max_head, size_t from,
                          size_t *end);

/* Ceilings for the response header store; 0 means unlimited. */
struct wh_h1_limits {
  size_t max_count; /* header fields (ERROR_WINHTTP_HEADER_COUNT_EXCEEDED) */
  size_t max_bytes; /* serialised store bytes (ERROR_WINHTTP_HEADER_SIZE_OVERFLOW) */
};

/* Parses the head |head|/|len| (what wh_h1_head_end measured; parsing stops
 * at the first empty line, and a last line without LF is accepted) into
 * |*out|, which is overwritten: free an earlier result first. |lim| may be
 * NULL (unlimited). Header values are stored OWS-trimmed, in order,
 * duplicates kept.
 * Returns ERROR_SUCCESS, ERROR_WINHTTP_INVALID_SERVER_RESPONSE (see the
 * choices above), ERROR_WINHTTP_HEADER_COUNT_EXCEEDED,
 * ERROR_WINHTTP_HEADER_SIZE_OVERFLOW or ERROR_NOT_ENOUGH_MEMORY; on failure
 * |*out| owns nothing (wh_resp_head_free is still safe). */
DWORD wh_h1_parse_head(const char *head, size_t len, const struct wh_h1_limits *lim,
                       struct wh_resp_head *out);

/* Parses field lines ("name: value", CRLF or LF ended, obs-fold joined) up to
 * the first empty line or the end of |p|/|len|, appending each to |h| (whose
 * limits apply). Shared by the head and the chunked trailers. Returns as
 * wh_h1_parse_head; on failure |h| is cleared. */
DWORD wh_h1_parse_fields(const char *p, size_t len, struct wh_headers *h);

/* --- body framing (§6.3) --------------------------------------------------- */

enum wh_h1_body {
  WH_H1_BODY_NONE,    /* no body: HEAD, 1xx, 204, 304, 2xx to CONNECT */
  WH_H1_BODY_LENGTH,  /* exactly |length| bytes (may be 0) */
  WH_H1_BODY_CHUNKED, /* chunked transfer coding: wh_chunked_decode */
  WH_H1_BODY_CLOSE    /* everything until the server closes */
};

struct wh_h1_framing {
  enum wh_h1_body kind;
  uint64_t length;      /* WH_H1_BODY_LENGTH only */
  bool keep_alive;      /* the message allows reusing the connection after it */
  bool interim;         /* 1xx but 101: a further head follows on the connection */
  bool upgrade;         /* 101 Switching Protocols: the connection leaves HTTP/1.1 */
  bool conn_upgrade;    /* "upgrade" is among the Connection tokens */
  bool tunnel;          /* 2xx to CONNECT: the connection is now a tunnel */
  bool transfer_coded;  /* Transfer-Encoding lists codings besides the final
                           chunked (e.g. "gzip, chunked"): the de-chunked body
                           is still encoded */
};

/* How the body of |r| ends, answering a request with method |request_method|
 * (case-sensitive, RFC 9110 §9.1; NULL means GET), following RFC 9112 §6.3
 * in order:
 *  1. HEAD, 1xx, 204, 304: NONE. 2xx to CONNECT: NONE and |tunnel|.
 *  2. Transfer-Encoding (all its fields, as one list): the final coding
 *     chunked gives CHUNKED; any other final coding gives CLOSE (a response
 *     only, §6.3 item 4). chunked twice, an empty list or a non-token coding:
 *     ERROR_WINHTTP_INVALID_SERVER_RESPONSE. With a Content-Length as well,
 *     Transfer-Encoding wins and |keep_alive| is false (§6.3 item 3: a sign
 *     of smuggling). choice: HTTP/1.0 with Transfer-Encoding is decoded the
 *     same way but never kept alive (§6.1 asks to close after it).
 *  3. Content-Length: 0 to 2^64-1. Several fields and comma lists are fine
 *     when every element is the same number (RFC 9110 §8.6); anything else
 *     (differing numbers, an empty element, a sign, a non-digit, overflow):
 *     ERROR_WINHTTP_INVALID_SERVER_RESPONSE (§6.3 item 5).
 *  4. Otherwise CLOSE.
 * |keep_alive|: HTTP/1.1 unless a Connection token is "close"; HTTP/1.0 only
 * with a "keep-alive" token (and no "close", §9.3); never for CLOSE framing,
 * 101 or tunnels. Returns ERROR_SUCCESS or
 * ERROR_WINHTTP_INVALID_SERVER_RESPONSE; |*f| is filled either way (kind CLOSE
 * and no keep-alive on failure). */
DWORD wh_h1_framing(const struct wh_resp_head *r, const char *request_method,
                    struct wh_h1_framing *f);

/* --- chunked transfer coding (§7.1) --------------------------------------- */

#define WH_CHUNKED_DEFAULT_MAX_LINE 16384u    /* chunk-size line, extensions included */
#define WH_CHUNKED_DEFAULT_MAX_TRAILER 65536u /* the whole trailer section */

/* Decoder state; private fields. Made by wh_chunked_init, released by
 * wh_chunked_free. Holds memory only while collecting trailers. */
struct wh_chunked {
  int state;
  DWORD error;           /* sticky once set */
  uint64_t remaining;    /* chunk data left in the current chunk */
  size_t line_len;       /* bytes of the current size or trailer line so far */
  size_t max_line;
  size_t trailer_len;    /* bytes of the trailer section so far */
  size_t max_trailer;
  uint64_t body_len;     /* de-chunked bytes handed out so far */
  struct wh_headers *trailers; /* borrowed; NULL: trailers are skipped */
  struct wh_buf tbuf;    /* the trailer section, when collected */
};

/* |max_line| bounds a chunk-size line (hex digits, white space and
 * extensions, not its line end); |max_trailer| bounds the trailer section
 * (every byte after the last chunk's line, the final empty line included);
 * 0 picks the defaults above. |trailers|, when not NULL, receives the trailer
 * fields (WINHTTP_QUERY_FLAG_TRAILERS) once the body is complete, parsed like
 * head fields and under that store's own limits; it must outlive the
 * decoder's use. Allocates nothing. */
void wh_chunked_init(struct wh_chunked *c, size_t max_line, size_t max_trailer,
                     struct wh_headers *trailers);
/* Frees what the decoder holds; safe twice. */
void wh_chunked_free(struct wh_chunked *c);

/* Feeds |len| bytes at |in|. Consumes framing up to and including the next
 * run of body bytes, and returns that run in place: |*data| points into |in|
 * and |*data_len| > 0. Otherwise |*data_len| is 0: either everything was
 * consumed and more input is needed, or the body is complete
 * (wh_chunked_done). |*consumed| is how many bytes of |in| were used; the
 * caller keeps the rest (after the end of the body it belongs to the next
 * response). Any split of the input gives the same body, the same end and
 * the same error.
 * Returns ERROR_SUCCESS;
 *  ERROR_WINHTTP_CHUNKED_ENCODING_HEADER_SIZE_OVERFLOW: a chunk-size line
 *    longer than |max_line|;
 *  ERROR_WINHTTP_INVALID_SERVER_RESPONSE: no hex digit, a size above
 *    2^64-1, a bad byte in the size line or its extensions, no CRLF after
 *    the chunk data, a CR not followed by LF, a bad trailer field;
 *  ERROR_WINHTTP_HEADER_SIZE_OVERFLOW: a trailer section above |max_trailer|,
 *    or over the trailer store's byte limit;
 *  ERROR_WINHTTP_HEADER_COUNT_EXCEEDED: over the trailer store's count limit;
 *  ERROR_NOT_ENOUGH_MEMORY.
 * Errors are sticky: later calls return the same code and consume nothing.
 * After the end, calls consume nothing and return no data. */
DWORD wh_chunked_decode(struct wh_chunked *c, const char *in, size_t len, size_t *consumed,
                        const char **data, size_t *data_len);

/* True once the last chunk, the trailers and the final empty line were
 * consumed. */
bool wh_chunked_done(const struct wh_chunked *c);

/* --- request head (§3) ----------------------------------------------------- */

/* Appends "VERB SP target SP version CRLF", every header of |h| as
 * "Name: value CRLF", and the empty line to |out| (whose max bounds it).
 * |verb| must be a token (NULL: "GET"); |target| (the escaped request-target,
 * an absolute URL through a proxy, "*" or an authority for CONNECT) and
 * |version| (NULL: "HTTP/1.1") must be non-empty with no byte <= 0x20 or
 * 0x7F, so that no request line can be split or smuggled; |h| may be NULL.
 * Returns ERROR_SUCCESS, ERROR_INVALID_PARAMETER (a bad verb, target or
 * version), ERROR_WINHTTP_HEADER_SIZE_OVERFLOW (over |out->max|) or
 * ERROR_NOT_ENOUGH_MEMORY; on failure |out| keeps its old contents. */
DWORD wh_h1_request_head(const char *verb, const char *target, const char *version,
                         const struct wh_headers *h, struct wh_buf *out);

/* Longest chunk header wh_h1_chunk_header writes: 16 hex digits and CRLF. */
#define WH_H1_CHUNK_HEADER_MAX 18u
/* The chunk-size line for a chunk of |size| bytes (> 0), lower-case hex and
 * CRLF, for uploads with WINHTTP_FLAG_AUTOMATIC_CHUNKING; the data is then
 * followed by WH_H1_CHUNK_END. Writes no NUL; returns the length. */
size_t wh_h1_chunk_header(uint64_t size, char out[WH_H1_CHUNK_HEADER_MAX]);
#define WH_H1_CHUNK_END "\r\n"
/* The last chunk and the empty trailer section. */
#define WH_H1_LAST_CHUNK "0\r\n\r\n"

#endif

/* Content decoding for WINHTTP_OPTION_DECOMPRESSION: a streaming decoder for
 * the gzip, deflate, br and zstd content codings (RFC 9110 §8.4.1, RFC 7932,
 * RFC 8878/9659), plus the identity "coding" so the engine can run every body
 * through the same path.
 *
 * Pure, like the rest of proto/: bytes in, bytes out; no I/O, no locks, no
 * clock, no mutable globals. A decoder belongs to one request and is used
 * under that request's serialisation. Every allocation (zlib's, brotli's and
 * zstd's own included) goes through util/mem.h, so the fail-after-N hook
 * reaches them.
 *
 * How the engine uses it (WinHttpReadData with the caller's buffer):
 *
 *   wh_coding_from_header(value, len, flags, &c);    once, after the headers
 *   wh_decoder_init(&d, c, bound);                   NOT_ENOUGH_MEMORY possible
 *   loop: wh_decoder_run(&d, body bytes, ..., caller buffer, ...)
 *   at the end of the body (framing complete): wh_decoder_finish(&d)
 *   wh_decoder_free(&d)                              always, also after errors
 *
 * Error codes (all Win32 DWORDs; ERROR_SUCCESS is 0):
 *
 *  - ERROR_WINHTTP_INVALID_SERVER_RESPONSE: the body is not a valid stream of
 *    its coding (corrupt, wrong checksum, preset dictionary, a zstd window
 *    over 8 MiB, bytes after the end of a br or zstd stream) or it ends in
 *    the middle of the stream (wh_decoder_finish). Both are "the server's
 *    response could not be parsed", the message Windows attaches to this
 *    code. COMPAT: truncation is reported this way because finish is only
 *    called once the transport framing (Content-Length, last chunk) says the
 *    body is complete; a connection cut short is the engine's
 *    ERROR_WINHTTP_CONNECTION_ERROR, decided before the decoder is asked.
 *
 *  - ERROR_WINHTTP_RESPONSE_DRAIN_OVERFLOW: decoding would produce more than
 *    |max_output| bytes (a decompression bomb). COMPAT: Windows documents no
 *    such bound. Of the existing WinHTTP codes this is the one whose
 *    documented meaning is "an incoming response exceeds an internal WinHTTP
 *    size limit"; INVALID_SERVER_RESPONSE would be wrong (a bomb is a valid
 *    stream) and would make a bomb indistinguishable from corruption, which
 *    the fault-server tests must tell apart.
 *
 *  - ERROR_NOT_ENOUGH_MEMORY: an allocation failed (at init, or mid-stream:
 *    zlib allocates its window on first output, brotli and zstd their ring
 *    buffers when the stream header says how big).
 *
 *  - ERROR_INVALID_PARAMETER: a NULL pointer where one is required, or an
 *    unknown coding.
 *
 * Errors are sticky: after one, every later run or finish returns the same
 * code. An error is never returned together with data: if a call produced
 * output before hitting the error, it returns ERROR_SUCCESS with that output
 * and the next call returns the error. So the application receives exactly
 * the bytes that decoded correctly (for a bomb, exactly |max_output| bytes),
 * then the failure, which is how a stream error surfaces from
 * WinHttpReadData.
 */
#ifndef WH_PROTO_DECODE_H
#define WH_PROTO_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <winhttp.h>

/* Extension flags for br and zstd. Windows' WINHTTP_OPTION_DECOMPRESSION has
 * only GZIP (1) and DEFLATE (2), and api_options.c refuses other bits from
 * applications, so these never come from a caller: the engine adds them when
 * it decides to advertise br/zstd (e.g. whenever FLAG_ALL is set). They sit
 * high, away from any value Windows might give a future flag (.NET's
 * DecompressionMethods already uses 4 for Brotli and 8 for Zstandard). */
#define WH_DECOMPRESSION_FLAG_BR 0x00010000u
#define WH_DECOMPRESSION_FLAG_ZSTD 0x00020000u
#define WH_DECOMPRESSION_FLAG_EVERY                                            \
  ((DWORD)WINHTTP_DECOMPRESSION_FLAG_GZIP | (DWORD)WINHTTP_DECOMPRESSION_FLAG_DEFLATE | \
   WH_DECOMPRESSION_FLAG_BR | WH_DECOMPRESSION_FLAG_ZSTD)

enum wh_coding {
  WH_CODING_IDENTITY = 0, /* no decoding: bytes pass through unchanged */
  WH_CODING_GZIP,         /* "gzip", "x-gzip" */
  WH_CODING_DEFLATE,      /* "deflate": zlib-wrapped, or raw deflate (detected) */
  WH_CODING_BR,           /* "br" */
  WH_CODING_ZSTD          /* "zstd" */
};

/* Maps a response's Content-Encoding field value (the |len| bytes at
 * |value|, not NUL-terminated; NULL with len 0 for "no header") to the coding
 * to decode, given the enabled WINHTTP_DECOMPRESSION_FLAG_* and
 * WH_DECOMPRESSION_FLAG_* bits. *out is WH_CODING_IDENTITY when the body
 * must be passed through untouched:
 *
 *  - no header, an empty value, or only "identity";
 *  - a coding that is not enabled (the server ignored Accept-Encoding);
 *  - an unknown coding ("compress", "x-foo", anything malformed);
 *  - stacked codings ("gzip, br", "gzip, gzip"): COMPAT, like Windows (and
 *    WinINet, which documents it: only a response with exactly one coding
 *    is decoded). Decoding one layer of several would hand the application
 *    bytes that match no header.
 *
 * In every pass-through case the engine leaves Content-Encoding in place so
 * the application can decode the raw bytes itself, as on Windows. When a
 * coding is returned, the engine decodes; the application then sees decoded
 * bytes, and Content-Length no longer describes them.
 *
 * Matching is ASCII case-insensitive; list syntax is RFC 9110 §5.6.1: elements
 * separated by commas, optional SP/HTAB around them, empty elements ignored,
 * and "identity" elements ignored (a no-op coding). The engine joins repeated
 * Content-Encoding fields with ", " before calling, so two fields count as
 * stacked codings too.
 *
 * Returns ERROR_SUCCESS, or ERROR_INVALID_PARAMETER when |out| is NULL or
 * |value| is NULL with a non-zero |len|. */
DWORD wh_coding_from_header(const char *value, size_t len, DWORD enabled_flags,
                            enum wh_coding *out);

/* The Accept-Encoding value that advertises exactly the codings enabled in
 * |enabled_flags| ("gzip, deflate, br, zstd" in that order; gzip and deflate
 * first, as Windows sends "gzip, deflate"), or NULL when none is enabled.
 * The string is a constant. */
const char *wh_accept_encoding(DWORD enabled_flags);

/* The token of a coding ("gzip", ...; "identity" for WH_CODING_IDENTITY), or
 * NULL for a value outside the enum. */
const char *wh_coding_name(enum wh_coding c);

/* One decoder per response body; embed it and treat the fields as read-only.
 * |produced| and |consumed| may be read at any time (statistics, the engine's
 * WINHTTP_OPTION_REQUEST_STATS). */
struct wh_decoder {
  enum wh_coding coding;
  int state;          /* internal (decode.c) */
  DWORD error;        /* sticky error, or ERROR_SUCCESS */
  DWORD deferred;     /* error to report on the next call (see above) */
  uint64_t max_output;
  uint64_t produced;  /* decoded bytes handed out so far */
  uint64_t consumed;  /* encoded bytes accepted so far */
  /* Up to two encoded bytes held back across calls: the two bytes that tell
   * zlib-wrapped from raw deflate, or a lone 0x1f that may start another gzip
   * member. They are fed to the library before the caller's next bytes. */
  unsigned char held[2];
  unsigned char held_len, held_off;
  void *impl;         /* z_stream *, BrotliDecoderState * or ZSTD_DCtx * */
};

/* Prepares |d| to decode |c|, producing at most |max_output| bytes in total
 * (UINT64_MAX for no bound; the bound applies to identity too, so the engine
 * passes UINT64_MAX there unless it wants one).
 *
 * Decoder-specific limits, fixed here because RFCs set them: zstd frames
 * whose window exceeds 8 MiB are refused (RFC 9659 §3: HTTP decoders need not
 * accept more), which caps a server-chosen allocation; brotli uses the
 * standard window (≤ 16 MiB), never the "large window" extension.
 *
 * Returns ERROR_SUCCESS, ERROR_NOT_ENOUGH_MEMORY or ERROR_INVALID_PARAMETER.
 * On failure |d| holds nothing and wh_decoder_free(d) is still safe. */
DWORD wh_decoder_init(struct wh_decoder *d, enum wh_coding c, uint64_t max_output);

/* Decodes some of the |in_len| bytes at |in| into the |out_cap| bytes at
 * |out|. Any amount of input may be given, in any split: partial input,
 * no input (in_len 0, to drain output still held), output buffers of one
 * byte. Sets *in_used (bytes of |in| accepted; the rest must be offered
 * again next time), *out_len (bytes written) and *done.
 *
 * On ERROR_SUCCESS the call has stopped because
 *   - the output buffer is full (*out_len == out_cap): call again, with or
 *     without new input, for more; or
 *   - all input was accepted (*in_used == in_len) and no further output can
 *     come without more input; or
 *   - an error is deferred (see the top of this file): the next call
 *     returns it.
 * So a caller loops while (*in_used < in_len || *out_len == out_cap).
 * With out_cap == 0 the call does nothing and succeeds.
 *
 * *done is true when the bytes so far end a complete stream (gzip member,
 * deflate or br stream, zstd frame) and all its output has been handed out.
 * It is a hint, not an end-of-body signal: the transport framing decides
 * where the body ends; after a gzip member or zstd frame another may follow
 * (*done then goes back to false). Identity never reports done.
 *
 * Bytes after the end of the stream:
 *  - gzip: another member (RFC 1952 allows concatenation) is decoded; bytes
 *    that do not start with the gzip magic are ignored;
 *  - deflate: ignored.
 *    Both are what browsers do for servers that pad or append junk after
 *    the stream (Chromium's gzip source stream ignores extra bytes).
 *  - zstd: further frames (and skippable frames) are decoded; anything else
 *    is corrupt;
 *  - br: corrupt. br and zstd have no legacy of sloppy servers, and a strict
 *    end catches concatenation and corruption that would otherwise pass.
 *
 * Returns ERROR_SUCCESS or one of the errors at the top of this file, with
 * *in_used and *out_len 0. */
DWORD wh_decoder_run(struct wh_decoder *d, const void *in, size_t in_len, size_t *in_used,
                     void *out, size_t out_cap, size_t *out_len, bool *done);

/* Call once the transport says the body is complete and wh_decoder_run has
 * accepted all of it and returned with spare output room (nothing left to
 * drain). Returns ERROR_SUCCESS when the body is a complete encoded stream
 * (*done was true), when it was empty (a zero-length body with a
 * Content-Encoding header is accepted as an empty entity, as browsers do), or
 * for identity; ERROR_WINHTTP_INVALID_SERVER_RESPONSE when the stream is
 * truncated; or the sticky or deferred error. Produces no output. */
DWORD wh_decoder_finish(struct wh_decoder *d);

/* Releases everything |d| holds. Safe on a zeroed decoder, after a failed
 * init, and twice. */
void wh_decoder_free(struct wh_decoder *d);

#endif

/* permessage-deflate (RFC 7692) for the client: the negotiation (our offer,
 * the server's answer) and the per-message codec over zlib's raw deflate.
 *
 * Pure: no I/O, no locks, no clock; the codec's state is the caller's.
 *
 * Choices, marked "choice:" in the code too:
 *  - We never offer client_max_window_bits: our compressor uses a 15-bit
 *    window, which RFC 7692 §7.1.2.2 allows when the offer does not have
 *    the parameter, and a server must then not answer with it (§7.1.2.2);
 *    zlib cannot honour a window of 8 bits in raw deflate anyway.
 *  - The inflater always has a 15-bit window, which inflates whatever
 *    window the server uses, so server_max_window_bits in the answer is
 *    accepted when it is 8 to 15 and, if we asked for one, not larger.
 *  - server_no_context_takeover and client_no_context_takeover are accepted
 *    in the answer whether or not we offered them (§7.1.1: a server may ask
 *    us for the latter; the former only relieves us).
 *  - Anything else (another extension, an unknown or repeated parameter, a
 *    value where none belongs, a bad number) fails the handshake.
 *  - Fragmented sends: each piece is compressed with a sync flush, so the
 *    frames of one message are consecutive pieces of one deflate stream;
 *    the message's last piece loses its trailing 00 00 FF FF (§7.2.1).
 */
#ifndef WH_PROTO_WS_DEFLATE_H
#define WH_PROTO_WS_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <winhttp.h>
#include <zlib.h>

struct wh_ws_deflate_params {
  bool server_no_context_takeover;
  bool client_no_context_takeover;
  unsigned server_max_window_bits; /* 0: not stated (15) */
};

/* Our Sec-WebSocket-Extensions value for |flags| (winhttp_ext.h
 * WINHTTP_EXT_WEB_SOCKET_DEFLATE*) into |out| (NUL-terminated; 128 bytes
 * are always enough). Returns its length, 0 when |flags| offers nothing. */
size_t wh_ws_deflate_offer(DWORD flags, char *out, size_t cap);

/* Parses the server's Sec-WebSocket-Extensions value (|value|/|len|, all
 * the fields joined with ", ") as an answer to the offer |flags|.
 * ERROR_SUCCESS with |*p| filled, or ERROR_WINHTTP_INVALID_SERVER_RESPONSE
 * (see the choices above). */
DWORD wh_ws_deflate_answer(const char *value, size_t len, DWORD flags,
                           struct wh_ws_deflate_params *p);

/* The codec of one WebSocket: a compressor for our messages, an inflater
 * for the server's. */
struct wh_ws_deflate {
  struct wh_ws_deflate_params p;
  z_stream dz, iz;
  bool dz_ready, iz_ready;
  unsigned tail_off;    /* bytes of the 00 00 FF FF tail fed for this message */
  uint64_t inflated;    /* bytes of the current message so far */
  uint64_t max_message; /* inflated bytes allowed in one message */
};

/* The bound of an inflated message (a larger one is a decompression bomb:
 * close code 1009). */
#define WH_WS_INFLATED_MAX (256ull << 20)

DWORD wh_ws_deflate_init(struct wh_ws_deflate *d, const struct wh_ws_deflate_params *p);
void wh_ws_deflate_free(struct wh_ws_deflate *d);

/* Room |wh_ws_deflate_compress| may need for |len| bytes. */
size_t wh_ws_deflate_bound(size_t len);
/* Compresses a piece of our message (|final|: its last), into |out|
 * (|cap| >= wh_ws_deflate_bound(len)). ERROR_SUCCESS with |*out_len|, or
 * ERROR_NOT_ENOUGH_MEMORY / ERROR_WINHTTP_INTERNAL_ERROR from zlib. */
DWORD wh_ws_deflate_compress(struct wh_ws_deflate *d, const void *in, size_t len, bool final,
                             uint8_t *out, size_t cap, size_t *out_len);

/* Inflates a span of a compressed message from the server: reads from
 * |in|/|in_len| (|*used| bytes taken) into |out|/|cap| (|*made| bytes).
 * |message_end|: |in| ends the message, so once it is all taken the
 * stream's tail goes in too; |*done| then says the message is complete and
 * fully handed out. Call again with what is left (or nothing) while the
 * output filled up. ERROR_SUCCESS, or ERROR_WINHTTP_INVALID_SERVER_RESPONSE
 * with |*fail_code| 1007 (corrupt data) or 1009 (past max_message). */
DWORD wh_ws_deflate_inflate(struct wh_ws_deflate *d, const uint8_t *in, size_t in_len,
                            bool message_end, uint8_t *out, size_t cap, size_t *used,
                            size_t *made, bool *done, unsigned *fail_code);

#endif

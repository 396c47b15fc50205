/* A sans-I/O WebSocket frame codec for the client side (RFC 6455 §5): the
 * head of outgoing (masked) frames, masking, an incremental decoder for the
 * server's frames that enforces the protocol's rules, and the close payload.
 *
 * Pure: no I/O, no locks, no clock, no mutable globals, no allocation, no
 * randomness (masking keys come from the caller, who draws them from a
 * CSPRNG, §5.3). The decoder's state is a struct the caller owns; payload
 * comes back as spans pointing into the caller's own input, never copied,
 * except control frames (at most 125 bytes), which the decoder gathers so
 * they reach the engine in one piece however the input was split.
 *
 * Every function that can fail returns a Win32 error code: ERROR_SUCCESS (0)
 * or one of the codes listed with it. A connection the decoder must fail
 * (§7.1.7) gives ERROR_WINHTTP_INVALID_SERVER_RESPONSE, what Microsoft's
 * WinHttpWebSocketReceive/Close pages list for "invalid data was received
 * from the server", and the decoder says which close code to send (1002,
 * 1007 or 1009) with wh_ws_decoder_fail_code().
 *
 * Typical use by the engine:
 *
 *   wh_ws_decoder_init(&d, max_message, deflate_negotiated);
 *   for each chunk the socket delivered, until the event is NONE:
 *       err = wh_ws_decode(&d, p, n, &used, &ev); p += used; n -= used;
 *       if (err) -> send a close with wh_ws_decoder_fail_code(&d), fail
 *       switch (ev.type):
 *         NONE:    everything consumed: read more
 *         FRAME:   a data frame starts (opcode, fin, compressed, length)
 *         DATA:    ev.data/ev.len into the caller's buffer; frame_end and
 *                  message_end say where it stops
 *         CONTROL: ping (answer with a pong), pong, close (code, reason)
 *
 *   sending: wh_ws_encode_head(opcode, flags, len, key, head, &hlen), then
 *            wh_ws_mask(out, payload, len, key, 0) for the payload.
 *
 * Choices where RFC 6455 leaves room, marked "choice:" in the code too:
 *  - Non-minimal length encodings (a 16-bit or 64-bit length that would fit
 *    a shorter form) are accepted. §5.2 says "the minimal number of bytes
 *    MUST be used to encode the length", which binds the sender; its ABNF
 *    (frame-payload-length-16 = %x0000-FFFF, -63 = %x0000000000000000-
 *    7FFFFFFFFFFFFFFF) admits them, no rule asks the receiver to fail the
 *    connection, and the Autobahn suite has no case for them. Refusing them
 *    would buy nothing: the length is used, and bounded, the same way. A
 *    64-bit length with its top bit set is refused (§5.2 "the most
 *    significant bit MUST be 0").
 *  - Close codes accepted from the server (§7.4): 1000-1003, 1007-1014
 *    (1012-1014 are registered in IANA's WebSocket Close Code Number
 *    Registry) and 3000-4999 (libraries, applications, private use). Every
 *    other code is a protocol error: 0-999 (§7.4.2 "not used"), 1004
 *    (reserved), 1005, 1006 and 1015 (§7.4.1 "MUST NOT be set as a status
 *    code in a Close control frame"), the unassigned 1016-2999 and 5000 and
 *    up. This is the Autobahn suite's split (cases 7.7.x valid, 7.9.x
 *    invalid) and python-websockets'.
 *  - A close reason (§5.5.1) must be valid UTF-8, else 1007 (§8.1; Autobahn
 *    case 7.5.1). A close payload of one byte is a protocol error (1002).
 *  - Text messages are validated as they arrive, across frames and splits,
 *    failing at the first byte that cannot be part of valid UTF-8 (see
 *    utf8_valid.h), not at the end of the message (Autobahn 6.4.x); a
 *    character cut short by the end of the message fails at the message's
 *    last byte. The payload before the bad byte is handed out and the call
 *    after fails at it, so what the engine sees never depends on where the
 *    input was split (the message is lost either way).
 *  - The message size limit counts the payload lengths the frame heads
 *    declare, so a message that will not fit fails at the head of the frame
 *    that overflows, before any of its payload is awaited (1009). Control
 *    frames do not count. 0 means no limit.
 *  - permessage-deflate (RFC 7692): with |deflate| set, RSV1 is allowed on
 *    the first frame of a data message only (§6: a compressed message);
 *    on a continuation or control frame it is a protocol error (§6.1). The
 *    payload of a compressed message is deflate data, so the decoder
 *    neither validates its UTF-8 nor limits its inflated size: the engine
 *    does both on what it inflates (wh_utf8v_*, and its own count).
 *  - Bytes after a Close frame are ignored: the server's Close ends what it
 *    may send (§5.5.1: no data frames after it; §7.1.2-7.1.4: the closing
 *    handshake then ends with the TCP close), so nothing after it is parsed
 *    (the Autobahn suite's 7.1.x cases send frames after a Close).
 *  - Every error is sticky.
 */
#ifndef WH_PROTO_WS_H
#define WH_PROTO_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <winhttp.h>

#include "proto/utf8_valid.h"

/* Opcodes (§5.2, §11.8). */
#define WH_WS_OP_CONT 0x0u
#define WH_WS_OP_TEXT 0x1u
#define WH_WS_OP_BINARY 0x2u
#define WH_WS_OP_CLOSE 0x8u
#define WH_WS_OP_PING 0x9u
#define WH_WS_OP_PONG 0xAu
/* Control frames are the opcodes with this bit (§5.5). */
#define WH_WS_OP_CONTROL_BIT 0x8u

/* First-byte flags for wh_ws_encode_head, where they sit on the wire. */
#define WH_WS_FIN 0x80u
#define WH_WS_RSV1 0x40u /* permessage-deflate: "Per-Message Compressed" */

/* The longest client frame head: 2 bytes, a 64-bit length, the masking key. */
#define WH_WS_HEAD_MAX 14u
/* Payload of a control frame (§5.5), and the close reason after the code. */
#define WH_WS_CONTROL_MAX 125u
#define WH_WS_CLOSE_REASON_MAX 123u /* WINHTTP_WEB_SOCKET_MAX_CLOSE_REASON_LENGTH */
/* The largest payload length the frame format can carry (§5.2). */
#define WH_WS_MAX_FRAME_LEN UINT64_C(0x7FFFFFFFFFFFFFFF)

/* Close codes the decoder fails a connection with (§7.4.1). */
#define WH_WS_CLOSE_PROTOCOL_ERROR 1002u
#define WH_WS_CLOSE_NO_STATUS 1005u /* an empty close payload: no code sent */
#define WH_WS_CLOSE_INVALID_DATA 1007u
#define WH_WS_CLOSE_TOO_BIG 1009u

/* --- encoder --------------------------------------------------------------- */

/* Writes the head of a client frame into |out|: FIN and RSV1 from |flags|
 * (WH_WS_FIN, WH_WS_RSV1), |opcode|, the MASK bit (always: §5.1, a client
 * masks every frame), the payload length |len| in its minimal encoding
 * (7 bits up to 125, 16 bits up to 65535, else 64 bits) and the 4-byte
 * masking |key|. |*head_len| is 6, 8 or 14.
 * Returns ERROR_SUCCESS, or ERROR_INVALID_PARAMETER (and writes nothing)
 * for a reserved opcode, a flag other than FIN and RSV1, a control frame
 * without FIN, with RSV1 or with more than 125 bytes, RSV1 on a
 * continuation frame (RFC 7692 §6.1), or |len| above WH_WS_MAX_FRAME_LEN.
 * Whether RSV1 was negotiated is the caller's business. */
DWORD wh_ws_encode_head(unsigned opcode, unsigned flags, uint64_t len, const uint8_t key[4],
                        uint8_t out[WH_WS_HEAD_MAX], size_t *head_len);

/* Masks (or unmasks: the operation is its own inverse) |n| bytes from |src|
 * into |dst|, which may be the same buffer (in place) but must not overlap
 * it otherwise. |pos| is the offset into the payload modulo 4 at which
 * |src| starts (0 for a whole payload; the value a previous call returned to
 * continue it), so a payload can be masked in any number of pieces.
 * Returns the offset for the next piece, (pos + n) mod 4. Works a 64-bit
 * word at a time, whatever the alignment of either buffer. */
unsigned wh_ws_mask(void *dst, const void *src, size_t n, const uint8_t key[4], unsigned pos);

/* --- close payload (§5.5.1, §7.4) ----------------------------------------- */

/* True for a close code a server may send (see the choice above). */
bool wh_ws_close_code_valid(unsigned code);

/* Parses the payload of a close frame, |p|/|n| (n <= 125). An empty payload
 * means no status (|*code| = WH_WS_CLOSE_NO_STATUS, what
 * WinHttpWebSocketQueryCloseStatus reports); otherwise the big-endian code
 * and the reason that follows it (|*reason| points into |p|, may be empty).
 * Returns ERROR_SUCCESS, or ERROR_WINHTTP_INVALID_SERVER_RESPONSE with
 * |*fail_code| (may be NULL) set to 1002 (one byte, more than 125 bytes, a
 * code wh_ws_close_code_valid refuses) or 1007 (a reason that is not
 * UTF-8). */
DWORD wh_ws_close_parse(const uint8_t *p, size_t n, unsigned *code, const uint8_t **reason,
                        size_t *reason_len, unsigned *fail_code);

/* Builds a close payload into |out|: nothing for WH_WS_CLOSE_NO_STATUS (an
 * empty Close, which then takes no reason), else the code and |reason|.
 * Returns ERROR_SUCCESS with |*out_len| (0 to 125), or
 * ERROR_INVALID_PARAMETER for a code wh_ws_close_code_valid refuses (a
 * client must not send 1005/1006/1015 either), a reason longer than
 * WH_WS_CLOSE_REASON_MAX or not UTF-8 (§5.5.1), or a reason with 1005.
 * |reason| may be NULL when |reason_len| is 0. */
DWORD wh_ws_close_build(unsigned code, const void *reason, size_t reason_len,
                        uint8_t out[WH_WS_CONTROL_MAX], size_t *out_len);

/* --- decoder ----------------------------------------------------------------- */

enum wh_ws_event_type {
  WH_WS_EV_NONE,    /* all input consumed; more is needed */
  WH_WS_EV_FRAME,   /* the head of a data frame */
  WH_WS_EV_DATA,    /* payload of the current data frame, in place */
  WH_WS_EV_CONTROL  /* a whole control frame */
};

struct wh_ws_event {
  enum wh_ws_event_type type;
  /* FRAME: the frame's own opcode (CONT, TEXT or BINARY). DATA: the
   * message's opcode (TEXT or BINARY), also in continuation frames.
   * CONTROL: CLOSE, PING or PONG. */
  unsigned opcode;
  bool fin;             /* FRAME: the last frame of its message */
  bool compressed;      /* FRAME, DATA: the message had RSV1 (deflate) */
  uint64_t frame_len;   /* FRAME, CONTROL: the declared payload length */
  /* DATA: a span of the caller's input (may be empty, see frame_end).
   * CONTROL: the whole payload, in the decoder (valid until the next call). */
  const uint8_t *data;
  size_t len;
  bool frame_end;       /* DATA: the frame's payload ends with this span */
  bool message_end;     /* DATA: so does its message (frame_end and fin) */
  /* CONTROL with opcode CLOSE: the parsed payload, already validated;
   * WH_WS_CLOSE_NO_STATUS and no reason for an empty one. */
  unsigned close_code;
  const uint8_t *reason;
  size_t reason_len;
};

/* Decoder state; private fields, read them through the functions below. */
struct wh_ws_decoder {
  uint64_t max_message;  /* 0: no limit */
  bool deflate;          /* RSV1 allowed on a message's first frame */
  uint8_t state;
  uint8_t head_len;      /* head bytes gathered so far */
  uint8_t head_need;     /* head bytes this frame's head has (2, 4 or 10) */
  uint8_t head[10];      /* server frames carry no masking key */
  uint8_t opcode;        /* current frame */
  bool fin;
  uint64_t frame_len;
  uint64_t remaining;    /* payload bytes of the current frame still due */
  uint8_t msg_opcode;    /* TEXT or BINARY while a message is open, else 0 */
  bool msg_compressed;
  uint64_t msg_len;      /* declared payload of the open message so far */
  struct wh_utf8v utf8;  /* the open text message */
  uint8_t ctrl_len;      /* control payload gathered so far */
  uint8_t ctrl[WH_WS_CONTROL_MAX];
  unsigned fail_code;    /* set with |error| */
  DWORD error;           /* sticky */
};

/* |max_message| bounds the payload of one data message (0: no limit);
 * |deflate| says permessage-deflate was negotiated. Allocates nothing;
 * there is nothing to free. */
void wh_ws_decoder_init(struct wh_ws_decoder *d, uint64_t max_message, bool deflate);

/* Feeds |len| bytes at |in| (NULL allowed when |len| is 0) and reports the
 * next event in |*ev|; |*consumed| is how many bytes of |in| were used up to
 * it. The caller calls again with the rest. Events, in order:
 *  - every data frame gives one FRAME, then DATA events whose spans add up
 *    to its payload, the last one with |frame_end| set. A frame whose
 *    payload is empty gives one empty DATA with |frame_end|; a span is never
 *    empty otherwise. DATA may thus come with |consumed| 0, even from empty
 *    input: keep calling until NONE, not merely while input is left;
 *  - every control frame gives one CONTROL, once its whole payload is in,
 *    possibly between the frames of a fragmented message, which carries on
 *    afterwards;
 *  - NONE: every byte was consumed and no event is pending.
 * Any split of the input gives the same events with the same payload bytes
 * (DATA spans are cut where the input was), and the same error.
 * Returns ERROR_SUCCESS, or ERROR_WINHTTP_INVALID_SERVER_RESPONSE when the
 * connection must be failed, wh_ws_decoder_fail_code() telling why:
 *  1002 (protocol error): RSV2 or RSV3 set; RSV1 set without |deflate|, or
 *    on a continuation or control frame; a reserved opcode (3-7, 0xB-0xF);
 *    the MASK bit (§5.1: a server never masks); a control frame without FIN
 *    or over 125 bytes; a continuation with no message open; a text or
 *    binary frame while one is open; a 64-bit length with its top bit set;
 *    a close payload of one byte or with a code wh_ws_close_code_valid
 *    refuses. Checked as soon as the byte carrying it arrives: the first
 *    byte's rules at once, the mask bit with the second byte, lengths when
 *    the head is complete.
 *  1007 (invalid data): a text message that is not UTF-8 (not checked when
 *    compressed), at the first bad byte, or at its last byte when that
 *    leaves a character unfinished (at the head of an empty last frame);
 *    a close reason that is not UTF-8. The bytes before the bad one come
 *    as DATA first, the error with the next call.
 *  1009 (too big): the message's declared payload passes |max_message|,
 *    found at the head of the frame that passes it.
 * On error |*consumed| counts the bytes examined, the bad one included, and
 * no event is reported; later calls return the same error and consume
 * nothing. After a CONTROL close event the decoder is closed: it consumes
 * and ignores everything, reporting NONE. */
DWORD wh_ws_decode(struct wh_ws_decoder *d, const void *in, size_t len, size_t *consumed,
                   struct wh_ws_event *ev);

/* The close code for the error wh_ws_decode returned (1002, 1007, 1009), or
 * 0 while there is none. */
unsigned wh_ws_decoder_fail_code(const struct wh_ws_decoder *d);

/* True once a Close frame was decoded. */
bool wh_ws_decoder_closed(const struct wh_ws_decoder *d);

/* True while a fragmented data message is open (its final frame not yet
 * complete). */
bool wh_ws_decoder_in_message(const struct wh_ws_decoder *d);

#endif

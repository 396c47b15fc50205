/* libFuzzer target for the WebSocket frame codec (proto/ws_decode.c,
 * proto/ws_frame.c).
 *
 * Input: byte 0 picks the settings (bit 0: permessage-deflate negotiated;
 * bits 1-2: the message size limit, none, 1, 125 or 70000), byte 1 says how
 * many of the following bytes are piece lengths (low 4 bits), and the rest is
 * what the server sent. The stream is decoded whole, in the fuzzer's pieces
 * (each in its own heap block of exactly its size, calling until NONE after
 * each) and, when short, one byte at a time; and once more by a reference
 * decoder below, written the obvious way over the whole buffer. Checked:
 *  - every run gives the same transcript (events, payload bytes, frame and
 *    message ends, control payloads, close code and reason), the same error
 *    and close code, and fails after the same number of bytes;
 *  - each event's invariants: NONE means all input consumed, a DATA span is
 *    the tail of what its call consumed, a frame's spans add up to its
 *    declared length, control payloads are whole and at most 125 bytes, a
 *    close carries a valid code (or 1005 when empty), errors are sticky;
 *  - the frames decoded, encoded again as client frames with
 *    wh_ws_encode_head and wh_ws_mask (masked in pieces), then unmasked back
 *    into server frames, decode to the same transcript.
 * Any broken invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "proto/utf8_valid.h"
#include "proto/ws.h"
#include "utf8_ref.h"
#include "util/buf.h"

static const uint64_t limits[4] = {0, 1, 125, 70000};

struct cfg {
  uint64_t max;
  bool deflate;
};

struct result {
  struct wh_buf log;
  DWORD err;
  unsigned fail;
  size_t consumed;
  bool closed;
};

/* --- the transcript -------------------------------------------------------- */
/* Records: 'F' op fin compressed len64 | 'd' byte (one per payload byte) |
 * 'e' message_end | 'C' op len payload [code16 reason_len] | the end. */

static void rec(struct wh_buf *b, const void *p, size_t n)
{
  FUZZ_ASSERT(wh_buf_add(b, p, n) == 0);
}

static void rec_byte(struct wh_buf *b, unsigned v)
{
  uint8_t c = (uint8_t)v;
  rec(b, &c, 1);
}

static void rec_u64(struct wh_buf *b, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    rec_byte(b, (unsigned)(v >> (56 - 8 * i)) & 0xffu);
}

static void rec_frame(struct wh_buf *b, unsigned op, bool fin, bool comp, uint64_t len)
{
  rec_byte(b, 'F');
  rec_byte(b, op);
  rec_byte(b, fin);
  rec_byte(b, comp);
  rec_u64(b, len);
}

static void rec_data(struct wh_buf *b, const uint8_t *p, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    rec_byte(b, 'd');
    rec_byte(b, p[i]);
  }
}

static void rec_end(struct wh_buf *b, bool message_end)
{
  rec_byte(b, 'e');
  rec_byte(b, message_end);
}

static void rec_control(struct wh_buf *b, unsigned op, const uint8_t *p, size_t n, unsigned code,
                        size_t reason_len)
{
  rec_byte(b, 'C');
  rec_byte(b, op);
  rec_byte(b, (unsigned)n);
  rec(b, p, n);
  if (op == WH_WS_OP_CLOSE) {
    rec_byte(b, code >> 8);
    rec_byte(b, code & 0xffu);
    rec_byte(b, (unsigned)reason_len);
  }
}

/* The end record; |with_consumed| false for the re-encoded stream, whose
 * length differs where the original used a non-minimal length. */
static void rec_finish(struct result *r, bool with_consumed)
{
  rec_byte(&r->log, 'Z');
  rec_u64(&r->log, r->err);
  rec_u64(&r->log, r->fail);
  rec_u64(&r->log, with_consumed ? r->consumed : 0);
  rec_byte(&r->log, r->closed);
}

/* --- the decoder under test ------------------------------------------------ */

/* What the checker remembers between events. */
struct track {
  unsigned msg_op;   /* open message's opcode, or 0 */
  bool in_frame;     /* a FRAME without its frame_end yet */
  uint64_t left;     /* payload still due in that frame */
};

static void check_event(const struct wh_ws_decoder *d, const uint8_t *in, size_t len, size_t used,
                        const struct wh_ws_event *ev, const struct cfg *cf, struct track *t)
{
  FUZZ_ASSERT(used <= len);
  switch (ev->type) {
  case WH_WS_EV_NONE:
    FUZZ_ASSERT(used == len);
    break;
  case WH_WS_EV_FRAME:
    FUZZ_ASSERT(!t->in_frame);
    FUZZ_ASSERT(ev->opcode <= WH_WS_OP_BINARY);
    FUZZ_ASSERT((ev->opcode == WH_WS_OP_CONT) == (t->msg_op != 0));
    FUZZ_ASSERT(ev->frame_len <= WH_WS_MAX_FRAME_LEN);
    FUZZ_ASSERT(!ev->compressed || cf->deflate);
    if (ev->opcode != WH_WS_OP_CONT)
      t->msg_op = ev->opcode;
    t->in_frame = true;
    t->left = ev->frame_len;
    FUZZ_ASSERT(wh_ws_decoder_in_message(d));
    break;
  case WH_WS_EV_DATA:
    FUZZ_ASSERT(t->in_frame && ev->opcode == t->msg_op);
    FUZZ_ASSERT(ev->len <= t->left);
    t->left -= ev->len;
    FUZZ_ASSERT(ev->frame_end == (t->left == 0));
    if (ev->len) {
      FUZZ_ASSERT(ev->data >= in && ev->data + ev->len == in + used);
    } else {
      FUZZ_ASSERT(ev->frame_end && used == 0);
    }
    if (ev->frame_end)
      t->in_frame = false;
    if (ev->message_end) {
      FUZZ_ASSERT(ev->frame_end);
      t->msg_op = 0;
    }
    FUZZ_ASSERT(wh_ws_decoder_in_message(d) == (t->msg_op != 0));
    break;
  case WH_WS_EV_CONTROL:
    FUZZ_ASSERT(!t->in_frame);
    FUZZ_ASSERT(ev->opcode == WH_WS_OP_CLOSE || ev->opcode == WH_WS_OP_PING ||
                ev->opcode == WH_WS_OP_PONG);
    FUZZ_ASSERT(ev->len <= WH_WS_CONTROL_MAX && ev->len == ev->frame_len);
    FUZZ_ASSERT(ev->len == 0 || ev->data != NULL);
    if (ev->opcode == WH_WS_OP_CLOSE) {
      FUZZ_ASSERT(wh_ws_decoder_closed(d));
      if (ev->len == 0) {
        FUZZ_ASSERT(ev->close_code == WH_WS_CLOSE_NO_STATUS && ev->reason_len == 0);
      } else {
        FUZZ_ASSERT(wh_ws_close_code_valid(ev->close_code));
        FUZZ_ASSERT(ev->reason == ev->data + 2 && ev->reason_len == ev->len - 2);
        FUZZ_ASSERT(wh_utf8_valid(ev->reason, ev->reason_len));
      }
    }
    break;
  }
}

static void log_event(struct wh_buf *log, const struct wh_ws_event *ev)
{
  switch (ev->type) {
  case WH_WS_EV_FRAME:
    rec_frame(log, ev->opcode, ev->fin, ev->compressed, ev->frame_len);
    break;
  case WH_WS_EV_DATA:
    rec_data(log, ev->data, ev->len);
    if (ev->frame_end)
      rec_end(log, ev->message_end);
    break;
  case WH_WS_EV_CONTROL:
    rec_control(log, ev->opcode, ev->data, ev->len, ev->close_code, ev->reason_len);
    break;
  default:
    break;
  }
}

/* Decodes |in|/|n| in pieces of the lengths |cuts|[0..ncuts) (0 means 1;
 * the last piece takes the rest). */
static void decode(const uint8_t *in, size_t n, const uint8_t *cuts, size_t ncuts,
                   const struct cfg *cf, bool with_consumed, struct result *r)
{
  struct wh_ws_decoder d;
  struct track t = {0, false, 0};
  wh_ws_decoder_init(&d, cf->max, cf->deflate);
  wh_buf_init(&r->log, SIZE_MAX / 2);
  r->err = ERROR_SUCCESS;
  r->consumed = 0;

  size_t pos = 0, k = 0;
  do {
    size_t plen = fuzz_piece_len(n, pos, cuts, ncuts, k++);
    uint8_t *piece = fuzz_piece_copy(in, pos, plen);
    size_t off = 0;
    for (;;) {
      struct wh_ws_event ev;
      size_t used = 12345;
      r->err = wh_ws_decode(&d, piece + off, plen - off, &used, &ev);
      FUZZ_ASSERT(used <= plen - off);
      r->consumed += used;
      if (r->err) {
        FUZZ_ASSERT(ev.type == WH_WS_EV_NONE);
        break;
      }
      check_event(&d, piece + off, plen - off, used, &ev, cf, &t);
      off += used;
      if (ev.type == WH_WS_EV_NONE)
        break;
      log_event(&r->log, &ev);
    }
    free(piece);
    pos += plen;
  } while (pos < n && r->err == ERROR_SUCCESS);

  r->fail = wh_ws_decoder_fail_code(&d);
  r->closed = wh_ws_decoder_closed(&d);
  if (r->err) {
    FUZZ_ASSERT(r->err == ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
    FUZZ_ASSERT(r->fail == 1002 || r->fail == 1007 || r->fail == 1009);
    FUZZ_ASSERT(r->consumed <= n);
    struct wh_ws_event ev;
    size_t used = 1;
    FUZZ_ASSERT(wh_ws_decode(&d, "\x81\x00", 2, &used, &ev) == r->err);
    FUZZ_ASSERT(used == 0 && ev.type == WH_WS_EV_NONE);
  } else {
    FUZZ_ASSERT(r->fail == 0 && r->consumed == n);
  }
  rec_finish(r, with_consumed);
}

/* --- the reference decoder ------------------------------------------------- */

/* RFC 6455 §5 over the whole buffer, one frame after the other, with the
 * rules in the order ws.h documents: the first byte's, the mask bit, the
 * length's, the message size, then the payload's. Payload bytes are logged
 * as they are accepted, so a failure in a text message leaves the bytes
 * before the bad one logged, as the decoder hands them out. |*boundary| says
 * whether the stream ended between frames. */
static void reference(const uint8_t *p, size_t n, const struct cfg *cf, struct result *r,
                      bool *boundary)
{
  size_t i = 0;
  unsigned msg_op = 0, fail = 0;
  bool comp = false;
  uint64_t msg_len = 0;
  struct ref_utf8 u8 = {{0}, 0, false};

  wh_buf_init(&r->log, SIZE_MAX / 2);
  r->closed = false;
  *boundary = true;
  while (i < n && !r->closed) {
    *boundary = false;
    uint8_t b0 = p[i++];
    unsigned op = b0 & 15u;
    bool fin = b0 & 0x80u, rsv1 = b0 & 0x40u, control = op >= 8;
    if (b0 & 0x30u) {
      fail = 1002;
    } else if (control) {
      if (op > 10 || !fin || rsv1)
        fail = 1002;
    } else if (op > 2) {
      fail = 1002;
    } else if (op == 0) {
      if (!msg_op || rsv1)
        fail = 1002;
    } else if (msg_op || (rsv1 && !cf->deflate)) {
      fail = 1002;
    }
    if (fail || i == n)
      break;
    uint8_t b1 = p[i++];
    if (b1 & 0x80u) {
      fail = 1002;
      break;
    }
    uint64_t len = b1 & 0x7fu;
    size_t ext = len == 126 ? 2 : len == 127 ? 8 : 0;
    if (n - i < ext) {
      i = n;
      break;
    }
    if (ext) {
      len = 0;
      for (size_t k = 0; k < ext; k++)
        len = len << 8 | p[i++];
    }
    if (len >> 63) {
      fail = 1002;
      break;
    }
    if (control) {
      if (len > 125) {
        fail = 1002;
        break;
      }
      if (n - i < len) {
        i = n;
        break;
      }
      const uint8_t *pl = p + i;
      i += (size_t)len;
      unsigned code = 1005;
      size_t rlen = 0;
      if (op == 8) {
        if (len == 1) {
          fail = 1002;
          break;
        }
        if (len >= 2) {
          code = (unsigned)pl[0] << 8 | pl[1];
          bool ok = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                    (code >= 3000 && code <= 4999);
          if (!ok) {
            fail = 1002;
            break;
          }
          rlen = (size_t)len - 2;
          if (!ref_utf8_valid(pl + 2, rlen)) {
            fail = 1007;
            break;
          }
        }
        r->closed = true;
      }
      rec_control(&r->log, op, pl, (size_t)len, code, rlen);
      *boundary = true;
      continue;
    }
    uint64_t total = (op == 0 ? msg_len : 0) + len;
    if (total < len)
      total = UINT64_MAX;
    if (cf->max && total > cf->max) {
      fail = 1009;
      break;
    }
    if (op) {
      msg_op = op;
      comp = rsv1;
      memset(&u8, 0, sizeof(u8));
    }
    msg_len = total;
    rec_frame(&r->log, op, fin, comp, len);
    bool text = msg_op == 1 && !comp;
    uint64_t k = 0;
    for (; k < len && i < n; k++) {
      uint8_t c = p[i++];
      if (text) {
        bool last = fin && k + 1 == len;
        if (!ref_utf8_byte(&u8, c) || (last && !ref_utf8_complete(&u8))) {
          fail = 1007;
          break;
        }
      }
      rec_data(&r->log, &c, 1);
    }
    if (fail)
      break;
    if (k < len)
      break; /* the stream ends inside the payload */
    if (len == 0 && fin && text && !ref_utf8_complete(&u8)) {
      fail = 1007;
      break;
    }
    rec_end(&r->log, fin);
    if (fin)
      msg_op = 0;
    *boundary = true;
  }
  if (r->closed)
    i = n;
  r->fail = fail;
  r->err = fail ? ERROR_WINHTTP_INVALID_SERVER_RESPONSE : ERROR_SUCCESS;
  r->consumed = i;
  if (fail)
    *boundary = false;
  rec_finish(r, true);
}

/* --- encode again ------------------------------------------------------------ */

static uint64_t get_u64(const uint8_t *p)
{
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

/* One frame as the client encoder writes it, masked in two pieces cut at
 * |cut|, then turned back into the server frame it stands for: MASK bit and
 * key removed, payload unmasked. */
static void put_frame(struct wh_buf *out, unsigned op, unsigned flags, const uint8_t *payload,
                      size_t len, const uint8_t key[4], size_t cut)
{
  uint8_t head[WH_WS_HEAD_MAX];
  size_t hl = 0;
  FUZZ_ASSERT(wh_ws_encode_head(op, flags, len, key, head, &hl) == ERROR_SUCCESS);
  FUZZ_ASSERT(hl >= 6 && memcmp(head + hl - 4, key, 4) == 0 && (head[1] & 0x80u));
  FUZZ_ASSERT((head[0] & 0x0fu) == op && (head[0] & 0xf0u) == flags);
  uint8_t *masked = malloc(len ? len : 1);
  FUZZ_ASSERT(masked);
  if (!payload)
    payload = masked; /* an empty payload from an empty buffer */
  if (cut > len)
    cut = len;
  unsigned pos = wh_ws_mask(masked, payload, cut, key, 0);
  FUZZ_ASSERT(pos == (cut & 3u));
  pos = wh_ws_mask(masked + cut, payload + cut, len - cut, key, pos);
  FUZZ_ASSERT(pos == (len & 3u));
  for (size_t i = 0; i < len; i++)
    FUZZ_ASSERT(masked[i] == (payload[i] ^ key[i & 3u]));
  wh_ws_mask(masked, masked, len, key, 0);
  FUZZ_ASSERT(len == 0 || memcmp(masked, payload, len) == 0);
  head[1] &= 0x7fu;
  rec(out, head, hl - 4);
  rec(out, masked, len);
  free(masked);
}

/* Rebuilds a stream from a transcript that ended between frames. */
static void reencode(const struct wh_buf *log, const uint8_t key[4], size_t cut,
                     struct wh_buf *out)
{
  const uint8_t *p = (const uint8_t *)log->p;
  size_t i = 0, n = log->len;
  struct wh_buf payload;
  wh_buf_init(&payload, SIZE_MAX / 2);
  unsigned op = 0, flags = 0;
  while (i < n && p[i] != 'Z') {
    switch (p[i]) {
    case 'F':
      op = p[i + 1];
      flags = (p[i + 2] ? WH_WS_FIN : 0) | (p[i + 3] && op != WH_WS_OP_CONT ? WH_WS_RSV1 : 0);
      FUZZ_ASSERT(get_u64(p + i + 4) <= SIZE_MAX);
      wh_buf_reset(&payload);
      i += 12;
      break;
    case 'd':
      rec(&payload, p + i + 1, 1);
      i += 2;
      break;
    case 'e':
      put_frame(out, op, flags, (const uint8_t *)payload.p, payload.len, key, cut);
      i += 2;
      break;
    case 'C': {
      unsigned cop = p[i + 1];
      size_t len = p[i + 2];
      put_frame(out, cop, WH_WS_FIN, p + i + 3, len, key, cut);
      i += 3 + len + (cop == WH_WS_OP_CLOSE ? 3 : 0);
      break;
    }
    default:
      FUZZ_ASSERT(0);
    }
  }
  wh_buf_free(&payload);
}

/* --- the target ---------------------------------------------------------------- */

/* Same events and verdict; |bytes| says the byte counts must match too
 * (not for a re-encoded stream). */
static void same(const struct result *a, const struct result *b, bool bytes)
{
  FUZZ_ASSERT(a->err == b->err && a->fail == b->fail && a->closed == b->closed);
  FUZZ_ASSERT(!bytes || a->consumed == b->consumed);
  FUZZ_ASSERT(a->log.len == b->log.len);
  FUZZ_ASSERT(a->log.len == 0 || memcmp(a->log.p, b->log.p, a->log.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  struct cfg cf = {limits[(data[0] >> 1) & 3u], (data[0] & 1u) != 0};
  size_t ncuts = data[1] & 15u;
  if (ncuts > size - 2)
    ncuts = size - 2;
  const uint8_t *cuts = data + 2;
  const uint8_t *in = data + 2 + ncuts;
  size_t n = size - 2 - ncuts;

  struct result whole, split, ref;
  bool boundary;
  decode(in, n, NULL, 0, &cf, true, &whole);
  reference(in, n, &cf, &ref, &boundary);
  same(&whole, &ref, true);
  decode(in, n, cuts, ncuts, &cf, true, &split);
  same(&whole, &split, true);
  wh_buf_free(&split.log);
  if (n <= 4096) {
    uint8_t *ones = malloc(n ? n : 1);
    FUZZ_ASSERT(ones);
    memset(ones, 1, n ? n : 1);
    struct result bytes;
    decode(in, n, ones, n, &cf, true, &bytes);
    free(ones);
    same(&whole, &bytes, true);
    wh_buf_free(&bytes.log);
  }

  /* What decoded cleanly, encoded again, decodes to the same transcript. */
  if (whole.err == ERROR_SUCCESS && boundary) {
    uint8_t key[4] = {data[0], data[1], (uint8_t)(n * 7u), (uint8_t)(n >> 8)};
    struct wh_buf again;
    wh_buf_init(&again, SIZE_MAX / 2);
    reencode(&whole.log, key, ncuts ? cuts[0] : 5, &again);
    struct result re, orig;
    decode((const uint8_t *)again.p, again.len, NULL, 0, &cf, false, &re);
    decode(in, n, NULL, 0, &cf, false, &orig);
    FUZZ_ASSERT(re.err == ERROR_SUCCESS);
    same(&re, &orig, false);
    wh_buf_free(&re.log);
    wh_buf_free(&orig.log);
    wh_buf_free(&again);
  }
  wh_buf_free(&whole.log);
  wh_buf_free(&ref.log);
  return 0;
}

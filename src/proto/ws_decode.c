/* see ws.h: the incremental decoder for the server's frames (RFC 6455 §5).
 *
 * A state machine over the input: the head is gathered byte by byte (at
 * most 10 bytes: a server frame has no masking key), and each rule is
 * checked by the byte that carries it, so a bad frame fails as early as
 * possible and any split of the input fails at the same byte. Data payload
 * is handed out in place; control payload is gathered into the state.
 */
#include "proto/ws.h"

#include <string.h>

enum {
  S_HEAD,    /* gathering a frame head */
  S_PAYLOAD, /* |remaining| bytes of a data frame's payload to hand out */
  S_CONTROL, /* |remaining| bytes of a control frame's payload to gather */
  S_CLOSED,  /* a Close frame was decoded: input is ignored */
  S_ERROR
};

void wh_ws_decoder_init(struct wh_ws_decoder *d, uint64_t max_message, bool deflate)
{
  memset(d, 0, sizeof(*d));
  d->state = S_HEAD;
  d->max_message = max_message;
  d->deflate = deflate;
  wh_utf8v_init(&d->utf8);
}

unsigned wh_ws_decoder_fail_code(const struct wh_ws_decoder *d)
{
  return d->state == S_ERROR ? d->fail_code : 0;
}

bool wh_ws_decoder_closed(const struct wh_ws_decoder *d)
{
  return d->state == S_CLOSED;
}

bool wh_ws_decoder_in_message(const struct wh_ws_decoder *d)
{
  return d->msg_opcode != 0;
}

static DWORD fail(struct wh_ws_decoder *d, unsigned code)
{
  d->state = S_ERROR;
  d->fail_code = code;
  d->error = ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
  return d->error;
}

/* The rules the first head byte carries (§5.2, §5.4, §5.5; RFC 7692 §6).
 * Returns the close code to fail with, or 0. */
static unsigned check_first(const struct wh_ws_decoder *d, uint8_t b)
{
  unsigned op = b & 0x0fu;
  bool fin = (b & 0x80u) != 0, rsv1 = (b & 0x40u) != 0;

  if (b & 0x30u)
    return WH_WS_CLOSE_PROTOCOL_ERROR; /* RSV2, RSV3: no extension uses them */
  if (op & WH_WS_OP_CONTROL_BIT) {
    if (op > WH_WS_OP_PONG)
      return WH_WS_CLOSE_PROTOCOL_ERROR; /* 0xB-0xF reserved */
    if (!fin || rsv1)
      return WH_WS_CLOSE_PROTOCOL_ERROR; /* §5.5; RFC 7692 §6.1 */
    return 0;
  }
  if (op > WH_WS_OP_BINARY)
    return WH_WS_CLOSE_PROTOCOL_ERROR; /* 3-7 reserved */
  if (op == WH_WS_OP_CONT) {
    if (!d->msg_opcode || rsv1)
      return WH_WS_CLOSE_PROTOCOL_ERROR; /* §5.4; RFC 7692 §6.1 */
    return 0;
  }
  if (d->msg_opcode)
    return WH_WS_CLOSE_PROTOCOL_ERROR; /* §5.4: fragments are not interleaved */
  if (rsv1 && !d->deflate)
    return WH_WS_CLOSE_PROTOCOL_ERROR; /* §5.2: no extension negotiated */
  return 0;
}

/* The head is complete: length rules, then the frame starts. Reports a
 * FRAME event, or for a control frame prepares the gathering of its
 * payload. Returns the close code to fail with, or 0. */
static unsigned head_done(struct wh_ws_decoder *d, struct wh_ws_event *ev)
{
  uint8_t b0 = d->head[0];
  unsigned op = b0 & 0x0fu;
  uint64_t len = d->head[1] & 0x7fu;

  if (len == 126) {
    len = (uint64_t)d->head[2] << 8 | d->head[3];
  } else if (len == 127) {
    len = 0;
    for (int i = 0; i < 8; i++)
      len = len << 8 | d->head[2 + i];
    if (len > WH_WS_MAX_FRAME_LEN)
      return WH_WS_CLOSE_PROTOCOL_ERROR; /* §5.2: the top bit MUST be 0 */
  }
  /* choice (ws.h): a length in a longer form than needed is accepted. */

  d->opcode = (uint8_t)op;
  d->fin = (b0 & 0x80u) != 0;
  d->frame_len = len;
  d->remaining = len;
  d->head_len = 0;

  if (op & WH_WS_OP_CONTROL_BIT) {
    if (len > WH_WS_CONTROL_MAX)
      return WH_WS_CLOSE_PROTOCOL_ERROR; /* §5.5 */
    d->ctrl_len = 0;
    d->state = S_CONTROL;
    return 0;
  }

  /* Data: the declared size of the message so far, saturating. */
  uint64_t total = op == WH_WS_OP_CONT ? d->msg_len : 0;
  total = total + len < total ? UINT64_MAX : total + len;
  if (d->max_message && total > d->max_message)
    return WH_WS_CLOSE_TOO_BIG; /* choice (ws.h): judged on declared lengths */
  if (op != WH_WS_OP_CONT) {
    d->msg_opcode = (uint8_t)op;
    d->msg_compressed = (b0 & 0x40u) != 0;
    wh_utf8v_init(&d->utf8);
  }
  d->msg_len = total;
  d->state = S_PAYLOAD;

  ev->type = WH_WS_EV_FRAME;
  ev->opcode = op;
  ev->fin = d->fin;
  ev->compressed = d->msg_compressed;
  ev->frame_len = len;
  return 0;
}

/* The control payload is complete: report it. Returns the close code to
 * fail with, or 0. */
static unsigned control_done(struct wh_ws_decoder *d, struct wh_ws_event *ev)
{
  ev->type = WH_WS_EV_CONTROL;
  ev->opcode = d->opcode;
  ev->fin = true;
  ev->frame_len = d->frame_len;
  ev->data = d->ctrl;
  ev->len = d->ctrl_len;
  if (d->opcode == WH_WS_OP_CLOSE) {
    unsigned code = 0;
    if (wh_ws_close_parse(d->ctrl, d->ctrl_len, &ev->close_code, &ev->reason, &ev->reason_len,
                          &code) != ERROR_SUCCESS) {
      memset(ev, 0, sizeof(*ev));
      return code;
    }
    d->state = S_CLOSED;
  } else {
    d->state = S_HEAD;
  }
  return 0;
}

/* UTF-8 of the |n| bytes at |p|, the next of the open text message's
 * payload. True when they are fine (and, when they end the message, it ends
 * on a character boundary). Otherwise |*good| is the offset of the byte at
 * which the message is known to be bad, with the validator as it was before
 * that byte: an invalid byte, or the message's last byte when it leaves a
 * character unfinished (0 for an empty last frame). choice (ws.h): the
 * caller hands out the bytes before it and fails at it on the next call, so
 * the bytes handed out never depend on how the input was split. */
static bool utf8_span(struct wh_ws_decoder *d, const uint8_t *p, size_t n, size_t *good)
{
  bool ends = n == d->remaining && d->fin;
  size_t body = ends && n ? n - 1 : n;
  size_t ok = wh_utf8v_feed(&d->utf8, p, body);

  *good = ok;
  if (ok != body)
    return false;
  if (!ends)
    return true;
  if (n == 0)
    return wh_utf8v_complete(&d->utf8);
  struct wh_utf8v before = d->utf8;
  if (wh_utf8v_feed(&d->utf8, p + body, 1) == 1 && wh_utf8v_complete(&d->utf8))
    return true;
  d->utf8 = before; /* the call that fails looks at that byte again */
  return false;
}

DWORD wh_ws_decode(struct wh_ws_decoder *d, const void *in, size_t len, size_t *consumed,
                   struct wh_ws_event *ev)
{
  /* No arithmetic on a NULL |in| (allowed with |len| 0), not even + 0. */
  const uint8_t *p = in ? in : (const uint8_t *)"";
  size_t i = 0;
  unsigned code = 0;

  memset(ev, 0, sizeof(*ev));
  *consumed = 0;
  if (d->state == S_ERROR)
    return d->error;

  for (;;) {
    switch (d->state) {
    case S_HEAD: {
      if (i == len)
        goto none;
      uint8_t b = p[i++];
      d->head[d->head_len++] = b;
      if (d->head_len == 1) {
        if ((code = check_first(d, b)) != 0)
          goto bad;
        d->head_need = 2;
      } else if (d->head_len == 2) {
        if (b & 0x80u) {
          code = WH_WS_CLOSE_PROTOCOL_ERROR; /* §5.1: a masked server frame */
          goto bad;
        }
        unsigned l7 = b & 0x7fu;
        d->head_need = l7 < 126 ? 2 : l7 == 126 ? 4 : 10;
      }
      if (d->head_len < 2 || d->head_len < d->head_need)
        break;
      if ((code = head_done(d, ev)) != 0)
        goto bad;
      if (ev->type == WH_WS_EV_FRAME) {
        *consumed = i;
        return ERROR_SUCCESS;
      }
      break; /* a control frame: gather its payload (perhaps none) */
    }

    case S_PAYLOAD: {
      size_t n = len - i;
      if (d->remaining && n == 0)
        goto none;
      if (n > d->remaining)
        n = (size_t)d->remaining;
      bool text = d->msg_opcode == WH_WS_OP_TEXT && !d->msg_compressed;
      if (text) {
        size_t good;
        if (!utf8_span(d, p + i, n, &good)) {
          if (good == 0) {
            /* The bad byte comes first: fail at it (an empty last frame
             * fails where its head ended). */
            i += n ? 1 : 0;
            code = WH_WS_CLOSE_INVALID_DATA;
            goto bad;
          }
          n = good; /* hand out the good bytes; the next call fails */
        }
      }
      d->remaining -= n;
      ev->frame_end = d->remaining == 0;
      ev->message_end = ev->frame_end && d->fin;
      ev->type = WH_WS_EV_DATA;
      ev->opcode = d->msg_opcode;
      ev->compressed = d->msg_compressed;
      ev->data = n ? p + i : NULL;
      ev->len = n;
      if (ev->frame_end) {
        d->state = S_HEAD;
        if (ev->message_end) {
          d->msg_opcode = 0;
          d->msg_compressed = false;
          d->msg_len = 0;
        }
      }
      *consumed = i + n;
      return ERROR_SUCCESS;
    }

    case S_CONTROL: {
      size_t n = len - i;
      if (n > d->remaining)
        n = (size_t)d->remaining;
      if (n) {
        memcpy(d->ctrl + d->ctrl_len, p + i, n);
        d->ctrl_len = (uint8_t)(d->ctrl_len + n);
        d->remaining -= n;
        i += n;
      }
      if (d->remaining)
        goto none; /* the input ran out */
      if ((code = control_done(d, ev)) != 0)
        goto bad;
      *consumed = i;
      return ERROR_SUCCESS;
    }

    case S_CLOSED:
      i = len; /* choice (ws.h): nothing after a Close is parsed */
      goto none;

    default:
      goto none; /* not reached: S_ERROR returned above */
    }
  }

none:
  *consumed = i;
  return ERROR_SUCCESS;

bad:
  *consumed = i;
  return fail(d, code);
}

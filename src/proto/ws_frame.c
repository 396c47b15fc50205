/* see ws.h: the sending side of RFC 6455 framing (the head of a client
 * frame, masking) and the close payload (§5.5.1, §7.4).
 *
 *    0               1               2               3
 *   +-+-+-+-+-------+-+-------------+-------------------------------+
 *   |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *   |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *   |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *   | |1|2|3|       |K|             |                               |
 *   +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *   |  Extended payload length continued, if payload len == 127     |
 *   + - - - - - - - - - - - - - - - +-------------------------------+
 *   |                               |Masking-key, if MASK set to 1  |
 *   +-------------------------------+-------------------------------+
 */
#include "proto/ws.h"

#include <string.h>

#include "proto/utf8_valid.h"

static bool opcode_known(unsigned op)
{
  return op == WH_WS_OP_CONT || op == WH_WS_OP_TEXT || op == WH_WS_OP_BINARY ||
         op == WH_WS_OP_CLOSE || op == WH_WS_OP_PING || op == WH_WS_OP_PONG;
}

DWORD wh_ws_encode_head(unsigned opcode, unsigned flags, uint64_t len, const uint8_t key[4],
                        uint8_t out[WH_WS_HEAD_MAX], size_t *head_len)
{
  if (!opcode_known(opcode) || (flags & ~(WH_WS_FIN | WH_WS_RSV1)) != 0 || !key ||
      len > WH_WS_MAX_FRAME_LEN)
    return ERROR_INVALID_PARAMETER;
  if (opcode & WH_WS_OP_CONTROL_BIT) {
    /* §5.5: control frames are never fragmented and carry <= 125 bytes;
     * RFC 7692 §6.1: RSV1 only marks compressed data messages. */
    if (!(flags & WH_WS_FIN) || (flags & WH_WS_RSV1) || len > WH_WS_CONTROL_MAX)
      return ERROR_INVALID_PARAMETER;
  } else if (opcode == WH_WS_OP_CONT && (flags & WH_WS_RSV1)) {
    return ERROR_INVALID_PARAMETER; /* RFC 7692 §6.1: first frame only */
  }

  size_t n = 2;
  out[0] = (uint8_t)(flags | opcode);
  if (len <= 125) {
    out[1] = (uint8_t)(0x80u | len);
  } else if (len <= 0xffff) {
    out[1] = 0x80u | 126u;
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    n = 4;
  } else {
    out[1] = 0x80u | 127u;
    for (int i = 0; i < 8; i++)
      out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    n = 10;
  }
  memcpy(out + n, key, 4);
  *head_len = n + 4;
  return ERROR_SUCCESS;
}

/* The hot path of sending: every payload byte goes through here. The key,
 * rotated to |pos|, is repeated into a 64-bit word; the payload is loaded,
 * xored and stored a word at a time through memcpy, which compilers turn
 * into plain unaligned loads and stores, so neither buffer's alignment
 * matters and the byte order of the machine does not either (key and data
 * are loaded the same way). Four words per iteration keep the loop body
 * free of the loop overhead; GCC and Clang vectorise it at -O2. */
unsigned wh_ws_mask(void *dst, const void *src, size_t n, const uint8_t key[4], unsigned pos)
{
  uint8_t *d = dst;
  const uint8_t *s = src;
  uint8_t k8[8];
  uint64_t kw;
  size_t i = 0;

  pos &= 3u;
  for (unsigned j = 0; j < 8; j++)
    k8[j] = key[(pos + j) & 3u];
  memcpy(&kw, k8, 8);

  for (; n - i >= 32; i += 32) {
    uint64_t a, b, c, e;
    memcpy(&a, s + i, 8);
    memcpy(&b, s + i + 8, 8);
    memcpy(&c, s + i + 16, 8);
    memcpy(&e, s + i + 24, 8);
    a ^= kw;
    b ^= kw;
    c ^= kw;
    e ^= kw;
    memcpy(d + i, &a, 8);
    memcpy(d + i + 8, &b, 8);
    memcpy(d + i + 16, &c, 8);
    memcpy(d + i + 24, &e, 8);
  }
  for (; n - i >= 8; i += 8) {
    uint64_t a;
    memcpy(&a, s + i, 8);
    a ^= kw;
    memcpy(d + i, &a, 8);
  }
  /* |i| is a multiple of 8 here, so k8 still lines up. */
  for (; i < n; i++)
    d[i] = (uint8_t)(s[i] ^ k8[i & 7u]);
  return (pos + (unsigned)(n & 3u)) & 3u;
}

bool wh_ws_close_code_valid(unsigned code)
{
  /* choice (ws.h): RFC 6455 §7.4.1 and IANA's registry; Autobahn 7.7/7.9. */
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

DWORD wh_ws_close_parse(const uint8_t *p, size_t n, unsigned *code, const uint8_t **reason,
                        size_t *reason_len, unsigned *fail_code)
{
  unsigned fail = 0;

  *code = WH_WS_CLOSE_NO_STATUS;
  *reason = NULL;
  *reason_len = 0;
  if (n == 0)
    goto ok; /* §5.5.1: the body is optional; §7.1.5: then no status */
  if (n == 1 || n > WH_WS_CONTROL_MAX) {
    fail = WH_WS_CLOSE_PROTOCOL_ERROR; /* a code is two bytes */
    goto bad;
  }
  unsigned c = (unsigned)p[0] << 8 | p[1];
  if (!wh_ws_close_code_valid(c)) {
    fail = WH_WS_CLOSE_PROTOCOL_ERROR;
    goto bad;
  }
  if (!wh_utf8_valid(p + 2, n - 2)) {
    fail = WH_WS_CLOSE_INVALID_DATA; /* §8.1 */
    goto bad;
  }
  *code = c;
  *reason = p + 2;
  *reason_len = n - 2;
ok:
  if (fail_code)
    *fail_code = 0;
  return ERROR_SUCCESS;
bad:
  if (fail_code)
    *fail_code = fail;
  return ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
}

DWORD wh_ws_close_build(unsigned code, const void *reason, size_t reason_len,
                        uint8_t out[WH_WS_CONTROL_MAX], size_t *out_len)
{
  if (reason_len && !reason)
    return ERROR_INVALID_PARAMETER;
  if (code == WH_WS_CLOSE_NO_STATUS) {
    if (reason_len)
      return ERROR_INVALID_PARAMETER; /* §5.5.1: a reason follows a code */
    *out_len = 0;
    return ERROR_SUCCESS;
  }
  if (!wh_ws_close_code_valid(code) || reason_len > WH_WS_CLOSE_REASON_MAX ||
      !wh_utf8_valid(reason, reason_len))
    return ERROR_INVALID_PARAMETER;
  out[0] = (uint8_t)(code >> 8);
  out[1] = (uint8_t)code;
  if (reason_len)
    memcpy(out + 2, reason, reason_len);
  *out_len = 2 + reason_len;
  return ERROR_SUCCESS;
}

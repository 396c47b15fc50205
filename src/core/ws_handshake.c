/* see ws_handshake.h */
#include "core/ws_handshake.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/str.h"

/* RFC 6455 §1.3. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

DWORD wh_ws_new_key(char key[WH_WS_KEY_LEN + 1])
{
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof(raw)) != 1)
    return ERROR_WINHTTP_INTERNAL_ERROR;
  EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));
  return ERROR_SUCCESS;
}

void wh_ws_accept_for(const char *key, char accept[WH_WS_ACCEPT_LEN + 1])
{
  /* Our keys are 24 characters; anything longer is cut, never overrun. */
  char in[64 + sizeof(ws_guid)];
  size_t kl = strnlen(key, 64);
  memcpy(in, key, kl);
  memcpy(in + kl, ws_guid, sizeof(ws_guid) - 1);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (EVP_Digest(in, kl + sizeof(ws_guid) - 1, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20) {
    /* Cannot happen with a working OpenSSL; an accept that matches no
     * server's answer fails the handshake rather than passing it. */
    memset(accept, '!', WH_WS_ACCEPT_LEN);
    accept[WH_WS_ACCEPT_LEN] = '\0';
    return;
  }
  EVP_EncodeBlock((unsigned char *)accept, md, (int)mdlen);
}

DWORD wh_ws_add_request_headers(struct wh_headers *h, const char *key, DWORD deflate)
{
  static const DWORD replace = WINHTTP_ADDREQ_FLAG_ADD | WINHTTP_ADDREQ_FLAG_REPLACE;
  DWORD err = wh_headers_apply_one(h, "Upgrade", 7, "websocket", 9, replace);
  if (err == ERROR_SUCCESS)
    err = wh_headers_apply_one(h, "Connection", 10, "Upgrade", 7, replace);
  if (err == ERROR_SUCCESS)
    err = wh_headers_apply_one(h, "Sec-WebSocket-Key", 17, key, strlen(key), replace);
  if (err == ERROR_SUCCESS) {
    err = wh_headers_apply_one(h, "Sec-WebSocket-Version", 21, "13", 2,
                               WINHTTP_ADDREQ_FLAG_ADD_IF_NEW);
    if (err == ERROR_WINHTTP_HEADER_ALREADY_EXISTS)
      err = ERROR_SUCCESS;
  }
  char offer[128];
  size_t n = wh_ws_deflate_offer(deflate, offer, sizeof(offer));
  if (err == ERROR_SUCCESS && n)
    err = wh_headers_apply_one(h, "Sec-WebSocket-Extensions", 24, offer, n, replace);
  return err;
}

static bool is_ows(char c)
{
  return c == ' ' || c == '\t';
}

/* Whether the comma-separated list |v| (every field named |name| in |h|)
 * holds the token |tok| (case-insensitively when |ci|). */
static bool list_has(const struct wh_headers *h, const char *name, const char *tok, size_t tlen,
                     bool ci)
{
  size_t nlen = strlen(name);
  for (size_t i = 0;; i++) {
    const struct wh_header *f = wh_headers_find(h, name, nlen, i);
    if (!f)
      return false;
    const char *p = f->value, *end = f->value + f->value_len;
    while (p < end) {
      const char *comma = memchr(p, ',', (size_t)(end - p));
      const char *e = comma ? comma : end;
      const char *a = p, *b = e;
      while (a < b && is_ows(*a))
        a++;
      while (b > a && is_ows(b[-1]))
        b--;
      size_t n = (size_t)(b - a);
      if (n == tlen && (ci ? wh_casecmp_eq(a, n, tok, tlen) : memcmp(a, tok, n) == 0))
        return true;
      p = comma ? comma + 1 : end;
    }
  }
}

DWORD wh_ws_check_response(const struct wh_resp_head *resp, const struct wh_headers *req,
                           const char *key, DWORD deflate, bool *deflated,
                           struct wh_ws_deflate_params *params)
{
  *deflated = false;
  const DWORD bad = ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
  if (resp->status != 101)
    return bad;
  if (!list_has(&resp->headers, "Upgrade", "websocket", 9, true) ||
      !list_has(&resp->headers, "Connection", "upgrade", 7, true))
    return bad;
  char want[WH_WS_ACCEPT_LEN + 1];
  wh_ws_accept_for(key, want);
  const struct wh_header *acc = wh_headers_find(&resp->headers, "Sec-WebSocket-Accept", 20, 0);
  if (!acc || wh_headers_find(&resp->headers, "Sec-WebSocket-Accept", 20, 1) ||
      acc->value_len != WH_WS_ACCEPT_LEN || memcmp(acc->value, want, WH_WS_ACCEPT_LEN) != 0)
    return bad;
  /* Only an extension we offered may be accepted (§4.1 item 5 of the
   * client's checks): permessage-deflate, when the application opted in
   * (winhttp_ext.h). */
  const struct wh_header *ext = wh_headers_find(&resp->headers, "Sec-WebSocket-Extensions", 24, 0);
  if (ext) {
    if (wh_headers_find(&resp->headers, "Sec-WebSocket-Extensions", 24, 1) ||
        wh_ws_deflate_answer(ext->value, ext->value_len, deflate, params) != ERROR_SUCCESS)
      return bad;
    *deflated = true;
  }
  /* A subprotocol must be one the application offered (§4.1 item 6). */
  const struct wh_header *proto = wh_headers_find(&resp->headers, "Sec-WebSocket-Protocol", 22, 0);
  if (proto && (wh_headers_find(&resp->headers, "Sec-WebSocket-Protocol", 22, 1) ||
                !list_has(req, "Sec-WebSocket-Protocol", proto->value, proto->value_len, false)))
    return bad;
  return ERROR_SUCCESS;
}

/* see h1.h: the request head (RFC 9112 §3) and upload chunk framing (§7.1). */
#include "proto/h1.h"

#include <string.h>

#include "util/str.h"

/* RFC 9110 §9.1 method = token. */
static bool valid_verb(const char *s)
{
  if (!s[0])
    return false;
  for (; *s; s++)
    if (!wh_is_tchar((unsigned char)*s))
      return false;
  return true;
}

/* The request-target and the version are separated by single SPs (§3), so
 * neither may hold SP, and no control byte may reach the wire, CR and LF
 * above all (request splitting). Escaping is the caller's job
 * (policy/escape.c); this is the last check before the socket. */
static bool valid_word(const char *s)
{
  if (!s[0])
    return false;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c <= 0x20 || c == 0x7f)
      return false;
  }
  return true;
}

DWORD wh_h1_request_head(const char *verb, const char *target, const char *version,
                         const struct wh_headers *h, struct wh_buf *out)
{
  if (!verb)
    verb = "GET";
  if (!version)
    version = "HTTP/1.1";
  if (!target || !valid_verb(verb) || !valid_word(target) || !valid_word(version))
    return ERROR_INVALID_PARAMETER;

  size_t old = out->len;
  int rc = wh_buf_adds(out, verb);
  if (rc == 0)
    rc = wh_buf_addc(out, ' ');
  if (rc == 0)
    rc = wh_buf_adds(out, target);
  if (rc == 0)
    rc = wh_buf_addc(out, ' ');
  if (rc == 0)
    rc = wh_buf_adds(out, version);
  if (rc == 0)
    rc = wh_buf_add(out, "\r\n", 2);
  DWORD err = ERROR_SUCCESS;
  if (rc == 0 && h)
    err = wh_headers_serialize(h, out); /* restores |out| itself on failure */
  if (rc == 0 && err == ERROR_SUCCESS)
    rc = wh_buf_add(out, "\r\n", 2);
  if (rc)
    err = rc == WH_BUF_TOOBIG ? ERROR_WINHTTP_HEADER_SIZE_OVERFLOW : ERROR_NOT_ENOUGH_MEMORY;
  if (err) {
    out->len = old;
    if (out->p)
      out->p[old] = '\0';
  }
  return err;
}

size_t wh_h1_chunk_header(uint64_t size, char out[WH_H1_CHUNK_HEADER_MAX])
{
  static const char hex[] = "0123456789abcdef";
  size_t n = 0;
  /* The digits, most significant first, without leading zeros (§7.1
   * chunk-size = 1*HEXDIG). */
  int shift = 60;
  while (shift > 0 && ((size >> shift) & 0xf) == 0)
    shift -= 4;
  for (; shift >= 0; shift -= 4)
    out[n++] = hex[(size >> shift) & 0xf];
  out[n++] = '\r';
  out[n++] = '\n';
  return n;
}

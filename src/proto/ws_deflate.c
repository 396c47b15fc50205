/* see ws_deflate.h */
#include "proto/ws_deflate.h"

#include <stdio.h>
#include <string.h>

#include <winhttp_ext.h>
#include "util/mem.h"
#include "util/str.h"

/* The end of every sync-flushed piece, stripped from a message's last one
 * and put back before inflating it (RFC 7692 §7.2.1, §7.2.2). */
static const uint8_t tail[4] = {0x00, 0x00, 0xFF, 0xFF};

size_t wh_ws_deflate_offer(DWORD flags, char *out, size_t cap)
{
  if (!(flags & WINHTTP_EXT_WEB_SOCKET_DEFLATE) || cap < 128)
    return 0;
  unsigned bits = (flags >> 8) & 0xFu;
  int n = snprintf(out, cap, "permessage-deflate%s%s", 
                   (flags & WINHTTP_EXT_WEB_SOCKET_DEFLATE_CLIENT_NO_CONTEXT_TAKEOVER)
                       ? "; client_no_context_takeover" : "",
                   (flags & WINHTTP_EXT_WEB_SOCKET_DEFLATE_SERVER_NO_CONTEXT_TAKEOVER)
                       ? "; server_no_context_takeover" : "");
  if (bits >= 8 && n > 0 && (size_t)n < cap)
    n += snprintf(out + n, cap - (size_t)n, "; server_max_window_bits=%u", bits);
  return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static bool is_ows(char c)
{
  return c == ' ' || c == '\t';
}

/* [a, b) without surrounding white space. */
static void trim(const char **a, const char **b)
{
  while (*a < *b && is_ows(**a))
    (*a)++;
  while (*b > *a && is_ows((*b)[-1]))
    (*b)--;
}

/* A window size: 8 to 15, bare or quoted. */
static bool window_bits(const char *v, size_t n, unsigned *bits)
{
  if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
    v++;
    n -= 2;
  }
  if (n == 1 && v[0] >= '8' && v[0] <= '9') {
    *bits = (unsigned)(v[0] - '0');
    return true;
  }
  if (n == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') {
    *bits = 10u + (unsigned)(v[1] - '0');
    return true;
  }
  return false;
}

DWORD wh_ws_deflate_answer(const char *value, size_t len, DWORD flags,
                           struct wh_ws_deflate_params *p)
{
  const DWORD bad = ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
  memset(p, 0, sizeof(*p));
  if (!(flags & WINHTTP_EXT_WEB_SOCKET_DEFLATE))
    return bad; /* nothing was offered: no extension may be accepted */
  const char *s = value, *end = value + len;
  /* One extension: a second element (after a comma) is one we never offered. */
  if (memchr(s, ',', len))
    return bad;
  const char *semi = memchr(s, ';', len);
  const char *name_end = semi ? semi : end;
  const char *a = s, *b = name_end;
  trim(&a, &b);
  if (!wh_casecmp_eq(a, (size_t)(b - a), "permessage-deflate", 18))
    return bad;
  bool seen_snct = false, seen_cnct = false, seen_smwb = false;
  unsigned asked = (flags >> 8) & 0xFu;
  const char *q = semi;
  while (q && q < end) {
    const char *start = q + 1;
    const char *next = memchr(start, ';', (size_t)(end - start));
    const char *pe = next ? next : end;
    const char *eq = memchr(start, '=', (size_t)(pe - start));
    const char *na = start, *nb = eq ? eq : pe;
    trim(&na, &nb);
    size_t nl = (size_t)(nb - na);
    const char *va = eq ? eq + 1 : pe, *vb = pe;
    trim(&va, &vb);
    if (wh_casecmp_eq(na, nl, "server_no_context_takeover", 26)) {
      if (seen_snct || eq)
        return bad;
      seen_snct = p->server_no_context_takeover = true;
    } else if (wh_casecmp_eq(na, nl, "client_no_context_takeover", 26)) {
      if (seen_cnct || eq)
        return bad;
      seen_cnct = p->client_no_context_takeover = true;
    } else if (wh_casecmp_eq(na, nl, "server_max_window_bits", 22)) {
      unsigned bits = 0;
      if (seen_smwb || !eq || !window_bits(va, (size_t)(vb - va), &bits) ||
          (asked >= 8 && bits > asked))
        return bad;
      seen_smwb = true;
      p->server_max_window_bits = bits;
    } else {
      /* client_max_window_bits was never offered (§7.1.2.2), and nothing
       * else is defined. */
      return bad;
    }
    q = next;
  }
  return ERROR_SUCCESS;
}

DWORD wh_ws_deflate_init(struct wh_ws_deflate *d, const struct wh_ws_deflate_params *p)
{
  memset(d, 0, sizeof(*d));
  d->p = *p;
  d->max_message = WH_WS_INFLATED_MAX;
  d->dz.zalloc = d->iz.zalloc = wh_zlib_alloc;
  d->dz.zfree = d->iz.zfree = wh_zlib_free;
  /* Raw deflate (negative window bits), 15-bit windows: see the header. */
  if (deflateInit2(&d->dz, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return ERROR_NOT_ENOUGH_MEMORY;
  d->dz_ready = true;
  if (inflateInit2(&d->iz, -15) != Z_OK) {
    wh_ws_deflate_free(d);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  d->iz_ready = true;
  return ERROR_SUCCESS;
}

void wh_ws_deflate_free(struct wh_ws_deflate *d)
{
  if (d->dz_ready)
    deflateEnd(&d->dz);
  if (d->iz_ready)
    inflateEnd(&d->iz);
  d->dz_ready = d->iz_ready = false;
}

size_t wh_ws_deflate_bound(size_t len)
{
  /* Stored blocks at worst (5 bytes per 64 KiB), plus the flush. */
  return len + (len >> 10) + 64;
}

DWORD wh_ws_deflate_compress(struct wh_ws_deflate *d, const void *in, size_t len, bool final,
                             uint8_t *out, size_t cap, size_t *out_len)
{
  z_stream *z = &d->dz;
  z->next_in = (Bytef *)(uintptr_t)in;
  z->next_out = out;
  z->avail_out = (uInt)cap;
  size_t left = len;
  /* zlib counts in uInt: feed very large messages in pieces. */
  do {
    uInt piece = left > (1u << 30) ? (1u << 30) : (uInt)left;
    z->avail_in = piece;
    int rc = deflate(z, piece == left ? Z_SYNC_FLUSH : Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      return ERROR_WINHTTP_INTERNAL_ERROR;
    left -= piece - z->avail_in;
    if (z->avail_out == 0)
      return ERROR_WINHTTP_INTERNAL_ERROR; /* cannot happen within the bound */
  } while (left);
  size_t n = cap - z->avail_out;
  if (final) {
    if (n >= 4 && memcmp(out + n - 4, tail, 4) == 0)
      n -= 4;
    /* Nothing came out (an empty message right after a flushed one: zlib
     * emits no second empty block): the message is then the single byte
     * 0x00, an empty stored block's header, which the receiver's appended
     * 00 00 FF FF completes (RFC 7692 §7.2.3.6). Sending nothing would
     * leave the receiver's stream one header short. */
    if (n == 0) {
      out[0] = 0x00;
      n = 1;
    }
    if (d->p.client_no_context_takeover)
      deflateReset(z);
  }
  *out_len = n;
  return ERROR_SUCCESS;
}

DWORD wh_ws_deflate_inflate(struct wh_ws_deflate *d, const uint8_t *in, size_t in_len,
                            bool message_end, uint8_t *out, size_t cap, size_t *used,
                            size_t *made, bool *done, unsigned *fail_code)
{
  z_stream *z = &d->iz;
  *used = *made = 0;
  *done = false;
  for (;;) {
    /* The span first; once it is all in and the message ends, the tail
     * (which may already be in: then only pending output is drained). */
    bool on_tail = *used == in_len && message_end;
    const uint8_t *src = on_tail ? tail + d->tail_off : in + *used;
    size_t avail = on_tail ? 4u - d->tail_off : in_len - *used;
    if (avail > (1u << 30))
      avail = 1u << 30;
    size_t room = cap - *made;
    if (room > (1u << 30))
      room = 1u << 30;
    z->next_in = (Bytef *)(uintptr_t)src;
    z->avail_in = (uInt)avail;
    z->next_out = out + *made;
    z->avail_out = (uInt)room;
    int rc = inflate(z, Z_SYNC_FLUSH);
    size_t took = avail - z->avail_in, gave = room - z->avail_out;
    if (on_tail)
      d->tail_off += (unsigned)took;
    else
      *used += took;
    *made += gave;
    d->inflated += gave;
    if (rc == Z_STREAM_END) {
      /* A block with BFINAL set ends the stream; what follows starts a new
       * one (RFC 7692 §7.2.3.3 lets a server do this). */
      inflateReset(z);
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      *fail_code = 1007;
      return ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
    }
    if (d->inflated > d->max_message) {
      *fail_code = 1009;
      return ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
    }
    if (*made == cap)
      return ERROR_SUCCESS; /* more may be pending: the caller comes back */
    if (!on_tail) {
      if (*used < in_len) {
        if (took || gave)
          continue;
        *fail_code = 1007; /* zlib took nothing with room to spare */
        return ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
      }
      if (!message_end)
        return ERROR_SUCCESS; /* the span is in; more frames follow */
      continue;             /* now the tail */
    }
    if (d->tail_off < 4 && (took || gave))
      continue;
    if (d->tail_off < 4) {
      *fail_code = 1007;
      return ERROR_WINHTTP_INVALID_SERVER_RESPONSE;
    }
    /* Everything is in and the output has room left: the message is
     * complete. */
    *done = true;
    d->tail_off = 0;
    d->inflated = 0;
    if (d->p.server_no_context_takeover)
      inflateReset(z);
    return ERROR_SUCCESS;
  }
}

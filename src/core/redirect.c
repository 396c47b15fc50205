/* see redirect.h */
#include "core/redirect.h"

#include <stdio.h>
#include <string.h>

#include "core/exchange.h"
#include "core/object.h"
#include "policy/escape.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/utf.h"

/* --- resolving a Location (RFC 3986 §5.2, without dot-segment removal) ------ */

static bool prefix_ci(const char *s, size_t len, const char *p)
{
  size_t n = strlen(p);
  return len >= n && wh_casecmp_eq(s, n, p, n);
}

static DWORD parse_authority(const char *a, size_t len, bool secure, struct wh_url_target *out)
{
  /* Userinfo is dropped: credentials never travel through a redirect. */
  const char *at = memchr(a, '@', len);
  if (at) {
    len -= (size_t)(at + 1 - a);
    a = at + 1;
  }
  size_t hlen = len;
  const char *port = NULL;
  if (len && a[0] == '[') {
    const char *close = memchr(a, ']', len);
    if (!close)
      return ERROR_WINHTTP_REDIRECT_FAILED;
    hlen = (size_t)(close + 1 - a);
    if (hlen < len) {
      if (a[hlen] != ':')
        return ERROR_WINHTTP_REDIRECT_FAILED;
      port = a + hlen + 1;
    }
  } else {
    const char *colon = memchr(a, ':', len);
    if (colon) {
      hlen = (size_t)(colon - a);
      port = colon + 1;
    }
  }
  if (hlen == 0 || hlen >= sizeof(out->host))
    return ERROR_WINHTTP_REDIRECT_FAILED;
  for (size_t i = 0; i < hlen; i++) {
    unsigned char c = (unsigned char)a[i];
    if (c <= 0x20 || c == 0x7F || c == '/' || c == '\\')
      return ERROR_WINHTTP_REDIRECT_FAILED;
    out->host[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : (char)c;
  }
  out->host[hlen] = '\0';
  out->port = secure ? 443 : 80;
  if (port) {
    size_t plen = (size_t)(a + len - port);
    uint64_t v;
    if (plen) {
      if (!wh_parse_u64(port, plen, 65535, &v) || v == 0)
        return ERROR_WINHTTP_REDIRECT_FAILED;
      out->port = (uint16_t)v;
    }
  }
  return ERROR_SUCCESS;
}

static DWORD set_path(struct wh_url_target *out, const char *dir, size_t dlen, const char *p,
                      size_t plen)
{
  /* The fragment stays with the client (RFC 9110 §10.2.2). */
  const char *hash = memchr(p, '#', plen);
  if (hash)
    plen = (size_t)(hash - p);
  char *joined = wh_malloc(dlen + plen + 2);
  if (!joined)
    return ERROR_NOT_ENOUGH_MEMORY;
  memcpy(joined, dir, dlen);
  memcpy(joined + dlen, p, plen);
  joined[dlen + plen] = '\0';
  /* Escape what a server should have escaped (spaces, controls, non-ASCII)
   * so that the request line stays well-formed. */
  char *escaped = NULL;
  DWORD err = wh_escape_request_target(joined, dlen + plen, 0, &escaped);
  wh_free(joined);
  if (err != ERROR_SUCCESS)
    return err;
  out->path = escaped;
  return ERROR_SUCCESS;
}

DWORD wh_url_resolve(const struct wh_url_target *base, const char *loc, size_t len,
                     struct wh_url_target *out)
{
  memset(out, 0, sizeof(*out));
  while (len && wh_is_ows(loc[len - 1]))
    len--;
  while (len && wh_is_ows(*loc)) {
    loc++;
    len--;
  }
  if (len == 0)
    return ERROR_WINHTTP_REDIRECT_FAILED;
  const char *auth = NULL;
  if (prefix_ci(loc, len, "http://") || prefix_ci(loc, len, "https://")) {
    out->secure = loc[4] == 's' || loc[4] == 'S';
    size_t skip = out->secure ? 8 : 7;
    auth = loc + skip;
    len -= skip;
  } else if (len >= 2 && loc[0] == '/' && loc[1] == '/') {
    out->secure = base->secure;
    auth = loc + 2;
    len -= 2;
  } else {
    /* Any other scheme ("ftp:", "javascript:") is not followed. */
    for (size_t i = 0; i < len && loc[i] != '/' && loc[i] != '?' && loc[i] != '#'; i++)
      if (loc[i] == ':')
        return ERROR_WINHTTP_REDIRECT_FAILED;
  }
  if (auth) {
    size_t alen = 0;
    while (alen < len && auth[alen] != '/' && auth[alen] != '?' && auth[alen] != '#')
      alen++;
    DWORD err = parse_authority(auth, alen, out->secure, out);
    if (err != ERROR_SUCCESS)
      return err;
    const char *rest = auth + alen;
    size_t rlen = len - alen;
    return rlen && rest[0] == '/' ? set_path(out, "", 0, rest, rlen) : set_path(out, "/", 1, rest, rlen);
  }
  out->secure = base->secure;
  memcpy(out->host, base->host, sizeof(out->host));
  out->port = base->port;
  if (loc[0] == '/')
    return set_path(out, "", 0, loc, len);
  /* Relative: replace the last segment of the base path (its query
   * dropped). A bare "?q" keeps the whole base path. */
  const char *bp = base->path ? base->path : "/";
  size_t blen = strcspn(bp, "?");
  if (loc[0] == '?')
    return set_path(out, bp, blen, loc, len);
  while (blen && bp[blen - 1] != '/')
    blen--;
  return set_path(out, bp, blen, loc, len);
}

/* --- following --------------------------------------------------------------------- */

static void notify_url(struct wh_request *r, const struct wh_url_target *t)
{
  char url[2048];
  bool dflt = t->port == (t->secure ? 443 : 80);
  int n = dflt ? snprintf(url, sizeof(url), "%s://%s%s", t->secure ? "https" : "http", t->host,
                          t->path)
               : snprintf(url, sizeof(url), "%s://%s:%u%s", t->secure ? "https" : "http",
                          t->host, (unsigned)t->port, t->path);
  if (n < 0 || (size_t)n >= sizeof(url))
    n = 0;
  size_t wn = wh_wide_len_of_utf8(url, (size_t)n);
  WCHAR *w = wh_malloc((wn + 1) * sizeof(WCHAR));
  if (!w)
    return; /* a notification is not worth failing the request over */
  wh_wide_from_utf8_buf(url, (size_t)n, w);
  w[wn] = L'\0';
  wh_notify(&r->hdr, WINHTTP_CALLBACK_STATUS_REDIRECT, w, (DWORD)(wn + 1));
  wh_free(w);
}

static void drop_header(struct wh_request *r, const char *name)
{
  /* REPLACE with an empty value deletes (WinHttpAddRequestHeaders). */
  while (wh_headers_apply_one(&r->headers, name, strlen(name), "", 0,
                              WINHTTP_ADDREQ_FLAG_REPLACE) == ERROR_SUCCESS &&
         wh_headers_find(&r->headers, name, strlen(name), 0))
    ;
}

DWORD wh_redirect_maybe(struct wh_request *r, struct wh_io *io, bool *again)
{
  struct wh_exchange *x = &r->x;
  *again = false;
  unsigned st = x->resp.status;
  if (st != 301 && st != 302 && st != 303 && st != 307 && st != 308)
    return ERROR_SUCCESS;
  if ((r->settings.disabled_features & WINHTTP_DISABLE_REDIRECTS) ||
      r->settings.redirect_policy == WINHTTP_OPTION_REDIRECT_POLICY_NEVER)
    return ERROR_SUCCESS;
  const struct wh_header *loc = wh_headers_find(&x->resp.headers, "Location", 8, 0);
  if (!loc)
    return ERROR_SUCCESS;

  bool to_get = st == 303 ? strcmp(r->verb, "HEAD") != 0
                          : (st == 301 || st == 302) && strcmp(r->verb, "POST") == 0;
  /* A 307/308 must repeat the body; one that was streamed is gone. */
  if (!to_get && !wh_exchange_resendable(x))
    return ERROR_SUCCESS;

  struct wh_url_target base = {.secure = x->secure, .port = x->port, .path = r->path};
  snprintf(base.host, sizeof(base.host), "%s", x->host);
  struct wh_url_target to;
  DWORD err = wh_url_resolve(&base, loc->value, loc->value_len, &to);
  if (err != ERROR_SUCCESS)
    return err;
  if (x->secure && !to.secure &&
      r->settings.redirect_policy == WINHTTP_OPTION_REDIRECT_POLICY_DISALLOW_HTTPS_TO_HTTP) {
    wh_free(to.path);
    return ERROR_WINHTTP_REDIRECT_FAILED;
  }
  if (++x->redirect_count > r->settings.max_redirects) {
    wh_free(to.path);
    return ERROR_WINHTTP_REDIRECT_FAILED;
  }

  notify_url(r, &to);

  /* The redirect's own body: skipped when it is already here, otherwise the
   * connection is not worth draining and is closed. */
  bool same_origin = to.secure == x->secure && to.port == x->port && strcmp(to.host, x->host) == 0;
  size_t buffered = wh_exchange_buffered(x);
  bool drained = x->body_done ||
                 (x->fr.kind == WH_H1_BODY_LENGTH && buffered == x->body_left);
  if (drained && x->fr.kind == WH_H1_BODY_LENGTH) {
    x->rpos += buffered;
    x->body_left = 0;
  }
  if (x->conn && !(drained && x->fr.keep_alive && x->rend == x->rpos)) {
    wh_conn_free(x->conn);
    x->conn = NULL;
  } else if (x->conn && !same_origin) {
    wh_pool_put(x->conn);
    x->conn = NULL;
  }
  x->rpos = x->rend = 0;
  wh_exchange_drop_stream(x); /* an HTTP/2 stream: reset unless its body ended */
  wh_exchange_reset_response(x);

  /* The application's headers go along, to any origin, Authorization and
   * Cookie included: Microsoft's WinHttpAddRequestHeaders remarks say
   * "Headers are transferred across redirects" and leave correcting them
   * to the application's REDIRECT callback (notify_url above: it runs
   * before the new request is built, so what it changes applies). .NET's
   * WinHttpHandler removes Authorization there itself. Only the headers
   * the library made are redone. */
  pthread_mutex_lock(&r->hdr.lock);
  drop_header(r, "Host");
  if (to_get) {
    drop_header(r, "Content-Length");
    drop_header(r, "Content-Type");
    drop_header(r, "Transfer-Encoding");
  }
  char *verb = to_get ? wh_strndup("GET", 3) : NULL;
  if (to_get && verb) {
    wh_free(r->verb);
    r->verb = verb;
  }
  wh_free(r->path);
  r->path = to.path;
  pthread_mutex_unlock(&r->hdr.lock);
  if (to_get && !verb)
    return ERROR_NOT_ENOUGH_MEMORY;

  wh_free(x->host);
  x->host = wh_strndup(to.host, strlen(to.host));
  if (!x->host)
    return ERROR_NOT_ENOUGH_MEMORY;
  x->port = to.port;
  x->secure = to.secure;
  x->retried = false;
  err = to_get ? wh_exchange_prepare(r, NULL, 0, 0)
               : wh_exchange_prepare(r, x->body_copy, (DWORD)x->opt_len, (DWORD)x->opt_len);
  if (err != ERROR_SUCCESS)
    return err;
  io->deadline = 0;
  *again = true;
  return ERROR_SUCCESS;
}

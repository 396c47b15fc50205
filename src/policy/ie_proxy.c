/* see ie_proxy.h */
#include "policy/ie_proxy.h"

#include <string.h>

#include "policy/proxy_env.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/str.h"

/* No desktop setting comes near these; they only bound what a hostile or
 * corrupt configuration can make us allocate. */
#define SERVER_MAX (64u * 1024u)
#define LIST_MAX (1024u * 1024u)
#define PAC_MAX (8u * 1024u)

static const char *const keys[WH_IE_SCHEMES] = {"http", "https", "ftp", "socks"};

void wh_ie_proxy_clear(struct wh_ie_proxy *c)
{
  wh_free(c->auto_config_url);
  wh_free(c->proxy);
  wh_free(c->bypass);
  c->auto_detect = false;
  c->auto_config_url = c->proxy = c->bypass = NULL;
}

bool wh_ie_proxy_configured(const struct wh_ie_proxy *c)
{
  return c->auto_detect || c->auto_config_url || c->proxy;
}

static uint64_t fnv_byte(uint64_t h, unsigned char b)
{
  return (h ^ b) * 0x100000001b3ull;
}

uint64_t wh_fingerprint_str(uint64_t h, const char *s)
{
  /* A marker byte first, so that NULL, "" and the end of one string
   * followed by the start of the next all differ. */
  h = fnv_byte(h, s ? 1 : 0);
  for (; s && *s; s++)
    h = fnv_byte(h, (unsigned char)*s);
  return fnv_byte(h, 0);
}

uint64_t wh_ie_proxy_fingerprint(uint64_t seed, const struct wh_ie_proxy *c)
{
  uint64_t h = fnv_byte(seed, c->auto_detect ? 1 : 0);
  h = wh_fingerprint_str(h, c->auto_config_url);
  h = wh_fingerprint_str(h, c->proxy);
  return wh_fingerprint_str(h, c->bypass);
}

static bool is_space(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_sep(unsigned char c)
{
  return c == ',' || c == ';' || is_space(c);
}

/* A usable server value: present, not empty, not absurdly long. */
static const char *server_of(const struct wh_ie_manual *m, int k)
{
  const char *v = m->server[k];
  if (!v || !v[0] || strlen(v) > SERVER_MAX)
    return NULL;
  return v;
}

/* The length of a "scheme://" at the start of |t| (RFC 3986 §3.1 scheme),
 * or 0. */
static size_t scheme_prefix(const char *t, size_t n)
{
  if (n == 0 || !wh_is_alpha((unsigned char)t[0]))
    return 0;
  for (size_t i = 1; i + 2 < n; i++) {
    unsigned char c = (unsigned char)t[i];
    if (c == ':' && t[i + 1] == '/' && t[i + 2] == '/')
      return i + 3;
    if (!wh_is_alnum(c) && c != '+' && c != '-' && c != '.')
      return 0;
  }
  return 0;
}

/* Adds "<key>=socks://<rest>" where |rest| is the SOCKS server without its
 * scheme: the SOCKS proxy serving a scheme that has none of its own. */
static int add_via_socks(struct wh_buf *list, const char *key, const char *rest)
{
  struct wh_buf url;
  wh_buf_init(&url, SERVER_MAX + 16);
  int r = -1;
  if (wh_buf_adds(&url, "socks://") == 0 && wh_buf_adds(&url, rest) == 0)
    r = wh_proxy_env_add_server(list, key, url.p);
  wh_buf_free(&url);
  return r;
}

/* The proxy list of |m| into |list| (left empty when no server is
 * usable). -1 when out of memory. */
static int build_list(const struct wh_ie_manual *m, struct wh_buf *list)
{
  /* The SOCKS server without the scheme a desktop may have put before it:
   * Windows' "socks=" entry names a host, and the fallback entries name
   * the scheme themselves. First checked on its own, so that an unusable
   * value serves no scheme. */
  const char *socks = server_of(m, WH_IE_SOCKS);
  if (socks) {
    size_t skip = scheme_prefix(socks, strlen(socks));
    socks += skip;
    struct wh_buf probe;
    wh_buf_init(&probe, LIST_MAX);
    int r = wh_proxy_env_add_server(&probe, "socks", socks);
    wh_buf_free(&probe);
    if (r < 0)
      return -1;
    if (r == 0)
      socks = NULL;
  }
  for (int k = 0; k < WH_IE_SOCKS; k++) {
    const char *v = server_of(m, k);
    /* "ftp=ftp://host" says what "ftp=host" says (KDE writes the former);
     * other schemes stay for the engine to judge (proxy_env.h). */
    if (v && k == WH_IE_FTP && scheme_prefix(v, strlen(v)) == 6 && wh_casecmp_eq(v, 3, "ftp", 3))
      v += 6;
    int r = v ? wh_proxy_env_add_server(list, keys[k], v) : 0;
    if (r == 0 && k == WH_IE_HTTPS && m->https_uses_http && (v = server_of(m, WH_IE_HTTP)))
      r = wh_proxy_env_add_server(list, keys[k], v);
    if (r == 0 && socks)
      r = add_via_socks(list, keys[k], socks);
    if (r < 0)
      return -1;
  }
  if (socks && wh_proxy_env_add_server(list, "socks", socks) < 0)
    return -1;
  return 0;
}

/* The bypass list of |in| (see ie_proxy.h) into *out (NULL when empty). */
static DWORD build_bypass(const char *in, char **out)
{
  struct wh_buf plain, full;
  wh_buf_init(&plain, LIST_MAX);
  wh_buf_init(&full, LIST_MAX);
  char *mapped = NULL;
  bool local = false, nomem = false;
  *out = NULL;
  for (const char *p = in; p && *p && !nomem;) {
    while (*p && is_sep((unsigned char)*p))
      p++;
    const char *t = p;
    while (*p && !is_sep((unsigned char)*p))
      p++;
    size_t n = (size_t)(p - t);
    if (n == 0)
      break;
    if (wh_casecmp_eqz(t, n, "<local>")) {
      local = true;
      continue;
    }
    /* A URL names its host: drop the scheme and anything from the path
     * on. Only after a scheme, where a '/' cannot be a CIDR prefix. */
    size_t skip = scheme_prefix(t, n);
    if (skip) {
      t += skip;
      n -= skip;
      const char *slash = memchr(t, '/', n);
      if (slash)
        n = (size_t)(slash - t);
      if (n == 0)
        continue;
    }
    if ((plain.len && wh_buf_addc(&plain, ',') != 0) || wh_buf_add(&plain, t, n) != 0)
      nomem = true;
  }
  DWORD err = ERROR_SUCCESS;
  if (nomem || (plain.len && wh_proxy_env_bypass(plain.p, &mapped) != ERROR_SUCCESS)) {
    err = ERROR_NOT_ENOUGH_MEMORY;
    goto out;
  }
  if (mapped && wh_buf_adds(&full, mapped) != 0)
    err = ERROR_NOT_ENOUGH_MEMORY;
  /* "*" already bypasses every host, "<local>" ones included. */
  bool everything = mapped && !strcmp(mapped, "*");
  if (err == ERROR_SUCCESS && local && !everything &&
      ((full.len && wh_buf_addc(&full, ';') != 0) || wh_buf_adds(&full, "<local>") != 0))
    err = ERROR_NOT_ENOUGH_MEMORY;
  if (err == ERROR_SUCCESS && full.len && !(*out = wh_buf_take(&full, NULL)))
    err = ERROR_NOT_ENOUGH_MEMORY;
out:
  wh_free(mapped);
  wh_buf_free(&plain);
  wh_buf_free(&full);
  return err;
}

DWORD wh_ie_proxy_manual(const struct wh_ie_manual *m, struct wh_ie_proxy *out)
{
  struct wh_buf list;
  wh_buf_init(&list, LIST_MAX);
  char *proxy = NULL, *bypass = NULL;
  DWORD err = ERROR_NOT_ENOUGH_MEMORY;
  if (build_list(m, &list) < 0)
    goto out;
  if (list.len == 0) {
    err = ERROR_SUCCESS; /* no proxy: the bypass list means nothing */
    goto out;
  }
  if (build_bypass(m->bypass, &bypass) != ERROR_SUCCESS)
    goto out;
  if (!(proxy = wh_buf_take(&list, NULL)))
    goto out;
  out->proxy = proxy;
  out->bypass = bypass;
  bypass = NULL;
  err = ERROR_SUCCESS;
out:
  wh_free(bypass);
  wh_buf_free(&list);
  return err;
}

DWORD wh_ie_proxy_pac(const char *url, struct wh_ie_proxy *out)
{
  if (!url)
    return ERROR_SUCCESS;
  size_t n = strlen(url);
  while (n && is_space((unsigned char)url[0]))
    url++, n--;
  while (n && is_space((unsigned char)url[n - 1]))
    n--;
  if (n == 0 || n > PAC_MAX)
    return ERROR_SUCCESS;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)url[i];
    if (c < 0x20 || c == 0x7f)
      return ERROR_SUCCESS;
  }
  char *copy = wh_strndup(url, n);
  if (!copy)
    return ERROR_NOT_ENOUGH_MEMORY;
  wh_free(out->auto_config_url);
  out->auto_config_url = copy;
  return ERROR_SUCCESS;
}

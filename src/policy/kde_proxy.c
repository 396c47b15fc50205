/* see kde_proxy.h. KIO's rules as KDE Frameworks' KProtocolManager applies
 * them (proxyFor, proxiesForUrl, shouldIgnoreProxyFor). */
#include "policy/kde_proxy.h"

#include <string.h>

#include "util/mem.h"
#include "util/str.h"

#define NAME_MAX_LEN 256

/* KIO's "URL PORT": the text after the last space must be digits, which
 * become the port after a ':'. Returns a new string (wh_free), or NULL
 * with *nomem false when the value is to be discarded. */
static char *manual_server(const char *v, bool *nomem)
{
  if (!v)
    return NULL;
  size_t n = strlen(v);
  const char *space = NULL;
  for (size_t i = n; i > 0; i--)
    if (v[i - 1] == ' ') {
      space = v + i - 1;
      break;
    }
  char *out = wh_strndup(v, n);
  if (!out) {
    *nomem = true;
    return NULL;
  }
  if (space) {
    size_t at = (size_t)(space - v);
    for (size_t i = at + 1; i < n; i++) {
      if (!wh_is_digit((unsigned char)v[i])) {
        wh_free(out);
        return NULL;
      }
    }
    out[at] = ':';
  }
  return out;
}

/* The value of the first variable of the comma-separated |names| that is
 * set and not empty, or NULL. */
static const char *env_value(const char *names, wh_kde_getenv_fn env, void *ctx)
{
  if (!names)
    return NULL;
  const char *p = names;
  while (*p) {
    while (*p == ',' || *p == ' ' || *p == '\t')
      p++;
    const char *t = p;
    while (*p && *p != ',' && *p != ' ' && *p != '\t')
      p++;
    size_t n = (size_t)(p - t);
    if (n == 0 || n >= NAME_MAX_LEN)
      continue;
    char name[NAME_MAX_LEN];
    memcpy(name, t, n);
    name[n] = '\0';
    /* httpoxy: in a CGI program HTTP_PROXY is the client's Proxy: header. */
    if (!strcmp(name, "HTTP_PROXY") && env("GATEWAY_INTERFACE", ctx))
      continue;
    const char *v = env(name, ctx);
    if (v && v[0])
      return v;
  }
  return NULL;
}

static DWORD map_manual(const struct wh_kde_settings *s, struct wh_ie_proxy *out)
{
  char *text[WH_IE_SCHEMES] = {NULL};
  struct wh_ie_manual m = {.https_uses_http = false};
  bool nomem = false;
  for (int k = 0; k < WH_IE_SCHEMES && !nomem; k++)
    m.server[k] = text[k] = manual_server(s->server[k], &nomem);
  m.bypass = s->reversed ? NULL : s->no_proxy_for;
  DWORD err = nomem ? ERROR_NOT_ENOUGH_MEMORY : wh_ie_proxy_manual(&m, out);
  for (int k = 0; k < WH_IE_SCHEMES; k++)
    wh_free(text[k]);
  return err;
}

static DWORD map_env(const struct wh_kde_settings *s, wh_kde_getenv_fn env, void *ctx,
                     struct wh_ie_proxy *out)
{
  struct wh_ie_manual m = {.https_uses_http = false};
  for (int k = 0; k < WH_IE_SCHEMES; k++)
    m.server[k] = env_value(s->server[k], env, ctx);
  m.bypass = env_value(s->no_proxy_for, env, ctx);
  return wh_ie_proxy_manual(&m, out);
}

DWORD wh_kde_proxy_map(const struct wh_kde_settings *s, wh_kde_getenv_fn env, void *ctx,
                       struct wh_ie_proxy *out)
{
  switch (s->proxy_type) {
  case WH_KDE_MANUAL: return map_manual(s, out);
  case WH_KDE_PAC: return wh_ie_proxy_pac(s->script, out);
  case WH_KDE_WPAD: out->auto_detect = true; return ERROR_SUCCESS;
  case WH_KDE_ENV: return map_env(s, env, ctx, out);
  default: return ERROR_SUCCESS;
  }
}

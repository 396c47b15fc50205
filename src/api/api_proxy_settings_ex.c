/* The extended proxy settings: WinHttpGetProxySettingsEx,
 * WinHttpGetProxySettingsResultEx, WinHttpFreeProxySettingsEx.
 *
 * Microsoft: WinHttpGetProxySettingsEx "retrieves extended proxy settings"
 * on a resolver handle (WinHttpCreateProxyResolver) and returns
 * ERROR_IO_PENDING; the outcome arrives by callback
 * (WINHTTP_CALLBACK_STATUS_GETPROXYSETTINGS_COMPLETE, or REQUEST_ERROR
 * with API_GET_PROXY_SETTINGS), then WinHttpGetProxySettingsResultEx fills
 * a WINHTTP_PROXY_SETTINGS_EX whose memory WinHttpFreeProxySettingsEx
 * frees. The settings types name who asks (WSL, WSA, Xbox: Windows hands
 * its user's proxy to those guests, Microsoft's WSL service calls this with
 * WinHttpProxySettingsTypeWsl); here every type gets the current user's
 * settings, the same as WinHttpGetIEProxyConfigForCurrentUser reports
 * (core/desktop_proxy.h), read on the calling thread and reported from the
 * resolver's loop thread (core/resolver.h). */
#include <string.h>

#include "api/api.h"
#include "api/api_ieproxy.h"
#include "core/handle.h"
#include "core/proxy_version.h"
#include "core/resolver.h"
#include "policy/proxy_list.h"
#include "util/mem.h"
#include "util/utf.h"

static bool type_valid(WINHTTP_PROXY_SETTINGS_TYPE t)
{
  return t == WinHttpProxySettingsTypeWsl || t == WinHttpProxySettingsTypeWsa ||
         t == WinHttpProxySettingsTypeXBox;
}

DWORD WINAPI WinHttpGetProxySettingsEx(HINTERNET hResolver,
                                       WINHTTP_PROXY_SETTINGS_TYPE ProxySettingsType,
                                       PWINHTTP_PROXY_SETTINGS_PARAM pProxySettingsParam,
                                       DWORD_PTR pContext)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(hResolver, WH_RESOLVER, &o);
  if (err != ERROR_SUCCESS)
    return err;
  /* COMPAT: Microsoft defines no flag and leaves the probe host "TBD";
   * rather than ignore what it cannot know the meaning of, each is
   * refused. A connection name is accepted: the one set of settings a
   * Linux desktop keeps applies to every connection. */
  const WINHTTP_PROXY_SETTINGS_PARAM *p = pProxySettingsParam;
  if (!type_valid(ProxySettingsType) || (p && (p->ullFlags != 0 || p->pcwszProbeHost))) {
    wh_handle_put(o);
    return ERROR_INVALID_PARAMETER;
  }
  struct wh_ie_proxy cfg;
  DWORD version;
  err = wh_user_proxy_versioned(&cfg, &version);
  if (err == ERROR_SUCCESS)
    err = wh_resolver_begin_settings((struct wh_resolver *)o, &cfg, version, pContext);
  wh_handle_put(o);
  return err;
}

/* --- the result -------------------------------------------------------------------- */

static WCHAR *wide_n(const char *s, size_t n, bool *failed)
{
  WCHAR *w = NULL;
  if (wh_wide_from_utf8(s, n, &w, NULL) != 0)
    *failed = true;
  return w;
}

/* The entry of |list| serving |scheme| as a URL: Microsoft's examples read
 * "http://192.168.1.1:8888", so an entry without a scheme gets "http://"
 * (the proxy is spoken to in HTTP); one with a scheme ("socks://...",
 * "https://...") keeps it. NULL when no entry serves the scheme. */
static WCHAR *proxy_url(const char *list, const char *scheme, bool *failed)
{
  const char *e;
  size_t n;
  if (!list || !wh_proxy_list_entry(list, strlen(list), scheme, &e, &n))
    return NULL;
  bool has_scheme = false;
  for (size_t i = 0; i + 2 < n; i++)
    if (e[i] == ':' && e[i + 1] == '/' && e[i + 2] == '/') {
      has_scheme = true;
      break;
    }
  if (has_scheme)
    return wide_n(e, n, failed);
  char *u = wh_malloc(n + sizeof("http://"));
  if (!u) {
    *failed = true;
    return NULL;
  }
  memcpy(u, "http://", 7);
  memcpy(u + 7, e, n);
  u[7 + n] = '\0';
  WCHAR *w = wide_n(u, n + 7, failed);
  wh_free(u);
  return w;
}

static bool bypass_sep(char c)
{
  return c == ';' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The bypass list (entries separated by ';' or white space) as an array of
 * strings. */
static PCWSTR *bypass_array(const char *list, DWORD *count, bool *failed)
{
  *count = 0;
  if (!list)
    return NULL;
  size_t n = 0;
  for (const char *p = list; *p;) {
    while (*p && bypass_sep(*p))
      p++;
    if (!*p)
      break;
    n++;
    while (*p && !bypass_sep(*p))
      p++;
  }
  if (n == 0)
    return NULL;
  PCWSTR *a = wh_calloc(n, sizeof(*a));
  if (!a) {
    *failed = true;
    return NULL;
  }
  size_t i = 0;
  for (const char *p = list; *p && i < n;) {
    while (*p && bypass_sep(*p))
      p++;
    const char *start = p;
    while (*p && !bypass_sep(*p))
      p++;
    a[i++] = wide_n(start, (size_t)(p - start), failed);
  }
  *count = (DWORD)n;
  return a;
}

static void free_members(WINHTTP_PROXY_SETTINGS_EX *s)
{
  wh_free((void *)s->pcwszAutoconfigUrl);
  wh_free((void *)s->pcwszProxy);
  wh_free((void *)s->pcwszSecureProxy);
  wh_free((void *)s->pcwszConnectionName);
  for (DWORD i = 0; s->rgpcwszProxyBypasses && i < s->cProxyBypasses; i++)
    wh_free((void *)s->rgpcwszProxyBypasses[i]);
  wh_free((void *)s->rgpcwszProxyBypasses);
  memset(s, 0, sizeof(*s));
}

DWORD WINAPI WinHttpGetProxySettingsResultEx(HINTERNET hResolver, PVOID pProxySettingsEx)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(hResolver, WH_RESOLVER, &o);
  if (err != ERROR_SUCCESS)
    return err;
  struct wh_ie_proxy cfg;
  DWORD version = 0;
  if (!pProxySettingsEx)
    err = ERROR_INVALID_PARAMETER;
  else
    err = wh_resolver_settings_result((struct wh_resolver *)o, &cfg, &version);
  wh_handle_put(o);
  if (err != ERROR_SUCCESS)
    return err;
  WINHTTP_PROXY_SETTINGS_EX s;
  memset(&s, 0, sizeof(s));
  bool failed = false;
  s.ullGenerationId = version;
  /* As WinHttpGetIEProxyConfigForCurrentUser: nothing configured anywhere
   * is Windows' out-of-the-box "automatically detect settings". */
  s.ullFlags = wh_api_proxy_type_flags(&cfg, true);
  if (cfg.auto_config_url)
    s.pcwszAutoconfigUrl = wide_n(cfg.auto_config_url, strlen(cfg.auto_config_url), &failed);
  s.pcwszProxy = proxy_url(cfg.proxy, "http", &failed);
  s.pcwszSecureProxy = proxy_url(cfg.proxy, "https", &failed);
  s.rgpcwszProxyBypasses = bypass_array(cfg.bypass, &s.cProxyBypasses, &failed);
  /* One set of settings for every interface and connection (above). */
  s.dwInterfaceIndex = 0;
  s.pcwszConnectionName = NULL;
  wh_ie_proxy_clear(&cfg);
  if (failed) {
    free_members(&s);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  memcpy(pProxySettingsEx, &s, sizeof(s));
  return ERROR_SUCCESS;
}

/* Microsoft: frees "the data retrieved from a previous call to
 * WinHttpGetProxySettingsResultEx". The structure is zeroed. Its memory is
 * the library's: only this function may free it. */
DWORD WINAPI WinHttpFreeProxySettingsEx(WINHTTP_PROXY_SETTINGS_TYPE ProxySettingsType,
                                        PVOID pProxySettingsEx)
{
  if (!type_valid(ProxySettingsType) || !pProxySettingsEx)
    return ERROR_INVALID_PARAMETER;
  free_members(pProxySettingsEx);
  return ERROR_SUCCESS;
}

/* The asynchronous resolver functions: WinHttpCreateProxyResolver,
 * WinHttpGetProxyForUrlEx(2), WinHttpGetProxyResult(Ex),
 * WinHttpFreeProxyResult(Ex). The handles and their operations are
 * core/resolver.h's; the lookups core/autoproxy.h's.
 *
 * Sources: Microsoft's pages for each function and for
 * WINHTTP_PROXY_RESULT(_EX) and WINHTTP_PROXY_RESULT_ENTRY. */
#include <stdbool.h>
#include <string.h>

#include "api/api.h"
#include "api/lookup.h"
#include "core/handle.h"
#include "core/resolver.h"
#include "util/mem.h"
#include "util/utf.h"

DWORD WINAPI WinHttpCreateProxyResolver(HINTERNET hSession, HINTERNET *phResolver)
{
  /* Microsoft: ERROR_INVALID_HANDLE for NULL, ERROR_WINHTTP_INCORRECT_HANDLE_TYPE
   * for a handle that is not a session or a session that is not
   * asynchronous. */
  struct wh_object *o;
  DWORD err = wh_object_grab(hSession, WH_SESSION, &o);
  if (err != ERROR_SUCCESS)
    return err;
  if (!(o->flags & WH_OBJ_ASYNC))
    err = ERROR_WINHTTP_INCORRECT_HANDLE_TYPE;
  else if (!phResolver)
    err = ERROR_INVALID_PARAMETER;
  else
    err = wh_resolver_new(wh_session_of(o), phResolver);
  wh_handle_put(o);
  return err;
}

static DWORD get_proxy_ex(HINTERNET hResolver, PCWSTR url, WINHTTP_AUTOPROXY_OPTIONS *opts,
                          DWORD_PTR ctx)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(hResolver, WH_RESOLVER, &o);
  if (err != ERROR_SUCCESS)
    return err;
  struct wh_resolver *r = (struct wh_resolver *)o;
  err = wh_lookup_check(url, opts, true);
  struct wh_pac_entry e[WH_PAC_MAX_ENTRIES];
  size_t n = 0;
  bool found = false, bypass = false;
  if (err == ERROR_SUCCESS && (opts->dwFlags & WINHTTP_AUTOPROXY_ALLOW_STATIC))
    err = wh_lookup_static(url, e, &n, &bypass, &found);
  /* Microsoft: the function "always executes asynchronously", so the
   * outcome of the lookup itself arrives by callback; what cannot be
   * looked up at all (bad arguments, a proxy kind not spoken here) is
   * refused synchronously, with no callback to follow. */
  if (err == ERROR_SUCCESS && found) {
    err = wh_resolver_begin(r, NULL, ERROR_SUCCESS, e, n, bypass, ctx);
  } else if (err == ERROR_SUCCESS) {
    struct wh_lookup l;
    err = wh_lookup_prepare(wh_session_of(o->parent), url, opts, &l);
    if (err == ERROR_SUCCESS)
      err = wh_resolver_begin(r, &l.q, ERROR_SUCCESS, NULL, 0, false, ctx);
    wh_lookup_free(&l);
  }
  wh_handle_put(o);
  return err;
}

DWORD WINAPI WinHttpGetProxyForUrlEx(HINTERNET hResolver, PCWSTR pcwszUrl,
                                     WINHTTP_AUTOPROXY_OPTIONS *pAutoProxyOptions,
                                     DWORD_PTR pContext)
{
  return get_proxy_ex(hResolver, pcwszUrl, pAutoProxyOptions, pContext);
}

DWORD WINAPI WinHttpGetProxyForUrlEx2(HINTERNET hResolver, PCWSTR pcwszUrl,
                                      WINHTTP_AUTOPROXY_OPTIONS *pAutoProxyOptions,
                                      DWORD cbInterfaceSelectionContext,
                                      BYTE *pInterfaceSelectionContext, DWORD_PTR pContext)
{
  /* COMPAT: the interface selection context is opaque (Microsoft documents
   * only its type); a length without a buffer or a buffer without a length
   * is refused, the bytes themselves are not used: there is only one
   * answer whatever the interface. */
  if ((cbInterfaceSelectionContext == 0) != (pInterfaceSelectionContext == NULL))
    return ERROR_INVALID_PARAMETER;
  return get_proxy_ex(hResolver, pcwszUrl, pAutoProxyOptions, pContext);
}

static void free_entries(WINHTTP_PROXY_RESULT_ENTRY *e, DWORD n)
{
  for (DWORD i = 0; e && i < n; i++)
    wh_free(e[i].pwszProxy);
  wh_free(e);
}

/* The entries as Microsoft's structures: a proxy has fProxy, its scheme
 * (INTERNET_SCHEME_HTTP, _HTTPS for a proxy spoken over TLS, _SOCKS), its
 * host and port; DIRECT has fProxy FALSE, and fBypass when the static
 * configuration's bypass list sent the URL direct ("bypassing a proxy
 * (on an intranet)"). Every entry of the script's answer is reported, in
 * its order. */
static DWORD to_entries(const struct wh_pac_entry *e, size_t n, bool bypass,
                        WINHTTP_PROXY_RESULT_ENTRY **out)
{
  WINHTTP_PROXY_RESULT_ENTRY *r = wh_calloc(n ? n : 1, sizeof(*r));
  if (!r)
    return ERROR_NOT_ENOUGH_MEMORY;
  for (size_t i = 0; i < n; i++) {
    if (e[i].kind == WH_PAC_DIRECT) {
      r[i].fProxy = FALSE;
      r[i].fBypass = bypass ? TRUE : FALSE;
      continue;
    }
    size_t cch;
    if (wh_wide_from_utf8(e[i].host, strlen(e[i].host), &r[i].pwszProxy, &cch) != 0) {
      free_entries(r, (DWORD)n);
      return ERROR_NOT_ENOUGH_MEMORY;
    }
    r[i].fProxy = TRUE;
    r[i].ProxyScheme = e[i].kind == WH_PAC_HTTPS   ? INTERNET_SCHEME_HTTPS
                       : e[i].kind == WH_PAC_SOCKS ? INTERNET_SCHEME_SOCKS
                                                   : INTERNET_SCHEME_HTTP;
    r[i].ProxyPort = e[i].port;
  }
  *out = r;
  return ERROR_SUCCESS;
}

/* Microsoft: ERROR_WINHTTP_INCORRECT_HANDLE_STATE when "the resolver handle
 * has not successfully completed a call to WinHttpGetProxyForUrlEx" (also
 * while a call is pending: its result replaces the last one). */
static DWORD get_result(HINTERNET hResolver, bool have_out, DWORD *count,
                        WINHTTP_PROXY_RESULT_ENTRY **entries)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(hResolver, WH_RESOLVER, &o);
  if (err != ERROR_SUCCESS)
    return err;
  struct wh_pac_entry e[WH_PAC_MAX_ENTRIES];
  size_t n = 0;
  bool bypass = false;
  if (!have_out)
    err = ERROR_INVALID_PARAMETER;
  else
    err = wh_resolver_result((struct wh_resolver *)o, e, &n, &bypass);
  WINHTTP_PROXY_RESULT_ENTRY *r = NULL;
  if (err == ERROR_SUCCESS)
    err = to_entries(e, n, bypass, &r);
  if (err == ERROR_SUCCESS) {
    *count = (DWORD)n;
    *entries = r;
  }
  wh_handle_put(o);
  return err;
}

DWORD WINAPI WinHttpGetProxyResult(HINTERNET hResolver, WINHTTP_PROXY_RESULT *pProxyResult)
{
  DWORD count = 0;
  WINHTTP_PROXY_RESULT_ENTRY *entries = NULL;
  DWORD err = get_result(hResolver, pProxyResult != NULL, &count, &entries);
  if (err == ERROR_SUCCESS) {
    pProxyResult->cEntries = count;
    pProxyResult->pEntries = entries;
  }
  return err;
}

DWORD WINAPI WinHttpGetProxyResultEx(HINTERNET hResolver, WINHTTP_PROXY_RESULT_EX *pProxyResultEx)
{
  DWORD count = 0;
  WINHTTP_PROXY_RESULT_ENTRY *entries = NULL;
  DWORD err = get_result(hResolver, pProxyResultEx != NULL, &count, &entries);
  if (err == ERROR_SUCCESS) {
    pProxyResultEx->cEntries = count;
    pProxyResultEx->pEntries = entries;
    /* No proxy detection handle, no interface affinity: one answer for
     * every interface. */
    pProxyResultEx->hProxyDetectionHandle = NULL;
    pProxyResultEx->dwProxyInterfaceAffinity = 0;
  }
  return err;
}

/* Microsoft: "all internal members of pProxyResult will be zeroed and the
 * memory allocated to those members will be freed". NULL is ignored. */
VOID WINAPI WinHttpFreeProxyResult(WINHTTP_PROXY_RESULT *pProxyResult)
{
  if (!pProxyResult)
    return;
  free_entries(pProxyResult->pEntries, pProxyResult->cEntries);
  memset(pProxyResult, 0, sizeof(*pProxyResult));
}

VOID WINAPI WinHttpFreeProxyResultEx(WINHTTP_PROXY_RESULT_EX *pProxyResultEx)
{
  if (!pProxyResultEx)
    return;
  free_entries(pProxyResultEx->pEntries, pProxyResultEx->cEntries);
  memset(pProxyResultEx, 0, sizeof(*pProxyResultEx));
}

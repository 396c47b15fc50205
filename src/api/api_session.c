/* WinHttpOpen, WinHttpConnect, WinHttpOpenRequest, WinHttpCloseHandle,
 * WinHttpSetStatusCallback, WinHttpCheckPlatform: argument checks and the
 * WCHAR -> UTF-8 step; the objects themselves live in core/session.c. */
#include <string.h>

#include <winhttp.h>

#include "api/api.h"
#include "api/pac_fetch.h"
#include "core/handle.h"
#include "core/session.h"
#include "policy/escape.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/utf.h"

#define OPEN_FLAGS_ALLOWED (WINHTTP_FLAG_ASYNC | WINHTTP_FLAG_SECURE_DEFAULTS)
#define REQUEST_FLAGS_ALLOWED                                                       \
  (WINHTTP_FLAG_SECURE | WINHTTP_FLAG_ESCAPE_PERCENT | WINHTTP_FLAG_NULL_CODEPAGE | \
   WINHTTP_FLAG_ESCAPE_DISABLE | WINHTTP_FLAG_ESCAPE_DISABLE_QUERY |               \
   WINHTTP_FLAG_BYPASS_PROXY_CACHE | WINHTTP_FLAG_AUTOMATIC_CHUNKING)

HINTERNET WINAPI WinHttpOpen(LPCWSTR pszAgentW, DWORD dwAccessType, LPCWSTR pszProxyW,
                             LPCWSTR pszProxyBypassW, DWORD dwFlags)
{
  if (!wh_access_type_valid(dwAccessType)) {
    SetLastError(ERROR_INVALID_PARAMETER);
    return NULL;
  }
  /* Unknown flags are refused: applications probe for
   * WINHTTP_FLAG_SECURE_DEFAULTS this way (older Windows answers
   * ERROR_INVALID_PARAMETER). */
  if (dwFlags & ~(DWORD)OPEN_FLAGS_ALLOWED) {
    SetLastError(ERROR_INVALID_PARAMETER);
    return NULL;
  }
  char *agent = NULL, *proxy = NULL, *bypass = NULL;
  DWORD err = wh_utf8_opt(pszAgentW, 0, &agent);
  /* The agent becomes the User-Agent header line: CR or LF in it would
   * inject headers (COMPAT: Windows documents no check; WINHTTP_OPTION_USER_AGENT
   * refuses the same). */
  if (err == ERROR_SUCCESS && agent && strpbrk(agent, "\r\n"))
    err = ERROR_INVALID_PARAMETER;
  /* The proxy strings only mean something for a named proxy; Microsoft
   * requires WINHTTP_NO_PROXY_NAME/BYPASS otherwise, so anything else given
   * is ignored rather than stored. */
  if (err == ERROR_SUCCESS && dwAccessType == WINHTTP_ACCESS_TYPE_NAMED_PROXY) {
    err = wh_utf8_opt(pszProxyW, 1, &proxy);
    if (err == ERROR_SUCCESS)
      err = wh_utf8_opt(pszProxyBypassW, 0, &bypass);
  }
  if (err != ERROR_SUCCESS) {
    wh_free(agent);
    wh_free(proxy);
    wh_free(bypass);
    SetLastError(err);
    return NULL;
  }
  /* PAC scripts are downloaded with the public functions (api/pac_fetch.c),
   * which core/autoproxy.c cannot call itself: it is told how, before any
   * session can ask it for a lookup. */
  wh_autoproxy_set_fetcher(wh_api_pac_fetch);
  HINTERNET h = NULL;
  err = wh_session_new(agent, dwAccessType, proxy, bypass, dwFlags, &h);
  SetLastError(err);
  return err == ERROR_SUCCESS ? h : NULL;
}

/* A server name ends up in the Host header and the request line of a proxy
 * request: control characters and spaces could split them, so they are
 * refused here (COMPAT: Windows' own check is undocumented). */
static int server_name_ok(const char *s)
{
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p <= 0x20 || *p == 0x7F)
      return 0;
  return 1;
}

HINTERNET WINAPI WinHttpConnect(HINTERNET hSession, LPCWSTR pswzServerName,
                                INTERNET_PORT nServerPort, DWORD dwReserved)
{
  (void)dwReserved;
  struct wh_object *o;
  DWORD err = wh_object_grab(hSession, WH_SESSION, &o);
  if (err != ERROR_SUCCESS) {
    SetLastError(err);
    return NULL;
  }
  HINTERNET h = NULL;
  char *server = NULL;
  if (!pswzServerName) {
    err = ERROR_INVALID_PARAMETER;
  } else {
    err = wh_utf8_opt(pswzServerName, 0, &server);
    if (err == ERROR_SUCCESS && !server_name_ok(server)) {
      wh_free(server);
      err = ERROR_INVALID_PARAMETER;
    }
  }
  if (err == ERROR_SUCCESS)
    err = wh_connect_new(wh_session_of(o), server, nServerPort, &h);
  wh_handle_put(o);
  SetLastError(err);
  return err == ERROR_SUCCESS ? h : NULL;
}

/* The verb and version are written verbatim on the request line, so they
 * must be a token and an HTTP-version-like word: anything that could split
 * the line is refused (COMPAT: Windows does not document a check). */
static int verb_ok(const char *v)
{
  for (const unsigned char *p = (const unsigned char *)v; *p; p++)
    if (!wh_is_tchar(*p))
      return 0;
  return 1;
}

static int version_ok(const char *v)
{
  for (const unsigned char *p = (const unsigned char *)v; *p; p++)
    if (*p <= 0x20 || *p >= 0x7F)
      return 0;
  return 1;
}

static DWORD convert_accept_types(LPCWSTR *types, char ***out)
{
  *out = NULL;
  if (!types)
    return ERROR_SUCCESS;
  size_t n = 0;
  while (types[n])
    n++;
  char **v = wh_calloc(n + 1, sizeof(*v));
  if (!v)
    return ERROR_NOT_ENOUGH_MEMORY;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    /* Empty entries add nothing (Wine skips them too). */
    if (!types[i][0])
      continue;
    if (wh_utf8_from_wide(types[i], (size_t)-1, &v[k], NULL)) {
      for (size_t j = 0; j < k; j++)
        wh_free(v[j]);
      wh_free(v);
      return ERROR_NOT_ENOUGH_MEMORY;
    }
    k++;
  }
  *out = v;
  return ERROR_SUCCESS;
}

/* Header values may not carry CR or LF; an accept type or referrer that
 * does would inject headers. */
static int header_value_ok(const char *v)
{
  for (const unsigned char *p = (const unsigned char *)v; *p; p++)
    if (*p == '\r' || *p == '\n')
      return 0;
  return 1;
}

static DWORD build_request_spec(LPCWSTR verb, LPCWSTR object, LPCWSTR version,
                                LPCWSTR referrer, LPCWSTR *accept, DWORD flags,
                                struct wh_request_spec *spec)
{
  char *obj = NULL;
  memset(spec, 0, sizeof(*spec));
  spec->flags = flags;
  /* NULL and "" both mean the defaults (Wine's
   * test_request_parameter_defaults, which passes on Windows). */
  DWORD err = wh_utf8_opt(verb, 1, &spec->verb);
  if (err == ERROR_SUCCESS && !spec->verb && !(spec->verb = wh_strndup("GET", 3)))
    err = ERROR_NOT_ENOUGH_MEMORY;
  if (err == ERROR_SUCCESS)
    err = wh_utf8_opt(version, 1, &spec->version);
  if (err == ERROR_SUCCESS && !spec->version && !(spec->version = wh_strndup("HTTP/1.1", 8)))
    err = ERROR_NOT_ENOUGH_MEMORY;
  if (err == ERROR_SUCCESS)
    err = wh_utf8_opt(referrer, 1, &spec->referrer);
  if (err == ERROR_SUCCESS)
    err = convert_accept_types(accept, &spec->accept_types);
  if (err == ERROR_SUCCESS)
    err = wh_utf8_opt(object, 0, &obj);
  if (err == ERROR_SUCCESS)
    err = wh_escape_request_target(obj ? obj : "", obj ? strlen(obj) : 0, flags, &spec->path);
  wh_free(obj);
  if (err != ERROR_SUCCESS)
    return err;
  if (!verb_ok(spec->verb) || !version_ok(spec->version) ||
      (spec->referrer && !header_value_ok(spec->referrer)))
    return ERROR_INVALID_PARAMETER;
  if (spec->accept_types)
    for (char **t = spec->accept_types; *t; t++)
      if (!header_value_ok(*t))
        return ERROR_INVALID_PARAMETER;
  return ERROR_SUCCESS;
}

HINTERNET WINAPI WinHttpOpenRequest(HINTERNET hConnect, LPCWSTR pwszVerb,
                                    LPCWSTR pwszObjectName, LPCWSTR pwszVersion,
                                    LPCWSTR pwszReferrer, LPCWSTR *ppwszAcceptTypes,
                                    DWORD dwFlags)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(hConnect, WH_CONNECT, &o);
  if (err != ERROR_SUCCESS) {
    SetLastError(err);
    return NULL;
  }
  HINTERNET h = NULL;
  struct wh_request_spec spec;
  if (dwFlags & ~(DWORD)REQUEST_FLAGS_ALLOWED) {
    err = ERROR_INVALID_PARAMETER;
  } else {
    err = build_request_spec(pwszVerb, pwszObjectName, pwszVersion, pwszReferrer,
                             ppwszAcceptTypes, dwFlags, &spec);
    if (err == ERROR_SUCCESS)
      err = wh_request_new(wh_connect_of(o), &spec, &h);
    else
      wh_request_spec_free(&spec);
  }
  wh_handle_put(o);
  SetLastError(err);
  return err == ERROR_SUCCESS ? h : NULL;
}

BOOL WINAPI WinHttpCloseHandle(HINTERNET hInternet)
{
  struct wh_object *o = wh_handle_close(hInternet);
  if (!o)
    return wh_fail(ERROR_INVALID_HANDLE);
  if (o->ops->close)
    o->ops->close(o);
  /* May deliver HANDLE_CLOSING here, or later from whichever thread drops
   * the last reference (a call still running on the handle, a child, an
   * asynchronous operation). */
  wh_handle_put(o);
  return wh_ok();
}

WINHTTP_STATUS_CALLBACK WINAPI WinHttpSetStatusCallback(HINTERNET hInternet,
                                                        WINHTTP_STATUS_CALLBACK lpfnInternetCallback,
                                                        DWORD dwNotificationFlags,
                                                        DWORD_PTR dwReserved)
{
  (void)dwReserved;
  struct wh_object *o;
  DWORD err = wh_object_grab(hInternet, 0, &o);
  if (err != ERROR_SUCCESS) {
    SetLastError(err);
    return WINHTTP_INVALID_STATUS_CALLBACK;
  }
  /* The mask first, so that a dispatcher which sees the new callback never
   * pairs it with a stale mask for longer than a concurrent store. */
  atomic_store_explicit(&o->notify_mask, dwNotificationFlags, memory_order_relaxed);
  WINHTTP_STATUS_CALLBACK prev =
      atomic_exchange_explicit(&o->callback, lpfnInternetCallback, memory_order_acq_rel);
  wh_handle_put(o);
  SetLastError(ERROR_SUCCESS);
  return prev;
}

BOOL WINAPI WinHttpCheckPlatform(void)
{
  return wh_ok();
}

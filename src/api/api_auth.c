/* WinHttpQueryAuthSchemes: the schemes a 401 or 407 response offers.
 * WinHttpSetCredentials: the credentials the next sends carry (Basic,
 * Digest, NTLM, Negotiate; core/credentials.h).
 *
 * Windows (Wine's tests, run on Windows): NULL out pointers give
 * ERROR_INVALID_PARAMETER; a response without a challenge gives
 * ERROR_INVALID_OPERATION; outputs are untouched on failure; schemes WinHTTP
 * does not know are skipped; the target is WINHTTP_AUTH_TARGET_PROXY for a
 * 407 (Proxy-Authenticate) and SERVER otherwise (WWW-Authenticate). */
#include <wchar.h>

#include "api/api.h"
#include "core/handle.h"
#include "core/object.h"
#include "policy/auth.h"
#include "util/mem.h"
#include "util/utf.h"

BOOL WINAPI WinHttpQueryAuthSchemes(HINTERNET hRequest, LPDWORD lpdwSupportedSchemes,
                                    LPDWORD lpdwFirstScheme, LPDWORD pdwAuthTarget)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(hRequest, WH_REQUEST, &o);
  if (err != ERROR_SUCCESS)
    return wh_fail(err);
  if (!lpdwSupportedSchemes || !lpdwFirstScheme || !pdwAuthTarget) {
    wh_handle_put(o);
    return wh_fail(ERROR_INVALID_PARAMETER);
  }
  struct wh_request *r = wh_request_of(o);
  DWORD supported = 0, first = 0, target = WINHTTP_AUTH_TARGET_SERVER;
  pthread_mutex_lock(&o->lock);
  int st = atomic_load(&r->state);
  if ((st != WH_RS_HEADERS && st != WH_RS_DONE) || !r->x.have_resp) {
    err = ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  } else {
    bool proxy = r->x.resp.status == 407;
    const char *field = proxy ? "Proxy-Authenticate" : "WWW-Authenticate";
    size_t flen = proxy ? 18 : 16;
    target = proxy ? WINHTTP_AUTH_TARGET_PROXY : WINHTTP_AUTH_TARGET_SERVER;
    for (size_t i = 0;; i++) {
      const struct wh_header *h = wh_headers_find(&r->x.resp.headers, field, flen, i);
      if (!h)
        break;
      wh_auth_parse_challenges(h->value, h->value_len, &supported, &first);
    }
    if (!supported)
      err = ERROR_INVALID_OPERATION;
  }
  pthread_mutex_unlock(&o->lock);
  wh_handle_put(o);
  if (err != ERROR_SUCCESS)
    return wh_fail(err);
  *lpdwSupportedSchemes = supported;
  *lpdwFirstScheme = first;
  *pdwAuthTarget = target;
  return wh_ok();
}

BOOL WINAPI WinHttpSetCredentials(HINTERNET hRequest, DWORD AuthTargets, DWORD AuthScheme,
                                  LPCWSTR pwszUserName, LPCWSTR pwszPassword, LPVOID pAuthParams)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(hRequest, WH_REQUEST, &o);
  if (err != ERROR_SUCCESS)
    return wh_fail(err);
  static const DWORD schemes[] = {WINHTTP_AUTH_SCHEME_BASIC, WINHTTP_AUTH_SCHEME_NTLM,
                                  WINHTTP_AUTH_SCHEME_PASSPORT, WINHTTP_AUTH_SCHEME_DIGEST,
                                  WINHTTP_AUTH_SCHEME_NEGOTIATE};
  bool known = false;
  for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
    known = known || AuthScheme == schemes[i];
  if ((AuthTargets != WINHTTP_AUTH_TARGET_SERVER && AuthTargets != WINHTTP_AUTH_TARGET_PROXY) ||
      !known || pAuthParams)
    err = ERROR_INVALID_PARAMETER;
  else if (AuthScheme == WINHTTP_AUTH_SCHEME_PASSPORT)
    err = ERROR_CALL_NOT_IMPLEMENTED; /* Passport: retired by Microsoft, not spoken here */
  else if (!pwszUserName && (AuthScheme == WINHTTP_AUTH_SCHEME_BASIC ||
                             AuthScheme == WINHTTP_AUTH_SCHEME_DIGEST))
    err = ERROR_INVALID_PARAMETER; /* only NTLM and Negotiate have default credentials */
  /* NTLM and Negotiate with a NULL user: the user's own identity (the
   * Kerberos ticket cache; core/gss_auth.h). */
  char *user = NULL, *pass = NULL;
  if (err == ERROR_SUCCESS && pwszUserName &&
      (wh_utf8_from_wide(pwszUserName, wcslen(pwszUserName), &user, NULL) != 0 ||
       wh_utf8_from_wide(pwszPassword ? pwszPassword : L"", pwszPassword ? wcslen(pwszPassword) : 0,
                         &pass, NULL) != 0))
    err = ERROR_NOT_ENOUGH_MEMORY;
  if (err == ERROR_SUCCESS) {
    struct wh_request *r = wh_request_of(o);
    bool proxy = AuthTargets == WINHTTP_AUTH_TARGET_PROXY;
    pthread_mutex_lock(&o->lock);
    char **u = proxy ? &r->opts.proxy_username : &r->opts.username;
    char **p = proxy ? &r->opts.proxy_password : &r->opts.password;
    char *old_u = *u, *old_p = *p;
    *u = user;
    *p = pass;
    user = pass = NULL;
    r->opts.cred_scheme[proxy ? 1 : 0] = AuthScheme;
    pthread_mutex_unlock(&o->lock);
    wh_free(old_u);
    wh_secret_free(old_p);
  }
  wh_free(user);
  wh_secret_free(pass);
  wh_handle_put(o);
  return err == ERROR_SUCCESS ? wh_ok() : wh_fail(err);
}

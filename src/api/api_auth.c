/* WinHttpQueryAuthSchemes: the schemes a 401 or 407 response offers.
 *
 * Windows (Wine's tests, run on Windows): NULL out pointers give
 * ERROR_INVALID_PARAMETER; a response without a challenge gives
 * ERROR_INVALID_OPERATION; outputs are untouched on failure; schemes WinHTTP
 * does not know are skipped; the target is WINHTTP_AUTH_TARGET_PROXY for a
 * 407 (Proxy-Authenticate) and SERVER otherwise (WWW-Authenticate). */
#include "api/api.h"
#include "core/handle.h"
#include "core/object.h"
#include "policy/auth.h"

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

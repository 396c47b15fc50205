/* see settings.h */
#include "core/settings.h"

#include <string.h>

#include "util/mem.h"

#define WH_CP_UTF8 65001u

void wh_settings_defaults(struct wh_settings *s)
{
  memset(s, 0, sizeof(*s));
  /* WinHttpSetTimeouts: resolve 0 (infinite), connect 60 s, send and
   * receive 30 s. */
  s->resolve_timeout = 0;
  s->connect_timeout = 60000;
  s->send_timeout = 30000;
  s->receive_timeout = 30000;
  /* Microsoft's page says 90 s, but Wine's test_timeouts reads back ~0u on
   * Windows before anything is set. */
  s->receive_response_timeout = 0xFFFFFFFFu;

  /* "Option Flags" defaults. */
  s->connect_retries = 5;
  s->redirect_policy = WINHTTP_OPTION_REDIRECT_POLICY_DEFAULT;
  s->max_redirects = 10;
  s->max_status_continue = 10;
  s->max_response_header_size = 64 * 1024;
  s->max_response_drain_size = 1024 * 1024;
  s->max_conns_per_server = WINHTTP_CONNS_PER_SERVER_UNLIMITED;
  s->max_conns_per_1_0_server = WINHTTP_CONNS_PER_SERVER_UNLIMITED;
  /* Only protocols without known weaknesses by default (project choice;
   * Windows 11 enables TLS 1.2 and 1.3 by default too). */
  s->secure_protocols = WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_2 | WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_3;
  s->autologon_policy = WINHTTP_AUTOLOGON_SECURITY_LEVEL_DEFAULT;
  s->codepage = WH_CP_UTF8; /* "The default is UTF8." */

  /* Wine's test_websocket, on Windows: both buffer sizes read 32768. */
  s->ws_send_buffer_size = 32768;
  s->ws_receive_buffer_size = 32768;
  s->ws_close_timeout = 10000;      /* "The default is 10 seconds." */
  s->ws_keepalive_interval = 30000; /* "The default interval is 30000." */
}

static DWORD dup_opt(char **dst, const char *src)
{
  *dst = NULL;
  if (src && !(*dst = wh_strndup(src, strlen(src))))
    return ERROR_NOT_ENOUGH_MEMORY;
  return ERROR_SUCCESS;
}

DWORD wh_request_opts_copy(struct wh_request_opts *dst, const struct wh_request_opts *src)
{
  memset(dst, 0, sizeof(*dst));
  dst->has_proxy = src->has_proxy;
  dst->cred_scheme[0] = src->cred_scheme[0];
  dst->cred_scheme[1] = src->cred_scheme[1];
  dst->proxy_access = src->proxy_access;
  DWORD err = dup_opt(&dst->username, src->username);
  if (err == ERROR_SUCCESS)
    err = dup_opt(&dst->password, src->password);
  if (err == ERROR_SUCCESS)
    err = dup_opt(&dst->proxy_username, src->proxy_username);
  if (err == ERROR_SUCCESS)
    err = dup_opt(&dst->proxy_password, src->proxy_password);
  if (err == ERROR_SUCCESS)
    err = dup_opt(&dst->proxy, src->proxy);
  if (err == ERROR_SUCCESS)
    err = dup_opt(&dst->proxy_bypass, src->proxy_bypass);
  if (err == ERROR_SUCCESS)
    dst->client_cert = CertDuplicateCertificateContext(src->client_cert);
  if (err != ERROR_SUCCESS)
    wh_request_opts_free(dst);
  return err;
}

void wh_secret_free(char *s)
{
  if (!s)
    return;
  /* A volatile pointer, so that the stores are not dropped as dead before
   * the free. */
  for (volatile char *p = s; *p; p++)
    *p = 0;
  wh_free(s);
}

void wh_request_opts_free(struct wh_request_opts *o)
{
  wh_free(o->username);
  wh_secret_free(o->password);
  wh_free(o->proxy_username);
  wh_secret_free(o->proxy_password);
  wh_free(o->proxy);
  wh_free(o->proxy_bypass);
  CertFreeCertificateContext(o->client_cert);
  memset(o, 0, sizeof(*o));
}

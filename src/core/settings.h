/* Option values that a session hands down to the connections and requests
 * created under it. Each child copies its parent's settings at creation
 * (Windows: options set on a session later do not change existing
 * requests; Wine's test_timeouts, which passes on Windows). Guarded by the
 * owning object's lock. Plain data: a struct assignment copies it.
 *
 * Strings are never kept here (a shallow copy would share them); a
 * request's own strings live in struct wh_request_opts below. */
#ifndef WH_CORE_SETTINGS_H
#define WH_CORE_SETTINGS_H

#include <stdbool.h>

#include <wincrypt.h>

struct wh_settings {
  /* Timeouts in milliseconds as the caller gave them; 0xFFFFFFFF (-1) and 0
   * mean infinite where Windows says so. */
  DWORD resolve_timeout;
  DWORD connect_timeout;
  DWORD send_timeout;
  DWORD receive_timeout;
  DWORD receive_response_timeout;

  DWORD connect_retries;           /* WINHTTP_OPTION_CONNECT_RETRIES */
  DWORD redirect_policy;           /* WINHTTP_OPTION_REDIRECT_POLICY_* */
  DWORD max_redirects;             /* MAX_HTTP_AUTOMATIC_REDIRECTS */
  DWORD max_status_continue;       /* MAX_HTTP_STATUS_CONTINUE (1xx) */
  DWORD max_response_header_size;  /* bytes */
  DWORD max_response_drain_size;   /* bytes */
  DWORD max_conns_per_server;      /* WINHTTP_CONNS_PER_SERVER_UNLIMITED */
  DWORD max_conns_per_1_0_server;
  DWORD secure_protocols;          /* WINHTTP_FLAG_SECURE_PROTOCOL_* */
  DWORD decompression;             /* WINHTTP_DECOMPRESSION_FLAG_* */
  DWORD enable_http_protocol;      /* WINHTTP_PROTOCOL_FLAG_* wanted */
  DWORD http2_receive_window;      /* HTTP2_RECEIVE_WINDOW: stream window, 0 = default */
  DWORD http2_keepalive;           /* HTTP2_KEEPALIVE: PING interval in ms, 0 = none */
  DWORD autologon_policy;          /* WINHTTP_AUTOLOGON_SECURITY_LEVEL_* */
  DWORD disabled_features;         /* WINHTTP_DISABLE_* bits, OR'ed */
  DWORD enabled_features;          /* WINHTTP_ENABLE_* bits, OR'ed */
  DWORD security_flags;            /* SECURITY_FLAG_IGNORE_* set by the caller */
  DWORD codepage;                  /* WINHTTP_OPTION_CODEPAGE (only UTF-8) */
  DWORD spn;                       /* WINHTTP_OPTION_SPN */

  DWORD ws_send_buffer_size;       /* WEB_SOCKET_SEND_BUFFER_SIZE */
  DWORD ws_receive_buffer_size;    /* WEB_SOCKET_RECEIVE_BUFFER_SIZE */
  DWORD ws_close_timeout;          /* WEB_SOCKET_CLOSE_TIMEOUT, ms */
  DWORD ws_keepalive_interval;     /* WEB_SOCKET_KEEPALIVE_INTERVAL, ms */
  DWORD ws_deflate;                /* WINHTTP_EXT_OPTION_WEB_SOCKET_DEFLATE (winhttp_ext.h) */

  bool http_protocol_required;     /* HTTP_PROTOCOL_REQUIRED */
  bool ipv6_fast_fallback;         /* IPV6_FAST_FALLBACK */
  bool disable_stream_queue;       /* DISABLE_STREAM_QUEUE (HTTP/2) */
  bool disable_secure_protocol_fallback;
  bool assured_non_blocking_callbacks;
  bool reject_userpwd_in_url;      /* REJECT_USERPWD_IN_URL */
  bool expire_connection;          /* EXPIRE_CONNECTION: never reuse */
  bool require_stream_end;         /* REQUIRE_STREAM_END: always in effect over HTTP/2 */
  bool receive_proxy_connect_response; /* always in effect (COMPAT.md) */
  bool http2_plus_te;              /* HTTP2_PLUS_TRANSFER_ENCODING: unknown-length bodies over HTTP/2 */
  bool upgrade_to_websocket;       /* UPGRADE_TO_WEB_SOCKET */
  bool no_client_cert;             /* CLIENT_CERT_CONTEXT set to "none" */
  bool http2_plus_client_cert;     /* ENABLE_HTTP2_PLUS_CLIENT_CERT */
};

/* Windows' defaults: Microsoft's WinHttpSetTimeouts and "Option Flags"
 * pages, and Wine's tests where they run on Windows. */
void wh_settings_defaults(struct wh_settings *s);

/* Strings a request owns through options (USERNAME, PASSWORD,
 * PROXY_USERNAME, PROXY_PASSWORD, PROXY), and its client certificate
 * (CLIENT_CERT_CONTEXT): Windows keeps them per request
 * (Wine's test_credentials, todo_wine there). All UTF-8, NULL when unset.
 * Zero-initialised means "nothing set". */
struct wh_request_opts {
  char *username;
  char *password;
  char *proxy_username;
  char *proxy_password;
  bool has_proxy;       /* WINHTTP_OPTION_PROXY was set on the request */
  DWORD proxy_access;   /* its dwAccessType */
  char *proxy;          /* its lpszProxy */
  char *proxy_bypass;   /* its lpszProxyBypass */
  DWORD cred_scheme[2]; /* WinHttpSetCredentials' scheme, server and proxy (0: none) */
  PCCERT_CONTEXT client_cert; /* WINHTTP_OPTION_CLIENT_CERT_CONTEXT: a reference of
                                 the request's own (Windows duplicates it too) */
};

/* Deep copy; |dst| is overwritten (not freed first). Returns
 * ERROR_SUCCESS or ERROR_NOT_ENOUGH_MEMORY (then |dst| is left empty). */
DWORD wh_request_opts_copy(struct wh_request_opts *dst, const struct wh_request_opts *src);
/* Frees every string and the certificate reference and leaves |o| empty;
 * passwords are wiped first. */
void wh_request_opts_free(struct wh_request_opts *o);

/* Overwrites the NUL-terminated |s| (may be NULL) with zeros, then frees
 * it: for passwords, so that they do not linger in freed heap memory. */
void wh_secret_free(char *s);

#endif

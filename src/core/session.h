/* Session, connection and request objects: construction and destruction.
 * Argument validation belongs to the api ring; these functions trust their
 * inputs' shape and own what they are given. */
#ifndef WH_CORE_SESSION_H
#define WH_CORE_SESSION_H

#include <winhttp.h>

#include "core/object.h"

/* Creates a session and publishes its handle in |*out|. Takes ownership of
 * |agent|, |proxy| and |bypass| (UTF-8, each may be NULL) in every case. */
DWORD wh_session_new(char *agent, DWORD access_type, char *proxy, char *bypass,
                     DWORD flags, HINTERNET *out);

/* |s|'s autoproxy context (core/autoproxy.h), made on first use: a new
 * reference (wh_autoproxy_unref), or NULL when out of memory. */
struct wh_autoproxy *wh_session_autoproxy(struct wh_session *s);

/* Creates a connection under |s| and publishes it in |*out|, then delivers
 * HANDLE_CREATED on the session (Windows). Takes ownership of |server|. */
DWORD wh_connect_new(struct wh_session *s, char *server, INTERNET_PORT port,
                     HINTERNET *out);

/* The parts of a request WinHttpOpenRequest decided; the constructor takes
 * ownership of every string in it, in every case. */
struct wh_request_spec {
  char *verb;
  char *path;
  char *version;
  char *referrer;              /* NULL: none */
  char **accept_types;         /* NULL-terminated, or NULL; array and strings owned */
  DWORD flags;
};

/* Creates a request under |c| and publishes it in |*out|, then delivers
 * HANDLE_CREATED on the request (Windows). */
DWORD wh_request_new(struct wh_connect *c, struct wh_request_spec *spec,
                     HINTERNET *out);
void wh_request_spec_free(struct wh_request_spec *spec);

#endif

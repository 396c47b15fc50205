/* Proxy resolver handles (WinHttpCreateProxyResolver), the objects behind
 * the asynchronous WinHttpGetProxyForUrlEx family.
 *
 * Microsoft: the session must be asynchronous; WinHttpGetProxyForUrlEx
 * "always executes asynchronously and returns immediately with
 * ERROR_IO_PENDING on success", then the resolver's callback (the
 * session's at creation, or one set on the resolver itself) gets
 * WINHTTP_CALLBACK_STATUS_GETPROXYFORURL_COMPLETE, after which
 * WinHttpGetProxyResult(Ex) gives the entries; "if the call fails after
 * returning ERROR_IO_PENDING then a callback of
 * WINHTTP_CALLBACK_STATUS_REQUEST_ERROR will be issued".
 *
 * WinHttpGetProxySettingsEx is the other operation a resolver runs:
 * GETPROXYSETTINGS_COMPLETE (or REQUEST_ERROR with API_GET_PROXY_SETTINGS),
 * then WinHttpGetProxySettingsResultEx gives the settings.
 *
 * One operation at a time per resolver. Its outcome is either already
 * known when it starts (the static configuration answered; the settings
 * were read) or comes from an autoproxy job (core/autoproxy.h) whose
 * eventfd the resolver's loop thread (net/loop.c) watches. Either way it is reported from that loop
 * thread, never inline. WinHttpCloseHandle cancels: a pending operation
 * reports ERROR_WINHTTP_OPERATION_CANCELLED (its job is abandoned), and
 * the operation's reference makes HANDLE_CLOSING come after it. */
#ifndef WH_CORE_RESOLVER_H
#define WH_CORE_RESOLVER_H

#include <stdbool.h>

#include <winhttp.h>

#include "core/autoproxy.h"
#include "core/object.h"
#include "net/loop.h"
#include "policy/ie_proxy.h"
#include "policy/pac_result.h"

struct wh_resolver {
  struct wh_object hdr;
  struct wh_task task;        /* the operation: arm the watch, or report */
  struct wh_task cancel_task; /* WinHttpCloseHandle with an operation pending */
  struct wh_watch watch;      /* the job's eventfd */
  /* Under |hdr.lock|. */
  struct wh_loop *loop;       /* picked on the first operation, then fixed */
  bool pending;               /* an operation has been started and not reported */
  bool armed;                 /* its task ran: the watch is armed */
  bool closing;               /* WinHttpCloseHandle was called */
  struct wh_autoproxy_job *job; /* the lookup in flight, or NULL: outcome known */
  DWORD error;                /* the known outcome */
  size_t n;
  struct wh_pac_entry entries[WH_PAC_MAX_ENTRIES];
  bool bypass;                /* the static configuration's bypass list named the host */
  bool settings_op;           /* the operation is WinHttpGetProxySettingsEx: */
  struct wh_ie_proxy settings; /* its outcome (owned) */
  DWORD settings_version;
  /* The last operation's result, when it succeeded: a lookup's entries, or
   * (|result_settings|) the settings. */
  bool have_result;
  bool result_settings;
  size_t result_n;
  struct wh_pac_entry result[WH_PAC_MAX_ENTRIES];
  bool result_bypass;
  struct wh_ie_proxy result_cfg; /* owned */
  DWORD result_version;
};

/* Creates a resolver under |s| (which must be asynchronous; the caller
 * checks) and publishes it in |*out|. Returns ERROR_SUCCESS,
 * ERROR_NOT_ENOUGH_MEMORY or ERROR_WINHTTP_OUT_OF_HANDLES. */
DWORD wh_resolver_new(struct wh_session *s, HINTERNET *out);

/* Starts an operation on |r|: a lookup of |q| in its session's autoproxy
 * context, or, when |q| is NULL, an operation whose outcome is already
 * known (|err|, and on success the |n| entries of |e|, |bypass| as above).
 * |ctx| becomes the handle's context value, which the callback receives
 * (as WinHttpSendRequest's context does). Returns ERROR_IO_PENDING when the
 * operation was started; ERROR_WINHTTP_INCORRECT_HANDLE_STATE while another
 * operation of |r| is pending, ERROR_WINHTTP_OPERATION_CANCELLED once |r|
 * is closing, ERROR_NOT_ENOUGH_MEMORY (no loop or worker thread, no
 * memory): nothing was started and no callback will come. */
DWORD wh_resolver_begin(struct wh_resolver *r, const struct wh_autoproxy_query *q, DWORD err,
                        const struct wh_pac_entry *e, size_t n, bool bypass, DWORD_PTR ctx);

/* Starts a WinHttpGetProxySettingsEx operation whose outcome is known:
 * the settings |cfg| (taken over: cleared here whatever the result) and
 * their |version|. Returns as wh_resolver_begin. */
DWORD wh_resolver_begin_settings(struct wh_resolver *r, struct wh_ie_proxy *cfg, DWORD version,
                                 DWORD_PTR ctx);

/* The entries of the last operation, when it was a lookup that succeeded
 * and none is pending: ERROR_SUCCESS, else
 * ERROR_WINHTTP_INCORRECT_HANDLE_STATE. */
DWORD wh_resolver_result(struct wh_resolver *r, struct wh_pac_entry out[WH_PAC_MAX_ENTRIES],
                         size_t *n, bool *bypass);

/* A copy of the settings of the last operation, when it was a
 * WinHttpGetProxySettingsEx that succeeded and none is pending: |out|
 * (wh_ie_proxy_clear it) and their version. ERROR_SUCCESS,
 * ERROR_WINHTTP_INCORRECT_HANDLE_STATE or ERROR_NOT_ENOUGH_MEMORY. */
DWORD wh_resolver_settings_result(struct wh_resolver *r, struct wh_ie_proxy *out,
                                  DWORD *version);

#endif

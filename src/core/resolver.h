/* Proxy resolver handles (WinHttpCreateProxyResolver), the objects behind
 * the asynchronous WinHttpGetProxyForUrlEx family.
 *
 * Microsoft: the session must be asynchronous; WinHttpGetProxyForUrlEx
 * "always executes asynchronously and returns immediately with
 * ERROR_IO_PENDING on success", and "if the call fails after returning
 * ERROR_IO_PENDING then a callback of WINHTTP_CALLBACK_STATUS_REQUEST_ERROR
 * will be issued" on the resolver handle, whose callback is the session's
 * at creation (or one set on the resolver itself).
 *
 * Nothing can be resolved yet (no WPAD discovery, no PAC: issue 9), so the
 * one operation a resolver runs is a lookup whose outcome is already known
 * to be a failure: it is reported from a loop thread (net/loop.c) as
 * REQUEST_ERROR with API_GET_PROXY_FOR_URL and the error, or
 * ERROR_WINHTTP_OPERATION_CANCELLED when the handle was closed first. The
 * operation holds a reference, so HANDLE_CLOSING comes after it.
 */
#ifndef WH_CORE_RESOLVER_H
#define WH_CORE_RESOLVER_H

#include <stdbool.h>

#include <winhttp.h>

#include "core/object.h"
#include "net/loop.h"

struct wh_resolver {
  struct wh_object hdr;
  struct wh_task task;   /* the operation's loop task */
  /* Under |hdr.lock|. */
  struct wh_loop *loop;  /* picked on the first operation, then fixed */
  bool pending;          /* an operation has been started and not reported */
  bool closing;          /* WinHttpCloseHandle was called */
  DWORD error;           /* the pending operation's outcome */
};

/* Creates a resolver under |s| (which must be asynchronous; the caller
 * checks) and publishes it in |*out|. Returns ERROR_SUCCESS,
 * ERROR_NOT_ENOUGH_MEMORY or ERROR_WINHTTP_OUT_OF_HANDLES. */
DWORD wh_resolver_new(struct wh_session *s, HINTERNET *out);

/* Starts an operation on |r| that ends with |err|; |ctx| becomes the
 * handle's context value, which the completion callback receives (as
 * WinHttpSendRequest's context does). Returns ERROR_IO_PENDING when the
 * operation was started; ERROR_WINHTTP_INCORRECT_HANDLE_STATE while another
 * operation of |r| is pending, ERROR_WINHTTP_OPERATION_CANCELLED once |r| is
 * closing, ERROR_NOT_ENOUGH_MEMORY when no loop thread could be started:
 * nothing was started and no callback will come. */
DWORD wh_resolver_fail_async(struct wh_resolver *r, DWORD err, DWORD_PTR ctx);

#endif

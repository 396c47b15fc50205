/* The WinHttpWebSocket* functions: argument checks, handle lookup, and the
 * engine in core/websocket.c. Like the other Windows 8 era functions they
 * return their error code (CompleteUpgrade, which returns a handle, sets
 * the last error). Synchronous handles run the call on the calling
 * thread; asynchronous ones complete through the callback (ws_async.c). */
#include "api/api.h"
#include "core/exchange.h"
#include "core/handle.h"
#include "core/websocket.h"
#include "core/ws_handshake.h"

/* --- CompleteUpgrade ------------------------------------------------------ */

/* Both sides of the request: no other call may touch it meanwhile, and a
 * second or concurrent CompleteUpgrade finds them taken (CONTRACT C4). */
static DWORD take_request(struct wh_request *r)
{
  int zero = 0;
  return atomic_compare_exchange_strong(&r->busy, &zero, WH_SIDE_BOTH)
             ? ERROR_SUCCESS
             : ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
}

HINTERNET WINAPI WinHttpWebSocketCompleteUpgrade(HINTERNET hRequest, DWORD_PTR pContext)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(hRequest, WH_REQUEST, &o);
  if (err != ERROR_SUCCESS) {
    SetLastError(err);
    return NULL;
  }
  struct wh_request *r = wh_request_of(o);
  HINTERNET ws = NULL;
  err = take_request(r);
  if (err == ERROR_SUCCESS) {
    struct wh_exchange *x = &r->x;
    /* Only once, and only after a 101 to this request's upgrade: the
     * connection is then held for us (and gone after the first call). */
    if (!x->ws_ready || !x->conn || !x->have_resp)
      err = ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
    bool deflated = false;
    struct wh_ws_deflate_params params;
    if (err == ERROR_SUCCESS) {
      pthread_mutex_lock(&r->hdr.lock);
      err = wh_ws_check_response(&x->resp, &r->headers, x->ws_key, x->ws_deflate_offer,
                                 &deflated, &params);
      pthread_mutex_unlock(&r->hdr.lock);
    }
    if (err == ERROR_SUCCESS)
      err = wh_websocket_new(r, pContext, deflated ? &params : NULL, &ws);
    atomic_store(&r->busy, 0);
  }
  if (err == ERROR_SUCCESS)
    wh_notify(&r->hdr, WINHTTP_CALLBACK_STATUS_HANDLE_CREATED, &ws, sizeof(ws));
  wh_handle_put(o);
  SetLastError(err);
  return ws;
}

/* --- the WebSocket's own calls --------------------------------------------------- */

static DWORD grab_ws(HINTERNET h, struct wh_object **o)
{
  return wh_object_grab(h, WH_WEBSOCKET, o);
}

static bool valid_buffer_type(WINHTTP_WEB_SOCKET_BUFFER_TYPE t)
{
  return t == WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE ||
         t == WINHTTP_WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE ||
         t == WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE ||
         t == WINHTTP_WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE;
}

DWORD WINAPI WinHttpWebSocketSend(HINTERNET hWebSocket, WINHTTP_WEB_SOCKET_BUFFER_TYPE eBufferType,
                                  PVOID pvBuffer, DWORD dwBufferLength)
{
  struct wh_object *o;
  DWORD err = grab_ws(hWebSocket, &o);
  if (err != ERROR_SUCCESS)
    return err;
  /* A close goes through Shutdown or Close, never Send. */
  if (!valid_buffer_type(eBufferType) || (!pvBuffer && dwBufferLength))
    err = ERROR_INVALID_PARAMETER;
  else
    err = wh_websocket_send(wh_websocket_of(o), eBufferType, pvBuffer, dwBufferLength);
  wh_handle_put(o);
  return err;
}

DWORD WINAPI WinHttpWebSocketReceive(HINTERNET hWebSocket, PVOID pvBuffer, DWORD dwBufferLength,
                                     DWORD *pdwBytesRead,
                                     WINHTTP_WEB_SOCKET_BUFFER_TYPE *peBufferType)
{
  struct wh_object *o;
  DWORD err = grab_ws(hWebSocket, &o);
  if (err != ERROR_SUCCESS)
    return err;
  if (!pvBuffer || !dwBufferLength || !pdwBytesRead || !peBufferType)
    err = ERROR_INVALID_PARAMETER;
  else
    err = wh_websocket_receive(wh_websocket_of(o), pvBuffer, dwBufferLength, pdwBytesRead,
                               peBufferType);
  wh_handle_put(o);
  return err;
}

/* Shutdown and Close: a reason of at most 123 bytes, present when its
 * length says so. */
static bool valid_reason(const void *reason, DWORD len)
{
  return len <= WINHTTP_WEB_SOCKET_MAX_CLOSE_REASON_LENGTH && (reason || !len);
}

/* Shutdown and Close share their checks; |op| is the engine's call. */
static DWORD closing_call(HINTERNET h, USHORT status, const void *reason, DWORD len,
                          DWORD (*op)(struct wh_websocket *, USHORT, const void *, DWORD))
{
  struct wh_object *o;
  DWORD err = grab_ws(h, &o);
  if (err != ERROR_SUCCESS)
    return err;
  err = valid_reason(reason, len) ? op(wh_websocket_of(o), status, reason, len)
                                  : ERROR_INVALID_PARAMETER;
  wh_handle_put(o);
  return err;
}

DWORD WINAPI WinHttpWebSocketShutdown(HINTERNET hWebSocket, USHORT usStatus, PVOID pvReason,
                                      DWORD dwReasonLength)
{
  return closing_call(hWebSocket, usStatus, pvReason, dwReasonLength, wh_websocket_shutdown);
}

DWORD WINAPI WinHttpWebSocketClose(HINTERNET hWebSocket, USHORT usStatus, PVOID pvReason,
                                   DWORD dwReasonLength)
{
  return closing_call(hWebSocket, usStatus, pvReason, dwReasonLength, wh_websocket_close);
}

DWORD WINAPI WinHttpWebSocketQueryCloseStatus(HINTERNET hWebSocket, USHORT *pusStatus,
                                              PVOID pvReason, DWORD dwReasonLength,
                                              DWORD *pdwReasonLengthConsumed)
{
  struct wh_object *o;
  DWORD err = grab_ws(hWebSocket, &o);
  if (err != ERROR_SUCCESS)
    return err;
  if (!pusStatus || !pdwReasonLengthConsumed || (!pvReason && dwReasonLength))
    err = ERROR_INVALID_PARAMETER;
  else
    err = wh_websocket_query_close_status(wh_websocket_of(o), pusStatus, pvReason,
                                          dwReasonLength, pdwReasonLengthConsumed);
  wh_handle_put(o);
  return err;
}

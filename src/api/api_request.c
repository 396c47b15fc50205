/* WinHttpSendRequest, WinHttpWriteData, WinHttpReceiveResponse,
 * WinHttpQueryDataAvailable, WinHttpReadData, WinHttpReadDataEx: argument
 * and state checks around the request state machine (core/exchange.c),
 * driven on the calling thread (synchronous sessions).
 *
 * One operation at a time per request (CONTRACT C9): a call made while
 * another is running on the same request, from any thread, fails with
 * ERROR_WINHTTP_INCORRECT_HANDLE_STATE and leaves the first undisturbed.
 * Closing the handle from another thread ends a blocked call with
 * ERROR_WINHTTP_OPERATION_CANCELLED (CONTRACT C6).
 *
 * Asynchronous sessions (WINHTTP_FLAG_ASYNC) get the event-driven engine in
 * the next milestone; until then these functions fail on them with
 * ERROR_CALL_NOT_IMPLEMENTED (docs/STATUS.md). */
#include <string.h>
#include <wchar.h>

#include "api/api.h"
#include "core/exchange.h"
#include "core/handle.h"
#include "core/object.h"
#include "util/mem.h"
#include "util/utf.h"

/* Takes the request for one operation. */
static DWORD op_begin(HINTERNET h, struct wh_request **out)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(h, WH_REQUEST, &o);
  if (err != ERROR_SUCCESS)
    return err;
  if (o->flags & WH_OBJ_ASYNC) {
    wh_handle_put(o);
    return ERROR_CALL_NOT_IMPLEMENTED;
  }
  struct wh_request *r = wh_request_of(o);
  int idle = 0;
  if (!atomic_compare_exchange_strong(&r->busy, &idle, 1)) {
    wh_handle_put(o);
    return ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  }
  *out = r;
  return ERROR_SUCCESS;
}

/* |publish|: the operation may have changed the connection or the target,
 * so refresh what WinHttpQueryOption reports. Reads skip it (it copies the
 * server certificate). */
static void op_end_publish(struct wh_request *r, bool publish)
{
  if (publish) {
    pthread_mutex_lock(&r->hdr.lock);
    wh_request_publish_facts(r);
    pthread_mutex_unlock(&r->hdr.lock);
  }
  atomic_store(&r->busy, 0);
  wh_handle_put(&r->hdr);
}

static void op_end(struct wh_request *r)
{
  op_end_publish(r, false);
}

static int state_of(struct wh_request *r)
{
  return atomic_load(&r->state);
}

static void set_state(struct wh_request *r, enum wh_req_state s)
{
  pthread_mutex_lock(&r->hdr.lock);
  atomic_store(&r->state, s);
  pthread_mutex_unlock(&r->hdr.lock);
}

/* A failed exchange leaves no half-used connection behind. */
static DWORD fail_exchange(struct wh_request *r, DWORD err)
{
  wh_exchange_abort_connect(&r->x);
  wh_conn_free(r->x.conn);
  r->x.conn = NULL;
  r->x.rpos = r->x.rend = 0;
  set_state(r, WH_RS_FAILED);
  return err;
}

/* --- SendRequest ------------------------------------------------------------ */

static DWORD add_send_headers(struct wh_request *r, LPCWSTR headers, DWORD len)
{
  if (!headers || len == 0)
    return ERROR_SUCCESS;
  size_t cch = len == (DWORD)-1 ? wcslen(headers) : len;
  char *text = NULL;
  size_t tlen = 0;
  if (wh_utf8_from_wide(headers, cch, &text, &tlen))
    return ERROR_NOT_ENOUGH_MEMORY;
  /* Wine adds them with ADD | REPLACE; the validation is the same as
   * WinHttpAddRequestHeaders' (CR/LF injection refused). */
  pthread_mutex_lock(&r->hdr.lock);
  DWORD err = wh_headers_apply(&r->headers, text, tlen,
                               WINHTTP_ADDREQ_FLAG_ADD | WINHTTP_ADDREQ_FLAG_REPLACE);
  pthread_mutex_unlock(&r->hdr.lock);
  wh_free(text);
  return err;
}

BOOL WINAPI WinHttpSendRequest(HINTERNET hRequest, LPCWSTR lpszHeaders, DWORD dwHeadersLength,
                               LPVOID lpOptional, DWORD dwOptionalLength, DWORD dwTotalLength,
                               DWORD_PTR dwContext)
{
  struct wh_request *r;
  DWORD err = op_begin(hRequest, &r);
  if (err != ERROR_SUCCESS)
    return wh_fail(err);
  if (!lpOptional)
    dwOptionalLength = 0;
  bool may_chunk = (r->open_flags & WINHTTP_FLAG_AUTOMATIC_CHUNKING) &&
                   dwTotalLength == WINHTTP_IGNORE_REQUEST_TOTAL_LENGTH;
  if (dwTotalLength < dwOptionalLength && !may_chunk)
    dwTotalLength = dwOptionalLength; /* Windows sends what it was given */
  if (!lpszHeaders && dwHeadersLength && dwHeadersLength != (DWORD)-1)
    err = ERROR_INVALID_PARAMETER;
  if (err == ERROR_SUCCESS)
    err = add_send_headers(r, lpszHeaders, dwHeadersLength);
  if (err != ERROR_SUCCESS) {
    op_end(r);
    return wh_fail(err);
  }
  /* A non-zero context replaces the handle's (Wine's tests, on Windows). */
  if (dwContext)
    atomic_store(&r->hdr.context, dwContext);

  /* Sending again on the same handle: the previous response is dropped; a
   * connection in the middle of a body cannot be reused. */
  struct wh_exchange *x = &r->x;
  pthread_mutex_lock(&r->hdr.lock);
  atomic_store(&r->state, WH_RS_OPEN);
  if (x->have_resp && !wh_exchange_body_done(x)) {
    wh_conn_free(x->conn);
    x->conn = NULL;
  }
  x->rpos = x->rend = 0;
  wh_exchange_reset_response(x);
  pthread_mutex_unlock(&r->hdr.lock);
  x->redirect_count = 0;
  x->retried = false;

  /* Only HTTP/1.1 is spoken so far: a request that requires HTTP/2 or 3
   * cannot be satisfied (Microsoft: ERROR_WINHTTP_HTTP_PROTOCOL_MISMATCH). */
  if (r->settings.http_protocol_required &&
      (r->settings.enable_http_protocol & WINHTTP_PROTOCOL_MASK))
    err = ERROR_WINHTTP_HTTP_PROTOCOL_MISMATCH;
  if (err == ERROR_SUCCESS)
    err = wh_exchange_prepare(r, lpOptional, dwOptionalLength, dwTotalLength);
  if (err == ERROR_SUCCESS)
    err = wh_drive_sync(r, wh_exchange_send_step);
  if (err != ERROR_SUCCESS)
    fail_exchange(r, err);
  else
    set_state(r, (x->chunked_upload || dwTotalLength > dwOptionalLength) ? WH_RS_BODY
                                                                         : WH_RS_SENT);
  op_end_publish(r, true);
  return wh_result(err);
}

/* --- WriteData ------------------------------------------------------------------ */

BOOL WINAPI WinHttpWriteData(HINTERNET hRequest, LPCVOID lpBuffer, DWORD dwNumberOfBytesToWrite,
                             LPDWORD lpdwNumberOfBytesWritten)
{
  struct wh_request *r;
  DWORD err = op_begin(hRequest, &r);
  if (err != ERROR_SUCCESS)
    return wh_fail(err);
  struct wh_exchange *x = &r->x;
  if (!lpdwNumberOfBytesWritten || (!lpBuffer && dwNumberOfBytesToWrite))
    err = ERROR_INVALID_PARAMETER;
  else if (state_of(r) == WH_RS_SENT && !x->chunked_upload && x->total_len > 0 &&
           x->body_sent == x->total_len && dwNumberOfBytesToWrite > 0)
    /* Everything declared was written: more is past the total length. */
    err = ERROR_INVALID_PARAMETER;
  else if (state_of(r) != WH_RS_BODY)
    err = ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  else if (!x->chunked_upload && dwNumberOfBytesToWrite > x->total_len - x->body_sent)
    /* Past the declared total: the server would read it as the next
     * request (Windows 7 and later refuse it too). */
    err = ERROR_INVALID_PARAMETER;
  if (err == ERROR_SUCCESS) {
    *lpdwNumberOfBytesWritten = 0;
    err = wh_exchange_prepare_write(x, lpBuffer, dwNumberOfBytesToWrite);
    if (err == ERROR_SUCCESS)
      err = wh_drive_sync(r, wh_exchange_write_step);
    if (err == ERROR_SUCCESS) {
      x->body_sent += dwNumberOfBytesToWrite;
      *lpdwNumberOfBytesWritten = dwNumberOfBytesToWrite;
      if (!x->chunked_upload && x->body_sent == x->total_len)
        set_state(r, WH_RS_SENT);
    } else {
      fail_exchange(r, err);
    }
    /* The caller's buffer is not ours beyond this call. */
    x->opt = NULL;
    x->opt_len = x->opt_off = 0;
  }
  op_end(r);
  return wh_result(err);
}

/* --- ReceiveResponse --------------------------------------------------------------- */

/* A chunked upload ends with the last chunk when the caller asks for the
 * response. */
static DWORD end_chunked_upload(struct wh_request *r)
{
  if (state_of(r) != WH_RS_BODY || !r->x.chunked_upload)
    return ERROR_SUCCESS;
  wh_exchange_prepare_last_chunk(&r->x);
  DWORD err = wh_drive_sync(r, wh_exchange_write_step);
  if (err != ERROR_SUCCESS)
    return fail_exchange(r, err);
  set_state(r, WH_RS_SENT);
  return ERROR_SUCCESS;
}

BOOL WINAPI WinHttpReceiveResponse(HINTERNET hRequest, LPVOID lpReserved)
{
  struct wh_request *r;
  DWORD err = op_begin(hRequest, &r);
  if (err != ERROR_SUCCESS)
    return wh_fail(err);
  if (lpReserved)
    err = ERROR_INVALID_PARAMETER;
  else
    err = end_chunked_upload(r);
  if (err == ERROR_SUCCESS && state_of(r) != WH_RS_SENT)
    /* Before SendRequest, before the declared body was written, or a
     * second time. */
    err = ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  else if (err == ERROR_SUCCESS) {
    err = wh_drive_sync(r, wh_exchange_recv_step);
    if (err == ERROR_SUCCESS)
      set_state(r, wh_exchange_body_done(&r->x) ? WH_RS_DONE : WH_RS_HEADERS);
    else
      fail_exchange(r, err);
  }
  op_end_publish(r, true);
  return wh_result(err);
}

/* --- reading ---------------------------------------------------------------------- */

static bool can_read(struct wh_request *r)
{
  int s = state_of(r);
  return s == WH_RS_HEADERS || s == WH_RS_DONE;
}

BOOL WINAPI WinHttpQueryDataAvailable(HINTERNET hRequest, LPDWORD lpdwNumberOfBytesAvailable)
{
  struct wh_request *r;
  DWORD err = op_begin(hRequest, &r);
  if (err != ERROR_SUCCESS)
    return wh_fail(err);
  if (!can_read(r))
    err = ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  if (err == ERROR_SUCCESS) {
    err = wh_drive_sync(r, wh_exchange_fill_step);
    if (err == ERROR_SUCCESS) {
      size_t n = wh_exchange_buffered(&r->x);
      if (lpdwNumberOfBytesAvailable)
        *lpdwNumberOfBytesAvailable = n > 0xFFFFFFFFu ? 0xFFFFFFFFu : (DWORD)n;
      if (wh_exchange_body_done(&r->x))
        set_state(r, WH_RS_DONE);
    } else {
      fail_exchange(r, err);
    }
  }
  op_end(r);
  return wh_result(err);
}

/* ReadData and ReadDataEx: |fill| waits for |cap| bytes or the end. */
static DWORD read_body(HINTERNET h, void *buf, DWORD cap, LPDWORD read, bool fill)
{
  struct wh_request *r;
  DWORD err = op_begin(h, &r);
  if (err != ERROR_SUCCESS)
    return err;
  if (!read || (!buf && cap))
    err = ERROR_INVALID_PARAMETER;
  else if (!can_read(r))
    err = ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  if (err == ERROR_SUCCESS) {
    struct wh_exchange *x = &r->x;
    *read = 0;
    x->rd_buf = buf;
    x->rd_cap = cap;
    x->rd_got = 0;
    x->rd_fill = fill;
    err = cap ? wh_drive_sync(r, wh_exchange_read_step) : ERROR_SUCCESS;
    if (err == ERROR_SUCCESS) {
      *read = (DWORD)x->rd_got;
      if (wh_exchange_body_done(x))
        set_state(r, WH_RS_DONE);
    } else {
      fail_exchange(r, err);
    }
    x->rd_buf = NULL;
  }
  op_end(r);
  return err;
}

BOOL WINAPI WinHttpReadData(HINTERNET hRequest, LPVOID lpBuffer, DWORD dwNumberOfBytesToRead,
                            LPDWORD lpdwNumberOfBytesRead)
{
  /* ReadData fills the buffer or reaches the end (WINHTTP-API.md §1.2). */
  return wh_result(read_body(hRequest, lpBuffer, dwNumberOfBytesToRead, lpdwNumberOfBytesRead, true));
}

DWORD WINAPI WinHttpReadDataEx(HINTERNET hRequest, LPVOID lpBuffer, DWORD dwNumberOfBytesToRead,
                               LPDWORD lpdwNumberOfBytesRead, ULONGLONG ullFlags,
                               DWORD cbProperty, PVOID pvProperty)
{
  /* cbProperty/pvProperty are reserved; unknown flags are refused. */
  if (cbProperty || pvProperty || (ullFlags & ~WINHTTP_READ_DATA_EX_FLAG_FILL_BUFFER))
    return ERROR_INVALID_PARAMETER;
  return read_body(hRequest, lpBuffer, dwNumberOfBytesToRead, lpdwNumberOfBytesRead,
                   (ullFlags & WINHTTP_READ_DATA_EX_FLAG_FILL_BUFFER) != 0);
}

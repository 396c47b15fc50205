/* WinHttpSendRequest, WinHttpWriteData, WinHttpReceiveResponse,
 * WinHttpQueryDataAvailable, WinHttpReadData, WinHttpReadDataEx: argument
 * and state checks around the request state machine (core/exchange.c).
 *
 * Each operation is a step function plus an "after" function (the state
 * change once the step ends). On a synchronous session the calling thread
 * drives the step (wh_drive_sync) and the result is returned; on an
 * asynchronous one the step runs on the request's loop thread
 * (core/async.c), the call returns TRUE at once, and the result arrives as
 * the completion notification (SENDREQUEST_COMPLETE, WRITE_COMPLETE,
 * HEADERS_AVAILABLE, DATA_AVAILABLE, READ_COMPLETE) or REQUEST_ERROR with
 * WINHTTP_ASYNC_RESULT.
 *
 * One operation at a time per request (CONTRACT C9): a call made while
 * another is running on the same request, from any thread, fails with
 * ERROR_WINHTTP_INCORRECT_HANDLE_STATE and leaves the first undisturbed.
 * Closing the handle from another thread ends a blocked synchronous call
 * with ERROR_WINHTTP_OPERATION_CANCELLED (CONTRACT C6), and an
 * asynchronous one with REQUEST_ERROR(OPERATION_CANCELLED) before
 * HANDLE_CLOSING (CONTRACT C7). */
#include <string.h>
#include <wchar.h>

#include "api/api.h"
#include "core/async.h"
#include "core/credentials.h"
#include "core/exchange.h"
#include "core/handle.h"
#include "core/object.h"
#include "util/mem.h"
#include "util/utf.h"

/* Takes the request for one operation of |lane| holding the |bits| sides
 * (CONTRACT C9: one operation per side; C10: the two sides are separate).
 * A side already in use: ERROR_WINHTTP_INCORRECT_HANDLE_STATE. */
static DWORD op_begin(HINTERNET h, int lane, int bits, struct wh_request **out)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(h, WH_REQUEST, &o);
  if (err != ERROR_SUCCESS)
    return err;
  struct wh_request *r = wh_request_of(o);
  int old = atomic_load(&r->busy);
  do {
    if (old & bits) {
      wh_handle_put(o);
      return ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
    }
  } while (!atomic_compare_exchange_weak(&r->busy, &old, old | bits));
  r->lane[lane].bits = bits;
  *out = r;
  return ERROR_SUCCESS;
}

/* Also takes the send side for an operation that already holds the
 * receive side (ReceiveResponse ending a chunked upload); false when a
 * WriteData has it. */
static bool take_send_side(struct wh_request *r, int lane)
{
  int old = atomic_load(&r->busy);
  do {
    if (old & WH_SIDE_SEND)
      return false;
  } while (!atomic_compare_exchange_weak(&r->busy, &old, old | WH_SIDE_SEND));
  r->lane[lane].bits |= WH_SIDE_SEND;
  return true;
}

static bool is_async(const struct wh_request *r)
{
  return (r->hdr.flags & WH_OBJ_ASYNC) != 0;
}

/* Refreshes what WinHttpQueryOption reports (connection, certificate,
 * target after redirects). */
static void publish(struct wh_request *r)
{
  pthread_mutex_lock(&r->hdr.lock);
  wh_request_publish_facts(r);
  pthread_mutex_unlock(&r->hdr.lock);
}

static void release_busy(struct wh_request *r, int lane)
{
  int bits = r->lane[lane].bits;
  r->lane[lane].bits = 0;
  atomic_fetch_and(&r->busy, ~bits);
}

/* Ends a call that did not start an operation. */
static void op_end(struct wh_request *r, int lane)
{
  release_busy(r, lane);
  wh_handle_put(&r->hdr);
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

/* A failed exchange leaves no half-used connection behind. A full-duplex
 * exchange's connection may be in use by the other side at this moment:
 * it is shut down (the other side's I/O then fails promptly) but kept
 * until the next SendRequest or the handle's end. */
static DWORD fail_exchange(struct wh_request *r, DWORD err)
{
  struct wh_exchange *x = &r->x;
  struct wh_conn *c = NULL;
  pthread_mutex_lock(&r->hdr.lock);
  bool split = x->split;
  pthread_mutex_unlock(&r->hdr.lock);
  /* A split exchange was connected long ago; otherwise this operation is
   * the only one running and owns the connecting state. */
  if (!split)
    wh_exchange_abort_connect(x);
  pthread_mutex_lock(&r->hdr.lock);
  atomic_store(&x->body_open, false);
  if (x->split) {
    if (x->conn)
      wh_conn_shutdown(x->conn);
    wh_exchange_cancel_stream(x);
  } else {
    c = x->conn;
    x->conn = NULL;
    x->rpos = x->rend = 0;
    wh_exchange_drop_stream(x);
  }
  /* The server asked for a certificate: the names it gave outlive the
   * connection, for WINHTTP_OPTION_CLIENT_CERT_ISSUER_LIST. */
  if (err == ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED && c && c->cert_issuers) {
    wh_blob_unref(x->cert_issuers);
    x->cert_issuers = wh_blob_ref(c->cert_issuers);
  }
  atomic_store(&r->state, WH_RS_FAILED);
  r->send_in_flight = false;
  pthread_mutex_unlock(&r->hdr.lock);
  wh_conn_free(c);
  return err;
}

/* The request body is complete: a request still in BODY goes to SENT (a
 * full-duplex one may already be past it). */
static void body_complete(struct wh_request *r)
{
  pthread_mutex_lock(&r->hdr.lock);
  atomic_store(&r->x.body_open, false);
  int body = WH_RS_BODY;
  atomic_compare_exchange_strong(&r->state, &body, WH_RS_SENT);
  pthread_mutex_unlock(&r->hdr.lock);
}

/* --- the operations: step, then the state change --------------------------------- */

struct op {
  DWORD api_id;   /* WINHTTP_ASYNC_RESULT.dwResult */
  DWORD status;   /* the completion notification */
  bool publish;   /* the connection or target may have changed */
  DWORD (*step)(struct wh_request *r, struct wh_io *io);
  DWORD (*after)(struct wh_request *r, DWORD err);
  /* The completion's information; NULL: none. */
  void (*info)(struct wh_request *r, void **info, DWORD *len);
  struct wh_async_op async; /* the same step, for the loop thread */
  /* Undoes what the call prepared when an asynchronous operation cannot
   * be started (no loop thread); NULL: nothing to undo. */
  void (*unstarted)(struct wh_request *r);
};

static DWORD after_send(struct wh_request *r, DWORD err)
{
  if (err != ERROR_SUCCESS)
    return fail_exchange(r, err);
  struct wh_exchange *x = &r->x;
  bool open = x->chunked_upload || x->total_len > x->body_sent;
  atomic_store(&x->body_open, open);
  pthread_mutex_lock(&r->hdr.lock);
  r->send_in_flight = false;
  atomic_store(&r->state, open ? WH_RS_BODY : WH_RS_SENT);
  pthread_mutex_unlock(&r->hdr.lock);
  return ERROR_SUCCESS;
}

static DWORD after_write(struct wh_request *r, DWORD err)
{
  struct wh_exchange *x = &r->x;
  DWORD n = x->ending_upload ? 0 : (DWORD)x->opt_len;
  bool ended = x->ending_upload;
  /* The caller's buffer is not ours beyond this operation. */
  x->opt = NULL;
  x->opt_len = x->opt_off = 0;
  x->ending_upload = false;
  r->write_dword = 0;
  if (err != ERROR_SUCCESS)
    return fail_exchange(r, err);
  x->body_sent += n;
  r->write_dword = n;
  if (ended || (!x->chunked_upload && x->body_sent == x->total_len))
    body_complete(r);
  return ERROR_SUCCESS;
}

/* A chunked upload that ReceiveResponse ends (it holds the send side too)
 * first sends the last chunk. */
static DWORD receive_step(struct wh_request *r, struct wh_io *io)
{
  struct wh_exchange *x = &r->x;
  if (x->receive_ends_upload) {
    if (!x->ending_upload) {
      wh_exchange_prepare_last_chunk(x);
      x->ending_upload = true;
    }
    DWORD err = wh_exchange_write_step(r, io);
    if (err != ERROR_SUCCESS)
      return err;
    x->ending_upload = false;
    x->receive_ends_upload = false;
    body_complete(r);
    io->deadline = 0;
  }
  return wh_exchange_recv_step(r, io);
}

static DWORD after_receive(struct wh_request *r, DWORD err)
{
  /* The send half is the receive side's only when it ended the upload (it
   * then holds the send side as well); otherwise a writer may be using it. */
  if (r->x.receive_ends_upload) {
    r->x.ending_upload = false;
    r->x.receive_ends_upload = false;
  }
  if (err != ERROR_SUCCESS)
    return fail_exchange(r, err);
  set_state(r, wh_exchange_body_done(&r->x) ? WH_RS_DONE : WH_RS_HEADERS);
  return ERROR_SUCCESS;
}

static DWORD after_query_data(struct wh_request *r, DWORD err)
{
  if (err != ERROR_SUCCESS)
    return fail_exchange(r, err);
  size_t n = wh_exchange_buffered(&r->x);
  r->async_dword = n > 0xFFFFFFFFu ? 0xFFFFFFFFu : (DWORD)n;
  if (wh_exchange_body_done(&r->x))
    set_state(r, WH_RS_DONE);
  return ERROR_SUCCESS;
}

static DWORD read_step(struct wh_request *r, struct wh_io *io)
{
  return r->x.rd_cap ? wh_exchange_read_step(r, io) : ERROR_SUCCESS;
}

static DWORD after_read(struct wh_request *r, DWORD err)
{
  if (err != ERROR_SUCCESS)
    return fail_exchange(r, err);
  if (wh_exchange_body_done(&r->x))
    set_state(r, WH_RS_DONE);
  return ERROR_SUCCESS;
}

static void info_dword(struct wh_request *r, void **info, DWORD *len)
{
  *info = &r->async_dword;
  *len = sizeof(r->async_dword);
}

static void info_written(struct wh_request *r, void **info, DWORD *len)
{
  *info = &r->write_dword;
  *len = sizeof(r->write_dword);
}

/* READ_COMPLETE: the caller's buffer and the bytes read. */
static void info_read(struct wh_request *r, void **info, DWORD *len)
{
  *info = r->x.rd_buf;
  *len = (DWORD)r->x.rd_got;
}

static void finish_send(struct wh_request *r, DWORD err);
static void finish_write(struct wh_request *r, DWORD err);
static void finish_receive(struct wh_request *r, DWORD err);
static void finish_query_data(struct wh_request *r, DWORD err);
static void finish_read(struct wh_request *r, DWORD err);

static void send_unstarted(struct wh_request *r);
static void receive_unstarted(struct wh_request *r);
static const struct op op_send = {API_SEND_REQUEST, WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE,
                                  true, wh_exchange_send_step, after_send, NULL,
                                  {WH_LANE_SEND, wh_exchange_send_step, finish_send},
                                  send_unstarted};
static const struct op op_write = {API_WRITE_DATA, WINHTTP_CALLBACK_STATUS_WRITE_COMPLETE, false,
                                   wh_exchange_write_step, after_write, info_written,
                                   {WH_LANE_SEND, wh_exchange_write_step, finish_write}, NULL};
static const struct op op_receive = {API_RECEIVE_RESPONSE,
                                     WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE, true,
                                     receive_step, after_receive, NULL,
                                     {WH_LANE_RECV, receive_step, finish_receive},
                                     receive_unstarted};
static const struct op op_query_data = {API_QUERY_DATA_AVAILABLE,
                                        WINHTTP_CALLBACK_STATUS_DATA_AVAILABLE, false,
                                        wh_exchange_fill_step, after_query_data, info_dword,
                                        {WH_LANE_RECV, wh_exchange_fill_step, finish_query_data}, NULL};
/* A ReceiveResponse refused for its state on an asynchronous request:
 * Windows returns TRUE and reports it as REQUEST_ERROR. Run like any
 * operation of the receive side, so the error is serialised with the
 * request's other callbacks. */
static DWORD refused_step(struct wh_request *r, struct wh_io *io)
{
  (void)r;
  (void)io;
  return ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
}

static DWORD after_refused(struct wh_request *r, DWORD err)
{
  (void)r;
  return err;
}

static void finish_refused(struct wh_request *r, DWORD err);
static const struct op op_receive_refused = {API_RECEIVE_RESPONSE,
                                             WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE, false,
                                             refused_step, after_refused, NULL,
                                             {WH_LANE_RECV, refused_step, finish_refused}, NULL};
static const struct op op_read = {API_READ_DATA, WINHTTP_CALLBACK_STATUS_READ_COMPLETE, false,
                                  read_step, after_read, info_read,
                                  {WH_LANE_RECV, read_step, finish_read}, NULL};

/* The asynchronous end of an operation, on the loop thread: state change,
 * busy released, then exactly one notification. */
static void finish_reported(struct wh_request *r, const struct op *op, DWORD err);

static void finish_async(struct wh_request *r, const struct op *op, DWORD err)
{
  finish_reported(r, op, op->after(r, err));
}

/* The notification part of finish_async, once |op|'s state change is done. */
static void finish_reported(struct wh_request *r, const struct op *op, DWORD err)
{
  if (op->publish)
    publish(r);
  void *info = NULL;
  DWORD len = 0;
  if (err == ERROR_SUCCESS && op->info)
    op->info(r, &info, &len);
  if (op == &op_read)
    r->x.rd_buf = NULL;
  /* In the callback before the busy flag goes: a thread that starts the
   * next operation meanwhile sees it and does not complete inline. */
  struct wh_request *saved = wh_async_callback_enter(r);
  release_busy(r, op->async.lane);
  if (err == ERROR_SUCCESS) {
    wh_notify(&r->hdr, op->status, info, len);
  } else {
    WINHTTP_ASYNC_RESULT res = {op->api_id, err};
    wh_notify(&r->hdr, WINHTTP_CALLBACK_STATUS_REQUEST_ERROR, &res, sizeof(res));
  }
  wh_async_callback_leave(r, saved);
}

static DWORD receive_prepare(struct wh_request *r);

/* A ReceiveResponse queued while SendRequest ran (queue_receive): the send,
 * which holds both sides, hands the receive side over to it before it lets
 * go, so nothing else can take that side in between. Returns whether one
 * was queued. */
static bool take_queued_receive(struct wh_request *r)
{
  pthread_mutex_lock(&r->hdr.lock);
  r->send_in_flight = false; /* no more queueing behind this send */
  bool queued = atomic_load(&r->receive_queued);
  atomic_store(&r->receive_queued, false);
  pthread_mutex_unlock(&r->hdr.lock);
  if (queued) {
    r->lane[WH_LANE_SEND].bits &= ~WH_SIDE_RECV;
    r->lane[WH_LANE_RECV].bits = WH_SIDE_RECV;
  }
  return queued;
}

/* Runs the queued ReceiveResponse, holding the receive side: the receive
 * itself after a successful send, its REQUEST_ERROR otherwise. Either way
 * its one completion comes through the usual serialised path. Drops the
 * queued reference. */
static void run_queued_receive(struct wh_request *r, bool send_ok)
{
  DWORD err = send_ok ? receive_prepare(r) : ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  const struct op *op = err == ERROR_SUCCESS ? &op_receive : &op_receive_refused;
  if (wh_async_run(r, &op->async) != ERROR_SUCCESS) {
    r->x.receive_ends_upload = false;
    release_busy(r, WH_LANE_RECV);
  }
  wh_object_release(&r->hdr);
}

static void finish_send(struct wh_request *r, DWORD err)
{
  DWORD result = op_send.after(r, err);
  /* after_send has ended the in-flight window under the lock, so no
   * receive can be queued from here: a plain look first saves the lock on
   * every request. */
  bool queued = atomic_load(&r->receive_queued) && take_queued_receive(r);
  finish_reported(r, &op_send, result);
  if (queued)
    run_queued_receive(r, result == ERROR_SUCCESS);
}

static void finish_refused(struct wh_request *r, DWORD err)
{
  finish_reported(r, &op_receive_refused, err);
}

/* The send could not start (no loop thread): a receive queued behind it
 * gets its REQUEST_ERROR. */
static void send_unstarted(struct wh_request *r)
{
  if (take_queued_receive(r))
    run_queued_receive(r, false);
}

static void receive_unstarted(struct wh_request *r)
{
  r->x.receive_ends_upload = false;
}
static void finish_write(struct wh_request *r, DWORD err) { finish_async(r, &op_write, err); }
static void finish_receive(struct wh_request *r, DWORD err) { finish_async(r, &op_receive, err); }
static void finish_query_data(struct wh_request *r, DWORD err)
{
  finish_async(r, &op_query_data, err);
}
static void finish_read(struct wh_request *r, DWORD err) { finish_async(r, &op_read, err); }

/* Runs |op| the session's way. Sync: the result, and in *out (when given)
 * the count the operation produced (bytes available, or read), taken
 * before the side is released: once it is, another thread may start the
 * next operation, or close the handle and free the request. Async:
 * ERROR_SUCCESS once queued (the result will be called back). Ends the
 * call either way: |r| must not be touched after. */
static DWORD run(struct wh_request *r, const struct op *op, DWORD *out)
{
  int lane = op->async.lane;
  if (is_async(r)) {
    DWORD err = wh_async_run(r, &op->async);
    if (err != ERROR_SUCCESS) {
      if (op->unstarted)
        op->unstarted(r);
      release_busy(r, lane);
    }
    wh_handle_put(&r->hdr);
    return err;
  }
  DWORD err = op->after(r, wh_drive_sync(r, op->step, lane));
  if (op->publish)
    publish(r);
  if (out && err == ERROR_SUCCESS)
    *out = op == &op_read ? (DWORD)r->x.rd_got : r->async_dword;
  if (op == &op_read)
    r->x.rd_buf = NULL;
  op_end(r, lane);
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
  DWORD err = op_begin(hRequest, WH_LANE_SEND, WH_SIDE_BOTH, &r);
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
    op_end(r, WH_LANE_SEND);
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
  atomic_store(&x->body_open, false);
  /* A full-duplex exchange's connection is not reused either: its request
   * body may not have been finished. */
  if ((x->have_resp && !wh_exchange_body_done(x)) || x->split || x->ws_ready) {
    wh_conn_free(x->conn);
    x->conn = NULL;
  }
  /* An HTTP/2 stream still open is reset; the connection carries on. */
  wh_exchange_drop_stream(x);
  x->split = false;
  x->rpos = x->rend = 0;
  wh_exchange_reset_response(x);
  /* A new send: the issuer list of a previous CLIENT_AUTH_CERT_NEEDED goes
   * with the facts this send publishes. */
  wh_blob_unref(x->cert_issuers);
  x->cert_issuers = NULL;
  /* HTTP/3 is not spoken: a request that requires it (and not HTTP/2,
   * which the connection may negotiate) cannot be satisfied (Microsoft:
   * ERROR_WINHTTP_HTTP_PROTOCOL_MISMATCH). HTTP/2's own check comes when
   * the connection is made (core/exchange.c). */
  if (r->settings.http_protocol_required &&
      (r->settings.enable_http_protocol & WINHTTP_PROTOCOL_MASK) == WINHTTP_PROTOCOL_FLAG_HTTP3)
    err = ERROR_WINHTTP_HTTP_PROTOCOL_MISMATCH;
  pthread_mutex_unlock(&r->hdr.lock);
  x->redirect_count = 0;
  wh_cred_send_begins(r);
  x->retried = false;

  if (err == ERROR_SUCCESS)
    err = wh_exchange_prepare(r, lpOptional, dwOptionalLength, dwTotalLength);
  if (err != ERROR_SUCCESS) {
    fail_exchange(r, err);
    op_end(r, WH_LANE_SEND);
    return wh_fail(err);
  }
  pthread_mutex_lock(&r->hdr.lock);
  r->send_in_flight = true;
  pthread_mutex_unlock(&r->hdr.lock);
  return wh_result(run(r, &op_send, NULL));
}

/* --- WriteData ------------------------------------------------------------------ */

BOOL WINAPI WinHttpWriteData(HINTERNET hRequest, LPCVOID lpBuffer, DWORD dwNumberOfBytesToWrite,
                             LPDWORD lpdwNumberOfBytesWritten)
{
  struct wh_request *r;
  DWORD err = op_begin(hRequest, WH_LANE_SEND, WH_SIDE_SEND, &r);
  if (err != ERROR_SUCCESS)
    return wh_fail(err);
  struct wh_exchange *x = &r->x;
  bool open = atomic_load(&x->body_open);
  /* Asynchronous callers get the count in WRITE_COMPLETE (Microsoft: pass
   * NULL); synchronous ones must give somewhere to put it. */
  if ((!lpdwNumberOfBytesWritten && !is_async(r)) || (!lpBuffer && dwNumberOfBytesToWrite))
    err = ERROR_INVALID_PARAMETER;
  else if (!open && state_of(r) == WH_RS_SENT && !x->chunked_upload && x->total_len > 0 &&
           x->body_sent == x->total_len && dwNumberOfBytesToWrite > 0)
    /* Everything declared was written: more is past the total length. */
    err = ERROR_INVALID_PARAMETER;
  else if (!open)
    /* No body expected, or it is complete (the response may be read
     * meanwhile: the send side is the request body only, CONTRACT C10). */
    err = ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  else if (!x->chunked_upload && dwNumberOfBytesToWrite > x->total_len - x->body_sent)
    /* Past the declared total: the server would read it as the next
     * request (Windows 7 and later refuse it too). */
    err = ERROR_INVALID_PARAMETER;
  if (err == ERROR_SUCCESS) {
    if (x->chunked_upload && dwNumberOfBytesToWrite == 0) {
      /* A zero-length write ends a chunked upload: the last chunk. */
      wh_exchange_prepare_last_chunk(x);
      x->ending_upload = true;
    } else {
      err = wh_exchange_prepare_write(x, lpBuffer, dwNumberOfBytesToWrite);
    }
  }
  if (err != ERROR_SUCCESS) {
    op_end(r, WH_LANE_SEND);
    return wh_fail(err);
  }
  bool async = is_async(r);
  if (lpdwNumberOfBytesWritten && !async)
    *lpdwNumberOfBytesWritten = 0;
  err = run(r, &op_write, NULL);
  if (err == ERROR_SUCCESS && !async)
    *lpdwNumberOfBytesWritten = dwNumberOfBytesToWrite;
  return wh_result(err);
}

/* --- ReceiveResponse --------------------------------------------------------------- */

/* The receive side is held: decides how the response is received (after
 * ending a chunked upload, in full duplex, or plainly). */
static DWORD receive_prepare(struct wh_request *r)
{
  struct wh_exchange *x = &r->x;
  if (state_of(r) == WH_RS_BODY && x->chunked_upload && take_send_side(r, WH_LANE_RECV)) {
    /* No WriteData in flight: ReceiveResponse ends the chunked upload, as
     * on Windows (it holds the send side while it sends the last chunk). */
    x->receive_ends_upload = true;
    return ERROR_SUCCESS;
  }
  /* The body still being written (a WriteData in flight on a chunked
   * upload, or declared bytes still to come): full duplex, the response is
   * read while the send side goes on (CONTRACT C10). Decided under the
   * lock a failing send side takes, so that it cannot free the connection
   * this side is about to use. */
  DWORD err = ERROR_SUCCESS;
  pthread_mutex_lock(&r->hdr.lock);
  int st = atomic_load(&r->state);
  if (st == WH_RS_BODY)
    x->split = true;
  else if (st != WH_RS_SENT)
    /* Before SendRequest, after a failure, or a second time. */
    err = ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  pthread_mutex_unlock(&r->hdr.lock);
  return err;
}

/* An asynchronous ReceiveResponse while SendRequest still runs (Windows
 * accepts it, for instance from REQUEST_SENT): queued, it starts when the
 * send ends. false when there is nothing to queue behind. */
static bool queue_receive(HINTERNET h)
{
  struct wh_object *o;
  if (wh_object_grab(h, WH_REQUEST, &o) != ERROR_SUCCESS)
    return false;
  struct wh_request *r = wh_request_of(o);
  bool queued = false;
  pthread_mutex_lock(&o->lock);
  /* Only behind a send that is running: from just before its step starts
   * until its end (after_send, fail_exchange, or not started), each of
   * which closes the window under this lock. A SendRequest refused before
   * that never opened it, so nothing can be queued behind it. */
  if (is_async(r) && r->send_in_flight && !atomic_load(&r->receive_queued)) {
    atomic_store(&r->receive_queued, true);
    queued = true;
  }
  pthread_mutex_unlock(&o->lock);
  if (queued)
    wh_object_addref(o); /* until the queued receive has run or failed */
  wh_handle_put(o);
  return queued;
}

BOOL WINAPI WinHttpReceiveResponse(HINTERNET hRequest, LPVOID lpReserved)
{
  struct wh_request *r;
  DWORD err = op_begin(hRequest, WH_LANE_RECV, WH_SIDE_RECV, &r);
  if (err == ERROR_WINHTTP_INCORRECT_HANDLE_STATE && !lpReserved && queue_receive(hRequest))
    return TRUE;
  if (err != ERROR_SUCCESS)
    return wh_fail(err);
  err = lpReserved ? ERROR_INVALID_PARAMETER : receive_prepare(r);
  if (err == ERROR_WINHTTP_INCORRECT_HANDLE_STATE && is_async(r))
    /* Asynchronous and out of sequence (before SendRequest, or a second
     * time): Windows returns TRUE and reports the error through the
     * callback — on the calling thread when no other callback of the
     * request is running (WINHTTP-API.md §3.2). One accepted call, one
     * REQUEST_ERROR. */
    return wh_result(run(r, &op_receive_refused, NULL));
  if (err != ERROR_SUCCESS) {
    op_end(r, WH_LANE_RECV);
    return wh_fail(err);
  }
  return wh_result(run(r, &op_receive, NULL));
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
  DWORD err = op_begin(hRequest, WH_LANE_RECV, WH_SIDE_RECV, &r);
  if (err != ERROR_SUCCESS)
    return wh_fail(err);
  if (!can_read(r)) {
    op_end(r, WH_LANE_RECV);
    return wh_fail(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  }
  bool async = is_async(r);
  DWORD avail = 0;
  err = run(r, &op_query_data, &avail);
  if (err == ERROR_SUCCESS && !async && lpdwNumberOfBytesAvailable)
    *lpdwNumberOfBytesAvailable = avail;
  return wh_result(err);
}

/* ReadData and ReadDataEx: |fill| waits for |cap| bytes or the end.
 * Asynchronous: ERROR_IO_PENDING once queued. */
static DWORD read_body(HINTERNET h, void *buf, DWORD cap, LPDWORD read, bool fill)
{
  struct wh_request *r;
  DWORD err = op_begin(h, WH_LANE_RECV, WH_SIDE_RECV, &r);
  if (err != ERROR_SUCCESS)
    return err;
  bool async = is_async(r);
  if ((!read && !async) || (!buf && cap))
    err = ERROR_INVALID_PARAMETER;
  else if (!can_read(r))
    err = ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  if (err != ERROR_SUCCESS) {
    op_end(r, WH_LANE_RECV);
    return err;
  }
  struct wh_exchange *x = &r->x;
  if (read && !async)
    *read = 0;
  x->rd_buf = buf;
  x->rd_cap = cap;
  x->rd_got = 0;
  x->rd_fill = fill;
  DWORD got = 0;
  err = run(r, &op_read, &got);
  if (async)
    return err == ERROR_SUCCESS ? ERROR_IO_PENDING : err;
  if (err == ERROR_SUCCESS)
    *read = got;
  return err;
}

BOOL WINAPI WinHttpReadData(HINTERNET hRequest, LPVOID lpBuffer, DWORD dwNumberOfBytesToRead,
                            LPDWORD lpdwNumberOfBytesRead)
{
  /* ReadData fills the buffer or reaches the end (WINHTTP-API.md §1.2). */
  DWORD err = read_body(hRequest, lpBuffer, dwNumberOfBytesToRead, lpdwNumberOfBytesRead, true);
  return wh_result(err == ERROR_IO_PENDING ? ERROR_SUCCESS : err);
}

DWORD WINAPI WinHttpReadDataEx(HINTERNET hRequest, LPVOID lpBuffer, DWORD dwNumberOfBytesToRead,
                               LPDWORD lpdwNumberOfBytesRead, ULONGLONG ullFlags,
                               DWORD cbProperty, PVOID pvProperty)
{
  /* Microsoft: the count is zeroed before any work or error checking. */
  if (lpdwNumberOfBytesRead)
    *lpdwNumberOfBytesRead = 0;
  /* cbProperty/pvProperty are reserved; unknown flags are refused. */
  if (cbProperty || pvProperty || (ullFlags & ~WINHTTP_READ_DATA_EX_FLAG_FILL_BUFFER))
    return ERROR_INVALID_PARAMETER;
  return read_body(hRequest, lpBuffer, dwNumberOfBytesToRead, lpdwNumberOfBytesRead,
                   (ullFlags & WINHTTP_READ_DATA_EX_FLAG_FILL_BUFFER) != 0);
}

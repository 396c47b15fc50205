/* The asynchronous driver: runs a request's steps (core/exchange.h) on its
 * loop thread (net/loop.h) and reports the result through the status
 * callback, instead of on the calling thread.
 *
 * An accepted operation holds a reference on the request until its
 * completion or REQUEST_ERROR has been delivered, so HANDLE_CLOSING always
 * comes after it (CONTRACT C7). Closing the handle cancels the operation:
 * it ends with ERROR_WINHTTP_OPERATION_CANCELLED on the loop thread. */
#ifndef WH_CORE_ASYNC_H
#define WH_CORE_ASYNC_H

#include <winhttp.h>

#include "core/exchange.h"

struct wh_request;

struct wh_async_op {
  int lane; /* WH_LANE_SEND or WH_LANE_RECV (core/object.h) */
  DWORD (*step)(struct wh_request *r, struct wh_io *io);
  /* On the loop thread when the step ends: state changes, then the
   * notification (completion or REQUEST_ERROR). Must release the
   * request's busy flag before calling back, so the callback can start
   * the next operation. */
  void (*finish)(struct wh_request *r, DWORD err);
};

/* Queues |op| on |r|'s loop (binding one on first use), in its lane. The
 * caller holds the lane's busy bits (r->lane[op->lane].bits). Returns ERROR_SUCCESS (the result will be called back) or
 * ERROR_NOT_ENOUGH_MEMORY (no loop thread could be started). */
DWORD wh_async_start(struct wh_request *r, const struct wh_async_op *op);

/* Tries |op| on the calling thread first when that keeps the rules: no
 * other thread is inside a completion callback of |r|, the other lane is
 * idle (a full-duplex request's two operations then both run on the loop
 * thread, which serialises their callbacks), and inline completions nest
 * at most WH_INLINE_MAX deep (Windows caps them at 3).
 * A step that finishes there is completed there (its callback runs before
 * the call returns, as Windows does when the result is already buffered);
 * one that would wait is handed to the loop. The caller holds the busy
 * flag. Returns as wh_async_start. */
#define WH_INLINE_MAX 3
DWORD wh_async_run(struct wh_request *r, const struct wh_async_op *op);

/* Resumes lane |lane| of |r| if its operation is parked (its step returned
 * ERROR_IO_PENDING with no descriptor and no events): from any thread, at
 * most one wake-up queued at a time. |r| must be alive during the call. */
void wh_async_wake(struct wh_request *r, int lane);

/* Brackets a completion callback of |r| on the calling thread (the
 * busy flag is released in between, so the callback may start the next
 * operation). An operation started meanwhile is handed to the loop only
 * once every callback of |r| has returned, so a request's callbacks never
 * overlap. enter returns what leave needs. */
struct wh_request *wh_async_callback_enter(struct wh_request *r);
void wh_async_callback_leave(struct wh_request *r, struct wh_request *saved);

/* WinHttpCloseHandle: cancels the operations in flight, if any. Any thread. */
void wh_async_cancel(struct wh_request *r);

#endif

/* Private to core/websocket.c and core/ws_async.c: the resumable steps of
 * WebSocket operations, which the synchronous driver (websocket.c) and the
 * asynchronous one (ws_async.c) both run. A step makes progress, finishes,
 * fails, or returns ERROR_IO_PENDING after filling a struct wh_ws_io. */
#ifndef WH_CORE_WS_STEPS_H
#define WH_CORE_WS_STEPS_H

#include "core/websocket.h"

void send_op_init(struct ws_send_op *op, unsigned opcode, unsigned flags, const void *p,
                  size_t len, int wake_fd, struct wh_ws_lane *lane);
DWORD send_step(struct wh_websocket *ws, struct ws_send_op *op, struct wh_ws_io *io);
/* A send that will not finish: gives the writer role back; a frame cut
 * short marks the connection failed. */
void send_abort(struct wh_websocket *ws, struct ws_send_op *op);
DWORD recv_step(struct wh_websocket *ws, struct ws_recv_op *op, struct wh_ws_io *io);

/* Gives a side back (and wakes a waiting Close). */
void ws_side_give(struct wh_websocket *ws, int bits);
/* The bytes a receive that failed after some arrived hands out. */
WINHTTP_WEB_SOCKET_BUFFER_TYPE ws_fragment_type(const struct wh_websocket *ws);

/* The asynchronous driver (ws_async.c). The caller holds the operation's
 * side(s) and has validated everything; these return ERROR_SUCCESS (the
 * completion or REQUEST_ERROR will be called back) or an error (nothing
 * will be). */
DWORD ws_async_send(struct wh_websocket *ws, int kind, unsigned opcode, unsigned flags,
                    const void *p, size_t len, DWORD reported,
                    WINHTTP_WEB_SOCKET_BUFFER_TYPE type);
DWORD ws_async_receive(struct wh_websocket *ws, void *buf, DWORD len);
DWORD ws_async_close(struct wh_websocket *ws, const uint8_t *payload, size_t len);
/* The writer role was given back to |lane|, which waits for it: posts it
 * to its loop again. Any thread. */
void ws_async_wake(struct wh_ws_lane *lane);
/* WinHttpCloseHandle: ends every operation in flight with
 * ERROR_WINHTTP_OPERATION_CANCELLED. */
void ws_async_cancel(struct wh_websocket *ws);

#endif

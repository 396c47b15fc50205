/* WebSocket handles (WinHttpWebSocket*, RFC 6455 client side) over a
 * connection taken from a request whose upgrade succeeded.
 *
 * A WebSocket has two sides that run at once (CONTRACT C11): the send side
 * (WinHttpWebSocketSend, WinHttpWebSocketShutdown) and the receive side
 * (WinHttpWebSocketReceive). One operation per side at a time: a second one
 * is refused with ERROR_INVALID_OPERATION and leaves the first alone.
 * WinHttpWebSocketClose takes both sides: operations pending on either end
 * with ERROR_WINHTTP_OPERATION_CANCELLED, then it runs the close handshake.
 *
 * Synchronous handles run every operation on the calling thread, like the
 * request engine: non-blocking I/O, poll() on the socket and the thread's
 * cancellation eventfd, so WinHttpCloseHandle (C6) or WinHttpWebSocketClose
 * ends a blocked call at once.
 *
 * Frames never interleave on the wire: whoever writes holds the writer role
 * (|wlock| guards it; it is never held across a wait). Control frames the
 * receive side owes (a pong for each ping, keep-alive pings) are queued in
 * |ctl| and written by the role's holder at a frame boundary, or by the
 * receive side itself when nobody holds the role, so a receive never waits
 * for a send to finish and a long send never delays a pong by more than
 * its current frame.
 *
 * Frame decoding is proto/ws.h's; the handshake is core/ws_handshake.h's. */
#ifndef WH_CORE_WEBSOCKET_H
#define WH_CORE_WEBSOCKET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <winhttp.h>

#include "core/object.h"
#include "core/settings.h"
#include "net/conn.h"
#include "net/loop.h"
#include "proto/utf8_valid.h"
#include "proto/ws.h"
#include "proto/ws_deflate.h"

/* The sides' bits in |busy|. */
enum { WH_WS_SIDE_SEND = 1, WH_WS_SIDE_RECV = 2, WH_WS_SIDE_BOTH = 3 };
enum { WH_WS_LANE_SEND = 0, WH_WS_LANE_RECV = 1 };

/* What a step waits for: |fd| ready for |events| (-1: the writer role,
 * through the waiter's wake-up fd), until |deadline| (0: not set yet;
 * WH_NEVER), which is a failure (ERROR_WINHTTP_TIMEOUT) unless |wake| says
 * it only wakes the step (keep-alive). */
struct wh_ws_io {
  int fd;
  short events;
  int64_t deadline;
  bool wake;
};

/* A receive in progress: the caller's buffer (|to_close|: Close awaiting
 * the server's close frame, data discarded), and its result. */
struct ws_recv_op {
  uint8_t *buf;
  DWORD len, got;
  bool to_close;
  int64_t close_deadline;
  DWORD read;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE type;
};

/* A frame being sent: the control frames owed go first, then the head,
 * the payload masked |send_chunk| bytes at a time into |sbuf|, and the
 * control frames queued meanwhile. The writer role is held from the first
 * byte to the last. */
struct wh_ws_lane;

struct ws_send_op {
  int stage;
  int wake_fd;            /* signalled when the writer role is given back */
  struct wh_ws_lane *lane; /* or, asynchronously, the lane then posted */
  unsigned opcode, flags;
  const uint8_t *p;
  size_t len, off;        /* payload bytes masked so far */
  uint8_t key[4];
  unsigned pos;           /* masking offset */
  size_t chunk, chunk_off; /* sbuf[chunk_off, chunk) still to write */
  bool started;           /* bytes of the frame are on the wire */
};

/* Asynchronous handles (core/ws_async.c): one operation in flight per lane
 * (send, receive, and Close's own), run on the WebSocket's loop thread. */
enum { WH_WS_K_NONE, WH_WS_K_SEND, WH_WS_K_SHUTDOWN, WH_WS_K_RECEIVE, WH_WS_K_CLOSE };
enum { WH_WS_LANE_CLOSE = 2 };

struct wh_ws_lane {
  struct wh_websocket *ws;
  int kind;               /* WH_WS_K_* */
  struct ws_send_op send;
  struct ws_recv_op recv;
  int close_stage;
  DWORD bytes;            /* what the completion reports */
  WINHTTP_WEB_SOCKET_BUFFER_TYPE type;
  uint8_t close_payload[WH_WS_CONTROL_MAX];
  size_t close_len;
  struct wh_ws_io io;
  struct wh_watch watch;
  struct wh_task task;
};

/* Pending control frames: a pong, a keep-alive ping and a close at most,
 * each with its head and at most 125 bytes of payload. */
#define WH_WS_CTL_MAX (3 * (WH_WS_HEAD_MAX + WH_WS_CONTROL_MAX))

struct wh_websocket {
  struct wh_object hdr; /* parent: the connection handle of the request */
  struct wh_conn *conn;

  /* The request's settings at the upgrade; WEB_SOCKET_CLOSE_TIMEOUT and
   * WEB_SOCKET_KEEPALIVE_INTERVAL may be changed on the WebSocket handle
   * (under |hdr.lock|: each operation reads them when it starts). */
  struct wh_settings settings;
  DWORD keepalive_ms;   /* the receive in progress's keep-alive (0: none) */
  DWORD send_timeout_ms;
  size_t send_chunk;    /* WEB_SOCKET_SEND_BUFFER_SIZE: bytes masked per write */
  size_t recv_chunk;    /* WEB_SOCKET_RECEIVE_BUFFER_SIZE: bytes read per recv */

  /* One operation per side (WH_WS_SIDE_*). */
  atomic_int busy;

  /* Under |hdr.lock|. |closing|: the handle is being closed; |cancel|:
   * WinHttpWebSocketClose wants the other operations out. Both make a
   * waiting call return OPERATION_CANCELLED; |waiting_fd| is the
   * cancellation fd of the thread blocked on each side. |close_wait_fd|,
   * when not -1, is signalled when a side is given back. */
  bool closing;
  bool cancel;
  int waiting_fd[2];
  int close_wait_fd;

  /* The peer's close (under |hdr.lock|). */
  bool close_received;
  USHORT close_status;
  size_t close_reason_len;
  uint8_t close_reason[WH_WS_CLOSE_REASON_MAX];
  /* Ours: a close frame was sent (Shutdown or Close), the handshake is
   * over (Close), the connection failed (a protocol error, a reset). */
  bool close_sent;
  bool closed;
  bool failed;

  /* Receive side, owned by the operation holding it. Unread bytes are
   * rbuf[rpos, rend); the current data frame's payload not yet handed out
   * is |span|/|span_len| inside it. |rbuf| is NULL while a receive waits
   * with nothing buffered (an idle WebSocket holds no read buffer). */
  uint8_t *rbuf;
  size_t rcap, rpos, rend;
  struct wh_ws_decoder dec;
  size_t span_off, span_len;
  bool span_frame_end, span_message_end;
  bool in_frame;        /* a data frame is being handed out */
  bool msg_compressed;  /* the message being received is deflated (RFC 7692) */
  struct wh_utf8v text; /* its inflated text, validated as it comes out */
  bool zdone;           /* it is all inflated (some may wait in zpend) */
  uint8_t zpend[256];   /* inflated past the caller's buffer */
  size_t zpend_off, zpend_len;
  unsigned msg_opcode;  /* TEXT or BINARY of the message being received */
  int64_t idle_since;   /* last bytes received (keep-alive) */
  DWORD recv_err;       /* the failure that ended receiving, for every later call */

  /* Send side, owned by the operation holding it: the buffer type of the
   * fragmented message being sent, or -1. */
  int send_fragment;
  uint8_t *sbuf;        /* |send_chunk| bytes of masking scratch */
  uint8_t *zout;        /* the compressed payload being sent, |zcap| bytes */
  size_t zcap;

  /* permessage-deflate, when negotiated (winhttp_ext.h): the compressor
   * belongs to the send side, the inflater to the receive side. */
  bool deflate;
  struct wh_ws_deflate z;

  /* The writer role and the control frames owed (under |wlock|). */
  pthread_mutex_t wlock;
  bool writing;
  int writer_wait_fd;   /* a thread waiting for the role, or -1 */
  struct wh_ws_lane *writer_wait_lane; /* an asynchronous lane waiting for it */
  uint8_t ctl[WH_WS_CTL_MAX];
  size_t ctl_len, ctl_off;
  bool pong_queued;

  /* Asynchronous handles: the loop, the lanes, the cancellation task, and
   * |close_started| (under |hdr.lock|) once WinHttpWebSocketClose was
   * accepted. A lane waiting for the writer role is posted again by the
   * role's holder when it gives it back (no descriptor of its own: an
   * asynchronous WebSocket costs only its socket). */
  struct wh_loop *loop;
  struct wh_ws_lane lane[3];
  struct wh_task cancel_task;
  bool close_started;

  /* Masking keys (RFC 6455 §5.3: unpredictable, one per frame): drawn from
   * OpenSSL's CSPRNG a pool at a time, one pool per side (each touched only
   * by its side's operation). One RAND_bytes per frame cost more than the
   * rest of a small message's work together (bench/ callgrind). */
  struct wh_ws_keys {
    uint8_t b[256];
    unsigned off;
  } send_keys, ctl_keys;
  uint8_t shutdown_payload[WH_WS_CONTROL_MAX]; /* an asynchronous Shutdown's frame */
};

static inline struct wh_websocket *wh_websocket_of(struct wh_object *o)
{
  return (struct wh_websocket *)o;
}

/* Makes a WebSocket of |r|'s upgraded connection (taking it and the bytes
 * received after the 101 head from the request), publishes its handle with
 * |context|. The caller holds both sides of |r|. */
DWORD wh_websocket_new(struct wh_request *r, DWORD_PTR context,
                       const struct wh_ws_deflate_params *deflate, HINTERNET *out);

/* The operations, on the calling thread (synchronous handles). Each takes
 * its side first: ERROR_INVALID_OPERATION when it is in use. */
DWORD wh_websocket_send(struct wh_websocket *ws, WINHTTP_WEB_SOCKET_BUFFER_TYPE type,
                        const void *buf, DWORD len);
DWORD wh_websocket_receive(struct wh_websocket *ws, void *buf, DWORD len, DWORD *read,
                           WINHTTP_WEB_SOCKET_BUFFER_TYPE *type);
DWORD wh_websocket_shutdown(struct wh_websocket *ws, USHORT status, const void *reason,
                            DWORD len);
DWORD wh_websocket_close(struct wh_websocket *ws, USHORT status, const void *reason, DWORD len);
DWORD wh_websocket_query_close_status(struct wh_websocket *ws, USHORT *status, void *reason,
                                      DWORD len, DWORD *consumed);

#endif

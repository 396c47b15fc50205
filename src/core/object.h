/* The object model behind every HINTERNET: a common header with a reference
 * count, a parent reference and the status callback, embedded first in each
 * typed object (session, connect, request; websocket and proxy resolver
 * later).
 *
 * Lifetime: an object lives while anyone holds a reference: the handle
 * table (until the handle is closed and unused), each child (on its
 * parent), and later each in-flight asynchronous operation. When the last
 * reference goes, HANDLE_CLOSING is delivered (the last callback for that
 * handle, exactly once), the object is freed, and its parent reference is
 * dropped, which may close the parent in turn. No lock is held while any
 * callback runs.
 */
#ifndef WH_CORE_OBJECT_H
#define WH_CORE_OBJECT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <winhttp.h>

#include "core/exchange.h"
#include "net/loop.h"
#include "core/settings.h"
#include "policy/cookie.h"
#include "proto/headers.h"

enum wh_type {
  WH_SESSION = 1,   /* = WINHTTP_HANDLE_TYPE_SESSION */
  WH_CONNECT = 2,
  WH_REQUEST = 3,
  WH_RESOLVER = 4,
  WH_WEBSOCKET = 5,
  WH_PROTOCOL = 6,
};

struct wh_object;
struct wh_async_op;

struct wh_object_ops {
  /* WinHttpCloseHandle: request cancellation of pending work. Runs on the
   * closing thread with a slot reference held and no lock. May be NULL. */
  void (*close)(struct wh_object *o);
  /* Frees the type's own state; no callbacks, no parent release. */
  void (*destroy)(struct wh_object *o);
};

/* Object flags, fixed at creation. */
#define WH_OBJ_ASYNC 0x1u

struct wh_object {
  const struct wh_object_ops *ops;
  enum wh_type type;
  unsigned flags;
  atomic_uint refs;
  HINTERNET handle;
  struct wh_object *parent; /* holds one reference; NULL for sessions */

  /* Status callback, mask and context. Read without a lock by the
   * dispatcher: WinHttpSetStatusCallback does not synchronise with callbacks
   * already running (Microsoft documents this), but every read is a whole
   * value, never torn. */
  _Atomic(WINHTTP_STATUS_CALLBACK) callback;
  atomic_uint notify_mask;
  _Atomic(DWORD_PTR) context;

  /* Guards the typed object's mutable fields (settings, headers). Never
   * held across a callback. */
  pthread_mutex_t lock;
};

struct wh_session {
  struct wh_object hdr;
  char *agent;            /* UTF-8 or NULL */
  DWORD access_type;
  char *proxy;            /* UTF-8 or NULL */
  char *proxy_bypass;     /* UTF-8 or NULL */
  /* DEFAULT_PROXY (the session's, or a request's WINHTTP_OPTION_PROXY on
   * an AUTOMATIC_PROXY session): the proxy the environment configured when
   * the session was opened (core/route.h), NULL when none. */
  char *env_proxy;
  char *env_bypass;
  /* AUTOMATIC_PROXY: what the session goes by, read when it opened
   * (core/route.h wh_auto_config_read). */
  struct wh_auto_config auto_cfg;
  DWORD open_flags;
  struct wh_settings settings;
  struct wh_cookie_jar cookies; /* the session's jar, under |hdr.lock| */
  /* Proxy auto-configuration's cache (core/autoproxy.h), made on first
   * use; under |hdr.lock|. */
  struct wh_autoproxy *autoproxy;
};

struct wh_connect {
  struct wh_object hdr;
  struct wh_session *session; /* = hdr.parent */
  char *server;               /* UTF-8 host name or literal */
  INTERNET_PORT port;         /* as given; 0 = scheme default */
  struct wh_settings settings; /* copied from the session at creation */
};

/* The bits of wh_request.busy, and the lanes an operation runs in. */
enum { WH_SIDE_SEND = 1, WH_SIDE_RECV = 2, WH_SIDE_BOTH = 3 };
enum { WH_LANE_SEND = 0, WH_LANE_RECV = 1 };

struct wh_request;

/* One side's asynchronous operation in flight. */
struct wh_lane {
  struct wh_request *r;
  int index;                  /* WH_LANE_* */
  int bits;                   /* the busy bits its operation holds */
  const struct wh_async_op *op;
  struct wh_io io;
  struct wh_watch watch;
  struct wh_task op_task;
  /* A parked operation (waiting with no descriptor: an HTTP/2 stream's
   * follower) is resumed by this task, posted by wh_async_wake. */
  struct wh_task wake_task;
  atomic_bool wake_queued;
};

struct wh_request {
  struct wh_object hdr;
  struct wh_connect *connect; /* = hdr.parent */
  char *verb;
  char *path;                 /* escaped request target */
  char *version;
  DWORD open_flags;           /* WINHTTP_FLAG_SECURE, ... */
  INTERNET_PORT port;         /* resolved: never 0 */
  struct wh_headers headers;  /* request headers */
  struct wh_settings settings; /* copied from the session at creation */
  struct wh_request_opts opts; /* per-request option strings (api_options.c) */

  /* The engine (core/exchange.c). A request has two sides (CONTRACT C9,
   * C10): the send side (SendRequest, WriteData) and the receive side
   * (ReceiveResponse, QueryDataAvailable, ReadData, ReadDataEx). |busy|
   * holds a bit per side in use (WH_SIDE_*): one operation per side at a
   * time, SendRequest takes both. |state| and the receive half of |x|
   * belong to the receive side's operation, the send half of |x| to the
   * send side's. While a synchronous call waits, |waiting_fd[lane]| is its
   * thread's cancellation eventfd, which WinHttpCloseHandle signals after
   * setting |closing|, so the call ends at once (CONTRACT C6); both under
   * |hdr.lock|. */
  atomic_int busy;
  atomic_int state;           /* enum wh_req_state; changed under |hdr.lock| */
  bool closing;
  int waiting_fd[2];
  struct wh_exchange x;
  struct wh_req_facts facts;  /* under |hdr.lock| */

  /* Asynchronous sessions (core/async.c): the loop the request is bound to
   * (set once, under |hdr.lock|) and, per lane, the operation in flight,
   * which only the loop thread touches. */
  struct wh_loop *loop;
  struct wh_lane lane[2];     /* WH_LANE_SEND, WH_LANE_RECV */
  struct wh_task cancel_task;
  DWORD async_dword;          /* the DWORD a receive completion reports (bytes) */
  DWORD write_dword;          /* the DWORD WRITE_COMPLETE reports */
  /* Completion callbacks of this request in progress, plus inline steps
   * running on an application thread (any thread): while non-zero, an
   * operation handed to the loop is parked in |deferred| (under hdr.lock). */
  atomic_int callbacks;
  struct wh_task *deferred[2];
  /* A ReceiveResponse accepted while SendRequest was still running (as
   * Windows does, e.g. from REQUEST_SENT): it starts when the send ends;
   * it holds a reference until then (under hdr.lock). */
  atomic_bool receive_queued;
  bool send_in_flight;        /* a SendRequest is running: queueing allowed (hdr.lock) */
};

static inline struct wh_session *wh_session_of(struct wh_object *o)
{
  return (struct wh_session *)o;
}
static inline struct wh_connect *wh_connect_of(struct wh_object *o)
{
  return (struct wh_connect *)o;
}
static inline struct wh_request *wh_request_of(struct wh_object *o)
{
  return (struct wh_request *)o;
}

/* Initialises the common header with one reference (the caller's) and the
 * parent reference taken on |parent| (may be NULL). The callback, mask and
 * context are inherited from |parent| at this moment. */
void wh_object_init(struct wh_object *o, enum wh_type type,
                    const struct wh_object_ops *ops, struct wh_object *parent,
                    unsigned flags);
void wh_object_addref(struct wh_object *o);
/* Drops a reference; on the last one delivers HANDLE_CLOSING, destroys the
 * object and releases its parent (iteratively). Call with no lock held. */
void wh_object_release(struct wh_object *o);

/* Looks |h| up and checks its type. On success |*out| holds the object with
 * a slot reference (return it with wh_handle_put). Errors:
 * ERROR_INVALID_HANDLE, ERROR_WINHTTP_INCORRECT_HANDLE_TYPE. |want| of 0
 * accepts any type. */
DWORD wh_object_grab(HINTERNET h, enum wh_type want, struct wh_object **out);

/* Delivers |status| to |o|'s callback if one is set and the status is in
 * its mask. Never call with a lock held. */
void wh_notify(struct wh_object *o, DWORD status, void *info, DWORD len);

#endif

/* Out-of-memory sweep (issue 11 §6), in the style of curl's torture tests:
 * every allocation a whole exchange makes is made to fail in turn, and each
 * run must still end cleanly.
 *
 * Scenarios, each on a fresh session against the fault server at the literal
 * 127.0.0.1 (no resolver thread unless said), synchronously and
 * asynchronously:
 *
 *   get       GET /ok?n=2000, read to the end;
 *   redirect  GET /redirect-chain?n=2 (two 302s), followed automatically;
 *   chunked   POST /echo with WINHTTP_FLAG_AUTOMATIC_CHUNKING and three
 *             WriteData pieces, ended by a zero-length WriteData (sync) or
 *             by ReceiveResponse (async); the echoed head and framing are
 *             checked, Host included;
 *   cookie    GET /set-cookie?c=sweep=yes, then GET /echo on the same
 *             session with the application's own "Cookie: app=1": the head
 *             must carry both, merged, and the request's Cookie header must
 *             read back as the application set it;
 *   gzip      a chunked gzip body decoded by the library (zlib's state);
 *   tls       the get scenario over HTTPS (the TLS fault server);
 *   resolve   the get scenario at "localhost": a resolver helper thread;
 *   cancel    (async) the handles closed right after SendRequest, with the
 *             operation in flight.
 *
 * The asynchronous runs are driven from the status callback alone
 * (SendRequest -> SENDREQUEST_COMPLETE -> [WriteData ->] ReceiveResponse ->
 * HEADERS_AVAILABLE -> QueryDataAvailable/ReadData to the end), as a typical
 * application does, so the loop threads allocate too: the hook's counters are
 * process-wide.
 *
 * A sweep first runs the scenario with the hook armed but never failing to
 * count its allocations, then, for every N from 0 to that count, runs it with
 * wh_mem_fail_after(N) (the allocation after N successful ones fails, and
 * every one after it) and then with wh_mem_fail_once(N) (only that one fails:
 * the code must also recover). The hook stays armed while the handles are
 * closed: closing must work without memory (and the counted run checks that
 * closing allocates nothing at all). Every run must:
 *
 *   - end with success (and the right response) or ERROR_NOT_ENOUGH_MEMORY
 *     (OPERATION_CANCELLED too in the cancel scenario), and only with an
 *     error when an allocation was actually refused;
 *   - deliver HANDLE_CLOSING exactly once for every handle that has the
 *     callback, and nothing for a handle after it (counted per handle value
 *     over the whole program, so a late callback from an earlier run is
 *     caught too);
 *   - never hang: every wait is bounded (WAIT_MS) and fails the test;
 *   - leak nothing: ASan's leak checker runs at exit.
 *
 * The first test is a cold sweep: the async GET before anything in the
 * process has used the handle table or the loop threads, so their first-use
 * allocations fail in turn too (N from 0 until a run sees no failure).
 *
 * Peers: the fault server, plain and TLS (group setup). */
#include "wh_test.h"
#include "peers.h"

#include "net/conn.h"
#include "net/resolve.h"
#include "util/mem.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

static struct wh_peer fault;
static struct wh_peer fault_tls; /* good certificate, trusted through SSL_CERT_FILE */

/* The bound on every wait: generous under ASan on a loaded machine, but a
 * hang still fails the test instead of the ctest timeout. */
#define WAIT_MS 10000
/* An outcome's error when a wait ran out (Win32's value). */
#define HUNG 258u

/* --- per-handle books ------------------------------------------------------- */

/* Every handle value seen in a callback or returned with the callback
 * installed, over the whole program (handle values carry a generation, so
 * a value is never reused within the run of this program). Open addressing;
 * the sweep makes a few thousand handles. */
#define TRACK_BITS 15
#define TRACK_CAP (1u << TRACK_BITS)

struct tracked {
  HINTERNET h;
  unsigned run;  /* the run that first saw it */
  int closing;   /* HANDLE_CLOSING deliveries */
};

/* One request of an asynchronous run: the callback drives it. */
struct xfer {
  HINTERNET req;              /* the request being driven (set before SendRequest) */
  const char *const *pieces;  /* WriteData pieces (chunked upload), NULL-terminated */
  size_t next_piece;
  bool done;
  DWORD err;                  /* first failure: a call's last error or REQUEST_ERROR */
  const char *where;          /* which call failed */
  DWORD status;               /* response status code */
  char buf[512];
  char body[4096];
  size_t body_len;
  bool overflow;              /* body larger than |body| */
  char req_cookie[64];        /* the request's own Cookie header afterwards */
};

static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct tracked t[TRACK_CAP];
  size_t used;
  unsigned run;
  long pending;        /* handles of this run still without HANDLE_CLOSING */
  long double_closing; /* HANDLE_CLOSING twice for one handle */
  long after_closing;  /* any callback for a handle after its HANDLE_CLOSING */
  long stale;          /* a callback for an earlier run's handle */
  long full;           /* the table overflowed */
  long bad_error;      /* REQUEST_ERROR with neither ERROR_NOT_ENOUGH_MEMORY nor
                          OPERATION_CANCELLED */
  DWORD bad_error_value;
  struct xfer *x;      /* the asynchronous request being driven, or NULL */
} bk = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct tracked *track_find(HINTERNET h)
{
  size_t i = ((uintptr_t)h * 0x9E3779B97F4A7C15ull) >> (64 - TRACK_BITS);
  for (;;) {
    struct tracked *e = &bk.t[i];
    if (e->h == h)
      return e;
    if (!e->h) {
      if (bk.used + 1 >= TRACK_CAP * 3 / 4) {
        bk.full++;
        return NULL;
      }
      bk.used++;
      e->h = h;
      e->run = bk.run;
      e->closing = 0;
      bk.pending++;
      return e;
    }
    i = (i + 1) & (TRACK_CAP - 1);
  }
}

/* A handle the test got back with the callback in place: it owes a
 * HANDLE_CLOSING. */
static void track_add(HINTERNET h)
{
  pthread_mutex_lock(&bk.lock);
  track_find(h);
  pthread_mutex_unlock(&bk.lock);
}

/* Records one callback (bk.lock held); false when it came for a handle
 * after its HANDLE_CLOSING, or the books are full. */
static bool track_note(HINTERNET h, DWORD status)
{
  struct tracked *e = track_find(h);
  if (!e)
    return false;
  if (e->closing)
    bk.after_closing++;
  if (e->run != bk.run)
    bk.stale++;
  if (status == WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING) {
    if (++e->closing > 1)
      bk.double_closing++;
    else if (e->run == bk.run)
      bk.pending--;
  }
  return e->closing == 0 || status == WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING;
}

static struct timespec deadline_in(long ms)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

/* Waits (bk.lock held) until |*flag| or |*count| == 0; false on timeout. */
static bool wait_locked(const bool *flag, const long *count)
{
  struct timespec dl = deadline_in(WAIT_MS);
  while (!(flag && *flag) && !(count && *count == 0))
    if (pthread_cond_timedwait(&bk.cond, &bk.lock, &dl) == ETIMEDOUT)
      return (flag && *flag) || (count && *count == 0);
  return true;
}

/* --- the asynchronous driver ------------------------------------------------- */

/* Ends the request's chain with |err| from |where| (bk.lock held). */
static void xfer_fail(struct xfer *x, DWORD err, const char *where)
{
  if (!x->done) {
    x->err = err;
    x->where = where;
    x->done = true;
  }
}

enum next { NEXT_NONE, NEXT_WRITE, NEXT_RECEIVE, NEXT_QUERY, NEXT_READ };

/* What the chain does after |status| (bk.lock held). */
static enum next xfer_advance(struct xfer *x, DWORD status, void *info, DWORD len)
{
  switch (status) {
  case WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE:
    return x->pieces && x->pieces[0] ? NEXT_WRITE : NEXT_RECEIVE;
  case WINHTTP_CALLBACK_STATUS_WRITE_COMPLETE:
    /* The last piece written: ReceiveResponse ends the chunked upload
     * (Microsoft: the zero-length chunk is sent then). */
    return x->pieces[x->next_piece] ? NEXT_WRITE : NEXT_RECEIVE;
  case WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE:
    return NEXT_QUERY;
  case WINHTTP_CALLBACK_STATUS_DATA_AVAILABLE:
    if (*(DWORD *)info == 0) {
      x->done = true; /* the end of the body */
      return NEXT_NONE;
    }
    return NEXT_READ;
  case WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
    if (len == 0) {
      x->done = true;
      return NEXT_NONE;
    }
    if (x->body_len + len <= sizeof(x->body)) {
      memcpy(x->body + x->body_len, info, len);
      x->body_len += len;
    } else {
      x->overflow = true;
    }
    return NEXT_QUERY;
  case WINHTTP_CALLBACK_STATUS_REQUEST_ERROR: {
    const WINHTTP_ASYNC_RESULT *res = info;
    xfer_fail(x, res->dwError, "REQUEST_ERROR");
    return NEXT_NONE;
  }
  default:
    return NEXT_NONE;
  }
}

static void CALLBACK on_status(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  (void)ctx;
  pthread_mutex_lock(&bk.lock);
  bool live = track_note(h, status);
  if (status == WINHTTP_CALLBACK_STATUS_REQUEST_ERROR) {
    DWORD e = ((const WINHTTP_ASYNC_RESULT *)info)->dwError;
    if (e != ERROR_NOT_ENOUGH_MEMORY && e != ERROR_WINHTTP_OPERATION_CANCELLED) {
      bk.bad_error++;
      bk.bad_error_value = e;
    }
  }
  struct xfer *x = bk.x;
  enum next next = NEXT_NONE;
  /* Only the request being driven, and only until its chain is over: a
   * late callback of an earlier request is counted above, never acted on. */
  if (live && x && h == x->req && !x->done)
    next = xfer_advance(x, status, info, len);
  const char *piece = NULL;
  if (next == NEXT_WRITE)
    piece = x->pieces[x->next_piece++];
  pthread_cond_broadcast(&bk.cond);
  pthread_mutex_unlock(&bk.lock);
  if (next == NEXT_NONE)
    return;

  /* The next call, with no lock held: it may complete inline and call
   * back on this thread. */
  BOOL ok = TRUE;
  const char *where = NULL;
  switch (next) {
  case NEXT_WRITE:
    where = "WinHttpWriteData";
    ok = WinHttpWriteData(h, piece, (DWORD)strlen(piece), NULL);
    break;
  case NEXT_RECEIVE:
    where = "WinHttpReceiveResponse";
    ok = WinHttpReceiveResponse(h, NULL);
    break;
  case NEXT_QUERY:
    if (status == WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE) {
      DWORD code = 0, size = sizeof(code);
      where = "WinHttpQueryHeaders";
      ok = WinHttpQueryHeaders(h, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                               WINHTTP_HEADER_NAME_BY_INDEX, &code, &size,
                               WINHTTP_NO_HEADER_INDEX);
      if (ok) {
        pthread_mutex_lock(&bk.lock);
        x->status = code;
        pthread_mutex_unlock(&bk.lock);
      }
    }
    if (ok) {
      where = "WinHttpQueryDataAvailable";
      ok = WinHttpQueryDataAvailable(h, NULL);
    }
    break;
  case NEXT_READ: {
    DWORD avail = *(DWORD *)info;
    where = "WinHttpReadData";
    ok = WinHttpReadData(h, x->buf, avail < sizeof(x->buf) ? avail : (DWORD)sizeof(x->buf),
                         NULL);
    break;
  }
  default:
    break;
  }
  if (!ok) {
    DWORD err = GetLastError();
    pthread_mutex_lock(&bk.lock);
    if (bk.x == x && x->req == h) /* still the request being driven */
      xfer_fail(x, err, where);
    pthread_cond_broadcast(&bk.cond);
    pthread_mutex_unlock(&bk.lock);
  }
}

/* --- scenarios --------------------------------------------------------------- */

struct req_plan {
  const wchar_t *verb;
  const wchar_t *path;
  DWORD flags;
  const char *const *pieces; /* chunked upload pieces, or NULL */
  DWORD decompression;       /* WINHTTP_OPTION_DECOMPRESSION, or 0 */
  /* Asynchronous only: close the handles as soon as SendRequest returns,
   * cancelling the operation in flight (its REQUEST_ERROR may say
   * OPERATION_CANCELLED); nothing to check but the books. */
  bool close_in_flight;
  /* The application's own Cookie header, added before sending: the jar's
   * cookies are merged with it for the send only, and it must read back
   * unchanged afterwards. NULL: none. */
  const wchar_t *app_cookie;
  /* Checks a successful response; returns NULL or what is wrong. */
  const char *(*check)(const struct xfer *x, bool refused);
};

struct scenario {
  const char *name;
  bool async;
  const wchar_t *host; /* NULL: 127.0.0.1 */
  bool tls;            /* the TLS fault server, WINHTTP_FLAG_SECURE */
  size_t nreq;
  struct req_plan req[2];
};

static int is_pattern(const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != (char)('a' + i % 26))
      return 0;
  return 1;
}

static bool has(const struct xfer *x, const char *needle)
{
  return memmem(x->body, x->body_len, needle, strlen(needle)) != NULL;
}

/* The head every request must carry: Host with the port (a Host header
 * dropped for lack of memory would be a wrong request, not a clean error). */
static const char *check_host(const struct xfer *x)
{
  char host[64];
  snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%u\r\n", (unsigned)wh_peer_port(&fault));
  return has(x, host) ? NULL : "the request head has no Host header";
}

static const char *check_ok2000(const struct xfer *x, bool refused)
{
  (void)refused;
  return x->body_len == 2000 && is_pattern(x->body, 2000) ? NULL : "not the 2000-byte pattern";
}

static const char *check_ok100(const struct xfer *x, bool refused)
{
  (void)refused;
  return x->body_len == 100 && is_pattern(x->body, 100) ? NULL : "not the 100-byte pattern";
}

static const char *const pieces[] = {"hello ", "chunked ", "world", NULL};

static const char *check_chunked(const struct xfer *x, bool refused)
{
  (void)refused;
  static const char framed[] = "\r\n\r\n6\r\nhello \r\n8\r\nchunked \r\n5\r\nworld\r\n0\r\n\r\n";
  if (x->body_len < sizeof(framed) - 1 ||
      memcmp(x->body + x->body_len - (sizeof(framed) - 1), framed, sizeof(framed) - 1) != 0)
    return "the server did not get the three chunks and the last chunk";
  if (!has(x, "\r\nTransfer-Encoding: chunked\r\n"))
    return "no Transfer-Encoding: chunked";
  return check_host(x);
}

static const char *check_cookie_set(const struct xfer *x, bool refused)
{
  (void)refused;
  return x->body_len == 7 && memcmp(x->body, "cookies", 7) == 0 ? NULL : "not the cookies body";
}

static const char *check_cookie_sent(const struct xfer *x, bool refused)
{
  /* A cookie that cannot be stored for lack of memory is dropped, as a
   * browser would (core/exchange_recv.c, store_cookies): only then may the
   * second request go without it. */
  if (!has(x, "\r\nCookie: app=1; sweep=yes\r\n") &&
      !(refused && has(x, "\r\nCookie: app=1\r\n")))
    return "the second request did not carry the application's cookie and the jar's";
  if (strcmp(x->req_cookie, "app=1") != 0)
    return "the application's Cookie header was not restored after the send";
  if (strncmp(x->body, "GET /echo HTTP/1.1\r\n", 20) != 0)
    return "not the echoed GET";
  return check_host(x);
}

#define GET_OK {L"GET", L"/ok?n=2000", 0, NULL, 0, false, NULL, check_ok2000}
#define REDIRECT {L"GET", L"/redirect-chain?n=2", 0, NULL, 0, false, NULL, check_ok100}
#define CHUNKED {L"POST", L"/echo", WINHTTP_FLAG_AUTOMATIC_CHUNKING, pieces, 0, false, NULL, \
                 check_chunked}
#define COOKIE_SET {L"GET", L"/set-cookie?c=sweep%3Dyes", 0, NULL, 0, false, NULL, \
                    check_cookie_set}
#define COOKIE_SENT {L"GET", L"/echo", 0, NULL, 0, false, L"Cookie: app=1", check_cookie_sent}
#define GZIP {L"GET", L"/gzip?n=2000&chunked=1", 0, NULL, WINHTTP_DECOMPRESSION_FLAG_GZIP, \
              false, NULL, check_ok2000}
#define CANCEL {L"GET", L"/delay?ms=20", 0, NULL, 0, true, NULL, NULL}

/* name, async, host, tls, requests */
static const struct scenario sc_sync_get = {"sync get", false, NULL, false, 1, {GET_OK}};
static const struct scenario sc_async_get = {"async get", true, NULL, false, 1, {GET_OK}};
static const struct scenario sc_sync_redirect = {"sync redirect", false, NULL, false, 1,
                                                 {REDIRECT}};
static const struct scenario sc_async_redirect = {"async redirect", true, NULL, false, 1,
                                                  {REDIRECT}};
static const struct scenario sc_sync_chunked = {"sync chunked", false, NULL, false, 1,
                                                {CHUNKED}};
static const struct scenario sc_async_chunked = {"async chunked", true, NULL, false, 1,
                                                 {CHUNKED}};
static const struct scenario sc_sync_cookie = {"sync cookie", false, NULL, false, 2,
                                               {COOKIE_SET, COOKIE_SENT}};
static const struct scenario sc_async_cookie = {"async cookie", true, NULL, false, 2,
                                                {COOKIE_SET, COOKIE_SENT}};
/* A chunked, gzip-coded body decoded by the library: zlib's state is
 * allocated through util/mem.c too. */
static const struct scenario sc_sync_gzip = {"sync gzip", false, NULL, false, 1, {GZIP}};
static const struct scenario sc_async_gzip = {"async gzip", true, NULL, false, 1, {GZIP}};
/* Closing with an operation in flight: the cancellation path (the cancel
 * task, the operation's end on the loop thread) must not need memory. */
static const struct scenario sc_async_cancel = {"async cancel", true, NULL, false, 1, {CANCEL}};
/* HTTPS: the handshake, the certificate the request keeps for
 * WinHttpQueryOption, the TLS session cache (OpenSSL's own allocations do
 * not go through util/mem.c and are not swept). */
static const struct scenario sc_sync_tls = {"sync tls", false, NULL, true, 1, {GET_OK}};
static const struct scenario sc_async_tls = {"async tls", true, NULL, true, 1, {GET_OK}};
/* A name, not a literal: the lookup runs on a resolver helper thread
 * (net/resolve.c), whose allocations fail in turn too. */
static const struct scenario sc_sync_resolve = {"sync resolve", false, L"localhost", false, 1,
                                                {GET_OK}};
static const struct scenario sc_async_resolve = {"async resolve", true, L"localhost", false, 1,
                                                 {GET_OK}};

/* --- one run ----------------------------------------------------------------- */

struct outcome {
  DWORD err;          /* ERROR_SUCCESS or the first failure */
  const char *where;  /* the call that failed */
  const char *wrong;  /* a successful run's response was wrong */
  long refused;       /* allocations the hook refused */
  long allocs;        /* allocations made or refused in the whole run */
  long close_allocs;  /* allocations (made or refused) from the last request's
                         close to the last HANDLE_CLOSING */
};

/* Allocations made or refused since the hook was armed. */
static long allocs_so_far(void)
{
  return wh_mem_fail_allowed() + wh_mem_fail_count();
}

static void fail_at(struct outcome *o, const char *where)
{
  o->err = GetLastError();
  o->where = where;
}

/* The synchronous exchange: SendRequest, WriteData pieces and the
 * zero-length WriteData that ends a chunked upload, ReceiveResponse, then
 * ReadData until it returns 0 bytes. Returns NULL, or the call that failed
 * (its error is the last error). */
static const char *request_sync(HINTERNET r, const struct req_plan *p, struct xfer *x)
{
  DWORD total = p->pieces ? WINHTTP_IGNORE_REQUEST_TOTAL_LENGTH : 0;
  if (!WinHttpSendRequest(r, WINHTTP_NO_ADDITIONAL_HEADERS, 0, WINHTTP_NO_REQUEST_DATA, 0, total,
                          0))
    return "WinHttpSendRequest";
  for (size_t i = 0; p->pieces && p->pieces[i]; i++) {
    DWORD n = 0;
    if (!WinHttpWriteData(r, p->pieces[i], (DWORD)strlen(p->pieces[i]), &n))
      return "WinHttpWriteData";
  }
  DWORD n = 0;
  if (p->pieces && !WinHttpWriteData(r, NULL, 0, &n))
    return "WinHttpWriteData(0)";
  if (!WinHttpReceiveResponse(r, NULL))
    return "WinHttpReceiveResponse";
  DWORD size = sizeof(x->status);
  if (!WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                           WINHTTP_HEADER_NAME_BY_INDEX, &x->status, &size,
                           WINHTTP_NO_HEADER_INDEX))
    return "WinHttpQueryHeaders";
  for (;;) {
    DWORD got = 0;
    if (!WinHttpReadData(r, x->buf, sizeof(x->buf), &got))
      return "WinHttpReadData";
    if (got == 0)
      break;
    if (x->body_len + got > sizeof(x->body)) {
      x->overflow = true;
      continue;
    }
    memcpy(x->body + x->body_len, x->buf, got);
    x->body_len += got;
  }
  return NULL;
}

/* The asynchronous exchange: SendRequest from here, the rest from the
 * callback (on_status); waits for the chain's end. */
static void request_async(HINTERNET r, const struct req_plan *p, struct xfer *x,
                          struct outcome *o)
{
  pthread_mutex_lock(&bk.lock);
  x->req = r;
  x->pieces = p->pieces;
  bk.x = x;
  pthread_mutex_unlock(&bk.lock);
  DWORD total = p->pieces ? WINHTTP_IGNORE_REQUEST_TOTAL_LENGTH : 0;
  if (!WinHttpSendRequest(r, WINHTTP_NO_ADDITIONAL_HEADERS, 0, WINHTTP_NO_REQUEST_DATA, 0, total,
                          0)) {
    DWORD err = GetLastError();
    pthread_mutex_lock(&bk.lock);
    xfer_fail(x, err, "WinHttpSendRequest");
    pthread_mutex_unlock(&bk.lock);
  }
  pthread_mutex_lock(&bk.lock);
  if (p->close_in_flight) {
    /* Stop driving it; the caller closes it now. */
    bk.x = NULL;
    o->err = x->done ? x->err : ERROR_SUCCESS;
    o->where = x->where;
    x->done = true;
    pthread_mutex_unlock(&bk.lock);
    return;
  }
  bool ended = wait_locked(&x->done, NULL);
  bk.x = NULL;
  pthread_mutex_unlock(&bk.lock);
  if (!ended) {
    o->err = HUNG;
    o->where = "the asynchronous chain never ended";
    return;
  }
  if (x->err != ERROR_SUCCESS) {
    o->err = x->err;
    o->where = x->where;
  }
}

/* Opens a session, a connection and the scenario's requests, one after the
 * other, and closes everything; stops at the first failure. The caller
 * arms the hook; it stays armed through the closes. Returns false when a
 * wait timed out (the run hung). */
static bool run_once(const struct scenario *sc, struct outcome *o)
{
  memset(o, 0, sizeof(*o));
  pthread_mutex_lock(&bk.lock);
  bk.run++;
  bk.pending = 0;
  pthread_mutex_unlock(&bk.lock);

  HINTERNET ses = NULL, con = NULL;
  long at_close = -1;
  ses = WinHttpOpen(L"oom-sweep", WINHTTP_ACCESS_TYPE_NO_PROXY, WINHTTP_NO_PROXY_NAME,
                    WINHTTP_NO_PROXY_BYPASS, sc->async ? WINHTTP_FLAG_ASYNC : 0);
  if (!ses) {
    fail_at(o, "WinHttpOpen");
    goto close;
  }
  if (WinHttpSetStatusCallback(ses, on_status, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0) ==
      WINHTTP_INVALID_STATUS_CALLBACK) {
    fail_at(o, "WinHttpSetStatusCallback");
    goto close;
  }
  track_add(ses);
  con = WinHttpConnect(ses, sc->host ? sc->host : L"127.0.0.1",
                       wh_peer_port(sc->tls ? &fault_tls : &fault), 0);
  if (!con) {
    fail_at(o, "WinHttpConnect");
    goto close;
  }
  track_add(con);
  for (size_t i = 0; i < sc->nreq && o->err == ERROR_SUCCESS; i++) {
    const struct req_plan *p = &sc->req[i];
    HINTERNET r = WinHttpOpenRequest(con, p->verb, p->path, NULL, WINHTTP_NO_REFERER,
                                     WINHTTP_DEFAULT_ACCEPT_TYPES,
                                     p->flags | (sc->tls ? WINHTTP_FLAG_SECURE : 0));
    if (!r) {
      fail_at(o, "WinHttpOpenRequest");
      break;
    }
    track_add(r);
    if (p->decompression && !WinHttpSetOption(r, WINHTTP_OPTION_DECOMPRESSION,
                                              (void *)&p->decompression,
                                              sizeof(p->decompression))) {
      fail_at(o, "WinHttpSetOption(DECOMPRESSION)");
      WinHttpCloseHandle(r);
      break;
    }
    if (p->app_cookie &&
        !WinHttpAddRequestHeaders(r, p->app_cookie, (DWORD)-1, WINHTTP_ADDREQ_FLAG_ADD)) {
      fail_at(o, "WinHttpAddRequestHeaders");
      WinHttpCloseHandle(r);
      break;
    }
    static struct xfer x; /* static: the callback may still look at it */
    const char *where;
    pthread_mutex_lock(&bk.lock);
    memset(&x, 0, sizeof(x));
    pthread_mutex_unlock(&bk.lock);
    if (sc->async)
      request_async(r, p, &x, o);
    else if ((where = request_sync(r, p, &x)) != NULL)
      fail_at(o, where);
    if (o->err == ERROR_SUCCESS && p->app_cookie) {
      WCHAR w[64];
      DWORD size = sizeof(w);
      if (WinHttpQueryHeaders(r, WINHTTP_QUERY_COOKIE | WINHTTP_QUERY_FLAG_REQUEST_HEADERS,
                              WINHTTP_HEADER_NAME_BY_INDEX, w, &size, WINHTTP_NO_HEADER_INDEX)) {
        size_t k = 0; /* ASCII by construction */
        for (; w[k] && k + 1 < sizeof(x.req_cookie); k++)
          x.req_cookie[k] = (char)w[k];
        x.req_cookie[k] = '\0';
      } else
        fail_at(o, "WinHttpQueryHeaders(Cookie)");
    }
    if (o->err == ERROR_SUCCESS && p->check) {
      if (x.status != 200)
        o->wrong = "the status is not 200";
      else if (x.overflow)
        o->wrong = "the body is larger than expected";
      else
        o->wrong = p->check(&x, wh_mem_fail_count() > 0);
    }
    at_close = allocs_so_far();
    if (!WinHttpCloseHandle(r) && !o->wrong)
      o->wrong = "WinHttpCloseHandle(request) failed";
    if (o->err == HUNG)
      return false;
  }
close:
  if (at_close < 0)
    at_close = allocs_so_far();
  if (con && !WinHttpCloseHandle(con) && !o->wrong)
    o->wrong = "WinHttpCloseHandle(connect) failed";
  if (ses && !WinHttpCloseHandle(ses) && !o->wrong)
    o->wrong = "WinHttpCloseHandle(session) failed";
  /* Every handle of the run owes its HANDLE_CLOSING (asynchronous ones come
   * from the loop thread once the operations have ended). */
  pthread_mutex_lock(&bk.lock);
  bool closed = wait_locked(NULL, &bk.pending);
  pthread_mutex_unlock(&bk.lock);
  o->refused = wh_mem_fail_count();
  o->allocs = allocs_so_far();
  o->close_allocs = o->allocs - at_close;
  return closed;
}

/* --- the sweep --------------------------------------------------------------- */

enum fail_mode { FAIL_AFTER, FAIL_ONCE };

static long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs |sc| with the hook set to fail at |n| (|n| < 0: armed, never
 * failing) and checks the run's books. Returns the outcome. */
static struct outcome run_checked(const struct scenario *sc, enum fail_mode mode, long n)
{
  /* Every run starts from an empty pool and resolver cache, so each one
   * makes the same allocations. */
  wh_pool_clear();
  wh_resolve_cache_clear();
  if (n < 0)
    wh_mem_fail_after(LONG_MAX);
  else if (mode == FAIL_AFTER)
    wh_mem_fail_after(n);
  else
    wh_mem_fail_once(n);
  struct outcome o;
  bool finished = run_once(sc, &o);
  wh_mem_fail_reset();
  const char *mname = mode == FAIL_AFTER ? "fail-after" : "fail-once";
  pthread_mutex_lock(&bk.lock);
  long pending = bk.pending;
  pthread_mutex_unlock(&bk.lock);
  if (!finished)
    fail_msg("%s, %s N=%ld: hung (%s; %ld handles still without HANDLE_CLOSING after %d ms)",
             sc->name, mname, n, o.where ? o.where : "closing", pending, WAIT_MS);
  /* Read and cleared, so that one failure does not fail every later run. */
  pthread_mutex_lock(&bk.lock);
  long dbl = bk.double_closing, after = bk.after_closing, stale = bk.stale, full = bk.full;
  long bad = bk.bad_error;
  DWORD bad_value = bk.bad_error_value;
  bk.double_closing = bk.after_closing = bk.stale = bk.full = bk.bad_error = 0;
  pthread_mutex_unlock(&bk.lock);
  if (bad)
    fail_msg("%s, %s N=%ld: REQUEST_ERROR with %lu", sc->name, mname, n,
             (unsigned long)bad_value);
  if (dbl || after || stale || full)
    fail_msg("%s, %s N=%ld: %ld double HANDLE_CLOSING, %ld callbacks after HANDLE_CLOSING, "
             "%ld late callbacks, %ld untracked", sc->name, mname, n, dbl, after, stale, full);
  if (o.err == ERROR_SUCCESS) {
    if (o.wrong)
      fail_msg("%s, %s N=%ld: succeeded with a wrong result: %s", sc->name, mname, n, o.wrong);
  } else {
    if (o.err != ERROR_NOT_ENOUGH_MEMORY)
      fail_msg("%s, %s N=%ld: %s failed with %lu, not ERROR_NOT_ENOUGH_MEMORY", sc->name, mname,
               n, o.where, (unsigned long)o.err);
    if (o.refused == 0)
      fail_msg("%s, %s N=%ld: %s failed with %lu although no allocation was refused", sc->name,
               mname, n, o.where, (unsigned long)o.err);
    if (o.wrong)
      fail_msg("%s, %s N=%ld: %s", sc->name, mname, n, o.wrong);
  }
  return o;
}

/* Counts |sc|'s allocations, then fails each in turn, both ways. */
static void sweep(const struct scenario *sc)
{
  long t0 = now_ms();
  run_checked(sc, FAIL_AFTER, -1);
  struct outcome counted = run_checked(sc, FAIL_AFTER, -1);
  assert_int_equal(counted.err, ERROR_SUCCESS);
  long count = counted.allocs;
  assert_true(count > 0);
  /* Closing needs no memory (the cancel task is part of the request, and
   * a handle slot goes back to a free list), so it cannot fail for lack of
   * it; the sweep still keeps the hook armed through it in case that
   * changes. With an operation in flight, that operation may still
   * allocate. */
  if (!sc->req[sc->nreq - 1].close_in_flight && counted.close_allocs != 0)
    fail_msg("%s: closing the handles made %ld allocations", sc->name, counted.close_allocs);
  long runs = 0, failed = 0;
  for (int m = FAIL_AFTER; m <= FAIL_ONCE; m++) {
    /* From 0 to the count, and on while a run still meets a refusal: an
     * exchange may allocate a little more than the counted run did (a
     * read that found the data in two pieces instead of one). */
    for (long n = 0;; n++) {
      struct outcome o = run_checked(sc, (enum fail_mode)m, n);
      runs++;
      failed += o.err != ERROR_SUCCESS;
      if (n >= count && o.refused == 0)
        break;
      if (n > 2 * count + 50)
        fail_msg("%s: still refusing allocations at N=%ld (counted %ld)", sc->name, n, count);
    }
  }
  pthread_mutex_lock(&bk.lock);
  size_t handles = bk.used;
  pthread_mutex_unlock(&bk.lock);
  print_message("%s: %ld allocations, %ld runs (%ld ended in ERROR_NOT_ENOUGH_MEMORY), %ld ms; "
                "%zu handles tracked so far\n",
                sc->name, count, runs, failed, now_ms() - t0, handles);
}

/* --- tests ------------------------------------------------------------------- */

/* First in the program: nothing has used the handle table or the loop
 * threads yet, so their first-use allocations are among those that fail.
 * Sweeps until a run sees no refusal, since each first use happens once. */
static void test_cold_async_get(void **state)
{
  (void)state;
  long t0 = now_ms(), n = 0;
  for (;; n++) {
    struct outcome o = run_checked(&sc_async_get, FAIL_AFTER, n);
    if (o.refused == 0)
      break;
    assert_true(n < 10000);
  }
  print_message("cold async get: clean from N=%ld, %ld ms\n", n, now_ms() - t0);
}

static void test_sync_get(void **state) { (void)state; sweep(&sc_sync_get); }
static void test_async_get(void **state) { (void)state; sweep(&sc_async_get); }
static void test_sync_redirect(void **state) { (void)state; sweep(&sc_sync_redirect); }
static void test_async_redirect(void **state) { (void)state; sweep(&sc_async_redirect); }
static void test_sync_chunked(void **state) { (void)state; sweep(&sc_sync_chunked); }
static void test_async_chunked(void **state) { (void)state; sweep(&sc_async_chunked); }
static void test_sync_cookie(void **state) { (void)state; sweep(&sc_sync_cookie); }
static void test_async_cookie(void **state) { (void)state; sweep(&sc_async_cookie); }
static void test_sync_gzip(void **state) { (void)state; sweep(&sc_sync_gzip); }
static void test_async_gzip(void **state) { (void)state; sweep(&sc_async_gzip); }
static void test_async_cancel(void **state) { (void)state; sweep(&sc_async_cancel); }
static void test_sync_tls(void **state) { (void)state; sweep(&sc_sync_tls); }
static void test_async_tls(void **state) { (void)state; sweep(&sc_async_tls); }
static void test_sync_resolve(void **state) { (void)state; sweep(&sc_sync_resolve); }
static void test_async_resolve(void **state) { (void)state; sweep(&sc_async_resolve); }

static int setup(void **state)
{
  (void)state;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&bk.cond, &ca);
  pthread_condattr_destroy(&ca);
  if (wh_peer_start_fault(&fault) != 0 || wh_peer_start_fault_tls(&fault_tls, WH_CERT_GOOD) != 0)
    return -1;
  return setenv("SSL_CERT_FILE", wh_peer_ca_file(&fault_tls), 1);
}

static int teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_peer_stop(&fault);
  wh_peer_stop(&fault_tls);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cold_async_get),
      cmocka_unit_test(test_sync_get),
      cmocka_unit_test(test_async_get),
      cmocka_unit_test(test_sync_redirect),
      cmocka_unit_test(test_async_redirect),
      cmocka_unit_test(test_sync_chunked),
      cmocka_unit_test(test_async_chunked),
      cmocka_unit_test(test_sync_cookie),
      cmocka_unit_test(test_async_cookie),
      cmocka_unit_test(test_sync_gzip),
      cmocka_unit_test(test_async_gzip),
      cmocka_unit_test(test_async_cancel),
      cmocka_unit_test(test_sync_tls),
      cmocka_unit_test(test_async_tls),
      cmocka_unit_test(test_sync_resolve),
      cmocka_unit_test(test_async_resolve),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

/* Notification-order tables (WINHTTP-API.md §3.2-3.5, CONTRACT C6-C9).
 *
 * Each scenario has one table: the exact sequence of
 * WINHTTP_CALLBACK_STATUS_* notifications Windows delivers, with the handle
 * each one arrives on (session, connect or request). The same table is
 * checked in both modes:
 *
 *  - synchronous session: the completion statuses (marked "async" in the
 *    table) are left out, and every callback must run on a thread of the
 *    test (the caller's thread, or the thread blocked in the call that a
 *    cancellation ends);
 *  - asynchronous session (WINHTTP_FLAG_ASYNC): every accepted operation
 *    ends with its completion (SENDREQUEST_COMPLETE, WRITE_COMPLETE,
 *    HEADERS_AVAILABLE, DATA_AVAILABLE, READ_COMPLETE) or one REQUEST_ERROR,
 *    and the callbacks of one request never overlap (nesting on one thread,
 *    for inline completions, is at most 3 deep).
 *
 * Entries marked optional may be absent where Windows' order allows it
 * (RESOLVING_NAME for a cached name, a second CONNECTING_TO_SERVER, the
 * RECEIVING/RESPONSE_RECEIVED pair inside ReadData, tearing down a
 * connection that cannot be reused); an entry may also name two statuses
 * when either is correct (a completion or REQUEST_ERROR after a close).
 * On a mismatch the recorder prints both sequences by name.
 *
 * Whatever the table, HANDLE_CLOSING comes last for its handle and exactly
 * once; a callback for a handle after its HANDLE_CLOSING fails the test.
 *
 * Peers: the fault server (plain) and the fault server speaking TLS with a
 * certificate from a CA nobody trusts, plus sockets of our own (a port that
 * refuses, a listener whose accept queue is full, a listener that never
 * answers). The test thread waits on a condition variable signalled from
 * the callbacks, with a bounded timeout; no sleeps.
 *
 * Where the engine's order differs from Windows', the table is kept and the
 * test is skipped with a message naming the discrepancy (KNOWN_DISCREPANCY
 * below); everything else must match.
 *
 * Environment: WH_TEST_FILTER / WH_TEST_SKIP (cmocka globs),
 * WH_ORDER_VERBOSE=1 prints every matched sequence. */
#include "wh_test.h"
#include "peers.h"

#include "net/conn.h"
#include "net/resolve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#define WAIT_MS 10000                   /* longest wait for any one event */
#define REC_MAX 512
#define BIG_BODY (64u * 1024u * 1024u)  /* more than any socket buffers hold */

static struct wh_peer fault;     /* plain fault server */
static struct wh_peer fault_tls; /* TLS, certificate from an unknown CA */
static char *big;                /* BIG_BODY zero bytes to upload */
static pthread_t main_thread;

enum mode { SYNC, ASYNC };

/* --- tables --------------------------------------------------------------------------- */

enum who { W_ANY, W_SES, W_CON, W_REQ, W_OLD };

#define T_OPT 1u   /* may be absent */
#define T_ASYNC 2u /* asynchronous sessions only (a completion) */

struct ev {
  DWORD st;
  unsigned char who;
  unsigned char fl;
  DWORD alt; /* nonzero: this status is as good as st */
};

#define ST(x) WINHTTP_CALLBACK_STATUS_##x
#define R(x) {ST(x), W_REQ, 0, 0}
#define RO(x) {ST(x), W_REQ, T_OPT, 0}
#define RA(x) {ST(x), W_REQ, T_ASYNC, 0}
#define RA2(x, y) {ST(x), W_REQ, T_ASYNC, ST(y)}
#define SE(x) {ST(x), W_SES, 0, 0}
#define CO(x) {ST(x), W_CON, 0, 0}

/* Fragments shared by the tables. */
/* WinHttpConnect (on the session handle), WinHttpOpenRequest. */
#define OPENED SE(HANDLE_CREATED), R(HANDLE_CREATED)
/* Omitted when the name is cached (§3.2). */
#define RESOLVE RO(RESOLVING_NAME), RO(NAME_RESOLVED)
/* A new connection; some Windows versions announce CONNECTING twice
 * (notification.c open_socket_request_test). */
#define CONNECT RESOLVE, R(CONNECTING_TO_SERVER), RO(CONNECTING_TO_SERVER), R(CONNECTED_TO_SERVER)
#define SENT R(SENDING_REQUEST), R(REQUEST_SENT)
#define SEND_OK SENT, RA(SENDREQUEST_COMPLETE)
#define HEADERS R(RECEIVING_RESPONSE), R(RESPONSE_RECEIVED), RA(HEADERS_AVAILABLE)
/* QueryDataAvailable then ReadData of what it reported (async_test: the
 * RECEIVING/RESPONSE_RECEIVED pair inside ReadData is allowed). */
#define READ_ONE RA(DATA_AVAILABLE), RO(RECEIVING_RESPONSE), RO(RESPONSE_RECEIVED), RA(READ_COMPLETE)
/* QueryDataAvailable at the end of the body: 0 bytes. */
#define AT_END RA(DATA_AVAILABLE)
/* A connection that cannot be reused may be announced as it goes. */
#define TEARDOWN RO(CLOSING_CONNECTION), RO(CONNECTION_CLOSED)
/* Request, connect, session (close_request_test). */
#define CLOSED R(HANDLE_CLOSING), CO(HANDLE_CLOSING), SE(HANDLE_CLOSING)

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Marks the text naming a known difference between the engine's order and
 * Windows': on a mismatch the test prints both sequences and this text and
 * is skipped; once the engine matches, it passes and prints a note. */
#define KNOWN_DISCREPANCY(text) (text)

/* --- the recorder ------------------------------------------------------------------------ */

struct entry {
  HINTERNET h;
  DWORD st;
  DWORD dword; /* DWORD information; READ_COMPLETE: bytes read */
  WINHTTP_ASYNC_RESULT res;
  bool test_thread;
  bool main_thread;
};

/* What the callbacks do besides recording (flags). */
#define CH_WRITE_ON_SRC 0x01u  /* SENDREQUEST_COMPLETE -> WriteData */
#define CH_RECV_ON_WC 0x02u    /* WRITE_COMPLETE -> ReceiveResponse */
#define CH_RECV_ON_SENT 0x04u  /* REQUEST_SENT -> ReceiveResponse (must work, §3.5) */
#define CH_READ 0x08u          /* HEADERS_AVAILABLE/READ_COMPLETE -> QDA, DATA_AVAILABLE -> ReadData */
#define CH_REFUSE 0x10u        /* sync: the running operation again from its callback is refused (C9) */
#define CH_CLOSE 0x20u         /* close the request from the callback for close_on */

struct order {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  enum mode mode;
  HINTERNET s, c, r, old;
  size_t n;
  struct entry e[REC_MAX];
  bool overflow;
  HINTERNET closed[16];
  size_t nclosed;
  bool after_closing; /* a callback for a handle after its HANDLE_CLOSING */
  bool overlap;       /* two callbacks of one handle at once on two threads */
  int max_depth;      /* deepest nesting of callbacks on one thread */
  struct {
    HINTERNET h;
    pthread_t owner;
    int depth;
  } act[8];
  /* the callbacks' part */
  unsigned chain;
  DWORD chunk;         /* CH_READ: bytes per ReadData */
  DWORD close_on;      /* CH_CLOSE: the status */
  bool closed_in_cb;
  BOOL close_ok;
  bool nested_failed;  /* CH_RECV_ON_SENT: the nested call failed */
  DWORD nested_err;
  bool done;
  int hook_failures;
  char hook_what[128];
  char buf[4096];
  char body[8192];
  size_t body_len;
};

static struct order T;
static _Thread_local bool test_thread;
static _Thread_local int cb_depth;

static const struct {
  DWORD st;
  const char *name;
} names[] = {
#define NAME(x) {ST(x), #x}
    NAME(RESOLVING_NAME),       NAME(NAME_RESOLVED),
    NAME(CONNECTING_TO_SERVER), NAME(CONNECTED_TO_SERVER),
    NAME(SENDING_REQUEST),      NAME(REQUEST_SENT),
    NAME(RECEIVING_RESPONSE),   NAME(RESPONSE_RECEIVED),
    NAME(CLOSING_CONNECTION),   NAME(CONNECTION_CLOSED),
    NAME(HANDLE_CREATED),       NAME(HANDLE_CLOSING),
    NAME(DETECTING_PROXY),      NAME(REDIRECT),
    NAME(INTERMEDIATE_RESPONSE), NAME(SECURE_FAILURE),
    NAME(HEADERS_AVAILABLE),    NAME(DATA_AVAILABLE),
    NAME(READ_COMPLETE),        NAME(WRITE_COMPLETE),
    NAME(REQUEST_ERROR),        NAME(SENDREQUEST_COMPLETE),
#undef NAME
};

static const char *st_name(DWORD st)
{
  for (size_t i = 0; i < N(names); i++)
    if (names[i].st == st)
      return names[i].name;
  static _Thread_local char hex[16];
  snprintf(hex, sizeof(hex), "0x%lx", (unsigned long)st);
  return hex;
}

static bool is_completion(DWORD st)
{
  return st == ST(SENDREQUEST_COMPLETE) || st == ST(HEADERS_AVAILABLE) ||
         st == ST(DATA_AVAILABLE) || st == ST(READ_COMPLETE) || st == ST(WRITE_COMPLETE) ||
         st == ST(REQUEST_ERROR);
}

static bool has_dword(DWORD st)
{
  return st == ST(REQUEST_SENT) || st == ST(RESPONSE_RECEIVED) || st == ST(DATA_AVAILABLE) ||
         st == ST(WRITE_COMPLETE) || st == ST(SECURE_FAILURE) ||
         st == ST(INTERMEDIATE_RESPONSE);
}

static void hook_fail(const char *what, DWORD err)
{
  pthread_mutex_lock(&T.lock);
  if (!T.hook_failures++)
    snprintf(T.hook_what, sizeof(T.hook_what), "%s (error %lu)", what, (unsigned long)err);
  T.done = true;
  pthread_cond_broadcast(&T.cond);
  pthread_mutex_unlock(&T.lock);
}

static void mark_done(void)
{
  pthread_mutex_lock(&T.lock);
  T.done = true;
  pthread_cond_broadcast(&T.cond);
  pthread_mutex_unlock(&T.lock);
}

/* What the callbacks were told to do when the status was recorded (taken
 * under the recorder's lock with the entry, so a change the test thread
 * makes after it saw the entry does not apply to it). */
struct hook_cfg {
  unsigned chain;
  DWORD close_on;
  DWORD chunk;
  bool nested_failed;
  HINTERNET r;
};

/* The calls a callback makes (T.chain), after the status was recorded. */
static void hook(const struct hook_cfg *cfg, HINTERNET h, DWORD st, void *info, DWORD len)
{
  unsigned chain = cfg->chain;
  DWORD close_on = cfg->close_on;
  DWORD chunk = cfg->chunk ? cfg->chunk : (DWORD)sizeof(T.buf);
  bool nested_failed = cfg->nested_failed;
  if (!chain || h != cfg->r || st == ST(HANDLE_CLOSING) || st == ST(HANDLE_CREATED))
    return;

  if ((chain & CH_CLOSE) && st == close_on) {
    pthread_mutex_lock(&T.lock);
    bool first = !T.closed_in_cb;
    T.closed_in_cb = true;
    pthread_mutex_unlock(&T.lock);
    if (first) {
      BOOL ok = WinHttpCloseHandle(h);
      pthread_mutex_lock(&T.lock);
      T.close_ok = ok;
      pthread_mutex_unlock(&T.lock);
    }
    return;
  }
  if ((chain & CH_REFUSE) && (st == ST(REQUEST_SENT) || st == ST(RESPONSE_RECEIVED))) {
    /* C9 on a synchronous request: the call in progress is the one that
     * delivers this notification; the same operation again is refused and
     * announces nothing. Queries still work. */
    char b[4];
    DWORD n = 0;
    SetLastError(0xdeadbeef);
    if (st == ST(REQUEST_SENT)) {
      if (WinHttpSendRequest(h, NULL, 0, NULL, 0, 0, 0) ||
          GetLastError() != ERROR_WINHTTP_INCORRECT_HANDLE_STATE)
        hook_fail("SendRequest from REQUEST_SENT not refused", GetLastError());
    } else {
      if (WinHttpReadData(h, b, sizeof(b), &n) ||
          GetLastError() != ERROR_WINHTTP_INCORRECT_HANDLE_STATE)
        hook_fail("ReadData from RESPONSE_RECEIVED not refused", GetLastError());
      WCHAR url[256];
      DWORD size = sizeof(url);
      if (!WinHttpQueryOption(h, WINHTTP_OPTION_URL, url, &size))
        hook_fail("QueryOption(URL) from RESPONSE_RECEIVED", GetLastError());
    }
    return;
  }
  if ((chain & CH_RECV_ON_SENT) && st == ST(REQUEST_SENT)) {
    SetLastError(0xdeadbeef);
    if (!WinHttpReceiveResponse(h, NULL)) {
      DWORD err = GetLastError();
      pthread_mutex_lock(&T.lock);
      T.nested_failed = true;
      T.nested_err = err;
      pthread_mutex_unlock(&T.lock);
    }
    return;
  }
  switch (st) {
  case ST(SENDREQUEST_COMPLETE):
    if (chain & CH_WRITE_ON_SRC) {
      static char rest[] = " world";
      if (!WinHttpWriteData(h, rest, 6, NULL))
        hook_fail("WriteData from SENDREQUEST_COMPLETE", GetLastError());
    } else if (nested_failed) {
      mark_done(); /* nothing more will come */
    }
    break;
  case ST(WRITE_COMPLETE):
    if ((chain & CH_RECV_ON_WC) && !WinHttpReceiveResponse(h, NULL))
      hook_fail("ReceiveResponse from WRITE_COMPLETE", GetLastError());
    break;
  case ST(HEADERS_AVAILABLE):
    if ((chain & CH_READ) && !WinHttpQueryDataAvailable(h, NULL))
      hook_fail("QueryDataAvailable from HEADERS_AVAILABLE", GetLastError());
    break;
  case ST(DATA_AVAILABLE):
    if (!(chain & CH_READ))
      break;
    if (*(DWORD *)info == 0) {
      mark_done();
    } else {
      DWORD want = *(DWORD *)info < chunk ? *(DWORD *)info : chunk;
      if (!WinHttpReadData(h, T.buf, want, NULL))
        hook_fail("ReadData from DATA_AVAILABLE", GetLastError());
    }
    break;
  case ST(READ_COMPLETE):
    if (!(chain & CH_READ))
      break;
    if (len == 0) {
      mark_done();
      break;
    }
    pthread_mutex_lock(&T.lock);
    if (T.body_len + len <= sizeof(T.body)) {
      memcpy(T.body + T.body_len, info, len);
      T.body_len += len;
    }
    pthread_mutex_unlock(&T.lock);
    if (!WinHttpQueryDataAvailable(h, NULL))
      hook_fail("QueryDataAvailable from READ_COMPLETE", GetLastError());
    break;
  case ST(REQUEST_ERROR):
    mark_done();
    break;
  default:
    break;
  }
}

static void CALLBACK on_status(HINTERNET h, DWORD_PTR ctx, DWORD st, LPVOID info, DWORD len)
{
  (void)ctx;
  pthread_t self = pthread_self();
  cb_depth++;
  pthread_mutex_lock(&T.lock);
  int slot = -1;
  for (int i = 0; i < 8; i++)
    if (T.act[i].depth > 0 && T.act[i].h == h)
      slot = i;
  if (slot < 0)
    for (int i = 0; i < 8 && slot < 0; i++)
      if (T.act[i].depth == 0)
        slot = i;
  if (slot >= 0) {
    if (T.act[slot].depth > 0 && !pthread_equal(T.act[slot].owner, self))
      T.overlap = true;
    T.act[slot].h = h;
    T.act[slot].owner = self;
    T.act[slot].depth++;
  }
  if (cb_depth > T.max_depth)
    T.max_depth = cb_depth;
  for (size_t i = 0; i < T.nclosed; i++)
    if (T.closed[i] == h)
      T.after_closing = true;
  if (T.n < REC_MAX) {
    struct entry *e = &T.e[T.n++];
    memset(e, 0, sizeof(*e));
    e->h = h;
    e->st = st;
    if (has_dword(st) && info && len >= sizeof(DWORD))
      e->dword = *(DWORD *)info;
    if (st == ST(READ_COMPLETE))
      e->dword = len;
    if (st == ST(REQUEST_ERROR) && info && len >= sizeof(WINHTTP_ASYNC_RESULT))
      e->res = *(WINHTTP_ASYNC_RESULT *)info;
    e->test_thread = test_thread;
    e->main_thread = pthread_equal(self, main_thread) != 0;
  } else {
    T.overflow = true;
  }
  if (st == ST(HANDLE_CLOSING) && T.nclosed < N(T.closed))
    T.closed[T.nclosed++] = h;
  struct hook_cfg cfg = {T.chain, T.close_on, T.chunk, T.nested_failed, T.r};
  pthread_cond_broadcast(&T.cond);
  pthread_mutex_unlock(&T.lock);

  hook(&cfg, h, st, info, len);

  pthread_mutex_lock(&T.lock);
  if (slot >= 0)
    T.act[slot].depth--;
  pthread_mutex_unlock(&T.lock);
  cb_depth--;
}

/* --- waiting ------------------------------------------------------------------------------ */

static void deadline_in(struct timespec *ts, int ms)
{
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += ms / 1000;
  ts->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

static size_t count_locked(HINTERNET h, DWORD st)
{
  size_t k = 0;
  for (size_t i = 0; i < T.n; i++)
    if (T.e[i].st == st && (!h || T.e[i].h == h))
      k++;
  return k;
}

static size_t count(HINTERNET h, DWORD st)
{
  pthread_mutex_lock(&T.lock);
  size_t k = count_locked(h, st);
  pthread_mutex_unlock(&T.lock);
  return k;
}

static void dump_actual(void);

/* Waits until |st| was delivered |n| times for |h| (NULL: any handle). */
static bool wait_status(HINTERNET h, DWORD st, size_t n)
{
  struct timespec dl;
  deadline_in(&dl, WAIT_MS);
  pthread_mutex_lock(&T.lock);
  bool ok;
  while (!(ok = count_locked(h, st) >= n))
    if (pthread_cond_timedwait(&T.cond, &T.lock, &dl) == ETIMEDOUT) {
      ok = count_locked(h, st) >= n;
      break;
    }
  pthread_mutex_unlock(&T.lock);
  if (!ok) {
    print_error("timed out waiting for %s\n", st_name(st));
    dump_actual();
  }
  return ok;
}

/* Waits for the first completion at or after entry |from|; its index or
 * -1. */
static long wait_completion(size_t from)
{
  struct timespec dl;
  deadline_in(&dl, WAIT_MS);
  pthread_mutex_lock(&T.lock);
  long found = -1;
  for (;;) {
    for (size_t i = from; i < T.n && found < 0; i++)
      if (is_completion(T.e[i].st) && T.e[i].h == T.r)
        found = (long)i;
    if (found >= 0 || pthread_cond_timedwait(&T.cond, &T.lock, &dl) == ETIMEDOUT)
      break;
  }
  if (found < 0)
    for (size_t i = from; i < T.n && found < 0; i++)
      if (is_completion(T.e[i].st) && T.e[i].h == T.r)
        found = (long)i;
  pthread_mutex_unlock(&T.lock);
  if (found < 0) {
    print_error("timed out waiting for a completion\n");
    dump_actual();
  }
  return found;
}

static bool wait_done(void)
{
  struct timespec dl;
  deadline_in(&dl, WAIT_MS);
  pthread_mutex_lock(&T.lock);
  while (!T.done)
    if (pthread_cond_timedwait(&T.cond, &T.lock, &dl) == ETIMEDOUT)
      break;
  bool ok = T.done;
  pthread_mutex_unlock(&T.lock);
  if (!ok) {
    print_error("timed out waiting for the callbacks to finish\n");
    dump_actual();
  }
  return ok;
}

static size_t mark(void)
{
  pthread_mutex_lock(&T.lock);
  size_t n = T.n;
  pthread_mutex_unlock(&T.lock);
  return n;
}

/* --- the operations, the session's way ------------------------------------------------------- */

/* An operation's outcome: sync from the call, async from its completion. */
struct res {
  BOOL ok;
  DWORD err;
  DWORD api;   /* async: WINHTTP_ASYNC_RESULT.dwResult of a REQUEST_ERROR */
  DWORD value; /* bytes available / read / written */
};

#define NO_COMPLETION 0xFFFFFFF0u

static struct res complete(size_t from, BOOL ok, DWORD err, DWORD value)
{
  struct res x = {ok, ok ? ERROR_SUCCESS : err, 0, value};
  if (T.mode == SYNC || !ok)
    return x;
  long i = wait_completion(from);
  if (i < 0) {
    x.ok = FALSE;
    x.err = NO_COMPLETION;
    return x;
  }
  pthread_mutex_lock(&T.lock);
  struct entry e = T.e[i];
  pthread_mutex_unlock(&T.lock);
  if (e.st == ST(REQUEST_ERROR)) {
    x.ok = FALSE;
    x.err = e.res.dwError;
    x.api = (DWORD)e.res.dwResult;
  } else {
    x.value = e.dword;
  }
  return x;
}

static struct res op_send(void *opt, DWORD optlen, DWORD total)
{
  size_t from = mark();
  SetLastError(0xdeadbeef);
  BOOL ok = WinHttpSendRequest(T.r, WINHTTP_NO_ADDITIONAL_HEADERS, 0, opt, optlen, total, 0);
  return complete(from, ok, GetLastError(), 0);
}

static struct res op_write(const void *buf, DWORD len)
{
  size_t from = mark();
  DWORD n = 0;
  SetLastError(0xdeadbeef);
  BOOL ok = WinHttpWriteData(T.r, buf, len, T.mode == SYNC ? &n : NULL);
  return complete(from, ok, GetLastError(), n);
}

static struct res op_receive(void)
{
  size_t from = mark();
  SetLastError(0xdeadbeef);
  BOOL ok = WinHttpReceiveResponse(T.r, NULL);
  return complete(from, ok, GetLastError(), 0);
}

static struct res op_query(void)
{
  size_t from = mark();
  DWORD n = 0;
  SetLastError(0xdeadbeef);
  BOOL ok = WinHttpQueryDataAvailable(T.r, T.mode == SYNC ? &n : NULL);
  return complete(from, ok, GetLastError(), n);
}

static struct res op_read(void *buf, DWORD len)
{
  size_t from = mark();
  DWORD got = 0;
  SetLastError(0xdeadbeef);
  BOOL ok = WinHttpReadData(T.r, buf, len, T.mode == SYNC ? &got : NULL);
  return complete(from, ok, GetLastError(), got);
}

static void expect_ok(struct res x, const char *what)
{
  if (!x.ok)
    print_error("%s failed: error %lu (api %lu)\n", what, (unsigned long)x.err,
                (unsigned long)x.api);
  assert_true(x.ok);
}

/* Failed with |err|; asynchronously through REQUEST_ERROR naming |api|. */
static void expect_fail(struct res x, DWORD api, DWORD err, const char *what)
{
  if (x.ok || x.err != err || (T.mode == ASYNC && x.api != api))
    print_error("%s: expected error %lu (api %lu), got ok=%d error %lu (api %lu)\n", what,
                (unsigned long)err, (unsigned long)api, x.ok, (unsigned long)x.err,
                (unsigned long)x.api);
  assert_false(x.ok);
  assert_int_equal(x.err, err);
  if (T.mode == ASYNC)
    assert_int_equal(x.api, api);
}

/* QueryDataAvailable / ReadData of what it reported (at most |chunk|)
 * until the end of the body; returns the bytes read into |out|. */
static size_t drain(char *out, size_t cap, DWORD chunk)
{
  size_t total = 0;
  char buf[4096];
  if (chunk == 0 || chunk > sizeof(buf))
    chunk = sizeof(buf);
  for (;;) {
    struct res q = op_query();
    expect_ok(q, "QueryDataAvailable");
    if (q.value == 0)
      break;
    DWORD want = q.value < chunk ? q.value : chunk;
    struct res rd = op_read(buf, want);
    expect_ok(rd, "ReadData");
    if (rd.value == 0)
      break;
    assert_true(rd.value <= want);
    if (total + rd.value <= cap)
      memcpy(out + total, buf, rd.value);
    total += rd.value;
  }
  return total;
}

/* Reads the rest of /echo's answer: the request it echoes must end in the
 * body "hello world" (sent as SendRequest's 5 bytes and WriteData's 6). */
static void expect_echoed_hello(void)
{
  static char body[4096];
  size_t n = drain(body, sizeof(body) - 1, 0);
  body[n < sizeof(body) ? n : sizeof(body) - 1] = '\0';
  assert_non_null(strstr(body, "\r\n\r\nhello world"));
}


static DWORD status_code(void)
{
  DWORD code = 0, size = sizeof(code);
  assert_true(WinHttpQueryHeaders(T.r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                                  WINHTTP_HEADER_NAME_BY_INDEX, &code, &size,
                                  WINHTTP_NO_HEADER_INDEX));
  return code;
}

/* --- handles --------------------------------------------------------------------------------- */

/* A fresh recorder, an empty keep-alive pool and name cache. */
static void begin(enum mode m)
{
  pthread_mutex_lock(&T.lock);
  T.mode = m;
  T.s = T.c = T.r = T.old = NULL;
  T.n = 0;
  T.overflow = false;
  T.nclosed = 0;
  T.after_closing = false;
  T.overlap = false;
  T.max_depth = 0;
  memset(T.act, 0, sizeof(T.act));
  T.chain = 0;
  T.chunk = 0;
  T.close_on = 0;
  T.closed_in_cb = false;
  T.close_ok = FALSE;
  T.nested_failed = false;
  T.nested_err = 0;
  T.done = false;
  T.hook_failures = 0;
  T.hook_what[0] = '\0';
  T.body_len = 0;
  pthread_mutex_unlock(&T.lock);
  test_thread = true;
  wh_pool_clear();
  wh_resolve_cache_clear();
}

static void set_chain(unsigned chain, DWORD chunk, DWORD close_on)
{
  pthread_mutex_lock(&T.lock);
  T.chain = chain;
  T.chunk = chunk;
  T.close_on = close_on;
  pthread_mutex_unlock(&T.lock);
}

static HINTERNET open_request(const wchar_t *verb, const wchar_t *path, DWORD flags)
{
  HINTERNET r = WinHttpOpenRequest(T.c, verb, path, NULL, WINHTTP_NO_REFERER,
                                   WINHTTP_DEFAULT_ACCEPT_TYPES, flags);
  assert_non_null(r);
  pthread_mutex_lock(&T.lock);
  T.r = r;
  pthread_mutex_unlock(&T.lock);
  return r;
}

/* |host| is "localhost" for the peers (the resolution notifications are
 * part of what is checked), and the IPv4 literal for a socket of the
 * test's own (bound to 127.0.0.1): "localhost" is also ::1, where another
 * program may listen on the same port number. */
static void open3_at(const wchar_t *host, unsigned short port, const wchar_t *verb,
                     const wchar_t *path, DWORD flags)
{
  HINTERNET s = WinHttpOpen(L"order-test", WINHTTP_ACCESS_TYPE_NO_PROXY, WINHTTP_NO_PROXY_NAME,
                            WINHTTP_NO_PROXY_BYPASS, T.mode == ASYNC ? WINHTTP_FLAG_ASYNC : 0);
  assert_non_null(s);
  pthread_mutex_lock(&T.lock);
  T.s = s;
  pthread_mutex_unlock(&T.lock);
  assert_true(WinHttpSetStatusCallback(s, on_status, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0) !=
              WINHTTP_INVALID_STATUS_CALLBACK);
  HINTERNET c = WinHttpConnect(s, host, port, 0);
  assert_non_null(c);
  pthread_mutex_lock(&T.lock);
  T.c = c;
  pthread_mutex_unlock(&T.lock);
  open_request(verb, path, flags);
}

static void open3(unsigned short port, const wchar_t *verb, const wchar_t *path, DWORD flags)
{
  open3_at(L"localhost", port, verb, path, flags);
}

/* Closes the request (unless a callback did) and waits for its
 * HANDLE_CLOSING. */
static void close_request(bool already)
{
  if (!already)
    assert_true(WinHttpCloseHandle(T.r));
  assert_true(wait_status(T.r, ST(HANDLE_CLOSING), 1));
}

static void close_parents(void)
{
  assert_true(WinHttpCloseHandle(T.c));
  assert_true(WinHttpCloseHandle(T.s));
  assert_true(wait_status(T.c, ST(HANDLE_CLOSING), 1));
  assert_true(wait_status(T.s, ST(HANDLE_CLOSING), 1));
}

static void close_all(void)
{
  close_request(false);
  close_parents();
}

/* --- comparing --------------------------------------------------------------------------------- */

static enum who who_of(HINTERNET h)
{
  if (h && h == T.r)
    return W_REQ;
  if (h && h == T.old)
    return W_OLD;
  if (h && h == T.c)
    return W_CON;
  if (h && h == T.s)
    return W_SES;
  return W_ANY;
}

static const char *who_name(unsigned w)
{
  static const char *const n[] = {"?", "ses", "con", "req", "old"};
  return w < N(n) ? n[w] : "?";
}

struct got {
  DWORD st;
  unsigned char who;
  DWORD dword;
};

static size_t snapshot(size_t from, size_t to, struct got *out, size_t cap)
{
  size_t k = 0;
  pthread_mutex_lock(&T.lock);
  if (to > T.n)
    to = T.n;
  for (size_t i = from; i < to && k < cap; i++) {
    out[k].st = T.e[i].st;
    out[k].who = (unsigned char)who_of(T.e[i].h);
    out[k].dword = T.e[i].dword;
    k++;
  }
  pthread_mutex_unlock(&T.lock);
  return k;
}

static void dump_actual(void)
{
  static struct got g[REC_MAX];
  size_t n = snapshot(0, REC_MAX, g, REC_MAX);
  print_error("  recorded so far:\n");
  for (size_t i = 0; i < n; i++)
    print_error("    %2zu  %s %s\n", i, who_name(g[i].who), st_name(g[i].st));
}

static bool eq(const struct ev *w, const struct got *g)
{
  return w->who == g->who && (w->st == g->st || (w->alt && w->alt == g->st));
}

/* Whether |got| is |want| with some optional entries left out. */
static bool match(const struct ev *want, size_t nw, const struct got *got, size_t ng)
{
  static unsigned char ok[65][REC_MAX + 1];
  if (nw > 64 || ng > REC_MAX)
    return false;
  for (size_t j = 0; j <= ng; j++)
    ok[nw][j] = j == ng;
  for (size_t i = nw; i-- > 0;)
    for (size_t j = ng + 1; j-- > 0;) {
      bool take = j < ng && eq(&want[i], &got[j]) && ok[i + 1][j + 1];
      bool skip_it = (want[i].fl & T_OPT) && ok[i + 1][j];
      ok[i][j] = take || skip_it;
    }
  return ok[0][0];
}

/* The table for this mode: completions only for asynchronous sessions. */
static size_t for_mode(const struct ev *table, size_t n, struct ev *out)
{
  size_t k = 0;
  for (size_t i = 0; i < n && k < 64; i++)
    if (!(table[i].fl & T_ASYNC) || T.mode == ASYNC)
      out[k++] = table[i];
  return k;
}

static void print_sequences(const char *name, const struct ev *w, size_t nw, const struct got *g,
                            size_t ng)
{
  print_error("%s (%s): notification order differs from Windows'\n", name,
              T.mode == SYNC ? "sync" : "async");
  print_error("  %-44s %s\n", "expected (? optional, | either):", "actual:");
  size_t rows = nw > ng ? nw : ng;
  for (size_t i = 0; i < rows; i++) {
    char left[96] = "", right[96] = "";
    if (i < nw) {
      if (w[i].alt)
        snprintf(left, sizeof(left), "%s%s %s|%s", (w[i].fl & T_OPT) ? "?" : " ",
                 who_name(w[i].who), st_name(w[i].st), st_name(w[i].alt));
      else
        snprintf(left, sizeof(left), "%s%s %s", (w[i].fl & T_OPT) ? "?" : " ",
                 who_name(w[i].who), st_name(w[i].st));
    }
    if (i < ng)
      snprintf(right, sizeof(right), "%s %s", who_name(g[i].who), st_name(g[i].st));
    print_error("  %2zu %-44s %s\n", i, left, right);
  }
}

/* Checks entries [from, to) against |table| (and, when given, accepts
 * |alt| too). |known|: a documented discrepancy, reported and skipped. */
static void check_range(const char *name, size_t from, size_t to, const struct ev *table, size_t n,
                        const char *known)
{
  static struct got g[REC_MAX];
  struct ev w[64];
  size_t nw = for_mode(table, n, w);
  size_t ng = snapshot(from, to, g, REC_MAX);
  pthread_mutex_lock(&T.lock);
  bool overflow = T.overflow;
  pthread_mutex_unlock(&T.lock);
  assert_false(overflow);
  if (match(w, nw, g, ng)) {
    if (getenv("WH_ORDER_VERBOSE")) { /* what the engine did, optional entries included */
      print_message("[ ORDER    ] %s (%s):", name, T.mode == SYNC ? "sync" : "async");
      for (size_t i = 0; i < ng; i++)
        print_message(" %s:%s", who_name(g[i].who), st_name(g[i].st));
      print_message("\n");
    }
    if (known)
      print_message("[ NOTE     ] %s (%s): matches Windows now; the known discrepancy "
                    "\"%s\" is gone\n", name, T.mode == SYNC ? "sync" : "async", known);
    return;
  }
  print_sequences(name, w, nw, g, ng);
  if (known) {
    print_message("[ KNOWN    ] %s (%s): %s\n", name, T.mode == SYNC ? "sync" : "async", known);
    skip();
  }
  fail_msg("%s: wrong notification order", name);
}

/* The rules every scenario keeps, whatever its table. */
static void check_rules(void)
{
  pthread_mutex_lock(&T.lock);
  bool after = T.after_closing, overlap = T.overlap;
  int depth = T.max_depth;
  int hook_failures = T.hook_failures;
  char what[128];
  memcpy(what, T.hook_what, sizeof(what));
  bool foreign = false;
  for (size_t i = 0; i < T.n; i++)
    if (!T.e[i].test_thread)
      foreign = true;
  pthread_mutex_unlock(&T.lock);
  if (hook_failures)
    print_error("a call from a callback failed: %s\n", what);
  assert_int_equal(hook_failures, 0);
  /* C7: nothing after HANDLE_CLOSING. */
  if (after)
    print_error("a callback came after HANDLE_CLOSING for its handle\n");
  assert_false(after);
  /* Callbacks of one handle never run at once on two threads. */
  if (overlap)
    print_error("two callbacks of one handle overlapped\n");
  assert_false(overlap);
  /* Inline completions nest at most 3 deep (§3.5). */
  if (depth > 3)
    print_error("callbacks nested %d deep\n", depth);
  assert_true(depth <= 3);
  /* Synchronous sessions call back on the caller's thread. */
  if (T.mode == SYNC && foreign)
    print_error("a synchronous session called back on a thread of the library\n");
  if (T.mode == SYNC)
    assert_false(foreign);
  /* Every handle closed exactly once. */
  assert_int_equal(count(T.r, ST(HANDLE_CLOSING)), 1);
  assert_int_equal(count(T.c, ST(HANDLE_CLOSING)), 1);
  assert_int_equal(count(T.s, ST(HANDLE_CLOSING)), 1);
}

/* The rules, then the whole recording against |table|. */
static void check_all(const char *name, const struct ev *table, size_t n, const char *known)
{
  check_rules();
  check_range(name, 0, REC_MAX, table, n, known);
}

/* The first entry of |st| for the request: its DWORD information. */
static DWORD dword_of(DWORD st)
{
  DWORD v = 0xFFFFFFFFu;
  pthread_mutex_lock(&T.lock);
  for (size_t i = 0; i < T.n; i++)
    if (T.e[i].st == st && T.e[i].h == T.r) {
      v = T.e[i].dword;
      break;
    }
  pthread_mutex_unlock(&T.lock);
  return v;
}

/* --- sockets of our own --------------------------------------------------------------------------- */

/* Bound to 127.0.0.1 on a free port; listening with |backlog| unless < 0
 * (then connections to it are refused). */
static int own_socket(int backlog, unsigned short *port)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  socklen_t alen = sizeof(a);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
  if (backlog >= 0)
    assert_int_equal(listen(fd, backlog), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

/* Whether the accept queue of listener |lfd| is full: Linux reports a
 * listening socket's queue length in tcpi_unacked and its limit in
 * tcpi_sacked, and drops SYNs once the length exceeds the limit. */
static bool accept_queue_full(int lfd)
{
  struct tcp_info ti;
  socklen_t len = sizeof(ti);
  memset(&ti, 0, sizeof(ti));
  if (getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
    return false;
  return ti.tcpi_unacked > ti.tcpi_sacked;
}

/* A listener whose accept queue is full: a further connect neither
 * succeeds nor fails (its SYNs are dropped). With a backlog of 0 one queued
 * connection fills it; the listener turns readable once the kernel has
 * queued it. The filler socket goes to |fill|. */
static int full_listener(unsigned short *port, int *fill, int *nfill)
{
  int lfd = own_socket(0, port);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(*port);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  fill[0] = fd;
  *nfill = 1;
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
    assert_int_equal(errno, EINPROGRESS);
  struct pollfd p = {.fd = lfd, .events = POLLIN};
  assert_int_equal(poll(&p, 1, WAIT_MS), 1);
  assert_true(accept_queue_full(lfd));
  return lfd;
}

/* Accepts one connection on |lfd| and reads from it until |enough| says
 * so; returns the accepted socket (kept open by the caller). */
static int accept_and_read(int lfd, bool (*enough)(const char *, size_t))
{
  struct pollfd p = {.fd = lfd, .events = POLLIN};
  assert_int_equal(poll(&p, 1, WAIT_MS), 1);
  int fd = accept(lfd, NULL, NULL);
  assert_true(fd >= 0);
  static char seen[8192];
  size_t n = 0;
  while (!enough(seen, n)) {
    struct pollfd q = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&q, 1, WAIT_MS), 1);
    size_t room = n < sizeof(seen) ? sizeof(seen) - n : 0;
    char scratch[4096];
    ssize_t k = recv(fd, room ? seen + n : scratch, room ? room : sizeof(scratch), 0);
    assert_true(k > 0);
    if (room)
      n += (size_t)k;
    else
      break; /* plenty */
  }
  return fd;
}

/* The client's first TLS bytes (its ClientHello is under way). */
static bool some_bytes(const char *p, size_t n)
{
  (void)p;
  return n > 0;
}

/* The request head and at least one byte of its body. */
static bool head_and_body(const char *p, size_t n)
{
  for (size_t i = 0; i + 4 < n; i++)
    if (memcmp(p + i, "\r\n\r\n", 4) == 0)
      return true;
  return false;
}

/* --- scenarios ---------------------------------------------------------------------------------- */

/* GET of a 100-byte body on a new connection (async_test, cache_test). */
static void scen_get(enum mode m)
{
  static const struct ev want[] = {OPENED, CONNECT, SEND_OK, HEADERS, READ_ONE, AT_END, CLOSED};
  begin(m);
  open3(wh_peer_port(&fault), L"GET", L"/ok?n=100", 0);
  expect_ok(op_send(NULL, 0, 0), "SendRequest");
  expect_ok(op_receive(), "ReceiveResponse");
  assert_int_equal(status_code(), 200);
  char body[256];
  assert_int_equal(drain(body, sizeof(body), 0), 100);
  close_all();
  check_all("GET", want, N(want), NULL);
  if (m == ASYNC) { /* what the completions carried */
    assert_int_equal(dword_of(ST(DATA_AVAILABLE)), 100);
    assert_int_equal(dword_of(ST(READ_COMPLETE)), 100);
  }
}

/* POST: 5 bytes with SendRequest, 6 with WriteData. WriteData announces
 * nothing but its completion. */
static void scen_post(enum mode m)
{
  static const struct ev want[] = {OPENED, CONNECT, SEND_OK, RA(WRITE_COMPLETE), HEADERS,
                                   READ_ONE, AT_END, CLOSED};
  static char data[] = "hello world";
  begin(m);
  open3(wh_peer_port(&fault), L"POST", L"/echo", 0);
  expect_ok(op_send(data, 5, 11), "SendRequest");
  struct res w = op_write(data + 5, 6);
  expect_ok(w, "WriteData");
  assert_int_equal(w.value, 6);
  expect_ok(op_receive(), "ReceiveResponse");
  assert_int_equal(status_code(), 200);
  expect_echoed_hello();
  close_all();
  check_all("POST+WriteData", want, N(want), NULL);
}

/* 302 to a path on the same server, followed inside ReceiveResponse
 * (redirect_test): REDIRECT, then the new request on the same connection
 * (a new one is allowed to be announced). */
static void scen_redirect(enum mode m)
{
  static const struct ev want[] = {
      OPENED, CONNECT, SEND_OK, R(RECEIVING_RESPONSE), R(RESPONSE_RECEIVED), R(REDIRECT),
      RESOLVE, RO(CONNECTING_TO_SERVER), RO(CONNECTED_TO_SERVER), SENT, HEADERS, READ_ONE,
      AT_END, CLOSED};
  begin(m);
  open3(wh_peer_port(&fault), L"GET", L"/302?to=/ok", 0);
  expect_ok(op_send(NULL, 0, 0), "SendRequest");
  expect_ok(op_receive(), "ReceiveResponse");
  assert_int_equal(status_code(), 200);
  char body[256];
  assert_int_equal(drain(body, sizeof(body), 0), 100);
  close_all();
  check_all("redirect 302", want, N(want), NULL);
}

/* A second request on the same connect handle reuses the connection:
 * only SENDING_REQUEST and REQUEST_SENT (reuse_socket_request_test). */
static void scen_keepalive(enum mode m)
{
  static const struct ev first[] = {OPENED, CONNECT, SEND_OK, HEADERS, READ_ONE, AT_END,
                                    R(HANDLE_CLOSING)};
  static const struct ev second[] = {R(HANDLE_CREATED), SEND_OK, HEADERS, READ_ONE, AT_END,
                                     CLOSED};
  begin(m);
  open3(wh_peer_port(&fault), L"GET", L"/count", 0);
  expect_ok(op_send(NULL, 0, 0), "SendRequest");
  expect_ok(op_receive(), "ReceiveResponse");
  char body[16];
  assert_int_equal(drain(body, sizeof(body), 0), 1);
  assert_int_equal(body[0], '1');
  close_request(false);
  size_t at = mark();
  check_range("keep-alive: first request", 0, at, first, N(first), NULL);
  pthread_mutex_lock(&T.lock);
  T.old = T.r;
  pthread_mutex_unlock(&T.lock);
  open_request(L"GET", L"/count", 0);
  expect_ok(op_send(NULL, 0, 0), "SendRequest");
  expect_ok(op_receive(), "ReceiveResponse");
  assert_int_equal(drain(body, sizeof(body), 0), 1);
  assert_int_equal(body[0], '2'); /* the second request of that TCP connection */
  close_all();
  check_rules();
  check_range("keep-alive: second request", at, REC_MAX, second, N(second), NULL);
}

/* Responses without a body: QueryDataAvailable reports 0 at once. */
static void no_body(enum mode m, const wchar_t *verb, const wchar_t *path, DWORD code,
                    const char *name)
{
  static const struct ev want[] = {OPENED, CONNECT, SEND_OK, HEADERS, AT_END, CLOSED};
  begin(m);
  open3(wh_peer_port(&fault), verb, path, 0);
  expect_ok(op_send(NULL, 0, 0), "SendRequest");
  expect_ok(op_receive(), "ReceiveResponse");
  assert_int_equal(status_code(), code);
  struct res q = op_query();
  expect_ok(q, "QueryDataAvailable");
  assert_int_equal(q.value, 0);
  close_all();
  check_all(name, want, N(want), NULL);
}

static void scen_204(enum mode m)
{
  no_body(m, L"GET", L"/204", 204, "204 No Content");
}

static void scen_head(enum mode m)
{
  no_body(m, L"HEAD", L"/ok?n=100", 200, "HEAD");
}

/* Nothing listens: the attempt is announced, its success never is. */
static void scen_refused(enum mode m)
{
  static const struct ev want[] = {OPENED, RESOLVE, R(CONNECTING_TO_SERVER),
                                   RO(CONNECTING_TO_SERVER), RA(REQUEST_ERROR), CLOSED};
  begin(m);
  unsigned short port;
  int fd = own_socket(-1, &port); /* bound, not listening */
  open3_at(L"127.0.0.1", port, L"GET", L"/", 0);
  expect_fail(op_send(NULL, 0, 0), API_SEND_REQUEST, ERROR_WINHTTP_CANNOT_CONNECT, "SendRequest");
  close_all();
  close(fd);
  check_all("connection refused", want, N(want), NULL);
}

/* A certificate from an unknown CA: SECURE_FAILURE with its reason, then
 * the failure. Where Windows reports CONNECTED_TO_SERVER relative to the
 * handshake is not pinned down by its tests, so it may be there. */
static void scen_tls_failure(enum mode m)
{
  static const struct ev want[] = {OPENED, RESOLVE, R(CONNECTING_TO_SERVER),
                                   RO(CONNECTING_TO_SERVER), RO(CONNECTED_TO_SERVER),
                                   R(SECURE_FAILURE), RA(REQUEST_ERROR), TEARDOWN, CLOSED};
  begin(m);
  open3(wh_peer_port(&fault_tls), L"GET", L"/ok", WINHTTP_FLAG_SECURE);
  expect_fail(op_send(NULL, 0, 0), API_SEND_REQUEST, ERROR_WINHTTP_SECURE_FAILURE, "SendRequest");
  close_all();
  check_all("TLS unknown CA", want, N(want), NULL);
  assert_int_equal(dword_of(ST(SECURE_FAILURE)), WINHTTP_CALLBACK_STATUS_FLAG_INVALID_CA);
}

/* The server reads the request and never answers: the receive timeout
 * ends ReceiveResponse. */
static void scen_timeout(enum mode m)
{
  static const struct ev want[] = {OPENED, CONNECT, SEND_OK, R(RECEIVING_RESPONSE),
                                   RA(REQUEST_ERROR), TEARDOWN, CLOSED};
  begin(m);
  open3(wh_peer_port(&fault), L"GET", L"/stall", 0);
  assert_true(WinHttpSetTimeouts(T.r, 0, 5000, 5000, 300));
  DWORD ms = 300;
  assert_true(WinHttpSetOption(T.r, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, &ms, sizeof(ms)));
  expect_ok(op_send(NULL, 0, 0), "SendRequest");
  expect_fail(op_receive(), API_RECEIVE_RESPONSE, ERROR_WINHTTP_TIMEOUT, "ReceiveResponse");
  close_all();
  check_all("receive timeout", want, N(want), NULL);
}

/* --- cancellation by WinHttpCloseHandle ----------------------------------------------------------- */

enum stage { AT_CONNECT, AT_TLS, AT_SEND, AT_WRITE, AT_HEADERS, AT_BODY };

/* The operation a synchronous cancellation blocks in, on its own thread. */
struct job {
  enum stage stage;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool started;
  long tid;
  struct res out;
};

/* Whether thread |tid| of this process is blocked in poll() (the engine's
 * wait for a socket), as Linux shows in /proc/self/task/<tid>/syscall. */
static bool blocked_in_poll(long tid)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/task/%ld/syscall", tid);
  FILE *f = fopen(path, "r");
  if (!f)
    return false;
  long nr = -1;
  int k = fscanf(f, "%ld", &nr);
  fclose(f);
  if (k != 1)
    return false; /* "running" */
#ifdef SYS_poll
  if (nr == SYS_poll)
    return true;
#endif
  return nr == SYS_ppoll;
}

/* Waits (bounded) until the job's thread is blocked inside its call. */
static bool wait_blocked(long tid)
{
  struct timespec now, dl;
  deadline_in(&dl, WAIT_MS);
  for (;;) {
    if (blocked_in_poll(tid))
      return true;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > dl.tv_sec || (now.tv_sec == dl.tv_sec && now.tv_nsec >= dl.tv_nsec))
      return false;
    sched_yield();
  }
}

static struct res run_stage_op(enum stage st)
{
  static char buf[4096];
  switch (st) {
  case AT_CONNECT:
  case AT_TLS:
    return op_send(NULL, 0, 0);
  case AT_SEND:
    return op_send(big, BIG_BODY, BIG_BODY);
  case AT_WRITE:
    return op_write(big, BIG_BODY);
  case AT_HEADERS:
    return op_receive();
  case AT_BODY:
    return op_read(buf, sizeof(buf));
  }
  struct res none = {FALSE, 0, 0, 0};
  return none;
}

static void *job_thread(void *arg)
{
  struct job *j = arg;
  test_thread = true;
  pthread_mutex_lock(&j->lock);
  j->tid = (long)syscall(SYS_gettid);
  j->started = true;
  pthread_cond_broadcast(&j->cond);
  pthread_mutex_unlock(&j->lock);
  j->out = run_stage_op(j->stage);
  return NULL;
}

static DWORD api_of(enum stage st)
{
  switch (st) {
  case AT_WRITE:
    return API_WRITE_DATA;
  case AT_HEADERS:
    return API_RECEIVE_RESPONSE;
  case AT_BODY:
    return API_READ_DATA;
  default:
    return API_SEND_REQUEST;
  }
}

/* One attempt; false when the close came before the call had begun (only
 * possible for AT_BODY in sync mode, which has no notification to wait
 * for, and only when /proc cannot show the reader blocked), so nothing was
 * tested. */
static bool cancel_once(enum mode m, enum stage st, const char *name, const struct ev *want,
                        size_t nwant)
{
  begin(m);
  int lfd = -1, afd = -1, fill[8], nfill = 0;
  unsigned short port = wh_peer_port(&fault);
  const wchar_t *verb = L"GET", *path = L"/";
  DWORD flags = 0;
  switch (st) {
  case AT_CONNECT:
    lfd = full_listener(&port, fill, &nfill);
    break;
  case AT_TLS:
    lfd = own_socket(16, &port); /* accepts, never answers the ClientHello */
    flags = WINHTTP_FLAG_SECURE;
    break;
  case AT_SEND:
  case AT_WRITE:
    lfd = own_socket(16, &port); /* never reads the upload */
    verb = L"POST";
    path = L"/upload";
    break;
  case AT_HEADERS:
    path = L"/stall";
    break;
  case AT_BODY:
    path = L"/stall-body"; /* head, 50 of 100 bytes, then nothing */
    break;
  }
  open3_at(lfd >= 0 ? L"127.0.0.1" : L"localhost", port, verb, path, flags);

  /* Up to the operation that will be cancelled. */
  if (st == AT_WRITE || st == AT_HEADERS || st == AT_BODY)
    expect_ok(op_send(NULL, 0, st == AT_WRITE ? BIG_BODY : 0), "SendRequest");
  if (st == AT_BODY) {
    expect_ok(op_receive(), "ReceiveResponse");
    char fifty[50];
    struct res rd = op_read(fifty, sizeof(fifty));
    expect_ok(rd, "ReadData");
    assert_int_equal(rd.value, 50);
  }

  /* Start it: sync on a thread of its own, async from here. */
  struct job j;
  memset(&j, 0, sizeof(j));
  j.stage = st;
  pthread_mutex_init(&j.lock, NULL);
  pthread_cond_init(&j.cond, NULL);
  pthread_t thread;
  memset(&thread, 0, sizeof(thread));
  size_t from = mark();
  if (m == SYNC) {
    assert_int_equal(pthread_create(&thread, NULL, job_thread, &j), 0);
  } else {
    BOOL ok = FALSE;
    static char buf[4096];
    SetLastError(0xdeadbeef);
    switch (st) {
    case AT_CONNECT:
    case AT_TLS:
      ok = WinHttpSendRequest(T.r, NULL, 0, NULL, 0, 0, 0);
      break;
    case AT_SEND:
      ok = WinHttpSendRequest(T.r, NULL, 0, big, BIG_BODY, BIG_BODY, 0);
      break;
    case AT_WRITE:
      ok = WinHttpWriteData(T.r, big, BIG_BODY, NULL);
      break;
    case AT_HEADERS:
      ok = WinHttpReceiveResponse(T.r, NULL);
      break;
    case AT_BODY:
      ok = WinHttpReadData(T.r, buf, sizeof(buf), NULL);
      break;
    }
    if (!ok)
      print_error("%s: the call failed at once: %lu\n", name, (unsigned long)GetLastError());
    assert_true(ok);
  }

  /* Wait until it is under way. */
  switch (st) {
  case AT_CONNECT:
    assert_true(wait_status(T.r, ST(CONNECTING_TO_SERVER), 1));
    break;
  case AT_TLS:
    afd = accept_and_read(lfd, some_bytes);
    break;
  case AT_SEND:
    assert_true(wait_status(T.r, ST(SENDING_REQUEST), 1));
    break;
  case AT_WRITE:
    afd = accept_and_read(lfd, head_and_body);
    break;
  case AT_HEADERS:
    assert_true(wait_status(T.r, ST(RECEIVING_RESPONSE), 1));
    break;
  case AT_BODY:
    if (m == SYNC) {
      /* No notification marks a synchronous read waiting for the body:
       * wait until the thread is blocked in the engine's poll(). */
      pthread_mutex_lock(&j.lock);
      while (!j.started)
        pthread_cond_wait(&j.cond, &j.lock);
      long tid = j.tid;
      pthread_mutex_unlock(&j.lock);
      if (!wait_blocked(tid))
        print_message("[ INFO     ] %s (sync): cannot see the reader block (/proc)\n", name);
    }
    break;
  }

  /* Cancel. */
  assert_true(WinHttpCloseHandle(T.r));
  struct res out;
  if (m == SYNC) {
    assert_int_equal(pthread_join(thread, NULL), 0);
    out = j.out;
  } else {
    out = complete(from, TRUE, 0, 0);
  }
  pthread_mutex_destroy(&j.lock);
  pthread_cond_destroy(&j.cond);
  close_request(true);
  close_parents();
  if (afd >= 0)
    close(afd);
  for (int i = 0; i < nfill; i++)
    close(fill[i]);
  if (lfd >= 0)
    close(lfd);
  if (m == SYNC && st == AT_BODY && !out.ok && out.err == ERROR_INVALID_HANDLE) {
    print_message("[ INFO     ] %s (sync): the close came before ReadData began; again\n", name);
    return false;
  }
  expect_fail(out, api_of(st), ERROR_WINHTTP_OPERATION_CANCELLED, name);
  check_all(name, want, nwant, NULL);
  return true;
}

static void cancel(enum mode m, enum stage st, const char *name, const struct ev *want,
                   size_t nwant)
{
  for (int attempt = 0; attempt < 5; attempt++)
    if (cancel_once(m, st, name, want, nwant))
      return;
  fail_msg("%s: the close never landed inside the call", name);
}

static void scen_cancel_connect(enum mode m)
{
  static const struct ev want[] = {OPENED, RESOLVE, R(CONNECTING_TO_SERVER), RA(REQUEST_ERROR),
                                   CLOSED};
  cancel(m, AT_CONNECT, "cancel while connecting", want, N(want));
}

static void scen_cancel_tls(enum mode m)
{
  static const struct ev want[] = {OPENED, RESOLVE, R(CONNECTING_TO_SERVER),
                                   RO(CONNECTED_TO_SERVER), RA(REQUEST_ERROR), TEARDOWN, CLOSED};
  cancel(m, AT_TLS, "cancel in the TLS handshake", want, N(want));
}

static void scen_cancel_send(enum mode m)
{
  static const struct ev want[] = {OPENED, CONNECT, R(SENDING_REQUEST), RA(REQUEST_ERROR),
                                   TEARDOWN, CLOSED};
  cancel(m, AT_SEND, "cancel while sending", want, N(want));
}

static void scen_cancel_write(enum mode m)
{
  static const struct ev want[] = {OPENED, CONNECT, SEND_OK, RA(REQUEST_ERROR), TEARDOWN, CLOSED};
  cancel(m, AT_WRITE, "cancel in WriteData", want, N(want));
}

static void scen_cancel_headers(enum mode m)
{
  static const struct ev want[] = {OPENED, CONNECT, SEND_OK, R(RECEIVING_RESPONSE),
                                   RA(REQUEST_ERROR), TEARDOWN, CLOSED};
  cancel(m, AT_HEADERS, "cancel waiting for headers", want, N(want));
}

static void scen_cancel_body(enum mode m)
{
  static const struct ev want[] = {OPENED, CONNECT, SEND_OK, HEADERS,
                                   RO(RECEIVING_RESPONSE), RO(RESPONSE_RECEIVED),
                                   RA(READ_COMPLETE), RO(RECEIVING_RESPONSE),
                                   RO(RESPONSE_RECEIVED), RA(REQUEST_ERROR), TEARDOWN, CLOSED};
  cancel(m, AT_BODY, "cancel reading the body", want, N(want));
}

/* --- calls from inside callbacks ---------------------------------------------------------------- */

/* WinHttpCloseHandle from the RESPONSE_RECEIVED notification, inside
 * ReceiveResponse (C6, C7): the receive may still complete (HEADERS_AVAILABLE)
 * or end cancelled; then HANDLE_CLOSING, once, last. */
static void scen_close_in_info(enum mode m)
{
  static const struct ev want[] = {OPENED, CONNECT, SEND_OK, R(RECEIVING_RESPONSE),
                                   R(RESPONSE_RECEIVED),
                                   RA2(HEADERS_AVAILABLE, REQUEST_ERROR), CLOSED};
  begin(m);
  open3(wh_peer_port(&fault), L"GET", L"/ok?n=100", 0);
  expect_ok(op_send(NULL, 0, 0), "SendRequest");
  set_chain(CH_CLOSE, 0, ST(RESPONSE_RECEIVED));
  struct res x = op_receive();
  if (!x.ok) {
    if (x.err != ERROR_WINHTTP_OPERATION_CANCELLED)
      print_error("ReceiveResponse: %lu\n", (unsigned long)x.err);
    assert_int_equal(x.err, ERROR_WINHTTP_OPERATION_CANCELLED);
    if (m == ASYNC)
      assert_int_equal(x.api, API_RECEIVE_RESPONSE);
  }
  close_request(true);
  pthread_mutex_lock(&T.lock);
  bool closed = T.closed_in_cb;
  BOOL ok = T.close_ok;
  pthread_mutex_unlock(&T.lock);
  assert_true(closed);
  assert_true(ok);
  close_parents();
  check_all("close from RESPONSE_RECEIVED", want, N(want), NULL);
}

/* WinHttpCloseHandle at the end of SendRequest: from SENDREQUEST_COMPLETE
 * (async, a completion callback, C8) or REQUEST_SENT (sync, inside the
 * call). No operation is left, so nothing but HANDLE_CLOSING follows. */
static void scen_close_at_send_end(enum mode m)
{
  static const struct ev want[] = {OPENED, CONNECT, SEND_OK, CLOSED};
  begin(m);
  open3(wh_peer_port(&fault), L"GET", L"/ok?n=100", 0);
  set_chain(CH_CLOSE, 0, m == ASYNC ? ST(SENDREQUEST_COMPLETE) : ST(REQUEST_SENT));
  struct res x = op_send(NULL, 0, 0);
  if (m == SYNC && !x.ok)
    assert_int_equal(x.err, ERROR_WINHTTP_OPERATION_CANCELLED);
  if (m == ASYNC)
    expect_ok(x, "SendRequest");
  close_request(true);
  pthread_mutex_lock(&T.lock);
  BOOL ok = T.close_ok;
  pthread_mutex_unlock(&T.lock);
  assert_true(ok);
  close_parents();
  check_all("close from the end of SendRequest", want, N(want), NULL);
}

/* The whole POST driven from the callbacks (async): WriteData from
 * SENDREQUEST_COMPLETE, ReceiveResponse from WRITE_COMPLETE (§3.5),
 * QueryDataAvailable from HEADERS_AVAILABLE and READ_COMPLETE, ReadData from
 * DATA_AVAILABLE. Sync: the same exchange from the test thread, while the
 * operation in progress, started again from its own informational callback
 * (SendRequest from REQUEST_SENT, ReadData from RESPONSE_RECEIVED inside
 * ReceiveResponse), is refused (C9) and changes nothing. The table is
 * POST's. */
static void scen_calls_in_callbacks(enum mode m)
{
  static const struct ev want[] = {OPENED, CONNECT, SEND_OK, RA(WRITE_COMPLETE), HEADERS,
                                   READ_ONE, AT_END, CLOSED};
  static char data[] = "hello world";
  begin(m);
  open3(wh_peer_port(&fault), L"POST", L"/echo", 0);
  if (m == ASYNC) {
    set_chain(CH_WRITE_ON_SRC | CH_RECV_ON_WC | CH_READ, 0, 0);
    SetLastError(0xdeadbeef);
    assert_true(WinHttpSendRequest(T.r, NULL, 0, data, 5, 11, 0));
    assert_true(wait_done());
    pthread_mutex_lock(&T.lock);
    T.body[T.body_len < sizeof(T.body) ? T.body_len : sizeof(T.body) - 1] = '\0';
    bool echoed = strstr(T.body, "\r\n\r\nhello world") != NULL;
    pthread_mutex_unlock(&T.lock);
    assert_true(echoed);
  } else {
    set_chain(CH_REFUSE, 0, 0);
    expect_ok(op_send(data, 5, 11), "SendRequest");
    expect_ok(op_write(data + 5, 6), "WriteData");
    expect_ok(op_receive(), "ReceiveResponse");
    expect_echoed_hello();
  }
  close_all();
  check_all("calls from callbacks", want, N(want), NULL);
}

/* §3.5: ReceiveResponse issued from inside REQUEST_SENT must work (async);
 * HEADERS_AVAILABLE then comes from a thread other than the caller's.
 * Windows' tests do not say whether the response's RECEIVING_RESPONSE and
 * RESPONSE_RECEIVED come before or after SENDREQUEST_COMPLETE: either is
 * accepted, each exactly once. */
static void scen_receive_in_request_sent(enum mode m)
{
  static const struct ev want[] = {
      OPENED, CONNECT, SENT, RO(RECEIVING_RESPONSE), RO(RESPONSE_RECEIVED),
      RA(SENDREQUEST_COMPLETE), RO(RECEIVING_RESPONSE), RO(RESPONSE_RECEIVED),
      RA(HEADERS_AVAILABLE), READ_ONE, AT_END, CLOSED};
  assert_int_equal(m, ASYNC);
  begin(m);
  open3(wh_peer_port(&fault), L"GET", L"/ok?n=100", 0);
  set_chain(CH_RECV_ON_SENT | CH_READ, 0, 0);
  assert_true(WinHttpSendRequest(T.r, NULL, 0, NULL, 0, 0, 0));
  assert_true(wait_done());
  close_all();
  pthread_mutex_lock(&T.lock);
  bool failed = T.nested_failed;
  DWORD err = T.nested_err;
  bool headers_on_main = false;
  for (size_t i = 0; i < T.n; i++)
    if (T.e[i].st == ST(HEADERS_AVAILABLE) && T.e[i].main_thread)
      headers_on_main = true;
  pthread_mutex_unlock(&T.lock);
  if (failed)
    print_error("ReceiveResponse from REQUEST_SENT failed: %lu\n", (unsigned long)err);
  check_all("ReceiveResponse from REQUEST_SENT", want, N(want), NULL);
  assert_false(failed);
  assert_int_equal(count(T.r, ST(RECEIVING_RESPONSE)), 1);
  assert_int_equal(count(T.r, ST(RESPONSE_RECEIVED)), 1);
  assert_false(headers_on_main);
}

/* An already-buffered 5-byte body read one byte at a time from the
 * callbacks (async): the reads complete inline, nested at most 3 deep
 * (test_recursion: at least 2), the callbacks never overlap, and the order
 * is exactly the table's. Sync: the same reads from the test thread. */
static void scen_nested_inline(enum mode m)
{
  static const struct ev want[] = {OPENED,   CONNECT,  SEND_OK,  HEADERS, READ_ONE, READ_ONE,
                                   READ_ONE, READ_ONE, READ_ONE, AT_END,  CLOSED};
  begin(m);
  open3(wh_peer_port(&fault), L"GET", L"/ok?n=5", 0);
  expect_ok(op_send(NULL, 0, 0), "SendRequest");
  expect_ok(op_receive(), "ReceiveResponse");
  char body[16];
  size_t n;
  if (m == ASYNC) {
    set_chain(CH_READ, 1, 0);
    assert_true(WinHttpQueryDataAvailable(T.r, NULL));
    assert_true(wait_done());
    pthread_mutex_lock(&T.lock);
    n = T.body_len;
    memcpy(body, T.body, n < sizeof(body) ? n : sizeof(body));
    pthread_mutex_unlock(&T.lock);
  } else {
    n = drain(body, sizeof(body), 1);
  }
  if (n != 5) {
    print_error("read %zu bytes of 5\n", n);
    dump_actual();
  }
  assert_int_equal(n, 5);
  assert_memory_equal(body, "abcde", 5);
  close_all();
  check_all("nested inline completions", want, N(want), NULL);
  if (m == ASYNC) {
    pthread_mutex_lock(&T.lock);
    int depth = T.max_depth;
    pthread_mutex_unlock(&T.lock);
    assert_true(depth >= 2);
  }
}

/* --- registration ---------------------------------------------------------------------------------- */

#define BOTH(name)                                                                            \
  static void test_##name##_sync(void **state)                                                \
  {                                                                                           \
    (void)state;                                                                              \
    scen_##name(SYNC);                                                                        \
  }                                                                                           \
  static void test_##name##_async(void **state)                                               \
  {                                                                                           \
    (void)state;                                                                              \
    scen_##name(ASYNC);                                                                       \
  }

BOTH(get)
BOTH(post)
BOTH(redirect)
BOTH(keepalive)
BOTH(204)
BOTH(head)
BOTH(refused)
BOTH(tls_failure)
BOTH(timeout)
BOTH(cancel_connect)
BOTH(cancel_tls)
BOTH(cancel_send)
BOTH(cancel_write)
BOTH(cancel_headers)
BOTH(cancel_body)
BOTH(close_in_info)
BOTH(close_at_send_end)
BOTH(calls_in_callbacks)
BOTH(nested_inline)

static void test_receive_in_request_sent_async(void **state)
{
  (void)state;
  scen_receive_in_request_sent(ASYNC);
}

static int setup(void **state)
{
  (void)state;
  main_thread = pthread_self();
  test_thread = true;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&T.lock, NULL);
  pthread_cond_init(&T.cond, &ca);
  pthread_condattr_destroy(&ca);
  big = calloc(1, BIG_BODY);
  if (!big)
    return -1;
  if (wh_peer_start_fault(&fault) != 0)
    return -1;
  if (wh_peer_start_fault_tls(&fault_tls, WH_CERT_UNKNOWN_CA) != 0)
    return -1;
  /* Trust the test CA (not the one that signed the fault server's
   * certificate) before the first TLS request of the process. */
  return setenv("SSL_CERT_FILE", wh_peer_ca_file(&fault_tls), 1) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  wh_pool_clear();
  wh_peer_stop(&fault_tls);
  wh_peer_stop(&fault);
  free(big);
  big = NULL;
  return 0;
}

/* After a failed test: close what it left open, so that its callbacks
 * cannot run into the next test. */
static int cleanup(void **state)
{
  (void)state;
  pthread_mutex_lock(&T.lock);
  HINTERNET hs[4] = {T.old, T.r, T.c, T.s};
  T.chain = 0;
  pthread_mutex_unlock(&T.lock);
  for (int i = 0; i < 4; i++)
    if (hs[i] && count(hs[i], ST(HANDLE_CLOSING)) == 0 && WinHttpCloseHandle(hs[i]))
      wait_status(hs[i], ST(HANDLE_CLOSING), 1);
  return 0;
}

#define TEST(f) cmocka_unit_test_teardown(f, cleanup)
#define BOTH_TESTS(name) TEST(test_##name##_sync), TEST(test_##name##_async)

int main(void)
{
  const struct CMUnitTest tests[] = {
      BOTH_TESTS(get),
      BOTH_TESTS(post),
      BOTH_TESTS(redirect),
      BOTH_TESTS(keepalive),
      BOTH_TESTS(204),
      BOTH_TESTS(head),
      BOTH_TESTS(refused),
      BOTH_TESTS(tls_failure),
      BOTH_TESTS(timeout),
      BOTH_TESTS(cancel_connect),
      BOTH_TESTS(cancel_tls),
      BOTH_TESTS(cancel_send),
      BOTH_TESTS(cancel_write),
      BOTH_TESTS(cancel_headers),
      BOTH_TESTS(cancel_body),
      BOTH_TESTS(close_in_info),
      BOTH_TESTS(close_at_send_end),
      BOTH_TESTS(calls_in_callbacks),
      BOTH_TESTS(nested_inline),
      TEST(test_receive_in_request_sent_async),
  };
  if (getenv("WH_TEST_FILTER"))
    cmocka_set_test_filter(getenv("WH_TEST_FILTER"));
  if (getenv("WH_TEST_SKIP"))
    cmocka_set_skip_filter(getenv("WH_TEST_SKIP"));
  return cmocka_run_group_tests_name("order", tests, setup, teardown);
}

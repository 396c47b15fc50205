/* bench_ws's WinHTTP clients (see bench_ws.c): the asynchronous API on one
 * session, the synchronous API with a thread per WebSocket, and the idle
 * cost of WebSockets waiting in a receive. Only the public API is used, as
 * an application would. */
#define _GNU_SOURCE
#include "bench_ws.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>
#include <winhttp.h>

struct conn {
  HINTERNET ws;
  uint8_t *out, *in;
  size_t got;              /* echo bytes received so far */
  uint64_t seq;
  atomic_int pending;      /* completions the current message still needs */
  atomic_long done;        /* echoes received and checked */
  pthread_t thread;        /* winhttp-sync */
};

static const struct ws_opts *opt;
static HINTERNET g_connect;
static WINHTTP_WEB_SOCKET_BUFFER_TYPE msg_type, frag_type;
static atomic_int stopping;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long opened, stopped, cancelled; /* under |lock| */
static DWORD idle_error;               /* idle: the first failure (under |lock|) */

/* idle: WebSockets still to open, and their array. */
static struct conn *g_conns;
static atomic_long next_open;
static int idle_mode;

static void bump(long *counter)
{
  pthread_mutex_lock(&lock);
  (*counter)++;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
}

/* Waits until |*counter| reaches |n| (or, in the idle run, a failure). */
static void wait_count(long *counter, long n)
{
  pthread_mutex_lock(&lock);
  while (*counter < n && !idle_error)
    pthread_cond_wait(&cond, &lock);
  pthread_mutex_unlock(&lock);
}

/* In the idle run a failure to open (the descriptor limit, typically) is a
 * result to report; in the echo runs it ends the benchmark. */
static void fail(const char *what, DWORD err)
{
  if (!idle_mode)
    ws_die(what, err);
  pthread_mutex_lock(&lock);
  if (!idle_error)
    idle_error = err ? err : ERROR_WINHTTP_INTERNAL_ERROR;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
}

static void CALLBACK on_status(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len);

/* A session and its connect handle (which takes the session's callback
 * when it is made: async sessions get theirs first). */
static HINTERNET open_session(DWORD flags)
{
  WCHAR host[64];
  swprintf(host, 64, L"%s", opt->host);
  HINTERNET s = WinHttpOpen(L"bench_ws/1.0", WINHTTP_ACCESS_TYPE_NO_PROXY, WINHTTP_NO_PROXY_NAME,
                            WINHTTP_NO_PROXY_BYPASS, flags);
  if (!s)
    ws_die("WinHttpOpen", GetLastError());
  /* The same buffer sizes as the libwebsockets client gets. */
  DWORD buf = (DWORD)opt->buffer;
  if (!WinHttpSetOption(s, WINHTTP_OPTION_WEB_SOCKET_RECEIVE_BUFFER_SIZE, &buf, sizeof(buf)) ||
      !WinHttpSetOption(s, WINHTTP_OPTION_WEB_SOCKET_SEND_BUFFER_SIZE, &buf, sizeof(buf)))
    ws_die("WEB_SOCKET_*_BUFFER_SIZE", GetLastError());
  if ((flags & WINHTTP_FLAG_ASYNC) &&
      WinHttpSetStatusCallback(s, on_status, WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS, 0) ==
          WINHTTP_INVALID_STATUS_CALLBACK)
    ws_die("WinHttpSetStatusCallback", GetLastError());
  g_connect = WinHttpConnect(s, host, (INTERNET_PORT)opt->port, 0);
  if (!g_connect)
    ws_die("WinHttpConnect", GetLastError());
  return s;
}

static void alloc_conns(struct conn *c, long n)
{
  for (long i = 0; i < n; i++) {
    c[i].out = malloc(opt->size);
    c[i].in = malloc(opt->size);
    if (!c[i].out || !c[i].in)
      ws_die("malloc", opt->size);
    ws_fill(c[i].out, opt->size, (unsigned)i);
  }
}

static void set_types(void)
{
  msg_type = opt->binary ? WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE
                         : WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE;
  frag_type = opt->binary ? WINHTTP_WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE
                          : WINHTTP_WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE;
}

/* --- asynchronous ---------------------------------------------------------------------- */

static void upgrade_start(struct conn *c)
{
  HINTERNET r = WinHttpOpenRequest(g_connect, L"GET", L"/", NULL, WINHTTP_NO_REFERER,
                                   WINHTTP_DEFAULT_ACCEPT_TYPES, 0);
  if (!r) {
    fail("WinHttpOpenRequest", GetLastError());
    return;
  }
  if (!WinHttpSetOption(r, WINHTTP_OPTION_UPGRADE_TO_WEB_SOCKET, NULL, 0))
    ws_die("UPGRADE_TO_WEB_SOCKET", GetLastError());
  if (!WinHttpSendRequest(r, WINHTTP_NO_ADDITIONAL_HEADERS, 0, WINHTTP_NO_REQUEST_DATA, 0, 0,
                          (DWORD_PTR)c)) {
    fail("WinHttpSendRequest", GetLastError());
    WinHttpCloseHandle(r);
  }
}

/* idle: the next WebSocket to open, if any (keeps --window upgrades in
 * flight). */
static void open_next(void)
{
  long i = atomic_fetch_add(&next_open, 1);
  if (i < opt->count)
    upgrade_start(&g_conns[i]);
}

static void receive(struct conn *c, size_t off)
{
  DWORD n;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  DWORD err = WinHttpWebSocketReceive(c->ws, c->in + off, (DWORD)(opt->size - off), &n, &t);
  if (err != ERROR_SUCCESS)
    fail("WinHttpWebSocketReceive", err);
}

/* HEADERS_AVAILABLE on the upgrade request: 101, then the WebSocket. */
static void upgraded(struct conn *c, HINTERNET req)
{
  DWORD code = 0, size = sizeof(code);
  if (!WinHttpQueryHeaders(req, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                           WINHTTP_HEADER_NAME_BY_INDEX, &code, &size, WINHTTP_NO_HEADER_INDEX) ||
      code != 101)
    ws_die("status 101", code);
  HINTERNET ws = WinHttpWebSocketCompleteUpgrade(req, (DWORD_PTR)c);
  DWORD err = ws ? ERROR_SUCCESS : GetLastError();
  WinHttpCloseHandle(req);
  if (!ws) {
    fail("WinHttpWebSocketCompleteUpgrade", err);
    return;
  }
  c->ws = ws;
  if (idle_mode) {
    receive(c, 0); /* waits: the server sends nothing unasked */
    open_next();
  }
  bump(&opened);
}

/* The next message of |c|'s chain: the receive for its echo, then the
 * send. Called again when both have completed. */
static void message_next(struct conn *c)
{
  if (atomic_load(&stopping) || (opt->messages && (long)c->seq >= opt->messages)) {
    bump(&stopped);
    return;
  }
  ws_stamp(c->out, opt->size, ++c->seq);
  c->got = 0;
  atomic_store(&c->pending, 2);
  receive(c, 0);
  DWORD err = WinHttpWebSocketSend(c->ws, msg_type, c->out, (DWORD)opt->size);
  if (err != ERROR_SUCCESS)
    ws_die("WinHttpWebSocketSend", err);
}

/* The send and the echo complete in either order; the second starts the
 * next message (the send buffer is the caller's until WRITE_COMPLETE). */
static void one_done(struct conn *c)
{
  if (atomic_fetch_sub(&c->pending, 1) == 1)
    message_next(c);
}

static void on_read(struct conn *c, const WINHTTP_WEB_SOCKET_STATUS *st)
{
  c->got += st->dwBytesTransferred;
  if (st->eBufferType == frag_type) {
    if (c->got >= opt->size)
      ws_die("echo longer than the message", c->got);
    receive(c, c->got);
    return;
  }
  if (st->eBufferType != msg_type)
    ws_die("echo buffer type", st->eBufferType);
  if (c->got != opt->size)
    ws_die("echo length", c->got);
  if (memcmp(c->in, c->out, opt->size) != 0)
    ws_die("echo content", c->seq);
  atomic_fetch_add_explicit(&c->done, 1, memory_order_relaxed);
  one_done(c);
}

static void CALLBACK on_status(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  (void)len;
  struct conn *c = (struct conn *)ctx;
  switch (status) {
  case WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE:
    if (!WinHttpReceiveResponse(h, NULL))
      fail("WinHttpReceiveResponse", GetLastError());
    break;
  case WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE:
    upgraded(c, h);
    break;
  case WINHTTP_CALLBACK_STATUS_WRITE_COMPLETE: {
    const WINHTTP_WEB_SOCKET_STATUS *st = info;
    if (st->dwBytesTransferred != opt->size)
      ws_die("WRITE_COMPLETE length", st->dwBytesTransferred);
    one_done(c);
    break;
  }
  case WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
    on_read(c, info);
    break;
  case WINHTTP_CALLBACK_STATUS_REQUEST_ERROR: {
    /* WINHTTP_WEB_SOCKET_ASYNC_RESULT on a WebSocket, WINHTTP_ASYNC_RESULT
     * on a request: both begin with the latter. */
    const WINHTTP_ASYNC_RESULT *r = info;
    if (idle_mode && atomic_load(&stopping) && r->dwError == ERROR_WINHTTP_OPERATION_CANCELLED) {
      bump(&cancelled); /* the pending receive of a WebSocket closed */
      break;
    }
    if (!idle_mode)
      fprintf(stderr, "bench_ws: request error api %lu error %u\n", (unsigned long)r->dwResult,
              r->dwError);
    fail("asynchronous operation", r->dwError);
    break;
  }
  default:
    break;
  }
}

int ws_run_winhttp_async(const struct ws_opts *o, struct ws_result *r)
{
  opt = o;
  set_types();
  HINTERNET s = open_session(WINHTTP_FLAG_ASYNC);
  struct conn *c = calloc((size_t)o->sockets, sizeof(*c));
  if (!c)
    ws_die("calloc", 0);
  alloc_conns(c, o->sockets);
  for (int i = 0; i < o->sockets; i++)
    upgrade_start(&c[i]);
  wait_count(&opened, o->sockets);

  struct ws_clock clk;
  ws_clock_start(&clk, o->seconds);
  for (int i = 0; i < o->sockets; i++)
    message_next(&c[i]);
  /* The run's length; the chains run on the library's threads. */
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += (time_t)o->seconds;
  until.tv_nsec += (long)((o->seconds - (double)(time_t)o->seconds) * 1e9);
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  if (o->messages)
    wait_count(&stopped, o->sockets);
  else
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
      ;
  long total = 0;
  for (int i = 0; i < o->sockets; i++)
    total += atomic_load_explicit(&c[i].done, memory_order_relaxed);
  ws_clock_stop(&clk, total, r);
  atomic_store(&stopping, 1);
  wait_count(&stopped, o->sockets);
  for (int i = 0; i < o->sockets; i++)
    WinHttpCloseHandle(c[i].ws);
  WinHttpCloseHandle(g_connect);
  WinHttpCloseHandle(s);
  return 0;
}

/* --- synchronous, a thread per WebSocket ----------------------------------------------- */

static int go; /* under |lock| */

static void *sync_loop(void *p)
{
  struct conn *c = p;
  pthread_mutex_lock(&lock);
  while (!go)
    pthread_cond_wait(&cond, &lock);
  pthread_mutex_unlock(&lock);
  while (!atomic_load(&stopping) && (!opt->messages || (long)c->seq < opt->messages)) {
    ws_stamp(c->out, opt->size, ++c->seq);
    DWORD err = WinHttpWebSocketSend(c->ws, msg_type, c->out, (DWORD)opt->size);
    if (err != ERROR_SUCCESS)
      ws_die("WinHttpWebSocketSend", err);
    size_t got = 0;
    for (;;) {
      DWORD n = 0;
      WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
      err = WinHttpWebSocketReceive(c->ws, c->in + got, (DWORD)(opt->size - got), &n, &t);
      if (err != ERROR_SUCCESS)
        ws_die("WinHttpWebSocketReceive", err);
      got += n;
      if (t == frag_type && got < opt->size)
        continue;
      if (t != msg_type || got != opt->size)
        ws_die("echo type or length", got);
      break;
    }
    if (memcmp(c->in, c->out, opt->size) != 0)
      ws_die("echo content", c->seq);
    atomic_fetch_add_explicit(&c->done, 1, memory_order_relaxed);
  }
  return NULL;
}

static HINTERNET upgrade_sync(void)
{
  HINTERNET r = WinHttpOpenRequest(g_connect, L"GET", L"/", NULL, WINHTTP_NO_REFERER,
                                   WINHTTP_DEFAULT_ACCEPT_TYPES, 0);
  DWORD code = 0, size = sizeof(code);
  if (!r || !WinHttpSetOption(r, WINHTTP_OPTION_UPGRADE_TO_WEB_SOCKET, NULL, 0) ||
      !WinHttpSendRequest(r, WINHTTP_NO_ADDITIONAL_HEADERS, 0, WINHTTP_NO_REQUEST_DATA, 0, 0, 0) ||
      !WinHttpReceiveResponse(r, NULL) ||
      !WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                           WINHTTP_HEADER_NAME_BY_INDEX, &code, &size, WINHTTP_NO_HEADER_INDEX) ||
      code != 101)
    ws_die("upgrade", code ? code : GetLastError());
  HINTERNET ws = WinHttpWebSocketCompleteUpgrade(r, 0);
  if (!ws)
    ws_die("WinHttpWebSocketCompleteUpgrade", GetLastError());
  WinHttpCloseHandle(r);
  return ws;
}

int ws_run_winhttp_sync(const struct ws_opts *o, struct ws_result *r)
{
  opt = o;
  set_types();
  HINTERNET s = open_session(0);
  struct conn *c = calloc((size_t)o->sockets, sizeof(*c));
  if (!c)
    ws_die("calloc", 0);
  alloc_conns(c, o->sockets);
  for (int i = 0; i < o->sockets; i++) {
    c[i].ws = upgrade_sync();
    if (pthread_create(&c[i].thread, NULL, sync_loop, &c[i]) != 0)
      ws_die("pthread_create", (unsigned long)i);
  }
  struct ws_clock clk;
  pthread_mutex_lock(&lock);
  ws_clock_start(&clk, o->seconds);
  go = 1;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
  struct timespec d = {(time_t)o->seconds,
                       (long)((o->seconds - (double)(time_t)o->seconds) * 1e9)};
  if (o->messages) {
    for (int i = 0; i < o->sockets; i++)
      pthread_join(c[i].thread, NULL);
  } else {
    while (nanosleep(&d, &d) != 0 && errno == EINTR)
      ;
  }
  long total = 0;
  for (int i = 0; i < o->sockets; i++)
    total += atomic_load_explicit(&c[i].done, memory_order_relaxed);
  ws_clock_stop(&clk, total, r);
  atomic_store(&stopping, 1);
  for (int i = 0; i < o->sockets; i++) {
    if (!o->messages)
      pthread_join(c[i].thread, NULL);
    WinHttpCloseHandle(c[i].ws);
  }
  WinHttpCloseHandle(g_connect);
  WinHttpCloseHandle(s);
  return 0;
}

/* --- idle cost --------------------------------------------------------------------------- */

struct self {
  long rss_kib, threads, fds; /* fds: -1 when no descriptor was left to count them */
};

/* /proc/self/status, opened before the run: it is read again (pread at 0)
 * when the WebSockets may have taken every other descriptor. */
static int status_fd = -1;

static struct self self_now(void)
{
  struct self s = {0, 0, 0};
  char buf[4096];
  ssize_t n = pread(status_fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0)
    ws_die("/proc/self/status", (unsigned long)errno);
  buf[n] = '\0';
  const char *k = strstr(buf, "VmRSS:");
  s.rss_kib = k ? atol(k + 6) : 0;
  k = strstr(buf, "Threads:");
  s.threads = k ? atol(k + 8) : 0;
  DIR *d = opendir("/proc/self/fd");
  if (!d) {
    s.fds = -1;
    return s;
  }
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.')
      s.fds++;
  closedir(d);
  s.fds--; /* the directory's own descriptor */
  return s;
}

/* The last receives were handed to the loops just now; each gives its
 * read buffer back once it finds nothing to read. Reads the process until
 * its resident size holds still for three readings 20 ms apart (at most
 * two seconds): a measurement, not a synchronisation. */
static struct self self_settled(void)
{
  struct self prev = self_now();
  int still = 0;
  for (int i = 0; i < 100 && still < 3; i++) {
    struct timespec d = {0, 20 * 1000 * 1000};
    nanosleep(&d, NULL);
    struct self cur = self_now();
    still = cur.rss_kib == prev.rss_kib ? still + 1 : 0;
    prev = cur;
  }
  return prev;
}

int ws_run_idle(const struct ws_opts *o)
{
  idle_mode = 1;
  struct ws_opts small = *o;
  small.size = 16; /* each pending receive's buffer: the application's */
  small.binary = 0;
  opt = &small;
  set_types();
  /* Read now: glibc reads /sys for it, which needs a descriptor. */
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  /* As many descriptors as this process may have: the hard limit raised
   * to 65,536 where allowed (CAP_SYS_RESOURCE), the soft one to it. */
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 65536) {
    struct rlimit up = {65536, 65536};
    if (setrlimit(RLIMIT_NOFILE, &up) == 0)
      rl = up;
  }
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (status_fd < 0)
    ws_die("/proc/self/status", (unsigned long)errno);
  HINTERNET s = open_session(WINHTTP_FLAG_ASYNC);
  g_conns = calloc((size_t)o->count, sizeof(*g_conns));
  if (!g_conns)
    ws_die("calloc", 0);
  alloc_conns(g_conns, o->count);

  /* Warm-up: one WebSocket opened, waiting, closed (the loop threads
   * start, the allocator settles). */
  struct conn warm;
  memset(&warm, 0, sizeof(warm));
  alloc_conns(&warm, 1);
  atomic_store(&next_open, o->count); /* it opens no other */
  upgrade_start(&warm);
  wait_count(&opened, 1);
  if (idle_error)
    ws_die("warm-up WebSocket", idle_error);
  atomic_store(&stopping, 1);
  WinHttpCloseHandle(warm.ws);
  wait_count(&cancelled, 1);
  atomic_store(&stopping, 0);
  pthread_mutex_lock(&lock);
  opened = cancelled = 0;
  pthread_mutex_unlock(&lock);
  struct self base = self_settled();

  double t0 = ws_now();
  long window = o->window < o->count ? o->window : o->count;
  atomic_store(&next_open, window);
  for (long i = 0; i < window; i++)
    upgrade_start(&g_conns[i]);
  wait_count(&opened, o->count);
  double t1 = ws_now();
  pthread_mutex_lock(&lock);
  DWORD err = idle_error;
  long got = opened;
  pthread_mutex_unlock(&lock);
  struct self peak = self_settled();
  if (err) {
    /* Not every WebSocket could be opened (the descriptor limit,
     * typically): what those that were cost, and why it stopped. The
     * process ends here, its handles with it. */
    printf("wsidle count=%ld error=%lu opened=%ld rss_base_kib=%ld rss_peak_kib=%ld "
           "bytes_per_ws=%.0f threads_peak=%ld cores=%ld fd_limit=%lu fds_base=%ld\n",
           o->count, (unsigned long)err, got, base.rss_kib, peak.rss_kib,
           got ? (double)(peak.rss_kib - base.rss_kib) * 1024.0 / (double)got : 0.0,
           peak.threads, cores, (unsigned long)rl.rlim_cur, base.fds);
    fflush(stdout);
    _exit(0);
  }

  /* Closing each handle cancels its receive (REQUEST_ERROR,
   * OPERATION_CANCELLED): every WebSocket was alive and waiting. */
  atomic_store(&stopping, 1);
  for (long i = 0; i < o->count; i++)
    WinHttpCloseHandle(g_conns[i].ws);
  wait_count(&cancelled, o->count);
  double t2 = ws_now();
  struct self end = self_now();
  WinHttpCloseHandle(g_connect);
  WinHttpCloseHandle(s);
  printf("wsidle count=%ld rss_base_kib=%ld rss_peak_kib=%ld bytes_per_ws=%.0f threads_peak=%ld "
         "threads_end=%ld fds_per_ws=%.2f cores=%ld fd_limit=%lu seconds_open=%.3f "
         "seconds_close=%.3f\n",
         o->count, base.rss_kib, peak.rss_kib,
         (double)(peak.rss_kib - base.rss_kib) * 1024.0 / (double)o->count, peak.threads,
         end.threads, (double)(peak.fds - base.fds) / (double)o->count, cores,
         (unsigned long)rl.rlim_cur, t1 - t0, t2 - t1);
  return 0;
}

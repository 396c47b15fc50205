/* bench_scale: N requests in flight at once through WinHTTP's asynchronous
 * API against bench/slowserver.py, which holds every request until told to
 * answer (issue 4 §4: thread count ≤ cores + 2, resident memory per
 * in-flight request ≤ 16 KiB).
 *
 *   bench_scale --port P --count N [--host 127.0.0.1] [--name NAME] [--idle]
 *
 * --name: WinHTTP connects to NAME (resolved by the library, e.g.
 * localhost) instead of the address, so the thread count includes name
 * resolution; /release still goes to --host.
 *
 * 1. One async session and connect handle; a first request (GET /release,
 *    answered at once) starts the loop threads and warms the allocator.
 *    Resident memory and thread count are read (/proc/self/status): base.
 * 2. N requests are opened and sent; each SENDREQUEST_COMPLETE calls
 *    ReceiveResponse, which waits: the server holds them all. When the N-th
 *    has done so, memory and threads are read again: peak. (The
 *    application's own state is ~150 bytes per request and is counted.)
 * 3. GET /release on a plain socket: the server answers every held request
 *    and says how many it held (must be N). Every response is checked
 *    (status 200, 100-byte body), every handle closed.
 *
 * Prints one "scale" line: count, base and peak RSS, bytes per request,
 * threads at peak and at the end, seconds to put all in flight and in all.
 *
 * --idle (issue 12 §3): the N requests go to /keep, which the server
 * answers with a kept-alive connection, so that once all are done and
 * their handles closed (HANDLE_CLOSING seen for each) the N connections
 * sit idle in WinHTTP's pool. The cost of one is measured as heap bytes
 * in use (mallinfo2) and as resident memory after malloc_trim, both
 * against the same readings taken before the N requests, divided by N;
 * the sockets the process holds are counted from /proc/self/fd, to show
 * the N connections are really pooled. Prints one "idle" line. (The
 * kernel's socket buffers are not in either figure.) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <dirent.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>
#include <winhttp.h>

struct req {
  char buf[112];
  unsigned got, expect; /* body bytes read, and expected */
  DWORD status;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long waiting, done, closed;

static void die(const char *what, unsigned long code)
{
  fprintf(stderr, "bench_scale: %s failed (%lu)\n", what, code);
  exit(1);
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmRSS in KiB and Threads from /proc/self/status. */
static void self_status(long *rss_kib, long *threads)
{
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  if (!f)
    die("/proc/self/status", 0);
  while (fgets(line, sizeof(line), f)) {
    if (!strncmp(line, "VmRSS:", 6))
      *rss_kib = atol(line + 6);
    else if (!strncmp(line, "Threads:", 8))
      *threads = atol(line + 8);
  }
  fclose(f);
}

static void bump(long *counter)
{
  pthread_mutex_lock(&lock);
  (*counter)++;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
}

static void wait_for(long *counter, long n)
{
  pthread_mutex_lock(&lock);
  while (*counter < n)
    pthread_cond_wait(&cond, &lock);
  pthread_mutex_unlock(&lock);
}

static void CALLBACK on_status(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  struct req *r = (struct req *)ctx;
  switch (status) {
  case WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE:
    if (!WinHttpReceiveResponse(h, NULL))
      die("WinHttpReceiveResponse", GetLastError());
    bump(&waiting);
    break;
  case WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE: {
    DWORD size = sizeof(r->status);
    if (!WinHttpQueryHeaders(h, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                             WINHTTP_HEADER_NAME_BY_INDEX, &r->status, &size,
                             WINHTTP_NO_HEADER_INDEX))
      die("WinHttpQueryHeaders", GetLastError());
    if (!WinHttpReadData(h, r->buf, sizeof(r->buf), NULL))
      die("WinHttpReadData", GetLastError());
    break;
  }
  case WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
    if (len == 0) {
      if (r->status != 200 || r->got != r->expect)
        die("response (status 200, 100 bytes)", r->status);
      WinHttpCloseHandle(h);
      bump(&done);
      break;
    }
    r->got += len;
    if (!WinHttpReadData(h, r->buf, sizeof(r->buf), NULL))
      die("WinHttpReadData", GetLastError());
    break;
  case WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING:
    bump(&closed);
    break;
  case WINHTTP_CALLBACK_STATUS_REQUEST_ERROR: {
    const WINHTTP_ASYNC_RESULT *res = info;
    fprintf(stderr, "bench_scale: request error api %lu error %u\n",
            (unsigned long)res->dwResult, res->dwError);
    exit(1);
  }
  default:
    break;
  }
}

static HINTERNET send_one(HINTERNET connect, const WCHAR *path, struct req *r)
{
  HINTERNET h = WinHttpOpenRequest(connect, L"GET", path, NULL, WINHTTP_NO_REFERER,
                                   WINHTTP_DEFAULT_ACCEPT_TYPES, 0);
  if (!h)
    die("WinHttpOpenRequest", GetLastError());
  DWORD_PTR ctx = (DWORD_PTR)r;
  if (!WinHttpSetOption(h, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx)))
    die("WinHttpSetOption", GetLastError());
  if (!WinHttpSendRequest(h, WINHTTP_NO_ADDITIONAL_HEADERS, 0, WINHTTP_NO_REQUEST_DATA, 0, 0,
                          ctx))
    die("WinHttpSendRequest", GetLastError());
  return h;
}

/* Sockets among the process's descriptors. */
static long count_sockets(void)
{
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    die("/proc/self/fd", 0);
  long n = 0;
  struct dirent *e;
  char path[300], link[64];
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
    ssize_t k = readlink(path, link, sizeof(link) - 1);
    if (k > 0) {
      link[k] = '\0';
      n += strncmp(link, "socket:", 7) == 0;
    }
  }
  closedir(d);
  return n;
}

/* Heap bytes in use and resident KiB, after giving free heap back. */
static void settled(size_t *heap, long *rss_kib)
{
  long threads;
  malloc_trim(0);
  *heap = mallinfo2().uordblks;
  self_status(rss_kib, &threads);
}

/* GET /release on a plain socket; returns how many requests the server held. */
static long release(const char *host, int port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, host, &sa.sin_addr);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
    die("connect for /release", 0);
  static const char req[] = "GET /release HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1))
    die("write /release", 0);
  char buf[512];
  size_t n = 0;
  ssize_t r;
  while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
    n += (size_t)r;
  buf[n] = '\0';
  close(fd);
  const char *k = strstr(buf, "released ");
  return k ? atol(k + 9) : -1;
}

int main(int argc, char **argv)
{
  const char *host = "127.0.0.1", *name = NULL;
  bool idle = false;
  int port = 0;
  long count = 1000;
  for (int i = 1; i < argc; i += 2) {
    if (!strcmp(argv[i], "--idle")) {
      idle = true;
      i--; /* no value */
    } else if (i + 1 >= argc)
      die("usage", 2);
    else if (!strcmp(argv[i], "--port"))
      port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--count"))
      count = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--host"))
      host = argv[i + 1];
    else if (!strcmp(argv[i], "--name"))
      name = argv[i + 1];
    else
      die("usage", 2);
  }
  if (port <= 0 || count <= 0)
    die("usage: --port P --count N", 2);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < (rlim_t)count + 64)
    die("descriptor limit (ulimit -Hn) below the count", (unsigned long)rl.rlim_cur);

  WCHAR whost[64];
  swprintf(whost, 64, L"%s", name ? name : host);
  HINTERNET session = WinHttpOpen(L"bench_scale/1.0", WINHTTP_ACCESS_TYPE_NO_PROXY,
                                  WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS,
                                  WINHTTP_FLAG_ASYNC);
  if (!session)
    die("WinHttpOpen", GetLastError());
  /* The slow server answers only when told: no timeout may fire while the
   * N requests wait, however long putting them all in flight takes. */
  if (!WinHttpSetTimeouts(session, 0, 0, 0, 0))
    die("WinHttpSetTimeouts", GetLastError());
  DWORD infinite = 0;
  WinHttpSetOption(session, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, &infinite,
                   sizeof(infinite));
  DWORD flags = WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS | (idle ? WINHTTP_CALLBACK_FLAG_HANDLES : 0);
  if (WinHttpSetStatusCallback(session, on_status, flags, 0) ==
      WINHTTP_INVALID_STATUS_CALLBACK)
    die("WinHttpSetStatusCallback", GetLastError());
  HINTERNET connect = WinHttpConnect(session, whost, (INTERNET_PORT)port, 0);
  if (!connect)
    die("WinHttpConnect", GetLastError());

  /* Warm-up: /release with nothing held answers at once ("released 0\n"). */
  struct req warm = {.expect = 11};
  send_one(connect, L"/release", &warm);
  wait_for(&done, 1);
  struct req *reqs = calloc((size_t)count, sizeof(*reqs));
  if (!reqs)
    die("calloc", 0);
  for (long i = 0; i < count; i++)
    reqs[i].expect = 100;
  long rss0 = 0, threads0 = 0, rss1 = 0, threads1 = 0, rss2 = 0, threads2 = 0;
  if (idle)
    wait_for(&closed, 1); /* the warm-up's handle */
  pthread_mutex_lock(&lock);
  waiting = done = closed = 0;
  pthread_mutex_unlock(&lock);
  size_t heap0 = 0;
  if (idle)
    settled(&heap0, &rss0);
  else
    self_status(&rss0, &threads0);
  long sockets0 = idle ? count_sockets() : 0;

  double t0 = now_s();
  for (long i = 0; i < count; i++)
    send_one(connect, idle ? L"/keep" : L"/held", &reqs[i]);
  wait_for(&waiting, count);
  double t1 = now_s();
  self_status(&rss1, &threads1);
  long held = release(host, port);
  if (held != count)
    die("server held count", (unsigned long)held);
  wait_for(&done, count);
  double t2 = now_s();
  self_status(&rss2, &threads2);
  if (idle) {
    wait_for(&closed, count);
    size_t heap1;
    long rss_idle;
    settled(&heap1, &rss_idle);
    long sockets = count_sockets() - sockets0;
    if (sockets < count)
      die("idle connections kept (sockets held < count)", (unsigned long)sockets);
    printf("idle count=%ld sockets=%ld heap_bytes_per_connection=%.0f "
           "rss_bytes_per_connection=%.0f rss_base_kib=%ld rss_idle_kib=%ld threads=%ld cores=%ld\n",
           count, sockets, ((double)heap1 - (double)heap0) / (double)count,
           (double)(rss_idle - rss0) * 1024.0 / (double)count, rss0, rss_idle, threads2,
           sysconf(_SC_NPROCESSORS_ONLN));
    WinHttpCloseHandle(connect);
    WinHttpCloseHandle(session);
    free(reqs);
    return 0;
  }
  WinHttpCloseHandle(connect);
  WinHttpCloseHandle(session);
  free(reqs);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  printf("scale%s count=%ld rss_base_kib=%ld rss_peak_kib=%ld bytes_per_request=%.0f "
         "threads_peak=%ld threads_end=%ld cores=%ld seconds_in_flight=%.3f "
         "seconds_total=%.3f\n",
         name ? "-name" : "", count, rss0, rss1, (double)(rss1 - rss0) * 1024.0 / (double)count,
         threads1, threads2, cores, t1 - t0, t2 - t0);
  return 0;
}

/* bench_async: N requests in flight (keep-alive GETs of a small file), for
 * a fixed time, through WinHTTP's asynchronous API or libcurl's multi
 * interface, in one binary so both see the same server in the same run
 * (issue 4 §4; ARCHITECTURE-NOTES §7).
 *
 *   bench_async --client winhttp|curl --host H --port P --path /100.bin
 *               [--https --cafile CA] [--http2] [--inflight 64] [--seconds 3]
 *               [--expect BYTES]
 *
 * WinHTTP: one async session and connect handle; each of the N chains runs
 * OpenRequest, SendRequest, then its callbacks (ReceiveResponse,
 * QueryDataAvailable, ReadData until 0), closes the request and starts the
 * next one from the callback. libcurl: N easy handles in one multi handle,
 * each re-added when it finishes. Both check every response: status 200
 * and, with --expect, the body length. With --http2 (HTTPS only) both speak
 * HTTP/2, every request a stream of one multiplexed connection: WinHTTP
 * through WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL, libcurl with
 * CURL_HTTP_VERSION_2TLS, CURLPIPE_MULTIPLEX and CURLOPT_PIPEWAIT. Prints one
 * "result" line. */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>
#include <winhttp.h>

struct options {
  const char *client, *host, *path, *cafile;
  int port, https, http2, inflight;
  double seconds;
};

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, unsigned long code)
{
  fprintf(stderr, "bench_async: %s failed (%lu)\n", what, code);
  exit(1);
}

/* --- WinHTTP --------------------------------------------------------------------------- */

struct chain {
  char buf[16384];
  size_t got;
};

static HINTERNET wh_connect;
static WCHAR wh_path[512];
static DWORD wh_flags;
static long wh_expect = -1; /* --expect: the body length every response must have */
static atomic_long wh_done;
static atomic_int wh_stop;
static atomic_int wh_live;
static pthread_mutex_t wh_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wh_cond = PTHREAD_COND_INITIALIZER;

static void start_chain(struct chain *c);

static void CALLBACK on_status(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  struct chain *c = (struct chain *)ctx;
  switch (status) {
  case WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE:
    if (!WinHttpReceiveResponse(h, NULL))
      die("WinHttpReceiveResponse", GetLastError());
    break;
  case WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE:
  case WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
    if (status == WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE) {
      DWORD code = 0, size = sizeof(code);
      if (!WinHttpQueryHeaders(h, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                               WINHTTP_HEADER_NAME_BY_INDEX, &code, &size,
                               WINHTTP_NO_HEADER_INDEX) || code != 200)
        die("status 200", code);
    }
    if (status == WINHTTP_CALLBACK_STATUS_READ_COMPLETE && len == 0) {
      if (wh_expect >= 0 && c->got != (size_t)wh_expect)
        die("body length", c->got);
      atomic_fetch_add(&wh_done, 1);
      WinHttpCloseHandle(h);
      start_chain(c);
      break;
    }
    if (status == WINHTTP_CALLBACK_STATUS_READ_COMPLETE)
      c->got += len;
    if (!WinHttpReadData(h, c->buf, sizeof(c->buf), NULL))
      die("WinHttpReadData", GetLastError());
    break;
  case WINHTTP_CALLBACK_STATUS_REQUEST_ERROR: {
    WINHTTP_ASYNC_RESULT *r = info;
    /* A benchmark with failing requests measures nothing: stop at once. */
    fprintf(stderr, "bench_async: request error api %lu error %u\n", (unsigned long)r->dwResult,
            r->dwError);
    exit(1);
  }
  default:
    break;
  }
}

static void start_chain(struct chain *c)
{
  if (atomic_load(&wh_stop)) {
    pthread_mutex_lock(&wh_lock);
    atomic_fetch_sub(&wh_live, 1);
    pthread_cond_broadcast(&wh_cond);
    pthread_mutex_unlock(&wh_lock);
    return;
  }
  c->got = 0;
  HINTERNET r = WinHttpOpenRequest(wh_connect, L"GET", wh_path, NULL, WINHTTP_NO_REFERER,
                                   WINHTTP_DEFAULT_ACCEPT_TYPES, wh_flags);
  if (!r)
    die("WinHttpOpenRequest", GetLastError());
  DWORD_PTR ctx = (DWORD_PTR)c;
  WinHttpSetOption(r, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx));
  WinHttpSetStatusCallback(r, on_status,
                           WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS, 0);
  if (!WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0))
    die("WinHttpSendRequest", GetLastError());
}

static long run_winhttp(const struct options *o, double *elapsed)
{
  WCHAR host[256];
  swprintf(host, 256, L"%s", o->host);
  swprintf(wh_path, 512, L"%s", o->path);
  wh_flags = o->https ? WINHTTP_FLAG_SECURE : 0;
  HINTERNET s = WinHttpOpen(L"bench_async/1.0", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL,
                            WINHTTP_FLAG_ASYNC);
  if (o->http2) {
    DWORD v = WINHTTP_PROTOCOL_FLAG_HTTP2;
    if (!WinHttpSetOption(s, WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL, &v, sizeof(v)))
      die("WinHttpSetOption(ENABLE_HTTP_PROTOCOL)", GetLastError());
  }
  wh_connect = WinHttpConnect(s, host, (INTERNET_PORT)o->port, 0);
  struct chain *chains = calloc((size_t)o->inflight, sizeof(*chains));
  double t0 = now_s();
  atomic_store(&wh_live, o->inflight);
  for (int i = 0; i < o->inflight; i++)
    start_chain(&chains[i]);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += (time_t)o->seconds;
  pthread_mutex_lock(&wh_lock);
  while (pthread_cond_timedwait(&wh_cond, &wh_lock, &until) == 0)
    ;
  atomic_store(&wh_stop, 1);
  long done = atomic_load(&wh_done);
  *elapsed = now_s() - t0;
  while (atomic_load(&wh_live) > 0)
    pthread_cond_wait(&wh_cond, &wh_lock);
  pthread_mutex_unlock(&wh_lock);
  return done;
}

/* --- libcurl multi --------------------------------------------------------------------- */

static size_t sink(char *p, size_t s, size_t n, void *u)
{
  (void)p, (void)u;
  return s * n;
}

static long run_curl(const struct options *o, double *elapsed)
{
  char url[600];
  snprintf(url, sizeof(url), "%s://%s:%d%s", o->https ? "https" : "http", o->host, o->port,
           o->path);
  CURLM *m = curl_multi_init();
  if (o->http2)
    curl_multi_setopt(m, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  CURL **e = calloc((size_t)o->inflight, sizeof(*e));
  for (int i = 0; i < o->inflight; i++) {
    e[i] = curl_easy_init();
    if (o->http2) {
      curl_easy_setopt(e[i], CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
      curl_easy_setopt(e[i], CURLOPT_PIPEWAIT, 1L);
    }
    curl_easy_setopt(e[i], CURLOPT_URL, url);
    curl_easy_setopt(e[i], CURLOPT_WRITEFUNCTION, sink);
    if (o->cafile)
      curl_easy_setopt(e[i], CURLOPT_CAINFO, o->cafile);
    curl_multi_add_handle(m, e[i]);
  }
  long done = 0;
  double t0 = now_s(), end = t0 + o->seconds;
  int running = 0;
  while (now_s() < end) {
    curl_multi_perform(m, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left))) {
      if (msg->msg != CURLMSG_DONE)
        continue;
      if (msg->data.result != CURLE_OK)
        die("curl transfer", (unsigned long)msg->data.result);
      long code = 0;
      curl_off_t got = 0;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
      curl_easy_getinfo(msg->easy_handle, CURLINFO_SIZE_DOWNLOAD_T, &got);
      if (code != 200)
        die("status 200", (unsigned long)code);
      if (wh_expect >= 0 && got != wh_expect)
        die("body length", (unsigned long)got);
      done++;
      CURL *h = msg->easy_handle;
      curl_multi_remove_handle(m, h);
      curl_multi_add_handle(m, h);
    }
    curl_multi_poll(m, NULL, 0, 100, NULL);
  }
  *elapsed = now_s() - t0;
  for (int i = 0; i < o->inflight; i++) {
    curl_multi_remove_handle(m, e[i]);
    curl_easy_cleanup(e[i]);
  }
  curl_multi_cleanup(m);
  free(e);
  return done;
}

int main(int argc, char **argv)
{
  struct options o = {"winhttp", "127.0.0.1", "/100.bin", NULL, 80, 0, 0, 64, 3.0};
  for (int i = 1; i < argc; i++) {
    const char *k = argv[i];
    if (!strcmp(k, "--https")) {
      o.https = 1;
      continue;
    }
    if (!strcmp(k, "--http2")) {
      o.http2 = 1;
      continue;
    }
    if (i + 1 >= argc)
      die("usage", 2);
    const char *v = argv[++i];
    if (!strcmp(k, "--client"))
      o.client = v;
    else if (!strcmp(k, "--host"))
      o.host = v;
    else if (!strcmp(k, "--port"))
      o.port = atoi(v);
    else if (!strcmp(k, "--path"))
      o.path = v;
    else if (!strcmp(k, "--cafile"))
      o.cafile = v;
    else if (!strcmp(k, "--inflight"))
      o.inflight = atoi(v);
    else if (!strcmp(k, "--expect"))
      wh_expect = atol(v);
    else if (!strcmp(k, "--seconds"))
      o.seconds = atof(v);
    else
      die("usage", 2);
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  double elapsed = 0, cpu0 = cpu_s();
  long done = !strcmp(o.client, "curl") ? run_curl(&o, &elapsed) : run_winhttp(&o, &elapsed);
  double cpu = cpu_s() - cpu0;
  printf("result mode=%s%d scheme=%s client=%s requests=%ld seconds=%.3f cpu_seconds=%.3f "
         "value=%.1f per_cpu_second=%.1f unit=req/s\n",
         o.http2 ? "h2async" : "async", o.inflight, o.https ? "https" : "http", o.client, done, elapsed, cpu,
         (double)done / elapsed, cpu > 0 ? (double)done / cpu : 0.0);
  return 0;
}

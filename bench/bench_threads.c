/* bench_threads: N threads of synchronous GETs sharing one WinHTTP session
 * and connect handle, for a fixed time: over HTTP/2 (--http2: every request
 * a stream of one shared connection, the threads taking turns driving it)
 * or over HTTP/1.1 (a keep-alive connection per thread, from the pool).
 * Issue 8 §4: HTTP/2 must not be slower than HTTP/1.1 here.
 *
 *   bench_threads --port P [--host H] [--path /100b] [--threads 8]
 *                 [--seconds 3] [--expect BYTES] [--http2]
 *
 * Each thread: OpenRequest, SendRequest, ReceiveResponse, the status
 * checked (200), QueryDataAvailable + ReadData until 0 with the length
 * checked, CloseHandle. HTTPS always (HTTP/2 is only spoken over TLS);
 * trust through SSL_CERT_FILE. Prints one "result" line. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>
#include <winhttp.h>

#include "bench_clock.h"

static HINTERNET connect_handle;
static WCHAR path[512];
static long expect = -1;
static double stop_at;
static atomic_long done;

static void die(const char *what, unsigned long code)
{
  fprintf(stderr, "bench_threads: %s failed (%lu)\n", what, code);
  exit(1);
}

static void one_get(char *buf, size_t cap)
{
  HINTERNET r = WinHttpOpenRequest(connect_handle, L"GET", path, NULL, WINHTTP_NO_REFERER,
                                   WINHTTP_DEFAULT_ACCEPT_TYPES, WINHTTP_FLAG_SECURE);
  if (!r)
    die("WinHttpOpenRequest", GetLastError());
  if (!WinHttpSendRequest(r, WINHTTP_NO_ADDITIONAL_HEADERS, 0, WINHTTP_NO_REQUEST_DATA, 0, 0, 0))
    die("WinHttpSendRequest", GetLastError());
  if (!WinHttpReceiveResponse(r, NULL))
    die("WinHttpReceiveResponse", GetLastError());
  DWORD status = 0, size = sizeof(status);
  if (!WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                           WINHTTP_HEADER_NAME_BY_INDEX, &status, &size, WINHTTP_NO_HEADER_INDEX) ||
      status != 200)
    die("status 200", status);
  long total = 0;
  for (;;) {
    DWORD avail = 0, got = 0;
    if (!WinHttpQueryDataAvailable(r, &avail))
      die("WinHttpQueryDataAvailable", GetLastError());
    if (avail == 0)
      break;
    if (!WinHttpReadData(r, buf, avail < cap ? avail : (DWORD)cap, &got))
      die("WinHttpReadData", GetLastError());
    if (got == 0)
      break;
    total += got;
  }
  if (expect >= 0 && total != expect)
    die("body length", (unsigned long)total);
  WinHttpCloseHandle(r);
}

static void *worker(void *arg)
{
  (void)arg;
  char buf[16384];
  one_get(buf, sizeof(buf)); /* warm-up: the connection (and the handshake) */
  while (clock_of(CLOCK_MONOTONIC) < stop_at) {
    one_get(buf, sizeof(buf));
    atomic_fetch_add(&done, 1);
  }
  return NULL;
}

int main(int argc, char **argv)
{
  const char *host = "127.0.0.1", *p = "/100b";
  int port = 0, threads = 8, http2 = 0;
  double seconds = 3;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--http2")) {
      http2 = 1;
      continue;
    }
    if (i + 1 >= argc)
      die("usage", 2);
    const char *v = argv[++i];
    if (!strcmp(argv[i - 1], "--host"))
      host = v;
    else if (!strcmp(argv[i - 1], "--port"))
      port = atoi(v);
    else if (!strcmp(argv[i - 1], "--path"))
      p = v;
    else if (!strcmp(argv[i - 1], "--threads"))
      threads = atoi(v);
    else if (!strcmp(argv[i - 1], "--seconds"))
      seconds = atof(v);
    else if (!strcmp(argv[i - 1], "--expect"))
      expect = atol(v);
    else
      die("usage", 2);
  }
  if (port <= 0 || threads < 1 || threads > 256)
    die("usage", 2);
  WCHAR whost[256];
  swprintf(whost, 256, L"%s", host);
  swprintf(path, 512, L"%s", p);
  HINTERNET s = WinHttpOpen(L"bench_threads/1.0", WINHTTP_ACCESS_TYPE_NO_PROXY,
                            WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS, 0);
  if (!s)
    die("WinHttpOpen", GetLastError());
  DWORD v = http2 ? WINHTTP_PROTOCOL_FLAG_HTTP2 : 0;
  if (!WinHttpSetOption(s, WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL, &v, sizeof(v)))
    die("WinHttpSetOption(ENABLE_HTTP_PROTOCOL)", GetLastError());
  connect_handle = WinHttpConnect(s, whost, (INTERNET_PORT)port, 0);
  if (!connect_handle)
    die("WinHttpConnect", GetLastError());
  pthread_t *t = calloc((size_t)threads, sizeof(*t));
  double cpu0 = clock_of(CLOCK_PROCESS_CPUTIME_ID), t0 = clock_of(CLOCK_MONOTONIC);
  stop_at = t0 + seconds;
  for (int i = 0; i < threads; i++)
    if (pthread_create(&t[i], NULL, worker, NULL) != 0)
      die("pthread_create", (unsigned long)i);
  for (int i = 0; i < threads; i++)
    pthread_join(t[i], NULL);
  double elapsed = clock_of(CLOCK_MONOTONIC) - t0;
  double cpu = clock_of(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  long n = atomic_load(&done);
  printf("result mode=threads%d scheme=https client=%s requests=%ld seconds=%.3f "
         "cpu_seconds=%.3f value=%.1f per_cpu_second=%.1f unit=req/s\n",
         threads, http2 ? "winhttp-h2" : "winhttp-h1", n, elapsed, cpu, (double)n / elapsed,
         cpu > 0 ? (double)n / cpu : 0.0);
  WinHttpCloseHandle(connect_handle);
  WinHttpCloseHandle(s);
  free(t);
  return 0;
}

/* bench_sync: the synchronous engine against libcurl's easy interface, in
 * one binary, on the same server and files (docs/PERFORMANCE.md,
 * ARCHITECTURE-NOTES §7; bench/run.sh drives it).
 *
 * Modes:
 *   get       sequential keep-alive GETs of a small file. WinHTTP: one session
 *             and one connect handle, a new request handle per GET (what
 *             WinHTTP applications do), status checked, body read with
 *             QueryDataAvailable + ReadData. libcurl: one easy handle reused,
 *             status checked, body counted by a write callback.
 *   download  repeated GETs of a large file into a sink. WinHTTP: ReadData
 *             with a 128 KiB buffer (--buffer; curl reads 100 KiB) until it
 *             reads 0 bytes. libcurl: a write callback that discards, with
 *             CURLOPT_BUFFERSIZE at 100 KiB as the curl tool sets it.
 *
 * A run lasts --seconds (default 3) or exactly --requests N, after --warmup
 * untimed requests (which open the kept-alive connection and, over HTTPS, do
 * the handshake). Every response is checked: status 200 and, with --expect,
 * the body length. One line on stdout, key=value pairs:
 *
 *   result mode=get scheme=http client=winhttp requests=N bytes=B
 *          seconds=S cpu_seconds=C value=X per_cpu_second=Y unit=req/s
 *
 * value is per wall-clock second; per_cpu_second is per second of this
 * process's own CPU time (user + system, CLOCK_PROCESS_CPUTIME_ID), which
 * measures the client's cost whatever else shares the machine. For download
 * the unit is MB/s with MB = 10^6 bytes.
 *
 * TLS trust: WinHTTP uses the system store, which honours SSL_CERT_FILE
 * (run.sh points it at the CA it generates); libcurl gets --cafile through
 * CURLOPT_CAINFO. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include <curl/curl.h>
#include <winhttp.h>

#include "bench_clock.h"
#include "bench_opts.h"

enum mode { MODE_GET, MODE_DOWNLOAD };
enum client { CLIENT_WINHTTP, CLIENT_CURL };

struct options {
  struct bench_opts b; /* bench_opts.h */
  enum mode mode;      /* from b.download */
  enum client client;
};

struct totals {
  long requests;
  unsigned long long bytes;
  double seconds;     /* wall clock */
  double cpu_seconds; /* this process's CPU time (user + system) */
  double user_seconds; /* the user-space part of it */
};

static double now(void)
{
  return clock_of(CLOCK_MONOTONIC);
}

static void die(const char *what, unsigned long code)
{
  fprintf(stderr, "bench_sync: %s failed (%lu)\n", what, code);
  exit(1);
}

static void check_body(const struct options *o, unsigned long long got)
{
  if (o->b.expect >= 0 && got != (unsigned long long)o->b.expect) {
    fprintf(stderr, "bench_sync: body of %llu bytes, expected %lld\n", got, o->b.expect);
    exit(1);
  }
}

/* The timed loop, shared by both clients: one_request() does one complete
 * GET and returns its body length. */
typedef unsigned long long (*request_fn)(void *ctx, const struct options *o);

static struct totals run_loop(request_fn one_request, void *ctx, const struct options *o)
{
  struct totals t = {0, 0, 0.0, 0.0, 0.0};
  for (long i = 0; i < o->b.warmup; i++)
    check_body(o, one_request(ctx, o));
  double cpu_start = clock_of(CLOCK_PROCESS_CPUTIME_ID), user_start = user_seconds();
  double start = now(), end = start;
  for (;;) {
    unsigned long long got = one_request(ctx, o);
    check_body(o, got);
    t.requests++;
    t.bytes += got;
    end = now();
    if (o->b.requests > 0 ? t.requests >= o->b.requests : end - start >= o->b.seconds)
      break;
  }
  t.seconds = end - start;
  t.cpu_seconds = clock_of(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
  t.user_seconds = user_seconds() - user_start;
  return t;
}

/* --- WinHTTP ------------------------------------------------------------------ */

struct wh_ctx {
  HINTERNET session, connect;
  WCHAR path[1024];
  unsigned char *buf;
};

static unsigned long long wh_request(void *vctx, const struct options *o)
{
  struct wh_ctx *c = vctx;
  HINTERNET r = WinHttpOpenRequest(c->connect, L"GET", c->path, NULL, WINHTTP_NO_REFERER,
                                   WINHTTP_DEFAULT_ACCEPT_TYPES,
                                   o->b.secure ? WINHTTP_FLAG_SECURE : 0);
  if (!r)
    die("WinHttpOpenRequest", GetLastError());
  if (!WinHttpSendRequest(r, WINHTTP_NO_ADDITIONAL_HEADERS, 0, WINHTTP_NO_REQUEST_DATA, 0, 0, 0))
    die("WinHttpSendRequest", GetLastError());
  if (!WinHttpReceiveResponse(r, NULL))
    die("WinHttpReceiveResponse", GetLastError());

  DWORD status = 0, size = sizeof(status);
  if (!WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                           WINHTTP_HEADER_NAME_BY_INDEX, &status, &size, WINHTTP_NO_HEADER_INDEX))
    die("WinHttpQueryHeaders", GetLastError());
  if (status != 200)
    die("HTTP status", status);

  unsigned long long total = 0;
  DWORD cap = (DWORD)o->b.buffer;
  if (o->mode == MODE_GET) {
    /* The pattern of Microsoft's sample: ask what is there, read it. */
    for (;;) {
      DWORD avail = 0, got = 0;
      if (!WinHttpQueryDataAvailable(r, &avail))
        die("WinHttpQueryDataAvailable", GetLastError());
      if (avail == 0)
        break;
      if (!WinHttpReadData(r, c->buf, avail < cap ? avail : cap, &got))
        die("WinHttpReadData", GetLastError());
      if (got == 0)
        break;
      total += got;
    }
  } else {
    for (;;) {
      DWORD got = 0;
      if (!WinHttpReadData(r, c->buf, cap, &got))
        die("WinHttpReadData", GetLastError());
      if (got == 0)
        break;
      total += got;
    }
  }
  if (!WinHttpCloseHandle(r))
    die("WinHttpCloseHandle", GetLastError());
  return total;
}

static struct totals bench_winhttp(const struct options *o)
{
  struct wh_ctx c;
  memset(&c, 0, sizeof(c));
  WCHAR host[256];
  if (swprintf(host, sizeof(host) / sizeof(host[0]), L"%s", o->b.host) < 0 ||
      swprintf(c.path, sizeof(c.path) / sizeof(c.path[0]), L"%s", o->b.path) < 0)
    die("host or path too long", 0);
  c.buf = malloc(o->b.buffer);
  if (!c.buf)
    die("malloc", (unsigned long)o->b.buffer);

  c.session = WinHttpOpen(L"bench_sync/1.0", WINHTTP_ACCESS_TYPE_NO_PROXY, WINHTTP_NO_PROXY_NAME,
                          WINHTTP_NO_PROXY_BYPASS, 0);
  if (!c.session)
    die("WinHttpOpen", GetLastError());
  c.connect = WinHttpConnect(c.session, host, (INTERNET_PORT)o->b.port, 0);
  if (!c.connect)
    die("WinHttpConnect", GetLastError());

  struct totals t = run_loop(wh_request, &c, o);

  WinHttpCloseHandle(c.connect);
  WinHttpCloseHandle(c.session);
  free(c.buf);
  return t;
}

/* --- libcurl ------------------------------------------------------------------ */

struct curl_ctx {
  CURL *easy;
  unsigned long long got;
};

static size_t curl_sink(char *data, size_t size, size_t nmemb, void *vctx)
{
  struct curl_ctx *c = vctx;
  (void)data;
  c->got += size * nmemb;
  return size * nmemb;
}

static unsigned long long curl_request(void *vctx, const struct options *o)
{
  struct curl_ctx *c = vctx;
  (void)o;
  c->got = 0;
  CURLcode rc = curl_easy_perform(c->easy);
  if (rc != CURLE_OK) {
    fprintf(stderr, "bench_sync: curl: %s\n", curl_easy_strerror(rc));
    exit(1);
  }
  long status = 0;
  curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200)
    die("HTTP status", (unsigned long)status);
  return c->got;
}

static struct totals bench_curl(const struct options *o)
{
  char url[1200];
  int n = snprintf(url, sizeof(url), "%s://%s:%u%s", o->b.secure ? "https" : "http", o->b.host,
                   o->b.port, o->b.path);
  if (n < 0 || (size_t)n >= sizeof(url))
    die("URL too long", 0);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    die("curl_global_init", 0);
  struct curl_ctx c = {curl_easy_init(), 0};
  if (!c.easy)
    die("curl_easy_init", 0);
  curl_easy_setopt(c.easy, CURLOPT_URL, url);
  curl_easy_setopt(c.easy, CURLOPT_PROXY, ""); /* as WINHTTP_ACCESS_TYPE_NO_PROXY */
  curl_easy_setopt(c.easy, CURLOPT_USERAGENT, "bench_sync/1.0");
  curl_easy_setopt(c.easy, CURLOPT_WRITEFUNCTION, curl_sink);
  curl_easy_setopt(c.easy, CURLOPT_WRITEDATA, &c);
  if (o->mode == MODE_DOWNLOAD)
    curl_easy_setopt(c.easy, CURLOPT_BUFFERSIZE, 100L * 1024L);
  if (o->b.cafile)
    curl_easy_setopt(c.easy, CURLOPT_CAINFO, o->b.cafile);

  struct totals t = run_loop(curl_request, &c, o);

  curl_easy_cleanup(c.easy);
  curl_global_cleanup();
  return t;
}

/* --- command line ------------------------------------------------------------- */

static void usage(void)
{
  fputs("usage: bench_sync --mode get|download --client winhttp|curl --scheme http|https\n"
        "                  --port N [--host 127.0.0.1] [--path /100b]\n"
        "                  [--seconds S | --requests N] [--warmup N]\n"
        "                  [--cafile FILE] [--buffer BYTES] [--expect BYTES]\n",
        stderr);
  exit(2);
}

static void parse(int argc, char **argv, struct options *o)
{
  memset(o, 0, sizeof(*o));
  bench_opts_init(&o->b, 1u << 17, 1);
  int have_client = 0;
  for (int i = 1; i < argc; i++) {
    const char *k = argv[i];
    if (i + 1 >= argc)
      usage();
    const char *v = argv[++i];
    if (!strcmp(k, "--client")) {
      have_client = 1;
      if (!strcmp(v, "winhttp"))
        o->client = CLIENT_WINHTTP;
      else if (!strcmp(v, "curl"))
        o->client = CLIENT_CURL;
      else
        usage();
    } else if (!bench_opt(&o->b, k, v, usage)) {
      usage();
    }
  }
  if (!have_client)
    usage();
  bench_opts_finish(&o->b, usage);
  o->mode = o->b.download ? MODE_DOWNLOAD : MODE_GET;
  if (o->mode == MODE_GET && o->b.buffer > 65536)
    o->b.buffer = 65536; /* QueryDataAvailable bounds each read anyway */
}

int main(int argc, char **argv)
{
  struct options o;
  parse(argc, argv, &o);
  struct totals t = o.client == CLIENT_WINHTTP ? bench_winhttp(&o) : bench_curl(&o);
  double work = o.mode == MODE_GET ? (double)t.requests : (double)t.bytes / 1e6;
  printf("result mode=%s scheme=%s client=%s requests=%ld bytes=%llu seconds=%.4f "
         "cpu_seconds=%.4f user_seconds=%.4f value=%.1f per_cpu_second=%.1f unit=%s\n",
         o.mode == MODE_GET ? "get" : "download", o.b.secure ? "https" : "http",
         o.client == CLIENT_WINHTTP ? "winhttp" : "curl", t.requests, t.bytes, t.seconds,
         t.cpu_seconds, t.user_seconds, work / t.seconds, t.cpu_seconds > 0 ? work / t.cpu_seconds : 0.0,
         o.mode == MODE_GET ? "req/s" : "MB/s");
  return 0;
}

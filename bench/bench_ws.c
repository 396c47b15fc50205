/* bench_ws: WebSocket echo through WinHTTP's WebSocket API and through
 * libwebsockets' own client, in one binary, against bench/ws_echo_server.c
 * (issue 7 §5; ARCHITECTURE-NOTES §7). bench/run.sh runs it.
 *
 *   bench_ws --client winhttp|winhttp-sync|lws --mode small|large --port P
 *            [--host 127.0.0.1] [--sockets N] [--size BYTES] [--binary|--text]
 *            [--seconds 3 | --messages N] [--buffer 32768]
 *   bench_ws --mode idle --port P --count N [--window 256]
 *
 * small: 100-byte text messages on 64 WebSockets, each keeping one message
 * in flight (send, receive the echo, check it, send the next): messages/s.
 * large: 1 MiB binary messages the same way on one WebSocket: MB/s of
 * payload echoed (10^6 bytes, counted once per message). Every echo is
 * checked: type, length and every byte. Both clients are given the same
 * receive and send buffer size (--buffer; WinHTTP's default, 32 KiB).
 *
 * winhttp: one WINHTTP_FLAG_ASYNC session; each WebSocket's completions
 * (READ_COMPLETE, WRITE_COMPLETE) start its next message from the callback.
 * winhttp-sync: a synchronous session and one thread per WebSocket, for
 * reference. lws: one lws context serviced on the calling thread.
 *
 * idle: N WebSockets opened through one async session, each with a receive
 * pending; resident memory, threads and descriptors per WebSocket
 * (bench_ws_winhttp.c).
 *
 * --server-pid PID: the echo server's share of its core over the run
 * (server_busy, from /proc/PID/stat): near 1.0, the wall-clock rate is the
 * server's, whichever client runs.
 * --messages N: each WebSocket echoes N messages and the run ends, instead
 * of running for --seconds (bench/run.sh's PROFILE=1 compares runs of N
 * and 2N under callgrind, so that opening the WebSockets cancels out).
 *
 * Prints one "result" line (or "wsidle"), as bench_async does. */
#define _POSIX_C_SOURCE 200809L
#include "bench_ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double ws_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double ws_cpu(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ws_die(const char *what, unsigned long code)
{
  fprintf(stderr, "bench_ws: %s failed (%lu)\n", what, code);
  exit(1);
}

void ws_fill(uint8_t *p, size_t n, unsigned id)
{
  uint32_t x = 2166136261u ^ id;
  for (size_t i = 0; i < n; i++) {
    x = x * 16777619u + (uint32_t)i;
    p[i] = (uint8_t)('!' + (x >> 24) % 94); /* printable ASCII */
  }
}

void ws_stamp(uint8_t *p, size_t n, uint64_t seq)
{
  static const char hex[] = "0123456789abcdef";
  size_t k = n < 8 ? n : 8;
  for (size_t i = 0; i < k; i++) {
    uint8_t d = (uint8_t)hex[(seq >> (4 * i)) & 15];
    p[i] = d;
    p[n - 1 - i] = d;
  }
}

long ws_server_pid;

/* User + system CPU seconds of process |pid| (/proc/PID/stat), or -1. */
static double proc_cpu(long pid)
{
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* Fields after the command's closing parenthesis: state is the 3rd,
   * utime the 14th, stime the 15th. */
  const char *p = strrchr(buf, ')');
  unsigned long long ut = 0, st = 0;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
    return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

void ws_clock_start(struct ws_clock *c, double seconds)
{
  c->server0 = ws_server_pid ? proc_cpu(ws_server_pid) : -1;
  c->cpu0 = ws_cpu();
  c->t0 = ws_now();
  c->end = c->t0 + seconds;
}

void ws_clock_stop(const struct ws_clock *c, long messages, struct ws_result *r)
{
  r->seconds = ws_now() - c->t0;
  r->cpu_seconds = ws_cpu() - c->cpu0;
  r->messages = messages;
  double s1 = c->server0 >= 0 ? proc_cpu(ws_server_pid) : -1;
  r->server_cpu_seconds = s1 >= 0 ? s1 - c->server0 : -1;
}

static _Noreturn void usage(void)
{
  fprintf(stderr, "usage: bench_ws --client winhttp|winhttp-sync|lws --mode small|large|idle "
                  "--port P [--host H] [--sockets N] [--size BYTES] [--binary|--text] "
                  "[--seconds S | --messages N] [--buffer BYTES] [--count N] [--window N] "
                  "[--server-pid PID]\n");
  exit(2);
}

int main(int argc, char **argv)
{
  struct ws_opts o = {.client = "winhttp", .mode = "small", .host = "127.0.0.1",
                      .seconds = 3.0, .buffer = 32768, .count = 1000, .window = 256};
  int sockets = -1, binary = -1;
  long size = -1;
  for (int i = 1; i < argc; i++) {
    const char *k = argv[i];
    if (!strcmp(k, "--binary") || !strcmp(k, "--text")) {
      binary = !strcmp(k, "--binary");
      continue;
    }
    if (i + 1 >= argc)
      usage();
    const char *v = argv[++i];
    if (!strcmp(k, "--client"))
      o.client = v;
    else if (!strcmp(k, "--mode"))
      o.mode = v;
    else if (!strcmp(k, "--host"))
      o.host = v;
    else if (!strcmp(k, "--port"))
      o.port = atoi(v);
    else if (!strcmp(k, "--sockets"))
      sockets = atoi(v);
    else if (!strcmp(k, "--size"))
      size = atol(v);
    else if (!strcmp(k, "--seconds"))
      o.seconds = atof(v);
    else if (!strcmp(k, "--messages"))
      o.messages = atol(v);
    else if (!strcmp(k, "--buffer"))
      o.buffer = (size_t)atol(v);
    else if (!strcmp(k, "--count"))
      o.count = atol(v);
    else if (!strcmp(k, "--window"))
      o.window = atol(v);
    else if (!strcmp(k, "--server-pid"))
      ws_server_pid = atol(v);
    else
      usage();
  }
  if (o.port <= 0)
    usage();
  int large = !strcmp(o.mode, "large");
  if (!strcmp(o.mode, "idle"))
    return ws_run_idle(&o);
  if (!large && strcmp(o.mode, "small"))
    usage();
  o.sockets = sockets > 0 ? sockets : large ? 1 : 64;
  o.size = size > 0 ? (size_t)size : large ? (size_t)1 << 20 : 100;
  o.binary = binary >= 0 ? binary : large;
  if (o.size < 16)
    ws_die("--size of at least 16", o.size);

  struct ws_result r = {0};
  int rc;
  if (!strcmp(o.client, "winhttp"))
    rc = ws_run_winhttp_async(&o, &r);
  else if (!strcmp(o.client, "winhttp-sync"))
    rc = ws_run_winhttp_sync(&o, &r);
  else if (!strcmp(o.client, "lws"))
    rc = ws_run_lws(&o, &r);
  else
    usage();
  if (rc != 0)
    return rc;
  double rate = (double)r.messages / r.seconds;
  double per_cpu = r.cpu_seconds > 0 ? (double)r.messages / r.cpu_seconds : 0.0;
  const char *unit = "msg/s";
  if (large) {
    /* MB of payload echoed: each message's bytes counted once. */
    rate = rate * (double)o.size / 1e6;
    per_cpu = per_cpu * (double)o.size / 1e6;
    unit = "MB/s";
  }
  printf("result mode=ws-%s scheme=ws client=%s sockets=%d size=%zu buffer=%zu messages=%ld "
         "seconds=%.3f cpu_seconds=%.3f server_busy=%.2f value=%.1f per_cpu_second=%.1f "
         "unit=%s\n",
         o.mode, o.client, o.sockets, o.size, o.buffer, r.messages, r.seconds, r.cpu_seconds,
         r.server_cpu_seconds >= 0 ? r.server_cpu_seconds / r.seconds : -1.0, rate, per_cpu, unit);
  return 0;
}

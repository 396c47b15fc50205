/* Shared by the parts of bench_ws (bench_ws.c: options, payloads, the
 * report; bench_ws_winhttp.c: WinHTTP's WebSocket API, asynchronous and
 * synchronous, and the idle-cost run; bench_ws_lws.c: libwebsockets'
 * client). */
#ifndef BENCH_WS_H
#define BENCH_WS_H

#include <stddef.h>
#include <stdint.h>

struct ws_opts {
  const char *client; /* winhttp, winhttp-sync, lws */
  const char *mode;   /* small, large, idle */
  const char *host;
  int port;
  int sockets;        /* WebSockets, each with one message in flight */
  size_t size;        /* bytes per message */
  int binary;         /* binary messages (else UTF-8 text) */
  double seconds;
  long messages;      /* instead of --seconds: each WebSocket echoes this many */
  size_t buffer;      /* receive and send buffer size given to each client */
  long count;         /* idle: WebSockets held open */
  long window;        /* idle: upgrades in flight at once */
};

/* What a timed run measured, from the moment every WebSocket was open to
 * the end of --seconds: messages echoed (each checked), wall-clock seconds
 * and the process's CPU seconds over the same interval. */
struct ws_result {
  long messages;
  double seconds, cpu_seconds;
  double server_cpu_seconds; /* --server-pid's, over the same interval (-1: not given) */
};

double ws_now(void);
double ws_cpu(void);
_Noreturn void ws_die(const char *what, unsigned long code);

/* Message |seq| of a WebSocket: |n| bytes of printable ASCII (valid UTF-8,
 * so text and binary use the same bytes) with |seq| written at both ends,
 * so an echo of an earlier message, or a buffer left unwritten, fails the
 * check. ws_fill lays the body down once; ws_stamp changes the ends. */
void ws_fill(uint8_t *p, size_t n, unsigned id);
void ws_stamp(uint8_t *p, size_t n, uint64_t seq);

/* The timed run: clients start every WebSocket's first message, call
 * ws_clock_start, and count; at ws_clock_deadline they read the counts and
 * call ws_clock_stop. */
struct ws_clock {
  double t0, cpu0, end, server0;
};
/* --server-pid: the echo server, whose CPU time the clock also reads. */
extern long ws_server_pid;
void ws_clock_start(struct ws_clock *c, double seconds);
void ws_clock_stop(const struct ws_clock *c, long messages, struct ws_result *r);

int ws_run_winhttp_async(const struct ws_opts *o, struct ws_result *r);
int ws_run_winhttp_sync(const struct ws_opts *o, struct ws_result *r);
int ws_run_lws(const struct ws_opts *o, struct ws_result *r);
/* Idle cost: prints its own "wsidle" line. */
int ws_run_idle(const struct ws_opts *o);

#endif

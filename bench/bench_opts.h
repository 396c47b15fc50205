/* The command line bench_sync and bench_raw share: what to fetch, from
 * where, for how long, and what to expect. Each client adds its own
 * options and calls bench_opt() for the rest. */
#ifndef BENCH_OPTS_H
#define BENCH_OPTS_H

#include <stddef.h>

struct bench_opts {
  int download; /* --mode download, else get */
  int secure;   /* --scheme https */
  const char *host;
  unsigned port;
  const char *path;
  double seconds;
  long requests; /* > 0: exactly this many, else --seconds */
  long warmup;
  const char *cafile;
  size_t buffer;
  size_t min_buffer; /* --buffer's smallest value */
  long long expect;  /* expected body length, -1: any */
  int have_mode, have_scheme;
};

/* The defaults: 127.0.0.1, 3 s, |buffer| bytes at a time. */
void bench_opts_init(struct bench_opts *o, size_t buffer, size_t min_buffer);
/* Takes option |k| with value |v| when it is a shared one (returns 1),
 * else returns 0; a bad value calls |usage|, which must not return. */
int bench_opt(struct bench_opts *o, const char *k, const char *v, void (*usage)(void));
/* After the command line: |usage| unless mode, scheme and port were
 * given; the path and warm-up that go with the mode unless given. */
void bench_opts_finish(struct bench_opts *o, void (*usage)(void));

#endif

/* see bench_opts.h */
#include "bench_opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void bench_opts_init(struct bench_opts *o, size_t buffer, size_t min_buffer)
{
  memset(o, 0, sizeof(*o));
  o->host = "127.0.0.1";
  o->seconds = 3.0;
  o->warmup = -1;
  o->expect = -1;
  o->buffer = buffer;
  o->min_buffer = min_buffer;
}

static long long number(const char *s, void (*usage)(void))
{
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < 0)
    usage();
  return v;
}

int bench_opt(struct bench_opts *o, const char *k, const char *v, void (*usage)(void))
{
  if (!strcmp(k, "--mode")) {
    o->have_mode = 1;
    if (strcmp(v, "get") && strcmp(v, "download"))
      usage();
    o->download = !strcmp(v, "download");
  } else if (!strcmp(k, "--scheme")) {
    o->have_scheme = 1;
    if (strcmp(v, "http") && strcmp(v, "https"))
      usage();
    o->secure = !strcmp(v, "https");
  } else if (!strcmp(k, "--host")) {
    o->host = v;
  } else if (!strcmp(k, "--port")) {
    long long p = number(v, usage);
    if (p < 1 || p > 65535)
      usage();
    o->port = (unsigned)p;
  } else if (!strcmp(k, "--path")) {
    o->path = v;
  } else if (!strcmp(k, "--seconds")) {
    char *end;
    o->seconds = strtod(v, &end);
    if (end == v || *end || !(o->seconds > 0))
      usage();
  } else if (!strcmp(k, "--requests")) {
    o->requests = (long)number(v, usage);
  } else if (!strcmp(k, "--warmup")) {
    o->warmup = (long)number(v, usage);
  } else if (!strcmp(k, "--cafile")) {
    o->cafile = v;
  } else if (!strcmp(k, "--buffer")) {
    long long b = number(v, usage);
    if (b < (long long)o->min_buffer || b > (1ll << 30))
      usage();
    o->buffer = (size_t)b;
  } else if (!strcmp(k, "--expect")) {
    o->expect = number(v, usage);
  } else {
    return 0;
  }
  return 1;
}

void bench_opts_finish(struct bench_opts *o, void (*usage)(void))
{
  if (!o->have_mode || !o->have_scheme || !o->port)
    usage();
  if (!o->path)
    o->path = o->download ? "/100m.bin" : "/100b";
  if (o->warmup < 0)
    o->warmup = o->download ? 1 : 100;
}

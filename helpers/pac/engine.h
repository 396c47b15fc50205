/* One PAC script in a duktape heap: load it once, then ask it for the proxy
 * of URL after URL (its global state lives on between calls, as in a
 * browser).
 *
 * The heap is bounded: every allocation goes through an accounting
 * allocator that refuses to grow past |heap_max| bytes, which duktape
 * reports to the script as a RangeError (or, where it cannot, as a fatal
 * error that ends the process). Time is bounded from outside: Debian's
 * duktape has no execution-timeout hook, so the library kills the helper
 * when a call overruns its deadline (net/pac_proc.c). */
#ifndef PAC_ENGINE_H
#define PAC_ENGINE_H

#include <stddef.h>

struct pac_engine;

/* A heap with the helper functions (library.js, natives.c) installed.
 * NULL when out of memory. */
struct pac_engine *pac_engine_new(size_t heap_max);
void pac_engine_free(struct pac_engine *e);

/* Runs the script's |len| bytes. 0 on success; otherwise -1 with a message
 * in |err| (a syntax error, an exception, no FindProxyForURL). */
int pac_engine_load(struct pac_engine *e, const char *src, size_t len, char *err, size_t cap);

/* Calls FindProxyForURLEx(url, host) when the script defines it
 * (Microsoft: it then replaces FindProxyForURL), else FindProxyForURL.
 * 0 with the answer in |out| (|*out_len| bytes, at most |cap|; longer
 * answers are an error), or -1 with a message in |out|: an exception, or
 * an answer that is not a string. */
int pac_engine_query(struct pac_engine *e, const char *url, size_t url_len, const char *host,
                     size_t host_len, char *out, size_t cap, size_t *out_len);

#endif

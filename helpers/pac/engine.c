/* see engine.h */
#include "engine.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <duktape.h>

#include "library_js.h" /* pac_library_js[], generated from library.js */
#include "natives.h"

/* Every block carries its size in front, so that the heap's total is
 * known exactly; the header keeps the block aligned for any type. */
#define HDR ((sizeof(size_t) + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t))

struct pac_engine {
  duk_context *ctx;
  size_t used, max;
};

static void *acct_alloc(void *ud, duk_size_t size)
{
  struct pac_engine *e = ud;
  if (size > e->max - e->used || size > SIZE_MAX - HDR)
    return NULL;
  unsigned char *p = malloc(HDR + size);
  if (!p)
    return NULL;
  memcpy(p, &size, sizeof(size_t));
  e->used += size;
  return p + HDR;
}

static void acct_free(void *ud, void *ptr)
{
  struct pac_engine *e = ud;
  if (!ptr)
    return;
  unsigned char *p = (unsigned char *)ptr - HDR;
  size_t size;
  memcpy(&size, p, sizeof(size_t));
  e->used -= size;
  free(p);
}

static void *acct_realloc(void *ud, void *ptr, duk_size_t size)
{
  struct pac_engine *e = ud;
  if (!ptr)
    return acct_alloc(ud, size);
  if (size == 0) {
    acct_free(ud, ptr);
    return NULL;
  }
  unsigned char *p = (unsigned char *)ptr - HDR;
  size_t old;
  memcpy(&old, p, sizeof(size_t));
  if (size > old && (size - old > e->max - e->used || size > SIZE_MAX - HDR))
    return NULL;
  unsigned char *q = realloc(p, HDR + size);
  if (!q)
    return NULL;
  memcpy(q, &size, sizeof(size_t));
  e->used = e->used - old + size;
  return q + HDR;
}

/* An error duktape cannot throw (out of memory at a point where it cannot
 * unwind): the process ends, and the library sees the script as broken. */
static void fatal(void *ud, const char *msg)
{
  (void)ud;
  (void)msg;
  _exit(70);
}

struct pac_engine *pac_engine_new(size_t heap_max)
{
  struct pac_engine *e = calloc(1, sizeof(*e));
  if (!e)
    return NULL;
  e->max = heap_max;
  e->ctx = duk_create_heap(acct_alloc, acct_realloc, acct_free, e, fatal);
  if (!e->ctx) {
    free(e);
    return NULL;
  }
  pac_natives_register(e->ctx);
  if (duk_peval_lstring(e->ctx, pac_library_js, sizeof(pac_library_js)) != 0) {
    pac_engine_free(e);
    return NULL;
  }
  duk_pop(e->ctx);
  return e;
}

void pac_engine_free(struct pac_engine *e)
{
  if (!e)
    return;
  if (e->ctx)
    duk_destroy_heap(e->ctx);
  free(e);
}

/* Copies the string at the top of the stack (anything, converted) into
 * |out|, NUL-terminated and cut to fit. */
static void message(duk_context *ctx, char *out, size_t cap)
{
  duk_size_t n = 0;
  const char *s = duk_safe_to_lstring(ctx, -1, &n);
  if (!cap)
    return;
  if (n >= cap)
    n = cap - 1;
  memcpy(out, s, n);
  out[n] = '\0';
}

/* The function queries call: FindProxyForURLEx when the script defines
 * one, else FindProxyForURL. Leaves it on the stack; false (with nothing
 * pushed) when neither is a function. */
static bool push_entry_point(duk_context *ctx)
{
  static const char *const names[] = {"FindProxyForURLEx", "FindProxyForURL"};
  for (size_t i = 0; i < 2; i++) {
    duk_get_global_string(ctx, names[i]);
    if (duk_is_function(ctx, -1))
      return true;
    duk_pop(ctx);
  }
  return false;
}

int pac_engine_load(struct pac_engine *e, const char *src, size_t len, char *err, size_t cap)
{
  duk_context *ctx = e->ctx;
  /* Global code, as a browser runs a PAC file: its declarations become
   * globals. */
  if (duk_pcompile_lstring(ctx, 0, src, len) != 0 || duk_pcall(ctx, 0) != DUK_EXEC_SUCCESS) {
    message(ctx, err, cap);
    duk_pop(ctx);
    return -1;
  }
  duk_pop(ctx);
  if (!push_entry_point(ctx)) {
    snprintf(err, cap, "the script defines no FindProxyForURL function");
    return -1;
  }
  duk_pop(ctx);
  return 0;
}

int pac_engine_query(struct pac_engine *e, const char *url, size_t url_len, const char *host,
                     size_t host_len, char *out, size_t cap, size_t *out_len)
{
  duk_context *ctx = e->ctx;
  *out_len = 0;
  if (!push_entry_point(ctx)) {
    snprintf(out, cap, "the script no longer defines FindProxyForURL");
    *out_len = strlen(out);
    return -1;
  }
  duk_push_lstring(ctx, url, url_len);
  duk_push_lstring(ctx, host, host_len);
  int rc = 0;
  if (duk_pcall(ctx, 2) != DUK_EXEC_SUCCESS) {
    message(ctx, out, cap);
    rc = -1;
  } else if (!duk_is_string(ctx, -1)) {
    snprintf(out, cap, "FindProxyForURL returned a %s, not a string",
             duk_is_undefined(ctx, -1) ? "undefined value" : "value of another type");
    rc = -1;
  } else {
    duk_size_t n = 0;
    const char *s = duk_get_lstring(ctx, -1, &n);
    if (n > cap) {
      snprintf(out, cap, "FindProxyForURL's answer is too long");
      rc = -1;
    } else {
      memcpy(out, s, n);
      *out_len = n;
    }
  }
  if (rc != 0)
    *out_len = strlen(out);
  duk_pop(ctx);
  return rc;
}

/* see buf.h */
#include "util/buf.h"

#include <string.h>

#include "util/mem.h"

void wh_buf_init(struct wh_buf *b, size_t max)
{
  b->p = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max;
}

void wh_buf_free(struct wh_buf *b)
{
  wh_free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

void wh_buf_reset(struct wh_buf *b)
{
  b->len = 0;
  if (b->p)
    b->p[0] = '\0';
}

/* Room for |len| more bytes and the NUL; the caller has checked max. */
static int grow(struct wh_buf *b, size_t len)
{
  if (b->len + len + 1 <= b->cap)
    return 0;
  size_t ncap = b->cap ? b->cap : 64;
  while (ncap < b->len + len + 1)
    ncap *= 2;
  if (ncap > b->max + 1)
    ncap = b->max + 1;
  char *np = wh_realloc(b->p, ncap);
  if (!np)
    return WH_BUF_ENOMEM;
  b->p = np;
  b->cap = ncap;
  return 0;
}

void wh_buf_reserve(struct wh_buf *b, size_t len)
{
  if (len <= b->max && b->len <= b->max - len)
    (void)grow(b, len);
}

int wh_buf_add(struct wh_buf *b, const void *data, size_t len)
{
  if (len > b->max || b->len > b->max - len)
    return WH_BUF_TOOBIG;
  if (grow(b, len) != 0)
    return WH_BUF_ENOMEM;
  if (len)
    memcpy(b->p + b->len, data, len);
  b->len += len;
  b->p[b->len] = '\0';
  return 0;
}

int wh_buf_addc(struct wh_buf *b, char c)
{
  return wh_buf_add(b, &c, 1);
}

int wh_buf_adds(struct wh_buf *b, const char *s)
{
  return wh_buf_add(b, s, strlen(s));
}

char *wh_buf_take(struct wh_buf *b, size_t *len)
{
  char *r = b->p;
  if (!r) {
    r = wh_strndup("", 0);
    if (!r)
      return NULL;
  }
  if (len)
    *len = b->len;
  b->p = NULL;
  b->len = b->cap = 0;
  return r;
}

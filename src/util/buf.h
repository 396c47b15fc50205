/* A growable byte buffer with a ceiling fixed at init (curl's dynbuf idea):
 * every buffer fed by a peer or a caller must have a bound. */
#ifndef WH_UTIL_BUF_H
#define WH_UTIL_BUF_H

#include <stddef.h>

struct wh_buf {
  char *p;       /* NUL-terminated when non-NULL */
  size_t len;
  size_t cap;
  size_t max;    /* len may never exceed this */
};

/* Errors: 0 ok, WH_BUF_ENOMEM out of memory, WH_BUF_TOOBIG over |max|. */
enum { WH_BUF_ENOMEM = -1, WH_BUF_TOOBIG = -2 };

void wh_buf_init(struct wh_buf *b, size_t max);
void wh_buf_free(struct wh_buf *b);
void wh_buf_reset(struct wh_buf *b);
int wh_buf_add(struct wh_buf *b, const void *data, size_t len);
int wh_buf_addc(struct wh_buf *b, char c);
int wh_buf_adds(struct wh_buf *b, const char *s);
/* A hint that about |len| more bytes are coming: the buffer grows once to
 * hold them (within its max). Out of memory is left to the adds that
 * follow, which report it. */
void wh_buf_reserve(struct wh_buf *b, size_t len);
/* Takes the bytes out: the caller owns the returned pointer (wh_free);
 * the buffer is left empty. Returns a pointer to "" when empty, or NULL when
 * out of memory. */
char *wh_buf_take(struct wh_buf *b, size_t *len);

#endif

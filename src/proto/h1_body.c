/* see h1.h: the chunked transfer coding (RFC 9112 §7.1).
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   last-chunk   = 1*("0") [ chunk-ext ] CRLF
 *   chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 *
 * A byte-driven state machine, so that any split of the input gives the same
 * result; only chunk data is handed out, in place, a whole run at a time.
 */
#include "proto/h1.h"

#include <string.h>

#include "util/str.h"

#define INVALID ERROR_WINHTTP_INVALID_SERVER_RESPONSE

enum {
  S_SIZE0,      /* a chunk-size line starts: a hex digit must come */
  S_SIZE,       /* in the hex digits */
  S_SIZE_WS,    /* BWS after the digits: ';', CR or LF must follow */
  S_EXT,        /* in the extensions, which we skip */
  S_SIZE_LF,    /* the size line's CR was seen: LF must follow */
  S_DATA,       /* |remaining| bytes of chunk data to hand out */
  S_DATA_CR,    /* the CRLF after the chunk data */
  S_DATA_LF,    /* its CR was seen */
  S_TRAILER,    /* in the trailer section, at or inside a line */
  S_TRAILER_LF, /* a trailer line's CR was seen */
  S_DONE,
  S_ERROR
};

void wh_chunked_init(struct wh_chunked *c, size_t max_line, size_t max_trailer,
                     struct wh_headers *trailers)
{
  memset(c, 0, sizeof(*c));
  c->state = S_SIZE0;
  c->max_line = max_line ? max_line : WH_CHUNKED_DEFAULT_MAX_LINE;
  c->max_trailer = max_trailer ? max_trailer : WH_CHUNKED_DEFAULT_MAX_TRAILER;
  c->trailers = trailers;
  wh_buf_init(&c->tbuf, c->max_trailer);
}

void wh_chunked_free(struct wh_chunked *c)
{
  wh_buf_free(&c->tbuf);
}

bool wh_chunked_done(const struct wh_chunked *c)
{
  return c->state == S_DONE;
}

static DWORD fail(struct wh_chunked *c, DWORD err)
{
  c->state = S_ERROR;
  c->error = err;
  wh_buf_free(&c->tbuf);
  return err;
}

/* The end of a chunk-size line: data follows, or for the last chunk (size
 * 0) the trailer section. */
static void size_line_done(struct wh_chunked *c)
{
  c->line_len = 0;
  c->state = c->remaining ? S_DATA : S_TRAILER;
}

/* One byte of a chunk-size line (states S_SIZE0 to S_SIZE_LF). */
static DWORD size_byte(struct wh_chunked *c, unsigned char ch)
{
  if (c->state == S_SIZE_LF) {
    if (ch != '\n')
      return INVALID; /* §2.2: a bare CR is invalid */
    size_line_done(c);
    return ERROR_SUCCESS;
  }
  if (ch == '\n' && c->state != S_SIZE0) {
    size_line_done(c); /* §2.2: a bare LF may end a line */
    return ERROR_SUCCESS;
  }
  if (ch == '\r' && c->state != S_SIZE0) {
    c->state = S_SIZE_LF;
    return ERROR_SUCCESS;
  }
  /* Everything but the line end counts against the limit, digits,
   * white space and extensions alike: they all have to be read. */
  if (++c->line_len > c->max_line)
    return ERROR_WINHTTP_CHUNKED_ENCODING_HEADER_SIZE_OVERFLOW;
  if (c->state == S_EXT) {
    /* The extensions are skipped, not interpreted: any visible byte,
     * obs-text, SP and HTAB; a control byte (NUL included) is refused so
     * the line cannot hide a line end from another parser. */
    if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
      return INVALID;
    return ERROR_SUCCESS;
  }
  if (c->state != S_SIZE_WS) {
    int hv = wh_hex_value(ch);
    if (hv >= 0) {
      /* Leading zeros are fine; a value above 2^64-1 is not. */
      if (c->remaining > (UINT64_MAX >> 4))
        return INVALID;
      c->remaining = (c->remaining << 4) | (uint64_t)hv;
      c->state = S_SIZE;
      return ERROR_SUCCESS;
    }
    if (c->state == S_SIZE0)
      return INVALID; /* chunk-size = 1*HEXDIG */
  }
  /* After the digits: BWS, then ";" and the extensions, or the line end
   * (handled above). "1 2", "1x" and "0x1" are refused. */
  if (wh_is_ows(ch)) {
    c->state = S_SIZE_WS;
    return ERROR_SUCCESS;
  }
  if (ch == ';') {
    c->state = S_EXT;
    return ERROR_SUCCESS;
  }
  return INVALID;
}

/* The trailer section from |in|[*i]: lines until an empty one (§7.1.2).
 * The bytes are kept for parsing when a store was given. Stops at the end of
 * the input or after the final LF. */
static DWORD trailer_run(struct wh_chunked *c, const char *in, size_t len, size_t *i)
{
  size_t start = *i, j = *i;
  DWORD err = ERROR_SUCCESS;

  while (j < len) {
    unsigned char ch = (unsigned char)in[j];
    if (++c->trailer_len > c->max_trailer) {
      err = ERROR_WINHTTP_HEADER_SIZE_OVERFLOW;
      break;
    }
    j++;
    bool eol = false;
    if (c->state == S_TRAILER_LF) {
      if (ch != '\n') {
        err = INVALID;
        break;
      }
      eol = true;
    } else if (ch == '\r') {
      c->state = S_TRAILER_LF;
    } else if (ch == '\n') {
      eol = true;
    } else if (ch == '\0') {
      err = INVALID;
      break;
    } else {
      c->line_len++;
    }
    if (eol) {
      c->state = S_TRAILER;
      if (c->line_len == 0) {
        c->state = S_DONE;
        break;
      }
      c->line_len = 0;
    }
  }
  *i = j;
  if (err)
    return err;
  if (c->trailers && j > start && wh_buf_add(&c->tbuf, in + start, j - start) != 0)
    return ERROR_NOT_ENOUGH_MEMORY; /* the ceiling was checked above */
  if (c->state == S_DONE && c->trailers) {
    if (c->tbuf.len)
      err = wh_h1_parse_fields(c->tbuf.p, c->tbuf.len, c->trailers);
    wh_buf_free(&c->tbuf);
  }
  return err;
}

DWORD wh_chunked_decode(struct wh_chunked *c, const char *in, size_t len, size_t *consumed,
                        const char **data, size_t *data_len)
{
  size_t i = 0;
  DWORD err;

  *consumed = 0;
  *data = NULL;
  *data_len = 0;
  if (c->state == S_ERROR)
    return c->error;

  while (i < len) {
    switch (c->state) {
    case S_DATA: {
      /* The hot path: hand out as much of the chunk as we hold, in place. */
      size_t avail = len - i;
      size_t n = c->remaining < avail ? (size_t)c->remaining : avail;
      *data = in + i;
      *data_len = n;
      c->remaining -= n;
      c->body_len += n;
      if (c->remaining == 0)
        c->state = S_DATA_CR;
      *consumed = i + n;
      return ERROR_SUCCESS;
    }
    case S_DATA_CR:
    case S_DATA_LF: {
      /* §7.1: chunk-data is followed by CRLF; a bare LF is taken (§2.2). */
      char ch = in[i++];
      if (ch == '\r' && c->state == S_DATA_CR) {
        c->state = S_DATA_LF;
      } else if (ch == '\n') {
        c->state = S_SIZE0;
      } else {
        *consumed = i;
        return fail(c, INVALID);
      }
      break;
    }
    case S_TRAILER:
    case S_TRAILER_LF:
      err = trailer_run(c, in, len, &i);
      *consumed = i;
      if (err)
        return fail(c, err);
      if (c->state == S_DONE)
        return ERROR_SUCCESS;
      break;
    case S_DONE:
      *consumed = i;
      return ERROR_SUCCESS;
    default:
      err = size_byte(c, (unsigned char)in[i++]);
      if (err) {
        *consumed = i;
        return fail(c, err);
      }
      break;
    }
  }
  *consumed = i;
  return ERROR_SUCCESS;
}

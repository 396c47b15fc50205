/* see headers.h
 *
 * Behaviour sources: Wine's dlls/winhttp/tests/winhttp.c (test_WinHttpAddHeaders,
 * test_bad_header, test_basic_request, test_multi_authentication), which
 * also run on Windows, and Microsoft Learn's WinHttpAddRequestHeaders,
 * WinHttpQueryHeaders and "Query Info Flags" pages. Choices the tests leave
 * open are marked "choice:" and listed in docs/COMPAT.md.
 */
#include "proto/headers.h"

#include <stdbool.h>
#include <string.h>

#include "proto/query_level.h"
#include "util/mem.h"
#include "util/str.h"

/* The bytes a header adds to the serialised form: "name: value\r\n". */
#define ENTRY_OVERHEAD 4u

/* The low 16 bits of dwInfoLevel select the attribute, the rest modify it. */
#define QUERY_LEVEL_MASK 0x0000FFFFu
#define QUERY_KNOWN_MODS                                                                          \
  ((DWORD)(WINHTTP_QUERY_FLAG_REQUEST_HEADERS | WINHTTP_QUERY_FLAG_SYSTEMTIME |                   \
           WINHTTP_QUERY_FLAG_NUMBER | WINHTTP_QUERY_FLAG_NUMBER64 | WINHTTP_QUERY_FLAG_TRAILERS | \
           WINHTTP_QUERY_FLAG_WIRE_ENCODING))
#define QUERY_FORMAT_MODS \
  ((DWORD)(WINHTTP_QUERY_FLAG_SYSTEMTIME | WINHTTP_QUERY_FLAG_NUMBER | WINHTTP_QUERY_FLAG_NUMBER64))

/* Bound for the scratch buffers of raw header text: far above anything a
 * store can hold, but small enough that wh_buf's arithmetic cannot wrap. */
#define RAW_MAX (SIZE_MAX / 4)

void wh_headers_init(struct wh_headers *h)
{
  memset(h, 0, sizeof(*h));
}

void wh_headers_set_limits(struct wh_headers *h, size_t max_bytes, size_t max_count)
{
  h->max_bytes = max_bytes;
  h->max_count = max_count;
}

/* Whether |p| lies in the store's slab (compared as integers: the slab
 * and a block of its own are different objects). */
static bool in_slab(const struct wh_headers *h, const char *p)
{
  uintptr_t a = (uintptr_t)p, s = (uintptr_t)h->slab;
  return h->slab && a >= s && a - s < h->slab_cap;
}

static void block_free(const struct wh_headers *h, char *p)
{
  if (!in_slab(h, p))
    wh_free(p);
}

/* One block per header: "name\0value\0"; the entry's name points at the
 * block and its value into it. The block is carved from the slab when it
 * fits, else allocated. NULL when out of memory. */
static char *pair_new(struct wh_headers *h, const char *name, size_t nlen, const char *value,
                      size_t vlen, char **vout)
{
  if (vlen > SIZE_MAX - 2 || nlen > SIZE_MAX - 2 - vlen)
    return NULL;
  size_t need = nlen + vlen + 2;
  char *b;
  if (h->slab && h->slab_cap - h->slab_used >= need) {
    b = h->slab + h->slab_used;
    h->slab_used += need;
  } else {
    b = wh_malloc(need);
    if (!b)
      return NULL;
  }
  memcpy(b, name, nlen);
  b[nlen] = '\0';
  if (vlen)
    memcpy(b + nlen + 1, value, vlen);
  b[nlen + 1 + vlen] = '\0';
  *vout = b + nlen + 1;
  return b;
}

/* Header |e| with a new value (the name is copied into a new block). */
static DWORD set_pair_value(struct wh_headers *h, struct wh_header *e, const char *value,
                            size_t vlen)
{
  char *v;
  char *b = pair_new(h, e->name, e->name_len, value, vlen, &v);
  if (!b)
    return ERROR_NOT_ENOUGH_MEMORY;
  block_free(h, e->name);
  e->name = b;
  e->value = v;
  e->value_len = vlen;
  return ERROR_SUCCESS;
}

static bool grow_to(struct wh_headers *h, size_t ncap)
{
  if (ncap > SIZE_MAX / sizeof(*h->v))
    return false;
  struct wh_header *nv = wh_realloc(h->v, ncap * sizeof(*nv));
  if (!nv)
    return false;
  h->v = nv;
  h->cap = ncap;
  return true;
}

void wh_headers_reserve(struct wh_headers *h, size_t count, size_t bytes)
{
  if (count > h->cap - h->n && h->n <= SIZE_MAX - count)
    (void)grow_to(h, h->n + count);
  if (!h->slab && bytes && bytes <= SIZE_MAX / 2) {
    h->slab = wh_malloc(bytes);
    h->slab_used = 0;
    h->slab_cap = h->slab ? bytes : 0;
  }
}

void wh_headers_clear(struct wh_headers *h)
{
  for (size_t i = 0; i < h->n; i++)
    block_free(h, h->v[i].name);
  h->n = 0;
  h->bytes = 0;
  h->slab_used = 0; /* no entry is left in it */
}

void wh_headers_free(struct wh_headers *h)
{
  wh_headers_clear(h);
  wh_free(h->v);
  h->v = NULL;
  h->cap = 0;
  wh_free(h->slab);
  h->slab = NULL;
  h->slab_cap = 0;
}

/* --- validation and lookup ---------------------------------------------- */

/* RFC 9110 §5.1 field-name = token. Stricter than Wine's valid_token_char,
 * which lets bytes >= 0x80 through; a name is sent on the wire as is, and
 * non-ASCII names are never valid HTTP. */
static bool valid_name(const char *p, size_t n)
{
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!wh_is_tchar((unsigned char)p[i]))
      return false;
  return true;
}

/* The only bytes that could end a field or inject another one. */
static bool valid_value(const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
      return false;
  return true;
}

static bool find_index(const struct wh_headers *h, const char *name, size_t nlen, size_t nth,
                       size_t *idx)
{
  for (size_t i = 0; i < h->n; i++) {
    if (!wh_casecmp_eq(h->v[i].name, h->v[i].name_len, name, nlen))
      continue;
    if (nth == 0) {
      *idx = i;
      return true;
    }
    nth--;
  }
  return false;
}

const struct wh_header *wh_headers_find(const struct wh_headers *h, const char *name, size_t nlen,
                                        size_t nth)
{
  size_t i;
  return find_index(h, name, nlen, nth, &i) ? &h->v[i] : NULL;
}

/* --- mutations: each checks the limits and allocates before it touches the
 * store, so a failure leaves it as it was -------------------------------- */

/* The serialised size after removing |removed| bytes and adding |added|, in
 * |*total|. Growth past max_bytes is refused; a store already over a limit
 * lowered later may still shrink. */
static DWORD check_bytes(const struct wh_headers *h, size_t removed, size_t added, size_t *total)
{
  size_t base = h->bytes - removed;
  if (added > SIZE_MAX - base)
    return h->max_bytes ? ERROR_WINHTTP_HEADER_SIZE_OVERFLOW : ERROR_NOT_ENOUGH_MEMORY;
  *total = base + added;
  if (h->max_bytes && *total > h->max_bytes && *total > h->bytes)
    return ERROR_WINHTTP_HEADER_SIZE_OVERFLOW;
  return ERROR_SUCCESS;
}

static bool entry_size(size_t nlen, size_t vlen, size_t *out)
{
  if (nlen > SIZE_MAX - ENTRY_OVERHEAD || vlen > SIZE_MAX - ENTRY_OVERHEAD - nlen)
    return false;
  *out = nlen + vlen + ENTRY_OVERHEAD;
  return true;
}

static DWORD append(struct wh_headers *h, const char *name, size_t nlen, const char *value,
                    size_t vlen)
{
  size_t need, total;
  if (h->max_count && h->n >= h->max_count)
    return ERROR_WINHTTP_HEADER_COUNT_EXCEEDED;
  if (!entry_size(nlen, vlen, &need))
    return h->max_bytes ? ERROR_WINHTTP_HEADER_SIZE_OVERFLOW : ERROR_NOT_ENOUGH_MEMORY;
  DWORD err = check_bytes(h, 0, need, &total);
  if (err)
    return err;
  if (h->n == h->cap) {
    size_t ncap = h->cap ? h->cap * 2 : 8;
    if (ncap < h->cap || !grow_to(h, ncap))
      return ERROR_NOT_ENOUGH_MEMORY;
  }
  char *v;
  char *n = pair_new(h, name, nlen, value, vlen, &v);
  if (!n)
    return ERROR_NOT_ENOUGH_MEMORY;
  h->v[h->n++] = (struct wh_header){n, nlen, v, vlen};
  h->bytes = total;
  return ERROR_SUCCESS;
}

static void remove_at(struct wh_headers *h, size_t i)
{
  struct wh_header *e = &h->v[i];
  h->bytes -= e->name_len + e->value_len + ENTRY_OVERHEAD;
  block_free(h, e->name);
  memmove(e, e + 1, (h->n - i - 1) * sizeof(*e));
  h->n--;
}

static DWORD set_value(struct wh_headers *h, size_t i, const char *value, size_t vlen)
{
  struct wh_header *e = &h->v[i];
  size_t total;
  DWORD err = check_bytes(h, e->value_len, vlen, &total);
  if (err)
    return err;
  err = set_pair_value(h, e, value, vlen);
  if (err)
    return err;
  h->bytes = total;
  return ERROR_SUCCESS;
}

/* Appends "<sep> value" to header |i| (Microsoft: adding "Accept: text/x"
 * then "Accept: audio/x" with COALESCE_WITH_COMMA gives one header "Accept:
 * text/x, audio/x"; the docs use wildcard types). */
static DWORD coalesce(struct wh_headers *h, size_t i, char sep, const char *value, size_t vlen)
{
  struct wh_header *e = &h->v[i];
  size_t total;
  if (vlen > SIZE_MAX - 3 - e->value_len)
    return ERROR_NOT_ENOUGH_MEMORY;
  DWORD err = check_bytes(h, 0, vlen + 2, &total);
  if (err)
    return err;
  size_t nlen = e->value_len + 2 + vlen;
  char *v = wh_malloc(nlen + 1);
  if (!v)
    return ERROR_NOT_ENOUGH_MEMORY;
  memcpy(v, e->value, e->value_len);
  v[e->value_len] = sep;
  v[e->value_len + 1] = ' ';
  memcpy(v + e->value_len + 2, value, vlen);
  v[nlen] = '\0';
  err = set_pair_value(h, e, v, nlen);
  wh_free(v);
  if (err)
    return err;
  h->bytes = total;
  return ERROR_SUCCESS;
}

/* The modifier rules of wh_headers_apply_one() on a checked, trimmed pair.
 * The order of the tests follows Wine's process_header, which the tests
 * pin down: ADD_IF_NEW is checked first, REPLACE beats COALESCE. */
static DWORD apply_pair(struct wh_headers *h, const char *name, size_t nlen, const char *value,
                        size_t vlen, DWORD mods)
{
  /* A plain ADD needs no lookup: response parsing adds every field this
   * way, and the lookup would make a long head quadratic. */
  if (!(mods & (WINHTTP_ADDREQ_FLAG_ADD_IF_NEW | WINHTTP_ADDREQ_FLAG_REPLACE |
                WINHTTP_ADDREQ_FLAG_COALESCE_WITH_COMMA |
                WINHTTP_ADDREQ_FLAG_COALESCE_WITH_SEMICOLON)))
    return append(h, name, nlen, value, vlen);
  size_t i;
  bool found = find_index(h, name, nlen, 0, &i);

  if ((mods & WINHTTP_ADDREQ_FLAG_ADD_IF_NEW) && found)
    return ERROR_WINHTTP_HEADER_ALREADY_EXISTS;
  if (mods & WINHTTP_ADDREQ_FLAG_REPLACE) {
    if (found) {
      if (vlen == 0) {
        remove_at(h, i);
        return ERROR_SUCCESS;
      }
      /* choice: in place, where Wine deletes and appends at the end. */
      return set_value(h, i, value, vlen);
    }
    if (!(mods & WINHTTP_ADDREQ_FLAG_ADD))
      return ERROR_WINHTTP_HEADER_NOT_FOUND;
    return append(h, name, nlen, value, vlen);
  }
  if (found && (mods & (WINHTTP_ADDREQ_FLAG_COALESCE_WITH_COMMA |
                        WINHTTP_ADDREQ_FLAG_COALESCE_WITH_SEMICOLON))) {
    /* choice: coalescing nothing is a no-op; Wine appends a bare ", ",
     * which leaves trailing white space in the value. */
    if (vlen == 0)
      return ERROR_SUCCESS;
    return coalesce(h, i, (mods & WINHTTP_ADDREQ_FLAG_COALESCE_WITH_COMMA) ? ',' : ';', value, vlen);
  }
  return append(h, name, nlen, value, vlen);
}

DWORD wh_headers_apply_one(struct wh_headers *h, const char *name, size_t nlen, const char *value,
                           size_t vlen, DWORD modifiers)
{
  if (!name || !valid_name(name, nlen))
    return ERROR_WINHTTP_INVALID_HEADER;
  if (!value)
    vlen = 0;
  if (vlen && !valid_value(value, vlen))
    return ERROR_WINHTTP_INVALID_HEADER;
  const char *v = vlen ? value : "";
  wh_trim_ows(&v, &vlen);
  return apply_pair(h, name, nlen, v, vlen, modifiers);
}

/* --- caller text: lines and "name: value" -------------------------------- */

struct cursor {
  const char *p;
  size_t len, pos;
};

/* The next non-empty line. A line ends at CR or LF; a CR LF or LF CR pair
 * counts as one break (Wine test_bad_header sends "\n\r", lone "\n", lone
 * "\r" and "\r\n"), and the empty lines between breaks are skipped. */
static bool next_line(struct cursor *c, const char **line, size_t *llen)
{
  while (c->pos < c->len) {
    size_t start = c->pos, i = start;
    while (i < c->len && c->p[i] != '\r' && c->p[i] != '\n')
      i++;
    size_t end = i;
    if (i < c->len) {
      char brk = c->p[i++];
      if (i < c->len && (c->p[i] == '\r' || c->p[i] == '\n') && c->p[i] != brk)
        i++;
    }
    c->pos = i;
    if (end > start) {
      *line = c->p + start;
      *llen = end - start;
      return true;
    }
  }
  return false;
}

struct pair {
  const char *name, *value;
  size_t nlen, vlen;
};

/* "name:value" with a token name (no space before the colon: Wine's test
 * rejects " e :f") and the value trimmed. No ':', an empty name (":b") or
 * any other byte in the name is ERROR_WINHTTP_INVALID_HEADER. The value
 * cannot hold CR or LF (next_line split there) or NUL (apply cut there). */
static DWORD parse_line(const char *p, size_t len, struct pair *out)
{
  const char *colon = memchr(p, ':', len);
  if (!colon)
    return ERROR_WINHTTP_INVALID_HEADER;
  size_t nlen = (size_t)(colon - p);
  if (!valid_name(p, nlen))
    return ERROR_WINHTTP_INVALID_HEADER;
  out->name = p;
  out->nlen = nlen;
  out->value = colon + 1;
  out->vlen = len - nlen - 1;
  wh_trim_ows(&out->value, &out->vlen);
  return ERROR_SUCCESS;
}

/* A deep copy, for the all-or-nothing application of several lines. */
static DWORD clone(const struct wh_headers *src, struct wh_headers *dst)
{
  wh_headers_init(dst);
  wh_headers_set_limits(dst, src->max_bytes, src->max_count);
  if (src->n) {
    dst->v = wh_malloc(src->n * sizeof(*dst->v));
    if (!dst->v)
      return ERROR_NOT_ENOUGH_MEMORY;
    dst->cap = src->n;
    /* |bytes| counts 4 bytes of framing per entry where a block needs 2:
     * the lines being applied to the copy often fit in the rest. */
    wh_headers_reserve(dst, 0, src->bytes);
  }
  for (size_t i = 0; i < src->n; i++) {
    const struct wh_header *e = &src->v[i];
    char *v;
    char *n = pair_new(dst, e->name, e->name_len, e->value, e->value_len, &v);
    if (!n) {
      wh_headers_free(dst);
      return ERROR_NOT_ENOUGH_MEMORY;
    }
    dst->v[dst->n++] = (struct wh_header){n, e->name_len, v, e->value_len};
  }
  dst->bytes = src->bytes;
  return ERROR_SUCCESS;
}

DWORD wh_headers_apply(struct wh_headers *h, const char *text, size_t len, DWORD modifiers)
{
  if (!text)
    len = 0;
  const char *nul = len ? memchr(text, '\0', len) : NULL;
  if (nul)
    len = (size_t)(nul - text);

  /* choice: check every line before applying any. Wine applies lines one by
   * one and keeps the ones before a failure; Windows is untested. */
  struct cursor c = {text, len, 0};
  struct pair first = {0}, pr;
  const char *line;
  size_t llen, count = 0;
  while (next_line(&c, &line, &llen)) {
    DWORD err = parse_line(line, llen, &pr);
    if (err)
      return err;
    if (count++ == 0)
      first = pr;
  }
  if (count == 0)
    return ERROR_SUCCESS; /* choice: Wine answers INVALID_HEADER for "\r\n" */
  if (count == 1)
    return apply_pair(h, first.name, first.nlen, first.value, first.vlen, modifiers);

  /* Several lines: apply to a copy and swap it in, so that a failure on line
   * k leaves no trace of lines 1..k-1. Request stores hold a handful of
   * headers; the copy costs less than an undo log would. */
  struct wh_headers tmp;
  DWORD err = clone(h, &tmp);
  if (err)
    return err;
  c.pos = 0;
  while (next_line(&c, &line, &llen)) {
    (void)parse_line(line, llen, &pr); /* checked above */
    err = apply_pair(&tmp, pr.name, pr.nlen, pr.value, pr.vlen, modifiers);
    if (err) {
      wh_headers_free(&tmp);
      return err;
    }
  }
  wh_headers_free(h);
  *h = tmp;
  return ERROR_SUCCESS;
}

/* --- serialisation ------------------------------------------------------- */

static DWORD buf_err(int rc)
{
  return rc == WH_BUF_TOOBIG ? ERROR_WINHTTP_HEADER_SIZE_OVERFLOW : ERROR_NOT_ENOUGH_MEMORY;
}

/* Appends to |b| unless an earlier append failed: the first error sticks in
 * |*rc|, so a run of appends needs one check at the end. */
static void put(struct wh_buf *b, int *rc, const char *p, size_t n)
{
  if (*rc == 0)
    *rc = wh_buf_add(b, p, n);
}

static void puts0(struct wh_buf *b, int *rc, const char *s)
{
  put(b, rc, s, strlen(s));
}

/* Appends the header lines, each ended by |sep| (|seplen| bytes). */
static void add_lines(const struct wh_headers *h, struct wh_buf *b, int *rc, const char *sep,
                      size_t seplen)
{
  for (size_t i = 0; i < h->n && *rc == 0; i++) {
    const struct wh_header *e = &h->v[i];
    put(b, rc, e->name, e->name_len);
    put(b, rc, ": ", 2);
    put(b, rc, e->value, e->value_len);
    put(b, rc, sep, seplen);
  }
}

DWORD wh_headers_serialize(const struct wh_headers *h, struct wh_buf *out)
{
  size_t old = out->len;
  int rc = 0;
  add_lines(h, out, &rc, "\r\n", 2);
  if (rc) {
    out->len = old;
    if (out->p)
      out->p[old] = '\0';
    return buf_err(rc);
  }
  return ERROR_SUCCESS;
}

DWORD wh_headers_serialize_as(const struct wh_headers *h, const char *name, size_t nlen,
                              const char *value, size_t vlen, struct wh_buf *out)
{
  if (!valid_name(name, nlen) || !valid_value(value, vlen))
    return ERROR_WINHTTP_INVALID_HEADER;
  size_t old = out->len;
  int rc = 0;
  bool replaced = false;
  for (size_t i = 0; i < h->n && rc == 0; i++) {
    const struct wh_header *e = &h->v[i];
    bool here = !replaced && wh_casecmp_eq(e->name, e->name_len, name, nlen);
    put(out, &rc, e->name, e->name_len);
    put(out, &rc, ": ", 2);
    put(out, &rc, here ? value : e->value, here ? vlen : e->value_len);
    put(out, &rc, "\r\n", 2);
    replaced |= here;
  }
  if (!replaced) {
    put(out, &rc, name, nlen);
    put(out, &rc, ": ", 2);
    put(out, &rc, value, vlen);
    put(out, &rc, "\r\n", 2);
  }
  if (rc) {
    out->len = old;
    if (out->p)
      out->p[old] = '\0';
    return buf_err(rc);
  }
  return ERROR_SUCCESS;
}

/* --- queries ------------------------------------------------------------- */

/* Decimal digits of |v| into |buf| (at least 21 bytes); returns the length. */
static size_t fmt_uint(uint64_t v, char *buf)
{
  char tmp[21];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++)
    buf[i] = tmp[n - 1 - i];
  buf[n] = '\0';
  return n;
}

/* C strtol in base 10 over a byte run, clamped to [min, max] (Wine's
 * FLAG_NUMBER is wcstol on the value): leading SP/HTAB, an optional sign,
 * digits until the first other byte; no digits gives 0. */
static int64_t parse_number(const char *p, size_t len, int64_t min, int64_t max)
{
  size_t i = 0;
  while (i < len && wh_is_ows((unsigned char)p[i]))
    i++;
  bool neg = false;
  if (i < len && (p[i] == '+' || p[i] == '-'))
    neg = p[i++] == '-';
  /* The magnitude limit: max, or -min, computed without overflow. */
  uint64_t limit = neg ? (uint64_t)(-(min + 1)) + 1 : (uint64_t)max;
  uint64_t mag = 0;
  for (; i < len && wh_is_digit((unsigned char)p[i]); i++) {
    unsigned d = (unsigned)(p[i] - '0');
    if (mag > (limit - d) / 10)
      mag = limit; /* saturate, but keep consuming the digits */
    else
      mag = mag * 10 + d;
  }
  if (!neg)
    return (int64_t)mag;
  return mag == 0 ? 0 : -(int64_t)(mag - 1) - 1;
}

/* Turns the text |val| of a level into the result |fmt| asks for. */
static DWORD finish(const char *val, size_t vlen, DWORD fmt, const struct wh_query_ctx *ctx,
                    DWORD next, struct wh_query_result *out)
{
  if (fmt == WINHTTP_QUERY_FLAG_NUMBER) {
    int64_t n = parse_number(val, vlen, INT32_MIN, INT32_MAX);
    out->type = WH_Q_NUMBER;
    out->number = (uint32_t)(int32_t)n;
  } else if (fmt == WINHTTP_QUERY_FLAG_NUMBER64) {
    out->type = WH_Q_NUMBER64;
    out->number = (uint64_t)parse_number(val, vlen, INT64_MIN, INT64_MAX);
  } else if (fmt == WINHTTP_QUERY_FLAG_SYSTEMTIME) {
    /* choice: a value that is no HTTP-date is reported as no header, which
     * is how RFC 9110 §5.6.7 asks recipients to treat it. Wine uses its
     * lenient WinHttpTimeToSystemTime, which cannot fail. */
    if (!wh_date_parse_http(val, vlen, ctx->now, &out->time))
      return ERROR_WINHTTP_HEADER_NOT_FOUND;
    out->type = WH_Q_SYSTEMTIME;
  } else {
    out->text = wh_strndup(val, vlen);
    if (!out->text)
      return ERROR_NOT_ENOUGH_MEMORY;
    out->text_len = vlen;
    out->type = WH_Q_TEXT;
  }
  out->next_index = next;
  return ERROR_SUCCESS;
}

static const char *or_empty(const char *s)
{
  return s ? s : "";
}

/* RAW_HEADERS(_CRLF): the start line, then every header. For request
 * headers the start line is the request line (Wine test_WinHttpAddHeaders
 * expects "POST /posttest.php HTTP/1" at the start, before any send), for
 * responses the status line. CRLF form: every line ends in CRLF and a blank
 * line closes the block ("\r\n\r\n", test_basic_request). NUL form: every
 * line ends in NUL; the shim's terminator makes the double NUL. */
static DWORD raw(const struct wh_headers *h, const struct wh_query_ctx *ctx, bool req, bool crlf,
                 DWORD index, struct wh_query_result *out)
{
  struct wh_buf b;
  char code[21];
  const char *sep = crlf ? "\r\n" : "";
  size_t seplen = crlf ? 2 : 1; /* "" is one NUL byte */
  int rc = 0;

  if (!req && !ctx->resp_version)
    return ERROR_WINHTTP_HEADER_NOT_FOUND;
  wh_buf_init(&b, RAW_MAX);
  if (req) {
    puts0(&b, &rc, or_empty(ctx->verb));
    put(&b, &rc, " ", 1);
    puts0(&b, &rc, or_empty(ctx->path));
    put(&b, &rc, " ", 1);
    puts0(&b, &rc, or_empty(ctx->version));
  } else {
    puts0(&b, &rc, ctx->resp_version);
    put(&b, &rc, " ", 1);
    put(&b, &rc, code, fmt_uint(ctx->status_code, code));
    /* choice: no space after the code when there is no reason phrase. */
    if (ctx->status_text && ctx->status_text[0]) {
      put(&b, &rc, " ", 1);
      puts0(&b, &rc, ctx->status_text);
    }
  }
  put(&b, &rc, sep, seplen);
  add_lines(h, &b, &rc, sep, seplen);
  if (crlf)
    put(&b, &rc, "\r\n", 2);
  /* RAW_MAX cannot be reached by a store that fits in memory, so any
   * failure is a failed allocation. */
  if (rc) {
    wh_buf_free(&b);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  out->text = wh_buf_take(&b, &out->text_len);
  if (!out->text)
    return ERROR_NOT_ENOUGH_MEMORY;
  out->type = crlf ? WH_Q_TEXT : WH_Q_RAW_NUL;
  out->next_index = index; /* test_WinHttpAddHeaders: "index was incremented" is a failure */
  return ERROR_SUCCESS;
}

DWORD wh_headers_query(const struct wh_headers *h, const struct wh_query_ctx *ctx, DWORD info_level,
                       const char *custom_name, size_t custom_len, DWORD index,
                       struct wh_query_result *out)
{
  memset(out, 0, sizeof(*out));
  DWORD mods = info_level & ~(DWORD)QUERY_LEVEL_MASK;
  DWORD fmt = mods & QUERY_FORMAT_MODS;
  /* Wine's QUERY_MODIFIER_MASK rejects unknown bits through its level
   * range check; NUMBER64, TRAILERS and WIRE_ENCODING are in the SDK. */
  if (mods & ~QUERY_KNOWN_MODS)
    return ERROR_INVALID_PARAMETER;
  /* choice: one output format at a time; Wine silently prefers NUMBER. */
  if (fmt & (fmt - 1))
    return ERROR_INVALID_PARAMETER;
  const struct wh_query_level *ql = wh_query_level_get(info_level & QUERY_LEVEL_MASK);
  if (!ql)
    return ERROR_INVALID_PARAMETER;
  bool req = (mods & WINHTTP_QUERY_FLAG_REQUEST_HEADERS) != 0;
  const char *val = NULL;
  char code[21];
  size_t vlen;

  switch (ql->kind) {
  case WH_QK_HEADER:
  case WH_QK_CUSTOM: {
    const char *name = ql->name;
    size_t nlen = ql->name_len;
    if (ql->kind == WH_QK_CUSTOM) {
      if (!custom_name)
        return ERROR_INVALID_PARAMETER;
      name = custom_name;
      nlen = custom_len;
    }
    const struct wh_header *e = wh_headers_find(h, name, nlen, index);
    if (!e)
      return ERROR_WINHTTP_HEADER_NOT_FOUND;
    /* The index names the occurrence; success moves it to the next one
     * (test_WinHttpAddHeaders, test_multi_authentication). */
    return finish(e->value, e->value_len, fmt, ctx, index + 1, out);
  }
  case WH_QK_NONE:
  case WH_QK_ECHO:
    return ERROR_WINHTTP_HEADER_NOT_FOUND;
  case WH_QK_RAW_HEADERS:
  case WH_QK_RAW_HEADERS_CRLF:
    return raw(h, ctx, req, ql->kind == WH_QK_RAW_HEADERS_CRLF, index, out);
  case WH_QK_VERSION:
    val = req ? ctx->version : ctx->resp_version;
    break;
  case WH_QK_STATUS_CODE:
    if (!req && ctx->resp_version) {
      fmt_uint(ctx->status_code, code);
      val = code;
    }
    break;
  case WH_QK_STATUS_TEXT:
    if (!req && ctx->resp_version)
      val = or_empty(ctx->status_text);
    break;
  case WH_QK_REQUEST_METHOD:
    /* Works with or without FLAG_REQUEST_HEADERS and before any response
     * (test_WinHttpSendRequest queries it straight after OpenRequest). */
    val = ctx->verb;
    break;
  }
  if (!val)
    return ERROR_WINHTTP_HEADER_NOT_FOUND;
  vlen = strlen(val);
  return finish(val, vlen, fmt, ctx, index, out);
}

void wh_query_result_free(struct wh_query_result *r)
{
  wh_free(r->text);
  r->text = NULL;
  r->text_len = 0;
}

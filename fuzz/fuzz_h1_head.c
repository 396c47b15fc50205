/* libFuzzer target for the HTTP/1.1 response head (proto/h1_head.c).
 *
 * Input: byte 0 picks the limits and the request method, byte 1 the step of
 * the incremental scan and an out-of-memory point, the rest is what the
 * server sent. Checked:
 *  - wh_h1_head_end on the whole input equals the scan fed in steps with
 *    the resume offset, which never goes backwards or past the bytes;
 *  - a head that is not "HTTP/" is refused by the parser too;
 *  - a parsed head keeps every invariant (version, status range, reason and
 *    fields free of CR/LF/NUL and edge white space, token names, limits);
 *  - it survives the round trip: status line + wh_headers_serialize ->
 *    find the end -> parse gives the same response and the same framing;
 *    and wh_h1_request_head with the same store parses back to it;
 *  - framing answers are consistent for every method (NONE for HEAD, no
 *    keep-alive when delimited by the close, length only with LENGTH);
 *  - with an allocation failing somewhere, parsing either runs out of
 *    memory or gives the same answer, and leaks nothing;
 *  - a chunked body after the head decodes without trouble.
 * Any broken invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <winhttp.h>

#include "proto/h1.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                  \
  do {                                                                                            \
    if (!(x))                                                                                     \
      abort();                                                                                    \
  } while (0)

static const size_t max_heads[4] = {0, 65536, 256, 32};
static const size_t max_counts[4] = {0, 100, 4, 1};
static const char *const methods[8] = {"GET", "HEAD", "CONNECT", "POST", NULL, "head", "PUT",
                                       "OPTIONS"};

static bool clean_text(const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
      return false;
  return n == 0 || (!wh_is_ows((unsigned char)p[0]) && !wh_is_ows((unsigned char)p[n - 1]));
}

static void check_response(const struct wh_resp_head *r, const struct wh_h1_limits *lim)
{
  CHECK(r->version_major == 1 && r->version_minor <= 9);
  CHECK(r->status >= 100 && r->status <= 999);
  CHECK(r->reason && strlen(r->reason) == r->reason_len);
  CHECK(clean_text(r->reason, r->reason_len));
  CHECK(lim->max_count == 0 || r->headers.n <= lim->max_count);
  for (size_t i = 0; i < r->headers.n; i++) {
    const struct wh_header *h = &r->headers.v[i];
    CHECK(h->name_len > 0 && strlen(h->name) == h->name_len);
    for (size_t k = 0; k < h->name_len; k++)
      CHECK(wh_is_tchar((unsigned char)h->name[k]));
    CHECK(clean_text(h->value, h->value_len));
  }
  CHECK(strncmp(wh_resp_version_string(r), "HTTP/1.", 7) == 0);
}

static void check_framing(const struct wh_resp_head *r, const char *method,
                          struct wh_h1_framing *f, DWORD *err)
{
  *err = wh_h1_framing(r, method, f);
  CHECK(*err == ERROR_SUCCESS || *err == ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  CHECK(f->kind <= WH_H1_BODY_CLOSE);
  if (*err) {
    CHECK(f->kind == WH_H1_BODY_CLOSE && !f->keep_alive);
    return;
  }
  if (f->kind != WH_H1_BODY_LENGTH)
    CHECK(f->length == 0);
  if (f->kind == WH_H1_BODY_CLOSE)
    CHECK(!f->keep_alive);
  if ((method && strcmp(method, "HEAD") == 0) || r->status < 200 || r->status == 204 ||
      r->status == 304)
    CHECK(f->kind == WH_H1_BODY_NONE);
  CHECK(f->interim == (r->status < 200 && r->status != 101));
  CHECK(f->upgrade == (r->status == 101));
  if (f->upgrade || f->tunnel)
    CHECK(!f->keep_alive && f->kind == WH_H1_BODY_NONE);
  if (f->transfer_coded)
    CHECK(f->kind == WH_H1_BODY_CHUNKED);
  if (r->version_minor == 0 && f->keep_alive)
    CHECK(wh_headers_find(&r->headers, "Connection", 10, 0) != NULL);
}

/* Status line + serialised store + empty line must parse back the same. */
static void round_trip(const struct wh_resp_head *r, const struct wh_h1_limits *lim,
                       const char *method)
{
  struct wh_buf b;
  char line[32];
  wh_buf_init(&b, SIZE_MAX / 2);
  line[0] = 'H', line[1] = 'T', line[2] = 'T', line[3] = 'P', line[4] = '/', line[5] = '1';
  line[6] = '.';
  line[7] = (char)('0' + r->version_minor);
  line[8] = ' ';
  line[9] = (char)('0' + r->status / 100);
  line[10] = (char)('0' + r->status / 10 % 10);
  line[11] = (char)('0' + r->status % 10);
  line[12] = ' ';
  CHECK(wh_buf_add(&b, line, 13) == 0);
  CHECK(wh_buf_add(&b, r->reason, r->reason_len) == 0);
  CHECK(wh_buf_add(&b, "\r\n", 2) == 0);
  CHECK(wh_headers_serialize(&r->headers, &b) == ERROR_SUCCESS);
  CHECK(wh_buf_add(&b, "\r\n", 2) == 0);

  size_t end;
  CHECK(wh_h1_head_end(b.p, b.len, 0, &end) == ERROR_SUCCESS);
  CHECK(end == b.len);
  struct wh_resp_head again;
  CHECK(wh_h1_parse_head(b.p, b.len, lim, &again) == ERROR_SUCCESS);
  CHECK(again.version_minor == r->version_minor && again.status == r->status);
  CHECK(again.reason_len == r->reason_len && memcmp(again.reason, r->reason, r->reason_len) == 0);
  CHECK(again.headers.n == r->headers.n && again.headers.bytes == r->headers.bytes);
  for (size_t i = 0; i < r->headers.n; i++) {
    const struct wh_header *x = &r->headers.v[i], *y = &again.headers.v[i];
    CHECK(x->name_len == y->name_len && memcmp(x->name, y->name, x->name_len) == 0);
    CHECK(x->value_len == y->value_len && memcmp(x->value, y->value, x->value_len) == 0);
  }
  struct wh_h1_framing f1, f2;
  DWORD e1, e2;
  check_framing(r, method, &f1, &e1);
  check_framing(&again, method, &f2, &e2);
  CHECK(e1 == e2 && memcmp(&f1, &f2, sizeof(f1)) == 0);
  wh_resp_head_free(&again);

  /* The same store as request headers: the request head serialiser
   * accepts it, and its field lines parse back to the same store. */
  wh_buf_reset(&b);
  CHECK(wh_h1_request_head(method, "/p?q", NULL, &r->headers, &b) == ERROR_SUCCESS);
  const char *fields = memchr(b.p, '\n', b.len);
  CHECK(fields);
  fields++;
  struct wh_headers h;
  wh_headers_init(&h);
  CHECK(wh_h1_parse_fields(fields, b.len - (size_t)(fields - b.p), &h) == ERROR_SUCCESS);
  CHECK(h.n == r->headers.n && h.bytes == r->headers.bytes);
  wh_headers_free(&h);
  wh_buf_free(&b);
}

static bool same_response(const struct wh_resp_head *a, const struct wh_resp_head *b)
{
  if (a->status != b->status || a->version_minor != b->version_minor ||
      a->reason_len != b->reason_len || memcmp(a->reason, b->reason, a->reason_len) != 0 ||
      a->headers.n != b->headers.n)
    return false;
  for (size_t i = 0; i < a->headers.n; i++)
    if (strcmp(a->headers.v[i].name, b->headers.v[i].name) != 0 ||
        strcmp(a->headers.v[i].value, b->headers.v[i].value) != 0)
      return false;
  return true;
}

/* The body after the head, when chunked: must not misbehave. */
static void decode_body(const char *p, size_t n)
{
  struct wh_headers tr;
  struct wh_chunked c;
  wh_headers_init(&tr);
  wh_chunked_init(&c, 0, 0, &tr);
  for (;;) {
    size_t used, dlen;
    const char *d;
    DWORD err = wh_chunked_decode(&c, p, n, &used, &d, &dlen);
    CHECK(used <= n);
    if (dlen)
      CHECK(d >= p && d + dlen <= p + used);
    p += used;
    n -= used;
    if (err || wh_chunked_done(&c) || dlen == 0)
      break;
  }
  wh_chunked_free(&c);
  wh_headers_free(&tr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  const unsigned cfg = data[0], cfg2 = data[1];
  const char *buf = (const char *)data + 2;
  const size_t len = size - 2;
  const size_t max_head = max_heads[cfg & 3];
  const struct wh_h1_limits lim = {max_counts[(cfg >> 2) & 3], 0};
  const char *method = methods[(cfg >> 4) & 7];

  /* The whole input at once. */
  size_t end = 0;
  DWORD err = wh_h1_head_end(buf, len, max_head, &end);
  CHECK(err == ERROR_SUCCESS || err == ERROR_IO_PENDING ||
        err == ERROR_WINHTTP_HEADER_SIZE_OVERFLOW ||
        err == ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  if (err == ERROR_SUCCESS)
    CHECK(end > 0 && end <= len && (max_head == 0 || end <= max_head) && buf[end - 1] == '\n');

  /* The same bytes arriving |step| at a time, resuming each scan. */
  size_t step = (cfg2 & 15) + 1, from = 0, got = 0, k = 0;
  DWORD inc = ERROR_IO_PENDING;
  for (;;) {
    k = k + step < len ? k + step : len;
    inc = wh_h1_head_end_from(buf, k, max_head, from, &got);
    if (inc != ERROR_IO_PENDING)
      break;
    CHECK(got >= from && got <= k);
    from = got;
    if (k == len)
      break;
  }
  CHECK(inc == err);
  if (err == ERROR_SUCCESS)
    CHECK(got == end);

  /* The parser sees what the finder saw; garbage from the finder is
   * garbage to the parser too. Parse the whole input as well: it must
   * simply not crash. */
  struct wh_resp_head r;
  DWORD perr = wh_h1_parse_head(buf, err == ERROR_SUCCESS ? end : len, &lim, &r);
  CHECK(perr == ERROR_SUCCESS || perr == ERROR_WINHTTP_INVALID_SERVER_RESPONSE ||
        perr == ERROR_WINHTTP_HEADER_COUNT_EXCEEDED);
  if (err == ERROR_WINHTTP_INVALID_SERVER_RESPONSE)
    CHECK(perr == ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  if (perr == ERROR_SUCCESS) {
    check_response(&r, &lim);
    for (size_t m = 0; m < 8; m++) {
      struct wh_h1_framing f;
      DWORD ferr;
      check_framing(&r, methods[m], &f, &ferr);
    }
    round_trip(&r, &lim, method);

    struct wh_h1_framing f;
    DWORD ferr;
    check_framing(&r, method, &f, &ferr);
    if (err == ERROR_SUCCESS && ferr == ERROR_SUCCESS && f.kind == WH_H1_BODY_CHUNKED)
      decode_body(buf + end, len - end);
  } else {
    CHECK(r.reason == NULL && r.headers.v == NULL && r.headers.n == 0);
  }

  /* Out of memory at a chosen point: the same answer or NOMEM, no leak. */
  if (cfg & 0x80) {
    struct wh_resp_head o;
    wh_mem_fail_after((long)(cfg2 >> 4));
    DWORD oerr = wh_h1_parse_head(buf, err == ERROR_SUCCESS ? end : len, &lim, &o);
    wh_mem_fail_reset();
    CHECK(oerr == perr || oerr == ERROR_NOT_ENOUGH_MEMORY);
    if (oerr == ERROR_SUCCESS)
      CHECK(same_response(&r, &o));
    wh_resp_head_free(&o);
  }
  wh_resp_head_free(&r);

  /* The field parser alone on the raw bytes. */
  struct wh_headers h;
  wh_headers_init(&h);
  wh_headers_set_limits(&h, 0, lim.max_count);
  if (wh_h1_parse_fields(buf, len, &h) != ERROR_SUCCESS)
    CHECK(h.n == 0);
  wh_headers_free(&h);
  return 0;
}

/* libFuzzer target for the header store (src/proto/headers.c), the code
 * under WinHttpAddRequestHeaders and WinHttpQueryHeaders.
 *
 * Input: 4 bytes of dwModifiers (little-endian), then the header text. The
 * low 16 bits are the ADDREQ index, which the store ignores, so they double
 * as knobs for this harness:
 *   bits 0-5  n > 0: fail allocations after n - 1 successful ones
 *   bits 6-7  limits on the store: none, 6 headers, 160 bytes, both
 *   bit  8    also apply the text once more as a single name/value pair
 * The text is applied to a store holding a few headers. Checked after every
 * step: a failure leaves the store byte-for-byte as it was; no name is empty
 * or holds a non-token byte; no value holds CR, LF or NUL or starts or ends
 * with white space; the byte count matches; the serialised store parses back
 * to the same headers; every query level answers with a documented error or
 * with text that agrees with the store. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winhttp.h>

#include "proto/headers.h"
#include "proto/query_level.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                               \
    }                                                                        \
  } while (0)

static const char prefill[] = "Host: example.com\r\nAccept: */*\r\nWarning: a\r\nwarning: b";

static const struct wh_query_ctx req_ctx = {
  .verb = "GET", .path = "/x?y", .version = "HTTP/1.1", .now = 1700000000};
static const struct wh_query_ctx resp_ctx = {.verb = "GET",
                                             .path = "/x?y",
                                             .version = "HTTP/1.1",
                                             .resp_version = "HTTP/1.1",
                                             .status_code = 200,
                                             .status_text = "OK",
                                             .now = 1700000000};

static char *serialize(const struct wh_headers *h, size_t *len)
{
  struct wh_buf b;
  wh_buf_init(&b, SIZE_MAX / 4);
  CHECK(wh_headers_serialize(h, &b) == ERROR_SUCCESS);
  char *s = wh_buf_take(&b, len);
  CHECK(s != NULL);
  return s;
}

static void check_invariants(const struct wh_headers *h)
{
  size_t bytes = 0;
  CHECK(h->n <= h->cap || (h->n == 0 && h->cap == 0));
  for (size_t i = 0; i < h->n; i++) {
    const struct wh_header *e = &h->v[i];
    CHECK(e->name && e->value);
    CHECK(e->name_len > 0 && strlen(e->name) == e->name_len);
    CHECK(strlen(e->value) == e->value_len); /* no NUL inside */
    for (size_t k = 0; k < e->name_len; k++)
      CHECK(wh_is_tchar((unsigned char)e->name[k]));
    for (size_t k = 0; k < e->value_len; k++)
      CHECK(e->value[k] != '\r' && e->value[k] != '\n');
    if (e->value_len) {
      CHECK(!wh_is_ows((unsigned char)e->value[0]));
      CHECK(!wh_is_ows((unsigned char)e->value[e->value_len - 1]));
    }
    bytes += e->name_len + e->value_len + 4;
  }
  CHECK(bytes == h->bytes);
}

static void check_same(const struct wh_headers *a, const struct wh_headers *b)
{
  CHECK(a->n == b->n);
  for (size_t i = 0; i < a->n; i++) {
    CHECK(a->v[i].name_len == b->v[i].name_len);
    CHECK(memcmp(a->v[i].name, b->v[i].name, a->v[i].name_len) == 0);
    CHECK(a->v[i].value_len == b->v[i].value_len);
    CHECK(memcmp(a->v[i].value, b->v[i].value, a->v[i].value_len) == 0);
  }
}

/* The serialised form, fed back through the parser, gives the same store. */
static void check_round_trip(const struct wh_headers *h)
{
  size_t len;
  char *s = serialize(h, &len);
  struct wh_headers back;
  wh_headers_init(&back);
  CHECK(wh_headers_apply(&back, s, len, WINHTTP_ADDREQ_FLAG_ADD) == ERROR_SUCCESS);
  check_same(h, &back);
  wh_headers_free(&back);
  wh_free(s);
}

static int allowed_apply_error(DWORD err)
{
  switch (err) {
  case ERROR_SUCCESS:
  case ERROR_WINHTTP_INVALID_HEADER:
  case ERROR_WINHTTP_HEADER_ALREADY_EXISTS:
  case ERROR_WINHTTP_HEADER_NOT_FOUND:
  case ERROR_WINHTTP_HEADER_COUNT_EXCEEDED:
  case ERROR_WINHTTP_HEADER_SIZE_OVERFLOW:
  case ERROR_NOT_ENOUGH_MEMORY:
    return 1;
  default:
    return 0;
  }
}

/* Runs one mutation under the OOM knob; a failure must leave no trace. */
static DWORD mutate(struct wh_headers *h, long oom, const char *name, size_t nlen,
                    const char *text, size_t len, DWORD mods)
{
  size_t blen, alen;
  char *before = serialize(h, &blen);
  size_t before_n = h->n;
  if (oom > 0)
    wh_mem_fail_after(oom - 1);
  DWORD err = name ? wh_headers_apply_one(h, name, nlen, text, len, mods)
                   : wh_headers_apply(h, text, len, mods);
  wh_mem_fail_reset();
  CHECK(allowed_apply_error(err));
  if (oom == 0)
    CHECK(err != ERROR_NOT_ENOUGH_MEMORY);
  if (err != ERROR_SUCCESS) {
    char *after = serialize(h, &alen);
    CHECK(h->n == before_n && alen == blen && memcmp(before, after, blen) == 0);
    wh_free(after);
  }
  wh_free(before);
  check_invariants(h);
  return err;
}

static void check_query_result(const struct wh_headers *h, const struct wh_query_ctx *ctx,
                               DWORD level, DWORD info, const char *cname, size_t clen,
                               DWORD index, DWORD err, const struct wh_query_result *r)
{
  const struct wh_query_level *ql = wh_query_level_get(level);
  DWORD fmt = info & (WINHTTP_QUERY_FLAG_NUMBER | WINHTTP_QUERY_FLAG_NUMBER64 |
                      WINHTTP_QUERY_FLAG_SYSTEMTIME);
  CHECK(ql != NULL);
  if (err != ERROR_SUCCESS) {
    CHECK(err == ERROR_WINHTTP_HEADER_NOT_FOUND || err == ERROR_NOT_ENOUGH_MEMORY);
    CHECK(r->text == NULL);
    if (err == ERROR_WINHTTP_HEADER_NOT_FOUND && (ql->kind == WH_QK_HEADER || ql->kind == WH_QK_CUSTOM) &&
        fmt != WINHTTP_QUERY_FLAG_SYSTEMTIME)
      CHECK(wh_headers_find(h, ql->kind == WH_QK_CUSTOM ? cname : ql->name,
                            ql->kind == WH_QK_CUSTOM ? clen : ql->name_len, index) == NULL);
    return;
  }
  if (r->type == WH_Q_TEXT || r->type == WH_Q_RAW_NUL) {
    CHECK(r->text != NULL && r->text[r->text_len] == '\0');
  } else {
    CHECK(r->text == NULL);
  }
  if (ql->kind == WH_QK_HEADER || ql->kind == WH_QK_CUSTOM) {
    const struct wh_header *e = wh_headers_find(h, ql->kind == WH_QK_CUSTOM ? cname : ql->name,
                                                ql->kind == WH_QK_CUSTOM ? clen : ql->name_len,
                                                index);
    CHECK(e != NULL);
    CHECK(r->next_index == index + 1);
    if (fmt == 0) {
      CHECK(r->type == WH_Q_TEXT);
      CHECK(r->text_len == e->value_len && memcmp(r->text, e->value, e->value_len) == 0);
    }
    return;
  }
  CHECK(r->next_index == index);
  if (ql->kind == WH_QK_RAW_HEADERS || ql->kind == WH_QK_RAW_HEADERS_CRLF) {
    /* The start line, then exactly one line per header, in order. */
    size_t lines = 0, start = 0;
    int crlf = ql->kind == WH_QK_RAW_HEADERS_CRLF;
    CHECK(r->type == (crlf ? WH_Q_TEXT : WH_Q_RAW_NUL));
    for (size_t i = 0; i < r->text_len; i++) {
      char c = r->text[i];
      if (crlf ? c == '\r' : c == '\0') {
        if (crlf)
          CHECK(i + 1 < r->text_len && r->text[++i] == '\n');
        if (lines >= 1 && lines <= h->n) {
          const struct wh_header *e = &h->v[lines - 1];
          size_t end = i - (crlf ? 1u : 0u);
          CHECK(end - start == e->name_len + 2 + e->value_len);
          CHECK(memcmp(r->text + start, e->name, e->name_len) == 0);
          CHECK(memcmp(r->text + start + e->name_len + 2, e->value, e->value_len) == 0);
        }
        lines++;
        start = i + 1;
      } else {
        CHECK(c != '\r' && c != '\n' && c != '\0');
      }
    }
    CHECK(start == r->text_len);
    CHECK(lines == h->n + 1 + (crlf ? 1u : 0u)); /* CRLF form ends with a blank line */
    (void)ctx;
  }
}

static void query_all(const struct wh_headers *h, const struct wh_query_ctx *ctx, const char *cname,
                      size_t clen)
{
  static const DWORD fmts[] = {0, WINHTTP_QUERY_FLAG_NUMBER, WINHTTP_QUERY_FLAG_NUMBER64,
                               WINHTTP_QUERY_FLAG_SYSTEMTIME};
  for (DWORD level = 0; level <= WH_QUERY_LEVEL_MAX + 1; level++) {
    DWORD lv = level <= WH_QUERY_LEVEL_MAX ? level : (DWORD)WINHTTP_QUERY_CUSTOM;
    for (size_t f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++) {
      for (DWORD index = 0; index < 3; index++) {
        for (int req = 0; req < 2; req++) {
          DWORD info = lv | fmts[f] | (req ? (DWORD)WINHTTP_QUERY_FLAG_REQUEST_HEADERS : 0);
          struct wh_query_result r;
          DWORD err = wh_headers_query(h, ctx, info, cname, clen, index, &r);
          check_query_result(h, ctx, lv, info, cname, clen, index, err, &r);
          wh_query_result_free(&r);
        }
      }
    }
  }
  /* And past the end of the table. */
  struct wh_query_result r;
  CHECK(wh_headers_query(h, ctx, WH_QUERY_LEVEL_MAX + 1, NULL, 0, 0, &r) == ERROR_INVALID_PARAMETER);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 4)
    return 0;
  DWORD mods = (DWORD)data[0] | (DWORD)data[1] << 8 | (DWORD)data[2] << 16 | (DWORD)data[3] << 24;
  const char *text = (const char *)data + 4;
  size_t len = size - 4;
  long oom = (long)(mods & 0x3F);
  unsigned limits = (mods >> 6) & 3;

  struct wh_headers h;
  wh_headers_init(&h);
  CHECK(wh_headers_apply(&h, prefill, sizeof(prefill) - 1, WINHTTP_ADDREQ_FLAG_ADD) == 0);
  /* 0x200: what follows is carved from a fresh slab of 0-252 bytes (bits
   * 10-15) when the prefill's copy left none, as a parsed head's are. */
  if (mods & 0x200) {
    wh_headers_free(&h);
    wh_headers_init(&h);
    wh_headers_reserve(&h, 4, ((mods >> 10) & 0x3F) * 4);
    for (const char *l = prefill; *l;) {
      const char *e = strstr(l, "\r\n");
      size_t n = e ? (size_t)(e - l) : strlen(l);
      CHECK(wh_headers_apply(&h, l, n, WINHTTP_ADDREQ_FLAG_ADD) == 0);
      l += e ? n + 2 : n;
    }
  }
  wh_headers_set_limits(&h, (limits & 2) ? 160 : 0, (limits & 1) ? 6 : 0);
  check_invariants(&h);

  mutate(&h, oom, NULL, 0, text, len, mods);
  if (mods & 0x100) {
    /* The text once more, split at its first colon, through the pair API. */
    const char *colon = memchr(text, ':', len);
    size_t nlen = colon ? (size_t)(colon - text) : len;
    const char *value = colon ? colon + 1 : NULL;
    size_t vlen = colon ? len - nlen - 1 : 0;
    mutate(&h, oom, text, nlen, value, vlen, mods);
  }
  check_round_trip(&h);

  /* CUSTOM asks for the first header's name when there is one, else for
   * the start of the input. */
  const char *cname = h.n ? h.v[0].name : text;
  size_t clen = h.n ? h.v[0].name_len : (len < 16 ? len : 16);
  query_all(&h, &req_ctx, cname, clen);
  query_all(&h, &resp_ctx, cname, clen);

  wh_headers_free(&h);
  return 0;
}

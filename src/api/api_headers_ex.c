/* WinHttpAddRequestHeadersEx and WinHttpQueryHeadersEx: the name/value pair
 * forms of WinHttpAddRequestHeaders and WinHttpQueryHeaders (Microsoft Learn,
 * "WinHttpAddRequestHeadersEx function" and "WinHttpQueryHeadersEx
 * function"). The header semantics are the store's (proto/headers.c); this
 * file converts strings, checks arguments and state, and lays the result out
 * in the caller's buffer.
 *
 * Both return their Win32 error code directly and leave the last error
 * alone, as WinHttpReadDataEx does (WINHTTP-API.md §1: the *Ex functions do
 * not rely on last-error).
 *
 * Choices Microsoft's pages leave open are marked "choice:" and listed in
 * docs/COMPAT.md. */
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>

#include <winhttp.h>

#include "api/api.h"
#include "core/handle.h"
#include "core/object.h"
#include "proto/headers.h"
#include "proto/query_level.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/utf.h"

/* ======================= WinHttpAddRequestHeadersEx ====================== */

/* One caller pair as UTF-8 bytes. Wide input is converted into the owned_*
 * copies; narrow input is borrowed from the caller. */
struct in_pair {
  const char *name, *value;
  size_t nlen, vlen;
  char *owned_name, *owned_value;
};

/* Microsoft: ullFlags takes WINHTTP_EXTENDED_HEADER_FLAG_UNICODE, ullExtra
 * is "Reserved". choice: any other ullFlags bit and any non-zero ullExtra
 * are ERROR_INVALID_PARAMETER, as WinHttpReadDataEx treats its reserved
 * arguments; so are an empty array and a NULL one. */
static DWORD check_add_args(ULONGLONG flags, ULONGLONG extra, DWORD count,
                            const WINHTTP_EXTENDED_HEADER *headers)
{
  if (flags & ~(ULONGLONG)WINHTTP_EXTENDED_HEADER_FLAG_UNICODE)
    return ERROR_INVALID_PARAMETER;
  if (extra != 0 || count == 0 || !headers)
    return ERROR_INVALID_PARAMETER;
  return ERROR_SUCCESS;
}

static DWORD wide_to_pair_field(PCWSTR w, char **owned, const char **out, size_t *len)
{
  if (wh_utf8_from_wide(w, (size_t)-1, owned, len))
    return ERROR_NOT_ENOUGH_MEMORY;
  *out = *owned;
  return ERROR_SUCCESS;
}

/* A NULL name is ERROR_INVALID_PARAMETER. choice: a NULL value is the empty
 * value (so REPLACE with a NULL value removes the header, as an empty one
 * does). choice: narrow strings are the bytes to send, taken as UTF-8 (the
 * ANSI code page of this implementation) and not re-encoded or checked:
 * bytes >= 0x80 in a value go on the wire as given, and in a name they fail
 * the token check like any non-token byte. */
static DWORD convert_pair(const WINHTTP_EXTENDED_HEADER *e, bool wide, struct in_pair *out)
{
  if (!wide) {
    if (!e->pszName)
      return ERROR_INVALID_PARAMETER;
    out->name = e->pszName;
    out->nlen = strlen(e->pszName);
    out->value = e->pszValue ? e->pszValue : "";
    out->vlen = strlen(out->value);
    return ERROR_SUCCESS;
  }
  if (!e->pwszName)
    return ERROR_INVALID_PARAMETER;
  DWORD err = wide_to_pair_field(e->pwszName, &out->owned_name, &out->name, &out->nlen);
  if (err == ERROR_SUCCESS && e->pwszValue)
    err = wide_to_pair_field(e->pwszValue, &out->owned_value, &out->value, &out->vlen);
  else if (err == ERROR_SUCCESS) {
    out->value = "";
    out->vlen = 0;
  }
  return err;
}

static void free_pairs(struct in_pair *p, DWORD count)
{
  if (!p)
    return;
  for (DWORD i = 0; i < count; i++) {
    wh_free(p[i].owned_name);
    wh_free(p[i].owned_value);
  }
  wh_free(p);
}

static DWORD convert_all(const WINHTTP_EXTENDED_HEADER *headers, DWORD count, bool wide,
                         struct in_pair **out)
{
  struct in_pair *p = wh_calloc(count, sizeof(*p));
  if (!p)
    return ERROR_NOT_ENOUGH_MEMORY;
  DWORD err = ERROR_SUCCESS;
  for (DWORD i = 0; i < count && err == ERROR_SUCCESS; i++)
    err = convert_pair(&headers[i], wide, &p[i]);
  if (err != ERROR_SUCCESS) {
    free_pairs(p, count);
    return err;
  }
  *out = p;
  return ERROR_SUCCESS;
}

/* The syntax wh_headers_apply_one() enforces (an RFC 9110 token name; no CR,
 * LF or NUL in the value, which a C string cannot hold anyway), checked for
 * every pair before any is applied, so a malformed pair anywhere in the
 * array is reported as WinHttpAddRequestHeaders reports a malformed line:
 * ERROR_WINHTTP_INVALID_HEADER, before any modifier error. */
static bool pair_valid(const struct in_pair *p)
{
  if (p->nlen == 0)
    return false;
  for (size_t i = 0; i < p->nlen; i++)
    if (!wh_is_tchar((unsigned char)p->name[i]))
      return false;
  for (size_t i = 0; i < p->vlen; i++)
    if (p->value[i] == '\r' || p->value[i] == '\n')
      return false;
  return true;
}

/* A deep copy of |src| with its limits, for the all-or-nothing application
 * of several pairs (the approach wh_headers_apply takes for several lines).
 * Stored headers are already valid and trimmed, so appending them again
 * reproduces them exactly, in order. */
static DWORD clone_store(const struct wh_headers *src, struct wh_headers *dst)
{
  wh_headers_init(dst);
  for (size_t i = 0; i < src->n; i++) {
    const struct wh_header *e = &src->v[i];
    DWORD err = wh_headers_apply_one(dst, e->name, e->name_len, e->value, e->value_len,
                                     WINHTTP_ADDREQ_FLAG_ADD);
    if (err != ERROR_SUCCESS) {
      wh_headers_free(dst);
      return err;
    }
  }
  /* Set after the copy: limits only refuse growth. */
  wh_headers_set_limits(dst, src->max_bytes, src->max_count);
  return ERROR_SUCCESS;
}

/* Applies every pair with |mods| to |h| or none: a copy takes the pairs and
 * replaces the store only when all of them succeeded. Call under the
 * request's lock. */
static DWORD apply_all(struct wh_headers *h, const struct in_pair *p, DWORD count, DWORD mods)
{
  if (count == 1) /* one pair is atomic already (headers.h) */
    return wh_headers_apply_one(h, p->name, p->nlen, p->value, p->vlen, mods);
  struct wh_headers tmp;
  DWORD err = clone_store(h, &tmp);
  for (DWORD i = 0; i < count && err == ERROR_SUCCESS; i++)
    err = wh_headers_apply_one(&tmp, p[i].name, p[i].nlen, p[i].value, p[i].vlen, mods);
  if (err != ERROR_SUCCESS) {
    wh_headers_free(&tmp);
    return err;
  }
  wh_headers_free(h);
  *h = tmp;
  return ERROR_SUCCESS;
}

/* Modifiers as WinHttpAddRequestHeaders takes them (every WINHTTP_ADDREQ_*
 * flag; the low 16 index bits ignored). choice: like WinHttpAddRequestHeaders
 * here, no request state is refused; headers added after SendRequest apply
 * to the next send. */
DWORD WINAPI WinHttpAddRequestHeadersEx(HINTERNET hRequest, DWORD dwModifiers, ULONGLONG ullFlags,
                                        ULONGLONG ullExtra, DWORD cHeaders,
                                        WINHTTP_EXTENDED_HEADER *pHeaders)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(hRequest, WH_REQUEST, &o);
  if (err != ERROR_SUCCESS)
    return err;
  struct in_pair *pairs = NULL;
  err = check_add_args(ullFlags, ullExtra, cHeaders, pHeaders);
  if (err == ERROR_SUCCESS)
    err = convert_all(pHeaders, cHeaders,
                      (ullFlags & WINHTTP_EXTENDED_HEADER_FLAG_UNICODE) != 0, &pairs);
  for (DWORD i = 0; err == ERROR_SUCCESS && i < cHeaders; i++)
    if (!pair_valid(&pairs[i]))
      err = ERROR_WINHTTP_INVALID_HEADER;
  if (err == ERROR_SUCCESS) {
    struct wh_request *r = wh_request_of(o);
    pthread_mutex_lock(&o->lock);
    err = apply_all(&r->headers, pairs, cHeaders, dwModifiers);
    pthread_mutex_unlock(&o->lock);
  }
  free_pairs(pairs, cHeaders);
  wh_handle_put(o);
  return err;
}

/* ========================= WinHttpQueryHeadersEx ========================= */

#define QEX_LEVEL_MASK 0x0000FFFFu
/* Microsoft's page refuses FLAG_NUMBER, FLAG_NUMBER64 and FLAG_SYSTEMTIME
 * with ERROR_INVALID_PARAMETER; leaving them out of this set does that. */
#define QEX_KNOWN_MODS                                                              \
  ((DWORD)(WINHTTP_QUERY_FLAG_REQUEST_HEADERS | WINHTTP_QUERY_FLAG_TRAILERS | \
           WINHTTP_QUERY_FLAG_WIRE_ENCODING))

/* The array of WINHTTP_EXTENDED_HEADER starts at this alignment inside the
 * caller's buffer; the strings follow it (wide strings stay WCHAR-aligned
 * because the array size and every string size are multiples of 4). */
#define QEX_ALIGN alignof(WINHTTP_EXTENDED_HEADER)

enum qex_source { QEX_REQUEST, QEX_RESPONSE, QEX_TRAILERS };

/* What the caller asked for. */
struct qex_spec {
  enum qex_source src;
  bool narrow;       /* WINHTTP_QUERY_FLAG_WIRE_ENCODING: psz* members */
  bool all;          /* WINHTTP_QUERY_EX_ALL_HEADERS */
  bool none;         /* a level with no header behind it: HEADER_NOT_FOUND */
  const char *name;  /* the header, when !all && !none */
  size_t nlen;
  char *owned_name;  /* a converted pwszName */
  DWORD index;
};

/* The headers picked from a store, copied under the lock. */
struct qex_snap {
  struct wh_header *v;
  size_t n;
  DWORD next_index;
};

static void snap_free(struct qex_snap *s)
{
  for (size_t i = 0; i < s->n; i++) {
    wh_free(s->v[i].name);
    wh_free(s->v[i].value);
  }
  wh_free(s->v);
  s->v = NULL;
  s->n = 0;
}

/* The source modifiers. choice: REQUEST_HEADERS and TRAILERS together are
 * ERROR_INVALID_PARAMETER (a request sent by this library has no trailers). */
static DWORD parse_modifiers(DWORD mods, struct qex_spec *s)
{
  if (mods & ~QEX_KNOWN_MODS)
    return ERROR_INVALID_PARAMETER;
  bool req = (mods & WINHTTP_QUERY_FLAG_REQUEST_HEADERS) != 0;
  bool trl = (mods & WINHTTP_QUERY_FLAG_TRAILERS) != 0;
  if (req && trl)
    return ERROR_INVALID_PARAMETER;
  s->src = req ? QEX_REQUEST : trl ? QEX_TRAILERS : QEX_RESPONSE;
  s->narrow = (mods & WINHTTP_QUERY_FLAG_WIRE_ENCODING) != 0;
  return ERROR_SUCCESS;
}

/* WINHTTP_QUERY_CUSTOM: the name from pHeaderName, the psz member with
 * FLAG_WIRE_ENCODING and the pwsz member otherwise (Microsoft's page). A
 * missing name is ERROR_INVALID_PARAMETER, as for WinHttpQueryHeaders. */
static DWORD custom_name(const WINHTTP_HEADER_NAME *hn, struct qex_spec *s)
{
  if (!hn)
    return ERROR_INVALID_PARAMETER;
  if (s->narrow) {
    if (!hn->pszName)
      return ERROR_INVALID_PARAMETER;
    s->name = hn->pszName;
    s->nlen = strlen(hn->pszName);
    return ERROR_SUCCESS;
  }
  if (!hn->pwszName)
    return ERROR_INVALID_PARAMETER;
  if (wh_utf8_from_wide(hn->pwszName, (size_t)-1, &s->owned_name, &s->nlen))
    return ERROR_NOT_ENOUGH_MEMORY;
  s->name = s->owned_name;
  return ERROR_SUCCESS;
}

/* The attribute (low 16 bits). Microsoft's page refuses VERSION,
 * STATUS_CODE, STATUS_TEXT and RAW_HEADERS_CRLF; choice: REQUEST_METHOD,
 * the other level computed from a start line rather than a header, too. */
static DWORD parse_attribute(DWORD attr, const WINHTTP_HEADER_NAME *hn, struct qex_spec *s)
{
  const struct wh_query_level *ql = wh_query_level_get(attr);
  if (!ql)
    return ERROR_INVALID_PARAMETER;
  switch (ql->kind) {
  case WH_QK_HEADER:
    s->name = ql->name;
    s->nlen = ql->name_len;
    return ERROR_SUCCESS;
  case WH_QK_CUSTOM:
    return custom_name(hn, s);
  case WH_QK_RAW_HEADERS: /* = WINHTTP_QUERY_EX_ALL_HEADERS */
    s->all = true;
    return ERROR_SUCCESS;
  case WH_QK_NONE:
  case WH_QK_ECHO:
    s->none = true;
    return ERROR_SUCCESS;
  case WH_QK_VERSION:
  case WH_QK_STATUS_CODE:
  case WH_QK_STATUS_TEXT:
  case WH_QK_RAW_HEADERS_CRLF:
  case WH_QK_REQUEST_METHOD:
    break;
  }
  return ERROR_INVALID_PARAMETER;
}

/* Microsoft: ullFlags is "Reserved. Set to 0."; pdwBufferLength is _Inout_
 * and pdwHeadersCount _Out_, so neither may be NULL. uiCodePage: "No
 * validation is done for this parameter"; choice: it is ignored, and wide
 * results are always decoded from UTF-8 as WinHttpQueryHeaders does. */
static DWORD parse_query(DWORD level, ULONGLONG flags, PDWORD index, const WINHTTP_HEADER_NAME *hn,
                         const DWORD *len, const DWORD *count, struct qex_spec *s)
{
  memset(s, 0, sizeof(*s));
  if (flags != 0 || !len || !count)
    return ERROR_INVALID_PARAMETER;
  DWORD err = parse_modifiers(level & ~(DWORD)QEX_LEVEL_MASK, s);
  if (err == ERROR_SUCCESS)
    err = parse_attribute(level & QEX_LEVEL_MASK, hn, s);
  /* Microsoft: NULL index means the first instance. choice: ALL_HEADERS
   * ignores the index and leaves *pdwIndex as it is. */
  s->index = index ? *index : 0;
  return err;
}

/* The store to read, under the request's lock. Microsoft: ReceiveResponse
 * must have completed (else ERROR_WINHTTP_INCORRECT_HANDLE_STATE, as
 * WinHttpQueryHeaders answers before a response), and for trailers
 * WinHttpReadData must have returned 0 bytes; choice: until the body has
 * been read to its end trailers are ERROR_WINHTTP_INCORRECT_HANDLE_STATE.
 * The response head and the trailers change only while the state is below
 * HEADERS and DONE respectively, and the state changes only under the lock. */
static DWORD pick_store(struct wh_request *r, enum qex_source src, const struct wh_headers **out)
{
  if (src == QEX_REQUEST) {
    *out = &r->headers;
    return ERROR_SUCCESS;
  }
  int st = atomic_load(&r->state);
  bool ok = r->x.have_resp &&
            (src == QEX_TRAILERS ? st == WH_RS_DONE : st == WH_RS_HEADERS || st == WH_RS_DONE);
  if (!ok)
    return ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
  *out = src == QEX_TRAILERS ? &r->x.trailers : &r->x.resp.headers;
  return ERROR_SUCCESS;
}

static DWORD snap_add(struct qex_snap *s, const struct wh_header *e)
{
  char *n = wh_strndup(e->name, e->name_len);
  char *v = wh_strndup(e->value, e->value_len);
  if (!n || !v) {
    wh_free(n);
    wh_free(v);
    return ERROR_NOT_ENOUGH_MEMORY;
  }
  s->v[s->n++] = (struct wh_header){n, e->name_len, v, e->value_len};
  return ERROR_SUCCESS;
}

/* Copies what |spec| selects from |h|: every header, or the index-th one of
 * the name (Microsoft: "the index of the specified header to return"; on
 * return "the index of the next header"). Nothing selected is
 * ERROR_WINHTTP_HEADER_NOT_FOUND, an empty store included. */
static DWORD snapshot(const struct wh_headers *h, const struct qex_spec *spec, struct qex_snap *s)
{
  memset(s, 0, sizeof(*s));
  const struct wh_header *one = NULL;
  if (!spec->all) {
    one = spec->none ? NULL : wh_headers_find(h, spec->name, spec->nlen, spec->index);
    if (!one)
      return ERROR_WINHTTP_HEADER_NOT_FOUND;
  } else if (h->n == 0) {
    return ERROR_WINHTTP_HEADER_NOT_FOUND;
  }
  size_t want = one ? 1 : h->n;
  s->v = wh_calloc(want, sizeof(*s->v));
  if (!s->v)
    return ERROR_NOT_ENOUGH_MEMORY;
  DWORD err = ERROR_SUCCESS;
  for (size_t i = 0; i < want && err == ERROR_SUCCESS; i++)
    err = snap_add(s, one ? one : &h->v[i]);
  if (err != ERROR_SUCCESS)
    snap_free(s);
  s->next_index = spec->index + 1;
  return err;
}

/* Bytes one string takes in the caller's buffer, terminator included. */
static size_t string_size(const char *p, size_t len, bool narrow)
{
  if (narrow)
    return len + 1;
  return (wh_wide_len_of_utf8(p, len) + 1) * sizeof(WCHAR);
}

/* Bytes the array and the strings take, in |*out|. The result must fit a
 * DWORD together with the alignment slack, else ERROR_NOT_ENOUGH_MEMORY. */
static DWORD payload_size(const struct qex_snap *s, bool narrow, size_t *out)
{
  const size_t max = (size_t)0xFFFFFFFFu - (QEX_ALIGN - 1);
  if (s->n > max / sizeof(WINHTTP_EXTENDED_HEADER))
    return ERROR_NOT_ENOUGH_MEMORY;
  size_t total = s->n * sizeof(WINHTTP_EXTENDED_HEADER);
  for (size_t i = 0; i < s->n; i++) {
    size_t a = string_size(s->v[i].name, s->v[i].name_len, narrow);
    size_t b = string_size(s->v[i].value, s->v[i].value_len, narrow);
    if (a > max - total || b > max - total - a)
      return ERROR_NOT_ENOUGH_MEMORY;
    total += a + b;
  }
  *out = total;
  return ERROR_SUCCESS;
}

/* Writes one string at |*pos| and advances it; returns where it starts. */
static void *put_string(char **pos, const char *p, size_t len, bool narrow)
{
  void *start = *pos;
  if (narrow) {
    memcpy(*pos, p, len);
    (*pos)[len] = '\0';
    *pos += len + 1;
  } else {
    WCHAR *w = start;
    size_t cch = wh_wide_from_utf8_buf(p, len, w);
    w[cch] = L'\0';
    *pos += (cch + 1) * sizeof(WCHAR);
  }
  return start;
}

/* Lays the array out at |base| (QEX_ALIGN-aligned) with the strings after
 * it; every pointer points into the caller's buffer (Microsoft: pBuffer
 * stores "the parsed header pointers and the headers"). */
static WINHTTP_EXTENDED_HEADER *lay_out(const struct qex_snap *s, bool narrow, char *base)
{
  WINHTTP_EXTENDED_HEADER *arr = (WINHTTP_EXTENDED_HEADER *)(void *)base;
  char *pos = base + s->n * sizeof(*arr);
  for (size_t i = 0; i < s->n; i++) {
    void *n = put_string(&pos, s->v[i].name, s->v[i].name_len, narrow);
    void *v = put_string(&pos, s->v[i].value, s->v[i].value_len, narrow);
    if (narrow) {
      arr[i].pszName = n;
      arr[i].pszValue = v;
    } else {
      arr[i].pwszName = n;
      arr[i].pwszValue = v;
    }
  }
  return arr;
}

/* The buffer protocol. Microsoft: a NULL or too small pBuffer gives
 * ERROR_INSUFFICIENT_BUFFER with the required size in *pdwBufferLength.
 * choice: that size includes QEX_ALIGN - 1 bytes of slack, so a buffer of
 * that size works wherever it is; an aligned buffer (malloc) needs up to
 * QEX_ALIGN - 1 bytes less. On success *pdwBufferLength is the number of
 * bytes used from pBuffer, slack included. Only *pdwBufferLength is written
 * on failure. */
static DWORD deliver(const struct qex_snap *s, bool narrow, void *buf, PDWORD len,
                     PWINHTTP_EXTENDED_HEADER *headers, PDWORD count)
{
  size_t payload;
  DWORD err = payload_size(s, narrow, &payload);
  if (err != ERROR_SUCCESS)
    return err;
  size_t pad = buf ? (QEX_ALIGN - (uintptr_t)buf % QEX_ALIGN) % QEX_ALIGN : 0;
  if (!buf || *len < pad + payload) {
    *len = (DWORD)(payload + QEX_ALIGN - 1);
    return ERROR_INSUFFICIENT_BUFFER;
  }
  WINHTTP_EXTENDED_HEADER *arr = lay_out(s, narrow, (char *)buf + pad);
  if (headers)
    *headers = arr;
  *count = (DWORD)s->n;
  *len = (DWORD)(pad + payload);
  return ERROR_SUCCESS;
}

DWORD WINAPI WinHttpQueryHeadersEx(HINTERNET hRequest, DWORD dwInfoLevel, ULONGLONG ullFlags,
                                   UINT uiCodePage, PDWORD pdwIndex,
                                   PWINHTTP_HEADER_NAME pHeaderName, PVOID pBuffer,
                                   PDWORD pdwBufferLength, PWINHTTP_EXTENDED_HEADER *ppHeaders,
                                   PDWORD pdwHeadersCount)
{
  (void)uiCodePage; /* see parse_query */
  struct wh_object *o;
  DWORD err = wh_object_grab(hRequest, WH_REQUEST, &o);
  if (err != ERROR_SUCCESS)
    return err;
  struct qex_spec spec;
  struct qex_snap snap = {0};
  err = parse_query(dwInfoLevel, ullFlags, pdwIndex, pHeaderName, pdwBufferLength,
                    pdwHeadersCount, &spec);
  if (err == ERROR_SUCCESS) {
    struct wh_request *r = wh_request_of(o);
    const struct wh_headers *store = NULL;
    /* Copy under the lock, exactly as WinHttpQueryHeaders does. */
    pthread_mutex_lock(&o->lock);
    err = pick_store(r, spec.src, &store);
    if (err == ERROR_SUCCESS)
      err = snapshot(store, &spec, &snap);
    pthread_mutex_unlock(&o->lock);
  }
  if (err == ERROR_SUCCESS)
    err = deliver(&snap, spec.narrow, pBuffer, pdwBufferLength, ppHeaders, pdwHeadersCount);
  /* The index moves only on success, and only for a named header. */
  if (err == ERROR_SUCCESS && pdwIndex && !spec.all)
    *pdwIndex = snap.next_index;
  snap_free(&snap);
  wh_free(spec.owned_name);
  wh_handle_put(o);
  return err;
}

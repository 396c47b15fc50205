/* WinHttpAddRequestHeaders and WinHttpQueryHeaders: handle lookup, WCHAR <->
 * UTF-8, and the caller-buffer protocol. The header semantics live in
 * proto/headers.c. */
#include <string.h>
#include <time.h>

#include <winhttp.h>

#include "api/api.h"
#include "core/handle.h"
#include "core/object.h"
#include "util/mem.h"
#include "util/utf.h"

BOOL WINAPI WinHttpAddRequestHeaders(HINTERNET hRequest, LPCWSTR lpszHeaders, DWORD dwHeadersLength,
                                     DWORD dwModifiers)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(hRequest, WH_REQUEST, &o);
  if (err != ERROR_SUCCESS)
    return wh_fail(err);
  char *text = NULL;
  size_t len = 0;
  if (!lpszHeaders || dwHeadersLength == 0) {
    err = ERROR_INVALID_PARAMETER;
  } else {
    /* -1 means NUL-terminated; otherwise the length counts WCHARs and is
     * authoritative (the store stops at an embedded NUL itself). */
    size_t cch = dwHeadersLength == (DWORD)-1 ? wcslen(lpszHeaders) : dwHeadersLength;
    if (wh_utf8_from_wide(lpszHeaders, cch, &text, &len))
      err = ERROR_NOT_ENOUGH_MEMORY;
  }
  if (err == ERROR_SUCCESS) {
    struct wh_request *r = wh_request_of(o);
    pthread_mutex_lock(&o->lock);
    err = wh_headers_apply(&r->headers, text, len, dwModifiers);
    pthread_mutex_unlock(&o->lock);
  }
  wh_free(text);
  wh_handle_put(o);
  return wh_result(err);
}

#define QUERY_LEVEL_MASK 0x0000FFFFu

/* Copies a UTF-8 result into the caller's WCHAR buffer with WinHTTP's byte
 * lengths: on success *len is the length without the terminating NUL; when
 * the buffer is missing or too small, ERROR_INSUFFICIENT_BUFFER and *len is
 * the size needed including the NUL. */
static DWORD copy_text(const char *text, size_t text_len, LPVOID buf, LPDWORD len)
{
  size_t cch = wh_wide_len_of_utf8(text, text_len);
  size_t need = (cch + 1) * sizeof(WCHAR);
  if (need > 0xFFFFFFFFu)
    return ERROR_NOT_ENOUGH_MEMORY;
  if (!buf || *len < need) {
    *len = (DWORD)need;
    return ERROR_INSUFFICIENT_BUFFER;
  }
  WCHAR *w = buf;
  wh_wide_from_utf8_buf(text, text_len, w);
  w[cch] = L'\0';
  *len = (DWORD)(cch * sizeof(WCHAR));
  return ERROR_SUCCESS;
}

static DWORD copy_binary(const void *v, DWORD size, LPVOID buf, LPDWORD len)
{
  if (!buf || *len < size) {
    *len = size;
    return ERROR_INSUFFICIENT_BUFFER;
  }
  memcpy(buf, v, size);
  *len = size;
  return ERROR_SUCCESS;
}

static DWORD deliver(const struct wh_query_result *res, LPVOID buf, LPDWORD len)
{
  switch (res->type) {
  case WH_Q_TEXT:
  case WH_Q_RAW_NUL:
    return copy_text(res->text, res->text_len, buf, len);
  case WH_Q_NUMBER: {
    DWORD v = (DWORD)res->number;
    return copy_binary(&v, sizeof(v), buf, len);
  }
  case WH_Q_NUMBER64: {
    ULONGLONG v = res->number;
    return copy_binary(&v, sizeof(v), buf, len);
  }
  case WH_Q_SYSTEMTIME: {
    SYSTEMTIME st;
    st.wYear = res->time.year;
    st.wMonth = res->time.month;
    st.wDayOfWeek = res->time.dow;
    st.wDay = res->time.day;
    st.wHour = res->time.hour;
    st.wMinute = res->time.minute;
    st.wSecond = res->time.second;
    st.wMilliseconds = res->time.ms;
    return copy_binary(&st, sizeof(st), buf, len);
  }
  }
  return ERROR_WINHTTP_INTERNAL_ERROR;
}

BOOL WINAPI WinHttpQueryHeaders(HINTERNET hRequest, DWORD dwInfoLevel, LPCWSTR pwszName, LPVOID lpBuffer,
                                LPDWORD lpdwBufferLength, LPDWORD lpdwIndex)
{
  struct wh_object *o;
  DWORD err = wh_object_grab(hRequest, WH_REQUEST, &o);
  if (err != ERROR_SUCCESS)
    return wh_fail(err);
  struct wh_request *r = wh_request_of(o);
  char *name = NULL;
  DWORD level = dwInfoLevel & QUERY_LEVEL_MASK;
  if (!lpdwBufferLength) {
    err = ERROR_INVALID_PARAMETER;
  } else if (level == WINHTTP_QUERY_CUSTOM && pwszName) {
    if (wh_utf8_from_wide(pwszName, (size_t)-1, &name, NULL))
      err = ERROR_NOT_ENOUGH_MEMORY;
  }
  struct wh_query_result res;
  memset(&res, 0, sizeof(res));
  if (err == ERROR_SUCCESS) {
    struct wh_query_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.verb = r->verb;
    ctx.path = r->path;
    ctx.version = r->version;
    ctx.now = (int64_t)time(NULL);
    bool request_side = (dwInfoLevel & WINHTTP_QUERY_FLAG_REQUEST_HEADERS) ||
                        level == WINHTTP_QUERY_REQUEST_METHOD;
    pthread_mutex_lock(&o->lock);
    /* The response head is written only while the state is below HEADERS
     * and changed only under this lock, so it is stable here. */
    int st = atomic_load(&r->state);
    bool have = (st == WH_RS_HEADERS || st == WH_RS_DONE) && r->x.have_resp;
    if (!request_side && !have) {
      /* Before a response exists Windows answers this. */
      err = ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
    } else {
      const struct wh_headers *store = &r->headers;
      bool trailers = (dwInfoLevel & WINHTTP_QUERY_FLAG_TRAILERS) != 0;
      if (trailers && request_side) {
        err = ERROR_INVALID_PARAMETER;
      } else if (trailers && !wh_exchange_body_done(&r->x)) {
        /* Trailers follow the body: they exist once it has been read. */
        err = ERROR_WINHTTP_INCORRECT_HANDLE_STATE;
      } else if (!request_side) {
        const struct wh_resp_head *resp = &r->x.resp;
        ctx.resp_version = wh_resp_version_string(resp);
        ctx.status_code = resp->status;
        ctx.status_text = resp->reason;
        store = trailers ? &r->x.trailers : &resp->headers;
      }
      if (err == ERROR_SUCCESS)
        err = wh_headers_query(store, &ctx, dwInfoLevel, name, name ? strlen(name) : 0,
                               lpdwIndex ? *lpdwIndex : 0, &res);
    }
    pthread_mutex_unlock(&o->lock);
  }
  if (err == ERROR_SUCCESS) {
    err = deliver(&res, lpBuffer, lpdwBufferLength);
    /* The index moves only on success. */
    if (err == ERROR_SUCCESS && lpdwIndex)
      *lpdwIndex = res.next_index;
  }
  wh_query_result_free(&res);
  wh_free(name);
  wh_handle_put(o);
  return wh_result(err);
}

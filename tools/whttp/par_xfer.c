/* whttp --parallel: one transfer. The main thread cracks the URL, names the
 * output, opens the connection and request handles and sends; from then on
 * the status callback drives it: SENDREQUEST_COMPLETE -> ReceiveResponse,
 * HEADERS_AVAILABLE -> QueryDataAvailable, DATA_AVAILABLE -> ReadData,
 * READ_COMPLETE -> write, QueryDataAvailable again, until 0 bytes. A result
 * (or REQUEST_ERROR) ends the chain; the main thread then closes the request
 * and finishes the transfer after HANDLE_CLOSING, the last callback. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "par.h"

void par_wake(struct par *p)
{
  uint64_t one = 1;
  ssize_t r = write(p->wake, &one, sizeof(one)); /* EAGAIN: already awake */
  (void)r;
}

static void end_full(struct par_xfer *x, int rc, const char *call, DWORD err, const char *msg)
{
  struct par *p = x->par;
  char *copy = msg ? strdup(msg) : NULL;
  pthread_mutex_lock(&p->lock);
  if (x->state == PX_QUEUED || x->state == PX_ACTIVE) {
    x->state = PX_ENDED;
    x->rc = rc;
    x->failed_call = call;
    x->error = err;
    x->message = copy;
    x->end = whttp_now();
    copy = NULL;
  }
  par_wake(p); /* under the lock: the main thread may finish x as soon as it is released */
  pthread_mutex_unlock(&p->lock);
  free(copy);
}

void par_end(struct par_xfer *x, int rc, const char *message)
{
  end_full(x, rc, NULL, 0, message);
}

void par_end_call(struct par_xfer *x, const char *call, DWORD err)
{
  int rc = whttp_exit_for(err, x->receiving);
  if (strcmp(call, "WinHttpConnect") == 0 && err == ERROR_INVALID_PARAMETER)
    rc = WX_URL; /* a host name WinHttpConnect refuses is a bad URL */
  end_full(x, rc, call, err, NULL);
}

/* --- preparing (main thread, before anything starts) -------------------------- */


static int crack(struct par_xfer *x)
{
  WCHAR *url = whttp_widen_url(x->url);
  if (!url) {
    par_end(x, WX_URL, "malformed URL (not UTF-8)");
    return WX_URL;
  }
  DWORD n = (DWORD)wcslen(url) + 1;
  WCHAR *path = malloc(n * sizeof(WCHAR)), *extra = malloc(n * sizeof(WCHAR));
  x->host = malloc(n * sizeof(WCHAR));
  x->object = malloc((2 * n + 1) * sizeof(WCHAR));
  URL_COMPONENTS uc = {.dwStructSize = sizeof(uc), .lpszHostName = x->host,
                       .dwHostNameLength = n, .lpszUrlPath = path, .dwUrlPathLength = n,
                       .lpszExtraInfo = extra, .dwExtraInfoLength = n};
  int rc = WX_OK;
  if (!path || !extra || !x->host || !x->object) {
    par_end(x, rc = WX_MEMORY, "out of memory");
  } else if (!WinHttpCrackUrl(url, 0, 0, &uc)) {
    par_end_call(x, "WinHttpCrackUrl", GetLastError());
    rc = WX_URL;
  } else {
    size_t o = 0;
    if (uc.dwUrlPathLength == 0)
      x->object[o++] = L'/';
    memcpy(x->object + o, path, uc.dwUrlPathLength * sizeof(WCHAR));
    memcpy(x->object + o + uc.dwUrlPathLength, extra, uc.dwExtraInfoLength * sizeof(WCHAR));
    x->object[o + uc.dwUrlPathLength + uc.dwExtraInfoLength] = L'\0';
    x->port = uc.nPort;
    x->secure = uc.nScheme == INTERNET_SCHEME_HTTPS;
  }
  free(path);
  free(extra);
  free(url);
  return rc;
}

/* -o FILE with every "#1" replaced by the URL's number (1-based). */
static char *numbered(const char *pattern, size_t number)
{
  char num[24];
  int nl = snprintf(num, sizeof(num), "%zu", number);
  size_t cap = strlen(pattern) + 1, hits = 0;
  for (const char *s = strstr(pattern, "#1"); s; s = strstr(s + 2, "#1"))
    hits++;
  char *out = malloc(cap + hits * (size_t)nl);
  if (!out)
    return NULL;
  char *o = out;
  for (const char *s = pattern; *s;) {
    if (s[0] == '#' && s[1] == '1') {
      memcpy(o, num, (size_t)nl);
      o += nl;
      s += 2;
    } else {
      *o++ = *s++;
    }
  }
  *o = '\0';
  return out;
}

static int name_output(struct par_xfer *x)
{
  const struct whttp_args *a = x->par->a;
  if (a->discard)
    return WX_OK;
  if (a->output)
    x->out_name = numbered(a->output, x->index + 1);
  else {
    size_t n = wcscspn(x->object, L"?#"), start = n;
    while (start > 0 && x->object[start - 1] != L'/')
      start--;
    if (start == n) {
      par_end(x, WX_WRITE, "-O: the URL has no file name");
      return WX_WRITE;
    }
    x->out_name = whttp_narrow(x->object + start, n - start);
  }
  if (!x->out_name) {
    par_end(x, WX_MEMORY, "out of memory");
    return WX_MEMORY;
  }
  return WX_OK;
}

int par_prepare(struct par *p, struct par_xfer *x)
{
  x->par = p;
  int rc = crack(x);
  return rc ? rc : name_output(x);
}

/* --- starting (main thread) ----------------------------------------------------- */

static const WCHAR *method_of(const struct whttp_args *a, WCHAR *buf, size_t size)
{
  const char *m = a->method ? a->method : a->head ? "HEAD" : a->data ? "POST" : "GET";
  size_t i = 0;
  for (; m[i] && i + 1 < size; i++)
    buf[i] = (WCHAR)(unsigned char)m[i];
  buf[i] = L'\0';
  return buf;
}

static bool set_dword(struct par_xfer *x, DWORD option, DWORD value)
{
  if (WinHttpSetOption(x->request, option, &value, sizeof(value)))
    return true;
  par_end_call(x, "WinHttpSetOption", GetLastError());
  return false;
}

static bool add_header(struct par_xfer *x, const char *line, DWORD flags)
{
  const char *colon = strchr(line, ':');
  bool removal = colon && colon[1 + strspn(colon + 1, " \t")] == '\0';
  WCHAR *w = whttp_widen(line, strlen(line));
  if (!w) {
    par_end(x, WX_USAGE, "a header is not UTF-8");
    return false;
  }
  BOOL ok = WinHttpAddRequestHeaders(x->request, w, (DWORD)-1,
                                     removal ? WINHTTP_ADDREQ_FLAG_REPLACE : flags);
  free(w);
  if (!ok && !removal) {
    par_end(x, WX_USAGE, "WinHttpAddRequestHeaders refused a -H header");
    return false;
  }
  return true;
}

/* Options, headers and timeouts, as the synchronous path sets them. */
static bool set_up(struct par_xfer *x)
{
  const struct whttp_args *a = x->par->a;
  if ((!a->follow && !set_dword(x, WINHTTP_OPTION_DISABLE_FEATURE, WINHTTP_DISABLE_REDIRECTS)) ||
      (a->insecure &&
       !set_dword(x, WINHTTP_OPTION_SECURITY_FLAGS, SECURITY_FLAG_IGNORE_ALL_CERT_ERRORS)) ||
      (a->compressed &&
       !set_dword(x, WINHTTP_OPTION_DECOMPRESSION, WINHTTP_DECOMPRESSION_FLAG_ALL)) ||
      (a->http2 &&
       !set_dword(x, WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL, WINHTTP_PROTOCOL_FLAG_HTTP2)))
    return false;
  if (!whttp_credentials_apply(x->request, a)) {
    par_end_call(x, "credentials (-u / --proxy-user)", GetLastError());
    return false;
  }
  if (!whttp_client_cert_apply(x->request, a, x->secure)) {
    par_end_call(x, "WinHttpSetOption(CLIENT_CERT_CONTEXT)", GetLastError());
    return false;
  }
  for (size_t i = 0; i < a->n_headers; i++)
    if (!add_header(x, a->headers[i], WINHTTP_ADDREQ_FLAG_ADD))
      return false;
  if (a->data && !add_header(x, "Content-Type: application/x-www-form-urlencoded",
                             WINHTTP_ADDREQ_FLAG_ADD_IF_NEW))
    return false;
  if (a->max_time > 0) { /* the main thread also cancels everything at the deadline */
    int ms = (int)(a->max_time * 1000) > 0 ? (int)(a->max_time * 1000) : 1;
    if (!WinHttpSetTimeouts(x->request, ms, ms, ms, ms)) {
      par_end_call(x, "WinHttpSetTimeouts", GetLastError());
      return false;
    }
    if (!set_dword(x, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, (DWORD)ms))
      return false;
  }
  return true;
}

void par_start(struct par_xfer *x)
{
  struct par *p = x->par;
  const struct whttp_args *a = p->a;
  WCHAR method[64];
  x->start = whttp_now();
  x->buf = malloc(PAR_BUFFER);
  if (!x->buf) {
    par_end(x, WX_MEMORY, "out of memory");
    return;
  }
  x->connect = WinHttpConnect(p->session, x->host, x->port, 0);
  if (!x->connect) {
    par_end_call(x, "WinHttpConnect", GetLastError());
    return;
  }
  x->request = WinHttpOpenRequest(x->connect, method_of(a, method, 64), x->object, NULL,
                                  WINHTTP_NO_REFERER, WINHTTP_DEFAULT_ACCEPT_TYPES,
                                  x->secure ? WINHTTP_FLAG_SECURE : 0);
  if (!x->request) {
    par_end_call(x, "WinHttpOpenRequest", GetLastError());
    return;
  }
  /* Without its context the request's HANDLE_CLOSING could not find x: close
   * it here and end the transfer as one that never had a request. */
  DWORD_PTR ctx = (DWORD_PTR)x;
  if (!WinHttpSetOption(x->request, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx))) {
    par_end_call(x, "WinHttpSetOption(CONTEXT_VALUE)", GetLastError());
    WinHttpCloseHandle(x->request);
    x->request = NULL;
    return;
  }
  if (!set_up(x))
    return;
  pthread_mutex_lock(&p->lock);
  x->state = PX_ACTIVE;
  pthread_mutex_unlock(&p->lock);
  DWORD n = (DWORD)a->data_len;
  if (!WinHttpSendRequest(x->request, WINHTTP_NO_ADDITIONAL_HEADERS, 0,
                          a->data ? a->data : WINHTTP_NO_REQUEST_DATA, n, n, (DWORD_PTR)x))
    par_end_call(x, "WinHttpSendRequest", GetLastError());
}

/* --- the callback chain (loop threads) ------------------------------------------ */

/* Whether the chain goes on: not once a result is known (or Ctrl-C). */
static bool going(struct par_xfer *x)
{
  pthread_mutex_lock(&x->par->lock);
  bool on = x->state == PX_ACTIVE;
  pthread_mutex_unlock(&x->par->lock);
  return on;
}

static void next_query(struct par_xfer *x, HINTERNET h)
{
  if (going(x) && !WinHttpQueryDataAvailable(h, NULL))
    par_end_call(x, "WinHttpQueryDataAvailable", GetLastError());
}

static bool write_out(struct par_xfer *x, const void *data, size_t n)
{
  if (x->out && n && fwrite(data, 1, n, x->out) != n) {
    par_end(x, WX_WRITE, strerror(errno));
    return false;
  }
  pthread_mutex_lock(&x->par->lock);
  x->bytes += n;
  pthread_mutex_unlock(&x->par->lock);
  return true;
}

static DWORD query_number(HINTERNET h, DWORD level)
{
  DWORD v = 0, len = sizeof(v);
  if (!WinHttpQueryHeaders(h, level | WINHTTP_QUERY_FLAG_NUMBER, WINHTTP_HEADER_NAME_BY_INDEX,
                           &v, &len, WINHTTP_NO_HEADER_INDEX))
    return 0;
  return v;
}

/* The body size for the progress line; 0 when unknown or content-coded. */
static uint64_t body_size(struct par_xfer *x, HINTERNET h)
{
  ULONGLONG size = 0;
  DWORD len = 0;
  if (x->par->a->compressed &&
      (WinHttpQueryHeaders(h, WINHTTP_QUERY_CONTENT_ENCODING, WINHTTP_HEADER_NAME_BY_INDEX,
                           WINHTTP_NO_OUTPUT_BUFFER, &len, WINHTTP_NO_HEADER_INDEX) ||
       GetLastError() == ERROR_INSUFFICIENT_BUFFER))
    return 0;
  len = sizeof(size);
  if (!WinHttpQueryHeaders(h, WINHTTP_QUERY_CONTENT_LENGTH | WINHTTP_QUERY_FLAG_NUMBER64,
                           WINHTTP_HEADER_NAME_BY_INDEX, &size, &len, WINHTTP_NO_HEADER_INDEX))
    return 0;
  return size;
}

/* -i: the response head, as UTF-8, before the body. */
static bool write_head(struct par_xfer *x, HINTERNET h)
{
  DWORD len = 0;
  WinHttpQueryHeaders(h, WINHTTP_QUERY_RAW_HEADERS_CRLF, WINHTTP_HEADER_NAME_BY_INDEX,
                      WINHTTP_NO_OUTPUT_BUFFER, &len, WINHTTP_NO_HEADER_INDEX);
  WCHAR *w = len ? malloc(len + sizeof(WCHAR)) : NULL;
  char *s = NULL;
  if (w && WinHttpQueryHeaders(h, WINHTTP_QUERY_RAW_HEADERS_CRLF, WINHTTP_HEADER_NAME_BY_INDEX,
                               w, &len, WINHTTP_NO_HEADER_INDEX))
    s = whttp_narrow(w, len / sizeof(WCHAR));
  free(w);
  bool ok = !s || !x->out || fwrite(s, 1, strlen(s), x->out) == strlen(s);
  free(s);
  if (!ok)
    par_end(x, WX_WRITE, strerror(errno));
  return ok;
}

static void on_headers(struct par_xfer *x, HINTERNET h)
{
  const struct whttp_args *a = x->par->a;
  DWORD code = query_number(h, WINHTTP_QUERY_STATUS_CODE);
  uint64_t total = body_size(x, h);
  pthread_mutex_lock(&x->par->lock);
  x->status = code;
  x->total = total;
  pthread_mutex_unlock(&x->par->lock);
  if (a->fail && code >= 400) {
    par_end(x, WX_HTTP, "the requested URL returned an HTTP status >= 400");
    return;
  }
  if (x->out_name) {
    x->out = strcmp(x->out_name, "-") == 0 ? stdout : fopen(x->out_name, "wb");
    if (!x->out) {
      par_end(x, WX_WRITE, strerror(errno));
      return;
    }
  }
  if (a->include && !write_head(x, h))
    return;
  if (a->head)
    par_end(x, WX_OK, NULL);
  else
    next_query(x, h);
}

static const char *api_name(DWORD_PTR api)
{
  switch (api) {
  case API_RECEIVE_RESPONSE: return "WinHttpReceiveResponse";
  case API_QUERY_DATA_AVAILABLE: return "WinHttpQueryDataAvailable";
  case API_READ_DATA: return "WinHttpReadData";
  case API_WRITE_DATA: return "WinHttpWriteData";
  case API_SEND_REQUEST: return "WinHttpSendRequest";
  default: return "an asynchronous call";
  }
}

static DWORD dword_info(const void *info, DWORD len)
{
  return info && len >= sizeof(DWORD) ? *(const DWORD *)info : 0;
}

void CALLBACK par_on_status(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  struct par_xfer *x = (struct par_xfer *)ctx;
  if (!x)
    return; /* the session's and the connections' own notifications */
  switch (status) {
  case WINHTTP_CALLBACK_STATUS_SECURE_FAILURE:
    pthread_mutex_lock(&x->par->lock);
    x->secure_flags = dword_info(info, len);
    pthread_mutex_unlock(&x->par->lock);
    break;
  case WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE:
    x->receiving = true;
    if (going(x) && !WinHttpReceiveResponse(h, NULL))
      par_end_call(x, "WinHttpReceiveResponse", GetLastError());
    break;
  case WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE:
    if (going(x))
      on_headers(x, h);
    break;
  case WINHTTP_CALLBACK_STATUS_DATA_AVAILABLE:
    if (dword_info(info, len) == 0)
      par_end(x, WX_OK, NULL);
    else if (going(x) && !WinHttpReadData(h, x->buf, PAR_BUFFER, NULL))
      par_end_call(x, "WinHttpReadData", GetLastError());
    break;
  case WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
    if (len == 0)
      par_end(x, WX_OK, NULL);
    else if (write_out(x, info, len))
      next_query(x, h);
    break;
  case WINHTTP_CALLBACK_STATUS_REQUEST_ERROR: {
    const WINHTTP_ASYNC_RESULT *r = info;
    par_end_call(x, api_name(r->dwResult), r->dwError);
    break;
  }
  case WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING:
  {
    /* The last callback: once the lock is released x belongs to the main
     * thread, which may free it at once. */
    struct par *p = x->par;
    pthread_mutex_lock(&p->lock);
    x->state = PX_CLOSED;
    par_wake(p);
    pthread_mutex_unlock(&p->lock);
    break;
  }
  default:
    break;
  }
}

/* whttp: fetch a URL with WinHTTP. One synchronous request: crack the URL,
 * open a session, a connection and a request, set the options the command
 * line asks for, send (streaming -T files with WinHttpWriteData), receive,
 * then write the head (-i) and the body. Built on winhttp.h alone.
 * WebSocket mode sends the upgrade the same way, then goes on in ws.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <winhttp_ext.h>

#include "whttp.h"

#define BODY_BUFFER (256 * 1024)
#define UPLOAD_PIECE (64 * 1024)

struct xfer {
  const struct whttp_args *a;
  struct whttp_notify notify;
  struct whttp_progress bar;
  HINTERNET session, connect, request;
  WCHAR *url;         /* the URL, wide */
  WCHAR *host;        /* cracked host name */
  WCHAR *object;      /* path and query */
  INTERNET_PORT port;
  bool secure;
  bool receiving;     /* request sent: connection errors now mean "receive" */
  double deadline;    /* whttp_now() value, 0 = none */
  FILE *out;
  const char *out_name;
  char *out_name_owned;
};

/* --- errors ---------------------------------------------------------------------- */

static void print_extended(struct xfer *x, DWORD err)
{
  DWORD ext = 0, len = sizeof(ext);
  if (x->request && WinHttpQueryOption(x->request, WINHTTP_OPTION_EXTENDED_ERROR, &ext, &len) &&
      ext != 0)
    fprintf(stderr, "; extended error %lu (%s)", (unsigned long)ext, strerror((int)ext));
  if (x->notify.secure_flags) {
    fputs("; certificate: ", stderr);
    whttp_print_secure_flags(stderr, x->notify.secure_flags);
  }
  if (err == ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED && !x->a->client_cert)
    fputs("; the server asks for a client certificate (--cert FILE)", stderr);
}

/* Reports a failed WinHTTP call (the last error) and returns the exit status. */
static int fail_call(struct xfer *x, const char *call)
{
  DWORD err = GetLastError();
  if (!x->a->silent) {
    fprintf(stderr, "whttp: %s failed: %s (%lu)", call, whttp_error_name(err),
            (unsigned long)err);
    print_extended(x, err);
    fputc('\n', stderr);
  }
  return whttp_exit_for(err, x->receiving);
}

static int fail_msg(struct xfer *x, int code, const char *what, const char *detail)
{
  if (!x->a->silent)
    fprintf(stderr, "whttp: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  return code;
}

/* --- time limit ------------------------------------------------------------------- */

/* Gives every blocking WinHTTP step the time left under --max-time. */
static int arm_timeouts(struct xfer *x)
{
  if (x->deadline == 0)
    return WX_OK;
  double left = x->deadline - whttp_now();
  if (left <= 0)
    return fail_msg(x, WX_TIMEOUT, "operation timed out (--max-time)", NULL);
  int ms = left * 1000 >= 1 ? (int)(left * 1000) : 1;
  DWORD rr = (DWORD)ms;
  if (!WinHttpSetTimeouts(x->request, ms, ms, ms, ms) ||
      !WinHttpSetOption(x->request, WINHTTP_OPTION_RECEIVE_RESPONSE_TIMEOUT, &rr, sizeof(rr)))
    return fail_call(x, "WinHttpSetTimeouts");
  return WX_OK;
}

/* --- the URL ------------------------------------------------------------------------ */


/* path + extra info ("?query"), the object name WinHttpOpenRequest wants. */
static WCHAR *join_object(const WCHAR *path, DWORD plen, const WCHAR *extra, DWORD elen)
{
  WCHAR *o = malloc((plen + elen + 2) * sizeof(WCHAR));
  if (!o)
    return NULL;
  size_t n = 0;
  if (plen == 0)
    o[n++] = L'/';
  memcpy(o + n, path, plen * sizeof(WCHAR));
  memcpy(o + n + plen, extra, elen * sizeof(WCHAR));
  o[n + plen + elen] = L'\0';
  return o;
}

static int crack_url(struct xfer *x)
{
  x->url = whttp_widen_url(x->a->url);
  if (!x->url)
    return fail_msg(x, WX_URL, "malformed URL (not UTF-8)", x->a->url);
  DWORD n = (DWORD)wcslen(x->url) + 1;
  WCHAR *path = malloc(n * sizeof(WCHAR)), *extra = malloc(n * sizeof(WCHAR));
  x->host = malloc(n * sizeof(WCHAR));
  URL_COMPONENTS uc = {.dwStructSize = sizeof(uc), .lpszHostName = x->host,
                       .dwHostNameLength = n, .lpszUrlPath = path, .dwUrlPathLength = n,
                       .lpszExtraInfo = extra, .dwExtraInfoLength = n};
  int rc = WX_OK;
  if (!path || !extra || !x->host)
    rc = fail_msg(x, WX_MEMORY, "out of memory", NULL);
  else if (!WinHttpCrackUrl(x->url, 0, 0, &uc))
    rc = fail_call(x, "WinHttpCrackUrl");
  else if (!(x->object = join_object(path, uc.dwUrlPathLength, extra, uc.dwExtraInfoLength)))
    rc = fail_msg(x, WX_MEMORY, "out of memory", NULL);
  x->port = uc.nPort;
  x->secure = uc.nScheme == INTERNET_SCHEME_HTTPS;
  free(path);
  free(extra);
  return rc;
}

/* "-T file" on a URL ending in '/' uploads to that directory under the
 * file's own name (as curl). */
static int append_upload_name(struct xfer *x)
{
  size_t n = wcslen(x->object);
  const char *file = x->a->upload;
  if (!file || n == 0 || x->object[n - 1] != L'/')
    return WX_OK;
  const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
  WCHAR *wbase = whttp_widen(base, strlen(base));
  WCHAR *o = wbase ? realloc(x->object, (n + wcslen(wbase) + 1) * sizeof(WCHAR)) : NULL;
  if (!o) {
    free(wbase);
    return fail_msg(x, WX_USAGE, "cannot use the -T file name in the URL", base);
  }
  wcscpy(o + n, wbase);
  x->object = o;
  free(wbase);
  return WX_OK;
}

/* --- handles and options ------------------------------------------------------------ */

static const WCHAR *method_of(const struct whttp_args *a, WCHAR *buf, size_t size)
{
  const char *m = a->method ? a->method
                  : a->head ? "HEAD"
                  : a->upload ? "PUT"
                  : a->data ? "POST" : "GET";
  size_t i = 0;
  for (; m[i] && i + 1 < size; i++)
    buf[i] = (WCHAR)(unsigned char)m[i];
  buf[i] = L'\0';
  return buf;
}

static int open_handles(struct xfer *x)
{
  WCHAR method[64];
  x->session = whttp_open_session(x->a, 0);
  if (!x->session)
    return fail_call(x, "WinHttpOpen");
  whttp_notify_install(x->session, &x->notify);
  x->connect = WinHttpConnect(x->session, x->host, x->port, 0);
  if (!x->connect) /* a host name WinHttpConnect refuses is a bad URL */
    return GetLastError() == ERROR_INVALID_PARAMETER ? (fail_call(x, "WinHttpConnect"), WX_URL)
                                                      : fail_call(x, "WinHttpConnect");
  x->request = WinHttpOpenRequest(x->connect, method_of(x->a, method, 64), x->object, NULL,
                                  WINHTTP_NO_REFERER, WINHTTP_DEFAULT_ACCEPT_TYPES,
                                  x->secure ? WINHTTP_FLAG_SECURE : 0);
  if (!x->request)
    return fail_call(x, "WinHttpOpenRequest");
  return WX_OK;
}

static int set_dword(struct xfer *x, DWORD option, DWORD value, const char *what)
{
  if (WinHttpSetOption(x->request, option, &value, sizeof(value)))
    return WX_OK;
  return fail_call(x, what);
}

static int set_options(struct xfer *x)
{
  int rc = WX_OK;
  if (!x->a->follow)
    rc = set_dword(x, WINHTTP_OPTION_DISABLE_FEATURE, WINHTTP_DISABLE_REDIRECTS,
                   "WinHttpSetOption(DISABLE_FEATURE, DISABLE_REDIRECTS)");
  if (!rc && x->a->insecure)
    rc = set_dword(x, WINHTTP_OPTION_SECURITY_FLAGS, SECURITY_FLAG_IGNORE_ALL_CERT_ERRORS,
                   "WinHttpSetOption(SECURITY_FLAGS)");
  if (!rc && x->a->compressed)
    rc = set_dword(x, WINHTTP_OPTION_DECOMPRESSION, WINHTTP_DECOMPRESSION_FLAG_ALL,
                   "WinHttpSetOption(DECOMPRESSION)");
  if (!rc && !whttp_credentials_apply(x->request, x->a))
    rc = fail_call(x, "credentials (-u / --proxy-user)");
  if (!rc && !whttp_client_cert_apply(x->request, x->a, x->secure))
    rc = fail_call(x, "WinHttpSetOption(CLIENT_CERT_CONTEXT)");
  if (!rc && x->a->http2)
    rc = set_dword(x, WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL, WINHTTP_PROTOCOL_FLAG_HTTP2,
                   "WinHttpSetOption(ENABLE_HTTP_PROTOCOL)");
  if (!rc && x->a->websocket &&
      !WinHttpSetOption(x->request, WINHTTP_OPTION_UPGRADE_TO_WEB_SOCKET, NULL, 0))
    rc = fail_call(x, "WinHttpSetOption(UPGRADE_TO_WEB_SOCKET)");
  if (!rc && x->a->ws_deflate)
    rc = set_dword(x, WINHTTP_EXT_OPTION_WEB_SOCKET_DEFLATE, WINHTTP_EXT_WEB_SOCKET_DEFLATE,
                   "WinHttpSetOption(WINHTTP_EXT_OPTION_WEB_SOCKET_DEFLATE)");
  return rc;
}

/* Adds one header line; "Name:" with no value removes the header. */
static int add_header(struct xfer *x, const char *line, DWORD flags)
{
  const char *colon = strchr(line, ':');
  bool removal = colon && colon[1 + strspn(colon + 1, " \t")] == '\0';
  WCHAR *w = whttp_widen(line, strlen(line));
  if (!w)
    return fail_msg(x, WX_USAGE, "header is not UTF-8", line);
  BOOL ok = WinHttpAddRequestHeaders(x->request, w, (DWORD)-1,
                                     removal ? WINHTTP_ADDREQ_FLAG_REPLACE : flags);
  free(w);
  if (ok || removal)
    return WX_OK;
  int rc = fail_call(x, "WinHttpAddRequestHeaders");
  fprintf(stderr, "whttp: (header '%s')\n", line);
  return rc == WX_OTHER ? WX_USAGE : rc;
}

static int add_headers(struct xfer *x)
{
  for (size_t i = 0; i < x->a->n_headers; i++) {
    int rc = add_header(x, x->a->headers[i], WINHTTP_ADDREQ_FLAG_ADD);
    if (rc)
      return rc;
  }
  if (x->a->data)
    return add_header(x, "Content-Type: application/x-www-form-urlencoded",
                      WINHTTP_ADDREQ_FLAG_ADD_IF_NEW);
  return WX_OK;
}

/* --- heads --------------------------------------------------------------------------- */

/* A head as UTF-8 (RAW_HEADERS_CRLF of the response or, with
 * WINHTTP_QUERY_FLAG_REQUEST_HEADERS, of the request), or NULL. */
static char *query_head(HINTERNET r, DWORD level)
{
  DWORD len = 0;
  WinHttpQueryHeaders(r, level, WINHTTP_HEADER_NAME_BY_INDEX, WINHTTP_NO_OUTPUT_BUFFER, &len,
                      WINHTTP_NO_HEADER_INDEX);
  if (GetLastError() != ERROR_INSUFFICIENT_BUFFER || len == 0)
    return NULL;
  WCHAR *w = malloc(len + sizeof(WCHAR));
  char *s = NULL;
  if (w && WinHttpQueryHeaders(r, level, WINHTTP_HEADER_NAME_BY_INDEX, w, &len,
                               WINHTTP_NO_HEADER_INDEX))
    s = whttp_narrow(w, len / sizeof(WCHAR));
  free(w);
  return s;
}

/* Writes each line of a head to stderr behind a prefix ("> ", "< "). */
static void trace_head(const char *head, const char *prefix)
{
  for (const char *p = head; p && *p;) {
    size_t n = strcspn(p, "\r\n");
    fprintf(stderr, "%s%.*s\n", prefix, (int)n, p);
    p += n;
    p += strspn(p, "\r\n") > 2 ? 2 : strspn(p, "\r\n");
    if (n == 0)
      break;
  }
  fflush(stderr);
}

static void trace_request_head(struct xfer *x)
{
  if (!x->a->verbose)
    return;
  char *h = query_head(x->request, WINHTTP_QUERY_RAW_HEADERS_CRLF |
                                       WINHTTP_QUERY_FLAG_REQUEST_HEADERS);
  trace_head(h, "> ");
  free(h);
}

/* --- sending ------------------------------------------------------------------------- */

static int write_file_body(struct xfer *x, FILE *f, uint64_t size)
{
  char *buf = malloc(UPLOAD_PIECE);
  uint64_t sent = 0;
  int rc = buf ? WX_OK : fail_msg(x, WX_MEMORY, "out of memory", NULL);
  whttp_progress_start(&x->bar, !x->a->silent, "upload", size);
  while (!rc && sent < size) {
    size_t n = fread(buf, 1, UPLOAD_PIECE, f);
    DWORD wrote = 0;
    if (n == 0)
      rc = fail_msg(x, WX_READ, "cannot read the -T file", ferror(f) ? strerror(errno)
                                                                      : "it shrank");
    else if (!(rc = arm_timeouts(x)) && !WinHttpWriteData(x->request, buf, (DWORD)n, &wrote))
      rc = fail_call(x, "WinHttpWriteData");
    sent += n;
    whttp_progress_update(&x->bar, sent);
  }
  whttp_progress_finish(&x->bar);
  free(buf);
  return rc;
}

/* Sizes of 4 GiB and more do not fit dwTotalLength: Microsoft's way is a
 * Content-Length header and WINHTTP_IGNORE_REQUEST_TOTAL_LENGTH. */
static int send_with_file(struct xfer *x)
{
  FILE *f = fopen(x->a->upload, "rb");
  struct stat st;
  if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    const char *why = f ? "not a regular file" : strerror(errno);
    if (f)
      fclose(f);
    return fail_msg(x, WX_READ, "cannot upload -T file", why);
  }
  uint64_t size = (uint64_t)st.st_size;
  DWORD total = (DWORD)size;
  int rc = WX_OK;
  if (size > 0xFFFFFFFFu) {
    char cl[64];
    snprintf(cl, sizeof(cl), "Content-Length: %llu", (unsigned long long)size);
    rc = add_header(x, cl, WINHTTP_ADDREQ_FLAG_ADD | WINHTTP_ADDREQ_FLAG_REPLACE);
    total = WINHTTP_IGNORE_REQUEST_TOTAL_LENGTH;
  }
  if (!rc && !(rc = arm_timeouts(x)) &&
      !WinHttpSendRequest(x->request, WINHTTP_NO_ADDITIONAL_HEADERS, 0, WINHTTP_NO_REQUEST_DATA,
                          0, total, (DWORD_PTR)x))
    rc = fail_call(x, "WinHttpSendRequest");
  if (!rc) {
    trace_request_head(x);
    rc = write_file_body(x, f, size);
  }
  fclose(f);
  return rc;
}

static int send_request(struct xfer *x)
{
  if (x->a->upload)
    return send_with_file(x);
  int rc = arm_timeouts(x);
  if (rc)
    return rc;
  DWORD n = (DWORD)x->a->data_len;
  if (!WinHttpSendRequest(x->request, WINHTTP_NO_ADDITIONAL_HEADERS, 0,
                          x->a->data ? x->a->data : WINHTTP_NO_REQUEST_DATA, n, n,
                          (DWORD_PTR)x))
    return fail_call(x, "WinHttpSendRequest");
  trace_request_head(x);
  return WX_OK;
}

/* --- receiving ----------------------------------------------------------------------- */

static DWORD status_code(struct xfer *x)
{
  DWORD code = 0, len = sizeof(code);
  if (!WinHttpQueryHeaders(x->request, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                           WINHTTP_HEADER_NAME_BY_INDEX, &code, &len, WINHTTP_NO_HEADER_INDEX))
    return 0;
  return code;
}

/* The body size for the progress bar; 0 when unknown or content-coded. */
static uint64_t body_size(struct xfer *x)
{
  ULONGLONG size = 0;
  DWORD len = sizeof(size);
  if (x->a->compressed) {
    char *coding = query_head(x->request, WINHTTP_QUERY_CONTENT_ENCODING);
    bool coded = coding != NULL;
    free(coding);
    if (coded)
      return 0;
  }
  if (!WinHttpQueryHeaders(x->request,
                           WINHTTP_QUERY_CONTENT_LENGTH | WINHTTP_QUERY_FLAG_NUMBER64,
                           WINHTTP_HEADER_NAME_BY_INDEX, &size, &len, WINHTTP_NO_HEADER_INDEX))
    return 0;
  return size;
}

/* -O: the last segment of the URL's path. */
static int remote_name(struct xfer *x)
{
  size_t n = wcscspn(x->object, L"?#");
  size_t start = n;
  while (start > 0 && x->object[start - 1] != L'/')
    start--;
  if (start == n)
    return fail_msg(x, WX_WRITE, "-O: the URL has no file name", x->a->url);
  x->out_name_owned = whttp_narrow(x->object + start, n - start);
  if (!x->out_name_owned)
    return fail_msg(x, WX_MEMORY, "out of memory", NULL);
  x->out_name = x->out_name_owned;
  return WX_OK;
}

static int open_output(struct xfer *x)
{
  int rc = x->a->remote_name ? remote_name(x) : WX_OK;
  if (rc)
    return rc;
  if (!x->out_name && x->a->output)
    x->out_name = x->a->output;
  if (!x->out_name || strcmp(x->out_name, "-") == 0) {
    x->out = stdout;
    return WX_OK;
  }
  x->out = fopen(x->out_name, "wb");
  if (!x->out)
    return fail_msg(x, WX_WRITE, x->out_name, strerror(errno));
  return WX_OK;
}

static int write_out(struct xfer *x, const void *p, size_t n)
{
  if (n == 0 || fwrite(p, 1, n, x->out) == n)
    return WX_OK;
  return fail_msg(x, WX_WRITE, x->out_name ? x->out_name : "stdout", strerror(errno));
}

static int read_body(struct xfer *x)
{
  char *buf = malloc(BODY_BUFFER);
  uint64_t got = 0;
  int rc = buf ? WX_OK : fail_msg(x, WX_MEMORY, "out of memory", NULL);
  whttp_progress_start(&x->bar, !x->a->silent && x->out != stdout, "download", body_size(x));
  x->notify.body_phase = true;
  for (DWORD n = 1; !rc && n > 0;) {
    if ((rc = arm_timeouts(x)))
      break;
    if (!WinHttpReadData(x->request, buf, BODY_BUFFER, &n))
      rc = fail_call(x, "WinHttpReadData");
    else
      rc = write_out(x, buf, n);
    got += n;
    whttp_progress_update(&x->bar, got);
  }
  whttp_progress_finish(&x->bar);
  whttp_notify_body_summary(&x->notify);
  free(buf);
  return rc;
}

static int write_response_head(struct xfer *x)
{
  char *head = query_head(x->request, WINHTTP_QUERY_RAW_HEADERS_CRLF);
  int rc = WX_OK;
  if (x->a->verbose)
    trace_head(head, "< ");
  if (x->a->include && head)
    rc = write_out(x, head, strlen(head));
  free(head);
  return rc;
}

/* WebSocket mode: a 101 hands the request over to ws.c; any other status
 * is a refused upgrade (exit 22, as curl's "Refused WebSockets upgrade"). */
static int websocket(struct xfer *x, DWORD code)
{
  int rc = write_response_head(x);
  if (rc)
    return rc;
  if (code != 101) {
    char what[80];
    snprintf(what, sizeof(what), "WebSocket upgrade refused (HTTP status %lu, not 101)",
             (unsigned long)code);
    return fail_msg(x, WX_HTTP, what, NULL);
  }
  return whttp_websocket(x->a, &x->request);
}

static int receive(struct xfer *x)
{
  x->receiving = true;
  int rc = arm_timeouts(x);
  if (rc)
    return rc;
  if (!WinHttpReceiveResponse(x->request, NULL))
    return fail_call(x, "WinHttpReceiveResponse");
  DWORD code = status_code(x);
  if (x->a->websocket)
    return websocket(x, code);
  if (x->a->fail && code >= 400) {
    if (x->a->verbose)
      write_response_head(x);
    char num[16];
    snprintf(num, sizeof(num), "%lu", (unsigned long)code);
    return fail_msg(x, WX_HTTP, "the requested URL returned HTTP status", num);
  }
  if ((rc = open_output(x)) || (rc = write_response_head(x)))
    return rc;
  return x->a->head ? WX_OK : read_body(x);
}

/* --- the whole transfer ------------------------------------------------------------ */

static int finish_output(struct xfer *x, int rc)
{
  if (!x->out)
    return rc;
  bool bad = x->out == stdout ? fflush(stdout) != 0 : fclose(x->out) != 0;
  x->out = NULL;
  if (bad && rc == WX_OK)
    return fail_msg(x, WX_WRITE, x->out_name ? x->out_name : "stdout", strerror(errno));
  return rc;
}

static void close_handles(struct xfer *x)
{
  if (x->request)
    WinHttpCloseHandle(x->request);
  if (x->connect)
    WinHttpCloseHandle(x->connect);
  if (x->session)
    WinHttpCloseHandle(x->session);
  x->request = x->connect = x->session = NULL;
}

static int run(struct xfer *x)
{
  int rc;
  if ((rc = crack_url(x)) || (rc = append_upload_name(x)) || (rc = open_handles(x)) ||
      (rc = set_options(x)) || (rc = add_headers(x)) || (rc = send_request(x)))
    return rc;
  return finish_output(x, receive(x));
}

int main(int argc, char **argv)
{
  struct whttp_args a;
  int rc = whttp_parse_args(argc, argv, &a);
  if (rc) {
    whttp_free_args(&a);
    return rc == 1 ? WX_OK : rc;
  }
  if (a.proxy_for) {
    rc = whttp_proxy_for(&a);
    whttp_free_args(&a);
    return rc;
  }
  if (a.parallel) {
    rc = whttp_parallel(&a);
    whttp_free_args(&a);
    return rc;
  }
  struct xfer x = {.a = &a};
  x.notify.out = a.verbose ? stderr : NULL;
  if (a.max_time > 0)
    x.deadline = whttp_now() + a.max_time;
  rc = run(&x);
  close_handles(&x);
  free(x.url);
  free(x.host);
  free(x.object);
  free(x.out_name_owned);
  whttp_free_args(&a);
  return rc;
}

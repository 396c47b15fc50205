/* whttp: UTF-8 <-> WCHAR conversion, error and notification names, and the
 * mapping from WinHTTP errors to exit statuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "whttp.h"

/* Length of the UTF-8 sequence led by byte b, 0 if b cannot lead one. */
static size_t utf8_seq_len(unsigned char b)
{
  if (b < 0x80)
    return 1;
  if (b >= 0xC2 && b <= 0xDF)
    return 2;
  if (b >= 0xE0 && b <= 0xEF)
    return 3;
  if (b >= 0xF0 && b <= 0xF4)
    return 4;
  return 0;
}

/* Decodes one sequence of n bytes; returns the code point or -1. */
static long utf8_decode(const unsigned char *s, size_t n)
{
  static const long min[5] = {0, 0, 0x80, 0x800, 0x10000};
  long cp = n == 1 ? s[0] : (long)(s[0] & (0x7F >> n));
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return -1;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return -1;
  return cp;
}

WCHAR *whttp_widen(const char *s, size_t len)
{
  WCHAR *w = malloc((len + 1) * sizeof(WCHAR));
  if (!w)
    return NULL;
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    size_t n = utf8_seq_len((unsigned char)s[i]);
    long cp = (n == 0 || i + n > len) ? -1 : utf8_decode((const unsigned char *)s + i, n);
    if (cp <= 0) { /* invalid, or an embedded NUL */
      free(w);
      return NULL;
    }
    w[o++] = (WCHAR)cp;
    i += n;
  }
  w[o] = L'\0';
  return w;
}

/* Encodes one code point (invalid ones as U+FFFD); returns the byte count. */
static size_t utf8_encode(unsigned long cp, char *out)
{
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    cp = 0xFFFD;
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

char *whttp_narrow(const WCHAR *w, size_t len)
{
  char *s = malloc(len * 4 + 1);
  if (!s)
    return NULL;
  size_t o = 0;
  for (size_t i = 0; i < len; i++)
    o += utf8_encode((unsigned long)w[i], s + o);
  s[o] = '\0';
  return s;
}

struct code_name {
  DWORD code;
  const char *name;
};

#define NAME(x) {x, #x}
static const struct code_name error_names[] = {
  NAME(ERROR_FILE_NOT_FOUND), NAME(ERROR_ACCESS_DENIED), NAME(ERROR_INVALID_HANDLE),
  NAME(ERROR_NOT_ENOUGH_MEMORY), NAME(ERROR_OUTOFMEMORY), NAME(ERROR_NOT_SUPPORTED),
  NAME(ERROR_INVALID_PARAMETER), NAME(ERROR_CALL_NOT_IMPLEMENTED),
  NAME(ERROR_INSUFFICIENT_BUFFER), NAME(ERROR_MORE_DATA), NAME(ERROR_NO_MORE_ITEMS),
  NAME(ERROR_IO_PENDING), NAME(ERROR_CANCELLED), NAME(ERROR_TIMEOUT),
  NAME(ERROR_INVALID_OPERATION),
  NAME(ERROR_WINHTTP_OUT_OF_HANDLES), NAME(ERROR_WINHTTP_TIMEOUT),
  NAME(ERROR_WINHTTP_INTERNAL_ERROR), NAME(ERROR_WINHTTP_INVALID_URL),
  NAME(ERROR_WINHTTP_UNRECOGNIZED_SCHEME), NAME(ERROR_WINHTTP_NAME_NOT_RESOLVED),
  NAME(ERROR_WINHTTP_INVALID_OPTION), NAME(ERROR_WINHTTP_OPTION_NOT_SETTABLE),
  NAME(ERROR_WINHTTP_SHUTDOWN), NAME(ERROR_WINHTTP_LOGIN_FAILURE),
  NAME(ERROR_WINHTTP_OPERATION_CANCELLED), NAME(ERROR_WINHTTP_INCORRECT_HANDLE_TYPE),
  NAME(ERROR_WINHTTP_INCORRECT_HANDLE_STATE), NAME(ERROR_WINHTTP_CANNOT_CONNECT),
  NAME(ERROR_WINHTTP_CONNECTION_ERROR), NAME(ERROR_WINHTTP_RESEND_REQUEST),
  NAME(ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED), NAME(ERROR_WINHTTP_CANNOT_CALL_BEFORE_OPEN),
  NAME(ERROR_WINHTTP_CANNOT_CALL_BEFORE_SEND), NAME(ERROR_WINHTTP_CANNOT_CALL_AFTER_SEND),
  NAME(ERROR_WINHTTP_CANNOT_CALL_AFTER_OPEN), NAME(ERROR_WINHTTP_HEADER_NOT_FOUND),
  NAME(ERROR_WINHTTP_INVALID_SERVER_RESPONSE), NAME(ERROR_WINHTTP_INVALID_HEADER),
  NAME(ERROR_WINHTTP_INVALID_QUERY_REQUEST), NAME(ERROR_WINHTTP_HEADER_ALREADY_EXISTS),
  NAME(ERROR_WINHTTP_REDIRECT_FAILED), NAME(ERROR_WINHTTP_NOT_INITIALIZED),
  NAME(ERROR_WINHTTP_SECURE_FAILURE), NAME(ERROR_WINHTTP_SECURE_CERT_DATE_INVALID),
  NAME(ERROR_WINHTTP_SECURE_CERT_CN_INVALID), NAME(ERROR_WINHTTP_SECURE_INVALID_CA),
  NAME(ERROR_WINHTTP_SECURE_CERT_REV_FAILED), NAME(ERROR_WINHTTP_SECURE_CHANNEL_ERROR),
  NAME(ERROR_WINHTTP_SECURE_INVALID_CERT), NAME(ERROR_WINHTTP_SECURE_CERT_REVOKED),
  NAME(ERROR_WINHTTP_SECURE_CERT_WRONG_USAGE), NAME(ERROR_WINHTTP_HEADER_COUNT_EXCEEDED),
  NAME(ERROR_WINHTTP_HEADER_SIZE_OVERFLOW),
  NAME(ERROR_WINHTTP_CHUNKED_ENCODING_HEADER_SIZE_OVERFLOW),
  NAME(ERROR_WINHTTP_RESPONSE_DRAIN_OVERFLOW), NAME(ERROR_WINHTTP_SECURE_FAILURE_PROXY),
  NAME(ERROR_WINHTTP_HTTP_PROTOCOL_MISMATCH), NAME(ERROR_WINHTTP_FEATURE_DISABLED),
  NAME(ERROR_WINHTTP_AUTODETECTION_FAILED), NAME(ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT),
  NAME(ERROR_WINHTTP_BAD_AUTO_PROXY_SCRIPT), NAME(ERROR_WINHTTP_AUTO_PROXY_SERVICE_ERROR),
};

static const char *lookup(const struct code_name *t, size_t n, DWORD code)
{
  for (size_t i = 0; i < n; i++)
    if (t[i].code == code)
      return t[i].name;
  return NULL;
}

const char *whttp_error_name(DWORD err)
{
  const char *s = lookup(error_names, sizeof(error_names) / sizeof(error_names[0]), err);
  return s ? s : "unknown error";
}

static bool is_tls_error(DWORD err)
{
  switch (err) {
  case ERROR_WINHTTP_SECURE_FAILURE:
  case ERROR_WINHTTP_SECURE_CERT_DATE_INVALID:
  case ERROR_WINHTTP_SECURE_CERT_CN_INVALID:
  case ERROR_WINHTTP_SECURE_INVALID_CA:
  case ERROR_WINHTTP_SECURE_CERT_REV_FAILED:
  case ERROR_WINHTTP_SECURE_CHANNEL_ERROR:
  case ERROR_WINHTTP_SECURE_INVALID_CERT:
  case ERROR_WINHTTP_SECURE_CERT_REVOKED:
  case ERROR_WINHTTP_SECURE_CERT_WRONG_USAGE:
  case ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED:
    return true;
  default:
    return false;
  }
}

static bool is_response_error(DWORD err)
{
  return err == ERROR_WINHTTP_INVALID_SERVER_RESPONSE ||
         err == ERROR_WINHTTP_HEADER_SIZE_OVERFLOW ||
         err == ERROR_WINHTTP_HEADER_COUNT_EXCEEDED ||
         err == ERROR_WINHTTP_CHUNKED_ENCODING_HEADER_SIZE_OVERFLOW ||
         err == ERROR_WINHTTP_RESPONSE_DRAIN_OVERFLOW;
}

int whttp_exit_for(DWORD err, bool receiving)
{
  if (is_tls_error(err))
    return WX_TLS;
  if (is_response_error(err))
    return WX_RESPONSE;
  switch (err) {
  case ERROR_WINHTTP_INVALID_URL: return WX_URL;
  case ERROR_WINHTTP_UNRECOGNIZED_SCHEME: return WX_SCHEME;
  case ERROR_WINHTTP_NAME_NOT_RESOLVED: return WX_RESOLVE;
  case ERROR_WINHTTP_CANNOT_CONNECT: return WX_CONNECT;
  case ERROR_WINHTTP_TIMEOUT: return WX_TIMEOUT;
  case ERROR_WINHTTP_REDIRECT_FAILED: return WX_REDIRECT;
  case ERROR_WINHTTP_CONNECTION_ERROR: return receiving ? WX_RECV : WX_SEND;
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY: return WX_MEMORY;
  case ERROR_CALL_NOT_IMPLEMENTED: return WX_UNSUPPORTED;
  default: return WX_OTHER;
  }
}

#define STATUS(x) {WINHTTP_CALLBACK_STATUS_##x, #x}
static const struct code_name status_names[] = {
  STATUS(RESOLVING_NAME), STATUS(NAME_RESOLVED), STATUS(CONNECTING_TO_SERVER),
  STATUS(CONNECTED_TO_SERVER), STATUS(SENDING_REQUEST), STATUS(REQUEST_SENT),
  STATUS(RECEIVING_RESPONSE), STATUS(RESPONSE_RECEIVED), STATUS(CLOSING_CONNECTION),
  STATUS(CONNECTION_CLOSED), STATUS(HANDLE_CREATED), STATUS(HANDLE_CLOSING),
  STATUS(DETECTING_PROXY), STATUS(REDIRECT), STATUS(INTERMEDIATE_RESPONSE),
  STATUS(SECURE_FAILURE), STATUS(HEADERS_AVAILABLE), STATUS(DATA_AVAILABLE),
  STATUS(READ_COMPLETE), STATUS(WRITE_COMPLETE), STATUS(REQUEST_ERROR),
  STATUS(SENDREQUEST_COMPLETE), STATUS(GETPROXYFORURL_COMPLETE), STATUS(CLOSE_COMPLETE),
  STATUS(SHUTDOWN_COMPLETE), STATUS(GETPROXYSETTINGS_COMPLETE),
  STATUS(SETTINGS_WRITE_COMPLETE), STATUS(SETTINGS_READ_COMPLETE),
};

const char *whttp_status_name(DWORD status)
{
  const char *s = lookup(status_names, sizeof(status_names) / sizeof(status_names[0]), status);
  return s ? s : "UNKNOWN_STATUS";
}

#define SFLAG(x) {WINHTTP_CALLBACK_STATUS_FLAG_##x, #x}
static const struct code_name secure_flag_names[] = {
  SFLAG(CERT_REV_FAILED), SFLAG(INVALID_CERT), SFLAG(CERT_REVOKED), SFLAG(INVALID_CA),
  SFLAG(CERT_CN_INVALID), SFLAG(CERT_DATE_INVALID), SFLAG(CERT_WRONG_USAGE),
  SFLAG(SECURITY_CHANNEL_ERROR),
};

void whttp_print_secure_flags(FILE *f, DWORD flags)
{
  const char *sep = "";
  fprintf(f, "0x%08lx", (unsigned long)flags);
  for (size_t i = 0; i < sizeof(secure_flag_names) / sizeof(secure_flag_names[0]); i++) {
    if (flags & secure_flag_names[i].code) {
      fprintf(f, "%s%s", *sep ? sep : " (", secure_flag_names[i].name);
      sep = "|";
    }
  }
  if (*sep)
    fputc(')', f);
}

size_t whttp_utf8_prefix(const char *s, size_t n, bool *bad)
{
  const unsigned char *u = (const unsigned char *)s;
  *bad = false;
  for (size_t i = 0; i < n;) {
    size_t k = utf8_seq_len(u[i]);
    if (k == 0) {
      *bad = true;
      return i;
    }
    if (i + k > n) {
      /* Cut short: still possible only if what is there continues it. */
      for (size_t j = i + 1; j < n; j++)
        if ((u[j] & 0xC0) != 0x80)
          *bad = true;
      return i;
    }
    if (utf8_decode(u + i, k) < 0) {
      *bad = true;
      return i;
    }
    i += k;
  }
  return n;
}

bool whttp_is_ws_url(const char *url)
{
  return strncasecmp(url, "ws://", 5) == 0 || strncasecmp(url, "wss://", 6) == 0;
}

/* The URL as typed, with "http://" in front when it names no scheme (as
 * curl), ws:// and wss:// as http:// and https://. */
WCHAR *whttp_widen_url(const char *url)
{
  const char *scheme = "http://", *rest = url;
  if (whttp_is_ws_url(url)) {
    bool secure = url[2] == 's' || url[2] == 'S';
    scheme = secure ? "https://" : "http://";
    rest = url + (secure ? 6 : 5);
  } else if (strstr(url, "://")) {
    return whttp_widen(url, strlen(url));
  }
  size_t n = strlen(scheme) + strlen(rest) + 1;
  char *full = malloc(n);
  if (!full)
    return NULL;
  snprintf(full, n, "%s%s", scheme, rest);
  WCHAR *w = whttp_widen(full, strlen(full));
  free(full);
  return w;
}

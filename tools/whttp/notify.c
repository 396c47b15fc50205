/* whttp: the WinHTTP status callback. With -v every notification is written
 * to stderr as it happens ("* NAME info"); without it only the TLS failure
 * flags are kept for the error message. WinHTTP calls it on the calling
 * thread for a synchronous session, so a file-scope pointer is enough. */
#include <stdlib.h>

#include "whttp.h"

static struct whttp_notify *current;

static void print_wide_info(FILE *f, const void *info, DWORD len)
{
  if (!info || len == 0)
    return;
  const WCHAR *w = info;
  size_t n = len;
  while (n > 0 && w[n - 1] == L'\0')
    n--;
  char *s = whttp_narrow(w, n);
  if (s)
    fprintf(f, " %s", s);
  free(s);
}

static DWORD dword_info(const void *info, DWORD len)
{
  DWORD v = 0;
  if (info && len >= sizeof(DWORD))
    v = *(const DWORD *)info;
  return v;
}

/* Writes the notification's information, in the form its status implies. */
static void print_info(FILE *f, DWORD status, const void *info, DWORD len)
{
  switch (status) {
  case WINHTTP_CALLBACK_STATUS_RESOLVING_NAME:
  case WINHTTP_CALLBACK_STATUS_NAME_RESOLVED:
  case WINHTTP_CALLBACK_STATUS_CONNECTING_TO_SERVER:
  case WINHTTP_CALLBACK_STATUS_CONNECTED_TO_SERVER:
  case WINHTTP_CALLBACK_STATUS_REDIRECT:
    print_wide_info(f, info, len);
    break;
  case WINHTTP_CALLBACK_STATUS_REQUEST_SENT:
  case WINHTTP_CALLBACK_STATUS_RESPONSE_RECEIVED:
    fprintf(f, " %lu bytes", (unsigned long)dword_info(info, len));
    break;
  case WINHTTP_CALLBACK_STATUS_INTERMEDIATE_RESPONSE:
    fprintf(f, " status %lu", (unsigned long)dword_info(info, len));
    break;
  case WINHTTP_CALLBACK_STATUS_SECURE_FAILURE:
    fputc(' ', f);
    whttp_print_secure_flags(f, dword_info(info, len));
    break;
  case WINHTTP_CALLBACK_STATUS_HANDLE_CREATED:
  case WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING:
    if (info && len >= sizeof(HINTERNET))
      fprintf(f, " handle %p", *(HINTERNET const *)info);
    break;
  default:
    break;
  }
}

/* While the body is read, RECEIVING_RESPONSE/RESPONSE_RECEIVED come once per
 * network read: counted, and summed up at the end instead of printed. */
static bool collapse(struct whttp_notify *n, DWORD status, const void *info, DWORD len)
{
  if (!n->body_phase)
    return false;
  if (status == WINHTTP_CALLBACK_STATUS_RECEIVING_RESPONSE)
    return true;
  if (status != WINHTTP_CALLBACK_STATUS_RESPONSE_RECEIVED)
    return false;
  n->body_reads++;
  n->body_bytes += dword_info(info, len);
  return true;
}

static void CALLBACK on_status(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info,
                               DWORD len)
{
  (void)h;
  (void)ctx;
  struct whttp_notify *n = current;
  if (!n)
    return;
  if (status == WINHTTP_CALLBACK_STATUS_SECURE_FAILURE)
    n->secure_flags = dword_info(info, len);
  if (!n->out || collapse(n, status, info, len))
    return;
  fprintf(n->out, "* %s", whttp_status_name(status));
  print_info(n->out, status, info, len);
  fputc('\n', n->out);
  fflush(n->out);
}

void whttp_notify_install(HINTERNET session, struct whttp_notify *n)
{
  current = n;
  WinHttpSetStatusCallback(session, on_status, WINHTTP_CALLBACK_FLAG_ALL_NOTIFICATIONS, 0);
}

void whttp_notify_body_summary(struct whttp_notify *n)
{
  if (!n->out || n->body_reads == 0)
    return;
  fprintf(n->out, "* RESPONSE_RECEIVED x %llu while reading the body: %llu bytes\n",
          (unsigned long long)n->body_reads, (unsigned long long)n->body_bytes);
}

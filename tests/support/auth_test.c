/* see auth_test.h */
#define _GNU_SOURCE /* clock_gettime */
#include "auth_test.h"

#include "wh_test.h"

#include <time.h>
#include <wchar.h>

void wh_h3_open(struct wh_h3 *h, const wchar_t *host, unsigned short port, const wchar_t *path,
                DWORD session_flags, DWORD request_flags)
{
  h->s = WinHttpOpen(L"auth-test", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, session_flags);
  assert_non_null(h->s);
  h->c = WinHttpConnect(h->s, host, port, 0);
  assert_non_null(h->c);
  h->r = WinHttpOpenRequest(h->c, L"GET", path, NULL, NULL, NULL, request_flags);
  assert_non_null(h->r);
}

void wh_h3_close(struct wh_h3 *h)
{
  WinHttpCloseHandle(h->r);
  WinHttpCloseHandle(h->c);
  WinHttpCloseHandle(h->s);
}

DWORD wh_h3_run(HINTERNET r, char *body, size_t cap, DWORD *err)
{
  *err = ERROR_SUCCESS;
  if (!WinHttpSendRequest(r, NULL, 0, NULL, 0, 0, 0) || !WinHttpReceiveResponse(r, NULL)) {
    *err = GetLastError();
    return 0;
  }
  DWORD status = 0, len = sizeof(status);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                                  &status, &len, NULL));
  size_t n = 0;
  for (;;) {
    DWORD got = 0;
    assert_true(WinHttpReadData(r, body + n, (DWORD)(cap - 1 - n), &got));
    if (got == 0)
      break;
    n += got;
  }
  body[n] = '\0';
  return status;
}

void wh_h3_set_str(HINTERNET r, DWORD option, const wchar_t *value)
{
  assert_true(WinHttpSetOption(r, option, (void *)value, (DWORD)wcslen(value)));
}

void CALLBACK wh_async_wait_cb(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  (void)h;
  struct wh_async_wait *w = (struct wh_async_wait *)ctx;
  if (!w)
    return;
  pthread_mutex_lock(&w->lock);
  if (status == WINHTTP_CALLBACK_STATUS_REQUEST_ERROR)
    w->error = ((WINHTTP_ASYNC_RESULT *)info)->dwError;
  if (status == WINHTTP_CALLBACK_STATUS_READ_COMPLETE)
    w->read = len;
  if (status == WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING)
    w->closed = true;
  if (status == WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE ||
      status == WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE ||
      status == WINHTTP_CALLBACK_STATUS_READ_COMPLETE ||
      status == WINHTTP_CALLBACK_STATUS_REQUEST_ERROR)
    w->last = status;
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

DWORD wh_async_wait_next(struct wh_async_wait *w)
{
  pthread_mutex_lock(&w->lock);
  while (!w->last)
    pthread_cond_wait(&w->cond, &w->lock);
  DWORD got = w->last;
  w->last = 0;
  pthread_mutex_unlock(&w->lock);
  return got;
}

void wh_async_wait_closed(struct wh_async_wait *w)
{
  pthread_mutex_lock(&w->lock);
  while (!w->closed)
    pthread_cond_wait(&w->cond, &w->lock);
  pthread_mutex_unlock(&w->lock);
}

static struct timespec deadline_in(long ms)
{
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (ms % 1000) * 1000000;
  if (until.tv_nsec >= 1000000000) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000;
  }
  return until;
}

bool wh_async_wait_closed_within(struct wh_async_wait *w, long ms)
{
  struct timespec until = deadline_in(ms);
  pthread_mutex_lock(&w->lock);
  while (!w->closed && pthread_cond_timedwait(&w->cond, &w->lock, &until) == 0)
    ;
  bool closed = w->closed;
  pthread_mutex_unlock(&w->lock);
  return closed;
}

int wh_wait_count(pthread_mutex_t *lock, pthread_cond_t *cond, const int *counter, int want,
                  long ms)
{
  struct timespec until = deadline_in(ms);
  pthread_mutex_lock(lock);
  while (*counter < want && pthread_cond_timedwait(cond, lock, &until) == 0)
    ;
  int got = *counter;
  pthread_mutex_unlock(lock);
  return got;
}

void CALLBACK wh_async_count_cb(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  (void)info;
  (void)len;
  struct wh_async_count *c = (struct wh_async_count *)ctx;
  bool done = false, ok = false;
  if (status == WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE) {
    done = !WinHttpReceiveResponse(h, NULL);
  } else if (status == WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE) {
    DWORD code = 0, size = sizeof(code);
    ok = WinHttpQueryHeaders(h, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER, NULL,
                             &code, &size, NULL) &&
         code == 200;
    done = true;
  } else if (status == WINHTTP_CALLBACK_STATUS_REQUEST_ERROR) {
    done = true;
  }
  if (done && c) {
    pthread_mutex_lock(&c->lock);
    c->done++;
    c->ok += ok;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
  }
}

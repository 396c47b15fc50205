/* Helpers the authentication tests share (test_credentials, test_conn_auth,
 * test_auth_servers), and others that wait on asynchronous requests: a
 * session, connect and request opened together, one synchronous exchange,
 * a waiter for one request's completions, and a counter for many. */
#ifndef WH_AUTH_TEST_H
#define WH_AUTH_TEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <winhttp.h>

struct wh_h3 {
  HINTERNET s, c, r;
};

/* Opens a session (|session_flags|, no proxy), a connect to |host|:|port|
 * and a GET request for |path| (|request_flags|); fails the test if any
 * cannot be opened. */
void wh_h3_open(struct wh_h3 *h, const wchar_t *host, unsigned short port, const wchar_t *path,
                DWORD session_flags, DWORD request_flags);
/* Closes the three handles (request first). */
void wh_h3_close(struct wh_h3 *h);

/* Sends |r| (no body), receives, reads the body into |body| (NUL-
 * terminated, at most cap - 1 bytes). Returns the status, or 0 with *err
 * set when Send or Receive failed. */
DWORD wh_h3_run(HINTERNET r, char *body, size_t cap, DWORD *err);

/* Sets a string option from a wide literal. */
void wh_h3_set_str(HINTERNET r, DWORD option, const wchar_t *value);

/* Completions of an asynchronous request, its callback's context. */
struct wh_async_wait {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  DWORD last;  /* the last completion seen, 0 once taken */
  DWORD error; /* REQUEST_ERROR's */
  DWORD read;  /* READ_COMPLETE's byte count */
  bool closed; /* HANDLE_CLOSING seen */
};
#define WH_ASYNC_WAIT_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, false}

/* The status callback: records SENDREQUEST_COMPLETE, HEADERS_AVAILABLE,
 * READ_COMPLETE, REQUEST_ERROR and HANDLE_CLOSING in the context's waiter. */
void CALLBACK wh_async_wait_cb(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len);
/* The next completion (blocks until there is one). */
DWORD wh_async_wait_next(struct wh_async_wait *w);
/* Until HANDLE_CLOSING (a waiter on the stack must outlive its callbacks). */
void wh_async_wait_closed(struct wh_async_wait *w);
/* The same for at most |ms| milliseconds: whether HANDLE_CLOSING came. */
bool wh_async_wait_closed_within(struct wh_async_wait *w, long ms);

/* Waits until *|counter| (guarded by |lock|, signalled on |cond|) reaches
 * |want| or |ms| milliseconds pass; returns the count reached. */
int wh_wait_count(pthread_mutex_t *lock, pthread_cond_t *cond, const int *counter, int want,
                  long ms);

/* Many asynchronous GETs counted to their end, the counter as each one's
 * SendRequest context: the callback calls ReceiveResponse at
 * SENDREQUEST_COMPLETE and counts a request done at HEADERS_AVAILABLE
 * (|ok| too when the status is 200) or REQUEST_ERROR. */
struct wh_async_count {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int done, ok;
};
#define WH_ASYNC_COUNT_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0}
void CALLBACK wh_async_count_cb(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len);

#endif

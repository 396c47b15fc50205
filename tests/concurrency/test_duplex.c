/* CONTRACT C10, full duplex: the send side of a request (WriteData) and its
 * receive side (ReceiveResponse, QueryDataAvailable, ReadData) are
 * separate; the response is read while the request body is still being
 * written, in both modes. Against the fault server's /duplex scenario,
 * which answers at once and echoes each piece of the request body as a
 * response chunk as soon as it arrives. Also: one operation per side (C9
 * within a side), and closing the handle while a thread waits on each side
 * ends both (C6). Threads meet on semaphores and condition variables,
 * never on sleeps. Runs under ThreadSanitizer. */
#include "wh_test.h"
#include "peers.h"

#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct wh_peer fault;

static void sem_take(sem_t *s)
{
  while (sem_wait(s) != 0)
    ;
}

static HINTERNET open_request(HINTERNET *session, HINTERNET *connect, DWORD session_flags,
                              const wchar_t *path, DWORD open_flags)
{
  *session = WinHttpOpen(L"duplex", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, session_flags);
  assert_non_null(*session);
  *connect = WinHttpConnect(*session, L"127.0.0.1", wh_peer_port(&fault), 0);
  assert_non_null(*connect);
  HINTERNET r = WinHttpOpenRequest(*connect, L"POST", path, NULL, NULL, NULL, open_flags);
  assert_non_null(r);
  return r;
}

static DWORD status_of(HINTERNET r)
{
  DWORD code = 0, size = sizeof(code);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                                  NULL, &code, &size, NULL));
  return code;
}

/* --- synchronous: a writer thread and the reading thread in lock step ----------- */

static const char *const pieces[] = {"alpha-", "bravo-", "charlie-delta"};
#define N_PIECES (sizeof(pieces) / sizeof(pieces[0]))

struct lockstep {
  HINTERNET r;
  sem_t echoed[N_PIECES];
  DWORD write_err;
};

/* Writes piece i only once the reader has seen the echo of piece i-1: the
 * response is being read while the body is incomplete. */
static void *writer(void *arg)
{
  struct lockstep *ls = arg;
  for (size_t i = 0; i < N_PIECES; i++) {
    if (i > 0)
      sem_take(&ls->echoed[i - 1]);
    DWORD n = 0;
    if (!WinHttpWriteData(ls->r, pieces[i], (DWORD)strlen(pieces[i]), &n) ||
        n != strlen(pieces[i])) {
      ls->write_err = GetLastError() ? GetLastError() : ERROR_WINHTTP_INTERNAL_ERROR;
      return NULL;
    }
  }
  return NULL;
}

static void test_c10_sync_lockstep(void **state)
{
  (void)state;
  HINTERNET s, c;
  struct lockstep ls = {0};
  ls.r = open_request(&s, &c, 0, L"/duplex", 0);
  for (size_t i = 0; i < N_PIECES; i++)
    sem_init(&ls.echoed[i], 0, 0);
  DWORD total = 0;
  for (size_t i = 0; i < N_PIECES; i++)
    total += (DWORD)strlen(pieces[i]);
  assert_true(WinHttpSendRequest(ls.r, NULL, 0, NULL, 0, total, 0));
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, writer, &ls), 0);
  /* Nothing of the body may have been written yet: the response is asked
   * for before it, and the server answers at once. */
  assert_true(WinHttpReceiveResponse(ls.r, NULL));
  assert_int_equal(status_of(ls.r), 200);
  for (size_t i = 0; i < N_PIECES; i++) {
    char buf[64];
    size_t want = strlen(pieces[i]), got = 0;
    while (got < want) {
      DWORD n = 0;
      assert_int_equal(WinHttpReadDataEx(ls.r, buf + got, (DWORD)(want - got), &n, 0, 0, NULL),
                       ERROR_SUCCESS);
      assert_true(n > 0);
      got += n;
    }
    assert_memory_equal(buf, pieces[i], want);
    sem_post(&ls.echoed[i]);
  }
  pthread_join(t, NULL);
  assert_int_equal(ls.write_err, ERROR_SUCCESS);
  /* The body is complete: the response ends. */
  char end[8];
  DWORD n = 1;
  assert_true(WinHttpReadData(ls.r, end, sizeof(end), &n));
  assert_int_equal(n, 0);
  /* The body is complete: more is refused. */
  assert_false(WinHttpWriteData(ls.r, "x", 1, &n));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  for (size_t i = 0; i < N_PIECES; i++)
    sem_destroy(&ls.echoed[i]);
  WinHttpCloseHandle(ls.r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* A zero-length WriteData ends a chunked upload (the last chunk); then the
 * response is complete, and the body can no longer be written. */
static void test_chunked_upload_ended_by_empty_write(void **state)
{
  (void)state;
  HINTERNET s, c;
  HINTERNET r = open_request(&s, &c, 0, L"/echo", WINHTTP_FLAG_AUTOMATIC_CHUNKING);
  assert_true(WinHttpSendRequest(r, NULL, 0, NULL, 0, WINHTTP_IGNORE_REQUEST_TOTAL_LENGTH, 0));
  DWORD n = 0;
  assert_true(WinHttpWriteData(r, "hello", 5, &n));
  assert_int_equal(n, 5);
  assert_true(WinHttpWriteData(r, "", 0, &n));
  assert_int_equal(n, 0);
  assert_false(WinHttpWriteData(r, "more", 4, &n));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  assert_true(WinHttpReceiveResponse(r, NULL));
  WCHAR v[16];
  DWORD size = sizeof(v);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_CUSTOM, L"X-Echo-Body-Length", v, &size, NULL));
  assert_true(wcscmp(v, L"5") == 0);
  size = sizeof(v);
  assert_true(WinHttpQueryHeaders(r, WINHTTP_QUERY_CUSTOM, L"X-Echo-Framing", v, &size, NULL));
  assert_true(wcscmp(v, L"chunked") == 0);
  WinHttpCloseHandle(r);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* --- C6 on both sides: a thread waits on each, the handle is closed ------------- */

struct blocked {
  HINTERNET r;
  sem_t wrote, waiting;
  DWORD write_err, recv_err;
};

static void CALLBACK on_receiving(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info,
                                  DWORD len)
{
  (void)h, (void)info, (void)len;
  struct blocked *b = (struct blocked *)ctx;
  if (status == WINHTTP_CALLBACK_STATUS_RECEIVING_RESPONSE && b)
    sem_post(&b->waiting);
}

/* Writes until the handle is closed under it (the server reads and
 * discards everything and never answers). */
static void *endless_writer(void *arg)
{
  struct blocked *b = arg;
  static char chunk[65536];
  bool first = true;
  for (;;) {
    DWORD n = 0;
    if (!WinHttpWriteData(b->r, chunk, sizeof(chunk), &n)) {
      b->write_err = GetLastError();
      if (first)
        sem_post(&b->wrote);
      return NULL;
    }
    if (first)
      sem_post(&b->wrote);
    first = false;
  }
}

static void *receiver(void *arg)
{
  struct blocked *b = arg;
  if (!WinHttpReceiveResponse(b->r, NULL))
    b->recv_err = GetLastError();
  return NULL;
}

static void test_c6_close_ends_both_sides(void **state)
{
  (void)state;
  HINTERNET s, c;
  struct blocked b = {0};
  sem_init(&b.wrote, 0, 0);
  sem_init(&b.waiting, 0, 0);
  b.r = open_request(&s, &c, 0, L"/stall", 0);
  DWORD_PTR ctx = (DWORD_PTR)&b;
  assert_true(WinHttpSetOption(b.r, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx)));
  WinHttpSetStatusCallback(b.r, on_receiving, WINHTTP_CALLBACK_STATUS_RECEIVING_RESPONSE, 0);
  assert_true(WinHttpSendRequest(b.r, NULL, 0, NULL, 0, 0x7fffffff, 0));
  pthread_t tw, tr;
  assert_int_equal(pthread_create(&tw, NULL, endless_writer, &b), 0);
  sem_take(&b.wrote); /* the body is under way */
  assert_int_equal(pthread_create(&tr, NULL, receiver, &b), 0);
  sem_take(&b.waiting); /* the receiver is about to wait for the head */
  assert_true(WinHttpCloseHandle(b.r));
  pthread_join(tr, NULL);
  pthread_join(tw, NULL);
  assert_int_equal(b.recv_err, ERROR_WINHTTP_OPERATION_CANCELLED);
  /* The writer was inside WriteData (cancelled) or between two (the handle
   * is gone). */
  if (b.write_err != ERROR_WINHTTP_OPERATION_CANCELLED && b.write_err != ERROR_INVALID_HANDLE)
    fail_msg("the writer ended with %lu", (unsigned long)b.write_err);
  sem_destroy(&b.wrote);
  sem_destroy(&b.waiting);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
}

/* --- asynchronous: a write too big to finish while the echo is unread ------------ */

/* More than every buffer between the two ends can hold (our send and
 * receive buffers, the server's, and its own queues), so that the write
 * cannot complete before the echo is read: twice the largest TCP receive
 * and send buffers this kernel allows, plus 16 MiB. */
static size_t sysctl_max(const char *path)
{
  FILE *f = fopen(path, "r");
  unsigned long lo = 0, def = 0, max = 0;
  if (f) {
    if (fscanf(f, "%lu %lu %lu", &lo, &def, &max) != 3)
      max = 0;
    fclose(f);
  }
  return max ? (size_t)max : (size_t)32 << 20;
}

static size_t big_size(void)
{
  return 2 * sysctl_max("/proc/sys/net/ipv4/tcp_rmem") +
         2 * sysctl_max("/proc/sys/net/ipv4/tcp_wmem") + ((size_t)16 << 20);
}

static unsigned char expected_byte(size_t i)
{
  return (unsigned char)((i * 31u + 7u) & 0xffu);
}

struct aduplex {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  unsigned char *buf; /* the reads' buffer */
  size_t echoed;      /* response bytes read so far */
  bool mismatch;
  int writes_done;
  DWORD last_written;
  bool headers, read_end, closed, sent;
  WINHTTP_ASYNC_RESULT error;
  bool failed;
  /* Callbacks of this request running now and the thread running them:
   * nested inline completions on one thread are fine, two threads at once
   * are not. */
  int active;
  pthread_t owner;
  bool overlap;
  size_t read_size;
};

static void enter_cb(struct aduplex *d)
{
  pthread_mutex_lock(&d->lock);
  if (d->active > 0 && !pthread_equal(d->owner, pthread_self()))
    d->overlap = true;
  d->owner = pthread_self();
  d->active++;
  pthread_mutex_unlock(&d->lock);
}

static void leave_cb(struct aduplex *d)
{
  pthread_mutex_lock(&d->lock);
  d->active--;
  pthread_mutex_unlock(&d->lock);
}

static void a_signal(struct aduplex *d)
{
  pthread_cond_broadcast(&d->cond);
  pthread_mutex_unlock(&d->lock);
}

static void CALLBACK on_duplex(HINTERNET h, DWORD_PTR ctx, DWORD status, LPVOID info, DWORD len)
{
  struct aduplex *d = (struct aduplex *)ctx;
  if (!d)
    return;
  enter_cb(d);
  pthread_mutex_lock(&d->lock);
  switch (status) {
  case WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE:
    d->sent = true;
    a_signal(d);
    break;
  case WINHTTP_CALLBACK_STATUS_WRITE_COMPLETE:
    d->writes_done++;
    d->last_written = *(DWORD *)info;
    a_signal(d);
    break;
  case WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE:
    d->headers = true;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
    if (!WinHttpReadData(h, d->buf, (DWORD)d->read_size, NULL))
      fail_msg("ReadData refused: %lu", (unsigned long)GetLastError());
    break;
  case WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
    for (DWORD i = 0; i < len; i++)
      if (d->buf[i] != expected_byte(d->echoed + i))
        d->mismatch = true;
    d->echoed += len;
    if (len == 0) {
      d->read_end = true;
      a_signal(d);
      break;
    }
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
    if (!WinHttpReadData(h, d->buf, (DWORD)d->read_size, NULL))
      fail_msg("ReadData refused: %lu", (unsigned long)GetLastError());
    break;
  case WINHTTP_CALLBACK_STATUS_REQUEST_ERROR:
    d->error = *(WINHTTP_ASYNC_RESULT *)info;
    d->failed = true;
    a_signal(d);
    break;
  case WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING:
    /* The last callback: once signalled, |d| may be gone (it lives on the
     * test's stack), so the bookkeeping ends here. */
    d->active--;
    d->closed = true;
    a_signal(d);
    return;
  default:
    pthread_mutex_unlock(&d->lock);
    break;
  }
  leave_cb(d);
}

static void a_wait(struct aduplex *d, bool *flag)
{
  pthread_mutex_lock(&d->lock);
  while (!*flag && !d->failed)
    pthread_cond_wait(&d->cond, &d->lock);
  pthread_mutex_unlock(&d->lock);
}

static void a_wait_writes(struct aduplex *d, int n)
{
  pthread_mutex_lock(&d->lock);
  while (d->writes_done < n && !d->failed)
    pthread_cond_wait(&d->cond, &d->lock);
  pthread_mutex_unlock(&d->lock);
}

/* An asynchronous request whose callbacks go to |d|, with |read_size|
 * bytes for its reads. */
static HINTERNET a_open(struct aduplex *d, HINTERNET *s, HINTERNET *c, const wchar_t *path,
                        DWORD open_flags, size_t read_size)
{
  HINTERNET r = open_request(s, c, WINHTTP_FLAG_ASYNC, path, open_flags);
  pthread_mutex_init(&d->lock, NULL);
  pthread_cond_init(&d->cond, NULL);
  d->read_size = read_size;
  d->buf = malloc(read_size);
  assert_non_null(d->buf);
  DWORD_PTR ctx = (DWORD_PTR)d;
  assert_true(WinHttpSetOption(r, WINHTTP_OPTION_CONTEXT_VALUE, &ctx, sizeof(ctx)));
  WinHttpSetStatusCallback(r, on_duplex,
                           WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS | WINHTTP_CALLBACK_FLAG_HANDLES, 0);
  return r;
}

/* Closes the request, waits for its HANDLE_CLOSING (the last callback: |d|
 * is the test's again), then the rest. */
static void a_close(struct aduplex *d, HINTERNET r, HINTERNET c, HINTERNET s)
{
  assert_true(WinHttpCloseHandle(r));
  pthread_mutex_lock(&d->lock);
  while (!d->closed)
    pthread_cond_wait(&d->cond, &d->lock);
  pthread_mutex_unlock(&d->lock);
  WinHttpCloseHandle(c);
  WinHttpCloseHandle(s);
  free(d->buf);
  pthread_mutex_destroy(&d->lock);
  pthread_cond_destroy(&d->cond);
}

static void test_c10_async_chunked_big_write(void **state)
{
  (void)state;
  HINTERNET s, c;
  struct aduplex d = {0};
  HINTERNET r = a_open(&d, &s, &c, L"/duplex", WINHTTP_FLAG_AUTOMATIC_CHUNKING, 65536);
  const size_t BIG = big_size();
  unsigned char *big = malloc(BIG);
  assert_non_null(big);
  for (size_t i = 0; i < BIG; i++)
    big[i] = expected_byte(i);
  assert_true(WinHttpSendRequest(r, NULL, 0, NULL, 0, WINHTTP_IGNORE_REQUEST_TOTAL_LENGTH, 0));
  a_wait(&d, &d.sent);
  /* BIG cannot go out while nobody reads the echo: the write stays
   * pending... */
  assert_true(WinHttpWriteData(r, big, (DWORD)BIG, NULL));
  /* ...so a second write on the same side is refused (C9), */
  assert_false(WinHttpWriteData(r, "x", 1, NULL));
  assert_last_error(ERROR_WINHTTP_INCORRECT_HANDLE_STATE);
  /* and the response is received while it is: full duplex. */
  assert_true(WinHttpReceiveResponse(r, NULL));
  a_wait_writes(&d, 1);
  assert_false(d.failed);
  assert_int_equal(d.last_written, BIG);
  /* The empty write ends the chunked body; the echo then ends. */
  assert_true(WinHttpWriteData(r, "", 0, NULL));
  a_wait_writes(&d, 2);
  assert_int_equal(d.last_written, 0);
  a_wait(&d, &d.read_end);
  assert_false(d.failed);
  assert_true(d.headers);
  assert_int_equal(d.echoed, BIG);
  assert_false(d.mismatch);
  assert_false(d.overlap); /* one request's callbacks never overlap */
  a_close(&d, r, c, s);
  free(big);
}

/* Asynchronous lock step with a declared length: each piece is written and
 * its echo read before the next is written. */
static void test_c10_async_lockstep(void **state)
{
  (void)state;
  HINTERNET s, c;
  struct aduplex d = {0};
  /* ReadData fills: one READ_COMPLETE per 20-byte piece. */
  HINTERNET r = a_open(&d, &s, &c, L"/duplex", 0, 20);
  /* The echo is checked against the pattern: send pattern bytes. */
  unsigned char body[60];
  for (size_t i = 0; i < sizeof(body); i++)
    body[i] = expected_byte(i);
  assert_true(WinHttpSendRequest(r, NULL, 0, NULL, 0, sizeof(body), 0));
  a_wait(&d, &d.sent);
  assert_true(WinHttpReceiveResponse(r, NULL));
  a_wait(&d, &d.headers);
  for (int i = 0; i < 3; i++) {
    if (!WinHttpWriteData(r, body + 20 * i, 20, NULL))
      fail_msg("WriteData %d: %lu (request error api %lu error %lu)", i,
               (unsigned long)GetLastError(), (unsigned long)d.error.dwResult,
               (unsigned long)d.error.dwError);
    a_wait_writes(&d, i + 1);
    pthread_mutex_lock(&d.lock);
    while (d.echoed < 20u * (unsigned)(i + 1) && !d.failed)
      pthread_cond_wait(&d.cond, &d.lock);
    pthread_mutex_unlock(&d.lock);
  }
  a_wait(&d, &d.read_end);
  assert_false(d.failed);
  assert_int_equal(d.echoed, sizeof(body));
  assert_false(d.mismatch);
  assert_false(d.overlap);
  a_close(&d, r, c, s);
}

/* The server answers early with a close-delimited body and stops reading
 * while a big WriteData is pending: the response is read to its end, and
 * the pending write ends at once with REQUEST_ERROR (the connection is
 * shut down), not at its send timeout; HANDLE_CLOSING then comes once. */
static void test_c10_async_early_close(void **state)
{
  (void)state;
  HINTERNET s, c;
  struct aduplex d = {0};
  HINTERNET r = a_open(&d, &s, &c, L"/early-close", 0, 64);
  const size_t BIG = big_size();
  unsigned char *big = calloc(1, BIG);
  assert_non_null(big);
  assert_true(WinHttpSendRequest(r, NULL, 0, NULL, 0, (DWORD)BIG, 0));
  a_wait(&d, &d.sent);
  assert_true(WinHttpWriteData(r, big, (DWORD)BIG, NULL)); /* stalls: the server does not read */
  assert_true(WinHttpReceiveResponse(r, NULL));
  a_wait(&d, &d.read_end);
  assert_true(d.headers);
  assert_int_equal(d.echoed, 5);
  assert_memory_equal(d.buf, "hello", 5); /* the last read (0 bytes) left the body in place */
  /* The write's end: an error, promptly (a_wait returns on REQUEST_ERROR). */
  pthread_mutex_lock(&d.lock);
  while (!d.failed && d.writes_done == 0)
    pthread_cond_wait(&d.cond, &d.lock);
  pthread_mutex_unlock(&d.lock);
  assert_true(d.failed);
  assert_int_equal(d.error.dwResult, API_WRITE_DATA);
  assert_int_equal(d.error.dwError, ERROR_WINHTTP_CONNECTION_ERROR);
  assert_false(d.overlap);
  a_close(&d, r, c, s);
  free(big);
}

static int setup(void **state)
{
  (void)state;
  return wh_peer_start_fault(&fault);
}

static int teardown(void **state)
{
  (void)state;
  wh_peer_stop(&fault);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_c10_sync_lockstep),
      cmocka_unit_test(test_chunked_upload_ended_by_empty_write),
      cmocka_unit_test(test_c6_close_ends_both_sides),
      cmocka_unit_test(test_c10_async_chunked_big_write),
      cmocka_unit_test(test_c10_async_lockstep),
      cmocka_unit_test(test_c10_async_early_close),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

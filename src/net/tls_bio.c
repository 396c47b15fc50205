/* see tls_bio.h */
#include "net/tls_bio.h"

#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/socket.h>

static BIO_METHOD *method;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

static int fd_of(BIO *b)
{
  return (int)(intptr_t)BIO_get_data(b);
}

static int retryable(int e)
{
  return e == EAGAIN || e == EWOULDBLOCK || e == EINTR || e == EINPROGRESS;
}

static int sock_write(BIO *b, const char *buf, size_t len, size_t *done)
{
  BIO_clear_retry_flags(b);
  ssize_t n = send(fd_of(b), buf, len, MSG_NOSIGNAL);
  if (n >= 0) {
    *done = (size_t)n;
    return 1;
  }
  if (retryable(errno))
    BIO_set_retry_write(b);
  *done = 0;
  return 0;
}

static int sock_read(BIO *b, char *buf, size_t len, size_t *done)
{
  BIO_clear_retry_flags(b);
  ssize_t n = recv(fd_of(b), buf, len, 0);
  if (n > 0) {
    *done = (size_t)n;
    return 1;
  }
  *done = 0;
  if (n == 0) {
    BIO_set_flags(b, BIO_FLAGS_IN_EOF); /* OpenSSL tells an EOF from an error by it */
    return 0;
  }
  if (retryable(errno))
    BIO_set_retry_read(b);
  return 0;
}

static long sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
  (void)num;
  switch (cmd) {
  case BIO_CTRL_FLUSH:
  case BIO_CTRL_PUSH:
  case BIO_CTRL_POP:
    return 1;
  case BIO_C_GET_FD:
    if (ptr)
      *(int *)ptr = fd_of(b);
    return fd_of(b);
  case BIO_CTRL_EOF:
    return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
  default:
    return 0;
  }
}

static int sock_create(BIO *b)
{
  BIO_set_init(b, 1);
  return 1;
}

static void make_method(void)
{
  BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                               "openwinhttp socket");
  if (!m)
    return;
  if (!BIO_meth_set_write_ex(m, sock_write) || !BIO_meth_set_read_ex(m, sock_read) ||
      !BIO_meth_set_ctrl(m, sock_ctrl) || !BIO_meth_set_create(m, sock_create)) {
    BIO_meth_free(m);
    return;
  }
  method = m; /* lives for the process, as OpenSSL's own methods do */
}

BIO *wh_tls_bio_new(int fd)
{
  pthread_once(&method_once, make_method);
  if (!method)
    return NULL;
  BIO *b = BIO_new(method);
  if (b)
    BIO_set_data(b, (void *)(intptr_t)fd);
  return b;
}

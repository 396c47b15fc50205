/* The socket BIO under TLS (net/tls_bio.h): writing to a peer that has
 * gone must give an error, never SIGPIPE (whose default action would end
 * the application). OpenSSL's own socket BIO, which SSL_set_fd uses,
 * writes with write(2) and kills a process that leaves SIGPIPE at its
 * default. Also: reads, EOF and the retry flags on a non-blocking socket. */
#include "wh_test.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/tls_bio.h"

static void test_no_sigpipe(void **state)
{
  (void)state;
  /* SIGPIPE at its default, as in an application that never touched it. */
  struct sigaction dfl = {.sa_handler = SIG_DFL}, old;
  sigemptyset(&dfl.sa_mask);
  assert_int_equal(sigaction(SIGPIPE, &dfl, &old), 0);
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  close(sv[1]); /* the peer is gone */
  BIO *b = wh_tls_bio_new(sv[0]);
  assert_non_null(b);
  char buf[4096];
  memset(buf, 'x', sizeof(buf));
  for (int i = 0; i < 3; i++) {
    size_t done = 1;
    assert_int_equal(BIO_write_ex(b, buf, sizeof(buf), &done), 0);
    assert_int_equal(done, 0);
    assert_false(BIO_should_retry(b));
  }
  BIO_free(b);
  close(sv[0]); /* the BIO does not own the descriptor */
  sigaction(SIGPIPE, &old, NULL);
}

static void test_read_write_eof_retry(void **state)
{
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  fcntl(sv[0], F_SETFL, O_NONBLOCK);
  BIO *b = wh_tls_bio_new(sv[0]);
  assert_non_null(b);
  char buf[16];
  size_t n = 0;
  /* Nothing yet: a retry, not an error. */
  assert_int_equal(BIO_read_ex(b, buf, sizeof(buf), &n), 0);
  assert_true(BIO_should_retry(b));
  assert_true(BIO_should_read(b));
  assert_int_equal(write(sv[1], "hello", 5), 5);
  assert_int_equal(BIO_read_ex(b, buf, sizeof(buf), &n), 1);
  assert_int_equal(n, 5);
  assert_memory_equal(buf, "hello", 5);
  assert_int_equal(BIO_write_ex(b, "world", 5, &n), 1);
  assert_int_equal(n, 5);
  assert_int_equal(read(sv[1], buf, sizeof(buf)), 5);
  int fd = -1;
  assert_int_equal(BIO_get_fd(b, &fd), sv[0]);
  assert_int_equal(fd, sv[0]);
  /* The peer's FIN: end of file, no retry. */
  close(sv[1]);
  assert_int_equal(BIO_read_ex(b, buf, sizeof(buf), &n), 0);
  assert_false(BIO_should_retry(b));
  assert_true(BIO_eof(b));
  BIO_free(b);
  close(sv[0]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_sigpipe),
      cmocka_unit_test(test_read_write_eof_retry),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

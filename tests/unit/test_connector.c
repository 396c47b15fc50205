/* The connector (net/conn.c) tries the resolved addresses in order, each
 * once, and at most as many as WINHTTP_OPTION_CONNECT_RETRIES allows
 * ("WinHTTP only attempts once per IP address": with 7 and a host of 10
 * addresses, the first seven). White-box: a host name with several
 * addresses cannot be made without touching the machine's resolver
 * configuration, so the addresses are built here: 127.0.0.1 to 127.0.0.4
 * (all loopback on Linux) at a port bound and not listening, where every
 * connection is refused at once. */
#include "wh_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "net/conn.h"
#include "net/resolve.h"
#include "util/mem.h"

#define N_ADDRS 4

static int refusing_port(unsigned short *port)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  socklen_t len = sizeof(a);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd; /* bound on every address, never listening: refused */
}

static struct wh_addrs *loopbacks(unsigned short port)
{
  struct wh_addrs *as = wh_calloc(1, sizeof(*as) + N_ADDRS * sizeof(struct wh_addr));
  assert_non_null(as);
  as->n = N_ADDRS;
  for (size_t i = 0; i < N_ADDRS; i++) {
    struct sockaddr_in *sin = (struct sockaddr_in *)&as->a[i].sa;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK + (uint32_t)i);
    as->a[i].len = sizeof(*sin);
  }
  return as;
}

/* Runs the connector to its end; returns how many addresses it tried. */
static size_t attempts(const struct wh_addrs *as, size_t max_tries)
{
  struct wh_connector k;
  wh_connector_init(&k, as, max_tries);
  for (;;) {
    int fd = -1;
    DWORD err = wh_connector_step(&k, &fd);
    if (err == ERROR_IO_PENDING) {
      struct pollfd p = {.fd = k.fd, .events = POLLOUT};
      assert_int_equal(poll(&p, 1, 5000), 1);
      continue;
    }
    assert_int_equal(err, ERROR_WINHTTP_CANNOT_CONNECT);
    assert_int_equal(fd, -1);
    return k.next; /* addresses started, in order */
  }
}

static void test_every_address_once_by_default(void **state)
{
  (void)state;
  unsigned short port;
  int fd = refusing_port(&port);
  struct wh_addrs *as = loopbacks(port);
  assert_int_equal(attempts(as, 5), N_ADDRS);
  wh_free(as);
  close(fd);
}

static void test_limit_caps_attempts(void **state)
{
  (void)state;
  unsigned short port;
  int fd = refusing_port(&port);
  struct wh_addrs *as = loopbacks(port);
  assert_int_equal(attempts(as, 2), 2);
  assert_int_equal(attempts(as, 1), 1);
  /* 0 still tries one address: a request always makes an attempt. */
  assert_int_equal(attempts(as, 0), 1);
  wh_free(as);
  close(fd);
}

/* A step run before the socket is writable (the engine may run a step for
 * another reason, a close say) finds the connect still in progress: to a
 * listener whose accept queue is full, the SYN is dropped and the connect
 * stays pending. SO_ERROR alone reads 0 then, and was once taken for
 * success (CONNECTED_TO_SERVER, then a send on an unconnected socket). */
static void test_step_before_writable_stays_pending(void **state)
{
  (void)state;
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(lfd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
  socklen_t alen = sizeof(a);
  assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
  assert_int_equal(listen(lfd, 0), 0);
  /* One connection fills the queue of a backlog of 0. */
  int fill = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  assert_true(fill >= 0);
  if (connect(fill, (struct sockaddr *)&a, sizeof(a)) != 0)
    assert_int_equal(errno, EINPROGRESS);
  struct pollfd lp = {.fd = lfd, .events = POLLIN};
  assert_int_equal(poll(&lp, 1, 5000), 1);

  struct wh_addrs *as = wh_calloc(1, sizeof(*as) + sizeof(struct wh_addr));
  assert_non_null(as);
  as->n = 1;
  memcpy(&as->a[0].sa, &a, sizeof(a));
  as->a[0].len = sizeof(a);
  struct wh_connector k;
  wh_connector_init(&k, as, 1);
  int fd = -1;
  assert_int_equal(wh_connector_step(&k, &fd), ERROR_IO_PENDING);
  struct pollfd p = {.fd = k.fd, .events = POLLOUT};
  assert_int_equal(poll(&p, 1, 0), 0); /* not writable: the SYN was dropped */
  for (int i = 0; i < 3; i++) {
    assert_int_equal(wh_connector_step(&k, &fd), ERROR_IO_PENDING);
    assert_int_equal(fd, -1);
  }
  close(k.fd);
  wh_free(as);
  close(fill);
  close(lfd);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_address_once_by_default),
      cmocka_unit_test(test_limit_caps_attempts),
      cmocka_unit_test(test_step_before_writable_stays_pending),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

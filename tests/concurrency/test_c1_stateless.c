/* CONTRACT C1: the stateless functions (WinHttpCrackUrl, WinHttpCreateUrl,
 * WinHttpTimeToSystemTime, WinHttpTimeFromSystemTime, WinHttpCheckPlatform)
 * run on many threads at once and give every thread the same answers as a
 * single thread does. Runs under ThreadSanitizer in CI. */
#include "wh_test.h"

#include <string.h>

#define THREADS 8
#define ROUNDS 2000

static pthread_barrier_t start;

static const wchar_t *urls[] = {
  L"http://user:pass@example.com:8080/path/to/x?q=1#f",
  L"https://[::1]:8443/a%20b?c",
  L"HTTP://WWW.EXAMPLE.ORG",
  L"https://host/",
  L"http://h:65535/x;y?z@w",
};
#define NURLS (sizeof(urls) / sizeof(urls[0]))

struct ref {
  WCHAR host[128], path[512], extra[512], rebuilt[1024];
  INTERNET_PORT port;
  WCHAR date[64];
  SYSTEMTIME st;
};
static struct ref expected[NURLS];

static int crack_create(const wchar_t *url, struct ref *out)
{
  URL_COMPONENTS uc;
  memset(&uc, 0, sizeof(uc));
  uc.dwStructSize = sizeof(uc);
  uc.lpszHostName = out->host; uc.dwHostNameLength = 128;
  uc.lpszUrlPath = out->path; uc.dwUrlPathLength = 512;
  uc.lpszExtraInfo = out->extra; uc.dwExtraInfoLength = 512;
  if (!WinHttpCrackUrl(url, 0, 0, &uc))
    return 0;
  out->port = uc.nPort;
  DWORD len = 1024;
  if (!WinHttpCreateUrl(&uc, 0, out->rebuilt, &len))
    return 0;
  SYSTEMTIME st = {2008, 7, 1, 28, 10, 5, 52, 0};
  if (!WinHttpTimeFromSystemTime(&st, out->date))
    return 0;
  memset(&out->st, 0, sizeof(out->st));
  return WinHttpTimeToSystemTime(out->date, &out->st) && WinHttpCheckPlatform();
}

static void *worker(void *arg)
{
  long *bad = arg;
  pthread_barrier_wait(&start);
  for (int i = 0; i < ROUNDS; i++) {
    size_t k = (size_t)i % NURLS;
    struct ref got;
    memset(&got, 0, sizeof(got));
    if (!crack_create(urls[k], &got) || got.port != expected[k].port ||
        wcscmp(got.host, expected[k].host) || wcscmp(got.path, expected[k].path) ||
        wcscmp(got.extra, expected[k].extra) || wcscmp(got.rebuilt, expected[k].rebuilt) ||
        wcscmp(got.date, expected[k].date) || memcmp(&got.st, &expected[k].st, sizeof(got.st)))
      (*bad)++;
  }
  return NULL;
}

static void test_c1_stateless_functions_in_parallel(void **state)
{
  (void)state;
  for (size_t k = 0; k < NURLS; k++)
    assert_true(crack_create(urls[k], &expected[k]));
  pthread_t t[THREADS];
  long bad[THREADS] = {0};
  pthread_barrier_init(&start, NULL, THREADS);
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, worker, &bad[i]), 0);
  for (int i = 0; i < THREADS; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(bad[i], 0);
  }
  pthread_barrier_destroy(&start);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_c1_stateless_functions_in_parallel),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

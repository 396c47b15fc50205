/* permessage-deflate (RFC 7692, winhttp_ext.h): offered only when the
 * application opts in, negotiated with python3-websockets (an independent
 * implementation) with and without context takeover and window limits,
 * answers we did not ask for refused, and the inflater's failures closing
 * the connection with the right code: corrupt data and invalid text 1007,
 * a decompression bomb 1009 (not an out-of-memory). */
#include "wh_test.h"
#include "peers.h"
#include "ws_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <winhttp_ext.h>
#include <zlib.h>

#include "core/handle.h"
#include "core/websocket.h"

static struct wh_peer raw; /* wsserver.py */
static struct wh_peer ref; /* python3-websockets */

struct ws {
  HINTERNET s, c, r, w;
};

/* An upgrade of |path| on |p| with the deflate option |flags| (0: not set);
 * the request stays open (its 101 may be looked at). */
static void upgrade(struct ws *w, const struct wh_peer *p, const wchar_t *path, DWORD flags,
                    DWORD session_flags)
{
  memset(w, 0, sizeof(*w));
  w->s = WinHttpOpen(L"ws-deflate", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, session_flags);
  assert_non_null(w->s);
  w->c = WinHttpConnect(w->s, L"127.0.0.1", wh_peer_port(p), 0);
  w->r = WinHttpOpenRequest(w->c, L"GET", path, NULL, NULL, NULL, 0);
  assert_non_null(w->r);
  assert_true(WinHttpSetOption(w->r, WINHTTP_OPTION_UPGRADE_TO_WEB_SOCKET, NULL, 0));
  if (flags)
    assert_true(WinHttpSetOption(w->r, WINHTTP_EXT_OPTION_WEB_SOCKET_DEFLATE, &flags,
                                 sizeof(flags)));
  assert_true(WinHttpSendRequest(w->r, NULL, 0, NULL, 0, 0, 0));
  assert_true(WinHttpReceiveResponse(w->r, NULL));
}

/* The request's Sec-WebSocket-Extensions header as sent ("" if none). */
static void offered(HINTERNET r, wchar_t *out, DWORD cap)
{
  DWORD len = cap * sizeof(wchar_t);
  if (!WinHttpQueryHeaders(r, WINHTTP_QUERY_CUSTOM | WINHTTP_QUERY_FLAG_REQUEST_HEADERS,
                           L"Sec-WebSocket-Extensions", out, &len, NULL))
    out[0] = L'\0';
}

static void close_all(struct ws *w)
{
  if (w->w)
    WinHttpCloseHandle(w->w);
  if (w->r)
    WinHttpCloseHandle(w->r);
  WinHttpCloseHandle(w->c);
  WinHttpCloseHandle(w->s);
}

static void open_ws(struct ws *w, const struct wh_peer *p, const wchar_t *path, DWORD flags)
{
  upgrade(w, p, path, flags, 0);
  w->w = WinHttpWebSocketCompleteUpgrade(w->r, 0);
  assert_non_null(w->w);
}

/* Sends |len| bytes of |type| and reads the echo back in receives of at
 * most |chunk| bytes: the same bytes, fragments then the message type. */
static void echo(HINTERNET w, WINHTTP_WEB_SOCKET_BUFFER_TYPE type, const unsigned char *data,
                 size_t len, size_t chunk)
{
  assert_int_equal(WinHttpWebSocketSend(w, type, (void *)data, (DWORD)len), ERROR_SUCCESS);
  unsigned char *in = malloc(len + 1);
  size_t got = 0;
  for (;;) {
    DWORD n;
    WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
    size_t room = len - got < chunk ? len - got : chunk;
    assert_int_equal(WinHttpWebSocketReceive(w, in + got, (DWORD)(room ? room : 1), &n, &t),
                     ERROR_SUCCESS);
    got += n;
    if (t == type)
      break;
    assert_int_equal(t, type == WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE
                            ? WINHTTP_WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE
                            : WINHTTP_WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE);
    assert_true(got <= len);
  }
  assert_int_equal(got, len);
  if (len)
    assert_memory_equal(in, data, len);
  free(in);
}

static const char *report(const char *id)
{
  static char rep[2048];
  char q[64];
  snprintf(q, sizeof(q), "id=%s", id);
  assert_true(wh_peer_ws_report(&ref, q, rep, sizeof(rep)) >= 0);
  return rep;
}

/* --- the option ----------------------------------------------------------------------- */

static void test_option(void **state)
{
  (void)state;
  HINTERNET s = WinHttpOpen(L"ws-deflate", WINHTTP_ACCESS_TYPE_NO_PROXY, NULL, NULL, 0);
  DWORD v = 0xdeadbeef, len = sizeof(v);
  assert_true(WinHttpQueryOption(s, WINHTTP_EXT_OPTION_WEB_SOCKET_DEFLATE, &v, &len));
  assert_int_equal(v, 0); /* not offered unless asked for */
  v = 0x10;
  assert_false(WinHttpSetOption(s, WINHTTP_EXT_OPTION_WEB_SOCKET_DEFLATE, &v, sizeof(v)));
  assert_last_error(ERROR_INVALID_PARAMETER);
  v = WINHTTP_EXT_WEB_SOCKET_DEFLATE | WINHTTP_EXT_WEB_SOCKET_DEFLATE_SERVER_WINDOW(7);
  assert_false(WinHttpSetOption(s, WINHTTP_EXT_OPTION_WEB_SOCKET_DEFLATE, &v, sizeof(v)));
  assert_last_error(ERROR_INVALID_PARAMETER);
  v = WINHTTP_EXT_WEB_SOCKET_DEFLATE | WINHTTP_EXT_WEB_SOCKET_DEFLATE_SERVER_WINDOW(9);
  assert_true(WinHttpSetOption(s, WINHTTP_EXT_OPTION_WEB_SOCKET_DEFLATE, &v, sizeof(v)));
  DWORD back = 0;
  len = sizeof(back);
  assert_true(WinHttpQueryOption(s, WINHTTP_EXT_OPTION_WEB_SOCKET_DEFLATE, &back, &len));
  assert_int_equal(back, v);
  WinHttpCloseHandle(s);
}

static void test_not_offered_by_default(void **state)
{
  (void)state;
  struct ws w;
  upgrade(&w, &ref, L"/echo?id=plain", 0, 0);
  wchar_t ext[128];
  offered(w.r, ext, 128);
  assert_true(ext[0] == L'\0');
  w.w = WinHttpWebSocketCompleteUpgrade(w.r, 0);
  assert_non_null(w.w);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_SUCCESS);
  close_all(&w);
  assert_null(strstr(report("plain"), "ext="));
}

/* --- with a real implementation --------------------------------------------------------- */

static void many_echoes(HINTERNET w)
{
  /* Compressible text, an empty message, random binary (stored blocks),
   * a big text read in small pieces, and a message sent in fragments:
   * the server inflates ours and deflates its echoes. */
  size_t big = 1u << 20;
  unsigned char *text = malloc(big), *bin = malloc(100000);
  for (size_t i = 0; i < big; i++)
    text[i] = (unsigned char)("the quick brown fox jumps over the lazy dog "[i % 44]);
  unsigned x = 12345;
  for (size_t i = 0; i < 100000; i++) {
    x = x * 1103515245 + 12345;
    bin[i] = (unsigned char)(x >> 16);
  }
  for (int round = 0; round < 3; round++) {
    echo(w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, text, 1000, 4096);
    echo(w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, bin, 0, 16);
    echo(w, WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE, bin, 100000, 1 << 20);
    echo(w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, text, big, 1000);
  }
  /* One message in three sends. */
  assert_int_equal(WinHttpWebSocketSend(w, WINHTTP_WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE, text, 300),
                   ERROR_SUCCESS);
  assert_int_equal(WinHttpWebSocketSend(w, WINHTTP_WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE, text + 300,
                                        300),
                   ERROR_SUCCESS);
  assert_int_equal(WinHttpWebSocketSend(w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, text + 600,
                                        400),
                   ERROR_SUCCESS);
  unsigned char in[1000];
  DWORD n;
  WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
  assert_int_equal(WinHttpWebSocketReceive(w, in, sizeof(in), &n, &t), ERROR_SUCCESS);
  assert_int_equal(t, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE);
  assert_int_equal(n, 1000);
  assert_memory_equal(in, text, 1000);
  free(text);
  free(bin);
}

static void test_negotiated_with_reference_server(void **state)
{
  (void)state;
  struct ws w;
  open_ws(&w, &ref, L"/echo?id=deflate", WINHTTP_EXT_WEB_SOCKET_DEFLATE);
  wchar_t ext[128];
  offered(w.r, ext, 128);
  assert_true(wcscmp(ext, L"permessage-deflate") == 0);
  many_echoes(w.w);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_SUCCESS);
  close_all(&w);
  const char *rep = report("deflate");
  if (!strstr(rep, "ext=permessage-deflate"))
    print_error("%s\n", rep);
  assert_non_null(strstr(rep, "ext=permessage-deflate"));
  assert_non_null(strstr(rep, "code=1000"));
}

static void test_no_context_takeover_and_window(void **state)
{
  (void)state;
  struct ws w;
  DWORD flags = WINHTTP_EXT_WEB_SOCKET_DEFLATE |
                WINHTTP_EXT_WEB_SOCKET_DEFLATE_CLIENT_NO_CONTEXT_TAKEOVER |
                WINHTTP_EXT_WEB_SOCKET_DEFLATE_SERVER_NO_CONTEXT_TAKEOVER |
                WINHTTP_EXT_WEB_SOCKET_DEFLATE_SERVER_WINDOW(10);
  open_ws(&w, &ref, L"/echo?id=nct&deflate=full", flags);
  wchar_t ext[128];
  offered(w.r, ext, 128);
  assert_true(wcscmp(ext, L"permessage-deflate; client_no_context_takeover; "
                          L"server_no_context_takeover; server_max_window_bits=10") == 0);
  many_echoes(w.w);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_SUCCESS);
  close_all(&w);
  const char *rep = report("nct");
  assert_non_null(strstr(rep, "server_no_context_takeover"));
  assert_non_null(strstr(rep, "client_no_context_takeover"));
  assert_non_null(strstr(rep, "server_max_window_bits=10"));
}

static void test_server_declines(void **state)
{
  (void)state;
  /* Offered, declined: plain frames both ways. */
  struct ws w;
  open_ws(&w, &ref, L"/echo?id=declined&deflate=0", WINHTTP_EXT_WEB_SOCKET_DEFLATE);
  unsigned char msg[] = "not compressed";
  echo(w.w, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE, msg, sizeof(msg) - 1, 64);
  assert_int_equal(WinHttpWebSocketClose(w.w, 1000, NULL, 0), ERROR_SUCCESS);
  close_all(&w);
  assert_null(strstr(report("declined"), "ext="));
}

/* --- answers we refuse ------------------------------------------------------------------- */

static void expect_refused(const wchar_t *path, DWORD flags)
{
  struct ws w;
  upgrade(&w, &raw, path, flags, 0);
  SetLastError(0xdeadbeef);
  assert_null(WinHttpWebSocketCompleteUpgrade(w.r, 0));
  assert_last_error(ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  close_all(&w);
}

static void test_bad_answers_refused(void **state)
{
  (void)state;
  const DWORD on = WINHTTP_EXT_WEB_SOCKET_DEFLATE;
  /* Not offered at all. */
  expect_refused(L"/echo?ext=permessage-deflate", 0);
  /* A parameter we never offered, an unknown one, a repeated one, a bad
   * window, a window above what we asked for, another extension, two. */
  expect_refused(L"/echo?ext=permessage-deflate%3B%20client_max_window_bits%3D10", on);
  expect_refused(L"/echo?ext=permessage-deflate%3B%20foo", on);
  expect_refused(L"/echo?ext=permessage-deflate%3B%20server_no_context_takeover%3B%20"
                 L"server_no_context_takeover",
                 on);
  expect_refused(L"/echo?ext=permessage-deflate%3B%20server_max_window_bits%3D16", on);
  expect_refused(L"/echo?ext=permessage-deflate%3B%20server_max_window_bits%3D12",
                 on | WINHTTP_EXT_WEB_SOCKET_DEFLATE_SERVER_WINDOW(10));
  expect_refused(L"/echo?ext=x-webkit-deflate-frame", on);
  expect_refused(L"/echo?ext=permessage-deflate%2C%20permessage-deflate", on);
}

/* --- the inflater's failures ---------------------------------------------------------------- */

/* A server frame (FIN, RSV1, |opcode|) whose payload is |len| bytes of
 * |data| deflated the way RFC 7692 says, as hex for /raw. */
static char *compressed_frame_hex(unsigned opcode, const void *data, size_t len)
{
  z_stream z;
  memset(&z, 0, sizeof(z));
  assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
  size_t cap = len + 1024;
  unsigned char *out = malloc(cap);
  z.next_in = (Bytef *)(uintptr_t)data;
  z.avail_in = (uInt)len;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  assert_int_equal(deflate(&z, Z_SYNC_FLUSH), Z_OK);
  size_t n = cap - z.avail_out - 4; /* without 00 00 FF FF */
  deflateEnd(&z);
  char *hex = malloc(2 * (n + 10) + 1);
  size_t h = 0;
  h += (size_t)sprintf(hex + h, "%02x", 0xC0 | opcode);
  if (n < 126) {
    h += (size_t)sprintf(hex + h, "%02x", (unsigned)n);
  } else {
    assert_true(n < 65536);
    h += (size_t)sprintf(hex + h, "7e%04x", (unsigned)n);
  }
  for (size_t i = 0; i < n; i++)
    h += (size_t)sprintf(hex + h, "%02x", out[i]);
  free(out);
  return hex;
}

/* Receiving the frames |hex| (with permessage-deflate accepted) fails the
 * connection with close code |code|; |limit| (white-box) bounds a message's
 * inflated size when not 0. */
static void expect_inflate_failure(const char *id, const char *hex, unsigned code, size_t limit)
{
  size_t plen = strlen(hex) + 128;
  wchar_t *path = malloc(plen * sizeof(wchar_t));
  swprintf(path, plen, L"/raw?id=%s&ext=permessage-deflate&hex=%s", id, hex);
  struct ws w;
  open_ws(&w, &raw, path, WINHTTP_EXT_WEB_SOCKET_DEFLATE);
  free(path);
  if (limit) {
    struct wh_object *o;
    assert_int_equal(wh_object_grab(w.w, WH_WEBSOCKET, &o), ERROR_SUCCESS);
    wh_websocket_of(o)->z.max_message = limit;
    wh_handle_put(o);
  }
  unsigned char *buf = malloc(1 << 20);
  DWORD err;
  for (;;) {
    DWORD n;
    WINHTTP_WEB_SOCKET_BUFFER_TYPE t;
    err = WinHttpWebSocketReceive(w.w, buf, 1 << 20, &n, &t);
    if (err != ERROR_SUCCESS || t == WINHTTP_WEB_SOCKET_CLOSE_BUFFER_TYPE)
      break;
  }
  free(buf);
  assert_int_equal(err, ERROR_WINHTTP_INVALID_SERVER_RESPONSE);
  char want[32], q[64], rep[2048];
  snprintf(want, sizeof(want), "code=%u", code);
  snprintf(q, sizeof(q), "id=%s&wait=close", id);
  assert_true(wh_peer_ws_report(&raw, q, rep, sizeof(rep)) >= 0);
  if (!strstr(rep, want))
    print_error("expected %s:\n%s\n", want, rep);
  assert_non_null(strstr(rep, want));
  close_all(&w);
}

static void test_bomb_is_1009(void **state)
{
  (void)state;
  /* 8 MiB of zeros deflate to about 8 KiB; with the bound lowered to
   * 1 MiB (the real one, 256 MiB, would make a slow test) the message
   * fails as soon as it inflates past it: 1009, no out-of-memory. */
  size_t len = 8u << 20;
  char *zeros = calloc(1, len);
  char *hex = compressed_frame_hex(0x2, zeros, len);
  free(zeros);
  expect_inflate_failure("bomb", hex, 1009, 1u << 20);
  free(hex);
}

static void test_corrupt_data_is_1007(void **state)
{
  (void)state;
  /* A deflate block of reserved type 3. */
  expect_inflate_failure("corrupt", "c203ffffff", 1007, 0);
}

static void test_bad_text_is_1007(void **state)
{
  (void)state;
  /* Compressed text that inflates to invalid UTF-8. */
  char *hex = compressed_frame_hex(0x1, "ok \xc3\x28", 5);
  expect_inflate_failure("badtext", hex, 1007, 0);
  free(hex);
}

static int setup(void **state)
{
  (void)state;
  return wh_ws_peers_start(&raw, &ref);
}

static int teardown(void **state)
{
  (void)state;
  wh_ws_peers_stop(&raw, &ref);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_option),
      cmocka_unit_test(test_not_offered_by_default),
      cmocka_unit_test(test_negotiated_with_reference_server),
      cmocka_unit_test(test_no_context_takeover_and_window),
      cmocka_unit_test(test_server_declines),
      cmocka_unit_test(test_bad_answers_refused),
      cmocka_unit_test(test_bomb_is_1009),
      cmocka_unit_test(test_corrupt_data_is_1007),
      cmocka_unit_test(test_bad_text_is_1007),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

/* ws_echo_server: the WebSocket echo server of bench/bench_ws.c (issue 7
 * §5), on libwebsockets, one thread, so that `taskset -c N` pins all of it
 * to one core as nginx is pinned for the HTTP benchmarks.
 *
 *   ws_echo_server [--port P] [--max-message BYTES] [--chunk BYTES]
 *
 * Listens on 127.0.0.1:P (0: a free port) and prints "PORT <n>" once it
 * does. Every message, text or binary, is reassembled and sent back whole
 * as one frame of the same type. While a message waits to go back the
 * connection is not read (lws_rx_flow_control), so a client that pipelines
 * is echoed in order and the server's memory stays bounded by one message
 * per connection. A message over --max-message (16 MiB) is closed with
 * 1009.
 *
 * --chunk (64 KiB) is both the read size (pt_serv_buf_size) and the
 * payload lws hands to the callback at a time (rx_buffer_size); a send is
 * not split by lws (tx_packet_size), the kernel takes what it can and lws
 * keeps the rest. It serves with lws' default poll() loop. Raises its
 * descriptor limit as far as it may (bench_ws's idle run holds
 * ten thousand connections). Exits on SIGTERM or SIGINT. Never used by
 * ctest. */
#define _POSIX_C_SOURCE 200809L
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

struct session {
  unsigned char *buf; /* LWS_PRE bytes of headroom, then the message */
  size_t cap, len;
  int binary;
  int ready; /* a whole message waits to go back */
};

static size_t max_message = 16u << 20;
static volatile sig_atomic_t stop;
static struct lws_context *context;

/* Room for |need| message bytes after the headroom; 0 on success. */
static int reserve(struct session *s, size_t need)
{
  if (need <= s->cap)
    return 0;
  size_t cap = s->cap ? s->cap : 4096;
  while (cap < need)
    cap *= 2;
  unsigned char *p = realloc(s->buf, LWS_PRE + cap);
  if (!p)
    return -1;
  s->buf = p;
  s->cap = cap;
  return 0;
}

static int on_event(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
  struct session *s = user;
  switch (reason) {
  case LWS_CALLBACK_ESTABLISHED:
    memset(s, 0, sizeof(*s));
    break;
  case LWS_CALLBACK_RECEIVE:
    if (lws_is_first_fragment(wsi)) {
      s->len = 0;
      s->binary = lws_frame_is_binary(wsi);
    }
    if (s->len + len > max_message) {
      lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
      return -1;
    }
    if (reserve(s, s->len + len) != 0)
      return -1;
    memcpy(s->buf + LWS_PRE + s->len, in, len);
    s->len += len;
    if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
      s->ready = 1;
      lws_rx_flow_control(wsi, 0);
      lws_callback_on_writable(wsi);
    }
    break;
  case LWS_CALLBACK_SERVER_WRITEABLE:
    if (!s->ready)
      break;
    /* lws sends what the socket takes and keeps the rest itself; it
     * reports the whole length either way. */
    if (lws_write(wsi, s->buf + LWS_PRE, s->len, s->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) <
        (int)s->len)
      return -1;
    s->ready = 0;
    s->len = 0;
    lws_rx_flow_control(wsi, 1);
    break;
  case LWS_CALLBACK_CLOSED:
    free(s->buf);
    s->buf = NULL;
    s->cap = 0;
    break;
  default:
    break;
  }
  return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static void on_signal(int sig)
{
  (void)sig;
  stop = 1;
  if (context)
    lws_cancel_service(context);
}

int main(int argc, char **argv)
{
  int port = 0;
  size_t chunk = 64 * 1024;
  for (int i = 1; i < argc; i++) {
    if (i + 1 < argc && !strcmp(argv[i], "--port")) {
      port = atoi(argv[++i]);
    } else if (i + 1 < argc && !strcmp(argv[i], "--max-message")) {
      max_message = strtoul(argv[++i], NULL, 10);
    } else if (i + 1 < argc && !strcmp(argv[i], "--chunk")) {
      chunk = strtoul(argv[++i], NULL, 10);
    } else {
      fprintf(stderr, "usage: ws_echo_server [--port P] [--max-message BYTES] [--chunk BYTES]\n");
      return 2;
    }
  }
  /* Before the context: lws sizes its tables by the limit. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 65536) {
      struct rlimit up = {65536, 65536};
      if (setrlimit(RLIMIT_NOFILE, &up) == 0)
        rl = up; /* allowed (CAP_SYS_RESOURCE) */
    }
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  lws_set_log_level(LLL_ERR, NULL);
  /* The first protocol also takes connections that name none, as
   * WinHTTP's (no Sec-WebSocket-Protocol unless the application adds it). */
  static struct lws_protocols protocols[2];
  protocols[0].name = "echo";
  protocols[0].callback = on_event;
  protocols[0].per_session_data_size = sizeof(struct session);
  protocols[0].rx_buffer_size = chunk;
  protocols[0].tx_packet_size = max_message + 16;
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof(info));
  info.port = port;
  info.iface = "127.0.0.1";
  info.protocols = protocols;
  info.pt_serv_buf_size = (unsigned)chunk;
  info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
  info.gid = -1;
  info.uid = -1;
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  context = lws_create_context(&info);
  if (!context) {
    fprintf(stderr, "ws_echo_server: lws_create_context failed\n");
    return 1;
  }
  struct lws_vhost *vh = lws_get_vhost_by_name(context, "default");
  printf("PORT %d\n", vh ? lws_get_vhost_listen_port(vh) : port);
  fflush(stdout);
  while (!stop && lws_service(context, 0) >= 0)
    ;
  lws_context_destroy(context);
  return 0;
}

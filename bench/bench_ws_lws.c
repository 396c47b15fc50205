/* bench_ws's reference client: libwebsockets' own, the "limit" peer of
 * ARCHITECTURE-NOTES §7 for WebSockets. One lws context serviced on the
 * calling thread holds every WebSocket; each keeps one message in flight
 * (ask for writability, write, receive the echo, check it, again).
 *
 * lws masks a client frame in place, in the caller's buffer (lws_write), so
 * each send first copies the message into its send buffer: a cost of
 * sending a message one keeps with lws, counted here. Its read size and
 * receive chunk are --buffer, as WinHTTP's buffers are; a frame goes to the
 * kernel in one send(), lws keeping what the socket does not take. */
#define _POSIX_C_SOURCE 200809L
#include "bench_ws.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

struct lconn {
  struct lws *wsi;
  uint8_t *want; /* the message in flight, as sent */
  uint8_t *tx;   /* LWS_PRE bytes of headroom, then the copy lws masks */
  size_t got;
  uint64_t seq;
  long done;
  int established;
};

static const struct ws_opts *opt;
static struct lconn *conns;
static int established, stopping, finished;

/* The next message: stamped, then sent when lws says the socket is
 * writable. */
static void next(struct lconn *c)
{
  ws_stamp(c->want, opt->size, ++c->seq);
  c->got = 0;
  lws_callback_on_writable(c->wsi);
}

static int on_event(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
  struct lconn *c = user;
  switch (reason) {
  case LWS_CALLBACK_CLIENT_ESTABLISHED:
    c->established = 1;
    established++;
    break;
  case LWS_CALLBACK_CLIENT_WRITEABLE:
    memcpy(c->tx + LWS_PRE, c->want, opt->size);
    if (lws_write(wsi, c->tx + LWS_PRE, opt->size,
                  opt->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < (int)opt->size)
      ws_die("lws_write", opt->size);
    break;
  case LWS_CALLBACK_CLIENT_RECEIVE:
    if (lws_is_first_fragment(wsi) && lws_frame_is_binary(wsi) != opt->binary)
      ws_die("echo buffer type", (unsigned long)lws_frame_is_binary(wsi));
    if (c->got + len > opt->size)
      ws_die("echo longer than the message", c->got + len);
    if (memcmp(in, c->want + c->got, len) != 0)
      ws_die("echo content", c->seq);
    c->got += len;
    if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
      if (c->got != opt->size)
        ws_die("echo length", c->got);
      c->done++;
      if (!stopping && (!opt->messages || (long)c->seq < opt->messages))
        next(c);
      else
        finished++;
    }
    break;
  case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    ws_die("lws connection", 0);
    break;
  case LWS_CALLBACK_CLIENT_CLOSED:
    if (!stopping)
      ws_die("lws connection closed by the server", 0);
    break;
  default:
    break;
  }
  return 0;
}

int ws_run_lws(const struct ws_opts *o, struct ws_result *r)
{
  opt = o;
  lws_set_log_level(LLL_ERR, NULL);
  static struct lws_protocols protocols[2];
  protocols[0].name = "bench";
  protocols[0].callback = on_event;
  protocols[0].rx_buffer_size = o->buffer;
  protocols[0].tx_packet_size = o->size + 16;
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof(info));
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protocols;
  info.pt_serv_buf_size = (unsigned)o->buffer;
  info.gid = -1;
  info.uid = -1;
  struct lws_context *ctx = lws_create_context(&info);
  if (!ctx)
    ws_die("lws_create_context", 0);
  conns = calloc((size_t)o->sockets, sizeof(*conns));
  if (!conns)
    ws_die("calloc", 0);
  for (int i = 0; i < o->sockets; i++) {
    struct lconn *c = &conns[i];
    c->want = malloc(o->size);
    c->tx = malloc(LWS_PRE + o->size);
    if (!c->want || !c->tx)
      ws_die("malloc", o->size);
    ws_fill(c->want, o->size, (unsigned)i);
    /* No Sec-WebSocket-Protocol, as WinHTTP's upgrade; the connection
     * binds to protocols[0] here and on the server. */
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.context = ctx;
    ci.address = o->host;
    ci.port = o->port;
    ci.path = "/";
    ci.host = o->host;
    ci.origin = o->host;
    ci.ietf_version_or_minus_one = -1;
    ci.userdata = c;
    ci.pwsi = &c->wsi;
    if (!lws_client_connect_via_info(&ci))
      ws_die("lws_client_connect_via_info", (unsigned long)i);
  }
  while (established < o->sockets)
    if (lws_service(ctx, 0) < 0)
      ws_die("lws_service", 0);

  struct ws_clock clk;
  ws_clock_start(&clk, o->seconds);
  for (int i = 0; i < o->sockets; i++)
    next(&conns[i]);
  while (o->messages ? finished < o->sockets : ws_now() < clk.end)
    if (lws_service(ctx, 0) < 0)
      ws_die("lws_service", 0);
  long total = 0;
  for (int i = 0; i < o->sockets; i++)
    total += conns[i].done;
  ws_clock_stop(&clk, total, r);
  stopping = 1;
  lws_context_destroy(ctx);
  return 0;
}

#!/usr/bin/env python3
"""OpenWinHTTP's reference WebSocket server: an echo server built on
python3-websockets (Debian's package, version 10.4; its "legacy" asyncio
server), an implementation independent of both OpenWinHTTP and
tests/peers/wsserver.py. Where wsserver.py scripts faults byte by byte, this
one is a real, well-behaved server: if a client interoperates with it, the
client does not merely agree with our own reading of RFC 6455 and RFC 7692.

Started by the test harness (tests/support/peers.c, wh_peer_start_ws_ref;
the startup below is in peer_common.py beside it):

    ws_echo_websockets.py [--ipv6] [--tls-cert PEM --tls-key PEM]

It listens on 127.0.0.1 on a port the kernel picks (and, with --ipv6, on ::1
on the same port when it can), and only then prints exactly one line to
stdout and flushes it:

    READY <port>          or    READY <port> ipv6

Nothing else is ever written to stdout; the websockets library's log goes to
stderr only when WSSERVER_DEBUG is set. The server runs until killed. It
never pings on its own (ping_interval off), accepts messages up to 64 MiB,
and waits 10 s for a client's close frame (websockets' close_timeout).

Paths
=====
/echo                 every message is sent back as one message of the same
                      type; pings are answered (by websockets); a client's
                      close is answered with the same code and reason.
/close?code=&reason=  the server starts the close handshake at once with
                      ?code=1000 (a valid code) and ?reason=.
/report?id=NAME       plain HTTP, not a WebSocket: "200 OK", text/plain, once
                      the connection recorded as NAME is over (or after
                      ?ms=10000 milliseconds, adding a line "timeout=1"):
                          code=<n> reason=<text> | code=empty | none
                          proto=<the subprotocol selected, if any>
                          ext=<the Sec-WebSocket-Extensions answered, if any>
                      where the first line is the client's close frame as
                      websockets parsed it (code=empty: a close frame
                      without payload; none: no close frame, or no such
                      connection). ?wait=now answers at once.
Anything else: 404.

Options of /echo and /close
===========================
?id=NAME         records the connection for /report
?proto=A,B       the server supports subprotocols A and B (in that order of
                 preference) and selects the first protocol the client
                 offered that it supports; none in common: no
                 Sec-WebSocket-Protocol in the 101. ?proto=* selects the
                 client's first offer, whatever it is. Without ?proto the
                 server supports none and never answers the header.
?deflate=0       refuses permessage-deflate. By default it is accepted when
                 the client offers it, with websockets' serve() settings
                 (server_max_window_bits=12, client_max_window_bits=12 when
                 the client allows it, context takeover both ways);
                 ?deflate=full accepts it imposing no parameter at all
                 (15-bit windows, context takeover).
"""

import http
import logging
import os
import sys
import urllib.parse

import peer_common

try:
    import websockets
    from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
    from websockets.legacy.server import WebSocketServerProtocol
except ImportError as e:  # the harness shows this when the peer fails to start
    sys.stderr.write("ws_echo_websockets.py needs python3-websockets: %s\n" % e)
    sys.exit(2)

DEBUG = bool(os.environ.get("WSSERVER_DEBUG"))
MAX_MESSAGE = 64 * 1024 * 1024

RECORDS = {}      # id -> list of report lines, set when the connection is over
RECORD_CHANGES = peer_common.Changes()


def query(path):
    url = urllib.parse.urlsplit(path)
    args = urllib.parse.parse_qs(url.query, keep_blank_values=True)
    return url.path.lstrip("/").split("/", 1)[0], {k: v[0] for k, v in args.items()}


class Protocol(WebSocketServerProtocol):
    """Per-connection choices (subprotocols, deflate) come from the path,
    which websockets has read by the time it calls these hooks."""

    def args(self):
        return query(self.path)[1]

    def select_subprotocol(self, client_subprotocols, server_subprotocols):
        want = self.args().get("proto")
        if not want or not client_subprotocols:
            return None
        if want == "*":
            return client_subprotocols[0]
        supported = [p.strip() for p in want.split(",")]
        for p in client_subprotocols:
            if p in supported:
                return p
        return None

    def process_extensions(self, headers, available_extensions):
        mode = self.args().get("deflate", "1")
        if mode == "0":
            available_extensions = []
        elif mode == "full":
            available_extensions = [ServerPerMessageDeflateFactory()]
        return WebSocketServerProtocol.process_extensions(headers, available_extensions)

    async def process_request(self, path, request_headers):
        scenario, args = query(path)
        if scenario == "report":
            return await report(args)
        if scenario not in ("echo", "close"):
            return http.HTTPStatus.NOT_FOUND, [("Content-Type", "text/plain")], b"no such path\n"
        return None


async def report(args):
    ident = args.get("id", "")
    ready = await RECORD_CHANGES.wait_until(
        lambda: args.get("wait") == "now" or ident in RECORDS, int(args.get("ms", "10000")))
    lines = list(RECORDS.get(ident, ["none"]))
    if not ready:
        lines.append("timeout=1")
    body = ("\n".join(lines) + "\n").encode("utf-8")
    return http.HTTPStatus.OK, [("Content-Type", "text/plain")], body


def record(ws, ident):
    rcvd = ws.close_rcvd
    if rcvd is None:
        lines = ["none"]
    elif rcvd.code == 1005:      # websockets' reading of an empty payload
        lines = ["code=empty"]
    else:
        lines = ["code=%d reason=%s" % (rcvd.code, rcvd.reason)]
    if ws.subprotocol:
        lines.append("proto=" + ws.subprotocol)
    ext = ws.response_headers.get("Sec-WebSocket-Extensions")
    if ext:
        lines.append("ext=" + ext)
    RECORDS[ident] = lines
    RECORD_CHANGES.notify()


async def handler(ws):
    scenario, args = query(ws.path)
    ident = args.get("id")
    if ident is not None:
        RECORDS.pop(ident, None)
    try:
        if scenario == "close":
            await ws.close(int(args.get("code", "1000")), args.get("reason", ""))
        else:
            async for message in ws:
                await ws.send(message)
        await ws.wait_closed()
    except websockets.ConnectionClosed:
        pass
    finally:
        if ident is not None:
            record(ws, ident)


async def serve(sock, ssl_ctx):
    # A placeholder list: websockets only asks select_subprotocol when the
    # server has some subprotocol; the real list comes from ?proto=.
    return await websockets.serve(handler, sock=sock, ssl=ssl_ctx, create_protocol=Protocol,
                           subprotocols=["*"], ping_interval=None, max_size=MAX_MESSAGE)


def route_websockets_log():
    """websockets' log to stderr with WSSERVER_DEBUG, nowhere otherwise."""
    log = logging.getLogger("websockets")
    if DEBUG:
        logging.basicConfig(stream=sys.stderr, level=logging.DEBUG)
    else:
        log.addHandler(logging.NullHandler())
        log.propagate = False


if __name__ == "__main__":
    route_websockets_log()
    peer_common.run("OpenWinHTTP reference WebSocket echo server", serve)

#!/usr/bin/env python3
"""OpenWinHTTP's scriptable HTTP/1.1 forward proxy: the proxy a client is
told to use (WINHTTP_ACCESS_TYPE_NAMED_PROXY, WINHTTP_OPTION_PROXY), which
either does its job or, on request, fails at the CONNECT step the ways real
proxies do.

Python 3 standard library only (asyncio; the startup helpers are in
peer_common.py beside it). Started by the test harness (tests/support/peers.c,
wh_peer_start_proxy) as:

    proxyserver.py [--ipv6] [--tls-cert PEM --tls-key PEM] [mode]

It listens on 127.0.0.1 on a port the kernel picks (and, with --ipv6, on ::1
on the same port when it can), and only then prints exactly one line to
stdout and flushes it:

    READY <port>          or    READY <port> ipv6

Nothing else is ever written to stdout. Unexpected errors go to stderr only
when PROXYSERVER_DEBUG is set in the environment. The proxy runs until
killed. (--tls-cert makes the proxy itself speak TLS to its clients, an
"https proxy"; no test needs it yet.)

Modes (the CONNECT behaviour; absolute-form requests are always forwarded)
==========================================================================

(default)             CONNECT host:port: connects to the origin, answers
                      "HTTP/1.1 200 Connection established" (no header, no
                      body) and relays bytes both ways until both sides have
                      closed (a tunnel; a FIN is passed on as a FIN). When
                      the origin refuses: 502 as for --connect-answer 502.
--connect-answer 403  answers CONNECT "HTTP/1.1 403 Forbidden" with
                      Content-Type: text/plain, Content-Length and the body
                      "proxy says 403"; no tunnel. The connection then stays
                      open (it serves further requests, like a real proxy
                      that expects the client to retry with credentials)
                      unless the request said "Connection: close" or
                      "Proxy-Connection: close".
--connect-answer 407  the same with "407 Proxy Authentication Required",
                      "Proxy-Authenticate: Basic realm="test"" and the body
                      "proxy says 407".
--connect-answer 502  the same with "502 Bad Gateway", body "proxy says 502".
                      (Any other 3-digit code works too, reason "Proxy
                      Answer".)
--connect-ntlm        CONNECT needs an NTLM handshake whose tokens are not
                      checked, only where they arrive: without
                      "Proxy-Authorization: NTLM" the answer is 407
                      "Proxy-Authenticate: NTLM"; a negotiate message (type
                      1) gets 407 with a challenge message (type 2); the
                      authenticate message (type 3) on the connection of the
                      type 1 gets the tunnel (as the default mode), elsewhere
                      407 "wrong connection". Each 407 has a 4 KiB body and
                      keeps the connection open.
--connect-garbage     answers CONNECT with the bytes "garbage\\r\\n\\r\\n"
                      (not an HTTP status line) and closes (FIN).
--connect-close       closes the connection (FIN) as soon as the CONNECT
                      request head has arrived, without a byte.
--connect-stall       reads the CONNECT head and never answers: reads and
                      discards until the client closes.

Forwarding (every mode)
=======================

A request in absolute form, "GET http://host[:port]/path HTTP/1.1", goes to
the origin host:port (80 by default) as "GET /path HTTP/1.1" with the
client's headers minus the hop-by-hop ones (Connection, Keep-Alive,
Proxy-Connection, Proxy-Authorization, TE, Upgrade) and with its body
(Content-Length or chunked, relayed as received). Each client connection
keeps its own upstream connection per origin alive and reuses it for the
next request to that origin (a new one is opened when the origin closed
it). The response is relayed as received: interim 1xx responses, then the
head minus Connection/Keep-Alive/Proxy-Connection, and the body framed by
Content-Length or chunked (trailers included); none for HEAD, 1xx, 204 and
304. A close-delimited response body is relayed until the origin closes and
then the client connection is closed too (the head then says "Connection:
close"). The client connection stays open for the next request unless the
request or the relayed response asked for close. An origin that refuses
the connection gives "502 Bad Gateway" (body "proxy: cannot connect"), an
origin that closes without a response "502 Bad Gateway" (body "proxy: no
response"). A request in origin form ("GET /x HTTP/1.1") that is not
the report gets "400 Bad Request" and a close.

The report
==========

    GET http://proxy.report/ HTTP/1.1      (host "proxy.report")

is answered by the proxy itself (never forwarded, never recorded): 200,
Content-Type: text/plain, Content-Length, and one line per request the
proxy has received, in order of arrival:

    conn=<n> <request line> host=<Host header value, or "-">

for example

    conn=1 GET http://127.0.0.1:8080/x HTTP/1.1 host=127.0.0.1:8080
    conn=2 CONNECT 127.0.0.1:8443 HTTP/1.1 host=127.0.0.1:8443

With a query, "GET http://proxy.report/?wait=<text>&ms=<n> HTTP/1.1", the
answer waits until some recorded line contains <text> (URL-encoded in the
query), at most ms=10000 milliseconds; after the wait has timed out the body
ends with the line "timeout=1". A test uses it to know that a request has
reached the proxy (a CONNECT the proxy will never answer, for example).

Client connections are numbered from 1, in the order their first recorded
request arrived; a connection that only asks for the report is not
numbered, so asking does not disturb the numbers. Requests are recorded as
soon as their head has arrived (before anything is forwarded or answered),
so once a client has its answer (or its failure) the report lists the
request. Requests inside a CONNECT tunnel are not seen (they are the
client's bytes to the origin, usually TLS).
"""

import argparse
import asyncio
import os
import sys
import urllib.parse

import peer_common

HEAD_LIMIT = 256 * 1024
DEBUG = bool(os.environ.get("PROXYSERVER_DEBUG"))
REPORT_HOST = "proxy.report"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te",
              "upgrade"}
REASONS = {403: "Forbidden", 407: "Proxy Authentication Required", 502: "Bad Gateway"}

MODE = "tunnel"      # tunnel | answer | garbage | close | stall
ANSWER_CODE = 0
RECORDS = []         # "conn=<n> <request line> host=<host>"
CHANGES = None       # peer_common.Changes, notified when RECORDS grows
NEXT_CONN = [1]


def debug(msg):
    if DEBUG:
        sys.stderr.write("proxyserver: %s\n" % msg)


class Head:
    """A parsed request or response head."""

    def __init__(self, first, headers, raw):
        self.first = first          # the request or status line, str
        self.headers = headers      # [(name, value)] as str, in order
        self.raw = raw              # bytes as received

    def get(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def tokens(self, name):
        out = []
        for k, v in self.headers:
            if k.lower() == name:
                out += [t.strip().lower() for t in v.split(",")]
        return out


async def read_head(reader):
    """One head (up to and including the empty line), or None at a clean end
    of file before any byte. Raises ConnectionError on a truncated head."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial:
            return None
        raise ConnectionError("truncated head")
    except asyncio.LimitOverrunError:
        raise ConnectionError("head too long")
    lines = raw[:-4].decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        k, sep, v = line.partition(":")
        if sep:
            headers.append((k.strip(), v.strip()))
    return Head(lines[0], headers, raw)


async def relay_exact(reader, writer, n):
    while n > 0:
        data = await reader.read(min(n, 65536))
        if not data:
            raise ConnectionError("short body")
        writer.write(data)
        await writer.drain()
        n -= len(data)


async def relay_chunked(reader, writer):
    """Relays a chunked body as received, up to the end of its trailers."""
    while True:
        line = await reader.readuntil(b"\r\n")
        writer.write(line)
        size = int(line.split(b";", 1)[0].strip() or b"x", 16)
        if size == 0:
            while True:
                t = await reader.readuntil(b"\r\n")
                writer.write(t)
                if t == b"\r\n":
                    await writer.drain()
                    return
        await relay_exact(reader, writer, size)
        crlf = await reader.readexactly(2)
        writer.write(crlf)
        await writer.drain()


async def relay_until_eof(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            return
        writer.write(data)
        await writer.drain()


def close_writer(writer):
    try:
        writer.close()
    except Exception:
        pass


async def respond(writer, code, reason, body, extra=(), close=False):
    head = "HTTP/1.1 %d %s\r\n" % (code, reason)
    for k, v in extra:
        head += "%s: %s\r\n" % (k, v)
    head += "Content-Type: text/plain\r\nContent-Length: %d\r\n" % len(body)
    if close:
        head += "Connection: close\r\n"
    writer.write(head.encode("latin-1") + b"\r\n" + body)
    await writer.drain()


def wants_close(head):
    tokens = head.tokens("connection") + head.tokens("proxy-connection")
    if "close" in tokens:
        return True
    return head.first.endswith("HTTP/1.0") and "keep-alive" not in tokens


def split_host_port(authority, default_port):
    """("host", port) of "host", "host:port" or "[v6]:port"."""
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = authority.rpartition(":") if ":" in authority else (authority, "", "")
    return host, int(port) if port else default_port


async def tunnel(creader, cwriter, target):
    """The default CONNECT: 200, then bytes both ways."""
    try:
        host, port = split_host_port(target, 443)
        oreader, owriter = await asyncio.open_connection(host, port)
    except (OSError, ValueError) as e:
        debug("CONNECT %s: %s" % (target, e))
        await respond(cwriter, 502, "Bad Gateway", b"proxy: cannot connect", close=True)
        return False
    cwriter.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
    await cwriter.drain()

    async def pipe(r, w):
        try:
            await relay_until_eof(r, w)
            if w.can_write_eof():
                w.write_eof()
        except (OSError, ConnectionError):
            w.transport.abort()

    await asyncio.gather(pipe(creader, owriter), pipe(oreader, cwriter))
    close_writer(owriter)
    return False


async def forward(head, creader, cwriter, upstreams):
    """Forwards one absolute-form request; True when the client connection
    may serve another."""
    method, target, version = (head.first.split(" ", 2) + ["", ""])[:3]
    url = urllib.parse.urlsplit(target)
    if url.scheme.lower() != "http" or not url.netloc:
        await respond(cwriter, 400, "Bad Request", b"proxy: absolute http URL required", close=True)
        return False
    try:
        host, port = split_host_port(url.netloc, 80)
    except ValueError:
        await respond(cwriter, 400, "Bad Request", b"proxy: bad authority", close=True)
        return False
    path = url.path or "/"
    if url.query:
        path += "?" + url.query

    # The request head for the origin, and the request body as received.
    out = "%s %s %s\r\n" % (method, path, version or "HTTP/1.1")
    if head.get("host") is None:
        out += "Host: %s\r\n" % url.netloc
    for k, v in head.headers:
        if k.lower() not in HOP_BY_HOP:
            out += "%s: %s\r\n" % (k, v)
    out = out.encode("latin-1") + b"\r\n"
    client_close = wants_close(head)

    key = (host, port)
    for attempt in range(2):
        fresh = key not in upstreams
        if fresh:
            try:
                upstreams[key] = await asyncio.open_connection(host, port)
            except OSError as e:
                debug("connect %s:%d: %s" % (host, port, e))
                await respond(cwriter, 502, "Bad Gateway", b"proxy: cannot connect",
                              close=True)
                return False
        oreader, owriter = upstreams[key]
        try:
            owriter.write(out)
            # The request body, relayed while the origin may already answer.
            if "chunked" in head.tokens("transfer-encoding"):
                await relay_chunked(creader, owriter)
            else:
                cl = int(head.get("content-length", "0") or 0)
                if cl:
                    await relay_exact(creader, owriter, cl)
            await owriter.drain()
            rhead = await read_head(oreader)
        except (OSError, ConnectionError):
            rhead = None
        if rhead is None:
            close_writer(owriter)
            del upstreams[key]
            # A kept-alive connection the origin had closed: once more on a
            # new one (only when the request had no body to resend).
            if not fresh and attempt == 0 and not head.get("content-length") \
                    and not head.get("transfer-encoding"):
                continue
            await respond(cwriter, 502, "Bad Gateway", b"proxy: no response", close=True)
            return False
        break

    # Interim responses, then the final one.
    while True:
        parts = rhead.first.split(" ", 2)
        code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if not 100 <= code < 200 or code == 101:
            break
        cwriter.write(rhead.raw)
        await cwriter.drain()
        rhead = await read_head(oreader)
        if rhead is None:
            close_writer(owriter)
            del upstreams[key]
            return False

    origin_close = wants_close(rhead)
    no_body = method == "HEAD" or code in (204, 304) or 100 <= code < 200
    chunked = "chunked" in rhead.tokens("transfer-encoding")
    cl = rhead.get("content-length")
    delimited_by_close = not no_body and not chunked and cl is None
    keep = not client_close and not delimited_by_close

    resp = rhead.first + "\r\n"
    for k, v in rhead.headers:
        if k.lower() not in ("connection", "keep-alive", "proxy-connection"):
            resp += "%s: %s\r\n" % (k, v)
    if not keep:
        resp += "Connection: close\r\n"
    cwriter.write(resp.encode("latin-1") + b"\r\n")
    await cwriter.drain()
    if not no_body:
        if chunked:
            await relay_chunked(oreader, cwriter)
        elif cl is not None:
            await relay_exact(oreader, cwriter, int(cl))
        else:
            await relay_until_eof(oreader, cwriter)
            origin_close = True
    if origin_close:
        close_writer(owriter)
        del upstreams[key]
    return keep


async def connect(head, creader, cwriter, state):
    """A CONNECT request in the chosen mode; True when the connection may
    serve another request."""
    target = head.first.split(" ")[1] if " " in head.first else ""
    if MODE == "tunnel":
        return await tunnel(creader, cwriter, target)
    if MODE == "close":
        return False
    if MODE == "garbage":
        cwriter.write(b"garbage\r\n\r\n")
        await cwriter.drain()
        return False
    if MODE == "stall":
        while await creader.read(65536):
            pass
        return False
    if MODE == "ntlm":
        kind = peer_common.ntlm_message_type(head.get("proxy-authorization", ""))
        if kind == 3 and state.get("type1"):
            return await tunnel(creader, cwriter, target)
        extra = [("Proxy-Authenticate", "NTLM")]
        if kind == 1:
            state["type1"] = True
            extra = [("Proxy-Authenticate", "NTLM " + peer_common.ntlm_challenge())]
        body = b"wrong connection" if kind == 3 else b"x" * 4096
        await respond(cwriter, 407, REASONS[407], body, extra)
        return True
    # MODE == "answer"
    extra = []
    if ANSWER_CODE == 407:
        extra.append(("Proxy-Authenticate", 'Basic realm="test"'))
    await respond(cwriter, ANSWER_CODE, REASONS.get(ANSWER_CODE, "Proxy Answer"),
                  b"proxy says %d" % ANSWER_CODE, extra, close=wants_close(head))
    return not wants_close(head)


async def report_body(head):
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(head.first.split(" ")[1]).query)
    timed_out = False
    if "wait" in query:
        text = query["wait"][0]
        try:
            ms = int(query.get("ms", ["10000"])[0])
        except ValueError:
            ms = 10000
        timed_out = not await CHANGES.wait_until(lambda: any(text in r for r in RECORDS), ms)
    body = "".join(r + "\n" for r in RECORDS)
    if timed_out:
        body += "timeout=1\n"
    return body.encode("latin-1")


def is_report(head):
    parts = head.first.split(" ")
    if len(parts) < 2:
        return False
    url = urllib.parse.urlsplit(parts[1])
    return url.scheme.lower() == "http" and url.hostname == REPORT_HOST


async def handle(creader, cwriter):
    conn_no = 0
    upstreams = {}   # (host, port) -> (reader, writer), this client's
    state = {}       # per client connection (--connect-ntlm: type 1 seen)
    try:
        while True:
            head = await read_head(creader)
            if head is None:
                break
            if is_report(head):
                close = wants_close(head)
                await respond(cwriter, 200, "OK", await report_body(head), close=close)
                if close:
                    break
                continue
            if not conn_no:
                conn_no = NEXT_CONN[0]
                NEXT_CONN[0] += 1
            RECORDS.append("conn=%d %s host=%s" % (conn_no, head.first, head.get("host", "-")))
            CHANGES.notify()
            method = head.first.split(" ", 1)[0]
            if method == "CONNECT":
                keep = await connect(head, creader, cwriter, state)
            elif " http://" in head.first or " HTTP://" in head.first:
                keep = await forward(head, creader, cwriter, upstreams)
            else:
                await respond(cwriter, 400, "Bad Request", b"proxy: absolute-form required",
                              close=True)
                keep = False
            if not keep:
                break
    except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as e:
        debug("client connection %d: %r" % (conn_no, e))
    finally:
        for _, w in upstreams.values():
            close_writer(w)
        close_writer(cwriter)


async def serve(sock, ssl_ctx):
    return await asyncio.start_server(handle, sock=sock, ssl=ssl_ctx, limit=HEAD_LIMIT)


def main():
    global MODE, ANSWER_CODE
    ap = argparse.ArgumentParser(description="OpenWinHTTP scriptable forward proxy")
    ap.add_argument("--ipv6", action="store_true", help="also listen on ::1")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    modes = ap.add_mutually_exclusive_group()
    modes.add_argument("--connect-answer", type=int, metavar="CODE",
                       help="answer CONNECT with this status (403, 407, 502)")
    modes.add_argument("--connect-garbage", action="store_true",
                       help="answer CONNECT with non-HTTP bytes, then close")
    modes.add_argument("--connect-close", action="store_true",
                       help="close as soon as the CONNECT head arrives")
    modes.add_argument("--connect-stall", action="store_true", help="never answer CONNECT")
    modes.add_argument("--connect-ntlm", action="store_true",
                       help="CONNECT needs an NTLM handshake on one connection")
    args = ap.parse_args(sys.argv[1:])
    if args.connect_answer is not None:
        if not 100 <= args.connect_answer <= 999:
            ap.error("--connect-answer takes a 3-digit status code")
        MODE, ANSWER_CODE = "answer", args.connect_answer
    elif args.connect_garbage:
        MODE = "garbage"
    elif args.connect_close:
        MODE = "close"
    elif args.connect_stall:
        MODE = "stall"
    elif args.connect_ntlm:
        MODE = "ntlm"

    async def run():
        global CHANGES
        CHANGES = peer_common.Changes()
        if not DEBUG:
            asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: None)
        ctx = peer_common.tls_context(args.tls_cert, args.tls_key)
        port, socks = peer_common.listen_sockets(args.ipv6)
        servers = []  # held while the peer runs
        for s in socks:
            servers.append(await serve(s, ctx))
        sys.stdout.write("READY %d%s\n" % (port, " ipv6" if len(socks) > 1 else ""))
        sys.stdout.flush()
        await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

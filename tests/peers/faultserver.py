#!/usr/bin/env python3
"""OpenWinHTTP's scriptable fault server: one HTTP/1.1 peer on loopback that
does, on request, everything a well-behaved server never does.

Python 3 standard library only (asyncio; the startup below is in
peer_common.py beside it). Started by the test harness (tests/support/peers.c):

    faultserver.py [--ipv6] [--tls-cert PEM --tls-key PEM]

It listens on 127.0.0.1 on a port the kernel picks (and, with --ipv6, on ::1
on the same port when it can), and only then prints exactly one line to
stdout and flushes it:

    READY <port>          or    READY <port> ipv6

Nothing else is ever written to stdout. Unexpected errors go to stderr only
when FAULTSERVER_DEBUG is set in the environment. A client that disconnects
at any point ends its connection quietly. The server runs until killed.

Each request picks its behaviour by the first path segment:

    GET /<scenario>[?arg=value&...]

so one server serves every scenario, and a connection can carry several
requests (keep-alive) with different scenarios. Any method works. Unless a
scenario says otherwise it answers HEAD with the same head and no body, reads
the request body (sending "100 Continue" first when the request has
"Expect: 100-continue"), and keeps the connection open afterwards unless the
request said "Connection: close" (or is HTTP/1.0 without keep-alive).

Generated bodies of n bytes are the pattern "abcdefghijklmnopqrstuvwxyz"
repeated and cut to n bytes (byte i is 'a' + i % 26), so a test can check
every byte it received.

Scenario table
==============

Well-formed responses
---------------------
ok              200, Content-Length, n-byte pattern body. ?n=100.
                ?close=1: FIN after the response (no "Connection: close"
                header: a pooled connection that dies). ?reset=1: RST after
                the response. ?ctype=: Content-Type (default text/plain).
chunked         200, chunked pattern body of ?n=100 bytes in ?chunks=4
                chunks (the last chunk takes the remainder). ?trailer=1 adds
                trailers "X-Trailer: yes" and "X-Checksum: <n>". ?ext=1 adds
                chunk extensions (";name=value").
close           200 "Connection: close", no Content-Length, no
                Transfer-Encoding: the body (?n=100) ends when the server
                closes. Over TLS the close is clean: close_notify, then FIN.
http10          "HTTP/1.0 200 OK", no Content-Length, close-delimited ?n=100.
count           200, body = decimal number of requests served so far on this
                TCP connection (1 on a new connection), also in header
                X-Request-Count. Keep-alive: shows connection reuse.
status          Any status: ?code=200&reason=OK, ?n=0 pattern bytes of body
                (no body for 1xx/204/304).
204             204 No Content, no Content-Length, no body.
304             304 Not Modified, ETag, "Content-Length: 100" (length of the
                representation) and no body.
head-body       Like ok, but when the method is HEAD the server wrongly sends
                the n-byte body after the head anyway.
continue        An unsolicited "HTTP/1.1 100 Continue" then 200 ok (?n=100).
1xx-flood       ?n=10 interim responses "HTTP/1.1 <code> Continue"
                (?code=100) then 200 with a 2-byte body "ok".
early-hints     "103 Early Hints" with a Link header, then 200 "ok".
101             "101 Switching Protocols" (Upgrade: foo) although the client
                asked for no upgrade, then 16 bytes of non-HTTP data, then FIN.
expect-417      417 Expectation Failed without reading the request body,
                then close.
early-response  Answers ?code=413 with "Connection: close" without reading
                the request body, shuts down its sending side, then reads and
                discards until the client closes.
slow-read       Slow upload reader: reads the request body ?bytes=1024 at a
                time every ?ms=10 ms, then 200 with body "received <n>".
                The server's buffers (128 KiB in the reader plus the
                kernel's socket buffers) fill before the client blocks.
echo            200, body = the request head exactly as received (request
                line, headers, final CRLF) followed by the request body
                exactly as received (chunk framing included). Headers
                X-Echo-Body-Length (decoded body length) and X-Echo-Framing
                (length | chunked | none).
delay           Waits ?ms=100 ms, then 200 ok (?n=100).
early-close     Answers at once, without reading the request body:
                "200 OK", Connection: close, body "hello" delimited by the
                close, then FIN, and never reads (a server that ends an
                upload early); the connection is dropped after 30 s.
push            A complete response, then bytes nobody asked for on the same
                (kept-alive) connection, sent only when /release?id= is
                requested on another connection (so a test knows they have
                arrived before it goes on). ?id= names it (required);
                ?code=200 (body "ok", Content-Length: 2) or 204 (no body);
                ?what=response: an unsolicited complete response
                ("HTTP/1.1 200 OK", body "pushed"); ?what=body: 16 stray
                bytes "stray body bytes" (a body after a 204 or a HEAD).
release         Sends the bytes of /push?id= (?id=) on that connection, then
                answers 200 "released" (404 when no such push waits).
duplex          Full duplex: "200 OK" with a chunked body goes out at once,
                before the request body is read; then every piece of the
                request body (Content-Length or chunked) is echoed back as
                one response chunk as soon as it arrives, and the response
                ends when the request body does.

Malformed status lines (each followed by a close)
---------------------------------------------------
status-bad-code     "HTTP/1.1 abc OK"
status-bad-proto    "HTP/1.1 200 OK"
status-bad-version  "HTTP/1.x 200 OK"
status-short-code   "HTTP/1.1 20 OK"
status-long-code    "HTTP/1.1 2000 OK"
status-empty        "\r\n\r\n" and nothing else
status-no-reason    "HTTP/1.1 200\r\n" then a valid head and 2-byte body "ok"
                    (legal: the reason phrase may be empty; keep-alive)
garbage             512 bytes of binary garbage (deterministic), no head
http09              An HTTP/0.9-style reply: a body with no status line
bare-lf             A complete, valid response whose lines end in LF only
                    (Content-Length: 2, "ok"); keep-alive

Bad header syntax (valid status line, Content-Length: 2, body "ok", close)
--------------------------------------------------------------------------
hdr-no-colon     a header line without a colon: "X-Bad header line"
hdr-space-colon  whitespace between name and colon: "X-Space : bar"
hdr-nul          a NUL byte in a value: "X-Nul: a\0b"
hdr-cr           a bare CR in a value: "X-Cr: a\rb"
hdr-obs-fold     obsolete line folding: "X-Fold: a\r\n  continued"
hdr-leading-ws   the first header line starts with a space
hdr-bad-name     a name with a non-token character: "X@Bad: v"

Message framing (each followed by a close unless said otherwise)
----------------------------------------------------------------
cl-dup-same    "Content-Length: 5" twice, body "hello" (RFC 9110 allows)
cl-conflict    "Content-Length: 5" and "Content-Length: 6", body "hello!"
cl-list        "Content-Length: 5, 5", body "hello"
cl-te          "Content-Length: 5" and "Transfer-Encoding: chunked" with a
               chunked body of "hello" (request-smuggling shape)
cl-negative    "Content-Length: -1", then "hello"
cl-overflow    "Content-Length: 99999999999999999999999" (?v= to choose the
               value), then "hello"
te-unknown     "Transfer-Encoding: foo" only, then "hello"
chunk-bad-hex  chunk-size line "zz"
chunk-overflow chunk-size line "1ffffffffffffffff" (does not fit 64 bits)
chunk-negative chunk-size line "-5"
chunk-long-line a chunk-size line "5;" followed by ?kb=64 KiB of extension
chunk-no-crlf  chunk data not followed by CRLF: "5\r\nhelloXX0\r\n\r\n"

Truncation, resets and closes
-----------------------------
trunc-cl       "Content-Length: n" (?n=1000), sends n/2 bytes, then FIN
               (over TLS after close_notify; ?bare=1: without, see close-abort)
trunc-chunked  announces a 100-byte chunk, sends 50 bytes, then FIN (?bare=1
               as for trunc-cl)
trunc-headers  "HTTP/1.1 200 OK\r\nContent-Len" then FIN
close-no-response  reads the request, then FIN without a byte
reset-before   reads the request, then RST (SO_LINGER 0) without a byte
reset-headers  status line and part of the headers, then RST
reset-body     head (Content-Length: 1000) and 500 bytes of body, then RST
close-abort    like close (?n=100 bytes delimited by the close), then a bare
               TCP close: over TLS no close_notify is sent, which is what a
               truncation attacker's forged FIN looks like (keep ?n to a few
               KiB: the bytes must have left before the close)

Slowness and stalls (for timeouts; the server never closes first)
-----------------------------------------------------------------
drip           the whole response of "ok" (?n=20 byte body) one byte every
               ?ms=10 ms
stall          reads the request and never answers
stall-headers  sends a complete head (Content-Length: 100), then nothing
stall-body     head (Content-Length: 100) and 50 bytes, then nothing

Size limits
-----------
big-headers    one header "X-Big" with a ?kb=64 KiB value, then body "ok"
many-headers   ?count=1000 headers "X-H-<i>: <i>", then body "ok"

Redirects (body "redirect", Content-Length)
-------------------------------------------
redirect       ?code=302 to ?to=/ok (verbatim in Location). ?abs=1 makes it
               absolute: "http://<Host header><to>".
301 302 303 307 308   the same with that code
redirect-loop  302 to itself (?abs=1 for an absolute Location)
redirect-chain ?n=3: 302 to /redirect-chain?n=<n-1>; at n=0 200 with the
               100-byte pattern body
redirect-https 302 to https://localhost:<?port=443><?to=/ok>
redirect-no-location  302 without a Location header

Cookies (200, body "cookies")
-----------------------------
cookies        a fixed set of Set-Cookie headers:
                 plain=1
                 path=2; Path=/cookies
                 domain=3; Domain=localhost
                 expires=4; Expires=Wed, 21 Oct 2037 07:28:00 GMT
                 maxage=5; Max-Age=3600
                 deleted=6; Max-Age=0
                 secure=7; Secure
                 httponly=8; HttpOnly
                 samesite=9; SameSite=Strict
                 quoted="10"
                 suffix=11; Domain=com            (public suffix: reject)
                 past=12; Expires=Thu, 01 Jan 1970 00:00:00 GMT
                 =noname
                 noequals
set-cookie     one Set-Cookie header per ?c= argument (URL-encoded value)

Content codings
---------------
gzip           gzip-coded pattern body of ?n=1000 bytes, Content-Encoding:
               gzip, Content-Length; ?chunked=1 sends it chunked
deflate        the same with zlib-wrapped deflate; ?raw=1 raw deflate
br             brotli, only if the Python brotli module is present; else 501
zstd           zstd, only if Python has a zstd module; else 501
gzip-bad       Content-Encoding: gzip, but the body is not gzip
gzip-trunc     Content-Encoding: gzip, a complete response whose gzip stream
               lacks its end (last 12 bytes cut)
bomb           decompression bomb: ?mb=1024 MiB of zeros, gzip-coded
               (?enc=deflate for zlib), generated lazily, chunked. About 1 KiB
               on the wire per MiB decoded.

Authentication
--------------
auth           401 with WWW-Authenticate for each of ?schemes=
               basic,digest,ntlm,negotiate (also: bearer), one header each,
               body "unauthorized"; 200 "authorized" when the request has
               "Authorization: Basic" for ?user=user&pass=pass, or a Digest
               answer (RFC 7616, realm "openwinhttp", qop auth) checked
               against them; ?algorithm=MD5 (default), MD5-sess, SHA-256
               or SHA-256-sess for the Digest challenge; ?stale=1: a right
               Digest answer to the first nonce gets 401 stale=true with a
               second nonce, which the next answer must use
proxy-auth     the same with 407, Proxy-Authenticate and Proxy-Authorization
ntlm           A connection-bound NTLM handshake whose tokens are not checked,
               only where they arrive: a request without "Authorization:
               NTLM" gets 401 "WWW-Authenticate: NTLM"; a negotiate message
               (type 1) gets 401 with a challenge message (type 2) the client's
               NTLM mechanism can answer; the authenticate message (type 3)
               gets 200 "authorized" when it came on the connection of the
               type 1, else 401 "wrong connection". Every 401 carries a body
               of ?n=10240 pattern bytes (?chunked=1: chunked). ?garbage=1:
               the type 2 is not an NTLM message; ?endless=1: the type 3 is
               answered with yet another type 2, for ever.

Proxy auto-configuration scripts (200, Content-Type:
application/x-ns-proxy-autoconfig, Content-Length)
------------------------------------------------------------------------
pac            ?name=<name>: the file tests/peers/pac/<name>.pac (names of
               letters, digits, '-' and '_'), in which every "@KEY@" is
               replaced by the value of the argument ?key= (for instance
               @PORT@ by ?port=); an unknown name is a 404. ?body=<text>
               instead: that text (URL-decoded) as the script. ?id=<id>
               counts the downloads under that id.
pac-count      ?id=<id>: 200, body = how many times /pac?id=<id> was
               served so far (0 if never). ?atleast=<n>: answered once that
               many downloads have been served (or after ?ms=8000 ms, with
               the count then).
(A PAC download that fails: /status?code=404; one that never ends:
/stall-body; one too large: /ok?n=<bytes>.)

Anything else: 404 with body "unknown scenario".
"""

import asyncio
import base64
import hashlib
import os
import re
import socket
import struct
import sys
import urllib.parse
import zlib

import peer_common

HEAD_LINE_LIMIT = 64 * 1024      # longest request-head line accepted
HEAD_TOTAL_LIMIT = 1024 * 1024   # largest request head accepted
ALPHA = b"abcdefghijklmnopqrstuvwxyz"
BLOCK = ALPHA * 2520             # 65520 bytes: keeps the pattern aligned

KEEP = "keep"      # the connection can serve another request
CLOSE = "close"    # close it gracefully (FIN)
GONE = "gone"      # already closed or reset by the scenario

DEBUG = bool(os.environ.get("FAULTSERVER_DEBUG"))


def pattern(n, offset=0):
    """n bytes of the alphabet pattern starting at pattern offset."""
    start = offset % 26
    reps = (start + n) // 26 + 1
    return (ALPHA * reps)[start:start + n]


class BadRequest(Exception):
    pass


class Request:
    def __init__(self):
        self.method = ""
        self.target = ""
        self.version = ""
        self.path = ""
        self.scenario = ""
        self.args = {}
        self.headers = []        # [(name, value)] as str, in order
        self.raw_head = b""
        self.raw_body = b""
        self.body = b""
        self.framing = "none"
        self.body_read = False

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def arg(self, name, default=None):
        v = self.args.get(name)
        return v[0] if v else default

    def iarg(self, name, default):
        try:
            return int(self.arg(name, default))
        except (TypeError, ValueError):
            return default

    def wants_close(self):
        conn = (self.header("connection") or "").lower()
        tokens = [t.strip() for t in conn.split(",")]
        if "close" in tokens:
            return True
        if self.version == "HTTP/1.0" and "keep-alive" not in tokens:
            return True
        return False


class Conn:
    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.count = 0

    async def send(self, data):
        self.writer.write(data)
        await self.writer.drain()

    def reset(self):
        """Close with an RST (SO_LINGER 0)."""
        sock = self.writer.get_extra_info("socket")
        try:
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.writer.transport.abort()
        return GONE

    async def wait_eof(self):
        """Read and discard until the client closes (a stall)."""
        while True:
            data = await self.reader.read(65536)
            if not data:
                return

    def bare_close(self):
        """Closes the TCP connection under any TLS layer: FIN without a
        close_notify. Bytes the transports still buffer are lost."""
        self.writer.transport.abort()
        return GONE

    async def finish(self):
        """FIN, then wait for the client to go away."""
        try:
            if not self.writer.can_write_eof():   # TLS: close_notify, close
                # Waiting lets everything buffered, close_notify last, reach
                # the client before the connection is torn down.
                self.writer.close()
                await asyncio.wait_for(self.writer.wait_closed(), 30)
                return GONE
            self.writer.write_eof()
            await self.writer.drain()
            await asyncio.wait_for(self.wait_eof(), 30)
        except (OSError, asyncio.TimeoutError, ConnectionError):
            pass
        self.writer.transport.abort()
        return GONE


# --- reading requests -------------------------------------------------------

async def read_line(reader):
    try:
        return await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError:
        raise BadRequest("request line too long")


async def read_request_head(c):
    """Returns a Request with its head parsed, or None at a clean EOF."""
    reader = c.reader
    raw = bytearray()
    # Tolerate empty lines before the request line (RFC 9112 2.2).
    while True:
        try:
            line = await read_line(reader)
        except asyncio.IncompleteReadError as e:
            if e.partial:
                raise BadRequest("truncated request line")
            return None
        if line.strip():
            break
    raw += line
    lines = []
    while True:
        h = await read_line(reader)
        raw += h
        if len(raw) > HEAD_TOTAL_LIMIT:
            raise BadRequest("request head too large")
        if h in (b"\r\n", b"\n"):
            break
        lines.append(h.rstrip(b"\r\n"))
    req = Request()
    req.raw_head = bytes(raw)
    parts = line.rstrip(b"\r\n").decode("latin-1").split(" ")
    if len(parts) != 3:
        raise BadRequest("bad request line")
    req.method, req.target, req.version = parts
    for h in lines:
        name, sep, value = h.decode("latin-1").partition(":")
        if not sep:
            raise BadRequest("bad header line")
        req.headers.append((name.strip(), value.strip()))
    url = urllib.parse.urlsplit(req.target)
    req.path = url.path
    req.scenario = url.path.lstrip("/").split("/", 1)[0]
    req.args = urllib.parse.parse_qs(url.query, keep_blank_values=True)
    return req


async def read_body(c, req, send_continue=True):
    """Reads the request body (sending 100 Continue first if asked for)."""
    if req.body_read:
        return
    req.body_read = True
    reader = c.reader
    te = (req.header("transfer-encoding") or "").lower()
    cl = req.header("content-length")
    expect = (req.header("expect") or "").lower() == "100-continue"
    if expect and send_continue and (te or (cl and cl.strip() != "0")):
        await c.send(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in te:
        req.framing = "chunked"
        raw = bytearray()
        body = bytearray()
        while True:
            line = await read_line(reader)
            raw += line
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadRequest("bad chunk size")
            if size == 0:
                while True:
                    t = await read_line(reader)
                    raw += t
                    if t in (b"\r\n", b"\n"):
                        break
                break
            data = await reader.readexactly(size)
            raw += data
            body += data
            raw += await reader.readuntil(b"\n")
        req.raw_body = bytes(raw)
        req.body = bytes(body)
    elif cl is not None:
        req.framing = "length"
        try:
            n = int(cl)
        except ValueError:
            raise BadRequest("bad content-length")
        req.body = req.raw_body = await reader.readexactly(n)


# --- writing responses ------------------------------------------------------

def head_bytes(status_line, headers):
    out = [status_line]
    for k, v in headers:
        out.append("%s: %s" % (k, v))
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")


async def respond(c, req, code, reason, headers=(), body=b"", length=True):
    """A complete, well-formed response with a Content-Length."""
    await read_body(c, req)
    hs = list(headers)
    if length:
        hs.append(("Content-Length", str(len(body))))
    await c.send(head_bytes("HTTP/1.1 %d %s" % (code, reason), hs))
    if req.method != "HEAD" and body:
        await c.send(body)
    return KEEP


async def raw_and_close(c, req, data):
    """Sends raw bytes as the whole response, then FIN."""
    await read_body(c, req, send_continue=False)
    await c.send(data)
    return await c.finish()


async def stream_pattern(c, n):
    off = 0
    while off < n:
        k = min(len(BLOCK), n - off)
        await c.send(BLOCK[:k])
        off += k


# --- well-formed -------------------------------------------------------------

async def s_ok(c, req):
    n = req.iarg("n", 100)
    await read_body(c, req)
    hs = [("Content-Type", req.arg("ctype", "text/plain")),
          ("Content-Length", str(n))]
    await c.send(head_bytes("HTTP/1.1 200 OK", hs))
    if req.method != "HEAD":
        await stream_pattern(c, n)
    if req.arg("reset") == "1":
        await c.writer.drain()
        return c.reset()
    if req.arg("close") == "1":
        return await c.finish()
    return KEEP


async def s_chunked(c, req):
    n = req.iarg("n", 100)
    chunks = max(1, req.iarg("chunks", 4))
    await read_body(c, req)
    hs = [("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked")]
    if req.arg("trailer") == "1":
        hs.append(("Trailer", "X-Trailer, X-Checksum"))
    await c.send(head_bytes("HTTP/1.1 200 OK", hs))
    if req.method == "HEAD":
        return KEEP
    ext = b";name=value" if req.arg("ext") == "1" else b""
    per = n // chunks
    off = 0
    for i in range(chunks):
        k = per if i < chunks - 1 else n - off
        if k == 0:
            continue
        await c.send(b"%x%s\r\n%s\r\n" % (k, ext, pattern(k, off)))
        off += k
    tail = b"0\r\n"
    if req.arg("trailer") == "1":
        tail += b"X-Trailer: yes\r\nX-Checksum: %d\r\n" % n
    await c.send(tail + b"\r\n")
    return KEEP


async def send_close_delimited(c, req):
    """The response of close and close-abort up to its end: "Connection:
    close", no length, the ?n=100 pattern bytes."""
    n = req.iarg("n", 100)
    await read_body(c, req)
    await c.send(head_bytes("HTTP/1.1 200 OK", [("Content-Type", "text/plain"),
                                                ("Connection", "close")]))
    if req.method != "HEAD":
        await stream_pattern(c, n)


async def s_close(c, req):
    await send_close_delimited(c, req)
    return await c.finish()


async def s_close_abort(c, req):
    await send_close_delimited(c, req)
    return c.bare_close()


async def s_http10(c, req):
    n = req.iarg("n", 100)
    await read_body(c, req)
    await c.send(head_bytes("HTTP/1.0 200 OK", [("Content-Type", "text/plain")]))
    if req.method != "HEAD":
        await stream_pattern(c, n)
    return await c.finish()


async def s_count(c, req):
    body = str(c.count).encode()
    return await respond(c, req, 200, "OK",
                         [("Content-Type", "text/plain"),
                          ("X-Request-Count", str(c.count))], body)


async def s_status(c, req):
    code = req.iarg("code", 200)
    reason = req.arg("reason", "Status")
    n = req.iarg("n", 0)
    if 100 <= code < 200 or code in (204, 304):
        await read_body(c, req)
        await c.send(head_bytes("HTTP/1.1 %d %s" % (code, reason), []))
        if 100 <= code < 200:
            return await c.finish()
        return KEEP
    return await respond(c, req, code, reason, [("Content-Type", "text/plain")],
                         pattern(n))


async def s_204(c, req):
    await read_body(c, req)
    await c.send(head_bytes("HTTP/1.1 204 No Content", [("X-Scenario", "204")]))
    return KEEP


async def s_304(c, req):
    await read_body(c, req)
    await c.send(head_bytes("HTTP/1.1 304 Not Modified",
                            [("ETag", '"v1"'), ("Content-Length", "100")]))
    return KEEP


async def s_head_body(c, req):
    n = req.iarg("n", 100)
    await read_body(c, req)
    await c.send(head_bytes("HTTP/1.1 200 OK", [("Content-Length", str(n))]))
    await stream_pattern(c, n)
    return KEEP


PUSHES = {}   # /push?id= -> (its Conn, the bytes /release sends on it)


async def s_push(c, req):
    code = req.iarg("code", 200)
    if req.arg("what", "response") == "body":
        extra = b"stray body bytes"
    else:
        extra = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\npushed"
    PUSHES[req.arg("id", "")] = (c, extra)
    if code == 204:
        await read_body(c, req)
        await c.send(head_bytes("HTTP/1.1 204 No Content", []))
        return KEEP
    return await respond(c, req, 200, "OK", [("Content-Type", "text/plain")], b"ok")


async def s_release(c, req):
    held = PUSHES.pop(req.arg("id", ""), None)
    if held is None:
        return await respond(c, req, 404, "Not Found", [], b"no such push")
    await held[0].send(held[1])
    return await respond(c, req, 200, "OK", [("Content-Type", "text/plain")], b"released")


async def s_continue(c, req):
    await read_body(c, req, send_continue=False)
    await c.send(b"HTTP/1.1 100 Continue\r\n\r\n")
    return await s_ok(c, req)


async def s_1xx_flood(c, req):
    n = req.iarg("n", 10)
    code = req.iarg("code", 100)
    await read_body(c, req, send_continue=False)
    interim = b"HTTP/1.1 %d Continue\r\n\r\n" % code
    for _ in range(n):
        await c.send(interim)
    return await respond(c, req, 200, "OK", [], b"ok")


async def s_early_hints(c, req):
    await read_body(c, req)
    await c.send(head_bytes("HTTP/1.1 103 Early Hints",
                            [("Link", "</style.css>; rel=preload; as=style")]))
    return await respond(c, req, 200, "OK", [], b"ok")


async def s_101(c, req):
    await read_body(c, req, send_continue=False)
    await c.send(head_bytes("HTTP/1.1 101 Switching Protocols",
                            [("Upgrade", "foo"), ("Connection", "Upgrade")]))
    await c.send(b"\x00\x01\x02\x03not http at all\xff"[:16])
    return await c.finish()


async def s_expect_417(c, req):
    await c.send(head_bytes("HTTP/1.1 417 Expectation Failed",
                            [("Content-Length", "0"), ("Connection", "close")]))
    return await c.finish()


async def s_early_response(c, req):
    code = req.iarg("code", 413)
    body = b"early"
    await c.send(head_bytes("HTTP/1.1 %d Early" % code,
                            [("Content-Length", str(len(body))),
                             ("Connection", "close")]) + body)
    return await c.finish()


async def s_slow_read(c, req):
    step = max(1, req.iarg("bytes", 1024))
    ms = req.iarg("ms", 10)
    te = (req.header("transfer-encoding") or "").lower()
    cl = req.header("content-length")
    req.body_read = True
    total = 0
    if (req.header("expect") or "").lower() == "100-continue":
        await c.send(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in te:
        while True:
            line = await read_line(c.reader)
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while (await read_line(c.reader)) not in (b"\r\n", b"\n"):
                    pass
                break
            left = size
            while left:
                data = await c.reader.read(min(step, left))
                if not data:
                    raise asyncio.IncompleteReadError(b"", left)
                left -= len(data)
                total += len(data)
                await asyncio.sleep(ms / 1000)
            await c.reader.readuntil(b"\n")
    elif cl is not None:
        left = int(cl)
        while left:
            data = await c.reader.read(min(step, left))
            if not data:
                raise asyncio.IncompleteReadError(b"", left)
            left -= len(data)
            total += len(data)
            await asyncio.sleep(ms / 1000)
    return await respond(c, req, 200, "OK", [], b"received %d" % total)


async def s_echo(c, req):
    await read_body(c, req)
    body = req.raw_head + req.raw_body
    return await respond(c, req, 200, "OK",
                         [("Content-Type", "application/octet-stream"),
                          ("X-Echo-Body-Length", str(len(req.body))),
                          ("X-Echo-Framing", req.framing)], body)


async def s_delay(c, req):
    await read_body(c, req)
    await asyncio.sleep(req.iarg("ms", 100) / 1000)
    return await s_ok(c, req)


async def s_early_close(c, req):
    req.body_read = True
    await c.send(head_bytes("HTTP/1.1 200 OK", [("Connection", "close")]) + b"hello")
    try:
        c.writer.write_eof()
        await c.writer.drain()
        # Never read the body: the client's writes stall until it gives up.
        await asyncio.sleep(30)
    except (OSError, ConnectionError):
        pass
    c.writer.transport.abort()
    return GONE


async def s_duplex(c, req):
    req.body_read = True
    await c.send(head_bytes("HTTP/1.1 200 OK", [("Content-Type", "application/octet-stream"),
                                                ("Transfer-Encoding", "chunked")]))
    reader = c.reader

    async def echo(data):
        if data:
            await c.send(b"%x\r\n%s\r\n" % (len(data), data))

    te = (req.header("transfer-encoding") or "").lower()
    if "chunked" in te:
        while True:
            line = await read_line(reader)
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while (await read_line(reader)) not in (b"\r\n", b"\n"):
                    pass
                break
            # In pieces: a large chunk is echoed as it arrives, and the
            # server never holds more than a piece (back-pressure).
            while size > 0:
                data = await reader.read(min(size, 65536))
                if not data:
                    return GONE
                size -= len(data)
                await echo(data)
            await reader.readuntil(b"\n")
    else:
        left = int(req.header("content-length") or "0")
        while left > 0:
            data = await reader.read(min(left, 65536))
            if not data:
                return GONE
            left -= len(data)
            await echo(data)
    await c.send(b"0\r\n\r\n")
    return KEEP


# --- malformed status lines ---------------------------------------------------

OK_TAIL = b"Content-Length: 2\r\n\r\nok"


def fixed(data):
    async def h(c, req):
        return await raw_and_close(c, req, data)
    return h


async def s_status_no_reason(c, req):
    await read_body(c, req)
    await c.send(b"HTTP/1.1 200\r\n" + OK_TAIL)
    return KEEP


async def s_bare_lf(c, req):
    await read_body(c, req)
    await c.send(b"HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 2\n\nok")
    return KEEP


def garbage_bytes():
    out = bytearray()
    x = 0x2545F491
    for _ in range(512):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append((x >> 16) & 0xFF)
    return bytes(out)


# --- framing -----------------------------------------------------------------

async def s_chunk_long_line(c, req):
    kb = req.iarg("kb", 64)
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    await read_body(c, req, send_continue=False)
    await c.send(head + b"5;" + b"x" * (kb * 1024))
    await c.send(b"\r\nhello\r\n0\r\n\r\n")
    return await c.finish()


async def s_cl_overflow(c, req):
    v = req.arg("v", "99999999999999999999999")
    return await raw_and_close(
        c, req, b"HTTP/1.1 200 OK\r\nContent-Length: " + v.encode("latin-1") +
        b"\r\n\r\nhello")


# --- truncation, resets, stalls ------------------------------------------------

async def s_trunc_cl(c, req):
    n = req.iarg("n", 1000)
    await read_body(c, req)
    await c.send(head_bytes("HTTP/1.1 200 OK", [("Content-Length", str(n))]))
    await c.send(pattern(n // 2))
    return c.bare_close() if req.arg("bare") == "1" else await c.finish()


async def s_trunc_chunked(c, req):
    await read_body(c, req)
    await c.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n" +
                 pattern(50))
    return c.bare_close() if req.arg("bare") == "1" else await c.finish()


async def s_close_no_response(c, req):
    await read_body(c, req, send_continue=False)
    return await c.finish()


async def s_reset_before(c, req):
    await read_body(c, req, send_continue=False)
    return c.reset()


async def s_reset_headers(c, req):
    await read_body(c, req, send_continue=False)
    await c.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-Partial")
    return c.reset()


async def s_reset_body(c, req):
    await read_body(c, req)
    await c.send(head_bytes("HTTP/1.1 200 OK", [("Content-Length", "1000")]) +
                 pattern(500))
    return c.reset()


async def s_drip(c, req):
    n = req.iarg("n", 20)
    ms = req.iarg("ms", 10)
    await read_body(c, req)
    data = head_bytes("HTTP/1.1 200 OK", [("Content-Length", str(n))]) + pattern(n)
    for i in range(len(data)):
        await c.send(data[i:i + 1])
        if i + 1 < len(data):
            await asyncio.sleep(ms / 1000)
    return KEEP


async def s_stall(c, req):
    await c.wait_eof()
    return CLOSE


async def s_stall_headers(c, req):
    await read_body(c, req)
    await c.send(head_bytes("HTTP/1.1 200 OK", [("Content-Length", "100")]))
    await c.wait_eof()
    return CLOSE


async def s_stall_body(c, req):
    await read_body(c, req)
    await c.send(head_bytes("HTTP/1.1 200 OK", [("Content-Length", "100")]) +
                 pattern(50))
    await c.wait_eof()
    return CLOSE


# --- sizes ---------------------------------------------------------------------

async def s_big_headers(c, req):
    kb = req.iarg("kb", 64)
    return await respond(c, req, 200, "OK", [("X-Big", "b" * (kb * 1024))], b"ok")


async def s_many_headers(c, req):
    count = req.iarg("count", 1000)
    return await respond(c, req, 200, "OK",
                         [("X-H-%d" % i, str(i)) for i in range(count)], b"ok")


# --- redirects -----------------------------------------------------------------

def absolute(req, to):
    return "http://%s%s" % (req.header("host", "127.0.0.1"), to)


async def redirect(c, req, code, to):
    if req.arg("abs") == "1":
        to = absolute(req, to)
    return await respond(c, req, code, "Redirect",
                         [("Location", to), ("Content-Type", "text/plain")],
                         b"redirect")


def s_redirect_code(code):
    async def h(c, req):
        return await redirect(c, req, code, req.arg("to", "/ok"))
    return h


async def s_redirect(c, req):
    return await redirect(c, req, req.iarg("code", 302), req.arg("to", "/ok"))


async def s_redirect_loop(c, req):
    return await redirect(c, req, 302, "/redirect-loop" +
                          ("?abs=1" if req.arg("abs") == "1" else ""))


async def s_redirect_chain(c, req):
    n = req.iarg("n", 3)
    if n <= 0:
        return await respond(c, req, 200, "OK", [("Content-Type", "text/plain")],
                             pattern(100))
    return await redirect(c, req, 302, "/redirect-chain?n=%d" % (n - 1))


async def s_redirect_https(c, req):
    to = "https://localhost:%d%s" % (req.iarg("port", 443), req.arg("to", "/ok"))
    return await respond(c, req, 302, "Found", [("Location", to)], b"redirect")


async def s_redirect_no_location(c, req):
    return await respond(c, req, 302, "Found", [], b"redirect")


# --- cookies -------------------------------------------------------------------

COOKIES = [
    "plain=1",
    "path=2; Path=/cookies",
    "domain=3; Domain=localhost",
    "expires=4; Expires=Wed, 21 Oct 2037 07:28:00 GMT",
    "maxage=5; Max-Age=3600",
    "deleted=6; Max-Age=0",
    "secure=7; Secure",
    "httponly=8; HttpOnly",
    "samesite=9; SameSite=Strict",
    'quoted="10"',
    "suffix=11; Domain=com",
    "past=12; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    "=noname",
    "noequals",
]


async def s_cookies(c, req):
    return await respond(c, req, 200, "OK", [("Set-Cookie", v) for v in COOKIES],
                         b"cookies")


async def s_set_cookie(c, req):
    return await respond(c, req, 200, "OK",
                         [("Set-Cookie", v) for v in req.args.get("c", [])],
                         b"cookies")


# --- content codings -------------------------------------------------------------

async def send_coded(c, req, coding, data):
    await read_body(c, req)
    if req.arg("chunked") == "1":
        await c.send(head_bytes("HTTP/1.1 200 OK",
                                [("Content-Encoding", coding),
                                 ("Transfer-Encoding", "chunked")]))
        if req.method != "HEAD":
            for i in range(0, len(data), 4096):
                part = data[i:i + 4096]
                await c.send(b"%x\r\n%s\r\n" % (len(part), part))
            await c.send(b"0\r\n\r\n")
        return KEEP
    await c.send(head_bytes("HTTP/1.1 200 OK",
                            [("Content-Encoding", coding),
                             ("Content-Length", str(len(data)))]))
    if req.method != "HEAD":
        await c.send(data)
    return KEEP


def gzip_bytes(data):
    co = zlib.compressobj(6, zlib.DEFLATED, 31)
    return co.compress(data) + co.flush()


async def s_gzip(c, req):
    return await send_coded(c, req, "gzip", gzip_bytes(pattern(req.iarg("n", 1000))))


async def s_deflate(c, req):
    data = pattern(req.iarg("n", 1000))
    wbits = -15 if req.arg("raw") == "1" else 15
    co = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return await send_coded(c, req, "deflate", co.compress(data) + co.flush())


async def s_br(c, req):
    try:
        import brotli  # noqa: F401 (optional, not in the standard library)
    except ImportError:
        return await respond(c, req, 501, "No Brotli", [], b"brotli unavailable")
    return await send_coded(c, req, "br", brotli.compress(pattern(req.iarg("n", 1000))))


async def s_zstd(c, req):
    try:
        from compression import zstd  # Python 3.14+
    except ImportError:
        return await respond(c, req, 501, "No Zstd", [], b"zstd unavailable")
    return await send_coded(c, req, "zstd", zstd.compress(pattern(req.iarg("n", 1000))))


async def s_gzip_bad(c, req):
    return await send_coded(c, req, "gzip", b"this is not gzip data at all")


async def s_gzip_trunc(c, req):
    return await send_coded(c, req, "gzip",
                            gzip_bytes(pattern(req.iarg("n", 1000)))[:-12])


_BOMB_BLOCK = None
MIB = 1024 * 1024


def bomb_block():
    """Raw deflate of 1 MiB of zeros ending in a full flush: self-contained,
    so copies can be concatenated."""
    global _BOMB_BLOCK
    if _BOMB_BLOCK is None:
        co = zlib.compressobj(9, zlib.DEFLATED, -15)
        _BOMB_BLOCK = co.compress(bytes(MIB)) + co.flush(zlib.Z_FULL_FLUSH)
    return _BOMB_BLOCK


async def s_bomb(c, req):
    mb = max(1, req.iarg("mb", 1024))
    enc = req.arg("enc", "gzip")
    await read_body(c, req)
    await c.send(head_bytes("HTTP/1.1 200 OK",
                            [("Content-Encoding", "gzip" if enc == "gzip" else "deflate"),
                             ("Content-Type", "application/octet-stream"),
                             ("Transfer-Encoding", "chunked")]))
    if req.method == "HEAD":
        return KEEP
    block = bomb_block()
    zeros = bytes(MIB)

    async def chunk(data):
        await c.send(b"%x\r\n%s\r\n" % (len(data), data))

    if enc == "gzip":
        await chunk(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff")
        crc = 0
    else:
        await chunk(b"\x78\xda")
        adler = 1
    for _ in range(mb):
        await chunk(block)
        if enc == "gzip":
            crc = zlib.crc32(zeros, crc)
        else:
            adler = zlib.adler32(zeros, adler)
    final = b"\x03\x00"   # an empty final fixed-Huffman block
    if enc == "gzip":
        final += struct.pack("<II", crc, (mb * MIB) & 0xFFFFFFFF)
    else:
        final += struct.pack(">I", adler)
    await chunk(final)
    await c.send(b"0\r\n\r\n")
    return KEEP


# --- authentication ----------------------------------------------------------------

CHALLENGES = {
    "basic": 'Basic realm="openwinhttp"',
    "digest": 'Digest realm="openwinhttp", qop="auth", '
              'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
              'opaque="5ccc069c403ebaf9f0171e9517f40e41", algorithm=MD5',
    "ntlm": "NTLM",
    "negotiate": "Negotiate",
    "bearer": 'Bearer realm="openwinhttp"',
}


DIGEST_NONCE = "dcd98b7102dd2f0e8b11d0f600bfb0c093"
DIGEST_NONCE2 = "a7c1f0b6e39d42e8b5cafe0f00d51a2b"


def digest_params(value):
    """The auth-params of a "Digest ..." credentials value, as a dict."""
    out = {}
    rest = value[len("Digest"):]
    for m in re.finditer(r'\s*([A-Za-z0-9_-]+)=("((?:[^"\\]|\\.)*)"|[^,\s]*)\s*,?', rest):
        v = m.group(3) if m.group(3) is not None else m.group(2)
        out[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", v)
    return out


def digest_ok(req, value, user, password, nonce):
    """Whether |value| answers the challenge for |nonce| (RFC 7616)."""
    p = digest_params(value)
    alg = p.get("algorithm", "MD5")
    h = {"MD5": hashlib.md5, "MD5-sess": hashlib.md5, "SHA-256": hashlib.sha256,
         "SHA-256-sess": hashlib.sha256}.get(alg)
    if h is None or p.get("username") != user or p.get("nonce") != nonce or \
            p.get("realm") != "openwinhttp" or p.get("uri") != req.target:
        return False
    H = lambda s: h(s.encode()).hexdigest()  # noqa: E731
    ha1 = H("%s:openwinhttp:%s" % (user, password))
    if alg.endswith("-sess"):
        ha1 = H("%s:%s:%s" % (ha1, nonce, p.get("cnonce", "")))
    ha2 = H("%s:%s" % (req.method, p["uri"]))
    if p.get("qop") == "auth":
        want = H(":".join([ha1, nonce, p.get("nc", ""), p.get("cnonce", ""), "auth", ha2]))
    else:
        want = H("%s:%s:%s" % (ha1, nonce, ha2))
    return p.get("response") == want


def digest_challenge(alg, nonce, stale):
    return ('Digest realm="openwinhttp", qop="auth", nonce="%s", '
            'opaque="5ccc069c403ebaf9f0171e9517f40e41", algorithm=%s%s'
            % (nonce, alg, ", stale=true" if stale else ""))


def auth_scenario(code, reason, challenge_header, credentials_header):
    async def h(c, req):
        user = req.arg("user", "user")
        password = req.arg("pass", "pass")
        want = "Basic " + base64.b64encode(
            ("%s:%s" % (user, password)).encode()).decode()
        got = req.header(credentials_header) or ""
        if got == want:
            return await respond(c, req, 200, "OK", [], b"authorized")
        alg = req.arg("algorithm", "MD5")
        stale_first = req.arg("stale", "0") == "1"
        if got.startswith("Digest "):
            if digest_ok(req, got, user, password, DIGEST_NONCE2 if stale_first else DIGEST_NONCE):
                return await respond(c, req, 200, "OK", [], b"authorized")
            if stale_first and digest_ok(req, got, user, password, DIGEST_NONCE):
                # Right credentials, expired nonce: stale=true and a new one.
                hs = [(challenge_header, digest_challenge(alg, DIGEST_NONCE2, True)),
                      ("Content-Type", "text/plain")]
                return await respond(c, req, code, reason, hs, b"unauthorized")
        schemes = req.arg("schemes", "basic,digest,ntlm,negotiate").split(",")
        hs = [(challenge_header, digest_challenge(alg, DIGEST_NONCE, False)
               if s.strip().lower() == "digest" else CHALLENGES[s.strip().lower()])
              for s in schemes if s.strip().lower() in CHALLENGES]
        hs.append(("Content-Type", "text/plain"))
        return await respond(c, req, code, reason, hs, b"unauthorized")
    return h


async def s_ntlm(c, req):
    got = req.header("Authorization") or ""
    n = int(req.arg("n", "10240"))
    kind = peer_common.ntlm_message_type(got)
    if kind == 3 and req.arg("endless", "0") != "1":
        if getattr(c, "ntlm_type1", False):
            return await respond(c, req, 200, "OK", [], b"authorized")
        return await respond(c, req, 401, "Unauthorized", [], b"wrong connection")
    if kind in (1, 3):
        c.ntlm_type1 = True
        token = "AAAAAAAA" if req.arg("garbage", "0") == "1" else peer_common.ntlm_challenge()
        hs = [("WWW-Authenticate", "NTLM " + token)]
    else:
        hs = [("WWW-Authenticate", "NTLM")]
    body = pattern(n)
    if req.arg("chunked", "0") == "1":
        await read_body(c, req)
        hs.append(("Transfer-Encoding", "chunked"))
        await c.send(head_bytes("HTTP/1.1 401 Unauthorized", hs))
        if req.method != "HEAD":
            await c.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        return KEEP
    return await respond(c, req, 401, "Unauthorized", hs, body)


PAC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pac")
PAC_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
PAC_COUNTS = {}
PAC_SERVED = None  # an asyncio.Condition, made in the server's loop


def pac_served():
    global PAC_SERVED
    if PAC_SERVED is None:
        PAC_SERVED = asyncio.Condition()
    return PAC_SERVED


async def s_pac(c, req):
    ident = req.arg("id")
    if ident is not None:
        PAC_COUNTS[ident] = PAC_COUNTS.get(ident, 0) + 1
        cond = pac_served()
        async with cond:
            cond.notify_all()
    body = req.arg("body")
    if body is not None:
        script = body.encode("utf-8")
    else:
        name = req.arg("name", "")
        if not PAC_NAME.match(name):
            return await s_not_found(c, req)
        try:
            with open(os.path.join(PAC_DIR, name + ".pac"), "rb") as f:
                script = f.read()
        except OSError:
            return await s_not_found(c, req)
        for key, values in req.args.items():
            script = script.replace(("@" + key.upper() + "@").encode(), values[0].encode())
    return await respond(c, req, 200, "OK",
                         [("Content-Type", "application/x-ns-proxy-autoconfig")], script)


async def s_pac_count(c, req):
    ident = req.arg("id", "")
    atleast = req.iarg("atleast", 0)
    cond = pac_served()

    async def enough():
        async with cond:
            await cond.wait_for(lambda: PAC_COUNTS.get(ident, 0) >= atleast)
    try:
        await asyncio.wait_for(enough(), req.iarg("ms", 8000) / 1000.0)
    except asyncio.TimeoutError:
        pass
    n = PAC_COUNTS.get(ident, 0)
    return await respond(c, req, 200, "OK", [("Content-Type", "text/plain")],
                         str(n).encode())


async def s_not_found(c, req):
    return await respond(c, req, 404, "Not Found", [("Content-Type", "text/plain")],
                         b"unknown scenario")


SCENARIOS = {
    "ok": s_ok,
    "chunked": s_chunked,
    "close": s_close,
    "http10": s_http10,
    "count": s_count,
    "status": s_status,
    "204": s_204,
    "304": s_304,
    "head-body": s_head_body,
    "push": s_push,
    "release": s_release,
    "continue": s_continue,
    "1xx-flood": s_1xx_flood,
    "early-hints": s_early_hints,
    "101": s_101,
    "expect-417": s_expect_417,
    "early-response": s_early_response,
    "slow-read": s_slow_read,
    "echo": s_echo,
    "delay": s_delay,
    "duplex": s_duplex,
    "early-close": s_early_close,
    # malformed status lines
    "status-bad-code": fixed(b"HTTP/1.1 abc OK\r\n" + OK_TAIL),
    "status-bad-proto": fixed(b"HTP/1.1 200 OK\r\n" + OK_TAIL),
    "status-bad-version": fixed(b"HTTP/1.x 200 OK\r\n" + OK_TAIL),
    "status-short-code": fixed(b"HTTP/1.1 20 OK\r\n" + OK_TAIL),
    "status-long-code": fixed(b"HTTP/1.1 2000 OK\r\n" + OK_TAIL),
    "status-empty": fixed(b"\r\n\r\n"),
    "status-no-reason": s_status_no_reason,
    "garbage": fixed(garbage_bytes()),
    "http09": fixed(b"<html><body>HTTP/0.9 style reply</body></html>\n"),
    "bare-lf": s_bare_lf,
    # bad header syntax
    "hdr-no-colon": fixed(b"HTTP/1.1 200 OK\r\nX-Bad header line\r\n" + OK_TAIL),
    "hdr-space-colon": fixed(b"HTTP/1.1 200 OK\r\nX-Space : bar\r\n" + OK_TAIL),
    "hdr-nul": fixed(b"HTTP/1.1 200 OK\r\nX-Nul: a\x00b\r\n" + OK_TAIL),
    "hdr-cr": fixed(b"HTTP/1.1 200 OK\r\nX-Cr: a\rb\r\n" + OK_TAIL),
    "hdr-obs-fold": fixed(b"HTTP/1.1 200 OK\r\nX-Fold: a\r\n  continued\r\n" + OK_TAIL),
    "hdr-leading-ws": fixed(b"HTTP/1.1 200 OK\r\n X-First: a\r\n" + OK_TAIL),
    "hdr-bad-name": fixed(b"HTTP/1.1 200 OK\r\nX@Bad: v\r\n" + OK_TAIL),
    # framing
    "cl-dup-same": fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                         b"Content-Length: 5\r\n\r\nhello"),
    "cl-conflict": fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                         b"Content-Length: 6\r\n\r\nhello!"),
    "cl-list": fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello"),
    "cl-te": fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    "cl-negative": fixed(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhello"),
    "cl-overflow": s_cl_overflow,
    "te-unknown": fixed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: foo\r\n\r\nhello"),
    "chunk-bad-hex": fixed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"zz\r\nhello\r\n0\r\n\r\n"),
    "chunk-overflow": fixed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"1ffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
    "chunk-negative": fixed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"-5\r\nhello\r\n0\r\n\r\n"),
    "chunk-long-line": s_chunk_long_line,
    "chunk-no-crlf": fixed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"5\r\nhelloXX0\r\n\r\n"),
    # truncation, resets, closes
    "trunc-cl": s_trunc_cl,
    "trunc-chunked": s_trunc_chunked,
    "trunc-headers": fixed(b"HTTP/1.1 200 OK\r\nContent-Len"),
    "close-no-response": s_close_no_response,
    "reset-before": s_reset_before,
    "reset-headers": s_reset_headers,
    "reset-body": s_reset_body,
    "close-abort": s_close_abort,
    # slowness, stalls
    "drip": s_drip,
    "stall": s_stall,
    "stall-headers": s_stall_headers,
    "stall-body": s_stall_body,
    # sizes
    "big-headers": s_big_headers,
    "many-headers": s_many_headers,
    # redirects
    "redirect": s_redirect,
    "301": s_redirect_code(301),
    "302": s_redirect_code(302),
    "303": s_redirect_code(303),
    "307": s_redirect_code(307),
    "308": s_redirect_code(308),
    "redirect-loop": s_redirect_loop,
    "redirect-chain": s_redirect_chain,
    "redirect-https": s_redirect_https,
    "redirect-no-location": s_redirect_no_location,
    # cookies
    "cookies": s_cookies,
    "set-cookie": s_set_cookie,
    # content codings
    "gzip": s_gzip,
    "deflate": s_deflate,
    "br": s_br,
    "zstd": s_zstd,
    "gzip-bad": s_gzip_bad,
    "gzip-trunc": s_gzip_trunc,
    "bomb": s_bomb,
    # authentication
    "auth": auth_scenario(401, "Unauthorized", "WWW-Authenticate", "Authorization"),
    "ntlm": s_ntlm,
    "proxy-auth": auth_scenario(407, "Proxy Authentication Required",
                                "Proxy-Authenticate", "Proxy-Authorization"),
    # proxy auto-configuration
    "pac": s_pac,
    "pac-count": s_pac_count,
}


# --- the server --------------------------------------------------------------------

async def handle(reader, writer):
    c = Conn(reader, writer)
    try:
        while True:
            try:
                req = await read_request_head(c)
            except BadRequest:
                await c.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
                break
            if req is None:
                break
            c.count += 1
            handler = SCENARIOS.get(req.scenario, s_not_found)
            result = await handler(c, req)
            if result == GONE:
                return
            if result == CLOSE or req.wants_close():
                break
            if not req.body_read:
                await read_body(c, req, send_continue=False)
        if not writer.transport.is_closing():
            await c.finish()
    except (ConnectionError, OSError, asyncio.IncompleteReadError,
            asyncio.LimitOverrunError, BadRequest, ValueError):
        pass
    except asyncio.CancelledError:
        raise
    except Exception:  # a bug in a scenario: never take the server down
        if DEBUG:
            import traceback
            traceback.print_exc(file=sys.stderr)
    finally:
        writer.transport.abort()


async def serve(sock, ssl_ctx):
    # start_server listens before it returns.
    return await asyncio.start_server(handle, sock=sock, ssl=ssl_ctx, limit=HEAD_LINE_LIMIT)


if __name__ == "__main__":
    peer_common.run("OpenWinHTTP fault server", serve, quiet=not DEBUG)

#!/usr/bin/env python3
"""OpenWinHTTP's scriptable raw-frame WebSocket server (RFC 6455): a peer on
loopback that writes every byte of every frame itself, so tests can send a
client exactly the frames, fragments and protocol errors they need, and can
ask afterwards what the client sent back.

Python 3 standard library only (asyncio; the startup below is in
peer_common.py beside it). Started by the test harness (tests/support/peers.c,
wh_peer_start_ws):

    wsserver.py [--ipv6] [--tls-cert PEM --tls-key PEM]

It listens on 127.0.0.1 on a port the kernel picks (and, with --ipv6, on ::1
on the same port when it can), and only then prints exactly one line to
stdout and flushes it:

    READY <port>          or    READY <port> ipv6

Nothing else is ever written to stdout. Unexpected errors go to stderr only
when WSSERVER_DEBUG is set in the environment. The server runs until killed.

Each connection picks its behaviour by the first path segment of its
handshake request:

    GET /<scenario>[?arg=value&...]   (Upgrade: websocket ...)

Query values are %-decoded ("+" stays a plus). Generated binary payloads of
n bytes are the pattern "byte i = i % 251" (continuing across the frames of
one message), so a test can check every byte it received.

The handshake
=============
The server checks the client's request as RFC 6455 section 4.2.1 asks: GET,
"Upgrade: websocket", a "Connection" header with the "upgrade" token, and a
Sec-WebSocket-Key that is base64 of 16 bytes; otherwise it answers 400 with
the reason in the body and closes. "Sec-WebSocket-Version" other than 13 gets
426 with "Sec-WebSocket-Version: 13". A path that names no scenario gets 404.
Otherwise it answers

    HTTP/1.1 101 Switching Protocols
    Upgrade: websocket
    Connection: Upgrade
    Sec-WebSocket-Accept: base64(SHA-1(key + 258EAFA5-E914-47DA-95CA-C5AB0DC85B11))

Options that work with every scenario:
  ?id=NAME       records this connection under NAME for /report (below)
  ?proto=1       "Sec-WebSocket-Protocol: <the first protocol the client
                 offered>" (none when it offered none); ?proto=<other value>
                 sends that value verbatim, offered or not
  ?ext=VALUE     "Sec-WebSocket-Extensions: VALUE" verbatim. The server
                 implements no extension: this is for tests of a client that
                 must refuse an extension it did not ask for.
  ?hdr=N:V       an extra header "N: V" (repeatable)
  ?early=HEX     these bytes go in the same write as the 101 head, so frames
                 arrive with the head
  ?chunk=N       every write after the handshake is cut into N-byte writes,
                 each flushed before the next (TCP_NODELAY): the client likely
                 receives frames in pieces (likely, not certainly: TCP may
                 merge them)

Client frames
=============
Everything the client sends after the 101 is read and checked as a server
must (RFC 6455 sections 5 and 7): every frame masked, no RSV bits, no
reserved opcode, control frames of at most 125 bytes and never fragmented,
continuations only inside a fragmented message, text messages valid UTF-8
(checked when the message is complete), close payloads of 0 or >= 2 bytes
with a valid code (1000-1003, 1007-1014, 3000-4999) and a UTF-8 reason,
messages of at most 64 MiB. A violation is recorded as error=<kind> and the
server fails the connection: close frame with code 1002 (1007 for utf8 and
close-utf8, 1009 for too-big) and the kind as reason, then it waits for the
client's close and closes TCP. Kinds: unmasked, rsv, opcode, control-length,
control-fragmented, continuation, length (64-bit length with the top bit
set), utf8, close-length, close-code, close-utf8, too-big. (The silent
scenario records the error but sends nothing.)

"echo behaviour", used by several scenarios: every data message is sent
back as one message of the same type (fragments reassembled); a ping is
answered by a pong with its payload; a pong is counted; a close is answered
by a close with the same payload (same code and reason; empty if it was
empty), then the server closes TCP first (RFC 6455 section 7.1.1).

When the server sends a close first, it then waits (at most 30 s) for the
client's close frame, recording but not answering data frames, and closes
TCP after it. "closes TCP" is a FIN (over TLS: close_notify, then FIN); the
server then waits for the client's FIN before releasing the socket.

Scenario table
==============
echo          echo behaviour. ?frag=N: each echo is sent in fragments of N
              payload bytes (opcode, then continuations; an empty message is
              one frame). ?ping=1 with frag: a ping (payload "p<k>", k
              counting from 0 on the connection) between every two fragments.
close         a close frame at once with ?code=1000 and ?reason= (code 0 or
              "empty": an empty close payload); then waits for the client's
              close and closes TCP. ?fin=1: closes TCP right after its close
              frame without waiting.
send          sends the script ?m= (below), then echo behaviour (or, if the
              script sent a close, waits for the client's close and closes
              TCP).
raw           sends the bytes ?hex= right after the 101 (in their own write),
              then echo behaviour: for frames a client must reject (see
              "Hex for raw" below).
big           one binary message of ?mb=1 MiB (?n= bytes instead, when
              given) in frames of ?frame=65536 payload bytes, pattern bytes,
              then echo behaviour.
drop          sends the first ?n=10 bytes of a binary frame of ?len=1000
              pattern bytes (header 4 bytes), then closes TCP abruptly: a FIN
              without a close frame (over TLS, without close_notify either);
              ?rst=1: an RST instead.
silent        completes the handshake and never sends anything: no pong, no
              close. Records what it receives (pings, close) until the client
              closes TCP.
no-upgrade    200 OK, Content-Length, body "not a websocket endpoint\n",
              then closes (whatever the request).
bad-accept    101 whose Sec-WebSocket-Accept is for another key, then silent.
no-101-headers 101 with a right Sec-WebSocket-Accept but without the Upgrade
              and Connection headers (?omit=upgrade or ?omit=connection to
              leave out only one), then silent.
report        not a WebSocket: see below.

The send script (?m=)
---------------------
Items separated by ",", fields of an item by ":", each field %-decoded after
splitting (so "%2C", "%3A" and "%7C" are a literal comma, colon and bar, and
"%FF" is a raw byte). Consecutive items go out in one write.
  text:S            a text message with the bytes of S (not validated: send
                    bad UTF-8 with %-escapes)
  bin:N             a binary message of N pattern bytes
  binhex:HEX        a binary message with these bytes
  text-frag:A|B|..  one text message in fragments A, B, ... (pieces may be
                    empty and may split a UTF-8 sequence: text-frag:%E2%82|%AC)
  bin-frag:N|M|..   one binary message in fragments of N, M, ... pattern bytes
  ping[:S]          a ping with payload S;  pong[:S]: an unsolicited pong
  close[:CODE[:R]]  a close frame (CODE 0 or absent: empty payload); items
                    after it are still sent (data after a close)
  hex:HEX           raw bytes
  wait              flushes, then waits for one data message from the client
                    (recorded, not echoed; pings are answered meanwhile)
  eof               closes TCP now without a close frame (FIN; over TLS
                    close_notify first); the script ends
  rst               resets TCP now (RST); the script ends
Example: ?m=text:hello,bin:3,ping,text-frag:ab|cd,close:1000:bye

Hex for raw (?hex=): frames a client must reject
------------------------------------------------
  818537fa213d7f9f4d5158    a masked server frame (RFC 6455 5.7's "Hello")
  c1026869                  RSV1 set on a text frame without an extension
  8300, 8b00                reserved data / control opcodes (3, 0xB)
  897e007e + 126 bytes      a ping of 126 bytes (control frames: <= 125)
  0900                      a ping without FIN (fragmented control frame)
  8101ff                    text that is not UTF-8
  8103eda080, 8102c0af      a UTF-16 surrogate, an overlong encoding
  0101e2 800128             bad UTF-8 split across fragments (E2 then "(")
  800161                    a continuation with no message started
  010161 810162             a new text message inside a fragmented one
  880103                    a close payload of 1 byte
  880203ed                  close code 1005 on the wire (also 1006, 1015,
                            0-999, 1004, 2999: 880203ee, 880203f7, ...)
  880503e8ff6869            a close reason that is not UTF-8
  827f8000000000000000      a 64-bit length with its top bit set

Reports: GET /report?id=NAME
----------------------------
A plain HTTP request on the same server (and port, and TLS) answered with
"200 OK", "Connection: close", Content-Length and a text/plain body of lines
describing the WebSocket connection recorded as NAME (the latest one with
that id). The first line is the client's close frame, exactly one of:
    code=<n> reason=<text>    a close frame with a status code
    code=empty                a close frame with an empty payload
    none                      no close frame (yet), or no such connection
then, in this order, each on its own line:
    error=<kind>              only when the server failed the connection
    pings=<n>                 pings received
    pongs=<n>                 pongs received
    messages=<n>              data messages received
    msg=<text|binary>:<bytes>:<frames>   one line per data message (the
                              first 64)
    mask-repeats=<n>          frames whose mask key equalled the previous
                              frame's (a client must pick a fresh key each
                              frame)
    offer-proto=<v>           the request's Sec-WebSocket-Protocol, if any
    offer-ext=<v>             the request's Sec-WebSocket-Extensions, if any
    end=<how>                 once the connection is over: closed (close
                              frames went both ways), eof (the client closed
                              TCP first, or reset it), timeout (no close
                              from the client within 30 s), drop (the
                              scenario dropped TCP on purpose)
    timeout=1                 when the wait below ran out first
It first waits (at most ?ms=10000 milliseconds) for ?wait=:
    end        (default) the connection is over
    close      a close frame has been received (or the connection is over)
    pings:N    N pings have been received (or the connection is over)
    msgs:N     N data messages have been received (or the connection is over)
    now        nothing
A connection that has not arrived yet is waited for too. Give every
connection its own id: a report on a reused id describes the latest
connection, which may be an earlier one that is already over. A malformed
?wait= gets 400.
"""

import asyncio
import base64
import binascii
import hashlib
import os
import socket
import struct
import sys
import urllib.parse

import peer_common

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
DATA_OPS = (OP_TEXT, OP_BINARY)
CONTROL_OPS = (OP_CLOSE, OP_PING, OP_PONG)
MAX_MESSAGE = 64 * 1024 * 1024
HEAD_LIMIT = 64 * 1024
CLOSE_WAIT_S = 30
MSG_LINES = 64

DEBUG = bool(os.environ.get("WSSERVER_DEBUG"))


# --- bytes ---------------------------------------------------------------

def accept_key(key):
    digest = hashlib.sha1(key.encode("latin-1") + GUID).digest()
    return base64.b64encode(digest).decode("ascii")


_P251 = bytes(i % 251 for i in range(251)) * 512


def pattern(n, offset=0):
    """n pattern bytes (byte i = (offset + i) % 251)."""
    start = offset % 251
    if start + n <= len(_P251):
        return _P251[start:start + n]
    out = bytearray()
    while len(out) < n:
        k = min(n - len(out), len(_P251) - start)
        out += _P251[start:start + k]
        start = 0
    return bytes(out)


def frame(opcode, payload=b"", fin=True):
    """One unmasked (server) frame."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | opcode
    if n < 126:
        head = struct.pack("!BB", b0, n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, 126, n)
    else:
        head = struct.pack("!BBQ", b0, 127, n)
    return head + payload


def close_payload(code, reason=b""):
    return b"" if code == 0 else struct.pack("!H", code) + reason


def fragments(opcode, data, size):
    """Frames of one message of |data| with at most |size| payload bytes."""
    if size <= 0 or len(data) <= size:
        return [frame(opcode, data)]
    out = []
    for off in range(0, len(data), size):
        piece = data[off:off + size]
        last = off + size >= len(data)
        out.append(frame(opcode if off == 0 else OP_CONT, piece, fin=last))
    return out


def unmask(key, data):
    n = len(data)
    if n == 0:
        return b""
    # Whole-buffer XOR through big integers: fast enough for 16 MiB messages.
    m = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(m, "little")).to_bytes(n, "little")


def valid_close_code(code):
    return code in (1000, 1001, 1002, 1003) or 1007 <= code <= 1014 or 3000 <= code <= 4999


def unquote(s):
    return urllib.parse.unquote_to_bytes(s)


# --- records and reports ----------------------------------------------------

class Record:
    def __init__(self, ident):
        self.id = ident
        self.close = None          # None, b"" (empty) or (code, reason bytes)
        self.error = None
        self.pings = 0
        self.pongs = 0
        self.messages = 0
        self.msgs = []
        self.mask_repeats = 0
        self.offer_proto = None
        self.offer_ext = None
        self.end = None

    def text(self):
        if self.close is None:
            lines = ["none"]
        elif self.close == b"":
            lines = ["code=empty"]
        else:
            code, reason = self.close
            lines = ["code=%d reason=%s" % (code, reason.decode("utf-8", "replace"))]
        if self.error:
            lines.append("error=" + self.error)
        lines += ["pings=%d" % self.pings, "pongs=%d" % self.pongs,
                  "messages=%d" % self.messages]
        lines += ["msg=%s" % m for m in self.msgs]
        lines.append("mask-repeats=%d" % self.mask_repeats)
        if self.offer_proto is not None:
            lines.append("offer-proto=" + self.offer_proto)
        if self.offer_ext is not None:
            lines.append("offer-ext=" + self.offer_ext)
        if self.end:
            lines.append("end=" + self.end)
        return lines


RECORDS = {}
RECORD_CHANGES = peer_common.Changes()


def changed():
    """Wakes every /report waiting for a record to change."""
    RECORD_CHANGES.notify()


def report_ready(rec, wait):
    if wait == "now":
        return True
    if rec is None:
        return False
    if rec.end:
        return True
    if wait == "close":
        return rec.close is not None
    if wait.startswith("pings:"):
        return rec.pings >= int(wait[6:])
    if wait.startswith("msgs:"):
        return rec.messages >= int(wait[5:])
    return False


def valid_wait(wait):
    kind, _, n = wait.partition(":")
    if kind in ("end", "close", "now"):
        return not n
    return kind in ("pings", "msgs") and n.isdigit()


async def serve_report(conn, req):
    ident = req.arg("id", "")
    wait = req.arg("wait", "end")
    if not valid_wait(wait):
        await conn.http_response(400, "Bad Request", b"bad wait=\n")
        return
    ready = await RECORD_CHANGES.wait_until(
        lambda: report_ready(RECORDS.get(ident), wait), req.iarg("ms", 10000))
    rec = RECORDS.get(ident)
    lines = rec.text() if rec else ["none"]
    if not ready:
        lines.append("timeout=1")
    await conn.http_response(200, "OK", ("\n".join(lines) + "\n").encode("utf-8"))


# --- the connection -----------------------------------------------------------

class BadRequest(Exception):
    pass


class ProtocolError(Exception):
    def __init__(self, code, kind):
        super().__init__(kind)
        self.code = code
        self.kind = kind


class Request:
    def __init__(self, method, target, headers):
        self.method = method
        self.target = target
        self.headers = headers
        url = urllib.parse.urlsplit(target)
        self.scenario = url.path.lstrip("/").split("/", 1)[0]
        self.raw_args = []          # [(name, raw value)], in order
        for part in url.query.split("&") if url.query else []:
            name, _, value = part.partition("=")
            self.raw_args.append((urllib.parse.unquote(name), value))

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_tokens(self, name):
        v = self.header(name) or ""
        return [t.strip().lower() for t in v.split(",")]

    def raw_arg(self, name, default=None):
        for k, v in self.raw_args:
            if k == name:
                return v
        return default

    def arg(self, name, default=None):
        v = self.raw_arg(name)
        return default if v is None else unquote(v).decode("latin-1")

    def args(self, name):
        return [unquote(v).decode("latin-1") for k, v in self.raw_args if k == name]

    def iarg(self, name, default):
        try:
            return int(self.arg(name, default))
        except (TypeError, ValueError):
            return default


class Conn:
    """One TCP (or TLS) connection, before and after the upgrade."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.rec = Record(None)
        self.chunk = 0
        self.last_mask = None
        self.pings_sent = 0
        self.frag = None            # opcode of the fragmented message in progress
        self.frag_data = bytearray()
        self.frag_frames = 0
        self.close_sent = False
        self.close_rcvd = False

    # -- writing

    async def send(self, data):
        if self.chunk > 0:
            for off in range(0, len(data), self.chunk):
                self.writer.write(data[off:off + self.chunk])
                await self.writer.drain()
        else:
            self.writer.write(data)
            await self.writer.drain()

    async def http_response(self, code, reason, body, headers=()):
        hs = ["HTTP/1.1 %d %s" % (code, reason)]
        hs += ["%s: %s" % kv for kv in headers]
        hs += ["Content-Type: text/plain", "Content-Length: %d" % len(body),
               "Connection: close"]
        await self.send(("\r\n".join(hs) + "\r\n\r\n").encode("latin-1") + body)
        await self.fin()

    async def send_close(self, code, reason=b""):
        self.close_sent = True
        await self.send(frame(OP_CLOSE, close_payload(code, reason)))

    async def flushed(self):
        """Returns once every byte written has left asyncio's buffers (over
        TLS: the TLS layer's; small writes then are in the kernel too)."""
        # The plain transport pauses its writer above the high-water mark,
        # the TLS one at or above it: high=0 would pause an empty TLS
        # transport for good.
        tls = self.writer.get_extra_info("sslcontext") is not None
        self.writer.transport.set_write_buffer_limits(high=1 if tls else 0, low=0)
        await self.writer.drain()

    async def fin(self):
        """Closes TCP gracefully (FIN; over TLS close_notify first), then waits
        for the client to close its side before letting the socket go (so
        the close cannot turn into an RST)."""
        try:
            if not self.writer.can_write_eof():        # TLS
                self.writer.close()
                await asyncio.wait_for(self.writer.wait_closed(), CLOSE_WAIT_S)
                return
            await self.flushed()
            self.writer.write_eof()
            await asyncio.wait_for(self.drain_input(), CLOSE_WAIT_S)
        except (OSError, ConnectionError, asyncio.TimeoutError):
            pass
        finally:
            self.writer.transport.abort()

    async def drain_input(self):
        while await self.reader.read(65536):
            pass

    async def drop(self, rst):
        """Abrupt TCP close: FIN without a close frame (and, over TLS, without
        close_notify), or an RST."""
        sock = self.writer.get_extra_info("socket")
        try:
            await self.flushed()
            if rst:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.rec.end = "drop"
        changed()
        if not rst:
            try:
                await asyncio.wait_for(self.drain_input(), CLOSE_WAIT_S)
            except (OSError, ConnectionError, asyncio.TimeoutError, Exception):
                pass
        self.writer.transport.abort()

    # -- reading

    async def read_frame(self):
        """(fin, opcode, payload) of the next client frame, unmasked; None at
        end of file. Raises ProtocolError for a frame a server must reject;
        the frame's bytes have been consumed when that is possible."""
        try:
            b0, b1 = await self.reader.readexactly(2)
        except asyncio.IncompleteReadError:
            return None
        fin, rsv, op = b0 >> 7, (b0 >> 4) & 7, b0 & 0xF
        masked, n = b1 >> 7, b1 & 0x7F
        try:
            if n == 126:
                (n,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
                if n >> 63:
                    raise ProtocolError(1002, "length")
            if n > MAX_MESSAGE:
                raise ProtocolError(1009, "too-big")
            key = await self.reader.readexactly(4) if masked else None
            payload = await self.reader.readexactly(n)
        except asyncio.IncompleteReadError:
            return None
        if key is not None:
            if key == self.last_mask:
                self.rec.mask_repeats += 1
            self.last_mask = key
            payload = unmask(key, payload)
        if not masked:
            raise ProtocolError(1002, "unmasked")
        if rsv:
            raise ProtocolError(1002, "rsv")
        if op not in DATA_OPS + CONTROL_OPS + (OP_CONT,):
            raise ProtocolError(1002, "opcode")
        if op in CONTROL_OPS:
            if n > 125:
                raise ProtocolError(1002, "control-length")
            if not fin:
                raise ProtocolError(1002, "control-fragmented")
        return fin, op, payload

    async def next_event(self):
        """The next complete thing the client sent: ("message", opcode,
        data), ("ping", payload), ("pong", payload), ("close", payload)
        or None at end of file. Records it. Raises ProtocolError."""
        while True:
            f = await self.read_frame()
            if f is None:
                return None
            fin, op, payload = f
            if op == OP_PING:
                self.rec.pings += 1
                changed()
                return ("ping", payload)
            if op == OP_PONG:
                self.rec.pongs += 1
                changed()
                return ("pong", payload)
            if op == OP_CLOSE:
                self.close_rcvd = True
                self.rec.close = parse_close(payload)
                changed()
                check_close(payload)
                return ("close", payload)
            if op == OP_CONT:
                if self.frag is None:
                    raise ProtocolError(1002, "continuation")
            else:
                if self.frag is not None:
                    raise ProtocolError(1002, "continuation")
                self.frag = op
                self.frag_data = bytearray()
                self.frag_frames = 0
            self.frag_data += payload
            self.frag_frames += 1
            if len(self.frag_data) > MAX_MESSAGE:
                raise ProtocolError(1009, "too-big")
            if not fin:
                continue
            op, data, frames = self.frag, bytes(self.frag_data), self.frag_frames
            self.frag = None
            self.frag_data = bytearray()
            self.rec.messages += 1
            if len(self.rec.msgs) < MSG_LINES:
                self.rec.msgs.append("%s:%d:%d" % ("text" if op == OP_TEXT else "binary",
                                                   len(data), frames))
            changed()
            if op == OP_TEXT:
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError:
                    raise ProtocolError(1007, "utf8")
            return ("message", op, data)

    # -- the WebSocket conversation

    def finish(self, how):
        if not self.rec.end:
            self.rec.end = how
            changed()

    async def fail(self, err):
        """Fails the connection after a client's protocol error."""
        if not self.rec.error:
            self.rec.error = err.kind
            changed()
        if not self.close_sent:
            await self.send_close(err.code, err.kind.encode("ascii"))
        await self.await_close()

    async def await_close(self):
        """After our close frame: waits for the client's, then closes TCP."""
        if self.close_rcvd:
            self.finish("closed")
            await self.fin()
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CLOSE_WAIT_S
        while True:
            try:
                ev = await asyncio.wait_for(self.next_event(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                self.finish("timeout")
                self.writer.transport.abort()
                return
            except ProtocolError as e:
                # A second error after the first: the stream may be out of
                # step; stop reading it.
                if not self.rec.error:
                    self.rec.error = e.kind
                if self.close_rcvd:
                    self.finish("closed")
                    await self.fin()
                    return
                self.finish("eof")
                self.writer.transport.abort()
                return
            if ev is None:
                self.finish("eof")
                self.writer.transport.abort()
                return
            if ev[0] == "close":
                self.finish("closed")
                await self.fin()
                return

    async def answer(self, ev):
        """Echo behaviour for one event; False once the conversation is over."""
        if ev is None:
            self.finish("eof")
            self.writer.transport.abort()
            return False
        kind = ev[0]
        if kind == "ping":
            await self.send(frame(OP_PONG, ev[1]))
        elif kind == "close":
            if not self.close_sent:
                self.close_sent = True
                await self.send(frame(OP_CLOSE, ev[1]))
            self.finish("closed")
            await self.fin()
            return False
        return True

    async def echo(self, req):
        size = req.iarg("frag", 0)
        interleave = req.arg("ping") == "1"
        while True:
            ev = await self.next_event()
            if ev is not None and ev[0] == "message":
                frames = fragments(ev[1], ev[2], size)
                out = bytearray()
                for i, f in enumerate(frames):
                    if i and interleave:
                        out += frame(OP_PING, b"p%d" % self.pings_sent)
                        self.pings_sent += 1
                    out += f
                await self.send(bytes(out))
                continue
            if not await self.answer(ev):
                return


def parse_close(payload):
    if not payload:
        return b""
    if len(payload) == 1:
        return (0, b"")
    return struct.unpack("!H", payload[:2])[0], payload[2:]


def check_close(payload):
    if len(payload) == 1:
        raise ProtocolError(1002, "close-length")
    if not payload:
        return
    if not valid_close_code(struct.unpack("!H", payload[:2])[0]):
        raise ProtocolError(1002, "close-code")
    try:
        payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(1007, "close-utf8")


# --- the handshake -----------------------------------------------------------

async def read_request(reader):
    """The request head, parsed; None when the client sent nothing."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if e.partial.strip():
            raise BadRequest("truncated request head")
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too large")
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise BadRequest("bad request line")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest("bad header line")
        headers.append((name.strip(), value.strip()))
    return Request(parts[0], parts[1], headers)


def handshake_problem(req):
    """Why the request is no WebSocket handshake, or None."""
    if req.method != "GET":
        return "method is not GET"
    if "websocket" not in req.header_tokens("upgrade"):
        return "no Upgrade: websocket"
    if "upgrade" not in req.header_tokens("connection"):
        return "no Connection: upgrade"
    key = req.header("sec-websocket-key")
    try:
        if key is None or len(base64.b64decode(key, validate=True)) != 16:
            return "bad Sec-WebSocket-Key"
    except (binascii.Error, ValueError):
        return "bad Sec-WebSocket-Key"
    return None


def response_head(req, scenario):
    key = req.header("sec-websocket-key")
    if scenario == "bad-accept":
        key = base64.b64encode(b"not the client's").decode("ascii")
    headers = []
    omit = req.arg("omit", "both") if scenario == "no-101-headers" else ""
    if omit not in ("upgrade", "both"):
        headers.append(("Upgrade", "websocket"))
    if omit not in ("connection", "both"):
        headers.append(("Connection", "Upgrade"))
    headers.append(("Sec-WebSocket-Accept", accept_key(key)))
    proto = req.arg("proto")
    if proto == "1":
        offered = req.header("sec-websocket-protocol")
        if offered:
            headers.append(("Sec-WebSocket-Protocol", offered.split(",")[0].strip()))
    elif proto is not None:
        headers.append(("Sec-WebSocket-Protocol", proto))
    if req.arg("ext") is not None:
        headers.append(("Sec-WebSocket-Extensions", req.arg("ext")))
    for h in req.args("hdr"):
        name, _, value = h.partition(":")
        headers.append((name.strip(), value.strip()))
    out = ["HTTP/1.1 101 Switching Protocols"] + ["%s: %s" % kv for kv in headers]
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")


# --- scenarios -------------------------------------------------------------------

async def s_echo(c, req):
    await c.echo(req)


async def s_close(c, req):
    code_arg = req.arg("code", "1000")
    code = 0 if code_arg == "empty" else int(code_arg)
    reason = unquote(req.raw_arg("reason", ""))
    await c.send_close(code, reason)
    if req.arg("fin") == "1":
        c.finish("drop")
        await c.fin()
        return
    await c.await_close()


async def s_raw(c, req):
    await c.send(req.raw_bytes)
    await c.echo(req)


async def s_big(c, req):
    n = req.iarg("n", req.iarg("mb", 1) * 1024 * 1024)
    size = max(1, req.iarg("frame", 65536))
    off = 0
    out = bytearray()
    while True:
        k = min(size, n - off)
        last = off + k >= n
        out += frame(OP_BINARY if off == 0 else OP_CONT, pattern(k, off), fin=last)
        off += k
        # Small frames are batched into larger writes: one write per frame
        # would make 16 MiB in 16-byte frames take seconds.
        if last or len(out) >= 256 * 1024:
            await c.send(bytes(out))
            out.clear()
        if last:
            break
    await c.echo(req)


async def s_drop(c, req):
    data = frame(OP_BINARY, pattern(req.iarg("len", 1000)))
    await c.send(data[:req.iarg("n", 10)])
    await c.drop(req.arg("rst") == "1")


async def s_silent(c, req):
    while True:
        try:
            ev = await c.next_event()
        except ProtocolError as e:
            if not c.rec.error:
                c.rec.error = e.kind
                changed()
            # The stream may be out of step now: just wait for the end.
            await c.drain_input()
            ev = None
        if ev is None:
            c.finish("eof")
            c.writer.transport.abort()
            return


def parse_script(spec):
    """The send script ?m= as a list of steps: ("bytes", data, is_close),
    ("wait",), ("eof",) or ("rst",). Raises ValueError when malformed."""
    steps = []
    for item in spec.split(",") if spec else []:
        name, _, rest = item.partition(":")
        if name == "text":
            data, is_close = frame(OP_TEXT, unquote(rest)), False
        elif name == "bin":
            data, is_close = frame(OP_BINARY, pattern(int(rest))), False
        elif name == "binhex":
            data, is_close = frame(OP_BINARY, bytes.fromhex(unquote(rest).decode("ascii"))), False
        elif name in ("text-frag", "bin-frag"):
            pieces = rest.split("|")
            data, off, is_close = bytearray(), 0, False
            for i, p in enumerate(pieces):
                if name == "text-frag":
                    payload = unquote(p)
                else:
                    payload = pattern(int(p), off)
                    off += len(payload)
                op = (OP_TEXT if name == "text-frag" else OP_BINARY) if i == 0 else OP_CONT
                data += frame(op, payload, fin=i == len(pieces) - 1)
        elif name in ("ping", "pong"):
            payload = unquote(rest)
            if len(payload) > 125:
                raise ValueError("control payload over 125 bytes (use hex:)")
            data, is_close = frame(OP_PING if name == "ping" else OP_PONG, payload), False
        elif name == "close":
            code_s, _, reason = rest.partition(":")
            code = 0 if code_s in ("", "0", "empty") else int(code_s)
            data, is_close = frame(OP_CLOSE, close_payload(code, unquote(reason))), True
        elif name == "hex":
            data, is_close = bytes.fromhex(unquote(rest).decode("ascii")), False
        elif name in ("wait", "eof", "rst"):
            steps.append((name,))
            continue
        else:
            raise ValueError("unknown send item %r" % name)
        steps.append(("bytes", bytes(data), is_close))
    return steps


async def run_script(c, steps):
    """Runs the steps of parse_script; returns "close" if it sent a close
    frame, "gone" if it closed TCP, else None."""
    out = bytearray()
    sent_close = False
    for step in steps:
        if step[0] == "bytes":
            out += step[1]
            if step[2]:
                sent_close = c.close_sent = True
            continue
        if out:
            await c.send(bytes(out))
            out.clear()
        if step[0] == "wait":
            while True:
                ev = await c.next_event()
                if ev is not None and ev[0] == "message":
                    break
                if not await c.answer(ev):
                    return "gone"
        else:
            c.finish("drop")
            if step[0] == "rst":
                await c.drop(True)
            else:
                await c.fin()
            return "gone"
    if out:
        await c.send(bytes(out))
    return "close" if sent_close else None


async def s_send(c, req):
    result = await run_script(c, req.script)
    if result == "close":
        await c.await_close()
    elif result is None:
        await c.echo(req)


SCENARIOS = {
    "echo": s_echo,
    "close": s_close,
    "send": s_send,
    "raw": s_raw,
    "big": s_big,
    "drop": s_drop,
    "silent": s_silent,
    "bad-accept": s_silent,
    "no-101-headers": s_silent,
}


# --- the server ------------------------------------------------------------------

async def converse(c, req, handler):
    try:
        await handler(c, req)
    except ProtocolError as e:
        await c.fail(e)


async def handle(reader, writer):
    c = Conn(reader, writer)
    try:
        try:
            req = await read_request(reader)
        except BadRequest as e:
            await c.http_response(400, "Bad Request", (str(e) + "\n").encode())
            return
        if req is None:
            return
        if req.scenario == "report":
            await serve_report(c, req)
            return
        if req.scenario == "no-upgrade":
            await c.http_response(200, "OK", b"not a websocket endpoint\n")
            return
        problem = handshake_problem(req)
        if problem:
            await c.http_response(400, "Bad Request", (problem + "\n").encode())
            return
        if (req.header("sec-websocket-version") or "").strip() != "13":
            await c.http_response(426, "Upgrade Required", b"version 13 only\n",
                                  [("Sec-WebSocket-Version", "13")])
            return
        handler = SCENARIOS.get(req.scenario)
        if handler is None:
            await c.http_response(404, "Not Found", b"unknown scenario\n")
            return
        try:
            # Arguments are checked before the 101, so that a mistyped test
            # gets a 400 with the reason rather than a puzzling conversation.
            early = bytes.fromhex(req.arg("early", ""))
            req.raw_bytes = bytes.fromhex(req.arg("hex", ""))
            req.script = parse_script(req.raw_arg("m", ""))
        except ValueError as e:
            await c.http_response(400, "Bad Request", ("bad argument: %s\n" % e).encode())
            return
        ident = req.arg("id")
        c.rec = Record(ident)
        c.rec.offer_proto = req.header("sec-websocket-protocol")
        c.rec.offer_ext = req.header("sec-websocket-extensions")
        if ident is not None:
            RECORDS[ident] = c.rec
            changed()
        await c.send(response_head(req, req.scenario) + early)
        c.chunk = req.iarg("chunk", 0)
        if c.chunk > 0:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await converse(c, req, handler)
    except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
        c.finish("eof")
    except asyncio.CancelledError:
        raise
    except Exception:  # a bug in a scenario: never take the server down
        c.finish("eof")
        if DEBUG:
            import traceback
            traceback.print_exc(file=sys.stderr)
    finally:
        writer.transport.abort()


async def serve(sock, ssl_ctx):
    # start_server listens before it returns.
    return await asyncio.start_server(handle, sock=sock, ssl=ssl_ctx, limit=HEAD_LIMIT)


if __name__ == "__main__":
    peer_common.run("OpenWinHTTP raw-frame WebSocket server", serve, quiet=not DEBUG)

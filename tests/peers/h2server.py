#!/usr/bin/env python3
"""OpenWinHTTP's scriptable HTTP/2 test server: a peer on loopback that
answers each request stream with the behaviour its path asks for, including
the ones a well-behaved server rarely shows (RST_STREAM, GOAWAY, stalls,
huge header blocks), for the HTTP/2 client work.

Needs python3-h2 (h2 4.x, Debian package python3-h2) besides the Python 3
standard library (asyncio; the listening sockets and the TLS context come
from peer_common.py beside it). Started as:

    h2server.py [--ipv6] [--tls-cert PEM --tls-key PEM]
                [--max-streams N] [--no-settings]

It listens on 127.0.0.1 on a port the kernel picks (and, with --ipv6, on ::1
on the same port when it can), and only then prints exactly one line to
stdout and flushes it:

    READY <port>          or    READY <port> ipv6

Nothing else is ever written to stdout. Unexpected errors go to stderr only
when H2SERVER_DEBUG is set in the environment. A client that disconnects at
any point ends its connection quietly. The server runs until killed. Without
python3-h2 it says so on stderr and exits with status 2 before READY.

Transports
==========
Without --tls-cert: cleartext HTTP/2 with prior knowledge (RFC 9113 section
3.3): the connection must start with the client connection preface. There is
no HTTP/1.1 Upgrade: a connection that starts otherwise (an HTTP/1.1
request, say) is closed without an answer. A later protocol error gets
whatever GOAWAY h2 queued for it, then the close.

With --tls-cert (--tls-key defaults to the same file): TLS offering ALPN
"h2" and "http/1.1". When the client selects "h2" the connection speaks
HTTP/2 as above. When it selects "http/1.1" or uses no ALPN, the server reads
the HTTP/1.1 request head (and its body, chunked or Content-Length) and answers

    HTTP/1.1 505 HTTP Version Not Supported    (Connection: close,
                                                body "HTTP/2 only (ALPN h2)")

then closes the connection.

Options
=======
--max-streams N   SETTINGS_MAX_CONCURRENT_STREAMS = N in the server's SETTINGS
                  (default: h2's 100). h2 enforces it: a client that opens
                  more streams gets a connection error (GOAWAY
                  PROTOCOL_ERROR), not a per-stream REFUSED_STREAM.
--no-settings     The server never sends its SETTINGS frame (the connection
                  preface goes unanswered): it reads and discards everything
                  the client sends and never writes a byte, so a client
                  waiting for the server preface must time out.

Scenarios
=========
Each request stream picks its behaviour by its :path (query values are
%-decoded; any method works; a request body is read and its flow control
acknowledged in every scenario). Generated bodies of n bytes are the pattern
"abcdefghijklmnopqrstuvwxyz" repeated and cut to n bytes (byte i is
'a' + i % 26). Every body is sent under flow control: never more than the
stream and connection windows and the peer's SETTINGS_MAX_FRAME_SIZE allow,
resuming when WINDOW_UPDATE (or a larger SETTINGS_INITIAL_WINDOW_SIZE)
arrives.

/ok?len=N           200, content-length N, N-byte pattern body (default 100;
                    0 ends the stream on the HEADERS frame).
/trailers           200 (no content-length), body "trailers body\\n", then a
                    trailer HEADERS frame "grpc-status: 0" with END_STREAM.
/rst?at=WHEN&code=N RST_STREAM with error code N (default 2, INTERNAL_ERROR).
                    at=headers (default): before any response HEADERS.
                    at=body: after HEADERS (200, content-length 100) and the
                    first 10 bytes of the pattern body.
/goaway?last=N&code=N
                    GOAWAY with last-stream-id N (default: this stream's id
                    minus 2, at least 0, so this stream was "not processed")
                    and error code N (default 0, NO_ERROR); no response on
                    this stream. Then the server stops writing, reads and
                    discards until the client closes (at most 2 s, so that the
                    GOAWAY is not lost to a TCP reset) and closes.
/refuse             RST_STREAM REFUSED_STREAM (7) before any HEADERS.
/stall              200 HEADERS with content-length 100, then nothing: no
                    body byte, no END_STREAM, ever (the client's timeout must
                    fire). The connection keeps working for other streams.
/bigheaders?n=N     200, one response header block with N extra headers
                    (default 100) "x-big-NNNNN: <89 pattern bytes>" (name
                    and value 100 bytes together), body "ok\\n". Large blocks
                    go out as HEADERS plus CONTINUATION frames (h2 splits
                    at the peer's SETTINGS_MAX_FRAME_SIZE; HPACK makes the
                    encoded block smaller than N * 100: n=400 is > 16384).
/echo               Waits for the whole request body (END_STREAM), then 200
                    with content-length and the request body back.
/conn               200, content-length, body "<conn> <stream>": <conn> is
                    the number of this connection among those the server
                    process accepted, from 1 (every accepted connection
                    counts, HTTP/2 or not; with TLS, once its handshake is
                    done), <stream> this stream's id; both
                    decimal, no newline. Tells a client which of its requests
                    shared a connection.
/barrier?n=N&ms=M   Holds the response until N streams (default 2) with path
                    /barrier are open at once on this connection (this one
                    included), then answers each of them 200, content-length,
                    body "ok". A stream still waiting after M milliseconds
                    (default 10000) gets 504 "barrier timeout\\n", so a
                    client that cannot multiplex fails instead of hanging.
                    Each stream waits for its own N.
/refuse-once        The first connection that carries a /refuse-once stream
                    refuses every /refuse-once stream it carries with
                    RST_STREAM REFUSED_STREAM (7) before any HEADERS (its
                    other streams are served as usual). On every other
                    connection: 200 with the body of /conn. A client that
                    retries a refused request on a new connection succeeds;
                    one that retries on the same connection is refused again.
/goaway-once?code=N The first connection that carries a /goaway-once stream
                    answers it like /goaway (GOAWAY with last-stream-id =
                    this stream's id minus 2 and error code N, default 0,
                    then no more writing). On every other connection: 200
                    with the body of /conn. A client that retries a request
                    the server did not process succeeds on its new
                    connection.
/duplex             Full duplex: 200 HEADERS at once (no content-length),
                    then each piece of the request body echoed as DATA as
                    soon as it arrives; END_STREAM once the request's.
/waitping?n=N&ms=M  Holds the response until the connection has received N
                    PING frames (default 2; h2 acknowledges each), then 200,
                    body "pings <count>". After M milliseconds (default
                    10000) without them: 504 "no pings\\n". For a client's
                    HTTP/2 keepalive (PINGs while a stream waits).
/auth?scheme=S      401, "www-authenticate: S" (default NTLM), body
                    "unauthorized\\n": a connection-based scheme a client must
                    answer over HTTP/1.1 (which this server refuses, 505).
anything else       404, body "not found\\n".
"""

import asyncio
import argparse
import os
import sys
import urllib.parse

import peer_common

try:
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events
    import h2.exceptions
    import h2.settings
except ImportError:  # the caller (a test) checks this first and skips
    h2 = None

DEBUG = bool(os.environ.get("H2SERVER_DEBUG"))
MAX_STREAMS = None
NO_SETTINGS = False
HEAD_LIMIT = 65536
GOAWAY_LINGER_S = 2.0

# The number of connections accepted so far, and the number of the first
# connection that carried a /refuse-once (/goaway-once) stream (0: none yet).
CONNECTIONS = 0
REFUSE_ONCE_CONN = 0
GOAWAY_ONCE_CONN = 0


def debug_exc():
    if DEBUG:
        import traceback
        traceback.print_exc(file=sys.stderr)


ALPHABET = b"abcdefghijklmnopqrstuvwxyz"


def pattern(n, start=0):
    """n bytes of the pattern, beginning at byte |start| of it."""
    start %= 26
    return (ALPHABET * ((start + n) // 26 + 1))[start:start + n]


class Stream:
    def __init__(self, sid, headers):
        self.sid = sid
        self.headers = headers
        self.body = bytearray()
        self.ended = asyncio.Event()
        self.more = asyncio.Event()  # request body bytes or its end arrived
        self.task = None


class Conn:
    """One HTTP/2 connection: a read loop feeding h2, one task per stream."""

    def __init__(self, reader, writer, number):
        self.reader = reader
        self.writer = writer
        self.number = number
        self.pings = 0             # PING frames received (not ACKs)
        self.ping_waiters = []     # futures of /waitping streams
        self.barrier_open = 0      # /barrier streams open now
        self.barrier_waiters = []  # [n, future] of the streams still held
        cfg = h2.config.H2Configuration(client_side=False, header_encoding=None)
        self.h2 = h2.connection.H2Connection(config=cfg)
        if MAX_STREAMS is not None:
            self.h2.local_settings = h2.settings.Settings(
                client=False,
                initial_values={
                    h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: MAX_STREAMS,
                    h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: 2 ** 16,
                })
        self.streams = {}
        self.window_waiters = []
        self.closing = False
        self.goaway_sent = False

    # -- output ----------------------------------------------------------
    def flush(self):
        data = self.h2.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)

    async def flush_drain(self):
        self.flush()
        try:
            await self.writer.drain()
        except (ConnectionError, OSError):
            self.closing = True
            raise

    def window_changed(self):
        waiters, self.window_waiters = self.window_waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    async def wait_window(self):
        w = asyncio.get_running_loop().create_future()
        self.window_waiters.append(w)
        await w

    async def send_body(self, sid, data, end_stream=True):
        """Sends |data| on |sid| under flow control; ends the stream when
        |end_stream|. Returns when all is sent (raises StreamClosedError /
        ProtocolError when the stream or connection went away)."""
        off = 0
        total = len(data)
        while off < total:
            if self.closing or self.goaway_sent:
                raise ConnectionError("connection closing")
            window = self.h2.local_flow_control_window(sid)
            n = min(window, self.h2.max_outbound_frame_size, total - off)
            if n <= 0:
                await self.wait_window()
                continue
            last = off + n == total
            self.h2.send_data(sid, bytes(data[off:off + n]), end_stream=end_stream and last)
            off += n
            await self.flush_drain()
        if total == 0 and end_stream:
            self.h2.end_stream(sid)
            await self.flush_drain()

    async def respond(self, sid, status, body, extra=(), content_length=True):
        hdrs = [(b":status", str(status).encode())]
        if content_length:
            hdrs.append((b"content-length", str(len(body)).encode()))
        hdrs.extend(extra)
        self.h2.send_headers(sid, hdrs, end_stream=not body)
        await self.flush_drain()
        if body:
            await self.send_body(sid, body)

    # -- scenarios -------------------------------------------------------
    async def run_stream(self, st):
        try:
            await self.scenario(st)
        except asyncio.CancelledError:
            pass
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError,
                ConnectionError, OSError):
            pass  # the client reset the stream or went away
        except Exception:  # a bug in a scenario: never take the server down
            debug_exc()
        finally:
            self.streams.pop(st.sid, None)

    async def scenario(self, st):
        global REFUSE_ONCE_CONN, GOAWAY_ONCE_CONN
        hdrs = dict(st.headers)
        target = hdrs.get(b":path", b"/").decode("latin-1")
        url = urllib.parse.urlsplit(target)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}

        def iarg(name, default):
            try:
                return int(q.get(name, default))
            except ValueError:
                return default

        sid = st.sid
        path = url.path
        if path == "/ok":
            await self.respond(sid, 200, pattern(max(0, iarg("len", 100))),
                               extra=[(b"content-type", b"text/plain")])
        elif path == "/trailers":
            self.h2.send_headers(sid, [(b":status", b"200"), (b"content-type", b"text/plain")])
            await self.flush_drain()
            await self.send_body(sid, b"trailers body\n", end_stream=False)
            self.h2.send_headers(sid, [(b"grpc-status", b"0")], end_stream=True)
            await self.flush_drain()
        elif path == "/rst":
            code = iarg("code", 2)
            if q.get("at", "headers") == "body":
                self.h2.send_headers(sid, [(b":status", b"200"), (b"content-length", b"100")])
                await self.flush_drain()
                await self.send_body(sid, pattern(10), end_stream=False)
            self.h2.reset_stream(sid, error_code=code)
            await self.flush_drain()
        elif path == "/goaway":
            await self.goaway(iarg("last", max(0, sid - 2)), iarg("code", 0))
        elif path == "/refuse":
            self.h2.reset_stream(sid, error_code=h2.errors.ErrorCodes.REFUSED_STREAM)
            await self.flush_drain()
        elif path == "/stall":
            self.h2.send_headers(sid, [(b":status", b"200"), (b"content-length", b"100")])
            await self.flush_drain()
            await asyncio.Event().wait()  # until the stream or connection ends
        elif path == "/bigheaders":
            n = max(0, iarg("n", 100))
            extra = []
            for i in range(n):
                name = b"x-big-%05d" % i
                extra.append((name, pattern(100 - len(name), i)))
            await self.respond(sid, 200, b"ok\n", extra=extra)
        elif path == "/echo":
            await st.ended.wait()
            await self.respond(sid, 200, bytes(st.body))
        elif path == "/conn":
            await self.respond(sid, 200, self.conn_body(sid))
        elif path == "/barrier":
            await self.barrier(sid, max(1, iarg("n", 2)), max(0, iarg("ms", 10000)) / 1000.0)
        elif path == "/duplex":
            # Full duplex: 200 at once, then each piece of the request body
            # back as soon as it arrives; the response ends with the request.
            self.h2.send_headers(sid, [(b":status", b"200")])
            await self.flush_drain()
            sent = 0
            while True:
                st.more.clear()
                if len(st.body) > sent:
                    piece = bytes(st.body[sent:])
                    sent += len(piece)
                    await self.send_body(sid, piece, end_stream=False)
                    continue
                if st.ended.is_set():
                    break
                await st.more.wait()
            self.h2.end_stream(sid)
            await self.flush_drain()
        elif path == "/waitping":
            n, timeout = iarg("n", 2), max(0, iarg("ms", 10000)) / 1000.0
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while self.pings < n and loop.time() < deadline:
                fut = loop.create_future()
                self.ping_waiters.append(fut)
                try:
                    await asyncio.wait_for(fut, deadline - loop.time())
                except asyncio.TimeoutError:
                    break
            if self.pings >= n:
                await self.respond(sid, 200, b"pings %d" % self.pings)
            else:
                await self.respond(sid, 504, b"no pings\n")
        elif path == "/refuse-once":
            if REFUSE_ONCE_CONN == 0:
                REFUSE_ONCE_CONN = self.number
            if REFUSE_ONCE_CONN == self.number:
                self.h2.reset_stream(sid, error_code=h2.errors.ErrorCodes.REFUSED_STREAM)
                await self.flush_drain()
            else:
                await self.respond(sid, 200, self.conn_body(sid))
        elif path == "/goaway-once":
            if GOAWAY_ONCE_CONN == 0:
                GOAWAY_ONCE_CONN = self.number
            if GOAWAY_ONCE_CONN == self.number:
                await self.goaway(max(0, sid - 2), iarg("code", 0))
            else:
                await self.respond(sid, 200, self.conn_body(sid))
        elif path == "/auth":
            scheme = q.get("scheme", "NTLM").encode("latin-1")
            await self.respond(sid, 401, b"unauthorized\n",
                               extra=[(b"www-authenticate", scheme),
                                      (b"content-type", b"text/plain")])
        else:
            await self.respond(sid, 404, b"not found\n", extra=[(b"content-type", b"text/plain")])

    def conn_body(self, sid):
        return b"%d %d" % (self.number, sid)

    async def goaway(self, last, code):
        self.h2.close_connection(error_code=code, last_stream_id=last)
        await self.flush_drain()
        # Stop writing; the read loop discards what still comes (so that
        # our close is a FIN, not a reset that could destroy the GOAWAY)
        # until the client closes, or closes itself after the linger.
        self.goaway_sent = True
        if self.writer.can_write_eof():
            self.writer.write_eof()
        asyncio.get_running_loop().call_later(GOAWAY_LINGER_S, self.writer.close)
        self.window_changed()

    async def barrier(self, sid, n, timeout):
        """/barrier?n=N: 200 "ok" once N /barrier streams are open at once
        on this connection, 504 after |timeout| seconds."""
        self.barrier_open += 1
        entry = None
        try:
            # Release every held stream whose count is now reached: each is
            # released once, so it answers even if others finish first.
            for w in list(self.barrier_waiters):
                if self.barrier_open >= w[0]:
                    self.barrier_waiters.remove(w)
                    if not w[1].done():
                        w[1].set_result(None)
            released = self.barrier_open >= n
            if not released:
                entry = [n, asyncio.get_running_loop().create_future()]
                self.barrier_waiters.append(entry)
                try:
                    await asyncio.wait_for(entry[1], timeout)
                    released = True
                except asyncio.TimeoutError:
                    released = False
            if released:
                await self.respond(sid, 200, b"ok")
            else:
                await self.respond(sid, 504, b"barrier timeout\n")
        finally:
            self.barrier_open -= 1
            if entry is not None and entry in self.barrier_waiters:
                self.barrier_waiters.remove(entry)

    # -- the read loop ---------------------------------------------------
    async def serve(self):
        self.h2.initiate_connection()
        self.flush()
        while True:
            data = await self.reader.read(65536)
            if not data:
                break
            if self.goaway_sent:
                continue
            if self.closing:
                break
            try:
                events = self.h2.receive_data(data)
            except h2.exceptions.ProtocolError:
                self.flush()  # the GOAWAY h2 queued, if any
                break
            for ev in events:
                self.handle_event(ev)
            self.flush()

    def handle_event(self, ev):
        if isinstance(ev, h2.events.RequestReceived):
            st = Stream(ev.stream_id, ev.headers)
            self.streams[ev.stream_id] = st
            if ev.stream_ended is not None:
                st.ended.set()
            st.task = asyncio.get_running_loop().create_task(self.run_stream(st))
        elif isinstance(ev, h2.events.DataReceived):
            st = self.streams.get(ev.stream_id)
            if st is not None:
                st.body += ev.data
                st.more.set()
            try:
                self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                pass
        elif isinstance(ev, h2.events.StreamEnded):
            st = self.streams.get(ev.stream_id)
            if st is not None:
                st.ended.set()
                st.more.set()
        elif isinstance(ev, h2.events.StreamReset):
            st = self.streams.get(ev.stream_id)
            if st is not None and st.task is not None:
                st.task.cancel()
            self.window_changed()
        elif isinstance(ev, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
            self.window_changed()
        elif isinstance(ev, h2.events.PingReceived):
            self.pings += 1
            waiters, self.ping_waiters = self.ping_waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.closing = True
            self.window_changed()

    def shutdown(self):
        self.closing = True
        self.window_changed()
        for st in list(self.streams.values()):
            if st.task is not None:
                st.task.cancel()


async def http1_505(reader, writer):
    """The answer to a TLS client that did not select "h2"."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
        # The request's body is read first: answering and closing while the
        # client still writes it would fail its writes (a race the client's
        # tests cannot control). Chunked: up to the last chunk (no
        # trailers); else Content-Length bytes.
        fields = head.lower()
        if b"\r\ntransfer-encoding: chunked" in fields:
            seen = b"\r\n"  # the head's end: a first chunk of size 0 follows it too
            while not seen.endswith(b"\r\n0\r\n\r\n"):
                more = await asyncio.wait_for(reader.read(4096), 5.0)
                if not more:
                    break
                seen = seen[-16:] + more
        else:
            for line in fields.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    await asyncio.wait_for(reader.readexactly(int(line[15:].strip())), 5.0)
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
            ValueError):
        pass
    body = b"HTTP/2 only (ALPN h2)\n"
    writer.write(b"HTTP/1.1 505 HTTP Version Not Supported\r\n"
                 b"Content-Type: text/plain\r\n"
                 b"Content-Length: %d\r\n"
                 b"Connection: close\r\n\r\n" % len(body) + body)
    await writer.drain()


async def handle(reader, writer):
    global CONNECTIONS
    CONNECTIONS += 1
    number = CONNECTIONS
    conn = None
    try:
        if NO_SETTINGS:
            while await reader.read(65536):
                pass
            return
        ssl_obj = writer.get_extra_info("ssl_object")
        if ssl_obj is not None and ssl_obj.selected_alpn_protocol() != "h2":
            await http1_505(reader, writer)
            return
        conn = Conn(reader, writer, number)
        await conn.serve()
        if not writer.is_closing():
            await writer.drain()
    except (ConnectionError, OSError, asyncio.IncompleteReadError):
        pass
    except asyncio.CancelledError:
        raise
    except Exception:  # never take the server down
        debug_exc()
    finally:
        if conn is not None:
            conn.shutdown()
        writer.close()


async def serve(sock, ssl_ctx):
    return await asyncio.start_server(handle, sock=sock, ssl=ssl_ctx, limit=HEAD_LIMIT)


def main():
    global MAX_STREAMS, NO_SETTINGS
    ap = argparse.ArgumentParser(description="OpenWinHTTP scriptable HTTP/2 server")
    ap.add_argument("--ipv6", action="store_true", help="also listen on ::1")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--max-streams", type=int, help="SETTINGS_MAX_CONCURRENT_STREAMS")
    ap.add_argument("--no-settings", action="store_true",
                    help="never send the server's SETTINGS (nor anything else)")
    args = ap.parse_args(sys.argv[1:])
    if h2 is None:
        sys.stderr.write("h2server.py: python3-h2 (the h2 module) is not installed\n")
        sys.exit(2)
    MAX_STREAMS = args.max_streams
    NO_SETTINGS = args.no_settings

    async def run():
        if not DEBUG:
            asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: None)
        ctx = peer_common.tls_context(args.tls_cert, args.tls_key)
        if ctx is not None:
            ctx.set_alpn_protocols(["h2", "http/1.1"])
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

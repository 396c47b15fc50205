"""What OpenWinHTTP's Python test peers (faultserver.py, wsserver.py,
ws_echo_websockets.py) share: the command line, the listening sockets, the
TLS context, the readiness line and the wait for a /report to be ready.

tests/support/peers.c starts each peer as `python3 tests/peers/<script>` and
reads one line from its stdout, so every peer must keep the same contract:

    <script> [--ipv6] [--tls-cert PEM --tls-key PEM]

listen on 127.0.0.1 on a port the kernel picks (and, with --ipv6, on ::1 on
the same port when it can), and only then print exactly one line and flush:

    READY <port>          or    READY <port> ipv6

then run until killed. Python 3 standard library only: faultserver.py and
wsserver.py must run wherever python3 does.
"""

import argparse
import asyncio
import base64
import os
import socket
import struct
import sys
import time


def listen_sockets(want_ipv6):
    """Bound, not yet listening, sockets: 127.0.0.1 on a port the kernel
    picks, and ::1 on that same port when |want_ipv6| and the host allows it
    (no IPv6, or the port taken on ::1, is not an error: the peer then says
    READY without "ipv6" and the tests that need it skip)."""
    s4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s4.bind(("127.0.0.1", 0))
    port = s4.getsockname()[1]
    socks = [s4]
    if want_ipv6 and socket.has_ipv6:
        s6 = None
        try:
            s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            # ::1 only, so that the IPv4 socket above keeps IPv4 to itself.
            s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s6.bind(("::1", port))
            socks.append(s6)
        except OSError:
            if s6 is not None:
                s6.close()
    return port, socks


def tls_context(cert, key):
    """A server TLS context for |cert| (PEM; |key| defaults to the same
    file), or None for plain TCP when there is no |cert|."""
    if not cert:
        return None
    import ssl  # only TLS runs need it
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key or cert)
    return ctx


def _quiet_exception_handler(loop, context):
    """Drops what asyncio would log about a transport or callback that
    failed: a peer whose client vanished mid-write must not fill stderr."""


def run(description, serve, quiet=False):
    """Parses the command line, listens, prints the READY line and serves
    until killed. |serve| is a coroutine function called once per listening
    socket as serve(sock, ssl_context_or_None); it must be listening when it
    returns, since READY promises that connections are accepted, and what it
    returns (the server object) is kept for as long as the peer runs. |quiet|
    silences asyncio's own error log (see _quiet_exception_handler)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--ipv6", action="store_true", help="also listen on ::1")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args(sys.argv[1:])

    async def main():
        if quiet:
            asyncio.get_running_loop().set_exception_handler(_quiet_exception_handler)
        ctx = tls_context(args.tls_cert, args.tls_key)
        port, socks = listen_sockets(args.ipv6)
        servers = []  # held while the peer runs
        for s in socks:
            servers.append(await serve(s, ctx))
        sys.stdout.write("READY %d%s\n" % (port, " ipv6" if len(socks) > 1 else ""))
        sys.stdout.flush()
        await asyncio.Event().wait()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


class Changes:
    """Lets /report handlers wait until what they report on is ready: the
    code that changes the records calls notify(), and each waiter checks its
    own condition again. Single-threaded (one asyncio loop), so no lock."""

    def __init__(self):
        self._waiters = []

    def notify(self):
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    async def wait_until(self, ready, ms):
        """Waits until ready() is true, checking it after every notify(), for
        at most |ms| milliseconds. True when ready() was, False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ms / 1000.0
        while not ready():
            left = deadline - loop.time()
            if left <= 0:
                return False
            w = loop.create_future()
            self._waiters.append(w)
            try:
                await asyncio.wait_for(w, left)
            except asyncio.TimeoutError:
                pass
        return True


def ntlm_challenge():
    """An NTLM challenge message (MS-NLMP 2.2.1.2) with target information,
    which NTLMv2 needs: domain WINHTTP, server FAULT, a timestamp."""
    def av(kind, value):
        return struct.pack("<HH", kind, len(value)) + value
    target = "WINHTTP".encode("utf-16-le")
    info = (av(2, target) + av(1, "FAULT".encode("utf-16-le")) +
            av(7, struct.pack("<Q", int((time.time() + 11644473600) * 10000000))) + av(0, b""))
    flags = (0x00000001 | 0x00000004 | 0x00000200 | 0x00008000 | 0x00010000 |
             0x00080000 | 0x00800000 | 0x02000000 | 0x20000000 | 0x80000000)
    base = 56
    msg = (b"NTLMSSP\0" + struct.pack("<I", 2) +
           struct.pack("<HHI", len(target), len(target), base) +
           struct.pack("<I", flags) + os.urandom(8) + b"\0" * 8 +
           struct.pack("<HHI", len(info), len(info), base + len(target)) +
           bytes([6, 1, 0xb1, 0x1d, 0, 0, 0, 15]) + target + info)
    return base64.b64encode(msg).decode()


def ntlm_message_type(value):
    """The NTLM message type (1, 2, 3) of an "NTLM <base64>" credentials value;
    0 when the value is not one, -1 when its token is not base64."""
    if not value.startswith("NTLM "):
        return 0
    try:
        raw = base64.b64decode(value[5:], validate=True)
    except ValueError:
        return -1
    if raw[:8] != b"NTLMSSP\0" or len(raw) < 12:
        return 0
    return struct.unpack("<I", raw[8:12])[0]

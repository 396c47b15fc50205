#!/usr/bin/env python3
"""A server that answers slowly, for bench/bench_scale.c (issue 4 §4).

Every GET is held, unanswered, until a GET /release arrives; then every
held request gets its answer (200, Content-Length: 100, Connection: close)
and /release itself gets "released N". A GET /keep is held the same way,
but its answer keeps the connection open (no Connection: close), until
the client closes it: bench_scale --idle pools them. So a client can put N requests in
flight, measure itself while all of them wait, and then let them finish,
with no timing guess on either side.

    slowserver.py [--port P]     prints "PORT <n>" once listening

asyncio, one process, no thread per connection: ten thousand held
connections cost the server little. Raises its descriptor limit to the
hard limit. Never used by ctest."""
import argparse
import asyncio
import resource
import sys

BODY = b"x" * 99 + b"\n"
ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(BODY)) + BODY
KEEP = (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY)) + BODY


class State:
    def __init__(self):
        self.release = asyncio.Event()
        self.held = 0


async def handle(state, reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        writer.close()
        return
    target = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/"
    if target == b"/release":
        n = state.held
        event, state.release = state.release, asyncio.Event()
        state.held = 0
        event.set()
        text = b"released %d\n" % n
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                     % (len(text), text))
    else:
        state.held += 1
        await state.release.wait()
        keep = target == b"/keep"
        writer.write(KEEP if keep else ANSWER)
        if keep:
            try:
                await writer.drain()
                await reader.read()  # until the client closes it
            except ConnectionError:
                pass
    try:
        await writer.drain()
    except ConnectionError:
        pass
    writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    state = State()
    server = await asyncio.start_server(lambda r, w: handle(state, r, w), "127.0.0.1", a.port,
                                        backlog=4096)
    print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)

#!/usr/bin/env python3
"""Turns bench/run.sh's result lines into docs/PERFORMANCE.md.

Each result line is "result key=value ..." with mode, scheme, client, value,
unit and run, and from bench/measure.py the steal time of both CPUs and
nginx's own request count. rounds.py leaves out the rounds spoiled by steal
time; the medians of the rest per (mode, scheme, client) give the ratios
WinHTTP / libcurl and WinHTTP / limit (limits.py), checked against issue 12
§1's bars. Everything in the existing file from the ANALYSIS marker on is
hand-written and kept as it is, so that a new run does not wipe the profile
notes."""
import argparse
import os
import statistics
import sys

import limits
import rounds

ANALYSIS = "<!-- analysis: hand-written below this line; bench/run.sh keeps it -->"


def parse_scale(path, kind="scale"):
    """count -> list of dicts, one per |kind| line of bench_scale ("scale",
    or "idle" for --idle)."""
    scale = {}
    for line in open(path, encoding="utf-8"):
        words = line.split()
        if not words or words[0] != kind:
            continue
        kv = dict(w.split("=", 1) for w in words[1:])
        scale.setdefault(int(kv["count"]), []).append(kv)
    return scale


IDLE_BYTES_BAR = 4 * 1024


def idle_section(w, idle):
    if not idle:
        return
    w("### Idle keep-alive connections in the pool")
    w("")
    w("`bench_scale --idle`: the N requests go to `/keep`, which the server answers")
    w("keeping the connection open; once all are done and every request handle")
    w("closed (HANDLE_CLOSING seen for each), the N connections sit idle in")
    w("WinHTTP's process-wide pool (the sockets the process holds are counted, and")
    w("must be at least N). Per connection: heap bytes in use (`mallinfo2`) and")
    w("resident memory after `malloc_trim`, each against the same reading before")
    w("the N requests, / N; the kernel's socket memory is in neither. Bar: ≤ 4 KiB")
    w("per idle connection. Medians of the runs.")
    w("")
    w("| idle connections | sockets held | heap per connection | RSS per connection | "
      "threads | result |")
    w("|---:|---:|---:|---:|---:|---|")
    for count in sorted(idle):
        rows = idle[count]
        med = lambda k: statistics.median(float(r[k]) for r in rows)
        heap = med("heap_bytes_per_connection")
        rss = med("rss_bytes_per_connection")
        ok = max(heap, rss) <= IDLE_BYTES_BAR
        w(f"| {count:,} | {min(int(r['sockets']) for r in rows):,} | {heap / 1024:.2f} KiB "
          f"| {rss / 1024:.2f} KiB | {max(int(r['threads']) for r in rows)} "
          f"| {'**pass**' if ok else '**miss**'} |")
    w("")


SCALE_BYTES_BAR = 16 * 1024


def scale_section(w, scale):
    if not scale:
        return
    w("## Scale: requests held in flight")
    w("")
    w("`bench/bench_scale.c` against `bench/slowserver.py` (asyncio, pinned to the")
    w("server core), which holds every request until told to answer: N requests")
    w("opened and sent through one async session, each waiting in")
    w("`WinHttpReceiveResponse`; once all N wait, the client reads its resident")
    w("memory and thread count (`/proc/self/status`), then has the server answer")
    w("them all and checks each response (status 200, 100 bytes). Memory per")
    w("request = (RSS with N waiting − RSS before) / N, the application's own")
    w("~150 bytes per request included. Bars: threads ≤ cores + 2, ≤ 16 KiB per")
    w("request. Medians of the runs.")
    w("")
    w("| requests in flight | RSS before | RSS with all waiting | per request | threads | "
      "time to put all in flight | all done | result |")
    w("|---:|---:|---:|---:|---:|---:|---:|---|")
    for count in sorted(scale):
        rows = scale[count]
        med = lambda k: statistics.median(float(r[k]) for r in rows)
        cores = int(rows[0]["cores"])
        threads = max(int(r["threads_peak"]) for r in rows)
        per = med("bytes_per_request")
        ok = threads <= cores + 2 and per <= SCALE_BYTES_BAR
        w(f"| {count:,} | {med('rss_base_kib') / 1024:.1f} MiB | {med('rss_peak_kib') / 1024:.1f} MiB "
          f"| {per / 1024:.1f} KiB | {threads} (cores {cores}) | {med('seconds_in_flight'):.2f} s "
          f"| {med('seconds_total'):.2f} s | {'**pass**' if ok else '**miss**'} |")
    w("")


def parse_wsidle(path):
    """count -> list of dicts, one per "wsidle" line (bench_ws --mode idle)."""
    idle = {}
    for line in open(path, encoding="utf-8"):
        words = line.split()
        if not words or words[0] != "wsidle":
            continue
        kv = dict(w.split("=", 1) for w in words[1:])
        idle.setdefault(int(kv["count"]), []).append(kv)
    return idle


# (mode, what, ratio bar against libwebsockets' client, absolute bar or None)
WS_BARS = [
    ("ws-small", "100 B text echo, 64 WebSockets, msg/s", 1.0, None),
    ("ws-large", "1 MiB binary echo, one WebSocket, MB/s", 1.0, 1000.0),
]
WS_IDLE_BYTES_BAR = 16 * 1024


def ws_section(w, runs, cpu, idle, busy, count):
    """The WebSocket tables (issue 7 §5); returns [(what, ok)]."""
    if not any((m, "ws") in count for m, _, _, _ in WS_BARS) and not idle:
        return []
    verdicts = []
    w("## WebSocket")
    w("")
    w("`bench/bench_ws.c` against `bench/ws_echo_server.c` (libwebsockets, one")
    w("thread, pinned to the server core like nginx), which echoes every")
    w("message whole, as one frame of the same type. Both clients in one")
    w("binary, the same receive and send buffer size (32 KiB, WinHTTP's")
    w("default), every echo checked (type, length, every byte; a sequence")
    w("number stamped at both ends of each message):")
    w("")
    w("- **WinHTTP**: one `WINHTTP_FLAG_ASYNC` session; each WebSocket keeps")
    w("  one message in flight, its completion callbacks (`WRITE_COMPLETE`,")
    w("  `READ_COMPLETE`) posting the next `WinHttpWebSocketReceive` and")
    w("  `WinHttpWebSocketSend`. **WinHTTP sync** (reference, no bar): a")
    w("  synchronous session and a thread per WebSocket.")
    w("- **libwebsockets**: its own client (the limit peer), one context")
    w("  serviced on one thread, a write on each `CLIENT_WRITEABLE`, the echo")
    w("  checked in `CLIENT_RECEIVE`. lws masks a frame in place in the")
    w("  caller's buffer, so each send first copies the message (counted).")
    w("")
    w("Messages/s and MB/s (10^6 bytes of payload echoed, each message")
    w("counted once; the client masks everything it sends) over the run's")
    w("wall-clock time, from the moment every WebSocket is open. Bars:")
    w("≥ 1.0× libwebsockets' client in both, and 1 MiB messages at")
    w("≥ 1,000 MB/s.")
    w("")
    w("| what | WinHTTP (median) | libwebsockets client (median) | ratio | bar | result | WinHTTP sync (median) | rounds kept / dropped |")
    w("|------|-----------------:|------------------------------:|------:|----:|--------|----------------------:|------:|")
    for mode, what, bar, floor in WS_BARS:
        wh = runs.get((mode, "ws", "winhttp"))
        lw = runs.get((mode, "ws", "lws"))
        sy = runs.get((mode, "ws", "winhttp-sync"))
        unit = "MB/s" if mode == "ws-large" else "msg/s"
        sync = f"{fmt(statistics.median(sy))} {unit}" if sy else "—"
        bar_text = f"≥ {bar}×" + (f", ≥ {floor:,.0f} {unit}" if floor else "")
        if not wh or not lw:
            w(f"| {what} | — | — | — | {bar_text} | not run | {sync} | "
              f"{rounds.rounds_text(count, mode, 'ws')} |")
            continue
        mw, ml = statistics.median(wh), statistics.median(lw)
        ok = mw / ml >= bar and (floor is None or mw >= floor)
        verdicts.append((what, ok))
        w(f"| {what} | {fmt(mw)} {unit} | {fmt(ml)} {unit} | {mw / ml:.2f}× | {bar_text} | "
          f"{'**pass**' if ok else '**miss**'} | {sync} | {rounds.rounds_text(count, mode, 'ws')} |")
    w("")
    w("Per second of the client's own CPU time (`CLOCK_PROCESS_CPUTIME_ID`, all")
    w("threads, over the same interval); not a bar. The last column is the")
    w("echo server's share of its core during the runs (`/proc/PID/stat`,")
    w("medians): near 100 %, the wall-clock rate is the server's.")
    w("")
    w("| what | WinHTTP per CPU-s | libwebsockets per CPU-s | ratio | WinHTTP sync per CPU-s | server core busy (WinHTTP / lws / sync runs) |")
    w("|------|------------------:|------------------------:|------:|-----------------------:|------:|")
    for mode, what, _, _ in WS_BARS:
        wh = cpu.get((mode, "ws", "winhttp"))
        lw = cpu.get((mode, "ws", "lws"))
        sy = cpu.get((mode, "ws", "winhttp-sync"))
        if not wh or not lw:
            continue
        unit = "MB" if mode == "ws-large" else "msg"
        mw, ml = statistics.median(wh), statistics.median(lw)
        sync = f"{fmt(statistics.median(sy))} {unit}" if sy else "—"
        b = [busy.get((mode, "ws", k)) for k in ("winhttp", "lws", "winhttp-sync")]
        busy_text = " / ".join(f"{100 * statistics.median(x):.0f} %" if x else "—" for x in b)
        w(f"| {what} | {fmt(mw)} {unit} | {fmt(ml)} {unit} | {mw / ml:.2f}× | {sync} | {busy_text} |")
    w("")
    if idle:
        w("Idle WebSockets: N opened through one async session (256 upgrades in")
        w("flight at a time), each waiting in `WinHttpWebSocketReceive` on a")
        w("server that sends nothing; once all N wait (and the resident size has")
        w("held still for 60 ms), resident memory, threads and descriptors are")
        w("read from `/proc/self`; then every handle is closed and each pending")
        w("receive must end with `ERROR_WINHTTP_OPERATION_CANCELLED`. Per")
        w("WebSocket = (RSS with N waiting − RSS before) / N, the application's")
        w("own ~100 bytes each included. Bars: ≤ 16 KiB each, threads ≤ cores + 2.")
        limits = sorted({int(r["fd_limit"]) for rows in idle.values() for r in rows})
        w("Descriptor limit of the client (raised as far as it may): "
          + ", ".join(f"{n:,}" for n in limits) + ".")
        w("")
        w("| WebSockets | RSS before | RSS with all waiting | per WebSocket | threads | descriptors each | time to open all | result |")
        w("|---:|---:|---:|---:|---:|---:|---:|---|")
        for count in sorted(idle):
            rows = idle[count]
            done = [r for r in rows if "error" not in r]
            if not done:
                # Not all could be opened: what those that were cost, and why.
                med = lambda k: statistics.median(float(r[k]) for r in rows)
                r = rows[0]
                limit = int(r["fd_limit"])
                opened = int(med("opened"))
                fds = (limit - int(r["fds_base"])) / max(opened, 1)
                threads = max(int(x["threads_peak"]) for x in rows)
                w(f"| {count:,} | {med('rss_base_kib') / 1024:.1f} MiB | {med('rss_peak_kib') / 1024:.1f} MiB "
                  f"| {med('bytes_per_ws') / 1024:.1f} KiB | {threads} (cores {r['cores']}) "
                  f"| ≈ {fds:.1f} | — | **miss**: {opened:,} opened, then error {r['error']} "
                  f"(descriptor limit {limit:,}) |")
                verdicts.append((f"{count:,} idle WebSockets", False))
                continue
            med = lambda k: statistics.median(float(r[k]) for r in done)
            cores = int(done[0]["cores"])
            threads = max(int(r["threads_peak"]) for r in done)
            per = med("bytes_per_ws")
            ok = threads <= cores + 2 and per <= WS_IDLE_BYTES_BAR
            verdicts.append((f"{count:,} idle WebSockets", ok))
            note = "" if len(done) == len(rows) else f" ({len(rows) - len(done)} runs failed)"
            w(f"| {count:,} | {med('rss_base_kib') / 1024:.1f} MiB | {med('rss_peak_kib') / 1024:.1f} MiB "
              f"| {per / 1024:.1f} KiB | {threads} (cores {cores}) | {med('fds_per_ws'):.2f} "
              f"| {med('seconds_open'):.2f} s | {'**pass**' if ok else '**miss**'}{note} |")
        w("")
    return verdicts


def threads_section(w, runs, cpu, count):
    """Issue 8 §4: N synchronous threads, HTTP/2 against HTTP/1.1; returns [(what, ok)]."""
    modes = sorted({m for (m, s, c) in runs if m.startswith("threads")}
                   | {m for (m, s) in count if m.startswith("threads")})
    if not modes:
        return []
    verdicts = []
    w("## Synchronous threads: HTTP/2 against HTTP/1.1")
    w("")
    w("`bench/bench_threads.c`: N threads of synchronous GETs of the 100-byte file")
    w("sharing one WinHTTP session and connect handle, on nginx's HTTP/2 port:")
    w("with `ENABLE_HTTP_PROTOCOL` every request is a stream of one shared")
    w("connection (the threads take turns reading it); without, each thread")
    w("has its own kept-alive HTTP/1.1 connection. Bar: HTTP/2 not slower than")
    w("HTTP/1.1, wall-clock. For reference, the limit tool the same two ways:")
    w("`h2load -c 1 -m N` (one connection, N streams) and `h2load --h1 -c N`.")
    w("")
    w("| what | WinHTTP HTTP/2 | WinHTTP HTTP/1.1 | HTTP/2 / HTTP/1.1 | bar | result | h2load HTTP/2 | h2load HTTP/1.1 | h2load's HTTP/2 / HTTP/1.1 | rounds kept / dropped |")
    w("|------|---------------:|-----------------:|------------------:|----:|--------|--------------:|----------------:|---------------------------:|------:|")
    for mode in modes:
        n = mode[len("threads"):]
        xs = [runs.get((mode, "https", c)) for c in ("winhttp-h2", "winhttp-h1", "h2load-h2", "h2load-h1")]
        what = f"{n} threads, 100 B, req/s, HTTPS"
        if not xs[0] or not xs[1]:
            w(f"| {what} | — | — | — | ≥ 1.0× | not run | — | — | — | "
              f"{rounds.rounds_text(count, mode, 'https')} |")
            continue
        m = [statistics.median(x) if x else None for x in xs]
        ok = m[0] / m[1] >= 1.0
        verdicts.append((f"HTTP/2 {what} vs HTTP/1.1", ok))
        ref = (f"{fmt(m[2])} | {fmt(m[3])} | {m[2] / m[3]:.2f}×" if m[2] and m[3] else "— | — | —")
        w(f"| {what} | {fmt(m[0])} | {fmt(m[1])} | {m[0] / m[1]:.2f}× | ≥ 1.0× | "
          f"{'**pass**' if ok else '**miss**'} | {ref} | {rounds.rounds_text(count, mode, 'https')} |")
    w("")
    w("Per second of each client's own CPU time (not a bar):")
    w("")
    w("| what | WinHTTP HTTP/2 | WinHTTP HTTP/1.1 | ratio | h2load HTTP/2 | h2load HTTP/1.1 |")
    w("|------|---------------:|-----------------:|------:|--------------:|----------------:|")
    for mode in modes:
        xs = [cpu.get((mode, "https", c)) for c in ("winhttp-h2", "winhttp-h1", "h2load-h2", "h2load-h1")]
        if not xs[0] or not xs[1]:
            continue
        m = [statistics.median(x) if x else None for x in xs]
        w(f"| {mode[len('threads'):]} threads | {fmt(m[0])} req | {fmt(m[1])} req | {m[0] / m[1]:.2f}× | "
          f"{fmt(m[2]) + ' req' if m[2] else '—'} | {fmt(m[3]) + ' req' if m[3] else '—'} |")
    w("")
    return verdicts


def cpu_split_section(w, recs):
    """Sequential GET: each client's CPU time per request, user and system
    (bench_sync and bench_raw report both), and what the per CPU-second bar
    leaves for user space. A ping-pong over loopback costs the kernel about
    the same for every client; what a library can change is its own part."""
    per = {}
    for r in recs:
        if r["dropped"] or r["mode"] != "get" or "user_seconds" not in r:
            continue
        n = int(r["requests"])
        if n <= 0:
            continue
        cpu, user = float(r["cpu_seconds"]), float(r["user_seconds"])
        per.setdefault((r["scheme"], r["client"]), []).append(
            (user / n * 1e6, max(cpu - user, 0.0) / n * 1e6))
    if not per:
        return
    w("### Sequential GET: where each client's CPU time goes")
    w("")
    w("Microseconds of the client's CPU time per request, split into user space")
    w("(the library, OpenSSL, the allocator) and the kernel (`getrusage` over the")
    w("timed loop; medians of the kept rounds). The last column is what the bar")
    w("of 1.5× libcurl's requests per CPU-second allows a request in all, and")
    w("what that leaves for user space once the kernel has taken what it takes")
    w("for the limit client's two system calls:")
    w("")
    w("| scheme | client | user µs | system µs | total µs | per CPU-second vs libcurl | bar's budget: total / left for user space |")
    w("|--------|--------|--------:|----------:|---------:|--------------------------:|------------------------------------------:|")
    for scheme in ("http", "https"):
        med = {}
        for client in ("winhttp", "curl", "raw"):
            xs = per.get((scheme, client))
            if xs:
                med[client] = (statistics.median(u for u, _ in xs), statistics.median(k for _, k in xs))
        if "curl" not in med:
            continue
        curl_total = sum(med["curl"])
        budget = curl_total / 1.5
        for client in ("winhttp", "curl", "raw"):
            if client not in med:
                continue
            u, k = med[client]
            left = ""
            if client == "raw":
                left = f"{budget:.1f} / {budget - k:.1f}"
            w(f"| {scheme.upper()} | {client} | {u:.1f} | {k:.1f} | {u + k:.1f} | "
              f"{curl_total / (u + k):.2f}× | {left} |")
    w("")


def parse_profiles(path):
    prof = {}
    for line in open(path, encoding="utf-8"):
        words = line.split()
        if not words or words[0] != "profile":
            continue
        kv = dict(w.split("=", 1) for w in words[1:])
        prof[(kv["mode"], kv["scheme"], kv["client"])] = kv
    return prof


def fmt(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--facts", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--secs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--profdir", default="")
    ap.add_argument("--build", default="build/bench")
    ap.add_argument("--steal-max", type=float, default=3.0,
                    help="rounds with more steal time (%% of wall time, either CPU) are left out")
    a = ap.parse_args()

    recs = rounds.load(a.results, a.steal_max)
    # busy: the echo server's share of its core in each bench_ws run
    runs, cpu, units, busy = rounds.kept_figures(recs)
    count = rounds.counts(recs)
    prof = parse_profiles(a.results)
    facts = [l.rstrip("\n") for l in open(a.facts, encoding="utf-8") if l.strip()]

    out = []
    w = out.append
    w("# Performance")
    w("")
    w("Generated by `bench/run.sh` (the numbers and the tables; the analysis after")
    w("the marker at the end is hand-written and kept across runs). Method:")
    w("ARCHITECTURE-NOTES §7 and issue 12 §1. nginx runs one worker pinned to one")
    w("core, every client is pinned to the other. A row's clients — WinHTTP,")
    w("libcurl and **the limit** — run back to back on the same server and files")
    w("(a round), in an order reversed every other round; "
      f"{a.runs} rounds of {a.secs} s")
    w("each, medians over the rounds kept. The limit is what the machine and")
    w("nginx allow: a client doing the least work there is for the same requests.")
    w("")
    w("- **get**: sequential keep-alive GETs of a 100-byte file. WinHTTP")
    w("  (`bench/bench_sync.c`): one session and connect handle, a new request")
    w("  handle per GET (OpenRequest, SendRequest, ReceiveResponse, QueryHeaders")
    w("  for the status, QueryDataAvailable + ReadData, CloseHandle). libcurl: one")
    w("  easy handle reused, status read with `CURLINFO_RESPONSE_CODE`. Limit:")
    w("  `bench/bench_raw.c`, a minimal HTTP/1.1 client on a raw socket (OpenSSL")
    w("  directly for HTTPS): one kept-alive connection, one write of fixed")
    w("  request bytes per GET, reads into one 128 KiB buffer, of the head only")
    w("  the status line and `Content-Length` looked at.")
    w("- **download**: GETs of a 100 MiB file, repeated on the kept-alive")
    w("  connection for the run's length, body discarded. WinHTTP: ReadData with")
    w("  a 128 KiB buffer (close to curl's 100 KiB). libcurl: a write callback that")
    w("  discards, `CURLOPT_BUFFERSIZE` 100 KiB as the curl tool sets it. Limit:")
    w("  `bench_raw`, reading the body into its 128 KiB buffer. MB = 10^6 bytes.")
    w("  The curl tool itself (`curl -o /dev/null`, 20 transfers on one")
    w("  connection per round) is shown for reference.")
    w("- **asyncN** (`bench/bench_async.c`): N requests in flight for the run's")
    w("  length, keep-alive GETs of the 100-byte file. WinHTTP: one")
    w("  `WINHTTP_FLAG_ASYNC` session and connect handle; each of N chains opens a")
    w("  request, sends, and from its callbacks receives, reads until 0 bytes,")
    w("  closes and opens the next. libcurl: N easy handles in one multi handle,")
    w("  each re-added when done (`curl_multi_perform` + `curl_multi_poll`).")
    w("  Limit: `wrk -t1 -cN -d SECS` (one thread, as the client has one CPU).")
    w("- **h2asyncN** (`bench_async --http2`): the same over HTTP/2, N streams of")
    w("  one TLS connection to nginx's `http2` port (`http2_max_concurrent_streams`")
    w("  128). WinHTTP: `WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL`; libcurl:")
    w("  `CURLPIPE_MULTIPLEX`, `CURL_HTTP_VERSION_2TLS` and `CURLOPT_PIPEWAIT`.")
    w("  Limit: `h2load -c 1 -m N -D SECS` (nghttp2's load generator).")
    w("")
    w("Every response is checked: status 200 and body length (WinHTTP, libcurl,")
    w("bench_raw); no status outside 2xx/3xx and no socket error (wrk, which")
    w("cannot check lengths without running Lua on every body); none failed and")
    w("all 2xx (h2load). TLS: TLS 1.3 with the CA from `tests/peers/gen-certs.sh`,")
    w("trusted through `SSL_CERT_FILE` (WinHTTP), `CURLOPT_CAINFO` (libcurl) and")
    w("`SSL_CTX_load_verify_locations` (bench_raw), the address checked against")
    w("the certificate; wrk and h2load do not verify.")
    w("")
    w("Figures are given wall-clock (per second of the run) and per client")
    w("CPU-second (per second of the client's own user + system time: its cost,")
    w("whatever the server does). WinHTTP, libcurl and bench_raw measure their")
    w("own (`CLOCK_PROCESS_CPUTIME_ID`) over their timed loop, after the warm-up")
    w("that opens the connection; wrk, h2load and the curl tool are measured by")
    w("the kernel (`getrusage(RUSAGE_CHILDREN)` in `bench/measure.py`) over the")
    w("whole process, its connections included, as bench_async's clients count")
    w("theirs.")
    w("")
    w("Two checks on every measurement (`bench/measure.py`):")
    w("")
    w("- **steal time**: the hypervisor's steal on the server's and the client's")
    w("  CPU (`/proc/stat`, the steal column of each, over the run). A round in")
    w(f"  which one measurement saw more than {a.steal_max:g} % of its wall-clock time")
    w("  stolen on either CPU is left out of the tables, every client of it, so")
    w("  that the ratios still compare clients run side by side; each table says")
    w("  how many rounds per row were kept and dropped, and the steal of every")
    w("  round is listed at the end.")
    w("- **nginx's own count**: its `stub_status` request counter (every HTTP/1.1")
    w("  request and HTTP/2 stream), read before and after the run once nginx has")
    w("  no other connection, its own reads subtracted. It must equal the")
    w("  client's count plus the requests the client made outside it (warm-up),")
    w("  with up to the client's requests in flight at its end on top, ± max(2,")
    w("  0.1 %); otherwise the run stops with an error.")
    w("")
    w("Bars (issue 12 §1): wall-clock ≥ 0.9× the limit for sequential GET, N in")
    w("flight (HTTP and HTTPS) and the HTTP download; ≥ 1.0× libcurl for the")
    w("HTTPS download; HTTP/2 ≥ 2× libcurl and ≥ 0.8× h2load (§7); per client")
    w("CPU-second ≥ 1.5× libcurl for every request-rate row.")
    w("")
    w("## Results")
    w("")
    verdicts, specs = limits.tables(w, fmt, runs, cpu, units, count)
    cpu_split_section(w, recs)
    tool = [(s, runs.get(("download", s, "curl-tool"))) for s in ("http", "https")]
    if any(v for _, v in tool):
        parts = [f"{s.upper()} {fmt(statistics.median(v))} MB/s" for s, v in tool if v]
        w("`curl -o /dev/null` (the tool), medians: " + ", ".join(parts) + ".")
        w("")
    checked = [r for r in recs if "nginx_requests" in r]
    if checked:
        w(f"nginx's counter agreed with the client's count in all {len(checked)} measurements")
        w(f"against nginx ({sum(int(r['nginx_requests']) for r in checked):,} requests).")
        w("")
    if prof:
        w("Profiles (`PROFILE=1`): instructions counted by callgrind, as the")
        w("difference between a run of N and of 2N requests (so connecting and")
        w("the handshake cancel out), and syscalls counted by `strace -c`:")
        w("")
        w("| mode | scheme | client | instructions | syscalls |")
        w("|------|--------|--------|-------------:|---------:|")
        for (mode, scheme, client), kv in sorted(prof.items()):
            per = next((k[len("instructions_per_"):] for k in kv
                        if k.startswith("instructions_per_")), "request")
            ins = int(kv.get(f"instructions_per_{per}", "0"))
            sc = kv.get(f"syscalls_per_{per}", "?")
            w(f"| {mode} | {scheme} | {client} | {ins:,} per {per} | {sc} per {per} |")
        w("")
    if prof and a.profdir:
        w("Where WinHTTP's instructions go, per request (get), per MB")
        w("(download, ws-large) or per message (ws-small), self cost by function")
        w("(`bench/cgdiff.py`), with the allocator calls per unit:")
        w("")
        for mode, scheme in [(r.mode, r.scheme) for r in specs] + [(m, "ws") for m, _, _, _ in WS_BARS]:
            for client in ("winhttp", "curl", "raw", "lws"):
                path = os.path.join(a.profdir, f"top.{mode}.{scheme}.{client}.txt")
                if not os.path.exists(path):
                    continue
                lines = open(path, encoding="utf-8").read().rstrip("\n").splitlines()
                if client in ("curl", "raw", "lws"):
                    # libcurl and libwebsockets are stripped, and bench_raw's
                    # cost is OpenSSL's and the kernel's: totals and
                    # allocations only
                    lines = [lines[0], lines[-1]]
                w(f"{mode} {scheme.upper()}, {client}:")
                w("")
                w("```")
                w("\n".join(lines))
                w("```")
                w("")
    verdicts += threads_section(w, runs, cpu, count)
    scale_section(w, parse_scale(a.results))
    idle_section(w, parse_scale(a.results, "idle"))
    verdicts += ws_section(w, runs, cpu, parse_wsidle(a.results), busy, count)
    w("Every run (values in the order they ran; ~~struck~~: its round was left")
    w("out for steal time):")
    w("")
    w("| mode | scheme | client | runs |")
    w("|------|--------|--------|------|")
    every = {}
    for r in recs:
        v = fmt(float(r["value"]))
        every.setdefault((r["mode"], r["scheme"], r["client"]), []).append(
            f"~~{v}~~" if r["dropped"] else v)
    for (mode, scheme, client), vals in sorted(every.items()):
        w(f"| {mode} | {scheme} | {client} | {', '.join(vals)} |")
    w("")
    rounds.steal_table(w, recs, a.steal_max)
    w("## Machine")
    w("")
    for f in facts:
        w(f"- {f}")
    w("")
    w("## Command")
    w("")
    w("```sh")
    w(f"cmake -S . -B {a.build} -DCMAKE_BUILD_TYPE=Release -DWH_BUILD_BENCH=ON -DWH_WERROR=OFF")
    w(f"cmake --build {a.build} -j2 --target bench_sync bench_raw bench_async bench_scale bench_ws bench_threads")
    w(a.command)
    w("```")
    w("")
    w("(`make bench` does the same with the default build directory.)")
    w("")

    kept = None
    if a.out != "-":
        try:
            old = open(a.out, encoding="utf-8").read()
            i = old.find(ANALYSIS)
            if i >= 0:
                kept = old[i:]
        except FileNotFoundError:
            pass
    if kept is None:
        kept = ANALYSIS + "\n\n## Analysis\n\n(none yet)\n"
    text = "\n".join(out) + "\n" + kept
    if a.out == "-":
        sys.stdout.write(text)
    else:
        with open(a.out, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"run.sh: wrote {a.out}", file=sys.stderr)
    for (mode, scheme), (kept, dropped) in sorted(count.items()):
        if dropped and not kept:
            print(f"run.sh: every round of {mode} {scheme} was left out for steal time "
                  f"(over {a.steal_max:g} %): no figure; run again on a quieter machine",
                  file=sys.stderr)
    missed = [what for what, ok in verdicts if not ok]
    for what in missed:
        print(f"run.sh: bar missed: {what}", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Runs one measurement for bench/run.sh and says how far it can be trusted.

    measure.py [--status-url URL --extra N --inflight N] [--cpus SERVER,CLIENT]
               [--tool wrk|h2load|curl-tool --mode M --scheme S --client C
                [--expect BYTES]] -- COMMAND...

COMMAND is one client run. A bench client prints its own "result" line; a
load tool's output is turned into one by toolparse.py (--tool). To that
line measure.py adds, measured around the command:

- steal_server_pct, steal_client_pct: the hypervisor's steal time on the
  two CPUs (/proc/stat, the steal column of cpuN, in USER_HZ ticks) over
  the run, in % of its wall-clock time. report.py leaves out every round
  in which a measurement exceeds the threshold: a stolen CPU slows the
  client or the server by an amount nobody controls.
- ext_cpu_seconds: the command's user + system time from the kernel
  (getrusage(RUSAGE_CHILDREN)). For a load tool this is its cpu_seconds;
  a bench client measures its own over its timed interval instead, and
  this figure (the whole process: start, handshake, warm-up) is only
  printed beside it.
- nginx_requests: requests nginx itself counted during the run, from its
  stub_status counter (--status-url). It must lie between the client's
  count plus --extra (requests it made outside its count: warm-up) and that
  plus --inflight (requests it may have had on the wire, uncounted, when
  it stopped), give or take TOLERANCE; otherwise the measurement fails
  loudly (exit status 3), whatever the client claimed.

nginx's counter includes the status requests themselves, and a client's
last requests may still sit in nginx's socket buffers when it exits; so
before and after the run measure.py polls stub_status until nginx has one
connection left (the poll's own), and subtracts its polls from the count."""
import argparse
import os
import re
import resource
import subprocess
import sys
import time
import urllib.request

import toolparse

# Beyond the window above: max(2 requests, 0.1 % of the count).
TOLERANCE_MIN = 2
TOLERANCE_FRACTION = 0.001
SETTLE_TIMEOUT = 10.0


def steal_ticks(cpus):
    """{cpu number: steal ticks so far} from /proc/stat."""
    want = {f"cpu{c}": c for c in cpus}
    ticks = {}
    with open("/proc/stat", encoding="ascii") as f:
        for line in f:
            fields = line.split()
            if fields and fields[0] in want:
                # cpuN user nice system idle iowait irq softirq steal ...
                ticks[want[fields[0]]] = int(fields[8]) if len(fields) > 8 else 0
    missing = [c for c in cpus if c not in ticks]
    if missing:
        sys.exit(f"measure.py: no cpu{missing[0]} line in /proc/stat")
    return ticks


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def nginx_status(url):
    """(active connections, requests) from nginx's stub_status page."""
    with _opener.open(url, timeout=5) as r:
        text = r.read().decode("ascii")
    active = re.search(r"Active connections:\s*(\d+)", text)
    counts = re.search(r"server accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)", text)
    if not active or not counts:
        sys.exit(f"measure.py: not a stub_status page at {url}:\n{text}")
    return int(active.group(1)), int(counts.group(3))


def settled_count(url):
    """(requests, polls): nginx's counter once only our poll is connected,
    and how many polls it took (each counts as a request)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    polls = 0
    while True:
        active, requests = nginx_status(url)
        polls += 1
        if active == 1:
            return requests, polls
        if time.monotonic() > deadline:
            sys.exit(f"measure.py: nginx still has {active - 1} client connections "
                     f"{SETTLE_TIMEOUT:.0f} s after the run")
        time.sleep(0.005)


def field(line, key):
    m = re.search(rf"\b{key}=(\S+)", line)
    if not m:
        sys.exit(f"measure.py: no {key}= in {line!r}")
    return m.group(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--status-url")
    ap.add_argument("--extra", type=int, default=0)
    ap.add_argument("--inflight", type=int, default=0)
    ap.add_argument("--cpus", default="0,1", help="server CPU, client CPU")
    ap.add_argument("--tool", choices=("wrk", "h2load", "curl-tool"))
    ap.add_argument("--mode")
    ap.add_argument("--scheme")
    ap.add_argument("--client")
    ap.add_argument("--expect", type=int, default=-1)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        ap.error("no command")
    if a.tool and not (a.mode and a.scheme and a.client):
        ap.error("--tool needs --mode, --scheme and --client")
    server_cpu, client_cpu = (int(x) for x in a.cpus.split(","))

    before = settled_count(a.status_url)[0] if a.status_url else None
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    steal0 = steal_ticks((server_cpu, client_cpu))
    t0 = time.monotonic()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    steal1 = steal_ticks((server_cpu, client_cpu))
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.stderr.write(done.stdout)
        sys.exit(f"measure.py: {cmd[0]} failed (status {done.returncode})")
    ext_cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)

    try:
        if a.tool == "wrk":
            line = toolparse.wrk(done.stdout, a.mode, a.scheme, a.client, ext_cpu)
        elif a.tool == "h2load":
            line = toolparse.h2load(done.stdout, a.mode, a.scheme, a.client, ext_cpu)
        elif a.tool == "curl-tool":
            line = toolparse.curl_tool(done.stdout, a.mode, a.scheme, a.client, ext_cpu,
                                       a.expect)
        else:
            lines = [l for l in done.stdout.splitlines() if l.startswith("result ")]
            if len(lines) != 1:
                sys.exit(f"measure.py: {cmd[0]} printed no single result line:\n{done.stdout}")
            line = lines[0]
    except toolparse.ToolError as e:
        sys.exit(f"measure.py: {e}")

    hz = os.sysconf("SC_CLK_TCK")
    pct = {c: 100.0 * (steal1[c] - steal0[c]) / hz / wall for c in steal0}
    line += (f" wall={wall:.3f} ext_cpu_seconds={ext_cpu:.3f}"
             f" steal_server_pct={pct[server_cpu]:.1f} steal_client_pct={pct[client_cpu]:.1f}")

    if a.status_url:
        after, polls = settled_count(a.status_url)
        counted = after - before - polls
        requests = int(field(line, "requests"))
        low, high = requests + a.extra, requests + a.extra + a.inflight
        slack = max(TOLERANCE_MIN, int(TOLERANCE_FRACTION * requests))
        line += f" nginx_requests={counted}"
        if not low - slack <= counted <= high + slack:
            sys.stderr.write(f"{line}\n")
            sys.stderr.write(f"measure.py: MISMATCH: nginx counted {counted} requests, the client "
                             f"{requests} (+{a.extra} outside its count, up to {a.inflight} in "
                             f"flight at its end: {low}..{high}, ±{slack}): {' '.join(cmd)}\n")
            sys.exit(3)
    print(line)


if __name__ == "__main__":
    main()

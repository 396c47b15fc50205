"""Turns the output of the load tools bench/run.sh measures against (wrk,
h2load, the curl tool) into the "result" line bench_sync prints, so that
report.py reads every client alike. Each parser also checks what the tool
lets it check, and raises ToolError when a request failed: a limit reached
by failing requests is no limit.

cpu is the tool's own CPU time (user + system of the process, from the
kernel, measured by measure.py): the tools cannot report it themselves."""
import re


class ToolError(Exception):
    pass


def _need(pattern, out, tool):
    m = re.search(pattern, out)
    if not m:
        raise ToolError(f"{tool}: no match for {pattern!r} in its output:\n{out}")
    return m


def _line(mode, scheme, client, requests, nbytes, seconds, cpu, work, unit):
    """nbytes: body bytes, or None where the tool does not count them."""
    size = "" if nbytes is None else f"bytes={nbytes} "
    return (f"result mode={mode} scheme={scheme} client={client} requests={requests} "
            f"{size}seconds={seconds:.4f} cpu_seconds={cpu:.4f} "
            f"value={work / seconds:.1f} per_cpu_second={work / cpu if cpu > 0 else 0.0:.1f} "
            f"unit={unit}")


def wrk(out, mode, scheme, client, cpu):
    """wrk -t1 -cN -dS URL. wrk counts complete responses; it can say that
    none had a status outside 2xx/3xx and that no socket failed, but not
    the body lengths (a Lua response() hook would make it parse every
    body, and it would no longer be the limit): nginx's own counter
    (measure.py) vouches for the count."""
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m and int(m.group(1)):
        raise ToolError(f"wrk: {m.group(1)} responses were not 2xx or 3xx")
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m and any(int(x) for x in m.groups()):
        raise ToolError(f"wrk: socket errors: {m.group(0)}")
    requests = int(_need(r"(\d+) requests in ", out, "wrk").group(1))
    # Requests/sec is wrk's complete / runtime, with more digits than the
    # "in 3.00s" it prints: the run's length comes from it.
    rate = float(_need(r"Requests/sec:\s*([0-9.]+)", out, "wrk").group(1))
    if requests == 0 or rate <= 0:
        raise ToolError("wrk: no request completed")
    return _line(mode, scheme, client, requests, None, requests / rate, cpu, requests, "req/s")


def h2load(out, mode, scheme, client, cpu):
    """h2load -D S -c C -m M URL: requests that succeeded over the run;
    any failed, errored or timed-out request, or a status other than 2xx,
    fails the run."""
    took = float(_need(r"finished in ([0-9.]+)s", out, "h2load").group(1))
    m = _need(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
              r"(\d+) failed, (\d+) errored, (\d+) timeout", out, "h2load")
    ok, failed, errored, timeout = (int(m.group(i)) for i in (4, 5, 6, 7))
    if failed or errored or timeout:
        raise ToolError(f"h2load: {failed} failed, {errored} errored, {timeout} timed out")
    codes = _need(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out, "h2load")
    if int(codes.group(1)) != ok:
        raise ToolError(f"h2load: {codes.group(0)} for {ok} successful requests")
    if ok == 0:
        raise ToolError("h2load: no request succeeded")
    return _line(mode, scheme, client, ok, None, took, cpu, ok, "req/s")


def curl_tool(out, mode, scheme, client, cpu, expect):
    """curl -s -w '%{http_code} %{size_download} %{time_total}\\n' with one
    -o /dev/null URL per transfer: every status 200 and every size expect;
    MB/s over the sum of the tool's own transfer times, as before."""
    rows = [l.split() for l in out.splitlines() if l.strip()]
    if not rows:
        raise ToolError("curl: no transfer")
    nbytes, took = 0, 0.0
    for code, size, t in rows:
        if code != "200" or int(size) != expect:
            raise ToolError(f"curl: status {code}, {size} bytes (expected 200, {expect})")
        nbytes += int(size)
        took += float(t)
    return _line(mode, scheme, client, len(rows), nbytes, took, cpu, nbytes / 1e6, "MB/s")

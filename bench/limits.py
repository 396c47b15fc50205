"""The report's two main tables (issue 12 §1): every request-rate and
download row with WinHTTP, libcurl and the limit measured in the same
rounds, WinHTTP / libcurl and WinHTTP / limit, wall-clock and per client
CPU-second, each against its bar."""
import statistics
from collections import namedtuple

# limit: the client name of the row's limit in the result lines; wall:
# [(reference, factor)], reference "limit" or "curl"; cpu: the factor
# against libcurl per client CPU-second, or None (no bar).
Row = namedtuple("Row", "mode scheme what limit limit_name wall cpu")

# Issue 12 §1: wall-clock ≥ 0.9× the limit for sequential GET, N in flight
# and the HTTP download, ≥ 1.0× libcurl for the HTTPS download; per client
# CPU-second ≥ 1.5× libcurl for every request-rate row. HTTP/2 keeps
# ARCHITECTURE-NOTES §7's wall-clock bars (≥ 2× libcurl, ≥ 0.8× h2load).
LIMIT_WALL = 0.9
CPU_VS_CURL = 1.5


def rows(modes):
    """The rows in the report's order, for the modes the results hold (the
    get, download and async64 rows are listed even when not run)."""
    out = []
    for scheme in ("http", "https"):
        out.append(Row("get", scheme, f"sequential keep-alive GET, 100 B, req/s, {scheme.upper()}",
                       "raw", "raw", [("limit", LIMIT_WALL)], CPU_VS_CURL))
    for scheme in ("http", "https"):
        wall = [("limit", LIMIT_WALL)] if scheme == "http" else [("curl", 1.0)]
        out.append(Row("download", scheme, f"100 MiB download, MB/s, {scheme.upper()}",
                       "raw", "raw", wall, None))
    for mode in sorted({m for m in modes if m.startswith("async")} or {"async64"}):
        n = mode[len("async"):]
        for scheme in ("http", "https"):
            out.append(Row(mode, scheme, f"{n} in flight (async vs multi), 100 B, req/s, "
                           f"{scheme.upper()}", "wrk", "wrk", [("limit", LIMIT_WALL)],
                           CPU_VS_CURL))
    for mode in sorted(m for m in modes if m.startswith("h2async")):
        n = mode[len("h2async"):]
        out.append(Row(mode, "https", f"HTTP/2, {n} streams on one connection, 100 B, req/s, "
                       "HTTPS", "h2load", "h2load", [("curl", 2.0), ("limit", 0.8)],
                       CPU_VS_CURL))
    return out


def _bar_text(bars):
    return ", ".join(f"≥ {f:.1f}× {'libcurl' if k == 'curl' else 'limit'}" for k, f in bars)


def _verdict(bars, mine, curl, limit):
    """True, False, or None when a figure the bars need is missing."""
    ref = {"curl": curl, "limit": limit}
    if mine is None or any(not ref[k] for k, _ in bars):
        return None
    return all(mine / ref[k] >= f for k, f in bars)


def _median(d, key):
    v = d.get(key)
    return statistics.median(v) if v else None


def _ratio(a, b):
    return f"{a / b:.2f}×" if a is not None and b else "—"


def _result(ok, kept, dropped):
    if kept == 0:
        return "no round kept (steal)" if dropped else "not run"
    return "not run" if ok is None else ("**pass**" if ok else "**miss**")


def tables(w, fmt, runs, cpu, units, count):
    """Writes both tables; returns ([(what, ok)] for the bars that could be
    judged, the rows)."""
    verdicts = []
    specs = rows({m for (m, _, _) in runs} | {m for (m, _) in count})
    w("| what | WinHTTP | libcurl | limit | WinHTTP / libcurl | WinHTTP / limit | bar | result "
      "| rounds kept / dropped |")
    w("|------|--------:|--------:|------:|------------------:|----------------:|----:|--------"
      "|------:|")
    for r in specs:
        kept, dropped = count.get((r.mode, r.scheme), (0, 0))
        mw, mc, ml = (_median(runs, (r.mode, r.scheme, c)) for c in ("winhttp", "curl", r.limit))
        ok = _verdict(r.wall, mw, mc, ml)
        if ok is not None:
            verdicts.append((f"{r.what} (wall-clock)", ok))
        cell = lambda v: fmt(v) if v is not None else "—"
        w(f"| {r.what} | {cell(mw)} | {cell(mc)} | {cell(ml)} ({r.limit_name}) | {_ratio(mw, mc)} "
          f"| {_ratio(mw, ml)} | {_bar_text(r.wall)} | {_result(ok, kept, dropped)} | {kept} / {dropped} |")
    w("")
    w("The same rounds per second of each client's own CPU time (user + system):")
    w("what the client costs, whatever the server and the rest of the machine do.")
    w("")
    w("| what | WinHTTP | libcurl | limit | WinHTTP / libcurl | WinHTTP / limit | bar | result |")
    w("|------|--------:|--------:|------:|------------------:|----------------:|----:|--------|")
    for r in specs:
        kept, dropped = count.get((r.mode, r.scheme), (0, 0))
        mw, mc, ml = (_median(cpu, (r.mode, r.scheme, c)) for c in ("winhttp", "curl", r.limit))
        unit = units.get((r.mode, r.scheme), "req/s").split("/")[0]
        cell = lambda v: f"{fmt(v)} {unit}" if v is not None else "—"
        if r.cpu is None:
            bar, result = "— (not a request rate)", "—"
        else:
            ok = _verdict([("curl", r.cpu)], mw, mc, ml)
            if ok is not None:
                verdicts.append((f"{r.what} (per CPU-second)", ok))
            bar, result = _bar_text([("curl", r.cpu)]), _result(ok, kept, dropped)
        w(f"| {r.what} | {cell(mw)} | {cell(mc)} | {cell(ml)} ({r.limit_name}) | {_ratio(mw, mc)} "
          f"| {_ratio(mw, ml)} | {bar} | {result} |")
    w("")
    return verdicts, specs

"""bench/run.sh's result lines, grouped into rounds, with the rounds that
the hypervisor's steal time spoiled left out (issue 12 §1).

A round is one row (mode, scheme) in one pass of run.sh's loop (run=N):
every client of the row, run back to back. When one measurement of a round
saw more steal time than the threshold on either CPU (measure.py's
steal_server_pct and steal_client_pct, in % of its wall-clock time), the
whole round is left out, not only that client's figure: what the report
compares is clients run side by side, and a round with one client slowed by
the hypervisor would tilt the ratio."""


def load(path, steal_max):
    """Every "result" line as a dict; "dropped" is True on each line of a
    round left out."""
    recs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            words = line.split()
            if words and words[0] == "result":
                recs.append(dict(w.split("=", 1) for w in words[1:]))
    spoiled = {round_of(r) for r in recs if steal(r) > steal_max}
    for r in recs:
        r["dropped"] = round_of(r) in spoiled
    return recs


def round_of(r):
    return (r["mode"], r["scheme"], r.get("run", "?"))


def steal(r):
    """The larger of the two CPUs' steal, in %; 0 for a line measured
    without it (measure.py not in the path)."""
    return max(float(r.get("steal_server_pct", 0)), float(r.get("steal_client_pct", 0)))


def kept_figures(recs):
    """What report.py's tables take the medians of, from the kept rounds
    only: (runs, cpu, units, busy), keyed by (mode, scheme, client)."""
    runs, cpu, units, busy = {}, {}, {}, {}
    for r in recs:
        if r["dropped"]:
            continue
        key = (r["mode"], r["scheme"], r["client"])
        runs.setdefault(key, []).append(float(r["value"]))
        if "per_cpu_second" in r:
            cpu.setdefault(key, []).append(float(r["per_cpu_second"]))
        if float(r.get("server_busy", "-1")) >= 0:
            busy.setdefault(key, []).append(float(r["server_busy"]))
        units[(r["mode"], r["scheme"])] = r["unit"]
    return runs, cpu, units, busy


def counts(recs):
    """(mode, scheme) -> (rounds kept, rounds dropped)."""
    seen = {}
    for r in recs:
        seen.setdefault((r["mode"], r["scheme"]), {})[r.get("run", "?")] = r["dropped"]
    return {k: (sum(not d for d in v.values()), sum(v.values())) for k, v in seen.items()}


def rounds_text(count, mode, scheme):
    kept, dropped = count.get((mode, scheme), (0, 0))
    return f"{kept} / {dropped}"


def steal_table(w, recs, steal_max):
    """Per row and round: the highest steal of the round's measurements on
    the server's CPU and on the client's, and whether it was left out."""
    rows = {}
    for r in recs:
        if "steal_server_pct" not in r:
            continue
        cell = rows.setdefault((r["mode"], r["scheme"]), {}).setdefault(r.get("run", "?"), [0.0, 0.0])
        cell[0] = max(cell[0], float(r["steal_server_pct"]))
        cell[1] = max(cell[1], float(r["steal_client_pct"]))
    if not rows:
        return
    width = max(len(v) for v in rows.values())
    w("Hypervisor steal time per round (`/proc/stat`, the steal column of the")
    w("server's CPU / the client's, in % of each measurement's wall-clock time,")
    w(f"the highest of the round's measurements); ✗: over {steal_max:g} %, the")
    w("round left out of every table above:")
    w("")
    w("| mode | scheme | " + " | ".join(f"round {i + 1}" for i in range(width)) + " |")
    w("|------|--------|" + "|".join("---:" for _ in range(width)) + "|")
    for (mode, scheme), by_run in rows.items():
        cells = []
        for run in sorted(by_run, key=lambda x: int(x) if x.isdigit() else 0):
            s, c = by_run[run]
            cells.append(f"{s:.1f} / {c:.1f}" + (" ✗" if max(s, c) > steal_max else ""))
        cells += [""] * (width - len(cells))
        w(f"| {mode} | {scheme} | " + " | ".join(cells) + " |")
    w("")

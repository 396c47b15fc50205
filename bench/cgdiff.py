#!/usr/bin/env python3
"""Per-request (or per-MB) self cost of each function, from two callgrind
profiles of the same benchmark: one of N and one of 2N requests. The
difference cancels start-up, connecting and the TLS handshake, leaving what
N more requests cost.

  cgdiff.py SHORT LONG DIVISOR [TOP]

prints "instructions_per_unit share function [object]" for the TOP (15)
costliest functions, after a line with the total, then how many calls to
malloc, calloc, realloc and free each unit makes."""
import re
import subprocess
import sys

LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$")


def costs(path):
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=no", "--threshold=100", path],
        check=True, capture_output=True, text=True).stdout
    total = 0
    per = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        n = int(m.group(1).replace(",", ""))
        what = m.group(2).strip()
        if what == "PROGRAM TOTALS":
            total = n
            continue
        # "file:function [object]" -> "function [object]", no file paths
        what = re.sub(r"^\S*?:(?=[^:\s])", "", what, count=1)
        what = re.sub(r"\[.*/([^/\]]+)\]$", r"[\1]", what)
        per[what] = per.get(what, 0) + n
    return total, per


def calls(path, names):
    """Calls per function name, summed over every caller (callgrind's
    "cfn=" / "calls=" lines, with its name compression)."""
    ids = {}
    count = dict.fromkeys(names, 0)
    target = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("fn="):
                # a function's own cost block: names defined here are used
                # by later cfn= lines through the same id
                m = re.match(r"fn=\((\d+)\) (.*)", line.rstrip("\n"))
                if m:
                    ids[m.group(1)] = m.group(2)
            elif line.startswith("cfn="):
                m = re.match(r"cfn=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
                if m:
                    if m.group(2):
                        ids[m.group(1)] = m.group(2)
                    target = ids.get(m.group(1))
                else:
                    target = line[4:].strip()
            elif line.startswith("calls=") and target is not None:
                if target in count:
                    count[target] += int(line[6:].split()[0])
                target = None
    return count


def main():
    short, long_, div = sys.argv[1], sys.argv[2], float(sys.argv[3])
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 15
    ta, a = costs(short)
    tb, b = costs(long_)
    total = (tb - ta) / div
    diff = {k: (b.get(k, 0) - a.get(k, 0)) / div for k in set(a) | set(b)}
    print(f"{total:12,.0f}  100.0%  total")
    for k, v in sorted(diff.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{v:12,.0f}  {100 * v / total:5.1f}%  {k}")
    names = ["malloc", "calloc", "realloc", "free"]
    ca, cb = calls(short, names), calls(long_, names)
    print("calls per unit: " + ", ".join(f"{n} {(cb[n] - ca[n]) / div:.1f}" for n in names))


if __name__ == "__main__":
    main()

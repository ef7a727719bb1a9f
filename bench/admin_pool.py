#!/usr/bin/env python3
"""Pools phase (B) rounds of several bench/admin_run.sh runs.

One run's (B) rounds differ from each other by ±30-50% in the proxy's CPU per request on a
shared 2-core VM (where gm-io happens to wake: the per-round migration count alone spans
50-950 per 1,000 requests), so a single run of 9-12 rounds can put the on/off ratio
anywhere from 0.96 to 1.22. Each round's ratio compares two modes run back to back; this
pools those per-round ratios over runs and gives their median with a bootstrap 90%
interval.

Usage: bench/admin_pool.py [--on MODE] [--off MODE] RESULTS.tsv...   (bench/out/admin-results-*.tsv)
       --on and --off compare other B_MODES modes than "on" and "off" (e.g. --on ext, or
       --on on --off ext).
"""
import collections
import random
import statistics
import sys

METRICS = [
    ("cpu_us_per_req:gm-io", "gm-io threads"),
    ("proxy", "the proxy's threads (all but gm-reader)"),
    ("cpu_us_per_req", "whole process"),
]


def rounds(path, off="off", on="on"):
    """Per round: {metric: on/off ratio}."""
    v = collections.defaultdict(dict)
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) == 4 and p[0].isdigit():
                try:
                    v[(p[0], p[1])][p[2]] = float(p[3])
                except ValueError:
                    pass
    out = []
    for r in sorted({r for r, _ in v}, key=int):
        a, b = v.get((r, off)), v.get((r, on))
        if not a or not b or "cpu_us_per_req:gm-io" not in a or "cpu_us_per_req:gm-io" not in b:
            continue
        for m in (a, b):  # older files have no cpu_us_per_req_proxy
            m["proxy"] = m.get("cpu_us_per_req_proxy", m["cpu_us_per_req"] - m.get("cpu_us_per_req:gm-reader", 0.0))
        out.append({k: b[k] / a[k] for k, _ in METRICS if a.get(k)})
    return out


def interval(xs, n=4000, seed=1):
    rng = random.Random(seed)
    ms = sorted(statistics.median(rng.choices(xs, k=len(xs))) for _ in range(n))
    return ms[int(0.05 * n)], ms[int(0.95 * n)]


def main(args):
    modes = {"--on": "on", "--off": "off"}
    while len(args) >= 2 and args[0] in modes:
        modes[args[0]], args = args[1], args[2:]
    on, off = modes["--on"], modes["--off"]
    paths = args
    if not paths:
        sys.exit(__doc__)
    pooled = []
    for path in paths:
        rs = rounds(path, off=off, on=on)
        if not rs:
            print(f"{path}: no (B) rounds", file=sys.stderr)
            continue
        pooled += rs
        cells = ", ".join(f"{label.split(' (')[0]} ×{statistics.median([r[k] for r in rs]):.3f}" for k, label in METRICS)
        print(f"{path}: {len(rs)} rounds: {cells}")
    if not pooled:
        sys.exit(1)
    print(f"pooled, {len(pooled)} rounds: median of the per-round {on}/{off} ratios [bootstrap 90% interval]")
    for k, label in METRICS:
        xs = [r[k] for r in pooled if k in r]
        lo, hi = interval(xs)
        print(f"  {label:<42} ×{statistics.median(xs):.3f} [{lo:.3f} .. {hi:.3f}]")


if __name__ == "__main__":
    main(sys.argv[1:])

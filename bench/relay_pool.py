#!/usr/bin/env python3
"""Pools the paired latency of bench/run.sh PAIRED=1 runs over rounds and runs.

Each round's +p99 (the 99th percentile of proxied minus direct latency over one open-loop
run of ~4,000 ticks) rests on its ~40 worst ticks, and on this shared 2-core VM one round
differs from the next by up to 10x (0.12-1.1 ms), so the median of five rounds moves by
0.1 ms from run to run. This reads every tick of every round (the pairs files run.sh keeps),
and gives per target and shape the percentiles of all differences together, with a
bootstrap 90% interval that resamples whole rounds (a round's ticks share its conditions,
so ticks are not independent draws). "direct" is the A/A check, the fake paired with
itself: the estimator's own floor in the same rounds.

Usage: bench/relay_pool.py PAIRS_DIR...   (bench/out/pairs-<stamp>/, one per run)
"""
import collections
import os
import random
import re
import sys

NAME = re.compile(r"^(\d+)-(.+)-(unary|sse)\.txt$")
QUANTILES = (0.5, 0.9, 0.99)
RESAMPLES = 400


def read_round(path):
    """The differences (proxied - direct, us) of the ticks where both sides completed."""
    out = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) == 3:
                a, b = int(p[1]), int(p[2])
                if a >= 0 and b >= 0:
                    out.append(a - b)
    return out


def quantile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def pooled(rounds, q):
    values = sorted(v for r in rounds for v in r)
    return quantile(values, q) if values else None


def interval(rounds, q, rng):
    estimates = sorted(pooled([rng.choice(rounds) for _ in rounds], q) for _ in range(RESAMPLES))
    return quantile(estimates, 0.05), quantile(estimates, 0.95)


def main(dirs):
    groups = collections.defaultdict(list)  # (target, shape) -> [round differences]
    for d in dirs:
        for name in sorted(os.listdir(d)):
            m = NAME.match(name)
            if m:
                diffs = read_round(os.path.join(d, name))
                if diffs:
                    groups[(m.group(2), m.group(3))].append(diffs)
    if not groups:
        sys.exit("no pairs files (<round>-<target>-<shape>.txt) in " + " ".join(dirs))
    rng = random.Random(1)
    print(f"{len(dirs)} run(s); per target and shape: rounds, ticks, pooled percentiles of proxied - direct "
          f"(us) [bootstrap 90% over rounds]")
    for shape in ("unary", "sse"):
        for target in sorted({t for t, s in groups if s == shape}, key=lambda t: (t != "direct", t)):
            rounds = groups[(target, shape)]
            cells = []
            for q in QUANTILES:
                lo, hi = interval(rounds, q, rng)
                cells.append(f"p{int(q * 100)} {pooled(rounds, q)} [{lo}-{hi}]")
            per_round = sorted(quantile(sorted(r), 0.99) for r in rounds)
            label = "direct (A/A)" if target == "direct" else target
            print(f"{shape:5} {label:16} {len(rounds):3} rounds {sum(map(len, rounds)):7} ticks  " + "  ".join(cells) +
                  f"  (per-round p99 {per_round[0]}-{per_round[-1]})")


if __name__ == "__main__":
    if len(sys.argv) < 2 or any(not os.path.isdir(d) for d in sys.argv[1:]):
        sys.exit(__doc__)
    main(sys.argv[1:])

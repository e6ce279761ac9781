#!/usr/bin/env python3
"""A change measured against the binary before it: reads compare.sh's results.jsonl from a run
with ROUTERS="baseline junction baseline junction ..." and prints, per scenario and metric,
the median of each side's rounds and the change. Usage: bench/before_after.py results.jsonl"""
import json
import statistics
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from bench_metrics import metrics  # noqa: E402

runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]


values = {}  # (label, metric) -> {router: [values]}
order = []
for run in runs:
    if not run["report"]:
        continue
    for name, value, higher in metrics(run["report"]):
        key = (run["label"], name, higher)
        if key not in values:
            values[key] = {}
            order.append(key)
        if value is not None:
            values[key].setdefault(run["router"], []).append(value)


def fmt(v):
    if v >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}" if v < 10 else f"{v:.1f}"


print("| scenario | metric | before (rounds) | after (rounds) | before median | after median | change |")
print("|---|---|---|---|---:|---:|---:|")
for key in order:
    label, name, higher = key
    before, after = values[key].get("baseline", []), values[key].get("junction", [])
    if not before or not after:
        continue
    b, a = statistics.median(before), statistics.median(after)
    change = (a / b - 1) * 100 if b else 0
    better = (change >= 0) == higher
    sign = "better" if better or abs(change) < 0.05 else "worse"
    rounds = lambda xs: " / ".join(fmt(x) for x in xs)
    print(f"| {label} | {name} | {rounds(before)} | {rounds(after)} | {fmt(b)} | {fmt(a)} | "
          f"{change:+.1f}% ({sign}) |")

"""The table of bench/cluster.sh: each scenario alone and across nodes, with the CPU each
process spent per delivered event or per call (from /proc/PID/stat around the run).

    python3 bench/cluster_table.py RESULTS.jsonl SUBSCRIBERS
"""

import json
import sys

runs = {}
for line in open(sys.argv[1]):
    run = json.loads(line)
    runs[run["label"]] = run
subscribers = int(sys.argv[2])


def lat(run):
    l = run["bench"]["latency_us"]
    return f"{l.get('p50', '-')} / {l.get('p99', '-')} / {l.get('p999', '-')}"


def us(seconds, count):
    return f"{seconds / count * 1e6:.2f}" if count else "-"


rows = []
alone, cluster = runs.get("alone-fanout"), runs.get("cluster-fanout")
if alone and cluster:
    a, c = alone["bench"], cluster["bench"]
    cpu = cluster["cpu_s"]
    per_node = c["deliveries"] / 3
    rows.append(("fan-out, deliveries/s", f"{a['deliveries_per_s']:.0f}", f"{c['deliveries_per_s']:.0f}"))
    rows.append(("fan-out, publish-to-receive p50 / p99 / p99.9 (us)", lat(alone), lat(cluster)))
    rows.append(("fan-out, CPU per delivery (us): alone; cluster on a receiving node (B, C)",
                 us(alone["cpu_s"]["alone"], a["deliveries"]),
                 f"{us(cpu['b'], per_node)}, {us(cpu['c'], per_node)}"))
    rows.append(("fan-out, CPU per publication (us): alone; cluster on the publisher's node (A) and NATS",
                 us(alone["cpu_s"]["alone"], a["publishes"]),
                 f"A {us(cpu['a'], c['publishes'])}, NATS {us(cpu['nats'], c['publishes'])}"))
    rows.append(("fan-out, subscribers disconnected", str(a["disconnected"]), str(c["disconnected"])))
for label, what in (("rpc-1", "one call at a time"), ("rpc", "16 callers x 16 in flight")):
    alone, cluster = runs.get(f"alone-{label}"), runs.get(f"cluster-{label}")
    if not (alone and cluster):
        continue
    a, c = alone["bench"], cluster["bench"]
    rows.append((f"rpc {what}, calls/s", f"{a['calls_per_s']:.0f}", f"{c['calls_per_s']:.0f}"))
    rows.append((f"rpc {what}, round trip p50 / p99 / p99.9 (us)", lat(alone), lat(cluster)))
    cpu = cluster["cpu_s"]
    rows.append((f"rpc {what}, CPU per call (us): alone; caller's node A, callee's node B, NATS",
                 us(alone["cpu_s"]["alone"], a["calls"]),
                 f"A {us(cpu['a'], c['calls'])}, B {us(cpu['b'], c['calls'])}, "
                 f"NATS {us(cpu['nats'], c['calls'])}"))
    if a["latency_us"].get("p50") and c["latency_us"].get("p50"):
        rows.append((f"rpc {what}, p50 cluster / alone", "", f"{c['latency_us']['p50'] / a['latency_us']['p50']:.2f}x"))

ratios = []
for label in sorted(runs):
    if label.startswith("cluster-rpc-1"):
        alone = runs.get(label.replace("cluster-", "alone-", 1))
        if alone:
            p50 = (alone["bench"]["latency_us"].get("p50"), runs[label]["bench"]["latency_us"].get("p50"))
            if all(p50):
                ratios.append((p50[1] / p50[0], p50))
if len(ratios) > 1:
    ratios.sort()
    median = ratios[len(ratios) // 2]
    rows.append((f"rpc one call at a time, {len(ratios)} alternating rounds: p50 cluster / alone "
                 "(alone p50, cluster p50 in us)", "",
                 ", ".join(f"{r:.2f}x ({a}, {c})" for r, (a, c) in ratios)
                 + f"; median {median[0]:.2f}x"))
floor = runs.get("nats-rtt")
if floor:
    b = floor["bench"]
    rows.append(("NATS request/reply alone, one at a time (the floor under a cross-node call): "
                 "requests/s; p50 / p99 / p99.9 (us); NATS CPU per request (us)", "",
                 f"{b['requests_per_s']:.0f}; {lat(floor)}; "
                 f"{us(floor['cpu_s']['nats'], b['latency_us'].get('count', 0))}"))

print(f"| {subscribers} subscribers | one node | three nodes |")
print("| --- | --- | --- |")
for row in rows:
    print("| " + " | ".join(row) + " |")

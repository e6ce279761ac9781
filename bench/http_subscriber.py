#!/usr/bin/env python3
"""HTTP subscriber throughput: events/s that Junction forwards to a local HTTP receiver, with
and without batching.

The load generator (`junction-bench pusher`, C connections POSTing to the publisher path as
fast as answers come) and the receiver (`junction-bench hook-receiver`, a minimal keep-alive
HTTP/1.1 server counting events) share one core; Junction runs pinned to the other. The queue
is large enough that nothing is dropped, so every published event is delivered and the
receiver's events/s (first to last request) is the forwarder's throughput; the pusher's
POST/s shows what came in meanwhile.

    cargo build --release -p junction -p junction-bench
    python3 bench/http_subscriber.py [--events 200000] [--server-cpu 0] [--client-cpu 1]

Prints one JSON line per run (stdout) and a table (stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "target" / "release"
LISTEN_RE = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


def pinned(cpu: str, argv: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *argv] if shutil.which("taskset") else argv


def config(receiver_port: int, batch: dict | None, queue: int) -> dict:
    subscriber = {"name": "bench", "topic": "bench.pusher", "role": "anonymous",
                  "url": f"http://127.0.0.1:{receiver_port}/hook", "queue": queue}
    if batch:
        subscriber["batch"] = batch
    allow = {"call": True, "register": True, "publish": True, "subscribe": True}
    return {"version": 2, "workers": [{
        "type": "router",
        "realms": [{"name": "realm1",
                    "roles": [{"name": "anonymous",
                               "permissions": [{"uri": "", "match": "prefix", "allow": allow}]}],
                    "http_subscribers": [subscriber]}],
        "transports": [{"type": "web",
                        "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0},
                        "paths": {"push": {"type": "publisher", "realm": "realm1",
                                           "role": "anonymous"},
                                  "metrics": {"type": "metrics"}}}],
    }]}


def metric(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def run(label: str, batch: dict | None, args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="junction-hooksub-"))
    receiver = subprocess.Popen(
        pinned(args.client_cpu, [str(RELEASE / "junction-bench"), "hook-receiver",
                                 "--listen", f"127.0.0.1:{args.receiver_port}",
                                 "--events", str(args.events), "--idle", "5"]),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    (tmp / "config.json").write_text(json.dumps(config(args.receiver_port, batch, args.events * 2)))
    log = open(tmp / "junction.log", "w+")
    server = subprocess.Popen(
        pinned(args.server_cpu, [str(RELEASE / "junction"), "start", "--config",
                                 str(tmp / "config.json")]),
        stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, NO_COLOR="1"), cwd=tmp)
    try:
        deadline = time.monotonic() + 20
        while not (m := LISTEN_RE.search((tmp / "junction.log").read_text())):
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("junction did not start:\n" + (tmp / "junction.log").read_text())
            time.sleep(0.05)
        port = int(m.group(1))
        pusher = subprocess.run(
            pinned(args.client_cpu, [str(RELEASE / "junction-bench"), "pusher",
                                     "--url", f"http://127.0.0.1:{port}/push",
                                     "-c", str(args.connections), "--warmup", "0",
                                     "--duration", "120", "--count", str(args.events)]),
            capture_output=True, text=True, check=True)
        pushed = json.loads(pusher.stdout.strip().splitlines()[-1])
        out, _ = receiver.communicate(timeout=300)
        received = json.loads(out.strip().splitlines()[-1])
        dropped = metric(port, "junction_http_subscriber_dropped_total")
        failed = metric(port, "junction_http_subscriber_failed_total")
    finally:
        server.terminate()
        server.wait(10)
        if receiver.poll() is None:
            receiver.kill()
    return {"run": label, "batch": batch, "published_per_s": pushed["requests_per_s"],
            "published": pushed.get("requests", args.events),
            "delivered": received["events"], "requests": received["requests"],
            "delivered_per_s": received["events_per_s"],
            "requests_per_s": received["requests_per_s"],
            "dropped": dropped, "failed": failed}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--client-cpu", default="1")
    p.add_argument("--receiver-port", type=int, default=9100)
    args = p.parse_args()
    runs = [("one event per request", None),
            ("batch 100 / 50 ms", {"max_events": 100, "max_delay_ms": 50}),
            ("batch 1000 / 50 ms", {"max_events": 1000, "max_delay_ms": 50})]
    results = []
    for label, batch in runs:
        result = run(label, batch, args)
        print(json.dumps(result), flush=True)
        results.append(result)
    print(f"{'run':<24} {'published/s':>12} {'delivered/s':>12} {'requests/s':>11} "
          f"{'delivered':>10} {'dropped':>8}", file=sys.stderr)
    for r in results:
        print(f"{r['run']:<24} {r['published_per_s']:>12,.0f} {r['delivered_per_s']:>12,.0f} "
              f"{r['requests_per_s']:>11,.0f} {r['delivered']:>10} {r['dropped']:>8.0f}",
              file=sys.stderr)


if __name__ == "__main__":
    main()

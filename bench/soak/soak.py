"""Soak test: mixed load against one Junction for a long time, the router's memory, file
descriptors and latencies sampled every 10 s (see README.md; run through run.sh).

Load, all at once for the whole run:
- pub/sub: a publisher (acknowledged) at 200 events/s, two subscribers (latency, losses);
- RPC: a caller calling a callee 50 times a second, one at a time (round-trip latency);
- the HTTP pusher: 5 POSTs a second, received by a subscriber (push-to-event latency);
- an http-poller topic polling a local upstream every second whose data changes often;
- churn: a session joining, subscribing, calling and leaving every half second;
- a slow consumer: a raw WebSocket client that subscribes to 64 KiB events (20 a second) and
  stops reading, so the router must drop it (max_outbound_bytes); it comes back every 45 s;
- an attacker: WebSocket and RawSocket connections that never send HELLO, up to 200 held,
  5 opened a second; the router must close each after join_timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import txaio
from autobahn.asyncio.wamp import ApplicationSession
from autobahn.asyncio.websocket import WampWebSocketClientFactory
from autobahn.wamp.types import ComponentConfig, PublishOptions

SAMPLE_EVERY = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the upstream the poller polls -------------------------------------------------------------

class Upstream(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self):
        Upstream.hits += 1
        # Changes every third poll: the poller publishes a patch then.
        version = Upstream.hits // 3
        items = [{"id": i, "value": (version * 7 + i) % 13} for i in range(20)]
        body = json.dumps({"version": version, "items": items}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def config(ws_port: int, rs_port: int, upstream: str) -> dict:
    allow_all = {"uri": "", "match": "prefix",
                 "allow": {"call": True, "register": True, "publish": True, "subscribe": True}}
    return {
        "version": 2,
        "workers": [{
            "type": "router",
            "realms": [{
                "name": "realm1",
                "roles": [{"name": "anonymous", "permissions": [allow_all]}],
                "topics": [{
                    "name": "soak.poll",
                    "publisher": {"type": "http-poller", "alwaysOn": True,
                                  "config": {"url": upstream, "pollingPeriod": "PT1S"}},
                    "subscriptionMode": "snapshot-patch",
                }],
            }],
            "transports": [
                {"type": "web",
                 "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": ws_port},
                 "paths": {
                     "ws": {"type": "websocket", "serializers": ["json", "msgpack"]},
                     "push": {"type": "publisher", "realm": "realm1", "role": "anonymous"},
                 }},
                {"type": "rawsocket",
                 "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": rs_port}},
            ],
        }],
    }


# --- WAMP sessions -----------------------------------------------------------------------------

async def join(url: str) -> ApplicationSession:
    loop = asyncio.get_running_loop()
    joined: asyncio.Future = loop.create_future()

    class Session(ApplicationSession):
        def onJoin(self, details):
            if not joined.done():
                joined.set_result(self)

        def onDisconnect(self):
            if not joined.done():
                joined.set_exception(ConnectionError("disconnected before joining"))

    factory = WampWebSocketClientFactory(
        lambda: Session(ComponentConfig("realm1")), url=url)
    port = int(url.split(":")[2].split("/")[0])
    await loop.create_connection(factory, "127.0.0.1", port)
    return await asyncio.wait_for(joined, 10)


class Stats:
    def __init__(self):
        self.latency = {"rpc": [], "push": [], "event": []}
        self.counts = {k: 0 for k in (
            "published", "received_a", "received_b", "calls", "pushes", "push_events",
            "poll_events", "churn", "slow_rounds", "attack_opened", "attack_closed_by_router",
            "errors")}
        self.attack_open = 0
        self.attack_close_after: list[float] = []
        self.error_text: list[str] = []

    def error(self, what: str, e: BaseException):
        self.counts["errors"] += 1
        if len(self.error_text) < 20:
            self.error_text.append(f"{what}: {e!r}")

    def take_latencies(self) -> dict:
        out = {k: v[:] for k, v in self.latency.items()}
        for v in self.latency.values():
            v.clear()
        return out


async def pubsub(ws: str, stats: Stats, stop: asyncio.Event):
    a, b, pub = await join(ws), await join(ws), await join(ws)

    def receiver(key):
        def on_event(sent):
            stats.counts[key] += 1
            if key == "received_a":
                stats.latency["event"].append(time.time() - sent)
        return on_event

    await a.subscribe(receiver("received_a"), "soak.pubsub")
    await b.subscribe(receiver("received_b"), "soak.pubsub")
    while not stop.is_set():
        try:
            await pub.publish("soak.pubsub", time.time(), options=PublishOptions(acknowledge=True))
            stats.counts["published"] += 1
        except Exception as e:  # noqa: BLE001 - counted, the soak goes on
            stats.error("publish", e)
        await asyncio.sleep(1 / 200)
    await asyncio.sleep(2)  # let the last events arrive
    for s in (a, b, pub):
        s.leave()


async def rpc(ws: str, stats: Stats, stop: asyncio.Event):
    callee, caller = await join(ws), await join(ws)
    await callee.register(lambda x: x, "soak.echo")
    while not stop.is_set():
        start = time.perf_counter()
        try:
            await caller.call("soak.echo", "x" * 64)
            stats.latency["rpc"].append(time.perf_counter() - start)
            stats.counts["calls"] += 1
        except Exception as e:  # noqa: BLE001
            stats.error("call", e)
        await asyncio.sleep(1 / 50)
    callee.leave()
    caller.leave()


def push_once(port: int, sent: float):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps({"topic": "soak.push", "args": [sent]})
    conn.request("POST", "/push", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 202:
        raise RuntimeError(f"push answered {response.status}")


async def pusher(ws: str, port: int, stats: Stats, stop: asyncio.Event):
    sub = await join(ws)

    def on_event(sent):
        stats.counts["push_events"] += 1
        stats.latency["push"].append(time.time() - sent)

    await sub.subscribe(on_event, "soak.push")
    while not stop.is_set():
        try:
            await asyncio.to_thread(push_once, port, time.time())
            stats.counts["pushes"] += 1
        except Exception as e:  # noqa: BLE001
            stats.error("push", e)
        await asyncio.sleep(1 / 5)
    await asyncio.sleep(2)
    sub.leave()


async def poller(ws: str, stats: Stats, stop: asyncio.Event):
    sub = await join(ws)

    def on_event(*args, **kwargs):
        stats.counts["poll_events"] += 1

    await sub.subscribe(on_event, "soak.poll")
    await stop.wait()
    sub.leave()


async def churn(ws: str, stats: Stats, stop: asyncio.Event):
    while not stop.is_set():
        try:
            s = await join(ws)
            await s.subscribe(lambda *a: None, f"soak.churn.{random.randrange(1000)}")
            await s.call("wamp.session.count")
            s.leave()
            stats.counts["churn"] += 1
        except Exception as e:  # noqa: BLE001
            stats.error("churn", e)
        await asyncio.sleep(0.5)


def ws_frame(text: str) -> bytes:
    """A masked client text frame."""
    payload = text.encode()
    mask = os.urandom(4)
    head = bytes([0x81])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    else:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def ws_upgrade(port: int):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n")
                 .encode())
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    return reader, writer


async def slow_consumer(ws: str, port: int, stats: Stats, stop: asyncio.Event):
    """Subscribes to large events and stops reading: the router must drop it."""
    big_publisher = await join(ws)

    async def publish_big():
        payload = "x" * 65536
        while not stop.is_set():
            big_publisher.publish("soak.big", payload)
            await asyncio.sleep(1 / 20)

    publishing = asyncio.create_task(publish_big())
    while not stop.is_set():
        try:
            reader, writer = await ws_upgrade(port)
            writer.write(ws_frame(json.dumps([1, "realm1", {"roles": {"subscriber": {}}}])))
            writer.write(ws_frame(json.dumps([32, 1, {}, "soak.big"])))
            await writer.drain()
            await asyncio.sleep(1)  # WELCOME and SUBSCRIBED arrive; never read again
            stats.counts["slow_rounds"] += 1
            try:
                await asyncio.wait_for(stop.wait(), 45)
            except asyncio.TimeoutError:
                pass
            writer.transport.abort()
        except Exception as e:  # noqa: BLE001
            stats.error("slow consumer", e)
            await asyncio.sleep(1)
    publishing.cancel()
    big_publisher.leave()


async def attacker(ws_port: int, rs_port: int, stats: Stats, stop: asyncio.Event):
    """Connections that never say HELLO; counts how soon the router closes them."""

    async def hold(rawsocket: bool):
        opened = time.monotonic()
        stats.attack_open += 1
        stats.counts["attack_opened"] += 1
        writer = None
        try:
            if rawsocket:
                reader, writer = await asyncio.open_connection("127.0.0.1", rs_port)
                writer.write(bytes([0x7F, 0xF1, 0, 0]))
                await writer.drain()
                await reader.readexactly(4)
            else:
                reader, writer = await ws_upgrade(ws_port)
            while await reader.read(4096):
                pass
            stats.counts["attack_closed_by_router"] += 1
            stats.attack_close_after.append(time.monotonic() - opened)
        except Exception as e:  # noqa: BLE001
            stats.error("attacker", e)
        finally:
            stats.attack_open -= 1
            if writer is not None:
                writer.transport.abort()

    tasks = set()
    while not stop.is_set():
        if stats.attack_open < 200:
            for rawsocket in (False, True):
                task = asyncio.create_task(hold(rawsocket))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        await asyncio.sleep(0.4)
    for task in tasks:
        task.cancel()


# --- sampling ----------------------------------------------------------------------------------

def proc_sample(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return {"rss_kib": rss, "fds": fds, "threads": threads}


def percentile(values, q):
    if not values:
        return ""
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 3)


async def sampler(pid: int, stats: Stats, stop: asyncio.Event, start: float, rows: list,
                  warmup: float):
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), SAMPLE_EVERY)
        except asyncio.TimeoutError:
            pass
        lat = stats.take_latencies()
        row = {"t": round(time.monotonic() - start, 1), **proc_sample(pid)}
        for kind in ("rpc", "push", "event"):
            row[f"{kind}_p50_ms"] = percentile(lat[kind], 0.5)
            row[f"{kind}_p99_ms"] = percentile(lat[kind], 0.99)
        row.update(stats.counts)
        row["attack_open"] = stats.attack_open
        row["phase"] = "warmup" if row["t"] <= warmup else "measured"
        rows.append(row)
        print(f"t={row['t']:7.1f}s rss={row['rss_kib'] / 1024:7.1f} MiB fds={row['fds']:5d} "
              f"rpc p99={row['rpc_p99_ms']} ms attack open={stats.attack_open} "
              f"closed={stats.counts['attack_closed_by_router']} errors={stats.counts['errors']}",
              flush=True)


def plot(rows: list, warmup: float, path: Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r["t"] / 60 for r in rows]
    fig, (top, mid, bottom) = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    top.plot(t, [r["rss_kib"] / 1024 for r in rows], label="RSS (MiB)")
    top.axvline(warmup / 60, color="grey", linestyle="--", label="end of warm-up")
    top.set_ylabel("RSS MiB")
    top.set_ylim(bottom=0)
    top.legend()
    mid.plot(t, [r["fds"] for r in rows], label="open fds")
    mid.plot(t, [r["attack_open"] for r in rows], label="attacker connections open")
    mid.set_ylabel("count")
    mid.legend()
    for kind in ("rpc", "push", "event"):
        bottom.plot(t, [r[f"{kind}_p99_ms"] or None for r in rows], label=f"{kind} p99 (ms)")
    bottom.set_ylabel("ms")
    bottom.set_yscale("log")
    bottom.set_xlabel("minutes")
    bottom.legend()
    fig.suptitle("Junction soak: mixed load, sampled every 10 s")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


async def main():
    txaio.start_logging(level="error")  # autobahn logs every session's close at info
    parser = argparse.ArgumentParser()
    parser.add_argument("--junction", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--warmup", type=float, default=120)
    parser.add_argument("--duration", type=float, default=1800)
    parser.add_argument("--router-cpu", default="0")
    args = parser.parse_args()
    out = Path(args.out)

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    ws_port, rs_port = free_port(), free_port()
    cfg = config(ws_port, rs_port, f"http://127.0.0.1:{upstream.server_address[1]}/data")
    (out / "config.json").write_text(json.dumps(cfg, indent=2))
    log = open(out / "router.log", "w")
    router = subprocess.Popen(
        ["taskset", "-c", args.router_cpu, args.junction, "start", "--config",
         str(out / "config.json")], stdout=log, stderr=subprocess.STDOUT)
    for _ in range(100):
        if "listening on" in (out / "router.log").read_text():
            break
        time.sleep(0.1)
    time.sleep(0.5)

    stats = Stats()
    stop = asyncio.Event()
    rows: list = []
    start = time.monotonic()
    ws = f"ws://127.0.0.1:{ws_port}/ws"
    loads = [
        pubsub(ws, stats, stop), rpc(ws, stats, stop), pusher(ws, ws_port, stats, stop),
        poller(ws, stats, stop), churn(ws, stats, stop),
        slow_consumer(ws, ws_port, stats, stop), attacker(ws_port, rs_port, stats, stop),
    ]
    tasks = [asyncio.create_task(load) for load in loads]
    sampling = asyncio.create_task(
        sampler(router.pid, stats, stop, start, rows, args.warmup))
    deadline = start + args.warmup + args.duration
    while time.monotonic() < deadline and router.poll() is None:
        await asyncio.sleep(1)
    stop.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for load, result in zip(("pubsub", "rpc", "pusher", "poller", "churn", "slow", "attacker"),
                            results):
        if isinstance(result, BaseException):
            stats.error(f"{load} ended", result)
    await sampling
    crashed = router.poll() is not None
    router.terminate()
    router.wait(10)
    upstream.shutdown()

    with open(out / "samples.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, args.warmup, out / "soak.png")

    measured = [r for r in rows if r["phase"] == "measured"]
    warm, end = measured[0], measured[-1]
    # The slow consumer's queue (up to max_outbound_bytes, 16 MiB) comes and goes every 45 s:
    # one sample can land on it. The rule compares the medians of the first and the last
    # minute (6 samples each) of the measured time.
    minute = max(1, int(60 / SAMPLE_EVERY))
    warm_rss = statistics.median(r["rss_kib"] for r in measured[:minute])
    end_rss = statistics.median(r["rss_kib"] for r in measured[-minute:])
    ratio = end_rss / warm_rss
    router_log = (out / "router.log").read_text()
    slow_drops = len(re.findall(r"slow consumer", router_log))
    lost_a = stats.counts["published"] - stats.counts["received_a"]
    lost_b = stats.counts["published"] - stats.counts["received_b"]
    lost_push = stats.counts["pushes"] - stats.counts["push_events"]
    rss_ok = ratio <= 1.10
    ok = rss_ok and lost_a == 0 and lost_b == 0 and lost_push == 0 and not crashed
    closes = sorted(stats.attack_close_after)
    lines = [
        f"warm-up {args.warmup:.0f} s, measured {args.duration:.0f} s, samples every 10 s",
        f"RSS (median of a minute) after warm-up {warm_rss / 1024:.1f} MiB, at the end "
        f"{end_rss / 1024:.1f} MiB; end/warm = {ratio:.3f}: {'PASS' if rss_ok else 'FAIL'} "
        f"(must be <= 1.10); single samples: first {warm['rss_kib'] / 1024:.1f}, last "
        f"{end['rss_kib'] / 1024:.1f}, max {max(r['rss_kib'] for r in measured) / 1024:.1f} MiB",
        f"open fds after warm-up {warm['fds']}, at the end {end['fds']}, "
        f"max {max(r['fds'] for r in measured)}; threads {end['threads']}",
        f"pub/sub: {stats.counts['published']} published (acknowledged), lost by subscriber a: "
        f"{lost_a}, b: {lost_b}",
        f"pusher: {stats.counts['pushes']} POSTs accepted, {stats.counts['push_events']} "
        f"delivered (lost {lost_push})",
        f"rpc: {stats.counts['calls']} calls; poller events: {stats.counts['poll_events']}; "
        f"churn sessions: {stats.counts['churn']}",
        f"slow consumer: {stats.counts['slow_rounds']} rounds, {slow_drops} dropped by the "
        f"router (log lines 'slow consumer')",
        f"attacker: {stats.counts['attack_opened']} connections without HELLO, "
        f"{stats.counts['attack_closed_by_router']} closed by the router"
        + (f", after {closes[len(closes) // 2]:.1f} s (median), {closes[-1]:.1f} s (max)"
           if closes else ""),
        "latency p50/p99 over the measured samples' medians (ms): "
        + ", ".join(
            f"{k} {statistics.median([r[f'{k}_p50_ms'] for r in measured if r[f'{k}_p50_ms'] != '']):.2f}"
            f"/{max(r[f'{k}_p99_ms'] for r in measured if r[f'{k}_p99_ms'] != ''):.2f} (worst p99)"
            for k in ("rpc", "push", "event")),
        f"errors: {stats.counts['errors']}" + "".join(f"\n  {e}" for e in stats.error_text),
        f"router {'EXITED DURING THE RUN' if crashed else 'ran throughout'}",
        "RESULT: " + ("PASS" if ok else "FAIL"),
    ]
    (out / "summary.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    asyncio.run(main())

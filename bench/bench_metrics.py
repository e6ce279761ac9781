"""The figures each benchmark scenario is judged by, shared by compare.sh's table and
before_after.py."""


def metrics(report):
    s = report["scenario"]
    lat = report.get("latency_us", {})
    if s == "pusher":
        rows = [("POST/s", report["requests_per_s"], True), ("p99 ms", lat.get("p99", 0) / 1000, False)]
        if "subscribers" in report:
            rows.append(("events/s", report["subscribers"]["events"] / report["seconds"], True))
        return rows
    if s in ("fanout", "sse-fanout") and report["rate"] > 0:
        return [("deliveries/s", report["deliveries_per_s"], True),
                ("p50 ms", lat.get("p50", 0) / 1000, False),
                ("p99 ms", lat.get("p99", 0) / 1000, False)]
    if s in ("fanout", "sse-fanout"):
        return [("deliveries/s", report["deliveries_per_s"], True),
                ("p99 ms", lat.get("p99", 0) / 1000, False)]
    if s == "rpc":
        if report["callers"] * report["in_flight"] == 1:
            return [("p50 us", lat.get("p50", 0), False), ("calls/s", report["calls_per_s"], True)]
        return [("calls/s", report["calls_per_s"], True), ("p99 ms", lat.get("p99", 0) / 1000, False)]
    if s == "idle":
        b = report.get("bytes_per_session")
        return [("KiB/session", b / 1024 if b is not None else None, False)]
    return []

"""The `metrics` path (issue 17 item 1), scraped after a known workload and parsed with
Prometheus's own OpenMetrics parser (prometheus_client), not with regexes: sessions by realm
and transport, subscriptions, registrations, poller polls and failures by topic, process
metrics; WAMP messages by type and serializer, events delivered, call and delivery latency
histograms, HTTP bridge requests by path and status; and no session id, authid or client URI
as a label."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from junction_harness import (Collector, Router, Sessions, anonymous_role, bridge_path,
                              http_request, make_config, realm, run, web_transport, ws_path)


@pytest.fixture
def router(request):
    r = realm("realm1", roles=[anonymous_role()])
    # An upstream that refuses connections: each poll fails, at once.
    r["topics"] = [{"name": "com.down", "publisher": {
        "type": "http-poller", "alwaysOn": True,
        "config": {"url": "http://127.0.0.1:9/", "pollingPeriod": "PT1S",
                   "retryMaxAttempts": 0}}}]
    config = make_config(realms=[r, realm("realm2", roles=[anonymous_role()])],
                         transports=[web_transport({"ws": ws_path(),
                                                    "push": bridge_path("publisher"),
                                                    "metrics": {"type": "metrics"}})])
    router = Router(config)
    request.addfinalizer(router.cleanup)
    return router.start()


def scrape(router):
    res = http_request(router.host, router.ports[0], "GET", "/metrics", content_type=None)
    assert res.status == 200, res
    assert res.headers["content-type"].startswith("application/openmetrics-text"), res.headers
    samples = {}
    for family in text_string_to_metric_families(res.body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def test_a_known_workload_shows_in_exact_values(router):
    async def main():
        async with Sessions(router.url()) as s:
            clients = [await s.connect() for _ in range(3)]
            for n, client in enumerate(clients):
                await client.subscribe(lambda *a: None, f"com.t{n}")
            await clients[0].register(lambda: None, "com.p1")
            await clients[1].register(lambda: None, "com.p2")
            samples = scrape(router)
            assert value(samples, "junction_sessions", realm="realm1",
                         transport="websocket") == 3
            assert value(samples, "junction_sessions", realm="realm2",
                         transport="websocket") is None
            # The poller's own internal session is not a client; its two procedures count.
            assert value(samples, "junction_subscriptions", realm="realm1") == 3
            assert value(samples, "junction_registrations", realm="realm1") == 2 + 2
            assert value(samples, "junction_registrations", realm="realm2") == 0
            assert value(samples, "junction_connections") == 3
        # Sessions gone: the gauges go down, the leaves are counted.
        deadline = time.monotonic() + 5
        while value(scrape(router), "junction_sessions", realm="realm1",
                    transport="websocket") not in (None, 0):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        samples = scrape(router)
        assert value(samples, "junction_joins_total", realm="realm1") == 3
        assert value(samples, "junction_leaves_total", realm="realm1") == 3
        assert value(samples, "junction_joins_total", realm="realm2") is None
        assert value(samples, "junction_authentications_total", method="anonymous",
                     outcome="accepted") == 3

    run(main())
    # The failing poller: polls counted, failing, no success.
    deadline = time.monotonic() + 10
    while True:
        samples = scrape(router)
        polls = value(samples, "junction_poller_polls_total", realm="realm1", topic="com.down",
                      outcome="error")
        if polls and polls >= 2:
            break
        assert time.monotonic() < deadline, samples
        time.sleep(0.2)
    topic = {"realm": "realm1", "topic": "com.down"}
    assert value(samples, "junction_poller_polls_total", outcome="ok", **topic) == 0
    assert value(samples, "junction_poller_consecutive_failures", **topic) == polls
    assert value(samples, "junction_poller_changes_total", **topic) == 0
    assert value(samples, "junction_poller_poll_duration_seconds_count", **topic) == polls
    assert value(samples, "junction_poller_failing", realm="realm1", topic="com.down") == 1
    assert value(samples, "junction_poller_last_success_timestamp_seconds", realm="realm1",
                 topic="com.down") is None
    assert value(samples, "junction_process_resident_memory_bytes") > 1_000_000
    assert value(samples, "junction_process_open_fds") > 3
    started = value(samples, "junction_process_start_time_seconds")
    assert time.time() - 60 < started <= time.time()
    # Bounded labels: names from the config (realm, transport, topic, path) or the protocol.
    names = {name for (_, labels) in samples for name, _ in labels}
    assert names <= {"realm", "transport", "topic", "type", "serializer", "path", "kind",
                     "status", "le", "outcome", "method", "limit"}, names


def delta(before, after, name, **labels):
    return (value(after, name, **labels) or 0) - (value(before, name, **labels) or 0)


def test_messages_deliveries_latencies_and_bridge_requests_count_exactly(router):
    """N acknowledged publishes to two subscribers (json and msgpack), M calls, and bridge
    requests with known statuses: the counters move by exactly that much."""
    n, m = 20, 7

    async def main():
        async with Sessions(router.url()) as s:
            publisher = await s.connect("json")
            json_sub = await s.connect("json")
            msgpack_sub = await s.connect("msgpack")
            events = [Collector(), Collector()]
            await json_sub.subscribe(events[0], "com.metrics.t")
            await msgpack_sub.subscribe(events[1], "com.metrics.t")
            await msgpack_sub.register(lambda x: x, "com.metrics.echo")
            from autobahn.wamp.types import PublishOptions
            before = scrape(router)
            for i in range(n):
                await publisher.publish("com.metrics.t", i,
                                        options=PublishOptions(acknowledge=True))
            for i in range(m):
                assert await publisher.call("com.metrics.echo", i) == i
            await events[0].wait(n)
            await events[1].wait(n)
            for body in [b'{"topic": "com.metrics.t", "args": [1]}'] * 3:
                res = http_request(router.host, router.ports[0], "POST", "/push", body=body)
                assert res.status == 202, res
            for body in [b"not json", b'{"args": []}']:
                res = http_request(router.host, router.ports[0], "POST", "/push", body=body)
                assert res.status == 400, res
            await events[0].wait(n + 3)
            await events[1].wait(n + 3)
            # Sent messages are counted when the writer takes them: give it a moment.
            deadline = time.monotonic() + 5
            while True:
                after = scrape(router)
                if delta(before, after, "junction_events_delivered_total") >= 2 * (n + 3):
                    break
                assert time.monotonic() < deadline, after
                await asyncio.sleep(0.05)
            return before, after

    before, after = run(main())
    json_, msgpack = {"serializer": "json"}, {"serializer": "msgpack"}
    assert delta(before, after, "junction_messages_received_total", type="PUBLISH", **json_) == n
    assert delta(before, after, "junction_messages_sent_total", type="PUBLISHED", **json_) == n
    assert delta(before, after, "junction_messages_sent_total", type="EVENT", **json_) == n + 3
    assert delta(before, after, "junction_messages_sent_total", type="EVENT", **msgpack) == n + 3
    assert delta(before, after, "junction_events_delivered_total") == 2 * (n + 3)
    assert delta(before, after, "junction_messages_received_total", type="CALL", **json_) == m
    assert delta(before, after, "junction_messages_sent_total", type="INVOCATION", **msgpack) == m
    assert delta(before, after, "junction_messages_received_total", type="YIELD", **msgpack) == m
    assert delta(before, after, "junction_messages_sent_total", type="RESULT", **json_) == m
    assert delta(before, after, "junction_received_bytes_total", **json_) > 0
    assert delta(before, after, "junction_sent_bytes_total", **msgpack) > 0
    # Latency histograms: one observation per call, one per delivery, in buckets.
    assert delta(before, after, "junction_call_duration_seconds_count") == m
    assert delta(before, after, "junction_call_duration_seconds_bucket", le="+Inf") == m
    assert delta(before, after, "junction_call_duration_seconds_sum") > 0
    assert delta(before, after, "junction_event_delivery_seconds_count") == 2 * (n + 3)
    # Bridge requests by path and status.
    push = {"path": "/push", "kind": "publisher"}
    assert delta(before, after, "junction_bridge_requests_total", status="202", **push) == 3
    assert delta(before, after, "junction_bridge_requests_total", status="400", **push) == 2
    assert delta(before, after, "junction_bridge_request_duration_seconds_count",
                 path="/push") == 5
    assert value(after, "junction_slow_consumer_disconnects_total") == 0


def test_only_get_and_head(router):
    res = http_request(router.host, router.ports[0], "POST", "/metrics", body=b"{}")
    assert res.status == 405


def test_refused_logins_refused_connections_and_the_store(request, tmp_path):
    """A wrong ticket counts as a refused ticket login, a connection over
    max_connections_per_ip as refused by that limit, and an embedded store's commits and size
    show."""
    r = realm("realm1", roles=[anonymous_role(), {"name": "user", "permissions": []}])
    r["store"] = {"type": "embedded", "path": str(tmp_path / "realm1.redb")}
    ws = ws_path()
    ws["auth"] = {"ticket": {"type": "static",
                             "principals": {"alice": {"ticket": "right", "role": "user"}}},
                  "anonymous": {"type": "static", "role": "anonymous"}}
    web = web_transport({"ws": ws, "metrics": {"type": "metrics"}})
    web["endpoint"]["max_connections_per_ip"] = 3
    config = make_config(realms=[r], transports=[web])
    router = Router(config)
    request.addfinalizer(router.cleanup)
    router.start()

    async def main():
        async with Sessions(router.url()) as s:
            await s.expect_abort(authmethods=["ticket"], authid="alice",
                                 on_challenge=lambda c: "wrong")
            ok = await s.connect(authmethods=["ticket"], authid="alice",
                                 on_challenge=lambda c: "right")
            anon = await s.connect()
            from autobahn.wamp.types import PublishOptions
            await anon.publish("com.kept", 1, options=PublishOptions(acknowledge=True,
                                                                      retain=True))
            # Two connections open: a third and a fourth; the fourth is over the limit.
            import socket
            third = socket.create_connection((router.host, router.ports[0]))
            fourth = socket.create_connection((router.host, router.ports[0]))
            fourth.settimeout(5)
            assert fourth.recv(100).startswith(b"HTTP/1.1 503"), "refused over the limit"
            fourth.close()
            third.close()
            await s.close(ok)
            await s.close(anon)

    run(main())
    deadline = time.monotonic() + 5
    while True:
        samples = scrape(router)
        if (value(samples, "junction_store_commit_duration_seconds_count", realm="realm1") or 0) >= 1:
            break
        assert time.monotonic() < deadline, samples
        time.sleep(0.05)
    assert value(samples, "junction_authentications_total", method="ticket",
                 outcome="refused") == 1
    assert value(samples, "junction_authentications_total", method="ticket",
                 outcome="accepted") == 1
    assert value(samples, "junction_authentications_total", method="anonymous",
                 outcome="accepted") == 1
    assert value(samples, "junction_connections_refused_total",
                 limit="max_connections_per_ip") == 1
    assert value(samples, "junction_connections_refused_total", limit="max_connections") == 0
    assert value(samples, "junction_store_size_bytes", realm="realm1") > 0
    assert value(samples, "junction_store_writes_total", realm="realm1") >= 1

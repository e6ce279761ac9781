"""The `metrics` path (issue 17 item 1), scraped after a known workload and parsed with
Prometheus's own OpenMetrics parser (prometheus_client), not with regexes: sessions by realm
and transport, subscriptions, registrations, poller polls and failures by topic, process
metrics; and no session id, authid or client URI as a label."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from junction_harness import (Router, Sessions, anonymous_role, http_request, make_config,
                              realm, run, web_transport, ws_path)


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
        # Sessions gone: the gauges go down.
        deadline = time.monotonic() + 5
        while value(scrape(router), "junction_sessions", realm="realm1",
                    transport="websocket") not in (None, 0):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)

    run(main())
    # The failing poller: polls counted, failing, no success.
    deadline = time.monotonic() + 10
    while True:
        samples = scrape(router)
        polls = value(samples, "junction_poller_polls_total", realm="realm1", topic="com.down")
        if polls and polls >= 2:
            break
        assert time.monotonic() < deadline, samples
        time.sleep(0.2)
    assert value(samples, "junction_poller_failing", realm="realm1", topic="com.down") == 1
    assert value(samples, "junction_poller_last_success_timestamp_seconds", realm="realm1",
                 topic="com.down") is None
    assert value(samples, "junction_process_resident_memory_bytes") > 1_000_000
    assert value(samples, "junction_process_open_fds") > 3
    started = value(samples, "junction_process_start_time_seconds")
    assert time.time() - 60 < started <= time.time()
    # Bounded labels: only realm, transport and topic ever appear.
    names = {name for (_, labels) in samples for name, _ in labels}
    assert names <= {"realm", "transport", "topic"}, names


def test_only_get_and_head(router):
    res = http_request(router.host, router.ports[0], "POST", "/metrics", body=b"{}")
    assert res.status == 405

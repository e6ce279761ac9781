"""HTTP subscribers (issue 18 item 3): an internal session of a realm subscribes to a topic and
sends every event to a URL. A real HTTP receiver (a threaded http.server in this process)
records what arrives and answers as each test scripts it; events are published by
autobahn-python sessions and by the HTTP publisher (pusher) path.

Covered: body shape and order, pattern match, retries with growing backoff, Retry-After on
429, giving up (attempts exhausted, 4xx) with the next events still flowing, the signature
checked with the README's recipe, batching, a full queue dropping and counting without
slowing the publisher, a role that may not subscribe, and Crossbar's MessageForwarder
component running natively with Crossbar's body shape.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time

import pytest
from autobahn.wamp.types import PublishOptions
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from junction_harness import (
    QuietHandler,
    Router,
    RouterStartError,
    Sessions,
    anonymous_role,
    bridge_path,
    http_request,
    make_config,
    permission,
    realm,
    run,
    start_http_server,
    start_router,
    web_transport,
    ws_path,
)

SECRET = "hook-secret-\u00e9"
TOKEN = "Bearer t0ken"
WAIT = 10.0


# ---------------------------------------------------------------------------
# the receiver


class Received:
    def __init__(self, at, path, query, headers, body):
        self.at = at
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


class Receiver:
    """An HTTP server recording every request by path. ``script[path]`` is a list of
    (status, headers) answers used up one per request (then 200); a path in ``blocked``
    answers only once it is unblocked."""

    def __init__(self):
        self.cond = threading.Condition()
        self.requests: dict[str, list[Received]] = {}
        self.script: dict[str, list[tuple[int, dict]]] = {}
        self.gates: dict[str, threading.Event] = {}
        receiver = self

        class Handler(QuietHandler):
            def serve(self, body):
                path, _, query = self.path.partition("?")
                gate = receiver.gates.get(path)
                if gate is not None:
                    gate.wait(60)
                with receiver.cond:
                    receiver.requests.setdefault(path, []).append(
                        Received(time.monotonic(), path, query, self.headers, body))
                    answers = receiver.script.get(path) or []
                    status, headers = answers.pop(0) if answers else (200, {})
                    receiver.cond.notify_all()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = start_http_server(Handler)
        self.port = self.server.server_address[1]

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def got(self, path):
        with self.cond:
            return list(self.requests.get(path, []))

    def wait(self, path, n, timeout=WAIT):
        """The first ``n`` requests to ``path``, waiting for them."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.requests.get(path, [])) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{path}: {len(self.requests.get(path, []))} requests, expected {n}")
                self.cond.wait(left)
            return list(self.requests[path][:n])

    def events(self, path, n, timeout=WAIT):
        """Waits until the 2xx-answered bodies at ``path`` hold ``n`` events; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.got(path)
            if sum(len(b) if isinstance(b, list) else 1 for b in (r.json() for r in got)) >= n:
                return [e for r in got for e in (r.json() if isinstance(r.json(), list) else [r.json()])]
            if time.monotonic() > deadline:
                raise AssertionError(f"{path}: fewer than {n} events in {len(got)} requests")
            time.sleep(0.02)

    def close(self):
        for gate in self.gates.values():
            gate.set()
        self.server.shutdown()


def verify_signature(secret: bytes, header: str, body: bytes, tolerance=300) -> bool:
    """The README's recipe, verbatim."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(secret, parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(parts["t"])) <= tolerance
    return fresh and hmac.compare_digest(expected, parts["v1"])


def metric(router, name, subscriber):
    res = http_request(router.host, router.ports[0], "GET", "/metrics", content_type=None)
    assert res.status == 200, res
    for family in text_string_to_metric_families(res.body.decode()):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("subscriber") == subscriber:
                assert sample.labels["realm"] == "realm1"
                return sample.value
    raise AssertionError(f"{name}{{subscriber={subscriber}}} not in /metrics")


def wait_metric(router, name, subscriber, value):
    """Waits until the metric reaches ``value`` (it is counted just after the answer)."""
    deadline = time.monotonic() + WAIT
    while (got := metric(router, name, subscriber)) != value:
        assert time.monotonic() < deadline, f"{name}{{subscriber={subscriber}}} = {got}, expected {value}"
        time.sleep(0.02)


# ---------------------------------------------------------------------------
# one router with a subscriber per behaviour


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.close()


FAST_RETRY = {"max_attempts": 5, "initial_delay": 0.1, "max_delay": 2}


@pytest.fixture(scope="module")
def router(request, receiver):
    receiver.gates["/slow"] = threading.Event()
    subscribers = [
        {"name": "orders", "topic": "com.example.orders", "match": "prefix",
         "url": receiver.url("/orders") + "?key=$not-a-var", "role": "anonymous",
         "headers": {"Authorization": "$HOOK_TOKEN"}, "signature": {"secret": "$HOOK_SECRET"}},
        {"name": "wild", "topic": "com..status", "match": "wildcard", "method": "PUT",
         "url": receiver.url("/wild"), "role": "anonymous"},
        {"name": "retry", "topic": "com.retry", "url": receiver.url("/retry"),
         "role": "anonymous", "retry": FAST_RETRY},
        {"name": "limited", "topic": "com.limited", "url": receiver.url("/limited"),
         "role": "anonymous", "retry": FAST_RETRY},
        {"name": "failing", "topic": "com.failing", "url": receiver.url("/failing"),
         "role": "anonymous", "retry": {"max_attempts": 3, "initial_delay": 0.05, "max_delay": 0.2}},
        {"name": "batch", "topic": "com.batch", "url": receiver.url("/batch"),
         "role": "anonymous", "batch": {"max_events": 10, "max_delay_ms": 300}},
        {"name": "slow", "topic": "com.slow", "url": receiver.url("/slow"),
         "role": "anonymous", "queue": 5, "timeout": 60},
    ]
    r = realm("realm1", roles=[anonymous_role()])
    r["http_subscribers"] = subscribers
    paths = {"ws": ws_path(), "push": bridge_path("publisher"), "metrics": {"type": "metrics"}}
    config = make_config(realms=[r], transports=[web_transport(paths)])
    env = {"HOOK_SECRET": SECRET, "HOOK_TOKEN": TOKEN}
    return start_router(request, config, env=env, name="http-subscriber")


async def publish_all(router, items, acknowledge=True):
    """Publishes (topic, args, kwargs) items from one autobahn session, in order."""
    async with Sessions(router.url(0, "ws")) as s:
        session = await s.connect("json")
        for topic, args, kwargs in items:
            published = session.publish(topic, *args,
                                        options=PublishOptions(acknowledge=acknowledge), **kwargs)
            if acknowledge:
                await published


def push(router, topic, args=None, kwargs=None):
    body = {"topic": topic}
    if args is not None:
        body["args"] = args
    if kwargs is not None:
        body["kwargs"] = kwargs
    res = http_request(router.host, router.ports[0], "POST", "/push", json_body=body)
    assert res.status == 202, res
    return res.json()["id"]


def test_events_arrive_in_order_with_the_documented_body(router, receiver):
    items = [(f"com.example.orders.{i % 3}", [i, "x"], {"n": i}) for i in range(20)]
    items.append(("com.example.other", [99], {}))  # not under the prefix
    run(publish_all(router, items))
    pushed = push(router, "com.example.orders.pushed", [20], {"via": "pusher"})
    events = receiver.events("/orders", 21)
    assert [e["args"][0] for e in events] == list(range(21))
    for i, event in enumerate(events[:20]):
        assert set(event) == {"topic", "publication", "timestamp", "args", "kwargs"}, event
        assert event["topic"] == f"com.example.orders.{i % 3}"
        assert event["args"] == [i, "x"] and event["kwargs"] == {"n": i}
        assert isinstance(event["publication"], int)
        assert abs(event["timestamp"] / 1000 - time.time()) < 60
    assert events[20]["publication"] == pushed and events[20]["kwargs"] == {"via": "pusher"}
    assert len(receiver.got("/orders")) == 21, "one request per event without batch"
    first = receiver.got("/orders")[0]
    assert first.query == "key=$not-a-var"
    assert "not-a-var" not in router.log(), "the query string is never logged"
    assert first.headers["Content-Type"] == "application/json"
    assert first.headers["Authorization"] == TOKEN
    assert TOKEN not in router.log() and SECRET not in router.log()


def test_wildcard_match_and_put(router, receiver):
    run(publish_all(router, [("com.a.status", [1], {}), ("com.a.b.status", [2], {}),
                             ("com.b.status", [3], {})]))
    events = receiver.events("/wild", 2)
    assert [(e["topic"], e["args"]) for e in events] == [("com.a.status", [1]),
                                                         ("com.b.status", [3])]


def test_signature_verifies_with_the_readme_recipe(router, receiver):
    push(router, "com.example.orders.signed", ["sig"])
    request = None
    deadline = time.monotonic() + WAIT
    while request is None:
        found = [r for r in receiver.got("/orders") if r.json()["args"] == ["sig"]]
        if found:
            request = found[0]
        elif time.monotonic() > deadline:
            raise AssertionError("signed event not received")
        else:
            time.sleep(0.02)
    header = request.headers["Junction-Signature"]
    assert verify_signature(SECRET.encode(), header, request.body)
    assert not verify_signature(b"wrong secret", header, request.body)
    assert not verify_signature(SECRET.encode(), header, request.body + b" ")


def test_retries_with_growing_backoff_deliver_once_in_order(router, receiver):
    receiver.script["/retry"] = [(500, {}), (500, {})]
    run(publish_all(router, [("com.retry", [i], {}) for i in range(3)]))
    requests = receiver.wait("/retry", 5)
    assert [r.json()["args"] for r in requests] == [[0], [0], [0], [1], [2]]
    first, second = (requests[1].at - requests[0].at, requests[2].at - requests[1].at)
    assert first >= 0.09 and second >= 0.15 and second > first, (first, second)
    time.sleep(0.3)
    assert len(receiver.got("/retry")) == 5, "each event delivered once"
    wait_metric(router, "junction_http_subscriber_delivered_total", "retry", 3)
    assert metric(router, "junction_http_subscriber_retries_total", "retry") == 2


def test_retry_after_is_honoured_on_429(router, receiver):
    receiver.script["/limited"] = [(429, {"Retry-After": "1"})]
    run(publish_all(router, [("com.limited", ["a"], {}), ("com.limited", ["b"], {})]))
    requests = receiver.wait("/limited", 3)
    assert [r.json()["args"] for r in requests] == [["a"], ["a"], ["b"]]
    waited = requests[1].at - requests[0].at
    assert 0.95 <= waited < 2.5, waited


def test_a_failing_endpoint_gives_up_and_later_events_flow(router, receiver):
    receiver.script["/failing"] = [(503, {})] * 3 + [(400, {})]
    run(publish_all(router, [("com.failing", [i], {}) for i in range(4)]))
    requests = receiver.wait("/failing", 6)
    assert [r.json()["args"][0] for r in requests] == [0, 0, 0, 1, 2, 3], \
        "3 attempts for event 0, none again for the 400 on event 1"
    wait_metric(router, "junction_http_subscriber_delivered_total", "failing", 2)
    assert metric(router, "junction_http_subscriber_failed_total", "failing") == 2
    log = router.log()
    assert "gave up" in log and "/failing" in log


def test_batches(router, receiver):
    started = time.monotonic()
    run(publish_all(router, [("com.batch", [i], {}) for i in range(25)], acknowledge=False))
    requests = receiver.wait("/batch", 3)
    bodies = [r.json() for r in requests]
    assert all(isinstance(b, list) for b in bodies)
    assert [len(b) for b in bodies] == [10, 10, 5]
    assert [e["args"][0] for b in bodies for e in b] == list(range(25))
    # The partial batch waited max_delay_ms for more.
    run(publish_all(router, [("com.batch", ["one"], {})]))
    sent = time.monotonic()
    single = receiver.wait("/batch", 4)[3]
    assert single.json()[0]["args"] == ["one"] and len(single.json()) == 1
    assert 0.25 <= single.at - sent < 3, single.at - sent
    assert time.monotonic() - started < WAIT


def test_a_full_queue_drops_and_counts_without_slowing_the_publisher(router, receiver):
    n = 60
    started = time.monotonic()
    run(publish_all(router, [("com.slow", [i], {}) for i in range(n)]))
    assert time.monotonic() - started < 5, "acknowledged publishes were slowed"
    deadline = time.monotonic() + WAIT
    while metric(router, "junction_http_subscriber_dropped_total", "slow") < n - 6:
        assert time.monotonic() < deadline, "drops not counted"
        time.sleep(0.05)
    dropped = metric(router, "junction_http_subscriber_dropped_total", "slow")
    assert metric(router, "junction_http_subscriber_queued", "slow") in (4, 5)
    receiver.gates["/slow"].set()
    kept = n - int(dropped)
    events = receiver.events("/slow", kept)
    assert [e["args"][0] for e in events] == list(range(kept)), "the oldest kept, in order"
    time.sleep(0.3)
    assert len(receiver.got("/slow")) == kept
    assert "queue full" in router.log()


# ---------------------------------------------------------------------------
# routers of their own


def test_a_role_that_may_not_subscribe_stops_the_start(receiver):
    no_sub = {"name": "reader", "permissions": [permission(subscribe=False)]}
    r = realm("realm1", roles=[anonymous_role(), no_sub])
    r["http_subscribers"] = [{"topic": "com.x", "url": receiver.url("/x"), "role": "reader"}]
    config = make_config(realms=[r], transports=[web_transport({"ws": ws_path()})])
    router = Router(config, name="http-subscriber-refused")
    try:
        with pytest.raises(RouterStartError) as failed:
            router.start()
        message = str(failed.value)
        assert "http_subscribers[0]: http subscriber cannot subscribe to \"com.x\" as role \"reader\"" in message
        assert "wamp.error.not_authorized" in message
    finally:
        router.cleanup()


def crossbar_config(receiver, component_port):
    """A Crossbar config: a router worker (port 0) whose WebSocket transport gives anonymous
    sessions the role `frontend`, and a container running a MessageForwarder that connects to
    `component_port` (0: that transport; another: none, so the role is `anonymous`)."""
    roles = [anonymous_role("frontend")]
    auth = {"anonymous": {"type": "static", "role": "frontend"}}
    paths = {"ws": dict(ws_path(), auth=auth)}
    config = make_config(realms=[realm("realm1", roles=roles)],
                         transports=[web_transport(paths)])
    config["workers"].append({
        "type": "container",
        "options": {"pythonpath": [".."]},
        "components": [{
            "type": "class",
            "classname": "crossbar.bridge.rest.MessageForwarder",
            "realm": "realm1",
            "extra": {
                "subscriptions": [
                    {"url": receiver.url("/crossbar"), "topic": "com.myapp.topic1"},
                    {"url": receiver.url("/crossbar-prefix"), "topic": "com.myapp.all.",
                     "match": "prefix"},
                ],
                "method": "POST",
                "expectedcode": 200,
                "debug": True,
            },
            "transport": {"type": "websocket", "url": "ws://127.0.0.1:0/ws",
                          "endpoint": {"type": "tcp", "host": "127.0.0.1",
                                       "port": component_port}},
        }],
    })
    return config


def test_crossbar_message_forwarder_runs_with_crossbar_body(request, receiver):
    router = start_router(request, crossbar_config(receiver, 0), name="crossbar-forwarder")
    assert "MessageForwarder" not in router.log(), "listed as not run"
    run(publish_all(router, [("com.myapp.topic1", [1, "two"], {"three": 3}),
                             ("com.myapp.topic1", [], {}),
                             ("com.myapp.all.x", ["p"], {})]))
    first, second = receiver.wait("/crossbar", 2)
    assert first.body == b'{"args":[1,"two"],"kwargs":{"three":3}}', first.body
    assert second.json() == {"args": [], "kwargs": {}}
    assert receiver.wait("/crossbar-prefix", 1)[0].json() == {"args": ["p"], "kwargs": {}}


def test_crossbar_message_forwarder_with_an_unknown_role_is_not_run(request, receiver):
    # Port 9 is no transport of the router: the role is "anonymous", which realm1 lacks.
    router = start_router(request, crossbar_config(receiver, 9), name="crossbar-forwarder-norole")
    log = router.log()
    assert "MessageForwarder" in log and 'role "anonymous" is not defined in realm "realm1"' in log, log

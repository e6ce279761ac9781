"""http-poller topics end to end (shared/reference/poller.md): the real binary polls a real
upstream HTTP server started here (ThreadingHTTPServer on 127.0.0.1, port 0), whose answers the
tests change and which records every request; autobahn-python clients subscribe to the topics
and call the poller procedures; the topics API is driven over HTTP.

Events are WAMP kwargs: {"type": "snapshot", "seq", "data"}, {"type": "patch", "seq", "patch"}
(RFC 6902, applied here with `jsonpatch`) and {"type": "error", "seq", "code", "message"}.
Every wait polls a condition against a deadline; polling periods are PT0.5S (the minimum).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, unquote_plus, urlsplit

import jsonpatch
import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallResult, SubscribeOptions

from junction_harness import (
    QuietHandler,
    Collector,
    Sessions,
    ahttp_request,
    anonymous_role,
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

PERIOD = "PT0.5S"
WAIT = 10.0  # the longest any single condition is waited for (seconds)
SNAPSHOT_PROC = "junction.poller.snapshot"
POLLS_PROC = "junction.poller.polls"
RECORD_KEYS = {"started", "duration_ms", "url", "status", "attempts", "bytes", "changed", "error"}

API_PATH = "streams/hub/api/v1"
API_TOKEN = "topics-api-token-" + secrets.token_hex(8)

# A long text keeps every document larger than the patches between them, so a change is
# published as a patch rather than as a (smaller) full snapshot.
FILLER = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 12


# ---------------------------------------------------------------------------
# the upstream HTTP server


@dataclass
class Req:
    method: str
    path: str
    query: dict  # name -> [values]
    headers: dict  # lower-case name -> value
    body: bytes
    at: float  # time.monotonic()


class Upstream:
    """A real HTTP server in a thread. ``set``/``set_json`` fix the answer for a path,
    ``route`` installs a handler ``(Req) -> (status, headers, body)``; every request is
    recorded (method, path, query, headers, body)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._requests: list[Req] = []
        self._routes: dict = {}
        upstream = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.0"

            def serve(self, body):
                parts = urlsplit(self.path)
                req = Req(self.command, parts.path,
                          parse_qs(parts.query, keep_blank_values=True),
                          {k.lower(): v for k, v in self.headers.items()}, body,
                          time.monotonic())
                status, headers, payload = upstream._respond(req)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = start_http_server(Handler)
        self.port = self.server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _respond(self, req: Req):
        with self._lock:
            self._requests.append(req)
            route = self._routes.get(req.path)
        if route is None:
            return 404, {"Content-Type": "application/json"}, b'{"error": "no such path"}'
        if callable(route):
            return route(req)
        return route

    def set(self, path, status=200, body=b"", content_type="application/json", headers=None):
        h = {"Content-Type": content_type}
        h.update(headers or {})
        with self._lock:
            self._routes[path] = (status, h, body if isinstance(body, bytes) else body.encode())

    def set_json(self, path, doc) -> bytes:
        body = json.dumps(doc).encode()
        self.set(path, 200, body)
        return body

    def route(self, path, handler):
        with self._lock:
            self._routes[path] = handler

    def hits(self, path=None) -> list[Req]:
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def count(self, path=None) -> int:
        return len(self.hits(path))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream():
    u = Upstream()
    yield u
    u.close()


# ---------------------------------------------------------------------------
# config


def poller_topic(name, url, always_on=None, mode=None, **config):
    publisher = {"type": "http-poller", "config": {"url": url, "pollingPeriod": PERIOD, **config}}
    if always_on is not None:
        publisher["alwaysOn"] = always_on
    topic = {"name": name, "publisher": publisher}
    if mode is not None:
        topic["subscriptionMode"] = mode
    return topic


def poller_config(topics, roles=None, api_options=None, extra_paths=None):
    r = realm("realm1", roles=roles if roles is not None else [anonymous_role()])
    r["topics"] = topics
    paths = {"ws": ws_path()}
    if api_options is not None:
        paths[API_PATH] = {"type": "topics-api", "realm": "realm1", "options": api_options}
    paths.update(extra_paths or {})
    return make_config(realms=[r], transports=[web_transport(paths)])


# ---------------------------------------------------------------------------
# waiting and checking


def wait_until(cond, what, timeout=WAIT, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


async def await_until(cond, what, timeout=WAIT, interval=0.02):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = cond()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


async def await_requests(upstream, path, n, what=None):
    """Waits until the upstream received at least ``n`` requests on ``path``."""
    await await_until(lambda: upstream.count(path) >= n,
                      what or f"{n} upstream request(s) on {path} (got {upstream.count(path)})")


def bodies(collector: Collector) -> list[dict]:
    return [kw for _args, kw, _details in collector.items]


async def next_event(collector: Collector, index: int) -> dict:
    """The kwargs of event number ``index`` (0-based), waiting for it."""
    items = await collector.wait(index + 1, timeout=WAIT)
    args, kwargs, _ = items[index]
    assert args == [], f"poller events carry kwargs only, got args {args!r}"
    return kwargs


async def snapshot(session, topic) -> dict:
    res = await session.call(SNAPSHOT_PROC, topic)
    assert isinstance(res, CallResult) and list(res.results) == [], \
        f"{SNAPSHOT_PROC} must answer kwargs only, got {res!r}"
    return res.kwresults


async def snapshot_at_least(session, topic, seq) -> dict:
    """Calls the snapshot procedure until its seq reaches ``seq``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        current = await snapshot(session, topic)
        if current["seq"] >= seq:
            return current
        if loop.time() > deadline:
            raise AssertionError(f"{topic}: snapshot seq {current['seq']} never reached {seq}")
        await asyncio.sleep(0.05)


def assert_patch_event(event, seq):
    assert event.get("type") == "patch", f"expected patch {seq}, got {event!r}"
    assert event["seq"] == seq, f"expected seq {seq}: {event!r}"
    assert set(event) == {"type", "seq", "patch"}, event
    assert isinstance(event["patch"], list) and event["patch"], event
    for op in event["patch"]:
        assert op.get("op") in {"add", "remove", "replace", "move", "copy", "test"}, op
        assert isinstance(op.get("path"), str), op


RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")


def rfc3339_ns(text: str) -> int:
    m = RFC3339.match(text)
    assert m, f"not an RFC 3339 instant: {text!r}"
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    seconds = int(datetime.fromisoformat(m.group(1) + zone).timestamp())
    return seconds * 10**9 + int((m.group(2) or "0").ljust(9, "0"))


def check_records(records, url):
    """Poll records as the procedure and the API return them: newest first, every field."""
    assert isinstance(records, list) and records, f"no poll records: {records!r}"
    for r in records:
        assert set(r) == RECORD_KEYS, f"record keys {sorted(r)}: {r!r}"
        assert r["url"] == url, r
        assert isinstance(r["duration_ms"], int) and r["duration_ms"] >= 0, r
        assert isinstance(r["attempts"], int) and r["attempts"] >= 1, r
        assert isinstance(r["bytes"], int) and r["bytes"] >= 0, r
        assert isinstance(r["changed"], bool), r
        assert r["status"] is None or isinstance(r["status"], int), r
        assert r["error"] is None or (isinstance(r["error"], str) and r["error"]), r
    starts = [rfc3339_ns(r["started"]) for r in records]
    assert starts == sorted(starts, reverse=True) and len(set(starts)) == len(starts), \
        f"records are not newest first: {[r['started'] for r in records]}"


def api(router, method, sub="/topics", token=API_TOKEN, base=API_PATH, headers=None, **kw):
    """A topics API request (``sub`` below the API path), with the bearer token unless
    ``token`` is None."""
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    return http_request("127.0.0.1", router.ports[0], method, f"/{base}{sub}", headers=hdrs, **kw)


async def aapi(router, method, sub="/topics", token=API_TOKEN, base=API_PATH, headers=None, **kw):
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    return await ahttp_request("127.0.0.1", router.ports[0], method, f"/{base}{sub}",
                               headers=hdrs, **kw)


def api_error(res, status) -> dict:
    assert res.status == status, f"expected {status}, got {res!r}"
    body = res.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], res
    return body


# ---------------------------------------------------------------------------
# documents


def station_docs():
    """An upstream document and three successive versions with scalar and list edits."""
    d0 = {"title": "Stations", "about": FILLER, "updated": 0,
          "stations": [{"id": 1, "name": "Nord", "temps": [1.5, 2.25]},
                       {"id": 2, "name": "Süd €", "temps": []},
                       {"id": 3, "name": "Ost", "temps": [3]}],
          "tags": ["a", "b"], "meta": {"active": True, "note": None}}
    d1 = copy.deepcopy(d0)  # a scalar changes, a nested list grows
    d1["updated"] = 1
    d1["stations"][1]["temps"].append(4.5)
    d2 = copy.deepcopy(d1)  # the first list element goes, a tag is prepended
    d2["updated"] = 2
    del d2["stations"][0]
    d2["tags"].insert(0, "z")
    d3 = copy.deepcopy(d2)  # an element appended, a key removed, one added, a list emptied
    d3["stations"].append({"id": 4, "name": "West", "temps": [0, -1.25]})
    del d3["meta"]["active"]
    d3["meta"]["note"] = "maintenance"
    d3["meta"]["since"] = "2024-01-01"
    d3["tags"] = []
    return [d0, d1, d2, d3]


# ---------------------------------------------------------------------------
# 1. retained snapshot, then patches


@pytest.mark.parametrize("ser", ["json", "msgpack"])
def test_retained_snapshot_then_patches_reproduce_the_upstream(request, upstream, ser):
    topic = "com.example.poll.stations"
    docs = station_docs()
    upstream.set_json("/stations", docs[0])
    config = poller_config([poller_topic(topic, upstream.url("/stations"), always_on=True)])
    router = start_router(request, config, name="poller-feed")

    async def main():
        async with Sessions(router.url()) as s:
            sub = await s.connect(ser)
            await snapshot_at_least(sub, topic, 1)  # the first snapshot is retained by now
            events = Collector()
            await sub.subscribe(events, topic,
                                options=SubscribeOptions(get_retained=True, details=True))
            items = await events.wait(1, timeout=WAIT)
            args, first, details = items[0]
            assert args == [] and first == {"type": "snapshot", "seq": 1, "data": docs[0]}, items
            assert details.retained is True, f"the snapshot was not the retained event: {details}"

            state, seq = first["data"], 1
            for doc in docs[1:]:
                upstream.set_json("/stations", doc)
                event = await next_event(events, seq)
                assert_patch_event(event, seq + 1)
                assert not events.items[seq][2].retained, "a live event marked retained"
                state = jsonpatch.apply_patch(state, event["patch"])
                seq += 1
                assert state == doc, f"patch {seq} applied to snapshot {seq - 1} gives {state!r}"
            assert state == docs[-1]

            # An unchanged upstream publishes nothing, however often it is polled.
            polled = upstream.count("/stations")
            await await_requests(upstream, "/stations", polled + 3)
            assert len(events.items) == len(docs), \
                f"unchanged upstream published: {bodies(events)[len(docs):]!r}"

    run(main(), timeout=45)


# ---------------------------------------------------------------------------
# 2. snapshot-only


def test_snapshot_only_mode_publishes_full_snapshots(request, upstream):
    topic = "com.example.poll.snaponly"
    docs = station_docs()
    upstream.set_json("/snap", docs[0])
    config = poller_config([poller_topic(topic, upstream.url("/snap"), mode="snapshot-only")])
    router = start_router(request, config, name="poller-snapshot-only")

    async def main():
        async with Sessions(router.url()) as s:
            sub = await s.connect("json")
            events = Collector()
            await sub.subscribe(events, topic, options=SubscribeOptions(get_retained=True))
            await await_requests(upstream, "/snap", 1, "the poller's first request")
            assert await next_event(events, 0) == {"type": "snapshot", "seq": 1, "data": docs[0]}
            for i, doc in enumerate(docs[1:], start=1):
                upstream.set_json("/snap", doc)
                event = await next_event(events, i)
                assert event == {"type": "snapshot", "seq": i + 1, "data": doc}, \
                    f"snapshot-only must send the full document: {event!r}"
            # a late subscriber gets the newest snapshot, retained
            late = await s.connect("msgpack")
            retained = Collector()
            await late.subscribe(retained, topic,
                                 options=SubscribeOptions(get_retained=True, details=True))
            (args, kwargs, details), = await retained.wait(1, timeout=WAIT)
            assert kwargs == {"type": "snapshot", "seq": len(docs), "data": docs[-1]}
            assert details.retained is True

    run(main(), timeout=40)


# ---------------------------------------------------------------------------
# 3. error events and recovery


def test_error_events_and_recovery_without_seq_gap(request, upstream):
    topic = "com.example.poll.errors"
    docs = station_docs()
    upstream.set_json("/err", docs[0])
    config = poller_config([poller_topic(topic, upstream.url("/err"), always_on=True)])
    router = start_router(request, config, name="poller-errors")

    async def main():
        async with Sessions(router.url()) as s:
            sub = await s.connect("json")
            events = Collector()
            await sub.subscribe(events, topic, options=SubscribeOptions(get_retained=True))
            await await_requests(upstream, "/err", 1, "the poller's first request")
            first = await next_event(events, 0)
            assert first == {"type": "snapshot", "seq": 1, "data": docs[0]}

            def error_with(code):
                return lambda: any(e.get("type") == "error" and e.get("code") == code
                                   for e in bodies(events))

            upstream.set("/err", 404, b'{"message": "gone"}')
            await await_until(error_with(70404), "an error event with code 70404")
            upstream.set("/err", 200, b"<html>this is not JSON</html>", content_type="text/html")
            await await_until(error_with(70016), "an error event with code 70016")
            upstream.set_json("/err", docs[1])
            recovered = await await_until(
                lambda: [e for e in bodies(events)[1:] if e.get("type") != "error"],
                "the change after recovery")

            errors = [e for e in bodies(events) if e.get("type") == "error"]
            for e in errors:
                assert set(e) == {"type", "seq", "code", "message"}, e
                assert e["seq"] == 1, f"an error event must carry the last seq (1): {e!r}"
                assert e["code"] in (70404, 70016), e
                assert isinstance(e["message"], str) and e["message"], e
            codes = [e["code"] for e in errors]
            assert codes == sorted(codes, key=lambda c: c != 70404), \
                f"404 errors then not-JSON errors expected, got {codes}"

            (change,) = recovered
            assert_patch_event(change, 2)  # seq continues: errors use up no seq
            assert jsonpatch.apply_patch(docs[0], change["patch"]) == docs[1]

            # healthy again: no more error events
            n = len(events.items)
            polled = upstream.count("/err")
            await await_requests(upstream, "/err", polled + 3)
            assert bodies(events)[n:] == [], f"events after recovery: {bodies(events)[n:]!r}"

    run(main(), timeout=40)


# ---------------------------------------------------------------------------
# 4. procedures


def test_snapshot_and_polls_procedures(request, upstream):
    topic = "com.example.poll.procs"
    docs = station_docs()
    upstream.set_json("/procs", docs[0])
    roles = [anonymous_role(), {"name": "nosub", "permissions": [permission(subscribe=False)]}]
    nosub_path = {"type": "websocket", "serializers": ["json", "msgpack"],
                  "auth": {"anonymous": {"type": "static", "role": "nosub"}}}
    config = poller_config([poller_topic(topic, upstream.url("/procs"), always_on=True)],
                           roles=roles, extra_paths={"ws-nosub": nosub_path})
    router = start_router(request, config, name="poller-procedures")

    async def main():
        async with Sessions(router.url()) as s:
            caller = await s.connect("msgpack")
            current = await snapshot_at_least(caller, topic, 1)
            assert current == {"seq": 1, "data": docs[0]}, current

            sub = await s.connect("json")
            events = Collector()
            await sub.subscribe(events, topic, options=SubscribeOptions(get_retained=True))
            await next_event(events, 0)
            body1 = upstream.set_json("/procs", docs[1])
            assert_patch_event(await next_event(events, 1), 2)
            current = await snapshot(caller, topic)
            assert current == {"seq": 2, "data": docs[1]}, current

            # the record of a poll is stored just after its event is published
            async def records_with_changes(n):
                while True:
                    recs = await caller.call(POLLS_PROC, topic)
                    if [r["changed"] for r in recs].count(True) >= n:
                        return recs
                    await asyncio.sleep(0.05)
            records = await asyncio.wait_for(records_with_changes(2), WAIT)
            check_records(records, upstream.url("/procs"))
            newest = records[0]
            assert newest["status"] == 200 and newest["error"] is None, newest
            assert newest["attempts"] == 1 and newest["bytes"] == len(body1), newest
            assert [r["changed"] for r in records].count(True) == 2, \
                f"two polls changed the payload (seq 1 and 2): {records!r}"
            assert records[-1]["changed"] is True, f"the first poll changed it: {records[-1]!r}"

            # a failed poll is recorded too, newest first
            upstream.set("/procs", 404, b"{}")
            async def newest_failed():
                while True:
                    recs = await caller.call(POLLS_PROC, topic)
                    if recs[0]["status"] == 404:
                        return recs
                    await asyncio.sleep(0.05)
            records = await asyncio.wait_for(newest_failed(), WAIT)
            check_records(records, upstream.url("/procs"))
            failed = records[0]
            assert failed["changed"] is False and failed["attempts"] == 1, failed
            assert isinstance(failed["error"], str) and "404" in failed["error"], failed
            # the failed poll changed nothing: the snapshot is still seq 2
            assert await snapshot(caller, topic) == {"seq": 2, "data": docs[1]}

            # a role that may not subscribe to the topic may not read it through procedures
            async with Sessions(router.url(0, "ws-nosub")) as other:
                denied = await other.connect("json")
                assert denied.details.authrole == "nosub", denied.details
                for proc in (SNAPSHOT_PROC, POLLS_PROC):
                    with pytest.raises(ApplicationError) as err:
                        await denied.call(proc, topic)
                    assert err.value.error == "wamp.error.not_authorized", (proc, err.value)

            for proc in (SNAPSHOT_PROC, POLLS_PROC):
                with pytest.raises(ApplicationError) as err:
                    await caller.call(proc, "com.example.poll.unknown")
                assert err.value.error == "wamp.error.invalid_argument", (proc, err.value)
                with pytest.raises(ApplicationError) as err:
                    await caller.call(proc)
                assert err.value.error == "wamp.error.invalid_argument", (proc, err.value)

    run(main(), timeout=40)


# ---------------------------------------------------------------------------
# 5. restart persistence and computed query parameters


def test_state_survives_a_restart(request, upstream):
    topic = "com.example.poll.persist"
    docs = station_docs()
    upstream.set_json("/persist", docs[0])
    initial_ms = 1000
    computed = {"since": {"type": "timestamp", "useMilliseconds": True,
                          "initialValue": initial_ms}}
    config = poller_config([poller_topic(topic, upstream.url("/persist"), always_on=True,
                                         computedQueryParameters=computed)])
    router = start_router(request, config, name="poller-persist")

    def since(req):
        assert list(req.query) == ["since"], f"query {req.query!r}"
        (value,) = req.query["since"]
        return int(value)

    async def before_restart():
        async with Sessions(router.url()) as s:
            sub = await s.connect("json")
            events = Collector()
            await sub.subscribe(events, topic, options=SubscribeOptions(get_retained=True))
            await await_requests(upstream, "/persist", 1, "the poller's first request")
            assert await next_event(events, 0) == {"type": "snapshot", "seq": 1, "data": docs[0]}
            upstream.set_json("/persist", docs[1])
            patch = await next_event(events, 1)
            assert_patch_event(patch, 2)
            # before the first success the parameter is initialValue; then the start of the
            # previous successful poll (the oldest record is the first poll)
            await await_requests(upstream, "/persist", 2)
            hits = upstream.hits("/persist")
            assert since(hits[0]) == initial_ms, hits[0]
            records = await sub.call(POLLS_PROC, topic)
            first_start_ms = rfc3339_ns(records[-1]["started"]) // 10**6
            assert since(hits[1]) == first_start_ms, \
                f"second poll sent since={since(hits[1])}, the first poll started {first_start_ms}"

    run(before_restart(), timeout=30)
    router.stop()
    stopped_ns = time.time_ns()
    polled_before = upstream.count("/persist")
    router.start()

    async def after_restart():
        async with Sessions(router.url()) as s:
            sub = await s.connect("msgpack")
            events = Collector()
            await sub.subscribe(events, topic,
                                options=SubscribeOptions(get_retained=True, details=True))
            items = await events.wait(1, timeout=WAIT)
            args, kwargs, details = items[0]
            assert kwargs == {"type": "snapshot", "seq": 2, "data": docs[1]}, \
                f"after the restart the retained snapshot must be the stored one: {items!r}"
            assert details.retained is True

            # the first request after the restart continues from the stored last success
            await await_requests(upstream, "/persist", polled_before + 1)
            first_after = upstream.hits("/persist")[polled_before]
            records = await sub.call(POLLS_PROC, topic)
            old = [r for r in records if rfc3339_ns(r["started"]) < stopped_ns]
            assert old, f"the poll records of the first run are gone: {records!r}"
            last_success = next(r for r in old if r["status"] == 200 and r["error"] is None)
            expected = rfc3339_ns(last_success["started"]) // 10**6
            assert since(first_after) != initial_ms, "restarted from initialValue"
            assert since(first_after) == expected, \
                f"first request after restart sent since={since(first_after)}, " \
                f"the stored last success is {expected} ({last_success['started']})"

            # unchanged upstream: nothing new during a few periods
            await await_requests(upstream, "/persist", polled_before + 4)
            assert len(events.items) == 1, f"published after restart: {bodies(events)[1:]!r}"
            assert await snapshot(sub, topic) == {"seq": 2, "data": docs[1]}

            # the next change continues the sequence
            upstream.set_json("/persist", docs[2])
            event = await next_event(events, 1)
            assert_patch_event(event, 3)
            assert jsonpatch.apply_patch(docs[1], event["patch"]) == docs[2]

    run(after_restart(), timeout=30)


# ---------------------------------------------------------------------------
# 6. alwaysOn false


def test_polling_waits_for_a_subscriber(request, upstream):
    lazy, clock = "com.example.poll.lazy", "com.example.poll.clock"
    upstream.set_json("/lazy", {"lazy": True, "n": 1})
    upstream.set_json("/clock", {"tick": True})
    config = poller_config([poller_topic(lazy, upstream.url("/lazy")),  # alwaysOn: default
                            poller_topic(clock, upstream.url("/clock"), always_on=True)])
    router = start_router(request, config, name="poller-lazy")

    async def main():
        # the alwaysOn topic is the clock: three of its polls are three periods
        await await_requests(upstream, "/clock", 3)
        assert upstream.count("/lazy") == 0, "polled without any subscriber"

        async with Sessions(router.url()) as s:
            other = await s.connect("json")
            await other.subscribe(Collector(), "com.example.poll.unrelated")
            ticks = upstream.count("/clock")
            await await_requests(upstream, "/clock", ticks + 2)
            assert upstream.count("/lazy") == 0, "a subscriber of another topic started polling"

            sub = await s.connect("json")
            events = Collector()
            subscribed_at = time.monotonic()
            await sub.subscribe(events, lazy)
            await await_requests(upstream, "/lazy", 1, "polling to start on subscribe")
            assert upstream.hits("/lazy")[0].at - subscribed_at < 1.0, "polling started late"
            assert await next_event(events, 0) == {"type": "snapshot", "seq": 1,
                                                   "data": {"lazy": True, "n": 1}}
            await await_requests(upstream, "/lazy", 3, "polling to go on while subscribed")

            # the subscriber leaves: polling stops again
            await s.close(sub)
            ticks = upstream.count("/clock")
            await await_requests(upstream, "/clock", ticks + 2)  # a period for the last tick
            stopped = upstream.count("/lazy")
            await await_requests(upstream, "/clock", ticks + 5)
            assert upstream.count("/lazy") == stopped, "still polling without a subscriber"

    run(main(), timeout=40)


# ---------------------------------------------------------------------------
# 7. OAuth2 client credentials


def oauth_upstream(upstream, client_id, client_secret, mode, target_path):
    """A token endpoint at /oauth/token and a target at ``target_path`` that wants the
    current token; returns the mutable state (``token``, ``issued``)."""
    state = {"token": "tok-" + secrets.token_hex(16), "issued": []}

    def token_endpoint(req: Req):
        form = parse_qs(req.body.decode(), keep_blank_values=True)
        ok = req.method == "POST" and form.get("grant_type") == ["client_credentials"] \
            and req.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
        if mode == "header":
            auth = req.headers.get("authorization", "")
            ok = ok and auth.startswith("Basic ")
            if ok:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                ok = unquote_plus(user) == client_id and unquote_plus(password) == client_secret
            ok = ok and "client_secret" not in form
        else:
            ok = ok and form.get("client_id") == [client_id] \
                and form.get("client_secret") == [client_secret]
        if not ok:
            return 401, {"Content-Type": "application/json"}, b'{"error": "invalid_client"}'
        state["issued"].append(state["token"])
        body = {"access_token": state["token"], "token_type": "Bearer", "expires_in": 3600}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def target(req: Req):
        if req.headers.get("authorization") != f"Bearer {state['token']}":
            return 401, {"WWW-Authenticate": "Bearer", "Content-Type": "application/json"}, \
                b'{"error": "invalid_token"}'
        return state["doc_response"]

    upstream.route("/oauth/token", token_endpoint)
    upstream.route(target_path, target)
    return state


@pytest.mark.parametrize("secret_source,mode", [("env", "header"), ("literal", "body")])
def test_oauth2_feed_without_leaking_secrets(request, upstream, secret_source, mode):
    topic = f"com.example.poll.oauth.{secret_source}"
    client_id = "junction client"
    client_secret = f"p@ss/w+rd={secrets.token_hex(8)}"
    docs = station_docs()
    state = oauth_upstream(upstream, client_id, client_secret, mode, "/secure")
    state["doc_response"] = (200, {"Content-Type": "application/json"}, json.dumps(docs[0]).encode())
    authorization = {"type": "oauth2", "provider": upstream.url("/oauth/token"),
                     "clientId": client_id, "mode": mode,
                     "clientSecret": "$POLLER_SECRET" if secret_source == "env" else client_secret}
    config = poller_config([poller_topic(topic, upstream.url("/secure"),
                                         authorization=authorization)],
                           api_options={"bearer_token": API_TOKEN})
    env = {"JUNCTION_LOG": "debug"}
    if secret_source == "env":
        env["POLLER_SECRET"] = client_secret
    router = start_router(request, config, env=env, name=f"poller-oauth-{secret_source}")
    tokens = [state["token"]]
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()

    async def main():
        async with Sessions(router.url()) as s:
            sub = await s.connect("json")
            events = Collector()
            await sub.subscribe(events, topic, options=SubscribeOptions(get_retained=True))
            assert await next_event(events, 0) == {"type": "snapshot", "seq": 1, "data": docs[0]}
            state["doc_response"] = (200, {"Content-Type": "application/json"},
                                     json.dumps(docs[1]).encode())
            event = await next_event(events, 1)
            assert_patch_event(event, 2)
            assert jsonpatch.apply_patch(docs[0], event["patch"]) == docs[1]

            # the token is reused while it is valid
            polled = upstream.count("/secure")
            await await_requests(upstream, "/secure", polled + 3)
            assert len(state["issued"]) == 1, f"token fetched {len(state['issued'])} times"
            for req in upstream.hits("/secure"):
                assert req.headers.get("authorization") == f"Bearer {tokens[0]}", req.headers

            # the provider rotates the token: the target's 401 makes the poller fetch a new
            # one and retry, without an error event
            state["token"] = "tok-" + secrets.token_hex(16)
            tokens.append(state["token"])
            await await_until(lambda: any(r.headers.get("authorization") == f"Bearer {tokens[1]}"
                                          for r in upstream.hits("/secure")),
                              "a request with the new token")
            assert len(state["issued"]) == 2, state["issued"]
            state["doc_response"] = (200, {"Content-Type": "application/json"},
                                     json.dumps(docs[2]).encode())
            event = await next_event(events, 2)
            assert_patch_event(event, 3)
            assert [e for e in bodies(events) if e["type"] == "error"] == [], bodies(events)

            # what the router shows about the topic
            records = await sub.call(POLLS_PROC, topic)
            check_records(records, upstream.url("/secure"))
            shown = [json.dumps(records)]
            for sub_path in ("/topics", f"/topics/{topic}", f"/topics/{topic}/polls"):
                res = await aapi(router, "GET", sub_path)
                assert res.status == 200, res
                shown.append(res.body.decode())
            view = json.loads(shown[2])
            assert view["name"] == topic and view["origin"] == "config", view
            shown_secret = view["definition"]["publisher"]["config"]["authorization"]["clientSecret"]
            expected = "$POLLER_SECRET" if secret_source == "env" else "<redacted>"
            assert shown_secret == expected, view
            for text in shown:
                for secret in (client_secret, basic, *tokens):
                    assert secret not in text, f"{secret!r} shown in {text[:2000]}"

    run(main(), timeout=40)
    router.stop()
    log = router.log()
    assert "poll" in log, "the router log is empty"
    for secret in (client_secret, basic, *tokens):
        assert secret not in log, f"{secret!r} in the router log"


# ---------------------------------------------------------------------------
# 8. the topics API


def api_config(upstream, post_body_limit=None, clock=True):
    options = {"bearer_token": API_TOKEN}
    if post_body_limit is not None:
        options["post_body_limit"] = post_body_limit
    topics = []
    if clock:
        upstream.set_json("/clock", {"tick": True})
        topics.append(poller_topic("com.example.poll.clock", upstream.url("/clock"),
                                   always_on=True))
    extra = {
        # right token, but the client's address is not allowed
        "streams/hub/api/v2": {"type": "topics-api", "realm": "realm1",
                               "options": {"bearer_token": API_TOKEN,
                                           "require_ip": ["10.9.8.7"]}},
        # address allow list alone
        "ipapi": {"type": "topics-api", "realm": "realm1",
                  "options": {"require_ip": ["127.0.0.1"]}},
    }
    return poller_config(topics, api_options=options, extra_paths=extra)


def created_topic(upstream, name, path, **extra):
    config = {"url": upstream.url(path), "pollingPeriod": PERIOD, **extra}
    return {"name": name, "publisher": {"type": "http-poller", "alwaysOn": True,
                                        "config": config}}


def test_topics_api_guards(request, upstream):
    limit = 2048
    router = start_router(request, api_config(upstream, post_body_limit=limit, clock=False),
                          name="poller-api-guards")
    for token in (None, "wrong-" + API_TOKEN):
        for method, sub in (("GET", "/topics"), ("POST", "/topics"),
                            ("DELETE", "/topics/com.example.x")):
            res = api(router, method, sub, token=token, json_body={} if method == "POST" else None)
            api_error(res, 401)
            assert res.header("WWW-Authenticate") == "Bearer", res
    res = api(router, "GET", token=None, headers={"Authorization": API_TOKEN})  # no "Bearer "
    api_error(res, 401)

    res = api(router, "GET", base="streams/hub/api/v2")
    api_error(res, 403)
    res = api(router, "GET", token=None, base="ipapi")
    assert res.status == 200 and res.json() == [], res

    res = api(router, "GET")
    assert res.status == 200 and res.json() == [], res
    assert res.header("Content-Type").startswith("application/json"), res

    topic = created_topic(upstream, "com.example.poll.big", "/big",
                          headers={"X-Padding": "x" * (2 * limit)})
    api_error(api(router, "POST", json_body=topic), 413)
    api_error(api(router, "POST", body=json.dumps(topic), content_type="text/plain"), 415)
    api_error(api(router, "POST", body=b"{not json"), 400)
    # nothing was created by the refused requests
    assert api(router, "GET").json() == []
    assert upstream.count() == 0


def test_topics_api_lifecycle(request, upstream):
    name = "com.example.poll.created"
    docs = station_docs()
    client_secret = "api-client-secret-" + secrets.token_hex(8)
    api_key = "api-key-" + secrets.token_hex(8)
    state = oauth_upstream(upstream, "api-client", client_secret, "header", "/created")
    state["doc_response"] = (200, {"Content-Type": "application/json"},
                             json.dumps(docs[0]).encode())
    router = start_router(request, api_config(upstream), env={"JUNCTION_LOG": "debug"},
                          name="poller-api-lifecycle")
    definition = created_topic(
        upstream, name, "/created",
        headers={"X-Api-Key": api_key, "X-Trace": "v1", "X-Old": "old"},
        authorization={"type": "oauth2", "provider": upstream.url("/oauth/token"),
                       "clientId": "api-client", "clientSecret": client_secret})

    async def main():
        async with Sessions(router.url()) as s:
            res = await aapi(router, "POST", json_body=definition)
            assert res.status == 201, res
            view = res.json()
            assert view["name"] == name and view["origin"] == "api", view
            await await_requests(upstream, "/created", 1, "the created topic to poll")
            req = upstream.hits("/created")[0]
            assert req.headers.get("x-api-key") == api_key and req.headers.get("x-old") == "old"
            assert req.headers.get("x-trace") == "v1", req.headers

            sub = await s.connect("json")
            events = Collector()
            await sub.subscribe(events, name, options=SubscribeOptions(get_retained=True))
            assert await next_event(events, 0) == {"type": "snapshot", "seq": 1, "data": docs[0]}

            # listed and shown, secrets redacted
            res = await aapi(router, "GET")
            assert res.status == 200, res
            listed = {t["name"]: t for t in res.json()}
            assert set(listed) == {name, "com.example.poll.clock"}, listed
            assert listed[name]["origin"] == "api"
            assert listed["com.example.poll.clock"]["origin"] == "config"
            res_one = await aapi(router, "GET", f"/topics/{name}")
            assert res_one.status == 200, res_one
            view = res_one.json()
            config = view["definition"]["publisher"]["config"]
            assert config["headers"] == {"X-Api-Key": "<redacted>", "X-Trace": "v1",
                                         "X-Old": "old"}, config["headers"]
            assert config["authorization"]["clientSecret"] == "<redacted>", config
            assert config["authorization"]["clientId"] == "api-client"
            assert view["seq"] == 1, view
            for shown in (res.body, res_one.body):
                for secret in (client_secret, api_key, state["token"]):
                    assert secret.encode() not in shown, f"{secret} shown: {shown[:2000]!r}"

            # merge patch: change one header, remove another
            patch = {"publisher": {"config": {"headers": {"X-Trace": "v2", "X-Old": None}}}}
            res = await aapi(router, "PATCH", f"/topics/{name}", json_body=patch,
                             content_type="application/merge-patch+json")
            assert res.status == 200, res
            headers = res.json()["definition"]["publisher"]["config"]["headers"]
            assert headers == {"X-Api-Key": "<redacted>", "X-Trace": "v2"}, headers
            await await_until(lambda: any(r.headers.get("x-trace") == "v2"
                                          for r in upstream.hits("/created")),
                              "a request with the patched header")
            first_new = next(i for i, r in enumerate(upstream.hits("/created"))
                             if r.headers.get("x-trace") == "v2")
            await await_requests(upstream, "/created", first_new + 3)
            for r in upstream.hits("/created")[first_new:]:
                assert r.headers.get("x-trace") == "v2", r.headers
                assert "x-old" not in r.headers, f"removed header still sent: {r.headers}"
                assert r.headers.get("x-api-key") == api_key, "secret header lost by the patch"
                assert r.headers.get("authorization") == f"Bearer {state['token']}", r.headers
            # the restarted poller continues the feed
            state["doc_response"] = (200, {"Content-Type": "application/json"},
                                     json.dumps(docs[1]).encode())
            event = await next_event(events, 1)
            assert_patch_event(event, 2)
            assert jsonpatch.apply_patch(docs[0], event["patch"]) == docs[1]

            res = await aapi(router, "GET", f"/topics/{name}/polls")
            assert res.status == 200, res
            records = res.json()
            check_records(records, upstream.url("/created"))
            assert records[0]["status"] == 200 and records[0]["attempts"] >= 1, records[0]
            assert any(r["changed"] for r in records), records
            for secret in (client_secret, api_key, state["token"]):
                assert secret.encode() not in res.body

            # delete: 204, polling stops, the topic is gone
            res = await aapi(router, "DELETE", f"/topics/{name}")
            assert res.status == 204 and res.body == b"", res
            ticks = upstream.count("/clock")
            await await_requests(upstream, "/clock", ticks + 1)
            stopped = upstream.count("/created")
            late = Collector()
            await sub.subscribe(late, name, options=SubscribeOptions(get_retained=True))
            await await_requests(upstream, "/clock", ticks + 4)
            assert upstream.count("/created") == stopped, "still polling after DELETE"
            assert late.items == [], f"a deleted topic's snapshot is still retained: {late.items}"
            for method, sub_path in (("GET", f"/topics/{name}"),
                                     ("GET", f"/topics/{name}/polls"),
                                     ("DELETE", f"/topics/{name}")):
                api_error(await aapi(router, method, sub_path), 404)
            res = await aapi(router, "GET")
            assert [t["name"] for t in res.json()] == ["com.example.poll.clock"], res

    run(main(), timeout=45)
    router.stop()
    for secret in (client_secret, api_key, state["token"]):
        assert secret not in router.log(), f"{secret} in the router log"


def test_topics_api_refuses_invalid_duplicate_and_config_topics(request, upstream):
    router = start_router(request, api_config(upstream), name="poller-api-refusals")
    clock = "com.example.poll.clock"
    upstream.set_json("/made", {"made": 1})

    def bad(mutate):
        d = created_topic(upstream, "com.example.poll.bad", "/bad")
        mutate(d)
        return d

    cases = [
        (lambda d: d["publisher"]["config"].update(pollingPeriod="PT0.1S"),
         "publisher.config.pollingPeriod"),
        (lambda d: d["publisher"]["config"].update(pollingPeriod="5 seconds"),
         "publisher.config.pollingPeriod"),
        (lambda d: d["publisher"]["config"].update(url="ftp://127.0.0.1/x"),
         "publisher.config.url"),
        (lambda d: d["publisher"]["config"].update(payloadPointer="items"),
         "publisher.config.payloadPointer"),
        (lambda d: d["publisher"]["config"].update(retryBackOffMaxDuration="PT61S"),
         "publisher.config.retryBackOffMaxDuration"),
        (lambda d: d["publisher"].update(type="http-pusher"), "publisher.type"),
        (lambda d: d["publisher"]["config"].pop("url"), "publisher.config"),
    ]
    for mutate, path in cases:
        res = api(router, "POST", json_body=bad(mutate))
        body = api_error(res, 400)
        assert body.get("path", "").startswith(path), f"expected path {path}: {body!r}"
        if path == "publisher.config":
            assert "url" in body["error"] or body["path"].endswith("url"), body
    assert {t["name"] for t in api(router, "GET").json()} == {clock}

    made = created_topic(upstream, "com.example.poll.made", "/made")
    res = api(router, "POST", json_body=made)
    assert res.status == 201, res
    api_error(api(router, "POST", json_body=made), 409)
    dup = created_topic(upstream, clock, "/made")
    api_error(api(router, "POST", json_body=dup), 409)

    # the name cannot change through PATCH
    body = api_error(api(router, "PATCH", "/topics/com.example.poll.made",
                         json_body={"name": "com.example.poll.renamed"},
                         content_type="application/merge-patch+json"), 400)
    assert body.get("path") == "name", body
    # an invalid PATCH is refused and changes nothing
    body = api_error(api(router, "PATCH", "/topics/com.example.poll.made",
                         json_body={"publisher": {"config": {"pollingPeriod": "PT2H"}}},
                         content_type="application/merge-patch+json"), 400)
    assert body.get("path") == "publisher.config.pollingPeriod", body
    api_error(api(router, "PATCH", "/topics/com.example.poll.nope", json_body={},
                  content_type="application/merge-patch+json"), 404)

    # config.json topics are read-only
    api_error(api(router, "PATCH", f"/topics/{clock}",
                  json_body={"publisher": {"config": {"pollingPeriod": "PT1S"}}},
                  content_type="application/merge-patch+json"), 409)
    api_error(api(router, "DELETE", f"/topics/{clock}"), 409)
    res = api(router, "GET", f"/topics/{clock}")
    assert res.status == 200 and res.json()["origin"] == "config", res
    assert res.json()["definition"]["publisher"]["config"]["pollingPeriod"] == PERIOD
    ticks = upstream.count("/clock")
    wait_until(lambda: upstream.count("/clock") >= ticks + 2, "the config topic to keep polling")
    res = api(router, "GET", "/topics/com.example.poll.made")
    assert res.json()["definition"]["publisher"]["config"]["pollingPeriod"] == PERIOD, res


def test_created_topic_survives_a_restart(request, upstream):
    name = "com.example.poll.kept"
    upstream.set_json("/kept", {"kept": [1, 2, 3]})
    router = start_router(request, api_config(upstream, clock=False), name="poller-api-restart")
    res = api(router, "POST", json_body=created_topic(upstream, name, "/kept"))
    assert res.status == 201, res
    wait_until(lambda: upstream.count("/kept") >= 2, "the created topic to poll")

    router.stop()
    polled = upstream.count("/kept")
    router.start()

    res = api(router, "GET")
    assert res.status == 200, res
    assert [(t["name"], t["origin"]) for t in res.json()] == [(name, "api")], res
    wait_until(lambda: upstream.count("/kept") >= polled + 2,
               "the created topic to poll after the restart")
    view = api(router, "GET", f"/topics/{name}").json()
    assert view["seq"] == 1, f"the stored state was not restored: {view!r}"

    async def main():
        async with Sessions(router.url()) as s:
            sub = await s.connect("json")
            events = Collector()
            await sub.subscribe(events, name, options=SubscribeOptions(get_retained=True))
            assert await next_event(events, 0) == {"type": "snapshot", "seq": 1,
                                                   "data": {"kept": [1, 2, 3]}}

    run(main(), timeout=20)

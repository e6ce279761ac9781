"""The `sse` path type (issue 18 item 1): a real HTTP client reads
`text/event-stream` from the real server while autobahn-python publishes; every event arrives
once, in order, as `id:`/`event:`/`data:`; a `retry:` hint first and heartbeat comments;
several topics and pattern matches in one stream; 403 for a topic the path's role may not
subscribe to, 400 for a bad query, 405 for another method (all with a JSON body); and a
reader too slow for its queue is dropped while the publisher never waits; a client resuming
with Last-Event-ID (header or query) gets exactly the events it missed from event history,
then live ones, and `event: reset` when its position is older than the history."""

from __future__ import annotations

import http.client
import json
import subprocess
import time

import pytest
from autobahn.wamp.types import PublishOptions

from test_metrics import scrape, value
from junction_harness import (Router, Sessions, anonymous_role, make_config, permission, realm,
                              run, web_transport, ws_path)


@pytest.fixture
def router(request):
    restricted = {"name": "restricted", "permissions": [
        permission("com.public", match="prefix", call=False, register=False, publish=False)]}
    r = realm("realm1", roles=[anonymous_role(), restricted])
    r["store"] = {"type": "memory", "event-history": [
        {"uri": "com.hist", "match": "prefix", "limit": 150}]}
    sse = {"type": "sse", "realm": "realm1", "role": "anonymous"}
    config = make_config(realms=[r], transports=[web_transport({
        "ws": ws_path(),
        "events": sse,
        "named": dict(sse, event="topic", heartbeat=1, retry=250),
        "public": dict(sse, role="restricted"),
        "small": dict(sse, queue=4),
        "metrics": {"type": "metrics"},
    })])
    router = Router(config)
    request.addfinalizer(router.cleanup)
    return router.start()


class Stream:
    """An open `text/event-stream` response, read event by event."""

    def __init__(self, router, target, timeout=5.0, last_event_id=None):
        self.conn = http.client.HTTPConnection(router.host, router.ports[0], timeout=timeout)
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.conn.request("GET", target, headers=headers)
        self.response = self.conn.getresponse()

    def next_block(self):
        """The lines of the next block (up to a blank line); [] at the end of the stream."""
        lines = []
        while True:
            line = self.response.readline()
            if not line:
                return lines
            line = line.decode().rstrip("\n")
            if line == "":
                if lines:
                    return lines
                continue
            lines.append(line)

    def next_event(self):
        """The next event's fields (comments skipped); None at the end of the stream."""
        while True:
            block = self.next_block()
            if not block:
                return None
            fields = {}
            for line in block:
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(": ")
                fields[name] = value
            if "data" in fields:
                fields["data"] = json.loads(fields["data"])
                return fields

    def close(self):
        self.conn.close()


def rss_bytes(router) -> int:
    with open(f"/proc/{router.proc.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def publish_all(router, topics_and_args, acknowledge=True):
    async def main():
        async with Sessions(router.url()) as s:
            publisher = await s.connect()
            for topic, arg in topics_and_args:
                await publisher.publish(topic, arg, options=PublishOptions(acknowledge=True))
    run(main())


def test_live_events_arrive_once_and_in_order(router):
    stream = Stream(router, "/events?topic=com.example.a")
    assert stream.response.status == 200
    assert stream.response.getheader("content-type") == "text/event-stream"
    assert stream.next_block() == ["retry: 3000"]
    publish_all(router, [("com.example.a", i) for i in range(50)] + [("com.example.b", 99)])
    ids = []
    for i in range(50):
        event = stream.next_event()
        assert "event" not in event, event  # no name by default: EventSource's onmessage
        assert event["data"]["topic"] == "com.example.a"
        assert event["data"]["args"] == [i], event
        assert event["data"]["publication"] == int(event["id"])
        ids.append(int(event["id"]))
    assert len(set(ids)) == 50
    stream.close()


def test_a_burst_arrives_complete_and_in_order(router):
    """Events queued behind one another go out joined in one chunk: none is cut, lost or
    reordered within its topic, with two topics merged into one stream."""
    stream = Stream(router, "/events?topic=com.burst.a&topic=com.burst.b")
    assert stream.next_block() == ["retry: 3000"]

    async def main():
        async with Sessions(router.url()) as s:
            publisher = await s.connect()
            for i in range(400):  # not acknowledged: all sent at once
                publisher.publish("com.burst.a" if i % 3 else "com.burst.b", i, "x" * (i % 50))
            await publisher.publish("com.burst.a", 400, options=PublishOptions(acknowledge=True))
    run(main())
    seen = {"com.burst.a": [], "com.burst.b": []}
    for _ in range(401):
        event = stream.next_event()
        assert event is not None, f"the stream ended after {seen}"
        data = event["data"]
        i = data["args"][0]
        assert data["args"] == ([i] if i == 400 else [i, "x" * (i % 50)]), event
        assert data["publication"] == int(event["id"])
        seen[data["topic"]].append(i)
    assert seen["com.burst.a"] == [i for i in range(401) if i % 3 or i == 400]
    assert seen["com.burst.b"] == [i for i in range(400) if i % 3 == 0]
    stream.close()


def test_several_topics_patterns_names_heartbeats(router):
    stream = Stream(router, "/named?topic=com.x&topic=com.y&match=prefix")
    assert stream.next_block() == ["retry: 250"]
    # Nothing published for a while: heartbeat comments keep the stream alive.
    assert stream.next_block() == [": heartbeat"]
    publish_all(router, [("com.x.one", 1), ("com.z", 2), ("com.y", 3)])
    first, second = stream.next_event(), stream.next_event()
    assert (first["event"], first["data"]["args"]) == ("com.x.one", [1])
    assert (second["event"], second["data"]["args"]) == ("com.y", [3])
    stream.close()


def test_refusals_are_json_before_any_stream(router):
    def get(target, method="GET"):
        conn = http.client.HTTPConnection(router.host, router.ports[0], timeout=5)
        conn.request(method, target)
        res = conn.getresponse()
        body = res.read()
        conn.close()
        return res.status, res.getheader("content-type"), json.loads(body)

    status, kind, body = get("/public?topic=com.private")
    assert status == 403 and kind.startswith("application/json"), body
    assert body["error"] == "wamp.error.not_authorized", body
    # The role may subscribe below com.public, and a later topic's refusal refuses the stream.
    assert get("/public?topic=com.public.news&topic=com.secret")[0] == 403
    assert get("/events")[0] == 400
    assert get("/events?topic=com.a&match=regex")[0] == 400
    assert get("/events?topic=not..valid")[0] == 400
    assert get("/events?topic=com.a", method="POST")[0] == 405
    allowed = Stream(router, "/public?topic=com.public.news")
    assert allowed.response.status == 200
    allowed.close()


def test_a_slow_reader_is_dropped_and_the_publisher_never_waits(router):
    # A reader that reads nothing while 40 MB are published: the socket buffers fill (a few
    # MB on loopback), then the path's queue (4 events), and the reader is dropped.
    stream = Stream(router, "/small?topic=com.big")
    assert stream.next_block() == ["retry: 3000"]
    big = "x" * 20_000
    before = rss_bytes(router)
    started = time.monotonic()
    publish_all(router, [("com.big", big)] * 2000)
    assert time.monotonic() - started < 30, "the publisher was slowed by the reader"
    grown = rss_bytes(router) - before
    print(f"router RSS grew {grown / 1e6:.1f} MB while 40 MB went to a stuck reader")
    assert grown < 20e6, f"memory grew {grown} bytes: the stuck reader's events were kept"
    received = 0
    while stream.next_event() is not None:
        received += 1
    assert received < 2000, "the slow reader was dropped, its stream ended"
    stream.close()


def test_resume_replays_exactly_what_was_missed_then_live(router):
    stream = Stream(router, "/events?topic=com.hist&match=prefix")
    assert stream.next_block() == ["retry: 3000"]
    publish_all(router, [("com.hist.a", i) for i in range(5)])
    seen = [stream.next_event() for _ in range(5)]
    assert [e["data"]["args"][0] for e in seen] == list(range(5))
    last = seen[-1]["id"]
    stream.close()
    # Disconnected: 100 events on two topics under the prefix, and one outside it.
    publish_all(router, [(f"com.hist.{'ab'[i % 2]}", 100 + i) for i in range(100)]
                + [("com.other", -1)])
    resumed = Stream(router, "/events?topic=com.hist&match=prefix", last_event_id=last)
    assert resumed.next_block() == ["retry: 3000"]
    missed = [resumed.next_event() for _ in range(100)]
    assert [e["data"]["args"][0] for e in missed] == [100 + i for i in range(100)]
    assert [e["data"]["topic"] for e in missed[:2]] == ["com.hist.a", "com.hist.b"]
    # Then live events, none of the replayed ones again.
    publish_all(router, [("com.hist.a", 1000 + i) for i in range(3)])
    live = [resumed.next_event() for _ in range(3)]
    assert [e["data"]["args"][0] for e in live] == [1000, 1001, 1002]
    ids = [e["id"] for e in missed + live]
    assert len(set(ids)) == len(ids)
    resumed.close()
    # The query parameter works the same for clients that cannot set headers.
    by_query = Stream(router, f"/events?topic=com.hist&match=prefix&lastEventId={missed[-2]['id']}")
    assert by_query.next_block() == ["retry: 3000"]
    assert by_query.next_event()["data"]["args"] == [199]
    by_query.close()


def test_a_position_older_than_history_is_told_with_reset(router):
    publish_all(router, [("com.hist.a", i) for i in range(3)])
    stream = Stream(router, "/events?topic=com.hist.a", last_event_id="12345")
    assert stream.next_block() == ["retry: 3000"]
    reset = stream.next_block()
    assert reset[0] == "event: reset", reset
    data = json.loads(reset[1].removeprefix("data: "))
    assert data["lastEventId"] == "12345" and "missed" in data["reason"], data
    publish_all(router, [("com.hist.a", 7)])
    assert stream.next_event()["data"]["args"] == [7]
    stream.close()


def test_streams_and_refusals_show_in_metrics(router):
    streams = [Stream(router, "/events?topic=com.m"), Stream(router, "/events?topic=com.n")]
    for stream in streams:
        assert stream.next_block() == ["retry: 3000"]
    refused = Stream(router, "/public?topic=com.private")
    assert refused.response.status == 403
    refused.close()
    samples = scrape(router)
    assert value(samples, "junction_sse_streams", path="/events") == 2, samples
    assert value(samples, "junction_bridge_requests_total", path="/events", kind="sse",
                 status="200") == 2
    assert value(samples, "junction_bridge_requests_total", path="/public", kind="sse",
                 status="403") == 1
    for stream in streams:
        stream.close()
    deadline = time.monotonic() + 10
    # A closed stream is noticed at its next write (a heartbeat or an event).
    while value(scrape(router), "junction_sse_streams", path="/events") != 0:
        publish_all(router, [("com.m", 0), ("com.n", 0)])
        assert time.monotonic() < deadline, "closed streams still counted as open"
        time.sleep(0.1)


class Curl:
    """`curl -N` reading a stream, as the README shows it; its output read line by line."""

    def __init__(self, router, target, *args):
        url = f"http://{router.host}:{router.ports[0]}{target}"
        self.proc = subprocess.Popen(["curl", "-sSN", "--max-time", "30", *args, url],
                                     stdout=subprocess.PIPE)
        # The retry hint comes once the stream's subscriptions are made.
        assert self.proc.stdout.readline().startswith(b"retry: "), "no stream"

    def next_event(self):
        fields = {}
        for raw in self.proc.stdout:
            line = raw.decode().rstrip("\n")
            if line == "" and "data" in fields:
                return fields
            if line and not line.startswith(":"):
                name, _, val = line.partition(": ")
                fields[name] = val
        raise AssertionError("curl's stream ended")

    def close(self):
        self.proc.kill()
        self.proc.wait()


def test_curl_reads_live_events_and_resumes_with_last_event_id(router):
    live = Curl(router, "/events?topic=com.hist.curl")
    publish_all(router, [("com.hist.curl", i) for i in range(3)])
    seen = [live.next_event() for _ in range(3)]
    assert [json.loads(e["data"])["args"] for e in seen] == [[0], [1], [2]]
    live.close()
    publish_all(router, [("com.hist.curl", i) for i in range(3, 103)])
    resumed = Curl(router, "/events?topic=com.hist.curl", "-H", f"Last-Event-ID: {seen[-1]['id']}")
    missed = [json.loads(resumed.next_event()["data"])["args"][0] for _ in range(100)]
    assert missed == list(range(3, 103))
    resumed.close()
    reset = Curl(router, "/events?topic=com.hist.curl", "-H", "Last-Event-ID: 1")
    assert reset.next_event()["event"] == "reset"
    reset.close()
    refused = subprocess.run(
        ["curl", "-s", "-w", "\n%{http_code}",
         f"http://{router.host}:{router.ports[0]}/public?topic=com.private"],
        capture_output=True, check=True, timeout=10)
    body, status = refused.stdout.decode().rsplit("\n", 1)
    assert status == "403" and json.loads(body)["error"] == "wamp.error.not_authorized"

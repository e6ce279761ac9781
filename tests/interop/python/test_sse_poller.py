"""A topic's state over Server-Sent Events (issue 18 item 2), the Streams way: a stream on an
http-poller topic starts with the topic's current snapshot, then its patches, each with its
`seq`; a client resuming after a gap the event history does not cover gets `event: reset`
and a fresh snapshot, while one whose gap the history covers gets exactly the missed patches
and no snapshot. Any retained event comes first (`"retained": true` in its data), unless the
stream asks `retained=false`. The poller polls a real upstream HTTP server started here."""

from __future__ import annotations

import http.client
import json
import time

import jsonpatch
import pytest
from autobahn.wamp.types import PublishOptions

from junction_harness import (Sessions, anonymous_role, make_config, realm, run, start_router,
                              web_transport, ws_path)
from test_poller import Upstream, poller_topic, station_docs, wait_until

FEED = "com.example.poll.feed"  # no event history: a gap means a fresh snapshot
KEPT = "com.example.poll.kept"  # event history of 10: a gap is replayed


@pytest.fixture
def upstream():
    u = Upstream()
    yield u
    u.close()


@pytest.fixture
def router(request, upstream):
    docs = station_docs()
    upstream.set_json("/feed", docs[0])
    upstream.set_json("/kept", docs[0])
    r = realm("realm1", roles=[anonymous_role()])
    r["topics"] = [poller_topic(FEED, upstream.url("/feed"), always_on=True),
                   poller_topic(KEPT, upstream.url("/kept"), always_on=True)]
    r["store"] = {"type": "memory", "event-history": [{"uri": KEPT, "limit": 10}]}
    sse = {"type": "sse", "realm": "realm1", "role": "anonymous"}
    config = make_config(realms=[r], transports=[web_transport({"ws": ws_path(),
                                                                 "events": sse})])
    return start_router(request, config, name="sse-poller")


class Stream:
    def __init__(self, router, target, last_event_id=None):
        self.conn = http.client.HTTPConnection(router.host, router.ports[0], timeout=10)
        headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
        self.conn.request("GET", target, headers=headers)
        self.response = self.conn.getresponse()
        assert self.response.status == 200

    def next_event(self):
        """(event name or None, id, data) of the next event; comments and hints skipped."""
        fields = {}
        while True:
            line = self.response.readline()
            assert line, "the stream ended"
            line = line.decode().rstrip("\n")
            if line == "" and "data" in fields:
                return fields.get("event"), fields.get("id"), json.loads(fields["data"])
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value

    def close(self):
        self.conn.close()


def change(upstream, path, doc):
    """Serves `doc` and waits for two polls, so the change has been seen."""
    upstream.set_json(path, doc)
    polled = upstream.count(path)
    wait_until(lambda: upstream.count(path) >= polled + 2, f"two polls of {path}")


def test_a_poller_topic_streams_its_snapshot_then_patches(router, upstream):
    docs = station_docs()
    stream = Stream(router, f"/events?topic={FEED}")
    _, _, first = stream.next_event()
    assert first["kwargs"] == {"type": "snapshot", "seq": 1, "data": docs[0]}, first
    state = first["kwargs"]["data"]
    for seq, doc in enumerate(docs[1:], start=2):
        upstream.set_json("/feed", doc)
        _, _, event = stream.next_event()
        assert (event["kwargs"]["type"], event["kwargs"]["seq"]) == ("patch", seq), event
        state = jsonpatch.apply_patch(state, event["kwargs"]["patch"])
        assert state == doc
    stream.close()


def reconnect_after_two_changes(router, upstream, topic, path):
    """Reads the first snapshot, disconnects while the upstream changes twice, reconnects with
    Last-Event-ID; the first snapshot event, its id and the new stream."""
    docs = station_docs()
    stream = Stream(router, f"/events?topic={topic}")
    _, seen, first = stream.next_event()
    assert first["kwargs"]["seq"] == 1
    stream.close()
    change(upstream, path, docs[1])
    change(upstream, path, docs[2])
    return first, seen, Stream(router, f"/events?topic={topic}", last_event_id=seen)


def test_a_gap_beyond_history_gets_reset_and_a_fresh_snapshot(router, upstream):
    docs = station_docs()
    _, seen, resumed = reconnect_after_two_changes(router, upstream, FEED, "/feed")
    name, _, reset = resumed.next_event()
    assert name == "reset" and reset["lastEventId"] == seen, reset
    _, _, fresh = resumed.next_event()
    assert fresh["retained"] is True
    assert fresh["kwargs"] == {"type": "snapshot", "seq": 3, "data": docs[2]}, fresh
    upstream.set_json("/feed", docs[3])
    _, _, patch = resumed.next_event()
    assert patch["kwargs"]["seq"] == 4
    assert jsonpatch.apply_patch(docs[2], patch["kwargs"]["patch"]) == docs[3]
    resumed.close()


def test_a_gap_the_history_covers_replays_the_patches_without_a_snapshot(router, upstream):
    docs = station_docs()
    first, _, resumed = reconnect_after_two_changes(router, upstream, KEPT, "/kept")
    state = first["kwargs"]["data"]
    for seq in (2, 3):
        name, _, event = resumed.next_event()
        assert name is None and event["kwargs"]["seq"] == seq, event
        assert "retained" not in event, "a snapshot was sent although the patches were"
        state = jsonpatch.apply_patch(state, event["kwargs"]["patch"])
    assert state == docs[2]
    upstream.set_json("/kept", docs[3])
    _, _, live = resumed.next_event()
    assert live["kwargs"]["seq"] == 4
    resumed.close()


def test_any_retained_event_comes_first_unless_declined(router):
    async def main():
        async with Sessions(router.url()) as s:
            publisher = await s.connect()
            await publisher.publish("com.example.state", "kept",
                                    options=PublishOptions(retain=True, acknowledge=True))
    run(main())
    stream = Stream(router, "/events?topic=com.example.state")
    _, _, first = stream.next_event()
    assert (first["args"], first["retained"]) == (["kept"], True), first
    stream.close()
    declined = Stream(router, "/events?topic=com.example.state&retained=false")
    started = time.monotonic()

    async def later():
        async with Sessions(router.url()) as s:
            publisher = await s.connect()
            await publisher.publish("com.example.state", "live",
                                    options=PublishOptions(acknowledge=True))
    run(later())
    _, _, event = declined.next_event()
    assert event["args"] == ["live"] and "retained" not in event, event
    assert time.monotonic() - started < 5
    declined.close()

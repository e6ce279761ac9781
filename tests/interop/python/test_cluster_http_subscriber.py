"""HTTP subscribers in a cluster: every node has the same config, but one node at a time
forwards (it holds the subscriber's lease), so the receiver gets each event once, whichever
node it was published on; when that node dies, another takes over."""

from __future__ import annotations

import json
import time

import pytest

from cluster_harness import start_nats, start_nodes
from junction_harness import anonymous_role, bridge_path, http_request, realm, web_transport, ws_path
from test_http_subscriber import Receiver


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def push(node, n):
    res = http_request(node.host, node.ports[0], "POST", "/push",
                       body=json.dumps({"topic": "com.hook.x", "args": [n]}).encode())
    assert res.status == 202, res


def test_one_node_forwards_each_event_once_and_another_takes_over(request, receiver):
    nats = start_nats(request)
    r = realm(roles=[anonymous_role()])
    r["http_subscribers"] = [{"name": "hook", "topic": "com.hook.", "match": "prefix",
                              "url": receiver.url("/hook"), "role": "anonymous"}]
    transport = web_transport({"ws": ws_path(), "push": bridge_path("publisher")})
    a, b = start_nodes(request, [nats.url], 2, realms=[r], transports=[transport])
    # Until a node holds the lease nothing is forwarded: warm up until one does.
    deadline = time.monotonic() + 10
    while not receiver.got("/hook"):
        push(a, -1)
        assert time.monotonic() < deadline, "no node forwards"
        time.sleep(0.2)

    def forwarded():
        return [e["args"][0] for r in receiver.got("/hook") for e in [r.json()]
                if e["args"][0] >= 0]

    for n in range(20):
        push(a if n % 2 else b, n)
    deadline = time.monotonic() + 10
    while len(forwarded()) < 20:
        assert time.monotonic() < deadline, f"not all forwarded: {forwarded()}"
        time.sleep(0.05)
    time.sleep(1)  # a second copy from the other node would have arrived by now
    assert sorted(forwarded()) == list(range(20)), f"each event once: {forwarded()}"

    # The forwarding node dies; the other takes over once the lease expires.
    leaders = [node for node in (a, b) if "now forwards" in node.log()]
    assert len(leaders) == 1, "exactly one node forwards"
    other = b if leaders[0] is a else a
    leaders[0].kill9()
    before = len(forwarded())
    deadline = time.monotonic() + 15
    n = 100
    while len(forwarded()) == before:
        push(other, n)
        n += 1
        assert time.monotonic() < deadline, "no node took over"
        time.sleep(0.2)
    assert "now forwards" in other.log()

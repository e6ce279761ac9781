"""The topics API on any node of a cluster (issue 16 item 7): a topic created, patched or
deleted through one node's topics API is defined on every node, polled by exactly one of them,
and every node shows the same status (seq, polls, last success, poll records) and answers the
snapshot procedure, including nodes that do not poll it and nodes started later."""

from __future__ import annotations

import asyncio
import time

import pytest
from autobahn.wamp.types import SubscribeOptions

from cluster_harness import Node, cluster_config, start_nats, start_nodes
from junction_harness import (Router, Sessions, anonymous_role, http_request, make_config,
                              realm, run, web_transport, ws_path)
from test_cluster_ops import Upstream

pytestmark = pytest.mark.timeout(120)

API = "/api"
TOPIC = "com.api.doc"


def api_transport():
    return web_transport({"ws": ws_path(),
                          "api": {"type": "topics-api", "realm": "realm1", "options": {"require_ip": ["127.0.0.1"]}}})


def api_realm():
    return realm(roles=[anonymous_role()])


def api(node: Node, method: str, path: str, json_body=None):
    return http_request(node.host, node.ports[0], method, API + path, json_body=json_body,
                        content_type="application/json" if json_body is not None else None)


async def api_async(node, method, path, json_body=None):
    return await asyncio.to_thread(api, node, method, path, json_body)


async def eventually(check, what: str, timeout: float = 10.0):
    """Polls `check` (a coroutine function returning a truthy value when done)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def definition(url: str, period: str = "PT1S", **config) -> dict:
    return {"name": TOPIC, "publisher": {"type": "http-poller", "config": {
        "url": url, "pollingPeriod": period, **config}}}


def pollers(nodes) -> list[Node]:
    return [n for n in nodes if "this node now polls" in n.log()]


def test_a_topic_made_on_one_node_is_polled_once_and_shown_alike_on_every_node(request):
    nats = start_nats(request)
    upstream = Upstream()
    upstream.document = {"n": 1}
    request.addfinalizer(upstream.close)
    a, b, c = start_nodes(request, [nats.url], 3, realms=[api_realm()],
                          transports=[api_transport()])

    async def main():
        created = await api_async(a, "POST", "/topics", definition(upstream.url))
        assert created.status == 201, created
        # The name is taken cluster-wide.
        again = await api_async(c, "POST", "/topics", definition(upstream.url))
        assert again.status == 409, again

        async def shown_everywhere():
            views = [await api_async(n, "GET", f"/topics/{TOPIC}") for n in (a, b, c)]
            if any(v.status != 200 for v in views):
                return None
            views = [v.json() for v in views]
            if any(v["seq"] < 1 or v["polls"] < 1 or not v["lastSuccess"] for v in views):
                return None
            return views

        views = await eventually(shown_everywhere, "the topic's status on every node")
        for view in views:
            assert view["origin"] == "api"
            assert view["definition"]["publisher"]["config"]["url"] == upstream.url
        assert len(pollers((a, b, c))) == 1, [n.name for n in pollers((a, b, c))]
        [leader] = pollers((a, b, c))
        listed = await api_async(b, "GET", "/topics")
        assert [t["name"] for t in listed.json()] == [TOPIC]

        # Poll records and the snapshot procedure on a node that does not poll.
        other = next(n for n in (a, b, c) if n is not leader)
        records = await api_async(other, "GET", f"/topics/{TOPIC}/polls")
        assert records.status == 200, records
        assert records.json() and records.json()[0]["status"] == 200, records.json()
        async with Sessions(other.url()) as s:
            session = await s.connect()
            snapshot = (await session.call("junction.poller.snapshot", TOPIC)).kwresults
            assert snapshot["seq"] >= 1 and snapshot["data"] == {"n": 1}, snapshot
            # A subscriber on a node that does not poll sees the changes.
            seqs = []
            await session.subscribe(lambda **kw: seqs.append(kw["seq"]), TOPIC,
                                    options=SubscribeOptions(get_retained=True))
            upstream.document = {"n": 2}

            async def changed():
                return len(seqs) >= 2

            await eventually(changed, "the change on a node that does not poll")
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs

        # One poller in the cluster: about one request per second.
        before, since = upstream.requests, time.monotonic()
        await asyncio.sleep(3)
        rate = (upstream.requests - before) / (time.monotonic() - since)
        assert rate < 1.7, rate

        # A patch made on another node reaches every node.
        patched = await api_async(b, "PATCH", f"/topics/{TOPIC}",
                                  {"publisher": {"config": {"headers": {"X-Test": "1"}}}})
        assert patched.status == 200, patched

        async def patched_everywhere():
            for n in (a, b, c):
                view = (await api_async(n, "GET", f"/topics/{TOPIC}")).json()
                if view["definition"]["publisher"]["config"].get("headers") != {"X-Test": "1"}:
                    return False
            return True

        await eventually(patched_everywhere, "the patch on every node")

        # A node that starts now knows the topic.
        d = Node(cluster_config([nats.url], "node-d", realms=[api_realm()],
                                transports=[api_transport()]), name="node-d")
        request.addfinalizer(d.cleanup)
        d.start()

        async def known_on_d():
            view = await api_async(d, "GET", f"/topics/{TOPIC}")
            return view.status == 200 and view.json()["seq"] >= 1

        await eventually(known_on_d, "the topic on a node started later")

        # Deleted on one node: gone everywhere, and nobody polls it any more.
        deleted = await api_async(c, "DELETE", f"/topics/{TOPIC}")
        assert deleted.status == 204, deleted

        async def gone_everywhere():
            statuses = [(await api_async(n, "GET", f"/topics/{TOPIC}")).status
                        for n in (a, b, c, d)]
            return all(s == 404 for s in statuses)

        await eventually(gone_everywhere, "the topic gone from every node")
        await asyncio.sleep(1.5)
        stopped = upstream.requests
        await asyncio.sleep(2.5)
        assert upstream.requests == stopped, (stopped, upstream.requests)

    run(main(), timeout=100)


def test_topics_a_node_stored_alone_move_into_the_cluster_once(request):
    """A node that ran alone with topics made through its API joins a cluster: the topics
    become the cluster's (another node shows them), leave the node's own store, and one
    deleted in the cluster does not come back when that node restarts."""
    nats = start_nats(request)
    upstream = Upstream()
    request.addfinalizer(upstream.close)
    stored_realm = api_realm()
    stored_realm["store"] = {"type": "embedded", "path": "data/realm1.redb"}
    lone = Router(make_config(realms=[stored_realm], transports=[api_transport()]),
                  name="lone")
    request.addfinalizer(lone.cleanup)
    lone.start()
    assert api(lone, "POST", "/topics", definition(upstream.url)).status == 201
    lone.stop()
    [other] = start_nodes(request, [nats.url], 1, realms=[api_realm()],
                          transports=[api_transport()])
    assert api(other, "GET", f"/topics/{TOPIC}").status == 404

    def join():
        # Same directory, so the same store file; now with a cluster section.
        lone.config = cluster_config([nats.url], "node-lone", realms=[stored_realm],
                                     transports=[api_transport()])
        lone.start()
        deadline = time.monotonic() + 10
        while "joined NATS" not in lone.log():
            assert time.monotonic() < deadline, lone.log()
            time.sleep(0.05)

    join()

    async def main():
        async def on_other():
            view = await api_async(other, "GET", f"/topics/{TOPIC}")
            return view.status == 200 and view.json()["seq"] >= 1

        await eventually(on_other, "the stored topic on the other node")
        assert "moved into the cluster" in lone.log(), lone.log()
        assert (await api_async(other, "DELETE", f"/topics/{TOPIC}")).status == 204

    run(main(), timeout=30)
    lone.stop()
    join()

    async def stays_gone():
        await asyncio.sleep(1.5)
        for node in (other, lone):
            view = await api_async(node, "GET", f"/topics/{TOPIC}")
            assert view.status == 404, (node.name, view)

    run(stays_gone(), timeout=30)

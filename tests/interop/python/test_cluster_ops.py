"""A cluster as operators meet it (issue 16 items 4-8): the HTTP bridge on any node, the meta
API and testaments across nodes, retained events and history read from any node and kept
across a node's restart, pollers led by one node and handed over when it dies, NATS going
away and coming back, and nodes on a 3-server NATS cluster."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import PublishOptions, SubscribeOptions

from cluster_harness import Node, cluster_config, start_nats, start_nats_cluster, start_nodes
from junction_harness import (Collector, Sessions, anonymous_role, bridge_path, http_request,
                              quiet, realm, run, web_transport, ws_path)

pytestmark = pytest.mark.timeout(90)


def bridge_transport():
    return web_transport({"ws": ws_path(), "push": bridge_path("publisher"),
                          "call": bridge_path("caller")})


def history_realm(topics=None):
    r = realm(roles=[anonymous_role()])
    r["store"] = {"type": "memory",
                  "event-history": [{"uri": "com.h.", "match": "prefix", "limit": 5}]}
    if topics:
        r["topics"] = topics
    return r


@pytest.fixture
def nats(request):
    return start_nats(request)


def test_pusher_post_and_http_caller_on_one_node_reach_sessions_on_others(request, nats):
    nodes = start_nodes(request, [nats.url], 3, transports=[bridge_transport()])
    a, b, c = nodes
    push = urlparse(nodes.pusher_url("node-c"))

    async def main():
        async with Sessions(a.url()) as on_a, Sessions(b.url()) as on_b:
            subscriber = await on_a.connect()
            got = Collector()
            await subscriber.subscribe(got, "com.push")
            callee = await on_b.connect()
            await callee.register(lambda x: x * 2, "com.double")
            res = await asyncio.to_thread(http_request, push.hostname, push.port, "POST",
                                          push.path, json_body={"topic": "com.push",
                                                                "args": [7]})
            assert res.status == 202, res
            [(args, _, _)] = await got.wait(1)
            assert args == [7]
            res = await asyncio.to_thread(http_request, c.host, c.ports[0], "POST", "/call",
                                          json_body={"procedure": "com.double", "args": [21]})
            assert res.status == 200, res
            assert res.json()["args"] == [42]

    run(main())


def test_a_node_joins_nats_over_websocket(request):
    # `ws://` servers are accepted by the config: a node must reach NATS that way, and its
    # sessions must meet those of a node on plain `nats://`.
    nats = start_nats(request, websocket=True)
    config = cluster_config([nats.ws_url], "node-ws", realms=[realm(roles=[anonymous_role()])])
    over_ws = Node(config, name="node-ws")
    request.addfinalizer(over_ws.cleanup)
    over_ws.start()
    assert f"joined NATS at 127.0.0.1:{nats.ws_port}" in over_ws.log(), over_ws.log()
    [plain] = start_nodes(request, [nats.url], 1)

    async def main():
        async with Sessions(over_ws.url()) as on_ws, Sessions(plain.url()) as on_plain:
            subscriber = await on_ws.connect()
            got = Collector()
            await subscriber.subscribe(got, "com.ws")
            publisher = await on_plain.connect()
            publisher.publish("com.ws", 1, options=PublishOptions(acknowledge=True))
            [(args, _, _)] = await got.wait(1)
            assert args == [1]

    run(main())


def test_a_uri_too_long_for_a_subject_is_refused_and_the_node_stays_connected(request, nats):
    a, b, _ = start_nodes(request, [nats.url], 3)
    long_topic = "com." + "x" * 2000

    async def main():
        async with Sessions(a.url()) as on_a, Sessions(b.url()) as on_b:
            sub = await on_a.connect()
            with pytest.raises(ApplicationError) as refused:
                await sub.subscribe(lambda: None, long_topic)
            assert refused.value.error == "wamp.error.invalid_uri"
            with pytest.raises(ApplicationError) as refused:
                await sub.subscribe(lambda: None, long_topic + ".y", options=SubscribeOptions(
                    match="prefix"))
            assert refused.value.error == "wamp.error.invalid_uri"
            with pytest.raises(ApplicationError) as refused:
                await sub.subscribe(lambda: None, long_topic + "..y", options=SubscribeOptions(
                    match="wildcard"))
            assert refused.value.error == "wamp.error.invalid_uri"
            # A prefix subscribes at its last whole component: a long partial one is fine.
            await sub.subscribe(lambda: None, long_topic, options=SubscribeOptions(match="prefix"))
            pub = await on_b.connect()
            with pytest.raises(ApplicationError) as refused:
                await pub.publish(long_topic, options=PublishOptions(acknowledge=True))
            assert refused.value.error == "wamp.error.invalid_uri"
            got = Collector()
            await sub.subscribe(got, "com.after")
            await pub.publish("com.after", "still", options=PublishOptions(acknowledge=True))
            [(args, _, _)] = await got.wait(1)
            assert args == ["still"]

    run(main())
    for node in (a, b):
        assert "lost NATS" not in node.log()
        assert "reconnected to NATS" not in node.log()


def test_meta_api_meta_events_and_testaments_see_the_whole_cluster(request, nats):
    a, b, c = start_nodes(request, [nats.url], 3)

    async def main():
        async with Sessions(a.url()) as on_a, Sessions(b.url()) as on_b, \
                Sessions(c.url()) as on_c:
            watcher = await on_a.connect()
            joins, leaves, lasts = Collector(), Collector(), Collector()
            await watcher.subscribe(joins, "wamp.session.on_join")
            await watcher.subscribe(leaves, "wamp.session.on_leave")
            await watcher.subscribe(lasts, "com.last.words")
            on_b_session = await on_b.connect()
            [(args, _, _)] = await joins.wait(1)
            assert args[0]["session"] == on_b_session._session_id
            on_c_session = await on_c.connect()
            await joins.wait(2)
            assert await watcher.call("wamp.session.count") == 3
            assert sorted(await on_b_session.call("wamp.session.list")) == sorted(
                [watcher._session_id, on_b_session._session_id, on_c_session._session_id])
            details = await watcher.call("wamp.session.get", on_c_session._session_id)
            assert details["session"] == on_c_session._session_id
            # A subscription on another node, by the id every node gives it.
            sub = await on_c_session.subscribe(lambda: None, "com.watched")
            assert await watcher.call("wamp.subscription.lookup", "com.watched") == sub.id
            assert await watcher.call("wamp.subscription.list_subscribers", sub.id) == [
                on_c_session._session_id]
            # Kill a session on another node.
            b_id, c_id = on_b_session._session_id, on_c_session._session_id
            assert await watcher.call("wamp.session.kill", b_id) is None
            await asyncio.wait_for(asyncio.shield(on_b_session.left), 5)
            await leaves.wait(1)
            assert leaves.items[0][0][0] == b_id
            # Testaments of a session on a node that dies are published by the survivors.
            await on_c_session.call("wamp.session.add_testament", "com.last.words",
                                    ["bye from c"], {})
            # The node records it in the cluster in the background (milliseconds): a node killed
            # within that window takes the testament with it.
            await asyncio.sleep(0.3)
            c.kill9()
            [(args, _, _)] = await lasts.wait(1, timeout=5)
            assert args == ["bye from c"]
            await leaves.wait(2, timeout=5)
            assert leaves.items[1][0][0] == c_id
            assert await watcher.call("wamp.session.count") == 1

    run(main())


def test_retained_events_and_history_are_the_same_on_every_node_and_survive_restarts(
        request, nats):
    a, b, c = start_nodes(request, [nats.url], 3, realms=[history_realm()])

    async def main():
        async with Sessions(b.url()) as on_b:
            publisher = await on_b.connect()
            await publisher.publish("com.r.one", "kept", options=PublishOptions(
                retain=True, acknowledge=True))
            for n in range(8):
                await publisher.publish("com.h.t%d" % (n % 2), n, options=PublishOptions(
                    acknowledge=True))
        await asyncio.sleep(0.3)
        # Node C never had a subscriber for these; then it restarts.
        c.stop()
        c.start()
        for node in (a, c):
            async with Sessions(node.url()) as s:
                late = await s.connect()
                got = Collector()
                await late.subscribe(got, "com.r", options=SubscribeOptions(
                    match="prefix", get_retained=True, details_arg="details"))
                [(args, _, details)] = await got.wait(1)
                assert args == ["kept"] and details.retained
                sub = await late.subscribe(lambda *a: None, "com.h.", options=SubscribeOptions(
                    match="prefix"))
                events = await late.call("wamp.subscription.get_events", sub.id, 3)
                assert [e["args"] for e in events] == [[7], [6], [5]]
                events = await late.call("wamp.subscription.get_events", sub.id)
                assert [e["args"][0] for e in events] == [7, 6, 5, 4, 3]

    run(main())


class Upstream:
    """A real HTTP server the poller polls: GET / answers the current document."""

    def __init__(self):
        self.document = {"n": 0}
        self.requests = 0
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                upstream.requests += 1
                body = json.dumps(upstream.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def close(self):
        self.server.shutdown()


def test_a_poller_runs_on_one_node_and_moves_when_it_dies(request, nats):
    upstream = Upstream()
    request.addfinalizer(upstream.close)
    period = 1.0
    topics = [{"name": "com.poll.doc", "publisher": {"type": "http-poller", "config": {
        "url": upstream.url, "pollingPeriod": "PT1S"}}}]
    nodes = start_nodes(request, [nats.url], 3, realms=[history_realm(topics)])

    async def main():
        await asyncio.sleep(2.5)
        leaders = [n for n in nodes if "this node now polls" in n.log()]
        assert len(leaders) == 1, [n.name for n in leaders]
        leader = leaders[0]
        # One poller in the cluster: about one request per period.
        assert upstream.requests <= 4, upstream.requests
        watcher_node = next(n for n in nodes if n is not leader)
        async with Sessions(watcher_node.url()) as s:
            watcher = await s.connect()
            events = []
            await watcher.subscribe(lambda **kw: events.append((time.monotonic(), kw["seq"])),
                                    "com.poll.doc", options=SubscribeOptions(get_retained=True))
            for n in range(1, 4):
                upstream.document = {"n": n}
                await asyncio.sleep(period * 1.2)
            leader.kill9()
            killed = time.monotonic()
            for n in range(4, 8):
                upstream.document = {"n": n}
                await asyncio.sleep(period * 1.2)
            await asyncio.sleep(0.5)
            seqs = [seq for _, seq in events]
            # No gap, no repeat across the handover.
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
            after = [t for t, _ in events if t > killed]
            assert after, seqs
            # The next leader published within two periods of the death.
            assert after[0] - killed < 2 * period + 1.0, after[0] - killed
            survivors = [n for n in nodes if n is not leader]
            assert sum("this node now polls" in n.log() for n in survivors) == 1

    run(main(), timeout=60)


def test_a_paused_leader_that_resumes_cannot_publish_late(request, nats):
    """A zombie: the leader stops (SIGSTOP) longer than its lease, another node takes over;
    when it resumes, nothing it publishes reaches anyone and it stops polling."""
    upstream = Upstream()
    request.addfinalizer(upstream.close)
    topics = [{"name": "com.poll.z", "publisher": {"type": "http-poller", "config": {
        "url": upstream.url, "pollingPeriod": "PT0.5S"}}}]
    nodes = start_nodes(request, [nats.url], 3, realms=[history_realm(topics)])

    async def main():
        await asyncio.sleep(2.0)
        [leader] = [n for n in nodes if "this node now polls" in n.log()]
        other = next(n for n in nodes if n is not leader)
        async with Sessions(other.url()) as s:
            watcher = await s.connect()
            seqs = []
            await watcher.subscribe(lambda **kw: seqs.append(kw["seq"]), "com.poll.z")
            leader.pause()
            for n in range(1, 7):
                upstream.document = {"n": n}
                await asyncio.sleep(0.6)
            leader.resume()
            for n in range(7, 12):
                upstream.document = {"n": n}
                await asyncio.sleep(0.6)
            await asyncio.sleep(0.5)
            assert len(seqs) >= 8, seqs
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
            survivors = [n for n in nodes if n is not leader]
            assert sum("this node now polls" in n.log() for n in survivors) == 1
            # The resumed node learned that it lost the topic and polls no more.
            assert "lost" in leader.log() or "another node polls this topic" in leader.log()

    run(main(), timeout=60)


def test_nats_restart_while_clients_publish(request, nats):
    a, b, _ = start_nodes(request, [nats.url], 3)

    async def main():
        loop = asyncio.get_running_loop()
        async with Sessions(a.url()) as on_a, Sessions(b.url()) as on_b:
            subscriber = await on_a.connect()
            remote = Collector()
            await subscriber.subscribe(remote, "com.n")
            streamed = Collector()
            await subscriber.subscribe(streamed, "com.stream")
            callee = await on_b.connect()
            await callee.register(lambda: "ok", "com.p")
            publisher = await on_b.connect()
            local_subscriber = await on_b.connect()
            local = Collector()
            await local_subscriber.subscribe(local, "com.n")
            # A client on B publishes (unacknowledged) every 20 ms through the whole test.
            sent_at = {}

            async def stream():
                n = 0
                while True:
                    sent_at[n] = loop.time()
                    publisher.publish("com.stream", n)
                    n += 1
                    await asyncio.sleep(0.02)

            streaming = asyncio.ensure_future(stream())
            await publisher.publish("com.n", "before", options=PublishOptions(acknowledge=True))
            await remote.wait(1)
            await streamed.wait(5)
            nats.kill()
            killed = loop.time()
            await asyncio.sleep(0.5)
            # Local sessions are served; what needs the cluster is refused.
            for n in range(5):
                await publisher.publish("com.n", n, options=PublishOptions(acknowledge=True))
            await local.wait(6)
            # ... RPC too, when caller and callee share the node (registered before).
            assert await publisher.call("com.p") == "ok"
            with pytest.raises(ApplicationError) as e:
                await subscriber.register(lambda: 1, "com.q")
            assert e.value.error == "wamp.error.network_failure"
            with pytest.raises(ApplicationError) as e:
                await subscriber.call("com.p")
            assert e.value.error == "wamp.error.network_failure"
            await asyncio.sleep(1.0)
            restarted = loop.time()
            nats.start()
            # Cross-node pubsub and RPC come back (poll: the nodes reconnect on their own).
            deadline = loop.time() + 15
            while not any(item[0] == ["after"] for item in remote.items):
                assert loop.time() < deadline, remote.items
                await publisher.publish("com.n", "after", options=PublishOptions(
                    acknowledge=True))
                await asyncio.sleep(0.2)
            while True:
                try:
                    assert await subscriber.call("com.p") == "ok"
                    break
                except ApplicationError as e:
                    assert loop.time() < deadline, e
                    await asyncio.sleep(0.2)
            resumed = len(streamed.items)
            await streamed.wait(resumed + 5)
            streaming.cancel()
            # Nothing published during the outage arrived late.
            assert [i[0][0] for i in remote.items if i[0][0] != "after"] == ["before"]
            late = [n for [n], _, _ in streamed.items
                    if killed + 0.5 <= sent_at[n] <= restarted]
            assert late == [], late
            # The stream's events that did cross arrived in order, each once.
            received = [n for [n], _, _ in streamed.items]
            assert received == sorted(set(received))

    run(main(), timeout=60)
    for node in (a, b):
        assert "reconnected to NATS" in node.log(), node.name


def test_nodes_on_a_three_server_nats_cluster(request):
    servers = start_nats_cluster(request, 3)
    nodes = start_nodes(request, [s.url for s in servers], 3)
    a, b, c = nodes

    async def main():
        async with Sessions(a.url()) as on_a, Sessions(b.url()) as on_b, \
                Sessions(c.url()) as on_c:
            subscriber = await on_a.connect()
            got = Collector()
            await subscriber.subscribe(got, "com.cl")
            callee = await on_c.connect()
            await callee.register(lambda: "from c", "com.cl.call")
            publisher = await on_b.connect()
            # Interest crosses NATS routes asynchronously: publish until it arrives.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while not got.items:
                assert loop.time() < deadline
                await publisher.publish("com.cl", "hi", options=PublishOptions(acknowledge=True))
                await asyncio.sleep(0.1)
            assert got.items[0][0] == ["hi"]
            assert await publisher.call("com.cl.call") == "from c"

    run(main(), timeout=60)


def test_readiness_follows_the_connection_to_nats(request, nats):
    """`ready` turns 503 naming the cluster check while NATS is away, and 200 again once the
    node reconnected; `health` stays 200 throughout (the process serves)."""
    transport = web_transport({"ws": ws_path(), "ready": {"type": "ready"},
                               "health": {"type": "health"}})
    [node] = start_nodes(request, [nats.url], 1, transports=[transport])

    def get(path):
        res = http_request(node.host, node.ports[0], "GET", path, content_type=None)
        return res.status, res.json()

    def cluster_check(body):
        return next(c for c in body["checks"] if c["name"] == "cluster")

    def wait_for(status, what):
        deadline = time.monotonic() + 15
        while True:
            code, body = get("/ready")
            if code == status:
                return body
            assert time.monotonic() < deadline, f"{what}: {code} {body}"
            time.sleep(0.1)

    body = wait_for(200, "ready with NATS")
    assert cluster_check(body)["ok"] is True and "connected" in cluster_check(body)["detail"]
    nats.kill()
    body = wait_for(503, "unready without NATS")
    assert body["ready"] is False
    assert cluster_check(body)["ok"] is False, body
    assert get("/health")[0] == 200
    nats.start()
    body = wait_for(200, "ready once NATS is back")
    assert cluster_check(body)["ok"] is True


def test_an_sse_client_resumes_from_the_clusters_history(request, nats):
    """Resuming an SSE stream on one node replays what every node published after the
    client's last event, from the cluster's history stream, in publication order; a position
    the history no longer holds is told with `event: reset`."""
    sse = {"type": "sse", "realm": "realm1", "role": "anonymous"}
    transport = web_transport({"ws": ws_path(), "events": sse, "push": bridge_path("publisher")})
    a, b = start_nodes(request, [nats.url], 2, realms=[history_realm()], transports=[transport])

    def push(node, n):
        res = http_request(node.host, node.ports[0], "POST", "/push",
                           body=json.dumps({"topic": "com.h.x", "args": [n]}).encode())
        assert res.status == 202, res
        return res.json()["id"]

    def resume(node, last):
        conn = http.client.HTTPConnection(node.host, node.ports[0], timeout=10)
        conn.request("GET", "/events?topic=com.h.x", headers={"Last-Event-ID": str(last)})
        res = conn.getresponse()
        assert res.status == 200
        return conn, res

    def next_block(res):
        lines = []
        while True:
            line = res.readline().decode().rstrip("\n")
            if line == "" and lines:
                return lines
            if line and not line.startswith(("retry:", ":")):
                lines.append(line)

    def blocks_of(res, count):
        blocks = []
        try:
            while len(blocks) < count:
                blocks.append(next_block(res))
        except TimeoutError:
            raise AssertionError(f"{count} SSE events expected, got {blocks}") from None
        return blocks

    # The client sees node b's event on node a (live, through NATS) and goes away; both
    # nodes publish four more; it comes back on node a from the event it saw.
    watch = http.client.HTTPConnection(a.host, a.ports[0], timeout=10)
    watch.request("GET", "/events?topic=com.h.x&retained=false")
    watch_res = watch.getresponse()
    assert watch_res.status == 200
    seen = push(b, 0)
    assert blocks_of(watch_res, 1)[0][0] == f"id: {seen}"
    watch.close()
    missed = [push(a if n % 2 else b, n) for n in range(1, 5)]
    conn, res = resume(a, seen)
    blocks = blocks_of(res, 4)
    # Each node's publications in the order it published them; the two nodes' interleaving
    # is the history stream's (what reached NATS first).
    ids = [int(block[0].removeprefix("id: ")) for block in blocks]
    assert sorted(ids) == sorted(missed), blocks
    assert [i for i in ids if i in missed[0::2]] == missed[0::2], blocks
    assert [i for i in ids if i in missed[1::2]] == missed[1::2], blocks
    # Then live events from the other node, on the resumed stream and on a new one (its
    # subscription set up the cluster interest as a WAMP client's does).
    fresh = http.client.HTTPConnection(a.host, a.ports[0], timeout=10)
    fresh.request("GET", "/events?topic=com.h.y")
    fresh_res = fresh.getresponse()
    push(b, 5)
    http_request(b.host, b.ports[0], "POST", "/push",
                 body=json.dumps({"topic": "com.h.y", "args": ["y"]}).encode())
    assert json.loads(blocks_of(res, 1)[0][-1].removeprefix("data: "))["args"] == [5]
    assert json.loads(blocks_of(fresh_res, 1)[0][-1].removeprefix("data: "))["args"] == ["y"]
    conn.close()
    fresh.close()
    # The history keeps the newest 5: the first event has been dropped by now.
    conn, res = resume(b, seen)
    reset = blocks_of(res, 1)[0]
    assert reset[0] == "event: reset", reset
    conn.close()

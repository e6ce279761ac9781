"""PubSub across Junction nodes sharing one NATS server (issue 16 item 2): autobahn-python
clients on different nodes; every option behaves as on one node; one publisher's events
reach a subscriber in order across nodes, even over two overlapping subscriptions."""

from __future__ import annotations

import asyncio

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import PublishOptions, SubscribeOptions

from cluster_harness import start_nats, start_nodes
from junction_harness import Collector, Sessions, permission, quiet, realm, run, transport

PRINCIPALS = {
    "alice": {"ticket": "secret-a", "role": "red"},
    "bob": {"ticket": "secret-b", "role": "blue"},
    "carol": {"ticket": "secret-c", "role": "red"},
}


def roles():
    return [{"name": name, "permissions": [permission(disclose_publisher=True)]}
            for name in ("red", "blue")]


def ticket_transport():
    t = transport(auth={"ticket": {"type": "static", "principals": PRINCIPALS}})
    t["paths"]["ws"]["options"] = {"max_outbound_queue": 1_000_000,
                                   "max_outbound_bytes": 1_000_000_000}
    return t


@pytest.fixture
def nodes(request):
    nats = start_nats(request)
    return start_nodes(request, [nats.url], 3, realms=[realm(roles=roles())],
                       transports=[ticket_transport()])


async def login(sessions: Sessions, who: str):
    return await sessions.connect(authmethods=["ticket"], authid=who,
                                  on_challenge=lambda c: PRINCIPALS[who]["ticket"])


def test_events_reach_subscribers_on_other_nodes_under_every_match_policy(nodes):
    a, b, c = nodes

    async def main():
        async with Sessions(a.url()) as on_a, Sessions(b.url()) as on_b, \
                Sessions(c.url()) as on_c:
            sub = await login(on_a, "alice")
            exact, prefix, string_prefix, wildcard = Collector(), Collector(), Collector(), Collector()
            await sub.subscribe(exact, "com.t.x", options=SubscribeOptions(details_arg="details"))
            await sub.subscribe(prefix, "com.t", options=SubscribeOptions(
                match="prefix", details_arg="details"))
            await sub.subscribe(string_prefix, "com.t.x", options=SubscribeOptions(
                match="prefix", details_arg="details"))
            await sub.subscribe(wildcard, "com..x", options=SubscribeOptions(
                match="wildcard", details_arg="details"))
            pub_b = await login(on_b, "bob")
            pub_c = await login(on_c, "carol")
            await pub_b.publish("com.t.x", 1, k="b", options=PublishOptions(acknowledge=True))
            await pub_c.publish("com.t.xy", 2, options=PublishOptions(acknowledge=True))
            await exact.wait(1)
            await prefix.wait(2)
            await string_prefix.wait(2)
            await wildcard.wait(1)
            await quiet()
            assert [(i[0], i[1]) for i in exact.items] == [([1], {"k": "b"})]
            assert exact.items[0][2].topic is None or exact.items[0][2].topic == "com.t.x"
            assert [(i[0], i[2].topic) for i in prefix.items] == [([1], "com.t.x"), ([2], "com.t.xy")]
            # The spec's prefix matches on the string: com.t.x matches com.t.xy.
            assert [i[2].topic for i in string_prefix.items] == ["com.t.x", "com.t.xy"]
            assert [i[2].topic for i in wildcard.items] == ["com.t.x"]

    run(main())


def test_exclusion_eligibility_and_disclosure_across_nodes(nodes):
    a, b, c = nodes

    async def main():
        async with Sessions(a.url()) as on_a, Sessions(b.url()) as on_b, \
                Sessions(c.url()) as on_c:
            alice = await login(on_a, "alice")   # red, node A
            bob = await login(on_b, "bob")       # blue, node B
            carol = await login(on_c, "carol")   # red, node C (publishes)
            got = {name: Collector() for name in ("alice", "bob", "carol")}
            for name, session in (("alice", alice), ("bob", bob), ("carol", carol)):
                await session.subscribe(got[name], "com.e", options=SubscribeOptions(
                    details_arg="details"))
            cases = [
                ({"exclude": [alice._session_id]}, ["bob"]),
                ({"eligible": [alice._session_id]}, ["alice"]),
                ({"exclude_authid": ["bob"]}, ["alice"]),
                ({"eligible_authid": ["bob"]}, ["bob"]),
                ({"exclude_authrole": ["red"]}, ["bob"]),
                ({"eligible_authrole": ["red"]}, ["alice"]),
                ({"exclude_me": False}, ["alice", "bob", "carol"]),
                ({}, ["alice", "bob"]),
            ]
            for n, (options, expected) in enumerate(cases):
                for c_ in got.values():
                    c_.items.clear()
                await carol.publish("com.e", n, options=PublishOptions(acknowledge=True, **options))
                for name in expected:
                    await got[name].wait(1)
                await quiet()
                received = sorted(name for name, c_ in got.items() if c_.items)
                assert received == sorted(expected), (options, received)
                for name in expected:
                    assert got[name].items == [([n], {}, got[name].items[0][2])]
            # Disclosure (the roles disclose publishers): the publisher's session, authid and
            # authrole, across nodes.
            got["alice"].items.clear()
            await carol.publish("com.e", "who", options=PublishOptions(acknowledge=True))
            [(_, _, details)] = await got["alice"].wait(1)
            assert details.publisher == carol._session_id
            assert details.publisher_authid == "carol"
            assert details.publisher_authrole == "red"

    run(main())


@pytest.mark.timeout(120)
def test_one_publishers_burst_keeps_its_order_across_nodes_and_subscriptions(nodes):
    a, b, _ = nodes
    count = 100_000

    async def main():
        async with Sessions(a.url()) as on_a, Sessions(b.url()) as on_b:
            sub = await login(on_a, "alice")
            arrivals = []
            await sub.subscribe(lambda n: arrivals.append(n), "com.burst.x")
            await sub.subscribe(lambda n: arrivals.append(n), "com.burst",
                                options=SubscribeOptions(match="prefix"))
            await sub.subscribe(lambda n: arrivals.append(n), "com.burst.y")
            pub = await login(on_b, "bob")
            for n in range(count):
                pub.publish("com.burst.x" if n % 2 == 0 else "com.burst.y", n)
                if n % 1000 == 999:
                    await asyncio.sleep(0)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 90
            while len(arrivals) < 2 * count and loop.time() < deadline:
                await asyncio.sleep(0.1)
            # Each event once per matching subscription (its exact one and the prefix).
            assert len(arrivals) == 2 * count
            inversions = sum(1 for x, y in zip(arrivals, arrivals[1:]) if y < x)
            assert inversions == 0
            assert sorted(set(arrivals)) == list(range(count))

    run(main(), timeout=110)


def test_a_uri_too_long_for_a_subject_is_refused_and_the_node_stays_connected(nodes):
    a, b, _ = nodes
    long_topic = "com." + "x" * 2000

    async def main():
        async with Sessions(a.url()) as on_a, Sessions(b.url()) as on_b:
            sub = await login(on_a, "alice")
            with pytest.raises(ApplicationError) as refused:
                await sub.subscribe(lambda: None, long_topic)
            assert refused.value.error == "wamp.error.invalid_uri"
            with pytest.raises(ApplicationError) as refused:
                await sub.subscribe(lambda: None, long_topic + ".y", options=SubscribeOptions(
                    match="prefix"))
            assert refused.value.error == "wamp.error.invalid_uri"
            # A prefix subscribes at its last whole component: a long partial one is fine.
            await sub.subscribe(lambda: None, long_topic, options=SubscribeOptions(match="prefix"))
            pub = await login(on_b, "bob")
            with pytest.raises(ApplicationError) as refused:
                await pub.publish(long_topic, options=PublishOptions(acknowledge=True))
            assert refused.value.error == "wamp.error.invalid_uri"
            got = Collector()
            await sub.subscribe(got, "com.after")
            await pub.publish("com.after", "still", options=PublishOptions(acknowledge=True))
            await got.wait(1)

    run(main())
    for node in (a, b):
        assert "lost NATS" not in node.log()
        assert "reconnected to NATS" not in node.log()

"""PubSub across Junction nodes sharing one NATS server (issue 16 item 2): autobahn-python
clients on different nodes; every option behaves as on one node; one publisher's events
reach a subscriber in order across nodes, even over two overlapping subscriptions. (A URI
too long for a NATS subject: test_cluster_ops.py.)"""

from __future__ import annotations

import asyncio

import pytest
from autobahn import util
from autobahn.wamp import message
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


def roles_without_disclose():
    """No "disclose" in the permission: the publisher's disclose_me decides."""
    permissions = [{k: v for k, v in permission().items() if k != "disclose"}]
    return [{"name": name, "permissions": permissions} for name in ("red", "blue")]


def ticket_transport():
    t = transport(auth={"ticket": {"type": "static", "principals": PRINCIPALS}})
    t["paths"]["ws"]["options"] = {"max_outbound_queue": 1_000_000,
                                   "max_outbound_bytes": 1_000_000_000}
    return t


@pytest.fixture
def nodes(request):
    nats = start_nats(request)
    return start_nodes(request, [nats.url], 3,
                       realms=[realm(roles=roles()),
                               realm("realm2", roles=roles_without_disclose())],
                       transports=[ticket_transport()])


async def login(sessions: Sessions, who: str, realm_name: str = "realm1"):
    return await sessions.connect(realm=realm_name, authmethods=["ticket"], authid=who,
                                  on_challenge=lambda c: PRINCIPALS[who]["ticket"])


class DisclosingPublish(message.Publish):
    """PUBLISH with ``disclose_me``, which autobahn-python 26 no longer sends itself."""

    def marshal(self):
        msg = super().marshal()
        msg[2]["disclose_me"] = True
        return msg


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
            # Two publishers on two nodes: WAMP orders one publisher's events, not theirs.
            assert sorted((i[0], i[2].topic) for i in prefix.items) == [
                ([1], "com.t.x"), ([2], "com.t.xy")]
            # The spec's prefix matches on the string: com.t.x matches com.t.xy.
            assert sorted(i[2].topic for i in string_prefix.items) == ["com.t.x", "com.t.xy"]
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


def test_disclose_me_discloses_the_publisher_on_another_node(nodes):
    a, _, c = nodes

    async def main():
        async with Sessions(a.url()) as on_a, Sessions(c.url()) as on_c:
            alice = await login(on_a, "alice", "realm2")
            got = Collector()
            await alice.subscribe(got, "com.d", options=SubscribeOptions(details_arg="details"))
            carol = await login(on_c, "carol", "realm2")
            # Not acknowledged: autobahn would not know the request of a PUBLISHED.
            carol._transport.send(DisclosingPublish(request=util.id(), topic="com.d",
                                                    args=["shown"]))
            await carol.publish("com.d", "hidden", options=PublishOptions(acknowledge=True))
            [(shown, _, disclosed), (hidden, _, plain)] = await got.wait(2)
            assert (shown, hidden) == (["shown"], ["hidden"])
            assert (disclosed.publisher, disclosed.publisher_authid,
                    disclosed.publisher_authrole) == (carol._session_id, "carol", "red")
            assert (plain.publisher, plain.publisher_authid, plain.publisher_authrole) == (
                None, None, None)

    run(main())


@pytest.mark.timeout(120)
def test_one_publishers_burst_keeps_its_order_across_nodes_and_subscriptions(nodes):
    a, b, _ = nodes
    count = 100_000

    async def main():
        async with Sessions(a.url()) as on_a, Sessions(b.url()) as on_b:
            sub = await login(on_a, "alice")
            # (subscription, n) in arrival order over the session's three subscriptions:
            # com.burst.x and com.burst.y exact, com.burst prefix (overlapping both).
            arrivals = []
            for name, uri, match in (("x", "com.burst.x", "exact"),
                                     ("prefix", "com.burst", "prefix"),
                                     ("y", "com.burst.y", "exact")):
                await sub.subscribe(lambda n, name=name: arrivals.append((name, n)), uri,
                                    options=SubscribeOptions(match=match))
            pub = await login(on_b, "bob")
            for n in range(count):
                pub.publish("com.burst.x" if n % 2 == 0 else "com.burst.y", n)
                if n % 1000 == 999:
                    await asyncio.sleep(0)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 90
            while len(arrivals) < 2 * count and loop.time() < deadline:
                await asyncio.sleep(0.1)
            await quiet()
            by_sub = {name: [n for s, n in arrivals if s == name] for name in ("x", "y", "prefix")}
            # Each event exactly once per matching subscription, in publish order there...
            assert by_sub["x"] == list(range(0, count, 2)), len(by_sub["x"])
            assert by_sub["y"] == list(range(1, count, 2)), len(by_sub["y"])
            assert by_sub["prefix"] == list(range(count)), len(by_sub["prefix"])
            # ... and in publish order over the session as a whole.
            seqs = [n for _, n in arrivals]
            inversions = [(x, y) for x, y in zip(seqs, seqs[1:]) if y < x]
            assert inversions == [], (len(inversions), inversions[:10])

    run(main(), timeout=110)

"""Event history and persistent retained events with autobahn-python.

The realm's `store` has `event-history` rules (Crossbar's shape); publications on matching
topics are recorded and `wamp.subscription.get_events` returns them, in Crossbar's positional
form `(subscription_id, limit=10)` (newest first) or the spec's kwargs form (`limit`,
`reverse`, `from_time`, `after_time`, `before_time`, ...; oldest first unless `reverse`).
With an embedded store, history and retained events survive a restart of Junction on the
same data file; with a memory store both are gone (documented behaviour).
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import PublishOptions, SubscribeOptions

from junction_harness import Collector, Sessions, make_config, run, start_router, web_transport

GET_EVENTS = "wamp.subscription.get_events"
SERIALIZERS = ["json", "msgpack"]
EVENT_KEYS = {"timestamp", "time_ns", "subscription", "publication", "topic", "details", "args",
              "kwargs"}

RULES = [
    {"uri": "com.example.limited", "limit": 3},
    {"uri": "com.example.tree", "match": "prefix", "limit": 100},
    {"uri": "com.example.secret"},
    {"uri": "com.example.public.news"},
    {"uri": "com.example.many", "limit": 500},
]


def allow(uri, match="prefix", call=False, register=False, publish=False, subscribe=False):
    # no "disclose" key: the client's disclose_me decides
    return {"uri": uri, "match": match,
            "allow": {"call": call, "register": register, "publish": publish,
                      "subscribe": subscribe}}


DISCLOSED = "com.example.tree.id.shown"

ROLES = [
    {"name": "anonymous", "permissions": [
        allow("", call=True, register=True, publish=True, subscribe=True),
        # autobahn-python has no disclose_me on publish: the permission discloses
        dict(allow(DISCLOSED, match="exact", publish=True, subscribe=True),
             disclose={"publisher": True})]},
    # may read history, but subscribe only below com.example.public
    {"name": "reader", "permissions": [allow("com.example.public", subscribe=True),
                                       allow(GET_EVENTS, match="exact", call=True)]},
    # may subscribe to everything, but not call the meta procedure
    {"name": "nocall", "permissions": [allow("", subscribe=True)]},
]


def ws(role=None):
    path = {"type": "websocket", "serializers": ["json", "msgpack"]}
    if role is not None:
        path["auth"] = {"anonymous": {"type": "static", "role": role}}
    return path


def history_config(store_type="embedded"):
    store = {"type": store_type, "limit": 10, "event-history": RULES}
    if store_type == "embedded":
        store["path"] = "data/realm1.redb"
    realm = {"name": "realm1", "roles": ROLES, "store": store}
    paths = {"ws": ws(), "reader": ws("reader"), "nocall": ws("nocall")}
    return make_config(realms=[realm], transports=[web_transport(paths)])


def ack(**kw):
    return PublishOptions(acknowledge=True, **kw)


def args_of(events):
    return [e["args"] for e in events]


async def error_of(coro) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await coro
    return caught.value


RFC3339_UTC = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$")


def check_shape(event, subscription, topic):
    assert EVENT_KEYS <= set(event), f"event keys {sorted(event)}"
    assert event["subscription"] == subscription
    assert event["topic"] == topic
    # RFC 3339 in UTC, the same instant as Crossbar's time_ns
    match = RFC3339_UTC.match(event["timestamp"])
    assert match, event["timestamp"]
    seconds = datetime.fromisoformat(match[1] + "+00:00").timestamp()
    nanos = int((match[2] or "0").ljust(9, "0"))
    assert int(seconds) * 10**9 + nanos == event["time_ns"], event


@pytest.fixture
def router(request):
    return start_router(request, history_config(), name="history")


def test_welcome_announces_event_history(router):
    async def main():
        async with Sessions(router.url()) as s:
            c = await s.connect("json")
            welcome = next(m for m in c.raw_in if m and m[0] == 2)
            assert welcome[2]["roles"]["broker"]["features"].get("event_history") is True

    run(main())


@pytest.mark.parametrize("ser", SERIALIZERS)
def test_limit_is_honoured_and_the_newest_come_first(router, ser):
    topic = "com.example.limited"

    async def main():
        async with Sessions(router.url()) as s:
            publisher = await s.connect("json")
            reader = await s.connect(ser)
            sub = await reader.subscribe(Collector(), topic)
            ids = []
            for n in range(1, 6):
                pub = await publisher.publish(topic, n, b"\x00\xffraw", text="plain", options=ack())
                ids.append(pub.id)

            events = await reader.call(GET_EVENTS, sub.id)
            assert args_of(events) == [[5, b"\x00\xffraw"], [4, b"\x00\xffraw"], [3, b"\x00\xffraw"]]
            assert [e["publication"] for e in events] == ids[:1:-1]
            for event in events:
                check_shape(event, sub.id, topic)
                assert event["kwargs"] == {"text": "plain"}
                assert type(event["args"][1]) is bytes
                assert "publisher" not in event and "publisher" not in event["details"]
            stamps = [e["time_ns"] for e in events]
            assert stamps == sorted(stamps, reverse=True) and len(set(stamps)) == 3

            # Crossbar's positional limit
            assert args_of(await reader.call(GET_EVENTS, sub.id, 2)) == [[5, b"\x00\xffraw"],
                                                                         [4, b"\x00\xffraw"]]

    run(main())


@pytest.mark.parametrize("ser", SERIALIZERS)
def test_kwargs_form_pages_by_time(router, ser):
    topic = "com.example.tree.kw"

    async def main():
        async with Sessions(router.url()) as s:
            publisher = await s.connect("json")
            reader = await s.connect(ser)
            sub = await reader.subscribe(Collector(), topic)
            for n in range(1, 7):
                await publisher.publish(topic, n, options=ack())

            # the spec's default: in order of occurrence
            oldest = await reader.call(GET_EVENTS, sub.id, limit=2)
            assert args_of(oldest) == [[1], [2]]
            newest = await reader.call(GET_EVENTS, sub.id, limit=2, reverse=True)
            assert args_of(newest) == [[6], [5]]
            every = await reader.call(GET_EVENTS, sub.id, limit=100)
            assert args_of(every) == [[n] for n in range(1, 7)]
            stamp = {e["args"][0]: e["timestamp"] for e in every}

            # the next page after the last event seen
            page = await reader.call(GET_EVENTS, sub.id, limit=2, after_time=stamp[2])
            assert args_of(page) == [[3], [4]]
            assert args_of(await reader.call(GET_EVENTS, sub.id, from_time=stamp[5])) == [[5], [6]]
            assert args_of(await reader.call(GET_EVENTS, sub.id, before_time=stamp[3])) == [[1], [2]]
            assert args_of(await reader.call(GET_EVENTS, sub.id, until_time=stamp[2],
                                             reverse=True)) == [[2], [1]]
            between = await reader.call(GET_EVENTS, sub.id, after_time=stamp[1],
                                        before_time=stamp[6], reverse=True, limit=3)
            assert args_of(between) == [[5], [4], [3]]

            e = await error_of(reader.call(GET_EVENTS, sub.id, from_time="last tuesday"))
            assert e.error == "wamp.error.invalid_argument" and "from_time" in e.args[0]
            e = await error_of(reader.call(GET_EVENTS, sub.id, after_publication=1))
            assert e.error == "wamp.error.invalid_argument" and "after_publication" in e.args[0]
            e = await error_of(reader.call(GET_EVENTS, sub.id, limit=0))
            assert e.error == "wamp.error.invalid_argument"

    run(main())


@pytest.mark.parametrize("ser", SERIALIZERS)
def test_prefix_rule_feeds_pattern_and_exact_subscriptions(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            publisher = await s.connect("json")
            reader = await s.connect(ser)
            prefix = await reader.subscribe(Collector(), "com.example.tree",
                                            options=SubscribeOptions(match="prefix"))
            exact = await reader.subscribe(Collector(), "com.example.tree.a")
            wildcard = await reader.subscribe(Collector(), "com.example.tree..c",
                                              options=SubscribeOptions(match="wildcard"))
            for topic, n in [("com.example.tree.a", 1), ("com.example.tree.b.c", 2),
                             ("com.example.trees", 3), ("com.example.tree.a", 4)]:
                await publisher.publish(topic, n, options=ack())

            # Rules and subscriptions match prefixes on the string, as the WAMP spec says:
            # the rule and the subscription on com.example.tree cover com.example.trees too.
            events = await reader.call(GET_EVENTS, prefix.id, limit=10)
            assert [(e["args"], e["topic"]) for e in events] == [
                ([1], "com.example.tree.a"), ([2], "com.example.tree.b.c"),
                ([3], "com.example.trees"), ([4], "com.example.tree.a")]
            # a pattern subscription's events carry the concrete topic, as EVENTs do
            assert [e["details"]["topic"] for e in events] == [e["topic"] for e in events]
            assert args_of(await reader.call(GET_EVENTS, exact.id)) == [[4], [1]]
            assert "topic" not in (await reader.call(GET_EVENTS, exact.id))[0]["details"]
            assert args_of(await reader.call(GET_EVENTS, wildcard.id)) == [[2]]
            only_a = await reader.call(GET_EVENTS, prefix.id, topic="com.example.tree.a")
            assert args_of(only_a) == [[1], [4]]

            trees = await reader.subscribe(Collector(), "com.example.trees")
            assert args_of(await reader.call(GET_EVENTS, trees.id)) == [[3]]

            # com.example.tre does not start with com.example.tree: no rule, no history
            other = await reader.subscribe(Collector(), "com.example.tre")
            e = await error_of(reader.call(GET_EVENTS, other.id))
            assert e.error == "wamp.error.history_unavailable"
            assert "com.example.tre" in e.args[0]

    run(main())


def test_publisher_identity_only_when_disclosed(router):
    async def main():
        async with Sessions(router.url()) as s:
            publisher = await s.connect("json")
            reader = await s.connect("msgpack")
            sub = await reader.subscribe(Collector(), "com.example.tree.id",
                                         options=SubscribeOptions(match="prefix"))
            await publisher.publish("com.example.tree.id.hidden", "anonymous", options=ack())
            await publisher.publish(DISCLOSED, "signed", options=ack())
            hidden, shown = await reader.call(GET_EVENTS, sub.id, limit=2)
            assert hidden["args"] == ["anonymous"]
            assert not {"publisher", "publisher_authid"} & (set(hidden) | set(hidden["details"]))
            assert shown["args"] == ["signed"]
            assert shown["publisher"] == publisher._session_id
            assert shown["details"]["publisher"] == publisher._session_id
            assert shown["publisher_authrole"] == "anonymous"
            assert shown["details"]["topic"] == DISCLOSED

    run(main())


@pytest.mark.parametrize("ser", SERIALIZERS)
def test_errors_and_authorization(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            owner = await s.connect("json")
            secret = await owner.subscribe(Collector(), "com.example.secret")
            news = await owner.subscribe(Collector(), "com.example.public.news")
            await owner.publish("com.example.secret", "classified", options=ack())
            await owner.publish("com.example.public.news", "for admins",
                                options=ack(eligible_authrole=["anonymous"]))
            await owner.publish("com.example.public.news", "for all", options=ack())
            await owner.publish("com.example.public.news", "not for readers",
                                options=ack(exclude_authrole=["reader"]))
            assert args_of(await owner.call(GET_EVENTS, secret.id)) == [["classified"]]

            e = await error_of(owner.call(GET_EVENTS, 4242424242))
            assert e.error == "wamp.error.no_such_subscription"
            e = await error_of(owner.call(GET_EVENTS))
            assert e.error == "wamp.error.invalid_argument"

            # a role that may call get_events sees only subscriptions it could subscribe to
            async with Sessions(router.url(path="reader")) as readers:
                reader = await readers.connect(ser)
                assert reader.details.authrole == "reader"
                e = await error_of(reader.call(GET_EVENTS, secret.id))
                assert e.error == "wamp.error.not_authorized"
                assert "com.example.secret" in e.args[0]
                # ... and within them, only events their audience admits
                assert args_of(await reader.call(GET_EVENTS, news.id)) == [["for all"]]
                assert args_of(await owner.call(GET_EVENTS, news.id)) == [
                    ["not for readers"], ["for all"], ["for admins"]]

            # a role without permission to call the procedure
            async with Sessions(router.url(path="nocall")) as others:
                nocall = await others.connect(ser)
                assert nocall.details.authrole == "nocall"
                e = await error_of(nocall.call(GET_EVENTS, news.id))
                assert e.error == "wamp.error.not_authorized"

    run(main())


def test_history_and_retained_events_survive_a_restart(request):
    router = start_router(request, history_config("embedded"), name="history-restart")
    first = {}

    async def before():
        async with Sessions(router.url()) as s:
            publisher = await s.connect("msgpack")
            sub = await publisher.subscribe(Collector(), "com.example.limited")
            for n in range(1, 5):
                await publisher.publish("com.example.limited", n, options=ack())
            first["limited"] = await publisher.call(GET_EVENTS, sub.id)
            await publisher.publish("com.example.state", "kept", b"\x01\x02",
                                    level=3, options=ack(retain=True))
            # a burst right before the shutdown: the writer must not lose its queue
            for n in range(300):
                publisher.publish("com.example.many", n)
            await publisher.publish("com.example.many", 300, options=ack())

    run(before())
    router.stop()
    router.start()

    async def after():
        async with Sessions(router.url()) as s:
            reader = await s.connect("json")
            sub = await reader.subscribe(Collector(), "com.example.limited")
            events = await reader.call(GET_EVENTS, sub.id)
            assert args_of(events) == [[4], [3], [2]]
            assert [(e["publication"], e["timestamp"]) for e in events] == \
                [(e["publication"], e["timestamp"]) for e in first["limited"]]
            assert all(e["subscription"] == sub.id for e in events)

            # a late subscriber gets the retained event of the previous run
            late = Collector()
            await reader.subscribe(late, "com.example.state",
                                   options=SubscribeOptions(get_retained=True, details=True))
            items = await late.wait(1)
            assert items[0][0] == ["kept", b"\x01\x02"] and items[0][1] == {"level": 3}
            assert items[0][2].retained is True

            many = await reader.subscribe(Collector(), "com.example.many")
            kept = await reader.call(GET_EVENTS, many.id, limit=1000)
            assert args_of(kept) == [[n] for n in range(301)], f"{len(kept)} of 301 events kept"

            # recording goes on after the restart, within the limit
            await reader.publish("com.example.limited", 5, options=ack())
            assert args_of(await reader.call(GET_EVENTS, sub.id)) == [[5], [4], [3]]

    run(after())


def test_a_memory_store_keeps_nothing_across_a_restart(request):
    router = start_router(request, history_config("memory"), name="history-memory")

    async def before():
        async with Sessions(router.url()) as s:
            publisher = await s.connect("json")
            sub = await publisher.subscribe(Collector(), "com.example.limited")
            await publisher.publish("com.example.limited", 1, options=ack())
            await publisher.publish("com.example.state", "kept?", options=ack(retain=True))
            # within one run, memory works like embedded
            assert args_of(await publisher.call(GET_EVENTS, sub.id)) == [[1]]
            other = await s.connect("json")  # exclude_me keeps it from its publisher
            late = Collector()
            await other.subscribe(late, "com.example.state",
                                  options=SubscribeOptions(get_retained=True))
            await late.wait(1)

    run(before())
    router.stop()
    router.start()

    async def after():
        async with Sessions(router.url()) as s:
            reader = await s.connect("json")
            sub = await reader.subscribe(Collector(), "com.example.limited")
            assert await reader.call(GET_EVENTS, sub.id) == []
            late = Collector()
            await reader.subscribe(late, "com.example.state",
                                   options=SubscribeOptions(get_retained=True))
            await asyncio.sleep(0.3)
            assert late.items == []

    run(after())

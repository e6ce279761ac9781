"""Publish/subscribe interop with autobahn-python."""

from __future__ import annotations

import itertools

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import PublishOptions, SubscribeOptions

from junction_harness import (
    SERIALIZER_IDS,
    Collector,
    Sessions,
    make_config,
    no_client_uri_check,
    quiet,
    realm,
    run,
    start_router,
)

MAX_ID = 2**53


@pytest.fixture(scope="module")
def router(request):
    config = make_config(realms=[
        realm("realm1"),
        realm("strict1", options={"uri_check": "strict"}),
    ])
    return start_router(request, config, name="pubsub")


ARGS = [1, "two", {"three": 3.5, "list": [True, None, -7]}, [1, [2, [3]]], 2**40]
KWARGS = {"a": "x", "b": [1, 2], "nested": {"k": {"v": "ü€"}}, "f": 0.25, "n": None}


@pytest.mark.parametrize("sub_ser,pub_ser", list(itertools.product(SERIALIZER_IDS, SERIALIZER_IDS)))
def test_publish_subscribe_args_kwargs(router, sub_ser, pub_ser):
    topic = "com.example.pubsub.basic"

    async def main():
        async with Sessions(router.url()) as s:
            sub = await s.connect(sub_ser)
            pub = await s.connect(pub_ser)
            events = Collector()
            subscription = await sub.subscribe(events, topic, options=SubscribeOptions(details=True))
            assert isinstance(subscription.id, int) and 1 <= subscription.id <= MAX_ID
            own = Collector()
            await pub.subscribe(own, topic)

            publication = await pub.publish(topic, *ARGS, options=PublishOptions(acknowledge=True), **KWARGS)
            assert publication is not None, "acknowledged publish must return a Publication"
            assert isinstance(publication.id, int) and 1 <= publication.id <= MAX_ID

            # positional-only and kwargs-only payloads as well
            await pub.publish(topic, "only-args", options=PublishOptions(acknowledge=True))
            await pub.publish(topic, options=PublishOptions(acknowledge=True), only="kwargs")
            await pub.publish(topic, options=PublishOptions(acknowledge=True))

            items = await events.wait(4)
            args, kwargs, details = items[0]
            assert args == ARGS
            assert kwargs == KWARGS
            assert details.publication == publication.id
            assert items[1][0] == ["only-args"] and items[1][1] == {}
            assert items[2][0] == [] and items[2][1] == {"only": "kwargs"}
            assert items[3][0] == [] and items[3][1] == {}

            # Publisher exclusion is the default: the publisher's own
            # subscription must not see its events.
            await quiet()
            assert own.items == [], f"publisher received its own events: {own.items!r}"
            assert len(events.items) == 4

    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_exclude_me_false_reaches_own_subscription(router, ser):
    topic = "com.example.pubsub.exclude_me"

    async def main():
        async with Sessions(router.url()) as s:
            pub = await s.connect(ser)
            other = await s.connect("json")
            own = Collector()
            others = Collector()
            await pub.subscribe(own, topic)
            await other.subscribe(others, topic)

            await pub.publish(topic, "default", options=PublishOptions(acknowledge=True))
            await pub.publish(topic, "included", options=PublishOptions(acknowledge=True, exclude_me=False))

            got = await own.wait(1, what="own event (exclude_me=False)")
            await others.wait(2)
            await quiet()
            assert [a for a, _, _ in got] == [["included"]]
            assert [a for a, _, _ in others.items] == [["default"], ["included"]]

    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_unsubscribe_then_publish_gets_no_event(router, ser):
    topic_a = "com.example.pubsub.unsub_a"
    topic_b = "com.example.pubsub.unsub_b"

    async def main():
        async with Sessions(router.url()) as s:
            sub = await s.connect(ser)
            pub = await s.connect("msgpack")
            a = Collector()
            b = Collector()
            sub_a = await sub.subscribe(a, topic_a)
            await sub.subscribe(b, topic_b)

            # sanity: subscription a works before unsubscribing
            await pub.publish(topic_a, "before", options=PublishOptions(acknowledge=True))
            await a.wait(1)

            await sub_a.unsubscribe()
            assert not sub_a.active

            await pub.publish(topic_a, "after", options=PublishOptions(acknowledge=True))
            await pub.publish(topic_b, "marker", options=PublishOptions(acknowledge=True))
            await b.wait(1)
            await quiet()
            assert [x for x, _, _ in a.items] == [["before"]], \
                f"event delivered after unsubscribe: {a.items!r}"

    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_prefix_subscription_matches_on_the_string(router, ser):
    """The spec defines prefix matching on the string: its own example has
    com.myapp.topic.emergency matching com.myapp.topic.emergency-low; autobahn.js's suite
    publishes com.myapp2.foobar and com.myapp.topi to a com.myapp prefix subscriber."""
    async def main():
        async with Sessions(router.url()) as s:
            sub = await s.connect(ser)
            pub = await s.connect("json")
            emergency = Collector()
            myapp = Collector()
            await sub.subscribe(emergency, "com.myapp.topic.emergency",
                                options=SubscribeOptions(match="prefix", details=True))
            await sub.subscribe(myapp, "com.myapp", options=SubscribeOptions(match="prefix", details=True))

            ack = PublishOptions(acknowledge=True)
            topics = ["com.myapp.topic.emergency-low", "com.myapp.topic.emergency.11",
                      "com.myapp.topic.emergenc", "com.myapp2.foobar", "com.myapp2",
                      "com.myapp.topi", "com.myapp", "com.myap", "com.app.topic1", "com"]
            for topic in topics:
                await pub.publish(topic, topic, options=ack)
            await myapp.wait(7, what="the seventh event on com.myapp")
            await quiet()

            assert [d.topic for _, _, d in emergency.items] == [
                "com.myapp.topic.emergency-low", "com.myapp.topic.emergency.11"]
            assert [a for a, _, _ in myapp.items] == [[t] for t in topics[:7]]
            assert [d.topic for _, _, d in myapp.items] == topics[:7]
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_pattern_subscriptions(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            sub = await s.connect(ser)
            pub = await s.connect("json")
            prefix = Collector()
            wildcard = Collector()
            exact = Collector()
            await sub.subscribe(prefix, "com.example.", options=SubscribeOptions(match="prefix", details=True))
            await sub.subscribe(wildcard, "com..topic", options=SubscribeOptions(match="wildcard", details=True))
            await sub.subscribe(exact, "com.example.topic", options=SubscribeOptions(details=True))

            ack = PublishOptions(acknowledge=True)
            # matches only the prefix subscription
            await pub.publish("com.example.deeper.topic", "prefix-only", options=ack)
            # matches only the wildcard subscription
            await pub.publish("com.other.topic", "wildcard-only", options=ack)
            # matches all three
            publication = await pub.publish("com.example.topic", "all", 1, k="v", options=ack)

            await prefix.wait(2, what="prefix event")
            await wildcard.wait(2, what="wildcard event")
            await exact.wait(1, what="exact event")
            await quiet()

            assert [(a, d.topic) for a, _, d in prefix.items] == [
                (["prefix-only"], "com.example.deeper.topic"),
                (["all", 1], "com.example.topic"),
            ]
            assert [(a, d.topic) for a, _, d in wildcard.items] == [
                (["wildcard-only"], "com.other.topic"),
                (["all", 1], "com.example.topic"),
            ]
            assert [a for a, _, _ in exact.items] == [["all", 1]]
            # one publication, one EVENT per matching subscription, same publication id
            assert prefix.items[1][2].publication == publication.id
            assert wildcard.items[1][2].publication == publication.id
            assert exact.items[0][2].publication == publication.id
            assert prefix.items[1][1] == {"k": "v"}
            assert wildcard.items[1][1] == {"k": "v"}
            assert exact.items[0][1] == {"k": "v"}

    run(main())


@pytest.mark.parametrize("ser", ["json", "msgpack"])
def test_invalid_uri_subscribe(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            c = await s.connect(ser)
            with pytest.raises(ApplicationError) as e:
                await c.subscribe(Collector(), "com..bad")
            assert e.value.error == "wamp.error.invalid_uri"
            # the session stays usable
            sub = await c.subscribe(Collector(), "com.example.ok")
            assert sub.id >= 1

    run(main())


@pytest.mark.parametrize("ser", ["json", "msgpack"])
def test_invalid_uri_publish(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            c = await s.connect(ser)
            with no_client_uri_check():
                bad = c.publish("com..bad", 1, options=PublishOptions(acknowledge=True))
            with pytest.raises(ApplicationError) as e:
                await bad
            assert e.value.error == "wamp.error.invalid_uri"
            # the session stays usable
            pubn = await c.publish("com.example.ok", options=PublishOptions(acknowledge=True))
            assert pubn.id >= 1

    run(main())


@pytest.mark.parametrize("ser", ["json", "msgpack"])
def test_strict_uri_check(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            loose = await s.connect(ser, realm="realm1")
            strict = await s.connect(ser, realm="strict1")
            # uppercase is fine under the default (loose) check ...
            sub = await loose.subscribe(Collector(), "com.Example.Topic")
            assert sub.id >= 1
            # ... and rejected under strict
            with pytest.raises(ApplicationError) as e:
                await strict.subscribe(Collector(), "com.Example.Topic")
            assert e.value.error == "wamp.error.invalid_uri"
            with pytest.raises(ApplicationError) as e:
                await strict.publish("com.Example.Topic", options=PublishOptions(acknowledge=True))
            assert e.value.error == "wamp.error.invalid_uri"
            ok = await strict.subscribe(Collector(), "com.example.topic_1")
            assert ok.id >= 1

    run(main())

"""Event retention with autobahn-python: `retain` on publish, `get_retained` on subscribe,
`details.retained` on the replayed event."""

from __future__ import annotations

import asyncio

import pytest
from autobahn.wamp.types import PublishOptions, SubscribeOptions

from junction_harness import SERIALIZER_IDS, Collector, Sessions, make_config, run, start_router


@pytest.fixture(scope="module")
def router(request):
    return start_router(request, make_config(), name="retention")


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_retained_event_is_replayed_on_request(router, ser):
    topic = f"com.example.retained.{ser.replace('.', '_')}"

    async def main():
        async with Sessions(router.url()) as s:
            publisher = await s.connect("json")
            await publisher.publish(topic, "first", options=PublishOptions(acknowledge=True, retain=True))
            await publisher.publish(topic, "latest", n=2, options=PublishOptions(acknowledge=True, retain=True))
            await publisher.publish(topic, "not retained", options=PublishOptions(acknowledge=True))

            late = await s.connect(ser)
            replayed = Collector()
            await late.subscribe(replayed, topic, options=SubscribeOptions(get_retained=True, details=True))
            items = await replayed.wait(1)
            args, kwargs, details = items[0]
            assert (args, kwargs) == (["latest"], {"n": 2})
            assert details.retained is True

            # Without get_retained nothing is replayed; live events carry no `retained`.
            plain = Collector()
            await late.subscribe(plain, topic + ".other", options=SubscribeOptions(details=True))
            await publisher.publish(topic, "live", options=PublishOptions(acknowledge=True))
            items = await replayed.wait(2)
            assert items[1][0] == ["live"] and not items[1][2].retained
            await asyncio.sleep(0.2)
            assert len(replayed.items) == 2 and plain.items == []

    run(main())


def test_prefix_subscription_gets_retained_events_of_matching_topics(router):
    async def main():
        async with Sessions(router.url()) as s:
            publisher = await s.connect("json")
            for leaf in ("a", "b"):
                await publisher.publish(f"com.example.tree.{leaf}", leaf,
                                        options=PublishOptions(acknowledge=True, retain=True))
            await publisher.publish("com.example.other", "x", options=PublishOptions(acknowledge=True, retain=True))
            sub = await s.connect("msgpack")
            events = Collector()
            await sub.subscribe(events, "com.example.tree",
                                options=SubscribeOptions(match="prefix", get_retained=True, details=True))
            items = await events.wait(2)
            await asyncio.sleep(0.2)
            assert len(events.items) == 2
            assert sorted((i[0][0], i[2].topic, i[2].retained) for i in items) == [
                ("a", "com.example.tree.a", True), ("b", "com.example.tree.b", True)]

    run(main())

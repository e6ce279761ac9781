"""Integers beyond 64 bits with autobahn-python: CBOR bignums (tags 2 and 3, what cbor2 writes
for a Python int outside 64 bits) and JSON integer literals of any length (what Python's json
writes and reads).

A router carries application payloads it does not need to interpret:
- CBOR peers get the same bignum back, JSON peers the exact integer literal, whatever
  serializer sent it;
- MessagePack has no integers beyond 64 bits: the sender of a message that would carry one to
  a MessagePack peer gets ``wamp.error.invalid_argument`` (a publication then reaches nobody),
  and every session stays open;
- retained events and event history keep them exactly across a restart.
"""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallResult, PublishOptions, SubscribeOptions

from junction_harness import (
    Collector,
    Sessions,
    ahttp_request,
    bridge_path,
    make_config,
    realm,
    run,
    start_router,
    transport,
    web_transport,
    ws_path,
)
from test_cbor import cbor_in_harness  # noqa: F401  (autouse: CBOR sessions for Sessions.connect)

BIGS = [2**128 - 1, -(2**128), 2**200 + 12345, 2**64, -(2**63) - 1]
KWARGS = {"big": 2**100, "nested": {"list": [-(2**70), 1, 2**64 + 1]}, "small": 7}
CARRYING = ["cbor", "json"]
GET_EVENTS = "wamp.subscription.get_events"


def config():
    store = {"type": "embedded", "path": "data/realm1.redb",
             "event-history": [{"uri": "com.example.big.kept", "limit": 10}]}
    r = realm("realm1")
    r["store"] = store
    return make_config(realms=[r], transports=[transport(serializers=("json", "msgpack", "cbor"))])


@pytest.fixture(scope="module")
def router(request):
    return start_router(request, config(), name="bignum")


def ack(**kw):
    return PublishOptions(acknowledge=True, **kw)


async def refused_for_msgpack(request):
    """`request` is answered wamp.error.invalid_argument, saying MessagePack cannot carry it."""
    with pytest.raises(ApplicationError) as e:
        await request
    assert e.value.error == "wamp.error.invalid_argument"
    assert "MessagePack" in e.value.args[0], e.value.args


def echo(*args, **kwargs):
    return CallResult(*args, **kwargs)


@pytest.mark.parametrize("caller_ser,callee_ser", list(itertools.product(CARRYING, CARRYING)))
def test_call_carries_bignums_exactly(router, caller_ser, callee_ser):
    procedure = f"com.example.big.echo.{caller_ser}.{callee_ser}"

    async def main():
        async with Sessions(router.url()) as s:
            callee = await s.connect(callee_ser)
            caller = await s.connect(caller_ser)
            await callee.register(echo, procedure)
            result = await caller.call(procedure, *BIGS, **KWARGS)
            assert list(result.results) == BIGS
            assert result.kwresults == KWARGS
            # The autobahn.js suite's value: 2^128-1 alone comes back as a plain int.
            assert await caller.call(procedure, 2**128 - 1) == 2**128 - 1
    run(main())


def test_a_msgpack_callee_cannot_receive_a_bignum(router):
    async def main():
        async with Sessions(router.url()) as s:
            callee = await s.connect("msgpack")
            caller = await s.connect("cbor")
            invoked = Collector(result="ok")
            await callee.register(invoked, "com.example.big.mp_callee")
            await refused_for_msgpack(caller.call("com.example.big.mp_callee", 1, 2**128 - 1))
            # Both sessions go on; the callee never saw the call.
            assert await caller.call("com.example.big.mp_callee", 2**63) == "ok"
            assert [a for a, _, _ in invoked.items] == [[2**63]]
    run(main())


def test_a_msgpack_caller_gets_invalid_argument_for_a_bignum_result(router):
    async def main():
        async with Sessions(router.url()) as s:
            callee = await s.connect("cbor")
            caller = await s.connect("msgpack")
            await callee.register(lambda big: 2**128 - 1 if big else 1, "com.example.big.mp_caller")
            await refused_for_msgpack(caller.call("com.example.big.mp_caller", True))
            assert await caller.call("com.example.big.mp_caller", False) == 1
    run(main())


@pytest.mark.parametrize("publisher_ser", CARRYING)
def test_publish_reaches_json_and_cbor_subscribers_exactly(router, publisher_ser):
    topic = f"com.example.big.topic.{publisher_ser}"

    async def main():
        async with Sessions(router.url()) as s:
            publisher = await s.connect(publisher_ser)
            receivers = {}
            for ser in CARRYING:
                sub = await s.connect(ser)
                receivers[ser] = Collector()
                await sub.subscribe(receivers[ser], topic)
            await publisher.publish(topic, *BIGS, options=ack(), **KWARGS)
            for ser, events in receivers.items():
                (args, kwargs, _), = await events.wait(1, what=f"the {ser} event")
                assert (args, kwargs) == (BIGS, KWARGS), ser

            # A MessagePack subscriber cannot get it: the publisher hears so, and the
            # publication reaches nobody (all or nothing).
            mp = await s.connect("msgpack")
            mp_events = Collector()
            await mp.subscribe(mp_events, topic)
            await refused_for_msgpack(publisher.publish(topic, 2**128 - 1, options=ack()))
            await publisher.publish(topic, 2**64 - 1, options=ack())
            await mp_events.wait(1, what="the 64-bit event")
            for ser, events in receivers.items():
                await events.wait(2, what=f"the second {ser} event")
            await asyncio.sleep(0.2)
            assert [a for a, _, _ in mp_events.items] == [[2**64 - 1]]
            for ser, events in receivers.items():
                assert [a for a, _, _ in events.items] == [BIGS, [2**64 - 1]], ser
    run(main())


def test_retained_events_and_history_keep_bignums_across_a_restart(request):
    router = start_router(request, config(), name="bignum-restart")

    async def before():
        async with Sessions(router.url()) as s:
            publisher = await s.connect("cbor")
            await publisher.publish("com.example.big.kept", *BIGS, options=ack(retain=True), **KWARGS)

    run(before())
    router.stop()
    router.start()

    async def after():
        async with Sessions(router.url()) as s:
            for ser in CARRYING:
                reader = await s.connect(ser)
                late = Collector()
                sub = await reader.subscribe(late, "com.example.big.kept",
                                             options=SubscribeOptions(get_retained=True, details=True))
                (args, kwargs, details), = await late.wait(1, what=f"the retained event ({ser})")
                assert (args, kwargs, details.retained) == (BIGS, KWARGS, True), ser
                (event,) = await reader.call(GET_EVENTS, sub.id)
                assert (event["args"], event["kwargs"]) == (BIGS, KWARGS), ser

            # MessagePack readers: the history call is refused, the retained event not replayed.
            mp = await s.connect("msgpack")
            late = Collector()
            sub = await mp.subscribe(late, "com.example.big.kept", options=SubscribeOptions(get_retained=True))
            await refused_for_msgpack(mp.call(GET_EVENTS, sub.id))
            await asyncio.sleep(0.2)
            assert late.items == []
    run(after())


@pytest.fixture(scope="module")
def http_router(request):
    paths = {
        "ws": ws_path(serializers=("json", "msgpack", "cbor")),
        "push": bridge_path("publisher"),
        "call": bridge_path("caller"),
        "hook": bridge_path("webhook", topic="com.example.big.hook", decode="json"),
    }
    config = make_config(realms=[realm("realm1")], transports=[web_transport(paths)])
    return start_router(request, config, name="bignum-http")


def post(router, path, body: bytes):
    return ahttp_request("127.0.0.1", router.ports[0], "POST", path, body=body)


def test_http_publisher_and_webhook_keep_big_integers_exact(http_router):
    async def main():
        async with Sessions(http_router.url()) as s:
            sub = await s.connect("cbor")
            pushed, hooked = Collector(), Collector()
            await sub.subscribe(pushed, "com.example.big.push")
            await sub.subscribe(hooked, "com.example.big.hook")
            # Python's json writes the exact literals, as a PHP or curl client would.
            body = json.dumps({"topic": "com.example.big.push", "args": BIGS, "kwargs": KWARGS})
            res = await post(http_router, "/push", body.encode())
            assert res.status == 202, res
            (args, kwargs, _), = await pushed.wait(1, what="the pushed event")
            assert (args, kwargs) == (BIGS, KWARGS)

            res = await post(http_router, "/hook", json.dumps({"id": 2**128 - 1}).encode())
            assert res.status == 202, res
            (args, kwargs, _), = await hooked.wait(1, what="the webhook event")
            assert (args, kwargs) == ([], {"id": 2**128 - 1})
    run(main())


def test_http_caller_answers_exact_integer_literals(http_router):
    async def main():
        async with Sessions(http_router.url()) as s:
            callee = await s.connect("cbor")
            await callee.register(echo, "com.example.big.http_echo")
            body = json.dumps({"procedure": "com.example.big.http_echo", "args": BIGS, "kwargs": KWARGS})
            res = await post(http_router, "/call", body.encode())
            assert res.status == 200, res
            assert str(2**200 + 12345).encode() in res.body
            assert json.loads(res.body) == {"args": BIGS, "kwargs": KWARGS}
    run(main())

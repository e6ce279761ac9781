"""CBOR (``wamp.2.cbor`` and ``wamp.2.cbor.batched``) with autobahn-python.

autobahn-python's CBOR serializer (cbor2) carries Python ``bytes`` as CBOR byte
strings and ``str`` as text strings. The router must keep them apart and
convert to the other serializers' forms (msgpack ``bin``, JSON "\\u0000" +
base64), so every peer gets ``bytes`` equal to the original, whatever
serializer published, called or answered.

The harness knows json and msgpack only; the CBOR serializers are added to its
table for the duration of each test here (the harness file stays as it is).
"""

from __future__ import annotations

import asyncio
import itertools

import pytest
from autobahn.wamp.serializer import CBORSerializer
from autobahn.wamp.types import CallResult, PublishOptions

import junction_harness
from junction_harness import (
    EVENT_TIMEOUT,
    Collector,
    Sessions,
    make_config,
    realm,
    run,
    start_router,
    transport,
    web_transport,
)

CBOR_SERIALIZERS = {
    "cbor": lambda: CBORSerializer(),
    "cbor.batched": lambda: CBORSerializer(batched=True),
}
CBOR_IDS = list(CBOR_SERIALIZERS)
OTHER_IDS = ["json", "msgpack", "json.batched", "msgpack.batched"]

BLOB = b"\x00\x01binary\xff"
EMPTY = b""
BIG = bytes(range(256)) * 20
# A str that looks like JSON's bytes form must stay a str for CBOR and msgpack
# peers (JSON peers cannot tell it apart from bytes: that is JSON's convention).
PAYLOAD_ARGS = [BLOB, "text", [BLOB, {"inner": BLOB}], EMPTY, BIG]
PAYLOAD_KWARGS = {"blob": BLOB, "s": "plain string", "nested": {"list": [BLOB, 1]}}

# Values other than bytes, at the edges of what every serializer can carry.
VALUES_ARGS = [0, -1, 2**63 - 1, -(2**63), 2**64 - 1, 0.25, -1.5e300, True, False, None,
               "ü€ unicode", "", [], {}, [1, [2, [3, [4]]]]]
VALUES_KWARGS = {"f": 0.1, "n": None, "nested": {"k": {"v": "ü€"}}, "big": 2**53}


@pytest.fixture(autouse=True)
def cbor_in_harness(monkeypatch):
    """Lets ``Sessions.connect`` open CBOR sessions."""
    for name, factory in CBOR_SERIALIZERS.items():
        monkeypatch.setitem(junction_harness.SERIALIZERS, name, factory)


@pytest.fixture(scope="module")
def router(request):
    # One path that lists the three serializers, one that lists none (the
    # default must serve CBOR too), one without cbor.
    config = make_config(
        realms=[realm("realm1")],
        transports=[
            transport(serializers=("json", "msgpack", "cbor")),
            web_transport({"ws": {"type": "websocket"}}),
            transport(serializers=("json", "msgpack")),
        ])
    return start_router(request, config, name="cbor")


def protocol_of(client) -> str:
    return client._transport.websocket_protocol_in_use


def check_bytes_payload(args, kwargs, where):
    assert args == PAYLOAD_ARGS, where
    assert type(args[0]) is bytes, f"{where}: args[0] is {type(args[0]).__name__}: {args[0]!r}"
    assert type(args[1]) is str, where
    assert type(args[2][0]) is bytes and type(args[2][1]["inner"]) is bytes, where
    assert type(args[3]) is bytes, f"{where}: empty bytes arrived as {type(args[3]).__name__}"
    assert type(args[4]) is bytes, where
    assert kwargs == PAYLOAD_KWARGS, where
    assert type(kwargs["blob"]) is bytes, \
        f"{where}: kwargs['blob'] is {type(kwargs['blob']).__name__}: {kwargs['blob']!r}"
    assert type(kwargs["s"]) is str, where
    assert type(kwargs["nested"]["list"][0]) is bytes, where


def raw_messages(client, code):
    """Messages of type ``code`` as the router sent them (decoded by the
    serializer, before autobahn turns them into message objects)."""
    return [m for m in client.raw_in if isinstance(m, list) and m and m[0] == code]


def check_raw_cbor_bytes(client, code, args_at):
    """On a CBOR session the bytes are CBOR byte strings on the wire (cbor2
    decodes them as ``bytes``), not JSON's "\\u0000" + base64 text."""
    msgs = raw_messages(client, code)
    assert msgs, f"no message {code} in {client.raw_in!r}"
    args, kwargs = msgs[-1][args_at], msgs[-1][args_at + 1]
    assert type(args[0]) is bytes and args[0] == BLOB, f"raw {code}: {msgs[-1]!r}"
    assert type(kwargs["blob"]) is bytes, f"raw {code}: {msgs[-1]!r}"
    assert type(kwargs["s"]) is str, f"raw {code}: {msgs[-1]!r}"


@pytest.mark.parametrize("ser", CBOR_IDS)
@pytest.mark.parametrize("path_index", [0, 1], ids=["listed", "default"])
def test_cbor_subprotocol_is_negotiated(router, ser, path_index):
    async def main():
        async with Sessions(router.url(path_index)) as s:
            client = await s.connect(ser)
            assert protocol_of(client) == f"wamp.2.{ser}"
            assert client.details.session >= 1
            # The WELCOME came as CBOR: cbor2 decoded it into a list.
            welcome = raw_messages(client, 2)
            assert len(welcome) == 1 and isinstance(welcome[0][2], dict), client.raw_in

    run(main())


def test_path_without_cbor_refuses_a_cbor_only_client(router):
    async def main():
        async with Sessions(router.url(2)) as s:
            with pytest.raises(junction_harness.ConnectFailed):
                await s.connect("cbor")
            # The same path still serves msgpack.
            client = await s.connect("msgpack")
            assert protocol_of(client) == "wamp.2.msgpack"

    run(main())


PAIRS = [(a, b) for a, b in itertools.product(CBOR_IDS + OTHER_IDS, repeat=2)
         if a.startswith("cbor") or b.startswith("cbor")]


@pytest.mark.parametrize("pub_ser,sub_ser", PAIRS)
def test_bytes_event_between_cbor_and_others(router, pub_ser, sub_ser):
    topic = "com.example.cbor.bytes"

    async def main():
        async with Sessions(router.url()) as s:
            sub = await s.connect(sub_ser)
            pub = await s.connect(pub_ser)
            events = Collector()
            await sub.subscribe(events, topic)
            publication = await pub.publish(topic, *PAYLOAD_ARGS,
                                            options=PublishOptions(acknowledge=True),
                                            **PAYLOAD_KWARGS)
            assert publication is not None and publication.id >= 1
            args, kwargs, _ = (await events.wait(1))[0]
            check_bytes_payload(args, kwargs, f"{pub_ser} -> {sub_ser} EVENT")
            if sub_ser.startswith("cbor"):
                check_raw_cbor_bytes(sub, 36, 4)

    run(main())


@pytest.mark.parametrize("caller_ser,callee_ser", PAIRS)
def test_bytes_call_between_cbor_and_others(router, caller_ser, callee_ser):
    procedure = "com.example.cbor.echo"

    async def main():
        async with Sessions(router.url()) as s:
            callee = await s.connect(callee_ser)
            caller = await s.connect(caller_ser)
            seen = []

            def echo(*args, **kwargs):
                seen.append((list(args), dict(kwargs)))
                return CallResult(*args, **kwargs)

            registration = await callee.register(echo, procedure)
            try:
                res = await asyncio.wait_for(
                    caller.call(procedure, *PAYLOAD_ARGS, **PAYLOAD_KWARGS), EVENT_TIMEOUT)
                # callee side (INVOCATION) ...
                assert len(seen) == 1
                check_bytes_payload(*seen[0], f"{caller_ser} -> {callee_ser} INVOCATION")
                if callee_ser.startswith("cbor"):
                    check_raw_cbor_bytes(callee, 68, 4)
                # ... and caller side (RESULT)
                assert isinstance(res, CallResult), res
                check_bytes_payload(list(res.results), res.kwresults,
                                    f"{callee_ser} -> {caller_ser} RESULT")
                if caller_ser.startswith("cbor"):
                    check_raw_cbor_bytes(caller, 50, 3)
            finally:
                await registration.unregister()

    run(main())


@pytest.mark.parametrize("pub_ser,sub_ser", [("cbor", "json"), ("json", "cbor"),
                                             ("cbor", "msgpack"), ("msgpack", "cbor.batched"),
                                             ("cbor.batched", "cbor")])
def test_other_values_survive_cbor(router, pub_ser, sub_ser):
    topic = "com.example.cbor.values"

    async def main():
        async with Sessions(router.url()) as s:
            sub = await s.connect(sub_ser)
            pub = await s.connect(pub_ser)
            events = Collector()
            await sub.subscribe(events, topic)
            await pub.publish(topic, *VALUES_ARGS, options=PublishOptions(acknowledge=True),
                              **VALUES_KWARGS)
            args, kwargs, _ = (await events.wait(1))[0]
            assert args == VALUES_ARGS
            assert kwargs == VALUES_KWARGS
            # bool stays bool and int stays int (True == 1 in Python)
            assert [type(a) for a in args[7:10]] == [bool, bool, type(None)]
            assert all(type(a) is int for a in args[:5]), args[:5]

    run(main())


def test_integer_beyond_64_bits_passes_through(router):
    """cbor2 writes 2**64 as a bignum (tag 2): the router carries it (it once aborted the
    session); the JSON subscriber reads the exact literal, the session goes on. More in
    test_bignum.py."""
    topic = "com.example.cbor.bignum"

    async def main():
        async with Sessions(router.url()) as s:
            watcher = await s.connect("json")
            events = Collector()
            await watcher.subscribe(events, topic)
            publisher = await s.connect("cbor")
            await publisher.publish(topic, 2**64, options=PublishOptions(acknowledge=True))
            await publisher.publish(topic, 2**64 - 1, options=PublishOptions(acknowledge=True))
            items = await events.wait(2)
            assert [args for args, _, _ in items] == [[2**64], [2**64 - 1]]
            assert router.alive()

    run(main())

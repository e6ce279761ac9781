"""Binary payloads across serializers.

msgpack carries bytes as ``bin``; JSON carries them as a string "\\u0000" +
base64 (autobahn's JSON serializer maps both ways). The router must convert
between the two so every peer gets Python ``bytes`` equal to the original.
"""

from __future__ import annotations

import itertools

import pytest
from autobahn.wamp.types import CallResult, PublishOptions

from junction_harness import (
    SERIALIZER_IDS,
    Collector,
    Sessions,
    make_config,
    run,
    start_router,
)

BLOB = b"\x00\x01binary\xff"
EMPTY = b""
BIG = bytes(range(256)) * 20


@pytest.fixture(scope="module")
def router(request):
    return start_router(request, make_config(), name="binary")


def check_payload(args, kwargs):
    assert args == [BLOB, "text", [BLOB, {"inner": BLOB}], EMPTY, BIG]
    assert type(args[0]) is bytes, f"args[0] is {type(args[0]).__name__}: {args[0]!r}"
    assert type(args[1]) is str
    assert type(args[2][0]) is bytes and type(args[2][1]["inner"]) is bytes
    assert type(args[3]) is bytes, f"empty bytes arrived as {type(args[3]).__name__}: {args[3]!r}"
    assert type(args[4]) is bytes
    assert kwargs == {"blob": BLOB, "s": "plain string", "nested": {"list": [BLOB, 1]}}
    assert type(kwargs["blob"]) is bytes, f"kwargs['blob'] is {type(kwargs['blob']).__name__}: {kwargs['blob']!r}"
    assert type(kwargs["s"]) is str
    assert type(kwargs["nested"]["list"][0]) is bytes


PAYLOAD_ARGS = [BLOB, "text", [BLOB, {"inner": BLOB}], EMPTY, BIG]
PAYLOAD_KWARGS = {"blob": BLOB, "s": "plain string", "nested": {"list": [BLOB, 1]}}


@pytest.mark.parametrize("pub_ser,sub_ser", list(itertools.product(SERIALIZER_IDS, SERIALIZER_IDS)))
def test_binary_event(router, pub_ser, sub_ser):
    async def main():
        async with Sessions(router.url()) as s:
            sub = await s.connect(sub_ser)
            pub = await s.connect(pub_ser)
            events = Collector()
            await sub.subscribe(events, "com.example.binary")
            await pub.publish("com.example.binary", *PAYLOAD_ARGS,
                              options=PublishOptions(acknowledge=True), **PAYLOAD_KWARGS)
            items = await events.wait(1)
            args, kwargs, _ = items[0]
            check_payload(args, kwargs)

    run(main())


@pytest.mark.parametrize("caller_ser,callee_ser", [("msgpack", "json"), ("json", "msgpack"),
                                                   ("msgpack.batched", "json.batched"),
                                                   ("json.batched", "msgpack.batched")])
def test_binary_call_roundtrip(router, caller_ser, callee_ser):
    async def main():
        async with Sessions(router.url()) as s:
            callee = await s.connect(callee_ser)
            caller = await s.connect(caller_ser)
            seen = []

            def echo(*args, **kwargs):
                seen.append((list(args), dict(kwargs)))
                return CallResult(*args, **kwargs)

            await callee.register(echo, "com.example.binary.echo")
            res = await caller.call("com.example.binary.echo", *PAYLOAD_ARGS, **PAYLOAD_KWARGS)
            # callee side (INVOCATION) ...
            assert len(seen) == 1
            check_payload(*seen[0])
            # ... and caller side (RESULT)
            assert isinstance(res, CallResult)
            check_payload(list(res.results), res.kwresults)

    run(main())

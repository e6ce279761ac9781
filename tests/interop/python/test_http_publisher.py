"""HTTP bridge, publisher (pusher) paths: interop with autobahn-python subscribers. A signed
push (Crossbar's signing, computed here as crossbarconnect does) reaches a JSON and a
MessagePack subscriber with its args, kwargs and publication id.

The publisher contract itself (methods, content types, Content-Length, body limits, signing
rules, require_ip/require_tls with trusted proxies, IPv6, TLS, CORS, success_status, options,
debug logging, keep-alive) is tested in Rust with the router in the test process:
tests/it/bridge_publisher.rs, bridge_publisher_contract.rs and bridge_transport.rs.
"""

from __future__ import annotations

import pytest
from autobahn.wamp.types import SubscribeOptions

from junction_harness import (
    Collector,
    Sessions,
    ahttp_request,
    anonymous_role,
    assert_published,
    bridge_path,
    compact_json,
    make_config,
    realm,
    run,
    signed_query,
    start_router,
    web_transport,
    ws_path,
)

KEY, SECRET = "foobar", "secret123"


@pytest.fixture(scope="module")
def router(request):
    plain = web_transport({
        "ws": ws_path(),
        "push-signed": bridge_path("publisher", key=KEY, secret=SECRET, timestamp_delta_limit=10),
    })
    config = make_config(realms=[realm("realm1", roles=[anonymous_role()])], transports=[plain])
    return start_router(request, config, name="http-publisher")


ARGS = ["Hello, world", 23, 2**40, -1.5, None, True, {"nested": [1, {"ü": "€"}]}, []]
KWARGS = {"a": 1, "b": "zwei", "c": [True, None], "d": {"e": {"f": 0.25}}, "unicode": "日本語"}


def test_signed_push_reaches_subscriber(router):
    topic = "com.example.e2e.signed"
    port = router.ports[0]

    async def main():
        async with Sessions(router.url(0, "ws")) as s:
            sub = await s.connect("json")
            sub2 = await s.connect("msgpack")
            events, events2 = Collector(), Collector()
            await sub.subscribe(events, topic, options=SubscribeOptions(details=True))
            await sub2.subscribe(events2, topic)
            body = compact_json({"topic": topic, "args": ARGS, "kwargs": KWARGS})
            res = await ahttp_request("127.0.0.1", port, "POST", "/push-signed",
                                      body=body, query=signed_query(KEY, SECRET, body))
            pid = assert_published(res)
            (args, kwargs, details), = await events.wait(1)
            assert args == ARGS
            assert kwargs == KWARGS
            assert details.publication == pid
            (args2, kwargs2, _), = await events2.wait(1)
            assert args2 == ARGS and kwargs2 == KWARGS
            # args only, kwargs only, neither
            for body in ({"topic": topic, "args": ["only"]}, {"topic": topic, "kwargs": {"k": "v"}},
                         {"topic": topic}):
                raw = compact_json(body)
                assert_published(await ahttp_request(
                    "127.0.0.1", port, "POST", "/push-signed", body=raw,
                    query=signed_query(KEY, SECRET, raw)))
            items = await events.wait(4)
            assert [(a, k) for a, k, _ in items[1:]] == [(["only"], {}), ([], {"k": "v"}), ([], {})]

    run(main())

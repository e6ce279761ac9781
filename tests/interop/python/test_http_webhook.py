"""HTTP bridge, webhook paths: interop with an autobahn-python subscriber. An accepted
request is one event on the path's topic, in Crossbar's form {"headers", "body"}, as
subscribers written for Crossbar read it.

The webhook contract itself (decode json, methods, body limit, GitHub signatures, allowed
origins, error responses, keep-alive) is tested in Rust with the router in the test process:
tests/it/bridge_webhook.rs.
"""

from __future__ import annotations

import pytest

from junction_harness import (
    Collector,
    Sessions,
    ahttp_request,
    anonymous_role,
    bridge_path,
    check_bridge_headers,
    make_config,
    realm,
    run,
    start_router,
    web_transport,
    ws_path,
)

TOPIC = "com.example.hook.raw"


@pytest.fixture(scope="module")
def router(request):
    paths = {
        "ws": ws_path(),
        "hook-raw": bridge_path("webhook", topic=TOPIC, success_response="received"),
    }
    config = make_config(realms=[realm("realm1", roles=[anonymous_role()])],
                         transports=[web_transport(paths)])
    return start_router(request, config, name="http-webhook")


def test_raw_event_headers_and_body(router):
    text = "fresh webhooks! ü€"

    async def main():
        async with Sessions(router.url(0, "ws")) as s:
            sub = await s.connect("json")
            events = Collector()
            await sub.subscribe(events, TOPIC)
            res = await ahttp_request("127.0.0.1", router.ports[0], "POST", "/hook-raw",
                                      body=text.encode("utf-8"),
                                      content_type="text/plain; charset=utf-8",
                                      headers={"X-Github-Event": "ping", "X-Custom": "one"})
            assert res.status == 202 and res.body == b"received", res
            check_bridge_headers(res, json_type=False)
            (args, kwargs, _), = await events.wait(1)
            assert kwargs == {} and len(args) == 1, (args, kwargs)
            event = args[0]
            assert set(event) == {"headers", "body"}, event
            assert event["body"] == text
            headers = event["headers"]
            assert headers["Content-Type"] == ["text/plain; charset=utf-8"], headers
            assert headers["X-Github-Event"] == ["ping"], headers
            assert headers["X-Custom"] == ["one"], headers
            assert headers["Content-Length"] == [str(len(text.encode("utf-8")))], headers
            for values in headers.values():
                assert isinstance(values, list) and all(isinstance(v, str) for v in values)

    run(main())

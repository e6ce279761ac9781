"""HTTP bridge, webhook paths: every accepted request becomes one event on
the configured topic. Crossbar's form publishes {"headers", "body"}; with
"decode": "json" the parsed body is published (kwargs for an object, else
the single arg). See shared/reference/http-bridge.md."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import pytest

from junction_harness import (
    Collector,
    Sessions,
    ahttp_request,
    anonymous_role,
    assert_http_error,
    bridge_path,
    check_bridge_headers,
    http_connection,
    http_request,
    make_config,
    permission,
    quiet,
    realm,
    run,
    start_router,
    web_transport,
    ws_path,
)

GH_SECRET = "s3cret"
HOOK_LIMIT = 32


def hook(topic, role="anonymous", **options):
    return bridge_path("webhook", role=role, topic=topic, **options)


@pytest.fixture(scope="module")
def router(request):
    roles = [anonymous_role(), {"name": "nopublish", "permissions": [permission(publish=False)]}]
    paths = {
        "ws": ws_path(),
        "hook": hook("com.example.hook", decode="json", methods=["POST", "PUT"]),
        "hook-raw": hook("com.example.hook.raw", success_response="received"),
        "hook-cors": hook("com.example.hook", decode="json",
                          allowed_origins=["https://app.example.com"]),
        "hook-small": hook("com.example.hook.small", post_body_limit=HOOK_LIMIT),
        "hook-small-json": hook("com.example.hook.small", decode="json", post_body_limit=HOOK_LIMIT),
        "hook-put": hook("com.example.hook.put", methods=["PUT"], decode="json"),
        "hook-gh": hook("com.example.hook.gh", github_secret=GH_SECRET),
        "hook-noauth": hook("com.example.hook.noauth", role="nopublish"),
        "hook-noauth-custom": hook("com.example.hook.noauth", role="nopublish",
                                   error_response="nope"),
    }
    config = make_config(realms=[realm("realm1", roles=roles)], transports=[web_transport(paths)])
    return start_router(request, config, name="http-webhook")


def subscribed(router, topic, body):
    """Runs ``body(send, events)`` with a subscriber on ``topic``;
    ``send(method, path, **kw)`` makes an HTTP request off the loop."""

    async def main():
        async with Sessions(router.url(0, "ws")) as s:
            sub = await s.connect("json")
            events = Collector()
            await sub.subscribe(events, topic)

            async def send(method, path, **kw):
                return await ahttp_request("127.0.0.1", router.ports[0], method, "/" + path, **kw)

            await body(send, events)

    run(main())


def assert_accepted(res, text=b"OK"):
    assert res.status == 202, res
    assert res.body == text, res
    check_bridge_headers(res, json_type=False)


def test_only_allowed_origins_may_use_a_webhook_from_a_browser(router):
    # Issue 12, item 9: a page elsewhere must not drive the webhook through a visitor.
    async def body(send, events):
        for path in ("hook", "hook-cors"):
            res = await send("POST", path, json_body={"from": "evil"},
                             headers={"Origin": "https://evil.example.net"})
            assert res.status == 403, res
            assert res.header("Access-Control-Allow-Origin") is None, res
        res = await send("POST", "hook-cors", json_body={"from": "app"},
                         headers={"Origin": "https://app.example.com"})
        assert res.status == 202, res
        check_bridge_headers(res, "https://app.example.com", json_type=False)
        (args, kwargs, _), = await events.wait(1)
        assert kwargs == {"from": "app"}, "only the allowed page's event arrives"

    subscribed(router, "com.example.hook", body)


def test_json_object_arrives_as_kwargs(router):
    payload = {"temperature": 21.5, "device": "sensor-1", "tags": ["a", "b"], "ok": True,
               "nested": {"x": None, "ü": "€"}}

    async def body(send, events):
        assert_accepted(await send("POST", "hook", json_body=payload))
        (args, kwargs, _), = await events.wait(1)
        assert args == [] and kwargs == payload

    subscribed(router, "com.example.hook", body)


@pytest.mark.parametrize("value", [[1, "two", {"three": 3}], 42, "text", None, []],
                         ids=["list", "int", "string", "null", "empty-list"])
def test_json_non_object_arrives_as_single_arg(router, value):
    async def body(send, events):
        assert_accepted(await send("POST", "hook", body=json.dumps(value)))
        (args, kwargs, _), = await events.wait(1)
        assert args == [value] and kwargs == {}

    subscribed(router, "com.example.hook", body)


def test_put_allowed_when_configured(router):
    async def body(send, events):
        assert_accepted(await send("PUT", "hook", json_body={"via": "put"}))
        (args, kwargs, _), = await events.wait(1)
        assert kwargs == {"via": "put"}

    subscribed(router, "com.example.hook", body)


def test_methods(router):
    port = router.ports[0]
    for method in ("GET", "DELETE", "PATCH"):
        res = http_request("127.0.0.1", port, method, "/hook")
        assert_http_error(res, 405)
        assert set(res.header("Allow").replace(" ", "").split(",")) == {"POST", "PUT", "OPTIONS"}, res
    # default methods: POST only
    assert_http_error(http_request("127.0.0.1", port, "PUT", "/hook-raw", body=b"x"), 405)
    # PUT only
    assert_http_error(http_request("127.0.0.1", port, "POST", "/hook-put", json_body={}), 405)
    assert_accepted(http_request("127.0.0.1", port, "PUT", "/hook-put", json_body={}))
    res = http_request("127.0.0.1", port, "OPTIONS", "/hook", content_type=None)
    assert res.status == 200 and res.body == b"", res
    assert set(res.header("Allow").replace(" ", "").split(",")) == {"POST", "PUT", "OPTIONS"}, res


@pytest.mark.parametrize("raw", [b"{nope", b"", b'{"a": 1', b"\xff\xfe"],
                         ids=["garbage", "empty", "truncated", "not-utf8"])
def test_invalid_json_with_decode_is_400(router, raw):
    async def body(send, events):
        assert_http_error(await send("POST", "hook", body=raw), 400)
        await quiet()
        assert events.items == [], "a refused webhook request must publish nothing"

    subscribed(router, "com.example.hook", body)


def test_raw_event_headers_and_body(router):
    text = "fresh webhooks! ü€"

    async def body(send, events):
        res = await send("POST", "hook-raw", body=text.encode("utf-8"),
                         content_type="text/plain; charset=utf-8",
                         headers={"X-Github-Event": "ping", "X-Custom": "one"})
        assert_accepted(res, b"received")
        (args, kwargs, _), = await events.wait(1)
        assert kwargs == {} and len(args) == 1, (args, kwargs)
        event = args[0]
        assert set(event) == {"headers", "body"}, event
        assert event["body"] == text
        headers = {k.lower(): v for k, v in event["headers"].items()}
        assert headers["content-type"] == ["text/plain; charset=utf-8"], headers
        assert headers["x-github-event"] == ["ping"], headers
        assert headers["x-custom"] == ["one"], headers
        assert headers["content-length"] == [str(len(text.encode("utf-8")))], headers
        for values in event["headers"].values():
            assert isinstance(values, list) and all(isinstance(v, str) for v in values)

    subscribed(router, "com.example.hook.raw", body)


def test_raw_event_json_body_is_not_decoded(router):
    raw = '{"zen": "Design for failure.", "n": 1}'

    async def body(send, events):
        assert_accepted(await send("POST", "hook-raw", body=raw), b"received")
        (args, kwargs, _), = await events.wait(1)
        assert args[0]["body"] == raw and kwargs == {}

    subscribed(router, "com.example.hook.raw", body)


def test_raw_event_header_names_as_crossbar(router):
    """Crossbar (Twisted's getAllRawHeaders) names headers in canonical
    capitalisation, as its webhook docs show: "Content-Type",
    "X-Github-Event", "User-Agent". Subscribers written for Crossbar read
    them by those names."""

    async def body(send, events):
        res = await send("POST", "hook-raw", body=b"{}", content_type="application/json",
                         headers={"x-github-event": "ping", "User-Agent": "GitHub-Hookshot/1"})
        assert_accepted(res, b"received")
        (args, _, _), = await events.wait(1)
        names = set(args[0]["headers"])
        for name in ("Content-Type", "Content-Length", "X-Github-Event", "User-Agent", "Host"):
            assert name in names, f"header {name!r} missing; names are {sorted(names)}"

    subscribed(router, "com.example.hook.raw", body)


def test_body_limit(router):
    async def body(send, events):
        assert_accepted(await send("POST", "hook-small", body=b"x" * HOOK_LIMIT))
        assert_http_error(await send("POST", "hook-small", body=b"x" * (HOOK_LIMIT + 1)), 413)
        assert_http_error(await send("POST", "hook-small-json",
                                     json_body={"pad": "y" * HOOK_LIMIT}), 413)
        (args, _, _), = await events.wait(1)
        assert args[0]["body"] == "x" * HOOK_LIMIT
        await quiet()
        assert len(events.items) == 1, events.items

    subscribed(router, "com.example.hook.small", body)


def test_github_signature(router):
    raw = b'{"zen":"Design for failure."}'
    sha256 = "sha256=" + hmac.new(GH_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    sha1 = "sha1=" + hmac.new(GH_SECRET.encode(), raw, hashlib.sha1).hexdigest()
    wrong = "sha256=" + hmac.new(b"other", raw, hashlib.sha256).hexdigest()

    async def body(send, events):
        assert_accepted(await send("POST", "hook-gh", body=raw,
                                   headers={"X-Hub-Signature-256": sha256}))
        assert_accepted(await send("POST", "hook-gh", body=raw, headers={"X-Hub-Signature": sha1}))
        for headers in ({}, {"X-Hub-Signature-256": wrong}, {"X-Hub-Signature": "sha1=00"},
                        {"X-Hub-Signature-256": sha256.replace("sha256=", "")}):
            res = await send("POST", "hook-gh", body=raw, headers=headers)
            assert 400 <= res.status < 500, (headers, res)
        # a valid signature over another body
        res = await send("POST", "hook-gh", body=raw + b" ", headers={"X-Hub-Signature-256": sha256})
        assert 400 <= res.status < 500, res
        await events.wait(2)
        await quiet()
        assert len(events.items) == 2, events.items
        assert all(item[0][0]["body"] == raw.decode() for item in events.items)

    subscribed(router, "com.example.hook.gh", body)


def test_publish_failure_is_500_with_error_response(router):
    res = http_request("127.0.0.1", router.ports[0], "POST", "/hook-noauth", body=b"{}")
    assert res.status == 500 and res.body == b"NOT OK", res
    res = http_request("127.0.0.1", router.ports[0], "POST", "/hook-noauth-custom", body=b"{}")
    assert res.status == 500 and res.body == b"nope", res


def test_keep_alive(router):
    async def body(send, events):
        def sequential():
            conn = http_connection("127.0.0.1", router.ports[0])
            try:
                ports = set()
                for i in range(4):
                    res = http_request(None, None, "POST", "/hook", json_body={"i": i}, conn=conn)
                    assert res.status == 202, res
                    ports.add(conn.sock.getsockname()[1])
                # a refused oversized body: afterwards the connection is still
                # usable, or the refusal said Connection: close
                res = http_request(None, None, "POST", "/hook-small", body=b"z" * 100_000, conn=conn)
                assert res.status == 413, res
                try:
                    res = http_request(None, None, "POST", "/hook", json_body={"i": 4}, conn=conn)
                except (ConnectionError, OSError) as e:
                    raise AssertionError(
                        f"after a 413 without Connection: close the connection was closed: {e!r}")
                assert res.status == 202, res
                return ports
            finally:
                conn.close()

        ports = await asyncio.to_thread(sequential)
        assert len(ports) == 1
        items = await events.wait(5)
        assert [k for _, k, _ in items] == [{"i": i} for i in range(5)]

    subscribed(router, "com.example.hook", body)

"""HTTP bridge, caller paths: an HTTP POST of {"procedure", "args", "kwargs"}
becomes a WAMP call answered by an autobahn-python callee; the result (or
the WAMP error) is the response body (shared/reference/http-bridge.md)."""

from __future__ import annotations

import asyncio
import time

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallResult

from junction_harness import (
    Sessions,
    ahttp_request,
    anonymous_role,
    assert_http_error,
    assert_wamp_error,
    bridge_path,
    check_bridge_headers,
    compact_json,
    http_connection,
    http_request,
    make_config,
    permission,
    realm,
    run,
    signed_query,
    start_router,
    web_transport,
    ws_path,
)

TIMEOUT_MS = 500
KEY, SECRET = "callkey", "call-secret"


def caller(**options):
    return bridge_path("caller", **options)


@pytest.fixture(scope="module")
def router(request):
    roles = [anonymous_role(), {"name": "nocall", "permissions": [permission(call=False)]}]
    paths = {
        "ws": ws_path(),
        "call": caller(timeout=TIMEOUT_MS),
        "call-signed": caller(key=KEY, secret=SECRET, timeout=2000),
        "call-noauth": bridge_path("caller", role="nocall", timeout=TIMEOUT_MS),
        "call-strict": caller(strict_status=True, timeout=TIMEOUT_MS),
        "call-strict-noauth": bridge_path("caller", role="nocall", strict_status=True),
        "call-small": caller(post_body_limit=64, require_ip=["127.0.0.1"]),
        "call-deny": caller(require_ip=["10.0.0.0/8"]),
    }
    config = make_config(realms=[realm("realm1", roles=roles)], transports=[web_transport(paths)])
    return start_router(request, config, name="http-caller")


class Callee:
    """An autobahn session with the procedures the tests call."""

    def __init__(self):
        self.invocations = []
        self.hanging = 0

    async def register(self, session):
        async def add(a, b):
            self.invocations.append(("add", [a, b], {}))
            return a + b

        def echo(*args, **kwargs):
            self.invocations.append(("echo", list(args), kwargs))
            return CallResult(*args, **kwargs)

        def kwargs_only():
            return CallResult(total=3, names=["a", "b"])

        def nothing():
            return CallResult()  # YIELD without args and kwargs

        def fail(*args, **kwargs):
            raise ApplicationError("com.example.error.oops", "bad", 42, reason="testing", n=[1])

        async def hang():
            self.hanging += 1
            await asyncio.Future()

        await session.register(add, "com.example.add")
        await session.register(echo, "com.example.echo")
        await session.register(kwargs_only, "com.example.kwargs_only")
        await session.register(nothing, "com.example.nothing")
        await session.register(fail, "com.example.fail")
        await session.register(hang, "com.example.hang")


def with_callee(router, body):
    """Runs ``body(call, callee)`` with a registered callee; ``call(path,
    json_body=..., **kw)`` posts to the router without blocking the loop."""

    async def main():
        async with Sessions(router.url(0, "ws")) as s:
            session = await s.connect("json")
            callee = Callee()
            await callee.register(session)

            async def call(path="call", **kw):
                return await ahttp_request("127.0.0.1", router.ports[0], "POST", "/" + path, **kw)

            await body(call, callee)

    run(main())


def post(router, path, **kw):
    return http_request("127.0.0.1", router.ports[0], "POST", "/" + path, **kw)


def assert_result(res, expected: dict):
    assert res.status == 200, res
    check_bridge_headers(res)
    assert res.json() == expected, res


def test_add(router):
    async def body(call, callee):
        res = await call(json_body={"procedure": "com.example.add", "args": [2, 3]})
        assert_result(res, {"args": [5]})
        assert callee.invocations == [("add", [2, 3], {})]

    with_callee(router, body)


def test_args_and_kwargs_round_trip(router):
    args = ["x", 1, 2**40, -0.5, None, True, {"deep": [1, {"ü": "€"}]}, []]
    kwargs = {"a": 1, "b": [True, False], "c": {"d": "日本語"}}

    async def body(call, callee):
        res = await call(json_body={"procedure": "com.example.echo", "args": args, "kwargs": kwargs})
        assert_result(res, {"args": args, "kwargs": kwargs})
        assert callee.invocations == [("echo", args, kwargs)]
        res = await call(json_body={"procedure": "com.example.kwargs_only"})
        assert_result(res, {"kwargs": {"total": 3, "names": ["a", "b"]}})
        res = await call(json_body={"procedure": "com.example.nothing"})
        assert_result(res, {})

    with_callee(router, body)


def test_application_error(router):
    async def body(call, callee):
        res = await call(json_body={"procedure": "com.example.fail", "args": [1]})
        err = assert_wamp_error(res, "com.example.error.oops", 200)
        assert err["args"] == ["bad", 42], err
        assert err["kwargs"] == {"reason": "testing", "n": [1]}, err

    with_callee(router, body)


def test_no_such_procedure(router):
    body = {"procedure": "com.example.nobody.home", "args": [1]}
    assert_wamp_error(post(router, "call", json_body=body), "wamp.error.no_such_procedure", 200)
    assert_wamp_error(post(router, "call-strict", json_body=body), "wamp.error.no_such_procedure", 404)


def test_timeout(router):
    async def body(call, callee):
        for path, status in (("call", 200), ("call-strict", 504)):
            start = time.monotonic()
            res = await call(path, json_body={"procedure": "com.example.hang"})
            elapsed = time.monotonic() - start
            assert_wamp_error(res, "wamp.error.timeout", status)
            assert elapsed < 3.0, f"timeout {TIMEOUT_MS} ms answered after {elapsed:.2f}s"
            assert elapsed >= TIMEOUT_MS / 1000 * 0.8, f"answered after only {elapsed:.3f}s"
        assert callee.hanging == 2
        # the callee is still usable afterwards
        assert_result(await call(json_body={"procedure": "com.example.add", "args": [1, 1]}),
                      {"args": [2]})

    with_callee(router, body)


def test_not_authorized(router):
    body = {"procedure": "com.example.add", "args": [2, 3]}
    assert_wamp_error(post(router, "call-noauth", json_body=body), "wamp.error.not_authorized", 200)
    assert_wamp_error(post(router, "call-strict-noauth", json_body=body),
                      "wamp.error.not_authorized", 403)


def test_invalid_procedure_uri(router):
    body = {"procedure": "com.example.has space"}
    assert_wamp_error(post(router, "call", json_body=body), "wamp.error.invalid_uri", 200)
    assert_wamp_error(post(router, "call-strict", json_body=body), "wamp.error.invalid_uri", 400)


@pytest.mark.parametrize("body", [{}, {"args": [1]}, {"topic": "com.example.add"}])
def test_missing_procedure_is_400(router, body):
    assert_http_error(post(router, "call", json_body=body), 400)


@pytest.mark.parametrize("raw", [b"{nope", b"[1, 2]", b'"com.example.add"', b"\xff"])
def test_bad_body_is_400(router, raw):
    assert_http_error(post(router, "call", body=raw), 400)


def test_methods(router):
    for method in ("GET", "DELETE"):
        assert_http_error(http_request("127.0.0.1", router.ports[0], method, "/call"), 405)
    res = http_request("127.0.0.1", router.ports[0], "OPTIONS", "/call", content_type=None)
    assert res.status == 200 and res.body == b"", res
    assert res.header("Allow") == "POST,PUT,OPTIONS", res


def test_content_type_and_limits(router):
    body = {"procedure": "com.example.add", "args": [2, 3]}
    assert_http_error(post(router, "call", json_body=body, content_type="text/plain"), 400)
    assert_http_error(post(router, "call", json_body=body,
                           content_type="application/json; charset=latin-1"), 400)
    assert_http_error(post(router, "call-small", json_body={**body, "kwargs": {"pad": "x" * 64}}), 413)
    assert_http_error(post(router, "call-deny", json_body=body), 400)


def test_signed_call(router):
    async def body(call, callee):
        raw = compact_json({"procedure": "com.example.add", "args": [20, 22]})
        res = await call("call-signed", body=raw, query=signed_query(KEY, SECRET, raw))
        assert_result(res, {"args": [42]})
        # unsigned, wrongly signed, replayed
        assert_http_error(await call("call-signed", body=raw), 400)
        assert_http_error(await call("call-signed", body=raw,
                                     query=signed_query(KEY, "wrong", raw)), 401)
        q = signed_query(KEY, SECRET, raw, seq=2)
        assert_result(await call("call-signed", body=raw, query=q), {"args": [42]})
        assert_http_error(await call("call-signed", body=raw, query=q), 401)
        assert len(callee.invocations) == 2

    with_callee(router, body)


def test_refused_requests_invoke_nothing(router):
    async def body(call, callee):
        add = {"procedure": "com.example.add", "args": [2, 3]}
        assert_http_error(await call("call-deny", json_body=add), 400)
        assert_wamp_error(await call("call-noauth", json_body=add), "wamp.error.not_authorized")
        assert_http_error(await call("call", json_body=add, content_type="text/plain"), 400)
        assert callee.invocations == []

    with_callee(router, body)


def test_keep_alive_and_concurrency(router):
    async def body(call, callee):
        # several calls on one connection, made from a thread
        def sequential():
            conn = http_connection("127.0.0.1", router.ports[0])
            try:
                out, ports = [], set()
                for i in range(5):
                    res = http_request(None, None, "POST", "/call", conn=conn,
                                       json_body={"procedure": "com.example.add", "args": [i, i]})
                    out.append((res.status, res.json()))
                    ports.add(conn.sock.getsockname()[1])
                return out, ports
            finally:
                conn.close()

        out, ports = await asyncio.to_thread(sequential)
        assert out == [(200, {"args": [2 * i]}) for i in range(5)]
        assert len(ports) == 1, f"{len(ports)} connections used"
        # concurrent calls, one of them hanging until the timeout: the others
        # are not held up by it
        start = time.monotonic()
        hang = asyncio.ensure_future(call(json_body={"procedure": "com.example.hang"}))
        results = await asyncio.gather(*[
            call(json_body={"procedure": "com.example.add", "args": [i, 100]}) for i in range(8)])
        fast = time.monotonic() - start
        assert [r.json() for r in results] == [{"args": [i + 100]} for i in range(8)]
        assert not hang.done(), f"the calls waited for the hanging one ({fast:.2f}s)"
        assert_wamp_error(await hang, "wamp.error.timeout")

    with_callee(router, body)

"""HTTP bridge, caller paths: interop with an autobahn-python callee. An HTTP POST of
{"procedure", "args", "kwargs"} becomes a WAMP call; what the callee returns (a value, a
CallResult with args and kwargs, kwargs only, nothing) is the response body.

The caller contract itself (error mapping and strict statuses, timeouts, refusals, signing,
limits, methods, keep-alive and concurrency) is tested in Rust with the router in the test
process: tests/it/bridge_caller.rs.
"""

from __future__ import annotations

import pytest
from autobahn.wamp.types import CallResult

from junction_harness import (
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


@pytest.fixture(scope="module")
def router(request):
    paths = {"ws": ws_path(), "call": bridge_path("caller", timeout=2000)}
    config = make_config(realms=[realm("realm1", roles=[anonymous_role()])],
                         transports=[web_transport(paths)])
    return start_router(request, config, name="http-caller")


def assert_result(res, expected: dict):
    assert res.status == 200, res
    check_bridge_headers(res)
    assert res.json() == expected, res


def test_args_and_kwargs_round_trip(router):
    args = ["x", 1, 2**40, -0.5, None, True, {"deep": [1, {"ü": "€"}]}, []]
    kwargs = {"a": 1, "b": [True, False], "c": {"d": "日本語"}}

    async def main():
        async with Sessions(router.url(0, "ws")) as s:
            session = await s.connect("json")
            invocations = []

            def echo(*args, **kwargs):
                invocations.append((list(args), kwargs))
                return CallResult(*args, **kwargs)

            await session.register(echo, "com.example.echo")
            await session.register(lambda a, b: a + b, "com.example.add")
            await session.register(lambda: CallResult(total=3, names=["a", "b"]),
                                   "com.example.kwargs_only")
            await session.register(lambda: CallResult(), "com.example.nothing")

            async def call(body):
                return await ahttp_request("127.0.0.1", router.ports[0], "POST", "/call",
                                           json_body=body)

            res = await call({"procedure": "com.example.echo", "args": args, "kwargs": kwargs})
            assert_result(res, {"args": args, "kwargs": kwargs})
            assert invocations == [(args, kwargs)]
            assert_result(await call({"procedure": "com.example.add", "args": [2, 3]}),
                          {"args": [5]})
            assert_result(await call({"procedure": "com.example.kwargs_only"}),
                          {"kwargs": {"total": 3, "names": ["a", "b"]}})
            assert_result(await call({"procedure": "com.example.nothing"}), {})

    run(main())

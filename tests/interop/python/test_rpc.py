"""Remote procedure call interop with autobahn-python."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallResult, RegisterOptions

from junction_harness import (
    EVENT_TIMEOUT,
    SERIALIZER_IDS,
    Collector,
    Sessions,
    make_config,
    no_client_uri_check,
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
    return start_router(request, config, name="rpc")


ARGS = [1, "two", {"three": 3.5}, [True, None], -(2**40)]
KWARGS = {"x": "y", "list": [1, 2, 3], "nested": {"deep": {"ü": "€"}}, "none": None}


@pytest.mark.parametrize("callee_ser,caller_ser", list(itertools.product(SERIALIZER_IDS, SERIALIZER_IDS)))
def test_register_call_result_with_args_kwargs(router, callee_ser, caller_ser):
    async def main():
        async with Sessions(router.url()) as s:
            callee = await s.connect(callee_ser)
            caller = await s.connect(caller_ser)
            seen = []

            def echo(*args, **kwargs):
                seen.append((list(args), dict(kwargs)))
                return CallResult(*args, **kwargs)

            def add(a, b):
                return a + b

            reg = await callee.register(echo, "com.example.rpc.echo")
            assert isinstance(reg.id, int) and 1 <= reg.id <= MAX_ID
            await callee.register(add, "com.example.rpc.add")

            res = await caller.call("com.example.rpc.echo", *ARGS, **KWARGS)
            assert isinstance(res, CallResult), f"expected CallResult, got {res!r}"
            assert list(res.results) == ARGS
            assert res.kwresults == KWARGS
            assert seen == [(ARGS, KWARGS)]

            # a single positional result comes back as the plain value
            assert await caller.call("com.example.rpc.add", 20, 22) == 42
            # kwargs only
            res = await caller.call("com.example.rpc.echo", k=1)
            assert isinstance(res, CallResult)
            assert list(res.results) == [] and res.kwresults == {"k": 1}
            # no payload at all
            assert await caller.call("com.example.rpc.echo") is None

    run(main())


@pytest.mark.parametrize("callee_ser,caller_ser", [(a, b) for a in SERIALIZER_IDS for b in SERIALIZER_IDS if a == b or (a, b) in {("json", "msgpack"), ("msgpack", "json")}])
def test_callee_application_error_is_forwarded(router, callee_ser, caller_ser):
    async def main():
        async with Sessions(router.url()) as s:
            callee = await s.connect(callee_ser)
            caller = await s.connect(caller_ser)

            def oops():
                raise ApplicationError("com.example.error.oops", 1, 2, a=3)

            def oops_plain():
                raise ApplicationError("com.example.error.plain")

            await callee.register(oops, "com.example.rpc.oops")
            await callee.register(oops_plain, "com.example.rpc.oops_plain")

            with pytest.raises(ApplicationError) as e:
                await caller.call("com.example.rpc.oops")
            assert e.value.error == "com.example.error.oops"
            assert e.value.args == (1, 2)
            assert e.value.kwargs == {"a": 3}

            with pytest.raises(ApplicationError) as e:
                await caller.call("com.example.rpc.oops_plain")
            assert e.value.error == "com.example.error.plain"
            assert e.value.args == ()
            assert e.value.kwargs == {}

    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_call_errors(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            callee = await s.connect(ser)
            other = await s.connect("json")
            caller = await s.connect(ser)

            with pytest.raises(ApplicationError) as e:
                await caller.call("com.example.rpc.nothing_here", 1)
            assert e.value.error == "wamp.error.no_such_procedure"

            await callee.register(lambda: "first", "com.example.rpc.taken")
            with pytest.raises(ApplicationError) as e:
                await other.register(lambda: "second", "com.example.rpc.taken")
            assert e.value.error == "wamp.error.procedure_already_exists"
            assert await caller.call("com.example.rpc.taken") == "first"

    run(main())


@pytest.mark.parametrize("ser", ["json", "msgpack"])
def test_invalid_uri_register(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            c = await s.connect(ser)
            with pytest.raises(ApplicationError) as e:
                await c.register(lambda: None, "com..bad")
            assert e.value.error == "wamp.error.invalid_uri"
            # the session stays usable
            await c.register(lambda: "ok", "com.example.rpc.after_bad_register")
            assert await c.call("com.example.rpc.after_bad_register") == "ok"

    run(main())


@pytest.mark.parametrize("ser", ["json", "msgpack"])
def test_invalid_uri_call(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            c = await s.connect(ser)
            with no_client_uri_check():
                bad = c.call("com..bad")
            with pytest.raises(ApplicationError) as e:
                await bad
            assert e.value.error == "wamp.error.invalid_uri"
            await c.register(lambda: "ok", "com.example.rpc.after_bad_call")
            assert await c.call("com.example.rpc.after_bad_call") == "ok"

    run(main())


@pytest.mark.parametrize("ser", ["json", "msgpack"])
def test_strict_uri_check_register_call(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            loose = await s.connect(ser, realm="realm1")
            strict = await s.connect(ser, realm="strict1")
            reg = await loose.register(lambda: 1, "com.Example.Proc")
            assert reg.id >= 1
            assert await loose.call("com.Example.Proc") == 1
            with pytest.raises(ApplicationError) as e:
                await strict.register(lambda: 1, "com.Example.Proc")
            assert e.value.error == "wamp.error.invalid_uri"
            with pytest.raises(ApplicationError) as e:
                await strict.call("com.Example.Proc")
            assert e.value.error == "wamp.error.invalid_uri"
            await strict.register(lambda: 2, "com.example.proc_2")
            assert await strict.call("com.example.proc_2") == 2

    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_unregister_then_call_is_no_such_procedure(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            callee = await s.connect(ser)
            caller = await s.connect("msgpack")
            reg = await callee.register(lambda x: x * 2, "com.example.rpc.unreg")
            assert await caller.call("com.example.rpc.unreg", 21) == 42
            await reg.unregister()
            assert not reg.active
            with pytest.raises(ApplicationError) as e:
                await caller.call("com.example.rpc.unreg", 21)
            assert e.value.error == "wamp.error.no_such_procedure"
            # the URI is free again
            await caller.register(lambda x: x * 3, "com.example.rpc.unreg")
            assert await callee.call("com.example.rpc.unreg", 2) == 6

    run(main())


@pytest.mark.parametrize("mode", ["goodbye", "websocket_close", "tcp_abort"])
@pytest.mark.parametrize("ser", ["json", "msgpack"])
def test_callee_leaving_mid_call_cancels(router, ser, mode):
    async def main():
        async with Sessions(router.url()) as s:
            callee = await s.connect(ser)
            caller = await s.connect(ser)
            invoked = asyncio.Event()

            async def slow():
                invoked.set()
                await asyncio.sleep(30)
                return "too late"

            await callee.register(slow, "com.example.rpc.slow")
            call = asyncio.ensure_future(caller.call("com.example.rpc.slow"))
            await asyncio.wait_for(invoked.wait(), EVENT_TIMEOUT)

            if mode == "goodbye":
                callee.leave()
            elif mode == "websocket_close":
                callee.disconnect()
            else:
                callee.drop_tcp()

            with pytest.raises(ApplicationError) as e:
                await asyncio.wait_for(call, EVENT_TIMEOUT)
            assert e.value.error == "wamp.error.canceled"

            # the registration is gone with the callee
            with pytest.raises(ApplicationError) as e:
                await caller.call("com.example.rpc.slow")
            assert e.value.error == "wamp.error.no_such_procedure"

    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_overlapping_prefix_registrations_match_on_the_string(router, ser):
    """Registrations: exact > longest prefix (on the string, as the spec says) > wildcard."""
    async def main():
        async with Sessions(router.url()) as s:
            callee = await s.connect(ser)
            caller = await s.connect("json")

            def answer(name):
                return lambda *args, details=None, **kwargs: [name, details.procedure]

            await callee.register(answer("short"), "com.myapp",
                                  options=RegisterOptions(match="prefix", details=True))
            await callee.register(answer("long"), "com.myapp.topic.emergency",
                                  options=RegisterOptions(match="prefix", details=True))
            await callee.register(answer("wild"), "com.myapp2.",
                                  options=RegisterOptions(match="wildcard", details=True))
            await callee.register(answer("exact"), "com.myapp.topic.emergency-high",
                                  options=RegisterOptions(details=True))

            cases = {
                "com.myapp.topic.emergency-low": "long",
                "com.myapp.topic.emergency.11": "long",
                "com.myapp.topic.emergency-high": "exact",
                "com.myapp.topic.emergenc": "short",
                "com.myapp2.x": "short",  # a prefix beats a wildcard, even inside a component
                "com.myapp": "short",
            }
            for procedure, expected in cases.items():
                assert await caller.call(procedure) == [expected, procedure], procedure
            with pytest.raises(ApplicationError) as e:
                await caller.call("com.myap")
            assert e.value.error == "wamp.error.no_such_procedure"
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_pattern_registrations(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            c_prefix = await s.connect(ser)
            c_long = await s.connect(ser)
            c_wild = await s.connect(ser)
            c_exact = await s.connect(ser)
            caller = await s.connect("json")

            prefix = Collector("prefix")
            longer = Collector("longer")
            wild = Collector("wildcard")
            exact = Collector("exact")
            await c_prefix.register(prefix, "com.example", options=RegisterOptions(match="prefix", details=True))
            await c_long.register(longer, "com.example.rpcp", options=RegisterOptions(match="prefix", details=True))
            await c_wild.register(wild, "com..get", options=RegisterOptions(match="wildcard", details=True))
            await c_exact.register(exact, "com.example.rpcp.exact", options=RegisterOptions(details=True))

            # only the wildcard matches
            assert await caller.call("com.thing.get", 1, k="w") == "wildcard"
            # prefix beats wildcard
            assert await caller.call("com.example.get", 2) == "prefix"
            # longest prefix wins
            assert await caller.call("com.example.rpcp.add", 3, k="l") == "longer"
            # exact beats any pattern
            assert await caller.call("com.example.rpcp.exact", 4) == "exact"

            assert [(a, k, d.procedure) for a, k, d in wild.items] == [([1], {"k": "w"}, "com.thing.get")]
            assert [(a, d.procedure) for a, _, d in prefix.items] == [([2], "com.example.get")]
            assert [(a, k, d.procedure) for a, k, d in longer.items] == [([3], {"k": "l"}, "com.example.rpcp.add")]
            assert [a for a, _, _ in exact.items] == [[4]]

    run(main())

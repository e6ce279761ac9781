"""Advanced-profile RPC with autobahn-python: shared registrations (invocation policies),
call timeouts (the caller gets wamp.error.timeout, the callee an INTERRUPT) and call
canceling (autobahn cancels with the default mode, skip)."""

from __future__ import annotations

import asyncio
import collections

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallOptions, RegisterOptions

from junction_harness import SERIALIZER_IDS, Sessions, make_config, realm, run, start_router


@pytest.fixture(scope="module")
def router(request):
    return start_router(request, make_config(realms=[realm("realm1")]), name="rpc-advanced")


def test_welcome_announces_the_dealer_features(router):
    async def main():
        async with Sessions(router.url()) as s:
            client = await s.connect("json")
            welcome = next(m for m in client.raw_in if m and m[0] == 2)
            features = welcome[2]["roles"]["dealer"]["features"]
            for name in ("shared_registration", "call_timeout", "call_canceling"):
                assert features.get(name) is True, (name, features)
    run(main())


async def callees(s, n, procedure, invoke, serializers):
    """`n` sessions registering `procedure` with `invoke`; each answers with its index."""
    sessions = []
    for i in range(n):
        session = await s.connect(serializers[i % len(serializers)])
        await session.register(lambda i=i: i, procedure, options=RegisterOptions(invoke=invoke))
        sessions.append(session)
    return sessions


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_roundrobin_spreads_calls_over_the_callees(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            await callees(s, 2, "com.example.rr", "roundrobin", [ser, "json"])
            caller = await s.connect(ser)
            answers = [await caller.call("com.example.rr") for _ in range(6)]
            assert answers == [0, 1, 0, 1, 0, 1]
    run(main())


def test_first_last_and_random(router):
    async def main():
        async with Sessions(router.url()) as s:
            caller = await s.connect("msgpack")
            for invoke, expected in (("first", {0}), ("last", {2})):
                procedure = f"com.example.{invoke}"
                await callees(s, 3, procedure, invoke, ["json", "msgpack"])
                answers = {await caller.call(procedure) for _ in range(5)}
                assert answers == expected, invoke
            await callees(s, 2, "com.example.random", "random", ["json"])
            counts = collections.Counter([await caller.call("com.example.random") for _ in range(60)])
            # Each callee is picked with probability 1/2: missing one has odds 2^-59.
            assert set(counts) == {0, 1}, counts
    run(main())


def test_the_registration_follows_its_callees(router):
    async def main():
        async with Sessions(router.url()) as s:
            first, second = await callees(s, 2, "com.example.leaving", "first", ["json"])
            caller = await s.connect("json")
            assert await caller.call("com.example.leaving") == 0
            await s.close(first)
            assert await caller.call("com.example.leaving") == 1
            await s.close(second)
            with pytest.raises(ApplicationError) as e:
                await caller.call("com.example.leaving")
            assert e.value.error == "wamp.error.no_such_procedure"
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_conflicting_policies_and_single_are_refused(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            await callees(s, 1, "com.example.conflict", "roundrobin", [ser])
            other = await s.connect(ser)
            with pytest.raises(ApplicationError) as e:
                await other.register(lambda: 0, "com.example.conflict",
                                     options=RegisterOptions(invoke="random"))
            assert e.value.error == "wamp.error.procedure_exists_with_different_invocation_policy"
            await callees(s, 1, "com.example.single", "single", [ser])
            with pytest.raises(ApplicationError) as e:
                await other.register(lambda: 0, "com.example.single")
            assert e.value.error == "wamp.error.procedure_already_exists"
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_a_timed_out_call_errors_and_interrupts_the_callee(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            callee = await s.connect(ser)
            interrupted = asyncio.get_running_loop().create_future()

            async def slow():
                try:
                    await asyncio.sleep(10)
                    return "late"
                except asyncio.CancelledError:
                    interrupted.set_result(True)
                    raise

            await callee.register(slow, "com.example.slow")
            caller = await s.connect(ser)
            started = asyncio.get_running_loop().time()
            with pytest.raises(ApplicationError) as e:
                # WAMP's call timeout is in milliseconds.
                await caller.call("com.example.slow", options=CallOptions(timeout=300))
            elapsed = asyncio.get_running_loop().time() - started
            assert e.value.error == "wamp.error.timeout"
            assert 0.25 <= elapsed < 5, elapsed
            assert await asyncio.wait_for(interrupted, 5) is True
            # The callee is still usable and a fast call within its timeout succeeds.
            await callee.register(lambda: "quick", "com.example.quick")
            assert await caller.call("com.example.quick", options=CallOptions(timeout=5000)) == "quick"
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_a_canceled_call_errors_at_once(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            callee = await s.connect(ser)
            release = asyncio.Event()
            started = asyncio.Event()

            async def blocked():
                started.set()
                await release.wait()
                return "finished"

            await callee.register(blocked, "com.example.blocked")
            caller = await s.connect(ser)
            call = asyncio.ensure_future(caller.call("com.example.blocked"))
            await asyncio.wait_for(started.wait(), 5)
            call.cancel()
            with pytest.raises((asyncio.CancelledError, ApplicationError)):
                await call
            # autobahn cancels its future locally and sends CANCEL (mode skip): the router
            # answers with ERROR wamp.error.canceled at once, before the callee finishes.
            deadline = asyncio.get_running_loop().time() + 5
            while not any(m[0] == 8 and m[1] == 48 and m[4] == "wamp.error.canceled"
                          for m in caller.raw_in if isinstance(m, list) and len(m) > 4):
                assert asyncio.get_running_loop().time() < deadline, caller.raw_in
                await asyncio.sleep(0.02)
            assert not release.is_set()
            release.set()
            await callee.register(lambda: "ok", "com.example.after")
            assert await caller.call("com.example.after") == "ok"
    run(main())

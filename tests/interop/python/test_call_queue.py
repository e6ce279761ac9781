"""Call queues (`store.call-queue`, Crossbar's shape) with autobahn-python.

A call to a procedure that no callee has registered waits, when a call-queue rule matches it,
until a callee registers, then runs (waiting calls in the order they came); a full queue
answers `wamp.error.no_such_procedure` (what the caller gets without a queue), the call's
`timeout` runs while it waits (`wamp.error.timeout`), a canceled call leaves the queue
(`wamp.error.canceled`), and a procedure without a rule fails at once.

A callee's `RegisterOptions(concurrency=N)` caps the invocations it runs at once: a call beyond
it fails with `crossbar.error.max_concurrency_reached`, or, under a rule, waits for a free slot.
(autobahn sends no invalid `concurrency`: tests/it/concurrency.rs checks the router's answer.)
"""

from __future__ import annotations

import asyncio

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallOptions, RegisterOptions

from junction_harness import SERIALIZER_IDS, Sessions, make_config, realm, run, start_router

QUEUE_RULES = [
    {"uri": "com.example.compute", "match": "exact", "limit": 100},
    {"uri": "com.example.jobs.", "match": "prefix"},  # the store's limit: 100
    {"uri": "com.example.small", "match": "exact", "limit": 2},
]

# How long a call is seen to wait before its callee registers.
WAIT = 0.3


@pytest.fixture(scope="module")
def router(request):
    r = realm("realm1")
    r["store"] = {"type": "memory", "call-queue": QUEUE_RULES}
    return start_router(request, make_config(realms=[r]), name="call_queue")


async def pending_for(fut: asyncio.Future, seconds: float):
    """Asserts `fut` is still unanswered after `seconds`."""
    await asyncio.sleep(seconds)
    assert not fut.done(), f"answered while no callee was registered: {fut.result()!r}"


@pytest.mark.parametrize("callee_ser,caller_ser", [("json", "json"), ("msgpack", "json"),
                                                    ("json", "msgpack"), ("msgpack", "msgpack")])
def test_a_call_made_before_the_callee_registers_gets_its_result(router, callee_ser, caller_ser):
    async def main():
        async with Sessions(router.url()) as s:
            caller = await s.connect(caller_ser)
            call = asyncio.ensure_future(caller.call("com.example.compute", 6, 7, unit="x"))
            await pending_for(call, WAIT)

            callee = await s.connect(callee_ser)
            await callee.register(lambda a, b, unit: f"{a * b}{unit}", "com.example.compute")
            assert await asyncio.wait_for(call, 5) == "42x"
            # Now registered, calls go straight through.
            assert await caller.call("com.example.compute", 2, 3, unit="y") == "6y"
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_waiting_calls_are_answered_in_order(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            caller = await s.connect(ser)
            other = await s.connect(ser)
            # A prefix rule: different procedures under it wait in one queue, in order.
            calls = []
            for i in range(6):
                session = caller if i % 2 == 0 else other
                procedure = f"com.example.jobs.{'even' if i % 2 == 0 else 'odd'}"
                calls.append(asyncio.ensure_future(session.call(procedure, i)))
                await asyncio.sleep(0.02)  # arrival order across two connections
            await pending_for(calls[-1], WAIT)

            seen = []

            def job(i, details=None):
                seen.append((i, details.procedure))
                return i * 10

            callee = await s.connect(ser)
            await callee.register(job, "com.example.jobs.",
                                  options=RegisterOptions(match="prefix", details_arg="details"))
            results = await asyncio.wait_for(asyncio.gather(*calls), 5)
            assert results == [i * 10 for i in range(6)]
            assert [i for i, _ in seen] == list(range(6))
            assert [p for _, p in seen] == ["com.example.jobs.even", "com.example.jobs.odd"] * 3
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_a_full_queue_answers_no_such_procedure(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            caller = await s.connect(ser)
            waiting = [asyncio.ensure_future(caller.call("com.example.small", i)) for i in range(2)]
            await pending_for(waiting[0], WAIT)
            with pytest.raises(ApplicationError) as e:
                await asyncio.wait_for(caller.call("com.example.small", 2), 5)
            assert e.value.error == "wamp.error.no_such_procedure"
            assert "full" in str(e.value.args[0]), e.value.args

            callee = await s.connect(ser)
            await callee.register(lambda i: i, "com.example.small")
            assert await asyncio.wait_for(asyncio.gather(*waiting), 5) == [0, 1]
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_the_call_timeout_runs_while_the_call_waits(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            caller = await s.connect(ser)
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(ApplicationError) as e:
                # WAMP's call timeout is in milliseconds.
                await asyncio.wait_for(
                    caller.call("com.example.jobs.timed", options=CallOptions(timeout=300)), 5)
            elapsed = loop.time() - started
            assert e.value.error == "wamp.error.timeout"
            assert 0.25 <= elapsed < 5, elapsed

            # The timed-out call is gone: a callee registering later never sees it.
            seen = []
            callee = await s.connect(ser)
            await callee.register(lambda *a: seen.append(a) or "ran", "com.example.jobs.timed")
            assert await caller.call("com.example.jobs.timed", "fresh") == "ran"
            assert seen == [("fresh",)]
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_a_canceled_waiting_call_leaves_the_queue(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            caller = await s.connect(ser)
            call = asyncio.ensure_future(caller.call("com.example.jobs.canceled", "dropped"))
            await pending_for(call, WAIT)
            call.cancel()
            with pytest.raises((asyncio.CancelledError, ApplicationError)):
                await call
            # autobahn sends CANCEL (mode skip); the router answers ERROR wamp.error.canceled.
            deadline = asyncio.get_running_loop().time() + 5
            while not any(m[0] == 8 and m[1] == 48 and m[4] == "wamp.error.canceled"
                          for m in caller.raw_in if isinstance(m, list) and len(m) > 4):
                assert asyncio.get_running_loop().time() < deadline, caller.raw_in
                await asyncio.sleep(0.02)

            seen = []
            callee = await s.connect(ser)
            await callee.register(lambda *a: seen.append(a) or "ran", "com.example.jobs.canceled")
            assert await caller.call("com.example.jobs.canceled", "kept") == "ran"
            assert seen == [("kept",)]
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_a_procedure_without_a_rule_fails_at_once(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            caller = await s.connect(ser)
            loop = asyncio.get_running_loop()
            for procedure in ("com.example.other", "com.example.compute.sub", "com.example.jobs"):
                started = loop.time()
                with pytest.raises(ApplicationError) as e:
                    await asyncio.wait_for(caller.call(procedure), 5)
                assert e.value.error == "wamp.error.no_such_procedure", procedure
                assert loop.time() - started < 1, procedure
    run(main())


async def slow_callee(s, ser, procedure, **options):
    """A callee that takes 0.3 s per call, registered with `options`; returns its call log."""
    started = []
    callee = await s.connect(ser)

    async def slow(i):
        started.append(i)
        await asyncio.sleep(0.3)
        return i * 10

    await callee.register(slow, procedure, options=RegisterOptions(**options))
    return started


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_a_busy_callee_without_a_rule_refuses_the_second_call(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            started = await slow_callee(s, ser, "com.example.busy", concurrency=1)
            caller = await s.connect(ser)
            first = asyncio.ensure_future(caller.call("com.example.busy", 1))
            await asyncio.sleep(0.05)
            with pytest.raises(ApplicationError) as e:
                await asyncio.wait_for(caller.call("com.example.busy", 2), 5)
            assert e.value.error == "crossbar.error.max_concurrency_reached"
            assert "1" in str(e.value.args[0]), e.value.args
            assert await asyncio.wait_for(first, 5) == 10
            # The slot is free again.
            assert await asyncio.wait_for(caller.call("com.example.busy", 3), 5) == 30
            assert started == [1, 3]
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_a_busy_callee_under_a_rule_answers_the_second_call_after_the_first(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            started = await slow_callee(s, ser, "com.example.jobs.busy", concurrency=1)
            caller = await s.connect(ser)
            first = asyncio.ensure_future(caller.call("com.example.jobs.busy", 1))
            await asyncio.sleep(0.05)
            second = asyncio.ensure_future(caller.call("com.example.jobs.busy", 2))
            await asyncio.sleep(0.1)
            assert started == [1], "the second call waits while the first runs"
            assert await asyncio.wait_for(first, 5) == 10
            assert not second.done()
            assert await asyncio.wait_for(second, 5) == 20
            assert started == [1, 2]
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_roundrobin_callees_at_their_limit_refuse_the_third_call(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            a = await slow_callee(s, ser, "com.example.pool", invoke="roundrobin", concurrency=1)
            b = await slow_callee(s, ser, "com.example.pool", invoke="roundrobin", concurrency=1)
            caller = await s.connect(ser)
            calls = [asyncio.ensure_future(caller.call("com.example.pool", i)) for i in (1, 2)]
            await asyncio.sleep(0.05)
            with pytest.raises(ApplicationError) as e:
                await asyncio.wait_for(caller.call("com.example.pool", 3), 5)
            assert e.value.error == "crossbar.error.max_concurrency_reached"
            assert await asyncio.wait_for(asyncio.gather(*calls), 5) == [10, 20]
            assert sorted(a + b) == [1, 2] and len(a) == len(b) == 1
    run(main())

"""RPC across Junction nodes sharing one NATS server (issue 16 item 3): a cluster-wide
registry (`single` exclusive across nodes, shared registrations under every invocation
policy, exact > prefix > wildcard), timeouts, cancel modes, progressive results and caller
disclosure across nodes, and a callee's node killed in the middle of a call."""

from __future__ import annotations

import asyncio
import time

import pytest
from autobahn.wamp import message
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallOptions, RegisterOptions

from cluster_harness import start_nats, start_nodes
from junction_harness import Sessions, permission, realm, run

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def nats(request):
    return start_nats(request)


@pytest.fixture
def nodes(request, nats):
    roles = [{"name": "anonymous", "permissions": [permission(disclose_caller=True)]}]
    return start_nodes(request, [nats.url], 3, realms=[realm(roles=roles)])


async def error_of(call) -> str:
    with pytest.raises(ApplicationError) as e:
        await call
    return e.value.error


def test_single_is_exclusive_across_nodes_under_20_concurrent_registers(nodes):
    async def main():
        sessions = [Sessions(node.url()) for node in nodes]
        try:
            callees = [await sessions[i % 3].connect() for i in range(20)]
            outcomes = await asyncio.gather(
                *(c.register(lambda: "x", "com.single") for c in callees),
                return_exceptions=True)
            won = [o for o in outcomes if not isinstance(o, BaseException)]
            lost = [o for o in outcomes if isinstance(o, ApplicationError)]
            assert len(won) == 1, outcomes
            assert len(lost) == 19
            assert {e.error for e in lost} == {"wamp.error.procedure_already_exists"}
            caller = await sessions[0].connect()
            assert await caller.call("com.single") == "x"
            # A shared registration with another policy than the existing one is refused.
            shared = await sessions[1].connect()
            await shared.register(lambda: 1, "com.shared", options=RegisterOptions(
                invoke="roundrobin"))
            other = await sessions[2].connect()
            assert await error_of(other.register(lambda: 2, "com.shared", options=RegisterOptions(
                invoke="first"))) == "wamp.error.procedure_exists_with_different_invocation_policy"
        finally:
            for s in sessions:
                await s.close_all()

    run(main(), timeout=60)


@pytest.mark.parametrize("policy", ["roundrobin", "random", "first", "last"])
def test_shared_registrations_follow_the_policy_across_nodes(nodes, policy):
    async def main():
        sessions = [Sessions(node.url()) for node in nodes]
        try:
            # One callee per node, registered in node order.
            for i, s in enumerate(sessions):
                callee = await s.connect()
                await callee.register(lambda i=i: i, "com.policy", options=RegisterOptions(
                    invoke=policy))
            caller = await sessions[1].connect()
            answers = [await caller.call("com.policy") for _ in range(60)]
            if policy == "roundrobin":
                assert sorted(answers.count(i) for i in range(3)) == [20, 20, 20], answers
            elif policy == "random":
                assert all(answers.count(i) > 0 for i in range(3)), answers
                # Not a rotation in disguise (a fair random repeats a callee in a row but for
                # a chance of (2/3)^59).
                assert any(x == y for x, y in zip(answers, answers[1:])), answers
            elif policy == "first":
                assert set(answers) == {0}
            else:
                assert set(answers) == {2}
            # Every node sees the same first and last.
            if policy in ("first", "last"):
                for s in sessions:
                    other = await s.connect()
                    assert await other.call("com.policy") == answers[0]
        finally:
            for s in sessions:
                await s.close_all()

    run(main(), timeout=60)


def test_match_precedence_and_caller_disclosure_across_nodes(nodes):
    a, b, c = nodes

    async def main():
        async with Sessions(a.url()) as on_a, Sessions(b.url()) as on_b, \
                Sessions(c.url()) as on_c:
            wildcard = await on_a.connect()
            await wildcard.register(lambda: "wildcard", "com.p..run", options=RegisterOptions(
                match="wildcard"))
            prefix = await on_a.connect()
            await prefix.register(lambda **kw: ("prefix", kw["details"].procedure),
                                  "com.p", options=RegisterOptions(match="prefix",
                                                                   details_arg="details"))
            caller = await on_b.connect()
            assert await caller.call("com.p.x.run") == ["prefix", "com.p.x.run"]
            exact = await on_c.connect()
            await exact.register(
                lambda **kw: ("exact", kw["details"].caller, kw["details"].caller_authid,
                              kw["details"].caller_authrole),
                "com.p.x.run", options=RegisterOptions(details_arg="details"))
            assert caller.details.authid
            assert await caller.call("com.p.x.run") == [
                "exact", caller._session_id, caller.details.authid, "anonymous"]
            assert await caller.call("com.p.y.run") == ["prefix", "com.p.y.run"]
            # Once the prefix callee leaves, the wildcard serves (the other nodes hear of the
            # leave asynchronously: poll).
            await prefix.leave()
            deadline = time.monotonic() + 5
            while (answer := await caller.call("com.p.y.run")) != "wildcard":
                assert answer == ["prefix", "com.p.y.run"] and time.monotonic() < deadline
                await asyncio.sleep(0.05)

    run(main())


def test_a_call_racing_its_callee_s_unregister_goes_to_the_next_match(nodes):
    """The caller's node routes to a callee on another node that unregisters meanwhile: the
    call goes to the next match there (here a wildcard), never `no_such_procedure` while a
    match is registered."""
    a, b, _ = nodes

    async def main():
        async with Sessions(a.url()) as on_a, Sessions(b.url()) as on_b:
            wildcard = await on_a.connect()
            await wildcard.register(lambda: "wildcard", "com.race..run",
                                    options=RegisterOptions(match="wildcard"))
            callee = await on_a.connect()
            caller = await on_b.connect()
            answers = {}
            for _ in range(60):
                registration = await callee.register(lambda: "prefix", "com.race",
                                                     options=RegisterOptions(match="prefix"))
                # Node B has heard of the prefix registration once a call reaches it.
                while await caller.call("com.race.x.run") != "prefix":
                    await asyncio.sleep(0.01)
                _, answer = await asyncio.gather(registration.unregister(),
                                                 caller.call("com.race.x.run"),
                                                 return_exceptions=True)
                assert answer in ("prefix", "wildcard"), answer
                answers[answer] = answers.get(answer, 0) + 1
                # Node B hears of the unregistration before the next round.
                while await caller.call("com.race.x.run") != "wildcard":
                    await asyncio.sleep(0.01)
            # The race was run: some calls reached the callee after it had left.
            assert answers.get("wildcard", 0) > 0, answers

    run(main(), timeout=60)


def test_timeout_cancel_and_progressive_results_across_nodes(nodes):
    a, b, _ = nodes

    async def main():
        async with Sessions(a.url()) as on_a, Sessions(b.url()) as on_b:
            callee = await on_a.connect()
            interrupted = []
            release = asyncio.Event()

            async def slow(tag):
                try:
                    await release.wait()
                    return tag
                except asyncio.CancelledError:
                    interrupted.append(tag)
                    # With mode kill, this ERROR is what the caller gets.
                    raise ApplicationError("com.app.interrupted", tag)

            async def counting(n, details=None):
                for i in range(n):
                    details.progress(i)
                    await asyncio.sleep(0.01)
                return "done"

            await callee.register(slow, "com.slow")
            await callee.register(counting, "com.count", options=RegisterOptions(
                details_arg="details"))
            caller = await on_b.connect()
            # Timeout: the caller hears wamp.error.timeout, the callee is interrupted.
            started = time.monotonic()
            assert await error_of(caller.call("com.slow", "t", options=CallOptions(
                timeout=300))) == "wamp.error.timeout"
            assert 0.25 <= time.monotonic() - started < 3
            await asyncio.sleep(0.3)
            assert interrupted == ["t"]
            # Progressive results.
            progress = []
            result = await caller.call("com.count", 5, options=CallOptions(
                on_progress=progress.append))
            assert (progress, result) == ([0, 1, 2, 3, 4], "done")
            # CANCEL in each mode.
            for mode, expected_interrupt, error in (
                    ("skip", False, "wamp.error.canceled"),
                    ("killnowait", True, "wamp.error.canceled"),
                    ("kill", True, "com.app.interrupted")):
                interrupted.clear()
                call = asyncio.ensure_future(caller.call("com.slow", mode))
                await asyncio.sleep(0.3)
                [request] = [r for r, req in caller._call_reqs.items()
                             if req.procedure == "com.slow"]
                caller._transport.send(message.Cancel(request, mode=mode))
                assert await error_of(call) == error, mode
                await asyncio.sleep(0.3)
                assert bool(interrupted) == expected_interrupt, (mode, interrupted)
            release.set()

    run(main())


def test_a_callee_node_killed_mid_call_fails_the_call_at_once(nodes):
    a, b, c = nodes

    async def main():
        async with Sessions(c.url()) as on_c, Sessions(a.url()) as on_a:
            callee = await on_c.connect()
            await callee.register(lambda: asyncio.sleep(60), "com.hang")
            caller = await on_a.connect()
            call = asyncio.ensure_future(caller.call("com.hang", options=CallOptions(
                timeout=30_000)))
            await asyncio.sleep(0.3)
            killed = time.monotonic()
            c.kill9()
            assert await error_of(call) == "wamp.error.canceled"
            # dead_after is 1 s here: well before the call's own 30 s timeout.
            assert time.monotonic() - killed < 3
            # The dead node's registration is gone; a callee elsewhere serves at once.
            assert await error_of(caller.call("com.hang")) == "wamp.error.no_such_procedure"
            survivor = await on_a.connect()
            await survivor.register(lambda: "here", "com.hang")
            assert await caller.call("com.hang") == "here"

    run(main())


def test_progressive_call_invocations_across_nodes(nodes):
    """A caller on node B streams a call in chunks to a callee on node A (raw WAMP: autobahn-
    python cannot send progressive CALLs)."""
    from cluster_harness import RawWamp

    a, b, _ = nodes

    async def main():
        callee = RawWamp()
        await callee.connect(a.url(), "realm1", {"callee": {"features": {
            "call_canceling": True, "progressive_call_invocations": True}}})
        callee.send([64, 1, {}, "com.stream"])
        registered = await callee.recv()
        assert registered[0] == 65, registered
        caller = RawWamp()
        await caller.connect(b.url(), "realm1", {"caller": {"features": {
            "progressive_call_invocations": True}}})
        caller.send([48, 7, {"progress": True}, "com.stream", ["a"]])
        first = await callee.recv()
        assert first[0] == 68 and first[3].get("progress") is True and first[4] == ["a"], first
        caller.send([48, 7, {"progress": True}, "com.stream", ["b"]])
        caller.send([48, 7, {}, "com.stream", ["c"]])
        second, third = await callee.recv(), await callee.recv()
        assert (second[1], second[4], second[3].get("progress")) == (first[1], ["b"], True)
        assert (third[1], third[4], third[3].get("progress")) == (first[1], ["c"], None)
        callee.send([70, first[1], {}, ["abc"]])
        result = await caller.recv()
        assert result[:2] == [50, 7] and result[3] == ["abc"], result

    run(main())

"""The WAMP meta API with autobahn-python: session procedures and events (count, list, get,
kill*, on_join, on_leave), subscription and registration procedures and events, and
testaments published when a session is killed or its connection is lost."""

from __future__ import annotations

import asyncio

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import RegisterOptions, SubscribeOptions

from junction_harness import (
    SERIALIZER_IDS,
    Collector,
    Sessions,
    anonymous_role,
    make_config,
    permission,
    quiet,
    realm,
    run,
    start_router,
    transport,
)

TICKET = "meta-ticket"

# "user" may use com.example. and add/flush its testaments, nothing else of the meta API.
USER = {
    "name": "user",
    "permissions": [
        permission("com.example.", "prefix"),
        permission("wamp.session.add_testament", "exact", publish=False, subscribe=False,
                   register=False),
        permission("wamp.session.flush_testaments", "exact", publish=False, subscribe=False,
                   register=False),
    ],
}

AUTH = {
    "anonymous": {"type": "static", "role": "anonymous"},
    "ticket": {"type": "static", "principals": {
        name: {"ticket": TICKET, "role": "user"} for name in ("alice", "bob", "carol")
    }},
}


@pytest.fixture
def router(request):
    config = make_config(realms=[realm("realm1", roles=[anonymous_role(), USER])],
                         transports=[transport(auth=AUTH)])
    return start_router(request, config, name="meta-api")


def ticket(challenge):
    return TICKET


async def user(s, authid, ser="json"):
    return await s.connect(ser, authmethods=["ticket"], authid=authid, on_challenge=ticket)


async def call_error(session, procedure, *args, **kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as e:
        await session.call(procedure, *args, **kwargs)
    return e.value


def test_welcome_announces_the_meta_features(router):
    async def main():
        async with Sessions(router.url()) as s:
            client = await s.connect("json")
            welcome = next(m for m in client.raw_in if m and m[0] == 2)
            roles = welcome[2]["roles"]
            for role, names in (
                ("broker", ("session_meta_api", "subscription_meta_api")),
                ("dealer", ("session_meta_api", "registration_meta_api", "testament_meta_api",
                            "progressive_call_invocations")),
            ):
                for name in names:
                    assert roles[role]["features"].get(name) is True, (role, name, roles)
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_session_count_list_and_get(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            admin = await s.connect(ser)
            other = await s.connect("json")
            alice = await user(s, "alice", ser)
            assert await admin.call("wamp.session.count") == 3
            assert await admin.call("wamp.session.count", ["user"]) == 1
            assert await admin.call("wamp.session.count", ["nobody"]) == 0
            listed = await admin.call("wamp.session.list")
            assert sorted(listed) == sorted(
                [admin._session_id, other._session_id, alice._session_id])
            assert await admin.call("wamp.session.list", ["user"]) == [alice._session_id]
            details = await admin.call("wamp.session.get", alice._session_id)
            assert details["session"] == alice._session_id
            assert (details["authid"], details["authrole"], details["authmethod"]) == (
                "alice", "user", "ticket")
            assert details["authprovider"] == "static"
            assert details["transport"]["type"] == "websocket"
            assert details["transport"]["peer"].startswith("tcp4:127.0.0.1:")
            assert details["transport"]["protocol"].startswith(f"wamp.2.{ser}")
            e = await call_error(admin, "wamp.session.get", 1234567)
            assert e.error == "wamp.error.no_such_session"
            e = await call_error(admin, "wamp.session.get", "not an id")
            assert e.error == "wamp.error.invalid_argument"
            await s.close(other)
            await quiet()
            assert await admin.call("wamp.session.count") == 2
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_on_join_and_on_leave(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            watcher = await s.connect(ser)
            joins, leaves = Collector(), Collector()
            await watcher.subscribe(joins, "wamp.session.on_join")
            await watcher.subscribe(leaves, "wamp.session.on_leave")
            bob = await user(s, "bob", "json")
            bob_id = bob._session_id
            [(args, _, _)] = await joins.wait(1)
            assert args[0]["session"] == bob_id
            assert (args[0]["authid"], args[0]["authrole"], args[0]["authmethod"]) == (
                "bob", "user", "ticket")
            await s.close(bob)
            [(args, _, _)] = await leaves.wait(1)
            assert args == [bob_id, "bob", "user"]
            # A connection that is simply lost leaves too.
            lost = await s.connect("msgpack")
            lost_id = lost._session_id
            lost.drop_tcp()
            items = await leaves.wait(2)
            assert items[1][0][0] == lost_id
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_kill_a_session(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            admin = await s.connect(ser)
            target = await s.connect("json")
            target_id = target._session_id
            leaves = Collector()
            await admin.subscribe(leaves, "wamp.session.on_leave")
            await target.subscribe(lambda: None, "com.example.t")
            await admin.call("wamp.session.kill", target_id,
                             reason="com.example.kicked", message="go away")
            close = await asyncio.wait_for(target.left, 5)
            assert close.reason == "com.example.kicked"
            assert close.message == "go away"
            [(args, _, _)] = await leaves.wait(1)
            assert args[0] == target_id
            await asyncio.wait_for(target.disconnected, 5)
            assert await admin.call("wamp.session.count") == 1
            assert await admin.call("wamp.subscription.match", "com.example.t") is None
            for bad in (target_id, admin._session_id):
                e = await call_error(admin, "wamp.session.kill", bad)
                assert e.error == "wamp.error.no_such_session", bad
            other = await s.connect("json")
            e = await call_error(admin, "wamp.session.kill", other._session_id, reason="not a uri!")
            assert e.error == "wamp.error.invalid_uri"
            # Without a reason: the spec's default.
            await admin.call("wamp.session.kill", other._session_id)
            close = await asyncio.wait_for(other.left, 5)
            assert close.reason == "wamp.close.normal"
    run(main())


def test_kill_by_authid_authrole_and_all(router):
    async def main():
        async with Sessions(router.url()) as s:
            admin = await s.connect("json")
            alice1 = await user(s, "alice", "json")
            alice2 = await user(s, "alice", "msgpack")
            bob = await user(s, "bob")
            anon = await s.connect("msgpack")
            assert await admin.call("wamp.session.kill_by_authid", "alice",
                                    message="alice only") == 2
            for alice in (alice1, alice2):
                close = await asyncio.wait_for(alice.left, 5)
                assert (close.reason, close.message) == ("wamp.close.normal", "alice only")
            assert not bob.left.done()
            assert await admin.call("wamp.session.kill_by_authid", "nobody") == 0
            assert await admin.call("wamp.session.kill_by_authrole", "user",
                                    reason="com.example.users_out") == 1
            assert (await asyncio.wait_for(bob.left, 5)).reason == "com.example.users_out"
            # The caller's own session is never killed by these.
            assert await admin.call("wamp.session.kill_by_authrole", "anonymous") == 1
            await asyncio.wait_for(anon.left, 5)
            assert not admin.left.done()
            carol = await user(s, "carol")
            assert await admin.call("wamp.session.kill_all") == 1
            await asyncio.wait_for(carol.left, 5)
            assert await admin.call("wamp.session.list") == [admin._session_id]
    run(main())


def test_meta_procedures_obey_permissions(router):
    async def main():
        async with Sessions(router.url()) as s:
            alice = await user(s, "alice")
            bob = await user(s, "bob")
            for procedure, args in (("wamp.session.kill", [bob._session_id]),
                                    ("wamp.session.count", []),
                                    ("wamp.subscription.list", [])):
                e = await call_error(alice, procedure, *args)
                assert e.error == "wamp.error.not_authorized", procedure
            assert not bob.left.done()
            with pytest.raises(ApplicationError) as e:
                await alice.subscribe(lambda *a: None, "wamp.session.on_join")
            assert e.value.error == "wamp.error.not_authorized"
            e = await call_error(alice, "wamp.session.no_such_thing")
            assert e.error == "wamp.error.not_authorized"
            anon = await s.connect("json")
            e = await call_error(anon, "wamp.session.no_such_thing")
            assert e.error == "wamp.error.no_such_procedure"
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_subscription_meta_procedures(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            admin = await s.connect(ser)
            a = await s.connect("json")
            b = await s.connect("msgpack")
            exact = await a.subscribe(lambda *x: None, "com.example.meta.t")
            await b.subscribe(lambda *x: None, "com.example.meta.t")
            prefix = await b.subscribe(lambda *x: None, "com.example.meta",
                                       options=SubscribeOptions(match="prefix"))
            wildcard = await a.subscribe(lambda *x: None, "com.example..t",
                                         options=SubscribeOptions(match="wildcard"))
            lists = await admin.call("wamp.subscription.list")
            assert exact.id in lists["exact"]
            assert lists["prefix"] == [prefix.id]
            assert lists["wildcard"] == [wildcard.id]
            assert await admin.call("wamp.subscription.lookup", "com.example.meta.t") == exact.id
            assert await admin.call("wamp.subscription.lookup", "com.example.meta",
                                    {"match": "prefix"}) == prefix.id
            assert await admin.call("wamp.subscription.lookup", "com.example.nothing") is None
            matched = await admin.call("wamp.subscription.match", "com.example.meta.t")
            assert sorted(matched) == sorted([exact.id, prefix.id, wildcard.id])
            assert await admin.call("wamp.subscription.match", "org.none") is None
            details = await admin.call("wamp.subscription.get", prefix.id)
            assert (details["id"], details["uri"], details["match"]) == (
                prefix.id, "com.example.meta", "prefix")
            assert details["created"].endswith("Z") and "T" in details["created"]
            subscribers = await admin.call("wamp.subscription.list_subscribers", exact.id)
            assert sorted(subscribers) == sorted([a._session_id, b._session_id])
            assert await admin.call("wamp.subscription.count_subscribers", exact.id) == 2
            for procedure in ("wamp.subscription.get", "wamp.subscription.list_subscribers",
                              "wamp.subscription.count_subscribers"):
                e = await call_error(admin, procedure, 424242)
                assert e.error == "wamp.error.no_such_subscription", procedure
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_subscription_meta_events(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            admin = await s.connect(ser)
            events = []

            def on(name):
                def handler(*args):
                    events.append((name, list(args)))
                return handler

            for name in ("on_create", "on_subscribe", "on_unsubscribe", "on_delete"):
                await admin.subscribe(on(name), f"wamp.subscription.{name}")
            a = await s.connect("json")
            b = await s.connect("json")
            a_id, b_id = a._session_id, b._session_id
            sub_a = await a.subscribe(lambda: None, "com.example.events")
            await b.subscribe(lambda: None, "com.example.events")
            await sub_a.unsubscribe()
            await s.close(b)  # b's subscription goes with its session
            sid = sub_a.id

            def about_sid():
                # The admin's own subscriptions to the meta topics make events too.
                return [(name, args) for name, args in events
                        if args[1] == sid or (name == "on_create" and args[1]["id"] == sid)]

            deadline = asyncio.get_running_loop().time() + 5
            while len(about_sid()) < 6 and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)
            seen = about_sid()
            created = seen[0]
            assert created[0] == "on_create" and created[1][0] == a_id
            assert created[1][1]["id"] == sid and created[1][1]["uri"] == "com.example.events"
            assert created[1][1]["match"] == "exact"
            assert seen[1:] == [
                ("on_subscribe", [a_id, sid]),
                ("on_subscribe", [b_id, sid]),
                ("on_unsubscribe", [a_id, sid]),
                ("on_unsubscribe", [b_id, sid]),
                ("on_delete", [b_id, sid]),
            ]
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_registration_meta_procedures_and_events(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            admin = await s.connect(ser)
            events = []

            def on(name):
                def handler(*args):
                    events.append((name, list(args)))
                return handler

            for name in ("on_create", "on_register", "on_unregister", "on_delete"):
                await admin.subscribe(on(name), f"wamp.registration.{name}")
            a = await s.connect("json")
            b = await s.connect("msgpack")
            a_id, b_id = a._session_id, b._session_id
            rr = RegisterOptions(invoke="roundrobin")
            reg_a = await a.register(lambda: "a", "com.example.proc", options=rr)
            await b.register(lambda: "b", "com.example.proc", options=rr)
            prefix = await a.register(lambda: "p", "com.example",
                                      options=RegisterOptions(match="prefix"))
            lists = await admin.call("wamp.registration.list")
            assert lists["exact"] == [reg_a.id] and lists["prefix"] == [prefix.id]
            assert lists["wildcard"] == []
            assert await admin.call("wamp.registration.lookup", "com.example.proc") == reg_a.id
            assert await admin.call("wamp.registration.lookup", "com.example",
                                    {"match": "prefix"}) == prefix.id
            assert await admin.call("wamp.registration.match", "com.example.proc") == reg_a.id
            assert await admin.call("wamp.registration.match", "com.example.other") == prefix.id
            assert await admin.call("wamp.registration.match", "org.other") is None
            details = await admin.call("wamp.registration.get", reg_a.id)
            assert (details["uri"], details["match"], details["invoke"]) == (
                "com.example.proc", "exact", "roundrobin")
            callees = await admin.call("wamp.registration.list_callees", reg_a.id)
            assert callees == sorted([a_id, b_id])
            assert await admin.call("wamp.registration.count_callees", reg_a.id) == 2
            e = await call_error(admin, "wamp.registration.get", 99999)
            assert e.error == "wamp.error.no_such_registration"
            await reg_a.unregister()
            await s.close(b)
            deadline = asyncio.get_running_loop().time() + 5
            while len(events) < 8 and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)
            rid = reg_a.id
            assert [e[0] for e in events] == [
                "on_create", "on_register", "on_register", "on_create", "on_register",
                "on_unregister", "on_unregister", "on_delete"], events
            assert events[0][1][0] == a_id
            assert events[0][1][1]["invoke"] == "roundrobin"
            assert events[1][1] == [a_id, rid]
            assert events[2][1] == [b_id, rid]
            assert events[3][1][1]["id"] == prefix.id
            assert events[5][1] == [a_id, rid]
            assert events[6][1] == [b_id, rid]
            assert events[7][1] == [b_id, rid]
    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_testaments_are_published_when_a_session_is_killed_or_lost(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            admin = await s.connect(ser)
            received = Collector()
            await admin.subscribe(received, "com.example.testament")
            alice = await user(s, "alice", ser)
            await alice.call("wamp.session.add_testament", "com.example.testament",
                             ["alice destroyed"], {"who": "alice"})
            await alice.call("wamp.session.add_testament", "com.example.testament",
                             ["alice detached"], {}, scope="detached")
            await admin.call("wamp.session.kill", alice._session_id)
            items = await received.wait(2)
            # Detached testaments first, then destroyed ones.
            assert [args for args, _, _ in items] == [["alice detached"], ["alice destroyed"]]
            assert items[1][1] == {"who": "alice"}
            # A lost connection publishes them too.
            bob = await user(s, "bob", "json")
            await bob.call("wamp.session.add_testament", "com.example.testament", ["bob"], {},
                           publish_options={"exclude_authid": ["nobody"]})
            bob.drop_tcp()
            items = await received.wait(3)
            assert items[2][0] == ["bob"]
    run(main())


def test_flushed_and_refused_testaments(router):
    async def main():
        async with Sessions(router.url()) as s:
            admin = await s.connect("json")
            received = Collector()
            await admin.subscribe(received, "com.example.testament")
            carol = await user(s, "carol", "msgpack")
            await carol.call("wamp.session.add_testament", "com.example.testament", ["x"], {})
            await carol.call("wamp.session.add_testament", "com.example.testament", ["y"], {},
                             scope="detached")
            await carol.call("wamp.session.flush_testaments")
            # A topic the role may not publish to, a reserved one and a bad scope are refused.
            e = await call_error(carol, "wamp.session.add_testament", "org.elsewhere", [], {})
            assert e.error == "wamp.error.not_authorized"
            e = await call_error(carol, "wamp.session.add_testament", "wamp.session.on_join",
                                 [], {})
            assert e.error == "wamp.error.invalid_uri"
            e = await call_error(admin, "wamp.session.add_testament", "wamp.session.on_join",
                                 [], {})
            assert e.error == "wamp.error.invalid_uri"
            e = await call_error(carol, "wamp.session.add_testament", "com.example.testament",
                                 [], {}, scope="forever")
            assert e.error == "wamp.error.invalid_argument"
            await s.close(carol)
            await quiet()
            # Only the detached one was left.
            assert [args for args, _, _ in received.items] == [["y"]]
    run(main())


def test_the_meta_api_can_be_switched_off(request):
    config = make_config(realms=[realm("realm1", options={"enable_meta_api": False})])
    router = start_router(request, config, name="meta-api-off")

    async def main():
        async with Sessions(router.url()) as s:
            watcher = await s.connect("json")
            joins = Collector()
            await watcher.subscribe(joins, "wamp.session.on_join")
            e = await call_error(watcher, "wamp.session.count")
            assert e.error == "wamp.error.no_such_procedure"
            await s.connect("msgpack")
            await quiet()
            assert joins.items == []
    run(main())

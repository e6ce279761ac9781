"""Authentication (ticket, wampcra) and authorization interop with autobahn-python.

Refusals without a secret from the environment (unknown wampcra authid, a method the
transport does not offer) are tested in Rust against an in-process router:
tests/it/auth_methods.rs."""

from __future__ import annotations

import json

import pytest
from autobahn.wamp.auth import compute_wcs, derive_key
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import PublishOptions

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

TICKET = "secret!!!"
ALICE_SECRET = "alice-secret-ÄÖ"
BOB_SECRET = "bob-secret"
BOB_SALT = "salt123"
BOB_ITERATIONS = 100
BOB_KEYLEN = 16
ENV_TICKET = "ticket-from-env-7f3a"
ENV_CRA_SECRET = "cra-secret-from-env-91b2"

FRONTEND = {
    "name": "frontend",
    "permissions": [
        # may subscribe under com.example., nothing else there ...
        permission("com.example.", "prefix", call=False, register=False,
                   publish=False, subscribe=True),
        # ... except this one procedure, allowed by an exact rule
        permission("com.example.allowed_call", "exact", call=True, register=False,
                   publish=False, subscribe=False),
    ],
}

AUTH_FULL = {
    "anonymous": {"type": "static", "role": "anonymous"},
    "ticket": {"type": "static", "principals": {
        "joe": {"ticket": TICKET, "role": "frontend"},
        "envjoe": {"ticket": "$JUNCTION_IT_TICKET", "role": "frontend"},
    }},
    "wampcra": {"type": "static", "users": {
        "alice": {"secret": ALICE_SECRET, "role": "frontend"},
        "bob": {"secret": BOB_SECRET, "role": "frontend", "salt": BOB_SALT,
                "iterations": BOB_ITERATIONS, "keylen": BOB_KEYLEN},
        "carol": {"secret": "$JUNCTION_IT_CRA_SECRET", "role": "frontend"},
    }},
}

AUTH_TICKET_ONLY = {
    "ticket": {"type": "static", "principals": {
        "joe": {"ticket": TICKET, "role": "frontend"},
    }},
}


@pytest.fixture(scope="module")
def router(request):
    config = make_config(
        realms=[realm("realm1", roles=[anonymous_role(), FRONTEND])],
        transports=[transport(auth=AUTH_FULL), transport(auth=AUTH_TICKET_ONLY)],
    )
    env = {"JUNCTION_IT_TICKET": ENV_TICKET, "JUNCTION_IT_CRA_SECRET": ENV_CRA_SECRET}
    return start_router(request, config, env=env, name="auth")


def ticket(value):
    def on_challenge(challenge):
        assert challenge.method == "ticket", f"expected a ticket CHALLENGE, got {challenge.method}"
        return value
    return on_challenge


def wampcra(secret, expect_authid=None, expect_salt=None):
    def on_challenge(challenge):
        assert challenge.method == "wampcra", f"expected a wampcra CHALLENGE, got {challenge.method}"
        text = challenge.extra["challenge"]
        info = json.loads(text)
        if expect_authid is not None:
            assert info["authid"] == expect_authid
            assert info["authmethod"] == "wampcra"
            assert info["authrole"] == "frontend"
            assert isinstance(info["session"], int)
            assert info["nonce"] and info["timestamp"]
        if expect_salt is not None:
            assert challenge.extra["salt"] == expect_salt
            assert challenge.extra["iterations"] == BOB_ITERATIONS
            assert challenge.extra["keylen"] == BOB_KEYLEN
        if "salt" in challenge.extra:
            key = derive_key(secret, challenge.extra["salt"],
                             challenge.extra.get("iterations", 1000),
                             challenge.extra.get("keylen", 32))
        else:
            key = secret.encode("utf8")
        return compute_wcs(key, text).decode("ascii")
    return on_challenge


# ---------------------------------------------------------------------------
# authentication


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_anonymous_login(router, ser):
    async def main():
        async with Sessions(router.url(0)) as s:
            c = await s.connect(ser)
            assert c.details.authrole == "anonymous"
            assert c.details.authmethod == "anonymous"
            assert c.challenges == []

    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_ticket_login_success(router, ser):
    async def main():
        async with Sessions(router.url(0)) as s:
            c = await s.connect(ser, authmethods=["ticket"], authid="joe", on_challenge=ticket(TICKET))
            assert c.details.authid == "joe"
            assert c.details.authrole == "frontend"
            assert c.details.authmethod == "ticket"
            assert len(c.challenges) == 1
        # the ticket-only transport
        async with Sessions(router.url(1)) as s:
            c = await s.connect(ser, authmethods=["ticket"], authid="joe", on_challenge=ticket(TICKET))
            assert (c.details.authid, c.details.authrole, c.details.authmethod) == ("joe", "frontend", "ticket")

    run(main())


@pytest.mark.parametrize("authid,value", [
    ("joe", "wrong"),
    ("joe", ""),
    ("nobody", TICKET),
    ("envjoe", "$JUNCTION_IT_TICKET"),  # the literal must not work, only the env value
])
def test_ticket_login_failure(router, authid, value):
    async def main():
        async with Sessions(router.url(0)) as s:
            close = await s.expect_abort("json", authmethods=["ticket"], authid=authid, on_challenge=ticket(value))
            assert close.reason == "wamp.error.not_authorized"

    run(main())


@pytest.mark.parametrize("ser", ["json", "msgpack"])
def test_ticket_secret_from_environment(router, ser):
    async def main():
        async with Sessions(router.url(0)) as s:
            c = await s.connect(ser, authmethods=["ticket"], authid="envjoe", on_challenge=ticket(ENV_TICKET))
            assert (c.details.authid, c.details.authrole, c.details.authmethod) == ("envjoe", "frontend", "ticket")

    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_wampcra_unsalted_success(router, ser):
    async def main():
        async with Sessions(router.url(0)) as s:
            c = await s.connect(ser, authmethods=["wampcra"], authid="alice",
                                on_challenge=wampcra(ALICE_SECRET, expect_authid="alice"))
            assert c.details.authid == "alice"
            assert c.details.authrole == "frontend"
            assert c.details.authmethod == "wampcra"
            assert len(c.challenges) == 1
            assert "salt" not in c.challenges[0].extra

    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_wampcra_salted_success(router, ser):
    async def main():
        async with Sessions(router.url(0)) as s:
            c = await s.connect(ser, authmethods=["wampcra"], authid="bob",
                                on_challenge=wampcra(BOB_SECRET, expect_authid="bob", expect_salt=BOB_SALT))
            assert (c.details.authid, c.details.authrole, c.details.authmethod) == ("bob", "frontend", "wampcra")

    run(main())


@pytest.mark.parametrize("ser", ["json", "msgpack"])
def test_wampcra_secret_from_environment(router, ser):
    async def main():
        async with Sessions(router.url(0)) as s:
            c = await s.connect(ser, authmethods=["wampcra"], authid="carol",
                                on_challenge=wampcra(ENV_CRA_SECRET, expect_authid="carol"))
            assert (c.details.authid, c.details.authrole, c.details.authmethod) == ("carol", "frontend", "wampcra")

    run(main())


@pytest.mark.parametrize("authid,secret", [
    ("alice", "wrong-secret"),
    ("bob", "wrong-secret"),
    ("bob", ALICE_SECRET),
    ("carol", "$JUNCTION_IT_CRA_SECRET"),
])
def test_wampcra_wrong_secret(router, authid, secret):
    async def main():
        async with Sessions(router.url(0)) as s:
            close = await s.expect_abort("json", authmethods=["wampcra"], authid=authid,
                                         on_challenge=wampcra(secret))
            assert close.reason == "wamp.error.not_authorized"

    run(main())


# ---------------------------------------------------------------------------
# authorization


def assert_denied(err):
    assert err.error == "wamp.error.not_authorized", (err.error, err.args, err.kwargs)
    # like Crossbar: a human readable message in Args
    assert err.args and isinstance(err.args[0], str) and err.args[0], err.args


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_role_may_subscribe_but_not_publish_or_call(router, ser):
    async def main():
        async with Sessions(router.url(0)) as s:
            backend = await s.connect("json")  # anonymous: everything allowed
            fe = await s.connect(ser, authmethods=["ticket"], authid="joe", on_challenge=ticket(TICKET))
            assert fe.details.authrole == "frontend"

            await backend.register(lambda: "secret data", "com.example.proc")
            await backend.register(lambda x: x + 1, "com.example.allowed_call")

            # subscribe is allowed under the prefix and events arrive
            events = Collector()
            await fe.subscribe(events, "com.example.news")
            await backend.publish("com.example.news", "hello", options=PublishOptions(acknowledge=True))
            items = await events.wait(1)
            assert items[0][0] == ["hello"]

            # publish is denied
            with pytest.raises(ApplicationError) as e:
                await fe.publish("com.example.news", "spam", options=PublishOptions(acknowledge=True))
            assert_denied(e.value)

            # call is denied under the prefix ...
            with pytest.raises(ApplicationError) as e:
                await fe.call("com.example.proc")
            assert_denied(e.value)
            # ... but the exact permission allows this one
            assert await fe.call("com.example.allowed_call", 41) == 42

            # register is denied
            with pytest.raises(ApplicationError) as e:
                await fe.register(lambda: None, "com.example.fe_proc")
            assert_denied(e.value)

            # nothing is allowed outside com.example.
            with pytest.raises(ApplicationError) as e:
                await fe.subscribe(Collector(), "org.other.news")
            assert_denied(e.value)

            # the denied publish produced no event
            await backend.publish("com.example.news", "marker", options=PublishOptions(acknowledge=True))
            await events.wait(2)
            assert [a for a, _, _ in events.items] == [["hello"], ["marker"]]

    run(main())


def test_denied_publish_without_acknowledge_is_silent(router):
    async def main():
        async with Sessions(router.url(0)) as s:
            backend = await s.connect("json")
            fe = await s.connect("msgpack", authmethods=["ticket"], authid="joe", on_challenge=ticket(TICKET))
            events = Collector()
            await backend.subscribe(events, "com.example.silent")
            fe.publish("com.example.silent", "denied")  # no ack: no error comes back
            await backend.publish("com.example.silent", "marker", options=PublishOptions(acknowledge=True, exclude_me=False))
            await events.wait(1)
            await quiet()
            assert [a for a, _, _ in events.items] == [["marker"]]
            # the session is still alive and usable
            assert fe.is_attached()
            await fe.subscribe(Collector(), "com.example.still_ok")

    run(main())

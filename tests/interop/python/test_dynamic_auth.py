"""Dynamic authenticators (Crossbar's ``{"type": "dynamic", "authenticator": URI}``) with
autobahn-python, for ticket, anonymous, wampcra and cryptosign logins: a backend session registers the
authenticator on its realm; a client's ticket login is decided by it (role, authid and extra from its answer, or a plain role
string), a refusal or error of the authenticator ABORTs with its error URI, and one that does
not answer in time ABORTs with ``wamp.error.authentication_failed`` instead of hanging."""

from __future__ import annotations

import asyncio
import os

import pytest
from autobahn.wamp.auth import compute_wcs, derive_key
from autobahn.wamp.cryptosign import CryptosignKey
from autobahn.wamp.exception import ApplicationError

from junction_harness import Sessions, anonymous_role, make_config, realm, run, start_router, transport

AUTHENTICATOR = "com.example.authenticate"


@pytest.fixture(scope="module")
def router(request):
    auth = {
        # The backend joins the authenticator realm anonymously.
        "anonymous": {"type": "static", "role": "anonymous"},
        "ticket": {"type": "dynamic", "authenticator": AUTHENTICATOR,
                   "authenticator-realm": "auth", "timeout": 1000},
    }
    config = make_config(
        realms=[realm("realm1", roles=[anonymous_role("frontend")]),
                realm("auth", roles=[anonymous_role("anonymous")])],
        transports=[transport(auth=auth)],
    )
    return start_router(request, config, name="dynamic-auth")


async def authenticate(realm, authid, details):
    """What a Crossbar dynamic ticket authenticator does."""
    assert details["authmethod"] == "ticket"
    assert details["transport"]["type"] == "websocket"
    ticket = details["ticket"]
    if authid == "slow":
        await asyncio.sleep(5)
    if authid == "plain" and ticket == "plain-ticket":
        return "frontend"
    if ticket == f"secret-{authid}":
        return {"role": "frontend", "authid": f"user:{authid}", "extra": {"greeting": f"hi {authid}", "realm": realm}}
    raise ApplicationError("com.example.invalid_ticket", f"wrong ticket for {authid}")


def ticket(value):
    return lambda challenge: value


def test_a_dynamic_authenticator_decides_ticket_logins(router):
    async def main():
        async with Sessions(router.url(0)) as s:
            backend = await s.connect("json", realm="auth")
            await backend.register(authenticate, AUTHENTICATOR)

            c = await s.connect("json", authmethods=["ticket"], authid="joe", on_challenge=ticket("secret-joe"))
            assert (c.details.authid, c.details.authrole, c.details.authmethod) == ("user:joe", "frontend", "ticket")
            assert c.details.authextra.get("greeting") == "hi joe", c.details.authextra
            assert c.details.authprovider == "dynamic"

            plain = await s.connect("msgpack", authmethods=["ticket"], authid="plain", on_challenge=ticket("plain-ticket"))
            assert (plain.details.authid, plain.details.authrole) == ("plain", "frontend")

            close = await s.expect_abort("json", authmethods=["ticket"], authid="joe", on_challenge=ticket("wrong"))
            assert close.reason == "com.example.invalid_ticket", close
            assert "secret-joe" not in (close.message or "")

            started = asyncio.get_running_loop().time()
            close = await s.expect_abort("json", authmethods=["ticket"], authid="slow", on_challenge=ticket("x"))
            assert close.reason == "wamp.error.authentication_failed", close
            assert asyncio.get_running_loop().time() - started < 4, "the timeout (1 s) bounds the wait"
    run(main())


def test_no_authenticator_registered_fails_the_login(router):
    async def main():
        async with Sessions(router.url(0)) as s:
            close = await s.expect_abort("json", authmethods=["ticket"], authid="joe", on_challenge=ticket("secret-joe"))
            assert close.reason == "wamp.error.authentication_failed", close
    run(main())


def test_a_dynamic_authenticator_decides_anonymous_logins(request):
    auth = {"anonymous": {"type": "dynamic", "authenticator": AUTHENTICATOR,
                          "authenticator-role": "backend"}}
    backend_auth = {"anonymous": {"type": "static", "role": "backend"}}
    config = make_config(
        realms=[realm("realm1", roles=[anonymous_role("frontend"), anonymous_role("backend")])],
        transports=[transport(auth=auth), transport(auth=backend_auth)],
    )
    router = start_router(request, config, name="dynamic-anonymous")

    async def decide(realm, authid, details):
        assert details["authmethod"] == "anonymous"
        caller = details["transport"]["peer"]
        assert caller.startswith("tcp4:127.0.0.1:"), caller
        if details["authextra"].get("invite") == "yes":
            return {"role": "frontend", "authid": "visitor-1"}
        raise ApplicationError("wamp.error.not_authorized", "no invitation")

    async def main():
        async with Sessions(router.url(1)) as backend_side:
            backend = await backend_side.connect("json")
            await backend.register(decide, AUTHENTICATOR)
            async with Sessions(router.url(0)) as s:
                c = await s.connect("json", authextra={"invite": "yes"})
                assert (c.details.authid, c.details.authrole, c.details.authmethod) == ("visitor-1", "frontend", "anonymous")
                close = await s.expect_abort("json")
                assert close.reason == "wamp.error.not_authorized", close
    run(main())


def test_a_dynamic_authenticator_gives_the_wampcra_secret(request):
    """Crossbar's dynamic wampcra: the authenticator is asked at HELLO and answers the
    secret (salted or not) and the role; the client's AUTHENTICATE is checked against it."""
    auth = {"wampcra": {"type": "dynamic", "authenticator": AUTHENTICATOR}}
    backend_auth = {"anonymous": {"type": "static", "role": "backend"}}
    config = make_config(
        realms=[realm("realm1", roles=[anonymous_role("frontend"), anonymous_role("backend")])],
        transports=[transport(auth=auth), transport(auth=backend_auth)],
    )
    router = start_router(request, config, name="dynamic-wampcra")
    users = {
        "alice": {"secret": "alice-secret", "role": "frontend"},
        "bob": {"secret": "bob-secret", "role": "frontend", "salt": "pepper", "iterations": 100, "keylen": 16},
    }

    async def lookup(realm, authid, details):
        assert details["authmethod"] == "wampcra" and "wampcra" not in details
        if authid not in users:
            raise ApplicationError("wamp.error.not_authorized", f"no user {authid}")
        return users[authid]

    def answer(secret):
        def on_challenge(challenge):
            assert challenge.method == "wampcra"
            key = secret
            if "salt" in challenge.extra:
                key = derive_key(secret, challenge.extra["salt"], challenge.extra["iterations"],
                                 challenge.extra["keylen"])
            return compute_wcs(key, challenge.extra["challenge"])
        return on_challenge

    async def main():
        async with Sessions(router.url(1)) as backend_side:
            backend = await backend_side.connect("json")
            await backend.register(lookup, AUTHENTICATOR)
            async with Sessions(router.url(0)) as s:
                for authid in ("alice", "bob"):
                    c = await s.connect("json", authmethods=["wampcra"], authid=authid,
                                        on_challenge=answer(users[authid]["secret"]))
                    assert (c.details.authid, c.details.authrole, c.details.authprovider) == (authid, "frontend", "dynamic")
                close = await s.expect_abort("json", authmethods=["wampcra"], authid="alice",
                                             on_challenge=answer("wrong"))
                assert close.reason == "wamp.error.not_authorized", close
                close = await s.expect_abort("json", authmethods=["wampcra"], authid="mallory",
                                             on_challenge=answer("x"))
                assert close.reason == "wamp.error.not_authorized", close
    run(main())


def test_a_dynamic_authenticator_decides_about_a_cryptosign_key(request):
    """Dynamic cryptosign: the authenticator sees the client's public key (HELLO authextra)
    and answers the role; the client must then prove it holds the key."""
    known = CryptosignKey.from_bytes(os.urandom(32))
    stranger = CryptosignKey.from_bytes(os.urandom(32))
    auth = {"cryptosign": {"type": "dynamic", "authenticator": AUTHENTICATOR}}
    backend_auth = {"anonymous": {"type": "static", "role": "backend"}}
    config = make_config(
        realms=[realm("realm1", roles=[anonymous_role("frontend"), anonymous_role("backend")])],
        transports=[transport(auth=auth), transport(auth=backend_auth)],
    )
    router = start_router(request, config, name="dynamic-cryptosign")

    async def decide(realm, authid, details):
        assert details["authmethod"] == "cryptosign"
        if details["authextra"]["pubkey"] == known.public_key():
            return {"role": "frontend", "authid": "device-1", "pubkey": known.public_key()}
        raise ApplicationError("wamp.error.not_authorized", "unknown key")

    def login(key, signer):
        return dict(authmethods=["cryptosign"], authextra={"pubkey": key.public_key()},
                    on_challenge=lambda challenge: signer.sign_challenge(challenge))

    async def main():
        async with Sessions(router.url(1)) as backend_side:
            backend = await backend_side.connect("json")
            await backend.register(decide, AUTHENTICATOR)
            async with Sessions(router.url(0)) as s:
                c = await s.connect("json", **login(known, known))
                assert (c.details.authid, c.details.authrole, c.details.authprovider) == ("device-1", "frontend", "dynamic")
                close = await s.expect_abort("json", **login(stranger, stranger))
                assert close.reason == "wamp.error.not_authorized", close
                # The known key announced, but signed by another: the signature fails.
                close = await s.expect_abort("json", **login(known, stranger))
                assert close.reason == "wamp.error.not_authorized", close
    run(main())

"""WAMP-SCRAM authentication interop with autobahn-python's ``AuthScram``.

The router is configured as in Crossbar: static ``principals`` holding ``kdf``,
``iterations``, ``memory`` (argon2 only), and ``salt``, ``stored-key`` and ``server-key`` as hex,
exactly what autobahn's ``derive_scram_credential`` prints; or a dynamic authenticator that
answers those fields at HELLO. The credentials are derived here, never written down. The
client checks the router's ``scram_server_signature`` (``AuthScram.on_welcome``), so a join
proves both sides know the same keys.

autobahn-python 26.10.2's client cannot compute a ``pbkdf2`` proof: it hands the CHALLENGE's
salt (a base64 string) to its ``pbkdf2`` helper, which refuses anything but bytes. The pbkdf2
tests patch that one helper to decode the salt first, as its argon2 path does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

import pytest
from autobahn.wamp import auth as ab_auth
from autobahn.wamp.auth import AuthScram, derive_scram_credential, pbkdf2
from autobahn.wamp.exception import ApplicationError

from junction_harness import Sessions, anonymous_role, make_config, realm, run, start_router, transport

ALICE_PASSWORD = "alice-correct-horse"
BOB_PASSWORD = "bob-battery-staple"
PBKDF2_SALT = os.urandom(16)
PBKDF2_ITERATIONS = 1000


def pbkdf2_credential(password: str, salt: bytes, iterations: int) -> dict:
    """What ``derive_scram_credential`` gives for argon2, for the ``pbkdf2`` kdf (autobahn has
    no helper for it): the spec's StoredKey and ServerKey from autobahn's own ``pbkdf2``."""
    salted = pbkdf2(password.encode("utf8"), salt, iterations, keylen=32)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return {
        "kdf": "pbkdf2",
        "iterations": iterations,
        "salt": salt.hex(),
        "stored-key": hashlib.sha256(client_key).hexdigest(),
        "server-key": hmac.new(salted, b"Server Key", hashlib.sha256).hexdigest(),
    }


ALICE = derive_scram_credential("alice@example.com", ALICE_PASSWORD)
BOB = pbkdf2_credential(BOB_PASSWORD, PBKDF2_SALT, PBKDF2_ITERATIONS)

AUTH = {
    "scram": {"type": "static", "principals": {
        "alice": {**ALICE, "role": "frontend"},
        "bob": {**BOB, "role": "backend"},
    }},
}


@pytest.fixture(scope="module")
def router(request):
    roles = [anonymous_role("frontend"), anonymous_role("backend")]
    config = make_config(realms=[realm("realm1", roles=roles)], transports=[transport(auth=AUTH)])
    return start_router(request, config, name="scram")


@pytest.fixture
def pbkdf2_salt_fix(monkeypatch):
    """autobahn's AuthScram passes the base64 salt text to pbkdf2(), which wants bytes."""
    def hash_pbkdf2(password, salt, iterations):
        return pbkdf2(password, base64.b64decode(salt), iterations, keylen=32)
    monkeypatch.setattr(ab_auth, "_hash_pbkdf2_secret", hash_pbkdf2)


def scram_login(authid, password, **authextra):
    """Keyword arguments of Sessions.connect for a login with autobahn's AuthScram, and the
    AuthScram (to check the WELCOME's server signature with)."""
    scram = AuthScram(authid=authid, password=password)
    return scram, dict(authmethods=["scram"], authid=authid,
                       authextra={**scram.authextra, **authextra},
                       on_challenge=lambda challenge: scram.on_challenge(None, challenge))


def assert_server_verified(scram, client):
    assert "scram_server_signature" in client.details.authextra, client.details.authextra
    assert scram.on_welcome(client, client.details.authextra) is None, "server signature"


@pytest.mark.parametrize("ser", ["json", "msgpack"])
def test_argon2id_user_joins(router, ser):
    async def main():
        async with Sessions(router.url(0)) as s:
            scram, kw = scram_login("alice", ALICE_PASSWORD)
            c = await s.connect(ser, **kw)
            d = c.details
            assert (d.authid, d.authrole, d.authmethod, d.authprovider) == ("alice", "frontend", "scram", "static")
            assert_server_verified(scram, c)
            [challenge] = c.challenges
            extra = challenge.extra
            assert challenge.method == "scram"
            assert extra["nonce"].startswith(scram.authextra["nonce"]) and len(extra["nonce"]) > 24, extra
            assert extra["kdf"] == "argon2id-13"
            assert base64.b64decode(extra["salt"]) == bytes.fromhex(ALICE["salt"])
            assert (extra["iterations"], extra["memory"]) == (ALICE["iterations"], ALICE["memory"])
            # the session works
            await c.register(lambda x: x + 1, "com.example.inc")
            assert await c.call("com.example.inc", 41) == 42
    run(main())


def test_pbkdf2_user_joins(router, pbkdf2_salt_fix):
    async def main():
        async with Sessions(router.url(0)) as s:
            scram, kw = scram_login("bob", BOB_PASSWORD)
            c = await s.connect("json", **kw)
            assert (c.details.authid, c.details.authrole, c.details.authmethod) == ("bob", "backend", "scram")
            assert_server_verified(scram, c)
            extra = c.challenges[0].extra
            assert (extra["kdf"], extra["iterations"]) == ("pbkdf2", PBKDF2_ITERATIONS)
            assert "memory" not in extra, extra
    run(main())


def test_null_channel_binding_is_accepted(router, pbkdf2_salt_fix):
    """The spec's HELLO example sends "channel_binding": null."""
    async def main():
        async with Sessions(router.url(0)) as s:
            scram, kw = scram_login("bob", BOB_PASSWORD, channel_binding=None)
            c = await s.connect("json", **kw)
            assert_server_verified(scram, c)
    run(main())


def test_wrong_password_is_aborted_not_authorized(router, pbkdf2_salt_fix):
    async def main():
        async with Sessions(router.url(0)) as s:
            for authid in ("alice", "bob"):
                _, kw = scram_login(authid, "wrong-password")
                close = await s.expect_abort("json", **kw)
                assert close.reason == "wamp.error.not_authorized", close
                assert "wrong-password" not in (close.message or "")
    run(main())


def test_unknown_user_is_challenged_then_refused_like_a_wrong_password(router):
    """The spec's mock CHALLENGE: an unknown authid is not revealed before the proof, and gets
    the same salt each time (a random one would tell it apart from a real user)."""
    async def main():
        async with Sessions(router.url(0)) as s:
            salts = []
            for _ in range(2):
                _, kw = scram_login("mallory", "anything")
                close = await s.expect_abort("json", **kw)
                assert close.reason == "wamp.error.not_authorized", close
                client = s.clients[-1]
                [challenge] = client.challenges
                salts.append(challenge.extra["salt"])
                assert challenge.extra["kdf"] in ("argon2id-13", "pbkdf2")
            assert salts[0] == salts[1]
            _, kw = scram_login("alice", "wrong-password")
            wrong = await s.expect_abort("json", **kw)
            assert wrong.message == close.message
    run(main())


def test_required_channel_binding_is_refused(router):
    """Junction has no tls-unique channel binding: a client that requires it gets a clear ABORT
    at HELLO (Crossbar ignores the request, and the login fails at the proof)."""
    async def main():
        async with Sessions(router.url(0)) as s:
            _, kw = scram_login("alice", ALICE_PASSWORD, channel_binding="tls-unique")
            close = await s.expect_abort("json", **kw)
            assert close.reason == "wamp.error.not_authorized", close
            assert "channel binding" in close.message and "tls-unique" in close.message, close
            assert not s.clients[-1].challenges
    run(main())


def test_hello_without_nonce_or_authid_is_refused(router):
    async def main():
        async with Sessions(router.url(0)) as s:
            close = await s.expect_abort("json", authmethods=["scram"], authid="alice")
            assert close.reason == "wamp.error.not_authorized", close
            assert "nonce" in close.message, close
            close = await s.expect_abort("json", authmethods=["scram"], authid="alice",
                                         authextra={"nonce": "not base64!"})
            assert close.reason == "wamp.error.not_authorized", close
            assert "nonce" in close.message, close
            close = await s.expect_abort("json", authmethods=["scram"],
                                         authextra={"nonce": base64.b64encode(os.urandom(16)).decode()})
            assert close.reason == "wamp.error.not_authorized", close
            assert "authid" in close.message, close
    run(main())


AUTHENTICATOR = "com.example.scram.lookup"


@pytest.fixture(scope="module")
def dynamic_router(request):
    auth = {"scram": {"type": "dynamic", "authenticator": AUTHENTICATOR}}
    backend_auth = {"anonymous": {"type": "static", "role": "backend"}}
    config = make_config(
        realms=[realm("realm1", roles=[anonymous_role("frontend"), anonymous_role("backend")])],
        transports=[transport(auth=auth), transport(auth=backend_auth)],
    )
    return start_router(request, config, name="dynamic-scram")


CAROL_PASSWORD = "carol-s3cret"
CAROL = derive_scram_credential("carol@example.com", CAROL_PASSWORD)


async def lookup(realm, authid, details):
    """A Crossbar dynamic SCRAM authenticator: the principal's credentials, at HELLO."""
    assert details["authmethod"] == "scram"
    assert "nonce" in details["authextra"]
    if authid == "carol":
        return {**CAROL, "role": "frontend", "authid": "user:carol", "extra": {"plan": "gold"}}
    if authid == "broken":
        return {"kdf": "argon2id-13", "role": "frontend"}
    raise ApplicationError("com.example.no_such_user", f"no user {authid}")


def test_a_dynamic_authenticator_gives_the_scram_credentials(dynamic_router):
    async def main():
        async with Sessions(dynamic_router.url(1)) as backend_side:
            backend = await backend_side.connect("json")
            await backend.register(lookup, AUTHENTICATOR)
            async with Sessions(dynamic_router.url(0)) as s:
                scram, kw = scram_login("carol", CAROL_PASSWORD)
                c = await s.connect("json", **kw)
                d = c.details
                assert (d.authid, d.authrole, d.authmethod, d.authprovider) == (
                    "user:carol", "frontend", "scram", "dynamic")
                assert d.authextra.get("plan") == "gold", d.authextra
                assert_server_verified(scram, c)

                _, kw = scram_login("carol", "wrong")
                close = await s.expect_abort("json", **kw)
                assert close.reason == "wamp.error.not_authorized", close
    run(main())


def test_dynamic_authenticator_errors_abort_with_their_uri(dynamic_router):
    async def main():
        async with Sessions(dynamic_router.url(0)) as s:
            # no authenticator registered yet
            _, kw = scram_login("carol", CAROL_PASSWORD)
            close = await s.expect_abort("json", **kw)
            assert close.reason == "wamp.error.authentication_failed", close
            async with Sessions(dynamic_router.url(1)) as backend_side:
                backend = await backend_side.connect("json")
                await backend.register(lookup, AUTHENTICATOR)
                _, kw = scram_login("nobody", "x")
                close = await s.expect_abort("json", **kw)
                assert close.reason == "com.example.no_such_user", close
                assert not s.clients[-1].challenges
                _, kw = scram_login("broken", "x")
                close = await s.expect_abort("json", **kw)
                assert close.reason == "wamp.error.authentication_failed", close
                assert "salt" in close.message or "stored-key" in close.message, close
    run(main())

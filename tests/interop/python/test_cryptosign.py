"""WAMP-cryptosign (Ed25519) authentication interop with autobahn-python.

The router is configured as in Crossbar: static ``principals`` with ``authorized_keys``
(hex public keys). Clients sign the CHALLENGE with autobahn's ``CryptosignKey`` (PyNaCl).
"""

from __future__ import annotations

import os

import pytest
from autobahn.wamp.auth import AuthCryptoSign
from autobahn.wamp.cryptosign import CryptosignKey
from nacl.signing import SigningKey

from junction_harness import (
    SERIALIZER_IDS,
    Sessions,
    anonymous_role,
    make_config,
    realm,
    run,
    start_router,
    transport,
)

ALICE_1 = CryptosignKey.from_bytes(os.urandom(32))
ALICE_2 = CryptosignKey.from_bytes(os.urandom(32))
BOB_SEED = os.urandom(32)
BOB = CryptosignKey.from_bytes(BOB_SEED)
ENV_KEY = CryptosignKey.from_bytes(os.urandom(32))
STRANGER = CryptosignKey.from_bytes(os.urandom(32))

AUTH = {
    "cryptosign": {"type": "static", "principals": {
        "alice": {"realm": "realm1", "role": "backend",
                  "authorized_keys": [ALICE_1.public_key(), ALICE_2.public_key().upper()]},
        "bob": {"role": "frontend", "authorized_keys": [BOB.public_key()]},
        "envy": {"role": "frontend", "authorized_keys": ["$JUNCTION_IT_CRYPTOSIGN_KEY"]},
    }},
}


@pytest.fixture(scope="module")
def router(request):
    roles = [anonymous_role(), anonymous_role("backend"), anonymous_role("frontend")]
    config = make_config(
        realms=[realm("realm1", roles=roles), realm("realm2", roles=roles)],
        transports=[transport(auth=AUTH)],
    )
    env = {"JUNCTION_IT_CRYPTOSIGN_KEY": ENV_KEY.public_key()}
    return start_router(request, config, env=env, name="cryptosign")


def signed_by(key):
    """An on_challenge that checks the CHALLENGE's shape and signs it with ``key``."""
    def on_challenge(challenge):
        assert challenge.method == "cryptosign", f"expected a cryptosign CHALLENGE, got {challenge.method}"
        text = challenge.extra["challenge"]
        assert isinstance(text, str) and len(text) == 64, challenge.extra
        bytes.fromhex(text)
        assert "channel_binding" in challenge.extra and challenge.extra["channel_binding"] is None
        return key.sign_challenge(challenge)
    return on_challenge


def login(key, authid=None, signer=None, **authextra):
    """Keyword arguments of Sessions.connect for a cryptosign login announcing ``key``."""
    return dict(authmethods=["cryptosign"], authid=authid,
                authextra={"pubkey": key.public_key(), **authextra},
                on_challenge=signed_by(signer or key))


def assert_refused(close, *words):
    assert close.reason == "wamp.error.not_authorized", (close.reason, close.message)
    for word in words:
        assert word in (close.message or ""), close.message


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_cryptosign_login(router, ser):
    async def main():
        async with Sessions(router.url(0)) as s:
            c = await s.connect(ser, **login(ALICE_1, authid="alice", channel_binding=None))
            d = c.details
            assert (d.authid, d.authrole, d.authmethod, d.authprovider) == (
                "alice", "backend", "cryptosign", "static")
            assert d.realm == "realm1"
            assert len(c.challenges) == 1
            welcome = [m for m in c.raw_in if m and m[0] == 2]
            assert welcome and welcome[0][2]["authmethod"] == "cryptosign"
            # the session works: a call round trip
            await c.register(lambda x: x * 2, "com.example.double")
            assert await c.call("com.example.double", 21) == 42

    run(main())


@pytest.mark.parametrize("ser", ["json", "msgpack"])
def test_every_authorized_key_logs_in(router, ser):
    async def main():
        async with Sessions(router.url(0)) as s:
            c = await s.connect(ser, **login(ALICE_2, authid="alice"))
            assert (c.details.authid, c.details.authrole) == ("alice", "backend")
            c = await s.connect(ser, **login(BOB, authid="bob"))
            assert (c.details.authid, c.details.authrole) == ("bob", "frontend")

    run(main())


@pytest.mark.parametrize("ser", ["json", "msgpack"])
def test_authid_is_found_by_public_key(router, ser):
    async def main():
        async with Sessions(router.url(0)) as s:
            c = await s.connect(ser, **login(BOB))
            assert (c.details.authid, c.details.authrole, c.details.authmethod) == (
                "bob", "frontend", "cryptosign")

    run(main())


def test_autobahn_authenticator_authextra(router):
    """The HELLO authextra that autobahn's own AuthCryptoSign (used by Component) builds."""
    auth = AuthCryptoSign(privkey=BOB_SEED.hex(), authid="bob")
    assert auth.authextra == {"pubkey": BOB.public_key()}

    async def main():
        async with Sessions(router.url(0)) as s:
            c = await s.connect("json", authmethods=[auth.name], authextra=auth.authextra,
                                on_challenge=signed_by(BOB))
            assert (c.details.authid, c.details.authmethod) == ("bob", "cryptosign")

    run(main())


def test_key_from_environment(router):
    async def main():
        async with Sessions(router.url(0)) as s:
            c = await s.connect("msgpack", **login(ENV_KEY, authid="envy"))
            assert (c.details.authid, c.details.authrole) == ("envy", "frontend")

    run(main())


@pytest.mark.parametrize("ser", ["json", "msgpack"])
def test_unknown_key_is_refused(router, ser):
    async def main():
        async with Sessions(router.url(0)) as s:
            close = await s.expect_abort(ser, **login(STRANGER, authid="alice"))
            assert_refused(close, "not an authorized key")
            close = await s.expect_abort(ser, **login(STRANGER))
            assert_refused(close, "no principal")
            # bob's key is authorized, but not for alice
            close = await s.expect_abort(ser, **login(BOB, authid="alice"))
            assert_refused(close, "not an authorized key")
            close = await s.expect_abort(ser, **login(ALICE_1, authid="mallory"))
            assert_refused(close, "no principal")

    run(main())


@pytest.mark.parametrize("ser", ["json", "msgpack"])
def test_signature_by_another_key_is_refused(router, ser):
    async def main():
        async with Sessions(router.url(0)) as s:
            # announces alice's first key, signs with her second (also authorized)
            close = await s.expect_abort(ser, **login(ALICE_1, authid="alice", signer=ALICE_2))
            assert_refused(close)
            assert "does not verify" in close.message
            # announces bob's key, signs with a key nobody authorized
            close = await s.expect_abort(ser, **login(BOB, signer=STRANGER))
            assert_refused(close)

    run(main())


def raw_signature(seed, challenge, flip=False):
    """Signs the CHALLENGE with PyNaCl directly; ``flip`` corrupts one bit of the signature."""
    data = bytes.fromhex(challenge.extra["challenge"])
    signature = bytearray(SigningKey(seed).sign(data).signature)
    if flip:
        signature[0] ^= 1
    return bytes(signature), data


def test_signature_without_the_challenge_is_accepted(router):
    """The 64-byte form (signature only, no challenge appended) is accepted too."""
    async def main():
        async with Sessions(router.url(0)) as s:
            c = await s.connect("json", authmethods=["cryptosign"], authid="bob",
                                authextra={"pubkey": BOB.public_key()},
                                on_challenge=lambda ch: raw_signature(BOB_SEED, ch)[0].hex())
            assert c.details.authid == "bob"

    run(main())


def test_tampered_signature_is_refused(router):
    def tampered(challenge):
        signature, data = raw_signature(BOB_SEED, challenge, flip=True)
        return (signature + data).hex()

    def other_message(challenge):
        signature, data = raw_signature(BOB_SEED, challenge)
        return (signature + bytes([data[0] ^ 1]) + data[1:]).hex()

    async def main():
        async with Sessions(router.url(0)) as s:
            for on_challenge, words in [
                (tampered, ["does not verify"]),
                (other_message, ["not the challenge"]),
                (lambda ch: "not hex", ["not a hex string"]),
                (lambda ch: "ab" * 95, ["expected 96 bytes"]),
            ]:
                close = await s.expect_abort("json", authmethods=["cryptosign"], authid="bob",
                                             authextra={"pubkey": BOB.public_key()},
                                             on_challenge=on_challenge)
                assert_refused(close, *words)

    run(main())


def test_channel_binding_is_refused_clearly(router):
    async def main():
        async with Sessions(router.url(0)) as s:
            close = await s.expect_abort("json", **login(BOB, authid="bob", channel_binding="tls-unique"))
            assert_refused(close, "tls-unique", "not supported")

    run(main())


def test_principal_realm_is_enforced(router):
    async def main():
        async with Sessions(router.url(0)) as s:
            close = await s.expect_abort("json", realm="realm2", **login(ALICE_1, authid="alice"))
            assert_refused(close, 'realm "realm1"')
            # bob names no realm: any realm with his role
            c = await s.connect("json", realm="realm2", **login(BOB, authid="bob"))
            assert c.details.realm == "realm2"

    run(main())


def test_missing_pubkey_is_refused(router):
    async def main():
        async with Sessions(router.url(0)) as s:
            close = await s.expect_abort("json", authmethods=["cryptosign"], authid="bob",
                                         on_challenge=signed_by(BOB))
            assert_refused(close, "pubkey")
            # anonymous is not offered by this transport
            close = await s.expect_abort("json")
            assert close.reason == "wamp.error.no_auth_method"

    run(main())

"""WAMP-cryptosign (Ed25519) authentication interop with autobahn-python.

The router is configured as in Crossbar: static ``principals`` with ``authorized_keys``
(hex public keys). Clients sign the CHALLENGE with autobahn's ``CryptosignKey`` (PyNaCl).

The refusals (unknown or foreign keys, bad signatures, channel binding, principal realm,
missing pubkey), the 64-byte signature form and finding the authid by key are tested in
Rust against an in-process router: tests/it/auth_methods.rs.
"""

from __future__ import annotations

import os

import pytest
from autobahn.wamp.auth import AuthCryptoSign
from autobahn.wamp.cryptosign import CryptosignKey

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

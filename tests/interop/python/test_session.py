"""Session establishment and teardown with autobahn-python."""

from __future__ import annotations

import asyncio

import pytest

from junction_harness import (
    EVENT_TIMEOUT,
    SERIALIZER_IDS,
    Sessions,
    make_config,
    run,
    start_router,
)

MAX_ID = 2**53


@pytest.fixture(scope="module")
def router(request):
    return start_router(request, make_config(), name="session")


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_welcome(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            c = await s.connect(ser)
            d = c.details
            assert isinstance(d.session, int) and 1 <= d.session <= MAX_ID
            assert d.realm == "realm1"
            assert d.serializer == ser
            assert d.authrole == "anonymous"
            assert d.authmethod == "anonymous"
            roles = c._router_roles
            # autobahn parsed WELCOME.Details.roles itself (only broker/dealer)
            assert set(roles) == {"broker", "dealer"}

            # the raw WELCOME: [2, session, details]
            welcomes = [m for m in c.raw_in if m and m[0] == 2]
            assert len(welcomes) == 1, c.raw_in
            welcome = welcomes[0]
            assert len(welcome) == 3 and welcome[1] == d.session
            raw_roles = welcome[2]["roles"]
            for name in ("broker", "dealer"):
                features = raw_roles[name].get("features")
                assert isinstance(features, dict), f"{name} has no features dict: {raw_roles[name]!r}"
                for k, v in features.items():
                    assert type(v) is bool, f"{name}.features.{k} = {v!r} is not a boolean"
            # what these tests rely on must be announced
            assert raw_roles["broker"]["features"].get("pattern_based_subscription") is True
            assert raw_roles["broker"]["features"].get("publisher_exclusion") is True
            assert raw_roles["dealer"]["features"].get("pattern_based_registration") is True
            assert welcome[2].get("authrole") == "anonymous"

    run(main())


def test_session_ids_differ(router):
    async def main():
        async with Sessions(router.url()) as s:
            ids = set()
            for ser in ["json", "msgpack"] * 4:
                c = await s.connect(ser)
                ids.add(c.details.session)
            assert len(ids) == 8, ids

    run(main())


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_unknown_realm_is_aborted(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            close = await s.expect_abort(ser, realm="no.such.realm")
            assert close.reason == "wamp.error.no_such_realm"

    run(main())


@pytest.mark.parametrize("ser", ["json", "msgpack"])
def test_goodbye_is_answered(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            c = await s.connect(ser)
            c.leave()
            close = await asyncio.wait_for(c.left, EVENT_TIMEOUT)
            goodbyes = [m for m in c.raw_in if m and m[0] == 6]
            assert len(goodbyes) == 1, f"expected one GOODBYE reply, router sent: {c.raw_in!r}"
            assert goodbyes[0][2] == "wamp.close.goodbye_and_out", goodbyes[0]
            assert close.reason == "wamp.close.goodbye_and_out"
            await asyncio.wait_for(c.disconnected, EVENT_TIMEOUT)

    run(main())

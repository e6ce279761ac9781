"""The WAMP meta API with autobahn-python: that autobahn-python sessions, in every serializer,
can use it (wamp.session.count, list and get).

The meta API's behaviour (session, subscription and registration procedures and events, kill,
testaments, permissions, enable_meta_api) is tested in Rust against an in-process router:
tests/it/meta_api.rs."""

from __future__ import annotations

import pytest
from autobahn.wamp.exception import ApplicationError

from junction_harness import (
    SERIALIZER_IDS,
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

# "user" may use com.example., nothing else of the meta API.
USER = {
    "name": "user",
    "permissions": [
        permission("com.example.", "prefix"),
    ],
}

AUTH = {
    "anonymous": {"type": "static", "role": "anonymous"},
    "ticket": {"type": "static", "principals": {
        name: {"ticket": TICKET, "role": "user"} for name in ("alice",)
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

"""Dynamic authorization with autobahn-python: a role whose `authorizer` procedure, registered
by a trusted backend session, decides each publish, subscribe, call and register of the
role's sessions (`(session_details, uri, action, options)` -> bool or
`{"allow", "disclose", "cache"}`).

Caching, disclosure and failing or missing authorizers are tested in Rust against an
in-process router: tests/it/auth_methods.rs."""

from __future__ import annotations

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import PublishOptions

from junction_harness import (
    SERIALIZER_IDS,
    Collector,
    Sessions,
    anonymous_role,
    make_config,
    realm,
    run,
    start_router,
    transport,
)

TICKET = "backend-ticket"
AUTHORIZER = "com.example.authorize"

AUTH = {
    "anonymous": {"type": "static", "role": "frontend"},
    "ticket": {"type": "static", "principals": {"backend": {"ticket": TICKET, "role": "backend"}}},
}


@pytest.fixture
def router(request):
    roles = [anonymous_role("backend"), {"name": "frontend", "authorizer": AUTHORIZER}]
    config = make_config(realms=[realm("realm1", roles=roles)], transports=[transport(auth=AUTH)])
    return start_router(request, config, name="dynamic-authorization")


class Authorizer:
    """The authorizer procedure: its answers depend on the URI; it records every question."""

    def __init__(self):
        self.questions = []

    def __call__(self, session, uri, action, options):
        self.questions.append((session, uri, action, options))
        if uri.startswith("com.example.allowed") or uri == "wamp.session.add_testament":
            return True
        if uri == "com.example.cached":
            return {"allow": True, "cache": True}
        if uri == "com.example.disclosed":
            return {"allow": True, "disclose": True}
        if uri == "com.example.broken":
            raise ApplicationError("com.example.oops", "authorizer bug")
        if uri == "com.example.weird":
            return "yes"
        return False

    def asked(self, uri):
        return [q for q in self.questions if q[1] == uri]


async def backend(s, authorizer, ser="json"):
    b = await s.connect(ser, authmethods=["ticket"], authid="backend",
                        on_challenge=lambda c: TICKET)
    if authorizer is not None:
        await b.register(authorizer, AUTHORIZER)
    return b


async def refused(coro) -> str:
    with pytest.raises(ApplicationError) as e:
        await coro
    return e.value.error


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_the_authorizer_decides_each_action(router, ser):
    async def main():
        async with Sessions(router.url()) as s:
            authorizer = Authorizer()
            b = await backend(s, authorizer)
            await b.register(lambda x: x * 2, "com.example.allowed.double")
            fe = await s.connect(ser)
            assert fe.details.authrole == "frontend"
            events = Collector()
            await fe.subscribe(events, "com.example.allowed.topic")
            [(session, uri, action, options)] = authorizer.asked("com.example.allowed.topic")
            assert action == "subscribe"
            assert session["session"] == fe._session_id
            assert (session["authrole"], session["authmethod"]) == ("frontend", "anonymous")
            assert session["transport"]["type"] == "websocket"
            assert isinstance(options, dict)
            b.publish("com.example.allowed.topic", 1)
            await events.wait(1)
            assert await fe.call("com.example.allowed.double", 21) == 42
            assert authorizer.asked("com.example.allowed.double")[0][2] == "call"
            await fe.publish("com.example.allowed.out", options=PublishOptions(acknowledge=True))
            await fe.register(lambda: 0, "com.example.allowed.proc")
            assert authorizer.asked("com.example.allowed.proc")[0][2] == "register"
            # Refusals are wamp.error.not_authorized.
            for coro in (
                fe.subscribe(lambda: None, "com.example.secret"),
                fe.call("com.example.secret"),
                fe.register(lambda: 0, "com.example.secret"),
                fe.publish("com.example.secret", options=PublishOptions(acknowledge=True)),
            ):
                assert await refused(coro) == "wamp.error.not_authorized"
            # The backend's static role is not asked about.
            before = len(authorizer.questions)
            await b.publish("com.example.anything", options=PublishOptions(acknowledge=True))
            assert len(authorizer.questions) == before
    run(main())


def test_testaments_of_a_dynamic_role_are_decided_by_the_authorizer(router):
    async def main():
        async with Sessions(router.url()) as s:
            authorizer = Authorizer()
            b = await backend(s, authorizer)
            received = Collector()
            await b.subscribe(received, "com.example.allowed.will")
            fe = await s.connect("json")
            # The authorizer is asked about the call and about publishing on the topic.
            await fe.call("wamp.session.add_testament", "com.example.allowed.will", ["bye"], {})
            assert authorizer.asked("com.example.allowed.will")[0][2] == "publish"
            error = await refused(
                fe.call("wamp.session.add_testament", "com.example.secret", [], {}))
            assert error == "wamp.error.not_authorized"
            fe.drop_tcp()
            [(args, _, _)] = await received.wait(1)
            assert args == ["bye"]
    run(main())

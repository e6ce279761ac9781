"""Who may open an `sse` stream (issue 18 item 1): a path with `auth.ticket` wants a ticket,
checked like a WAMP ticket login (static principals compared in constant time, or a dynamic
authenticator procedure called with Crossbar's arguments), sent as `Authorization: Bearer` or,
for `EventSource` (which cannot set headers), as `ticket`/`authid` query parameters. The
principal's role is the stream's role, and its authid the subscriber's, so `eligible_authid`
reaches the right readers. `require_ip` limits the clients' addresses. Refusals are JSON: 401
without or with a wrong ticket, 403 for an address not allowed or a role that may not subscribe,
429 once an address failed too often."""

from __future__ import annotations

import http.client
import json
import time

import pytest
from autobahn.wamp.types import PublishOptions

from junction_harness import (Sessions, anonymous_role, make_config, permission, realm, run,
                              start_router, web_transport, ws_path)

AUTHENTICATOR = "com.example.sse.authenticate"


@pytest.fixture
def router(request):
    reader = {"name": "reader", "permissions": [
        permission("com.news", match="prefix", call=False, register=False, publish=False)]}
    r = realm("realm1", roles=[anonymous_role(), reader])
    static = {"type": "sse", "realm": "realm1", "role": "anonymous", "auth": {"ticket": {
        "type": "static", "principals": {
            "alice": {"ticket": "alice-secret-ticket", "role": "reader"},
            "bob": {"ticket": "bob-secret-ticket", "role": "reader"},
        }}}}
    dynamic = {"type": "sse", "realm": "realm1", "role": "anonymous", "auth": {"ticket": {
        "type": "dynamic", "authenticator": AUTHENTICATOR}}}
    config = make_config(realms=[r], transports=[web_transport({
        "ws": ws_path(),
        "private": static,
        "dynamic": dynamic,
        "office": {"type": "sse", "realm": "realm1", "role": "anonymous",
                   "require_ip": ["10.0.0.0/8"]},
        "local": {"type": "sse", "realm": "realm1", "role": "anonymous",
                  "require_ip": ["127.0.0.0/8"]},
    })])
    return start_router(request, config, name="sse-auth")


class Stream:
    """A GET on an sse path: the refusal (status, JSON body) or the open stream."""

    def __init__(self, router, target, headers=None):
        self.conn = http.client.HTTPConnection(router.host, router.ports[0], timeout=5)
        self.conn.request("GET", target, headers=headers or {})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        if self.status != 200:
            self.body = json.loads(self.response.read())
            self.conn.close()

    def next_data(self):
        """The `data:` of the next event (comments and the retry hint skipped)."""
        while True:
            line = self.response.readline()
            assert line, "the stream ended"
            line = line.decode().rstrip("\n")
            if line.startswith("data: "):
                return json.loads(line.removeprefix("data: "))

    def close(self):
        self.conn.close()


def bearer(ticket):
    return {"Authorization": f"Bearer {ticket}"}


def publish(router, items):
    async def main():
        async with Sessions(router.url()) as s:
            publisher = await s.connect()
            for topic, arg, options in items:
                await publisher.publish(topic, arg, options=PublishOptions(acknowledge=True,
                                                                           **options))
    run(main())


def test_a_static_ticket_opens_the_stream_with_the_principals_role(router):
    missing = Stream(router, "/private?topic=com.news")
    assert missing.status == 401, missing.body
    assert missing.response.getheader("www-authenticate", "").startswith("Bearer")
    assert missing.body["error"] == "wamp.error.not_authorized", missing.body
    wrong = Stream(router, "/private?topic=com.news", bearer("not-the-ticket"))
    assert wrong.status == 401 and wrong.body["error"] == "wamp.error.authentication_failed"
    assert "secret" not in json.dumps(wrong.body)
    # alice's role may subscribe under com.news only.
    denied = Stream(router, "/private?topic=com.sports", bearer("alice-secret-ticket"))
    assert denied.status == 403 and denied.body["error"] == "wamp.error.not_authorized"

    alice = Stream(router, "/private?topic=com.news", bearer("alice-secret-ticket"))
    # EventSource cannot set headers: the ticket (and authid) go in the query.
    bob = Stream(router, "/private?topic=com.news&authid=bob&ticket=bob-secret-ticket")
    assert (alice.status, bob.status) == (200, 200)
    # The authid of a stream is its principal's: eligible_authid reaches only alice.
    publish(router, [("com.news", "for alice", {"eligible_authid": ["alice"]}),
                     ("com.news", "for all", {})])
    assert alice.next_data()["args"] == ["for alice"]
    assert alice.next_data()["args"] == ["for all"]
    assert bob.next_data()["args"] == ["for all"]
    alice.close()
    bob.close()
    # An authid with another principal's ticket is refused.
    crossed = Stream(router, "/private?topic=com.news&authid=bob&ticket=alice-secret-ticket")
    assert crossed.status == 401, crossed.body


def test_a_dynamic_authenticator_decides(router):
    asked = []

    def authenticate(realm_name, authid, details):
        asked.append((realm_name, authid, details.get("ticket"), details.get("authmethod")))
        if details.get("ticket") == "good-ticket":
            return {"role": "reader", "authid": "from-authenticator"}
        from autobahn.wamp.exception import ApplicationError
        raise ApplicationError("com.example.bad_ticket", "no such ticket")

    async def main():
        async with Sessions(router.url()) as s:
            backend = await s.connect()
            await backend.register(authenticate, AUTHENTICATOR)
            loop = __import__("asyncio").get_running_loop()
            good = await loop.run_in_executor(None, lambda: Stream(
                router, "/dynamic?topic=com.news", bearer("good-ticket")))
            bad = await loop.run_in_executor(None, lambda: Stream(
                router, "/dynamic?topic=com.news&authid=carol", bearer("bad-ticket")))
            return good, bad

    good, bad = run(main())
    assert good.status == 200
    good.close()
    assert bad.status == 401 and bad.body["error"] == "com.example.bad_ticket", bad.body
    assert asked == [("realm1", None, "good-ticket", "ticket"),
                     ("realm1", "carol", "bad-ticket", "ticket")], asked


def test_require_ip_limits_the_clients(router):
    refused = Stream(router, "/office?topic=com.news")
    assert refused.status == 403 and refused.body["error"] == "wamp.error.not_authorized"
    assert "127.0.0.1" in refused.body["args"][0]
    allowed = Stream(router, "/local?topic=com.news")
    assert allowed.status == 200
    allowed.close()


def test_an_address_that_keeps_failing_is_told_to_wait(router):
    statuses = []
    for _ in range(25):
        attempt = Stream(router, "/private?topic=com.news", bearer(f"guess-{time.time_ns()}"))
        statuses.append(attempt.status)
    assert statuses[0] == 401 and statuses[-1] == 429, statuses
    # Past the burst even the right ticket waits: guessing gains nothing.
    late = Stream(router, "/private?topic=com.news", bearer("alice-secret-ticket"))
    assert late.status == 429 and int(late.response.getheader("retry-after")) >= 1

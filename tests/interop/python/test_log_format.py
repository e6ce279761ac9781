"""`JUNCTION_LOG_FORMAT=json` (issue 17 item 3): every line junction writes is one JSON object
with stable field names (`timestamp`, `level`, `target`, `message`, and the event's own fields
such as `realm` and `topic` at the top level), so log shippers need no parsing rules; without
it the human format stays, and an unknown format is named."""

from __future__ import annotations

import json
import time

from junction_harness import (Router, Sessions, anonymous_role, bridge_path, compact_json,
                              http_request, make_config, realm, run, signed_query, web_transport,
                              ws_path)


def poller_config():
    r = realm("realm1", roles=[anonymous_role()])
    # An upstream that refuses connections: the poller logs a warning naming realm and topic.
    r["topics"] = [{"name": "com.down", "publisher": {
        "type": "http-poller", "alwaysOn": True,
        "config": {"url": "http://127.0.0.1:9/", "pollingPeriod": "PT1S",
                   "retryMaxAttempts": 0}}}]
    return make_config(realms=[r], transports=[web_transport({"ws": ws_path()})])


def wait_for(router, text, timeout=10.0):
    deadline = time.monotonic() + timeout
    while text not in router.log():
        assert time.monotonic() < deadline, router.log()
        time.sleep(0.05)


def test_json_logs_are_one_object_a_line_with_stable_fields(request):
    router = Router(poller_config(), env={"JUNCTION_LOG_FORMAT": "json"})
    request.addfinalizer(router.cleanup)
    router.start()
    wait_for(router, "poll failed")
    router.stop()
    lines = [line for line in router.log().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line parses
    for record in records:
        assert {"timestamp", "level", "target", "message"} <= record.keys(), record
        assert record["level"] in ("ERROR", "WARN", "INFO", "DEBUG", "TRACE"), record
    [failed] = [r for r in records if r["message"].startswith("poll failed")][:1]
    assert failed["level"] == "WARN"
    assert failed["realm"] == "realm1" and failed["topic"] == "com.down", failed
    assert any(r["message"].startswith("listening on 127.0.0.1:") for r in records)
    assert any(r["message"].startswith("shutting down") for r in records)


def test_text_logs_stay_the_default_and_an_unknown_format_is_named(request):
    router = Router(poller_config(), env={"JUNCTION_LOG_FORMAT": "yaml"})
    request.addfinalizer(router.cleanup)
    router.start()
    log = router.log()
    assert 'JUNCTION_LOG_FORMAT="yaml" is not json or text' in log, log
    first = next(line for line in log.splitlines() if "listening on" in line)
    assert not first.lstrip().startswith("{"), first


# -- stable field names (src/log_fields.rs) across events ------------------------------------

TICKET = "log-fields-ticket-5c1e"
KEY, SECRET = "log-key", "log-fields-secret-9d2b"


def workload_config():
    auth = {
        "anonymous": {"type": "static", "role": "anonymous"},
        "ticket": {"type": "static", "principals": {"joe": {"ticket": TICKET, "role": "anonymous"}}},
    }
    ws = ws_path(serializers=("json",))
    ws["auth"] = auth
    paths = {
        "ws": ws,
        "push": bridge_path("publisher", debug=True),
        "push-signed": bridge_path("publisher", key=KEY, secret=SECRET),
    }
    return make_config(realms=[realm("realm1", roles=[anonymous_role()])],
                       transports=[web_transport(paths)])


def ticket(value):
    return lambda challenge: value


def one(records, message, **fields):
    """The record whose message is `message` and whose fields include `fields`."""
    found = [r for r in records
             if r["message"] == message and all(r.get(k) == v for k, v in fields.items())]
    assert found, f"no {message!r} with {fields} in:\n" + "\n".join(map(json.dumps, records))
    return found[0]


def is_peer(value):
    host, _, port = value.rpartition(":")
    return host == "127.0.0.1" and port.isdigit()


def test_events_carry_the_vocabularys_fields_with_their_types(request):
    router = Router(workload_config(),
                    env={"JUNCTION_LOG_FORMAT": "json", "JUNCTION_LOG": "debug"})
    request.addfinalizer(router.cleanup)
    router.start()
    port = router.ports[0]

    async def sessions():
        async with Sessions(router.url(0)) as s:
            c = await s.connect("json")
            joined = c.details.session
            await s.close(c)
            await s.expect_abort("json", authmethods=["ticket"], authid="joe",
                                 on_challenge=ticket("wrong-" + TICKET))
            return joined

    session = run(sessions())
    pushed = http_request("127.0.0.1", port, "POST", "/push",
                          json_body={"topic": "com.example.logged", "args": [1]})
    assert pushed.status == 202, pushed
    body = compact_json({"topic": "com.example.signed", "args": [2]})
    forged = signed_query(KEY, "not-the-secret", body)
    refused = http_request("127.0.0.1", port, "POST", "/push-signed", body=body, query=forged)
    assert refused.status == 401, refused
    wait_for(router, "signed request refused")
    wait_for(router, "session left")
    router.stop()

    log = router.log()
    records = [json.loads(line) for line in log.splitlines() if line.strip()]

    joined = one(records, "session joined", session=session)
    assert joined["realm"] == "realm1" and joined["authrole"] == "anonymous"
    assert joined["authmethod"] == "anonymous" and joined["transport"] == "websocket"
    assert joined["serialization"] == "json", joined
    assert isinstance(joined["authid"], str) and is_peer(joined["peer"]), joined
    assert joined["level"] == "DEBUG"
    left = one(records, "session left", session=session)
    assert left["realm"] == "realm1" and left["authid"] == joined["authid"], left

    failed = one(records, "authentication refused")
    assert failed["level"] == "INFO"
    assert (failed["realm"], failed["authid"], failed["authmethod"]) == ("realm1", "joe", "ticket")
    assert failed["reason"].startswith("wamp.error."), failed
    assert isinstance(failed["error"], str) and is_peer(failed["peer"]), failed

    answered = one(records, "request answered", path="/push")
    assert answered["level"] == "INFO" and answered["status"] == 202, answered
    assert answered["topic"] == "com.example.logged" and is_peer(answered["peer"]), answered
    assert isinstance(answered["duration_ms"], int) and answered["duration_ms"] >= 0, answered

    signed = one(records, "signed request refused", path="/push-signed")
    assert signed["status"] == 401 and is_peer(signed["peer"]), signed
    assert isinstance(signed["error"], str), signed

    # Every number is a number, every name one of the vocabulary's, in every record.
    numbers = {"session", "status", "duration_ms", "code", "count"}
    for record in records:
        for name in numbers & record.keys():
            assert isinstance(record[name], int), record
    # Secrets never reach the log.
    for secret in (TICKET, "wrong-" + TICKET, SECRET, forged["signature"]):
        assert secret not in log, secret

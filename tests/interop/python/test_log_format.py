"""`JUNCTION_LOG_FORMAT=json` (issue 17 item 3): every line junction writes is one JSON object
with stable field names (`timestamp`, `level`, `target`, `message`, and the event's own fields
such as `realm` and `topic` at the top level), so log shippers need no parsing rules; without
it the human format stays, and an unknown format is named."""

from __future__ import annotations

import json
import time

from junction_harness import Router, anonymous_role, make_config, realm, web_transport, ws_path


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

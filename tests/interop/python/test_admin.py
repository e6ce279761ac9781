"""The admin path's JSON API (issue 17 item 4) against the real binary: 401 without a login
and for a wrong password, the cookie's attributes, a viewer refused (403) on kill and poll now,
a kill that ends a real autobahn-python session, the session list with its fields, the
subscription list, pollers with poll now, the live tail as text/event-stream, logout, and
config errors naming the JSON path; no password or token in the log."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time

import pytest

from junction_harness import (DEFAULT_BIN, Router, Sessions, anonymous_role, bridge_path,
                              http_request, make_config, realm, run, web_transport, ws_path)

ADMIN_PW = "s3cret-admin-pw"
VIEWER_PW = "s3cret-viewer-pw"


@pytest.fixture
def router(request):
    r = realm("realm1", roles=[anonymous_role()])
    r["topics"] = [{"name": "com.hourly", "publisher": {
        "type": "http-poller", "alwaysOn": True,
        "config": {"url": "http://127.0.0.1:9/", "pollingPeriod": "PT1H",
                   "retryMaxAttempts": 0}}}]
    admin = {"type": "admin", "users": [
        {"user": "ops", "password": "$ADMIN_PW", "role": "admin"},
        {"user": "watch", "password": VIEWER_PW, "role": "viewer"}]}
    config = make_config(realms=[r], transports=[web_transport({
        "ws": ws_path(), "admin": admin, "push": bridge_path("publisher")})])
    router = Router(config, env={"ADMIN_PW": ADMIN_PW})
    request.addfinalizer(router.cleanup)
    return router.start()


def call(router, method, path, cookie=None, body=None):
    headers = {"Cookie": f"junction_admin={cookie}"} if cookie else {}
    res = http_request(router.host, router.ports[0], method, "/admin/api/" + path,
                       json_body=body, headers=headers,
                       content_type="application/json" if body is not None else None)
    return res.status, json.loads(res.body or b"null"), res.headers


def log_in(router, user, password):
    status, body, headers = call(router, "POST", "login", body={"user": user, "password": password})
    assert status == 200, body
    cookie = headers["set-cookie"]
    token = cookie.split(";")[0].split("=", 1)[1]
    return token, cookie


def test_login_is_required_and_checked(router):
    for path in ["overview", "sessions", "pollers", "stats", "bridge", "tail?realm=realm1&topic=a"]:
        status, body, headers = call(router, "GET", path)
        assert status == 401 and "error" in body, (path, status, body)
        assert "access-control-allow-origin" not in headers
    assert call(router, "GET", "overview", cookie="forged")[0] == 401
    for user, password in [("ops", "wrong"), ("nobody", ADMIN_PW), ("ops", VIEWER_PW), ("ops", "")]:
        status, body, headers = call(router, "POST", "login", body={"user": user, "password": password})
        assert status == 401 and body["error"] == "wrong user or password", (user, body)
        assert "set-cookie" not in headers
    token, cookie = log_in(router, "ops", ADMIN_PW)
    assert len(token) == 43  # 256 bits, base64url without padding
    attributes = [a.strip() for a in cookie.split(";")]
    assert "HttpOnly" in attributes and "SameSite=Strict" in attributes, cookie
    assert "Path=/admin" in attributes, cookie
    status, overview, _ = call(router, "GET", "overview", cookie=token)
    assert status == 200 and overview["realms"][0]["name"] == "realm1", overview
    assert overview["process"]["resident_memory_bytes"] > 0 and overview["process"]["open_fds"] > 0
    assert call(router, "GET", "whoami", cookie=token)[1] == {"user": "ops", "role": "admin"}
    # Logout forgets the token.
    assert call(router, "POST", "logout", cookie=token)[0] == 200
    assert call(router, "GET", "overview", cookie=token)[0] == 401
    log = router.log()
    for secret in (ADMIN_PW, VIEWER_PW, token):
        assert secret not in log


def test_guessing_passwords_is_slowed_down(router):
    """The process's failed-login limit (20 a burst per address, then one a second, as for WAMP
    logins) applies to the dashboard's login too: past it, even the right password is refused
    with 429 and Retry-After, so a password cannot be guessed at network speed."""
    statuses = [call(router, "POST", "login", body={"user": "ops", "password": f"guess{i}"})[0]
                for i in range(25)]
    assert statuses[:20] == [401] * 20, statuses
    assert statuses[20:] == [429] * 5, statuses
    status, body, headers = call(router, "POST", "login", body={"user": "ops", "password": ADMIN_PW})
    assert status == 429 and "too many failed logins" in body["error"], body
    assert int(headers["retry-after"]) >= 1, headers


def test_the_page_is_served_with_its_files(router):
    page = http_request(router.host, router.ports[0], "GET", "/admin", content_type=None)
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert b'<base href="/admin/">' in page.body
    for name, kind in [("app.js", "text/javascript"), ("app.css", "text/css")]:
        res = http_request(router.host, router.ports[0], "GET", "/admin/" + name, content_type=None)
        assert res.status == 200 and res.headers["content-type"].startswith(kind), name
    missing = http_request(router.host, router.ports[0], "GET", "/admin/nope.js", content_type=None)
    assert missing.status == 404


def test_sessions_kill_and_viewer_refusals(router):
    admin, _ = log_in(router, "ops", ADMIN_PW)
    viewer, _ = log_in(router, "watch", VIEWER_PW)

    async def main():
        async with Sessions(router.url()) as s:
            a = await s.connect()
            b = await s.connect()
            b_id = b._session_id
            await a.subscribe(lambda *a, **k: None, "com.example.watched")
            await asyncio.to_thread(time.sleep, 0.1)
            status, rows, headers = await asyncio.to_thread(call, router, "GET", "sessions?realm=realm1", viewer)
            assert status == 200, rows
            assert headers["x-total-count"] == str(len(rows)) == "2", (headers, rows)
            ids = {row["session"] for row in rows}
            assert {a._session_id, b._session_id} <= ids, rows
            row = next(r for r in rows if r["session"] == a._session_id)
            assert row["realm"] == "realm1" and row["authrole"] == "anonymous", row
            assert row["transport"] == "websocket" and row["peer"].startswith("tcp4:127.0.0.1:"), row
            assert set(row) >= {"authid", "authmethod", "joined_at", "messages_in", "messages_out"}
            assert all(r["authid"] != "admin-tail" for r in rows)

            status, subs, _ = await asyncio.to_thread(call, router, "GET", "subscriptions?realm=realm1", viewer)
            assert status == 200
            assert {"uri": "com.example.watched", "match": "exact", "count": 1}.items() <= \
                next(x for x in subs if x["uri"] == "com.example.watched").items(), subs

            # A viewer may look, not act.
            status, body, _ = await asyncio.to_thread(
                call, router, "POST", f"sessions/{b._session_id}/kill?realm=realm1", viewer)
            assert status == 403 and "viewer" in body["error"], body
            status, body, _ = await asyncio.to_thread(
                call, router, "POST", "pollers/realm1/com.hourly/poll", viewer)
            assert status == 403, body
            assert not b.left.done()

            # An admin kills: the client gets GOODBYE and is gone from the list.
            status, body, _ = await asyncio.to_thread(
                call, router, "POST", f"sessions/{b._session_id}/kill?realm=realm1", admin)
            assert status == 200, body
            await asyncio.wait_for(b.left, 5)
            status, rows, _ = await asyncio.to_thread(call, router, "GET", "sessions", viewer)
            assert b_id not in {r["session"] for r in rows}
            status, body, _ = await asyncio.to_thread(
                call, router, "POST", f"sessions/{b_id}/kill?realm=realm1", admin)
            assert status == 404, body
            assert (await asyncio.to_thread(call, router, "GET", f"sessions/{a._session_id}/kill?realm=realm1", admin))[0] == 405

    run(main())


def test_stats_count_what_flows(router):
    token, _ = log_in(router, "watch", VIEWER_PW)
    status, before, _ = call(router, "GET", "stats", token)
    assert status == 200 and before["at_ms"] > 0, before

    async def main():
        async with Sessions(router.url()) as s:
            p = await s.connect()
            options = __import__("autobahn.wamp.types", fromlist=["PublishOptions"]).PublishOptions(acknowledge=True)
            for i in range(50):
                await p.publish("com.example.counted", i, options=options)

    run(main())
    status, after, _ = call(router, "GET", "stats", token)
    assert after["messages_in"] - before["messages_in"] >= 50, (before, after)
    assert after["messages_out"] - before["messages_out"] >= 50, (before, after)
    assert after["at_ms"] >= before["at_ms"]
    pushed = http_request(router.host, router.ports[0], "POST", "/push",
                          json_body={"topic": "com.example.counted", "args": [1]})
    assert pushed.status == 202, pushed
    status, bridge, _ = call(router, "GET", "bridge", token)
    assert status == 200, bridge
    [row] = [b for b in bridge["bridge"] if b["path"] == "/push"]
    assert row["status"] == 202 and row["count"] == 1 and row["seconds_sum"] > 0, bridge


def test_pollers_poll_now_and_the_live_tail(router):
    admin, _ = log_in(router, "ops", ADMIN_PW)
    deadline = time.monotonic() + 5
    while True:
        status, pollers, _ = call(router, "GET", "pollers", admin)
        assert status == 200
        # The poll is counted before its record is stored: wait for the record.
        if pollers and pollers[0]["records"]:
            break
        assert time.monotonic() < deadline, pollers
        time.sleep(0.05)
    [topic] = pollers
    assert topic["topic"] == "com.hourly" and topic["realm"] == "realm1"
    assert topic["healthy"] is False and topic["records"][0]["error"], topic
    status, body, _ = call(router, "POST", "pollers/realm1/com.hourly/poll", admin)
    assert status == 200, body
    while call(router, "GET", "pollers", admin)[1][0]["polls"] < 2:
        assert time.monotonic() < deadline + 5, "poll now did not poll"
        time.sleep(0.05)
    assert call(router, "POST", "pollers/realm1/com.nope/poll", admin)[0] == 404

    # The live tail: an SSE stream of the topic's events, published by a real client.
    sock = socket.create_connection((router.host, router.ports[0]), timeout=5)
    sock.sendall((f"GET /admin/api/tail?realm=realm1&topic=com.tail&match=prefix HTTP/1.1\r\n"
                  f"Host: x\r\nCookie: junction_admin={admin}\r\n\r\n").encode())
    received = b""
    while b": tailing" not in received:
        received += sock.recv(4096)
    assert b"text/event-stream" in received, received

    async def publish():
        async with Sessions(router.url()) as s:
            p = await s.connect()
            await p.publish("com.tail.one", 1, "two", x=3, options=__import__(
                "autobahn.wamp.types", fromlist=["PublishOptions"]).PublishOptions(acknowledge=True))

    run(publish())
    while b"data: " not in received:
        received += sock.recv(4096)
    line = next(l for l in received.split(b"\n") if l.startswith(b"data: "))
    event = json.loads(line[len(b"data: "):])
    assert event["topic"] == "com.tail.one" and event["args"] == [1, "two"], event
    assert event["kwargs"] == {"x": 3} and event["publication"] > 0 and event["time"], event
    # Closing the connection removes the tail's subscription.
    sock.close()
    deadline = time.monotonic() + 5
    while any(s["uri"] == "com.tail" for s in call(router, "GET", "subscriptions?realm=realm1", admin)[1]):
        assert time.monotonic() < deadline, "the tail's subscription stayed"
        time.sleep(0.05)
    status, body, _ = call(router, "GET", "tail?realm=realm1&topic=bad..uri", admin)
    assert status == 400, body


@pytest.mark.parametrize("path,expected", [
    ({"type": "admin"}, "paths.admin.users: required key is missing"),
    ({"type": "admin", "users": [{"user": "a", "password": "p", "role": "root"}]},
     "paths.admin.users[0].role: expected one of admin, viewer"),
    ({"type": "admin", "users": [{"user": "a", "password": "", "role": "admin"}]},
     "paths.admin.users[0].password: a secret must not be empty"),
    ({"type": "admin", "users": [], "x": 1}, "paths.admin.x: unknown key"),
])
def test_check_names_the_json_path(tmp_path, path, expected):
    config = make_config(realms=[realm("realm1", roles=[anonymous_role()])],
                         transports=[web_transport({"ws": ws_path(), "admin": path})])
    (tmp_path / "config.json").write_text(json.dumps(config))
    binary = os.environ.get("JUNCTION_BIN", str(DEFAULT_BIN))
    checked = subprocess.run([binary, "check", "--config", str(tmp_path / "config.json")],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode != 0 and expected in checked.stderr, checked.stderr

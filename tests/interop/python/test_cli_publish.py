"""`junction sign` and `junction publish`, the users' command-line side of the publisher
contract, against a real router with an autobahn subscriber."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess

import pytest

from junction_harness import (
    DEFAULT_BIN,
    Collector,
    Sessions,
    bridge_path,
    make_config,
    run,
    start_router,
    web_transport,
    ws_path,
)

KEY, SECRET = "cli-key", "cli-secret"
BINARY = os.environ.get("JUNCTION_BIN", str(DEFAULT_BIN))


@pytest.fixture(scope="module")
def router(request):
    paths = {
        "ws": ws_path(),
        "push": bridge_path("publisher"),
        "push-signed": bridge_path("publisher", key=KEY, secret=SECRET),
    }
    return start_router(request, make_config(transports=[web_transport(paths)]), name="cli")


def junction(*args, stdin=b""):
    return subprocess.run([BINARY, *args], input=stdin, capture_output=True, timeout=20)


def received(router, topic, action):
    """Runs ``action()`` (in a thread) while subscribed to ``topic``; returns its result and
    the one event that arrived."""

    async def main():
        async with Sessions(router.url(0, "ws")) as s:
            sub = await s.connect("json")
            events = Collector()
            await sub.subscribe(events, topic)
            result = await asyncio.to_thread(action)
            items = await events.wait(1)
            return result, items[0][:2]

    return run(main())


def test_publish_unsigned_and_signed(router):
    base = f"http://127.0.0.1:{router.ports[0]}"
    for path, extra in [("push", []), ("push-signed", ["--key", KEY, "--secret", SECRET])]:
        topic = f"com.example.cli.{path.replace('-', '_')}"
        args = ["publish", "--url", f"{base}/{path}", "--topic", topic, *extra,
                "42", "hello world", '{"a": [1, 2]}', "--kwargs", '{"k": "v"}']
        result, event = received(router, topic, lambda: junction(*args))
        assert result.returncode == 0, result.stderr
        assert int(result.stdout) > 0
        assert event == ([42, "hello world", {"a": [1, 2]}], {"k": "v"})


def test_publish_with_a_wrong_secret_fails(router):
    base = f"http://127.0.0.1:{router.ports[0]}"
    result = junction("publish", "--url", f"{base}/push-signed", "--topic", "com.x",
                      "--key", KEY, "--secret", "wrong")
    assert result.returncode != 0
    assert b"401" in result.stderr and b"invalid signature" in result.stderr


def test_sign_output_works_with_curl(router):
    base = f"http://127.0.0.1:{router.ports[0]}"
    body = b'{"topic": "com.example.cli.curl", "args": ["signed by junction sign"]}\n'
    signed = junction("sign", "--key", KEY, "--secret", SECRET, "--seq", "5", stdin=body)
    assert signed.returncode == 0, signed.stderr
    query = signed.stdout.decode().strip()
    assert "seq=5" in query and f"key={KEY}" in query

    def post(q):
        return subprocess.run(
            ["curl", "-s", "-w", "\n%{http_code}", "-H", "Content-Type: application/json",
             "--data-binary", "@-", f"{base}/push-signed?{q}"],
            input=body, capture_output=True, timeout=10, check=True).stdout.decode()

    out, event = received(router, "com.example.cli.curl", lambda: post(query))
    assert out.endswith("\n202"), out
    assert event == (["signed by junction sign"], {})
    # The same signed request again is a replay.
    again = post(query)
    assert again.endswith("\n401") and "replayed" in json.loads(again.rsplit("\n", 1)[0])["error"]


def test_publish_to_a_stopped_router_says_so():
    """Issue 12 (a newcomer's first hour): no router at the URL gets words that say so, and the
    signed query (signature, nonce) is not printed."""
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/push"
    res = junction("publish", "--url", url, "--topic", "com.example.cli", "--key", KEY,
                   "--secret", SECRET, "x")
    stderr = res.stderr.decode()
    assert res.returncode != 0
    assert f"cannot connect to {url}: is Junction running there?" in stderr, stderr
    assert "signature=" not in stderr and "nonce=" not in stderr, stderr

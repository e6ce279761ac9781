"""The HTTP bridge examples in examples/: the crossbarconnect-style Python
client (imported and run as a CLI) and push.sh (curl + openssl), against a
real router with an autobahn subscriber; and the client's wire format,
checked against a local recording HTTP server."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from junction_harness import (
    MAX_NONCE,
    REPO,
    Collector,
    Sessions,
    bridge_path,
    bridge_signature,
    make_config,
    run,
    start_router,
    web_transport,
    ws_path,
)

EXAMPLES = REPO / "examples"
KEY, SECRET = "foobar", "secret123"
TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def load_example():
    spec = importlib.util.spec_from_file_location(
        "crossbarconnect_publish", EXAMPLES / "crossbarconnect_publish.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example():
    return load_example()


@pytest.fixture(scope="module")
def router(request):
    paths = {
        "ws": ws_path(),
        "push": bridge_path("publisher"),
        "push-signed": bridge_path("publisher", key=KEY, secret=SECRET),
        "push-200": bridge_path("publisher", success_status=200),
    }
    config = make_config(transports=[web_transport(paths)])
    return start_router(request, config, name="http-examples")


def base(router):
    return f"http://127.0.0.1:{router.ports[0]}"


def collect(router, topic, body, n, timeout=5.0):
    """Subscribes to ``topic``, runs ``body()`` in a thread, returns the
    first ``n`` events (and checks no more arrive)."""

    async def main():
        async with Sessions(router.url(0, "ws")) as s:
            sub = await s.connect("json")
            events = Collector()
            await sub.subscribe(events, topic)
            result = await asyncio.to_thread(body)
            items = await events.wait(n, timeout=timeout)
            await asyncio.sleep(0.3)
            assert len(events.items) == n, events.items
            return result, [(a, k) for a, k, _ in items]

    return run(main())


# ---------------------------------------------------------------------------
# crossbarconnect_publish.py against Junction


def test_client_signed_and_unsigned_on_one_connection(router, example):
    topic = "com.example.examples.client"

    def body():
        plain = example.Client(f"{base(router)}/push")
        signed = example.Client(f"{base(router)}/push-signed", key=KEY, secret=SECRET)
        ids, ports = [], {"plain": set(), "signed": set()}
        try:
            for i in range(3):
                ids.append(plain.publish(topic, "plain", i))
                ports["plain"].add(plain._connection.sock.getsockname()[1])
                ids.append(signed.publish(topic, "signed", i, options={}, n=i))
                ports["signed"].add(signed._connection.sock.getsockname()[1])
            ids.append(plain.publish(topic, kw="only"))
            ids.append(signed.publish(topic))
        finally:
            plain.close()
            signed.close()
        return ids, ports

    (ids, ports), events = collect(router, topic, body, 8)
    assert all(isinstance(i, int) and 1 <= i <= MAX_NONCE for i in ids), ids
    assert len(set(ids)) == len(ids), ids
    assert len(ports["plain"]) == 1 and len(ports["signed"]) == 1, \
        f"each client must keep one connection: {ports}"
    expected = []
    for i in range(3):
        expected.append((["plain", i], {}))
        expected.append((["signed", i], {"n": i}))
    expected += [([], {"kw": "only"}), ([], {})]
    assert events == expected


def test_client_rejects_anything_but_202(router, example):
    client = example.Client(f"{base(router)}/push-200")
    try:
        with pytest.raises(example.PublishError) as info:
            client.publish("com.example.examples.status", 1)
        assert info.value.status == 200
    finally:
        client.close()
    client = example.Client(f"{base(router)}/push-signed", key=KEY, secret="wrong")
    try:
        with pytest.raises(example.PublishError) as info:
            client.publish("com.example.examples.status", 1)
        assert info.value.status == 401
    finally:
        client.close()


def test_client_publish_options(router, example):
    topic = "com.example.examples.options"

    def body():
        client = example.Client(f"{base(router)}/push")
        try:
            client.publish(topic, "excluded", options={"exclude_authrole": ["anonymous"]})
            return client.publish(topic, "delivered")
        finally:
            client.close()

    _, events = collect(router, topic, body, 1)
    assert events == [(["delivered"], {})]


def test_cli(router):
    topic = "com.example.examples.cli"

    def body():
        runs = []
        for extra in ([], ["--key", KEY, "--secret", SECRET]):
            url = f"{base(router)}/push-signed" if extra else f"{base(router)}/push"
            runs.append(subprocess.run(
                [sys.executable, str(EXAMPLES / "crossbarconnect_publish.py"), "--url", url, *extra,
                 "--kwargs", '{"k": [1, 2]}', topic, "hello", "23", '"23"', "[true, null]"],
                capture_output=True, text=True, timeout=10))
        bad = subprocess.run(
            [sys.executable, str(EXAMPLES / "crossbarconnect_publish.py"), "--url",
             f"{base(router)}/push-signed", topic, "x"],
            capture_output=True, text=True, timeout=10)
        return runs, bad

    (runs, bad), events = collect(router, topic, body, 2)
    for r in runs:
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert re.fullmatch(r"\d+\n", r.stdout), r.stdout
    assert events == [(["hello", 23, "23", [True, None]], {"k": [1, 2]})] * 2
    # unsigned request to a signed path: 400, reported, exit status 1
    assert bad.returncode == 1 and "400" in bad.stderr, (bad.stdout, bad.stderr)


# ---------------------------------------------------------------------------
# crossbarconnect_publish.py: what goes over the wire


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    requests: list = []
    status = 202

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        Recorder.requests.append({
            "path": self.path, "headers": dict(self.headers.items()), "body": body,
            "client_port": self.client_address[1],
        })
        answer = json.dumps({"id": len(Recorder.requests)}).encode()
        self.send_response(Recorder.status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    Recorder.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_client_wire_format(recorder, example):
    url = f"http://127.0.0.1:{recorder.server_address[1]}/push-signed"
    client = example.Client(url, key=KEY, secret=SECRET)
    try:
        ids = [client.publish("com.myapp.topic1", "Hello, world", options={"exclude_me": False}, n=1),
               client.publish("com.myapp.topic1", "again"),
               client.publish("com.myapp.topic1", n=3)]
    finally:
        client.close()
    assert ids == [1, 2, 3]
    reqs = Recorder.requests
    assert len({r["client_port"] for r in reqs}) == 1, "one kept-alive connection"
    bodies = [r["body"] for r in reqs]
    assert bodies == [
        b'{"topic":"com.myapp.topic1","options":{"exclude_me":false},"args":["Hello, world"],"kwargs":{"n":1}}',
        b'{"topic":"com.myapp.topic1","args":["again"]}',
        b'{"topic":"com.myapp.topic1","kwargs":{"n":3}}',
    ]
    for seq, r in enumerate(reqs, start=1):
        parts = urlsplit(r["path"])
        assert parts.path == "/push-signed"
        q = parse_qsl(parts.query, keep_blank_values=True)
        assert [k for k, _ in q] == ["timestamp", "seq", "key", "nonce", "signature"], q
        q = dict(q)
        assert TIMESTAMP_RE.match(q["timestamp"]), q
        assert q["seq"] == str(seq) and q["key"] == KEY
        assert 0 <= int(q["nonce"]) <= MAX_NONCE
        assert q["signature"] == bridge_signature(SECRET, KEY, q["timestamp"], q["seq"], q["nonce"],
                                                  r["body"])
        headers = {k.lower(): v for k, v in r["headers"].items()}
        assert headers["content-type"] == "application/json"
        assert headers["user-agent"] == "crossbarconnect-python"
        assert "connection" not in headers

    # unsigned: timestamp and seq only
    Recorder.requests = []
    client = example.Client(url.replace("/push-signed", "/push"))
    try:
        client.publish("com.myapp.topic1")
    finally:
        client.close()
    q = parse_qsl(urlsplit(Recorder.requests[0]["path"]).query)
    assert [k for k, _ in q] == ["timestamp", "seq"] and q[1][1] == "1", q


def test_client_signs_the_test_vector(example):
    body = b'{"topic":"com.myapp.topic1","args":["Hello, world"]}'
    assert example.sign("secret123", "foobar", "2011-10-14T16:59:51.123Z", 1, 12345, body) == \
        "_jbcYQRw2XTEWw-fbom5uWM_SWv-tKqQ4U8_fTToO3I="
    assert TIMESTAMP_RE.match(example.utcnow())


# ---------------------------------------------------------------------------
# push.sh


def test_push_sh(router):
    topic = "com.example.examples.shell"

    def body():
        env = dict(os.environ, URL=f"{base(router)}/push", SIGNED_URL=f"{base(router)}/push-signed",
                   KEY=KEY, SECRET=SECRET, TOPIC=topic)
        return subprocess.run(["bash", str(EXAMPLES / "push.sh")], env=env, capture_output=True,
                              text=True, timeout=20)

    result, events = collect(router, topic, body, 2)
    assert result.returncode == 0, (result.stdout, result.stderr)
    lines = result.stdout.split()
    assert len(lines) == 2 and all(re.fullmatch(r'\{"id":\d+\}', line) for line in lines), result.stdout
    assert events == [(["Hello, world"], {}), (["Hello, signed world"], {"from": "push.sh"})]


def test_push_sh_fails_on_a_wrong_secret(router):
    env = dict(os.environ, URL=f"{base(router)}/push", SIGNED_URL=f"{base(router)}/push-signed",
               KEY=KEY, SECRET="wrong", TOPIC="com.example.examples.shell.wrong")
    result = subprocess.run(["bash", str(EXAMPLES / "push.sh")], env=env, capture_output=True,
                            text=True, timeout=20)
    assert result.returncode != 0, (result.stdout, result.stderr)
    assert "signature" in result.stdout.lower() or "401" in result.stderr, (result.stdout, result.stderr)


# ---------------------------------------------------------------------------
# push.php (./test.sh installs php-cli and php-curl)


def test_push_php(router):
    topic = "com.example.examples.php"
    url = f"{base(router)}/push-signed"
    script = str(EXAMPLES / "push.php")

    def body():
        ok = subprocess.run(
            ["php", "-r", f"require {json.dumps(script)}; echo junction_publish({json.dumps(url)}, "
                          f"'{KEY}', '{SECRET}', '{topic}', ['Hello from PHP', 'ü€'], "
                          f"['n' => 1, 'list' => [1, 2]], 7), \"\\n\";"],
            capture_output=True, text=True, timeout=20)
        bad = subprocess.run(
            ["php", "-r", f"require {json.dumps(script)}; junction_publish({json.dumps(url)}, "
                          f"'{KEY}', 'wrong', '{topic}', ['refused']);"],
            capture_output=True, text=True, timeout=20)
        return ok, bad

    (ok, bad), events = collect(router, topic, body, 1)
    assert ok.returncode == 0 and re.fullmatch(r"\d+\n", ok.stdout), (ok.stdout, ok.stderr)
    assert bad.returncode != 0 and "401" in (bad.stdout + bad.stderr), (bad.stdout, bad.stderr)
    assert events == [(["Hello from PHP", "ü€"], {"n": 1, "list": [1, 2]})]


# ---------------------------------------------------------------------------
# The examples as written, against the bundled config.json started as the README says
# (`JUNCTION_PUSH_SECRET=change-me ... start`): only the port differs (the OS picks one).

README_SECRET = "change-me"


@pytest.fixture(scope="module")
def bundled(request):
    config = json.loads((REPO / "config.json").read_text())
    for transport in config["workers"][0]["transports"]:
        transport["endpoint"]["port"] = 0
    return start_router(request, config, env={"JUNCTION_PUSH_SECRET": README_SECRET},
                        name="bundled-examples")


def as_written(router, url: str) -> str:
    """A URL of the examples with the bundled config's port 8080 replaced by the real one."""
    return url.replace("127.0.0.1:8080", f"127.0.0.1:{router.ports[0]}")


def test_examples_as_written_publish_to_the_bundled_config(bundled):
    topic = "com.myapp.topic1"
    env = dict(os.environ, JUNCTION_PUSH_SECRET=README_SECRET,
               URL=as_written(bundled, "http://127.0.0.1:8080/push"),
               SIGNED_URL=as_written(bundled, "http://127.0.0.1:8080/push-signed"),
               JUNCTION_URL=as_written(bundled, "http://127.0.0.1:8080"))
    for name in ("KEY", "SECRET", "TOPIC"):
        env.pop(name, None)
    readme = (EXAMPLES / "README.md").read_text()
    # The signed crossbarconnect command line of examples/README.md, run as written.
    command = re.search(r"python3 crossbarconnect_publish\.py --url (\S+push-signed) \\\n\s+(.+)",
                        readme)
    assert command, "examples/README.md shows a signed crossbarconnect_publish.py command"
    cli_args = subprocess.run(["bash", "-c", f"printf '%s\\n' {command.group(2)}"], env=env,
                              capture_output=True, text=True, check=True).stdout.split("\n")[:-1]

    def body():
        return [
            subprocess.run(["bash", str(EXAMPLES / "push.sh")], env=env, capture_output=True,
                           text=True, timeout=20),
            subprocess.run(["php", str(EXAMPLES / "push.php")], env=env, capture_output=True,
                           text=True, timeout=20),
            subprocess.run([sys.executable, str(EXAMPLES / "crossbarconnect_publish.py"),
                            "--url", as_written(bundled, command.group(1)), *cli_args],
                           env=env, capture_output=True, text=True, timeout=20),
        ]

    results, events = collect(bundled, topic, body, 4)
    for result in results:
        assert result.returncode == 0, (result.args, result.stdout, result.stderr)
    assert len(events) == 4, events

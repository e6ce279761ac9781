"""HTTP callees (issue 18 item 4): procedures Junction registers in a realm and answers with
an HTTP request per invocation, called here by autobahn-python sessions while a real local
HTTP server (http.server in a thread) answers: JSON results, GET with query parameters,
non-2xx statuses as junction.error.http_status with status and body, timeouts (both
on_timeout variants), several megabytes both ways, an unreachable URL, a prefix registration
that passes the called procedure, header secrets that reach the server but never the log, a
caller's call timeout that drops the HTTP request, the concurrency bound, the meta API
showing the registrations, and Crossbar's RESTCallee container component run natively."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallOptions

from junction_harness import QuietHandler, Router, Sessions, anonymous_role, http_request, \
    make_config, realm, run, start_http_server, web_transport, ws_path

TOKEN = "Bearer tok-SECRET-8f3a9"
BIG = 5 * 1024 * 1024


class Backend:
    """A local HTTP server that records each request and answers by path."""

    def __init__(self):
        self.requests: list[dict] = []
        self.dropped = threading.Event()
        self.release = threading.Event()
        backend = self

        class Handler(QuietHandler):
            def serve(self, body):
                url = urlsplit(self.path)
                seen = {"method": self.command, "path": url.path,
                        "query": dict(parse_qsl(url.query)),
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body}
                backend.requests.append(seen)
                path = url.path
                if path == "/echo":
                    self.send(200, {"method": self.command, "query": seen["query"],
                                    "body": json.loads(body) if body else None})
                elif path.startswith("/status/"):
                    code = int(path.rsplit("/", 1)[1])
                    if code == 500:
                        self.send(500, b"boom", "text/plain")
                    else:
                        self.send(code, {"error": "com.example.not_found", "id": 7})
                elif path == "/empty":
                    self.send(204, b"")
                elif path == "/text":
                    self.send(200, b"hello text", "text/plain; charset=utf-8")
                elif path == "/big":
                    self.send(200, b"x" * (2 * 1024 * 1024), "text/plain")
                elif path == "/slow":
                    backend.release.wait(5)
                    self.send(200, {"late": True})
                elif path == "/hold":
                    self.hold()
                else:
                    self.send(200, {"path": path, "query": seen["query"]})

            def hold(self):
                """Waits until the client goes away (then records it) or 10 s."""
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    readable, _, _ = select.select([self.connection], [], [], 0.05)
                    if readable and self.connection.recv(1, socket.MSG_PEEK) == b"":
                        backend.dropped.set()
                        self.close_connection = True
                        return
                self.send(200, {"held": True})

            def send(self, status, body, content_type="application/json"):
                if not isinstance(body, bytes):
                    body = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("X-Request-Id", "r-1")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        # A client that went away (a timeout, a dropped request) is expected here.
        self.server = start_http_server(Handler, quiet_errors=True)
        self.port = self.server.server_address[1]

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def backend():
    b = Backend()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def router(request, backend):
    backend_role = {"name": "backend", "permissions": [
        {"uri": "com.example", "match": "prefix",
         "allow": {"call": True, "register": True, "publish": False, "subscribe": False}}]}
    url = backend.url

    def callee(procedure, path, **extra):
        return dict({"procedure": procedure, "url": url(path), "role": "backend"}, **extra)

    r = realm("realm1", roles=[anonymous_role(), backend_role])
    r["http_callees"] = [
        callee("com.example.echo", "/echo", headers={"Authorization": "$API_TOKEN"}),
        callee("com.example.search", "/echo?fixed=1", method="GET"),
        callee("com.example.kwargs", "/echo", method="PUT", body="kwargs"),
        callee("com.example.args0", "/echo", body="args0"),
        callee("com.example.notfound", "/status/404"),
        callee("com.example.broken", "/status/500"),
        callee("com.example.empty", "/empty"),
        callee("com.example.text", "/text"),
        callee("com.example.big", "/big", max_response_bytes=1024 * 1024),
        callee("com.example.slow", "/slow", timeout=1),
        callee("com.example.slow_canceled", "/slow", timeout=1, on_timeout="canceled"),
        callee("com.example.hold", "/hold", concurrency=1),
        callee("com.example.orders", "/orders", match="prefix"),
        dict(callee("com.example.down", "/"),
             url=f"http://127.0.0.1:{closed_port()}/api?key=hidden-query"),
    ]
    ws = dict(ws_path(), options={"max_message_size": 16 * 1024 * 1024})
    config = make_config(realms=[r], transports=[web_transport({"ws": ws,
                                                                "metrics": {"type": "metrics"}})])
    config["workers"].append({"type": "container", "components": [{
        "type": "class", "classname": "crossbar.bridge.rest.RESTCallee", "realm": "realm1",
        "extra": {"procedure": "com.example.rest", "baseurl": url("/api/v1/")},
        "transport": {"type": "websocket", "url": "ws://127.0.0.1:8080/ws",
                      "endpoint": {"type": "tcp", "host": "127.0.0.1", "port": 8080}}}]})
    # The same bridge among the router worker's own components, as the role it names.
    config["workers"][0]["components"] = [{
        "type": "class", "classname": "crossbar.bridge.rest.RESTCallee", "realm": "realm1",
        "role": "backend",
        "extra": {"procedure": "com.example.rest_in_router", "baseurl": url("/api/v1/")}}]
    router = Router(config, env={"API_TOKEN": TOKEN, "JUNCTION_LOG": "debug"},
                    name="http-callee")
    request.addfinalizer(router.cleanup)
    return router.start()


def call(router, procedure, *args, options=None, **kwargs):
    """Calls `procedure` from a fresh autobahn-python session; the result, or the
    ApplicationError raised."""

    async def main():
        async with Sessions(router.url(0, "ws")) as s:
            session = await s.connect("json")
            try:
                return await session.call(procedure, *args, options=options, **kwargs)
            except ApplicationError as e:
                return e

    return run(main())


def last_request(backend, path):
    return [r for r in backend.requests if r["path"] == path][-1]


def test_a_post_sends_the_payload_and_the_json_answer_is_the_result(router, backend):
    result = call(router, "com.example.echo", 1, "two", flag=True)
    assert result == {"method": "POST", "query": {},
                      "body": {"procedure": "com.example.echo", "args": [1, "two"],
                               "kwargs": {"flag": True}}}
    seen = last_request(backend, "/echo")
    assert seen["headers"]["content-type"] == "application/json"
    assert seen["headers"]["wamp-procedure"] == "com.example.echo"


def test_a_get_sends_kwargs_as_query_parameters(router, backend):
    result = call(router, "com.example.search", q="ä b", limit=5, exact=False)
    assert result == {"method": "GET", "body": None,
                      "query": {"fixed": "1", "q": "ä b", "limit": "5", "exact": "false"}}
    assert last_request(backend, "/echo")["body"] == b""
    e = call(router, "com.example.search", deep={"a": 1})
    assert e.error == "wamp.error.invalid_argument", e
    assert "deep" in e.args[0]


def test_kwargs_and_args0_mappings(router):
    assert call(router, "com.example.kwargs", a=1)["body"] == {"a": 1}
    assert call(router, "com.example.kwargs", a=1)["method"] == "PUT"
    assert call(router, "com.example.args0", [1, {"x": None}])["body"] == [1, {"x": None}]
    e = call(router, "com.example.args0")
    assert e.error == "wamp.error.invalid_argument", e


def test_non_2xx_answers_are_errors_with_status_and_body(router):
    e = call(router, "com.example.notfound")
    assert e.error == "junction.error.http_status", e
    body = {"error": "com.example.not_found", "id": 7}
    assert list(e.args) == [404, body]
    assert e.kwargs == {"status": 404, "body": body}
    e = call(router, "com.example.broken")
    assert (e.error, list(e.args), e.kwargs) == (
        "junction.error.http_status", [500, "boom"], {"status": 500, "body": "boom"})


def test_empty_and_text_answers(router):
    assert call(router, "com.example.empty") is None
    assert call(router, "com.example.text") == "hello text"


def test_timeouts_answer_timeout_or_canceled(router):
    started = time.monotonic()
    e = call(router, "com.example.slow")
    assert e.error == "wamp.error.timeout", e
    assert time.monotonic() - started < 4
    e = call(router, "com.example.slow_canceled")
    assert e.error == "wamp.error.canceled", e


def test_megabytes_both_ways_and_the_response_limit(router):
    text = "€" * (BIG // 3)  # 5 MiB of UTF-8
    result = call(router, "com.example.echo", text)
    assert result["body"]["args"] == [text]
    e = call(router, "com.example.big")
    assert e.error == "junction.error.http_response_too_large", e
    assert "1048576" in e.args[0]


def test_an_unreachable_server_is_an_error_without_the_query(router):
    e = call(router, "com.example.down")
    assert e.error == "junction.error.http_unreachable", e
    assert "127.0.0.1" in e.args[0]
    assert "hidden-query" not in e.args[0]


def test_a_prefix_registration_passes_the_called_procedure(router, backend):
    assert call(router, "com.example.orders.get", 42)["path"] == "/orders"
    seen = last_request(backend, "/orders")
    assert json.loads(seen["body"]) == {"procedure": "com.example.orders.get", "args": [42],
                                        "kwargs": {}}
    assert seen["headers"]["wamp-procedure"] == "com.example.orders.get"


def test_header_secrets_reach_the_server_but_never_the_log(router, backend):
    call(router, "com.example.echo")
    assert last_request(backend, "/echo")["headers"]["authorization"] == TOKEN
    log = router.log()
    assert "http callee: registered" in log
    assert "tok-SECRET" not in log


def test_a_call_timeout_drops_the_http_request(router, backend):
    backend.dropped.clear()
    e = call(router, "com.example.hold", options=CallOptions(timeout=300))
    assert e.error == "wamp.error.timeout", e
    assert backend.dropped.wait(5), "the HTTP request was not dropped"


def test_a_cancel_in_kill_mode_drops_the_http_request(router, backend):
    from autobahn.wamp import message

    async def main():
        async with Sessions(router.url(0, "ws")) as s:
            session = await s.connect("json")
            pending = session.call("com.example.hold")
            await wait_for_request(backend, "/hold")
            # autobahn's own cancel sends no mode (skip): send CANCEL with mode kill.
            (request,) = list(session._call_reqs)
            session._transport.send(message.Cancel(request, mode="kill"))
            try:
                await pending
                raise AssertionError("the call succeeded")
            except ApplicationError as e:
                assert e.error == "wamp.error.canceled", e

    backend.requests.clear()
    backend.dropped.clear()
    run(main())
    assert backend.dropped.wait(5), "the HTTP request was not dropped"


def test_concurrency_bounds_the_calls_in_flight(router, backend):
    async def main():
        async with Sessions(router.url(0, "ws")) as s:
            session = await s.connect("json")
            first = session.call("com.example.hold", options=CallOptions(timeout=1500))
            await wait_for_request(backend, "/hold")
            try:
                await session.call("com.example.hold")
                raise AssertionError("a second call ran beyond concurrency 1")
            except ApplicationError as e:
                assert e.error == "crossbar.error.max_concurrency_reached", e
            with pytest.raises(ApplicationError):
                await first

    backend.requests.clear()
    run(main())


async def wait_for_request(backend, path):
    import asyncio

    for _ in range(200):
        if any(r["path"] == path for r in backend.requests):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no request to {path}")


def test_the_meta_api_shows_the_registrations(router):
    async def main():
        async with Sessions(router.url(0, "ws")) as s:
            session = await s.connect("json")
            exact = await session.call("wamp.registration.lookup", "com.example.echo")
            prefix = await session.call("wamp.registration.lookup", "com.example.orders",
                                        {"match": "prefix"})
            rest = await session.call("wamp.registration.lookup", "com.example.rest")
            return exact, prefix, rest

    for registration in run(main()):
        assert isinstance(registration, int), registration


def test_crossbar_rest_callee_component(router, backend):
    result = call(router, "com.example.rest", method="GET", url="items",
                  params={"page": 2, "tag": ["a", "b"]}, headers={"X-Trace": "t1"})
    assert result["code"] == 200
    assert json.loads(result["content"]) == {"path": "/api/v1/items",
                                             "query": {"page": "2", "tag": "b"}}
    assert result["headers"]["Content-Type"] == ["application/json"]
    assert result["headers"]["X-Request-Id"] == ["r-1"]
    seen = last_request(backend, "/api/v1/items")
    assert seen["headers"]["x-trace"] == "t1"
    # Every status is a result; a body is sent as given.
    result = call(router, "com.example.rest", "POST", "/status/404", body='{"a": 1}')
    assert result["code"] == 404
    assert json.loads(result["content"])["id"] == 7
    assert last_request(backend, "/status/404")["body"] == b'{"a": 1}'
    e = call(router, "com.example.rest", url="x")
    assert e.error == "wamp.error.invalid_argument", e


def test_crossbar_rest_callee_as_a_router_component(router, backend):
    result = call(router, "com.example.rest_in_router", method="GET", url="things",
                  params={"page": 3})
    assert result["code"] == 200, result
    assert json.loads(result["content"]) == {"path": "/api/v1/things", "query": {"page": "3"}}
    assert "RESTCallee" not in router.log(), "listed as not run"


def test_metrics_count_calls_by_outcome(router, backend):
    call(router, "com.example.text")
    call(router, "com.example.notfound")
    call(router, "com.example.hold", options=CallOptions(timeout=300))
    status, text = metrics(router)
    assert status == 200
    assert any(line.startswith("junction_http_callee_calls_total{") and 'outcome="result"' in line
               and 'procedure="com.example.text"' in line for line in text.splitlines()), text
    assert any(line.startswith("junction_http_callee_calls_total{")
               and 'outcome="http_status"' in line and 'procedure="com.example.notfound"' in line
               for line in text.splitlines())
    assert any(line.startswith("junction_http_callee_calls_total{")
               and 'outcome="canceled"' in line and 'procedure="com.example.hold"' in line
               for line in text.splitlines())
    assert "junction_http_callee_duration_seconds_count{" in text


def metrics(router):
    res = http_request("127.0.0.1", router.ports[0], "GET", "/metrics", content_type=None)
    return res.status, res.body.decode()

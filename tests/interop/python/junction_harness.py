"""Helpers for the Junction <-> autobahn-python interop tests.

- ``Router``: starts ``junction start --config <file>`` on port 0, parses the
  real ports from the ``listening on HOST:PORT`` log lines, keeps the log and
  kills the process (by PID) on ``stop()``.
- ``make_config`` / ``anonymous_role`` / ``transport``: build Crossbar-shaped
  configs.
- ``Sessions``: an async context manager that opens autobahn asyncio
  ``ApplicationSession``s over WebSocket with an explicit serializer and
  closes all of them at the end (``_connect`` is the one place that knows the
  transport; test_rawsocket.py overrides it for RawSocket).
- ``run``: runs a coroutine in a fresh event loop with an overall timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

import txaio

txaio.use_asyncio()

from autobahn.asyncio.wamp import ApplicationSession  # noqa: E402
from autobahn.asyncio.websocket import WampWebSocketClientFactory  # noqa: E402
from autobahn.wamp.serializer import JsonSerializer, MsgPackSerializer  # noqa: E402
from autobahn.wamp.types import ComponentConfig  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
DEFAULT_BIN = REPO / "target" / "debug" / "junction"
LISTEN_RE = re.compile(r"listening on ([0-9.]+):(\d+)")
STARTUP_TIMEOUT = 20.0

# Timeouts (seconds) used by the tests.
EVENT_TIMEOUT = 5.0  # something that must arrive
QUIET_TIME = 0.3  # grace period for something that must NOT arrive

# ---------------------------------------------------------------------------
# serializers


SERIALIZERS: dict[str, Callable[[], Any]] = {
    "json": lambda: JsonSerializer(),
    "msgpack": lambda: MsgPackSerializer(),
    "json.batched": lambda: JsonSerializer(batched=True),
    "msgpack.batched": lambda: MsgPackSerializer(batched=True),
}
SERIALIZER_IDS = list(SERIALIZERS)


def make_serializer(name: str):
    return SERIALIZERS[name]()


# ---------------------------------------------------------------------------
# config


def permission(uri="", match="prefix", call=True, register=True, publish=True,
               subscribe=True, disclose_caller=False, disclose_publisher=False):
    return {
        "uri": uri,
        "match": match,
        "allow": {"call": call, "register": register, "publish": publish,
                  "subscribe": subscribe},
        "disclose": {"caller": disclose_caller, "publisher": disclose_publisher},
    }


def anonymous_role(name="anonymous"):
    return {"name": name, "permissions": [permission()]}


def realm(name="realm1", roles=None, options=None):
    r = {"name": name, "roles": roles if roles is not None else [anonymous_role()]}
    if options:
        r["options"] = options
    return r


def transport(serializers=("json", "msgpack"), auth=None, path="ws"):
    ws = {"type": "websocket", "serializers": list(serializers)}
    if auth is not None:
        ws["auth"] = auth
    return {
        "type": "web",
        "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0},
        "paths": {path: ws},
    }


def make_config(realms=None, transports=None):
    return {
        "version": 2,
        "workers": [{
            "type": "router",
            "realms": realms if realms is not None else [realm()],
            "transports": transports if transports is not None else [transport()],
        }],
    }


# ---------------------------------------------------------------------------
# router process


def _die_with_parent():
    """In the child before exec: get SIGKILL if the test process dies, so no
    router outlives a killed pytest (Linux only; harmless elsewhere)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:
        pass


class RouterStartError(Exception):
    pass


class Router:
    """One ``junction start`` process. Use ``start()``/``stop()`` or ``with``."""

    # Routers started while the current test ran (conftest prints their log
    # when the test fails).
    started: list["Router"] = []

    def __init__(self, config: dict, env: dict | None = None, name: str = "junction"):
        self.config = config
        self.extra_env = env or {}
        self.name = name
        self.proc: subprocess.Popen | None = None
        self.ports: list[int] = []
        self.host = "127.0.0.1"
        self._dir = tempfile.TemporaryDirectory(prefix="junction-it-")
        self.config_path = Path(self._dir.name) / "config.json"
        self.log_path = Path(self._dir.name) / "junction.log"
        # How many "listening on HOST:PORT" lines mean started (default: one per TCP
        # transport; fewer when a test holds a listener's port).
        self.expect_listening: int | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> "Router":
        binary = os.environ.get("JUNCTION_BIN", str(DEFAULT_BIN))
        if not Path(binary).exists():
            raise RouterStartError(
                f"Junction binary not found at {binary} (build it with `cargo build` "
                f"or set JUNCTION_BIN)")
        self.config_path.write_text(json.dumps(self.config, indent=2))
        # TCP transports log "listening on HOST:PORT", Unix socket ones "listening on unix:PATH".
        kinds = [t.get("endpoint", {}).get("type") for t in self.config["workers"][0]["transports"]]
        expected = sum(1 for kind in kinds if kind != "unix")
        expected_unix = len(kinds) - expected
        if self.expect_listening is not None:
            expected = self.expect_listening
        env = dict(os.environ)
        env.update(self.extra_env)
        env.setdefault("NO_COLOR", "1")
        self._log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "start", "--config", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self._dir.name,
            preexec_fn=_die_with_parent,
        )
        Router.started.append(self)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            found = self._listening()
            if len(found) >= expected and self.log().count("listening on unix:") >= expected_unix:
                self.ports = [int(p) for _, p in found[:expected]]
                self.host = found[0][0]
                return self
            rc = self.proc.poll()
            if rc is not None:
                raise RouterStartError(
                    f"junction exited early with code {rc}; log:\n{self.log()}")
            if time.monotonic() > deadline:
                log = self.log()
                self.stop()
                raise RouterStartError(
                    f"junction did not log {expected} 'listening on' line(s) within "
                    f"{STARTUP_TIMEOUT}s; log:\n{log}")
            time.sleep(0.05)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        if getattr(self, "_log_file", None) is not None:
            self._log_file.close()
            self._log_file = None

    def cleanup(self):
        self.stop()
        self._dir.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- info --------------------------------------------------------------

    def _listening(self) -> list[tuple[str, str]]:
        """``(host, port)`` of every 'listening on' log line so far."""
        return LISTEN_RE.findall(self.log())

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def url(self, index: int = 0, path: str = "ws") -> str:
        return f"ws://{self.host}:{self.ports[index]}/{path}"


def start_router(request, config, env=None, name="junction", router_cls=None) -> Router:
    """Start a router for a fixture; it is stopped (by PID) at the end of the
    requesting fixture's scope, also when the start fails. ``router_cls``
    (default ``Router``) may be a subclass."""
    router = (router_cls or Router)(config, env=env, name=name)
    request.addfinalizer(router.cleanup)
    router.start()
    return router


# ---------------------------------------------------------------------------
# client sessions


class Aborted(Exception):
    """The router answered HELLO (or AUTHENTICATE) with ABORT."""

    def __init__(self, reason, message):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


class ConnectFailed(Exception):
    pass


class Client(ApplicationSession):
    """ApplicationSession that exposes join/leave/disconnect as futures."""

    def __init__(self, config, realm_name, authmethods=None, authid=None,
                 authextra=None, on_challenge=None, raw_in=None):
        super().__init__(config)
        self.raw_in: list = raw_in if raw_in is not None else []
        self._join_realm = realm_name
        self._join_authmethods = authmethods
        self._join_authid = authid
        self._join_authextra = authextra
        self._on_challenge = on_challenge
        loop = asyncio.get_running_loop()
        self.joined: asyncio.Future = loop.create_future()
        self.left: asyncio.Future = loop.create_future()
        self.disconnected: asyncio.Future = loop.create_future()
        self.challenges: list = []
        self.challenge_error: BaseException | None = None
        self.details = None
        self.serializer_name = None

    def onConnect(self):
        self.join(self._join_realm, authmethods=self._join_authmethods,
                  authid=self._join_authid, authextra=self._join_authextra)

    def onChallenge(self, challenge):
        self.challenges.append(challenge)
        try:
            if self._on_challenge is None:
                raise AssertionError(
                    f"unexpected CHALLENGE {challenge.method} {challenge.extra!r}")
            return self._on_challenge(challenge)
        except BaseException as e:
            # autobahn would turn this into an ABORT of its own; keep the
            # original (usually a failed assertion on the CHALLENGE) for the test
            self.challenge_error = e
            raise

    def onJoin(self, details):
        self.details = details
        if not self.joined.done():
            self.joined.set_result(details)

    def onLeave(self, details):
        if not self.left.done():
            self.left.set_result(details)
        return super().onLeave(details)

    def onDisconnect(self):
        if not self.disconnected.done():
            self.disconnected.set_result(True)
        return super().onDisconnect()

    # -- helpers -----------------------------------------------------------

    def drop_tcp(self):
        """Abort the TCP connection without a WebSocket close or GOODBYE."""
        proto = self._transport
        proto.transport.abort()


class Sessions:
    """Opens sessions against one router URL and closes them all at exit."""

    def __init__(self, url: str, ssl_context: ssl.SSLContext | None = None):
        """``ssl_context``: for ``wss://`` URLs (TLS endpoints)."""
        self.url = url
        self.ssl_context = ssl_context
        self.clients: list[Client] = []
        self._protos = []

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close_all()

    async def _open(self, serializer, realm_name, **kw):
        holder: list[Client] = []

        def create():
            c = Client(ComponentConfig(realm_name), realm_name, **kw)
            c.serializer_name = serializer
            holder.append(c)
            self.clients.append(c)
            return c

        ser = make_serializer(serializer)
        raw_in: list = []
        inner = ser._serializer
        orig_unserialize = inner.unserialize

        def recording_unserialize(payload, *a, **k):
            try:
                msgs = orig_unserialize(payload, *a, **k)
            except Exception as e:
                raw_in.append(("UNDECODABLE", f"{type(e).__name__}: {e}", bytes(payload[:2000])))
                raise
            raw_in.extend(msgs)
            return msgs

        # keep every message as the router sent it (decoded, before autobahn
        # parses it) so tests can check raw details and failures can show them
        inner.unserialize = recording_unserialize
        kw = dict(kw)
        kw["raw_in"] = raw_in
        proto = await self._connect(create, ser)
        self._protos.append(proto)
        return holder, proto

    async def _connect(self, create, ser):
        """Opens the connection for one session (WebSocket to ``url``; other transports
        override this) and returns the protocol instance."""
        loop = asyncio.get_running_loop()
        factory = WampWebSocketClientFactory(create, url=self.url, serializers=[ser])
        parsed = urlparse(self.url)
        _, proto = await asyncio.wait_for(
            loop.create_connection(factory, parsed.hostname, parsed.port, ssl=self.ssl_context),
            EVENT_TIMEOUT)
        return proto

    async def connect_raw(self, serializer="json", realm="realm1", **kw):
        """Connect and wait until WELCOME or ABORT (or the connection closes).

        Returns ``(client, welcome_details_or_None, close_details_or_None)``.
        """
        holder, proto = await self._open(serializer, realm, **kw)
        deadline = asyncio.get_running_loop().time() + EVENT_TIMEOUT
        # The session object only exists once the WebSocket opening handshake
        # is done.
        while not holder:
            if proto.is_closed.done():
                raise ConnectFailed(
                    f"WebSocket connection to {self.url} with serializer {serializer} "
                    f"closed before the opening handshake completed "
                    f"(reason: {getattr(proto, 'wasNotCleanReason', None)})")
            if asyncio.get_running_loop().time() > deadline:
                raise ConnectFailed("timeout waiting for the WebSocket handshake")
            await asyncio.sleep(0.01)
        client = holder[0]
        done, _ = await asyncio.wait(
            [client.joined, client.left, asyncio.ensure_future(proto.is_closed)],
            timeout=max(0.1, deadline - asyncio.get_running_loop().time()),
            return_when=asyncio.FIRST_COMPLETED)
        if client.challenge_error is not None:
            raise client.challenge_error
        if client.joined.done():
            return client, client.joined.result(), None
        if client.left.done():
            return client, None, client.left.result()
        if done:
            raise ConnectFailed(
                f"connection closed without WELCOME or ABORT "
                f"(reason: {getattr(proto, 'wasNotCleanReason', None)}); "
                f"router sent: {client.raw_in!r}")
        raise ConnectFailed(f"timeout waiting for WELCOME/ABORT; router sent: {client.raw_in!r}")

    async def connect(self, serializer="json", realm="realm1", **kw) -> Client:
        """Connect and join; raise ``Aborted`` if the router sends ABORT."""
        client, details, close = await self.connect_raw(serializer, realm, **kw)
        if details is None:
            raise Aborted(close.reason, f"{close.message} (router sent: {client.raw_in!r})")
        return client

    async def expect_abort(self, serializer="json", realm="realm1", **kw):
        """Connect and expect ABORT; return its CloseDetails."""
        client, details, close = await self.connect_raw(serializer, realm, **kw)
        if details is not None:
            raise AssertionError(
                f"expected ABORT but got WELCOME: authid={details.authid} "
                f"authrole={details.authrole} authmethod={details.authmethod}")
        aborts = [m for m in client.raw_in if m and m[0] == 3]
        assert aborts, (f"session closed ({close.reason}) but the router sent no ABORT; "
                        f"router sent: {client.raw_in!r}")
        assert len(aborts[0]) == 3 and isinstance(aborts[0][1], dict), f"malformed ABORT {aborts[0]!r}"
        assert aborts[0][2] == close.reason
        return close

    async def close(self, client: Client):
        if client.is_attached():
            try:
                client.leave()
            except Exception:
                pass
            try:
                await asyncio.wait_for(asyncio.shield(client.disconnected), 2.0)
            except asyncio.TimeoutError:
                pass
        if not client.disconnected.done() and client._transport is not None:
            try:
                client._transport.transport.abort()
            except Exception:
                pass

    async def close_all(self):
        for c in list(self.clients):
            await self.close(c)
        for p in self._protos:
            t = getattr(p, "transport", None)
            if t is not None:
                t.abort()
        # let the loop process the closes
        await asyncio.sleep(0)


# ---------------------------------------------------------------------------
# misc


def run(coro, timeout: float = 30.0):
    """Run ``coro`` in a fresh event loop with an overall timeout."""

    async def main():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


class Collector:
    """Collects calls of an event/invocation handler.

    Each item is ``(args_list, kwargs_dict, details)``; ``wait(n)`` waits until
    at least n items arrived and fails the test otherwise.
    """

    def __init__(self, result=None):
        self.items: list = []
        self.result = result

    def __call__(self, *args, **kwargs):
        details = kwargs.pop("details", None)
        self.items.append((list(args), kwargs, details))
        return self.result

    async def wait(self, n: int = 1, timeout: float = EVENT_TIMEOUT, what: str = "event"):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.items) < n:
            if loop.time() > deadline:
                raise AssertionError(
                    f"expected {n} {what}(s) within {timeout}s, got {len(self.items)}: "
                    f"{self.items!r}")
            await asyncio.sleep(0.005)
        return self.items


@contextlib.contextmanager
def no_client_uri_check():
    """autobahn checks publish/call URIs itself before sending; switch that
    off (synchronously, around the publish()/call() that builds the message)
    so the router's own URI check can be tested."""
    import autobahn.wamp.message as wamp_message

    orig = wamp_message.check_or_raise_uri
    wamp_message.check_or_raise_uri = lambda value, *a, **k: value
    try:
        yield
    finally:
        wamp_message.check_or_raise_uri = orig


async def quiet():
    await asyncio.sleep(QUIET_TIME)


# ---------------------------------------------------------------------------
# HTTP bridge (publisher / caller / webhook paths)
#
# Added for the test_http_*.py suites; nothing above depends on it.

import base64  # noqa: E402
import hashlib  # noqa: E402
import hmac as _hmac  # noqa: E402
import http.client  # noqa: E402
import random  # noqa: E402
import ssl  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

MAX_NONCE = 2**53
JSON_UTF8 = "application/json; charset=utf-8"
NO_CACHE = "no-store,no-cache,must-revalidate,max-age=0"
HTTP_TIMEOUT = 5.0


def web_transport(paths: dict, interface="127.0.0.1", options=None, tls=None) -> dict:
    """A Crossbar ``web`` transport with the given path table; ``tls`` is
    ``{"certificate": pem_path, "key": pem_path}``."""
    endpoint = {"type": "tcp", "interface": interface, "port": 0}
    if tls is not None:
        endpoint["tls"] = tls
    t = {"type": "web", "endpoint": endpoint, "paths": paths}
    if options is not None:
        t["options"] = options
    return t


def ws_path(serializers=("json", "msgpack")) -> dict:
    return {"type": "websocket", "serializers": list(serializers)}


def bridge_path(kind: str, realm="realm1", role="anonymous", **options) -> dict:
    """``{"type": kind, "realm", "role", "options": {...}}`` (options left out
    when none are given)."""
    p = {"type": kind, "realm": realm, "role": role}
    if options:
        p["options"] = options
    return p


# -- signing (Crossbar's HTTP bridge contract) --------------------------------


def bridge_timestamp(when: datetime | None = None) -> str:
    """UTC, 3 fractional digits, ``Z``: ``2011-10-14T16:59:51.123Z``."""
    when = when or datetime.now(timezone.utc)
    when = when.astimezone(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def bridge_signature(secret: str, key: str, timestamp: str, seq, nonce, body: bytes) -> str:
    """base64url(HMAC-SHA256(secret, key + timestamp + seq + nonce + body)), padded."""
    mac = _hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)
    for part in (key, timestamp, str(seq), str(nonce)):
        mac.update(part.encode("utf-8"))
    mac.update(body)
    return base64.urlsafe_b64encode(mac.digest()).decode("ascii")


def signed_query(key: str, secret: str, body: bytes, seq=1, nonce=None,
                 timestamp: str | None = None) -> dict:
    """The query arguments of a signed request (insertion order as
    crossbarconnect: timestamp, seq, key, nonce, signature)."""
    timestamp = timestamp if timestamp is not None else bridge_timestamp()
    nonce = nonce if nonce is not None else random.randint(0, MAX_NONCE)
    return {
        "timestamp": timestamp,
        "seq": str(seq),
        "key": key,
        "nonce": str(nonce),
        "signature": bridge_signature(secret, key, timestamp, seq, nonce, body),
    }


def compact_json(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# -- requests ------------------------------------------------------------------


@dataclass
class HttpResult:
    status: int
    headers: Any  # http.client.HTTPMessage
    body: bytes
    elapsed: float

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except Exception as e:
            raise AssertionError(
                f"response body is not JSON ({e}): status {self.status}, body {self.body!r}")

    def __repr__(self):
        return (f"HttpResult(status={self.status}, headers={dict(self.headers.items())!r}, "
                f"body={self.body[:500]!r})")


def http_connection(host: str, port: int, tls_context: ssl.SSLContext | None = None,
                    timeout: float = HTTP_TIMEOUT) -> http.client.HTTPConnection:
    if tls_context is not None:
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=tls_context)
    return http.client.HTTPConnection(host, port, timeout=timeout)


def http_request(host: str, port: int, method: str, path: str, body=None,
                 headers: dict | None = None, query=None, json_body=None,
                 content_type: str | None = "application/json",
                 tls_context: ssl.SSLContext | None = None,
                 conn: http.client.HTTPConnection | None = None,
                 timeout: float = HTTP_TIMEOUT) -> HttpResult:
    """One request; on a fresh connection (closed afterwards) unless ``conn``
    is given. ``json_body`` is sent as compact JSON; ``query`` (dict or list of
    pairs) is URL-encoded onto ``path``; ``content_type=None`` sends none."""
    if json_body is not None:
        body = compact_json(json_body)
    if isinstance(body, str):
        body = body.encode("utf-8")
    hdrs = {}
    if content_type is not None:
        hdrs["Content-Type"] = content_type
    hdrs.update(headers or {})
    target = path if path.startswith("/") else "/" + path
    if query:
        target += "?" + urlencode(query)
    own = conn is None
    c = conn or http_connection(host, port, tls_context, timeout)
    start = time.monotonic()
    try:
        c.request(method, target, body=body, headers=hdrs)
        res = c.getresponse()
        data = res.read()
        return HttpResult(res.status, res.headers, data, time.monotonic() - start)
    finally:
        if own:
            c.close()


async def ahttp_request(*args, **kwargs) -> HttpResult:
    """``http_request`` in a thread, for use inside an event loop that must
    keep serving WAMP sessions meanwhile."""
    return await asyncio.to_thread(http_request, *args, **kwargs)


# -- response checks -----------------------------------------------------------


def check_bridge_headers(res: HttpResult, origin: str | None = None, json_type: bool = True):
    """The headers every bridge response carries: JSON content type (unless
    ``json_type`` is False), no caching, CORS."""
    if json_type:
        ct = res.header("Content-Type")
        assert ct is not None and ct.lower().replace(" ", "") == JSON_UTF8.replace(" ", ""), \
            f"Content-Type {ct!r}, expected {JSON_UTF8!r}: {res!r}"
        assert res.header("Cache-Control") == NO_CACHE, f"Cache-Control: {res!r}"
    assert res.header("Access-Control-Allow-Origin") == (origin or "*"), \
        f"Access-Control-Allow-Origin, expected {origin or '*'!r}: {res!r}"
    assert res.header("Access-Control-Allow-Credentials") == "true", \
        f"Access-Control-Allow-Credentials: {res!r}"


def assert_published(res: HttpResult, status: int = 202) -> int:
    """A successful publish: ``status`` and ``{"id": <publication id>}``."""
    assert res.status == status, f"expected {status}, got {res!r}"
    check_bridge_headers(res)
    body = res.json()
    assert isinstance(body, dict) and set(body) == {"id"}, f"success body: {body!r}"
    pid = body["id"]
    assert isinstance(pid, int) and not isinstance(pid, bool) and 1 <= pid <= MAX_NONCE, body
    return pid


# ---------------------------------------------------------------------------
# local HTTP servers the router talks to (poller upstreams, HTTP subscriber receivers, HTTP
# callee backends)

import threading  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers every method with ``serve(body)``,
    the request body read first."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self):
        self.serve(self.read_body())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def serve(self, body: bytes):
        raise NotImplementedError


def start_http_server(handler: type[QuietHandler], quiet_errors=False) -> ThreadingHTTPServer:
    """``handler`` serving on 127.0.0.1 (a free port: ``server.server_address[1]``) from a
    daemon thread; with ``quiet_errors``, a client that went away is not reported."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if quiet_errors:
        server.handle_error = lambda *args: None
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    return server

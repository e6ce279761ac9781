"""WAMP over RawSocket with autobahn-python's asyncio RawSocket client.

- TCP with json, msgpack and cbor: PubSub and RPC across a WebSocket client and
  a RawSocket client, both ways
- a Unix socket endpoint
- TLS (certificate from trustme)
- a ``universal`` port serving RawSocket, WebSocket and an HTTP publisher path
- ticket and cryptosign logins over RawSocket
- a serializer not enabled on the transport is refused in the handshake
"""

from __future__ import annotations

import asyncio
import os
import ssl

import pytest
import trustme
from autobahn.asyncio.rawsocket import WampRawSocketClientFactory
from autobahn.wamp.cryptosign import CryptosignKey
from autobahn.wamp.serializer import CBORSerializer
from autobahn.wamp.types import PublishOptions

import junction_harness
from junction_harness import (
    EVENT_TIMEOUT,
    Collector,
    ConnectFailed,
    Sessions,
    ahttp_request,
    anonymous_role,
    assert_published,
    make_config,
    realm,
    run,
    start_router,
)

SERIALIZERS = ["json", "msgpack", "cbor"]
TICKET = "rawsocket-ticket-5c1e"
KEY = CryptosignKey.from_bytes(os.urandom(32))


@pytest.fixture(autouse=True)
def cbor_in_harness(monkeypatch):
    """The harness knows json and msgpack; RawSocket sessions use cbor too."""
    monkeypatch.setitem(junction_harness.SERIALIZERS, "cbor", lambda: CBORSerializer())


class RawSessions(Sessions):
    """Sessions over RawSocket: TCP to ``host``:``port`` (TLS with ``tls``), or the Unix
    socket at ``path``."""

    def __init__(self, host="127.0.0.1", port=None, path=None, tls: ssl.SSLContext | None = None):
        super().__init__(f"rs+unix://{path}" if path else f"rs://{host}:{port}")
        self.host, self.port, self.path, self.tls = host, port, path, tls

    async def _connect(self, create, ser):
        loop = asyncio.get_running_loop()
        factory = WampRawSocketClientFactory(create, serializer=ser)
        if self.path:
            opening = loop.create_unix_connection(factory, str(self.path))
        else:
            opening = loop.create_connection(
                factory, self.host, self.port, ssl=self.tls,
                server_hostname="localhost" if self.tls else None)
        _, proto = await asyncio.wait_for(opening, EVENT_TIMEOUT)
        return proto


def rawsocket_transport(serializers=("json", "msgpack", "cbor"), auth=None, tls=None):
    endpoint = {"type": "tcp", "interface": "127.0.0.1", "port": 0}
    if tls:
        endpoint["tls"] = tls
    t = {"type": "rawsocket", "endpoint": endpoint, "serializers": list(serializers)}
    if auth is not None:
        t["auth"] = auth
    return t


def ws_transport():
    return {
        "type": "web",
        "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0},
        "paths": {"ws": {"type": "websocket", "serializers": ["json", "msgpack", "cbor"]}},
    }


@pytest.fixture(scope="module")
def router(request):
    """0: RawSocket (all serializers), 1: WebSocket at /ws, 2: RawSocket with json only."""
    config = make_config(transports=[
        rawsocket_transport(), ws_transport(), rawsocket_transport(serializers=["json"])])
    return start_router(request, config, name="rawsocket")


async def pubsub_and_rpc(a, b):
    """Events and calls from ``a`` to ``b`` and back."""
    for sender, receiver, n in ((a, b, 1), (b, a, 2)):
        topic, procedure = f"com.example.topic{n}", f"com.example.add{n}"
        events = Collector()
        await receiver.subscribe(events, topic)
        await receiver.register(lambda x, y: x + y, procedure)
        await sender.publish(topic, "hello", n, options=PublishOptions(acknowledge=True))
        (args, _, _), = await events.wait(1)
        assert args == ["hello", n]
        assert await sender.call(procedure, 2, n) == 2 + n


@pytest.mark.parametrize("ser", SERIALIZERS)
def test_pubsub_and_rpc_between_websocket_and_rawsocket(router, ser):
    async def main():
        async with RawSessions(port=router.ports[0]) as rs, Sessions(router.url(1)) as ws:
            raw = await rs.connect(ser)
            assert raw.details.realm == "realm1"
            web = await ws.connect(ser)
            await pubsub_and_rpc(raw, web)
            # The session meta API tells which transport a session came by.
            details = await web.call("wamp.session.get", raw._session_id)
            assert details["transport"]["type"] == "rawsocket"
            assert details["transport"]["protocol"] == f"wamp.2.{ser}"
            assert details["transport"]["peer"].startswith("tcp4:127.0.0.1:")
            details = await raw.call("wamp.session.get", web._session_id)
            assert details["transport"]["type"] == "websocket"
    run(main())


def test_two_rawsocket_sessions_with_different_serializers(router):
    async def main():
        async with RawSessions(port=router.ports[0]) as rs:
            await pubsub_and_rpc(await rs.connect("cbor"), await rs.connect("json"))
    run(main())


def test_serializer_not_enabled_is_refused(router):
    async def main():
        async with RawSessions(port=router.ports[2]) as rs:
            for ser in ("msgpack", "cbor"):
                with pytest.raises(ConnectFailed):
                    await rs.connect(ser)
            await rs.connect("json")
    run(main())
    assert "serializer 2 is not served on this transport" in router.log()


def test_unix_socket(request, tmp_path):
    path = tmp_path / "junction.sock"
    config = make_config(transports=[
        {"type": "rawsocket", "endpoint": {"type": "unix", "path": str(path)}},
        ws_transport()])
    r = start_router(request, config, name="unix")
    assert f"listening on unix:{path}" in r.log()

    async def main():
        async with RawSessions(path=path) as rs, Sessions(r.url(0)) as ws:
            await pubsub_and_rpc(await rs.connect("msgpack"), await ws.connect("json"))
    run(main())


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    key_path.write_bytes(cert.private_key_pem.bytes())
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca.configure_trust(client)
    return {"certificate": str(cert_path), "key": str(key_path)}, client


def test_tls(request, tls_files):
    tls, client_context = tls_files
    config = make_config(transports=[rawsocket_transport(tls=tls), ws_transport()])
    r = start_router(request, config, name="tls")

    async def main():
        async with RawSessions(port=r.ports[0], tls=client_context) as rs, \
                Sessions(r.url(1)) as ws:
            raw = await rs.connect("cbor")
            assert raw._transport.transport.get_extra_info("ssl_object") is not None
            await pubsub_and_rpc(raw, await ws.connect("json"))
        # Without TLS the handshake goes nowhere.
        async with RawSessions(port=r.ports[0]) as rs:
            with pytest.raises((ConnectFailed, asyncio.TimeoutError)):
                await rs.connect("json")
    run(main())


def universal_transport(tls=None):
    endpoint = {"type": "tcp", "interface": "127.0.0.1", "port": 0}
    if tls:
        endpoint["tls"] = tls
    return {
        "type": "universal",
        "endpoint": endpoint,
        "rawsocket": {"serializers": ["json", "cbor"]},
        "websocket": {"ws": {"type": "websocket", "serializers": ["json", "msgpack"]}},
        "web": {"paths": {"push": {"type": "publisher", "realm": "realm1", "role": "anonymous"}}},
    }


def test_universal_port(request):
    r = start_router(request, make_config(transports=[universal_transport()]), name="universal")
    port = r.ports[0]

    async def main():
        async with RawSessions(port=port) as rs, Sessions(r.url(0)) as ws:
            raw = await rs.connect("cbor")
            web = await ws.connect("msgpack")
            await pubsub_and_rpc(raw, web)
            events = Collector()
            await raw.subscribe(events, "com.example.pushed")
            res = await ahttp_request(r.host, port, "POST", "/push",
                                      json_body={"topic": "com.example.pushed", "args": ["via http"]})
            assert_published(res)
            (args, _, _), = await events.wait(1)
            assert args == ["via http"]
    run(main())


def test_universal_port_over_tls(request, tls_files):
    tls, client_context = tls_files
    r = start_router(request, make_config(transports=[universal_transport(tls)]),
                     name="universal-tls")
    port = r.ports[0]

    async def main():
        async with RawSessions(port=port, tls=client_context) as rs:
            raw = await rs.connect("json")
            events = Collector()
            await raw.subscribe(events, "com.example.pushed")
            res = await ahttp_request(r.host, port, "POST", "/push", tls_context=client_context,
                                      json_body={"topic": "com.example.pushed", "args": [1]})
            assert_published(res)
            await events.wait(1)
    run(main())


@pytest.fixture(scope="module")
def auth_router(request):
    auth = {
        "ticket": {"type": "static", "principals": {"joe": {"ticket": TICKET, "role": "backend"}}},
        "cryptosign": {"type": "static", "principals": {
            "device": {"role": "backend", "authorized_keys": [KEY.public_key()]}}},
    }
    roles = [anonymous_role(), anonymous_role("backend")]
    config = make_config(realms=[realm("realm1", roles=roles)],
                         transports=[rawsocket_transport(auth=auth)])
    return start_router(request, config, name="rawsocket-auth")


@pytest.mark.parametrize("ser", SERIALIZERS)
def test_ticket_login(auth_router, ser):
    def ticket(value):
        def on_challenge(challenge):
            assert challenge.method == "ticket"
            return value
        return on_challenge

    async def main():
        async with RawSessions(port=auth_router.ports[0]) as rs:
            c = await rs.connect(ser, authmethods=["ticket"], authid="joe",
                                 on_challenge=ticket(TICKET))
            assert (c.details.authid, c.details.authrole, c.details.authmethod) == \
                ("joe", "backend", "ticket")
            close = await rs.expect_abort(ser, authmethods=["ticket"], authid="joe",
                                          on_challenge=ticket("wrong"))
            assert close.reason == "wamp.error.not_authorized"
            close = await rs.expect_abort(ser)
            assert close.reason == "wamp.error.no_auth_method"
    run(main())


@pytest.mark.parametrize("ser", SERIALIZERS)
def test_cryptosign_login(auth_router, ser):
    async def main():
        async with RawSessions(port=auth_router.ports[0]) as rs:
            c = await rs.connect(ser, authmethods=["cryptosign"],
                                 authextra={"pubkey": KEY.public_key()},
                                 on_challenge=KEY.sign_challenge)
            assert (c.details.authid, c.details.authrole, c.details.authmethod) == \
                ("device", "backend", "cryptosign")
            await c.register(lambda: c.details.authid, "com.example.whoami")
            assert await c.call("com.example.whoami") == "device"
    run(main())

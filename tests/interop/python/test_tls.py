"""WAMP over TLS (wss://) with autobahn-python: a TLS endpoint serves WebSocket sessions with
every serializer, a client that does not trust the certificate cannot connect, and plain
WebSocket on the TLS port fails."""

from __future__ import annotations

import asyncio
import ssl
import subprocess

import pytest
import trustme

from junction_harness import (
    SERIALIZER_IDS,
    Collector,
    ConnectFailed,
    RouterStartError,
    Sessions,
    make_config,
    realm,
    run,
    start_router,
    web_transport,
    ws_path,
)


@pytest.fixture(scope="module")
def tls_ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def router(request, tls_ca, tmp_path_factory):
    certdir = tmp_path_factory.mktemp("tls")
    server_cert = tls_ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path = certdir / "cert.pem", certdir / "key.pem"
    server_cert.cert_chain_pems[0].write_to_path(cert_path)
    server_cert.private_key_pem.write_to_path(key_path)
    tls = {"certificate": str(cert_path), "key": str(key_path)}
    transports = [web_transport({"ws": ws_path(("json", "msgpack", "cbor"))}, tls=tls)]
    return start_router(request, make_config(realms=[realm()], transports=transports), name="tls")


@pytest.fixture(scope="module")
def trusting(tls_ca):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    tls_ca.configure_trust(ctx)
    return ctx


def wss(router) -> str:
    return router.url().replace("ws://", "wss://", 1)


@pytest.mark.parametrize("ser", SERIALIZER_IDS)
def test_pubsub_and_rpc_over_wss(router, trusting, ser):
    async def main():
        async with Sessions(wss(router), ssl_context=trusting) as s:
            subscriber = await s.connect(ser)
            peer = await s.connect("json")
            events = Collector()
            await subscriber.subscribe(events, "com.example.tls")
            await peer.register(lambda x: x + 1, "com.example.tls.inc")
            peer.publish("com.example.tls", b"\x00\x01bytes")
            [(args, _, _)] = await events.wait(1)
            assert args == [b"\x00\x01bytes"]
            assert await subscriber.call("com.example.tls.inc", 41) == 42
    run(main())


def test_an_untrusted_certificate_is_refused(router):
    async def main():
        untrusting = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        async with Sessions(wss(router), ssl_context=untrusting) as s:
            with pytest.raises(ssl.SSLCertVerificationError):
                await s.connect("json")
    run(main())


def test_plain_websocket_on_the_tls_port_fails(router):
    async def main():
        async with Sessions(router.url()) as s:
            with pytest.raises((ConnectFailed, ConnectionError, asyncio.TimeoutError)):
                await s.connect("json")
    run(main())


def test_chain_certificates_dhparam_and_ciphers_of_a_crossbar_tls_endpoint(request, tls_ca, tmp_path):
    """Crossbar's TLS keys: the leaf alone in `certificate`, its intermediate CA in
    `chain_certificates` (sent to the client, which trusts only the root); `dhparam` and
    `ciphers` are accepted and listed as having no effect (rustls offers only ECDHE, AEAD
    suites)."""
    intermediate = tls_ca.create_child_ca()
    server_cert = intermediate.issue_cert("127.0.0.1", "localhost")
    leaf, chain = server_cert.cert_chain_pems[0], server_cert.cert_chain_pems[1]
    leaf.write_to_path(tmp_path / "leaf.pem")
    chain.write_to_path(tmp_path / "intermediate.pem")
    server_cert.private_key_pem.write_to_path(tmp_path / "key.pem")
    (tmp_path / "dhparam.pem").write_text("not read\n")
    tls = {
        "certificate": str(tmp_path / "leaf.pem"),
        "key": str(tmp_path / "key.pem"),
        "chain_certificates": [str(tmp_path / "intermediate.pem")],
        "dhparam": str(tmp_path / "dhparam.pem"),
        "ciphers": "ECDH+AESGCM:DH+AESGCM:!aNULL",
    }
    transports = [web_transport({"ws": ws_path(("json",))}, tls=tls)]
    config = make_config(realms=[realm()], transports=transports)
    router = start_router(request, config, name="tls-chain")
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    tls_ca.configure_trust(ctx)

    async def main():
        async with Sessions(wss(router), ssl_context=ctx) as s:
            session = await s.connect("json")
            assert session.session_id
    run(main())


def test_an_x509_v1_certificate_as_crossbar_examples_ship_is_served(request, tmp_path):
    """Old self-signed test certificates (X.509 version 1, as `openssl x509 -req` without
    extensions makes and several Crossbar examples ship) are served as OpenSSL serves them; a
    key that does not match its certificate is still refused at start."""
    key, csr, cert = tmp_path / "key.pem", tmp_path / "req.csr", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(csr), "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-signkey", str(key), "-days", "3650",
                    "-out", str(cert)], check=True, capture_output=True)
    text = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-text"], check=True,
                          capture_output=True, text=True).stdout
    assert "Version: 1 (0x0)" in text, text
    tls = {"certificate": str(cert), "key": str(key)}
    config = make_config(realms=[realm()], transports=[web_transport({"ws": ws_path(("json",))}, tls=tls)])
    router = start_router(request, config, name="tls-v1")
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ctx.load_verify_locations(cafile=str(cert))
    ctx.check_hostname = False  # a version 1 certificate has no subjectAltName; the chain is still verified

    async def main():
        async with Sessions(wss(router), ssl_context=ctx) as s:
            session = await s.connect("json")
            assert session.session_id
    run(main())

    other_key = tmp_path / "other.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(other_key), "2048"], check=True, capture_output=True)
    mismatched = make_config(realms=[realm()], transports=[web_transport(
        {"ws": ws_path(("json",))}, tls={"certificate": str(cert), "key": str(other_key)})])
    with pytest.raises(RouterStartError) as refused:
        start_router(request, mismatched, name="tls-v1-mismatch")
    assert "do not match" in str(refused.value), refused.value

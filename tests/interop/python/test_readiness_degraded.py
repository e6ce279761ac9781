"""Readiness while degraded (issue 17 item 2), with real processes on real ports.

- The store is locked by another process: a second Junction on the same embedded store file
  starts anyway and serves WAMP (the realm works like one on a memory store), its `/ready`
  answers 503 naming `store:<realm>` and the lock, and once the first Junction stops it opens
  the store in the background, turns ready, and retained events reach the store again.
- A listener cannot bind (its port is held by another socket): the other listeners serve,
  `/ready` answers 503 naming the endpoint that is down, `/health` answers 200, and the
  listener binds once the port is free. When no listener binds, `junction start` fails.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

from autobahn.wamp.types import PublishOptions, SubscribeOptions

from junction_harness import (
    DEFAULT_BIN,
    Collector,
    Router,
    Sessions,
    anonymous_role,
    http_request,
    make_config,
    run,
    start_router,
    web_transport,
    ws_path,
)

READY_WITHIN = 15.0  # seconds for a background retry to notice a freed store or port


def ops_paths():
    return {"ws": ws_path(), "health": {"type": "health"}, "ready": {"type": "ready"}}


def store_config(path, listener=None):
    realm = {"name": "realm1", "roles": [anonymous_role()],
             "store": {"type": "embedded", "path": str(path)}}
    return make_config(realms=[realm], transports=[listener or web_transport(ops_paths())])


def get_json(router, path, index=0):
    res = http_request(router.host, router.ports[index], "GET", path, content_type=None)
    return res.status, res.json()


def check_named(body, name):
    found = [c for c in body["checks"] if c["name"] == name]
    assert found, f"no check {name!r} in {body}"
    return found[0]


def wait_ready(router, index=0):
    deadline = time.monotonic() + READY_WITHIN
    while True:
        status, body = get_json(router, "/ready", index)
        if status == 200:
            return body
        assert time.monotonic() < deadline, f"not ready within {READY_WITHIN}s: {body}"
        time.sleep(0.2)


def ack(**kw):
    return PublishOptions(acknowledge=True, **kw)


async def retained_of(session, topic):
    got = Collector()
    await session.subscribe(got, topic, options=SubscribeOptions(get_retained=True))
    items = await got.wait(1, what=f"retained event on {topic}")
    return items[0][0]


def test_a_store_locked_by_another_process_degrades_then_recovers(request, tmp_path):
    store = tmp_path / "shared" / "realm1.redb"
    first = start_router(request, store_config(store), name="holder")

    async def on_first():
        async with Sessions(first.url()) as s:
            c = await s.connect("json")
            await c.publish("com.example.from_first", "kept", options=ack(retain=True))

    run(on_first())

    second = start_router(request, store_config(store), name="degraded")
    status, body = get_json(second, "/ready")
    assert status == 503, body
    assert body["ready"] is False
    store_check = check_named(body, "store:realm1")
    assert store_check["ok"] is False, body
    assert "locked" in store_check["detail"] and str(store) in store_check["detail"], body
    assert check_named(body, "listeners")["ok"] is True, body
    assert get_json(second, "/health")[0] == 200
    log = second.log()
    assert "WARN" in log and str(store) in log and "locked" in log, log

    async def degraded():
        async with Sessions(second.url()) as s:
            pub, sub = await s.connect("json"), await s.connect("msgpack")
            events = Collector()
            await sub.subscribe(events, "com.example.live")
            await pub.publish("com.example.live", 1, options=ack())
            assert (await events.wait(1))[0][0] == [1]
            # Retained in memory meanwhile, written to the store once it opens.
            await pub.publish("com.example.during", "meanwhile", options=ack(retain=True))
            assert await retained_of(sub, "com.example.during") == ["meanwhile"]

    run(degraded())

    first.stop()
    body = wait_ready(second)
    assert check_named(body, "store:realm1")["ok"] is True, body

    async def recovered():
        async with Sessions(second.url()) as s:
            c = await s.connect("json")
            # What the first node retained is loaded; what this one kept meanwhile stays.
            assert await retained_of(c, "com.example.from_first") == ["kept"]
            assert await retained_of(c, "com.example.during") == ["meanwhile"]
            await c.publish("com.example.after", "stored", options=ack(retain=True))

    run(recovered())
    second.stop()

    # The store has everything: the first node, started again on it, replays all three.
    first.start()

    async def replayed():
        async with Sessions(first.url()) as s:
            c = await s.connect("json")
            assert await retained_of(c, "com.example.from_first") == ["kept"]
            assert await retained_of(c, "com.example.during") == ["meanwhile"]
            assert await retained_of(c, "com.example.after") == ["stored"]

    run(replayed())


def held_port():
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    return holder, holder.getsockname()[1]


def test_a_listener_that_cannot_bind_makes_the_node_unready_not_dead(request):
    holder, port = held_port()
    request.addfinalizer(holder.close)
    taken = {"type": "websocket", "endpoint": {"type": "tcp", "interface": "127.0.0.1",
                                               "port": port}}
    config = make_config(transports=[web_transport(ops_paths()), taken])
    router = Router(config, name="listener-down")
    router.expect_listening = 1  # the held port never logs "listening on"
    request.addfinalizer(router.cleanup)
    router.start()

    status, body = get_json(router, "/ready")
    assert status == 503, body
    listeners = check_named(body, "listeners")
    assert listeners["ok"] is False, body
    assert listeners["detail"].startswith("1 of 2 up"), body
    assert f"127.0.0.1:{port}" in listeners["detail"] and "in use" in listeners["detail"], body
    assert check_named(body, "store:realm1")["ok"] is True, body
    assert get_json(router, "/health")[0] == 200
    errors = [line for line in router.log().splitlines() if "ERROR" in line]
    assert any(f"127.0.0.1:{port}" in line and "in use" in line for line in errors), router.log()

    async def serves():
        async with Sessions(router.url()) as s:
            pub, sub = await s.connect("json"), await s.connect("json")
            events = Collector()
            await sub.subscribe(events, "com.example.up")
            await pub.publish("com.example.up", "ok", options=ack())
            await events.wait(1)

    run(serves())

    # The port frees: the listener binds in the background and the node turns ready.
    holder.close()
    body = wait_ready(router)
    assert check_named(body, "listeners")["detail"] == "2 of 2 up", body

    async def second_listener_serves():
        async with Sessions(f"ws://127.0.0.1:{port}/") as s:
            await s.connect("json")

    run(second_listener_serves())


def test_start_fails_when_no_listener_binds(tmp_path):
    holder, port = held_port()
    try:
        config = make_config(transports=[{"type": "websocket", "endpoint": {
            "type": "tcp", "interface": "127.0.0.1", "port": port}}])
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        binary = os.environ.get("JUNCTION_BIN", str(DEFAULT_BIN))
        done = subprocess.run([binary, "start", "--config", str(path)], capture_output=True,
                              text=True, timeout=20, env=dict(os.environ, NO_COLOR="1"))
        assert done.returncode != 0, done
        assert f"127.0.0.1:{port}" in done.stderr and "in use" in done.stderr, done.stderr
    finally:
        holder.close()


def test_a_second_junction_with_a_memory_store_is_unaffected(request):
    # Control: readiness is 200 with nothing degraded, so the 503s above are the lock's.
    router = start_router(request, make_config(transports=[web_transport(ops_paths())]))
    body = wait_ready(router)
    assert all(c["ok"] for c in body["checks"]), body

"""HTTP callees in a cluster: every node has the same config and registers its callees on
itself, so a call is answered by the node it was made on (no hop to another node) and one
node dying leaves the others' calls as they were."""

from __future__ import annotations

import pytest
from autobahn.wamp.exception import ApplicationError

from cluster_harness import start_nats, start_nodes
from junction_harness import Sessions, anonymous_role, realm, run, web_transport, ws_path
from test_http_callee import Backend


@pytest.fixture
def backend():
    b = Backend()
    yield b
    b.stop()


def call(node, procedure, *args):
    async def main():
        async with Sessions(node.url()) as s:
            session = await s.connect("json")
            try:
                return await session.call(procedure, *args)
            except ApplicationError as e:
                return e

    return run(main())


def test_each_node_answers_its_calls_and_survives_another_node(request, backend):
    nats = start_nats(request)
    r = realm(roles=[anonymous_role()])
    r["http_callees"] = [{"procedure": "com.example.echo", "url": backend.url("/echo"),
                          "role": "anonymous"}]
    a, b = start_nodes(request, [nats.url], 2, realms=[r],
                       transports=[web_transport({"ws": ws_path()})])
    for node, n in [(a, 1), (b, 2), (a, 3)]:
        answer = call(node, "com.example.echo", n)
        assert answer == {"method": "POST", "query": {},
                          "body": {"procedure": "com.example.echo", "args": [n], "kwargs": {}}}, \
            answer
    assert all("http callee: registered" in node.log() for node in (a, b))
    a.kill9()
    answer = call(b, "com.example.echo", 4)
    assert answer["body"]["args"] == [4], answer

"""pytest wiring for the Junction <-> autobahn-python interop suite.

Run from the repository root:

    .venv/bin/python -m pytest tests/interop/python -q

The Junction binary is taken from $JUNCTION_BIN, default target/debug/junction.
"""

from __future__ import annotations

import pytest

from junction_harness import Router

DEFAULT_TEST_TIMEOUT = 60  # seconds, per test (pytest-timeout)
LOG_TAIL_LINES = 300


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TEST_TIMEOUT))


def pytest_runtest_setup(item):
    item._junction_first_router = len(Router.started)


def _routers_for(item):
    seen = []
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, Router) and value not in seen:
            seen.append(value)
    first = getattr(item, "_junction_first_router", len(Router.started))
    for r in Router.started[first:]:
        if r not in seen:
            seen.append(r)
    return seen


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for i, r in enumerate(_routers_for(item)):
        lines = r.log().splitlines()
        tail = lines[-LOG_TAIL_LINES:]
        state = "running" if r.alive() else (
            f"exited with code {r.proc.returncode}" if r.proc is not None else "not started")
        header = f"junction log [{r.name}] ({state}, ports {r.ports}, config {r.config_path})"
        if len(lines) > len(tail):
            header += f" (last {len(tail)} of {len(lines)} lines)"
        report.sections.append((header, "\n".join(tail)))

"""Shared test configuration. Tests never touch the network: no real API key may leak in."""

from __future__ import annotations

import contextlib
import gc
import importlib
import itertools
import os
import sys

import pytest

# Hypothesis runs third-party plugins when imported: trio's (installed with selenium) costs
# ~80 ms a process and warns about its random generator. No test uses one.
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")

# The suite keeps compiled test modules (pytest's assertion rewriting) and library modules in
# ``__pycache__`` (git-ignored) even where PYTHONDONTWRITEBYTECODE is set: otherwise each of
# the three workers rewrites and compiles ~300 modules again on every run (about 4 s of the
# suite's wall time on 2 cores). Processes the tests start still inherit the variable; they
# read what the workers wrote.
sys.dont_write_bytecode = False


@pytest.fixture(autouse=True)
def _no_real_api(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "GEMINI_BASE_URL",
        "GOOGLE_GENAI_USE_VERTEXAI",
        "GOOGLE_GENAI_USE_ENTERPRISE",
        "GOOGLE_GENAI_API_VERSION",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> object:
    # Collection builds a large heap that lives to the end of the session; collecting garbage
    # while it grows only re-walks it (about 2 s of CPU per worker), so the collector waits.
    gc.disable()
    try:
        return (yield)
    finally:
        gc.enable()


# The tests that load each heavy optional package (0.2-0.6 s of CPU to import), by node id.
_HEAVY = (
    (  # google-genai, the test-only oracle
        "tests/types/test_sdk_",
        "tests/types/test_output_text.py",
        "tests/tools/test_declarations.py",
        "tests/testing/test_emulator_fidelity.py",
        "tests/testing/test_emulator_genai_conformance.py",
    ),
    ("tests/durable/", "[docs/durable.md]"),  # dbos
    ("tests/mcp/",),  # mcp
    (  # a2a-sdk, pydantic-evals; the public API's tests import every subsystem
        "tests/a2a/",
        "[docs/a2a.md]",
        "[a2a_agents.py]",
        "tests/evals/",
        "tests/cli/test_cli_eval.py",
        "[docs/evals.md]",
        "tests/test_public_api.py",
    ),
)


def _heavy_group(nodeid: str) -> int:
    for i, marks in enumerate(_HEAVY):
        if any(mark in nodeid for mark in marks):
            return i
    return len(_HEAVY)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # xdist's worksteal gives worker k the k-th of n equal slices of the collection and lets a
    # worker that runs out take the *end* of another's slice. Each heavy package's tests are
    # dealt whole to one slice, at its start, and the rest fill the slices in order: each
    # package loads in one worker instead of in all of them.
    workers = getattr(config, "workerinput", {}).get("workercount", 1)
    if workers < 2:
        return
    groups: list[list[pytest.Item]] = [[] for _ in _HEAVY]
    rest: list[pytest.Item] = []
    for item in items:
        group = _heavy_group(item.nodeid)
        (groups[group] if group < len(_HEAVY) else rest).append(item)
    slices: list[list[pytest.Item]] = [[] for _ in range(workers)]
    for group_items in sorted(groups, key=len, reverse=True):
        min(slices, key=len).extend(group_items)
    fill = iter(rest)
    for k, part in enumerate(slices):
        size = (k + 1) * len(items) // workers - k * len(items) // workers
        part.extend(itertools.islice(fill, max(0, size - len(part))))
    items[:] = [item for part in slices for item in part] + list(fill)


# The tests that start stdio MCP clients in this process.
_MCP_STDIO = ("tests/mcp/", "[mcp_tools.py]")


def pytest_runtest_protocol(item: pytest.Item) -> None:
    """Import mcp before the first test that uses its stdio client, outside output capture.

    ``mcp.client.stdio`` binds ``sys.stderr`` as the default ``errlog`` of its stdio clients
    when it is imported; imported inside a test that captures output (the MCP example runs
    under ``capsys``), that default would be a capture stream closed after the test, which a
    later stdio client (``mcp.Client`` over ``StdioServerParameters``) would write the
    server's stderr to.
    """
    if "mcp.client.stdio" not in sys.modules and any(m in item.nodeid for m in _MCP_STDIO):
        with contextlib.suppress(ImportError):  # without mcp those tests skip
            importlib.import_module("mcp.client.stdio")


_MODULES_FROZEN = [0]  # len(sys.modules) at the last gc.freeze()


def pytest_collection_finish(session: pytest.Session) -> None:
    # Everything collection built (modules, test items, parametrized values) lives to the end
    # of the session: moving it out of the collector's reach keeps each later full collection
    # from walking it again (several seconds of CPU per worker on this suite).
    gc.freeze()
    _MODULES_FROZEN[0] = len(sys.modules)


def pytest_runtest_logfinish() -> None:
    # Heavy optional packages (google-genai, a2a-sdk, dbos, pydantic-ai, mcp, starlette) are
    # imported by the first test that uses them, not at collection (tests/_lazy.py). Their
    # modules live to the end of the session too: once a test has imported one, collect the
    # garbage and move what is left out of the collector's reach, as after collection.
    if len(sys.modules) - _MODULES_FROZEN[0] >= 100:
        gc.collect()
        gc.freeze()
        _MODULES_FROZEN[0] = len(sys.modules)

"""Fixtures: a real streamable-HTTP MCP server shared by the run (stdio ones: per module)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

# Checked without importing mcp (half a second per test worker at collection): the tests
# import it where they use it.
if importlib.util.find_spec("mcp") is None:  # pragma: no cover - the dev install has it
    collect_ignore_glob = ["test_*.py"]

from mcp_helpers import start_http_server, stop


@pytest.fixture(scope="session")
def http_url() -> Iterator[str]:
    """One streamable-HTTP server process for the whole run (test_http adds a tool to it)."""
    proc, url = start_http_server()
    try:
        yield url
    finally:
        stop(proc)

"""Fixtures: a real streamable-HTTP MCP server shared by the run (stdio ones: per module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("mcp")

from mcp_helpers import start_http_server, stop


@pytest.fixture(scope="session")
def http_url() -> Iterator[str]:
    """One streamable-HTTP server process for the whole run (test_http adds a tool to it)."""
    proc, url = start_http_server()
    try:
        yield url
    finally:
        stop(proc)

"""Fixtures: real MCP servers shared per test module (stdio and loopback HTTP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("mcp")

from mcp_helpers import start_http_server, stdio_toolset, stop

from agentloop.mcp import MCPToolset


@pytest.fixture(scope="module")
def shared() -> Iterator[MCPToolset]:
    """One stdio server for a whole test module (started by the first test that needs it)."""
    with stdio_toolset() as toolset:
        yield toolset


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    proc, url = start_http_server()
    try:
        yield url
    finally:
        stop(proc)

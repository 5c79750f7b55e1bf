"""Fixtures: a real streamable-HTTP MCP server shared by the run (stdio ones: per module)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _lazy import require
from mcp_helpers import serve_http

HERE = Path(__file__).parent

# Checked without importing mcp: each xdist worker collects every test, and only the worker
# that runs these tests needs mcp (see pytest_runtest_protocol below).
require("mcp", "needs the mcp package: pip install -e '.[mcp]'")


def pytest_runtest_protocol(item: pytest.Item) -> None:
    """Import mcp before this directory's first test runs, outside output capture.

    ``mcp.client.stdio`` binds ``sys.stderr`` as the default ``errlog`` of its stdio clients
    when it is imported; imported inside a test that captures output, that default would be a
    capture stream closed after the test, which a later stdio client (``mcp.Client`` over
    ``StdioServerParameters``) would write the server's stderr to.
    """
    if "mcp.client.stdio" not in sys.modules and HERE in item.path.parents:
        importlib.import_module("mcp.client.stdio")


@pytest.fixture(scope="session")
def http_url() -> Iterator[str]:
    """One streamable-HTTP server for the whole run, in a thread (test_http adds a tool to it)."""
    with serve_http() as url:
        yield url

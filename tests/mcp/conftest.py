"""Fixtures: a real streamable-HTTP MCP server shared by the run (stdio ones: per module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _lazy import require
from mcp_helpers import serve_http

# Checked without importing mcp: each xdist worker collects every test, and only the worker
# that runs these tests needs mcp (imported before the first of them: tests/conftest.py).
require("mcp", "needs the mcp package: pip install -e '.[mcp]'")


@pytest.fixture(scope="session")
def http_url() -> Iterator[str]:
    """One streamable-HTTP server for the whole run, in a thread (test_http adds a tool to it)."""
    with serve_http() as url:
        yield url

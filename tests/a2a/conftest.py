"""Fixtures of the A2A tests."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator

import pytest

# Checked without importing a2a-sdk: each xdist worker collects every test module, and only
# the worker that runs these tests needs it.
if importlib.util.find_spec("a2a") is None:  # pragma: no cover - the dev install has it
    collect_ignore_glob = ["test_*.py"]

from a2a_helpers import Server, deleted, weather_agent


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    deleted.clear()
    srv = Server(weather_agent)
    yield srv
    await srv.http.aclose()
    await asyncio.sleep(0)

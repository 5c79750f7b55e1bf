"""Fixtures of the A2A tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

pytest.importorskip("a2a.client", reason="the A2A tests need agentloop[a2a]")

from a2a_helpers import Server, deleted, weather_agent


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    deleted.clear()
    srv = Server(weather_agent)
    yield srv
    await srv.http.aclose()
    await asyncio.sleep(0)

"""pytest plugin (entry point ``agentloop``): fixtures backed by the emulator.

Imports nothing heavy at load time: the emulator (and uvicorn for ``emulator_url``) load
only when a fixture is used.

Fixtures: ``emulator`` (a fresh ``Emulator()`` per test), ``emulator_client`` (a sync
``agentloop.Client`` bound in-process), ``async_emulator_client`` (``AsyncClient``) and
``emulator_url`` (base URL of a loopback server running that emulator).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from agentloop.testing import Emulator


@pytest.fixture
def emulator() -> Emulator:
    """A fresh emulator (demo model, any API key accepted)."""
    from agentloop.testing import Emulator

    return Emulator()


@pytest.fixture
def emulator_client(emulator: Emulator) -> Iterator[Any]:
    """An ``agentloop.Client`` talking to ``emulator`` in-process; closed after the test."""
    client = emulator.client()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def async_emulator_client(emulator: Emulator) -> Any:
    """An ``agentloop.AsyncClient`` talking to ``emulator`` in-process.

    A plain (sync) fixture, so it works in any pytest-asyncio mode (``strict`` included, no
    ``asyncio_mode = auto`` needed) and with anyio: the in-process client holds no sockets
    and needs no ``await`` to set up or close.
    """
    return emulator.async_client()


@pytest.fixture
def emulator_url(emulator: Emulator) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT``) of a loopback server running ``emulator``."""
    with emulator.serve() as url:
        yield url

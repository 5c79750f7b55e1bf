from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agentloop.testing import Emulator, ScriptedModel


@pytest.fixture
def scripted() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def emu(scripted: ScriptedModel) -> Iterator[Emulator]:
    yield Emulator(model=scripted)


@pytest.fixture(params=["sync", "async"])
def drive(request: pytest.FixtureRequest, emu: Emulator) -> Iterator[Any]:
    """The same test through ``Conversation`` and ``AsyncConversation``."""
    from loop_helpers import Driver

    driver = Driver(request.param, emu)
    yield driver
    driver.close()

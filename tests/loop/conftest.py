from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentloop.testing import Emulator, ScriptedModel


@pytest.fixture
def scripted() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def emu(scripted: ScriptedModel) -> Iterator[Emulator]:
    yield Emulator(model=scripted)

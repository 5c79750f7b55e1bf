from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_home(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTLOOP_HOME", str(tmp_path))

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import CLI


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> CLI:
    """The ``agentloop`` command run in-process, offline, with a private home."""
    return CLI(tmp_path, monkeypatch, capsys)

"""docs/index.md opens with a block that runs as copied, with no API key and no server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_first_block_of_the_getting_started_page_needs_no_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    first = re.search(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)
    assert first is not None and first.group(1) == "python"
    assert text.index(first.group(0)) < 600  # near the top of the page
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GEMINI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    exec(compile(first.group(2), "docs/index.md:first-block", "exec"), {})
    out = capsys.readouterr().out
    assert "8 paws" in out


def test_missing_key_error_names_the_offline_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentloop import Client
    from agentloop.errors import MissingAPIKeyError

    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    with Client() as client, pytest.raises(MissingAPIKeyError) as info:
        client.interactions.create(model="gemini-3.5-flash", input="hi")  # fails before sending
    message = str(info.value)
    assert "Emulator().client()" in message
    assert "agentloop emulator" in message and "GEMINI_BASE_URL" in message

"""Without a key, the library runs offline on the bundled emulator and says so once."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest

from agentloop import AsyncClient, Client, Conversation
from agentloop.errors import MissingAPIKeyError
from agentloop.testing import offline

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(offline, "_announced", False)


def test_the_first_block_of_the_getting_started_page_needs_no_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    first = re.search(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)
    assert first is not None and first.group(1) == "python"
    assert text.index(first.group(0)) < 600  # near the top of the page
    assert "Emulator" not in first.group(2)  # the plain library, as a reader writes it
    exec(compile(first.group(2), "docs/index.md:first-block", "exec"), {})
    assert "8 paws" in capsys.readouterr().out


def test_a_client_with_nothing_configured_uses_the_bundled_emulator_and_says_so_once(
    fresh_notice: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="agentloop"):
        first, second = Client(), Client()
    notices = [r for r in caplog.records if "bundled offline emulator" in r.getMessage()]
    assert len(notices) == 1
    assert "GEMINI_API_KEY" in notices[0].getMessage()
    assert first.offline and second.offline
    # One emulator per process: an interaction made by one client is known to the other.
    made = first.interactions.create(model="gemini-3.5-flash", input="hi")
    assert second.interactions.get(made.id).id == made.id
    assert "emulator" in made.output_text


async def test_the_async_client_falls_back_too(fresh_notice: None) -> None:
    async with AsyncClient() as client:
        assert client.offline
        made = await client.interactions.create(model="gemini-3.5-flash", input="hi")
        assert made.status == "completed"


def test_a_saved_offline_conversation_loads_into_a_new_key_less_client() -> None:
    conv = Conversation()
    conv.send("My name is Ada.")
    again = Conversation.from_dict(conv.to_dict())
    assert "Ada" in again.send("What is my name?").output_text


@pytest.mark.parametrize(
    "setting",
    [
        {"api_key": "k"},
        {"base_url": "http://127.0.0.1:9"},
        {"env": ("GEMINI_API_KEY", "k")},
        {"env": ("GEMINI_BASE_URL", "http://127.0.0.1:9")},
    ],
)
def test_anything_configured_means_no_fallback(
    setting: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = setting.pop("env", None)
    if isinstance(env, tuple):
        monkeypatch.setenv(*env)
    client = Client(**setting)  # type: ignore[arg-type]
    assert not client.offline
    assert not client.base_url.startswith(offline.OFFLINE_BASE_URL)


def test_a_given_http_client_without_a_key_still_names_the_offline_routes() -> None:
    client = Client(http_client=httpx.Client(transport=httpx.MockTransport(lambda r: None)))  # type: ignore[arg-type,return-value]
    with pytest.raises(MissingAPIKeyError) as info:
        client.interactions.create(model="gemini-3.5-flash", input="hi")  # fails before sending
    message = str(info.value)
    assert "Emulator().client()" in message
    assert "agentloop emulator" in message and "GEMINI_BASE_URL" in message

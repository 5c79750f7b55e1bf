"""Request settings of a conversation: service tier, safety, labels, webhooks, modalities.

Set on ``Conversation`` (every request), overridden on ``send`` (that turn's requests), saved
with the conversation; environment secrets never reach a saved file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from loop_helpers import bodies

from agentloop import Agent, AsyncConversation, Conversation
from agentloop.errors import ConfigurationError
from agentloop.testing import Emulator
from agentloop.types import Environment, EnvVar, SafetySetting, WebhookConfig

SETTINGS: dict[str, Any] = {
    "service_tier": "flex",
    "safety_settings": [{"type": "harassment", "threshold": "block_only_high"}],
    "labels": {"team": "docs", "env": "test"},
    "webhook_config": {"uris": ["http://127.0.0.1:1/hooks"], "user_metadata": {"job": 7}},
    "response_modalities": ["text"],
}


def test_conversation_settings_go_on_every_request_and_are_echoed() -> None:
    emu = Emulator(deliver_webhook=lambda delivery: None)
    conv = Conversation(emu.client(), **SETTINGS)
    conv.send("hi")
    conv.send("again")
    for body in bodies(emu):
        for key, value in SETTINGS.items():
            assert body[key] == value, key
    echoed = emu.interaction(conv.last_interaction_id or "")
    assert echoed.service_tier == "flex" and echoed.labels == SETTINGS["labels"]
    assert len(emu.webhook_deliveries) == 2  # one per finished interaction


def test_typed_values_are_accepted_and_sent_as_json() -> None:
    emu = Emulator(deliver_webhook=lambda delivery: None)
    conv = Conversation(
        emu.client(),
        safety_settings=[SafetySetting(type="hate_speech", threshold="block_none")],
        webhook_config=WebhookConfig(uris=["http://127.0.0.1:1/h"]),
    )
    conv.send("hi")
    (body,) = bodies(emu)
    assert body["safety_settings"] == [{"type": "hate_speech", "threshold": "block_none"}]
    assert body["webhook_config"] == {"uris": ["http://127.0.0.1:1/h"]}


def test_send_overrides_apply_to_that_turn_only() -> None:
    emu = Emulator()
    conv = Conversation(emu.client(), service_tier="standard", labels={"a": "1"})
    conv.send("urgent", service_tier="priority", labels={"a": "2"}, response_modalities=["text"])
    conv.send("normal")
    first, second = bodies(emu)
    assert first["service_tier"] == "priority" and first["labels"] == {"a": "2"}
    assert first["response_modalities"] == ["text"]
    assert second["service_tier"] == "standard" and second["labels"] == {"a": "1"}
    assert "response_modalities" not in second


async def test_async_conversation_takes_the_same_settings() -> None:
    emu = Emulator()
    conv = AsyncConversation(emu.async_client(), service_tier="flex", labels={"k": "v"})
    await conv.send("hi", safety_settings=SETTINGS["safety_settings"])
    (body,) = bodies(emu)
    assert body["service_tier"] == "flex" and body["labels"] == {"k": "v"}
    assert body["safety_settings"] == SETTINGS["safety_settings"]


def test_settings_are_saved_with_the_conversation(tmp_path: Path) -> None:
    emu = Emulator(deliver_webhook=lambda delivery: None)
    conv = Conversation(emu.client(), **SETTINGS)
    conv.send("hi")
    path = tmp_path / "conv.json"
    conv.save(path)
    again = Conversation.load(path, client=emu.client())
    again.send("and again")
    last = bodies(emu)[-1]
    for key, value in SETTINGS.items():
        assert last[key] == value, key


def test_agents_take_the_settings() -> None:
    emu = Emulator()
    agent = Agent("helper", model="gemini-3.5-flash", service_tier="priority", labels={"a": "b"})
    agent.conversation(client=emu.client()).send("hi")
    (body,) = bodies(emu)
    assert body["service_tier"] == "priority" and body["labels"] == {"a": "b"}


def test_environment_secrets_never_reach_a_saved_conversation(tmp_path: Path) -> None:
    env = Environment(
        env={"TOKEN": EnvVar(value="s3cret"), "PLAIN": "also-secret", "REF": EnvVar(credential="c")}
    )
    emu = Emulator()
    conv = Conversation(emu.client(), agent="antigravity-preview-05-2026", environment=env)
    conv.send("build it")
    assert bodies(emu)[0]["environment"]["env"]["TOKEN"] == {"value": "s3cret"}  # the request
    assert "s3cret" not in repr(conv.environment)
    path = tmp_path / "conv.json"
    conv.save(path)
    text = path.read_text()
    assert "s3cret" not in text and "also-secret" not in text
    saved = json.loads(text)["settings"]["environment"]
    assert saved["env"]["REF"] == {"credential": "c"}
    # The secrets were not saved: loading asks for the environment again, never sends '***'.
    with pytest.raises(ConfigurationError, match="environment="):
        Conversation.load(path, client=emu.client())
    again = Conversation.load(path, client=emu.client(), environment=env)
    again.send("go on")
    assert bodies(emu)[-1]["environment"]["env"]["TOKEN"] == {"value": "s3cret"}

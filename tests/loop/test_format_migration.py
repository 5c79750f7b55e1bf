"""Saved conversations of format version 1 (before journaling) still load, and continue."""

from __future__ import annotations

from typing import Any

from loop_helpers import say

from agentloop import Conversation
from agentloop.testing import Emulator, ScriptedModel

V1 = {
    "format": "agentloop.conversation",
    "version": 1,
    "id": "old-chat",
    "model": "gemini-3.5-flash",
    "agent": None,
    "strategy": "stateless",
    "system_instruction": "Be brief.",
    "generation_config": None,
    "response_format": None,
    "max_steps": 7,
    "builtin_tools": [],
    "tool_names": [],
    "agent_config": None,
    "environment": None,
    "extra_body": {},
    "chain": {"interaction_id": None, "covers": 0},
    "history": [
        {"type": "user_input", "content": [{"type": "text", "text": "I have 2 dogs."}]},
        {"type": "model_output", "content": [{"type": "text", "text": "Nice!"}]},
    ],
    "paused": None,
}


def test_a_version_1_document_loads_and_goes_on() -> None:
    emu = Emulator(model=ScriptedModel([say("8 paws.")]))
    conv = Conversation.from_dict(dict(V1), client=emu.client())
    assert conv.id == "old-chat" and conv.max_steps == 7 and conv.strategy == "stateless"
    assert conv.system_instruction == "Be brief."
    assert [s.type for s in conv.history] == ["user_input", "model_output"]
    assert conv.send("How many paws?").output_text == "8 paws."
    saved: dict[str, Any] = conv.to_dict()
    assert saved["version"] == 2 and len(saved["state"]["history"]) == 5
    again = Conversation.from_dict(saved, client=emu.client())
    assert again.history == conv.history

"""Stateful and stateless strategies, switching between them, and the 404 replay."""

from __future__ import annotations

import json
from typing import Any

import pytest
from loop_helpers import bodies, call, get_weather, say

from agentloop import Conversation
from agentloop.loop import StrategyFallback, TurnCompleted
from agentloop.testing import Emulator, ScriptedModel


def test_stateful_chains_and_sends_only_new_steps(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add(say("You have 2 dogs."), say("8 paws."))
    conv = drive.conv(drive.client(), model="gemini-3.5-flash")
    first = drive(conv.send("I have 2 dogs in my house."))
    second = drive(conv.send("How many paws are in my house?"))

    assert first.output_text == "You have 2 dogs."
    assert second.output_text == "8 paws."
    b1, b2 = bodies(emu)
    assert "previous_interaction_id" not in b1 and "store" not in b1
    assert [s["type"] for s in b1["input"]] == ["user_input"]
    assert b2["previous_interaction_id"] == first.interaction_id
    assert b2["input"] == [
        {
            "type": "user_input",
            "content": [{"type": "text", "text": "How many paws are in my house?"}],
        }
    ]
    assert conv.last_interaction_id == second.interaction_id
    # The model saw the whole chain on the second turn.
    assert [s.type for s in scripted.requests[1].history] == [
        "user_input",
        "thought",
        "model_output",
        "user_input",
    ]
    # History is local and complete in stateful mode too.
    assert [s.type for s in conv.history] == [
        "user_input",
        "thought",
        "model_output",
        "user_input",
        "thought",
        "model_output",
    ]


def test_stateless_resends_everything_verbatim(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    future = {"type": "future_step", "payload": {"x": [1, 2.5, None]}, "signature": "zz"}
    scripted.add([*say("one"), future], say("two"), say("three"))
    conv = drive.conv(drive.client(), strategy="stateless")
    drive(conv.send("a"))
    drive(conv.send("b"))
    drive(conv.send("c"))

    b1, b2, b3 = bodies(emu)
    for body in (b1, b2, b3):
        assert body["store"] is False
        assert "previous_interaction_id" not in body
    # Each request carries the full history; model steps exactly as the server sent them.
    assert len(b2["input"]) == 5 and len(b3["input"]) == 8
    assert b3["input"][: len(b2["input"])] == b2["input"]
    assert b2["input"][3] == future
    thought = b2["input"][1]
    assert thought["type"] == "thought" and thought["signature"]
    assert conv.last_interaction_id is None


def test_switch_stateful_to_stateless_and_back(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add(say("1"), say("2"), say("3"), say("4"))
    conv = drive.conv(drive.client())
    drive(conv.send("first"))
    conv.strategy = "stateless"
    drive(conv.send("second"))
    conv.strategy = "stateful"
    third = drive(conv.send("third"))
    drive(conv.send("fourth"))

    b1, b2, b3, b4 = bodies(emu)
    assert "store" not in b1
    # stateful -> stateless: the full history with store=false
    assert b2["store"] is False and len(b2["input"]) == 4
    # stateless -> stateful: the full history once, stored, no previous id ...
    assert "store" not in b3 and "previous_interaction_id" not in b3
    assert len(b3["input"]) == 7
    # ... then chaining again with only the new step
    assert b4["previous_interaction_id"] == third.interaction_id and len(b4["input"]) == 1
    assert [s.type for s in scripted.requests[3].history].count("user_input") == 4


def test_expired_previous_interaction_is_replayed(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add(say("remembered"), say("still here"))
    client = drive.client()
    conv = drive.conv(client)
    first = drive(conv.send("remember 42"))
    assert first.interaction_id is not None
    drive(client.interactions.delete(first.interaction_id))  # the server forgets the chain

    events = drive.events(conv.stream("what number?"))
    fallback = [e for e in events if isinstance(e, StrategyFallback)]
    assert len(fallback) == 1 and fallback[0].previous_interaction_id == first.interaction_id
    assert isinstance(events[-1], TurnCompleted)
    assert events[-1].turn.output_text == "still here"

    posts = bodies(emu)
    assert posts[1]["previous_interaction_id"] == first.interaction_id  # 404
    replay = posts[2]
    assert "previous_interaction_id" not in replay and "store" not in replay
    assert [s["type"] for s in replay["input"]] == [
        "user_input",
        "thought",
        "model_output",
        "user_input",
    ]
    # the model saw the whole history after the replay
    assert [s.type for s in scripted.requests[-1].history][:3] == [
        "user_input",
        "thought",
        "model_output",
    ]
    assert conv.last_interaction_id == events[-1].turn.interaction_id


def test_config_is_sent_with_every_request(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add([call("get_weather", "c1", city="Paris")], say("sunny"), say("ok"))
    conv = Conversation(
        emu.client(),
        tools=[get_weather, {"type": "google_search"}],
        system_instruction="You are a cat.",
        generation_config={"temperature": 0.2, "thinking_level": "low"},
    )
    drive(conv.send("weather in Paris?"))
    drive(conv.send("thanks"))
    for body in bodies(emu):
        assert body["system_instruction"] == "You are a cat."
        assert body["generation_config"] == {"temperature": 0.2, "thinking_level": "low"}
        assert [t["type"] for t in body["tools"]] == ["function", "google_search"]
        assert body["tools"][0]["name"] == "get_weather"
        assert body["model"] == "gemini-3.5-flash"


def test_agent_form(drive: Any, emu: Emulator, scripted: ScriptedModel) -> None:
    scripted.add(say("done"))
    conv = drive.conv(drive.client(), agent="antigravity-preview-05-2026", environment="remote")
    turn = drive(conv.send("Write a script"))
    assert turn.output_text == "done"
    (body,) = bodies(emu)
    assert body["agent"] == "antigravity-preview-05-2026" and "model" not in body
    assert body["environment"] == "remote"
    # The next turn goes on in the same sandbox: a chained request sends no new "remote".
    scripted.add(say("ran it"))
    second = drive(conv.send("Now run it"))
    assert "environment" not in bodies(emu)[1] and bodies(emu)[1]["previous_interaction_id"]
    first_env = emu.interaction(turn.interaction_ids[-1]).environment_id
    assert first_env and emu.interaction(second.interaction_ids[-1]).environment_id == first_env


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "m", "agent": "a"}, "either model= or agent="),
        ({"agent": "a", "generation_config": {"temperature": 1}}, "not allowed with agent"),
        ({"strategy": "sideways"}, "'stateful' or 'stateless'"),
        ({"max_steps": 0}, "max_steps must be at least 1"),
        ({"store": False}, "strategy='stateless'"),
    ],
)
def test_bad_configuration_is_a_clear_error(emu: Emulator, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Conversation(emu.client(), **kwargs)


def test_history_wire_form_round_trips(drive: Any, emu: Emulator, scripted: ScriptedModel) -> None:
    scripted.add(say("x"))
    conv = drive.conv(drive.client(), strategy="stateless")
    drive(conv.send("hello"))
    wire = conv.to_dict()["state"]["history"]
    assert wire == bodies(emu)[0]["input"] + [
        json.loads(s.model_dump_json()) for s in conv.history[1:]
    ]

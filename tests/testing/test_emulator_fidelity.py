"""The emulator honours every request field the API does (issue: live-API fidelity).

Model and agent ids come from the official SDK (test-only), so a new SDK release that adds
ids fails here until the emulator knows them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import typing
from pathlib import Path
from typing import Any

import pytest
from _lazy import lazy_module
from emulator_helpers import call, create, error_of, events_of

from agentloop import Conversation
from agentloop.errors import InteractionFailedError
from agentloop.testing import Emulator, ScriptedModel
from agentloop.testing.tokens import KNOWN_AGENTS, KNOWN_MODELS

LONG = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"


def _literal_values(annotation: Any) -> set[str]:
    """The values of the Literal arm of an SDK ``Literal[...] | UnrecognizedStr`` field."""
    found: set[str] = set()
    stack = [annotation]
    while stack:
        item = stack.pop()
        while hasattr(item, "__value__"):
            item = item.__value__
        if typing.get_origin(item) is typing.Literal:
            found |= set(typing.get_args(item))
        else:
            stack.extend(typing.get_args(item))
    return found


# The official SDK, a test-only oracle (imported by the test that reads it, not at collection).
sdk = lazy_module("google.genai.interactions")


def test_every_model_and_agent_the_sdk_knows_is_accepted() -> None:
    sdk_models = sorted(
        _literal_values(sdk.CreateModelInteraction.model_fields["model"].annotation)
    )
    sdk_agents = sorted(
        _literal_values(sdk.CreateAgentInteraction.model_fields["agent"].annotation)
    )
    assert len(sdk_models) >= 38 and len(sdk_agents) >= 5
    assert set(sdk_models) <= KNOWN_MODELS
    assert set(sdk_agents) <= KNOWN_AGENTS
    emu = Emulator(ScriptedModel(["ok"] * (len(sdk_models) + len(sdk_agents))))
    for model in sdk_models:
        assert create(emu, model=model, input="hi")["status"] == "completed", model
    for agent in sdk_agents:
        reply = create(emu, model=None, agent=agent, input="hi")
        assert reply["status"] == "completed" and reply["agent"] == agent


def test_agents_and_agent_configs_are_checked_like_the_api() -> None:
    emu = Emulator()
    err = error_of(call(emu, body={"agent": "deep-research-typo", "input": "hi"}))
    assert err["code"] == 400 and "deep-research-typo" in err["message"]
    err = error_of(
        call(
            emu,
            body={
                "agent": "deep-research-preview-04-2026",
                "input": "hi",
                "agent_config": {"type": "antigravity", "model": "gemini-3.5-flash"},
            },
        )
    )
    assert "agent_config type 'antigravity' does not apply" in err["message"]
    assert "'deep-research'" in err["message"]
    ok = call(
        emu,
        body={
            "agent": "antigravity-preview-05-2026",
            "input": "hi",
            "agent_config": {"type": "antigravity", "max_total_tokens": "1000"},
        },
    )
    assert ok.status == 200
    # Agents this emulator does not know are allowed on request, with any config.
    free = Emulator(allow_unknown_models=True)
    assert call(free, body={"agent": "my-agent", "input": "hi"}).status == 200


def test_max_output_tokens_ends_incomplete_at_the_limit() -> None:
    emu = Emulator(ScriptedModel([LONG, LONG]))
    cut = create(emu, input="go", generation_config={"max_output_tokens": 2})
    assert cut["status"] == "incomplete"
    text = cut["steps"][-1]["content"][0]["text"]
    assert text == LONG[:8]  # 2 tokens of the emulator's rule: 4 characters each
    assert cut["usage"]["total_output_tokens"] <= 2
    whole = create(emu, input="go", generation_config={"max_output_tokens": 1000})
    assert whole["status"] == "completed"
    assert whole["steps"][-1]["content"][0]["text"] == LONG


def test_stop_sequences_end_the_output_before_the_sequence() -> None:
    emu = Emulator(ScriptedModel([[LONG, "never generated"]]))
    reply = create(emu, input="go", generation_config={"stop_sequences": ["five", "nine"]})
    assert reply["status"] == "completed"
    assert [s["content"][0]["text"] for s in reply["steps"]] == ["one two three four "]


def test_stop_sequences_keep_thought_signatures_valid_when_history_is_resent() -> None:
    emu = Emulator(ScriptedModel([[{"type": "thought"}, LONG], "next"]))
    first = create(emu, input="go", store=False, generation_config={"stop_sequences": ["six"]})
    history = [{"type": "user_input", "content": "go"}, *first["steps"]]
    history.append({"type": "user_input", "content": "more"})
    assert create(emu, input=history, store=False)["status"] == "completed"


@pytest.mark.parametrize(
    ("tool", "kinds"),
    [
        ({"type": "file_search", "file_search_store_names": ["fileSearchStores/a"]}, "file_search"),
        ({"type": "google_maps"}, "google_maps"),
        ({"type": "retrieval", "retrieval_types": ["rag_store"]}, "retrieval"),
        (
            {"type": "mcp_server", "name": "docs", "url": "http://127.0.0.1:9/mcp"},
            "mcp_server_tool",
        ),
    ],
)
def test_server_side_tools_produce_call_and_result_steps(tool: dict[str, Any], kinds: str) -> None:
    reply = create(Emulator(), input="coffee shops near the station", tools=[tool])
    types = [s["type"] for s in reply["steps"]]
    assert f"{kinds}_call" in types and f"{kinds}_result" in types
    call_step = next(s for s in reply["steps"] if s["type"] == f"{kinds}_call")
    result = next(s for s in reply["steps"] if s["type"] == f"{kinds}_result")
    assert call_step["id"] and result["call_id"] == call_step["id"]
    assert reply["status"] == "completed" and types[-1] == "model_output"
    if kinds == "retrieval":
        assert call_step["retrieval_type"] == "rag_store"
    if kinds == "mcp_server_tool":
        assert call_step["server_name"] == "docs" and result["result"]
    if kinds == "google_maps":
        assert result["result"][0]["places"][0]["name"]


def test_computer_use_asks_the_client_for_a_ui_action() -> None:
    emu = Emulator()
    conv = Conversation(emu.client(), tools=[{"type": "computer_use", "environment": "browser"}])
    turn = conv.send("open the docs site")
    calls = [s for s in conv.history if s.type == "function_call"]
    assert [c.name for c in calls] == ["open_web_browser"]
    results = [s for s in conv.history if s.type == "function_result"]
    assert results and results[0].call_id == calls[0].id  # answered (no such local tool)
    assert turn.status == "completed"


def test_a_mid_stream_error_event_fails_the_interaction() -> None:
    emu = Emulator(ScriptedModel([LONG]))
    emu.faults.stream_error(3, code=503, status="UNAVAILABLE", message="overloaded")
    res = call(emu, body={"model": "gemini-3.5-flash", "input": "go", "stream": True})
    assert res.status == 200
    events = events_of(res)
    assert len(events) == 4 and events[-1]["event_type"] == "error"
    # the spec's SSE error: {code?: string, message?: string} (sections 6.2, 9.1)
    assert events[-1]["error"] == {"code": "unavailable", "message": "overloaded"}
    assert events[-1]["event_id"] == "evt_0004"  # the stream's own sequence
    stored = emu.interaction(events[0]["interaction"]["id"])  # a GET says what the stream said
    assert stored.status == "failed" and stored.errors is not None
    assert (stored.errors[0].code, stored.errors[0].message) == ("unavailable", "overloaded")
    # Through a conversation: the turn fails with the API's message.
    emu = Emulator(ScriptedModel([LONG]))
    emu.faults.stream_error(2, message="overloaded")
    conv = Conversation(emu.client())
    with pytest.raises(InteractionFailedError, match="overloaded"):
        for _ in conv.stream("go"):
            pass


def test_streams_carry_per_step_usage() -> None:
    emu = Emulator(ScriptedModel([[{"type": "thought"}, "first part", "second part"]]))
    res = call(emu, body={"model": "gemini-3.5-flash", "input": "go", "stream": True})
    events = events_of(res)
    stops = [e for e in events if e["event_type"] == "step.stop"]
    assert len(stops) == 3
    steps = [e["step_usage"]["total_output_tokens"] for e in stops]
    assert all(n > 0 for n in steps)
    running = [e["usage"]["total_output_tokens"] for e in stops]
    assert running == [sum(steps[: i + 1]) for i in range(3)]
    final = events[-1]["interaction"]["usage"]
    assert final["total_output_tokens"] == running[-1]
    # A stream cut before its end still reports the usage so far.
    from agentloop.client._stream import StreamAccumulator, event_adapter

    acc = StreamAccumulator()
    for event in events[:-1]:
        acc.feed(event_adapter.validate_python(event))
    usage = acc.interaction.usage
    assert usage is not None and usage.total_output_tokens == running[-1]


def test_the_resource_echoes_the_request_settings() -> None:
    settings: dict[str, Any] = {
        "system_instruction": "Be brief.",
        "generation_config": {"temperature": 0.2, "max_output_tokens": 500},
        "safety_settings": [{"type": "harassment", "threshold": "block_only_high"}],
        "service_tier": "priority",
        "labels": {"team": "docs"},
        "response_modalities": ["text"],
        "webhook_config": {"user_metadata": {"job": 7}},
    }
    emu = Emulator()
    created = create(emu, input="hi", **settings)
    fetched = call(emu, "GET", f"/v1beta/interactions/{created['id']}").json()
    for key, value in settings.items():
        assert created[key] == value and fetched[key] == value, key


def test_echoed_environment_never_carries_secret_values() -> None:
    env = {
        "type": "remote",
        "env": {"TOKEN": "s3cret", "DB": {"value": "also-secret"}, "KEY": {"credential": "k"}},
        "network": {"allowlist": [{"domain": "*.googleapis.com"}]},
    }
    emu = Emulator()
    reply = create(
        emu, model=None, agent="antigravity-preview-05-2026", input="hi", environment=env
    )
    assert "s3cret" not in json.dumps(reply) and "also-secret" not in json.dumps(reply)
    assert reply["environment"]["env"]["KEY"] == {"credential": "k"}
    assert reply["environment"]["network"] == env["network"]


SCRIPT = """
import sys
from agentloop import Conversation
from agentloop.testing import Emulator

conv = Conversation.load(sys.argv[1], client=Emulator().client())
turn = conv.send("And what did I say first?")
print(turn.status, len(conv.history))
"""


def test_a_saved_stateless_conversation_continues_in_a_new_process(tmp_path: Path) -> None:
    conv = Conversation(Emulator().client(), strategy="stateless")
    conv.send("My name is Ada.")
    conv.send("I like tea.")
    assert any(s.type == "thought" and s.signature for s in conv.history)
    path = tmp_path / "conv.json"
    conv.save(path)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    status, length = done.stdout.split()
    assert status == "completed" and int(length) > len(conv.history)


def test_a_streamed_interaction_carries_its_service_tier_as_a_get_does() -> None:
    emu = Emulator(ScriptedModel(["hi"]))
    body = {"model": "gemini-3.5-flash", "input": "go", "stream": True, "service_tier": "priority"}
    events = events_of(call(emu, body=body))
    created, completed = events[0], events[-1]
    assert created["interaction"]["service_tier"] == "priority"
    assert completed["interaction"]["service_tier"] == "priority"
    assert emu.interaction(created["interaction"]["id"]).service_tier == "priority"


@pytest.mark.parametrize(
    "labels",
    [{"BadKey": "v"}, {"1key": "v"}, {"team": "UPPER VALUE!"}, {"team": "x" * 64}],
)
def test_labels_the_api_refuses_are_a_400(labels: dict[str, str]) -> None:
    res = call(Emulator(), body={"model": "gemini-3.5-flash", "input": "hi", "labels": labels})
    assert res.status == 400 and b"labels" in res.body
    ok = {"model": "gemini-3.5-flash", "input": "hi", "labels": {"team": "search-2"}}
    assert call(Emulator(), body=ok).status == 200

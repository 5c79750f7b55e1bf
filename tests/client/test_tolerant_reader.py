"""Postel: what the live API may send that the emulator never does, read and carried on.

The docs' own "Use tools" sample answers with a ``google_search_call`` without ``id``; a
function call may come without an id (answered under a stable local id) or without a name
(the one thing that cannot be answered: ``MalformedResponseError`` naming the step).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from agentloop import Client, Conversation, tool
from agentloop.errors import MalformedResponseError
from agentloop.types import FunctionCallStep, GoogleSearchCallStep, Interaction, local_call_id

# The docs' sample response of "Use tools" (google_search), as printed (minus a trailing comma).
DOCS_SEARCH_RESPONSE: dict[str, Any] = {
    "id": "v1_Chd...",
    "status": "completed",
    "steps": [
        {"type": "thought", "signature": "EvEFCu4F..."},
        {"type": "google_search_call", "arguments": {"queries": ["UEFA Euro 2024 winner"]}},
        {
            "type": "google_search_result",
            "call_id": "search_001",
            "result": [{"search_suggestions": "<!-- HTML and CSS search widget -->"}],
        },
        {
            "type": "model_output",
            "content": [
                {
                    "type": "text",
                    "text": "Spain won Euro 2024, defeating England 2-1 in the final.",
                    "annotations": [
                        {
                            "type": "url_citation",
                            "url": "https://www.uefa.com/euro2024",
                            "title": "uefa.com",
                            "start_index": 0,
                            "end_index": 56,
                        }
                    ],
                }
            ],
        },
    ],
    "object": "interaction",
    "model": "gemini-3.5-flash",
}


def _reply(text: str, id: str = "int_next") -> dict[str, Any]:
    return {
        "id": id,
        "status": "completed",
        "steps": [{"type": "model_output", "content": [{"type": "text", "text": text}]}],
    }


class Script:
    """A mock API answering from a list (the last answer repeats) and keeping the bodies."""

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = list(answers)
        self.bodies: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return httpx.Response(200, json=answer)

    def client(self) -> Client:
        transport = httpx.MockTransport(self.handle)
        return Client(api_key="k", http_client=httpx.Client(transport=transport))


def test_the_docs_search_sample_is_read_by_the_client() -> None:
    script = Script(DOCS_SEARCH_RESPONSE)
    interaction = script.client().interactions.create(
        model="gemini-3.5-flash", input="Who won the euro 2024?", tools=[{"type": "google_search"}]
    )
    call = interaction.steps[1] if interaction.steps else None
    assert isinstance(call, GoogleSearchCallStep)
    assert call.id is None and call.arguments is not None
    assert call.arguments.queries == ["UEFA Euro 2024 winner"]
    assert interaction.output_text.startswith("Spain won Euro 2024")
    assert json.loads(interaction.model_dump_json()) == DOCS_SEARCH_RESPONSE


@pytest.mark.parametrize("strategy", ["stateful", "stateless"])
def test_the_docs_search_sample_continues_through_a_conversation(strategy: str) -> None:
    script = Script(DOCS_SEARCH_RESPONSE, _reply("Spain beat England."))
    conv = Conversation(script.client(), strategy=strategy, tools=[{"type": "google_search"}])
    first = conv.send("Who won the euro 2024?")
    assert first.output_text.startswith("Spain won Euro 2024")
    second = conv.send("Against whom?")
    assert second.output_text == "Spain beat England."
    sent = script.bodies[1]
    if strategy == "stateful":
        assert sent["previous_interaction_id"] == "v1_Chd..."
    else:
        # The search steps go back exactly as received: no id invented for the call.
        resent = [s for s in sent["input"] if s["type"].startswith("google_search")]
        assert resent == DOCS_SEARCH_RESPONSE["steps"][1:3]
        assert {"type": "thought", "signature": "EvEFCu4F..."} in sent["input"]


@tool
def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city.
    """
    return f"sunny in {city}"


def _needs_call(call: dict[str, Any]) -> dict[str, Any]:
    return {"id": "int_calls", "status": "requires_action", "steps": [call]}


@pytest.mark.parametrize("strategy", ["stateful", "stateless"])
def test_a_function_call_without_an_id_is_answered_under_a_stable_local_id(strategy: str) -> None:
    call = {"type": "function_call", "name": "get_weather", "arguments": {"city": "Paris"}}
    script = Script(_needs_call(call), _reply("It is sunny."))
    conv = Conversation(script.client(), strategy=strategy, tools=[get_weather])
    turn = conv.send("Weather in Paris?")
    assert turn.output_text == "It is sunny."

    local = local_call_id("int_calls", 0, "get_weather", {"city": "Paris"})
    assert local.startswith("local_")
    calls = [s for s in conv.history if isinstance(s, FunctionCallStep)]
    assert [c.id for c in calls] == [local]
    results = [s for s in script.bodies[1]["input"] if s["type"] == "function_result"]
    assert [(r["call_id"], r["result"]) for r in results] == [(local, "sunny in Paris")]
    if strategy == "stateless":
        resent = [s for s in script.bodies[1]["input"] if s["type"] == "function_call"]
        assert resent == [{**call, "id": local}]  # the call and its answer match

    # Stable: the same interaction read again gives the same id (a GET, a resumed stream).
    again = Interaction.model_validate_json(json.dumps(_needs_call(call)))
    assert again.function_calls[0].id == local


def test_a_function_call_without_a_name_is_a_malformed_response_naming_the_step() -> None:
    call = {"type": "function_call", "id": "call_7", "arguments": {"city": "Paris"}}
    script = Script(_needs_call(call))
    conv = Conversation(script.client(), tools=[get_weather])
    with pytest.raises(MalformedResponseError, match=r"without a name \(step 0, id 'call_7'\)"):
        conv.send("Weather in Paris?")
    assert conv.history == [] or all(s.type != "function_call" for s in conv.history)
    assert conv.last_interaction_id is None  # the next request does not chain onto it


def test_stream_events_without_index_are_numbered_in_order() -> None:
    from agentloop.client._stream import StreamAccumulator, event_adapter

    events = [
        {"event_type": "interaction.created", "interaction": {"id": "i", "status": "in_progress"}},
        {"event_type": "step.start", "step": {"type": "thought", "signature": "sig"}},
        {"event_type": "step.stop"},
        {"event_type": "step.start", "step": {"type": "model_output"}},
        {"event_type": "step.delta", "delta": {"type": "text", "text": "Hel"}},
        {"event_type": "step.delta", "delta": {"type": "text", "text": "lo"}},
        {"event_type": "step.delta"},  # no delta at all: nothing to apply
        {"event_type": "step.stop"},
        {"event_type": "step.start", "step": {"type": "function_call", "name": "f"}},
        {"event_type": "step.delta", "delta": {"type": "arguments_delta", "arguments": '{"a":'}},
        {"event_type": "step.delta", "delta": {"type": "arguments_delta", "arguments": "1}"}},
        {"event_type": "step.stop"},
        {
            "event_type": "interaction.completed",
            "interaction": {"id": "i", "status": "requires_action"},
        },
    ]
    acc = StreamAccumulator()
    typed = [event_adapter.validate_python(e) for e in events]
    for event in typed:
        acc.feed(event)
    interaction = acc.interaction
    assert [s.type for s in interaction.steps or []] == ["thought", "model_output", "function_call"]
    assert interaction.output_text == "Hello" and interaction.steps is not None
    assert interaction.steps[1].content[0].text == "Hello"
    (call,) = interaction.function_calls
    assert call.arguments == {"a": 1} and call.id == local_call_id("i", 2, "f", {"a": 1})
    # The events handed on carry the index they were given (not re-serialised with it).
    assert [getattr(e, "index", None) for e in typed[1:4]] == [0, 0, 1]
    assert "index" not in typed[1].model_dump()


UNKNOWN_RESPONSE: dict[str, Any] = {
    "id": "int_future",
    "status": "completed",
    "a_field_from_a_newer_api": {"kept": True},
    "steps": [
        {"type": "teleport_call", "id": "t1", "target": {"x": 1}, "signature": "c2ln"},
        {
            "type": "model_output",
            "mood": "cheerful",
            "content": [
                {"type": "hologram", "frames": 3},
                {"type": "text", "text": "Done.", "annotations": [{"type": "future_cite"}]},
            ],
        },
    ],
}


def test_unknown_types_and_fields_are_kept_and_resent_verbatim() -> None:
    script = Script(UNKNOWN_RESPONSE, _reply("Again."))
    future_tool = {"type": "future_tool", "setting": [1, 2]}
    conv = Conversation(script.client(), strategy="stateless", tools=[future_tool])
    assert conv.send("go").output_text == "Done."
    conv.send("more")
    first, second = script.bodies
    assert first["tools"] == [future_tool] == second["tools"]  # an unknown tool, as given
    resent = [s for s in second["input"] if s["type"] in ("teleport_call", "model_output")]
    assert resent == UNKNOWN_RESPONSE["steps"]  # unknown steps, blocks and keys: verbatim


def test_unknown_stream_events_are_passed_over() -> None:
    events = [
        {"event_type": "interaction.created", "interaction": {"id": "s", "status": "in_progress"}},
        {"event_type": "interaction.time_travel", "payload": {"a": 1}},
        {"event_type": "step.start", "index": 0, "step": {"type": "model_output"}},
        {"event_type": "step.delta", "index": 0, "delta": {"type": "sparkle", "n": 1}},
        {"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": "Hi"}},
        {"event_type": "step.stop", "index": 0},
        {"event_type": "interaction.completed", "interaction": {"id": "s", "status": "completed"}},
    ]
    body = b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events)

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    client = Client(api_key="k", http_client=httpx.Client(transport=httpx.MockTransport(handle)))
    conv = Conversation(client)
    kinds = [type(e).__name__ for e in conv.stream("hi")]
    assert kinds[-1] == "TurnCompleted" and "TextDelta" in kinds
    assert conv.history[-1].content[-1].text == "Hi"

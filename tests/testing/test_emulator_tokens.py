"""One token rule (``ceil(chars / 4)`` of canonical JSON), the context window, linear chains."""

from __future__ import annotations

import math
from typing import Any

import pytest
from emulator_helpers import PATH, call, create, error_of, events_of

from agentloop import Conversation, tool
from agentloop.errors import InvalidRequestError
from agentloop.testing import (
    Emulator,
    FunctionModel,
    ModelRequest,
    Reply,
    ScriptedModel,
    count_tokens,
)
from agentloop.types import Interaction

TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
THOUGHT_AND_TEXT = [{"type": "thought"}, "It is sunny."]


def test_the_rule_on_a_written_out_step() -> None:
    step = {"type": "user_input", "content": [{"type": "text", "text": "héllo", "x": None}]}
    text = '{"content":[{"text":"héllo","type":"text"}],"type":"user_input"}'
    assert count_tokens([step]) == math.ceil(len(text) / 4) == 16
    assert count_tokens(system_instruction="Be brief.") == math.ceil(len('"Be brief."') / 4)
    assert count_tokens([], tools=[TOOL]) == count_tokens([TOOL])
    assert count_tokens() == 0


def test_usage_follows_the_rule_for_one_request() -> None:
    emu = Emulator(ScriptedModel([THOUGHT_AND_TEXT]))
    out = create(emu, input="hello", system_instruction="Be brief.", tools=[TOOL])
    user = {"type": "user_input", "content": [{"type": "text", "text": "hello"}]}
    expected_in = count_tokens([user], system_instruction="Be brief.", tools=[TOOL])
    assert out["usage"]["total_input_tokens"] == expected_in
    assert out["usage"]["total_output_tokens"] == count_tokens(out["steps"])
    assert out["usage"]["total_tokens"] == expected_in + count_tokens(out["steps"])
    # Step models (as a client holds them) count exactly like the wire dicts.
    assert count_tokens(Interaction.model_validate(out).steps) == count_tokens(out["steps"])


def test_stored_chain_and_replayed_history_count_the_same() -> None:
    emu = Emulator(ScriptedModel([THOUGHT_AND_TEXT] * 4))
    one = create(emu, input="hello", tools=[TOOL])
    two = create(emu, input="again", tools=[TOOL], previous_interaction_id=one["id"])
    history = [
        {"type": "user_input", "content": [{"type": "text", "text": "hello"}]},
        *one["steps"],
        {"type": "user_input", "content": [{"type": "text", "text": "again"}]},
    ]
    expected = count_tokens(history, tools=[TOOL])
    assert two["usage"]["total_input_tokens"] == expected

    first = create(emu, input="hello", tools=[TOOL], store=False)
    replay = [history[0], *first["steps"], history[-1]]
    stateless = create(emu, input=replay, tools=[TOOL], store=False)
    assert stateless["usage"]["total_input_tokens"] == expected


def test_conversation_history_predicts_the_next_requests_input_tokens() -> None:
    @tool
    def get_weather(city: str) -> dict[str, Any]:
        """Weather for a city.

        Args:
            city: The city.
        """
        return {"city": city, "sky": "clear"}

    for strategy in ("stateful", "stateless"):
        emu = Emulator()
        conv = Conversation(
            emu.client(), tools=[get_weather], strategy=strategy, system_instruction="Be brief."
        )
        turn = conv.send("What is the weather in Oslo?")
        assert turn.model_requests == 2 and turn.last_interaction is not None
        tools = emu.requests[-1].json["tools"]
        # The last request held the whole history but the two steps it produced.
        expected = count_tokens(conv.history[:-2], system_instruction="Be brief.", tools=tools)
        usage = turn.last_interaction.usage
        assert usage is not None and usage.total_input_tokens == expected, strategy
        assert usage.total_output_tokens == count_tokens(conv.history[-2:]), strategy


def test_context_window_is_the_real_apis_400() -> None:
    emu = Emulator(ScriptedModel(["x" * 40] * 5), context_window=60)
    one = create(emu, input="a" * 40)
    assert one["usage"]["total_input_tokens"] <= 60
    res = call(
        emu,
        body={"model": "gemini-3.5-flash", "input": "b" * 40, "previous_interaction_id": one["id"]},
    )
    err = error_of(res)
    used = count_tokens(
        [
            {"type": "user_input", "content": [{"type": "text", "text": "a" * 40}]},
            *one["steps"],
            {"type": "user_input", "content": [{"type": "text", "text": "b" * 40}]},
        ]
    )
    assert used > 60
    assert (err["code"], err["status"]) == (400, "INVALID_ARGUMENT")
    assert err["message"] == (
        f"The input token count ({used}) exceeds the maximum number of tokens allowed (60)."
    )
    assert len(emu.interaction_ids) == 1  # the refused request stored nothing
    # The system instruction and tools count too.
    err = error_of(
        call(
            emu, body={"model": "gemini-3.5-flash", "input": "hi", "system_instruction": "s" * 300}
        )
    )
    assert "exceeds the maximum number of tokens allowed (60)" in err["message"]


def test_context_window_through_the_client() -> None:
    conv = Conversation(Emulator(context_window=200).client())
    conv.send("short")
    with pytest.raises(InvalidRequestError, match=r"input token count \(\d+\) exceeds"):
        conv.send("long " * 300)


def test_a_chain_is_extended_not_rebuilt() -> None:
    seen: list[int] = []

    def model(request: ModelRequest) -> Reply:
        seen.append(len(request.history))
        return Reply(steps=[{"type": "thought"}, f"turn {len(seen)}"])

    def run(turns: int) -> int:
        emu = Emulator(FunctionModel(model))
        prev = None
        for i in range(turns):
            body: dict[str, Any] = {"input": f"message {i}"}
            if prev is not None:
                body["previous_interaction_id"] = prev
            prev = create(emu, **body)["id"]
        # Structure: every record of a linear chain shares one cumulative list.
        records = [emu._store[i] for i in emu.interaction_ids]
        assert all(r.chain is records[0].chain for r in records)
        return emu.steps_processed

    seen.clear()
    small = run(30)
    assert seen == [1 + 3 * i for i in range(30)]  # the model sees the whole history
    big = run(300)
    assert big == 10 * small  # linear: 10x the turns is 10x the work (quadratic: 100x)


def test_branches_from_one_interaction_keep_their_own_history() -> None:
    model = FunctionModel(
        lambda r: " / ".join(c.text for s in r.history if s.type == "user_input" for c in s.content)
    )
    emu = Emulator(model)
    root = create(emu, input="root")
    left = create(emu, input="left", previous_interaction_id=root["id"])
    right = create(emu, input="right", previous_interaction_id=root["id"])
    deeper = create(emu, input="more", previous_interaction_id=left["id"])
    again = create(emu, input="again", previous_interaction_id=right["id"])
    text = lambda out: out["steps"][-1]["content"][0]["text"]  # noqa: E731
    assert text(left) == "root / left" and text(right) == "root / right"
    assert text(deeper) == "root / left / more" and text(again) == "root / right / again"
    # Deleting the middle of a chain makes its descendants unchainable (404).
    assert call(emu, "DELETE", f"{PATH}/{left['id']}").status == 200
    err = error_of(
        call(
            emu,
            body={
                "model": "gemini-3.5-flash",
                "input": "x",
                "previous_interaction_id": deeper["id"],
            },
        )
    )
    assert err["code"] == 404 and left["id"] in err["message"]
    assert create(emu, input="still", previous_interaction_id=again["id"])["status"]


def test_function_calls_left_open_by_the_chain_must_be_answered() -> None:
    emu = Emulator(
        ScriptedModel(
            [
                [
                    {
                        "type": "function_call",
                        "id": "c1",
                        "name": "get_weather",
                        "arguments": {"city": "Oslo"},
                    }
                ],
                "done",
            ]
        )
    )
    one = create(emu, input="weather?", tools=[TOOL])
    err = error_of(
        call(
            emu,
            body={
                "model": "gemini-3.5-flash",
                "input": "ignore it",
                "previous_interaction_id": one["id"],
            },
        )
    )
    assert "'c1' (get_weather) has no function_result" in err["message"]
    ok = create(
        emu,
        previous_interaction_id=one["id"],
        tools=[TOOL],
        input=[{"type": "function_result", "call_id": "c1", "result": "sunny"}],
    )
    assert ok["status"] == "completed"


def test_deferred_tiers_start_queued_with_a_status_update() -> None:
    emu = Emulator(ScriptedModel(["later"]), background_polls=1)
    out = create(emu, input="x", background=True, service_tier="flex")
    assert out["status"] == "queued"
    get = f"{PATH}/{out['id']}"
    assert call(emu, "GET", get).json()["status"] == "in_progress"
    assert call(emu, "GET", get).json()["status"] == "in_progress"
    assert call(emu, "GET", get).json()["status"] == "completed"
    events = events_of(call(emu, "GET", get, query={"stream": "true"}))
    kinds = [e["event_type"] for e in events]
    assert kinds[:2] == ["interaction.created", "interaction.status_update"]
    assert events[0]["interaction"]["status"] == "queued"
    assert events[1]["interaction_id"] == out["id"] and events[1]["status"] == "in_progress"
    assert kinds[-1] == "interaction.completed"
    # The standard tier starts in_progress, as documented.
    plain = create(Emulator(), input="x", background=True)
    assert plain["status"] == "in_progress"


def test_queued_background_watched_by_stream() -> None:
    emu = Emulator(ScriptedModel(["streamed"]))
    res = call(
        emu,
        body={
            "model": "gemini-3.5-flash",
            "input": "x",
            "background": True,
            "service_tier": "deferred",
            "stream": True,
        },
    )
    events = events_of(res)
    statuses = [e.get("status") for e in events if e["event_type"] == "interaction.status_update"]
    assert statuses == ["in_progress"]
    assert events[-1]["interaction"]["status"] == "completed"


def test_client_polls_a_queued_interaction() -> None:
    emu = Emulator(ScriptedModel(["done"]))
    client = emu.client()
    it = client.interactions.create(
        model="gemini-3.5-flash", input="x", background=True, extra_body={"service_tier": "flex"}
    )
    assert it.status == "queued"
    assert client.interactions.get(it.id).status == "in_progress"


def test_continuation_hop_streams_a_checkpoint() -> None:
    emu = Emulator(
        ScriptedModel([Reply(steps=["part one"], status="requires_continuation"), "part two"])
    )
    events = events_of(call(emu, body={"model": "gemini-3.5-flash", "input": "x", "stream": True}))
    update = next(e for e in events if e["event_type"] == "interaction.status_update")
    completed = events[-1]["interaction"]
    assert completed["status"] == "requires_continuation"
    assert update["continuation_token"] == completed["continuation_token"]
    assert events.index(update) == len(events) - 2  # after the output, before completed

"""StreamAccumulator: events in, the final Interaction out (spec 6.4)."""

from __future__ import annotations

from typing import Any

from agentloop.client import StreamAccumulator
from agentloop.client._stream import event_adapter
from agentloop.types import FunctionCallStep, ModelOutputStep, ThoughtStep, UnknownStep


def assemble(events: list[dict[str, Any]]) -> StreamAccumulator:
    acc = StreamAccumulator()
    for event in events:
        acc.feed(event_adapter.validate_python(event))
    return acc


def created(id: str = "i1") -> dict[str, Any]:
    return {
        "event_type": "interaction.created",
        "interaction": {"id": id, "status": "in_progress", "model": "m"},
    }


def completed(status: str = "completed", **extra: Any) -> dict[str, Any]:
    return {
        "event_type": "interaction.completed",
        "interaction": {"id": "i1", "status": status, **extra},
    }


def start(i: int, step: dict[str, Any]) -> dict[str, Any]:
    return {"event_type": "step.start", "index": i, "step": step}


def delta(i: int, d: dict[str, Any]) -> dict[str, Any]:
    return {"event_type": "step.delta", "index": i, "delta": d}


def stop(i: int) -> dict[str, Any]:
    return {"event_type": "step.stop", "index": i}


def test_docs_example_stream() -> None:
    acc = assemble(
        [
            created(),
            start(0, {"type": "thought"}),
            delta(0, {"type": "thought_signature", "signature": "EvEF"}),
            delta(0, {"type": "thought_summary", "content": {"type": "text", "text": "plan"}}),
            stop(0),
            start(1, {"type": "model_output"}),
            delta(1, {"type": "text", "text": "AI "}),
            delta(1, {"type": "text", "text": "works "}),
            stop(1),
            completed(usage={"total_tokens": 197}),
        ]
    )
    it = acc.interaction
    assert acc.finished
    assert it.id == "i1" and it.status == "completed" and it.model == "m"
    assert it.usage is not None and it.usage.total_tokens == 197
    thought, output = it.steps or []
    assert isinstance(thought, ThoughtStep) and thought.signature == "EvEF"
    assert thought.model_dump(mode="json") == {
        "type": "thought",
        "signature": "EvEF",
        "summary": [{"type": "text", "text": "plan"}],
    }
    assert isinstance(output, ModelOutputStep)
    assert output.model_dump(mode="json") == {
        "type": "model_output",
        "content": [{"type": "text", "text": "AI works "}],
    }
    assert it.output_text == "AI works "


def test_text_blocks_split_by_media_and_annotations_attach() -> None:
    acc = assemble(
        [
            created(),
            start(0, {"type": "model_output"}),
            delta(0, {"type": "text", "text": "a"}),
            delta(
                0,
                {
                    "type": "text_annotation_delta",
                    "annotations": [{"type": "url_citation", "url": "u", "start_index": 0}],
                },
            ),
            delta(0, {"type": "image", "data": "AAAA", "mime_type": "image/png"}),
            delta(0, {"type": "text", "text": "b"}),
            delta(0, {"type": "text", "text": "c"}),
            stop(0),
            completed(),
        ]
    )
    step = (acc.interaction.steps or [])[0]
    assert step.model_dump(mode="json")["content"] == [
        {
            "type": "text",
            "text": "a",
            "annotations": [{"type": "url_citation", "url": "u", "start_index": 0}],
        },
        {"type": "image", "data": "AAAA", "mime_type": "image/png"},
        {"type": "text", "text": "bc"},
    ]
    assert acc.interaction.output_text == "bc"
    assert acc.interaction.output_image is not None


def test_function_call_arguments_are_joined_and_parsed() -> None:
    acc = assemble(
        [
            created(),
            start(0, {"type": "function_call", "id": "c1", "name": "get_weather", "arguments": {}}),
            delta(0, {"type": "arguments_delta", "arguments": '{"loc'}),
            delta(0, {"type": "arguments_delta", "arguments": 'ation": "Lon'}),
            delta(0, {"type": "arguments_delta", "arguments": 'don", "n": [1, 2]}'}),
            stop(0),
            start(
                1, {"type": "function_call", "id": "c2", "name": "noargs", "arguments": {"k": 1}}
            ),
            stop(1),
            completed("requires_action"),
        ]
    )
    it = acc.interaction
    assert it.status == "requires_action"
    first, second = it.function_calls
    assert isinstance(first, FunctionCallStep)
    assert first.arguments == {"location": "London", "n": [1, 2]}
    assert second.arguments == {"k": 1}


def test_function_call_arguments_merge_with_start_and_bad_json_is_reported() -> None:
    acc = assemble(
        [
            start(0, {"type": "function_call", "id": "c1", "name": "f", "arguments": {"a": 1}}),
            delta(0, {"type": "arguments_delta", "arguments": '{"b": 2}'}),
            stop(0),
            start(1, {"type": "function_call", "id": "c2", "name": "g", "arguments": {}}),
            delta(1, {"type": "arguments_delta", "arguments": '{"b": '}),
            stop(1),
        ]
    )
    steps = acc.interaction.steps or []
    assert steps[0].model_dump()["arguments"] == {"a": 1, "b": 2}
    assert steps[1].model_dump()["arguments"] == {}
    assert acc.argument_errors == {1: '{"b": '}


def test_arguments_finalised_even_without_step_stop() -> None:
    acc = assemble(
        [
            start(0, {"type": "function_call", "id": "c1", "name": "f", "arguments": {}}),
            delta(0, {"type": "arguments_delta", "arguments": '{"x": true}'}),
        ]
    )
    assert (acc.interaction.steps or [])[0].model_dump()["arguments"] == {"x": True}


def test_server_tool_deltas_merge_into_their_step() -> None:
    acc = assemble(
        [
            start(0, {"type": "code_execution_call", "id": "x1", "arguments": {}}),
            delta(
                0,
                {
                    "type": "code_execution_call",
                    "arguments": {"code": "print(1)", "language": "python"},
                    "signature": "s",
                },
            ),
            stop(0),
            start(1, {"type": "code_execution_result", "call_id": "x1", "result": ""}),
            delta(1, {"type": "code_execution_result", "result": "1\n"}),
            stop(1),
            start(2, {"type": "google_search_call", "id": "g1", "arguments": {}}),
            delta(2, {"type": "google_search_call", "arguments": {"queries": ["q"]}}),
            stop(2),
        ]
    )
    dumped = [s.model_dump(mode="json") for s in acc.interaction.steps or []]
    assert dumped == [
        {
            "type": "code_execution_call",
            "id": "x1",
            "arguments": {"code": "print(1)", "language": "python"},
            "signature": "s",
        },
        {"type": "code_execution_result", "call_id": "x1", "result": "1\n"},
        {"type": "google_search_call", "id": "g1", "arguments": {"queries": ["q"]}},
    ]


def test_unknown_steps_deltas_and_events_round_trip() -> None:
    acc = assemble(
        [
            created(),
            {"event_type": "interaction.future_thing", "x": 1},
            start(0, {"type": "hologram", "frames": 3}),
            delta(0, {"type": "hologram", "frames": 4, "extra": {"k": "v"}}),
            delta(0, {"type": "unrelated_delta", "z": 1}),
            stop(0),
            completed(),
        ]
    )
    step = (acc.interaction.steps or [])[0]
    assert isinstance(step, UnknownStep)
    assert step.raw == {"type": "hologram", "frames": 4, "extra": {"k": "v"}}


def test_status_update_and_error_event() -> None:
    acc = assemble(
        [
            created(),
            {
                "event_type": "interaction.status_update",
                "interaction_id": "i1",
                "status": "in_progress",
                "continuation_token": "tok",
                "usage": {"total_tokens": 1},
            },
            {"event_type": "error", "error": {"code": "internal", "message": "model crashed"}},
        ]
    )
    it = acc.interaction
    assert acc.finished
    assert it.status == "failed" and it.continuation_token == "tok"
    assert it.errors is not None and it.errors[0].message == "model crashed"
    assert it.usage is not None and it.usage.total_tokens == 1


def test_partial_interaction_before_any_status() -> None:
    acc = StreamAccumulator()
    assert acc.interaction.status == "in_progress" and acc.interaction.steps is None
    assert acc.interaction_id is None

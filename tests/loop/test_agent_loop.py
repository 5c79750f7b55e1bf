"""The agent loop: tools, limits, the history invariant, approvals, failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from loop_helpers import bodies, call, delete_file, explode, get_time, get_weather, open_calls, say

from agentloop import Conversation, ToolContext, tool
from agentloop.errors import (
    APIError,
    InteractionFailedError,
    MaxStepsExceeded,
    ServerError,
    StateError,
)
from agentloop.testing import Emulator, Reply, ScriptedModel


@pytest.mark.parametrize("strategy", ["stateful", "stateless"])
def test_parallel_tool_calls_round_trip(
    drive: Any, emu: Emulator, scripted: ScriptedModel, strategy: str
) -> None:
    scripted.add(
        [
            {"type": "thought"},
            call("get_weather", "c1", city="London"),
            call("get_time", "c2", city="Tokyo"),
        ],
        say("22C in London, noon in Tokyo."),
    )
    conv = drive.conv(drive.client(), tools=[get_weather, get_time], strategy=strategy)
    turn = drive(conv.send("Weather in London and time in Tokyo?"))

    assert turn.status == "completed"
    assert turn.output_text == "22C in London, noon in Tokyo."
    assert [c.name for c in turn.tool_calls] == ["get_weather", "get_time"]
    assert turn.tool_calls[0].result.result == {
        "city": "London",
        "temperature": 22,
        "unit": "celsius",
    }
    assert turn.tool_calls[1].result.result == "12:00 in Tokyo"
    assert len(turn.interaction_ids) == 2 and turn.model_requests == 2
    second = bodies(emu)[1]
    results = [s for s in second["input"] if s["type"] == "function_result"]
    assert [r["call_id"] for r in results] == ["c1", "c2"]  # all results in one request
    if strategy == "stateful":
        assert second["previous_interaction_id"] == turn.interaction_ids[0]
        assert [s["type"] for s in second["input"]] == ["function_result", "function_result"]
    else:
        assert [s["type"] for s in second["input"]] == [
            "user_input",
            "thought",
            "function_call",
            "function_call",
            "function_result",
            "function_result",
        ]
    assert turn.usage.total_tokens is not None and turn.usage.total_tokens > 0


def test_send_and_stream_record_the_same_tool_turn_and_only_stream_has_call_events(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    """``send`` reads only how a turn ends, so its engine leaves out the per-call events
    (``call_events``); ``stream`` yields them. Calls, records and history are the same."""
    from agentloop.loop.events import ToolCallFinished, ToolCallStarted

    for _ in range(2):
        scripted.add(
            [call("get_weather", "c1", city="London"), call("explode", "c2", reason="x")],
            say("done"),
        )
    sent_conv = drive.conv(drive.client(), tools=[get_weather, explode])
    engines: list[Any] = []
    make = sent_conv.engine
    sent_conv.engine = lambda **options: engines.append(make(**options)) or engines[-1]
    sent = drive(sent_conv.send("go"))
    assert [e.call_events for e in engines] == [False]

    streamed_conv = drive.conv(drive.client(), tools=[get_weather, explode])
    events = drive.events(streamed_conv.stream("go"))
    assert [e.call.id for e in events if isinstance(e, ToolCallStarted)] == ["c1", "c2"]
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert [(e.call.id, e.is_error) for e in finished] == [("c1", False), ("c2", True)]
    streamed = events[-1].turn

    def shape(turn: Any) -> list[Any]:
        return [(c.call.id, c.result.result, c.is_error, c.error) for c in turn.tool_calls]

    assert shape(sent) == shape(streamed) and sent.output_text == streamed.output_text == "done"
    assert [s.type for s in sent_conv.history] == [s.type for s in streamed_conv.history]


def test_tool_errors_are_fed_back_to_the_model(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add(
        [
            call("explode", "c1", reason="x"),
            call("get_weather", "c2", town="Paris"),  # wrong argument name
            call("no_such_tool", "c3"),
        ],
        say("sorry"),
    )
    conv = drive.conv(drive.client(), tools=[explode, get_weather])
    turn = drive(conv.send("go"))
    errors = {c.id: c for c in turn.tool_calls}
    assert all(c.is_error for c in errors.values())
    assert errors["c1"].result.result == "ValueError: boom: x"
    assert "city" in str(errors["c2"].result.result) and "get_weather" in str(
        errors["c2"].result.result
    )
    assert "Available tools: explode, get_weather" in str(errors["c3"].result.result)
    sent = [s for s in bodies(emu)[1]["input"] if s["type"] == "function_result"]
    assert all(s["is_error"] is True for s in sent)
    assert turn.output_text == "sorry"


@pytest.mark.parametrize("strategy", ["stateful", "stateless"])
def test_max_steps_closes_open_calls_and_next_send_works(
    drive: Any, emu: Emulator, scripted: ScriptedModel, strategy: str
) -> None:
    scripted.add(
        [call("get_weather", "c1", city="A")],
        [call("get_weather", "c2", city="B")],
        say("recovered"),
    )
    conv = drive.conv(drive.client(), tools=[get_weather], max_steps=2, strategy=strategy)
    with pytest.raises(MaxStepsExceeded, match="max_steps=2") as info:
        drive(conv.send("loop forever"))
    partial = info.value.turn
    assert partial is not None and partial.status == "max_steps"
    assert partial.model_requests == 2
    assert open_calls(conv.history) == set()
    closing = [s for s in conv.history if s.type == "function_result" and s.call_id == "c2"]
    assert closing[0].is_error and "max_steps" in closing[0].result

    turn = drive(conv.send("try again"))  # the server accepts the repaired history
    assert turn.output_text == "recovered"


@pytest.mark.parametrize("strategy", ["stateful", "stateless"])
def test_keyboard_interrupt_in_a_tool_keeps_history_valid(
    drive: Any, emu: Emulator, scripted: ScriptedModel, strategy: str
) -> None:
    @tool
    def hang(x: int) -> int:
        """Simulates Ctrl-C while running.

        Args:
            x: anything.
        """
        raise KeyboardInterrupt

    scripted.add([call("hang", "c1", x=1)], say("fine"))
    conv = drive.conv(drive.client(), tools=[hang], strategy=strategy)
    with pytest.raises(KeyboardInterrupt):
        drive(conv.send("go"))
    # The call started and its outcome is unknown: in doubt, never "not run" (issue 20).
    assert open_calls(conv.history) == {"c1"} and conv.in_doubt == ["c1"]
    assert [c.id for c in conv.pending_approvals] == ["c1"] and not conv.needs_recovery
    assert drive(conv.send("again")).output_text == "fine"
    closing = next(s for s in conv.history if s.type == "function_result")
    assert closing.is_error and closing.result.startswith("Outcome unknown")
    assert open_calls(conv.history) == set()


def test_http_failure_mid_turn_leaves_conversation_usable(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add([call("get_weather", "c1", city="Rome")], say("done"))
    conv = drive.conv(drive.client(max_retries=0), tools=[get_weather])
    emu.faults.http_error(503, count=1)
    with pytest.raises(ServerError) as info:
        drive(conv.send("weather?"))
    assert isinstance(info.value, APIError)
    assert drive(conv.send("weather?")).output_text == "done"


def test_first_request_failure_then_recovery(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add([call("get_weather", "c1", city="Rome")], say("done"))
    conv = drive.conv(drive.client(max_retries=0), tools=[get_weather])
    emu.faults.http_error(500, count=1)
    with pytest.raises(ServerError):
        drive(conv.send("weather in Rome?"))
    turn = drive(conv.send("weather in Rome?"))
    assert turn.output_text == "done"
    assert open_calls(conv.history) == set()


def test_failed_interaction_raises_with_partial_turn(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add(
        Reply(steps=[], status="failed", errors=[{"code": "internal", "message": "model crashed"}]),
        say("ok now"),
    )
    conv = drive.conv(drive.client())
    with pytest.raises(InteractionFailedError, match="model crashed") as info:
        drive(conv.send("hi"))
    assert info.value.turn is not None and info.value.turn.status == "failed"
    assert drive(conv.send("hi again")).output_text == "ok now"


def test_retries_are_reported_in_the_stream(emu: Emulator, scripted: ScriptedModel) -> None:
    scripted.add(say("after retry"))
    sleeps: list[float] = []
    conv = Conversation(emu.client(max_retries=2, sleep=sleeps.append))
    emu.faults.http_error(429, count=1, retry_after=0.25)
    events = list(conv.stream("hi"))
    retries = [e for e in events if e.type == "retrying"]
    assert len(retries) == 1 and retries[0].wait == pytest.approx(0.25)
    assert sleeps == [pytest.approx(0.25)]
    assert events[-1].type == "turn_completed"


def test_streaming_event_order(drive: Any, emu: Emulator, scripted: ScriptedModel) -> None:
    scripted.add([call("get_weather", "c1", city="Oslo")], say("It is cold in Oslo today."))
    conv = drive.conv(drive.client(), tools=[get_weather])
    events = drive.events(conv.stream("weather in Oslo"))
    kinds = [e.type for e in events]
    assert kinds[0] == "interaction_started"
    assert kinds[-1] == "turn_completed"
    start = kinds.index("tool_call_started")
    finish = kinds.index("tool_call_finished")
    assert kinds.index("interaction_completed") < start < finish
    assert kinds.count("interaction_started") == 2
    text = "".join(e.text for e in events if e.type == "text_delta")
    assert text == "It is cold in Oslo today."
    assert kinds.count("text_delta") > 1  # streamed in pieces
    assert kinds.index("text_delta") > finish
    turn = events[-1].turn
    assert turn.output_text == text and turn.tool_calls[0].result.result["city"] == "Oslo"
    # Streamed steps are kept exactly: the next stateless request validates their signatures.
    conv.strategy = "stateless"
    scripted.add(say("ok"))
    assert drive(conv.send("and now?")).output_text == "ok"


def test_breaking_out_of_a_stream_closes_the_turn(emu: Emulator, scripted: ScriptedModel) -> None:
    scripted.add([call("get_weather", "c1", city="Oslo")], say("fresh"))
    conv = Conversation(emu.client(), tools=[get_weather])
    for event in conv.stream("weather"):
        if event.type == "tool_call_started":
            break
    assert open_calls(conv.history) == set()
    assert conv.history[-1].is_error
    assert scripted.remaining == 1  # the abandoned turn made no further request
    assert conv.send("hello").output_text == "fresh"


def test_approval_pauses_and_resumes_across_save_and_load(
    drive: Any, emu: Emulator, scripted: ScriptedModel, tmp_path: Path
) -> None:
    scripted.add(
        [call("delete_file", "c1", path="/tmp/a"), call("get_weather", "c2", city="Nice")],
        say("Deleted it."),
    )
    client = drive.client()
    conv = drive.conv(client, tools=[delete_file, get_weather])
    turn = drive(conv.send("delete /tmp/a and check the weather"))
    assert turn.status == "awaiting_approval"
    assert [c.id for c in turn.pending_approvals] == ["c1"]
    assert [c.name for c in turn.tool_calls] == ["get_weather"]  # ran without approval
    conv.save(tmp_path / "conv.json")

    # A new process: load, decide, resume.
    restored = drive.cls().load(
        tmp_path / "conv.json", client=client, tools=[delete_file, get_weather]
    )
    assert [c.id for c in restored.pending_approvals] == ["c1"]
    with pytest.raises(StateError, match="no decision"):
        drive(restored.resume())
    restored.approve("c1")
    done = drive(restored.resume())
    assert done.status == "completed" and done.output_text == "Deleted it."
    assert [c.name for c in done.tool_calls] == ["get_weather", "delete_file"]
    assert done.tool_calls[1].result.result == "deleted /tmp/a"
    assert open_calls(restored.history) == set()


def test_rejection_is_sent_as_an_error_result(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add([call("delete_file", "c1", path="/etc")], say("OK, I won't."))
    conv = drive.conv(drive.client(), tools=[delete_file])
    drive(conv.send("delete /etc"))
    conv.reject("c1", "never touch /etc")
    done = drive(conv.resume())
    result = done.tool_calls[0].result
    assert result.is_error and "never touch /etc" in result.result
    assert done.output_text == "OK, I won't."


def test_new_message_while_paused_answers_pending_calls(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add([call("delete_file", "c1", path="/x")], say("never mind then"))
    conv = drive.conv(drive.client(), tools=[delete_file])
    drive(conv.send("delete /x"))
    turn = drive(conv.send("actually, don't"))
    assert turn.output_text == "never mind then"
    assert open_calls(conv.history) == set()
    body = bodies(emu)[1]
    assert [s["type"] for s in body["input"]] == ["function_result", "user_input"]


def test_tool_context_carries_conversation_and_deps(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:

    seen: dict[str, Any] = {}

    @tool
    def whoami(ctx: ToolContext[dict[str, str]]) -> str:
        """Report the caller."""
        seen["ctx"] = ctx
        return (ctx.deps or {})["user"]

    scripted.add([call("whoami", "c9")], say("you are ada"))
    conv = drive.conv(drive.client(), tools=[whoami], deps={"user": "ada"})
    turn = drive(conv.send("who am I?"))
    assert turn.tool_calls[0].result.result == "ada"
    ctx = seen["ctx"]
    assert ctx.conversation is conv and ctx.call_id == "c9" and ctx.tool_name == "whoami"


@pytest.mark.parametrize("strategy", ["stateful", "stateless"])
def test_builtin_tool_steps_stay_in_history(strategy: str) -> None:
    from agentloop.testing import DemoModel

    emu = Emulator(model=DemoModel())
    conv = Conversation(emu.client(), tools=[{"type": "google_search"}], strategy=strategy)
    turn = conv.send("Who won the euro 2024?")
    kinds = [s.type for s in conv.history]
    assert "google_search_call" in kinds and "google_search_result" in kinds
    text = [s for s in turn.steps if s.type == "model_output"][-1].content[0]
    assert any(a.type == "url_citation" for a in text.annotations or [])
    # The server-tool steps (and their signatures) go back verbatim on the next turn.
    assert conv.send("Thanks!").status == "completed"


def test_failure_mid_turn_then_save_and_load(
    drive: Any, emu: Emulator, scripted: ScriptedModel, tmp_path: Path
) -> None:
    def call_then_fail_next_request(request: object) -> list[dict[str, object]]:
        emu.faults.http_error(500, count=1)  # hits the request that carries the results
        return [call("get_weather", "c1", city="Rome")]

    scripted.add(call_then_fail_next_request, say("done"))
    client = drive.client(max_retries=0)
    conv = drive.conv(client, tools=[get_weather])
    with pytest.raises(ServerError) as info:
        drive(conv.send("weather?"))
    assert [c.name for c in info.value.turn.tool_calls] == ["get_weather"]  # type: ignore[attr-defined]
    conv.save(tmp_path / "c.json")
    loaded = drive.cls().load(tmp_path / "c.json", client=client, tools=[get_weather])
    assert open_calls(loaded.history) == set()
    assert drive(loaded.send("and?")).output_text == "done"
    # The tool result computed before the failure reached the server on the next request.
    assert any(s["type"] == "function_result" for s in bodies(emu)[-1]["input"])


def test_resume_stream_yields_the_rest_of_the_turn(
    drive: Any, emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add([call("delete_file", "c1", path="/a")], say("Removed /a."))
    conv = drive.conv(drive.client(), tools=[delete_file])
    events = drive.events(conv.stream("delete /a"))
    assert [e.type for e in events][-2:] == ["approval_required", "turn_completed"]
    conv.approve("c1")
    rest = drive.events(conv.resume_stream())
    kinds = [e.type for e in rest]
    assert kinds[:2] == ["tool_call_started", "tool_call_finished"]
    assert "".join(e.text for e in rest if e.type == "text_delta") == "Removed /a."
    assert rest[-1].turn.status == "completed"


@pytest.mark.parametrize(
    ("status", "error", "turn_status", "advice"),
    [
        ("incomplete", "InteractionIncompleteError", "incomplete", "max_output_tokens"),
        ("budget_exceeded", "InteractionIncompleteError", "incomplete", "budget"),
        ("cancelled", "InteractionCancelledError", "cancelled", "send again"),
        ("frobnicated", "UnexpectedStatusError", "failed", "upgrade"),
    ],
)
def test_terminal_statuses_raise_with_advice(
    drive: Any,
    emu: Emulator,
    scripted: ScriptedModel,
    status: str,
    error: str,
    turn_status: str,
    advice: str,
) -> None:
    from agentloop import errors

    scripted.add(Reply(steps=say("partial"), status=status), say("next"))
    conv = drive.conv(drive.client())
    with pytest.raises(getattr(errors, error), match=advice) as info:
        drive(conv.send("go"))
    assert info.value.turn is not None and info.value.turn.status == turn_status
    assert drive(conv.send("again")).output_text == "next"


def test_a_new_message_instead_of_resume_keeps_the_decisions_taken(
    drive: Any, scripted: ScriptedModel
) -> None:
    """Approved but not resumed: "not run", saying it was approved; rejected: the rejection
    and its reason; undecided: not approved. Nothing runs."""
    scripted.add(
        [
            call("delete_file", "c1", path="/a"),
            call("delete_file", "c2", path="/b"),
            call("delete_file", "c3", path="/c"),
        ],
        say("moving on"),
    )
    conv = drive.conv(tools=[delete_file])
    assert drive(conv.send("delete three")).status == "awaiting_approval"
    conv.approve("c1")
    conv.reject("c2", "budget frozen until Monday")
    drive(conv.send("never mind"))
    said = {s.call_id: s.result for s in conv.history if s.type == "function_result"}
    assert said["c1"] == "Not run: the user approved it, but sent a new message before it ran."
    assert said["c2"] == "The user rejected this call. Reason: budget frozen until Monday"
    assert said["c3"] == "The user did not approve this call before sending a new message."


def test_an_after_response_hook_that_returns_a_value_is_a_hook_error(
    drive: Any, scripted: ScriptedModel
) -> None:
    from agentloop import Deny, Hooks
    from agentloop.errors import HookError

    scripted.add(say("hello"), say("again"))
    conv = drive.conv(hooks=Hooks(after_response=lambda response: Deny("no")))
    with pytest.raises(
        HookError, match=r"after_response hook .* returned Deny; it may return None"
    ):
        drive(conv.send("hi"))

"""The sans-I/O engine tested directly, as h11 tests its ``Connection``: effects' results are
fed by hand, no HTTP, no threads, no store."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentloop.errors import MaxStepsExceeded, NotFoundError, ServerError, StateError
from agentloop.loop.engine import (
    Emit,
    Persist,
    RunTools,
    SendRequest,
    TurnEngine,
)
from agentloop.loop.events import (
    ApprovalRequired,
    InteractionCompleted,
    Recovered,
    StrategyFallback,
    ToolCallFinished,
    ToolCallStarted,
    TurnCompleted,
)
from agentloop.loop.persist import fold
from agentloop.loop.state import ConversationState, CutTurn, Journal
from agentloop.tools.execution import ToolOutcome
from agentloop.types import FunctionCallStep, FunctionResultStep, Interaction


def interaction(iid: str, status: str, *steps: dict[str, Any]) -> Interaction:
    return Interaction.model_validate(
        {
            "id": iid,
            "status": status,
            "steps": list(steps),
            "usage": {"total_input_tokens": 10, "total_output_tokens": 2, "total_tokens": 12},
        }
    )


def text(t: str) -> dict[str, Any]:
    return {"type": "model_output", "content": [{"type": "text", "text": t}]}


def fcall(cid: str, name: str = "f", **args: Any) -> dict[str, Any]:
    return {"type": "function_call", "id": cid, "name": name, "arguments": args}


def outcome(call: FunctionCallStep, value: str) -> ToolOutcome:
    return ToolOutcome(call, FunctionResultStep(call_id=call.id, name=call.name, result=value))


def engine(
    state: ConversationState,
    *,
    approval: set[str] = frozenset(),  # type: ignore[assignment]
    idempotent: set[str] = frozenset(),  # type: ignore[assignment]
    max_steps: int = 5,
) -> TurnEngine:
    return TurnEngine(
        state,
        static_body={"model": "gemini-3.5-flash"},
        max_steps=max_steps,
        needs_approval=lambda call: call.name in approval,
        is_idempotent=lambda name: name in idempotent,
    )


def inputs(effect: SendRequest) -> list[dict[str, Any]]:
    return [json.loads(raw.data) for raw in effect.body["input"]]


def finish(proto: Any, value: Any = None) -> Any:
    """Send ``value``, then answer every remaining Emit with None; return the turn."""
    try:
        effect = proto.send(value)
        while isinstance(effect, Emit):
            effect = proto.send(None)
    except StopIteration as stop:
        return stop.value
    raise AssertionError(f"unexpected effect {effect!r}")


def test_a_text_turn_is_one_request_then_events() -> None:
    state = ConversationState()
    proto = engine(state).start("hi")
    assert len(state.history) == 0  # nothing changes until the protocol is driven
    request = next(proto)
    assert isinstance(request, SendRequest)
    assert inputs(request) == [{"type": "user_input", "content": [{"type": "text", "text": "hi"}]}]
    assert "previous_interaction_id" not in request.body
    done = proto.send(interaction("i1", "completed", text("hello")))
    assert isinstance(done, Emit) and isinstance(done.event, InteractionCompleted)
    last = proto.send(None)
    assert isinstance(last.event, TurnCompleted)
    with pytest.raises(StopIteration) as stop:
        proto.send(None)
    turn = stop.value.value
    assert turn.output_text == "hello" and turn.status == "completed"
    assert state.chain_id == "i1" and state.chain_len == 2


def test_a_tool_round_trip_chains_and_sends_only_the_results() -> None:
    state = ConversationState()
    proto = engine(state).start("go")
    next(proto)
    completed = proto.send(interaction("i1", "requires_action", fcall("c1", x=1)))
    assert isinstance(completed.event, InteractionCompleted)
    started = proto.send(None)
    assert isinstance(started.event, ToolCallStarted)
    run = proto.send(None)
    assert isinstance(run, RunTools) and [c.id for c in run.calls] == ["c1"]
    finished = proto.send([outcome(run.calls[0], "r1")])
    assert isinstance(finished.event, ToolCallFinished) and not finished.event.is_error
    request = proto.send(None)
    assert isinstance(request, SendRequest)
    assert request.body["previous_interaction_id"] == "i1"
    assert [s["type"] for s in inputs(request)] == ["function_result"]
    turn = finish(proto, interaction("i2", "completed", text("done")))
    assert [c.id for c in turn.tool_calls] == ["c1"] and turn.model_requests == 2


def test_without_call_events_a_tool_turn_makes_the_same_requests_and_records() -> None:
    """``call_events=False`` (a driver that reads no events) drops only the per-call events:
    the effects that do something, the requests, history and records are the same."""

    def run(call_events: bool) -> tuple[list[Any], list[Any], Any, ConversationState]:
        state = ConversationState()
        eng = engine(state)
        eng.call_events = call_events
        proto = eng.start("go")
        effects: list[Any] = [next(proto)]
        replies = iter(
            [
                interaction("i1", "requires_action", fcall("c1", x=1), fcall("c2", x=2)),
                interaction("i2", "completed", text("done")),
            ]
        )
        try:
            while True:
                effect = effects[-1]
                if isinstance(effect, SendRequest):
                    answer: Any = next(replies)
                elif isinstance(effect, RunTools):
                    answer = [outcome(call, f"r-{call.id}") for call in reversed(effect.calls)]
                else:
                    answer = None
                effects.append(proto.send(answer))
        except StopIteration as stop:
            turn = stop.value
        events = [type(e.event).__name__ for e in effects if isinstance(e, Emit)]
        work = [
            (type(e).__name__, inputs(e) if isinstance(e, SendRequest) else None)
            for e in effects
            if not isinstance(e, Emit)
        ]
        return events, work, turn, state

    loud_events, loud_work, loud_turn, loud = run(True)
    quiet_events, quiet_work, quiet_turn, quiet = run(False)
    assert loud_events.count("ToolCallStarted") == loud_events.count("ToolCallFinished") == 2
    assert quiet_events == ["InteractionCompleted", "InteractionCompleted", "TurnCompleted"]
    assert [e for e in loud_events if not e.startswith("ToolCall")] == quiet_events
    assert quiet_work == loud_work
    assert [s.model_dump() for s in quiet.history] == [s.model_dump() for s in loud.history]
    assert [(c.call.id, c.result.result, c.is_error) for c in quiet_turn.tool_calls] == [
        (c.call.id, c.result.result, c.is_error) for c in loud_turn.tool_calls
    ]
    assert quiet_turn.output_text == loud_turn.output_text == "done"


def test_a_runner_that_loses_a_call_cannot_leave_it_unanswered() -> None:
    state = ConversationState()
    proto = engine(state).start("go")
    next(proto)
    proto.send(interaction("i1", "requires_action", fcall("c1"), fcall("c2")))
    effect = proto.send(None)
    while not isinstance(effect, RunTools):
        effect = proto.send(None)
    effect = proto.send([outcome(effect.calls[1], "only c2")])
    while isinstance(effect, Emit):
        effect = proto.send(None)
    assert isinstance(effect, SendRequest)
    results = {s["call_id"]: s for s in inputs(effect)}
    assert results["c1"]["is_error"] and "no result" in results["c1"]["result"]
    assert not results["c2"].get("is_error")


def test_an_expired_chain_falls_back_to_the_full_history() -> None:
    state = ConversationState()
    proto = engine(state).start("one")
    next(proto)
    finish(proto, interaction("i1", "completed", text("a")))
    proto = engine(state).start("two")
    request = next(proto)
    assert request.body["previous_interaction_id"] == "i1"
    fallback = proto.throw(NotFoundError("gone", status_code=404))
    assert isinstance(fallback.event, StrategyFallback)
    retry = proto.send(None)
    assert "previous_interaction_id" not in retry.body
    assert [s["type"] for s in inputs(retry)] == ["user_input", "model_output", "user_input"]


def test_a_failure_before_any_output_rolls_the_turn_back() -> None:
    state = ConversationState()
    state.journal = Journal("t")
    proto = engine(state).start("hi")
    persist = next(proto)
    assert isinstance(persist, Persist)
    persist.journal.written(len(persist.journal.pending))  # as a store would
    next_effect = proto.send(None)
    assert isinstance(next_effect, SendRequest)
    ending = proto.throw(ServerError("down", status_code=503))
    assert isinstance(ending, Persist)  # the rollback itself is journaled
    assert [json.loads(r)["k"] for r in state.journal.pending] == ["rollback"]
    with pytest.raises(ServerError) as info:
        proto.send(None)
    assert len(state.history) == 0 and info.value.turn.input  # type: ignore[attr-defined]


def test_unwritten_records_of_a_rolled_back_turn_are_forgotten() -> None:
    state = ConversationState()
    state.journal = Journal("t")
    proto = engine(state).start("hi")
    assert isinstance(next(proto), Persist)
    with pytest.raises(ServerError):
        proto.throw(ServerError("store down", status_code=503))
    assert len(state.history) == 0 and state.journal.pending == []


def test_journal_records_fold_back_into_the_same_state() -> None:
    state = ConversationState()
    state.journal = Journal("t")
    written: list[str] = []

    def drive(proto: Any, answers: list[Any]) -> Any:
        effect = next(proto)
        try:
            while True:
                if isinstance(effect, Persist):
                    written.extend(effect.journal.pending)
                    effect.journal.written(len(written))
                    effect = proto.send(None)
                elif isinstance(effect, Emit):
                    effect = proto.send(None)
                elif isinstance(effect, RunTools):
                    effect = proto.send([outcome(c, "ok") for c in effect.calls])
                else:
                    effect = proto.send(answers.pop(0))
        except StopIteration as stop:
            return stop.value

    drive(
        engine(state).start("go"),
        [
            interaction("i1", "requires_action", fcall("c1")),
            interaction("i2", "completed", text("done")),
        ],
    )
    drive(
        engine(state, approval={"f"}).start("again"),
        [interaction("i3", "requires_action", fcall("c2"))],
    )
    assert state.paused is not None
    folded = fold(written, len(written))
    assert folded.state.to_wire() == state.to_wire()
    assert folded.state.paused is not None and [c.id for c in folded.state.paused.awaiting] == [
        "c2"
    ]


def test_max_steps_answers_the_calls_it_will_not_run() -> None:
    state = ConversationState()
    proto = engine(state, max_steps=1).start("go")
    next(proto)
    proto.send(interaction("i1", "requires_action", fcall("c1")))
    with pytest.raises(MaxStepsExceeded):
        proto.send(None)
    result = state.history[-1]
    assert result.type == "function_result" and result.is_error


def test_approval_pauses_and_resume_requires_decisions() -> None:
    state = ConversationState()
    proto = engine(state, approval={"f"}).start("go")
    next(proto)
    proto.send(interaction("i1", "requires_action", fcall("c1")))
    events = []
    try:
        while True:
            events.append(proto.send(None).event)
    except StopIteration as stop:
        turn = stop.value
    assert isinstance(events[-2], ApprovalRequired) and turn.status == "awaiting_approval"
    with pytest.raises(StateError, match="no decision"):
        engine(state).resume()
    state.paused.decisions["c1"] = (True, None)  # type: ignore[union-attr]
    proto = engine(state, approval={"f"}).resume()
    effect = next(proto)
    while not isinstance(effect, RunTools):
        effect = proto.send(None)
    assert [c.id for c in effect.calls] == ["c1"]  # approved: not asked again


def test_recover_runs_unstarted_and_idempotent_calls_and_holds_the_rest() -> None:
    state = ConversationState()
    proto = engine(state).start("go")
    next(proto)
    proto.send(
        interaction("i1", "requires_action", fcall("a", "safe"), fcall("b", "risky"), fcall("c"))
    )
    proto.close()  # stands for the crash: closing answers the calls in memory, so rebuild
    state = ConversationState.from_wire({**state.to_wire(), "cut": None})
    state.truncate(4)  # user_input + three calls, no results: what the journal held
    state.cut = CutTurn(0, 1, ["i1"], None, {"a", "b"})
    proto = engine(state, idempotent={"safe"}).recover()
    recovered = next(proto)
    assert isinstance(recovered.event, Recovered)
    assert recovered.event.rerun == ["a", "c"] and recovered.event.in_doubt == ["b"]
    effect = proto.send(None)
    while not isinstance(effect, RunTools):
        effect = proto.send(None)
    assert [c.id for c in effect.calls] == ["a", "c"]
    finish(proto, [outcome(c, "ok") for c in effect.calls])
    assert state.paused is not None and state.paused.in_doubt == {"b"}

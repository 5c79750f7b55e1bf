"""Journaling, recovery with exactly-once tools, and stale writers (engine level).

The store here is a real SQLiteStore in memory; a "crash" is a ``Crash`` (a ``BaseException``)
raised where the process would die: what the store holds at that moment is exactly what a
killed process would have left. The subprocess crash matrix against real stores lives in
tests/stores.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from loop_helpers import answered_once, bodies, call, encodes, say
from memory_store import MemoryStore

from agentloop import tool
from agentloop.errors import ConflictError, StateError
from agentloop.loop.persist import fold
from agentloop.stores import SQLiteStore
from agentloop.testing import Emulator, FunctionModel, ScriptedModel


class Crash(BaseException):
    """The process dies here."""


def runs_of(log: list[str], name: str) -> int:
    return sum(1 for entry in log if entry == name)


def make_tools(log: list[str], crash_on: set[str]) -> list[Any]:
    @tool
    def pay(amount: int) -> str:
        """Pay an amount (not safe to repeat).

        Args:
            amount: How much.
        """
        log.append("pay")
        if "pay" in crash_on:
            crash_on.discard("pay")
            raise Crash
        return f"paid {amount}"

    @tool(idempotent=True)
    def lookup(key: str) -> str:
        """Look a key up (safe to repeat).

        Args:
            key: The key.
        """
        log.append("lookup")
        if key in crash_on:
            crash_on.discard(key)
            raise Crash
        return f"value of {key}"

    return [pay, lookup]


def test_every_step_is_journaled_and_folds_back(drive: Any, scripted: ScriptedModel) -> None:
    store = MemoryStore()
    log: list[str] = []
    scripted.add([call("lookup", "c1", key="a")], say("done"), say("again"))
    conv = drive.conv(tools=make_tools(log, set()), store=store, id="task-1")
    drive(conv.send("look a up"))
    drive(conv.send("once more"))
    stored = store.read("task-1")
    folded = fold(stored.records, stored.version)
    assert folded.state.to_wire() == conv.to_dict()["state"]
    assert stored.meta["settings"]["model"] == conv.model
    assert stored.meta["title"] == "look a up"
    # Each write adds only the new records: nothing is rewritten.
    steps = [r for r in stored.records if r.startswith('{"k":"step"')]
    assert len(steps) == len(conv.history)
    loaded = drive.cls().from_store(store, "task-1", client=drive.client(), tools=[])
    assert loaded.history == conv.history and loaded.last_interaction_id == conv.last_interaction_id
    assert not loaded.needs_recovery


def test_a_loaded_conversation_keeps_journaling(drive: Any, scripted: ScriptedModel) -> None:
    store = MemoryStore()
    scripted.add(say("one"), say("two"))
    drive(drive.conv(store=store, id="t").send("first"))
    loaded = drive.cls().from_store(store, "t", client=drive.client())
    drive(loaded.send("second"))
    again = drive.cls().from_store(store, "t", client=drive.client())
    assert [s.type for s in again.history] == ["user_input", "thought", "model_output"] * 2


def test_a_stale_writer_gets_a_conflict_before_any_model_call(
    drive: Any, scripted: ScriptedModel, emu: Emulator
) -> None:
    store = MemoryStore()
    scripted.add(say("one"), say("two"), say("three"))
    first = drive.conv(store=store, id="t")
    drive(first.send("a"))
    second = drive.cls().from_store(store, "t", client=drive.client())
    drive(first.send("b"))  # the first writer moves on
    requests = len(bodies(emu))
    version = store.version("t")
    with pytest.raises(ConflictError, match="reload"):
        drive(second.send("c"))
    assert len(bodies(emu)) == requests  # no wasted model call
    assert store.version("t") == version  # the stale writer wrote nothing
    fresh = drive.cls().from_store(store, "t", client=drive.client())
    assert [s.content[0].text for s in fresh.history if s.type == "user_input"] == ["a", "b"]
    assert drive(fresh.send("c")).output_text == "three"


def test_a_new_conversation_cannot_take_an_existing_id(drive: Any, scripted: ScriptedModel) -> None:
    store = MemoryStore()
    scripted.add(say("one"), say("two"))
    drive(drive.conv(store=store, id="t").send("a"))
    with pytest.raises(ConflictError):
        drive(drive.conv(store=store, id="t").send("b"))
    assert len(store.read("t").records) == store.version("t")


def crash_inside(
    drive: Any, scripted: ScriptedModel, tool_name: str, log: list[str]
) -> SQLiteStore:
    """A turn that looks a key up, then calls ``tool_name``, and dies inside it."""
    store = MemoryStore()
    args = {"amount": 5} if tool_name == "pay" else {"key": "b"}
    scripted.add(
        [call("lookup", "c1", key="a")],
        [call(tool_name, "c2", **args)],
        say("all done"),
    )
    crash_on = {"pay"} if tool_name == "pay" else {"b"}
    conv = drive.conv(tools=make_tools(log, crash_on), store=store, id="t")
    with pytest.raises(Crash):
        drive(conv.send("do the task"))
    return store


def test_recover_reruns_an_idempotent_call_and_never_a_completed_one(
    drive: Any, scripted: ScriptedModel, emu: Emulator
) -> None:
    log: list[str] = []
    store = crash_inside(drive, scripted, "lookup", log)
    assert log == ["lookup", "lookup"]
    conv = drive.cls().from_store(store, "t", client=drive.client(), tools=make_tools(log, set()))
    assert conv.needs_recovery
    turn = drive(conv.recover())
    assert turn.status == "completed" and turn.output_text == "all done"
    assert log == ["lookup", "lookup", "lookup"]  # c1 was journaled: not run again
    assert answered_once(conv.history) and encodes(conv.history)
    assert [c.id for c in turn.tool_calls] == ["c1", "c2"]
    assert not conv.needs_recovery
    again = drive.cls().from_store(store, "t", client=drive.client())
    assert again.history == conv.history and not again.needs_recovery


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_non_idempotent_call_in_doubt_waits_for_a_decision(
    drive: Any, scripted: ScriptedModel, decision: str
) -> None:
    log: list[str] = []
    store = crash_inside(drive, scripted, "pay", log)
    conv = drive.cls().from_store(store, "t", client=drive.client(), tools=make_tools(log, set()))
    turn = drive(conv.recover())
    assert turn.status == "awaiting_approval"
    assert [c.id for c in conv.pending_approvals] == ["c2"] and conv.in_doubt == ["c2"]
    assert log == ["lookup", "pay"]
    # The pause itself is journaled: a reload still shows the decision to take.
    reloaded = drive.cls().from_store(
        store, "t", client=drive.client(), tools=make_tools(log, set())
    )
    assert reloaded.in_doubt == ["c2"] and not reloaded.needs_recovery
    if decision == "approve":
        reloaded.approve("c2")
    else:
        reloaded.reject("c2", "it may have paid already")
    final = drive(reloaded.resume())
    assert final.status == "completed"
    assert log == (["lookup", "pay", "pay"] if decision == "approve" else ["lookup", "pay"])
    assert answered_once(reloaded.history)


def test_the_request_in_flight_is_sent_again(drive: Any, emu: Emulator) -> None:
    attempts: list[int] = []

    def model(request: Any) -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise Crash  # dies while the request is in flight
        return say("answered")

    emu.model = FunctionModel(model)
    store = MemoryStore()
    conv = drive.conv(store=store, id="t")
    with pytest.raises(Crash):
        drive(conv.send("question"))
    loaded = drive.cls().from_store(store, "t", client=drive.client())
    assert loaded.needs_recovery
    turn = drive(loaded.recover())
    assert turn.output_text == "answered"
    assert [s.type for s in loaded.history] == ["user_input", "thought", "model_output"]
    with pytest.raises(StateError, match="nothing to recover"):
        drive(loaded.recover())


def test_send_after_a_crash_answers_a_started_call_as_outcome_unknown(
    drive: Any, scripted: ScriptedModel, emu: Emulator
) -> None:
    """``pay`` started (journaled) and the process died in it: a new message answers it with
    what is known (it may have run), never "Not run"."""
    log: list[str] = []
    store = crash_inside(drive, scripted, "pay", log)
    scripted.add(say("new turn"))
    conv = drive.cls().from_store(store, "t", client=drive.client(), tools=make_tools(log, set()))
    turn = drive(conv.send("never mind"))
    assert turn.output_text in ("all done", "new turn")
    closed = [s for s in conv.history if s.type == "function_result" and s.call_id == "c2"]
    assert len(closed) == 1 and closed[0].is_error
    assert json.dumps(closed[0].result).startswith('"Outcome unknown: this call started')
    assert log == ["lookup", "pay"] and answered_once(conv.history)


def test_journaling_does_not_start_toolsets_before_the_first_turn(
    drive: Any, scripted: ScriptedModel
) -> None:
    asked: list[int] = []

    class CountingToolset:
        """A toolset (like an MCP server) that is expensive to start."""

        def tools(self) -> list[Any]:
            asked.append(1)
            return make_tools([], set())[1:]

        def close(self) -> None:
            pass

    store = MemoryStore()
    conv = drive.conv(tools=[CountingToolset()], store=store, id="t")
    assert asked == []  # construction with a store starts nothing
    scripted.add(say("hi"))
    drive(conv.send("hello"))
    assert asked and store.read("t").meta["settings"]["tool_names"] == ["lookup"]


def test_store_meta_written_by_an_application_is_kept(drive: Any, scripted: ScriptedModel) -> None:
    store = MemoryStore()
    scripted.add(say("one"), say("two"))
    drive(drive.conv(store=store, id="t").send("first"))
    stored = store.read("t")
    store.append("t", [], expected_version=stored.version, meta={**stored.meta, "app": {"x": 1}})
    loaded = drive.cls().from_store(
        store, "t", client=drive.client(), model="gemini-3.1-pro-preview"
    )
    drive(loaded.send("second"))  # the changed model is stored with the next write
    meta = store.read("t").meta
    assert meta["app"] == {"x": 1} and meta["settings"]["model"] == "gemini-3.1-pro-preview"


def test_send_after_a_crash_inside_an_idempotent_call_says_it_may_have_run(
    drive: Any, scripted: ScriptedModel
) -> None:
    """Idempotent calls are not journaled as started: one cut short may have run."""
    log: list[str] = []
    store = crash_inside(drive, scripted, "lookup", log)
    scripted.add(say("new turn"))
    conv = drive.cls().from_store(store, "t", client=drive.client(), tools=make_tools(log, set()))
    drive(conv.send("never mind"))
    (result,) = [s for s in conv.history if s.type == "function_result" and s.call_id == "c2"]
    assert result.is_error and str(result.result).startswith("Outcome unknown")
    assert "may or may not have run" in str(result.result) and log == ["lookup", "lookup"]


@pytest.mark.parametrize("how", ["with", "break"])
def test_a_stream_left_early_is_journaled_as_it_ended(
    drive: Any, scripted: ScriptedModel, how: str
) -> None:
    """The turn a closed stream ends is in the store at once, as in history: a reload does not
    see a turn cut short (whose recover() would run the call the caller stopped)."""
    log: list[str] = []
    store = MemoryStore()
    scripted.add([call("pay", "c1", amount=5)], say("fresh"))
    conv = drive.conv(tools=make_tools(log, set()), store=store, id="t")

    def leave(events: Any) -> None:
        for event in events:
            if event.type == "tool_call_started":
                break

    async def aleave(events: Any) -> None:
        async for event in events:
            if event.type == "tool_call_started":
                break

    if how == "with" and not drive.is_async:
        with conv.stream("pay") as events:
            leave(events)
    elif how == "with":

        async def run() -> None:
            async with conv.stream("pay") as events:
                await aleave(events)

        drive(run())
    elif not drive.is_async:
        leave(conv.stream("pay"))  # no reference kept: closed when the loop is left
    else:
        events = conv.stream("pay")
        drive(aleave(events))
        drive(events.aclose())
    assert conv.status == "idle" and log == []
    loaded = drive.cls().from_store(store, "t", client=drive.client(), tools=make_tools(log, set()))
    assert not loaded.needs_recovery and loaded.history == conv.history
    assert str(loaded.history[-1].result).startswith("Not run: the caller stopped the turn")
    assert drive(loaded.send("again")).output_text == "fresh" and log == []

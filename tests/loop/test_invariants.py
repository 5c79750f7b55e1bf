"""The history invariants under random sequences of faults (property-based).

Hypothesis drives random turns through both drivers against the emulator: tools that raise,
return values that cannot be encoded, or are interrupted; responses with repeated call ids;
HTTP errors before and after model output; an expired chain (404); approvals left pending;
strategy switches; save/load mid-way. After every step the invariants must hold:

* history encodes (every step has a wire form);
* every function call has exactly one result (calls of a paused turn wait for a decision);
* the next request is accepted (the emulator checks call/result pairing and signatures; any
  400 it sends here is a failure).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loop_helpers import (
    Driver,
    answered_once,
    call,
    delete_file,
    encodes,
    explode,
    get_weather,
    say,
)

from agentloop import Hooks, tool
from agentloop.errors import (
    ConflictError,
    HookError,
    MalformedResponseError,
    ServerError,
    StateError,
    TurnInProgressError,
)
from agentloop.testing import Emulator, ScriptedModel


class Crash(BaseException):
    """An interruption inside a tool (like KeyboardInterrupt, without touching signals)."""


@tool
def list_dir() -> list[str]:
    """Entries with a name that is not valid UTF-8."""
    return ["a.txt", "b-\udcff.txt"]


@tool
def interrupted() -> str:
    """Interrupted while running."""
    raise Crash


OPS = [
    "text",
    "tool_ok",
    "tool_raise",
    "tool_unencodable",
    "tool_interrupted",
    "duplicate_ids",
    "error_before_output",
    "error_after_output",
    "expired_chain",
    "approval",
    "switch_strategy",
    "save_load",
]


def unanswered_allowed(conv: Any) -> set[str]:
    return {c.id for c in conv.pending_approvals}


def check(conv: Any) -> None:
    history = conv.history
    assert encodes(history)
    waiting = unanswered_allowed(conv)
    answered = [s for s in history if s.type != "function_call" or s.id not in waiting]
    assert answered_once(answered)


def run_op(d: Driver, emu: Emulator, scripted: ScriptedModel, conv: Any, op: str, n: int) -> Any:
    """Run one step; returns the conversation to use next."""
    ids = f"c{n}"
    if op == "text":
        scripted.add(say(f"text {n}"))
        assert d(conv.send(f"hello {n}")).status == "completed"
    elif op == "tool_ok":
        scripted.add([call("get_weather", ids, city="Oslo")], say("weather"))
        assert d(conv.send("weather?")).tool_calls[-1].is_error is False
    elif op == "tool_raise":
        scripted.add([call("explode", ids, reason="x")], say("it failed"))
        assert d(conv.send("explode")).tool_calls[-1].is_error
    elif op == "tool_unencodable":
        scripted.add([call("list_dir", ids)], say("listed"))
        d(conv.send("list"))
    elif op == "tool_interrupted":
        scripted.add([call("interrupted", ids)])
        with pytest.raises(Crash):
            d(conv.send("run it"))
    elif op == "duplicate_ids":
        scripted.add([call("get_weather", ids, city="A"), call("get_weather", ids, city="B")])
        with pytest.raises(MalformedResponseError):
            d(conv.send("two cities"))
    elif op == "error_before_output":
        emu.faults.http_error(500, count=1)
        with pytest.raises(ServerError):
            d(conv.send("fails"))
    elif op == "error_after_output":

        def then_fail(request: object) -> list[dict[str, Any]]:
            emu.faults.http_error(503, count=1)
            return [call("get_weather", ids, city="Rome")]

        scripted.add(then_fail)
        with pytest.raises(ServerError):
            d(conv.send("weather then fail"))
    elif op == "expired_chain":
        if conv.last_interaction_id and conv.strategy == "stateful":
            d(conv.client.interactions.delete(conv.last_interaction_id))  # the chain expired
        scripted.add(say("replayed"))
        assert d(conv.send("still there?")).status == "completed"
    elif op == "approval":
        scripted.add([call("delete_file", ids, path="/tmp/x")])
        assert d(conv.send("delete")).status == "awaiting_approval"
    elif op == "switch_strategy":
        conv.strategy = "stateless" if conv.strategy == "stateful" else "stateful"
    elif op == "save_load":
        conv = d.cls().from_dict(conv.to_dict(), client=conv.client, tools=TOOLS)
    return conv


TOOLS = [get_weather, explode, list_dir, interrupted, delete_file]


@pytest.mark.parametrize("kind", ["sync", "async"])
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(st.sampled_from(OPS), min_size=1, max_size=7))
def test_invariants_hold_under_random_faults(kind: str, ops: list[str]) -> None:
    scripted = ScriptedModel()
    emu = Emulator(model=scripted)
    d = Driver(kind, emu)
    try:
        conv = d.conv(d.client(max_retries=0), tools=TOOLS)
        counter = itertools.count()
        for op in ops:
            conv = run_op(d, emu, scripted, conv, op, next(counter))
            check(conv)
        # The next request is accepted, whatever came before.
        scripted.add(say("final"))
        assert d(conv.send("final question")).output_text == "final"
        check(conv)
        assert not conv.pending_approvals and not conv.needs_recovery
    finally:
        d.close()


# --- interruption at random points (issue 20) ------------------------------------------------
#
# The truth invariant on top of the ones above: a call whose tool body returned is never
# recorded as not run (its real result is in history, or it is still running), no call is
# answered twice, history and journal agree, and the next request is accepted. The
# interruptions: Ctrl-C / cancellation while calls run, a raising or interrupted after_tool
# hook, a second writer (during a live turn and after it), a decision given twice.

RETURNED: dict[str, str] = {}  # call id -> what its tool body returned
PROBLEMS: list[str] = []  # what a tool saw that breaks an invariant (a tool cannot assert)
STATE: dict[str, Any] = {}  # the running test's interrupt function, store, driver


@tool
def settle(tag: str) -> str:
    """Returns at once (a call that finished).

    Args:
        tag: The call's id.
    """
    RETURNED[tag] = f"settled {tag}"
    STATE["settled"].set()
    return f"settled {tag}"


@tool
def victim(tag: str) -> str:
    """Interrupts the turn once the other call has returned, and hangs.

    Args:
        tag: The call's id.
    """
    assert STATE["settled"].wait(10)
    STATE["interrupt"]()
    time.sleep(0.3)  # hangs past the grace period: in doubt
    return "too late"


@tool
def peek(tag: str) -> str:
    """A second writer looks at the conversation while this turn runs.

    Args:
        tag: The call's id.
    """
    from agentloop import Conversation

    other = Conversation.from_store(STATE["store"], STATE["id"], client=STATE["emu"].client())
    if other.needs_recovery or other.running_elsewhere is None:
        PROBLEMS.append(f"a live turn looked cut short to a second writer ({tag})")
    try:
        other.send("the second writer barges in")
        PROBLEMS.append("a second writer could send during a live turn")
    except TurnInProgressError:
        pass
    RETURNED[tag] = f"peeked {tag}"
    return f"peeked {tag}"


TRUTH_TOOLS = [*TOOLS, settle, victim, peek]

TRUTH_OPS = [
    "text",
    "tool_ok",
    "tool_raise",
    "interrupt_tools",
    "hook_raises",
    "hook_interrupted",
    "second_writer_live",
    "second_writer_after",
    "decide_twice",
    "approval",
    "save_load",
]


def interrupter(d: Driver) -> Any:
    """What ``victim`` calls: Ctrl-C (sync) or cancelling the turn's task (async)."""
    if not d.is_async:

        def ctrl_c() -> None:
            raise KeyboardInterrupt

        return ctrl_c
    assert d.loop is not None
    loop = d.loop
    return lambda: loop.call_soon_threadsafe(STATE["task"].cancel)


def send(d: Driver, conv: Any, text: str) -> Any:
    """``conv.send(text)``; the async driver runs it as a task ``victim`` may cancel."""
    if not d.is_async:
        return conv.send(text)
    assert d.loop is not None
    task = d.loop.create_task(conv.send(text))
    STATE["task"] = task
    return d.loop.run_until_complete(task)


def truth_op(d: Driver, emu: Emulator, scripted: ScriptedModel, conv: Any, op: str, n: int) -> Any:
    ids = f"t{n}"
    STATE["settled"] = threading.Event()
    if op in ("second_writer_after", "save_load") and STATE["store"].version(conv.id) == 0:
        scripted.add(say("nothing stored yet"))
        d(conv.send("a first turn"))
    if op == "interrupt_tools":
        scripted.add(
            [call("settle", f"{ids}a", tag=f"{ids}a"), call("victim", f"{ids}b", tag=f"{ids}b")]
        )
        with pytest.raises((KeyboardInterrupt, asyncio.CancelledError)):
            send(d, conv, "pay both")
    elif op in ("hook_raises", "hook_interrupted"):

        def raiser(event: Any) -> None:
            raise RuntimeError("the audit log is down")

        def ctrl_c(event: Any) -> None:
            raise KeyboardInterrupt  # Ctrl-C while the hook runs

        async def cancelled(event: Any) -> None:
            STATE["task"].cancel()  # a web Stop while the hook runs
            await asyncio.sleep(3600)

        hook: Any = raiser
        if op == "hook_interrupted":
            hook = cancelled if d.is_async else ctrl_c
        conv.hooks = Hooks(after_tool=hook)
        scripted.add([call("settle", ids, tag=ids)])
        try:
            with pytest.raises((HookError, KeyboardInterrupt, asyncio.CancelledError)):
                send(d, conv, "settle it")
        finally:
            conv.hooks = None
    elif op == "second_writer_live":
        scripted.add([call("peek", ids, tag=ids)], say("peeked"))
        assert d(conv.send("peek")).status == "completed"
    elif op == "second_writer_after":
        other = d.cls().from_store(STATE["store"], conv.id, client=conv.client, tools=TRUTH_TOOLS)
        scripted.add(say("the other writer's answer"))
        d(other.send("from the other writer"))
        version, requests = STATE["store"].version(conv.id), len(emu.requests)
        with pytest.raises(ConflictError):
            d(conv.send("from the stale writer"))  # refused before anything is written or sent
        assert STATE["store"].version(conv.id) == version and len(emu.requests) == requests
        conv = other
    elif op == "decide_twice":
        scripted.add([call("delete_file", ids, path="/tmp/x")], say("deleted"))
        assert d(conv.send("delete")).status == "awaiting_approval"
        conv.approve(ids)
        conv.approve(ids)  # the same decision again: fine
        if ids in conv.in_doubt:
            with pytest.raises(StateError):
                conv.reject(ids)
        for other_id in [c.id for c in conv.pending_approvals if c.id != ids]:
            conv.reject(other_id)
        d(conv.resume())
    elif op == "save_load":
        conv = d.cls().from_store(STATE["store"], conv.id, client=conv.client, tools=TRUTH_TOOLS)
    else:
        conv = run_op(d, emu, scripted, conv, op, n)
    return conv


def check_truth(conv: Any) -> None:
    check(conv)
    assert not PROBLEMS, PROBLEMS
    results = {s.call_id: s for s in conv.history if s.type == "function_result"}
    waiting = unanswered_allowed(conv)
    for call_id, value in RETURNED.items():
        assert call_id not in waiting, f"{call_id} returned but is pending as if in doubt"
        result = results.get(call_id)
        assert result is not None, f"{call_id} returned and has no result"
        assert result.result == value, f"{call_id} returned {value!r}, recorded {result.result!r}"
    for call_id, result in results.items():
        if isinstance(result.result, str) and result.result.startswith("Not run"):
            assert call_id not in RETURNED
    # The journal says what history says.
    from agentloop.loop.persist import fold

    stored = STATE["store"].read(conv.id)
    folded = fold(stored.records, stored.version).state.history
    assert [s.model_dump(mode="json") for s in folded] == [
        s.model_dump(mode="json") for s in conv.history
    ]


@pytest.mark.parametrize("kind", ["sync", "async"])
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(st.sampled_from(TRUTH_OPS), min_size=1, max_size=6))
def test_history_never_says_a_call_did_not_run_when_it_did(kind: str, ops: list[str]) -> None:
    from memory_store import MemoryStore

    RETURNED.clear()
    PROBLEMS.clear()
    scripted = ScriptedModel()
    emu = Emulator(model=scripted)
    d = Driver(kind, emu)
    store = MemoryStore()
    STATE.update(store=store, id="inv", emu=emu, interrupt=interrupter(d))
    try:
        conv = d.conv(d.client(max_retries=0), tools=TRUTH_TOOLS, store=store, id="inv")
        conv.interrupt_grace = 0.05
        for n, op in enumerate(ops):
            conv = truth_op(d, emu, scripted, conv, op, n)
            conv.interrupt_grace = 0.05
            check_truth(conv)
        scripted.add(say("final"))
        assert d(conv.send("final question")).output_text == "final"
        check_truth(conv)
        assert not conv.pending_approvals and not conv.needs_recovery
    finally:
        d.close()
        store.close()

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

import itertools
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

from agentloop import tool
from agentloop.errors import MalformedResponseError, ServerError
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

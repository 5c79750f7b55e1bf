"""Tool threads end when nobody can use them any more: a conversation that simply goes away
(no ``close()``) leaves no thread behind, and idle pool threads end after ``IDLE_EXIT``."""

from __future__ import annotations

import gc
import os
import threading
import time
from typing import Any

import pytest

from agentloop import Conversation, tool
from agentloop.errors import StateError
from agentloop.testing import Emulator, ScriptedModel
from agentloop.tools import ToolRegistry, _pool


@tool
def echo(x: int) -> int:
    """Echo a number.

    Args:
        x: The number.
    """
    return x


@tool
async def aecho(x: int) -> int:
    """Echo a number (async).

    Args:
        x: The number.
    """
    return x


def tool_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("agentloop-tool")]


def wait_until(condition: Any, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def calls(name: str, n: int) -> list[dict[str, Any]]:
    return [
        {"type": "function_call", "id": f"c{i}", "name": name, "arguments": {"x": i}}
        for i in range(n)
    ]


def test_dropped_conversations_leave_no_tool_threads() -> None:
    before = set(tool_threads())
    model = ScriptedModel()
    emu = Emulator(model=model)
    for _ in range(5):
        model.add(
            calls("echo", 4),
            [{"type": "model_output", "content": [{"type": "text", "text": "ok"}]}],
        )
        conv = Conversation(emu.client(), tools=[echo, aecho])
        conv.send("go")
        del conv
    gc.collect()
    assert wait_until(lambda: set(tool_threads()) <= before), tool_threads()


def test_dropped_traced_conversations_leave_no_tool_threads() -> None:
    """With tracing on, each call's tool code runs inside its span (a wrapper of the turn's
    observer, which knows the conversation): a parked pool thread must not keep the last call
    it ran, or the conversation, its pool and its threads outlive it by ``IDLE_EXIT``."""
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider

    import agentloop

    agentloop.instrument(tracer_provider=TracerProvider())
    try:
        test_dropped_conversations_leave_no_tool_threads()
    finally:
        agentloop.instrument(enabled=False)


def test_a_registry_collected_where_its_pool_is_locked_does_not_hang(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A garbage collection runs finalizers in whichever thread it happens, a pool thread
    inside its locked section included: the dropped registry's pool then shuts down without
    waiting for the lock (which that thread itself holds), and its idle thread still ends."""
    monkeypatch.setattr(_pool, "IDLE_EXIT", 0.2)
    registry: ToolRegistry | None = ToolRegistry([echo])
    assert registry is not None
    pool = registry._get_pool()
    assert pool.submit(int, 1).result(5) == 1  # one thread, now parked
    done = threading.Event()

    def collect_holding_the_lock() -> None:
        nonlocal registry
        with pool._lock:
            registry = None
            gc.collect()
        done.set()

    threading.Thread(target=collect_holding_the_lock, daemon=True).start()
    assert done.wait(10), "the dropped registry's finalizer blocked on its pool's lock"
    with pytest.raises(StateError):
        pool.submit(int, 2)  # shut down
    assert wait_until(lambda: pool.busy == 0)


def test_a_dropped_registry_stops_its_private_loop() -> None:
    before = set(tool_threads())
    registry = ToolRegistry([aecho])
    call = {"type": "function_call", "id": "a", "name": "aecho", "arguments": {"x": 1}}
    from agentloop.types import FunctionCallStep

    assert registry.run([FunctionCallStep.model_validate(call)])[0].value == 1
    assert set(tool_threads()) - before  # the loop thread runs
    del registry
    gc.collect()
    assert wait_until(lambda: set(tool_threads()) <= before), tool_threads()


def test_a_dropped_registrys_private_loop_is_closed_not_only_stopped() -> None:
    """Its selector and self-pipe go with its thread, not whenever the loop object is
    collected ("unclosed event loop")."""
    registry: ToolRegistry | None = ToolRegistry([aecho])
    assert registry is not None
    call = {"type": "function_call", "id": "a", "name": "aecho", "arguments": {"x": 1}}
    from agentloop.types import FunctionCallStep

    assert registry.run([FunctionCallStep.model_validate(call)])[0].value == 1
    loop = registry._get_loop()
    registry = None
    gc.collect()
    assert wait_until(loop.is_closed)


def test_idle_pool_threads_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pool, "IDLE_EXIT", 0.05)
    pool = _pool.ToolPool(4)
    barrier = threading.Barrier(3)
    futures = [pool.submit(barrier.wait, 5) for _ in range(3)]
    for future in futures:
        future.result(5)
    assert pool.busy == 3
    assert wait_until(lambda: pool.busy == 0)
    assert pool.submit(lambda: 42).result(5) == 42  # a new thread starts for new work
    pool.shutdown()


_forked: ToolRegistry | None = None


def _run_in_child(conn: Any) -> None:
    """In a forked child: a batch of a slow tool (pool threads) and a batch of quick calls
    that wait for each other (the watch thread)."""
    from agentloop.types import FunctionCallStep

    assert _forked is not None
    slow = [FunctionCallStep(id=f"s{i}", name="nap", arguments={"i": i}) for i in range(3)]
    meet = [FunctionCallStep(id=f"m{i}", name="meet", arguments={"i": i}) for i in range(3)]
    conn.send([[o.value for o in _forked.run(slow)], [o.value for o in _forked.run(meet)]])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_registry_used_before_a_fork_runs_tools_in_the_child() -> None:
    """The parent's pool threads do not exist in a forked child: its pools start afresh
    there (before, the child waited forever for threads that were never woken)."""
    import multiprocessing
    import warnings

    global _forked
    meeting = threading.Barrier(3, timeout=10)

    @tool
    def nap(i: int) -> int:
        time.sleep(0.01)
        return i

    @tool
    def meet(i: int) -> int:
        meeting.wait()
        return i

    from agentloop.types import FunctionCallStep

    with ToolRegistry([nap, meet]) as registry:
        slow = [FunctionCallStep(id=f"s{i}", name="nap", arguments={"i": i}) for i in range(3)]
        assert [o.value for o in registry.run(slow)] == [0, 1, 2]  # the parent's threads
        meet._recent_seconds = 0.0  # quick: the child runs them itself, watched
        _forked = registry
        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe()
        with warnings.catch_warnings():  # (forking a process that has threads: on purpose)
            warnings.simplefilter("ignore", DeprecationWarning)
            child = context.Process(target=_run_in_child, args=(theirs,))
            child.start()
        try:
            assert ours.poll(30), "the child hung"
            assert ours.recv() == [[0, 1, 2], [0, 1, 2]]
        finally:
            child.join(10)
            if child.is_alive():
                child.kill()
            _forked = None

"""A batch of calls costs one thread hand-off: the calls of quick tools share a pool thread, and
the waiting caller gives each call still queued a thread of its own once the batch runs longer
than ``SPREAD_AFTER``, so a batch's calls always can run concurrently (no timing assertions:
barriers only release when all calls are in flight)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from agentloop import Conversation, tool
from agentloop.testing import Emulator, ScriptedModel
from agentloop.tools import Tool, ToolRegistry, execution
from agentloop.tools._pool import CANCELLED, DONE, QUEUED, RUNNING, Batch, Job, Signal, ToolPool
from agentloop.types import FunctionCallStep

DRIVERS = ["sync", "async"]


def run(driver: str, registry: ToolRegistry, calls: list[FunctionCallStep]) -> list[Any]:
    outcomes = registry.run(calls) if driver == "sync" else asyncio.run(registry.arun(calls))
    assert not any(o.is_error for o in outcomes), [o.result.result for o in outcomes]
    return [o.value for o in outcomes]


def calls_of(name: str, n: int) -> list[FunctionCallStep]:
    return [FunctionCallStep(id=f"c{i}", name=name, arguments={"i": i}) for i in range(n)]


def call(name: str, call_id: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "function_call", "id": call_id, "name": name, "arguments": arguments}


def say(text: str) -> list[dict[str, Any]]:
    return [{"type": "model_output", "content": [{"type": "text", "text": text}]}]


def results(conv: Conversation) -> dict[str, Any]:
    return {s.call_id: s.result for s in conv.history if s.type == "function_result"}


def quick(t: Tool[..., Any]) -> None:
    """As if its last call had been quick (on a loaded machine a trivial call may not be)."""
    t._recent_seconds = 0.0


# --- the pool --------------------------------------------------------------------------------


def test_a_lazy_batch_takes_one_thread_until_spread() -> None:
    pool = ToolPool(4)
    batch = Batch(3)
    started, go = threading.Event(), threading.Event()
    threads: dict[str, int] = {}

    def first() -> str:
        threads["first"] = threading.get_ident()
        started.set()
        assert go.wait(10)
        return "first"

    def later(name: str) -> str:
        threads[name] = threading.get_ident()
        return name

    jobs = [Job(first, (), batch), Job(later, ("b",), batch), Job(later, ("c",), batch)]
    pool.put(jobs, lazy=True)
    assert started.wait(10)
    assert [job.state for job in jobs[1:]] == [QUEUED, QUEUED]  # behind the first, one thread
    assert pool.spread() is True  # each queued call gets a thread: they run at once
    while batch.left > 1:  # (the caller is woken when the last call settles only)
        batch.wait(0.01)
    assert {threads["b"], threads["c"]}.isdisjoint({threads["first"]})
    go.set()
    while batch.left:
        batch.wait(10)
    assert [job.value for job in jobs] == ["first", "b", "c"]
    assert pool.spread() is False  # nothing queued any more
    pool.shutdown()
    assert pool.busy == 0


def test_cancel_drops_a_queued_job_only() -> None:
    pool = ToolPool(1)
    started, go = threading.Event(), threading.Event()
    ran: list[str] = []
    running = Job(lambda: started.set() or go.wait(10), ())
    queued = Job(ran.append, ("queued",))
    pool.put([running, queued], lazy=False)
    assert started.wait(10)
    assert pool.cancel(running) is False  # it started: it runs to its end
    assert pool.cancel(queued) is True
    go.set()
    pool.shutdown(wait=True)
    assert running.state == DONE and running.value is True
    assert queued.state == CANCELLED and ran == []


def test_abandoning_a_call_gives_the_calls_queued_behind_it_threads() -> None:
    pool = ToolPool(2)
    release = threading.Event()
    pair = threading.Barrier(2, timeout=10)  # only passable if both queued calls run at once
    batch = Batch(3)
    hung = Job(release.wait, (30,), batch)
    jobs = [hung, Job(pair.wait, (), batch), Job(pair.wait, (), batch)]
    pool.put(jobs, lazy=True)
    while hung.state == QUEUED:
        batch.wait(0.01)
    pool.abandon(hung)  # its slot is free, and the queue is spread over new threads
    batch.settle(hung)
    while batch.left:
        batch.wait(10)
    assert all(job.error is None for job in jobs[1:])
    assert hung.state != DONE  # still running: Python cannot stop it
    release.set()
    pool.shutdown()


def test_the_watchdog_spreads_a_batch_only_when_a_running_call_stalls_it() -> None:
    spreads: list[int] = []

    class Pool(ToolPool):
        def spread(self) -> bool:
            spreads.append(1)
            return True

    pool = Pool(4)
    batch = Batch(3)
    prepared = [
        execution.PreparedCall(FunctionCallStep(id=f"c{i}", name="t"), None, [], {})  # type: ignore[arg-type]
        for i in range(3)
    ]
    handed = [execution._Handed(i, p, batch) for i, p in enumerate(prepared)]
    watchdog = execution._Watchdog(lambda: pool, batch, handed)
    assert watchdog.look() is True and spreads == []  # no thread has started it yet: wait
    handed[0].state = RUNNING
    batch.settle(handed[2])  # a call ended since the last look: progress, wait
    handed[2].state = DONE
    assert watchdog.look() is True and spreads == []
    assert watchdog.look() is False and spreads == [1]  # no progress while one runs: spread
    handed[1].state = RUNNING  # nothing queued: nothing to spread, stop looking
    assert execution._Watchdog(lambda: pool, batch, handed).look() is False
    assert spreads == [1]


def test_signal_calls_its_watchers_once() -> None:
    signal = Signal()
    seen: list[str] = []
    signal.watch(lambda: seen.append("a"))
    gone = lambda: seen.append("gone")  # noqa: E731
    signal.watch(gone)
    signal.unwatch(gone)
    assert not signal.done() and signal.result() is None
    assert signal.set("why") is True and signal.set("again") is False
    assert signal.done() and signal.result() == "why" and seen == ["a"]
    signal.watch(lambda: seen.append("late"))  # set already: called at once
    assert seen == ["a", "late"]


# --- the drivers -----------------------------------------------------------------------------


@pytest.mark.parametrize("driver", DRIVERS)
def test_quick_calls_share_one_thread(driver: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execution, "SPREAD_AFTER", 60.0)  # never spread here
    threads: list[int] = []

    @tool
    def where(i: int) -> int:
        threads.append(threading.get_ident())
        return i

    with ToolRegistry([where]) as registry:
        quick(where)
        assert run(driver, registry, calls_of("where", 5)) == [0, 1, 2, 3, 4]
    assert len(set(threads)) == 1 and threads[0] != threading.get_ident()


@pytest.mark.parametrize("driver", DRIVERS)
def test_quick_calls_that_wait_for_each_other_still_meet(driver: str) -> None:
    """A tool quick so far whose calls now wait for each other: the caller spreads the
    calls still queued behind the first, so they meet (none waits for its own timeout)."""
    n = 4
    meeting = threading.Barrier(n, timeout=10)  # BrokenBarrierError unless all n run at once

    @tool
    def meet(i: int) -> int:
        meeting.wait()
        return i

    with ToolRegistry([meet], max_workers=n) as registry:
        quick(meet)
        assert run(driver, registry, calls_of("meet", n)) == list(range(n))
        assert meet._recent_seconds is not None and meet._recent_seconds >= execution.QUICK_CALL


@pytest.mark.parametrize("driver", DRIVERS)
def test_calls_of_a_slow_tool_get_a_thread_each_at_once(
    driver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(execution, "SPREAD_AFTER", 60.0)  # only eager hand-off can meet
    n = 3
    meeting = threading.Barrier(n, timeout=10)

    @tool
    def meet(i: int) -> int:
        meeting.wait()
        return i

    with ToolRegistry([meet]) as registry:
        meet._recent_seconds = execution.QUICK_CALL  # its last call was not quick
        assert run(driver, registry, calls_of("meet", n)) == list(range(n))
        meet._recent_seconds = None  # never ran (a new tool): the same
        meeting.reset()
        assert run(driver, registry, calls_of("meet", n)) == list(range(n))


def test_a_conversation_runs_quick_calls_that_meet() -> None:
    """Through ``Conversation.send`` (which can be stopped: the caller waits, never runs a
    call itself)."""
    meeting = threading.Barrier(3, timeout=10)

    @tool
    def meet(who: str) -> str:
        meeting.wait()
        return f"met {who}"

    quick(meet)
    scripted = ScriptedModel([[call("meet", w, who=w) for w in "abc"], say("done")])
    conv = Conversation(Emulator(model=scripted).client(), tools=[meet])
    assert conv.send("meet").output_text == "done"
    assert results(conv) == {"a": "met a", "b": "met b", "c": "met c"}
    assert conv._stop.wake._watchers == []  # the batch stopped watching the switch


def test_cancel_stops_a_batch_sharing_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """``conv.cancel()`` wakes the caller at once: the call running is in doubt after the
    grace period, the calls still queued behind it never run."""
    monkeypatch.setattr(execution, "SPREAD_AFTER", 60.0)  # b and c stay queued behind a
    started, hang = threading.Event(), threading.Event()
    ran: list[str] = []

    @tool
    def pay(who: str) -> str:
        ran.append(who)
        if who == "a":
            started.set()
            hang.wait(30)
        return f"paid {who}"

    quick(pay)
    scripted = ScriptedModel([[call("pay", w, who=w) for w in "abc"], say("after")])
    conv = Conversation(Emulator(model=scripted).client(), tools=[pay])
    conv.interrupt_grace = 0.1
    # (the turn ends only once the cancellation is in: no need to join the canceller)
    threading.Thread(target=lambda: started.wait(30) and conv.cancel(), daemon=True).start()
    try:
        turn = conv.send("pay everyone")
    finally:
        hang.set()
    assert ran == ["a"]
    assert conv.in_doubt == ["a"] and turn.status == "awaiting_approval"
    known = results(conv)
    assert known["b"].startswith("Not run:") and known["c"].startswith("Not run:")

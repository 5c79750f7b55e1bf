"""A batch of quick calls costs no thread hand-off in a blocking caller (they run in the calling
thread while the pool's watch thread looks on) and one in an awaiting caller (they share a pool
thread while the event loop looks on); either way each call still queued gets a thread of its
own once the batch stalls for ``SPREAD_AFTER``, so a batch's calls always can run concurrently
(no timing assertions: barriers only release when all calls are in flight)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from agentloop import AsyncConversation, Conversation, tool
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


def never_spread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither watcher (the event loop's, the pool's watch thread) looks during the test."""
    from agentloop.tools import _pool

    monkeypatch.setattr(execution, "SPREAD_AFTER", 60.0)
    monkeypatch.setattr(_pool, "SPREAD_AFTER", 60.0)


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


def test_a_watchdog_drops_the_calls_still_queued_once_the_batch_is_stopped() -> None:
    """The calling thread runs the batch's calls and cannot drop them itself while one runs:
    once stopped (``conv.cancel()``), the watch thread drops them (they never run)."""
    spread: list[list[str]] = []
    pool = ToolPool(4)
    batch = Batch(3)
    stop = Signal()
    prepared = [
        execution.PreparedCall(FunctionCallStep(id=f"c{i}", name="t"), None, [], {})  # type: ignore[arg-type]
        for i in range(3)
    ]
    handed = [execution._Handed(i, p, batch) for i, p in enumerate(prepared)]
    watchdog = execution._Watchdog(
        lambda: pool,
        batch,
        handed,
        spread=lambda _, calls: spread.append([h.prepared.call.id for h in calls]),
        stop=stop,
    )
    watchdog.seen = -1  # as the pool's watch thread starts: the first look only notes
    handed[0].state = RUNNING
    assert watchdog.look() is True and spread == []
    stop.set(RuntimeError("stopped"))
    assert watchdog.look() is False and spread == []
    assert [h.state for h in handed] == [RUNNING, CANCELLED, CANCELLED] and batch.left == 1
    pool.shutdown()


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
def test_quick_calls_run_one_after_the_other_in_one_thread(
    driver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the calling thread (blocking driver: no hand-off at all), or in one pool thread,
    never on the event loop (awaiting driver)."""
    never_spread(monkeypatch)
    threads: list[int] = []

    @tool
    def where(i: int) -> int:
        threads.append(threading.get_ident())
        return i

    with ToolRegistry([where]) as registry:
        quick(where)
        assert run(driver, registry, calls_of("where", 5)) == [0, 1, 2, 3, 4]
    assert len(set(threads)) == 1
    assert (threads[0] == threading.get_ident()) is (driver == "sync")


def test_a_lone_quick_call_runs_in_the_calling_thread_of_a_conversation() -> None:
    threads: list[int] = []

    @tool
    def where() -> str:
        """Where it ran."""
        threads.append(threading.get_ident())
        return "here"

    scripted = ScriptedModel([[call("where", "a")], say("one"), [call("where", "b")], say("two")])
    conv = Conversation(Emulator(model=scripted).client(), tools=[where])
    conv.send("first")  # a new tool: in the pool, where its time is learnt
    conv.send("second")  # quick now: in the calling thread
    assert threads[0] != threading.get_ident() and threads[1] == threading.get_ident()
    assert results(conv) == {"a": "here", "b": "here"}


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
    """Through ``Conversation.send``: the calling thread runs the first call, which waits for
    the others; the watch thread gives them threads of their own."""
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


def paying(asynchronous: bool) -> tuple[Any, threading.Event, threading.Event, list[str]]:
    """A conversation whose model asks to pay a, b and c at once; ``pay("a")`` sets the first
    event, then hangs until the second is set. With the tools' record of who was paid."""
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
    emulator = Emulator(model=ScriptedModel([[call("pay", w, who=w) for w in "abc"], say("after")]))
    conv: Any = (
        AsyncConversation(emulator.async_client(), tools=[pay])
        if asynchronous
        else Conversation(emulator.client(), tools=[pay])
    )
    conv.interrupt_grace = 0.1
    return conv, started, hang, ran


def test_cancel_stops_a_batch_sharing_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """``conv.cancel()`` wakes an awaiting caller at once: the call running in the pool is
    in doubt after the grace period, the calls still queued behind it never run."""
    monkeypatch.setattr(execution, "SPREAD_AFTER", 60.0)  # b and c stay queued behind a
    conv, started, hang, ran = paying(asynchronous=True)
    threading.Thread(target=lambda: started.wait(30) and conv.cancel(), daemon=True).start()
    try:
        turn = asyncio.run(conv.send("pay everyone"))
    finally:
        hang.set()
    assert ran == ["a"]
    assert conv.in_doubt == ["a"] and turn.status == "awaiting_approval"
    known = results(conv)
    assert known["b"].startswith("Not run:") and known["c"].startswith("Not run:")


def test_cancel_during_a_quick_call_in_the_calling_thread_takes_effect_when_it_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A blocking caller runs quick calls itself: a ``conv.cancel()`` meanwhile is seen when
    the running call returns (as for a model request), so its result is known; the calls not
    started then never run."""
    never_spread(monkeypatch)  # b and c stay queued behind a
    conv, started, hang, ran = paying(asynchronous=False)

    def cancel_then_release() -> None:
        assert started.wait(30)
        conv.cancel()
        time.sleep(0.2)  # past the grace period: still seen only when the call returns
        hang.set()

    threading.Thread(target=cancel_then_release, daemon=True).start()
    turn = conv.send("pay everyone")
    assert ran == ["a"] and turn.status == "cancelled" and conv.in_doubt == []
    known = results(conv)
    assert known["a"] == "paid a"
    assert known["b"].startswith("Not run:") and known["c"].startswith("Not run:")


def test_ctrl_c_in_a_quick_batch_leaves_the_call_it_cut_in_doubt() -> None:
    """Ctrl-C inside a call run by the calling thread: the calls that returned keep their
    results, the one it cut is in doubt, the ones not started never ran; and an interrupted
    call no longer counts as quick."""
    ran: list[str] = []

    @tool
    def step(who: str) -> str:
        ran.append(who)
        if who == "b":
            raise KeyboardInterrupt
        return f"did {who}"

    quick(step)
    scripted = ScriptedModel([[call("step", w, who=w) for w in "abc"], say("after")])
    conv = Conversation(Emulator(model=scripted).client(), tools=[step])
    with pytest.raises(KeyboardInterrupt):
        conv.send("do all three")
    assert ran == ["a", "b"] and conv.in_doubt == ["b"]
    known = results(conv)
    assert known["a"] == "did a" and known["c"].startswith("Not run:")
    assert step._recent_seconds is None  # how long its calls take is no longer known


# --- the watch thread ------------------------------------------------------------------------


def test_the_watch_thread_looks_until_told_to_stop_parks_and_wakes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agentloop.tools import _pool

    monkeypatch.setattr(_pool, "WATCH_LINGER", 0.0)  # parks as soon as nothing is watched
    pool = ToolPool(2, name="watch-test")
    looked: list[str] = []
    done = [threading.Event(), threading.Event()]

    def looker(name: str, times: int, event: threading.Event) -> Any:
        def look() -> bool:
            looked.append(name)
            if looked.count(name) < times:
                return True
            event.set()
            return False

        return look

    pool.watch(looker("a", 3, done[0]))
    assert done[0].wait(10)
    while pool._watch_parked is None:  # nothing left to watch: it parks (the thread lives)
        time.sleep(0.001)
    assert looked == ["a", "a", "a"] and pool._watching
    pool.watch(looker("b", 2, done[1]))  # wakes it
    assert done[1].wait(10)
    assert looked == ["a", "a", "a", "b", "b"]
    watcher = next(t for t in threading.enumerate() if t.name == "watch-test-watch")
    pool.shutdown()
    watcher.join(10)
    assert not watcher.is_alive() and not pool._watching


def test_a_look_that_raises_ends_its_watch_only() -> None:
    pool = ToolPool(2)
    seen = threading.Event()

    def broken() -> bool:
        raise RuntimeError("a pool closed meanwhile")

    def fine() -> bool:
        seen.set()
        return False

    pool.watch(broken)
    pool.watch(fine)
    assert seen.wait(10)
    pool.shutdown()


def test_a_stop_seen_by_the_watch_thread_drops_the_calls_not_started() -> None:
    """The watch thread drops the calls not started once the turn is stopped (the first call
    cancels its own turn, then runs on past a look): they are answered "Not run" (never as
    empty successes), the call that ran keeps its result, and the next message goes out."""
    ran: list[str] = []
    conv: Conversation

    @tool
    def pay(who: str) -> str:
        ran.append(who)
        if who == "a":
            conv.cancel()
            time.sleep(0.05)  # the watch thread looks meanwhile and drops b and c
        return f"paid {who}"

    quick(pay)
    scripted = ScriptedModel([[call("pay", w, who=w) for w in "abc"], say("after"), say("next")])
    conv = Conversation(Emulator(model=scripted).client(), tools=[pay])
    turn = conv.send("pay everyone")
    assert ran == ["a"] and turn.status == "cancelled" and conv.in_doubt == []
    known = results(conv)
    assert known["a"] == "paid a"
    assert known["b"].startswith("Not run:") and known["c"].startswith("Not run:")
    assert conv.send("and now?").output_text in ("after", "next")


def test_quick_calls_still_meet_when_the_registry_is_closed_meanwhile() -> None:
    """A batch begun before ``close()`` is still spread: its waiting calls meet."""
    meeting = threading.Barrier(3, timeout=10)

    @tool
    def meet(i: int) -> int:
        if i == 0:
            closing.start()  # closed while this call waits for the others
        meeting.wait()
        return i

    registry = ToolRegistry([meet])
    closing = threading.Thread(target=registry.close)
    quick(meet)
    assert run("sync", registry, calls_of("meet", 3)) == [0, 1, 2]
    closing.join(10)


def test_ctrl_c_between_a_call_and_its_settling_costs_no_grace_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C right after a call returned in the calling thread, before its batch counted it:
    the interruption does not wait ``grace`` seconds for that call (it is over), and its
    result is known."""
    from agentloop.tools import _pool

    settle = _pool.Batch.settle
    cut: list[int] = []

    def interrupted(self: Batch, job: Job) -> None:
        if not cut and threading.current_thread() is threading.main_thread():
            cut.append(1)
            raise KeyboardInterrupt
        settle(self, job)

    monkeypatch.setattr(_pool.Batch, "settle", interrupted)

    @tool
    def step(i: int) -> int:
        return i

    quick(step)
    progress = execution.ToolProgress(stop=Signal())
    outcome: list[BaseException] = []

    def go() -> None:
        try:
            registry.run(calls_of("step", 3), progress=progress, grace=600)
        except BaseException as exc:
            outcome.append(exc)

    with ToolRegistry([step]) as registry:
        runner = threading.Thread(target=go)
        monkeypatch.setattr(threading, "main_thread", lambda: runner)
        runner.start()
        runner.join(60)  # (600 s if it waited for the call it had run itself)
        assert not runner.is_alive()
    assert isinstance(outcome[0], KeyboardInterrupt)
    assert set(progress.finished) == {"c0"} and progress.started == {"c0"}

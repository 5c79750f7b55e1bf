"""The durable driver in-process: one real DBOS worker (SQLite) per module, the emulator as
the model. Tasks, their DBOS steps, results, progress, decisions and the in-doubt rule."""

from __future__ import annotations

import asyncio
import collections
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _lazy import require

from agentloop import tool
from agentloop.cli import main as cli_main
from agentloop.durable import TaskQueue
from agentloop.errors import (
    StateError,
    TaskFailedError,
    TaskNotFoundError,
    TaskTimeoutError,
)
from agentloop.testing import Emulator

from .durable_helpers import TaskModel, idempotent, task_text, wait_for

require("dbos")  # dbos itself loads in the worker that runs these tests

RUNS: list[tuple[str, str, int]] = []  # (tool, tag, i) of every tool run in this module
GATE = threading.Event()  # ``slow`` blocks on it while a test holds it closed
GATE.set()


@idempotent
def step(i: int, tag: str) -> str:
    """A step that is safe to run again."""
    RUNS.append(("step", tag, i))
    return f"step {i} of {tag} done"


@tool
def charge(i: int, tag: str) -> str:
    """A step with a side effect."""
    RUNS.append(("charge", tag, i))
    return f"charged {i} for {tag}"


@tool
def slow(i: int, tag: str) -> str:
    """A non-idempotent step that waits for the test's gate."""
    RUNS.append(("slow-start", tag, i))
    GATE.wait(10)
    RUNS.append(("slow", tag, i))
    return f"slow {i} of {tag} done"


@tool(requires_approval=True)
def wire(i: int, tag: str) -> str:
    """Sends money: a human approves each call."""
    RUNS.append(("wire", tag, i))
    return f"wired {i} for {tag}"


MEETING = threading.Barrier(3)


@tool
def meet(i: int, tag: str) -> str:
    """Waits until three calls are running at once (fails if calls run one by one)."""
    MEETING.wait(timeout=5)
    RUNS.append(("meet", tag, i))
    return f"met {i}"


TOOLS = [step, charge, slow, wire, meet]


class World:
    def __init__(self, model: TaskModel, emulator: Emulator, queue: TaskQueue, db: Path) -> None:
        self.model = model
        self.emulator = emulator
        self.queue = queue
        self.db = db

    def ran(self, tag: str) -> list[tuple[str, int]]:
        return [(name, i) for name, t, i in RUNS if t == tag]

    def steps(self, task_id: str) -> list[str]:
        return [s["function_name"] for s in self.queue._client().list_workflow_steps(task_id)]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    model = TaskModel()
    emulator = Emulator(model.model)
    db = tmp_path_factory.mktemp("durable") / "tasks.sqlite"
    queue = TaskQueue(db, tools=TOOLS, client=emulator.client(), max_steps=6, poll_interval=0.02)
    queue.start_worker(worker_id="fast-worker", concurrency=4)
    try:
        yield World(model, emulator, queue, db)
    finally:
        GATE.set()
        queue.close()


def test_each_request_and_tool_call_is_one_dbos_step(world: World) -> None:
    handle = world.queue.submit(task_text("plain", 2), id="plain")
    result = handle.result(timeout=20)
    assert result.status == "completed"
    assert result.output_text == "finished 2 step calls for plain"
    assert [c["name"] for c in result.tool_calls] == ["step", "step"]
    assert result.model_requests == 3
    names = world.steps("plain")
    assert names.count("agentloop.request") == 3
    assert names.count("agentloop.tool:step") == 2
    assert "agentloop.tool_started" not in names  # idempotent tools need no "started" record
    assert world.ran("plain") == [("step", 0), ("step", 1)]


def test_a_tool_that_is_not_idempotent_gets_a_started_record(world: World) -> None:
    world.queue.submit(task_text("charged", 1, "charge"), id="charged").result(timeout=20)
    names = world.steps("charged")
    started = names.index("agentloop.tool_started")
    assert names[started + 1] == "agentloop.tool:charge"
    assert world.ran("charged") == [("charge", 0)]


def test_submitting_an_existing_id_creates_no_second_task(world: World) -> None:
    first = world.queue.submit(task_text("once", 1), id="once")
    second = world.queue.submit(task_text("once", 1), id="once")
    assert second.id == first.id
    assert second.result(timeout=20).output_text == "finished 1 step calls for once"
    assert [t.id for t in world.queue.tasks()].count("once") == 1
    assert collections.Counter(t for t, _ in world.model.seen)["once"] == 2  # 2 requests, once


def test_task_listing_progress_and_events(world: World) -> None:
    world.queue.submit(task_text("listed", 2), id="listed").result(timeout=20)
    info = {t.id: t for t in world.queue.tasks()}["listed"]
    assert info.status == "completed"
    assert info.text == task_text("listed", 2)
    assert info.worker == "fast-worker"
    assert info.progress["requests"] == 3
    assert info.progress["tool_calls"] == 2
    assert info.progress["last_tool_call"] == "step"
    kinds = [e["type"] for e in world.queue.events("listed")]
    assert kinds == [
        "model_response",
        "tool_calls_finished",
        "model_response",
        "tool_calls_finished",
        "model_response",
        "completed",
    ]


def test_cli_lists_tasks_as_json(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.queue.submit(task_text("cli", 1), id="cli").result(timeout=20)
    assert cli_main(["tasks", "--db", str(world.db), "--json"]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["cli"]["status"] == "completed"
    assert rows["cli"]["output_text"] == "finished 1 step calls for cli"
    assert rows["cli"]["progress"]["requests"] == 2
    assert cli_main(["tasks", "show", "cli", "--db", str(world.db)]) == 0
    shown = capsys.readouterr().out
    assert "-> step(" in shown and "model: finished 1 step calls for cli" in shown


def test_the_final_conversation_loads_for_a_follow_up_turn(world: World) -> None:
    world.queue.submit(task_text("conv", 1), id="conv").result(timeout=20)
    conv = world.queue.conversation("conv", client=world.emulator.client())
    types = [getattr(s, "type", None) for s in conv.history]
    assert types[0] == "user_input" and "function_result" in types
    turn = conv.send(task_text("conv-2", 0))
    assert turn.output_text == "finished 0 step calls for conv-2"


def test_a_failing_task_reports_failed_with_its_conversation(world: World) -> None:
    handle = world.queue.submit(task_text("toolong", 9), id="toolong")  # max_steps=6
    with pytest.raises(TaskFailedError, match="max_steps") as caught:
        handle.result(timeout=20)
    assert caught.value.status == "failed" and caught.value.task_id == "toolong"
    info = world.queue.info("toolong")
    assert info.status == "failed" and "MaxStepsExceeded" in (info.error or "")
    history = world.queue.history("toolong")
    calls = [s for s in history if s["type"] == "function_call"]
    results = [s for s in history if s["type"] == "function_result"]
    assert len(calls) == len(results)  # every call answered, even on failure


def test_a_tool_requiring_approval_waits_then_a_rejection_reaches_the_model(
    world: World,
) -> None:
    handle = world.queue.submit(task_text("wired", 1, "wire"), id="wired")
    info = wait_for(
        lambda: (i := world.queue.info("wired")).status == "awaiting_approval" and i,
        20,
        "awaiting_approval",
    )
    (waiting,) = info.progress["awaiting"]
    assert waiting["name"] == "wire" and waiting["arguments"] == {"i": 0, "tag": "wired"}
    with pytest.raises(StateError, match="not awaiting"):
        world.queue.approve("wired", "call_that_does_not_exist")
    world.queue.reject("wired", waiting["id"], "no wires today")
    result = handle.result(timeout=20)
    assert result.status == "completed"
    assert result.tool_calls[0]["is_error"] is True
    assert "no wires today" in result.tool_calls[0]["result"]
    assert world.ran("wired") == []


def test_unknown_tasks_and_timeouts_are_agentloop_errors(world: World) -> None:
    with pytest.raises(TaskNotFoundError, match="no task 'nope'"):
        world.queue.task("nope")
    handle = world.queue.submit(task_text("waits", 1, "wire"), id="waits")
    with pytest.raises(TaskTimeoutError, match="approve or reject"):
        wait_for(lambda: world.queue.info("waits").status == "awaiting_approval", 20)
        handle.result(timeout=0.05)
    world.queue.cancel("waits")
    with pytest.raises(TaskFailedError, match="cancelled"):
        handle.result(timeout=20)
    assert world.queue.info("waits").status == "cancelled"


async def test_async_submit_and_result(world: World) -> None:
    handles = await asyncio.gather(
        *(world.queue.asubmit(task_text(f"async{k}", 1), id=f"async{k}") for k in range(3))
    )
    results = await asyncio.gather(*(h.aresult(timeout=20) for h in handles))
    assert [r.output_text for r in results] == [
        f"finished 1 step calls for async{k}" for k in range(3)
    ]


def _restart(world: World) -> int:
    left = world.queue.stop(grace=0.2)
    world.queue.start_worker(worker_id="fast-worker", concurrency=4)
    return left


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_call_in_flight_at_a_stop_is_in_doubt_until_a_human_decides(
    world: World, decision: str
) -> None:
    tag = f"doubt-{decision}"
    GATE.clear()
    handle = world.queue.submit(task_text(tag, 1, "slow"), id=tag)
    wait_for(lambda: ("slow-start", 0) in world.ran(tag), 20, "the slow call to start")
    assert _restart(world) == 1  # the call was mid-step: left to recovery
    GATE.set()  # the old execution's call ends now; DBOS is gone, nothing of it is recorded
    info = wait_for(
        lambda: (i := world.queue.info(tag)).status == "awaiting_approval" and i,
        20,
        "the recovered task to wait for a decision",
    )
    (waiting,) = info.progress["awaiting"]
    assert waiting["name"] == "slow" and "in doubt" in waiting["why"]
    assert world.ran(tag).count(("slow-start", 0)) == 1  # not run again on its own
    if decision == "approve":
        world.queue.approve(tag, waiting["id"])
    else:
        world.queue.reject(tag, waiting["id"])
    result = handle.result(timeout=20)
    assert result.status == "completed"
    if decision == "approve":
        assert world.ran(tag).count(("slow-start", 0)) == 2
        assert result.tool_calls[0]["result"] == f"slow 0 of {tag} done"
    else:
        assert world.ran(tag).count(("slow-start", 0)) == 1
        assert result.tool_calls[0]["is_error"] is True
        assert "in doubt" in result.tool_calls[0]["result"]
    # Completed model requests were not sent again by the recovered execution.
    assert world.model.repeats().get((tag, 0)) is None


@pytest.mark.parametrize("first", ["approve", "reject"])
def test_the_first_decision_on_an_in_doubt_call_wins_and_a_contradiction_fails(
    world: World, first: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fault 4: ``tasks reject`` after ``approve`` printed "rejected" (exit 0) and was dropped."""
    tag = f"twice-{first}"
    GATE.clear()
    handle = world.queue.submit(task_text(tag, 1, "slow"), id=tag)
    wait_for(lambda: ("slow-start", 0) in world.ran(tag), 20, "the slow call to start")
    assert _restart(world) == 1
    GATE.set()
    info = wait_for(
        lambda: (i := world.queue.info(tag)).status == "awaiting_approval" and i,
        20,
        "the recovered task to wait for a decision",
    )
    (waiting,) = info.progress["awaiting"]
    second = "reject" if first == "approve" else "approve"
    db = ["--db", str(world.db)]
    assert cli_main(["tasks", first, tag, waiting["id"], *db]) == 0
    capsys.readouterr()
    assert cli_main(["tasks", second, tag, waiting["id"], *db]) == 1
    err = capsys.readouterr().err
    done = "approved" if first == "approve" else "rejected"
    assert f"already {done} at " in err and "UTC" in err and "not applied" in err
    assert len(err.strip().splitlines()) == 1
    assert cli_main(["tasks", first, tag, waiting["id"], *db]) == 0  # the same again: a no-op
    with pytest.raises(StateError, match=f"already {done}"):
        getattr(world.queue, second)(tag, waiting["id"])
    result = handle.result(timeout=20)
    runs = world.ran(tag).count(("slow-start", 0))
    if first == "approve":
        assert runs == 2 and result.tool_calls[0]["result"] == f"slow 0 of {tag} done"
    else:
        assert runs == 1 and result.tool_calls[0]["is_error"] is True
    _restart(world)  # a later restart runs nothing again
    assert world.ran(tag).count(("slow-start", 0)) == runs


def test_a_task_database_that_cannot_be_opened_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Fault 16: a bad or unreachable database URL printed a ~125-line traceback."""
    for argv in (
        ["tasks", "--db", "postgresql://nobody:hunter2@127.0.0.1:1/none"],
        ["submit", "--db", "postgresql://nobody:hunter2@127.0.0.1:1/none", "do it"],
        ["tasks", "--db", "mysql://x@y/z"],
    ):
        assert cli_main(argv) in (1, 2)
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1, captured.err
        assert "hunter2" not in captured.err and "Traceback" not in captured.err


def test_a_stop_between_steps_leaves_nothing_in_doubt(world: World) -> None:
    tag = "between"
    GATE.clear()
    handle = world.queue.submit(task_text(tag, 2, "slow"), id=tag)
    wait_for(lambda: ("slow-start", 0) in world.ran(tag), 20, "the slow call to start")

    def open_gate() -> None:
        GATE.set()

    timer = threading.Timer(0.05, open_gate)
    timer.start()
    assert _restart(world) == 0  # the call finished within the grace; the task parked after
    timer.join()
    result = handle.result(timeout=20)
    assert result.output_text == f"finished 2 slow calls for {tag}"
    assert world.ran(tag).count(("slow-start", 0)) == 1
    assert world.model.repeats() == {}


def test_follow_streams_a_running_tasks_events_until_it_ends(world: World) -> None:
    tag = "followed"
    GATE.clear()
    world.queue.submit(task_text(tag, 1, "slow"), id=tag)
    seen: list[dict[str, Any]] = []
    reader = threading.Thread(target=lambda: seen.extend(world.queue.events(tag, follow=True)))
    reader.start()
    wait_for(lambda: seen, 20, "the first event while the task runs")
    assert seen[0]["type"] == "model_response"
    assert seen[0]["function_calls"][0]["name"] == "slow"
    GATE.set()
    reader.join(20)
    assert not reader.is_alive()  # the stream closed when the task ended
    assert [e["type"] for e in seen] == [
        "model_response",
        "tool_calls_finished",
        "model_response",
        "completed",
    ]
    assert seen[-1]["output_text"] == f"finished 1 slow calls for {tag}"


def test_the_calls_of_one_response_run_concurrently_each_its_own_step(world: World) -> None:
    result = world.queue.submit(task_text("met", 3, "meet", at_once=True), id="met").result(
        timeout=20
    )
    assert [c["result"] for c in result.tool_calls] == ["met 0", "met 1", "met 2"]
    assert not any(c["is_error"] for c in result.tool_calls)  # the barrier was reached
    names = world.steps("met")
    assert names.count("agentloop.tool:meet") == 3
    assert names.count("agentloop.tool_started") == 3  # meet is not idempotent


def test_in_doubt_calls_of_one_response_are_decided_one_by_one(world: World) -> None:
    tag = "doubt-batch"
    GATE.clear()
    handle = world.queue.submit(task_text(tag, 2, "slow", at_once=True), id=tag)
    wait_for(lambda: len(world.ran(tag)) == 2, 20, "both slow calls to start")
    assert _restart(world) == 1
    GATE.set()

    def awaiting(index: int) -> dict[str, Any] | None:
        info = world.queue.info(tag)
        calls = info.progress.get("awaiting") or []
        if info.status == "awaiting_approval" and calls and calls[0]["arguments"]["i"] == index:
            return dict(calls[0])
        return None

    first = wait_for(lambda: awaiting(0), 20, "the first call in doubt")
    world.queue.approve(tag, first["id"])
    second = wait_for(lambda: awaiting(1), 20, "the second call in doubt")
    world.queue.reject(tag, second["id"], "done by hand")
    result = handle.result(timeout=20)
    assert result.tool_calls[0]["result"] == f"slow 0 of {tag} done"
    assert result.tool_calls[1]["is_error"] and "done by hand" in result.tool_calls[1]["result"]
    assert world.ran(tag).count(("slow-start", 0)) == 2  # approved: ran again
    assert world.ran(tag).count(("slow-start", 1)) == 1  # rejected: not run again
    assert world.model.repeats().get((tag, 0)) is None


def test_cli_cancel_of_a_finished_task_says_it_had_finished(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.queue.submit(task_text("done-cancel", 1), id="done-cancel").result(timeout=20)
    assert cli_main(["tasks", "cancel", "done-cancel", "--db", str(world.db)]) == 1
    captured = capsys.readouterr()
    assert "done-cancel had already finished (completed); nothing to cancel" in captured.err
    assert "cancelled" not in captured.out
    assert world.queue.info("done-cancel").status == "completed"


def test_a_responses_started_records_are_written_together_before_its_calls_run(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The "started" records of a response's calls that are not idempotent go to the database
    in one transaction (``_driver._Started``), and no call runs before it is committed."""
    from agentloop.durable import _driver

    tag = "started-together"
    written: list[tuple[list[str], int]] = []  # each transaction's steps, calls run by then
    write_rows = _driver._write_rows

    def spied(sys_db: Any, write_one: Any, group: list[Any]) -> None:
        write_rows(sys_db, write_one, group)
        if group[0].result["workflow_uuid"] == tag:
            written.append(([e.result["function_name"] for e in group], len(world.ran(tag))))

    monkeypatch.setattr(_driver, "_write_rows", spied)
    result = world.queue.submit(task_text(tag, 3, "meet", at_once=True), id=tag).result(timeout=20)
    assert [c["result"] for c in result.tool_calls] == ["met 0", "met 1", "met 2"]
    assert written[0] == (["agentloop.tool_started"] * 3, 0)  # one commit, before any call ran
    assert all("agentloop.tool_started" not in names for names, _ in written[1:])
    names = world.steps(tag)
    assert names.count("agentloop.tool_started") == 3
    # Each call's step follows its "started" step, as when DBOS wrote them one by one.
    assert [n for n in names if n.startswith("agentloop.tool")] == [
        "agentloop.tool_started",
        "agentloop.tool:meet",
    ] * 3


def test_a_responses_steps_are_looked_up_in_one_read(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What DBOS recorded for a response's steps ("started" and call steps) is read once when
    their ids are drawn, and each step's look-up is answered from that read
    (``_driver._Recorded``), not by a query of its own."""
    from agentloop.durable import _driver

    tag = "looked-up-once"
    answered: list[tuple[int, bool]] = []
    answer = _driver._Recorded.answer

    def spied(self: Any, function_id: int, function_name: str) -> tuple[bool, Any]:
        found, result = answer(self, function_id, function_name)
        if self.workflow_id == tag:
            answered.append((function_id, found))
        return found, result

    monkeypatch.setattr(_driver._Recorded, "answer", spied)
    result = world.queue.submit(task_text(tag, 3, "meet", at_once=True), id=tag).result(timeout=20)
    assert [c["result"] for c in result.tool_calls] == ["met 0", "met 1", "met 2"]
    assert len(answered) == 6 and all(found for _, found in answered)  # 3 started + 3 calls
    assert len({function_id for function_id, _ in answered}) == 6


def test_a_lone_calls_checkpoint_is_written_as_a_batchs(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A response with one call runs it in the workflow's thread, and writes its "started"
    record and its checkpoint as a batch's (one prepared statement each, ``_write_rows``)."""
    from agentloop.durable import _driver

    tag = "lone-call"
    written: list[list[str]] = []
    write_rows = _driver._write_rows

    def spied(sys_db: Any, write_one: Any, group: list[Any]) -> None:
        write_rows(sys_db, write_one, group)
        if group[0].result["workflow_uuid"] == tag:
            written.append([e.result["function_name"] for e in group])

    monkeypatch.setattr(_driver, "_write_rows", spied)
    world.queue.submit(task_text(tag, 1, "charge"), id=tag).result(timeout=20)
    assert written == [["agentloop.tool_started"], ["agentloop.tool:charge"]]
    assert world.ran(tag) == [("charge", 0)]


@pytest.mark.parametrize("fails", [False, True])
def test_a_responses_event_is_written_with_its_requests_checkpoint(
    world: World, monkeypatch: pytest.MonkeyPatch, fails: bool
) -> None:
    """Each model_response event is written in the transaction of its request step's
    checkpoint, as the step after it (``_driver._Response``); when that transaction fails, the
    checkpoint and the event are written by DBOS one after the other, as before. Either way
    the task's events and its step sequence are the same."""
    from agentloop.durable import _driver

    tag = f"event-with-request-{fails}"
    written: list[int] = []
    write_with_event = _driver._write_with_event

    def spied(sys_db: Any, result: Any, event: Any) -> None:
        if result["workflow_uuid"] == tag:
            if fails:
                raise RuntimeError("refused")
            written.append(event["request"])
        write_with_event(sys_db, result, event)

    monkeypatch.setattr(_driver, "_write_with_event", spied)
    result = world.queue.submit(task_text(tag, 2), id=tag).result(timeout=20)
    assert result.model_requests == 3
    assert written == ([] if fails else [1, 2, 3])
    events = list(world.queue.events(tag))
    rounds = ["model_response", "tool_calls_finished"] * 2  # a response and its call's result
    assert [e["type"] for e in events] == [*rounds, "model_response", "completed"]
    assert [e["request"] for e in events if e["type"] == "model_response"] == [1, 2, 3]
    assert events[0]["function_calls"][0]["name"] == "step"
    assert events[-2]["text"] == result.output_text
    names = world.steps(tag)
    following = [names[i + 1] for i, name in enumerate(names) if name == "agentloop.request"]
    assert following == ["DBOS.writeStream"] * 3

"""The concurrent calls of one response in a durable task on SQLite: they run on the worker's
tool threads, at the same time, and each call's checkpoint is written once, one writer at a
time (``_record_in_turn``), whether the tool returned or raised."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _lazy import require

from agentloop.durable import TaskQueue, _driver
from agentloop.testing import Emulator
from agentloop.types import FunctionCallStep

from .durable_helpers import TaskModel, idempotent, task_text

require("dbos")  # dbos itself loads in the worker that runs these tests

THREADS: list[str] = []  # the thread of every ``work`` call
BARRIER = threading.Barrier(4, timeout=20)  # every call of a batch of 4 must be running


@idempotent
def work(i: int, tag: str) -> str:
    """Meet the batch's other calls, then finish (call 2 fails).

    Args:
        i: The call's index.
        tag: The task's tag.
    """
    THREADS.append(threading.current_thread().name)
    BARRIER.wait()
    if i == 2:
        raise ValueError(f"call {i} of {tag} failed")
    return f"work {i} of {tag}"


@pytest.fixture(scope="module")
def queue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TaskQueue]:
    model = TaskModel()
    db: Path = tmp_path_factory.mktemp("batches") / "tasks.sqlite"
    queue = TaskQueue(db, tools=[work], client=Emulator(model.model).client(), poll_interval=0.02)
    queue.start_worker(worker_id="batch-worker", concurrency=2)
    try:
        yield queue
    finally:
        queue.close()


def test_a_batch_runs_at_once_and_each_call_is_checkpointed_once(queue: TaskQueue) -> None:
    for tag in ("first", "second"):  # the second batch runs on threads the first left idle
        THREADS.clear()
        result = queue.submit(task_text(tag, 4, "work", at_once=True), id=tag).result(timeout=30)
        assert result.status == "completed"
        assert [c["result"] for c in result.tool_calls] == [
            f"work 0 of {tag}",
            f"work 1 of {tag}",
            f"ValueError: call 2 of {tag} failed",
            f"work 3 of {tag}",
        ]
        assert [c["is_error"] for c in result.tool_calls] == [False, False, True, False]
        names = [s["function_name"] for s in queue._client().list_workflow_steps(tag)]
        assert names.count("agentloop.tool:work") == 4
        assert len(THREADS) == 4  # each call ran once, all four at the same time (the barrier)
        assert all(name.startswith("agentloop-durable-tool") for name in THREADS)
        assert not _driver._WRITING.locked()  # every checkpoint writer let go


CALL = FunctionCallStep(id="c1", name="work", arguments={"i": 0, "tag": "t"})


class _Reservation:
    """Stands in for a reserved DBOS step: ``run`` looks up a recorded output (``recorded``:
    replayed, ``step`` never called) or runs ``step`` and records what it returns."""

    def __init__(self, recorded: dict[str, str] | None = None) -> None:
        self.recorded = recorded
        self.seen: list[tuple[str, bool]] = []  # (phase, whether _WRITING is held)

    def _locks(self, phase: str) -> None:
        self.seen.append((phase, _driver._WRITING.locked()))

    def run(self, options: dict[str, str], step: object, call: FunctionCallStep) -> dict[str, str]:
        self._locks("look-up")
        if self.recorded is not None:
            return self.recorded
        assert callable(step)
        out: dict[str, str] = step(call)
        self._locks("record")
        return out


def test_dbos_bookkeeping_is_taken_in_turn_and_the_tool_runs_outside_it() -> None:
    """Around a concurrent call on SQLite: DBOS's look-up and checkpoint hold ``_WRITING``,
    the tool runs without it; a replayed or failing step lets go of it."""
    reserved = _Reservation()

    def tool(call: FunctionCallStep) -> dict[str, str]:
        reserved._locks("tool")
        return {"result": "ok"}

    assert _driver._record_in_turn(reserved, {}, tool, CALL) == {"result": "ok"}
    assert reserved.seen == [("look-up", True), ("tool", False), ("record", True)]

    replayed = _Reservation(recorded={"result": "recorded"})
    assert _driver._record_in_turn(replayed, {}, tool, CALL) == {"result": "recorded"}
    assert replayed.seen == [("look-up", True)]

    def failing(call: FunctionCallStep) -> dict[str, str]:
        raise ValueError("the tool failed")

    with pytest.raises(ValueError, match="the tool failed"):
        _driver._record_in_turn(_Reservation(), {}, failing, CALL)
    assert not _driver._WRITING.locked()


def test_a_batchs_checkpoints_are_written_through_its_group(
    queue: TaskQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker writes the checkpoints of a batch's calls through the batch's group commit
    (``_driver._Batch``; tests/durable/test_group_commit.py): each call's once."""
    written: list[str] = []
    write_group = _driver._write_group

    def spied(sys_db: Any, write_one: Any, group: list[Any], turns: Any) -> None:
        written.extend(entry.result["function_name"] for entry in group)
        write_group(sys_db, write_one, group, turns)

    monkeypatch.setattr(_driver, "_write_group", spied)
    THREADS.clear()
    result = queue.submit(task_text("grouped", 4, "work", at_once=True), id="grouped").result(
        timeout=30
    )
    assert result.status == "completed"
    assert [c["is_error"] for c in result.tool_calls] == [False, False, True, False]
    assert written == ["agentloop.tool:work"] * 4
    assert not _driver._WRITING.locked()

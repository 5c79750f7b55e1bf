"""Group commit of a batch's tool-step checkpoints (``_driver._Batch``): the checkpoints of
calls that finish together go to the database in one transaction, each step returns only once
its own checkpoint is written, a write that fails leaves each step with its own outcome, and a
call that finished is recorded while a sibling still runs (a worker killed then does not run
it again, on SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _lazy import require
from _services import postgres_dsn

from agentloop.durable import TaskQueue, _driver
from agentloop.errors import StoreError
from agentloop.testing import Emulator

from .durable_helpers import (
    TaskModel,
    agentloop,
    cli_env,
    fresh_postgres,
    kill,
    task_text,
    tool_log,
    wait_for,
    worker,
)


class FakeSystemDatabase:
    """What ``_Batch`` uses of DBOS's system database: ``engine.begin()`` (a transaction that
    keeps its rows only when it ends without an error), ``_own_key``,
    ``_record_operation_result_txn`` and the one-row ``record_operation_result``."""

    def __init__(self, refuse: set[int] | None = None) -> None:
        self.refuse = refuse or set()  # function ids whose row the database refuses
        self.transactions: list[list[int]] = []  # the function ids each commit wrote
        self.keys: list[str] = []
        self.engine = self

    @contextlib.contextmanager
    def begin(self) -> Iterator[list[int]]:
        rows: list[int] = []
        yield rows
        self.transactions.append(rows)  # not reached when the block raised: rolled back

    @contextlib.contextmanager
    def _own_key(self, workflow_id: str) -> Iterator[None]:
        self.keys.append(workflow_id)
        yield

    def _record_operation_result_txn(
        self, result: dict[str, Any], completed_at_epoch_ms: int, conn: list[int]
    ) -> None:
        assert isinstance(completed_at_epoch_ms, int)
        if result["function_id"] in self.refuse:
            raise ValueError(f"step {result['function_id']} refused")
        conn.append(result["function_id"])

    def record_operation_result(
        self, result: dict[str, Any], *, completed_at_epoch_ms: int | None = None
    ) -> None:
        with self.begin() as conn:
            self._record_operation_result_txn(result, completed_at_epoch_ms or 0, conn)


def _result(function_id: int) -> dict[str, Any]:
    return {
        "workflow_uuid": "wf",
        "function_id": function_id,
        "function_name": "agentloop.tool:work",
    }


def _record_together(db: FakeSystemDatabase, ids: list[int]) -> dict[int, BaseException | None]:
    """Each id's checkpoint recorded by a thread of its own, all pending before any is
    written (a call of the batch is still in its look-up until they all are)."""
    batch = _driver._Batch()
    batch.looking_up()  # holds every writer back, as a call still in its look-up does
    outcomes: dict[int, BaseException | None] = {}

    def record(function_id: int) -> None:
        try:
            batch.record(db, db.record_operation_result, _result(function_id))
        except BaseException as exc:
            outcomes[function_id] = exc
        else:
            outcomes[function_id] = None

    threads = [threading.Thread(target=record, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while True:
        with batch.cond:
            if len(batch.pending) == len(ids):
                break
        assert time.monotonic() < deadline, "the checkpoints never reached the batch"
        time.sleep(0.001)
    assert db.transactions == []  # nothing is written while a call is in its look-up
    batch.looked_up()
    for thread in threads:
        thread.join(timeout=20)
    assert not _driver._WRITING.locked()
    return outcomes


def test_checkpoints_that_finish_together_are_written_in_one_transaction() -> None:
    db = FakeSystemDatabase()
    outcomes = _record_together(db, [4, 5, 6, 7])
    assert outcomes == {4: None, 5: None, 6: None, 7: None}  # every step returned
    assert [sorted(rows) for rows in db.transactions] == [[4, 5, 6, 7]]
    assert db.keys == ["wf"]  # written under the workflow's own key


def test_a_refused_row_leaves_each_step_its_own_outcome() -> None:
    """The group's transaction rolls back; then each checkpoint is written on its own, and
    only the refused one's step fails, with the database's error."""
    db = FakeSystemDatabase(refuse={5})
    outcomes = _record_together(db, [4, 5, 6])
    assert outcomes[4] is None and outcomes[6] is None
    assert isinstance(outcomes[5], ValueError) and "step 5 refused" in str(outcomes[5])
    assert sorted(db.transactions) == [[4], [6]]  # nothing of the failed group was kept


def test_a_writer_that_stops_fails_the_steps_it_did_not_write() -> None:
    """A checkpoint is never reported written when it was not."""

    class Stopping(FakeSystemDatabase):
        def _record_operation_result_txn(
            self, result: dict[str, Any], completed_at_epoch_ms: int, conn: list[int]
        ) -> None:
            raise KeyboardInterrupt

        def record_operation_result(
            self, result: dict[str, Any], *, completed_at_epoch_ms: int | None = None
        ) -> None:
            raise KeyboardInterrupt

    outcomes = _record_together(Stopping(), [1, 2, 3])
    assert set(outcomes) == {1, 2, 3}
    assert all(isinstance(exc, (KeyboardInterrupt, StoreError)) for exc in outcomes.values())


def test_a_checkpoint_alone_is_written_by_dbos_itself() -> None:
    db = FakeSystemDatabase()
    written: list[int] = []

    def write_one(result: dict[str, Any], *, completed_at_epoch_ms: int) -> None:
        written.append(result["function_id"])

    _driver._Batch().record(db, write_one, _result(9))
    assert written == [9] and db.transactions == []


def test_other_writes_pass_through_to_dbos() -> None:
    """The wrapper groups only tool steps recorded inside a batch; every other write, and any
    write with options, is DBOS's own call."""
    db = FakeSystemDatabase()
    original = db.record_operation_result
    calls: list[tuple[int, dict[str, Any]]] = []

    def spy(result: dict[str, Any], **options: Any) -> None:
        calls.append((result["function_id"], options))
        original(result, **options)

    db.record_operation_result = spy  # type: ignore[method-assign]
    _driver.install_group_commit(db)
    _driver.install_group_commit(db)  # once per database
    db.record_operation_result(_result(1))  # outside any batch
    token = _driver._BATCH.set(_driver._Batch())
    try:
        db.record_operation_result({**_result(2), "function_name": "agentloop.request"})
        db.record_operation_result(_result(3), completed_at_epoch_ms=5)
        db.record_operation_result(_result(4))  # a tool step of the batch, alone: DBOS's call
    finally:
        _driver._BATCH.reset(token)
    assert calls[:3] == [(1, {}), (2, {}), (3, {"completed_at_epoch_ms": 5})]
    assert calls[3][0] == 4 and isinstance(calls[3][1]["completed_at_epoch_ms"], int)
    assert db.transactions == [[1], [2], [3], [4]]


def test_started_checkpoints_are_held_then_written_in_one_transaction() -> None:
    """The "started" checkpoints of a response's calls (``_driver._Started``): DBOS's write of
    each, while the workflow's thread runs them, is held; ``write`` then puts them all in the
    database in one transaction (before any call runs). Other writes pass through."""
    db = FakeSystemDatabase()
    _driver.install_group_commit(db)
    started = _driver._Started()
    token = _driver._STARTED.set(started)
    try:
        for function_id in (1, 3, 5):
            db.record_operation_result(
                {**_result(function_id), "function_name": "agentloop.tool_started"}
            )
        db.record_operation_result({**_result(6), "function_name": "agentloop.request"})
    finally:
        _driver._STARTED.reset(token)
    assert db.transactions == [[6]]  # only the other write went through
    started.write(threading.Lock())
    assert db.transactions == [[6], [1, 3, 5]]
    assert db.keys == ["wf"]
    started.write(threading.Lock())  # nothing held any more
    assert db.transactions == [[6], [1, 3, 5]]


def test_a_refused_started_checkpoint_fails_the_write() -> None:
    """When the group is refused, each is written on its own; one that fails raises, so no
    call of the response runs without its "started" record."""
    db = FakeSystemDatabase(refuse={3})
    _driver.install_group_commit(db)
    started = _driver._Started()
    token = _driver._STARTED.set(started)
    try:
        for function_id in (1, 3):
            db.record_operation_result(
                {**_result(function_id), "function_name": "agentloop.tool_started"}
            )
    finally:
        _driver._STARTED.reset(token)
    with pytest.raises(ValueError, match="step 3 refused"):
        started.write(threading.Lock())
    assert db.transactions == [[1]]


# --- on a real SQLite worker (slow: a worker of its own; test_durable_batches.py checks one
# batch of its worker goes through the group) ----------------------------------------------------

GROUPS: list[str] = []  # the task of every checkpoint the worker wrote in a group


@pytest.fixture(scope="module")
def queue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TaskQueue]:
    require("dbos")
    from agentloop import tool

    @tool
    def work(i: int, tag: str) -> str:
        """Finish at once (call 1 fails).

        Args:
            i: The call's index.
            tag: The task's tag.
        """
        if i == 1:
            raise ValueError(f"call {i} of {tag} failed")
        return f"work {i} of {tag}"

    model = TaskModel()
    db: Path = tmp_path_factory.mktemp("group") / "tasks.sqlite"
    queue = TaskQueue(db, tools=[work], client=Emulator(model.model).client(), poll_interval=0.02)
    queue.start_worker(worker_id="group-worker", concurrency=3)
    try:
        yield queue
    finally:
        queue.close()


@pytest.mark.slow
def test_batches_on_sqlite_are_checkpointed_through_their_groups(
    queue: TaskQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three tasks' batches at the same time in one worker: every call's checkpoint is
    written once, through its own batch's group, with its own result."""
    write_group = _driver._write_group
    lock = threading.Lock()

    def spied(sys_db: Any, write_one: Any, group: list[Any], turns: Any) -> None:
        with lock:
            GROUPS.extend(entry.result["workflow_uuid"] for entry in group)
        write_group(sys_db, write_one, group, turns)

    monkeypatch.setattr(_driver, "_write_group", spied)
    tags = ["grouped-a", "grouped-b", "grouped-c"]
    handles = [queue.submit(task_text(tag, 6, "work", at_once=True), id=tag) for tag in tags]
    for tag, handle in zip(tags, handles, strict=True):
        result = handle.result(timeout=60)
        assert result.status == "completed"
        assert [c["result"] for c in result.tool_calls] == [
            f"work 0 of {tag}",
            f"ValueError: call 1 of {tag} failed",
            *(f"work {i} of {tag}" for i in range(2, 6)),
        ]
        assert GROUPS.count(tag) == 6  # every call's checkpoint went through the group, once
        steps = queue._client().list_workflow_steps(tag)
        tools = [s for s in steps if s["function_name"] == "agentloop.tool:work"]
        assert len(tools) == 6 and all(s["output"] is not None for s in tools)
        assert [s["function_name"] for s in steps].count("agentloop.tool_started") == 6
    assert not _driver._WRITING.locked()


# --- a worker killed in the middle of a batch (real processes) -----------------------------------

SLOW_FIRST_PY = '''
"""charge: logs "start"/"end" lines (tag, i, pid) to $AGENTLOOP_TEST_TOOL_LOG; call 0 sleeps
$AGENTLOOP_TEST_TOOL_DELAY seconds in between, the others return at once."""
import os, time
from agentloop import tool


def _log(kind, tag, i):
    with open(os.environ["AGENTLOOP_TEST_TOOL_LOG"], "a") as f:
        f.write(f"{kind} {tag} {i} {os.getpid()}\\n")


@tool
def charge(i: int, tag: str) -> str:
    """A side effect that must not run twice."""
    _log("start", tag, i)
    if i == 0:
        time.sleep(float(os.environ.get("AGENTLOOP_TEST_TOOL_DELAY", "0")))
    _log("end", tag, i)
    return f"charge {i} of {tag} done"
'''


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_calls_that_finished_are_recorded_while_a_sibling_still_runs(
    kind: str, tmp_path: Path
) -> None:
    """Group commit never holds a finished call's checkpoint back for a sibling that still
    runs: killed while call 0 runs, the worker had recorded calls 1-3, which are not run again;
    call 0 is in doubt (it is not idempotent) and runs again only once approved."""
    require("dbos")
    model = TaskModel()
    emulator = Emulator(model.model)
    tools_py = tmp_path / "tools.py"
    tools_py.write_text(SLOW_FIRST_PY)
    log = tmp_path / "tools.log"

    def runs(kind_: str) -> dict[int, int]:
        found: dict[int, int] = {}
        for k, _, i, _ in tool_log(log):
            if k == kind_:
                found[i] = found.get(i, 0) + 1
        return found

    with contextlib.ExitStack() as stack:
        api = stack.enter_context(emulator.serve())
        if kind == "sqlite":
            db = str(tmp_path / "tasks.sqlite")
        else:
            db = stack.enter_context(fresh_postgres(postgres_dsn()))
        text = task_text("g1", 4, "charge", at_once=True)
        slow_env = cli_env(api, log, delay=60.0)
        assert agentloop("submit", text, "--db", db, "--id", "g1", env=slow_env).returncode == 0
        queue = stack.enter_context(TaskQueue(db))

        def recorded() -> int:
            steps = queue._client().list_workflow_steps("g1")
            return sum(
                1
                for s in steps
                if s["function_name"] == "agentloop.tool:charge" and s["output"] is not None
            )

        with worker(tools_py, db, "w1", slow_env) as first:
            wait_for(lambda: runs("end") == {1: 1, 2: 1, 3: 1}, 60, "calls 1-3 to finish")
            wait_for(lambda: recorded() == 3, 30, "the checkpoints of calls 1-3")
            assert runs("start") == {0: 1, 1: 1, 2: 1, 3: 1}  # call 0 still runs
            kill(first)

        env = cli_env(api, log, delay=0.0)
        with worker(tools_py, db, "w1", env):
            wait_for(
                lambda: queue.info("g1").status == "awaiting_approval", 60, "awaiting_approval"
            )
            (waiting,) = queue.info("g1").progress["awaiting"]
            assert waiting["arguments"] == {"i": 0, "tag": "g1"}
            assert runs("start") == {0: 1, 1: 1, 2: 1, 3: 1}  # nothing ran again on its own
            queue.approve("g1", waiting["id"])
            result = queue.submit(text, id="g1").result(timeout=60)
        assert result.status == "completed"
        assert [c["result"] for c in result.tool_calls] == [
            f"charge {i} of g1 done" for i in range(4)
        ]
    assert runs("start") == {0: 2, 1: 1, 2: 1, 3: 1}  # call 0 again, once approved
    assert runs("end") == {0: 1, 1: 1, 2: 1, 3: 1}

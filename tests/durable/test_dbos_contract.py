"""The private DBOS calls agentloop makes, pinned (issues 21 and 27): ``dbos`` is held below
its next major in pyproject.toml, and this contract says what the worker relies on, so an
upgrade that changes it fails here rather than in a worker's recovery or checkpoints."""

from __future__ import annotations

import inspect

from _lazy import lazy_module, require

require("dbos")
dbos = lazy_module("dbos")  # imported by the test that reads it, not at collection


def test_recover_pending_workflows_takes_a_list_of_executor_ids() -> None:
    """``TaskQueue.start_worker(recover_from=[...])`` hands dead workers' pending workflows
    to this process with ``DBOS._recover_pending_workflows(ids)``."""
    method = dbos.DBOS._recover_pending_workflows
    params = list(inspect.signature(method).parameters.values())
    assert [p.name for p in params] == ["executor_ids"]
    assert params[0].kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )
    assert isinstance(inspect.getattr_static(dbos.DBOS, "_recover_pending_workflows"), classmethod)


def test_the_pin_is_below_the_next_major() -> None:
    from importlib.metadata import version

    major = int(version("dbos").split(".")[0])
    assert major == 3, "agentloop[durable] pins dbos<4; update the contract above first"


def test_a_new_databases_queue_is_there_when_dbos_launches(tmp_path, monkeypatch) -> None:
    """DBOS's queue manager lists the queues at launch and then once a second: the worker's
    queue is registered before ``DBOS.launch()``, so a new database's first task does not wait
    for the next listing."""
    from agentloop.durable import TaskQueue
    from agentloop.durable._driver import QUEUE_NAME
    from agentloop.testing import Emulator

    queue = TaskQueue(tmp_path / "tasks.db", tools=[], client=Emulator().client())
    listed: list[list[str]] = []
    launch = dbos.DBOS.launch

    def spied_launch() -> None:
        listed.append([q.name for q in queue._client().list_queues()])
        launch()

    monkeypatch.setattr(dbos.DBOS, "launch", staticmethod(spied_launch))
    queue.start_worker()
    try:
        assert listed and QUEUE_NAME in listed[0]
        assert queue.submit("hello").result(timeout=30).status == "completed"
    finally:
        queue.stop()
        queue.close()


def _params(function: object) -> list[inspect.Parameter]:
    return list(inspect.signature(function).parameters.values())  # type: ignore[arg-type]


def test_the_system_database_writes_a_step_as_group_commit_needs() -> None:
    """A SQLite worker writes the checkpoints of a batch's tool calls that finish together in
    one transaction (``_driver._Batch``): it wraps the system database's
    ``record_operation_result(result)``, which DBOS's step recorder calls on the instance
    (``tests/durable/test_group_commit.py`` checks a real batch goes through it), and writes
    each row with ``_record_operation_result_txn(result, completed_at_epoch_ms, conn)`` inside
    ``_own_key(workflow_id)`` and ``engine.begin()``."""
    from dbos._sys_db import SystemDatabase

    record = _params(SystemDatabase.record_operation_result)
    assert [p.name for p in record[:2]] == ["self", "result"]
    by_name = {p.name: p for p in record}
    assert by_name["completed_at_epoch_ms"].kind is inspect.Parameter.KEYWORD_ONLY

    txn = _params(SystemDatabase._record_operation_result_txn)
    assert [p.name for p in txn[:4]] == ["self", "result", "completed_at_epoch_ms", "conn"]
    assert all(p.default is inspect.Parameter.empty for p in txn[:4])
    assert all(
        p.kind is inspect.Parameter.KEYWORD_ONLY or p.default is not inspect.Parameter.empty
        for p in txn[4:]
    )

    own_key = _params(SystemDatabase._own_key)
    assert [p.name for p in own_key[:2]] == ["self", "workflow_id"]
    assert all(p.default is not inspect.Parameter.empty for p in own_key[2:])

    source = inspect.getsource(SystemDatabase.record_operation_result)
    assert "self.engine.begin()" in source and "_record_operation_result_txn" in source
    assert "_sys_db" in inspect.getsource(dbos.DBOS)

"""The private DBOS calls agentloop makes, pinned (issues 21 and 27): ``dbos`` is held below
its next major in pyproject.toml, and this contract says what the worker relies on, so an
upgrade that changes it fails here rather than in a worker's recovery or checkpoints."""

from __future__ import annotations

import contextlib
import contextvars
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _lazy import lazy_module, require
from _services import postgres_dsn

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


# --- a group's rows in one statement (``_driver._checkpoint_insert``) ----------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def system_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """DBOS's own system database on a new SQLite file or PostgreSQL database (one for the
    module's tests: creating and migrating one takes ~0.3 s on PostgreSQL)."""
    from dbos._serialization import DefaultSerializer
    from dbos._sys_db import SystemDatabase

    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('system') / 'system.sqlite'}"
        else:
            from .durable_helpers import fresh_postgres

            url = stack.enter_context(fresh_postgres(postgres_dsn()))
        dbos.DBOS.migrate(url)
        sys_db = SystemDatabase.create(
            system_database_url=url,
            engine_kwargs={},
            engine=None,
            schema=None,
            serializer=DefaultSerializer(),
            executor_id=None,
            use_listen_notify=False,
            app_name="agentloop",
        )
        stack.callback(sys_db.destroy)
        yield sys_db


@pytest.fixture
def sys_db(system_database: Any) -> Any:
    """The system database emptied, holding one workflow ``wf`` owned by the execution
    ``owner-a``."""
    import sqlalchemy as sa

    tables = system_database.tables
    with system_database.engine.begin() as conn:
        for table in (tables.streams, tables.operation_outputs, tables.workflow_status):
            conn.execute(sa.delete(table))
        conn.execute(
            sa.insert(tables.workflow_status).values(
                workflow_uuid="wf",
                status="PENDING",
                created_at=0,
                updated_at=0,
                priority=0,
                owner_xid="owner-a",
            )
        )
    return system_database


def _as_execution(owner: str, fn: Callable[[], Any]) -> Any:
    """``fn()`` in the DBOS context of workflow ``wf``'s execution ``owner`` (as a tool step's
    thread runs), so DBOS's writes check that ``owner`` still owns ``wf``."""
    from dbos._context import DBOSContextEnsure

    def run() -> Any:
        with DBOSContextEnsure() as ctx:
            ctx.workflow_id = "wf"
            ctx.owner_xid = owner
            return fn()

    return contextvars.copy_context().run(run)


def _step(function_id: int) -> dict[str, Any]:
    return {
        "workflow_uuid": "wf",
        "function_id": function_id,
        "function_name": "agentloop.tool:work",
        "output": '{"result": "ok"}',
        "error": None,
        "serialization": "py_pickle",
        "started_at_epoch_ms": 1_700_000_000_000 + function_id,
        "child_workflow_id": None,
    }


def test_a_groups_rows_are_the_rows_dbos_writes(sys_db: Any) -> None:
    """A SQLite or PostgreSQL worker writes a group of tool-step checkpoints with one owner
    check and one statement (``_checkpoint_insert``) instead of DBOS's
    ``_record_operation_result_txn`` per row: each row must be the row DBOS writes, a row
    already there must fail the statement (the group then goes to DBOS row by row), and a
    workflow handed to another execution must refuse the write, as DBOS's does."""
    import sqlalchemy as sa
    from dbos._error import DBOSWorkflowConflictIDError

    from agentloop.durable._driver import _Checkpoint, _checkpoint_insert

    insert = _checkpoint_insert(sys_db)
    assert insert is not None  # DBOS's own system database: its rows are known
    completed = 1_700_000_000_500

    def write_both() -> None:
        with sys_db.engine.begin() as conn:
            sys_db._record_operation_result_txn(_step(1), completed, conn)
        with sys_db.engine.begin() as conn:
            insert(conn, [_Checkpoint(_step(2), completed), _Checkpoint(_step(3), completed)])

    _as_execution("owner-a", write_both)
    table = sys_db.tables.operation_outputs
    with sys_db.engine.begin() as conn:
        rows = {
            row["function_id"]: dict(row) for row in conn.execute(sa.select(table)).mappings().all()
        }
    assert sorted(rows) == [1, 2, 3]
    by_dbos = rows[1]
    assert by_dbos["retention_timestamp"] is not None
    for function_id in (2, 3):
        ours = rows[function_id]
        assert abs(ours["retention_timestamp"] - by_dbos["retention_timestamp"]) < 60_000
        assert ours["started_at_epoch_ms"] - by_dbos["started_at_epoch_ms"] == function_id - 1
        same = ("function_id", "retention_timestamp", "started_at_epoch_ms")
        assert {k: v for k, v in ours.items() if k not in same} == {
            k: v for k, v in by_dbos.items() if k not in same
        }

    def write_again() -> None:
        with sys_db.engine.begin() as conn:
            insert(conn, [_Checkpoint(_step(4), completed), _Checkpoint(_step(1), completed)])

    with pytest.raises(sa.exc.IntegrityError):
        _as_execution("owner-a", write_again)

    def write_as_another_execution() -> None:
        with sys_db.engine.begin() as conn:
            insert(conn, [_Checkpoint(_step(5), completed)])

    with pytest.raises(DBOSWorkflowConflictIDError):
        _as_execution("owner-b", write_as_another_execution)
    with sys_db.engine.begin() as conn:
        kept = conn.execute(sa.select(table.c.function_id)).scalars().all()
    assert sorted(kept) == [1, 2, 3]  # both refused writes rolled back whole


def test_a_batchs_steps_read_at_once_answer_as_dbos_looks_each_up(sys_db: Any) -> None:
    """A worker reads what DBOS recorded for all the steps of a response's calls in one query
    (``_driver._look_up``) and answers each step's own look-up from it: every answer must be
    DBOS's own ``check_operation_execution`` answer (a recorded step, one not recorded), a
    step recorded under another name must be left to DBOS (which reports it), and a cancelled
    workflow is not read (each step's look-up then raises DBOS's cancellation)."""
    import sqlalchemy as sa

    from agentloop.durable._driver import _look_up

    completed = 1_700_000_000_500

    def record() -> None:
        with sys_db.engine.begin() as conn:
            for function_id in (1, 2):
                sys_db._record_operation_result_txn(_step(function_id), completed, conn)
            failed = {**_step(3), "output": None, "error": "boom"}
            sys_db._record_operation_result_txn(failed, completed, conn)

    _as_execution("owner-a", record)
    recorded = _as_execution("owner-a", lambda: _look_up(sys_db, [1, 3, 4, 5]))
    assert recorded is not None and recorded.workflow_id == "wf"
    for function_id in (1, 3, 4, 5):
        found, answer = recorded.answer(function_id, "agentloop.tool:work")
        assert found
        assert answer == sys_db.check_operation_execution("wf", function_id, "agentloop.tool:work")
    assert recorded.answer(1, "agentloop.tool:work")[1]["output"] == '{"result": "ok"}'
    assert recorded.answer(4, "agentloop.tool:work") == (True, None)  # not recorded
    assert recorded.answer(2, "agentloop.tool:work") == (False, None)  # not read here
    assert recorded.answer(1, "agentloop.request") == (False, None)  # DBOS reports it
    with pytest.raises(dbos.error.DBOSUnexpectedStepError):
        sys_db.check_operation_execution("wf", 1, "agentloop.request")

    with sys_db.engine.begin() as conn:
        table = sys_db.tables.workflow_status
        conn.execute(sa.update(table).values(status="CANCELLED"))
    assert _as_execution("owner-a", lambda: _look_up(sys_db, [1, 4])) is None
    with pytest.raises(dbos.error.DBOSWorkflowCancelledError):
        sys_db.check_operation_execution("wf", 4, "agentloop.tool:work")


def test_a_steps_look_up_goes_through_the_instance_as_the_batch_read_needs() -> None:
    """``install_group_commit`` wraps the system database's ``check_operation_execution`` on
    the instance, which DBOS's step runner calls (positionally) before a step runs or replays;
    the reserved steps' ids (``StepReservation.step_id``) are what ``_look_up`` reads."""
    from dbos._core import invoke_step
    from dbos._dbos import StepReservation
    from dbos._sys_db import SystemDatabase

    check = _params(SystemDatabase.check_operation_execution)
    assert [p.name for p in check[:4]] == ["self", "workflow_id", "function_id", "function_name"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in check[4:])
    source = inspect.getsource(invoke_step)
    assert "dbos._sys_db.check_operation_execution(" in source
    assert isinstance(inspect.getattr_static(StepReservation, "step_id"), property)


def test_a_response_event_written_with_its_request_is_the_event_dbos_writes(sys_db: Any) -> None:
    """A worker writes a response's ``model_response`` stream event in the transaction of its
    request step's checkpoint (``_driver._Response``), as the step after it: the
    stream row and that step's record must be those DBOS's ``write_stream`` writes, and a
    replay's ``write_stream`` of the event must find its step recorded (and write nothing)."""
    import sqlalchemy as sa
    from dbos._serialization import WorkflowSerializationFormat

    from agentloop.durable._driver import EVENTS_STREAM, _Response

    event = {"type": "model_response", "request": 1, "text": "hi", "function_calls": []}

    def write_both() -> None:
        sys_db.write_stream_from_workflow(
            "wf",
            1,
            EVENTS_STREAM,
            event,
            serialization_type=WorkflowSerializationFormat.DEFAULT,
        )
        request = {**_step(2), "function_name": "agentloop.request"}
        response = _Response()
        response.event = event
        response.record(sys_db, sys_db.record_operation_result, request)  # and notifies
        assert response.written  # in one transaction, not by the fallback
        # A replay: the event's step (3) is recorded, so DBOS writes nothing.
        sys_db.write_stream_from_workflow(
            "wf",
            3,
            EVENTS_STREAM,
            event,
            serialization_type=WorkflowSerializationFormat.DEFAULT,
        )

    _as_execution("owner-a", write_both)
    streams, outputs = sys_db.tables.streams, sys_db.tables.operation_outputs
    with sys_db.engine.begin() as conn:
        rows = [
            dict(r) for r in conn.execute(sa.select(streams).order_by(streams.c.offset)).mappings()
        ]
        steps = {
            r["function_id"]: dict(r) for r in conn.execute(sa.select(outputs)).mappings().all()
        }
    assert [(r["offset"], r["function_id"]) for r in rows] == [(0, 1), (1, 3)]
    ours, by_dbos = rows[1], rows[0]
    assert {k: v for k, v in ours.items() if k not in ("offset", "function_id")} == {
        k: v for k, v in by_dbos.items() if k not in ("offset", "function_id")
    }
    assert sorted(steps) == [1, 2, 3]
    assert steps[2]["function_name"] == "agentloop.request"
    varying = (
        "function_id",
        "started_at_epoch_ms",
        "completed_at_epoch_ms",
        "retention_timestamp",
    )
    assert {k: v for k, v in steps[3].items() if k not in varying} == {
        k: v for k, v in steps[1].items() if k not in varying
    }
    from dbos._serialization import deserialize_value

    _, values = sys_db.read_stream_values("wf", EVENTS_STREAM, 0, 10)
    assert [deserialize_value(v, kind, sys_db.serializer) for v, kind in values] == [
        event,
        event,
    ]


def test_a_task_cancelled_on_purpose_leaves_no_error_traceback_in_the_log() -> None:
    """``agentloop tasks cancel``: DBOS logs the awaited workflow's cancellation as an ERROR
    with a traceback; the worker's log leaves that out (other errors stay)."""
    import logging

    from dbos._error import DBOSAwaitedWorkflowCancelledError

    from agentloop.durable._queue import _quiet_dbos

    _quiet_dbos()
    log = logging.getLogger("dbos")
    cancelled = DBOSAwaitedWorkflowCancelledError("charge-c1")
    record = log.makeRecord(
        "dbos",
        logging.ERROR,
        __file__,
        1,
        "Exception encountered",
        (),
        (type(cancelled), cancelled, None),
    )
    assert not log.filter(record)
    failed = RuntimeError("a real failure")
    other = log.makeRecord(
        "dbos",
        logging.ERROR,
        __file__,
        1,
        "Exception encountered",
        (),
        (RuntimeError, failed, None),
    )
    assert log.filter(other)

"""``TaskQueue``: submit autonomous tasks, run workers, read status, results and progress.

Submitting and reading go through a ``DBOSClient`` (the system database only: no worker, no
registered workflow needed), so ``agentloop submit`` and ``agentloop tasks`` work from any
machine that reaches the database. ``run_worker`` launches DBOS in this process with the task
workflow of ``_driver.py`` and dequeues with a per-worker concurrency limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from agentloop._defaults import DEFAULT_MODEL, new_id
from agentloop.errors import (
    ConfigurationError,
    InputError,
    StateError,
    StoreError,
    TaskFailedError,
    TaskNotFoundError,
    TaskTimeoutError,
)

from ._db import database_url, prepare_sqlite, redact
from ._driver import (
    APP_NAME,
    APP_VERSION,
    DECISION_TOPIC,
    EVENTS_STREAM,
    PROGRESS_KEY,
    QUEUE_NAME,
    RESULT_KEY,
    WORKFLOW_NAME,
    TaskSettings,
    WorkerRuntime,
    has_runtime,
    install_group_commit,
    register_workflow,
    set_runtime,
)

if TYPE_CHECKING:
    from dbos import DBOSClient

    from agentloop.client import Client
    from agentloop.loop import Conversation

__all__ = ["TaskHandle", "TaskInfo", "TaskQueue", "TaskResult", "TaskStatus"]

T = TypeVar("T")

TaskStatus = Literal["queued", "running", "awaiting_approval", "completed", "failed", "cancelled"]
"""Where a task is: waiting for a worker, running, paused for approval, or ended."""
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled"})

_DBOS_STATUS: dict[str, TaskStatus] = {
    "ENQUEUED": "queued",
    "DELAYED": "queued",
    "PENDING": "running",
    "SUCCESS": "completed",
    "ERROR": "failed",
    "MAX_RECOVERY_ATTEMPTS_EXCEEDED": "failed",
    "CANCELLED": "cancelled",
}


@dataclass
class TaskInfo:
    """One task as listed: status, progress so far, and the answer once completed.

    ``progress`` holds ``requests`` (model requests made), ``tool_calls``, ``last_tool_call``
    and, while ``status == "awaiting_approval"``, the ``awaiting`` calls (id, name, arguments,
    why).
    """

    id: str
    status: TaskStatus
    text: str = ""
    output_text: str = ""
    error: str | None = None
    worker: str | None = None
    created: float | None = None
    updated: float | None = None
    progress: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """The task has ended (``completed``, ``failed`` or ``cancelled``): its status will not
        change again, and cancelling it does nothing."""
        return self.status in TERMINAL

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields."""
        return {
            "id": self.id,
            "status": self.status,
            "text": self.text,
            "output_text": self.output_text,
            "error": self.error,
            "worker": self.worker,
            "created": self.created,
            "updated": self.updated,
            "progress": self.progress,
        }


@dataclass
class TaskResult:
    """A finished task: its answer, the tool calls it made, usage, and the raw record."""

    id: str
    status: TaskStatus
    output_text: str
    tool_calls: list[dict[str, Any]]
    usage: dict[str, Any]
    model_requests: int
    error: str | None
    record: dict[str, Any] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields."""
        return {
            "id": self.id,
            "status": self.status,
            "output_text": self.output_text,
            "tool_calls": self.tool_calls,
            "usage": self.usage,
            "model_requests": self.model_requests,
            "error": self.error,
        }


class TaskHandle:
    """A submitted task: ``status``, ``result(timeout=...)``, ``events()``, decisions."""

    def __init__(self, queue: TaskQueue, task_id: str) -> None:
        self.queue = queue
        self.id = task_id

    @property
    def status(self) -> TaskStatus:
        """The task's current status (read from the queue's database)."""
        return self.queue.info(self.id).status

    def info(self) -> TaskInfo:
        """What the queue knows of the task now."""
        return self.queue.info(self.id)

    def result(self, timeout: float | None = None) -> TaskResult:
        """Wait for the task to end; its ``TaskResult``.

        Raises ``TaskFailedError`` if it failed or was cancelled, ``TaskTimeoutError`` if it
        is still queued, running or awaiting approval after ``timeout`` seconds.
        """
        return self.queue.wait(self.id, timeout)

    async def aresult(self, timeout: float | None = None) -> TaskResult:
        """``result()`` without blocking the event loop."""
        return await asyncio.to_thread(self.queue.wait, self.id, timeout)

    def events(self, follow: bool = False) -> Iterator[dict[str, Any]]:
        """The task's progress events; with ``follow``, waits for more until the task ends."""
        return self.queue.events(self.id, follow=follow)

    def approve(self, call_id: str) -> None:
        """Approve the waiting call ``call_id``; the task goes on."""
        self.queue.approve(self.id, call_id)

    def reject(self, call_id: str, reason: str | None = None) -> None:
        """Reject the waiting call ``call_id`` (the model is told ``reason``)."""
        self.queue.reject(self.id, call_id, reason)

    def __repr__(self) -> str:
        return f"TaskHandle(id={self.id!r})"


class TaskQueue:
    """Durable autonomous tasks on DBOS: a queue in a database, and workers that run it.

    ``db``: a SQLite file (default ``agentloop-tasks.sqlite`` in the current directory) for one
    machine, or a ``postgresql://`` URL shared by workers on many. ``tools``, ``model``,
    ``system_instruction`` and ``max_steps`` are what this process's worker runs tasks with
    (recorded with each task when it starts); ``client`` is the model client of the worker
    (default ``Client()`` from the environment: ``GEMINI_API_KEY``, ``GEMINI_BASE_URL``).
    ``poll_interval`` is how often an idle worker looks for new tasks, in seconds.
    """

    def __init__(
        self,
        db: str | os.PathLike[str] | None = None,
        *,
        tools: Iterable[Any] = (),
        model: str = DEFAULT_MODEL,
        system_instruction: str | None = None,
        max_steps: int = 20,
        client: Client | None = None,
        poll_interval: float = 0.2,
    ) -> None:
        if max_steps < 1:
            raise ConfigurationError(f"max_steps must be at least 1, got {max_steps}")
        if poll_interval <= 0:
            raise ConfigurationError(f"poll_interval must be positive, got {poll_interval}")
        self.url = database_url(db)
        self.tools = list(tools)
        self.settings = TaskSettings(model, system_instruction, max_steps)
        self.client = client
        self.poll_interval = poll_interval
        self._dbos_client: DBOSClient | None = None
        self._lock = threading.Lock()
        self._worker: WorkerRuntime | None = None
        self._stop_requested = threading.Event()

    def __repr__(self) -> str:
        return f"TaskQueue({redact(self.url)!r}, model={self.settings.model!r})"

    @property
    def is_postgres(self) -> bool:
        """Whether the queue's database is PostgreSQL (else SQLite)."""
        return self.url.startswith("postgresql")

    # --- the database --------------------------------------------------------------------------

    def _client(self) -> DBOSClient:
        with self._lock:
            if self._dbos_client is None:
                from dbos import DBOS, DBOSClient

                _quiet_dbos()
                dbos_log = logging.getLogger("dbos")
                level = dbos_log.level
                if "AGENTLOOP_DBOS_LOG_LEVEL" not in os.environ:
                    # Its "could not connect ... Continuing" warning precedes our one line.
                    dbos_log.setLevel(logging.ERROR)
                try:
                    prepare_sqlite(self.url)
                    DBOS.migrate(self.url)  # creates the system tables once; cheap afterwards
                    self._dbos_client = DBOSClient(
                        system_database_url=self.url,
                        application_name=APP_NAME,
                        use_listen_notify=False,
                    )
                except Exception as exc:
                    raise StoreError(
                        f"cannot open the task database {redact(self.url)!r}: "
                        f"{_first_line(exc)}. Check the URL (postgresql://user:pass@host/db, "
                        "sqlite:///path or a file path), that the server is running and "
                        "reachable, and that this user may create tables there"
                    ) from None
                finally:
                    dbos_log.setLevel(level)
            return self._dbos_client

    def close(self) -> None:
        """Stop this process's worker (if any) and close the database connections."""
        if self._worker is not None:
            self.stop()
        with self._lock:
            client, self._dbos_client = self._dbos_client, None
        if client is not None:
            client.destroy()

    def __enter__(self) -> TaskQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- submitting ----------------------------------------------------------------------------

    def submit(self, text: str, id: str | None = None) -> TaskHandle:
        """Put a task on the queue; a handle to it. Submitting an ``id`` that exists returns
        the existing task (no second task is created)."""
        if not isinstance(text, str) or not text.strip():
            raise InputError("a task needs a non-empty text saying what to do")
        task_id = id or new_id("task-", 6)
        self._client().enqueue(
            {
                "workflow_name": WORKFLOW_NAME,
                "queue_name": QUEUE_NAME,
                "workflow_id": task_id,
                "app_version": APP_VERSION,
            },
            text,
        )
        return TaskHandle(self, task_id)

    async def asubmit(self, text: str, id: str | None = None) -> TaskHandle:
        """``submit()`` without blocking the event loop."""
        return await asyncio.to_thread(self.submit, text, id)

    def task(self, task_id: str) -> TaskHandle:
        """A handle to an existing task (``TaskNotFoundError`` if there is none)."""
        self._status_row(task_id)
        return TaskHandle(self, task_id)

    # --- reading -------------------------------------------------------------------------------

    def _status_row(self, task_id: str, load_output: bool = True, load_input: bool = True) -> Any:
        rows = self._client().list_workflows(
            workflow_ids=[task_id],
            name=WORKFLOW_NAME,
            load_output=load_output,
            load_input=load_input,
        )
        if not rows:
            raise TaskNotFoundError(
                f"no task {task_id!r} in {redact(self.url)}; list tasks with "
                "`agentloop tasks --db ...` and check the id and the database"
            )
        return rows[0]

    def _event(self, task_id: str, key: str) -> Any:
        return self._client().get_event(task_id, key, timeout_seconds=0)

    def _info(self, row: Any) -> TaskInfo:
        status: TaskStatus = _DBOS_STATUS.get(str(row.status), "running")
        args = (row.input or {}).get("args") if isinstance(row.input, dict) else None
        text = ""
        if args is not None:
            text = str(args[0]) if args else ""
        elif row.input is not None:
            inputs = getattr(row.input, "args", None) or ()
            text = str(inputs[0]) if inputs else ""
        info = TaskInfo(
            id=row.workflow_id,
            status=status,
            text=text,
            worker=row.executor_id,
            created=row.created_at / 1000 if row.created_at else None,
            updated=row.updated_at / 1000 if row.updated_at else None,
        )
        record: dict[str, Any] | None = None
        if status == "completed" and isinstance(row.output, dict):
            record = row.output
        elif status == "failed":
            found = self._event(row.workflow_id, RESULT_KEY)
            record = found if isinstance(found, dict) and "conversation" in found else None
            info.error = str(record["error"]) if record else _error_text(row.error)
        if record is not None:
            info.output_text = str(record.get("output_text") or "")
            calls = record.get("tool_calls") or []
            info.progress = {
                "requests": record.get("model_requests", 0),
                "tool_calls": len(calls),
                "last_tool_call": calls[-1]["name"] if calls else None,
                "awaiting": [],
            }
        elif status == "running":
            info.progress = self._step_progress(row.workflow_id)
            # Set by the task when it starts waiting for a decision, and when it stops.
            progress = self._event(row.workflow_id, PROGRESS_KEY)
            if isinstance(progress, dict) and progress.get("state") == "awaiting_approval":
                info.status = "awaiting_approval"
                info.progress["awaiting"] = list(progress.get("awaiting") or [])
        return info

    def _step_progress(self, task_id: str) -> dict[str, Any]:
        """A running task's progress, counted from the steps DBOS recorded for it."""
        names = [
            str(step["function_name"])
            for step in self._client().list_workflow_steps(task_id, load_output=False)
        ]
        tools = [n.partition(":")[2] for n in names if n.startswith("agentloop.tool:")]
        return {
            "requests": names.count("agentloop.request"),
            "tool_calls": len(tools),
            "last_tool_call": tools[-1] if tools else None,
            "awaiting": [],
        }

    def info(self, task_id: str) -> TaskInfo:
        """The task's status and progress now."""
        return self._info(self._status_row(task_id))

    def tasks(self, limit: int | None = None) -> list[TaskInfo]:
        """Every task, newest first (at most ``limit``)."""
        rows = self._client().list_workflows(name=WORKFLOW_NAME, sort_desc=True, limit=limit)
        return [self._info(row) for row in rows]

    def record(self, task_id: str) -> dict[str, Any]:
        """The full outcome of a finished task (answer, tool calls, usage, conversation)."""
        row = self._status_row(task_id)
        status = _DBOS_STATUS.get(str(row.status), "running")
        if status == "completed" and isinstance(row.output, dict):
            return dict(row.output)
        if status == "failed":
            found = self._event(task_id, RESULT_KEY)
            if isinstance(found, dict) and "conversation" in found:
                return found
            raise TaskFailedError(
                f"task {task_id} failed before it had a conversation: {_error_text(row.error)}",
                task_id,
                "failed",
            )
        if status == "cancelled":
            raise TaskFailedError(f"task {task_id} was cancelled", task_id, "cancelled")
        raise StateError(
            f"task {task_id} is {self._info(row).status}; wait for it with "
            "task.result(timeout=...) (or `agentloop submit --wait`) first"
        )

    def wait(self, task_id: str, timeout: float | None = None) -> TaskResult:
        """Wait for a task to end (see ``TaskHandle.result``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            # Polled by its status alone (one small query: no input, output, steps or
            # progress events); the rest is read once, when it ended or the wait timed out.
            row = self._status_row(task_id, load_output=False, load_input=False)
            if _DBOS_STATUS.get(str(row.status), "running") in TERMINAL:
                info = self.info(task_id)
                break
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                info = self.info(task_id)
                if info.finished:  # it ended just now
                    break
                raise TaskTimeoutError(
                    f"task {task_id} is still {info.status} after {timeout:g} s"
                    + (
                        "; approve or reject its calls with `agentloop tasks approve|reject`"
                        if info.status == "awaiting_approval"
                        else "; is a worker running on this database?"
                    )
                )
            # (The DBOS client runs no notification listener, so waiting on the result event
            # would be two more queries around the same sleep.)
            time.sleep(
                self.poll_interval if remaining is None else min(remaining, self.poll_interval)
            )
        if info.status == "cancelled":
            raise TaskFailedError(f"task {task_id} was cancelled", task_id, "cancelled")
        if info.status == "failed":
            raise TaskFailedError(
                f"task {task_id} failed: {info.error or 'see agentloop tasks show'}",
                task_id,
                "failed",
            )
        record = self.record(task_id)
        return TaskResult(
            id=task_id,
            status="completed",
            output_text=str(record.get("output_text") or ""),
            tool_calls=list(record.get("tool_calls") or []),
            usage=dict(record.get("usage") or {}),
            model_requests=int(record.get("model_requests") or 0),
            error=None,
            record=record,
        )

    def events(self, task_id: str, follow: bool = False) -> Iterator[dict[str, Any]]:
        """The task's progress events (tool call started/finished, model responses, approvals,
        the end), from its DBOS stream. ``follow=True`` keeps waiting for new ones until the
        task ends."""
        from dbos import error as dbos_errors

        self._status_row(task_id, load_output=False)
        stream = self._client().read_stream(
            task_id,
            EVENTS_STREAM,
            timeout_seconds=None if follow else 0.0,
            polling_interval_sec=self.poll_interval,
        )
        try:
            yield from stream
        except dbos_errors.DBOSStreamTimeoutError:
            return
        finally:
            stream.close()

    def conversation(self, task_id: str, client: Client | None = None) -> Conversation:
        """The finished task's conversation, for a follow-up turn or inspection (it runs this
        queue's tools)."""
        from agentloop.loop import Conversation

        return Conversation.from_dict(
            self.record(task_id)["conversation"], client=client, tools=self.tools
        )

    def history(self, task_id: str) -> list[dict[str, Any]]:
        """Every step of a finished task's conversation, as JSON-ready dicts (no client
        needed)."""
        from agentloop.loop.persist import from_document

        _, _, state = from_document(self.record(task_id)["conversation"])
        return [step.model_dump(mode="json") for step in state.history]

    # --- decisions -----------------------------------------------------------------------------

    def approve(self, task_id: str, call_id: str) -> None:
        """Let a call that waits for a decision run (again)."""
        self._decide(task_id, call_id, True, None)

    def reject(self, task_id: str, call_id: str, reason: str | None = None) -> None:
        """Refuse a waiting call; the model gets an error result saying so (with ``reason``)."""
        self._decide(task_id, call_id, False, reason)

    def _decide(self, task_id: str, call_id: str, ok: bool, reason: str | None) -> None:
        """Record the decision (the first one on a wait wins), then deliver it once."""
        from ._decisions import latest_decision, record_decision

        self._client()  # the database exists, with a clear error if it cannot be opened
        info = self.info(task_id)
        awaiting = {c["id"]: c for c in info.progress.get("awaiting", [])}
        what = "approve" if ok else "reject"
        if info.status == "awaiting_approval" and call_id in awaiting:
            ticket = int(awaiting[call_id].get("ticket") or 0)
            first = self._guard_db(
                lambda: record_decision(self.url, task_id, call_id, ticket, ok, reason)
            )
            if first.approve != ok:
                raise StateError(
                    f"call {call_id!r} of task {task_id} was already {first.describe()}; the "
                    f"first decision holds, so this {what} was not applied. See `agentloop "
                    f"tasks show {task_id}`"
                )
            self._client().send(
                task_id,
                {"call_id": call_id, "approve": ok, "reason": first.reason, "ticket": ticket},
                DECISION_TOPIC,
                idempotency_key=f"{task_id}:{call_id}:{ticket}",
            )
            return
        previous = self._guard_db(lambda: latest_decision(self.url, task_id, call_id))
        if previous is not None:
            if previous.approve != ok:
                raise StateError(
                    f"call {call_id!r} of task {task_id} was already {previous.describe()}; "
                    f"a decision cannot be changed, so this {what} was not applied. See "
                    f"`agentloop tasks show {task_id}`"
                )
            return  # the same decision again: already delivered
        waiting = ", ".join(awaiting) or "none"
        raise StateError(
            f"call {call_id!r} of task {task_id} is not awaiting a decision (task is "
            f"{info.status}; calls waiting: {waiting}); see `agentloop tasks show {task_id}`"
        )

    def _guard_db(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except Exception as exc:
            raise StoreError(
                f"the task database {redact(self.url)!r} failed: {type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:300]}; check that it is reachable and writable"
            ) from None

    def cancel(self, task_id: str) -> None:
        """Cancel a task: it stops at its next step and is never resumed."""
        self._status_row(task_id, load_output=False)
        self._client().cancel_workflow(task_id)
        self._wake(task_id)  # a task waiting for a decision sees the cancellation now

    def _wake(self, task_id: str) -> None:
        self._client().send(task_id, {"wake": True}, DECISION_TOPIC)

    # --- the worker ----------------------------------------------------------------------------

    def start_worker(
        self,
        *,
        concurrency: int = 1,
        worker_id: str | None = None,
        recover_from: Iterable[str] = (),
    ) -> str:
        """Launch DBOS in this process and start taking tasks (in background threads); the
        worker id. Pending tasks of this worker id (from a run that died) are recovered first;
        ``recover_from`` names dead workers whose pending tasks this worker takes over."""
        if concurrency < 1:
            raise ConfigurationError(f"concurrency must be at least 1, got {concurrency}")
        if self._worker is not None:
            raise StateError("this TaskQueue already runs a worker; call stop() first")
        from dbos import DBOS

        from agentloop.client import Client

        _quiet_dbos()
        prepare_sqlite(self.url)
        worker = worker_id or default_worker_id()
        register_workflow()
        if has_runtime():
            raise StateError(
                "this process already runs an agentloop worker (DBOS runs one application "
                "per process); stop it first or start another process"
            )
        runtime = WorkerRuntime(
            client=self.client if self.client is not None else Client(),
            tools=self.tools,
            settings=self.settings,
            serial_writes=not self.is_postgres,
            tool_threads=32 * concurrency,
        )
        set_runtime(runtime)
        try:
            # The queue is in the database before DBOS launches: its queue manager lists the
            # queues once at launch and then every second, so a queue registered only after
            # launch (a new database) left the first task waiting about a second.
            self._client().register_queue(
                QUEUE_NAME,
                worker_concurrency=concurrency,
                polling_interval_sec=self.poll_interval,
                on_conflict="always_update",
                application_name=APP_NAME,
            )
            dbos = DBOS(config=self._dbos_config(worker))
            DBOS.launch()
            install_group_commit(dbos._sys_db)
            runtime.sys_db = dbos._sys_db
            runtime.group_commit = True
            DBOS.register_queue(
                QUEUE_NAME,
                worker_concurrency=concurrency,
                polling_interval_sec=self.poll_interval,
                on_conflict="always_update",
            )
            dead = [w for w in recover_from if w and w != worker]
            if dead:
                DBOS._recover_pending_workflows(dead)
        except BaseException:
            set_runtime(None)
            DBOS.destroy()
            raise
        self._worker = runtime
        self._stop_requested.clear()
        return worker

    def _dbos_config(self, worker: str) -> Any:
        interval = min(self.poll_interval, 1.0)
        config: dict[str, Any] = {
            "name": APP_NAME,
            "system_database_url": self.url,
            "application_version": APP_VERSION,
            "executor_id": worker,
            "log_level": os.environ.get("AGENTLOOP_DBOS_LOG_LEVEL", "WARNING"),
            "notification_listener_polling_interval_sec": interval,
        }
        if self.is_postgres:
            # No "SELECT 1" before every checkpoint (~0.6 ms of the ~3 ms a DBOS step costs on
            # loopback): DBOS retries a statement that meets a dropped connection, and
            # connections are renewed every 5 minutes.
            config["db_engine_kwargs"] = {"pool_pre_ping": False, "pool_recycle": 300}
        else:
            # Nor on SQLite, whose connections (a file) never drop.
            config["db_engine_kwargs"] = {"pool_pre_ping": False}
        return config

    def run_worker(
        self,
        *,
        concurrency: int = 1,
        worker_id: str | None = None,
        recover_from: Iterable[str] = (),
        grace: float = 10.0,
        on_started: Callable[[str], None] | None = None,
    ) -> int:
        """Run tasks until ``request_stop()`` (from a signal handler or another thread) or
        Ctrl-C, then ``stop(grace)``; returns how many tasks were left mid-step.
        ``on_started(worker_id)`` is called once the worker takes tasks."""
        worker = self.start_worker(
            concurrency=concurrency, worker_id=worker_id, recover_from=recover_from
        )
        try:
            if on_started is not None:
                on_started(worker)
            with contextlib.suppress(KeyboardInterrupt):
                while not self._stop_requested.wait(0.5):
                    pass
        except BaseException:
            self.stop(grace)
            raise
        return self.stop(grace)

    def request_stop(self) -> None:
        """Ask ``run_worker`` to stop (safe from a signal handler or another thread)."""
        self._stop_requested.set()

    def stop(self, grace: float = 10.0) -> int:
        """Stop taking tasks; running tasks stop at their next step boundary (a step in flight
        may finish within ``grace`` seconds); what is left stays pending for recovery by this
        worker id (or ``--recover-from``). Returns how many tasks were left mid-step."""
        runtime = self._worker
        if runtime is None:
            return 0
        from dbos import DBOS

        runtime.stopping.set()
        with runtime.lock:
            deciding = list(runtime.deciding)
        for task_id in deciding:  # end their waits for a decision so they park
            self._wake(task_id)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            with runtime.lock:
                if runtime.active <= runtime.parked:
                    break
            time.sleep(0.02)
        with runtime.lock:
            in_flight = max(0, runtime.active - runtime.parked)
        DBOS.destroy()
        runtime.released.set()  # parked tasks unwind without recording anything
        runtime.close()
        set_runtime(None)
        self._worker = None
        return in_flight


def default_worker_id() -> str:
    """The ``worker_id`` a worker gets when none is given (``TaskQueue.start_worker``,
    ``agentloop worker``): the host name, stable across restarts so that a restarted worker
    recovers its own unfinished tasks. Give each worker on one machine its own id."""
    return socket.gethostname() or "agentloop-worker"


def _error_text(error: Any) -> str:
    if error is None:
        return "unknown error"
    return f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)


def _quiet_dbos() -> None:
    """DBOS logs every launch and recovery at INFO; agentloop commands print their own lines.
    A task a user cancelled is not an error: DBOS's traceback for it is left out."""
    import logging

    level = os.environ.get("AGENTLOOP_DBOS_LOG_LEVEL", "WARNING")
    dbos_log = logging.getLogger("dbos")
    dbos_log.setLevel(level)
    if not any(isinstance(f, _CancelledIsNoError) for f in dbos_log.filters):
        dbos_log.addFilter(_CancelledIsNoError())


class _CancelledIsNoError:
    """Drops DBOS's ERROR record (with traceback) for a workflow cancelled on purpose."""

    def filter(self, record: Any) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return type(error).__name__ not in (
            "DBOSAwaitedWorkflowCancelledError",
            "DBOSWorkflowCancelledError",
        )


def _first_line(exc: BaseException) -> str:
    """The gist of a database driver's error: its type and first line, the password hidden."""
    cause: BaseException = exc
    while getattr(cause, "orig", None) is not None:  # SQLAlchemy wraps the driver's error
        cause = cause.orig  # type: ignore[attr-defined]
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    text = redact(lines[0]) if lines else ""
    return f"{type(cause).__name__}: {text[:300]}" if text else type(cause).__name__

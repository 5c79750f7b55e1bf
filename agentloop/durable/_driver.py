"""The third driver of the turn engine: every effect of a turn is a DBOS step.

``Conversation`` performs the engine's effects directly; here each model request is one DBOS
step (its recorded output is the interaction's wire JSON, validated again on every pass) and
each tool call is one DBOS step. When DBOS replays a recovered workflow, recorded steps return
their outputs without running, so the engine walks the same path again and continues from the
first step that has none. No agent logic lives here: the engine decides everything.

The driver enters through the public entry point (``conv.engine()``) and runs the protocol
with the one drive loop (``agentloop.loop.drive.drive``) in a world whose effects are DBOS
steps. Hooks run as they do for ``Conversation``.

DBOS steps are at-least-once, so tool calls follow the in-doubt rule of journaling. A tool that
is not ``idempotent`` gets a "started" step first whose output is a token drawn fresh by the
current execution, outside any step. On replay the recorded token differs from the fresh one,
which proves the call began in an earlier execution; its tool step then either replays a
recorded result or, having none, records that the call is in doubt and answers the engine
``InDoubt``. What follows is the engine's rule, not this module's: an in-doubt call is never
run again without a human decision. The turn pauses; the task reports ``awaiting_approval`` and
waits (a durable ``DBOS.recv``) for ``approve`` (run it again) or ``reject`` (the model gets an
error result), as it does for tools that require approval.
"""

from __future__ import annotations

import contextvars
import functools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentloop._defaults import new_id
from agentloop.errors import AgentloopError, ConfigurationError, StoreError, TaskFailedError
from agentloop.loop.drive import call_blocking, drive, summarize_call
from agentloop.loop.effects import (
    InDoubt,
    Persist,
    Protocol,
    RunHook,
    RunTools,
    SendRequest,
    Summarize,
    WaitBackground,
)
from agentloop.loop.events import (
    InteractionCompleted,
    LoopEvent,
    StrategyFallback,
    ToolCallFinished,
    TurnCompleted,
)
from agentloop.loop.turn import result_text
from agentloop.tools import ToolContext, ToolError
from agentloop.tools._pool import ToolPool
from agentloop.tools.execution import ToolOutcome
from agentloop.types import RUNNING_STATUSES, FunctionCallStep, FunctionResultStep, Interaction

if TYPE_CHECKING:
    from agentloop.client import Client
    from agentloop.loop import Conversation, Turn
    from agentloop.tools import Tool

__all__ = [
    "APP_NAME",
    "APP_VERSION",
    "DECISION_TOPIC",
    "EVENTS_STREAM",
    "PROGRESS_KEY",
    "QUEUE_NAME",
    "RESULT_KEY",
    "WORKFLOW_NAME",
    "TaskSettings",
    "WorkerRuntime",
    "install_group_commit",
    "register_workflow",
]

APP_NAME = "agentloop"
# Recovery only resumes workflows of the same application version; every agentloop worker that
# runs this protocol shares it (bump it when the step sequence of a task changes).
APP_VERSION = "agentloop-durable-2"
QUEUE_NAME = "agentloop-tasks"
WORKFLOW_NAME = "agentloop.task"
PROGRESS_KEY = "agentloop.progress"
RESULT_KEY = "agentloop.result"
EVENTS_STREAM = "agentloop.events"
DECISION_TOPIC = "agentloop.decision"
# How long one durable wait for a decision lasts before it is renewed (each wait is recorded).
_DECISION_WAIT = 3600.0
_RESULT_PREVIEW = 2000
_TOOL_STEP = "agentloop.tool:"  # the name of a tool call's step: this, then the tool's name
_STARTED_STEP = "agentloop.tool_started"  # before the step of a tool that is not idempotent
_REQUEST_STEP = "agentloop.request"
_IN_DOUBT = (
    "in doubt: the worker stopped while this call ran, so it may have run; "
    "approve to run it again, reject to tell the model it failed"
)


@dataclass(frozen=True)
class TaskSettings:
    """The model settings a worker runs tasks with; recorded with each task on first run."""

    model: str
    system_instruction: str | None = None
    max_steps: int = 20

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "system_instruction": self.system_instruction,
            "max_steps": self.max_steps,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskSettings:
        return cls(
            model=str(data["model"]),
            system_instruction=data.get("system_instruction"),
            max_steps=int(data.get("max_steps", 20)),
        )


@dataclass
class WorkerRuntime:
    """What the workflow needs from the process that runs it (DBOS runs one app per process)."""

    client: Client
    tools: list[Tool[..., Any]]
    settings: TaskSettings
    stopping: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    parked: int = 0
    active: int = 0
    deciding: set[str] = field(default_factory=set)  # tasks waiting in DBOS.recv
    hooks: Any = None  # hooks= of each task's conversation (agentloop.Hooks, objects, a list)
    # SQLite: the step checkpoints of concurrent tool calls are written one at a time
    # (``_record_in_turn``), not left to SQLite's busy handler.
    serial_writes: bool = False
    # The checkpoints of concurrent tool calls that finish together are written in one
    # transaction (``_Batch``); set once ``install_group_commit`` wrapped DBOS's writer.
    group_commit: bool = False
    # DBOS's system database, once ``install_group_commit`` wrapped it (``_look_up``).
    sys_db: Any = None
    # The threads that run the concurrent tool calls of every task of this worker, kept
    # between batches (starting ten threads per batch cost ~1 ms of each task's turn).
    tool_threads: int = 32
    _pool: ToolPool | None = None

    def pool(self) -> ToolPool:
        with self.lock:
            if self._pool is None:
                self._pool = ToolPool(self.tool_threads, name="agentloop-durable-tool")
            return self._pool

    def close(self) -> None:
        with self.lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)


class _WorkerStopped(BaseException):
    """Unwinds a task parked at a step boundary once its worker has shut DBOS down: nothing is
    recorded (DBOS is gone), so the task stays pending and recovery resumes it there."""


_runtime: WorkerRuntime | None = None
_registered = False
_register_lock = threading.Lock()


def set_runtime(runtime: WorkerRuntime | None) -> None:
    global _runtime
    _runtime = runtime


def has_runtime() -> bool:
    """Whether this process runs an agentloop worker."""
    return _runtime is not None


def current_runtime() -> WorkerRuntime:
    if _runtime is None:
        raise ConfigurationError(
            "this process has no agentloop worker; start one with TaskQueue.run_worker() "
            "or `agentloop worker` before DBOS runs agentloop tasks"
        )
    return _runtime


def register_workflow() -> None:
    """Declare the task workflow to DBOS once per process (before ``DBOS.launch``)."""
    global _registered
    with _register_lock:
        if _registered:
            return
        from dbos import DBOS

        def agentloop_task(text: str) -> dict[str, Any]:
            return run_task(text)

        DBOS.workflow(name=WORKFLOW_NAME)(agentloop_task)
        _registered = True


def run_task(text: str) -> dict[str, Any]:
    """The workflow body: one autonomous turn of a fresh conversation, driven durably."""
    from dbos import DBOS

    from agentloop.loop import Conversation

    runtime = current_runtime()
    task_id = str(DBOS.workflow_id)
    token = new_id(nbytes=16)  # fresh per execution, drawn outside any step
    recorded = DBOS.run_step({"name": "agentloop.settings"}, runtime.settings.to_json)
    settings = TaskSettings.from_json(recorded)
    conv = Conversation(
        runtime.client,
        model=settings.model,
        tools=runtime.tools,
        system_instruction=settings.system_instruction,
        max_steps=settings.max_steps,
        id=task_id,
        hooks=runtime.hooks,
    )
    driver = DurableDriver(conv, token, runtime)
    with runtime.lock:
        runtime.active += 1
    try:
        try:
            turn = driver.run(text)
        except AgentloopError as exc:
            cut: Turn | None = exc.turn
            result = task_result(conv, cut, settings, error=f"{type(exc).__name__}: {exc}")
            driver.finish(result)
            raise TaskFailedError(
                f"task {task_id} failed: {type(exc).__name__}: {exc}", task_id, "failed"
            ) from None
        result = task_result(conv, turn, settings)
        driver.finish(result)
        return result
    finally:
        with runtime.lock:
            runtime.active -= 1


def task_result(
    conv: Conversation, turn: Turn | None, settings: TaskSettings, error: str | None = None
) -> dict[str, Any]:
    """The JSON-ready outcome of a task (its workflow output)."""
    calls = []
    if turn is not None:
        # In the order the model asked for the calls (decisions may answer them out of order).
        order = {
            step.id: index
            for index, step in enumerate(turn.steps)
            if isinstance(step, FunctionCallStep)
        }
        records = sorted(turn.tool_calls, key=lambda r: order.get(r.call.id, len(order)))
        for record in records:
            calls.append(
                {
                    "id": record.call.id,
                    "name": record.call.name,
                    "arguments": record.call.arguments,
                    "is_error": record.is_error,
                    "result": result_text(record.result)[:_RESULT_PREVIEW],
                }
            )
    return {
        "id": conv.id,
        "status": "failed" if error is not None else "completed",
        "output_text": turn.output_text if turn is not None else "",
        "error": error,
        "tool_calls": calls,
        "usage": turn.usage.model_dump(mode="json") if turn is not None else {},
        "model_requests": turn.model_requests if turn is not None else 0,
        "settings": settings.to_json(),
        "conversation": conv.to_dict(),
    }


def _call_json(call: FunctionCallStep, why: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": call.id, "name": call.name, "arguments": call.arguments}
    if why is not None:
        data["why"] = why
    return data


class DurableDriver:
    """Performs a turn's effects as DBOS steps (one per request, one per tool call)."""

    def __init__(self, conv: Conversation, token: str, runtime: WorkerRuntime) -> None:
        self.conv = conv
        self.token = token
        self.runtime = runtime
        self.requests = 0
        self.tool_calls = 0
        self.last_tool_call: str | None = None
        self.tickets: dict[str, int] = {}  # how many decisions each call has waited for
        self.finished: list[dict[str, Any]] = []  # tool results not streamed yet
        # The next model_response event was written with its request's checkpoint (``_Response``).
        self.response_streamed = False

    # --- the turn ------------------------------------------------------------------------------

    def run(self, text: str) -> Turn:
        conv = self.conv
        turn = self._drive(conv.engine().start(text))
        while turn.status == "awaiting_approval":
            # The engine paused the turn: tools declared requires_approval=... (decided
            # together), and calls in doubt (decided one by one, in call order).
            doubt = set(conv.in_doubt)
            asked = [c for c in turn.pending_approvals if c.id not in doubt]
            decisions = self._decide(asked, "the tool requires approval") if asked else {}
            for call in turn.pending_approvals:
                if call.id in doubt:
                    decisions.update(self._decide([call], _IN_DOUBT))
            for call_id, (ok, reason) in decisions.items():
                if ok:
                    conv.approve(call_id)
                else:
                    conv.reject(call_id, reason)
            turn = self._drive(conv._continuing().resume())
        return turn

    def _drive(self, proto: Protocol) -> Turn:
        turn: Turn | None = None
        for event in drive(proto, self):
            if not isinstance(event, ToolCallFinished):
                self._flush()
            self._boundary()
            self._emit(event)
            if isinstance(event, TurnCompleted):
                turn = event.turn
        self._flush()
        assert turn is not None
        return turn

    # --- the world: each effect a DBOS step ----------------------------------------------------

    def request(self, effect: SendRequest, box: list[Interaction]) -> Iterator[LoopEvent]:
        self._flush()
        self._boundary()
        box.append(self._request(effect.body))
        yield from ()

    def perform(self, effect: Any) -> Any:
        self._flush()
        self._boundary()
        kind = type(effect)
        if kind is RunTools:
            return self._run_calls(effect.calls)
        if kind is WaitBackground:
            return self._wait(effect.interaction)
        if kind is Summarize:
            return self._summarize(effect)
        if kind is RunHook:
            return call_blocking(effect.hook, effect.event, self.conv.tools._get_loop)
        assert kind is Persist
        raise StoreError(
            "a durable task's conversation keeps its state in DBOS, not in a store; "
            "do not attach a store to it"
        )

    def _boundary(self) -> None:
        """Between two steps: when the worker is stopping, park here (nothing in flight), so
        the task is left to recovery without a call in doubt."""
        runtime = self.runtime
        if not runtime.stopping.is_set():
            return
        with runtime.lock:
            runtime.parked += 1
        runtime.released.wait()
        raise _WorkerStopped()

    # --- effects -------------------------------------------------------------------------------

    def _request(self, body: dict[str, Any]) -> Interaction:
        from dbos import DBOS

        client = self.conv.client
        runtime = self.runtime
        self.response_streamed = False
        # With no hooks between the response and its event, a finished response's
        # model_response event is written with the request's checkpoint (``_Response``).
        response = _Response() if runtime.group_commit and runtime.hooks is None else None

        def send() -> str:
            interaction = client.interactions.create(**body)
            if response is not None and interaction.status not in RUNNING_STATUSES:
                response.event = self._response_event(interaction, self.requests + 1)
            return str(interaction.model_dump_json())

        token = _RESPONSE.set(response)
        try:
            wire = DBOS.run_step({"name": _REQUEST_STEP}, send)
        finally:
            _RESPONSE.reset(token)
        if response is not None and response.written:
            DBOS.reserve_step()  # the event's own step, recorded with the request's
            self.response_streamed = True
        return Interaction.model_validate_json(wire)

    def _wait(self, interaction: Interaction) -> Interaction:
        from dbos import DBOS

        client = self.conv.client
        interaction_id = str(interaction.id)

        def wait() -> str:
            return str(client.interactions.wait(interaction_id).model_dump_json())

        return Interaction.model_validate_json(DBOS.run_step({"name": "agentloop.wait"}, wait))

    def _summarize(self, effect: Summarize) -> Any:
        from dbos import DBOS

        client = self.conv.client

        call = summarize_call(effect)

        def summarize() -> dict[str, Any]:
            out = call_blocking(call, client, self.conv.tools._get_loop)
            if isinstance(out, Interaction):
                return {"interaction": out.model_dump_json()}
            return {"text": str(out)}

        recorded = DBOS.run_step({"name": "agentloop.summarize"}, summarize)
        if "interaction" in recorded:
            return Interaction.model_validate_json(recorded["interaction"])
        return recorded["text"]

    def _run_calls(self, calls: list[FunctionCallStep]) -> list[ToolOutcome | InDoubt]:
        """One DBOS step per call (and a "started" step before each of a tool that is not
        idempotent); the calls of one response run concurrently, like ``Conversation`` runs
        them. Step ids are drawn in call order before anything runs (``DBOS.reserve_step``),
        so a replay meets every call at the same steps."""
        from dbos import DBOS

        reserved: list[tuple[FunctionCallStep, Any, Any]] = []
        for call in calls:
            tool = self.conv.tools.get(call.name)
            # An unknown tool runs nothing (the model gets an error result): safe to repeat.
            started = None
            if tool is not None and not tool.idempotent:
                started = DBOS.reserve_step()
            reserved.append((call, started, DBOS.reserve_step()))
        # What DBOS recorded for all these steps, read at once: each step's own look-up is
        # answered from it (``_Recorded``), in this thread and in the calls' threads.
        recorded = None
        look_up = getattr(self.runtime.sys_db, "agentloop_look_up", None)
        if look_up is not None:
            recorded = look_up([r.step_id for _, s, c in reserved for r in (s, c) if r])
        token = _RECORDED.set(recorded)
        try:
            plans = self._start_calls(reserved)
            outs = self._call_steps(plans)
        finally:
            _RECORDED.reset(token)
        return [
            InDoubt(call) if out.get("in_doubt") else self._outcome(call, out)
            for (call, _, _), out in zip(plans, outs, strict=True)
        ]

    def _start_calls(
        self, reserved: list[tuple[FunctionCallStep, Any, Any]]
    ) -> list[tuple[FunctionCallStep, bool, Any]]:
        """Run the "started" steps (in this thread, in call order); each call with whether it
        is fresh (``False``: it began in an earlier execution) and its reserved step."""
        runtime = self.runtime
        plans: list[tuple[FunctionCallStep, bool, Any]] = []
        # With group commit, the "started" checkpoints DBOS records below are held and then
        # written in one transaction, before any call runs (``_Started``).
        held = _Started() if runtime.group_commit else None
        token = _STARTED.set(held)
        try:
            for call, started, slot in reserved:
                fresh = True
                if started is not None:
                    # A token from an earlier execution: the call began there, and may have run.
                    fresh = started.run({"name": _STARTED_STEP}, self._token) == self.token
                plans.append((call, fresh, slot))
        finally:
            _STARTED.reset(token)
        if held is not None:
            held.write(_WRITING if runtime.serial_writes else threading.Lock())
        return plans

    def _call_steps(self, plans: list[tuple[FunctionCallStep, bool, Any]]) -> list[dict[str, Any]]:
        """The calls' steps: each replays its recorded result, runs its tool, or records that
        it is in doubt; the calls of a batch at once, on the worker's tool threads."""
        runtime = self.runtime
        batch = None
        if runtime.group_commit:
            # On SQLite (one writer) the batches of the whole process take turns at DBOS's
            # bookkeeping; on PostgreSQL a batch's calls only with each other.
            batch = _Batch(_WRITING if runtime.serial_writes else threading.Lock())
        if len(plans) == 1:  # in this thread (its checkpoint through the batch all the same)
            call, fresh, slot = plans[0]
            context = contextvars.copy_context()  # the batch is set in the copy only
            return [context.run(self._tool_step, call, fresh, slot, False, batch)]
        pool = runtime.pool()
        # Each thread runs in a copy of this workflow's context (DBOS keeps it in context
        # variables), as its reserved step requires.
        futures = [
            pool.submit(
                contextvars.copy_context().run,
                self._tool_step,
                call,
                fresh,
                slot,
                True,
                batch,
            )
            for call, fresh, slot in plans
        ]
        return [future.result() for future in futures]

    def _tool_step(
        self,
        call: FunctionCallStep,
        fresh: bool,
        reserved: Any,
        concurrent: bool = False,
        batch: _Batch | None = None,
    ) -> dict[str, Any]:
        """``concurrent``: one of a batch's calls running at once; ``batch``: their
        checkpoints are written together (``_Batch``)."""
        # Replays the recorded result if there is one; else runs the tool (a fresh call) or
        # records that the call is in doubt (one that began in an earlier execution).
        step = self._run_tool if fresh else _in_doubt
        options = {"name": f"{_TOOL_STEP}{call.name}"}
        if batch is not None or (concurrent and self.runtime.serial_writes):
            return _record_in_turn(reserved, options, step, call, batch)
        out: dict[str, Any] = reserved.run(options, step, call)
        return out

    def _token(self) -> str:
        return self.token

    def _run_tool(self, call: FunctionCallStep) -> dict[str, Any]:
        """Inside the step: run the call through the registry; JSON out."""
        conv = self.conv

        def context(call: FunctionCallStep, tool: Tool[..., Any] | None) -> ToolContext[Any]:
            return ToolContext(
                call_id=call.id,
                tool_name=call.name,
                arguments=dict(call.arguments),
                conversation=conv,
                metadata={"task_id": conv.id},
            )

        outcome = conv.tools.run([call], context=context)[0]
        error = None
        if outcome.error is not None:
            error = str(outcome.error) or type(outcome.error).__name__
        return {
            "result": outcome.result.model_dump_json(),
            "error": error,
            "duration": outcome.duration,
        }

    @staticmethod
    def _outcome(call: FunctionCallStep, out: dict[str, Any]) -> ToolOutcome:
        result = FunctionResultStep.model_validate_json(out["result"])
        error = out.get("error")
        return ToolOutcome(
            call,
            result,
            error=ToolError(error) if error is not None else None,
            duration=float(out.get("duration", 0.0)),
        )

    # --- decisions (approval of in-doubt calls and of requires_approval tools) -----------------

    def _decide(
        self, calls: list[FunctionCallStep], why: str
    ) -> dict[str, tuple[bool, str | None]]:
        from dbos import DBOS

        waiting = {call.id: call for call in calls}
        listed = []
        for call in calls:
            # A ticket per wait, so a decision sent for an earlier wait cannot answer this one.
            self.tickets[call.id] = ticket = self.tickets.get(call.id, 0) + 1
            listed.append({**_call_json(call, why), "ticket": ticket})
        self._progress(state="awaiting_approval", awaiting=listed)
        self._stream({"type": "awaiting_approval", "calls": listed})
        decisions: dict[str, tuple[bool, str | None]] = {}
        runtime = self.runtime
        task_id = self.conv.id
        while len(decisions) < len(waiting):
            self._boundary()
            with runtime.lock:
                runtime.deciding.add(task_id)
            try:
                # A stopping worker or a cancel sends {"wake": true}: the wait ends at once,
                # and the loop parks (or DBOS raises the cancellation) before waiting again.
                message = DBOS.recv(DECISION_TOPIC, timeout_seconds=_DECISION_WAIT)
            finally:
                with runtime.lock:
                    runtime.deciding.discard(task_id)
            if not isinstance(message, dict):
                continue
            call_id = message.get("call_id")
            if (
                call_id in waiting
                and call_id not in decisions
                and message.get("ticket") == self.tickets[call_id]
            ):
                reason = message.get("reason")
                decisions[call_id] = (bool(message.get("approve")), reason)
                self._stream(
                    {
                        "type": "approved" if message.get("approve") else "rejected",
                        "call_id": call_id,
                        "name": waiting[call_id].name,
                        "reason": reason,
                    }
                )
        self._progress(state="running", awaiting=[])
        return decisions

    # --- progress and events -------------------------------------------------------------------

    def _emit(self, event: LoopEvent) -> None:
        # Every stream write is a database write, so ToolCallStarted is not streamed (the
        # model_response event before it lists the calls) and the results of one batch of
        # calls go out as one "tool_calls_finished" event (``_flush``, before the next effect).
        if isinstance(event, ToolCallFinished):
            self.finished.append(
                {
                    "call_id": event.call.id,
                    "name": event.call.name,
                    "is_error": event.is_error,
                    "result": result_text(event.result)[:_RESULT_PREVIEW],
                }
            )
        elif isinstance(event, InteractionCompleted):
            interaction = event.interaction
            self.requests += 1
            calls = interaction.function_calls
            if calls:
                self.tool_calls += len(calls)
                self.last_tool_call = calls[-1].name
            # No progress event here (one write less per round): ``tasks`` counts a running
            # task's progress from its recorded DBOS steps.
            if self.response_streamed:
                self.response_streamed = False  # written with the request's checkpoint
            else:
                self._stream(self._response_event(interaction, self.requests))
        elif isinstance(event, StrategyFallback):
            self._stream({"type": event.type, "reason": event.reason})

    @staticmethod
    def _response_event(interaction: Interaction, request: int) -> dict[str, Any]:
        return {
            "type": "model_response",
            "request": request,
            "status": str(interaction.status),
            "text": interaction.output_text,
            "function_calls": [_call_json(c) for c in interaction.function_calls],
        }

    def _flush(self) -> None:
        if self.finished:
            calls, self.finished = self.finished, []
            self._stream({"type": "tool_calls_finished", "calls": calls})

    def _progress(self, *, state: str, awaiting: list[dict[str, Any]] | None = None) -> None:
        from dbos import DBOS

        DBOS.set_event(
            PROGRESS_KEY,
            {
                "state": state,
                "requests": self.requests,
                "tool_calls": self.tool_calls,
                "last_tool_call": self.last_tool_call,
                "awaiting": awaiting or [],
            },
        )

    def _stream(self, event: dict[str, Any]) -> None:
        from dbos import DBOS

        DBOS.write_stream(EVENTS_STREAM, event)

    def finish(self, result: dict[str, Any]) -> None:
        from dbos import DBOS

        self._flush()
        self._progress(state=result["status"])
        self._stream(
            {
                "type": result["status"],
                "output_text": result["output_text"],
                "error": result["error"],
            }
        )
        DBOS.close_stream(EVENTS_STREAM)
        # Wakes whoever waits for the result; a failed task's record lives only here (its
        # workflow ends with an error, not an output).
        DBOS.set_event(
            RESULT_KEY, result if result["status"] != "completed" else {"status": "completed"}
        )


def _in_doubt(call: FunctionCallStep) -> dict[str, Any]:
    return {"in_doubt": True}


# One thread at a time in DBOS's bookkeeping of the concurrent tool steps of this process: the
# look-up of a recorded output before a tool runs, and the checkpoint after it.
_WRITING = threading.Lock()


def _record_in_turn(
    reserved: Any,
    options: dict[str, Any],
    step: Callable[[FunctionCallStep], dict[str, Any]],
    call: FunctionCallStep,
    batch: _Batch | None = None,
) -> dict[str, Any]:
    """``reserved.run(options, step, call)``: the tools run concurrently, DBOS's bookkeeping
    around them one call after another (holding ``_WRITING``, or the ``batch``'s lock,
    released while the tool runs).

    * Checkpoints: SQLite has one writer at a time, and the others wait in its busy handler,
      which sleeps 1, 2, 5, 10 ms between tries: ten concurrent checkpoints cost ~3.5x ten
      written in turn.
    * Look-ups: a writer shares the GIL with whatever else runs. With the other calls' look-ups
      running beside it, each of the first checkpoints of a batch of ten took ~4.5 ms instead of
      ~1 ms.

    With ``batch``, the checkpoint is the batch's to write (``_Batch.record``), with those of
    the calls that finished at the same time. (A replayed step never calls ``step``: its
    look-up is all it does.)"""
    turns = _WRITING if batch is None else batch.turns
    held = True
    looking = batch is not None

    def run_then_wait_turn(call: FunctionCallStep) -> dict[str, Any]:
        nonlocal held, looking
        held = False
        turns.release()
        if batch is not None:
            looking = False
            batch.looked_up()
        out = step(call)
        if batch is None:
            turns.acquire()  # DBOS writes the checkpoint as soon as this returns
            held = True
        return out

    if batch is not None:
        batch.looking_up()
        _BATCH.set(batch)  # this thread's own copy of the workflow's context
    turns.acquire()
    try:
        out: dict[str, Any] = reserved.run(options, run_then_wait_turn, call)
        return out
    finally:
        if held:
            turns.release()
        if looking:
            assert batch is not None
            batch.looked_up()


# The batch whose checkpoints this thread's tool step writes with the others' (``_Batch``).
_BATCH: contextvars.ContextVar[_Batch | None] = contextvars.ContextVar(
    "agentloop_durable_batch", default=None
)


@dataclass(eq=False)
class _Checkpoint:
    result: Any  # DBOS's record of the step (its OperationResultInternal)
    completed_at: int
    written: bool = False
    error: BaseException | None = None


class _Batch:
    """Group commit of the checkpoints of one response's concurrent tool calls.

    A call's checkpoint is written as soon as no other write of the batch is under way (and no
    call of the batch is still in its look-up, which takes a moment): with any others that
    finished meanwhile, in one transaction. So a checkpoint waits at most for one write
    before it, never for another call's tool, and each step still returns only once its own
    checkpoint is in the database: nothing depends on a call before its record is durable,
    and a call recorded before a crash is replayed, exactly as with one transaction a step.
    Ten calls that finish together cost one commit (~1-2 ms on SQLite) instead of ten, and
    one round trip to PostgreSQL instead of ten.

    ``turns``: the lock DBOS's look-ups and writes of the batch take turns at (``_WRITING``
    on SQLite, shared by every batch of the process; one of the batch's own on PostgreSQL,
    where the look-ups of a batch's calls take turns but batches do not wait for each
    other)."""

    def __init__(self, turns: threading.Lock = _WRITING) -> None:
        self.turns = turns
        self.cond = threading.Condition()
        self.looking = 0  # calls between the start of their step and the end of its look-up
        self.writing = False
        self.pending: list[_Checkpoint] = []

    def looking_up(self) -> None:
        with self.cond:
            self.looking += 1

    def looked_up(self) -> None:
        with self.cond:
            self.looking -= 1
            self.cond.notify_all()

    def record(self, sys_db: Any, write_one: Callable[..., None], result: Any) -> None:
        """Stands in for DBOS's ``record_operation_result(result)`` of one of the batch's
        steps: returns once ``result`` is committed (or raises what its write raised)."""
        entry = _Checkpoint(result, int(time.time() * 1000))
        with self.cond:
            self.pending.append(entry)
            while not entry.written and entry.error is None:
                if not self.writing and not self.looking:
                    group, self.pending = self.pending, []
                    self.writing = True
                    break
                self.cond.wait()
            else:
                if entry.error is not None:
                    raise entry.error
                return
        try:
            _write_group(sys_db, write_one, group, self.turns)
        finally:
            with self.cond:
                self.writing = False
                for other in group:
                    if not other.written and other.error is None:
                        other.error = StoreError(
                            "the checkpoint of a tool call was not written: its writer stopped"
                        )
                self.cond.notify_all()
        if entry.error is not None:
            raise entry.error


def _write_group(
    sys_db: Any,
    write_one: Callable[..., None],
    group: list[_Checkpoint],
    turns: threading.Lock,
) -> None:
    """Write the checkpoints of a batch's tool calls that finished together (``_Batch``),
    taking turns with the look-ups and writes of ``turns``."""
    with turns:
        _write_rows(sys_db, write_one, group)


def _write_rows(sys_db: Any, write_one: Callable[..., None], group: list[_Checkpoint]) -> None:
    """Write ``group`` in one transaction, as DBOS writes one (``record_operation_result``);
    when that fails, each on its own, so each step gets its own outcome (DBOS's retries and
    errors included): ``written`` or ``error`` of each entry says which."""
    insert: _Insert | None = getattr(sys_db, "agentloop_insert_checkpoints", None)
    if len(group) > 1 or insert is not None:
        try:
            workflow_id = group[0].result["workflow_uuid"]
            with sys_db._own_key(workflow_id), sys_db.engine.begin() as conn:
                if insert is not None:
                    insert(conn, group)
                else:
                    for entry in group:
                        sys_db._record_operation_result_txn(entry.result, entry.completed_at, conn)
        except Exception:
            pass  # rolled back: nothing of it was written
        else:
            for entry in group:
                entry.written = True
            return
    for entry in group:
        try:
            write_one(entry.result, completed_at_epoch_ms=entry.completed_at)
        except BaseException as exc:
            entry.error = exc
        else:
            entry.written = True


class _Started:
    """The "started" checkpoints of one response's calls that are not idempotent.

    The workflow's thread runs their DBOS steps one after another (``_run_calls``), each
    drawing its step id and looking up a recorded token as always; where DBOS then writes a
    fresh step's checkpoint, it is held here, and ``write`` puts them all in the database in
    one transaction before any call of the response runs. So each call's "started" record is
    durable before its tool runs, as before, and a worker that dies before the write leaves
    none of them (no call ran yet). One commit instead of one per call (on PostgreSQL a round
    trip each, ~2.5 ms a call of a 20-call batch)."""

    def __init__(self) -> None:
        self.pending: list[_Checkpoint] = []
        self.writer: tuple[Any, Callable[..., None]] | None = None

    def hold(self, sys_db: Any, write_one: Callable[..., None], result: Any) -> None:
        self.writer = (sys_db, write_one)
        self.pending.append(_Checkpoint(result, int(time.time() * 1000)))

    def write(self, turns: threading.Lock) -> None:
        if self.writer is None or not self.pending:
            return
        sys_db, write_one = self.writer
        group, self.pending = self.pending, []
        with turns:
            _write_rows(sys_db, write_one, group)
        for entry in group:
            if entry.error is not None:
                raise entry.error


class _Response:
    """A model response's ``model_response`` stream event, written in the transaction of its
    request step's checkpoint: the event DBOS's ``write_stream`` would write as the very next
    step (its row and that step's record, with DBOS's own statements), one commit instead of
    two. The workflow then draws that step's id without writing (``DBOS.reserve_step``); a
    replay, whose request step is recorded, meets the event's step recorded too, as DBOS's
    ``write_stream`` of it would. When the transaction fails, the request's checkpoint is
    written by DBOS alone and the event as before.

    Only for a finished response (a background one is waited for in a step of its own) and a
    worker with no hooks (an ``after_response`` hook runs between a response and its event,
    and may end the turn). The event describes the recorded response: one the engine then
    rejects has its event, as it has its checkpoint."""

    def __init__(self) -> None:
        self.event: dict[str, Any] | None = None
        self.written = False

    def record(self, sys_db: Any, write_one: Callable[..., None], result: Any) -> None:
        try:
            _write_with_event(sys_db, result, self.event)
        except Exception:  # rolled back: nothing of it was written
            write_one(result)
            return
        self.written = True
        # Committed: stream readers are told (outside the fallback's reach: a failing
        # notification must not write the checkpoint a second time).
        from dbos._sys_db import _dbos_streams_channel

        workflow_id = result["workflow_uuid"]
        sys_db._signal_notification(_dbos_streams_channel, f"{workflow_id}::{EVENTS_STREAM}")


def _write_with_event(sys_db: Any, result: Any, event: Any) -> None:
    """The step ``result``'s checkpoint and the stream event DBOS's ``write_stream`` writes as
    the next step, in one transaction (private names; pinned by
    ``tests/durable/test_dbos_contract.py``)."""
    from dbos._context import get_local_dbos_context
    from dbos._serialization import serialize_value

    ctx = get_local_dbos_context()  # the step's: its workflow's serialization, as DBOS's
    kind = ctx.serialization_type if ctx is not None else None
    value, serialization = serialize_value(event, kind, sys_db.serializer)
    workflow_id = result["workflow_uuid"]
    stream_step = result["function_id"] + 1
    now = int(time.time() * 1000)
    written = {
        "workflow_uuid": workflow_id,
        "function_id": stream_step,
        "function_name": "DBOS.writeStream",
        "started_at_epoch_ms": now,
        "output": None,
        "error": None,
        "serialization": None,
        "child_workflow_id": None,
    }
    with sys_db._own_key(workflow_id), sys_db.engine.begin() as conn:
        sys_db._record_operation_result_txn(result, now, conn)
        conn.execute(
            sys_db._stream_insert_stmt(
                workflow_id, stream_step, EVENTS_STREAM, value, serialization
            )
        )
        sys_db._record_operation_result_txn(written, now, conn)


# Set by ``_request`` while its step runs.
_RESPONSE: contextvars.ContextVar[_Response | None] = contextvars.ContextVar(
    "agentloop_durable_response", default=None
)


# Set by ``_run_calls`` in the workflow's thread while it runs a response's "started" steps.
_STARTED: contextvars.ContextVar[_Started | None] = contextvars.ContextVar(
    "agentloop_durable_started", default=None
)


def install_group_commit(sys_db: Any) -> None:
    """Route the checkpoints of tool steps that run in a ``_Batch`` through it, and hold those
    of "started" steps for ``_Started``: wraps this DBOS system database's
    ``record_operation_result`` (private; pinned by ``tests/durable/test_dbos_contract.py``).
    Any other write goes to DBOS unchanged."""
    write_one = sys_db.record_operation_result
    if getattr(write_one, "agentloop_group_commit", False):
        return

    def record_operation_result(result: Any, **options: Any) -> None:
        name = str(result["function_name"])
        if not options:
            started = _STARTED.get()
            if started is not None and name == _STARTED_STEP:
                started.hold(sys_db, write_one, result)
                return
            batch = _BATCH.get()
            if batch is not None and name.startswith(_TOOL_STEP):
                batch.record(sys_db, write_one, result)
                return
            response = _RESPONSE.get()
            if response is not None and name == _REQUEST_STEP and response.event is not None:
                response.record(sys_db, write_one, result)
                return
        write_one(result, **options)

    record_operation_result.agentloop_group_commit = True  # type: ignore[attr-defined]
    insert = _checkpoint_insert(sys_db)
    sys_db.agentloop_insert_checkpoints = insert
    sys_db.record_operation_result = record_operation_result
    if insert is not None:  # DBOS's own layout: its steps' rows can be read at once too
        check_one = sys_db.check_operation_execution

        def check_operation_execution(
            workflow_id: str, function_id: int, function_name: str, **options: Any
        ) -> Any:
            recorded = _RECORDED.get()
            if recorded is not None and not options and recorded.workflow_id == workflow_id:
                found, answer = recorded.answer(function_id, function_name)
                if found:
                    return answer
            return check_one(workflow_id, function_id, function_name, **options)

        sys_db.check_operation_execution = check_operation_execution
        sys_db.agentloop_look_up = functools.partial(_look_up, sys_db)


@dataclass
class _Recorded:
    """What DBOS recorded for the steps of one response's calls (their "started" steps and
    theirs), read in one query when their ids are drawn (``_look_up``). Each step's look-up
    (DBOS's ``check_operation_execution``, before it runs or replays) is answered from it:
    only this execution writes the workflow's steps, and each after its own look-up, so what
    was read cannot have changed for a step not yet looked up. Ten look-ups of ~0.4 ms, one
    at a time, become one query (and on PostgreSQL, 4 round trips each become 2 in all)."""

    workflow_id: str
    rows: dict[int, Any]  # function id -> (function_name, DBOS's RecordedResult)
    ids: frozenset[int]

    def answer(self, function_id: int, function_name: str) -> tuple[bool, Any]:
        """(True, DBOS's answer) for a step read here; (False, None): ask DBOS (a step not
        read here, or recorded under another name, which DBOS reports as an error)."""
        if function_id not in self.ids:
            return False, None
        row = self.rows.get(function_id)
        if row is None:
            return True, None  # nothing recorded: the step runs
        name, result = row
        return (True, result) if name == function_name else (False, None)


# Set by ``_run_calls`` while a response's calls run (copied into the calls' threads).
_RECORDED: contextvars.ContextVar[_Recorded | None] = contextvars.ContextVar(
    "agentloop_durable_recorded", default=None
)


def _look_up(sys_db: Any, function_ids: list[int]) -> _Recorded | None:
    """The recorded rows of the current workflow's steps ``function_ids``, as DBOS's
    ``_check_operation_execution_txn`` reads one (private names; pinned by
    ``tests/durable/test_dbos_contract.py``); None when the workflow is cancelled (each step's
    own look-up then raises DBOS's cancellation) or there is nothing to read."""
    import sqlalchemy as sa
    from dbos._context import get_local_dbos_context

    ctx = get_local_dbos_context()
    if ctx is None or not function_ids:
        return None
    workflow_id = str(ctx.workflow_id)
    status_table = sys_db.tables.workflow_status
    table = sys_db.tables.operation_outputs
    with sys_db._own_key(workflow_id), sys_db.engine.begin() as conn:
        status = conn.execute(
            sa.select(status_table.c.status).where(*sys_db._wf(status_table, workflow_id))
        ).scalar()
        if status is None or status == "CANCELLED":
            return None
        found = conn.execute(
            sa.select(
                table.c.function_id,
                table.c.function_name,
                table.c.output,
                table.c.error,
                table.c.child_workflow_id,
                table.c.serialization,
            ).where(*sys_db._wf(table, workflow_id), table.c.function_id.in_(function_ids))
        ).all()
    rows = {
        row.function_id: (
            row.function_name,
            {
                "output": row.output,
                "error": row.error,
                "serialization": row.serialization,
                "child_workflow_id": row.child_workflow_id,
                "child_shard_key": None,
            },
        )
        for row in found
    }
    return _Recorded(workflow_id, rows, frozenset(function_ids))


# A group's rows, written on the group's connection (``_checkpoint_insert``).
_Insert = Callable[[Any, list[_Checkpoint]], None]

# The methods of DBOS's system database that decide what a step's row holds: when a subclass
# (a sharded one) overrides any, its groups are written row by row through DBOS instead.
_ROW_LAYOUT = (
    "_record_operation_result_txn",
    "_wf_values",
    "_child_values",
    "_check_owner_txn",
    "_check_operation_execution_txn",
    "_wf",
    "_key_column",
)


def _checkpoint_insert(sys_db: Any) -> _Insert | None:
    """The rows of a group in one statement, compiled once (private DBOS names; pinned by
    ``tests/durable/test_dbos_contract.py``, which checks the rows equal DBOS's own).

    DBOS's ``_record_operation_result_txn`` builds an ``INSERT .. ON CONFLICT`` of literal values
    for every row and checks the workflow's owner before each: ~0.5-1 ms of CPU a row, most of
    a batch's checkpoint cost. Here the owner is checked once (the same check, first, in the
    same transaction, so a hand-off to another execution still fails the write) and the rows go
    in one ``executemany`` of a statement built once. A row already there (a replayed or
    conflicting step) fails the whole statement: the transaction rolls back and each checkpoint
    is written by DBOS on its own (``_write_group``), which tells a retried commit from a
    nondeterministic step as it always does."""
    import sqlalchemy as sa
    from dbos._context import current_owner_xid
    from dbos._sys_db import SystemDatabase

    kind = type(sys_db)
    if not isinstance(sys_db, SystemDatabase) or any(
        getattr(kind, name) is not getattr(SystemDatabase, name) for name in _ROW_LAYOUT
    ):
        return None
    statement = sa.insert(sys_db.tables.operation_outputs).values(
        retention_timestamp=sys_db._now_ms_sql()
    )

    def insert(conn: Any, group: list[_Checkpoint]) -> None:
        workflow_id = group[0].result["workflow_uuid"]
        owner = current_owner_xid(workflow_id)
        if owner is not None:
            sys_db._check_owner_txn(conn, workflow_id, owner)
        rows = []
        for entry in group:
            result = entry.result
            child = result["child_workflow_id"]
            rows.append(
                {
                    **sys_db._wf_values(workflow_id),
                    "workflow_uuid": workflow_id,
                    "function_id": result["function_id"],
                    "function_name": result["function_name"],
                    "started_at_epoch_ms": result["started_at_epoch_ms"],
                    "completed_at_epoch_ms": entry.completed_at,
                    "output": result["output"],
                    "error": result["error"],
                    "child_workflow_id": child,
                    **sys_db._child_values(child),
                    "serialization": result["serialization"],
                    "application_name": sys_db.app_name,
                }
            )
        conn.execute(statement, rows)

    return insert

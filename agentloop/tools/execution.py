"""Running function calls: one sans-I/O preparation step and two thin drivers.

``prepare`` (lookup + argument validation) and ``finish`` (return value or exception → a
result whose wire form is known) never block. The drivers only decide *where* a prepared
call runs, always in a copy of the caller's ``contextvars`` context:

* ``run_sync``: the calls of quick sync tools one after the other in the calling thread (a
  ``conv.cancel()`` is then seen when the running call returns); the others in the registry's
  pool of daemon threads and async tools on its private event-loop thread (all concurrently),
  the caller waiting for the whole batch at once, with per-tool timeouts;
* ``run_async``: async tools as tasks on the running loop, sync tools always in the pool
  (never on the event loop), those with a timeout each under ``asyncio.wait_for``, the others
  waking the loop once for the whole batch.

A thread hand-off costs more than a quick tool call, so the calls of quick tools run one
after the other, in the calling thread (blocking caller) or sharing one pool thread (awaiting
caller), while a watcher (the pool's watch thread, or the event loop) gives each call still
queued a thread of its own once no call has ended for ``SPREAD_AFTER`` while one runs (see
``_pool``): every call of a batch can always run concurrently with the others.

A timed-out sync call cannot be stopped (Python cannot kill a thread): the pool gives up on
it, its slot is free at once, and its daemon thread never delays interpreter exit.

Every failure becomes an ``is_error`` result the model can act on, and every result can be
encoded (an unencodable return value becomes an ``is_error`` result naming the problem, with
a repaired value where possible); only ``KeyboardInterrupt``, ``SystemExit`` and
cancellation propagate.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import dataclasses
import json
import math
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from agentloop.errors import (
    ArgumentsInvalidError,
    StateError,
    ToolError,
    ToolResultError,
    ToolTimeoutError,
    UnknownToolError,
)
from agentloop.types import FunctionCallStep, FunctionResultStep, encode_step
from agentloop.types._encode import encode_result_text

from ._pool import CANCELLED, DONE, QUEUED, RUNNING, SPREAD_AFTER, Batch, Job, Signal, ToolPool
from .context import ToolContext, ToolContextFactory, default_context
from .results import to_result
from .tool import Tool

if TYPE_CHECKING:
    from .registry import ToolRegistry

__all__ = ["DEFAULT_GRACE", "CallWrapper", "PreparedCall", "ToolOutcome", "ToolProgress", "prepare"]

DEFAULT_GRACE = 5.0
"""Seconds an interrupted batch of calls (Ctrl-C, cancellation) waits for the calls already
running to finish, so that what they returned is recorded instead of left in doubt."""

CallWrapper = Callable[[FunctionCallStep], AbstractContextManager[Any]]
"""Entered around a call's tool code, where it runs (observability: the call's span)."""


@dataclasses.dataclass
class ToolOutcome:
    """What happened to one call: the ``FunctionResultStep`` to send plus details for hooks.

    ``wire`` is the result step's JSON encoding (as ``agentloop.types.encode_step``
    makes it), computed while the outcome was built: a tool's result always encodes (``None``
    only if the call's own id or name cannot be encoded).
    """

    call: FunctionCallStep
    result: FunctionResultStep
    error: BaseException | None = None
    value: Any = None
    duration: float = 0.0
    wire: bytes | None = None

    @property
    def is_error(self) -> bool:
        """Whether the result reports an error to the model."""
        return bool(self.result.is_error)


@dataclasses.dataclass
class ToolProgress:
    """What is known of a batch of calls while it runs, for when it is interrupted.

    ``started``: ids of calls whose tool code began (from the thread or task running it);
    ``finished``: the outcome of every call that ended (returned or raised), by id. A call
    neither started nor finished never ran; a call started and not finished is in doubt.
    ``stop``: set (with the exception to raise) when the batch must stop, from any thread
    (``conv.cancel()``); the blocking driver then treats it as an interruption.
    """

    started: set[str] = dataclasses.field(default_factory=set)
    finished: dict[str, ToolOutcome] = dataclasses.field(default_factory=dict)
    stop: Signal | None = None


@dataclasses.dataclass(slots=True)
class PreparedCall:
    """A call whose tool exists and whose arguments are valid: ready to run."""

    call: FunctionCallStep
    tool: Tool[..., Any]
    args: list[Any]
    kwargs: dict[str, Any]
    around: CallWrapper | None = None
    progress: ToolProgress | None = None

    def start(self) -> Any:
        """Call the function: a value for a sync tool, a coroutine for an async one."""
        if self.around is not None:
            if self.tool.is_async:
                return _around_async(self, self.around)
            with self.around(self.call):
                return self.tool.function(*self.args, **self.kwargs)
        return self.tool.function(*self.args, **self.kwargs)


async def _around_async(prepared: PreparedCall, around: CallWrapper) -> Any:
    with around(prepared.call):
        return await prepared.tool.function(*prepared.args, **prepared.kwargs)


class _Raised:
    """An exception raised by the tool itself, carried as a value so that a ``TimeoutError``
    from the tool is never mistaken for the driver's own timeout."""

    __slots__ = ("exc",)

    def __init__(self, exc: Exception) -> None:
        self.exc = exc


def _error(call: FunctionCallStep, text: str, exc: BaseException, started: float) -> ToolOutcome:
    step = FunctionResultStep(call_id=call.id, name=call.name, result=fix_text(text), is_error=True)
    try:
        wire: bytes | None = encode_step(step)
    except Exception:  # only a call id or name the history cannot hold either
        wire = None
    return ToolOutcome(call, step, error=exc, duration=time.perf_counter() - started, wire=wire)


def arguments_problem(call: FunctionCallStep) -> str | None:
    """Why ``call.arguments`` must not be used (not a JSON object as the model sent them),
    or None when they may be validated."""
    raw = call.invalid_arguments
    if raw is None and (type(call.arguments) is dict or isinstance(call.arguments, Mapping)):
        return None
    if raw is None:
        raw = repr(call.arguments)
    shown = raw if len(raw) <= 200 else raw[:197] + "..."
    return (
        f"The arguments of this call to {call.name!r} are not a valid JSON object (received: "
        f"{shown!r}), so the tool was not run. Call it again with its arguments as one JSON "
        "object."
    )


def prepare(
    registry: ToolRegistry,
    call: FunctionCallStep,
    context: ToolContextFactory | None = None,
) -> PreparedCall | ToolOutcome:
    """Sans-I/O first step: a ``PreparedCall`` ready to run, or the ``is_error`` outcome to
    send (unknown tool, arguments that are not a JSON object or fail validation, a failing
    context factory)."""
    started = time.perf_counter()
    found = registry.get(call.name)
    if found is None:
        names = ", ".join(registry.names) or "none"
        text = f"Unknown tool {call.name!r}. Available tools: {names}."
        return _error(call, text, UnknownToolError(text), started)
    problem = arguments_problem(call)
    if problem is not None:
        return _error(call, problem, ArgumentsInvalidError([problem]), started)
    try:
        ctx: ToolContext[Any] | None = None
        if found.context_parameters:
            ctx = (context or default_context)(call, found)
        args, kwargs = found.validate_arguments(call.arguments, ctx)
    except ArgumentsInvalidError as exc:
        text = (
            f"Invalid arguments for tool {found.name!r}: {'; '.join(exc.problems)}. "
            "Call the tool again with corrected arguments."
        )
        return _error(call, text, exc, started)
    except Exception as exc:  # a failing context factory or default_factory
        return _error(call, _exception_text(exc), exc, started)
    return PreparedCall(call, found, args, kwargs)


def _exception_text(exc: BaseException) -> str:
    if isinstance(exc, ToolError):
        return exc.message
    try:
        message = str(exc)
    except Exception:  # an exception whose __str__ fails
        message = "(its message could not be read)"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def finish(prepared: PreparedCall, outcome: Any, started: float) -> ToolOutcome:
    """The outcome of a finished call from its return value (or ``_Raised`` exception)."""
    call = prepared.call
    wire: bytes | None = None
    if type(outcome) is str and outcome:
        wire = _text_wire(call, outcome)
    elif isinstance(outcome, _Raised):
        return _error(call, _exception_text(outcome.exc), outcome.exc, started)
    try:
        result = outcome if wire is not None else to_result(outcome)
        # As ``FunctionResultStep(call_id=..., name=..., result=...)`` builds it (the same
        # validator and fields set, without the Python ``__init__``: ~0.6 us less a call).
        step = _result_step(
            {"type": "function_result", "call_id": call.id, "name": call.name, "result": result}
        )
        if wire is None:
            wire = encode_step(step)
    except Exception as exc:  # TypeError, ValueError (NaN, circular), serialization errors
        return _unencodable(prepared, outcome, exc, started)
    duration = time.perf_counter() - started
    # (Positional: a dataclass's keyword arguments cost ~0.15 us more, once per call.)
    return ToolOutcome(call, step, None, outcome, duration, wire)  # error, value, duration, wire


_result_step = FunctionResultStep.__pydantic_validator__.validate_python


def _text_wire(call: FunctionCallStep, text: str) -> bytes | None:
    """The result step's bytes for text (the common result), spliced without the serializer
    (the same bytes, ~0.5 us less a call); None when the serializer must do it (a lone
    surrogate: its error; ids that are not plain ``str``)."""
    if type(call.id) is not str or type(call.name) is not str:
        return None
    try:
        return encode_result_text(call.id, call.name, text)
    except UnicodeEncodeError:
        return None


def timed_out(prepared: PreparedCall, started: float) -> ToolOutcome:
    text = (
        f"Tool {prepared.tool.name!r} timed out after {prepared.tool.timeout:g} s (it may "
        "still be running; its result will be discarded)."
    )
    return _error(prepared.call, text, ToolTimeoutError(text), started)


# --- results that cannot be encoded --------------------------------------------------------


def fix_text(text: str) -> str:
    """``text`` made encodable: lone surrogates (e.g. from ``os.listdir`` on a file name
    that is not UTF-8) become ``\\xNN`` (or ``\\udNNN``) escapes."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:  # surrogateescape'd bytes: show them as the bytes they were
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


_MAX_DEPTH = 200


class _Repair:
    """Walks a return value into JSON, repairing what it can and naming what it changed."""

    def __init__(self) -> None:
        self.problems: dict[str, None] = {}  # ordered set
        self._seen: set[int] = set()

    def text(self, text: str) -> str:
        fixed = fix_text(text)
        if fixed is not text:
            self.problems[
                "text that is not valid Unicode (lone surrogates, e.g. a file name that is "
                "not UTF-8), shown as \\x escapes"
            ] = None
        return fixed

    def value(self, value: Any, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            self.problems[f"nesting deeper than {_MAX_DEPTH} levels (cut there)"] = None
            return None
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, (bool, int)):
            return value
        if isinstance(value, float):
            if math.isfinite(value):
                return value
            self.problems["NaN or Infinity, which JSON cannot hold (sent as null)"] = None
            return None
        if isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                self.problems["bytes that are not UTF-8 text, shown as \\x escapes"] = None
                return data.decode("utf-8", "backslashreplace")
        if id(value) in self._seen:
            self.problems["a circular reference (the repeated object is sent as null)"] = None
            return None
        self._seen.add(id(value))
        try:
            if isinstance(value, Mapping):
                return {
                    self.text(k if isinstance(k, str) else str(k)): self.value(v, depth + 1)
                    for k, v in value.items()
                }
            if isinstance(value, (list, tuple, set, frozenset)):
                return [self.value(item, depth + 1) for item in value]
            if isinstance(value, BaseModel):
                return self.value(dict(value), depth + 1)
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                fields = dataclasses.fields(value)
                return self.value({f.name: getattr(value, f.name) for f in fields}, depth + 1)
            try:
                return self.value(to_jsonable_python(value), depth + 1)  # dates, UUIDs...
            except Exception:
                self.problems[
                    f"a value of type {type(value).__name__!r}, which is not JSON (sent as "
                    "its repr)"
                ] = None
                if getattr(type(value), "__repr__", None) is object.__repr__:  # no address
                    return f"<{type(value).__qualname__} object>"
                return fix_text(repr(value))
        finally:
            self._seen.discard(id(value))


def _unencodable(prepared: PreparedCall, value: Any, exc: Exception, started: float) -> ToolOutcome:
    name = prepared.tool.name
    repair = _Repair()
    try:
        repaired: str | None = json.dumps(repair.value(value), ensure_ascii=False, allow_nan=False)
    except (RecursionError, TypeError, ValueError):
        repaired = None
    problems = "; ".join(repair.problems) or _exception_text(exc)
    text = (
        f"Tool {name!r} returned a value (of type {type(value).__name__!r}) that cannot be "
        f"sent as a result: it holds {problems}."
    )
    if repaired is not None:
        text += f" The repaired result: {repaired}"
    else:
        text += " It could not be repaired; return JSON-compatible values (see docs/tools.md)."
    error = ToolResultError(text)
    error.__cause__ = exc
    return _error(prepared.call, text, error, started)


# --- where calls run -------------------------------------------------------------------------


def _call_sync(prepared: PreparedCall) -> Any:
    if prepared.progress is not None:
        prepared.progress.started.add(prepared.call.id)
    tool = prepared.tool
    started = time.perf_counter()
    try:
        value = prepared.start()
    except Exception as exc:
        value = _Raised(exc)
    except BaseException:
        tool._recent_seconds = None  # cut short (Ctrl-C): its time says nothing of the tool
        raise
    # (Where it ran, waits for other threads included: errs on the slow side.)
    took, recent = time.perf_counter() - started, tool._recent_seconds
    tool._recent_seconds = took if recent is None else max(took, recent / 2)
    return value


async def _call_async(prepared: PreparedCall) -> Any:
    if prepared.progress is not None:
        prepared.progress.started.add(prepared.call.id)
    try:
        return await prepared.start()
    except Exception as exc:
        return _Raised(exc)


def _outcome_of(prepared: PreparedCall, value: Any, started: float) -> ToolOutcome:
    return timed_out(prepared, started) if value is _TIMED_OUT else finish(prepared, value, started)


def _known(progress: ToolProgress | None, outcomes: Sequence[ToolOutcome | None]) -> None:
    if progress is not None:
        for outcome in outcomes:
            if outcome is not None:
                progress.finished[outcome.call.id] = outcome


class _Handed(Job):
    """A prepared call handed to the pool (or, for an async tool called from sync code, to
    the private loop: ``future``), with when it was handed over and whether it was given up."""

    __slots__ = ("future", "given_up", "index", "prepared", "started")

    def __init__(self, index: int, prepared: PreparedCall, batch: Batch) -> None:
        # In a copy of the caller's context, made here (in the caller's thread).
        super().__init__(contextvars.copy_context().run, (_call_sync, prepared), batch)
        self.index = index
        self.prepared = prepared
        self.started = time.perf_counter()
        self.future: concurrent.futures.Future[Any] | None = None
        self.given_up = False  # timed out: its thread was abandoned

    def loop_done(self, _: concurrent.futures.Future[Any]) -> None:
        assert self.batch is not None
        self.batch.settle(self)

    def outcome(self) -> ToolOutcome:
        """What happened (once settled): raises what the tool raised beyond ``Exception``."""
        if self.state == CANCELLED:  # (never: a batch with dropped calls was interrupted)
            raise StateError(
                f"call {self.prepared.call.id!r} never ran, yet its outcome was asked for: an "
                "agentloop bug, please report it (the turn ended; history stays usable)"
            )
        if self.future is None and not self.given_up:  # a call the pool or its caller ran
            if self.error is not None:
                raise self.error  # KeyboardInterrupt, SystemExit from the tool
            return finish(self.prepared, self.value, self.started)
        if self.given_up:
            return timed_out(self.prepared, self.started)
        assert self.future is not None
        return _outcome_of(self.prepared, self.future.result(), self.started)

    def known(self) -> ToolOutcome | None:
        """Its outcome if it ended (interrupted batches), else None."""
        if self.given_up:
            return timed_out(self.prepared, self.started)
        if self.future is not None:
            future = self.future
            if not future.done() or future.cancelled() or future.exception() is not None:
                return None
            return _outcome_of(self.prepared, future.result(), self.started)
        if self.state != DONE or self.error is not None:
            return None
        return _outcome_of(self.prepared, self.value, self.started)


# --- sync driver -----------------------------------------------------------------------------


def run_sync(
    registry: ToolRegistry,
    calls: Sequence[FunctionCallStep],
    context: ToolContextFactory | None,
    pool: Callable[[], ToolPool],
    loop: Callable[[], asyncio.AbstractEventLoop],
    around: CallWrapper | None = None,
    progress: ToolProgress | None = None,
    grace: float = DEFAULT_GRACE,
) -> list[ToolOutcome]:
    outcomes: list[ToolOutcome | None] = [None] * len(calls)
    ready: list[tuple[int, PreparedCall]] = []
    for index, call in enumerate(calls):
        prepared = prepare(registry, call, context)
        if isinstance(prepared, ToolOutcome):
            outcomes[index] = prepared
        else:
            prepared.around = around
            prepared.progress = progress
            ready.append((index, prepared))

    stop = progress.stop if progress is not None else None
    if len(ready) == 1 and stop is None and _plain_sync(ready[0][1].tool):
        # A lone plain sync call runs right here, in the calling thread: the caller would
        # only wait anyway, and it costs no thread hop (Ctrl-C stays immediate). (When the
        # batch may be stopped from another thread, only the calls of quick tools do, in
        # ``_run_here``: the caller must stay free to see a stop while a slow call runs.)
        index, prepared = ready[0]
        started = time.perf_counter()
        value = contextvars.copy_context().run(_call_sync, prepared)
        outcomes[index] = finish(prepared, value, started)
    elif ready:
        _run_handed(ready, outcomes, pool, loop, progress, stop, grace)
    return [outcome for outcome in outcomes if outcome is not None]


def _run_handed(
    ready: list[tuple[int, PreparedCall]],
    outcomes: list[ToolOutcome | None],
    pool: Callable[[], ToolPool],
    loop: Callable[[], asyncio.AbstractEventLoop],
    progress: ToolProgress | None,
    stop: Signal | None,
    grace: float,
) -> None:
    """Sync tools in the pool and async tools on the private loop, all at once; the caller
    waits for the whole batch with one wake-up (plus one per stop or timeout). The calls of
    quick sync tools run in the calling thread instead (``_run_here``)."""
    batch = Batch(len(ready))
    handed = [_Handed(index, prepared, batch) for index, prepared in ready]
    threaded = [h for h in handed if not h.prepared.tool.is_async]
    here = _quick(threaded)
    if stop is not None:
        stop.watch(batch.nudge)
    try:
        if threaded and not here:
            pool().put(threaded, lazy=False)
        if len(threaded) < len(handed):
            for h in handed:
                if h.prepared.tool.is_async:
                    # Scheduled with call_soon_threadsafe: the task runs in a copy of our context.
                    h.future = asyncio.run_coroutine_threadsafe(_with_timeout(h.prepared), loop())
                    h.future.add_done_callback(h.loop_done)
        if here:
            _run_here(pool, batch, threaded, stop)
        _wait_all(pool, batch, handed, stop)
        for h in handed:
            outcomes[h.index] = h.outcome()
    except BaseException as exc:
        # Interrupted (Ctrl-C, a stop): what finished is known; calls still queued never
        # start; the ones running get ``grace`` seconds to finish so that what they return
        # is known too. The stop signal is thrown (if Ctrl-C came first): a call that watches
        # it (a sub-agent's turn) stops within that grace too.
        if stop is not None:
            stop.set(exc)
        _known(progress, outcomes)
        deadline = time.monotonic() + grace
        me = threading.current_thread()
        for h in handed:  # queued calls are dropped first, so none starts in a freed slot;
            # a call run here is over, even if Ctrl-C came before its batch counted it
            dropped = h.future is None and h.state == QUEUED and pool().cancel(h)
            if dropped or h.thread is me:
                batch.settle(h)
        try:
            while batch.left and (remaining := deadline - time.monotonic()) > 0:
                batch.wait(remaining)
            _known(progress, [h.known() for h in handed])
        finally:
            for h in handed:
                if h.future is not None:
                    h.future.cancel()  # async tools still running are cancelled on their loop
        raise
    finally:
        if stop is not None:
            stop.unwatch(batch.nudge)


def _run_here(
    pool: Callable[[], ToolPool], batch: Batch, handed: list[_Handed], stop: Signal | None
) -> None:
    """The calls of quick sync tools, one after the other in the calling thread: no thread
    hand-off, which costs far more than such a call. With several calls, the pool's watch
    thread looks on (``ToolPool.watch``): should the batch stall (a call turned slow, or waits
    for another call of the batch), each call not started yet gets a thread of its own, so a
    batch's calls can always run at the same time. A stop is seen between calls (and by the
    watch thread, which drops the calls not started): those never run. What a call raises
    beyond ``Exception`` (Ctrl-C) is raised here, the call in doubt."""
    if len(handed) > 1:
        watchdog = _Watchdog(pool, batch, handed, spread=_put_queued, stop=stop)
        watchdog.seen = -1  # (the watch thread's first look may come at once: it only notes)
        pool().watch(watchdog.look)
    for h in handed:
        if stop is not None and stop.done():
            raise stop.result()  # an interruption: the calls not started never run
        if pool().take(h):  # (not if a thread of the watchdog's took it first)
            h._run()
            if h.error is not None:
                raise h.error
    if stop is not None and any(h.state == CANCELLED for h in handed):
        raise stop.result()  # the watch thread dropped the last calls: the batch was stopped


def _put_queued(pool: ToolPool, handed: list[_Handed]) -> None:
    """A thread for each call of a batch run by its caller that has not started yet."""
    pool.put([h for h in handed if h.state == QUEUED], lazy=False, accepted=True)


def _wait_all(
    pool: Callable[[], ToolPool],
    batch: Batch,
    handed: list[_Handed],
    stop: Signal | None,
) -> None:
    """Until every call settled: a stop raises (an interruption); a sync call past its timeout
    is given up (its thread cannot be stopped: the pool frees its slot)."""
    timed = [h for h in handed if h.future is None and h.prepared.tool.timeout is not None]
    while batch.left:
        if stop is not None and stop.done():
            raise stop.result()  # stopped from another thread: an interruption
        timeout = None
        if timed:
            now = time.perf_counter()
            for h in timed:
                if h.settled or h.state == DONE:
                    continue
                remaining = h.started + h.prepared.tool.timeout - now  # type: ignore[operator]
                if remaining <= 0:
                    pool().abandon(h)
                    h.given_up = True
                    batch.settle(h)
                elif timeout is None or remaining < timeout:
                    timeout = remaining
            if not batch.left:
                return
        batch.wait(timeout)


class _Watchdog:
    """Looks at a batch whose calls run one after the other (sharing a pool thread, or the
    caller's) every ``SPREAD_AFTER`` seconds, and gives each call still queued a thread of its
    own once it stops making progress: no call ended since the last look while one runs (it is
    slow, or waits for another call of the batch). A thread that has not started the batch yet
    (a busy machine) is no reason to wake more. ``spread``: how (by default the calls are in
    the pool's queue already: :meth:`ToolPool.spread`)."""

    __slots__ = ("batch", "handed", "handle", "pool", "seen", "spread", "stop")

    def __init__(
        self,
        pool: Callable[[], ToolPool],
        batch: Batch,
        handed: list[_Handed],
        spread: Callable[[ToolPool, list[_Handed]], object] | None = None,
        stop: Signal | None = None,
    ):
        self.pool = pool
        self.batch = batch
        self.handed = handed
        self.spread = spread
        self.stop = stop  # once set, the calls still queued are dropped instead (never run)
        self.seen = len(handed)  # calls left at the last look
        self.handle: asyncio.TimerHandle | None = None

    def look(self) -> bool:
        """Spread the batch if it is stuck; whether to look again later."""
        left = self.batch.left
        if not left or not any(h.state == QUEUED for h in self.handed):
            return False  # done, or nothing left to spread
        if self.stop is not None and self.stop.done():
            for h in self.handed:
                if h.state == QUEUED and self.pool().cancel(h):
                    self.batch.settle(h)
            return False
        if left == self.seen and any(h.state == RUNNING for h in self.handed):
            # Once is enough: each queued call now has a thread.
            if self.spread is None:
                self.pool().spread()
            else:
                self.spread(self.pool(), self.handed)
            return False
        self.seen = left
        return True

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Look on ``loop`` (the awaiting driver) until it need not any more."""
        self.handle = loop.call_later(SPREAD_AFTER, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.look():
            self.start(loop)

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()


def _plain_sync(tool: Tool[..., Any]) -> bool:
    return not tool.is_async and tool.timeout is None


QUICK_CALL = 0.0002
"""Seconds under which a sync tool counts as quick (``Tool._recent_seconds``, a decaying
maximum of its calls' times): the calls of a batch whose tools are all quick run one after
the other, in the calling thread (blocking driver) or sharing one pool thread (awaiting
driver): a thread hand-off costs more than such a call; should one turn slow, the calls
still queued get threads of their own (``_Watchdog``). Other batches get a thread per call at
once."""


def _quick(handed: list[_Handed]) -> bool:
    """Whether the batch's sync calls may run one after the other: plain calls (no timeout,
    whose clock would run while queued) of quick tools."""
    if not handed:
        return False
    for h in handed:
        tool = h.prepared.tool
        recent = tool._recent_seconds
        if recent is None or recent >= QUICK_CALL or tool.timeout is not None:
            return False
    return True


async def _with_timeout(prepared: PreparedCall) -> Any:
    if prepared.tool.timeout is None:
        return await _call_async(prepared)
    try:
        return await asyncio.wait_for(_call_async(prepared), prepared.tool.timeout)
    except asyncio.TimeoutError:
        return _TIMED_OUT


_TIMED_OUT = object()


# --- async driver ----------------------------------------------------------------------------


class _LoopWake:
    """Wakes an event loop (from any thread) when a batch's last call settles."""

    __slots__ = ("future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()

    def __call__(self) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            self.loop.call_soon_threadsafe(self._set)

    def _set(self) -> None:  # on the loop: whichever future is waited on now
        if not self.future.done():
            self.future.set_result(None)

    def renew(self) -> asyncio.Future[None]:
        """A fresh future to wait on (the last one was cancelled with its waiter)."""
        self.future = self.loop.create_future()
        return self.future


async def run_async(
    registry: ToolRegistry,
    calls: Sequence[FunctionCallStep],
    context: ToolContextFactory | None,
    pool: Callable[[], ToolPool],
    around: CallWrapper | None = None,
    progress: ToolProgress | None = None,
    grace: float = DEFAULT_GRACE,
) -> list[ToolOutcome]:
    loop = asyncio.get_running_loop()
    outcomes: list[ToolOutcome | None] = [None] * len(calls)
    own: list[tuple[int, PreparedCall]] = []  # async tools and sync tools with a timeout
    plain: list[tuple[int, PreparedCall]] = []  # sync tools without a timeout
    running: list[tuple[PreparedCall, asyncio.Future[Any], float]] = []  # for an interruption
    for index, call in enumerate(calls):
        prepared = prepare(registry, call, context)
        if isinstance(prepared, ToolOutcome):
            outcomes[index] = prepared
            continue
        prepared.around = around
        prepared.progress = progress
        if prepared.tool.is_async or prepared.tool.timeout is not None:
            own.append((index, prepared))
        else:
            plain.append((index, prepared))

    async def one(index: int, prepared: PreparedCall) -> None:
        started = time.perf_counter()
        work: asyncio.Future[Any]
        threaded: concurrent.futures.Future[Any] | None = None
        if prepared.tool.is_async:
            # A task of its own: it runs in a copy of the caller's context.
            work = loop.create_task(_call_async(prepared))
        else:
            # Never on the event loop, in a copy of the caller's context.
            threaded = pool().submit(contextvars.copy_context().run, _call_sync, prepared)
            work = asyncio.wrap_future(threaded, loop=loop)
        running.append((prepared, work, started))
        # Shielded: a cancellation of the batch must not cancel a running call before its
        # grace period (the interruption handler below decides).
        if prepared.tool.timeout is None:
            value = await asyncio.shield(work)
        else:
            try:
                value = await asyncio.wait_for(asyncio.shield(work), prepared.tool.timeout)
            except asyncio.TimeoutError:
                work.cancel()
                if threaded is not None:
                    pool().abandon(threaded)  # the thread cannot be stopped: free its slot
                outcomes[index] = timed_out(prepared, started)
                return
        outcomes[index] = finish(prepared, value, started)

    # Plain sync calls go to the pool at once (never on the event loop), each in a copy of
    # the caller's context, and wake the loop once when the last one is done (not once per
    # call). Calls of tools known to be quick share a thread; should one turn slow, the calls
    # still queued get threads of their own (``_Watchdog``).
    wake = _LoopWake(loop)
    batch = Batch(len(plain), wake)
    handed = [_Handed(index, prepared, batch) for index, prepared in plain]
    watchdog: _Watchdog | None = None
    if handed:
        lazy = len(handed) > 1 and _quick(handed)
        pool().put(handed, lazy=lazy)
        if lazy:
            watchdog = _Watchdog(pool, batch, handed)
            watchdog.start(loop)
    jobs: list[Awaitable[None]] = [one(index, prepared) for index, prepared in own]
    if handed:
        jobs.append(wake.future)
    try:
        if len(jobs) == 1:
            await jobs[0]
        elif jobs:
            # gather cancels the other jobs if this coroutine is cancelled; tool failures
            # never raise out of them, so only cancellation and interrupts get here.
            await asyncio.gather(*jobs)
        for h in handed:
            outcomes[h.index] = h.outcome()
    except BaseException:
        # Cancelled (a web Stop, task.cancel()) or interrupted: what finished is known; calls
        # still queued never start; the ones running get ``grace`` seconds to finish.
        _known(progress, outcomes)
        for h in handed:  # queued calls are dropped first, so none starts in a freed slot
            if h.state == QUEUED and pool().cancel(h):
                batch.settle(h)
        waiting = [item for item in running if item[0].call.id not in _ids(outcomes)]
        try:
            undone: list[asyncio.Future[Any]] = [work for _, work, _ in waiting if not work.done()]
            if batch.left:
                undone.append(wake.renew())
            if undone and grace > 0:
                await asyncio.wait(undone, timeout=grace)
            for prepared, work, started in waiting:
                if work.done() and not work.cancelled() and work.exception() is None:
                    _known(progress, [_outcome_of(prepared, work.result(), started)])
            _known(progress, [h.known() for h in handed])
        finally:
            stopping = [work for _, work, _ in running if not work.done()]
            for work in stopping:
                work.cancel()  # async tools still running stop; threads cannot be stopped
            if stopping:  # let their cleanup run (an A2A call cancels its remote task)
                await asyncio.wait(stopping, timeout=max(grace, 1.0))
        raise
    finally:
        if watchdog is not None:
            watchdog.cancel()
    return [outcome for outcome in outcomes if outcome is not None]


def _ids(outcomes: Sequence[ToolOutcome | None]) -> set[str]:
    return {outcome.call.id for outcome in outcomes if outcome is not None}

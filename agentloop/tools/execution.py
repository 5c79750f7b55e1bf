"""Running function calls: one sans-I/O preparation step and two thin drivers.

``prepare`` (lookup + argument validation) and ``finish`` (return value or exception → a
result whose wire form is known) never block. The drivers only decide *where* a prepared
call runs, always in a copy of the caller's ``contextvars`` context:

* ``run_sync``: a lone plain sync call in the calling thread; otherwise sync tools in the
  registry's pool of daemon threads and async tools on its private event-loop thread (all
  concurrently), waiting with per-tool timeouts;
* ``run_async``: async tools as tasks on the running loop, sync tools always in the pool
  (never on the event loop), each under ``asyncio.wait_for``.

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
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from agentloop.errors import (
    ArgumentsInvalidError,
    ToolError,
    ToolResultError,
    ToolTimeoutError,
    UnknownToolError,
)
from agentloop.types import FunctionCallStep, FunctionResultStep, encode_step

from ._pool import ToolPool
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
    """

    started: set[str] = dataclasses.field(default_factory=set)
    finished: dict[str, ToolOutcome] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
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
    if isinstance(outcome, _Raised):
        return _error(call, _exception_text(outcome.exc), outcome.exc, started)
    try:
        result = to_result(outcome)
        step = FunctionResultStep(call_id=call.id, name=call.name, result=result)
        wire = encode_step(step)
    except Exception as exc:  # TypeError, ValueError (NaN, circular), serialization errors
        return _unencodable(prepared, outcome, exc, started)
    return ToolOutcome(call, step, value=outcome, duration=time.perf_counter() - started, wire=wire)


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
    try:
        return prepared.start()
    except Exception as exc:
        return _Raised(exc)


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

    # One plain sync call (no timeout) runs right here, in the calling thread, while the
    # others run in the pool: the caller would only wait anyway, and a lone call costs no
    # thread hop at all (Ctrl-C stays immediate).
    here = next((i for i in range(len(ready) - 1, -1, -1) if _plain_sync(ready[i][1].tool)), None)
    local = ready.pop(here) if here is not None else None

    pending: list[tuple[int, PreparedCall, concurrent.futures.Future[Any], float]] = []
    try:
        for index, prepared in ready:
            started = time.perf_counter()
            future: concurrent.futures.Future[Any]
            if prepared.tool.is_async:
                # Scheduled with call_soon_threadsafe: the task runs in a copy of our context.
                future = asyncio.run_coroutine_threadsafe(_with_timeout(prepared), loop())
            else:
                future = pool().submit(contextvars.copy_context().run, _call_sync, prepared)
            pending.append((index, prepared, future, started))
        if local is not None:
            index, prepared = local
            started = time.perf_counter()
            value = contextvars.copy_context().run(_call_sync, prepared)
            outcomes[index] = finish(prepared, value, started)
        for index, prepared, future, started in pending:
            outcomes[index] = _wait(pool, prepared, future, started)
    except BaseException:
        # Interrupted (Ctrl-C): what finished is known; calls still queued never start; the
        # ones running get ``grace`` seconds to finish so that what they return is known too.
        _known(progress, outcomes)
        deadline = time.monotonic() + grace
        try:
            for _, prepared, future, started in pending:
                if prepared.tool.is_async or not future.cancel():  # running (or async)
                    remaining = max(0.0, deadline - time.monotonic())
                    with contextlib.suppress(Exception):
                        value = future.result(remaining)
                        _known(progress, [_outcome_of(prepared, value, started)])
        finally:
            for _, _, future, _ in pending:
                future.cancel()  # async tools still running are cancelled on their loop
        raise
    return [outcome for outcome in outcomes if outcome is not None]


def _plain_sync(tool: Tool[..., Any]) -> bool:
    return not tool.is_async and tool.timeout is None


async def _with_timeout(prepared: PreparedCall) -> Any:
    if prepared.tool.timeout is None:
        return await _call_async(prepared)
    try:
        return await asyncio.wait_for(_call_async(prepared), prepared.tool.timeout)
    except asyncio.TimeoutError:
        return _TIMED_OUT


_TIMED_OUT = object()


def _wait(
    pool: Callable[[], ToolPool],
    prepared: PreparedCall,
    future: concurrent.futures.Future[Any],
    started: float,
) -> ToolOutcome:
    timeout = prepared.tool.timeout
    remaining = None if timeout is None else max(0.0, started + timeout - time.perf_counter())
    try:
        # ``remaining`` for async tools is a backstop only: they time out on their own loop.
        value = future.result(None if prepared.tool.is_async else remaining)
    except concurrent.futures.TimeoutError:
        if prepared.tool.is_async:
            future.cancel()
        else:
            pool().abandon(future)  # the thread cannot be stopped: free its slot
        return timed_out(prepared, started)
    if value is _TIMED_OUT:
        return timed_out(prepared, started)
    return finish(prepared, value, started)


# --- async driver ----------------------------------------------------------------------------


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

    # Plain sync calls go to the pool at once, each in a copy of the caller's context, and
    # wake the loop once when the last one is done (not once per call).
    batch = [
        (
            index,
            prepared,
            time.perf_counter(),
            pool().submit(contextvars.copy_context().run, _call_sync, prepared),
        )
        for index, prepared in plain
    ]
    jobs = [one(index, prepared) for index, prepared in own]
    if batch:
        jobs.append(_all_done(loop, [future for _, _, _, future in batch]))
    try:
        if len(jobs) == 1:
            await jobs[0]
        elif jobs:
            # gather cancels the other jobs if this coroutine is cancelled; tool failures
            # never raise out of them, so only cancellation and interrupts get here.
            await asyncio.gather(*jobs)
    except BaseException:
        # Cancelled (a web Stop, task.cancel()) or interrupted: what finished is known; calls
        # still queued never start; the ones running get ``grace`` seconds to finish.
        _known(progress, outcomes)
        waiting: list[tuple[PreparedCall, asyncio.Future[Any], float]] = []
        for _, prepared, started, future in batch:
            if not future.cancel():  # running or done: queued ones are dropped here
                waiting.append((prepared, asyncio.wrap_future(future, loop=loop), started))
        waiting += [item for item in running if item[0].call.id not in _ids(outcomes)]
        try:
            undone = [work for _, work, _ in waiting if not work.done()]
            if undone and grace > 0:
                await asyncio.wait(undone, timeout=grace)
            for prepared, work, started in waiting:
                if work.done() and not work.cancelled() and work.exception() is None:
                    _known(progress, [_outcome_of(prepared, work.result(), started)])
        finally:
            stopping = [work for _, work, _ in running if not work.done()]
            for work in stopping:
                work.cancel()  # async tools still running stop; threads cannot be stopped
            if stopping:  # let their cleanup run (an A2A call cancels its remote task)
                await asyncio.wait(stopping, timeout=max(grace, 1.0))
        raise
    for index, prepared, started, future in batch:
        outcomes[index] = finish(prepared, future.result(), started)
    return [outcome for outcome in outcomes if outcome is not None]


def _ids(outcomes: Sequence[ToolOutcome | None]) -> set[str]:
    return {outcome.call.id for outcome in outcomes if outcome is not None}


async def _all_done(
    loop: asyncio.AbstractEventLoop, futures: list[concurrent.futures.Future[Any]]
) -> None:
    """Wait for every future with a single wake-up of the loop."""
    waiter: asyncio.Future[None] = loop.create_future()
    remaining = [len(futures)]
    lock = threading.Lock()

    def wake() -> None:
        if not waiter.done():
            waiter.set_result(None)

    def done(_: concurrent.futures.Future[Any]) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(wake)

    for future in futures:
        future.add_done_callback(done)
    await waiter

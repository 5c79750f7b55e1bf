"""Running function calls: one sans-I/O preparation step and two thin drivers.

``prepare`` (lookup + argument validation) and ``finish`` (return value or exception → result)
never block. The drivers only decide *where* a prepared call runs:

* ``run_sync``: sync tools in the registry's bounded thread pool, async tools on the
  registry's private event-loop thread (all concurrently), waiting with per-tool timeouts;
* ``run_async``: async tools as tasks on the running loop, sync tools through
  ``loop.run_in_executor`` on the same pool, each under ``asyncio.wait_for``.

Every failure becomes an ``is_error`` result the model can act on; only ``KeyboardInterrupt``,
``SystemExit`` and cancellation propagate.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import time
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from agentloop.types import FunctionCallStep, FunctionResultStep

from .context import ToolContext, ToolContextFactory, default_context
from .errors import ToolError
from .results import to_result
from .tool import ArgumentsInvalid, Tool

if TYPE_CHECKING:
    from .registry import ToolRegistry

__all__ = ["CallWrapper", "PreparedCall", "ToolOutcome", "ToolTimeout", "UnknownTool", "prepare"]

CallWrapper = Callable[[FunctionCallStep], AbstractContextManager[Any]]
"""Entered around a call's tool code, where it runs (observability: the call's span)."""


class UnknownTool(LookupError):
    """The model called a tool that is not registered (reported to it as an error result)."""


class ToolTimeout(TimeoutError):
    """A tool ran longer than its ``timeout`` (reported to the model as an error result)."""


@dataclasses.dataclass
class ToolOutcome:
    """What happened to one call: the ``FunctionResultStep`` to send plus details for hooks."""

    call: FunctionCallStep
    result: FunctionResultStep
    error: BaseException | None = None
    value: Any = None
    duration: float = 0.0

    @property
    def is_error(self) -> bool:
        return bool(self.result.is_error)


@dataclasses.dataclass
class PreparedCall:
    """A call whose tool exists and whose arguments are valid: ready to run."""

    call: FunctionCallStep
    tool: Tool[..., Any]
    args: list[Any]
    kwargs: dict[str, Any]
    around: CallWrapper | None = None

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
    step = FunctionResultStep(call_id=call.id, name=call.name, result=text, is_error=True)
    return ToolOutcome(call, step, error=exc, duration=time.perf_counter() - started)


def prepare_outcome(
    registry: ToolRegistry,
    call: FunctionCallStep,
    context: ToolContextFactory | None,
) -> PreparedCall | ToolOutcome:
    """Look the tool up and validate the arguments; an error outcome if either fails."""
    started = time.perf_counter()
    found = registry.get(call.name)
    if found is None:
        names = ", ".join(registry.names) or "none"
        text = f"Unknown tool {call.name!r}. Available tools: {names}."
        return _error(call, text, UnknownTool(text), started)
    try:
        ctx: ToolContext[Any] | None = None
        if found.context_parameters:
            ctx = (context or default_context)(call, found)
        args, kwargs = found.validate_arguments(call.arguments, ctx)
    except ArgumentsInvalid as exc:
        text = (
            f"Invalid arguments for tool {found.name!r}: {'; '.join(exc.problems)}. "
            "Call the tool again with corrected arguments."
        )
        return _error(call, text, exc, started)
    except Exception as exc:  # a failing context factory or default_factory
        return _error(call, _exception_text(exc), exc, started)
    return PreparedCall(call, found, args, kwargs)


def prepare(
    registry: ToolRegistry,
    call: FunctionCallStep,
    context: ToolContextFactory | None = None,
) -> PreparedCall | FunctionResultStep:
    """Sans-I/O first step: a ready ``PreparedCall`` or an immediate ``is_error`` result."""
    prepared = prepare_outcome(registry, call, context)
    return prepared.result if isinstance(prepared, ToolOutcome) else prepared


def _exception_text(exc: BaseException) -> str:
    if isinstance(exc, ToolError):
        return exc.message
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def finish(prepared: PreparedCall, outcome: Any, started: float) -> ToolOutcome:
    """The outcome of a finished call from its return value (or ``_Raised`` exception)."""
    call = prepared.call
    if isinstance(outcome, _Raised):
        return _error(call, _exception_text(outcome.exc), outcome.exc, started)
    try:
        result = to_result(outcome)
    except Exception as exc:
        text = (
            f"Tool {prepared.tool.name!r} returned a {type(outcome).__name__} that cannot be "
            f"sent as a result ({_exception_text(exc)})."
        )
        return _error(call, text, exc, started)
    step = FunctionResultStep(call_id=call.id, name=call.name, result=result)
    return ToolOutcome(call, step, value=outcome, duration=time.perf_counter() - started)


def timed_out(prepared: PreparedCall, started: float) -> ToolOutcome:
    text = f"Tool {prepared.tool.name!r} timed out after {prepared.tool.timeout} s."
    return _error(prepared.call, text, ToolTimeout(text), started)


# A sync tool whose calls have all taken less than _QUICK seconds, _PROVEN times in a row, runs
# in the calling thread: a thread-pool hop costs ~30-40 µs (two GIL hand-offs), far more than
# such a call. Any slower call sends the tool back to the pool; tools with a timeout always go.
_QUICK = 50e-6
_PROVEN = 8


def _call_sync(prepared: PreparedCall) -> Any:
    started = time.perf_counter()
    try:
        return prepared.start()
    except Exception as exc:
        return _Raised(exc)
    finally:
        tool = prepared.tool
        # Racy from pool threads, harmlessly: the count is only a scheduling hint.
        tool._quick_runs = tool._quick_runs + 1 if time.perf_counter() - started < _QUICK else 0


def _runs_inline(tool: Tool[..., Any]) -> bool:
    return not tool.is_async and tool.timeout is None and tool._quick_runs >= _PROVEN


async def _call_async(prepared: PreparedCall) -> Any:
    try:
        return await prepared.start()
    except Exception as exc:
        return _Raised(exc)


# --- sync driver -----------------------------------------------------------------------------


def run_sync(
    registry: ToolRegistry,
    calls: Sequence[FunctionCallStep],
    context: ToolContextFactory | None,
    pool: Callable[[], concurrent.futures.Executor],
    loop: Callable[[], asyncio.AbstractEventLoop],
    around: CallWrapper | None = None,
) -> list[ToolOutcome]:
    outcomes: list[ToolOutcome | None] = [None] * len(calls)
    pending: list[tuple[int, PreparedCall, concurrent.futures.Future[Any], float]] = []
    prepared_calls: list[tuple[int, PreparedCall]] = []
    for index, call in enumerate(calls):
        prepared = prepare_outcome(registry, call, context)
        if isinstance(prepared, ToolOutcome):
            outcomes[index] = prepared
        else:
            prepared.around = around
            prepared_calls.append((index, prepared))

    if len(prepared_calls) == 1:
        index, prepared = prepared_calls[0]
        if not prepared.tool.is_async and prepared.tool.timeout is None:
            # One plain sync call: run it right here (no thread hop; Ctrl-C stays immediate).
            started = time.perf_counter()
            outcomes[index] = finish(prepared, _call_sync(prepared), started)
            prepared_calls = []

    inline: list[tuple[int, PreparedCall]] = []
    for index, prepared in prepared_calls:
        if _runs_inline(prepared.tool):
            inline.append((index, prepared))
            continue
        started = time.perf_counter()
        future: concurrent.futures.Future[Any]
        if prepared.tool.is_async:
            future = asyncio.run_coroutine_threadsafe(_with_timeout(prepared), loop())
        else:
            future = pool().submit(_call_sync, prepared)
        pending.append((index, prepared, future, started))

    try:
        for index, prepared in inline:  # while the pooled calls run
            started = time.perf_counter()
            outcomes[index] = finish(prepared, _call_sync(prepared), started)
        for index, prepared, future, started in pending:
            outcomes[index] = _wait(prepared, future, started)
    except BaseException:
        for _, _, future, _ in pending:
            future.cancel()  # async tools are cancelled on their loop; queued sync ones dropped
        raise
    return [outcome for outcome in outcomes if outcome is not None]


async def _with_timeout(prepared: PreparedCall) -> Any:
    if prepared.tool.timeout is None:
        return await _call_async(prepared)
    try:
        return await asyncio.wait_for(_call_async(prepared), prepared.tool.timeout)
    except asyncio.TimeoutError:
        return _TIMED_OUT


_TIMED_OUT = object()


def _wait(
    prepared: PreparedCall, future: concurrent.futures.Future[Any], started: float
) -> ToolOutcome:
    timeout = prepared.tool.timeout
    remaining = None if timeout is None else max(0.0, started + timeout - time.perf_counter())
    try:
        # ``remaining`` for async tools is a backstop only: they time out on their own loop.
        value = future.result(None if prepared.tool.is_async else remaining)
    except concurrent.futures.TimeoutError:
        future.cancel()  # the thread cannot be stopped; its eventual result is discarded
        return timed_out(prepared, started)
    if value is _TIMED_OUT:
        return timed_out(prepared, started)
    return finish(prepared, value, started)


# --- async driver ----------------------------------------------------------------------------


async def run_async(
    registry: ToolRegistry,
    calls: Sequence[FunctionCallStep],
    context: ToolContextFactory | None,
    pool: Callable[[], concurrent.futures.Executor],
    around: CallWrapper | None = None,
) -> list[ToolOutcome]:
    loop = asyncio.get_running_loop()

    async def one(call: FunctionCallStep) -> ToolOutcome:
        prepared = prepare_outcome(registry, call, context)
        if isinstance(prepared, ToolOutcome):
            return prepared
        prepared.around = around
        started = time.perf_counter()
        work: Coroutine[Any, Any, Any] | asyncio.Future[Any]
        if _runs_inline(prepared.tool):
            return finish(prepared, _call_sync(prepared), started)
        if prepared.tool.is_async:
            work = _call_async(prepared)
        else:
            work = loop.run_in_executor(pool(), _call_sync, prepared)
        if prepared.tool.timeout is None:
            value = await work
        else:
            try:
                value = await asyncio.wait_for(work, prepared.tool.timeout)
            except asyncio.TimeoutError:
                return timed_out(prepared, started)
        return finish(prepared, value, started)

    if len(calls) == 1:
        return [await one(calls[0])]
    # gather cancels the other calls if this coroutine is cancelled; tool failures never
    # raise out of ``one``, so the only exceptions here are cancellation and interrupts.
    return list(await asyncio.gather(*(one(call) for call in calls)))

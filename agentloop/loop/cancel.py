"""``conv.cancel()``: stop the running turn from another thread or task.

A cancellation is an interruption like Ctrl-C or ``task.cancel()``, and takes the same path
in the engine (the outcome rule: a call that returned keeps its result, one still running
after the grace period is in doubt, one that never started is "not run"). What differs is
only how it reaches the turn, and that the turn then *ends* (``send`` returns it, a stream
ends with ``TurnCompleted``) with status ``"cancelled"`` instead of raising:

* the switch is thrown (``request``) from any thread;
* a batch of tools waits on ``wake`` as well as on its own work (blocking driver), or its task
  is cancelled (awaiting driver), so it stops at once; a model request is cancelled at once on
  the awaiting driver, a stream at its next event, and a blocking non-streamed request when it
  returns (its result is then dropped);
* every other effect (a store write, a hook) runs to its end; the next effect sees
  ``requested`` and raises there (a safe point).

The exception is an ``asyncio.CancelledError`` whose message is ``CANCEL_MESSAGE``: the
engine treats it as every cancellation, and marks the turn ``"cancelled"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

from agentloop.tools._pool import Signal

from .events import LoopEvent, TurnCompleted
from .turn import Turn

__all__ = ["CANCEL_MESSAGE", "CancelledError", "StopSwitch", "cancelled_by_request"]

CancelledError = asyncio.CancelledError

#: The message of the ``CancelledError`` a ``conv.cancel()`` raises in the turn.
CANCEL_MESSAGE = "the turn was cancelled (conv.cancel())"


def cancelled_by_request(exc: BaseException) -> bool:
    """True when ``exc`` is the cancellation ``conv.cancel()`` asked for."""
    return isinstance(exc, asyncio.CancelledError) and exc.args == (CANCEL_MESSAGE,)


class StopSwitch:
    """The running turn's stop switch: thrown from any thread, seen at the turn's next safe
    point (or at once where it waits for a model or tools)."""

    __slots__ = ("_closing", "_lock", "_runs", "_task", "requested", "wake")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs = 0  # turns (drive loops) running on this conversation: 0 or 1
        self._task: tuple[asyncio.Task[Any], asyncio.AbstractEventLoop] | None = None
        self._closing: Any = None  # the response stream being read (blocking driver)
        self.requested = False
        #: Set (with the exception to raise) when the switch is thrown: blocking waits watch
        #: it with their work.
        self.wake = Signal()

    def running(self) -> _Running:
        """A turn runs inside (``with``): ``request`` may stop it."""
        return _Running(self)

    def request(self) -> bool:
        """Ask the running turn to stop; False when no turn runs."""
        with self._lock:
            if self._runs == 0:
                return False
            self.requested = True
            wake, task, closing = self.wake, self._task, self._closing
        wake.set(asyncio.CancelledError(CANCEL_MESSAGE))
        if closing is not None:
            with contextlib.suppress(Exception):  # its reader sees the cancellation
                closing.close()
        if task is not None:
            running, loop = task
            with contextlib.suppress(RuntimeError):  # a closed loop: nothing runs there
                loop.call_soon_threadsafe(self._cancel_task, running)
        return True

    def _cancel_task(self, task: asyncio.Task[Any]) -> None:
        if self._task is not None and self._task[0] is task and not task.done():
            task.cancel(CANCEL_MESSAGE)

    def check(self) -> None:
        """Raise the cancellation if it was asked for (a safe point: between effects)."""
        if self.requested:
            raise asyncio.CancelledError(CANCEL_MESSAGE)

    def guard(self, close: Any = None) -> _Guard:
        """Blocking driver: a model request or tool batch that the switch stops (``close``:
        a stream to close when it is thrown; the error its reader then gets is the
        cancellation)."""
        return _Guard(self, close)

    def aguard(self, close: Any = None) -> _AGuard:
        """Awaiting driver: while inside, ``request`` cancels the current task at once (a
        model request or a tool batch; the engine's interruption path takes it from there).
        Not while a stream is read (``close``): its events go to the caller's code, which a
        cancellation must not hit; the stream stops at its next event."""
        return _AGuard(self, close)

    def call(self, function: Any, **kwargs: Any) -> Any:
        """Blocking driver: ``function(**kwargs)`` in the calling thread. A cancellation
        thrown meanwhile takes effect when it returns: the result is dropped (a stream it
        opened is closed) and the cancellation raised. (Running each request on a thread that
        could be abandoned at once cost 150-250 us per request; a request's wait is the
        model's, and a stream is stopped at its next event.)"""
        self.check()
        result = function(**kwargs)
        if self.wake.done():
            if hasattr(result, "close"):
                result.close()  # abandoned: nobody reads it
            raise asyncio.CancelledError(CANCEL_MESSAGE)
        return result

    async def acall(self, function: Any, **kwargs: Any) -> Any:
        """Awaiting driver: ``await function(**kwargs)``, cancelled at once by the switch."""
        with _AGuard(self, None):
            return await function(**kwargs)

    def stopped(self, exc: asyncio.CancelledError) -> Turn:
        """The turn a ``conv.cancel()`` ended (``exc`` raised out of the drive loop); any
        other cancellation goes on up."""
        turn = getattr(exc, "turn", None)
        if not cancelled_by_request(exc) or not isinstance(turn, Turn):
            raise exc
        with contextlib.suppress(RuntimeError):
            task = asyncio.current_task()
            if task is not None and getattr(task, "cancelling", lambda: 0)():
                task.uncancel()  # type: ignore[attr-defined]  # ours, and handled here
        return turn

    def events(self, events: Iterator[LoopEvent]) -> Iterator[LoopEvent]:
        """A blocking stream that a ``conv.cancel()`` ends with ``TurnCompleted``."""
        with self.running():
            try:
                yield from events
            except asyncio.CancelledError as exc:
                yield TurnCompleted(turn=self.stopped(exc))

    async def aevents(self, events: AsyncIterator[LoopEvent]) -> AsyncIterator[LoopEvent]:
        """An awaiting stream that a ``conv.cancel()`` ends with ``TurnCompleted``."""
        with self.running():
            try:
                async for event in events:
                    yield event
            except asyncio.CancelledError as exc:
                yield TurnCompleted(turn=self.stopped(exc))
            finally:
                await events.aclose()  # type: ignore[attr-defined]


# The switch's context managers are small classes, not ``contextlib.contextmanager``
# generators: a turn enters ``running`` once and ``guard``/``aguard`` per model request and
# tool batch, and a generator-based one cost ~1.5-2 us per entry.


class _Running:
    """``StopSwitch.running()``: counts the turn in; the last one out resets the switch."""

    __slots__ = ("stop",)

    def __init__(self, stop: StopSwitch) -> None:
        self.stop = stop

    def __enter__(self) -> None:
        stop = self.stop
        with stop._lock:
            stop._runs += 1

    def __exit__(self, *exc: object) -> None:
        stop = self.stop
        with stop._lock:
            stop._runs -= 1
            if stop._runs == 0:
                stop.requested = False
                stop._task = None
                if stop.wake.done():
                    stop.wake = Signal()


class _Guard:
    """``StopSwitch.guard(close)``."""

    __slots__ = ("close", "stop")

    def __init__(self, stop: StopSwitch, close: Any) -> None:
        self.stop = stop
        self.close = close

    def __enter__(self) -> None:
        stop = self.stop
        stop.check()
        stop._closing = self.close

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        stop = self.stop
        stop._closing = None
        if exc is not None and stop.requested and not cancelled_by_request(exc):
            raise asyncio.CancelledError(CANCEL_MESSAGE) from exc


class _AGuard:
    """``StopSwitch.aguard(close)``: the current task is the one ``request`` cancels (none
    while a stream is read)."""

    __slots__ = ("close", "stop", "task")

    def __init__(self, stop: StopSwitch, close: Any) -> None:
        self.stop = stop
        self.close = close
        self.task: asyncio.Task[Any] | None = None

    def __enter__(self) -> None:
        stop = self.stop
        stop.check()
        task = self.task = asyncio.current_task() if self.close is None else None
        if task is None:
            return
        with stop._lock:
            stop._task = (task, asyncio.get_running_loop())
        if stop.requested:  # thrown between the check and here
            with stop._lock:
                stop._task = None
            raise asyncio.CancelledError(CANCEL_MESSAGE)

    def __exit__(self, *exc: object) -> None:
        if self.task is not None:
            stop = self.stop
            with stop._lock:
                stop._task = None

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

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """A turn runs inside: ``request`` may stop it."""
        with self._lock:
            self._runs += 1
        try:
            yield
        finally:
            with self._lock:
                self._runs -= 1
                if self._runs == 0:
                    self.requested = False
                    self._task = None
                    if self.wake.done():
                        self.wake = Signal()

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

    @contextlib.contextmanager
    def guard(self, close: Any = None) -> Iterator[None]:
        """Blocking driver: a model request or tool batch that the switch stops (``close``:
        a stream to close when it is thrown; the error its reader then gets is the
        cancellation)."""
        self.check()
        self._closing = close
        try:
            yield
        except BaseException as exc:
            if self.requested and not cancelled_by_request(exc):
                raise asyncio.CancelledError(CANCEL_MESSAGE) from exc
            raise
        finally:
            self._closing = None

    @contextlib.contextmanager
    def aguard(self, close: Any = None) -> Iterator[None]:
        """Awaiting driver: while inside, ``request`` cancels the current task at once (a
        model request or a tool batch; the engine's interruption path takes it from there).
        Not while a stream is read (``close``): its events go to the caller's code, which a
        cancellation must not hit; the stream stops at its next event."""
        self.check()
        task = asyncio.current_task() if close is None else None
        if task is None:
            yield
            return
        with self._lock:
            self._task = (task, asyncio.get_running_loop())
        try:
            if self.requested:  # thrown between the check and here
                raise asyncio.CancelledError(CANCEL_MESSAGE)
            yield
        finally:
            with self._lock:
                self._task = None

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
        with self.aguard():
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

"""The one way agentloop runs async code from sync code: an event loop in a daemon thread.

A blocking ``Conversation`` meets async user code in three places: async tools, async hooks
and async summarize callables; an MCP toolset keeps its session on a loop of its own. Each
uses a ``LoopThread`` (a long-lived loop, not ``asyncio.run`` per call: async clients a tool
creates stay bound to one loop across calls) and ``LoopThread.submit`` / ``wait_on``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable
from typing import Any, TypeVar

__all__ = ["LoopThread", "wait_on"]

T = TypeVar("T")


class LoopThread:
    """An event loop running forever in a daemon thread, until ``stop()``."""

    __slots__ = ("loop", "thread")

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.loop.run_forever()
        finally:
            # Stopped (``stop()``, or its owner's finalizer: ``stop_loop``): its selector and
            # self-pipe are released now, not whenever the loop object is collected.
            self.loop.close()

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def submit(self, awaitable: Awaitable[T]) -> concurrent.futures.Future[T]:
        """Schedule ``awaitable`` on the loop (in a copy of the caller's context)."""
        return asyncio.run_coroutine_threadsafe(_as_coro(awaitable), self.loop)

    def stop(self, timeout: float | None = None) -> None:
        """Stop the loop; close it once its thread has ended (within ``timeout``)."""
        if self.loop.is_closed():
            return
        try:
            self.loop.call_soon_threadsafe(self.loop.stop)
        except RuntimeError:  # it closed meanwhile (stopped by another caller)
            return
        if self.thread is not threading.current_thread():
            self.thread.join(timeout)
        if not self.thread.is_alive():
            self.loop.close()


def wait_on(awaitable: Awaitable[T], loop: asyncio.AbstractEventLoop) -> T:
    """Run ``awaitable`` on ``loop`` (a ``LoopThread``'s) and block until it is done."""
    return asyncio.run_coroutine_threadsafe(_as_coro(awaitable), loop).result()


async def _as_coro(awaitable: Awaitable[T]) -> T:
    return await awaitable


def stop_loop(loop: asyncio.AbstractEventLoop) -> Any:
    """Stop a loop whose owner was garbage-collected (its thread then ends and closes it)."""
    if not loop.is_closed():
        with contextlib.suppress(RuntimeError):  # it closed meanwhile
            loop.call_soon_threadsafe(loop.stop)

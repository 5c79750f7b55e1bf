"""The thread pool of sync tools: daemon threads, and calls that can be given up on.

``concurrent.futures.ThreadPoolExecutor`` cannot serve tools with a timeout: Python cannot
stop a running thread, so a timed-out call keeps its worker (after ``max_workers`` hung calls
nothing runs any more), and its non-daemon threads are joined at interpreter exit (a hung tool
delays exit by its full run). Here a call the driver gives up on (:meth:`ToolPool.abandon`)
stops counting against ``max_workers`` at once, a replacement thread takes the queue, and the
abandoned thread exits when its call returns. Every thread is a daemon.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from typing_extensions import ParamSpec

from agentloop.errors import ConfigurationError, StateError

__all__ = ["ToolPool"]

P = ParamSpec("P")
T = TypeVar("T")

# Seconds an idle thread waits for work before it ends (a new one starts when calls overlap).
IDLE_EXIT = 30.0

_Item = tuple["concurrent.futures.Future[Any]", Callable[..., Any], tuple[Any, ...]]


class ToolPool(concurrent.futures.Executor):
    """At most ``max_workers`` counted daemon threads; threads start only when calls overlap."""

    def __init__(self, max_workers: int, name: str = "agentloop-tool") -> None:
        if max_workers < 1:
            raise ConfigurationError(f"max_workers must be at least 1, got {max_workers}.")
        self.max_workers = max_workers
        self._name = name
        self._names = itertools.count()
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._counted = 0  # live threads that count against max_workers
        self._running: dict[concurrent.futures.Future[Any], threading.Thread] = {}
        self._abandoned: set[threading.Thread] = set()
        self._threads: set[threading.Thread] = set()
        self._shutdown = False

    def submit(
        self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> concurrent.futures.Future[T]:
        if kwargs:
            raise TypeError("ToolPool.submit takes positional arguments only")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._lock:
            if self._shutdown:
                raise StateError(
                    "cannot run a tool after its registry was closed (conversation.close()); "
                    "create a new conversation or registry"
                )
            self._queue.put((future, fn, args))
            if not self._idle.acquire(blocking=False) and self._counted < self.max_workers:
                self._start()
        return future

    def abandon(self, future: concurrent.futures.Future[Any]) -> None:
        """Stop waiting for ``future``: cancel it if it has not started, else free its slot
        (its thread finishes the call, discards the result and exits)."""
        if future.cancel():
            return
        with self._lock:
            thread = self._running.get(future)
            if thread is None or thread in self._abandoned or future.done():
                return  # finished meanwhile
            self._abandoned.add(thread)
            self._counted -= 1
            if not self._queue.empty() and self._counted < self.max_workers:
                self._start()

    @property
    def busy(self) -> int:
        """Threads counted against ``max_workers`` (running or idle, not abandoned)."""
        return self._counted

    def _start(self) -> None:  # with self._lock held
        thread = threading.Thread(
            target=self._work, name=f"{self._name}-{next(self._names)}", daemon=True
        )
        self._counted += 1
        self._threads.add(thread)
        thread.start()

    def _work(self) -> None:
        me = threading.current_thread()
        try:
            while True:
                try:
                    item = self._queue.get(timeout=IDLE_EXIT)
                except queue.Empty:
                    with self._lock:  # idle too long: leave, unless a caller counts on us
                        if self._idle.acquire(blocking=False):
                            return
                    continue
                if item is None:
                    self._queue.put(None)  # wake the next thread too
                    return
                future, fn, args = item
                with self._lock:  # started and registered at once (see abandon)
                    started = future.set_running_or_notify_cancel()
                    if started:
                        self._running[future] = me
                if started:
                    try:
                        result = fn(*args)
                    except BaseException as exc:
                        future.set_exception(exc)
                    else:
                        future.set_result(result)
                    finally:
                        del item, fn, args  # no reference cycles through the frame
                    with self._lock:
                        del self._running[future]
                        if me in self._abandoned:
                            return
                del future
                self._idle.release()
        finally:
            with self._lock:
                self._threads.discard(me)
                if me in self._abandoned:
                    self._abandoned.discard(me)
                else:
                    self._counted -= 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking calls; with ``wait``, wait for the running ones that were not
        abandoned (abandoned ones are left to finish on their own)."""
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is not None:
                        item[0].cancel()
            self._queue.put(None)
            threads = [t for t in self._threads if t not in self._abandoned]
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()

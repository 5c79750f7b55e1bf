"""The thread pool of sync tools: daemon threads, calls that can be given up on, and batches
that cost one hand-off instead of one per call.

``concurrent.futures.ThreadPoolExecutor`` cannot serve tools with a timeout: Python cannot
stop a running thread, so a timed-out call keeps its worker (after ``max_workers`` hung calls
nothing runs any more), and its non-daemon threads are joined at interpreter exit (a hung tool
delays exit by its full run). Here a call the driver gives up on (:meth:`ToolPool.abandon`)
stops counting against ``max_workers`` at once, a replacement thread takes the queue, and the
abandoned thread exits when its call returns. Every thread is a daemon.

A thread hand-off (waking a thread, then waking the caller) costs far more CPU than a trivial
tool call. So the calls of quick tools run one after the other: in the calling thread, which
takes each call (:meth:`ToolPool.take`) before running it, for a blocking caller; or, for an
awaiting caller (which must not run them on its event loop), queued *lazily* (:class:`Job`),
one thread woken for all of them. That alone would serialise the batch, and a call waiting for
another call of the same batch (a barrier, an event) would hang; so a watcher looks on (the
pool's one watch thread, :meth:`ToolPool.watch`, or the awaiting caller's event loop): when no
call of the batch has ended for ``SPREAD_AFTER`` seconds while one runs, every call still
queued gets a thread of its own (:meth:`ToolPool.spread`). Every call of a batch can thus run
concurrently with the others; quick calls just share a thread. The watch thread stays awake
``WATCH_LINGER`` seconds after its last look, so batches in quick succession cost no wake-up.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import itertools
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from typing_extensions import ParamSpec

from agentloop.errors import ConfigurationError, StateError

__all__ = ["SPREAD_AFTER", "WATCH_LINGER", "Batch", "Job", "Signal", "ToolPool"]

P = ParamSpec("P")
T = TypeVar("T")

# Seconds an idle thread waits for work before it ends (a new one starts when calls overlap).
IDLE_EXIT = 30.0

SPREAD_AFTER = 0.001
"""Seconds a lazily queued batch may go without a call ending while one runs; then the calls
still waiting for a thread each get a thread of their own (:meth:`ToolPool.spread`)."""

WATCH_LINGER = 0.01
"""Seconds the pool's watch thread (:meth:`ToolPool.watch`) stays awake after the last watched
batch ended, before it parks: batches that follow each other closely (a tool turn after a tool
turn) cost it no wake-up."""

QUEUED, RUNNING, DONE, CANCELLED = range(4)


class Job:
    """One call of ``fn(*args)`` in the pool. ``value`` or ``error`` (any ``BaseException``
    it raised) once ``state`` is ``DONE``; ``batch`` learns when it settles."""

    __slots__ = ("args", "batch", "error", "fn", "settled", "state", "thread", "value")

    def __init__(
        self, fn: Callable[..., Any], args: tuple[Any, ...], batch: Batch | None = None
    ) -> None:
        self.fn: Callable[..., Any] | None = fn
        self.args: tuple[Any, ...] = args
        self.batch = batch
        self.state = QUEUED
        self.thread: threading.Thread | None = None
        self.value: Any = None
        self.error: BaseException | None = None
        self.settled = False  # counted as over by its batch (done, cancelled or given up)

    def done(self) -> bool:
        return self.state >= DONE

    def _start(self) -> bool:  # with the pool's lock held
        if self.state != QUEUED:
            return False
        self.state = RUNNING
        return True

    def _cancel(self) -> bool:  # with the pool's lock held
        if self.state != QUEUED:
            return False
        self.state = CANCELLED
        return True

    def _run(self) -> None:
        try:
            self.value = self.fn(*self.args)  # type: ignore[misc]
        except BaseException as exc:  # SystemExit in a tool: its caller re-raises it
            self.error = exc
        self.fn = None
        self.args = ()
        self.state = DONE  # before the worker takes the pool's lock again (see abandon)
        if self.batch is not None:
            self.batch.settle(self)


_POOLS: weakref.WeakSet[ToolPool] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A pool used before a fork would wait, in the child, for threads that only exist in the
    parent: every pool starts afresh there (threads start again as calls need them)."""
    for pool in list(_POOLS):
        pool._no_threads()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _looks_again(look: Callable[[], bool]) -> bool:
    try:
        return look()
    except Exception:  # (a pool shut down meanwhile): nothing more to do for that batch
        return False


class _FutureJob(Job):
    """A job behind a standard future (:meth:`ToolPool.submit`)."""

    __slots__ = ("future",)

    def __init__(self, future: _Future[Any], fn: Callable[..., Any], args: tuple[Any, ...]):
        super().__init__(fn, args)
        self.future = future

    def _start(self) -> bool:
        if not super()._start():
            return False
        if self.future.set_running_or_notify_cancel():
            return True
        self.state = CANCELLED  # cancelled through its future
        return False

    def _cancel(self) -> bool:
        return super()._cancel() and self.future.cancel()

    def _run(self) -> None:
        super()._run()
        if self.error is not None:
            self.future.set_exception(self.error)
        else:
            self.future.set_result(self.value)
        self.error = self.value = None  # the future holds them


class _Future(concurrent.futures.Future[T]):
    """What :meth:`ToolPool.submit` returns: a standard future the pool can give up on."""

    job: _FutureJob


class Batch:
    """Calls a caller waits for together: one wake-up when the last of them settles (ran,
    was cancelled, or was given up), plus any :meth:`nudge` (a stop) meanwhile.

    The caller either blocks in :meth:`wait` (``notify=None``) or is told through ``notify``
    (called from whichever thread settled the last call, e.g. to wake an event loop)."""

    __slots__ = ("_lock", "_notify", "_queue", "left")

    def __init__(self, size: int, notify: Callable[[], None] | None = None) -> None:
        self.left = size
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[None] | None = None
        if notify is None:
            self._queue = queue.SimpleQueue()
        self._notify = notify

    def settle(self, job: Job) -> None:
        """``job`` is over for this batch (from any thread; only the first call counts)."""
        with self._lock:
            if job.settled:
                return
            job.settled = True
            self.left -= 1
            last = self.left == 0
        if last:
            self.nudge()

    def nudge(self) -> None:
        """Wake the caller (it then looks at what changed)."""
        if self._queue is not None:
            self._queue.put(None)
        elif self._notify is not None:
            self._notify()

    def wait(self, timeout: float | None) -> None:
        """Block until a wake-up or ``timeout`` (blocking caller only; Ctrl-C interrupts)."""
        assert self._queue is not None
        with contextlib.suppress(queue.Empty):
            self._queue.get(timeout=timeout)


class Signal:
    """Set once, from any thread, with a value (the exception a stopped batch raises); a
    waiting batch watches it (:meth:`watch`) instead of polling."""

    __slots__ = ("_lock", "_set", "_value", "_watchers")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._set = False
        self._value: Any = None
        self._watchers: list[Callable[[], None]] = []

    def set(self, value: Any) -> bool:
        """Set it (False if it was set already) and call the watchers."""
        with self._lock:
            if self._set:
                return False
            self._set, self._value = True, value
            watchers, self._watchers = self._watchers, []
        for watcher in watchers:
            watcher()
        return True

    def done(self) -> bool:
        return self._set

    def result(self) -> Any:
        """The value it was set with (None while unset)."""
        return self._value

    def watch(self, watcher: Callable[[], None]) -> None:
        """Call ``watcher`` (from the setting thread) when it is set: now, if it is."""
        with self._lock:
            if not self._set:
                self._watchers.append(watcher)
                return
        watcher()

    def unwatch(self, watcher: Callable[[], None]) -> None:
        with self._lock:
            if watcher in self._watchers:
                self._watchers.remove(watcher)


class ToolPool(concurrent.futures.Executor):
    """At most ``max_workers`` counted daemon threads; threads start only when calls overlap.

    Idle threads each wait on a lock of their own, so that putting work wakes exactly the
    threads it needs (:meth:`put`, :meth:`spread`)."""

    def __init__(self, max_workers: int, name: str = "agentloop-tool") -> None:
        if max_workers < 1:
            raise ConfigurationError(f"max_workers must be at least 1, got {max_workers}.")
        self.max_workers = max_workers
        self._name = name
        self._names = itertools.count()
        self._shutdown = False
        self._no_threads()
        _POOLS.add(self)

    def _no_threads(self) -> None:
        """The state of a pool with no thread yet (also a forked child's: the parent's
        threads do not exist there, nor do the callers of the calls it had queued)."""
        self._jobs: collections.deque[Job] = collections.deque()
        self._lock = threading.Lock()
        self._parked: list[threading.Lock] = []  # idle threads, each blocked on its lock
        self._looking = 0  # counted threads awake and not running a call: they take the queue
        self._counted = 0  # live threads that count against max_workers
        self._abandoned: set[threading.Thread] = set()
        self._threads: set[threading.Thread] = set()
        self._looks: list[Callable[[], bool]] = []  # what the watch thread calls
        self._watching = False  # a watch thread lives (looking, or parked)
        self._watch_parked: threading.Lock | None = None  # its parking lock, while parked

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> _Future[T]:
        if kwargs:
            raise TypeError("ToolPool.submit takes positional arguments only")
        future: _Future[T] = _Future()
        future.job = _FutureJob(future, fn, args)
        self.put((future.job,), lazy=False)
        return future

    def put(self, jobs: Iterable[Job], *, lazy: bool, accepted: bool = False) -> None:
        """Queue ``jobs``: each with a thread of its own (up to ``max_workers``), or, when
        ``lazy``, one thread for all of them (the caller then watches, see :meth:`spread`).
        ``accepted``: calls of a batch that began before a shutdown (they run, as the calls
        queued then do)."""
        with self._lock:
            if self._shutdown and not accepted:
                raise StateError(
                    "cannot run a tool after its registry was closed (conversation.close()); "
                    "create a new conversation or registry"
                )
            self._jobs.extend(jobs)
            new = self._spread(1 if lazy else len(self._jobs))
        self._launch(new)

    def spread(self) -> bool:
        """A thread for every call still queued (up to ``max_workers``); False when none is
        queued any more."""
        with self._lock:
            if not self._jobs:
                return False
            new = self._spread(len(self._jobs))
        self._launch(new)
        return True

    def _spread(self, wanted: int) -> list[threading.Thread]:  # with self._lock held
        """Wake or count in threads until ``wanted`` look at the queue; the threads to
        start (after the lock is released: a start waits for the new thread)."""
        new: list[threading.Thread] = []
        for _ in range(wanted - self._looking):
            if self._parked:
                self._parked.pop().release()
            elif self._counted < self.max_workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{next(self._names)}", daemon=True
                )
                self._counted += 1
                self._threads.add(thread)
                new.append(thread)
            else:
                break
            self._looking += 1
        return new

    def _launch(self, threads: list[threading.Thread]) -> None:
        for index, thread in enumerate(threads):
            try:
                thread.start()
            except BaseException:  # (e.g. "can't start new thread"): uncount those not started
                with self._lock:
                    for unstarted in threads[index:]:
                        self._threads.discard(unstarted)
                        self._counted -= 1
                        self._looking -= 1
                raise

    def take(self, job: Job) -> bool:
        """Start ``job`` in the calling thread, unless a pool thread started it (or it was
        cancelled): whether the caller is to run it (``job._run()``). For calls that are not
        in the queue unless a watchdog spread them there."""
        me = threading.current_thread()
        with self._lock:  # (no call between the two stores: Ctrl-C cannot come in between)
            if job.state != QUEUED:
                return False
            job.state, job.thread = RUNNING, me
        return True

    def watch(self, look: Callable[[], bool]) -> None:
        """Have the pool's watch thread call ``look()`` about every ``SPREAD_AFTER`` seconds
        until it returns False; the first call may come at once, or up to ``WATCH_LINGER``
        seconds later. One thread watches for the whole pool, and after its last look it
        sleeps ``WATCH_LINGER`` seconds (in one go: a thread waking every millisecond would
        take the GIL from the caller at each of its syscalls) before it parks: a batch watched
        soon after another costs no thread wake-up, which costs more than a batch of quick
        calls."""
        start = False
        with self._lock:
            self._looks.append(look)
            if not self._watching:
                self._watching = start = True
            elif self._watch_parked is not None:
                self._watch_parked.release()
                self._watch_parked = None
        if start:
            thread = threading.Thread(target=self._watch, name=f"{self._name}-watch", daemon=True)
            try:
                thread.start()
            except BaseException:
                with self._lock:
                    self._watching = False
                raise

    def _watch(self) -> None:
        parking = threading.Lock()
        parking.acquire()
        pause = SPREAD_AFTER
        while True:
            time.sleep(pause)
            with self._lock:
                looks, self._looks = self._looks, []
            kept = [look for look in looks if _looks_again(look)]
            with self._lock:
                self._looks.extend(kept)
                if self._looks:  # a batch runs (after a shutdown too): look again soon
                    pause = SPREAD_AFTER
                    continue
                if self._shutdown:
                    self._watching = False
                    return
                if looks:  # batches came and went: linger, in one sleep (one GIL hand-off)
                    pause = WATCH_LINGER
                    continue
                self._watch_parked = parking  # quiet for a whole linger: park
            pause = SPREAD_AFTER
            if not parking.acquire(timeout=IDLE_EXIT):
                with self._lock:  # idle too long: leave, unless just woken
                    if self._watch_parked is parking:
                        self._watch_parked = None
                        self._watching = False
                        return
                parking.acquire()  # woken meanwhile: take the wake-up

    def cancel(self, job: Job) -> bool:
        """Drop ``job`` if it has not started (True), else leave it be."""
        with self._lock:
            return job._cancel()

    def abandon(self, job: Job | concurrent.futures.Future[Any]) -> None:
        """Stop waiting for ``job``: cancel it if it has not started, else free its slot
        (its thread finishes the call, discards the result and exits)."""
        if isinstance(job, _Future):
            job = job.job
        assert isinstance(job, Job)
        with self._lock:
            if job._cancel():
                return
            thread = job.thread
            if job.state != RUNNING or thread is None or thread in self._abandoned:
                return  # finished meanwhile
            self._abandoned.add(thread)
            self._counted -= 1
            new = self._spread(len(self._jobs)) if self._jobs else []
        self._launch(new)

    @property
    def busy(self) -> int:
        """Threads counted against ``max_workers`` (running or idle, not abandoned)."""
        return self._counted

    def _work(self) -> None:
        me = threading.current_thread()
        parking = threading.Lock()
        parking.acquire()
        job: Job | None = None
        candidate: Job | None = None
        try:
            while True:
                with self._lock:
                    if job is not None:  # the call just run
                        job.thread = None
                        job = None
                        if me in self._abandoned:
                            return
                        self._looking += 1
                    while self._jobs:
                        candidate = self._jobs.popleft()
                        if candidate._start():  # (a cancelled one is dropped)
                            candidate.thread, job = me, candidate
                            break
                    # A parked thread holds no call: what a call refers to (its tool, its
                    # conversation through a tracing wrapper) must not outlive it here.
                    candidate = None
                    self._looking -= 1
                    if job is None:
                        if self._shutdown:
                            return
                        self._parked.append(parking)
                if job is not None:
                    job._run()
                elif not parking.acquire(timeout=IDLE_EXIT):
                    with self._lock:  # idle too long: leave, unless just woken
                        if parking in self._parked:
                            self._parked.remove(parking)
                            return
                    parking.acquire()  # woken meanwhile: take the wake-up
        finally:
            with self._lock:
                self._threads.discard(me)
                if me in self._abandoned:
                    self._abandoned.discard(me)
                else:
                    self._counted -= 1

    def _wake_all(self) -> None:  # with self._lock held
        """Wake the parked threads (they see the shutdown and leave)."""
        while self._parked:
            self._parked.pop().release()
            self._looking += 1
        if self._watch_parked is not None:
            self._watch_parked.release()
            self._watch_parked = None

    def shutdown_soon(self) -> None:
        """Stop taking calls and let idle threads leave, without ever blocking: for the
        finalizer of this pool's owner, which a garbage collection may run anywhere, in one
        of this pool's own threads while it holds the pool's lock included (taking the lock
        there would wait forever). When the lock is busy, the threads parked right now leave
        at their idle exit (``IDLE_EXIT``) instead of at once."""
        self._shutdown = True  # every thread reads it, under the lock, before it parks
        if not self._lock.acquire(blocking=False):
            return
        try:
            self._wake_all()
        finally:
            self._lock.release()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking calls; with ``wait``, wait for the running ones that were not
        abandoned (abandoned ones are left to finish on their own). Calls still queued run
        first, except, with ``cancel_futures``, those of :meth:`submit` (their futures say so;
        a batch's caller drops its queued calls itself)."""
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                for job in self._jobs:
                    if isinstance(job, _FutureJob):
                        job._cancel()
            self._wake_all()
            threads = [t for t in self._threads if t not in self._abandoned]
        if wait:
            for thread in threads:
                # (a thread another caller is starting right now has no ident yet)
                if thread is not threading.current_thread() and thread.ident is not None:
                    thread.join()

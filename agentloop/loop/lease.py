"""The live-turn lease, driver side: writing journal records with it, and keeping it renewed.

The engine says when a turn holds the lease (``Journal.holding``); each ``Persist`` write takes,
renews or gives it back in the same atomic store write (``write``/``awrite``, the one place the
drivers call ``store.append`` for a journal). Between writes a long tool call or model request
could outlast the lease, so one daemon thread per process renews every held lease at a third
of its length until the turn lets go. A process that dies stops renewing: its lease expires
and another writer may recover the turn. On one machine a dead owner is seen at once (its
process id is gone), so recovery after a crash does not wait for the expiry.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import re
import socket
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from agentloop._defaults import new_id

from .records import Journal

__all__ = ["awrite", "owner_dead", "owner_id", "write"]

log = logging.getLogger("agentloop.stores")

_HOST = socket.gethostname()
_OWNER = re.compile(r"^pid (\d+) on (.+) \(([0-9a-zA-Z_-]+)\)$")


# The journals of this process by owner name: a writer of this process is alive while its
# journal exists and holds the lease (a turn stopped by an exception has let go).
_LOCAL: weakref.WeakValueDictionary[str, Journal] = weakref.WeakValueDictionary()


def owner_id(journal: Journal | None = None) -> str:
    """A new lease owner name: this process and host, and a token for this writer."""
    owner = f"pid {os.getpid()} on {_HOST} ({new_id()[:12]})"
    if journal is not None:
        journal.owner = owner
        _LOCAL[owner] = journal
    return owner


def owner_dead(owner: str) -> bool:
    """True when ``owner`` is a writer on this machine whose process is gone (or a zombie),
    or a writer of this process whose turn is no longer running."""
    match = _OWNER.match(owner)
    if match is None or match.group(2) != _HOST:
        return False
    pid = int(match.group(1))
    if pid == os.getpid():
        journal = _LOCAL.get(owner)
        return journal is None or not journal.live
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # no permission: it exists
        return False
    with (
        contextlib.suppress(OSError, IndexError),
        open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle,
    ):
        return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    return False


def write(store: Any, journal: Journal, meta: dict[str, Any] | None) -> None:
    """``Persist``: write the journal's pending records (and the lease) to ``store``."""
    _written(store, journal, meta, _append(store.append, journal, meta))


async def awrite(store: Any, journal: Journal, meta: dict[str, Any] | None) -> None:
    """Async :func:`write`."""
    _written(store, journal, meta, await _append(store.aappend, journal, meta))


def _append(append: Callable[..., Any], journal: Journal, meta: dict[str, Any] | None) -> Any:
    """``store.append`` (or ``aappend``: then its coroutine) of the journal's pending records
    and its lease, the keywords spelled out: building and unpacking dicts cost about as much
    as the rest of a write."""
    if journal.owner is None:  # a store of an older protocol: no lease
        return append(journal.id, journal.pending, expected_version=journal.version, meta=meta)
    return append(
        journal.id,
        journal.pending,
        expected_version=journal.version,
        meta=meta,
        owner=journal.owner,
        lease_seconds=journal.lease_seconds if journal.holding else 0.0,
        take_over=journal.take_over,
    )


def _written(store: Any, journal: Journal, meta: dict[str, Any] | None, version: int) -> None:
    journal.written(version, meta_written=meta is not None)
    if journal.held:
        _renewer.track(store, journal)


class _Renewer:
    """One daemon thread renewing the held leases of this process."""

    def __init__(self) -> None:
        self._start()

    def _start(self) -> None:
        """Nothing tracked, no thread yet (also in a forked child: the thread is not there)."""
        self._lock = threading.Lock()  # ``track`` takes it directly: no Python-level enter
        self._cond = threading.Condition(self._lock)
        self._due: list[tuple[float, int, Any, Journal]] = []  # (when, order, store, journal)
        self._tracked: set[int] = set()
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def track(self, store: Any, journal: Journal) -> None:
        with self._lock:
            if id(journal) in self._tracked:
                return
            self._tracked.add(id(journal))
            when = time.monotonic() + journal.lease_seconds / 3
            entry = (when, next(self._order), store, journal)
            heapq.heappush(self._due, entry)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="agentloop-lease-renewer", daemon=True
                )
                self._thread.start()
            elif self._due[0] is entry:
                # Due before what the thread waits for (or it waits for nothing). A later
                # entry waits its turn: waking the thread costs a thread switch per new turn.
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._due:
                    self._cond.wait()
                when, _, store, journal = self._due[0]
                wait = when - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._due)
                if not (journal.holding and journal.held):  # the turn let go
                    self._tracked.discard(id(journal))
                    continue
            try:
                renewed = store.renew_lease(
                    journal.id, journal.owner, seconds=journal.lease_seconds
                )
            except Exception as exc:  # a store that fails now may work at the next tick
                log.warning("renewing the live-turn lease of %r failed: %s", journal.id, exc)
                renewed = True
            with self._cond:
                if renewed is None:  # lost (it expired and another writer took it)
                    log.warning("the live-turn lease of %r was lost", journal.id)
                    self._tracked.discard(id(journal))
                    continue
                when = time.monotonic() + journal.lease_seconds / 3
                heapq.heappush(self._due, (when, next(self._order), store, journal))


_renewer = _Renewer()
if hasattr(os, "register_at_fork"):  # a forked child starts afresh (its own thread, if needed)
    os.register_at_fork(after_in_child=_renewer._start)

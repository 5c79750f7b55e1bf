"""``SQLiteStore``: many conversation journals in one SQLite file (WAL), safe for several
threads and several processes."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import functools
import json
import logging
import os
import queue
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from agentloop.errors import InputError, StoreError

from .base import DEFAULT_LEASE_SECONDS, ConversationInfo, StoredConversation, _StoreBase

__all__ = ["SQLiteStore"]

log = logging.getLogger("agentloop.stores")

T = TypeVar("T")

#: ``PRAGMA user_version`` of the current layout. 0 with a ``conversations(id, data, updated)``
#: table is the v1 layout (one JSON snapshot per id), migrated on open; 2 lacks the lease
#: columns (added on open).
SCHEMA_VERSION = 3

_TABLES = (
    """CREATE TABLE IF NOT EXISTS conversations (
        id TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        meta TEXT NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        lease_owner TEXT,
        lease_expires REAL
    )""",
    # No index on ``updated``: every append would rewrite it, and only ``list()`` (rare, a
    # scan and sort of the conversation rows, never of records) needs the order.
    """CREATE TABLE IF NOT EXISTS records (
        conversation_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (conversation_id, seq)
    )""",
)

# Connections inherited through fork() are never used nor closed by the child (closing one
# could checkpoint or unlink the parent's WAL); they are parked here instead.
_INHERITED: list[sqlite3.Connection] = []

# An append's one UPDATE of the conversation row: it changes the row only when the version
# is the expected one and no other writer holds a live lease (``lease_owner IS ?`` is
# ``=`` that also matches NULL, for a writer without a lease name).
_MAY_WRITE = (
    "WHERE id = ? AND version = ? AND (lease_owner IS NULL OR lease_expires IS NULL "
    "OR lease_expires <= ? OR lease_owner IS ? OR lease_owner IS ?)"
)


@functools.cache
def _update(meta: bool, lease: str) -> str:
    """The append's UPDATE: the meta set (``meta``) or kept; the lease kept (``""``), taken or
    renewed (``"hold"``: owner and expiry are parameters) or given back (``"give"``). Values
    that would be None are written into the statement instead: ``sqlite3`` binds a None
    parameter only after looking for an adapter for it (it skips that for str, int, float)."""
    sets = "version = ?, updated = ?"
    if meta:
        sets += ", meta = ?"
    if lease == "hold":
        sets += ", lease_owner = ?, lease_expires = ?"
    elif lease == "give":
        sets += ", lease_owner = NULL, lease_expires = NULL"
    return f"UPDATE conversations SET {sets} {_MAY_WRITE}"


_CREATE = (
    "INSERT OR IGNORE INTO conversations "
    "(id, version, meta, created, updated, lease_owner, lease_expires) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)

_ROWS = 100
"""Records per INSERT statement (2 + ``_ROWS`` parameters at most: below the 999 of an older
SQLite)."""


@functools.lru_cache(maxsize=_ROWS)
def _insert(rows: int) -> str:
    """One INSERT of ``rows`` records: parameter 1 is the id, 2 the seq before the first
    record, 3... the texts (a statement per size, kept in sqlite3's statement cache)."""
    values = ",".join(f"(?1,?2+{n},?{n + 2})" for n in range(1, rows + 1))
    return f"INSERT INTO records (conversation_id, seq, data) VALUES {values}"


# Checkpoints (copying the WAL's pages back into the database file, with a disk sync before
# and after) run in a thread of the store's own, about every ``_CHECKPOINT_BYTES`` written:
# an append waiting for one took 3-6 ms, every ~200 appends. The connection's own automatic
# checkpoint stays on, at ``_WAL_PAGES`` pages, as the bound on the WAL's size: the thread's
# checkpoints never wait for the writers, and the WAL starts over only after a checkpoint
# that no write overlapped, which the writer's own (with little left to copy) is.
_APPEND_BYTES = 4 * 4096  # the pages an append rewrites besides its records' own bytes
_CHECKPOINT_BYTES = 1000 * 4096  # SQLite's default: a checkpoint every 1000 pages
_WAL_PAGES = 4000


class SQLiteStore(_StoreBase):
    """Conversation journals in one SQLite file.

    WAL mode with ``synchronous=NORMAL`` (a committed append survives a process crash; a power
    loss may lose the last appends, never corrupt the file). Each append is one
    ``BEGIN IMMEDIATE`` transaction that checks the version and inserts only the new records;
    checkpoints run in a thread of the store's own (``_Checkpointer``), so an append seldom
    waits for one.
    Writers in other threads or processes wait for the write lock up to ``timeout`` seconds.
    One connection per store object (per process) serves every thread. The async methods run
    the same code on the event loop when no lock is taken (no waiting possible), and in a
    worker thread when they would have to wait, so a lock wait never blocks the event loop.
    A database written by agentloop's first store layout (one JSON snapshot per id) is migrated
    when opened: each conversation becomes one ``{"k":"snapshot","data":...}`` record.

    ``lease_seconds`` is how long the live-turn lease of a conversation running a turn lasts
    unless renewed (see :mod:`agentloop.stores.base`); lease times are this machine's clock.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 30.0,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self.path = Path(path).expanduser()
        self.timeout = float(timeout)
        self._check_lease("-", lease_seconds)
        if not lease_seconds:
            raise InputError("lease_seconds must be > 0 (how long a live-turn lease lasts)")
        self.lease_seconds = float(lease_seconds)
        self._lock = threading.Lock()
        self._local = _Local()
        self._db: sqlite3.Connection | None = None
        self._cursor: sqlite3.Cursor | None = None  # appends' own, reused (``_append``)
        self._pid = os.getpid()
        self._closed = False
        self._checkpoints = self._checkpointer()
        self._unsaved = 0  # about how many bytes the WAL took since the last checkpoint
        with self._lock:
            self._connection()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # --- connection ---------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """The open connection (opened, and the file migrated, on first use). Hold the lock."""
        if self._closed:
            raise StoreError(f"{self!r} is closed; open a new store to use the database again")
        if self._db is None:
            self._db = self._guard("opening the database", self._open)
        return self._db

    def _checkpointer(self) -> _Checkpointer | None:
        if str(self.path) == ":memory:":  # no WAL
            return None
        # The file as opened now, whatever the working folder later; never created anew.
        uri = self.path.resolve().as_uri() + "?mode=rw"
        checkpoints = _Checkpointer(uri, self.timeout)
        weakref.finalize(self, checkpoints.stop)  # a store dropped unclosed: its thread ends
        return checkpoints

    def _open(self) -> sqlite3.Connection:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            str(self.path), timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute(f"PRAGMA wal_autocheckpoint = {_WAL_PAGES}")
            self._migrate(db)
        except BaseException:
            db.close()
            raise
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        current = db.execute("PRAGMA user_version").fetchone()[0]
        if current == SCHEMA_VERSION:
            return
        try:
            db.execute("BEGIN IMMEDIATE")
            current = db.execute("PRAGMA user_version").fetchone()[0]  # another process won?
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"{self!r} was written by a newer agentloop (store layout {current}; this "
                    f"version reads up to {SCHEMA_VERSION}); upgrade agentloop to open it"
                )
            if current < SCHEMA_VERSION:
                columns = {row[1] for row in db.execute("PRAGMA table_info(conversations)")}
                legacy = "data" in columns
                if legacy:
                    db.execute("ALTER TABLE conversations RENAME TO conversations_v1")
                for statement in _TABLES:
                    db.execute(statement)
                columns = {row[1] for row in db.execute("PRAGMA table_info(conversations)")}
                for column, kind in (("lease_owner", "TEXT"), ("lease_expires", "REAL")):
                    if column not in columns:  # layout 2: no live-turn lease yet
                        db.execute(f"ALTER TABLE conversations ADD COLUMN {column} {kind}")
                if legacy:
                    self._migrate_v1(db)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _migrate_v1(self, db: sqlite3.Connection) -> None:
        rows = db.execute("SELECT id, data, updated FROM conversations_v1").fetchall()
        for id, data, updated in rows:
            try:
                valid = isinstance(json.loads(data), dict)
            except (TypeError, ValueError):
                valid = False
            if not valid:
                raise StoreError(
                    f"{self!r}: the saved conversation {id!r} (old layout) is not a JSON "
                    "object, so the database cannot be migrated; nothing was changed. Delete "
                    f"that row (DELETE FROM conversations WHERE id = '{id}') and open it again"
                )
            # The old text goes in verbatim: no re-encoding, so nothing about it changes.
            record = '{"k":"snapshot","data":' + data + "}"
            db.execute(
                "INSERT INTO conversations (id, version, meta, created, updated) "
                "VALUES (?, 1, '{}', ?, ?)",
                (id, updated, updated),
            )
            db.execute(
                "INSERT INTO records (conversation_id, seq, data) VALUES (?, 1, ?)", (id, record)
            )
        db.execute("DROP TABLE conversations_v1")
        if rows:
            log.info("migrated %d conversations of %r to store layout %d", len(rows), self, 2)

    def _run(self, what: str, fn: Any, *args: Any) -> Any:
        """Run ``fn(db, *args)`` under the lock, with sqlite3 errors turned into StoreError.

        In no-wait mode (the async methods' first try, on the event loop) it raises
        ``_WouldBlock`` instead of waiting for the thread lock or the database write lock.
        """
        self._forked()
        if not self._local.nowait:
            with self._lock:
                return self._guard(what, fn, self._connection(), *args)
        if not self._lock.acquire(blocking=False):
            raise _WouldBlock
        try:
            db = self._connection()
            db.execute("PRAGMA busy_timeout = 0")
            try:
                return self._guard(what, fn, db, *args)
            finally:
                db.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        finally:
            self._lock.release()

    def _forked(self) -> None:
        """In a child process after fork(): park the parent's connection, start afresh."""
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._lock = threading.Lock()
            self._local = _Local()
            if self._db is not None:
                _INHERITED.append(self._db)
                self._db = self._cursor = None
            if self._checkpoints is not None:
                self._checkpoints.orphan()
                self._checkpoints = self._checkpointer()

    async def _async(self, call: Callable[[], T]) -> T:
        """Run a sync method for an async one: right here when no lock is held by anyone
        (the common case, ~100 µs cheaper than a thread hop), else in a worker thread so that
        waiting for another writer never blocks the event loop."""
        self._local.nowait = True
        try:
            return call()
        except _WouldBlock:
            pass
        finally:
            self._local.nowait = False
        return await asyncio.to_thread(call)

    def _guard(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except sqlite3.OperationalError as exc:
            if self._local.nowait and _is_busy(exc):
                raise _WouldBlock from None
            raise StoreError(f"{self!r} failed while {what}: {exc}; {_hint(exc, self)}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"{self!r} failed while {what}: {exc}; {_hint(exc, self)}") from exc
        except UnicodeEncodeError as exc:
            raise InputError(
                f"a record or id is not valid Unicode ({exc.reason}); records are JSON texts: "
                "json.dumps() them (ensure_ascii=True escapes lone surrogates)"
            ) from None
        except OSError as exc:
            raise StoreError(
                f"{self!r} failed while {what}: {exc}; check that the folder exists and is writable"
            ) from exc

    # --- writing ------------------------------------------------------------------------------

    def append(
        self,
        id: str,
        records: Sequence[str],
        *,
        expected_version: int,
        meta: Mapping[str, Any] | None = None,
        owner: str | None = None,
        lease_seconds: float | None = None,
        take_over: str | None = None,
    ) -> int:
        """Append ``records`` iff the stored version is ``expected_version`` and no other
        writer holds a live lease; see the protocol."""
        records = self._check_append(id, records, expected_version, owner, lease_seconds)
        meta_text = self._meta_text(meta)
        lease = (owner, lease_seconds, take_over)
        version: int = self._run(
            f"appending to {id!r}", self._append, id, records, expected_version, meta_text, lease
        )
        return version

    def _append(
        self,
        db: sqlite3.Connection,
        id: str,
        records: Sequence[str],
        expected: int,
        meta_text: str | None,
        lease: tuple[str | None, float | None, str | None],
    ) -> int:
        owner, seconds, take_over = lease
        version = expected + len(records)
        # One cursor for every append (each is done with its statements before the next, under
        # the lock): db.execute would make a cursor per statement, four per append.
        cursor = self._cursor
        if cursor is None or cursor.connection is not db:
            cursor = self._cursor = db.cursor()
        try:  # (BEGIN inside: a Ctrl-C as it returns must not leave the transaction open)
            cursor.execute("BEGIN IMMEDIATE")
            now = time.time()  # after any wait for the write lock: the lease check's clock
            # The version and lease checks are the UPDATE's condition: one statement, and
            # the reason is looked up only when it changes nothing (``_refused``).
            # ``lease_owner IS ?`` with a None take_over repeats ``lease_owner IS NULL``:
            # the owner in its place (when there is one) is the same condition.
            if take_over is None and owner is not None:
                take_over = owner
            may_write = (id, expected, now, owner, take_over)
            held_by: str | None = None  # a new row has no lease; a stored one keeps its own
            expires: float | None = None
            values: tuple[Any, ...] = (
                (version, now) if meta_text is None else (version, now, meta_text)
            )
            if owner is not None and seconds is not None:  # take, renew or give back
                if seconds > 0:
                    held_by, expires = owner, now + seconds
                    sql = _update(meta_text is not None, "hold")
                    values += (held_by, expires)
                else:
                    sql = _update(meta_text is not None, "give")
            else:
                sql = _update(meta_text is not None, "")
            changed = cursor.execute(sql, values + may_write).rowcount
            if not changed and expected == 0:  # a new conversation
                changed = cursor.execute(
                    _CREATE, (id, version, meta_text or "{}", now, now, held_by, expires)
                ).rowcount
            if not changed:
                raise self._refused(db, id, expected, owner, take_over, now)
            for start in range(0, len(records), _ROWS):
                chunk = records[start : start + _ROWS]
                cursor.execute(_insert(len(chunk)), (id, expected + start, *chunk))
            cursor.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self._unsaved += _APPEND_BYTES + sum(map(len, records))
        if self._unsaved >= _CHECKPOINT_BYTES and self._checkpoints is not None:
            self._unsaved = 0
            self._checkpoints.wake()
        return version

    def _refused(
        self,
        db: sqlite3.Connection,
        id: str,
        expected: int,
        owner: str | None,
        take_over: str | None,
        now: float,
    ) -> Exception:
        """Why an append's UPDATE changed nothing: another writer's live lease, else a
        version other than ``expected``."""
        row = db.execute(
            "SELECT version, lease_owner, lease_expires FROM conversations WHERE id = ?", (id,)
        ).fetchone()
        if row is None:
            return self._conflict(id, expected, 0)
        actual, held_by, expires = row
        live = held_by is not None and expires is not None and expires > now
        if live and held_by not in (owner, take_over):
            return self._busy(id, held_by, float(expires), now)
        return self._conflict(id, expected, int(actual))

    def renew_lease(self, id: str, owner: str, *, seconds: float) -> float | None:
        """Extend ``owner``'s lease on ``id``; the new expiry, or ``None`` if not held."""
        self._check_id(id)
        self._check_lease(owner, seconds)

        def renew(db: sqlite3.Connection) -> float | None:
            expires = time.time() + seconds
            cursor = db.execute(
                "UPDATE conversations SET lease_expires = ? WHERE id = ? AND lease_owner = ?",
                (expires, id, owner),
            )
            return expires if cursor.rowcount > 0 else None

        renewed: float | None = self._run(f"renewing the lease of {id!r}", renew)
        return renewed

    def delete(self, id: str) -> bool:
        """Delete a conversation and its records; ``False`` if there was none."""
        self._check_id(id)
        deleted: bool = self._run(f"deleting {id!r}", self._delete, id)
        return deleted

    @staticmethod
    def _delete(db: sqlite3.Connection, id: str) -> bool:
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM records WHERE conversation_id = ?", (id,))
            found = db.execute("DELETE FROM conversations WHERE id = ?", (id,)).rowcount > 0
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return found

    # --- reading ------------------------------------------------------------------------------

    def read(self, id: str, *, after: int = 0) -> StoredConversation:
        """The conversation with its records after position ``after``; see the protocol."""
        self._check_id(id)
        self._check_after(after)
        stored: StoredConversation | None = self._run(f"reading {id!r}", self._read, id, after)
        if stored is None:
            raise self._not_found(id)
        return stored

    def _read(self, db: sqlite3.Connection, id: str, after: int) -> StoredConversation | None:
        try:
            db.execute("BEGIN")  # one snapshot for both queries (inside: see _append)
            row = db.execute(
                "SELECT version, meta, created, updated, lease_owner, lease_expires "
                "FROM conversations WHERE id = ?",
                (id,),
            ).fetchone()
            if row is None:
                return None
            cursor = db.execute(
                "SELECT data FROM records WHERE conversation_id = ? AND seq > ? ORDER BY seq",
                (id, after),
            )
            records = [r[0] for r in cursor]
        finally:
            if db.in_transaction:
                db.execute("COMMIT")
        live = row[4] is not None and row[5] is not None and row[5] > time.time()
        return StoredConversation(
            id=id,
            version=int(row[0]),
            records=records,
            meta=self._meta_dict(row[1], id),
            created=float(row[2]),
            updated=float(row[3]),
            lease_owner=row[4] if live else None,
            lease_expires=float(row[5]) if live else None,
        )

    def version(self, id: str) -> int:
        """The stored version (number of records); 0 if there is no such conversation."""
        self._check_id(id)
        row = self._run(
            f"reading {id!r}",
            lambda db: db.execute(
                "SELECT version FROM conversations WHERE id = ?", (id,)
            ).fetchone(),
        )
        return 0 if row is None else int(row[0])

    def __contains__(self, id: object) -> bool:
        if not isinstance(id, str):
            return False
        row = self._run(
            f"reading {id!r}",
            lambda db: db.execute("SELECT 1 FROM conversations WHERE id = ?", (id,)).fetchone(),
        )
        return row is not None

    def list(self) -> builtins.list[ConversationInfo]:
        """Every stored conversation, most recently updated first."""
        rows = self._run(
            "listing conversations",
            lambda db: db.execute(
                "SELECT id, version, created, updated, meta FROM conversations "
                "ORDER BY updated DESC, id"
            ).fetchall(),
        )
        return [
            ConversationInfo(
                id=r[0],
                version=int(r[1]),
                created=float(r[2]),
                updated=float(r[3]),
                meta=self._meta_dict(r[4], r[0]),
            )
            for r in rows
        ]

    def close(self) -> None:
        """Close the connection (idempotent); later calls raise ``StoreError``."""
        self._forked()
        with self._lock:
            self._closed = True
            if self._checkpoints is not None:
                self._checkpoints.close()  # first: the last connection to close checkpoints
            db, self._db, self._cursor = self._db, None, None
            if db is not None:
                db.close()

    # --- async: the same code, on the loop when it cannot block, else in a worker thread ---

    async def aappend(
        self,
        id: str,
        records: Sequence[str],
        *,
        expected_version: int,
        meta: Mapping[str, Any] | None = None,
        owner: str | None = None,
        lease_seconds: float | None = None,
        take_over: str | None = None,
    ) -> int:
        """Async :meth:`append`."""
        return await self._async(
            lambda: self.append(
                id,
                records,
                expected_version=expected_version,
                meta=meta,
                owner=owner,
                lease_seconds=lease_seconds,
                take_over=take_over,
            )
        )

    async def arenew_lease(self, id: str, owner: str, *, seconds: float) -> float | None:
        """Async :meth:`renew_lease`."""
        return await self._async(lambda: self.renew_lease(id, owner, seconds=seconds))

    async def aread(self, id: str, *, after: int = 0) -> StoredConversation:
        """Async :meth:`read`."""
        return await self._async(lambda: self.read(id, after=after))

    async def aversion(self, id: str) -> int:
        """Async :meth:`version`."""
        return await self._async(lambda: self.version(id))

    async def alist(self) -> builtins.list[ConversationInfo]:
        """Async :meth:`list`."""
        return await self._async(self.list)

    async def adelete(self, id: str) -> bool:
        """Async :meth:`delete`."""
        return await self._async(lambda: self.delete(id))

    async def aclose(self) -> None:
        """Async :meth:`close`."""
        self.close()


class _Checkpointer:
    """A store's checkpoints in a daemon thread of their own, on a connection of their own
    (``PRAGMA wal_checkpoint(PASSIVE)``: it copies what it can without waiting for any
    reader or writer). Started by the first ``wake``."""

    def __init__(self, uri: str, timeout: float) -> None:
        self.uri, self.timeout = uri, timeout
        self.db: sqlite3.Connection | None = None  # opened by the thread
        # Wake-ups. A SimpleQueue, not an Event: ``stop`` runs as the store's finalizer,
        # which a garbage collection may run in any thread, this one inside Event.wait's
        # locked section included; SimpleQueue.put takes no lock that could be held there.
        self._wanted: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._closing = False
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Checkpoint soon (the caller holds the store's lock). Never raises: it runs after
        an append committed."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="agentloop-sqlite-checkpoints", daemon=True
            )
            try:
                self._thread.start()
            except RuntimeError as exc:  # no thread to be had: the writer's checkpoints remain
                log.warning("%s: no checkpoint thread (%s)", self.uri, exc)
                self._closing = True
                return
        self._wanted.put(None)

    def _run(self) -> None:
        try:
            self.db = sqlite3.connect(
                self.uri,
                timeout=self.timeout,
                isolation_level=None,
                check_same_thread=False,
                uri=True,
            )
        except sqlite3.Error as exc:  # the writer's own checkpoints still bound the WAL
            log.warning("%s: no checkpoint thread (%s)", self.uri, exc)
            return
        while True:
            self._wanted.get()
            with contextlib.suppress(queue.Empty):  # the wake-ups meanwhile: one checkpoint
                while True:
                    self._wanted.get_nowait()
            if self._closing:
                break
            try:
                self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:
                log.debug("%s: checkpoint failed (%s); the next one tries again", self.uri, exc)
        self.db.close()

    def stop(self) -> None:
        """Let the thread end (after the checkpoint under way), closing its connection.
        Never blocks (the store's finalizer)."""
        self._closing = True
        self._wanted.put(None)

    def close(self) -> None:
        """``stop``, and wait for the thread to end."""
        self.stop()
        if self._thread is not None and self._thread.ident is not None:
            self._thread.join()

    def orphan(self) -> None:
        """In a forked child: the thread is not here, and its connection is the parent's."""
        if self.db is not None:
            _INHERITED.append(self.db)


class _Local(threading.local):
    """A store's per-thread state: ``nowait`` is True while an async method runs its first,
    no-wait try on the event loop (a class default: no exception raised to read it)."""

    nowait = False


class _WouldBlock(Exception):
    """No-wait mode met a lock: nothing was done; run the call again in a thread."""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return (int(code) & 0xFF) in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (+ extended codes)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _hint(exc: sqlite3.Error, store: SQLiteStore) -> str:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return (
            f"another process held the write lock longer than {store.timeout:g} s; retry, or "
            "open the store with a longer timeout: SQLiteStore(path, timeout=...)"
        )
    if "not a database" in text or "malformed" in text:
        return "the file is not an intact SQLite database; point the store at another file"
    if "unable to open" in text or "readonly" in text or "read-only" in text:
        return "check that the folder exists and that this user may write the file"
    if "disk" in text or "full" in text:
        return "check the free disk space"
    return "check the database file and its permissions"

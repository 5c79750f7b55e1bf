"""What only ``SQLiteStore`` does: WAL, the v1 layout migration, its error messages."""

from __future__ import annotations

import asyncio
import gc
import json
import multiprocessing
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from agentloop import Conversation
from agentloop.errors import StoreError, TurnInProgressError
from agentloop.stores import SQLiteStore
from agentloop.stores import sqlite as sqlite_store
from agentloop.testing import Emulator, ScriptedModel

# The v1 layout exactly as agentloop's first SQLiteStore created and filled it.
V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    updated REAL NOT NULL
)
"""


def write_v1(path: Path, rows: dict[str, str], updated: float = 1_700_000_000.5) -> None:
    with sqlite3.connect(path) as db:
        db.execute(V1_SCHEMA)
        for n, (id, text) in enumerate(rows.items()):
            db.execute(
                "INSERT INTO conversations (id, data, updated) VALUES (?, ?, ?)",
                (id, text, updated + n),
            )
    sqlite3.connect(path).close()


def v1_snapshot(text: str) -> tuple[Conversation, str]:
    """A real conversation and its v1 row text (``json.dumps(to_dict(), ensure_ascii=False)``)."""
    reply = [{"type": "model_output", "content": [{"type": "text", "text": f"re: {text}"}]}]
    emu = Emulator(model=ScriptedModel([reply]))
    conv = Conversation(emu.client(), id="old", system_instruction="Sé breve ✓")
    conv.send(text)
    return conv, json.dumps(conv.to_dict(), ensure_ascii=False)


def test_wal_and_normal_sync(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        store.append("a", ["{}"], expected_version=0)
    db = sqlite3.connect(tmp_path / "s.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == 3
    assert db.execute("SELECT conversation_id, seq, data FROM records").fetchall() == [
        ("a", 1, "{}")
    ]


def test_a_v1_database_is_migrated_to_one_snapshot_record_each(tmp_path: Path) -> None:
    conv, text = v1_snapshot("héllo 🎉")
    path = tmp_path / "v1.db"
    write_v1(path, {"old": text, "other": '{"format": "agentloop.conversation", "id": "x"}'})

    with SQLiteStore(path) as store:
        assert store.ids() == ["other", "old"]  # v1 `updated` kept, newest first
        stored = store.read("old")
        assert (stored.version, stored.meta) == (1, {})
        assert stored.created == stored.updated == 1_700_000_000.5
        (record,) = stored.records
        assert record == '{"k":"snapshot","data":' + text + "}"  # old text verbatim
        assert json.loads(record) == {"k": "snapshot", "data": conv.to_dict()}
        # It goes on as a journal.
        assert store.append("old", ['{"k":"next"}'], expected_version=1) == 2

    with SQLiteStore(path) as again:  # opening again migrates nothing twice
        assert again.read("old").records == [record, '{"k":"next"}']
        assert again.version("other") == 1
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert "conversations_v1" not in tables


def test_a_migrated_conversation_loads(tmp_path: Path) -> None:
    conv, text = v1_snapshot("remember 42")
    path = tmp_path / "v1.db"
    write_v1(path, {"old": text})
    with SQLiteStore(path) as store:
        loaded = store.load("old", client=Emulator().client())
    assert loaded.id == "old" and loaded.system_instruction == "Sé breve ✓"
    assert [s.model_dump() for s in loaded.history] == [s.model_dump() for s in conv.history]
    assert len(loaded.history) == 2


def test_a_broken_v1_row_stops_the_migration_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    write_v1(path, {"good": '{"id": "good"}', "bad": "not json {"})
    with pytest.raises(StoreError, match=r"'bad'.*cannot be migrated.*DELETE FROM conversations"):
        SQLiteStore(path)
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM conversations").fetchone()[0] == 2
    assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    db.execute("DELETE FROM conversations WHERE id = 'bad'")
    db.commit()
    db.close()
    # The fix the message gives works:
    with SQLiteStore(path) as store:
        assert store.ids() == ["good"]


def test_a_newer_layout_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 9")
    with pytest.raises(StoreError, match=r"newer agentloop.*upgrade"):
        SQLiteStore(path)


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some notes, not SQLite " * 100)
    with pytest.raises(StoreError, match="not an intact SQLite database") as info:
        SQLiteStore(path)
    assert not isinstance(info.value, sqlite3.Error)


def test_a_writer_holding_the_lock_too_long(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as first:
        first.append("a", ["{}"], expected_version=0)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        with SQLiteStore(path, timeout=0.05) as store:
            with pytest.raises(StoreError, match=r"longer than 0.05 s.*timeout=") as info:
                store.append("a", ['{"n":2}'], expected_version=1)
            assert "'a'" in str(info.value)
            assert store.read("a").records == ["{}"]  # readers are not blocked (WAL)
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_repr_and_folder_creation(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "s.db"
    with SQLiteStore(path) as store:
        assert repr(store) == f"SQLiteStore({str(path)!r})"
        assert store.ids() == []
    assert path.exists()


async def test_async_waits_for_another_writer_without_blocking_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path, timeout=10)
    await store.aappend("a", ["{}"], expected_version=0)  # uncontended: runs on the loop
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process is writing
    try:
        task = asyncio.create_task(store.aappend("a", ['{"n":2}'], expected_version=1))
        ticks = 0
        for _ in range(20):  # the loop keeps running while the append waits for the lock
            await asyncio.sleep(0.005)
            ticks += 1
        assert not task.done() and ticks == 20
        with SQLiteStore(path) as reader:  # readers do not wait for writers (WAL)
            assert (await reader.aread("a")).records == ["{}"]
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await task == 2
    assert (await store.aread("a")).records == ["{}", '{"n":2}']
    await store.aclose()


@pytest.mark.parametrize("size", [1, 99, 100, 101, 250])
def test_one_append_of_many_records_keeps_their_order(tmp_path: Path, size: int) -> None:
    """An append's records go in by INSERTs of up to 100 rows: the seq numbers run on
    across them."""
    texts = [json.dumps({"n": n, "text": "é" * (n % 7)}, ensure_ascii=False) for n in range(size)]
    with SQLiteStore(tmp_path / "s.db") as store:
        assert store.append("c", ['{"first":1}'], expected_version=0) == 1
        assert store.append("c", texts, expected_version=1) == size + 1
        assert store.read("c").records == ['{"first":1}', *texts]
    rows = sqlite3.connect(tmp_path / "s.db").execute(
        "SELECT seq FROM records WHERE conversation_id = 'c' ORDER BY seq"
    )
    assert [seq for (seq,) in rows] == list(range(1, size + 2))


def test_an_owner_without_lease_seconds_keeps_the_stored_lease(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as store:
        store.append("k", ["{}"], expected_version=0, owner="pid 1 on a (x)", lease_seconds=60)
        expires = store.read("k").lease_expires
        assert store.append("k", ["{}"], expected_version=1, owner="pid 1 on a (x)") == 2
        stored = store.read("k")
        assert (stored.lease_owner, stored.lease_expires) == ("pid 1 on a (x)", expires)
        # A writer without a lease at all cannot write past it.
        with pytest.raises(TurnInProgressError):
            store.append("k", ["{}"], expected_version=2)
        # An empty conversation's row (version 0) under another's live lease is refused too.
        store.append("e", [], expected_version=0, owner="pid 1 on a (x)", lease_seconds=60)
        with pytest.raises(TurnInProgressError):
            store.append("e", ["{}"], expected_version=0, owner="pid 2 on b (y)", lease_seconds=9)
        assert store.version("e") == 0


def _checkpointed(path: Path) -> list[str]:
    """The records in the database file itself, without the WAL (``immutable``: read as is).

    An ``immutable`` reader takes no lock, so it may see the file while the checkpoint thread
    is copying pages into it ("database disk image is malformed"): that reads as "not yet",
    and the caller looks again (a file left really damaged never matches)."""
    db = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return [data for (data,) in db.execute("SELECT data FROM records ORDER BY seq")]
    except sqlite3.DatabaseError:  # the tables are not in the file yet, or a page is mid-copy
        return []
    finally:
        db.close()


def _checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "agentloop-sqlite-checkpoints"]


def test_checkpoints_run_in_a_thread_of_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The WAL is copied into the database file by the store's own thread (an append never
    waits for it), which closes with the store; the WAL stays bounded by the connection's
    own checkpoints."""
    monkeypatch.setattr(sqlite_store, "_CHECKPOINT_BYTES", 3 * sqlite_store._APPEND_BYTES)
    path = tmp_path / "s.db"
    before = len(_checkpoint_threads())
    texts = [json.dumps({"n": n}) for n in range(6)]
    with SQLiteStore(path) as store:
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000  # a new connection
        assert store._db is not None
        assert store._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 4000
        db.close()
        for n, text in enumerate(texts):
            store.append("c", [text], expected_version=n)
        assert len(_checkpoint_threads()) == before + 1
        deadline = time.monotonic() + 60  # a bound for a hung thread, not a timing check
        while _checkpointed(path) != texts:
            assert time.monotonic() < deadline, "the checkpoint thread copied nothing"
            time.sleep(0.01)
        assert store.read("c").records == texts
    assert len(_checkpoint_threads()) == before
    assert not Path(f"{path}-wal").exists()  # the last connection closed checkpoints it all


def test_few_appends_start_no_thread(tmp_path: Path) -> None:
    before = len(_checkpoint_threads())
    with SQLiteStore(tmp_path / "s.db") as store:
        for n in range(20):
            store.append("c", ["{}"], expected_version=n)
        assert len(_checkpoint_threads()) == before


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_leaves_the_parents_checkpoint_connection_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "_CHECKPOINT_BYTES", 1)  # every append wakes the thread
    ctx = multiprocessing.get_context("fork")
    with SQLiteStore(tmp_path / "s.db") as store:
        store.append("fork", ['{"by":"parent"}'], expected_version=0)
        checkpoints = store._checkpoints
        assert checkpoints is not None
        deadline = time.monotonic() + 60  # a bound for a hung thread, not a timing check
        while checkpoints.db is None:  # the thread opens its connection first
            assert time.monotonic() < deadline
            time.sleep(0.001)
        child = ctx.Process(target=_child_appends, args=(store,))
        child.start()
        child.join(60)
        assert child.exitcode == 0
        store.append("fork", ['{"by":"parent"}'], expected_version=3)
        assert store._checkpoints is checkpoints  # the parent's own, still running
        assert store.read("fork").records == [
            '{"by":"parent"}',
            *['{"by":"child"}'] * 2,
            '{"by":"parent"}',
        ]


def _child_appends(store: SQLiteStore) -> None:
    parents = store._checkpoints
    assert parents is not None and parents.db is not None
    store.append("fork", ['{"by":"child"}'], expected_version=1)
    assert parents.db in sqlite_store._INHERITED  # parked: never used, never closed here
    assert store._checkpoints is not parents
    store.append("fork", ['{"by":"child"}'], expected_version=2)
    store.close()


def test_a_store_dropped_unclosed_lets_its_checkpoint_thread_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "_CHECKPOINT_BYTES", 1)  # the first append starts it
    before = set(_checkpoint_threads())
    store = SQLiteStore(tmp_path / "s.db")
    store.append("c", ["{}"], expected_version=0)
    (thread,) = set(_checkpoint_threads()) - before
    del store
    gc.collect()
    thread.join(60)  # a bound for a hung thread, not a timing check
    assert not thread.is_alive()


def test_the_checkpoint_thread_opens_the_stores_file_wherever_the_process_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "_CHECKPOINT_BYTES", 1)
    (tmp_path / "here").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    with SQLiteStore("s.db") as store:  # a relative path
        monkeypatch.chdir(tmp_path / "elsewhere")
        store.append("c", ['{"n":1}'], expected_version=0)
        deadline = time.monotonic() + 60  # a bound for a hung thread, not a timing check
        while _checkpointed(tmp_path / "here" / "s.db") != ['{"n":1}']:
            assert time.monotonic() < deadline, "the checkpoint thread copied nothing"
            time.sleep(0.01)
    assert not (tmp_path / "elsewhere" / "s.db").exists()


def test_ctrl_c_right_after_begin_leaves_no_transaction_open(tmp_path: Path) -> None:
    """A KeyboardInterrupt raised as ``BEGIN IMMEDIATE`` returns rolls the transaction back:
    the store (and other connections) can still read and write."""
    path = tmp_path / "c.db"
    store = SQLiteStore(path)
    store.append("c1", ["{}"], expected_version=0)  # (makes the store's cursor)

    class Cursor:
        def __init__(self, real: sqlite3.Cursor) -> None:
            self.real, self.connection, self.armed = real, real.connection, True

        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
            result = self.real.execute(sql, *args)
            if sql == "BEGIN IMMEDIATE" and self.armed:
                self.armed = False
                raise KeyboardInterrupt  # as a SIGINT handled right after the call returns
            return result

    store._cursor = Cursor(store._cursor)  # type: ignore[assignment]
    with pytest.raises(KeyboardInterrupt):
        store.append("c1", ["{}"], expected_version=1)
    assert store.read("c1") is not None and store.version("c1") == 1
    assert store.append("c1", ["{}"], expected_version=1) == 2
    other = sqlite3.connect(path, timeout=0.5)
    try:
        other.execute("BEGIN IMMEDIATE")  # the write lock was not left held
        other.execute("ROLLBACK")
    finally:
        other.close()
    store.close()


def test_a_new_conversation_on_an_id_the_store_has_says_how_to_go_on_with_it(
    tmp_path: Path,
) -> None:
    from agentloop import Conversation
    from agentloop.errors import ConflictError
    from agentloop.testing import Emulator

    store = SQLiteStore(tmp_path / "tasks.db")
    client = Emulator().client()
    Conversation(client, store=store, id="task-42").send("hello")
    with pytest.raises(ConflictError, match=r"already exists .* store\.load\('task-42'"):
        Conversation(client, store=store, id="task-42")  # (a script run a second time)
    again = store.load("task-42", client=client)
    assert again.send("and again").status == "completed"


async def test_loading_with_an_async_client_gives_an_async_conversation(tmp_path: Path) -> None:
    from agentloop import Agent, AsyncConversation
    from agentloop.testing import Emulator

    store = SQLiteStore(tmp_path / "s.db")
    emu = Emulator()
    Conversation(emu.client(), store=store, id="c").send("hello")
    for extra in ({}, {"agent": Agent("a", instructions="Be brief.")}):
        loaded = store.load("c", client=emu.async_client(), **extra)
        assert isinstance(loaded, AsyncConversation)
        assert (await loaded.send("again")).status == "completed"
        await loaded.aclose()

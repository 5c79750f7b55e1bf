"""Conversation stores: append of 3 journal records and read of a 1000-record conversation, on
SQLite (a file in a temporary folder, WAL) and PostgreSQL over loopback (from
``AGENTLOOP_TEST_POSTGRES_DSN``, in a temporary schema dropped afterwards; skipped when unset).

The tool-step rows run ``bench_tools``' sync turn (10 tool calls, then text) journaling to
the store (the target for SQLite: at most 30 µs per step above the same step with no store),
next to the same turn with no store. A turn makes four store writes (the lease and the input
before the request; the response and its calls' "started" before a tool runs; the results
before the next request; the final response).

Each append figure sits next to the bare driver doing the least the same job needs (the
"peer" column): SQLite ``BEGIN IMMEDIATE`` + ``executemany`` of the 3 rows + ``COMMIT``;
PostgreSQL one autocommit ``INSERT`` of the 3 rows. The store adds the version check, the
conversation row update and the error handling on top.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable
from typing import Any

from _harness import Row, interleaved, interleaved_batches, us

DSN_ENV = "AGENTLOOP_TEST_POSTGRES_DSN"


def journal_records(n: int) -> list[str]:
    """``n`` record texts shaped like journal records (a few hundred bytes each)."""
    out = []
    for i in range(n):
        step = (
            {
                "type": "function_call",
                "id": f"call_{i}",
                "name": "search",
                "arguments": {"query": f"news {i}", "limit": 5},
            }
            if i % 2 == 0
            else {
                "type": "function_result",
                "call_id": f"call_{i - 1}",
                "name": "search",
                "result": f"Five results about topic {i}: alpha, beta, gamma, delta, epsilon.",
            }
        )
        out.append(json.dumps({"kind": "step", "turn": i // 10, "step": step}))
    return out


class _Appender:
    """Appends 3 records per call to one conversation, tracking the version."""

    def __init__(self, store: Any, conv_id: str) -> None:
        self.store, self.id, self.version = store, conv_id, 0
        self.records = journal_records(3)
        self.loop: asyncio.AbstractEventLoop | None = None

    def __call__(self) -> None:
        self.version = self.store.append(self.id, self.records, expected_version=self.version)

    def batch(self, n: int) -> None:
        async def go() -> None:
            for _ in range(n):
                self.version = await self.store.aappend(
                    self.id, self.records, expected_version=self.version
                )

        if self.loop is None:  # one loop for every batch: PostgreSQL keeps its connection
            self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(go())

    def close(self) -> None:
        if self.loop is not None:
            self.loop.run_until_complete(self.store.aclose())
            self.loop.close()


def _read_rows(label: str, store: Any, quick: bool) -> Row:
    store.append("read-1000", journal_records(1000), expected_version=0)
    times = interleaved(
        {"read": lambda: store.read("read-1000")}, n=3 if quick else 10, repeats=3 if quick else 7
    )
    per_record = times["read"] / 1000
    return Row(
        f"store read of a 1000-record conversation, {label}",
        f"{us(per_record)} per record",
        "",
        "",
        "",
        None,
        note=f"{us(times['read'])} per read",
        values={"per_record_s": per_record, "read_s": times["read"]},
    )


def _append_row(
    label: str,
    store_append: Callable[[], None],
    raw: Callable[[], None],
    raw_label: str,
    quick: bool,
) -> Row:
    times = interleaved(
        {"store": store_append, "raw": raw}, n=50 if quick else 300, repeats=3 if quick else 9
    )
    ratio = times["store"] / times["raw"]
    return Row(
        f"store append of 3 records, {label}",
        us(times["store"]),
        f"{raw_label} {us(times['raw'])}",
        f"{ratio:.2f}x",
        "",
        None,
        values={"store_s": times["store"], "raw_s": times["raw"], "ratio": ratio},
    )


def sqlite_rows(quick: bool) -> list[Row]:
    from agentloop.stores import SQLiteStore

    folder = tempfile.mkdtemp(prefix="agentloop-bench-")
    try:
        store = SQLiteStore(os.path.join(folder, "store.db"))
        raw_db = sqlite3.connect(os.path.join(folder, "raw.db"), isolation_level=None)
        raw_db.execute("PRAGMA journal_mode = WAL")
        raw_db.execute("PRAGMA synchronous = NORMAL")
        raw_db.execute(
            "CREATE TABLE records (conversation_id TEXT NOT NULL, seq INTEGER NOT "
            "NULL, data TEXT NOT NULL, PRIMARY KEY (conversation_id, seq))"
        )
        records = journal_records(3)
        seq = [0]

        def raw() -> None:
            raw_db.execute("BEGIN IMMEDIATE")
            raw_db.executemany(
                "INSERT INTO records VALUES (?, ?, ?)",
                [("c", seq[0] + i, r) for i, r in enumerate(records, 1)],
            )
            raw_db.execute("COMMIT")
            seq[0] += 3

        rows = [
            _append_row(
                "SQLite (WAL, synchronous=NORMAL)",
                _Appender(store, "a"),
                raw,
                "sqlite3 insert",
                quick,
            )
        ]
        appender = _Appender(store, "async")
        times = interleaved_batches(
            {"async": appender.batch}, n=50 if quick else 300, repeats=3 if quick else 7
        )
        rows.append(
            Row(
                "store aappend of 3 records, SQLite (on the event loop)",
                us(times["async"]),
                "",
                "",
                "",
                None,
                values={"store_s": times["async"]},
            )
        )
        rows.append(_read_rows("SQLite", store, quick))
        rows += tool_step_rows("SQLiteStore (sync)", store, quick, target=True)
        rows.append(load_row(store, quick))
        appender.close()
        raw_db.close()
        return rows
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def postgres_rows(quick: bool) -> list[Row]:
    dsn = os.environ.get(DSN_ENV)
    if not dsn:
        return [
            Row(
                "store append of 3 records, PostgreSQL (loopback)",
                "",
                note=f"skipped: set {DSN_ENV}=postgresql://user:pass@127.0.0.1/db",
            )
        ]
    try:
        import psycopg
    except ImportError:
        return [
            Row(
                "store append of 3 records, PostgreSQL (loopback)",
                "",
                note="skipped: pip install 'agentloop[postgres]'",
            )
        ]
    from agentloop.stores import PostgresStore

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(dsn, autocommit=True)
    try:
        store = PostgresStore(dsn, schema=schema)
        store.ids()  # connects, creates the schema and the tables
        raw_conn = psycopg.connect(dsn, autocommit=True)
        raw_conn.execute(
            f'CREATE TABLE "{schema}".raw (conversation_id TEXT NOT NULL, seq '
            "INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (conversation_id, "
            "seq))".encode()
        )
        records = journal_records(3)
        seq = [0]
        insert = (
            f'INSERT INTO "{schema}".raw VALUES (%s, %s, %s), (%s, %s, %s), (%s, %s, %s)'
        ).encode()

        def raw() -> None:
            params: list[Any] = []
            for i, r in enumerate(records, 1):
                params += ["c", seq[0] + i, r]
            raw_conn.execute(insert, params)
            seq[0] += 3

        rows = [
            _append_row(
                "PostgreSQL (loopback)", _Appender(store, "a"), raw, "psycopg insert", quick
            )
        ]
        appender = _Appender(store, "async")
        times = interleaved_batches(
            {"async": appender.batch}, n=50 if quick else 300, repeats=3 if quick else 7
        )
        rows.append(
            Row(
                "store aappend of 3 records, PostgreSQL (loopback)",
                us(times["async"]),
                "",
                "",
                "",
                None,
                values={"store_s": times["async"]},
            )
        )
        rows.append(_read_rows("PostgreSQL (loopback)", store, quick))
        rows += tool_step_rows("PostgresStore over loopback (sync)", store, quick, target=False)
        appender.close()
        raw_conn.close()
        return rows
    finally:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())
        admin.close()


def store_rows(quick: bool) -> list[Row]:
    return [*sqlite_rows(quick), *postgres_rows(quick)]


# --- a tool step journaled to a store, against the same step with no store --------------------


def _tool_turns(store: Any, turns_per_conv: int = 20) -> Callable[[int], None]:
    """``bench_tools``' sync tool turn (10 calls, then text), journaling to ``store``."""
    import bench_tools as BT
    import httpx

    from agentloop import Client, Conversation, ToolRegistry

    script = BT._ScriptedTransport()
    headers = {"content-type": "application/json"}
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, content=script.reply(), headers=headers)
    )
    client = Client(
        api_key="bench-key",
        base_url="http://bench.local",
        http_client=httpx.Client(transport=transport),
    )
    registry = ToolRegistry(BT._tools())
    ids = itertools.count()

    def batch(turns: int) -> None:
        conv = None
        for i in range(turns):
            if i % turns_per_conv == 0:
                extra: dict[str, Any] = (
                    {} if store is None else {"store": store, "id": f"bench-{next(ids)}"}
                )
                conv = Conversation(client, model="gemini-bench", tools=[registry], **extra)
            assert conv is not None
            turn = conv.send("go")
            assert len(turn.tool_calls) == BT.CALLS, turn

    return batch


def tool_step_rows(label: str, store: Any, quick: bool, target: bool) -> list[Row]:
    import bench_tools as BT

    times = interleaved_batches(
        {"none": _tool_turns(None), "store": _tool_turns(store)},
        n=10 if quick else 40,
        repeats=3 if quick else 9,
    )
    none, journaled = times["none"] / BT.CALLS, times["store"] / BT.CALLS
    ratio, above = journaled / none, journaled - none
    ok = above <= 30e-6 if target else None
    return [
        Row(
            f"per tool step journaling to {label}",
            us(journaled),
            f"no store {us(none)}",
            f"{ratio:.2f}x",
            "≤ +30 µs" if target else "",
            ok,
            note=f"+{us(above)} per step",
            values={"store_s": journaled, "none_s": none, "ratio": ratio},
        )
    ]


# --- store.load: read, fold the journal, rebuild the conversation --------------------------------


def _journaled(store: Any, conv_id: str, steps: int) -> None:
    """A conversation of about ``steps`` history steps journaled to ``store`` (tool turns)."""
    from agentloop import Conversation, tool
    from agentloop.testing import Emulator, FunctionModel

    @tool
    def note(n: int) -> str:
        """Take a note.

        Args:
            n: The note number.
        """
        return f"note {n} taken"

    def model(request: Any) -> Any:
        last = request.history[-1]
        if getattr(last, "type", None) == "function_result":
            return [{"type": "model_output", "content": [{"type": "text", "text": "ok"}]}]
        n = len(request.history)
        return [{"type": "function_call", "id": f"c{n}", "name": "note", "arguments": {"n": n}}]

    conv = Conversation(
        Emulator(model=FunctionModel(model)).client(), tools=[note], store=store, id=conv_id
    )
    while len(conv.history) < steps:
        conv.send("take a note")  # 4 steps: user_input, call, result, text


def load_row(store: Any, quick: bool) -> Row:
    """``store.load`` of a 1000-step conversation, and of a 250-step one to check linearity."""
    from agentloop.testing import Emulator

    for size in (250, 1000):
        _journaled(store, f"load-{size}", size)
    client = Emulator().client()  # one client: building an httpx client is not the load

    def load(size: int) -> Callable[[], None]:
        return lambda: store.load(f"load-{size}", client=client)

    times = interleaved(
        {"250": load(250), "1000": load(1000)}, n=3 if quick else 10, repeats=3 if quick else 7
    )
    per_step = times["1000"] / 1000
    growth = times["1000"] / times["250"]
    return Row(
        "store.load of a 1000-step conversation (SQLite): read, fold, rebuild",
        us(times["1000"]),
        f"250 steps {us(times['250'])}",
        f"{growth:.2f}x for 4x steps",
        "linear",
        growth < 5.0,
        note=f"{us(per_step)} per step",
        values={"load_s": times["1000"], "per_step_s": per_step, "growth": growth},
    )

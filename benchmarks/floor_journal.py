"""Issue 27: what the SQL of a journaled tool turn costs, and what a different layout would save.

``python3 benchmarks/floor_journal.py [--rounds R] [--cold KB]``

Raw ``sqlite3``, no agentloop: the four appends of ``bench_stores``' journaled tool turn (2,
14, 10 and 5 records of the sizes that turn writes), each a ``BEGIN IMMEDIATE`` transaction
on a WAL file with ``synchronous=NORMAL``, in three layouts, rounds interleaved, CPU time
(``time.process_time``) per tool step (a turn is 10 steps):

* ``as stored``: what ``SQLiteStore`` runs, the conversation row's version UPDATE and one
  multi-row INSERT (a row per record, keyed ``(conversation_id, seq)``);
* ``no row update``: the same without the UPDATE of the conversation row;
* ``one row an append``: the UPDATE, and the append's records in one row.

The difference between the first and the others is what those layouts could save at most:
each would change what is stored (the version kept elsewhere; a row no longer one record).

Back to back, the appends run with SQLite's code and pages in the CPU's caches. In a real
turn the engine's own work (parsing, pydantic, HTTP, tools) runs between two appends and
evicts them. ``--cold KB`` writes to every cache line of a KB-sized buffer before each append
(outside the clock) to show that: with ``--cold 4096`` the same SQL costs about twice as much
(13.8 -> 28.3 us a step as stored, on the 2-core machine of issue 27's fifth round), which is
what an append's SQL costs inside a journaled turn there (~30 us a step).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable

# The records of one journaled tool turn, by append (sizes as bench_stores' turn writes them).
TURN = [["t" * 60, "u" * 78], ["r" * 106] * 14, ["s" * 112] * 10, ["e" * 78] * 5]
TURNS_PER_CONVERSATION = 20
UPDATE = (
    "UPDATE conversations SET version = ?, updated = ?, meta = coalesce(?, meta) "
    "WHERE id = ? AND version = ? AND (lease_owner IS NULL OR lease_expires IS NULL "
    "OR lease_expires <= ? OR lease_owner IS ? OR lease_owner IS ?)"
)


def _insert(rows: int) -> str:
    values = ",".join(f"(?1,?2+{n},?{n + 2})" for n in range(1, rows + 1))
    return f"INSERT INTO records (conversation_id, seq, data) VALUES {values}"


class _Evict:
    """Writes to every cache line of a ``kb``-sized buffer (nothing when ``kb`` is 0)."""

    def __init__(self, kb: int) -> None:
        self.buffer = bytearray(kb * 1024)
        self.lines = b"\x01" * len(self.buffer[::64])
        self.spent = 0.0  # CPU of the evictions themselves, taken off the figures

    def __call__(self) -> None:
        if self.buffer:
            started = time.process_time()
            self.buffer[::64] = self.lines
            self.spent += time.process_time() - started


def layout(folder: str, name: str, evict: _Evict) -> Callable[[], None]:
    """One journaled tool turn's SQL in layout ``name``."""
    db = sqlite3.connect(os.path.join(folder, f"{name}.db"), isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(
        "CREATE TABLE conversations (id TEXT PRIMARY KEY, version INTEGER NOT NULL, meta TEXT "
        "NOT NULL, created REAL NOT NULL, updated REAL NOT NULL, lease_owner TEXT, "
        "lease_expires REAL)"
    )
    db.execute(
        "CREATE TABLE records (conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT "
        "NOT NULL, PRIMARY KEY (conversation_id, seq))"
    )
    state = {"conversation": 0, "turns": 0, "version": 0}

    def turn() -> None:
        if state["turns"] % TURNS_PER_CONVERSATION == 0:
            state["conversation"] += 1
            state["version"] = 0
            db.execute(
                "INSERT INTO conversations VALUES (?, 0, '{}', 0, 0, NULL, NULL)",
                (f"c{state['conversation']}",),
            )
        state["turns"] += 1
        id = f"c{state['conversation']}"
        for records in TURN:
            evict()
            version = state["version"]
            now = time.time()
            db.execute("BEGIN IMMEDIATE")
            if name != "no row update":
                may_write = (id, version, now, None, None)
                db.execute(UPDATE, (version + len(records), now, None, *may_write))
            if name == "one row an append":
                db.execute(_insert(1), (id, version, "\n".join(records)))
            else:
                db.execute(_insert(len(records)), (id, version, *records))
            db.execute("COMMIT")
            state["version"] = version + len(records)

    return turn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--turns", type=int, default=200, help="turns per round")
    parser.add_argument(
        "--cold",
        type=int,
        default=0,
        metavar="KB",
        help="write a KB-sized buffer before each append (evicting SQLite from the caches)",
    )
    args = parser.parse_args()
    evict = _Evict(args.cold)
    names = ["as stored", "no row update", "one row an append"]
    with tempfile.TemporaryDirectory() as folder:
        turns = {name: layout(folder, name, evict) for name in names}
        samples: dict[str, list[float]] = {name: [] for name in names}
        for round_ in range(args.rounds):
            for name in names if round_ % 2 == 0 else names[::-1]:
                evict.spent = 0.0
                started = time.process_time()
                for _ in range(args.turns):
                    turns[name]()
                spent = time.process_time() - started - evict.spent
                samples[name].append(spent / args.turns / 10)
    for name in names:
        print(f"{name:18s} {statistics.median(samples[name]) * 1e6:5.1f} µs CPU per tool step")


if __name__ == "__main__":
    main()

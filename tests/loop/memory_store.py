"""The store of the engine-level journaling tests: a real ``SQLiteStore`` in memory.

The shared store suite (tests/stores) runs every store, SQLite and PostgreSQL, against the
protocol; these tests only need a real store that leaves no file behind.
"""

from __future__ import annotations

from agentloop.stores import SQLiteStore


def MemoryStore() -> SQLiteStore:
    """A fresh ``SQLiteStore`` on ``:memory:``."""
    return SQLiteStore(":memory:")

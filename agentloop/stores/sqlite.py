"""``SQLiteStore``: many conversations in one SQLite file, by id."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["SQLiteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    updated REAL NOT NULL
)
"""


class SQLiteStore:
    """Keeps conversations (their saved form, same as ``Conversation.save``) by id.

    Each save is one transaction, so a crash leaves the previous version in place.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        with self._db:
            self._db.execute(_SCHEMA)

    def save(self, conversation: Any, id: str | None = None) -> str:
        """Save (insert or replace) a conversation; returns the id it is kept under."""
        key = id or conversation.id
        data = json.dumps(conversation.to_dict(), ensure_ascii=False)
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO conversations (id, data, updated) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET data = excluded.data, updated = excluded.updated",
                (key, data, time.time()),
            )
        return str(key)

    def load_data(self, id: str) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute("SELECT data FROM conversations WHERE id = ?", (id,)).fetchone()
        if row is None:
            raise KeyError(f"no conversation {id!r} in {str(self.path)!r}; known: {self.ids()}")
        data: dict[str, Any] = json.loads(row[0])
        return data

    def load(
        self,
        id: str,
        *,
        client: Any = None,
        tools: Iterable[Any] = (),
        cls: Any = None,
        **overrides: Any,
    ) -> Any:
        """Rebuild a saved conversation (``Conversation`` unless ``cls`` says otherwise)."""
        if cls is None:
            from agentloop.loop import Conversation

            cls = Conversation
        return cls.from_dict(self.load_data(id), client=client, tools=tools, **overrides)

    def __contains__(self, id: object) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM conversations WHERE id = ?", (id,)).fetchone()
        return row is not None

    def ids(self) -> list[str]:
        """Saved ids, most recently updated first."""
        with self._lock:
            rows = self._db.execute("SELECT id FROM conversations ORDER BY updated DESC").fetchall()
        return [r[0] for r in rows]

    def delete(self, id: str) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM conversations WHERE id = ?", (id,))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

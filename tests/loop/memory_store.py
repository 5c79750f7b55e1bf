"""A minimal in-memory ``ConversationStore`` for engine-level journaling tests.

The real stores (SQLite, PostgreSQL) run the shared store suite in tests/stores and the crash
matrix; this one only lets loop tests look at records and simulate crashes in-process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentloop.errors import ConflictError, ConversationNotFoundError


@dataclass
class Stored:
    id: str
    version: int
    records: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    updated: float = 0.0


class MemoryStore:
    def __init__(self) -> None:
        self.data: dict[str, Stored] = {}
        self.appends = 0
        self.lock = threading.Lock()

    def append(
        self,
        id: str,
        records: Sequence[str],
        *,
        expected_version: int,
        meta: Mapping[str, Any] | None = None,
    ) -> int:
        with self.lock:
            current = self.data.get(id)
            version = current.version if current else 0
            if version != expected_version:
                raise ConflictError(
                    f"conversation {id!r} changed: expected version {expected_version}, "
                    f"found {version}; reload it",
                    conversation_id=id,
                    expected_version=expected_version,
                    actual_version=version,
                )
            if current is None:
                current = self.data[id] = Stored(id, 0, [], {}, time.time(), time.time())
            current.records.extend(records)
            current.version += len(records)
            if meta is not None:
                current.meta = dict(meta)
            self.appends += 1
            return current.version

    async def aappend(
        self,
        id: str,
        records: Sequence[str],
        *,
        expected_version: int,
        meta: Mapping[str, Any] | None = None,
    ) -> int:
        return self.append(id, records, expected_version=expected_version, meta=meta)

    def read(self, id: str, *, after: int = 0) -> Stored:
        found = self.data.get(id)
        if found is None:
            raise ConversationNotFoundError(f"no conversation {id!r}")
        return Stored(id, found.version, found.records[after:], dict(found.meta))

    def version(self, id: str) -> int:
        found = self.data.get(id)
        return found.version if found else 0

    def kinds(self, id: str) -> list[str]:
        import json

        return [json.loads(r)["k"] for r in self.data[id].records]

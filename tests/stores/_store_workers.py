"""Helpers of the store tests that child processes import (so they live outside test files)."""

from __future__ import annotations

import gc
import json
from dataclasses import dataclass
from typing import Any

from agentloop.errors import ConflictError
from agentloop.stores import ConversationStore, PostgresStore, SQLiteStore


@dataclass(frozen=True)
class StoreSpec:
    """Enough to open a store in any process: kind, path or DSN, schema."""

    kind: str
    target: str
    schema: str | None = None

    def open(self) -> ConversationStore:
        if self.kind == "sqlite":
            return SQLiteStore(self.target)
        return PostgresStore(self.target, schema=self.schema)


def record(writer: str, i: int, based_on: int = -1) -> str:
    """A record naming its writer, its number, and the version its writer had read."""
    return json.dumps({"writer": writer, "i": i, "based_on": based_on})


def rmw_appends(store: ConversationStore, conv_id: str, writer: str, count: int) -> int:
    """Append ``count`` records the way a conversation does: read the version, append with it,
    reload and retry on ConflictError. Each record says which version it was based on; the
    store must only accept it at position ``based_on + 1``. Returns the conflicts met."""
    conflicts = 0
    for i in range(count):
        while True:
            version = store.version(conv_id)
            try:
                store.append(conv_id, [record(writer, i, version)], expected_version=version)
                break
            except ConflictError:
                conflicts += 1
    return conflicts


def process_writer(
    spec: StoreSpec, conv_id: str, writer: str, count: int, start: Any, results: Any
) -> None:
    """Body of a writer process: its own store object, a barrier to start together."""
    with spec.open() as store:
        store.version(conv_id)  # connected before the race starts
        start.wait()
        results.put((writer, rmw_appends(store, conv_id, writer, count)))


def forked_writer(store: ConversationStore, conv_id: str, count: int, results: Any) -> None:
    """Body of a forked child that uses the store object it inherited from its parent."""
    try:
        conflicts = rmw_appends(store, conv_id, "child", count)
        store.close()  # closes the child's own connection, never the parent's
        del store
        gc.collect()
        results.put(("ok", conflicts))
    except BaseException as exc:
        results.put(("error", repr(exc)))

"""Decisions on waiting calls, recorded once in the task database: the first one wins.

``agentloop tasks approve`` and ``reject`` (and ``TaskQueue.approve``/``reject``) first record
their decision here, keyed by task, call and wait ticket, with ``INSERT ... ON CONFLICT DO
NOTHING``; only then is the decision sent to the task (a DBOS message with an idempotency key
of the same triple, so it is delivered once). A second decision on the same wait reads the
first back: the same decision again is a no-op, a contradicting one is refused, saying what was
decided and when. Without this record both decisions shared one idempotency key, the second
was silently dropped, and the command still said it had been applied.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["Decision", "latest_decision", "record_decision"]

_TABLE = "agentloop_decisions"
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE} ("
    "task_id TEXT NOT NULL, call_id TEXT NOT NULL, ticket INTEGER NOT NULL, "
    "approve INTEGER NOT NULL, reason TEXT, decided_at DOUBLE PRECISION NOT NULL, "
    "PRIMARY KEY (task_id, call_id, ticket))"
)


@dataclass(frozen=True)
class Decision:
    """A recorded decision: approve or reject, why, and when (``time.time()`` form)."""

    approve: bool
    reason: str | None
    decided_at: float
    ticket: int

    def describe(self) -> str:
        when = datetime.datetime.fromtimestamp(self.decided_at, datetime.timezone.utc)
        what = "approved" if self.approve else "rejected"
        why = f" (reason: {self.reason})" if self.reason else ""
        return f"{what} at {when:%Y-%m-%d %H:%M:%S} UTC{why}"


def _connect(url: str) -> Any:
    if url.startswith("sqlite:///"):
        import sqlite3

        db = sqlite3.connect(url[len("sqlite:///") :], timeout=30, isolation_level=None)
        db.execute(_CREATE)
        return db
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute(_CREATE)
    return conn


def _params(url: str, sql: str) -> str:
    return sql if url.startswith("sqlite:///") else sql.replace("?", "%s")


def record_decision(
    url: str, task_id: str, call_id: str, ticket: int, approve: bool, reason: str | None
) -> Decision:
    """Record this decision unless one exists for the same wait; the decision that holds."""
    conn = _connect(url)
    try:
        conn.execute(
            _params(
                url,
                f"INSERT INTO {_TABLE} (task_id, call_id, ticket, approve, reason, decided_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            ),
            (task_id, call_id, ticket, int(approve), reason, time.time()),
        )
        row = conn.execute(
            _params(
                url,
                f"SELECT approve, reason, decided_at, ticket FROM {_TABLE} "
                "WHERE task_id = ? AND call_id = ? AND ticket = ?",
            ),
            (task_id, call_id, ticket),
        ).fetchone()
    finally:
        conn.close()
    return Decision(bool(row[0]), row[1], float(row[2]), int(row[3]))


def latest_decision(url: str, task_id: str, call_id: str) -> Decision | None:
    """The decision of the call's last wait, if any was recorded."""
    conn = _connect(url)
    try:
        row = conn.execute(
            _params(
                url,
                f"SELECT approve, reason, decided_at, ticket FROM {_TABLE} "
                "WHERE task_id = ? AND call_id = ? ORDER BY ticket DESC LIMIT 1",
            ),
            (task_id, call_id),
        ).fetchone()
    finally:
        conn.close()
    return None if row is None else Decision(bool(row[0]), row[1], float(row[2]), int(row[3]))

"""Durable task loops on DBOS workers (extra ``agentloop[durable]``).

A task is one autonomous turn run as a DBOS workflow: each model request and each tool call is
a DBOS step, so a worker that dies mid-task is resumed by another (or by itself after a
restart) without repeating completed requests or tool calls. See ``docs/durable.md``.

``dbos`` is imported only when a queue is used, so importing this package stays cheap.
"""

from __future__ import annotations

from ._db import DEFAULT_DB_FILE, database_url
from ._queue import (
    TaskHandle,
    TaskInfo,
    TaskQueue,
    TaskResult,
    TaskStatus,
    default_worker_id,
)

__all__ = [
    "DEFAULT_DB_FILE",
    "TaskHandle",
    "TaskInfo",
    "TaskQueue",
    "TaskResult",
    "TaskStatus",
    "database_url",
    "default_worker_id",
]

"""A worker id is held while its worker runs, so a second live worker with it is noticed.

Two workers with one id would both recover the same pending tasks (each believes it is the
restart of the other), so their tool calls could run twice. The worker holds a lock named by
its id for as long as it runs: a PostgreSQL advisory lock on a task database in PostgreSQL
(seen from every machine), a file lock next to a SQLite task database (one machine). Taking
it fails while another live worker holds it; a dead worker's lock goes with its process.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["claim_worker_id", "duplicate_warning"]


def duplicate_warning(worker_id: str) -> str:
    return (
        f"agentloop worker: warning: another live worker already runs with id {worker_id!r} "
        "on this task database; both would recover the same tasks and their tool calls could "
        "run twice. Give each worker its own --worker-id."
    )


def claim_worker_id(url: str, worker_id: str) -> tuple[bool, Callable[[], None]]:
    """(held, release): ``held`` is False when another live worker holds ``worker_id``."""
    if url.startswith("sqlite:///"):
        return _file_lock(Path(url[len("sqlite:///") :]), worker_id)
    if url.startswith(("postgresql://", "postgresql+psycopg://")):
        return _advisory_lock(url.replace("postgresql+psycopg://", "postgresql://"), worker_id)
    return True, lambda: None


def _file_lock(db: Path, worker_id: str) -> tuple[bool, Callable[[], None]]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no check
        return True, lambda: None
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", worker_id)[:100]
    path = db.with_name(f"{db.name}.worker-{safe}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - held open for as long as the worker runs
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return False, lambda: None

    def release() -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()

    return True, release


def _advisory_lock(url: str, worker_id: str) -> tuple[bool, Callable[[], None]]:
    try:
        import psycopg
    except ImportError:  # dbos brings a driver; without psycopg there is no check
        return True, lambda: None
    try:
        conn: Any = psycopg.connect(url, autocommit=True)
    except psycopg.Error as exc:
        from agentloop._defaults import redact
        from agentloop.errors import StoreError

        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(
            f"cannot open the task database {redact(url)!r}: {first}. Check the URL "
            "(postgresql://user:pass@host/db), that the server is running and reachable, and "
            "the user's password"
        ) from None
    row = conn.execute(
        "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))",
        (f"agentloop-worker:{worker_id}",),
    ).fetchone()
    if not (row and row[0]):
        conn.close()
        return False, lambda: None
    return True, conn.close  # the lock ends with the session

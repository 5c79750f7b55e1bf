"""Failed exchanges stay on the page: a turn that failed is rolled back from the history (it
never happened for the model), but the user saw their message and the error, so both are
kept in the session's meta and drawn again after a reload, where they happened."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["is_empty", "items_with_failures", "record_failure"]

MAX_KEPT = 20  # the most recent failed exchanges of a session that are kept


def record_failure(
    meta: dict[str, Any],
    at: int,
    text: str | None,
    exc: BaseException,
    message: str | None = None,
) -> None:
    """Keep the failed exchange: the user's text (None: a resumed turn) and what failed
    (``message``: what the page says, when not the exception's own text)."""
    failures = list(meta.get("failures") or [])
    failures.append(
        {
            "at": at,  # history length before the failed turn: drawn after those steps
            "text": text,
            "error": message or str(exc) or type(exc).__name__,
            "code": type(exc).__name__,
            "time": time.time(),
        }
    )
    meta["failures"] = failures[-MAX_KEPT:]


def items_with_failures(
    history: list[Any], pending: set[str], meta: dict[str, Any], items_of: Any
) -> list[dict[str, Any]]:
    """``items_of(history, pending)`` with each kept failure drawn at its place."""
    failures = sorted(
        (f for f in meta.get("failures") or [] if isinstance(f, dict)),
        key=lambda f: int(f.get("at") or 0),
    )
    if not failures:
        return list(items_of(history, pending))
    items: list[dict[str, Any]] = []
    start = 0
    for failure in failures:
        at = max(start, min(int(failure.get("at") or 0), len(history)))
        items += items_of(history[start:at], pending)
        start = at
        if failure.get("text"):
            items.append({"kind": "user", "text": failure["text"], "failed": True})
        items.append(
            {"kind": "error", "text": failure.get("error") or "", "code": failure.get("code")}
        )
    items += items_of(history[start:], pending)
    return items


def is_empty(meta: dict[str, Any], steps: Any) -> bool:
    """A session nothing was said in: no title, no failed exchange, no steps (``steps()`` is
    only asked when the meta cannot tell)."""
    if meta.get("title") or meta.get("failures"):
        return False
    return int(steps()) == 0

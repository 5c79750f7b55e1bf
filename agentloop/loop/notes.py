"""Journal notes: a tool writes a small fact into its conversation's journal before it waits.

A tool that starts work somewhere else (a remote A2A task, a managed agent's interaction) must
remember the remote id *before* waiting for it: if the process dies while it waits, recovery
runs the call again and the tool re-attaches to the remote work instead of starting it twice.

``write_note(conv, key, value)`` appends one ``{"k": "note"}`` record to the journal of the
conversation (at once, together with any records still pending); ``read_note(conv, key)`` gives
the last value written under ``key``, also after the conversation was loaded again from its
store. A tool passes ``ctx.conversation``. Replay skips ``note`` records (unknown kinds are
skipped), so notes never change the conversation's state. Without a store, notes live as
long as the conversation object.
"""

from __future__ import annotations

import json
import threading
import weakref
from typing import Any

__all__ = ["read_note", "stored_notes", "write_note"]

_NOTE = "note"
_lock = threading.Lock()  # notes are rare: one lock for all conversations is enough
# conversation -> {key: value}: notes written or read so far (read from the store once)
_notes: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _known(conv: Any) -> dict[str, Any]:
    """The notes of ``conv``, read from its store the first time (caller holds ``_lock``)."""
    found = _notes.get(conv)
    if found is not None:
        return found
    store = getattr(conv, "store", None)
    found = stored_notes(store, conv.id) if store is not None else {}
    _notes[conv] = found
    return found


def stored_notes(store: Any, id: str) -> dict[str, Any]:
    """The notes journaled for conversation ``id`` in ``store`` (without loading it)."""
    found: dict[str, Any] = {}
    if store.version(id) > 0:
        for text in store.read(id).records:
            if '"k":"note"' not in text:  # cheap filter: records are compact JSON
                continue
            record = json.loads(text)
            if record.get("k") == _NOTE:
                found[record["key"]] = record["value"]
    return found


def write_note(conv: Any, key: str, value: Any) -> None:
    """Journal ``key = value`` (JSON-ready) in the journal of ``conv``.

    Written to the store before returning, so a crash right after still finds it. Blocking:
    from async code call it with ``asyncio.to_thread``. ``conv`` None (a tool called outside a
    conversation) keeps nothing.
    """
    if conv is None:
        return
    with _lock:
        known = _known(conv)
        state = getattr(conv, "_state", None)
        journal = getattr(state, "journal", None)
        if conv.store is not None and journal is not None:
            from agentloop.loop.lease import write
            from agentloop.loop.state import dumps

            journal.pending.append(dumps({"k": _NOTE, "key": key, "value": value}))
            # As the conversation writes: with its live-turn lease (a tool's note is written
            # while the turn holds it).
            write(conv.store, journal, conv._pending_meta(journal))
        known[key] = value


def read_note(conv: Any, key: str, default: Any = None) -> Any:
    """The last value ``write_note`` journaled under ``key`` in ``conv`` (blocking the first
    time: it reads the store)."""
    if conv is None:
        return default
    with _lock:
        return _known(conv).get(key, default)

"""Where sessions live: the ONE adapter between the web app / CLI and a conversation store.

The journaling stores (``agentloop.stores.open_store``, ``store.list()``, ``store.delete()``,
``ConversationInfo``) are used when this agentloop has them. Otherwise this module falls back to
``SQLiteStore`` snapshots: a session is saved after every step of progress the app sees (the
end of a turn, an approval, a strategy switch). Either way, app-level settings (the tools file,
the title, running token totals) travel in the session's ``meta`` dict, kept next to the
conversation under the key ``"meta"`` of its saved form.

Nothing heavy is imported here, so ``agentloop chat`` can use it without starlette.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "SessionInfo",
    "Sessions",
    "default_store_path",
    "open_sessions",
    "valid_session_id",
]

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


def valid_session_id(value: str) -> bool:
    """Session ids are 1-128 letters, digits, ``_ . : -`` (safe in URLs, logs and file names)."""
    return bool(_ID.fullmatch(value))


def default_store_path() -> Path:
    """``$AGENTLOOP_HOME/sessions.db``, else ``~/.agentloop/sessions.db``."""
    home = os.environ.get("AGENTLOOP_HOME")
    base = Path(home) if home else Path.home() / ".agentloop"
    return base / "sessions.db"


@dataclass
class SessionInfo:
    """One saved session: its id, when it was last saved, and the app's ``meta``."""

    id: str
    updated: float
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.id)


class _Snapshot:
    """Duck-types a conversation for ``SQLiteStore.save``: its saved form plus ``meta``."""

    def __init__(self, conv: Any, meta: dict[str, Any]) -> None:
        self.id = conv.id
        self._data = conv.to_dict()
        self._data["meta"] = dict(meta)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = self._data
        return data


class Sessions:
    """Conversations by id in one store, each with a ``meta`` dict of app settings."""

    def __init__(self, store: Any) -> None:
        self.store = store

    @property
    def where(self) -> str:
        """A short description of the store for messages (``the path`` or ``repr``)."""
        path = getattr(self.store, "path", None)
        return str(path) if path is not None else repr(self.store)

    def list(self) -> list[SessionInfo]:
        """Every session, most recently updated first."""
        out: list[SessionInfo] = []
        for id in self.store.ids():
            meta = self.meta(id)
            out.append(SessionInfo(id=id, updated=float(meta.get("updated", 0.0)), meta=meta))
        return out

    def __contains__(self, id: object) -> bool:
        return id in self.store

    def data(self, id: str) -> dict[str, Any]:
        """The saved form of session ``id`` (``KeyError`` if there is none)."""
        data: dict[str, Any] = self.store.load_data(id)
        return data

    def meta(self, id: str) -> dict[str, Any]:
        """The app settings saved with session ``id`` (``{}`` when it has none)."""
        meta = self.data(id).get("meta")
        return dict(meta) if isinstance(meta, dict) else {}

    def load(
        self,
        id: str,
        *,
        client: Any,
        tools: Iterable[Any] = (),
        cls: Any = None,
        **overrides: Any,
    ) -> Any:
        """Rebuild session ``id`` as a ``cls`` (default ``Conversation``) on ``client``."""
        return self.store.load(id, client=client, tools=tools, cls=cls, **overrides)

    def save(self, conv: Any, meta: dict[str, Any]) -> None:
        """Save ``conv`` with ``meta`` (``meta["updated"]`` is set to now)."""
        meta["updated"] = time.time()
        self.store.save(_Snapshot(conv, meta), conv.id)

    def delete(self, id: str) -> bool:
        """Delete session ``id``; False if there was none."""
        if id not in self.store:
            return False
        self.store.delete(id)
        return True

    def close(self) -> None:
        self.store.close()


def open_sessions(store: Any = None) -> Sessions:
    """``Sessions`` over a store object, a path, ``sqlite:///path``, or (None) the default file."""
    if isinstance(store, Sessions):
        return store
    if store is None:
        store = default_store_path()
    if isinstance(store, (str, Path)):
        from agentloop.stores import SQLiteStore

        text = str(store)
        if text.startswith("sqlite:///"):
            text = text[len("sqlite:///") :]
        if "://" in text:
            from agentloop.errors import StoreError

            raise StoreError(
                f"store {text!r}: only SQLite files are supported by this agentloop; pass a "
                "path or sqlite:///path"
            )
        return Sessions(SQLiteStore(Path(text).expanduser()))
    return Sessions(store)

"""Where sessions live: the ONE adapter between the apps (the CLI, the web chat) and a
conversation store.

The store journals (``append``/``read``/``version``/``list``/``delete``, e.g. from
``agentloop.stores.open_store``): conversations are created with ``store=`` and journal every
step themselves; ``store.list()`` gives ``ConversationInfo(id, version, created, updated,
meta)``. App-level settings (the ``--tools`` files, the title, running token totals) travel in
a ``meta`` dict under ``"app"`` in the store's meta of the conversation (written after each
turn with an empty ``append``, which changes no version).

Nothing heavy is imported here, so ``agentloop chat`` can use it without starlette.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentloop.errors import ConfigurationError, ConflictError, TurnInProgressError

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
    # A branch (conv.fork / replay): the session it came from and where ({"at", "kind", ...}).
    parent: str | None = None
    fork: dict[str, Any] | None = None
    created: float = 0.0

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.id)


class Sessions:
    """Conversations by id in one store, each with a ``meta`` dict of app settings."""

    def __init__(self, store: Any) -> None:
        missing = [
            n for n in ("append", "read", "version", "list", "delete") if not hasattr(store, n)
        ]
        if missing:
            raise ConfigurationError(
                f"{store!r} is not a conversation store (it has no {', '.join(missing)}); pass "
                "an agentloop.stores store, a path or a URL (see agentloop.stores.open_store)"
            )
        self.store = store  # a journaling store: conversations write to it as they go

    @property
    def where(self) -> str:
        """A short description of the store for messages (``the path`` or ``repr``)."""
        path = getattr(self.store, "path", None)
        return str(path) if path is not None else repr(self.store)

    # --- reading ----------------------------------------------------------------------------

    def list(self) -> list[SessionInfo]:
        """Every session, most recently updated first."""
        out = []
        for info in self.store.list():
            meta = dict(info.meta or {})
            if meta.get("run_of"):
                continue  # a sub-agent's or managed agent's run: part of its parent
            app = dict(meta.get("app") or {})
            if not app.get("title"):
                app["title"] = meta.get("title") or ""
            fork = meta.get("fork")
            out.append(
                SessionInfo(
                    id=info.id,
                    updated=float(info.updated or 0.0),
                    meta=app,
                    parent=meta.get("parent"),
                    fork=dict(fork) if isinstance(fork, dict) else None,
                    created=float(info.created or 0.0),
                )
            )
        return out

    def family(self, id: str) -> tuple[str, dict[str | None, builtins.list[SessionInfo]]]:
        """The branch tree session ``id`` belongs to: the root's id, and each session's
        branches (``children[parent_id]``, oldest first; ``children[None]`` holds the root)."""
        infos = {info.id: info for info in self.list()}
        root, seen = id, {id}
        while (parent := infos[root].parent if root in infos else None) in infos:
            if parent in seen:
                break  # a cycle only hand-edited meta can make
            root = parent
            seen.add(root)
        children: dict[str | None, builtins.list[SessionInfo]] = {}
        for info in sorted(infos.values(), key=lambda i: (i.created, i.id)):
            children.setdefault(info.parent if info.parent in infos else None, []).append(info)
        return root, children

    def __contains__(self, id: object) -> bool:
        return id in self.store

    def meta(self, id: str) -> dict[str, Any]:
        """The app settings saved with session ``id`` (``{}`` when it has none)."""
        stored = self.store.read(id, after=self.store.version(id))  # the meta, no records
        meta = (stored.meta or {}).get("app")
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
        if cls is None:
            from agentloop.loop import Conversation

            cls = Conversation
        return cls.from_store(self.store, id, client=client, tools=tools, **overrides)

    def inspect(self, id: str) -> Any:
        """Session ``id`` loaded only to be read: no tools, a client that never sends, and no
        warning about the tools it was saved with."""
        import warnings

        from agentloop.errors import MissingToolsWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MissingToolsWarning)
            return self.load(id, client=_reading_client())

    def steps(self, id: str) -> int:
        """How many history steps session ``id`` has."""
        return len(self.inspect(id).history)

    def tool_names(self, id: str) -> builtins.list[str]:
        """The names of the tools session ``id`` was saved with (its stored settings: loaded
        without its tools, the conversation itself has none)."""
        stored = self.store.read(id, after=self.store.version(id))  # the meta, no records
        settings = (stored.meta or {}).get("settings")
        if not isinstance(settings, dict):
            data = self.inspect(id).to_dict()
            settings = data.get("settings") or data
        return [str(n) for n in settings.get("tool_names") or []]

    # --- writing ----------------------------------------------------------------------------

    def create(self, cls: Any, client: Any, **kwargs: Any) -> Any:
        """A new conversation kept in this store (it journals to it)."""
        return cls(client, store=self.store, **kwargs)

    def save(self, conv: Any, meta: dict[str, Any]) -> None:
        """Save ``conv`` with ``meta`` (``meta["updated"]`` is set to now)."""
        meta["updated"] = time.time()
        # The conversation journals itself; only the app meta is written here.
        version = self.store.version(conv.id)
        if version == 0:
            return  # nothing journaled yet (no turn so far)
        current = dict(self.store.read(conv.id, after=version).meta or {})
        # A writer moved on, or runs a turn now: the next save wins.
        with contextlib.suppress(ConflictError, TurnInProgressError):
            self.store.append(
                conv.id, [], expected_version=version, meta={**current, "app": dict(meta)}
            )

    def delete(self, id: str) -> bool:
        """Delete session ``id``; False if there was none."""
        if id not in self:
            return False
        self.store.delete(id)
        return True

    def close(self) -> None:
        close = getattr(self.store, "close", None)
        if close is not None:
            close()


def open_sessions(store: Any = None) -> Sessions:
    """``Sessions`` over a store object, a path, a URL (``postgresql://...``,
    ``sqlite:///path``: ``agentloop.stores.open_store``), or (None) the default file."""
    if isinstance(store, Sessions):
        return store
    if store is None:
        store = default_store_path()
    if isinstance(store, (str, Path)):
        from . import open_store

        return Sessions(open_store(str(store)))
    return Sessions(store)


_READER: Any = None


def _reading_client() -> Any:
    """A client for conversations that are only read (listed, shown, searched): it is
    configured, so it neither falls back to the emulator nor announces it, and never sends."""
    global _READER
    if _READER is None:
        from agentloop.client import Client

        _READER = Client(api_key="read-only", base_url="http://read-only.invalid")
    return _READER

"""``open_store``: a conversation store from a URL or a path."""

from __future__ import annotations

import os
import re

from agentloop.errors import InputError

from .base import ConversationStore

__all__ = ["open_store"]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def open_store(url_or_path: str | os.PathLike[str]) -> ConversationStore:
    """Open the store a URL or path names.

    - ``postgresql://...`` or ``postgres://...``: a :class:`PostgresStore` (needs
      ``agentloop[postgres]``);
    - ``sqlite:///abs/path.db`` or a plain path (``~`` expands): a :class:`SQLiteStore`.
    """
    text = os.fspath(url_or_path)
    match = _SCHEME.match(text)
    scheme = match.group(1).lower() if match else None
    if scheme in ("postgresql", "postgres"):
        from .postgres import PostgresStore

        return PostgresStore(text)
    from .sqlite import SQLiteStore

    if scheme == "sqlite":
        path = text[len("sqlite://") :]
        if not path:
            raise InputError("sqlite:// needs a path: sqlite:///abs/path/sessions.db")
        return SQLiteStore(path)
    if scheme is not None:
        raise InputError(
            f"unknown store URL scheme {scheme!r}: use postgresql://user:pass@host/db, "
            "sqlite:///path/to/file.db or a plain file path"
        )
    if not text:
        raise InputError("open_store needs a URL or a path, got an empty string")
    return SQLiteStore(text)

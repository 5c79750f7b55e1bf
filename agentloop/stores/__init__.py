"""Where conversations are kept: the store protocol, ``SQLiteStore``, ``PostgresStore``,
``open_store``; ``agentloop.stores.sessions`` adapts a store to the apps' sessions (the CLI
and the web chat).

``PostgresStore`` imports psycopg only when used (extra ``agentloop[postgres]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import ConversationInfo, ConversationStore, StoredConversation
from .open import open_store
from .sqlite import SQLiteStore

if TYPE_CHECKING:
    from .postgres import PostgresStore

__all__ = [
    "ConversationInfo",
    "ConversationStore",
    "PostgresStore",
    "SQLiteStore",
    "StoredConversation",
    "open_store",
]


def __getattr__(name: str) -> Any:
    if name == "PostgresStore":
        from .postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module 'agentloop.stores' has no attribute {name!r}")

"""Where conversations are kept: the store protocol, ``SQLiteStore``, ``PostgresStore``,
``open_store``, and the JSON-file helpers behind ``Conversation.save``.

``PostgresStore`` imports psycopg only when used (extra ``agentloop[postgres]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import ConversationInfo, ConversationStore, StoredConversation
from .json_file import read_json, write_json_atomic
from .open import open_store
from .snapshot import FORMAT, VERSION, restore, snapshot
from .sqlite import SQLiteStore

if TYPE_CHECKING:
    from .postgres import PostgresStore

__all__ = [
    "FORMAT",
    "VERSION",
    "ConversationInfo",
    "ConversationStore",
    "PostgresStore",
    "SQLiteStore",
    "StoredConversation",
    "open_store",
    "read_json",
    "restore",
    "snapshot",
    "write_json_atomic",
]


def __getattr__(name: str) -> Any:
    if name == "PostgresStore":
        from .postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module 'agentloop.stores' has no attribute {name!r}")

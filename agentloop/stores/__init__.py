"""Saving and loading conversations: JSON files (``Conversation.save``) and ``SQLiteStore``."""

from .json_file import read_json, write_json_atomic
from .snapshot import FORMAT, VERSION, restore, snapshot
from .sqlite import SQLiteStore

__all__ = [
    "FORMAT",
    "VERSION",
    "SQLiteStore",
    "read_json",
    "restore",
    "snapshot",
    "write_json_atomic",
]

"""The bundled emulator a ``Client()`` falls back to when nothing points it at the API.

One emulator per process, so every ``Client()`` made without a key (a conversation, the one
it is saved from, the one it is loaded into) sees the same stored interactions, as clients of
the real API would. Its signing key is the fixed offline one, so thought signatures issued in
one process still verify in the next (a session saved offline and loaded again replays).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["OFFLINE_BASE_URL", "OFFLINE_NOTICE", "announce_offline", "bundled_emulator"]

OFFLINE_BASE_URL = "http://offline.emulator.local"
OFFLINE_NOTICE = (
    "agentloop: no GEMINI_API_KEY set, so requests go to the bundled offline emulator "
    "(rule-based demo answers, not a real model); set GEMINI_API_KEY to use the Gemini API."
)

_lock = threading.Lock()
_emulator: Emulator | None = None
_announced = False


def bundled_emulator() -> Emulator:
    """The process-wide emulator behind key-less clients (made on first use)."""
    global _emulator
    with _lock:
        if _emulator is None:
            from .emulator import Emulator
            from .server import DEFAULT_SIGNING_KEY

            _emulator = Emulator(signing_key=DEFAULT_SIGNING_KEY)
        return _emulator


def announce_offline() -> None:
    """Say once per process, as one log line, that requests go to the emulator."""
    global _announced
    with _lock:
        if _announced:
            return
        _announced = True
    logging.getLogger("agentloop").warning(OFFLINE_NOTICE)

"""``Conversation`` and ``AsyncConversation``: thin drivers around the sans-I/O ``TurnEngine``.

Everything a turn decides lives in ``engine.py``; what a conversation remembers lives in
``state.py`` (changed through ``records.py``), its settings in ``settings.py``. The two classes
only run the engine's protocol with the one drive loop (``drive.py``) in their world: the
blocking one (``_sync.py``) and the awaiting one (``_async.py``), the same text but for
``async``/``await``. What they share is ``_core.py``.

One turn at a time: the conversation's status (``status.py``) moves to ``running`` when a turn
is first driven and back when it ends, so a second ``send``/``stream``/``resume``/``recover``
from any thread or task raises ``TurnInProgressError`` at once and changes nothing.
"""

from __future__ import annotations

from ._async import AsyncConversation, AsyncEventStream
from ._sync import Conversation, EventStream
from .background import AsyncBackgroundTurn, BackgroundTurn

__all__ = [
    "AsyncBackgroundTurn",
    "AsyncConversation",
    "AsyncEventStream",
    "BackgroundTurn",
    "Conversation",
    "EventStream",
]

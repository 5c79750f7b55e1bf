"""The drive loop: runs a turn's protocol in a *world* that performs its effects.

The engine (``engine.py``) is a generator of effects (``effects.py``). Driving it is always
the same loop: take the next effect, hand ``Emit`` events to the caller, have the world
perform every other effect, send the answer back (or throw the exception the world raised),
until the protocol returns. That loop exists once per world of Python, blocking
(``drive``) and awaiting (``adrive``); the two are the same text but for ``async``/``await``
(``tests/loop/test_conversation_unasync.py`` checks it, as the client's two drivers are
checked), and
every driver uses one of them:

* ``Conversation`` / ``AsyncConversation``: ``drive``/``adrive`` in their world
  (``_sync.ConversationWorld``, ``_async.AsyncConversationWorld``);
* the DBOS workflow (``agentloop.durable``): ``drive`` in a world whose every effect is a
  DBOS step;
* tracing (``agentloop.observe``) wraps the protocol the engine returns (a generator with the
  same ``send``/``throw``), so it rides on whichever loop drives it.

A world is any object with ``request(effect, box)`` (a generator of the events seen while a
``SendRequest`` runs; it appends the final ``Interaction`` to ``box``) and
``perform(effect)`` (every other effect but ``Emit``; returns the answer). A new driver::

    engine = conv.engine()                 # the public entry point: settings, tools, hooks
    protocol = engine.start("hello")       # or engine.resume(), engine.recover()
    for event in drive(protocol, MyWorld()):
        ...                                # LoopEvents; the last one is TurnCompleted
"""

from __future__ import annotations

from ._async import adrive
from ._sync import drive
from ._world import Suspended, call_async, call_blocking, summarize_call

__all__ = ["Suspended", "adrive", "call_async", "call_blocking", "drive", "summarize_call"]

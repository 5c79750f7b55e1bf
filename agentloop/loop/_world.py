"""What the blocking and the awaiting worlds share: the ``Suspended`` event, calling user code
that may be async, the summary call, the retry event."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from agentloop._portal import wait_on
from agentloop.types import Interaction

from .effects import Summarize
from .events import LoopEvent, Retrying

__all__ = ["Suspended", "call_async", "call_blocking", "retry_event", "summarize_call"]


@dataclass(slots=True)
class Suspended(LoopEvent):
    """The turn waits on a background interaction; the protocol is left as it is, to be
    driven again with the final interaction (``drive(protocol, world, first=...)``)."""

    type: ClassVar[str] = "suspended"
    interaction: Interaction


def check_client(client: Any, kind: type) -> None:
    """Refuse a client of the other driver (a blocking ``Client`` under an
    ``AsyncConversation``, or the reverse) and anything that is not a client, when the
    conversation is made: its first ``send`` would fail in the middle of a turn."""
    if isinstance(client, kind):
        return
    from agentloop.client import AsyncClient, Client
    from agentloop.errors import ConfigurationError

    blocking = kind is Client
    conversation = "Conversation" if blocking else "AsyncConversation"
    if isinstance(client, AsyncClient if blocking else Client):
        other = "AsyncConversation" if blocking else "Conversation"
        raise ConfigurationError(
            f"{conversation} runs on {'a blocking Client' if blocking else 'an AsyncClient'}, "
            f"and this is {'an AsyncClient' if blocking else 'a blocking Client'}: use "
            f"{other}(client), or pass {kind.__name__}(...) here (agent.run takes a Client, "
            "agent.arun an AsyncClient)"
        )
    if not hasattr(client, "interactions"):
        raise ConfigurationError(
            f"{conversation}'s client must be a {kind.__name__}, not {type(client).__name__} "
            f"({client!r:.60}); pass {kind.__name__}() or leave it out"
        )


def call_blocking(fn: Callable[[Any], Any], arg: Any, loop: Callable[[], Any]) -> Any:
    """``fn(arg)`` from blocking code: a coroutine it returns is awaited on ``loop()`` (an
    event loop in another thread: the one home of async user code run from sync code)."""
    value = fn(arg)
    if inspect.isawaitable(value):
        return wait_on(value, loop())
    return value


async def call_async(fn: Callable[[Any], Any], arg: Any, loop: Callable[[], Any]) -> Any:
    """``fn(arg)`` from async code, awaited when it returns an awaitable (``loop`` unused:
    the signature mirrors ``call_blocking``)."""
    value = fn(arg)
    if inspect.isawaitable(value):
        value = await value
    return value


def summarize_call(effect: Summarize) -> Callable[[Any], Any]:
    """The callable a ``Summarize`` effect names, taking the client: a summary request, or
    the user's summarize function on the steps."""
    body, fn, steps = effect.body, effect.fn, effect.steps
    if body is not None:
        return lambda client: client.interactions.create(**body)
    assert fn is not None
    return lambda client: fn(steps)


def retry_event(info: Any) -> Retrying:
    """The ``Retrying`` loop event of the client's retry notice."""
    reason = getattr(info, "message", None) or str(getattr(info, "status_code", "") or "")
    return Retrying(
        attempt=int(getattr(info, "attempt", 0)),
        wait=float(getattr(info, "wait", 0.0)),
        reason=str(reason),
    )

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

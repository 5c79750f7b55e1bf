"""Handles of background turns: the first request runs server-side, the rest on ``wait``.

A handle knows only the client (to poll, wait and cancel) and a ``finish`` callable that
feeds the final interaction back to the suspended turn; the conversation stays the owner of
the turn.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from agentloop.errors import InteractionCancelledError, StateError
from agentloop.types import RUNNING_STATUSES, Interaction

from .turn import Turn

if TYPE_CHECKING:
    from agentloop.webhooks import WebhookEvent

    from .conversation import AsyncConversation, Conversation

__all__ = ["AsyncBackgroundTurn", "BackgroundTurn"]


class _BackgroundBase:
    """What both background handles share: identity, status and the finished turn."""

    def __init__(
        self,
        conversation: Any,
        interaction: Interaction | None,
        finish: Any,
        turn: Turn | None = None,
    ) -> None:
        self.conversation = conversation
        self.interaction = interaction
        self._finish = finish
        self._turn = turn
        self._error: BaseException | None = None  # how the turn ended, when it failed

    @property
    def id(self) -> str | None:
        """The background interaction's id."""
        return self.interaction.id if self.interaction else None

    @property
    def done(self) -> bool:
        """True once the turn has finished (its steps are in the conversation's history)."""
        return self._turn is not None

    @property
    def status(self) -> str:
        """The turn's status once finished, else the background interaction's status."""
        if self._turn is not None:
            return self._turn.status
        return str(self.interaction.status) if self.interaction else "unknown"

    def result(self) -> Turn:
        """The finished turn; raises ``StateError`` while the background run still goes, and
        the turn's error (again) when it failed."""
        if self._error is not None:
            raise self._error
        if self._turn is None:
            raise StateError("the background turn is still running; call wait() or poll()")
        return self._turn

    def _failed(self, exc: BaseException) -> None:
        """Finishing the turn raised: when it ended the turn (``exc.turn``), the handle is
        done with it, and ``wait()``/``result()`` raise it again."""
        turn = getattr(exc, "turn", None)
        if turn is not None:
            self._turn, self._error = turn, exc

    def _webhook_for_me(self, event: Any) -> bool:
        """Whether ``event`` (a verified ``WebhookEvent``) reports this run as finished."""
        if self._turn is not None:
            return False
        if event.interaction_id != self.id:
            raise StateError(
                f"the webhook event is about interaction {event.interaction_id!r}, not this "
                f"background turn's {self.id!r}; route each event to its own turn by "
                "event.interaction_id"
            )
        return True  # the event says the run changed: one GET tells how (events are thin)

    def _running_id(self) -> str:
        assert self.interaction is not None and self.interaction.id
        return self.interaction.id

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, status={self.status!r})"


class BackgroundTurn(_BackgroundBase):
    """A turn whose first request runs in the background. ``wait()`` finishes it."""

    conversation: Conversation
    _finish: Callable[[Interaction], Turn]

    def poll(self) -> str:
        """Check once; finish the turn if the background run is done. Returns the status."""
        if self._turn is None:
            current = self.conversation.client.interactions.get(self._running_id())
            self.interaction = current
            if current.status not in RUNNING_STATUSES:
                self._complete(current)
        return self.status

    def wait(self, timeout: float | None = None) -> Turn:
        """Block until the turn is finished (tool calls included) and return it."""
        if self._turn is None:
            final = self.conversation.client.interactions.wait(self._running_id(), timeout=timeout)
            self._complete(final)
        return self.result()

    def complete_from_webhook(self, event: WebhookEvent) -> Turn | None:
        """Finish the turn from a verified webhook event instead of polling.

        ``event`` comes from ``agentloop.webhooks.verify``. Webhook bodies are thin, so the
        interaction is fetched once; the turn then goes on like ``wait()`` (tool calls are
        answered, and a further background hop reports by webhook again). Returns the turn,
        or ``None`` when the event does not finish it (the run still goes). Raises
        ``StateError`` for an event about another interaction."""
        if self._webhook_for_me(event):
            current = self.conversation.client.interactions.get(self._running_id())
            self.interaction = current
            if current.status not in RUNNING_STATUSES:
                self._complete(current)
        return self._turn

    def _request_cancel(self) -> None:
        """``cancel()``, for ``conv.cancel()``."""
        self.cancel()

    def cancel(self) -> Turn:
        """Cancel the background run. The turn ends ``cancelled``; history stays usable."""
        if self._turn is None:
            cancelled = self.conversation.client.interactions.cancel(self._running_id())
            self._complete(cancelled, swallow_cancel=True)
        return self.result()

    def _complete(self, interaction: Interaction, swallow_cancel: bool = False) -> None:
        self.interaction = interaction
        try:
            self._turn = self._finish(interaction)
        except InteractionCancelledError as exc:
            if not swallow_cancel or exc.turn is None:
                self._failed(exc)
                raise
            self._turn = exc.turn
        except Exception as exc:
            self._failed(exc)
            raise


class AsyncBackgroundTurn(_BackgroundBase):
    """``BackgroundTurn`` for ``AsyncConversation``: ``await poll()``, ``wait()``, ``cancel()``."""

    conversation: AsyncConversation
    _finish: Callable[[Interaction], Awaitable[Turn]]

    def __init__(
        self,
        conversation: Any,
        interaction: Interaction | None,
        finish: Any,
        turn: Turn | None = None,
    ) -> None:
        super().__init__(conversation, interaction, finish, turn)
        self._loop = asyncio.get_running_loop()  # where conv.cancel() schedules cancel()
        self._stopping: concurrent.futures.Future[Turn] | None = None

    async def poll(self) -> str:
        """Check once; finish the turn if the background run is done. Returns the status."""
        if self._turn is None:
            current = await self.conversation.client.interactions.get(self._running_id())
            self.interaction = current
            if current.status not in RUNNING_STATUSES:
                await self._complete(current)
        return self.status

    async def wait(self, timeout: float | None = None) -> Turn:
        """Wait until the turn is finished (tool calls included) and return it."""
        if self._turn is None:
            final = await self.conversation.client.interactions.wait(
                self._running_id(), timeout=timeout
            )
            await self._complete(final)
        return self.result()

    async def complete_from_webhook(self, event: WebhookEvent) -> Turn | None:
        """Finish the turn from a verified webhook event instead of polling (see
        ``BackgroundTurn.complete_from_webhook``)."""
        if self._webhook_for_me(event):
            current = await self.conversation.client.interactions.get(self._running_id())
            self.interaction = current
            if current.status not in RUNNING_STATUSES:
                await self._complete(current)
        return self._turn

    def _request_cancel(self) -> None:
        """``conv.cancel()``: schedule ``cancel()`` on the loop the turn was sent from
        (callable from any thread)."""
        self._stopping = asyncio.run_coroutine_threadsafe(self.cancel(), self._loop)

    async def cancel(self) -> Turn:
        """Cancel the background run. The turn ends ``cancelled``; history stays usable."""
        if self._turn is None:
            cancelled = await self.conversation.client.interactions.cancel(self._running_id())
            await self._complete(cancelled, swallow_cancel=True)
        return self.result()

    async def _complete(self, interaction: Interaction, swallow_cancel: bool = False) -> None:
        self.interaction = interaction
        try:
            self._turn = await self._finish(interaction)
        except InteractionCancelledError as exc:
            if not swallow_cancel or exc.turn is None:
                self._failed(exc)
                raise
            self._turn = exc.turn
        except Exception as exc:
            self._failed(exc)
            raise

"""The awaiting world: ``adrive`` (the drive loop), the world that performs effects with an
``AsyncClient``, and ``AsyncConversation``.

This module and ``_sync.py`` are the same text but for ``async``/``await`` and the names of
the two worlds (``tests/loop/test_conversation_unasync.py``): a fix made to one and forgotten
in the other fails there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from agentloop.client._retry import on_retry
from agentloop.types import (
    AgentId,
    Interaction,
    Modality,
    ModelId,
    SafetySetting,
    ServiceTier,
    WebhookConfig,
    WireModel,
)

from ._core import ConversationCore
from ._interrupts import Stepper, hold_interrupts
from ._world import Suspended, call_async, check_client, retry_event, summarize_call
from .background import AsyncBackgroundTurn
from .branches import AsyncTimeTravel
from .cancel import CancelledError
from .compaction import Compaction
from .effects import Emit, Persist, Protocol, RunHook, RunTools, SendRequest, WaitBackground
from .events import Compacted, LoopEvent, SSETranslator, TurnCompleted
from .lease import awrite
from .limits import UsageLimits
from .settings import turn_overrides
from .turn import Turn

if TYPE_CHECKING:
    from agentloop.client import AsyncClient
    from agentloop.stores import ConversationStore
    from agentloop.tools import ToolLike

    from .state import Strategy

__all__ = ["AsyncConversation", "AsyncConversationWorld", "AsyncEventStream", "adrive"]


async def adrive(
    proto: Protocol, world: Any, *, first: Any = None, suspend: bool = False
) -> AsyncIterator[LoopEvent]:
    """Drive ``proto`` in ``world``: yield its events, have the world perform its other
    effects, and send each answer back (or throw what the world raised), until it returns.
    ``first``: the answer to the effect the protocol was left at; ``suspend``: stop at a
    ``WaitBackground`` with a ``Suspended`` event (the protocol is left as it is)."""
    value: Any = first
    error: BaseException | None = None
    advance = Stepper(proto)  # Ctrl-C is held while the engine changes state (``_interrupts``)
    try:
        while True:
            try:
                effect = advance(value, error)
            except StopIteration:
                return
            value = error = None
            kind = type(effect)
            if suspend and kind is WaitBackground:
                # Outside the try: closing this loop must leave the protocol as it is.
                yield Suspended(interaction=effect.interaction)  # type: ignore[union-attr]
                return
            try:
                if kind is Emit:
                    yield effect.event  # type: ignore[union-attr]
                elif kind is SendRequest:
                    box: list[Interaction] = []
                    async for event in world.request(effect, box):
                        yield event
                    value = box[0]
                else:
                    value = await world.perform(effect)
            except BaseException as exc:
                error = exc
    finally:
        advance.close()


class AsyncConversationWorld:
    """Performs a conversation's effects with its ``AsyncClient``, tools and store."""

    __slots__ = ("conv", "stream")

    def __init__(self, conv: AsyncConversation, stream: bool) -> None:
        self.conv = conv
        self.stream = stream  # requests as server-sent events (the events are yielded)

    async def perform(self, effect: Any) -> Any:
        conv = self.conv
        kind = type(effect)
        if kind is RunTools:
            effect.progress.stop = conv._stop.wake
            with conv._stop.aguard():
                return await conv.tools.arun(
                    effect.calls,
                    context=conv._tool_context,
                    around=effect.around,
                    progress=effect.progress,
                    grace=effect.grace,
                )
        if kind is Persist:
            assert conv.store is not None
            with hold_interrupts():  # (not cut between the store's write and the journal's)
                await awrite(conv.store, effect.journal, conv._pending_meta(effect.journal))
            return None
        if kind is RunHook:
            return await call_async(effect.hook, effect.event, conv.tools._get_loop)
        if kind is WaitBackground:
            return await conv.client.interactions.wait(str(effect.interaction.id))
        return await call_async(summarize_call(effect), conv.client, conv.tools._get_loop)

    async def request(
        self, effect: SendRequest, box: list[Interaction]
    ) -> AsyncIterator[LoopEvent]:
        client, stop = self.conv.client, self.conv._stop
        if not self.stream and effect.watch is None:
            # Nobody reads this request's retry events (``send``: only ``TurnCompleted`` is
            # looked at; no observer): no retry listener.
            box.append(await stop.acall(client.interactions.create, **effect.body))
            return
        retries: list[LoopEvent] = []
        failed: Exception | None = None
        try:
            with on_retry(lambda info: retries.append(retry_event(info))):
                if not self.stream:
                    box.append(await stop.acall(client.interactions.create, **effect.body))
                else:
                    create = client.interactions.create
                    events = await stop.acall(create, stream=True, **effect.body)
        except Exception as exc:  # the retries ran out: what was tried is still told
            failed = exc
        watch = effect.watch
        for retry in retries:
            if watch is not None:
                watch(retry)
            yield retry
        if failed is not None:
            raise failed
        if not self.stream:
            return
        translate = SSETranslator().feed
        async with events:
            with stop.aguard(events):
                async for event in events:
                    stop.check()
                    for loop_event in translate(event):
                        if watch is not None:
                            watch(loop_event)
                        yield loop_event
        box.append(events.interaction)


class AsyncEventStream:
    """The events of one turn (``async for``); ``async with`` ends the turn cleanly when the
    block is left early (the turn is interrupted, history stays valid, the next turn may
    start)."""

    __slots__ = ("_events",)

    def __init__(self, events: AsyncIterator[LoopEvent]) -> None:
        self._events = events

    def __aiter__(self) -> AsyncEventStream:
        return self

    async def __anext__(self) -> LoopEvent:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        """Stop the turn now, if it still runs."""
        await self._events.aclose()  # type: ignore[attr-defined]

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncConversation(AsyncTimeTravel, ConversationCore):
    """The same conversation on an ``AsyncClient``: ``await send(...)``, ``async for`` streams."""

    client: AsyncClient

    def __init__(
        self,
        client: AsyncClient | None = None,
        model: ModelId | None = None,
        agent: AgentId | None = None,
        tools: Iterable[ToolLike | dict[str, Any] | WireModel] = (),
        strategy: Strategy = "stateful",
        system_instruction: str | None = None,
        generation_config: Any = None,
        response_format: Any = None,
        max_steps: int = 20,
        *,
        response_model: Any = None,
        deps: Any = None,
        agent_config: Any = None,
        environment: Any = None,
        service_tier: ServiceTier | None = None,
        safety_settings: Sequence[SafetySetting | dict[str, Any]] | None = None,
        labels: dict[str, str] | None = None,
        webhook_config: WebhookConfig | dict[str, Any] | None = None,
        response_modalities: Sequence[Modality] | None = None,
        extra_body: dict[str, Any] | None = None,
        id: str | None = None,
        store: ConversationStore | None = None,
        compaction: Compaction | None = None,
        limits: UsageLimits | None = None,
        name: str | None = None,
        hooks: Any = None,
        instrument: bool = True,
        output_retries: int = 1,
    ) -> None:
        """Create a conversation on an ``AsyncClient``; the parameters are those of
        ``Conversation``."""
        from agentloop.client import AsyncClient

        owns_client = client is None
        if client is None:
            client = AsyncClient()
            client._closed_by = (
                "its conversation (await conv.aclose() was called, or its async with block ended)"
            )
        else:
            check_client(client, AsyncClient)
        super().__init__(
            client, owns_client, model=model, agent=agent, tools=tools, strategy=strategy,
            system_instruction=system_instruction, generation_config=generation_config,
            response_format=response_format, max_steps=max_steps,
            response_model=response_model, deps=deps, agent_config=agent_config,
            environment=environment, service_tier=service_tier,
            safety_settings=safety_settings, labels=labels, webhook_config=webhook_config,
            response_modalities=response_modalities, extra_body=extra_body, id=id, store=store,
            compaction=compaction, limits=limits, name=name, hooks=hooks,
            instrument=instrument, output_retries=output_retries,
        )  # fmt: skip

    # --- turns ---------------------------------------------------------------------------------

    @overload
    async def send(
        self,
        input: Any,
        *,
        response_model: Any = None,
        response_format: Any = None,
        background: Literal[False] = False,
        limits: UsageLimits | None = None,
        output_retries: int | None = None,
        service_tier: ServiceTier | None = None,
        safety_settings: Sequence[SafetySetting | dict[str, Any]] | None = None,
        labels: dict[str, str] | None = None,
        webhook_config: WebhookConfig | dict[str, Any] | None = None,
        response_modalities: Sequence[Modality] | None = None,
    ) -> Turn: ...

    @overload
    async def send(
        self,
        input: Any,
        *,
        response_model: Any = None,
        response_format: Any = None,
        background: Literal[True],
        limits: UsageLimits | None = None,
        output_retries: int | None = None,
        service_tier: ServiceTier | None = None,
        safety_settings: Sequence[SafetySetting | dict[str, Any]] | None = None,
        labels: dict[str, str] | None = None,
        webhook_config: WebhookConfig | dict[str, Any] | None = None,
        response_modalities: Sequence[Modality] | None = None,
    ) -> AsyncBackgroundTurn: ...

    async def send(
        self,
        input: Any,
        *,
        response_model: Any = None,
        response_format: Any = None,
        background: bool = False,
        limits: UsageLimits | None = None,
        output_retries: int | None = None,
        service_tier: ServiceTier | None = None,
        safety_settings: Sequence[SafetySetting | dict[str, Any]] | None = None,
        labels: dict[str, str] | None = None,
        webhook_config: WebhookConfig | dict[str, Any] | None = None,
        response_modalities: Sequence[Modality] | None = None,
    ) -> Turn | AsyncBackgroundTurn:
        """Run one user turn to completion and return its ``Turn`` (``background=True``: an
        ``AsyncBackgroundTurn`` handle at once); ``limits`` as in ``Conversation.send``."""
        engine = self.engine(
            response_model=response_model,
            response_format=response_format,
            background=background,
            limits=limits,
            output_retries=output_retries,
            overrides=turn_overrides(
                service_tier, safety_settings, labels, webhook_config, response_modalities
            ),
        )
        self._unread(engine)
        proto = engine.start(input)
        if not background:
            return await self._finish(proto)
        turn: Turn | None = None
        async for event in adrive(proto, AsyncConversationWorld(self, False), suspend=True):
            if isinstance(event, Suspended):
                handle = AsyncBackgroundTurn(self, event.interaction, self._continuation(proto))
                self._background = handle
                return handle
            if isinstance(event, TurnCompleted):
                turn = event.turn
        return AsyncBackgroundTurn(self, None, None, turn=turn)

    def stream(
        self,
        input: Any,
        *,
        response_model: Any = None,
        response_format: Any = None,
        limits: UsageLimits | None = None,
        output_retries: int | None = None,
        service_tier: ServiceTier | None = None,
        safety_settings: Sequence[SafetySetting | dict[str, Any]] | None = None,
        labels: dict[str, str] | None = None,
        webhook_config: WebhookConfig | dict[str, Any] | None = None,
        response_modalities: Sequence[Modality] | None = None,
    ) -> AsyncEventStream:
        """Run one user turn, yielding loop events; the last one is ``TurnCompleted``.

        The turn starts when iteration starts (the input is checked at once). Use it as a
        context manager (``async with conv.stream(x) as events:``) to end the turn cleanly
        when leaving early."""
        engine = self.engine(
            response_model=response_model,
            response_format=response_format,
            limits=limits,
            output_retries=output_retries,
            overrides=turn_overrides(
                service_tier, safety_settings, labels, webhook_config, response_modalities
            ),
        )
        return self._events(engine.start(input))

    async def compact(self) -> Compacted | None:
        """Compact the model view now (with ``compaction``, or a default ``Compaction()``);
        returns the ``Compacted`` event, or ``None`` when nothing could be folded."""
        done: Compacted | None = None
        async for event in adrive(self._compaction_protocol(), AsyncConversationWorld(self, False)):
            if isinstance(event, Compacted):
                done = event
        return done

    async def resume(self) -> Turn:
        """Continue a turn paused for approval, after ``approve``/``reject`` of each call."""
        return await self._finish(self._unread(self._continuing()).resume())

    def resume_stream(self) -> AsyncEventStream:
        """``resume()``, yielding loop events like ``stream``."""
        return self._events(self._continuing().resume())

    async def recover(self) -> Turn:
        """Finish the turn a crash cut short (see ``needs_recovery``): journaled tool results
        are reused, never run again; a call that started without a journaled result runs
        again only if its tool is ``@tool(idempotent=True)``, else the turn pauses with it in
        ``pending_approvals`` (in doubt: it may have run); the request in flight is resent."""
        return await self._finish(self._unread(self._continuing()).recover())

    def recover_stream(self) -> AsyncEventStream:
        """``recover()``, yielding loop events like ``stream``."""
        return self._events(self._continuing().recover())

    def cancel(self) -> bool:
        """Stop the running turn; callable from any thread or task (a UI's Stop button).

        The turn stops at its next safe point: a model request in flight is dropped,
        running tool calls get ``interrupt_grace`` seconds to finish (what they return is
        recorded; a call still running then is in doubt, see ``in_doubt``), queued calls are
        answered "not run". The turn then ends ``"cancelled"`` (``send`` returns it, a stream
        ends with ``TurnCompleted``), or pauses for a decision on calls in doubt; history
        stays sendable. A background turn still running is cancelled too. Returns False when
        no turn runs."""
        if self._stop.request():
            return True
        background = self._background
        if background is None or background.done:
            return False
        background._request_cancel()
        return True

    async def aclose(self) -> None:
        """Release the tools' threads, close toolsets, and close the client if this
        conversation created it (a client passed in stays open)."""
        if self._owns_tools:
            await asyncio.to_thread(self.tools.close)
        if self._owns_client:
            await self.client.close()

    async def __aenter__(self) -> AsyncConversation:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _events(self, proto: Protocol) -> AsyncEventStream:
        events = adrive(proto, AsyncConversationWorld(self, True))
        return AsyncEventStream(self._stop.aevents(self._journaled_on_close(events)))

    async def _journaled_on_close(
        self, events: AsyncIterator[LoopEvent]
    ) -> AsyncIterator[LoopEvent]:
        """See ``Conversation._journaled_on_close``."""
        try:
            async for event in events:
                yield event
        except GeneratorExit:
            await events.aclose()  # type: ignore[attr-defined]
            journal = self._state.journal
            if self.store is not None and journal is not None and journal.pending:
                await awrite(self.store, journal, self._pending_meta(journal))
            raise

    def _continuation(self, proto: Protocol) -> Callable[[Interaction], Any]:
        async def finish(interaction: Interaction) -> Turn:
            self._state.status.check("continue")
            return await self._finish(proto, first=interaction)

        return finish

    async def _finish(self, proto: Protocol, first: Any = None) -> Turn:
        turn: Turn | None = None
        with self._stop.running():
            try:
                async for event in adrive(proto, AsyncConversationWorld(self, False), first=first):
                    if isinstance(event, TurnCompleted):
                        turn = event.turn
            except CancelledError as exc:
                turn = self._stop.stopped(exc)
        assert turn is not None
        return turn

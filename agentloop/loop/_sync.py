"""The blocking world: ``drive`` (the drive loop), the world that performs effects with a
``Client``, and ``Conversation``.

This module and ``_async.py`` are the same text but for ``async``/``await`` and the names of
the two worlds (``tests/loop/test_conversation_unasync.py``): a fix made to one and forgotten
in the other fails there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
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
from ._world import Suspended, call_blocking, check_client, retry_event, summarize_call
from .background import BackgroundTurn
from .branches import TimeTravel
from .cancel import CancelledError
from .compaction import Compaction
from .effects import Emit, Persist, Protocol, RunHook, RunTools, SendRequest, WaitBackground
from .events import Compacted, LoopEvent, SSETranslator, TurnCompleted
from .lease import write
from .limits import UsageLimits
from .settings import turn_overrides
from .turn import Turn

if TYPE_CHECKING:
    from agentloop.client import Client
    from agentloop.stores import ConversationStore
    from agentloop.tools import ToolLike

    from .state import Strategy

__all__ = ["Conversation", "ConversationWorld", "EventStream", "drive"]


def drive(
    proto: Protocol, world: Any, *, first: Any = None, suspend: bool = False
) -> Iterator[LoopEvent]:
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
                    yield from world.request(effect, box)
                    value = box[0]
                else:
                    value = world.perform(effect)
            except BaseException as exc:
                error = exc
    finally:
        advance.close()


class ConversationWorld:
    """Performs a conversation's effects with its ``Client``, tools and store."""

    __slots__ = ("conv", "stream")

    def __init__(self, conv: Conversation, stream: bool) -> None:
        self.conv = conv
        self.stream = stream  # requests as server-sent events (the events are yielded)

    def perform(self, effect: Any) -> Any:
        conv = self.conv
        kind = type(effect)
        if kind is RunTools:
            effect.progress.stop = conv._stop.wake
            with conv._stop.guard():
                return conv.tools.run(
                    effect.calls,
                    context=conv._tool_context,
                    around=effect.around,
                    progress=effect.progress,
                    grace=effect.grace,
                )
        if kind is Persist:
            assert conv.store is not None
            with hold_interrupts():  # (not cut between the store's write and the journal's)
                write(conv.store, effect.journal, conv._pending_meta(effect.journal))
            return None
        if kind is RunHook:
            return call_blocking(effect.hook, effect.event, conv.tools._get_loop)
        if kind is WaitBackground:
            return conv.client.interactions.wait(str(effect.interaction.id))
        return call_blocking(summarize_call(effect), conv.client, conv.tools._get_loop)

    def request(self, effect: SendRequest, box: list[Interaction]) -> Iterator[LoopEvent]:
        client, stop = self.conv.client, self.conv._stop
        if not self.stream and effect.watch is None:
            # Nobody reads this request's retry events (``send``: only ``TurnCompleted`` is
            # looked at; no observer): no retry listener.
            box.append(stop.call(client.interactions.create, **effect.body))
            return
        retries: list[LoopEvent] = []
        failed: Exception | None = None
        try:
            with on_retry(lambda info: retries.append(retry_event(info))):
                if not self.stream:
                    box.append(stop.call(client.interactions.create, **effect.body))
                else:
                    create = client.interactions.create
                    events = stop.call(create, stream=True, **effect.body)
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
        with events:  # noqa: SIM117 (as the awaiting driver spells it)
            with stop.guard(events):
                for event in events:
                    stop.check()
                    for loop_event in translate(event):
                        if watch is not None:
                            watch(loop_event)
                        yield loop_event
        box.append(events.interaction)


class EventStream:
    """The events of one turn (``for``); ``with`` ends the turn cleanly when the
    block is left early (the turn is interrupted, history stays valid, the next turn may
    start)."""

    __slots__ = ("_events",)

    def __init__(self, events: Iterator[LoopEvent]) -> None:
        self._events = events

    def __iter__(self) -> EventStream:
        return self

    def __next__(self) -> LoopEvent:
        return self._events.__next__()

    def close(self) -> None:
        """Stop the turn now, if it still runs."""
        self._events.close()  # type: ignore[attr-defined]

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Conversation(TimeTravel, ConversationCore):
    """A multi-turn chat or agent loop on a blocking ``Client``.

    ``send`` runs one user turn to completion (tool calls included) and returns a ``Turn``;
    ``stream`` yields loop events as they happen and ends with ``TurnCompleted``. With
    ``store=`` and ``id=`` every step is journaled to the store as it happens.
    """

    client: Client

    def __init__(
        self,
        client: Client | None = None,
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
        """Create a conversation.

        Args:
            client: The ``Client`` (default: ``Client()`` from ``GEMINI_API_KEY``).
            model: The model id (default ``gemini-3.5-flash``); or give ``agent``.
            agent: An agent id instead of a model.
            tools: ``@tool`` functions, ``Tool`` objects, registries, toolsets, and built-in
                tool dicts (``{"type": "google_search"}``).
            strategy: ``"stateful"`` (chain with ``previous_interaction_id``) or
                ``"stateless"`` (resend history with ``store=false``).
            system_instruction: The system instruction of every request.
            generation_config: ``GenerationConfig`` or dict (model form only).
            response_format: A response format for every turn.
            max_steps: How many model requests one turn may make (each tool round trip is
                one request).
            response_model: A pydantic model (or type) the final text is parsed into.
            deps: Any object tools receive as ``ctx.deps``.
            agent_config: Agent configuration (agent form).
            environment: The environment field of requests (an ``Environment`` or its JSON;
                its env var values are secrets: never saved, redacted in reprs).
            service_tier: ``"standard"``, ``"flex"``, ``"priority"`` or ``"deferred"``.
            safety_settings: ``SafetySetting`` objects (or dicts): category and threshold.
            labels: Key-value labels of every request (billing and reporting).
            webhook_config: ``WebhookConfig``: the webhook ``uris`` to call when a run
                finishes (background turns) and the ``user_metadata`` they echo.
            response_modalities: The output modalities (``["text", "image"]``...).
            extra_body: More request fields, sent as given.
            id: The conversation id (journal key in ``store``); random when omitted.
            store: A ``ConversationStore``: every step is journaled to it as it happens.
            compaction: A ``Compaction`` policy that keeps requests inside the context window
                (``model_view`` is what the model gets; ``history`` keeps every step).
            limits: ``UsageLimits`` counted over the conversation's life (``usage``).
            name: The agent's name in traces (``invoke_agent {name}`` spans).
            hooks: ``agentloop.Hooks(...)``, objects with hook methods, or a list of them
                (see docs/observability.md); they run in the order given.
            instrument: ``False`` keeps this conversation out of traces, metrics and the
                ``agentloop`` log lines even when ``agentloop.instrument()`` is on.
            output_retries: How many times an answer that does not parse into
                ``response_model`` (or that an output validator refuses with ``ModelRetry``)
                goes back to the model with the reason before ``OutputValidationError``.
        """
        from agentloop.client import Client

        owns_client = client is None
        if client is None:
            client = Client()
            client._closed_by = (
                "its conversation (conv.close() was called, or its with block ended)"
            )
        else:
            check_client(client, Client)
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
    def send(
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
    def send(
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
    ) -> BackgroundTurn: ...

    def send(
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
    ) -> Turn | BackgroundTurn:
        """Run one user turn to completion and return its ``Turn``.

        With ``background=True`` the first request runs in the background and a
        ``BackgroundTurn`` handle is returned at once (``wait()``, ``poll()``, ``cancel()``).
        ``limits``: ``UsageLimits`` for this turn (on top of the conversation's).
        ``service_tier``, ``safety_settings``, ``labels``, ``webhook_config`` and
        ``response_modalities`` replace the conversation's for this turn's requests;
        ``output_retries`` replaces the conversation's output retries.
        """
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
            return self._finish(proto)
        turn: Turn | None = None
        for event in drive(proto, ConversationWorld(self, False), suspend=True):
            if isinstance(event, Suspended):
                handle = BackgroundTurn(self, event.interaction, self._continuation(proto))
                self._background = handle
                return handle
            if isinstance(event, TurnCompleted):
                turn = event.turn
        return BackgroundTurn(self, None, None, turn=turn)

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
    ) -> EventStream:
        """Run one user turn, yielding loop events; the last one is ``TurnCompleted``.

        The turn starts when iteration starts (the input is checked at once). Use it as a
        context manager (``with conv.stream(x) as events:``) to end the turn cleanly
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

    def compact(self) -> Compacted | None:
        """Compact the model view now (with ``compaction``, or a default ``Compaction()``);
        returns the ``Compacted`` event, or ``None`` when nothing could be folded."""
        done: Compacted | None = None
        for event in drive(self._compaction_protocol(), ConversationWorld(self, False)):
            if isinstance(event, Compacted):
                done = event
        return done

    def resume(self) -> Turn:
        """Continue a turn paused for approval, after ``approve``/``reject`` of each call."""
        return self._finish(self._unread(self._continuing()).resume())

    def resume_stream(self) -> EventStream:
        """``resume()``, yielding loop events like ``stream``."""
        return self._events(self._continuing().resume())

    def recover(self) -> Turn:
        """Finish the turn a crash cut short (see ``needs_recovery``): journaled tool results
        are reused, never run again; a call that started without a journaled result runs
        again only if its tool is ``@tool(idempotent=True)``, else the turn pauses with it in
        ``pending_approvals`` (in doubt: it may have run); the request in flight is resent."""
        return self._finish(self._unread(self._continuing()).recover())

    def recover_stream(self) -> EventStream:
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

    def close(self) -> None:
        """Release the tools' threads, close toolsets, and close the client if this
        conversation created it (a client passed in stays open)."""
        if self._owns_tools:
            self.tools.close()
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> Conversation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _events(self, proto: Protocol) -> EventStream:
        events = drive(proto, ConversationWorld(self, True))
        return EventStream(self._stop.events(self._journaled_on_close(events)))

    def _journaled_on_close(self, events: Iterator[LoopEvent]) -> Iterator[LoopEvent]:
        """A stream closed early (``break``, ``with``, ``close()``) ends its turn, but the
        engine cannot write how it ended (``GeneratorExit`` cannot wait for a write): write
        it here, so the store says what history says."""
        try:
            yield from events
        except GeneratorExit:
            events.close()  # type: ignore[attr-defined]  # (closed already: as the async one)
            journal = self._state.journal
            if self.store is not None and journal is not None and journal.pending:
                write(self.store, journal, self._pending_meta(journal))
            raise

    def _continuation(self, proto: Protocol) -> Callable[[Interaction], Any]:
        def finish(interaction: Interaction) -> Turn:
            self._state.status.check("continue")
            return self._finish(proto, first=interaction)

        return finish

    def _finish(self, proto: Protocol, first: Any = None) -> Turn:
        turn: Turn | None = None
        with self._stop.running():
            try:
                for event in drive(proto, ConversationWorld(self, False), first=first):
                    if isinstance(event, TurnCompleted):
                        turn = event.turn
            except CancelledError as exc:
                turn = self._stop.stopped(exc)
        assert turn is not None
        return turn

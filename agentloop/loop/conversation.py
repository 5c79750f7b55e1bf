"""``Conversation`` and ``AsyncConversation``: thin drivers around the sans-I/O ``TurnEngine``.

Everything a turn decides lives in ``engine.py``. The two classes here only perform effects:
send a request (plain or streamed), run tool calls, wait for a background run. The effect
dispatch is the only code that exists twice, once blocking and once awaiting.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from agentloop.types import (
    FunctionCallStep,
    Interaction,
    RawJSON,
    WireModel,
)

from .background import AsyncBackgroundTurn, BackgroundTurn
from .engine import (
    STRATEGIES,
    ConversationState,
    Effect,
    Emit,
    RunTools,
    SendRequest,
    Strategy,
    TurnEngine,
    WaitBackground,
)
from .events import LoopEvent, Retrying, SSETranslator, TurnCompleted
from .structured import output_parser, response_format_for
from .turn import Turn

if TYPE_CHECKING:
    from agentloop.client import AsyncClient, Client
    from agentloop.tools import Tool, ToolContext, ToolRegistry

__all__ = ["AsyncBackgroundTurn", "AsyncConversation", "BackgroundTurn", "Conversation"]

DEFAULT_MODEL = "gemini-3.5-flash"

C = TypeVar("C", bound="_ConversationCore")


@dataclass(slots=True)
class _Suspended(LoopEvent):
    """Private: the turn is waiting on a background interaction."""

    type: ClassVar[str] = "suspended"
    interaction: Interaction


def _jsonable(value: Any) -> Any:
    if isinstance(value, WireModel):
        return value.model_dump(mode="json")
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    return value


class _ConversationCore:
    """Configuration, state and everything the two drivers share."""

    def __init__(
        self,
        client: Any = None,
        model: str | None = None,
        agent: str | None = None,
        tools: Iterable[Any] = (),
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
        extra_body: dict[str, Any] | None = None,
        id: str | None = None,
    ) -> None:
        from agentloop.tools import ToolRegistry

        if model is not None and agent is not None:
            raise ValueError("pass either model= or agent=, not both (the API takes one)")
        if agent is None and model is None:
            model = DEFAULT_MODEL
        if agent is not None and generation_config is not None:
            raise ValueError(
                "generation_config is not allowed with agent= (spec: model form only); "
                "use agent_config= for agents"
            )
        if max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {max_steps}")
        self.client = client
        self.model = model
        self.agent = agent
        self.system_instruction = system_instruction
        self.generation_config = generation_config
        self.response_format = response_format
        self.response_model = response_model
        self.max_steps = max_steps
        self.deps = deps
        self.agent_config = agent_config
        self.environment = environment
        self.extra_body = dict(extra_body or {})
        self.id = id or os.urandom(8).hex()
        self.builtin_tools: list[Any] = []
        functions: list[Any] = []
        for item in tools if not isinstance(tools, ToolRegistry) else [tools]:
            if isinstance(item, (dict, WireModel)):
                self.builtin_tools.append(_jsonable(item))
            else:
                functions.append(item)
        self.tools: ToolRegistry = ToolRegistry(functions)
        self._state = ConversationState()
        self._background: Any = None  # the BackgroundTurn still running, if any
        # (a private JSON copy of the last static body, that body with values pre-encoded)
        self._static_cache: tuple[dict[str, Any], dict[str, Any]] | None = None
        self.strategy = strategy

    # --- public state -------------------------------------------------------------------------

    @property
    def strategy(self) -> Strategy:
        """``"stateful"`` or ``"stateless"``; assign between turns to switch."""
        return self._state.strategy

    @strategy.setter
    def strategy(self, value: Strategy) -> None:
        if value not in STRATEGIES:
            raise ValueError(f"strategy must be 'stateful' or 'stateless', got {value!r}")
        self._state.strategy = value

    @property
    def history(self) -> list[Any]:
        """Every step of the conversation, in order (a copy)."""
        return list(self._state.history)

    @property
    def last_interaction_id(self) -> str | None:
        """The id of the last stored interaction the next stateful turn chains onto."""
        return self._state.chain_id

    @property
    def pending_approvals(self) -> list[FunctionCallStep]:
        paused = self._state.paused
        return list(paused.awaiting) if paused else []

    def approve(self, call_id: str) -> None:
        """Allow a call that waits for approval; ``resume()`` runs it."""
        self._decide(call_id, True, None)

    def reject(self, call_id: str, reason: str | None = None) -> None:
        """Refuse a call; the model gets an error result with ``reason``."""
        self._decide(call_id, False, reason)

    def _decide(self, call_id: str, ok: bool, reason: str | None) -> None:
        paused = self._state.paused
        if paused is None:
            raise ValueError("no call is waiting for approval in this conversation")
        ids = [c.id for c in paused.awaiting]
        if call_id not in ids:
            raise ValueError(f"call {call_id!r} is not waiting for approval; waiting: {ids}")
        paused.decisions[call_id] = (ok, reason)

    # --- engine plumbing -----------------------------------------------------------------------

    def _static_body(self, response_model: Any, response_format: Any) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.agent is not None:
            body["agent"] = self.agent
        else:
            body["model"] = self.model
        tools = self.tools.declarations() + self.builtin_tools if self.tools else self.builtin_tools
        if tools:
            body["tools"] = tools
        if self.system_instruction is not None:
            body["system_instruction"] = self.system_instruction
        if self.generation_config is not None:
            body["generation_config"] = _jsonable(self.generation_config)
        fmt = response_format if response_format is not None else self.response_format
        model = response_model if response_model is not None else self.response_model
        if fmt is None and model is not None:
            fmt = response_format_for(model)
        if fmt is not None:
            body["response_format"] = _jsonable(fmt)
        if self.agent_config is not None:
            body["agent_config"] = _jsonable(self.agent_config)
        if self.environment is not None:
            body["environment"] = _jsonable(self.environment)
        body.update(self.extra_body)
        return body

    def _encoded(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` with its structured values pre-encoded as ``RawJSON``, reused while the
        static body stays equal, so that tool schemas and configs are not JSON-encoded again
        on every request. The comparison is with a private JSON copy, so in-place changes to
        a config dict are seen. Scalars stay plain: the engine reads some of them."""
        cached = self._static_cache
        if cached is not None and cached[0] == body:
            return cached[1]
        from agentloop.client._core import encode_json

        try:
            encoded = {
                key: RawJSON(encode_json(value)) if isinstance(value, (dict, list)) else value
                for key, value in body.items()
            }
            snapshot = {
                key: json.loads(value.data) if isinstance(value, RawJSON) else value
                for key, value in encoded.items()
            }
        except Exception:  # not JSON-ready: let the client report it when sending
            return body
        self._static_cache = (snapshot, encoded)
        return encoded

    def _engine(
        self, response_model: Any = None, response_format: Any = None, background: bool = False
    ) -> TurnEngine:
        running = self._background
        if running is not None and not running.done:
            raise RuntimeError(
                f"background turn {running.id} is still running; call wait(), poll() or "
                "cancel() on it before starting another turn (its steps belong in history first)"
            )
        if background and self._state.strategy == "stateless":
            raise ValueError(
                "background turns need the stateful strategy: the API requires store=true "
                "for background=true; set conv.strategy = 'stateful' first"
            )
        model = response_model if response_model is not None else self.response_model
        registry = self.tools

        def needs_approval(name: str) -> bool:
            found = registry.get(name)
            return bool(found is not None and found.requires_approval)

        return TurnEngine(
            self._state,
            static_body=self._encoded(self._static_body(response_model, response_format)),
            max_steps=self.max_steps,
            needs_approval=needs_approval,
            parse_output=output_parser(model) if model is not None else None,
            background=background,
        )

    def _tool_context(
        self, call: FunctionCallStep, tool: Tool[..., Any] | None
    ) -> ToolContext[Any]:
        from agentloop.tools import ToolContext

        return ToolContext(
            call_id=call.id,
            tool_name=call.name,
            arguments=call.arguments,
            conversation=self,
            deps=self.deps,
        )

    # --- persistence --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot (no client, no API key)."""
        from agentloop.stores.snapshot import snapshot

        return snapshot(self)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the conversation to a JSON file atomically."""
        from agentloop.stores.json_file import write_json_atomic

        write_json_atomic(Path(path), self.to_dict())

    @classmethod
    def load(
        cls: type[C],
        path: str | os.PathLike[str],
        client: Any = None,
        tools: Iterable[Any] = (),
        **overrides: Any,
    ) -> C:
        """Load a conversation saved with ``save``; pass the tools it should run.

        ``overrides`` replace saved settings (``max_steps=``, ``response_model=``, ``deps=``…).
        """
        from agentloop.stores.json_file import read_json

        return cls.from_dict(read_json(Path(path)), client=client, tools=tools, **overrides)

    @classmethod
    def from_dict(
        cls: type[C],
        data: dict[str, Any],
        client: Any = None,
        tools: Iterable[Any] = (),
        **overrides: Any,
    ) -> C:
        """Rebuild a conversation from ``to_dict()`` output."""
        from agentloop.stores.snapshot import restore

        conv = restore(cls, data, client=client, tools=tools, **overrides)
        assert isinstance(conv, cls)
        return conv

    # --- closing -------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the tools' threads and close their toolsets (e.g. stop MCP servers)."""
        self.tools.close()

    def __repr__(self) -> str:
        who = f"agent={self.agent!r}" if self.agent else f"model={self.model!r}"
        return (
            f"{type(self).__name__}(id={self.id!r}, {who}, strategy={self.strategy!r}, "
            f"steps={len(self._state.history)}, tools={self.tools.names})"
        )


def _retry_event(info: Any) -> Retrying:
    reason = getattr(info, "message", None) or str(getattr(info, "status_code", "") or "")
    return Retrying(
        attempt=int(getattr(info, "attempt", 0)),
        wait=float(getattr(info, "wait", 0.0)),
        reason=str(reason),
    )


class Conversation(_ConversationCore):
    """A multi-turn chat or agent loop on a blocking ``Client``.

    ``send`` runs one user turn to completion (tool calls included) and returns a ``Turn``;
    ``stream`` yields loop events as they happen and ends with ``TurnCompleted``.
    """

    client: Client

    def __init__(self, client: Client | None = None, *args: Any, **kwargs: Any) -> None:
        if client is None:
            from agentloop.client import Client

            client = Client()
        super().__init__(client, *args, **kwargs)

    def __enter__(self: C) -> C:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- turns ---------------------------------------------------------------------------------

    def send(
        self,
        input: Any,
        *,
        response_model: Any = None,
        response_format: Any = None,
        background: bool = False,
    ) -> Any:
        """Run one user turn to completion and return its ``Turn``.

        With ``background=True`` the first request runs in the background and a
        ``BackgroundTurn`` handle is returned at once (``wait()``, ``poll()``, ``cancel()``).
        """
        engine = self._engine(response_model, response_format, background)
        proto = engine.start(input)
        if background:
            for event in self._drive(proto, stream=False, stop_at_wait=True):
                if isinstance(event, _Suspended):
                    self._background = BackgroundTurn(self, proto, event.interaction)
                    return self._background
                if isinstance(event, TurnCompleted):
                    return BackgroundTurn(self, proto, None, turn=event.turn)
            raise RuntimeError("the turn ended without a result")  # pragma: no cover
        return self._finish(proto, stream=False)

    def stream(
        self, input: Any, *, response_model: Any = None, response_format: Any = None
    ) -> Iterator[LoopEvent]:
        """Run one user turn, yielding loop events; the last one is ``TurnCompleted``."""
        engine = self._engine(response_model, response_format)
        return self._drive(engine.start(input), stream=True)

    def resume(self) -> Turn:
        """Continue a turn paused for approval, after ``approve``/``reject`` of each call."""
        return self._finish(self._engine().resume(), stream=False)

    def resume_stream(self) -> Iterator[LoopEvent]:
        """``resume()``, yielding loop events like ``stream``."""
        return self._drive(self._engine().resume(), stream=True)

    def _finish(
        self, proto: Generator[Effect, Any, Turn], *, stream: bool, first: Any = None
    ) -> Turn:
        turn: Turn | None = None
        for event in self._drive(proto, stream=stream, first=first):
            if isinstance(event, TurnCompleted):
                turn = event.turn
        assert turn is not None
        return turn

    # --- the driver ----------------------------------------------------------------------------

    def _drive(
        self,
        proto: Generator[Effect, Any, Turn],
        *,
        stream: bool,
        first: Any = None,
        stop_at_wait: bool = False,
    ) -> Iterator[LoopEvent]:
        value: Any = first
        error: BaseException | None = None
        while True:
            try:
                effect = proto.throw(error) if error is not None else proto.send(value)
            except StopIteration:
                return
            value = error = None
            try:
                if isinstance(effect, Emit):
                    yield effect.event
                elif isinstance(effect, SendRequest):
                    value = yield from self._request(effect.body, stream)
                elif isinstance(effect, RunTools):
                    value = self.tools.run(effect.calls, context=self._tool_context)
                elif stop_at_wait:
                    break  # hand the suspended protocol to a BackgroundTurn, untouched
                else:
                    value = self.client.interactions.wait(str(effect.interaction.id))
            except BaseException as exc:
                error = exc
        assert isinstance(effect, WaitBackground)
        yield _Suspended(interaction=effect.interaction)

    def _request(
        self, body: dict[str, Any], stream: bool
    ) -> Generator[LoopEvent, None, Interaction]:
        from agentloop.client import on_retry

        retries: list[LoopEvent] = []
        with on_retry(lambda info: retries.append(_retry_event(info))):
            if not stream:
                interaction: Interaction = self.client.interactions.create(**body)
            else:
                events = self.client.interactions.create(stream=True, **body)
        yield from retries
        if not stream:
            return interaction
        translate = SSETranslator().feed
        with events:
            for event in events:
                yield from translate(event)
        return events.interaction


class AsyncConversation(_ConversationCore):
    """The same conversation on an ``AsyncClient``: ``await send(...)``, ``async for`` streams."""

    client: AsyncClient

    def __init__(self, client: AsyncClient | None = None, *args: Any, **kwargs: Any) -> None:
        if client is None:
            from agentloop.client import AsyncClient

            client = AsyncClient()
        super().__init__(client, *args, **kwargs)

    async def aclose(self) -> None:
        """``close()`` without blocking the event loop (MCP servers take a moment to stop)."""
        await asyncio.to_thread(self.close)

    async def __aenter__(self: C) -> C:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def send(
        self,
        input: Any,
        *,
        response_model: Any = None,
        response_format: Any = None,
        background: bool = False,
    ) -> Any:
        engine = self._engine(response_model, response_format, background)
        proto = engine.start(input)
        if background:
            async for event in self._drive(proto, stream=False, stop_at_wait=True):
                if isinstance(event, _Suspended):
                    self._background = AsyncBackgroundTurn(self, proto, event.interaction)
                    return self._background
                if isinstance(event, TurnCompleted):
                    return AsyncBackgroundTurn(self, proto, None, turn=event.turn)
            raise RuntimeError("the turn ended without a result")  # pragma: no cover
        return await self._finish(proto, stream=False)

    def stream(
        self, input: Any, *, response_model: Any = None, response_format: Any = None
    ) -> AsyncIterator[LoopEvent]:
        engine = self._engine(response_model, response_format)
        return self._drive(engine.start(input), stream=True)

    async def resume(self) -> Turn:
        """Continue a turn paused for approval, after ``approve``/``reject`` of each call."""
        return await self._finish(self._engine().resume(), stream=False)

    def resume_stream(self) -> AsyncIterator[LoopEvent]:
        """``resume()``, yielding loop events like ``stream``."""
        return self._drive(self._engine().resume(), stream=True)

    async def _finish(
        self, proto: Generator[Effect, Any, Turn], *, stream: bool, first: Any = None
    ) -> Turn:
        turn: Turn | None = None
        async for event in self._drive(proto, stream=stream, first=first):
            if isinstance(event, TurnCompleted):
                turn = event.turn
        assert turn is not None
        return turn

    async def _drive(
        self,
        proto: Generator[Effect, Any, Turn],
        *,
        stream: bool,
        first: Any = None,
        stop_at_wait: bool = False,
    ) -> AsyncIterator[LoopEvent]:
        value: Any = first
        error: BaseException | None = None
        while True:
            try:
                effect = proto.throw(error) if error is not None else proto.send(value)
            except StopIteration:
                return
            value = error = None
            try:
                if isinstance(effect, Emit):
                    yield effect.event
                elif isinstance(effect, SendRequest):
                    box: list[Interaction] = []
                    async for event in self._request(effect.body, stream, box):
                        yield event
                    value = box[0]
                elif isinstance(effect, RunTools):
                    value = await self.tools.arun(effect.calls, context=self._tool_context)
                elif stop_at_wait:
                    break  # hand the suspended protocol to a BackgroundTurn, untouched
                else:
                    value = await self.client.interactions.wait(str(effect.interaction.id))
            except BaseException as exc:
                error = exc
        assert isinstance(effect, WaitBackground)
        yield _Suspended(interaction=effect.interaction)

    async def _request(
        self, body: dict[str, Any], stream: bool, box: list[Interaction]
    ) -> AsyncIterator[LoopEvent]:
        from agentloop.client import on_retry

        retries: list[LoopEvent] = []
        with on_retry(lambda info: retries.append(_retry_event(info))):
            if not stream:
                box.append(await self.client.interactions.create(**body))
            else:
                events = await self.client.interactions.create(stream=True, **body)
        for retry in retries:
            yield retry
        if not stream:
            return
        translate = SSETranslator().feed
        async with events:
            async for event in events:
                for loop_event in translate(event):
                    yield loop_event
        box.append(events.interaction)

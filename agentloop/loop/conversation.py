"""``Conversation`` and ``AsyncConversation``: thin drivers around the sans-I/O ``TurnEngine``.

Everything a turn decides lives in ``engine.py``; the saved forms live in ``state.py`` and
``persist.py``. The two classes here only perform effects: send a request (plain or
streamed), run tool calls, wait for a background run, write journal records to the store.
The effect dispatch is the only code that exists twice, once blocking and once awaiting.

One turn at a time: a turn holds the conversation's lock from its first step to its last, so
a second ``send``/``stream``/``resume``/``recover`` from any thread or task raises
``TurnInProgressError`` at once and changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, cast, overload

from agentloop._defaults import DEFAULT_MODEL, new_id
from agentloop.errors import ConfigurationError, StateError, TurnInProgressError
from agentloop.observe import observer_for, watched
from agentloop.types import FunctionCallStep, Interaction, RawJSON, WireModel

from .background import AsyncBackgroundTurn, BackgroundTurn
from .compaction import Compaction, Summarize, compact_now
from .engine import (
    Effect,
    Emit,
    Persist,
    Protocol,
    RunTools,
    SendRequest,
    TurnEngine,
    WaitBackground,
)
from .events import Compacted, LoopEvent, Retrying, SSETranslator, TurnCompleted
from .hooks import RunHook, hook_set
from .limits import LimitGuard, NestedGuard, UsageLimits, UsageTotals
from .persist import from_document, settings_of, to_document
from .state import STRATEGIES, ConversationState, Journal, Strategy
from .structured import output_parser, response_format_for
from .turn import Turn

if TYPE_CHECKING:
    from agentloop.client import AsyncClient, Client
    from agentloop.stores import ConversationStore
    from agentloop.tools import Tool, ToolContext, ToolLike, ToolRegistry

__all__ = ["AsyncBackgroundTurn", "AsyncConversation", "BackgroundTurn", "Conversation"]

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

    client: Any
    _asynchronous: ClassVar[bool] = False

    def __init__(
        self,
        client: Any,
        model: str | None,
        agent: str | None,
        tools: Iterable[ToolLike | dict[str, Any] | WireModel],
        strategy: Strategy,
        system_instruction: str | None,
        generation_config: Any,
        response_format: Any,
        max_steps: int,
        response_model: Any,
        deps: Any,
        agent_config: Any,
        environment: Any,
        extra_body: dict[str, Any] | None,
        id: str | None,
        store: ConversationStore | None,
        compaction: Compaction | None = None,
        limits: UsageLimits | None = None,
        *,
        name: str | None = None,
        hooks: Any = None,
        instrument: bool = True,
        output_retries: int = 1,
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
        self.output_retries = _retries(output_retries)
        # Callables ``fn(output) -> output`` (sync or async) run on each parsed answer; one may
        # raise ``ModelRetry`` to refuse it (``Agent`` sets them).
        self.output_validators: tuple[Callable[[Any], Any], ...] = ()
        # Set by an ``Agent``: the agent graph this conversation runs (agents/_runtime.py).
        self._agents: Any = None
        # A sub-agent's parent conversation (its limits hold here too) and this turn's guard.
        self._parent: Any = None
        self._children: dict[str, Any] = {}  # sub-agents paused for approval (no store)
        self._turn_guard: Any = None
        self.deps = deps
        self.agent_config = agent_config
        self.environment = environment
        self.extra_body = dict(extra_body or {})
        self.id = id or new_id()
        self.name = name  # the agent's name in traces (gen_ai.agent.name)
        self.hooks = hooks  # agentloop.Hooks, hook objects, or a list of them
        hook_set(hooks, self)  # fail now on a malformed spec (read again at each turn)
        self.instrument = instrument  # False: no spans, metrics or log lines for this one
        self.builtin_tools: list[Any] = []
        functions: list[Any] = []
        for item in tools if not isinstance(tools, ToolRegistry) else [tools]:
            variant = getattr(item, "variant_for", None)
            if variant is not None:  # a tool with one form per driver (sub-agents)
                item = variant(self._asynchronous)
            if isinstance(item, (dict, WireModel)):
                self.builtin_tools.append(_jsonable(item))
            else:
                functions.append(item)
        self.tools: ToolRegistry = ToolRegistry(functions)
        self._state = ConversationState()
        self._lock = threading.Lock()  # held while a turn runs: one turn at a time
        self._background: Any = None  # the background turn still running, if any
        # (a private JSON copy of the last static body, that body with values pre-encoded)
        self._static_cache: tuple[dict[str, Any], dict[str, Any]] | None = None
        self.strategy = strategy
        self.compaction = compaction
        if limits is not None:
            limits.check_priced(model if model is not None else agent)
        self.limits = limits
        self.store: ConversationStore | None = None
        self._journaled_settings: dict[str, Any] | None = None
        self._store_meta: dict[str, Any] = {}
        if store is not None:
            self._attach(store, version=0)

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
    def compaction(self) -> Compaction | None:
        """The ``Compaction`` policy (``None``: requests carry the whole history); assign
        between turns to change it."""
        return self._compaction

    @compaction.setter
    def compaction(self, value: Compaction | None) -> None:
        if value is not None and not isinstance(value, Compaction):
            raise ConfigurationError(
                f"compaction must be an agentloop.Compaction or None, not {value!r}"
            )
        if value is not None and value.summarize == "model" and self.model is None:
            raise ConfigurationError(
                "Compaction(summarize='model') needs a model conversation (model=...); an agent "
                "cannot be asked for a summary. Pass a summarize callable instead"
            )
        self._compaction = value
        chars = value.max_tool_result_chars if value is not None else None
        view = self._state.view
        if chars != view.max_result_chars:
            view.configure(chars, self._state.history)
            self._state.record({"k": "view", "view": view.to_wire()})

    @property
    def model_view(self) -> list[Any]:
        """The steps the model gets on the next request: after compaction a summary (or
        marker) step, then the recent history verbatim; long tool results as sent (truncated).
        ``history`` keeps every step."""
        return self._state.view.steps(self._state.history)

    @property
    def active_agent(self) -> Any:
        """The ``Agent`` in charge (after handoffs), or ``None`` for a conversation that no
        ``Agent`` built."""
        return self._agents.active if self._agents is not None else None

    @property
    def usage(self) -> UsageTotals:
        """Model requests, tokens and cost over the conversation's life (``UsageTotals``)."""
        return self._state.usage

    @property
    def last_interaction_id(self) -> str | None:
        """The id of the last stored interaction the next stateful turn chains onto."""
        return self._state.chain_id

    @property
    def pending_approvals(self) -> list[FunctionCallStep]:
        """Calls of the paused turn waiting for ``approve``/``reject`` (then ``resume``)."""
        paused = self._state.paused
        return list(paused.awaiting) if paused else []

    @property
    def in_doubt(self) -> list[str]:
        """Ids of pending calls that had started before a crash and may have run."""
        paused = self._state.paused
        return sorted(paused.in_doubt) if paused else []

    @property
    def needs_recovery(self) -> bool:
        """True when the last turn was cut short (a crash, or saved mid-turn): call
        ``recover()`` to finish it, or ``send()`` to answer its open calls as interrupted and
        start a new turn."""
        return self._state.cut is not None

    @property
    def running(self) -> bool:
        """True while a turn runs on this conversation (in any thread or task)."""
        return self._lock.locked()

    def approve(self, call_id: str) -> None:
        """Allow a call that waits for approval; ``resume()`` runs it."""
        self._decide(call_id, True, None)

    def reject(self, call_id: str, reason: str | None = None) -> None:
        """Refuse a call; the model gets an error result with ``reason``."""
        self._decide(call_id, False, reason)

    def _decide(self, call_id: str, ok: bool, reason: str | None) -> None:
        paused = self._state.paused
        if paused is None:
            raise StateError(
                "no call is waiting for approval in this conversation; approve() and "
                "reject() apply to pending_approvals after a turn ends awaiting_approval"
            )
        ids = [c.id for c in paused.awaiting]
        if call_id not in ids:
            raise StateError(f"call {call_id!r} is not waiting for approval; waiting: {ids}")
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
        # Kept (issue 17): without it each request re-encodes the tool schemas, +5-10% a tool step.
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
        self,
        response_model: Any = None,
        response_format: Any = None,
        background: bool = False,
        limits: UsageLimits | None = None,
        output_retries: int | None = None,
    ) -> TurnEngine:
        running = self._background
        if running is not None and not running.done:
            raise TurnInProgressError(
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

        def needs_approval(call: FunctionCallStep) -> bool:
            return registry.needs_approval(call, self._tool_context)

        def is_idempotent(name: str) -> bool:
            found = registry.get(name)
            return bool(found is not None and found.idempotent)

        journal = self._state.journal
        if journal is not None:
            settings = settings_of(self)
            if settings != self._journaled_settings:
                journal.meta = settings  # written (with a title) by the next Persist
                self._journaled_settings = settings

        guard = self._turn_guard = self._guard(limits)
        return TurnEngine(
            self._state,
            static_body=self._encoded(self._static_body(response_model, response_format)),
            max_steps=self.max_steps,
            needs_approval=needs_approval,
            is_idempotent=is_idempotent,
            parse_output=output_parser(model) if model is not None else None,
            background=background,
            compaction=self._compaction,
            limits=guard,
            hooks=self._hook_set(),
            observe=observer_for(self) if self.instrument else None,
            output_retries=self.output_retries
            if output_retries is None
            else _retries(output_retries),
            on_results=self._agents.on_results if self._agents is not None else None,
            output_validators=self.output_validators,
        )

    def _hook_set(self) -> Any:
        hooks = self.hooks
        if self._agents is not None:  # the agents' own hook first: user hooks see its body
            hooks = [self._agents.hooks(self), *(hooks if isinstance(hooks, list) else [hooks])]
            hooks = [h for h in hooks if h is not None]
        return hook_set(hooks, self) if hooks is not None else None

    def _guard(self, limits: UsageLimits | None) -> LimitGuard | NestedGuard | None:
        guard = None
        if limits is not None or self.limits is not None:
            key = self.model if self.model is not None else self.agent
            guard = LimitGuard(self.limits, limits, key)
        parent = self._parent
        if parent is not None and (guard is not None or parent._turn_guard is not None):
            return NestedGuard(guard, parent._turn_guard, parent._state.usage)
        return guard

    def _compaction_protocol(self) -> Protocol:
        running = self._background
        if running is not None and not running.done:
            raise TurnInProgressError(
                f"background turn {running.id} is still running; wait for it before compact()"
            )
        guard = self._guard(None)
        price = guard.price if guard is not None else None
        proto = compact_now(self._state, self._compaction or Compaction(), self.model, price)
        return cast(Protocol, proto)  # driven like a turn; it returns the event, not a Turn

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

    def _acquire(self) -> None:
        if not self._lock.acquire(blocking=False):
            raise TurnInProgressError(
                f"conversation {self.id} is running a turn; wait for it to finish (one turn "
                "at a time per conversation; use another Conversation for parallel work)"
            )

    # --- persistence --------------------------------------------------------------------------

    def _attach(
        self,
        store: ConversationStore,
        version: int,
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Journal every change of this conversation to ``store`` from now on.

        ``meta`` is what the store holds beside the journal (a loaded conversation's). The
        settings are compared with it at each turn start, not here: reading them may start
        toolsets (MCP servers), which should wait for the first turn."""
        self.store = store
        self._store_meta = dict(meta or {})
        self._journaled_settings = self._store_meta.get("settings")
        self._state.journal = Journal(self.id, version)

    def _pending_meta(self, journal: Journal) -> dict[str, Any] | None:
        """The store meta to write with the journal's records (None: unchanged), computed at
        write time so that a new conversation's title is its first message."""
        return self._meta(journal.meta) if journal.meta is not None else None

    def _meta(self, settings: dict[str, Any]) -> dict[str, Any]:
        """What the store keeps beside the journal: the settings and a title for listings
        (other keys an application stored there are kept)."""
        title = None
        for step in self._state.history:
            if step.type == "user_input":
                texts = [getattr(c, "text", None) for c in getattr(step, "content", None) or []]
                title = next((t for t in texts if t), None)
                break
        meta = {**self._store_meta, "settings": settings, "title": title[:80] if title else None}
        self._store_meta = meta
        return meta

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot (no client, no API key)."""
        return to_document(self.id, settings_of(self), self._state)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the conversation to a JSON file atomically."""
        from agentloop.stores.json_file import write_json_atomic

        write_json_atomic(Path(path), self.to_dict())

    def save_to_store(self, store: ConversationStore, id: str | None = None) -> str:
        """Write the whole conversation to ``store`` as one snapshot (an explicit save that
        replaces what the store had under that id). Journaling conversations need no save."""
        from agentloop.loop.state import dumps

        key = id or self.id
        record = dumps({"k": "snapshot", "data": self.to_dict()})
        store.append(
            key,
            [record],
            expected_version=store.version(key),
            meta=self._meta(settings_of(self)),
        )
        return key

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
        """Rebuild a conversation from ``to_dict()`` output (refused with ``SnapshotError``,
        a ``ValueError`` naming the field, when it is inconsistent)."""
        conv_id, settings, state = from_document(data)
        return cls._rebuild(conv_id, settings, state, client, tools, overrides)

    @classmethod
    def from_store(
        cls: type[C],
        store: ConversationStore,
        id: str,
        client: Any = None,
        tools: Iterable[Any] = (),
        **overrides: Any,
    ) -> C:
        """Load a stored conversation; it keeps journaling to ``store``."""
        from .persist import fold

        stored = store.read(id)
        folded = fold(stored.records, stored.version)
        settings = dict((stored.meta or {}).get("settings") or folded.settings)
        conv = cls._rebuild(id, settings, folded.state, client, tools, overrides)
        conv._attach(store, stored.version, {**(stored.meta or {}), "settings": settings})
        return conv

    @classmethod
    def _rebuild(
        cls: type[C],
        conv_id: str | None,
        settings: dict[str, Any],
        state: ConversationState,
        client: Any,
        tools: Iterable[Any],
        overrides: dict[str, Any],
    ) -> C:
        kwargs: dict[str, Any] = {
            "model": settings.get("model"),
            "agent": settings.get("agent"),
            "tools": [*tools, *settings.get("builtin_tools", [])],
            "strategy": state.strategy,
            "system_instruction": settings.get("system_instruction"),
            "generation_config": settings.get("generation_config"),
            "response_format": settings.get("response_format"),
            "max_steps": settings.get("max_steps", 20),
            "agent_config": settings.get("agent_config"),
            "environment": settings.get("environment"),
            "extra_body": settings.get("extra_body"),
            "id": conv_id,
        }
        kwargs.update(overrides)
        conv = cls(client, **kwargs)
        strategy = conv._state.strategy
        conv._state = state
        state.strategy = strategy
        if "compaction" in overrides:  # its max_tool_result_chars applies to the loaded view
            conv.compaction = overrides["compaction"]
        return conv

    def __repr__(self) -> str:
        who = f"agent={self.agent!r}" if self.agent else f"model={self.model!r}"
        return (
            f"{type(self).__name__}(id={self.id!r}, {who}, strategy={self.strategy!r}, "
            f"steps={len(self._state.history)}, tools={self.tools.names})"
        )


def _retries(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"output_retries must be an int >= 0, not {value!r}")
    return value


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
    ``stream`` yields loop events as they happen and ends with ``TurnCompleted``. With
    ``store=`` and ``id=`` every step is journaled to the store as it happens.
    """

    client: Client

    def __init__(
        self,
        client: Client | None = None,
        model: str | None = None,
        agent: str | None = None,
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
            environment: The environment field of requests.
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
        if client is None:
            from agentloop.client import Client

            client = Client()
        super().__init__(
            client, model, agent, tools, strategy, system_instruction, generation_config,
            response_format, max_steps, response_model, deps, agent_config, environment,
            extra_body, id, store, compaction, limits,
            name=name, hooks=hooks, instrument=instrument, output_retries=output_retries,
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
    ) -> Turn | BackgroundTurn:
        """Run one user turn to completion and return its ``Turn``.

        With ``background=True`` the first request runs in the background and a
        ``BackgroundTurn`` handle is returned at once (``wait()``, ``poll()``, ``cancel()``).
        ``limits``: ``UsageLimits`` for this turn (on top of the conversation's);
        ``output_retries`` replaces the conversation's for this turn.
        """
        self._acquire()
        try:
            engine = self._engine(
                response_model, response_format, background, limits, output_retries
            )
            proto = engine.start(input)
            if not background:
                return self._finish(proto, stream=False)
            for event in self._drive(proto, stream=False, stop_at_wait=True):
                if isinstance(event, _Suspended):
                    handle = BackgroundTurn(self, event.interaction, self._continuation(proto))
                    self._background = handle
                    return handle
                if isinstance(event, TurnCompleted):
                    return BackgroundTurn(self, None, None, turn=event.turn)
            raise RuntimeError("the turn ended without a result")  # pragma: no cover
        finally:
            self._lock.release()

    def stream(
        self,
        input: Any,
        *,
        response_model: Any = None,
        response_format: Any = None,
        limits: UsageLimits | None = None,
        output_retries: int | None = None,
    ) -> Iterator[LoopEvent]:
        """Run one user turn, yielding loop events; the last one is ``TurnCompleted``.

        The turn starts when iteration starts (the input is checked at once)."""
        engine = self._engine(
            response_model, response_format, limits=limits, output_retries=output_retries
        )
        return self._locked(engine.start(input))

    def compact(self) -> Compacted | None:
        """Compact the model view now (with ``compaction``, or a default ``Compaction()``);
        returns the ``Compacted`` event, or ``None`` when nothing could be folded."""
        done: Compacted | None = None
        for event in self._locked(self._compaction_protocol()):
            if isinstance(event, Compacted):
                done = event
        return done

    def resume(self) -> Turn:
        """Continue a turn paused for approval, after ``approve``/``reject`` of each call."""
        self._acquire()
        try:
            return self._finish(self._engine().resume(), stream=False)
        finally:
            self._lock.release()

    def resume_stream(self) -> Iterator[LoopEvent]:
        """``resume()``, yielding loop events like ``stream``."""
        return self._locked(self._engine().resume())

    def recover(self) -> Turn:
        """Finish the turn a crash cut short (see ``needs_recovery``): journaled tool results
        are reused, never run again; a call that started without a journaled result runs
        again only if its tool is ``@tool(idempotent=True)``, else the turn pauses with it in
        ``pending_approvals`` (in doubt: it may have run); the request in flight is resent."""
        self._acquire()
        try:
            return self._finish(self._engine().recover(), stream=False)
        finally:
            self._lock.release()

    def recover_stream(self) -> Iterator[LoopEvent]:
        """``recover()``, yielding loop events like ``stream``."""
        return self._locked(self._engine().recover())

    def close(self) -> None:
        """Release the tools' threads and close toolsets (the client stays open)."""
        self.tools.close()

    def __enter__(self) -> Conversation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _locked(self, proto: Protocol) -> Iterator[LoopEvent]:
        self._acquire()
        try:
            yield from self._drive(proto, stream=True)
        finally:
            self._lock.release()

    def _continuation(self, proto: Protocol) -> Callable[[Interaction], Turn]:
        def finish(interaction: Interaction) -> Turn:
            self._acquire()
            try:
                return self._finish(proto, stream=False, first=interaction)
            finally:
                self._lock.release()

        return finish

    def _finish(self, proto: Protocol, *, stream: bool, first: Any = None) -> Turn:
        turn: Turn | None = None
        for event in self._drive(proto, stream=stream, first=first):
            if isinstance(event, TurnCompleted):
                turn = event.turn
        assert turn is not None
        return turn

    # --- the driver ----------------------------------------------------------------------------

    def _drive(
        self,
        proto: Protocol,
        *,
        stream: bool,
        first: Any = None,
        stop_at_wait: bool = False,
    ) -> Iterator[LoopEvent]:
        value: Any = first
        error: BaseException | None = None
        while True:
            try:
                effect: Effect = proto.throw(error) if error is not None else proto.send(value)
            except StopIteration:
                return
            value = error = None
            try:
                if isinstance(effect, Emit):
                    yield effect.event
                elif isinstance(effect, Persist):
                    journal = effect.journal
                    assert self.store is not None
                    journal.written(
                        self.store.append(
                            journal.id,
                            journal.pending,
                            expected_version=journal.version,
                            meta=self._pending_meta(journal),
                        )
                    )
                elif isinstance(effect, SendRequest):
                    value = yield from self._request(effect.body, stream, effect.watch)
                elif isinstance(effect, RunTools):
                    value = self.tools.run(
                        effect.calls, context=self._tool_context, around=effect.around
                    )
                elif isinstance(effect, Summarize):
                    value = effect.run(self.client)
                elif isinstance(effect, RunHook):
                    value = effect.run_sync(self.tools._get_loop)
                elif stop_at_wait:
                    break  # hand the suspended protocol to a BackgroundTurn, untouched
                else:
                    value = self.client.interactions.wait(str(effect.interaction.id))
            except BaseException as exc:
                error = exc
        assert isinstance(effect, WaitBackground)
        yield _Suspended(interaction=effect.interaction)

    def _request(
        self, body: dict[str, Any], stream: bool, watch: Any = None
    ) -> Generator[LoopEvent, None, Interaction]:
        from agentloop.client import on_retry

        retries: list[LoopEvent] = []
        with on_retry(lambda info: retries.append(_retry_event(info))):
            if not stream:
                interaction: Interaction = self.client.interactions.create(**body)
            else:
                events = self.client.interactions.create(stream=True, **body)
        if watch is not None:
            for retry in retries:
                watch(retry)
        yield from retries
        if not stream:
            return interaction
        translate = SSETranslator().feed if watch is None else watched(SSETranslator().feed, watch)
        with events:
            for event in events:
                yield from translate(event)
        return events.interaction


class AsyncConversation(_ConversationCore):
    """The same conversation on an ``AsyncClient``: ``await send(...)``, ``async for`` streams."""

    client: AsyncClient
    _asynchronous: ClassVar[bool] = True

    def __init__(
        self,
        client: AsyncClient | None = None,
        model: str | None = None,
        agent: str | None = None,
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
        if client is None:
            from agentloop.client import AsyncClient

            client = AsyncClient()
        super().__init__(
            client, model, agent, tools, strategy, system_instruction, generation_config,
            response_format, max_steps, response_model, deps, agent_config, environment,
            extra_body, id, store, compaction, limits,
            name=name, hooks=hooks, instrument=instrument, output_retries=output_retries,
        )  # fmt: skip

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
    ) -> Turn | AsyncBackgroundTurn:
        """Run one user turn to completion and return its ``Turn`` (``background=True``: an
        ``AsyncBackgroundTurn`` handle at once); ``limits`` as in ``Conversation.send``."""
        self._acquire()
        try:
            engine = self._engine(
                response_model, response_format, background, limits, output_retries
            )
            proto = engine.start(input)
            if not background:
                return await self._finish(proto, stream=False)
            async for event in self._drive(proto, stream=False, stop_at_wait=True):
                if isinstance(event, _Suspended):
                    handle = AsyncBackgroundTurn(self, event.interaction, self._continuation(proto))
                    self._background = handle
                    return handle
                if isinstance(event, TurnCompleted):
                    return AsyncBackgroundTurn(self, None, None, turn=event.turn)
            raise RuntimeError("the turn ended without a result")  # pragma: no cover
        finally:
            self._lock.release()

    def stream(
        self,
        input: Any,
        *,
        response_model: Any = None,
        response_format: Any = None,
        limits: UsageLimits | None = None,
        output_retries: int | None = None,
    ) -> AsyncIterator[LoopEvent]:
        """Run one user turn, yielding loop events (``async for``); the last one is
        ``TurnCompleted``. The turn starts when iteration starts."""
        engine = self._engine(
            response_model, response_format, limits=limits, output_retries=output_retries
        )
        return self._locked(engine.start(input))

    async def compact(self) -> Compacted | None:
        """Compact the model view now (see ``Conversation.compact``)."""
        done: Compacted | None = None
        async for event in self._locked(self._compaction_protocol()):
            if isinstance(event, Compacted):
                done = event
        return done

    async def resume(self) -> Turn:
        """Continue a turn paused for approval, after ``approve``/``reject`` of each call."""
        self._acquire()
        try:
            return await self._finish(self._engine().resume(), stream=False)
        finally:
            self._lock.release()

    def resume_stream(self) -> AsyncIterator[LoopEvent]:
        """``resume()``, yielding loop events like ``stream``."""
        return self._locked(self._engine().resume())

    async def recover(self) -> Turn:
        """Finish the turn a crash cut short; see ``Conversation.recover``."""
        self._acquire()
        try:
            return await self._finish(self._engine().recover(), stream=False)
        finally:
            self._lock.release()

    def recover_stream(self) -> AsyncIterator[LoopEvent]:
        """``recover()``, yielding loop events like ``stream``."""
        return self._locked(self._engine().recover())

    async def aclose(self) -> None:
        """Release the tools' threads and close toolsets (the client stays open), off the
        event loop: stopping an MCP server takes a moment."""
        await asyncio.to_thread(self.tools.close)

    async def __aenter__(self) -> AsyncConversation:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _locked(self, proto: Protocol) -> AsyncIterator[LoopEvent]:
        self._acquire()
        try:
            async for event in self._drive(proto, stream=True):
                yield event
        finally:
            self._lock.release()

    def _continuation(self, proto: Protocol) -> Callable[[Interaction], Any]:
        async def finish(interaction: Interaction) -> Turn:
            self._acquire()
            try:
                return await self._finish(proto, stream=False, first=interaction)
            finally:
                self._lock.release()

        return finish

    async def _finish(self, proto: Protocol, *, stream: bool, first: Any = None) -> Turn:
        turn: Turn | None = None
        async for event in self._drive(proto, stream=stream, first=first):
            if isinstance(event, TurnCompleted):
                turn = event.turn
        assert turn is not None
        return turn

    async def _drive(
        self,
        proto: Protocol,
        *,
        stream: bool,
        first: Any = None,
        stop_at_wait: bool = False,
    ) -> AsyncIterator[LoopEvent]:
        value: Any = first
        error: BaseException | None = None
        while True:
            try:
                effect: Effect = proto.throw(error) if error is not None else proto.send(value)
            except StopIteration:
                return
            value = error = None
            try:
                if isinstance(effect, Emit):
                    yield effect.event
                elif isinstance(effect, Persist):
                    journal = effect.journal
                    assert self.store is not None
                    journal.written(
                        await self.store.aappend(
                            journal.id,
                            journal.pending,
                            expected_version=journal.version,
                            meta=self._pending_meta(journal),
                        )
                    )
                elif isinstance(effect, SendRequest):
                    box: list[Interaction] = []
                    async for event in self._request(effect.body, stream, box, effect.watch):
                        yield event
                    value = box[0]
                elif isinstance(effect, RunTools):
                    value = await self.tools.arun(
                        effect.calls, context=self._tool_context, around=effect.around
                    )
                elif isinstance(effect, Summarize):
                    value = await effect.arun(self.client)
                elif isinstance(effect, RunHook):
                    value = await effect.run_async()
                elif stop_at_wait:
                    break  # hand the suspended protocol to a BackgroundTurn, untouched
                else:
                    value = await self.client.interactions.wait(str(effect.interaction.id))
            except BaseException as exc:
                error = exc
        assert isinstance(effect, WaitBackground)
        yield _Suspended(interaction=effect.interaction)

    async def _request(
        self, body: dict[str, Any], stream: bool, box: list[Interaction], watch: Any = None
    ) -> AsyncIterator[LoopEvent]:
        from agentloop.client import on_retry

        retries: list[LoopEvent] = []
        with on_retry(lambda info: retries.append(_retry_event(info))):
            if not stream:
                box.append(await self.client.interactions.create(**body))
            else:
                events = await self.client.interactions.create(stream=True, **body)
        for retry in retries:
            if watch is not None:
                watch(retry)
            yield retry
        if not stream:
            return
        translate = SSETranslator().feed if watch is None else watched(SSETranslator().feed, watch)
        async with events:
            async for event in events:
                for loop_event in translate(event):
                    yield loop_event
        box.append(events.interaction)

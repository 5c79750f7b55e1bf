"""What ``Conversation`` and ``AsyncConversation`` share: settings, state, the engine entry
point and the saved forms. The two drivers (``_sync.py``, ``_async.py``) only add the
world that performs effects, and the public calls that drive a protocol in it.

The rooms of a conversation:

* **settings** (``settings.py``): one frozen ``ConversationSettings``; ``conv.model`` and the
  other setting attributes read it, assigning one replaces it with a checked copy;
* **state** (``state.py``): history, chain, paused or cut turn, usage, the view, and the
  status (``status.py``), changed only by the engine through journal records;
* **drivers**: ``engine()`` gives the sans-I/O ``TurnEngine`` for one turn (the public entry
  point of any driver), and ``drive``/``adrive`` run its protocol in a world.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast

from agentloop._defaults import DEFAULT_MODEL, new_id
from agentloop.errors import ConfigurationError, StateError
from agentloop.observe import instrumentation, logger
from agentloop.types import FunctionCallStep, RawJSON, WireModel, encode_json

from .cancel import StopSwitch
from .compaction import Compaction, compact_now
from .effects import Protocol
from .engine import TurnEngine
from .hooks import hook_set
from .lease import owner_dead, owner_id
from .limits import LimitGuard, NestedGuard, UsageLimits, UsageTotals
from .missing_tools import warn_missing_tools
from .persist import from_document, to_document
from .records import Journal, Snapshot, ViewChanged, encode
from .settings import (
    REQUEST_SETTINGS,
    ConversationSettings,
    Setting,
    has_redacted_secrets,
    jsonable,
    saved_settings,
    static_body,
)
from .state import STRATEGIES, ConversationState, Strategy
from .status import ConversationStatus
from .structured import output_parser

if TYPE_CHECKING:
    from agentloop.stores import ConversationStore
    from agentloop.tools import Tool, ToolContext, ToolLike, ToolRegistry

__all__ = ["ConversationCore"]

C = TypeVar("C", bound="ConversationCore")


def _listed(value: Any) -> Any:
    """A list setting kept as a list (a tuple or other iterable given is copied into one)."""
    return value if value is None or isinstance(value, list) else list(value)


class ConversationCore:
    """Settings, state and everything the two drivers share."""

    client: Any
    #: Seconds a turn interrupted while tools run (Ctrl-C, cancellation, a web Stop,
    #: ``cancel()``) waits for the calls already running, so that what they return is
    #: recorded; a call still running after it is in doubt (``in_doubt``). Assign on a
    #: conversation to change it.
    interrupt_grace: float = 5.0

    model = Setting[str | None]()
    agent = Setting[str | None]()
    system_instruction = Setting[str | None]()
    generation_config = Setting[Any]()
    response_format = Setting[Any]()
    response_model = Setting[Any]()
    max_steps = Setting[int]()
    agent_config = Setting[Any]()
    environment = Setting[Any]()
    service_tier = Setting[Any]()
    safety_settings = Setting[Any]()
    labels = Setting[Any]()
    webhook_config = Setting[Any]()
    response_modalities = Setting[Any]()
    extra_body = Setting[dict[str, Any]]()
    builtin_tools = Setting[tuple[Any, ...]]()
    name = Setting[str | None]()
    instrument = Setting[bool]()

    def __init__(
        self,
        client: Any,
        owns_client: bool,
        *,
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
        service_tier: Any,
        safety_settings: Any,
        labels: Any,
        webhook_config: Any,
        response_modalities: Any,
        extra_body: dict[str, Any] | None,
        id: str | None,
        store: ConversationStore | None,
        compaction: Compaction | None,
        limits: UsageLimits | None,
        name: str | None,
        hooks: Any,
        instrument: bool,
        output_retries: int = 1,
    ) -> None:
        from agentloop.tools import ToolRegistry
        from agentloop.tools.registry import check_list

        builtin: list[Any] = []
        functions: list[Any] = []
        if not isinstance(tools, ToolRegistry):
            check_list(tools)
        for item in tools if not isinstance(tools, ToolRegistry) else [tools]:
            variant = getattr(item, "variant_for", None)
            if variant is not None:  # a tool with one form per driver (sub-agents)
                item = variant(inspect.iscoroutinefunction(getattr(type(self), "send", None)))
            if isinstance(item, (dict, WireModel)):
                builtin.append(jsonable(item))
            else:
                functions.append(item)
        self.settings = ConversationSettings(
            model=DEFAULT_MODEL if agent is None and model is None else model,
            agent=agent,
            system_instruction=system_instruction,
            generation_config=generation_config,
            response_format=response_format,
            response_model=response_model,
            max_steps=max_steps,
            agent_config=agent_config,
            environment=environment,
            service_tier=service_tier,
            safety_settings=_listed(safety_settings),
            labels=labels,
            webhook_config=webhook_config,
            response_modalities=_listed(response_modalities),
            extra_body=dict(extra_body or {}),
            builtin_tools=tuple(builtin),
            name=name,
            instrument=instrument,
        )
        self.client = client
        self._owns_client = owns_client  # created here: closed with the conversation
        self.output_retries = output_retries_of(output_retries)
        # Callables ``fn(output) -> output`` (sync or async) run on each parsed answer; one may
        # raise ``ModelRetry`` to refuse it (``Agent`` sets them).
        self.output_validators: tuple[Callable[[Any], Any], ...] = ()
        # Set by an ``Agent``: the agent graph this conversation runs (agents/_runtime.py).
        self._agents: Any = None
        # A sub-agent's parent conversation (its limits hold here too) and this turn's guard.
        self._parent: Any = None
        self._turn_guard: Any = None
        self._children: dict[str, Any] = {}  # sub-agents paused or stopped (no store)
        self._running_children: dict[str, Any] = {}  # blocking sub-agents running now
        self.deps = deps
        self.id = id or new_id()
        self.hooks = hooks  # agentloop.Hooks, hook objects, or a list of them
        hook_set(hooks, self)  # fail now on a malformed spec (read again at each turn)
        self.tools: ToolRegistry = ToolRegistry(functions)
        self._owns_tools = True  # False for a fork: its parent's tools, closed by the parent
        self._state = ConversationState()
        self._state.status.label = self.id
        self._background: Any = None  # the background turn handle still running, if any
        self._stop = StopSwitch()  # conv.cancel() stops the running turn with it
        # (a private JSON copy of the last static body, decoded when first needed; that body with
        # values pre-encoded)
        self._static_cache: tuple[dict[str, Any] | None, dict[str, Any]] | None = None
        # (what the last static body was built from, private copies, that body: _static_body)
        self._static_hit: _StaticHit | None = None
        self._turn_options: dict[str, Any] = {}  # the last turn's engine() options
        self.strategy = strategy
        self.compaction = compaction
        if limits is not None:
            _check_limits(limits)
            limits.check_priced(self.model if self.model is not None else agent)
        self.limits = limits
        self.store: ConversationStore | None = None
        self._elsewhere: tuple[str, float] | None = None  # another writer's live lease
        self._journaled_settings: dict[str, Any] | None = None
        self._store_meta: dict[str, Any] = {}
        if store is not None:
            if store is False:  # type: ignore[comparison-overlap]  # the API's store=false
                raise ConfigurationError(
                    "store=False: a conversation that keeps nothing on the server is "
                    "Conversation(..., strategy='stateless') (it sends store=false itself); "
                    "store= takes a ConversationStore that journals the conversation"
                )
            if not hasattr(store, "append"):
                raise ConfigurationError(
                    f"store= takes a ConversationStore, not {type(store).__name__} "
                    f"({store!r:.60}); e.g. SQLiteStore('chats.db') from agentloop.stores, or "
                    "agentloop.stores.open_store(path_or_url)"
                )
            if id is not None and store.version(id) > 0:
                from agentloop.errors import ConflictError

                raise ConflictError(
                    f"conversation {id!r} already exists in {store!r}; go on with it with "
                    f"store.load({id!r}, client=..., tools=[...]) (or agent.conversation(client, "
                    "store=..., id=...)), or give this new conversation another id"
                )
            self._attach(store, version=0)

    # --- public state -------------------------------------------------------------------------

    @property
    def status(self) -> ConversationStatus:
        """Where the conversation stands: ``idle``, ``running``, ``suspended`` (a background
        turn), ``awaiting_approval`` or ``needs_recovery`` (see ``ConversationStatus``). A
        stored conversation whose turn runs in another writer (``running_elsewhere``) is
        ``running``."""
        status = self._state.status.status
        if status is ConversationStatus.NEEDS_RECOVERY and self.running_elsewhere is not None:
            return ConversationStatus.RUNNING
        return status

    @property
    def strategy(self) -> Strategy:
        """``"stateful"`` or ``"stateless"``; assign between turns to switch."""
        return self._state.strategy

    @strategy.setter
    def strategy(self, value: Strategy) -> None:
        if value not in STRATEGIES:
            raise ConfigurationError(f"strategy must be 'stateful' or 'stateless', got {value!r}")
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
            self._state.note(ViewChanged(view.to_wire()))

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
        start a new turn. False while that turn is still running in another writer (it holds
        the stored conversation's live-turn lease: see ``running_elsewhere``)."""
        return self._state.cut is not None and self.running_elsewhere is None

    @property
    def running_elsewhere(self) -> tuple[str, float] | None:
        """``(owner, expires)`` when this stored conversation was loaded while another writer
        was running a turn of it and that writer's live-turn lease has not expired yet (by
        this machine's clock); ``send``/``recover`` then raise ``TurnInProgressError``."""
        elsewhere = self._elsewhere
        if elsewhere is None or elsewhere[1] <= time.time():
            return None
        return elsewhere

    @property
    def running(self) -> bool:
        """True while a turn runs on this conversation (in any thread or task)."""
        return self._state.status.running

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
        first = paused.decisions.get(call_id)
        if call_id in paused.in_doubt and first is not None:
            # A call that may have run is decided once: the first decision holds.
            if first[0] != ok:
                raise StateError(
                    f"call {call_id!r} was already {'approved' if first[0] else 'rejected'}; "
                    "the first decision on a call in doubt holds, so this one was not applied"
                )
            return
        paused.decisions[call_id] = (ok, reason)

    # --- the engine entry point ---------------------------------------------------------------

    def engine(
        self,
        *,
        response_model: Any = None,
        response_format: Any = None,
        background: bool = False,
        limits: UsageLimits | None = None,
        output_retries: int | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> TurnEngine:
        """The sans-I/O engine for the next turn of this conversation, with its settings,
        tools, hooks, limits, journal and tracing: the way in for a driver of your own.

        ``engine().start(input)`` (or ``.resume()``, ``.recover()``) returns the turn's
        protocol: a generator of effects (``agentloop.loop.effects``) that a world performs;
        ``agentloop.loop.drive.drive`` (or ``adrive``) runs it. The conversation's status
        (one turn at a time) is checked when the protocol is first driven. ``overrides``
        replace request settings for this turn only (``service_tier``, ``labels``...);
        ``output_retries`` replaces the conversation's for this turn."""
        if background and self._state.strategy == "stateless":
            raise ConfigurationError(
                "background turns need the stateful strategy: the API requires store=true "
                "for background=true; set conv.strategy = 'stateful' first"
            )
        # What a resume() or recover() of this turn goes on with (``_continuing``).
        self._turn_options = {
            "response_model": response_model,
            "response_format": response_format,
            "limits": limits,
            "output_retries": output_retries,
            "overrides": overrides,
        }
        settings = self.settings
        model = response_model if response_model is not None else settings.response_model
        registry = self.tools

        def needs_approval(call: FunctionCallStep) -> bool:
            return registry.needs_approval(call, self._tool_context)

        def is_idempotent(name: str) -> bool:
            found = registry.get(name)
            return bool(found is not None and found.idempotent)

        def safe_again(name: str) -> bool:
            found = registry.get(name)
            return bool(found is not None and found.idempotent and not found.resumes)

        journal = self._state.journal
        if journal is not None:
            saved = saved_settings(settings, registry.names)
            if saved != self._journaled_settings:
                journal.meta = saved  # written (with a title) by the next Persist
                self._journaled_settings = saved

        observe = None
        if settings.instrument:
            observe = _observer_for(self)
        declarations = registry.declarations()  # cached by the registry: [] when none
        guard = self._turn_guard = self._guard(limits)
        retries = self.output_retries if output_retries is None else output_retries
        return TurnEngine(
            self._state,
            static_body=self._static_body(
                settings, declarations, response_model, response_format, overrides
            ),
            max_steps=settings.max_steps,
            needs_approval=needs_approval,
            is_idempotent=is_idempotent,
            safe_again=safe_again,
            parse_output=output_parser(model) if model is not None else None,
            background=background,
            compaction=self._compaction,
            limits=guard,
            hooks=self._hook_set(),
            observe=observe,
            grace=self.interrupt_grace,
            output_retries=output_retries_of(retries),
            on_results=self._agents.on_results if self._agents is not None else None,
            output_validators=self.output_validators,
        )

    @staticmethod
    def _unread(engine: TurnEngine) -> TurnEngine:
        """``engine`` for a driver that reads only how the turn ends (``send``, ``resume``,
        ``recover``): no per-call events, unless an observer (traces, log lines) reads them
        (it says so when the turn starts: ``Observer.per_call``)."""
        engine.call_events = False
        return engine

    def _hook_set(self) -> Any:
        hooks = self.hooks
        if self._agents is not None:  # the agents' own hook first: user hooks see its body
            hooks = [self._agents.hooks(self), *(hooks if isinstance(hooks, list) else [hooks])]
            hooks = [h for h in hooks if h is not None]
        return hook_set(hooks, self) if hooks is not None else None

    def _static_body(
        self,
        settings: ConversationSettings,
        declarations: list[dict[str, Any]],
        response_model: Any,
        response_format: Any,
        overrides: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """``static_body`` of this turn, pre-encoded (``_encoded``). A turn like the last one
        (the same settings object and response model, no overrides) reuses the last body
        without building it again when every structured value it was built from (tool
        declarations, configs, tool dicts, formats) still equals the private copy taken then:
        assigning a setting replaces the frozen settings object, and an in-place change of a
        dict or model the conversation was given shows in that comparison."""
        hit = self._static_hit
        if hit is not None and (
            overrides or hit.settings is not settings or hit.response_model is not response_model
        ):
            hit = None  # built for other settings, or a turn with overrides of its own
        if (
            hit is not None
            and hit.copies is not None
            and hit.copies is not _LATER
            and _unchanged((declarations, response_format, *hit.sources), hit.copies)
        ):
            return hit.body
        body = self._encoded(
            static_body(
                settings.replace(**overrides) if overrides else settings,
                declarations,
                response_model,
                response_format,
            )
        )
        if overrides or (hit is not None and hit.copies is None):
            return body  # a turn of its own, or values that cannot be copied: never reused
        sources = (
            declarations,
            response_format,
            *[getattr(settings, name) for name in _STRUCTURED_SETTINGS],
        )
        if hit is None:
            # The first turn with these settings: the copies wait for the next one, so that a
            # conversation of one turn (one per request, an eval case, a sub-agent call) does
            # not pay for them (~30 us for ten tools; ~130 us with copy.deepcopy).
            self._static_hit = _StaticHit(settings, response_model, sources[2:], _LATER, body)
            return body
        copies: tuple[Any, ...] | None = None
        with contextlib.suppress(Exception):  # no private copy: never reused
            copies = _private_copy(sources)
        if copies is not None and not _unchanged(sources, copies):
            copies = None  # a value that does not equal its copy: never reused
        self._static_hit = _StaticHit(settings, response_model, sources[2:], copies, body)
        return body

    def _encoded(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` with its structured values pre-encoded as ``RawJSON``, reused while the
        static body stays equal, so that tool schemas and configs are not JSON-encoded again
        on every request. The comparison is with a private JSON copy, so in-place changes to
        a config dict are seen. Scalars stay plain: the engine reads some of them. The copy is
        decoded from the encoded bytes when first compared, not when encoding: a conversation
        of one turn never decodes it."""
        # Kept (issue 17): without it each request re-encodes the tool schemas, +5-10% a tool step.
        cached = self._static_cache
        if cached is not None:
            snapshot, encoded = cached
            if snapshot is None:
                try:
                    snapshot = {
                        key: json.loads(value.data) if isinstance(value, RawJSON) else value
                        for key, value in encoded.items()
                    }
                except Exception:  # a RawJSON of the caller's spliced in that is not JSON
                    snapshot = {}  # never equal to a body: encoded again every turn
                self._static_cache = (snapshot, encoded)
            if snapshot == body:
                return encoded
        try:
            encoded = {
                key: RawJSON(encode_json(value)) if isinstance(value, (dict, list)) else value
                for key, value in body.items()
            }
        except Exception:  # not JSON-ready: let the client report it when sending
            return body
        self._static_cache = (None, encoded)
        return encoded

    def _continuing(self) -> TurnEngine:
        """The engine that goes on with the paused or cut turn: with the options it began with
        (``send(..., limits=, response_model=, ...)``), its turn limits counting what it has
        spent already. (A conversation loaded in another process has only its own settings.)"""
        engine = self.engine(**self._turn_options)
        guard = self._turn_guard
        own = guard.own if isinstance(guard, NestedGuard) else guard
        state = self._state
        spent = state.paused.turn if state.paused is not None else state.cut
        if own is not None and spent is not None:
            totals = own.turn_totals
            totals.record(spent.usage, own.price)
            totals.requests = spent.model_requests
        return engine

    def _guard(self, limits: UsageLimits | None) -> LimitGuard | NestedGuard | None:
        _check_limits(limits)
        guard = None
        if limits is not None or self.limits is not None:
            key = self.model if self.model is not None else self.agent
            guard = LimitGuard(self.limits, limits, key)
        parent = self._parent
        if parent is not None and (guard is not None or parent._turn_guard is not None):
            return NestedGuard(guard, parent._turn_guard, parent._state.usage)
        return guard

    def _compaction_protocol(self) -> Protocol:
        guard = self._guard(None)
        price = guard.price if guard is not None else None
        policy = self._compaction or Compaction()
        proto = compact_now(self._state, policy, self.model, price, guard)
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
        from agentloop.stores.base import DEFAULT_LEASE_SECONDS

        self.store = store
        self._store_meta = dict(meta or {})
        self._journaled_settings = self._store_meta.get("settings")
        journal = Journal(
            self.id,
            version,
            lease_seconds=float(getattr(store, "lease_seconds", DEFAULT_LEASE_SECONDS)),
        )
        if hasattr(store, "renew_lease"):  # a store of an older protocol: no lease
            owner_id(journal)  # this writer's name in the live-turn lease
        self._state.journal = journal
        self._elsewhere = None

    def _pending_meta(self, journal: Journal) -> dict[str, Any] | None:
        """The store meta to write with the journal's records (None: unchanged), computed at
        write time so that a new conversation's title is its first message."""
        if journal.meta is None or not any(s.type == "user_input" for s in self._state.history):
            return None  # no title yet (a turn taking its lease): the turn's next write
        return self._meta(journal.meta)

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

    def _saved_settings(self) -> dict[str, Any]:
        return saved_settings(self.settings, self.tools.names)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot (no client, no API key)."""
        return to_document(self.id, self._saved_settings(), self._state)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the conversation to a JSON file atomically."""
        from ._files import write_json_atomic

        write_json_atomic(Path(path), self.to_dict())

    def save_to_store(self, store: ConversationStore, id: str | None = None) -> str:
        """Write the whole conversation to ``store`` as one snapshot (an explicit save that
        replaces what the store had under that id). Journaling conversations need no save: to
        the store and id it journals to, this only writes what is not written yet (a
        ``ConflictError`` when another writer changed it meanwhile: nothing is overwritten)."""
        key = id or self.id
        journal = self._state.journal
        if store is self.store and key == self.id and journal is not None:
            if journal.pending:
                from .lease import write

                write(store, journal, self._pending_meta(journal))
            return key
        store.append(
            key,
            [encode(Snapshot(self.to_dict()))],
            expected_version=store.version(key),
            meta=self._meta(self._saved_settings()),
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
        from ._files import read_json

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
        owner, expires = (
            getattr(stored, "lease_owner", None),
            getattr(stored, "lease_expires", None),
        )
        if owner is not None and expires is not None:
            journal = conv._state.journal
            assert journal is not None
            if owner_dead(owner):  # its process is gone: no need to wait for the expiry
                journal.take_over = owner
            else:
                conv._elsewhere = (owner, float(expires))
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
            **{key: settings.get(key) for key in REQUEST_SETTINGS},
            "extra_body": settings.get("extra_body"),
            "id": conv_id,
        }
        kwargs.update(overrides)
        if has_redacted_secrets(kwargs.get("environment")):
            raise ConfigurationError(
                "the saved conversation's environment had secret env var values, which are "
                "never saved; load it with environment=... (the environment with its values) "
                "to go on"
            )
        conv = cls(client, **kwargs)
        warn_missing_tools(conv_id, settings.get("tool_names"), conv.tools.names)
        strategy = conv._state.strategy
        state.status.label = conv.id
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


class _StaticHit(NamedTuple):
    """The last static body ``_static_body`` built and what it was built from."""

    settings: ConversationSettings
    response_model: Any
    sources: tuple[Any, ...]  # the values of the structured settings
    copies: tuple[Any, ...] | None  # private copies of declarations, format, sources (None:
    # a value could not be copied, or does not equal its copy: the body is never reused;
    # _LATER: not taken yet, the next turn with these settings takes them)
    body: dict[str, Any]


_LATER: tuple[Any, ...] = ("copies taken on the next turn",)


# The settings whose values may be changed in place (dicts, lists, models) and feed the static
# body; the others are strings, numbers or tuples, replaced only by assignment.
_STRUCTURED_SETTINGS = (
    "builtin_tools",
    "generation_config",
    "response_format",
    "agent_config",
    "environment",
    *REQUEST_SETTINGS,
    "extra_body",
)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _private_copy(value: Any) -> Any:
    """A deep copy of ``value`` for ``_static_body``'s check. Dicts, lists and tuples (what
    tool declarations and JSON configs are made of) are copied here, 2.5-4x faster than
    ``copy.deepcopy``, whose memo of shared and cyclic references these values do not need
    (a cycle ends in ``RecursionError``: no copy, never reused); anything else (models,
    subclasses, other objects) through ``copy.deepcopy``."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {key: _private_copy(item) for key, item in value.items()}
    if kind is list:
        return [_private_copy(item) for item in value]
    if kind is tuple:
        return tuple([_private_copy(item) for item in value])
    return copy.deepcopy(value)


def _unchanged(sources: tuple[Any, ...], copies: tuple[Any, ...]) -> bool:
    """Whether every source still equals its private copy (a value whose comparison fails
    counts as changed)."""
    try:
        return bool(sources == copies)  # one deep comparison, in C
    except Exception:
        return False


def output_retries_of(value: Any) -> int:
    """``output_retries``, checked: an int >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"output_retries must be an int >= 0, not {value!r}")
    return value


def _observer_for(conversation: Any) -> Any:
    """``_tracing.observer_for``, imported on the first turn that may be observed: when
    tracing is off and the logger is quiet, a turn has no observer and the tracing module is
    never loaded."""
    if instrumentation() is None and not logger.isEnabledFor(logging.INFO):
        return None
    from ._tracing import observer_for

    return observer_for(conversation)


def _check_limits(limits: Any) -> None:
    if limits is not None and not isinstance(limits, UsageLimits):
        raise ConfigurationError(
            f"limits must be an agentloop.UsageLimits or None, not {limits!r:.40}: "
            "limits=UsageLimits(max_requests=5)"
        )

"""``Agent``: a frozen, reusable agent definition, and ``RunContext``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from agentloop.errors import ConfigurationError

if TYPE_CHECKING:
    from agentloop.client import AsyncClient, Client
    from agentloop.loop import AsyncConversation, Compaction, Conversation, Turn, UsageLimits
    from agentloop.loop.events import LoopEvent
    from agentloop.loop.limits import UsageTotals
    from agentloop.stores import ConversationStore
    from agentloop.tools import Tool
    from agentloop.types import Modality, ModelId, SafetySetting, ServiceTier, WebhookConfig

    from ._runtime import AgentGraph
    from ._subagent import Context

DepsT = TypeVar("DepsT")

Strategy = Literal["stateful", "stateless"]


@dataclass(frozen=True, slots=True)
class RunContext(Generic[DepsT]):
    """What dynamic instructions (and tools, through ``ToolContext``) see of a run.

    Attributes:
        deps: The dependencies given to ``agent.conversation(deps=...)`` / ``run(deps=...)``.
        conversation: The conversation the request belongs to.
        turn: The number of the turn (1 for the first ``send``).
        usage: Usage of the conversation so far (``UsageTotals``).
        agent: The agent in charge.
    """

    deps: DepsT
    conversation: Any
    turn: int
    usage: UsageTotals
    agent: Agent


Instructions = str | Callable[[RunContext[Any]], "str | Awaitable[str]"]


@dataclass(frozen=True, slots=True)
class Agent:
    """A reusable agent definition: what the model is told, which model, which tools.

    ``Agent`` holds no conversation state, so one agent serves any number of conversations at
    once, from any thread. ``agent.conversation()`` builds a ``Conversation``;
    ``agent.run(input)`` runs a one-shot task.

    ``instructions`` is a str, or a callable (sync or async) of ``RunContext`` returning the
    instructions of each request. ``handoffs`` are agents (or names of agents of the same
    graph) the model may hand the conversation to with ``transfer_to_<name>`` tools.
    ``output_retries``: how many times an answer that does not validate goes back to the model;
    ``output_validators``: callables ``fn(output) -> output`` (sync or async) that may raise
    ``ModelRetry``.
    """

    name: str
    _: KW_ONLY
    instructions: Instructions | None = None
    model: ModelId | None = None
    tools: Sequence[Any] = ()
    description: str | None = None
    response_model: Any = None
    output_retries: int = 1
    handoffs: Sequence[Agent | str] = ()
    generation_config: Any = None
    compaction: Compaction | None = None
    limits: UsageLimits | None = None
    hooks: Any = None
    output_validators: Sequence[Callable[[Any], Any]] = ()
    service_tier: ServiceTier | None = None
    safety_settings: Sequence[SafetySetting | dict[str, Any]] | None = None
    labels: dict[str, str] | None = None
    webhook_config: WebhookConfig | dict[str, Any] | None = None
    response_modalities: Sequence[Modality] | None = None
    _graph_cache: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigurationError(
                f"an Agent needs a non-empty name (a str), not {self.name!r}: "
                "Agent('support', instructions=...)"
            )
        from ._runtime import unique_names

        for field_name in ("tools", "handoffs", "output_validators"):
            object.__setattr__(self, field_name, self._listed(field_name))
        for target in self.handoffs:
            if not isinstance(target, (Agent, str)):
                raise ConfigurationError(
                    f"agent {self.name!r}: handoffs takes Agent objects or agent names, not "
                    f"{target!r}"
                )
        for validator in self.output_validators:
            if not callable(validator):
                raise ConfigurationError(
                    f"agent {self.name!r}: an output validator must be callable, not {validator!r}"
                )
        if self.instructions is not None and not (
            isinstance(self.instructions, str) or callable(self.instructions)
        ):
            raise ConfigurationError(
                f"agent {self.name!r}: instructions is a str or a callable of RunContext, not "
                f"{type(self.instructions).__name__}"
            )
        if self.limits is not None and self.limits.max_cost is not None and self.model is None:
            raise ConfigurationError(
                f"agent {self.name!r} has UsageLimits(max_cost=...) but no model: cost is "
                "priced per model, so pass Agent(..., model='...')"
            )
        unique_names(self.tools, self.name)
        if isinstance(self.output_retries, bool) or not isinstance(self.output_retries, int):
            raise ConfigurationError(
                f"output_retries must be an int >= 0, not {self.output_retries!r}"
            )
        if self.output_retries < 0:
            raise ConfigurationError(f"output_retries must be >= 0, not {self.output_retries}")

    def __hash__(self) -> int:
        # By name: equal agents share it, and settings such as labels= are dicts.
        return hash(self.name)

    def _listed(self, field_name: str) -> tuple[Any, ...]:
        """The list given as ``field_name`` (``None``: none), as a tuple; one item given bare
        (``tools=search``) is refused, naming the fix."""
        value = getattr(self, field_name)
        if value is None:
            return ()
        if isinstance(value, (str, bytes, dict, Agent)) or not isinstance(value, Iterable):
            raise ConfigurationError(
                f"agent {self.name!r}: {field_name} takes a list, not "
                f"{type(value).__name__}: {field_name}=[{value!r:.40}]"
            )
        return tuple(value)

    # --- conversations ---------------------------------------------------------------------

    def _graph(self) -> AgentGraph:
        """The handoff graph from this agent (built and checked once, on first use)."""
        graph: AgentGraph | None = self._graph_cache
        if graph is None:
            from ._runtime import AgentGraph

            graph = AgentGraph(self)
            object.__setattr__(self, "_graph_cache", graph)
        return graph

    def as_tool(
        self,
        name: str | None = None,
        description: str | None = None,
        context: Context = "fresh",
    ) -> Tool[..., Any]:
        """A tool that runs this agent on a task: one string parameter, ``task``.

        ``context="fresh"``: the sub-agent sees only the task. ``context="fork"``: it starts
        from the parent conversation (stateful: the parent's ``previous_interaction_id``, no
        history sent again; stateless: the parent's history), so it sees everything; its own
        steps never enter the parent's history and its final output is the tool's result.
        The name defaults to the agent's name, the description to its ``description``.
        """
        from ._subagent import AgentTool

        return AgentTool(self, name=name, description=description, context=context)

    def _settings(self) -> dict[str, Any]:
        from agentloop.loop.settings import REQUEST_SETTINGS

        instructions = self.instructions if isinstance(self.instructions, str) else None
        return {
            "model": self.model,
            "system_instruction": instructions,
            "generation_config": self.generation_config,
            "response_model": self.response_model,
            "compaction": self.compaction,
            "limits": self.limits,
            "name": self.name,
            "hooks": self.hooks,
            # Request settings: given only when set, so a stored conversation keeps its own.
            **{key: value for key in REQUEST_SETTINGS if (value := getattr(self, key)) is not None},
        }

    def _build(
        self,
        cls: Any,
        client: Any,
        store: ConversationStore | None,
        id: str | None,
        strategy: Strategy | None,
        deps: Any,
        **overrides: Any,
    ) -> Any:
        tools = self._tools()
        settings = {**self._settings(), **overrides}
        if store is not None and id is not None and store.version(id) > 0:
            conv = store.load(id, client=client, tools=tools, cls=cls, deps=deps, **settings)
            if strategy is not None:
                conv.strategy = strategy
        else:
            conv = cls(
                client,
                tools=tools,
                strategy=strategy or "stateful",
                deps=deps,
                id=id,
                store=store,
                **settings,
            )
        return self._attach(conv)

    def _tools(self) -> list[Any]:
        """The tools of a conversation this agent runs: its own, or with handoffs every
        agent's of the graph and the ``transfer_to_<name>`` tools (offered per agent)."""
        graph = self._graph()
        if len(graph.agents) > 1:
            return [*graph.tools, *graph.builtin_union]
        return list(self.tools)

    def _conversation_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``Conversation(...)`` for a conversation this agent runs
        (``_attach`` the conversation afterwards): for code that builds conversations its own
        way (the CLI's sessions, the web app)."""
        return {"tools": self._tools(), **self._settings()}

    def _attach(self, conv: Any) -> Any:
        """Make ``conv`` run this agent: output retries and validators, the handoff graph and
        per-request instructions. Returns ``conv``."""
        from ._runtime import AgentRun

        conv.output_retries = self.output_retries
        conv.output_validators = self.output_validators
        conv._agents = AgentRun(self._graph(), conv)
        return conv

    def _load(self, store: ConversationStore, id: str, **overrides: Any) -> Any:
        """``store.load(id, agent=self, ...)``: the stored conversation, run by this agent's
        graph (the agent in charge is read from its history)."""
        from agentloop.stores.base import conversation_class

        client = overrides.pop("client", None)
        cls = overrides.pop("cls", None) or conversation_class(client)
        overrides.pop("tools", None)
        strategy = overrides.pop("strategy", None)
        deps = overrides.pop("deps", None)
        return self._build(cls, client, store, id, strategy, deps, **overrides)

    def conversation(
        self,
        client: Client | None = None,
        *,
        store: ConversationStore | None = None,
        id: str | None = None,
        strategy: Strategy = "stateful",
        deps: Any = None,
    ) -> Conversation:
        """A ``Conversation`` run by this agent (loaded from ``store`` when ``id`` is there)."""
        from agentloop.loop import Conversation

        conv: Conversation = self._build(Conversation, client, store, id, strategy, deps)
        return conv

    def aconversation(
        self,
        client: AsyncClient | None = None,
        *,
        store: ConversationStore | None = None,
        id: str | None = None,
        strategy: Strategy = "stateful",
        deps: Any = None,
    ) -> AsyncConversation:
        """An ``AsyncConversation`` run by this agent; see ``conversation``."""
        from agentloop.loop import AsyncConversation

        conv: AsyncConversation = self._build(AsyncConversation, client, store, id, strategy, deps)
        return conv

    # --- one-shot tasks ----------------------------------------------------------------------

    def run(
        self,
        input: Any,
        *,
        client: Client | None = None,
        deps: Any = None,
        limits: UsageLimits | None = None,
    ) -> Turn:
        """Run one task in a fresh conversation and return its ``Turn``."""
        with self.conversation(client, deps=deps) as conv:
            return conv.send(input, limits=limits)

    async def arun(
        self,
        input: Any,
        *,
        client: AsyncClient | None = None,
        deps: Any = None,
        limits: UsageLimits | None = None,
    ) -> Turn:
        """``run`` on an ``AsyncClient``."""
        async with self.aconversation(client, deps=deps) as conv:
            return await conv.send(input, limits=limits)

    def stream(
        self,
        input: Any,
        *,
        client: Client | None = None,
        deps: Any = None,
        limits: UsageLimits | None = None,
    ) -> Iterator[LoopEvent]:
        """Run one task in a fresh conversation, yielding loop events (the last one is
        ``TurnCompleted``)."""
        with self.conversation(client, deps=deps) as conv:
            yield from conv.stream(input, limits=limits)

    async def astream(
        self,
        input: Any,
        *,
        client: AsyncClient | None = None,
        deps: Any = None,
        limits: UsageLimits | None = None,
    ) -> AsyncIterator[LoopEvent]:
        """``stream`` on an ``AsyncClient``."""
        async with self.aconversation(client, deps=deps) as conv:
            async for event in conv.stream(input, limits=limits):
                yield event

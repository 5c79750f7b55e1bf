"""``Agent``: a frozen, reusable agent definition, and ``RunContext``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from agentloop.errors import ConfigurationError

if TYPE_CHECKING:
    from agentloop.client import AsyncClient, Client
    from agentloop.loop import AsyncConversation, Compaction, Conversation, Turn, UsageLimits
    from agentloop.loop.events import LoopEvent
    from agentloop.loop.limits import UsageTotals
    from agentloop.stores import ConversationStore
    from agentloop.types import Modality, ModelId, SafetySetting, ServiceTier, WebhookConfig

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
    """

    name: str
    _: KW_ONLY
    instructions: Instructions | None = None
    model: ModelId | None = None
    tools: Sequence[Any] = ()
    description: str | None = None
    response_model: Any = None
    output_retries: int = 1
    handoffs: Sequence[Agent] = ()
    generation_config: Any = None
    compaction: Compaction | None = None
    limits: UsageLimits | None = None
    hooks: Any = None
    service_tier: ServiceTier | None = None
    safety_settings: Sequence[SafetySetting | dict[str, Any]] | None = None
    labels: dict[str, str] | None = None
    webhook_config: WebhookConfig | dict[str, Any] | None = None
    response_modalities: Sequence[Modality] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigurationError(
                f"an Agent needs a non-empty name (a str), not {self.name!r}: "
                "Agent('support', instructions=...)"
            )
        object.__setattr__(self, "tools", tuple(self.tools))
        object.__setattr__(self, "handoffs", tuple(self.handoffs))
        if isinstance(self.output_retries, bool) or not isinstance(self.output_retries, int):
            raise ConfigurationError(
                f"output_retries must be an int >= 0, not {self.output_retries!r}"
            )
        if self.output_retries < 0:
            raise ConfigurationError(f"output_retries must be >= 0, not {self.output_retries}")

    # --- conversations ---------------------------------------------------------------------

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
        strategy: Strategy,
        deps: Any,
    ) -> Any:
        settings = self._settings()
        if store is not None and id is not None and store.version(id) > 0:
            conv = store.load(id, client=client, tools=self.tools, cls=cls, deps=deps, **settings)
            conv.strategy = strategy
            return conv
        return cls(
            client, tools=self.tools, strategy=strategy, deps=deps, id=id, store=store, **settings
        )

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

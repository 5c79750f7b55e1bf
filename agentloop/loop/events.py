"""Loop events: what ``Conversation.stream`` yields across every interaction of a turn.

Every event is a small slotted dataclass with a ``type`` string, the class name in snake_case
(``ThoughtDelta`` -> ``"thought_delta"``), so callers can dispatch with ``match event.type`` or
``isinstance``.

Not to be confused with the wire events of the same API: ``agentloop.loop.TextDelta`` is a
loop event (a chunk of text, with the interaction it belongs to), while
``agentloop.types.TextDelta`` is the wire ``delta`` object of a ``step.delta`` server event.

``events_from_sse`` (internal, used by the drivers) turns one server event into loop events;
it is pure and never does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from agentloop.types import ErrorEvent as SSEErrorEvent
from agentloop.types import (
    InteractionCreatedEvent,
    StepDeltaEvent,
    StepStartEvent,
    TextContent,
    ThoughtSummaryDelta,
)
from agentloop.types import TextDelta as WireTextDelta

if TYPE_CHECKING:
    from agentloop.types import FunctionCallStep, FunctionResultStep, Interaction

    from .turn import Turn

__all__ = [
    "ApprovalRequired",
    "Compacted",
    "Handoff",
    "InteractionCompleted",
    "InteractionStarted",
    "LoopEvent",
    "OutputRetry",
    "Recovered",
    "Retrying",
    "StepStarted",
    "StrategyFallback",
    "StreamError",
    "TextDelta",
    "ThoughtDelta",
    "ToolCallFinished",
    "ToolCallStarted",
    "TurnCompleted",
]


@dataclass(slots=True)
class LoopEvent:
    """Base class of every loop event; ``type`` names the event (the class name in snake_case)."""

    type: ClassVar[str] = "loop_event"


@dataclass(slots=True)
class InteractionStarted(LoopEvent):
    """The server accepted a request and created an interaction."""

    type: ClassVar[str] = "interaction_started"
    interaction_id: str


@dataclass(slots=True)
class StepStarted(LoopEvent):
    """A step of the current interaction began (``step_type`` is its wire ``type``)."""

    type: ClassVar[str] = "step_started"
    interaction_id: str | None
    index: int
    step_type: str | None


@dataclass(slots=True)
class TextDelta(LoopEvent):
    """A chunk of the model's text output."""

    type: ClassVar[str] = "text_delta"
    text: str
    interaction_id: str | None = None
    index: int = 0


@dataclass(slots=True)
class ThoughtDelta(LoopEvent):
    """A chunk of a thought summary (only sent when thinking summaries are on)."""

    type: ClassVar[str] = "thought_delta"
    text: str
    interaction_id: str | None = None
    index: int = 0


@dataclass(slots=True)
class InteractionCompleted(LoopEvent):
    """One model request of the turn finished; ``interaction.status`` says how."""

    type: ClassVar[str] = "interaction_completed"
    interaction: Interaction


@dataclass(slots=True)
class ToolCallStarted(LoopEvent):
    """A tool call is about to run (after approval, if it needed one)."""

    type: ClassVar[str] = "tool_call_started"
    call: FunctionCallStep


@dataclass(slots=True)
class ToolCallFinished(LoopEvent):
    """A tool call ended; ``is_error`` results are sent to the model like any other."""

    type: ClassVar[str] = "tool_call_finished"
    call: FunctionCallStep
    result: FunctionResultStep
    is_error: bool
    error: str | None = None
    duration: float = 0.0


@dataclass(slots=True)
class ApprovalRequired(LoopEvent):
    """The turn paused: these calls wait for ``approve``/``reject`` and ``resume``."""

    type: ClassVar[str] = "approval_required"
    calls: list[FunctionCallStep] = field(default_factory=list)
    # Ids of calls that had started when a process stopped (recovery) and whose tool is not
    # idempotent: they may have run; approving runs them again.
    in_doubt: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Recovered(LoopEvent):
    """``recover()`` picked up a turn cut short: ``rerun`` calls run (again), ``in_doubt``
    calls wait for a decision, and the request in flight is sent again."""

    type: ClassVar[str] = "recovered"
    rerun: list[str] = field(default_factory=list)
    in_doubt: list[str] = field(default_factory=list)


@dataclass(slots=True)
class StrategyFallback(LoopEvent):
    """The server no longer knew ``previous_interaction_id``; the full history was replayed."""

    type: ClassVar[str] = "strategy_fallback"
    previous_interaction_id: str
    reason: str


@dataclass(slots=True)
class Retrying(LoopEvent):
    """The client is retrying a request after a transient failure."""

    type: ClassVar[str] = "retrying"
    attempt: int
    wait: float
    reason: str


@dataclass(slots=True)
class StreamError(LoopEvent):
    """An ``error`` event arrived on the stream (not an exception: the turn goes on or ends as
    the interaction's final status says; compare ``agentloop.errors.ServerError``, the HTTP
    5xx exception)."""

    type: ClassVar[str] = "stream_error"
    code: str | int | None
    message: str | None


@dataclass(slots=True)
class Compacted(LoopEvent):
    """The model view was compacted before a request (or on ``conv.compact()``).

    ``tokens_before``/``tokens_after`` are the estimated input tokens of the next request
    (see ``agentloop.loop.compaction``); ``steps_folded`` history steps left the view.
    """

    type: ClassVar[str] = "compacted"
    tokens_before: int
    tokens_after: int
    steps_folded: int


@dataclass(slots=True)
class Handoff(LoopEvent):
    """The agent in charge handed the conversation to another (a ``transfer_to_<name>``
    call): the next request goes out under ``to_agent``'s instructions, tools and model."""

    type: ClassVar[str] = "handoff"
    from_agent: str
    to_agent: str
    call_id: str


@dataclass(slots=True)
class OutputRetry(LoopEvent):
    """The model's answer did not validate (``response_model`` or an output validator); the
    reason went back to the model for try ``attempt`` of ``output_retries``."""

    type: ClassVar[str] = "output_retry"
    attempt: int
    reason: str


@dataclass(slots=True)
class TurnCompleted(LoopEvent):
    """The last event of every turn that did not raise: carries the ``Turn``."""

    type: ClassVar[str] = "turn_completed"
    turn: Turn


class SSETranslator:
    """Turns one interaction's SSE events into loop events, remembering the interaction id
    (internal: used by the drivers)."""

    __slots__ = ("interaction_id",)

    def __init__(self) -> None:
        self.interaction_id: str | None = None

    def feed(self, event: Any) -> list[LoopEvent]:
        """Loop events for one SSE event of this interaction."""
        if isinstance(event, InteractionCreatedEvent) and event.interaction is not None:
            self.interaction_id = event.interaction.id
        return events_from_sse(event, self.interaction_id)


def events_from_sse(event: Any, interaction_id: str | None) -> list[LoopEvent]:
    """Loop events for one SSE event (most server events map to none)."""
    # The stream accumulator numbers steps whose events left ``index`` out.
    if isinstance(event, StepDeltaEvent):
        delta = event.delta
        index = event.index or 0
        if isinstance(delta, WireTextDelta):
            return [TextDelta(text=delta.text, interaction_id=interaction_id, index=index)]
        if isinstance(delta, ThoughtSummaryDelta) and isinstance(delta.content, TextContent):
            return [
                ThoughtDelta(text=delta.content.text, interaction_id=interaction_id, index=index)
            ]
        return []
    if isinstance(event, StepStartEvent):
        return [
            StepStarted(
                interaction_id=interaction_id,
                index=event.index or 0,
                step_type=getattr(event.step, "type", None),
            )
        ]
    if isinstance(event, InteractionCreatedEvent):
        created = event.interaction.id if event.interaction is not None else None
        return [] if created is None else [InteractionStarted(interaction_id=created)]
    if isinstance(event, SSEErrorEvent):
        err = event.error
        return [StreamError(code=err.code if err else None, message=err.message if err else None)]
    return []

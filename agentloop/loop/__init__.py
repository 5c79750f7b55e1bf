"""Conversations and the agent loop: ``Conversation``/``AsyncConversation``, turns, loop events
and input helpers.

The machinery behind them (the sans-I/O ``TurnEngine``, ``ConversationState``, ``History``,
``ModelView``) lives in this package's modules (``agentloop.loop.engine``, ``.state``,
``.history``, ``.compaction``) and is not part of the public API.
"""

from agentloop.errors import (
    InteractionCancelledError,
    InteractionFailedError,
    InteractionIncompleteError,
    MaxStepsExceeded,
    OutputValidationError,
    TurnError,
    UnexpectedStatusError,
)

from .background import AsyncBackgroundTurn, BackgroundTurn
from .compaction import Compaction
from .conversation import AsyncConversation, AsyncEventStream, Conversation, EventStream
from .events import (
    ApprovalRequired,
    Compacted,
    Handoff,
    InteractionCompleted,
    InteractionStarted,
    LoopEvent,
    OutputRetry,
    Recovered,
    Retrying,
    StepStarted,
    StrategyFallback,
    StreamError,
    TextDelta,
    ThoughtDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnCompleted,
)
from .inputs import from_bytes, from_file, from_uri, text
from .limits import UsageLimits, UsageTotals
from .status import ConversationStatus
from .timetravel import TurnInfo
from .turn import ToolCall, Turn

__all__ = [
    "ApprovalRequired",
    "AsyncBackgroundTurn",
    "AsyncConversation",
    "AsyncEventStream",
    "BackgroundTurn",
    "Compacted",
    "Compaction",
    "Conversation",
    "ConversationStatus",
    "EventStream",
    "Handoff",
    "InteractionCancelledError",
    "InteractionCompleted",
    "InteractionFailedError",
    "InteractionIncompleteError",
    "InteractionStarted",
    "LoopEvent",
    "MaxStepsExceeded",
    "OutputRetry",
    "OutputValidationError",
    "Recovered",
    "Retrying",
    "StepStarted",
    "StrategyFallback",
    "StreamError",
    "TextDelta",
    "ThoughtDelta",
    "ToolCall",
    "ToolCallFinished",
    "ToolCallStarted",
    "Turn",
    "TurnCompleted",
    "TurnError",
    "TurnInfo",
    "UnexpectedStatusError",
    "UsageLimits",
    "UsageTotals",
    "from_bytes",
    "from_file",
    "from_uri",
    "text",
]

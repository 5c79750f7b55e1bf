"""Conversations and the agent loop: history, strategies, the sans-I/O engine and drivers."""

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
from .compaction import Compaction, ModelView
from .conversation import AsyncConversation, Conversation
from .engine import ConversationState, Strategy, TurnEngine
from .events import (
    ApprovalRequired,
    Compacted,
    InteractionCompleted,
    InteractionStarted,
    LoopEvent,
    Retrying,
    ServerError,
    StepStarted,
    StrategyFallback,
    TextDelta,
    ThoughtDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnCompleted,
)
from .history import History
from .inputs import from_bytes, from_file, from_uri, text
from .limits import UsageLimits, UsageTotals
from .turn import ToolCall, Turn

__all__ = [
    "ApprovalRequired",
    "AsyncBackgroundTurn",
    "AsyncConversation",
    "BackgroundTurn",
    "Compacted",
    "Compaction",
    "Conversation",
    "ConversationState",
    "History",
    "InteractionCancelledError",
    "InteractionCompleted",
    "InteractionFailedError",
    "InteractionIncompleteError",
    "InteractionStarted",
    "LoopEvent",
    "MaxStepsExceeded",
    "ModelView",
    "OutputValidationError",
    "Retrying",
    "ServerError",
    "StepStarted",
    "Strategy",
    "StrategyFallback",
    "TextDelta",
    "ThoughtDelta",
    "ToolCall",
    "ToolCallFinished",
    "ToolCallStarted",
    "Turn",
    "TurnCompleted",
    "TurnEngine",
    "TurnError",
    "UnexpectedStatusError",
    "UsageLimits",
    "UsageTotals",
    "from_bytes",
    "from_file",
    "from_uri",
    "text",
]

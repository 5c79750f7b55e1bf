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
from .conversation import AsyncConversation, Conversation
from .engine import ConversationState, Strategy, TurnEngine
from .events import (
    ApprovalRequired,
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
from .turn import ToolCall, Turn

__all__ = [
    "ApprovalRequired",
    "AsyncBackgroundTurn",
    "AsyncConversation",
    "BackgroundTurn",
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
    "from_bytes",
    "from_file",
    "from_uri",
    "text",
]

"""agentloop: chatbots and autonomous tool-using agents on the Gemini Interactions API.

Public names are imported lazily so that ``import agentloop`` stays cheap: nothing heavier
than this module loads until a name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
"""The installed agentloop version."""

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Client": "agentloop.client",
    "AsyncClient": "agentloop.client",
    "tool": "agentloop.tools",
    "Tool": "agentloop.tools",
    "ToolContext": "agentloop.tools",
    "ToolError": "agentloop.tools",
    "ToolRegistry": "agentloop.tools",
    "Conversation": "agentloop.loop",
    "Agent": "agentloop.agents",
    "RunContext": "agentloop.agents",
    "ManagedAgent": "agentloop.agents",
    "Handoff": "agentloop.loop.events",
    "ModelRetry": "agentloop.errors",
    "AgentloopError": "agentloop.errors",
    "TurnInProgressError": "agentloop.errors",
    "AsyncConversation": "agentloop.loop",
    "ConversationStatus": "agentloop.loop",
    "Turn": "agentloop.loop",
    "TurnInfo": "agentloop.loop",
    "ToolCall": "agentloop.loop",
    "BackgroundTurn": "agentloop.loop",
    "AsyncBackgroundTurn": "agentloop.loop",
    "errors": "agentloop.errors",
    "types": "agentloop.types",
    "webhooks": "agentloop.webhooks",
    "Compaction": "agentloop.loop",
    "UsageLimits": "agentloop.loop",
    # observability and hooks
    "instrument": "agentloop.observe",
    "Hooks": "agentloop.loop.hooks",
    "Deny": "agentloop.loop.hooks",
    "RequireApproval": "agentloop.loop.hooks",
}

__all__ = [
    "Agent",
    "AgentloopError",
    "AsyncBackgroundTurn",
    "AsyncClient",
    "AsyncConversation",
    "BackgroundTurn",
    "Client",
    "Compaction",
    "Conversation",
    "ConversationStatus",
    "Deny",
    "Handoff",
    "Hooks",
    "ManagedAgent",
    "ModelRetry",
    "RequireApproval",
    "RunContext",
    "Tool",
    "ToolCall",
    "ToolContext",
    "ToolError",
    "ToolRegistry",
    "Turn",
    "TurnInProgressError",
    "TurnInfo",
    "UsageLimits",
    "__version__",
    "errors",
    "instrument",
    "tool",
    "types",
    "webhooks",
]

if TYPE_CHECKING:
    from agentloop import errors, types, webhooks
    from agentloop.agents import Agent, ManagedAgent, RunContext
    from agentloop.client import AsyncClient, Client
    from agentloop.errors import AgentloopError, ModelRetry, TurnInProgressError
    from agentloop.loop import (
        AsyncBackgroundTurn,
        AsyncConversation,
        BackgroundTurn,
        Compaction,
        Conversation,
        ConversationStatus,
        ToolCall,
        Turn,
        TurnInfo,
        UsageLimits,
    )
    from agentloop.loop.events import Handoff
    from agentloop.loop.hooks import Deny, Hooks, RequireApproval
    from agentloop.observe import instrument
    from agentloop.tools import Tool, ToolContext, ToolError, ToolRegistry, tool


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'agentloop' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name == f"agentloop.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

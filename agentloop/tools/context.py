"""``ToolContext``: what a tool can learn about the call it is serving."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from agentloop.types import FunctionCallStep

if TYPE_CHECKING:
    from .tool import Tool

__all__ = ["ToolContext", "ToolContextFactory", "default_context"]

DepsT = TypeVar("DepsT")


@dataclasses.dataclass
class ToolContext(Generic[DepsT]):
    """Injected into a tool parameter annotated ``ToolContext`` (hidden from the model).

    ``deps`` carries the user's dependencies (database handles, clients, settings) that the
    conversation passes through; annotate ``ctx: ToolContext[MyDeps]`` to type them.

    Attributes:
        call_id: The id of the model's function call.
        tool_name: The name of the tool being called.
        arguments: The arguments the model sent (validated values go to the parameters).
        conversation: The ``Conversation`` or ``AsyncConversation`` running the call, or
            ``None`` when the tool runs outside one (e.g. ``ToolRegistry.run``).
        deps: The conversation's ``deps=`` (``None`` when it has none).
        metadata: A free dict for the caller's own per-call data.
    """

    call_id: str
    tool_name: str
    arguments: dict[str, Any] = dataclasses.field(default_factory=dict)
    conversation: Any = None
    deps: DepsT | None = None
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)


ToolContextFactory = Callable[[FunctionCallStep, "Tool[..., Any] | None"], ToolContext[Any]]
"""Builds the context of one call; the conversation supplies one to put itself and its deps in."""


def default_context(call: FunctionCallStep, tool: Tool[..., Any] | None) -> ToolContext[Any]:
    """The context used when the caller gives no factory: no conversation, no deps."""
    return ToolContext(call_id=call.id, tool_name=call.name, arguments=dict(call.arguments))

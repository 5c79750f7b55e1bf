"""The result of one user turn."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from agentloop.types import (
    FunctionCallStep,
    FunctionResultStep,
    Interaction,
    Usage,
    output_text_of,
)

__all__ = ["ToolCall", "Turn", "TurnStatus"]

TurnStatus = Literal[
    "running",
    "completed",
    "awaiting_approval",
    "failed",
    "cancelled",
    "incomplete",
    "max_steps",
    "interrupted",
    "usage_limit",
]


@dataclass(slots=True)
class ToolCall:
    """One function call of the turn and how it ended."""

    call: FunctionCallStep
    result: FunctionResultStep
    is_error: bool = False
    error: str | None = None
    duration: float = 0.0
    value: Any = None

    @property
    def id(self) -> str:
        return self.call.id

    @property
    def name(self) -> str:
        return self.call.name

    @property
    def arguments(self) -> dict[str, Any]:
        return self.call.arguments


@dataclass(slots=True)
class Turn:
    """Everything one ``send`` did: new steps, tool calls, interactions, usage and output.

    ``steps`` are this turn's new history entries in order (the user input, every model step,
    every function result). ``output`` is the structured output parsed into the turn's
    ``response_model`` when one was given, else the output text.
    """

    input: list[Any] = field(default_factory=list)
    steps: list[Any] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    interaction_ids: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    status: TurnStatus = "running"
    pending_approvals: list[FunctionCallStep] = field(default_factory=list)
    last_interaction: Interaction | None = None
    model_requests: int = 0
    output: Any = None
    error: str | None = None

    @property
    def output_text(self) -> str:
        """The trailing text of the model's final output (``""`` when there is none)."""
        return output_text_of(self.steps)

    @property
    def interaction_id(self) -> str | None:
        """The id of the turn's last interaction."""
        return self.interaction_ids[-1] if self.interaction_ids else None

    @property
    def function_calls(self) -> list[FunctionCallStep]:
        return [s for s in self.steps if isinstance(s, FunctionCallStep)]

    def __repr__(self) -> str:
        text = self.output_text
        if len(text) > 60:
            text = text[:57] + "..."
        return (
            f"Turn(status={self.status!r}, output_text={text!r}, steps={len(self.steps)}, "
            f"tool_calls={len(self.tool_calls)}, interactions={len(self.interaction_ids)})"
        )

"""The result of one user turn."""

from __future__ import annotations

import json
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


def result_text(result: FunctionResultStep) -> str:
    """A function result as text: the string itself, a dict as JSON, content blocks' text."""
    value = result.result
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return json.dumps(value)
    return " ".join(getattr(block, "text", "") or "" for block in value)


@dataclass(slots=True)
class ToolCall:
    """One function call of the turn and how it ended.

    Attributes:
        call: The model's ``function_call`` step (``id``, ``name``, ``arguments``).
        result: The ``function_result`` step sent back to the model.
        is_error: Whether the result reports an error (the tool raised, timed out, was
            unknown, rejected or given invalid arguments).
        error: A one-line description of the error, when ``is_error``.
        duration: How long the tool ran, in seconds (0 when it did not run).
        value: What the tool function returned, before conversion to ``result`` (``None``
            when it raised or did not run).
    """

    call: FunctionCallStep
    result: FunctionResultStep
    is_error: bool = False
    error: str | None = None
    duration: float = 0.0
    value: Any = None

    @property
    def id(self) -> str:
        """The call's id (``call.id``)."""
        return self.call.id

    @property
    def name(self) -> str:
        """The tool's name (``call.name``)."""
        return self.call.name

    @property
    def arguments(self) -> dict[str, Any]:
        """The arguments the model sent (``call.arguments``)."""
        return self.call.arguments


def _no_usage() -> Usage:
    """A turn's usage before its first response: ``Usage()`` without ``__init__``'s two
    Python frames (a turn is built per ``send``)."""
    usage: Usage = _new_usage({})
    return usage


_new_usage = Usage.__pydantic_validator__.validate_python


@dataclass(slots=True)
class Turn:
    """Everything one ``send`` did: new steps, tool calls, interactions, usage and output.

    Attributes:
        input: The user input steps this turn began with.
        steps: This turn's new history entries in order (the user input, every model step,
            every function result).
        tool_calls: Every function call that ran (or was refused) and how it ended.
        interaction_ids: The ids of the interactions (model requests) of the turn, in order.
        usage: Token usage summed over the turn's model requests.
        status: How the turn ended: ``"completed"``, ``"awaiting_approval"`` (paused; see
            ``pending_approvals``), ``"failed"``, ``"cancelled"``, ``"incomplete"``,
            ``"max_steps"``, ``"interrupted"`` (an exception stopped it) or
            ``"usage_limit"``; ``"running"`` while it runs.
        pending_approvals: The calls waiting for ``approve``/``reject`` when paused.
        last_interaction: The last interaction the server returned, if any.
        model_requests: How many model requests the turn made (what ``max_steps`` counts).
        output: The structured output parsed into the turn's ``response_model`` when one was
            given, else the output text.
        error: What stopped the turn, when an exception did (its message).
    """

    input: list[Any] = field(default_factory=list)
    steps: list[Any] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    interaction_ids: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=_no_usage)
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
        """The function-call steps of the turn, in order."""
        return [s for s in self.steps if isinstance(s, FunctionCallStep)]

    def __repr__(self) -> str:
        text = self.output_text
        if len(text) > 60:
            text = text[:57] + "..."
        return (
            f"Turn(status={self.status!r}, output_text={text!r}, steps={len(self.steps)}, "
            f"tool_calls={len(self.tool_calls)}, interactions={len(self.interaction_ids)})"
        )

"""Errors raised by a turn. Re-exported from ``agentloop.errors``.

Each carries the partial ``Turn`` (``.turn``): the steps, tool calls, interaction ids and usage
gathered before the turn stopped. The conversation stays usable after any of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentloop.errors import AgentloopError

if TYPE_CHECKING:
    from .turn import Turn

__all__ = [
    "InteractionCancelledError",
    "InteractionFailedError",
    "InteractionIncompleteError",
    "MaxStepsExceeded",
    "OutputValidationError",
    "TurnError",
    "UnexpectedStatusError",
]


class TurnError(AgentloopError):
    """A turn stopped before the model finished. ``.turn`` holds what it did so far."""

    def __init__(self, message: str, turn: Turn | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.turn = turn

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.turn))

    def __str__(self) -> str:
        return self.message


class MaxStepsExceeded(TurnError):
    """The turn made ``max_steps`` model requests and the model still wanted to go on."""

    def __init__(self, message: str, turn: Turn | None = None, max_steps: int = 0) -> None:
        super().__init__(message, turn)
        self.max_steps = max_steps

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.turn, self.max_steps))


class InteractionFailedError(TurnError):
    """The interaction ended with status ``failed``; ``.errors`` has the API's details."""

    def __init__(self, message: str, turn: Turn | None = None, errors: Any = None) -> None:
        super().__init__(message, turn)
        self.errors = errors

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.turn, self.errors))


class InteractionCancelledError(TurnError):
    """The interaction was cancelled (``status: cancelled``)."""


class InteractionIncompleteError(TurnError):
    """The interaction stopped early (``incomplete`` or ``budget_exceeded``)."""


class UnexpectedStatusError(TurnError):
    """The interaction ended with a status this version of agentloop does not know."""


class OutputValidationError(TurnError):
    """The model's final text did not parse into the turn's ``response_model``."""

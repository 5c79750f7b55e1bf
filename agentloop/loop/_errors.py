"""Turn errors live in ``agentloop.errors``; this module re-exports them for the loop."""

from agentloop.errors import (
    InteractionCancelledError,
    InteractionFailedError,
    InteractionIncompleteError,
    MaxStepsExceeded,
    OutputValidationError,
    TurnError,
    UnexpectedStatusError,
)

__all__ = [
    "InteractionCancelledError",
    "InteractionFailedError",
    "InteractionIncompleteError",
    "MaxStepsExceeded",
    "OutputValidationError",
    "TurnError",
    "UnexpectedStatusError",
]

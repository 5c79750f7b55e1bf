"""Errors of the tool layer (defined in :mod:`agentloop.errors`, re-exported here).

``ToolDefinitionError`` is raised while *declaring* a tool (a programming error, raised at
decoration time). ``ToolError`` is raised by a tool *at run time* to send the model a message
of its choice as an ``is_error`` result. ``UnknownToolError``, ``ToolTimeoutError`` and
``ArgumentsInvalidError`` describe failed calls; they reach you on ``ToolOutcome.error``.

The names used before 0.2 (``UnknownTool``, ``ToolTimeout``, ``ArgumentsInvalid``,
``TypeProblem``) still work for one release, with a ``DeprecationWarning``.
"""

from __future__ import annotations

import warnings
from typing import Any

from agentloop.errors import (
    ArgumentsInvalidError,
    ToolDefinitionError,
    ToolError,
    ToolResultError,
    ToolSchemaError,
    ToolTimeoutError,
    UnknownToolError,
)

__all__ = [
    "ArgumentsInvalidError",
    "ToolDefinitionError",
    "ToolError",
    "ToolResultError",
    "ToolSchemaError",
    "ToolTimeoutError",
    "UnknownToolError",
]

DEPRECATED_NAMES: dict[str, type[Exception]] = {
    "UnknownTool": UnknownToolError,
    "ToolTimeout": ToolTimeoutError,
    "ArgumentsInvalid": ArgumentsInvalidError,
    "TypeProblem": ToolSchemaError,
}


def deprecated(module: str, name: str) -> Any:
    """The new class for an old name (with a ``DeprecationWarning``); for module
    ``__getattr__`` functions of the modules that used to define it."""
    new = DEPRECATED_NAMES.get(name)
    if new is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    warnings.warn(
        f"{module}.{name} is deprecated and will be removed in the next release; use "
        f"agentloop.errors.{new.__name__} (also in agentloop.tools)",
        DeprecationWarning,
        stacklevel=3,
    )
    return new

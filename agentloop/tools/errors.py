"""Errors of the tool layer (defined in :mod:`agentloop.errors`, re-exported here).

``ToolDefinitionError`` is raised while *declaring* a tool (a programming error, raised at
decoration time). ``ToolError`` is raised by a tool *at run time* to send the model a message
of its choice as an ``is_error`` result. ``UnknownToolError``, ``ToolTimeoutError`` and
``ArgumentsInvalidError`` describe failed calls; they reach you on ``ToolOutcome.error``.
"""

from __future__ import annotations

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

"""Errors of the tool layer.

``ToolDefinitionError`` is raised while *declaring* a tool (a programming error, raised at
decoration time). ``ToolError`` is raised by a tool *at run time* to send the model a message
of its choice as an ``is_error`` result.
"""

from __future__ import annotations

__all__ = ["ToolDefinitionError", "ToolError"]


class ToolDefinitionError(ValueError):
    """A function cannot be declared as a tool; the message names the tool and the parameter."""


class ToolError(Exception):
    """Raise inside a tool to report a failure to the model with exactly this message.

    Other exceptions are reported as ``"<ExceptionType>: <message>"``; a ``ToolError`` sends
    only its message, so it can tell the model what to do next::

        raise ToolError("No flights on that date. Try a date within the next 30 days.")
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

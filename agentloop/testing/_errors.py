"""Google-shaped API errors raised inside the emulator core and turned into HTTP responses."""

from __future__ import annotations

import json
from typing import Any

from agentloop.errors import AgentloopError

__all__ = ["CANONICAL_STATUS", "ApiException", "error_body"]

# HTTP status -> google.rpc canonical code name, as the real service reports them.
CANONICAL_STATUS: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class ApiException(AgentloopError):
    """An error the emulator answers with: HTTP status, message and canonical status."""

    def __init__(self, code: int, message: str, status: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or CANONICAL_STATUS.get(code, "UNKNOWN")

    def body(self) -> bytes:
        return error_body(self.code, self.message, self.status)


def error_body(code: int, message: str, status: str | None = None) -> bytes:
    """``{"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT"}}`` as bytes."""
    payload: dict[str, Any] = {
        "error": {
            "code": code,
            "message": message,
            "status": status or CANONICAL_STATUS.get(code, "UNKNOWN"),
        }
    }
    return json.dumps(payload).encode()

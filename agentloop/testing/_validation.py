"""Request validation for the emulator: create bodies, input forms, function-call pairing."""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agentloop.types import CreateInteractionRequest

from ._errors import ApiException

if TYPE_CHECKING:
    from .emulator import _Record

__all__ = [
    "check_function_pairs",
    "describe",
    "environment_id",
    "normalise_input",
    "parse_body",
    "validate",
]


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(18)


def describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:3]:
            loc = ".".join(str(p) for p in err["loc"])
            parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
        return "; ".join(parts)
    return str(exc)


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"null")
    except ValueError as exc:
        raise ApiException(400, f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiException(400, "request body must be a JSON object")
    return body


def validate(body: dict[str, Any]) -> CreateInteractionRequest:
    try:
        req = CreateInteractionRequest.model_validate(body)
    except ValidationError as exc:
        raise ApiException(400, f"invalid create request: {describe(exc)}") from None
    if req.model is not None and req.agent is not None:
        raise ApiException(400, "set either model or agent, not both")
    if req.model is None and req.agent is None:
        raise ApiException(400, "model is required (or agent for the agent form)")
    if req.agent is not None and req.generation_config is not None:
        raise ApiException(
            400,
            "generation_config is not allowed with agent; use agent_config to configure an agent",
        )
    if req.model is not None and req.agent_config is not None:
        raise ApiException(400, "agent_config is only allowed with agent, not with model")
    if req.agent is not None and req.cached_content is not None:
        raise ApiException(400, "cached_content is not allowed with agent")
    if req.background and req.store is False:
        raise ApiException(
            400,
            "background=true requires store=true (a background "
            "interaction must be stored to be polled)",
        )
    for i, tool in enumerate(req.tools or []):
        if getattr(tool, "type", None) == "function" and not getattr(tool, "name", None):
            raise ApiException(400, f"tools[{i}]: a function tool needs a name")
    return req


def normalise_input(step: dict[str, Any]) -> dict[str, Any]:
    # The docs' curl examples send user_input.content as a plain string.
    if step.get("type") == "user_input" and isinstance(step.get("content"), str):
        return {**step, "content": [{"type": "text", "text": step["content"]}]}
    return step


def environment_id(req: CreateInteractionRequest, prev: _Record | None) -> str | None:
    env = req.environment
    if env is None:
        return prev.environment_id if prev is not None else None
    if isinstance(env, str):
        return _new_id("env_") if env == "remote" else env
    given = getattr(env, "environment_id", None)
    return given if isinstance(given, str) and given else _new_id("env_")


def check_function_pairs(history: list[dict[str, Any]], new_from: int) -> None:
    """Every function_call must be answered, by id, before new user input or the model."""
    pending: dict[str, str] = {}
    for index, step in enumerate(history):
        kind = step.get("type")
        if kind == "function_call":
            pending[str(step.get("id"))] = str(step.get("name"))
        elif kind == "function_result":
            call_id = step.get("call_id")
            if call_id not in pending:
                where = f"input step {index - new_from}" if index >= new_from else "history"
                raise ApiException(
                    400,
                    f"function_result call_id {call_id!r} ({where}) does "
                    "not match any pending function_call id",
                )
            del pending[call_id]
        elif kind == "user_input" and pending:
            raise ApiException(400, _pending_message(pending))
    if pending:
        raise ApiException(400, _pending_message(pending))


def _pending_message(pending: dict[str, str]) -> str:
    listed = ", ".join(f"{cid!r} ({name})" for cid, name in pending.items())
    return (
        f"function_call {listed} has no function_result; send a function_result step "
        "with the matching call_id for every pending call"
    )

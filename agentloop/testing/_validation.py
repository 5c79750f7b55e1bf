"""Request validation for the emulator: create bodies, input forms, function-call pairing."""

from __future__ import annotations

import json
import re
import secrets
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agentloop.types import CreateInteractionRequest
from agentloop.types._base import wire_errors

from ._errors import ApiException
from .tokens import KNOWN_AGENTS, KNOWN_MODELS

if TYPE_CHECKING:
    from .emulator import _Record

__all__ = [
    "MAX_JSON_DEPTH",
    "check_agent",
    "check_function_pairs",
    "check_input_steps",
    "check_model",
    "describe",
    "environment_id",
    "json_depth",
    "missing_fields",
    "new_api_id",
    "normalise_input",
    "open_calls",
    "parse_body",
    "validate",
]

MAX_JSON_DEPTH = 100
"""Request JSON nested deeper than this is answered 400 (the real API's protobuf limit)."""


def new_api_id(prefix: str) -> str:
    """An id shaped like the real API's: ``prefix`` and 24 URL-safe random characters."""
    return prefix + secrets.token_urlsafe(18)


def describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in wire_errors(exc)[:3]:
            loc = ".".join(str(p) for p in err["loc"])
            parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
        return "; ".join(parts)
    return str(exc)


def json_depth(value: Any, limit: int) -> int:
    """How deeply ``value`` nests (iteratively; stops counting past ``limit``)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"null")
    except RecursionError:
        body = None
        too_deep = True
    except ValueError as exc:
        raise ApiException(400, f"request body is not valid JSON: {exc}") from None
    else:
        # Fewer brackets than the limit cannot nest deeper than it: skip the walk (most bodies).
        brackets = raw.count(b"[") + raw.count(b"{")
        too_deep = brackets > MAX_JSON_DEPTH and json_depth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH
    if too_deep:
        raise ApiException(
            400,
            f"Invalid JSON payload received: the request nests deeper than {MAX_JSON_DEPTH} "
            "levels of objects and arrays",
        )
    if not isinstance(body, dict):
        raise ApiException(400, "request body must be a JSON object")
    return body


def check_model(model: str) -> None:
    """A 400 for a model id the API does not serve (``models/`` prefix allowed)."""
    name = model.removeprefix("models/")
    if name in KNOWN_MODELS:
        return
    known = ", ".join(sorted(KNOWN_MODELS))
    raise ApiException(
        400,
        f"Model {model!r} is not found or is not supported by the Interactions API. "
        f"(agentloop emulator: known models are {known}; use Emulator("
        "allow_unknown_models=True) or agentloop emulator --allow-unknown-models for others)",
    )


# Which agent_config types an agent takes, by the agent's family (its name's prefix).
_AGENT_CONFIGS = {
    "deep-research": frozenset({"deep-research", "dynamic"}),
    "antigravity": frozenset({"antigravity", "dynamic"}),
    "code-mender": frozenset({"code-mender", "dynamic"}),
}


def check_agent(agent: str, config: Any, *, allow_unknown: bool) -> None:
    """A 400 for an agent the API does not serve, or an ``agent_config`` of another agent."""
    name = agent.removeprefix("agents/")
    if name not in KNOWN_AGENTS and not allow_unknown:
        known = ", ".join(sorted(KNOWN_AGENTS))
        raise ApiException(
            400,
            f"Agent {agent!r} is not found or is not supported by the Interactions API. "
            f"(agentloop emulator: known agents are {known}; use Emulator("
            "allow_unknown_models=True) for others)",
        )
    kind = getattr(config, "type", None)
    if config is None or kind is None:
        return
    family = next((f for f in _AGENT_CONFIGS if name.startswith(f)), None)
    if family is None:
        return  # an agent this emulator does not know: any config
    allowed = _AGENT_CONFIGS[family]
    if kind not in allowed:
        raise ApiException(
            400,
            f"agent_config type {kind!r} does not apply to agent {agent!r}; "
            f"use agent_config={{'type': {family!r}, ...}}",
        )


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


# The fields the API requires of the steps a client writes (the reader of responses is
# tolerant; a request is checked like the API checks it).
_REQUIRED = {
    "function_call": ("id", "name", "arguments"),
    "function_result": ("call_id", "result"),
}


def missing_fields(step: dict[str, Any]) -> list[str]:
    """The required fields ``step`` lacks (function calls and results only)."""
    return [key for key in _REQUIRED.get(str(step.get("type")), ()) if step.get(key) in (None, "")]


_LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")


def check_labels(labels: dict[str, str]) -> None:
    """A 400 for a label the API refuses (spec 2: at most 63 characters, lowercase letters,
    digits, ``_`` and ``-``; keys start with a letter)."""
    for key, value in labels.items():
        if not _LABEL_KEY.fullmatch(key):
            raise ApiException(
                400,
                f"labels: key {key!r} is not allowed: keys start with a lowercase letter and "
                "hold at most 63 lowercase letters, digits, '_' or '-'",
            )
        if not isinstance(value, str) or not _LABEL_VALUE.fullmatch(value):
            raise ApiException(
                400,
                f"labels: the value of {key!r} ({value!r}) is not allowed: at most 63 lowercase "
                "letters, digits, '_' or '-'",
            )


def check_input_steps(steps: list[dict[str, Any]]) -> None:
    """A 400 naming the first client step that lacks a field the API requires."""
    for index, step in enumerate(steps):
        missing = missing_fields(step)
        if missing:
            raise ApiException(
                400, f"input: input[{index}] ({step.get('type')}): {missing[0]} is required"
            )


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
        return new_api_id("env_") if env == "remote" else env
    given = getattr(env, "environment_id", None)
    return given if isinstance(given, str) and given else new_api_id("env_")


def open_calls(steps: list[dict[str, Any]]) -> dict[str, str]:
    """The function calls among ``steps`` (an interaction's output) left without a result."""
    pending: dict[str, str] = {}
    for step in steps:
        kind = step.get("type")
        if kind == "function_call":
            pending[str(step.get("id"))] = str(step.get("name"))
        elif kind == "function_result":
            pending.pop(str(step.get("call_id")), None)
    return pending


def check_function_pairs(steps: list[dict[str, Any]], pending: dict[str, str]) -> None:
    """Every function_call must be answered, by id, before new user input or the model.

    ``steps`` are the request's new steps; ``pending`` the calls the stored chain left open
    (updated in place). Only the new steps are read, so a long chain costs nothing here.
    """
    for index, step in enumerate(steps):
        kind = step.get("type")
        if kind == "function_call":
            pending[str(step.get("id"))] = str(step.get("name"))
        elif kind == "function_result":
            call_id = step.get("call_id")
            if call_id not in pending:
                raise ApiException(
                    400,
                    f"function_result call_id {call_id!r} (input step {index}) does "
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

"""The create request body (spec section 2) and the normalisation of its ``input``."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from agentloop.errors import InputError

from ._base import WireModel
from .config import (
    AgentConfig,
    Environment,
    GenerationConfig,
    ResponseFormat,
    SafetySetting,
    WebhookConfig,
)
from .content import _CONTENT_TAGS, Content
from .steps import STEP_TYPES, Step, UserInputStep
from .tools import Tool
from .values import AgentId, Modality, ModelId, ServiceTier

__all__ = [
    "CreateInteractionRequest",
    "InputError",
    "content_adapter",
    "input_to_steps",
    "step_adapter",
    "steps_adapter",
]

step_adapter: TypeAdapter[Step] = TypeAdapter(Step)
steps_adapter: TypeAdapter[list[Step]] = TypeAdapter(list[Step])
content_adapter: TypeAdapter[Content] = TypeAdapter(Content)
_user_text: TypeAdapter[UserInputStep] = TypeAdapter(UserInputStep)


class CreateInteractionRequest(WireModel):
    """``POST /{version}/interactions`` body: model form (``model``) or agent form (``agent``)."""

    model: ModelId | None = None
    agent: AgentId | None = None
    input: str | list[Any] | dict[str, Any] | None = None
    previous_interaction_id: str | None = None
    store: bool | None = None
    stream: bool | None = None
    background: bool | None = None
    system_instruction: str | None = None
    tools: list[Tool] | None = None
    generation_config: GenerationConfig | None = None
    response_format: ResponseFormat | list[ResponseFormat] | None = None
    response_mime_type: str | None = None
    response_modalities: list[Modality] | None = None
    safety_settings: list[SafetySetting] | None = None
    service_tier: ServiceTier | None = None
    environment: str | Environment | None = None
    agent_config: AgentConfig | None = None
    labels: dict[str, str] | None = None
    webhook_config: WebhookConfig | None = None
    continuation_token: str | None = None
    cached_content: str | None = None


def _type_of(item: Any) -> Any:
    kind = item.get("type") if isinstance(item, dict) else getattr(item, "type", None)
    return kind if kind is None or isinstance(kind, str) else repr(kind)  # ``{}``: no tag


def _first_problem(exc: ValidationError) -> str:
    """The first error of ``exc`` in one line: where, and what."""
    error = exc.errors()[0]
    parts = [str(p) for p in error["loc"] if p not in ("known", "unknown")]  # (union tags)
    where = ".".join(p for p in parts if p.replace("_", "").isalnum())
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def input_to_steps(value: Any) -> list[Any]:
    """Turn any accepted ``input`` form into a list of steps.

    The forms: a string (one user text turn), one content block, a list of content blocks (one
    user turn), or a list of steps (kept as they are, unknown step types included). Items may be
    dicts or models. Raises :class:`InputError` for a mixed list or an unknown form.
    """
    if value is None:
        return []
    if isinstance(value, str):
        # One Rust validation from the wire shape: 3x cheaper than building the two models.
        return [
            _user_text.validator.validate_python(
                {"type": "user_input", "content": [{"type": "text", "text": value}]}
            )
        ]
    if isinstance(value, (dict, WireModel)):
        kind = _type_of(value)
        if kind in _CONTENT_TAGS:
            return [UserInputStep(content=[content_adapter.validate_python(value)])]
        what = f"of type {kind!r}" if kind is not None else f"{str(value)[:60]} has no 'type' and"
        raise InputError(
            f"input object {what} is not a content block; wrap steps in a list "
            "(input=[step, ...]) or pass text, a content block or a list of content blocks"
        )
    if isinstance(value, (list, tuple)):
        if not value:
            return []
        if any(isinstance(item, str) for item in value):  # texts: one user turn's text blocks
            value = [{"type": "text", "text": i} if isinstance(i, str) else i for i in value]
        odd = next((i for i in value if not isinstance(i, (dict, WireModel))), None)
        if odd is not None:
            raise InputError(
                f"input item {odd!r} ({type(odd).__name__}) is not a string, a content block or "
                "a step; pass a list of strings or content blocks (one user turn), or of steps"
            )
        kinds = [_type_of(item) for item in value]
        if None in kinds:
            item = value[kinds.index(None)]
            hint = (
                " (a chat message of another API? here a user turn is a string, or "
                '{"type": "user_input", "content": [{"type": "text", "text": "..."}]})'
                if isinstance(item, dict) and "role" in item
                else ""
            )
            raise InputError(
                f"input item {str(item)[:80]} has no 'type'{hint}; pass a string, a list of "
                "strings or content blocks (one user turn), or a list of typed steps"
            )
        try:
            if all(k in _CONTENT_TAGS for k in kinds):
                blocks = [content_adapter.validate_python(item) for item in value]
                return [UserInputStep(content=blocks)]
            if not any(k in _CONTENT_TAGS for k in kinds):
                return [step_adapter.validate_python(item) for item in value]
        except ValidationError as exc:
            raise InputError(
                f"input is not valid: {_first_problem(exc)}; pass a string, a list of strings "
                "or content blocks (one user turn), or a list of steps such as "
                '{"type": "user_input", "content": [{"type": "text", "text": "..."}]}'
            ) from None
        bad = [k for k in kinds if k in _CONTENT_TAGS]
        raise InputError(
            "input mixes steps and bare content blocks "
            f"(content types {sorted(set(bad))}); put the blocks inside a "
            '{"type": "user_input", "content": [...]} step'
        )
    raise InputError(
        f"input of type {type(value).__name__} is not accepted; pass a string, a content "
        "block, a list of content blocks or a list of steps"
    )


KNOWN_STEP_TYPES = frozenset(STEP_TYPES)

"""The Interaction resource, its usage and errors (spec section 3)."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal, Union

from pydantic import model_validator

from ._base import WireModel
from .config import (
    AgentConfig,
    Environment,
    GenerationConfig,
    ResponseFormat,
    SafetySetting,
    WebhookConfig,
)
from .content import AudioContent, Content, ImageContent, TextContent, VideoContent
from .steps import FunctionCallStep, ModelOutputStep, Status, Step, ThoughtStep, UserInputStep
from .tools import Tool
from .values import AgentId, GroundingToolType, Modality, ModelId, ServiceTier

__all__ = [
    "RUNNING_STATUSES",
    "TERMINAL_STATUSES",
    "ApiError",
    "Interaction",
    "InteractionStatus",
    "ModalityTokens",
    "Usage",
    "local_call_id",
    "output_text_of",
]

InteractionStatus = Union[
    Literal[
        "queued",
        "in_progress",
        "requires_action",
        "requires_continuation",
        "completed",
        "incomplete",
        "budget_exceeded",
        "failed",
        "cancelled",
    ],
    str,
]

RUNNING_STATUSES = frozenset({"queued", "in_progress"})
TERMINAL_STATUSES = frozenset({"completed", "incomplete", "budget_exceeded", "failed", "cancelled"})


class ModalityTokens(WireModel):
    modality: Modality | None = None
    tokens: int | None = None


class GroundingToolCount(WireModel):
    type: GroundingToolType | None = None
    count: int | None = None


_INT_USAGE_FIELDS = (
    "total_input_tokens",
    "total_output_tokens",
    "total_thought_tokens",
    "total_cached_tokens",
    "total_tool_use_tokens",
    "total_tokens",
)
_LIST_USAGE_FIELDS = (
    "input_tokens_by_modality",
    "output_tokens_by_modality",
    "cached_tokens_by_modality",
    "tool_use_tokens_by_modality",
)


class Usage(WireModel):
    """Token counts. Every field is optional; ``a + b`` sums two usages field by field."""

    total_input_tokens: int | None = None
    total_output_tokens: int | None = None
    total_thought_tokens: int | None = None
    total_cached_tokens: int | None = None
    total_tool_use_tokens: int | None = None
    total_tokens: int | None = None
    initial_input_tokens: int | None = None
    input_tokens_by_modality: list[ModalityTokens] | None = None
    output_tokens_by_modality: list[ModalityTokens] | None = None
    cached_tokens_by_modality: list[ModalityTokens] | None = None
    tool_use_tokens_by_modality: list[ModalityTokens] | None = None
    grounding_tool_count: list[GroundingToolCount] | None = None

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        # Field values straight from the instances' dicts, and the sum built through the
        # validator (what ``Usage(**data)`` runs, without its Python ``__init__``): a turn
        # adds two usages per model request after its first (~2.7 -> ~1.5 us each).
        mine, theirs = self.__dict__, other.__dict__
        data: dict[str, Any] = {}
        for name in _INT_USAGE_FIELDS:
            a, b = mine[name], theirs[name]
            if a is not None or b is not None:
                data[name] = (a or 0) + (b or 0)
        first = mine["initial_input_tokens"]
        if first is None:
            first = theirs["initial_input_tokens"]
        if first is not None:
            data["initial_input_tokens"] = first
        for name in _LIST_USAGE_FIELDS:
            a_list, b_list = mine[name], theirs[name]
            if a_list is None and b_list is None:
                continue
            merged: dict[str | None, int] = {}
            for item in (a_list or []) + (b_list or []):
                merged[item.modality] = merged.get(item.modality, 0) + (item.tokens or 0)
            data[name] = [ModalityTokens(modality=m, tokens=t) for m, t in merged.items()]
        a_counts, b_counts = mine["grounding_tool_count"], theirs["grounding_tool_count"]
        if a_counts is not None or b_counts is not None:
            counts: dict[str | None, int] = {}
            for g in (a_counts or []) + (b_counts or []):
                counts[g.type] = counts.get(g.type, 0) + (g.count or 0)
            data["grounding_tool_count"] = [
                GroundingToolCount(type=t, count=c) for t, c in counts.items()
            ]
        return _new_usage(data)  # type: ignore[no-any-return]


_new_usage = Usage.__pydantic_validator__.validate_python


class ApiError(WireModel):
    """An entry of ``Interaction.errors`` or the ``error`` of an SSE error event."""

    code: int | str | None = None
    message: str | None = None
    status: str | None = None
    details: list[Any] | None = None


def output_text_of(steps: list[Any] | None) -> str:
    """The trailing run of text blocks of the model's output, as the SDK defines it.

    Walk the steps backwards, skipping thoughts, stopping at a ``user_input``; join the trailing
    run of consecutive text blocks of ``model_output`` steps. Once collecting has begun, a
    non-text block or any step other than ``model_output``/``thought`` ends the run; before
    that, trailing non-output steps are skipped.
    """
    if not steps:
        return ""
    parts: list[str] = []
    collecting = False
    for step in reversed(steps):
        if isinstance(step, ThoughtStep):
            continue
        if isinstance(step, UserInputStep):
            break
        if not isinstance(step, ModelOutputStep):
            if collecting:
                break
            continue
        stop = False
        for block in reversed(step.content or []):
            if isinstance(block, TextContent):
                parts.append(block.text)
                collecting = True
            elif collecting:
                stop = True
                break
        if stop:
            break
    return "".join(reversed(parts))


def _last_block(steps: list[Any] | None, kind: type[Any]) -> Any:
    for step in reversed(steps or []):
        if isinstance(step, ThoughtStep):
            continue
        if isinstance(step, UserInputStep):
            return None
        if isinstance(step, ModelOutputStep):
            for block in reversed(step.content or []):
                if isinstance(block, kind):
                    return block
    return None


def local_call_id(interaction_id: str | None, index: int, name: str, arguments: Any) -> str:
    """The stable local id of a ``function_call`` the API sent without one.

    Derived from the interaction's id, the step's position, the function's name and its
    arguments, so reading the same interaction again (a GET, a resumed stream, a saved
    conversation) gives the same id, and the ``function_result`` that answers it matches.
    """
    key = json.dumps(
        [interaction_id, index, name, arguments], sort_keys=True, separators=(",", ":"), default=str
    )
    return "local_" + hashlib.sha256(key.encode()).hexdigest()[:20]


class Interaction(WireModel):
    """One interaction: a model or agent run and the steps it produced.

    Read tolerantly, as the official SDK reads a response: a ``function_call`` without an
    ``id`` gets a stable local one (:func:`local_call_id`, written back when the step is
    resent, so its result matches it); a body without ``status`` reads ``status=None``
    (wire specification 9.2: the SDK parses success bodies leniently), which a conversation
    then reports as an unexpected status.
    """

    id: str | None = None
    status: InteractionStatus | None = None
    object: str | None = None
    model: ModelId | None = None
    agent: AgentId | None = None
    created: str | None = None
    updated: str | None = None
    steps: list[Step] | None = None
    usage: Usage | None = None
    previous_interaction_id: str | None = None
    environment_id: str | None = None
    continuation_token: str | None = None
    errors: list[ApiError] | None = None
    input: str | list[Any] | dict[str, Any] | None = None
    system_instruction: str | None = None
    tools: list[Tool] | None = None
    generation_config: GenerationConfig | None = None
    response_format: ResponseFormat | list[ResponseFormat] | None = None
    response_modalities: list[Modality] | None = None
    response_mime_type: str | None = None
    safety_settings: list[SafetySetting] | None = None
    service_tier: ServiceTier | None = None
    agent_config: AgentConfig | None = None
    environment: str | Environment | None = None
    labels: dict[str, str] | None = None
    webhook_config: WebhookConfig | None = None
    cached_content: str | None = None

    @model_validator(mode="after")
    def _fill_in(self) -> Interaction:
        steps = self.steps
        if steps:
            for index, step in enumerate(steps):
                if type(step) is FunctionCallStep and not step.id:
                    step.id = local_call_id(self.id, index, step.name, step.arguments)
        return self

    @property
    def output_text(self) -> str:
        """The trailing text of the model's output (``""`` when there is none)."""
        return output_text_of(self.steps)

    @property
    def output_image(self) -> ImageContent | None:
        """The last image block of the trailing model output."""
        block: ImageContent | None = _last_block(self.steps, ImageContent)
        return block

    @property
    def output_audio(self) -> AudioContent | None:
        """The last audio block of the trailing model output."""
        block: AudioContent | None = _last_block(self.steps, AudioContent)
        return block

    @property
    def output_video(self) -> VideoContent | None:
        """The last video block of the trailing model output."""
        block: VideoContent | None = _last_block(self.steps, VideoContent)
        return block

    @property
    def function_calls(self) -> list[FunctionCallStep]:
        """The ``function_call`` steps this interaction is waiting on (answered ones excluded)."""
        steps = self.steps or []
        answered = {getattr(s, "call_id", None) for s in steps if s.type == "function_result"}
        return [s for s in steps if isinstance(s, FunctionCallStep) and s.id not in answered]

    @property
    def error(self) -> ApiError | Status | None:
        """The first reported error of a failed run (``errors[0]``, else a ``model_output``'s
        ``error``), or ``None``. The wire has ``errors``; this reads like the docs' ``.error``."""
        if self.errors:
            return self.errors[0]
        for step in reversed(self.steps or []):
            if isinstance(step, ModelOutputStep) and step.error is not None:
                return step.error
        return None

    @property
    def is_running(self) -> bool:
        return self.status in RUNNING_STATUSES

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


# ``Content`` is re-exported for ``Interaction.input`` users.
_ = Content

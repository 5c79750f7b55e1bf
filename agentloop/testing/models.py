"""Who answers in the emulator: the request a model sees, its reply, and two test models."""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, Union

from agentloop.errors import ConfigurationError
from agentloop.types import GenerationConfig, ResponseFormat, Tool, Usage, WireModel

from ._errors import ApiException

__all__ = [
    "FunctionModel",
    "Model",
    "ModelRequest",
    "Reply",
    "ReplyLike",
    "ScriptedModel",
]


@dataclass
class ModelRequest:
    """Everything a model receives for one interaction.

    ``history`` is the full conversation (the stored chain, kept cumulatively by the emulator,
    or the resent history) including this request's input, as ``agentloop.types`` step
    models; the list is the model's own copy. Tools, system instruction and configs come
    from the current request only.
    """

    history: list[Any]
    tools: list[Tool]
    system_instruction: str | None
    generation_config: GenerationConfig | None
    response_format: ResponseFormat | list[ResponseFormat] | None
    model: str | None
    agent: str | None
    body: dict[str, Any]
    environment: Any = None
    interaction_id: str = ""

    @property
    def function_tools(self) -> list[Any]:
        """The declared ``function`` tools."""
        return [t for t in self.tools if getattr(t, "type", None) == "function"]

    @property
    def last_user_text(self) -> str:
        """The text of the last ``user_input`` step (``""`` when there is none)."""
        for step in reversed(self.history):
            if getattr(step, "type", None) == "user_input":
                return text_of_user_input(step)
        return ""


def text_of_user_input(step: Any) -> str:
    content = getattr(step, "content", None)
    if isinstance(content, str):
        return content
    return " ".join(b.text for b in content or [] if getattr(b, "type", None) == "text")


@dataclass
class Reply:
    """An explicit model reply: steps plus an optional status, usage and errors.

    Steps may be ``agentloop.types`` step models or plain dicts. Function calls without an
    ``id`` get one, and ``thought`` steps without a ``signature`` are signed by the emulator.
    ``status`` defaults to ``requires_action`` when there are function calls, else
    ``completed``.
    """

    steps: list[Any] = field(default_factory=list)
    status: str | None = None
    usage: Usage | dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None


ReplyLike = Union[str, Reply, list[Any], dict[str, Any], WireModel]


class Model(Protocol):
    """Anything that turns a :class:`ModelRequest` into a reply."""

    def __call__(self, request: ModelRequest, /) -> ReplyLike: ...


def as_reply(value: Any) -> Reply:
    """Normalise whatever a model returned into a :class:`Reply`."""
    if isinstance(value, Reply):
        return value
    if isinstance(value, str):
        return Reply(steps=[_text_step(value)])
    if isinstance(value, (dict, WireModel)):
        return Reply(steps=[value])
    if isinstance(value, (list, tuple)):
        return Reply(steps=[_text_step(s) if isinstance(s, str) else s for s in value])
    raise ConfigurationError(
        f"a model returned {type(value).__name__}; return a str, a list of steps, a step or a Reply"
    )


def _text_step(text: str) -> dict[str, Any]:
    return {"type": "model_output", "content": [{"type": "text", "text": text}]}


Scripted = Union[ReplyLike, Callable[[ModelRequest], ReplyLike]]


class ScriptedModel:
    """Answers with queued replies, one per interaction, in order.

    Each entry is a reply (str, steps, Reply) or a callable taking the
    :class:`ModelRequest`. ``requests`` records what the model saw. A request after the last
    reply is answered at once with HTTP 400 ``FAILED_PRECONDITION`` ("ScriptedModel has no
    replies left (N were given)"), which clients do not retry.
    """

    def __init__(self, replies: Iterable[Scripted] = ()) -> None:
        self._queue: deque[Scripted] = deque(replies)
        self._given = len(self._queue)
        self.requests: list[ModelRequest] = []

    def add(self, *replies: Scripted) -> ScriptedModel:
        """Queue more replies; returns self for chaining."""
        self._queue.extend(replies)
        self._given += len(replies)
        return self

    @property
    def remaining(self) -> int:
        """How many scripted replies are left."""
        return len(self._queue)

    def __call__(self, request: ModelRequest, /) -> ReplyLike:
        self.requests.append(request)
        if not self._queue:
            raise ApiException(
                400,
                f"ScriptedModel has no replies left ({self._given} were given) for request "
                f"#{len(self.requests)}; queue more with ScriptedModel.add(...) (emulated "
                "error, not retried)",
                "FAILED_PRECONDITION",
            )
        entry = self._queue.popleft()
        if callable(entry) and not isinstance(entry, (WireModel, Reply)):
            return entry(request)
        return entry


class FunctionModel:
    """A model backed by a function, like pydantic-ai's ``FunctionModel``.

    ``fn(request)`` receives the :class:`ModelRequest`; a three-parameter function is called as
    ``fn(history, tools, request)``. It returns a str, steps or a :class:`Reply`.
    """

    def __init__(self, fn: Callable[..., ReplyLike]) -> None:
        self.fn = fn
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        self._three = len(params) >= 3
        self.requests: list[ModelRequest] = []

    def __call__(self, request: ModelRequest, /) -> ReplyLike:
        self.requests.append(request)
        if self._three:
            return self.fn(request.history, request.tools, request)
        return self.fn(request)

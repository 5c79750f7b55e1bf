"""A conversation's settings: one frozen object, checked once, read by every turn.

``Conversation(...)`` builds a ``ConversationSettings``; its attributes (``conv.model``,
``conv.system_instruction``...) read it, and assigning one between turns replaces the whole
object with a checked copy (``dataclasses.replace``). A turn takes the settings object as it
is when the turn starts, so a change made while a turn runs applies to the next one.
``static_body`` turns settings into the request fields every request of a turn carries.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from agentloop.errors import ConfigurationError
from agentloop.types import REDACTED, Environment, WireModel

from .structured import response_format_for

__all__ = [
    "REQUEST_SETTINGS",
    "ConversationSettings",
    "has_redacted_secrets",
    "jsonable",
    "saved_settings",
    "static_body",
    "turn_overrides",
]


def jsonable(value: Any) -> Any:
    """A model's JSON form (wire models with their exact fields); anything else as is."""
    if isinstance(value, WireModel):
        return value.model_dump(mode="json")
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    return value


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    return None


@dataclass(frozen=True)
class ConversationSettings:
    """What a conversation sends and how it runs a turn (no client, no state)."""

    model: str | None = None
    agent: str | None = None
    system_instruction: str | None = None
    generation_config: Any = None
    response_format: Any = None
    response_model: Any = None
    max_steps: int = 20
    agent_config: Any = None
    environment: Any = None
    # Request settings sent as given (typed models or their JSON), saved with the conversation.
    service_tier: Any = None
    safety_settings: Any = None
    labels: Any = None
    webhook_config: Any = None
    response_modalities: Any = None
    extra_body: dict[str, Any] = field(default_factory=dict)
    builtin_tools: tuple[Any, ...] = ()
    name: str | None = None  # the agent's name in traces (gen_ai.agent.name)
    instrument: bool = True  # False: no spans, metrics or log lines for this conversation

    def __post_init__(self) -> None:
        if self.model is not None and self.agent is not None:
            raise ConfigurationError("pass either model= or agent=, not both (the API takes one)")
        if self.agent is not None and self.generation_config is not None:
            raise ConfigurationError(
                "generation_config is not allowed with agent= (spec: model form only); "
                "use agent_config= for agents"
            )
        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int):
            raise ConfigurationError(
                f"max_steps is a whole number of model requests (at least 1), not "
                f"{type(self.max_steps).__name__} {self.max_steps!r}"
            )
        if self.max_steps < 1:
            raise ConfigurationError(f"max_steps must be at least 1, got {self.max_steps}")

    def replace(self, **changes: Any) -> ConversationSettings:
        """A checked copy with ``changes``."""
        return dataclasses.replace(self, **changes)


def static_body(
    settings: ConversationSettings,
    declarations: list[dict[str, Any]],
    response_model: Any = None,
    response_format: Any = None,
) -> dict[str, Any]:
    """The fields every request of a turn carries (``input`` and chaining come per request)."""
    body: dict[str, Any] = {}
    if settings.agent is not None:
        body["agent"] = settings.agent
    else:
        body["model"] = settings.model
    tools = declarations + list(settings.builtin_tools) if declarations else settings.builtin_tools
    if tools:
        body["tools"] = list(tools)
    if settings.system_instruction is not None:
        body["system_instruction"] = settings.system_instruction
    if settings.generation_config is not None:
        body["generation_config"] = jsonable(settings.generation_config)
    fmt = response_format if response_format is not None else settings.response_format
    model = response_model if response_model is not None else settings.response_model
    if fmt is None and model is not None:
        fmt = response_format_for(model)
    if fmt is not None:
        body["response_format"] = jsonable(fmt)
    if settings.agent_config is not None:
        body["agent_config"] = jsonable(settings.agent_config)
    if settings.environment is not None:
        body["environment"] = jsonable(settings.environment)
    for key in REQUEST_SETTINGS:
        value = getattr(settings, key)
        if value is not None:
            body[key] = [jsonable(v) for v in value] if isinstance(value, list) else jsonable(value)
    body.update(settings.extra_body)
    return body


REQUEST_SETTINGS = (
    "service_tier",
    "safety_settings",
    "labels",
    "webhook_config",
    "response_modalities",
)
"""Settings sent on every request as they are (``send`` may override them for one turn)."""


def turn_overrides(
    service_tier: Any,
    safety_settings: Any,
    labels: Any,
    webhook_config: Any,
    response_modalities: Any,
) -> dict[str, Any]:
    """The request settings given to one ``send``/``stream`` (those not ``None``)."""
    if (
        service_tier is None
        and safety_settings is None
        and labels is None
        and webhook_config is None
        and response_modalities is None
    ):
        return {}  # the common turn: no dict built and filtered
    given = {
        "service_tier": service_tier,
        "safety_settings": safety_settings,
        "labels": labels,
        "webhook_config": webhook_config,
        "response_modalities": response_modalities,
    }
    return {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in given.items()
        if value is not None
    }


def _saved_environment(value: Any) -> Any:
    """The environment as saved: env var values (secrets) replaced by ``***``."""
    if isinstance(value, Environment):
        return value.model_dump(mode="json", context={"redact_secrets": True})
    if isinstance(value, dict) and isinstance(value.get("env"), dict):
        env = Environment.model_validate(value)
        return env.model_dump(mode="json", context={"redact_secrets": True})
    return _plain(value)


def has_redacted_secrets(environment: Any) -> bool:
    """Whether a saved environment lost secret values (they must be given again)."""
    env = environment.get("env") if isinstance(environment, dict) else None
    if not isinstance(env, dict):
        return False
    return any(
        v == REDACTED or (isinstance(v, dict) and v.get("value") == REDACTED) for v in env.values()
    )


def saved_settings(settings: ConversationSettings, tool_names: list[str]) -> dict[str, Any]:
    """The JSON-ready settings a saved conversation keeps (no client, tools or deps)."""
    return {
        "model": settings.model,
        "agent": settings.agent,
        "system_instruction": settings.system_instruction,
        "generation_config": _plain(settings.generation_config),
        "response_format": _plain(settings.response_format),
        "max_steps": settings.max_steps,
        "builtin_tools": list(settings.builtin_tools),
        "tool_names": tool_names,
        "agent_config": _plain(settings.agent_config),
        "environment": _saved_environment(settings.environment),
        **{
            key: [_plain(v) for v in value] if isinstance(value, list) else _plain(value)
            for key in REQUEST_SETTINGS
            if (value := getattr(settings, key)) is not None
        },
        "extra_body": dict(settings.extra_body),
    }


T = TypeVar("T")


class Setting(Generic[T]):
    """A conversation attribute that reads the settings and, assigned, replaces them."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        value: T = getattr(obj.settings, self.name)
        return value

    def __set__(self, obj: Any, value: T) -> None:
        obj.settings = obj.settings.replace(**{self.name: value})

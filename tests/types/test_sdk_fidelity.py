"""Wire-model fidelity: agentloop.types accepts the same payloads as the official SDK's types
(google.genai.interactions, a test-only oracle) and round-trips them unchanged."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from _lazy import lazy_module
from pydantic import BaseModel, TypeAdapter, ValidationError
from wire_payloads import (
    AGENT_CONFIGS,
    ANNOTATIONS,
    CONTENT,
    DELTAS,
    ENVIRONMENTS,
    EVENTS,
    GENERATION_CONFIGS,
    INTERACTIONS,
    RESPONSE_FORMATS,
    SAFETY_SETTINGS,
    STEPS,
    THOUGHT_SUMMARIES,
    TOOLS,
    USAGE,
    WEBHOOK_CONFIGS,
)

from agentloop import types as ours

# The official SDK, a test-only oracle (imported by the first test that reads it).
sdk = lazy_module("google.genai.interactions")
serializers = lazy_module("google.genai._gaos.utils.serializers")

# kind -> (our type, the SDK's type's name)
TYPES: dict[str, tuple[Any, str]] = {
    "step": (ours.Step, "Step"),
    "content": (ours.Content, "Content"),
    "annotation": (ours.Annotation, "Annotation"),
    "delta": (ours.Delta, "StepDeltaData"),
    "event": (ours.InteractionEvent, "InteractionSSEEvent"),
    "tool": (ours.Tool, "Tool"),
    "generation_config": (ours.GenerationConfig, "GenerationConfig"),
    "response_format": (ours.ResponseFormat, "ResponseFormat"),
    "agent_config": (ours.AgentConfig, "InteractionAgentConfig"),
    "usage": (ours.Usage, "Usage"),
    "interaction": (ours.Interaction, "Interaction"),
    "safety_setting": (ours.SafetySetting, "SafetySetting"),
    "environment": (ours.Environment, "Environment"),
    "webhook_config": (ours.WebhookConfig, "WebhookConfig"),
    "thought_summary": (ours.ThoughtSummaryContent, "ThoughtSummaryContent"),
}


@functools.cache
def validators(kind: str) -> tuple[TypeAdapter[Any], TypeAdapter[Any]]:
    """(our validator, the SDK's validator) of one kind, built once."""
    ours_type, sdk_name = TYPES[kind]
    return TypeAdapter(ours_type), TypeAdapter(getattr(sdk, sdk_name))


TABLE: list[tuple[str, dict[str, Any]]] = [
    *[("step", p) for p in STEPS],
    *[("content", p) for p in CONTENT],
    *[("annotation", p) for p in ANNOTATIONS],
    *[("delta", p) for p in DELTAS],
    *[("event", p) for p in EVENTS],
    *[("tool", p) for p in TOOLS],
    *[("generation_config", p) for p in GENERATION_CONFIGS],
    *[("response_format", p) for p in RESPONSE_FORMATS],
    *[("agent_config", p) for p in AGENT_CONFIGS],
    ("usage", USAGE),
    *[("interaction", p) for p in INTERACTIONS],
    *[("safety_setting", p) for p in SAFETY_SETTINGS],
    *[("environment", p) for p in ENVIRONMENTS],
    *[("webhook_config", p) for p in WEBHOOK_CONFIGS],
    *[("thought_summary", p) for p in THOUGHT_SUMMARIES],
]

# Properties the SDK adds to its dumps that never travel on the wire (spec section 10).
SDK_ONLY = {"output_text", "output_image", "output_audio", "output_video", "continuation_ids"}


def _sdk_dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        data = value.model_dump(mode="json", by_alias=True, exclude_none=True)
    else:
        data = value
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if k not in SDK_ONLY}
    return data


def _ids(case: tuple[str, dict[str, Any]]) -> str:
    kind, payload = case
    tag = payload.get("type") or payload.get("event_type") or payload.get("status") or ""
    return f"{kind}-{tag}"


@pytest.mark.parametrize("case", TABLE, ids=[_ids(c) for c in TABLE])
def test_same_payloads_validate_and_round_trip(case: tuple[str, dict[str, Any]]) -> None:
    kind, payload = case
    ours_adapter, sdk_adapter = validators(kind)
    sdk_value = sdk_adapter.validate_python(payload)  # the oracle accepts it...
    assert _sdk_dump(sdk_value) == payload  # ...and the payload is canonical wire JSON
    value = ours_adapter.validate_python(payload)
    assert value.model_dump(mode="json") == payload
    from_json = ours_adapter.validate_json(json.dumps(payload))
    assert json.loads(from_json.model_dump_json()) == payload


def test_the_table_covers_every_known_type() -> None:
    step_types = {p["type"] for p in STEPS}
    assert set(ours.steps.STEP_TYPES) <= step_types  # type: ignore[attr-defined]
    assert set(ours.events.DELTA_TYPES) <= {p["type"] for p in DELTAS}  # type: ignore[attr-defined]
    assert set(ours.events.EVENT_TYPES) <= {p["event_type"] for p in EVENTS}  # type: ignore[attr-defined]
    assert set(ours.tools.TOOL_TYPES) <= {p["type"] for p in TOOLS}  # type: ignore[attr-defined]
    content_types = {p["type"] for p in CONTENT}
    assert {"text", "image", "audio", "video", "document"} <= content_types
    annotation_types = {p["type"] for p in ANNOTATIONS}
    assert {
        "url_citation",
        "file_citation",
        "place_citation",
        "speech_metadata",
        "word_info",
    } <= annotation_types


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("step", {"type": "function_call", "name": "f", "arguments": {}}),  # no id
        ("step", {"type": "function_call", "id": "c", "name": "f"}),  # no arguments
        ("step", {"type": "function_result", "result": "x"}),  # no call_id
        ("step", {"type": "function_result", "call_id": "c"}),  # no result
        ("step", {"type": "code_execution_call", "id": "x"}),  # no arguments
        ("step", {"type": "mcp_server_tool_call", "id": "x", "name": "n", "arguments": {}}),
        ("step", {"type": "google_search_call", "arguments": {"queries": ["q"]}}),  # no id
        ("content", {"type": "text"}),  # no text
        ("delta", {"type": "text"}),
        ("delta", {"type": "function_result"}),
    ],
)
def test_what_the_sdk_reads_from_a_response_we_read(kind: str, payload: dict[str, Any]) -> None:
    """Postel: a known variant missing a required field is strict for the SDK's request
    models but accepted in a response (the SDK keeps it raw); we read it, typed, and dump
    exactly the keys received."""
    ours_adapter, sdk_adapter = validators(kind)
    sdk_adapter.validate_python(payload, context={serializers.ALLOW_UNKNOWN_UNION_VARIANTS: True})
    assert ours_adapter.validate_python(payload).model_dump(mode="json") == payload


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("event", {"event_type": "step.start", "step": {"type": "thought"}}),  # no index
        ("event", {"event_type": "step.delta", "index": 0}),  # no delta
        ("event", {"event_type": "interaction.created"}),  # no interaction
        ("event", {"event_type": "interaction.status_update", "status": "completed"}),
        # no status: the SDK's client reads it as status=None (its model alone refuses it)
        ("interaction", {"id": "x"}),
    ],
)
def test_events_and_interactions_missing_required_fields_are_read(
    kind: str, payload: dict[str, Any]
) -> None:
    ours_adapter, _ = validators(kind)
    assert ours_adapter.validate_python(payload).model_dump(mode="json") == payload


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("content", {"type": "text", "text": 5}),
        ("usage", {"total_tokens": "many"}),
    ],
)
def test_same_payloads_are_rejected(kind: str, payload: dict[str, Any]) -> None:
    """A value of the wrong type is not a missing field: both refuse it."""
    ours_adapter, sdk_adapter = validators(kind)
    with pytest.raises(ValidationError):
        sdk_adapter.validate_python(payload)
    with pytest.raises(ValidationError):
        ours_adapter.validate_python(payload)


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("step", {"type": "thought", "signature": 5}),
        ("step", {"type": "user_input", "content": "plain string"}),
    ],
)
def test_known_leniency_differences(kind: str, payload: dict[str, Any]) -> None:
    """Documented differences: our models accept the docs' string ``user_input.content``."""
    ours_adapter, sdk_adapter = validators(kind)
    if payload.get("type") == "user_input":
        with pytest.raises(ValidationError):
            sdk_adapter.validate_python(payload)
        assert ours_adapter.validate_python(payload).model_dump(mode="json") == payload
    else:
        with pytest.raises(ValidationError):
            ours_adapter.validate_python(payload)


def test_unknown_types_keep_raw_like_the_sdk() -> None:
    payload = {"type": "teleport_call", "id": "t1", "target": {"x": 1}}
    ours_step = TypeAdapter(ours.Step).validate_python(payload)
    sdk_step = TypeAdapter(sdk.Step).validate_python(payload)
    assert isinstance(ours_step, ours.UnknownStep)
    assert ours_step.raw == sdk_step.raw == payload
    event = {"event_type": "interaction.time_travel", "payload": {"a": 1}}
    ours_event = TypeAdapter(ours.InteractionEvent).validate_python(event)
    assert isinstance(ours_event, ours.UnknownEvent) and ours_event.raw == event

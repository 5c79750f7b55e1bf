"""Request configuration objects: generation config, response formats, agent configs,
safety settings, environments, webhooks (spec sections 2.2 to 2.6)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag

from ._base import UNKNOWN_TAG, UnknownMixin, WireModel, tag_of
from .tools import AllowedTools

__all__ = [
    "AgentConfig",
    "AntigravityAgentConfig",
    "AudioResponseFormat",
    "CodeMenderAgentConfig",
    "DeepResearchAgentConfig",
    "DynamicAgentConfig",
    "Environment",
    "GenerationConfig",
    "ImageConfig",
    "ImageResponseFormat",
    "ResponseFormat",
    "SafetySetting",
    "SpeechConfig",
    "TextResponseFormat",
    "ToolChoiceConfig",
    "TranscriptionConfig",
    "UnknownAgentConfig",
    "UnknownResponseFormat",
    "VideoConfig",
    "VideoResponseFormat",
    "WebhookConfig",
]

ThinkingLevel = Union[Literal["minimal", "low", "medium", "high", "xhigh"], str]
ToolChoiceType = Union[Literal["auto", "any", "none", "validated"], str]


class SpeechConfig(WireModel):
    voice: str | None = None
    speaker: str | None = None
    language: str | None = None


class SpeakerConfig(WireModel):
    speakers: list[SpeechConfig] | None = None


class TranscriptionConfig(WireModel):
    language_codes: list[str] | None = None
    custom_vocabulary: list[str] | None = None
    mode: str | dict[str, Any] | None = None
    language_hints: list[str] | None = None
    adaptation_phrases: list[str] | None = None
    diarization_mode: str | None = None
    timestamp_granularities: list[str] | None = None


class VideoConfig(WireModel):
    task: str | None = None


class ImageConfig(WireModel):
    aspect_ratio: str | None = None
    image_size: str | None = None


class ToolChoiceConfig(WireModel):
    allowed_tools: AllowedTools | None = None


class GenerationConfig(WireModel):
    """Sampling and output controls (model form only; not allowed with ``agent``)."""

    max_output_tokens: int | None = None
    thinking_level: ThinkingLevel | None = None
    thinking_summaries: Literal["auto", "none"] | str | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    stop_sequences: list[str] | None = None
    tool_choice: ToolChoiceType | ToolChoiceConfig | None = None
    speech_config: SpeakerConfig | list[SpeechConfig] | None = None
    transcription_config: TranscriptionConfig | None = None
    video_config: VideoConfig | None = None
    image_config: ImageConfig | None = None


# --- response formats --------------------------------------------------------------------------


class TextResponseFormat(WireModel):
    """Text output; with ``mime_type="application/json"`` and a ``schema``, structured JSON."""

    type: Literal["text"] = "text"
    mime_type: Literal["application/json", "text/plain"] | str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")


class ImageResponseFormat(WireModel):
    type: Literal["image"] = "image"
    mime_type: str | None = None
    aspect_ratio: str | None = None
    image_size: str | None = None
    delivery: str | None = None


class AudioResponseFormat(WireModel):
    type: Literal["audio"] = "audio"
    mime_type: str | None = None
    sample_rate: int | None = None
    bit_rate: int | None = None
    delivery: str | None = None


class VideoResponseFormat(WireModel):
    type: Literal["video"] = "video"
    aspect_ratio: str | None = None
    resolution: str | None = None
    duration: str | None = None
    delivery: str | None = None
    gcs_uri: str | None = None


class UnknownResponseFormat(UnknownMixin, WireModel):
    type: str | None = None


ResponseFormat = Annotated[
    Annotated[TextResponseFormat, Tag("text")]
    | Annotated[ImageResponseFormat, Tag("image")]
    | Annotated[AudioResponseFormat, Tag("audio")]
    | Annotated[VideoResponseFormat, Tag("video")]
    | Annotated[UnknownResponseFormat, Tag(UNKNOWN_TAG)],
    Discriminator(tag_of("type", frozenset({"text", "image", "audio", "video"}))),
]


# --- agent configs -----------------------------------------------------------------------------


class DeepResearchAgentConfig(WireModel):
    type: Literal["deep-research"] = "deep-research"
    thinking_summaries: str | None = None
    visualization: str | None = None
    collaborative_planning: bool | None = None
    enable_bigquery_tool: bool | None = None


class AntigravityAgentConfig(WireModel):
    type: Literal["antigravity"] = "antigravity"
    model: str | None = None
    # An int64: the API (and the SDK's serializer) writes it as a JSON string; keep either form.
    max_total_tokens: int | str | None = None


class CodeMenderAgentConfig(WireModel):
    type: Literal["code-mender"] = "code-mender"
    model: str | None = None
    session_id: str | None = None
    session_config: dict[str, Any] | None = None
    find_request: dict[str, Any] | None = None
    fix_request: dict[str, Any] | None = None


class DynamicAgentConfig(WireModel):
    type: Literal["dynamic"] = "dynamic"


class UnknownAgentConfig(UnknownMixin, WireModel):
    type: str | None = None


AgentConfig = Annotated[
    Annotated[DeepResearchAgentConfig, Tag("deep-research")]
    | Annotated[AntigravityAgentConfig, Tag("antigravity")]
    | Annotated[CodeMenderAgentConfig, Tag("code-mender")]
    | Annotated[DynamicAgentConfig, Tag("dynamic")]
    | Annotated[UnknownAgentConfig, Tag(UNKNOWN_TAG)],
    Discriminator(
        tag_of("type", frozenset({"deep-research", "antigravity", "code-mender", "dynamic"}))
    ),
]


# --- the rest ----------------------------------------------------------------------------------


class SafetySetting(WireModel):
    """One safety threshold. Note the category key is ``type`` on the wire."""

    type: str | None = None
    threshold: str | None = None
    method: str | None = None


class Environment(WireModel):
    """A remote environment for agents (``environment`` may also be a plain id string)."""

    type: Literal["remote"] = "remote"
    environment_id: str | None = None
    sources: list[dict[str, Any]] | None = None
    env: dict[str, Any] | None = None
    network: str | dict[str, Any] | None = None


class WebhookConfig(WireModel):
    uris: list[str] | None = None
    user_metadata: dict[str, Any] | None = None

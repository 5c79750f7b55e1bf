"""Request configuration objects: generation config, response formats, agent configs,
safety settings, environments, webhooks (spec sections 2.2 to 2.6)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, Tag, model_serializer

from ._base import UNKNOWN_TAG, OpenUnion, UnknownMixin, WireModel
from .tools import AllowedTools
from .values import (
    AspectRatio,
    AudioResponseMimeType,
    Delivery,
    ImageResponseMimeType,
    ImageSize,
    NetworkMode,
    ResearchThinkingSummaries,
    ResearchVisualization,
    SafetyCategory,
    SafetyMethod,
    SafetyThreshold,
    SourceType,
    TranscriptionModeType,
    VideoAspectRatio,
    VideoResolution,
    VideoTask,
)

__all__ = [
    "REDACTED",
    "AgentConfig",
    "AllowlistEntry",
    "AntigravityAgentConfig",
    "AudioResponseFormat",
    "CodeMenderAgentConfig",
    "CodeMenderFindRequest",
    "CodeMenderFixRequest",
    "CodeMenderSessionConfig",
    "DeepResearchAgentConfig",
    "DynamicAgentConfig",
    "EgressAllowlist",
    "EnvVar",
    "Environment",
    "FileContent",
    "GenerationConfig",
    "ImageConfig",
    "ImageResponseFormat",
    "ResponseFormat",
    "SafetySetting",
    "SmartTranscriptionMode",
    "Source",
    "SpeechConfig",
    "TextResponseFormat",
    "ToolChoiceConfig",
    "TranscriptionConfig",
    "TranscriptionMode",
    "UnknownAgentConfig",
    "UnknownResponseFormat",
    "UnknownTranscriptionMode",
    "VerbatimTranscriptionMode",
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


class VerbatimTranscriptionMode(WireModel):
    """Transcribe word for word, optionally with speakers and word timestamps."""

    type: Literal["verbatim"] = "verbatim"
    diarization_mode: str | None = None
    timestamp_granularities: list[Literal["word"] | str] | None = None


class SmartTranscriptionMode(WireModel):
    """Voice-driven editing: with ``source_text``, the output is the edited replacement."""

    type: Literal["smart"] = "smart"
    source_text: str | None = None


class UnknownTranscriptionMode(UnknownMixin, WireModel):
    type: str | None = None


TranscriptionMode = Annotated[
    Annotated[VerbatimTranscriptionMode, Tag("verbatim")]
    | Annotated[SmartTranscriptionMode, Tag("smart")]
    | Annotated[UnknownTranscriptionMode, Tag(UNKNOWN_TAG)],
    OpenUnion("type"),
]


class TranscriptionConfig(WireModel):
    language_codes: list[str] | None = None
    custom_vocabulary: list[str] | None = None
    # A mode object (``{"type": "verbatim"}``); a bare mode name is kept as given.
    mode: TranscriptionMode | TranscriptionModeType | None = None
    language_hints: list[str] | None = None
    adaptation_phrases: list[str] | None = None
    diarization_mode: str | None = None
    timestamp_granularities: list[str] | None = None


class VideoConfig(WireModel):
    task: VideoTask | None = None


class ImageConfig(WireModel):
    aspect_ratio: AspectRatio | None = None
    image_size: ImageSize | None = None


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
    mime_type: ImageResponseMimeType | None = None
    aspect_ratio: AspectRatio | None = None
    image_size: ImageSize | None = None
    delivery: Delivery | None = None


class AudioResponseFormat(WireModel):
    type: Literal["audio"] = "audio"
    mime_type: AudioResponseMimeType | None = None
    sample_rate: int | None = None
    bit_rate: int | None = None
    delivery: Delivery | None = None


class VideoResponseFormat(WireModel):
    type: Literal["video"] = "video"
    aspect_ratio: VideoAspectRatio | None = None
    resolution: VideoResolution | None = None
    duration: str | None = None
    delivery: Delivery | None = None
    gcs_uri: str | None = None


class UnknownResponseFormat(UnknownMixin, WireModel):
    type: str | None = None


ResponseFormat = Annotated[
    Annotated[TextResponseFormat, Tag("text")]
    | Annotated[ImageResponseFormat, Tag("image")]
    | Annotated[AudioResponseFormat, Tag("audio")]
    | Annotated[VideoResponseFormat, Tag("video")]
    | Annotated[UnknownResponseFormat, Tag(UNKNOWN_TAG)],
    OpenUnion("type"),
]


# --- agent configs -----------------------------------------------------------------------------


class DeepResearchAgentConfig(WireModel):
    type: Literal["deep-research"] = "deep-research"
    thinking_summaries: ResearchThinkingSummaries | None = None
    visualization: ResearchVisualization | None = None
    collaborative_planning: bool | None = None
    enable_bigquery_tool: bool | None = None


class AntigravityAgentConfig(WireModel):
    type: Literal["antigravity"] = "antigravity"
    model: str | None = None
    # An int64: the API (and the SDK's serializer) writes it as a JSON string; keep either form.
    max_total_tokens: int | str | None = None


class FileContent(WireModel):
    """A source file given to the code-mender agent."""

    path: str | None = None
    content: str | None = None


class CodeMenderSessionConfig(WireModel):
    max_rounds: int | None = None


class CodeMenderFindRequest(WireModel):
    """Find (``mode="scan"``) or verify (``mode="verify"``, one ``finding_id``)
    vulnerabilities in a codebase."""

    mode: Literal["scan", "verify"] | str | None = None
    description: str | None = None
    finding_id: str | None = None
    source_files: list[FileContent] | None = None


class CodeMenderFixRequest(WireModel):
    """Generate and validate a patch for a finding."""

    description: str | None = None
    finding_id: str | None = None
    source_files: list[FileContent] | None = None


class CodeMenderAgentConfig(WireModel):
    type: Literal["code-mender"] = "code-mender"
    model: str | None = None
    session_id: str | None = None
    session_config: CodeMenderSessionConfig | None = None
    find_request: CodeMenderFindRequest | None = None
    fix_request: CodeMenderFixRequest | None = None


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
    OpenUnion("type"),
]


# --- the rest ----------------------------------------------------------------------------------


class SafetySetting(WireModel):
    """One safety threshold. Note the category key is ``type`` on the wire."""

    type: SafetyCategory | None = None
    threshold: SafetyThreshold | None = None
    method: SafetyMethod | None = None


REDACTED = "***"
"""What a secret value reads as in a repr, a log line or a saved conversation."""


def _redacting(info: Any) -> bool:
    context = getattr(info, "context", None)
    return isinstance(context, dict) and bool(context.get("redact_secrets"))


class EnvVar(WireModel):
    """An environment variable of a remote environment: a ``value``, or a ``credential``
    (the name of a stored credential the API resolves). A value is a secret: its repr shows
    ``***``, and so does every dump made with ``context={"redact_secrets": True}`` (logs,
    journals, saved conversations). Only the request itself carries it."""

    value: str | None = None
    credential: str | None = None

    @model_serializer(mode="wrap")
    def _redact(self, handler: Any, info: Any) -> Any:
        data = handler(self)
        if _redacting(info) and isinstance(data, dict) and data.get("value") is not None:
            data["value"] = REDACTED
        return data

    def __repr_args__(self) -> Any:
        for key, value in super().__repr_args__():
            yield key, (REDACTED if key == "value" else value)


class Source(WireModel):
    """A source copied into the environment: a GCS path, a repository, inline content or
    a skill from the registry, placed at ``target``."""

    type: SourceType | None = None
    source: str | None = None
    target: str | None = None
    content: str | None = None
    encoding: str | None = None


class AllowlistEntry(WireModel):
    """One domain the environment may reach (``"*.googleapis.com"``; ``"*"`` for all),
    optionally with a ``credential`` to attach and request header ``transform`` rules."""

    domain: str | None = None
    credential: str | None = None
    transform: list[dict[str, str]] | dict[str, str] | None = None


class EgressAllowlist(WireModel):
    """Network egress of an environment: ``allowlist`` entries, or ``"disabled"``."""

    allowlist: list[AllowlistEntry] | NetworkMode | None = None


class Environment(WireModel):
    """A remote environment for agents (``environment`` may also be a plain id string).

    ``env`` maps variable names to a value string or an :class:`EnvVar` (secrets are
    redacted in reprs, logs and saved conversations); ``network`` is ``"disabled"`` or an
    :class:`EgressAllowlist`.
    """

    type: Literal["remote"] = "remote"
    environment_id: str | None = None
    sources: list[Source] | None = None
    env: dict[str, EnvVar | str] | None = None
    network: EgressAllowlist | NetworkMode | None = None

    @model_serializer(mode="wrap")
    def _redact(self, handler: Any, info: Any) -> Any:
        data = handler(self)
        if _redacting(info) and isinstance(data, dict) and isinstance(data.get("env"), dict):
            data["env"] = {k: REDACTED if isinstance(v, str) else v for k, v in data["env"].items()}
        return data

    def __repr_args__(self) -> Any:
        for key, value in super().__repr_args__():
            if key == "env" and isinstance(value, dict):
                value = {k: REDACTED if isinstance(v, str) else v for k, v in value.items()}
            yield key, value


class WebhookConfig(WireModel):
    uris: list[str] | None = None
    user_metadata: dict[str, Any] | None = None

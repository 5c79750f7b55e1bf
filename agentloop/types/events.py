"""Server-sent events and step deltas (spec section 6)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Tag

from ._base import UNKNOWN_TAG, OpenUnion, UnknownMixin, WireModel
from .content import Annotation, Content
from .interaction import ApiError, InteractionStatus, Usage
from .steps import (
    CodeExecutionCallArguments,
    FunctionResult,
    GoogleMapsCallArguments,
    GoogleMapsResult,
    GoogleSearchCallArguments,
    GoogleSearchResult,
    RetrievalCallArguments,
    Step,
    URLContextCallArguments,
    URLContextResult,
)
from .values import (
    AgentId,
    AudioMimeType,
    DocumentMimeType,
    ImageMimeType,
    MediaResolution,
    ModelId,
    RetrievalType,
    ServiceTier,
    VideoMimeType,
)

__all__ = [
    "ArgumentsDelta",
    "AudioDelta",
    "CodeExecutionCallDelta",
    "CodeExecutionResultDelta",
    "Delta",
    "DocumentDelta",
    "ErrorEvent",
    "FileSearchCallDelta",
    "FileSearchResultDelta",
    "FunctionResultDelta",
    "GoogleMapsCallDelta",
    "GoogleMapsResultDelta",
    "GoogleSearchCallDelta",
    "GoogleSearchResultDelta",
    "ImageDelta",
    "InteractionCompletedEvent",
    "InteractionCreatedEvent",
    "InteractionEvent",
    "InteractionSnapshot",
    "InteractionStatusUpdateEvent",
    "MCPServerToolCallDelta",
    "MCPServerToolResultDelta",
    "ProcessingCallDelta",
    "ProcessingResultDelta",
    "RetrievalCallDelta",
    "RetrievalResultDelta",
    "StepDeltaEvent",
    "StepDeltaMetadata",
    "StepStartEvent",
    "StepStopEvent",
    "TextAnnotationDelta",
    "TextDelta",
    "ThoughtSignatureDelta",
    "ThoughtSummaryDelta",
    "URLContextCallDelta",
    "URLContextResultDelta",
    "UnknownDelta",
    "UnknownEvent",
    "VideoDelta",
]


# --- deltas ------------------------------------------------------------------------------------


class TextDelta(WireModel):
    type: Literal["text"] = "text"
    text: str = ""


class ImageDelta(WireModel):
    type: Literal["image"] = "image"
    data: str | None = None
    uri: str | None = None
    mime_type: ImageMimeType | None = None
    resolution: MediaResolution | None = None


class AudioDelta(WireModel):
    type: Literal["audio"] = "audio"
    data: str | None = None
    uri: str | None = None
    mime_type: AudioMimeType | None = None
    channels: int | None = None
    sample_rate: int | None = None
    rate: int | None = None


class VideoDelta(WireModel):
    type: Literal["video"] = "video"
    data: str | None = None
    uri: str | None = None
    mime_type: VideoMimeType | None = None
    resolution: MediaResolution | None = None


class DocumentDelta(WireModel):
    type: Literal["document"] = "document"
    data: str | None = None
    uri: str | None = None
    mime_type: DocumentMimeType | None = None


class TextAnnotationDelta(WireModel):
    type: Literal["text_annotation_delta"] = "text_annotation_delta"
    annotations: list[Annotation] | None = None


class ThoughtSignatureDelta(WireModel):
    type: Literal["thought_signature"] = "thought_signature"
    signature: str | None = None


class ThoughtSummaryDelta(WireModel):
    type: Literal["thought_summary"] = "thought_summary"
    content: Content | None = None


class ArgumentsDelta(WireModel):
    """A fragment of a function call's JSON arguments; join them and parse at ``step.stop``."""

    type: Literal["arguments_delta"] = "arguments_delta"
    arguments: str | None = None


class FunctionResultDelta(WireModel):
    type: Literal["function_result"] = "function_result"
    result: FunctionResult | None = None
    name: str | None = None
    is_error: bool | None = None


class CodeExecutionCallDelta(WireModel):
    type: Literal["code_execution_call"] = "code_execution_call"
    arguments: CodeExecutionCallArguments | None = None
    signature: str | None = None


class CodeExecutionResultDelta(WireModel):
    type: Literal["code_execution_result"] = "code_execution_result"
    result: str | list[Content] | None = None
    is_error: bool | None = None
    signature: str | None = None


class GoogleSearchCallDelta(WireModel):
    type: Literal["google_search_call"] = "google_search_call"
    arguments: GoogleSearchCallArguments | None = None
    signature: str | None = None


class GoogleSearchResultDelta(WireModel):
    type: Literal["google_search_result"] = "google_search_result"
    result: list[GoogleSearchResult] | None = None
    is_error: bool | None = None
    signature: str | None = None


class URLContextCallDelta(WireModel):
    type: Literal["url_context_call"] = "url_context_call"
    arguments: URLContextCallArguments | None = None
    signature: str | None = None


class URLContextResultDelta(WireModel):
    type: Literal["url_context_result"] = "url_context_result"
    result: list[URLContextResult] | None = None
    is_error: bool | None = None
    signature: str | None = None


class GoogleMapsCallDelta(WireModel):
    type: Literal["google_maps_call"] = "google_maps_call"
    arguments: GoogleMapsCallArguments | None = None
    signature: str | None = None


class GoogleMapsResultDelta(WireModel):
    type: Literal["google_maps_result"] = "google_maps_result"
    result: list[GoogleMapsResult] | None = None
    signature: str | None = None


class FileSearchCallDelta(WireModel):
    type: Literal["file_search_call"] = "file_search_call"
    signature: str | None = None


class FileSearchResultDelta(WireModel):
    type: Literal["file_search_result"] = "file_search_result"
    result: list[dict[str, Any]] | None = None
    signature: str | None = None


class MCPServerToolCallDelta(WireModel):
    type: Literal["mcp_server_tool_call"] = "mcp_server_tool_call"
    name: str | None = None
    server_name: str | None = None
    arguments: dict[str, Any] | None = None


class MCPServerToolResultDelta(WireModel):
    type: Literal["mcp_server_tool_result"] = "mcp_server_tool_result"
    result: FunctionResult | None = None
    name: str | None = None
    server_name: str | None = None


class RetrievalCallDelta(WireModel):
    type: Literal["retrieval_call"] = "retrieval_call"
    arguments: RetrievalCallArguments | None = None
    retrieval_type: RetrievalType | None = None
    signature: str | None = None


class RetrievalResultDelta(WireModel):
    type: Literal["retrieval_result"] = "retrieval_result"
    is_error: bool | None = None
    signature: str | None = None


class ProcessingCallDelta(WireModel):
    type: Literal["processing_call"] = "processing_call"
    signature: str | None = None


class ProcessingResultDelta(WireModel):
    type: Literal["processing_result"] = "processing_result"
    signature: str | None = None


class UnknownDelta(UnknownMixin, WireModel):
    type: str | None = None


DELTA_TYPES: dict[str, type[WireModel]] = {
    "text": TextDelta,
    "image": ImageDelta,
    "audio": AudioDelta,
    "video": VideoDelta,
    "document": DocumentDelta,
    "text_annotation_delta": TextAnnotationDelta,
    "thought_signature": ThoughtSignatureDelta,
    "thought_summary": ThoughtSummaryDelta,
    "arguments_delta": ArgumentsDelta,
    "function_result": FunctionResultDelta,
    "code_execution_call": CodeExecutionCallDelta,
    "code_execution_result": CodeExecutionResultDelta,
    "google_search_call": GoogleSearchCallDelta,
    "google_search_result": GoogleSearchResultDelta,
    "url_context_call": URLContextCallDelta,
    "url_context_result": URLContextResultDelta,
    "google_maps_call": GoogleMapsCallDelta,
    "google_maps_result": GoogleMapsResultDelta,
    "file_search_call": FileSearchCallDelta,
    "file_search_result": FileSearchResultDelta,
    "mcp_server_tool_call": MCPServerToolCallDelta,
    "mcp_server_tool_result": MCPServerToolResultDelta,
    "retrieval_call": RetrievalCallDelta,
    "retrieval_result": RetrievalResultDelta,
    "processing_call": ProcessingCallDelta,
    "processing_result": ProcessingResultDelta,
}

Delta = Annotated[
    Annotated[TextDelta, Tag("text")]
    | Annotated[ImageDelta, Tag("image")]
    | Annotated[AudioDelta, Tag("audio")]
    | Annotated[VideoDelta, Tag("video")]
    | Annotated[DocumentDelta, Tag("document")]
    | Annotated[TextAnnotationDelta, Tag("text_annotation_delta")]
    | Annotated[ThoughtSignatureDelta, Tag("thought_signature")]
    | Annotated[ThoughtSummaryDelta, Tag("thought_summary")]
    | Annotated[ArgumentsDelta, Tag("arguments_delta")]
    | Annotated[FunctionResultDelta, Tag("function_result")]
    | Annotated[CodeExecutionCallDelta, Tag("code_execution_call")]
    | Annotated[CodeExecutionResultDelta, Tag("code_execution_result")]
    | Annotated[GoogleSearchCallDelta, Tag("google_search_call")]
    | Annotated[GoogleSearchResultDelta, Tag("google_search_result")]
    | Annotated[URLContextCallDelta, Tag("url_context_call")]
    | Annotated[URLContextResultDelta, Tag("url_context_result")]
    | Annotated[GoogleMapsCallDelta, Tag("google_maps_call")]
    | Annotated[GoogleMapsResultDelta, Tag("google_maps_result")]
    | Annotated[FileSearchCallDelta, Tag("file_search_call")]
    | Annotated[FileSearchResultDelta, Tag("file_search_result")]
    | Annotated[MCPServerToolCallDelta, Tag("mcp_server_tool_call")]
    | Annotated[MCPServerToolResultDelta, Tag("mcp_server_tool_result")]
    | Annotated[RetrievalCallDelta, Tag("retrieval_call")]
    | Annotated[RetrievalResultDelta, Tag("retrieval_result")]
    | Annotated[ProcessingCallDelta, Tag("processing_call")]
    | Annotated[ProcessingResultDelta, Tag("processing_result")]
    | Annotated[UnknownDelta, Tag(UNKNOWN_TAG)],
    OpenUnion("type"),
]


# --- events ------------------------------------------------------------------------------------


class InteractionSnapshot(WireModel):
    """The partial interaction carried by ``interaction.created`` / ``interaction.completed``."""

    id: str | None = None
    status: InteractionStatus | None = None
    object: str | None = None
    model: ModelId | None = None
    agent: AgentId | None = None
    created: str | None = None
    updated: str | None = None
    service_tier: ServiceTier | None = None
    usage: Usage | None = None
    steps: list[Step] | None = None
    continuation_token: str | None = None


class InteractionCreatedEvent(WireModel):
    event_type: Literal["interaction.created"] = "interaction.created"
    interaction: InteractionSnapshot | None = None
    event_id: str | None = None


class InteractionStatusUpdateEvent(WireModel):
    event_type: Literal["interaction.status_update"] = "interaction.status_update"
    interaction_id: str | None = None
    status: InteractionStatus | None = None
    continuation_token: str | None = None
    usage: Usage | None = None
    event_id: str | None = None


class StepStartEvent(WireModel):
    event_type: Literal["step.start"] = "step.start"
    index: int | None = None  # the API may leave it out: the accumulator then numbers it
    step: Step | None = None
    event_id: str | None = None


class StepDeltaMetadata(WireModel):
    total_usage: Usage | None = None


class StepDeltaEvent(WireModel):
    event_type: Literal["step.delta"] = "step.delta"
    index: int | None = None  # left out: the delta belongs to the step last started
    delta: Delta | None = None
    metadata: StepDeltaMetadata | None = None
    event_id: str | None = None


class StepStopEvent(WireModel):
    event_type: Literal["step.stop"] = "step.stop"
    index: int | None = None
    usage: Usage | None = None
    step_usage: Usage | None = None
    event_id: str | None = None


class InteractionCompletedEvent(WireModel):
    event_type: Literal["interaction.completed"] = "interaction.completed"
    interaction: InteractionSnapshot | None = None
    event_id: str | None = None


class ErrorEvent(WireModel):
    event_type: Literal["error"] = "error"
    error: ApiError | None = None
    event_id: str | None = None


class UnknownEvent(UnknownMixin, WireModel):
    event_type: str | None = None
    event_id: str | None = None


EVENT_TYPES: dict[str, type[WireModel]] = {
    "interaction.created": InteractionCreatedEvent,
    "interaction.status_update": InteractionStatusUpdateEvent,
    "step.start": StepStartEvent,
    "step.delta": StepDeltaEvent,
    "step.stop": StepStopEvent,
    "interaction.completed": InteractionCompletedEvent,
    "error": ErrorEvent,
}

InteractionEvent = Annotated[
    Annotated[InteractionCreatedEvent, Tag("interaction.created")]
    | Annotated[InteractionStatusUpdateEvent, Tag("interaction.status_update")]
    | Annotated[StepStartEvent, Tag("step.start")]
    | Annotated[StepDeltaEvent, Tag("step.delta")]
    | Annotated[StepStopEvent, Tag("step.stop")]
    | Annotated[InteractionCompletedEvent, Tag("interaction.completed")]
    | Annotated[ErrorEvent, Tag("error")]
    | Annotated[UnknownEvent, Tag(UNKNOWN_TAG)],
    OpenUnion("event_type"),
]
"""Any SSE event; unknown event types validate as ``UnknownEvent``."""

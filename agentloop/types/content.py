"""Content blocks and text annotations (spec sections 4.3 and 4.4)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Tag

from ._base import UNKNOWN_TAG, OpenUnion, UnknownMixin, WireModel
from .values import (
    AudioMimeType,
    DocumentMimeType,
    ImageMimeType,
    MediaResolution,
    VideoMimeType,
    VideoProcessingMode,
)

__all__ = [
    "Annotation",
    "AudioContent",
    "Content",
    "DocumentContent",
    "FileCitation",
    "ImageContent",
    "MediaProcessing",
    "PlaceCitation",
    "ReviewSnippet",
    "SpeechAnnotation",
    "TextContent",
    "ThoughtSummaryContent",
    "URLCitation",
    "UnknownAnnotation",
    "UnknownContent",
    "VideoContent",
    "WordInfo",
]


# --- annotations -------------------------------------------------------------------------------


class URLCitation(WireModel):
    type: Literal["url_citation"] = "url_citation"
    url: str | None = None
    title: str | None = None
    start_index: int | None = None
    end_index: int | None = None


class FileCitation(WireModel):
    type: Literal["file_citation"] = "file_citation"
    document_uri: str | None = None
    file_name: str | None = None
    source: str | None = None
    media_id: str | None = None
    page_number: int | None = None
    custom_metadata: dict[str, Any] | None = None
    start_index: int | None = None
    end_index: int | None = None


class ReviewSnippet(WireModel):
    review_id: str | None = None
    title: str | None = None
    url: str | None = None


class PlaceCitation(WireModel):
    type: Literal["place_citation"] = "place_citation"
    place_id: str | None = None
    name: str | None = None
    url: str | None = None
    review_snippets: list[ReviewSnippet] | None = None
    start_index: int | None = None
    end_index: int | None = None


class SpeechAnnotation(WireModel):
    type: Literal["speech_metadata"] = "speech_metadata"
    speaker: str | None = None
    style: str | None = None
    start_index: int | None = None
    end_index: int | None = None


class WordInfo(WireModel):
    type: Literal["word_info"] = "word_info"
    text: str | None = None
    start_offset: str | None = None
    end_offset: str | None = None
    speaker: str | None = None
    start_index: int | None = None
    end_index: int | None = None


class UnknownAnnotation(UnknownMixin, WireModel):
    """An annotation type this version does not know; kept exactly as received."""

    type: str | None = None


_ANNOTATION_TAGS = frozenset(
    {"url_citation", "file_citation", "place_citation", "speech_metadata", "word_info"}
)

Annotation = Annotated[
    Annotated[URLCitation, Tag("url_citation")]
    | Annotated[FileCitation, Tag("file_citation")]
    | Annotated[PlaceCitation, Tag("place_citation")]
    | Annotated[SpeechAnnotation, Tag("speech_metadata")]
    | Annotated[WordInfo, Tag("word_info")]
    | Annotated[UnknownAnnotation, Tag(UNKNOWN_TAG)],
    OpenUnion("type"),
]


# --- content blocks ----------------------------------------------------------------------------


class TextContent(WireModel):
    type: Literal["text"] = "text"
    text: str = ""  # read as "" when the API leaves it out (never written back)
    annotations: list[Annotation] | None = None


class ImageContent(WireModel):
    """An image: inline base64 ``data`` or a ``uri`` (Files API, GCS, https)."""

    type: Literal["image"] = "image"
    data: str | None = None
    uri: str | None = None
    mime_type: ImageMimeType | None = None
    resolution: MediaResolution | None = None


class AudioContent(WireModel):
    type: Literal["audio"] = "audio"
    data: str | None = None
    uri: str | None = None
    mime_type: AudioMimeType | None = None
    channels: int | None = None
    sample_rate: int | None = None


class MediaProcessing(WireModel):
    type: Literal["static"] = "static"
    fps: float | None = None
    start_offset: str | None = None
    end_offset: str | None = None


class VideoContent(WireModel):
    type: Literal["video"] = "video"
    data: str | None = None
    uri: str | None = None
    mime_type: VideoMimeType | None = None
    resolution: MediaResolution | None = None
    name: str | None = None
    processing: VideoProcessingMode | MediaProcessing | dict[str, Any] | None = None


class DocumentContent(WireModel):
    type: Literal["document"] = "document"
    data: str | None = None
    uri: str | None = None
    mime_type: DocumentMimeType | None = None


class UnknownContent(UnknownMixin, WireModel):
    """A content type this version does not know; kept exactly as received."""

    type: str | None = None


_CONTENT_TAGS = frozenset({"text", "image", "audio", "video", "document"})

Content = Annotated[
    Annotated[TextContent, Tag("text")]
    | Annotated[ImageContent, Tag("image")]
    | Annotated[AudioContent, Tag("audio")]
    | Annotated[VideoContent, Tag("video")]
    | Annotated[DocumentContent, Tag("document")]
    | Annotated[UnknownContent, Tag(UNKNOWN_TAG)],
    OpenUnion("type"),
]

_SUMMARY_TAGS = frozenset({"text", "image"})

ThoughtSummaryContent = Annotated[
    Annotated[TextContent, Tag("text")]
    | Annotated[ImageContent, Tag("image")]
    | Annotated[UnknownContent, Tag(UNKNOWN_TAG)],
    OpenUnion("type"),
]

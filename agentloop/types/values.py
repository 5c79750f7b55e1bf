"""The API's closed value sets, as open ``Literal[...] | str`` types.

Each alias lists the values the official SDK knows (google-genai 3.3.0) so editors complete
them and a typo stands out in review; ``str`` keeps every value a newer API sends or accepts,
so nothing here ever rejects a value. ``tests/types/test_sdk_corpus.py`` checks these lists
against the installed SDK: a new SDK release shows the values missing here at once.
"""

from __future__ import annotations

from typing import Literal, Union

__all__ = [
    "AgentId",
    "AspectRatio",
    "AudioMimeType",
    "AudioResponseMimeType",
    "ComputerUseSafetyPolicy",
    "Delivery",
    "DocumentMimeType",
    "GroundingToolType",
    "ImageMimeType",
    "ImageResponseMimeType",
    "ImageSize",
    "MediaResolution",
    "Modality",
    "ModelId",
    "NetworkMode",
    "ResearchThinkingSummaries",
    "ResearchVisualization",
    "RetrievalType",
    "SafetyCategory",
    "SafetyMethod",
    "SafetyThreshold",
    "SearchType",
    "ServiceTier",
    "SourceType",
    "TranscriptionModeType",
    "VideoAspectRatio",
    "VideoMimeType",
    "VideoProcessingMode",
    "VideoResolution",
    "VideoTask",
]

ModelId = Union[
    Literal[
        "gemini-3.5-flash",
        "gemini-3.5-flash-lite",
        "gemini-3.6-flash",
        "gemini-3.7-flash",
        "gemini-3.8-flash",
        "gemini-3.8-flash-tts",
        "gemini-3.8-flash-lite-tts",
        "gemini-3.5-transcribe",
        "gemini-3-flash-preview",
        "gemini-3.1-pro-preview",
        "gemini-3.1-pro-preview-customtools",
        "gemini-3.1-flash-lite",
        "gemini-3.1-flash-lite-image",
        "gemini-3.1-flash-image",
        "gemini-3.1-flash-tts-preview",
        "gemini-3-pro-image",
        "gemini-4-argon",
        "gemini-4-carbon",
        "gemini-4-hydrogen",
        "gemini-2.5-flash",
        "gemini-2.5-pro",
        "gemini-2.5-flash-lite",
        "gemini-2.5-flash-image",
        "gemini-flash-latest",
        "gemini-flash-lite-latest",
        "gemini-pro-latest",
        "gemini-nano-banana-2.1",
        "nano-banana-pro-preview",
        "gemini-omni-1.1-flash",
        "gemini-omni-1.2-flash",
        "gemini-omni-flash-preview",
        "gemini-robotics-er-1.6-preview",
        "gemini-robotics-er-2-preview",
        "gemma-4-26b-a4b-it",
        "gemma-4-31b-it",
        "lyria-3-clip-preview",
        "lyria-3-pro-preview",
        "lyria-3.5",
    ],
    str,
]
"""A model id of the Interactions API."""

AgentId = Union[
    Literal[
        "deep-research-pro-preview-12-2025",
        "deep-research-preview-04-2026",
        "deep-research-max-preview-04-2026",
        "antigravity-preview-05-2026",
        "antigravity-preview-09-2026",
    ],
    str,
]
"""A managed agent of the Interactions API."""

ServiceTier = Union[Literal["standard", "flex", "priority", "deferred"], str]
Modality = Union[Literal["text", "image", "audio", "video", "document"], str]
SafetyCategory = Union[
    Literal[
        "hate_speech",
        "dangerous_content",
        "harassment",
        "sexually_explicit",
        "civic_integrity",
        "image_hate",
        "image_dangerous_content",
        "image_harassment",
        "image_sexually_explicit",
        "jailbreak",
    ],
    str,
]
SafetyThreshold = Union[
    Literal[
        "block_low_and_above", "block_medium_and_above", "block_only_high", "block_none", "off"
    ],
    str,
]
SafetyMethod = Union[Literal["severity", "probability"], str]
AspectRatio = Union[
    Literal[
        "1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9", "1:8", "8:1",
        "1:4", "4:1",
    ],
    str,
]  # fmt: skip
ImageSize = Union[Literal["512", "1K", "2K", "4K"], str]
MediaResolution = Union[Literal["low", "medium", "high", "ultra_high"], str]
Delivery = Union[Literal["inline", "uri"], str]
ImageMimeType = Union[
    Literal[
        "image/png", "image/jpeg", "image/webp", "image/heic", "image/heif", "image/gif",
        "image/bmp", "image/tiff",
    ],
    str,
]  # fmt: skip
AudioMimeType = Union[
    Literal[
        "audio/wav", "audio/mp3", "audio/aiff", "audio/aac", "audio/ogg", "audio/flac",
        "audio/mpeg", "audio/m4a", "audio/l16", "audio/opus", "audio/alaw", "audio/mulaw",
        "audio/webm",
    ],
    str,
]  # fmt: skip
VideoMimeType = Union[
    Literal[
        "video/mp4", "video/mpeg", "video/mpg", "video/mov", "video/avi", "video/x-flv",
        "video/webm", "video/wmv", "video/3gpp", "video/jpeg2000",
    ],
    str,
]  # fmt: skip
DocumentMimeType = Union[
    Literal[
        "application/pdf",
        "text/csv",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.oasis.opendocument.presentation",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    ],
    str,
]
AudioResponseMimeType = Union[
    Literal["audio/wav", "audio/mp3", "audio/l16", "audio/alaw", "audio/mulaw", "audio/ogg_opus"],
    str,
]
ImageResponseMimeType = Union[Literal["image/jpeg"], str]
VideoAspectRatio = Union[Literal["16:9", "9:16"], str]
VideoResolution = Union[Literal["360p", "720p", "1080p", "4k"], str]
VideoTask = Union[
    Literal["text_to_video", "image_to_video", "reference_to_video", "extend", "edit", "upscale"],
    str,
]
VideoProcessingMode = Union[Literal["static", "agentic"], str]
RetrievalType = Union[
    Literal["vertex_ai_search", "rag_store", "exa_ai_search", "parallel_ai_search"], str
]
SearchType = Union[Literal["web_search", "image_search", "enterprise_web_search"], str]
GroundingToolType = Union[Literal["google_search", "google_maps", "retrieval"], str]
ComputerUseSafetyPolicy = Union[
    Literal[
        "account_creation",
        "communication_tool",
        "data_modification",
        "financial_transactions",
        "legal_terms_and_agreements",
        "sensitive_data_modification",
        "user_consent_management",
    ],
    str,
]
NetworkMode = Union[Literal["disabled"], str]
SourceType = Union[Literal["gcs", "inline", "repository", "skill_registry"], str]
TranscriptionModeType = Union[Literal["verbatim", "smart"], str]
ResearchThinkingSummaries = Union[Literal["auto", "none"], str]
ResearchVisualization = Union[Literal["auto", "off"], str]

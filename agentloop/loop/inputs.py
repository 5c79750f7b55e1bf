"""Helpers that build content blocks for ``Conversation.send`` from files, bytes and URIs."""

from __future__ import annotations

import base64
import mimetypes
import os
from pathlib import Path
from typing import Any

from agentloop.errors import InputError
from agentloop.types import AudioContent, DocumentContent, ImageContent, TextContent, VideoContent

__all__ = ["from_bytes", "from_file", "from_uri", "text"]

# The API's names where Python's ``mimetypes`` (which also reads the system's tables) has
# another or none (section 4.3 of the wire specification lists the accepted ones).
_EXTRA_TYPES = {
    ".md": "text/markdown",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".wav": "audio/wav",
    ".aif": "audio/aiff",
    ".aiff": "audio/aiff",
    ".aac": "audio/aac",
    ".m4a": "audio/m4a",
    ".flac": "audio/flac",
    ".opus": "audio/opus",
    ".mov": "video/mov",
    ".avi": "video/avi",
    ".wmv": "video/wmv",
    ".flv": "video/x-flv",
    ".3gp": "video/3gpp",
}


def _block_class(mime_type: str) -> Any:
    major = mime_type.split("/", 1)[0]
    return {"image": ImageContent, "audio": AudioContent, "video": VideoContent}.get(
        major, DocumentContent
    )


def _guess(name: str) -> str:
    suffix = Path(name).suffix.lower()
    guessed = _EXTRA_TYPES.get(suffix) or mimetypes.guess_type(name)[0]
    if guessed is None:
        raise InputError(
            f"cannot tell the media type of {name!r} from its extension; pass mime_type="
            "(e.g. 'image/png', 'audio/mp3', 'application/pdf')"
        )
    return guessed


def text(value: str) -> TextContent:
    """A text block."""
    return TextContent(text=value)


def from_bytes(data: bytes, mime_type: str) -> Any:
    """An inline (base64) image/audio/video/document block from raw bytes."""
    cls = _block_class(mime_type)
    return cls(data=base64.b64encode(data).decode("ascii"), mime_type=mime_type)


def from_file(path: str | os.PathLike[str], mime_type: str | None = None) -> Any:
    """An inline block from a local file; the media type is guessed from the extension."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such file: {str(p)!r}")
    return from_bytes(p.read_bytes(), mime_type or _guess(p.name))


def from_uri(uri: str, mime_type: str | None = None) -> Any:
    """A block that references media by URI (Files API, ``gs://`` or ``https://``)."""
    kind = mime_type or _guess(uri.split("?", 1)[0])
    return _block_class(kind)(uri=uri, mime_type=kind)

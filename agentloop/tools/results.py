"""Turning a tool's return value into a ``function_result`` ``result`` (spec section 4.2).

``result`` is a string, a list of content blocks, or a JSON object. Rules:

* ``str`` as is; ``None`` and ``""`` → ``{}`` (an empty success: the API requires a
  ``result``, and an empty string counts as none);
* ``dict``, pydantic models and dataclasses → the JSON object;
* lists, tuples, sets, numbers, bools → JSON text (``json.dumps``), because the object form
  must be an object;
* NaN and Infinity raise ``ValueError`` (JSON cannot hold them): the tool layer answers the
  call with an ``is_error`` result and a repaired value (see ``execution``);
* ``bytes`` → a media block when the magic bytes say PNG/JPEG/GIF/WEBP/PDF/WAV/MP3, else a
  text block holding base64;
* ``Image``/``Audio``/``Document`` helpers, content models, or a list mixing them with
  strings → a content list.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import mimetypes
import os
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from agentloop.errors import ToolResultError
from agentloop.types import (
    AudioContent,
    DocumentContent,
    FunctionResult,
    ImageContent,
    TextContent,
    VideoContent,
)

__all__ = ["Audio", "Document", "Image", "Media", "sniff_mime_type", "to_result"]

_CONTENT_MODELS = (TextContent, ImageContent, AudioContent, VideoContent, DocumentContent)
_Block = TextContent | ImageContent | AudioContent | VideoContent | DocumentContent


def sniff_mime_type(data: bytes) -> str | None:
    """The MIME type of common media by their magic bytes, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"ID3") or _mp3_frame(data):
        return "audio/mp3"
    return None


def _mp3_frame(data: bytes) -> bool:
    """An MPEG audio layer III frame header: the sync bits, layer III, a bitrate and a sample
    rate that exist (so that, e.g., a UTF-16 byte-order mark is not taken for one)."""
    return (
        len(data) >= 4
        and data[0] == 0xFF
        and data[1] & 0xE6 == 0xE2  # sync (3 more bits) and layer bits 01 (layer III)
        and data[2] >> 4 not in (0, 15)  # bitrate index: not free, not bad
        and (data[2] >> 2) & 3 != 3  # sample rate index: not reserved
    )


class Media:
    """Binary media returned by a tool: inline bytes (or a file path) or a ``uri``."""

    kind = "document"
    _model: type[ImageContent | AudioContent | DocumentContent] = DocumentContent

    def __init__(
        self,
        source: bytes | str | os.PathLike[str] | None = None,
        mime_type: str | None = None,
        *,
        uri: str | None = None,
    ) -> None:
        if (source is None) == (uri is None):
            raise ToolResultError(
                f"{type(self).__name__}() takes exactly one of: bytes or a file path as the "
                "first argument, or uri=..."
            )
        data: bytes | None = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        elif source is not None:
            with open(source, "rb") as file:  # a tool runs off the event loop: blocking is fine
                data = file.read()
            mime_type = mime_type or mimetypes.guess_type(os.fspath(source))[0]
        if data is not None and mime_type is None:
            mime_type = sniff_mime_type(data)
        self.data = data
        self.uri = uri
        self.mime_type = mime_type

    def to_content(self) -> ImageContent | AudioContent | DocumentContent:
        """The content block of this media."""
        fields: dict[str, Any] = {}
        if self.data is not None:
            fields["data"] = base64.b64encode(self.data).decode("ascii")
        if self.uri is not None:
            fields["uri"] = self.uri
        if self.mime_type is not None:
            fields["mime_type"] = self.mime_type
        return self._model(**fields)

    def __repr__(self) -> str:
        where = f"{len(self.data)} bytes" if self.data is not None else repr(self.uri)
        return f"{type(self).__name__}({where}, mime_type={self.mime_type!r})"


class Image(Media):
    """An image result: ``Image(png_bytes)``, ``Image("chart.png")``, ``Image(uri=...)``."""

    kind = "image"
    _model = ImageContent


class Audio(Media):
    """An audio result: ``Audio(wav_bytes)``, ``Audio("clip.mp3")``, ``Audio(uri=...)``."""

    kind = "audio"
    _model = AudioContent


class Document(Media):
    """A document result (PDF, CSV, ...): ``Document(pdf_bytes)``, ``Document("a.pdf")``."""

    kind = "document"
    _model = DocumentContent


def _bytes_block(data: bytes) -> _Block:
    mime = sniff_mime_type(data)
    b64 = base64.b64encode(data).decode("ascii")
    if mime is None:
        return TextContent(text=b64)
    if mime.startswith("image/"):
        return ImageContent(data=b64, mime_type=mime)
    if mime.startswith("audio/"):
        return AudioContent(data=b64, mime_type=mime)
    return DocumentContent(data=b64, mime_type=mime)


def _block(item: Any) -> _Block | None:
    if isinstance(item, Media):
        return item.to_content()
    if isinstance(item, _CONTENT_MODELS):
        return item
    return None


def to_result(value: Any) -> FunctionResult:
    """The ``function_result.result`` for a tool's return value (see the module docstring)."""
    if isinstance(value, str):
        return value if value else {}
    if value is None:
        return {}
    block = _block(value)
    if block is not None:
        return [block]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return [_bytes_block(bytes(value))]
    if isinstance(value, dict):
        jsonable = to_jsonable_python(value)
        assert isinstance(jsonable, dict)
        _check_numbers(jsonable)
        return jsonable
    if isinstance(value, BaseModel) or (
        dataclasses.is_dataclass(value) and not isinstance(value, type)
    ):
        jsonable = to_jsonable_python(value)
        if isinstance(jsonable, dict):
            _check_numbers(jsonable)
            return jsonable
        return _dumps(jsonable)
    if isinstance(value, (list, tuple)) and value:
        pairs = [(_block(item), item) for item in value]
        if any(b is not None for b, _ in pairs) and all(
            b is not None or isinstance(item, str) for b, item in pairs
        ):
            return [b if b is not None else TextContent(text=item) for b, item in pairs]
    jsonable = to_jsonable_python(value)  # TypeError/PydanticSerializationError if it can't
    if isinstance(jsonable, str) and not isinstance(value, (list, tuple, set, frozenset)):
        return jsonable  # datetime, UUID, str enums ...: their text, not a quoted JSON string
    return _dumps(jsonable)


def _dumps(jsonable: Any) -> str:
    # NaN and Infinity are not JSON: a ValueError here, not "NaN" text the model must guess.
    return json.dumps(jsonable, ensure_ascii=False, allow_nan=False)


def _check_numbers(jsonable: dict[str, Any]) -> None:
    """ValueError if the object holds NaN or Infinity (the wire encoder would silently send
    null for them); one pass of the C encoder."""
    json.dumps(jsonable, allow_nan=False)

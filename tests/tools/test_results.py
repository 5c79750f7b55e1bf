"""Return values → ``function_result.result``."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import enum
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agentloop.tools import Audio, Document, Image, sniff_mime_type, to_result
from agentloop.types import FunctionResultStep, ImageContent, TextContent

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 8
GIF = b"GIF89a" + b"\x00" * 8
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 "
WAV = b"RIFF\x10\x00\x00\x00WAVEfmt "
PDF = b"%PDF-1.7\n"
MP3 = b"ID3\x04\x00" + b"\x00" * 8


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Weather(BaseModel):
    city: str
    when: datetime.date


@dataclasses.dataclass
class Reading:
    value: float
    unit: str = "C"


class Mood(enum.Enum):
    HAPPY = "happy"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("sunny", "sunny"),
        (None, {}),  # the API requires a result: an empty string counts as none
        ("", {}),
        ({"a": 1, "when": datetime.date(2026, 1, 2)}, {"a": 1, "when": "2026-01-02"}),
        (
            Weather(city="Rome", when=datetime.date(2026, 5, 1)),
            {"city": "Rome", "when": "2026-05-01"},
        ),
        (Reading(21.5), {"value": 21.5, "unit": "C"}),
        ([1, "a", None], '[1, "a", null]'),
        ((1, 2), "[1, 2]"),
        ({3}, "[3]"),
        (42, "42"),
        (2.5, "2.5"),
        (True, "true"),
        (Mood.HAPPY, "happy"),
        (datetime.date(2026, 1, 2), "2026-01-02"),
        ([], "[]"),
    ],
)
def test_plain_values(value: Any, expected: Any) -> None:
    result = to_result(value)
    assert result == expected
    FunctionResultStep(call_id="c", result=result)  # a valid wire result


@pytest.mark.parametrize(
    ("data", "kind", "mime"),
    [
        (PNG, "image", "image/png"),
        (JPEG, "image", "image/jpeg"),
        (GIF, "image", "image/gif"),
        (WEBP, "image", "image/webp"),
        (WAV, "audio", "audio/wav"),
        (MP3, "audio", "audio/mp3"),
        (PDF, "document", "application/pdf"),
    ],
)
def test_bytes_are_sniffed(data: bytes, kind: str, mime: str) -> None:
    assert sniff_mime_type(data) == mime
    result = to_result(data)
    assert isinstance(result, list)
    assert [b.model_dump(mode="json") for b in result] == [  # type: ignore[union-attr]
        {"type": kind, "data": b64(data), "mime_type": mime}
    ]


def test_unknown_bytes_become_base64_text() -> None:
    result = to_result(b"\x00\x01hello")
    assert isinstance(result, list)
    assert result[0] == TextContent(text=b64(b"\x00\x01hello"))


def test_media_helpers(tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    path.write_bytes(PNG)
    assert to_result(Image(path))[0].model_dump(mode="json") == {  # type: ignore[index,union-attr]
        "type": "image",
        "data": b64(PNG),
        "mime_type": "image/png",
    }
    assert to_result(Audio(WAV))[0].model_dump(mode="json") == {  # type: ignore[index,union-attr]
        "type": "audio",
        "data": b64(WAV),
        "mime_type": "audio/wav",
    }
    doc = Document(uri="gs://bucket/a.pdf", mime_type="application/pdf")
    assert to_result(doc)[0].model_dump(mode="json") == {  # type: ignore[index,union-attr]
        "type": "document",
        "uri": "gs://bucket/a.pdf",
        "mime_type": "application/pdf",
    }
    with pytest.raises(ValueError, match="exactly one of"):
        Image()


def test_list_of_helpers_and_text_is_a_content_list() -> None:
    result = to_result(["Here is the chart:", Image(PNG), ImageContent(uri="gs://x")])
    assert isinstance(result, list)
    assert [b.model_dump(mode="json") for b in result] == [  # type: ignore[union-attr]
        {"type": "text", "text": "Here is the chart:"},
        {"type": "image", "data": b64(PNG), "mime_type": "image/png"},
        {"type": "image", "uri": "gs://x"},
    ]
    step = FunctionResultStep(call_id="c", result=result)
    assert step.model_dump(mode="json")["result"][1]["mime_type"] == "image/png"


def test_unserializable_value_raises() -> None:
    with pytest.raises(Exception, match="Unable to serialize"):
        to_result(object())


@pytest.mark.parametrize("empty", [None, ""])
def test_a_tool_returning_nothing_is_answered_with_a_result_the_api_accepts(empty: Any) -> None:
    from agentloop import Conversation, tool
    from agentloop.testing import Emulator, ScriptedModel

    @tool
    def note(text: str) -> Any:
        """Write a note down."""
        return empty

    call = {"type": "function_call", "id": "n1", "name": "note", "arguments": {"text": "x"}}
    said = [{"type": "model_output", "content": [{"type": "text", "text": "noted"}]}]
    conv = Conversation(Emulator(ScriptedModel([[call], said])).client(), tools=[note])
    assert conv.send("note x").output_text == "noted"  # the emulator refuses "" as no result
    results = [s for s in conv.history if s.type == "function_result"]
    assert [(r.result, r.is_error) for r in results] == [({}, None)]


def test_a_utf16_byte_order_mark_is_not_taken_for_mp3() -> None:
    assert sniff_mime_type(b"\xff\xfe") is None
    assert sniff_mime_type("hi".encode("utf-16")) is None
    assert sniff_mime_type(b"\xff\xfb\x90\x64" + bytes(100)) == "audio/mp3"  # a layer III frame

"""The incremental SSE decoder."""

from __future__ import annotations

import pytest

from agentloop.client._sse import SSEDecoder, SSEMessage


def decode_all(chunks: list[bytes], complete: bool = True) -> list[SSEMessage]:
    decoder = SSEDecoder()
    out: list[SSEMessage] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.close(complete=complete)


def test_fields_comments_and_multiline_data() -> None:
    data = (
        b": keep-alive comment\n"
        b'event: step.delta\nid: 7\ndata: {"a":\ndata:  1}\n\n'
        b"retry: 100\nunknown: x\ndata:nospace\n\n"
        b"event: only-event-no-data\n\n"
    )
    assert decode_all([data]) == [
        SSEMessage('{"a":\n 1}', "step.delta", "7"),
        SSEMessage("nospace"),
    ]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending(newline: bytes) -> None:
    data = newline.join([b"data: one", b"", b"data: two", b"", b""])
    assert [m.data for m in decode_all([data])] == ["one", "two"]


def test_byte_by_byte_including_split_crlf_and_utf8() -> None:
    data = "data: héllo \u2028 wörld\r\n\r\ndata: 2\r\n\r\n".encode()
    messages = decode_all([data[i : i + 1] for i in range(len(data))])
    assert [m.data for m in messages] == ["héllo \u2028 wörld", "2"]


def test_done_sentinel_ends_the_stream() -> None:
    decoder = SSEDecoder()
    out = decoder.feed(b"data: 1\n\ndata: [DONE]\n\ndata: 2\n\n")
    assert [m.data for m in out] == ["1", "[DONE]"]
    assert out[-1].is_done and decoder.done


def test_last_event_without_blank_line() -> None:
    assert [m.data for m in decode_all([b"data: 1\n\ndata: 2\n"])] == ["1", "2"]
    assert [m.data for m in decode_all([b"data: 1\n\ndata: 2\n"], complete=False)] == ["1"]
    assert [m.data for m in decode_all([b'data: 1\n\ndata: {"cut'], complete=False)] == ["1"]

"""Incremental server-sent-events decoder (sans-I/O): feed bytes, get messages.

Follows the SSE framing rules the API relies on (spec 6.1): ``event:``/``data:``/``id:`` fields,
``:`` comments, multi-line ``data`` joined with ``\\n``, any of CRLF/LF/CR as line ends (also
split across chunks), blocks without ``data`` skipped, and the ``[DONE]`` sentinel.

Bytes are cut into lines before they are decoded: CR and LF never occur inside a UTF-8
character, so a character split across chunks is decoded whole, and each complete line (or
event) is decoded once, with invalid bytes replaced.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["SSEDecoder", "SSEMessage"]

# Only CR and LF end SSE lines; bytes.splitlines would also split on \x0b, \x0c, \x1c-\x1e.
_LINE_END = re.compile(rb"\r\n|\r|\n")
_EVENT_BLOCK = re.compile(rb"event: ([^\n]*)\ndata: ([^\n]*)")
_ONE_EVENT = re.compile(rb"event: [^\r\n]*\ndata: ([^\r\n]*)\n\n")


class SSEMessage(NamedTuple):
    """One dispatched SSE message (a named tuple: built once per event, it must be cheap)."""

    data: str
    event: str | None = None
    id: str | None = None

    @property
    def is_done(self) -> bool:
        """The ``[DONE]`` sentinel that ends a stream."""
        return self.data == "[DONE]"


_new_message = tuple.__new__  # SSEMessage(...) without the Python-level __new__


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


class SSEDecoder:
    """Turns a byte stream into :class:`SSEMessage` objects as soon as each one is complete."""

    __slots__ = ("_buffer", "_data", "_event", "_id", "done")

    def __init__(self) -> None:
        self._buffer = b""  # bytes not yet cut into lines (or blocks)
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self.done = False  # a [DONE] sentinel was seen

    def feed(self, chunk: bytes) -> list[SSEMessage]:
        """Decode a chunk; return the messages it completed (possibly none)."""
        data = self._buffer + chunk if self._buffer else chunk
        out: list[SSEMessage] = []
        if b"\r" in data:
            self._feed_lines(data, out)
            return out
        # The common case (LF only): cut at blank lines; bytes.split is several times faster
        # than the regex. What follows the last blank line waits for the next chunk.
        blocks = data.split(b"\n\n")
        self._buffer = blocks.pop()
        for block in blocks:
            # The block every API event is, ``event: NAME`` then one ``data: JSON`` line,
            # read at once; anything else (comments, ids, split data) goes line by line.
            match = _EVENT_BLOCK.fullmatch(block) if self._idle() else None
            if match is not None:
                if not self.done:  # _emit, inlined: this runs for every event
                    name, value = match.groups()
                    text = value.decode("utf-8", "replace")
                    self.done = text == "[DONE]"
                    out.append(_new_message(SSEMessage, (text, _text(name), None)))
                continue
            for line in block.split(b"\n"):
                self._line(line, out)
            self._dispatch(out)
        return out

    def single(self, chunk: bytes) -> str | None:
        """The ``data`` of ``chunk`` when the chunk is exactly one ``event: NAME`` +
        ``data: VALUE`` block (no id) and nothing is pending: how the API sends most events.
        None otherwise: then :meth:`feed` the chunk. A shortcut for hot loops only: feeding
        the chunk would give the same message."""
        if self._buffer or self._data or self._event is not None or self._id is not None:
            return None  # a message is pending: not a lone block (``_idle``, inlined)
        match = _ONE_EVENT.fullmatch(chunk)
        if match is None:
            return None
        data = match.group(1).decode("utf-8", "replace")
        return None if data == "[DONE]" or self.done else data

    def _feed_lines(self, data: bytes, out: list[SSEMessage]) -> None:
        pos = 0
        for match in _LINE_END.finditer(data):
            # A CR at the very end may be the first half of a CRLF split across chunks.
            if match.group() == b"\r" and match.end() == len(data):
                break
            self._line(data[pos : match.start()], out)
            pos = match.end()
        self._buffer = data[pos:]

    def close(self, *, complete: bool = True) -> list[SSEMessage]:
        """End of stream. With ``complete`` (clean close) a last message lacking its blank
        line is still dispatched; after a broken connection it is dropped as possibly cut."""
        out: list[SSEMessage] = []
        if complete:
            for line in _LINE_END.split(self._buffer) if self._buffer else ():
                self._line(line, out)
            self._dispatch(out)
        self._buffer = b""
        self._reset()
        return out

    def _line(self, raw: bytes, out: list[SSEMessage]) -> None:
        if not raw:
            self._dispatch(out)
            return
        line = _text(raw)
        if line[0] == ":":
            return  # comment / keep-alive
        name, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        # "retry" and unknown fields are ignored, as the SSE standard says.

    def _idle(self) -> bool:
        """No field of a message is pending (a block starts a new message)."""
        return not self._data and self._event is None and self._id is None

    def _dispatch(self, out: list[SSEMessage]) -> None:
        data = self._data
        if data:
            self._emit(data[0] if len(data) == 1 else "\n".join(data), self._event, self._id, out)
        self._reset()

    def _emit(self, data: str, event: str | None, id: str | None, out: list[SSEMessage]) -> None:
        if not self.done:
            if data == "[DONE]":
                self.done = True
            out.append(_new_message(SSEMessage, (data, event, id)))

    def _reset(self) -> None:
        self._data = []
        self._event = None
        self._id = None

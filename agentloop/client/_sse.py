"""Incremental server-sent-events decoder (sans-I/O): feed bytes, get messages.

Follows the SSE framing rules the API relies on (spec 6.1): ``event:``/``data:``/``id:`` fields,
``:`` comments, multi-line ``data`` joined with ``\\n``, any of CRLF/LF/CR as line ends (also
split across chunks), blocks without ``data`` skipped, and the ``[DONE]`` sentinel.
"""

from __future__ import annotations

import codecs
import re
from typing import NamedTuple

__all__ = ["SSEDecoder", "SSEMessage"]

# Only CR and LF end SSE lines; str.splitlines would also split on U+2028 & co inside JSON.
_LINE_END = re.compile(r"\r\n|\r|\n")


class SSEMessage(NamedTuple):
    """One dispatched SSE message (a named tuple: built once per event, it must be cheap)."""

    data: str
    event: str | None = None
    id: str | None = None

    @property
    def is_done(self) -> bool:
        """The ``[DONE]`` sentinel that ends a stream."""
        return self.data == "[DONE]"


class SSEDecoder:
    """Turns a byte stream into :class:`SSEMessage` objects as soon as each one is complete."""

    __slots__ = ("_buffer", "_data", "_decoder", "_event", "_has_data", "_id", "done")

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._data: list[str] = []
        self._has_data = False
        self._event: str | None = None
        self._id: str | None = None
        self.done = False  # a [DONE] sentinel was seen

    def feed(self, chunk: bytes) -> list[SSEMessage]:
        """Decode a chunk; return the messages it completed (possibly none)."""
        text = self._buffer + self._decoder.decode(chunk)
        out: list[SSEMessage] = []
        if "\r" not in text:
            # The common case (LF only): str.split is several times faster than the regex.
            lines = text.split("\n")
            self._buffer = lines.pop()
            for line in lines:
                # The two lines every event has, inlined; anything else goes through _line.
                if line.startswith("data: "):
                    self._data.append(line[6:])
                    self._has_data = True
                elif not line:
                    self._dispatch(out)
                elif line.startswith("event: "):
                    self._event = line[7:]
                else:
                    self._line(line, out)
            return out
        pos = 0
        for match in _LINE_END.finditer(text):
            # A CR at the very end may be the first half of a CRLF split across chunks.
            if match.group() == "\r" and match.end() == len(text):
                break
            self._line(text[pos : match.start()], out)
            pos = match.end()
        self._buffer = text[pos:]
        return out

    def close(self, *, complete: bool = True) -> list[SSEMessage]:
        """End of stream. With ``complete`` (clean close) a last message lacking its blank
        line is still dispatched; after a broken connection it is dropped as possibly cut."""
        out: list[SSEMessage] = []
        if complete:
            tail = self._buffer + self._decoder.decode(b"", final=True)
            if tail:
                for line in _LINE_END.split(tail):
                    self._line(line, out)
            self._dispatch(out)
        self._buffer = ""
        self._reset()
        return out

    def _line(self, line: str, out: list[SSEMessage]) -> None:
        if not line:
            self._dispatch(out)
            return
        if line[0] == ":":
            return  # comment / keep-alive
        name, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._has_data = True
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        # "retry" and unknown fields are ignored, as the SSE standard says.

    def _dispatch(self, out: list[SSEMessage]) -> None:
        if self._has_data and not self.done:
            data = self._data
            message = SSEMessage(
                data[0] if len(data) == 1 else "\n".join(data), self._event, self._id
            )
            if message.is_done:
                self.done = True
            out.append(message)
        self._reset()

    def _reset(self) -> None:
        self._data = []
        self._has_data = False
        self._event = None
        self._id = None

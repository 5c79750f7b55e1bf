"""The local step log of a conversation.

Each entry keeps the step's model (for reading) and its wire encoding, taken once when the
step was received or created. Requests resend the encoding, never a re-serialisation of the
model, so stateless replay is a bytes join and model steps go back exactly as received.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from agentloop.types import RawJSON, WireModel, encode_step, step_adapter

__all__ = ["History", "encode_step"]


class History(Sequence[Any]):
    """An append-only list of steps with their cached wire encodings."""

    __slots__ = ("_raw", "_steps")

    def __init__(self) -> None:
        self._steps: list[Any] = []
        self._raw: list[RawJSON] = []

    def append(self, step: WireModel, wire: bytes | None = None) -> int:
        """Add a step (and its encoding, or encode it: a step that cannot be encoded is not
        added); returns its index."""
        raw = RawJSON(wire if wire is not None else encode_step(step))
        steps = self._steps
        steps.append(step)
        self._raw.append(raw)
        return len(steps) - 1

    def truncate(self, length: int) -> None:
        """Keep the first ``length`` steps (a failed turn's rollback)."""
        del self._steps[length:]
        del self._raw[length:]

    def prefix(self, length: int) -> History:
        """A new history of the first ``length`` steps, sharing their encodings (a fork)."""
        new = History()
        new._steps = self._steps[:length]
        new._raw = self._raw[:length]
        return new

    def raw(self, start: int = 0) -> list[RawJSON]:
        """The wire encodings of the steps from ``start`` on (a new list)."""
        return self._raw[start:]

    def wire(self, index: int) -> RawJSON:
        """The wire encoding of one step."""
        return self._raw[index]

    def to_wire(self) -> list[Any]:
        """JSON-ready dicts of every step, exactly as sent or received."""
        return [json.loads(r.data) for r in self._raw]

    @classmethod
    def from_wire(cls, items: Iterable[Any]) -> History:
        history = cls()
        for item in items:
            step = step_adapter.validate_python(item)
            history.append(step, json.dumps(item, separators=(",", ":")).encode())
        return history

    def append_wire(self, wire: bytes) -> Any:
        """Add a step from its exact wire encoding; returns the step."""
        step = step_adapter.validate_json(wire)
        self.append(step, wire)
        return step

    def __getitem__(self, index: Any) -> Any:
        return self._steps[index]

    def __len__(self) -> int:
        return len(self._steps)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._steps)

    def __repr__(self) -> str:
        kinds = ", ".join(str(getattr(s, "type", "?")) for s in self._steps[-6:])
        more = "..., " if len(self._steps) > 6 else ""
        return f"History({len(self._steps)} steps: [{more}{kinds}])"

"""Generation limits the emulator honours: ``max_output_tokens`` and ``stop_sequences``.

Both act on the text the model writes (``text`` blocks of ``model_output`` steps, in order),
with the emulator's token rule for text: ``ceil(len(text) / 4)`` tokens.

* A stop sequence ends the output where it first occurs (the sequence itself is not
  returned); whatever came after is not generated. The interaction completes normally.
* ``max_output_tokens``: the output is cut when the text reaches the limit, and the
  interaction ends ``incomplete`` (the real API's answer to a reply that did not fit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["Cut", "apply_limits"]


@dataclass
class Cut:
    """The steps left after a limit cut the output, and which limit did."""

    steps: list[dict[str, Any]]
    reason: str  # "stop_sequence" or "max_output_tokens"


def _text_blocks(steps: list[dict[str, Any]]) -> list[tuple[int, int]]:
    return [
        (i, j)
        for i, step in enumerate(steps)
        if step.get("type") == "model_output"
        for j, block in enumerate(step.get("content") or [])
        if block.get("type") == "text"
    ]


def _cut_at(steps: list[dict[str, Any]], i: int, j: int, text: str) -> list[dict[str, Any]]:
    """``steps`` up to text block ``j`` of step ``i``, that block holding ``text``."""
    step = steps[i]
    content = [dict(b) for b in step["content"][: j + 1]]
    content[j]["text"] = text
    return [*steps[:i], {**step, "content": content}]


def apply_limits(
    steps: list[dict[str, Any]], max_output_tokens: int | None, stop_sequences: list[str]
) -> Cut | None:
    """The output after the limits, or ``None`` when no limit applies."""
    if stop_sequences:
        for i, j in _text_blocks(steps):
            text = steps[i]["content"][j].get("text", "")
            found = [text.find(seq) for seq in stop_sequences if seq in text]
            if found:
                steps = _cut_at(steps, i, j, text[: min(found)])
                cut: Cut | None = Cut(steps, "stop_sequence")
                break
        else:
            cut = None
    else:
        cut = None
    if max_output_tokens is not None:
        left = max(0, max_output_tokens)
        for i, j in _text_blocks(steps):
            text = steps[i]["content"][j].get("text", "")
            tokens = math.ceil(len(text) / 4)
            if tokens > left:
                return Cut(_cut_at(steps, i, j, text[: left * 4]), "max_output_tokens")
            left -= tokens
    return cut

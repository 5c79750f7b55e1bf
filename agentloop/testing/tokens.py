"""The emulator's token rule and its model list: what ``usage`` counts and which ids exist.

**Token rule.** Every item costs ``ceil(len(json_text) / 4)`` tokens, where ``json_text`` is the
item's *canonical* JSON text: keys sorted, no ``null`` values, separators ``","`` and ``":"``,
non-ASCII characters kept (``len`` counts characters, not bytes). Step and tool models are
dumped in their wire form first (``model_dump(mode="json")``).

A request's ``total_input_tokens`` is the sum over

* every step of the history the model sees: the stored chain (``previous_interaction_id``,
  all earlier inputs *and* outputs) followed by this request's ``input`` steps; a stateless
  request's resent history counts step by step exactly like the same stored chain would;
* the ``system_instruction`` (a JSON string, so its two quotes count too);
* each declared tool in ``tools``.

``total_output_tokens`` is the same sum over the interaction's output steps, and
``total_tokens`` is their sum. ``Emulator(context_window=N)`` answers 400 ``INVALID_ARGUMENT``
when ``total_input_tokens`` would exceed ``N``. ``count_tokens`` computes these numbers in a
test, e.g. ``count_tokens(conv.history, system_instruction="Be brief.", tools=[tool])``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, get_args

from agentloop.types.values import AgentId, ModelId

__all__ = ["KNOWN_AGENTS", "KNOWN_MODELS", "canonical_text", "count_tokens", "token_count"]

KNOWN_MODELS: frozenset[str] = frozenset(get_args(get_args(ModelId)[0]))
"""The model ids the emulator accepts (others get the real API's 400); ``models/<id>`` too:
every id the official SDK knows (``agentloop.types.ModelId``)."""

KNOWN_AGENTS: frozenset[str] = frozenset(get_args(get_args(AgentId)[0]))
"""The managed agents the emulator accepts (``agentloop.types.AgentId``)."""


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def _wire(item: Any) -> Any:
    dump = getattr(item, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    return item


def canonical_text(item: Any) -> str:
    """The canonical JSON text of one item (sorted keys, no nulls, compact)."""
    value = _wire(item)
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if '":null' in text:  # only then can a key hold None (rare): drop those keys
        text = json.dumps(
            _strip_none(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
    return text


def token_count(item: Any) -> int:
    """Tokens of one item (a step, a tool, a system instruction): ``ceil(chars / 4)``."""
    return -(-len(canonical_text(item)) // 4)


def count_tokens(
    steps: Iterable[Any] = (),
    *,
    system_instruction: str | None = None,
    tools: Iterable[Any] | None = None,
) -> int:
    """Input tokens the emulator reports for a request with this history, instruction and tools.

    ``steps`` are step models (``agentloop.types``) or wire dicts: for a chained request, the
    whole conversation so far plus the new input. With only ``steps`` it also gives the output
    tokens of an interaction's output steps.
    """
    total = sum(token_count(step) for step in steps)
    if system_instruction is not None:
        total += token_count(system_instruction)
    return total + sum(token_count(tool) for tool in tools or ())

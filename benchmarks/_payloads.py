"""Canned wire bytes for the benchmarks, produced once by the real emulator.

Every variant of a comparison sends the same request bytes and receives the same reply
bytes, so the figures compare client code only. Replies come from ``agentloop.testing``'s
emulator (so they are valid wire objects), generated once and then replayed verbatim.
"""

from __future__ import annotations

import json
from typing import Any

MODEL = "gemini-3.5-flash"
API_KEY = "bench-key"
VERSION = "v1beta"

# ~1 KB request: a system instruction, a generation config, two tools and a user message.
SYSTEM = "You are a concise assistant for a benchmark. " * 6
TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": f"tool_{i}",
        "description": "Look something up for the benchmark and return a short answer.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "what to look up"}},
            "required": ["query"],
        },
    }
    for i in range(2)
]
USER = "Please summarise the benchmark results in a few short sentences. " * 4


def request_fields() -> dict[str, Any]:
    """The keyword arguments of one ``interactions.create`` (about 1 KB encoded)."""
    return {
        "model": MODEL,
        "input": USER,
        "system_instruction": SYSTEM,
        "tools": TOOLS,
        "generation_config": {"temperature": 0.2, "max_output_tokens": 512},
    }


def conversation_settings() -> dict[str, Any]:
    """The keyword arguments of a ``Conversation`` whose requests are :func:`request_fields`
    (the conversation adds the user's text as ``input``)."""
    fields = request_fields()
    return {
        "model": MODEL,
        "system_instruction": SYSTEM,
        "tools": TOOLS,
        "generation_config": fields["generation_config"],
    }


def request_body() -> bytes:
    """The exact bytes agentloop sends for :func:`request_fields` (the raw-httpx baseline)."""
    from agentloop.client._core import encode_json

    return encode_json(request_fields())


REPLY_TEXT = ("The benchmark measured the client against raw httpx on loopback. " * 26).strip()


def _emulator_reply(model_steps: list[Any], stream: bool = False) -> Any:
    from agentloop.testing import Emulator, ScriptedModel

    emu = Emulator(ScriptedModel([model_steps]))
    query = {"alt": "sse"} if stream else {}
    body = json.dumps(
        {"model": MODEL, "input": "hi", "stream": stream}
        if stream
        else {"model": MODEL, "input": "hi"}
    ).encode()
    return emu.handle("POST", f"/{VERSION}/interactions", query, {"x-goog-api-key": API_KEY}, body)


def reply_json() -> bytes:
    """A completed interaction with one ~1.6 KB text output: about 2 KB of JSON."""
    res = _emulator_reply([REPLY_TEXT])
    assert res.status == 200, res.body
    return bytes(res.body)


def sse_frames(words: int = 600) -> list[bytes]:
    """The SSE frames of a streamed text reply (about ``words / 3`` text deltas)."""
    text = " ".join(f"word{i}" for i in range(words))
    res = _emulator_reply([text], stream=True)
    assert res.status == 200
    return list(res.events)


def tool_calls_reply(turn: int, calls: int) -> bytes:
    """A ``requires_action`` interaction with ``calls`` function calls (unique ids)."""
    steps = [
        {
            "type": "function_call",
            "id": f"call_{turn}_{i}",
            "name": f"tool_{i % 10}",
            "arguments": {"query": f"item {i}"},
        }
        for i in range(calls)
    ]
    return json.dumps(
        {
            "id": f"v1_calls_{turn}",
            "object": "interaction",
            "status": "requires_action",
            "model": MODEL,
            "created": "2026-01-01T00:00:00Z",
            "updated": "2026-01-01T00:00:00Z",
            "steps": steps,
            "usage": {"total_input_tokens": 10, "total_output_tokens": 10, "total_tokens": 20},
        },
        separators=(",", ":"),
    ).encode()


def text_reply(turn: int, text: str = "Done.") -> bytes:
    return json.dumps(
        {
            "id": f"v1_text_{turn}",
            "object": "interaction",
            "status": "completed",
            "model": MODEL,
            "created": "2026-01-01T00:00:00Z",
            "updated": "2026-01-01T00:00:00Z",
            "steps": [{"type": "model_output", "content": [{"type": "text", "text": text}]}],
            "usage": {"total_input_tokens": 10, "total_output_tokens": 2, "total_tokens": 12},
        },
        separators=(",", ":"),
    ).encode()

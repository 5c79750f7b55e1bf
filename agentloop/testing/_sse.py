"""Turn an interaction's output steps into the SSE event sequence the API streams."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["encode_event", "step_events", "text_chunks"]

# Server-tool steps whose payload also travels as a same-named delta.
_PAYLOAD_KEYS = (
    "arguments",
    "result",
    "search_type",
    "retrieval_type",
    "signature",
    "is_error",
    "name",
    "server_name",
)
_DELTA_STEP_TYPES = frozenset(
    {
        "code_execution_call",
        "code_execution_result",
        "google_search_call",
        "google_search_result",
        "url_context_call",
        "url_context_result",
        "google_maps_call",
        "google_maps_result",
        "file_search_call",
        "file_search_result",
        "mcp_server_tool_call",
        "mcp_server_tool_result",
        "retrieval_call",
        "retrieval_result",
        "processing_call",
        "processing_result",
    }
)
_MEDIA = frozenset({"image", "audio", "video", "document"})


def text_chunks(text: str, words_per_chunk: int = 3) -> list[str]:
    """Split text into a few chunks of whole words (whitespace kept) for ``text`` deltas."""
    pieces = re.findall(r"\S+\s*|\s+", text)
    if not pieces:
        return [text]
    return [
        "".join(pieces[i : i + words_per_chunk]) for i in range(0, len(pieces), words_per_chunk)
    ]


def _json_fragments(value: Any, size: int = 12) -> list[str]:
    encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return [encoded[i : i + size] for i in range(0, len(encoded), size)] or ["{}"]


def step_events(index: int, step: dict[str, Any]) -> list[dict[str, Any]]:
    """``step.start`` → ``step.delta``* → ``step.stop`` for one step (no event ids yet)."""
    kind = step.get("type")
    start: dict[str, Any]
    deltas: list[dict[str, Any]] = []
    if kind == "thought":
        start = {"type": "thought"}
        for block in step.get("summary") or []:
            deltas.append({"type": "thought_summary", "content": block})
        if step.get("signature"):
            deltas.append({"type": "thought_signature", "signature": step["signature"]})
    elif kind == "model_output":
        start = {k: v for k, v in step.items() if k != "content"}
        for block in step.get("content") or []:
            btype = block.get("type")
            if btype == "text":
                for chunk in text_chunks(block.get("text", "")):
                    deltas.append({"type": "text", "text": chunk})
                if block.get("annotations"):
                    deltas.append(
                        {"type": "text_annotation_delta", "annotations": block["annotations"]}
                    )
            elif btype in _MEDIA:
                deltas.append(dict(block))
            else:
                # No delta exists for unknown blocks; they ride on a fresh start event.
                deltas.append({"type": btype or "unknown", **block})
    elif kind == "function_call":
        # The SDK's step model requires id, name and arguments on step.start.
        start = {"type": "function_call", "id": step["id"], "name": step["name"], "arguments": {}}
        for fragment in _json_fragments(step.get("arguments", {})):
            deltas.append({"type": "arguments_delta", "arguments": fragment})
    elif kind in _DELTA_STEP_TYPES:
        start = dict(step)
        payload = {k: step[k] for k in _PAYLOAD_KEYS if k in step}
        if payload:
            deltas.append({"type": kind, **payload})
    else:
        start = dict(step)
    events = [{"event_type": "step.start", "index": index, "step": start}]
    events += [{"event_type": "step.delta", "index": index, "delta": d} for d in deltas]
    events.append({"event_type": "step.stop", "index": index})
    return events


def encode_event(event: dict[str, Any]) -> bytes:
    """One SSE frame: ``event:`` line, ``data:`` line, blank line."""
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event['event_type']}\ndata: {data}\n\n".encode()

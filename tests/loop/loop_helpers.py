"""Shared helpers and tools for the conversation tests."""

from __future__ import annotations

from typing import Any

from agentloop import tool
from agentloop.testing import Emulator


def call(name: str, call_id: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "function_call", "id": call_id, "name": name, "arguments": arguments}


def say(text: str) -> list[dict[str, Any]]:
    """A reply that thinks (signed by the emulator) then answers with text."""
    return [
        {"type": "thought"},
        {"type": "model_output", "content": [{"type": "text", "text": text}]},
    ]


@tool
def get_weather(city: str) -> dict[str, Any]:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature": 22, "unit": "celsius"}


@tool
async def get_time(city: str) -> str:
    """Get the local time in a city.

    Args:
        city: The city name.
    """
    return f"12:00 in {city}"


@tool
def explode(reason: str) -> str:
    """Always fails.

    Args:
        reason: Why.
    """
    raise ValueError(f"boom: {reason}")


@tool(requires_approval=True)
def delete_file(path: str) -> str:
    """Delete a file (needs a human's approval).

    Args:
        path: The file to delete.
    """
    return f"deleted {path}"


def bodies(emu: Emulator) -> list[dict[str, Any]]:
    """The JSON bodies of every create request the emulator received."""
    return [r.json for r in emu.requests if r.method == "POST" and r.path.endswith("/interactions")]


def open_calls(history: list[Any]) -> set[str]:
    """Ids of function calls in ``history`` that have no result."""
    calls = {s.id for s in history if s.type == "function_call"}
    results = {s.call_id for s in history if s.type == "function_result"}
    return calls - results

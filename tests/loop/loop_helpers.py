"""Shared helpers and tools for the conversation tests."""

from __future__ import annotations

from typing import Any

from agentloop import tool
from agentloop.loop.persist import fold
from agentloop.stores import ConversationStore
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


class Driver:
    """Runs the same test through ``Conversation`` or ``AsyncConversation`` (``drive`` fixture).

    ``d.conv(...)`` makes a conversation of the driver's kind on the emulator; ``d(x)`` returns
    ``x`` or, for the async driver, awaits it on the test's own loop; ``d.events(iterable)``
    collects a stream of either kind.
    """

    def __init__(self, kind: str, emu: Emulator) -> None:
        import asyncio

        self.kind = kind
        self.emu = emu
        self.loop = asyncio.new_event_loop() if kind == "async" else None

    @property
    def is_async(self) -> bool:
        return self.kind == "async"

    def client(self, **options: Any) -> Any:
        return self.emu.async_client(**options) if self.is_async else self.emu.client(**options)

    def conv(self, client: Any = None, **kwargs: Any) -> Any:
        from agentloop import AsyncConversation, Conversation

        cls = AsyncConversation if self.is_async else Conversation
        return cls(client if client is not None else self.client(), **kwargs)

    def cls(self) -> Any:
        from agentloop import AsyncConversation, Conversation

        return AsyncConversation if self.is_async else Conversation

    def __call__(self, value: Any) -> Any:
        import inspect

        if self.loop is not None and inspect.isawaitable(value):
            return self.loop.run_until_complete(value)
        return value

    def events(self, stream: Any) -> list[Any]:
        if self.loop is None:
            return list(stream)

        async def collect() -> list[Any]:
            return [event async for event in stream]

        return self.loop.run_until_complete(collect())

    def close(self) -> None:
        if self.loop is not None:
            self.loop.close()


def encodes(history: list[Any]) -> bool:
    """Every step of ``history`` encodes to JSON (what the next request will send)."""
    import json

    from agentloop.loop.history import encode_step

    return all(json.loads(encode_step(step)) for step in history)


def answered_once(history: list[Any]) -> bool:
    """Every function call has exactly one result, after it."""
    seen: set[str] = set()
    results: list[str] = []
    for step in history:
        if step.type == "function_call":
            seen.add(step.id)
        elif step.type == "function_result":
            if step.call_id not in seen:
                return False
            results.append(step.call_id)
    return sorted(results) == sorted(seen) and len(results) == len(set(results))


def results(conv: Any) -> dict[str, str]:
    """Each answered call's result text, by call id."""
    return {s.call_id: s.result for s in conv.history if s.type == "function_result"}


def journaled_history(store: ConversationStore, id: str) -> list[Any]:
    """The history that replaying the stored journal of ``id`` gives."""
    stored = store.read(id)
    return list(fold(stored.records, stored.version).state.history)

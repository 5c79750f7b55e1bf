"""What the agent tests share: reply builders and one way to drive both drivers."""

from __future__ import annotations

import inspect
from typing import Any

from agentloop import Agent
from agentloop.testing import Emulator


def call(name: str, call_id: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "function_call", "id": call_id, "name": name, "arguments": arguments}


def say(text: str) -> list[dict[str, Any]]:
    return [{"type": "model_output", "content": [{"type": "text", "text": text}]}]


async def done(value: Any) -> Any:
    """The value of a sync call, or of an awaited async one (both drivers, one test)."""
    return await value if inspect.isawaitable(value) else value


def conversation(agent: Agent, emu: Emulator, driver: str, **kwargs: Any) -> Any:
    if driver == "sync":
        return agent.conversation(emu.client(), **kwargs)
    return agent.aconversation(emu.async_client(), **kwargs)


def body(emu: Emulator, index: int) -> dict[str, Any]:
    found: dict[str, Any] = emu.requests[index].json
    return found


def creates(emu: Emulator) -> list[dict[str, Any]]:
    """The bodies of the create requests the emulator received, in order."""
    return [r.json for r in emu.requests if r.method == "POST" and r.json is not None]

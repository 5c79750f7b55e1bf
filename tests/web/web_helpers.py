"""Tools and helpers that drive the web app in tests (served by ``_http.serve``)."""

from __future__ import annotations

import json
import threading
from typing import Any

from agentloop import tool


@tool
def get_weather(city: str) -> dict[str, Any]:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature": 21, "unit": "celsius"}


@tool(requires_approval=True)
def delete_file(path: str) -> str:
    """Delete a file from the disk.

    Args:
        path: The file to delete.
    """
    return f"deleted {path}"


@tool
def show_snippet(name: str) -> str:
    """Show the HTML snippet called name.

    Args:
        name: The snippet name.
    """
    return '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


class Gate:
    """A tool that blocks until the test opens the gate (a slow tool, without sleeping)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.open = threading.Event()

        @tool
        def slow_report(topic: str) -> str:
            """Write a slow report about a topic.

            Args:
                topic: The topic.
            """
            self.entered.set()
            if not self.open.wait(timeout=30):
                return "gate never opened"
            return f"report on {topic}: all good"

        self.tool = slow_report


def offline_app(model: Any, store: Any) -> Any:
    """The web app with the weather and delete tools on an emulator running ``model``, saying
    in its banner that it is offline (as ``agentloop serve`` does without a key)."""
    from agentloop.testing import Emulator
    from agentloop.web import create_app

    return create_app(
        tools=[get_weather, delete_file],
        store=store,
        client=Emulator(model).async_client(),
        offline=True,
        backend_note="Offline: running on the bundled agentloop emulator (no GEMINI_API_KEY "
        "set; its answers are canned, not a real model).",
    )


def events_of(body: str) -> list[dict[str, Any]]:
    """The AG-UI events of an SSE body."""
    return [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]


def user_input(thread: str, text: str, run: str = "r1", **extra: Any) -> dict[str, Any]:
    """A RunAgentInput (wire form) with one new user message."""
    return {
        "threadId": thread,
        "runId": run,
        "messages": [{"id": f"m-{run}", "role": "user", "content": text}],
        **extra,
    }

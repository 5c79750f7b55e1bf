"""Runs inside a Python that has google-adk (which pins google-genai below 3, so it cannot share
agentloop's dev environment): ``python _adk_child.py URL TURNS ROUNDS``. Prints one line: the
median seconds per turn of an ADK ``LlmAgent`` on ``Gemini(use_interactions_api=True)``
against the Interactions API emulator at URL (ten tool calls per turn, then the answer)."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time

url, turns, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.environ["GOOGLE_API_KEY"] = "bench"
os.environ["GOOGLE_GEMINI_BASE_URL"] = url

from google.adk.agents import LlmAgent  # noqa: E402
from google.adk.models.google_llm import Gemini  # noqa: E402
from google.adk.runners import InMemoryRunner  # noqa: E402
from google.genai import types  # noqa: E402


def _tool(i: int):  # type: ignore[no-untyped-def]
    def fn(query: str) -> str:
        return f"result for {query}"

    fn.__name__ = fn.__qualname__ = f"tool_{i}"
    fn.__doc__ = "Look something up.\n\nArgs:\n    query: what to look up.\n"
    return fn


agent = LlmAgent(
    name="bench",
    model=Gemini(model="gemini-3.5-flash", use_interactions_api=True),
    instruction="Be brief.",
    tools=[_tool(i) for i in range(10)],
)
runner = InMemoryRunner(agent=agent, app_name="bench")


async def turn() -> None:
    session = await runner.session_service.create_session(app_name="bench", user_id="u")
    message = types.Content(role="user", parts=[types.Part(text="go")])
    calls = 0
    async for event in runner.run_async(user_id="u", session_id=session.id, new_message=message):
        calls += len(event.get_function_calls())
    assert calls == 10, calls


async def main() -> None:
    await turn()  # warm up
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(turns):
            await turn()
        times.append((time.perf_counter() - start) / turns)
    print(statistics.median(times))


asyncio.run(main())

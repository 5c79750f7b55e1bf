"""Google ADK's Interactions path (``Gemini(use_interactions_api=True)``) per tool step, beside
agentloop on the same loopback emulator.

google-adk 2.13 requires google-genai >= 2.30, < 3, so it cannot live in agentloop's dev
environment (which pins google-genai 3.3.0 as the wire oracle). Give the benchmark a Python that
has it, and it runs ADK in that interpreter as a child process::

    python3 -m venv /tmp/adk && /tmp/adk/bin/pip install google-adk
    AGENTLOOP_BENCH_ADK_PYTHON=/tmp/adk/bin/python python benchmarks/run.py --only adk

Both sides talk HTTP to one ``agentloop.testing.Emulator`` served on 127.0.0.1 whose scripted
model asks for ten tool calls and then answers, so the figure is per tool step *including* a
loopback round trip per model request (two per ten steps) on both sides. ADK runs async only;
agentloop is measured with ``AsyncConversation``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import time
from typing import Any

from _harness import Row, us

ENV = "AGENTLOOP_BENCH_ADK_PYTHON"
CALLS = 10


def _model(request: Any) -> Any:
    for step in reversed(request.history):
        kind = getattr(step, "type", None)
        if kind == "function_result":
            return "done"
        if kind == "user_input":
            break
    return [
        {"type": "function_call", "name": f"tool_{i}", "arguments": {"query": f"q{i}"}}
        for i in range(CALLS)
    ]


def _agentloop_turns(url: str, turns: int) -> float:
    import bench_tools as BT

    from agentloop import AsyncClient, AsyncConversation, ToolRegistry

    async def main() -> float:
        async with AsyncClient(api_key="bench", base_url=url) as client:
            registry = ToolRegistry(BT._tools())
            conv = AsyncConversation(client, model="gemini-3.5-flash", tools=[registry])
            await conv.send("go")  # warm up
            start = time.perf_counter()
            for _ in range(turns):
                conv = AsyncConversation(client, model="gemini-3.5-flash", tools=[registry])
                turn = await conv.send("go")
                assert len(turn.tool_calls) == CALLS
            return (time.perf_counter() - start) / turns

    return asyncio.run(main())


def run(quick: bool) -> list[Row]:
    figure = "per tool step vs Google ADK (Interactions API, loopback emulator)"
    python = os.environ.get(ENV)
    if not python:
        return [
            Row(
                figure,
                "",
                note=f"skipped: set {ENV} to a Python with google-adk (it pins google-genai < 3, "
                "so it cannot share the dev environment; see benchmarks/bench_adk.py)",
            )
        ]
    from agentloop.testing import Emulator, FunctionModel

    here = os.path.dirname(os.path.abspath(__file__))
    turns, rounds = (5, 3) if quick else (20, 5)
    ours: list[float] = []
    theirs: list[float] = []
    with Emulator(FunctionModel(_model)).serve() as url:
        for _ in range(rounds):  # interleaved, one round each
            ours.append(_agentloop_turns(url, turns))
            out = subprocess.run(
                [python, os.path.join(here, "_adk_child.py"), url, str(turns), "1"],
                capture_output=True,
                text=True,
                timeout=300,
                check=True,
            )
            theirs.append(float(out.stdout.strip().splitlines()[-1]))
    a, b = statistics.median(ours) / CALLS, statistics.median(theirs) / CALLS
    ratio = b / a
    return [
        Row(
            figure,
            us(a),
            f"google-adk {us(b)}",
            f"{ratio:.1f}x less",
            "",
            None,
            note="both over HTTP to one loopback emulator (two model requests per ten steps); "
            "the emulator serves from a thread of the agentloop side's process",
            values={"agentloop_s": a, "adk_s": b, "ratio": ratio},
        )
    ]

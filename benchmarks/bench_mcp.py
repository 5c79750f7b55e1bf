"""The cost of one MCP tool call over stdio, above the tool's own time.

The server is ``examples/mcp_servers/weather.py`` (the MCP SDK's ``MCPServer``, a subprocess
on stdio); the tool is ``to_fahrenheit``, whose own time is measured in-process. Figures, per
call, medians of interleaved rounds:

* agentloop, sync: ``ToolRegistry.run([call])`` from the caller's thread: the call hops to the
  registry's async-tool loop, then to the toolset's loop, through the SDK, and back;
* agentloop, async: ``await ToolRegistry.arun([call])`` on a running loop (one hop less);
* the SDK floor: ``await client.call_tool(...)`` on the loop that owns the session, with the
  MCP SDK alone (no agentloop).

The overhead row is agentloop's sync figure minus the tool's own time; the ratio to the SDK
floor shows what agentloop adds on top of MCP itself.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from _harness import Row, interleaved, interleaved_batches, per_call, us

SERVER = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "examples",
    "mcp_servers",
    "weather.py",
)


def _own_time(n: int) -> float:
    spec = importlib.util.spec_from_file_location("bench_weather_server", SERVER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fn: Callable[[float], float] = module.to_fahrenheit
    return per_call(lambda: fn(20.0), n)


def run(quick: bool) -> list[Row]:
    if importlib.util.find_spec("mcp") is None:
        return [Row("MCP tool call over stdio", "", note="skipped: mcp is not installed")]
    from mcp import Client, StdioServerParameters

    from agentloop import ToolRegistry
    from agentloop.mcp import MCPToolset
    from agentloop.types import FunctionCallStep

    n, repeats = (30, 3) if quick else (200, 7)
    arguments = {"celsius": 20.0}
    call = FunctionCallStep(id="bench", name="to_fahrenheit", arguments=arguments)

    # The SDK alone, on a loop thread that owns its session.
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    holder: dict[str, Any] = {}
    stop = asyncio.Event()

    async def own() -> None:
        params = StdioServerParameters(command=sys.executable, args=[SERVER])
        async with Client(params, cache=None) as client:
            holder["client"] = client
            holder["ready"].set_result(None)
            await stop.wait()

    holder["ready"] = ready = loop.create_future()
    task = asyncio.run_coroutine_threadsafe(own(), loop)
    asyncio.run_coroutine_threadsafe(asyncio.wait_for(asyncio.shield(ready), 60), loop).result()

    async def sdk_batch(k: int) -> None:
        client = holder["client"]
        for _ in range(k):
            result = await client.call_tool("to_fahrenheit", arguments)
            assert not result.is_error

    def sdk(k: int) -> None:
        asyncio.run_coroutine_threadsafe(sdk_batch(k), loop).result()

    toolset = MCPToolset.stdio(sys.executable, [SERVER])
    registry = ToolRegistry([toolset])
    registry.names  # noqa: B018  (starts the server)
    async_loop = asyncio.new_event_loop()

    def agentloop_sync(k: int) -> None:
        for _ in range(k):
            (outcome,) = registry.run([call])
            assert not outcome.is_error, outcome.result

    async def arun_batch(k: int) -> None:
        for _ in range(k):
            (outcome,) = await registry.arun([call])
            assert not outcome.is_error, outcome.result

    def agentloop_async(k: int) -> None:
        async_loop.run_until_complete(arun_batch(k))

    try:
        own_time = _own_time(10_000)
        times = interleaved_batches(
            {"sync": agentloop_sync, "async": agentloop_async, "sdk": sdk},
            n=n,
            repeats=repeats,
        )
        local = interleaved({"local": lambda: registry.get("to_fahrenheit")}, n=1000, repeats=3)
    finally:
        registry.close()
        async_loop.close()
        loop.call_soon_threadsafe(stop.set)
        task.result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
    overhead = times["sync"] - own_time
    rows = [
        Row(
            "MCP tool call over stdio, sync ToolRegistry.run (overhead above the tool)",
            us(overhead),
            f"MCP SDK alone {us(times['sdk'])}",
            f"{times['sync'] / times['sdk']:.2f}x the SDK",
            note=f"tool's own time {us(own_time)}; registry lookup {us(local['local'])}",
            values={"sync": times["sync"], "sdk": times["sdk"], "own": own_time},
        ),
        Row(
            "MCP tool call over stdio, AsyncConversation path (ToolRegistry.arun)",
            us(times["async"] - own_time),
            f"MCP SDK alone {us(times['sdk'])}",
            f"{times['async'] / times['sdk']:.2f}x the SDK",
            values={"async": times["async"], "sdk": times["sdk"], "own": own_time},
        ),
    ]
    return rows

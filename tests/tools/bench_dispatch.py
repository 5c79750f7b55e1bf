"""Cost of dispatching tool calls (not a test): 10 trivial calls at once, and a lone call,
through ``ToolRegistry.run`` (sync) and ``ToolRegistry.arun`` (async).

Run: PYTHONPATH=. python tests/tools/bench_dispatch.py
Prints the 10th percentile of 300 batches (robust on a loaded machine). Compare branches by
running it with each checkout on PYTHONPATH, interleaved.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from agentloop.tools import ToolRegistry
from agentloop.types import FunctionCallStep


def _tool(i: int) -> Callable[[str], str]:
    def fn(query: str) -> str:
        return f"result for {query}"

    fn.__name__ = f"tool_{i}"
    return fn


def p10_us(fn: Callable[[], object], n: int = 300) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 10] * 1e6


def main() -> None:
    registry = ToolRegistry([_tool(i) for i in range(10)])
    calls = [
        FunctionCallStep(id=f"c{i}", name=f"tool_{i}", arguments={"query": "x"}) for i in range(10)
    ]
    loop = asyncio.new_event_loop()
    figures = {
        "sync, 10 calls": p10_us(lambda: registry.run(calls)),
        "async, 10 calls": p10_us(lambda: loop.run_until_complete(registry.arun(calls))),
        "sync, lone call": p10_us(lambda: registry.run(calls[:1])),
        "async, lone call": p10_us(lambda: loop.run_until_complete(registry.arun(calls[:1]))),
    }
    for name, value in figures.items():
        print(f"{name:18} {value:7.1f} us")
    registry.close()
    loop.close()


if __name__ == "__main__":
    main()

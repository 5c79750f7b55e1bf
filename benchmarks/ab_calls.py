"""Issue 27 A/B: what each tool *call* of a turn costs, apart from what each turn costs.

``PYTHONPATH=CHECKOUT python3 benchmarks/ab_calls.py [--rounds R] [--turns N]``

Run it from two checkouts one after the other (A B B A ...: each line is one process) and
compare. Every figure is CPU time (``time.process_time``: all threads) with the garbage
collector paused per batch, as ``bench_tools`` does, and is measured twice, with 2 and with
10 calls per turn: the difference divided by 8 is the cost of one call, the rest the turn's
fixed cost. Medians over the rounds.

- ``turn``: ``bench_tools``' sync and async turn whole (HTTP through an in-process transport,
  the engine, the tools in the pool);
- ``tools``: ``ToolRegistry.run`` / ``arun`` of the turn's calls alone (preparation, the
  pool hand-off, the calls, their outcomes), with the main thread's share;
- ``engine``: the sync turn with replies parsed and outcomes built beforehand (the engine,
  state, history and events only).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _payloads as P
import bench_tools as BT
from ab_issue27_engine import _Client

from agentloop import Conversation, ToolRegistry
from agentloop.tools.execution import Signal, ToolOutcome, ToolProgress
from agentloop.types import FunctionCallStep, FunctionResultStep, Interaction, encode_step

SIZES = (2, 10)


def _cpu(run: Callable[[int], Any], n: int) -> tuple[float, float]:
    """(process, main thread) CPU seconds per unit of ``run(n)``, the collector paused."""
    prepare = getattr(run, "prepare", None)
    if prepare is not None:
        prepare(n)
    gc.collect()
    gc.disable()
    try:
        process, thread = time.process_time(), time.thread_time()
        run(n)
        return (time.process_time() - process) / n, (time.thread_time() - thread) / n
    finally:
        gc.enable()


def _turns(mode: str, calls: int) -> Callable[[int], None]:
    BT.CALLS = calls
    if mode == "sync":
        return BT.agentloop_sync()
    return BT.agentloop_async(asyncio.new_event_loop())


def _tools(mode: str, calls: int) -> Callable[[int], None]:
    registry = ToolRegistry(BT._tools())
    interaction = Interaction.model_validate_json(P.tool_calls_reply(0, calls))
    steps = [s for s in interaction.steps or [] if isinstance(s, FunctionCallStep)]
    stop = Signal()  # a conversation's batches can always be stopped from another thread

    def sync(n: int) -> None:
        for _ in range(n):
            registry.run(steps, progress=ToolProgress(stop=stop))

    async def many(n: int) -> None:
        for _ in range(n):
            await registry.arun(steps, progress=ToolProgress())

    loop = asyncio.new_event_loop()
    return sync if mode == "sync" else lambda n: loop.run_until_complete(many(n))


class _Registry(ToolRegistry):
    """Answers each batch with outcomes built beforehand, in order."""

    pending: list[list[ToolOutcome]]

    def run(self, calls: Any, **options: Any) -> list[ToolOutcome]:  # type: ignore[override]
        return self.pending.pop()


def _engine(mode: str, calls: int) -> Callable[[int], None]:
    """The turns of ``n`` conversations' worth of replies and outcomes, built before the
    clock starts (``prepare``), then sent."""
    prepared: list[tuple[_Client, _Registry]] = []

    def prepare(n: int) -> None:
        BT.CALLS = calls
        script = BT._ScriptedTransport()
        replies: list[Interaction] = []
        batches: list[list[ToolOutcome]] = []
        for _ in range(2 * n):
            interaction = Interaction.model_validate_json(script.reply())
            steps = [s for s in interaction.steps or [] if isinstance(s, FunctionCallStep)]
            if steps:
                batches.append([_outcome(step) for step in steps])
            replies.append(interaction)
        registry = _Registry(BT._tools())
        registry.pending = batches[::-1]
        prepared.append((_Client(replies[::-1]), registry))

    def run(n: int) -> None:
        client, registry = prepared.pop()
        conv: Any = None
        for i in range(n):
            if i % 20 == 0:
                conv = Conversation(client, model=P.MODEL, tools=[registry])  # type: ignore[arg-type]
                conv.tools = registry
            conv.send("go")

    run.prepare = prepare  # type: ignore[attr-defined]
    return run


def _outcome(call: FunctionCallStep) -> ToolOutcome:
    result = FunctionResultStep(call_id=call.id, name=call.name, result="result")
    return ToolOutcome(call, result, value="result", wire=encode_step(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--turns", type=int, default=400)
    args = parser.parse_args()
    cases: list[tuple[str, Callable[[str, int], Callable[[int], None]], str]] = [
        ("turn", _turns, "sync"),
        ("turn", _turns, "async"),
        ("tools", _tools, "sync"),
        ("tools", _tools, "async"),
        ("engine", _engine, "sync"),
    ]
    for name, make, mode in cases:
        runs = {calls: make(mode, calls) for calls in SIZES}
        for calls, run in runs.items():
            BT.CALLS = calls
            _cpu(run, 50)
        samples: dict[int, list[tuple[float, float]]] = {calls: [] for calls in SIZES}
        for _ in range(args.rounds):
            for calls, run in runs.items():
                BT.CALLS = calls
                samples[calls].append(_cpu(run, args.turns))
        _report(f"{name} {mode}", samples)


def _report(label: str, samples: dict[int, list[tuple[float, float]]]) -> None:
    few, many = SIZES
    process = {k: statistics.median(s[0] for s in v) * 1e6 for k, v in samples.items()}
    main_ = {k: statistics.median(s[1] for s in v) * 1e6 for k, v in samples.items()}
    per_call = (process[many] - process[few]) / (many - few)
    main_call = (main_[many] - main_[few]) / (many - few)
    print(
        f"{label:12} {many}-call turn {process[many]:6.1f} us CPU; per call {per_call:5.2f} us "
        f"(main thread {main_call:5.2f}); fixed {process[few] - few * per_call:6.1f} us"
    )


if __name__ == "__main__":
    main()

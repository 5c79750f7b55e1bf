"""Issue 27: what the hand-off of a tool batch to the pool costs *in context*.

``PYTHONPATH=CHECKOUT python3 benchmarks/ab_handoff.py [--work US] [--rounds R]``

A tool turn hands its batch to a pool thread once and waits for it; the calls themselves
are trivial. Measured alone, back to back, the hand-off is cheap; inside a turn it costs
about twice as much, because the pool thread's CPU has gone idle and both caches have
cooled while the caller did the turn's other work. So each batch here follows ``--work``
microseconds of other work on the calling thread (default 300, about what a tool turn does
between its batches), and each round measures, in one process and alternately:

- ``pool``: ``ToolRegistry.run`` / ``arun`` of a 10-call batch, as a conversation runs it;
- ``caller``: the same batch with its calls run in the caller, inside ``ToolPool.put``
  (a stand-in for measuring only: it serialises the batch, which the library never does);
- ``work``: the other work alone.

It prints CPU time per batch (``time.process_time``, every thread, the collector paused)
with the work taken out, and the hand-off: ``pool`` minus ``caller``. Medians over rounds.
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

from agentloop import ToolRegistry
from agentloop.tools import _pool
from agentloop.tools.execution import Signal, ToolProgress
from agentloop.types import FunctionCallStep, Interaction

_PUT = _pool.ToolPool.put


def _in_caller(self: _pool.ToolPool, jobs: Any, *, lazy: bool) -> None:
    for job in jobs:
        job.state = _pool.RUNNING
        job._run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=int, default=300, help="us of other work per batch")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--batches", type=int, default=300)
    args = parser.parse_args()
    registry = ToolRegistry(BT._tools())
    reply = Interaction.model_validate_json(P.tool_calls_reply(0, 10))
    steps = [s for s in reply.steps or [] if isinstance(s, FunctionCallStep)]
    stop = Signal()  # a conversation's batches can always be stopped from another thread
    junk = [{"n": i} for i in range(20_000)]

    def work() -> None:
        until, i = time.perf_counter() + args.work / 1e6, 0
        while time.perf_counter() < until:
            junk[i % 20_000]["n"] += 1
            i += 1

    def sync(n: int) -> None:
        for _ in range(n):
            work()
            registry.run(steps, progress=ToolProgress(stop=stop))

    loop = asyncio.new_event_loop()

    async def many(n: int) -> None:
        for _ in range(n):
            work()
            await registry.arun(steps, progress=ToolProgress())

    def idle(n: int) -> None:
        for _ in range(n):
            work()

    def cpu(run: Callable[[int], None]) -> float:
        gc.collect()
        gc.disable()
        try:
            start = time.process_time()
            run(args.batches)
            return (time.process_time() - start) / args.batches * 1e6
        finally:
            gc.enable()

    for label, run in (("sync", sync), ("async", lambda n: loop.run_until_complete(many(n)))):
        run(100)  # warm: the pool's thread, the tools' recent times (quick: a lazy batch)
        samples: dict[str, list[float]] = {"pool": [], "caller": []}
        for _ in range(args.rounds):
            base = cpu(idle)
            for where in ("pool", "caller"):
                _pool.ToolPool.put = _PUT if where == "pool" else _in_caller  # type: ignore[method-assign]
                try:
                    samples[where].append(cpu(run) - base)
                finally:
                    _pool.ToolPool.put = _PUT  # type: ignore[method-assign]
        pool, caller = (statistics.median(samples[k]) for k in ("pool", "caller"))
        print(
            f"{label:5} 10-call batch after {args.work} us of work: pool {pool:6.1f} us, "
            f"calls in the caller {caller:6.1f} us, hand-off {pool - caller:5.1f} us CPU"
        )
    loop.close()


if __name__ == "__main__":
    main()

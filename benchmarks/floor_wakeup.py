"""Issue 27: how much of a sync tool step is this machine waking a thread on another CPU.

``python3 benchmarks/floor_wakeup.py [--rounds R]``

A sync tool turn hands its batch of calls to a pool thread and sleeps until the batch is
done: two wake-ups a batch, one each way. On a machine whose idle CPUs sleep (a virtual
machine's vCPUs above all), waking a thread on another CPU costs far more than the context
switch itself. Each round runs two child processes one after the other: one free to use
every CPU, one pinned to CPU 0 (``os.sched_setaffinity``: the caller and the pool thread then
share that CPU, so a wake-up is a switch there, not an idle CPU waking up). Each child
measures, best of 5 batches:

- ``round trip``: a bare ping-pong between two threads over two ``queue.SimpleQueue``
  (no agentloop at all);
- ``tool step``: ``bench_tools``' sync turn (10 calls, 2 in-process requests), per step.

It prints the medians over rounds. The difference between the two columns is what the
machine's wake-ups add, which no change to the library's code can take out short of not
handing the batch to another thread (which would serialise a batch: see docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def round_trip(n: int = 20_000) -> float:
    """Seconds per ping-pong between this thread and another one."""
    ping: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    pong: queue.SimpleQueue[int] = queue.SimpleQueue()

    def echo() -> None:
        while ping.get() is not None:
            pong.put(1)

    thread = threading.Thread(target=echo)
    thread.start()
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n // 5):
            ping.put(1)
            pong.get()
        best = min(best, (time.perf_counter() - started) / (n // 5))
    ping.put(None)
    thread.join()
    return best


def tool_step(turns: int = 400) -> float:
    """Seconds per tool step of bench_tools' sync turn."""
    sys.path.insert(0, str(HERE))
    import bench_tools

    batch = bench_tools.agentloop_sync()
    batch(100)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        batch(turns)
        best = min(best, (time.perf_counter() - started) / (turns * bench_tools.CALLS))
    return best


def child(pinned: bool) -> None:
    if pinned:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(json.dumps({"round_trip": round_trip(), "tool_step": tool_step()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=["free", "pinned"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child == "pinned")
        return
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("this process may use one CPU only: nothing to compare")
    seen: dict[str, list[dict[str, float]]] = {"free": [], "pinned": []}
    for _ in range(args.rounds):
        for mode in seen:
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            seen[mode].append(json.loads(out))
    print(f"medians of {args.rounds} rounds, µs | every CPU | one CPU")
    for key, label in (("round_trip", "thread round trip"), ("tool_step", "sync tool step")):
        free = statistics.median(r[key] for r in seen["free"]) * 1e6
        pinned = statistics.median(r[key] for r in seen["pinned"]) * 1e6
        print(f"{label:<26} | {free:9.1f} | {pinned:7.1f}")


if __name__ == "__main__":
    main()

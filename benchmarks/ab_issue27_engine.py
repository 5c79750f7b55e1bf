"""Issue 27 A/B: the engine's own CPU per tool step, and what journaling to SQLite adds to it.

``PYTHONPATH=CHECKOUT python3 benchmarks/ab_issue27_engine.py [--turns N] [--rounds R]``

Run it from two checkouts one after the other (A B A B ...: each line is one process) and
compare the medians. ``bench_tools``' turn (10 tool calls, then text) without its two costs
that are not the engine's: the model's replies are parsed before the clock starts (no HTTP,
no response parsing) and the tools' outcomes are built beforehand (no argument validation,
no thread hand-off). What is left is ``Conversation.send`` itself: the engine, the state,
history and journal bookkeeping, the drive loop and, with ``store``, the journal writes.
CPU time (``time.process_time``), median over the rounds, alternating no store / store.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_tools as BT

from agentloop import Conversation, ToolRegistry
from agentloop.stores import SQLiteStore
from agentloop.tools.execution import ToolOutcome
from agentloop.types import FunctionCallStep, FunctionResultStep, Interaction, encode_step


class _Interactions:
    def __init__(self, replies: list[Interaction]) -> None:
        self.replies = replies

    def create(self, **body: Any) -> Interaction:
        return self.replies.pop()


class _Client:
    """Hands out the pre-parsed replies in order (the engine only calls ``create``)."""

    def __init__(self, replies: list[Interaction]) -> None:
        self.interactions = _Interactions(replies)


class _Registry(ToolRegistry):
    """The benchmark's tools, answering each call with its pre-built outcome."""

    outcomes: dict[str, ToolOutcome] = {}

    def run(self, calls: Any, **options: Any) -> list[ToolOutcome]:  # type: ignore[override]
        return [self.outcomes[call.id] for call in calls]


def _replies(n: int) -> list[Interaction]:
    script = BT._ScriptedTransport()
    replies = []
    for _ in range(n):
        interaction = Interaction.model_validate_json(script.reply())
        for step in interaction.steps or []:
            if isinstance(step, FunctionCallStep):
                result = FunctionResultStep(call_id=step.id, name=step.name, result="result")
                _Registry.outcomes[step.id] = ToolOutcome(
                    step, result, value="result", wire=encode_step(result)
                )
        replies.append(interaction)
    return replies[::-1]


def per_step(turns: int, store: Any = None, turns_per_conv: int = 20) -> float:
    """CPU seconds per tool step over ``turns`` turns."""
    client = _Client(_replies(2 * turns))
    registry = _Registry(BT._tools())
    conv: Any = None
    started = time.process_time()
    for i in range(turns):
        if i % turns_per_conv == 0:
            extra = {} if store is None else {"store": store, "id": f"ab-{time.time_ns()}"}
            conv = Conversation(client, model="gemini-bench", tools=[registry], **extra)
            conv.tools = registry  # its calls answered from the pre-built outcomes
        turn = conv.send("go")
        assert len(turn.tool_calls) == BT.CALLS, turn
    return (time.process_time() - started) / turns / BT.CALLS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    store = SQLiteStore(os.path.join(tempfile.mkdtemp(), "ab.sqlite"))
    per_step(40)
    per_step(40, store)
    plain, journaled = [], []
    for _ in range(args.rounds):
        plain.append(per_step(args.turns))
        journaled.append(per_step(args.turns, store))
    none, with_store = statistics.median(plain), statistics.median(journaled)
    print(
        f"engine CPU per tool step {none * 1e6:.1f} us; journaling to SQLite "
        f"{with_store * 1e6:.1f} us (+{(with_store - none) * 1e6:.1f} us)"
    )


if __name__ == "__main__":
    main()

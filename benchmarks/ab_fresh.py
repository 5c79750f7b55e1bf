"""Issue 27 A/B: client CPU of a fresh conversation: ``Conversation(...)`` and its first one or
two ``send`` calls, with ten tools, no HTTP (``create`` hands back a reply parsed before).

A conversation per request (a server), an eval case and a sub-agent call each pay this, not
the steady per-turn cost that ``ab_send.py`` and ``count_turn.py`` measure: the static request
body is built and encoded on the first turn, and its private copies are taken on the second.

``PYTHONPATH=CHECKOUT python3 benchmarks/ab_fresh.py [--rounds R]``

Run it from two checkouts one after the other (A B A B ...) and compare the medians: CPU time
(``time.process_time``, GC paused per batch) of 300 fresh conversations per round.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _payloads as P
from _harness import interleaved_batches

from agentloop import Conversation, tool
from agentloop.types import Interaction

N = 300  # fresh conversations per batch


def _tools(count: int) -> list[Any]:
    made = []
    for i in range(count):

        def lookup(city: str, days: int = 1) -> str:
            """Look something up for the benchmark."""
            return city

        lookup.__name__ = f"lookup_{i}"
        made.append(tool(lookup))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    reply = Interaction.model_validate_json(P.reply_json())

    class Interactions:
        def create(self, **body: Any) -> Interaction:
            return reply

    class Client:
        interactions = Interactions()

    settings: dict[str, Any] = {
        "model": P.MODEL,
        "system_instruction": P.SYSTEM,
        "tools": _tools(10),
        "generation_config": P.request_fields()["generation_config"],
    }

    def fresh(sends: int) -> Callable[[int], None]:
        def run(conversations: int) -> None:
            for _ in range(conversations):
                conv = Conversation(Client(), **settings)  # type: ignore[arg-type]
                for _ in range(sends):
                    conv.send(P.USER)

        return run

    gc.collect()
    medians = interleaved_batches(
        {"1 send": fresh(1), "2 sends": fresh(2)},
        n=N,
        repeats=args.rounds,
        clock=time.process_time,
        warmup=1,
    )
    for label, value in medians.items():
        print(f"fresh conversation, ten tools, {label}: {value * 1e6:.1f} µs CPU", flush=True)


if __name__ == "__main__":
    main()

"""Issue 27 A/B: a conversation's own CPU per plain text turn (``Conversation.send``).

``PYTHONPATH=CHECKOUT python3 benchmarks/ab_turn.py [--rounds R]``

Run it from two checkouts one after the other (A B A B ...: each line is one process) and
compare the medians. ``bench_turn``'s conversation (the same settings, tools and reply) with
the client's work taken out: ``create`` hands back a reply parsed before the clock starts, so
no HTTP, no request encoding and no response parsing are counted, only the conversation:

- ``send``: ``Conversation.send`` whole (engine, state, history, drive loop, the request
  path with its retry listener and stop switch);
- ``engine``: ``engine().start(text)`` driven with a world that answers the request directly
  (no request path, no stop switch): what ``send`` adds on top is the driver's.

CPU time (``time.process_time``, GC paused per batch), medians of interleaved rounds.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _payloads as P

from agentloop import Conversation
from agentloop.loop.drive import drive
from agentloop.types import Interaction

TURNS = 100  # per conversation, as bench_turn's batches


class _Interactions:
    def __init__(self) -> None:
        self.replies: list[Interaction] = []

    def create(self, **body: Any) -> Interaction:
        return self.replies.pop()


class _Client:
    """A client whose ``create`` hands out replies parsed beforehand (``_timed``)."""

    def __init__(self) -> None:
        self.interactions = _Interactions()


class _World:
    """Answers the request with the next reply; the turn has no other effect."""

    def __init__(self, replies: Iterator[Interaction]) -> None:
        self.replies = replies

    def request(self, effect: Any, box: list[Interaction]) -> Iterator[Any]:
        box.append(next(self.replies))
        return iter(())

    def perform(self, effect: Any) -> Any:
        raise AssertionError(f"a plain text turn has no {type(effect).__name__}")


def _conversation() -> Conversation:
    return Conversation(_Client(), **P.conversation_settings())  # type: ignore[arg-type]


def _timed(run: Callable[[Conversation, list[Interaction]], None]) -> float:
    """CPU seconds per turn of ``run`` over one conversation of ``TURNS`` turns, the replies
    parsed beforehand."""
    conv = _conversation()
    replies = [Interaction.model_validate_json(P.reply_json()) for _ in range(TURNS)]
    conv.client.interactions.replies = replies  # type: ignore[attr-defined]
    gc.disable()
    try:
        started = time.process_time()
        run(conv, replies)
        return (time.process_time() - started) / TURNS
    finally:
        gc.enable()


def _send(conv: Conversation, replies: list[Interaction]) -> None:
    for _ in range(TURNS):
        conv.send(P.USER)


def _engine(conv: Conversation, replies: list[Interaction]) -> None:
    world = _World(iter(replies))
    for _ in range(TURNS):
        for _event in drive(conv.engine().start(P.USER), world):
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    variants = {"send": _send, "engine": _engine}
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for run in variants.values():
        _timed(run)  # warm up
    for round_ in range(args.rounds):
        for name in list(variants) if round_ % 2 == 0 else list(reversed(variants)):
            samples[name].append(_timed(variants[name]))
    cpu = {name: statistics.median(values) for name, values in samples.items()}
    print(
        f"conversation CPU per plain text turn: send {cpu['send'] * 1e6:.1f} us, "
        f"engine {cpu['engine'] * 1e6:.1f} us (driver {(cpu['send'] - cpu['engine']) * 1e6:.1f} us)"
    )


if __name__ == "__main__":
    main()

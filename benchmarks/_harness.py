"""Timing helpers and the result table shared by every benchmark section.

Method: every figure is a median over ``repeats`` rounds; compared variants run interleaved
(A B A B ...) inside each round, so drift of the machine (CPU frequency, other processes) hits
them alike and cancels out of the ratio.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Row:
    """One line of the table."""

    figure: str
    agentloop: str
    peer: str = ""
    ratio: str = ""
    target: str = ""
    ok: bool | None = None  # None: informational, no target
    note: str = ""
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        if self.ok is None:
            return "info" if not self.note.startswith("skipped") else "skip"
        return "pass" if self.ok else "FAIL"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict
        return data


def us(seconds: float) -> str:
    """Human-readable duration."""
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def per_call(
    fn: Callable[[], Any], n: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Seconds per call of ``fn`` over ``n`` sequential calls (GC paused, as timeit does)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = clock()
        for _ in range(n):
            fn()
        return (clock() - start) / n
    finally:
        if enabled:
            gc.enable()


def interleaved(
    variants: dict[str, Callable[[], Any]],
    *,
    n: int,
    repeats: int,
    clock: Callable[[], float] = time.perf_counter,
    warmup: int = 3,
) -> dict[str, float]:
    """Median seconds per call of each variant, rounds interleaved A B A B."""
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(repeats):
        # Alternate the order too, so neither variant always runs right after the other.
        names = list(variants) if round_ % 2 == 0 else list(reversed(variants))
        for name in names:
            samples[name].append(per_call(variants[name], n, clock))
    return {name: statistics.median(values) for name, values in samples.items()}


def interleaved_batches(
    variants: dict[str, Callable[[int], Any]],
    *,
    n: int,
    repeats: int,
    clock: Callable[[], float] = time.perf_counter,
    warmup: int = 3,
) -> dict[str, float]:
    """Like :func:`interleaved` for callables that run ``n`` calls themselves (async loops)."""
    for batch in variants.values():
        batch(warmup)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(repeats):
        names = list(variants) if round_ % 2 == 0 else list(reversed(variants))
        for name in names:
            enabled = gc.isenabled()
            gc.disable()
            try:
                start = clock()
                variants[name](n)
                samples[name].append((clock() - start) / n)
            finally:
                if enabled:
                    gc.enable()
    return {name: statistics.median(values) for name, values in samples.items()}


def both_clocks(
    variants: dict[str, Callable[[], Any]], *, n: int, repeats: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Wall time and this process's CPU time per call (interleaved, medians)."""
    wall = interleaved(variants, n=n, repeats=repeats)
    cpu = interleaved(variants, n=n, repeats=repeats, clock=time.process_time, warmup=0)
    return wall, cpu


def render(rows: list[Row]) -> str:
    """The markdown table."""
    head = ["figure", "agentloop", "peer", "ratio", "target", "result"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        peer = row.peer or (row.note if row.note.startswith("skipped") else "")
        cells = [row.figure, row.agentloop, peer, row.ratio, row.target, row.verdict]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    notes = [f"- {r.figure}: {r.note}" for r in rows if r.note and not r.note.startswith("skipped")]
    if notes:
        lines += ["", "Notes:", *notes]
    return "\n".join(lines)

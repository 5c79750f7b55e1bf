"""``run.py --compare BASELINE.json``: today's figures beside a committed baseline.

A *gated* row is one with a target. Its comparable number is what the target bounds: a
duration target (``≤ 50 µs``) compares the agentloop figure as a duration (``128.6 µs``), an
added-duration target (``≤ +30 µs``) the row's ``+duration`` (in its figure or note); any other
target compares the ratio when the row has one (``1.24x``, ``23.8x less``), else the agentloop
figure as a duration. The direction comes from the target: ``≤``/``<=`` means lower is
better, ``≥``/``>=`` higher. A gated row that got worse than the baseline by more than
``threshold`` (20 %) is measured again (its whole section) before it is flagged, so one noisy
round does not raise a flag.

A duration depends on the machine's speed at the time, which on a shared machine wanders by
a third within an hour (ratios to a peer measured beside it do not). So each run times a fixed
pure-Python workload (``machine_time``: dicts, strings, json, a dataclass, before and after the
sections) and writes it beside its rows; comparing with a baseline that has one, a compared
*duration* is scaled by the baseline's workload time over this run's before it is compared (a
machine 30 % slower today does not flag every duration row). Ratios are never scaled.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _harness import Row

_NUMBER = re.compile(r"(-?\d+(?:\.\d+)?)\s*x", re.IGNORECASE)
_DURATION = re.compile(r"(-?\d+(?:\.\d+)?)\s*(µs|us|ms|s)\b")
_ADDED = re.compile(r"\+\s*(\d+(?:\.\d+)?\s*(?:µs|us|ms|s)\b)")
_SCALE = {"µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def machine_time(rounds: int = 7) -> float:
    """Seconds this machine takes now for a fixed pure-Python workload (median of ``rounds``):
    the speed reference a run's durations are scaled by when compared."""
    import statistics
    import time
    from dataclasses import dataclass as _dataclass

    @_dataclass
    class Item:
        key: str
        value: int

    payload = {"items": [{"key": f"k{i}", "value": i} for i in range(50)], "text": "é" * 200}

    def work() -> None:
        for _ in range(200):
            data = json.loads(json.dumps(payload))
            items = [Item(d["key"], d["value"]) for d in data["items"]]
            index = {item.key: item.value for item in items}
            "-".join(sorted(index)).upper().split("-")

    work()  # warm-up
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _duration(text: str) -> float | None:
    match = _DURATION.search(text)
    return float(match.group(1)) * _SCALE[match.group(2)] if match else None


def is_duration(row: dict[str, Any]) -> bool:
    """Whether ``comparable(row)`` is a duration (which machine speed moves), not a ratio."""
    target = str(row.get("target") or "")
    if _duration(target) is not None:
        return True
    return not _NUMBER.search(str(row.get("ratio") or ""))


def comparable(row: dict[str, Any]) -> tuple[float, bool] | None:
    """``(value, lower_is_better)`` of a gated row, or ``None`` when it has no number/target."""
    target = str(row.get("target") or "")
    if not target or row.get("verdict") == "skip":
        return None
    lower = target.lstrip().startswith(("≤", "<="))
    higher = target.lstrip().startswith(("≥", ">="))
    if not (lower or higher):
        return None
    if _duration(target) is not None:  # the target bounds a duration, not a ratio
        if "+" in target:
            added = _ADDED.search(f"{row.get('agentloop') or ''} {row.get('note') or ''}")
            return (_duration(added.group(1)) or 0.0, lower) if added else None
        value = _duration(str(row.get("agentloop") or ""))
        return None if value is None else (value, lower)
    ratio = _NUMBER.search(str(row.get("ratio") or ""))
    if ratio is not None:
        return float(ratio.group(1)), lower
    return None  # a ratio target with no ratio measured (a peer skipped): nothing to compare


def worse_by(now: tuple[float, bool], base: tuple[float, bool]) -> float:
    """How much worse ``now`` is than ``base`` (0.25: 25 % worse; negative: better)."""
    value, lower = now
    old = base[0]
    if value <= 0 or old <= 0:
        return 0.0
    return value / old - 1.0 if lower else old / value - 1.0


@dataclass
class Comparison:
    figure: str
    base: str
    now: str
    change: float | None  # worse by (fraction); None: not comparable
    flagged: bool


def load(path: str) -> dict[str, dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return {row["figure"]: row for row in data.get("rows", [])}


def load_machine_time(path: str) -> float | None:
    """The baseline's ``machine_time`` (``None`` for a baseline written before it existed)."""
    with open(path, encoding="utf-8") as fh:
        value = json.load(fh).get("machine_time_s")
    return float(value) if value else None


def _shown(row: dict[str, Any]) -> str:
    """The figure a row is compared by, as shown."""
    target = str(row.get("target") or "")
    if _duration(target) is not None:
        if "+" in target:
            added = _ADDED.search(f"{row.get('agentloop') or ''} {row.get('note') or ''}")
            return f"+{added.group(1)}" if added else str(row.get("agentloop") or "")
        return str(row.get("agentloop") or "")
    return str(row.get("ratio") or row.get("agentloop") or "")


def compare(
    rows: list[Row],
    baseline: dict[str, dict[str, Any]],
    rerun: Callable[[str], list[Row]] | None = None,
    section_of: dict[str, str] | None = None,
    threshold: float = 0.20,
    slower: float = 1.0,
) -> list[Comparison]:
    """Compare ``rows`` with ``baseline``; re-measure a section once before flagging a row.
    ``slower`` is this run's ``machine_time`` over the baseline's: compared durations are
    divided by it first."""

    def value_of(row: dict[str, Any]) -> tuple[float, bool] | None:
        value = comparable(row)
        if value is None or not is_duration(row):
            return value
        return value[0] / slower, value[1]

    current = {row.figure: row.as_dict() for row in rows}
    rerun_done: dict[str, dict[str, dict[str, Any]]] = {}
    out: list[Comparison] = []
    for figure, row in current.items():
        old = baseline.get(figure)
        if old is None:
            out.append(Comparison(figure, "(new)", _shown(row), None, False))
            continue
        now_value, base_value = value_of(row), comparable(old)
        if now_value is None or base_value is None:
            out.append(Comparison(figure, _shown(old), _shown(row), None, False))
            continue
        change = worse_by(now_value, base_value)
        if change > threshold and rerun is not None and section_of is not None:
            section = section_of.get(figure)
            if section is not None:
                if section not in rerun_done:
                    rerun_done[section] = {r.figure: r.as_dict() for r in rerun(section)}
                again = rerun_done[section].get(figure)
                again_value = value_of(again) if again is not None else None
                if again is not None and again_value is not None:
                    second = worse_by(again_value, base_value)
                    if second < change:  # keep the better of the two measurements
                        row, change = again, second
        out.append(Comparison(figure, _shown(old), _shown(row), change, change > threshold))
    return out


def render(
    comparisons: list[Comparison], baseline_path: str, threshold: float = 0.20, slower: float = 1.0
) -> str:
    lines = [
        f"Compared with {baseline_path} (a gated row is flagged when it is more than "
        f"{threshold:.0%} worse, after one re-measurement):",
        "",
    ]
    if slower != 1.0:
        lines += [
            f"This machine runs the reference workload {slower:.2f}x as long as when the baseline "
            "was measured: compared durations are divided by that (ratios are not); the table "
            "shows them as measured.",
            "",
        ]
    lines += [
        "| figure | baseline | now | change | flag |",
        "|---|---|---|---|---|",
    ]
    for c in comparisons:
        change = "" if c.change is None else f"{-c.change:+.0%}"
        flag = "WORSE" if c.flagged else ""
        cells = [c.figure, c.base, c.now, change, flag]
        lines.append("| " + " | ".join(x.replace("|", "/") for x in cells) + " |")
    flagged = [c.figure for c in comparisons if c.flagged]
    lines.append("")
    lines.append(
        f"{len(flagged)} gated figure(s) worse than the baseline by more than {threshold:.0%}"
        + (": " + "; ".join(flagged) if flagged else ".")
    )
    return "\n".join(lines)

"""``benchmarks/run.py --compare``: each gated row is compared by what its target bounds."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def compare_module() -> Any:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import _compare
        import _harness
    finally:
        sys.path.remove(str(BENCHMARKS))
    return _compare, _harness


def row(target: str, agentloop: str, ratio: str = "", note: str = "") -> dict[str, Any]:
    return {"figure": "f", "target": target, "agentloop": agentloop, "ratio": ratio, "note": note}


def test_each_kind_of_target_compares_what_it_bounds(compare_module: Any) -> None:
    compare, _ = compare_module
    assert compare.comparable(row("≤ 1.10x raw httpx", "900 µs", "1.24x")) == (1.24, True)
    assert compare.comparable(row("≥ 25x less", "400 µs", "33.6x less")) == (33.6, False)
    # A duration target: the duration, even when the row also shows a ratio.
    assert compare.comparable(row("≤ 1 ms/case", "904.9 µs", "1.47x")) == (
        pytest.approx(904.9e-6),
        True,
    )
    # An added-duration target: the row's "+duration", from its figure or its note.
    journaled = row("≤ +30 µs", "113.3 µs", "1.78x", note="+49.7 µs per step")
    assert compare.comparable(journaled) == (pytest.approx(49.7e-6), True)
    assert compare._shown(journaled) == "+49.7 µs"
    sub_agent = row("<= +1 ms", "+220.1 µs (1.62 ms vs 1.40 ms a turn)", "1.16x")
    assert compare.comparable(sub_agent) == (pytest.approx(220.1e-6), True)
    assert compare.comparable(row("linear (~10x)", "6.2x")) is None
    assert compare.comparable(row("", "1 ms", "2x")) is None
    # A ratio target whose peer was skipped: no ratio, nothing to compare (not the duration).
    assert compare.comparable(row("≥ 15x less", "97.1 µs")) is None
    assert compare.comparable(row("≤ 1 ms/case", "1 ms") | {"verdict": "skip"}) is None


def test_a_faster_denominator_does_not_flag_an_unchanged_added_cost(compare_module: Any) -> None:
    compare, harness = compare_module
    base = {"j": row("≤ +30 µs", "150 µs", "1.50x", note="+50.0 µs per step") | {"figure": "j"}}
    now = harness.Row("j", "110.0 µs", "", "2.20x", "≤ +30 µs", False, note="+50.0 µs per step")
    (result,) = compare.compare([now], base)
    assert result.change == pytest.approx(0.0) and not result.flagged
    worse = harness.Row("j", "140.0 µs", "", "1.56x", "≤ +30 µs", False, note="+75.0 µs per step")
    (result,) = compare.compare([worse], base)
    assert result.change == pytest.approx(0.5) and result.flagged


def test_durations_are_scaled_by_the_machines_speed_and_ratios_are_not(
    compare_module: Any,
) -> None:
    """On a machine running the reference workload 1.35x as long as when the baseline was
    measured, durations 1.35x the baseline's are not flagged; a ratio that got 35 % worse is."""
    compare, harness = compare_module
    base = {
        "step": row("≤ 50 µs", "60.0 µs") | {"figure": "step"},
        "added": row("≤ +30 µs", "100 µs", "1.5x", note="+40.0 µs per step") | {"figure": "added"},
        "send": row("≤ 1.10x raw httpx", "600 µs", "1.20x") | {"figure": "send"},
    }
    now = [
        harness.Row("step", "81.0 µs", "", "", "≤ 50 µs", False),
        harness.Row("added", "135 µs", "", "1.5x", "≤ +30 µs", False, note="+54.0 µs per step"),
        harness.Row("send", "810 µs", "", "1.62x", "≤ 1.10x raw httpx", False),
    ]
    results = {c.figure: c for c in compare.compare(now, base, slower=1.35)}
    assert results["step"].change == pytest.approx(0.0) and not results["step"].flagged
    assert results["added"].change == pytest.approx(0.0) and not results["added"].flagged
    assert results["send"].change == pytest.approx(0.35) and results["send"].flagged
    # Without the machine's speed (an older baseline), the durations are compared as measured.
    assert {c.figure for c in compare.compare(now, base) if c.flagged} == {"step", "added", "send"}
    text = compare.render(list(results.values()), "baseline.json", slower=1.35)
    assert "1.35x as long" in text


def test_a_baseline_without_a_machine_time_is_compared_as_measured(
    compare_module: Any, tmp_path: Path
) -> None:
    """``run.py`` writes ``machine_time_s`` beside its rows; a baseline written before that
    existed has none, and its durations are compared unscaled (``slower`` stays 1)."""
    compare, _ = compare_module
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text('{"rows": []}', encoding="utf-8")
    new.write_text(f'{{"machine_time_s": {compare.machine_time(rounds=1)}, "rows": []}}')
    assert compare.load_machine_time(str(old)) is None
    assert compare.load_machine_time(str(new)) > 0

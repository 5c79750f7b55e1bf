"""The crash matrix against the real stores: a task loop journaling to SQLite or PostgreSQL is
killed (``os._exit``) at each boundary; a second process loads and ``recover()``s it.

The final history must equal an uncrashed run's (modulo the in-doubt rule: a call that may
have run is run again only when approved), every call is answered exactly once, and no tool
whose result was journaled runs twice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _crash_task import CRASH_POINTS
from _store_workers import StoreSpec

from agentloop.testing import Emulator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

pytestmark = pytest.mark.slow

# Tool runs after crash + recovery, by crash point (approving calls in doubt).
RUNS = {
    "none": ["lookup", "pay"],
    "request-1": ["lookup", "pay"],
    "journal-response-1": ["lookup", "pay"],
    "tool-lookup": ["lookup", "lookup", "pay"],  # idempotent: run again
    "tool-pay": ["lookup", "pay", "pay"],  # in doubt, approved: run again
    "journal-result-pay": ["lookup", "pay", "pay"],
    "request-3": ["lookup", "pay"],  # both results journaled: nothing runs again
}
IN_DOUBT = {"tool-pay", "journal-result-pay"}


def task(
    spec: StoreSpec, conv_id: str, point: str, log: Path, mode: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}
    args = [json.dumps([spec.kind, spec.target, spec.schema]), conv_id, point, str(log), mode]
    return subprocess.run(
        [sys.executable, str(HERE / "_crash_task.py"), *args, *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def shape(history: Any) -> list[tuple[Any, ...]]:
    """A history without ids and signatures that differ from run to run."""
    out: list[tuple[Any, ...]] = []
    for step in history:
        data = step.model_dump(mode="json", exclude_none=True)
        if step.type == "function_call":
            out.append(("call", data["id"], data["name"], json.dumps(data["arguments"])))
        elif step.type == "function_result":
            out.append(
                (
                    "result",
                    data["call_id"],
                    json.dumps(data.get("result")),
                    bool(data.get("is_error")),
                )
            )
        elif step.type in ("user_input", "model_output"):
            out.append((step.type, json.dumps(data.get("content"))))
    return out


def answered_once(history: Any) -> bool:
    calls = [s.id for s in history if s.type == "function_call"]
    results = [s.call_id for s in history if s.type == "function_result"]
    return sorted(calls) == sorted(results) and len(set(results)) == len(results)


@pytest.fixture
def baseline(spec: StoreSpec, tmp_path: Path) -> list[tuple[Any, ...]]:
    log = tmp_path / "baseline.log"
    proc = task(spec, "baseline", "none", log, "run")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"status": "completed"}
    assert log.read_text().split() == RUNS["none"]
    with spec.open() as store:
        return shape(store.load("baseline", client=Emulator().client()).history)


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_crash_then_recover(
    spec: StoreSpec, baseline: list[tuple[Any, ...]], point: str, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    crashed = task(spec, "task", point, log, "run")
    assert crashed.returncode == 137, crashed.stderr  # it died where it was told to
    recovered = task(spec, "task", point, log, "recover")
    assert recovered.returncode == 0, recovered.stderr
    report = json.loads(recovered.stdout)
    assert report["needed"] is True and report["status"] == "completed"
    assert report["in_doubt"] == (["c2"] if point in IN_DOUBT else [])
    assert log.read_text().split() == RUNS[point]
    with spec.open() as store:
        conv = store.load("task", client=Emulator().client())
        stored = store.read("task")
    assert not conv.needs_recovery and answered_once(conv.history)
    assert shape(conv.history) == baseline
    assert stored.version == len(stored.records)


@pytest.mark.parametrize("point", sorted(IN_DOUBT))
def test_a_rejected_call_in_doubt_is_not_run_again(
    spec: StoreSpec, point: str, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    assert task(spec, "task", point, log, "run").returncode == 137
    recovered = task(spec, "task", point, log, "recover", "--reject")
    assert recovered.returncode == 0, recovered.stderr
    assert json.loads(recovered.stdout)["in_doubt"] == ["c2"]
    assert log.read_text().split() == ["lookup", "pay"]  # pay ran once, before the crash
    with spec.open() as store:
        conv = store.load("task", client=Emulator().client())
    results = {s.call_id: s for s in conv.history if s.type == "function_result"}
    assert results["c2"].is_error and answered_once(conv.history)

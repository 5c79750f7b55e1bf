"""Running a dataset against an agent: pass rates, JSON results and baseline comparisons.

The run itself is pydantic-evals' ``Dataset.evaluate`` (concurrency, repeats, evaluators,
report); this module adds the agent task, the judge's client, per-case recordings, and a
summary with a pass/fail per case that CI can gate on and diff against an earlier run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic_evals import Case, Dataset
from pydantic_evals.lifecycle import CaseLifecycle
from pydantic_evals.reporting import EvaluationReport, ReportCase, ReportCaseFailure

from agentloop.agents import Agent
from agentloop.client._base import AsyncClientBase
from agentloop.errors import EvalError

from ._dataset import load_dataset
from ._judge import JUDGE_CLIENT
from ._run import agent_task

__all__ = ["CaseResult", "Comparison", "EvalResult", "aevaluate", "evaluate"]


@dataclass
class CaseResult:
    """One dataset case over its runs (``repeat``).

    Attributes:
        name: The case's name.
        passed: Whether every run passed (every assertion true, no evaluator or task error).
        pass_rate: The fraction of runs that passed.
        runs: How many times the case ran.
        scores: Each score, averaged over the runs.
        assertions: Each assertion: ``True``/``False`` for one run, else the fraction of runs
            in which it held.
        reasons: Why each assertion failed (its reason from the last run where it failed).
        duration: Seconds the task took, averaged over the runs.
        requests: Model requests, averaged over the runs.
        errors: What went wrong in runs that raised, or whose evaluators raised.
    """

    name: str
    passed: bool
    pass_rate: float
    runs: int
    scores: dict[str, float] = field(default_factory=dict)
    assertions: dict[str, bool | float] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    duration: float = 0.0
    requests: int | float = 0
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The case as a JSON-able dict (the ``cases`` entries of ``--json``)."""
        data: dict[str, Any] = {
            "name": self.name,
            "passed": self.passed,
            "pass_rate": self.pass_rate,
            "runs": self.runs,
            "scores": self.scores,
            "assertions": self.assertions,
            "duration": round(self.duration, 6),
            "requests": self.requests,
        }
        if self.reasons:
            data["reasons"] = self.reasons
        if self.errors:
            data["errors"] = self.errors
        return data


def _run_passed(run: ReportCase[Any, Any, Any]) -> bool:
    return not run.evaluator_failures and all(a.value for a in run.assertions.values())


def _mean(values: Sequence[float]) -> float:
    mean = sum(values) / len(values) if values else 0.0
    return int(mean) if mean.is_integer() else mean


_NO_MATCH = "CannotOverwriteExistingCassetteException"


def _error_text(message: str) -> str:
    """A run's error for the report: a replay that found no recording of a request says what
    to do in a line (vcrpy's own advice speaks of its Python options)."""
    if not message.startswith(_NO_MATCH):
        return message
    first = message.split("\n", 1)[0][len(_NO_MATCH) + 2 :]
    return (
        f"a request is not in the case's recording ({first}) If the case or the agent changed "
        "on purpose, delete the case's cassette file and run once with GEMINI_API_KEY set to "
        "record it again"
    )


def _summarise(
    name: str,
    runs: Sequence[ReportCase[Any, Any, Any]],
    failures: Sequence[ReportCaseFailure[Any, Any, Any]],
) -> CaseResult:
    total = len(runs) + len(failures)
    passed_runs = sum(1 for r in runs if _run_passed(r))
    scores: dict[str, list[float]] = {}
    asserts: dict[str, list[bool]] = {}
    reasons: dict[str, str] = {}
    errors = [_error_text(f.error_message) for f in failures]
    for run in runs:
        for key, score in run.scores.items():
            scores.setdefault(key, []).append(float(score.value))
        for key, result in run.assertions.items():
            asserts.setdefault(key, []).append(bool(result.value))
            if not result.value and result.reason:
                reasons[key] = result.reason
        errors += [f"{e.name}: {e.error_message}" for e in run.evaluator_failures]
    assertions: dict[str, bool | float] = {
        key: (values[0] if total == 1 else _mean([float(v) for v in values]))
        for key, values in asserts.items()
    }
    return CaseResult(
        name=name,
        passed=passed_runs == total,
        pass_rate=passed_runs / total if total else 0.0,
        runs=total,
        scores={key: _mean(values) for key, values in scores.items()},
        assertions=assertions,
        reasons=reasons,
        duration=_mean([r.task_duration for r in runs]),
        requests=_mean([float(r.metrics.get("requests", 0)) for r in runs]),
        errors=errors,
    )


@dataclass
class Comparison:
    """What changed between a baseline run and this one (``EvalResult.compare``).

    Attributes:
        better: One line per improvement (a case that now passes, a higher pass rate or score,
            fewer requests).
        worse: One line per regression.
        pass_rate: ``(baseline, now)`` overall pass rates.
    """

    better: list[str]
    worse: list[str]
    pass_rate: tuple[float, float]

    def lines(self) -> list[str]:
        """The comparison as printable lines."""
        before, now = self.pass_rate
        out = [f"pass rate: {before:.0%} -> {now:.0%} ({now - before:+.0%})"]
        out += [f"  better: {line}" for line in self.better]
        out += [f"  worse:  {line}" for line in self.worse]
        if not self.better and not self.worse:
            out.append("  no case changed")
        return out


def _delta(name: str, what: str, old: float, new: float, higher_is_better: bool) -> tuple[int, str]:
    if abs(new - old) < 1e-9:
        return 0, ""
    sign = 1 if (new > old) == higher_is_better else -1
    return sign, f"{name}: {what} {old:g} -> {new:g}"


@dataclass
class EvalResult:
    """The outcome of ``evaluate``: the pydantic-evals report and a result per case.

    Attributes:
        report: pydantic-evals' ``EvaluationReport`` (``report.print()`` renders its table).
        cases: One :class:`CaseResult` per dataset case, in dataset order.
    """

    report: EvaluationReport[Any, Any, Any]
    cases: list[CaseResult]

    @property
    def pass_rate(self) -> float:
        """The fraction of all runs (every case, every repeat) that passed."""
        runs = sum(c.runs for c in self.cases)
        return sum(c.pass_rate * c.runs for c in self.cases) / runs if runs else 0.0

    @property
    def passed(self) -> bool:
        """Whether every run of every case passed."""
        return all(c.passed for c in self.cases)

    def to_json(self) -> dict[str, Any]:
        """``{"cases": [{"name", "passed", "scores", "assertions", "duration", "requests",
        ...}], "pass_rate"}``."""
        return {
            "name": self.report.name,
            "cases": [c.to_json() for c in self.cases],
            "pass_rate": self.pass_rate,
        }

    def write_json(self, path: str | Path) -> None:
        """Write :meth:`to_json` to ``path``."""
        Path(path).write_text(json.dumps(self.to_json(), indent=2, default=str) + "\n")

    def compare(self, baseline: dict[str, Any] | str | Path) -> Comparison:
        """What got better or worse since ``baseline`` (an earlier ``to_json()`` or its file)."""
        if not isinstance(baseline, dict):
            baseline = read_results(baseline)
        old_cases = {c["name"]: c for c in baseline.get("cases", []) if isinstance(c, dict)}
        better: list[str] = []
        worse: list[str] = []
        for case in self.cases:
            old = old_cases.pop(case.name, None)
            if old is None:
                (better if case.passed else worse).append(
                    f"{case.name}: new case, {'passes' if case.passed else 'fails'}"
                )
                continue
            was = bool(old.get("passed"))
            if was != case.passed:
                (better if case.passed else worse).append(
                    f"{case.name}: {'now passes' if case.passed else 'now fails'}"
                )
            changes = [
                _delta(
                    case.name, "pass rate", float(old.get("pass_rate", was)), case.pass_rate, True
                )
                if was == case.passed
                else (0, "")
            ]
            old_asserts = old.get("assertions", {})
            for key, now in case.assertions.items():
                if key not in old_asserts or float(old_asserts[key]) == float(now):
                    continue
                if isinstance(now, bool) and isinstance(old_asserts[key], bool):
                    changes.append(
                        (
                            1 if now else -1,
                            f"{case.name}: {key} {'now holds' if now else 'now fails'}",
                        )
                    )
                else:
                    changes.append(
                        _delta(case.name, f"{key} pass rate", float(old_asserts[key]), now, True)
                    )
            for key, value in case.scores.items():
                if key in old.get("scores", {}):
                    changes.append(_delta(case.name, key, float(old["scores"][key]), value, True))
            changes.append(
                _delta(case.name, "requests", float(old.get("requests", 0)), case.requests, False)
            )
            for sign, line in changes:
                if sign > 0:
                    better.append(line)
                elif sign < 0:
                    worse.append(line)
        for name in old_cases:
            worse.append(f"{name}: case missing (it was in the baseline)")
        return Comparison(better, worse, (float(baseline.get("pass_rate", 0.0)), self.pass_rate))


def read_results(path: str | Path) -> dict[str, Any]:
    """Read an ``EvalResult`` JSON file (``--json``/``--baseline``); ``EvalError`` if unusable."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalError(f"{path}: no such results file") from None
    except json.JSONDecodeError as exc:
        raise EvalError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise EvalError(f"{path}: not eval results (expected {{'cases': [...], 'pass_rate'}})")
    _check_results(path, data)
    return data


def _number(value: Any) -> bool:
    return isinstance(value, (int, float))  # (a bool is an int: an assertion's pass)


def _check_results(path: Path, data: dict[str, Any]) -> None:
    """What ``compare`` reads of a results file has the types ``write_json`` gives it."""
    if not _number(data.get("pass_rate", 0.0)):
        raise EvalError(f"{path}: pass_rate is {data['pass_rate']!r}, not a number")
    for i, case in enumerate(data["cases"]):
        where = f"{path}: cases[{i}]"
        if not isinstance(case, dict) or not isinstance(case.get("name"), str):
            raise EvalError(f"{where}: not a case result (an object with a 'name' str)")
        where += f" ({case['name']!r})"
        for key in ("pass_rate", "requests"):
            if key in case and not _number(case[key]):
                raise EvalError(f"{where} {key}: {case[key]!r} is not a number")
        for key in ("assertions", "scores"):
            found = case.get(key, {})
            if not isinstance(found, dict):
                raise EvalError(f"{where} {key}: {found!r} is not an object of numbers")
            for name, value in found.items():
                if not _number(value):
                    raise EvalError(
                        f"{where} {key}.{name}: {value!r} is not true, false or a number"
                    )


def cassette_files(dataset: Dataset[Any, Any, Any], directory: str | Path) -> dict[int, Path]:
    """The recording of each case (keyed by ``id(case)``): ``DIR/<case name>.yaml``, the name
    made safe for a file name (and numbered when two cases would share one)."""
    files: dict[int, Path] = {}
    used: set[str] = set()
    for i, case in enumerate(dataset.cases, 1):
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", case.name or f"Case {i}").strip("-.") or "case"
        stem, n = base, 1
        while stem in used:
            n += 1
            stem = f"{base}-{n}"
        used.add(stem)
        files[id(case)] = Path(directory) / f"{stem}.yaml"
    return files


def _cassette_lifecycle(files: dict[int, Path]) -> Any:
    """A pydantic-evals lifecycle playing each case's cassette around its task and evaluators
    (every repeat of a case replays the one recording)."""
    from agentloop.testing.recordings import use_cassette

    class Recorded(CaseLifecycle[Any, Any, Any]):
        def __init__(self, case: Case[Any, Any, Any]) -> None:
            super().__init__(case)
            self._cm: Any = None

        async def setup(self) -> None:
            self._cm = use_cassette(files[id(self.case)])
            self._cm.__enter__()

        async def teardown(self, result: Any) -> None:
            if self._cm is not None:
                self._cm.__exit__(None, None, None)

    return Recorded


def _group(report: EvaluationReport[Any, Any, Any], order: list[str]) -> list[CaseResult]:
    runs: dict[str, list[ReportCase[Any, Any, Any]]] = {}
    fails: dict[str, list[ReportCaseFailure[Any, Any, Any]]] = {}
    for case in report.cases:
        runs.setdefault(case.source_case_name or case.name, []).append(case)
    for failure in report.failures:
        fails.setdefault(failure.source_case_name or failure.name, []).append(failure)
    names = [n for n in order if n in runs or n in fails]
    names += [n for n in [*runs, *fails] if n not in names]
    return [_summarise(n, runs.get(n, []), fails.get(n, [])) for n in names]


async def aevaluate(
    dataset: Dataset[Any, Any, Any] | str | Path,
    target: Any,
    *,
    client: Any = None,
    judge_client: Any = None,
    max_concurrency: int | None = None,
    repeat: int = 1,
    cassettes: str | Path | None = None,
    name: str | None = None,
    progress: bool = False,
) -> EvalResult:
    """Run every case of ``dataset`` (a ``Dataset`` or a dataset file) against ``target``.

    ``target``: an ``Agent``, a conversation factory or a callable (see ``agent_task``); each
    case runs in a fresh conversation on ``client``. ``max_concurrency`` cases run at once
    (default: all); ``repeat`` runs each case that many times (its ``pass_rate`` is the
    fraction that passed). ``Judge`` evaluators without a client of their own use
    ``judge_client`` (default: ``client``). ``cassettes``: a directory with one recording per
    case: a case without one is recorded (live), a case with one is replayed offline, its
    judge calls included (repeats replay the same recording); cases then run one at a time
    (vcrpy patches the HTTP layer for the whole process).
    """
    if isinstance(dataset, (str, Path)):
        dataset = load_dataset(dataset)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise EvalError(f"repeat must be a whole number >= 1, not {repeat!r}")
    if max_concurrency is not None and (
        isinstance(max_concurrency, bool)
        or not isinstance(max_concurrency, int)
        or max_concurrency < 1
    ):
        raise EvalError(f"max_concurrency must be a whole number >= 1, not {max_concurrency!r}")
    names = [c.name or f"Case {i}" for i, c in enumerate(dataset.cases, 1)]
    twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if twice is not None:  # (their runs would be counted as one case's)
        raise EvalError(
            f"two cases of dataset {dataset.name!r} are named {twice!r} (a case without a "
            "name is called 'Case N' after its place); give each case its own name"
        )
    own = None
    if client is None and isinstance(target, Agent):
        from agentloop.client import AsyncClient

        # The agent's client (and the judges'), from GEMINI_API_KEY: closed at the end.
        client = own = AsyncClient()
    task = agent_task(target, client=client)
    lifecycle = None
    if cassettes is not None:
        Path(cassettes).mkdir(parents=True, exist_ok=True)
        lifecycle = _cassette_lifecycle(cassette_files(dataset, cassettes))
        max_concurrency = 1
    token = JUDGE_CLIENT.set(judge_client if judge_client is not None else client)
    try:
        report = await dataset.evaluate(
            task,
            name=name or dataset.name,
            max_concurrency=max_concurrency,
            progress=progress,
            repeat=repeat,
            lifecycle=lifecycle,
        )
    finally:
        JUDGE_CLIENT.reset(token)
        if own is not None:
            await own.close()
    return EvalResult(report, _group(report, names))


def evaluate(
    dataset: Dataset[Any, Any, Any] | str | Path,
    target: Any,
    *,
    client: Any = None,
    judge_client: Any = None,
    max_concurrency: int | None = None,
    repeat: int = 1,
    cassettes: str | Path | None = None,
    name: str | None = None,
    progress: bool = False,
) -> EvalResult:
    """``aevaluate`` from synchronous code (runs its own event loop)."""
    import anyio

    async def main() -> EvalResult:
        try:
            return await aevaluate(
                dataset,
                target,
                client=client,
                judge_client=judge_client,
                max_concurrency=max_concurrency,
                repeat=repeat,
                cassettes=cassettes,
                name=name,
                progress=progress,
            )
        finally:
            # This loop ends here: the connections the caller's clients opened in it go too
            # (the clients themselves go on working, in the next loop, on new ones).
            for given in (client, judge_client):
                if isinstance(given, AsyncClientBase):
                    await given._leave_loop()

    return anyio.run(main)

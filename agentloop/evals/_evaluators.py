"""Evaluators that read what an agent did: its tool calls, requests, tokens and output.

They are pydantic-evals ``Evaluator`` dataclasses, so they work in ``Dataset(evaluators=...)``,
in ``Case(evaluators=...)`` and, by name, in YAML/JSON dataset files loaded with
``agentloop.evals.load_dataset``. Each returns a pass/fail assertion with a reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic_evals.evaluators import EvaluationReason, Evaluator, EvaluatorContext

from agentloop.errors import EvalError

from ._run import CaseRun, case_run

__all__ = [
    "MaxRequests",
    "MaxTokens",
    "NoToolErrors",
    "OutputMatches",
    "ToolCalled",
    "ToolTrajectory",
]

TrajectoryOrder = Literal["exact", "in_order", "any_order"]
_ORDERS = ("exact", "in_order", "any_order")
_NO_RUN = (
    "the task returned no agentloop Turn, so there is no history to check (evaluate an Agent, "
    "a conversation factory, or a function returning the Turn)"
)


def _subset(expected: Any, actual: Any) -> bool:
    """Whether ``expected`` is contained in ``actual``: dict keys recursively, else equality."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _subset(v, actual[k]) for k, v in expected.items()
        )
    return bool(expected == actual)


def _call_text(name: str, args: dict[str, Any] | None) -> str:
    if not args:
        return name
    return f"{name}({json.dumps(args, sort_keys=True, default=str)})"


def _calls_text(run: CaseRun) -> str:
    calls = [_call_text(c.name, c.arguments) for c in run.tool_calls]
    calls += [_call_text(c.name, c.arguments) + " (awaiting approval)" for c in run.pending]
    return ", ".join(calls) if calls else "no tool calls"


def _non_negative(owner: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EvalError(f"{owner} needs a whole number >= 0, not {value!r}")


@dataclass(frozen=True)
class _Expected:
    name: str
    args: dict[str, Any] | None

    def matches(self, name: str, args: dict[str, Any]) -> bool:
        return name == self.name and (self.args is None or _subset(self.args, args))

    def __str__(self) -> str:
        return _call_text(self.name, self.args)


def _expected(item: Any, where: str) -> _Expected:
    if isinstance(item, str):
        return _Expected(item, None)
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        args = item.get("args", item.get("arguments"))
        if args is not None and not isinstance(args, dict):
            raise EvalError(f"{where}: args of {item['name']!r} must be a mapping, not {args!r}")
        extra = set(item) - {"name", "args", "arguments"}
        if extra:
            raise EvalError(f"{where}: unknown key {sorted(extra)[0]!r} (expected name, args)")
        return _Expected(item["name"], args)
    raise EvalError(f"{where}: a call is a tool name or {{name: ..., args: {{...}}}}, not {item!r}")


@dataclass(repr=False)
class ToolCalled(Evaluator[object, object, object]):
    """Passes when the model called the tool ``name`` (with ``args`` a subset of the call's
    arguments, when given), at least once."""

    name: str
    args: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        _expected({"name": self.name, "args": self.args}, "ToolCalled")

    def evaluate(self, ctx: EvaluatorContext[object, object, object]) -> EvaluationReason:
        """Pass or fail, with the reason (the calls made, when it fails)."""
        run = case_run(ctx)
        if run is None:
            return EvaluationReason(False, _NO_RUN)
        want = _Expected(self.name, self.args)
        if any(want.matches(c.name, c.arguments) for c in run.asked):
            return EvaluationReason(True, f"called {want}")
        return EvaluationReason(
            False, f"expected a call {want}; the calls were: {_calls_text(run)}"
        )


@dataclass(repr=False)
class ToolTrajectory(Evaluator[object, object, object]):
    """Passes when the tool calls follow ``calls``.

    ``calls`` are tool names or ``{name, args}`` mappings (``args`` a subset of the call's
    arguments). ``order``: ``"exact"`` (these calls and no others, in this order),
    ``"in_order"`` (these calls in this order, other calls allowed between them) or
    ``"any_order"`` (each of these calls, in any order, other calls allowed).
    """

    calls: list[Any]
    order: TrajectoryOrder = "in_order"

    def __post_init__(self) -> None:
        if not isinstance(self.calls, list):
            raise EvalError(f"ToolTrajectory calls must be a list, not {self.calls!r}")
        if self.order not in _ORDERS:
            raise EvalError(
                f"ToolTrajectory order must be one of {', '.join(_ORDERS)}, not {self.order!r}"
            )
        self._expected()

    def _expected(self) -> list[_Expected]:
        return [_expected(c, f"ToolTrajectory calls[{i}]") for i, c in enumerate(self.calls)]

    def evaluate(self, ctx: EvaluatorContext[object, object, object]) -> EvaluationReason:
        """Pass or fail, with the reason (the calls made, when it fails)."""
        run = case_run(ctx)
        if run is None:
            return EvaluationReason(False, _NO_RUN)
        actual = [(c.name, c.arguments) for c in run.asked]
        want = self._expected()
        wanted = ", ".join(map(str, want)) or "no calls"
        if self.order == "exact":
            ok = len(actual) == len(want) and all(
                w.matches(n, a) for w, (n, a) in zip(want, actual, strict=True)
            )
        elif self.order == "in_order":
            i = 0
            for n, a in actual:
                if i < len(want) and want[i].matches(n, a):
                    i += 1
            ok = i == len(want)
        else:
            free = list(actual)
            ok = True
            for w in want:
                hit = next((k for k, (n, a) in enumerate(free) if w.matches(n, a)), None)
                if hit is None:
                    ok = False
                    break
                free.pop(hit)
        if ok:
            return EvaluationReason(True, f"{self.order}: {wanted}")
        return EvaluationReason(
            False, f"expected ({self.order}) {wanted}; the calls were: {_calls_text(run)}"
        )


@dataclass(repr=False)
class NoToolErrors(Evaluator[object, object, object]):
    """Passes when no tool call ended in an error (raised, invalid arguments, unknown tool,
    rejected, timed out)."""

    def evaluate(self, ctx: EvaluatorContext[object, object, object]) -> EvaluationReason:
        """Pass or fail, with the reason (the calls made, when it fails)."""
        run = case_run(ctx)
        if run is None:
            return EvaluationReason(False, _NO_RUN)
        errors = [c for c in run.tool_calls if c.is_error]
        if not errors:
            return EvaluationReason(True, f"{len(run.tool_calls)} tool call(s), no errors")
        shown = "; ".join(f"{c.name}: {c.error or 'error'}" for c in errors[:3])
        return EvaluationReason(False, f"{len(errors)} tool call(s) failed: {shown}")


@dataclass(repr=False)
class MaxRequests(Evaluator[object, object, object]):
    """Passes when the case made at most ``n`` model requests (each tool round trip is one)."""

    n: int

    def __post_init__(self) -> None:
        _non_negative("MaxRequests", self.n)

    def evaluate(self, ctx: EvaluatorContext[object, object, object]) -> EvaluationReason:
        """Pass or fail, with the reason (the calls made, when it fails)."""
        run = case_run(ctx)
        if run is None:
            return EvaluationReason(False, _NO_RUN)
        return EvaluationReason(run.requests <= self.n, f"{run.requests} request(s), max {self.n}")


@dataclass(repr=False)
class MaxTokens(Evaluator[object, object, object]):
    """Passes when the case used at most ``n`` tokens in all (input and output)."""

    n: int

    def __post_init__(self) -> None:
        _non_negative("MaxTokens", self.n)

    def evaluate(self, ctx: EvaluatorContext[object, object, object]) -> EvaluationReason:
        """Pass or fail, with the reason (the calls made, when it fails)."""
        run = case_run(ctx)
        if run is None:
            return EvaluationReason(False, _NO_RUN)
        used = run.total_tokens
        return EvaluationReason(used <= self.n, f"{used} token(s), max {self.n}")


@dataclass(repr=False)
class OutputMatches(Evaluator[object, object, object]):
    """Passes when the regular expression ``pattern`` is found in the output text
    (``re.search``; a structured output is matched as its JSON)."""

    pattern: str

    def __post_init__(self) -> None:
        if not isinstance(self.pattern, str):
            raise EvalError(f"OutputMatches needs a pattern string, not {self.pattern!r}")
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise EvalError(f"OutputMatches pattern {self.pattern!r} is invalid: {exc}") from None

    def evaluate(self, ctx: EvaluatorContext[object, object, object]) -> EvaluationReason:
        """Pass or fail, with the reason (the calls made, when it fails)."""
        run = case_run(ctx)
        text = run.output_text if run is not None else CaseRun(output=ctx.output).output_text
        if re.search(self.pattern, text):
            return EvaluationReason(True, f"matches /{self.pattern}/")
        shown = text if len(text) <= 120 else text[:117] + "..."
        return EvaluationReason(False, f"/{self.pattern}/ not found in {shown!r}")

"""Loading YAML/JSON dataset files with the agentloop evaluators registered.

pydantic-evals reads the file (``Dataset.from_dict``); this module first checks it so that a
mistake is reported in one line naming the file and the place (``cases[2] 'paris'
evaluators[1]``), as ``EvalError``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_evals import Dataset
from pydantic_evals.evaluators import Evaluator
from pydantic_evals.evaluators.common import DEFAULT_EVALUATORS
from pydantic_evals.evaluators.spec import EvaluatorSpec

from agentloop.errors import EvalError

from ._evaluators import (
    MaxRequests,
    MaxTokens,
    NoToolErrors,
    OutputMatches,
    ToolCalled,
    ToolTrajectory,
)
from ._judge import Judge

__all__ = ["EVALUATORS", "load_dataset", "registry"]

EVALUATORS: tuple[type[Evaluator[Any, Any, Any]], ...] = (
    ToolCalled,
    ToolTrajectory,
    NoToolErrors,
    MaxRequests,
    MaxTokens,
    OutputMatches,
    Judge,
)
"""The agentloop evaluators, registered for dataset files (next to pydantic-evals' own)."""


def registry(custom: Sequence[type[Evaluator[Any, Any, Any]]] = ()) -> dict[str, type[Any]]:
    """Evaluator name -> class: pydantic-evals' defaults, agentloop's, then ``custom``."""
    return {
        cls.get_serialization_name(): cls for cls in (*DEFAULT_EVALUATORS, *EVALUATORS, *custom)
    }


def _parse(path: Path, text: str) -> Any:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise EvalError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise EvalError(f"{path}{where}: not valid YAML: {problem}") from None


class _Locator:
    """``FILE:LINE`` of a place in a YAML dataset (just ``FILE`` for JSON)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.root: Any = None
        if path.suffix.lower() != ".json":
            import yaml

            try:
                self.root = yaml.compose(text, Loader=yaml.SafeLoader)
            except yaml.YAMLError:
                self.root = None

    def __call__(self, *parts: str | int) -> str:
        import yaml

        node = self.root
        if node is None:
            return str(self.path)
        for part in parts:
            found = None
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                found = next((v for k, v in node.value if k.value == part), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                found = node.value[part] if part < len(node.value) else None
            if found is None:
                break
            node = found
        return f"{self.path}:{node.start_mark.line + 1}"


def _case_place(index: int, case: Any) -> str:
    name = case.get("name") if isinstance(case, dict) else None
    return f"cases[{index}]" + (f" {name!r}" if name else "")


def _check_evaluators(
    at: _Locator, parts: tuple[str | int, ...], place: str, specs: Any, known: dict[str, type[Any]]
) -> None:
    if specs is None:
        return
    if not isinstance(specs, list):
        raise EvalError(
            f"{at(*parts, 'evaluators')}: {place} evaluators: expected a list, not "
            f"{type(specs).__name__}"
        )
    for i, raw in enumerate(specs):
        where = f"{place} evaluators[{i}]"
        path = at(*parts, "evaluators", i)
        try:
            spec = EvaluatorSpec.model_validate(raw)
        except ValidationError:
            raise EvalError(
                f"{path}: {where}: an evaluator is a name or {{Name: argument}} or "
                f"{{Name: {{keyword: value}}}}, not {raw!r}"
            ) from None
        cls = known.get(spec.name)
        if cls is None:
            raise EvalError(
                f"{path}: {where}: unknown evaluator {spec.name!r}; known: {', '.join(known)}"
            )
        try:
            cls(*spec.args, **spec.kwargs)
        except EvalError as exc:
            raise EvalError(f"{path}: {where}: {exc}") from None
        except TypeError as exc:
            raise EvalError(f"{path}: {where}: bad arguments for {spec.name}: {exc}") from None


def _located(at: _Locator, data: dict[str, Any], exc: ValidationError) -> EvalError:
    err = exc.errors()[0]
    loc = [p for p in err["loc"] if isinstance(p, (str, int))]
    place = ".".join(str(p) for p in loc) or "top level"
    if len(loc) >= 2 and loc[0] == "cases" and isinstance(loc[1], int):
        case = data["cases"][loc[1]]
        rest = ".".join(str(p) for p in loc[2:])
        place = _case_place(loc[1], case) + (f" {rest}" if rest else "")
    return EvalError(f"{at(*loc)}: {place}: {err['msg']}")


def load_dataset(
    path: str | Path, *, custom_evaluators: Sequence[type[Evaluator[Any, Any, Any]]] = ()
) -> Dataset[Any, Any, Any]:
    """Load a YAML (``.yaml``/``.yml``) or JSON dataset file (pydantic-evals' format) whose
    evaluators may be agentloop's, pydantic-evals' or ``custom_evaluators``.

    Raises ``EvalError`` (one line: file, place, problem) for a missing or malformed file,
    an unknown evaluator or bad evaluator arguments.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvalError(f"{path}: no such dataset file") from None
    except OSError as exc:
        raise EvalError(f"{path}: cannot read the dataset: {exc.strerror or exc}") from None
    data = _parse(path, text)
    if not isinstance(data, dict) or "cases" not in data:
        raise EvalError(
            f"{path}: a dataset is a mapping with a 'cases' list (and optional "
            "'name' and 'evaluators')"
        )
    cases = data["cases"]
    if not isinstance(cases, list):
        raise EvalError(f"{path}: cases: expected a list, not {type(cases).__name__}")
    known = registry(custom_evaluators)
    at = _Locator(path, text)
    _check_evaluators(at, (), "dataset", data.get("evaluators"), known)
    seen: set[str] = set()
    for i, case in enumerate(cases):
        if not isinstance(case, dict):
            raise EvalError(
                f"{at('cases', i)}: cases[{i}]: a case is a mapping with 'inputs', not {case!r}"
            )
        if "inputs" not in case:
            raise EvalError(f"{at('cases', i)}: {_case_place(i, case)}: the case has no 'inputs'")
        name = case.get("name")
        if name is not None and name in seen:
            raise EvalError(
                f"{at('cases', i)}: {_case_place(i, case)}: a second case with this name"
            )
        if name is not None:
            seen.add(str(name))
        _check_evaluators(at, ("cases", i), _case_place(i, case), case.get("evaluators"), known)
    try:
        dataset: Dataset[Any, Any, Any] = Dataset[Any, Any, Any].from_dict(
            data,
            custom_evaluator_types=[*EVALUATORS, *custom_evaluators],
            default_name=path.stem,
        )
        return dataset
    except ValidationError as exc:
        raise _located(at, data, exc) from None
    except (ValueError, TypeError) as exc:
        raise EvalError(f"{path}: {str(exc).splitlines()[0]}") from None

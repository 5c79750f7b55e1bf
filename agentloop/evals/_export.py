"""A dataset case from a real session: its input, final output and tool trajectory."""

from __future__ import annotations

from typing import Any

from agentloop.errors import EvalError

__all__ = ["add_case", "export_case"]


def _input_of(step: Any) -> Any:
    content = step.content
    if isinstance(content, str):
        return content
    blocks = content or []
    if all(getattr(b, "type", None) == "text" for b in blocks):
        return "\n".join(b.text for b in blocks)
    return [b.model_dump(mode="json", exclude_none=True) for b in blocks]


def export_case(history: Any, *, name: str, order: str = "in_order") -> dict[str, Any]:
    """A dataset case (the dict form of a YAML/JSON dataset file's ``cases`` entry) from a
    conversation (or its ``history``): the user's input (``{"turns": [...]}`` when the
    session has several), the final output as ``expected_output``, and a ``ToolTrajectory``
    of every function call with its arguments."""
    from agentloop.types import FunctionCallStep, UserInputStep, output_text_of

    steps = list(getattr(history, "history", history))
    inputs = [_input_of(s) for s in steps if isinstance(s, UserInputStep)]
    if not inputs:
        raise EvalError(f"session {name!r} has no user input to make a case of")
    calls = [
        {"name": s.name, "args": dict(s.arguments)} if s.arguments else {"name": s.name}
        for s in steps
        if isinstance(s, FunctionCallStep)
    ]
    case: dict[str, Any] = {
        "name": name,
        "inputs": inputs[0] if len(inputs) == 1 else {"turns": inputs},
    }
    output = output_text_of(steps)
    if output:
        case["expected_output"] = output
    trajectory: dict[str, Any] = {"calls": calls}
    if order != "in_order":
        trajectory["order"] = order
    case["evaluators"] = [{"ToolTrajectory": trajectory}]
    return case


def add_case(path: Any, case: dict[str, Any]) -> str:
    """Add ``case`` to the dataset file ``path`` (YAML or JSON, by its suffix; created when
    missing), replacing a case of the same name; ``"added"`` or ``"replaced"``.

    The file keeps its format. A YAML file whose ``cases`` list comes last gets the new case
    appended as text, so its comments and layout stay; otherwise it is written anew. Raises
    ``EvalError`` (nothing written) for a file that is not a dataset or cannot be written."""
    import json
    from pathlib import Path

    import yaml

    from ._dataset import _parse

    path = Path(path)
    is_json = path.suffix.lower() == ".json"
    if not is_json and path.suffix.lower() not in (".yaml", ".yml"):
        raise EvalError(f"{path}: a dataset file ends in .yaml, .yml or .json")
    text: str | None = None
    data: Any = {"cases": []}
    try:
        if path.exists():
            text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EvalError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if text is not None and text.strip():
        data = _parse(path, text)
        if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
            raise EvalError(
                f"{path}: not a dataset file (a mapping with a 'cases' list); nothing was "
                "written: give a dataset file, or a new file name"
            )
    cases = data["cases"]
    replaced = any(isinstance(c, dict) and c.get("name") == case["name"] for c in cases)
    data["cases"] = [
        *(c for c in cases if not (isinstance(c, dict) and c.get("name") == case["name"])),
        case,
    ]
    new: str | None = None
    if is_json:
        new = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    elif text and not replaced:
        new = _appended(text, data, case)
    if new is None:
        new = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new, encoding="utf-8")
    except OSError as exc:
        raise EvalError(f"{path}: cannot write it: {exc.strerror or exc}") from None
    return "replaced" if replaced else "added"


def _appended(text: str, data: dict[str, Any], case: dict[str, Any]) -> str | None:
    """``text`` with ``case`` appended to its ``cases`` list as YAML text (the rest of the
    file as it was), or ``None`` when that cannot be done safely."""
    import re

    import yaml

    if list(data)[-1] != "cases" or not data["cases"][:-1]:
        return None
    items = re.findall(r"^( *)- ", text.split("\ncases:", 1)[-1], flags=re.MULTILINE)
    indent = items[0] if items else ""
    block = yaml.safe_dump([case], sort_keys=False, allow_unicode=True)
    lines = [indent + line if line else line for line in block.splitlines()]
    new = text.rstrip("\n") + "\n" + "\n".join(lines) + "\n"
    try:
        if yaml.safe_load(new) != data:  # the list goes on as it looked: check, never guess
            return None
    except yaml.YAMLError:
        return None
    return new

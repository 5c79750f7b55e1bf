"""A dataset case from a real session: its input, final output and tool trajectory."""

from __future__ import annotations

from typing import Any

from agentloop.errors import EvalError

__all__ = ["export_case"]


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

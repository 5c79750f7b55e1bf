"""Printing loop events for people (``Printer``) and turns for programs (``turn_to_json``)."""

from __future__ import annotations

import json
import logging
from typing import Any, TextIO

__all__ = [
    "Printer",
    "branch_lines",
    "call_text",
    "log_event",
    "plain",
    "short",
    "step_line",
    "turn_line",
    "turn_to_json",
]

log = logging.getLogger("agentloop.cli")

_MAX = 200


def plain(value: Any) -> Any:
    """``value`` with wire models (also inside lists and dicts) turned into JSON data."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def short(value: Any, limit: int = _MAX) -> str:
    """One line, at most ``limit`` characters, for a tool argument or result."""
    value = plain(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def call_text(call: Any) -> str:
    """``name(a='x', b=2)`` for a function call step."""
    args = ", ".join(f"{k}={v!r}" for k, v in (call.arguments or {}).items())
    return short(f"{call.name}({args})")


class Printer:
    """Writes a turn as it happens: streamed text, then one line per tool call and result."""

    def __init__(self, out: TextIO, *, indent: str = "  ", text_prefix: str = "") -> None:
        self.out = out
        self.indent = indent
        # Written before each run of streamed text (e.g. "model> ").
        self.text_prefix = text_prefix
        self._mid_line = False

    def line(self, text: str) -> None:
        self.end_line()
        self.out.write(text + "\n")
        self.out.flush()

    def end_line(self) -> None:
        if self._mid_line:
            self.out.write("\n")
            self._mid_line = False

    def text(self, chunk: str) -> None:
        if chunk:
            if not self._mid_line and self.text_prefix:
                self.out.write(self.text_prefix)
            self.out.write(chunk)
            self.out.flush()
            self._mid_line = not chunk.endswith("\n")

    def event(self, event: Any) -> None:
        """Print one loop event (unknown kinds are ignored)."""
        kind = getattr(event, "type", "")
        if kind == "text_delta":
            self.text(event.text)
        elif kind == "tool_call_started":
            self.line(f"{self.indent}-> {call_text(event.call)}")
        elif kind == "tool_call_finished":
            name = event.call.name
            if event.is_error:
                self.line(f"{self.indent}<- {name} failed: {short(event.error or '')}")
            else:
                self.line(f"{self.indent}<- {name} returned {short(event.result.result)}")
        elif kind == "strategy_fallback":
            self.line(
                f"{self.indent}(the server no longer knew the conversation; "
                "replayed the full history)"
            )
        elif kind == "retrying":
            self.line(f"{self.indent}(retrying, attempt {event.attempt}: {event.reason})")
        elif kind == "stream_error":
            self.line(f"{self.indent}(server error {event.code}: {event.message})")
        elif kind == "approval_required":
            names = ", ".join(call_text(c) for c in event.calls)
            self.line(f"{self.indent}(waiting for approval: {names})")
        elif kind == "turn_completed":
            self.end_line()


def turn_to_json(turn: Any) -> dict[str, Any]:
    """A JSON-ready view of a ``Turn`` (what ``agentloop run --json`` prints)."""
    output = turn.output
    return {
        "status": turn.status,
        "output_text": turn.output_text,
        "output": plain(output) if output is not None else None,
        "error": turn.error,
        "tool_calls": [
            {
                "id": c.id,
                "name": c.name,
                "arguments": c.arguments,
                "result": plain(c.result.result),
                "is_error": c.is_error,
                "error": c.error,
                "duration": round(c.duration, 6),
            }
            for c in turn.tool_calls
        ],
        "interaction_ids": list(turn.interaction_ids),
        "model_requests": turn.model_requests,
        "usage": turn.usage.model_dump(mode="json"),
        "steps": [plain(s) for s in turn.steps],
    }


def step_line(index: int, step: Any) -> str:
    """One line for a history step: its index, type and a short summary."""
    kind = getattr(step, "type", "?")
    if kind == "function_call":
        detail = call_text(step)
    elif kind == "function_result":
        detail = f"{step.name or step.call_id}: {short(step.result, 100)}"
    elif kind in ("user_input", "model_output"):
        content = step.content if isinstance(step.content, list) else [step.content]
        detail = (
            " ".join(
                getattr(c, "text", None) or f"[{getattr(c, 'type', 'content')}]"
                for c in content
                if c is not None
            )
            if step.content is not None
            else ""
        )
        detail = short(detail, 100)
    else:
        detail = ""
    return f"{index:3d}  {kind:<16} {detail}".rstrip()


def log_event(event: Any) -> None:
    """Log a loop event at INFO on ``agentloop.cli`` (shown with ``-v``/``--verbose``)."""
    if not log.isEnabledFor(logging.INFO):
        return
    kind = getattr(event, "type", "")
    if kind == "interaction_started":
        log.info("interaction %s started", event.interaction_id)
    elif kind == "interaction_completed":
        interaction = event.interaction
        usage = interaction.usage
        tokens = usage.total_tokens if usage is not None else None
        log.info("interaction %s %s (%s tokens)", interaction.id, interaction.status, tokens)
    elif kind == "tool_call_finished":
        outcome = "failed" if event.is_error else "returned"
        log.info("tool %s %s in %.3fs", event.call.name, outcome, event.duration)
    elif kind == "strategy_fallback":
        log.info("chain %s unknown to the server; replaying", event.previous_interaction_id)


def turn_line(info: Any) -> str:
    """One line of ``/turns``: index, time, the input and the answer (``TurnInfo``)."""
    import time

    when = time.strftime("%H:%M:%S", time.localtime(info.time)) if info.time else "--:--:--"
    status = "" if info.status == "completed" else f" [{info.status}]"
    answer = short(info.output_text, 50) if info.output_text else "-"
    return f"  {info.index:>3}  {when}  {short(info.input_text, 40)!r} -> {answer}{status}"


def branch_lines(
    root: str, children: dict[Any, list[Any]], current: str | None = None
) -> list[str]:
    """The branch tree under ``root`` (``Sessions.family``), one session a line."""

    def label(info: Any) -> str:
        fork = info.fork or {}
        where = ""
        if info.parent is not None:
            verb = "replayed turn" if fork.get("kind") == "replay" else "forked at turn"
            where = f"  ({verb} {fork.get('at')} of {info.parent})"
        mark = "  <- here" if info.id == current else ""
        return f"{info.id}{where}  {short(info.title, 40)}{mark}"

    infos = {i.id: i for group in children.values() for i in group}
    lines = [label(infos[root])] if root in infos else [root]

    def walk(parent: str, indent: str) -> None:
        kids = children.get(parent, [])
        for n, info in enumerate(kids):
            last = n == len(kids) - 1
            lines.append(f"{indent}{'└─ ' if last else '├─ '}{label(info)}")
            walk(info.id, indent + ("   " if last else "│  "))

    walk(root, "")
    return lines

"""Loop events to AG-UI events (``ag_ui.core``), and a conversation's history to page items.

Pure functions and one small stateful translator: no I/O, no starlette. One agentloop turn is
one AG-UI run: ``RUN_STARTED``, the model's text as ``TEXT_MESSAGE_START/CONTENT/END``,
thought summaries as ``REASONING_*``, every tool call as ``TOOL_CALL_START/ARGS/END`` and
``TOOL_CALL_RESULT``, then ``RUN_FINISHED`` (its outcome is an interrupt per call waiting for
approval) or ``RUN_ERROR``. What AG-UI has no event for (a tool call's duration and error
flag, a retry, a strategy fallback, the session's running usage) goes in ``CUSTOM`` events
named ``agentloop.*``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    Interrupt,
    ReasoningEndEvent,
    ReasoningMessageContentEvent,
    ReasoningMessageEndEvent,
    ReasoningMessageStartEvent,
    ReasoningStartEvent,
    RunErrorEvent,
    RunFinishedCancelledOutcome,
    RunFinishedEvent,
    RunFinishedInterruptOutcome,
    RunStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    TokenUsage,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)

__all__ = ["APPROVAL_REASON", "RunTranslator", "history_items", "result_text"]

APPROVAL_REASON = "tool_approval"


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def result_text(result: Any) -> str:
    """A function result as text: strings as they are, anything else as JSON."""
    value = _plain(result)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _now_ms() -> int:
    return int(time.time() * 1000)


def usage_of(usage: Any, model: str | None) -> TokenUsage:
    """An agentloop ``Usage`` as an AG-UI ``TokenUsage``."""
    inp = usage.total_input_tokens or 0
    out = (usage.total_output_tokens or 0) + (usage.total_thought_tokens or 0)
    return TokenUsage(
        provider="gemini",
        model=model,
        input_tokens=inp,
        output_tokens=out,
        total_tokens=inp + out,
        reasoning_tokens=usage.total_thought_tokens,
    )


class RunTranslator:
    """Turns the loop events of one turn into the AG-UI events of one run.

    ``announced`` names tool calls whose ``TOOL_CALL_START/ARGS/END`` an earlier run already
    sent (calls that waited for approval): a resumed run only sends their results.
    """

    def __init__(
        self,
        thread_id: str,
        run_id: str,
        *,
        model: str | None = None,
        announced: set[str] | None = None,
    ) -> None:
        self.thread_id = thread_id
        self.run_id = run_id
        self.model = model
        self.announced = set(announced or ())
        self._text_id: str | None = None
        self._reasoning_id: str | None = None
        self._seq = 0

    def _id(self, kind: str) -> str:
        self._seq += 1
        return f"{self.run_id}-{kind}{self._seq}"

    def started(self) -> list[BaseEvent]:
        return [RunStartedEvent(thread_id=self.thread_id, run_id=self.run_id, timestamp=_now_ms())]

    def _close_text(self) -> list[BaseEvent]:
        out: list[BaseEvent] = []
        if self._text_id is not None:
            out.append(TextMessageEndEvent(message_id=self._text_id))
            self._text_id = None
        if self._reasoning_id is not None:
            out.append(ReasoningMessageEndEvent(message_id=self._reasoning_id))
            out.append(ReasoningEndEvent(message_id=self._reasoning_id))
            self._reasoning_id = None
        return out

    def _announce(self, call: Any) -> list[BaseEvent]:
        if call.id in self.announced:
            return []
        self.announced.add(call.id)
        return [
            ToolCallStartEvent(tool_call_id=call.id, tool_call_name=call.name),
            ToolCallArgsEvent(
                tool_call_id=call.id,
                delta=json.dumps(_plain(call.arguments or {}), ensure_ascii=False),
            ),
            ToolCallEndEvent(tool_call_id=call.id),
        ]

    def feed(self, event: Any) -> list[BaseEvent]:
        """AG-UI events for one loop event (``turn_completed`` is handled by ``finished``)."""
        kind = getattr(event, "type", "")
        if kind == "text_delta":
            out = []
            if self._reasoning_id is not None:
                out = self._close_text()
            if self._text_id is None:
                self._text_id = self._id("text")
                out.append(TextMessageStartEvent(message_id=self._text_id, role="assistant"))
            if event.text:
                out.append(TextMessageContentEvent(message_id=self._text_id, delta=event.text))
            return out
        if kind == "thought_delta":
            out = []
            if self._text_id is not None:
                out = self._close_text()
            if self._reasoning_id is None:
                self._reasoning_id = self._id("thought")
                out.append(ReasoningStartEvent(message_id=self._reasoning_id))
                out.append(ReasoningMessageStartEvent(message_id=self._reasoning_id))
            if event.text:
                out.append(
                    ReasoningMessageContentEvent(message_id=self._reasoning_id, delta=event.text)
                )
            return out
        if kind == "tool_call_started":
            return [*self._close_text(), *self._announce(event.call)]
        if kind == "tool_call_finished":
            out = [*self._close_text(), *self._announce(event.call)]
            out.append(
                ToolCallResultEvent(
                    message_id=self._id("result"),
                    tool_call_id=event.call.id,
                    content=result_text(event.result.result),
                    role="tool",
                )
            )
            out.append(
                CustomEvent(
                    name="agentloop.tool_call_finished",
                    value={
                        "tool_call_id": event.call.id,
                        "is_error": bool(event.is_error),
                        "error": event.error,
                        "duration": round(float(event.duration), 6),
                    },
                )
            )
            return out
        if kind == "approval_required":
            out = self._close_text()
            for call in event.calls:
                out.extend(self._announce(call))
            return out
        if kind == "interaction_started":
            return [*self._close_text(), *interaction_event(event)]
        if kind == "interaction_completed":
            return interaction_event(event)
        if kind == "retrying":
            return [
                CustomEvent(
                    name="agentloop.retrying",
                    value={"attempt": event.attempt, "wait": event.wait, "reason": event.reason},
                )
            ]
        if kind == "strategy_fallback":
            return [
                CustomEvent(
                    name="agentloop.strategy_fallback",
                    value={"previous_interaction_id": event.previous_interaction_id},
                )
            ]
        if kind == "stream_error":
            return [
                CustomEvent(
                    name="agentloop.stream_error",
                    value={"code": event.code, "message": event.message},
                )
            ]
        if kind == "handoff":
            return [
                CustomEvent(
                    name="agentloop.handoff",
                    value={"from": event.from_agent, "to": event.to_agent},
                )
            ]
        if kind == "output_retry":
            return [
                CustomEvent(
                    name="agentloop.output_retry",
                    value={"attempt": event.attempt, "reason": event.reason},
                )
            ]
        return []

    def finished(self, turn: Any, session: dict[str, Any]) -> list[BaseEvent]:
        """The end of a run whose turn completed, or paused for approval."""
        out = self._close_text()
        out.append(CustomEvent(name="agentloop.session", value=session))
        outcome: Any = None
        pending = list(getattr(turn, "pending_approvals", None) or [])
        if turn.status == "awaiting_approval" and pending:
            outcome = RunFinishedInterruptOutcome(
                interrupts=[
                    Interrupt(
                        id=call.id,
                        reason=APPROVAL_REASON,
                        tool_call_id=call.id,
                        message=f"Allow {call.name} to run?",
                    )
                    for call in pending
                ]
            )
        out.append(
            RunFinishedEvent(
                thread_id=self.thread_id,
                run_id=self.run_id,
                result={"status": turn.status, "text": turn.output_text},
                outcome=outcome,
                usage=[usage_of(turn.usage, self.model)],
                timestamp=_now_ms(),
            )
        )
        return out

    def waiting(self, calls: list[Any], session: dict[str, Any]) -> list[BaseEvent]:
        """A run that ends at once because some calls still wait for a decision."""
        return [
            CustomEvent(name="agentloop.session", value=session),
            RunFinishedEvent(
                thread_id=self.thread_id,
                run_id=self.run_id,
                outcome=RunFinishedInterruptOutcome(
                    interrupts=[
                        Interrupt(
                            id=c.id,
                            reason=APPROVAL_REASON,
                            tool_call_id=c.id,
                            message=f"Allow {c.name} to run?",
                        )
                        for c in calls
                    ]
                ),
                timestamp=_now_ms(),
            ),
        ]

    def cancelled(self, session: dict[str, Any]) -> list[BaseEvent]:
        """The end of a run stopped by the user (the history stays valid)."""
        return [
            *self._close_text(),
            CustomEvent(name="agentloop.session", value=session),
            RunFinishedEvent(
                thread_id=self.thread_id,
                run_id=self.run_id,
                outcome=RunFinishedCancelledOutcome(),
                timestamp=_now_ms(),
            ),
        ]

    def error(
        self, exc: BaseException, session: dict[str, Any], message: str | None = None
    ) -> list[BaseEvent]:
        """The end of a run that failed (``message``: what the page says, when not the
        exception's own text)."""
        return [
            *self._close_text(),
            CustomEvent(name="agentloop.session", value=session),
            RunErrorEvent(
                message=message or str(exc) or type(exc).__name__, code=type(exc).__name__
            ),
        ]


def interaction_event(event: Any) -> list[BaseEvent]:
    """``agentloop.interaction``: each model request's interaction id, status and usage (what
    the page's developer panel lists)."""
    if event.type == "interaction_started":
        value: dict[str, Any] = {"phase": "started", "interaction_id": event.interaction_id}
    else:
        it = event.interaction
        u = it.usage
        value = {
            "phase": "completed",
            "interaction_id": it.id,
            "status": it.status,
            "usage": {
                "input_tokens": (u.total_input_tokens or 0) if u else 0,
                "output_tokens": (u.total_output_tokens or 0) if u else 0,
                "thought_tokens": (u.total_thought_tokens or 0) if u else 0,
                "total_tokens": (u.total_tokens or 0) if u else 0,
            },
        }
    return [CustomEvent(name="agentloop.interaction", value=value)]


def _content_text(content: Any) -> str:
    items = content if isinstance(content, list) else [content]
    parts = []
    for item in items:
        if item is None:
            continue
        text = getattr(item, "text", None)
        parts.append(text if isinstance(text, str) else f"[{getattr(item, 'type', 'content')}]")
    return "".join(parts)


def history_items(history: list[Any], pending: set[str] | None = None) -> list[dict[str, Any]]:
    """A conversation's steps as the page draws them: user/assistant/thought text, tool cards."""
    items: list[dict[str, Any]] = []
    cards: dict[str, dict[str, Any]] = {}
    pending = pending or set()
    for step in history:
        kind = getattr(step, "type", None)
        if kind == "user_input":
            items.append({"kind": "user", "text": _content_text(step.content)})
        elif kind == "model_output":
            text = _content_text(step.content)
            if items and items[-1]["kind"] == "assistant":
                items[-1]["text"] += text
            else:
                items.append({"kind": "assistant", "text": text})
        elif kind == "thought":
            text = "".join(getattr(s, "text", "") or "" for s in (step.summary or []))
            if text:
                items.append({"kind": "thought", "text": text})
        elif kind == "function_call":
            card = {
                "kind": "tool",
                "id": step.id,
                "name": step.name,
                "arguments": _plain(step.arguments or {}),
                "result": None,
                "is_error": False,
                "done": False,
                "pending": step.id in pending,
            }
            cards[step.id] = card
            items.append(card)
        elif kind == "function_result":
            found = cards.get(step.call_id)
            if found is not None:
                card = found
                card["result"] = result_text(step.result)
                card["is_error"] = bool(step.is_error)
                card["done"] = True
    return items

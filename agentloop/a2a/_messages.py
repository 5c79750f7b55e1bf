"""A2A messages in and out of a turn: checking them, their input text, approval decisions.

Pure functions of the a2a-sdk's message types; no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from a2a.helpers.proto_helpers import get_data_parts, get_text_parts
from a2a.types import InvalidParamsError, Message, Role

if TYPE_CHECKING:
    from agentloop.loop import AsyncConversation

__all__ = ["Decision", "check_message", "decisions_of", "message_input", "pending_approvals"]

_APPROVE = ("approve", "approved", "yes", "y", "ok", "allow")
_REJECT = ("reject", "rejected", "no", "n", "deny", "denied")
_LEADING_WORD = re.compile(r"\s*(\w+)\s*[:,\-\u2013\u2014]")  # "no, too expensive"


def message_input(message: Message) -> str:
    """The user input of an A2A message: its text parts, then its data parts as JSON."""
    texts = [t for t in get_text_parts(message.parts) if t]
    texts += [json.dumps(d) for d in get_data_parts(message.parts)]
    return "\n".join(texts)


Decision = tuple[bool, "str | None"]


MAX_CONTEXT_ID = 200  # characters: a context id is a stored conversation's id


def decisions_of(
    message: Message, pending: Sequence[str], reply: bool = True
) -> dict[str, Decision] | None:
    """``{call_id: (approve, reason)}`` from a reply to ``input-required``, or None when the
    message is not a decision on every pending call.

    A data part ``{"approve": true}`` / ``{"approve": false, "reason": "..."}`` decides every
    pending call; ``{"decisions": {CALL_ID: {"approve": ..., "reason": ...}}}`` each one. Text
    decides every call when it is only approve/yes/ok, or reject/no/deny, or (``reply``: an
    answer to the task that asked) reject/no/deny and a reason after ``:``, ``,`` or ``-``
    ("no, too expensive"). Anything else is not a decision: "OK thanks. Now tell me a joke"
    or "No worries. What is..." are new messages, never an approval or a rejection."""
    for data in get_data_parts(message.parts):
        if not isinstance(data, dict):
            continue
        if isinstance(data.get("approve"), bool):
            return dict.fromkeys(pending, _one(data))
        each = data.get("decisions")
        if isinstance(each, dict) and all(
            isinstance(each.get(c), dict) and isinstance(each[c].get("approve"), bool)
            for c in pending
        ):
            return {c: _one(each[c]) for c in pending}
    text = " ".join(get_text_parts(message.parts)).strip()
    alone = text.lower().rstrip(".!").strip()
    if alone in _APPROVE:
        return dict.fromkeys(pending, (True, None))
    if alone in _REJECT:
        return dict.fromkeys(pending, (False, None))
    word = _LEADING_WORD.match(text)
    if reply and word is not None and word.group(1).lower() in _REJECT:
        return dict.fromkeys(pending, (False, text[word.end() :].strip() or None))
    return None


def _one(data: dict[str, Any]) -> Decision:
    reason = data.get("reason")
    return bool(data["approve"]), reason if isinstance(reason, str) else None


def pending_approvals(conv: AsyncConversation) -> list[dict[str, Any]]:
    return [
        {"call_id": c.id, "name": c.name, "arguments": c.arguments} for c in conv.pending_approvals
    ]


def check_message(message: Message) -> None:
    """Refuse, with the protocol's invalid-params error, a message no turn can start from."""
    if message.role != Role.ROLE_USER:
        raise InvalidParamsError(message="the message must have role ROLE_USER")
    context = message.context_id
    if context:
        problem = (
            f"is {len(context)} characters long"
            if len(context) > MAX_CONTEXT_ID
            else "has control characters, or blanks at an end"
            if not context.isprintable() or context != context.strip() or not context.strip()
            else None
        )
        if problem is not None:
            raise InvalidParamsError(
                message=f"the context id {problem}; a context id is at most {MAX_CONTEXT_ID} "
                "printable characters with no blank at either end (leave it out: the server "
                "makes one)"
            )
    for index, part in enumerate(message.parts):
        kind = part.WhichOneof("content")
        if kind not in ("text", "data"):
            raise InvalidParamsError(
                message=f"part {index} is {kind or 'empty'}: this agent takes text and data "
                "parts (text/plain, application/json)"
            )
        if kind == "text" and not part.text.strip():
            raise InvalidParamsError(message=f"part {index} has empty text")

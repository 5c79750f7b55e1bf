"""The saved form of a conversation: a JSON-ready dict with no client and no secrets."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agentloop.types import FunctionCallStep, FunctionResultStep, Usage

__all__ = ["FORMAT", "VERSION", "restore", "snapshot"]

FORMAT = "agentloop.conversation"
VERSION = 1


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return None


def snapshot(conv: Any) -> dict[str, Any]:
    state = conv._state
    data: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "id": conv.id,
        "model": conv.model,
        "agent": conv.agent,
        "strategy": state.strategy,
        "system_instruction": conv.system_instruction,
        "generation_config": _plain(conv.generation_config),
        "response_format": _plain(conv.response_format),
        "max_steps": conv.max_steps,
        "builtin_tools": conv.builtin_tools,
        "tool_names": conv.tools.names,
        "agent_config": _plain(conv.agent_config),
        "environment": _plain(conv.environment),
        "extra_body": conv.extra_body,
        "chain": {"interaction_id": state.chain_id, "covers": state.chain_len},
        "history": state.history.to_wire(),
        "paused": None,
    }
    paused = state.paused
    if paused is not None:
        turn = paused.turn
        data["paused"] = {
            "turn_start": len(state.history) - len(turn.steps),
            "awaiting": [c.id for c in paused.awaiting],
            "decisions": {k: [ok, reason] for k, (ok, reason) in paused.decisions.items()},
            "interaction_ids": list(turn.interaction_ids),
            "usage": turn.usage.model_dump(mode="json"),
            "model_requests": turn.model_requests,
        }
    return data


def restore(
    cls: type[Any], data: Any, *, client: Any, tools: Iterable[Any], **overrides: Any
) -> Any:
    from agentloop.loop.history import History
    from agentloop.loop.state import PausedTurn
    from agentloop.loop.turn import ToolCall, Turn

    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(
            "this is not a conversation saved by agentloop (no 'format': "
            f"'{FORMAT}' key); load files written by Conversation.save()"
        )
    if data.get("version") != VERSION:
        raise ValueError(
            f"saved conversation has format version {data.get('version')!r}; this agentloop "
            f"reads version {VERSION}. Upgrade agentloop to load it"
        )
    kwargs: dict[str, Any] = {
        "model": data.get("model"),
        "agent": data.get("agent"),
        "tools": [*tools, *data.get("builtin_tools", [])],
        "strategy": data.get("strategy", "stateful"),
        "system_instruction": data.get("system_instruction"),
        "generation_config": data.get("generation_config"),
        "response_format": data.get("response_format"),
        "max_steps": data.get("max_steps", 20),
        "agent_config": data.get("agent_config"),
        "environment": data.get("environment"),
        "extra_body": data.get("extra_body"),
        "id": data.get("id"),
    }
    kwargs.update(overrides)
    conv = cls(client, **kwargs)
    state = conv._state
    state.history = History.from_wire(data.get("history", []))
    chain = data.get("chain") or {}
    state.chain_id = chain.get("interaction_id")
    state.chain_len = int(chain.get("covers", 0))
    for step in state.history:
        if isinstance(step, FunctionCallStep):
            state.open_calls[step.id] = step
            state.call_ids.add(step.id)
        elif isinstance(step, FunctionResultStep):
            state.open_calls.pop(step.call_id, None)
    paused = data.get("paused")
    if paused:
        steps = list(state.history)[int(paused["turn_start"]) :]
        calls = {s.id: s for s in steps if isinstance(s, FunctionCallStep)}
        turn = Turn(
            steps=steps,
            interaction_ids=list(paused.get("interaction_ids", [])),
            usage=Usage.model_validate(paused.get("usage") or {}),
            model_requests=int(paused.get("model_requests", 0)),
            status="awaiting_approval",
        )
        for s in steps:
            if isinstance(s, FunctionResultStep) and s.call_id in calls:
                turn.tool_calls.append(
                    ToolCall(call=calls[s.call_id], result=s, is_error=bool(s.is_error))
                )
        awaiting = [calls[i] for i in paused["awaiting"] if i in calls]
        turn.pending_approvals = list(awaiting)
        decisions = {k: (bool(v[0]), v[1]) for k, v in paused.get("decisions", {}).items()}
        state.paused = PausedTurn(turn=turn, awaiting=awaiting, decisions=decisions)
    return conv

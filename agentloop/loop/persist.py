"""The saved forms of a conversation: a JSON document (files) and a journal (stores).

* ``to_document(conv)`` / ``from_document(data)``: ``{"format", "version", "id", "settings",
  "state"}``; version 1 files (history at the top level) still load.
* Journal records, one JSON object each, written by the engine as it goes (``Journal``) and
  folded back into a state by ``fold``. Kinds (``"k"``):

  ``turn``      a turn starts (``strategy``); ``step``: one history step as sent/received;
  ``response``  an interaction was received (``id``, ``status``, ``usage``);
  ``chain``     the stored chain moved (``id``, ``covers``); ``started``: tool calls began
                (``ids``); ``paused``: the turn waits for approvals; ``resume``: it goes on;
  ``end``       the turn ended (``status``); ``rollback``: the turn received nothing from the
                model and was undone; ``snapshot``: a whole document (migrated data).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentloop.errors import SnapshotError
from agentloop.types import Usage

from .state import STATE_VERSION, ConversationState, CutTurn, PausedTurn, check_history, dumps

__all__ = ["FORMAT", "VERSION", "Folded", "fold", "from_document", "to_document"]

FORMAT = "agentloop.conversation"
VERSION = STATE_VERSION

# Settings a saved conversation keeps (everything but the client, tools and deps).
SETTING_KEYS = (
    "model",
    "agent",
    "system_instruction",
    "generation_config",
    "response_format",
    "max_steps",
    "builtin_tools",
    "tool_names",
    "agent_config",
    "environment",
    "extra_body",
)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    return None


def settings_of(conv: Any) -> dict[str, Any]:
    """The JSON-ready settings of a conversation (public attributes only)."""
    return {
        "model": conv.model,
        "agent": conv.agent,
        "system_instruction": conv.system_instruction,
        "generation_config": _plain(conv.generation_config),
        "response_format": _plain(conv.response_format),
        "max_steps": conv.max_steps,
        "builtin_tools": list(conv.builtin_tools),
        "tool_names": conv.tools.names,
        "agent_config": _plain(conv.agent_config),
        "environment": _plain(conv.environment),
        "extra_body": dict(conv.extra_body),
    }


def to_document(
    conv_id: str, settings: Mapping[str, Any], state: ConversationState
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "id": conv_id,
        "settings": dict(settings),
        "state": state.to_wire(),
    }


def from_document(data: Any) -> tuple[str | None, dict[str, Any], ConversationState]:
    """``(id, settings, state)`` of a saved document (version 1 or 2)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SnapshotError(
            f"this is not a conversation saved by agentloop (no 'format': '{FORMAT}' key); "
            "load files written by Conversation.save()"
        )
    version = data.get("version")
    if version == 1:
        settings = {key: data[key] for key in SETTING_KEYS if key in data}
        state = ConversationState.from_wire(
            {key: data.get(key) for key in ("strategy", "chain", "history", "paused")}
        )
        return data.get("id"), settings, state
    if version != VERSION:
        raise SnapshotError(
            f"version: saved conversation has format version {version!r}; this agentloop "
            f"reads versions 1 and {VERSION}. Upgrade agentloop to load it"
        )
    settings = data.get("settings") or {}
    if not isinstance(settings, dict):
        raise SnapshotError("settings: expected an object")
    return data.get("id"), settings, ConversationState.from_wire(data.get("state"))


@dataclass
class Folded:
    """A journal replayed: the state, the settings found in it, and the version read."""

    state: ConversationState
    settings: dict[str, Any] = field(default_factory=dict)
    version: int = 0


@dataclass
class _Checkpoint:
    length: int
    chain: tuple[str | None, int]
    paused: PausedTurn | None


_STEP_PREFIX = '{"k":"step","step":'


def fold(records: Iterable[str], version: int = 0) -> Folded:
    """Replay journal records into a state (the same one the writer had)."""
    state = ConversationState()
    settings: dict[str, Any] = {}
    checkpoint: _Checkpoint | None = None
    for index, text in enumerate(records):
        if text.startswith(_STEP_PREFIX):  # the common case, without decoding the record
            try:
                state.history.append_wire(text[len(_STEP_PREFIX) : -1].encode())
            except ValueError as exc:
                raise SnapshotError(f"journal record {index}: not a valid step ({exc})") from None
            continue
        try:
            record = json.loads(text)
            kind = record["k"]
        except (ValueError, TypeError, KeyError):
            raise SnapshotError(
                f"journal record {index}: not a journal record: {text[:80]!r}; the store "
                "holds data agentloop did not write there"
            ) from None
        try:
            if kind == "step":
                state.history.append_wire(dumps(record["step"]).encode())
            elif kind == "response":
                cut = _cut(state)
                cut.model_requests += 1
                if record.get("id"):
                    cut.interaction_ids.append(record["id"])
                if record.get("usage"):
                    usage = Usage.model_validate(record["usage"])
                    cut.usage = usage if cut.usage is None else cut.usage + usage
            elif kind == "chain":
                state.chain_id, state.chain_len = record["id"], int(record["covers"])
            elif kind == "turn":
                state.view.checkpoint()
                state.strategy = record.get("strategy", state.strategy)
                checkpoint = _Checkpoint(
                    len(state.history), (state.chain_id, state.chain_len), state.paused
                )
                state.paused = None
                state.cut = CutTurn(len(state.history))
            elif kind == "started":
                _cut(state).started.update(record["ids"])
            elif kind == "paused":
                state.reindex()
                cut = _cut(state)
                turn = cut.to_turn(state.history)
                awaiting = [state.open_calls[i] for i in record["awaiting"]]
                turn.status = "awaiting_approval"
                turn.pending_approvals = list(awaiting)
                decided = {k: (bool(v[0]), v[1]) for k, v in record.get("decisions", {}).items()}
                state.paused = PausedTurn(
                    turn, awaiting, decided, in_doubt=set(record.get("in_doubt", []))
                )
                state.cut = None
            elif kind == "resume":
                paused = state.paused
                if paused is None:
                    raise SnapshotError(f"journal record {index}: resume with no paused turn")
                turn = paused.turn
                state.cut = CutTurn(
                    len(state.history) - len(turn.steps),
                    turn.model_requests,
                    list(turn.interaction_ids),
                    turn.usage,
                )
                state.paused = None
            elif kind == "end":
                state.cut = None
            elif kind == "rollback":
                if checkpoint is None:
                    raise SnapshotError(f"journal record {index}: rollback with no turn")
                state.truncate(checkpoint.length)
                state.view.restore(checkpoint.length)
                state.chain_id, state.chain_len = checkpoint.chain
                state.paused = checkpoint.paused
                state.cut = None
            elif kind == "snapshot":
                _, settings, state = from_document(record["data"])
            elif kind == "view":  # compaction (compaction.py)
                state.view.load_wire(record["view"], None)
            elif kind == "usage":
                state.usage.replay(record)
            # Unknown kinds come from a newer agentloop: they are skipped.
        except SnapshotError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(
                f"journal record {index} ({kind!r}): {type(exc).__name__}: {exc}"
            ) from None
    check_history(state.history)
    state.reindex()
    if state.view.start > len(state.history):
        raise SnapshotError("journal: the compacted view starts past the history")
    state.view.configure(state.view.max_result_chars, state.history)
    if state.open_calls and state.paused is None and state.cut is None:
        raise SnapshotError(
            "journal: unanswered function calls outside any turn; the records were not "
            "written by agentloop (or were edited): restore them from a backup"
        )
    return Folded(state, settings, version)


def _cut(state: ConversationState) -> CutTurn:
    if state.cut is None:
        state.cut = CutTurn(len(state.history))
    return state.cut

"""The saved forms of a conversation: a JSON document (files) and a journal (stores).

* ``to_document(conv)`` / ``from_document(data)``: ``{"format", "version", "id", "settings",
  "state"}``; version 1 files (history at the top level) still load.
* Journal records (``records.py``: one typed class per kind), written by the engine as it
  goes (``Journal``) and folded back into a state by ``fold`` with the same
  ``ConversationState.apply`` the live path uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentloop.errors import SnapshotError

from .records import RecordError, Snapshot, StepAdded, decode
from .state import STATE_VERSION, ConversationState, check_history

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


def fold(records: Iterable[str], version: int = 0) -> Folded:
    """Replay journal records into a state (the same one the writer had): each record is
    decoded (``records.decode``) and applied with ``ConversationState.apply``, the
    transition the live path made."""
    state = ConversationState()
    settings: dict[str, Any] = {}
    record: Any = None
    for index, text in enumerate(records):
        try:
            record = decode(text)
            if record is None:
                continue  # a kind from a newer agentloop: skipped
            if type(record) is Snapshot:
                _, settings, state = from_document(record.data)
            else:
                state.apply(record)
        except RecordError as exc:
            raise SnapshotError(f"journal record {index}{exc}") from None
        except SnapshotError as exc:
            raise SnapshotError(f"journal record {index}: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            if type(record) is StepAdded:
                raise SnapshotError(f"journal record {index}: not a valid step ({exc})") from None
            kind = getattr(record, "kind", "?")
            raise SnapshotError(
                f"journal record {index} ({kind!r}): {type(exc).__name__}: {exc}"
            ) from None
    check_history(state.history)
    state.reindex()
    if state.view.start > len(state.history):
        raise SnapshotError("journal: the compacted view starts past the history")
    state.view.configure(state.view.max_result_chars, state.history)
    if state.progress is not None:  # the writer stopped inside a turn: it was cut short
        state.cut, state.progress = state.progress, None
    if state.open_calls and state.paused is None and state.cut is None:
        raise SnapshotError(
            "journal: unanswered function calls outside any turn; the records were not "
            "written by agentloop (or were edited): restore them from a backup"
        )
    return Folded(state, settings, version)

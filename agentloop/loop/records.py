"""Journal records, typed: one class per kind, one JSON object per record.

A journaled conversation writes every change of its state as a record, in order
(``Journal``); loading folds the records back into a state (``persist.fold``). The live path
and the replay apply the *same* records with the same ``ConversationState.apply``, so a
replayed state is the state the writer had.

The saved form (``"k"``: kind) is a stable format: these classes only name and type it.

=============  ====================  ===============================================
``"k"``        class                 meaning
=============  ====================  ===============================================
``turn``       ``TurnStarted``       a turn starts (``strategy``, ``t``: when)
``step``       ``StepAdded``         one history step, as sent or received
``response``   ``ResponseReceived``  an interaction came back (``id``, ``status``, ``usage``)
``chain``      ``ChainMoved``        the stored chain moved (``id``, ``covers``)
``started``    ``CallsStarted``      these non-idempotent calls' tools began (``ids``)
``paused``     ``TurnPaused``        the turn waits for decisions on ``awaiting``
``resume``     ``TurnResumed``       the paused turn goes on with ``decisions``
``end``        ``TurnEnded``         the turn ended (``status``)
``rollback``   ``TurnRolledBack``    the turn got nothing from the model and was undone
``snapshot``   ``Snapshot``          a whole saved document (``save_to_store``, migrations)
``view``       ``ViewChanged``       compaction changed the model view (``view``)
``usage``      ``UsageCounted``      one model request's usage and cost
``rewind``     ``Rewound``           went back to the first ``turns`` turns (time travel)
=============  ====================  ===============================================

Unknown kinds come from a newer agentloop: ``decode`` returns ``None`` and replay skips them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any, ClassVar, Union, get_args

from agentloop.types import RawJSON, Usage, encode_json, encode_step

__all__ = [
    "CallsStarted",
    "ChainMoved",
    "Journal",
    "Record",
    "RecordError",
    "ResponseReceived",
    "Rewound",
    "Snapshot",
    "StepAdded",
    "TurnEnded",
    "TurnPaused",
    "TurnResumed",
    "TurnRolledBack",
    "TurnStarted",
    "UsageCounted",
    "ViewChanged",
    "decode",
    "dumps",
    "encode",
]


_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(value: Any) -> str:
    """Compact JSON text (UTF-8 kept as is), the encoding of every journal record."""
    return _dumps(value)


def _usage(usage: Usage | None) -> RawJSON | None:
    """The usage's JSON (as ``model_dump(mode="json")``), spliced into the record by
    ``encode``."""
    return None if usage is None else RawJSON(encode_step(usage))


# The kinds every turn writes (``turn``, ``usage``, ``response``, ``chain``, ``end``, and
# ``started`` before a batch with non-idempotent calls) write their text directly, as
# ``encode_json`` of their dict would (tests/loop/test_records.py): half the time of building
# the dict and walking it.


def _value(value: Any) -> str:
    """``encode_json(value).decode()`` of a field's value, for the common scalars quickly."""
    kind = type(value)
    if kind is str:
        text: str = encode_basestring(value)
        if not text.isascii():
            text.encode()  # a lone surrogate raises UnicodeEncodeError, as encode_json does
        return text
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    return encode_json(value).decode()


def _usage_text(usage: Usage | None) -> str:
    return "null" if usage is None else encode_step(usage).decode()


class _Dict:
    """A record kind whose text is ``encode_json`` of ``to_json()``."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def text(self) -> str:
        return encode_json(self.to_json()).decode()


def _parse_usage(data: Any) -> Usage | None:
    return Usage.model_validate(data) if data else None


@dataclass(slots=True)
class TurnStarted:
    kind: ClassVar[str] = "turn"
    strategy: str
    time: float | None = None  # when (seconds since the epoch; ``conv.turns``)

    def text(self) -> str:
        time = "" if self.time is None else ',"t":' + _value(self.time)
        return '{"k":"turn","strategy":' + _value(self.strategy) + time + "}"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TurnStarted:
        time = data.get("t")
        return cls(str(data.get("strategy", "stateful")), float(time) if time else None)


@dataclass(slots=True)
class StepAdded:
    kind: ClassVar[str] = "step"
    wire: bytes  # the step's JSON encoding, as it is in history

    def text(self) -> str:
        return STEP_PREFIX + self.wire.decode() + "}"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepAdded:
        return cls(dumps(data["step"]).encode())


@dataclass(slots=True)
class ResponseReceived:
    kind: ClassVar[str] = "response"
    id: str | None
    status: str
    usage: Usage | None = None

    def text(self) -> str:
        return (
            f'{{"k":"response","id":{_value(self.id)},"status":{_value(self.status)},'
            f'"usage":{_usage_text(self.usage)}}}'
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResponseReceived:
        return cls(data.get("id"), str(data.get("status")), _parse_usage(data.get("usage")))


@dataclass(slots=True)
class ChainMoved:
    kind: ClassVar[str] = "chain"
    id: str | None
    covers: int

    def text(self) -> str:
        return f'{{"k":"chain","id":{_value(self.id)},"covers":{_value(self.covers)}}}'

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChainMoved:
        return cls(data["id"], int(data["covers"]))


@dataclass(slots=True)
class CallsStarted:
    kind: ClassVar[str] = "started"
    ids: list[str]

    def text(self) -> str:
        return '{"k":"started","ids":[' + ",".join(map(_value, self.ids)) + "]}"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallsStarted:
        return cls(list(data["ids"]))


@dataclass(slots=True)
class TurnPaused(_Dict):
    kind: ClassVar[str] = "paused"
    awaiting: list[str]
    in_doubt: list[str]
    model_requests: int
    interaction_ids: list[str]
    usage: Usage | None
    # Decisions already taken when the turn paused (an idempotent call cut short by an
    # interruption is approved to run again): call id -> [approve, reason].
    decisions: dict[str, list[Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = {
            "k": self.kind,
            "awaiting": self.awaiting,
            "in_doubt": self.in_doubt,
            "model_requests": self.model_requests,
            "interaction_ids": self.interaction_ids,
            "usage": _usage(self.usage),
        }
        if self.decisions:
            data["decisions"] = self.decisions
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TurnPaused:
        return cls(
            list(data["awaiting"]),
            list(data.get("in_doubt", [])),
            int(data.get("model_requests", 0)),
            list(data.get("interaction_ids", [])),
            _parse_usage(data.get("usage")),
            {str(k): list(v) for k, v in (data.get("decisions") or {}).items()},
        )


@dataclass(slots=True)
class TurnResumed(_Dict):
    kind: ClassVar[str] = "resume"
    decisions: dict[str, list[Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"k": self.kind, "decisions": self.decisions}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TurnResumed:
        return cls(dict(data.get("decisions") or {}))


@dataclass(slots=True)
class TurnEnded:
    kind: ClassVar[str] = "end"
    status: str

    def text(self) -> str:
        return '{"k":"end","status":' + _value(self.status) + "}"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TurnEnded:
        return cls(str(data.get("status")))


@dataclass(slots=True)
class TurnRolledBack(_Dict):
    kind: ClassVar[str] = "rollback"

    def to_json(self) -> dict[str, Any]:
        return {"k": self.kind}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TurnRolledBack:
        return cls()


@dataclass(slots=True)
class Snapshot(_Dict):
    kind: ClassVar[str] = "snapshot"
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"k": self.kind, "data": self.data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snapshot:
        return cls(data["data"])


@dataclass(slots=True)
class ViewChanged(_Dict):
    kind: ClassVar[str] = "view"
    view: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"k": self.kind, "view": self.view}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ViewChanged:
        return cls(data["view"])


@dataclass(slots=True)
class UsageCounted:
    kind: ClassVar[str] = "usage"
    usage: Usage | None
    cost: float | None

    def text(self) -> str:
        return f'{{"k":"usage","usage":{_usage_text(self.usage)},"cost":{_value(self.cost)}}}'

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UsageCounted:
        cost = data.get("cost")
        return cls(_parse_usage(data.get("usage")), float(cost) if cost is not None else None)


@dataclass(slots=True)
class Rewound(_Dict):
    """The conversation went back to its first ``turns`` turns (``conv.rewind``); the records
    of the later ones stay in the journal, as a branch."""

    kind: ClassVar[str] = "rewind"
    turns: int

    def to_json(self) -> dict[str, Any]:
        return {"k": self.kind, "turns": self.turns}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rewound:
        return cls(int(data["turns"]))


Record = Union[
    TurnStarted,
    StepAdded,
    ResponseReceived,
    ChainMoved,
    CallsStarted,
    TurnPaused,
    TurnResumed,
    TurnEnded,
    TurnRolledBack,
    Snapshot,
    ViewChanged,
    UsageCounted,
    Rewound,
]

KINDS: dict[str, Any] = {cls.kind: cls for cls in get_args(Record)}
"""Each record class by its saved kind (``"k"``)."""

STEP_PREFIX = '{"k":"step","step":'


def encode(record: Record) -> str:
    """The record's saved form (one compact JSON object)."""
    return record.text()


class RecordError(ValueError):
    """A saved record that cannot be read; the message continues "journal record N"."""


def decode(text: str) -> Record | None:
    """A saved record; ``None`` for a kind this agentloop does not know. Raises
    ``RecordError`` on malformed data."""
    if text.startswith(STEP_PREFIX):  # the common case, without decoding the JSON
        return StepAdded(text[len(STEP_PREFIX) : -1].encode())
    try:
        data = json.loads(text)
        kind = data["k"]
    except (ValueError, TypeError, KeyError):
        raise RecordError(
            f": not a journal record: {text[:80]!r}; the store holds data agentloop did not "
            "write there"
        ) from None
    cls = KINDS.get(kind)
    if cls is None:
        return None
    try:
        record: Record = cls.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordError(f" ({kind!r}): {type(exc).__name__}: {exc}") from None
    return record


class Journal:
    """The records of changes not yet written to the store, and the version written so far.

    The engine adds records as state changes; the driver writes ``pending`` with
    ``store.append(id, pending, expected_version=version, meta=...)`` and the lease's keywords
    (``loop/lease.py``, ``write``) and reports the new version with ``written()``. Records stay
    pending until written, so a failed write loses nothing.

    The live-turn lease: ``owner`` names this writer (``None``: no lease); the engine sets
    ``holding`` while a turn runs, and each write takes, renews or (``holding`` False) gives
    back the lease; ``held`` is what the store has; ``live`` is True from taking the lease to
    the turn's very end. ``take_over`` is the owner of a lease known dead (its process is
    gone), which the next write may replace.
    """

    __slots__ = (
        "__weakref__",
        "held",
        "holding",
        "id",
        "lease_seconds",
        "live",
        "meta",
        "owner",
        "pending",
        "take_over",
        "version",
    )

    def __init__(
        self,
        id: str,
        version: int = 0,
        meta: dict[str, Any] | None = None,
        *,
        owner: str | None = None,
        lease_seconds: float = 30.0,
    ) -> None:
        self.id = id
        self.version = version
        self.pending: list[str] = []
        self.meta = meta  # new settings to store with the next write (None: unchanged)
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.holding = False
        self.held = False
        self.live = False
        self.take_over: str | None = None

    def add(self, record: Record) -> None:
        self.pending.append(encode(record))

    def step(self, wire: bytes) -> None:
        self.pending.append(STEP_PREFIX + wire.decode() + "}")

    @property
    def dirty(self) -> bool:
        """Whether the store must be written: records, meta, or the lease changes hands."""
        return bool(self.pending) or self.meta is not None or self.holding != self.held

    def written(self, version: int, *, meta_written: bool = True) -> None:
        self.pending.clear()
        if meta_written:
            self.meta = None
        self.version = version
        self.held = self.holding and self.owner is not None
        if self.held:
            self.take_over = None

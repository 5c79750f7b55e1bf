"""What a conversation remembers between turns, and its saved form.

``ConversationState`` is the one home of persistence: ``to_wire()`` / ``from_wire()`` turn it
into a JSON-ready dict and back (JSON files, snapshot records), and every change of a turn is a
typed journal record (``records.py``) that ``apply()`` makes, live (``commit()``: apply, then
journal it) and on replay (``persist.fold``) alike. Stores only keep the records; nothing here
does I/O.

Invariants every change keeps (``check()`` verifies them on load):

* every entry of ``history`` has a wire encoding (a step enters history only once encoded);
* function call ids are unique, and each call has at most one result, after the call;
* ``open_calls`` are exactly the calls without a result.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from agentloop.errors import SnapshotError
from agentloop.types import (
    FunctionCallStep,
    FunctionResultStep,
    Usage,
    UserInputStep,
    WireModel,
    step_adapter,
)

from .compaction import ModelView
from .history import History, encode_step
from .limits import Price, UsageTotals, price_of
from .records import (
    CallsStarted,
    ChainMoved,
    Journal,
    Record,
    ResponseReceived,
    Rewound,
    StepAdded,
    TurnEnded,
    TurnPaused,
    TurnResumed,
    TurnRolledBack,
    TurnStarted,
    UsageCounted,
    ViewChanged,
    dumps,
)
from .status import ConversationStatus, StatusMachine
from .timetravel import TurnLog, rewind_in_place
from .turn import ToolCall, Turn

if TYPE_CHECKING:
    pass

__all__ = [
    "STRATEGIES",
    "ConversationState",
    "CutTurn",
    "Journal",
    "PausedTurn",
    "Strategy",
    "dumps",
]

Strategy = Literal["stateful", "stateless"]
STRATEGIES: tuple[str, ...] = ("stateful", "stateless")

STATE_VERSION = 2


@dataclass
class PausedTurn:
    """A turn waiting for human decisions on some calls.

    ``in_doubt`` are calls that had started when the process stopped and whose tool is not
    idempotent: they may have run, so a human decides whether to run them again.
    """

    turn: Turn
    awaiting: list[FunctionCallStep]
    decisions: dict[str, tuple[bool, str | None]] = field(default_factory=dict)
    in_doubt: set[str] = field(default_factory=set)


@dataclass
class CutTurn:
    """A turn that was running when the conversation was saved or its process stopped."""

    start: int
    model_requests: int = 0
    interaction_ids: list[str] = field(default_factory=list)
    usage: Usage | None = None
    started: set[str] = field(default_factory=set)

    def to_turn(self, history: History) -> Turn:
        steps = list(history)[self.start :]
        turn = Turn(
            steps=steps,
            interaction_ids=list(self.interaction_ids),
            usage=self.usage or Usage(),
            model_requests=self.model_requests,
        )
        turn.input = [s for s in steps[:1] if isinstance(s, UserInputStep)]
        calls = {s.id: s for s in steps if isinstance(s, FunctionCallStep)}
        for step in steps:
            if isinstance(step, FunctionResultStep) and step.call_id in calls:
                turn.tool_calls.append(
                    ToolCall(call=calls[step.call_id], result=step, is_error=bool(step.is_error))
                )
        return turn


_ROLLUP_LOCK = threading.RLock()


@dataclass
class ConversationState:
    """Everything a conversation must remember between turns (and across save/load)."""

    history: History = field(default_factory=History)
    strategy: Strategy = "stateful"
    # The last stored interaction and how many history entries its chain covers.
    chain_id: str | None = None
    chain_len: int = 0
    open_calls: dict[str, FunctionCallStep] = field(default_factory=dict)
    call_ids: set[str] = field(default_factory=set)  # every function_call id in history
    paused: PausedTurn | None = None
    # The turn cut short by a crash or saved mid-way (``needs_recovery``).
    cut: CutTurn | None = None
    # The turn in progress: where it started, its requests, the calls whose tools began (a
    # replay that ends with one in progress hands it to ``cut``).
    progress: CutTurn | None = None
    # Where the last turn started (``TurnStarted``), to undo it (``TurnRolledBack``).
    checkpoint: tuple[int, tuple[str | None, int], PausedTurn | None] | None = None
    journal: Journal | None = None
    view: ModelView = field(default_factory=ModelView)  # what the model gets (compaction.py)
    usage: UsageTotals = field(default_factory=UsageTotals)  # over the conversation's life
    turn_log: TurnLog = field(default_factory=TurnLog)  # where each turn lies (timetravel.py)
    status: StatusMachine = field(init=False, repr=False, compare=False)  # status.py
    # A sub-agent's state counts its requests in its parent's too (agents/_subagent.py).
    rollup: ConversationState | None = field(default=None, repr=False, compare=False)
    # While a ``resume()`` runs the approved calls: the ids a human approved (the others
    # run again on their own, as idempotent calls in doubt). A sub-agent's call reads it.
    approved_now: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def __post_init__(self) -> None:
        self.status = StatusMachine(self.settled)

    # --- changes ---------------------------------------------------------------------------------

    def append(self, step: WireModel, turn: Turn | None, wire: bytes | None = None) -> None:
        """Add one step; it is encoded first, so a step that cannot be encoded changes nothing."""
        self._add(step, wire if wire is not None else encode_step(step), turn)

    def extend(
        self,
        steps: Sequence[WireModel],
        turn: Turn | None,
        wires: Sequence[bytes] | None = None,
    ) -> None:
        """Add steps all-or-nothing: every step is encoded before any is added (the live form
        of ``StepAdded``: the step models are at hand, so nothing is decoded again)."""
        encoded = wires if wires is not None else [encode_step(s) for s in steps]
        for step, wire in zip(steps, encoded, strict=True):
            self._add(step, wire, turn)

    def _add(self, step: WireModel, wire: bytes, turn: Turn | None) -> None:
        """The live form of ``StepAdded`` for one encoded step."""
        self.view.added(self.history.append(step, wire), step, wire)
        if turn is not None:
            turn.steps.append(step)
        if isinstance(step, FunctionCallStep):
            self.open_calls[step.id] = step
            self.call_ids.add(step.id)
        elif isinstance(step, FunctionResultStep):
            self.open_calls.pop(step.call_id, None)
        if self.journal is not None:
            self.journal.step(wire)

    def commit(
        self,
        record: Record,
        *,
        turn: Turn | None = None,
        awaiting: list[FunctionCallStep] | None = None,
    ) -> None:
        """Make the change ``record`` describes (``apply``), then journal it."""
        self.apply(record, turn=turn, awaiting=awaiting)
        if self.journal is not None:
            self.journal.add(record)

    def note(self, record: Record) -> None:
        """Journal a change already made in place (``ViewChanged`` after compaction)."""
        if self.journal is not None:
            self.journal.add(record)

    def apply(
        self,
        record: Record,
        *,
        turn: Turn | None = None,
        awaiting: list[FunctionCallStep] | None = None,
    ) -> None:
        """The one transition of each record kind, live and on replay. The live path passes
        the ``turn`` it holds (and the ``awaiting`` calls as the hooks left them); a replay
        rebuilds them from history."""
        kind = type(record)
        if kind is StepAdded:
            self.history.append_wire(record.wire)  # type: ignore[union-attr]
            return
        self.turn_log.apply(record, self.history)
        if kind is ResponseReceived:
            progress = self._progress()
            progress.model_requests += 1
            if record.id:  # type: ignore[union-attr]
                progress.interaction_ids.append(record.id)  # type: ignore[union-attr]
            usage = record.usage  # type: ignore[union-attr]
            if usage is not None:
                progress.usage = usage if progress.usage is None else progress.usage + usage
        elif kind is ChainMoved:
            self.chain_id, self.chain_len = record.id, record.covers  # type: ignore[union-attr]
        elif kind is UsageCounted:
            self.usage.record(record.usage, None)  # type: ignore[union-attr]
            cost = record.cost  # type: ignore[union-attr]
            if cost is not None:
                self.usage.cost = (self.usage.cost or 0.0) + cost
        elif kind is TurnStarted:
            self.view.checkpoint()
            self.strategy = record.strategy  # type: ignore[union-attr, assignment]
            self.checkpoint = (len(self.history), (self.chain_id, self.chain_len), self.paused)
            self.paused = None
            self.progress = CutTurn(len(self.history))
        elif kind is CallsStarted:
            self._progress().started.update(record.ids)  # type: ignore[union-attr]
        elif kind is TurnPaused:
            assert isinstance(record, TurnPaused)
            if turn is None:  # a replay: the turn and its calls come from history
                self.reindex()
                turn = self._progress().to_turn(self.history)
                turn.status = "awaiting_approval"
                awaiting = [self.open_calls[i] for i in record.awaiting]
                turn.pending_approvals = list(awaiting)
            assert awaiting is not None
            decided = {k: (bool(v[0]), v[1]) for k, v in record.decisions.items()}
            self.paused = PausedTurn(turn, awaiting, decided, in_doubt=set(record.in_doubt))
            self.progress = None
        elif kind is TurnResumed:
            paused = self.paused
            if paused is None:
                raise SnapshotError("resume with no paused turn")
            resumed = paused.turn
            self.progress = CutTurn(
                len(self.history) - len(resumed.steps),
                resumed.model_requests,
                list(resumed.interaction_ids),
                resumed.usage,
            )
            self.paused = None
        elif kind is TurnEnded:
            self.progress = self.cut = None
        elif kind is TurnRolledBack:
            if self.checkpoint is None:
                raise SnapshotError("rollback with no turn")
            length, chain, paused = self.checkpoint
            self.truncate(length)
            self.view.restore(length)
            self.chain_id, self.chain_len = chain
            self.paused = paused
            self.progress = self.cut = None
        elif kind is ViewChanged:
            self.view.load_wire(record.view, None)  # type: ignore[union-attr]
        elif kind is Rewound:
            rewind_in_place(self, record.turns)  # type: ignore[union-attr]
        # Snapshot replaces the whole state: persist.fold handles it.

    def _progress(self) -> CutTurn:
        if self.progress is None:
            self.progress = CutTurn(len(self.history))
        return self.progress

    def settled(self) -> ConversationStatus:
        """The status this state is in when no turn runs."""
        if self.paused is not None:
            return ConversationStatus.AWAITING_APPROVAL
        if self.cut is not None:
            return ConversationStatus.NEEDS_RECOVERY
        return ConversationStatus.IDLE

    def set_chain(self, chain_id: str | None, covers: int) -> None:
        if chain_id == self.chain_id and covers == self.chain_len:
            return
        self.commit(ChainMoved(chain_id, covers))

    def count_usage(self, usage: Usage | None, price: Price | None) -> None:
        """Add one model request to ``usage`` (the running totals) and journal it."""
        self.commit(UsageCounted(usage, price_of(usage, price)))
        if self.rollup is not None:
            with _ROLLUP_LOCK:  # sub-agents of one parent may run in parallel threads
                self.rollup.count_usage(usage, price)

    def close_open_calls(self, turn: Turn, reason: str, keep: Iterable[str] = ()) -> None:
        """Answer every call still open (but those in ``keep``) with an ``is_error`` result
        saying why (the invariant)."""
        kept = set(keep)
        for call in list(self.open_calls.values()):
            if call.id in kept:
                continue
            text = f"Not run: {reason}"
            result = FunctionResultStep(call_id=call.id, name=call.name, result=text, is_error=True)
            self.append(result, turn)
            turn.tool_calls.append(ToolCall(call=call, result=result, is_error=True, error=text))

    def truncate(self, length: int) -> None:
        """Drop history entries from ``length`` on and rebuild the call index (rollback)."""
        self.history.truncate(length)
        self.turn_log.truncate(length)
        self.reindex()

    def reindex(self) -> None:
        self.open_calls.clear()
        self.call_ids.clear()
        for step in self.history:
            if isinstance(step, FunctionCallStep):
                self.open_calls[step.id] = step
                self.call_ids.add(step.id)
            elif isinstance(step, FunctionResultStep):
                self.open_calls.pop(step.call_id, None)

    # --- strategies ------------------------------------------------------------------------------

    def input_fields(self) -> dict[str, Any]:
        """``input`` and the fields that say how the server should treat history."""
        view, history = self.view, self.history  # the model view: see compaction.py
        if self.strategy == "stateless":
            return {"store": False, "input": view.raw(history)}
        if self.chain_id is not None and self.chain_len <= len(history):
            return {
                "previous_interaction_id": self.chain_id,
                "input": view.raw(history, self.chain_len),
            }
        # No usable chain (first turn, after stateless turns, a 404 or compaction): replay the
        # model view once.
        return {"input": view.raw(history)}

    # --- the saved form --------------------------------------------------------------------------

    def to_wire(self) -> dict[str, Any]:
        """A JSON-ready dict of the state; a turn still running is saved as cut short."""
        data: dict[str, Any] = {
            "strategy": self.strategy,
            "chain": {"interaction_id": self.chain_id, "covers": self.chain_len},
            "history": self.history.to_wire(),
            "paused": None,
            "cut": None,
            "view": self.view.to_wire(),
            "usage": self.usage.to_wire(),
            "turns": self.turn_log.to_wire(),
        }
        paused = self.paused
        if paused is not None:
            turn = paused.turn
            data["paused"] = {
                "turn_start": len(self.history) - len(turn.steps),
                "awaiting": [c.id for c in paused.awaiting],
                "decisions": {k: [ok, why] for k, (ok, why) in paused.decisions.items()},
                "in_doubt": sorted(paused.in_doubt),
                "interaction_ids": list(turn.interaction_ids),
                "usage": turn.usage.model_dump(mode="json"),
                "model_requests": turn.model_requests,
            }
        cut = self.progress if self.progress is not None else self.cut
        if cut is not None:
            data["cut"] = {
                "turn_start": cut.start,
                "interaction_ids": list(cut.interaction_ids),
                "usage": cut.usage.model_dump(mode="json") if cut.usage is not None else None,
                "model_requests": cut.model_requests,
                "started": sorted(cut.started),
            }
        return data

    @classmethod
    def from_wire(cls, data: Any) -> ConversationState:
        """Rebuild a state from ``to_wire()``; refuses inconsistent data (``SnapshotError``,
        a ``ValueError``, naming the field)."""
        if not isinstance(data, dict):
            raise SnapshotError("state: expected an object with 'history', 'chain', 'strategy'")
        state = cls()
        strategy = data.get("strategy", "stateful")
        if strategy not in STRATEGIES:
            raise SnapshotError(f"strategy: {strategy!r} is not 'stateful' or 'stateless'")
        state.strategy = strategy
        state.history = _history_from_wire(data.get("history", []))
        check_history(state.history)
        state.reindex()
        chain = data.get("chain") or {}
        if not isinstance(chain, dict):
            raise SnapshotError("chain: expected an object with 'interaction_id' and 'covers'")
        chain_id, covers = chain.get("interaction_id"), chain.get("covers", 0)
        if chain_id is not None and not isinstance(chain_id, str):
            raise SnapshotError(f"chain.interaction_id: expected a string, got {chain_id!r}")
        if not isinstance(covers, int) or not 0 <= covers <= len(state.history):
            raise SnapshotError(
                f"chain.covers: {covers!r} is not a history length (0..{len(state.history)})"
            )
        state.chain_id, state.chain_len = chain_id, covers
        state.view.load_wire(data.get("view"), state.history)
        state.usage = UsageTotals.from_wire(data.get("usage"))
        try:
            state.turn_log = TurnLog.from_wire(data.get("turns"), state.history)
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"turns: not a list of turns ({exc})") from None
        if data.get("paused"):
            state.paused = _paused_from_wire(data["paused"], state)
        if data.get("cut"):
            state.cut = _cut_from_wire(data["cut"], state)
        if state.open_calls and state.paused is None and state.cut is None:
            # Unanswered calls and no record of the turn (an old snapshot saved inside a tool):
            # the turn that made them was cut short.
            first = min(
                i for i, s in enumerate(state.history) if getattr(s, "id", None) in state.open_calls
            )
            start = max(
                (i for i, s in enumerate(state.history[:first]) if isinstance(s, UserInputStep)),
                default=first,
            )
            state.cut = CutTurn(start)
        marks = state.turn_log.marks
        if data.get("turns") is None and marks and (state.paused or state.cut):
            marks[-1].end, marks[-1].status = None, "running"  # turns found from the history
        return state


def _history_from_wire(items: Any) -> History:
    if not isinstance(items, list):
        raise SnapshotError("history: expected a list of steps")
    history = History()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise SnapshotError(f"history[{index}]: expected a step object, got {item!r:.60}")
        try:
            step = step_adapter.validate_python(item)
        except ValidationError as exc:
            raise SnapshotError(
                f"history[{index}]: not a valid step ({exc.errors()[0]['msg']})"
            ) from None
        history.append(step, dumps(item).encode())
    return history


def check_history(history: Iterable[Any]) -> None:
    """Refuse a history whose calls and results do not pair up (duplicates, orphans)."""
    calls: set[str] = set()
    answered: set[str] = set()
    for index, step in enumerate(history):
        if isinstance(step, FunctionCallStep):
            if step.id in calls:
                raise SnapshotError(f"history[{index}].id: function_call id {step.id!r} repeats")
            calls.add(step.id)
        elif isinstance(step, FunctionResultStep):
            if step.call_id not in calls:
                raise SnapshotError(
                    f"history[{index}].call_id: {step.call_id!r} answers no earlier function_call"
                )
            if step.call_id in answered:
                raise SnapshotError(
                    f"history[{index}].call_id: function_call {step.call_id!r} has two results"
                )
            answered.add(step.call_id)


def _usage(value: Any, where: str) -> Usage | None:
    if value is None:
        return None
    try:
        return Usage.model_validate(value)
    except ValidationError as exc:
        raise SnapshotError(f"{where}: not a usage object ({exc.errors()[0]['msg']})") from None


def _turn_start(value: Any, state: ConversationState, where: str) -> int:
    if not isinstance(value, int) or not 0 <= value <= len(state.history):
        raise SnapshotError(f"{where}: {value!r} is not a history index")
    return value


def _paused_from_wire(data: Any, state: ConversationState) -> PausedTurn:
    if not isinstance(data, dict):
        raise SnapshotError("paused: expected an object")
    start = _turn_start(data.get("turn_start"), state, "paused.turn_start")
    awaiting: list[FunctionCallStep] = []
    for call_id in data.get("awaiting", []):
        call = state.open_calls.get(call_id)
        if call is None:
            raise SnapshotError(f"paused.awaiting: {call_id!r} is not an unanswered function_call")
        awaiting.append(call)
    cut = CutTurn(
        start,
        int(data.get("model_requests", 0)),
        list(data.get("interaction_ids", [])),
        _usage(data.get("usage"), "paused.usage"),
    )
    turn = cut.to_turn(state.history)
    turn.status = "awaiting_approval"
    turn.pending_approvals = list(awaiting)
    decisions = {k: (bool(v[0]), v[1]) for k, v in (data.get("decisions") or {}).items()}
    return PausedTurn(turn, awaiting, decisions, set(data.get("in_doubt", [])))


def _cut_from_wire(data: Any, state: ConversationState) -> CutTurn:
    if not isinstance(data, dict):
        raise SnapshotError("cut: expected an object")
    return CutTurn(
        _turn_start(data.get("turn_start"), state, "cut.turn_start"),
        int(data.get("model_requests", 0)),
        list(data.get("interaction_ids", [])),
        _usage(data.get("usage"), "cut.usage"),
        set(data.get("started", [])),
    )

"""Time travel: the turns of a conversation, and states seeded from a prefix of them.

A conversation's history is a list of steps; its *turns* are where each user turn began and
ended in it, which interactions it made, what it cost and when. ``TurnLog`` keeps them. It is
fed the journal records the engine writes (``apply``), live and when a journal is folded
back, so a loaded conversation knows its turns exactly as the writer did.

Going back is then a pure function of a state: ``seed_state(state, turns)`` is a new state
holding the first ``turns`` turns (history, the server chain that ended the last of them, the
approvals or in-doubt calls still open there), ready to go on independently. A stateful fork
therefore sends only its new input with ``previous_interaction_id`` = the interaction that
ended the fork point: the server's stored chain is the shared prefix. When that chain is gone
(deleted, expired, or the turns ran with ``store=false``) the engine's usual 404 fallback
replays the prefix once. Nothing here does I/O.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sized
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from agentloop.errors import InputError, TurnIndexError, TurnInProgressError
from agentloop.types import (
    FunctionCallStep,
    FunctionResultStep,
    Usage,
    UserInputStep,
    output_text_of,
)

from .compaction import ModelView
from .records import (
    ChainMoved,
    ResponseReceived,
    TurnEnded,
    TurnPaused,
    TurnResumed,
    TurnStarted,
)

if TYPE_CHECKING:
    from .state import ConversationState

__all__ = [
    "TurnInfo",
    "TurnLog",
    "TurnMark",
    "edited_state",
    "rewind_in_place",
    "seed_state",
    "turn_index",
    "turn_infos",
]


@dataclass(frozen=True, slots=True)
class TurnInfo:
    """One user turn of a conversation (``conv.turns``): where you can go back to.

    Attributes:
        index: The turn's position in ``conv.turns`` (what ``fork(at=)``, ``replay(at)`` take).
        input: The user input steps the turn began with.
        output_text: The model's final text in the turn (``""`` when there is none).
        interaction_id: The id of the interaction that ended the turn (``None`` when the turn
            ran stateless, made no request, or was saved by an agentloop that did not record
            it): a stateful fork at this turn chains onto it.
        usage: Token usage summed over the turn's model requests.
        time: When the turn started (seconds since the epoch; ``None`` when not recorded).
        status: ``"completed"``, ``"awaiting_approval"``, ``"running"`` (in progress, or cut
            short by a crash), or how it failed (``"failed"``, ``"interrupted"``, ...; a turn
            that waited for approval when a new message was sent is ``"interrupted"``).
        interaction_ids: Every interaction of the turn, in order.
        steps: How many history entries the turn holds.
    """

    index: int
    input: list[Any]
    output_text: str
    interaction_id: str | None
    usage: Usage
    time: float | None
    status: str
    interaction_ids: list[str] = field(default_factory=list)
    steps: int = 0

    @property
    def input_text(self) -> str:
        """The text of the turn's input (its text blocks joined by newlines)."""
        parts: list[str] = []
        for step in self.input:
            content = getattr(step, "content", None) or []
            parts.extend(t for t in (getattr(c, "text", None) for c in content) if t)
        return "\n".join(parts)


@dataclass(slots=True)
class TurnMark:
    """Where one turn lies in history and what it did (the private, mutable form)."""

    start: int
    time: float | None = None
    end: int | None = None  # history length when it ended or paused; None while it runs
    status: str = "running"
    interaction_ids: list[str] = field(default_factory=list)
    # The usage of each response as recorded (JSON), summed only when read: the live path
    # must not validate it again.
    usages: list[Any] = field(default_factory=list)
    # Every move of the server chain during the turn: (interaction id or None, covers).
    chain: list[tuple[str | None, int]] = field(default_factory=list)
    awaiting: list[str] = field(default_factory=list)  # open calls when it paused
    in_doubt: list[str] = field(default_factory=list)

    @property
    def usage(self) -> Usage:
        """The usage summed over the turn's responses."""
        values = [p if isinstance(p, Usage) else Usage.model_validate(p) for p in self.usages]
        if not values:
            return Usage()
        total = values[0]
        for value in values[1:]:
            total = total + value
        return total

    def copy(self) -> TurnMark:
        return replace(
            self,
            interaction_ids=list(self.interaction_ids),
            usages=list(self.usages),
            chain=list(self.chain),
            awaiting=list(self.awaiting),
            in_doubt=list(self.in_doubt),
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "t": self.time,
            "end": self.end,
            "status": self.status,
            "ids": list(self.interaction_ids),
            "usage": self.usage.model_dump(mode="json") if self.usages else None,
            "chain": [[cid, covers] for cid, covers in self.chain],
            "awaiting": list(self.awaiting),
            "in_doubt": list(self.in_doubt),
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> TurnMark:
        usage = data.get("usage")
        return cls(
            start=int(data["start"]),
            time=data.get("t"),
            end=None if data.get("end") is None else int(data["end"]),
            status=str(data.get("status", "completed")),
            interaction_ids=[str(i) for i in data.get("ids") or []],
            usages=[usage] if usage else [],
            chain=[(c[0], int(c[1])) for c in data.get("chain") or []],
            awaiting=list(data.get("awaiting") or []),
            in_doubt=list(data.get("in_doubt") or []),
        )


class TurnLog:
    """The turns of one conversation, kept up to date from the journal records.

    ``ConversationState.apply`` hands it every record but steps (``TurnStarted``,
    ``ResponseReceived``, ``ChainMoved``, ``TurnPaused``, ``TurnResumed``, ``TurnEnded`` matter
    here) with the history length at that moment: the same call serves the live path and a
    journal replay. ``truncate`` follows a rollback of history.
    """

    __slots__ = ("marks",)

    def __init__(self, marks: list[TurnMark] | None = None) -> None:
        self.marks: list[TurnMark] = marks if marks is not None else []

    def __len__(self) -> int:
        return len(self.marks)

    def apply(self, record: Any, history: Sized) -> None:
        """Follow one journal record (``records.py``), ``history`` being the history as it
        is then (only its length is read); kinds that do not concern turns are ignored. On
        the hot path: few branches."""
        kind = type(record)
        marks = self.marks
        if kind is TurnStarted:
            if marks and marks[-1].status == "awaiting_approval":
                # A new message while it waited: its calls are answered, it never goes on.
                marks[-1].status = "interrupted"
            marks.append(TurnMark(start=len(history), time=record.time))
            return
        if not marks:
            return
        mark = marks[-1]
        if mark.end is not None:  # between turns: only a paused turn going on matters
            if kind is TurnResumed:
                mark.end, mark.status, mark.awaiting, mark.in_doubt = None, "running", [], []
            return
        if kind is ChainMoved:
            mark.chain.append((record.id, record.covers))
        elif kind is ResponseReceived:
            if record.id:
                mark.interaction_ids.append(record.id)
            if record.usage is not None:
                mark.usages.append(record.usage)
        elif kind is TurnPaused:
            mark.end, mark.status = len(history), "awaiting_approval"
            mark.awaiting, mark.in_doubt = list(record.awaiting), list(record.in_doubt)
        elif kind is TurnEnded:
            mark.end, mark.status = len(history), record.status

    def truncate(self, length: int) -> None:
        """History was cut back to ``length`` steps: turns that began there are gone."""
        while self.marks and self.marks[-1].start >= length and self.marks[-1].end is None:
            self.marks.pop()

    def to_wire(self) -> list[dict[str, Any]]:
        return [mark.to_wire() for mark in self.marks]

    @classmethod
    def from_wire(cls, data: Any, history: Any) -> TurnLog:
        """The saved form; ``None`` (a conversation saved before turns were recorded): the
        turns are found from the history, without their interactions or times."""
        if data is None:
            return cls.derive(history)
        marks = [TurnMark.from_wire(item) for item in data]
        previous = 0
        for index, mark in enumerate(marks):
            end = mark.end if mark.end is not None else len(history)
            if not previous <= mark.start <= end <= len(history):
                raise ValueError(f"turn {index} spans steps {mark.start}..{end} of {len(history)}")
            previous = mark.start
        return cls(marks)

    @classmethod
    def derive(cls, history: Any) -> TurnLog:
        starts = [
            i
            for i, step in enumerate(history)
            if isinstance(step, UserInputStep)
            and (i == 0 or not isinstance(history[i - 1], UserInputStep))
        ]
        marks = [
            TurnMark(start=s, end=e, status="completed")
            for s, e in zip(starts, [*starts[1:], len(history)], strict=True)
        ]
        return cls(marks)


# --- reading ------------------------------------------------------------------------------------


def turn_end(state: ConversationState, index: int) -> int:
    """The history length at the end of turn ``index`` (now, for a turn still open)."""
    marks = state.turn_log.marks
    end = marks[index].end
    if end is not None:
        return end
    return marks[index + 1].start if index + 1 < len(marks) else len(state.history)


def turn_infos(state: ConversationState) -> list[TurnInfo]:
    """``conv.turns``: one ``TurnInfo`` per turn, oldest first."""
    history = state.history
    out: list[TurnInfo] = []
    marks = state.turn_log.marks
    for index, mark in enumerate(marks):
        end = turn_end(state, index)
        steps = history[mark.start : end]
        first = next((i for i, s in enumerate(steps) if isinstance(s, UserInputStep)), len(steps))
        inputs: list[Any] = []
        for step in steps[first:]:
            if not isinstance(step, UserInputStep):
                break
            inputs.append(step)
        status = mark.status
        if mark.end is None and index == len(marks) - 1 and state.paused is not None:
            status = "awaiting_approval"
        out.append(
            TurnInfo(
                index=index,
                input=inputs,
                output_text=output_text_of(steps),
                interaction_id=mark.interaction_ids[-1] if mark.interaction_ids else None,
                usage=mark.usage,
                time=mark.time,
                status=status,
                interaction_ids=list(mark.interaction_ids),
                steps=len(steps),
            )
        )
    return out


def turn_index(state: ConversationState, at: int | None, *, running: bool, what: str) -> int:
    """``at`` as a turn index (``None``: the last turn; negative from the end), checked.

    ``running``: a turn runs now (the last one), which cannot be forked mid-way."""
    count = len(state.turn_log)
    if count == 0 and (at is None or isinstance(at, int)):
        raise TurnIndexError(
            f"cannot {what}: the conversation has no turns yet; send a message first"
        )
    if at is None:
        index = count - 1
    else:
        if isinstance(at, bool) or not isinstance(at, int):
            raise TurnIndexError(f"at must be a turn index (an int), not {at!r}; see conv.turns")
        index = at + count if at < 0 else at
        if not 0 <= index < count:
            raise TurnIndexError(
                f"at={at} is out of range: the conversation has {count} turn(s) "
                f"(0..{count - 1}, or -1..-{count}); see conv.turns"
            )
    if running and index == count - 1:
        raise TurnInProgressError(
            f"cannot {what} turn {index}: it is in progress; wait for it to finish, or "
            f"{what} an earlier turn"
        )
    return index


# --- seeding ------------------------------------------------------------------------------------


def seed_state(state: ConversationState, turns: int) -> ConversationState:
    """A new state holding the first ``turns`` turns of ``state``, to go on independently.

    This is how a fork, a rewind, a replay and a fork sub-agent begin. The history is the
    prefix (its steps and their exact wire encodings, shared, never re-encoded); the server
    chain is the interaction that ended the last kept turn, so a stateful continuation sends
    only what is new (``previous_interaction_id``), while a stateless one carries the prefix.
    Calls left open at that point stay open and are never run by seeding: a turn paused for
    approval is paused again (its decisions are not carried: approve in the branch), a turn a
    crash cut short needs ``recover()`` as in the original (calls that may have run stay in
    doubt). A turn still running is carried as cut short, as a save mid-turn would be (``fork``
    refuses that; a fork sub-agent started from inside the turn takes it as it is). The
    journal is not carried (the caller attaches one); usage starts at zero.
    """
    from .state import ConversationState, CutTurn, PausedTurn

    marks = state.turn_log.marks
    if not 0 <= turns <= len(marks):
        raise TurnIndexError(f"cannot keep {turns} turns of {len(marks)}")
    last = turns == len(marks)
    if last:
        length = len(state.history)
    elif turns == 0:
        length = marks[0].start
    else:
        length = turn_end(state, turns - 1)
    new = ConversationState(strategy=state.strategy)
    new.history = state.history.prefix(length)
    _seed_calls(new, state, length, marks[turns - 1].start if turns else 0)
    # Turns before the last kept one are finished and never change again: shared, not copied.
    kept = marks[: turns - 1] if turns else []
    new.turn_log = TurnLog([*kept, marks[turns - 1].copy()] if turns else [])
    # The chain that ended the prefix: the last move of the last kept turn that lies inside it
    # (the state's own chain when everything is kept: it may have moved since, e.g. a 404).
    chain: tuple[str | None, int] = (None, 0)
    if last:
        chain = (state.chain_id, state.chain_len)
    elif turns:
        moves = [c for c in marks[turns - 1].chain if c[1] <= length]
        if moves:
            chain = moves[-1]
    if chain[0] is not None and state.strategy == "stateful":
        new.chain_id, new.chain_len = chain
    _seed_view(new, state, length)
    progress = state.progress
    if last and progress is not None:  # a turn in progress: cut short here, as a save would
        new.cut = _copy_cut(progress)
        return new
    if not new.open_calls or not turns:
        return new
    mark = new.turn_log.marks[-1]
    if last and state.cut is not None:
        new.cut = _copy_cut(state.cut)
    else:
        paused = state.paused if last else None
        ids = [c.id for c in paused.awaiting] if paused else mark.awaiting
        awaiting = [new.open_calls[i] for i in ids if i in new.open_calls]
        if not awaiting:  # open calls with no record of a pause: the turn was cut short
            new.cut = CutTurn(mark.start, len(mark.interaction_ids), list(mark.interaction_ids))
            return new
        in_doubt = set(paused.in_doubt) if paused else set(mark.in_doubt)
        ids = list(mark.interaction_ids)
        cut = CutTurn(mark.start, len(ids), ids, mark.usage if mark.usages else None)
        turn = cut.to_turn(new.history)
        turn.status = "awaiting_approval"
        turn.pending_approvals = list(awaiting)
        new.paused = PausedTurn(turn, awaiting, {}, in_doubt & {c.id for c in awaiting})
        mark.end, mark.status = len(new.history), "awaiting_approval"
    return new


def rewind_in_place(state: ConversationState, turns: int) -> None:
    """Take ``state`` back to its first ``turns`` turns (the ``Rewound`` record): history,
    chain, open calls, view and turns of the prefix; the journal, the life-long usage (what
    was spent stays spent), the strategy and the status stay."""
    state.reindex()  # a replay keeps the call index up to date only at its end
    if not 0 <= turns <= len(state.turn_log):
        raise ValueError(f"rewind to {turns} turns of {len(state.turn_log)}")
    new = seed_state(state, turns)
    state.history, state.turn_log, state.view = new.history, new.turn_log, new.view
    state.chain_id, state.chain_len = new.chain_id, new.chain_len
    state.open_calls, state.call_ids = new.open_calls, new.call_ids
    state.paused, state.cut, state.progress, state.checkpoint = new.paused, new.cut, None, None


def _copy_cut(cut: Any) -> Any:
    from .state import CutTurn

    return CutTurn(
        cut.start, cut.model_requests, list(cut.interaction_ids), cut.usage, set(cut.started)
    )


def edited_state(
    state: ConversationState, index: int, edit: Mapping[str, Any]
) -> ConversationState:
    """A state that re-runs turn ``index`` from the model's function calls named in ``edit``
    (``{call_id: new_result}``), answered with the new results.

    The turn is kept up to the model step that asked for those calls; the other calls of that
    step keep the results they had (they are never run again); the state is left as a turn cut
    short right after the results, so ``recover()`` sends them and the turn goes on (stateful:
    chained onto the interaction that asked for the calls)."""
    from agentloop.tools.results import to_result

    from .state import CutTurn

    if not edit:
        raise InputError("edit is empty: pass {call_id: new_result} for calls of the turn")
    mark = state.turn_log.marks[index]
    end = turn_end(state, index)
    history = state.history
    positions = {
        step.id: i
        for i, step in enumerate(history[mark.start : end], start=mark.start)
        if isinstance(step, FunctionCallStep)
    }
    unknown = sorted(set(edit) - set(positions))
    if unknown:
        raise InputError(
            f"edit names call(s) {', '.join(map(repr, unknown))} that turn {index} did not "
            f"make; its calls: {sorted(positions) or 'none'}"
        )
    first = min(positions[c] for c in edit)
    # The model step that asked: the run of calls (and thoughts/text) up to the first result.
    cut_at = next((i for i in range(first, end) if isinstance(history[i], FunctionResultStep)), end)
    unanswered = _open_in(history, cut_at)
    batch = [
        step
        for step in history[mark.start : cut_at]
        if isinstance(step, FunctionCallStep) and step.id in unanswered
    ]
    later = sorted(c for c in edit if positions[c] >= cut_at)
    if later:
        raise InputError(
            f"edit names calls of different model steps ({', '.join(map(repr, later))} came "
            "after the first edited call was answered); edit one step at a time"
        )
    results: dict[str, FunctionResultStep] = {
        s.call_id: s for s in history[cut_at:end] if isinstance(s, FunctionResultStep)
    }
    answers: list[FunctionResultStep] = []
    for call in batch:
        if call.id in edit:
            try:
                value = to_result(edit[call.id])
            except (TypeError, ValueError) as exc:
                raise InputError(
                    f"edit[{call.id!r}] cannot be a function result ({exc}); pass text, a "
                    "dict or JSON-ready values"
                ) from None
            answers.append(FunctionResultStep(call_id=call.id, name=call.name, result=value))
        elif call.id in results:
            answers.append(results[call.id])
        else:
            raise InputError(
                f"call {call.id!r} of the same model step has no result to keep (it was never "
                "answered); include it in edit"
            )
    new = seed_state(state, index)
    new.history = history.prefix(cut_at)
    _seed_view(new, state, cut_at)
    new.chain_id, new.chain_len = None, 0
    moves = [c for c in mark.chain if c[1] <= cut_at]
    ids = [cid for cid, _ in moves if cid is not None]
    if moves and moves[-1][0] is not None and state.strategy == "stateful":
        new.chain_id, new.chain_len = moves[-1]
    for answer in answers:
        new.append(answer, None)
    new.reindex()
    new.turn_log.marks.append(replace(mark.copy(), end=None, status="running", interaction_ids=ids))
    new.cut = CutTurn(mark.start, len(ids), list(ids))
    return new


def _seed_calls(new: ConversationState, state: ConversationState, length: int, last: int) -> None:
    """``new``'s call index, in O(steps dropped + the last kept turn): ids of the calls past
    ``length`` leave ``call_ids``; open calls can only lie in the last kept turn (from
    ``last`` on), since every earlier turn answered its calls before the next one began."""
    history = state.history
    new.call_ids = set(state.call_ids)
    for step in history[length:]:
        if isinstance(step, FunctionCallStep):
            new.call_ids.discard(step.id)
    new.open_calls = {}
    for step in history[last:length]:
        if isinstance(step, FunctionCallStep):
            new.open_calls[step.id] = step
        elif isinstance(step, FunctionResultStep):
            new.open_calls.pop(step.call_id, None)


def _open_in(history: Any, length: int) -> set[str]:
    calls: set[str] = set()
    for step in history[:length]:
        if isinstance(step, FunctionCallStep):
            calls.add(step.id)
        elif isinstance(step, FunctionResultStep):
            calls.discard(step.call_id)
    return calls


def _seed_view(new: ConversationState, state: ConversationState, length: int) -> None:
    """The model view of the prefix: the same compaction when it lies inside the prefix, else
    the whole prefix (a summary of steps past the fork point does not belong to the fork)."""
    view = state.view
    if view.start <= length:
        new.view = view.prefix_of(state.history, length)
        return
    fresh = ModelView()
    fresh.configure(view.max_result_chars, new.history)
    new.view = fresh


def now() -> float:
    """The time a turn starts (recorded, never used to decide anything)."""
    return time.time()

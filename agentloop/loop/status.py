"""The conversation's status and its one transition table (as h11's ``_state.py``).

Every way into a turn (``send``, ``stream``, ``resume``, ``recover``, ``compact``, a
background turn going on) and every way out of one is a *move*; ``Status.move`` looks the move
up in ``TRANSITIONS`` and either returns the new status or raises ``StateError`` (its subclass
``TurnInProgressError`` when a turn is running). Nothing else decides whether a call is
allowed now, so the guards cannot drift apart.

::

    IDLE ──start──▶ RUNNING ──finish──▶ IDLE | AWAITING_APPROVAL | NEEDS_RECOVERY
    AWAITING_APPROVAL ──start | resume──▶ RUNNING
    NEEDS_RECOVERY ──start | recover──▶ RUNNING
    RUNNING ──suspend──▶ SUSPENDED ──continue──▶ RUNNING      (a background interaction)
    SUSPENDED ──finish──▶ (as from RUNNING)
    IDLE | AWAITING_APPROVAL | NEEDS_RECOVERY ──compact──▶ RUNNING

``finish`` settles on what the state holds (``ConversationState.settled``): a paused turn
(``AWAITING_APPROVAL``), a turn cut short (``NEEDS_RECOVERY``) or neither (``IDLE``).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from typing import Literal

from agentloop.errors import StateError, TurnInProgressError

__all__ = ["TRANSITIONS", "ConversationStatus", "Move", "StatusMachine"]


class ConversationStatus(str, enum.Enum):
    """Where a conversation stands between (or during) turns."""

    IDLE = "idle"
    """No turn runs and none waits: ``send`` starts one."""
    RUNNING = "running"
    """A turn is being driven (in some thread or task)."""
    SUSPENDED = "suspended"
    """A background turn waits on the server (``BackgroundTurn.wait``/``poll`` go on)."""
    AWAITING_APPROVAL = "awaiting_approval"
    """A turn paused for decisions: ``approve``/``reject``, then ``resume``."""
    NEEDS_RECOVERY = "needs_recovery"
    """A turn was cut short (a crash, or saved mid-way): ``recover`` or ``send``."""

    def __str__(self) -> str:
        return self.value


Move = Literal["start", "resume", "recover", "compact", "suspend", "continue", "finish"]

S = ConversationStatus
_SETTLE = None  # "finish": the status the state settles on (paused, cut short, or idle)

TRANSITIONS: dict[ConversationStatus, dict[str, ConversationStatus | None]] = {
    S.IDLE: {"start": S.RUNNING, "compact": S.RUNNING},
    S.AWAITING_APPROVAL: {"start": S.RUNNING, "resume": S.RUNNING, "compact": S.RUNNING},
    S.NEEDS_RECOVERY: {"start": S.RUNNING, "recover": S.RUNNING, "compact": S.RUNNING},
    S.RUNNING: {"suspend": S.SUSPENDED, "finish": _SETTLE},
    S.SUSPENDED: {"continue": S.RUNNING, "finish": _SETTLE},
}

# What to do instead, when a move is not allowed from a status.
_ADVICE: dict[tuple[ConversationStatus, str], str] = {
    (S.IDLE, "resume"): "there is no paused turn to resume; call send() instead",
    (S.NEEDS_RECOVERY, "resume"): (
        "there is no paused turn to resume: the last turn was cut short; call recover() or send()"
    ),
    (S.IDLE, "recover"): (
        "nothing to recover: the last turn finished (needs_recovery is False); call send() to "
        "start a new turn"
    ),
    (S.AWAITING_APPROVAL, "recover"): (
        "nothing to recover: the turn is paused for approval, not cut short; approve() or "
        "reject() its calls, then resume()"
    ),
}


class StatusMachine:
    """The status of one conversation; moves are atomic across threads and tasks.

    A turn being driven (``RUNNING``, ``SUSPENDED``) is held here; the other statuses are
    read from the state (``settled()``: a paused turn, a turn cut short, or neither), so
    they cannot drift from what the state holds."""

    __slots__ = ("_lock", "active", "background_id", "label", "settled")

    def __init__(self, settled: Callable[[], ConversationStatus], label: str = "") -> None:
        self.settled = settled
        self.active: ConversationStatus | None = None  # RUNNING or SUSPENDED
        self.label = label  # the conversation id, for messages
        self.background_id: str | None = None  # the suspended background interaction
        self._lock = threading.Lock()

    @property
    def status(self) -> ConversationStatus:
        return self.active or self.settled()

    @property
    def running(self) -> bool:
        """True while a turn is being driven."""
        return self.active is S.RUNNING

    def move(self, move: Move, *, background: str | None = None) -> None:
        """Make ``move`` (``background``: the interaction a ``suspend`` waits on). Raises
        ``StateError`` (``TurnInProgressError`` while a turn runs) and changes nothing when the
        status table does not allow it."""
        with self._lock:
            current = self.active or self.settled()
            allowed = TRANSITIONS[current]
            if move not in allowed:
                raise self._refusal(current, move)
            self.active = allowed[move]
            self.background_id = background

    def check(self, move: Move) -> None:
        """Raise now what ``move`` would raise (the eager check of a call that moves later,
        when its protocol is first driven)."""
        current = self.status
        if move not in TRANSITIONS[current]:
            raise self._refusal(current, move)

    def _refusal(self, current: ConversationStatus, move: str) -> StateError:
        name = self.label
        if current is S.RUNNING:
            return TurnInProgressError(
                f"conversation {name} is running a turn; wait for it to finish (one turn "
                "at a time per conversation; use another Conversation for parallel work). A "
                "stream() left before its end runs until it is closed: close() it, or read it "
                "in a `with conv.stream(...) as events:` block"
            )
        if current is S.SUSPENDED:
            return TurnInProgressError(
                f"background turn {self.background_id} is still running; call wait(), poll() "
                "or cancel() on it before starting another turn (its steps belong in history "
                "first)"
            )
        advice = _ADVICE.get((current, move))
        if advice is None:
            advice = f"{move} is not allowed while the conversation is {current.value}"
        return StateError(advice)

"""The sans-I/O agent engine: history, strategies and the turn protocol.

A turn is a generator (``TurnEngine.run``) that yields *effects* — send this request, run these
tool calls, wait for this background interaction, emit this event — and receives their results.
It never opens a socket, sleeps or awaits; the sync and async drivers in ``conversation.py``
perform the effects. That keeps one implementation of the loop for both worlds.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
from collections.abc import Callable, Generator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal

from agentloop.errors import (
    InteractionCancelledError,
    InteractionFailedError,
    InteractionIncompleteError,
    MaxStepsExceeded,
    OutputValidationError,
    TurnError,
    UnexpectedStatusError,
)
from agentloop.types import (
    FunctionCallStep,
    FunctionResultStep,
    Interaction,
    RawJSON,
    WireModel,
    input_to_steps,
)

from .events import (
    ApprovalRequired,
    InteractionCompleted,
    LoopEvent,
    StrategyFallback,
    ToolCallFinished,
    ToolCallStarted,
    TurnCompleted,
)
from .history import History, encode_step
from .hooks import HookSet, RunHook
from .turn import ToolCall, Turn, TurnStatus

__all__ = [
    "ConversationState",
    "Effect",
    "Emit",
    "RunTools",
    "SendRequest",
    "Strategy",
    "TurnEngine",
    "WaitBackground",
]

Strategy = Literal["stateful", "stateless"]
STRATEGIES: tuple[str, ...] = ("stateful", "stateless")


# --- effects -------------------------------------------------------------------------------------


@dataclass(slots=True)
class SendRequest:
    """Create an interaction with this body; answer with the final ``Interaction``."""

    body: dict[str, Any]
    # Observation only (agentloop.observe): the driver reports retries and stream events here.
    watch: Callable[[LoopEvent], None] | None = None


@dataclass(slots=True)
class RunTools:
    """Run these calls through the registry; answer with the list of ``ToolOutcome``."""

    calls: list[FunctionCallStep]
    # Observation only: entered around each call's tool code (makes its span current).
    around: Callable[[FunctionCallStep], AbstractContextManager[Any]] | None = None


@dataclass(slots=True)
class WaitBackground:
    """Wait until this background interaction leaves ``queued``/``in_progress``."""

    interaction: Interaction


@dataclass(slots=True)
class Emit:
    """Hand this event to the caller (``stream``); no answer expected."""

    event: LoopEvent


Effect = SendRequest | RunTools | WaitBackground | Emit | RunHook


# --- conversation state ---------------------------------------------------------------------


@dataclass
class PausedTurn:
    """A turn waiting for human approval of some calls."""

    turn: Turn
    awaiting: list[FunctionCallStep]
    decisions: dict[str, tuple[bool, str | None]] = field(default_factory=dict)


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

    # --- history ---------------------------------------------------------------------------------

    def append(self, step: WireModel, turn: Turn, wire: bytes | None = None) -> None:
        self.history.append(step, wire)
        turn.steps.append(step)
        if isinstance(step, FunctionCallStep):
            self.open_calls[step.id] = step
            self.call_ids.add(step.id)
        elif isinstance(step, FunctionResultStep):
            self.open_calls.pop(step.call_id, None)

    def close_open_calls(self, turn: Turn, reason: str) -> None:
        """Answer every call still open with an ``is_error`` result saying why (the invariant)."""
        for call in list(self.open_calls.values()):
            result = FunctionResultStep(
                call_id=call.id, name=call.name, result=f"Not run: {reason}", is_error=True
            )
            self.append(result, turn)
            turn.tool_calls.append(
                ToolCall(call=call, result=result, is_error=True, error=f"Not run: {reason}")
            )

    # --- strategies ------------------------------------------------------------------------------

    def input_fields(self) -> dict[str, Any]:
        """``input`` and the fields that say how the server should treat history."""
        if self.strategy == "stateless":
            return {"store": False, "input": self.history.raw()}
        if self.chain_id is not None and self.chain_len <= len(self.history):
            return {
                "previous_interaction_id": self.chain_id,
                "input": self.history.raw(self.chain_len),
            }
        # No usable chain (first turn, after stateless turns, or after a 404): replay it all once.
        return {"input": self.history.raw()}


# --- the turn protocol ----------------------------------------------------------------------

ECHO_TYPES = frozenset({"user_input", "function_result"})


# How a turn ends for each terminal status: the turn's status, the error, and what to do.
_ENDINGS: dict[str, tuple[TurnStatus, type[TurnError], str]] = {
    "failed": ("failed", InteractionFailedError, "send again to retry the turn"),
    "cancelled": ("cancelled", InteractionCancelledError, "send again to start a new turn"),
    "incomplete": (
        "incomplete",
        InteractionIncompleteError,
        "raise generation_config max_output_tokens or ask for a shorter answer",
    ),
    "budget_exceeded": (
        "incomplete",
        InteractionIncompleteError,
        "raise the agent's token budget (agent_config) or split the task",
    ),
}
_UNKNOWN_ENDING: tuple[TurnStatus, type[TurnError], str] = (
    "failed",
    UnexpectedStatusError,
    "this agentloop does not know the status; upgrade it, or inspect error.turn",
)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "the turn was interrupted (KeyboardInterrupt) before this call ran."
    if isinstance(exc, GeneratorExit):
        return "the caller stopped the turn before this call ran."
    if isinstance(exc, (asyncio.CancelledError, concurrent.futures.CancelledError)):
        return "the turn was cancelled before this call ran."
    return f"the turn stopped on {type(exc).__name__}: {exc}"


class TurnEngine:
    """Runs one turn of a conversation as a generator of effects."""

    def __init__(
        self,
        state: ConversationState,
        *,
        static_body: dict[str, Any],
        max_steps: int,
        needs_approval: Callable[[str], bool],
        parse_output: Callable[[str], Any] | None = None,
        background: bool = False,
        hooks: HookSet | None = None,
        observe: Callable[[Generator[Effect, Any, Turn], Turn], Generator[Effect, Any, Turn]]
        | None = None,
    ) -> None:
        self.hooks = hooks
        self.observe = observe  # wraps each turn's protocol (tracing, logging) when set
        self.state = state
        self.static_body = static_body
        self.max_steps = max_steps
        self.needs_approval = needs_approval
        self.parse_output = parse_output
        self.background = background

    # The protocol ------------------------------------------------------------------------------

    def start(self, user_input: Any) -> Generator[Effect, Any, Turn]:
        """A new turn with this user input."""
        state = self.state
        steps = input_to_steps(user_input)
        turn = Turn()
        if state.paused is not None:
            # A new message while calls await approval: those calls are answered as rejected.
            paused, state.paused = state.paused, None
            for call in paused.awaiting:
                if call.id in state.open_calls:
                    self._append_result(
                        turn,
                        call,
                        "The user did not approve this call before sending a new message.",
                        is_error=True,
                    )
        for step in steps:
            state.append(step, turn)
        turn.input = list(steps)
        if self.observe is not None:
            return self.observe(self.run(turn), turn)
        return self.run(turn)

    def resume(self) -> Generator[Effect, Any, Turn]:
        """Continue a turn that paused for approval, with the decisions taken since."""
        paused = self.state.paused
        if paused is None:
            raise RuntimeError("there is no paused turn to resume; call send() instead")
        undecided = [c.id for c in paused.awaiting if c.id not in paused.decisions]
        if undecided:
            raise ValueError(
                f"calls {', '.join(undecided)} have no decision yet; call approve(call_id) or "
                "reject(call_id, reason) for each before resume()"
            )
        self.state.paused = None
        turn = paused.turn
        turn.status = "running"
        turn.pending_approvals = []
        approved: list[FunctionCallStep] = []
        rejected: list[ToolCall] = []
        for call in paused.awaiting:
            ok, reason = paused.decisions[call.id]
            if ok:
                approved.append(call)
            else:
                why = f" Reason: {reason}" if reason else ""
                rejected.append(
                    self._append_result(
                        turn, call, f"The user rejected this call.{why}", is_error=True
                    )
                )
        if self.observe is not None:
            return self.observe(self.run(turn, first_calls=approved, announce=rejected), turn)
        return self.run(turn, first_calls=approved, announce=rejected)

    def run(
        self,
        turn: Turn,
        first_calls: Sequence[FunctionCallStep] = (),
        announce: Sequence[ToolCall] = (),
    ) -> Generator[Effect, Any, Turn]:
        state = self.state
        for record in announce:  # calls answered before the protocol started (rejections)
            yield Emit(self._finished(record))
        calls: list[FunctionCallStep] = list(first_calls)
        continuation: tuple[str, list[RawJSON]] | None = None
        background = self.background
        try:
            while True:
                if calls:
                    yield from self._run_calls(turn, calls)
                    calls = []
                if turn.model_requests >= self.max_steps:
                    raise self._limit_reached(turn)
                body = self._request_body(continuation, background)
                continuation = None
                if self.hooks is not None and self.hooks.before_request:
                    body = yield from self.hooks.request(body, turn)
                try:
                    interaction: Interaction = yield SendRequest(body)
                except Exception as exc:
                    previous = body.get("previous_interaction_id")
                    if previous is not None and getattr(exc, "status_code", None) == 404:
                        state.chain_id = None
                        yield Emit(
                            StrategyFallback(
                                previous_interaction_id=previous,
                                reason=str(exc),
                            )
                        )
                        continue
                    raise
                turn.model_requests += 1
                if background and interaction.status in ("queued", "in_progress"):
                    interaction = yield WaitBackground(interaction)
                background = False
                self._absorb(turn, interaction, stored=body.get("store") is not False)
                if self.hooks is not None and self.hooks.after_response:
                    yield from self.hooks.response(interaction, turn)
                yield Emit(InteractionCompleted(interaction=interaction))
                status = interaction.status
                if status == "requires_action":
                    if turn.model_requests >= self.max_steps:
                        raise self._limit_reached(turn)  # do not run calls nobody will read
                    pending = [c for c in interaction.function_calls if c.id in state.open_calls]
                    ask: set[str] = set()
                    blocked: list[tuple[FunctionCallStep, str]] = []
                    if self.hooks is not None and self.hooks.before_tool:
                        pending, ask, blocked = yield from self.hooks.calls(pending, turn)
                        for call, reason in blocked:
                            yield Emit(ToolCallStarted(call=call))
                            record = self._append_result(
                                turn, call, f"Blocked: {reason}", is_error=True
                            )
                            yield Emit(self._finished(record))
                    waiting = [c for c in pending if c.id in ask or self.needs_approval(c.name)]
                    calls = [c for c in pending if c not in waiting]
                    if waiting:
                        if calls:
                            yield from self._run_calls(turn, calls)
                        turn.status = "awaiting_approval"
                        turn.pending_approvals = waiting
                        state.paused = PausedTurn(turn=turn, awaiting=waiting)
                        yield Emit(ApprovalRequired(calls=list(waiting)))
                        yield Emit(TurnCompleted(turn=turn))
                        return turn
                    if not calls and blocked:
                        continue  # hooks blocked every call: the model reads the reasons
                    if not calls:
                        raise UnexpectedStatusError(
                            "the interaction is requires_action but names no open "
                            "function_call, so there is nothing to answer; the server's "
                            "response was malformed. Send again to retry the turn",
                            turn,
                        )
                    continue
                if status == "requires_continuation" and interaction.continuation_token:
                    last_input = body.get("input") or []
                    continuation = (interaction.continuation_token, list(last_input))
                    continue
                if status == "completed":
                    turn.status = "completed"
                    if self.parse_output is not None:
                        try:
                            turn.output = self.parse_output(turn.output_text)
                        except Exception as exc:
                            raise OutputValidationError(
                                "the model's output does not match the response model: "
                                f"{exc}. The turn is in history; ask again or relax the schema",
                                turn,
                            ) from exc
                    else:
                        turn.output = turn.output_text
                    yield Emit(TurnCompleted(turn=turn))
                    return turn
                turn.status, error_cls, advice = _ENDINGS.get(str(status), _UNKNOWN_ENDING)
                detail = ""
                if interaction.errors:
                    detail = ": " + "; ".join(str(e.message or e.code) for e in interaction.errors)
                message = (
                    f"interaction {interaction.id} ended with status {status!r}{detail}. The "
                    f"conversation stays usable: {advice}"
                )
                if error_cls is InteractionFailedError:
                    raise InteractionFailedError(message, turn, interaction.errors)
                raise error_cls(message, turn)
        except BaseException as exc:
            if state.paused is None or state.paused.turn is not turn:
                if turn.status == "running":
                    turn.status = "interrupted"
                turn.error = str(exc) or type(exc).__name__
                state.close_open_calls(turn, _describe(exc))
                if isinstance(exc, TurnError):
                    exc.turn = turn
                elif isinstance(exc, Exception) and not hasattr(exc, "turn"):
                    with contextlib.suppress(AttributeError):  # exotic exception classes
                        exc.turn = turn  # type: ignore[attr-defined]
            raise

    # Helpers -----------------------------------------------------------------------------------

    def _request_body(
        self, continuation: tuple[str, list[RawJSON]] | None, background: bool
    ) -> dict[str, Any]:
        state = self.state
        body = dict(self.static_body)
        if continuation is not None:
            token, last_input = continuation
            body["continuation_token"] = token
            if state.strategy == "stateless":
                body["store"] = False
                body["input"] = last_input
            else:
                body["previous_interaction_id"] = state.chain_id
            return body
        body.update(state.input_fields())
        if background:
            body["background"] = True
        return body

    def _absorb(self, turn: Turn, interaction: Interaction, *, stored: bool) -> None:
        """Add a finished interaction's new steps to history and move the chain."""
        state = self.state
        if interaction.id:
            turn.interaction_ids.append(interaction.id)
        if interaction.usage is not None:
            # The first usage of a turn is taken as is; later ones are summed.
            turn.usage = (
                interaction.usage if turn.model_requests <= 1 else turn.usage + interaction.usage
            )
        turn.last_interaction = interaction
        steps = list(interaction.steps or [])
        # Some responses echo the input (spec §11.10): skip leading client steps and calls
        # the history already holds.
        known_calls = state.call_ids
        start = 0
        while start < len(steps):
            step = steps[start]
            if getattr(step, "type", None) in ECHO_TYPES or (
                isinstance(step, FunctionCallStep) and step.id in known_calls
            ):
                start += 1
                continue
            break
        if interaction.status == "failed":
            # A failed run's partial output is reported on the turn, not replayed later.
            turn.steps.extend(steps[start:])
            return
        for step in steps[start:]:
            state.append(step, turn, encode_step(step))
        if state.strategy == "stateless" or not stored:
            state.chain_id = None
        elif interaction.id:
            state.chain_id = interaction.id
            state.chain_len = len(state.history)

    def _limit_reached(self, turn: Turn) -> MaxStepsExceeded:
        turn.status = "max_steps"
        return MaxStepsExceeded(
            f"the turn reached max_steps={self.max_steps} model requests and the model still "
            "wants to continue; raise max_steps or simplify the task (the history stays "
            "usable: unanswered calls were closed with an error result)",
            turn,
            self.max_steps,
        )

    def _run_calls(self, turn: Turn, calls: list[FunctionCallStep]) -> Generator[Effect, Any, None]:
        for call in calls:
            yield Emit(ToolCallStarted(call=call))
        outcomes = yield RunTools(calls)
        if self.hooks is not None and self.hooks.after_tool:
            outcomes = yield from self.hooks.results(outcomes, turn)
        for outcome in outcomes:
            yield Emit(self._finished(self._record_outcome(turn, outcome)))

    @staticmethod
    def _finished(record: ToolCall) -> ToolCallFinished:
        return ToolCallFinished(
            call=record.call,
            result=record.result,
            is_error=record.is_error,
            error=record.error,
            duration=record.duration,
        )

    def _append_result(
        self, turn: Turn, call: FunctionCallStep, text: str, *, is_error: bool
    ) -> ToolCall:
        result = FunctionResultStep(call_id=call.id, name=call.name, result=text, is_error=is_error)
        self.state.append(result, turn)
        record = ToolCall(
            call=call, result=result, is_error=is_error, error=text if is_error else None
        )
        turn.tool_calls.append(record)
        return record

    def _record_outcome(self, turn: Turn, outcome: Any) -> ToolCall:
        result: FunctionResultStep = outcome.result
        self.state.append(result, turn)
        error = outcome.error
        record = ToolCall(
            call=outcome.call,
            result=result,
            is_error=bool(outcome.is_error),
            error=None if error is None and not outcome.is_error else _result_text(result),
            duration=float(getattr(outcome, "duration", 0.0) or 0.0),
            value=getattr(outcome, "value", None),
        )
        turn.tool_calls.append(record)
        return record


def _result_text(result: FunctionResultStep) -> str:
    value = result.result
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return json.dumps(value)
    return " ".join(getattr(block, "text", "") or "" for block in value)

"""The sans-I/O agent engine: the turn protocol.

A turn is a generator that yields *effects* and receives their results. It never opens a
socket, sleeps, awaits or touches a store; the drivers (``Conversation``,
``AsyncConversation``, and any other, e.g. a durable workflow) perform the effects. That keeps
one implementation of the loop for every world.

The effects, and what a driver answers to each, are listed in ``effects.py``; ``drive.py``
holds the one loop that feeds a protocol's effects to a driver's world and sends the answers
back. The public way in for a new driver is ``Conversation.engine()`` (see
docs/architecture.md).

The generator returns the finished ``Turn`` (``StopIteration.value``) or raises. Whatever
happens, the state keeps its invariants: history encodes, every call is answered exactly once,
and the next request is accepted (see ``state.py``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import typing
from collections.abc import Callable, Collection, Generator, Sequence
from typing import Any, NamedTuple

from agentloop.errors import (
    AgentloopError,
    APIError,
    ConflictError,
    HookError,
    InputError,
    InteractionCancelledError,
    InteractionFailedError,
    InteractionIncompleteError,
    MalformedResponseError,
    MaxStepsExceeded,
    NotFoundError,
    OutputValidationError,
    StateError,
    StoreError,
    ToolError,
    TurnError,
    TurnInProgressError,
    UnexpectedStatusError,
    UsageLimitExceeded,
)
from agentloop.types import (
    RUNNING_STATUSES,
    FunctionCallStep,
    FunctionResultStep,
    Interaction,
    RawJSON,
    TextContent,
    UserInputStep,
    WireModel,
    input_to_steps,
)
from agentloop.types._encode import encode_user_text

from .cancel import cancelled_by_request
from .compaction import Compaction, compact_view
from .effects import (
    Effect,
    Emit,
    InDoubt,
    Persist,
    Protocol,
    RunHook,
    RunTools,
    SendRequest,
    Summarize,
    WaitBackground,
)
from .events import (
    ApprovalRequired,
    InteractionCompleted,
    LoopEvent,
    OutputRetry,
    Recovered,
    StrategyFallback,
    ToolCallFinished,
    ToolCallStarted,
    TurnCompleted,
)
from .history import encode_step
from .hooks import HookSet, hook_name
from .limits import LimitGuard, NestedGuard, UsageTotals
from .records import (
    CallsStarted,
    Journal,
    ResponseReceived,
    TurnEnded,
    TurnPaused,
    TurnResumed,
    TurnRolledBack,
    TurnStarted,
)
from .state import (
    STRATEGIES,
    ConversationState,
    Strategy,
)
from .timetravel import now
from .turn import ToolCall, Turn, TurnStatus, result_text

__all__ = [
    "RUNNING_STATUSES",
    "STRATEGIES",
    "ConversationState",
    "Effect",
    "Emit",
    "InDoubt",
    "Persist",
    "Protocol",
    "RunHook",
    "RunTools",
    "SendRequest",
    "Strategy",
    "Summarize",
    "TurnEngine",
    "WaitBackground",
]


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
ECHO_TYPES = frozenset({"user_input", "function_result"})
INTERRUPTED = "interrupted before a result was recorded."
# How a call is answered when it started, the turn stopped before its result was known, and
# a new message (not a decision) followed: what is known, no more.
IN_DOUBT = (
    "Outcome unknown: this call started, but the turn was interrupted before its result was "
    "known, so it may or may not have taken effect. Check before calling it again."
)
RERUN_UNKNOWN = (
    "Outcome unknown: this call started, but the turn was interrupted before its result was "
    "known. It is safe to call again."
)
# An idempotent call of a turn a crash cut short (whether it started is not journaled for
# them), answered because a new message followed.
MAYBE_RAN = (
    "Outcome unknown: the turn was interrupted before this call's result was recorded, so it "
    "may or may not have run. It is safe to call again."
)
# The same for a call that is idempotent only as itself (``Tool.resumes``: a sub-agent).
MAYBE_RAN_CHECK = (
    "Outcome unknown: the turn was interrupted before this call's result was recorded, so it "
    "may or may not have run. Check before calling it again."
)


def _superseded(paused: Any, call_id: str, safe_again: bool) -> str:
    """The answer to a call of a paused turn when a new message came instead of ``resume()``:
    what is known, and the decision taken on it, if any (``safe_again``: the model may be told
    to call it again, see ``TurnEngine.safe_again``)."""
    if call_id in paused.in_doubt:
        return IN_DOUBT
    decision = paused.decisions.get(call_id)
    if decision is None:
        return "The user did not approve this call before sending a new message."
    approved, reason = decision
    if reason == RERUN_UNKNOWN:
        return RERUN_UNKNOWN if safe_again else IN_DOUBT
    if approved:
        return "Not run: the user approved it, but sent a new message before it ran."
    return "The user rejected this call." + (f" Reason: {reason}" if reason else "")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "the turn was interrupted (KeyboardInterrupt) before this call ran."
    if isinstance(exc, GeneratorExit):
        return "the caller stopped the turn before this call ran."
    if cancelled_by_request(exc):
        return "the turn was cancelled (conv.cancel()) before this call ran."
    if isinstance(exc, (asyncio.CancelledError, concurrent.futures.CancelledError)):
        return "the turn was cancelled before this call ran."
    return f"the turn stopped on {type(exc).__name__}: {exc}"


class _Mark(NamedTuple):
    """The journal before a new turn, to undo the turn when the model sent nothing back (the
    state's part is ``ConversationState.checkpoint``, set by ``TurnStarted``)."""

    journal_version: int
    journal_pending: int


_NO_JOURNAL = _Mark(0, 0)


class Observer(typing.Protocol):
    """Wraps each turn's protocol (tracing, log lines; ``loop/_tracing.py``): called with the
    protocol, how the turn began and its new input steps. ``per_call`` (known once the turn
    is first driven) says whether it reads each call's events."""

    per_call: bool

    def __call__(self, proto: Protocol, how: str, steps: list[Any], /) -> Protocol: ...


class TurnEngine:
    """Runs one turn of a conversation as a generator of effects.

    ``needs_approval(call)`` says whether a call waits for a human; ``is_idempotent(name)``
    whether a tool may run again after a crash cut its call short. ``call_events=False``
    leaves out the ``ToolCallStarted``/``ToolCallFinished`` event of each call, for a driver
    that reads no events (an ``observe`` that reads them still gets them).
    """

    def __init__(
        self,
        state: ConversationState,
        *,
        static_body: dict[str, Any],
        max_steps: int,
        needs_approval: Callable[[FunctionCallStep], bool],
        is_idempotent: Callable[[str], bool] = lambda name: False,
        safe_again: Callable[[str], bool] | None = None,
        parse_output: Callable[[str], Any] | None = None,
        background: bool = False,
        compaction: Compaction | None = None,
        limits: LimitGuard | NestedGuard | None = None,
        hooks: HookSet | None = None,
        observe: Observer | None = None,
        grace: float = 5.0,
        output_retries: int = 0,
        on_results: Callable[[list[ToolCall]], list[LoopEvent]] | None = None,
        output_validators: Sequence[Callable[[Any], Any]] = (),
        call_events: bool = True,
    ) -> None:
        self.hooks = hooks
        self.grace = grace  # seconds an interrupted tool batch waits for running calls
        self._doubt: list[FunctionCallStep] = []  # started, result unknown (interrupted)
        # How many times an answer that does not validate goes back to the model for another try.
        self.output_retries = output_retries
        # ``fn(output) -> output`` (sync or async, run as effects); ``ModelRetry`` refuses it.
        self.output_validators = tuple(output_validators)
        # Events that follow a batch of tool results (agents: a ``Handoff``).
        self.on_results = on_results
        # Whether each call of a batch is announced (``ToolCallStarted``) and reported
        # (``ToolCallFinished``) to the driver: off for one that reads no events (``send``),
        # where they were 2 objects and ~8 generator resumptions a call nobody looked at; the
        # observer, if any, still gets them when it reads them (``Observer.per_call``). The
        # calls, their records and the history are the same either way.
        self.call_events = call_events
        # Calls a tool *held* open in the last batch (a sub-agent waiting for approval: its
        # outcome's error says ``holds_call``): they pause the turn, not in doubt unless the
        # error says ``in_doubt`` too (the sub-agent's own tools may have taken effect).
        self.held: set[str] = set()
        self.held_doubt: set[str] = set()
        self.held_clean: set[str] = set()  # held by a sub-agent that ran no tool of its own
        self.rerun_pending: set[str] = set()  # approved to run again, not run yet (resume)
        self.approved_by_human: set[str] = set()  # of the calls a ``resume()`` runs
        # Wraps each turn's protocol (tracing, log lines): (protocol, how, new input steps).
        self.observe = observe
        self.state = state
        self.static_body = static_body
        self.max_steps = max_steps
        self.needs_approval = needs_approval
        self.is_idempotent = is_idempotent
        # Whether the model may be told a call of unknown outcome is safe to make again: an
        # idempotent tool, unless it is so only because its call run again resumes its own
        # run (``Tool.resumes``: a sub-agent; a new call would start afresh).
        self.safe_again = is_idempotent if safe_again is None else safe_again
        self.parse_output = parse_output
        self.background = background
        self.compaction = compaction  # compaction.py: the view sent, trigger, summaries
        self.limits = limits  # limits.py: UsageLimits checked around each request
        self.price = limits.price if limits is not None else None

    # --- the three ways into a turn (each checks eagerly, changes state only when driven) ----

    def start(self, user_input: Any) -> Protocol:
        """A new turn with this user input. Raises ``InputError`` at once (changing nothing)
        when the input is not one of the accepted forms or cannot be encoded, and
        ``StateError``/``TurnInProgressError`` when the conversation's status forbids it."""
        self.state.status.check("start")
        steps = input_to_steps(user_input)
        try:
            if type(user_input) is str:  # a plain text turn: its bytes without the serializer
                wires = [encode_user_text(user_input)]
            else:
                wires = [encode_step(step) for step in steps]
        except Exception as exc:
            raise InputError(
                f"the input cannot be sent: {exc}. Nothing was added to history; pass text "
                "that is valid Unicode (no lone surrogates) and JSON-ready values"
            ) from None
        if self.observe is not None:
            return self.observe(self._start(steps, wires), "start", steps)
        return self._start(steps, wires)

    def resume(self) -> Protocol:
        """Continue a turn that paused for approval, with the decisions taken since."""
        self.state.status.check("resume")
        paused = self.state.paused
        assert paused is not None
        undecided = [c.id for c in paused.awaiting if c.id not in paused.decisions]
        if undecided:
            raise StateError(
                f"calls {', '.join(undecided)} have no decision yet; call approve(call_id) or "
                "reject(call_id, reason) for each before resume()"
            )
        if self.observe is not None:
            return self.observe(self._resume(), "resume", [])
        return self._resume()

    def recover(self) -> Protocol:
        """Finish a turn cut short (by a crash, or saved mid-way): journaled results are kept,
        unstarted or idempotent calls run, calls that may have run wait for a decision, and
        the request in flight is sent again."""
        self.state.status.check("recover")
        if self.observe is not None:
            return self.observe(self._recover(), "recover", [])
        return self._recover()

    def _start(self, steps: list[WireModel], wires: list[bytes]) -> Protocol:
        state = self.state
        if state.cut is not None:  # closing its calls is kept: take the lease before
            yield from self._hold_lease()
        state.status.move("start")
        turn = Turn(input=list(steps))
        try:
            cut = state.cut
            if cut is not None:  # a turn cut short: its unanswered calls were interrupted
                cut_turn = cut.to_turn(state.history)
                for call in list(state.open_calls.values()):
                    # It may have run: never say it did not. Non-idempotent calls are journaled
                    # as started before they run; idempotent ones are not (nothing to decide).
                    idempotent = self.is_idempotent(call.name)
                    safe = self.safe_again(call.name)
                    if call.id in cut.started:
                        self._answer(cut_turn, call, RERUN_UNKNOWN if safe else IN_DOUBT)
                    elif idempotent:
                        self._answer(cut_turn, call, MAYBE_RAN if safe else MAYBE_RAN_CHECK)
                state.close_open_calls(cut_turn, INTERRUPTED)  # the ones that never started
                state.commit(TurnEnded("interrupted"))
            journal = state.journal
            mark = _Mark(journal.version, len(journal.pending)) if journal else _NO_JOURNAL
            paused = state.paused
            state.commit(TurnStarted(state.strategy, now()))
            retired: list[ToolCall] = []
            if paused is not None:
                # A new message while calls await a decision: those that never ran are
                # answered as not approved; those that may have run (in doubt) say so. Their
                # answers are announced like results (a UI closes its approval cards).
                for call in paused.awaiting:
                    if call.id in state.open_calls:
                        text = _superseded(paused, call.id, self.safe_again(call.name))
                        retired.append(self._answer(turn, call, text))
            state.extend(steps, turn, wires)
            # Else the lease is taken with the turn's first records, in one write before
            # anything is sent (a refusal there undoes the turn: ``_fail``, ``_rollback``).
            self._want_lease()
        except BaseException:
            state.status.move("finish")
            raise
        return (yield from self._loop(turn, mark=mark, announce=retired))

    def _resume(self) -> Protocol:
        yield from self._hold_lease()
        state = self.state
        state.status.move("resume")
        paused = state.paused
        assert paused is not None
        turn = paused.turn
        try:
            state.commit(TurnResumed({k: list(v) for k, v in paused.decisions.items()}))
            turn.status = "running"
            turn.error = None  # (what stopped it before, if anything, is over)
            turn.pending_approvals = []
            approved: list[FunctionCallStep] = []
            rejected: list[ToolCall] = []
            self.approved_by_human = set()
            for call in paused.awaiting:
                ok, reason = paused.decisions[call.id]
                if ok:
                    approved.append(call)
                    if reason != RERUN_UNKNOWN:
                        self.approved_by_human.add(call.id)
                    if call.id in paused.in_doubt or reason == RERUN_UNKNOWN:
                        self.rerun_pending.add(call.id)  # it had started: never "not run"
                    continue
                why = f" Reason: {reason}" if reason else ""
                if call.id in paused.in_doubt:
                    text = f"Not run again: the call was in doubt and a human rejected it.{why}"
                else:
                    text = f"The user rejected this call.{why}"
                rejected.append(self._answer(turn, call, text))
        except BaseException:
            state.status.move("finish")
            raise
        return (yield from self._loop(turn, approved=approved, announce=rejected))

    def _recover(self) -> Protocol:
        yield from self._hold_lease()
        state = self.state
        state.status.move("recover")
        cut = state.cut
        assert cut is not None
        turn = cut.to_turn(state.history)
        state.cut, state.progress = None, cut  # the turn goes on where it was cut
        calls = [s for s in turn.steps if getattr(s, "id", None) in state.open_calls]
        in_doubt = {c.id for c in calls if c.id in cut.started and not self.is_idempotent(c.name)}
        return (yield from self._loop(turn, calls=calls, in_doubt=in_doubt, recovered=True))

    # --- the loop --------------------------------------------------------------------------------

    def _loop(
        self,
        turn: Turn,
        *,
        mark: _Mark | None = None,
        approved: Sequence[FunctionCallStep] = (),
        calls: Sequence[FunctionCallStep] = (),
        announce: Sequence[ToolCall] = (),
        in_doubt: Collection[str] = (),
        recovered: bool = False,
    ) -> Protocol:
        """The turn: run ``approved`` calls, dispatch ``calls`` (approval and in-doubt
        checks), then request, absorb and dispatch until the model is done."""
        state = self.state
        try:
            if recovered:
                rerun = [c.id for c in calls if c.id not in in_doubt]
                yield Emit(Recovered(rerun=rerun, in_doubt=sorted(in_doubt)))
            yield from self._persist()
            for record in announce:  # calls answered before the loop started (rejections)
                yield Emit(self._finished(record))
            if approved and self.hooks is not None and self.hooks.before_tool:
                # Hooks see the model's calls again (an approval satisfies RequireApproval).
                originals = [state.open_calls.get(c.id, c) for c in approved]
                approved, _ = yield from self._hook_calls(turn, originals)
            if approved:
                # Which of them a human approved (not re-run on their own as idempotent): a
                # sub-agent's call approves the calls its sub-agent waits for only then.
                state.approved_now = frozenset(self.approved_by_human)
                try:
                    doubtful = yield from self._run_calls(turn, list(approved))
                finally:
                    state.approved_now = frozenset()
                self.rerun_pending = set()  # they ran (what came of them is recorded)
                if doubtful:
                    doubt = {c.id for c in doubtful if c.id not in self.held}
                    doubt |= self.held_doubt
                    yield from self._pause(turn, doubtful, doubt)
                    return turn
            pending = list(calls)
            continuation: tuple[str, list[RawJSON]] | None = None
            background = self.background
            retries = 0
            while True:
                if pending:
                    if (yield from self._dispatch(turn, pending, in_doubt)):
                        return turn  # paused for approval
                    pending, in_doubt = [], ()
                if turn.model_requests >= self.max_steps:
                    raise self._limit_reached(turn)
                if continuation is None:
                    yield from self._before_request(turn)
                body = self._request_body(continuation, background)
                if continuation is None:
                    state.view.request_sent()
                continuation = None
                if self.hooks is not None and self.hooks.before_request:
                    body = yield from self.hooks.request(body, turn)
                try:
                    interaction: Interaction = yield SendRequest(body)
                except NotFoundError as exc:
                    previous = body.get("previous_interaction_id")
                    if previous is None:
                        raise
                    state.set_chain(None, 0)
                    yield Emit(StrategyFallback(previous_interaction_id=previous, reason=str(exc)))
                    continue
                except APIError as exc:
                    if exc.status_code == 413:
                        exc.hint = _TOO_LARGE
                    raise
                if background and interaction.status in RUNNING_STATUSES:
                    state.status.move("suspend", background=interaction.id)
                    interaction = yield WaitBackground(interaction)
                    state.status.move("continue")
                background = False
                sent_from = state.chain_len if "previous_interaction_id" in body else 0
                self._absorb(
                    turn, interaction, stored=body.get("store") is not False, sent_from=sent_from
                )
                if interaction.status not in _WRITTEN_LATER:
                    yield from self._persist()
                if self.hooks is not None and self.hooks.after_response:
                    yield from self.hooks.response(interaction, turn)
                yield Emit(InteractionCompleted(interaction=interaction))
                if self.limits is not None:
                    self._check_limits(turn, self.limits.after_response, state.usage)
                status = interaction.status
                if status == "requires_action":
                    pending = self._calls_to_answer(turn, interaction)
                    if self.limits is not None:  # no calls run that a limit forbids answering
                        yield from self._before_request(turn, compact=False)
                elif status == "requires_continuation" and interaction.continuation_token:
                    continuation = (interaction.continuation_token, list(body.get("input") or []))
                elif status == "completed":
                    problem = yield from self._parse(turn)
                    if problem is None:
                        return (yield from self._complete(turn))
                    if retries >= self.output_retries:
                        raise self._invalid_output(turn, problem, retries)
                    retries += 1
                    yield from self._retry_output(turn, problem, retries)
                else:
                    raise self._ending(turn, interaction)
        except BaseException as exc:
            self._fail(turn, exc, mark)
            self._let_go()
            if isinstance(exc, _JOURNALED) and not isinstance(exc, _STORE_ERRORS):
                # Journal how the turn ended (an interruption too: what ran is then in the
                # store); a store that fails now is tried next turn, and the original error
                # is the one to report.
                with contextlib.suppress(Exception):
                    yield from self._persist()
            raise
        finally:
            state.progress = None
            self._let_go()
            if state.journal is not None:
                state.journal.live = False  # its last write is done (or will never be)
            state.status.move("finish")

    def _dispatch(
        self, turn: Turn, calls: list[FunctionCallStep], in_doubt: Collection[str]
    ) -> Generator[Effect, Any, bool]:
        """Run the calls that may run; pause the turn for the others. True when paused."""
        ask: set[str] = set()
        if self.hooks is not None and self.hooks.before_tool:
            calls, ask = yield from self._hook_calls(turn, calls)
        waiting = [c for c in calls if c.id in in_doubt or c.id in ask or self.needs_approval(c)]
        runnable = [c for c in calls if c not in waiting]
        doubt = {c.id for c in waiting if c.id in in_doubt}
        if runnable:
            doubtful = yield from self._run_calls(turn, runnable)
            waiting.extend(doubtful)
            doubt.update(c.id for c in doubtful if c.id not in self.held)
            doubt |= self.held_doubt
        if not waiting:
            return False
        yield from self._pause(turn, waiting, doubt)
        return True

    def _pause(
        self, turn: Turn, waiting: list[FunctionCallStep], doubt: Collection[str]
    ) -> Generator[Effect, Any, None]:
        """The turn waits for a human decision on ``waiting`` (``doubt``: calls that may have
        run; the rule of doubt lives here only)."""
        in_doubt = self._paused(turn, waiting, doubt)
        self._let_go()
        yield from self._persist()
        yield Emit(ApprovalRequired(calls=list(waiting), in_doubt=in_doubt))
        yield Emit(TurnCompleted(turn=turn))

    def _paused(
        self,
        turn: Turn,
        waiting: list[FunctionCallStep],
        doubt: Collection[str],
        decided: dict[str, tuple[bool, str | None]] | None = None,
    ) -> list[str]:
        """Pause the turn on ``waiting`` (``decided``: decisions already taken); the ids in
        doubt."""
        in_doubt = sorted(c.id for c in waiting if c.id in doubt)
        turn.status = "awaiting_approval"
        turn.pending_approvals = waiting
        self.state.commit(
            TurnPaused(
                [c.id for c in waiting],
                in_doubt,
                turn.model_requests,
                list(turn.interaction_ids),
                turn.usage,
                {k: list(v) for k, v in (decided or {}).items()},
            ),
            turn=turn,
            awaiting=waiting,
        )
        return in_doubt

    def _run_calls(
        self, turn: Turn, calls: list[FunctionCallStep]
    ) -> Generator[Effect, Any, list[FunctionCallStep]]:
        """Run the calls and record their outcomes; the calls the world reports ``InDoubt``
        (they may have run: left open, for a decision) and those a tool held open
        (``self.held``)."""
        state = self.state
        observe = self.observe
        announce = self.call_events or (observe is not None and observe.per_call)
        if announce:
            for call in calls:
                yield Emit(ToolCallStarted(call))
        risky = [c.id for c in calls if not self.is_idempotent(c.name)]
        if risky:
            # Journaled before the tools run: after a crash these calls are "in doubt".
            state.commit(CallsStarted(risky))
        yield from self._persist()  # with the response that asked for the calls, if pending
        from agentloop.tools.execution import ToolProgress

        progress = ToolProgress()
        try:
            outcomes = yield RunTools(calls, progress=progress, grace=self.grace)
        except BaseException:
            # Interrupted: a call that returned keeps its real result; one that started and
            # did not finish (within the grace period) is in doubt; one that never started
            # is "not run" (``_fail``).
            self.held_doubt, self.held_clean = set(), set()
            for outcome in progress.finished.values():
                error = getattr(outcome, "error", None)
                if getattr(error, "holds_call", 0):  # a sub-agent stopped with the turn: open
                    doubt = self.held_doubt if getattr(error, "in_doubt", 0) else self.held_clean
                    doubt.add(outcome.call.id)
                elif outcome.call.id in state.open_calls:
                    self._record_outcome(turn, outcome)
            self._doubt = [
                c for c in calls if c.id in state.open_calls and c.id in progress.started
            ]
            raise
        doubtful = [o.call for o in outcomes if type(o) is InDoubt]
        holding = [o for o in outcomes if getattr(getattr(o, "error", None), "holds_call", 0)]
        self.held = {o.call.id for o in holding}
        self.held_doubt = {o.call.id for o in holding if getattr(o.error, "in_doubt", 0)}
        doubtful += [o.call for o in holding]
        if doubtful:
            left = {c.id for c in doubtful}
            outcomes = [o for o in outcomes if o.call.id not in left]
        if self.hooks is not None and self.hooks.after_tool:
            hooked: list[Any] = []
            try:
                outcomes = yield from self.hooks.results(outcomes, turn, hooked)
            except BaseException:
                # The tools returned: what their hooks made of them stands (a redaction done
                # is kept); the call whose hook failed, and those after it, keep their real
                # results (its error still ends the turn).
                seen = {o.call.id for o in hooked}
                for outcome in [*hooked, *(o for o in outcomes if o.call.id not in seen)]:
                    if outcome.call.id in state.open_calls:
                        self._record_outcome(turn, outcome)
                raise
        records = [self._record_outcome(turn, o) for o in outcomes if o.call.id in state.open_calls]
        doubt_ids = {c.id for c in doubtful}
        for call in calls:  # a runner that lost a call must not leave it unanswered
            if call.id in state.open_calls and call.id not in doubt_ids:
                records.append(self._answer(turn, call, "The tool runner returned no result."))
        yield from self._persist()
        if announce:
            for record in records:
                yield Emit(self._finished(record))
        if self.on_results is not None:
            for event in self.on_results(records):
                yield Emit(event)
        return doubtful

    def _hook_calls(
        self, turn: Turn, calls: list[FunctionCallStep]
    ) -> Generator[Effect, Any, tuple[list[FunctionCallStep], set[str]]]:
        """``before_tool`` hooks: answer the calls they block; the others (with the arguments
        the hooks set) and the ids they want approved."""
        assert self.hooks is not None
        allowed, ask, blocked = yield from self.hooks.calls(calls, turn)
        if blocked:
            records = [self._answer(turn, call, f"Blocked: {reason}") for call, reason in blocked]
            yield from self._persist()
            for record in records:
                yield Emit(ToolCallStarted(call=record.call))
                yield Emit(self._finished(record))
        return allowed, ask

    def _parse(self, turn: Turn) -> Generator[Effect, Any, Exception | None]:
        """Set ``turn.output`` from the final text (parsed, then through the output
        validators); the problem when it does not validate."""
        state = self.state
        if state.open_calls:
            # A completed interaction that still names calls: answer them so the next
            # request is accepted.
            state.close_open_calls(turn, "the interaction completed without waiting for it.")
        output: Any = turn.output_text
        try:
            if self.parse_output is not None:
                output = self.parse_output(output)
        except Exception as exc:  # a ValidationError, bad JSON: the model answers again
            return exc
        for validator in self.output_validators:
            try:
                output = yield RunHook(validator, output)
            except ToolError as exc:  # ModelRetry("why"): the model answers again
                return exc
            except Exception as exc:  # a bug in the validator: not the model's to fix
                raise HookError(
                    f"the output validator {hook_name(validator)} raised "
                    f"{type(exc).__name__}: {exc}. The turn ended and the history stays usable; "
                    "fix the validator (raise agentloop.ModelRetry('why') to ask the model "
                    "for another answer), then send again",
                    turn,
                    "output_validator",
                ) from exc
        turn.output = output
        return None

    @staticmethod
    def _reason(problem: Exception) -> str:
        """One line: a validator's message, or each schema error as ``field: message``."""
        if isinstance(problem, ToolError):
            return problem.message
        errors = getattr(problem, "errors", None)
        if callable(errors):
            with contextlib.suppress(Exception):
                found = [
                    f"{'.'.join(str(p) for p in e.get('loc', ())) or 'answer'}: {e.get('msg')}"
                    for e in errors()
                ]
                if found:
                    return "; ".join(found)
        return " ".join(str(problem).split()) or type(problem).__name__

    def _retry_output(
        self, turn: Turn, problem: Exception, attempt: int
    ) -> Generator[Effect, Any, None]:
        """Send the reason the answer was refused back to the model, as a user message."""
        reason = self._reason(problem)
        text = (
            f"Your answer was not accepted: {reason}\nAnswer again, following the required "
            "format exactly."
        )
        self.state.append(UserInputStep(content=[TextContent(text=text)]), turn)
        yield from self._persist()
        yield Emit(OutputRetry(attempt=attempt, reason=reason))

    def _invalid_output(self, turn: Turn, problem: Exception, retries: int) -> TurnError:
        turn.status = "failed"  # the model finished, but its answer did not validate
        tries = f" after {retries} retr{'y' if retries == 1 else 'ies'}" if retries else ""
        error = OutputValidationError(
            f"the model's output does not match the response model{tries}: "
            f"{self._reason(problem)}. The answers are in history; raise output_retries, ask "
            "again or relax the schema",
            turn,
        )
        error.__cause__ = problem
        return error

    def _complete(self, turn: Turn) -> Protocol:
        state = self.state
        turn.status = "completed"
        state.commit(TurnEnded("completed"))
        self._let_go()
        yield from self._persist()
        yield Emit(TurnCompleted(turn=turn))
        return turn

    def _fail(self, turn: Turn, exc: BaseException, mark: _Mark | None) -> bool:
        """Leave the state valid after ``exc``; True when the turn ended (not paused)."""
        state = self.state
        paused = state.paused
        if paused is not None and paused.turn is turn:
            return False  # the turn had paused before the caller stopped it
        if turn.status in ("running", "awaiting_approval"):
            turn.status = "cancelled" if cancelled_by_request(exc) else "interrupted"
        turn.error = str(exc) or type(exc).__name__
        ended = True
        doubt = [c for c in self._doubt if c.id in state.open_calls]
        self._doubt = []
        if mark is not None and turn.model_requests == 0:
            self._rollback(mark)  # nothing came from the model: as if the turn never began
        elif doubt:
            # Calls that started and whose outcome is unknown are never said not to have
            # run: the turn pauses with them, in doubt (a human decides) unless idempotent
            # (approved to run again); the calls that never started are answered "not run".
            self._answer_rerun(turn, exc, {c.id for c in doubt})
            state.close_open_calls(turn, _describe(exc), keep={c.id for c in doubt})
            in_doubt = {c.id for c in doubt if self._cut_in_doubt(c)}
            rerun: dict[str, tuple[bool, str | None]] = {
                c.id: (True, RERUN_UNKNOWN) for c in doubt if c.id not in in_doubt
            }
            self._paused(turn, doubt, in_doubt, rerun)
            ended = False
        else:
            self._answer_rerun(turn, exc, set())
            state.close_open_calls(turn, _describe(exc))
            state.commit(TurnEnded(turn.status))
        if isinstance(exc, TurnError) or (isinstance(exc, AgentloopError) and exc.turn is None):
            exc.turn = turn
        elif cancelled_by_request(exc):
            exc.turn = turn  # type: ignore[attr-defined]  # the driver returns it
        return ended

    def _cut_in_doubt(self, call: FunctionCallStep) -> bool:
        """Whether a call cut short (started, result unknown) waits for a human: a tool that
        is not idempotent; a sub-agent's call whose sub-agent ran tools (or whose run is not
        known); never a plain idempotent tool (it runs again on ``resume()``)."""
        if call.id in self.held_doubt:
            return True
        if call.id in self.held_clean:
            return False  # its sub-agent stopped before any tool of its own ran
        return not self.safe_again(call.name)

    def _answer_rerun(self, turn: Turn, exc: BaseException, again: set[str]) -> None:
        """The calls a ``resume()`` was to run again (they had started before: in doubt or
        cut short) that the turn stopped before they ran: never "not run" (they may have run
        the first time)."""
        for call_id in self.rerun_pending:  # (``again``: started again, in doubt as any cut)
            call = self.state.open_calls.get(call_id)
            if call is not None and call_id not in again:
                why = _describe(exc).removesuffix(" before this call ran.").rstrip(".")
                self._answer(
                    turn,
                    call,
                    "Outcome unknown: this call had started before and may have taken effect; "
                    f"it was not run again: {why}.",
                )
        self.rerun_pending = set()

    # --- helpers ---------------------------------------------------------------------------------

    def _before_request(self, turn: Turn, compact: bool = True) -> Generator[Effect, Any, None]:
        """Compaction and usage limits, before each request that is not a continuation: O(1)
        unless compaction runs (the view keeps a running token estimate)."""
        state, policy, limits = self.state, self.compaction, self.limits
        if (
            compact
            and policy is not None
            and policy.trigger_tokens is not None
            and state.view.estimate > policy.trigger_tokens
        ):
            model = self.static_body.get("model")
            try:
                yield from compact_view(state, policy, model, self.price, limits)
            except TurnError as exc:  # a limit stopped the summary request, or it failed
                if isinstance(exc, UsageLimitExceeded):
                    turn.status = "usage_limit"
                exc.turn = turn
                raise
        if limits is not None:
            last_input = state.view.last_input
            self._check_limits(turn, lambda t: limits.before_request(t, last_input), state.usage)

    @staticmethod
    def _check_limits(
        turn: Turn, check: Callable[[UsageTotals], None], totals: UsageTotals
    ) -> None:
        try:
            check(totals)
        except TurnError as exc:
            turn.status = "usage_limit"
            exc.turn = turn
            raise

    def _persist(self) -> Generator[Effect, Any, None]:
        journal = self.state.journal
        if journal is not None and journal.dirty:
            yield Persist(journal)

    def _hold_lease(self) -> Generator[Effect, Any, None]:
        """Take the live-turn lease (with any records still pending) before the turn changes
        anything: a writer whose turn runs elsewhere, or who is stale, fails here
        (``TurnInProgressError``, ``ConflictError``) with nothing written, sent or changed."""
        journal = self._want_lease()
        if journal is None:
            return
        try:
            yield Persist(journal)
        except BaseException:
            journal.holding = journal.live = False
            raise

    def _want_lease(self) -> Journal | None:
        """The turn holds the live-turn lease from the next write on; the journal, if it has
        a lease."""
        journal = self.state.journal
        if journal is None or journal.owner is None:
            return None
        journal.holding = journal.live = True
        return journal

    def _let_go(self) -> None:
        """The turn is ending: the next write gives the lease back (and renewal stops)."""
        journal = self.state.journal
        if journal is not None:
            journal.holding = False

    def _rollback(self, mark: _Mark) -> None:
        state = self.state
        state.apply(TurnRolledBack())
        journal = state.journal
        if journal is not None:
            if journal.version == mark.journal_version:
                del journal.pending[mark.journal_pending :]  # never written: just forget it
            else:
                journal.add(TurnRolledBack())

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
        else:
            body.update(state.input_fields())
            if background:
                body["background"] = True
        if body.get("environment") == "remote" and "previous_interaction_id" in body:
            # A chained request goes on in the chain's environment; "remote" again would be
            # a new sandbox (the files of the turns before gone).
            del body["environment"]
        return body

    def _absorb(
        self, turn: Turn, interaction: Interaction, *, stored: bool, sent_from: int = 0
    ) -> None:
        """Check a finished interaction, then add its new steps to history and move the chain.

        A malformed interaction (repeated call ids, or an id of an earlier turn) changes
        nothing and raises: its calls are not run and the next request does not chain onto
        it. ``sent_from`` is where the history sent as this request's input begins."""
        state = self.state
        steps = list(interaction.steps or [])
        # Some responses echo the input (spec §11.10): skip leading client steps and the
        # calls that were part of the input sent (a call id of an earlier turn that was not
        # sent is the model reusing an id: malformed, refused below).
        start = 0
        echoable: set[str] | None = None
        while start < len(steps):
            step = steps[start]
            if getattr(step, "type", None) in ECHO_TYPES:
                start += 1
                continue
            if isinstance(step, FunctionCallStep) and step.id in state.call_ids:
                if echoable is None:
                    echoable = {
                        s.id for s in state.history[sent_from:] if isinstance(s, FunctionCallStep)
                    }
                if step.id in echoable:
                    start += 1
                    continue
            break
        new = steps[start:]
        seen: set[str] = set()
        for position, step in enumerate(new, start):
            if isinstance(step, FunctionCallStep):
                if not step.name:
                    raise MalformedResponseError(
                        f"interaction {interaction.id} has a function_call without a name "
                        f"(step {position}, id {step.id!r}), so it cannot be answered; none of "
                        "its calls ran and the conversation does not chain onto it. Send again "
                        "to retry the turn",
                        turn,
                    )
                if step.id in seen or step.id in state.call_ids:
                    raise MalformedResponseError(
                        f"interaction {interaction.id} has a function_call id {step.id!r} that "
                        "is already used; none of its calls ran and the conversation does not "
                        "chain onto it. Send again to retry the turn",
                        turn,
                    )
                seen.add(step.id)
        state.count_usage(interaction.usage, self.price)
        if self.limits is not None:
            self.limits.record(interaction.usage)
        usage = interaction.usage
        state.view.calibrate(usage.total_input_tokens if usage is not None else None)
        if interaction.status == "failed":
            # A failed run's partial output is reported on the turn, not replayed later.
            turn.model_requests += 1
            self._count(turn, interaction)
            turn.steps.extend(new)
            return
        wires = [encode_step(step) for step in new]
        turn.model_requests += 1
        self._count(turn, interaction)
        state.commit(ResponseReceived(interaction.id, str(interaction.status), interaction.usage))
        state.extend(new, turn, wires)
        if state.strategy == "stateless" or not stored:
            state.set_chain(None, 0)
        elif interaction.id:
            state.set_chain(interaction.id, len(state.history))

    @staticmethod
    def _count(turn: Turn, interaction: Interaction) -> None:
        if interaction.id:
            turn.interaction_ids.append(interaction.id)
        if interaction.usage is not None:
            # The first usage of a turn is taken as is; later ones are summed.
            turn.usage = (
                interaction.usage if turn.model_requests <= 1 else turn.usage + interaction.usage
            )
        turn.last_interaction = interaction

    def _calls_to_answer(self, turn: Turn, interaction: Interaction) -> list[FunctionCallStep]:
        if turn.model_requests >= self.max_steps:
            raise self._limit_reached(turn)  # do not run calls nobody will read
        pending = [c for c in interaction.function_calls if c.id in self.state.open_calls]
        if not pending:
            raise UnexpectedStatusError(
                "the interaction is requires_action but names no open function_call, so "
                "there is nothing to answer; the server's response was malformed. Send "
                "again to retry the turn",
                turn,
            )
        return pending

    def _ending(self, turn: Turn, interaction: Interaction) -> TurnError:
        status = interaction.status
        turn.status, error_cls, advice = _ENDINGS.get(str(status), _UNKNOWN_ENDING)
        detail = ""
        if interaction.errors:
            detail = ": " + "; ".join(str(e.message or e.code) for e in interaction.errors)
        message = (
            f"interaction {interaction.id} ended with status {status!r}{detail}. The "
            f"conversation stays usable: {advice}"
        )
        if error_cls is InteractionFailedError:
            return InteractionFailedError(message, turn, interaction.errors)
        return error_cls(message, turn)

    def _limit_reached(self, turn: Turn) -> MaxStepsExceeded:
        turn.status = "max_steps"
        return MaxStepsExceeded(
            f"the turn reached max_steps={self.max_steps} model requests and the model still "
            "wants to continue; raise max_steps or simplify the task (the history stays "
            "usable: unanswered calls were closed with an error result)",
            turn,
            self.max_steps,
        )

    @staticmethod
    def _finished(record: ToolCall) -> ToolCallFinished:
        # (Positional, as ``_record_outcome`` builds the record: once per call.)
        return ToolCallFinished(
            record.call, record.result, record.is_error, record.error, record.duration
        )

    def _answer(self, turn: Turn, call: FunctionCallStep, text: str) -> ToolCall:
        """Answer a call with an ``is_error`` result the model reads."""
        result = FunctionResultStep(call_id=call.id, name=call.name, result=text, is_error=True)
        self.state.append(result, turn)
        record = ToolCall(call=call, result=result, is_error=True, error=text)
        turn.tool_calls.append(record)
        return record

    def _record_outcome(self, turn: Turn, outcome: Any) -> ToolCall:
        result: FunctionResultStep = outcome.result
        try:
            # The tool layer already encoded the result to check it (``ToolOutcome.wire``;
            # ``None`` when a hook replaced it): encode only when it did not.
            wire = getattr(outcome, "wire", None) or encode_step(result)
        except Exception as exc:  # structural guard: history only holds what encodes
            text = (
                f"Tool {outcome.call.name!r} returned a result that cannot be sent "
                f"({type(exc).__name__}: {exc})."
            )
            return self._answer(turn, outcome.call, text)
        self.state.append(result, turn, wire)
        is_error = bool(outcome.is_error)
        error = None if outcome.error is None and not is_error else result_text(result)
        duration = float(getattr(outcome, "duration", 0.0) or 0.0)
        value = getattr(outcome, "value", None)
        # (Positional: a dataclass's keyword arguments cost ~0.15 us more, once per call.)
        record = ToolCall(outcome.call, result, is_error, error, duration, value)
        turn.tool_calls.append(record)
        return record


_TOO_LARGE = (
    "The request is over the API's size limit; a large tool result or input is the usual "
    "cause. Set Compaction(max_tool_result_chars=...) on the conversation so that long tool "
    "results are sent truncated with a marker (history keeps them whole), or call "
    "conv.compact() to fold older steps, then send again"
)
_STORE_ERRORS = (StoreError, ConflictError, TurnInProgressError)
# How a turn may stop and still write how it ended: errors and interruptions. (A process that
# dies writes nothing; GeneratorExit cannot wait for a write.)
_JOURNALED = (
    Exception,
    KeyboardInterrupt,
    asyncio.CancelledError,
    concurrent.futures.CancelledError,
)
# A response with these statuses is journaled in one write with what follows at once (the
# "started" record of the calls it asks for, or the turn's end): one store write fewer per step,
# and nothing runs before its response is journaled.
_WRITTEN_LATER = frozenset({"requires_action", "completed"})

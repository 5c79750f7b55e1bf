"""Hooks: user code that sees and steers a turn at four points.

* ``before_request(ModelRequest)`` before each model request: edit ``request.body`` (or return
  a new body dict), or return ``Deny(reason)`` to veto the request (the turn ends with
  ``RequestVetoedError``);
* ``after_response(ModelResponse)`` after each model response was added to history;
* ``before_tool(ToolCallRequest)`` when the model asks for a call, before approval and
  execution: edit ``call.arguments`` (or return a new dict), return ``Deny(reason)`` to block
  the call (the model gets an ``is_error`` result with the reason) or ``RequireApproval()`` to
  pause the turn for a human as ``requires_approval=True`` tools do;
* ``after_tool(ToolCallResult)`` after a call ran: set ``result.result`` (or return a new
  value) to replace or redact what the model sees.

Hooks may be sync or async callables and run in the order given. An exception in a hook ends
the turn with ``HookError`` and every open call is answered (the history stays valid).

Design: the engine cannot await, so each hook call is an *effect* (``effects.RunHook``) the
engine yields and the driver's world performs (call it, await it if it returned an
awaitable). Everything a hook's answer means is decided here, in generators the engine
delegates to, so every driver shares one implementation and only the call differs.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, Union

from agentloop.errors import HookError, RequestVetoedError
from agentloop.types import FunctionCallStep, FunctionResultStep, Interaction, RawJSON

from .effects import RunHook

if TYPE_CHECKING:
    from .turn import Turn

__all__ = [
    "Deny",
    "Hooks",
    "ModelRequest",
    "ModelResponse",
    "RequireApproval",
    "ToolCallRequest",
    "ToolCallResult",
]

E = TypeVar("E")

HookFunction = Callable[[E], Any]
"""A hook: called with the event object; returns ``None``, a decision or a replacement (sync or
async)."""

HookSpec = Union[Callable[[E], Any], Sequence[Callable[[E], Any]], None]


# --- decisions ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deny:
    """Returned by ``before_request`` (veto the request) or ``before_tool`` (block the call)."""

    reason: str


@dataclass(frozen=True, slots=True)
class RequireApproval:
    """Returned by ``before_tool``: the call waits for ``approve``/``reject`` and ``resume``."""


# --- events ------------------------------------------------------------------------------------


@dataclass(slots=True)
class ModelRequest:
    """A model request about to be sent. ``body`` is a plain JSON copy: edit it in place."""

    body: dict[str, Any]
    turn: Turn
    conversation: Any
    step: int
    """1 for the turn's first request, 2 for the next..."""


@dataclass(slots=True)
class ModelResponse:
    """A finished model request; its steps are already in history."""

    interaction: Interaction
    turn: Turn
    conversation: Any


@dataclass(slots=True)
class ToolCallRequest:
    """A call the model asked for. ``arguments`` is a copy: edit it to run with other values
    (the history keeps what the model sent)."""

    call: FunctionCallStep
    arguments: dict[str, Any]
    turn: Turn
    conversation: Any

    @property
    def name(self) -> str:
        """The tool's name."""
        return self.call.name

    @property
    def id(self) -> str:
        """The call's id."""
        return self.call.id


@dataclass(slots=True)
class ToolCallResult:
    """A call that ran. Set ``result`` (a str, a dict or content blocks) to change what the
    model sees; ``value`` is what the tool returned, ``error`` what it raised (if anything)."""

    call: FunctionCallStep
    result: Any
    is_error: bool
    value: Any
    error: BaseException | None
    turn: Turn
    conversation: Any

    @property
    def name(self) -> str:
        """The tool's name."""
        return self.call.name


# --- user-facing container ---------------------------------------------------------------------


def _listed(spec: Any) -> tuple[Callable[[Any], Any], ...]:
    if spec is None:
        return ()
    if callable(spec):
        return (spec,)
    if isinstance(spec, (str, bytes)) or not isinstance(spec, Iterable):
        raise HookError(f"a hook must be a callable (or a list of them), got {spec!r:.60}")
    hooks = tuple(spec)
    for hook in hooks:
        if not callable(hook):
            raise HookError(f"a hook must be callable, got {hook!r}")
    return hooks


class Hooks:
    """Hook functions by point; each accepts one callable or a list (run in order).

    ``Conversation(..., hooks=Hooks(before_tool=guard))`` or ``hooks=[Hooks(...), other]`` where
    ``other`` may be any object with some of the methods ``before_request``, ``after_response``,
    ``before_tool`` and ``after_tool``; their hooks run in the order the objects are given.
    """

    def __init__(
        self,
        *,
        before_request: HookSpec[ModelRequest] = None,
        after_response: HookSpec[ModelResponse] = None,
        before_tool: HookSpec[ToolCallRequest] = None,
        after_tool: HookSpec[ToolCallResult] = None,
    ) -> None:
        self.before_request = _listed(before_request)
        self.after_response = _listed(after_response)
        self.before_tool = _listed(before_tool)
        self.after_tool = _listed(after_tool)

    def __repr__(self) -> str:
        counts = ", ".join(
            f"{point}={len(getattr(self, point))}" for point in POINTS if getattr(self, point)
        )
        return f"Hooks({counts})"


POINTS = ("before_request", "after_response", "before_tool", "after_tool")


# --- the engine side ---------------------------------------------------------------------------


def hook_name(hook: Callable[..., Any]) -> str:
    """How an error names a hook (or an output validator): its qualified name."""
    return getattr(hook, "__qualname__", None) or getattr(hook, "__name__", None) or repr(hook)


def _plain(value: Any) -> Any:
    """A plain JSON copy of a request body (pre-encoded ``RawJSON`` values decoded)."""
    if isinstance(value, RawJSON):
        return json.loads(value.data)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return copy.deepcopy(value)


def _bad_return(point: str, hook: Callable[..., Any], result: Any, allowed: str) -> HookError:
    return HookError(
        f"the {point} hook {hook_name(hook)} returned {type(result).__name__}; it may return "
        f"{allowed}. Fix the hook, then send again (the history stays usable)",
        hook=point,
    )


@dataclass
class HookSet:
    """The hooks of one conversation, flattened per point; drives them for the engine."""

    conversation: Any
    before_request: tuple[Callable[[Any], Any], ...] = ()
    after_response: tuple[Callable[[Any], Any], ...] = ()
    before_tool: tuple[Callable[[Any], Any], ...] = ()
    after_tool: tuple[Callable[[Any], Any], ...] = ()

    def _call(
        self, point: str, hook: Callable[[Any], Any], event: Any, turn: Turn
    ) -> Generator[RunHook, Any, Any]:
        try:
            return (yield RunHook(hook, event))
        except HookError as exc:  # agentloop's own hook (an agent's instructions) said what
            exc.turn = exc.turn or turn
            exc.hook = exc.hook or point
            raise
        except Exception as exc:
            raise HookError(
                f"the {point} hook {hook_name(hook)} raised {type(exc).__name__}: {exc}. The turn "
                "ended and the history stays usable (open calls were answered with an error "
                "result); fix the hook, then send again",
                turn,
                point,
            ) from exc

    def request(self, body: dict[str, Any], turn: Turn) -> Generator[RunHook, Any, dict[str, Any]]:
        """Run ``before_request`` hooks; the body to send (raises on a veto)."""
        event = ModelRequest(_plain(body), turn, self.conversation, turn.model_requests + 1)
        for hook in self.before_request:
            result = yield from self._call("before_request", hook, event, turn)
            if isinstance(result, Deny):
                raise RequestVetoedError(
                    f"a before_request hook ({hook_name(hook)}) vetoed the model request: "
                    f"{result.reason}. History stays usable; send again when the hook allows it",
                    turn,
                    result.reason,
                )
            if isinstance(result, dict):
                event.body = result
            elif result is not None:
                raise _bad_return("before_request", hook, result, "None, a dict or Deny(reason)")
        return event.body

    def response(self, interaction: Interaction, turn: Turn) -> Generator[RunHook, Any, None]:
        event = ModelResponse(interaction, turn, self.conversation)
        for hook in self.after_response:
            result = yield from self._call("after_response", hook, event, turn)
            if result is not None:  # it sees the response; it cannot change or refuse it
                error = _bad_return("after_response", hook, result, "None")
                error.turn = turn
                raise error

    def calls(
        self, calls: Iterable[FunctionCallStep], turn: Turn
    ) -> Generator[
        RunHook,
        Any,
        tuple[list[FunctionCallStep], set[str], list[tuple[FunctionCallStep, str]]],
    ]:
        """Run ``before_tool`` hooks on each call: (calls to go on with, possibly with new
        arguments; ids that must wait for approval; blocked calls with the reason)."""
        allowed: list[FunctionCallStep] = []
        ask: set[str] = set()
        blocked: list[tuple[FunctionCallStep, str]] = []
        for call in calls:
            event = ToolCallRequest(call, copy.deepcopy(call.arguments), turn, self.conversation)
            denied: Deny | None = None
            approval = False
            for hook in self.before_tool:
                result = yield from self._call("before_tool", hook, event, turn)
                if isinstance(result, Deny):
                    denied = result
                    break
                if isinstance(result, RequireApproval):
                    approval = True
                elif isinstance(result, dict):
                    event.arguments = result
                elif result is not None:
                    raise _bad_return(
                        "before_tool",
                        hook,
                        result,
                        "None, a dict of arguments, Deny(reason) or RequireApproval()",
                    )
            if denied is not None:
                blocked.append((call, denied.reason))
                continue
            if event.arguments != call.arguments:
                call = call.model_copy(update={"arguments": event.arguments})
            if approval:
                ask.add(call.id)
            allowed.append(call)
        return allowed, ask, blocked

    def results(
        self, outcomes: Sequence[Any], turn: Turn, done: list[Any] | None = None
    ) -> Generator[RunHook, Any, list[Any]]:
        """Run ``after_tool`` hooks on each outcome; the outcomes with replaced results
        (collected in ``done`` as they are made: when a hook fails, the ones before it keep
        what their hooks made of them)."""
        from agentloop.tools.results import to_result

        changed: list[Any] = done if done is not None else []
        for outcome in outcomes:
            step: FunctionResultStep = outcome.result
            # A copy: a hook that edits it in place (``result.result["card"] = ...``) changes
            # what is sent, never the step whose encoding is already made.
            given = step.result if isinstance(step.result, str) else copy.deepcopy(step.result)
            event = ToolCallResult(
                outcome.call,
                given,
                bool(step.is_error),
                getattr(outcome, "value", None),
                getattr(outcome, "error", None),
                turn,
                self.conversation,
            )
            for hook in self.after_tool:
                result = yield from self._call("after_tool", hook, event, turn)
                if result is not None:
                    event.result = result
            replaced = event.result is not given or given != step.result
            if replaced or event.is_error != bool(step.is_error):
                try:
                    value = to_result(event.result)
                except Exception as exc:
                    raise HookError(
                        f"an after_tool hook set a result of type {type(event.result).__name__} "
                        f"that cannot be sent to the model ({exc}); use a str, a dict or "
                        "content blocks",
                        turn,
                        "after_tool",
                    ) from exc
                new_step = FunctionResultStep(
                    call_id=step.call_id,
                    name=step.name,
                    result=value,
                    is_error=True if event.is_error else None,
                )
                changes: dict[str, Any] = {"result": new_step}
                if hasattr(outcome, "wire"):
                    changes["wire"] = None  # a pre-computed encoding of the old result is stale
                outcome = dataclasses.replace(outcome, **changes)
            changed.append(outcome)
        return changed


def hook_set(spec: Any, conversation: Any) -> HookSet | None:
    """Flatten ``hooks=`` (a ``Hooks``, an object with hook methods, or a list of them)."""
    if spec is None:
        return None
    items = list(spec) if isinstance(spec, (list, tuple)) else [spec]
    found: dict[str, list[Callable[[Any], Any]]] = {point: [] for point in POINTS}
    for item in items:
        if isinstance(item, Hooks):
            for point in POINTS:
                found[point].extend(getattr(item, point))
            continue
        methods = [point for point in POINTS if callable(getattr(item, point, None))]
        if not methods:
            raise HookError(
                f"hooks= takes agentloop.Hooks(...) or objects with before_request, "
                f"after_response, before_tool or after_tool methods; got {item!r}"
            )
        for point in methods:
            found[point].append(getattr(item, point))
    if not any(found.values()):
        return None
    return HookSet(conversation, **{point: tuple(found[point]) for point in POINTS})

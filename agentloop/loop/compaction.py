"""Context compaction: the view of the history the model gets, and how it is shrunk.

The local history (``conv.history``) is append-only and never loses a step. What the model
receives is the *model view*: an optional prefix of summary steps, then the history from
``ModelView.start`` on, verbatim (each step's cached wire encoding, so thought signatures go
back byte-equal), except that tool results longer than ``max_tool_result_chars`` are sent
truncated.

Everything here is sans-I/O. Compaction is a generator of effects like a turn: it yields a
``Summarize`` effect when a summary is needed (a sync or async callable, or a ``store=false``
request to the model), which the drivers perform, and an ``Emit(Compacted(...))``.

The token estimate
------------------
``ModelView`` keeps a running estimate of the input tokens of the next request, updated in
O(1) per step (never by rescanning history):

* each step in the view counts ``ceil(len(wire bytes) / 4)`` tokens (its JSON encoding);
* when a response reports ``usage.total_input_tokens``, the difference between that exact
  figure and the estimate the request was sent with becomes ``overhead`` (system instruction,
  tool declarations and the estimate's error), added to every later estimate.

So the estimate before a request is *the server's exact count for the last request, plus
chars/4 of every step added since*.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from agentloop.errors import ConfigurationError, HookError
from agentloop.types import (
    FunctionCallStep,
    FunctionResultStep,
    RawJSON,
    UserInputStep,
    step_adapter,
)

from .effects import Emit, Persist, Summarize, SummarizeFn
from .events import Compacted
from .records import ViewChanged

if TYPE_CHECKING:
    from .history import History

__all__ = [
    "Compaction",
    "ModelView",
    "Summarize",
    "SummarizeFn",
    "choose_cut",
    "compact_now",
    "compact_view",
    "estimate_tokens",
]


CLIENT_TYPES = frozenset({"user_input", "function_result"})

SUMMARY_INSTRUCTION = (
    "You summarise an earlier part of a conversation between a user, an AI assistant and its "
    "tools, so that the assistant can continue the task without it. Keep every fact, decision, "
    "open question, file name, identifier and number the assistant may still need; say what "
    "was done and what remains. Answer with the summary only."
)
# Per step, in the transcript given to the summarising model.
TRANSCRIPT_STEP_CHARS = 4000


#: A tool result whose encoding is larger than this is always sent truncated (history keeps it
#: whole): the API refuses requests over 20 MB, and one such result would make every later
#: request of the conversation fail.
MAX_SENT_RESULT_BYTES = 8 * 1024 * 1024
MAX_SENT_RESULT_CHARS = 4 * 1024 * 1024
_OVER_LIMIT = (
    "because it is over the API's request size limit; set "
    "Compaction(max_tool_result_chars=...) to choose how much of a tool result is sent"
)


def estimate_tokens(data: bytes) -> int:
    """The token estimate of one encoded step: ``ceil(len(data) / 4)``."""
    return (len(data) + 3) // 4


@dataclass(frozen=True, slots=True)
class Compaction:
    """How a conversation keeps its requests inside the model's context window.

    ``trigger_tokens``: compact before a request whose estimated input exceeds this many
    tokens (``None``: only on ``conv.compact()``). ``keep_recent``: at least this many of the
    most recent steps stay verbatim (more when a call and its result, or one interaction's
    steps, would be split). ``summarize``: ``None`` drops the older steps and leaves a short
    marker; a callable ``(steps) -> str`` (sync or async) writes the summary; ``"model"``
    asks the conversation's model in a separate ``store=false`` request without tools.
    ``max_tool_result_chars``: tool results longer than this are sent truncated, with a marker
    saying how much was cut (history and the turn keep the full result).
    """

    trigger_tokens: int | None = None
    keep_recent: int = 10
    summarize: SummarizeFn | Literal["model"] | None = None
    max_tool_result_chars: int | None = None

    def __post_init__(self) -> None:
        for name in ("trigger_tokens", "keep_recent", "max_tool_result_chars"):
            value = getattr(self, name)
            if (value is None and name != "keep_recent") or (
                isinstance(value, int) and not isinstance(value, bool)
            ):
                continue
            raise ConfigurationError(f"Compaction({name}={value!r}) must be a whole number")
        if self.trigger_tokens is not None and self.trigger_tokens < 1:
            raise ConfigurationError(
                f"Compaction(trigger_tokens={self.trigger_tokens}) must be a positive number "
                "of tokens, or None to compact only on conv.compact()"
            )
        if self.keep_recent < 0:
            raise ConfigurationError(
                f"Compaction(keep_recent={self.keep_recent}) must be 0 or more steps"
            )
        if (
            self.summarize is not None
            and self.summarize != "model"
            and not callable(self.summarize)
        ):
            raise ConfigurationError(
                f"Compaction(summarize={self.summarize!r}) must be None, 'model' or a callable "
                "(steps) -> str"
            )
        if self.max_tool_result_chars is not None and self.max_tool_result_chars < 1:
            raise ConfigurationError(
                f"Compaction(max_tool_result_chars={self.max_tool_result_chars}) must be a "
                "positive number of characters, or None to send tool results whole"
            )


# --- the view -------------------------------------------------------------------------------


class ModelView:
    """What the model gets: ``prefix`` (summary steps), then ``history[start:]`` verbatim
    except for the encodings in ``sent`` (truncated tool results, by history index)."""

    __slots__ = (
        "_saved",
        "last_input",
        "max_result_chars",
        "overhead",
        "prefix",
        "prefix_raw",
        "sent",
        "sent_estimate",
        "start",
        "tokens",
    )

    def __init__(self) -> None:
        self.start = 0
        self.prefix: list[Any] = []
        self.prefix_raw: list[RawJSON] = []
        self.sent: dict[int, RawJSON] = {}
        self.max_result_chars: int | None = None
        self.tokens = 0  # chars/4 estimate of every step of the view
        self.overhead = 0  # exact usage minus the estimate, at the last calibration
        self.sent_estimate: int | None = None  # self.tokens when the last request went out
        self.last_input = 0  # exact input tokens of the last request (0 after compaction)
        self._saved: tuple[Any, ...] | None = None  # checkpoint() at the start of a turn

    # O(1) bookkeeping, called for every step appended to history -----------------------------

    def added(self, index: int, step: Any, wire: bytes) -> None:
        """History entry ``index`` is ``step``, encoded ``wire``."""
        if isinstance(step, FunctionResultStep):
            cut = self._clip(step, wire)
            if cut is not None:
                self.sent[index] = cut
                wire = cut.data
        self.tokens += (len(wire) + 3) // 4  # estimate_tokens, inline: once per step

    def _clip(self, step: FunctionResultStep, wire: bytes) -> RawJSON | None:
        """What is sent of a tool result when not all of it: cut to ``max_result_chars``,
        and always under the API's request size limit (a result over it would make every
        later request fail with 413)."""
        limit = self.max_result_chars
        if limit is not None:
            return truncated_result(step, limit)
        if len(wire) > MAX_SENT_RESULT_BYTES:  # chars <= bytes: cheap test first
            return truncated_result(step, MAX_SENT_RESULT_CHARS, _OVER_LIMIT)
        return None

    @property
    def estimate(self) -> int:
        """Estimated input tokens of the next request."""
        return self.tokens + self.overhead

    def request_sent(self) -> None:
        self.sent_estimate = self.tokens

    def calibrate(self, input_tokens: int | None) -> None:
        """A response reported the exact input tokens of the request sent last."""
        if self.sent_estimate is not None and input_tokens is not None:
            self.overhead = input_tokens - self.sent_estimate
            self.last_input = input_tokens
        self.sent_estimate = None

    # Requests -----------------------------------------------------------------------------------

    def raw(self, history: History, start: int = 0) -> list[RawJSON]:
        """Encodings of the view from history index ``start`` on (the prefix included when
        ``start`` does not lie past the view's start)."""
        if start <= self.start:
            out = history.raw(self.start)
            if self.prefix_raw:
                out[:0] = self.prefix_raw
            first = self.start
        else:
            out = history.raw(start)
            first = start
        if self.sent:
            offset = len(out) - (len(history) - first)
            for index, wire in self.sent.items():
                if index >= first:
                    out[offset + index - first] = wire
        return out

    def steps(self, history: History) -> list[Any]:
        """The view as step models (truncated results as sent)."""
        out = [*self.prefix, *history[self.start :]]
        if self.sent:
            offset = len(self.prefix) - self.start
            for index, wire in self.sent.items():
                if index >= self.start:
                    out[offset + index] = step_adapter.validate_json(wire.data)
        return out

    def recount(self, history: History) -> None:
        """Recompute the estimate from scratch (after compaction or loading)."""
        total = sum(estimate_tokens(r.data) for r in self.raw(history))
        self.tokens = total
        self.sent_estimate = None

    def configure(self, max_result_chars: int | None, history: History) -> None:
        """Apply a ``max_tool_result_chars`` to every result of the view (a new policy or a
        loaded state): O(view) once, not per request."""
        self.max_result_chars = max_result_chars
        self.sent = {}
        for index in range(self.start, len(history)):
            step = history[index]
            if isinstance(step, FunctionResultStep):
                cut = self._clip(step, history.wire(index).data)
                if cut is not None:
                    self.sent[index] = cut
        self.recount(history)

    # Rollback (a turn that received nothing is undone, compaction included) --------------------

    def checkpoint(self) -> None:
        self._saved = (
            self.start,
            self.prefix,
            self.prefix_raw,
            self.sent,
            self.tokens,
            self.overhead,
            self.last_input,
        )

    def restore(self, length: int) -> None:
        """Back to the last ``checkpoint()``, history cut back to ``length`` steps."""
        saved = self._saved
        if saved is None:
            return
        start, self.prefix, self.prefix_raw, sent, self.tokens, self.overhead, self.last_input = (
            saved
        )
        self.start = min(start, length)
        self.sent = {i: w for i, w in sent.items() if i < length}
        self.sent_estimate = None

    # Time travel -------------------------------------------------------------------------------

    def prefix_of(self, history: History, length: int) -> ModelView:
        """A copy of this view for the first ``length`` steps of ``history`` (a fork), in
        O(steps dropped): the running estimate loses what lies past ``length``. ``start`` must
        not lie past ``length`` (a summary of later steps belongs to no prefix)."""
        assert self.start <= length <= len(history)
        view = ModelView()
        view.start, view.prefix, view.prefix_raw = self.start, self.prefix, self.prefix_raw
        view.max_result_chars = self.max_result_chars
        view.sent = {i: w for i, w in self.sent.items() if i < length} if self.sent else {}
        dropped = 0
        for index in range(length, len(history)):
            wire = self.sent.get(index) if self.sent else None
            dropped += estimate_tokens((wire or history.wire(index)).data)
        view.tokens = self.tokens - dropped
        view.overhead = self.overhead
        return view

    # Persistence --------------------------------------------------------------------------------

    def to_wire(self) -> dict[str, Any]:
        """The saved form. The calibration (``overhead``, ``last_input``) is not saved: after
        loading, estimates are chars/4 until the first response reports its usage."""
        return {
            "start": self.start,
            "prefix": [json.loads(r.data) for r in self.prefix_raw],
            "max_tool_result_chars": self.max_result_chars,
        }

    def load_wire(self, data: Any, history: History | None) -> None:
        """Take a saved view (``to_wire()``); ``history`` given: check it and recount (a
        journal replay passes ``None`` and calls ``configure`` once at the end)."""
        from agentloop.errors import SnapshotError

        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise SnapshotError("view: expected an object with 'start' and 'prefix'")
        start = data.get("start", 0)
        if (
            not isinstance(start, int)
            or start < 0
            or (history is not None and start > len(history))
        ):
            raise SnapshotError(f"view.start: {start!r} is not a history index")
        prefix, prefix_raw = [], []
        for index, item in enumerate(data.get("prefix") or []):
            try:
                prefix.append(step_adapter.validate_python(item))
            except ValueError:
                raise SnapshotError(f"view.prefix[{index}]: not a valid step") from None
            prefix_raw.append(RawJSON(_compact_json(item)))
        chars = data.get("max_tool_result_chars")
        if chars is not None and (not isinstance(chars, int) or chars < 1):
            raise SnapshotError(f"view.max_tool_result_chars: {chars!r} is not a positive int")
        self.start, self.prefix, self.prefix_raw = start, prefix, prefix_raw
        self.max_result_chars = chars
        self._saved = None
        if history is not None:
            self.configure(chars, history)


def _compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def truncated_result(
    step: FunctionResultStep, limit: int, why: str = "to keep the request small"
) -> RawJSON | None:
    """The encoding of ``step`` with its text cut to ``limit`` characters, or ``None`` when
    it is not longer than that."""
    value = step.result
    text = value if isinstance(value, str) else None
    if text is None:
        if isinstance(value, dict):
            text = json.dumps(value, ensure_ascii=False)
        else:
            parts = [getattr(b, "text", None) for b in value]
            if any(p is None for p in parts):  # images and files are sent whole
                return None
            text = "".join(p or "" for p in parts)
    if len(text) <= limit:
        return None
    cut = len(text) - limit
    short = (
        f"{text[:limit]}\n[... {cut} more characters of this tool result were cut "
        f"({len(text)} in total) {why}]"
    )
    clipped = step.model_copy(update={"result": short})
    return RawJSON(
        type(clipped).__pydantic_serializer__.to_json(clipped, by_alias=True, exclude_unset=True)
    )


# --- where to cut ---------------------------------------------------------------------------


def choose_cut(
    history: Sequence[Any], start: int, keep_recent: int, open_calls: Any = ()
) -> int | None:
    """The history index from which steps stay verbatim, or ``None`` if nothing can fold.

    A cut ``c`` is valid when the kept part ``history[c:]`` starts a user message or a new
    interaction's output (so a thought keeps every step its signature covers), every result
    kept has its call kept, and no call left unanswered is folded. Returns the largest valid
    ``c`` with ``start < c <= len(history) - keep_recent``.
    """
    n = len(history)
    limit = n - keep_recent
    open_ids = set(open_calls)
    for i in range(n):  # calls still waiting for a result must stay (rare: approvals)
        step = history[i]
        if open_ids and isinstance(step, FunctionCallStep) and step.id in open_ids:
            limit = min(limit, i)
            break
    if limit <= start:
        return None
    unmatched: set[str] = set()  # results at >= c whose call is not at >= c
    for c in range(n, start, -1):
        if c < n:
            step = history[c]
            if isinstance(step, FunctionResultStep):
                unmatched.add(step.call_id)
            elif isinstance(step, FunctionCallStep):
                unmatched.discard(step.id)
        if c > limit or unmatched:
            continue
        if c == n:
            if n and getattr(history[n - 1], "type", None) in CLIENT_TYPES:
                return c
            continue
        kind = getattr(history[c], "type", None)
        before = getattr(history[c - 1], "type", None)
        if kind == "user_input" or (before in CLIENT_TYPES and kind not in CLIENT_TYPES):
            return c
    return None


def transcript(steps: Sequence[Any]) -> str:
    """A plain-text rendering of steps, for the summarising model."""
    lines: list[str] = []
    for step in steps:
        kind = getattr(step, "type", "?")
        if kind == "thought":
            continue
        if isinstance(step, FunctionCallStep):
            text = f"{step.name}({json.dumps(step.arguments, ensure_ascii=False)})"
            who = "assistant calls tool"
        elif isinstance(step, FunctionResultStep):
            value = step.result
            text = (
                value
                if isinstance(value, str)
                else json.dumps(
                    value if isinstance(value, dict) else [getattr(b, "text", "") for b in value],
                    ensure_ascii=False,
                )
            )
            who = f"tool {step.name or step.call_id} answers" + (
                " (error)" if step.is_error else ""
            )
        else:
            text = _text_of(step)
            who = {"user_input": "user", "model_output": "assistant"}.get(kind, kind)
        if len(text) > TRANSCRIPT_STEP_CHARS:
            text = (
                text[:TRANSCRIPT_STEP_CHARS]
                + f" [... {len(text) - TRANSCRIPT_STEP_CHARS} chars cut]"
            )
        lines.append(f"{who}: {text}")
    return "\n".join(lines)


def _text_of(step: Any) -> str:
    content = getattr(step, "content", None)
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    return " ".join(getattr(b, "text", None) or f"[{getattr(b, 'type', '?')}]" for b in content)


def _summary_text(value: Any) -> str:
    """The text a ``Summarize`` effect answered with."""
    if isinstance(value, str):
        return value
    text = getattr(value, "output_text", None)
    if isinstance(text, str):
        return text
    raise ConfigurationError(
        f"the summarize callable returned {type(value).__name__}; it must return the summary "
        "as a str"
    )


# --- compaction -----------------------------------------------------------------------------


def compact_view(
    state: Any,
    policy: Compaction,
    model: str | None,
    price: tuple[float, float] | None = None,
    limits: Any = None,
) -> Generator[Any, Any, Compacted | None]:
    """Fold older steps of ``state``'s view into a summary or marker; ``None`` when nothing
    can fold. Yields ``Summarize`` (when a summary is asked for) and ``Emit(Compacted)``.

    A summary written by the model is a model request like any other: ``limits`` (the
    turn's ``LimitGuard``) checks it before it is sent and counts its usage."""
    history: History = state.history
    view: ModelView = state.view
    cut = choose_cut(history, view.start, policy.keep_recent, state.open_calls)
    if cut is None:
        # Nothing new can fold: what is left to shrink is an earlier summary, when it is too
        # big to keep (or when compaction was asked for explicitly: ``conv.compact()``).
        prefix = sum(estimate_tokens(r.data) for r in view.prefix_raw)
        if (
            not view.prefix
            or _is_marker(view.prefix)
            or (policy.trigger_tokens is not None and prefix <= policy.trigger_tokens // 2)
        ):
            return None
        cut = view.start
    before = view.estimate
    newly_folded = cut - view.start
    folded = [*view.prefix, *history[view.start : cut]]
    summarize = policy.summarize
    if summarize is None:
        text = f"[{cut} earlier steps of this conversation were omitted to fit the context window.]"
    elif cut == view.start:
        text = ""  # dropping the earlier summary: no new one is written
    elif summarize == "model":
        if model is None:
            raise ConfigurationError(
                "Compaction(summarize='model') needs a model conversation (model=...); agents "
                "cannot be asked for a summary. Pass a summarize callable instead"
            )
        prompt = "Summarise this earlier part of the conversation:\n\n" + transcript(folded)
        body = {
            "model": model,
            "store": False,
            "system_instruction": SUMMARY_INSTRUCTION,
            "input": [{"type": "user_input", "content": [{"type": "text", "text": prompt}]}],
        }
        if limits is not None:
            limits.before_request(state.usage, len(prompt) // 4)
        answer = yield Summarize(steps=folded, body=body)
        usage = getattr(answer, "usage", None)
        state.count_usage(usage, price)
        if limits is not None:
            limits.record(usage)
        text = f"Summary of the {cut} earlier steps of this conversation:\n{_summary_text(answer)}"
    else:
        try:
            summary = yield Summarize(steps=folded, fn=summarize)
        except Exception as exc:  # the user's summarizer: named, as a hook's failure is
            raise HookError(
                f"the Compaction summarize callable "
                f"{getattr(summarize, '__qualname__', repr(summarize))} raised "
                f"{type(exc).__name__}: {exc}. Nothing was compacted and the history stays "
                "usable; fix it (or use summarize=None to drop old steps), then send again",
                hook="summarize",
            ) from exc
        text = _summary_text(summary)
    marker = f"[{cut} earlier steps of this conversation were omitted to fit the context window.]"
    if summarize is not None and (
        cut == view.start  # dropping a summary that was too big
        or (
            policy.trigger_tokens is not None
            and estimate_tokens(text.encode()) > policy.trigger_tokens // 2
        )
    ):
        text = marker  # a summary too long to send is dropped: the marker says what went
    summary = UserInputStep(content=[{"type": "text", "text": text}])
    raw = RawJSON(
        type(summary).__pydantic_serializer__.to_json(summary, by_alias=True, exclude_unset=True)
    )
    view.prefix, view.prefix_raw = [summary], [raw]
    view.start = cut
    view.sent = {i: w for i, w in view.sent.items() if i >= cut}
    view.last_input = 0
    view.recount(history)
    state.note(ViewChanged(view.to_wire()))
    # A stateful conversation rolls over: the next request starts a new chain from the view.
    state.set_chain(None, 0)
    event = Compacted(tokens_before=before, tokens_after=view.estimate, steps_folded=newly_folded)
    yield Emit(event)
    return event


def _is_marker(prefix: list[Any]) -> bool:
    """Whether the view's prefix is the omission marker (nothing left to shrink there)."""
    if len(prefix) != 1:
        return False
    content = getattr(prefix[0], "content", None) or []
    text = getattr(content[0], "text", "") if content else ""
    return text.startswith("[") and text.endswith("omitted to fit the context window.]")


def compact_now(
    state: Any,
    policy: Compaction,
    model: str | None,
    price: tuple[float, float] | None,
    limits: Any = None,
) -> Generator[Any, Any, Compacted | None]:
    """``conv.compact()``: compaction outside a turn (a move of its own in the status table),
    journaled at once."""
    state.status.check("compact")
    return _compact_now(state, policy, model, price, limits)


def _compact_now(
    state: Any,
    policy: Compaction,
    model: str | None,
    price: tuple[float, float] | None,
    limits: Any = None,
) -> Generator[Any, Any, Compacted | None]:
    state.status.move("compact")
    try:
        event = yield from compact_view(state, policy, model, price, limits)
        journal = state.journal
        if journal is not None and (journal.pending or journal.meta is not None):
            yield Persist(journal)
        return event
    finally:
        state.status.move("finish")

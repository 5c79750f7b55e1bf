"""Stream assembly (sans-I/O): typed events in, the final ``Interaction`` out (spec 6.4).

Steps are kept as plain JSON dicts while they grow (cheap to mutate) and validated once, when
the interaction is asked for. :class:`StreamState` adds what both drivers need to survive a
dropped connection: decoding, de-duplication by ``event_id``, and the resume decision.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import TypeAdapter, ValidationError

from agentloop.errors import (
    AgentloopError,
    APIError,
    StreamInterruptedError,
    StreamTimeoutError,
)
from agentloop.types import FunctionCallStep, Interaction, InteractionEvent, TextDelta
from agentloop.types._base import wire_errors

from ._sse import SSEDecoder, SSEMessage

__all__ = ["StreamAccumulator", "StreamIdle", "StreamState", "event_adapter"]

logger = logging.getLogger("agentloop.client")

event_adapter: TypeAdapter[InteractionEvent] = TypeAdapter(InteractionEvent)
_validate_event = event_adapter.validator.validate_json  # skip the adapter's Python wrapper

_MEDIA = frozenset({"image", "audio", "video", "document"})
# Snapshot keys that describe the interaction as a whole (steps are rebuilt from events).
_SNAPSHOT_SKIP = frozenset({"steps", "event_type"})
_INVALID: Any = object()


def _problems(exc: ValidationError) -> str:
    errors = wire_errors(exc)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{len(errors)} problems; first: {where}: {first['msg']}"


class StreamAccumulator:
    """Feed it the events of one interaction's stream; read :attr:`interaction` at the end."""

    def __init__(self, interaction_id: str | None = None) -> None:
        self._meta: dict[str, Any] = {} if interaction_id is None else {"id": interaction_id}
        self._steps: dict[int, dict[str, Any]] = {}
        self._arguments: dict[int, list[str]] = {}
        self._errors: list[dict[str, Any]] = []
        self._current: int | None = None  # the step last started or added to
        # The text block that text deltas are appending to: its step index, the block and
        # its parts, joined once (appending to a str per delta would copy it each time).
        self._open_index: int | None = None
        self._open_block: dict[str, Any] = {}
        self._open_parts: list[str] = []
        self.argument_errors: dict[int, str] = {}
        """Step indexes whose joined ``arguments_delta`` text is not a JSON object (invalid
        JSON, or an array, a string...), with that text. Each such ``function_call`` step
        gets ``arguments={}`` and is marked (``FunctionCallStep.invalid_arguments``) in
        :attr:`interaction`, so that it is answered with an error instead of being run."""
        self.finished = False
        """An ``interaction.completed`` or ``error`` event arrived."""

    @property
    def interaction_id(self) -> str | None:
        """The interaction's id, once an event has carried it."""
        value = self._meta.get("id")
        return value if isinstance(value, str) else None

    def feed(self, event: Any) -> None:
        """Apply one typed event (any member of ``InteractionEvent``).

        Tolerant like the official SDK: a step event without ``index`` belongs to the step
        last started (a ``step.start`` without one opens the next step; the event is given
        that index), a delta or snapshot that is missing is skipped."""
        kind = getattr(event, "event_type", None)
        if kind == "step.delta":
            index = event.index
            if index is None or index != self._current:
                index = self._index_of(event, start=False)
            delta = event.delta
            if type(delta) is TextDelta and not delta.__pydantic_extra__:
                # The bulk of a stream: append the text without dumping the delta model.
                if index == self._open_index:
                    self._open_parts.append(delta.text)
                else:
                    self._text(index, delta.text)
                return
            self._close_text()
            if delta is not None:
                self._delta(index, delta.model_dump(mode="json"))
            return
        self._close_text()
        if kind == "step.start":
            index = self._index_of(event, start=True)
            step = event.step
            self._start(index, {} if step is None else step.model_dump(mode="json"))
        elif kind == "step.stop":
            self._finish_step(self._index_of(event, start=False))
            if event.usage is not None:
                # Running totals: the interaction's usage until a snapshot brings the final one.
                self._meta["usage"] = event.usage.model_dump(mode="json")
        elif kind in ("interaction.created", "interaction.completed"):
            if event.interaction is not None:
                snapshot = event.interaction.model_dump(mode="json")
                for key, value in snapshot.items():
                    if key not in _SNAPSHOT_SKIP:
                        self._meta[key] = value
                for index, step in enumerate(snapshot.get("steps") or []):
                    self._steps.setdefault(index, step)
            if kind == "interaction.completed":
                self.finished = True
        elif kind == "interaction.status_update":
            self._meta["id"] = self._meta.get("id") or event.interaction_id
            if event.status is not None:
                self._meta["status"] = event.status
            if event.continuation_token is not None:
                self._meta["continuation_token"] = event.continuation_token
            if event.usage is not None:
                self._meta["usage"] = event.usage.model_dump(mode="json")
        elif kind == "error":
            self._meta["status"] = "failed"
            if event.error is not None:
                self._errors.append(event.error.model_dump(mode="json"))
            self.finished = True
        # Unknown event types carry nothing we know how to assemble; they are still yielded.

    def _index_of(self, event: Any, *, start: bool) -> int:
        index: int | None = event.index
        if index is None:
            if start:
                index = 0 if self._current is None else max(self._steps, default=-1) + 1
            else:
                index = 0 if self._current is None else self._current
            # Numbered for whoever reads the event next; not marked as received.
            event.__dict__["index"] = index
        self._current = index
        return index

    def _start(self, index: int, step: dict[str, Any]) -> None:
        self._steps[index] = step

    def _step(self, index: int) -> dict[str, Any]:
        step = self._steps.get(index)
        if step is None:  # a delta without its step.start: assume model output
            step = self._steps[index] = {"type": "model_output"}
        return step

    def _text(self, index: int, text: str) -> None:
        self._close_text()
        content = self._step(index).setdefault("content", [])
        last = content[-1] if content else None
        if last is None or last.get("type") != "text":
            last = {"type": "text", "text": ""}
            content.append(last)
        self._open_index, self._open_block = index, last
        self._open_parts = [last.get("text", ""), text]

    def _close_text(self) -> None:
        """Join the open text block; every change to the steps but a text delta calls it."""
        if self._open_index is not None:
            self._open_block["text"] = "".join(self._open_parts)
            self._open_index = None

    def _delta(self, index: int, delta: dict[str, Any]) -> None:
        step = self._step(index)
        kind = delta.get("type")
        if kind == "text":
            self._text(index, delta.get("text", ""))
        elif kind in _MEDIA:
            step.setdefault("content", []).append(delta)
        elif kind == "text_annotation_delta":
            content = step.setdefault("content", [])
            if not content or content[-1].get("type") != "text":
                content.append({"type": "text", "text": ""})
            content[-1].setdefault("annotations", []).extend(delta.get("annotations") or [])
        elif kind == "thought_signature":
            if "signature" in delta:
                step["signature"] = delta["signature"]
        elif kind == "thought_summary":
            if delta.get("content") is not None:
                step.setdefault("summary", []).append(delta["content"])
        elif kind == "arguments_delta":
            self._arguments.setdefault(index, []).append(delta.get("arguments") or "")
        elif kind == step.get("type"):
            # Server-tool deltas carry the step's own fields: merge them in.
            for key, value in delta.items():
                if key != "type":
                    step[key] = value
        else:
            logger.debug("ignoring %s delta on a %s step", kind, step.get("type"))

    def _finish_step(self, index: int) -> None:
        parts = self._arguments.pop(index, None)
        if parts is None:
            return
        text = "".join(parts)
        step = self._step(index)
        base = step.get("arguments")
        if not text.strip():
            step.setdefault("arguments", {})
            return
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = _INVALID
        if not isinstance(parsed, dict):
            # Never guess: the call is kept (it must be answered) but marked, not run.
            self.argument_errors[index] = text
            step["arguments"] = {}
            logger.warning("function call arguments at step %d are not a JSON object", index)
            return
        if isinstance(base, dict) and base:
            parsed = {**base, **parsed}
        step["arguments"] = parsed

    def _wire(self) -> dict[str, Any]:
        self._close_text()
        for index in list(self._arguments):
            self._finish_step(index)
        data = dict(self._meta)
        data.setdefault("status", "in_progress")
        if self._steps:
            data["steps"] = [self._steps[i] for i in sorted(self._steps)]
        if self._errors:
            data["errors"] = list(data.get("errors") or []) + self._errors
        return data

    @property
    def interaction(self) -> Interaction:
        """The interaction assembled from every event fed so far."""
        data = self._wire()
        try:
            interaction = Interaction.model_validate(data)
        except ValidationError as exc:
            raise APIError(
                f"the API streamed events that do not assemble into an interaction "
                f"({_problems(exc)})",
                status_code=200,
            ) from None
        if self.argument_errors and interaction.steps:
            positions = {index: n for n, index in enumerate(sorted(self._steps))}
            for index, text in self.argument_errors.items():
                step = interaction.steps[positions[index]]
                if isinstance(step, FunctionCallStep):
                    step.mark_invalid_arguments(text)
        return interaction


class StreamIdle(httpx.ReadTimeout):
    """Raised by :meth:`StreamState.events` when no event arrived for the idle deadline; a
    ``ReadTimeout`` so that both drivers treat it exactly like a dropped connection."""


class StreamState:
    """Per-stream bookkeeping shared by the sync and async drivers.

    It decodes bytes into typed events, drops events already delivered (by ``event_id``),
    feeds the accumulator, watches the idle deadline, and decides what to do when a
    connection ends. ``resend`` says whether the original request may be sent again while it
    delivered nothing: true for ``GET ?stream=true``, false for a create, which is never
    resent once the API answered it (it could start a second interaction).
    """

    def __init__(
        self,
        *,
        max_resumes: int,
        interaction_id: str | None = None,
        last_event_id: str | None = None,
        resend: bool = False,
        idle_timeout: float | None = None,
        scrub: Callable[[str], str] | None = None,
    ) -> None:
        self.accumulator = StreamAccumulator(interaction_id)
        self.decoder = SSEDecoder()
        self.delivered = 0
        self.last_event_id = last_event_id
        self.max_resumes = max_resumes
        self.resumes_without_progress = 0
        self.resend = resend
        self.idle_timeout = idle_timeout
        self._scrub = scrub
        self._seen_ids: set[str] = set()
        self._progress = False
        self._last_event = time.monotonic()

    def new_connection(self) -> None:
        self.decoder = SSEDecoder()
        self._progress = False
        self._last_event = time.monotonic()

    def events(self, chunk: bytes) -> list[InteractionEvent]:
        """The new events completed by ``chunk`` (already accumulated).

        Raises :class:`StreamIdle` when bytes keep coming (keep-alive comments) but no event
        completed for ``idle_timeout`` seconds.
        """
        data = self.decoder.single(chunk)
        if data is not None:  # one event, as the API sends most of them: no framing work
            self._last_event = time.monotonic()
            event = self._event(data, None)
            return [] if event is None else [event]
        messages = self.decoder.feed(chunk)
        if not messages:
            if (
                self.idle_timeout is not None
                and time.monotonic() - self._last_event > self.idle_timeout
            ):
                raise StreamIdle(f"no event for {self.idle_timeout:g} s (stream_idle_timeout)")
            return []
        self._last_event = time.monotonic()
        return self._typed(messages)

    def end(self, *, complete: bool) -> list[InteractionEvent]:
        """The events a closing connection still completes."""
        return self._typed(self.decoder.close(complete=complete))

    def _typed(self, messages: list[SSEMessage]) -> list[InteractionEvent]:
        out: list[InteractionEvent] = []
        for data, _, message_id in messages:
            if data != "[DONE]":
                event = self._event(data, message_id)
                if event is not None:
                    out.append(event)
        return out

    def _event(self, data: str, message_id: str | None) -> InteractionEvent | None:
        """The typed event of one message's data, accumulated; None for a replayed one."""
        if self._scrub is not None:
            data = self._scrub(data)
        try:
            event: InteractionEvent = _validate_event(data)
        except ValidationError as exc:
            raise APIError(
                f"the API sent a stream event that is not a valid event "
                f"({len(wire_errors(exc))} problems): {data[:200]!r}",
                status_code=200,
            ) from None
        event_id = event.event_id or message_id
        if event_id is not None:
            if event_id in self._seen_ids:
                return None  # replayed by a resume: the caller has it already
            self._seen_ids.add(event_id)
            self.last_event_id = event_id
        self.accumulator.feed(event)
        self.delivered += 1
        self._progress = True
        return event

    @property
    def finished(self) -> bool:
        """The stream reached its end: a terminal event or the ``[DONE]`` sentinel."""
        return self.accumulator.finished or self.decoder.done

    def give_up(self, broken: BaseException | None) -> AgentloopError | None:
        """The error to raise for a connection that ended early (``broken`` is the transport
        failure, None for a clean close), or None when a resume may be tried."""
        if self._progress:
            self.resumes_without_progress = 0
        self.resumes_without_progress += 1
        if self.delivered == 0 and not self.resend:
            if broken is None:
                return APIError(
                    "the API answered the streaming create with 200 'text/event-stream' but "
                    "the stream ended without any event; the request was not resent (it could "
                    "start a second interaction)",
                    status_code=200,
                )
            return self.interrupted(
                "the API had answered the create, so it was not resent (that could start a "
                "second interaction)",
                broken,
            )
        if self.resumes_without_progress > self.max_resumes:
            return self.interrupted(
                f"gave up after {self.max_resumes} reconnects without new events", broken
            )
        if self.delivered == 0:
            return None  # a GET that delivered nothing: simply sent again
        if self.accumulator.interaction_id is None:
            return self.interrupted(
                "no interaction id was received, so the stream cannot be resumed", broken
            )
        if self.last_event_id is None:
            return self.interrupted(
                "the events carried no event_id, so the stream cannot be resumed", broken
            )
        return None

    def interrupted(self, reason: str, broken: BaseException | None) -> StreamInterruptedError:
        """The error for a stream that broke and cannot be resumed (a
        :class:`StreamTimeoutError` when it broke on a timeout or the idle deadline)."""
        detail = f" ({type(broken).__name__}: {broken})" if broken is not None else ""
        if self._scrub is not None:
            detail = self._scrub(detail)
        cls = StreamTimeoutError if isinstance(broken, httpx.TimeoutException) else None
        try:
            partial: Interaction | None = self.accumulator.interaction
        except APIError:
            partial = None
        return (cls or StreamInterruptedError)(
            f"the stream of interaction {self.accumulator.interaction_id!r} broke after "
            f"{self.delivered} events and {reason}{detail}",
            interaction_id=self.accumulator.interaction_id,
            last_event_id=self.last_event_id,
            events_delivered=self.delivered,
            partial_interaction=partial,
        )

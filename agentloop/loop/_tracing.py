"""The turn observer: spans, metrics and log lines for one turn, from the engine's effects
(``agentloop.instrument()`` and the ``agentloop`` logger switch it on; see
``agentloop.observe``).

``TurnObserver.wrap`` sits between the engine's protocol generator and the driver: it sees
every effect going out and every result (or exception) coming back, so one implementation
serves both drivers, and it stays sans-I/O (it never awaits). What only the driver sees
(retries, stream events) reaches it through ``SendRequest.watch``; tool code sees its
``execute_tool`` span as current through ``RunTools.around``.

Span names, kinds and attributes follow the OpenTelemetry GenAI semantic conventions:
``invoke_agent {name}`` per turn, ``chat {model}`` per model request and
``execute_tool {tool}`` per tool call, both children of the turn span. Content (messages,
arguments, results) is recorded only with ``include_content=True``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Generator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from agentloop.observe import Instrumentation, instrumentation, logger
from agentloop.types import RUNNING_STATUSES, RawJSON

from .effects import Emit, RunTools, SendRequest, WaitBackground
from .events import (
    ApprovalRequired,
    InteractionCompleted,
    InteractionStarted,
    Recovered,
    Retrying,
    StrategyFallback,
    StreamError,
    TextDelta,
    ThoughtDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnCompleted,
)

if TYPE_CHECKING:
    from agentloop.types import FunctionCallStep, Interaction

    from .effects import Effect
    from .events import LoopEvent
    from .turn import Turn

__all__ = ["TurnObserver", "observer_for"]

PROVIDER = "gcp.gemini"
_FAILED = ("failed", "cancelled")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def _decode(value: Any) -> Any:
    if isinstance(value, RawJSON):
        return json.loads(value.data)
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    return value


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for block in content or []:
        if isinstance(block, dict) and block.get("type") == "text":
            parts.append({"type": "text", "content": block.get("text", "")})
        elif isinstance(block, dict):
            parts.append({"type": str(block.get("type", "unknown"))})
    return parts


def messages(steps: list[Any], finish_reason: str | None = None) -> list[dict[str, Any]]:
    """Interactions API steps as GenAI convention messages (role + parts)."""
    out: list[dict[str, Any]] = []
    for raw in steps:
        step = _decode(raw)
        if not isinstance(step, dict):
            continue
        kind = step.get("type")
        if kind == "user_input":
            role, parts = "user", _parts(step.get("content"))
        elif kind == "model_output":
            role, parts = "assistant", _parts(step.get("content"))
        elif kind == "function_call":
            role = "assistant"
            parts = [
                {
                    "type": "tool_call",
                    "id": step.get("id"),
                    "name": step.get("name"),
                    "arguments": step.get("arguments"),
                }
            ]
        elif kind == "function_result":
            role = "tool"
            parts = [
                {
                    "type": "tool_call_response",
                    "id": step.get("call_id"),
                    "result": step.get("result"),
                }
            ]
        elif kind == "thought":
            continue  # signatures only: nothing a reader can use
        else:
            role, parts = "assistant", [{"type": str(kind)}]
        if out and out[-1]["role"] == role:
            out[-1]["parts"].extend(parts)
        else:
            out.append({"role": role, "parts": parts})
    if finish_reason is not None:
        for message in out:
            if message["role"] == "assistant":
                message["finish_reason"] = finish_reason
    return out


def _usage_attributes(usage: Any) -> dict[str, int]:
    if usage is None:
        return {}
    attrs: dict[str, int] = {}
    if usage.total_input_tokens is not None:
        attrs["gen_ai.usage.input_tokens"] = usage.total_input_tokens
    out, thought = usage.total_output_tokens, usage.total_thought_tokens
    if out is not None or thought is not None:
        # Thought tokens are billed as output: the convention wants the billable figure.
        attrs["gen_ai.usage.output_tokens"] = (out or 0) + (thought or 0)
    if thought is not None:
        attrs["gen_ai.usage.reasoning.output_tokens"] = thought
    if usage.total_cached_tokens is not None:
        attrs["gen_ai.usage.cache_read.input_tokens"] = usage.total_cached_tokens
    return attrs


_GENERATION_ATTRIBUTES = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "max_output_tokens": "gen_ai.request.max_tokens",
    "seed": "gen_ai.request.seed",
}


_otel: Any = None  # (opentelemetry.context, opentelemetry.trace), imported on first use


class _Chat:
    """One model request in flight (``span`` is None without tracing)."""

    __slots__ = (
        "background",
        "chunks",
        "first_chunk",
        "model",
        "recording",
        "span",
        "started",
        "strategy",
        "streamed",
    )

    def __init__(self, span: Any, model: str, strategy: str, background: bool) -> None:
        self.span = span
        self.recording = span is not None and span.is_recording()
        self.model = model
        self.strategy = strategy
        self.background = background
        self.started = time.perf_counter()
        self.chunks = 0
        self.first_chunk: float | None = None
        self.streamed = False


class _Current:
    """Makes a span the current one where a tool's code runs (attach/detach, no generator)."""

    __slots__ = ("api", "context", "token")

    def __init__(self, api: Any, context: Any) -> None:
        self.api = api  # the opentelemetry.context module
        self.context = context
        self.token: Any = None

    def __enter__(self) -> None:
        self.token = self.api.attach(self.context)

    def __exit__(self, *exc: object) -> None:
        self.api.detach(self.token)


class TurnObserver:
    """Observes one turn; ``config`` is ``None`` for log lines without tracing.

    Attributes beyond the few a sampler may use are only computed for recording spans, so a
    no-op or sampled-out provider costs little more than instrumentation off."""

    def __init__(self, conversation: Any, config: Instrumentation | None) -> None:
        self.conversation = conversation
        self.config = config
        self.content = bool(config and config.include_content)
        self.parent: Any = None
        self.trace: Any = None  # the opentelemetry.trace module, when tracing
        if config is not None and config.tracer is not None:
            global _otel
            if _otel is None:
                from opentelemetry import context, trace

                _otel = (context, trace)
            self.otel_context, self.trace = _otel
            self.parent = self.otel_context.get_current()  # the caller's, when send() was called
        self.turn_span: Any = None
        self.turn_recording = False
        self.spans = False  # False when the turn span is a no-op one: no child spans either
        self.turn_context: Any = None
        self.turn: Turn | None = None
        self.chat: _Chat | None = None
        self.tools: dict[str, tuple[Any, int]] = {}  # call id -> span, start ns
        self.ran: dict[str, tuple[int, str | None]] = {}  # call id -> duration ns, error type
        self.broken = False
        # Per tool call work is only needed for tool spans or log lines (set at turn start,
        # before the engine runs: it leaves out the per-call events when this is False).
        self.per_call = False
        self.started = 0.0

    # --- the protocol wrapper ----------------------------------------------------------------

    def __call__(
        self, proto: Generator[Effect, Any, Turn], how: str, steps: list[Any], /
    ) -> Generator[Effect, Any, Turn]:
        """``how`` the turn began (``start``, ``resume``, ``recover``), with these new steps:
        the protocol, observed (see ``_Observed``)."""
        return _Observed(proto, self, how, steps)

    def begin(self, how: str, steps: list[Any]) -> None:
        """The turn is first driven."""
        self.started = time.perf_counter()
        try:
            self._start_turn(how, steps)
            self.per_call = self.spans or logger.isEnabledFor(logging.INFO)
        except Exception:
            self._broke()

    def before(self, effect: Effect) -> None:
        """An effect goes out to the driver."""
        if self.broken:
            return
        kind = type(effect)  # effects are final classes: identity checks are cheapest
        try:
            if kind is Emit:
                self._event(effect.event)  # type: ignore[union-attr]
            elif kind is SendRequest:
                self._begin_request(effect)  # type: ignore[arg-type]
            elif kind is RunTools:
                self._begin_tools(effect)  # type: ignore[arg-type]
            elif kind is WaitBackground:
                self._begin_wait(effect)  # type: ignore[arg-type]
        except Exception:
            self._broke()

    def after(self, effect: Effect, value: Any, error: BaseException | None) -> None:
        """The driver's answer to ``effect`` comes back (``error``: what it raised)."""
        kind = type(effect)
        if kind is Emit or self.broken:
            return
        try:
            if kind is SendRequest:
                self._end_request(value, error)
            elif kind is RunTools:
                self._end_tools(value, error)
            elif kind is WaitBackground:
                self._end_wait(value, error)
        except Exception:
            self._broke()

    def end(self, turn: Turn | None, error: BaseException | None) -> None:
        """The protocol returned ``turn`` or raised ``error``."""
        if self.broken:
            return
        try:
            self._end_turn(
                turn if error is None else getattr(error, "turn", None) or self.turn,
                error,
                self.started,
            )
        except Exception:
            self._broke()

    def _broke(self) -> None:
        """The observer failed (a bug, or an exporter that raises): log it, stop observing."""
        self.broken = True
        logger.warning("agentloop observer failed; this turn is not traced", exc_info=True)
        for span in (self.turn_span, self.chat.span if self.chat else None):
            if span is not None:
                with contextlib.suppress(Exception):
                    span.end()

    def _span(self, name: str, parent: Any, kind: str, attributes: dict[str, Any]) -> Any:
        config = self.config
        assert config is not None
        trace = self.trace
        return config.tracer.start_span(
            name, context=parent, kind=getattr(trace.SpanKind, kind), attributes=attributes
        )

    def _fail_span(self, span: Any, kind: str, description: str) -> None:
        span.set_attribute("error.type", kind)
        span.set_status(self.trace.StatusCode.ERROR, description)

    # --- the turn ----------------------------------------------------------------------------

    def _start_turn(self, how: str, steps: list[Any]) -> None:
        if self.trace is None:
            return
        conv = self.conversation
        name = conv.name
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.provider.name": PROVIDER,
        }
        if name:
            attrs["gen_ai.agent.name"] = name
        if conv.model:
            attrs["gen_ai.request.model"] = conv.model
        span = self._span(
            f"invoke_agent {name}" if name else "invoke_agent", self.parent, "INTERNAL", attrs
        )
        self.turn_span = span
        self.spans = span.get_span_context().is_valid
        if not self.spans:
            return  # a no-op provider: nothing below could be recorded either
        self.turn_context = self.trace.set_span_in_context(span, self.parent)
        self.turn_recording = span.is_recording()
        if not self.turn_recording:
            return
        more: dict[str, Any] = {
            "gen_ai.conversation.id": str(conv.id),
            "agentloop.strategy": conv.strategy,
        }
        if conv.agent:
            more["gen_ai.agent.id"] = conv.agent
        if self.content and steps:
            more["gen_ai.input.messages"] = _json(messages(steps))
            if conv.system_instruction:
                more["gen_ai.system_instructions"] = _json(
                    [{"type": "text", "content": conv.system_instruction}]
                )
        span.set_attributes(more)
        if how == "resume":
            span.add_event("agentloop.approval.resumed")
        elif how == "recover":
            span.add_event("agentloop.recovery")

    def _end_turn(self, turn: Turn | None, error: BaseException | None, started: float) -> None:
        if self.chat is not None:  # a request still open (abandoned background run)
            self._fail_chat(error or RuntimeError("turn ended"))
        for call_id in list(self.tools):
            self._end_tool(call_id, None, error)
        span = self.turn_span
        self.turn_span = None
        kind = type(error).__name__ if error is not None else None
        if span is not None and self.turn_recording:
            attrs: dict[str, Any] = {"agentloop.turn.status": turn.status if turn else "unknown"}
            if turn is not None:
                attrs.update(_usage_attributes(turn.usage))
                attrs["agentloop.turn.model_requests"] = turn.model_requests
                attrs["agentloop.turn.tool_calls"] = len(turn.tool_calls)
                if turn.interaction_id:
                    attrs["gen_ai.response.id"] = turn.interaction_id
                if self.content and turn.status == "completed":
                    out = [s for s in turn.steps if getattr(s, "type", None) == "model_output"]
                    if out:
                        attrs["gen_ai.output.messages"] = _json(messages(out[-1:], "stop"))
            span.set_attributes(attrs)
            if kind is not None:
                self._fail_span(span, kind, kind)
        if span is not None:
            span.end()
        config = self.config
        if config is None or config.operation_duration is None:
            return
        metric = {"gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": PROVIDER}
        if self.conversation.model:
            metric["gen_ai.request.model"] = self.conversation.model
        if kind is not None:
            metric["error.type"] = kind
        config.operation_duration.record(time.perf_counter() - started, metric)

    # --- model requests ----------------------------------------------------------------------

    def _begin_request(self, effect: SendRequest) -> None:
        body = effect.body
        model = str(body.get("model") or body.get("agent") or "")
        strategy = "stateless" if body.get("store") is False else "stateful"
        background = bool(body.get("background"))
        span = None
        if self.spans:
            attrs = {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": PROVIDER,
                "gen_ai.request.model": model,
            }
            span = self._span(f"chat {model}", self.turn_context, "CLIENT", attrs)
        chat = self.chat = _Chat(span, model, strategy, background)
        # What the request's events tell (retries, chunks, time to first chunk) goes only to a
        # recording span or a DEBUG line: unwatched, a plain request needs no retry listener.
        if chat.recording or logger.isEnabledFor(logging.DEBUG):
            effect.watch = self._watch
        if not chat.recording:
            return
        more: dict[str, Any] = {
            "gen_ai.conversation.id": str(self.conversation.id),
            "agentloop.strategy": strategy,
            "agentloop.request.chained": "previous_interaction_id" in body,
            "agentloop.request.background": background,
        }
        config_body = body.get("generation_config")
        if config_body is not None:
            generation = _decode(config_body)
            if isinstance(generation, dict):
                for key, attr in _GENERATION_ATTRIBUTES.items():
                    if isinstance(generation.get(key), (int, float)):
                        more[attr] = generation[key]
        if self.content:
            more["gen_ai.input.messages"] = _json(messages(list(body.get("input") or [])))
        chat.span.set_attributes(more)

    def _watch(self, event: LoopEvent) -> None:
        """Retries and stream events of the request in flight (called by the driver)."""
        if self.broken:
            return
        try:
            self._watched(event)
        except Exception:
            self._broke()

    def _watched(self, event: LoopEvent) -> None:
        chat = self.chat
        if chat is None:
            return
        if not isinstance(event, Retrying):
            chat.streamed = True
        if isinstance(event, (TextDelta, ThoughtDelta)):
            chat.chunks += 1
            if chat.first_chunk is None:
                chat.first_chunk = time.perf_counter() - chat.started
                if chat.recording:
                    chat.span.add_event("agentloop.stream.first_chunk")
            return
        if not chat.recording:
            return
        span = chat.span
        if isinstance(event, Retrying):
            attrs = {"agentloop.retry.attempt": event.attempt, "agentloop.retry.wait": event.wait}
            span.add_event("agentloop.retry", attrs)
        elif isinstance(event, InteractionStarted):
            span.add_event("agentloop.stream.started", {"gen_ai.response.id": event.interaction_id})
        elif isinstance(event, StreamError):
            span.add_event("agentloop.stream.error", {"error.type": str(event.code or "_OTHER")})

    def _end_request(self, interaction: Interaction | None, error: BaseException | None) -> None:
        chat = self.chat
        if chat is None:
            return
        if error is not None or interaction is None:
            self._fail_chat(error or RuntimeError("no interaction"))
            return
        if chat.background and interaction.status in RUNNING_STATUSES:
            if chat.recording and interaction.id:
                chat.span.set_attribute("gen_ai.response.id", interaction.id)
            return  # the span stays open until the background run is over
        self._finish_chat(interaction)

    def _finish_chat(self, interaction: Interaction) -> None:
        chat = self.chat
        assert chat is not None
        self.chat = None
        elapsed = time.perf_counter() - chat.started
        status = str(interaction.status)
        usage = _usage_attributes(interaction.usage)
        config = self.config
        if config is not None:
            if chat.recording:
                span = chat.span
                attrs: dict[str, Any] = {
                    "gen_ai.response.finish_reasons": [status],
                    "agentloop.interaction.status": status,
                    "gen_ai.request.stream": chat.streamed,
                    **usage,
                }
                if interaction.id:
                    attrs["gen_ai.response.id"] = interaction.id
                if interaction.model:
                    attrs["gen_ai.response.model"] = interaction.model
                if chat.first_chunk is not None:
                    attrs["gen_ai.response.time_to_first_chunk"] = chat.first_chunk
                    attrs["agentloop.stream.chunks"] = chat.chunks
                if self.content and interaction.steps:
                    attrs["gen_ai.output.messages"] = _json(messages(interaction.steps, status))
                span.set_attributes(attrs)
                if status in _FAILED:
                    self._fail_span(span, status, f"interaction {status}")
            if chat.span is not None:
                chat.span.end()
        if config is not None and config.token_usage is not None:
            metric = self._metric_attributes(chat)
            if status in _FAILED:
                metric["error.type"] = status
            config.operation_duration.record(elapsed, metric)
            for kind, key in (("input", "gen_ai.usage.input_tokens"),
                              ("output", "gen_ai.usage.output_tokens")):  # fmt: skip
                if key in usage:
                    config.token_usage.record(usage[key], {**metric, "gen_ai.token.type": kind})
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "model request: model=%s strategy=%s interaction=%s status=%s tokens=%s/%s ms=%.1f",
                chat.model,
                chat.strategy,
                interaction.id,
                status,
                usage.get("gen_ai.usage.input_tokens", "-"),
                usage.get("gen_ai.usage.output_tokens", "-"),
                elapsed * 1000,
            )
            if logger.isEnabledFor(logging.DEBUG):
                steps = interaction.steps or []
                logger.debug(
                    "model request sizes: interaction=%s steps=%d output_chars=%d chunks=%d",
                    interaction.id,
                    len(steps),
                    sum(len(getattr(b, "text", "") or "") for s in steps
                        for b in (getattr(s, "content", None) or []) if not isinstance(b, str)),
                    chat.chunks,
                )  # fmt: skip

    def _fail_chat(self, error: BaseException) -> None:
        chat = self.chat
        assert chat is not None
        self.chat = None
        elapsed = time.perf_counter() - chat.started
        kind = type(error).__name__
        status_code = getattr(error, "status_code", None)
        config = self.config
        if config is not None:
            if chat.recording:
                if status_code is not None:
                    chat.span.set_attribute("http.response.status_code", int(status_code))
                self._fail_span(chat.span, kind, kind)
            if chat.span is not None:
                chat.span.end()
            if config.operation_duration is not None:
                metric = {**self._metric_attributes(chat), "error.type": kind}
                config.operation_duration.record(elapsed, metric)
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "model request: model=%s strategy=%s status=error error=%s%s ms=%.1f",
                chat.model,
                chat.strategy,
                kind,
                f" http={status_code}" if status_code is not None else "",
                elapsed * 1000,
            )

    def _metric_attributes(self, chat: _Chat) -> dict[str, Any]:
        return {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.request.model": chat.model,
        }

    def _begin_wait(self, effect: WaitBackground) -> None:
        attrs = {"gen_ai.response.id": str(effect.interaction.id or "")}
        if self.turn_recording:
            self.turn_span.add_event("agentloop.background.wait", attrs)
        if self.chat is not None and self.chat.recording:
            self.chat.span.add_event("agentloop.background.wait", attrs)

    def _end_wait(self, interaction: Interaction | None, error: BaseException | None) -> None:
        if self.turn_recording:
            status = str(interaction.status) if interaction is not None else "error"
            self.turn_span.add_event(
                "agentloop.background.done", {"agentloop.interaction.status": status}
            )
        if self.chat is None:
            return
        if error is not None or interaction is None:
            self._fail_chat(error or RuntimeError("no interaction"))
        else:
            self._finish_chat(interaction)

    # --- tool calls --------------------------------------------------------------------------

    def _begin_tools(self, effect: RunTools) -> None:
        if not self.spans:
            return
        traced = False
        for call in effect.calls:
            start = time.time_ns()
            attrs: dict[str, Any] = {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": call.name,
            }
            config = self.config
            assert config is not None
            span = config.tracer.start_span(
                f"execute_tool {call.name}",
                context=self.turn_context,
                kind=self.trace.SpanKind.INTERNAL,
                attributes=attrs,
                start_time=start,
            )
            traced = traced or span.get_span_context().is_valid
            self.tools[call.id] = (span, start)
            if not span.is_recording():
                continue
            more: dict[str, Any] = {"gen_ai.tool.call.id": call.id, "gen_ai.tool.type": "function"}
            found = self.conversation.tools.get(call.name)
            if found is not None and found.description:
                more["gen_ai.tool.description"] = found.description
            if self.content:
                more["gen_ai.tool.call.arguments"] = _json(call.arguments)
            span.set_attributes(more)
        if traced:  # an invalid (no-op) span need not be made current
            effect.around = self._around

    def _around(self, call: FunctionCallStep) -> AbstractContextManager[Any]:
        """Entered where the call's tool code runs: its span is the current one there."""
        entry = self.tools.get(call.id)
        if entry is None:
            return contextlib.nullcontext()
        return _Current(
            self.otel_context, self.trace.set_span_in_context(entry[0], self.turn_context)
        )

    def _end_tools(self, outcomes: list[Any] | None, error: BaseException | None) -> None:
        if outcomes is None or not self.per_call:
            return  # interrupted: the turn's end closes the spans with the error
        for outcome in outcomes:
            kind = type(outcome.error).__name__ if outcome.error is not None else None
            self.ran[outcome.call.id] = (int(float(outcome.duration or 0.0) * 1e9), kind)

    def _end_tool(
        self, call_id: str, event: ToolCallFinished | None, error: BaseException | None
    ) -> None:
        """End a call's span: when its result is recorded (after the after_tool hooks, so
        content is what the model saw), or when the turn ends first (``event`` is None)."""
        entry = self.tools.pop(call_id, None)
        if entry is None:
            return
        span, start = entry
        duration, kind = self.ran.get(call_id, (None, None))
        if span.is_recording():
            if event is None or event.is_error:
                if event is None:
                    kind = type(error).__name__ if error is not None else "_OTHER"
                kind = kind or "_OTHER"
                description = event.error if event is not None and event.error else kind
                self._fail_span(span, kind, description if self.content else kind)
            if self.content and event is not None:
                span.set_attribute("gen_ai.tool.call.result", _json(_decode(event.result.result)))
        span.end(end_time=start + duration if duration is not None else None)

    # --- engine events -----------------------------------------------------------------------

    def _event(self, event: LoopEvent) -> None:
        kind = type(event)
        if kind is ToolCallStarted or (kind is ToolCallFinished and not self.per_call):
            return  # the most frequent events: nothing to do without spans or log lines
        if isinstance(event, ToolCallFinished):
            call_id = event.call.id
            ran = self.ran.get(call_id)
            if call_id in self.tools:
                self._end_tool(call_id, event, None)
            elif self.turn_recording and ran is None:
                self.turn_span.add_event(
                    "agentloop.tool_call.not_run",
                    {"gen_ai.tool.name": event.call.name, "gen_ai.tool.call.id": call_id},
                )
            self.ran.pop(call_id, None)
            self._log_tool(event, ran)
            return
        if isinstance(event, TurnCompleted):
            self.turn = event.turn
            return
        if not self.turn_recording or isinstance(event, (InteractionCompleted, ToolCallStarted)):
            return
        span = self.turn_span
        if isinstance(event, ApprovalRequired):
            span.add_event(
                "agentloop.approval.required",
                {
                    "gen_ai.tool.call.id": [c.id for c in event.calls],
                    "gen_ai.tool.name": [c.name for c in event.calls],
                },
            )
        elif isinstance(event, Recovered):
            ids = {
                "agentloop.recovered.rerun": event.rerun,
                "agentloop.recovered.in_doubt": event.in_doubt,
            }
            span.add_event("agentloop.recovered", ids)
        elif isinstance(event, StrategyFallback):
            span.add_event(
                "agentloop.strategy.fallback",
                {"agentloop.previous_interaction_id": event.previous_interaction_id},
            )
        else:
            # Any other engine event (compaction, recovery...) becomes a turn span event: its
            # numbers and flags always, its text only with include_content.
            span.add_event(f"agentloop.{event.type}", self._event_attributes(event))

    def _event_attributes(self, event: LoopEvent) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        for name in getattr(event, "__dataclass_fields__", {}):
            value = getattr(event, name, None)
            if isinstance(value, (bool, int, float)) or (self.content and isinstance(value, str)):
                attrs[f"agentloop.{event.type}.{name}"] = value
        return attrs

    def _log_tool(self, event: ToolCallFinished, ran: tuple[int, str | None] | None) -> None:
        if not logger.isEnabledFor(logging.INFO):
            return
        if ran is None:
            outcome = "not_run"
        elif event.is_error:
            outcome = f"error={ran[1] or '_OTHER'}"
        else:
            outcome = "ok"
        logger.info(
            "tool call: name=%s id=%s %s ms=%.1f",
            event.call.name,
            event.call.id,
            outcome,
            event.duration * 1000,
        )
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "tool call sizes: id=%s arguments_bytes=%d result_bytes=%d",
                event.call.id,
                len(_json(event.call.arguments)),
                len(_json(_decode(event.result.result))),
            )


class _Observed(Generator["Effect", Any, "Turn"]):
    """A turn's protocol as its driver sees it, with the observer told of every effect that
    goes out and every answer that comes back. No loop of its own: whatever drive loop runs
    the protocol runs this (observing never changes a turn: an observer that fails logs why
    and steps aside for the rest of the turn)."""

    __slots__ = ("_effect", "_how", "_observer", "_proto", "_steps")

    def __init__(
        self,
        proto: Generator[Effect, Any, Turn],
        observer: TurnObserver,
        how: str,
        steps: list[Any],
    ) -> None:
        self._proto = proto
        self._observer = observer
        self._how = how
        self._steps: list[Any] | None = steps
        self._effect: Any = None

    def send(self, value: Any) -> Effect:
        return self._next(value, None)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Effect:
        error = typ if isinstance(typ, BaseException) else typ(val)
        return self._next(None, error)

    def _next(self, value: Any, error: BaseException | None) -> Effect:
        observer = self._observer
        if self._steps is not None:
            observer.begin(self._how, self._steps)
            self._steps = None
        effect = self._effect
        if effect is not None:
            self._effect = None
            observer.after(effect, value, error)
        try:
            effect = self._proto.throw(error) if error is not None else self._proto.send(value)
        except StopIteration as stop:
            observer.end(stop.value, None)
            raise
        except BaseException as exc:
            observer.end(None, exc)
            raise
        observer.before(effect)
        self._effect = effect
        return effect

    def close(self) -> None:
        if self._steps is None:  # started: let the protocol end (and the observer with it)
            super().close()
        else:
            self._proto.close()


def observer_for(conversation: Any) -> TurnObserver | None:
    """Per turn: the observer wrapping the turn's protocol, or ``None`` when nothing watches
    (no tracing and the ``agentloop`` logger disabled for INFO): then a turn pays nothing."""
    config = instrumentation()
    if config is None or (config.tracer is None and config.token_usage is None):
        if not logger.isEnabledFor(logging.INFO):
            return None
        config = None
    return TurnObserver(conversation, config)

"""Observability: OpenTelemetry GenAI traces and metrics, and the ``agentloop`` log lines.

``agentloop.instrument()`` turns tracing on for every conversation (spans and metrics follow
the OpenTelemetry GenAI semantic conventions); ``agentloop.instrument(enabled=False)`` turns it
off; ``Conversation(..., instrument=False)`` opts one conversation out. The ``agentloop``
logger writes one INFO line per model request and per tool call whenever it is enabled for
INFO, tracing or not.

This module stays light: OpenTelemetry is imported only by ``instrument()``. When tracing is
off and the logger is not enabled for INFO, a turn runs without any observer at all. The turn
observer itself (spans, metrics, log lines from the engine's effects) lives with the engine,
in ``agentloop.loop._tracing``: this package holds only the switch and its configuration, so
it imports nothing from ``agentloop.loop``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from agentloop.errors import InstrumentationError

__all__ = ["instrument"]

logger = logging.getLogger("agentloop")

# Bucket boundaries the GenAI conventions give for these two histograms.
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                 16777216, 67108864)  # fmt: skip
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48,
                    40.96, 81.92)  # fmt: skip


@dataclass(frozen=True)
class Instrumentation:
    """What ``instrument()`` set up: the tracer, the two histograms, the content switch."""

    tracer: Any  # None for an explicit no-op tracer provider
    token_usage: Any  # None (both) for an explicit no-op meter provider
    operation_duration: Any
    include_content: bool


_current: Instrumentation | None = None


def instrument(
    tracer_provider: Any = None,
    meter_provider: Any = None,
    *,
    include_content: bool = False,
    enabled: bool = True,
) -> None:
    """Trace every conversation with OpenTelemetry (needs ``pip install 'agentloop[otel]'``).

    Args:
        tracer_provider: where spans go; the global provider (``trace.set_tracer_provider``)
            when omitted, including one set later.
        meter_provider: where the ``gen_ai.client.token.usage`` and
            ``gen_ai.client.operation.duration`` histograms go; the global one when omitted.
        include_content: also record messages, tool arguments and tool results (off by
            default: they may hold personal data). The API key is never recorded.
        enabled: ``False`` turns instrumentation off again (the providers are left alone).
    """
    global _current
    if not enabled:
        _current = None
        return
    try:
        from opentelemetry import metrics, trace
    except ImportError as exc:  # pragma: no cover - the dev install has it
        raise InstrumentationError(
            "agentloop.instrument() needs the OpenTelemetry API; install it with "
            "pip install 'agentloop[otel]'"
        ) from exc
    from agentloop import __version__

    tracer = trace.get_tracer("agentloop", __version__, tracer_provider=tracer_provider)
    meter = metrics.get_meter("agentloop", __version__, meter_provider=meter_provider)
    if isinstance(meter, metrics.NoOpMeter):  # explicit no-op providers: skip the work
        _current = Instrumentation(
            None if isinstance(tracer, trace.NoOpTracer) else tracer, None, None, include_content
        )
        return
    _current = Instrumentation(
        tracer=None if isinstance(tracer, trace.NoOpTracer) else tracer,
        token_usage=meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used per model request",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        ),
        operation_duration=meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="Duration of model requests (chat) and agent turns (invoke_agent)",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        ),
        include_content=include_content,
    )


def instrumentation() -> Instrumentation | None:
    """The active instrumentation, or ``None`` when tracing is off."""
    return _current

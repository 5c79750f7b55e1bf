"""``--otel`` on chat, run, serve and worker: export traces with OpenTelemetry.

``--otel`` (or ``--otel otlp``) sends spans with the OTLP/HTTP exporter, configured by the
standard variables (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``,
``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_SERVICE_NAME``...); ``--otel console`` prints them on
stderr. Without the flag, ``OTEL_TRACES_EXPORTER=otlp|console`` or an OTLP endpoint variable
switches tracing on the same way (``OTEL_TRACES_EXPORTER=none`` keeps it off).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from ._common import UsageError

__all__ = ["OTEL_COMMANDS", "exporter_choice", "start_tracing"]

OTEL_COMMANDS = ("chat", "run", "serve", "worker")
_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def exporter_choice(flag: str | None) -> str | None:
    """``"otlp"``, ``"console"`` or None (no tracing) from the flag and the environment."""
    if flag is not None:
        return flag
    chosen = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if chosen == "none":
        return None
    if chosen:
        first = chosen.split(",")[0].strip()
        if first not in ("otlp", "console"):
            raise UsageError(
                f"OTEL_TRACES_EXPORTER={chosen!r} is not supported here; use otlp, console or none"
            )
        return first
    if any(os.environ.get(name, "").strip() for name in _ENDPOINTS):
        return "otlp"
    return None


def start_tracing(command: str, exporter: str) -> Callable[[], None]:
    """Set up a tracer provider with ``exporter`` and instrument agentloop; returns the
    shutdown that flushes the spans (call it when the command ends)."""
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
            SimpleSpanProcessor,
        )

        span_exporter: Any
        if exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            span_exporter = OTLPSpanExporter()
    except ImportError as exc:
        raise UsageError(
            f"--otel needs the [otel] extra ({(exc.name or 'opentelemetry').split('.')[0]} "
            "is missing): pip install 'agentloop[otel]'"
        ) from None
    import agentloop

    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES still win (Resource.create reads them).
    resource = Resource.create({"service.name": f"agentloop-{command}"})
    provider = TracerProvider(resource=resource)
    if exporter == "console":
        processor: Any = SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr))
    else:
        processor = BatchSpanProcessor(span_exporter)
    provider.add_span_processor(processor)
    agentloop.instrument(tracer_provider=provider)

    def shutdown() -> None:
        agentloop.instrument(enabled=False)
        provider.shutdown()  # flushes what the batch processor still holds

    return shutdown


def add_otel_flag(parser: Any) -> None:
    parser.add_argument(
        "--otel",
        nargs="?",
        const="otlp",
        choices=["otlp", "console"],
        default=None,
        metavar="otlp|console",
        help="export OpenTelemetry traces: OTLP/HTTP (default; OTEL_EXPORTER_OTLP_ENDPOINT, "
        "default http://localhost:4318) or 'console' (stderr); also switched on by "
        "OTEL_TRACES_EXPORTER or an OTLP endpoint variable. Needs agentloop[otel]",
    )

"""Helpers for the observability tests: in-memory OpenTelemetry providers, scripted tools."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentloop import AsyncConversation, Conversation, instrument, tool
from agentloop.loop import TurnCompleted
from agentloop.testing import Emulator


def call(name: str, call_id: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "function_call", "id": call_id, "name": name, "arguments": arguments}


def say(text: str) -> list[dict[str, Any]]:
    return [{"type": "model_output", "content": [{"type": "text", "text": text}]}]


@tool
def get_weather(city: str) -> dict[str, Any]:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature": 22}


@tool
def explode(reason: str) -> str:
    """Always fails.

    Args:
        reason: Why.
    """
    raise ValueError(f"boom: {reason}")


@dataclass
class Otel:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def on(self, include_content: bool = False) -> None:
        instrument(self.tracer_provider, self.meter_provider, include_content=include_content)

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def by_name(self, prefix: str) -> list[ReadableSpan]:
        return [s for s in self.finished() if s.name.startswith(prefix)]

    def metric_points(self) -> dict[str, list[Any]]:
        data = self.metrics.get_metrics_data()
        found: dict[str, list[Any]] = {}
        if data is None:
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found


DRIVERS = ["sync", "sync-stream", "async", "async-stream"]


def run_turn(driver: str, emu: Emulator, text: str, **options: Any) -> Any:
    """One turn with the named driver; returns the conversation and the ``Turn``."""
    if driver.startswith("sync"):
        conv: Any = Conversation(emu.client(**options.pop("client", {})), **options)
        if driver == "sync":
            return conv, conv.send(text)
        events = list(conv.stream(text))
        assert isinstance(events[-1], TurnCompleted)
        return conv, events[-1].turn

    async def main() -> Any:
        aconv = AsyncConversation(emu.async_client(**options.pop("client", {})), **options)
        if driver == "async":
            return aconv, await aconv.send(text)
        events = [event async for event in aconv.stream(text)]
        return aconv, events[-1].turn

    return asyncio.run(main())

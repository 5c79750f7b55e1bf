"""Fixtures of the observability tests (helpers live in otel_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_helpers import Otel

from agentloop import instrument
from agentloop.testing import Emulator, ScriptedModel


@pytest.fixture
def otel() -> Iterator[Otel]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    found = Otel(exporter, reader, provider, meters)
    found.on()
    yield found
    instrument(enabled=False)
    provider.shutdown()
    meters.shutdown()


@pytest.fixture
def scripted() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def emu(scripted: ScriptedModel) -> Emulator:
    return Emulator(model=scripted)

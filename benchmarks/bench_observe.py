"""Cost of observability: instrumentation off (the default) vs on with no-op OpenTelemetry
providers, for the in-process tool step and for a plain text turn. Off must cost nothing
measurable (no observer is built); on with no-op providers at most 10% more than off.

"On" is ``agentloop.instrument()`` with the API's default global providers and no SDK
configured: the proxies hand out no-op spans and instruments, so the figure is agentloop's own
overhead (explicit ``NoOpTracerProvider``/``NoOpMeterProvider`` arguments are recognised and
cost even less). Figures are CPU time of this process (the loopback server runs in another),
which is what instrumentation adds and is steadier than wall time on a busy machine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import _payloads as P
from _harness import Row, interleaved_batches, us
from bench_tools import CALLS, agentloop_async, agentloop_sync
from bench_turn import loopback_server


def loopback_turns(url: str) -> Callable[[int], None]:
    """The per-turn benchmark's ``Conversation.send`` against the loopback server."""
    import httpx

    from agentloop import Client, Conversation

    client = Client(api_key=P.API_KEY, base_url=url, http_client=httpx.Client(timeout=30))

    def batch(turns: int) -> None:
        conv = Conversation(client, **P.conversation_settings())
        for _ in range(turns):
            conv.send(P.USER)

    return batch


def _switched(batch: Callable[[int], None], on: bool) -> Callable[[int], None]:
    from agentloop import instrument

    def run(n: int) -> None:
        if on:
            instrument()  # the global (proxy, no SDK: no-op) providers
        else:
            instrument(enabled=False)
        try:
            batch(n)
        finally:
            instrument(enabled=False)

    return run


def run(quick: bool) -> list[Row]:
    try:
        import opentelemetry.trace  # noqa: F401
    except ImportError:
        return [
            Row(
                "observability overhead",
                "",
                target="≤ 1.10x off",
                note="skipped: opentelemetry-api is not installed (pip install -e '.[otel]')",
            )
        ]
    turns, repeats = (20, 5) if quick else (100, 9)
    loop = asyncio.new_event_loop()
    try:
        sync, async_ = agentloop_sync(), agentloop_async(loop)
        steps = interleaved_batches(
            {
                "sync off": _switched(sync, False),
                "sync on": _switched(sync, True),
                "async off": _switched(async_, False),
                "async on": _switched(async_, True),
            },
            n=turns,
            repeats=repeats,
            clock=time.process_time,
        )
    finally:
        loop.close()
    with loopback_server() as url:
        text = loopback_turns(url)
        plain = interleaved_batches(
            {"off": _switched(text, False), "on": _switched(text, True)},
            n=turns * 2,
            repeats=repeats,
            clock=time.process_time,
        )
    rows = []
    for label in ("sync", "async"):
        off, on = steps[f"{label} off"] / CALLS, steps[f"{label} on"] / CALLS
        ratio = on / off
        rows.append(
            Row(
                f"per tool step, {label}, instrumented (no-op OTel provider)",
                us(on),
                f"instrumentation off {us(off)}",
                f"{ratio:.2f}x",
                "≤ 1.10x off",
                ratio <= 1.10,
                note="CPU time per step",
                values={"on_s": on, "off_s": off, "ratio": ratio},
            )
        )
    ratio = plain["on"] / plain["off"]
    rows.append(
        Row(
            "per turn, sync loopback, instrumented (no-op OTel provider)",
            us(plain["on"]),
            f"instrumentation off {us(plain['off'])}",
            f"{ratio:.2f}x",
            "≤ 1.10x off",
            ratio <= 1.10,
            values={"on_s": plain["on"], "off_s": plain["off"], "ratio": ratio},
            note="client CPU time per turn",
        )
    )
    return rows

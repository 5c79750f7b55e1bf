"""Issue 27 A/B: client CPU per plain text turn of ``Conversation.send`` and
``AsyncConversation.send`` next to ``interactions.create`` and raw httpx posting the same
bytes, in-process (``httpx.MockTransport``) and over loopback (``_server.py``).

``PYTHONPATH=CHECKOUT python3 benchmarks/ab_send.py [--rounds R] [--only sync-local ...]``

Run it from two checkouts one after the other (A B A B ...: each line is one process) and
compare the medians. ``bench_turn``'s variants (the same conversation, settings and reply);
CPU time (``time.process_time``, GC paused per batch), medians of interleaved rounds. Wall
time on a shared machine swings too much to compare two checkouts; CPU time does not.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _payloads as P
import httpx
from ab_wire import cpu_medians
from bench_turn import _async_variants, _sync_variants, loopback_server

N = 100  # turns per batch (one conversation per batch, as bench_turn's)


def _async_local(loop: asyncio.AbstractEventLoop) -> tuple[dict[str, Any], list[Any]]:
    """``bench_turn``'s async variants with both clients on an in-process transport."""
    reply = P.reply_json()

    async def handler(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(200, headers={"content-type": "application/json"}, content=reply)

    real = httpx.AsyncClient

    def mocked(*args: Any, **kwargs: Any) -> httpx.AsyncClient:
        return real(*args, transport=httpx.MockTransport(handler), **kwargs)

    httpx.AsyncClient = mocked  # type: ignore[misc]
    try:
        return _async_variants("http://bench.local", loop)
    finally:
        httpx.AsyncClient = real  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--only", action="append", choices=["sync-local", "async-local", "sync-loop", "async-loop"]
    )
    args = parser.parse_args()
    wanted = args.only or ["sync-local", "async-local", "sync-loop", "async-loop"]
    reply = P.reply_json()
    loop = asyncio.new_event_loop()
    keep: list[Any] = []

    def report(label: str, cpu: dict[str, float]) -> None:
        raw, create, send = cpu["raw"], cpu["create"], cpu["send"]
        print(
            f"{label}: raw {raw * 1e6:.1f} µs, create {create * 1e6:.1f} µs, "
            f"send {send * 1e6:.1f} µs (send - create {(send - create) * 1e6:.1f} µs, "
            f"send / raw {send / raw:.3f}x)",
            flush=True,
        )

    def local(request: httpx.Request) -> httpx.Response:
        request.read()
        return httpx.Response(200, headers={"content-type": "application/json"}, content=reply)

    if "sync-local" in wanted:
        variants, k = _sync_variants("http://bench.local", httpx.MockTransport(local))
        keep += k
        report("sync in-process CPU per turn", cpu_medians(variants, N, args.rounds))
    if "async-local" in wanted:
        variants, k = _async_local(loop)
        keep += k
        report("async in-process CPU per turn", cpu_medians(variants, N, args.rounds))
    if "sync-loop" in wanted or "async-loop" in wanted:
        with loopback_server() as url:
            if "sync-loop" in wanted:
                variants, k = _sync_variants(url)
                keep += k
                report("sync loopback CPU per turn", cpu_medians(variants, N, args.rounds))
            if "async-loop" in wanted:
                variants, k = _async_variants(url, loop)
                keep += k
                report("async loopback CPU per turn", cpu_medians(variants, N, args.rounds))
    loop.close()


if __name__ == "__main__":
    main()

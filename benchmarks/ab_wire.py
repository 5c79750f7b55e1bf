"""Client CPU per call of the wire path, for A/B runs of two checkouts (issue 27).

Prints the CPU time (``time.process_time``, GC paused per batch, medians of interleaved
rounds) of: ``client.interactions.create`` and ``Conversation.send`` next to raw httpx posting
the same bytes, in-process (``httpx.MockTransport``) and over loopback (``_server.py``), and
agentloop's cost per SSE event above httpx delivering the frames. Wall time on a shared
machine swings too much to compare two checkouts; CPU time of the client does not.

    cd checkout-a && python3 benchmarks/ab_wire.py   # then the same in checkout-b, and again
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import _payloads as P
import httpx
from bench_data import sse_clients
from bench_turn import _sync_variants, loopback_server


def cpu_medians(variants: dict[str, Callable[[int], Any]], n: int, rounds: int) -> dict[str, float]:
    for batch in variants.values():
        batch(10)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(rounds):
        for name in list(variants) if round_ % 2 == 0 else list(reversed(variants)):
            gc.disable()
            start = time.process_time()
            variants[name](n)
            samples[name].append((time.process_time() - start) / n)
            gc.enable()
    return {name: statistics.median(values) for name, values in samples.items()}


def in_process() -> dict[str, Callable[[int], Any]]:
    reply = P.reply_json()

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        return httpx.Response(200, headers={"content-type": "application/json"}, content=reply)

    variants, _keep = _sync_variants("http://bench.local", httpx.MockTransport(handler))
    return variants


def per_sse_event(rounds: int) -> float:
    http, client, url, events = sse_clients()

    def raw(n: int) -> None:
        for _ in range(n):
            with http.stream("POST", url, content=b"{}") as response:
                for _ in response.iter_bytes():
                    pass

    def agentloop(n: int) -> None:
        for _ in range(n):
            stream = client.interactions.create(stream=True, model=P.MODEL, input=P.USER)
            for _ in stream:
                pass

    cpu = cpu_medians({"raw": raw, "agentloop": agentloop}, 20, rounds)
    return (cpu["agentloop"] - cpu["raw"]) / events


def main() -> None:
    quick = "--quick" in sys.argv
    rounds = 5 if quick else 15
    local = cpu_medians(in_process(), 50 if quick else 100, rounds)
    print(
        "in-process CPU per call: "
        + ", ".join(f"{name} {seconds * 1e6:.0f} µs" for name, seconds in local.items())
    )
    print(f"SSE: {per_sse_event(rounds) * 1e6:.2f} µs CPU per event above httpx")
    with loopback_server() as url:
        variants, _keep = _sync_variants(url)
        remote = cpu_medians(variants, 50 if quick else 100, rounds)
    raw = remote["raw"]
    print(
        f"loopback CPU per call: raw {raw * 1e6:.0f} µs, "
        f"create {remote['create'] / raw:.3f}x, send {remote['send'] / raw:.3f}x"
    )


if __name__ == "__main__":
    main()

"""Targets 6-7: import time, tool concurrency, many concurrent conversations, throughput."""

from __future__ import annotations

import asyncio
import gc
import statistics
import subprocess
import sys
import time
import tracemalloc
from typing import Any

import _payloads as P
from _harness import Row, us

# --- 6. import -------------------------------------------------------------------------------


def _process_time(statement: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True)
    return time.perf_counter() - start


def import_rows(quick: bool) -> list[Row]:
    statements = {
        "baseline": "pass",
        "agentloop": "import agentloop",
        "agentloop_used": "from agentloop import Client, Conversation",
        "genai": "import google.genai",
    }
    try:
        import importlib.util

        has_genai = importlib.util.find_spec("google.genai") is not None
    except (ImportError, ValueError):
        has_genai = False
    if not has_genai:
        del statements["genai"]
    samples: dict[str, list[float]] = {name: [] for name in statements}
    for round_ in range(5 if quick else 11):
        names = list(statements) if round_ % 2 == 0 else list(reversed(statements))
        for name in names:
            samples[name].append(_process_time(statements[name]))
    t = {name: statistics.median(values) for name, values in samples.items()}
    rows = []
    if "genai" in t:
        ratio = t["genai"] / t["agentloop"]
        rows.append(
            Row(
                'python -c "import agentloop" vs "import google.genai"',
                us(t["agentloop"]),
                f"google.genai {us(t['genai'])}",
                f"{ratio:.1f}x faster",
                "≥ 3x faster",
                ratio >= 3.0,
                values={k + "_s": v for k, v in t.items()} | {"ratio": ratio},
            )
        )
    else:
        rows.append(
            Row(
                'python -c "import agentloop"',
                us(t["agentloop"]),
                target="≥ 3x faster",
                note="skipped: google-genai is not installed, nothing to compare",
            )
        )
    rows.append(
        Row(
            "import Client + Conversation (process, minus bare python)",
            us(t["agentloop_used"] - t["baseline"]),
            f"google.genai {us(t['genai'] - t['baseline'])}" if "genai" in t else "",
            "",
            "",
            None,
            values={"import_used_s": t["agentloop_used"] - t["baseline"]},
        )
    )
    return rows


# --- 7. concurrency --------------------------------------------------------------------------


def tool_concurrency_rows() -> list[Row]:
    from agentloop.testing import FunctionModel  # noqa: F401  (import cost outside timing)
    from agentloop.tools import ToolRegistry, tool
    from agentloop.types import FunctionCallStep

    @tool
    def wait_sync(i: int) -> int:
        time.sleep(0.2)
        return i

    @tool
    async def wait_async(i: int) -> int:
        await asyncio.sleep(0.2)
        return i

    rows = []
    for name, fn in (("sync", wait_sync), ("async", wait_async)):
        calls = [FunctionCallStep(id=f"c{i}", name=fn.name, arguments={"i": i}) for i in range(10)]
        with ToolRegistry([fn]) as registry:
            registry.run(calls[:1])  # start the pool / loop thread outside the timing
            start = time.perf_counter()
            outcomes = registry.run(calls)
            sync_elapsed = time.perf_counter() - start
            start = time.perf_counter()
            outcomes += asyncio.run(registry.arun(calls))
            async_elapsed = time.perf_counter() - start
        assert not any(o.is_error for o in outcomes)
        worst = max(sync_elapsed, async_elapsed)
        rows.append(
            Row(
                f"10 {name} tools x 0.2 s (run / arun)",
                f"{us(sync_elapsed)} / {us(async_elapsed)}",
                "",
                f"{worst / 0.2:.2f}x slowest",
                "≤ 1.2x the slowest",
                worst <= 0.24,
                values={"run_s": sync_elapsed, "arun_s": async_elapsed},
            )
        )
    return rows


def many_conversations_row(quick: bool) -> Row:
    """N concurrent AsyncConversations (one tool step each) on one AsyncClient, in-process."""
    from agentloop import AsyncConversation
    from agentloop.testing import Emulator, FunctionModel

    def model(request: Any) -> Any:
        last = request.history[-1]
        if getattr(last, "type", None) == "function_result":
            return "Done."
        return [{"type": "function_call", "name": "add", "arguments": {"a": 1, "b": 2}}]

    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    n = 200 if quick else 1000
    emulator = Emulator(FunctionModel(model))
    client = emulator.async_client()

    async def main() -> tuple[int, int]:
        convs = [AsyncConversation(client, tools=[add]) for _ in range(n)]
        results = await asyncio.gather(
            *(c.send("add 1 and 2") for c in convs), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        ok = sum(1 for r in results if not isinstance(r, BaseException) and r.output == "Done.")
        del convs, results
        return ok, len(errors)

    gc.collect()
    tracemalloc.start()
    start = time.perf_counter()
    ok, errors = asyncio.run(main())
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per_conv = peak / n / 1e6
    return Row(
        f"{n} concurrent AsyncConversations, one AsyncClient (in-process emulator)",
        f"{per_conv * 1000:.1f} KB/conversation peak, {errors} errors",
        "",
        "",
        "no errors, bounded memory",
        errors == 0 and ok == n,
        note=f"{n} turns (2 requests + 1 tool call each) in {elapsed:.2f} s; peak traced "
        "memory includes the emulator's stored interactions",
        values={"n": n, "mb_per_conversation": per_conv, "errors": errors, "elapsed_s": elapsed},
    )


def throughput_rows(quick: bool) -> list[Row]:
    """Turns per second at 1, 10, 100, 1000 concurrent AsyncConversations over loopback,
    next to raw ``httpx.AsyncClient`` posting the same bytes with the same concurrency."""
    import httpx
    from bench_turn import _headers, loopback_server

    from agentloop import AsyncClient, AsyncConversation

    total = 100 if quick else 1000
    body, headers = P.request_body(), _headers()
    rows = []

    async def measure(url: str, concurrency: int, raw: bool) -> tuple[int, float]:
        http = httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=100))
        client = AsyncClient(api_key=P.API_KEY, base_url=url, http_client=http)
        endpoint = f"{url}/{P.VERSION}/interactions"
        per = max(1, total // concurrency)

        async def one() -> int:
            if raw:
                for _ in range(per):
                    response = await http.post(endpoint, content=body, headers=headers)
                    response.content  # noqa: B018
                return per
            conv = AsyncConversation(
                client, model=P.MODEL, system_instruction=P.SYSTEM, tools=P.TOOLS
            )
            for _ in range(per):
                await conv.send(P.USER)
            return per

        start = time.perf_counter()
        done = await asyncio.gather(*(one() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
        await http.aclose()
        return sum(done), elapsed

    with loopback_server() as url:
        for concurrency in (1, 10, 100, 1000):
            rates: dict[bool, list[float]] = {True: [], False: []}
            for raw in (True, False) if quick else (True, False, False, True):  # ABBA
                turns, elapsed = asyncio.run(measure(url, concurrency, raw))
                rates[raw].append(turns / elapsed)
            mine, theirs = statistics.mean(rates[False]), statistics.mean(rates[True])
            rows.append(
                Row(
                    f"throughput, {concurrency} concurrent AsyncConversations (loopback)",
                    f"{mine:.0f} turns/s",
                    f"raw httpx {theirs:.0f} req/s",
                    f"{mine / theirs:.2f}x",
                    "",
                    None,
                    values={"concurrency": concurrency, "turns_per_s": mine, "raw_per_s": theirs},
                )
            )
    rows[-1].note = (
        "one client process and one uvicorn worker share 2 cores; httpx pool of "
        "100 connections; raw httpx degrades the same way at high concurrency"
    )
    return rows

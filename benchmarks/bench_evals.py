"""Eval harness overhead: ``agentloop.evals.aevaluate`` over a dataset vs running the same
agent on the same inputs alone (a fresh conversation per input, one at a time, both ways).

The agent makes one tool call per case (two model requests) on the in-process emulator, so
the figure is the harness's own cost per case: pydantic-evals' case bookkeeping, the task
adapter, three history evaluators and the summary. CPU time of this process."""

from __future__ import annotations

import time
from typing import Any

from _harness import Row, interleaved_batches, us

EVALUATORS = ("ToolCalled", "MaxRequests", "OutputMatches")


def _setup() -> tuple[Any, Any, Any]:
    from agentloop import Agent, tool
    from agentloop.testing import Emulator

    @tool
    def get_weather(city: str) -> dict[str, Any]:
        """Get the current weather for a city.

        Args:
            city: The city name.
        """
        return {"city": city, "temperature": 17}

    agent = Agent("weather", instructions="Answer briefly.", tools=[get_weather])
    return agent, Emulator().async_client(), get_weather


def _dataset(n: int) -> Any:
    from agentloop.evals import Case, Dataset, MaxRequests, OutputMatches, ToolCalled

    return Dataset(
        name="bench",
        cases=[Case(name=f"c{i}", inputs=f"What is the weather in Paris? ({i})") for i in range(n)],
        evaluators=[
            ToolCalled("get_weather", {"city": "Paris"}),
            MaxRequests(2),
            OutputMatches("Paris"),
        ],
    )


def run(quick: bool) -> list[Row]:
    try:
        import pydantic_evals  # noqa: F401
    except ImportError:
        return [
            Row(
                "eval harness overhead per case",
                "",
                note="skipped: pydantic-evals is not installed (pip install -e '.[evals]')",
            )
        ]
    import anyio

    from agentloop.evals import aevaluate

    agent, client, _ = _setup()
    cases, repeats = (20, 5) if quick else (50, 9)
    datasets: dict[int, Any] = {}

    def alone(n: int) -> None:
        async def main() -> None:
            for i in range(n):
                async with agent.aconversation(client) as conv:
                    await conv.send(f"What is the weather in Paris? ({i})")

        anyio.run(main)

    def evaluated(n: int) -> None:
        dataset = datasets.setdefault(n, _dataset(n))

        async def main() -> None:
            result = await aevaluate(dataset, agent, client=client, max_concurrency=1)
            assert result.passed, result.to_json()

        anyio.run(main)

    timings = interleaved_batches(
        {"alone": alone, "eval": evaluated}, n=cases, repeats=repeats, clock=time.process_time
    )
    base, harness = timings["alone"], timings["eval"]
    overhead = harness - base
    ratio = harness / base
    return [
        Row(
            "eval harness overhead per case (1 tool call, 3 evaluators)",
            us(overhead),
            f"agent alone {us(base)}/case",
            f"{ratio:.2f}x",
            "≤ 1 ms/case",
            overhead <= 1e-3,
            note=f"CPU time; eval {us(harness)}/case",
            values={"overhead_s": overhead, "alone_s": base, "eval_s": harness, "ratio": ratio},
        )
    ]


if __name__ == "__main__":
    from _harness import render

    print(render(run(quick=True)))

"""Execution: validation, every error path, context injection, real concurrency."""

from __future__ import annotations

import asyncio
import enum
import threading
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from agentloop.tools import (
    ArgumentsInvalidError,
    Tool,
    ToolContext,
    ToolError,
    ToolOutcome,
    ToolRegistry,
    ToolResultError,
    UnknownToolError,
    tool,
)
from agentloop.tools.execution import PreparedCall, prepare
from agentloop.types import FunctionCallStep


def call(name: str, call_id: str = "c1", **arguments: Any) -> FunctionCallStep:
    return FunctionCallStep(id=call_id, name=name, arguments=arguments)


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


class Window(BaseModel):
    start: int
    end: int


@tool
def get_weather(city: str, days: int = 1, unit: Unit = Unit.C) -> dict[str, Any]:
    """Weather."""
    if city == "Atlantis":
        raise ValueError("bad city")
    if city == "Nowhere":
        raise ToolError("No such city. Ask the user which city they mean.")
    return {"city": city, "days": days, "unit": unit}


@tool(strict=True)
def strict_tool(n: int, unit: Unit, window: Window | None = None) -> str:
    return f"{n}-{unit.value}-{window.start if window else ''}"


@tool
def nothing() -> None:
    """Returns None."""


@tool
def bad_return() -> Any:
    return object()


@tool
def raises_timeout_itself() -> None:
    raise TimeoutError("upstream timed out")


@pytest.fixture
def registry() -> Iterator[ToolRegistry]:
    reg = ToolRegistry([get_weather, strict_tool, nothing, bad_return, raises_timeout_itself])
    yield reg
    reg.close()


def run_both(registry: ToolRegistry, calls: list[FunctionCallStep]) -> list[ToolOutcome]:
    """Run with the sync driver and the async driver; both must agree."""
    sync = registry.run(calls)
    async_ = asyncio.run(registry.arun(calls))
    assert [o.result for o in sync] == [o.result for o in async_]
    return sync


def wire(outcome: ToolOutcome) -> dict[str, Any]:
    return outcome.result.model_dump(mode="json")


# --- success and validation --------------------------------------------------------------------


def test_success_result_and_outcome_fields(registry: ToolRegistry) -> None:
    [outcome] = run_both(registry, [call("get_weather", city="Paris", days="2")])
    assert wire(outcome) == {
        "type": "function_result",
        "call_id": "c1",
        "name": "get_weather",
        "result": {"city": "Paris", "days": 2, "unit": "celsius"},
    }
    assert outcome.is_error is False and outcome.error is None
    assert outcome.value == {"city": "Paris", "days": 2, "unit": Unit.C}
    assert outcome.duration >= 0
    assert outcome.call.id == "c1"


def test_none_is_an_empty_success(registry: ToolRegistry) -> None:
    [outcome] = run_both(registry, [call("nothing")])
    assert wire(outcome) == {
        "type": "function_result",
        "call_id": "c1",
        "name": "nothing",
        "result": {},  # (the API requires a result: an empty string counts as none)
    }


def test_validation_error_names_each_field_and_skips_the_call() -> None:
    called = []

    @tool
    def get_weather(city: str, days: int) -> str:
        called.append(city)
        return "x"

    registry = ToolRegistry([get_weather])
    [outcome] = run_both(registry, [call("get_weather", days="three")])
    assert outcome.is_error and called == []
    assert outcome.result.result == (
        "Invalid arguments for tool 'get_weather': city: Field required; "
        "days: Input should be a valid integer, unable to parse string as an integer "
        "(got 'three'). Call the tool again with corrected arguments."
    )
    assert wire(outcome)["is_error"] is True


def test_nested_validation_errors_have_paths() -> None:
    @tool
    def schedule(window: Window, n: Annotated[int, Field(ge=1)]) -> str:
        return "ok"

    [outcome] = ToolRegistry([schedule]).run([call("schedule", window={"start": 1}, n=0)])
    assert outcome.result.result == (
        "Invalid arguments for tool 'schedule': window.end: Field required; "
        "n: Input should be greater than or equal to 1 (got 0). "
        "Call the tool again with corrected arguments."
    )


def test_lax_mode_coerces_and_treats_null_as_default(registry: ToolRegistry) -> None:
    [outcome] = run_both(registry, [call("get_weather", city="Oslo", days=None, unit="fahrenheit")])
    assert outcome.value == {"city": "Oslo", "days": 1, "unit": Unit.F}


def test_strict_mode_refuses_coercion_and_extras(registry: ToolRegistry) -> None:
    [ok] = run_both(
        registry, [call("strict_tool", n=3, unit="celsius", window={"start": 4, "end": 5})]
    )
    assert ok.result.result == "3-celsius-4"
    [bad] = run_both(registry, [call("strict_tool", n="3", unit="celsius", extra=1)])
    assert bad.result.result == (
        "Invalid arguments for tool 'strict_tool': n: Input should be a valid integer "
        "(got '3'); extra: Unexpected argument (parameters: n, unit, window). "
        "Call the tool again with corrected arguments."
    )


# --- error paths -------------------------------------------------------------------------------


def test_exception_becomes_type_and_message(registry: ToolRegistry) -> None:
    [outcome] = run_both(registry, [call("get_weather", city="Atlantis")])
    assert outcome.result.result == "ValueError: bad city"
    assert outcome.is_error and isinstance(outcome.error, ValueError)
    assert "Traceback" not in outcome.result.result


def test_tool_error_sends_its_message_only(registry: ToolRegistry) -> None:
    [outcome] = run_both(registry, [call("get_weather", city="Nowhere")])
    assert outcome.result.result == "No such city. Ask the user which city they mean."
    assert isinstance(outcome.error, ToolError)


def test_unknown_tool_lists_available(registry: ToolRegistry) -> None:
    [outcome] = run_both(registry, [call("get_wether", city="x")])
    assert wire(outcome) == {
        "type": "function_result",
        "call_id": "c1",
        "name": "get_wether",
        "result": "Unknown tool 'get_wether'. Available tools: get_weather, strict_tool, "
        "nothing, bad_return, raises_timeout_itself.",
        "is_error": True,
    }


def test_unconvertible_return_value(registry: ToolRegistry) -> None:
    [outcome] = run_both(registry, [call("bad_return")])
    assert outcome.is_error
    assert outcome.result.result.startswith(
        "Tool 'bad_return' returned a value (of type 'object') that cannot be sent as a result"
    )
    assert isinstance(outcome.error, ToolResultError)


def test_a_tools_own_timeout_error_is_not_a_tool_timeout(registry: ToolRegistry) -> None:
    [outcome] = run_both(registry, [call("raises_timeout_itself")])
    assert outcome.result.result == "TimeoutError: upstream timed out"


def test_sync_tool_timeout() -> None:
    release = threading.Event()

    @tool(timeout=0.05)
    def slow() -> str:
        release.wait(10)
        return "late"

    registry = ToolRegistry([slow])
    try:
        [outcome] = registry.run([call("slow")])
        assert outcome.result.result.startswith("Tool 'slow' timed out after 0.05 s")
        assert outcome.is_error
        [outcome] = asyncio.run(registry.arun([call("slow")]))
        assert outcome.result.result.startswith("Tool 'slow' timed out after 0.05 s")
    finally:
        release.set()
        registry.close()


def test_async_tool_timeout_cancels_the_coroutine() -> None:
    cancelled = []

    @tool(timeout=0.05)
    async def slow() -> str:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return "never"

    with ToolRegistry([slow]) as registry:
        [outcome] = registry.run([call("slow")])
        assert outcome.result.result.startswith("Tool 'slow' timed out after 0.05 s")
        [outcome] = asyncio.run(registry.arun([call("slow")]))
        assert outcome.result.result.startswith("Tool 'slow' timed out after 0.05 s")
    assert cancelled == [True, True]


def test_keyboard_interrupt_propagates() -> None:
    @tool
    def interrupt() -> None:
        raise KeyboardInterrupt

    registry = ToolRegistry([interrupt, nothing])
    with pytest.raises(KeyboardInterrupt):
        registry.run([call("interrupt")])
    with pytest.raises(KeyboardInterrupt):  # through the thread pool too
        registry.run([call("interrupt"), call("nothing", "c2")])
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(registry.arun([call("interrupt")]))
    registry.close()


async def test_cancellation_propagates_and_cancels_tools() -> None:
    started = asyncio.Event()
    cancelled = []

    @tool
    async def wait_forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    registry = ToolRegistry([wait_forever])
    calls = [call("wait_forever"), call("wait_forever", "c2")]
    # A short grace: these tools never finish, so the interruption's wait for them is cut.
    task = asyncio.ensure_future(registry.arun(calls, grace=0.05))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled == [True, True]


# --- context -----------------------------------------------------------------------------------


def test_context_injection_default_and_factory() -> None:
    seen: list[ToolContext[Any]] = []

    @tool
    def whoami(query: str, ctx: ToolContext[dict[str, str]]) -> str:
        seen.append(ctx)
        return f"{query}:{ctx.deps['user'] if ctx.deps else 'anon'}"

    registry = ToolRegistry([whoami])
    [outcome] = registry.run([call("whoami", "id9", query="q")])
    assert outcome.result.result == "q:anon"
    assert seen[-1].call_id == "id9" and seen[-1].tool_name == "whoami"
    assert seen[-1].arguments == {"query": "q"} and seen[-1].conversation is None

    conversation = object()

    def factory(c: FunctionCallStep, t: Tool[..., Any] | None) -> ToolContext[Any]:
        assert t is whoami
        return ToolContext(
            call_id=c.id,
            tool_name=c.name,
            arguments=c.arguments,
            conversation=conversation,
            deps={"user": "ada"},
            metadata={"k": 1},
        )

    [outcome] = asyncio.run(registry.arun([call("whoami", query="q")], context=factory))
    assert outcome.result.result == "q:ada"
    assert seen[-1].conversation is conversation and seen[-1].metadata == {"k": 1}


# --- prepare (sans-I/O) ------------------------------------------------------------------------


def test_prepare_returns_a_ready_call_or_an_error_outcome(registry: ToolRegistry) -> None:
    ready = prepare(registry, call("get_weather", city="Rome", days="4"))
    assert isinstance(ready, PreparedCall)
    assert ready.kwargs == {"city": "Rome", "days": 4} and ready.tool is get_weather
    assert ready.start() == {"city": "Rome", "days": 4, "unit": Unit.C}

    failed = prepare(registry, call("get_weather"))
    assert isinstance(failed, ToolOutcome) and failed.result.is_error is True
    assert isinstance(failed.error, ArgumentsInvalidError)
    missing = prepare(registry, call("missing"))
    assert isinstance(missing, ToolOutcome) and isinstance(missing.error, UnknownToolError)


# --- concurrency (no timing: barriers only release when all calls are in flight) -------------


def test_sync_tools_overlap_in_the_pool() -> None:
    n = 4
    barrier = threading.Barrier(n, timeout=10)

    @tool
    def meet(i: int) -> int:
        barrier.wait()  # BrokenBarrierError (an is_error result) unless all n run at once
        return i

    with ToolRegistry([meet], max_workers=n) as registry:
        calls = [call("meet", f"c{i}", i=i) for i in range(n)]
        outcomes = registry.run(calls)
        assert [o.result.result for o in outcomes] == ["0", "1", "2", "3"]
        assert not any(o.is_error for o in outcomes)
        barrier.reset()
        outcomes = asyncio.run(registry.arun(calls))
        assert [o.value for o in outcomes] == [0, 1, 2, 3]


def _async_meeting(n: int) -> Tool[..., Any]:
    state: dict[str, Any] = {"count": 0, "event": None}

    @tool
    async def gather_up(i: int) -> int:
        if state["event"] is None:
            state["event"] = asyncio.Event()
        state["count"] += 1
        if state["count"] == n:
            state["event"].set()
        await asyncio.wait_for(state["event"].wait(), 10)
        return i

    return gather_up


def test_async_tools_overlap_from_sync_code() -> None:
    with ToolRegistry([_async_meeting(3)]) as registry:
        outcomes = registry.run([call("gather_up", f"c{i}", i=i) for i in range(3)])
    assert [o.value for o in outcomes] == [0, 1, 2]
    assert not any(o.is_error for o in outcomes)


async def test_async_tools_overlap_on_the_running_loop() -> None:
    registry = ToolRegistry([_async_meeting(3)])
    outcomes = await registry.arun([call("gather_up", f"c{i}", i=i) for i in range(3)])
    assert [o.value for o in outcomes] == [0, 1, 2]


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_pool_is_bounded(driver: str) -> None:
    bound = 2
    pair = threading.Barrier(bound, timeout=10)  # proves `bound` calls do run at once
    # Passable only if bound + 1 calls run at once: with the bound it breaks (once, after
    # its timeout) and every later wait fails at once; without the bound it is passed.
    over = threading.Barrier(bound + 1, timeout=0.3)
    passed_over: list[int] = []

    @tool
    def work(i: int) -> int:
        pair.wait()
        try:
            over.wait()
            passed_over.append(i)
        except threading.BrokenBarrierError:
            pass
        return i

    calls = [call("work", f"c{i}", i=i) for i in range(3 * bound)]
    with ToolRegistry([work], max_workers=bound) as registry:
        outcomes = registry.run(calls) if driver == "sync" else asyncio.run(registry.arun(calls))
    assert [o.value for o in outcomes] == list(range(3 * bound))
    assert not any(o.is_error for o in outcomes)
    assert passed_over == []
    assert over.broken  # the bounded calls did reach it, `bound` at a time


def test_mixed_batch_keeps_call_order() -> None:
    @tool
    async def aecho(s: str) -> str:
        return "a" + s

    @tool
    def secho(s: str) -> str:
        return "s" + s

    with ToolRegistry([aecho, secho]) as registry:
        calls = [
            call("aecho", "1", s="x"),
            call("missing", "2"),
            call("secho", "3", s="y"),
            call("secho", "4"),
            call("aecho", "5", s="z"),
        ]
        for outcomes in (registry.run(calls), asyncio.run(registry.arun(calls))):
            assert [o.result.call_id for o in outcomes] == ["1", "2", "3", "4", "5"]
            assert [o.is_error for o in outcomes] == [False, True, False, True, False]
            assert outcomes[0].result.result == "ax" and outcomes[4].result.result == "az"

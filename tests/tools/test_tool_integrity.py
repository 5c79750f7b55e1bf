"""Issue 10, tool side: a call whose arguments are not a JSON object never runs, every result
encodes (what cannot be encoded becomes a repaired ``is_error`` result), tools run where
users expect (worker threads, a copy of the caller's context), timed-out calls free their
slot, plus the ``idempotent`` and approval-policy flags and the error names (issue 17)."""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentloop import errors
from agentloop.client import StreamAccumulator
from agentloop.loop.history import encode_step
from agentloop.tools import (
    Tool,
    ToolContext,
    ToolOutcome,
    ToolRegistry,
    tool,
)
from agentloop.types import FunctionCallStep, StepDeltaEvent, StepStartEvent, StepStopEvent

DRIVERS = ["sync", "async"]


def call(name: str, call_id: str = "c1", **arguments: Any) -> FunctionCallStep:
    return FunctionCallStep(id=call_id, name=name, arguments=arguments)


def run(driver: str, registry: ToolRegistry, calls: list[FunctionCallStep]) -> list[ToolOutcome]:
    if driver == "sync":
        return registry.run(calls)
    return asyncio.run(registry.arun(calls))


def assert_encodes(outcome: ToolOutcome) -> dict[str, Any]:
    """The result step encodes with the history's own encoder, to valid JSON."""
    wire = encode_step(outcome.result)
    assert outcome.wire == wire
    decoded = json.loads(wire)
    assert decoded["call_id"] == outcome.call.id
    return decoded


# --- item 2: never run a tool with arguments the model did not send -------------------------


@pytest.fixture
def archive_calls() -> Iterator[tuple[ToolRegistry, list[tuple[str, bool]]]]:
    ran: list[tuple[str, bool]] = []

    @tool(requires_approval=True)
    def archive(pattern: str = "*", delete_after: bool = False) -> str:
        """Archive files."""
        ran.append((pattern, delete_after))
        return "archived"

    with ToolRegistry([archive]) as registry:
        yield registry, ran


def _streamed_call(arguments_text: str) -> FunctionCallStep:
    """The call as the client assembles it from a (truncated) argument stream."""
    acc = StreamAccumulator("int_1")
    acc.feed(
        StepStartEvent.model_validate(
            {
                "index": 0,
                "step": {"type": "function_call", "id": "c1", "name": "archive", "arguments": {}},
            }
        )
    )
    acc.feed(
        StepDeltaEvent.model_validate(
            {"index": 0, "delta": {"type": "arguments_delta", "arguments": arguments_text}}
        )
    )
    acc.feed(StepStopEvent.model_validate({"index": 0}))
    [step] = acc.interaction.steps or []
    assert isinstance(step, FunctionCallStep)
    return step


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize(
    "text", ['{"pattern": "*.log", "delete_after": tr', "[1, 2]", '"*.log"', "3"]
)
def test_streamed_arguments_not_a_json_object_never_run_the_tool(
    driver: str, text: str, archive_calls: tuple[ToolRegistry, list[tuple[str, bool]]]
) -> None:
    registry, ran = archive_calls
    bad = _streamed_call(text)
    assert bad.invalid_arguments == text and bad.arguments == {}
    assert registry.needs_approval(bad) is False  # nothing to approve: it will not run
    [outcome] = run(driver, registry, [bad])
    assert ran == []  # archive('*', False) must never happen
    assert outcome.is_error
    assert isinstance(outcome.error, errors.ArgumentsInvalidError)
    text_sent = outcome.result.result
    assert isinstance(text_sent, str)
    assert "not a valid JSON object" in text_sent and "not run" in text_sent
    assert repr(text) in text_sent  # the model sees what it sent
    assert_encodes(outcome)


@pytest.mark.parametrize("driver", DRIVERS)
def test_arguments_that_are_not_a_dict_never_run_the_tool(
    driver: str, archive_calls: tuple[ToolRegistry, list[tuple[str, bool]]]
) -> None:
    registry, ran = archive_calls
    # Built without validation, as hand-made or restored steps can be.
    weird = FunctionCallStep.model_construct(id="c9", name="archive", arguments=["*.log"])
    [outcome] = run(driver, registry, [weird])
    assert ran == [] and outcome.is_error
    assert "not a valid JSON object" in str(outcome.result.result)
    assert registry.needs_approval(weird) is False


@pytest.mark.parametrize("driver", DRIVERS)
def test_valid_streamed_arguments_still_run(
    driver: str, archive_calls: tuple[ToolRegistry, list[tuple[str, bool]]]
) -> None:
    registry, ran = archive_calls
    good = _streamed_call('{"pattern": "*.log", "delete_after": true}')
    assert registry.needs_approval(good) is True
    [outcome] = run(driver, registry, [good])
    assert ran == [("*.log", True)] and not outcome.is_error


# --- item 1: every result encodes --------------------------------------------------------------


@pytest.fixture
def odd_dir(tmp_path: Path) -> Path:
    # A file name that is not UTF-8: os.listdir gives it back with a lone surrogate.
    try:
        (tmp_path / os.fsdecode(b"caf\xe9.txt")).write_text("x")
    except (OSError, UnicodeError):  # pragma: no cover - file systems that refuse it
        pytest.skip("this file system refuses non-UTF-8 file names")
    (tmp_path / "plain.txt").write_text("y")
    return tmp_path


def _circular() -> dict[str, Any]:
    loop: dict[str, Any] = {"name": "loop"}
    loop["self"] = loop
    return loop


def _deep() -> list[Any]:
    value: list[Any] = []
    for _ in range(5000):
        value = [value]
    return value


class Opaque:
    pass


CASES: dict[str, tuple[Any, str, str | None]] = {
    # name: (return value, problem named in the text, a piece of the repaired value)
    "nan": ({"score": float("nan"), "ok": 1}, "NaN or Infinity", '{"score": null, "ok": 1}'),
    "inf_list": ([1.0, float("inf")], "NaN or Infinity", "[1.0, null]"),
    "circular": (_circular(), "circular reference", '"self": null'),
    "bytes_inside": ({"raw": b"\xff\xfe"}, "not UTF-8", '"raw": "\\\\xff\\\\xfe"'),
    "object_inside": ({"thing": Opaque()}, "'Opaque'", '"thing": "<Opaque object>"'),
    "surrogate_text": ("caf\udce9", "not valid Unicode", '"caf\\\\xe9"'),
    "surrogate_key": ({"caf\udce9": 1}, "not valid Unicode", '{"caf\\\\xe9": 1}'),
    "deep": (_deep(), "", None),
}


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_unencodable_results_become_repaired_error_results(driver: str, case: str) -> None:
    value, problem, repaired = CASES[case]

    @tool(name=f"t_{case}")
    def give() -> Any:
        return value

    with ToolRegistry([give]) as registry:
        [outcome] = run(driver, registry, [call(f"t_{case}")])
    assert outcome.is_error
    assert isinstance(outcome.error, errors.ToolResultError)
    decoded = assert_encodes(outcome)
    text = decoded["result"]
    assert text.startswith(f"Tool 't_{case}' returned a value")
    assert problem in text
    if repaired is not None:
        assert "The repaired result: " in text and repaired in text


@pytest.mark.parametrize("driver", DRIVERS)
def test_listdir_with_a_non_utf8_name_is_repaired(driver: str, odd_dir: Path) -> None:
    @tool
    def ls() -> list[str]:
        return sorted(os.listdir(odd_dir))

    with ToolRegistry([ls]) as registry:
        [outcome] = run(driver, registry, [call("ls")])
    decoded = assert_encodes(outcome)
    assert outcome.is_error and "not valid Unicode" in decoded["result"]
    assert decoded["result"].endswith('The repaired result: ["caf\\\\xe9.txt", "plain.txt"]')


@pytest.mark.parametrize("driver", DRIVERS)
def test_error_texts_with_surrogates_encode(driver: str, odd_dir: Path) -> None:
    @tool
    def fail_listing() -> str:
        raise errors.ToolError("cannot use " + ", ".join(sorted(os.listdir(odd_dir))))

    @tool
    def crash() -> str:
        raise OSError(os.fsdecode(b"disk \xff failed"))

    with ToolRegistry([fail_listing, crash]) as registry:
        outcomes = run(driver, registry, [call("fail_listing", "a"), call("crash", "b")])
    texts = [assert_encodes(outcome)["result"] for outcome in outcomes]
    assert all(outcome.is_error for outcome in outcomes)
    assert texts == ["cannot use caf\\xe9.txt, plain.txt", "OSError: disk \\xff failed"]


@pytest.mark.parametrize("driver", DRIVERS)
def test_plain_results_are_untouched_and_carry_their_encoding(driver: str) -> None:
    @tool
    def fine() -> dict[str, Any]:
        return {"text": "café ✓", "n": 1.5, "items": [1, 2]}

    with ToolRegistry([fine]) as registry:
        [outcome] = run(driver, registry, [call("fine")])
    assert not outcome.is_error and outcome.error is None
    assert assert_encodes(outcome)["result"] == {"text": "café ✓", "n": 1.5, "items": [1, 2]}


# --- item 8: where tools run ---------------------------------------------------------------


def test_async_driver_never_runs_sync_tools_on_the_event_loop() -> None:
    threads: list[int] = []

    @tool
    def quick() -> str:
        threads.append(threading.get_ident())
        return "ok"

    async def main() -> int:
        loop_thread = threading.get_ident()
        with ToolRegistry([quick]) as registry:
            for i in range(20):  # well past any "proven quick" count
                await registry.arun([call("quick", f"c{i}")])
            await registry.arun([call("quick", f"m{i}") for i in range(5)])
        return loop_thread

    loop_thread = asyncio.run(main())
    assert len(threads) == 25 and loop_thread not in threads


def test_a_tool_turning_slow_never_blocks_the_event_loop() -> None:
    calls = {"n": 0}
    slow_started = threading.Event()
    release = threading.Event()

    @tool
    def becomes_slow() -> str:
        calls["n"] += 1
        if calls["n"] <= 12:
            return "quick"
        slow_started.set()
        # Only the event loop sets ``release``: on the loop's own thread this would block
        # the loop, so nobody could set it and the wait would time out.
        return "released" if release.wait(2) else "the event loop was blocked"

    async def main() -> Any:
        with ToolRegistry([becomes_slow]) as registry:
            for i in range(12):
                await registry.arun([call("becomes_slow", f"c{i}")])
            task = asyncio.ensure_future(registry.arun([call("becomes_slow", "slow")]))
            await asyncio.get_running_loop().run_in_executor(None, slow_started.wait, 5)
            release.set()
            [outcome] = await task
            return outcome.value

    assert asyncio.run(main()) == "released"


VAR: contextvars.ContextVar[str] = contextvars.ContextVar("agentloop_test_var", default="unset")


def _context_tools() -> list[Tool[..., Any]]:
    @tool
    def sync_peek(tag: str) -> str:
        seen = VAR.get()
        VAR.set(f"changed by {tag}")
        return seen

    @tool
    async def async_peek(tag: str) -> str:
        seen = VAR.get()
        VAR.set(f"changed by {tag}")
        return seen

    @tool(timeout=5)
    def timed_peek(tag: str) -> str:
        seen = VAR.get()
        VAR.set(f"changed by {tag}")
        return seen

    return [sync_peek, async_peek, timed_peek]


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize(
    "names",
    [["sync_peek"], ["async_peek"], ["timed_peek"], ["sync_peek", "async_peek", "timed_peek"]],
)
def test_every_call_runs_in_a_copy_of_the_callers_context(driver: str, names: list[str]) -> None:
    def scenario() -> tuple[list[Any], str]:
        VAR.set("caller")
        with ToolRegistry(_context_tools()) as registry:
            calls = [call(n, f"c{i}", tag=n) for i, n in enumerate(names)]
            if driver == "sync":
                outcomes = registry.run(calls)
                outcomes += registry.run(calls)  # and again: nothing sticks between calls
                return [o.value for o in outcomes], VAR.get()

            async def both() -> list[ToolOutcome]:
                return await registry.arun(calls) + await registry.arun(calls)

            outcomes = asyncio.run(both())
            return [o.value for o in outcomes], VAR.get()

    values, after = contextvars.copy_context().run(scenario)
    assert values == ["caller"] * (2 * len(names))  # sees the caller's value...
    assert after == "caller"  # ...and its changes stay in its copy


# --- item 9: timed-out calls free their slot ---------------------------------------------------


@pytest.mark.parametrize("driver", DRIVERS)
def test_hung_calls_do_not_fill_the_pool(driver: str) -> None:
    release = threading.Event()

    @tool(timeout=0.05)
    def hang(i: int) -> int:
        release.wait(30)
        return i

    @tool(timeout=5)
    def trivial() -> str:
        return "ran"

    registry = ToolRegistry([hang, trivial])  # 32 workers
    try:
        hung = run(driver, registry, [call("hang", f"h{i}", i=i) for i in range(33)])
        assert all(o.is_error and "timed out" in str(o.result.result) for o in hung)
        assert all(isinstance(o.error, errors.ToolTimeoutError) for o in hung)
        assert registry._get_pool().busy <= 1  # the 33 hung threads no longer count
        outcomes = run(driver, registry, [call("trivial", "t1"), call("trivial", "t2")])
        assert [o.result.result for o in outcomes] == ["ran", "ran"]
    finally:
        release.set()
        registry.close()


@pytest.mark.slow  # a subprocess
def test_a_hung_tool_does_not_delay_interpreter_exit(tmp_path: Path) -> None:
    script = tmp_path / "hang.py"
    script.write_text(
        textwrap.dedent(
            """
            import time
            from agentloop.tools import ToolRegistry, tool
            from agentloop.types import FunctionCallStep

            @tool(timeout=0.05)
            def hang() -> str:
                time.sleep(60)
                return "late"

            registry = ToolRegistry([hang])
            [outcome] = registry.run([FunctionCallStep(id="c", name="hang", arguments={})])
            print(outcome.result.result)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=30, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "timed out after 0.05 s" in done.stdout


# --- flags: idempotent, approval policies --------------------------------------------------


def test_idempotent_flag() -> None:
    @tool
    def plain() -> None: ...

    @tool(idempotent=True)
    def lookup() -> None: ...

    assert plain.idempotent is False and lookup.idempotent is True
    assert Tool(lambda: None, name="x", idempotent=True).idempotent is True


def test_approval_policy_decides_per_call_with_the_calls_context() -> None:
    seen: list[tuple[str, Any]] = []

    def big_refunds(c: FunctionCallStep, ctx: ToolContext[Any]) -> bool:
        seen.append((c.id, ctx.deps))
        return bool(c.arguments.get("amount", 0) > ctx.deps["limit"])

    @tool(requires_approval=big_refunds)
    def refund(order: str, amount: float) -> str:
        return "refunded"

    @tool(requires_approval=True)
    def delete_all() -> str:
        return "gone"

    @tool
    def harmless() -> str:
        return "hi"

    def factory(c: FunctionCallStep, t: Tool[..., Any] | None) -> ToolContext[Any]:
        return ToolContext(call_id=c.id, tool_name=c.name, deps={"limit": 100})

    registry = ToolRegistry([refund, delete_all, harmless])
    small = call("refund", "s", order="A-1", amount=20)
    big = call("refund", "b", order="A-2", amount=500)
    assert registry.needs_approval(small, factory) is False
    assert registry.needs_approval(big, factory) is True
    assert seen == [("s", {"limit": 100}), ("b", {"limit": 100})]
    assert registry.needs_approval(call("delete_all")) is True
    assert registry.needs_approval(call("harmless")) is False
    assert registry.needs_approval(call("no_such_tool")) is False
    ctx = factory(big, refund)
    assert refund.needs_approval(big, ctx) is True and delete_all.needs_approval(big, ctx)
    assert refund.requires_approval is big_refunds


def test_a_failing_policy_asks_the_user(caplog: pytest.LogCaptureFixture) -> None:
    def broken(c: FunctionCallStep, ctx: ToolContext[Any]) -> bool:
        raise KeyError("limit")

    @tool(requires_approval=broken)
    def pay() -> str:
        return "paid"

    assert ToolRegistry([pay]).needs_approval(call("pay")) is True
    assert "approval policy of tool 'pay' raised" in caplog.text


def test_requires_approval_must_be_a_bool_or_a_policy() -> None:
    with pytest.raises(errors.ToolDefinitionError, match="requires_approval"):

        @tool(requires_approval="yes")  # type: ignore[call-overload]
        def f() -> None: ...


# --- issue 17: one error hierarchy (the old names went in 0.x, issue 21) -------------------


@pytest.mark.parametrize(
    ("module_name", "old"),
    [
        ("agentloop.tools", "UnknownTool"),
        ("agentloop.tools.execution", "ToolTimeout"),
        ("agentloop.tools.tool", "ArgumentsInvalid"),
        ("agentloop.tools.schema", "TypeProblem"),
    ],
)
def test_old_names_are_gone(module_name: str, old: str) -> None:
    import importlib

    assert not hasattr(importlib.import_module(module_name), old)


def test_tool_errors_are_agentloop_errors_and_keep_their_builtin_bases() -> None:
    import pickle

    import agentloop.tools as tools_module

    assert tools_module.ToolError is errors.ToolError
    assert tools_module.ToolDefinitionError is errors.ToolDefinitionError
    for cls, builtin in [
        (errors.ToolDefinitionError, ValueError),
        (errors.ToolSchemaError, ValueError),
        (errors.UnknownToolError, LookupError),
        (errors.ToolTimeoutError, TimeoutError),
        (errors.ArgumentsInvalidError, ValueError),
        (errors.ToolResultError, ValueError),
        (errors.ToolError, Exception),
    ]:
        assert issubclass(cls, errors.AgentloopError) and issubclass(cls, builtin)
        assert cls.__name__ in errors.__all__
    clone = pickle.loads(pickle.dumps(errors.ArgumentsInvalidError(["a: bad"])))
    assert clone.problems == ["a: bad"]
    assert str(pickle.loads(pickle.dumps(errors.ToolError("try again")))) == "try again"
    with pytest.raises(AttributeError):
        _ = tools_module.NoSuchThing  # type: ignore[attr-defined]


def test_pool_gives_up_on_a_call_and_frees_its_slot() -> None:
    from agentloop.tools._pool import ToolPool

    release, started = threading.Event(), threading.Event()

    def hang() -> bool:
        started.set()
        return release.wait(30)

    pool = ToolPool(1)
    hung = pool.submit(hang)
    assert started.wait(10)
    queued = pool.submit(str, "ran")  # waits: the only slot is taken
    assert not queued.done() and pool.busy == 1
    pool.abandon(hung)  # a replacement thread takes the queue
    assert queued.result(timeout=10) == "ran"
    later = pool.submit(str, "also")
    assert later.result(timeout=10) == "also"
    assert not hung.done()  # still running: Python cannot stop it
    pool.shutdown(wait=True)  # returns although the abandoned call still runs
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(str, "x")
    release.set()
    assert hung.result(timeout=10) is True
    assert all(t.daemon for t in threading.enumerate() if t.name.startswith("agentloop-tool"))

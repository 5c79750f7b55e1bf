"""Hooks: before_request, after_response, before_tool and after_tool, sync and async."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import pytest
from loop_helpers import bodies, call, delete_file, explode, get_weather, open_calls, say

from agentloop import AsyncConversation, Conversation, Deny, Hooks, RequireApproval, tool
from agentloop.errors import HookError, RequestVetoedError
from agentloop.loop.hooks import ModelRequest, ModelResponse, ToolCallRequest, ToolCallResult
from agentloop.testing import Emulator, ScriptedModel

DRIVERS = ["sync", "async"]


def send(driver: str, conv: Any, text: str) -> Any:
    if driver == "sync":
        return conv.send(text)
    return asyncio.run(conv.send(text))


def make(driver: str, emu: Emulator, **options: Any) -> Any:
    if driver == "sync":
        return Conversation(emu.client(), **options)
    return AsyncConversation(emu.async_client(), **options)


def results_per_call(history: list[Any]) -> Counter[str]:
    """How many results each function call of ``history`` got (the invariant: exactly 1)."""
    counts: Counter[str] = Counter({s.id: 0 for s in history if s.type == "function_call"})
    counts.update(s.call_id for s in history if s.type == "function_result")
    return counts


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_before_request_edits_the_body(
    emu: Emulator, scripted: ScriptedModel, driver: str, kind: str
) -> None:
    seen: list[int] = []

    def edit(request: ModelRequest) -> None:
        seen.append(request.step)
        request.body["generation_config"] = {"temperature": 0.25}

    async def aedit(request: ModelRequest) -> dict[str, Any]:
        seen.append(request.step)
        return {**request.body, "generation_config": {"temperature": 0.25}}

    scripted.add([call("get_weather", "c1", city="Rome")], say("warm"))
    hooks = Hooks(before_request=edit if kind == "sync" else aedit)
    conv = make(driver, emu, tools=[get_weather], hooks=hooks)
    assert send(driver, conv, "weather?").output_text == "warm"
    assert seen == [1, 2]
    sent = bodies(emu)
    assert [b["generation_config"] for b in sent] == [{"temperature": 0.25}] * 2
    assert sent[1]["input"][0]["type"] == "function_result"  # the rest of the body is intact
    conv.strategy = "stateless"  # edited bodies keep history exact enough to resend
    scripted.add(say("ok"))
    assert send(driver, conv, "again").output_text == "ok"


@pytest.mark.parametrize("driver", DRIVERS)
def test_before_request_veto_ends_the_turn_without_orphan_calls(
    emu: Emulator, scripted: ScriptedModel, driver: str
) -> None:
    def budget(request: ModelRequest) -> Deny | None:
        return Deny("over budget") if request.step > 1 else None

    scripted.add([call("get_weather", "c1", city="Rome")], say("unused"), say("later"))
    conv = make(driver, emu, tools=[get_weather], hooks=Hooks(before_request=budget))
    with pytest.raises(RequestVetoedError, match="over budget") as info:
        send(driver, conv, "weather?")
    assert info.value.reason == "over budget" and info.value.turn is not None
    assert len(bodies(emu)) == 1  # the vetoed request was never sent
    assert set(results_per_call(conv.history).values()) == {1}
    conv.hooks = None
    assert send(driver, conv, "try again").output_text == "unused"


@pytest.mark.parametrize("driver", DRIVERS)
def test_after_response_sees_each_interaction(
    emu: Emulator, scripted: ScriptedModel, driver: str
) -> None:
    seen: list[tuple[str, int]] = []

    async def record(response: ModelResponse) -> None:
        seen.append((str(response.interaction.status), len(response.conversation.history)))

    scripted.add([call("get_weather", "c1", city="Rome")], say("warm"))
    conv = make(driver, emu, tools=[get_weather], hooks=Hooks(after_response=record))
    turn = send(driver, conv, "weather?")
    assert [s for s, _ in seen] == ["requires_action", "completed"]
    assert seen[-1][1] == len(conv.history)  # called after the steps were added
    assert len(turn.interaction_ids) == 2


@pytest.mark.parametrize("driver", DRIVERS)
def test_before_tool_blocks_changes_arguments_and_runs_in_order(
    emu: Emulator, scripted: ScriptedModel, driver: str
) -> None:
    order: list[str] = []
    ran: list[str] = []

    @tool
    def lookup(city: str) -> str:
        """Look a city up.

        Args:
            city: the city.
        """
        ran.append(city)
        return f"found {city}"

    def first(request: ToolCallRequest) -> Any:
        order.append(f"first:{request.id}")
        if request.name == "explode":
            return Deny("exploding is not allowed")
        request.arguments["city"] = request.arguments["city"].upper()
        return None

    class Second:
        async def before_tool(self, request: ToolCallRequest) -> Any:
            order.append(f"second:{request.id}")
            return {"city": request.arguments["city"] + "!"}

    scripted.add(
        [call("lookup", "c1", city="rome"), call("explode", "c2", reason="x")], say("done")
    )
    conv = make(driver, emu, tools=[lookup, explode], hooks=[Hooks(before_tool=first), Second()])
    turn = send(driver, conv, "go")
    assert order == ["first:c1", "second:c1", "first:c2"]
    assert ran == ["ROME!"]
    model_call = next(s for s in conv.history if s.type == "function_call" and s.id == "c1")
    assert model_call.arguments == {"city": "rome"}  # history keeps what the model sent
    results = {s.call_id: s for s in conv.history if s.type == "function_result"}
    assert results["c1"].result == "found ROME!"
    assert results["c2"].is_error and results["c2"].result == "Blocked: exploding is not allowed"
    sent = [s for s in bodies(emu)[1]["input"] if s["type"] == "function_result"]
    assert {s["call_id"] for s in sent} == {"c1", "c2"}
    assert turn.output_text == "done"


def test_blocking_every_call_lets_the_model_read_the_reasons(
    emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add([call("explode", "c1", reason="x")], say("understood"))
    conv = Conversation(
        emu.client(), tools=[explode], hooks=Hooks(before_tool=lambda r: Deny("no"))
    )
    assert conv.send("go").output_text == "understood"
    assert bodies(emu)[1]["input"][0]["result"] == "Blocked: no"


@pytest.mark.parametrize("driver", DRIVERS)
def test_before_tool_can_ask_for_approval(
    emu: Emulator, scripted: ScriptedModel, driver: str
) -> None:
    def risky(request: ToolCallRequest) -> Any:
        return RequireApproval() if request.arguments.get("city") == "Atlantis" else None

    scripted.add(
        [call("get_weather", "c1", city="Rome"), call("get_weather", "c2", city="Atlantis")],
        say("half done"),
    )
    conv = make(driver, emu, tools=[get_weather], hooks=Hooks(before_tool=risky))
    paused = send(driver, conv, "weather?")
    assert paused.status == "awaiting_approval"
    assert [c.id for c in conv.pending_approvals] == ["c2"]
    assert [c.id for c in paused.tool_calls] == ["c1"]  # the other call ran already
    conv.reject("c2", "no such place")
    done = conv.resume() if driver == "sync" else asyncio.run(conv.resume())
    assert done.output_text == "half done"
    rejected = next(s for s in conv.history if getattr(s, "call_id", None) == "c2")
    assert rejected.is_error and "no such place" in rejected.result
    assert open_calls(conv.history) == set()


def guard(request: ToolCallRequest) -> Any:
    """Confines delete_file to /safe; refuses anything under /etc."""
    if request.arguments["path"].startswith("/etc"):
        return Deny("system files are off limits")
    request.arguments["path"] = "/safe" + request.arguments["path"]
    return None


def test_hooks_run_before_approval_and_again_on_the_models_call_at_resume(
    emu: Emulator, scripted: ScriptedModel
) -> None:
    seen: list[dict[str, Any]] = []

    def watch(request: ToolCallRequest) -> None:
        seen.append(dict(request.arguments))

    scripted.add([call("delete_file", "c1", path="/x")], say("deleted"))
    hooks = Hooks(before_tool=[watch, guard])
    conv = Conversation(emu.client(), tools=[delete_file], hooks=hooks)
    conv.send("clean")
    assert conv.pending_approvals[0].arguments == {"path": "/safe/x"}  # the human sees edits
    conv.approve("c1")
    turn = conv.resume()
    assert seen == [{"path": "/x"}, {"path": "/x"}]  # the model's call both times
    assert turn.tool_calls[0].result.result == "deleted /safe/x"  # edited once, not twice


def test_hooks_with_journaling_and_approval_across_a_reload(
    emu: Emulator, scripted: ScriptedModel
) -> None:
    from memory_store import MemoryStore

    store = MemoryStore()
    scripted.add(
        [call("delete_file", "c1", path="/etc/passwd"), call("delete_file", "c2", path="/x")],
        say("one of two"),
    )
    hooks = Hooks(before_tool=guard)
    conv = Conversation(emu.client(), tools=[delete_file], hooks=hooks, store=store, id="t")
    paused = conv.send("clean")
    assert [c.id for c in conv.pending_approvals] == ["c2"]
    assert paused.tool_calls[0].result.result == "Blocked: system files are off limits"

    # Another process loads the journal (hooks are code: passed again), approves, resumes.
    loaded = Conversation.from_store(
        store, "t", client=emu.client(), tools=[delete_file], hooks=hooks
    )
    blocked = [s for s in loaded.history if getattr(s, "call_id", None) == "c1"]
    assert blocked[0].is_error and "off limits" in blocked[0].result  # journaled
    loaded.approve("c2")
    done = loaded.resume()
    assert done.output_text == "one of two"
    assert done.tool_calls[-1].result.result == "deleted /safe/x"  # the hook applied again
    assert set(results_per_call(loaded.history).values()) == {1}


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_after_tool_redacts_results(
    emu: Emulator, scripted: ScriptedModel, driver: str, kind: str
) -> None:
    @tool
    def read_card() -> dict[str, str]:
        """Reads a card."""
        return {"number": "4111-1111-1111-1111", "owner": "Ann"}

    def redact(result: ToolCallResult) -> Any:
        assert result.value["owner"] == "Ann"  # the tool's own return value
        return {**result.value, "number": "[redacted]"}

    async def aredact(result: ToolCallResult) -> None:
        result.result = {**result.result, "number": "[redacted]"}

    scripted.add([call("read_card", "c1")], say("ok"))
    hooks = Hooks(after_tool=redact if kind == "sync" else aredact)
    conv = make(driver, emu, tools=[read_card], hooks=hooks)
    turn = send(driver, conv, "card?")
    assert turn.tool_calls[0].result.result == {"number": "[redacted]", "owner": "Ann"}
    assert "4111" not in str(bodies(emu)) and "4111" not in str(conv.history)


@pytest.mark.parametrize("driver", DRIVERS)
def test_after_tool_may_edit_the_result_in_place(
    emu: Emulator, scripted: ScriptedModel, driver: str
) -> None:
    """``result.result["number"] = ...`` redacts what the model gets and what is kept, as a
    returned value does (the hook is handed a copy; the edit is seen)."""

    @tool
    def read_card() -> dict[str, str]:
        """Reads a card."""
        return {"number": "4111-1111-1111-1111", "owner": "Ann"}

    def redact_in_place(result: ToolCallResult) -> None:
        result.result["number"] = "[redacted]"

    scripted.add([call("read_card", "c1")], say("ok"))
    conv = make(driver, emu, tools=[read_card], hooks=Hooks(after_tool=redact_in_place))
    turn = send(driver, conv, "card?")
    assert turn.tool_calls[0].result.result == {"number": "[redacted]", "owner": "Ann"}
    assert "4111" not in str(bodies(emu)) and "4111" not in str(conv.history)
    assert "4111" not in json.dumps(conv.to_dict())


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("point", ["before_request", "after_response", "before_tool", "after_tool"])
def test_an_exception_in_a_hook_ends_the_turn_with_hook_error(
    emu: Emulator, scripted: ScriptedModel, driver: str, point: str
) -> None:
    calls = {"n": 0}

    def failing(event: Any) -> None:
        calls["n"] += 1
        # Fail on the first request only, after the model asked for calls otherwise.
        if point != "before_request" or getattr(event, "step", 1) == 2:
            raise RuntimeError("hook bug")

    scripted.add(
        [call("get_weather", "c1", city="A"), call("get_weather", "c2", city="B")],
        say("unused"),
        say("recovered"),
    )
    conv = make(driver, emu, tools=[get_weather], hooks=Hooks(**{point: failing}))
    with pytest.raises(HookError, match="hook bug") as info:
        send(driver, conv, "go")
    assert info.value.hook == point
    assert isinstance(info.value.__cause__, RuntimeError)
    assert info.value.turn is not None and info.value.turn.error
    counts = results_per_call(conv.history)
    assert set(counts.values()) <= {1}  # every call in history has exactly one result
    conv.hooks = None
    assert send(driver, conv, "again").output_text in ("unused", "recovered")


def test_a_bad_return_value_is_a_hook_error(emu: Emulator, scripted: ScriptedModel) -> None:
    scripted.add([call("get_weather", "c1", city="A")], say("later"))
    conv = Conversation(emu.client(), tools=[get_weather], hooks=Hooks(before_tool=lambda r: 42))
    with pytest.raises(HookError, match="returned int"):
        conv.send("go")
    assert open_calls(conv.history) == set()


def test_malformed_hooks_are_refused_at_construction(emu: Emulator) -> None:
    with pytest.raises(HookError, match="hooks= takes"):
        Conversation(emu.client(), hooks=[object()])
    with pytest.raises(HookError, match="callable"):
        Hooks(before_tool=[1])  # type: ignore[list-item]


def test_redaction_also_reaches_traces(emu: Emulator, scripted: ScriptedModel) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agentloop import instrument

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrument(provider, include_content=True)
    try:

        @tool
        def secret() -> str:
            """Returns a secret."""
            return "s3cr3t-value"

        scripted.add([call("secret", "c1")], say("ok"))
        hooks = Hooks(after_tool=lambda r: "[redacted]")
        Conversation(emu.client(), tools=[secret], hooks=hooks).send("go")
    finally:
        instrument(enabled=False)
    spans = exporter.get_finished_spans()
    tool_span = next(s for s in spans if s.name == "execute_tool secret")
    assert (tool_span.attributes or {})["gen_ai.tool.call.result"] == '"[redacted]"'
    assert all("s3cr3t" not in s.to_json() for s in spans)


@pytest.mark.parametrize("driver", DRIVERS)
def test_hooks_in_a_stream_announce_blocked_calls(
    emu: Emulator, scripted: ScriptedModel, driver: str, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="agentloop")
    scripted.add(
        [call("explode", "c1", reason="x"), call("get_weather", "c2", city="Rome")], say("ok")
    )

    async def deny_explode(request: ToolCallRequest) -> Any:
        return Deny("not today") if request.name == "explode" else None

    conv = make(driver, emu, tools=[explode, get_weather], hooks=Hooks(before_tool=deny_explode))
    if driver == "sync":
        events = list(conv.stream("go"))
    else:

        async def collect() -> list[Any]:
            return [e async for e in conv.stream("go")]

        events = asyncio.run(collect())
    kinds = [(e.type, getattr(getattr(e, "call", None), "id", None)) for e in events]
    assert kinds.index(("tool_call_started", "c1")) < kinds.index(("tool_call_finished", "c1"))
    finished = {e.call.id: e for e in events if e.type == "tool_call_finished"}
    assert finished["c1"].is_error and finished["c1"].result.result == "Blocked: not today"
    assert not finished["c2"].is_error
    assert events[-1].type == "turn_completed" and events[-1].turn.output_text == "ok"
    tool_lines = [r.getMessage() for r in caplog.records if "tool call:" in r.getMessage()]
    assert any("name=explode" in line and "not_run" in line for line in tool_lines)
    assert any("name=get_weather" in line and " ok " in line for line in tool_lines)

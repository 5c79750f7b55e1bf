"""OpenTelemetry GenAI spans and metrics of turns, with the SDK's in-memory exporters."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from otel_helpers import DRIVERS, Otel, call, explode, get_weather, run_turn, say

from agentloop import AsyncConversation, Conversation, instrument, tool
from agentloop.errors import ServerError
from agentloop.testing import Emulator, ScriptedModel

CONTENT_KEYS = {
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
}


def everything(otel: Otel) -> str:
    """Every span, event and metric the exporters hold, as text."""
    spans = "\n".join(s.to_json() for s in otel.finished())
    data = otel.metrics.get_metrics_data()
    return spans + (data.to_json() if data is not None else "")


@pytest.mark.parametrize("driver", DRIVERS)
def test_span_tree_of_a_turn_with_two_parallel_calls_one_failing(
    otel: Otel, emu: Emulator, scripted: ScriptedModel, driver: str
) -> None:
    scripted.add(
        [call("get_weather", "c1", city="Paris"), call("explode", "c2", reason="x")],
        say("done"),
    )
    user = otel.tracer_provider.get_tracer("user-app")
    with user.start_as_current_span("handle request") as outer:
        conv, turn = run_turn(driver, emu, "hi", tools=[get_weather, explode], name="helper")
    assert turn.output_text == "done"

    spans = {s.name: s for s in otel.finished()}
    assert set(spans) == {
        "handle request",
        "invoke_agent helper",
        "chat gemini-3.5-flash",
        "execute_tool get_weather",
        "execute_tool explode",
    }
    root = spans["invoke_agent helper"]
    assert root.parent is not None
    assert root.parent.span_id == outer.get_span_context().span_id  # the user's span is kept
    assert root.kind == SpanKind.INTERNAL
    assert root.attributes is not None
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["gen_ai.agent.name"] == "helper"
    assert root.attributes["gen_ai.conversation.id"] == conv.id
    assert root.attributes["agentloop.turn.status"] == "completed"
    assert root.status.status_code == StatusCode.UNSET

    chats = otel.by_name("chat ")
    assert len(chats) == 2
    for chat, interaction_id in zip(
        sorted(chats, key=lambda s: s.start_time or 0), turn.interaction_ids, strict=True
    ):
        attrs = chat.attributes or {}
        assert chat.parent is not None and chat.parent.span_id == root.context.span_id
        assert chat.kind == SpanKind.CLIENT
        assert attrs["gen_ai.operation.name"] == "chat"
        assert attrs["gen_ai.provider.name"] == "gcp.gemini"
        assert attrs["gen_ai.request.model"] == "gemini-3.5-flash"
        assert attrs["gen_ai.response.id"] == interaction_id
        assert attrs["agentloop.strategy"] == "stateful"
        assert attrs["gen_ai.request.stream"] is driver.endswith("stream")
        assert attrs["gen_ai.usage.input_tokens"] > 0
        assert attrs["gen_ai.usage.output_tokens"] > 0
    total_in = sum((s.attributes or {})["gen_ai.usage.input_tokens"] for s in chats)
    assert total_in == turn.usage.total_input_tokens
    if driver.endswith("stream"):
        events = [e.name for s in chats for e in s.events]
        assert "agentloop.stream.started" in events and "agentloop.stream.first_chunk" in events

    ok, failed = spans["execute_tool get_weather"], spans["execute_tool explode"]
    for span, call_id in ((ok, "c1"), (failed, "c2")):
        attrs = span.attributes or {}
        assert span.parent is not None and span.parent.span_id == root.context.span_id
        assert attrs["gen_ai.operation.name"] == "execute_tool"
        assert attrs["gen_ai.tool.call.id"] == call_id
        assert attrs["gen_ai.tool.type"] == "function"
    assert (ok.attributes or {})["gen_ai.tool.name"] == "get_weather"
    assert ok.status.status_code == StatusCode.UNSET and "error.type" not in (ok.attributes or {})
    assert failed.status.status_code == StatusCode.ERROR
    assert (failed.attributes or {})["error.type"] == "ValueError"
    # Content is off by default: no messages, arguments or results, nor the input text.
    for span in otel.finished():
        assert not CONTENT_KEYS & set(span.attributes or {})
    assert "boom" not in everything(otel) and "Paris" not in everything(otel)


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_tool_code_sees_its_own_span_as_current(
    otel: Otel, emu: Emulator, scripted: ScriptedModel, driver: str
) -> None:
    seen: dict[str, tuple[int, str]] = {}

    @tool
    def in_thread(city: str) -> str:
        """Runs in the thread pool.

        Args:
            city: a city.
        """
        seen["c1"] = (trace.get_current_span().get_span_context().span_id, "thread")
        return city

    @tool
    async def in_task(city: str) -> str:
        """Runs as a task / on the private loop.

        Args:
            city: a city.
        """
        await asyncio.sleep(0)
        seen["c2"] = (trace.get_current_span().get_span_context().span_id, "task")
        return city

    scripted.add([call("in_thread", "c1", city="A"), call("in_task", "c2", city="B")], say("ok"))
    run_turn(driver, emu, "go", tools=[in_thread, in_task])
    spans = {(s.attributes or {}).get("gen_ai.tool.call.id"): s for s in otel.by_name("execute")}
    assert seen["c1"][0] == spans["c1"].context.span_id
    assert seen["c2"][0] == spans["c2"].context.span_id
    # ...and nothing leaks into the caller's context afterwards.
    assert not trace.get_current_span().get_span_context().is_valid


def test_include_content_records_messages_arguments_and_results(
    otel: Otel, emu: Emulator, scripted: ScriptedModel
) -> None:
    otel.on(include_content=True)
    scripted.add([call("get_weather", "c1", city="Paris")], say("sunny in Paris"))
    conv = Conversation(emu.client(), tools=[get_weather], system_instruction="be brief")
    conv.send("weather in Paris?")
    root = otel.by_name("invoke_agent")[0].attributes or {}
    assert json.loads(str(root["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "weather in Paris?"}]}
    ]
    assert json.loads(str(root["gen_ai.system_instructions"]))[0]["content"] == "be brief"
    assert "sunny in Paris" in str(root["gen_ai.output.messages"])
    first, second = sorted(otel.by_name("chat"), key=lambda s: s.start_time or 0)
    output = json.loads(str((first.attributes or {})["gen_ai.output.messages"]))
    assert output[0]["parts"][0] == {
        "type": "tool_call",
        "id": "c1",
        "name": "get_weather",
        "arguments": {"city": "Paris"},
    }
    sent = json.loads(str((second.attributes or {})["gen_ai.input.messages"]))
    assert sent[0]["role"] == "tool" and sent[0]["parts"][0]["result"]["city"] == "Paris"
    tool_attrs = otel.by_name("execute_tool")[0].attributes or {}
    assert json.loads(str(tool_attrs["gen_ai.tool.call.arguments"])) == {"city": "Paris"}
    assert json.loads(str(tool_attrs["gen_ai.tool.call.result"])) == {
        "city": "Paris",
        "temperature": 22,
    }


def test_a_canary_key_is_in_no_span_event_metric_or_log_record(
    otel: Otel, emu: Emulator, scripted: ScriptedModel, caplog: pytest.LogCaptureFixture
) -> None:
    key = "canary-KEY-3f9a1c77d2"
    otel.on(include_content=True)  # even with content on
    caplog.set_level(logging.DEBUG)
    scripted.add([call("get_weather", "c1", city="Oslo")], say("cold"), say("again"))
    conv = Conversation(emu.client(api_key=key, sleep=lambda s: None), tools=[get_weather])
    emu.faults.http_error(429, count=1, retry_after=0.01)
    conv.send("weather?")
    emu.faults.http_error(500, count=1)
    with pytest.raises(ServerError):
        Conversation(emu.client(api_key=key, max_retries=0)).send("fail")
    assert otel.by_name("invoke_agent") and caplog.records
    assert key not in everything(otel)
    assert key not in caplog.text
    for record in caplog.records:
        assert key not in record.getMessage() and key not in repr(record.args)


def test_retries_failures_and_metrics(otel: Otel, emu: Emulator, scripted: ScriptedModel) -> None:
    scripted.add(say("after retry"))
    conv = Conversation(emu.client(sleep=lambda s: None), name="a")
    emu.faults.http_error(429, count=1, retry_after=0.01)
    turn = conv.send("hi")
    chat = otel.by_name("chat")[0]
    retry = [e for e in chat.events if e.name == "agentloop.retry"]
    assert len(retry) == 1 and (retry[0].attributes or {})["agentloop.retry.attempt"] == 1

    emu.faults.http_error(500, count=2)
    bad = Conversation(emu.client(max_retries=1, sleep=lambda s: None), name="b")
    with pytest.raises(ServerError):
        bad.send("hi")
    failed_chat = [s for s in otel.by_name("chat") if s.status.status_code == StatusCode.ERROR]
    assert len(failed_chat) == 1
    # the retry made before the retries ran out is on the failed span too
    assert [e.name for e in failed_chat[0].events] == ["agentloop.retry"]
    assert (failed_chat[0].attributes or {})["error.type"] == "ServerError"
    assert (failed_chat[0].attributes or {})["http.response.status_code"] == 500
    failed_turn = [s for s in otel.by_name("invoke_agent b")]
    assert failed_turn[0].status.status_code == StatusCode.ERROR

    points = otel.metric_points()
    tokens = {p.attributes["gen_ai.token.type"]: p for p in points["gen_ai.client.token.usage"]}
    assert tokens["input"].sum == turn.usage.total_input_tokens
    assert tokens["output"].sum == turn.usage.total_output_tokens
    assert tokens["input"].attributes["gen_ai.request.model"] == "gemini-3.5-flash"
    durations = points["gen_ai.client.operation.duration"]
    kinds = {(p.attributes["gen_ai.operation.name"], p.attributes.get("error.type"))
             for p in durations}  # fmt: skip
    assert kinds == {("chat", None), ("chat", "ServerError"), ("invoke_agent", None),
                     ("invoke_agent", "ServerError")}  # fmt: skip


def test_instrumentation_off_and_per_conversation_opt_out(
    otel: Otel, emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add(say("one"), say("two"), say("three"))
    Conversation(emu.client(), instrument=False).send("hi")
    assert otel.finished() == []
    instrument(enabled=False)
    Conversation(emu.client()).send("hi")
    assert otel.finished() == []
    otel.on()
    Conversation(emu.client()).send("hi")
    assert [s.name for s in otel.finished()] == ["chat gemini-3.5-flash", "invoke_agent"]


def test_approvals_background_and_fallback_are_span_events(
    otel: Otel, emu: Emulator, scripted: ScriptedModel
) -> None:
    @tool(requires_approval=True)
    def delete_file(path: str) -> str:
        """Delete a file.

        Args:
            path: the file.
        """
        return f"deleted {path}"

    scripted.add([call("delete_file", "c1", path="/tmp/x")], say("deleted"))
    conv = Conversation(emu.client(), tools=[delete_file])
    paused = conv.send("clean up")
    assert paused.status == "awaiting_approval"
    conv.approve("c1")
    conv.resume()
    first, second = sorted(otel.by_name("invoke_agent"), key=lambda s: s.start_time or 0)
    asked = [e for e in first.events if e.name == "agentloop.approval.required"]
    assert (asked[0].attributes or {})["gen_ai.tool.call.id"] == ("c1",)
    assert (first.attributes or {})["agentloop.turn.status"] == "awaiting_approval"
    assert [e.name for e in second.events] == ["agentloop.approval.resumed"]
    assert len(otel.by_name("execute_tool delete_file")) == 1

    otel.spans.clear()
    background = Emulator(model=ScriptedModel([say("long analysis")]), background_polls=2)
    handle = Conversation(background.client(sleep=lambda s: None)).send("go", background=True)
    assert otel.finished() == []  # the turn and its request are still open
    handle.wait()
    chat = otel.by_name("chat")[0]
    assert "agentloop.background.wait" in [e.name for e in chat.events]
    assert (chat.attributes or {})["agentloop.interaction.status"] == "completed"
    root = otel.by_name("invoke_agent")[0]
    assert [e.name for e in root.events] == [
        "agentloop.background.wait",
        "agentloop.background.done",
    ]


def test_async_turns_in_concurrent_tasks_keep_their_own_parents(
    otel: Otel, emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add(say("a"), say("b"))
    user = otel.tracer_provider.get_tracer("user-app")

    async def one(label: str) -> int:
        with user.start_as_current_span(label) as span:
            await AsyncConversation(emu.async_client(), name=label).send(label)
            return span.get_span_context().span_id

    async def both() -> list[int]:
        return list(await asyncio.gather(one("x"), one("y")))

    ids = asyncio.run(both())
    for label, span_id in zip("xy", ids, strict=True):
        root = otel.by_name(f"invoke_agent {label}")[0]
        assert root.parent is not None and root.parent.span_id == span_id
        (chat,) = [s for s in otel.by_name("chat") if s.parent and
                   s.parent.span_id == root.context.span_id]  # fmt: skip
        assert chat.context.trace_id == root.context.trace_id


def test_threads_each_trace_their_own_turn(otel: Otel) -> None:
    emu = Emulator(model=ScriptedModel([say("t")] * 4))
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            Conversation(emu.client(), name=f"w{i}").send("hi")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    roots = otel.by_name("invoke_agent")
    assert len(roots) == 4 and all(r.parent is None for r in roots)
    for chat in otel.by_name("chat"):
        assert chat.parent is not None
        assert chat.parent.span_id in {r.context.span_id for r in roots}


def test_a_stream_created_under_a_span_keeps_it_as_parent(
    otel: Otel, emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add(say("streamed"))
    user = otel.tracer_provider.get_tracer("user-app")
    conv = Conversation(emu.client())
    with user.start_as_current_span("make stream") as outer:
        events = conv.stream("hi")
    assert [e.type for e in events][-1] == "turn_completed"  # consumed outside the span
    root = otel.by_name("invoke_agent")[0]
    assert root.parent is not None and root.parent.span_id == outer.get_span_context().span_id


def test_no_op_providers_work_and_record_nothing(emu: Emulator, scripted: ScriptedModel) -> None:
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.trace import NoOpTracerProvider

    scripted.add([call("get_weather", "c1", city="Rome")], say("warm"), say("hi"))
    try:
        instrument(NoOpTracerProvider(), NoOpMeterProvider())
        assert Conversation(emu.client(), tools=[get_weather]).send("w").output_text == "warm"
        instrument()  # the global proxies, with no SDK configured
        assert Conversation(emu.client()).send("x").output_text == "hi"
    finally:
        instrument(enabled=False)


def test_other_engine_events_become_turn_span_events(otel: Otel) -> None:
    """The generic hook for later features (compaction...): any event the engine emits."""
    from dataclasses import dataclass
    from typing import ClassVar

    from agentloop.loop import LoopEvent, Turn, TurnCompleted
    from agentloop.loop._tracing import observer_for
    from agentloop.loop.engine import Emit

    @dataclass(slots=True)
    class Compacted(LoopEvent):
        type: ClassVar[str] = "compacted"
        removed_steps: int = 0
        summary: str = ""

    def protocol() -> Any:
        yield Emit(Compacted(removed_steps=12, summary="secret summary text"))
        turn = Turn(status="completed")
        yield Emit(TurnCompleted(turn=turn))
        return turn

    conv = Conversation(Emulator().client(), name="c")
    wrap = observer_for(conv)
    assert wrap is not None
    for _ in wrap(protocol(), "start", []):
        pass
    root = otel.by_name("invoke_agent c")[0]
    (event,) = [e for e in root.events if e.name == "agentloop.compacted"]
    assert dict(event.attributes or {}) == {"agentloop.compacted.removed_steps": 12}
    assert (root.attributes or {})["agentloop.turn.status"] == "completed"


def test_a_failing_observer_never_breaks_the_turn(
    otel: Otel,
    emu: Emulator,
    scripted: ScriptedModel,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from agentloop.loop._tracing import TurnObserver

    def broken(self: Any, effect: Any) -> None:
        raise RuntimeError("observer bug")

    monkeypatch.setattr(TurnObserver, "_begin_request", broken)
    scripted.add([call("get_weather", "c1", city="Rome")], say("warm"))
    turn = Conversation(emu.client(), tools=[get_weather]).send("weather?")
    assert turn.output_text == "warm" and turn.tool_calls[0].result.result["city"] == "Rome"
    assert "observer failed" in caplog.text
    assert [s.name for s in otel.finished()] == ["invoke_agent"]  # ended when it broke

"""Sub-agents as tools: fresh and fork context, usage and limits rolled up into the parent,
journaling under the parent, approvals surfacing in the parent, nested spans, cancellation.
Both drivers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from agent_helpers import call, conversation, creates, done, say

from agentloop import Agent, UsageLimits, tool
from agentloop.errors import UsageLimitExceeded
from agentloop.loop import ApprovalRequired
from agentloop.stores import SQLiteStore
from agentloop.testing import Emulator, FunctionModel

DRIVERS = pytest.mark.parametrize("driver", ["sync", "async"])


def team_model(request: Any) -> Any:
    """The parent (system instruction 'lead') delegates once to 'researcher', then answers
    with what came back; the researcher answers with what it was told and how much it saw."""
    last = request.history[-1]
    if request.system_instruction == "lead":
        if last.type == "function_result":
            return say(f"lead got: {last.result}")
        topic = request.last_user_text
        return [call("researcher", f"call-{topic.replace(' ', '-')}", task=f"research {topic}")]
    return say(f"found {request.last_user_text!r} seeing {len(request.history)} steps")


def build(context: str) -> tuple[Agent, Agent]:
    researcher = Agent("researcher", instructions="research", description="Researches things")
    lead = Agent("lead", instructions="lead", tools=[researcher.as_tool(context=context)])
    return lead, researcher


@DRIVERS
async def test_a_fork_continues_the_parents_chain_and_sends_no_history(driver: str) -> None:
    emu = Emulator(FunctionModel(team_model))
    lead, _ = build("fork")
    conv = conversation(lead, emu, driver)
    for i in range(3):  # some history first (the model delegates on every turn)
        await done(conv.send(f"topic {i}"))
    parent_calls = [b for b in creates(emu) if b["system_instruction"] == "lead"]
    child = [b for b in creates(emu) if b["system_instruction"] == "research"]
    assert len(child) == 3
    first = child[-1]
    # the fork continues the parent's interaction that asked for the call ...
    asking = emu.interaction_ids[-3]  # parent ask, child answer, parent final
    assert first["previous_interaction_id"] == asking
    # ... and sends only the answer to the pending call and the task: no history
    assert [s["type"] for s in first["input"]] == ["function_result", "user_input"]
    assert first["input"][0]["call_id"] == "call-topic-2"
    # the sub-agent saw the whole conversation (server-side chain), the parent's stays valid
    turn_text = conv.history[-1].content[0].text
    assert "research topic 2" in turn_text and "seeing 12 steps" in turn_text
    assert parent_calls[-1]["previous_interaction_id"] == asking
    assert all(s.type != "user_input" or "research" not in str(s) for s in conv.history)


@DRIVERS
async def test_a_fresh_sub_agent_gets_only_the_task(driver: str) -> None:
    emu = Emulator(FunctionModel(team_model))
    lead, _ = build("fresh")
    conv = conversation(lead, emu, driver)
    await done(conv.send("topic 0"))
    turn = await done(conv.send("topic 1"))
    (child,) = [b for b in creates(emu) if b["system_instruction"] == "research"][-1:]
    assert "previous_interaction_id" not in child
    assert [s["type"] for s in child["input"]] == ["user_input"]
    assert turn.output_text == "lead got: found 'research topic 1' seeing 1 steps"


@DRIVERS
async def test_stateless_fork_carries_the_parents_history(driver: str) -> None:
    emu = Emulator(FunctionModel(team_model))
    lead, _ = build("fork")
    conv = conversation(lead, emu, driver, strategy="stateless")
    await done(conv.send("topic 0"))
    child = next(b for b in creates(emu) if b["system_instruction"] == "research")
    assert child["store"] is False and "previous_interaction_id" not in child
    assert [s["type"] for s in child["input"]] == [
        "user_input",
        "function_call",
        "function_result",
        "user_input",
    ]


@DRIVERS
async def test_usage_and_limits_roll_up_into_the_parent(driver: str) -> None:
    emu = Emulator(FunctionModel(team_model))
    lead, _ = build("fresh")
    conv = conversation(lead, emu, driver)
    turn = await done(conv.send("topic 0"))
    assert conv.usage.requests == 3  # two of the parent's, one of the sub-agent's
    assert turn.model_requests == 2
    assert conv.usage.total_tokens == sum(
        i.usage.total_tokens for i in map(emu.interaction, emu.interaction_ids) if i.usage
    )

    # the parent's limits hold inside the sub-agent: one request allowed, the parent made it
    emu2 = Emulator(FunctionModel(team_model))
    conv2 = conversation(lead, emu2, driver)
    with pytest.raises(UsageLimitExceeded, match="max_requests"):
        await done(conv2.send("topic 0", limits=UsageLimits(max_requests=1)))
    assert conv2.usage.requests == 1 and len(creates(emu2)) == 1
    (record,) = [c for c in conv2.history if c.type == "function_result"]
    assert record.is_error and "UsageLimitExceeded" in str(record.result)  # the child stopped


@DRIVERS
async def test_the_sub_agent_is_journaled_under_the_parent(driver: str) -> None:
    emu = Emulator(FunctionModel(team_model))
    lead, researcher = build("fork")
    store = SQLiteStore(":memory:")
    conv = conversation(lead, emu, driver, store=store, id="p1")
    await done(conv.send("topic 0"))
    ids = [info.id for info in store.list()]
    assert sorted(ids) == ["p1", "p1.sub.call-topic-0"]
    from agentloop.stores.sessions import Sessions

    assert [s.id for s in Sessions(store).list()] == ["p1"]  # a sub-agent is no session
    child = store.load("p1.sub.call-topic-0", agent=researcher)
    assert child.history[-1].content[0].text.startswith("found 'research topic 0'")
    # the parent reloaded keeps its usage, the sub-agent's included
    again = store.load("p1", agent=lead)
    assert again.usage.requests == 3


@DRIVERS
@pytest.mark.parametrize("context", ["fresh", "fork"])
@pytest.mark.parametrize("stored", [True, False], ids=["store", "no-store"])
async def test_approval_inside_a_sub_agent_surfaces_in_the_parent(
    driver: str, context: str, stored: bool
) -> None:
    """With a store, the paused sub-agent is reloaded from its journal when the parent
    resumes: a fork's first record (the fork point) must not read as a turn cut short."""
    ran: list[str] = []

    @tool(requires_approval=True)
    def delete_file(path: str) -> str:
        """Delete a file.

        Args:
            path: The file.
        """
        ran.append(path)
        return f"deleted {path}"

    def model(request: Any) -> Any:
        last = request.history[-1]
        if request.system_instruction == "lead":
            if last.type == "function_result":
                return say(f"lead: {last.result}")
            return [call("janitor", "p-call", task="clean up")]
        if last.type == "function_result":
            return say(f"janitor: {last.result}")
        return [call("delete_file", "d-call", path="/tmp/x")]

    emu = Emulator(FunctionModel(model))
    janitor = Agent("janitor", instructions="janitor", tools=[delete_file])
    lead = Agent("lead", instructions="lead", tools=[janitor.as_tool(context=context)])  # type: ignore[arg-type]
    store = SQLiteStore(":memory:") if stored else None
    kwargs = {"store": store, "id": "p2"} if store is not None else {}
    conv = conversation(lead, emu, driver, **kwargs)
    if driver == "sync":
        events = list(conv.stream("tidy"))
    else:
        events = [e async for e in conv.stream("tidy")]
    (asked,) = [e for e in events if isinstance(e, ApprovalRequired)]
    assert [c.name for c in asked.calls] == ["janitor"]  # names the sub-agent
    assert [c.id for c in conv.pending_approvals] == ["p-call"] and ran == []
    conv.approve("p-call")
    turn = await done(conv.resume())
    assert ran == ["/tmp/x"]
    assert turn.output_text == "lead: janitor: deleted /tmp/x"
    results = [s for s in conv.history if s.type == "function_result"]
    assert len(results) == 1  # the parent's call was answered once


async def test_cancelling_the_parent_cancels_the_sub_agent() -> None:
    started = asyncio.Event()
    cancelled: list[bool] = []

    @tool
    async def wait_forever() -> str:
        """Wait."""
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return "never"

    def model(request: Any) -> Any:
        if request.system_instruction == "lead":
            return [call("waiter", "w1", task="wait")]
        return [call("wait_forever", "f1")]

    emu = Emulator(FunctionModel(model))
    waiter = Agent("waiter", instructions="waiter", tools=[wait_forever])
    lead = Agent("lead", instructions="lead", tools=[waiter.as_tool()])
    conv = lead.aconversation(emu.async_client())
    conv.interrupt_grace = 0  # no grace for running calls: stop now (the sub-agent too)
    task = asyncio.ensure_future(conv.send("go"))
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled == [True]
    # the sub-agent call had started with no known result: the parent's turn waits on it (an
    # idempotent call: resume() runs it again, which goes on with the sub-agent)
    assert not conv.running and [c.id for c in conv.pending_approvals] == ["w1"]


@DRIVERS
async def test_nested_spans(driver: str) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import agentloop

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    agentloop.instrument(tracer_provider=provider)
    try:
        emu = Emulator(FunctionModel(team_model))
        lead, _ = build("fresh")
        if driver == "sync":
            lead.run("topic 0", client=emu.client())
        else:
            await lead.arun("topic 0", client=emu.async_client())
    finally:
        agentloop.instrument(enabled=False)  # (left on, it would trace every later test)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    child = spans["invoke_agent researcher"]
    tool_span = spans["execute_tool researcher"]
    parent = spans["invoke_agent lead"]
    assert child.parent is not None and child.parent.span_id == tool_span.context.span_id
    assert tool_span.context.trace_id == parent.context.trace_id
    assert json.dumps(child.attributes.get("gen_ai.agent.name")) == '"researcher"'


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs, nothing more is journaled."""


@DRIVERS
async def test_a_finished_sub_agent_is_not_run_again_by_recovery(driver: str) -> None:
    from agentloop import Hooks

    def crash_once(result: Any) -> None:
        raise Crash()

    emu = Emulator(FunctionModel(team_model))
    researcher = Agent("researcher", instructions="research")
    tools = [researcher.as_tool(context="fork")]
    crashing = Agent("lead", instructions="lead", tools=tools, hooks=Hooks(after_tool=crash_once))
    lead = Agent("lead", instructions="lead", tools=tools)
    store = SQLiteStore(":memory:")
    conv = conversation(crashing, emu, driver, store=store, id="p3")
    with pytest.raises(Crash):  # the sub-agent finished; its result never reached the journal
        await done(conv.send("topic 0"))
    again = conversation(lead, emu, driver, store=store, id="p3")
    assert again.needs_recovery
    turn = await done(again.recover())
    assert turn.output_text.startswith("lead got: found 'research topic 0'")
    child_requests = [b for b in creates(emu) if b["system_instruction"] == "research"]
    assert len(child_requests) == 1  # the sub-agent's answer was read from its journal

"""Handoffs: ``transfer_to_<name>`` tools, the agent in charge, the ``Handoff`` event, and the
agent in charge across save/load. Both drivers."""

from __future__ import annotations

from typing import Any

import pytest
from agent_helpers import call, conversation, creates, done, say

from agentloop import Agent, Handoff, tool
from agentloop.stores import SQLiteStore
from agentloop.testing import Emulator, FunctionModel

DRIVERS = pytest.mark.parametrize("driver", ["sync", "async"])


@tool
def refund(order: str) -> str:
    """Refund an order.

    Args:
        order: The order id.
    """
    return f"refunded {order}"


@tool
def lookup_order(order: str) -> str:
    """Look an order up.

    Args:
        order: The order id.
    """
    return f"order {order}: shipped"


def model(request: Any) -> Any:
    """Triage transfers to billing; billing refunds, then answers."""
    names = sorted(t.name for t in request.function_tools)
    last = request.history[-1]
    if request.system_instruction == "triage":
        if last.type == "user_input":
            return [call("transfer_to_billing", f"t-{len(request.history)}")]
        return say("triage again")
    if last.type == "function_result" and last.name == "refund":
        return say(f"billing done with tools {names}")
    return [call("refund", f"r-{len(request.history)}", order="A1")]


def graph() -> tuple[Agent, Agent]:
    billing = Agent(
        "billing",
        instructions="billing",
        tools=[refund],
        description="Refunds and invoices",
        handoffs=["triage"],  # by name: the graph resolves it
        model="gemini-3.5-flash-lite",
    )
    triage = Agent("triage", instructions="triage", tools=[lookup_order], handoffs=[billing])
    return triage, billing


@DRIVERS
async def test_a_handoff_changes_instructions_tools_and_model_on_the_next_request(
    driver: str,
) -> None:
    emu = Emulator(FunctionModel(model))
    triage, billing = graph()
    conv = conversation(triage, emu, driver)
    assert conv.active_agent is triage
    if driver == "sync":
        events = list(conv.stream("refund A1"))
    else:
        events = [e async for e in conv.stream("refund A1")]
    (handoff,) = [e for e in events if isinstance(e, Handoff)]
    assert (handoff.from_agent, handoff.to_agent) == ("triage", "billing")
    assert conv.active_agent is billing
    bodies = creates(emu)
    first, second, third = bodies
    assert first["system_instruction"] == "triage"
    assert sorted(t["name"] for t in first["tools"]) == ["lookup_order", "transfer_to_billing"]
    assert "Refunds and invoices" in next(
        t["description"] for t in first["tools"] if t["name"] == "transfer_to_billing"
    )
    assert second["system_instruction"] == "billing" and second["model"] == "gemini-3.5-flash-lite"
    assert sorted(t["name"] for t in second["tools"]) == ["refund", "transfer_to_triage"]
    # stateful: the chain goes on, no history re-sent
    assert second["previous_interaction_id"] and [s["type"] for s in second["input"]] == [
        "function_result"
    ]
    assert events[-1].turn.output_text == "billing done with tools ['refund', 'transfer_to_triage']"
    assert third["system_instruction"] == "billing"


@DRIVERS
async def test_the_agent_in_charge_survives_reload(driver: str) -> None:
    emu = Emulator(FunctionModel(model))
    triage, billing = graph()
    store = SQLiteStore(":memory:")
    conv = conversation(triage, emu, driver, store=store, id="h1")
    await done(conv.send("refund A1"))
    assert conv.active_agent is billing
    cls = None if driver == "sync" else type(conv)
    again = store.load("h1", client=conv.client, agent=triage, cls=cls)
    assert again.active_agent is billing
    await done(again.send("and another"))
    assert creates(emu)[-1]["system_instruction"] == "billing"
    # a fresh triage conversation starts with triage (no state shared)
    fresh = conversation(triage, emu, driver)
    assert fresh.active_agent is triage


@DRIVERS
async def test_a_fork_or_replay_is_run_by_the_same_agent_graph(driver: str) -> None:
    """A branch of an agent's conversation keeps the agent: the one in charge at the branch
    point (read from the branch's history), its instructions, tools, validators, retries."""
    emu = Emulator(FunctionModel(model))
    triage, billing = graph()
    conv = conversation(triage, emu, driver)
    await done(conv.send("refund A1"))
    assert conv.active_agent is billing
    fork = await done(conv.fork())
    assert fork.active_agent is billing
    assert (fork.output_retries, fork.output_validators) == (
        conv.output_retries,
        conv.output_validators,
    )
    await done(fork.send("and B2"))
    sent = creates(emu)[-1]
    assert sent["system_instruction"] == "billing"
    assert sorted(t["name"] for t in sent["tools"]) == ["refund", "transfer_to_triage"]
    before = len(creates(emu))
    replay = await done(conv.replay(0))  # the first turn again: triage starts it, hands off
    first, second = creates(emu)[before : before + 2]
    assert first["system_instruction"] == "triage"
    assert sorted(t["name"] for t in first["tools"]) == ["lookup_order", "transfer_to_billing"]
    assert second["system_instruction"] == "billing"
    assert replay.active_agent is billing


@DRIVERS
async def test_the_agent_in_charge_runs_only_the_tools_it_was_offered(driver: str) -> None:
    """The registry holds every agent's tools; triage's model calling billing's ``refund`` (or
    a transfer triage does not have) gets an error result, and nothing runs."""
    refunded: list[str] = []

    @tool(name="refund")
    def guarded_refund(order: str) -> str:
        """Refund an order.

        Args:
            order: The order id.
        """
        refunded.append(order)
        return f"refunded {order}"

    def rogue(request: Any) -> Any:
        if request.history[-1].type == "user_input":
            return [call("refund", "r1", order="A1"), call("transfer_to_triage", "t1")]
        return say("done")

    billing = Agent("billing", instructions="billing", tools=[guarded_refund], handoffs=["triage"])
    triage = Agent("triage", instructions="triage", tools=[lookup_order], handoffs=[billing])
    emu = Emulator(FunctionModel(rogue))
    conv = conversation(triage, emu, driver)
    turn = await done(conv.send("refund A1"))
    assert refunded == [] and conv.active_agent is triage
    results = {r.call.id: r.result for r in turn.tool_calls}
    assert results["r1"].is_error and "triage agent has no tool 'refund'" in str(
        results["r1"].result
    )
    assert "lookup_order, transfer_to_billing" in str(results["r1"].result)
    assert results["t1"].is_error


@DRIVERS
async def test_a_failing_instructions_callable_is_named_in_the_error(driver: str) -> None:
    from agentloop.errors import HookError

    def instructions(ctx: Any) -> str:
        return ctx.deps["tenant"]  # type: ignore[no-any-return]

    def returns_a_number(ctx: Any) -> Any:
        return 42

    for function, expected in (
        (instructions, r"instructions callable of agent 'a' \(.*instructions\) raised KeyError"),
        (returns_a_number, "instructions callable of agent 'a' returned int"),
    ):
        emu = Emulator(FunctionModel(lambda request: say("hi")))
        conv = conversation(Agent("a", instructions=function), emu, driver, deps={})
        with pytest.raises(HookError, match=expected) as info:
            await done(conv.send("hello"))
        assert info.value.turn is not None and info.value.hook == "before_request"
        assert "AgentRun" not in str(info.value)


@DRIVERS
async def test_an_approved_call_of_the_agent_that_handed_off_runs_with_its_tools(
    driver: str,
) -> None:
    deleted: list[str] = []

    @tool(requires_approval=True)
    def delete_ticket(ticket: str) -> str:
        """Delete a ticket.

        Args:
            ticket: The ticket.
        """
        deleted.append(ticket)
        return f"deleted {ticket}"

    def model(request: Any) -> Any:
        if request.history[-1].type == "function_result":
            return say(f"[{request.system_instruction}] done")
        return [call("transfer_to_billing", "t1"), call("delete_ticket", "d1", ticket="T9")]

    billing = Agent("billing", instructions="billing", tools=[refund], handoffs=["triage"])
    triage = Agent("triage", instructions="triage", tools=[delete_ticket], handoffs=[billing])
    conv = conversation(triage, Emulator(FunctionModel(model)), driver)
    await done(conv.send("delete T9, then billing"))
    assert conv.active_agent.name == "billing" and [c.id for c in conv.pending_approvals] == ["d1"]
    conv.approve("d1")
    await done(conv.resume())
    # triage asked for it (with its own tools) before the transfer: approved, it runs
    answers = {s.call_id: s for s in conv.history if s.type == "function_result"}
    assert deleted == ["T9"] and answers["d1"].result == "deleted T9"


@DRIVERS
async def test_after_a_rewind_past_a_handoff_the_next_request_is_the_earlier_agents(
    driver: str,
) -> None:
    def model(request: Any) -> Any:
        if request.history[-1].type == "function_result":
            return say(f"[{request.system_instruction}] moved")
        if "billing" in request.last_user_text and request.system_instruction == "triage":
            return [call("transfer_to_billing", f"t{len(request.history)}")]
        return say(f"[{request.system_instruction}] hi")

    billing = Agent("billing", instructions="billing", tools=[refund], handoffs=["triage"])
    triage = Agent("triage", instructions="triage", handoffs=[billing])
    emu = Emulator(FunctionModel(model))
    conv = conversation(triage, emu, driver)
    await done(conv.send("hello"))
    await done(conv.send("billing please"))
    assert conv.active_agent.name == "billing"
    await done(conv.rewind(1))
    # (active_agent not read in between) an input longer than what the rewind removed
    steps = [{"type": "user_input", "content": [{"type": "text", "text": w}]} for w in "abcdef"]
    turn = await done(conv.send(steps))
    assert turn.output_text == "[triage] hi" and conv.active_agent.name == "triage"
    assert emu.requests[-1].json["system_instruction"] == "triage"

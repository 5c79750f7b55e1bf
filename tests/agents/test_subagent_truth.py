"""A sub-agent call that was stopped never lies about what its sub-agent did: its calls that
may have run are not run again without a human, it goes on where it stopped, a stopped parent
stops it, and a new message never tells the model it is safe to ask again. Both drivers."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from agent_helpers import call, conversation, done, say

from agentloop import Agent, AsyncConversation, tool
from agentloop.agents._subagent import CONTINUE
from agentloop.errors import StateError
from agentloop.stores import SQLiteStore
from agentloop.testing import Emulator, FunctionModel

DRIVERS = pytest.mark.parametrize("driver", ["sync", "async"])
STORES = pytest.mark.parametrize("stored", [False, True], ids=["memory", "store"])


def charger(charged: list[str], started: threading.Event | None = None, seconds: float = 0) -> Any:
    """A ``charge`` tool (not idempotent) that notes each card it charges in ``charged``, sets
    ``started`` and takes ``seconds``."""

    @tool
    def charge(card: str) -> str:
        """Charge a card.

        Args:
            card: The card.
        """
        charged.append(card)
        if started is not None:
            started.set()
        time.sleep(seconds)
        return f"charged {card}"

    return charge


async def cut(conv: Any, text: str, when: threading.Event) -> Any:
    """``conv.send(text)`` (either driver), cancelled from elsewhere once ``when`` is set."""
    if isinstance(conv, AsyncConversation):
        task = asyncio.ensure_future(conv.send(text))
        while not when.is_set():
            await asyncio.sleep(0.005)
        assert conv.cancel()
        return await task
    threading.Thread(target=lambda: (when.wait(10), conv.cancel())).start()
    return conv.send(text)


def results(conv: Any) -> dict[str, str]:
    return {s.call_id: str(s.result) for s in conv.history if s.type == "function_result"}


def paired(conv: Any) -> bool:
    calls = sorted(s.id for s in conv.history if s.type == "function_call")
    return calls == sorted(results(conv))


class Payer:
    """A lead that delegates one payment to a payer sub-agent, whose ``charge`` tool is not
    idempotent and runs ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.charged: list[str] = []
        self.started = threading.Event()
        self.seconds = seconds
        charge = charger(self.charged, self.started, seconds)
        payer = Agent("payer", instructions="payer", tools=[charge])
        self.lead = Agent("lead", instructions="lead", tools=[payer.as_tool()])
        self.emu = Emulator(FunctionModel(self.model))

    @staticmethod
    def model(request: Any) -> Any:
        last = request.history[-1]
        if request.system_instruction == "lead":
            if last.type == "function_result":
                return say(f"lead got: {last.result}")
            if request.last_user_text == "go":
                return [call("payer", "p1", task="charge visa")]
            return say("lead: ok")
        if request.last_user_text == CONTINUE:
            return say("payer: went on")
        if last.type == "function_result":
            return say(f"payer: {last.result}")
        return [call("charge", "c1", card="visa")]

    def conversation(self, driver: str, stored: bool, tmp_path: Any) -> Any:
        if not stored:
            return conversation(self.lead, self.emu, driver)
        store = SQLiteStore(tmp_path / "runs.db")
        return conversation(self.lead, self.emu, driver, store=store, id="lead-1")

    async def cancelled(self, conv: Any) -> Any:
        """``send("go")``, cancelled while ``charge`` runs (past the grace period)."""
        conv.interrupt_grace = 0.05
        return await cut(conv, "go", self.started)


@DRIVERS
@STORES
async def test_a_sub_agent_call_cut_short_is_in_doubt_and_runs_again_only_if_approved(
    driver: str, stored: bool, tmp_path: Any
) -> None:
    team = Payer(seconds=0.4)
    conv = team.conversation(driver, stored, tmp_path)
    turn = await team.cancelled(conv)
    # the sub-agent's charge may have run: the parent's call waits for a human, in doubt
    assert turn.status == "awaiting_approval" and [c.id for c in conv.pending_approvals] == ["p1"]
    assert conv.in_doubt == ["p1"] and team.charged == ["visa"]
    with pytest.raises(StateError, match="no decision yet"):
        await done(conv.resume())
    await asyncio.sleep(0.5)  # (the cut call ends meanwhile)
    # a human approves: the sub-agent goes on, its charge in doubt runs again, and it answers
    conv.approve("p1")
    turn = await done(conv.resume())
    assert turn.status == "completed" and turn.output_text == "lead got: payer: charged visa"
    assert team.charged == ["visa", "visa"] and paired(conv)


@DRIVERS
@STORES
async def test_a_rejected_cut_sub_agent_call_says_it_was_in_doubt(
    driver: str, stored: bool, tmp_path: Any
) -> None:
    team = Payer(seconds=0.3)
    conv = team.conversation(driver, stored, tmp_path)
    await team.cancelled(conv)
    await asyncio.sleep(0.4)
    conv.reject("p1", "checked: it went through")
    await done(conv.resume())
    answer = results(conv)["p1"]
    assert answer.startswith("Not run again: the call was in doubt") and team.charged == ["visa"]
    assert paired(conv)


@DRIVERS
@STORES
async def test_a_new_message_after_a_cut_sub_agent_call_never_says_call_it_again(
    driver: str, stored: bool, tmp_path: Any
) -> None:
    team = Payer(seconds=0.3)
    conv = team.conversation(driver, stored, tmp_path)
    await team.cancelled(conv)
    await asyncio.sleep(0.4)
    turn = await done(conv.send("next"))
    assert turn.status == "completed" and team.charged == ["visa"]
    answer = results(conv)["p1"]
    assert "Outcome unknown" in answer and "Check before calling it again" in answer
    assert "safe to call again" not in answer and paired(conv)


@STORES
def test_cancelling_a_blocking_parent_stops_its_sub_agent(stored: bool, tmp_path: Any) -> None:
    steps: list[int] = []
    started = threading.Event()

    @tool
    def step(n: int) -> str:
        """Do one step.

        Args:
            n: Which.
        """
        steps.append(n)
        started.set()
        time.sleep(0.2)
        return f"step {n} done"

    def model(request: Any) -> Any:
        if request.system_instruction == "lead":
            if request.history[-1].type == "function_result":
                return say("lead: done")
            return [call("worker", "w1", task="three steps")]
        count = sum(1 for s in request.history if s.type == "function_result")
        return [call("step", f"s{count + 1}", n=count + 1)] if count < 3 else say("all done")

    emu = Emulator(FunctionModel(model))
    worker = Agent("worker", instructions="worker", tools=[step])
    lead = Agent("lead", instructions="lead", tools=[worker.as_tool()])
    extra: dict[str, Any] = {"store": SQLiteStore(tmp_path / "x.db"), "id": "l"} if stored else {}
    conv = lead.conversation(emu.client(), **extra)
    conv.interrupt_grace = 0.05
    threading.Thread(target=lambda: (started.wait(10), conv.cancel())).start()
    conv.send("go")
    time.sleep(0.6)  # a sub-agent left running would have started its next steps by now
    assert steps == [1]
    worker_requests = [r for r in emu.requests if (r.json or {}).get("system_instruction")]
    assert sum(r.json["system_instruction"] == "worker" for r in worker_requests) == 1


@STORES
def test_a_sub_agent_stopped_before_it_answered_goes_on_where_it_stopped(
    stored: bool, tmp_path: Any
) -> None:
    charged: list[str] = []
    asking = threading.Event()
    charge = charger(charged)

    def model(request: Any) -> Any:
        last = request.history[-1]
        if request.system_instruction == "lead":
            if last.type == "function_result":
                return say(f"lead got: {last.result}")
            return [call("payer", "p1", task="charge visa")]
        if request.last_user_text == CONTINUE:
            return say("payer: went on")
        if last.type == "function_result":
            asking.set()
            time.sleep(0.3)  # the sub-agent's answer is in flight when the parent is stopped
            return say("payer: charged")
        return [call("charge", "c1", card="visa")]

    emu = Emulator(FunctionModel(model))
    payer = Agent("payer", instructions="payer", tools=[charge])
    lead = Agent("lead", instructions="lead", tools=[payer.as_tool()])
    extra: dict[str, Any] = {"store": SQLiteStore(tmp_path / "x.db"), "id": "l"} if stored else {}
    conv = lead.conversation(emu.client(), **extra)
    threading.Thread(target=lambda: (asking.wait(10), conv.cancel())).start()
    turn = conv.send("go")
    assert turn.status == "awaiting_approval" and [c.id for c in conv.pending_approvals] == ["p1"]
    assert conv.in_doubt == ["p1"]  # its sub-agent had charged: a human says go on
    time.sleep(0.4)
    conv.approve("p1")
    turn = conv.resume()  # the sub-agent goes on from its charge's result: not charged again
    assert turn.output_text == "lead got: payer: went on"
    assert charged == ["visa"] and paired(conv)


@DRIVERS
async def test_a_sub_agent_that_ran_tools_then_paused_is_in_doubt_when_rejected(
    driver: str,
) -> None:
    charged: list[str] = []
    charge = charger(charged)

    @tool(requires_approval=True)
    def ship(order: str) -> str:
        """Ship an order.

        Args:
            order: The order.
        """
        return f"shipped {order}"

    def model(request: Any) -> Any:
        last = request.history[-1]
        if request.system_instruction == "lead":
            if last.type == "function_result":
                return say(f"lead got: {last.result}")
            return [call("shop", "p1", task="charge and ship")]
        names = [s.name for s in request.history if s.type == "function_result"]
        if "charge" not in names:
            return [call("charge", "c1", card="visa")]
        return [call("ship", "s1", order="A7")] if "ship" not in names else say("shop: done")

    emu = Emulator(FunctionModel(model))
    shop = Agent("shop", instructions="shop", tools=[charge, ship])
    lead = Agent("lead", instructions="lead", tools=[shop.as_tool()])
    conv = conversation(lead, emu, driver)
    turn = await done(conv.send("go"))
    # the sub-agent charged, then waits for approval of ship: the parent's call may have had
    # effects, so it is in doubt, and a rejection never reads as "nothing ran"
    assert turn.status == "awaiting_approval" and conv.in_doubt == ["p1"] and charged == ["visa"]
    conv.reject("p1", "not now")
    await done(conv.resume())
    answer = results(conv)["p1"]
    assert answer.startswith("Not run again: the call was in doubt") and paired(conv)


@DRIVERS
async def test_nested_sub_agents_cut_short_keep_the_doubt_up_to_the_top(driver: str) -> None:
    charged: list[str] = []
    started = threading.Event()
    charge = charger(charged, started, 0.3)

    def model(request: Any) -> Any:
        last, who = request.history[-1], request.system_instruction
        if last.type == "function_result":
            return say(f"{who}: {last.result}")
        if who == "lead":
            return [call("mid", "p1", task="pay")] if request.last_user_text == "go" else say("ok")
        return (
            [call("payer", "m1", task="pay")] if who == "mid" else [call("charge", "c1", card="v")]
        )

    payer = Agent("payer", instructions="payer", tools=[charge])
    mid = Agent("mid", instructions="mid", tools=[payer.as_tool()])
    lead = Agent("lead", instructions="lead", tools=[mid.as_tool()])
    conv = conversation(lead, Emulator(FunctionModel(model)), driver)
    conv.interrupt_grace = 0.05
    await cut(conv, "go", started)
    assert conv.in_doubt == ["p1"] and charged == ["v"]  # two levels down, still in doubt
    await asyncio.sleep(0.4)
    conv.approve("p1")  # the approval reaches the innermost call in doubt
    turn = await done(conv.resume())
    assert turn.output_text == "lead: mid: payer: charged v" and charged == ["v", "v"]
    assert paired(conv)


def test_a_call_in_doubt_whose_rerun_a_raising_hook_stops_is_never_said_not_run() -> None:
    from agentloop import Hooks
    from agentloop.errors import HookError

    ran: list[str] = []
    started = threading.Event()
    armed: list[int] = []
    charge = charger(ran, started, 0.3)

    def guard(request: Any) -> None:
        if armed:
            raise RuntimeError("policy service down")

    def model(request: Any) -> Any:
        if request.history[-1].type == "function_result":
            return say("got")
        return [call("charge", "c1", card="v")] if request.last_user_text == "go" else say("ok")

    agent = Agent("a", instructions="a", tools=[charge], hooks=Hooks(before_tool=guard))
    conv = agent.conversation(Emulator(FunctionModel(model)).client())
    conv.interrupt_grace = 0.05
    threading.Thread(target=lambda: (started.wait(10), conv.cancel())).start()
    conv.send("go")
    time.sleep(0.4)
    assert conv.in_doubt == ["c1"]
    conv.approve("c1")
    armed.append(1)
    with pytest.raises(HookError):
        conv.resume()
    answer = results(conv)["c1"]
    assert answer.startswith("Outcome unknown: this call had started before") and ran == ["v"]
    assert "not run again" in answer and paired(conv)
    armed.clear()
    assert conv.send("next").status == "completed"


@DRIVERS
async def test_a_sub_agents_failed_hook_tells_the_parent_model_what_ran(driver: str) -> None:
    from agentloop import Hooks

    charged: list[str] = []

    def audit(result: Any) -> None:
        raise RuntimeError("audit log down")

    def model(request: Any) -> Any:
        last = request.history[-1]
        if request.system_instruction == "lead":
            return (
                say(f"lead: {last.result}")
                if last.type == "function_result"
                else ([call("payer", "p1", task="pay")])
            )
        return say("paid") if last.type == "function_result" else [call("charge", "c1", card="v")]

    payer = Agent(
        "payer", instructions="payer", tools=[charger(charged)], hooks=Hooks(after_tool=audit)
    )
    lead = Agent("lead", instructions="lead", tools=[payer.as_tool()])
    turn = await done(conversation(lead, Emulator(FunctionModel(model)), driver).send("go"))
    (answer,) = [c.result.result for c in turn.tool_calls]
    assert answer == (
        "The payer sub-agent stopped before it answered: a hook failed (RuntimeError: audit log "
        "down). Its tool calls that ran (their effects stand): charge (ok)."
    )
    assert charged == ["v"] and "fix the" not in answer

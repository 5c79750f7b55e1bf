"""An ``Agent`` across conversations: parallel use, dynamic instructions, self-correcting
structured output, ``ModelRetry`` and bad definitions. Both drivers."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from agent_helpers import body, call, conversation, creates, done, say
from pydantic import BaseModel

from agentloop import Agent, ModelRetry, RunContext, tool
from agentloop.errors import AgentloopError, OutputValidationError
from agentloop.loop import OutputRetry
from agentloop.testing import Emulator, FunctionModel, ScriptedModel

DRIVERS = pytest.mark.parametrize("driver", ["sync", "async"])


class City(BaseModel):
    name: str
    population: int


def test_one_agent_serves_two_conversations_in_parallel_threads() -> None:
    barrier = threading.Barrier(2)

    @tool
    def remember(fact: str) -> str:
        """Remember a fact.

        Args:
            fact: The fact.
        """
        barrier.wait(timeout=10)  # both conversations are inside a tool at the same time
        return f"noted {fact}"

    def model(request: Any) -> Any:
        text = request.last_user_text
        if not any(getattr(s, "type", None) == "function_result" for s in request.history[-1:]):
            return [call("remember", f"c-{text}", fact=text)]
        return say(f"{request.system_instruction} / {text} / {len(request.history)} steps")

    emu = Emulator(FunctionModel(model))
    agent = Agent("memo", instructions="Be brief.", tools=[remember])
    results: dict[str, Any] = {}

    def chat(word: str) -> None:
        conv = agent.conversation(emu.client())
        results[word] = (conv, conv.send(word))

    threads = [threading.Thread(target=chat, args=(w,)) for w in ("alpha", "beta")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    (conv_a, turn_a), (conv_b, turn_b) = results["alpha"], results["beta"]
    assert turn_a.output_text == "Be brief. / alpha / 3 steps"
    assert turn_b.output_text == "Be brief. / beta / 3 steps"
    assert conv_a.id != conv_b.id and len(conv_a.history) == len(conv_b.history) == 4
    assert conv_a.active_agent is agent and agent.tools == (remember,)


async def test_one_agent_serves_two_async_conversations_at_once() -> None:
    both_inside = asyncio.Barrier(2)

    @tool
    async def remember(fact: str) -> str:
        """Remember a fact.

        Args:
            fact: The fact.
        """
        await asyncio.wait_for(both_inside.wait(), 10)  # both turns are in a tool at once
        return f"noted {fact}"

    def model(request: Any) -> Any:
        if request.history[-1].type == "user_input":
            return [call("remember", f"c-{request.last_user_text}", fact=request.last_user_text)]
        return say(f"{request.last_user_text}: {request.history[-1].result}")

    emu = Emulator(FunctionModel(model))
    agent = Agent("memo", instructions="Be brief.", tools=[remember])
    convs = [agent.aconversation(emu.async_client()) for _ in range(2)]
    turns = await asyncio.gather(convs[0].send("alpha"), convs[1].send("beta"))
    assert [t.output_text for t in turns] == ["alpha: noted alpha", "beta: noted beta"]
    assert [len(c.history) for c in convs] == [4, 4] and convs[0].id != convs[1].id


@DRIVERS
async def test_dynamic_instructions_are_evaluated_for_each_request(driver: str) -> None:
    seen: list[tuple[int, int, str]] = []

    def instructions(ctx: RunContext[dict[str, str]]) -> str:
        seen.append((ctx.turn, ctx.usage.requests, ctx.agent.name))
        return f"Speak {ctx.deps['lang']}; turn {ctx.turn}; {ctx.usage.requests} requests so far."

    async def async_instructions(ctx: RunContext[dict[str, str]]) -> str:
        return f"async for {ctx.conversation.id}"

    scripted = ScriptedModel([[call("get_time", "t1")], say("noon"), say("bye")])
    emu = Emulator(scripted)

    @tool
    def get_time() -> str:
        """The time."""
        return "12:00"

    agent = Agent("clock", instructions=instructions, tools=[get_time])
    conv = conversation(agent, emu, driver, deps={"lang": "French"})
    await done(conv.send("time?"))
    await done(conv.send("thanks"))
    sent = [b["system_instruction"] for b in creates(emu)]
    assert sent == [
        "Speak French; turn 1; 0 requests so far.",
        "Speak French; turn 1; 1 requests so far.",
        "Speak French; turn 2; 2 requests so far.",
    ]
    assert seen == [(1, 0, "clock"), (1, 1, "clock"), (2, 2, "clock")]

    other = Agent("other", instructions=async_instructions)
    emu2 = Emulator(ScriptedModel([say("ok")]))
    conv2 = conversation(other, emu2, driver, id="conv-x")
    await done(conv2.send("hi"))
    assert body(emu2, -1)["system_instruction"] == "async for conv-x"


@DRIVERS
async def test_invalid_output_goes_back_to_the_model_then_fails(driver: str) -> None:
    scripted = ScriptedModel([say('{"name": "Oslo"}'), say('{"name": "Oslo", "population": 7}')])
    emu = Emulator(scripted)
    agent = Agent("geo", response_model=City, output_retries=1)
    conv = conversation(agent, emu, driver)
    events = []
    if driver == "sync":
        events = list(conv.stream("a city"))
    else:
        events = [e async for e in conv.stream("a city")]
    turn = events[-1].turn
    assert turn.output == City(name="Oslo", population=7)
    (retry,) = [e for e in events if isinstance(e, OutputRetry)]
    assert "population: Field required" in retry.reason
    second = creates(emu)[1]
    assert second["previous_interaction_id"]  # the answer stays in the chain
    (feedback,) = second["input"]
    assert "population: Field required" in feedback["content"][0]["text"]

    # no retries left: OutputValidationError, with every answer kept in history
    fine = '{"name": "Rome", "population": 2800000}'
    emu2 = Emulator(ScriptedModel([say("nope"), say("still nope"), say(fine)]))
    conv2 = conversation(Agent("geo", response_model=City, output_retries=1), emu2, driver)
    with pytest.raises(OutputValidationError, match="after 1 retry") as info:
        await done(conv2.send("a city"))
    assert info.value.turn is not None and info.value.turn.output_text == "still nope"
    assert info.value.turn.status == conv2.turns[-1].status == "failed"
    texts = [s.content[0].text for s in conv2.history if s.type == "model_output"]
    assert texts == ["nope", "still nope"]
    assert (await done(conv2.send("thanks"))).output.name == "Rome"  # history stays sendable

    # output_retries on send() replaces the conversation's
    emu3 = Emulator(ScriptedModel([say("x")]))
    conv3 = conversation(Agent("geo", response_model=City, output_retries=3), emu3, driver)
    with pytest.raises(OutputValidationError, match="response model: answer"):
        await done(conv3.send("a city", output_retries=0))


@DRIVERS
async def test_model_retry_from_an_output_validator_and_from_a_tool(driver: str) -> None:
    def big_enough(city: City) -> City:
        if city.population < 1000:
            raise ModelRetry(f"{city.name} is a village; name a city of at least 1000 people")
        return city

    calls: list[int] = []

    @tool
    def lookup(population: int) -> str:
        """Look a population up.

        Args:
            population: The population.
        """
        calls.append(population)
        if population < 0:
            raise ModelRetry("a population is never negative; try again with a positive number")
        return "ok"

    scripted = ScriptedModel(
        [
            [call("lookup", "l1", population=-5)],
            say('{"name": "Hamlet", "population": 40}'),
            say('{"name": "Bergen", "population": 285000}'),
        ]
    )
    emu = Emulator(scripted)
    agent = Agent(
        "geo", response_model=City, tools=[lookup], output_validators=[big_enough], output_retries=2
    )
    conv = conversation(agent, emu, driver)
    turn = await done(conv.send("a city"))
    assert turn.output == City(name="Bergen", population=285000)
    (result,) = turn.tool_calls
    assert result.is_error and result.result.result == (
        "a population is never negative; try again with a positive number"
    )
    feedback = creates(emu)[2]["input"][0]["content"][0]["text"]
    assert "Hamlet is a village; name a city of at least 1000 people" in feedback
    assert calls == [-5]


@DRIVERS
async def test_a_bug_in_an_output_validator_is_not_sent_to_the_model(driver: str) -> None:
    """Only ``ModelRetry`` asks for another answer: any other exception is the validator's
    own bug, named in a ``HookError``; nothing more is asked of the model."""
    from agentloop.errors import HookError

    def buggy(city: City) -> City:
        return city.populaton  # type: ignore[attr-defined,no-any-return]

    emu = Emulator(ScriptedModel([say('{"name": "Oslo", "population": 700000}'), say("fine")]))
    agent = Agent("geo", response_model=City, output_validators=[buggy], output_retries=3)
    conv = conversation(agent, emu, driver)
    with pytest.raises(HookError, match=r"output validator .*buggy raised AttributeError") as info:
        await done(conv.send("a city"))
    assert isinstance(info.value.__cause__, AttributeError) and info.value.turn is not None
    assert len(creates(emu)) == 1  # the model was not told its answer was wrong
    assert conv.turns[-1].status != "completed"


def test_bad_definitions_get_one_line_errors() -> None:
    @tool
    def search(q: str) -> str:
        """Search.

        Args:
            q: The query.
        """
        return q

    def check(exc: pytest.ExceptionInfo[AgentloopError], *words: str) -> None:
        message = str(exc.value)
        assert "\n" not in message
        for word in words:
            assert word in message

    billing = Agent("billing")
    triage = Agent("triage", handoffs=[billing, "refunds"])
    with pytest.raises(AgentloopError) as info:
        triage.conversation(Emulator().client())
    check(info, "refunds", "triage", "billing")

    with pytest.raises(AgentloopError) as info:
        Agent(
            "triage", handoffs=[Agent("billing"), Agent("support", handoffs=[Agent("billing")])]
        )._graph()
    check(info, "billing", "unique name")

    with pytest.raises(AgentloopError) as info:
        Agent("triage", tools=[search, Agent("search").as_tool()])
    check(info, "a sub-agent and a tool", "search")

    from agentloop import UsageLimits

    with pytest.raises(AgentloopError) as info:
        Agent("spender", limits=UsageLimits(max_cost=1.0, prices={"m": (1.0, 1.0)}))
    check(info, "spender", "model")

    with pytest.raises(AgentloopError) as info:
        Agent("a").as_tool(context="everything")  # type: ignore[arg-type]
    check(info, "fresh", "fork")

    # one item where a list goes, and other wrong types: said at once, in one line
    for make, words in (
        (lambda: Agent("a", tools=search), ("tools takes a list", "tools=[")),
        (lambda: Agent("a", handoffs=Agent("b")), ("handoffs takes a list",)),
        (lambda: Agent("a", output_validators=len), ("output_validators takes a list",)),
        (lambda: Agent("a").as_tool(name=""), ("non-empty str",)),
        (lambda: Agent("a").run("hi", limits=5), ("UsageLimits",)),  # type: ignore[arg-type]
    ):
        with pytest.raises(AgentloopError) as info:
            make()
        check(info, *words)
    with pytest.raises(AgentloopError) as info:

        @tool
        def wrong_context(ctx: RunContext[Any], q: str) -> str:
            """Look up.

            Args:
                q: What.
            """
            return q

    check(info, "is a RunContext", "ToolContext")
    assert Agent("a", tools=None, handoffs=None).tools == ()  # type: ignore[arg-type]
    assert len({Agent("a", labels={"team": "x"}), Agent("b", generation_config={})}) == 2


@DRIVERS
async def test_async_output_validators(driver: str) -> None:
    seen: list[str] = []

    async def known_city(city: City) -> City:
        await asyncio.sleep(0)
        seen.append(city.name)
        if city.name != "Oslo":
            raise ModelRetry("only Oslo is in the atlas")
        return city

    answers = ['{"name": "Atlantis", "population": 1}', '{"name": "Oslo", "population": 700000}']
    emu = Emulator(ScriptedModel([say(a) for a in answers]))
    agent = Agent("geo", response_model=City, output_validators=[known_city])
    turn = await done(conversation(agent, emu, driver).send("a city"))
    assert turn.output.name == "Oslo" and seen == ["Atlantis", "Oslo"]


@DRIVERS
async def test_the_turn_number_goes_on_after_reload_and_retries(driver: str) -> None:
    from agentloop.stores import SQLiteStore

    def instructions(ctx: RunContext[None]) -> str:
        return f"turn {ctx.turn}"

    answers = ['{"name": "A", "population": 1}', "not json", '{"name": "B", "population": 2}']
    emu = Emulator(ScriptedModel([say(a) for a in answers]))
    agent = Agent("geo", instructions=instructions, response_model=City)
    store = SQLiteStore(":memory:")
    await done(conversation(agent, emu, driver, store=store, id="t").send("one"))
    again = conversation(agent, emu, driver, store=store, id="t")
    await done(again.send("two"))  # an invalid answer, then a retry: still turn 2
    assert [b["system_instruction"] for b in creates(emu)] == ["turn 1", "turn 2", "turn 2"]

"""UsageLimits: each limit stops the loop at the right point, per turn and per conversation."""

from __future__ import annotations

from typing import Any

import pytest
from loop_helpers import bodies, open_calls

from agentloop import AsyncConversation, Conversation, UsageLimits, tool
from agentloop.errors import ConfigurationError, UsageLimitExceeded
from agentloop.testing import Emulator, Reply, ScriptedModel

MODEL = "gemini-3.5-flash"
runs: list[int] = []


@tool
def step(n: int) -> str:
    """One step of work.

    Args:
        n: The step number.
    """
    runs.append(n)
    return f"step {n} done"


def call_reply(n: int, tokens_in: int = 100, tokens_out: int = 10) -> Reply:
    return Reply(
        steps=[{"type": "function_call", "name": "step", "arguments": {"n": n}}],
        usage={
            "total_input_tokens": tokens_in,
            "total_output_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
        },
    )


def text_reply(text: str = "done", tokens_in: int = 100, tokens_out: int = 10) -> Reply:
    return Reply(
        steps=[{"type": "model_output", "content": [{"type": "text", "text": text}]}],
        usage={
            "total_input_tokens": tokens_in,
            "total_output_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
        },
    )


@pytest.fixture(autouse=True)
def _reset_runs() -> None:
    runs.clear()


def endless(scripted: ScriptedModel, n: int = 20, **usage: int) -> None:
    scripted.add(*(call_reply(i, **usage) for i in range(n)))


def assert_usable(conv: Any) -> None:
    assert not open_calls(conv.history)


@pytest.mark.parametrize("strategy", ["stateful", "stateless"])
def test_max_requests_per_turn_stops_before_the_request(
    emu: Emulator, scripted: ScriptedModel, strategy: str
) -> None:
    endless(scripted)
    conv = Conversation(emu.client(), tools=[step], strategy=strategy)
    with pytest.raises(UsageLimitExceeded) as info:
        conv.send("go", limits=UsageLimits(max_requests=3))
    err = info.value
    assert (err.limit, err.value, err.maximum) == ("max_requests", 4, 3)
    assert len(bodies(emu)) == 3  # the fourth request was never sent
    assert runs == [0, 1]  # the third response's call was not run: nobody would read it
    assert err.turn is not None and err.turn.status == "usage_limit"
    assert len(err.turn.interaction_ids) == 3
    assert_usable(conv)
    assert "not sent" in str(err) and "max_requests=3" in str(err)
    # The conversation goes on: a new turn with the model answering.
    scripted.add(text_reply("fine"))
    assert conv.send("continue").output == "fine"


def test_max_input_tokens_uses_the_last_exact_count_as_a_lower_bound(
    emu: Emulator, scripted: ScriptedModel
) -> None:
    endless(scripted, tokens_in=100)
    conv = Conversation(emu.client(), tools=[step])
    with pytest.raises(UsageLimitExceeded) as info:
        conv.send("go", limits=UsageLimits(max_input_tokens=250))
    # 100 + 100 = 200 fits; a third request carries at least 100 more: 300 > 250.
    assert (info.value.limit, info.value.value, info.value.maximum) == (
        "max_input_tokens",
        300,
        250,
    )
    assert len(bodies(emu)) == 2
    assert conv.usage.input_tokens == 200
    assert_usable(conv)


def test_a_response_over_the_limit_is_recorded_then_the_turn_ends(
    emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add(call_reply(0, tokens_out=10), call_reply(1, tokens_out=10), text_reply())
    conv = Conversation(emu.client(), tools=[step])
    with pytest.raises(UsageLimitExceeded) as info:
        conv.send("go", limits=UsageLimits(max_output_tokens=15))
    err = info.value
    assert (err.limit, err.value, err.maximum) == ("max_output_tokens", 20, 15)
    assert "recorded in history" in str(err)
    assert len(bodies(emu)) == 2
    # The second response is in history; its call was answered with an error, not run.
    calls = [s for s in conv.history if s.type == "function_call"]
    assert [c.arguments["n"] for c in calls] == [0, 1]
    results = {s.call_id: s for s in conv.history if s.type == "function_result"}
    assert results[calls[1].id].is_error and runs == [0]
    assert err.turn is not None and err.turn.usage.total_output_tokens == 20
    assert_usable(conv)


def test_max_total_tokens(emu: Emulator, scripted: ScriptedModel) -> None:
    endless(scripted, tokens_in=50, tokens_out=5)
    conv = Conversation(emu.client(), tools=[step])
    with pytest.raises(UsageLimitExceeded) as info:
        conv.send("go", limits=UsageLimits(max_total_tokens=160))
    # 55 + 55 = 110; the next needs at least 50 + 1 more: 161 > 160.
    assert (info.value.limit, info.value.value) == ("max_total_tokens", 161)
    assert len(bodies(emu)) == 2
    assert_usable(conv)


def test_max_cost_with_prices(emu: Emulator, scripted: ScriptedModel) -> None:
    # 1,000,000 input tokens at $1 and 100,000 output at $10 per million: $2 per request.
    endless(scripted, tokens_in=1_000_000, tokens_out=100_000)
    limits = UsageLimits(max_cost=5.0, prices={MODEL: (1.0, 10.0)})
    conv = Conversation(emu.client(), model=MODEL, tools=[step], limits=limits)
    with pytest.raises(UsageLimitExceeded) as info:
        conv.send("go")
    # $4 after two requests; a third costs at least $1 of input: 5.00001 > 5.
    assert info.value.limit == "max_cost"
    assert len(bodies(emu)) == 2
    assert conv.usage.cost == pytest.approx(4.0)
    assert info.value.value == pytest.approx(5.0 + 10 / 1e6)
    assert_usable(conv)


def test_cost_limit_for_an_unpriced_model_is_refused_up_front(emu: Emulator) -> None:
    limits = UsageLimits(max_cost=1.0, prices={"other-model": (1.0, 1.0)})
    with pytest.raises(ConfigurationError, match=r"needs the price of 'gemini-3\.5-flash'"):
        Conversation(emu.client(), model=MODEL, limits=limits)
    conv = Conversation(emu.client(), model=MODEL)
    with pytest.raises(ConfigurationError, match="prices="):
        conv.send("hi", limits=limits)
    assert bodies(emu) == [] and conv.history == []


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="max_requests"):
        UsageLimits(max_requests=-1)
    with pytest.raises(ConfigurationError, match="price"):
        UsageLimits(prices={MODEL: (1.0,)})  # type: ignore[dict-item]
    # wrong types are AgentloopErrors too (not a bare TypeError or AttributeError)
    from agentloop import Compaction, Hooks
    from agentloop.errors import AgentloopError

    for make in (
        lambda: UsageLimits(max_requests="5"),  # type: ignore[arg-type]
        lambda: UsageLimits(prices=[(MODEL, (1.0, 2.0))]),  # type: ignore[arg-type]
        lambda: Compaction(trigger_tokens="100"),  # type: ignore[arg-type]
        lambda: Compaction(keep_recent=None),  # type: ignore[arg-type]
        lambda: Hooks(before_tool=5),  # type: ignore[arg-type]
        lambda: Hooks(before_tool="abc"),  # type: ignore[arg-type]
    ):
        with pytest.raises(AgentloopError):
            make()


def test_conversation_limits_count_over_turns_and_survive_save_load(
    emu: Emulator, scripted: ScriptedModel
) -> None:
    scripted.add(call_reply(0), text_reply("one"), call_reply(1), call_reply(2))
    conv = Conversation(emu.client(), tools=[step], limits=UsageLimits(max_requests=3))
    assert conv.send("first").output == "one"
    assert conv.usage.requests == 2 and conv.usage.input_tokens == 200
    restored = Conversation.from_dict(
        conv.to_dict(), client=emu.client(), tools=[step], limits=UsageLimits(max_requests=3)
    )
    assert restored.usage == conv.usage
    with pytest.raises(UsageLimitExceeded) as info:
        restored.send("second")
    assert info.value.limit == "max_requests" and info.value.value == 4
    assert len(bodies(emu)) == 3
    assert runs == [0]  # the call of request 3 was answered with an error, not run
    assert_usable(restored)
    # Nothing more may be sent in this conversation; a new request is refused up front.
    with pytest.raises(UsageLimitExceeded):
        restored.send("third")
    assert len(bodies(emu)) == 3
    assert_usable(restored)


def test_turn_and_conversation_limits_stop_at_whichever_comes_first(
    emu: Emulator, scripted: ScriptedModel
) -> None:
    endless(scripted)
    conv = Conversation(emu.client(), tools=[step], limits=UsageLimits(max_requests=5))
    with pytest.raises(UsageLimitExceeded) as info:
        conv.send("a", limits=UsageLimits(max_requests=2))
    assert info.value.limit == "max_requests" and "turn" in str(info.value)
    assert conv.usage.requests == 2
    with pytest.raises(UsageLimitExceeded) as info:
        conv.send("b", limits=UsageLimits(max_requests=10))
    assert "conversation" in str(info.value)
    assert conv.usage.requests == 5
    assert_usable(conv)


async def test_async_limits(emu: Emulator, scripted: ScriptedModel) -> None:
    endless(scripted, tokens_out=10)
    conv = AsyncConversation(emu.async_client(), tools=[step])
    with pytest.raises(UsageLimitExceeded) as info:
        await conv.send("go", limits=UsageLimits(max_output_tokens=25))
    assert (info.value.limit, info.value.value) == ("max_output_tokens", 30)
    assert len(bodies(emu)) == 3
    assert conv.usage.output_tokens == 30
    assert_usable(conv)


def test_limits_apply_to_streams(emu: Emulator, scripted: ScriptedModel) -> None:
    endless(scripted)
    conv = Conversation(emu.client(), tools=[step])
    seen: list[str] = []
    with pytest.raises(UsageLimitExceeded):
        for event in conv.stream("go", limits=UsageLimits(max_requests=2)):
            seen.append(event.type)
    assert seen.count("interaction_completed") == 2
    assert_usable(conv)


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_a_turns_limits_hold_across_an_approval_pause(
    emu: Emulator, scripted: ScriptedModel, driver: str
) -> None:
    """``send(..., limits=)`` counts over the whole turn: resume() goes on with the same
    limits, counting the requests made before the pause."""
    import asyncio

    @tool(requires_approval=True)
    def guarded(n: int) -> str:
        """A step that needs approval.

        Args:
            n: The step number.
        """
        return f"guarded {n}"

    scripted.add(
        Reply(steps=[{"type": "function_call", "name": "guarded", "arguments": {"n": 0}}]),
        *(call_reply(i) for i in range(1, 10)),
    )
    limits = UsageLimits(max_requests=2)
    if driver == "sync":
        conv: Any = Conversation(emu.client(), tools=[step, guarded])
        assert conv.send("go", limits=limits).status == "awaiting_approval"
        conv.approve(conv.pending_approvals[0].id)
        with pytest.raises(UsageLimitExceeded) as info:
            conv.resume()
    else:

        async def run() -> Any:
            conv = AsyncConversation(emu.async_client(), tools=[step, guarded])
            assert (await conv.send("go", limits=limits)).status == "awaiting_approval"
            conv.approve(conv.pending_approvals[0].id)
            with pytest.raises(UsageLimitExceeded) as info:
                await conv.resume()
            return info

        info = asyncio.run(run())
    assert (info.value.limit, info.value.maximum) == ("max_requests", 2)
    assert len(bodies(emu)) == 2  # one before the pause, one after: the turn's two

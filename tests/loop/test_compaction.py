"""Compaction: long tool loops inside a context window, in both strategies and both drivers."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loop_helpers import bodies, open_calls

from agentloop import AsyncConversation, Compaction, Conversation, tool
from agentloop.errors import ConfigurationError, ContextWindowExceededError
from agentloop.loop import Compacted
from agentloop.loop.compaction import SUMMARY_INSTRUCTION, choose_cut
from agentloop.testing import Emulator, FunctionModel, ModelRequest, ScriptedModel
from agentloop.testing.models import ReplyLike

CALLS = 40
WINDOW = 6000  # tokens; 40 results of ~2,000 characters need ~21,000
PAGE = 2000


@functools.cache  # the same page is built for the tool and for each check that reads it
def page_text(page: int) -> str:
    words = " ".join(f"w{page}x{i}" for i in range(PAGE))
    return f"page {page}: {words}"[:PAGE]


@tool
def fetch(page: int) -> str:
    """Fetch one page of a long document.

    Args:
        page: The page number.
    """
    return page_text(page)


def loop_model(calls: int = CALLS, summary: str = "the model's summary") -> FunctionModel:
    """Think, then call fetch(page=n) for n in 0..calls-1, then answer; summary requests
    (the compaction's store=false request) get ``summary``."""
    served = 0

    def fn(request: ModelRequest) -> ReplyLike:
        nonlocal served
        if request.system_instruction == SUMMARY_INSTRUCTION:
            return summary
        n = served
        served += 1
        if n < calls:
            return [
                {"type": "thought"},
                {"type": "function_call", "name": "fetch", "arguments": {"page": n}},
            ]
        return [{"type": "thought"}, f"read {calls} pages"]

    return FunctionModel(fn)


def make(
    driver: str, emu: Emulator, strategy: str, compaction: Compaction | None
) -> Conversation | AsyncConversation:
    client: Any = emu.client() if driver == "sync" else emu.async_client()
    cls = Conversation if driver == "sync" else AsyncConversation
    return cls(client, tools=[fetch], strategy=strategy, max_steps=CALLS + 5, compaction=compaction)


async def run(conv: Conversation | AsyncConversation, text: str) -> tuple[Any, list[Any]]:
    """Stream one turn on either driver; returns (turn, events)."""
    events: list[Any] = []
    if isinstance(conv, AsyncConversation):
        async for event in conv.stream(text):
            events.append(event)
    else:
        events.extend(conv.stream(text))
    return events[-1].turn, events


def assert_complete(conv: Any, calls: int = CALLS) -> None:
    """Every call answered exactly once, with the full result, in local history."""
    history = conv.history
    call_steps = [s for s in history if s.type == "function_call"]
    results = [s for s in history if s.type == "function_result"]
    assert [c.arguments["page"] for c in call_steps] == list(range(calls))
    assert sorted(r.call_id for r in results) == sorted(c.id for c in call_steps)
    assert [r.result for r in results] == [page_text(n) for n in range(calls)]
    assert not open_calls(history)


@pytest.mark.parametrize("driver", ["sync", "async"])
@pytest.mark.parametrize("strategy", ["stateful", "stateless"])
async def test_long_loop_overflows_without_compaction(driver: str, strategy: str) -> None:
    emu = Emulator(model=loop_model(), context_window=WINDOW)
    conv = make(driver, emu, strategy, None)
    with pytest.raises(ContextWindowExceededError) as info:
        await run(conv, "read every page")
    err = info.value
    assert err.status_code == 400 and err.input_tokens is not None
    assert err.input_tokens > WINDOW
    assert str(err.input_tokens) in str(err) and "Compaction" in str(err)
    assert not open_calls(conv.history)  # the conversation stays usable
    # Enabling compaction lets the same conversation go on and finish the task.
    conv.compaction = Compaction(trigger_tokens=WINDOW * 2 // 3, keep_recent=4)
    turn, _ = await run(conv, "go on")
    assert turn.status == "completed" and turn.output == f"read {CALLS} pages"
    assert_complete(conv)


@pytest.mark.parametrize("driver", ["sync", "async"])
@pytest.mark.parametrize("strategy", ["stateful", "stateless"])
async def test_long_loop_completes_with_compaction(driver: str, strategy: str) -> None:
    emu = Emulator(model=loop_model(), context_window=WINDOW)
    conv = make(driver, emu, strategy, Compaction(trigger_tokens=4000, keep_recent=4))
    turn, events = await run(conv, "read every page")
    assert turn.status == "completed" and turn.output == f"read {CALLS} pages"
    assert len(turn.tool_calls) == CALLS
    assert_complete(conv)
    compactions = [e for e in events if isinstance(e, Compacted)]
    assert compactions and all(e.type == "compacted" for e in compactions)
    for e in compactions:
        assert e.tokens_after < e.tokens_before and e.steps_folded > 0
    # The view: a marker, then recent steps verbatim.
    view = conv.model_view
    assert len(view) < len(conv.history)
    marker = view[0].content[0].text
    assert "earlier steps of this conversation were omitted" in marker
    assert view[1:] == conv.history[len(conv.history) - len(view) + 1 :]
    sent = bodies(emu)
    if strategy == "stateless":
        assert all(b["store"] is False and "previous_interaction_id" not in b for b in sent)
    else:
        # Each compaction rolls the chain over: one request without previous_interaction_id
        # carrying the compacted view, then requests chaining onto it.
        fresh = [i for i, b in enumerate(sent) if "previous_interaction_id" not in b]
        assert len(fresh) == len(compactions) + 1  # the first request, then one per compaction
        for i in fresh[1:]:
            first = sent[i]["input"][0]
            assert first["type"] == "user_input" and "omitted" in first["content"][0]["text"]
            if i + 1 < len(sent):
                assert sent[i + 1]["previous_interaction_id"] == turn.interaction_ids[i]


def test_kept_thoughts_are_resent_byte_equal() -> None:
    emu = Emulator(model=loop_model(calls=12), context_window=WINDOW)
    conv = Conversation(
        emu.client(),
        tools=[fetch],
        strategy="stateless",
        compaction=Compaction(trigger_tokens=2500, keep_recent=5),
    )
    turn = conv.send("read")
    assert turn.status == "completed"
    # The emulator verified every thought of every request (an altered byte is a 400); and
    # the thoughts the last request carried are the bytes received, not a re-encoding.
    history = conv._state.history
    received = {
        history[i].signature: history.wire(i).data
        for i in range(len(history))
        if history[i].type == "thought"
    }
    last = bodies(emu)[-1]["input"]
    assert last[0]["type"] == "user_input" and "omitted" in last[0]["content"][0]["text"]
    thoughts = [s for s in last if s["type"] == "thought"]
    assert thoughts
    for thought in thoughts:
        assert json.dumps(thought, separators=(",", ":")).encode() == received[thought["signature"]]


def test_truncated_tool_results_are_sent_short_and_kept_whole() -> None:
    emu = Emulator(model=loop_model(calls=2))
    conv = Conversation(
        emu.client(), tools=[fetch], compaction=Compaction(max_tool_result_chars=300)
    )
    turn = conv.send("read")
    assert [c.result.result for c in turn.tool_calls] == [page_text(0), page_text(1)]
    assert [r.result for r in conv.history if r.type == "function_result"] == [
        page_text(0),
        page_text(1),
    ]
    sent = [s for b in bodies(emu) for s in b["input"] if s["type"] == "function_result"]
    assert len(sent) == 2
    for n, step in enumerate(sent):
        text = step["result"]
        assert text.startswith(page_text(n)[:300])
        assert f"{PAGE - 300} more characters of this tool result were cut" in text
        assert len(text) < 450
    view_results = [s for s in conv.model_view if s.type == "function_result"]
    assert all("were cut" in s.result for s in view_results)


@pytest.mark.parametrize("driver", ["sync", "async"])
async def test_summarize_callable_sync_and_async(driver: str) -> None:
    seen: list[list[Any]] = []

    def sync_summary(steps: list[Any]) -> str:
        seen.append(steps)
        return f"summary of {len(steps)} steps"

    async def async_summary(steps: list[Any]) -> str:
        return sync_summary(steps)

    summarize: Callable[[list[Any]], Any] = sync_summary if driver == "sync" else async_summary
    emu = Emulator(model=loop_model(calls=12), context_window=WINDOW)
    conv = make(driver, emu, "stateful", Compaction(2500, keep_recent=3, summarize=summarize))
    turn, events = await run(conv, "read")
    assert turn.status == "completed"
    assert_complete(conv, 12)
    assert seen and len(seen) == len([e for e in events if isinstance(e, Compacted)])
    # Later summaries are given the earlier summary as their first step.
    assert seen[0][0].type == "user_input" and "read" in json.dumps(seen[0][0].model_dump())
    if len(seen) > 1:
        assert seen[1][0].content[0].text == f"summary of {len(seen[0])} steps"
    assert conv.model_view[0].content[0].text == f"summary of {len(seen[-1])} steps"


def test_summarize_with_the_model() -> None:
    model = loop_model(calls=12, summary="pages 0-5 were read")
    emu = Emulator(model=model, context_window=WINDOW)
    conv = Conversation(
        emu.client(),
        model="gemini-3.5-flash",
        tools=[fetch],
        compaction=Compaction(2500, keep_recent=3, summarize="model"),
    )
    turn = conv.send("read")
    assert turn.status == "completed"
    asks = [b for b in bodies(emu) if b.get("system_instruction") == SUMMARY_INSTRUCTION]
    assert asks
    for ask in asks:
        assert ask["store"] is False and "tools" not in ask
        assert ask["model"] == "gemini-3.5-flash" and "previous_interaction_id" not in ask
        assert "fetch(" in ask["input"][0]["content"][0]["text"]
    summary = conv.model_view[0].content[0].text
    assert summary.startswith("Summary of the") and "pages 0-5 were read" in summary
    # The summary requests count in the conversation's usage, not in the turn.
    assert conv.usage.requests == len(turn.interaction_ids) + len(asks)
    assert_complete(conv, 12)


def test_summarize_model_needs_a_model() -> None:
    emu = Emulator(model=loop_model(calls=3))
    with pytest.raises(ConfigurationError, match="summarize='model'"):
        Conversation(emu.client(), agent="some-agent", compaction=Compaction(summarize="model"))


def test_compact_on_demand_and_switching_strategy() -> None:
    emu = Emulator(model=loop_model(calls=6))
    conv = Conversation(emu.client(), tools=[fetch], compaction=Compaction(keep_recent=2))
    conv.send("read")
    assert conv.last_interaction_id is not None
    event = conv.compact()
    assert isinstance(event, Compacted) and event.steps_folded > 0
    assert conv.last_interaction_id is None  # the chain rolls over on the next request
    assert len(conv.model_view) < len(conv.history)
    before = len(bodies(emu))
    # Switch to stateless, then back to stateful: each request carries the compacted view.
    emu.model = loop_model(calls=1)
    conv.strategy = "stateless"
    conv.send("once more")
    conv.strategy = "stateful"
    emu.model = loop_model(calls=1)
    conv.send("and again")
    sent = bodies(emu)[before:]
    assert sent[0]["store"] is False and "omitted" in sent[0]["input"][0]["content"][0]["text"]
    assert "previous_interaction_id" not in sent[2]
    assert "omitted" in sent[2]["input"][0]["content"][0]["text"]
    assert sent[3]["previous_interaction_id"] is not None
    assert not open_calls(conv.history)
    # Nothing left to fold: compact() says so.
    tiny = Conversation(emu.client(), compaction=Compaction(keep_recent=50))
    assert tiny.compact() is None


async def test_async_compact_on_demand() -> None:
    emu = Emulator(model=loop_model(calls=4))
    conv = AsyncConversation(emu.async_client(), tools=[fetch])
    await conv.send("read")
    # 15 steps: user, 4 x (thought, call, result), thought, output. The default Compaction()
    # keeps 10 and more: the kept part starts at the thought of the second call.
    event = await conv.compact()
    assert isinstance(event, Compacted) and event.steps_folded == 4
    conv.compaction = Compaction(keep_recent=1)
    event = await conv.compact()
    assert isinstance(event, Compacted) and event.steps_folded == 9
    assert [s.type for s in conv.model_view] == ["user_input", "thought", "model_output"]


def test_history_and_view_survive_save_load(tmp_path: Any) -> None:
    emu = Emulator(model=loop_model(calls=12), context_window=WINDOW)
    policy = Compaction(2500, keep_recent=3, max_tool_result_chars=1000)
    conv = Conversation(emu.client(), tools=[fetch], compaction=policy)
    conv.send("read")
    path = tmp_path / "conv.json"
    conv.save(path)
    loaded = Conversation.load(path, client=emu.client(), tools=[fetch], compaction=policy)
    assert loaded.history == conv.history
    assert loaded.model_view == conv.model_view
    assert loaded.usage == conv.usage
    assert loaded._state.view.tokens == conv._state.view.tokens  # the chars/4 part
    emu.model = loop_model(calls=1)
    assert loaded.send("more").status == "completed"


def test_invalid_compaction_settings() -> None:
    with pytest.raises(ConfigurationError, match="trigger_tokens"):
        Compaction(trigger_tokens=0)
    with pytest.raises(ConfigurationError, match="keep_recent"):
        Compaction(keep_recent=-1)
    with pytest.raises(ConfigurationError, match="summarize"):
        Compaction(summarize="fast")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="max_tool_result_chars"):
        Compaction(max_tool_result_chars=0)


# --- the cut rule, on hand-made histories ----------------------------------------------------


def _steps(*kinds: str) -> list[Any]:
    """Steps from short codes: u (user), t (thought), o (output), cN (call N), rN (result N)."""
    from agentloop.types import step_adapter

    out = []
    for k in kinds:
        if k == "u":
            out.append({"type": "user_input", "content": "hi"})
        elif k == "t":
            out.append({"type": "thought", "signature": "s"})
        elif k == "o":
            out.append({"type": "model_output", "content": [{"type": "text", "text": "x"}]})
        elif k[0] == "c":
            out.append({"type": "function_call", "id": k, "name": "f", "arguments": {}})
        else:
            out.append({"type": "function_result", "call_id": "c" + k[1:], "result": "r"})
    return [step_adapter.validate_python(s) for s in out]


def test_cut_never_splits_parallel_calls_from_results() -> None:
    h = _steps("u", "t", "c1", "c2", "r1", "r2", "t", "c3", "r3", "o")
    # keep_recent=5 would start at r2 (index 5); the nearest valid start before it is "t" at 1.
    assert choose_cut(h, 0, 5) == 1
    assert choose_cut(h, 0, 4) == 6  # starts at the thought that opens the next interaction
    assert choose_cut(h, 0, 0) == 9  # only the last interaction's output stays
    assert choose_cut(h, 6, 4) is None  # already folded up to there
    h2 = _steps("u", "t", "c1", "r1", "u", "o")
    assert choose_cut(h2, 0, 2) == 4  # a user message starts the kept part
    assert choose_cut(h2, 0, 0) == 5


def test_cut_keeps_open_calls() -> None:
    h = _steps("u", "t", "c1", "r1", "t", "c2")
    assert choose_cut(h, 0, 0, open_calls={"c2"}) == 4
    h2 = _steps("u", "t", "c1", "c2", "r1")  # c2 waits for approval
    assert choose_cut(h2, 0, 0, open_calls={"c2"}) == 1
    assert choose_cut(h2, 1, 0, open_calls={"c2"}) is None


# --- property: any history, any keep_recent, compacts into a view the emulator accepts ------

hops = st.lists(st.tuples(st.integers(1, 3), st.booleans()), max_size=3)  # (calls, thought)
plans = st.lists(st.tuples(hops, st.booleans()), min_size=1, max_size=4)  # turns


@tool
def echo(text: str) -> str:
    """Echo the text back.

    Args:
        text: Anything.
    """
    return f"echo: {text} " + "y" * 40


@settings(max_examples=40, deadline=None)
@given(
    plan=plans,
    keep_recent=st.integers(0, 25),
    strategy=st.sampled_from(["stateful", "stateless"]),
    then=st.sampled_from(["stateful", "stateless"]),
    max_chars=st.sampled_from([None, 20]),
)
def test_any_history_compacts_into_an_accepted_view(
    plan: list[tuple[list[tuple[int, bool]], bool]],
    keep_recent: int,
    strategy: str,
    then: str,
    max_chars: int | None,
) -> None:
    replies: list[Any] = []
    for turn_hops, final_thought in plan:
        for calls, thought in turn_hops:
            steps: list[Any] = [{"type": "thought"}] if thought else []
            steps += [
                {"type": "function_call", "name": "echo", "arguments": {"text": f"t{i}"}}
                for i in range(calls)
            ]
            replies.append(steps)
        replies.append([{"type": "thought"}, "ok"] if final_thought else "ok")
    scripted = ScriptedModel(replies)
    emu = Emulator(model=scripted)
    policy = Compaction(keep_recent=keep_recent, max_tool_result_chars=max_chars)
    conv = Conversation(emu.client(), tools=[echo], strategy=strategy, compaction=policy)
    for i in range(len(plan)):
        conv.send(f"message {i}")
    full = conv.history
    event = conv.compact()
    view = conv.model_view
    assert conv.history == full
    if event is not None:
        assert view[0].type == "user_input" and len(view) - 1 <= len(full)
        assert len(view) - 1 >= keep_recent  # at least keep_recent steps stay verbatim
        assert view[1:] == full[len(full) - len(view) + 1 :] or max_chars is not None
        # The kept part starts a user message or an interaction's output: a thought is never
        # separated from the calls its signature covers.
        cut = len(full) - (len(view) - 1)
        if 0 < cut < len(full):
            client = ("user_input", "function_result")
            assert full[cut].type == "user_input" or (
                full[cut - 1].type in client and full[cut].type not in client
            )
    # Every result in the view has its call there, and the emulator takes the view as input.
    ids = {s.id for s in view if s.type == "function_call"}
    assert all(s.call_id in ids for s in view if s.type == "function_result")
    scripted.add("after")
    conv.strategy = then  # type: ignore[assignment]
    assert conv.send("and now?").output == "after"
    assert not open_calls(conv.history)


# --- journaling and rollback -------------------------------------------------------------------


def test_compaction_is_journaled_and_folds_back(drive: Any) -> None:
    from memory_store import MemoryStore

    from agentloop.loop.persist import fold

    drive.emu.model = loop_model(calls=12)
    drive.emu.context_window = WINDOW
    store = MemoryStore()
    policy = Compaction(2500, keep_recent=3, max_tool_result_chars=1000)
    conv = drive.conv(tools=[fetch], store=store, id="long", compaction=policy)
    assert drive(conv.send("read")).status == "completed"
    assert "omitted" in conv.model_view[0].content[0].text
    stored = store.read("long")
    assert folded_state(fold(stored.records, stored.version)) == conv.to_dict()["state"]
    loaded = drive.cls().from_store(
        store, "long", client=drive.client(), tools=[fetch], compaction=policy
    )
    assert loaded.history == conv.history
    assert loaded.model_view == conv.model_view
    assert loaded.usage == conv.usage
    # On-demand compaction is journaled at once.
    loaded.compaction = Compaction(keep_recent=1, max_tool_result_chars=1000)
    event = drive(loaded.compact())
    assert isinstance(event, Compacted)
    stored = store.read("long")
    assert folded_state(fold(stored.records, stored.version)) == loaded.to_dict()["state"]


def folded_state(folded: Any) -> dict[str, Any]:
    return dict(folded.state.to_wire())


def test_a_turn_undone_undoes_its_compaction(drive: Any) -> None:
    drive.emu.model = loop_model(calls=6)
    conv = drive.conv(tools=[fetch])
    drive(conv.send("read"))
    chain, length = conv.last_interaction_id, len(conv.history)
    view_before = conv.model_view
    assert view_before == conv.history
    # The next request compacts first, then fails with nothing received: the turn is undone,
    # its compaction included (the server chain still holds the whole history).
    conv.compaction = Compaction(trigger_tokens=100, keep_recent=2)
    drive.emu.faults.http_error(400, message="emulated rejection")
    with pytest.raises(Exception, match="emulated rejection"):
        drive(conv.send("more"))
    assert len(conv.history) == length and conv.last_interaction_id == chain
    assert conv.model_view == view_before
    # Without the fault the same turn compacts again and rolls the chain over.
    drive.emu.model = loop_model(calls=0)
    turn = drive(conv.send("more"))
    assert turn.status == "completed"
    last = bodies(drive.emu)[-1]
    assert "previous_interaction_id" not in last
    assert "omitted" in last["input"][0]["content"][0]["text"]


def test_context_window_error_mapping() -> None:
    import pickle

    from agentloop.errors import InvalidRequestError

    emu = Emulator()
    client = emu.client()
    emu.faults.http_error(
        400,
        message="The input token count (1234567) exceeds the maximum number of tokens "
        "allowed (1048576).",
    )
    with pytest.raises(ContextWindowExceededError) as info:
        client.interactions.create(model="gemini-3.5-flash", input="hi")
    err = info.value
    assert isinstance(err, InvalidRequestError) and err.input_tokens == 1234567
    assert "1234567" in str(err) and "Compaction" in str(err) and "(1048576).." not in str(err)
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is ContextWindowExceededError and copy.input_tokens == 1234567
    # Other 400s keep their class.
    emu.faults.http_error(400, message="tools[0].name: must match [a-zA-Z_]")
    with pytest.raises(InvalidRequestError) as other:
        client.interactions.create(model="gemini-3.5-flash", input="hi")
    assert type(other.value) is InvalidRequestError


def test_compact_while_a_call_awaits_approval(drive: Any, scripted: ScriptedModel) -> None:
    from loop_helpers import delete_file, say

    for n in range(4):
        scripted.add([{"type": "thought"}, call_step("fetch", f"f{n}", page=n)])
    scripted.add([{"type": "thought"}, call_step("delete_file", "d1", path="/tmp/x")])
    scripted.add(say("deleted"))
    conv = drive.conv(tools=[fetch, delete_file], compaction=Compaction(keep_recent=0))
    turn = drive(conv.send("clean up"))
    assert turn.status == "awaiting_approval"
    event = drive(conv.compact())
    assert isinstance(event, Compacted)
    kept = conv.model_view[1:]
    # The call waiting for approval (and its thought) stay in the view.
    assert [s.type for s in kept] == ["thought", "function_call"] and kept[1].id == "d1"
    conv.approve("d1")
    assert drive(conv.resume()).output == "deleted"
    sent = bodies(drive.emu)[-1]
    assert "previous_interaction_id" not in sent  # the chain rolled over onto the view
    assert [s["type"] for s in sent["input"]] == [
        "user_input",
        "thought",
        "function_call",
        "function_result",
    ]
    assert not open_calls(conv.history)


def call_step(name: str, call_id: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "function_call", "id": call_id, "name": name, "arguments": arguments}


def test_a_summarizer_that_raises_is_named_in_a_hook_error() -> None:
    from agentloop.errors import HookError

    def summarize(steps: list[Any]) -> str:
        raise RuntimeError("summarizer service down")

    emu = Emulator(model=loop_model(), context_window=WINDOW)
    policy = Compaction(trigger_tokens=4000, keep_recent=4, summarize=summarize)
    conv = Conversation(emu.client(), tools=[fetch], max_steps=CALLS + 5, compaction=policy)
    with pytest.raises(
        HookError, match=r"summarize callable .*summarize raised RuntimeError"
    ) as info:
        conv.send("read every page")
    assert info.value.turn is not None and info.value.turn.status == "interrupted"
    assert not open_calls(conv.history)  # usable: the next send is accepted

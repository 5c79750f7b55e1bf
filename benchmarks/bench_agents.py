"""Agents: what a sub-agent call costs over a plain tool call, and what a fork saves.

* **Overhead**: one turn in which the model calls one tool and then answers. The plain tool
  makes the same model request a sub-agent would (``client.interactions.create`` with the
  task) and returns its text; the sub-agent tool (``as_tool()``, fresh context) runs a child
  conversation for it. Both turns make three requests to the in-process emulator with the same
  scripted model; the difference per call is the sub-agent machinery (a child conversation,
  its engine, usage roll-up, the limits guard).
* **Request bytes**: a 50-turn conversation, then one sub-agent call that must see the whole
  conversation. A fork (stateful) continues the parent's chain and sends the task and the
  answer to the pending call; a fresh sub-agent must be told the conversation (its task
  carries the transcript); a stateless fork carries the history. The figure is the size of the
  sub-agent's first request body. Target: the fork sends at most 5 % of the fresh one's bytes.
"""

from __future__ import annotations

import json
from typing import Any

from _harness import Row, interleaved, us

TURNS = 50


def _model() -> Any:
    from agentloop.testing import FunctionModel

    def reply(request: Any) -> Any:
        last = request.history[-1] if request.history else None
        if request.system_instruction == "lead":
            if getattr(last, "type", None) == "function_result":
                return [{"type": "model_output", "content": [{"type": "text", "text": "done"}]}]
            text = request.last_user_text
            if text.startswith("delegate"):
                tool = request.function_tools[0].name
                n = len(request.history)
                return [{"type": "function_call", "id": f"c{n}", "name": tool,
                         "arguments": {"task": text}}]  # fmt: skip
            # a chatty answer: the conversation grows like a real one (~600 bytes a turn)
            return [{"type": "model_output", "content": [{"type": "text", "text": text * 6}]}]
        return [{"type": "model_output", "content": [{"type": "text", "text": "sub result"}]}]

    return FunctionModel(reply)


def _overhead(quick: bool) -> Row:
    from agentloop import Agent, Conversation, tool
    from agentloop.testing import Emulator

    emu = Emulator(_model())
    emu.requests.maxlen = 8  # keep the request log small over many runs
    client = emu.client()

    @tool
    def helper(task: str) -> str:
        """Ask the helper.

        Args:
            task: The task.
        """
        done = client.interactions.create(
            model="gemini-3.5-flash", input=task, system_instruction="helper"
        )
        return done.output_text

    sub = Agent("helper", instructions="helper").as_tool()
    plain_conv = Conversation(client, tools=[helper], system_instruction="lead")
    sub_conv = Conversation(client, tools=[sub], system_instruction="lead")

    def plain() -> None:
        plain_conv._state.__init__()  # type: ignore[misc]  # same size every round
        plain_conv.send("delegate this")

    def subagent() -> None:
        sub_conv._state.__init__()  # type: ignore[misc]
        sub_conv.send("delegate this")

    n, repeats = (20, 3) if quick else (100, 7)
    times = interleaved({"plain": plain, "sub": subagent}, n=n, repeats=repeats)
    extra = times["sub"] - times["plain"]
    return Row(
        "sub-agent tool call over a plain tool call (same 3 requests, in-process emulator)",
        f"+{us(extra)} ({us(times['sub'])} vs {us(times['plain'])} a turn)",
        ratio=f"{times['sub'] / times['plain']:.2f}x",
        target="<= +1 ms",
        ok=extra <= 1e-3,
        values={"plain_s": times["plain"], "subagent_s": times["sub"], "extra_s": extra},
    )


def _first_sub_request(context: str, strategy: str, transcript: bool) -> int:
    from agentloop import Agent
    from agentloop.testing import Emulator

    emu = Emulator(_model())
    sub = Agent("helper", instructions="helper").as_tool(context=context)  # type: ignore[arg-type]
    lead = Agent("lead", instructions="lead", tools=[sub])
    conv = lead.conversation(emu.client(), strategy=strategy)  # type: ignore[arg-type]
    for i in range(TURNS):
        conv.send(f"turn {i}: tell me something about topic number {i} in a few lines. ")
    task = "delegate: summarize the conversation"
    if transcript:  # a fresh sub-agent only knows what the task tells it
        lines = [json.dumps(step.model_dump(mode="json")) for step in conv.history]
        task += "\n" + "\n".join(lines)
    start = len(emu.requests)
    conv.send(task)
    bodies = [
        r for r in emu.requests[start:] if (r.json or {}).get("system_instruction") == "helper"
    ]
    return len(bodies[0].body)


def _fork_bytes() -> Row:
    fork = _first_sub_request("fork", "stateful", transcript=False)
    fresh = _first_sub_request("fresh", "stateful", transcript=True)
    stateless = _first_sub_request("fork", "stateless", transcript=False)
    share = fork / fresh
    return Row(
        f"fork vs fresh sub-agent, first request bytes after {TURNS} turns",
        f"{fork} B fork vs {fresh} B fresh ({stateless} B stateless fork)",
        ratio=f"{share:.1%}",
        target="<= 5%",
        ok=share <= 0.05,
        values={"fork_bytes": fork, "fresh_bytes": fresh, "stateless_fork_bytes": stateless},
    )


def run(quick: bool) -> list[Row]:
    return [_overhead(quick), _fork_bytes()]

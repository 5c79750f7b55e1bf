"""Time travel: the first request of a fork vs re-sending the prefix, at 10/100/1000 turns.

A stateful fork chains onto the interaction that ended its fork point
(``previous_interaction_id``) and sends only its new input: its first request must not grow
with the prefix. The peer figure is what a framework without the server's chain sends: the
whole prefix (here: the same fork, stateless). Each conversation is built as the engine builds
it (the same state changes and journal records, one tool round trip per turn), without a model,
so the 1000-turn case takes milliseconds to set up. Timed: ``conv.fork(at)`` plus building and
encoding the fork's first request body (the engine's own ``_request_body``), interleaved.
"""

from __future__ import annotations

from typing import Any

from _harness import Row, interleaved, us
from bench_data import history_dicts


def conversation(turns: int) -> Any:
    """A stateful ``Conversation`` of ``turns`` turns, each: user input, a function call, its
    result, the answer (two interactions), as the engine records them."""
    from agentloop import Conversation
    from agentloop.loop.records import ResponseReceived, TurnEnded, TurnStarted
    from agentloop.loop.state import ConversationState
    from agentloop.testing import Emulator
    from agentloop.types import step_adapter

    state = ConversationState()
    steps = [step_adapter.validate_python(item) for item in history_dicts(4 * turns)]
    for n in range(turns):
        user, call, result, answer = steps[4 * n : 4 * n + 4]
        state.commit(TurnStarted("stateful", 1.0e9 + n))
        state.append(user, None)
        for interaction, new in ((f"int_{n}a", call), (f"int_{n}b", answer)):
            if new is answer:
                state.append(result, None)
            state.commit(ResponseReceived(interaction, "completed"))
            state.append(new, None)
            state.set_chain(interaction, len(state.history))
        state.commit(TurnEnded("completed"))
    conv = Conversation(Emulator().client(), model="gemini-3.5-flash")
    conv._state = state
    return conv


def first_request(conv: Any, at: int, strategy: str) -> bytes:
    """Fork ``conv`` at turn ``at`` and build the fork's first request (encoded body)."""
    from agentloop.client._core import encode_json
    from agentloop.types import input_to_steps

    fork = conv.fork(at)
    fork.strategy = strategy
    engine = fork.engine()
    # What the turn does before its first request: add the input, build the body.
    fork._state.extend(input_to_steps("And what if we tried something else?"), None)
    return encode_json(engine._request_body(None, False))


def rows(quick: bool) -> list[Row]:
    out: list[Row] = []
    n = 50 if quick else 400
    sizes: dict[int, int] = {}
    for turns in (10, 100, 1000):
        conv = conversation(turns)
        at = turns - 1
        fork_body = first_request(conv, at, "stateful")
        prefix_body = first_request(conv, at, "stateless")
        sizes[turns] = len(fork_body)
        times = interleaved(
            {
                "fork": lambda c=conv, a=at: first_request(c, a, "stateful"),
                "prefix": lambda c=conv, a=at: first_request(c, a, "stateless"),
            },
            n=max(5, n // (1 + turns // 100)),
            repeats=5 if quick else 9,
        )
        constant = abs(len(fork_body) - sizes[10]) <= 8  # ids differ by a few digits
        out.append(
            Row(
                f"fork first request, {turns} turns",
                f"{len(fork_body):,} B, {us(times['fork'])}",
                f"re-send prefix: {len(prefix_body):,} B, {us(times['prefix'])}",
                f"{len(prefix_body) / len(fork_body):.0f}x fewer bytes",
                "bytes constant in the prefix",
                constant,
                note="fork() + build + encode the first body; stateful chain vs stateless",
                values={
                    "turns": turns,
                    "fork_bytes": len(fork_body),
                    "prefix_bytes": len(prefix_body),
                    "fork_s": times["fork"],
                    "prefix_s": times["prefix"],
                },
            )
        )
    return out


if __name__ == "__main__":
    from _harness import render

    print(render(rows(quick=True)))

"""Compaction: the per-request decision and a compaction of a long history (no summary call).

The decision runs before every model request of a turn (``TurnEngine._before_request``): it
compares the view's running token estimate with ``trigger_tokens``, and checks usage limits. It
must not rescan history: the target is ≤ 5 µs at 1000 steps. The per-step bookkeeping that
keeps the estimate current (``ModelView.added``) is timed too. Compaction itself (choose the
cut, fold, recount the kept view) runs rarely and is linear in the history.
"""

from __future__ import annotations

from typing import Any

from _harness import Row, per_call, us
from bench_data import history_dicts


def _state(n_steps: int) -> Any:
    from agentloop.loop.engine import ConversationState
    from agentloop.loop.turn import Turn
    from agentloop.types import step_adapter

    state = ConversationState()
    turn = Turn()
    for item in history_dicts(n_steps):
        state.append(step_adapter.validate_python(item), turn)
    return state


def _engine(state: Any, trigger: int) -> Any:
    from agentloop import Compaction, UsageLimits
    from agentloop.loop.engine import TurnEngine
    from agentloop.loop.limits import LimitGuard

    return TurnEngine(
        state,
        static_body={"model": "gemini-3.5-flash"},
        max_steps=10,
        needs_approval=lambda name: False,
        compaction=Compaction(trigger_tokens=trigger, keep_recent=20),
        limits=LimitGuard(UsageLimits(max_total_tokens=10**12), None, "gemini-3.5-flash"),
    )


def rows(quick: bool) -> list[Row]:
    from agentloop import Compaction
    from agentloop.loop.compaction import compact_view
    from agentloop.loop.turn import Turn
    from agentloop.types import FunctionResultStep

    out: list[Row] = []
    n = 20000 if quick else 200000
    for n_steps in (10, 1000):
        state = _state(n_steps)
        engine = _engine(state, trigger=10**9)  # never reached: the decision only
        turn = Turn()

        def decide(engine: Any = engine, turn: Turn = turn) -> None:
            for _ in engine._before_request(turn):
                pass

        t = min(per_call(decide, n) for _ in range(3 if quick else 7))
        out.append(
            Row(
                f"compaction + limits decision per request, {n_steps} steps",
                us(t),
                target="≤ 5 µs",
                ok=t <= 5e-6,
                values={"seconds": t},
            )
        )

    state = _state(1000)
    step = FunctionResultStep(call_id="c", name="search", result="x" * 200)
    wire = b'{"type":"function_result","call_id":"c","result":"' + b"x" * 200 + b'"}'
    t = min(per_call(lambda: state.view.added(1000, step, wire), n) for _ in range(3))
    out.append(Row("running token estimate per appended step", us(t), values={"seconds": t}))

    policy = Compaction(keep_recent=20)
    times: dict[int, float] = {}
    for n_steps in (1000, 4000):
        samples = []
        for _ in range(3 if quick else 7):
            state = _state(n_steps)

            def fold(state: Any = state) -> None:
                for _ in compact_view(state, policy, "gemini-3.5-flash"):
                    pass

            samples.append(per_call(fold, 1))
        times[n_steps] = min(samples)
        out.append(
            Row(
                f"compaction of a {n_steps}-step history, no summary call",
                us(times[n_steps]),
                values={"seconds": times[n_steps]},
            )
        )
    growth = times[4000] / times[1000]
    out.append(
        Row(
            "compaction growth, 1000 -> 4000 steps",
            f"{growth:.1f}x",
            target="linear (~4x)",
            ok=growth <= 6.0,
            values={"growth": growth},
        )
    )
    return out

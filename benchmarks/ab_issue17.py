"""Issue 17 A/B: the removed body-encoding code next to its replacement, in one process.

``python3 benchmarks/ab_issue17.py [--quick] [--rev REV]``

The old code is read from git at ``REV`` (default ``a4ca2b7``, the last commit with it): the
RawJSON splice of ``agentloop/client/_core.py`` (``_Splice`` ... ``_piece``) and the
static-body cache ``_ConversationCore._encoded`` of ``agentloop/loop/conversation.py``. The
script first checks that the old and the new ``encode_json`` give the same bytes on a set
of bodies, then times, interleaved (A B C D, then D C B A, ...), with the garbage collector
paused during each timed batch:

* ``encode_json`` alone: a plain 1 KB create body, and conversation bodies with 10, 100 and
  1000 RawJSON history steps plus 10 tool declarations (pre-encoded, as the static-body
  cache sends them, and as plain dicts, as without it);
* ``Conversation.send`` on the in-process emulator and a tool step (10 calls per turn,
  in-process transport), each with {old, new} encoder x {with, without} the static-body
  cache;
* ``client.interactions.create`` and ``Conversation.send`` over loopback (the benchmark
  server of ``bench_turn.py``), the same four variants, next to raw httpx.

Each line shows the median over the rounds, the range (min-max) and, for each variant, the
median of its per-round difference to the first variant of the line (the old code).
"""

from __future__ import annotations

import argparse
import ast
import gc
import json
import operator
import os
import re
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Mapping
from itertools import repeat
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(1, ROOT)

import _payloads as P  # noqa: E402

OLD_REV = "a4ca2b7"

# --- the old code, from git ------------------------------------------------------------------


def _git_show(rev: str, path: str) -> str:
    return subprocess.run(
        ["git", "-C", ROOT, "show", f"{rev}:{path}"], capture_output=True, text=True, check=True
    ).stdout


def old_encoder(rev: str) -> Callable[[Any], bytes]:
    """The old ``encode_json`` (everything from ``class _Splice`` up to ``_check_create``)."""
    from pydantic import BaseModel

    from agentloop.types import RawJSON, WireModel

    src = _git_show(rev, "agentloop/client/_core.py")
    tree = ast.parse(src)
    names = [getattr(node, "name", None) for node in tree.body]
    first, last = names.index("_Splice"), names.index("_check_create")
    code = "\n\n".join(ast.get_source_segment(src, n) or "" for n in tree.body[first:last])
    namespace: dict[str, Any] = {
        "json": json,
        "operator": operator,
        "repeat": repeat,
        "Mapping": Mapping,
        "Any": Any,
        "RawJSON": RawJSON,
        "WireModel": WireModel,
        "BaseModel": BaseModel,
    }
    exec(compile(code, f"{rev}:agentloop/client/_core.py", "exec"), namespace)
    return namespace["encode_json"]  # type: ignore[no-any-return]


def old_encoded(rev: str) -> Callable[[Any, dict[str, Any]], dict[str, Any]]:
    """The old static-body cache, ``_ConversationCore._encoded``."""
    from agentloop.types import RawJSON

    src = _git_show(rev, "agentloop/loop/conversation.py")
    tree = ast.parse(src)
    core = next(n for n in tree.body if getattr(n, "name", None) == "_ConversationCore")
    method = next(n for n in core.body if getattr(n, "name", None) == "_encoded")  # type: ignore[attr-defined]
    code = textwrap.dedent(ast.get_source_segment(src, method, padded=True) or "")
    namespace: dict[str, Any] = {"json": json, "RawJSON": RawJSON, "Any": Any}
    exec(compile(code, f"{rev}:agentloop/loop/conversation.py", "exec"), namespace)
    return namespace["_encoded"]  # type: ignore[no-any-return]


# --- switching variants --------------------------------------------------------------------


class Switch:
    """Puts one of the four (encoder, static-body cache) combinations in place."""

    def __init__(self, rev: str) -> None:
        from agentloop.client import _core
        from agentloop.loop.conversation import _ConversationCore

        self.core, self.conv = _core, _ConversationCore
        self.encoders = {"old": old_encoder(rev), "new": _core.encode_json}
        self.cached = old_encoded(rev)
        self.has_cache = "_encoded" in vars(_ConversationCore)  # this checkout still has one
        self.static_body = _ConversationCore._static_body
        _ConversationCore._static_cache = None  # type: ignore[attr-defined]
        cached, static_body = self.cached, self.static_body

        def with_cache(conv: Any, model: Any, fmt: Any) -> dict[str, Any]:
            return cached(conv, static_body(conv, model, fmt))

        self.with_cache = with_cache

    def use(self, encoder: str, cache: bool) -> None:
        self.core.encode_json = self.encoders[encoder]
        if self.has_cache:
            self.conv._encoded = self.cached if cache else (lambda conv, body: body)
        else:
            self.conv._static_body = self.with_cache if cache else self.static_body

    def variants(self, make: Callable[[], Callable[[int], Any]]) -> dict[str, Callable[[int], Any]]:
        out: dict[str, Callable[[int], Any]] = {}
        for encoder in ("old", "new"):
            for cache in (True, False):
                self.use(encoder, cache)
                run = make()

                def batch(
                    n: int, run: Any = run, encoder: str = encoder, cache: bool = cache
                ) -> Any:
                    self.use(encoder, cache)
                    return run(n)

                out[f"{encoder} encoder, {'with' if cache else 'no'} cache"] = batch
        return out


# --- timing ----------------------------------------------------------------------------------


def rounds(
    variants: dict[str, Callable[[int], Any]], n: int, repeats: int, warmup: int = 2
) -> dict[str, list[float]]:
    """Seconds per call, one sample per round per variant; order alternates every round."""
    for batch in variants.values():
        batch(warmup)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(repeats):
        names = list(variants) if round_ % 2 == 0 else list(reversed(variants))
        for name in names:
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter()
                variants[name](n)
                samples[name].append((time.perf_counter() - start) / n)
            finally:
                gc.enable()
    return samples


def report(title: str, samples: dict[str, list[float]]) -> dict[str, Any]:
    names = list(samples)
    base = samples[names[0]]
    print(f"\n{title}")
    out: dict[str, Any] = {}
    for name in names:
        values = samples[name]
        median = statistics.median(values)
        diffs = [v - b for v, b in zip(values, base, strict=True)]
        delta = statistics.median(diffs)
        rel = delta / statistics.median(base) * 100
        extra = "" if name == names[0] else f"   vs first: {delta * 1e6:+7.2f} µs ({rel:+.1f}%)"
        print(
            f"  {name:34} {median * 1e6:9.2f} µs  [{min(values) * 1e6:.2f}-"
            f"{max(values) * 1e6:.2f}]{extra}"
        )
        out[name] = {
            "median_us": median * 1e6,
            "min_us": min(values) * 1e6,
            "max_us": max(values) * 1e6,
            "delta_us": delta * 1e6,
            "delta_pct": rel,
        }
    return out


def calls(fn: Callable[[], Any]) -> Callable[[int], None]:
    def batch(n: int) -> None:
        for _ in range(n):
            fn()

    return batch


# --- bodies ----------------------------------------------------------------------------------


def declarations() -> list[dict[str, Any]]:
    import bench_tools

    from agentloop import ToolRegistry

    return ToolRegistry(bench_tools._tools()).declarations()


def conversation_body(
    steps: int, tools_encoded: bool, encode: Callable[[Any], bytes]
) -> dict[str, Any]:
    from bench_data import history_dicts

    from agentloop.loop.history import History
    from agentloop.types import RawJSON

    tools: Any = declarations()
    config: Any = {"temperature": 0.2, "max_output_tokens": 512}
    if tools_encoded:
        tools, config = RawJSON(encode(tools)), RawJSON(encode(config))
    return {
        "model": P.MODEL,
        "tools": tools,
        "system_instruction": P.SYSTEM,
        "generation_config": config,
        "store": False,
        "input": History.from_wire(history_dicts(steps)).raw(),
    }


def check_same_bytes(old: Callable[[Any], bytes], new: Callable[[Any], bytes]) -> int:
    """Old and new encoders agree on every body here (and fail alike on unencodable ones)."""
    from agentloop.types import RawJSON, TextContent, UserInputStep

    bodies: list[Any] = [
        P.request_fields(),
        {"input": [RawJSON(b'{"a":1}')], "x": {"é": ["ü", "\u2028", "😀", "\x00"]}},
        {"a": [1, {"b": RawJSON(b'{ "z" : true }'), 'q"k': "é"}], "r": (RawJSON(b"[1]"),)},
        {
            "m": TextContent(text="t"),
            "u": UserInputStep(content="hi"),
            "s": {3, 1, 2},
            "f": frozenset({"x"}),
            "n": [None, True, False, 1.5, -0.0, 10**30, float("nan")],
        },
        {"k": {1: "int key", 2.5: "float key"}, "deep": [[[[{"x": [RawJSON(b"null")]}]]]]},
        [RawJSON(b'{"type":"user_input","content":"x"}')] * 3,
        RawJSON(b"[1,2]"),
        "plain",
        7,
        None,
    ]
    for steps in (0, 10, 100, 1000):
        for encoded in (True, False):
            bodies.append(conversation_body(steps, encoded, new))
    for body in bodies:
        assert old(body) == new(body), body
    for bad in ({"x": object()}, {"x": "caf\udce9"}, [object()], {"m": {"x": {1j}}}):
        errors = []
        for encode in (old, new):
            try:
                encode(bad)
            except (TypeError, ValueError) as exc:
                # (a UnicodeEncodeError's position differs: the old code encoded it all at once)
                errors.append((type(exc), re.sub(r"position \d+", "position N", str(exc))))
        assert len(errors) == 2 and errors[0] == errors[1], (bad, errors)
    return len(bodies)


# --- sections --------------------------------------------------------------------------------


def encoding(switch: Switch, quick: bool) -> dict[str, Any]:
    old, new = switch.encoders["old"], switch.encoders["new"]
    results: dict[str, Any] = {}
    repeats = 7 if quick else 21
    cases: list[tuple[str, Any]] = [
        ("create body, plain dicts, 1 KB, no RawJSON", P.request_fields())
    ]
    for steps in (10, 100, 1000):
        for encoded in (True, False):
            shape = "tools pre-encoded (cache)" if encoded else "tools as dicts (no cache)"
            cases.append(
                (
                    f"conversation body, {steps} RawJSON steps, 10 tools, {shape}",
                    conversation_body(steps, encoded, new),
                )
            )
    for title, body in cases:
        size = len(new(body))
        n = max(20, (200 if quick else 1000) * 1000 // max(size, 1000))
        samples = rounds(
            {
                "old encode_json": calls(lambda b=body: old(b)),
                "new encode_json": calls(lambda b=body: new(b)),
            },
            n,
            repeats,
        )
        results[title] = report(f"{title} ({size} bytes)", samples)
    return results


def replay(switch: Switch, quick: bool) -> dict[str, Any]:
    """The stateless-replay row's work: input_fields() + build_create (old/new encoder)."""
    from bench_data import history_dicts

    from agentloop.client._core import ClientConfig, build_create
    from agentloop.loop.engine import ConversationState
    from agentloop.loop.history import History

    config = ClientConfig(P.API_KEY, "http://bench.local", P.VERSION)
    static = {"model": P.MODEL, "system_instruction": P.SYSTEM}
    results = {}
    for steps in (10, 100, 1000):
        state = ConversationState(
            history=History.from_wire(history_dicts(steps)), strategy="stateless"
        )

        def turn(state: ConversationState = state) -> None:
            body = dict(static)
            body.update(state.input_fields())
            build_create(config, body)

        variants = {}
        for encoder in ("old", "new"):

            def batch(n: int, encoder: str = encoder) -> None:
                switch.use(encoder, True)
                for _ in range(n):
                    turn()

            variants[f"{encoder} encoder"] = batch
        n = max(20, (4000 if quick else 20000) // steps)
        results[steps] = report(
            f"stateless turn body (replay row), {steps} steps",
            rounds(variants, n, 7 if quick else 21),
        )
    return results


def emulator_send(switch: Switch, quick: bool) -> dict[str, Any]:
    import bench_tools

    from agentloop import Conversation, ToolRegistry
    from agentloop.testing import Emulator, FunctionModel

    registry = ToolRegistry(bench_tools._tools())

    def make() -> Callable[[int], None]:
        client = Emulator(FunctionModel(lambda request: "Done.")).client()
        state: dict[str, Any] = {"conv": None, "turns": 0}

        def batch(n: int) -> None:
            for _ in range(n):
                if state["turns"] % 20 == 0:
                    state["conv"] = Conversation(
                        client,
                        model=P.MODEL,
                        system_instruction=P.SYSTEM,
                        tools=[registry],
                        generation_config={"temperature": 0.2, "max_output_tokens": 512},
                    )
                state["turns"] += 1
                state["conv"].send(P.USER)

        return batch

    samples = rounds(switch.variants(make), 40 if quick else 100, 7 if quick else 15)
    return report("Conversation.send, in-process emulator, 10 tools (per turn)", samples)


def tool_step(switch: Switch, quick: bool) -> dict[str, Any]:
    import bench_tools

    def make() -> Callable[[int], None]:
        run = bench_tools.agentloop_sync()
        return lambda n: run(n)

    samples = rounds(switch.variants(make), 20 if quick else 60, 7 if quick else 15)
    per_step = {name: [v / bench_tools.CALLS for v in values] for name, values in samples.items()}
    return report("tool step, sync Conversation, 10 calls per turn (per step)", per_step)


def loopback(switch: Switch, quick: bool) -> dict[str, Any]:
    import bench_turn
    import httpx

    from agentloop import Client, Conversation

    results = {}
    with bench_turn.loopback_server() as url:
        fields = P.request_fields()
        client = Client(api_key=P.API_KEY, base_url=url, http_client=httpx.Client(timeout=30))
        raw = httpx.Client(timeout=30)
        body, headers = P.request_body(), bench_turn._headers()
        endpoint = f"{url}/{P.VERSION}/interactions"

        def raw_batch(n: int) -> None:
            for _ in range(n):
                raw.post(endpoint, content=body, headers=headers).content  # noqa: B018

        def make_send() -> Callable[[int], None]:
            def batch(n: int) -> None:
                conv = Conversation(client, **P.conversation_settings())
                for _ in range(n):
                    conv.send(P.USER)

            return batch

        def create(encoder: str) -> Callable[[int], None]:
            def batch(n: int) -> None:
                switch.use(encoder, True)
                for _ in range(n):
                    client.interactions.create(**fields)

            return batch

        n, repeats = (60, 7) if quick else (200, 15)
        results["create"] = report(
            "client.interactions.create, sync loopback, plain 1 KB body (per turn)",
            rounds(
                {
                    "old encoder": create("old"),
                    "new encoder": create("new"),
                    "raw httpx": raw_batch,
                },
                n,
                repeats,
            ),
        )
        results["send"] = report(
            "Conversation.send, sync loopback, 2 tools (per turn)",
            rounds({**switch.variants(make_send), "raw httpx": raw_batch}, n, repeats),
        )
        client.close()
        raw.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--rev", default=OLD_REV, help="git revision holding the old code")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    parser.add_argument(
        "--only", action="append", choices=["encode", "replay", "emulator", "tools", "loopback"]
    )
    args = parser.parse_args(argv)
    switch = Switch(args.rev)
    checked = check_same_bytes(switch.encoders["old"], switch.encoders["new"])
    print(
        f"old ({args.rev}) and new encode_json: same bytes for {checked} bodies, "
        "same errors for 4 unencodable ones"
    )
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.2f}; µs per operation: median [min-max]"
    )
    sections = {
        "encode": encoding,
        "replay": replay,
        "emulator": emulator_send,
        "tools": tool_step,
        "loopback": loopback,
    }
    results = {}
    for name, section in sections.items():
        if args.only and name not in args.only:
            continue
        results[name] = section(switch, args.quick)
    switch.use("new", switch.has_cache)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())

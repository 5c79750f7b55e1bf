"""``agentloop eval DATASET --agent FILE.py:NAME`` and ``agentloop eval export --session ID``.

Runs a dataset (pydantic-evals YAML/JSON, agentloop evaluators registered) against an agent,
prints the report table and the pass rate, optionally writes JSON results and compares them
with a baseline; the exit code is 1 when the pass rate is below ``--fail-under`` (CI gate).
``export`` writes a case (input, final output, tool trajectory) from a journaled session.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ._common import UsageError, plural

__all__ = ["add_parser", "run_eval"]


def _rate(text: str) -> float:
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a pass rate (0 to 1, or 0% to 100%)")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value


def add_parser(sub: Any) -> None:
    """The ``eval`` subcommand's parser."""
    p = sub.add_parser(
        "eval",
        help="measure an agent on a dataset (needs agentloop[evals]); export cases from sessions",
        description="Run every case of DATASET (a pydantic-evals YAML/JSON file; agentloop's "
        "evaluators ToolCalled, ToolTrajectory, NoToolErrors, MaxRequests, MaxTokens, "
        "OutputMatches and Judge are known by name) against --agent, each case in a fresh "
        "conversation. Exit code 1 when the pass rate is below --fail-under. "
        "'agentloop eval export --session ID' prints a case made from a journaled session.",
        epilog="examples:\n"
        "  agentloop eval weather.yaml --agent agent.py:weather_agent\n"
        "  agentloop eval weather.yaml --agent agent.py:weather_agent --repeat 5 "
        "--fail-under 0.8\n"
        "  agentloop eval weather.yaml --agent agent.py:weather_agent --json new.json "
        "--baseline old.json\n"
        "  agentloop eval weather.yaml --agent agent.py:weather_agent --cassettes cassettes/\n"
        "  agentloop eval export --session s1 -o weather.yaml   # add a case from a session",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "dataset",
        metavar="DATASET",
        help="the dataset file (.yaml, .yml or .json), or 'export'",
    )
    p.add_argument(
        "--agent",
        metavar="FILE.py:NAME",
        default=None,
        help="what to evaluate: an agentloop.Agent, a function returning a Conversation, or a "
        "function of a case's inputs (FILE.py:NAME or module:NAME)",
    )
    p.add_argument("--json", metavar="OUT", default=None, help="write the results as JSON to OUT")
    p.add_argument(
        "--repeat", type=_count, default=1, metavar="N", help="run each case N times (default 1)"
    )
    p.add_argument(
        "--concurrency",
        type=_count,
        default=None,
        metavar="N",
        help="run at most N cases at once (default: all)",
    )
    p.add_argument(
        "--baseline",
        metavar="OLD.json",
        default=None,
        help="results of an earlier run (--json): print what got better or worse",
    )
    p.add_argument(
        "--fail-under",
        type=_rate,
        default=1.0,
        metavar="RATE",
        help="exit code 1 when the pass rate is below RATE (0 to 1 or a percentage; default 1.0)",
    )
    p.add_argument(
        "--cassettes",
        metavar="DIR",
        default=None,
        help="record each case once into DIR (live, needs GEMINI_API_KEY) and replay it "
        "afterwards with no key and no model calls; cases then run one at a time",
    )
    export = p.add_argument_group("export (agentloop eval export --session ID)")
    export.add_argument("--session", metavar="ID", default=None, help="the session to export")
    export.add_argument(
        "--store",
        metavar="PATH_OR_URL",
        default=None,
        help="where the session is journaled (default: the sessions store of chat/run/serve)",
    )
    export.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        default=None,
        help="add the case to this dataset file (created if missing) instead of printing it",
    )
    export.add_argument(
        "--order",
        choices=["exact", "in_order", "any_order"],
        default="in_order",
        help="the exported ToolTrajectory's order (default in_order)",
    )
    from . import _backend_flags, _verbose_flag

    _backend_flags(p)
    _verbose_flag(p)


def _evals() -> Any:
    try:
        import agentloop.evals as evals
    except ImportError as exc:
        raise UsageError(
            f"agentloop eval needs pydantic-evals ({exc.name} is missing): "
            "pip install 'agentloop[evals]'"
        ) from None
    return evals


def _export(args: argparse.Namespace) -> int:
    if not args.session:
        raise UsageError("eval export needs --session ID (see agentloop sessions)")
    import yaml

    from agentloop.stores.sessions import open_sessions

    evals = _evals()
    sessions = open_sessions(args.store)
    try:
        if args.session not in sessions:
            known = ", ".join(i.id for i in sessions.list()[:10]) or "none"
            raise UsageError(f"no session {args.session!r} in {sessions.where} (known: {known})")
        conv = sessions.inspect(args.session)  # read only: no tools run, nothing is sent
        case = evals.export_case(conv.history, name=args.session, order=args.order)
    finally:
        sessions.close()
    if args.output is None:
        print(yaml.safe_dump({"cases": [case]}, sort_keys=False, allow_unicode=True), end="")
        return 0
    from agentloop.errors import EvalError
    from agentloop.evals._export import add_case

    try:
        what = add_case(args.output, case)
    except EvalError as exc:
        raise UsageError(f"-o {args.output!r}: {exc}") from None
    print(f"{what} case {case['name']!r} in {args.output}", file=sys.stderr)
    return 0


def _client(args: argparse.Namespace, cassettes: Path | None, dataset: Any) -> Any:
    from ._common import open_backend

    if cassettes is None:
        backend = open_backend(args.backend, asynchronous=True)
        backend.announce()
        return backend.client
    # Recordings are made and matched at the HTTP layer, so they need the real HTTP client
    # (never the in-process emulator); replaying needs no key.
    from agentloop.client import AsyncClient
    from agentloop.evals import cassette_files

    key = os.environ.get("GEMINI_API_KEY", "").strip()
    files = cassette_files(dataset, cassettes)
    missing = [
        c.name or f"Case {i}" for i, c in enumerate(dataset.cases, 1) if not files[id(c)].exists()
    ]
    if missing and not key:
        raise UsageError(
            f"case {missing[0]!r} has no recording in {cassettes} and GEMINI_API_KEY is not set: "
            "set the key once to record it"
        )
    state = f"recording {plural(len(missing), 'case')}" if missing else "replaying recordings"
    print(f"Cassettes in {cassettes}: {state}.", file=sys.stderr, flush=True)
    return AsyncClient(api_key=key or "replayed-no-key")


def _print(result: Any, fail_under: float) -> None:
    result.report.print(include_reasons=False, include_errors=False)  # said below, shorter
    for case in result.cases:
        if case.passed:
            continue
        why = [f"{k}: {v}" for k, v in case.reasons.items()] + case.errors
        rate = f" ({case.pass_rate:.0%} of {case.runs} runs passed)" if case.runs > 1 else ""
        print(f"FAILED {case.name}{rate}: {'; '.join(why) or 'an assertion failed'}")
    runs = sum(c.runs for c in result.cases)
    passed = round(result.pass_rate * runs)
    print(f"pass rate: {result.pass_rate:.1%} ({passed}/{runs} runs; fail under {fail_under:.0%})")


def run_eval(args: argparse.Namespace) -> int:
    """Run ``agentloop eval``; 0 when the pass rate reaches ``--fail-under``, else 1."""
    if args.dataset == "export":
        return _export(args)
    if args.session or args.output:
        raise UsageError("--session and -o belong to 'agentloop eval export'")
    if not args.agent:
        raise UsageError("eval needs --agent FILE.py:NAME (the agent, factory or task to run)")
    if args.json:  # checked before the run: its results must not be lost at the end
        where = Path(args.json).resolve()
        if where.is_dir() or not where.parent.is_dir() or not os.access(where.parent, os.W_OK):
            raise UsageError(
                f"--json {args.json!r}: cannot write there (a folder, or a folder that does "
                "not exist or is not writable); give a file path in a writable folder"
            )
    evals = _evals()
    from agentloop.errors import EvalError

    from ._agentref import load_agent_ref

    try:
        dataset = evals.load_dataset(args.dataset)
        baseline = evals.read_results(args.baseline) if args.baseline else None
    except EvalError as exc:
        raise UsageError(str(exc)) from None
    target = load_agent_ref(args.agent)
    cassettes = Path(args.cassettes) if args.cassettes else None
    client = _client(args, cassettes, dataset)

    async def evaluate() -> Any:
        try:
            return await evals.aevaluate(
                dataset,
                target,
                client=client,
                max_concurrency=args.concurrency,
                repeat=args.repeat,
                cassettes=cassettes,
            )
        finally:  # the command's own client, closed in the loop its connections belong to
            await client.close()

    import anyio

    result = anyio.run(evaluate)
    _print(result, args.fail_under)
    if baseline is not None:
        for line in result.compare(baseline).lines():
            print(line)
    if args.json:
        try:
            result.write_json(args.json)
        except OSError as exc:
            raise UsageError(
                f"--json {args.json!r}: cannot write it: {exc.strerror or exc}"
            ) from None
        print(f"wrote {args.json}", file=sys.stderr)
    return 0 if result.pass_rate >= args.fail_under - 1e-9 else 1

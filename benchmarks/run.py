"""agentloop benchmarks: ``python benchmarks/run.py [--quick] [--json FILE] [--only SECTION]
[--compare BASELINE.json]``.

Prints one markdown table (figure, agentloop, peer, ratio, target, result). Installs nothing:
peers come from the ``bench`` extra (``pip install -e '.[bench]'``) and are skipped with a note
when absent. Exits 0 even when a target is missed (the table says FAIL): benchmarks are
measurements, not tests. See docs/performance.md for the method.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.dirname(HERE))  # the repo root, when agentloop is not installed

import _compare  # noqa: E402
from _harness import Row, render  # noqa: E402

SECTIONS = (
    "turn",
    "tools",
    "replay",
    "stream",
    "schema",
    "import",
    "concurrency",
    "compaction",
    "observe",
    "stores",
    "mcp",
    "durable",
    "evals",
    "adk",
    "a2a",
    "agents",
    "timetravel",
)


def _sections(quick: bool) -> dict[str, Callable[[], list[Row]]]:
    import bench_a2a
    import bench_adk
    import bench_agents
    import bench_compaction
    import bench_data
    import bench_evals
    import bench_mcp
    import bench_observe
    import bench_stores
    import bench_system
    import bench_timetravel
    import bench_tools
    import bench_turn

    return {
        "turn": lambda: bench_turn.run(quick),
        "tools": lambda: bench_tools.run(quick),
        "replay": lambda: bench_data.replay_rows(quick),
        "stream": lambda: bench_data.stream_rows(quick),
        "schema": lambda: bench_data.schema_rows(quick),
        "import": lambda: bench_system.import_rows(quick),
        "concurrency": lambda: [
            *bench_system.tool_concurrency_rows(),
            bench_system.many_conversations_row(quick),
            *bench_system.throughput_rows(quick),
        ],
        "compaction": lambda: bench_compaction.rows(quick),
        "observe": lambda: bench_observe.run(quick),
        "stores": lambda: bench_stores.store_rows(quick),
        "mcp": lambda: bench_mcp.run(quick),
        "durable": lambda: _durable(quick),
        "evals": lambda: bench_evals.run(quick),
        "adk": lambda: bench_adk.run(quick),
        "a2a": lambda: bench_a2a.run(quick),
        "agents": lambda: bench_agents.run(quick),
        "timetravel": lambda: bench_timetravel.rows(quick),
    }


def _durable(quick: bool) -> list[Row]:
    try:
        import dbos  # noqa: F401
    except ImportError:
        return [Row("durable tasks", "", note="skipped: dbos not installed (agentloop[durable])")]
    import bench_durable

    return bench_durable.run(quick)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions (a smoke run: well under 2 minutes)"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the rows to FILE as JSON")
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        metavar="SECTION",
        help=f"run only these sections (repeatable): {', '.join(SECTIONS)}",
    )
    parser.add_argument(
        "--compare",
        metavar="BASELINE",
        help="print each figure beside BASELINE.json (a --json output) and flag gated figures "
        "more than 20%% worse (re-measured once first); informative: the exit code stays 0",
    )
    args = parser.parse_args(argv)

    try:
        import agentloop.client
        import agentloop.tools  # noqa: F401
    except ImportError as exc:
        print(
            f"agentloop or its dependencies cannot be imported ({exc}); install them first: "
            "pip install -e '.[dev]' (and '.[bench]' for the peer frameworks)",
            file=sys.stderr,
        )
        return 2
    baseline = _compare.load(args.compare) if args.compare else None
    started = time.perf_counter()
    speed_before = _compare.machine_time()
    rows: list[Row] = []
    sections = _sections(args.quick)
    section_of: dict[str, str] = {}
    for name in sections:
        if args.only and name not in args.only:
            continue
        section_rows = _run_section(name, sections[name])
        section_of.update((row.figure, name) for row in section_rows)
        rows.extend(section_rows)

    machine_time = (speed_before + _compare.machine_time()) / 2  # the speed reference
    title = (
        f"agentloop benchmarks ({'quick' if args.quick else 'full'} run, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{time.perf_counter() - started:.0f} s)"
    )
    print(f"\n{title}\n")
    print(render(rows))
    failed = [r.figure for r in rows if r.ok is False]
    print(f"\n{len(rows)} figures, {len(failed)} below target.")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "title": title,
                    "quick": args.quick,
                    "machine_time_s": machine_time,
                    "rows": [r.as_dict() for r in rows],
                },
                fh,
                indent=2,
                ensure_ascii=False,
            )
    if baseline is not None:
        base_time = _compare.load_machine_time(args.compare)
        slower = machine_time / base_time if base_time else 1.0
        comparisons = _compare.compare(
            rows,
            baseline,
            rerun=lambda name: _run_section(name, sections[name]),
            section_of=section_of,
            slower=slower,
        )
        print()
        print(_compare.render(comparisons, args.compare, slower=slower))
    broken = [r.figure for r in rows if r.figure.startswith("section ")]
    if broken:  # a section that raised measured nothing: that is a failure, not a figure
        print(f"\n{len(broken)} section(s) raised: {', '.join(broken)}", file=sys.stderr)
        return 1
    return 0


def _run_section(name: str, section: Callable[[], list[Row]]) -> list[Row]:
    t0 = time.perf_counter()
    try:
        rows = section()
    except Exception as exc:  # a broken section is reported, the others still run
        traceback.print_exc()
        rows = [Row(f"section {name}", "", ok=False, note=f"error: {exc!r}")]
    print(f"[{name}: {time.perf_counter() - t0:.1f} s]", file=sys.stderr, flush=True)
    return rows


if __name__ == "__main__":
    sys.exit(main())

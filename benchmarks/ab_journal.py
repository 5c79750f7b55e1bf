"""Issue 27 A/B: ``SQLiteStore`` of this checkout against another's, in one process.

``PYTHONPATH=. python3 benchmarks/ab_journal.py OTHER_CHECKOUT [--turns N] [--rounds R]``

``bench_stores``' journaled tool turn (10 tool calls, then text: four store writes) runs with
both store classes, in rounds alternating A B B A ..., each store in a file of its own. The
engine, the records and the store's ``base.py`` are this checkout's; only
``agentloop/stores/sqlite.py`` comes from OTHER_CHECKOUT. Per tool step (medians over the
rounds): the main thread's CPU inside ``append`` (``time.thread_time``), the process's CPU
(every thread, a checkpoint thread too) and wall time; and the main thread's CPU of each of
the turn's four appends.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_stores as BS
import bench_tools as BT

from agentloop.stores import SQLiteStore


def other_store_class(checkout: Path) -> Any:
    """``SQLiteStore`` of ``checkout``'s ``agentloop/stores/sqlite.py`` (its relative imports
    resolve to this checkout's ``agentloop.stores``)."""
    name = "agentloop.stores._ab_other_sqlite"
    spec = importlib.util.spec_from_file_location(name, checkout / "agentloop/stores/sqlite.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.SQLiteStore


class Timed:
    """A store whose appends' main-thread CPU is added up, by position in the turn."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.spent = 0.0
        self.by_write: list[list[float]] = [[], [], [], []]
        self._n = 0
        append = store.append

        def timed(*args: Any, **kwargs: Any) -> int:
            started = time.thread_time()
            try:
                version: int = append(*args, **kwargs)
                return version
            finally:
                spent = time.thread_time() - started
                self.spent += spent
                self.by_write[self._n % 4].append(spent)
                self._n += 1

        store.append = timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", type=Path, help="the other checkout (e.g. main's)")
    parser.add_argument("--turns", type=int, default=40, help="turns per round")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="agentloop-ab-journal-"))
    stores = {
        "this": Timed(SQLiteStore(folder / "this.db")),
        "other": Timed(other_store_class(args.other)(folder / "other.db")),
    }
    turns: dict[str, Callable[[int], None]] = {
        name: BS._tool_turns(timed.store) for name, timed in stores.items()
    }
    for run in turns.values():
        run(5)
    for timed in stores.values():
        timed.by_write = [[], [], [], []]
    samples: dict[str, dict[str, list[float]]] = {
        name: {"append": [], "cpu": [], "wall": []} for name in turns
    }
    steps = args.turns * BT.CALLS
    for round_ in range(args.rounds):
        for name in list(turns) if round_ % 2 == 0 else list(reversed(turns)):
            timed = stores[name]
            timed.spent = 0.0
            gc.disable()
            cpu, wall = time.process_time(), time.perf_counter()
            turns[name](args.turns)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            gc.enable()
            samples[name]["append"].append(timed.spent / steps)
            samples[name]["cpu"].append(cpu / steps)
            samples[name]["wall"].append(wall / steps)
    for name, got in samples.items():
        med = {k: statistics.median(v) * 1e6 for k, v in got.items()}
        writes = [statistics.median(w) * 1e6 for w in stores[name].by_write]
        print(
            f"{name:5s} per tool step: in append {med['append']:5.1f} µs (main thread CPU), "
            f"process CPU {med['cpu']:5.1f} µs, wall {med['wall']:5.1f} µs; the turn's four "
            f"appends {' / '.join(f'{w:.1f}' for w in writes)} µs"
        )
    for timed in stores.values():
        timed.store.close()


if __name__ == "__main__":
    main()

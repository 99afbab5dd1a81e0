"""`make bench`: run every benchmark, write bench/results.json, print the table.

Performance is measured here, never in timed tests: the machines are noisy, so each figure is
a median or percentile of many samples taken in one run.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_capacity
import bench_checkin
import bench_login
import bench_orders
import bench_sync
from results import Metric, merge, show, write
from rich.console import Console

ROOT = Path(__file__).resolve().parents[2]
MODULES = (bench_checkin, bench_sync, bench_capacity, bench_login, bench_orders)


def main(names: list[str]) -> int:
    """Run the benchmarks (or only the named modules, whose figures replace theirs in the
    results file); exit 0 even when a target is missed (the table says so)."""
    console = Console()
    metrics: list[Metric] = []
    for module in MODULES:
        if names and module.__name__ not in names:
            continue
        console.print(f"[bold]{module.__name__}[/bold]")
        with tempfile.TemporaryDirectory(prefix="yadori-bench-") as tmp:
            metrics += module.run(Path(tmp))
    if names:
        metrics = merge(ROOT / "bench" / "results.json", metrics)
    write(metrics, ROOT / "bench" / "results.json")
    show(metrics, console)
    console.print(f"written to {ROOT / 'bench' / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

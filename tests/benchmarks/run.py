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
import bench_orders
import bench_sync
from results import Metric, merge, show, write
from rich.console import Console

ROOT = Path(__file__).resolve().parents[2]
MODULES = (bench_checkin, bench_sync, bench_capacity, bench_orders)


def main() -> int:
    """Run the benchmarks; exit 0 even when a target is missed (the table says so).

    ``run.py bench_orders …`` runs only the modules named and merges their figures into the
    results file, keeping the others' last figures.
    """
    console = Console()
    metrics: list[Metric] = []
    chosen = [m for m in MODULES if m.__name__ in sys.argv[1:]] or list(MODULES)
    for module in chosen:
        console.print(f"[bold]{module.__name__}[/bold]")
        with tempfile.TemporaryDirectory(prefix="yadori-bench-") as tmp:
            metrics += module.run(Path(tmp))
    if len(chosen) < len(MODULES):
        metrics = merge(ROOT / "bench" / "results.json", metrics)
    write(metrics, ROOT / "bench" / "results.json")
    show(metrics, console)
    console.print(f"written to {ROOT / 'bench' / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

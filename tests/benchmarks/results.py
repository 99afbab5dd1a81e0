"""Benchmark results: a list of metrics against their targets, as JSON and as a table."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Metric:
    """One measured figure with its target and the requirement it serves."""

    metric: str
    value: float
    unit: str
    target: float
    better: str  # "lower" or "higher"
    requirement: str

    @property
    def met(self) -> bool:
        """Whether the figure meets its target."""
        return self.value <= self.target if self.better == "lower" else self.value >= self.target


def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of the samples."""
    ordered = sorted(samples)
    rank = max(1, round(p / 100 * len(ordered)))
    return ordered[rank - 1]


def median(samples: list[float]) -> float:
    """The median of the samples."""
    return statistics.median(samples)


def write(metrics: list[Metric], path: Path) -> None:
    """Write the results file (a list of metric objects)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(m) for m in metrics], indent=2, ensure_ascii=False) + "\n")


def merge(path: Path, fresh: list[Metric]) -> list[Metric]:
    """The results file's metrics with ``fresh`` replacing those of the same name (or added)."""
    old = [Metric(**m) for m in json.loads(path.read_text())] if path.exists() else []
    names = {m.metric for m in fresh}
    kept = [m for m in old if m.metric not in names]
    return kept + fresh


def show(metrics: list[Metric], console: Console) -> None:
    """Print the metrics against their targets."""
    table = Table(title="Yadori benchmarks")
    for column in ("metric", "value", "target", "met", "requirement"):
        table.add_column(column, justify="right" if column in ("value", "target") else "left")
    for m in metrics:
        sign = "≤" if m.better == "lower" else "≥"
        table.add_row(
            m.metric,
            f"{m.value:.3f} {m.unit}",
            f"{sign} {m.target:g} {m.unit}",
            "[green]yes[/green]" if m.met else "[red]NO[/red]",
            m.requirement,
        )
    console.print(table)

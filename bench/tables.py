"""Markdown tables of a run's results, for docs/benchmarks.md.

``python -m bench.tables bench/out/latest-full.json`` prints the machine and one row per
figure (ours, baseline, ratio, target, met or MISSED), exactly as the run recorded them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 1:
        text = f"{value:,.2f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def figures_table(run: dict[str, Any]) -> str:
    """One row per figure."""
    lines = [
        "| # | figure | ours | baseline | ratio | target | |",
        "|---|---|---|---|---|---|---|",
    ]
    for figure in run["figures"]:
        targets = figure["targets"] or [{"target": "-", "value": None, "met": None}]
        verdict = ", ".join(
            "-" if t["met"] is None else ("met" if t["met"] else "**MISSED**") for t in targets
        )
        lines.append(
            f"| {figure['key']} | {figure['title']} | {_number(figure['ours'], figure['unit'])} "
            f"| {_number(figure['baseline'], figure['unit'])} | {_number(figure['ratio'])} "
            f"| {'; '.join(t['target'] for t in targets)} | {verdict} |"
        )
    return "\n".join(lines)


def notes(run: dict[str, Any]) -> str:
    """Each figure's notes, as a list."""
    lines = []
    for figure in run["figures"]:
        for note in figure["notes"]:
            lines.append(f"- [{figure['key']}] {note}")
    return "\n".join(lines)


def sweep_table(run: dict[str, Any]) -> str:
    """The chart's numbers."""
    sweep = run.get("extra", {}).get("sweep")
    if not sweep:
        return ""
    lines = [
        "| appenders | store events/s | appends/txn | raw sqlite3 at that batch | eventsourcing |",
        "|---|---|---|---|---|",
    ]
    series = sweep["series"]
    for index, level in enumerate(sweep["levels"]):
        lines.append(
            f"| {level} | {series['store'][index]:,.0f} | {sweep['batches'][index]:.1f} "
            f"| {series['raw'][index]:,.0f} | {series['eventsourcing'][index]:,.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Print the tables of a results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    run = json.loads(parser.parse_args().results.read_text(encoding="utf-8"))
    machine = run["machine"]
    print(f"run: {run['preset']}, started {run['started_at']}, {run['seconds']:.0f} s")
    print(f"machine: {json.dumps(machine)}\n")
    print(figures_table(run), "\n")
    print(notes(run), "\n")
    print(sweep_table(run))


if __name__ == "__main__":
    main()

"""What a benchmark run reports: figures with their baseline, ratio and target.

Every figure compares the project with a baseline measured in the same run (style.md:
"print ratios against a baseline measured in the same run"). A missed target is printed as
MISSED; it never fails the run.
"""

from __future__ import annotations

import json
import operator
import platform
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "<": operator.lt,
    ">": operator.gt,
}


@dataclass
class Target:
    """A bound the issue sets on a figure's ratio (or on its own value)."""

    op: str
    bound: float
    of: str = "ratio"

    def holds(self, value: float) -> bool:
        """Whether ``value`` is within the bound."""
        return _COMPARE[self.op](value, self.bound)

    def __str__(self) -> str:
        return f"{self.of} {self.op} {self.bound:g}"


@dataclass
class Figure:
    """One measured figure: ours against a baseline, the ratio, and the targets it meets."""

    key: str
    title: str
    unit: str
    ours: float
    ours_label: str
    baseline: float | None = None
    baseline_label: str = ""
    ratio: float | None = None
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def verdicts(self) -> list[tuple[Target, float | None, bool | None]]:
        """Each target with the value it is checked against and whether it holds."""
        results: list[tuple[Target, float | None, bool | None]] = []
        for target in self.targets:
            value = self.ratio if target.of == "ratio" else self.ours
            results.append((target, value, None if value is None else target.holds(value)))
        return results

    @property
    def met(self) -> bool | None:
        """True when every target holds, None when there is none."""
        verdicts = [held for _, _, held in self.verdicts()]
        if not verdicts:
            return None
        return all(held is True for held in verdicts)

    def render(self) -> str:
        """The figure as a few lines for the console."""
        lines = [f"[{self.key}] {self.title}"]
        lines.append(f"    ours:     {_number(self.ours)} {self.unit}  ({self.ours_label})")
        if self.baseline is not None:
            lines.append(
                f"    baseline: {_number(self.baseline)} {self.unit}  ({self.baseline_label})"
            )
        if self.ratio is not None:
            lines.append(f"    ratio:    {self.ratio:.3g}")
        for target, value, held in self.verdicts():
            state = "n/a" if held is None else "met" if held else "MISSED"
            shown = "-" if value is None else f"{value:.3g}"
            lines.append(f"    target:   {target} -> {shown}: {state}")
        lines.extend(f"    note:     {note}" for note in self.notes)
        return "\n".join(lines)


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def package_version(name: str) -> str:
    """The installed version of a distribution, or ``-``."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import os
    import sqlite3

    cpu = "-"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = "-"
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    return {
        "checkout": checkout(),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "packages": {
            name: package_version(name)
            for name in ("litestar", "msgspec", "granian", "aiosqlite", "eventsourcing", "uvloop")
        },
    }


def checkout() -> str:
    """The commit the code was run at, ``+changes`` when the working tree differs from it."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "-"
    return f"{head}{' +changes' if dirty else ''}" if head else "-"


def fsync_rate(directory: Path, seconds: float = 1.0) -> float:
    """4 KiB write + fsync pairs per second in ``directory``: what a durable commit costs."""
    import os
    import time

    path = directory / "fsync-probe"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        count = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds and count < 1_000_000:
            os.write(descriptor, b"x" * 4096)
            os.fsync(descriptor)
            count += 1
        elapsed = time.perf_counter() - started
    finally:
        os.close(descriptor)
        path.unlink()
    return count / elapsed


@dataclass
class Run:
    """A whole benchmark run: its settings, the machine and every figure."""

    preset: str
    settings: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    seconds: float = 0.0
    machine: dict[str, Any] = field(default_factory=machine)
    extra: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, figure: Figure) -> Figure:
        """Keep a figure and print it at once."""
        self.figures.append(figure)
        print(figure.render(), flush=True)
        return figure

    def summary(self) -> str:
        """One line per figure: the ratio (or value) and met/MISSED."""
        lines = ["", f"summary ({self.preset}, {self.seconds:.0f} s):"]
        for figure in self.figures:
            verdicts = figure.verdicts()
            if not verdicts:
                state = "(no target)"
            else:
                state = ", ".join(
                    f"{target} {'-' if value is None else f'{value:.3g}'} "
                    f"{'met' if held else 'MISSED'}"
                    for target, value, held in verdicts
                )
            lines.append(f"  [{figure.key}] {figure.title}: {state}")
        lines.extend(f"  ERROR {error}" for error in self.errors)
        return "\n".join(lines)

    def write(self, directory: Path) -> Path:
        """Write the run as JSON (a timestamped file and ``latest-<preset>.json``)."""
        directory.mkdir(parents=True, exist_ok=True)
        stamp = self.started_at.replace(":", "").replace("+0000", "Z")
        data = asdict(self)
        for figure, raw in zip(self.figures, data["figures"], strict=True):
            raw["met"] = figure.met
            raw["targets"] = [
                {"target": str(t), "value": v, "met": h} for t, v, h in figure.verdicts()
            ]
        text = json.dumps(data, indent=2, default=str)
        path = directory / f"results-{self.preset}-{stamp}.json"
        path.write_text(text, encoding="utf-8")
        (directory / f"latest-{self.preset}.json").write_text(text, encoding="utf-8")
        return path

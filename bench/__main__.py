"""Run every benchmark of the Performance issue and report each figure against its baseline.

``python -m bench`` (``make bench``) runs the default sizes (a 200,000-event log for figures
4 and 5) in about ten minutes or less; ``python -m bench --full`` (``make bench-full``) the
same with the issue's 1,000,000-event log; ``python -m bench --scale`` (``make bench-scale``)
only figures 5 and 4 (the service and replay at scale) on a 10,000,000-event log, which
takes more than an hour, most of it generating the log. ``--only append,http`` runs some of them;
``--smoke`` runs all at tiny sizes (what tests/bench checks). Results go to
``bench/out/results-<preset>-<time>.json`` and ``bench/out/latest-<preset>.json``, the chart
to ``docs/benchmarks-throughput.png``. A missed target is printed as MISSED; the run still
exits 0. A part that fails is reported as an ERROR and the others still run; the run then
exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from bench import (
    append,
    chart,
    commands,
    dashboard,
    desk,
    disk,
    live,
    postgres,
    reads_under_writes,
    replay,
    served,
)
from bench.generate import generate
from bench.report import Figure, Run, fsync_rate

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
CHART = ROOT / "docs" / "benchmarks-throughput.png"
PARTS = (
    "append",
    "sweep",
    "http",
    "commands",
    "postgres",
    "scale",
    "replay",
    "disk",
    "live",
    "dashboard",
    "reads",
    "desk",
)


@dataclass(frozen=True)
class Settings:
    """Sizes and durations of one run."""

    preset: str = "default"
    append_seconds: float = 5.0
    append_rounds: int = 3
    writers: int = 64
    sweep_levels: list[int] = field(default_factory=lambda: [1, 4, 16, 64, 128])
    sweep_seconds: float = 1.5
    command_seconds: float = 5.0
    command_rounds: int = 2
    http_seconds: float = 10.0
    http_warmup: float = 2.0
    http_workers: list[int] = field(default_factory=lambda: [1, 2])
    postgres_workers: list[int] = field(default_factory=lambda: [1, 3])
    log_events: int = 200_000
    small_events: int = 10_000
    samples: int = 300
    sample_seconds: float = 5.0
    dashboard_rounds: int = 7
    # The parts a run takes when --only does not say.
    parts: tuple[str, ...] = PARTS

    @classmethod
    def preset_named(cls, name: str) -> Settings:
        """``default``, ``full`` (1M-event log), ``scale`` (figures 5 and 4 alone, 10M-event
        log) or ``smoke`` (seconds in all)."""
        if name == "full":
            return cls(preset="full", log_events=1_000_000)
        if name == "scale":
            # The other parts measure the same at any log size: bench-full has them.
            return cls(preset="scale", log_events=10_000_000, parts=("scale", "replay"))
        if name == "smoke":
            return cls(
                preset="smoke",
                append_seconds=0.3,
                append_rounds=1,
                sweep_levels=[1, 4],
                sweep_seconds=0.2,
                command_seconds=0.3,
                command_rounds=1,
                http_seconds=1.0,
                http_warmup=0.3,
                http_workers=[1],
                postgres_workers=[1],
                log_events=2_000,
                small_events=500,
                samples=10,
                sample_seconds=1.0,
                dashboard_rounds=1,
            )
        return cls()


def run(
    settings: Settings,
    out: Path = OUT,
    chart_path: Path | None = CHART,
    only: tuple[str, ...] | None = None,
    keep: bool = False,
) -> Run:
    """Run the selected parts (by default the preset's); print each figure as it comes;
    write the JSON and the chart."""
    if only is None:
        only = settings.parts
    started = time.perf_counter()
    result = Run(settings.preset, asdict(settings))
    scratch = out / f"scratch-{settings.preset}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    # Other processes on the machine (a test suite, another benchmark) skew every figure.
    result.extra["load_average_at_start"] = os.getloadavg()
    result.machine["fsync_per_second"] = round(fsync_rate(scratch))
    print(
        f"machine: {result.machine['nproc']} cores, {result.machine['cpu']}, "
        f"{result.machine['memory']}, {result.machine['fsync_per_second']:,} fsync/s "
        f"(4 KiB write + fsync) in {out}; code at {result.machine['checkout']}",
        flush=True,
    )
    asked, target = (
        (10_000_000, "bench-scale") if settings.preset == "scale" else (1_000_000, "bench-full")
    )
    scale_note = (
        "" if settings.log_events >= asked else f" (the issue asks {asked:,}: make {target})"
    )
    print(
        f"bench ({settings.preset}): a log of {settings.log_events:,} events for figures 4 "
        f"and 5{scale_note}",
        flush=True,
    )
    logs: list[Path] = []

    def figure_1() -> None:
        print("figure 1: store append against raw sqlite3", flush=True)
        result.add(
            append.figure_store_append(
                scratch, settings.append_seconds, settings.append_rounds, settings.writers
            )
        )

    def the_chart() -> None:
        print("chart: throughput against concurrency", flush=True)
        sweep = append.sweep(scratch, settings.sweep_levels, settings.sweep_seconds)
        result.extra["sweep"] = sweep
        if chart_path is not None:
            drawn = chart.draw(
                sweep,
                chart_path,
                f"{settings.sweep_seconds:g} s per point, WAL + synchronous=FULL, "
                f"{result.machine['nproc']} cores",
            )
            result.extra["chart"] = str(drawn)
            print(f"    chart written to {drawn}", flush=True)

    def figure_2() -> None:
        print("figure 2: HTTP appends against a bare Litestar app", flush=True)
        for figure in served.figure_http(
            scratch, settings.http_seconds, settings.http_warmup, settings.http_workers
        ):
            result.add(figure)

    def figure_3() -> None:
        print("figure 3: load-decide-append commands against eventsourcing", flush=True)
        result.add(
            commands.figure_commands(
                scratch, settings.command_seconds, settings.command_rounds, settings.writers
            )
        )

    def figures_on_postgres() -> None:
        if not postgres.available():
            print(f"figures 1 and 2 on PostgreSQL skipped: no server at {postgres.URL}", flush=True)
            return
        print("figure 1 on PostgreSQL: store append against raw asyncpg", flush=True)
        result.add(
            postgres.figure_store_append(
                settings.append_seconds, settings.append_rounds, settings.writers
            )
        )
        print("figure 2 on PostgreSQL: HTTP appends against a bare Litestar app", flush=True)
        for figure in postgres.figure_http_postgres(
            scratch, settings.http_seconds, settings.http_warmup, settings.postgres_workers
        ):
            result.add(figure)

    def figure_5() -> None:
        print(f"figure 5: the service with {settings.log_events:,} events", flush=True)
        figures, log = served.figure_scale(
            scratch,
            settings.log_events,
            settings.small_events,
            settings.samples,
            settings.sample_seconds,
        )
        logs.append(log)
        for figure in figures:
            result.add(figure)

    def the_log() -> Path:
        if not logs:
            log = scratch / "replay-log.db"
            made = asyncio.run(generate(log, settings.log_events))
            print(f"    generated {made.events:,} events in {made.seconds:.1f} s", flush=True)
            logs.append(log)
        return logs[-1]

    def figure_4() -> None:
        the_log()
        print("figure 4: replay against raw read + decode", flush=True)
        for figure in replay.figure_replay(logs[-1]):
            result.add(figure)

    def disk_per_event() -> None:
        log = the_log()
        print("disk per event against the NDJSON export", flush=True)
        result.add(disk.figure_disk(scratch, log))

    def figure_6() -> None:
        print("figure 6: HTTP appends with 100 SSE subscribers against none", flush=True)
        for figure in live.figure_live(scratch, settings.http_seconds, settings.http_warmup):
            result.add(figure)

    def figure_7() -> None:
        if not dashboard.CHROMIUM.exists():
            print(f"figure 7 skipped: no chromium at {dashboard.CHROMIUM}", flush=True)
            return
        print(f"figure 7: /dashboard first load at {settings.log_events:,} events", flush=True)
        result.add(
            dashboard.figure_dashboard(
                scratch,
                settings.log_events,
                settings.small_events,
                settings.dashboard_rounds,
                logs[-1] if logs else None,
            )
        )

    def figure_8() -> None:
        print("figure 8: GET p99 while 64 writers append, against an idle server", flush=True)
        result.add(
            reads_under_writes.figure_reads_under_writes(
                scratch, settings.http_seconds, settings.http_warmup
            )
        )

    def figure_9() -> None:
        print(f"figure 9: the desk's reads and CSV at {settings.log_events:,} events", flush=True)
        log = logs[-1] if logs else None
        for figure in desk.figure_desk(scratch, settings.log_events, settings.samples, log):
            result.add(figure)

    steps: dict[str, Callable[[], None]] = {
        "append": figure_1,
        "sweep": the_chart,
        "http": figure_2,
        "commands": figure_3,
        "postgres": figures_on_postgres,
        "scale": figure_5,
        "replay": figure_4,
        "disk": disk_per_event,
        "live": figure_6,
        "dashboard": figure_7,
        "reads": figure_8,
        "desk": figure_9,
    }
    try:
        for part in PARTS:
            if part not in only:
                continue
            try:
                steps[part]()
            except Exception as error:
                # One part failing (say, the code changed under a running benchmark) must
                # not lose the others' figures; the run then ends with exit status 1.
                traceback.print_exc()
                first_line = (str(error).splitlines() or [""])[0]
                result.errors.append(f"{part}: {type(error).__name__}: {first_line}")
                print(f"    ERROR in {part}: {first_line}", flush=True)
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
    result.seconds = time.perf_counter() - started
    result.extra["load_average_at_end"] = os.getloadavg()
    print(result.summary(), flush=True)
    print(
        "load average (1, 5, 15 min) at start {:.2f} {:.2f} {:.2f}, at end {:.2f} {:.2f} {:.2f}"
        " on {} cores".format(
            *result.extra["load_average_at_start"],
            *result.extra["load_average_at_end"],
            result.machine["nproc"],
        ),
        flush=True,
    )
    written = result.write(out)
    print(f"results written to {written}", flush=True)
    return result


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true", help="the 1,000,000-event log")
    size.add_argument(
        "--scale", action="store_true", help="figures 5 and 4 alone on a 10,000,000-event log"
    )
    size.add_argument("--smoke", action="store_true", help="tiny sizes, seconds in all")
    parser.add_argument("--events", type=int, help="log size for figures 4 and 5")
    parser.add_argument("--only", help=f"comma-separated parts of: {', '.join(PARTS)}")
    parser.add_argument("--out", type=Path, default=OUT, help="where results JSON goes")
    parser.add_argument("--chart", type=Path, default=CHART, help="where the PNG goes")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    options = parser.parse_args()
    preset = next((name for name in ("full", "scale", "smoke") if getattr(options, name)), "")
    settings = Settings.preset_named(preset)
    if options.events:
        settings = replace(settings, log_events=options.events)
    only = tuple(options.only.split(",")) if options.only else settings.parts
    unknown = set(only) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; choose from {', '.join(PARTS)}")
    result = run(settings, options.out, options.chart, only, options.keep)
    if result.errors:
        sys.exit(1)


def figures_by_key(result: Run) -> dict[str, Figure]:
    """The run's figures by key (``1``, ``2-w1``, ``5-append``...)."""
    return {figure.key: figure for figure in result.figures}


if __name__ == "__main__":
    main()

"""Figure 7: the dashboard's first load in chromium, at a large log against a small one.

A first load is what a desk officer waits for on opening ``/dashboard``: the server renders
the overview with its data (counts, waiting notes, open protests, latest events, charts) and
the browser fetches the page's pinned assets and lays it out. It is timed by the browser
(Navigation Timing: from the start of the navigation to the end of the load event), in a
fresh browser context each round (no cache), and the median of the rounds is reported. The
baseline is the same load on a small log, measured in the same run, alternating rounds.

Needs Debian's chromium at /usr/bin/chromium (Playwright drives it; nothing is downloaded).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from contextlib import ExitStack
from pathlib import Path

from bench.generate import generate
from bench.report import Figure, Target
from bench.servers import SERVICE, serve

CHROMIUM = Path("/usr/bin/chromium")
TARGET_MS = 1000.0


def _log(scratch: Path, name: str, events: int, given: Path | None) -> Path:
    if given is not None:
        return given
    database = scratch / f"{name}.db"
    for path in scratch.glob(f"{name}.db*"):
        path.unlink()
    made = asyncio.run(generate(database, events))
    print(f"    generated {made.events:,} events in {made.seconds:.1f} s", flush=True)
    return database


def first_loads(bases: list[str], rounds: int) -> tuple[list[list[float]], list[list[float]]]:
    """Milliseconds of each first load of ``/dashboard/`` on each server, and until its
    charts (which follow the page) are in; rounds alternate between the servers so that the
    machine's noise falls on all alike."""
    from playwright.sync_api import sync_playwright

    timings: list[list[float]] = [[] for _ in bases]
    with_charts: list[list[float]] = [[] for _ in bases]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            for round_ in range(rounds + 1):
                for index, base in enumerate(bases):
                    context = browser.new_context(viewport={"width": 1280, "height": 900})
                    page = context.new_page()
                    page.goto(f"{base}/dashboard/", wait_until="load")
                    elapsed = float(
                        page.evaluate(
                            "() => performance.getEntriesByType('navigation')[0].loadEventEnd"
                        )
                    )
                    page.wait_for_selector("#part-charts svg.chart", timeout=120_000)
                    charts = float(page.evaluate("() => performance.now()"))
                    context.close()
                    if round_ > 0:  # the first round warms the servers and is not kept
                        timings[index].append(elapsed)
                        with_charts[index].append(charts)
        finally:
            browser.close()
    return timings, with_charts


def figure_dashboard(
    scratch: Path,
    events: int,
    small: int,
    rounds: int = 7,
    log: Path | None = None,
) -> Figure:
    """Figure 7: the median first load at ``events`` events against ``small`` events."""
    big_log = _log(scratch, "dashboard-big", events, log)
    small_log = _log(scratch, "dashboard-small", small, None)
    with ExitStack() as stack:
        servers = [
            stack.enter_context(
                serve(
                    SERVICE,
                    1,
                    scratch / f"dashboard-{name}.log",
                    {
                        "INCIDENTS_DATABASE_URL": f"sqlite:///{path}",
                        "INCIDENTS_PUBLIC_READS": "true",
                    },
                )
            )
            for name, path in (("big", big_log), ("small", small_log))
        ]
        started = time.perf_counter()
        (big, baseline), (big_charts, small_charts) = first_loads(
            [server.base for server in servers], rounds
        )
        seconds = time.perf_counter() - started
    ours = statistics.median(big)
    base = statistics.median(baseline)
    return Figure(
        key="7-dashboard",
        title=f"/dashboard first load in chromium with {events:,} events in the log",
        unit="ms",
        ours=ours,
        ours_label=f"median of {len(big)} loads, navigation start to load event end",
        baseline=base,
        baseline_label=f"the same at {small:,} events, rounds alternating",
        ratio=ours / base if base else None,
        targets=[Target("<", TARGET_MS, of="value")],
        notes=[
            f"loads at {events:,}: " + ", ".join(f"{ms:.0f}" for ms in big) + " ms",
            f"loads at {small:,}: " + ", ".join(f"{ms:.0f}" for ms in baseline) + " ms",
            f"until the charts were in (they follow the page): median "
            f"{statistics.median(big_charts):.0f} ms at {events:,}, "
            f"{statistics.median(small_charts):.0f} ms at {small:,}",
            f"{seconds:.0f} s of loading in all",
        ],
    )


def main() -> None:
    """Run figure 7 alone: ``python -m bench.dashboard --events 1000000``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--log", type=Path, help="a generated log to use instead of making one")
    parser.add_argument("--scratch", type=Path, default=Path("bench/out/dashboard"))
    options = parser.parse_args()
    options.scratch.mkdir(parents=True, exist_ok=True)
    figure = figure_dashboard(
        options.scratch, options.events, options.small, options.rounds, options.log
    )
    ratio = f"{figure.ratio:.2f}" if figure.ratio is not None else "n/a"
    print(f"{figure.title}: {figure.ours:.0f} ms (baseline {figure.baseline:.0f} ms, x{ratio})")
    for note in figure.notes:
        print(f"    {note}")
    print(f"    target < {TARGET_MS:.0f} ms: {'met' if figure.ours < TARGET_MS else 'MISSED'}")


if __name__ == "__main__":
    main()

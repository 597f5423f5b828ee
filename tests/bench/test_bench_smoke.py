"""Smoke test of the benchmark harness: every figure comes out, at tiny sizes, in seconds.

It checks that the harness runs and produces each figure as a positive number, and that the
generator's log is one ``incidents verify`` and ``incidents replay`` accept. It asserts no
timing and no target: benchmarks measure, tests check behaviour.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bench import dashboard, postgres, served
from bench.__main__ import Settings, figures_by_key, run
from bench.generate import generate

EXPECTED = (
    "1",
    "2-w1",
    "3",
    "4",
    "5-get /missions/{mission}/unanswered-notes",
    "5-get /projections/open-protests?mission",
    "5-get /projections/missions",
    "5-get /projections/unanswered-notes",
    "5-get /projections/open-protests",
    "5-get /projections/incidents",
    "5-get /projections/incidents?mission",
    "5-in-time /missions/unanswered-notes as_of",
    "5-in-time /missions/unanswered-notes known_at",
    "5-in-time /projections/open-protests as_of",
    "5-in-time /projections/incidents known_at",
    "5-in-time /projections/unanswered-notes as_of&known_at",
    "5-append",
    "5-rss",
    "5-generate",
    "6-live",
    "6-live-memory",
    "8-reads-under-writes",
    "disk",
    "13-search",
    "13-timeline",
    "13-response-times",
    "13-relations",
    "13-csv",
    # figure 7 drives chromium: measured where Debian's is installed (always in CI)
    *(("7-dashboard",) if dashboard.CHROMIUM.exists() else ()),
    # figures 1 and 2 on PostgreSQL: measured where a server answers (always in CI)
    *(("1-pg", "2-pg-w1") if postgres.available() else ()),
)


def test_every_figure_is_measured_at_tiny_sizes(tmp_path: Path) -> None:
    """Given the smoke sizes, when the whole suite runs, then each figure is a positive
    number, ratios are computed where there is a baseline, and the JSON and chart exist."""
    result = run(Settings.preset_named("smoke"), out=tmp_path, chart_path=tmp_path / "chart.png")

    assert result.errors == []
    figures = figures_by_key(result)
    assert sorted(figures) == sorted(EXPECTED)
    for key in EXPECTED:
        figure = figures[key]
        if key == "5-rss":
            # Growth may be zero or even negative at a 2,000-event log; it must be measured.
            assert figure.details["full_kb"]["VmRSS"] > 0, key
        else:
            assert figure.ours > 0, key
        if figure.baseline is not None:
            assert figure.baseline > 0, key
            assert figure.ratio is not None and figure.ratio > 0, key
    assert figures["2-w1"].details["ours"]["requests"] > 0
    assert figures["4"].details["differences"] == 0
    assert figures["4"].details["verify_ok"]
    saved = json.loads((tmp_path / "latest-smoke.json").read_text())
    assert [figure["key"] for figure in saved["figures"]] == [f.key for f in result.figures]
    assert saved["extra"]["sweep"]["levels"] == [1, 4]
    assert (tmp_path / "chart.png").stat().st_size > 0
    assert not (tmp_path / "scratch-smoke").exists()


def test_the_scale_preset_measures_figures_5_and_4_alone(tmp_path: Path) -> None:
    """Given the scale preset at a tiny log, when it runs the parts it takes by default,
    then it gives every figure of figure 5 and figure 4, and no other."""
    settings = replace(
        Settings.preset_named("scale"),
        log_events=2_000,
        small_events=500,
        samples=10,
        sample_seconds=1.0,
    )

    result = run(settings, out=tmp_path, chart_path=None)

    assert result.errors == []
    figures = figures_by_key(result)
    assert sorted(figures) == sorted(key for key in EXPECTED if key == "4" or key[:2] == "5-")
    for key, figure in figures.items():
        if key != "5-rss":
            assert figure.ours > 0, key
    assert figures["5-rss"].details["full_kb"]["VmRSS"] > 0
    assert figures["5-generate"].details["events"] == 2_000
    assert figures["4"].details["differences"] == 0
    assert figures["4"].details["verify_ok"]
    assert (tmp_path / "latest-scale.json").exists()
    assert not (tmp_path / "scratch-scale").exists()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="without wrk the suite uses loadgen")
def test_the_python_load_generator_stands_in_for_wrk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given no wrk, when figure 2 runs, then bench.loadgen drives both servers."""
    monkeypatch.setattr(served, "load_tool", lambda: "loadgen")

    (figure,) = served.figure_http(tmp_path, seconds=0.5, warmup=0.2, workers_list=[1])

    assert figure.details["ours"]["tool"] == "loadgen"
    assert figure.details["ours"]["requests"] > 0
    assert figure.details["bare"]["requests"] > 0
    assert figure.details["ours"]["non_2xx"] == 0


def test_the_generated_log_passes_verify_and_replay(tmp_path: Path) -> None:
    """Given a generated log, when the CLI verifies and replays it, then both accept it."""
    database = tmp_path / "log.db"
    made = asyncio.run(generate(database, 2_000))
    assert made.events == 2_000

    outputs = {}
    for command in ("verify", "replay"):
        done = subprocess.run(
            [sys.executable, "-m", "incidents.cli", command, "--database", str(database)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        outputs[command] = done.stdout
    assert "ok: 2000 events" in outputs["verify"]
    assert "no difference" in outputs["replay"]

"""The desk's reads at scale: timeline, response times, relations, search, CSV export.

``python -m bench.desk --events 200000`` generates a log (or ``--database`` reuses one made by
``python -m bench.generate``), serves it in process (Litestar's ``AsyncTestClient`` over the
ASGI app, no socket) and measures, after one warm-up read of each view:

- the time the server takes to open the log (on a log written without search, its
  documents are filled from the log then);
- the p99 latency of a timeline's first page (a random mission each time), of
  ``/projections/response-times`` and ``/projections/relations``, of ``/search`` (a word of a
  fixed list each time); then of each again, each read right after an append of one note
  made through another store on the same file, as another process would;
- each against ``GET /health`` measured the same way in the same run (ratio = p99 / p99 of
  health);
- the CSV export of ``GET /events?format=csv`` (the server's generator, consumed chunk by
  chunk) against an NDJSON export of the log through the store's ``read_all`` (what
  ``incidents export`` writes), both counted, not stored, with the Python heap's peak
  (tracemalloc) during each.

Targets (issue 13): timeline p99 < 20 ms; response-times and relations p99 < 20 ms; search
p99 < 50 ms; CSV export time <= 1.5x the NDJSON export, with a flat heap.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
from litestar.testing import AsyncTestClient

from bench.generate import generate
from bench.report import Figure, Target
from incidents.domain.rules import DomainRules
from incidents.http.app import create_app
from incidents.http.bodies import MultiAppendBody
from incidents.http.csv_export import event_lines
from incidents.projections.inline import inline_projections
from incidents.service import LogService
from incidents.settings import Settings
from incidents.store.factory import open_store
from incidents.store.protocol import EventStore

# Issue 13's targets: p99 of a search, and of the other views; CSV time over NDJSON's.
SEARCH_MS = 50.0
VIEW_MS = 20.0
CSV_RATIO = 1.5
WORDS = ["embassy", "police", "investigation", "compensation", "demonstration", "note", "attack"]


def _note(suffix: str, mission: str) -> Any:
    """One append of a note from the mission's side to France, as the HTTP body gives it."""
    data = {"from": {"state": "AZ"}, "to": {"state": "FR"}, "subject": "bench", "mission": mission}
    stream_id = f"note-bench-desk-{time.time_ns()}-{suffix.replace(' ', '-')}"
    note = {
        "stream_id": stream_id,
        "expected_version": "any",
        "events": [{"type": "NoteSent", "data": data}],
    }
    return msgspec.convert({"appends": [note]}, MultiAppendBody).appends


def p99(samples: list[float]) -> float:
    """The 99th percentile (nearest rank) of samples in seconds, in milliseconds."""
    ordered = sorted(samples)
    return 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


async def timed(call: Callable[[], Awaitable[Any]], rounds: int) -> list[float]:
    """The latency of ``rounds`` sequential calls."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples


async def ndjson_export(store: EventStore) -> tuple[float, int, int]:
    """Every event as one JSON line, read a page at a time: seconds, bytes, heap peak."""
    encode = msgspec.json.Encoder().encode
    tracemalloc.start()
    start = time.perf_counter()
    after, written = 0, 0
    while True:
        events = await store.read_all(after, 2000)
        for event in events:
            written += len(encode(event)) + 1
        if len(events) < 2000:
            break
        after = events[-1].position
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, written, peak


async def csv_export(store: EventStore) -> tuple[float, int, int]:
    """The CSV export of ``GET /events?format=csv`` as the server writes it (its generator,
    consumed here chunk by chunk, as the socket would be): seconds, bytes, heap peak. Read
    through an HTTP test client, the body would be gathered whole by the client before a
    byte of it is counted."""
    tracemalloc.start()
    start = time.perf_counter()
    written = 0
    async for chunk in event_lines(store, 0, None, None, None):
        written += len(chunk)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, written, peak


async def run(database: Path, rounds: int) -> dict[str, Any]:
    """Every measure of the module's docstring, on the log at ``database``."""
    settings = Settings(
        database_url=f"sqlite:///{database}", reply_window_days=30, public_reads=True
    )
    rng = random.Random(13)
    results: dict[str, Any] = {}
    opening = time.perf_counter()
    async with AsyncTestClient(app=create_app(settings), timeout=3600) as client:
        # Opening a log written without search fills its documents from the log.
        results["open_seconds"] = round(time.perf_counter() - opening, 1)
        # A line per request would be most of what the run prints, and of its time (the
        # app's logging is set up as it starts).
        for name in ("incidents.access", "httpx"):
            logging.getLogger(name).setLevel(logging.WARNING)
        missions = [
            row["mission"] for row in (await client.get("/projections/missions")).json()["missions"]
        ]
        head = (await client.get("/health")).json()["head_position"]
        results["events"] = head
        warm = {}
        for name, url in (
            ("timeline", f"/missions/{missions[0]}/timeline"),
            ("response-times", "/projections/response-times"),
            ("relations", "/projections/relations"),
            ("search", "/search?q=embassy"),
        ):
            start = time.perf_counter()
            response = await client.get(url)
            assert response.status_code == 200, response.text
            warm[name] = round(time.perf_counter() - start, 3)
        results["first_read_seconds"] = warm

        async def get(url: str, **params: Any) -> None:
            response = await client.get(url, params=params)
            assert response.status_code == 200, response.text

        health = p99(await timed(lambda: get("/health"), rounds))
        figures = {
            "timeline first page": await timed(
                lambda: get(f"/missions/{rng.choice(missions)}/timeline"), rounds
            ),
            "response-times": await timed(lambda: get("/projections/response-times"), rounds),
            "relations": await timed(lambda: get("/projections/relations"), rounds),
            "search": await timed(lambda: get("/search", q=rng.choice(WORDS)), rounds),
        }
        results["health_p99_ms"] = round(health, 2)
        results["p99_ms"] = {name: round(p99(s), 2) for name, s in figures.items()}
        results["median_ms"] = {
            name: round(1000 * statistics.median(s), 2) for name, s in figures.items()
        }
        results["ratio_to_health"] = {
            name: round(p99(s) / health, 1) for name, s in figures.items()
        }
        # Each read right after an append: one note more each time, appended through a
        # store of this loop on the same file, as another process would.
        writer = await open_store(
            settings.database_url, DomainRules(), settings, projections=inline_projections()
        )
        service = LogService(writer)
        after_writes: dict[str, list[float]] = {
            "timeline first page": [],
            "response-times": [],
            "relations": [],
            "search": [],
        }
        try:
            for round_ in range(max(1, rounds // 4)):
                for name, url, params in (
                    ("timeline first page", f"/missions/{rng.choice(missions)}/timeline", {}),
                    ("response-times", "/projections/response-times", {}),
                    ("relations", "/projections/relations", {}),
                    ("search", "/search", {"q": rng.choice(WORDS)}),
                ):
                    await service.append_many(_note(f"{round_}-{name}", rng.choice(missions)))
                    start = time.perf_counter()
                    await get(url, **params)
                    after_writes[name].append(time.perf_counter() - start)
        finally:
            await writer.close()
        results["right_after_an_append_p99_ms"] = {
            name: round(p99(s), 2) for name, s in after_writes.items()
        }
        reader = await open_store(
            settings.database_url, DomainRules(), settings, projections=inline_projections()
        )
        try:
            ndjson = await ndjson_export(reader)
            csv_ = await csv_export(reader)
        finally:
            await reader.close()
        results["export"] = {
            "ndjson_seconds": round(ndjson[0], 2),
            "ndjson_bytes": ndjson[1],
            "ndjson_heap_peak_mb": round(ndjson[2] / 2**20, 1),
            "csv_seconds": round(csv_[0], 2),
            "csv_bytes": csv_[1],
            "csv_heap_peak_mb": round(csv_[2] / 2**20, 1),
            "ratio": round(csv_[0] / ndjson[0], 2),
        }
    return results


def figure_desk(scratch: Path, events: int, rounds: int, log: Path | None) -> list[Figure]:
    """The figures of issue 13 on ``log`` (or a log of ``events`` generated in ``scratch``):
    each view's p99 against its target, with ``GET /health``'s p99 as the baseline, and the
    CSV export's time against the NDJSON export's."""
    if log is None:
        log = scratch / "desk-log.db"
        asyncio.run(generate(log, events))
    found = asyncio.run(run(log, rounds))
    size = f"{found['events']:,} events"
    figures = []
    for key, name, target in (
        ("13-search", "search", SEARCH_MS),
        ("13-timeline", "timeline first page", VIEW_MS),
        ("13-response-times", "response-times", VIEW_MS),
        ("13-relations", "relations", VIEW_MS),
    ):
        # The worse of the two: reads of a still log, and reads right after an append.
        ours = max(found["p99_ms"][name], found["right_after_an_append_p99_ms"][name])
        figures.append(
            Figure(
                key=key,
                title=f"{name} p99 at {size} (the worse of a still log and right after appends)",
                unit="ms",
                ours=ours,
                ours_label=name,
                baseline=found["health_p99_ms"],
                baseline_label="GET /health p99",
                ratio=round(ours / found["health_p99_ms"], 1),
                targets=[Target("<", target, of="value")],
                details={
                    "still_p99_ms": found["p99_ms"][name],
                    "right_after_an_append_p99_ms": found["right_after_an_append_p99_ms"][name],
                    "median_ms": found["median_ms"][name],
                },
            )
        )
    export = found["export"]
    figures.append(
        Figure(
            key="13-csv",
            title=f"GET /events as CSV against the NDJSON export, {size}",
            unit="s",
            ours=export["csv_seconds"],
            ours_label="CSV",
            baseline=export["ndjson_seconds"],
            baseline_label="NDJSON (read_all + msgspec, as incidents export)",
            ratio=export["ratio"],
            targets=[Target("<=", CSV_RATIO)],
            details=export,
        )
    )
    return figures


def main() -> None:
    """Parse the arguments, make or reuse the log, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--database", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=300)
    options = parser.parse_args()
    database = options.database
    if database is None or not database.exists():
        database = database or Path(f"/tmp/bench-desk-{options.events}.db")
        asyncio.run(generate(database, options.events))
    print(json.dumps(asyncio.run(run(database, options.rounds)), indent=2))


if __name__ == "__main__":
    main()

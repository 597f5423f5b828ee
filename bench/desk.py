"""The desk's reads at scale: timeline, response times, relations, search, CSV export.

``python -m bench.desk --events 200000`` generates a log (or ``--database`` reuses one made by
``python -m bench.generate``), serves it in process (Litestar's ``AsyncTestClient`` over the
ASGI app, no socket) and measures, after one warm-up read of each view:

- the p99 latency of a timeline's first page (a random mission each time), of
  ``/projections/response-times`` and ``/projections/relations`` (each also once right after
  an append, when it is folded again), of ``/search`` (a word of a fixed list each time);
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
from incidents.domain.rules import DomainRules
from incidents.http.app import create_app
from incidents.http.bodies import MultiAppendBody
from incidents.http.csv_export import event_lines
from incidents.service import LogService
from incidents.settings import Settings
from incidents.store.factory import open_store
from incidents.store.protocol import EventStore

WORDS = ["embassy", "police", "investigation", "compensation", "demonstration", "note", "attack"]


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
    async with AsyncTestClient(app=create_app(settings), timeout=600) as client:
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
        # Folded again after an append: one note more.
        note = {
            "stream_id": f"note-bench-desk-{time.time_ns()}",
            "expected_version": "any",
            "events": [
                {
                    "type": "NoteSent",
                    "data": {"from": {"state": "AZ"}, "to": {"state": "FR"}, "subject": "bench"},
                }
            ],
        }
        # Through a store of this loop on the same file, as another process would append.
        writer = await open_store(settings.database_url, DomainRules(), settings)
        try:
            body = msgspec.convert({"appends": [note]}, MultiAppendBody)
            await LogService(writer).append_many(body.appends)
        finally:
            await writer.close()
        refold = {}
        for name, url in (
            ("response-times", "/projections/response-times"),
            ("relations", "/projections/relations"),
        ):
            start = time.perf_counter()
            await get(url)
            refold[name] = round(1000 * (time.perf_counter() - start), 1)
        results["after_an_append_ms"] = refold
        reader = await open_store(settings.database_url, DomainRules(), settings)
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

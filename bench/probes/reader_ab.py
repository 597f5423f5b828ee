"""Probe: the read models before this work (bench/probes/_reader_before.py, a copy) and now,
in process (no HTTP), alternating, on one log file: p50/p99 per view over N calls.

``python -m bench.probes.reader_ab PATH [calls]``
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bench.probes import _reader_before
from incidents.domain.rules import DomainRules
from incidents.projections import reader as current
from incidents.store.sqlite import SqliteEventStore


def _now() -> datetime:
    return datetime.now(UTC)


async def main(path: str, calls: int) -> None:
    store = await SqliteEventStore.open(path, DomainRules())
    try:
        missions = [row.stream_id for row in await store.list_streams("mission")]
        chosen = random.Random(7).sample(missions, min(20, len(missions)))
        for label, module in (("before", _reader_before), ("after", current)) * 2:
            projections: Any = module.Projections(store, 30, _now)  # type: ignore[attr-defined]
            views: dict[str, Callable[[int], Awaitable[object]]] = {
                "mission unanswered-notes": lambda i, p=projections: p.unanswered_notes(
                    chosen[i % len(chosen)]
                ),
                "open-protests?mission": lambda i, p=projections: p.open_protests(
                    mission=chosen[i % len(chosen)]
                ),
                "unanswered-notes": lambda i, p=projections: p.unanswered_notes(),
                "missions": lambda i, p=projections: p.missions(),
            }
            for name, call in views.items():
                times = []
                limit = calls if name != "missions" else max(3, calls // 10)
                for i in range(limit):
                    start = time.perf_counter()
                    await call(i)
                    times.append(1000 * (time.perf_counter() - start))
                times.sort()
                p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
                print(
                    f"{label:6s} {name:26s} p50 {statistics.median(times):8.2f} ms"
                    f"  p99 {p99:8.2f} ms  ({len(times)} calls)"
                )
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 50))
